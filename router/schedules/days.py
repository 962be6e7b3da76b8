"""Which days of a month a cron expression's day fields allow (L, W, #, lists, ranges)."""

from __future__ import annotations

import calendar
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # AWS day-of-week 1..7
DAY_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
ORDINALS = ("first", "second", "third", "fourth", "fifth")

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


