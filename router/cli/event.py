"""``router event KIND [options]``: print the payload a trigger would deliver, as JSON.

Like ``sam local generate-event``, but built by the same pure builders the sources use, so
what it prints is what a handler gets. Time and ids come from the clock and uuid4 here.

    $ router event s3 --bucket uploads --key 'images/cat 1.jpg' --file cat.jpg
    $ router event http-api --route 'GET /hello/{name}' --path /hello/ann
    $ router event dynamodb --event-name MODIFY --keys '{"id": "1"}' --new-image '{"n": 2}'
    $ router -c triggers.yaml event s3 --trigger uploads     # with that trigger's settings
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote

import click

from ..config import Config, TriggerConfig, aws_queue_name, bucket_name_problem, declared_queue, load_config
from ..errors import ConfigError
from ..events import apigw, dynamodb, http_api, s3, schedule, sqs
from ..events.http import METHODS, HttpRequest, MatchedRoute
from ..events.routes import api_id, match_route
from .common import DEFAULT_CONFIG

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name
_ETAG = re.compile(r"^[0-9a-fA-F]{32}(-\d+)?$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_STAGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_KIND = {"s3": "s3", "schedule": "schedule", "apigw": "http", "http-api": "http", "dynamodb": "dynamodb",
         "sqs": "sqs", "sns": "sns", "eventbridge": "eventbridge"}  # fmt: skip


@dataclass
class Setting:
    """What every kind starts from: region, account, and the trigger (with ``--trigger``)."""

    region: str
    account: str
    config: Config | None
    trigger: TriggerConfig | None


def common_options(f: F) -> F:
    for option in reversed([
        click.option("--region", default=None, help=f"AWS region (default: the config's, else {DEFAULT_REGION})."),
        click.option("--account", default=None,
                     help=f"12-digit account id (default: the config's, else {DEFAULT_ACCOUNT})."),
        click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help=f"The config file (default with --trigger: ./{DEFAULT_CONFIG})."),
        click.option("--trigger", "trigger_name", default=None, metavar="NAME",
                     help="Build the payload with this trigger's settings (by trigger name or function)."),
    ]):  # fmt: skip
        f = option(f)
    return f


def _setting(kind: str, region: str | None, account: str | None, config_path: Path | None,
             trigger_name: str | None) -> Setting:  # fmt: skip
    config = trigger = None
    if config_path is not None or trigger_name is not None:
        path = config_path or Path(DEFAULT_CONFIG)
        try:
            config = load_config(path, check_files=False)
        except ConfigError as exc:
            raise click.UsageError(exc.render()) from None
    if trigger_name is not None and config is not None:
        try:
            trigger = config.trigger(trigger_name)
        except KeyError:
            names = ", ".join(t.name for t in config.triggers) or "none"
            raise click.BadParameter(
                f"no trigger {trigger_name!r} (triggers: {names})", param_hint="--trigger"
            ) from None
        if trigger.kind != _KIND[kind]:
            raise click.BadParameter(
                f"trigger {trigger.name!r} is a {trigger.kind} trigger, not {kind}", param_hint="--trigger"
            )
    region = region or (config.settings.region if config else DEFAULT_REGION)
    account = account or (config.settings.account if config else DEFAULT_ACCOUNT)
    if not _REGION.match(region):
        raise click.BadParameter(f"{region!r} is not an AWS region name such as us-east-1", param_hint="--region")
    if not re.fullmatch(r"\d{12}", account):
        raise click.BadParameter(f"{account!r} is not a 12-digit account id", param_hint="--account")
    return Setting(region, account, config, trigger)


def _emit(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def _json_object(text: str | None, hint: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"malformed JSON: {exc}", param_hint=hint) from None
    if not isinstance(value, dict):
        raise click.BadParameter(f"expected a JSON object, got {type(value).__name__}", param_hint=hint)
    return value


@click.group("event", context_settings={"help_option_names": ["-h", "--help"]})
def event_command() -> None:
    """Print the event payload a trigger delivers, as JSON on stdout.

    \b
    KIND is one of:
      s3        S3 event notification (Records[], eventVersion 2.1)
      apigw     API Gateway REST proxy request (payload 1.0)
      http-api  API Gateway HTTP API request (payload 2.0)
      dynamodb  DynamoDB Streams batch (Records[], eventVersion 1.1)
      sqs       SQS batch of one message (Records[], eventSource aws:sqs)
      sns       SNS notification (Records[], EventSource aws:sns)
      eventbridge  EventBridge event (a rule's target; --trigger: input shaping)
      schedule  EventBridge Scheduled Event

    Every kind takes --region, --account, and --config/--trigger to use a trigger's
    settings. See `router event KIND --help` for the options of each kind.
    """


# ------------------------------------------------------------------------------ s3


@event_command.command("s3")
@click.option("--event-name", default=None, help="ObjectCreated:Put (default), :Post, :Copy, "
              ":CompleteMultipartUpload, ObjectRemoved:Delete or :DeleteMarkerCreated.")  # fmt: skip
@click.option("--bucket", default=None, help="Bucket name (default: the trigger's, else example-bucket).")
@click.option("--key", default=None, help="Object key, plain (it is URL-encoded in the event).")
@click.option("--file", "file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A real file: fills the size and the MD5 eTag (and the key).")  # fmt: skip
@click.option("--size", type=click.IntRange(min=0), default=None, help="Object size in bytes.")
@click.option("--etag", default=None, help="Object eTag (32 hex digits).")
@common_options
def s3_command(event_name: str | None, bucket: str | None, key: str | None, file_path: Path | None,
               size: int | None, etag: str | None, **common: Any) -> None:  # fmt: skip
    """An S3 event notification for one object."""
    st = _setting("s3", **common)
    src = st.trigger.s3 if st.trigger else None
    name = _s3_event_name(event_name, src.events if src else None)
    bucket = bucket or (src.bucket or Path(src.dir or "").name if src else "example-bucket")
    if problem := bucket_name_problem(bucket):
        raise click.BadParameter(f"{bucket!r}: {problem}", param_hint="--bucket")
    key = key or (file_path.name if file_path else None)
    key = key or (f"{src.prefix}example{src.suffix or '.txt'}" if src else "example/key.txt")
    if not 1 <= len(key.encode()) <= 1024:
        raise click.BadParameter("an object key has 1 to 1024 bytes", param_hint="--key")
    if src and not (key.startswith(src.prefix) and key.endswith(src.suffix)):
        raise click.BadParameter(f"{key!r} does not match the trigger's prefix {src.prefix!r} "
                                 f"and suffix {src.suffix!r}", param_hint="--key")  # fmt: skip
    size, etag = _size_and_etag(name, file_path, size, etag)
    now = time.time()
    request_id, host_id = s3.make_ids(uuid.uuid4().bytes)
    record = s3.build_record(
        event_name=name, bucket=bucket, key=key, size=size, etag=etag,
        sequencer=s3.make_sequencer(0, now), configuration_id=st.trigger.name if st.trigger else str(uuid.uuid4()),
        region=st.region, event_time=now, request_id=request_id, host_id=host_id,
    )  # fmt: skip
    _emit(s3.build_event([record]))


def _s3_event_name(given: str | None, listened: tuple[str, ...] | None) -> str:
    if given is None:
        if listened and not s3.matches("ObjectCreated:Put", listened):
            return listened[0].removeprefix("s3:").replace(":*", ":Delete")
        return "ObjectCreated:Put"
    name = given.removeprefix("s3:")
    if name not in s3.EVENT_NAMES:
        raise click.BadParameter(f"unknown S3 event {given!r}; expected one of {', '.join(s3.EVENT_NAMES)}",
                                 param_hint="--event-name")  # fmt: skip
    if listened and not s3.matches(name, listened):
        raise click.BadParameter(f"the trigger listens to {', '.join(listened)}, not {name}", param_hint="--event-name")
    return name


def _size_and_etag(name: str, file_path: Path | None, size: int | None,
                   etag: str | None) -> tuple[int | None, str | None]:  # fmt: skip
    if name in s3.REMOVED:
        if file_path or size is not None or etag:
            raise click.UsageError(f"{name} records carry no size or eTag: drop --file/--size/--etag")
        return None, None
    if file_path is not None:
        if size is not None or etag:
            raise click.UsageError("give --file, or --size/--etag, not both")
        data = file_path.read_bytes()
        return len(data), s3.etag(data)
    if etag is not None and not _ETAG.match(etag):
        raise click.BadParameter(f"{etag!r} is not an eTag (32 hex digits)", param_hint="--etag")
    size = size or 0
    if etag is None:  # the eTag of that many zero bytes, so size and eTag agree
        digest = hashlib.md5(usedforsecurity=False)
        for start in range(0, size, 1 << 20):
            digest.update(bytes(min(1 << 20, size - start)))
        etag = digest.hexdigest()
    return size, etag.lower()


# ------------------------------------------------------------------------------ schedule


@event_command.command("schedule")
@click.option("--rule", default=None, help="Rule name or ARN (default: the trigger's name, else my-schedule).")
@common_options
def schedule_command(rule: str | None, **common: Any) -> None:
    """An EventBridge Scheduled Event (a trigger's constant input, when it has one)."""
    st = _setting("schedule", **common)
    src = st.trigger.schedule if st.trigger else None
    rule = rule or (st.trigger.name if st.trigger else "my-schedule")
    try:
        payload = schedule.build_payload(input=src.input if src else None, rule=rule, region=st.region,
                                         account=st.account, time=time.time(), event_id=str(uuid.uuid4()))  # fmt: skip
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rule") from None
    _emit(payload)


# ------------------------------------------------------------------------------ http


def http_options(f: F) -> F:
    for option in reversed([
        click.option("--method", default=None, help="HTTP method (default: the route's, else GET)."),
        click.option("--path", default=None, help="Request path (default: the route's, parameters filled in)."),
        click.option("--query", multiple=True, metavar="K=V", help="A query string parameter (repeatable)."),
        click.option("--header", multiple=True, metavar="'NAME: VALUE'", help="A request header (repeatable)."),
        click.option("--body", default=None, help="Request body (text)."),
        click.option("--stage", default=None, help="Stage name."),
    ]):  # fmt: skip
        f = option(f)
    return f


@event_command.command("apigw")
@http_options
@click.option("--resource", default=None, help="Resource path template such as /hello/{name} (default: --path).")
@common_options
def apigw_command(resource: str | None, stage: str | None, **options: Any) -> None:
    """An API Gateway REST proxy request event (payload 1.0)."""
    st, src = _http_setting("apigw", "1.0", options)
    route_key = src.route if src else f"ANY {resource or unquote(options['path'] or '/')}"
    if resource is not None and src is not None and not route_key.endswith(f" {resource}"):
        raise click.BadParameter(f"the trigger's route is {route_key!r}", param_hint="--resource")
    stage = _stage(stage or (src.stage if src else None) or "prod", allow_default=False)
    request, route = _request(route_key, stage, st, options, payload="1.0")
    _emit(apigw.build_event(request, route, request_id=str(uuid.uuid4()), time=time.time(),
                            account=st.account, api_id=_api_id(st, "1.0"),
                            binary_media_types=src.binary_media_types if src else ()))  # fmt: skip


@event_command.command("http-api")
@http_options
@click.option("--route", default=None, help="Route key 'METHOD /path/{param}' or $default (default: $default).")
@common_options
def http_api_command(route: str | None, stage: str | None, **options: Any) -> None:
    """An API Gateway HTTP API request event (payload 2.0)."""
    st, src = _http_setting("http-api", "2.0", options)
    if route is not None and src is not None and " ".join(route.split()) != src.route:
        raise click.BadParameter(f"the trigger's route is {src.route!r}", param_hint="--route")
    route_key = _route_key(route or (src.route if src else "$default"))
    stage = _stage(stage or (src.stage if src else None) or "$default", allow_default=True)
    request, matched = _request(route_key, stage, st, options)
    _emit(http_api.build_event(request, matched, request_id=_v2_request_id(), time=time.time(),
                               account=st.account, api_id=_api_id(st, "2.0")))  # fmt: skip


def _http_setting(kind: str, payload: str, options: dict[str, Any]) -> tuple[Setting, Any]:
    common = {k: options.pop(k) for k in ("region", "account", "config_path", "trigger_name")}
    st = _setting(kind, **common)
    src = st.trigger.http if st.trigger else None
    if src is not None and src.payload != payload:
        other = "apigw" if src.payload == "1.0" else "http-api"
        raise click.BadParameter(f"trigger {st.trigger.name!r} uses payload {src.payload}: "  # type: ignore[union-attr]
                                 f"use `router event {other}`", param_hint="--trigger")  # fmt: skip
    return st, src


def _route_key(text: str) -> str:
    text = " ".join(text.split())
    if text == "$default":
        return text
    method, _, path = text.partition(" ")
    if method.upper() not in (*METHODS, "ANY") or not path.startswith("/"):
        raise click.BadParameter(f"{text!r}: expected 'METHOD /path' (e.g. 'GET /hello/{{name}}') or $default",
                                 param_hint="--route")  # fmt: skip
    return f"{method.upper()} {path}"


def _stage(stage: str, *, allow_default: bool) -> str:
    if (allow_default and stage == "$default") or _STAGE.match(stage):
        return stage
    allowed = "letters, digits, '-' and '_'" + (", or $default" if allow_default else "")
    raise click.BadParameter(f"{stage!r}: a stage name uses {allowed}", param_hint="--stage")


def _request(route_key: str, stage: str, st: Setting, o: dict[str, Any], *,
             payload: str = "2.0") -> tuple[HttpRequest, MatchedRoute]:  # fmt: skip
    route_method, _, template = route_key.partition(" ")
    method = (o["method"] or (route_method if route_method in METHODS else "GET")).upper()
    if method not in METHODS:
        raise click.BadParameter(f"{o['method']!r}: expected one of {', '.join(METHODS)}", param_hint="--method")
    if route_method in METHODS and method != route_method:
        raise click.BadParameter(f"the route {route_key!r} takes {route_method} only", param_hint="--method")
    path = o["path"] or re.sub(r"\{([^}+]+)\+?\}", r"\1", template or "/")
    if not path.startswith("/"):
        raise click.BadParameter(f"{path!r}: a path starts with '/'", param_hint="--path")
    path = quote(path, safe="/%:@!$&'()*+,;=-._~")
    matched = match_route(route_key, path, payload=payload, stage=stage)  # the daemon's route table
    if matched is None:
        raise click.BadParameter(f"{path!r} does not match the route {route_key!r}", param_hint="--path")
    headers = [_header(h) for h in o["header"]]
    names = {name.lower() for name, _ in headers}
    if "host" not in names:
        http = st.config.settings.http if st.config else None
        headers.insert(0, ("Host", f"localhost:{http.port if http else 3000}"))
    if "user-agent" not in names:
        headers.append(("User-Agent", "router-event"))
    body = (o["body"] or "").encode()
    return HttpRequest(method, path, _query(o["query"]), headers, body), matched


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not _TOKEN.match(name.strip()):
        raise click.BadParameter(f"{text!r}: expected 'Name: value'", param_hint="--header")
    return name.strip(), value.strip()


def _query(pairs: tuple[str, ...]) -> str:
    parts = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not name:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="--query")
        parts.append(quote_plus(name) + (f"={quote_plus(value)}" if sep else ""))
    return "&".join(parts)


def _api_id(st: Setting, payload: str) -> str:
    """The daemon's API id for the config (``--config``/``--trigger``), else a fixed example's."""
    return api_id(str(st.config.path) if st.config is not None else "", payload)


def _v2_request_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes[:11]).decode()  # shaped like "JKJaXmPLvHcESHA="


# ------------------------------------------------------------------------------ dynamodb


@event_command.command("dynamodb")
@click.option("--event-name", type=click.Choice(dynamodb.EVENT_NAMES, case_sensitive=False),
              default="INSERT", show_default=True, help="What happened to the item.")  # fmt: skip
@click.option("--table", default=None, help="Table name (default: the trigger's, else example-table).")
@click.option(
    "--keys", default=None, metavar="JSON", help='Key attributes, plain ({"id": "1"}) or typed ({"id": {"S": "1"}}).'
)
@click.option("--new-image", default=None, metavar="JSON", help="The item after the change (plain or typed).")
@click.option("--old-image", default=None, metavar="JSON", help="The item before the change (plain or typed).")
@click.option("--view", type=click.Choice(dynamodb.VIEW_TYPES, case_sensitive=False), default=None,
              help="Stream view type (default: the table's, else NEW_AND_OLD_IMAGES).")  # fmt: skip
@common_options
def dynamodb_command(event_name: str, table: str | None, keys: str | None, new_image: str | None,
                     old_image: str | None, view: str | None, **common: Any) -> None:  # fmt: skip
    """A DynamoDB Streams batch of one record."""
    st = _setting("dynamodb", **common)
    event_name = event_name.upper()
    src = st.trigger.dynamodb if st.trigger else None
    if table is not None and src is not None and table != src.table:
        raise click.BadParameter(f"the trigger reads table {src.table!r}", param_hint="--table")
    table = table or (src.table if src else "example-table")
    if not _TABLE.match(table):
        raise click.BadParameter(f"{table!r}: a table name has 3-255 of A-Z a-z 0-9 _ - .", param_hint="--table")
    spec = st.config.resources.tables.get(table) if st.config else None
    view = (view or (spec.stream if spec else None) or "NEW_AND_OLD_IMAGES").upper()
    if event_name == "INSERT" and old_image is not None:
        raise click.UsageError("an INSERT has no old image: drop --old-image")
    if event_name == "REMOVE" and new_image is not None:
        raise click.UsageError("a REMOVE has no new image: drop --new-image")
    key_item = _item(keys, "--keys") or _default_keys(spec.keys if spec else {"id": "S"})
    new = _with_keys(_item(new_image, "--new-image"), key_item, event_name != "REMOVE", "new", "--new-image")
    old = _with_keys(_item(old_image, "--old-image"), key_item, event_name != "INSERT", "old", "--old-image")
    try:
        dynamodb.check_keys(key_item)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--keys") from None
    now = time.time()
    record = dynamodb.build_record(
        event_name=event_name, keys=key_item, new_image=new, old_image=old, view_type=view,
        sequence_number=dynamodb.make_sequence_number(time.time_ns() // 1000),
        approximate_creation_time=now, event_id=uuid.uuid4().hex, region=st.region,
        stream_arn=dynamodb.stream_arn(st.region, st.account, table, dynamodb.stream_label(now)),
    )  # fmt: skip
    _emit(dynamodb.build_event([record]))


def _item(text: str | None, hint: str) -> dynamodb.Item | None:
    obj = _json_object(text, hint)
    if obj is None:
        return None
    if dynamodb.is_typed_item(obj):
        return obj
    try:
        return dynamodb.to_item(obj, path=hint.lstrip("-"))
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def _default_keys(schema: Mapping[str, str]) -> dynamodb.Item:
    sample = {"S": {"S": "1"}, "N": {"N": "1"}, "B": {"B": base64.b64encode(b"1").decode()}}
    return {name: sample[kind] for name, kind in schema.items()}


def _with_keys(image: dynamodb.Item | None, keys: dynamodb.Item, wanted: bool, label: str,
               hint: str) -> dynamodb.Item | None:  # fmt: skip
    """The image with the key attributes in it (an image always holds the item's keys)."""
    if not wanted:
        return None
    if image is None:
        return {**keys, "message": {"S": f"{label} value"}}
    for name, value in keys.items():
        if name in image and image[name] != value:
            raise click.BadParameter(f"key attribute {name!r} differs from --keys", param_hint=hint)
    return {**keys, **image}


# ------------------------------------------------------------------------------ sqs

_QUEUE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_GROUP = re.compile(r"^[!-~]{1,128}$")  # MessageGroupId: 1-128 of the printable ASCII (SendMessage)


@event_command.command("sqs")
@click.option("--body", default="Hello from SQS!", show_default=True, help="The message body (any text).")
@click.option("--attribute", "attributes", multiple=True, metavar="K=V",
              help="A message attribute (String; a number is a Number). Repeatable.")  # fmt: skip
@click.option("--queue", default=None, help="Queue name (default: the trigger's, else example-queue).")
@click.option("--fifo", is_flag=True, default=False, help="A FIFO queue's message (default: the queue's kind).")
@click.option("--group", default=None, metavar="G", help="MessageGroupId (FIFO; default: group1).")
@click.option("--receive-count", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="ApproximateReceiveCount (a retry: 2 and more).")  # fmt: skip
@common_options
def sqs_command(body: str, attributes: tuple[str, ...], queue: str | None, fifo: bool, group: str | None,
                receive_count: int, **common: Any) -> None:  # fmt: skip
    """An SQS batch of one message, as the SQS event source mapping delivers it."""
    st = _setting("sqs", **common)
    src = st.trigger.sqs if st.trigger else None
    if queue is not None and src is not None and queue not in (src.queue, f"{src.queue}.fifo"):
        raise click.BadParameter(f"the trigger reads queue {src.queue!r}", param_hint="--queue")
    name = queue or (src.queue if src else "example-queue")
    declared = declared_queue(st.config, name) if st.config else None
    if declared is not None:
        name, fifo = declared[0], fifo or declared[1].fifo
    fifo = fifo or group is not None or name.endswith(".fifo")
    name = aws_queue_name(name, fifo)
    if not _QUEUE.match(name.removesuffix(".fifo")):
        raise click.BadParameter(f"{name!r}: a queue name has 1-80 of A-Z a-z 0-9 _ - (and .fifo last)",
                                 param_hint="--queue")  # fmt: skip
    if group is not None and not _GROUP.match(group):
        raise click.BadParameter(f"{group!r}: 1 to 128 printable ASCII characters", param_hint="--group")
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        raise click.BadParameter("an SQS message body is valid Unicode text", param_hint="--body") from None
    record = sqs.record(
        body, arn=sqs.queue_arn(st.region, st.account, name), region=st.region, message_id=str(uuid.uuid4()),
        receipt_handle=base64.b64encode(uuid.uuid4().bytes * 3).decode(), sent_at=time.time(),
        attributes=_sqs_attributes(attributes), receive_count=receive_count,
        group=(group or "group1") if fifo else None,
    )  # fmt: skip
    _emit(sqs.event([record]))


def _sqs_attributes(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected K=V", param_hint="--attribute")
        # SendMessage: a name has 1-256 of A-Z a-z 0-9 _ - . and does not start with AWS. or Amazon.
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,256}", key) or key.lower().startswith(("aws.", "amazon.")):
            raise click.BadParameter(f"{key!r}: an attribute name has 1-256 of A-Z a-z 0-9 _ - . "
                                     "(not starting with AWS. or Amazon.)", param_hint="--attribute")  # fmt: skip
        if key in out:
            raise click.BadParameter(f"attribute {key!r} given twice", param_hint="--attribute")
        number = re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
        out[key] = {"DataType": "Number" if number else "String", "StringValue": value}
    return out


command = event_command

from . import event_pubsub  # noqa: E402,F401  (registers sns and eventbridge)
