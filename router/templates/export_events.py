"""Each trigger as the SAM event AWS would run (AWS SAM specification, "EventSource" types)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..schema import TEMP_PATTERNS, TriggerConfig, aws_topic_name
from .apis import http_cors_property, rest_cors_property
from .export import _arn, as_json_text
from .export_auth import route_auth

if TYPE_CHECKING:
    from .export import _Export


def event(x: _Export, t: TriggerConfig) -> dict[str, Any] | None:
    kind = t.kind
    if kind == "http" and not t.enabled and t.http is not None and t.http.url is None:
        x.skipped.append(f"trigger {t.name}: SAM has no disabled http event (left out)")
        return None  # before its API and authorizer are declared
    out = _KINDS[kind](x, t)
    if out is None:
        return None
    if not t.enabled:
        if kind == "s3":
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
        _url(x, t)
        return None
    props: dict[str, Any] = {}
    if h.route != "$default":
        method, path = h.route.split(" ", 1)
        props = {"Path": path, "Method": method.lower() if method != "ANY" else "any"}
    if h.payload == "1.0" and h.stage is not None:  # a REST API: the stage in its StageName
        props["RestApiId"] = {"Ref": (rest_api := _rest_api(x, t))}
        if h.response_transfer_mode == "STREAM":
            # SAM's Api event ResponseTransferMode RESPONSE_STREAM: the integration's responseTransferMode
            # STREAM, invoked through InvokeWithResponseStream (AWS SAM specification, "Api")
            props["ResponseTransferMode"] = "RESPONSE_STREAM"
        if h.authorizer is not None and (auth := route_auth(x, t, rest_api, rest=True)) is None:
            return None
        if h.authorizer is not None:
            props["Auth"] = auth
        return {"Type": "Api", "Properties": props}
    # an HTTP API's $default stage has no path prefix: payload 1.0 without a stage is an HttpApi event too
    if h.payload == "1.0":
        props["PayloadFormatVersion"] = "1.0"
        if not _rest_only(x, t):
            return None
    if h.binary_media_types:
        x.skipped.append(f"trigger {t.name}: an HTTP API has no binary media types (it base64-encodes "
                         "binary bodies itself): binary_media_types left out")  # fmt: skip
    api: dict[str, Any] = {}
    if h.stage is not None:
        api["StageName"] = h.stage
    if h.cors is not None:
        api["CorsConfiguration"] = http_cors_property(h.cors)
    if api or _authorized_default(x):  # SAM's implicit HttpApi takes no Auth of its own: an explicit one
        key = as_json_text(api)
        resource = {"Type": "AWS::Serverless::HttpApi", "Properties": api}
        lid = x.add("http-api", key, f"{h.stage or 'Default'}HttpApi", resource, named=False)
        props["ApiId"] = {"Ref": lid}
        if h.authorizer is not None:
            if (auth := route_auth(x, t, lid, rest=False)) is None:
                return None
            props["Auth"] = auth
    return {"Type": "HttpApi", "Properties": props}


def _authorized_default(x: _Export) -> bool:
    """A route without a stage or cors has an authorizer: such routes share an explicit HttpApi
    (the implicit one has no Auth of its own), one API as router serves them."""
    return any(t.http is not None and t.http.url is None and t.http.authorizer is not None and t.enabled
               and t.http.stage is None and t.http.cors is None and t.http.payload == "2.0"
               for t in x.config.triggers)  # fmt: skip


def _rest_only(x: _Export, t: TriggerConfig) -> bool:
    """What router runs as REST on a payload 1.0 route without a stage, which is exported as an
    HTTP API: its authorizer (the route left out: False) and streaming (left buffered)."""
    h = t.http
    assert h is not None
    why = "give the trigger a stage to export it as a REST API"
    if h.response_transfer_mode == "STREAM":
        x.skipped.append(f"trigger {t.name}: response_transfer_mode STREAM: a payload 1.0 route without a stage "
                         f"is exported as an HTTP API, which does not stream (left buffered; {why})")  # fmt: skip
    if h.authorizer is not None:
        x.skipped.append(f"trigger {t.name}: router runs its authorizer as a REST API's, but a payload 1.0 route "
                         f"without a stage is exported as an HTTP API (the route left out; {why})")  # fmt: skip
        return False
    return True


def _url(x: _Export, t: TriggerConfig) -> None:
    """The trigger's function URL as its function's FunctionUrlConfig ("AWS::Serverless::Function
    FunctionUrlConfig": AuthType, Cors, InvokeMode; Lambda: one URL per function or alias)."""
    h = t.http
    assert h is not None and h.url is not None
    props = x.functions[t.function]
    if not t.enabled:
        x.skipped.append(f"trigger {t.name}: a function URL cannot be disabled (left out)")
        return
    if "FunctionUrlConfig" in props:
        x.skipped.append(f"trigger {t.name}: function {t.function} has a URL already (trigger "
                         f"{x.urls[t.function]}): Lambda gives a function one URL (left out)")  # fmt: skip
        return
    u = h.url
    cfg: dict[str, Any] = {"AuthType": u.auth}
    if u.cors is not None:
        cfg["Cors"] = _url_cors(x, t.name, http_cors_property(u.cors))
    if u.invoke_mode != "BUFFERED":
        cfg["InvokeMode"] = u.invoke_mode
    if u.port:
        x.skipped.append(f"trigger {t.name}: url.port {u.port} is local (a URL's address is AWS's)")
    props["FunctionUrlConfig"] = cfg
    x.urls[t.function] = t.name


# AWS::Lambda::Url Cors.AllowMethods' values; MaxAge: 0 to 86400 (CloudFormation resource schema)
_URL_METHODS = ("GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*")


def _url_cors(x: _Export, name: str, cors: dict[str, Any]) -> dict[str, Any]:
    """An HttpApi CorsConfiguration as a URL's Cors: the same keys; a list may not be empty (a list
    not given allows nothing of its kind, as router's empty one)."""
    methods = [m for m in cors["AllowMethods"] if m in _URL_METHODS]
    if len(methods) != len(cors["AllowMethods"]):
        dropped = sorted(set(cors["AllowMethods"]) - set(methods))
        x.skipped.append(f"trigger {name}: a function URL's Cors allows only {', '.join(_URL_METHODS)} "
                         f"({', '.join(dropped)} left out)")  # fmt: skip
    cors = {**cors, "AllowMethods": methods}
    if cors.get("MaxAge", 0) > 86400:
        x.skipped.append(f"trigger {name}: a function URL's Cors MaxAge is at most 86400 (86400 written)")
        cors["MaxAge"] = 86400
    return {k: v for k, v in cors.items() if v != []}


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
