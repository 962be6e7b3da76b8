"""Runtimes: handlers run in worker processes that behave like Lambda execution
environments (warm reuse, one invocation at a time, timeouts, memory, Lambda's logs).

``Runtimes(config, env=..., on_log=...)`` is the mechanism dispatch drives: ``await
start(stack)``, then ``await invoke(function, event)`` returns an :class:`Outcome`. A function
error is an Outcome whose status is not "ok"; exceptions are for router's own problems
(InvocationError for an unknown function or an event that is not JSON, ThrottledError with
``wait=False`` at the concurrency limit, StartupError when an interpreter is missing).
See docs/runtimes.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from ..config import Config, FunctionConfig
from ..errors import InvocationError
from ..invocation import encode_json
from ..types import Reservation, ResponseStream
from .base import Outcome, RuntimeSpec
from .debug import DEBUG_ALLOWANCE_MB, DebugTarget, assign
from .logs import OnLog
from .node import NodeRuntime
from .node_sdk import SdkInstaller
from .pool import FunctionPool
from .python import PythonRuntime
from .reload import CodeWatcher

__all__ = ["Outcome", "Reservation", "Runtimes"]

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 300.0  # an idle worker older than this is reaped (Lambda keeps them minutes)
TICK_S = 0.5  # housekeeping: reaping and the hot-reload check, at most this often

_encode = encode_json  # any valid JSON is a valid event: 1e400 too (written back as 1e400)


class Runtimes:
    """The worker pools of every function of a config."""

    def __init__(
        self, config: Config, *, env: Mapping[str, str], on_log: OnLog | None = None,
        idle_timeout: float = IDLE_TIMEOUT_S, hot_reload: bool = True,
    ) -> None:  # fmt: skip
        self.config = config
        self.idle_timeout = idle_timeout
        self.hot_reload = hot_reload
        self._env = dict(env)
        self._on_log = on_log
        self._specs: dict[str, RuntimeSpec] = {"python": PythonRuntime(config), "node": NodeRuntime(config)}
        # hot reload: the files each function's workers loaded, watched
        self.watcher = CodeWatcher(self._code_changed) if hot_reload else None
        self._release_callbacks: list[Callable[[], None]] = []
        self._sdk = SdkInstaller(config.settings.node)  # the AWS SDK for Node.js functions: one npm at a time
        self.debug: dict[str, DebugTarget] = self._debug_targets(config, {})
        self._pools = {name: self._new_pool(fn) for name, fn in config.functions.items()}
        self._retired: list[FunctionPool] = []  # replaced by a config edit, finishing their invocations
        self._task: asyncio.Task[None] | None = None

    def _debug_targets(self, config: Config, taken: dict[str, DebugTarget]) -> dict[str, DebugTarget]:
        """The debugger ports of the debugged functions (router/runtimes/debug.py)."""
        debugged = [f for f in config.functions.values() if f.debug]
        node = self._specs["node"]
        version = node.version_tuple() if any(f.is_node for f in debugged) and isinstance(node, NodeRuntime) else ()
        return assign(config.functions, taken, version) if debugged else {}

    def _new_pool(self, fn: FunctionConfig) -> FunctionPool:
        debug = self.debug.get(fn.name)
        if debug is not None:  # a debugged function runs one worker
            fn = fn.model_copy(update={"concurrency": 1})
        on_loaded = self.watcher.add if self.watcher is not None else None
        pool = FunctionPool(fn, self.config, self._specs["node" if fn.is_node else "python"], self._env,
                            self._on_log, on_loaded)  # fmt: skip
        pool.on_release.extend(self._release_callbacks)
        pool.sdk = self._sdk if fn.is_node else None
        if debug is not None:
            pool.debug = debug
            pool.cap_kb += DEBUG_ALLOWANCE_MB * 1024
        return pool

    def update(self, config: Config) -> tuple[list[str], list[str], list[str]]:
        """A new config (a live edit of triggers.yaml): pools for new functions, none for removed
        ones, fresh pools for changed ones; unchanged functions keep their warm workers. A
        replaced pool finishes its invocations, then its workers go. (added, removed, changed)."""
        old, self.config = self.config, config
        self._specs = {"python": PythonRuntime(config), "node": NodeRuntime(config)}
        self.debug = self._debug_targets(config, self.debug)
        added = [n for n in config.functions if n not in old.functions]
        removed = [n for n in old.functions if n not in config.functions]
        changed = [n for n, fn in config.functions.items() if n in old.functions and fn != old.functions[n]]
        for name in removed + changed:
            pool = self._pools.pop(name)
            pool.invalidate()  # idle workers go now, busy ones when they finish
            self._retired.append(pool)
        for name in added + changed:
            self._pools[name] = self._new_pool(config.functions[name])
        self._retired = [p for p in self._retired if p.workers]
        return added, removed, changed

    async def start(self, stack: AsyncExitStack) -> None:
        """Start housekeeping; closing ``stack`` kills every worker."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._housekeeping())
        if self.watcher is not None:
            self.watcher.start(loop)
        stack.push_async_callback(self.aclose)

    async def aclose(self) -> None:
        if self.watcher is not None:
            await asyncio.to_thread(self.watcher.stop)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.gather(*(pool.aclose() for pool in [*self._pools.values(), *self._retired]))

    def abort(self) -> None:
        """Stop at once (a second Ctrl-C): every worker is killed now, running invocations end
        as crashed, none starts again."""
        for pool in [*self._pools.values(), *self._retired]:
            pool.abort()

    async def reset(self, *, workers: bool = False) -> None:
        """``Router.reset``: warm workers stay warm (their module state is the handler's, as on
        Lambda); ``workers=True`` retires them (idle ones now, busy ones when they finish)."""
        if workers:
            for pool in self._pools.values():
                pool.invalidate()

    async def invoke(
        self, function: str, event: Any, *, request_id: str | None = None, wait: bool = True,
        client_context: dict[str, Any] | None = None, queue_limit: int | None = None,
        reservation: Reservation | None = None, event_json: str | None = None,
        identity: dict[str, Any] | None = None, stream: ResponseStream | None = None,
    ) -> Outcome:  # fmt: skip
        """Run one invocation of ``function`` in a warm (or new) worker. ``event_json``: the
        event already encoded (the async queue keeps it, or the caller's own JSON text), sent
        as it is. ``client_context`` and ``identity`` (``{"cognitoIdentityId": …,
        "cognitoIdentityPoolId": …}``) reach the handler's context as in Lambda. ``stream``: a
        streaming (Node.js) handler's response goes there as it is written
        (:mod:`.streaming`); Python handlers do not stream (Lambda streams only on its Node.js
        runtimes), their response is the Outcome's."""
        pool = self._pool(function)
        try:
            if event_json is None:
                event_json = _encode(event)
            context_json = "null" if client_context is None else _encode(client_context)
            identity_json = None if identity is None else _encode(identity)
        except (TypeError, ValueError) as exc:
            raise InvocationError(f"the event for {function!r} is not JSON-serializable: {exc}") from None
        return await pool.invoke(request_id or str(uuid.uuid4()), event_json, context_json, wait,
                                 queue_limit, reservation, identity_json, stream)  # fmt: skip

    def free_slots(self, function: str) -> int:
        """How many more invocations of ``function`` could start now."""
        return self._pool(function).free_slots()

    def reserve(self, function: str) -> Reservation | None:
        """A slot of ``function`` now for an invocation passed it soon, or None when full."""
        return self._pool(function).reserve()

    def on_release(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever a slot of any function becomes free."""
        self._release_callbacks.append(callback)
        for pool in self._pools.values():
            pool.on_release.append(callback)

    def busy(self, function: str) -> int:
        """How many invocations of ``function`` are running (or waiting for their init)."""
        return self._pool(function).busy

    def workers(self, function: str) -> int:
        """How many worker processes ``function`` has (idle and busy)."""
        return len(self._pool(function).workers)

    def _pool(self, function: str) -> FunctionPool:
        try:
            return self._pools[function]
        except KeyError:
            known = ", ".join(sorted(self._pools)) or "none"
            raise InvocationError(f"no function named {function!r} (functions: {known})") from None

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            for pool in self._pools.values():
                pool.reap(time.monotonic(), self.idle_timeout)

    def _code_changed(self, function: str, path: str) -> None:
        """A file ``function``'s workers loaded changed: new workers for it (busy ones finish
        their invocation first); every other function keeps its warm workers."""
        pool = self._pools.get(function)
        if pool is None or not pool.workers:
            return
        log.info("reloading %s: %s changed", function, path)
        _forget_bytecode(path)
        pool.invalidate()


def _forget_bytecode(path: str) -> None:
    """Remove a changed module's cached bytecode (``__pycache__/NAME.*.pyc``, of any Python
    version): CPython checks only the source's size and mtime in whole seconds, so a save in the
    same second that keeps the size (``VALUE = 1`` -> ``VALUE = 2``) would load the old code."""
    if not path.endswith(".py"):
        return
    folder, name = os.path.split(path)
    for cached in Path(folder, "__pycache__").glob(name[:-3] + ".*.pyc"):
        with contextlib.suppress(OSError):
            cached.unlink()
