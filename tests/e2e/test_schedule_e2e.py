"""Schedules end to end: the real App (dispatcher, Python workers) under a manual clock.

``Router(..., clock="manual")`` and ``r.advance(seconds)`` move time without waiting; each
fire becomes an asynchronous invocation of a real Python handler whose event is checked
with powertools' EventBridgeModel."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from router import Router
from router.invocation import Invocation

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schedule"
CONFIG = """\
version: 1
settings: {region: eu-central-1, account: "210987654321"}
functions:
  tick: {handler: handler.handler, code: code}
  nightly_fn: {handler: handler.handler, code: code}
  quarter_fn: {handler: handler.handler, code: code}
triggers:
  - {name: beat, function: tick, schedule: rate(1 minute)}
  - name: nightly
    function: nightly_fn
    schedule: {expression: "cron(0 3 * * ? *)", timezone: Europe/Paris, input: {kind: nightly}}
  - {name: quarter, function: quarter_fn, schedule: "cron(0/15 * * * ? *)"}
"""


@pytest.fixture()
def router(tmp_path: Path) -> Iterator[Router]:
    shutil.copytree(FIXTURE, tmp_path / "code", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "triggers.yaml").write_text(CONFIG)
    with Router(tmp_path / "triggers.yaml", clock="manual") as r:
        yield r


def scheduled(inv: Invocation, rule: str) -> datetime:
    """Check a Scheduled Event invocation; its ``time``."""
    assert inv.ok, inv.summary()
    assert inv.source == "schedule"
    assert inv.result["event"] == inv.event  # what the handler received
    event = EventBridgeModel.model_validate(inv.event)
    assert event.detail_type == "Scheduled Event" and event.source == "aws.events"
    assert event.resources == [f"arn:aws:events:eu-central-1:210987654321:rule/{rule}"]
    assert (event.account, event.region, event.detail) == ("210987654321", "eu-central-1", {})
    assert inv.event["time"].endswith("Z") and "." not in inv.event["time"]
    return event.time


def test_rate_one_minute_gives_one_invocation_per_advanced_minute(router: Router) -> None:
    times = []
    for _ in range(3):
        router.advance(60)
        times.append(scheduled(router.wait("tick", timeout=30), "beat"))
    router.advance(59)  # not yet a minute since the last fire
    router.advance(1)
    times.append(scheduled(router.wait("tick", timeout=30), "beat"))
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [timedelta(minutes=1)] * 3
    beats = router.invocations(trigger="beat")
    assert len(beats) == 4 and len({i.event["id"] for i in beats}) == 4
    assert [i.result["function"] for i in beats] == ["tick"] * 4
    assert all(i.result["region"] == "eu-central-1" for i in beats)


def test_fire_with_and_without_input(router: Router) -> None:
    router.fire("beat")
    now = scheduled(router.wait("tick", timeout=30), "beat")
    assert abs(now - datetime.fromtimestamp(router.clock.time(), UTC)) < timedelta(seconds=1)

    router.fire("beat", input={"custom": [1, 2]})
    assert router.wait("tick", timeout=30).event == {"custom": [1, 2]}

    router.fire("nightly")  # the trigger's constant input replaces the whole event
    assert router.wait("nightly_fn", timeout=30).event == {"kind": "nightly"}
    router.fire("nightly_fn", input="override")  # a function with one trigger names it too
    inv = router.wait("nightly_fn", timeout=30)
    assert inv.event == "override" and inv.trigger == "nightly"


def test_cron_fires_when_advance_reaches_its_next_time(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "code", ignore=shutil.ignore_patterns("__pycache__"))
    crons = "\n".join(line for line in CONFIG.splitlines() if "rate(1 minute)" not in line)
    (tmp_path / "triggers.yaml").write_text(crons + "\n")
    with Router(tmp_path / "triggers.yaml", clock="manual") as router:
        source = router.app.source("schedule")
        quarter, nightly = source.next_fire("quarter"), source.next_fire("nightly")
        assert quarter.minute % 15 == 0 and quarter.second == 0
        assert (nightly.hour, nightly.minute) == (3, 0) and str(nightly.tzinfo) == "Europe/Paris"
        router.advance(quarter.timestamp() - router.clock.time())
        assert scheduled(router.wait("quarter_fn", timeout=30), "quarter") == quarter

        router.advance(max(0.0, nightly.timestamp() - router.clock.time()))
        inv = router.wait("nightly_fn", timeout=30)
        assert inv.ok and inv.event == {"kind": "nightly"} and inv.trigger == "nightly"

        # on the way, the quarter-hour cron fired at each of its times, stamped exactly
        expected = []
        while (quarter := quarter + timedelta(minutes=15)) <= nightly:
            expected.append(quarter)
        fired = [router.wait("quarter_fn", timeout=30) for _ in expected]
        assert sorted(scheduled(i, "quarter") for i in fired) == expected
        assert len(router.invocations("quarter_fn")) == 1 + len(expected)
        assert len(router.invocations("nightly_fn")) == 1


def test_banner_lists_each_schedule_with_its_next_fire(router: Router) -> None:
    lines = [line for line in router.app.banner() if line.startswith("schedule")]
    assert len(lines) == 3
    beat, nightly, quarter = lines
    assert beat.startswith("schedule        beat  rate(1 minute)  UTC  -> tick  next ")
    assert "cron(0 3 * * ? *)  Europe/Paris  -> nightly_fn  next " in nightly
    assert 'input {"kind":"nightly"}' in nightly
    nxt = datetime.fromisoformat(quarter.split("next ")[1].split()[0])
    assert nxt == router.app.source("schedule").next_fire("quarter")


def test_demo_heartbeat_and_nightly_report(demo: Path) -> None:
    """The README's demo: triggers.yaml binds heartbeat and nightly to samples/python/report.py."""
    with Router(demo / "triggers.yaml", clock="manual") as r:
        r.advance(60)
        beat = r.wait("report", timeout=60)
        scheduled_time = scheduled_demo(beat)
        assert beat.result == {"heartbeat": scheduled_time}
        assert f"heartbeat at {scheduled_time} from arn:aws:events:us-east-1:123456789012:rule/heartbeat" in beat.logs
        r.fire("nightly")
        report = r.wait("report", timeout=60)
        assert report.ok and report.event == {"kind": "nightly"}
        assert report.result["orders"] == 3  # the seeded orders table in the embedded AWS
        assert "nightly: 3 orders" in report.logs


def scheduled_demo(inv: Invocation) -> str:
    assert inv.ok, inv.summary()
    EventBridgeModel.model_validate(inv.event)
    assert inv.event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/heartbeat"]
    time: str = inv.event["time"]
    return time


def test_max_concurrent_one_skips_a_fire_while_the_previous_event_runs(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(float(event.get('sleep', 1.5)))\n"
        "    return event['time']\n"
    )
    (tmp_path / "triggers.yaml").write_text(
        "functions:\n  slow: {handler: slow.handler, timeout: 10}\n"
        "triggers:\n  - name: tick\n    function: slow\n"
        "    schedule: {expression: rate(1 minute), max_concurrent: 1}\n"
    )
    with Router(tmp_path / "triggers.yaml", clock="manual") as r:
        r.advance(60)  # fires; the handler runs 1.5 s of real time
        r.advance(60)  # the previous event still runs: this fire is skipped
        first = r.wait("slow", timeout=20)
        r.advance(60)  # the previous event has ended: this one fires
        second = r.wait("slow", timeout=20)
        minutes = (datetime.fromisoformat(second.result) - datetime.fromisoformat(first.result)).total_seconds()
        assert minutes == 120 and len(r.invocations("slow")) == 2
