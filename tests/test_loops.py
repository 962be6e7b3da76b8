"""router.loops: which event loop runs router, and a clear error for a bad ROUTER_LOOP."""

from __future__ import annotations

import asyncio
import sys

import pytest

from router import loops
from router.errors import StartupError


async def loop_kind() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_uvloop_by_default_and_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_LOOP", raising=False)
    assert loops.run(loop_kind()) == "uvloop"
    monkeypatch.setenv("ROUTER_LOOP", "asyncio")
    assert loops.run(loop_kind()) == "asyncio"
    monkeypatch.setenv("ROUTER_LOOP", "UVLoop")
    assert loops.run(loop_kind()) == "uvloop"


def test_a_bad_router_loop_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_LOOP", "trio")
    with pytest.raises(StartupError, match=r"ROUTER_LOOP='trio' in the environment: use 'uvloop' or 'asyncio'"):
        loops.loop_factory()
    with pytest.raises(StartupError, match="ROUTER_LOOP"):  # (filterwarnings=error: no "never awaited")
        loops.run(loop_kind())


def test_uvloop_asked_for_but_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_LOOP", "uvloop")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # an import of it fails
    with pytest.raises(StartupError, match="uvloop is not installed"):
        loops.loop_factory()
    monkeypatch.delenv("ROUTER_LOOP")
    assert loops.loop_factory() is None  # not asked for: asyncio's loop, quietly


async def _cancel_as_the_event_fires(wait: object, turns: int) -> bool:
    """Set the event, let ``turns`` loop turns pass, cancel the waiter: True when the waiter
    ended with the cancel (a poller that must stop for ``Router.reset``)."""
    event = asyncio.Event()

    async def poller() -> None:
        while True:  # as the DynamoDB shard poller: wait, clear, wait again
            await wait(event, 5.0)  # type: ignore[operator]
            event.clear()

    task = asyncio.create_task(poller())
    await asyncio.sleep(0)
    event.set()
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    return task.cancelled()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_wait_event_never_loses_a_cancel(monkeypatch: pytest.MonkeyPatch, loop: str) -> None:
    # the reset hang of issue 18: a cancel in the turn the event fired was swallowed by
    # wait_for on 3.11 (gh-86296), so the poller ran on; every turn offset must end it
    monkeypatch.setenv("ROUTER_LOOP", loop)

    async def main() -> list[bool]:
        return [await _cancel_as_the_event_fires(loops.wait_event, turns) for turns in range(6)]

    assert loops.run(main()) == [True] * 6


def test_wait_event_says_whether_it_was_set() -> None:
    async def main() -> tuple[bool, bool]:
        event = asyncio.Event()
        missed = await loops.wait_event(event, 0.01)
        event.set()
        return missed, await loops.wait_event(event, 0.01)

    assert loops.run(main()) == (False, True)
