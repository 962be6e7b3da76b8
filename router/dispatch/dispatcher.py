"""The dispatcher: how often, in what order and where failures go (policy, not mechanism).

- ``invoke``: a synchronous invocation (HTTP requests, stream batches, ``router invoke``,
  the Lambda Invoke API's RequestResponse), journaled.
- ``enqueue`` / ``enqueue_threadsafe``: an asynchronous invocation (S3, schedules, Invoke
  with ``Event``), committed to the durable queue before returning; see :mod:`.async_`.
- ``record`` / ``subscribe``: every finished attempt is journaled and announced.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, closing
from functools import partial
from typing import Any, TypeVar

from .. import lineage
from ..clock import Clock
from ..config import Config, TriggerConfig
from ..errors import InvocationError, StartupError
from ..events.http import SYNC_PAYLOAD_LIMIT
from ..filters import RecordFilter
from ..invocation import Invocation, encode_json
from ..store import Store
from ..types import Ids, QueueIO, RandomIds, ResponseStream
from . import event_queue, journal
from .async_ import AsyncQueue, PayloadTooLargeError
from .base import RuntimesLike, to_invocation
from .journal_writer import JournalWriter
from .queue_mapping import QueueConsumer, queue_filter, queue_settings
from .seam import SourceDispatch
from .stream_mapping import Checkpoints, StreamMapping, compile_filters
from .writer import DbWriter

log = logging.getLogger(__name__)

T = TypeVar("T")
PRUNE_EVERY = 1000  # journal rows between two prunes
PRUNE_INTERVAL = 3600.0  # seconds between two prunes at the latest (while recording)

Subscriber = Callable[[Invocation], None]


def too_large_for_request_response() -> str:
    """AWS's message (413 RequestEntityTooLargeException) for a synchronous Invoke over the 6 MB
    of SYNC_PAYLOAD_LIMIT (Lambda API reference, Invoke: "For synchronous invocations, the maximum
    payload size is 6 MB"; the message as SDK error reports show it, e.g. awslabs/aws-athena-query-
    federation#793: "Status Code: 413; Error Code: RequestEntityTooLargeException")."""
    return f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"


def check_request_size(function: str, event_json: str) -> None:
    """Raise PayloadTooLargeError when ``event_json`` (a RequestResponse payload) is over 6 MB."""
    if len(event_json) * 4 > SYNC_PAYLOAD_LIMIT:  # (a character is at most 4 UTF-8 bytes: counted only then)
        size = len(event_json) if event_json.isascii() else len(event_json.encode())
        if size > SYNC_PAYLOAD_LIMIT:
            raise PayloadTooLargeError(function, size, too_large_for_request_response())


class Dispatcher:
    """Sync and async invocation of the functions of one config; see the module docstring."""

    def __init__(self, config: Config, runtimes: RuntimesLike, store: Store, clock: Clock,
                 ids: Ids | None = None) -> None:  # fmt: skip
        self.config = config
        self.runtimes = runtimes
        self.store = store
        self.clock = clock
        self.ids: Ids = ids or RandomIds()
        self.lineage = lineage.of(config)  # who caused what (shared with the embedded AWS)
        self.writer = DbWriter(store)
        self.queue = AsyncQueue(config, runtimes, self.writer, clock, publish=self.publish, ids=self.ids)
        self.checkpoints = Checkpoints(self.writer, clock)
        self._filters: dict[str, RecordFilter] = {}
        self.journal = JournalWriter(store)
        self._subscribers: list[Subscriber] = []
        self._since_prune = 0
        self._pruned_at = 0.0
        self._lock_file: Any = None
        self._workers = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self, stack: AsyncExitStack, *, workers: bool = True, run: bool = True) -> None:
        """Open the state file and, with ``workers`` (the default), own the async queue:
        rows left ``running`` by a process that died go back to ``queued`` and everything
        queued is scheduled, at once with ``run`` or once :meth:`run_queue` is called (the app
        calls it when every source has started). ``workers=False`` (``router replay``) only
        journals, and may run beside a daemon that owns the queue. Closing the stack drains
        gracefully."""
        self._filters = compile_filters([t for t in self.config.triggers if t.enabled])
        self.writer.start()
        self.journal.start(asyncio.get_running_loop())
        stack.push_async_callback(self._close)
        if workers:
            self._lock_file = _lock(self.store)
            entries, requeued = await self._db(event_queue.recover)
            if requeued:
                log.info("%d event(s) were running when router last stopped: queued again", requeued)
            await self.queue.start(entries)
            self._workers = True
            if run:
                self.queue.run()
        self._prune()

    def update(self, config: Config) -> None:
        """A new config (a live edit of triggers.yaml): functions, async rules and stream filters
        from now on (settings stay: they need a restart)."""
        filters = compile_filters([t for t in config.triggers if t.enabled])  # a bad one raises first
        self.config = config
        self._filters = filters
        self.lineage = lineage.of(config)  # (the new functions' access key ids)
        self.queue.update(config)

    def run_queue(self) -> None:
        """Run the async queue (after ``start(..., run=False)``)."""
        self.queue.run()

    async def _close(self) -> None:
        if self._workers:
            left = await self.queue.close()
            if left:
                log.info("async queue stopped: %d event(s) left queued for the next start", left)
        self.journal.flush()
        await asyncio.to_thread(self.journal.close)
        await asyncio.to_thread(self.writer.close)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    async def reset(self) -> None:
        """Back to a fresh state file (``Router.reset``): no queued or retrying events, no
        journal, dead letters or stream checkpoints. Subscribers stay."""
        await self.queue.reset()
        self.journal.execute([("DELETE FROM journal", ())])
        await asyncio.wrap_future(self.journal.sync())
        await self._db(_clear_state)
        self._since_prune = 0

    def pending(self) -> int:
        """Async events queued or running (after a stop: those kept for the next start)."""
        return self.queue.pending()

    # ------------------------------------------------------------------ invoking

    def check_function(self, function: str) -> None:
        if function not in self.config.functions:
            known = ", ".join(sorted(self.config.functions)) or "none"
            raise InvocationError(f"no function named {function!r} (functions: {known})")

    async def invoke(
        self, function: str, event: Any, *, trigger: str | None = None, source: str = "invoke",
        client_context: dict[str, Any] | None = None, wait: bool = True,
        extra: dict[str, Any] | None = None, attempt: int = 1, queue_limit: int | None = None,
        give_up_after: float | None = None, on_give_up: Callable[[], object] | None = None,
        event_json: str | None = None, identity: dict[str, Any] | None = None,
        before_publish: Callable[[Invocation], object] | None = None, stream: ResponseStream | None = None,
    ) -> Invocation:  # fmt: skip
        """One synchronous invocation, journaled (``before_publish(inv)`` may add to its
        ``extra`` first: what an event source mapping made of it). Admission is the pool's: ``wait=False``, or
        ``queue_limit`` invocations waiting already, raise ThrottledError. ``give_up_after``
        seconds without an answer call ``on_give_up()`` (API Gateway's integration timeout:
        the invocation runs on); the timer is set only when the invocation may wait for a
        worker or outlive the limit, not on every call (the HTTP hot path). ``event_json``:
        ``event`` as the caller's JSON text (the Invoke API's payload, ``--event``), sent to the
        worker unchanged. ``client_context`` and ``identity`` (a Cognito identity): the
        handler's context, as Lambda's Invoke gives them. ``stream``: where a streaming function's
        response goes as it is written (:class:`router.types.ResponseStream`)."""
        self.check_function(function)
        if event_json is None:
            try:  # encoded once, here: the worker gets this text
                event_json = encode_json(event)
            except (TypeError, ValueError):
                pass  # the runtime says what is wrong with it
        if event_json is not None:  # Lambda's 6 MB: refused before anything runs (PayloadTooLargeError)
            check_request_size(function, event_json)
        request_id = self.ids.uuid()
        timer = None
        if on_give_up is not None and give_up_after is not None and not (
            self.runtimes.free_slots(function) > 0 and self.config.functions[function].timeout < give_up_after
        ):
            timer = asyncio.get_running_loop().call_later(give_up_after, on_give_up)
        cause = (extra or {}).get("cause") or (self.lineage.stream_cause(event) if source == "dynamodb" else None)
        self.lineage.begin(function, request_id, cause)
        try:
            outcome = await self.runtimes.invoke(function, event, request_id=request_id, wait=wait,
                                                 client_context=client_context, queue_limit=queue_limit,
                                                 event_json=event_json, identity=identity, stream=stream)  # fmt: skip
        finally:
            self.lineage.end(function, request_id)
            if timer is not None:
                timer.cancel()
        inv = to_invocation(outcome, function=function, trigger=trigger, source=source, event=event)
        if cause is not None:
            inv.extra["cause"] = lineage.journal_cause(cause)
        inv.attempt = attempt
        if extra:
            inv.extra.update(extra)
        if before_publish is not None:
            before_publish(inv)
        self.publish(inv)
        return inv

    async def open_stream(self, trigger: TriggerConfig, stream_arn: str) -> StreamMapping:
        """The event source mapping of a stream trigger (see :mod:`.stream_mapping`)."""

        async def invoke(t: TriggerConfig, event: Any, attempt: int) -> Invocation:
            return await self.invoke(t.function, event, trigger=t.name, source=t.kind, attempt=attempt)

        async def submit(t: TriggerConfig, event: Any) -> str:
            return await self.enqueue(t.function, event, trigger=t.name, source=t.kind)

        record_filter = self._filters.get(trigger.name) or compile_filters([trigger])[trigger.name]
        return StreamMapping(trigger, stream_arn, config=self.config, clock=self.clock, record_filter=record_filter,
                             checkpoints=self.checkpoints, invoke=invoke, submit=submit,
                             send_to_queue=self.queue.send_to_queue)  # fmt: skip

    async def open_queue(self, trigger: TriggerConfig, queue_arn: str, io: QueueIO, *, fifo: bool) -> QueueConsumer:
        """The event source mapping of an ``sqs`` trigger (see :mod:`.queue_mapping`)."""

        async def invoke(event: Any, attempt: int, note: Callable[[Invocation], object]) -> Invocation:
            return await self.invoke(trigger.function, event, trigger=trigger.name, source=trigger.kind,
                                     attempt=attempt, before_publish=note)  # fmt: skip

        concurrency = self.config.functions[trigger.function].concurrency
        return QueueConsumer(queue_settings(trigger, concurrency, fifo=fifo), invoke=invoke, clock=self.clock,
                             io=io, record_filter=queue_filter(trigger), name=f"sqs {trigger.name}")  # fmt: skip

    def use_queue_sender(self, send: Callable[[str, str], object]) -> None:
        """How destinations reach SQS: ``send(queue, body)`` (the app gives its AWS's SendMessage)."""
        self.queue.send_to_queue = send

    def event_pending(self, event_id: str) -> bool:
        """True while an accepted async event is queued, running or waiting for a retry."""
        return event_id in self.queue.live

    async def enqueue(
        self, function: str, event: Any, *, trigger: str | None = None, source: str = "invoke"
    ) -> str:
        """Accept an async event: it is committed to the queue when this returns its id."""
        return await self.queue.enqueue(function, event, trigger, source)

    def enqueue_threadsafe(
        self, function: str, event: Any, *, trigger: str | None = None, source: str = "invoke",
        cause: lineage.Cause | None = None,
    ) -> str:  # fmt: skip
        """``enqueue`` from a thread that is not the loop's; blocks until committed. ``cause``:
        the write that caused the event (:mod:`router.lineage`), journaled with its invocation."""
        return self.queue.enqueue_threadsafe(function, event, trigger, source, cause)

    async def replay(self, invocation_id: str) -> Invocation:
        """Run a journaled or dead-lettered invocation's event again, synchronously.
        Raises ``journal.UnknownInvocation`` for an id that is neither."""
        await asyncio.wrap_future(self.journal.sync())  # the journal is read below
        past = await self._db(partial(journal.replayable, invocation_id=invocation_id))
        return await self.invoke(past.function, past.event, trigger=past.trigger, source="replay",
                                 extra={"replay_of": past.id, "replay_from": past.origin})  # fmt: skip

    def seam(self) -> SourceDispatch:
        """This dispatcher as the sources see it (:class:`router.types.Dispatch`)."""
        return SourceDispatch(self)

    # ------------------------------------------------------------------ journal

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(inv)`` for every finished attempt (in the thread that recorded
        it: the loop's, for everything dispatch runs). Returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, inv: Invocation) -> None:
        """Journal a finished invocation and tell the subscribers."""
        if self.journal.running:
            self.journal.append(inv)
            self._since_prune += 1
            if self._since_prune >= PRUNE_EVERY or time.monotonic() - self._pruned_at > PRUNE_INTERVAL:
                self._prune()
        else:
            log.warning("journal closed: %s not recorded", inv.summary())
        for callback in list(self._subscribers):
            try:
                callback(inv)
            except Exception:
                log.exception("an invocation subscriber failed on %s", inv.id)

    def history(
        self, *, function: str | None = None, status: str | None = None, last: int | None = None
    ) -> list[Invocation]:
        """Journaled invocations, oldest first, including every one recorded before this
        call. Blocks briefly (any thread)."""
        op = partial(journal.query, function=function, status=status, last=last)
        if self.journal.running:
            self.journal.sync().result()
        return self._read(op)

    def dead_letters(self, function: str | None = None) -> list[dict[str, Any]]:
        return self._read(partial(journal.dead_letters, function=function))

    # ------------------------------------------------------------------ state file

    def _prune(self) -> None:
        self._since_prune = 0
        self._pruned_at = time.monotonic()
        j = self.config.settings.journal
        self.journal.execute(journal.prune_statements(now=self.clock.time(), max_rows=j.max_rows,
                                                      max_days=j.max_days))  # fmt: skip
        self.journal.limit_size(int(j.max_mb * 1024 * 1024))

    async def _db(self, op: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.wrap_future(self.writer.submit(op))

    def _read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self.writer.running:
            return self.writer.submit(op).result()
        with closing(self.store.connect()) as conn:
            return op(conn)


def _clear_state(conn: sqlite3.Connection) -> None:
    for table in ("queue", "dead_letters", "checkpoints"):
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names


def _lock(store: Store) -> Any:
    """One queue owner per state dir: two daemons on one queue would run events twice."""
    path = store.dir / "dispatch.lock"
    f = open(path, "a+")  # noqa: SIM115 - held open while the queue runs
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process guard
        return f
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise StartupError(
            f"another router is running on the state dir {store.dir} (settings.state_dir); "
            "stop it or give this config its own state_dir"
        ) from None
    return f

