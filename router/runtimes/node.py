"""Node.js workers: ``settings.node`` (default ``node`` from PATH, 18 or newer) running
``child/node_worker.js``, which reproduces AWS's Node.js runtime interface client."""

from __future__ import annotations

import re
import shutil
import subprocess

from ..config import Config, FunctionConfig
from ..errors import StartupError
from .base import CHILD_DIR
from .debug import DebugTarget
from .typescript import node_flags

WORKER = CHILD_DIR / "node_worker.js"
MIN_MAJOR = 18


class NodeRuntime:
    """How to start a Node.js worker."""

    # Resident memory allowed above the function's `memory`, for V8 and Node's own heap
    # (about 40 MB before any user code); see docs/runtimes.md "Memory".
    allowance_mb = 32

    def __init__(self, config: Config) -> None:
        self.node = config.settings.node
        self.version: str | None = None

    def check(self) -> None:
        """Raise StartupError when node is missing or older than 18 (checked once)."""
        if self.version is not None:
            return
        found = shutil.which(self.node)
        hint = "install Node.js 18 or newer, or set settings.node to its path"
        if found is None:
            raise StartupError(f"Node.js not found: settings.node is {self.node!r}; {hint}")
        try:
            out = subprocess.run(
                [found, "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            raise StartupError(f"cannot run {found} --version: {exc}; {hint}") from None
        match = re.match(r"v(\d+)\.", out)
        if match is None or int(match.group(1)) < MIN_MAJOR:
            raise StartupError(f"{found} is Node.js {out or '(unknown version)'}; {hint}")
        self.version = out

    def argv(self, fn: FunctionConfig, fd: int, arn: str, debug: DebugTarget | None = None) -> list[str]:
        inspect = [debug.node_flag()] if debug is not None else []  # router/runtimes/debug.py
        return [self.node, *inspect, *node_flags(fn), semi_space_flag(fn.memory), str(WORKER), str(fd), fn.handler,
                str(fn.code_dir), str(fn.runtime), arn]  # fmt: skip

    def version_tuple(self) -> tuple[int, ...]:
        """Node's version as numbers (checked first), e.g. (20, 15, 1)."""
        self.check()
        return tuple(int(p) for p in re.findall(r"\d+", self.version or "")[:3])


def semi_space_flag(memory_mb: int) -> str:
    """V8's young generation sized as Lambda's Node.js bootstrap sizes it: a new space of
    10 % of the memory size, so a semi-space of 5 % (6 MB at 128 MB). V8's default (16 MB
    semi-spaces) let each busy worker grow by about 40 MB that it never gave back."""
    return f"--max-semi-space-size={max(1, round(memory_mb * 0.1) // 2)}"
