"""The schedule source: ``rate()``, ``cron()`` and ``at()`` triggers fired as EventBridge does.

Each fire queues one asynchronous invocation (``ctx.dispatch.submit``) whose payload is the
EventBridge "Scheduled Event" of :mod:`router.events.schedule` (``time`` is the scheduled
fire time, whole seconds; ``resources`` the rule ARN ``arn:aws:events:REGION:ACCOUNT:rule/NAME``)
or, when the trigger has one, its constant ``input``, which replaces the whole event as a
target's Input does.

Two drivers compute fire times with the same :meth:`Expression.next_fire`:

- the system clock: APScheduler 3's AsyncIOScheduler with
  :class:`~router.sources.schedule_trigger.ExpressionTrigger` (imported lazily here);
  ``coalesce`` on and a short misfire grace time, so a loop that was blocked or a machine
  that slept fires once, not once per missed time;
- a manual clock (``Router(..., clock="manual")``): one task per trigger sleeping on the
  clock until its next fire time, so ``advance(60)`` fires a ``rate(1 minute)`` once.

``rate()`` counts from when the source starts (the whole second); fires missed while the
daemon was down are not replayed (EventBridge does not either). A schedule with
``enabled: false`` is not scheduled, and ``fire()`` still runs it. ``max_concurrent: N`` skips
a fire while N earlier events of the trigger are still queued or running (``dispatch.event_pending``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config, ScheduleTrigger, TriggerConfig
from ..errors import ConfigError, ConfigIssue, UsageError
from ..events import schedule as events
from ..schedules import Expression, parse_expression
from .base import SourceContext

log = logging.getLogger(__name__)

MISFIRE_GRACE = 30  # s: a fire this late (a blocked loop, a sleeping laptop) is skipped
MANUAL_SLACK = 1e-3  # s: the manual driver wakes this early, so float rounding never
#                      pushes a fire past the advance() that reaches it
DRAIN_TIMEOUT = 10.0  # s: at shutdown, fires already due get this long to be queued
LABEL = "schedule        "  # banner column, as the other sources'


@dataclass
class Schedule:
    """One schedule trigger, parsed."""

    trigger: TriggerConfig
    spec: ScheduleTrigger
    expression: Expression
    tz: ZoneInfo
    in_flight: list[str] = field(default_factory=list)  # event ids, kept for max_concurrent

    @property
    def name(self) -> str:
        return self.trigger.name


class ScheduleSource:
    """Every enabled ``schedule`` trigger of a config; see the module docstring."""

    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None:
        self.ctx = ctx
        self.schedules = {t.name: _parse(t, ctx.config) for t in triggers}
        self.anchor: datetime | None = None  # when the source started: rate() counts from here
        self.driver = "apscheduler" if not ctx.clock.manual else "manual clock"
        self._pending = ctx.dispatch.event_pending
        self._fires: asyncio.Queue[tuple[Schedule, float]] = asyncio.Queue()
        self._emitter: asyncio.Task[None] | None = None
        self._tickers: list[asyncio.Task[None]] = []
        self._scheduler: Any = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, stack: AsyncExitStack) -> None:
        stack.push_async_callback(self._close)
        await self._begin()

    async def pause(self) -> None:
        """Stop firing (``Router.reset``)."""
        await self._close()

    async def reset(self) -> None:
        """After :meth:`pause`: fire again as from a new start (rate() counts from now)."""
        for s in self.schedules.values():
            s.in_flight.clear()
        self._fires = asyncio.Queue()
        await self._begin()

    async def _begin(self) -> None:
        self.anchor = datetime.fromtimestamp(math.floor(self.ctx.clock.time()), UTC)
        self._emitter = asyncio.create_task(self._emit_loop(), name="router-schedule-emit")
        active = [s for s in self.schedules.values() if s.spec.enabled]
        if not active:
            return
        if self.ctx.clock.manual:
            for s in active:
                self._tickers.append(asyncio.create_task(self._tick(s), name=f"router-schedule-{s.name}"))
            await asyncio.sleep(0)  # each ticker runs up to its first clock.sleep: armed before advance()
        else:
            self._scheduler = self._start_scheduler(active, self.anchor)

    def _start_scheduler(self, active: list[Schedule], anchor: datetime) -> Any:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from .schedule_trigger import ExpressionTrigger, RunTimeExecutor

        scheduler = AsyncIOScheduler(
            timezone=UTC,
            executors={"default": RunTimeExecutor()},
            job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
        )
        for s in active:
            trigger = ExpressionTrigger(s.expression, s.tz, anchor)
            scheduler.add_job(self._due, trigger, args=[s.name], kwargs={"run_time": None}, id=s.name,
                              name=f"schedule {s.name}")  # fmt: skip
        scheduler.start()
        return scheduler

    async def _close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)  # runs on the loop's next turn
            self._scheduler = None
            await asyncio.sleep(0)
        for task in self._tickers:
            task.cancel()
        await asyncio.gather(*self._tickers, return_exceptions=True)
        self._tickers.clear()
        try:
            await asyncio.wait_for(self._fires.join(), DRAIN_TIMEOUT)
        except TimeoutError:
            log.warning("schedule source stopped with %d fire(s) not queued", self._fires.qsize())
        if self._emitter is not None:
            self._emitter.cancel()
            await asyncio.gather(self._emitter, return_exceptions=True)
            self._emitter = None

    # ------------------------------------------------------------------ the drivers

    def _due(self, name: str, *, run_time: datetime | None) -> None:
        """APScheduler's job: a fire due at ``run_time`` (set by RunTimeExecutor)."""
        assert run_time is not None, "needs RunTimeExecutor"
        self._fires.put_nowait((self.schedules[name], run_time.timestamp()))

    async def _tick(self, s: Schedule) -> None:
        """The manual-clock driver: sleep on the clock until each fire time in turn."""
        assert self.anchor is not None
        clock = self.ctx.clock
        after = self.anchor
        while (due := s.expression.next_fire(after, s.tz, anchor=self.anchor)) is not None:
            await clock.sleep(due.timestamp() - clock.time() - MANUAL_SLACK)
            self._fires.put_nowait((s, due.timestamp()))  # re-arm at once; the emitter queues it
            after = due
        log.info("schedule %s: %s will not fire again", s.name, s.expression)

    async def _emit_loop(self) -> None:
        """Queue the fires one at a time, in the order they became due."""
        while True:
            s, at = await self._fires.get()
            try:
                await self._fire_scheduled(s, at)
            except Exception:
                log.exception("schedule %s: could not queue the fire due at %s", s.name, _iso(at, s.tz))
            finally:
                self._fires.task_done()

    async def _fire_scheduled(self, s: Schedule, at: float) -> None:
        limit = s.spec.max_concurrent
        if limit is not None and self._busy(s) >= limit:
            log.info("schedule %s: skipped the fire due at %s: %d earlier event(s) still pending "
                     "(max_concurrent %d)", s.name, _iso(at, s.tz), len(s.in_flight), limit)  # fmt: skip
            return
        event_id = await self._emit(s, self._payload(s, at))
        log.info("schedule %s: fired for %s -> %s (event %s)", s.name, _iso(at, s.tz), s.trigger.function, event_id)

    def _busy(self, s: Schedule) -> int:
        """How many of this trigger's events are still queued or running."""
        s.in_flight = [i for i in s.in_flight if self._pending(i)]
        return len(s.in_flight)

    async def _emit(self, s: Schedule, payload: Any) -> str:
        event_id = await self.ctx.dispatch.submit(s.trigger, payload)
        if s.spec.max_concurrent is not None:
            s.in_flight.append(event_id)
        return event_id

    def _payload(self, s: Schedule, at: float) -> Any:
        if s.spec.input is not None:
            return copy.deepcopy(s.spec.input)  # a target's constant Input replaces the event
        settings = self.ctx.config.settings
        return events.build_event(rule=s.name, region=settings.region, account=settings.account,
                                  time=at, event_id=str(uuid.uuid4()))  # fmt: skip

    # ------------------------------------------------------------------ the Python API

    async def fire(self, trigger_name: str, input: Any = None) -> str:
        """Queue one event of ``trigger_name`` now; its event id. The event is ``input``
        when given, else the trigger's constant input, else a Scheduled Event for now.
        Works for a schedule with ``enabled: false`` too, and ignores ``max_concurrent``
        (an explicit fire always runs), though it counts toward it."""
        s = self.schedule(trigger_name)
        payload = copy.deepcopy(input) if input is not None else self._payload(s, self.ctx.clock.time())
        return await self._emit(s, payload)

    def schedule(self, trigger_name: str) -> Schedule:
        try:
            return self.schedules[trigger_name]
        except KeyError:
            raise UsageError(f"no schedule trigger named {trigger_name!r} "
                             f"(have: {', '.join(self.schedules) or 'none'})") from None  # fmt: skip

    def next_fire(self, trigger_name: str) -> datetime | None:
        """The next time the trigger fires (in its time zone), None if never or disabled."""
        s = self.schedule(trigger_name)
        if not s.spec.enabled:
            return None
        now = datetime.fromtimestamp(self.ctx.clock.time(), UTC)
        return s.expression.next_fire(now, s.tz, anchor=self.anchor or now)

    def describe(self) -> list[str]:
        lines = []
        for s in self.schedules.values():
            parts = [f"{LABEL}{s.name}", str(s.expression), s.spec.timezone, f"-> {s.trigger.function}"]
            if not s.spec.enabled:
                parts.append("disabled (enabled: false; fire() still runs it)")
            elif (nxt := self.next_fire(s.name)) is not None:
                parts.append(f"next {nxt.isoformat()}")
            else:
                parts.append("next never (the time has passed)")
            if s.spec.input is not None:
                parts.append("input " + _short(json.dumps(s.spec.input, separators=(",", ":"))))
            if s.spec.max_concurrent is not None:
                parts.append(f"max_concurrent {s.spec.max_concurrent}")
            lines.append("  ".join(parts) + f"  ({self.driver})")
        return lines


def _parse(trigger: TriggerConfig, config: Config) -> Schedule:
    spec: ScheduleTrigger = trigger.source
    settings = config.settings
    try:
        events.rule_arn(trigger.name, region=settings.region, account=settings.account)
    except ValueError as exc:
        index = next((i for i, t in enumerate(config.triggers) if t.name == trigger.name), 0)
        issue = ConfigIssue(f"a schedule trigger's name is its EventBridge rule name: {exc}",
                            f"triggers[{index}].name", str(config.path))  # fmt: skip
        raise ConfigError([issue]) from None
    return Schedule(trigger, spec, parse_expression(spec.expression), ZoneInfo(spec.timezone))


def _iso(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone(tz).isoformat()


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
