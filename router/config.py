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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import _yaml
from .envfile import read_env_file
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
    AuthorizerConfig,
    AwsSettings,
    Config,
    CorsConfig,
    Destination,
    DynamoDBTrigger,
    EventBridgeTrigger,
    FunctionConfig,
    HttpSettings,
    HttpTrigger,
    JournalSettings,
    QueueConfig,
    Resources,
    S3Trigger,
    ScheduleTrigger,
    Settings,
    SnsTrigger,
    SqsTrigger,
    TableConfig,
    TopicConfig,
    TriggerConfig,
    aws_queue_name,
    aws_topic_name,
    bucket_name_problem,
)

__all__ = [
    "DEFAULT_NODE_RUNTIME", "NODE_EXTENSIONS", "NODE_RUNTIMES", "PYTHON_RUNTIMES", "RUNTIMES", "SOURCE_KINDS",
    "TEMP_PATTERNS", "AsyncConfig", "AuthorizerConfig", "AwsSettings", "Config", "ConfigError", "CorsConfig",
    "Destination",
    "DynamoDBTrigger", "EventBridgeTrigger", "SnsTrigger", "TopicConfig", "aws_topic_name", "declared_topic",
    "FunctionConfig", "HttpSettings", "HttpTrigger", "JournalSettings", "Resources",
    "QueueConfig", "SqsTrigger", "aws_queue_name", "declared_queue", "Inspection", "S3Trigger", "ScheduleTrigger",
    "Settings", "TableConfig", "TriggerConfig",
    "bucket_name_problem", "handler_files", "inspect_config", "inspect_text", "load_config", "parse_config",
    "runtime_inferred",
]  # fmt: skip

# ---------------------------------------------------------------------------- loading

_USER_ONLY = {"code_dir", "handler_file", "path", "root", "name"}


@dataclass
class Inspection:
    """What reading a config found. ``config`` is the whole config when ``issues`` is empty;
    with issues it holds the parts that are valid (so that every problem can be reported at
    once), or None when the file could not be read as YAML. ``positions`` maps key paths to
    their (line, column)."""

    file: str
    config: Config | None = None
    issues: list[ConfigIssue] = field(default_factory=list)
    positions: _yaml.Positions = field(default_factory=dict)
    empty: bool = False  # the file holds no YAML document (or an empty one)
    notes: list[str] = field(default_factory=list)  # a template's "not emulated: ..." lines

    def issue(self, loc: tuple[str | int, ...], message: str) -> ConfigIssue:
        """A ConfigIssue at the key path ``loc`` (at its nearest known parent)."""
        _, (line, col) = _position(loc, self.positions)
        return ConfigIssue(message, _yaml.format_path(loc), self.file, line, col)


def load_config(
    path: str | Path = "triggers.yaml",
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    check_files: bool = True,
) -> Config:
    """Read, substitute, validate and resolve a triggers.yaml. Raises ConfigError.

    A handler that cannot load (a missing file, a malformed handler string) is not an error
    here: Lambda reports it as each invocation's init error (see :mod:`router.check`)."""
    return _config_or_raise(inspect_config(path, environ=environ, overrides=overrides, check_files=check_files))


def inspect_config(
    path: str | Path = "triggers.yaml",
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    check_files: bool = True,
) -> Inspection:
    """Like :func:`load_config`, but return every problem found instead of raising."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Inspection(shown, issues=[ConfigIssue("config file not found", "", shown)])
    except (OSError, UnicodeDecodeError) as exc:
        return Inspection(shown, issues=[ConfigIssue(f"cannot read the config: {exc}", "", shown)])
    return inspect_text(
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
    return _config_or_raise(
        inspect_text(text, file, root=root, environ=environ, overrides=overrides, check_files=check_files)
    )


def _config_or_raise(found: Inspection) -> Config:
    if found.issues or found.config is None:
        raise ConfigError(found.issues or [ConfigIssue("cannot read the config", "", found.file)])
    return found.config


def inspect_text(
    text: str,
    file: str = "triggers.yaml",
    *,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    check_files: bool = True,
) -> Inspection:
    """Validate and resolve the text of a triggers.yaml; every problem, not the first. A
    serverless.yml (recognised by content) goes to :mod:`router.serverless`, which translates it."""
    from .serverless.loader import looks_like

    if looks_like(text):
        from .serverless import inspect_serverless

        return inspect_serverless(text, file, root=root, environ=environ, overrides=overrides, check_files=check_files)
    root = (root or Path.cwd()).resolve()
    env_files = _EnvFiles(root, file)
    overrides_given = overrides
    overrides, template = _template(text, file, root, overrides)
    if template is not None and template.issues and not template.data:  # not read at all: nothing to check
        return Inspection(file, issues=list(template.issues))
    try:
        if template is not None:  # a SAM or CloudFormation template (router.templates)
            data, positions = template.data, template.positions
        else:
            data, positions = _yaml.load(text, file, environ, env_files=env_files)
    except ConfigError as exc:
        return Inspection(file, issues=list(exc.issues))
    found = Inspection(file, positions=positions, empty=data is None or data == {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        found.issues.append(ConfigIssue("expected a mapping at the top level", "", file, 1, 1))
        return found
    issues = _user_keys_only(data, positions, file)
    if overrides:
        data = _merge(data, dict(overrides))
    data, found.notes, imported = _imported(data, positions, file, root, template)
    issues += imported
    extra = {"path": root / Path(file).name, "root": root, "notes": tuple(found.notes),
             "template_options": _template_options(overrides_given)}
    indices: list[int] | None = None
    known: set[str] | None = None
    try:
        config = Config.model_validate({**data, **extra})
    except ValidationError as exc:
        # report the cross-reference problems of the parts that are valid, too
        issues += _translate(exc, positions, file)
        config, indices, known = _partial(data, extra)
    resolved, more = _resolve(config, positions, file, check_files, indices=indices, known=known)
    resolved, more = _with_env_files(resolved, env_files, more)
    found.config, found.issues = resolved, _sorted(_unique(issues + more))
    return found


def _partial(data: dict[str, Any], extra: dict[str, Any]) -> tuple[Config, list[int], set[str]]:
    """The valid parts of a config that failed validation: its valid functions and triggers
    (with the original index of each trigger), and the names of every function, valid or not."""

    def valid(model: Any, value: Any) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError:
            return None

    def part(mapping: Any, key: str, kind: type) -> Any:
        value = mapping.get(key) if isinstance(mapping, dict) else None
        return value if isinstance(value, kind) else kind()

    raw_functions = part(data, "functions", dict)
    functions = {
        name: fc for name, f in raw_functions.items()
        if isinstance(f, dict) and (fc := valid(FunctionConfig, {**f, "name": name})) is not None
    }  # fmt: skip
    raw_triggers = part(data, "triggers", list)
    triggers = [(i, tc) for i, t in enumerate(raw_triggers) if (tc := valid(TriggerConfig, t)) is not None]
    raw_tables = part(part(data, "resources", dict), "tables", dict)
    # an invalid table stands in as a valid one: its triggers get no "no table" error besides
    tables = {name: valid(TableConfig, t) or TableConfig(keys={"pk": "S"}) for name, t in raw_tables.items()}
    raw_queues = part(part(data, "resources", dict), "queues", dict)
    queues = {name: valid(QueueConfig, q) or QueueConfig() for name, q in raw_queues.items()}
    raw_topics = part(part(data, "resources", dict), "topics", dict)
    topics = {name: valid(TopicConfig, q) or TopicConfig() for name, q in raw_topics.items()}
    buses = [b for b in part(part(data, "resources", dict), "buses", list) if isinstance(b, str)]
    raw_settings = part(data, "settings", dict)
    aws = valid(AwsSettings, part(raw_settings, "aws", dict)) or AwsSettings()
    settings = valid(Settings, raw_settings) or Settings(aws=aws)
    config = Config.model_validate({
        "settings": settings,
        "functions": functions,
        "resources": Resources.model_construct(tables=tables, queues=queues, topics=topics, buses=buses),
        "triggers": tuple(t for _, t in triggers),
        **extra,
    })  # fmt: skip
    return config, [i for i, _ in triggers], {str(name) for name in raw_functions}


class _EnvFiles:
    """Reads the config's env files (relative to its folder), each once per load."""

    def __init__(self, root: Path, config_file: str) -> None:
        self.root, self.shown_dir = root, Path(config_file).parent
        self.read: dict[str, dict[str, str]] = {}

    def __call__(self, value: str) -> dict[str, str]:
        if value not in self.read:
            self.read[value] = read_env_file(self.root / value, str(self.shown_dir / value))
        return self.read[value]


def _with_env_files(config: Config, files: _EnvFiles, issues: list[ConfigIssue]) -> tuple[Config, list[ConfigIssue]]:
    """Each function's environment over its env file over ``settings.env_file`` (later wins)."""
    if config.settings.env_file is None and all(f.env_file is None for f in config.functions.values()):
        return config, issues
    issues = list(issues)
    functions = {}
    for name, f in config.functions.items():
        env: dict[str, str] = {}
        for value in (config.settings.env_file, f.env_file):
            try:
                env.update(files(value) if value is not None else {})
            except ConfigError as exc:
                issues.extend(exc.issues)
        fn = f.model_copy(update={"environment": {**env, **f.environment}})
        object.__setattr__(fn, "__pydantic_fields_set__", set(f.model_fields_set))
        functions[name] = fn
    return config.model_copy(update={"functions": functions}), issues


def _template(text: str, file: str, root: Path, overrides: Mapping[str, Any] | None
              ) -> tuple[Mapping[str, Any] | None, Any]:  # fmt: skip
    """(the other overrides, the template's Translation) for a SAM or CloudFormation template,
    (overrides, None) for a triggers.yaml."""
    from . import templates  # light: cfn-lint loads only for a template

    if not templates.looks_like_template(text):
        return overrides, None
    rest = {k: v for k, v in (overrides or {}).items() if k not in templates.IMPORT_KEYS}
    params, stack = templates.options(dict(overrides or {}))
    given = rest.get("settings")
    where = {k: str(given[k]) for k in ("region", "account") if isinstance(given, dict) and k in given}
    return rest, templates.translate(text, file, root, parameters=params, stack=stack, **where)


def _template_options(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters and stack name given for a template or an ``import:`` (a reload reuses them)."""
    from .templates import IMPORT_KEYS

    return {k: v for k, v in (overrides or {}).items() if k in IMPORT_KEYS}


def _imported(data: dict[str, Any], positions: _yaml.Positions, file: str, root: Path, template: Any
              ) -> tuple[dict[str, Any], list[str], list[ConfigIssue]]:  # fmt: skip
    """A template's (or an ``import:``-ed template's) notes and problems, with the data to validate."""
    from . import templates

    if template is not None:
        return data, list(template.notes), list(template.issues)
    if "import" in data:
        return templates.overlay(data, positions, file, root)
    issues = []
    for key in ("parameters", "stack_name"):
        if key in data:
            line, col = positions.get((key,), (0, 0))
            issues.append(ConfigIssue("parameters and a stack name are for a template (or a config that says "
                                      "import: template.yaml)", key, file, line, col))  # fmt: skip
    return {k: v for k, v in data.items() if k not in ("parameters", "stack_name")}, [], issues


def _unique(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return list(dict.fromkeys(issues))


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
    if any(key in data for key in ("path", "root", "notes", "template_options")):
        for key in ("path", "root", "notes", "template_options"):
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
    config: Config, positions: _yaml.Positions, file: str, check_files: bool, *,
    indices: list[int] | None = None, known: set[str] | None = None,
) -> tuple[Config, list[ConfigIssue]]:  # fmt: skip
    """Cross-references, code folders, runtimes, default trigger names. ``indices`` are the
    triggers' positions in the file (when invalid ones were left out), ``known`` the names
    of every function the file defines (valid or not)."""
    issues: list[ConfigIssue] = []
    where = indices if indices is not None else list(range(len(config.triggers)))
    known = known if known is not None else set(config.functions)

    def issue(loc: tuple[str | int, ...], message: str) -> None:
        _, (line, col) = _position(loc, positions)
        issues.append(ConfigIssue(message, _yaml.format_path(loc), file, line, col))

    functions = {}
    for name, f in config.functions.items():
        functions[name] = _resolve_function(config.root, f, ("functions", name), issue, check_files)
        for dest in ("on_failure", "on_success"):
            d = getattr(f.async_, dest)
            if d is not None and d.function is not None and d.function not in known:
                issue(("functions", name, "async", dest, "function"), f"no function named {d.function!r}")
            if d is not None and (d.topic is not None or d.bus is not None):
                _check_pubsub(config, d.topic, d.bus, ("functions", name, "async", dest), issue, destination=True)
            if d is not None and d.queue is not None:
                _check_queue(config, d.queue, ("functions", name, "async", dest, "queue"), issue, standard=True)

    for qname, q in config.resources.queues.items():
        if q.redrive is not None:
            _check_queue(config, q.redrive.dead_letter, ("resources", "queues", qname, "redrive", "dead_letter"), issue)

    triggers = []
    names: dict[str, int] = {}
    for i, t in zip(where, config.triggers, strict=True):
        if t.function not in known:
            listed = ", ".join(sorted(known)) or "none defined"
            issue(("triggers", i, "function"), f"no function named {t.function!r} (functions: {listed})")
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
        _check_trigger(config, t, i, issue, known)

    routes: dict[str, int] = {}
    urls: dict[int, int] = {}
    for i, t in zip(where, triggers, strict=True):
        if t.http is not None and t.enabled and t.http.url is not None:  # a function URL: its own server
            port = t.http.url.port
            if port and (port in urls or port == config.settings.http.port):
                at: tuple[str | int, ...] = ("triggers", i, "http", "url", "port")
                issue(at, f"port {port} is taken by another HTTP server of this config")
            urls.setdefault(port, i)
        elif t.http is not None and t.enabled:
            # API Gateway refuses routes that differ only in their parameters' names
            key = f"{t.http.stage or ''}|" + re.sub(r"\{[^}/]*?(\+?)\}", r"{\1}", t.http.route)
            if key in routes:
                issue(("triggers", i, "http"), f"duplicate route {t.http.route!r} (also triggers[{routes[key]}])")
            routes.setdefault(key, i)

    return config.model_copy(update={"functions": functions, "triggers": tuple(triggers)}), issues


def _check_trigger(config: Config, t: TriggerConfig, i: int, issue: Any, known: set[str]) -> None:
    if t.s3 is not None and t.s3.dir is not None and not t.s3.create and not (config.root / t.s3.dir).is_dir():
        issue(("triggers", i, "s3", "dir"), f"folder {config.root / t.s3.dir} does not exist (create: false)")
    if t.s3 is not None and t.s3.bucket is None and t.s3.dir is not None:
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
            if d.on_failure.function not in known:
                issue(("triggers", i, "dynamodb", "on_failure", "function"),
                      f"no function named {d.on_failure.function!r}")  # fmt: skip
        if d.on_failure is not None and d.on_failure.queue is not None:
            where = ("triggers", i, "dynamodb", "on_failure", "queue")
            _check_queue(config, d.on_failure.queue, where, issue, standard=True)
    if t.http is not None and t.http.authorizer is not None:
        _check_authorizer(config, t.http, ("triggers", i, "http", "authorizer"), issue, known)
    if t.sqs is not None:
        _check_sqs(config, t.sqs, i, issue)
    if t.sns is not None or t.eventbridge is not None:
        _check_pubsub(config, t.sns.topic if t.sns else None, t.eventbridge.bus if t.eventbridge else None,
                      ("triggers", i, t.kind), issue)  # fmt: skip


def _check_authorizer(config: Config, http: HttpTrigger, loc: tuple[str | int, ...], issue: Any,
                      known: set[str]) -> None:  # fmt: skip
    """An authorizer fits its API type: token authorizers are REST's, payload versions, simple responses
    and JWT authorizers HTTP API's (API Gateway developer guide, "Use API Gateway Lambda authorizers" and
    "Control access to HTTP APIs with JWT authorizers")."""
    a = http.authorizer
    assert a is not None
    rest = http.payload == "1.0"
    if http.url is not None:
        issue(loc, "a function URL takes no authorizer (auth: NONE)")
    if a.function is not None and a.function not in known:
        issue((*loc, "function"), f"no function named {a.function!r}")
    if rest and (a.payload is not None or a.simple_response):
        issue(loc, "payload and simple_response are HTTP API (payload 2.0) authorizer settings, not REST's")
    if not rest and a.type == "token":
        issue((*loc, "type"), "token authorizers are REST's (payload 1.0); HTTP API authorizers are request ones")
    if rest and a.jwt is not None:
        issue((*loc, "jwt"), "JWT authorizers are HTTP API's (payload 2.0), not REST's")
    jwks_file = a.jwt is not None and not a.jwt.jwks.startswith(("http://", "https://"))
    if a.jwt is not None and jwks_file and not (config.root / a.jwt.jwks).is_file():
        issue((*loc, "jwt", "jwks"), f"no JWKS file {config.root / a.jwt.jwks}")


def declared_topic(config: Config, name: str) -> str | None:
    """The AWS name of the ``resources.topics`` entry ``name`` names (its key or AWS name)."""
    for key, t in config.resources.topics.items():
        if name in (key, aws_topic_name(key, t.fifo)):
            return aws_topic_name(key, t.fifo)
    return None


def _check_pubsub(config: Config, topic: str | None, bus: str | None, loc: tuple[str | int, ...], issue: Any,
                  destination: bool = False) -> None:  # fmt: skip
    """A topic or bus named by a trigger or a destination exists at start (the embedded AWS starts
    with only the default bus); a destination topic is a standard one (Lambda API reference,
    "DestinationConfig": "Topic - The ARN of a standard SNS topic")."""
    if topic is not None and (topic.endswith(".fifo") or any(
            t.fifo for k, t in config.resources.topics.items() if topic in (k, aws_topic_name(k, t.fifo)))):
        # SNS developer guide, "FIFO topic message delivery": a FIFO topic delivers to SQS queues only
        issue((*loc, "topic"), f"topic {topic!r} is a FIFO topic; a destination is a standard topic (as in AWS)"
              if destination else f"topic {topic!r} is a FIFO topic, which delivers to SQS queues only (as in "
              "AWS): subscribe a FIFO queue to it and give the function an sqs trigger")  # fmt: skip
    if config.settings.aws.endpoint != "embedded":
        return
    if topic is not None and declared_topic(config, topic) is None:
        issue((*loc, "topic"), f"no topic {topic!r} in resources.topics (the embedded AWS starts empty)")
    if bus is not None and bus != "default" and bus not in config.resources.buses:
        issue((*loc, "bus"), f"no bus {bus!r} in resources.buses (only the default bus exists at start)")


def declared_queue(config: Config, name: str) -> tuple[str, QueueConfig] | None:
    """The ``resources.queues`` entry a trigger or destination names (by its key, or by its
    AWS name: ``jobs`` and ``jobs.fifo`` both name a FIFO queue ``jobs``): (AWS name, config)."""
    for key, q in config.resources.queues.items():
        if name in (key, aws_queue_name(key, q.fifo)):
            return aws_queue_name(key, q.fifo), q
    return None


def _check_queue(config: Config, name: str, loc: tuple[str | int, ...], issue: Any, standard: bool = False) -> None:
    found = declared_queue(config, name)
    if config.settings.aws.endpoint == "embedded" and found is None:
        issue(loc, f"no queue {name!r} in resources.queues (the embedded AWS starts empty)")
    # "an unsupported destination type, such as an Amazon SQS FIFO queue" (Capturing records of
    # Lambda asynchronous invocations); the same for a stream's on-failure destination
    if standard and (name.endswith(".fifo") or (found is not None and found[1].fifo)):
        issue(loc, f"queue {name!r} is a FIFO queue; a destination is a standard queue (as in AWS)")


def _check_sqs(config: Config, q: SqsTrigger, i: int, issue: Any) -> None:
    _check_queue(config, q.queue, ("triggers", i, "sqs", "queue"), issue)
    found = declared_queue(config, q.queue)
    fifo = found[1].fifo if found is not None else q.queue.endswith(".fifo")
    # "For FIFO queues, the maximum [BatchSize] is 10." (CreateEventSourceMapping, BatchSize)
    if fifo and q.batch_size > 10:
        issue(("triggers", i, "sqs", "batch_size"), f"a FIFO queue's batch_size is at most 10, got {q.batch_size}")


def handler_files(code_dir: Path, handler: str) -> tuple[Path, list[Path]]:
    """The files a handler string may name: the Python module file (awslambdaric imports the
    module path before the last dot) and the Node.js candidates (aws-lambda-ric: the file name
    before the first dot, with .js, .mjs or .cjs; then TypeScript's .ts and .mts)."""
    folder, _, base = handler.rpartition("/")
    py_module = base.rsplit(".", 1)[0].replace(".", "/")
    node_module = base.split(".", 1)[0]
    return code_dir / folder / f"{py_module}.py", [code_dir / folder / f"{node_module}{ext}" for ext in NODE_EXTENSIONS]


def runtime_inferred(fn: FunctionConfig) -> bool:
    """True when the config did not say the function's runtime (it came from its file)."""
    return "runtime" not in fn.model_fields_set


def _resolve_function(
    root: Path, f: FunctionConfig, loc: tuple[str | int, ...], issue: Any, check_files: bool
) -> FunctionConfig:
    """Code folder, handler file and runtime. A missing handler file is not an error here:
    Lambda reports it at each invocation (Runtime.ImportModuleError); :mod:`router.check`
    tells the user early."""
    code_dir = (root / f.code).resolve() if f.code else root
    if check_files and f.code and not code_dir.is_dir():
        issue((*loc, "code"), f"code folder {code_dir} does not exist")
    py_file, node_files = handler_files(code_dir, f.handler)
    runtime = f.runtime
    handler_file: Path | None = None
    if runtime is None or runtime.startswith("python"):
        if py_file.is_file():
            handler_file = py_file
            runtime = runtime or f"python3.{sys.version_info.minor}"
    if handler_file is None and (runtime is None or runtime.startswith("nodejs")):
        handler_file = next((p for p in node_files if p.is_file()), None)
        if handler_file is not None:
            runtime = runtime or DEFAULT_NODE_RUNTIME
    if handler_file is None:
        runtime = runtime or f"python3.{sys.version_info.minor}"
        handler_file = py_file if runtime.startswith("python") else node_files[0]
    layers = tuple(str((root / layer).resolve()) for layer in f.layers)
    for i, layer in enumerate(layers):
        if check_files and not Path(layer).is_dir():
            issue((*loc, "layers", i), f"layer folder {layer} does not exist")
    resolved = f.model_copy(update={"code_dir": code_dir, "handler_file": handler_file, "runtime": runtime,
                                    "layers": layers})  # fmt: skip
    # the fields the user set stay the set ones: runtime_inferred() reads them
    object.__setattr__(resolved, "__pydantic_fields_set__", set(f.model_fields_set))
    return resolved
