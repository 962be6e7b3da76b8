"""Helpers for dispatch tests: a config, a running dispatcher on a fake runtime, and a
recorder of finished invocations."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from router.clock import Clock
from router.config import Config, parse_config
from router.dispatch import Dispatcher
from router.dispatch.base import RuntimesLike
from router.dispatch.fakes import FakeRuntime
from router.invocation import Invocation
from router.store import Store


def make_config(tmp_path: Path, functions: dict[str, Any], **settings: Any) -> Config:
    """A config with these functions (handler files are not checked) and its state in tmp_path."""
    data = {
        "version": 1,
        "settings": {"state_dir": "state", **settings},
        "functions": {
            name: {"handler": f"handlers/{name}.handler", **spec} for name, spec in functions.items()
        },
    }
    return parse_config(yaml.safe_dump(data), "triggers.yaml", root=tmp_path, check_files=False)


class Seen:
    """Every invocation a dispatcher finished, and a way to wait for more."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.invocations: list[Invocation] = []
        self._changed = asyncio.Event()
        dispatcher.subscribe(self._on)

    def _on(self, inv: Invocation) -> None:
        self.invocations.append(inv)
        self._changed.set()

    def of(self, function: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == function]

    async def until(self, predicate: Callable[[list[Invocation]], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.invocations):
                self._changed.clear()
                await self._changed.wait()

    async def count(self, n: int, function: str | None = None, timeout: float = 10) -> None:
        await self.until(lambda invs: len([i for i in invs if function in (None, i.function)]) >= n, timeout)


@asynccontextmanager
async def running(
    config: Config, runtime: RuntimesLike, clock: Clock, store: Store | None = None
) -> AsyncIterator[Dispatcher]:
    """A started dispatcher; leaving the block stops it gracefully."""
    store = store or Store(config.state_dir)
    async with AsyncExitStack() as stack:
        if isinstance(runtime, FakeRuntime):
            runtime.bind(config)  # the pool caps at the config's concurrency
        start = getattr(runtime, "start", None)
        if start is not None:
            await start(stack)
        dispatcher = Dispatcher(config, runtime, store, clock)
        await dispatcher.start(stack)
        yield dispatcher


async def settle(rounds: int = 5) -> None:
    """Let the loop run the tasks that are ready (no time passes on a ManualClock)."""
    for _ in range(rounds):
        await asyncio.sleep(0.005)


def queue_rows(store: Store) -> list[dict[str, Any]]:
    conn = store.connect()
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM queue ORDER BY accepted_at")]
    finally:
        conn.close()


def read_records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
