"""One serverless.yml event as router triggers (Serverless Framework v3 docs, "AWS - Events": each
event's keys). ``ev_<kind>(translator, spec, src)`` returns trigger mappings without ``function``;
``__origin`` maps a made key to the serverless.yml path it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._yaml import Path_
from .cfn import arn_name
from .loader import mapping

if TYPE_CHECKING:
    from .translate import Translator

Made = list[dict[str, Any] | None]


def _copy(spec: dict[str, Any], src: Path_, kind: str, pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"__origin": {}}
    for key, dst in pairs:
        if spec.get(key) is not None:
            out[dst] = spec[key]
            out["__origin"][(kind, dst)] = (*src, key)
    return out


def _pop_origin(made: dict[str, Any], kind: str) -> dict[str, Any]:
    origin = made.pop("__origin")
    return {kind: made, "__origin": origin}


def _name_of(t: Translator, value: Any, service: str, src: Path_) -> str | None:
    """A resource name from a name, an ARN or an intrinsic (``Fn::GetAtt``, ``Ref``) giving one."""
    value = t.cfn(value, src)
    if value is None:
        return None
    if not isinstance(value, str):
        t.problems.append((src, f"expected an ARN or a name, got {value!r}"))
        return None
    if value.startswith("https://sqs."):  # Ref of a queue: its URL
        return value.rsplit("/", 1)[-1]
    if not value.startswith("arn:"):
        return value
    found = arn_name(value, service)
    if found is None:
        t.problems.append((src, f"{value!r} is not an ARN of {service}"))
    return found


# ---------------------------------------------------------------- HTTP


def _route(method: Any, path: Any) -> str:
    m = str(method or "ANY").upper()
    return f"{'ANY' if m == '*' else m} /{str(path or '').strip().lstrip('/')}"


def ev_http(t: Translator, spec: Any, src: Path_) -> Made:
    """A REST API event (payload 1.0): ``GET hello/{id}`` or {method, path, cors}."""
    where = src if isinstance(spec, str) else (*src, "path")
    if isinstance(spec, str):
        method, _, path = spec.strip().partition(" ")
        spec = {"method": method, "path": path}
    if not isinstance(spec, dict):
        t.problems.append((src, "expected 'METHOD path' or {method, path}"))
        return []
    made: dict[str, Any] = {"route": _route(spec.get("method"), spec.get("path")), "payload": "1.0"}
    if not t.offline.get("noPrependStageInUrl"):
        made["stage"] = t.stage  # serverless-offline's generateHapiPath: /{stage}/path unless noPrependStageInUrl
    cors = spec.get("cors")
    if cors is True:
        made["cors"] = True
    elif isinstance(cors, dict):
        origins = cors.get("origins") or ([cors["origin"]] if cors.get("origin") else ["*"])
        made["cors"] = {"allow_origins": origins, "allow_headers": cors.get("headers") or ["*"],
                        "allow_credentials": bool(cors.get("allowCredentials", False))}  # fmt: skip
        if cors.get("maxAge") is not None:
            made["cors"]["max_age"] = cors["maxAge"]
    if spec.get("integration") in ("lambda", "LAMBDA"):
        t.skipped.append(f"{_fmt(src)}.integration (lambda: router sends the proxy event)")
    binary = mapping(t.provider.get("apiGateway")).get("binaryMediaTypes")
    if binary:
        made["binary_media_types"] = binary
    return [{"http": made, "__origin": {("http", "route"): where}}]


def ev_httpApi(t: Translator, spec: Any, src: Path_) -> Made:  # noqa: N802 (the event's name)
    """An HTTP API event: '*' (catch-all), 'GET /x', or {method, path}; payload and CORS from provider.httpApi."""
    if isinstance(spec, str):
        method, _, path = spec.strip().partition(" ")
        spec = {"method": "*", "path": "*"} if spec.strip() == "*" else {"method": method, "path": path}
    if not isinstance(spec, dict):
        t.problems.append((src, "expected '*', 'METHOD /path' or {method, path}"))
        return []
    settings = mapping(t.provider.get("httpApi"))
    route = "$default" if str(spec.get("path")) == "*" else _route(spec.get("method"), spec.get("path"))
    made: dict[str, Any] = {"route": route, "payload": str(settings.get("payload", "2.0"))}
    cors = settings.get("cors")
    if cors is True:
        made["cors"] = True
    elif isinstance(cors, dict):
        made["cors"] = {k: cors[s] for s, k in (
            ("allowedOrigins", "allow_origins"), ("allowedHeaders", "allow_headers"),
            ("allowedMethods", "allow_methods"), ("exposedResponseHeaders", "expose_headers"),
            ("maxAge", "max_age"), ("allowCredentials", "allow_credentials")) if s in cors}  # fmt: skip
    return [{"http": made, "__origin": {("http", "route"): src, ("http", "cors"): ("provider", "httpApi", "cors")}}]


# ---------------------------------------------------------------- schedule, s3


def ev_schedule(t: Translator, spec: Any, src: Path_) -> Made:
    """'rate(...)' / 'cron(...)', or {rate: expr or [exprs], enabled, input, name, description}."""
    if isinstance(spec, str):
        return [{"schedule": spec}]
    if not isinstance(spec, dict):
        t.problems.append((src, "expected an expression or {rate, enabled, input}"))
        return []
    rates = spec.get("rate")
    out: Made = []
    for i, rate in enumerate(rates if isinstance(rates, list) else [rates]):
        made = _copy(spec, src, "schedule", (("enabled", "enabled"), ("input", "input"),
                                             ("description", "description"), ("timezone", "timezone")))  # fmt: skip
        made["expression"] = rate
        made["__origin"][("schedule", "expression")] = (*src, "rate", i) if isinstance(rates, list) else (*src, "rate")
        out.append(_pop_origin(made, "schedule"))
    for key in ("inputPath", "inputTransformer"):
        if key in spec:
            t.skipped.append(f"{_fmt(src)}.{key} (a schedule gets its input or the scheduled event)")
    return out


def ev_s3(t: Translator, spec: Any, src: Path_) -> Made:
    """A bucket name, or {bucket, event, rules: [{prefix}, {suffix}], existing}; writes through the embedded AWS."""
    if not isinstance(spec, dict):
        spec = {"bucket": spec}
    bucket = _name_of(t, spec.get("bucket"), "s3", (*src, "bucket"))
    made: dict[str, Any] = {"bucket": bucket, "__origin": {("s3", "bucket"): (*src, "bucket")}}
    if spec.get("event"):
        made["events"] = [spec["event"]]
        made["__origin"][("s3", "events")] = (*src, "event")
    for i, rule in enumerate(spec.get("rules") or []):
        for key in ("prefix", "suffix"):
            if isinstance(rule, dict) and key in rule:
                made[key] = rule[key]
                made["__origin"][("s3", key)] = (*src, "rules", i, key)
    return [_pop_origin(made, "s3")]


# ---------------------------------------------------------------- streams and queues


def _filters(spec: dict[str, Any]) -> list[Any]:
    return [p for p in spec.get("filterPatterns") or [] if p is not None]


def ev_stream(t: Translator, spec: Any, src: Path_) -> Made:
    """A DynamoDB stream: an ARN (string or Fn::GetAtt [Table, StreamArn]) or {arn, batchSize, ...}."""
    if not isinstance(spec, dict) or "Fn::GetAtt" in spec or "Ref" in spec:
        spec = {"arn": spec}
    arn = t.cfn(spec.get("arn"), (*src, "arn"))
    if spec.get("type") == "kinesis" or (isinstance(arn, str) and ":kinesis:" in arn):
        t.skipped.append(f"{_fmt(src)} (kinesis)")
        return []
    table = _name_of(t, arn, "dynamodb", (*src, "arn"))
    made = _copy(spec, src, "dynamodb", (
        ("batchSize", "batch_size"), ("startingPosition", "starting_position"), ("maximumRetryAttempts", "retries"),
        ("bisectBatchOnFunctionError", "bisect_on_error"), ("batchWindow", "batching_window"),
        ("maximumRecordAgeInSeconds", "max_record_age"), ("parallelizationFactor", "parallelization"),
        ("enabled", "enabled")))  # fmt: skip
    # the Framework's compile/events/stream.js: BatchSize = 10 (Lambda's own is 100), StartingPosition = TRIM_HORIZON
    made.setdefault("batch_size", 10)
    made.setdefault("starting_position", "TRIM_HORIZON")
    made["table"] = table
    made["__origin"][("dynamodb", "table")] = (*src, "arn")
    if spec.get("functionResponseType") == "ReportBatchItemFailures":
        made["report_batch_item_failures"] = True
    if _filters(spec):
        made["filter"] = _filters(spec)
        made["__origin"][("dynamodb", "filter")] = (*src, "filterPatterns")
    failure = (spec.get("destinations") or {}).get("onFailure")
    if failure is not None:
        made["on_failure"] = t.destination(failure, (*src, "destinations", "onFailure"))
        made["__origin"][("dynamodb", "on_failure")] = (*src, "destinations", "onFailure")
    return [_pop_origin(made, "dynamodb")]


def ev_sqs(t: Translator, spec: Any, src: Path_) -> Made:
    """A queue ARN (string or Fn::GetAtt [Queue, Arn]) or {arn, batchSize, maximumBatchingWindow, ...}."""
    if not isinstance(spec, dict) or "Fn::GetAtt" in spec or "Ref" in spec:
        spec = {"arn": spec}
    made = _copy(spec, src, "sqs", (("batchSize", "batch_size"), ("maximumBatchingWindow", "batching_window"),
                                    ("maximumConcurrency", "max_concurrency"), ("enabled", "enabled")))  # fmt: skip
    made["queue"] = _name_of(t, spec.get("arn"), "sqs", (*src, "arn"))
    made["__origin"][("sqs", "queue")] = (*src, "arn")
    if spec.get("functionResponseType") == "ReportBatchItemFailures":
        made["report_batch_item_failures"] = True
    if _filters(spec):
        made["filter"] = _filters(spec)
        made["__origin"][("sqs", "filter")] = (*src, "filterPatterns")
    return [_pop_origin(made, "sqs")]


# ---------------------------------------------------------------- pub/sub


def ev_sns(t: Translator, spec: Any, src: Path_) -> Made:
    """A topic name (Serverless creates it), an ARN, or {arn | topicName, filterPolicy, filterPolicyScope}."""
    if not isinstance(spec, dict) or "Fn::GetAtt" in spec or "Ref" in spec:
        spec = {"arn": spec}
    given = spec.get("arn", spec.get("topicName"))
    created = isinstance(given, str) and not given.startswith("arn:")
    topic = _name_of(t, given, "sns", (*src, "arn" if "arn" in spec else "topicName"))
    if created and topic is not None and topic not in t.resources.get("topics", {}):
        t.resources.setdefault("topics", {})[topic] = {"fifo": topic.endswith(".fifo")}
    made = _copy(spec, src, "sns", (("filterPolicy", "filter_policy"), ("filterPolicyScope", "filter_policy_scope")))
    made["topic"] = topic
    made["__origin"][("sns", "topic")] = src
    return [_pop_origin(made, "sns")]


def ev_eventBridge(t: Translator, spec: Any, src: Path_) -> Made:  # noqa: N802 (the event's name)
    """{eventBus, pattern, input, inputPath, inputTransformer: {inputPathsMap, inputTemplate}} or {schedule}."""
    if not isinstance(spec, dict):
        t.problems.append((src, "expected a mapping with 'pattern' (or 'schedule')"))
        return []
    if "schedule" in spec and "pattern" not in spec:
        return ev_schedule(t, {"rate": spec["schedule"], **{k: v for k, v in spec.items() if k in ("input",)}}, src)
    bus_given = spec.get("eventBus", "default")
    bus = _name_of(t, bus_given, "events", (*src, "eventBus"))
    if isinstance(bus_given, str) and not bus_given.startswith("arn:") and bus and bus != "default":
        if bus not in t.resources.get("buses", []):
            t.resources.setdefault("buses", []).append(bus)  # Serverless creates a bus given by name
    made = _copy(spec, src, "eventbridge", (("pattern", "pattern"), ("input", "input"), ("inputPath", "input_path")))
    made["bus"] = bus
    made["__origin"][("eventbridge", "bus")] = (*src, "eventBus")
    it = spec.get("inputTransformer")
    if isinstance(it, dict):
        made["input_transformer"] = {"input_paths": it.get("inputPathsMap") or {}, "template": it.get("inputTemplate")}
        made["__origin"][("eventbridge", "input_transformer")] = (*src, "inputTransformer")
    return [_pop_origin(made, "eventbridge")]


def ev_cloudwatchEvent(t: Translator, spec: Any, src: Path_) -> Made:  # noqa: N802 (the event's name)
    """CloudWatch Events (EventBridge's default bus): {event: pattern, input, inputPath, enabled}."""
    if not isinstance(spec, dict):
        t.problems.append((src, "expected a mapping with 'event' (the pattern)"))
        return []
    if spec.get("enabled") is False:
        return []
    renamed = {k: v for k, v in spec.items() if k in ("input", "inputPath", "inputTransformer")}
    return ev_eventBridge(t, {"pattern": spec.get("event"), **renamed}, src)


def _fmt(path: Path_) -> str:
    from .._yaml import format_path

    return format_path(path)
