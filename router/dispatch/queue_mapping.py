"""A trigger's event source mapping over one SQS queue, as dispatch runs it: filters, the
batching window, batches in flight, FIFO group order, partial batch responses, and which
messages are deleted.

Pure policy over an ``invoke(event, attempt) -> Invocation`` callable, a
:class:`~router.clock.Clock` and the source's :class:`~router.types.QueueIO`. The source
receives messages (``room()`` says how many) and ``put`` s them. What SQS itself does stays
SQS's: a message that is not deleted becomes visible again after the queue's visibility
timeout and is received again (its ApproximateReceiveCount grows) until the redrive policy
moves it to the dead-letter queue. AWS facts: Lambda developer guide, "Using Lambda with
Amazon SQS", "Lambda parameters for Amazon SQS event source mappings", "Handling errors for
an SQS event source in Lambda" (partial batch responses), "Filtering Amazon SQS messages".
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..errors import RouterError
from ..events.sqs import filter_view
from ..filters import RecordFilter
from ..invocation import Invocation
from ..types import QueueIO, QueueMessage
from .stream_failures import UnreadableResponse, response_json

log = logging.getLogger(__name__)

# (event, attempt: the highest receive count, note: called with the result before it is published)
Invoke = Callable[[dict[str, Any], int, Callable[[Invocation], object]], Awaitable[Invocation]]

MAX_PAYLOAD = 6 * 1024 * 1024  # "the batch ... up to 6 MB" (a synchronous invocation's payload limit)
RECEIVE_MAX = 10  # ReceiveMessage: MaxNumberOfMessages 1..10
WHOLE_BATCH = None  # failed_ids(): the whole batch failed


@dataclass(frozen=True)
class QueueSettings:
    batch_size: int = 10  # BatchSize 1..10000 (FIFO: 1..10)
    batching_window: float = 0.0  # MaximumBatchingWindowInSeconds 0..300
    report_batch_item_failures: bool = False  # FunctionResponseTypes: [ReportBatchItemFailures]
    concurrency: int = 4  # batches in flight: ScalingConfig.MaximumConcurrency, else the function's
    fifo: bool = False

    @property
    def capacity(self) -> int:
        """Messages received and not done the mapping holds at most (the pollers wait beyond)."""
        return max(RECEIVE_MAX, self.batch_size * (self.concurrency + 1))

    @property
    def pollers(self) -> int:
        # Lambda starts with five pollers (Using Lambda with Amazon SQS, "Scaling"); here one:
        # moto's ReceiveMessage is not atomic between concurrent callers (two could take one
        # message, or one FIFO group twice). A receive brings 10 and batches run concurrently.
        return 1


def failed_ids(result: Any, ids: list[str]) -> set[str] | None:
    """The messageIds to return to the queue, from a ``{"batchItemFailures": [{"itemIdentifier":
    id}]}`` answer; None when the whole batch failed. "Lambda treats a batch as a complete success
    if your function returns ... an empty batchItemFailures list, a null batchItemFailures list,
    an empty EventResponse, a null EventResponse", and "as a complete failure if ... an empty
    string itemIdentifier, a null itemIdentifier, an itemIdentifier with a bad key name, an
    itemIdentifier value with a message ID that doesn't exist" (Handling errors for an SQS event
    source in Lambda). A Python handler's bytes are read as JSON first (``response_json``)."""
    try:
        result = response_json(result)
    except UnreadableResponse:
        return None  # "an invalid JSON response"
    if result is None or result == "" or (isinstance(result, dict) and not result):
        return set()
    if not isinstance(result, dict):
        return None  # "an invalid JSON response"
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    known = set(ids)
    out: set[str] = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident or ident not in known:
            return None
        out.add(ident)
    return out


@dataclass
class QueueStats:
    received: int = 0
    filtered: int = 0  # deleted without an invocation (no filter matched)
    delivered: int = 0  # deleted after a successful invocation (or a successful part)
    failed: int = 0  # left to come back after the visibility timeout
    batches: int = 0
    failures: int = 0  # batches that failed wholly or partly


class QueueConsumer:
    """Delivers one queue's messages to the function as Lambda's SQS mapping does."""

    def __init__(
        self, settings: QueueSettings, *, invoke: Invoke, clock: Clock, io: QueueIO,
        record_filter: RecordFilter | None = None, name: str = "queue",
    ) -> None:  # fmt: skip
        self.settings = settings
        self.pollers = settings.pollers
        self.name = name
        self.stats = QueueStats()
        self._invoke = invoke
        self._clock = clock
        self._io = io
        self._filter = record_filter or RecordFilter()
        self._buffer: deque[tuple[QueueMessage, float]] = deque()  # (message, monotonic arrival)
        self._bytes = 0
        self._inflight = 0  # messages of batches being delivered
        self._groups: set[str] = set()  # FIFO groups with a batch in flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._arrived = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._buffer) + self._inflight

    def info(self) -> dict[str, Any]:
        s = self.stats
        return {"received": s.received, "filtered": s.filtered, "delivered": s.delivered, "failed": s.failed,
                "batches": s.batches, "failures": s.failures, "pending": self.pending}  # fmt: skip

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name=f"{self.name}-batches")

    async def room(self) -> int:
        cap = self.settings.capacity
        async with self._changed:
            await self._changed.wait_for(lambda: self._stopping or self.pending < cap)
        return 0 if self._stopping else min(RECEIVE_MAX, cap - self.pending)

    async def put(self, messages: Iterable[QueueMessage]) -> None:
        dropped: list[QueueMessage] = []
        now = self._clock.monotonic()
        for m in messages:
            self.stats.received += 1
            # "Lambda automatically deletes messages that don't match the filter criteria" (Filtering SQS)
            if self._filter and not self._filter.matches(filter_view(m.data)):
                self.stats.filtered += 1
                dropped.append(m)
                continue
            self._buffer.append((m, now))
            self._bytes += m.size
        if dropped:
            await self._io.delete(dropped)
        if self._stopping and self._buffer:
            await self._release_buffer()
        self._arrived.set()

    async def wait_idle(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.pending == 0 or self._stopping)

    async def stop(self, grace: float = 5.0) -> None:
        """Take no more batches, let those in flight finish within ``grace`` seconds, and give
        back what was received but never delivered (visible again at once)."""
        self._stopping = True
        self._arrived.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._tasks:
            _, running = await asyncio.wait(list(self._tasks), timeout=grace)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        await self._release_buffer()

    async def _release_buffer(self) -> None:
        left = [m for m, _ in self._buffer]
        self._buffer.clear()
        self._bytes = 0
        if left:
            try:
                await self._io.release(left)
            except Exception as exc:  # they come back after the visibility timeout anyway
                log.warning("%s: could not release %d message(s): %s", self.name, len(left), exc)

    # ------------------------------------------------------------------ batching

    async def _run(self) -> None:
        while not self._stopping:
            if not self._eligible():
                self._arrived.clear()
                await self._arrived.wait()
                continue
            await self._window()
            if self._stopping:
                return
            async with self._changed:  # a free batch slot
                await self._changed.wait_for(lambda: self._stopping or len(self._tasks) < self.settings.concurrency)
            if self._stopping:
                return
            batch = self._take()
            if batch:
                self._launch(batch)

    def _eligible(self) -> bool:
        return any(not m.group or m.group not in self._groups for m, _ in self._buffer)

    async def _window(self) -> None:
        """Until a full batch, the 6 MB cap or the end of the window since the oldest message."""
        s = self.settings
        left = self._buffer[0][1] + s.batching_window - self._clock.monotonic()
        if left <= 0 or self._full():
            return
        timer = asyncio.ensure_future(self._clock.sleep(left))
        try:
            while not (timer.done() or self._stopping or self._full()):
                self._arrived.clear()
                waker = asyncio.ensure_future(self._arrived.wait())
                try:
                    await asyncio.wait([timer, waker], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waker.cancel()
        finally:
            timer.cancel()

    def _full(self) -> bool:
        return len(self._buffer) >= self.settings.batch_size or self._bytes >= MAX_PAYLOAD

    def _take(self) -> list[QueueMessage]:
        """The next batch, in order; a FIFO group in flight keeps its messages back."""
        batch: list[QueueMessage] = []
        kept: deque[tuple[QueueMessage, float]] = deque()
        size = 20
        while self._buffer and len(batch) < self.settings.batch_size:
            m, at = self._buffer.popleft()
            if m.group and m.group in self._groups:
                kept.append((m, at))
                continue
            if batch and size + m.size > MAX_PAYLOAD:
                self._buffer.appendleft((m, at))
                break
            batch.append(m)
            size += m.size
            self._bytes -= m.size
        self._buffer.extendleft(reversed(kept))
        return batch

    def _launch(self, batch: list[QueueMessage]) -> None:
        self._inflight += len(batch)
        groups = {m.group for m in batch if m.group}
        self._groups |= groups
        task = asyncio.create_task(self._deliver(batch), name=f"{self.name}-batch")
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._inflight -= len(batch)
            self._groups -= groups
            self._arrived.set()
            asyncio.ensure_future(self._notify())

        task.add_done_callback(done)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ delivering

    async def _deliver(self, batch: list[QueueMessage]) -> None:
        self.stats.batches += 1
        attempt = max(int(m.data.get("attributes", {}).get("ApproximateReceiveCount", 1)) for m in batch)
        done: list[QueueMessage] = []

        def decide(inv: Invocation) -> None:  # before the invocation is published: its journal row shows it
            ids = [m.message_id for m in batch]
            failed = failed_ids(inv.result, ids) if inv.ok and self.settings.report_batch_item_failures else set()
            if not inv.ok:
                failed = WHOLE_BATCH
            elif failed is WHOLE_BATCH:
                log.warning("%s: malformed batchItemFailures in %s's answer: the whole batch failed",
                            self.name, inv.function)  # fmt: skip
            done.extend([] if failed is WHOLE_BATCH else [m for m in batch if m.message_id not in failed])
            self._note(inv, batch, failed, len(done))

        try:
            await self._invoke({"Records": [m.data for m in batch]}, attempt, decide)
        except RouterError as exc:
            self.stats.failures += 1
            self.stats.failed += len(batch)
            log.warning("%s: could not invoke the function (%s); the batch comes back after the visibility "
                        "timeout", self.name, exc)  # fmt: skip
            return
        except Exception:  # router's own bug: the messages come back after the visibility timeout
            log.exception("%s: invoking the function failed", self.name)
            return
        self.stats.delivered += len(done)
        if len(done) < len(batch):
            self.stats.failures += 1
            self.stats.failed += len(batch) - len(done)
        if done:
            try:
                await self._io.delete(done)  # "Lambda deletes the messages ... after the function succeeds"
            except Exception as exc:  # they come back after the visibility timeout: at least once
                log.warning("%s: deleting %d message(s) failed: %s", self.name, len(done), exc)

    def _note(self, inv: Invocation, batch: list[QueueMessage], failed: set[str] | None, deleted: int) -> None:
        """What became of the batch, in ``inv.extra["batch"]`` (journaled; ``router history``
        shows it as a stream batch's, dispatch/streams.py): ``records`` (messages), the first and
        last message ids, the highest receive count, how many were deleted, which failed
        (``"all"`` or the ``batchItemFailures`` ids) and those ``retried``: left to come back
        after the visibility timeout."""
        counts = [int(m.data.get("attributes", {}).get("ApproximateReceiveCount", 1)) for m in batch]
        note: dict[str, Any] = {"records": len(batch), "first": batch[0].message_id, "last": batch[-1].message_id,
                                "receive_count": max(counts), "deleted": deleted}  # fmt: skip
        if failed is WHOLE_BATCH:
            note["failed"] = "all"
        elif failed:
            note["failed"] = [m.message_id for m in batch if m.message_id in failed][:100]
            note["delivered"] = deleted
        back = batch if failed is WHOLE_BATCH else [m for m in batch if m.message_id in (failed or ())]
        if back:
            note["retried"] = {"records": len(back), "from": back[0].message_id, "to": back[-1].message_id,
                               "after": "the visibility timeout"}  # fmt: skip
        inv.extra["batch"] = note


def queue_settings(trigger: Any, concurrency: int, *, fifo: bool) -> QueueSettings:
    """A trigger's ``sqs`` options; ``concurrency`` is the function's (the cap without
    ``max_concurrency``: a mapping never runs more batches than the function has room for)."""
    spec = trigger.sqs
    limit = min(spec.max_concurrency or concurrency, concurrency)
    return QueueSettings(batch_size=spec.batch_size, batching_window=spec.batching_window,
                         report_batch_item_failures=spec.report_batch_item_failures, concurrency=limit,
                         fifo=fifo)  # fmt: skip


def queue_filter(trigger: Any) -> RecordFilter:
    from ..errors import StartupError
    from ..filters import FilterError

    try:
        return RecordFilter(trigger.sqs.filter, where=f"trigger {trigger.name!r}: sqs.filter")
    except FilterError as exc:
        raise StartupError(str(exc)) from None
