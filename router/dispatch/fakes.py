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
from functools import partial
from typing import Any

from ..clock import Clock
from ..errors import ThrottledError
from ..types import Reservation

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
        self._config: Any = None
        self.clock = clock or Clock()
        self.timeout = timeout  # seconds, for the timeout message
        self.calls: list[FakeCall] = []
        self._busy: Counter[str] = Counter()
        self._cold: set[str] = set()
        self._freed: asyncio.Condition | None = None
        self._waiting: Counter[str] = Counter()
        self._on_release: list[Callable[[], None]] = []

    def bind(self, config: Any) -> FakeRuntime:
        """Also cap each function at its config's reserved concurrency, as the real pool does."""
        self._config = config
        return self

    def concurrency(self, function: str) -> int:
        if isinstance(self._concurrency, int):
            n = self._concurrency
        else:
            n = self._concurrency.get(function, 4)
        if self._config is not None and function in self._config.functions:
            n = min(n, self._config.functions[function].concurrency)
        return n

    async def start(self, stack: AsyncExitStack) -> None:
        self._freed = asyncio.Condition()

    def free_slots(self, function: str) -> int:
        return max(0, self.concurrency(function) - self._busy[function])

    def busy(self, function: str) -> int:
        return self._busy[function]

    def reserve(self, function: str) -> Reservation | None:
        if self.free_slots(function) <= 0 or self._waiting[function]:
            return None
        self._busy[function] += 1
        return Reservation(partial(self._give_back, function))

    def _give_back(self, function: str) -> None:
        self._busy[function] -= 1
        for callback in list(self._on_release):
            callback()

    def on_release(self, callback: Callable[[], None]) -> None:
        self._on_release.append(callback)

    async def invoke(
        self,
        function: str,
        event: Any,
        *,
        request_id: str | None = None,
        wait: bool = True,
        client_context: dict[str, Any] | None = None,
        queue_limit: int | None = None,
        reservation: Reservation | None = None,
        event_json: str | None = None,
        identity: dict[str, Any] | None = None,
        stream: Any = None,  # a fake function never streams: its answer is the whole response
    ) -> FakeOutcome:
        if self._freed is None:
            self._freed = asyncio.Condition()
        if reservation is None or not reservation.take():
            await self._admit(function, wait, queue_limit)
        try:
            return await self._run(function, event, request_id or str(uuid.uuid4()), client_context)
        finally:
            await self._free(function)

    async def _admit(self, function: str, wait: bool, queue_limit: int | None) -> None:
        assert self._freed is not None
        if self.free_slots(function) <= 0 or self._waiting[function]:
            if not wait or (queue_limit is not None and self._waiting[function] >= queue_limit):
                raise ThrottledError(f"{function} is at its concurrency ({self.concurrency(function)})")
            self._waiting[function] += 1
            try:
                async with self._freed:
                    await self._freed.wait_for(lambda: self.free_slots(function) > 0)
            finally:
                self._waiting[function] -= 1
        self._busy[function] += 1

    async def _free(self, function: str) -> None:
        self._busy[function] -= 1
        for callback in list(self._on_release):
            callback()
        if self._freed is not None:
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


SubmitFn = Callable[[Any, Any], Any]  # (trigger, event) -> event id, or an awaitable of it
InvokeFn = Callable[[Any, Any, int], Any]  # (trigger, event, attempt) -> Invocation, or an awaitable of it


class FakeDispatch:
    """:class:`router.types.Dispatch` for source tests, in process, with no queue and no workers.

    ``submit(trigger, event)`` answers asynchronous invocations (default: collect them in
    ``submitted`` and return a new id, pending until the test discards it from ``pending``);
    ``invoke(trigger, event, attempt)`` answers synchronous ones (an :class:`Invocation`).
    ``invoke`` keeps the seam's admission rule (``queue_factor``: beyond concurrency x (1 +
    factor) invocations in flight, ThrottledError) and its ``give_up_after`` timer. Streams
    run dispatch's real mapping policy over ``invoke``, with checkpoints in ``store``'s state
    file: call ``await start(stack)`` first when a test opens a stream.
    """

    def __init__(self, config: Any, *, submit: SubmitFn | None = None, invoke: InvokeFn | None = None,
                 clock: Clock | None = None, store: Any = None) -> None:  # fmt: skip
        self.config = config
        self.clock = clock or Clock()
        self.store = store
        self.submitted: list[tuple[Any, Any, str]] = []  # (trigger, event, event id)
        self.causes: list[tuple[Any, Any, dict[str, Any]]] = []  # (trigger, event, cause) of submit_threadsafe
        self.pending: set[str] = set()
        self._submit = submit
        self._invoke = invoke
        self._inflight: Counter[str] = Counter()
        self._writer: Any = None

    async def start(self, stack: AsyncExitStack) -> None:
        if self.store is not None:
            from .writer import DbWriter

            self._writer = DbWriter(self.store, name="fake-dispatch-db")
            self._writer.start()
            stack.push_async_callback(asyncio.to_thread, self._writer.close)

    async def submit(self, trigger: Any, event: Any) -> str:
        if self._submit is not None:
            answer = self._submit(trigger, event)
            event_id: str = await answer if inspect.isawaitable(answer) else answer
        else:
            event_id = str(uuid.uuid4())
            self.submitted.append((trigger, event, event_id))
        self.pending.add(event_id)
        return event_id

    def submit_threadsafe(self, trigger: Any, event: Any, *, cause: dict[str, Any] | None = None) -> str:
        if cause is not None:
            self.causes.append((trigger, event, cause))
        if self._submit is not None:
            event_id: str = self._submit(trigger, event)
        else:
            event_id = str(uuid.uuid4())
            self.submitted.append((trigger, event, event_id))
        self.pending.add(event_id)
        return event_id

    def event_pending(self, event_id: str) -> bool:
        return event_id in self.pending

    async def invoke(
        self, trigger: Any, event: Any, *, give_up_after: float | None = None,
        on_give_up: Callable[[], bool] | None = None, queue_factor: int | None = None,
        attempt: int = 1, stream: Any = None,
    ) -> Any:  # fmt: skip
        if self._invoke is None:
            raise AssertionError("this FakeDispatch answers no synchronous invocation")
        function = trigger.function
        if queue_factor is not None:
            concurrency = self.config.functions[function].concurrency
            if self._inflight[function] >= concurrency * (1 + queue_factor):
                raise ThrottledError(f"function {function!r} is at its concurrency ({concurrency} running)")
        timer = None
        if give_up_after is not None and on_give_up is not None:
            timer = asyncio.get_running_loop().call_later(give_up_after, on_give_up)
        self._inflight[function] += 1
        try:
            answer = self._invoke(trigger, event, attempt)
            return await answer if inspect.isawaitable(answer) else answer
        finally:
            self._inflight[function] -= 1
            if timer is not None:
                timer.cancel()

    async def open_queue(self, trigger: Any, queue_arn: str, io: Any, *, fifo: bool) -> Any:
        """Dispatch's real queue policy over ``invoke`` (no store needed)."""
        from .queue_mapping import QueueConsumer, queue_filter, queue_settings

        async def invoke(event: Any, attempt: int, note: Callable[[Any], object]) -> Any:
            inv = await self.invoke(trigger, event, attempt=attempt)
            note(inv)
            return inv

        concurrency = self.config.functions[trigger.function].concurrency
        return QueueConsumer(queue_settings(trigger, concurrency, fifo=fifo), invoke=invoke, clock=self.clock,
                             io=io, record_filter=queue_filter(trigger), name=f"sqs {trigger.name}")  # fmt: skip

    async def open_stream(self, trigger: Any, source_arn: str) -> Any:
        from .stream_mapping import Checkpoints, StreamMapping, compile_filters

        if self._writer is None:
            raise AssertionError("FakeDispatch.open_stream needs a store and `await start(stack)`")

        async def invoke(t: Any, event: Any, attempt: int) -> Any:
            return await self.invoke(t, event, attempt=attempt)

        return StreamMapping(trigger, source_arn, config=self.config, clock=self.clock,
                             record_filter=compile_filters([trigger])[trigger.name],
                             checkpoints=Checkpoints(self._writer, self.clock), invoke=invoke,
                             submit=self.submit)  # fmt: skip
