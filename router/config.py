"""Load a triggers.yaml: read, substitute ``${env:...}``, validate against :mod:`router.schema`,
and resolve (handler files, runtimes, default trigger names, cross-references).

``load_config(path)`` returns a validated :class:`Config` or raises :class:`ConfigError`
listing every problem found, each with ``file:line:column``, the key path and what was
expected. The models are re-exported here: ``from router.config import Config``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import _yaml
from .errors import ConfigError, ConfigIssue
from .schema import (
    DEFAULT_NODE_RUNTIME,
    NODE_EXTENSIONS,
    NODE_RUNTIMES,
    PYTHON_RUNTIMES,
    RUNTIMES,
    SOURCE_KINDS,
    TEMP_PATTERNS,
    AsyncConfig,
    AwsSettings,
    Config,
    CorsConfig,
    Destination,
    DynamoDBTrigger,
    FunctionConfig,
    HttpSettings,
    HttpTrigger,
    JournalSettings,
    Resources,
    S3Trigger,
    ScheduleTrigger,
    Settings,
    TableConfig,
    TriggerConfig,
    bucket_name_problem,
)

__all__ = [
    "DEFAULT_NODE_RUNTIME", "NODE_EXTENSIONS", "NODE_RUNTIMES", "PYTHON_RUNTIMES", "RUNTIMES", "SOURCE_KINDS",
    "TEMP_PATTERNS", "AsyncConfig", "AwsSettings", "Config", "ConfigError", "CorsConfig", "Destination",
    "DynamoDBTrigger", "FunctionConfig", "HttpSettings", "HttpTrigger", "JournalSettings", "Resources",
    "S3Trigger", "ScheduleTrigger", "Settings", "TableConfig", "TriggerConfig", "bucket_name_problem",
    "load_config", "parse_config",
]  # fmt: skip

# ---------------------------------------------------------------------------- loading

_USER_ONLY = {"code_dir", "handler_file", "path", "root", "name"}


def load_config(
    path: str | Path = "triggers.yaml",
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    check_files: bool = True,
) -> Config:
    """Read, substitute, validate and resolve a triggers.yaml. Raises ConfigError."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue("config file not found", "", shown)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(f"cannot read the config: {exc}", "", shown)]) from None
    return parse_config(
        text, shown, root=path.resolve().parent, environ=environ, overrides=overrides,
        check_files=check_files,
    )  # fmt: skip


def parse_config(
    text: str,
    file: str = "triggers.yaml",
    *,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    check_files: bool = True,
) -> Config:
    data, positions = _yaml.load(text, file, environ)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue("expected a mapping at the top level", "", file, 1, 1)])
    issues = _user_keys_only(data, positions, file)
    if overrides:
        data = _merge(data, dict(overrides))
    root = (root or Path.cwd()).resolve()
    try:
        config = Config.model_validate(
            {**data, "path": root / Path(file).name, "root": root}
        )
    except ValidationError as exc:
        issues += _translate(exc, positions, file)
        raise ConfigError(_sorted(issues)) from None
    if issues:
        raise ConfigError(_sorted(issues))
    config, issues = _resolve(config, positions, file, check_files)
    if issues:
        raise ConfigError(_sorted(issues))
    return config


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _sorted(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return sorted(issues, key=lambda i: (i.line or 10**9, i.column, i.path))


def _user_keys_only(data: dict[str, Any], positions: _yaml.Positions, file: str) -> list[ConfigIssue]:
    """Refuse the internal fields (``code_dir``, ``path`` ...) a user might try to set."""
    issues = []
    if "path" in data or "root" in data:
        for key in ("path", "root"):
            if key in data:
                line, col = positions.get((key, "<key>"), (0, 0))
                issues.append(ConfigIssue("unknown key", key, file, line, col))
    for fname, f in (data.get("functions") or {}).items():
        if isinstance(f, dict):
            for key in ("code_dir", "handler_file", "name"):
                if key in f:
                    line, col = positions.get(("functions", fname, key, "<key>"), (0, 0))
                    issues.append(ConfigIssue("unknown key", f"functions.{fname}.{key}", file, line, col))
    return issues


def _position(
    loc: tuple[str | int, ...], positions: _yaml.Positions, *, key: bool = False
) -> tuple[tuple[str | int, ...], tuple[int, int]]:
    """The longest prefix of ``loc`` that has a position, and that position."""
    if key and (*loc, "<key>") in positions:
        return loc, positions[(*loc, "<key>")]
    for n in range(len(loc), -1, -1):
        if loc[:n] in positions:
            return loc[:n], positions[loc[:n]]
    return (), (0, 0)


def _translate(exc: ValidationError, positions: _yaml.Positions, file: str) -> list[ConfigIssue]:
    issues = []
    seen = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
        elif kind == "literal_error":
            message = f"{err['msg'].replace('Input should be', 'expected')}, got {err['input']!r}"
        else:
            message = f"{err['msg'].replace('Input should be', 'expected')}, got {_short(err['input'])}"
        _, (line, col) = _position(loc, positions, key=kind == "extra_forbidden")
        issue = ConfigIssue(message, _yaml.format_path(loc), file, line, col)
        if (issue.path, issue.message) not in seen:
            seen.add((issue.path, issue.message))
            issues.append(issue)
    return issues


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union/function tags from an error location; map aliases back."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        out.append("async" if part == "async_" else part)
    return tuple(out)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(
    config: Config, positions: _yaml.Positions, file: str, check_files: bool
) -> tuple[Config, list[ConfigIssue]]:
    """Cross-references, handler files, runtimes, default trigger names."""
    issues: list[ConfigIssue] = []

    def issue(loc: tuple[str | int, ...], message: str) -> None:
        _, (line, col) = _position(loc, positions)
        issues.append(ConfigIssue(message, _yaml.format_path(loc), file, line, col))

    functions = {}
    for name, f in config.functions.items():
        functions[name] = _resolve_function(config.root, f, ("functions", name), issue, check_files)
        for dest in ("on_failure", "on_success"):
            d = getattr(f.async_, dest)
            if d is not None and d.function is not None and d.function not in config.functions:
                issue(("functions", name, "async", dest, "function"), f"no function named {d.function!r}")

    triggers = []
    names: dict[str, int] = {}
    for i, t in enumerate(config.triggers):
        if t.function not in config.functions:
            known = ", ".join(sorted(config.functions)) or "none defined"
            issue(("triggers", i, "function"), f"no function named {t.function!r} (functions: {known})")
        name = t.name
        if name:
            if name in names:
                issue(("triggers", i, "name"), f"duplicate trigger name {name!r} (also triggers[{names[name]}])")
        else:
            base = name = f"{t.function}-{t.kind}"
            n = 2
            while name in names or any(o.name == name for o in config.triggers):
                name, n = f"{base}-{n}", n + 1
        names.setdefault(name, i)
        triggers.append(t.model_copy(update={"name": name}))
        _check_trigger(config, t, i, issue)

    routes: dict[str, int] = {}
    for i, t in enumerate(triggers):
        if t.http is not None and t.enabled:
            # API Gateway refuses routes that differ only in their parameters' names
            key = f"{t.http.stage or ''}|" + re.sub(r"\{[^}/]*?(\+?)\}", r"{\1}", t.http.route)
            if key in routes:
                issue(("triggers", i, "http"), f"duplicate route {t.http.route!r} (also triggers[{routes[key]}])")
            routes.setdefault(key, i)

    return config.model_copy(update={"functions": functions, "triggers": tuple(triggers)}), issues


def _check_trigger(config: Config, t: TriggerConfig, i: int, issue: Any) -> None:
    if t.s3 is not None and not t.s3.create and not (config.root / t.s3.dir).is_dir():
        issue(("triggers", i, "s3", "dir"), f"folder {config.root / t.s3.dir} does not exist (create: false)")
    if t.s3 is not None and t.s3.bucket is None:
        name = Path(t.s3.dir).name
        if problem := bucket_name_problem(name):
            issue(("triggers", i, "s3", "dir"),
                  f"the folder name {name!r} is not a valid bucket name ({problem}); set 'bucket'")  # fmt: skip
    if t.dynamodb is not None:
        d = t.dynamodb
        if config.settings.aws.endpoint == "embedded" and d.table not in config.resources.tables:
            issue(("triggers", i, "dynamodb", "table"),
                  f"no table {d.table!r} in resources.tables (the embedded AWS starts empty)")  # fmt: skip
        elif d.table in config.resources.tables and config.resources.tables[d.table].stream is None:
            issue(("triggers", i, "dynamodb", "table"), f"table {d.table!r} has no stream (set 'stream')")
        if d.on_failure is not None and d.on_failure.function is not None:
            if d.on_failure.function not in config.functions:
                issue(("triggers", i, "dynamodb", "on_failure", "function"),
                      f"no function named {d.on_failure.function!r}")  # fmt: skip


def _resolve_function(
    root: Path, f: FunctionConfig, loc: tuple[str | int, ...], issue: Any, check_files: bool
) -> FunctionConfig:
    code_dir = (root / f.code).resolve() if f.code else root
    module_part = f.handler.rsplit("/", 1)
    base = module_part[-1]
    folder = module_part[0] if len(module_part) == 2 else ""
    py_module = base.rsplit(".", 1)[0].replace(".", "/")  # Python: module path before the last dot
    node_module = base.split(".", 1)[0]  # Node: file name before the first dot
    py_file = code_dir / folder / f"{py_module}.py"
    node_files = [code_dir / folder / f"{node_module}{ext}" for ext in NODE_EXTENSIONS]
    runtime = f.runtime
    handler_file: Path | None = None
    if runtime is None or runtime.startswith("python"):
        if py_file.is_file():
            handler_file = py_file
            runtime = runtime or f"python3.{sys.version_info.minor}"
    if handler_file is None and (runtime is None or runtime.startswith("nodejs")):
        for candidate in node_files:
            if candidate.is_file():
                handler_file = candidate
                runtime = runtime or DEFAULT_NODE_RUNTIME
                break
    if check_files and f.code and not code_dir.is_dir():
        issue((*loc, "code"), f"code folder {code_dir} does not exist")
    elif handler_file is None and check_files:
        if runtime is None:
            shown = py_file.relative_to(root) if py_file.is_relative_to(root) else py_file
            tried = f"{shown} or {node_module}.js/.mjs/.cjs"
        elif runtime.startswith("python"):
            tried = str(py_file)
        else:
            tried = " or ".join(str(p.name) for p in node_files)
        issue((*loc, "handler"), f"handler file not found: {tried} (under {code_dir})")
    if handler_file is None:
        handler_file = py_file if (runtime or "python").startswith("python") else node_files[0]
        runtime = runtime or f"python3.{sys.version_info.minor}"
    return f.model_copy(update={"code_dir": code_dir, "handler_file": handler_file, "runtime": runtime})
