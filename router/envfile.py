"""Read dotenv files (``settings.env_file``, ``functions.X.env_file``).

The format is the common subset of dotenv readers (python-dotenv, docker compose, Node's
``--env-file``): one ``NAME=value`` a line, an optional ``export`` before the name, blank lines
and ``#`` comment lines. A value is

- unquoted: up to the end of the line or a ``#`` after a space, surrounding spaces dropped;
- in single quotes: literal, may span lines;
- in double quotes: ``\\n``, ``\\t``, ``\\r``, ``\\"``, ``\\\\`` and ``\\$`` are escapes, may span lines.

``$`` is not expanded (``${OTHER}`` stays as written). Every problem raises
:class:`~router.errors.ConfigError` naming ``file:line``.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ConfigError, ConfigIssue
from .schema import RESERVED_ENV

_LINE = re.compile(r"\s*(?:export\s+)?([^=\s]+)\s*=[ \t]*(.*)", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def read_env_file(path: Path, shown: str | None = None) -> dict[str, str]:
    """The variables of the dotenv file at ``path`` (``shown`` names it in errors)."""
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue("env file not found", "", shown)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(f"cannot read the env file: {exc}", "", shown)]) from None
    return parse_env(text, shown)


def parse_env(text: str, file: str = ".env") -> dict[str, str]:
    """Parse dotenv text; every problem at once, each with its line."""
    out: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            issues.append(ConfigIssue("expected NAME=value", "", file, number, 1))
            continue
        name, rest = match.group(1), match.group(2)
        column = line.index(name) + 1
        if not _NAME.fullmatch(name):
            issues.append(ConfigIssue(f"{name!r} is not a valid environment variable name (letters, digits, _)",
                                      name, file, number, column))  # fmt: skip
            continue
        if name in RESERVED_ENV:
            # Lambda refuses these in a function's environment ("Defined runtime environment variables")
            issues.append(ConfigIssue(f"{name} is a reserved Lambda environment variable; the runtime sets it",
                                      name, file, number, column))  # fmt: skip
            continue
        value, used, problem = _value(rest, lines, i)
        if problem:
            issues.append(ConfigIssue(problem, name, file, number, column))
            break
        i += used
        out[name] = value
    if issues:
        raise ConfigError(issues)
    return out


def _value(rest: str, lines: list[str], after: int) -> tuple[str, int, str | None]:
    """The value starting at ``rest``, how many further lines it took, and a problem."""
    if not rest or rest[0] not in "'\"":
        return rest.split(" #", 1)[0].split("\t#", 1)[0].strip(), 0, None
    quote, text, used = rest[0], rest[1:], 0
    while True:
        end = _closing(text, quote)
        if end >= 0:
            break
        if after + used >= len(lines):
            return "", used, f"the value's {quote} is never closed"
        text += "\n" + lines[after + used]
        used += 1
    tail = text[end + 1 :].strip()
    if tail and not tail.startswith("#"):
        return "", used, f"unexpected text after the closing {quote}: {tail!r}"
    body = text[:end]
    if quote == '"':
        body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)
    return body, used, None


def _closing(text: str, quote: str) -> int:
    """The index of the closing quote in ``text`` (a double quote may be escaped), or -1."""
    i = 0
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1
