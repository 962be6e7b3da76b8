"""The triggers.yaml schema (SPEC.md) as strict pydantic models (unknown keys are errors).

Loading, positions and cross-references are :mod:`router.config`'s; import the models from
there too (``from router.config import Config``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .params import ParameterConfig, check_parameters, check_secrets

# ---------------------------------------------------------------------------- helpers

PYTHON_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
RUNTIMES = PYTHON_RUNTIMES + NODE_RUNTIMES
NODE_EXTENSIONS = (".js", ".mjs", ".cjs", ".ts", ".mts")  # .ts/.mts: router/runtimes/typescript.py
DEFAULT_NODE_RUNTIME = "nodejs22.x"  # callback handlers work up to 22.x (24.x removed them)

# S3 bucket naming rules (docs: "General purpose bucket naming rules").
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return "a bucket name has 3 to 63 characters"
    if not _BUCKET.match(name):
        return "a bucket name uses only a-z, 0-9, '.' and '-', and starts and ends with a letter or digit"
    if ".." in name or _IPV4.match(name):
        return "a bucket name has no '..' and is not an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
    ):
        return "a bucket name may not use S3's reserved prefixes or suffixes"
    return None


RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Source(_Model):
    """A source key's settings; a plain string is shorthand for its main key
    (``s3: drop/uploads``, ``schedule: rate(5 minutes)``, ``http: GET /x``, ``dynamodb: orders``)."""

    SHORTHAND: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {cls.SHORTHAND: v} if isinstance(v, str) else v


# ---------------------------------------------------------------------------- settings


class HttpSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=0, le=65535)


class AwsSettings(_Model):
    # "embedded": a moto server router starts; a URL: an external moto/LocalStack; "aws": real AWS
    endpoint: str = "embedded"
    port: int = Field(4566, ge=0, le=65535)
    cors: tuple[str, ...] = ()  # web origins allowed to call the embedded AWS (docs/security.md)
    admin: bool = False  # serve moto's /moto-api/ endpoints (reset, data.json, dashboard)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if v in ("embedded", "aws") or re.match(r"^https?://[^\s/]+", v):
            return v.rstrip("/")
        raise ValueError("expected 'embedded', 'aws' or an http(s):// URL")

    @field_validator("cors")
    @classmethod
    def _cors(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for origin in v:
            if origin == "*":
                raise ValueError("'*' would let any web page drive the embedded AWS: list each origin")
            if not re.fullmatch(r"https?://[^\s/:]+(:\d{1,5})?", origin):
                raise ValueError(f"{origin!r} is not a web origin: expected scheme://host[:port], no path")
        return tuple(o.lower() for o in v)


class UiSettings(_Model):
    """The dashboard ``router run`` serves (docs/dashboard.md): its own port, loopback unless told."""

    host: str = "127.0.0.1"
    port: int = Field(4000, ge=0, le=65535)
    enabled: bool = True


class JournalSettings(_Model):
    max_rows: int = Field(100_000, ge=100)
    max_days: float = Field(7, gt=0)
    max_mb: float = Field(512, ge=1)  # the state file's size: the oldest journal rows go beyond it


class Settings(_Model):
    region: str = "us-east-1"
    account: str = "123456789012"
    state_dir: str = ".router"
    http: HttpSettings = HttpSettings()
    aws: AwsSettings = AwsSettings()
    python: str | None = None
    node: str = "node"
    journal: JournalSettings = JournalSettings()
    ui: UiSettings = UiSettings()
    env_file: str | None = None  # a dotenv file (relative to the config) every function's environment starts from

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if not _REGION.match(v):
            raise ValueError("expected an AWS region name such as us-east-1")
        return v

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, v: Any) -> Any:
        if isinstance(v, int):
            v = f"{v:012d}"
        if not isinstance(v, str) or not re.fullmatch(r"\d{12}", v):
            raise ValueError("expected a 12-digit AWS account id (quote it in YAML)")
        return v


# ---------------------------------------------------------------------------- functions


class Destination(_Model):
    """Where an async invocation record goes: a folder (one JSON file each), a function or an
    SQS queue (the record as the message body, as AWS's SQS destination sends it)."""

    dir: str | None = None
    function: str | None = None
    queue: str | None = None
    topic: str | None = None  # an SNS topic of resources.topics (the record as the message)
    bus: str | None = None  # an EventBridge bus ("Lambda Function Invocation Result - ..." events)

    @model_validator(mode="after")
    def _one(self) -> Destination:
        if sum(v is not None for v in (self.dir, self.function, self.queue, self.topic, self.bus)) != 1:
            raise ValueError("a destination has exactly one of 'dir', 'function', 'queue', 'topic' or 'bus'")
        return self


class AsyncConfig(_Model):
    retries: int = Field(2, ge=0, le=2)  # MaximumRetryAttempts
    retry_delays: tuple[float, ...] = (60.0, 120.0)  # AWS: about 1 min, then about 2 min
    max_event_age: int = Field(21600, ge=60, le=21600)  # MaximumEventAgeInSeconds
    on_failure: Destination | None = None
    on_success: Destination | None = None

    @field_validator("retry_delays")
    @classmethod
    def _delays(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(d < 0 for d in v):
            raise ValueError("expected a non-empty list of delays in seconds, each >= 0")
        return v


class LoggingConfig(_Model):
    """Lambda's LoggingConfig (API_LoggingConfig: LogFormat JSON|Text, ApplicationLogLevel
    TRACE..FATAL, SystemLogLevel DEBUG|INFO|WARN); the levels need the JSON format."""

    format: Literal["JSON", "Text"] = "Text"
    application_level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] | None = None
    system_level: Literal["DEBUG", "INFO", "WARN"] | None = None

    @model_validator(mode="after")
    def _levels_need_json(self) -> LoggingConfig:
        if self.format != "JSON" and (self.application_level or self.system_level):
            raise ValueError("application_level and system_level need format: JSON (as in Lambda)")
        return self


class FunctionConfig(_Model):
    name: str = ""  # filled from the mapping key
    handler: str
    code: str | None = None
    runtime: Literal[RUNTIMES] | None = None  # type: ignore[valid-type]
    timeout: float = Field(3, gt=0, le=900)
    memory: int = Field(128, ge=128, le=10240)
    environment: dict[str, str] = {}
    env_file: str | None = None  # a dotenv file (relative to the config): under environment, over settings.env_file
    layers: tuple[str, ...] = ()  # folders laid out as a layer's /opt (relative to the config; absolute once loaded)
    debug: bool | Literal["wait"] = False  # a debugger may attach (docs/debugging.md); "wait": init waits for it
    concurrency: int = Field(4, ge=1, le=1000)
    async_: AsyncConfig = Field(AsyncConfig(), alias="async")
    logging: LoggingConfig = LoggingConfig()

    # resolved by load_config (absolute paths); not user keys
    code_dir: Path = Path(".")
    handler_file: Path = Path(".")

    @field_validator("environment", mode="before")
    @classmethod
    def _env(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out: dict[str, Any] = {}
            for key, value in v.items():
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif isinstance(value, int | float):
                    value = str(value)
                out[key] = value
            return out
        return v

    @field_validator("environment")
    @classmethod
    def _reserved(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if key in RESERVED_ENV:
                # Lambda refuses these (docs: "Defined runtime environment variables", reserved keys)
                raise ValueError(f"{key} is a reserved Lambda environment variable; the runtime sets it")
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
                raise ValueError(f"{key!r} is not a valid environment variable name (letters, digits, _)")
        return v

    # A malformed handler string is not refused here: Lambda accepts it and fails each
    # invocation with Runtime.MalformedHandlerName (router.check reports it early).

    @property
    def is_node(self) -> bool:
        return str(self.runtime).startswith("nodejs")

    @property
    def export(self) -> str:
        """The function's name inside its module (dotted for nested Node exports)."""
        base = self.handler.rsplit("/", 1)[-1]
        if self.is_node:
            return base.partition(".")[2]  # Node: first dot after the last slash ("" without one)
        return base.rpartition(".")[2] if "." in base else ""  # Python: last dot


# ---------------------------------------------------------------------------- resources


class TableConfig(_Model):
    keys: dict[str, Literal["S", "N", "B"]]
    stream: (
        Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"] | None
    ) = "NEW_AND_OLD_IMAGES"
    seed: str | None = None
    # global secondary indexes: name -> keys (partition, then sort), every attribute projected
    indexes: dict[str, dict[str, Literal["S", "N", "B"]]] = {}

    @field_validator("keys")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        if not 1 <= len(v) <= 2:
            raise ValueError("expected one key (partition) or two (partition, then sort)")
        return v

    @model_validator(mode="after")
    def _indexes(self) -> TableConfig:
        # CreateTable: up to 20 global secondary indexes; an attribute has one type in the table
        if len(self.indexes) > 20:
            raise ValueError("a table has at most 20 global secondary indexes")
        types = dict(self.keys)
        for name, keys in self.indexes.items():
            if not 1 <= len(keys) <= 2:
                raise ValueError(f"index {name!r}: expected one key (partition) or two (partition, then sort)")
            for key, kind in keys.items():
                if types.setdefault(key, kind) != kind:
                    raise ValueError(f"index {name!r}: {key!r} is {types[key]} elsewhere in the table, not {kind}")
        return self

    def attribute_definitions(self) -> list[dict[str, str]]:
        """CreateTable's AttributeDefinitions: the table's and its indexes' key attributes, once each."""
        types: dict[str, str] = dict(self.keys)
        for keys in self.indexes.values():
            types.update(keys)
        return [{"AttributeName": k, "AttributeType": t} for k, t in types.items()]

    def global_indexes(self) -> list[dict[str, Any]]:
        """CreateTable's GlobalSecondaryIndexes (projection ALL)."""
        return [{"IndexName": name, "KeySchema": key_schema(keys), "Projection": {"ProjectionType": "ALL"}}
                for name, keys in self.indexes.items()]  # fmt: skip

    @field_validator("stream", mode="before")
    @classmethod
    def _stream(cls, v: Any) -> Any:
        return None if v is False else v


def key_schema(keys: Mapping[str, str]) -> list[dict[str, str]]:
    """A KeySchema: the first key HASH, the second RANGE."""
    return [{"AttributeName": k, "KeyType": kt} for k, kt in zip(keys, ("HASH", "RANGE"), strict=False)]


class Redrive(_Model):
    """A queue's RedrivePolicy: after ``max_receive_count`` receives a message goes to
    ``dead_letter`` (SQS developer guide, "Using dead-letter queues": maxReceiveCount 1..1000)."""

    dead_letter: str
    max_receive_count: int = Field(3, ge=1, le=1000)


class QueueConfig(_Model):
    """An SQS queue made at start (SQS API reference, "SetQueueAttributes": the ranges)."""

    fifo: bool = False
    visibility_timeout: int = Field(30, ge=0, le=43200)  # VisibilityTimeout
    message_retention: int = Field(345600, ge=60, le=1209600)  # MessageRetentionPeriod
    delay: int = Field(0, ge=0, le=900)  # DelaySeconds
    redrive: Redrive | None = None
    content_based_deduplication: bool = False  # FIFO only

    @model_validator(mode="after")
    def _fifo_only(self) -> QueueConfig:
        if self.content_based_deduplication and not self.fifo:
            raise ValueError("content_based_deduplication is for FIFO queues only (set fifo: true)")
        return self


_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def aws_queue_name(name: str, fifo: bool) -> str:
    """The queue's name in AWS: a FIFO queue's name ends in ``.fifo`` (SQS requires it)."""
    return name if not fifo or name.endswith(".fifo") else f"{name}.fifo"


def queue_name_problem(name: str) -> str | None:
    """Why ``name`` (without ``.fifo``) is not a valid SQS queue name, or None."""
    if not _QUEUE_NAME.match(name.removesuffix(".fifo")) or len(name) > 80:
        return "a queue name has 1 to 80 characters: letters, digits, '-' and '_' (and '.fifo' last for FIFO)"
    return None


class TopicConfig(_Model):
    """An SNS topic made at start (a FIFO topic's AWS name ends in ``.fifo``)."""

    fifo: bool = False


# CreateTopic: "1 to 256 characters: letters, numbers, underscores and hyphens" (.fifo last for FIFO);
# CreateEventBus: Name [/\.\-_A-Za-z0-9]+, 1 to 256 characters
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BUS_NAME = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")


def aws_topic_name(name: str, fifo: bool) -> str:
    return f"{name.removesuffix('.fifo')}.fifo" if fifo else name


class Resources(_Model):
    tables: dict[str, TableConfig] = {}
    buckets: list[str] = []
    queues: dict[str, QueueConfig] = {}
    topics: dict[str, TopicConfig] = {}
    buses: list[str] = []  # the "default" bus always exists
    parameters: dict[str, ParameterConfig] = {}  # Parameter Store (router/params.py)
    secrets: dict[str, str] = {}  # Secrets Manager: name -> SecretString (a mapping or list as JSON)

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, v: Any) -> Any:
        return check_parameters(v)

    @field_validator("secrets", mode="before")
    @classmethod
    def _secrets(cls, v: Any) -> Any:
        return check_secrets(v)

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: dict[str, TopicConfig]) -> dict[str, TopicConfig]:
        for name, t in v.items():
            if not _TOPIC_NAME.match(name.removesuffix(".fifo")):
                raise ValueError(f"{name!r}: a topic name has 1 to 256 letters, digits, '_' or '-'")
            if name.endswith(".fifo") and not t.fifo:
                raise ValueError(f"{name!r}: a name ending in .fifo is a FIFO topic (set fifo: true)")
        return v

    @field_validator("buses")
    @classmethod
    def _buses(cls, v: list[str]) -> list[str]:
        for name in v:
            if not _BUS_NAME.match(name):
                raise ValueError(f"{name!r}: a bus name has 1 to 256 letters, digits, '/', '.', '-' or '_'")
        return v

    @field_validator("queues")
    @classmethod
    def _queues(cls, v: dict[str, QueueConfig]) -> dict[str, QueueConfig]:
        for name, q in v.items():
            if problem := queue_name_problem(name):
                raise ValueError(f"{name!r}: {problem}")
            if name.endswith(".fifo") and not q.fifo:
                raise ValueError(f"{name!r}: a name ending in .fifo is a FIFO queue (set fifo: true)")
        for name, q in v.items():
            if q.redrive is not None:
                dlq = q.redrive.dead_letter
                if dlq == name:
                    raise ValueError(f"{name!r}: a queue cannot be its own dead-letter queue")
                # SQS: "The dead-letter queue of a FIFO queue must also be a FIFO queue" (and standard likewise)
                if dlq in v and v[dlq].fifo != q.fifo:
                    raise ValueError(f"{name!r}: its dead-letter queue {dlq!r} must be "
                                     f"{'a FIFO' if q.fifo else 'a standard'} queue too")  # fmt: skip
        return v

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, v: list[str]) -> list[str]:
        for name in v:
            if problem := bucket_name_problem(name):
                raise ValueError(f"{name!r}: {problem}")
        return v


# ---------------------------------------------------------------------------- triggers

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
        from .schedules import parse_expression  # pure, stdlib only

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
        from .filters import FilterError, check_patterns  # pure, stdlib only

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
        from .filters import FilterError, check_sns_policy  # pure, stdlib only

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
        from .filters import EVENTBRIDGE, FilterError, check_pattern  # pure, stdlib only

        try:
            check_pattern(v, "pattern", EVENTBRIDGE)
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return v

    @model_validator(mode="after")
    def _checks(self) -> EventBridgeTrigger:
        from .events.eventbridge import path_problem, template_problem  # pure, stdlib only

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


class Config(_Model):
    version: Literal[1] = 1
    settings: Settings = Settings()
    functions: dict[str, FunctionConfig] = {}
    resources: Resources = Resources()
    triggers: tuple[TriggerConfig, ...] = ()

    # where it was loaded from; not user keys
    path: Path = Path("triggers.yaml")
    root: Path = Path(".")
    notes: tuple[str, ...] = ()  # what a template holds that router does not emulate ("not emulated: ...")
    template_options: dict[str, Any] = {}  # a template's parameters and stack name as given (a reload reuses them)

    @field_validator("functions", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ({**f, "name": k} if isinstance(f, dict) else f) for k, f in v.items()}
        return v

    @property
    def state_dir(self) -> Path:
        return (self.root / self.settings.state_dir).resolve()

    def function(self, name: str) -> FunctionConfig:
        return self.functions[name]

    def trigger(self, name_or_function: str) -> TriggerConfig:
        """A trigger by its name, or the only trigger of a function."""
        for t in self.triggers:
            if t.name == name_or_function:
                return t
        matches = [t for t in self.triggers if t.function == name_or_function]
        if len(matches) == 1:
            return matches[0]
        raise KeyError(name_or_function)
