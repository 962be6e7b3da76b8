"""Each trigger as the SAM event AWS would run (AWS SAM specification, "EventSource" types)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..schema import TEMP_PATTERNS, TriggerConfig, aws_topic_name
from .apis import http_cors_property, rest_cors_property
from .export import _arn, as_json_text

if TYPE_CHECKING:
    from .export import _Export


def event(x: _Export, t: TriggerConfig) -> dict[str, Any] | None:
    kind = t.kind
    out = _KINDS[kind](x, t)
    if out is None:
        return None
    if not t.enabled:
        if kind in ("s3", "http"):
            x.skipped.append(f"trigger {t.name}: SAM has no disabled {kind} event (left out)")
            return None
        if kind in ("dynamodb", "sqs"):
            out["Properties"]["Enabled"] = False
        else:
            out["Properties"]["State"] = "DISABLED"
    return out


def _s3(x: _Export, t: TriggerConfig) -> dict[str, Any]:
    s = t.s3
    assert s is not None
    bucket = s.bucket or (s.dir or "").rstrip("/").rsplit("/", 1)[-1]
    if s.dir is not None:
        x.skipped.append(f"trigger {t.name}: the drop folder {s.dir} is local (the bucket's events are exported)")
    if s.ignore != TEMP_PATTERNS or "settle" in s.model_fields_set or s.catch_up:
        x.skipped.append(f"trigger {t.name}: the drop folder's ignore, settle and catch_up are local (left out)")
    props: dict[str, Any] = {"Bucket": {"Ref": x.bucket(bucket)}, "Events": list(s.events)}
    rules = [{"Name": k, "Value": getattr(s, k)} for k in ("prefix", "suffix") if getattr(s, k)]
    if rules:
        props["Filter"] = {"S3Key": {"Rules": rules}}
    return {"Type": "S3", "Properties": props}


def _schedule(x: _Export, t: TriggerConfig) -> dict[str, Any]:
    s = t.schedule
    assert s is not None
    props: dict[str, Any] = {"ScheduleExpression": s.expression}
    if s.timezone != "UTC":
        props["ScheduleExpressionTimezone"] = s.timezone
    if s.input is not None:
        props["Input"] = as_json_text(s.input)
    if s.description:
        props["Description"] = s.description
    if not s.enabled:
        props["State"] = "DISABLED"
    if s.max_concurrent is not None:
        x.skipped.append(f"trigger {t.name}: schedule.max_concurrent is router's own (left out)")
    return {"Type": "ScheduleV2", "Properties": props}


def _http(x: _Export, t: TriggerConfig) -> dict[str, Any] | None:
    h = t.http
    assert h is not None
    if h.url is not None:  # SAM: a function URL is the function's FunctionUrlConfig, not an event
        x.skipped.append(f"trigger {t.name}: a function URL (set FunctionUrlConfig on the function; left out)")
        return None
    props: dict[str, Any] = {}
    if h.route != "$default":
        method, path = h.route.split(" ", 1)
        props = {"Path": path, "Method": method.lower() if method != "ANY" else "any"}
    if h.payload == "1.0" and h.stage is not None:  # a REST API: the stage in its StageName
        return {"Type": "Api", "Properties": {**props, "RestApiId": {"Ref": _rest_api(x, t)}}}
    # an HTTP API's $default stage has no path prefix: payload 1.0 without a stage is an HttpApi event too
    if h.payload == "1.0":
        props["PayloadFormatVersion"] = "1.0"
    if h.binary_media_types:
        x.skipped.append(f"trigger {t.name}: an HTTP API has no binary media types (it base64-encodes "
                         "binary bodies itself): binary_media_types left out")  # fmt: skip
    api: dict[str, Any] = {}
    if h.stage is not None:
        api["StageName"] = h.stage
    if h.cors is not None:
        api["CorsConfiguration"] = http_cors_property(h.cors)
    if api:
        key = as_json_text(api)
        resource = {"Type": "AWS::Serverless::HttpApi", "Properties": api}
        props["ApiId"] = {"Ref": x.add("http-api", key, f"{h.stage or 'Default'}HttpApi", resource, named=False)}
    return {"Type": "HttpApi", "Properties": props}


def _rest_api(x: _Export, t: TriggerConfig) -> str:
    h = t.http
    assert h is not None and h.stage is not None
    api: dict[str, Any] = {"StageName": h.stage}
    if h.cors is not None:
        cors = rest_cors_property(h.cors)
        if cors is None:
            x.skipped.append(f"trigger {t.name}: a REST API's Cors has one origin and no exposed headers "
                             "(cors left out)")  # fmt: skip
        else:
            api["Cors"] = cors
    if h.binary_media_types:
        api["BinaryMediaTypes"] = [m.replace("/", "~1") for m in h.binary_media_types]  # SAM's '/' escape
    resource = {"Type": "AWS::Serverless::Api", "Properties": api}
    return x.add("rest-api", as_json_text(api), f"{h.stage}RestApi", resource, named=False)


def _mapping(x: _Export, t: TriggerConfig) -> dict[str, Any]:
    m = t.dynamodb or t.sqs
    assert m is not None
    props: dict[str, Any] = {}
    if t.dynamodb is not None:
        d = t.dynamodb
        props = {"Stream": {"Fn::GetAtt": [x.ids[("table", d.table)], "StreamArn"]},
                 "StartingPosition": d.starting_position}  # fmt: skip
        for field, prop in (("retries", "MaximumRetryAttempts"), ("max_record_age", "MaximumRecordAgeInSeconds")):
            if getattr(d, field) != -1:
                props[prop] = getattr(d, field)
        if d.bisect_on_error:
            props["BisectBatchOnFunctionError"] = True
        if d.parallelization != 1:
            props["ParallelizationFactor"] = d.parallelization
        if d.on_failure is not None:
            dest = x.destination(d.on_failure, f"trigger {t.name}: dynamodb.on_failure")
            if dest is not None:
                props["DestinationConfig"] = {"OnFailure": {"Destination": dest["Destination"]}}
    else:
        assert t.sqs is not None
        props = {"Queue": _arn(x.queue(t.sqs.queue))}
        if t.sqs.max_concurrency is not None:
            props["ScalingConfig"] = {"MaximumConcurrency": t.sqs.max_concurrency}
    props["BatchSize"] = m.batch_size
    if m.batching_window:
        window = math.ceil(m.batching_window)  # MaximumBatchingWindowInSeconds: an Integer
        if window != m.batching_window:
            x.skipped.append(f"trigger {t.name}: the batching window is whole seconds ({window} written)")
        props["MaximumBatchingWindowInSeconds"] = window
    if m.report_batch_item_failures:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if m.filter:
        props["FilterCriteria"] = {"Filters": [{"Pattern": as_json_text(p)} for p in m.filter]}
    if not m.enabled:
        props["Enabled"] = False
    return {"Type": "DynamoDB" if t.dynamodb is not None else "SQS", "Properties": props}


def _sns(x: _Export, t: TriggerConfig) -> dict[str, Any]:
    s = t.sns
    assert s is not None
    key = next((k for k, c in x.config.resources.topics.items() if s.topic in (k, aws_topic_name(k, c.fifo))), s.topic)
    props: dict[str, Any] = {"Topic": {"Ref": x.ids[("topic", key)]}}
    if s.filter_policy is not None:
        props["FilterPolicy"] = s.filter_policy
    if s.filter_policy_scope != "MessageAttributes":
        props["FilterPolicyScope"] = s.filter_policy_scope
    return {"Type": "SNS", "Properties": props}


def _eventbridge(x: _Export, t: TriggerConfig) -> dict[str, Any]:
    e = t.eventbridge
    assert e is not None
    props: dict[str, Any] = {"Pattern": e.pattern}
    if e.bus != "default":
        props["EventBusName"] = {"Ref": x.ids[("bus", e.bus)]}
    if e.input is not None:
        props["Input"] = as_json_text(e.input)
    if e.input_path is not None:
        props["InputPath"] = e.input_path
    if e.input_transformer is not None:
        props["InputTransformer"] = {"InputPathsMap": dict(e.input_transformer.input_paths),
                                     "InputTemplate": e.input_transformer.template}  # fmt: skip
    return {"Type": "EventBridgeRule", "Properties": props}


_KINDS = {"s3": _s3, "schedule": _schedule, "http": _http, "dynamodb": _mapping, "sqs": _mapping,
          "sns": _sns, "eventbridge": _eventbridge}  # fmt: skip
