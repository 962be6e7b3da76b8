"""Read a serverless.yml / serverless.json keeping where every value came from.

Like :mod:`router._yaml`, but CloudFormation's short tags (``!GetAtt``, ``!Ref``, ``!Sub`` ...)
become their long form (``{"Fn::GetAtt": [...]}``) and ``${...}`` is left for
:mod:`router.serverless.variables` (the Serverless Framework's syntax, not router's).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .._yaml import Path_, Positions
from ..errors import ConfigError, ConfigIssue

# CloudFormation template anatomy, "Intrinsic function reference": the short forms
_TAGS = {"Ref": "Ref", "Condition": "Condition"}
_FN = ("GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or", "FindInMap",
       "Base64", "Cidr", "GetAZs", "ImportValue")  # fmt: skip

_SERVICE = re.compile(r"(?m)^service\s*:")
_PROVIDER = re.compile(r"(?m)^provider\s*:")


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def looks_like(text: str) -> bool:
    """A serverless.yml (or .json): top-level ``service:`` and ``provider:`` keys."""
    if text.lstrip().startswith("{"):
        import json

        try:
            data = json.loads(text)
        except ValueError:
            return False
        return isinstance(data, dict) and "service" in data and "provider" in data
    return bool(_SERVICE.search(text) and _PROVIDER.search(text))


def _tag_name(tag: str) -> str | None:
    name = tag.removeprefix("!")
    if name in _TAGS:
        return _TAGS[name]
    return f"Fn::{name}" if name in _FN else None


class _Walker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: Positions = {}
        self.issues: list[ConfigIssue] = []
        self.loader = yaml.SafeLoader("")

    def issue(self, node: yaml.Node, message: str, path: Path_) -> None:
        from .._yaml import format_path

        mark = node.start_mark
        self.issues.append(ConfigIssue(message, format_path(path), self.file, mark.line + 1, mark.column + 1))

    def walk(self, node: yaml.Node, path: Path_) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag.startswith("!") and not node.tag.startswith("!!"):
            fn = _tag_name(node.tag)
            if fn is None:
                self.issue(node, f"unknown YAML tag {node.tag}", path)
                return None
            node.tag = {yaml.ScalarNode: "tag:yaml.org,2002:str", yaml.SequenceNode: "tag:yaml.org,2002:seq",
                        yaml.MappingNode: "tag:yaml.org,2002:map"}[type(node)]  # fmt: skip
            value = self.walk(node, (*path, fn))
            if fn == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            return {fn: value}
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.issue(key_node, f"a key must be a plain scalar, not {key!r}", path)
                    continue
                key = str(key)
                if key in out:
                    self.issue(key_node, "duplicate key", (*path, key))
                    continue
                self.positions[(*path, key, "<key>")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.walk(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(child, (*path, i)) for i, child in enumerate(node.value)]
        return self.loader.construct_object(node)


def load(text: str, file: str) -> tuple[Any, Positions]:
    """Parse the text; raise ConfigError (with positions) on syntax errors, duplicate keys, unknown tags."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ConfigError([ConfigIssue(f"invalid YAML: {exc.problem or exc}", "", file, line, col)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(f"invalid YAML: {exc}", "", file)]) from None
    if node is None:
        return None, {}
    walker = _Walker(file)
    data = walker.walk(node, ())
    if walker.issues:
        raise ConfigError(walker.issues)
    return data, walker.positions


def dump(data: Any) -> str:
    """``data`` (plain YAML types) as YAML text."""
    return yaml.safe_dump(data, sort_keys=False)
