"""CloudFormation's intrinsic functions, conditions and pseudo parameters, resolved locally.

Only the values router reads are resolved (lazily), so an unresolvable value in a property
router does not use never stops a template. Facts from the CloudFormation User Guide,
"Intrinsic function reference" and "Pseudo parameters reference".
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Fn::If's AWS::NoValue: the property is left out (CloudFormation User Guide, "Pseudo parameters")
NO_VALUE = object()


class Unresolvable(Exception):
    """A value router cannot work out; ``node`` (a cfn-lint node) says where."""

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.node = node


def line_of(node: Any) -> tuple[int, int]:
    """1-based (line, column) of a cfn-lint decoded node, (0, 0) without one."""
    mark = getattr(node, "start_mark", None)
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


@dataclass
class Context:
    """What intrinsics resolve against: pseudo parameters, parameter values, mappings,
    conditions and each resource's Ref value and attributes."""

    region: str
    account: str
    stack: str
    parameters: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    atts: dict[str, dict[str, Any]] = field(default_factory=dict)
    unemulated: dict[str, str] = field(default_factory=dict)  # logical id -> type
    _evaluated: dict[str, bool] = field(default_factory=dict)

    def pseudo(self) -> dict[str, Any]:
        # AWS::StackId's format: arn:aws:cloudformation:region:account:stack/name/uuid
        return {
            "AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::StackName": self.stack,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": NO_VALUE,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack}/"
                            "00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
        }  # fmt: skip

    def condition(self, name: str, node: Any = None) -> bool:
        if name in self._evaluated:
            return self._evaluated[name]
        if name not in self.conditions:
            raise Unresolvable(f"no condition named {name!r} in Conditions", node)
        self._evaluated[name] = False  # a cycle reads False rather than recursing forever
        value = resolve(self.conditions[name], self)
        if not isinstance(value, bool):
            raise Unresolvable(f"condition {name!r} is not true or false: {value!r}", self.conditions[name])
        self._evaluated[name] = value
        return value

    def ref(self, name: str, node: Any) -> Any:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.unemulated:
            raise Unresolvable(f"Ref {name}: a {self.unemulated[name]} router does not emulate", node)
        raise Unresolvable(f"Ref {name}: no parameter or resource named {name!r}", node)

    def getatt(self, name: str, attr: str, node: Any) -> Any:
        if name in self.unemulated:
            raise Unresolvable(f"GetAtt {name}.{attr}: a {self.unemulated[name]} router does not emulate", node)
        if name not in self.atts:
            raise Unresolvable(f"GetAtt {name}.{attr}: no resource named {name!r}", node)
        if attr not in self.atts[name]:
            known = ", ".join(sorted(self.atts[name])) or "none"
            raise Unresolvable(f"GetAtt {name}.{attr}: unknown attribute (router knows: {known})", node)
        return self.atts[name][attr]


def resolve(value: Any, ctx: Context) -> Any:
    """``value`` with every intrinsic function replaced by its result (NO_VALUE entries dropped)."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" or key == "Condition" and not isinstance(arg, dict) or str(key).startswith("Fn::"):
                return _call(str(key), arg, ctx, value)
        out = {k: resolve(v, ctx) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [v for v in (resolve(x, ctx) for x in value) if v is not NO_VALUE]
    return value


def _call(name: str, arg: Any, ctx: Context, node: Any) -> Any:
    fn = _FUNCTIONS.get(name)
    if fn is None:
        if name == "Fn::ImportValue":
            raise Unresolvable("Fn::ImportValue reads another stack's export, which router cannot see: "
                               "give the value as a parameter (--param) instead", node)  # fmt: skip
        raise Unresolvable(f"{name} is not supported by router", node)
    return fn(arg, ctx, node)


def _ref(arg: Any, ctx: Context, node: Any) -> Any:
    if not isinstance(arg, str):
        raise Unresolvable("Ref takes a logical id or parameter name", node)
    return ctx.ref(arg, node)


def _getatt(arg: Any, ctx: Context, node: Any) -> Any:
    arg = resolve(arg, ctx)
    if isinstance(arg, str) and "." in arg:
        arg = arg.split(".", 1)
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        raise Unresolvable("Fn::GetAtt takes [LogicalId, Attribute] or 'LogicalId.Attribute'", node)
    return ctx.getatt(arg[0], arg[1], node)


_SUB = re.compile(r"\$\{(!?)([^}]*)\}")


def _sub(arg: Any, ctx: Context, node: Any) -> Any:
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
        text, variables = arg[0], {k: resolve(v, ctx) for k, v in arg[1].items()}
    else:
        text, variables = arg, {}
    if not isinstance(text, str):
        raise Unresolvable("Fn::Sub takes a string or [string, {variables}]", node)

    def one(m: re.Match[str]) -> str:
        if m.group(1):  # ${!Literal} writes ${Literal}
            return "${" + m.group(2) + "}"
        name = m.group(2).strip()
        if name in variables:
            value = variables[name]
        elif "." in name and name.split(".", 1)[0] not in ctx.parameters and not name.startswith("AWS::"):
            logical, _, attr = name.partition(".")
            value = ctx.getatt(logical, attr, node)
        else:
            value = ctx.ref(name, node)
        if not isinstance(value, str | int | float):
            raise Unresolvable(f"Fn::Sub: ${{{name}}} is not a string: {value!r}", node)
        return str(value)

    return _SUB.sub(one, text)


def _join(arg: Any, ctx: Context, node: Any) -> Any:
    arg = resolve(arg, ctx)
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], list)):
        raise Unresolvable("Fn::Join takes [delimiter, [values]]", node)
    return arg[0].join(str(v) for v in arg[1])


def _select(arg: Any, ctx: Context, node: Any) -> Any:
    arg = resolve(arg, ctx)
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
        raise Unresolvable("Fn::Select takes [index, [values]]", node)
    try:
        return arg[1][int(arg[0])]
    except (ValueError, IndexError):
        raise Unresolvable(f"Fn::Select: index {arg[0]!r} is outside a list of {len(arg[1])}", node) from None


def _split(arg: Any, ctx: Context, node: Any) -> Any:
    arg = resolve(arg, ctx)
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], str)):
        raise Unresolvable("Fn::Split takes [delimiter, string]", node)
    return arg[1].split(arg[0])


def _if(arg: Any, ctx: Context, node: Any) -> Any:
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str)):
        raise Unresolvable("Fn::If takes [condition, value if true, value if false]", node)
    return resolve(arg[1] if ctx.condition(arg[0], node) else arg[2], ctx)


def _equals(arg: Any, ctx: Context, node: Any) -> Any:
    arg = resolve(arg, ctx)
    if not (isinstance(arg, list) and len(arg) == 2):
        raise Unresolvable("Fn::Equals takes [value, value]", node)
    return str(arg[0]) == str(arg[1]) if not isinstance(arg[0], list | dict) else arg[0] == arg[1]


def _bools(arg: Any, ctx: Context, node: Any, name: str) -> list[bool]:
    values = resolve(arg, ctx) if isinstance(arg, list) else None
    if not isinstance(values, list) or not all(isinstance(v, bool) for v in values):
        raise Unresolvable(f"{name} takes a list of conditions", node)
    return values


def _condition(arg: Any, ctx: Context, node: Any) -> Any:
    return ctx.condition(str(arg), node)


def _find_in_map(arg: Any, ctx: Context, node: Any) -> Any:
    arg = resolve(arg, ctx)
    if not (isinstance(arg, list) and len(arg) == 3):
        raise Unresolvable("Fn::FindInMap takes [map, top-level key, second-level key]", node)
    try:
        return ctx.mappings[arg[0]][arg[1]][arg[2]]
    except (KeyError, TypeError):
        raise Unresolvable(f"Fn::FindInMap: no {arg[0]}.{arg[1]}.{arg[2]} in Mappings", node) from None


def _base64(arg: Any, ctx: Context, node: Any) -> Any:
    value = resolve(arg, ctx)
    if not isinstance(value, str):
        raise Unresolvable("Fn::Base64 takes a string", node)
    return base64.b64encode(value.encode()).decode()


def _get_azs(arg: Any, ctx: Context, node: Any) -> Any:
    region = resolve(arg, ctx) or ctx.region  # "" means the stack's region
    return [f"{region}{z}" for z in "abc"]


def _to_json(arg: Any, ctx: Context, node: Any) -> Any:  # Fn::ToJsonString (AWS::LanguageExtensions)
    return json.dumps(resolve(arg, ctx), separators=(",", ":"))


_FUNCTIONS: dict[str, Callable[[Any, Context, Any], Any]] = {
    "Ref": _ref, "Fn::GetAtt": _getatt, "Fn::Sub": _sub, "Fn::Join": _join, "Fn::Select": _select,
    "Fn::Split": _split, "Fn::If": _if, "Fn::Equals": _equals, "Condition": _condition,
    "Fn::And": lambda a, c, n: all(_bools(a, c, n, "Fn::And")),
    "Fn::Or": lambda a, c, n: any(_bools(a, c, n, "Fn::Or")),
    "Fn::Not": lambda a, c, n: not _bools(a, c, n, "Fn::Not")[0],
    "Fn::FindInMap": _find_in_map, "Fn::Base64": _base64, "Fn::GetAZs": _get_azs, "Fn::ToJsonString": _to_json,
}  # fmt: skip
