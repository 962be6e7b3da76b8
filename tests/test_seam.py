"""The seam between sources and dispatch (issue 15): ``router.types.Dispatch`` as the real
dispatcher serves it, its fake for source tests, admission in one place (the pool), one
route table for the daemon and ``router event``, and ``router invoke`` journaled."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from router.clock import ManualClock
from router.config import Config, parse_config
from router.dispatch import Dispatcher
from router.dispatch.fakes import FakeDispatch, FakeRuntime
from router.errors import ThrottledError
from router.invocation import Invocation
from router.store import Store
from router.types import RandomIds, SequentialIds

CONFIG = """
functions:
  work: {handler: work.handler, concurrency: 1}
triggers:
  - {name: up, function: work, s3: {dir: drop, bucket: uploads}}
  - {name: web, function: work, http: "GET /w"}
"""


def config_at(tmp_path: Path, text: str = CONFIG) -> Config:
    return parse_config(text, str(tmp_path / "triggers.yaml"), root=tmp_path, check_files=False)


def test_ids() -> None:
    ids = SequentialIds()
    assert [ids.uuid(), ids.uuid()] == ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"]
    import uuid

    made = uuid.UUID(RandomIds().uuid())
    assert made.version == 4 and made.variant == uuid.RFC_4122


def test_the_dispatcher_serves_the_seam(tmp_path: Path) -> None:
    """submit queues durably (the trigger names the function, its kind the source); invoke is
    journaled with the trigger; request ids come from the injected id source."""
    config = config_at(tmp_path)
    up, web = config.trigger("up"), config.trigger("web")
    gate = asyncio.Event()

    async def handler(function: str, event: Any) -> Any:
        if event.get("hold"):
            await gate.wait()
        return event

    async def main() -> list[Invocation]:
        seen: list[Invocation] = []
        async with AsyncExitStack() as stack:
            runtime = FakeRuntime(handler).bind(config)
            await runtime.start(stack)
            d = Dispatcher(config, runtime, Store(config.state_dir), ManualClock(), SequentialIds())
            await d.start(stack)
            d.subscribe(seen.append)
            seam = d.seam()
            event_id = await seam.submit(up, {"hold": True})
            assert event_id == "00000000-0000-4000-8000-000000000001"
            for _ in range(5):
                await asyncio.sleep(0)
            assert seam.event_pending(event_id)
            gate.set()
            while seam.event_pending(event_id):
                await asyncio.sleep(0.01)
            inv = await seam.invoke(web, {"n": 1})
            assert inv.id == "00000000-0000-4000-8000-000000000002"
        return seen

    first, second = asyncio.run(main())
    assert (first.trigger, first.source, first.event_id, first.ok) == ("up", "s3", first.id, True)
    assert (second.trigger, second.source, second.result) == ("web", "http", {"n": 1})


def test_admission_is_the_pools_queue_factor_and_give_up(tmp_path: Path) -> None:
    """The seam's invoke: beyond concurrency x (1 + queue_factor) in flight, ThrottledError;
    an answer slower than give_up_after calls on_give_up once and the invocation runs on."""
    config = config_at(tmp_path)
    web = config.trigger("web")
    gate = asyncio.Event()

    async def handler(function: str, event: Any) -> Any:
        await gate.wait()
        return "done"

    async def main() -> tuple[list[str], int]:
        gave_up: list[str] = []
        async with AsyncExitStack() as stack:
            runtime = FakeRuntime(handler).bind(config)
            await runtime.start(stack)
            d = Dispatcher(config, runtime, Store(config.state_dir), ManualClock())
            await d.start(stack)
            seam = d.seam()
            calls = [asyncio.ensure_future(seam.invoke(web, {}, queue_factor=1, give_up_after=0.05,
                                                       on_give_up=lambda: gave_up.append("x") or True))
                     for _ in range(2)]  # fmt: skip
            for _ in range(5):
                await asyncio.sleep(0)
            with pytest.raises(ThrottledError):  # 1 running + 1 waiting: the third is refused
                await seam.invoke(web, {}, queue_factor=1)
            await asyncio.sleep(0.2)
            gate.set()
            done = await asyncio.gather(*calls)
        return gave_up, sum(1 for i in done if i.ok)

    gave_up, ok = asyncio.run(main())
    assert gave_up == ["x", "x"] and ok == 2


def test_the_fake_dispatch_keeps_the_seams_rules(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    web, up = config.trigger("web"), config.trigger("up")
    release = asyncio.Event()

    async def answer(trigger: Any, event: Any, attempt: int) -> Invocation:
        await release.wait()
        return Invocation(id="r", function=trigger.function, trigger=trigger.name, event=event)

    async def main() -> None:
        fake = FakeDispatch(config, invoke=answer)
        event_id = await fake.submit(up, {"a": 1})
        assert fake.submitted == [(up, {"a": 1}, event_id)] and fake.event_pending(event_id)
        fake.pending.discard(event_id)
        assert not fake.event_pending(event_id)
        running = [asyncio.ensure_future(fake.invoke(web, {}, queue_factor=0))]
        await asyncio.sleep(0)
        with pytest.raises(ThrottledError):
            await fake.invoke(web, {}, queue_factor=0)
        release.set()
        assert (await running[0]).ok
        with pytest.raises(AssertionError, match="needs a store"):
            await fake.open_stream(web, "arn")

    asyncio.run(main())


def test_a_reservation_holds_the_pools_slot_until_used_or_given_back(tmp_path: Path) -> None:
    """The async queue takes a worker's slot when it decides (``reserve``), the invocation uses
    it later; a slot given back wakes whoever waits (``on_release``)."""
    from router.runtimes import Runtimes

    (tmp_path / "work.py").write_text("def handler(event, context):\n    return event\n")
    config = config_at(tmp_path, "functions:\n  work: {handler: work.handler, concurrency: 1}\n")

    async def main() -> tuple[Any, ...]:
        released: list[int] = []
        async with AsyncExitStack() as stack:
            rt = Runtimes(config, env={"AWS_EC2_METADATA_DISABLED": "true"}, hot_reload=False)
            await rt.start(stack)
            rt.on_release(lambda: released.append(1))
            r = rt.reserve("work")
            full = rt.reserve("work")
            with pytest.raises(ThrottledError):
                await rt.invoke("work", {}, wait=False)
            r.release()
            r.release()  # idempotent
            freed = (rt.free_slots("work"), len(released))
            r2 = rt.reserve("work")
            out = await rt.invoke("work", {"x": 1}, reservation=r2, event_json='{"x":2}')
            r2.release()  # used already: nothing to give back
        return full, freed, out.result, rt.free_slots("work")

    full, freed, result, free_after = asyncio.run(main())
    assert full is None and freed == (1, 1)
    assert result == {"x": 2}  # the event as encoded once, not again
    assert free_after == 1


# ---------------------------------------------------------------------------- one route table


def test_default_route_through_router_event_and_the_daemon_agree(tmp_path: Path) -> None:
    from router import Router
    from router.cli import main

    fixtures = Path(__file__).resolve().parent / "fixtures" / "http"
    text = (f"functions:\n  py: {{handler: pyfn/app.handler, code: {fixtures}}}\n"
            "triggers:\n  - {name: web, function: py, http: $default}\n"
            "  - {name: rest, function: py, http: {route: $default, payload: '1.0', stage: dev}}\n")  # fmt: skip
    config_file = tmp_path / "triggers.yaml"
    config_file.write_text(text)
    with Router(config_file) as r:
        served = json.loads(r.http.get("/a/b?mode=echo").content)["event"]
        served_rest = json.loads(r.http.get("/dev/a/b?mode=echo").content)["event"]
    runner = CliRunner()
    printed = json.loads(runner.invoke(main, ["event", "http-api", "--config", str(config_file), "--trigger", "web",
                                              "--path", "/a/b"]).stdout)  # fmt: skip
    printed_rest = json.loads(runner.invoke(main, ["event", "apigw", "--config", str(config_file), "--trigger", "rest",
                                                   "--path", "/a/b"]).stdout)  # fmt: skip
    assert "pathParameters" not in served and "pathParameters" not in printed  # an HTTP API's $default has none
    assert served["routeKey"] == printed["routeKey"] == "$default"
    assert served["requestContext"]["apiId"] == printed["requestContext"]["apiId"]
    assert served_rest["pathParameters"] == printed_rest["pathParameters"] == {"proxy": "a/b"}
    assert served_rest["resource"] == printed_rest["resource"] == "/{proxy+}"
    assert served_rest["requestContext"]["apiId"] == printed_rest["requestContext"]["apiId"]


# ---------------------------------------------------------------------------- router invoke is journaled


def test_router_invoke_is_journaled_and_replayable(tmp_path: Path) -> None:
    from router.cli import main

    (tmp_path / "work.py").write_text("def handler(event, context):\n    return {'got': event}\n")
    (tmp_path / "triggers.yaml").write_text("settings: {aws: {port: 0}}\nfunctions:\n  work: {handler: work.handler}\n")
    runner = CliRunner()
    config = str(tmp_path / "triggers.yaml")
    done = runner.invoke(main, ["invoke", "work", "-c", config, "--event", "-"], input='{"n": 7}')
    assert done.exit_code == 0, done.output
    history = json.loads(runner.invoke(main, ["history", "-c", config, "--json"]).stdout)
    (row,) = history
    assert (row["function"], row["source"], row["event"], row["result"]) == ("work", "invoke", {"n": 7},
                                                                             {"got": {"n": 7}})  # fmt: skip
    again = runner.invoke(main, ["replay", row["id"], "-c", config])
    assert again.exit_code == 0 and json.loads(again.stdout) == {"got": {"n": 7}}
    rows = json.loads(runner.invoke(main, ["history", "-c", config, "--json"]).stdout)
    assert [r["source"] for r in rows] == ["invoke", "replay"]
