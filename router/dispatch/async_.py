"""Lambda's asynchronous invocation, durable: the queue worker.

Rules (AWS Lambda developer guide, "Asynchronous invocation"; AWS-SEMANTICS.md):
- a function error (a timeout or crash included) is retried ``async.retries`` times (0..2),
  after ``async.retry_delays`` (AWS: about 1 then 2 minutes); every attempt keeps the
  event's request id, as Lambda does;
- an event older than ``async.max_event_age`` is not run again: EventAgeExceeded;
- a throttle (the function at its concurrency) is not an attempt: the event goes back to
  the queue with exponential backoff, 1 s doubling up to 5 minutes;
- the end of an event is sent to ``on_success`` / ``on_failure`` as an invocation record;
  a failure with no destination (or whose destination fails) becomes a dead letter.

Scheduling is in memory (:class:`~router.dispatch.event_queue.DueIndex`), woken by an
``asyncio.Event`` on every acceptance and every freed worker and by one timer for the next
due time (from the injected clock, so ``ManualClock`` tests never wait); SQLite only keeps
the queue durable. Events start only while the function has a free worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from .. import lineage
from ..clock import Clock
from ..config import Config, Destination
from ..errors import InvocationError, ThrottledError
from ..events import eventbridge
from ..invocation import Invocation, encode_json, json_value
from ..types import Ids, Reservation
from . import event_queue, journal
from .base import RuntimesLike, to_invocation
from .destinations import Condition, function_arn, invocation_record, iso_millis
from .event_queue import DueIndex, Entry
from .files import write_json_atomic
from .writer import DbWriter

log = logging.getLogger(__name__)

LEASE_GRACE = 30.0  # seconds a running row is leased beyond its function's timeout
MAX_BACKOFF = 300.0  # throttling backoff cap: 5 minutes (AWS)
DRAIN_GRACE = 5.0  # seconds beyond the longest timeout that a graceful stop waits
RESET_GRACE = 0.5  # seconds a reset lets running attempts end before cancelling them


# Lambda API reference, Invoke: "For asynchronous invocations, the maximum payload size is 1 MB"
# (raised from 256 KB in October 2025: AWS Compute Blog, "More room to build: serverless
# services now support payloads up to 1 MB")
ASYNC_PAYLOAD_LIMIT = 1024 * 1024


class PayloadTooLargeError(InvocationError):
    """An event over Lambda's payload limit for its invocation type, refused before it is queued
    (Event) or run (RequestResponse, ``dispatcher.SYNC_PAYLOAD_LIMIT``): Invoke's 413
    ``error_type`` with ``message``, AWS's text."""

    error_type = "RequestEntityTooLargeException"

    def __init__(self, function: str, size: int, message: str | None = None) -> None:
        self.size, self.message = size, message or too_large_for_event(size)
        super().__init__(f"{function}: {self.message}")


def too_large_for_event(size: int) -> str:
    """AWS's message (RequestEntityTooLargeException, 413) for an Event payload over the limit."""
    return f"{size} byte payload is too large for the Event invocation type (limit {ASYNC_PAYLOAD_LIMIT} bytes)"


class AsyncQueue:
    """Accepts events durably and runs them under Lambda's async rules."""

    def __init__(
        self, config: Config, runtimes: RuntimesLike, writer: DbWriter, clock: Clock, *,
        publish: Callable[[Invocation], None], ids: Ids,
    ) -> None:  # fmt: skip
        self._config = config
        self._runtimes = runtimes
        self._writer = writer
        self._clock = clock
        self._publish = publish
        self._ids = ids
        self.send_to_pubsub: Callable[[str, str, dict[str, Any]], object] | None = None  # (kind, name, payload)
        self._lineage = lineage.of(config)
        runtimes.on_release(self._released)
        self._index = DueIndex()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._timer_at = 0.0
        self._stopping = False
        self._left: int | None = None
        self._cut = 0  # attempts cancelled by abort(): their events stay for the next start
        self.live: set[str] = set()  # ids of events accepted and not yet ended (queued, running, retrying)
        self.send_to_queue: Callable[[str, str], object] | None = None  # SendMessage(queue, body): the app's

    # ------------------------------------------------------------------ lifecycle

    async def start(self, entries: list[Entry]) -> None:
        self._loop = asyncio.get_running_loop()
        unknown: Counter[str] = Counter()
        for entry in entries:
            if entry.function in self._config.functions:
                self._index.push(entry)
                self.live.add(entry.id)
            else:
                unknown[entry.function] += 1
        for name, n in unknown.items():
            log.warning("%d queued event(s) for %r, which the config no longer has: kept in the "
                        "state file until it does", n, name)  # fmt: skip

    def run(self) -> None:
        """Start running what is queued (and what is accepted from now on). Until then events
        are accepted, durably, and wait: a restart runs its backlog only once every source has
        restored what the events refer to (an S3 event's object back in the fresh bucket)."""
        if self._pump_task is None and self._loop is not None and not self._stopping:
            self._pump_task = self._loop.create_task(self._pump(), name="router-async-queue")

    def stop_starting(self) -> None:
        """Start no more events (a graceful stop has begun: they stay queued); running ones go on."""
        self._stopping = True
        self._wake.set()

    def abort(self) -> None:
        """Stop at once: running attempts are cancelled (their worker killed); their events stay
        in the state file, leased, and run again at the next start with no attempt spent."""
        self.stop_starting()
        for task in list(self._tasks):
            self._cut += task.cancel()

    async def close(self) -> int:
        """Stop starting events, let running ones finish (bounded by the longest function
        timeout), keep the rest queued. Returns how many events are left for the next start."""
        self.stop_starting()
        if self._pump_task is not None:
            await self._pump_task
        if self._timer is not None:
            self._timer.cancel()
        unfinished = 0
        if self._tasks:
            longest = max((f.timeout for f in self._config.functions.values()), default=3.0)
            _, pending = await asyncio.wait(set(self._tasks), timeout=longest + DRAIN_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            unfinished = len(pending)
        self._left = len(self._index) + unfinished + self._cut
        return self._left

    async def reset(self, grace: float = RESET_GRACE) -> None:
        """Forget every event (``Router.reset``): queued and delayed retries at once; running
        attempts get ``grace`` seconds to end, then are cancelled (their worker is killed).
        The state file's rows are the dispatcher's to delete."""
        self._index = DueIndex()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._index = DueIndex()  # what the attempts that ended meanwhile queued (retries, destinations)
        self.live.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def pending(self) -> int:
        """Events queued or running (after close: those left for the next start)."""
        if self._left is not None:
            return self._left
        return len(self._index) + len(self._tasks)

    def wake(self) -> None:
        self._wake.set()

    def due_now(self, event_id: str) -> float | None:
        """Run a queued event that waits (a retry's delay, a backoff) as soon as a worker is free:
        its new due time, or None when it is not queued (running, ended or unknown)."""
        now = self._clock.time()
        if not self._index.hurry(event_id, now):
            return None
        self._writer.submit(partial(event_queue.set_due, event_id=event_id, due_at=now), wait=False)
        self._wake.set()
        return now

    def _released(self) -> None:
        """A slot was freed (the pool says so, whoever held it): only queued events can want
        it (an HTTP request's release with nothing queued must not wake the scheduler)."""
        if len(self._index):
            self._wake.set()

    # ------------------------------------------------------------------ intake

    def new_entry(self, function: str, event: Any, trigger: str | None, source: str) -> Entry:
        if function not in self._config.functions:
            known = ", ".join(sorted(self._config.functions)) or "none"
            raise InvocationError(f"no function named {function!r} (functions: {known})")
        try:
            event_json = encode_json(event)  # (1e400 is a valid event: written back as 1e400)
        except (TypeError, ValueError) as exc:
            raise InvocationError(f"the event for {function} is not JSON-serializable: {exc}") from None
        if len(event_json) > ASYNC_PAYLOAD_LIMIT:  # (characters: at most the UTF-8 bytes, checked only then)
            if (size := len(event_json.encode())) > ASYNC_PAYLOAD_LIMIT:
                raise PayloadTooLargeError(function, size)
        now = self._clock.time()
        return Entry(id=self._ids.uuid(), function=function, trigger=trigger, source=source,
                     event=event, event_json=event_json, accepted_at=now, due_at=now)  # fmt: skip

    async def enqueue(self, function: str, event: Any, trigger: str | None, source: str) -> str:
        entry = self.new_entry(function, event, trigger, source)
        await asyncio.wrap_future(self._writer.submit(partial(event_queue.insert, entry=entry)))
        self._accept(entry)
        return entry.id

    def enqueue_threadsafe(self, function: str, event: Any, trigger: str | None, source: str,
                           cause: lineage.Cause | None = None) -> str:  # fmt: skip
        entry = self.new_entry(function, event, trigger, source)
        entry.cause = cause
        self._writer.submit(partial(event_queue.insert, entry=entry)).result()
        if self._loop is not None:
            looping = lineage.loop_count(cause, function) > lineage.RECURSION_LIMIT
            try:
                self._loop.call_soon_threadsafe(self._stop_loop if looping else self._accept, entry)
            except RuntimeError:  # the loop has closed: the row is durable, the next start runs it
                pass
        return entry.id

    def _stop_loop(self, entry: Entry) -> None:
        """Lambda's recursive loop detection (:mod:`router.lineage`): the event is not run; it
        ends at once, to the on-failure destination (or the dead letters)."""
        count = lineage.loop_count(entry.cause, entry.function)
        if self._lineage.first_loop_warning(entry.function):
            t = next((t for t in self._config.triggers if t.name == entry.trigger), None)
            log.warning(lineage.loop_message(entry.function, entry.event, count, t.s3.prefix if t and t.s3 else ""))
        message = f"Lambda has detected {entry.function} being invoked in a recursive loop ({count} times in one chain)"
        error = {"errorType": "RecursiveInvocationException", "errorMessage": message}
        entry.last_error = error
        self.live.add(entry.id)
        self._spawn(self._finish(entry, "RetriesExhausted", (False, error)))

    def _accept(self, entry: Entry) -> None:
        self._index.push(entry)
        self.live.add(entry.id)
        self._wake.set()

    # ------------------------------------------------------------------ scheduling

    async def _pump(self) -> None:
        assert self._loop is not None
        while not self._stopping:
            self._wake.clear()
            try:
                next_due = self._dispatch_ready()
            except Exception:  # a bug here must not stop the queue for good
                log.exception("async queue: scheduling failed; retrying in 1 s")
                next_due = None
                self._loop.call_later(1.0, self._wake.set)
            if next_due is not None:
                self._arm_timer(next_due)
            await self._wake.wait()

    def _dispatch_ready(self) -> float | None:
        """Start every due event whose function has a free worker. Returns the next due
        time among functions that could take one."""
        now = self._clock.time()
        next_due: float | None = None
        for function in self._index.functions():
            max_age = self._config.functions[function].async_.max_event_age
            while (entry := self._index.peek(function)) is not None and entry.due_at <= now:
                if now - entry.accepted_at >= max_age:
                    self._spawn(self._finish(self._index.pop(function), "EventAgeExceeded", None))
                    continue
                reservation = self._runtimes.reserve(function)
                if reservation is None:  # full: the pool's release wakes us
                    break
                self._index.pop(function)
                task = self._spawn(self._run(entry, reservation))
                task.add_done_callback(partial(_give_back, reservation))
            if entry is not None and entry.due_at > now:
                next_due = entry.due_at if next_due is None else min(next_due, entry.due_at)
        return next_due

    def _arm_timer(self, at: float) -> None:
        if self._timer is not None and not self._timer.done():
            if self._timer_at <= at:
                return
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = at
        self._timer = self._loop.create_task(self._sleep_until(at))

    async def _sleep_until(self, at: float) -> None:
        await self._clock.sleep(at - self._clock.time())
        self._wake.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("async queue task failed: %r", exc, exc_info=exc)

    # ------------------------------------------------------------------ one attempt

    async def _run(self, entry: Entry, reservation: Reservation) -> None:
        fn = self._config.functions[entry.function]
        attempt = entry.attempts + 1
        started = self._clock.time()
        lease = partial(event_queue.mark_running, event_id=entry.id, lease_until=started + fn.timeout + LEASE_GRACE)
        self._writer.submit(lease, wait=False)
        self._lineage.begin(entry.function, entry.id, entry.cause)
        try:
            outcome = await self._runtimes.invoke(entry.function, entry.event, request_id=entry.id, wait=False,
                                                  reservation=reservation, event_json=entry.event_json)  # fmt: skip
        except ThrottledError:
            self._back_off(entry, "throttled")
            return
        except Exception as exc:  # router could not invoke: not the function's error, no attempt used
            self._back_off(entry, f"router could not invoke it: {type(exc).__name__}: {exc}", error=exc)
            return
        finally:
            self._lineage.end(entry.function, entry.id)
        inv = to_invocation(outcome, function=entry.function, trigger=entry.trigger, source=entry.source,
                            event=entry.event, attempt=attempt, event_id=entry.id)  # fmt: skip
        if entry.cause is not None:
            inv.extra["cause"] = lineage.journal_cause(entry.cause)
        entry.backoffs = 0
        self._publish(inv)
        if entry.function not in self._config.functions:  # removed by a config edit meanwhile
            self._keep_for_later(entry)
            return
        await self._settle(entry, inv)

    def update(self, config: Config) -> None:
        """A new config (a live edit): events of functions it no longer has stay in the state
        file, queued for a config that has them again (as at start); the rest go on."""
        self._config = config
        kept = DueIndex()
        gone: Counter[str] = Counter()
        for function in self._index.functions():
            while self._index.count(function):
                entry = self._index.pop(function)
                if function in config.functions:
                    kept.push(entry)
                else:
                    gone[function] += 1
                    self.live.discard(entry.id)
        self._index = kept
        for name, n in gone.items():
            log.warning("%d queued event(s) for %r, which the config no longer has: kept in the state file "
                        "until it does", n, name)  # fmt: skip
        self._wake.set()

    def _keep_for_later(self, entry: Entry) -> None:
        self.live.discard(entry.id)
        log.warning("%s: event %s ran while the function was removed from the config: kept in the state file "
                    "until the config has it again", entry.function, entry.id)  # fmt: skip
        self._writer.submit(partial(event_queue.requeue, entry=entry), wait=False)

    def _back_off(self, entry: Entry, why: str, error: BaseException | None = None) -> None:
        """Throttles and router's own failures (a worker that cannot start, ...) are not
        attempts: the event goes back to the queue, 1 s doubling up to 5 minutes, until its
        maximum age. "For throttling errors (429) and system errors (500-series), Lambda returns
        the event to the queue and attempts to run the function again for up to 6 hours. The
        retry interval increases exponentially from 1 second after the first attempt to a
        maximum of 5 minutes" (Lambda developer guide, "How Lambda handles errors and retries
        with asynchronous invocation")."""
        entry.backoffs += 1
        backoff = min(MAX_BACKOFF, 2.0 ** (entry.backoffs - 1))
        if error is None:
            log.debug("%s %s (event %s): back in %.0f s", entry.function, why, entry.id, backoff)
        else:  # router's own failure: always shown, with its traceback the first time
            log.error("%s: event %s: %s; queued again in %.0f s (not counted as an attempt)", entry.function,
                      entry.id, why, backoff, exc_info=error if entry.backoffs == 1 else None)  # fmt: skip
        self._requeue(entry, self._clock.time() + backoff)

    async def _settle(self, entry: Entry, inv: Invocation) -> None:
        entry.attempts = inv.attempt
        if inv.ok:
            await self._finish(entry, "Success", (True, json_value(inv.result)))  # (bytes: as JSON readers see them)
            return
        entry.last_error = inv.error
        rules = self._config.functions[entry.function].async_
        if entry.attempts > rules.retries:
            await self._finish(entry, "RetriesExhausted", (False, inv.error))
            return
        delay = rules.retry_delays[min(entry.attempts - 1, len(rules.retry_delays) - 1)]
        log.info("%s failed (%s, attempt %d of %d): retry in %g s", entry.function, inv.status,
                 entry.attempts, rules.retries + 1, delay)  # fmt: skip
        self._requeue(entry, self._clock.time() + delay)

    def _requeue(self, entry: Entry, due: float) -> None:
        max_age = self._config.functions[entry.function].async_.max_event_age
        entry.due_at = min(due, entry.accepted_at + max_age)  # never wait past the event's expiry
        self._writer.submit(partial(event_queue.requeue, entry=entry), wait=False)
        self._accept(entry)

    # ------------------------------------------------------------------ the end of an event

    async def _finish(self, entry: Entry, condition: Condition, response: tuple[bool, Any] | None) -> None:
        """Send the invocation record to the destination; dead-letter a failure that has
        none (or whose destination failed); drop the event from the queue."""
        self.live.discard(entry.id)
        rules = self._config.functions[entry.function].async_
        destination = rules.on_success if condition == "Success" else rules.on_failure
        if condition == "EventAgeExceeded" and entry.last_error is not None:
            response = (False, entry.last_error)  # the last attempt's error, when there was one
        record: dict[str, Any] | None = None
        if destination is not None or condition != "Success":
            s = self._config.settings
            record = dict(invocation_record(
                request_id=entry.id, function_arn=function_arn(s.region, s.account, entry.function),
                condition=condition, invoke_count=entry.attempts, request_payload=entry.event,
                timestamp=self._clock.time(), response=response,
            ))  # fmt: skip
        delivered = False
        if destination is not None and record is not None:
            try:
                await self._deliver(destination, record, entry)
                delivered = True
            except Exception as exc:
                log.error("could not send the %s record of %s (event %s) to %s: %s", condition,
                          entry.function, entry.id, _describe(destination), exc)  # fmt: skip
        if condition != "Success":
            log.warning("%s: event %s ended %s after %d attempt(s)%s", entry.function, entry.id, condition,
                        entry.attempts, "" if delivered else "; kept as a dead letter")  # fmt: skip
        dead = record if condition != "Success" and not delivered else None
        self._writer.submit(partial(_end, entry=entry, dead=dead, now=self._clock.time()), wait=False)

    async def _deliver(self, destination: Destination, record: dict[str, Any], entry: Entry) -> None:
        if destination.function is not None:
            # Lambda destination: the record is the payload of an async invocation
            await self.enqueue(destination.function, record, None, "destination")
            return
        if destination.queue is not None:
            # SQS destination: the invocation record is the message body ("Capturing records of
            # Lambda asynchronous invocations": a standard queue)
            if self.send_to_queue is None:
                raise RuntimeError("no AWS endpoint to send to (router invoke/replay run no destinations)")
            await asyncio.to_thread(self.send_to_queue, destination.queue, json.dumps(record))
            return
        if destination.topic is not None or destination.bus is not None:
            await self._to_pubsub(destination, record)
            return
        assert destination.dir is not None
        folder = self._config.root / destination.dir
        name = f"{iso_millis(self._clock.time()).replace(':', '')}-{entry.id}.json"
        write_json_atomic(folder / name, record)


    async def _to_pubsub(self, destination: Destination, record: dict[str, Any]) -> None:
        """SNS destination: the record is the message; EventBridge destination: an event from
        source "lambda" with the record as its detail (eventbridge.destination_event)."""
        if self.send_to_pubsub is None:
            raise RuntimeError("no AWS endpoint to send to (router invoke/replay run no destinations)")
        if destination.topic is not None:
            await asyncio.to_thread(self.send_to_pubsub, "topic", destination.topic, record)
            return
        assert destination.bus is not None
        s, context = self._config.settings, record["requestContext"]
        event = eventbridge.destination_event(
            event_id=self._ids.uuid(), record=record, success=context["condition"] == "Success",
            function_arn=context["functionArn"], bus=destination.bus, account=s.account, region=s.region,
            time=eventbridge.iso_seconds(self._clock.time()),
        )  # fmt: skip
        await asyncio.to_thread(self.send_to_pubsub, "bus", destination.bus, event)


def _give_back(reservation: Reservation, _task: object) -> None:
    """A task that ended before its invocation took the reserved slot gives it back."""
    reservation.release()


def _end(conn: Any, *, entry: Entry, dead: dict[str, Any] | None, now: float) -> None:
    if dead is not None:
        journal.add_dead_letter(
            conn, event_id=entry.id, function=entry.function, trigger=entry.trigger, failed_at=now,
            condition=dead["requestContext"]["condition"], record=dead,
        )  # fmt: skip
    event_queue.delete(conn, entry.id)


def _describe(destination: Destination) -> str:
    if destination.topic or destination.bus:
        return f"topic {destination.topic}" if destination.topic else f"bus {destination.bus}"
    if destination.queue:
        return f"queue {destination.queue}"
    return f"function {destination.function}" if destination.function else f"dir {destination.dir}"
