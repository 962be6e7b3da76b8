"""A small daemon for the kill -9 test: a dispatcher on a fake runtime whose handler appends
each event's number to a file.

    python crash_child.py produce STATE N   # enqueue N events, appending each accepted number
    python crash_child.py drain STATE       # run what is left, exit once the queue is empty

Files in STATE's parent: ``accepted`` (one number per line, written after enqueue returned)
and ``processed`` (one number per line, written by the handler).
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
  work: {handler: handlers/work.handler, concurrency: 2, async: {retries: 0}}
"""


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


async def main(mode: str, root: Path, n: int) -> None:
    config = parse_config(CONFIG, "triggers.yaml", root=root, check_files=False)

    async def handler(function: str, event: Any) -> Any:
        await asyncio.sleep(0.005)
        _append(root / "processed", str(event["n"]))
        return None

    async with AsyncExitStack() as stack:
        dispatcher = Dispatcher(config, FakeRuntime(handler, concurrency=2), Store(config.state_dir), Clock())
        await dispatcher.start(stack)
        if mode == "produce":
            for i in range(n):
                await dispatcher.enqueue("work", {"n": i}, source="s3")
                _append(root / "accepted", str(i))
            await asyncio.sleep(3600)  # the test kills us long before
        while dispatcher.pending():
            await asyncio.sleep(0.01)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
