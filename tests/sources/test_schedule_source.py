"""router.sources.schedule: ScheduleSource on a FakeDispatch whose submit records the
events. Every Scheduled Event is validated with powertools' EventBridgeModel.

The manual-clock driver is exercised in depth (it never waits on real time); the
APScheduler driver with an ``at()`` a few seconds ahead and through its executor."""

from __future__ import annotations

import asyncio
import logging
import math
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from router.clock import Clock, ManualClock
from router.config import Config, TriggerConfig, parse_config
from router.dispatch.fakes import FakeDispatch
from router.errors import ConfigError, UsageError
from router.sources.base import SourceContext
from router.sources.schedule import ScheduleSource

T = TypeVar("T")
ARN = "arn:aws:events:eu-west-3:111122223333:rule/"
JAN1 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_config(triggers: str, root: Path) -> Config:
    text = (
        "version: 1\n"
        "settings: {region: eu-west-3, account: '111122223333'}\n"
        "functions:\n  fn: {handler: h.handler}\n  other: {handler: h.handler}\n"
        f"triggers:\n{triggers}"
    )
    return parse_config(text, str(root / "triggers.yaml"), root=root, check_files=False)


class Fake:
    """The collecting side of the context: events in the order they were queued."""

    def __init__(self, config: Config, clock: Clock, *, fail: int = 0) -> None:
        self.config = config
        self.clock = clock
        self.fail = fail
        self.events: list[tuple[str, Any, str]] = []  # (trigger name, event, event id)
        self.pending: set[str] = set()
        self.invalid: list[str] = []

    async def emit_async(self, trigger: TriggerConfig, event: Any) -> str:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the queue is down")
        if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
            try:
                EventBridgeModel.model_validate(event)
            except Exception as exc:  # collected, asserted empty by the tests
                self.invalid.append(str(exc))
        event_id = str(uuid.uuid4())
        self.events.append((trigger.name, event, event_id))
        self.pending.add(event_id)
        return event_id

    def context(self) -> SourceContext:
        dispatch = FakeDispatch(self.config, submit=self.emit_async)
        dispatch.event_pending = self.pending.__contains__  # type: ignore[method-assign]
        return SourceContext(config=self.config, aws=None, store=None, clock=self.clock,  # type: ignore[arg-type]
                             dispatch=dispatch)

    def times(self, trigger: str | None = None) -> list[str]:
        return [e["time"] for name, e, _ in self.events if trigger in (None, name)]


@asynccontextmanager
async def running(fake: Fake) -> AsyncIterator[ScheduleSource]:
    triggers = [t for t in fake.config.triggers if t.enabled]
    source = ScheduleSource(triggers, fake.context())
    async with AsyncExitStack() as stack:
        await source.start(stack)
        yield source
        await settle()
    assert not fake.invalid, fake.invalid


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------- the manual clock


def test_rate_one_minute_fires_once_per_advanced_minute(tmp_path: Path) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: rate(1 minute)}\n", tmp_path)
    start = JAN1 + 17.25  # a rate counts from the whole second the source started

    async def body() -> None:
        fake = Fake(config, ManualClock(start))
        async with running(fake) as source:
            for minute in range(1, 4):
                await fake.clock.advance(60)  # type: ignore[attr-defined]
                await settle()
                assert len(fake.events) == minute
            assert source.anchor == datetime.fromtimestamp(JAN1 + 17, UTC)
        assert fake.times() == [iso(JAN1 + 17 + 60 * k) for k in (1, 2, 3)]
        for name, event, _ in fake.events:
            parsed = EventBridgeModel.model_validate(event)
            assert name == "beat"
            assert parsed.detail_type == "Scheduled Event" and parsed.source == "aws.events"
            assert parsed.resources == [ARN + "beat"]
            assert (parsed.account, parsed.region, parsed.detail) == ("111122223333", "eu-west-3", {})
            assert uuid.UUID(parsed.id).version == 4
        assert len({e["id"] for _, e, _ in fake.events}) == 3

    run(body())


def test_nothing_fires_before_the_period(tmp_path: Path) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: rate(5 minutes)}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake):
            await fake.clock.advance(299)  # type: ignore[attr-defined]
            assert fake.events == []
            await fake.clock.advance(1)  # type: ignore[attr-defined]
            await settle()
            assert fake.times() == [iso(JAN1 + 300)]

    run(body())


def test_one_long_advance_fires_each_period_in_order(tmp_path: Path) -> None:
    config = make_config(
        "  - {name: a, function: fn, schedule: rate(1 minute)}\n"
        "  - {name: b, function: other, schedule: rate(3 minutes)}\n",
        tmp_path,
    )

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake):
            await fake.clock.advance(600)  # type: ignore[attr-defined]
        assert fake.times("a") == [iso(JAN1 + 60 * k) for k in range(1, 11)]
        assert fake.times("b") == [iso(JAN1 + 180 * k) for k in range(1, 4)]
        assert fake.times() == sorted(fake.times())  # queued in the order they became due

    run(body())


def test_cron_in_a_time_zone(tmp_path: Path) -> None:
    config = make_config(
        "  - name: nightly\n    function: fn\n"
        "    schedule: {expression: 'cron(0 3 * * ? *)', timezone: Europe/Paris}\n",
        tmp_path,
    )
    start = datetime(2024, 7, 1, 0, 59, 30, tzinfo=UTC).timestamp()  # 02:59:30 in Paris (CEST)

    async def body() -> None:
        fake = Fake(config, ManualClock(start))
        async with running(fake) as source:
            nxt = source.next_fire("nightly")
            assert nxt == datetime(2024, 7, 1, 3, 0, tzinfo=source.schedules["nightly"].tz)
            await fake.clock.advance(29)  # type: ignore[attr-defined]
            assert fake.events == []
            await fake.clock.advance(1)  # type: ignore[attr-defined]
            await settle()
            await fake.clock.advance(86400)  # type: ignore[attr-defined]
        assert fake.times() == ["2024-07-01T01:00:00Z", "2024-07-02T01:00:00Z"]

    run(body())


def test_at_fires_once(tmp_path: Path) -> None:
    config = make_config("  - {name: once, function: fn, schedule: 'at(2024-01-01T00:10:00)'}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake) as source:
            await fake.clock.advance(3600)  # type: ignore[attr-defined]
            assert source.next_fire("once") is None
            assert "next never" in source.describe()[0]
        assert fake.times() == ["2024-01-01T00:10:00Z"]

    run(body())


def test_constant_input_replaces_the_event(tmp_path: Path) -> None:
    config = make_config(
        "  - name: nightly\n    function: fn\n"
        "    schedule: {expression: rate(1 minute), input: {kind: nightly, tags: [a]}}\n",
        tmp_path,
    )

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake):
            await fake.clock.advance(60)  # type: ignore[attr-defined]
            await settle()
            fake.events[0][1]["tags"].append("changed by a handler")
            await fake.clock.advance(60)  # type: ignore[attr-defined]
        assert [e for _, e, _ in fake.events] == [
            {"kind": "nightly", "tags": ["a", "changed by a handler"]},
            {"kind": "nightly", "tags": ["a"]},
        ]

    run(body())


def test_falsy_input_still_replaces_the_event(tmp_path: Path) -> None:
    config = make_config("  - {name: t, function: fn, schedule: {expression: rate(1 minute), input: {}}}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake) as source:
            await fake.clock.advance(60)  # type: ignore[attr-defined]
            await source.fire("t")
        assert [e for _, e, _ in fake.events] == [{}, {}]

    run(body())


def test_disabled_schedule_does_not_fire_but_fire_runs_it(tmp_path: Path) -> None:
    config = make_config("  - {name: paused, function: fn, schedule: {expression: rate(1 minute), enabled: false}}\n",
                         tmp_path)  # fmt: skip

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1 + 0.5))
        async with running(fake) as source:
            await fake.clock.advance(600)  # type: ignore[attr-defined]
            assert fake.events == []
            assert "disabled" in source.describe()[0]
            assert source.next_fire("paused") is None
            event_id = await source.fire("paused")
        assert [i for _, _, i in fake.events] == [event_id]
        assert fake.times() == [iso(JAN1 + 600)]  # a fire() is a Scheduled Event for now

    run(body())


def test_fire_with_and_without_input(tmp_path: Path) -> None:
    config = make_config(
        "  - {name: beat, function: fn, schedule: rate(1 hour)}\n"
        "  - {name: nightly, function: other, schedule: {expression: 'cron(0 3 * * ? *)', input: {kind: nightly}}}\n",
        tmp_path,
    )

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1 + 42.9))
        async with running(fake) as source:
            a = await source.fire("beat")
            b = await source.fire("beat", {"custom": True})
            c = await source.fire("nightly")
            d = await source.fire("nightly", [1, 2])
            with pytest.raises(UsageError, match=r"no schedule trigger named 'nope' \(have: beat, nightly\)"):
                await source.fire("nope")
        assert [(n, i) for n, _, i in fake.events] == [("beat", a), ("beat", b), ("nightly", c), ("nightly", d)]
        events = [e for _, e, _ in fake.events]
        assert events[0]["time"] == iso(JAN1 + 42) and events[0]["resources"] == [ARN + "beat"]
        assert events[1:] == [{"custom": True}, {"kind": "nightly"}, [1, 2]]

    run(body())


def test_a_failed_emit_is_logged_and_the_schedule_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: rate(1 minute)}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1), fail=1)
        async with running(fake):
            await fake.clock.advance(120)  # type: ignore[attr-defined]
        assert fake.times() == [iso(JAN1 + 120)]

    with caplog.at_level(logging.ERROR, logger="router.sources.schedule"):
        run(body())
    assert "schedule beat: could not queue the fire due at 2024-01-01T00:01:00+00:00" in caplog.text
    assert "the queue is down" in caplog.text


def test_fires_due_at_shutdown_are_still_queued(tmp_path: Path) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: rate(1 minute)}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        source = ScheduleSource(list(config.triggers), fake.context())
        stack = AsyncExitStack()
        await source.start(stack)
        await fake.clock.advance(180, settle=0)  # type: ignore[attr-defined]
        await stack.aclose()  # the fires of the advance are queued before the source stops
        assert len(fake.events) == 3
        await fake.clock.advance(600)  # type: ignore[attr-defined]
        assert len(fake.events) == 3
        left = [t for t in asyncio.all_tasks() if t.get_name().startswith("router-schedule")]
        assert left == []

    run(body())


# ---------------------------------------------------------------------------- max_concurrent


def test_no_overlap_suppression_by_default(tmp_path: Path) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: rate(1 minute)}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake):
            await fake.clock.advance(300)  # type: ignore[attr-defined]
        assert len(fake.events) == 5 and len(fake.pending) == 5  # none finished, all queued

    run(body())


def test_max_concurrent_one_skips_while_the_previous_event_is_pending(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: {expression: rate(1 minute), max_concurrent: 1}}\n",
                         tmp_path)  # fmt: skip

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake) as source:
            await fake.clock.advance(180)  # type: ignore[attr-defined]
            assert fake.times() == [iso(JAN1 + 60)]  # the 2nd and 3rd found the 1st pending
            fake.pending.clear()  # the first event finished
            await fake.clock.advance(60)  # type: ignore[attr-defined]
            await settle()
            assert fake.times() == [iso(JAN1 + 60), iso(JAN1 + 240)]
            fired = await source.fire("beat")  # an explicit fire always runs ...
            fake.pending.discard(fake.events[1][2])
            await fake.clock.advance(60)  # type: ignore[attr-defined]
            await settle()
            assert fake.events[-1][2] == fired  # ... and counts: the 5th minute is skipped
            assert "max_concurrent 1" in source.describe()[0]

    with caplog.at_level(logging.INFO, logger="router.sources.schedule"):
        run(body())
    assert "schedule beat: skipped the fire due at 2024-01-01T00:02:00+00:00: 1 earlier event(s) still" in caplog.text


def test_max_concurrent_two(tmp_path: Path) -> None:
    config = make_config("  - {name: beat, function: fn, schedule: {expression: rate(1 minute), max_concurrent: 2}}\n",
                         tmp_path)  # fmt: skip

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake):
            await fake.clock.advance(240)  # type: ignore[attr-defined]
        assert fake.times() == [iso(JAN1 + 60), iso(JAN1 + 120)]

    run(body())


# ---------------------------------------------------------------------------- config and banner


def test_describe_names_expression_zone_function_and_next_fire(tmp_path: Path) -> None:
    config = make_config(
        "  - {name: beat, function: fn, schedule: rate(5 minutes)}\n"
        "  - name: nightly\n    function: other\n"
        "    schedule: {expression: 'cron(0 3 * * ? *)', timezone: America/New_York, input: {kind: nightly}}\n",
        tmp_path,
    )

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1 + 0.75))
        async with running(fake) as source:
            beat, nightly = source.describe()
        assert beat.startswith("schedule        beat  rate(5 minutes)  UTC  -> fn  next ")
        assert datetime.fromisoformat(beat.split("next ")[1].split()[0]) == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
        assert nightly.startswith("schedule        nightly  cron(0 3 * * ? *)  America/New_York  -> other  next ")
        assert "next 2024-01-01T03:00:00-05:00" in nightly
        assert 'input {"kind":"nightly"}' in nightly and nightly.endswith("(manual clock)")

    run(body())


def test_a_trigger_name_that_is_no_rule_name_is_a_config_error(tmp_path: Path) -> None:
    config = make_config("  - {name: 'my beat', function: fn, schedule: rate(1 minute)}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        with pytest.raises(ConfigError, match=r"triggers\[0\]\.name: .*EventBridge rule name.*'my beat'"):
            ScheduleSource(list(config.triggers), fake.context())

    run(body())


def test_default_trigger_names_are_rule_names(tmp_path: Path) -> None:
    config = make_config("  - {function: fn, schedule: rate(1 minute)}\n", tmp_path)

    async def body() -> None:
        fake = Fake(config, ManualClock(JAN1))
        async with running(fake) as source:
            await source.fire("fn-schedule")
        assert fake.events[0][1]["resources"] == [ARN + "fn-schedule"]

    run(body())


# ---------------------------------------------------------------------------- APScheduler


def test_system_clock_runs_on_apscheduler(tmp_path: Path) -> None:
    """An at() two to three seconds ahead fires once, stamped with its scheduled time."""
    due = math.ceil(time.time()) + 2
    when = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    config = make_config(
        f"  - {{name: soon, function: fn, schedule: 'at({when})'}}\n"
        "  - {name: beat, function: other, schedule: rate(1 hour)}\n",
        tmp_path,
    )

    async def body() -> None:
        fake = Fake(config, Clock())
        async with running(fake) as source:
            assert source._scheduler is not None
            lines = source.describe()
            assert f"next {datetime.fromtimestamp(due, UTC).isoformat()}" in lines[0]
            assert lines[0].endswith("(apscheduler)")
            for _ in range(100):
                if fake.events:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)
        assert fake.times() == [iso(due)]
        assert fake.events[0][0] == "soon"

    run(body())


def test_run_time_executor_hands_the_run_time_and_skips_misfires(caplog: pytest.LogCaptureFixture) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from router.sources.schedule_trigger import RunTimeExecutor

    async def body() -> list[tuple[str, datetime]]:
        got: list[tuple[str, datetime]] = []
        done = asyncio.Event()

        def job(name: str, *, run_time: datetime) -> None:
            got.append((name, run_time))
            done.set()

        scheduler = AsyncIOScheduler(timezone=UTC, executors={"default": RunTimeExecutor()})
        now = datetime.now(UTC).replace(microsecond=0)
        scheduler.add_job(
            job,
            "date",
            run_date=now - timedelta(minutes=5),
            args=["late"],
            kwargs={"run_time": None},
            misfire_grace_time=30,
        )
        scheduler.add_job(
            job,
            "date",
            run_date=now - timedelta(seconds=1),
            args=["fresh"],
            kwargs={"run_time": None},
            misfire_grace_time=30,
        )
        scheduler.start()
        try:
            await asyncio.wait_for(done.wait(), 10)
            await asyncio.sleep(0.1)
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
        assert got == [("fresh", now - timedelta(seconds=1))]
        return got

    with caplog.at_level(logging.WARNING, logger="router.sources.schedule_trigger"):
        run(body())
    assert "was missed by 0:05:" in caplog.text


def test_apscheduler_is_imported_lazily() -> None:
    code = (
        "import asyncio, sys\n"
        "from contextlib import AsyncExitStack\n"
        "import router.sources.schedule as m\n"
        "assert 'apscheduler' not in sys.modules, 'imported by the module'\n"
        "from tests.sources.test_schedule_source import Fake, make_config\n"
        "from router.clock import ManualClock\n"
        "from pathlib import Path\n"
        "async def main():\n"
        "    config = make_config('  - {name: b, function: fn, schedule: rate(1 minute)}\\n', Path('.'))\n"
        "    fake = Fake(config, ManualClock(0))\n"
        "    async with AsyncExitStack() as stack:\n"
        "        await m.ScheduleSource(list(config.triggers), fake.context()).start(stack)\n"
        "        await fake.clock.advance(60)\n"
        "    assert len(fake.events) == 1\n"
        "asyncio.run(main())\n"
        "assert 'apscheduler' not in sys.modules, 'imported by the manual driver'\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
