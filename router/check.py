"""What AWS would check before the first request, told early: ``router validate``,
``router validate --load`` / ``router check`` and the warnings of the ``router run`` banner.

- :func:`static_problems` needs no process of the user's: an empty config, a malformed
  handler string, a handler file that is missing or ambiguous (``web.py`` and ``web.js``
  both there, no ``runtime:``), a Python module named like a built-in one, a missing
  interpreter, and a Node.js whose major version is not the runtime's.
- :func:`load_problems` loads each handler once the way its worker loads it, in a real
  worker (``router.runtimes``: Python import, Node ``require`` / ``import()``) that is killed
  as soon as it answers its init: import errors, syntax errors (with the user's
  file:line:column), a missing export, Node.js 24's refusal of callback handlers, each as
  Lambda reports it (errorType and message).
- :func:`banner_warnings` is the static problems as lines for ``router run``, which starts
  anyway: Lambda reports a handler that cannot load as each invocation's init error, and the
  other functions serve.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .config import Config, FunctionConfig, Inspection, handler_files, runtime_inferred
from .errors import ConfigIssue

if TYPE_CHECKING:
    from .runtimes.worker import Reply

Severity = Literal["error", "warning"]
LOAD_TIMEOUT_S = 10.0  # Lambda's on-demand Init phase may take 10 s ("execution environment lifecycle")
MIN_NODE = 18
_VERSION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Problem:
    """One thing that would go wrong, at a key path of the config."""

    severity: Severity
    loc: tuple[str | int, ...]
    message: str
    detail: tuple[str, ...] = ()  # more lines (a syntax error's place and source line)
    functions: tuple[str, ...] = ()  # the functions it concerns (none loads when it is an error)

    def issue(self, found: Inspection) -> ConfigIssue:
        message = self.message if self.severity == "error" else f"warning: {self.message}"
        return found.issue(self.loc, "\n    ".join((message, *self.detail)))


# ---------------------------------------------------------------------------- static checks


def static_problems(found: Inspection) -> list[Problem]:
    """Everything :func:`check_function` and :func:`interpreter_problems` find, and an empty config."""
    config = found.config
    if config is None:
        return []
    if found.empty:
        return [Problem("error", (), "the config file is empty: define functions (and triggers) in it")]
    if not config.functions:
        return [Problem("error", ("functions",), "no functions defined: a config needs at least one")]
    problems = [p for fn in config.functions.values() for p in check_function(config, fn)]
    return problems + interpreter_problems(config, explicit=found.positions.keys())


def check_function(config: Config, fn: FunctionConfig) -> list[Problem]:
    """Can this function's handler be found as Lambda looks for it? (No process started.)"""
    loc = ("functions", fn.name, "handler")
    base = fn.handler.rpartition("/")[2]
    # awslambdaric bootstrap.py _get_handler: handler.rsplit(".", 1) or MalformedHandlerName;
    # aws-lambda-ric UserFunction.js: /^([^.]*)\.(.*)$/ on the base name, and no ".." at all
    if "." not in base or base.startswith(".") or base.endswith(".") or (fn.is_node and ".." in fn.handler):
        return [Problem("error", loc, f"malformed handler {fn.handler!r}: expected 'path/module.function'; "
                                      "every invocation fails with Runtime.MalformedHandlerName",
                        functions=(fn.name,))]  # fmt: skip
    modname = fn.handler.rsplit(".", 1)[0]
    # awslambdaric bootstrap.py _get_handler: modname.split(".")[0] in sys.builtin_module_names
    if not fn.is_node and modname.split(".")[0] in sys.builtin_module_names:
        return [Problem("error", loc, f"the handler module {modname!r} has the name of a built-in module; "
                                      "every invocation fails with Runtime.BuiltInModuleConflict (rename it)",
                        functions=(fn.name,))]  # fmt: skip
    py_file, node_files = handler_files(fn.code_dir, fn.handler)
    node_file = next((p for p in node_files if p.is_file()), None)
    if runtime_inferred(fn) and py_file.is_file() and node_file is not None:
        return [Problem("error", loc, f"ambiguous handler: both {_shown(config, py_file)} and "
                                      f"{_shown(config, node_file)} exist; set runtime: to choose one "
                                      f"(for example {fn.runtime} or nodejs22.x)", functions=(fn.name,))]  # fmt: skip
    if fn.handler_file.is_file():
        return []
    if runtime_inferred(fn):
        tried = f"{_shown(config, py_file)} or {_shown(config, node_files[0].with_suffix(''))}.js/.mjs/.cjs/.ts/.mts"
    elif fn.is_node:
        tried = f"{_shown(config, node_files[0].with_suffix(''))}.js/.mjs/.cjs/.ts/.mts ({fn.runtime})"
    else:
        tried = f"{_shown(config, py_file)} ({fn.runtime})"
    return [Problem("error", loc, f"handler file not found: {tried}; "
                                  "every invocation fails with Runtime.ImportModuleError",
                    functions=(fn.name,))]  # fmt: skip


def _shown(config: Config, path: Path) -> str:
    return str(path.relative_to(config.root)) if path.is_relative_to(config.root) else str(path)


def interpreter_problems(config: Config, *, explicit: Iterable[tuple[str | int, ...]] = ()) -> list[Problem]:
    """Python and Node.js found and new enough; a version other than the runtime's.
    ``explicit``: the key paths the file sets (to point at ``settings.node`` when it does)."""
    return _python_problems(config) + _node_problems(config, set(explicit))


def _python_problems(config: Config) -> list[Problem]:
    python_fns = [fn for fn in config.functions.values() if not fn.is_node]
    if not python_fns:
        return []
    version = python_version(config.settings.python)
    if version is None:
        return [Problem("error", ("settings", "python"),
                        f"Python interpreter not found: {config.settings.python!r} (needed by "
                        f"{_names(python_fns)}); give the path of a python3 executable",
                        functions=tuple(fn.name for fn in python_fns))]  # fmt: skip
    problems = []
    for fn in python_fns:
        if not runtime_inferred(fn) and fn.runtime != f"python{version}":
            problems.append(Problem("warning", ("functions", fn.name, "runtime"),
                                    f"runtime {fn.runtime}, but the Python interpreter is {version}: the function "
                                    f"runs on Python {version}; set settings.python to a Python "
                                    f"{str(fn.runtime).removeprefix('python')} or runtime: python{version}",
                                    functions=(fn.name,)))  # fmt: skip
    return problems


def _node_problems(config: Config, set_keys: set[tuple[str | int, ...]]) -> list[Problem]:
    from .runtimes.typescript import problem as ts_problem

    node_fns = [fn for fn in config.functions.values() if fn.is_node]
    if not node_fns:
        return []
    where = ("settings", "node") if ("settings", "node") in set_keys else ("functions", node_fns[0].name, "handler")
    version = node_version(config.settings.node)
    hint = "install Node.js 18 or newer, or set settings.node to its path"
    if version is None:
        return [Problem("error", where, f"Node.js not found: {config.settings.node!r} "
                                        f"(needed by {_names(node_fns)}); {hint}",
                        functions=tuple(fn.name for fn in node_fns))]  # fmt: skip
    if _major(version) < MIN_NODE:
        return [Problem("error", where, f"{config.settings.node} is Node.js {version}; {hint}",
                        functions=tuple(fn.name for fn in node_fns))]  # fmt: skip
    problems = []
    for fn in node_fns:
        if (message := node_mismatch(fn, version)) is not None:
            key = "handler" if runtime_inferred(fn) else "runtime"
            problems.append(Problem("warning", ("functions", fn.name, key), message, functions=(fn.name,)))
        if (message := ts_problem(fn, version)) is not None:
            problems.append(Problem("error", ("functions", fn.name, "handler"), message, functions=(fn.name,)))
    return problems


def version_note(config: Config, fn: FunctionConfig) -> str:
    """``runs on Node.js 20 (v20.11.1)`` / ``runs on Python 3.11`` when the interpreter is not
    the runtime's version (an inferred Python runtime is the interpreter's); else ``""``."""
    if fn.is_node:
        version = node_version(config.settings.node)
        if version is not None and f"nodejs{_major(version)}.x" != fn.runtime:
            return f"runs on Node.js {_major(version)} ({version})"
        return ""
    py = python_version(config.settings.python)
    if py is not None and not runtime_inferred(fn) and fn.runtime != f"python{py}":
        return f"runs on Python {py}"
    return ""


_python_versions: dict[str, str | None] = {}


def python_version(python: str | None) -> str | None:
    """``3.12`` for the interpreter ``python`` names (None: the one router runs on); None when
    there is none or it does not answer. Asked once per name and process."""
    if python is None:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    if python not in _python_versions:
        found = shutil.which(python)
        out = ""
        if found is not None:
            code = "import sys; print('%d.%d' % sys.version_info[:2])"
            try:
                out = subprocess.run([found, "-c", code], capture_output=True, text=True,
                                     timeout=_VERSION_TIMEOUT_S, check=True).stdout.strip()  # fmt: skip
            except (OSError, subprocess.SubprocessError):
                out = ""
        _python_versions[python] = out if re.fullmatch(r"\d+\.\d+", out) else None
    return _python_versions[python]


def node_mismatch(fn: FunctionConfig, version: str) -> str | None:
    """A sentence when ``fn``'s runtime names another Node.js major than ``version``'s."""
    wanted = int(re.sub(r"\D", "", str(fn.runtime)) or 0)
    major = _major(version)
    if not fn.is_node or wanted == major:
        return None
    default = " (the default for a Node.js handler)" if runtime_inferred(fn) else ""
    return (f"runtime {fn.runtime}{default}, but node is {version}: the function runs on Node.js {major} "
            f"with {fn.runtime}'s rules; install Node.js {wanted} or set runtime: nodejs{major}.x")  # fmt: skip


_node_versions: dict[str, str | None] = {}


def node_version(node: str) -> str | None:
    """``node --version`` (``v20.11.1``) of the executable ``node`` names; None when there is
    none or it does not answer. Asked once per name and process."""
    if node not in _node_versions:
        found = shutil.which(node)
        out = ""
        if found is not None:
            try:
                out = subprocess.run([found, "--version"], capture_output=True, text=True,
                                     timeout=_VERSION_TIMEOUT_S, check=True).stdout.strip()  # fmt: skip
            except (OSError, subprocess.SubprocessError):
                out = ""
        _node_versions[node] = out if re.match(r"v\d+\.", out) else None
    return _node_versions[node]


def _major(version: str) -> int:
    match = re.match(r"v(\d+)", version)
    return int(match.group(1)) if match else 0


def _names(fns: list[FunctionConfig]) -> str:
    return ", ".join(fn.name for fn in fns)


def banner_warnings(config: Config) -> list[str]:
    """Lines for the ``router run`` banner: what :func:`static_problems` finds, per function."""
    lines = []
    for p in [p for fn in config.functions.values() for p in check_function(config, fn)]:
        lines.append(f"warning: function {p.loc[1]}: {p.message}")
    same: dict[str, list[str]] = {}  # one line per message: the functions sharing it named together
    for p in interpreter_problems(config):
        same.setdefault(p.message, []).extend([str(p.loc[1])] if p.loc[0] == "functions" else [])
    for message, names in same.items():
        who = f"function{'s' if len(names) > 1 else ''} {', '.join(names)}: " if names else ""
        lines.append(f"warning: {who}{message}")
    return lines


# ---------------------------------------------------------------------------- loading


async def load_problems(
    config: Config, functions: Iterable[str] | None = None, *, timeout: float = LOAD_TIMEOUT_S
) -> list[Problem]:
    """Start one real worker per function, read its init answer, kill it. Every function at
    once, at most as many at a time as there are CPUs."""
    names = list(config.functions) if functions is None else list(functions)
    gate = asyncio.Semaphore(max(2, os.cpu_count() or 2))

    async def one(name: str) -> list[Problem]:
        async with gate:
            problems, exited = await _load_one(config, config.functions[name], timeout)
            if exited:
                # the worker's exit can be seen before its init answer is read (the init error
                # is sent just before the exit): ask once more before calling it a crash
                problems, _ = await _load_one(config, config.functions[name], timeout)
            return problems

    found = await asyncio.gather(*(one(name) for name in names))
    return [p for problems in found for p in problems]


def check_env() -> dict[str, str]:
    """What a checking worker gets instead of an AWS endpoint: dummy credentials and a
    loopback port nothing listens on (not a running daemon's embedded AWS, nor the config's
    external one): module code that calls AWS at import fails fast and changes nothing."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }  # fmt: skip


async def _load_one(config: Config, fn: FunctionConfig, timeout: float) -> tuple[list[Problem], bool]:
    """The problems of loading ``fn`` in a real worker, and whether it exited without an answer."""
    from .errors import StartupError
    from .runtimes.base import function_arn, log_stream_name, worker_environment
    from .runtimes.logs import LogSink
    from .runtimes.node import NodeRuntime
    from .runtimes.python import PythonRuntime
    from .runtimes.worker import Worker

    loc = ("functions", fn.name, "handler")
    spec: Any = NodeRuntime(config) if fn.is_node else PythonRuntime(config)
    arn = function_arn(config, fn)
    worker = Worker(
        name=fn.name, argv=lambda fd: list(spec.argv(fn, fd, arn)),
        env=worker_environment(config, fn, check_env(), log_stream_name()), cwd=fn.code_dir,
        cap_kb=(fn.memory + spec.allowance_mb) * 1024, sink=LogSink(fn.name, None), on_exit=lambda _w: None,
    )  # fmt: skip
    try:
        spec.check()
        reply = await worker.start(timeout)
    except StartupError as exc:
        return [Problem("error", loc, str(exc))], False
    finally:
        if worker.pid:
            worker.kill()
            await worker.wait_closed()
    problem = _init_problem(config, fn, reply, timeout, worker.returncode)
    return ([] if problem is None else [problem]), reply.kind == "exit"


def _init_problem(config: Config, fn: FunctionConfig, reply: Reply, timeout: float,
                  returncode: int | None) -> Problem | None:  # fmt: skip
    loc = ("functions", fn.name, "handler")
    if reply.kind == "R":
        return None
    if reply.kind == "timeout":
        return Problem("error", loc, f"the handler did not finish loading within {timeout:g} s "
                                     "(Lambda's init limit is 10 s)")  # fmt: skip
    if reply.kind == "oom":
        return Problem("error", loc, f"loading the handler went over the function's memory ({fn.memory} MB)")
    if reply.kind != "N":
        from .runtimes.base import describe_exit

        return Problem("error", loc, f"the worker exited while loading the handler: {describe_exit(returncode)}")
    error = json.loads(reply.payload)[0]
    head, *more = f"{error.get('errorType', '')}: {error.get('errorMessage', '')}".split("\n")
    detail = list(more)
    if error.get("errorType") == "Runtime.UserCodeSyntaxError":
        where = syntax_location(config, fn, error)
        if where is not None:
            detail = [f"at {where}", *detail]
    return Problem("error", loc, head, tuple(detail))


# ---------------------------------------------------------------------------- syntax errors

_USER_FRAME = re.compile(r"(?:file://)?(/[^:()\s]+\.(?:py|js|mjs|cjs)):(\d+)(?::(\d+))?")
_PY_FRAME = re.compile(r'File "([^"]+)",? [Ll]ine (\d+)')


def syntax_location(config: Config, fn: FunctionConfig, error: dict[str, Any]) -> str | None:
    """``file:line:column`` of a syntax error in the user's code: from the worker's trace when
    it names the user's file, else found by the language itself (Python's compile(), Node's
    ``--check``) in the handler file."""
    from .runtimes.base import CHILD_DIR

    trace = [str(line) for line in error.get("trace") or error.get("stackTrace") or []]
    text = "\n".join([str(error.get("errorMessage", "")), *trace])
    for match in [*_PY_FRAME.finditer(text), *_USER_FRAME.finditer(text)]:
        path = Path(match.group(1))
        if path.is_absolute() and not path.is_relative_to(CHILD_DIR):
            column = match.group(3) if match.lastindex and match.lastindex >= 3 else None
            return _place(config, path, int(match.group(2)), int(column) if column else _py_column(path))
    if fn.is_node:
        return _node_check(config, fn)
    return None


def _place(config: Config, path: Path, line: int, column: int | None) -> str:
    return f"{_shown(config, path)}:{line}" + (f":{column}" if column else "")


def _py_column(path: Path) -> int | None:
    """The column of the syntax error in a Python file, as this interpreter reads it."""
    if path.suffix != ".py":
        return None
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc.offset
    except (OSError, ValueError):
        return None
    return None


def _node_check(config: Config, fn: FunctionConfig) -> str | None:
    """``node --check FILE``: Node prints ``FILE:LINE``, the source line and a caret under the column."""
    node = shutil.which(config.settings.node)
    if node is None or not fn.handler_file.is_file():
        return None
    try:
        out = subprocess.run([node, "--check", str(fn.handler_file)], capture_output=True, text=True,
                             timeout=_VERSION_TIMEOUT_S, cwd=fn.code_dir)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stderr.splitlines()
    if not lines or (match := re.match(r"(?:file://)?(/.+):(\d+)$", lines[0])) is None:
        return None
    caret = next((ln for ln in lines[2:4] if ln.strip().startswith("^")), None)
    column = caret.index("^") + 1 if caret is not None else None
    return _place(config, Path(match.group(1)), int(match.group(2)), column)
