"""``resources.parameters`` (Parameter Store) and ``resources.secrets`` (Secrets Manager): their
config shapes, name rules, and ``${ssm:/path}`` / ``${secret:NAME}`` references in triggers.yaml.

A parameter is a string (type ``String``), a list of strings (``StringList``) or a mapping
``{type: String|StringList|SecureString, value: ..., description: ...}``. A secret is a string
(its SecretString) or any other YAML value (its JSON text, as ``json.dumps`` writes it).
Pure: pydantic and the standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

ParameterType = Literal["String", "StringList", "SecureString"]

# PutParameter "Naming Constraints": a-zA-Z0-9_.- and / between levels, a hierarchical name starts
# with /, not prefixed "aws" or "ssm" (case-insensitive), at most 15 levels; 2048 characters of
# which 1037 are reserved for internal use (so 1011)
_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,1011}$")
# CreateSecret Name: "ASCII letters, numbers, and the following characters: /_+=.@-", 1..512
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
PARAMETER_VALUE_MAX = 4096  # PutParameter Value: "Standard parameters have a value limit of 4 KB"
SECRET_VALUE_MAX = 65536  # CreateSecret SecretString: "Length Constraints: Maximum length of 65536"

REFERENCE = re.compile(r"\$\{(ssm|secret):\s*([^}\s]*)\s*\}")


def _scalar(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v) if isinstance(v, int | float) else v


class ParameterConfig(BaseModel):
    """One Parameter Store parameter (PutParameter: Name, Value, Type, Description)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParameterType = "String"
    value: str
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, list):
            v = {"type": "StringList", "value": v}
        elif not isinstance(v, dict):
            v = {"value": _scalar(v)}
        value = v.get("value")
        if isinstance(value, list):
            items = [_scalar(i) for i in value]
            if v.get("type", "String") != "StringList":
                raise ValueError("a list is the value of a StringList parameter (type: StringList)")
            # a StringList is "a comma-separated list of values" (PutParameter Type); an item cannot hold one
            if any(not isinstance(i, str) or "," in i for i in items) or not items:
                raise ValueError("a StringList's items are strings without commas (at least one)")
            v = {**v, "value": ",".join(items)}
        elif value is not None:
            v = {**v, "value": _scalar(value)}
        return v

    @model_validator(mode="after")
    def _size(self) -> ParameterConfig:
        if not self.value:
            raise ValueError("a parameter's value is not empty (PutParameter: at least 1 character)")
        if len(self.value.encode()) > PARAMETER_VALUE_MAX:
            raise ValueError(f"a parameter's value is at most {PARAMETER_VALUE_MAX} bytes (standard tier)")
        return self


def parameter_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid Parameter Store name, or None."""
    if not _PARAMETER_NAME.match(name):
        return "a parameter name has 1 to 1011 of a-z, A-Z, 0-9, '_', '.', '-' and '/'"
    if "/" in name and not name.startswith("/"):
        return "a name with a hierarchy starts with '/' (e.g. /app/db/host)"
    if name.lstrip("/").lower().startswith(("aws", "ssm")):
        return "a parameter name may not begin with 'aws' or 'ssm' (reserved)"
    if name.count("/") > 15 or "//" in name or name.endswith("/"):
        return "a parameter hierarchy has at most 15 levels, none empty"
    return None


def secret_text(value: Any) -> str:
    """A secret's SecretString: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def check_secrets(v: Any) -> Any:
    """``resources.secrets`` before validation: names checked, values to their SecretString."""
    if not isinstance(v, dict):
        return v
    out = {}
    for name, value in v.items():
        if not _SECRET_NAME.match(str(name)):
            raise ValueError(f"{name!r}: a secret name has 1 to 512 letters, digits or /_+=.@-")
        if value is None:
            raise ValueError(f"{name!r}: a secret needs a value (a string, or a mapping or list stored as JSON)")
        text = secret_text(value)
        if len(text.encode()) > SECRET_VALUE_MAX:
            raise ValueError(f"{name!r}: a secret's value is at most {SECRET_VALUE_MAX} bytes")
        out[str(name)] = text
    return out


def check_parameters(v: Any) -> Any:
    """``resources.parameters`` before validation: every bad name at once."""
    problems = [f"{name!r}: {problem}" for name in (v if isinstance(v, dict) else ())
                if (problem := parameter_name_problem(str(name)))]  # fmt: skip
    if problems:
        raise ValueError("; ".join(problems))
    return v

# ---------------------------------------------------------------------------- references


def resolve_references(data: Any, report: Callable[[tuple[str | int, ...], str], None]) -> Any:
    """``data`` (a triggers.yaml as loaded) with ``${ssm:NAME}``, ``${secret:NAME}`` and
    ``${secret:NAME:KEY}`` (a key of a JSON secret) replaced from its own ``resources``; an
    unknown name is reported (``report(path, message)``) and left as written."""
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, dict):
        resources = {}
    parameters: dict[str, Any] = resources.get("parameters") or {}
    secrets: dict[str, Any] = resources.get("secrets") or {}
    parameters, secrets = (p if isinstance(p, dict) else {} for p in (parameters, secrets))

    def value(kind: str, ref: str) -> str | None:
        if kind == "ssm":
            if ref not in parameters:
                return None
            try:
                return ParameterConfig.model_validate(parameters[ref]).value
            except ValueError:
                return ""  # reported where the parameter is
        name, _, key = ref.partition(":")
        if name not in secrets:
            return None
        if not key:
            return secret_text(secrets[name])
        found = secrets[name].get(key) if isinstance(secrets[name], dict) else None
        return None if found is None else secret_text(found) if not isinstance(found, str) else found

    def walk(node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node
        if path[:2] in (("resources", "parameters"), ("resources", "secrets")) and REFERENCE.search(node):
            report(path, "a parameter or secret cannot reference another (${ssm:...} or ${secret:...})")
            return node
        return REFERENCE.sub(lambda m: sub(m, path), node)

    def sub(match: re.Match[str], path: tuple[str | int, ...]) -> str:
        kind, ref = match.group(1), match.group(2)
        found = value(kind, ref)
        if found is None:
            name, _, key = ref.partition(":")
            if kind == "secret" and key and name in secrets:
                report(path, f"{match.group(0)}: secret {name!r} is not JSON with a key {key!r}")
            else:
                where = "resources.parameters" if kind == "ssm" else "resources.secrets"
                report(path, f"{match.group(0)}: no {'parameter' if kind == 'ssm' else 'secret'} {ref!r} in {where}")
            return match.group(0)
        return found

    return walk(data, ())
