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

import calendar
import re
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = [
    "AtExpression", "CronExpression", "DaySpec", "Expression", "RateExpression",
    "parse_expression",
]  # fmt: skip

MINUTE = timedelta(minutes=1)
BEFORE_1970 = datetime(1969, 12, 31, tzinfo=UTC)  # earlier than 1970-01-01 00:00 in every zone
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # AWS day-of-week 1..7
DAY_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
ORDINALS = ("first", "second", "third", "fourth", "fifth")
RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


class Expression(ABC):
    """A parsed schedule expression; ``str()`` gives its canonical text."""

    @abstractmethod
    def next_fire(self, after: datetime, tz: tzinfo, *, anchor: datetime | None = None) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), in ``tz``; None if none."""

    @abstractmethod
    def describe(self) -> str:
        """A sentence for humans: ``every 5 minutes``, ``at 10:15 on the last Friday ...``."""

    def fire_times(self, after: datetime, tz: tzinfo, count: int, *, anchor: datetime | None = None) -> list[datetime]:
        """Up to ``count`` successive fire times after ``after`` (fewer if the schedule ends)."""
        times: list[datetime] = []
        while len(times) < count:
            nxt = self.next_fire(times[-1] if times else after, tz, anchor=anchor)
            if nxt is None:
                break
            times.append(nxt)
        return times


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime; got {value.isoformat()}")
    return value.astimezone(UTC)  # compare in UTC: same-zone comparisons ignore fold


def _wall_to_instant(wall: datetime, tz: tzinfo) -> datetime | None:
    """The instant of a naive wall time in ``tz``: the first one if it happens twice, None
    if it does not happen (inside a spring-forward gap)."""
    aware = wall.replace(tzinfo=tz, fold=0)  # fold=0: the earlier of two occurrences
    instant = aware.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return instant


@dataclass(frozen=True)
class RateExpression(Expression):
    """``rate(value unit)``; ``unit`` is normalised to ``minute``, ``hour`` or ``day``."""

    value: int
    unit: str

    @property
    def period(self) -> timedelta:
        return self.value * RATE_UNITS[self.unit]

    def __str__(self) -> str:
        return f"rate({self.value} {self.unit}{'s' if self.value != 1 else ''})"

    def next_fire(self, after: datetime, tz: tzinfo, *, anchor: datetime | None = None) -> datetime | None:
        """Fire times are ``anchor + k * period`` for k >= 1 (anchor defaults to ``after``)."""
        t = _utc(after, "after")
        start = t if anchor is None else _utc(anchor, "anchor")
        k = 1 if t < start else (t - start) // self.period + 1
        try:
            return (start + k * self.period).astimezone(tz)
        except OverflowError:
            return None

    def describe(self) -> str:
        unit = self.unit if self.value == 1 else f"{self.value} {self.unit}s"
        hours = " (24 hours each)" if self.unit == "day" else ""
        return f"every {unit}{hours}, counted from when the schedule starts"


@dataclass(frozen=True)
class AtExpression(Expression):
    """``at(yyyy-mm-ddThh:mm:ss)``: once, at a naive wall time read in the schedule's zone."""

    when: datetime

    def __str__(self) -> str:
        return f"at({self.when.isoformat()})"

    def next_fire(self, after: datetime, tz: tzinfo, *, anchor: datetime | None = None) -> datetime | None:
        # fold=0: a repeated wall time is its first occurrence; one inside a DST gap reads
        # with the offset before the gap (02:30 -> 03:30 DST), as PEP 495 and java.time do.
        t = _utc(after, "after")
        try:
            instant = self.when.replace(tzinfo=tz, fold=0).astimezone(UTC)
        except OverflowError:  # at(0001-01-01T00:00:00) east of UTC
            return None
        return instant.astimezone(tz) if instant > t else None

    def describe(self) -> str:
        return f"once, at {self.when.isoformat(' ')} (schedule time zone)"


# --- days of a month ----------------------------------------------------------------------


def _aws_weekday(py_weekday: int) -> int:
    """Python's Monday=0..Sunday=6 -> AWS's SUN=1..SAT=7."""
    return (py_weekday + 1) % 7 + 1


def _py_weekday(aws_weekday: int) -> int:
    return (aws_weekday - 2) % 7


class DaySpec(ABC):
    """Which days of a given month match (the day-of-month or day-of-week field)."""

    @abstractmethod
    def days(self, year: int, month: int) -> list[int]:
        """The matching days of that month, ascending."""

    @abstractmethod
    def describe(self) -> str: ...


@dataclass(frozen=True)
class MonthDays(DaySpec):
    values: tuple[int, ...]

    def days(self, year: int, month: int) -> list[int]:
        last = calendar.monthrange(year, month)[1]
        return [d for d in self.values if d <= last]

    def describe(self) -> str:
        if len(self.values) == 31:
            return "every day"
        return f"on day {_compact(self.values)} of the month"


@dataclass(frozen=True)
class LastDay(DaySpec):
    """``L`` (the last day of the month) or ``LW`` (its last weekday)."""

    weekday_only: bool = False

    def days(self, year: int, month: int) -> list[int]:
        first, last = calendar.monthrange(year, month)
        if self.weekday_only:
            last -= max(0, (first + last - 1) % 7 - 4)  # Saturday -> 1 back, Sunday -> 2
        return [last]

    def describe(self) -> str:
        kind = "weekday (Monday-Friday)" if self.weekday_only else "day"
        return f"on the last {kind} of the month"


@dataclass(frozen=True)
class NearestWeekday(DaySpec):
    """``15W``: the weekday nearest the 15th, within the same month."""

    day: int

    def days(self, year: int, month: int) -> list[int]:
        first, last = calendar.monthrange(year, month)
        if self.day > last:
            return []  # a month without that day has no fire, as for a plain number
        weekday = (first + self.day - 1) % 7
        if weekday == 5:  # Saturday: the Friday before, or Monday 3rd if it is the 1st
            return [self.day - 1 if self.day > 1 else self.day + 2]
        if weekday == 6:  # Sunday: the Monday after, or Friday if it is the last day
            return [self.day + 1 if self.day < last else self.day - 2]
        return [self.day]

    def describe(self) -> str:
        return f"on the weekday nearest day {self.day} of the month"


@dataclass(frozen=True)
class WeekDays(DaySpec):
    values: tuple[int, ...]  # AWS numbering: 1=SUN .. 7=SAT

    def days(self, year: int, month: int) -> list[int]:
        first, last = calendar.monthrange(year, month)
        wanted = set(self.values)
        return [d for d in range(1, last + 1) if _aws_weekday((first + d - 1) % 7) in wanted]

    def describe(self) -> str:
        if len(self.values) == 7:
            return "every day"
        return "on " + _compact(self.values, lambda v: DAY_WORDS[v - 1])


@dataclass(frozen=True)
class NthWeekday(DaySpec):
    """``3#2`` (the second Tuesday) or, with ``nth`` 0, ``6L`` (the last Friday)."""

    weekday: int
    nth: int

    def days(self, year: int, month: int) -> list[int]:
        first, last = calendar.monthrange(year, month)
        target = _py_weekday(self.weekday)
        if self.nth == 0:
            return [last - ((first + last - 1) % 7 - target) % 7]
        day = 1 + (target - first) % 7 + 7 * (self.nth - 1)
        return [day] if day <= last else []

    def describe(self) -> str:
        which = "last" if self.nth == 0 else ORDINALS[self.nth - 1]
        return f"on the {which} {DAY_WORDS[self.weekday - 1]} of the month"


def _compact(values: tuple[int, ...], show: Callable[[int], str] = str) -> str:
    """``1,2,3,5`` -> ``1-3,5``; an arithmetic run ``0,15,30,45`` -> ``0-45 every 15``."""
    steps = {b - a for a, b in zip(values, values[1:], strict=False)}
    if len(values) >= 3 and len(steps) == 1 and min(steps) > 1:
        return f"{show(values[0])}-{show(values[-1])} every {min(steps)}"
    runs: list[str] = []
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[i - 1] + 1:
            lo, hi = values[start], values[i - 1]
            runs.append(show(lo) if lo == hi else f"{show(lo)}-{show(hi)}")
            start = i
    return ",".join(runs) if show is str else ", ".join(runs)


# --- cron ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronExpression(Expression):
    """Six fields as sorted value tuples, the day rule, and the original text."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DaySpec
    months: tuple[int, ...]
    years: tuple[int, ...]
    text: str

    def __str__(self) -> str:
        return self.text

    def next_fire(self, after: datetime, tz: tzinfo, *, anchor: datetime | None = None) -> datetime | None:
        t = _utc(after, "after")
        if t.year > self.years[-1] + 1:
            return None
        # no year before 1970 matches: start the walk there (which also keeps far dates in range)
        local = max(t, BEFORE_1970).astimezone(tz)
        wall = local.replace(tzinfo=None, fold=0, second=0, microsecond=0) + MINUTE
        while (candidate := self.next_wall_time(wall)) is not None:
            instant = _wall_to_instant(candidate, tz)
            if instant is not None and instant > t:
                return instant.astimezone(tz)
            wall = candidate + MINUTE  # in a DST gap, or the first pass of a repeated hour
        return None

    def next_wall_time(self, start: datetime) -> datetime | None:
        """The first naive wall time at or after ``start`` (whole minutes) that matches.
        Steps field by field (year, month, day, hour, minute), never minute by minute."""
        for year in self.years[bisect_left(self.years, start.year) :]:
            in_year = year == start.year
            for month in self.months[bisect_left(self.months, start.month if in_year else 1) :]:
                in_month = in_year and month == start.month
                for day in self.days.days(year, month):
                    if in_month and day < start.day:
                        continue
                    in_day = in_month and day == start.day
                    for hour in self.hours[bisect_left(self.hours, start.hour if in_day else 0) :]:
                        low = start.minute if in_day and hour == start.hour else 0
                        i = bisect_left(self.minutes, low)
                        if i < len(self.minutes):
                            return datetime(year, month, day, hour, self.minutes[i])
        return None

    def describe(self) -> str:
        parts = [self._describe_time(), self.days.describe()]
        if len(self.months) < 12:
            parts.append("in " + _compact(self.months, lambda v: calendar.month_name[v]))
        if len(self.years) < 230:
            parts.append("in " + _compact(self.years))
        return ", ".join(parts)

    def _describe_time(self) -> str:
        minutes, hours = self.minutes, self.hours
        if len(minutes) * len(hours) <= 4:
            return "at " + ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
        steps = {b - a for a, b in zip(minutes, minutes[1:], strict=False)}
        if len(steps) == 1 and minutes[0] < min(steps) and minutes[-1] + min(steps) >= 60:
            step = min(steps)
            text = f"every {step} minutes" if step > 1 else "every minute"
            text += f" from minute {minutes[0]}" if minutes[0] else ""
            joint = " during hour "
        else:
            text, joint = f"at minute {_compact(minutes)}", " of hour "
        if len(hours) == 24:
            return text + (" of every hour" if joint == " of hour " else "")
        return text + joint + _compact(hours)


# --- parsing ------------------------------------------------------------------------------

_FORM = re.compile(r"(rate|cron|at)\((.*)\)", re.DOTALL)
_AT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})")
_NUMBER = re.compile(r"[0-9]+")
_DAY = r"([0-9]+|[A-Z]{3})"  # a day-of-week value before L or #
CRON_FIELDS = "minutes hours day-of-month month day-of-week year"


def parse_expression(text: str) -> Expression:
    """Parse ``rate(...)``, ``cron(...)`` or ``at(...)``; ValueError names the field and why.

    >>> parse_expression("cron(15 10 ? * 6L 2019-2022)").describe()
    'at 10:15, on the last Friday of the month, in 2019-2022'
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty schedule expression; expected rate(...), cron(...) or at(...)")
    match = _FORM.fullmatch(stripped)
    if match is None:
        head = stripped.partition("(")[0].strip()
        if head in ("rate", "cron", "at"):
            raise ValueError(f"{head}(...) must end with ')' and have nothing after it")
        raise ValueError(f"expected rate(...), cron(...) or at(...); got {stripped!r}")
    kind, body = match.groups()
    if kind == "rate":
        return _parse_rate(body)
    if kind == "at":
        return _parse_at(body)
    return _parse_cron(body)


def _parse_rate(body: str) -> RateExpression:
    parts = body.split()
    if len(parts) != 2:
        raise ValueError(f"rate() takes a value and a unit, as in rate(5 minutes); got rate({body})")
    value_text, unit = parts
    if not _NUMBER.fullmatch(value_text) or int(value_text) < 1:
        raise ValueError(f"rate(): the value must be a positive whole number; got {value_text!r}")
    value = int(value_text)
    singular = unit.removesuffix("s")
    if singular not in RATE_UNITS:
        raise ValueError(f"rate(): unknown unit {unit!r}; expected minute(s), hour(s) or day(s)")
    # The unit is singular for 1 and plural above it (eb-scheduled-rule-pattern, "Limitations").
    if value == 1 and unit != singular:
        raise ValueError(f"rate(1 {unit}): the unit must be singular for 1; use rate(1 {singular})")
    if value > 1 and unit == singular:
        raise ValueError(f"rate({value} {unit}): the unit must be plural for a value over 1; use rate({value} {unit}s)")
    expression = RateExpression(value, singular)
    try:
        datetime(1970, 1, 1, tzinfo=UTC) + expression.period
    except OverflowError:
        raise ValueError(f"rate(): {value} {unit} is too long a period") from None
    return expression


def _parse_at(body: str) -> AtExpression:
    match = _AT.fullmatch(body)
    if match is None:
        raise ValueError(f"at(): expected at(yyyy-mm-ddThh:mm:ss), as in at(2026-11-22T03:00:00); got at({body})")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        when = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"at({body}): not a real date and time ({exc})") from None
    return AtExpression(when)


def _parse_cron(body: str) -> CronExpression:
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(f"cron() needs 6 fields ({CRON_FIELDS}); got {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    minutes = _values("minutes", minute, 0, 59)
    hours = _values("hours", hour, 0, 23)
    day_of_month = _day_of_month(dom.upper())
    months = _values("month", month.upper(), 1, 12, MONTH_NAMES)
    day_of_week = _day_of_week(dow.upper())
    years = _values("year", year, 1970, 2199, wrap=False)
    if day_of_month is None and day_of_week is None:
        raise ValueError("day-of-month and day-of-week cannot both be ?; specify one, ? the other")
    if day_of_month is not None and day_of_week is not None:
        raise ValueError("day-of-month and day-of-week cannot both be specified; use ? in one")
    days = day_of_month or day_of_week
    assert days is not None
    return CronExpression(minutes, hours, days, months, years, f"cron({' '.join(fields)})")


def _day_of_month(text: str) -> DaySpec | None:
    if text == "?":
        return None
    if text in ("L", "LW"):
        return LastDay(weekday_only=text == "LW")
    if match := re.fullmatch(r"([0-9]+)W", text):
        return NearestWeekday(_value("day-of-month", match[1], 1, 31))
    if "#" in text:
        raise ValueError("day-of-month: '#' is only allowed in day-of-week")
    if "?" in text:
        raise ValueError(f"day-of-month: '?' must be the whole field; got {text!r}")
    if "L" in text or "W" in text:
        raise ValueError(
            f"day-of-month: L and W must be the whole field (L, LW, or a day and W as in 15W); got {text!r}"
        )
    return MonthDays(_values("day-of-month", text, 1, 31))


def _day_of_week(text: str) -> DaySpec | None:
    field = "day-of-week"
    if text == "?":
        return None
    if text == "L":  # L alone is the last day of the week: Saturday (7)
        return WeekDays((7,))
    if match := re.fullmatch(_DAY + "L", text):
        return NthWeekday(_value(field, match[1], 1, 7, DAY_NAMES), 0)
    if match := re.fullmatch(_DAY + "#([0-9]+)", text):
        weekday = _value(field, match[1], 1, 7, DAY_NAMES)
        if not 1 <= int(match[2]) <= 5:
            raise ValueError(f"{field}: in {text}, the number after # must be 1-5")
        return NthWeekday(weekday, int(match[2]))
    if "#" in text:  # "3#1,6#3" is invalid: it is read as two expressions (eb-cron-expressions)
        raise ValueError(f"{field}: # takes one day and one number, as in 3#2 (no lists or ranges); got {text!r}")
    if "?" in text:
        raise ValueError(f"{field}: '?' must be the whole field; got {text!r}")
    if "L" in text:
        raise ValueError(f"{field}: L must be the whole field (L, or a day and L as in 6L); got {text!r}")
    if "/" in text:  # AWS lists , - * ? L # for day-of-week (eb-cron-expressions)
        raise ValueError(f"{field}: '/' is not allowed here (allowed: , - * ? L #)")
    return WeekDays(_values(field, text, 1, 7, DAY_NAMES))


def _values(
    field: str, text: str, lo: int, hi: int, names: tuple[str, ...] = (), *, wrap: bool = True
) -> tuple[int, ...]:
    """A list field (``,`` ``-`` ``*`` ``/``) as its sorted values. A range may wrap around
    (hours ``20-2``, as in the AWS examples; ``FRI-MON``), except in the year field."""
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError(f"{field}: empty entry in the list {text!r}")
        base, slash, step_text = item.partition("/")
        if slash and (not _NUMBER.fullmatch(step_text) or int(step_text) == 0):
            raise ValueError(f"{field}: the increment after / must be a positive number in {item!r}")
        if base == "*":
            run = list(range(lo, hi + 1))
        elif "-" in base:
            low, _, high = base.partition("-")
            start, end = _value(field, low, lo, hi, names), _value(field, high, lo, hi, names)
            if start <= end:
                run = list(range(start, end + 1))
            elif wrap:  # 20-2 is 20..23 then 0..2
                run = [*range(start, hi + 1), *range(lo, end + 1)]
            else:
                raise ValueError(f"{field}: the range {base} runs backwards")
        else:
            first = _value(field, base, lo, hi, names)
            run = list(range(first, hi + 1)) if slash else [first]
        values.update(run[:: int(step_text) if slash else 1])
    return tuple(sorted(values))


def _value(field: str, token: str, lo: int, hi: int, names: tuple[str, ...] = ()) -> int:
    if _NUMBER.fullmatch(token):
        if not lo <= int(token) <= hi:
            raise ValueError(f"{field}: {token} is out of range {lo}-{hi}")
        return int(token)
    if token in names:
        return names.index(token) + 1
    if token == "?" or "?" in token:
        raise ValueError(f"{field}: '?' is only allowed in day-of-month and day-of-week")
    if "#" in token:
        raise ValueError(f"{field}: '#' is only allowed in day-of-week")
    if re.fullmatch(r"[0-9]*L|LW", token.upper()):
        raise ValueError(f"{field}: 'L' is only allowed in day-of-month and day-of-week")
    if re.fullmatch(r"[0-9]*W", token.upper()):
        raise ValueError(f"{field}: 'W' is only allowed in day-of-month")
    if not token:
        raise ValueError(f"{field}: a range needs a value on both sides of -")
    expected = f"{lo}-{hi}" + (f" or {names[0]}-{names[-1]}" if names else "")
    raise ValueError(f"{field}: {token!r} is not a valid value; expected {expected}")
