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
