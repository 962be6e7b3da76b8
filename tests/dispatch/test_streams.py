"""Stream mapping policy: batching, the batching window, filters, read-ahead, parallelization.

A fake function and a manual clock: no moto, no workers, no waiting on real time."""

from __future__ import annotations

import asyncio

from router.dispatch.streams import MAX_PAYLOAD
from router.types import StreamRecord as Record

from .streamfakes import FakeFunction, Harness, rec, run


def test_batches_of_batch_size_in_order() -> None:
    async def main() -> None:
        fn = FakeFunction()
        async with Harness(fn, batch_size=100) as h:
            await h.put(*(rec(n) for n in range(1, 251)))
            await h.idle()
            assert [len(c) for c in fn.calls] == [100, 100, 50]
            assert sum(fn.calls, []) == list(range(1, 251))
            assert h.checkpoint == 250
            assert h.consumer.stats.delivered == 250 and h.consumer.stats.batches == 3

    run(main())


def test_window_zero_delivers_what_is_there() -> None:
    async def main() -> None:
        fn = FakeFunction()
        async with Harness(fn, batch_size=10) as h:
            await h.put(rec(1), rec(2))
            await h.idle()
            await h.put(rec(3))
            await h.idle()
            assert fn.calls == [[1, 2], [3]]

    run(main())


def test_window_waits_for_more_records_until_it_ends() -> None:
    async def main() -> None:
        fn = FakeFunction()
        async with Harness(fn, batch_size=100, batching_window=10) as h:
            await h.put(rec(1), rec(2))
            await h.clock.advance(6)
            await h.put(rec(3))
            await asyncio.sleep(0.05)
            assert fn.calls == []  # 6 s of the window's 10 have passed
            await h.clock.advance(4)  # the window counts from the first record
            await asyncio.sleep(0.05)
            assert fn.calls == [[1, 2, 3]]
            assert h.checkpoint == 3

    run(main())


def test_a_full_batch_does_not_wait_for_the_window() -> None:
    async def main() -> None:
        fn = FakeFunction()
        async with Harness(fn, batch_size=3, batching_window=300) as h:
            await h.put(rec(1), rec(2))
            await asyncio.sleep(0.05)
            assert fn.calls == []
            await h.put(rec(3), rec(4))
            await asyncio.sleep(0.05)
            assert fn.calls == [[1, 2, 3]]  # full; 4 waits for its own window
            await h.clock.advance(300)
            await asyncio.sleep(0.05)
            assert fn.calls == [[1, 2, 3], [4]]

    run(main())


def test_the_payload_limit_cuts_a_batch() -> None:
    async def main() -> None:
        fn = FakeFunction()
        big = "x" * (MAX_PAYLOAD // 3)  # three of these do not fit in 6 MB with the rest of the event
        async with Harness(fn, batch_size=100) as h:
            await h.put(*(rec(n, blob={"S": big}) for n in range(1, 6)))
            await h.idle()
            assert fn.calls == [[1, 2], [3, 4], [5]]

    run(main())


def test_filtered_records_are_never_delivered_but_are_checkpointed() -> None:
    async def main() -> None:
        fn = FakeFunction()
        async with Harness(fn, batch_size=10, filter=[{"eventName": ["INSERT"]}]) as h:
            await h.put(rec(1), rec(2, event_name="MODIFY"), rec(3), rec(4, event_name="REMOVE"))
            await h.idle()
            assert fn.calls == [[1, 3]]
            assert h.checkpoint == 4
            assert h.consumer.stats.filtered == 2
            await h.put(rec(5, event_name="REMOVE"), rec(6, event_name="MODIFY"))
            await h.idle()
            assert fn.calls == [[1, 3]]  # an empty batch is not delivered
            assert h.checkpoint == 6

    run(main())


def test_reading_ahead_is_bounded_while_the_shard_is_blocked() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def slow(batch: list[int]) -> None:
            await gate.wait()

        fn = FakeFunction(slow)
        async with Harness(fn, batch_size=2, read_ahead=5) as h:
            putter = asyncio.create_task(h.put(*(rec(n) for n in range(1, 11))))
            await asyncio.sleep(0.05)
            assert not putter.done() and h.consumer.stats.read == 5  # the poller stops reading
            gate.set()
            await asyncio.wait_for(putter, 5)
            await h.idle()
            assert sum(fn.calls, []) == list(range(1, 11))

    run(main())


def test_parallelization_keeps_each_key_in_order_and_others_moving() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def handler(batch: list[int]) -> None:
            if 1 in batch:  # key "a"'s first record holds its lane
                await gate.wait()

        fn = FakeFunction(handler)
        keys = ["a", "b", "c", "d", "e", "f"]
        records = [rec(n, key=keys[(n - 1) % len(keys)]) for n in range(1, 37)]
        by_key = {k: [r.sequence_number for r in records if r.key == k] for k in keys}
        async with Harness(fn, batch_size=3, parallelization=4) as h:
            await h.put(*records)
            await asyncio.sleep(0.1)
            blocked = {n for r in records if r.key == "a" for n in [int(r.sequence_number)]}
            delivered = set(sum(fn.calls, []))
            assert delivered - blocked, "other lanes kept going"
            assert h.checkpoint is None  # nothing passes the record still in flight
            gate.set()
            await h.idle()
            assert h.checkpoint == 36
        order = [n for call in fn.calls for n in call]
        for key, numbers in by_key.items():
            assert [n for n in order if f"{n:021d}" in numbers] == [int(x) for x in numbers], key

    run(main())


def test_each_batch_comes_from_one_lane() -> None:
    async def main() -> None:
        fn = FakeFunction()
        records = [rec(n, key=f"k{n % 7}") for n in range(1, 50)]
        async with Harness(fn, batch_size=5, parallelization=3) as h:
            await h.put(*records)
            await h.idle()
            lane_of = h.consumer._lane_of
        assert sorted(sum(fn.calls, [])) == list(range(1, 50))
        assert len({lane_of(r) for r in records}) > 1
        for call in fn.calls:
            assert len({lane_of(records[n - 1]) for n in call}) == 1, call

    run(main())


def test_stop_leaves_an_unfinished_batch_unchecked() -> None:
    async def main() -> None:
        fn = FakeFunction(lambda batch: 1 / 0)
        h = Harness(fn, batch_size=10, retries=-1)
        async with h:
            await h.put(rec(1), rec(2))
            await asyncio.sleep(0.05)
        assert fn.calls == [[1, 2]]
        assert h.checkpoint is None

    run(main())


def test_record_size_counts_the_json() -> None:
    r = rec(1)
    assert r.size > 100 and isinstance(r, Record)


def test_stop_keeps_the_checkpoint_of_the_half_that_was_done() -> None:
    async def main() -> None:
        def handler(batch: list[int]) -> None:
            if 4 in batch:
                raise ValueError("poison")

        fn = FakeFunction(handler)
        h = Harness(fn, batch_size=4, retries=-1, bisect_on_error=True)
        async with h:
            await h.put(rec(1), rec(2), rec(3), rec(4))
            await asyncio.sleep(0.05)
        assert fn.calls[:4] == [[1, 2, 3, 4], [1, 2], [3, 4], [3]]
        assert h.checkpoint == 3  # 4 keeps failing: it is read again after a restart

    run(main())
