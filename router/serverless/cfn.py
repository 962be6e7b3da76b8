"""``resources.Resources`` of a serverless.yml (CloudFormation) as router's ``resources``.

The SAM importer's code does the work: :mod:`router.templates.intrinsics` resolves ``Ref``,
``Fn::GetAtt``, ``Fn::Sub`` ...; :mod:`router.templates.resources` names each table, bucket, queue,
topic and bus as CloudFormation would and gives its Ref value, attributes and ``resources`` entry.
Here only what a serverless.yml adds: an ``AWS::SSM::Parameter`` (made in the embedded SSM, and read
by ``${ssm:...}``), and the list of the types router does not emulate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._yaml import Path_
from ..templates.intrinsics import Context, Unresolvable, resolve
from ..templates.resources import STORES, arn_target, declare, store_entry
from .loader import mapping

_BASE: Path_ = ("resources", "Resources")
SSM_PARAMETER = "AWS::SSM::Parameter"
_KIND = {"dynamodb": "stream", "sqs": "queue", "sns": "topic", "events": "bus", "lambda": "function", "s3": "bucket"}


@dataclass
class Built:
    ctx: Context
    resources: dict[str, Any] = field(default_factory=dict)  # router's resources block
    problems: list[tuple[Path_, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "Logical (Type)" router does not emulate


def build(block: Any, region: str, account: str, stack: str) -> Built:
    ctx = Context(region=region, account=account, stack=stack)
    out = Built(ctx)
    kinds: dict[str, str] = {}
    for logical, res in mapping(block).items():
        kind = res.get("Type") if isinstance(res, dict) else None
        if kind in STORES or kind == SSM_PARAMETER:
            kinds[logical] = str(kind)
        else:
            ctx.unemulated[logical] = str(kind)
            out.skipped.append(f"{logical} ({kind})")
    for logical, kind in kinds.items():  # every name first: a Ref may need one before its resource is read
        props = mapping(block[logical].get("Properties"))
        try:
            if kind == SSM_PARAMETER:
                # "AWS::SSM::Parameter", Return values: Ref is the parameter's name
                ctx.refs[logical] = str(resolve(props.get("Name", f"{stack}-{logical}"), ctx))
                ctx.atts[logical] = {"Type": props.get("Type", "String"), "Value": props.get("Value")}
            else:
                declare(ctx, logical, kind, props)
        except Unresolvable as exc:
            out.problems.append(((*_BASE, logical, "Properties"), str(exc)))
    for logical, kind in kinds.items():
        if logical in ctx.refs:
            _add(out, logical, kind, mapping(block[logical].get("Properties")))
    return out


def _add(out: Built, logical: str, kind: str, props: dict[str, Any]) -> None:
    r = out.resources
    try:
        if kind == SSM_PARAMETER:
            p = resolve(props, out.ctx)
            entry = {"type": p.get("Type", "String"), "value": p.get("Value", "")}
            r.setdefault("parameters", {})[out.ctx.refs[logical]] = entry
            return
        section, name, value = store_entry(out.ctx, logical, kind, props)
    except Unresolvable as exc:
        out.problems.append(((*_BASE, logical, "Properties"), str(exc)))
        return
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        out.problems.append(((*_BASE, logical, "Properties"), f"cannot read the {kind}: {exc!r}"))
        return
    if value is None:
        r.setdefault(section, []).append(name)
    else:
        r.setdefault(section, {})[name] = value


def arn_name(arn: str, service: str) -> str | None:
    """The resource name in an ARN of ``service`` (dynamodb: the table of a stream ARN), or None."""
    try:
        kind, name = arn_target(arn)
    except Unresolvable:
        return None
    return name if kind == _KIND.get(service) or (service == "dynamodb" and kind == "table") else None
