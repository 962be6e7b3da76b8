"""router.sources.schedule_trigger: the APScheduler 3 trigger over an AWS expression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from router.schedules import parse_expression
from router.sources.schedule_trigger import ExpressionTrigger

START = datetime(2024, 1, 1, 0, 0, 20, tzinfo=UTC)


def test_is_an_apscheduler_trigger() -> None:
    trigger = ExpressionTrigger(parse_expression("rate(1 minute)"), UTC, START)
    assert isinstance(trigger, BaseTrigger)
    assert str(trigger) == "aws[rate(1 minute)]"


def test_rate_counts_from_the_anchor() -> None:
    trigger = ExpressionTrigger(parse_expression("rate(1 minute)"), UTC, START)
    first = trigger.get_next_fire_time(None, START)
    assert first == START + timedelta(minutes=1)
    assert trigger.get_next_fire_time(first, START + timedelta(minutes=1)) == START + timedelta(minutes=2)


def test_first_fire_may_be_now_then_strictly_after_previous() -> None:
    paris = ZoneInfo("Europe/Paris")
    trigger = ExpressionTrigger(parse_expression("cron(0 3 * * ? *)"), paris, START)
    now = datetime(2024, 6, 1, 3, 0, tzinfo=paris)
    assert trigger.get_next_fire_time(None, now) == now
    assert trigger.get_next_fire_time(now, now) == datetime(2024, 6, 2, 3, 0, tzinfo=paris)


def test_at_fires_once() -> None:
    trigger = ExpressionTrigger(parse_expression("at(2024-01-01T00:05:00)"), UTC, START)
    first = trigger.get_next_fire_time(None, START)
    assert first == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    assert trigger.get_next_fire_time(first, first) is None
