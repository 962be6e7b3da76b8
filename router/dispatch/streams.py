"""The event source mapping policy for one stream shard: batching, the batching window,
retries that block the shard, bisection, partial batch responses, the maximum record age,
on-failure records and parallelization that keeps each partition key in order.

Pure policy over an ``invoke(event) -> Invocation`` callable and a :class:`~router.clock.Clock`:
the source (I/O) reads the shard and :meth:`ShardConsumer.put` s records in order; the
consumer calls ``on_checkpoint(sequence_number)`` each time every record up to that one is
done (delivered, filtered out or discarded), and ``on_discard(Discard)`` for records it gives
up on. AWS facts: Lambda developer guide, "Using AWS Lambda with Amazon DynamoDB",
"Lambda parameters for Amazon DynamoDB event source mappings", "Configuring partial batch
response with DynamoDB and Lambda", "Retain discarded records for a DynamoDB event source".
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..errors import RouterError
from ..filters import RecordFilter
from ..invocation import Invocation
from ..types import StreamRecord
from .stream_failures import WHOLE_BATCH, Discard, partial_failure_index, response_json

log = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any], int], Awaitable[Invocation]]  # (event, attempt number of its records)

STREAM_RETENTION = 24 * 3600.0  # DynamoDB Streams keep a record 24 hours: "until the record expires"
MAX_PAYLOAD = 6 * 1024 * 1024  # a synchronous invocation's payload limit, which also caps a batch


@dataclass(frozen=True)
class StreamSettings:
    """The mapping's options, with AWS's names in the comments and AWS's defaults."""

    batch_size: int = 100  # BatchSize 1..10000
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds 0..300
    retries: int = -1  # MaximumRetryAttempts: -1 = until the record expires
    max_record_age: int = -1  # MaximumRecordAgeInSeconds: -1 = until the record expires
    bisect_on_error: bool = False  # BisectBatchOnFunctionError
    report_batch_item_failures: bool = False  # FunctionResponseTypes: [ReportBatchItemFailures]
    parallelization: int = 1  # ParallelizationFactor 1..10
    retry_delay: float = 0.2  # backoff before a retry: doubles each time ...
    retry_delay_max: float = 5.0  # ... up to this
    retention: float = STREAM_RETENTION
    read_ahead: int = 0  # records read ahead of processing per shard (0: twice a batch per lane, >= 1000)

    @property
    def age_limit(self) -> float:
        return float(self.max_record_age) if self.max_record_age != -1 else self.retention

    @property
    def capacity(self) -> int:
        """Records read ahead of processing per shard: the poller waits beyond this."""
        return self.read_ahead or max(1000, 2 * self.batch_size * self.parallelization)


@dataclass
class ConsumerStats:
    read: int = 0  # records put
    filtered: int = 0  # dropped by the filter
    delivered: int = 0  # records of successful batches (or successful parts)
    discarded: int = 0
    batches: int = 0  # invocations made
    failures: int = 0  # invocations that failed (wholly or partly)
    checkpoint: str | None = None


@dataclass
class _Segment:
    records: list[StreamRecord]
    retries: int = 0
    invokes: int = 0
    last: Invocation | None = field(default=None, repr=False)
    aged: dict[str, Any] | None = None  # records discarded for their age before the next attempt


class _Progress:
    """The checkpoint: the last sequence number such that it and all before it are done."""

    def __init__(self) -> None:
        self._order: deque[str] = deque()
        self._done: set[str] = set()
        self.checkpoint: str | None = None

    def add(self, sequence_number: str) -> None:
        self._order.append(sequence_number)

    def finish(self, sequence_numbers: Iterable[str]) -> bool:
        self._done.update(sequence_numbers)
        moved = False
        while self._order and self._order[0] in self._done:
            self.checkpoint = self._order.popleft()
            self._done.discard(self.checkpoint)
            moved = True
        return moved

    def __len__(self) -> int:
        return len(self._order)


class _Lane:
    def __init__(self) -> None:
        self.queue: deque[tuple[StreamRecord, float]] = deque()  # (record, monotonic time it arrived)
        self.bytes = 0  # the JSON size of the records queued
        self.arrived = asyncio.Event()


class ShardConsumer:
    """Delivers one shard's records to the function as an event source mapping does."""

    def __init__(
        self,
        settings: StreamSettings,
        *,
        invoke: Invoke,
        clock: Clock,
        record_filter: RecordFilter | None = None,
        on_checkpoint: Callable[[str], None] | None = None,
        on_discard: Callable[[Discard], Awaitable[None]] | None = None,
        name: str = "shard",
        destination: str | None = None,
    ) -> None:
        self.settings = settings
        self.destination = destination  # where discarded records are reported ("function f", "dir d")
        self._invoke = invoke
        self._clock = clock
        self._filter = record_filter or RecordFilter()
        self._on_checkpoint = on_checkpoint
        self._on_discard = on_discard
        self.name = name
        self.stats = ConsumerStats()
        self._progress = _Progress()
        self._lanes = [_Lane() for _ in range(settings.parallelization)]
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Condition()
        self._stopping = False
        self._stopped = asyncio.Event()

    # ------------------------------------------------------------------ feeding

    def start(self) -> None:
        for n, lane in enumerate(self._lanes):
            self._tasks.append(asyncio.create_task(self._run_lane(lane), name=f"{self.name}-lane{n}"))

    @property
    def pending(self) -> int:
        """Records read and not yet done."""
        return len(self._progress)

    def info(self) -> dict[str, Any]:
        s = self.stats
        return {"checkpoint": s.checkpoint, "read": s.read, "filtered": s.filtered, "delivered": s.delivered,
                "discarded": s.discarded, "batches": s.batches, "failures": s.failures,
                "pending": self.pending}  # fmt: skip

    async def put(self, records: Iterable[StreamRecord]) -> None:
        """Take records in shard order; waits while too many are read ahead (the shard is blocked)."""
        dropped: list[str] = []
        for record in records:
            if self.pending >= self.settings.capacity:
                async with self._changed:
                    await self._changed.wait_for(lambda: self._stopping or self.pending < self.settings.capacity)
            if self._stopping:
                return
            self.stats.read += 1
            self._progress.add(record.sequence_number)
            if not self._filter.matches(record.data):
                self.stats.filtered += 1
                dropped.append(record.sequence_number)
                continue
            if dropped:
                await self._finish(dropped)
                dropped = []
            lane = self._lanes[self._lane_of(record)]
            lane.queue.append((record, self._clock.monotonic()))
            lane.bytes += record.size
            lane.arrived.set()
        if dropped:
            await self._finish(dropped)

    def _lane_of(self, record: StreamRecord) -> int:
        if len(self._lanes) == 1:
            return 0
        return zlib.crc32(record.key.encode()) % len(self._lanes)

    async def wait_idle(self) -> None:
        """Until every record put so far is done."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.pending == 0 or self._stopping)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop taking batches; let an invocation in flight finish within ``grace`` seconds."""
        self._stopping = True
        self._stopped.set()
        for lane in self._lanes:
            lane.arrived.set()
        async with self._changed:
            self._changed.notify_all()
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=grace)
            for task in running:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _finish(self, sequence_numbers: list[str]) -> None:
        if self._progress.finish(sequence_numbers):
            self.stats.checkpoint = self._progress.checkpoint
            if self._on_checkpoint is not None and self._progress.checkpoint is not None:
                self._on_checkpoint(self._progress.checkpoint)
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ batching

    async def _run_lane(self, lane: _Lane) -> None:
        while not self._stopping:
            if not lane.queue:
                lane.arrived.clear()
                await lane.arrived.wait()
                continue
            batch = await self._gather(lane)
            if batch:
                await self._deliver(batch)

    async def _gather(self, lane: _Lane) -> list[StreamRecord]:
        """Wait for a full batch, the 6 MB payload cap or the end of the batching window."""
        s = self.settings
        left = lane.queue[0][1] + s.batching_window - self._clock.monotonic()
        if left > 0 and len(lane.queue) < s.batch_size and not self._payload_full(lane):
            window = asyncio.ensure_future(self._clock.sleep(left))  # one timer per batch
            try:
                while not (window.done() or self._stopping or len(lane.queue) >= s.batch_size
                           or self._payload_full(lane)):  # fmt: skip
                    lane.arrived.clear()
                    await _first(window, lane.arrived)
            finally:
                window.cancel()
        if self._stopping:
            return []
        batch: list[StreamRecord] = []
        size = 20
        while lane.queue and len(batch) < s.batch_size:
            record = lane.queue[0][0]
            if batch and size + record.size > MAX_PAYLOAD:
                break
            lane.queue.popleft()
            lane.bytes -= record.size
            batch.append(record)
            size += record.size
        return batch

    def _payload_full(self, lane: _Lane) -> bool:
        return lane.bytes >= MAX_PAYLOAD

    # ------------------------------------------------------------------ delivering

    async def _deliver(self, batch: list[StreamRecord]) -> None:
        """One batch to the end: each record delivered or discarded (and then done, for the
        checkpoint), while the lane waits. Records left when the consumer stops stay undone."""
        todo: deque[_Segment] = deque([_Segment(batch)])
        while todo and not self._stopping:
            seg = todo.popleft()
            await self._drop_aged(seg)
            if not seg.records:
                continue
            inv = await self._attempt(seg)
            if inv is None:  # the function could not be invoked at all: retry, no retry consumed
                todo.appendleft(seg)
                await self._backoff(seg.retries + 1, seg)
                continue
            seg.invokes += 1
            seg.last = inv
            failed_from = self._failed_from(inv, seg.records)
            self._note(inv, seg, failed_from)  # (before any await: the journal row is made later)
            if failed_from is None:
                self.stats.delivered += len(seg.records)
                await self._done(seg.records)
                continue
            self.stats.failures += 1
            if failed_from > 0:  # a partial batch response: the records before it succeeded
                self.stats.delivered += failed_from
                await self._done(seg.records[:failed_from])
                seg.records = seg.records[failed_from:]
            elif self._bisects(failed_from, seg):
                # on a function error, "regardless of ReportBatchItemFailures";
                # "Splitting batches doesn't consume the retry quota."
                half = len(seg.records) // 2
                todo.appendleft(_Segment(seg.records[half:], seg.retries, seg.invokes, inv))
                todo.appendleft(_Segment(seg.records[:half], seg.retries, seg.invokes, inv))
                continue
            seg.retries += 1
            if self._exhausted(seg.retries):
                await self._discard(Discard(seg.records, "RetryAttemptsExhausted", seg.invokes, inv))
                continue
            todo.appendleft(seg)
            await self._backoff(seg.retries, seg)

    def _bisects(self, failed_from: int, seg: _Segment) -> bool:
        return failed_from == WHOLE_BATCH and self.settings.bisect_on_error and len(seg.records) > 1

    def _exhausted(self, retries: int) -> bool:
        return self.settings.retries != -1 and retries > self.settings.retries

    def _note(self, inv: Invocation, seg: _Segment, failed_from: int | None) -> None:
        """What became of the batch, in ``inv.extra["batch"]`` (journaled, shown by ``router
        history``): the records that failed (the ``batchItemFailures`` identifiers, or all),
        those delivered, retried, split or discarded, and where discarded ones went."""
        records = seg.records
        note: dict[str, Any] = {"records": len(records), "first": records[0].sequence_number,
                                "last": records[-1].sequence_number}  # fmt: skip
        inv.extra["batch"] = note
        if seg.aged is not None:
            note["aged_out"], seg.aged = seg.aged, None
        if failed_from is None:
            return
        if failed_from == WHOLE_BATCH:
            note["failed"] = "all"
        else:
            failures = response_json(inv.result)["batchItemFailures"]  # (read before: a Python handler's bytes too)
            note["failed"] = [f.get("itemIdentifier") for f in failures][:100]
            note["delivered"], records = failed_from, records[failed_from:]
        if self._bisects(failed_from, seg):
            note["bisected"] = [len(records) // 2, len(records) - len(records) // 2]
            return
        rest = {"records": len(records), "from": records[0].sequence_number, "to": records[-1].sequence_number}
        if self._exhausted(seg.retries + 1):
            note["discarded"] = {**rest, "condition": "RetryAttemptsExhausted",
                                 "destination": self.destination or "none: dropped"}  # fmt: skip
        else:
            note["retried"] = {**rest, "retry": seg.retries + 1}

    async def _attempt(self, seg: _Segment) -> Invocation | None:
        self.stats.batches += 1
        try:
            inv = await self._invoke({"Records": [r.data for r in seg.records]}, seg.invokes + 1)
        except RouterError as exc:
            log.warning("%s: could not invoke the function (%s); retrying", self.name, exc)
            return None
        except Exception:  # router's own bug: keep the shard alive, retry (no retry spent)
            log.exception("%s: invoking the function failed; retrying", self.name)
            return None
        if inv.status == "throttled":
            return None
        return inv

    def _failed_from(self, inv: Invocation, records: list[StreamRecord]) -> int | None:
        """None when the batch succeeded, WHOLE_BATCH when it failed, else the index of the
        first record to retry (a partial batch response)."""
        if not inv.ok:
            return WHOLE_BATCH
        if not self.settings.report_batch_item_failures:
            return None
        index = partial_failure_index(inv.result, [r.sequence_number for r in records])
        if index == WHOLE_BATCH:
            log.warning("%s: malformed batchItemFailures in %s's answer: the whole batch failed",
                        self.name, inv.function)  # fmt: skip
        return index

    async def _drop_aged(self, seg: _Segment) -> None:
        now = self._clock.time()
        limit = self.settings.age_limit
        aged = [r for r in seg.records if now - r.arrival > limit]
        if aged:
            seg.records = [r for r in seg.records if now - r.arrival <= limit]
            seg.aged = {"records": len(aged), "from": aged[0].sequence_number, "to": aged[-1].sequence_number,
                        "condition": "RecordAgeExceeded",
                        "destination": self.destination or "none: dropped"}  # fmt: skip
            await self._discard(Discard(aged, "RecordAgeExceeded", seg.invokes, seg.last))

    async def _done(self, records: list[StreamRecord]) -> None:
        await self._finish([r.sequence_number for r in records])

    async def _discard(self, discard: Discard) -> None:
        self.stats.discarded += len(discard.records)
        first, last = discard.records[0], discard.records[-1]
        log.warning("%s: discarding %d record(s) %s..%s: %s", self.name, len(discard.records),
                    first.sequence_number, last.sequence_number, discard.condition)  # fmt: skip
        if self._on_discard is not None:
            try:
                await self._on_discard(discard)
            except Exception:  # a destination problem must not stop the shard
                log.exception("%s: the on-failure destination failed", self.name)
        await self._done(discard.records)

    async def _backoff(self, retry: int, seg: _Segment) -> None:
        """Wait before a retry, but not past the moment the oldest record ages out."""
        s = self.settings
        delay = min(s.retry_delay * 2 ** (retry - 1), s.retry_delay_max)
        expires = min(r.arrival for r in seg.records) + s.age_limit - self._clock.time()
        timer = asyncio.ensure_future(self._clock.sleep(min(delay, max(expires, 0.0) + 0.001)))
        try:
            await _first(timer, self._stopped)
        finally:
            timer.cancel()


async def _first(timer: asyncio.Future[Any], event: asyncio.Event) -> None:
    """Until ``timer`` is done or ``event`` is set (the timer is left running)."""
    waker: asyncio.Future[Any] = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait([timer, waker], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waker.cancel()
