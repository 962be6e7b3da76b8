"""A real DynamoDBSource (real moto, real state file) with a fake SourceContext whose
``invoke`` answers stream batches with a Python callable instead of a worker.

Every event delivered is validated with powertools' DynamoDBStreamModel on arrival.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

from router.aws import Aws
from router.clock import Clock
from router.config import Config, TriggerConfig, parse_config
from router.dispatch.fakes import FakeDispatch
from router.invocation import Invocation
from router.sources.base import SourceContext
from router.sources.dynamodb import DynamoDBSource
from router.store import Store

_ids = itertools.count(1)
Handler = Callable[[str, dict[str, Any]], Any]  # (trigger name, event) -> result; raise = function error


def make_config(text: str, root: Path, *, state: Path | None = None, endpoint: str = "embedded",
                region: str = "eu-west-1") -> Config:  # fmt: skip
    """A config from ``functions``/``resources``/``triggers`` YAML (no handler files needed)."""
    head = (
        "version: 1\n"
        f"settings: {{region: {region}, aws: {{endpoint: '{endpoint}', port: 0}},"
        f" state_dir: '{state or root / '.state'}'}}\n"
    )
    return parse_config(head + text, str(root / "triggers.yaml"), root=root, check_files=False)


def keys(event: dict[str, Any]) -> list[str]:
    """The ``pk`` of each record of a delivered event."""
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]


class Harness:
    """``with Harness(config, handler) as h:`` runs the source on a loop thread; the test's
    thread writes with ``h.table(name)`` and waits with ``h.wait_for(...)``."""

    def __init__(self, config: Config, handler: Handler | None = None, *, clock: Clock | None = None) -> None:
        self.config = config
        self.handler = handler or (lambda trigger, event: None)
        self.clock = clock or Clock()
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (trigger, event) of every invocation
        self.emitted: list[tuple[TriggerConfig, Any]] = []  # emit_async: on-failure functions
        self.invalid: list[str] = []
        self.cond = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ddb-harness-loop")
        self.stack = AsyncExitStack()
        self.source: DynamoDBSource | None = None
        self.aws: Aws | None = None

    def __enter__(self) -> Harness:
        self.thread.start()
        try:
            self.run(self._start(), timeout=60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self.stack.aclose(), timeout=120)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.aws = Aws(self.config)
        await self.aws.start(self.stack)
        store = Store(self.config.state_dir)

        async def invoke(trigger: TriggerConfig, event: Any, attempt: int = 1) -> Invocation:
            inv = self._invoke(trigger, event)
            inv.attempt = attempt
            return inv

        async def emit_async(trigger: TriggerConfig, event: Any) -> str:
            with self.cond:
                self.emitted.append((trigger, event))
                self.cond.notify_all()
            return f"event-{next(_ids)}"

        dispatch = FakeDispatch(self.config, submit=emit_async, invoke=invoke, clock=self.clock, store=store)
        await dispatch.start(self.stack)
        ctx = SourceContext(config=self.config, aws=self.aws, store=store, clock=self.clock, dispatch=dispatch)
        triggers = [t for t in self.config.triggers if t.kind == "dynamodb" and t.enabled]
        self.source = DynamoDBSource(triggers, ctx)
        await self.source.start(self.stack)

    def _invoke(self, trigger: TriggerConfig, event: dict[str, Any]) -> Invocation:
        try:
            parse(event=event, model=DynamoDBStreamModel)
        except Exception as exc:  # recorded, the test fails on it
            self.invalid.append(f"{exc}")
        request_id = f"req-{next(_ids)}"
        with self.cond:
            self.calls.append((trigger.name, event))
            self.cond.notify_all()
        try:
            result = self.handler(trigger.name, event)
        except Exception as exc:
            return Invocation(id=request_id, function=trigger.function, trigger=trigger.name, source="dynamodb",
                              event=event, status="error",
                              error={"errorType": type(exc).__name__, "errorMessage": str(exc)})  # fmt: skip
        return Invocation(id=request_id, function=trigger.function, trigger=trigger.name, source="dynamodb",
                          event=event, result=result)  # fmt: skip

    # ------------------------------------------------------------------ test side

    def table(self, name: str) -> Any:
        assert self.aws is not None
        return self.aws.resource("dynamodb").Table(name)

    def events(self, trigger: str | None = None) -> list[dict[str, Any]]:
        with self.cond:
            return [e for t, e in self.calls if trigger is None or t == trigger]

    def records(self, trigger: str | None = None) -> list[dict[str, Any]]:
        return [r for e in self.events(trigger) for r in e["Records"]]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what or predicate}; calls: "
                                         f"{[(t, keys(e)) for t, e in self.calls]}")  # fmt: skip
                self.cond.wait(min(left, 0.05))

    def wait_records(self, n: int, trigger: str | None = None, timeout: float = 15) -> list[dict[str, Any]]:
        self.wait_for(lambda: len(self.records(trigger)) >= n, timeout, f"{n} record(s) for {trigger or 'any'}")
        return self.records(trigger)

    def idle(self, trigger: str | None = None, timeout: float = 15) -> None:
        """Until the mapping(s) have done every record read so far."""
        assert self.source is not None
        self.run(self.source.wait_idle(trigger), timeout)

    def mapping(self, trigger: str) -> dict[str, Any]:
        assert self.source is not None
        return next(m for m in self.source.mappings() if m["trigger"] == trigger)

    def read(self, trigger: str) -> int:
        return sum(s["read"] for s in self.mapping(trigger)["shards"])

    def settle(self, seconds: float = 0.5) -> None:
        """Give the pollers time to see what there is (used before asserting that nothing came)."""
        time.sleep(seconds)


def failure_files(folder: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []
