"""Python workers: ``settings.python`` (default: router's own interpreter) running
``child/python_worker.py``, which reproduces AWS's Python runtime interface client.

The worker's import environment is Lambda's (docs/runtimes.md, "Import environment"): it is
told which top-level modules only router's own dependencies provide (hidden behind the code
root, and warned about, where the two share an interpreter) and where the AWS SDK for Python
is (offered last, where the project's interpreter is another one), see :func:`import_environment`.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import json
import os
import re
import shutil
import sys
from collections import deque

from ..config import Config, FunctionConfig
from ..errors import StartupError
from .base import CHILD_DIR
from .debug import DebugTarget, debugpy_dir

WORKER = CHILD_DIR / "python_worker.py"


class PythonRuntime:
    """How to start a Python worker."""

    # Resident memory allowed above the function's `memory`, for the interpreter itself (the
    # local one differs from Lambda's build); see docs/runtimes.md "Memory".
    allowance_mb = 16

    def __init__(self, config: Config) -> None:
        self.interpreter = config.settings.python or sys.executable
        self._checked = False

    def check(self) -> None:
        """Raise StartupError when the interpreter cannot be found (checked once)."""
        if self._checked:
            return
        found = shutil.which(self.interpreter)
        if found is None or not os.access(found, os.X_OK):
            raise StartupError(
                f"Python interpreter not found: settings.python is {self.interpreter!r}; "
                "give the path of a python3 executable"
            )
        self._checked = True

    def argv(self, fn: FunctionConfig, fd: int, arn: str, debug: DebugTarget | None = None) -> list[str]:
        extras: dict[str, object] = {}
        if fn.layers:  # set_import_path puts them on sys.path
            extras["layers"] = list(fn.layers)
        if debug is not None:  # the worker starts debugpy (router/runtimes/debug.py)
            extras["debug"] = {"port": debug.port, "wait": debug.wait, "path": debugpy_dir()}
        # debugpy: "frozen modules ... may make the debugger miss breakpoints. Please pass -Xfrozen_modules=off"
        frozen = ["-Xfrozen_modules=off"] if debug is not None else []
        return [self.interpreter, *frozen, "-u", str(WORKER), str(fd), fn.handler, str(fn.code_dir), arn,
                import_environment(), *([json.dumps(extras)] if extras else [])]  # fmt: skip


# What the Lambda Python runtime includes: boto3 and botocore, with what they need ("Runtime
# dependencies in Python": the runtimes include the AWS SDK for Python).
SDK = "boto3"
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(root: str, *, all_extras: bool = False) -> set[str]:
    """Canonical names of the distributions ``root`` needs, itself included (its extras too
    with ``all_extras``; markers other than extras are not evaluated: a superset)."""
    seen: set[str] = set()
    todo: deque[tuple[str, frozenset[str]]] = deque([(root, frozenset())])
    while todo:
        name, extras = todo.popleft()
        key = _canonical(name)
        if key in seen:
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(key)
        for requirement in requires:
            match = _REQUIREMENT.match(requirement)
            if match is None:
                continue
            marker = requirement.partition(";")[2]
            needed = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if needed and not (all_extras and key == _canonical(root)) and not extras.intersection(needed):
                continue
            wanted = frozenset(e.strip() for e in (match.group(2) or "").split(",") if e.strip())
            todo.append((match.group(1), wanted))
    return seen


@functools.cache
def import_environment() -> str:
    """The worker's IMPORTS argument (JSON): router's interpreter prefix, the top-level modules
    only router's dependency closure provides (with their distribution), and the SDK's folder
    and modules. Computed once per process (about 60 ms)."""
    owners = metadata.packages_distributions()
    sdk = dependency_closure(SDK)
    router_only = dependency_closure("router", all_extras=True) - sdk - {"router"}
    out: dict[str, object] = {"prefix": sys.prefix, "version": list(sys.version_info[:2]), "router_only": {},
                              "sdk": [], "sdk_dir": None}  # fmt: skip
    for module, dists in sorted(owners.items()):
        names = {_canonical(d) for d in dists}
        if names & sdk:
            out["sdk"].append(module)  # type: ignore[attr-defined]
        elif names & router_only and module.isidentifier() and not module.startswith("_"):
            out["router_only"][module] = sorted(dists)[0]  # type: ignore[index]
    try:
        out["sdk_dir"] = str(metadata.distribution(SDK).locate_file(""))
    except metadata.PackageNotFoundError:
        pass
    return json.dumps(out)
