"""Fixtures for the runtimes tests: a harness running real python and node workers, and a
guard that fails any test leaving a worker process behind (zombies included: every worker
must be reaped)."""

from __future__ import annotations

import asyncio
import os
import shutil
import textwrap
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psutil
import pytest

from router.config import Config, parse_config
from router.runtimes import Outcome, Runtimes

FIXTURES = Path(__file__).parents[1] / "fixtures" / "handlers"

WORKER_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


def _workers() -> dict[int, str]:
    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            found[proc.pid] = " ".join(proc.cmdline()[:3]) or proc.name()
        except psutil.Error:
            found[proc.pid] = "?"
    return found


@pytest.fixture(autouse=True)
def no_leaked_workers() -> Iterator[None]:
    """Fail the test if a process it started (a worker, a handler's child, a zombie) is left."""
    before = set(_workers())
    yield
    deadline = time.monotonic() + 3
    while True:
        leaked = {pid: what for pid, what in _workers().items() if pid not in before}
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if leaked:
        for pid in leaked:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
        pytest.fail(f"worker processes left behind: {leaked}", pytrace=False)


class Harness:
    """Runtimes for a config, on an event loop of its own, driven synchronously."""

    def __init__(self, config: Config, **kwargs: Any) -> None:
        self.config = config
        self.lines: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        self.runtimes = Runtimes(config, env=WORKER_ENV, on_log=self._on_log, **kwargs)
        self.run(self.runtimes.start(self.stack))

    def _on_log(self, function: str, line: str) -> None:
        self.lines.append((function, line))

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def invoke(self, function: str, event: Any = None, **kwargs: Any) -> Outcome:
        outcome: Outcome = self.run(self.runtimes.invoke(function, event, **kwargs))
        return outcome

    def gather(self, *calls: tuple[str, Any]) -> list[Outcome]:
        async def all_of() -> list[Outcome]:
            return list(await asyncio.gather(*(self.runtimes.invoke(f, e) for f, e in calls)))

        result: list[Outcome] = self.run(all_of())
        return result

    def sleep(self, seconds: float) -> None:
        self.run(asyncio.sleep(seconds))

    def close(self) -> None:
        try:
            self.run(self.stack.aclose())
        finally:
            self.loop.close()


Factory = Callable[..., Harness]


@pytest.fixture
def runtimes() -> Iterator[Factory]:
    """``runtimes(functions_yaml, code=FIXTURES, **Runtimes kwargs) -> Harness``."""
    made: list[Harness] = []

    def make(functions: str, code: Path = FIXTURES, settings: str = "", **kwargs: Any) -> Harness:
        text = "functions:\n" + textwrap.indent(textwrap.dedent(functions).strip(), "  ") + "\n"
        if settings:
            text = "settings:\n" + textwrap.indent(textwrap.dedent(settings).strip(), "  ") + "\n" + text
        harness = Harness(parse_config(text, "triggers.yaml", root=code), **kwargs)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def code_copy(tmp_path: Path) -> Path:
    """A writable copy of the handler fixtures (for hot reload and generated files)."""
    target = tmp_path / "code"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def log_lines(outcome: Outcome) -> list[str]:
    return outcome.logs.rstrip("\n").split("\n")


def touch_later(path: Path, text: str) -> None:
    """Rewrite ``path`` so that its mtime surely differs from before."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
