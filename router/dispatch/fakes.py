"""A fake runtime for tests of dispatch policy (retries, ages, destinations, concurrency).

Modelled on httpx's ``MockTransport``: hand it a function and it answers every
invocation with it, in process, with no worker::

    def handler(function, event):
        if event.get("fail"):
            raise ValueError("boom")          # -> status "error", errorType "ValueError"
        return {"seen": event}                 # -> status "ok", this result

    runtime = FakeRuntime(handler, concurrency=2)

The handler may be ``async`` (to hold a slot until a test says so). Raise
:class:`FakeTimeout` or :class:`FakeCrash` for those outcomes. ``runtime.calls`` lists
every invocation made, in order. Concurrency is per function: ``invoke(..., wait=False)``
on a full function raises ``ThrottledError`` as the real runtime does.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..errors import ThrottledError

Handler = Callable[[str, Any], Any]


class FakeTimeout(Exception):
    """Raise from a fake handler: the invocation ends as a timeout."""


class FakeCrash(Exception):
    """Raise from a fake handler: the worker "dies" (status crashed)."""


@dataclass
class FakeOutcome:
    request_id: str
    status: str
    result: Any = None
    error: dict[str, Any] | None = None
    logs: str = ""
    started_at: float = 0.0
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    init_duration_ms: float | None = None
    max_memory_mb: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class FakeCall:
    function: str
    event: Any
    request_id: str
    started_at: float
    client_context: dict[str, Any] | None = None


class FakeRuntime:
    """Answers invocations with ``handler(function, event)``; see the module docstring."""

    def __init__(
        self,
        handler: Handler,
        *,
        concurrency: int | Mapping[str, int] = 4,
        clock: Clock | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.handler = handler
        self._concurrency = concurrency
        self.clock = clock or Clock()
        self.timeout = timeout  # seconds, for the timeout message
        self.calls: list[FakeCall] = []
        self._busy: Counter[str] = Counter()
        self._cold: set[str] = set()
        self._freed: asyncio.Condition | None = None

    def concurrency(self, function: str) -> int:
        if isinstance(self._concurrency, int):
            return self._concurrency
        return self._concurrency.get(function, 4)

    async def start(self, stack: AsyncExitStack) -> None:
        self._freed = asyncio.Condition()

    def free_slots(self, function: str) -> int:
        return max(0, self.concurrency(function) - self._busy[function])

    def busy(self, function: str) -> int:
        return self._busy[function]

    async def invoke(
        self,
        function: str,
        event: Any,
        *,
        request_id: str | None = None,
        wait: bool = True,
        client_context: dict[str, Any] | None = None,
    ) -> FakeOutcome:
        if self._freed is None:
            self._freed = asyncio.Condition()
        if self.free_slots(function) <= 0:
            if not wait:
                raise ThrottledError(f"{function} is at its concurrency ({self.concurrency(function)})")
            async with self._freed:
                await self._freed.wait_for(lambda: self.free_slots(function) > 0)
        self._busy[function] += 1
        try:
            return await self._run(function, event, request_id or str(uuid.uuid4()), client_context)
        finally:
            self._busy[function] -= 1
            async with self._freed:
                self._freed.notify_all()

    async def _run(
        self, function: str, event: Any, request_id: str, client_context: dict[str, Any] | None
    ) -> FakeOutcome:
        started_at = self.clock.time()
        self.calls.append(FakeCall(function, event, request_id, started_at, client_context))
        cold = function not in self._cold
        self._cold.add(function)
        t0 = time.perf_counter()
        status, result = "ok", None
        error: dict[str, Any] | None = None
        try:
            result = self.handler(function, event)
            if inspect.isawaitable(result):
                result = await result
        except FakeTimeout:
            status = "timeout"
            error = {"errorMessage": f"{request_id} Task timed out after {self.timeout:.2f} seconds"}
        except FakeCrash as exc:
            status = "crashed"
            error = {"errorType": "Runtime.ExitError",
                     "errorMessage": f"RequestId: {request_id} Error: Runtime exited: {exc}"}  # fmt: skip
        except Exception as exc:
            status = "error"
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
                     "stackTrace": traceback.format_tb(exc.__traceback__)}  # fmt: skip
        duration = (time.perf_counter() - t0) * 1000
        return FakeOutcome(
            request_id=request_id, status=status, result=result, error=error,
            logs=_frame(request_id, function, duration), started_at=started_at,
            duration_ms=duration, billed_duration_ms=max(1, int(duration + 0.999)),
            init_duration_ms=1.0 if cold else None, max_memory_mb=16,
        )  # fmt: skip


def _frame(request_id: str, function: str, duration_ms: float) -> str:
    return (
        f"START RequestId: {request_id} Version: $LATEST\n"
        f"fake runtime: {function}\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 16 MB\t\n"
    )
