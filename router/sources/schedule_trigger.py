"""APScheduler 3 glue for the schedule source: a trigger that fires on an AWS schedule
expression (router.schedules), and an executor that hands each job its scheduled run time.

    scheduler = AsyncIOScheduler(timezone=UTC, executors={"default": RunTimeExecutor()})
    trigger = ExpressionTrigger(parse_expression("cron(0 3 * * ? *)"), ZoneInfo("UTC"), started)
    scheduler.add_job(fire, trigger, args=["nightly"], kwargs={"run_time": None})
    # -> fire("nightly", run_time=<the time it was due>)

Imported only by the schedule source, so apscheduler stays out of ``router validate``.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.triggers.base import BaseTrigger

from ..schedules import Expression

log = logging.getLogger(__name__)


class ExpressionTrigger(BaseTrigger):  # type: ignore[misc]
    """``anchor`` is when the schedule started: ``rate()`` fires at anchor + k * period."""

    __slots__ = ("expression", "timezone", "anchor")

    def __init__(self, expression: Expression, timezone: tzinfo, anchor: datetime) -> None:
        self.expression = expression
        self.timezone = timezone
        self.anchor = anchor

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # The first fire may be ``now`` itself, as with APScheduler's own triggers.
        after = previous_fire_time or now - timedelta(microseconds=1)
        return self.expression.next_fire(after, self.timezone, anchor=self.anchor)

    def __str__(self) -> str:
        return f"aws[{self.expression}]"

    def __repr__(self) -> str:
        return f"<ExpressionTrigger ({self.expression}, timezone={self.timezone!s})>"


class RunTimeExecutor(BaseExecutor):  # type: ignore[misc]
    """Calls ``job.func(*job.args, **job.kwargs)`` with ``run_time`` set to the time the fire
    was due, at once, on the event loop's thread, for each run time still within the job's
    ``misfire_grace_time``. Declare the keyword when adding the job (``kwargs={"run_time":
    None}``): APScheduler checks the arguments against the function's signature.

    APScheduler's own executors do not tell a job *when* it was scheduled to run; a
    Scheduled Event's ``time`` is exactly that. The job function must not block (the
    schedule source only puts the fire on a queue). Needs AsyncIOScheduler."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        alias = job._jobstore_alias
        now = datetime.now(UTC)
        events: list[Any] = []
        for run_time in run_times:
            late = now - run_time
            if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
                log.warning("schedule %s: the fire due at %s was missed by %s (more than %s s late): skipped",
                            job.id, run_time.isoformat(), late, job.misfire_grace_time)  # fmt: skip
                events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, alias, run_time))
                continue
            try:
                value = job.func(*job.args, **{**job.kwargs, "run_time": run_time})
            except Exception as exc:
                log.exception("schedule %s: the fire due at %s failed", job.id, run_time.isoformat())
                events.append(JobExecutionEvent(EVENT_JOB_ERROR, job.id, alias, run_time, exception=exc,
                                                traceback=traceback.format_exc()))  # fmt: skip
            else:
                events.append(JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, alias, run_time, retval=value))
        # submit_job counts this instance after we return: report it done on the next loop turn
        asyncio.get_running_loop().call_soon(self._run_job_success, job.id, events)
