"""Python workers: ``settings.python`` (default: router's own interpreter) running
``child/python_worker.py``, which reproduces AWS's Python runtime interface client."""

from __future__ import annotations

import os
import shutil
import sys

from ..config import Config, FunctionConfig
from ..errors import StartupError
from .base import CHILD_DIR

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

    def argv(self, fn: FunctionConfig, fd: int, arn: str) -> list[str]:
        return [self.interpreter, "-u", str(WORKER), str(fd), fn.handler, str(fn.code_dir), arn]
