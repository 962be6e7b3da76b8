"""``from router import Router``: the whole system from a triggers.yaml, driven from tests.

``with Router("triggers.yaml") as r:`` runs the very code of ``router run`` (the same
:class:`~router.app.App`) on an event loop in a background thread, like starlette's
TestClient runs an app behind a blocking portal. By default (``isolated=True``) the HTTP
and AWS ports are free ones and the state folder is a temporary one, whatever the file
says, so tests run in parallel (and beside a running daemon) without clashing;
``isolated=False`` runs the config exactly as ``router run`` would.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

from . import loops
from .app import App, make_clock
from .clock import Clock, ManualClock
from .config import Config, load_config, parse_config
from .errors import RouterError, UsageError
from .httpclient import HttpClient
from .invocation import Invocation

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """``Router.wait`` saw fewer matching invocations than asked for in time."""


class AwsHandle:
    """boto3 clients and resources bound to the router's AWS endpoint."""

    def __init__(self, app: App) -> None:
        assert app.aws is not None
        self._aws = app.aws
        self.endpoint_url = app.aws.endpoint_url
        self.region = app.config.settings.region

    def client(self, service: str) -> Any:
        return self._aws.client(service)

    def resource(self, service: str) -> Any:
        return self._aws.resource(service)


class Router:
    """A running router. See SPEC.md "Python API"."""

    def __init__(
        self,
        config: str | Path | Config = "triggers.yaml",
        *,
        clock: str | Clock | None = None,
        console: Callable[[str], None] | None = None,
        start_timeout: float = 60,
        isolated: bool = True,
        **overrides: Any,
    ) -> None:
        self._temp_dir: str | None = None
        self.config = self._load(config, overrides, isolated)
        self.clock = make_clock(clock)
        self._console = console
        self._start_timeout = start_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._app: App | None = None
        self._seen: list[Invocation] = []
        self._consumed: set[int] = set()
        self._cond = threading.Condition()
        self._http: HttpClient | None = None
        self._aws: AwsHandle | None = None

    # ------------------------------------------------------------------ config

    def _load(self, config: str | Path | Config, overrides: dict[str, Any], isolated: bool) -> Config:
        """The config, isolated unless asked otherwise: free HTTP and AWS ports and a temporary
        state folder, whatever the file says (a daemon may be running on its ports), except
        where ``overrides`` set them explicitly."""
        if isinstance(config, Config):
            if overrides:
                raise UsageError("overrides go with a config path, not a Config object")
            loaded = config
        else:
            loaded = load_config(config, overrides=overrides or None)
            for note in loaded.notes:  # a template's parts router does not emulate (router.templates)
                logging.getLogger(__name__).warning("%s: %s", config, note)
        if not isolated:
            return loaded
        settings = loaded.settings
        given = overrides.get("settings", {}) if isinstance(overrides.get("settings"), dict) else {}
        update: dict[str, Any] = {}
        if "port" not in (given.get("http") or {}):
            update["http"] = settings.http.model_copy(update={"port": 0})
        if "port" not in (given.get("aws") or {}):
            update["aws"] = settings.aws.model_copy(update={"port": 0})
        if "state_dir" not in given:
            self._temp_dir = tempfile.mkdtemp(prefix="router-state-")
            update["state_dir"] = self._temp_dir
        if update:
            loaded = loaded.model_copy(update={"settings": settings.model_copy(update=update)})
        if self._temp_dir is not None:
            loaded = _relocate(loaded, Path(self._temp_dir))
        return loaded

    @classmethod
    def from_text(cls, text: str, root: str | Path, **kwargs: Any) -> Router:
        """A router from YAML text (paths in it are relative to ``root``)."""
        return cls(parse_config(text, str(Path(root) / "triggers.yaml"), root=Path(root)), **kwargs)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Router:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Router:
        if self._thread is not None:
            raise UsageError("this Router is already started")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="router-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            self.stop()
            raise RouterError(f"router did not start within {self._start_timeout:g} s")
        if self._error is not None:
            error, self._error = self._error, None
            self._join()
            self._cleanup()
            raise error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop_event.set)
            except RuntimeError:
                pass  # the loop already ended
        self._join()
        self._cleanup()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def reset(self, *, workers: bool = False) -> None:
        """Back to the state right after start, in milliseconds: the embedded AWS's resources
        emptied and re-created from the config (tables with their seed data, buckets), the s3
        folders of an isolated router emptied, the async queue, retries, dead letters, stream
        checkpoints and journal cleared, a manual clock back at its start, ``invocations()``
        empty. Warm workers stay warm (their module state is the handler's business, as on
        Lambda); ``workers=True`` replaces them."""
        self.call(self.app.reset(workers=workers), timeout=self._start_timeout)
        self.clear()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self._app = None
        self._loop = None
        self._aws = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def _cleanup(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def _run(self) -> None:
        try:
            loops.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        app = App(self.config, clock=self.clock, console=self._console)
        app.scratch = Path(self._temp_dir) if self._temp_dir is not None else None
        async with AsyncExitStack() as stack:
            await app.start(stack)
            stack.callback(app.dispatcher.subscribe(self._on_invocation))
            self._app = app
            self._ready.set()
            await self._stop_event.wait()

    def _on_invocation(self, inv: Invocation) -> None:
        with self._cond:
            self._seen.append(inv)
            self._cond.notify_all()

    @property
    def app(self) -> App:
        if self._app is None or self._loop is None:
            raise UsageError("the Router is not started (use `with Router(...) as r:` or r.start())")
        return self._app

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the router's loop and wait for its result."""
        self.app  # noqa: B018 - raises when not started
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # ------------------------------------------------------------------ invoking

    def invoke(self, function: str, event: Any = None) -> Invocation:
        """One synchronous invocation (RequestResponse), journaled like any other."""
        self._function(function)
        inv: Invocation = self.call(self.app.dispatcher.invoke(function, {} if event is None else event))
        return inv

    def invoke_async(self, function: str, event: Any = None) -> str:
        """Queue an asynchronous invocation (Event) with the function's async rules; its id."""
        self._function(function)
        event_id: str = self.call(self.app.dispatcher.enqueue(function, {} if event is None else event))
        return event_id

    def _function(self, name: str) -> None:
        if name not in self.config.functions:
            known = ", ".join(sorted(self.config.functions)) or "none"
            raise UsageError(f"no function named {name!r} (functions: {known})")

    # ------------------------------------------------------------------ sources

    def _source(self, kind: str, trigger: str) -> tuple[Any, str]:
        try:
            t = self.config.trigger(trigger)
        except KeyError:
            matches = [x.name for x in self.config.triggers if x.kind == kind]
            raise UsageError(f"no {kind} trigger named {trigger!r} (have: {', '.join(matches) or 'none'})") from None
        if t.kind != kind:
            raise UsageError(f"trigger {t.name!r} is a {t.kind} trigger, not {kind}")
        source = self.app.source(kind)
        if source is None or not t.enabled:
            raise UsageError(f"trigger {t.name!r} is disabled")
        return source, t.name

    def drop(self, trigger: str, key: str, data: bytes | str = b"") -> Path:
        """Write a file into an s3 trigger's folder (the watcher turns it into an event)."""
        source, name = self._source("s3", trigger)
        path: Path = source.drop(name, key, data.encode() if isinstance(data, str) else data)
        return path

    def remove(self, trigger: str, key: str) -> None:
        """Delete a file from an s3 trigger's folder (an ObjectRemoved:Delete event)."""
        source, name = self._source("s3", trigger)
        source.remove(name, key)

    def fire(self, trigger: str, input: Any = None) -> str:
        """Fire a schedule trigger now (by trigger name or function name); the event id."""
        source, name = self._source("schedule", trigger)
        event_id: str = self.call(source.fire(name, input))
        return event_id

    def send(
        self, queue: str, body: Any, /, *, group_id: str | None = None, deduplication_id: str | None = None,
        delay: int | None = None, **attributes: Any,
    ) -> str:  # fmt: skip
        """SendMessage to a queue (``resources.queues`` key or AWS name); the MessageId. A body
        that is not a string is sent as JSON; keyword arguments are message attributes (a
        number is a Number, bytes Binary, else String). Wait with ``wait(function)``."""
        from .sources.sqs import send_message

        app = self.app
        return send_message(app.aws, app.config, queue, body, group_id=group_id,
                            deduplication_id=deduplication_id, delay=delay, attributes=attributes)  # fmt: skip

    def publish(self, topic: str, message: Any, /, *, subject: str | None = None, group_id: str | None = None,
                **attributes: Any) -> str:  # fmt: skip
        """Publish to an SNS topic (``resources.topics`` key or AWS name) through the embedded
        AWS; the MessageId. A message that is not a string is sent as JSON; keyword arguments
        are message attributes (a number is a Number, bytes Binary, a list String.Array)."""
        from . import aws_pubsub

        return aws_pubsub.publish(self.app.config, self.aws.client, topic, message, subject=subject,
                                  attributes=attributes, group_id=group_id)  # fmt: skip

    def put_event(self, source: str, detail_type: str, detail: Any, bus: str = "default") -> str:
        """PutEvents of one entry on a bus through the embedded AWS; its EventId (ValueError
        with EventBridge's ErrorCode when the entry is refused)."""
        from . import aws_pubsub

        return aws_pubsub.put_event(self.aws.client, source, detail_type, detail, bus)

    def advance(self, seconds: float) -> None:
        """Move the manual clock forward (``Router(..., clock="manual")``)."""
        if not isinstance(self.clock, ManualClock):
            raise UsageError('advance() needs Router(..., clock="manual")')
        self.call(self.clock.advance(seconds))

    @property
    def http(self) -> HttpClient:
        """An HTTP client bound to the router's server (``r.http.get("/hello")``)."""
        if self._http is None:
            source = self.app.source("http")
            if source is None:
                raise UsageError("the config has no enabled http trigger")
            self._http = HttpClient(source.base_url)
        return self._http

    @property
    def aws(self) -> AwsHandle:
        if self._aws is None:
            self._aws = AwsHandle(self.app)
        return self._aws

    # ------------------------------------------------------------------ observing

    def invocations(self, function: str | None = None, trigger: str | None = None) -> list[Invocation]:
        """Finished invocation attempts since start (or the last clear()), oldest first."""
        with self._cond:
            return [i for i in self._seen if _matches(i, function, trigger, None)]

    def clear(self) -> None:
        with self._cond:
            self._seen.clear()
            self._consumed.clear()

    def wait(
        self,
        function: str | None = None,
        count: int = 1,
        timeout: float = 10,
        where: Callable[[Invocation], bool] | None = None,
        trigger: str | None = None,
    ) -> Any:
        """The next ``count`` finished invocations of ``function`` not returned before.

        Returns one Invocation when count == 1, else a list. Raises WaitTimeout with what
        did happen when fewer arrive within ``timeout`` seconds."""
        if function is not None:
            self._function(function)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    n for n, inv in enumerate(self._seen)
                    if n not in self._consumed and _matches(inv, function, trigger, where)
                ]  # fmt: skip
                if len(found) >= count:
                    picked = found[:count]
                    self._consumed.update(picked)
                    result = [self._seen[n] for n in picked]
                    return result[0] if count == 1 else result
                left = deadline - time.monotonic()
                if left <= 0 or (self._thread is None):
                    raise WaitTimeout(self._explain(function, trigger, count, len(found), timeout))
                self._cond.wait(left)

    def _explain(self, function: str | None, trigger: str | None, count: int, got: int, timeout: float) -> str:
        what = f"function {function!r}" if function else "any function"
        if trigger:
            what += f" via trigger {trigger!r}"
        lines = [f"waited {timeout:g} s for {count} invocation(s) of {what}; {got} matched."]
        if not self._seen:
            lines.append("No invocation finished at all since the router started (or the last clear()).")
        else:
            lines.append("What did happen (oldest first):")
            for n, inv in enumerate(self._seen):
                mark = "  (already returned)" if n in self._consumed else ""
                lines.append(f"  - {inv.summary()}{mark}")
        return "\n".join(lines)


def _relocate(config: Config, temp: Path) -> Config:
    """Move the folders a router writes to (s3 trigger folders, destination folders) under
    ``temp`` when the config gives them relative to itself, so that parallel routers on one
    config do not see each other's files. Bucket names stay what the config meant."""

    def moved(folder: str) -> str:
        return folder if Path(folder).is_absolute() else str(temp / "files" / folder)

    def destination(d: Any) -> Any:
        return d.model_copy(update={"dir": moved(d.dir)}) if d is not None and d.dir else d

    triggers = []
    for t in config.triggers:
        if t.s3 is not None:
            s3 = t.s3.model_copy(update={"dir": moved(t.s3.dir), "bucket": t.s3.bucket or Path(t.s3.dir).name}
                                 if t.s3.dir is not None else {})  # fmt: skip
            t = t.model_copy(update={"s3": s3})
        elif t.dynamodb is not None and t.dynamodb.on_failure is not None:
            t = t.model_copy(update={"dynamodb": t.dynamodb.model_copy(
                update={"on_failure": destination(t.dynamodb.on_failure)})})
        triggers.append(t)
    functions = {}
    for name, f in config.functions.items():
        a = f.async_
        a = a.model_copy(update={"on_failure": destination(a.on_failure), "on_success": destination(a.on_success)})
        functions[name] = f.model_copy(update={"async_": a})
    return config.model_copy(update={"triggers": tuple(triggers), "functions": functions})


def _matches(
    inv: Invocation, function: str | None, trigger: str | None, where: Callable[[Invocation], bool] | None
) -> bool:
    return (
        (function is None or inv.function == function)
        and (trigger is None or inv.trigger == trigger)
        and (where is None or bool(where(inv)))
    )
