"""AWS schedule expressions: ``rate()``, ``cron()`` and ``at()``, parsed and evaluated.

Pure: the standard library only. ``parse_expression(text)`` returns an :class:`Expression`
or raises ``ValueError`` with a message that names the field and why (the config shows it).
``Expression.next_fire(after, tz, anchor=...)`` is the first fire time strictly after
``after``, an aware datetime in ``tz``, or None when the schedule never fires again.

Rules, from https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
and https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html:

- ``cron(minutes hours day-of-month month day-of-week year)``; day-of-week 1-7 is SUN-SAT;
  exactly one of day-of-month and day-of-week is ``?``; ``L``, ``W``, ``#`` as Quartz has them.
- cron is evaluated on the wall clock of ``tz``. EventBridge Scheduler's DST rule: a wall time
  that does not exist (spring forward) is skipped; one that happens twice (fall back) fires
  once, at its first occurrence (https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst).
- ``rate(N unit)`` fires every N units of elapsed time counted from ``anchor`` (when the
  schedule started): a day is 24 hours, also across DST changes (same page).
- ``at(yyyy-mm-ddThh:mm:ss)`` fires once at that wall time of ``tz``.
"""

from __future__ import annotations

from .days import DaySpec
from .expressions import AtExpression, CronExpression, Expression, RateExpression
from .parse import parse_expression

__all__ = [
    "AtExpression", "CronExpression", "DaySpec", "Expression", "RateExpression",
    "parse_expression",
]  # fmt: skip
