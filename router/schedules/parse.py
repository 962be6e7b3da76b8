"""``parse_expression``: text to an Expression, or a ValueError naming the field and why."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .days import DAY_NAMES, MONTH_NAMES, DaySpec, LastDay, MonthDays, NearestWeekday, NthWeekday, WeekDays
from .expressions import RATE_UNITS, AtExpression, CronExpression, Expression, RateExpression

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

