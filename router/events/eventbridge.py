"""EventBridge events as a bus delivers them to a Lambda target (pure functions).

Sources: EventBridge user guide, "Amazon EventBridge events" (the envelope: ``version`` "0",
``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``,
``detail``); EventBridge API reference, "PutEvents" (at most 10 entries; per-entry
``EventId`` or ``ErrorCode``/``ErrorMessage``; ``FailedEntryCount``) and "Calculating Amazon
EventBridge PutEvents event entry size" (the 256 KB limit); user guide, "Amazon EventBridge
input transformation" and API reference "Target" (``Input``, ``InputPath``,
``InputTransformer``: ``InputPathsMap`` + ``InputTemplate``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

MAX_ENTRIES = 10
MAX_ENTRY_BYTES = 256 * 1024
DEFAULT_BUS = "default"
_MISSING = object()
_PATH = re.compile(r"^\$(\.[A-Za-z0-9_\-/]+|\[\d+\])*$")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
PREDEFINED = ("aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
              "aws.events.event", "aws.events.event.json")  # fmt: skip


def bus_arn(region: str, account: str, bus: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def rule_arn(region: str, account: str, bus: str, rule: str) -> str:
    # a rule on a custom bus has the bus in its ARN (API reference, "PutRule": RuleArn)
    middle = "" if bus == DEFAULT_BUS else f"{bus}/"
    return f"arn:aws:events:{region}:{account}:rule/{middle}{rule}"


def iso_seconds(epoch: float) -> str:
    """``2015-11-11T21:29:54Z``: an event's ``time`` has no fraction."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(*, event_id: str, source: str, detail_type: str, detail: Any, account: str, region: str,
          time: str, resources: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The event a rule's target receives (user guide, "Amazon EventBridge events")."""
    return {
        "version": "0", "id": event_id, "detail-type": detail_type, "source": source, "account": account,
        "time": time, "region": region, "resources": list(resources or []), "detail": detail,
    }  # fmt: skip


def entry_size(entry: Mapping[str, Any]) -> int:
    """PutEvents entry size: 14 bytes for a Time, the UTF-8 bytes of Source, DetailType,
    Detail and each resource (user guide, "Calculating PutEvents event entry size")."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode("utf-8"))
    return size + sum(len(str(r).encode("utf-8")) for r in entry.get("Resources") or [])


def entry_error(entry: Mapping[str, Any]) -> dict[str, str] | None:
    """Why PutEvents refuses this one entry (its ``ErrorCode``/``ErrorMessage``), or None."""
    for key in ("Source", "DetailType", "Detail"):
        if not entry.get(key):
            return {"ErrorCode": "InvalidArgument",
                    "ErrorMessage": f"Parameter {key} is not valid. Reason: {key} is a required argument."}  # fmt: skip
    if entry_size(entry) > MAX_ENTRY_BYTES:
        # "The maximum size for a PutEvents event entry is 256 KB" (PutEvents); per entry, the
        # code is PutEventsResultEntry's InvalidArgument ("A specified parameter is not valid")
        return {"ErrorCode": "InvalidArgument", "ErrorMessage": "Total size of the entries in the request is over "
                "the limit. Reason: The entry is larger than 256 KB."}  # fmt: skip
    try:
        detail = json.loads(str(entry["Detail"]))
    except ValueError:
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    if not isinstance(detail, dict):  # EventBridge requires a JSON object as Detail
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None


# ---------------------------------------------------------------------------- target input


def path_problem(path: str) -> str | None:
    """Why a JSON path is not one EventBridge evaluates ("dot notation ..., dashes,
    underscores, alphanumeric characters, array indices"), or None."""
    if not isinstance(path, str) or not _PATH.match(path):
        return f"{path!r} is not a JSON path EventBridge supports (dot notation from '$', e.g. '$.detail.id')"
    return None


def json_path(data: Any, path: str) -> Any:
    """The value at ``path`` (``$.detail.items[0]``), or :data:`_MISSING`."""
    value = data
    for name, index in re.findall(r"\.([A-Za-z0-9_\-/]+)|\[(\d+)\]", path):
        if name and isinstance(value, Mapping) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def input_path(event: Mapping[str, Any], path: str) -> Any:
    """``InputPath``: the part of the event sent (null when the path is not in the event)."""
    value = json_path(event, path)
    return None if value is _MISSING else value


def template_problem(paths: Mapping[str, str], template: str) -> str | None:
    """Why PutTargets would refuse this InputTransformer, or None (API reference,
    "InputTransformer": at most 100 paths, keys ``[A-Za-z0-9_-]+`` not starting with "AWS.",
    the predefined names reserved; a template of 1 to 8,192 characters)."""
    if len(paths) > 100:
        return f"at most 100 input_paths, got {len(paths)}"
    for key, path in paths.items():
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,256}", key) or key.upper().startswith("AWS."):
            return f"input_paths key {key!r}: letters, digits, '_' and '-' only"
        if problem := path_problem(path):
            return f"input_paths.{key}: {problem}"
    if not 1 <= len(template) <= 8192:
        return "the template has 1 to 8,192 characters"
    for name in _PLACEHOLDER.findall(template):
        if name not in paths and name not in PREDEFINED:
            return f"the template uses <{name}>, which is neither in input_paths nor predefined"
    return None


def transform(event: Mapping[str, Any], paths: Mapping[str, str], template: str, *, rule_name: str,
              rule_arn: str, ingestion_time: str) -> Any:  # fmt: skip
    """``InputTransformer`` applied: the template with each ``<name>`` replaced. In a JSON
    template a placeholder inside a string gives the value's text, one outside gives the
    value as JSON (API reference, "InputTransformer": "valid JSON with variables in quotes or
    out"); in a plain-text template every value is its text. A path the event does not have
    gives null. The result is the JSON it reads as, else the text itself as a JSON string."""
    values: dict[str, Any] = {k: json_path(event, p) for k, p in paths.items()}
    values = {k: None if v is _MISSING else v for k, v in values.items()}
    without_detail = {k: v for k, v in event.items() if k != "detail"}
    values.update({"aws.events.rule-name": rule_name, "aws.events.rule-arn": rule_arn,
                   "aws.events.event.ingestion-time": ingestion_time})  # fmt: skip
    raw = {"aws.events.event": without_detail, "aws.events.event.json": dict(event)}  # JSON, never quoted text
    is_json = template.lstrip().startswith(("{", "["))
    out, in_string, i = [], False, 0
    for m in _PLACEHOLDER.finditer(template):
        chunk = template[i:m.start()]
        in_string = _string_state(chunk, in_string) if is_json else False
        out.append(chunk)
        name = m.group(1)
        value = raw.get(name, values.get(name))
        if name in raw:
            out.append(json.dumps(value, separators=(",", ":")))
        elif is_json and not in_string:
            out.append(json.dumps(value))
        elif is_json:
            out.append(json.dumps(_text(value))[1:-1])  # escaped for the string it sits in
        else:
            out.append(_text(value))
        i = m.end()
    out.append(template[i:])
    text = "".join(out)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "null" if value is None else json.dumps(value)


def _string_state(chunk: str, in_string: bool) -> bool:
    """Whether a JSON text is inside a string after ``chunk`` (escapes honoured)."""
    escaped = False
    for ch in chunk:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = in_string
        elif ch == '"':
            in_string = not in_string
    return in_string


def destination_event(*, event_id: str, record: Mapping[str, Any], success: bool, function_arn: str,
                      bus: str, account: str, region: str, time: str) -> dict[str, Any]:  # fmt: skip
    """What Lambda puts on a bus named as an async destination: ``source`` "lambda",
    ``detail-type`` "Lambda Function Invocation Result - Success" (or "- Failure"), the
    invocation record as ``detail`` (Lambda developer guide, "Capturing records of Lambda
    asynchronous invocations": EventBridge destinations). ``resources``: the bus's and the
    function's ARNs, as events seen from AWS show them (not stated in the guide)."""
    kind = "Success" if success else "Failure"
    return event(event_id=event_id, source="lambda", detail_type=f"Lambda Function Invocation Result - {kind}",
                 detail=dict(record), account=account, region=region, time=time,
                 resources=[bus_arn(region, account, bus), function_arn])  # fmt: skip
