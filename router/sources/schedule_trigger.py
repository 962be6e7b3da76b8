"""An APScheduler 3 trigger that fires on an AWS schedule expression (router.schedules).

    trigger = ExpressionTrigger(parse_expression("cron(0 3 * * ? *)"), ZoneInfo("UTC"), started)
    scheduler.add_job(fire, trigger)

Imported only by the schedule source, so apscheduler stays out of ``router validate``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger

from ..schedules import Expression


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
