"""A template's event sources as triggers.yaml triggers: SAM's function Events and their
plain-CloudFormation equivalents (event source mappings, rules, schedules, S3 notifications,
SNS subscriptions). Property names: the AWS SAM specification's EventSource types and the
CloudFormation resource reference."""

from __future__ import annotations

import json
from typing import Any

from .apis import api_settings
from .auth import route_authorizer
from .functions import destination
from .intrinsics import Context, Unresolvable, resolve
from .resources import arn_target

NOT_EMULATED_EVENTS = ("Kinesis", "MSK", "MQ", "SelfManagedKafka", "DocumentDB", "Cognito", "IoTRule",
                       "AlexaSkill", "CloudWatchLogs")  # fmt: skip


def sam_event(ctx: Context, fn: str, kind: str, props: dict[str, Any], apis: dict[str, Any]) -> dict[str, Any]:
    """One SAM event -> a trigger (without its name); raises Unresolvable."""
    p = resolve(props, ctx)
    reader = _SAM.get(kind)
    if reader is None:
        raise KeyError(kind)
    out = reader(ctx, p, props, apis)
    return {"function": fn, **out}


def _api(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    # an Api event without RestApiId joins SAM's implicit API (Globals.Api; stage "Prod")
    api = dict(apis.get(f"Api:{p.get('RestApiId', '')}") or api_settings("Api", {}))
    auth = api.pop("auth", None)
    method = str(p.get("Method", "ANY")).upper()
    method = "ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method
    http = {"route": f"{method} {p['Path']}", "payload": "1.0", **api}
    if p.get("ResponseTransferMode") == "RESPONSE_STREAM":  # SAM's Api event: the integration streams
        http["response_transfer_mode"] = "STREAM"
    notes = route_authorizer(http, p.get("Auth"), auth, "Api")
    return {"http": http, **({"notes": notes} if notes else {})}


def _http_api(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    # HttpApi: payload 2.0 unless PayloadFormatVersion says 1.0; no Path/Method: the $default route
    route = f"{str(p.get('Method', 'ANY')).upper()} {p['Path']}" if "Path" in p else "$default"
    out: dict[str, Any] = {"route": route, "payload": str(p.get("PayloadFormatVersion", "2.0"))}
    api = dict(apis.get(f"HttpApi:{p.get('ApiId', '')}") or api_settings("HttpApi", {}))
    auth = api.pop("auth", None)
    stage = api.pop("stage")
    if stage != "$default":  # the $default stage has no path prefix
        out["stage"] = stage
    out.update(api)
    notes = route_authorizer(out, p.get("Auth"), auth, "HttpApi")
    return {"http": out, **({"notes": notes} if notes else {})}


def key_filter(s3: dict[str, Any], f: Any) -> None:
    """S3 Filter.S3Key.Rules ({Name: prefix|suffix, Value}) into an s3 trigger."""
    for rule in ((f or {}).get("S3Key") or {}).get("Rules", []):
        name = str(rule.get("Name", "")).lower()
        if name not in ("prefix", "suffix"):
            raise Unresolvable(f"an S3 key filter rule is named prefix or suffix, got {rule.get('Name')!r}")
        s3[name] = rule.get("Value", "")


def _s3(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    events = p["Events"] if isinstance(p["Events"], list) else [p["Events"]]
    s3: dict[str, Any] = {"bucket": p["Bucket"], "events": events}
    key_filter(s3, p.get("Filter"))
    return {"s3": s3}


def as_json(value: Any) -> Any:
    """EventBridge's Input is JSON text; router's schedule input is the value."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise Unresolvable(f"Input is not valid JSON: {value[:60]!r}") from None
    return value


def _enabled(p: dict[str, Any]) -> bool:
    if "Enabled" in p:
        return str(p["Enabled"]).lower() != "false"
    return str(p.get("State", "ENABLED")).upper() == "ENABLED"


def _schedule(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    key = "Schedule" if "Schedule" in p else "ScheduleExpression"
    out: dict[str, Any] = {"expression": p[key], "enabled": _enabled(p)}
    if "Input" in p:
        out["input"] = as_json(p["Input"])
    if "ScheduleExpressionTimezone" in p:
        out["timezone"] = p["ScheduleExpressionTimezone"]
    if "Description" in p:
        out["description"] = p["Description"]
    return {"schedule": out}


def _filters(p: dict[str, Any]) -> list[Any]:
    return [as_json(f["Pattern"]) for f in (p.get("FilterCriteria") or {}).get("Filters", []) if "Pattern" in f]


def mapping(p: dict[str, Any], kind: str, name: str, node: Any) -> dict[str, Any]:
    """An event source mapping's knobs (SAM DynamoDB/SQS events, AWS::Lambda::EventSourceMapping)."""
    keys = {"BatchSize": "batch_size", "MaximumBatchingWindowInSeconds": "batching_window"}
    if kind == "dynamodb":
        keys |= {"StartingPosition": "starting_position", "MaximumRetryAttempts": "retries",
                 "MaximumRecordAgeInSeconds": "max_record_age", "BisectBatchOnFunctionError": "bisect_on_error",
                 "ParallelizationFactor": "parallelization"}  # fmt: skip
    out: dict[str, Any] = {("table" if kind == "dynamodb" else "queue"): name}
    out |= {ours: p[key] for key, ours in keys.items() if key in p}
    if "ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []):
        out["report_batch_item_failures"] = True
    if filters := _filters(p):
        out["filter"] = filters
    if kind == "sqs" and (p.get("ScalingConfig") or {}).get("MaximumConcurrency") is not None:
        out["max_concurrency"] = p["ScalingConfig"]["MaximumConcurrency"]
    failure = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if failure is not None:
        if kind != "dynamodb":
            raise Unresolvable("an SQS mapping has no on-failure destination (the queue's redrive policy is it)", node)
        out["on_failure"] = destination(failure, node)
    if "Enabled" in p:
        out["enabled"] = str(p["Enabled"]).lower() != "false"
    return {kind: out}


def _stream(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    kind, table = arn_target(p["Stream"], node)
    if kind != "stream":
        raise Unresolvable(f"Stream: {p['Stream']!r} is not a DynamoDB stream ARN", node)
    return mapping(p, "dynamodb", table, node)


def _sqs(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    return mapping(p, "sqs", arn_target(p["Queue"], node)[1], node)


def _sns(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"topic": arn_target(p["Topic"], node)[1]}
    if "FilterPolicy" in p:
        out["filter_policy"] = as_json(p["FilterPolicy"])
    if "FilterPolicyScope" in p:
        out["filter_policy_scope"] = p["FilterPolicyScope"]
    return {"sns": out}


def rule_target(p: dict[str, Any]) -> dict[str, Any]:
    """A rule target's Input / InputPath / InputTransformer."""
    out: dict[str, Any] = {}
    if "Input" in p:
        out["input"] = as_json(p["Input"])
    if "InputPath" in p:
        out["input_path"] = p["InputPath"]
    t = p.get("InputTransformer")
    if isinstance(t, dict):
        out["input_transformer"] = {"input_paths": t.get("InputPathsMap", {}), "template": t.get("InputTemplate")}
    return out


def _rule(ctx: Context, p: dict[str, Any], node: Any, apis: dict[str, Any]) -> dict[str, Any]:
    bus = p.get("EventBusName", "default")
    bus = arn_target(bus, node)[1] if str(bus).startswith("arn:") else bus
    out = {"bus": bus, "pattern": p["Pattern"], **rule_target(p)}
    return {"eventbridge": out, "enabled": str(p.get("State", "ENABLED")).upper() == "ENABLED"}


_SAM = {
    "Api": _api, "HttpApi": _http_api, "S3": _s3, "Schedule": _schedule, "ScheduleV2": _schedule,
    "DynamoDB": _stream, "SQS": _sqs, "SNS": _sns, "EventBridgeRule": _rule, "CloudWatchEvent": _rule,
}  # fmt: skip
