"""Stream mapping policy when the function fails: retries that block the shard, bisection,
partial batch responses, the maximum record age and the on-failure record."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamLambdaOnFailureDestinationModel

from router.dispatch.stream_failures import WHOLE_BATCH, discard_report, partial_failure_index
from router.errors import ThrottledError
from router.invocation import Invocation

from .streamfakes import T0, FakeFunction, Harness, rec, run

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


def fail_while(predicate: Any) -> Any:
    def handler(batch: list[int]) -> None:
        if predicate(batch):
            raise ValueError(f"poison in {batch}")

    return handler


def test_a_failing_batch_blocks_the_shard_until_it_succeeds() -> None:
    async def main() -> None:
        failures = iter([True, True, False])
        fn = FakeFunction(fail_while(lambda b: 1 in b and next(failures)))
        async with Harness(fn, batch_size=1, retries=-1) as h:
            await h.put(rec(1), rec(2), rec(3))
            await asyncio.sleep(0.05)
            assert fn.calls == [[1]]  # waiting for the retry's backoff on the clock
            assert h.checkpoint is None
            await h.idle()
            assert fn.calls == [[1], [1], [1], [2], [3]]
            assert h.checkpoints == [1, 2, 3]
            assert h.discards == []

    run(main())


def test_retries_back_off_on_the_clock() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: True))
        async with Harness(fn, retries=-1, retry_delay=1.0, retry_delay_max=4.0) as h:
            await h.put(rec(1))
            await asyncio.sleep(0.01)
            seen = []
            for _ in range(6):
                await h.clock.advance(1, settle=0.01)
                seen.append(len(fn.calls))
            # delays 1, 2, 4 (capped): calls at t=0, 1, 3
            assert seen == [2, 2, 3, 3, 3, 3]
            await h.clock.advance(1, settle=0.01)
            assert len(fn.calls) == 4  # t=7
            assert h.checkpoint is None and h.discards == []

    run(main())


def test_retries_run_out_then_the_shard_moves_on() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: 1 in b))
        async with Harness(fn, batch_size=2, retries=2) as h:
            await h.put(rec(1), rec(2), rec(3))
            await h.idle()
            assert fn.calls == [[1, 2], [1, 2], [1, 2], [3]]
            assert fn.attempts == [1, 2, 3, 1]  # journaled as attempts 1..3 of the batch
            assert h.checkpoints == [2, 3]
            (d,) = h.discards
            assert d.condition == "RetryAttemptsExhausted" and d.invoke_count == 3
            assert [r.sequence_number for r in d.records] == [f"{1:021d}", f"{2:021d}"]

    run(main())


def test_zero_retries_means_one_attempt() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: True))
        async with Harness(fn, batch_size=5, retries=0) as h:
            await h.put(rec(1), rec(2))
            await h.idle()
            assert fn.calls == [[1, 2]]
            assert h.discards[0].invoke_count == 1

    run(main())


def test_bisect_isolates_a_poison_record() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: 3 in b))
        async with Harness(fn, batch_size=4, retries=1, bisect_on_error=True) as h:
            await h.put(rec(1), rec(2), rec(3), rec(4))
            await h.idle()
            # halves are tried without spending retries; the lone poison gets its one retry
            assert fn.calls == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [4]]
            (d,) = h.discards
            assert [int(r.sequence_number) for r in d.records] == [3]
            assert d.condition == "RetryAttemptsExhausted"
            assert h.checkpoints == [2, 3, 4]  # each half is checkpointed when done
            assert h.consumer.stats.delivered == 3

    run(main())


def test_partial_batch_response_resumes_at_the_lowest_failed_record() -> None:
    async def main() -> None:
        answers = iter([[5, 3], [], []])

        def handler(batch: list[int]) -> dict[str, Any]:
            failed = next(answers)
            return {"batchItemFailures": [{"itemIdentifier": f"{n:021d}"} for n in failed]}

        fn = FakeFunction(handler)
        async with Harness(fn, batch_size=10, retries=3, report_batch_item_failures=True) as h:
            await h.put(*(rec(n) for n in range(1, 7)))
            await h.idle()
            assert fn.calls == [[1, 2, 3, 4, 5, 6], [3, 4, 5, 6]]
            assert h.checkpoints == [2, 6]  # checkpointed before the lowest failed record, then all
            assert h.discards == []

    run(main())


def test_partial_failures_spend_retries_and_name_the_suffix() -> None:
    async def main() -> None:
        def handler(batch: list[int]) -> dict[str, Any]:
            return {"batchItemFailures": [{"itemIdentifier": f"{2:021d}"}]}

        fn = FakeFunction(handler)
        async with Harness(fn, batch_size=3, retries=2, report_batch_item_failures=True,
                           bisect_on_error=True) as h:  # fmt: skip
            await h.put(rec(1), rec(2), rec(3))
            await h.idle()
            assert fn.calls == [[1, 2, 3], [2, 3], [2, 3]]
            (d,) = h.discards
            assert d.invoke_count == 3 and [int(r.sequence_number) for r in d.records] == [2, 3]
            record = discard_report(d, shard_id="shardId-1", stream_arn=ARN, function_arn=FN_ARN, timestamp=T0)
            assert "functionError" not in record["responseContext"]  # the function did not fail
            assert record["DDBStreamBatchInfo"]["batchSize"] == 2

    run(main())


def test_without_report_batch_item_failures_the_answer_is_ignored() -> None:
    async def main() -> None:
        fn = FakeFunction(lambda b: {"batchItemFailures": [{"itemIdentifier": f"{1:021d}"}]})
        async with Harness(fn, batch_size=3) as h:
            await h.put(rec(1), rec(2))
            await h.idle()
            assert fn.calls == [[1, 2]]

    run(main())


S = [f"{n:021d}" for n in range(1, 4)]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, None),
        ({}, None),
        ({"batchItemFailures": None}, None),
        ({"batchItemFailures": []}, None),
        ("done", None),
        ({"batchItemFailures": [{"itemIdentifier": S[2]}]}, 2),
        ({"batchItemFailures": [{"itemIdentifier": S[2]}, {"itemIdentifier": S[1]}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": S[0]}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, WHOLE_BATCH),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, WHOLE_BATCH),
        ({"batchItemFailures": [{"itemIdentifer": S[1]}]}, WHOLE_BATCH),  # a bad key name
        ({"batchItemFailures": [{"itemIdentifier": "999"}]}, WHOLE_BATCH),  # not in the batch
        ({"batchItemFailures": [{"itemIdentifier": 2}]}, WHOLE_BATCH),
        ({"batchItemFailures": [S[1]]}, WHOLE_BATCH),
        ({"batchItemFailures": "all"}, WHOLE_BATCH),
        # a Python handler's bytes are the response payload as they are: read as JSON (issue 19)
        (b'{"batchItemFailures": [{"itemIdentifier": "%s"}]}' % S[1].encode(), 1),
        (b'{"batchItemFailures": []}', None),
        (b"", None),  # an empty response
        (b"null", None),
        (b"not json", WHOLE_BATCH),  # unreadable: not a complete success
        (b"\xff\xfe\xfd", WHOLE_BATCH),
    ],
)
def test_reading_batch_item_failures(result: Any, expected: int | None) -> None:
    assert partial_failure_index(result, S) == expected


def test_a_bytes_answer_is_read_as_json() -> None:
    """A Python handler returning bytes (issue 19): partial failures in them are honoured, and bytes
    that are not JSON fail the whole batch (they were "no failures")."""

    async def main() -> None:
        answers = iter([b'{"batchItemFailures": [{"itemIdentifier": "%s"}]}' % f"{2:021d}".encode(),
                        b"not json", b"{}"])  # fmt: skip
        fn = FakeFunction(lambda b: next(answers))
        async with Harness(fn, batch_size=3, report_batch_item_failures=True) as h:
            await h.put(rec(1), rec(2), rec(3))
            await h.idle()
            assert fn.calls == [[1, 2, 3], [2, 3], [2, 3]]
            assert h.checkpoints == [1, 3]
            assert fn.invocations[0].extra["batch"]["failed"] == [f"{2:021d}"]
            assert fn.invocations[1].extra["batch"]["failed"] == "all"

    run(main())


def test_a_malformed_answer_fails_the_whole_batch() -> None:
    async def main() -> None:
        answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]}, None])
        fn = FakeFunction(lambda b: next(answers))
        async with Harness(fn, batch_size=3, report_batch_item_failures=True) as h:
            await h.put(rec(1), rec(2))
            await h.idle()
            assert fn.calls == [[1, 2], [1, 2]]

    run(main())


def test_records_past_the_maximum_age_are_discarded() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: 1 in b))
        async with Harness(fn, batch_size=10, retries=-1, max_record_age=60, retry_delay=5) as h:
            await h.put(rec(1))
            await h.put(rec(2, arrival=T0 + 30))
            await asyncio.sleep(0.05)
            await h.idle(step=5)
            # record 1 ages out at t=60 while failing; record 2 (30 s younger) then succeeds alone
            assert fn.calls[-1] == [2] and all(c == [1, 2] for c in fn.calls[:-1])
            (d,) = h.discards
            assert d.condition == "RecordAgeExceeded" and [int(r.sequence_number) for r in d.records] == [1]
            assert d.last is not None and not d.last.ok
            assert h.checkpoint == 2

    run(main())


def test_records_already_too_old_never_reach_the_function() -> None:
    async def main() -> None:
        fn = FakeFunction()
        async with Harness(fn, batch_size=10, max_record_age=60) as h:
            await h.put(rec(1, arrival=T0 - 61), rec(2, arrival=T0 - 10))
            await h.idle()
            assert fn.calls == [[2]]
            (d,) = h.discards
            assert d.invoke_count == 0 and d.last is None
            record = discard_report(d, shard_id="s", stream_arn=ARN, function_arn=FN_ARN, timestamp=T0)
            assert "responseContext" not in record
            assert record["requestContext"]["condition"] == "RecordAgeExceeded"

    run(main())


def test_retries_until_the_record_expires_from_the_stream() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: True))
        async with Harness(fn, retries=-1, max_record_age=-1, retention=100, retry_delay=10) as h:
            await h.put(rec(1))
            await h.idle(step=10)
            assert h.discards[0].condition == "RecordAgeExceeded"
            assert len(fn.calls) > 3

    run(main())


def test_a_function_that_cannot_be_invoked_does_not_spend_retries() -> None:
    async def main() -> None:
        attempts = iter([ThrottledError("busy"), ThrottledError("busy"), None])

        class Flaky(FakeFunction):
            async def __call__(self, event: dict[str, Any], attempt: int = 1) -> Invocation:
                exc = next(attempts)
                if exc is not None:
                    raise exc
                return await super().__call__(event, attempt)

        fn = Flaky()
        async with Harness(fn, retries=0) as h:
            await h.put(rec(1))
            await h.idle()
            assert fn.calls == [[1]] and h.discards == [] and h.checkpoint == 1

    run(main())


def test_the_on_discard_report_is_what_lambda_sends() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: True))
        async with Harness(fn, batch_size=3, retries=1) as h:
            await h.put(rec(7, arrival=T0 - 2), rec(8), rec(9, arrival=T0 + 1))
            await h.idle()
            (d,) = h.discards
        record = discard_report(d, shard_id="shardId-00000001-abc", stream_arn=ARN,
                                function_arn=FN_ARN, timestamp=T0 + 5)  # fmt: skip
        model = parse(event=record, model=DynamoDBStreamLambdaOnFailureDestinationModel)
        assert model.request_context.condition == "RetryAttemptsExhausted"
        assert model.request_context.approximate_invoke_count == 2
        assert model.request_context.request_id == fn.invocations[-1].id
        assert model.response_context.function_error == "Unhandled"
        info = record["DDBStreamBatchInfo"]
        assert info == {
            "shardId": "shardId-00000001-abc",
            "startSequenceNumber": f"{7:021d}",
            "endSequenceNumber": f"{9:021d}",
            "approximateArrivalOfFirstRecord": "1970-01-12T13:46:38Z",
            "approximateArrivalOfLastRecord": "1970-01-12T13:46:41Z",
            "batchSize": 3,
            "streamArn": ARN,
        }
        assert record["timestamp"] == "1970-01-12T13:46:45.000Z" and record["version"] == "1.0"
        assert record["requestContext"]["functionArn"] == FN_ARN

    run(main())


def test_a_failing_destination_does_not_stop_the_shard() -> None:
    async def main() -> None:
        fn = FakeFunction(fail_while(lambda b: 1 in b))
        h = Harness(fn, batch_size=1, retries=0)

        async def broken(_: Any) -> None:
            raise OSError("disk full")

        h.consumer._on_discard = broken
        async with h:
            await h.put(rec(1), rec(2))
            await h.idle()
            assert fn.calls == [[1], [2]] and h.checkpoint == 2

    run(main())


def test_a_malformed_answer_bisects_like_a_function_error() -> None:
    async def main() -> None:
        def handler(batch: list[int]) -> dict[str, Any]:
            return {"batchItemFailures": [{"itemIdentifier": ""}]} if 2 in batch else {}

        fn = FakeFunction(handler)
        async with Harness(fn, batch_size=4, retries=0, report_batch_item_failures=True,
                           bisect_on_error=True) as h:  # fmt: skip
            await h.put(rec(1), rec(2), rec(3), rec(4))
            await h.idle()
            assert fn.calls == [[1, 2, 3, 4], [1, 2], [1], [2], [3, 4]]
            assert [int(r.sequence_number) for d in h.discards for r in d.records] == [2]

    run(main())
