"""A real S3Source (real observer, real embedded AWS, real state file) with a fake
SourceContext whose emit records the events instead of queueing them for workers.

Every event the source emits is validated with powertools' S3Model on arrival.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3Model

from router.aws import Aws
from router.clock import Clock
from router.config import Config, TriggerConfig, parse_config
from router.dispatch.fakes import FakeDispatch
from router.sources.base import SourceContext
from router.sources.s3 import S3Source
from router.store import Store


def make_config(triggers: str, root: Path, state: Path | None = None) -> Config:
    """A config with one function ``fn`` and the given ``triggers:`` list (YAML, indented)."""
    text = (
        "version: 1\n"
        f"settings: {{aws: {{port: 0}}, state_dir: {state or root / '.state'}}}\n"
        "functions:\n  fn: {handler: h.handler}\n  other: {handler: h.handler}\n"
        f"triggers:\n{triggers}"
    )
    return parse_config(text, str(root / "triggers.yaml"), root=root, check_files=False)


class Harness:
    """Start with ``with Harness(config) as h:``; ``h.events(n)`` waits for n events."""

    def __init__(self, config: Config, *, polling: bool = False, fail_emits: int = 0) -> None:
        self.config = config
        self.polling = polling
        self.fail_emits = fail_emits
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self.cond = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="s3-harness-loop")
        self.stack = AsyncExitStack()
        self.source: S3Source | None = None
        self.aws: Aws | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Harness:
        self.thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.stack.aclose(), self.loop).result(120)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        self.aws = Aws(self.config)
        await self.aws.start(self.stack)
        store = Store(self.config.state_dir)

        dispatch = FakeDispatch(self.config, submit=self.emit)
        ctx = SourceContext(config=self.config, aws=self.aws, store=store, clock=Clock(), dispatch=dispatch)
        triggers = [t for t in self.config.triggers if t.kind == "s3" and t.enabled]
        self.source = S3Source(triggers, ctx, polling=self.polling)
        await self.source.start(self.stack)

    def emit(self, trigger: TriggerConfig, event: Any) -> str:
        with self.cond:
            if self.fail_emits > 0:
                self.fail_emits -= 1
                raise RuntimeError("the queue is closed (test)")
            try:
                S3Model.model_validate(event)
            except Exception as exc:
                self.invalid.append(f"{exc}\n{event}")
            self.received.append((trigger.name, event))
            self.cond.notify_all()
        return str(uuid.uuid4())

    # ------------------------------------------------------------------ helpers

    @property
    def s3(self) -> Any:
        assert self.aws is not None
        return self.aws.client("s3")

    def folder(self, trigger: str) -> Path:
        assert self.source is not None
        return self.source.folder(trigger)

    def events(self, count: int, timeout: float = 15) -> list[tuple[str, dict[str, Any]]]:
        """The first ``count`` events (trigger name, event), waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [summary(e) for _, e in self.received]
                    raise AssertionError(f"expected {count} events, got {len(got)}: {got}")
                self.cond.wait(left)
            assert not self.invalid, self.invalid
            return list(self.received[:count])

    def records(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        out = []
        for _, event in self.events(count, timeout):
            assert len(event["Records"]) == 1
            out.append(event["Records"][0])
        return out

    def idle(self, extra: float = 0.6) -> None:
        """Wait until the source has nothing queued or settling, then ``extra`` seconds
        more (for events that would arrive late: duplicates)."""
        assert self.source is not None and self.source.syncer is not None
        syncer = self.source.syncer
        deadline = time.monotonic() + 30
        while (syncer.queue.qsize() or syncer.pending) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(extra)

    def count(self) -> int:
        with self.cond:
            return len(self.received)


def summary(event: dict[str, Any]) -> str:
    r = event["Records"][0]
    return f"{r['eventName']} {r['s3']['bucket']['name']}/{r['s3']['object']['key']}"


def trigger(name: str, s3: str, function: str = "fn") -> str:
    return f"  - name: {name}\n    function: {function}\n    s3: {s3}\n"
