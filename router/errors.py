"""The exception tree of router.

    RouterError                  base of everything router raises on purpose
    ├── ConfigError              bad triggers.yaml (or bad CLI input): exit code 2, never a traceback
    │                            carries a list of ConfigIssue (file, line, column, key path, message)
    ├── UsageError               bad command-line input that is not about the config: exit 2
    ├── StartupError             a part could not start (port taken, node missing, table absent): exit 2
    ├── InvocationError          an invocation could not be performed at all (unknown function ...)
    └── ThrottledError           a function is at its concurrency and the caller asked not to wait

A *function error* (the handler raised, timed out, crashed) is not an exception in
router: it is an Invocation whose status is not "ok". Exceptions are for router's own
inability to do what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass


class RouterError(Exception):
    """Base class of router's errors."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, at a place."""

    message: str
    path: str = ""  # the key path: "triggers[2].s3.prefix"
    file: str = ""
    line: int = 0  # 1-based; 0 when unknown
    column: int = 0  # 1-based; 0 when unknown

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(RouterError):
    """The config (or a value given on the command line) is invalid. Exit code 2."""

    def __init__(self, issues: list[ConfigIssue] | str) -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue(issues)]
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.issues) == 1:
            return str(self.issues[0])
        head = f"{len(self.issues)} problems in the config:"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])


class UsageError(RouterError):
    """Bad command-line input. Exit code 2."""


class StartupError(RouterError):
    """A part could not start. Exit code 2."""


class InvocationError(RouterError):
    """An invocation could not be performed (unknown function, bad event)."""


class ThrottledError(RouterError):
    """The function is at its reserved concurrency and the caller asked not to wait."""
