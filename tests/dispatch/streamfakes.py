"""A fake function and records for stream policy tests (no moto, no workers)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable, Coroutine
from typing import Any

from router.clock import ManualClock
from router.dispatch.stream_failures import Discard
from router.dispatch.streams import ShardConsumer, StreamSettings
from router.filters import RecordFilter
from router.invocation import Invocation
from router.types import StreamRecord

_ids = itertools.count(1)
T0 = 1_000_000.0  # the manual clock's start: records "arrive" then unless told otherwise


def rec(seq: int, key: str = "a", arrival: float = T0, **extra: Any) -> StreamRecord:
    """A DynamoDB stream record with sequence number ``seq`` (zero-padded, as AWS's grow)."""
    number = f"{seq:021d}"
    data = {
        "eventID": f"e{seq}",
        "eventName": extra.pop("event_name", "INSERT"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": int(arrival),
            "Keys": {"pk": {"S": key}},
            "NewImage": {"pk": {"S": key}, **extra},
            "SequenceNumber": number,
            "SizeBytes": 10,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000",
    }
    return StreamRecord(data=data, sequence_number=number, arrival=arrival, key=key)


def seqs(event_or_records: Any) -> list[int]:
    records = event_or_records["Records"] if isinstance(event_or_records, dict) else event_or_records
    return [int(r["dynamodb"]["SequenceNumber"] if isinstance(r, dict) else r.sequence_number) for r in records]


class FakeFunction:
    """``handler(seqs) -> result`` answers each batch; raising makes it a function error.

    The handler may be async (to hold a batch until the test lets it go)."""

    def __init__(self, handler: Callable[[list[int]], Any] | None = None) -> None:
        self.handler = handler or (lambda s: None)
        self.calls: list[list[int]] = []
        self.invocations: list[Invocation] = []
        self.attempts: list[int] = []

    async def __call__(self, event: dict[str, Any], attempt: int = 1) -> Invocation:
        batch = seqs(event)
        self.calls.append(batch)
        self.attempts.append(attempt)
        request_id = f"req-{next(_ids)}"
        try:
            result = self.handler(batch)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            inv = Invocation(id=request_id, function="fn", source="dynamodb", event=event, status="error",
                             error={"errorType": type(exc).__name__, "errorMessage": str(exc)})  # fmt: skip
        else:
            inv = Invocation(id=request_id, function="fn", source="dynamodb", event=event, result=result)
        self.invocations.append(inv)
        return inv


class Harness:
    """A consumer over a fake function, a manual clock, and what it reported."""

    def __init__(self, fn: FakeFunction, clock: ManualClock | None = None, **settings: Any) -> None:
        settings.setdefault("retry_delay", 1.0)
        record_filter = RecordFilter(settings.pop("filter", ()))
        self.fn = fn
        self.clock = clock or ManualClock(start=T0)
        self.checkpoints: list[int] = []
        self.discards: list[Discard] = []
        self.consumer = ShardConsumer(
            StreamSettings(**settings), invoke=fn, clock=self.clock,
            on_checkpoint=lambda s: self.checkpoints.append(int(s)), on_discard=self._discard,
            record_filter=record_filter,
        )  # fmt: skip

    async def _discard(self, discard: Discard) -> None:
        self.discards.append(discard)

    async def __aenter__(self) -> Harness:
        self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop(grace=1)

    async def put(self, *records: StreamRecord) -> None:
        await self.consumer.put(records)

    async def idle(self, step: float = 1.0, limit: int = 1000) -> None:
        """Advance the clock step by step until every record put is done."""
        for _ in range(limit):
            await asyncio.sleep(0.01)
            if self.consumer.pending == 0:
                return
            await self.clock.advance(step, settle=0.001)
        raise AssertionError(f"still {self.consumer.pending} record(s) pending; calls: {self.fn.calls}")

    @property
    def checkpoint(self) -> int | None:
        return self.checkpoints[-1] if self.checkpoints else None


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)
