"""router.schedules: parsing AWS schedule expressions and computing their fire times.

Sources of the expectations (every expected time below was worked out by hand from a calendar,
not produced by the code under test):

- AWS cron/rate rules and examples: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
  (also eb-create-rule-schedule.md in github.com/awsdocs/amazon-eventbridge-user-guide).
- EventBridge Scheduler time zones and DST (a wall time that does not exist is skipped, one that
  happens twice fires once; a rate day is 24 hours):
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#daylist-savings-time
  and https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.schedules import (
    AtExpression,
    CronExpression,
    RateExpression,
    parse_expression,
)

END = "END"  # last item of an expected list: the schedule fires no more after these


# (expression, time zone, after, anchor for rate(), expected fire times [, END])
CASES = [
    # --- the AWS documentation's own examples (eb-cron-expressions.html) -----------------
    ("cron(0 10 * * ? *)", "UTC", "2024-01-01T10:00:00+00:00", None,
     ["2024-01-02T10:00:00+00:00", "2024-01-03T10:00:00+00:00"]),
    ("cron(15 12 * * ? *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-01T12:15:00+00:00", "2024-01-02T12:15:00+00:00"]),
    # 2024-01-05 is a Friday, 2024-01-08 a Monday
    ("cron(0 18 ? * MON-FRI *)", "UTC", "2024-01-05T18:00:00+00:00", None,
     ["2024-01-08T18:00:00+00:00", "2024-01-09T18:00:00+00:00"]),
    ("cron(0 8 1 * ? *)", "UTC", "2024-01-01T08:00:00+00:00", None,
     ["2024-02-01T08:00:00+00:00", "2024-03-01T08:00:00+00:00"]),
    ("cron(0/15 * * * ? *)", "UTC", "2024-01-01T00:07:00+00:00", None,
     ["2024-01-01T00:15:00+00:00", "2024-01-01T00:30:00+00:00", "2024-01-01T00:45:00+00:00",
      "2024-01-01T01:00:00+00:00"]),
    ("cron(0/10 * ? * MON-FRI *)", "UTC", "2024-01-05T23:45:00+00:00", None,
     ["2024-01-05T23:50:00+00:00", "2024-01-08T00:00:00+00:00"]),
    ("cron(0/5 8-17 ? * MON-FRI *)", "UTC", "2024-01-05T17:52:00+00:00", None,
     ["2024-01-05T17:55:00+00:00", "2024-01-08T08:00:00+00:00"]),
    # hours 20-2 wrap around midnight; the day-of-week is that of the calendar day (Quartz):
    # Saturday 00:00 does not fire, Monday 00:00 does.
    ("cron(0/30 20-2 ? * MON-FRI *)", "UTC", "2024-01-05T23:40:00+00:00", None,
     ["2024-01-08T00:00:00+00:00", "2024-01-08T00:30:00+00:00", "2024-01-08T01:00:00+00:00"]),
    ("cron(0 12 * * ? *)", "UTC", "2024-01-01T12:00:00+00:00", None,
     ["2024-01-02T12:00:00+00:00"]),
    ("cron(5,35 14 * * ? *)", "UTC", "2024-01-01T14:05:00+00:00", None,
     ["2024-01-01T14:35:00+00:00", "2024-01-02T14:05:00+00:00"]),
    # last Friday of each month, 2019-2022: Oct 28, Nov 25, Dec 30 2022, then no more
    ("cron(15 10 ? * 6L 2019-2022)", "UTC", "2022-10-01T00:00:00+00:00", None,
     ["2022-10-28T10:15:00+00:00", "2022-11-25T10:15:00+00:00", "2022-12-30T10:15:00+00:00", END]),
    ("rate(1 minute)", "UTC", "2024-01-01T00:00:30+00:00", "2024-01-01T00:00:30+00:00",
     ["2024-01-01T00:01:30+00:00", "2024-01-01T00:02:30+00:00"]),
    ("rate(5 minutes)", "UTC", "2024-01-01T00:12:00+00:00", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T00:15:00+00:00", "2024-01-01T00:20:00+00:00"]),
    ("rate(1 hour)", "UTC", "2024-01-01T10:20:00+00:00", "2024-01-01T10:20:00+00:00",
     ["2024-01-01T11:20:00+00:00", "2024-01-01T12:20:00+00:00"]),
    ("rate(1 day)", "UTC", "2024-02-28T09:00:00+00:00", None,
     ["2024-02-29T09:00:00+00:00", "2024-03-01T09:00:00+00:00"]),
    # --- rate(): counted from the anchor, not from round minutes --------------------------
    ("rate(7 minutes)", "UTC", "2024-01-01T00:00:00+00:00", "2024-01-01T00:03:11+00:00",
     ["2024-01-01T00:10:11+00:00", "2024-01-01T00:17:11+00:00"]),  # after < anchor
    ("rate(2 hours)", "UTC", "2024-01-01T05:00:00+00:00", "2024-01-01T00:30:00+00:00",
     ["2024-01-01T06:30:00+00:00", "2024-01-01T08:30:00+00:00"]),
    ("rate(3 days)", "Europe/Paris", "2024-01-10T00:00:00+01:00", "2024-01-01T06:00:00+01:00",
     ["2024-01-10T06:00:00+01:00", "2024-01-13T06:00:00+01:00"]),
    # a rate day is 24 hours, also across a DST change (repost eventbridge-scheduler-adjust-dst)
    ("rate(1 day)", "America/New_York", "2024-03-09T12:00:00-05:00", "2024-03-09T12:00:00-05:00",
     ["2024-03-10T13:00:00-04:00", "2024-03-11T13:00:00-04:00"]),
    # --- at(): once, in the schedule's time zone -----------------------------------------
    ("at(2024-05-01T09:00:00)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-05-01T09:00:00+00:00", END]),
    ("at(2024-05-01T09:00:00)", "Europe/Paris", "2024-01-01T00:00:00+00:00", None,
     ["2024-05-01T09:00:00+02:00", END]),
    ("at(2024-05-01T09:00:00)", "UTC", "2024-05-01T09:00:00+00:00", None, [END]),
    ("at(2024-03-10T02:30:00)", "America/New_York", "2024-03-01T00:00:00+00:00", None,
     ["2024-03-10T03:30:00-04:00", END]),  # inside the gap: read with the offset before it
    ("at(2024-11-03T01:30:00)", "America/New_York", "2024-11-01T00:00:00+00:00", None,
     ["2024-11-03T01:30:00-04:00", END]),  # happens twice: the first one
    # --- L, W, # and the other special characters ----------------------------------------
    ("cron(0 0 L * ? *)", "UTC", "2024-01-31T00:00:00+00:00", None,
     ["2024-02-29T00:00:00+00:00", "2024-03-31T00:00:00+00:00", "2024-04-30T00:00:00+00:00"]),
    ("cron(0 0 L * ? *)", "UTC", "2023-01-31T00:00:00+00:00", None,
     ["2023-02-28T00:00:00+00:00", "2023-03-31T00:00:00+00:00"]),
    # last weekday: Jun 30 2024 is a Sunday, Aug 31 a Saturday
    ("cron(0 12 LW * ? *)", "UTC", "2024-06-01T00:00:00+00:00", None,
     ["2024-06-28T12:00:00+00:00", "2024-07-31T12:00:00+00:00", "2024-08-30T12:00:00+00:00"]),
    # nearest weekday: Jun 15 2024 is a Saturday, Sep 15 a Sunday
    ("cron(0 9 15W * ? *)", "UTC", "2024-06-01T00:00:00+00:00", None,
     ["2024-06-14T09:00:00+00:00", "2024-07-15T09:00:00+00:00", "2024-08-15T09:00:00+00:00",
      "2024-09-16T09:00:00+00:00"]),
    # W never leaves the month: Sat Jun 1 2024 -> Mon Jun 3; Sun Mar 31 2024 -> Fri Mar 29
    ("cron(0 9 1W * ? *)", "UTC", "2024-05-02T00:00:00+00:00", None,
     ["2024-06-03T09:00:00+00:00", "2024-07-01T09:00:00+00:00"]),
    ("cron(0 9 31W * ? *)", "UTC", "2024-03-01T00:00:00+00:00", None,
     ["2024-03-29T09:00:00+00:00", "2024-05-31T09:00:00+00:00"]),  # April has no 31st
    ("cron(0 12 ? * 3#2 *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-09T12:00:00+00:00", "2024-02-13T12:00:00+00:00"]),  # second Tuesday
    ("cron(0 12 ? * 6#5 *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-03-29T12:00:00+00:00", "2024-05-31T12:00:00+00:00", "2024-08-30T12:00:00+00:00"]),
    ("cron(30 7 ? * MON#1 *)", "UTC", "2024-01-01T07:30:00+00:00", None,
     ["2024-02-05T07:30:00+00:00", "2024-03-04T07:30:00+00:00"]),
    ("cron(0 12 ? * L *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-06T12:00:00+00:00", "2024-01-13T12:00:00+00:00"]),  # L alone: Saturday
    ("cron(0 12 ? * FRIL *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-26T12:00:00+00:00", "2024-02-23T12:00:00+00:00"]),
    ("cron(0 12 ? * FRI-MON *)", "UTC", "2024-01-01T12:00:00+00:00", None,
     ["2024-01-05T12:00:00+00:00", "2024-01-06T12:00:00+00:00", "2024-01-07T12:00:00+00:00",
      "2024-01-08T12:00:00+00:00"]),
    ("cron(0 12 ? * 1,4 *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-03T12:00:00+00:00", "2024-01-07T12:00:00+00:00"]),  # 1 = SUN, 4 = WED
    ("cron(0 0 1 NOV-FEB ? *)", "UTC", "2024-02-01T00:00:00+00:00", None,
     ["2024-11-01T00:00:00+00:00", "2024-12-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00",
      "2025-02-01T00:00:00+00:00"]),
    ("cron(0 0 1 1/3 ? *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-04-01T00:00:00+00:00", "2024-07-01T00:00:00+00:00", "2024-10-01T00:00:00+00:00",
      "2025-01-01T00:00:00+00:00"]),
    ("cron(*/20 * * * ? *)", "UTC", "2024-01-01T00:50:00+00:00", None,
     ["2024-01-01T01:00:00+00:00", "2024-01-01T01:20:00+00:00"]),
    ("cron(0 1-7/2 * * ? *)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-01T01:00:00+00:00", "2024-01-01T03:00:00+00:00", "2024-01-01T05:00:00+00:00",
      "2024-01-01T07:00:00+00:00", "2024-01-02T01:00:00+00:00"]),
    ("cron(0 22-2/2 * * ? *)", "UTC", "2024-01-01T21:00:00+00:00", None,
     ["2024-01-01T22:00:00+00:00", "2024-01-02T00:00:00+00:00", "2024-01-02T02:00:00+00:00",
      "2024-01-02T22:00:00+00:00"]),
    ("cron(00 07/12 ? * * *)", "UTC", "2024-01-01T08:00:00+00:00", None,
     ["2024-01-01T19:00:00+00:00", "2024-01-02T07:00:00+00:00"]),  # leading zeros
    ("cron(0 12 ? jan mon *)", "UTC", "2024-01-01T12:00:00+00:00", None,
     ["2024-01-08T12:00:00+00:00", "2024-01-15T12:00:00+00:00"]),  # names in any case
    ("cron(* * * * ? *)", "UTC", "2024-01-01T00:00:30+00:00", None,
     ["2024-01-01T00:01:00+00:00", "2024-01-01T00:02:00+00:00"]),
    ("cron(0 0 1 1 ? 2030,2035)", "UTC", "2024-06-01T00:00:00+00:00", None,
     ["2030-01-01T00:00:00+00:00", "2035-01-01T00:00:00+00:00", END]),
    ("cron(0 0 1 1 ? 2024/4)", "UTC", "2024-01-01T00:00:00+00:00", None,
     ["2028-01-01T00:00:00+00:00", "2032-01-01T00:00:00+00:00"]),
    # --- leap years and month ends --------------------------------------------------------
    ("cron(0 0 29 2 ? *)", "UTC", "2024-02-29T00:00:00+00:00", None,
     ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]),
    ("cron(0 0 29 2 ? *)", "UTC", "2096-03-01T00:00:00+00:00", None,
     ["2104-02-29T00:00:00+00:00"]),  # 2100 is not a leap year
    ("cron(0 0 31 * ? *)", "UTC", "2024-01-31T00:00:00+00:00", None,
     ["2024-03-31T00:00:00+00:00", "2024-05-31T00:00:00+00:00", "2024-07-31T00:00:00+00:00",
      "2024-08-31T00:00:00+00:00"]),
    ("cron(0 0 30 2 ? *)", "UTC", "1970-01-01T00:00:00+00:00", None, [END]),  # never
    ("cron(59 23 31 12 ? *)", "UTC", "2199-12-31T23:58:00+00:00", None,
     ["2199-12-31T23:59:00+00:00", END]),  # the last minute AWS can express
    ("cron(59 23 L 12 ? *)", "UTC", "2023-12-31T23:59:00+00:00", None,
     ["2024-12-31T23:59:00+00:00"]),  # New Year's Eve, across a year end
    # --- time zones and DST (EventBridge Scheduler's rules) -------------------------------
    # spring forward: 02:30 does not exist on 2024-03-10 in New York -> skipped
    ("cron(30 2 * * ? *)", "America/New_York", "2024-03-09T03:00:00-05:00", None,
     ["2024-03-11T02:30:00-04:00", "2024-03-12T02:30:00-04:00"]),
    ("cron(0/30 * * * ? *)", "America/New_York", "2024-03-10T01:00:00-05:00", None,
     ["2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"]),
    # fall back: 01:30 happens twice on 2024-11-03 -> fires once, the first time
    ("cron(30 1 * * ? *)", "America/New_York", "2024-11-02T12:00:00-04:00", None,
     ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]),
    ("cron(0/30 * * * ? *)", "America/New_York", "2024-11-03T00:45:00-04:00", None,
     ["2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-03T02:00:00-05:00",
      "2024-11-03T02:30:00-05:00"]),
    # asked from inside the repeated hour: its wall times have fired already
    ("cron(0/30 * * * ? *)", "America/New_York", "2024-11-03T01:10:00-05:00", None,
     ["2024-11-03T02:00:00-05:00"]),
    ("cron(30 1 * * ? *)", "Europe/London", "2024-03-30T12:00:00+00:00", None,
     ["2024-04-01T01:30:00+01:00"]),  # 01:00-02:00 skipped on 2024-03-31
    # Lord Howe moves by 30 minutes: 02:00-02:30 does not exist on 2024-10-06
    ("cron(15 2 * * ? *)", "Australia/Lord_Howe", "2024-10-05T12:00:00+10:30", None,
     ["2024-10-07T02:15:00+11:00"]),
    # southern hemisphere fall back: 02:00-03:00 repeats in Sydney on 2024-04-07
    ("cron(30 2 * * ? *)", "Australia/Sydney", "2024-04-06T12:00:00+11:00", None,
     ["2024-04-07T02:30:00+11:00", "2024-04-08T02:30:00+10:00"]),
    ("cron(0 9 * * ? *)", "Asia/Kathmandu", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-01T09:00:00+05:45", "2024-01-02T09:00:00+05:45"]),
    # the same instant given in another zone: evaluated on the schedule's wall clock
    ("cron(0 9 * * ? *)", "Asia/Tokyo", "2024-01-01T00:00:00+00:00", None,
     ["2024-01-02T09:00:00+09:00"]),
]  # fmt: skip


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@pytest.mark.parametrize(("text", "zone", "after", "anchor", "expected"), CASES)
def test_fire_times(text: str, zone: str, after: str, anchor: str | None, expected: list[str]) -> None:
    expression = parse_expression(text)
    start = _dt(after)
    assert start is not None
    ends = expected[-1:] == [END]
    wanted = [t for t in expected if t != END]
    count = len(wanted) + (1 if ends else 0)
    times = expression.fire_times(start, ZoneInfo(zone), count, anchor=_dt(anchor))
    assert [t.isoformat() for t in times] == wanted
    assert all(t.tzinfo is not None and t.tzinfo.utcoffset(t) == t.utcoffset() for t in times)


def test_case_table_is_large_and_covers_every_special_character() -> None:
    assert len(CASES) >= 40
    crons = " ".join(text for text, *_ in CASES if text.startswith("cron("))
    for char in ", - * ? / L W #".split():
        assert char in crons


def test_next_fire_is_strictly_after_and_in_the_given_zone() -> None:
    expression = parse_expression("cron(0 12 * * ? *)")
    paris = ZoneInfo("Europe/Paris")
    noon = datetime(2024, 6, 1, 12, 0, tzinfo=paris)
    nxt = expression.next_fire(noon, paris)
    assert nxt == datetime(2024, 6, 2, 12, 0, tzinfo=paris)
    assert nxt is not None and nxt.tzinfo is paris
    just_before = noon - timedelta(microseconds=1)
    assert expression.next_fire(just_before, paris) == noon


def test_after_may_be_in_any_zone_and_tz_may_be_a_fixed_offset() -> None:
    expression = parse_expression("cron(0 12 * * ? *)")
    plus2 = timezone(timedelta(hours=2))
    after = datetime(2024, 6, 1, 9, 59, tzinfo=UTC)  # 11:59 at +02:00
    nxt = expression.next_fire(after, plus2)
    assert nxt is not None and nxt.isoformat() == "2024-06-01T12:00:00+02:00"


def test_naive_datetimes_are_refused() -> None:
    for text in ("cron(0 12 * * ? *)", "rate(5 minutes)", "at(2030-01-01T00:00:00)"):
        with pytest.raises(ValueError, match="after must be a timezone-aware datetime"):
            parse_expression(text).next_fire(datetime(2024, 1, 1), UTC)
    with pytest.raises(ValueError, match="anchor must be a timezone-aware datetime"):
        parse_expression("rate(5 minutes)").next_fire(
            datetime(2024, 1, 1, tzinfo=UTC), UTC, anchor=datetime(2024, 1, 1)
        )


def test_rate_without_anchor_counts_from_after() -> None:
    after = datetime(2024, 1, 1, 0, 0, 42, tzinfo=UTC)
    assert parse_expression("rate(5 minutes)").next_fire(after, UTC) == after + timedelta(minutes=5)


def test_rate_beyond_the_calendar_returns_none() -> None:
    after = datetime(9999, 12, 1, tzinfo=UTC)
    assert parse_expression("rate(100 days)").next_fire(after, UTC) is None


def test_year_bounded_cron_far_in_the_future_is_found_by_stepping_fields() -> None:
    # 2196 is the last leap year AWS can express; found without walking 226 years of minutes
    expression = parse_expression("cron(0 0 29 2 ? 2196)")
    nxt = expression.next_fire(datetime(1970, 1, 1, tzinfo=UTC), UTC)
    assert nxt == datetime(2196, 2, 29, tzinfo=UTC)
    assert expression.next_fire(nxt, UTC) is None


@pytest.mark.parametrize(
    ("text", "kind", "canonical"),
    [
        ("rate(5 minutes)", RateExpression(5, "minute"), "rate(5 minutes)"),
        ("  rate(1   hour) ", RateExpression(1, "hour"), "rate(1 hour)"),
        ("rate(2 days)", RateExpression(2, "day"), "rate(2 days)"),
        ("at(2026-11-22T03:00:00)", AtExpression(datetime(2026, 11, 22, 3)), None),
        ("cron(0  3 * * ? *)", None, "cron(0 3 * * ? *)"),
    ],
)
def test_parsed_shape_and_canonical_text(text: str, kind: object, canonical: str | None) -> None:
    expression = parse_expression(text)
    if kind is not None:
        assert expression == kind
    assert str(expression) == (canonical or text.strip())


def test_cron_fields_are_parsed_into_sorted_values() -> None:
    expression = parse_expression("cron(0/20 22-1 ? NOV,JAN MON-WED 2030-2031)")
    assert isinstance(expression, CronExpression)
    assert expression.minutes == (0, 20, 40)
    assert expression.hours == (0, 1, 22, 23)
    assert expression.months == (1, 11)
    assert expression.years == (2030, 2031)
    # January 2030 starts on a Tuesday
    assert expression.days.days(2030, 1) == [1, 2, 7, 8, 9, 14, 15, 16, 21, 22, 23, 28, 29, 30]


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("rate(1 minute)", "every minute, counted from when the schedule starts"),
        ("rate(5 minutes)", "every 5 minutes, counted from when the schedule starts"),
        ("rate(2 days)", "every 2 days (24 hours each), counted from when the schedule starts"),
        ("at(2026-11-22T03:00:00)", "once, at 2026-11-22 03:00:00 (schedule time zone)"),
        ("cron(15 10 ? * 6L 2019-2022)", "at 10:15, on the last Friday of the month, in 2019-2022"),
        ("cron(5,35 14 * * ? *)", "at 14:05, 14:35, every day"),
        ("cron(0/5 8-17 ? * MON-FRI *)", "every 5 minutes during hour 8-17, on Monday-Friday"),
        ("cron(0/15 * * * ? *)", "every 15 minutes, every day"),
        ("cron(* * * * ? *)", "every minute, every day"),
        ("cron(0,5,20 1-3 * * ? *)", "at minute 0,5,20 of hour 1-3, every day"),
        ("cron(7,9 * * * ? *)", "at minute 7,9 of every hour, every day"),
        ("cron(0 8 1 * ? *)", "at 08:00, on day 1 of the month"),
        ("cron(0 0 L 2 ? *)", "at 00:00, on the last day of the month, in February"),
        ("cron(0 0 LW * ? *)", "at 00:00, on the last weekday (Monday-Friday) of the month"),
        ("cron(0 0 15W * ? *)", "at 00:00, on the weekday nearest day 15 of the month"),
        ("cron(0 0 ? * 3#2 *)", "at 00:00, on the second Tuesday of the month"),
        ("cron(0 0 ? * 1,7 *)", "at 00:00, on Sunday, Saturday"),
        ("cron(0 0 1 JAN-MAR,DEC ? *)", "at 00:00, on day 1 of the month, in January-March, December"),
    ],
)  # fmt: skip
def test_describe(text: str, description: str) -> None:
    assert parse_expression(text).describe() == description


# Every message the parser gives, exactly: they are what a user reads in a config error.
ERRORS = [
    ("", "empty schedule expression; expected rate(...), cron(...) or at(...)"),
    ("every 5 minutes", "expected rate(...), cron(...) or at(...); got 'every 5 minutes'"),
    ("Cron(0 12 * * ? *)", "expected rate(...), cron(...) or at(...); got 'Cron(0 12 * * ? *)'"),
    ("cron(0 12 * * ? *", "cron(...) must end with ')' and have nothing after it"),
    ("rate(5 minutes) now", "rate(...) must end with ')' and have nothing after it"),
    # rate()
    ("rate(5)", "rate() takes a value and a unit, as in rate(5 minutes); got rate(5)"),
    ("rate(5 minutes extra)",
     "rate() takes a value and a unit, as in rate(5 minutes); got rate(5 minutes extra)"),
    ("rate(0 minutes)", "rate(): the value must be a positive whole number; got '0'"),
    ("rate(-1 minutes)", "rate(): the value must be a positive whole number; got '-1'"),
    ("rate(1.5 hours)", "rate(): the value must be a positive whole number; got '1.5'"),
    ("rate(2 weeks)", "rate(): unknown unit 'weeks'; expected minute(s), hour(s) or day(s)"),
    ("rate(5 Minutes)", "rate(): unknown unit 'Minutes'; expected minute(s), hour(s) or day(s)"),
    ("rate(1 minutes)", "rate(1 minutes): the unit must be singular for 1; use rate(1 minute)"),
    ("rate(1 hours)", "rate(1 hours): the unit must be singular for 1; use rate(1 hour)"),
    ("rate(5 hour)",
     "rate(5 hour): the unit must be plural for a value over 1; use rate(5 hours)"),
    ("rate(2 day)", "rate(2 day): the unit must be plural for a value over 1; use rate(2 days)"),
    ("rate(99999999999 days)", "rate(): 99999999999 days is too long a period"),
    # at()
    ("at(2026-11-22 03:00:00)", "at(): expected at(yyyy-mm-ddThh:mm:ss), as in "
     "at(2026-11-22T03:00:00); got at(2026-11-22 03:00:00)"),
    ("at(2026-11-22T03:00)", "at(): expected at(yyyy-mm-ddThh:mm:ss), as in "
     "at(2026-11-22T03:00:00); got at(2026-11-22T03:00)"),
    ("at(2023-02-29T00:00:00)",
     "at(2023-02-29T00:00:00): not a real date and time (day is out of range for month)"),
    ("at(2026-01-01T24:00:00)",
     "at(2026-01-01T24:00:00): not a real date and time (hour must be in 0..23)"),
    # cron(): shape
    ("cron(0 12 * * ?)",
     "cron() needs 6 fields (minutes hours day-of-month month day-of-week year); got 5"),
    ("cron(0 0 12 * * ? *)",
     "cron() needs 6 fields (minutes hours day-of-month month day-of-week year); got 7"),
    # the ? rule
    ("cron(0 12 * * 1 *)", "day-of-month and day-of-week cannot both be specified; use ? in one"),
    ("cron(0 12 * * * *)", "day-of-month and day-of-week cannot both be specified; use ? in one"),
    ("cron(0 12 ? * ? *)",
     "day-of-month and day-of-week cannot both be ?; specify one, ? the other"),
    # ranges of values
    ("cron(60 12 * * ? *)", "minutes: 60 is out of range 0-59"),
    ("cron(0 24 * * ? *)", "hours: 24 is out of range 0-23"),
    ("cron(0 12 0 * ? *)", "day-of-month: 0 is out of range 1-31"),
    ("cron(0 12 32 * ? *)", "day-of-month: 32 is out of range 1-31"),
    ("cron(0 12 1 13 ? *)", "month: 13 is out of range 1-12"),
    ("cron(0 12 1 0 ? *)", "month: 0 is out of range 1-12"),
    ("cron(0 12 ? * 0 *)", "day-of-week: 0 is out of range 1-7"),
    ("cron(0 12 ? * 8 *)", "day-of-week: 8 is out of range 1-7"),
    ("cron(0 12 * * ? 1969)", "year: 1969 is out of range 1970-2199"),
    ("cron(0 12 * * ? 2200)", "year: 2200 is out of range 1970-2199"),
    ("cron(0 12 0W * ? *)", "day-of-month: 0 is out of range 1-31"),
    ("cron(0 12 ? * 9L *)", "day-of-week: 9 is out of range 1-7"),
    ("cron(0 12 ? * 0#2 *)", "day-of-week: 0 is out of range 1-7"),
    # bad tokens
    ("cron(x 12 * * ? *)", "minutes: 'x' is not a valid value; expected 0-59"),
    ("cron(0 12 1 JANUARY ? *)",
     "month: 'JANUARY' is not a valid value; expected 1-12 or JAN-DEC"),
    ("cron(0 12 ? * MONDAY *)",
     "day-of-week: 'MONDAY' is not a valid value; expected 1-7 or SUN-SAT"),
    ("cron(0 MON * * ? *)", "hours: 'MON' is not a valid value; expected 0-23"),
    ("cron(0 12 1 * ? 20XX)", "year: '20XX' is not a valid value; expected 1970-2199"),
    # special characters where they are not allowed
    ("cron(? 12 * * ? *)", "minutes: '?' is only allowed in day-of-month and day-of-week"),
    ("cron(0 12 * ? ? *)", "month: '?' is only allowed in day-of-month and day-of-week"),
    ("cron(0 12 * * ? ?)", "year: '?' is only allowed in day-of-month and day-of-week"),
    ("cron(0 12 * L ? *)", "month: 'L' is only allowed in day-of-month and day-of-week"),
    ("cron(L 12 * * ? *)", "minutes: 'L' is only allowed in day-of-month and day-of-week"),
    ("cron(0 5W * * ? *)", "hours: 'W' is only allowed in day-of-month"),
    ("cron(0 12 ? * 5W *)", "day-of-week: 'W' is only allowed in day-of-month"),
    ("cron(0 1#2 * * ? *)", "hours: '#' is only allowed in day-of-week"),
    ("cron(0 12 3#2 * ? *)", "day-of-month: '#' is only allowed in day-of-week"),
    ("cron(0 12 ? * 1/2 *)", "day-of-week: '/' is not allowed here (allowed: , - * ? L #)"),
    # lists, ranges, increments
    ("cron(1,,2 12 * * ? *)", "minutes: empty entry in the list '1,,2'"),
    ("cron(0 12 1, * ? *)", "day-of-month: empty entry in the list '1,'"),
    ("cron(*/0 12 * * ? *)", "minutes: the increment after / must be a positive number in '*/0'"),
    ("cron(5/x 12 * * ? *)", "minutes: the increment after / must be a positive number in '5/x'"),
    ("cron(5/ 12 * * ? *)", "minutes: the increment after / must be a positive number in '5/'"),
    ("cron(0 1- * * ? *)", "hours: a range needs a value on both sides of -"),
    ("cron(0 12 1 1 ? 2022-2019)", "year: the range 2022-2019 runs backwards"),
    # L, W and # must stand alone
    ("cron(0 12 1,L * ? *)", "day-of-month: L and W must be the whole field (L, LW, or a day and "
     "W as in 15W); got '1,L'"),
    ("cron(0 12 L-3 * ? *)", "day-of-month: L and W must be the whole field (L, LW, or a day and "
     "W as in 15W); got 'L-3'"),
    ("cron(0 12 1-15W * ? *)", "day-of-month: L and W must be the whole field (L, LW, or a day "
     "and W as in 15W); got '1-15W'"),
    ("cron(0 12 1? * ? *)", "day-of-month: '?' must be the whole field; got '1?'"),
    ("cron(0 12 ? * 1,? *)", "day-of-week: '?' must be the whole field; got '1,?'"),
    ("cron(0 12 ? * 2,6L *)",
     "day-of-week: L must be the whole field (L, or a day and L as in 6L); got '2,6L'"),
    ("cron(0 12 ? * 3#1,6#3 *)",
     "day-of-week: # takes one day and one number, as in 3#2 (no lists or ranges); "
     "got '3#1,6#3'"),
    ("cron(0 12 ? * 3# *)",
     "day-of-week: # takes one day and one number, as in 3#2 (no lists or ranges); got '3#'"),
    ("cron(0 12 ? * 3#0 *)", "day-of-week: in 3#0, the number after # must be 1-5"),
    ("cron(0 12 ? * 3#6 *)", "day-of-week: in 3#6, the number after # must be 1-5"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_expression(text)
    assert str(info.value) == message


# --- an independent oracle: walk instants minute by minute ---------------------------------


def _brute_force(
    minutes: set[int], hours: set[int], weekdays: set[int] | None, after: datetime, zone: ZoneInfo
) -> datetime:
    """The first whole-minute instant after ``after`` whose wall time matches, counting a
    repeated wall time only on its first pass (fold 0). Weekdays: AWS 1=SUN..7=SAT."""
    t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    while True:
        local = t.astimezone(zone)
        aws_weekday = local.isoweekday() % 7 + 1
        if (
            local.fold == 0
            and local.minute in minutes
            and local.hour in hours
            and (weekdays is None or aws_weekday in weekdays)
        ):
            return local
        t += timedelta(minutes=1)


def _field(values: list[int]) -> str:
    return ",".join(str(v) for v in values)


@settings(max_examples=60, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 59), min_size=1, max_size=4, unique=True),
    hours=st.lists(st.integers(0, 23), min_size=1, max_size=4, unique=True),
    weekdays=st.none() | st.lists(st.integers(1, 7), min_size=1, max_size=3, unique=True),
    zone=st.sampled_from(["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"]),
    after=st.datetimes(datetime(2023, 1, 1), datetime(2026, 12, 31)),
)
def test_cron_matches_a_brute_force_walk(
    minutes: list[int], hours: list[int], weekdays: list[int] | None, zone: str, after: datetime
) -> None:
    tz = ZoneInfo(zone)
    dom, dow = ("*", "?") if weekdays is None else ("?", _field(weekdays))
    text = f"cron({_field(minutes)} {_field(hours)} {dom} * {dow} *)"
    start = after.replace(tzinfo=UTC)
    expected = _brute_force(set(minutes), set(hours), weekdays and set(weekdays), start, tz)
    assert parse_expression(text).next_fire(start, tz) == expected


def test_dates_far_outside_aws_years_do_not_overflow() -> None:
    ny = ZoneInfo("America/New_York")
    daily = parse_expression("cron(0 0 * * ? *)")
    first = daily.next_fire(datetime(1, 1, 1, tzinfo=UTC), ny)
    assert first is not None and first.isoformat() == "1970-01-01T00:00:00-05:00"
    assert daily.next_fire(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), ny) is None
    assert (
        parse_expression("at(0001-01-01T00:00:00)").next_fire(datetime(1, 1, 1, tzinfo=UTC), ZoneInfo("Asia/Tokyo"))
        is None
    )
