"""The composition root: one :class:`App` wires store, AWS, runtimes, dispatcher and
sources in an AsyncExitStack (torn down in reverse: sources stop taking input, the
dispatcher drains, workers stop, AWS stops). ``router run`` and the Python API
(:mod:`router.api`) run this very code.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from .aws import Aws
from .clock import Clock, ManualClock
from .config import SOURCE_KINDS, Config, TriggerConfig
from .invocation import Invocation
from .sources.base import SourceContext
from .store import Store

log = logging.getLogger(__name__)

# kind -> "module:Class", resolved on use so heavy dependencies load only when needed
SOURCES: dict[str, str] = {
    "s3": "router.sources.s3:S3Source",
    "schedule": "router.sources.schedule:ScheduleSource",
    "http": "router.sources.http:HttpSource",
    "dynamodb": "router.sources.dynamodb:DynamoDBSource",
}

Console = Callable[[str], None]


def resolve(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class App:
    """Everything one triggers.yaml describes, running."""

    def __init__(self, config: Config, *, clock: Clock | None = None, console: Console | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.console = console
        self.started_at = 0.0
        self.store: Store | None = None
        self.aws: Aws | None = None
        self.runtimes: Any = None
        self.dispatcher: Any = None
        self.sources: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self, stack: AsyncExitStack) -> None:
        from .dispatch import Dispatcher
        from .dispatch.lambda_api import make_lambda_api
        from .runtimes import Runtimes

        t0 = time.perf_counter()
        self.loop = asyncio.get_running_loop()
        self.store = Store(self.config.state_dir)
        self.aws = Aws(self.config)
        await self.aws.start(stack)
        self.runtimes = Runtimes(self.config, env=self.aws.worker_env(), on_log=self._on_log)
        await self.runtimes.start(stack)
        stack.callback(self._unhook_lambda_api)  # after the dispatcher drains: handlers may still call
        self.dispatcher = Dispatcher(self.config, self.runtimes, self.store, self.clock)
        await self.dispatcher.start(stack)
        self.aws.lambda_api = make_lambda_api(self.dispatcher, self.loop)
        ctx = self._context()
        for kind in SOURCE_KINDS:
            triggers = [t for t in self.config.triggers if t.kind == kind and t.enabled]
            if not triggers:
                continue
            source = resolve(SOURCES[kind])(triggers, ctx)
            await source.start(stack)
            self.sources[kind] = source
        self.started_at = time.perf_counter() - t0

    def _unhook_lambda_api(self) -> None:
        if self.aws is not None:
            self.aws.lambda_api = None

    def _context(self) -> SourceContext:
        dispatcher = self.dispatcher
        assert self.aws is not None and self.store is not None and self.loop is not None

        async def emit_async(trigger: TriggerConfig, event: Any) -> str:
            event_id: str = await dispatcher.enqueue(
                trigger.function, event, trigger=trigger.name, source=trigger.kind
            )
            return event_id

        def emit_async_threadsafe(trigger: TriggerConfig, event: Any) -> str:
            event_id: str = dispatcher.enqueue_threadsafe(
                trigger.function, event, trigger=trigger.name, source=trigger.kind
            )
            return event_id

        async def invoke(trigger: TriggerConfig, event: Any, *, attempt: int = 1) -> Invocation:
            inv: Invocation = await dispatcher.invoke(
                trigger.function, event, trigger=trigger.name, source=trigger.kind, attempt=attempt
            )
            return inv

        return SourceContext(
            config=self.config, aws=self.aws, store=self.store, clock=self.clock, loop=self.loop,
            emit_async=emit_async, emit_async_threadsafe=emit_async_threadsafe, invoke=invoke,
            record=dispatcher.record, free_slots=self.runtimes.free_slots,
            event_pending=dispatcher.event_pending,
        )  # fmt: skip

    def _on_log(self, function: str, line: str) -> None:
        if self.console is not None:
            self.console(f"[{function}] {line}")

    def source(self, kind: str) -> Any:
        return self.sources.get(kind)

    def banner(self) -> list[str]:
        """What is bound: the AWS endpoint, functions, and each source's description."""
        assert self.aws is not None
        s = self.config.settings
        where = {"embedded": "embedded moto", "url": "external", "aws": "real AWS"}[self.aws.mode]
        lines = [f"AWS endpoint    {self.aws.endpoint_url or 'AWS (standard credentials)'}  ({where}, "
                 f"account {s.account}, region {s.region})"]  # fmt: skip
        for name, f in self.config.functions.items():
            lines.append(
                f"function        {name}  {f.runtime}  {f.handler}  "
                f"timeout {f.timeout:g}s  memory {f.memory} MB  concurrency {f.concurrency}"
            )
        for kind in SOURCE_KINDS:
            if kind in self.sources:
                lines.extend(self.sources[kind].describe())
        for t in self.config.triggers:
            if not t.enabled:
                lines.append(f"disabled        {t.name} ({t.kind}) -> {t.function}")
        lines.append(f"state           {self.config.state_dir}")
        return lines


async def run_daemon(config: Config, console: Console, *, ready: Callable[[App], None] | None = None) -> int:
    """``router run``: start everything, print the banner, serve until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = App(config, console=console)
    try:
        async with AsyncExitStack() as stack:
            await app.start(stack)
            for line in app.banner():
                console(line)
            console(f"router ready in {app.started_at * 1000:.0f} ms (Ctrl-C to stop)")
            if ready is not None:
                ready(app)
            await stop.wait()
            console("router stopping: finishing in-flight invocations ...")
        left = app.dispatcher.pending() if app.dispatcher is not None else 0
        console(f"router stopped; {left} queued event(s) kept for the next start" if left else "router stopped")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0


def make_clock(clock: str | Clock | None) -> Clock:
    if clock is None or clock == "system":
        return Clock()
    if clock == "manual":
        return ManualClock()
    if isinstance(clock, Clock):
        return clock
    raise ValueError(f"clock must be 'system', 'manual' or a Clock, not {clock!r}")
