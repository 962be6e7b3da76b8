"""A small daemon for the kill -9 test: a dispatcher whose handler appends each event's
number to a file.

    python crash_child.py produce ROOT N [fake|python]   # enqueue N events, noting each accepted one
    python crash_child.py drain ROOT [fake|python]       # run what is left; exit once the queue is empty

Files in ROOT: ``accepted`` (one number per line, written after enqueue returned),
``processed`` (one number per line, written by the handler) and, with real workers,
``pids`` (the worker processes).
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from router.clock import Clock
from router.config import parse_config
from router.dispatch import Dispatcher
from router.dispatch.fakes import FakeRuntime
from router.store import Store

CONFIG = """
version: 1
settings: {state_dir: state}
functions:
  work: {handler: work.handler, concurrency: 2, async: {retries: 0}, environment: {ROOT: "%s"}}
"""

HANDLER = """
import os, time

def _append(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)

_append(os.path.join(os.environ["ROOT"], "pids"), str(os.getpid()))

def handler(event, context):
    time.sleep(0.005)
    _append(os.path.join(os.environ["ROOT"], "processed"), str(event["n"]))
"""


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _runtime(kind: str, root: Path, config: Any) -> Any:
    if kind == "python":
        from router.runtimes import Runtimes

        return Runtimes(config, env={"AWS_EC2_METADATA_DISABLED": "true"}, hot_reload=False)

    async def handler(function: str, event: Any) -> Any:
        await asyncio.sleep(0.005)
        _append(root / "processed", str(event["n"]))

    return FakeRuntime(handler, concurrency=2)


async def main(mode: str, root: Path, n: int, kind: str) -> None:
    (root / "work.py").write_text(HANDLER)
    config = parse_config(CONFIG % root, "triggers.yaml", root=root)
    async with AsyncExitStack() as stack:
        runtime = _runtime(kind, root, config)
        await runtime.start(stack)
        dispatcher = Dispatcher(config, runtime, Store(config.state_dir), Clock())
        await dispatcher.start(stack)
        if mode == "produce":
            for i in range(n):
                await dispatcher.enqueue("work", {"n": i}, source="s3")
                _append(root / "accepted", str(i))
            await asyncio.sleep(3600)  # the test kills us long before
        while dispatcher.pending():
            await asyncio.sleep(0.01)


if __name__ == "__main__":
    mode, root = sys.argv[1], Path(sys.argv[2])
    rest = sys.argv[3:]
    count = int(rest.pop(0)) if mode == "produce" else 0
    asyncio.run(main(mode, root, count, rest[0] if rest else "fake"))
