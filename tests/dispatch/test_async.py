"""The async queue's policy on a fake runtime and a manual clock: retries and their delays,
max event age, destinations and their records, concurrency, throttling, graceful stop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from router.clock import ManualClock
from router.dispatch.fakes import FakeCrash, FakeRuntime, FakeTimeout
from router.errors import InvocationError, ThrottledError
from router.store import Store

from .dispatch_helpers import Seen, make_config, queue_rows, read_records, running, settle


def failing(function: str, event: Any) -> Any:
    raise ValueError(f"no thanks: {event}")


def test_an_event_runs_once_is_journaled_and_leaves_the_queue(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}})
    runtime = FakeRuntime(lambda fn, ev: {"got": ev})

    async def main() -> None:
        async with running(config, runtime, ManualClock()) as d:
            seen = Seen(d)
            event_id = await d.enqueue("work", {"n": 1}, trigger="uploads", source="s3")
            await seen.count(1)
            inv = seen.invocations[0]
            assert (inv.id, inv.event_id, inv.attempt, inv.status) == (event_id, event_id, 1, "ok")
            assert (inv.trigger, inv.source, inv.result) == ("uploads", "s3", {"got": {"n": 1}})
            assert [i.id for i in d.history()] == [event_id]
            await settle()
            assert d.pending() == 0

    asyncio.run(main())
    assert queue_rows(Store(config.state_dir)) == []


def test_a_failing_event_is_retried_after_each_delay_then_sent_to_on_failure(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"async": {
        "retries": 2, "retry_delays": [60, 120], "on_failure": {"dir": "failed"}}}})  # fmt: skip
    runtime = FakeRuntime(failing)
    clock = ManualClock()

    async def main() -> None:
        async with running(config, runtime, clock) as d:
            seen = Seen(d)
            event_id = await d.enqueue("work", {"n": 7})
            await seen.count(1)
            await clock.advance(59)
            assert len(seen.invocations) == 1  # not before the first delay
            await clock.advance(1)
            await seen.count(2)
            await clock.advance(119)
            assert len(seen.invocations) == 2
            await clock.advance(1)
            await seen.count(3)
            await settle()
            assert [i.attempt for i in seen.invocations] == [1, 2, 3]
            assert {i.id for i in seen.invocations} == {event_id}  # Lambda keeps the request id
            assert all(i.status == "error" for i in seen.invocations)
            assert d.pending() == 0
            assert d.dead_letters() == []  # it went to its destination

    asyncio.run(main())
    [record] = read_records(tmp_path / "failed")
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": record["requestContext"]["requestId"],
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:work:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}  # fmt: skip
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "no thanks: {'n': 7}"
    assert record["timestamp"].endswith("Z") and len(record["timestamp"]) == 24
    assert queue_rows(Store(config.state_dir)) == []


def test_retry_delays_repeat_their_last_value_and_retries_zero_means_one_attempt(tmp_path: Path) -> None:
    config = make_config(tmp_path, {
        "twice": {"async": {"retries": 2, "retry_delays": [5]}},
        "once": {"async": {"retries": 0}},
    })  # fmt: skip
    clock = ManualClock()

    async def main() -> None:
        async with running(config, FakeRuntime(failing), clock) as d:
            seen = Seen(d)
            await d.enqueue("twice", {})
            await d.enqueue("once", {})
            await seen.count(2)
            await settle()
            await clock.advance(5)
            await seen.count(2, "twice")
            await clock.advance(5)
            await seen.count(3, "twice")
            await settle()
            assert len(seen.of("once")) == 1
            dead = d.dead_letters()
            assert sorted(x["function"] for x in dead) == ["once", "twice"]
            assert {x["condition"] for x in dead} == {"RetriesExhausted"}
            once = next(x for x in dead if x["function"] == "once")
            assert once["record"]["requestContext"]["approximateInvokeCount"] == 1

    asyncio.run(main())


@pytest.mark.parametrize("failure", [FakeTimeout, FakeCrash])
def test_timeouts_and_crashes_are_function_errors_and_are_retried(tmp_path: Path, failure: type) -> None:
    config = make_config(tmp_path, {"work": {"async": {"retries": 1, "retry_delays": [1]}}})
    calls = []

    def handler(function: str, event: Any) -> Any:
        calls.append(event)
        if len(calls) == 1:
            raise failure("first time")
        return "fine"

    clock = ManualClock()

    async def main() -> None:
        async with running(config, FakeRuntime(handler), clock) as d:
            seen = Seen(d)
            await d.enqueue("work", {"x": 1})
            await seen.count(1)
            await settle()
            await clock.advance(1)
            await seen.count(2)
            assert [i.status for i in seen.invocations] == [
                "timeout" if failure is FakeTimeout else "crashed", "ok"
            ]

    asyncio.run(main())


def test_on_success_function_gets_the_record_as_an_async_event(tmp_path: Path) -> None:
    config = make_config(tmp_path, {
        "work": {"async": {"on_success": {"function": "audit"}}},
        "audit": {},
    })  # fmt: skip

    def handler(function: str, event: Any) -> Any:
        return {"done": event["n"]} if function == "work" else "audited"

    async def main() -> None:
        async with running(config, FakeRuntime(handler), ManualClock()) as d:
            seen = Seen(d)
            event_id = await d.enqueue("work", {"n": 3})
            await seen.count(1, "audit")
            audit = seen.of("audit")[0]
            assert audit.source == "destination"
            record = audit.event
            assert record["requestContext"]["requestId"] == event_id
            assert record["requestContext"]["condition"] == "Success"
            assert record["requestContext"]["approximateInvokeCount"] == 1
            assert record["requestPayload"] == {"n": 3}
            assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
            assert record["responsePayload"] == {"done": 3}
            assert set(record) == {"version", "timestamp", "requestContext", "requestPayload",
                                   "responseContext", "responsePayload"}  # fmt: skip

    asyncio.run(main())


def test_a_retry_never_waits_past_the_max_event_age(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"async": {
        "retries": 2, "retry_delays": [100], "max_event_age": 60, "on_failure": {"dir": "failed"}}}})  # fmt: skip
    clock = ManualClock()

    async def main() -> None:
        async with running(config, FakeRuntime(failing), clock) as d:
            seen = Seen(d)
            await d.enqueue("work", {"n": 1})
            await seen.count(1)
            await settle()
            await clock.advance(59)
            assert not read_records(tmp_path / "failed")
            await clock.advance(1)
            await settle()
            assert len(seen.invocations) == 1  # aged out instead of a second attempt

    asyncio.run(main())
    [record] = read_records(tmp_path / "failed")
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["functionError"] == "Unhandled"  # the last attempt's error
    assert record["responsePayload"]["errorType"] == "ValueError"


def test_an_event_that_waited_too_long_for_a_worker_ages_out_unrun(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"slow": {"concurrency": 1, "async": {"max_event_age": 60}}})
    clock = ManualClock()
    gate = asyncio.Event()

    async def handler(function: str, event: Any) -> Any:
        await gate.wait()
        return event

    async def main() -> None:
        async with running(config, FakeRuntime(handler), clock) as d:
            seen = Seen(d)
            await d.enqueue("slow", {"n": 1})
            second = await d.enqueue("slow", {"n": 2})
            await settle()
            await clock.advance(61)
            gate.set()
            await seen.count(1)
            await settle()
            assert [i.event for i in seen.invocations] == [{"n": 1}]
            [dead] = d.dead_letters()
            assert dead["id"] == second and dead["condition"] == "EventAgeExceeded"
            record = dead["record"]
            assert record["requestContext"]["approximateInvokeCount"] == 0
            assert "responseContext" not in record and "responsePayload" not in record

    asyncio.run(main())


def test_events_run_within_the_function_concurrency(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"concurrency": 2}, "other": {"concurrency": 3}})
    running_now: dict[str, int] = {"work": 0, "other": 0}
    peak: dict[str, int] = {"work": 0, "other": 0}

    async def handler(function: str, event: Any) -> Any:
        running_now[function] += 1
        peak[function] = max(peak[function], running_now[function])
        await asyncio.sleep(0.01)
        running_now[function] -= 1
        return None

    async def main() -> None:
        async with running(config, FakeRuntime(handler, concurrency=10), ManualClock()) as d:
            seen = Seen(d)
            await asyncio.gather(*(d.enqueue(f, {"i": i}) for i in range(12) for f in ("work", "other")))
            await seen.count(24)
            assert peak == {"work": 2, "other": 3}
            assert sorted(i.event["i"] for i in seen.of("work")) == list(range(12))

    asyncio.run(main())


class ThrottlingRuntime(FakeRuntime):
    """Says it has a free worker, then throttles the first ``n`` invocations (a worker taken
    by someone else between the two)."""

    def __init__(self, n: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.throttles_left = n

    async def invoke(self, function: str, event: Any, **kwargs: Any) -> Any:
        if self.throttles_left > 0:
            self.throttles_left -= 1
            raise ThrottledError(f"{function} is busy")
        return await super().invoke(function, event, **kwargs)


def test_a_throttled_event_comes_back_with_exponential_backoff_and_no_attempt_used(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"async": {"retries": 0}}})
    clock = ManualClock()
    runtime = ThrottlingRuntime(3, lambda fn, ev: "ok")

    async def main() -> None:
        async with running(config, runtime, clock) as d:
            seen = Seen(d)
            await d.enqueue("work", {})
            await settle()
            assert runtime.throttles_left == 2  # first try throttled; back in 1 s
            await clock.advance(0.9)
            assert runtime.throttles_left == 2
            await clock.advance(0.1)
            assert runtime.throttles_left == 1  # then 2 s
            await clock.advance(1.9)
            assert runtime.throttles_left == 1
            await clock.advance(0.1)
            assert runtime.throttles_left == 0  # then 4 s
            await clock.advance(4)
            await seen.count(1)
            assert seen.invocations[0].attempt == 1 and seen.invocations[0].ok

    asyncio.run(main())


def test_a_function_full_of_sync_invocations_holds_async_events_back(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"concurrency": 1}})
    gate = asyncio.Event()

    async def handler(function: str, event: Any) -> Any:
        if event.get("hold"):
            await gate.wait()
        return event

    runtime = FakeRuntime(handler)

    async def main() -> None:
        async with running(config, runtime, ManualClock()) as d:
            seen = Seen(d)
            sync = asyncio.create_task(d.invoke("work", {"hold": True}))
            await settle()
            await d.enqueue("work", {"async": True})
            await settle()
            assert len(runtime.calls) == 1  # waiting for the worker, not throttled
            gate.set()
            await sync
            await seen.count(2)
            assert seen.invocations[1].attempt == 1 and seen.invocations[1].source == "invoke"

    asyncio.run(main())


def test_graceful_stop_finishes_in_flight_and_keeps_the_rest_for_the_next_start(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"concurrency": 1, "timeout": 2}})
    store = Store(config.state_dir)
    started = asyncio.Event()

    async def slow(function: str, event: Any) -> Any:
        started.set()
        await asyncio.sleep(0.2)
        return event["i"]

    async def first() -> int:
        async with running(config, FakeRuntime(slow), ManualClock(), store) as d:
            seen = Seen(d)
            for i in range(5):
                await d.enqueue("work", {"i": i})
            await started.wait()
        assert [i.result for i in seen.invocations] == [0]  # the one in flight finished
        return d.pending()

    left = asyncio.run(first())
    assert left == 4
    assert len(queue_rows(store)) == 4

    async def second() -> list[int]:
        async with running(config, FakeRuntime(lambda fn, ev: ev["i"]), ManualClock(), store) as d:
            seen = Seen(d)
            await seen.count(4)
            return sorted(i.result for i in seen.invocations)

    assert asyncio.run(second()) == [1, 2, 3, 4]
    assert queue_rows(store) == []


def test_a_stop_cancels_what_outlives_the_function_timeout_and_keeps_it(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"stuck": {"timeout": 0.1}})
    store = Store(config.state_dir)
    forever = asyncio.Event()

    async def stuck(function: str, event: Any) -> Any:
        await forever.wait()  # a runtime that failed to enforce the timeout

    async def main() -> int:
        async with running(config, FakeRuntime(stuck), ManualClock(), store) as d:
            await d.enqueue("stuck", {})
            await settle()
        return d.pending()

    assert asyncio.run(main()) == 1
    [row] = queue_rows(store)
    assert row["state"] == "running" and row["attempts"] == 0


def test_a_restart_runs_what_was_running_and_continues_retry_counts(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"async": {"retries": 2, "retry_delays": [1]}}})
    store = Store(config.state_dir)
    conn = store.connect()
    conn.execute(
        "INSERT INTO queue (id, function, source, event, accepted_at, due_at, attempts, state,"
        " lease_until, last_error) VALUES ('e1', 'work', 's3', '{\"a\": 1}', ?, ?, 1, 'running', ?, ?)",
        (1.0, 1.0, 9e9, '{"errorMessage": "before"}'),
    )
    conn.close()
    clock = ManualClock(start=2.0)

    async def main() -> None:
        async with running(config, FakeRuntime(failing), clock, store) as d:
            seen = Seen(d)
            await seen.count(1)
            assert seen.invocations[0].attempt == 2 and seen.invocations[0].event == {"a": 1}
            await settle()
            await clock.advance(1)
            await seen.count(2)
            await settle()
            [dead] = d.dead_letters()
            assert dead["record"]["requestContext"]["approximateInvokeCount"] == 3

    asyncio.run(main())


def test_enqueue_threadsafe_commits_before_returning(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}})
    store = Store(config.state_dir)
    gate = asyncio.Event()

    async def held(function: str, event: Any) -> Any:
        await gate.wait()

    async def main() -> None:
        async with running(config, FakeRuntime(held), ManualClock(), store) as d:
            seen = Seen(d)
            ids = await asyncio.to_thread(
                lambda: [d.enqueue_threadsafe("work", {"i": i}, source="s3") for i in range(3)]
            )
            assert {r["id"] for r in queue_rows(store)} == set(ids)  # durable already
            gate.set()
            await seen.count(3)
            assert {i.id for i in seen.invocations} == set(ids)

    asyncio.run(main())


def test_bad_enqueues_are_refused_with_the_reason(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}})

    async def main() -> None:
        async with running(config, FakeRuntime(lambda fn, ev: None), ManualClock()) as d:
            with pytest.raises(InvocationError, match="no function named 'nope'.*work"):
                await d.enqueue("nope", {})
            with pytest.raises(InvocationError, match="not JSON-serializable"):
                await d.enqueue("work", {"x": {1, 2}})
            with pytest.raises(InvocationError, match="not JSON-serializable"):
                await d.enqueue("work", {"x": float("nan")})

    asyncio.run(main())


def test_a_destination_that_cannot_be_written_leaves_a_dead_letter(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the folder should be")
    config = make_config(tmp_path, {"work": {"async": {"retries": 0, "on_failure": {"dir": "blocked"}}}})

    async def main() -> None:
        async with running(config, FakeRuntime(failing), ManualClock()) as d:
            seen = Seen(d)
            event_id = await d.enqueue("work", {})
            await seen.count(1)
            await settle()
            [dead] = d.dead_letters()
            assert dead["id"] == event_id

    asyncio.run(main())


def test_two_dispatchers_cannot_share_a_queue(tmp_path: Path) -> None:
    from router.errors import StartupError

    config = make_config(tmp_path, {"work": {}})

    async def main() -> None:
        async with running(config, FakeRuntime(lambda fn, ev: None), ManualClock()):
            with pytest.raises(StartupError, match="another router is running on the state dir"):
                async with running(config, FakeRuntime(lambda fn, ev: None), ManualClock()):
                    pass

    asyncio.run(main())


class FailingRouter(FakeRuntime):
    """Router itself cannot invoke the first ``n`` times (a worker that cannot start)."""

    def __init__(self, n: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures_left = n

    async def invoke(self, function: str, event: Any, **kwargs: Any) -> Any:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise OSError(24, "Too many open files")
        return await super().invoke(function, event, **kwargs)


def test_routers_own_failures_use_no_attempt_and_back_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 17: a system error is not a function error. With retries 0, an event whose worker
    could not start three times still runs, as attempt 1, after 1 + 2 + 4 s; each failure is
    logged at the default level."""
    config = make_config(tmp_path, {"work": {"async": {"retries": 0, "on_failure": {"dir": "failed"}}}})
    clock = ManualClock()
    runtime = FailingRouter(3, lambda fn, ev: "ran")

    async def main() -> None:
        async with running(config, runtime, clock) as d:
            seen = Seen(d)
            await d.enqueue("work", {})
            await settle()
            assert runtime.failures_left == 2 and seen.invocations == []  # nothing journaled as an attempt
            await clock.advance(1)
            assert runtime.failures_left == 1
            await clock.advance(2)
            assert runtime.failures_left == 0
            await clock.advance(3.9)
            assert seen.invocations == []
            await clock.advance(0.1)
            await seen.count(1)
            inv = seen.invocations[0]
            assert (inv.attempt, inv.ok, inv.result) == (1, True, "ran")
            assert d.dead_letters() == []

    with caplog.at_level("ERROR", logger="router.dispatch.async_"):
        asyncio.run(main())
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 3 and "OSError: [Errno 24] Too many open files" in errors[0]
    assert "not counted as an attempt" in errors[0]
    assert not (tmp_path / "failed").exists()
