"""The three kinds of AWS schedule expression and their fire times."""

from __future__ import annotations

import calendar
from abc import ABC, abstractmethod
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from .days import DaySpec, _compact

MINUTE = timedelta(minutes=1)
BEFORE_1970 = datetime(1969, 12, 31, tzinfo=UTC)  # earlier than 1970-01-01 00:00 in every zone
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


