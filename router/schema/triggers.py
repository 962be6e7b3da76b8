"""``triggers:`` of triggers.yaml: one model per source kind (s3, schedule, http, dynamodb, sqs,
sns, eventbridge) and the trigger that holds one of them.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import _HTTP_METHODS, _Model, _Source, bucket_name_problem
from .functions import Destination

TEMP_PATTERNS = ("*.swp", "*.swx", "*~", "*.part", "*.tmp", ".#*", "*.crdownload", "4913")


class S3Trigger(_Source):
    SHORTHAND: ClassVar[str] = "dir"

    dir: str | None = None  # None: only writes through the embedded AWS notify (bucket required)
    bucket: str | None = None
    events: tuple[str, ...] = ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""
    create: bool = True
    catch_up: bool = False
    ignore: tuple[str, ...] = TEMP_PATTERNS  # glob patterns on the file name; [] includes all
    settle: float = Field(0.2, ge=0, le=60)  # quiet time before a write without close counts
    mirror: bool = True  # objects written through the embedded AWS appear in (vanish from) dir too

    @model_validator(mode="after")
    def _dir_or_bucket(self) -> S3Trigger:
        if self.dir is None and self.bucket is None:
            raise ValueError("an s3 trigger needs 'dir' (a folder to watch), 'bucket' (notifications of "
                             "writes through the embedded AWS only), or both")  # fmt: skip
        return self


    @field_validator("events")
    @classmethod
    def _events(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        known = {
            "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post",
            "s3:ObjectCreated:Copy", "s3:ObjectCreated:CompleteMultipartUpload",
            "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
            "s3:ObjectRemoved:DeleteMarkerCreated",
        }  # fmt: skip
        for event in v:
            if event not in known:
                raise ValueError(f"unknown S3 event type {event!r}; expected one of {sorted(known)}")
        if not v:
            raise ValueError("expected at least one S3 event type")
        return v

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        if v is not None and (problem := bucket_name_problem(v)):
            raise ValueError(problem)
        return v


class ScheduleTrigger(_Source):
    SHORTHAND: ClassVar[str] = "expression"

    expression: str
    timezone: str = "UTC"
    input: Any = None
    enabled: bool = True
    max_concurrent: int | None = Field(None, ge=1)
    description: str = ""


    @field_validator("expression")
    @classmethod
    def _expression(cls, v: str) -> str:
        from ..schedules import parse_expression  # pure, stdlib only

        parse_expression(v)  # raises ValueError naming the field and why
        return v.strip()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; expected an IANA name such as Europe/Paris") from None
        return v


class CorsConfig(_Model):
    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ("*",)
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


class FunctionUrl(_Model):
    """A Lambda function URL (FunctionUrlConfig: AuthType NONE | AWS_IAM, Cors, InvokeMode) on a
    port of its own (0: a free one). Only AuthType NONE is emulated. ``invoke_mode``: BUFFERED
    (Invoke, 6 MB) or RESPONSE_STREAM (InvokeWithResponseStream: the function's writes as they
    happen, 200 MB; "Invoking a response streaming enabled function using Lambda function URLs")."""

    port: int = Field(0, ge=0, le=65535)
    auth: Literal["NONE"] = "NONE"
    cors: CorsConfig | None = None
    invoke_mode: Literal["BUFFERED", "RESPONSE_STREAM"] = "BUFFERED"

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, v: Any) -> Any:
        if isinstance(v, dict) and v.get("auth") == "AWS_IAM":
            raise ValueError("auth AWS_IAM (SigV4-signed requests) is not emulated: use auth: NONE")
        if isinstance(v, dict) and isinstance(v.get("cors"), bool):
            v = {**v, "cors": {} if v["cors"] else None}
        return {} if v is True else v


class JwtAuthorizer(_Model):
    """An HTTP API JWT authorizer: a Bearer token checked against a local JWKS file (RS256)."""

    issuer: str
    audience: tuple[str, ...] = Field(min_length=1)
    # a JWKS file, relative to the config, or an http(s) URL fetched once; the token: the Authorization header's
    jwks: str

    @field_validator("audience", mode="before")
    @classmethod
    def _one(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class AuthorizerConfig(_Model):
    """A route's authorizer: a Lambda authorizer (``function``) or a JWT authorizer (``jwt``)."""

    function: str | None = None
    jwt: JwtAuthorizer | None = None
    type: Literal["request", "token"] = "request"
    identity_source: tuple[str, ...] = ()
    ttl: int = Field(300, ge=0, le=3600)  # REST and HTTP API: 0 (no cache) to 3600 seconds
    payload: Literal["1.0", "2.0"] | None = None  # HTTP API's authorizerPayloadFormatVersion
    simple_response: bool = False  # HTTP API, payload 2.0: {"isAuthorized": bool, "context": {...}}

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("payload"), float | int):
            v = {**v, "payload": f"{float(v['payload']):.1f}"}
        if isinstance(v, dict) and isinstance(v.get("identity_source"), str):
            v = {**v, "identity_source": [v["identity_source"]]}
        return v

    @model_validator(mode="after")
    def _kind(self) -> AuthorizerConfig:
        if (self.function is None) == (self.jwt is None):
            raise ValueError("an authorizer has either 'function' (a Lambda authorizer) or 'jwt'")
        if self.jwt is not None and (self.identity_source or self.simple_response or self.payload):
            raise ValueError("a jwt authorizer takes no identity_source, payload or simple_response beside jwt")
        if self.simple_response and self.payload == "1.0":
            raise ValueError("simple_response needs payload 2.0 (as in HTTP API)")
        for s in self.identity_source:
            if not re.fullmatch(r"(\$request|method\.request)\.(header|querystring)\.[^.\s]+", s):
                raise ValueError(f"identity_source {s!r}: expected '$request.header.NAME', "
                                 "'$request.querystring.NAME' (or REST's 'method.request.header.NAME')")
        return self


class HttpTrigger(_Source):
    SHORTHAND: ClassVar[str] = "route"

    route: str
    payload: Literal["1.0", "2.0"] = "2.0"
    stage: str | None = None
    cors: CorsConfig | None = None
    binary_media_types: tuple[str, ...] = ()
    url: FunctionUrl | None = None  # a function URL: every method and path, on its own port
    authorizer: AuthorizerConfig | None = None
    # REST (payload 1.0) integration's responseTransferMode: STREAM answers as the function writes
    response_transfer_mode: Literal["BUFFERED", "STREAM"] = "BUFFERED"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:  # replaces _Source's: the forms of payload and cors too
        v = {"route": v} if isinstance(v, str) else v
        if isinstance(v, dict) and v.get("url") not in (None, False):
            extra = sorted(set(v) - {"url"})
            if extra:
                raise ValueError(f"a function URL takes every method and path: no {', '.join(extra)} beside url")
            return {"route": "$default", "url": v["url"]}
        if isinstance(v, dict):
            if isinstance(v.get("payload"), float | int):
                v = {**v, "payload": f"{float(v['payload']):.1f}"}
            if v.get("cors") is True:
                v = {**v, "cors": {}}
            elif v.get("cors") is False:
                v = {**v, "cors": None}
        return v

    @field_validator("route")
    @classmethod
    def _route(cls, v: str) -> str:
        v = " ".join(v.split())
        if v == "$default":
            return v
        parts = v.split(" ")
        if len(parts) != 2:
            raise ValueError("expected 'METHOD /path' (e.g. 'GET /hello/{name}') or '$default'")
        method, path = parts[0].upper(), parts[1]
        if method not in _HTTP_METHODS:
            raise ValueError(f"unknown method {parts[0]!r}; expected one of {', '.join(_HTTP_METHODS)}")
        if not path.startswith("/"):
            raise ValueError("the path must start with '/'")
        segments = path.split("/")[1:]
        for i, seg in enumerate(segments):
            if "{" in seg or "}" in seg:
                if not re.fullmatch(r"\{[A-Za-z0-9_.-]+\+?\}", seg):
                    raise ValueError(f"bad path parameter {seg!r}; expected '{{name}}' or '{{name+}}'")
                if seg.endswith("+}") and i != len(segments) - 1:
                    raise ValueError("a greedy parameter {name+} must be the last path segment")
        return f"{method} {path}"

    @model_validator(mode="after")
    def _streams(self) -> HttpTrigger:
        # API Gateway: "Response streaming is only supported for REST APIs" ("Stream the integration
        # response for your proxy integrations in API Gateway"); a function URL has its invoke_mode
        if self.response_transfer_mode == "STREAM" and (self.url is not None or self.payload != "1.0"):
            raise ValueError("response_transfer_mode STREAM needs payload 1.0: API Gateway streams responses only "
                             "for REST APIs, not HTTP APIs (a function URL streams with url: {invoke_mode: "
                             "RESPONSE_STREAM})")
        return self


class _Filtered(_Source):
    """A mapping's ``filter`` (FilterCriteria: up to 5 patterns, ORed; one pattern alone is a list
    of one), checked as Lambda's CreateEventSourceMapping checks it."""

    filter: tuple[dict[str, Any], ...] = Field((), max_length=5)

    @field_validator("filter", mode="before")
    @classmethod
    def _filter(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("filter")
    @classmethod
    def _patterns(cls, v: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        from ..filters import FilterError, check_patterns  # pure, stdlib only

        try:
            check_patterns(v, "filter")
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return v


class DynamoDBTrigger(_Filtered):
    SHORTHAND: ClassVar[str] = "table"

    table: str
    batch_size: int = Field(100, ge=1, le=10000)
    batching_window: float = Field(0, ge=0, le=300)
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "LATEST"
    retries: int = Field(-1, ge=-1, le=10000)
    max_record_age: int = -1
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    parallelization: int = Field(1, ge=1, le=10)
    filter: tuple[dict[str, Any], ...] = Field((), max_length=5)
    on_failure: Destination | None = None
    enabled: bool = True


    @field_validator("max_record_age")
    @classmethod
    def _age(cls, v: int) -> int:
        if v != -1 and not 60 <= v <= 604800:
            raise ValueError("expected -1 (records never age out) or 60..604800 seconds")
        return v



class SqsTrigger(_Filtered):
    """An SQS event source mapping (Lambda developer guide, "Lambda parameters for Amazon SQS
    event source mappings": BatchSize, MaximumBatchingWindowInSeconds, ScalingConfig)."""

    SHORTHAND: ClassVar[str] = "queue"

    queue: str
    batch_size: int = Field(10, ge=1, le=10000)
    batching_window: float = Field(0, ge=0, le=300)
    report_batch_item_failures: bool = False
    max_concurrency: int | None = Field(None, ge=2, le=1000)  # ScalingConfig.MaximumConcurrency 2..1000
    filter: tuple[dict[str, Any], ...] = Field((), max_length=5)
    enabled: bool = True

    @model_validator(mode="after")
    def _window(self) -> SqsTrigger:
        # "When you set BatchSize to a value greater than 10, you must set
        # MaximumBatchingWindowInSeconds to at least 1 second." (CreateEventSourceMapping)
        if self.batch_size > 10 and self.batching_window < 1:
            raise ValueError("a batch_size over 10 needs a batching_window of at least 1 second (as in AWS)")
        return self



class SnsTrigger(_Source):
    """A Lambda subscription to an SNS topic, with its filter policy (SNS developer guide,
    "Amazon SNS subscription filter policies"; scope: SetSubscriptionAttributes' FilterPolicyScope)."""

    SHORTHAND: ClassVar[str] = "topic"

    topic: str
    filter_policy_scope: Literal["MessageAttributes", "MessageBody"] = "MessageAttributes"
    filter_policy: dict[str, Any] | None = None  # after the scope: its check reads the scope

    @field_validator("filter_policy")
    @classmethod
    def _policy(cls, v: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        from ..filters import FilterError, check_sns_policy  # pure, stdlib only

        if v is not None:
            try:
                check_sns_policy(v, "filter_policy", info.data.get("filter_policy_scope", "MessageAttributes"))
            except FilterError as exc:
                raise ValueError(str(exc)) from None
        return v


class InputTransformer(_Model):
    input_paths: dict[str, str] = {}
    template: str


class EventBridgeTrigger(_Model):
    """A rule on a bus with a Lambda target (EventBridge API reference, "PutRule" EventPattern;
    "Target": Input, InputPath, InputTransformer, at most one of them)."""

    bus: str = "default"
    pattern: dict[str, Any]
    input: Any = None
    input_path: str | None = None
    input_transformer: InputTransformer | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_shorthand(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            raise ValueError("an eventbridge trigger is a mapping with a 'pattern' (e.g. pattern: {source: [app]})")
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: dict[str, Any]) -> dict[str, Any]:
        from ..filters import EVENTBRIDGE, FilterError, check_pattern  # pure, stdlib only

        try:
            check_pattern(v, "pattern", EVENTBRIDGE)
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _checks(self) -> EventBridgeTrigger:
        from ..events.eventbridge import path_problem, template_problem  # pure, stdlib only

        given = [k for k in ("input", "input_path", "input_transformer") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"at most one of input, input_path and input_transformer (got {', '.join(given)})")
        if self.input_path is not None and (problem := path_problem(self.input_path)):
            raise ValueError(f"input_path: {problem}")
        t = self.input_transformer
        if t is not None and (problem := template_problem(t.input_paths, t.template)):
            raise ValueError(f"input_transformer: {problem}")
        return self


SOURCE_KINDS = ("s3", "schedule", "http", "dynamodb", "sqs", "sns", "eventbridge")


class TriggerConfig(_Model):
    name: str = ""
    function: str
    enabled: bool = True
    s3: S3Trigger | None = None
    schedule: ScheduleTrigger | None = None
    http: HttpTrigger | None = None
    dynamodb: DynamoDBTrigger | None = None
    sqs: SqsTrigger | None = None
    sns: SnsTrigger | None = None
    eventbridge: EventBridgeTrigger | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TriggerConfig:
        present = [k for k in SOURCE_KINDS if getattr(self, k) is not None]
        if len(present) != 1:
            raise ValueError(
                f"a trigger has exactly one source key ({', '.join(SOURCE_KINDS)}); found "
                + (", ".join(present) if present else "none")
            )
        return self

    @cached_property
    def kind(self) -> str:
        # read on every invocation: found once (a private attribute costs 1.3 us a read,
        # through pydantic's __getattr__; this, 0.03 us)
        return next(k for k in SOURCE_KINDS if getattr(self, k) is not None)

    @property
    def source(self) -> Any:
        return getattr(self, self.kind)
