"""A real HttpSource on a real socket, with a fake SourceContext whose ``invoke`` runs a
Python function in process (no workers): for the server and mapping tests."""

from __future__ import annotations

import asyncio
import inspect
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from router.clock import Clock
from router.config import Config, TriggerConfig, parse_config
from router.dispatch.fakes import FakeDispatch
from router.errors import RouterError
from router.invocation import Invocation
from router.sources.base import SourceContext
from router.sources.http import HttpSource

Handler = Callable[[dict[str, Any]], Any]


def make_config(text: str, root: Path) -> Config:
    head = "settings: {http: {host: 127.0.0.1, port: 0}}\n"
    return parse_config(head + text, root=root, check_files=False)


class FakeFunctions:
    """``ctx.invoke`` for tests: each function name maps to a Python handler. A handler
    raising gives an error invocation; concurrency is the config's, as slots."""

    def __init__(self, config: Config, handlers: dict[str, Handler]) -> None:
        self.config = config
        self.handlers = handlers
        self.running: dict[str, int] = {}
        self.slots = {n: asyncio.Semaphore(f.concurrency) for n, f in config.functions.items()}
        self.events: list[dict[str, Any]] = []

    def free_slots(self, function: str) -> int:
        return self.config.functions[function].concurrency - self.running.get(function, 0)

    async def invoke(self, trigger: TriggerConfig, event: Any) -> Invocation:
        name = trigger.function
        self.events.append(event)
        async with self.slots[name]:
            self.running[name] = self.running.get(name, 0) + 1
            try:
                return await self._run(trigger, event)
            finally:
                self.running[name] -= 1

    async def _run(self, trigger: TriggerConfig, event: Any) -> Invocation:
        inv = Invocation(id="req", function=trigger.function, trigger=trigger.name, source="http",
                         event=event, started_at=time.time())  # fmt: skip
        timeout = self.config.functions[trigger.function].timeout
        try:
            result = self.handlers[trigger.function](event)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, timeout)
            inv.result = result
        except RouterError:
            raise  # router itself could not invoke (as ctx.invoke raises it)
        except TimeoutError:
            inv.status = "timeout"
            inv.error = {"errorMessage": f"Task timed out after {timeout:.2f} seconds"}
        except Exception as e:
            inv.status = "error"
            inv.error = {"errorType": type(e).__name__, "errorMessage": str(e),
                         "stackTrace": traceback.format_tb(e.__traceback__)}  # fmt: skip
        return inv


@asynccontextmanager
async def serving(config: Config, handlers: dict[str, Handler]) -> AsyncIterator[tuple[HttpSource, FakeFunctions]]:
    """An HttpSource for every enabled http trigger of ``config``, listening."""
    fake = FakeFunctions(config, handlers)

    dispatch = FakeDispatch(config, invoke=lambda trigger, event, _attempt: fake.invoke(trigger, event))
    ctx = SourceContext(config=config, aws=None, store=None, clock=Clock(), dispatch=dispatch)  # type: ignore[arg-type]
    source = HttpSource([t for t in config.triggers if t.kind == "http" and t.enabled], ctx)
    async with AsyncExitStack() as stack:
        await source.start(stack)
        yield source, fake


async def raw_exchange(port: int, data: bytes, *, read_until_close: bool = True,
                       expect_responses: int = 1) -> bytes:  # fmt: skip
    """Send raw bytes, return what came back (until the server closes, or until
    ``expect_responses`` complete responses arrived)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                break
            out += chunk
            if not read_until_close and _complete(out) >= expect_responses:
                break
    finally:
        writer.close()
        await writer.wait_closed()
    return out


def _complete(data: bytes) -> int:
    """How many complete Content-Length framed responses ``data`` holds."""
    count = 0
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return count
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return count
        count += 1
        data = rest[length:]
