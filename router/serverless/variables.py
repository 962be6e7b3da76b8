"""The Serverless Framework's variables (``${source:address, fallback}``) over a loaded serverless.yml.

Sources (Serverless Framework docs, "Variables"): ``self:`` (a key of this file), ``opt:stage`` /
``opt:region`` (the command's ``--stage`` / ``--region``), ``sls:stage``, ``env:NAME``,
``file(./x.yml):key``, ``param:NAME`` (``--param NAME=VALUE``, then ``params.<stage>``, then
``params.default``), ``ssm:/name`` (an ``AWS::SSM::Parameter`` of ``resources``, which router creates
in the embedded AWS, or the external endpoint ``custom.router.settings.aws.endpoint`` names),
``aws:region`` / ``aws:accountId``. ``cf:`` and ``s3:`` have nothing to read locally: without a
fallback they are an error naming the place. Variables nest (``${self:custom.${sls:stage}.table}``);
a fallback is a quoted string, a number or another variable; a value that is only a variable keeps
its type (a mapping, a number).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._yaml import Path_, Positions, format_path
from ..errors import ConfigError, ConfigIssue

_SOURCE = re.compile(r"^(self|opt|sls|env|param|ssm|cf|aws|s3|file\([^)]*\))(:|$)", re.S)
_OTHER_SOURCE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(\([^)]*\))?:(?!:)")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MISSING = object()


@dataclass
class Options:
    """What the command line gives: ``--stage``, ``--region``, ``--param NAME=VALUE``."""

    stage: str | None = None
    region: str | None = None
    params: dict[str, str] = field(default_factory=dict)


class _NotFound(Exception):
    """A variable without a value; the reason goes into the error when no fallback applies."""


class Resolver:
    def __init__(self, data: dict[str, Any], positions: Positions, file: str, root: Path,
                 environ: Mapping[str, str], options: Options, ssm: Callable[[str], str | None]) -> None:  # fmt: skip
        self.raw, self.positions, self.file, self.root = data, positions, file, root
        self.environ, self.options, self.ssm_lookup = environ, options, ssm
        self.issues: list[ConfigIssue] = []
        self.done: dict[Path_, Any] = {}
        self.busy: set[Path_] = set()
        self.files: dict[Path, Any] = {}
        self.instance = uuid.uuid4().hex[:12]

    # ---------------------------------------------------------------- the tree

    def resolve_all(self) -> Any:
        return self.node((), self.raw)

    def node(self, path: Path_, value: Any) -> Any:
        if path in self.done:
            return self.done[path]
        if path in self.busy:
            raise _NotFound(f"{format_path(path) or 'the file'} refers to itself")
        self.busy.add(path)
        try:
            if isinstance(value, dict):
                out: Any = {k: self.node((*path, k), v) for k, v in value.items()}
            elif isinstance(value, list):
                out = [self.node((*path, i), v) for i, v in enumerate(value)]
            elif isinstance(value, str) and "${" in value:
                out = self.string(value, path)
            else:
                out = value
        finally:
            self.busy.discard(path)
        self.done[path] = out
        return out

    def string(self, text: str, path: Path_) -> Any:
        try:
            return self.interpolate(text)
        except _NotFound as exc:
            line, col = self._where(path)
            self.issues.append(ConfigIssue(str(exc), format_path(path), self.file, line, col))
            return ""  # reported here; "" keeps it from failing the checks of what uses it too

    def _where(self, path: Path_) -> tuple[int, int]:
        for n in range(len(path), -1, -1):
            if path[:n] in self.positions:
                return self.positions[path[:n]]
        return 0, 0

    # ---------------------------------------------------------------- expressions

    def interpolate(self, text: str) -> Any:
        """Replace every ``${...}`` of ``text``; a text that is one variable keeps the value's type."""
        pieces: list[Any] = []
        i = 0
        while (start := text.find("${", i)) != -1:
            end = _closing(text, start + 2)
            if end == -1:
                raise _NotFound(f"unclosed variable in {text!r}")
            inner = text[start + 2:end]
            pieces.append(text[i:start])
            if _SOURCE.match(inner.strip()) or _OTHER_SOURCE.match(inner.strip()):
                pieces.append(self.expression(inner, text))
            else:
                pieces.append(text[start:end + 1])  # ${AWS::Region}, ${Logical}: Fn::Sub's, not ours
            i = end + 1
        pieces.append(text[i:])
        parts = [p for p in pieces if not (isinstance(p, str) and p == "")]
        if len(parts) == 1:
            return parts[0]
        for p in parts:
            if isinstance(p, dict | list):
                raise _NotFound(f"a variable in {text!r} is a mapping or list; it cannot be part of a string")
        return "".join(_text(p) for p in parts)

    def expression(self, inner: str, text: str) -> Any:
        """``source:address, fallback, ...``: the first that has a value."""
        reasons = []
        for part in _split(inner):
            part = part.strip()
            if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
                return part[1:-1]
            if _NUMBER.match(part):
                return float(part) if "." in part else int(part)
            if part in ("true", "false"):
                return part == "true"
            if part == "null":
                continue
            if ":" not in part and not part.startswith(("${", "file(")):
                reasons.append(f"{part!r} is neither a variable, a quoted string nor a number")
                continue
            try:
                value = self.interpolate(part) if part.startswith("${") else self.lookup(self.interpolate(part))
            except _NotFound as exc:
                reasons.append(str(exc))
                continue
            if value is not None:
                return value
            reasons.append(f"${{{part}}} is null")
        raise _NotFound("; ".join(reasons) or f"cannot resolve ${{{inner}}}")

    def lookup(self, ref: Any) -> Any:
        ref = _text(ref)
        if ref.startswith("file("):
            close = ref.index(")")
            return self.file_value(ref[5:close].strip().strip("'\""), ref[close + 1:].removeprefix(":"))
        source, _, address = ref.partition(":")
        address = address.strip()
        handler = getattr(self, f"src_{source}", None)
        if handler is None:
            raise _NotFound(f"${{{ref}}}: unknown variable source {source!r} (router resolves self, opt, sls, "
                            "env, file, param, ssm, aws)")  # fmt: skip
        return handler(address)

    # ---------------------------------------------------------------- sources

    def src_self(self, address: str) -> Any:
        path: Path_ = ()
        value: Any = self.raw
        for key in [k for k in address.split(".") if k]:
            if isinstance(value, str) and "${" in value:  # a key whose value is a variable: its value
                value = self.node(path, value)
            if isinstance(value, dict) and key in value:
                path, value = (*path, key), value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                path, value = (*path, int(key)), value[int(key)]
            else:
                raise _NotFound(f"${{self:{address}}}: the file has no {address!r}")
        return self.node(path, value)

    def src_opt(self, address: str) -> Any:
        if address in ("stage", "region"):
            value = getattr(self.options, address)
            if value is None:
                raise _NotFound(f"${{opt:{address}}}: no --{address} given")
            return value
        raise _NotFound(f"${{opt:{address}}}: router's commands take --stage, --region and --param only")

    def src_sls(self, address: str) -> Any:
        if address == "stage":
            return self.stage()
        if address == "instanceId":
            return self.instance
        raise _NotFound(f"${{sls:{address}}}: expected sls:stage or sls:instanceId")

    def src_env(self, address: str) -> Any:
        if address in self.environ:
            return self.environ[address]
        raise _NotFound(f"${{env:{address}}}: environment variable {address} is not set")

    def src_param(self, address: str) -> Any:
        if address in self.options.params:
            return self.options.params[address]
        params = self.raw.get("params")
        if isinstance(params, dict):
            for group in (self.stage(), "default"):
                if isinstance(params.get(group), dict) and address in params[group]:
                    return self.node(("params", group, address), params[group][address])
        raise _NotFound(f"${{param:{address}}}: no --param {address}=..., and no params.{self.stage()}.{address} "
                        f"or params.default.{address}")  # fmt: skip

    def src_ssm(self, address: str) -> Any:
        name = address.removesuffix("~true").removesuffix("~false").strip()
        value = self.ssm_lookup(name)
        if value is None:
            raise _NotFound(f"${{ssm:{address}}}: no parameter {name!r} (router reads an AWS::SSM::Parameter "
                            "of resources, or an external endpoint's parameters: custom.router.settings.aws.endpoint)")
        return value

    def src_aws(self, address: str) -> Any:
        if address == "region":
            return self.region()
        if address == "accountId":
            account = self.src_self("custom.router.settings.account") if _has(self.raw, "custom.router.settings"
                                                                            ".account") else "123456789012"
            return str(account)
        raise _NotFound(f"${{aws:{address}}}: expected aws:region or aws:accountId")

    def src_cf(self, address: str) -> Any:
        raise _NotFound(f"${{cf:{address}}}: router deploys no CloudFormation stacks, so it has no stack outputs "
                        "to read (give a fallback: ${cf:...,'value'})")

    def src_s3(self, address: str) -> Any:
        raise _NotFound(f"${{s3:{address}}}: the embedded AWS starts empty, so it has no object to read "
                        "(give a fallback: ${s3:...,'value'})")

    def file_value(self, name: str, address: str) -> Any:
        path = (self.root / name).resolve()
        if path not in self.files:
            self.files[path] = self._read(path, name)
        value = self.files[path]
        for key in [k for k in address.strip().split(".") if k]:
            if not isinstance(value, dict) or key not in value:
                raise _NotFound(f"${{file({name}):{address}}}: {name} has no {address.strip()!r}")
            value = value[key]
        return value

    def _read(self, path: Path, name: str) -> Any:
        from . import loader

        if path.suffix not in (".yml", ".yaml", ".json"):
            raise _NotFound(f"${{file({name})}}: router reads .yml, .yaml and .json files (not {path.suffix or name})")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _NotFound(f"${{file({name})}}: cannot read {path}: {exc.strerror or exc}") from None
        try:
            data, positions = loader.load(text, str(path)) if path.suffix != ".json" else (json.loads(text), {})
        except (ConfigError, ValueError) as exc:
            raise _NotFound(f"${{file({name})}}: {exc}") from None
        nested = Resolver(data if isinstance(data, dict) else {}, positions, str(path), path.parent, self.environ,
                          self.options, self.ssm_lookup)  # fmt: skip
        nested.src_self = self.src_self  # type: ignore[method-assign]  # ${self:} is the service's file
        nested.stage, nested.region = self.stage, self.region  # type: ignore[method-assign]
        out = nested.node((), data)
        self.issues += nested.issues
        return out

    # ---------------------------------------------------------------- stage and region

    def stage(self) -> str:
        return self.options.stage or self._provider("stage") or "dev"

    def region(self) -> str:
        return self.options.region or self._provider("region") or "us-east-1"

    def _provider(self, key: str) -> str | None:
        provider = self.raw.get("provider")
        if isinstance(provider, dict) and provider.get(key) is not None:
            value = self.node(("provider", key), provider[key])
            return None if value is None else _text(value)
        return None


def _has(data: Any, dotted: str) -> bool:
    for key in dotted.split("."):
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _closing(text: str, i: int) -> int:
    depth = 1
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split(inner: str) -> list[str]:
    """Split at the commas outside nested variables, parentheses and quotes."""
    parts, depth, quote, cur = [], 0, "", ""
    for ch in inner:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return parts
