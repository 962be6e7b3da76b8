"""Debugger attach (docs/debugging.md): ``router run --debug FUNCTION`` / ``functions.X.debug``.

A debugged function runs one worker at a time. Its Python workers start debugpy listening on
127.0.0.1 (a free port from 5678 up), its Node.js workers run under ``--inspect`` (from 9229 up);
each function keeps its port for the life of the router, so a new worker (after a crash, a
timeout or a code change) listens where the previous one did. ``wait`` holds a worker's init
until a debugger attaches. While a debugger is attached (a TCP connection established to the
port, in the worker's process tree), a call past the function's timeout is not killed: a
paused worker stays paused, and its REPORT line says the timeout was not enforced.
"""

from __future__ import annotations

import importlib.util
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, FunctionConfig
from ..errors import StartupError, UsageError

PYTHON_FIRST_PORT = 5678  # debugpy's customary port (VS Code's "Python Debugger: Remote Attach" default)
NODE_FIRST_PORT = 9229  # Node's --inspect default
DEBUG_ALLOWANCE_MB = 256  # the debugger's own memory in the worker, above the function's cap
INIT_WAIT_S = 7 * 24 * 3600.0  # --debug-wait: an init waits this long for the client (for ever, in practice)
EXTRA_HINT = "pip install 'router[debug]'"


@dataclass(frozen=True)
class DebugTarget:
    """Where one function's workers listen for a debugger."""

    port: int
    wait: bool
    node: bool
    node_version: tuple[int, ...] = ()

    def describe(self, name: str) -> str:
        how = "Node inspector" if self.node else "debugpy"
        wait = "  (each worker waits for the debugger before its init)" if self.wait else ""
        return f"debugger        {name}  {how} on 127.0.0.1:{self.port}, one worker{wait}"

    def node_flag(self) -> str:
        """``--inspect``; with ``wait``, ``--inspect-wait`` (Node 20.15+ / 22.2+: waits for the client
        without a stop), else ``--inspect-brk`` (stops at the first line of router's worker script)."""
        where = f"127.0.0.1:{self.port}"
        if not self.wait:
            return f"--inspect={where}"
        v = self.node_version
        return f"--inspect-wait={where}" if v >= (22, 2) or (20, 15) <= v < (21,) else f"--inspect-brk={where}"


def with_debug(config: Config, names: tuple[str, ...] | list[str], wait: bool) -> Config:
    """``config`` with ``debug`` on for the functions ``names`` (``--debug``), and ``wait`` for
    every debugged function (``--debug-wait``)."""
    unknown = [n for n in names if n not in config.functions]
    if unknown:
        listed = ", ".join(sorted(config.functions)) or "none defined"
        raise UsageError(f"--debug {unknown[0]}: no function named {unknown[0]!r} (functions: {listed})")
    if wait and not names and not any(f.debug for f in config.functions.values()):
        raise UsageError("--debug-wait needs a function to debug: --debug FUNCTION or functions.X.debug: true")
    functions = {}
    for name, f in config.functions.items():
        debug: Any = f.debug or name in names
        if debug and wait:
            debug = "wait"
        functions[name] = f if debug == f.debug else _copy(f, debug)
    return config.model_copy(update={"functions": functions})


def _copy(f: FunctionConfig, debug: Any) -> FunctionConfig:
    out = f.model_copy(update={"debug": debug})
    object.__setattr__(out, "__pydantic_fields_set__", set(f.model_fields_set) | {"debug"})
    return out


def debugpy_dir() -> str:
    """The folder holding router's debugpy package (added to a worker's path to import it), or a
    StartupError naming the extra."""
    spec = importlib.util.find_spec("debugpy")
    if spec is None or spec.origin is None:
        raise StartupError(f"debugging a Python function needs debugpy, which is not installed: {EXTRA_HINT}")
    return str(Path(spec.origin).parent.parent)


def assign(functions: dict[str, FunctionConfig], taken: dict[str, DebugTarget],
           node_version: tuple[int, ...] = ()) -> dict[str, DebugTarget]:  # fmt: skip
    """A port for each debugged function: the one it has (``taken``), else the first free one
    from 5678 (Python) or 9229 (Node.js) that no other function holds."""
    out: dict[str, DebugTarget] = {}
    used = {t.port for t in taken.values()}
    for name, f in functions.items():
        if not f.debug:
            continue
        if not f.is_node:
            debugpy_dir()
        old = taken.get(name)
        port = old.port if old is not None and old.node == f.is_node else _free_port(
            NODE_FIRST_PORT if f.is_node else PYTHON_FIRST_PORT, used)
        used.add(port)
        out[name] = DebugTarget(port, f.debug == "wait", f.is_node, node_version)
    return out


def _free_port(first: int, used: set[int]) -> int:
    for port in range(first, first + 200):
        if port in used:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise StartupError(f"no free port for a debugger from {first} to {first + 199} on 127.0.0.1")
