"""The composition root: one :class:`App` wires store, AWS, runtimes, dispatcher and
sources in an AsyncExitStack (torn down in reverse: sources stop taking input, the
dispatcher drains, workers stop, AWS stops). ``router run``, the Python API
(:mod:`router.api`), ``router invoke`` and ``router replay`` all start through it; the last
two start a subset (:data:`ONE_SHOT`: no sources, no async queue, the running daemon's
embedded AWS when one listens).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import signal
import socket
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .aws import Aws, safe_environment
from .clock import Clock, ManualClock
from .config import SOURCE_KINDS, Config, TriggerConfig
from .sources.base import SourceContext
from .store import Store
from .types import Ids, RandomIds

log = logging.getLogger(__name__)

# kind -> "module:Class", resolved on use so heavy dependencies load only when needed
SOURCES: dict[str, str] = {
    "s3": "router.sources.s3:S3Source",
    "schedule": "router.sources.schedule:ScheduleSource",
    "http": "router.sources.http:HttpSource",
    "dynamodb": "router.sources.dynamodb:DynamoDBSource",
    "sqs": "router.sources.sqs:SqsSource",
    "sns": "router.sources.pubsub:SnsSource",
    "eventbridge": "router.sources.pubsub:EventBridgeSource",
}

Console = Callable[[str], None]
OnLog = Callable[[str, str], None]  # (function, log line)


@dataclass(frozen=True)
class Parts:
    """Which parts an :class:`App` starts."""

    sources: bool = True  # the sources of every enabled trigger
    queue: bool = True  # run the async queue (and own the state dir); False: journal only
    hot_reload: bool = True
    daemon_aws: bool = False  # use a running daemon's embedded AWS when one listens on the port;
    # else an embedded AWS on a free port (never the configured one: the daemon may start later)


RUN = Parts()
ONE_SHOT = Parts(sources=False, queue=False, hot_reload=False, daemon_aws=True)


def resolve(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class App:
    """Everything one triggers.yaml describes, running."""

    def __init__(
        self, config: Config, *, clock: Clock | None = None, console: Console | None = None,
        parts: Parts = RUN, on_log: OnLog | None = None, ids: Ids | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.clock = clock or Clock()
        self.console = console
        self.parts = parts
        self.ids = ids or RandomIds()
        self.on_log: OnLog | None = on_log or (self._on_log if console is not None else None)
        self.started_at = 0.0
        self.store: Store | None = None
        self.aws: Aws | None = None
        self.runtimes: Any = None
        self.dispatcher: Any = None
        self.sources: dict[str, Any] = {}
        self._source_stacks: dict[str, AsyncExitStack] = {}
        self._stack: AsyncExitStack | None = None
        self.scratch: Path | None = None  # a folder the router owns: reset() empties s3 folders inside it
        self.reset_at = 0.0  # seconds the last reset() took
        self._catch_up: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()  # set when start() is done (and the daemon said so: hold_sync)
        # router run: the folders' sync waits until the banner and the ready line are out (else
        # it takes the GIL from printing them); run_daemon calls begin_sync()
        self.hold_sync = False

    async def start(self, stack: AsyncExitStack) -> None:
        from .dispatch import Dispatcher
        from .dispatch.lambda_api import make_lambda_api
        from .runtimes import Runtimes

        t0 = time.perf_counter()
        safe_environment()
        parts, config = self.parts, self.config
        self.store = Store(config.state_dir)
        daemon = running_daemon_endpoint(config) if parts.daemon_aws else None
        if daemon is not None:
            env = daemon_env(config, daemon)
        elif parts.daemon_aws and config.settings.aws.endpoint != "embedded":
            env = Aws(config).worker_env()  # an external endpoint: used as it is, nothing created
        else:
            self.aws = Aws(any_port(config) if parts.daemon_aws else config)
            await self.aws.start(stack)
            env = self.aws.worker_env()
        self.runtimes = Runtimes(config, env=env, on_log=self.on_log, hot_reload=parts.hot_reload)
        await self.runtimes.start(stack)
        stack.callback(self._unhook_lambda_api)  # after the dispatcher drains: handlers may still call
        self.dispatcher = Dispatcher(config, self.runtimes, self.store, self.clock, self.ids)
        await self.dispatcher.start(stack, workers=parts.queue, run=False)
        if self.aws is not None:  # topic and bus destinations (SNS Publish, EventBridge PutEvents)
            from . import aws_pubsub

            self.dispatcher.queue.send_to_pubsub = partial(aws_pubsub.send, config, self.aws.client)
        if self.aws is not None:
            self.aws.lambda_api = make_lambda_api(self.dispatcher, asyncio.get_running_loop())
            from .sources.sqs import send_message

            self.dispatcher.use_queue_sender(partial(send_message, self.aws, config))  # queue destinations
        if parts.sources:
            await self._start_sources(stack)
        if parts.queue:  # a backlog runs once the sources restored what its events refer to
            s3 = self.sources.get("s3")
            if s3 is None or not s3.background_sync:  # else once the folders synced (_sync_after)
                self.dispatcher.run_queue()
        self.started_at = time.perf_counter() - t0
        if not self.hold_sync:
            self._ready.set()

    def begin_sync(self) -> None:
        """Let the folders' start-up sync begin (``hold_sync``: the daemon has said ready)."""
        self._ready.set()

    async def _sync_after(self, s3: Any) -> None:
        """The folders' sync, begun after start returned (ready); then the async queue's backlog
        (its events may refer to the objects the sync puts back)."""
        await self._ready.wait()  # not beside the start-up: the scan would take the GIL from it
        await s3.caught_up()
        if self.parts.queue and self.dispatcher is not None:
            self.dispatcher.run_queue()

    async def _start_sources(self, stack: AsyncExitStack) -> None:
        self._stack = stack
        for kind in SOURCE_KINDS:
            triggers = [t for t in self.config.triggers if t.kind == kind and t.enabled]
            if triggers:
                await self._start_source(kind, triggers)

    async def _start_source(self, kind: str, triggers: list[TriggerConfig]) -> None:
        """One kind's source, on a stack of its own (closed with the app's, or alone when a
        live edit restarts it)."""
        assert self.aws is not None and self.store is not None and self._stack is not None
        ctx = SourceContext(config=self.config, clock=self.clock, aws=self.aws, store=self.store,
                            dispatch=self.dispatcher.seam(), ids=self.ids)  # fmt: skip
        own = AsyncExitStack()
        self._stack.push_async_callback(own.aclose)
        source = resolve(SOURCES[kind])(triggers, ctx)
        if kind == "s3":
            source.background_sync = True  # many files in a folder do not delay readiness
        try:
            await source.start(own)
        except BaseException:
            await own.aclose()
            raise
        self.sources[kind] = source
        self._source_stacks[kind] = own
        if kind == "s3" and source.background_sync:
            self._catch_up = asyncio.create_task(self._sync_after(source), name="router-s3-sync")
            own.callback(self._catch_up.cancel)

    async def restart_source(self, kind: str, triggers: list[TriggerConfig]) -> None:
        """A live edit changed ``kind``'s triggers: update the running source in place where it
        can (HTTP: the same server and port), else stop it and start one for ``triggers``."""
        source = self.sources.get(kind)
        if source is not None and triggers and hasattr(source, "update"):
            source.update(triggers)
            return
        own = self._source_stacks.pop(kind, None)
        self.sources.pop(kind, None)
        if own is not None:
            await own.aclose()
        if triggers:
            await self._start_source(kind, triggers)

    async def reset(self, *, workers: bool = False) -> None:
        """Back to the state right after start (``Router.reset``), on the loop. Sources stop
        taking input; the dispatcher forgets its queue, retries, dead letters, checkpoints and
        journal while the embedded AWS re-creates the config's resources; the manual clock
        goes back to its start; then the sources start over (s3 folders inside ``scratch``
        emptied, stream mappings at their starting position on the fresh tables). Warm
        workers stay warm unless ``workers``."""
        t0 = time.perf_counter()
        live = [(kind, self.sources[kind]) for kind in SOURCE_KINDS if kind in self.sources]
        await asyncio.gather(*(s.pause() for _, s in live if hasattr(s, "pause")))
        jobs = [self.dispatcher.reset(), self.runtimes.reset(workers=workers)]
        if self.aws is not None:
            jobs.append(asyncio.to_thread(self.aws.reset_resources))
        await asyncio.gather(*jobs)
        if isinstance(self.clock, ManualClock):
            self.clock.reset()
        await asyncio.gather(*(
            s.reset(empty_under=self.scratch) if kind == "s3" else s.reset()
            for kind, s in live if hasattr(s, "reset")
        ))  # fmt: skip
        self.reset_at = time.perf_counter() - t0

    def _unhook_lambda_api(self) -> None:
        if self.aws is not None:
            self.aws.lambda_api = None

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
            if (target := self.runtimes.debug.get(name)) is not None:  # router/runtimes/debug.py
                lines.append(target.describe(name))
        for kind in SOURCE_KINDS:
            if kind in self.sources:
                lines.extend(self.sources[kind].describe())
        for t in self.config.triggers:
            if not t.enabled:
                lines.append(f"disabled        {t.name} ({t.kind}) -> {t.function}")
        lines.append(f"state           {self.config.state_dir}")
        return lines


async def run_daemon(
    config: Config, console: Console, *, ready: Callable[[App], None] | None = None, ui: bool = True
) -> int:
    """``router run``: start everything, print the banner, serve until SIGINT/SIGTERM (and the
    dashboard on ``settings.ui`` unless ``ui`` is False or the settings disable it)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    from . import control
    from .check import banner_warnings
    from .limits import raise_fd_limit

    raise_fd_limit()  # many connections, pipes and watches: not "Too many open files" at 1024
    app = App(config, console=console)
    app.hold_sync = True
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_stop_signal, app, stop, console)
    gc.disable()  # start-up allocates much and frees little: the cyclic GC would walk it over and over
    try:
        async with AsyncExitStack() as stack:
            await app.start(stack)
            await control.serve(config.state_dir, control.app_handler(app), stack)  # router fire
            for line in app.banner():
                console(line)
            console(f"router ready in {app.started_at * 1000:.0f} ms (Ctrl-C to stop)")
            _flush(console)  # not held for the console's next write (CONSOLE_INTERVAL)
            app.begin_sync()
            # what start-up made lives as long as the daemon: out of the cyclic GC's reach, its
            # collections do not walk it again, and the exit does not spend ~300 ms on it
            gc.freeze()
            gc.enable()
            # for people, not for triggers, so after ready: the start is CPU-bound and a thread
            # beside it only took the GIL from it (~15 ms); the dashboard's URL, then the warnings
            warnings = asyncio.ensure_future(asyncio.to_thread(banner_warnings, config))
            try:
                if ui and config.settings.ui.enabled:
                    for line in await _dashboard(app, stack):
                        console(line)
            finally:
                for line in await warnings:
                    console(line)
            if ready is not None:
                ready(app)
            from .config import load_config
            from .live import ConfigWatcher, apply

            load = partial(load_config, overrides=config.template_options or None)  # a template's --param again
            edits = asyncio.ensure_future(ConfigWatcher(config.path, partial(apply, app), load).run())  # live edits
            stack.callback(edits.cancel)
            from .memtrim import return_memory

            trimmer = asyncio.ensure_future(return_memory())  # memory back after bursts of large bodies
            stack.callback(trimmer.cancel)
            await stop.wait()
            console("router stopping: finishing in-flight invocations ...")
        left = app.dispatcher.pending() if app.dispatcher is not None else 0
        console(f"router stopped; {left} queued event(s) kept for the next start" if left else "router stopped")
    finally:
        gc.enable()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0


def _flush(console: Console) -> None:
    flush = getattr(console, "flush", None)
    if callable(flush):
        flush()


async def _dashboard(app: App, stack: AsyncExitStack) -> list[str]:
    """Serve the dashboard (:mod:`router.ui`); its banner line."""
    from . import ui

    server = await ui.serve(app, stack)
    return [] if server is None else [f"dashboard       {server.url}"]


def _on_stop_signal(app: App, stop: asyncio.Event, console: Console) -> None:
    """The first SIGINT/SIGTERM: a graceful stop (no new async event starts; requests and
    events in flight finish within their timeouts and are journaled). The second: at once
    (running async attempts are cancelled and stay queued, other invocations end as crashed)."""
    if not stop.is_set():
        stop.set()
        if app.dispatcher is not None:
            app.dispatcher.queue.stop_starting()
        return
    console("router: second signal: stopping now, cutting running invocations short")
    if app.dispatcher is not None:
        app.dispatcher.queue.abort()
    if app.runtimes is not None:
        app.runtimes.abort()


def running_daemon_endpoint(config: Config) -> str | None:
    """The daemon's embedded AWS, when one listens on the configured port."""
    aws = config.settings.aws
    if aws.endpoint != "embedded" or aws.port == 0:
        return None
    try:
        with socket.create_connection(("127.0.0.1", aws.port), timeout=0.5):
            return f"http://127.0.0.1:{aws.port}"
    except OSError:
        return None


def daemon_env(config: Config, endpoint: str) -> dict[str, str]:
    """Workers' AWS environment for a running daemon's embedded AWS at ``endpoint``."""
    from .aws import DUMMY_CREDENTIALS

    region = config.settings.region
    return {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true",
            **DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}  # fmt: skip


def any_port(config: Config) -> Config:
    """``config`` with its embedded AWS on a free port."""
    s = config.settings
    settings = s.model_copy(update={"aws": s.aws.model_copy(update={"port": 0})})
    return config.model_copy(update={"settings": settings})


def make_clock(clock: str | Clock | None) -> Clock:
    if clock is None or clock == "system":
        return Clock()
    if clock == "manual":
        return ManualClock()
    if isinstance(clock, Clock):
        return clock
    raise ValueError(f"clock must be 'system', 'manual' or a Clock, not {clock!r}")
