"""Run a serverless.yml without the Serverless Framework (docs/serverless.md).

:func:`inspect_serverless` reads a serverless.yml / serverless.json (:mod:`.loader`), resolves its
variables (:mod:`.variables`), maps ``resources.Resources`` (:mod:`.cfn`, with the SAM importer's
intrinsics) and its functions and events (:mod:`.translate`, :mod:`.events`) onto a triggers.yaml
mapping, and validates that with :mod:`router.config` like any triggers.yaml: the same models, the
same checks. Problems name the serverless.yml's file, line and key. Events, resources and plugins
router does not emulate are the config's ``notes`` (the commands print them once), never an error.

``--stage``, ``--region`` and ``--param`` of the commands reach :func:`set_options`;
:func:`load` takes them as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._yaml import Path_, Positions, format_path
from ..config import Config, Inspection, inspect_text
from ..errors import ConfigError, ConfigIssue
from . import cfn, loader
from .translate import Translator
from .variables import Options, Resolver

__all__ = ["Options", "inspect_serverless", "load", "set_option", "set_options"]

_OPTIONS = Options()


def set_options(stage: str | None = None, region: str | None = None, params: Mapping[str, str] | None = None) -> None:
    """The command line's ``--stage``, ``--region`` and ``--param`` for every serverless.yml loaded after
    (a reload of ``router run`` too)."""
    global _OPTIONS
    _OPTIONS = Options(stage, region, dict(params or {}))


def set_option(name: str, value: Any) -> None:
    """One of :func:`set_options`' values (``stage``, ``region`` or ``params``), the others kept."""
    if name not in ("stage", "region", "params"):
        raise ValueError(f"unknown serverless option {name!r}")
    setattr(_OPTIONS, name, dict(value or {}) if name == "params" else value)


def load(path: str | Path, *, stage: str | None = None, region: str | None = None,
         params: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None) -> Config:  # fmt: skip
    """A serverless.yml as a router Config (``Router(load(...))``); raises ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(f"cannot read the config: {exc.strerror or exc}", "", str(path))]) from None
    found = inspect_serverless(text, str(path), root=path.resolve().parent, environ=environ,
                               options=Options(stage, region, dict(params or {})))  # fmt: skip
    if found.issues or found.config is None:
        raise ConfigError(found.issues or [ConfigIssue("cannot read the config", "", str(path))])
    return found.config


def inspect_serverless(
    text: str, file: str, *, root: Path | None = None, environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None, check_files: bool = True, options: Options | None = None,
) -> Inspection:  # fmt: skip
    """Every problem of a serverless.yml, and the Config it means when there are none."""
    root = (root or Path.cwd()).resolve()
    try:
        data, positions = loader.load(text, file)
    except ConfigError as exc:
        return Inspection(file, issues=list(exc.issues))
    if not isinstance(data, dict):
        return Inspection(file, issues=[ConfigIssue("expected a mapping at the top level", "", file, 1, 1)])
    env = dict(os.environ if environ is None else environ)
    overrides = dict(overrides or {})
    if isinstance(overrides.get("parameters"), dict):  # the commands' --param (shared with templates)
        set_option("params", overrides["parameters"])
    overrides.pop("parameters", None)
    overrides.pop("stack_name", None)  # a template's; a service's stack is service-stage
    resolver = Resolver(data, positions, file, root, env, options or _OPTIONS, lambda name: None)
    resolver.ssm_lookup = lambda name: _ssm(resolver, data, name)
    if data.get("useDotenv") is True:
        _dotenv(resolver, root, file)
    resolved = resolver.resolve_all()
    stage, region = resolver.stage(), resolver.region()
    account = str(resolver.src_aws("accountId"))
    built = cfn.build(_get(resolved, "resources", "Resources"), region, account, f"{_service(resolved)}-{stage}")
    t = Translator(resolved, built, stage, region)
    out = t.run()
    problems = [_issue(file, positions, where, message) for where, message in built.problems + t.problems]
    found = _validate(out, t.origin, positions, file, root, overrides, check_files)
    reported = {(i.line, i.column) for i in resolver.issues + problems}  # not again as what it led to
    found.issues = [i for i in found.issues if (i.line, i.column) not in reported or not i.line]
    found.issues = sorted(dict.fromkeys(resolver.issues + problems + found.issues),
                          key=lambda i: (i.line or 10**9, i.column, i.path))  # fmt: skip
    found.notes = [f"not emulated: {s}" for s in built.skipped + t.skipped]
    found.notes += [f"not emulated: plugin {p} (router runs the service itself)" for p in _plugins(resolved)]
    if found.config is not None:  # printed once at start by the commands, as a template's are
        found.config = found.config.model_copy(update={"notes": tuple(found.notes)})
    return found


def _validate(out: dict[str, Any], origin: dict[Path_, Path_], positions: Positions, file: str, root: Path,
              overrides: Mapping[str, Any] | None, check_files: bool) -> Inspection:  # fmt: skip
    """router.config's checks on the translation; each issue moved to the serverless.yml place it came from."""
    text = loader.dump(_plain(out))
    found = inspect_text(text, file, root=root, environ={}, overrides=overrides, check_files=check_files)
    labels = {format_path(dst): src for dst, src in origin.items()}
    moved = []
    for issue in found.issues:
        message = issue.message
        for key, kind in _KINDS.items():
            message = message.replace(f"in resources.{key} ", f"in resources.Resources (an {kind}) ")
        src = _origin_of(issue.path, labels)
        if src is None:
            moved.append(ConfigIssue(message, issue.path, file))
            continue
        line, col = _nearest(src, positions)
        moved.append(ConfigIssue(message, format_path(src), file, line, col))
    # the checks after loading (router validate) place their findings through these
    found.issues, found.positions = moved, {dst: _nearest(src, positions) for dst, src in origin.items()}
    return found


_KINDS = {"tables": "AWS::DynamoDB::Table", "queues": "AWS::SQS::Queue", "topics": "AWS::SNS::Topic",
          "buses": "AWS::Events::EventBus"}


def _origin_of(path: str, labels: dict[str, Path_]) -> Path_ | None:
    best = None
    for dst, src in labels.items():
        if (path == dst or path.startswith((dst + ".", dst + "["))) and (best is None or len(dst) > len(best[0])):
            best = (dst, src)
    return best[1] if best else None


def _nearest(path: Path_, positions: Positions) -> tuple[int, int]:
    for n in range(len(path), -1, -1):
        if path[:n] in positions:
            return positions[path[:n]]
    return 0, 0


def _issue(file: str, positions: Positions, where: Path_, message: str) -> ConfigIssue:
    line, col = _nearest(where, positions)
    return ConfigIssue(message, format_path(where), file, line, col)


def _plain(value: Any) -> Any:
    """Only YAML's plain types (a tuple or a stray object would not dump safely)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _service(data: dict[str, Any]) -> str:
    service = data.get("service")
    return str(service.get("name") if isinstance(service, dict) else service or "service")


def _plugins(data: dict[str, Any]) -> list[str]:
    plugins = data.get("plugins")
    if isinstance(plugins, dict):  # the {localPath, modules} form
        plugins = plugins.get("modules")
    return [str(p) for p in plugins or [] if p]


def _ssm(resolver: Resolver, data: dict[str, Any], name: str) -> str | None:
    """An ``AWS::SSM::Parameter`` of resources named ``name`` (router creates those in the embedded
    AWS), else the parameter at an external endpoint (custom.router.settings.aws.endpoint)."""
    block = _get(data, "resources", "Resources")
    for logical, res in (block or {}).items() if isinstance(block, dict) else ():
        if isinstance(res, dict) and res.get("Type") == "AWS::SSM::Parameter":
            props = resolver.node(("resources", "Resources", logical, "Properties"), res.get("Properties") or {})
            if isinstance(props, dict) and props.get("Name") == name and "Value" in props:
                return str(props["Value"])
    endpoint = _get(data, "custom", "router", "settings", "aws", "endpoint")
    if endpoint is not None:
        endpoint = resolver.node(("custom", "router", "settings", "aws", "endpoint"), endpoint)
    if isinstance(endpoint, str) and endpoint.startswith(("http://", "https://")):
        from ..aws_ssm import get_parameter

        return get_parameter(endpoint, resolver.region(), name)
    return None


def _dotenv(resolver: Resolver, root: Path, file: str) -> None:
    """``useDotenv: true``: ``.env.<stage>``, else ``.env``, under the process environment (Serverless
    Framework v3 docs, "Resolution of environment variables": the first found, existing variables kept)."""
    from ..envfile import read_env_file

    stage = resolver.stage()
    for name in (f".env.{stage}", ".env"):
        if (root / name).is_file():
            try:
                found = read_env_file(root / name, str(Path(file).parent / name))
            except ConfigError as exc:
                resolver.issues += exc.issues
                return
            resolver.environ = {**found, **resolver.environ}
            return
