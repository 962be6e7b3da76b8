"""The workers of one function: warm reuse, concurrency, reaping, hot reload, and the
composition of an :class:`Outcome` from what a worker replied.

- One invocation at a time per worker; at most ``concurrency`` invocations (so workers) at
  once. A caller over the limit waits its turn (FIFO), or gets ThrottledError with
  ``wait=False`` or when ``queue_limit`` callers wait already. This is the one place that
  counts what is running: dispatch asks it (``free_slots``, ``reserve``), nobody else counts.
- An idle worker is reused, the most recently used first (so the others age out and are
  reaped after ``idle_timeout``). A worker that timed out, went over its memory, crashed or
  whose code changed on disk is never reused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..config import Config, FunctionConfig
from ..errors import InvocationError, ThrottledError
from ..types import Reservation
from . import logs, node_sdk
from .base import (
    INIT_LIMIT_S,
    Outcome,
    RuntimeSpec,
    exit_error,
    function_arn,
    log_stream_name,
    timeout_error,
    worker_environment,
)  # fmt: skip
from .debug import INIT_WAIT_S, DebugTarget
from .logs import LogSink, OnLog
from .memory import tcp_client_on
from .streaming import KEEP_LIMIT, StreamedResponse
from .worker import Reply, Watchdog, Worker, invoke_frame

log = logging.getLogger(__name__)

RESPONSE_LIMIT = KEEP_LIMIT  # Lambda's 6 MB for a buffered response (router/runtimes/streaming.py)


def debugger_attached(worker: Worker, port: int) -> bool:
    return tcp_client_on(worker.pid or None, port)


class FunctionPool:
    """Warm workers of one function and the invocations running in them."""

    def __init__(
        self, fn: FunctionConfig, config: Config, spec: RuntimeSpec, env: Mapping[str, str],
        on_log: OnLog | None, on_loaded: Callable[[str, list[str]], None] | None = None,
    ) -> None:  # fmt: skip
        self.fn = fn
        self.config = config
        self.spec = spec
        self.env = env
        self.on_log = on_log
        self.on_loaded = on_loaded  # (function, files its worker loaded): hot reload
        self.debug: DebugTarget | None = None  # a debugger may attach (set by Runtimes; router/runtimes/debug.py)
        self.cap_kb = (fn.memory + spec.allowance_mb) * 1024
        self.arn = function_arn(config, fn)
        self.platform = logs.PlatformLines(fn.logging.format, fn.logging.system_level, self.arn)
        self.workers: set[Worker] = set()
        self.idle: list[Worker] = []
        self.busy = 0
        self.generation = 0
        self._waiters: deque[asyncio.Future[Worker | None]] = deque()
        self._watchdog = Watchdog()
        self._closing = False
        self.on_release: list[Callable[[], None]] = []  # called when a slot becomes free
        self.sdk: node_sdk.SdkInstaller | None = None  # Node.js: the AWS SDK when the project lacks it
        self._sdk_reloaded: set[str] = set()  # packages a handler required after its worker started

    # -------------------------------------------------------------------------- slots

    def free_slots(self) -> int:
        return max(0, self.fn.concurrency - self.busy)

    @property
    def waiting(self) -> int:
        """Invocations waiting for a slot."""
        return len(self._waiters)

    def reserve(self) -> Reservation | None:
        """A slot now, for an invocation that starts a little later (the async queue decides
        on the loop, the invocation runs in its own task), or None when the function is full.
        The slot is the invocation's once it is passed to :meth:`invoke`, else
        :meth:`Reservation.release` gives it back."""
        if self._closing or self.busy >= self.fn.concurrency or self._waiters:
            return None
        self.busy += 1
        return Reservation(partial(self._release, None))

    async def _acquire(self, wait: bool, queue_limit: int | None) -> Worker | None:
        """A slot, with an idle worker in it (or None: start one)."""
        if self._closing:
            raise InvocationError(f"cannot invoke {self.fn.name!r}: the runtimes are shut down")
        if self.busy < self.fn.concurrency and not self._waiters:
            self.busy += 1
            return self._take_idle()
        if not wait or (queue_limit is not None and len(self._waiters) >= queue_limit):
            waiting = f", {len(self._waiters)} waiting" if wait else ""
            raise ThrottledError(
                f"function {self.fn.name!r} is at its concurrency ({self.fn.concurrency} running{waiting})"
            )
        fut: asyncio.Future[Worker | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await fut  # the slot is handed over by _release
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._release(fut.result())
            raise

    def _take_idle(self) -> Worker | None:
        while self.idle:
            worker = self.idle.pop()
            if worker.alive and worker.generation == self.generation:
                return worker
            worker.kill()
        return None

    def _release(self, worker: Worker | None) -> None:
        if worker is not None:
            if worker.alive and worker.generation == self.generation and not self._closing:
                worker.last_used = time.monotonic()
                self.idle.append(worker)
            else:
                worker.kill()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(self._take_idle())
                return
        self.busy -= 1
        for callback in self.on_release:
            callback()

    def _worker_exited(self, worker: Worker) -> None:
        self.workers.discard(worker)
        if worker in self.idle:
            self.idle.remove(worker)
            if not worker.killed:
                log.warning("a worker of %s exited while idle: %s", self.fn.name,
                            exit_error("-", worker.returncode)["errorMessage"])  # fmt: skip

    # -------------------------------------------------------------------------- housekeeping

    def reap(self, now: float, idle_timeout: float) -> None:
        """Kill the workers idle for longer than ``idle_timeout`` seconds."""
        for worker in [w for w in self.idle if now - w.last_used > idle_timeout]:
            self.idle.remove(worker)
            worker.kill()

    def _loaded(self, paths: list[str]) -> None:
        if self.on_loaded is not None:
            self.on_loaded(self.fn.name, paths)

    def invalidate(self) -> None:
        """The code changed: idle workers go now, busy ones when they finish."""
        self.generation += 1
        for worker in self.idle:
            worker.kill()
        self.idle.clear()

    async def aclose(self) -> None:
        self.abort()
        await asyncio.gather(*(w.wait_closed() for w in list(self.workers)))

    def abort(self) -> None:
        """No more invocations; kill every worker now (those running end as crashed)."""
        self._closing = True
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(InvocationError(f"{self.fn.name!r}: the runtimes are shut down"))
        for worker in list(self.workers):
            worker.kill()

    # -------------------------------------------------------------------------- invoking

    async def invoke(self, request_id: str, event_json: str, client_context_json: str, wait: bool,
                     queue_limit: int | None = None, reservation: Reservation | None = None,
                     identity_json: str | None = None, stream: Any = None) -> Outcome:  # fmt: skip
        if reservation is not None and reservation.take():
            worker = self._take_idle()
        else:
            worker = await self._acquire(wait, queue_limit)
        try:
            init_ms: float | None = None
            init_lines: list[str] = []
            if worker is None:
                worker, failure = await self._cold_start(request_id)
                if failure is not None:
                    return failure
                init_ms, init_lines = worker.init_ms, worker.sink.take()
            return await self._run(worker, request_id, event_json, client_context_json,
                                   init_ms, init_lines, identity_json, stream)  # fmt: skip
        finally:
            self._release(worker)

    def _new_worker(self) -> Worker:
        fn, spec = self.fn, self.spec
        env = worker_environment(self.config, fn, self.env, log_stream_name())
        if self.sdk is not None:  # Lambda's NODE_PATH ends with the runtime's modules, the SDK among them
            env["NODE_PATH"] = os.pathsep.join(filter(None, (env.get("NODE_PATH"), node_sdk.node_path())))
        worker = Worker(
            name=fn.name, argv=lambda fd: spec.argv(fn, fd, self.arn, self.debug), env=env, cwd=fn.code_dir,
            cap_kb=self.cap_kb, sink=LogSink(fn.name, self.on_log), on_exit=self._worker_exited,
            watchdog=self._watchdog, on_loaded=self._loaded if self.on_loaded is not None else None,
        )  # fmt: skip
        worker.generation = self.generation
        if self.debug is not None:
            worker.hold = partial(debugger_attached, worker, self.debug.port)
        self.workers.add(worker)
        return worker

    async def _cold_start(self, request_id: str, sdk_retry: bool = True) -> tuple[Worker, Outcome | None]:
        self.spec.check()
        worker = self._new_worker()
        started_at = time.time()
        t0 = time.perf_counter()
        limit = INIT_WAIT_S if self.debug is not None and self.debug.wait else INIT_LIMIT_S + self.fn.timeout
        try:
            reply = await worker.start(limit)
        except BaseException:
            worker.kill()
            raise
        worker.init_ms = (time.perf_counter() - t0) * 1000.0
        if reply.kind == "R":
            return worker, None
        worker.kill()
        if sdk_retry and await self._sdk_installed(reply):  # the AWS SDK is in place now: start again, once
            return await self._cold_start(request_id, sdk_retry=False)
        return worker, self._init_failure(worker, request_id, reply, started_at)

    async def _sdk_installed(self, reply: Reply) -> bool:
        """An init that failed on a missing ``@aws-sdk/…`` package, which Lambda's Node.js
        runtimes include: True once router's copy has it (see :mod:`.node_sdk`)."""
        if self.sdk is None or reply.kind != "N":
            return False
        try:
            package = node_sdk.missing_package(json.loads(reply.payload)[0])
        except (ValueError, LookupError, TypeError, AttributeError):
            return False
        return package is not None and await self.sdk.provide(package, self.fn.name)

    def _init_failure(self, worker: Worker, request_id: str, reply: Reply,
                      started_at: float) -> Outcome:  # fmt: skip
        sink, fn, init_ms = worker.sink, self.fn, worker.init_ms
        status, error, error_type = self._failure(worker, request_id, reply, init=True)
        platform = self.platform
        peak_mb = -(-worker.peak_kb() // 1024)
        init_status = "timeout" if status == "timeout" else "error"
        report = platform.report(request_id, 0.0, 0, fn.memory, peak_mb, init_ms, status, error_type)
        for line in (*platform.init_report(init_ms, init_status, error_type), *platform.start(request_id),
                     *platform.end(request_id), *report):  # fmt: skip
            sink.emit(line)
        return Outcome(request_id, status, None, error, "\n".join(sink.take()) + "\n",
                       started_at, 0.0, 0, init_ms, peak_mb)  # fmt: skip

    def _failure(self, worker: Worker, request_id: str, reply: Reply,
                 init: bool = False) -> tuple[Any, dict[str, Any], str]:  # fmt: skip
        """Status, error payload and error type of a reply that is not a result; logs it."""
        sink = worker.sink
        if reply.kind in ("F", "N"):
            error, text, *fatal = json.loads(reply.payload)
            if text:  # "" when AWS_LAMBDA_LOG_LEVEL filters the client's ERROR line out
                sink.emit_text(logs.truncate_error(text))
            if fatal and fatal[0]:
                worker.kill()
            return "error", error, str(error.get("errorType", ""))
        if reply.kind == "timeout":
            sink.emit(logs.timeout_line(request_id, self.fn.timeout))
            return "timeout", timeout_error(request_id, self.fn.timeout), "Sandbox.Timedout"
        error = exit_error(request_id, worker.returncode, oom=reply.kind == "oom")
        message = error["errorMessage"].split(" Error: ", 1)[1]
        for line in logs.exit_lines(request_id, message, error["errorType"]):
            sink.emit(line)
        return "crashed", error, error["errorType"]

    async def _run(
        self, worker: Worker, request_id: str, event_json: str, client_context_json: str,
        init_ms: float | None, init_lines: list[str], identity_json: str | None = None,
        stream: Any = None,
    ) -> Outcome:  # fmt: skip
        fn, sink, loop = self.fn, worker.sink, worker.loop
        started_at = time.time()
        deadline_ms = int((started_at + fn.timeout) * 1000)
        # the frame's 6th element is the Cognito identity (its 5th, the trace id, null: the worker makes one)
        tail = "" if identity_json is None else f",null,{identity_json}"
        payload = f'[{json.dumps(request_id)},{deadline_ms},{client_context_json},{event_json}{tail}]'
        idle_lines = sink.take()
        sink.lines = init_lines
        for line in self.platform.start(request_id):
            sink.emit(line)
        sink.lines += idle_lines
        # a Node.js streaming handler's response arrives as it is written (router/runtimes/streaming.py)
        streamed = worker.on_stream = StreamedResponse(request_id, stream) if fn.is_node else None
        t0 = time.perf_counter()  # (not loop.time(): uvloop's counts whole milliseconds)
        try:
            reply = await worker.call(invoke_frame(payload.encode()), loop.time() + fn.timeout)
        finally:
            worker.on_stream = None
        duration_ms = (time.perf_counter() - t0) * 1000.0
        status: Any = "ok"
        result: Any = None
        error: dict[str, Any] | None = None
        content_type = response = None
        if reply.kind == "E" and streamed is not None:  # the stream ended
            content_type = streamed.end(reply.payload)
            if streamed.over:
                status, error = "error", response_too_large(streamed.size, streamed.limit)
            else:  # (None: streamed on, too large to keep)
                result = response = streamed.body()
        elif reply.kind in ("O", "B") and len(reply.payload) > RESPONSE_LIMIT:
            status, error = "error", response_too_large(len(reply.payload))
        elif reply.kind == "O":  # the JSON text is kept as is too (Outcome.payload: every digit)
            result = json.loads(reply.payload)
            response = bytes(reply.payload)
        elif reply.kind == "B":  # a Python handler's bytes: Lambda returns them as they are
            result = response = bytes(reply.payload)
        else:
            status, error, _ = self._failure(worker, request_id, reply)
            if self.sdk is not None and error is not None and (package := node_sdk.missing_package(error)):
                if await self.sdk.provide(package, fn.name) and package not in self._sdk_reloaded:
                    self._sdk_reloaded.add(package)  # required in the handler: Node remembers the
                    self.invalidate()  # package missing, so the next call starts a new worker
        peak_kb = worker.peak_kb()
        if status in ("ok", "error") and peak_kb > self.cap_kb:  # over while we did not look
            worker.kill()
            result = None
            status, error, _ = self._failure(worker, request_id, Reply("oom"))
        peak_mb = -(-peak_kb // 1024)
        billed = logs.billed_ms(duration_ms)
        error_type = str(error.get("errorType", "")) if error is not None else None
        for line in (*self.platform.end(request_id),
                     *self.platform.report(request_id, duration_ms, billed, fn.memory, peak_mb, init_ms,
                                           status, error_type)):  # fmt: skip
            if worker.held and line.startswith("REPORT "):  # a debugger held the call past its timeout
                line += f"\tTimeout: {fn.timeout:g} s not enforced (a debugger was attached)"
            sink.emit(line)
        text = "\n".join(sink.take()) + "\n"
        return Outcome(request_id, status, result, error, text, started_at, duration_ms, billed, init_ms, peak_mb,
                       event_json, response if status == "ok" else None, content_type)  # fmt: skip


def response_too_large(size: int, limit: int = RESPONSE_LIMIT) -> dict[str, Any]:
    """Lambda's error for a result over :data:`RESPONSE_LIMIT` (Invoke answers it as a function
    error; API Gateway as an integration failure): "Response payload size (9706999 bytes)
    exceeded maximum allowed payload size (6291556 bytes)." ``Function.ResponseSizeTooLarge``.
    A streamed response over its limit (``streaming.STREAM_LIMIT``) fails with the same
    error, naming that limit (router's assumption: AWS documents no other for it)."""
    return {"errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                            f"({limit} bytes).", "errorType": "Function.ResponseSizeTooLarge"}  # fmt: skip
