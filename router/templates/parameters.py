"""A template's Parameters: their values (Default, then samconfig.toml's parameter_overrides,
then ``--param`` / ``parameters=``) and the constraints CloudFormation checks on them
(CloudFormation User Guide, "Parameters" section: AllowedValues, AllowedPattern, MinLength,
MaxLength, MinValue, MaxValue; a Number parameter is a number; a list type is comma-separated)."""

from __future__ import annotations

import logging
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def given_values(root: Path, given: dict[str, Any]) -> dict[str, Any]:
    """samconfig.toml's parameter_overrides beside the template, then ``given`` over them."""
    found: dict[str, Any] = {}
    path = root / "samconfig.toml"
    if path.is_file():
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8")).get("default", {})
        except tomllib.TOMLDecodeError as exc:
            logger.warning("%s: not read: %s", path, exc)
            doc = {}
        for section in ("global", "deploy"):  # SAM CLI: [default.global.parameters], [default.deploy.parameters]
            overrides = doc.get(section, {}).get("parameters", {}).get("parameter_overrides")
            # SAM CLI: "Key=Value Key2=Value2", a value with spaces in quotes; or a list of "Key=Value"
            items = overrides if isinstance(overrides, list) else shlex.split(str(overrides or ""))
            for item in items:
                key, _, value = str(item).partition("=")
                found[key] = value.strip('"')
    return {**found, **{k: str(v) if not isinstance(v, list) else v for k, v in given.items()}}


def problem(name: str, spec: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` breaks the parameter's constraints, or None."""
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    kind = str(spec.get("Type", "String"))
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [str(a) for a in allowed]:
        return f"parameter {name}: {text!r} is not one of its AllowedValues ({', '.join(map(str, allowed))})"
    if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), text):
        return f"parameter {name}: {text!r} does not match its AllowedPattern {spec['AllowedPattern']}"
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        return f"parameter {name}: {text!r} is shorter than its MinLength {spec['MinLength']}"
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        return f"parameter {name}: {text!r} is longer than its MaxLength {spec['MaxLength']}"
    numbers = text.split(",") if kind == "List<Number>" else [text] if kind == "Number" else []
    for n in numbers:
        try:
            number = float(n)
        except ValueError:
            return f"parameter {name}: {n.strip()!r} is not a number ({kind})"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"parameter {name}: {n.strip()} is below its MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"parameter {name}: {n.strip()} is above its MaxValue {spec['MaxValue']}"
    return None


def typed(spec: dict[str, Any], value: Any) -> Any:
    """A list type's value as a list (Ref of a CommaDelimitedList gives the list)."""
    kind = str(spec.get("Type", "String"))
    if (kind in ("CommaDelimitedList", "List<Number>") or kind.startswith("List<")) and isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    return value
