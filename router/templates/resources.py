"""A template's resources as the embedded AWS will hold them: CloudFormation-style names, the
Ref value and attributes of each, and their ``resources:`` entries in triggers.yaml's shape."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .intrinsics import Context, Unresolvable, resolve

BUCKET = "AWS::S3::Bucket"
TABLE = "AWS::DynamoDB::Table"
SIMPLE_TABLE = "AWS::Serverless::SimpleTable"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
BUS = "AWS::Events::EventBus"
FUNCTIONS = ("AWS::Serverless::Function", "AWS::Lambda::Function")
STORES = (BUCKET, TABLE, SIMPLE_TABLE, QUEUE, TOPIC, BUS)


def physical_name(stack: str, logical: str, *, limit: int = 128, lower: bool = False, suffix: str = "") -> str:
    """The name CloudFormation gives a resource whose template names none: the stack name, the
    logical id and a unique id ("Name type", CloudFormation User Guide: "generates a unique
    physical ID to name a resource ... stack name, logical ID, and a unique ID"). The unique
    part here is a hash of the two, so the names stay the same from one start to the next."""
    unique = hashlib.sha256(f"{stack}/{logical}".encode()).hexdigest()[:13].upper()
    head = f"{stack}-{logical}"[: limit - len(unique) - len(suffix) - 1]
    name = f"{head}-{unique}{suffix}"
    return name.lower() if lower else name


def stack_name(text: str) -> str:
    """A valid stack name (a letter first, then letters, digits and '-') from a folder's name."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")
    return name if name[:1].isalpha() else f"stack-{name}".rstrip("-")


def declare(ctx: Context, logical: str, kind: str, props: Any) -> None:
    """Record the Ref value and attributes of one resource (names resolved now: a Ref may
    need them before the resource itself is read)."""
    r, a, stack = ctx.region, ctx.account, ctx.stack
    props = props if isinstance(props, dict) else {}

    def given(key: str) -> str | None:
        return str(resolve(props[key], ctx)) if key in props else None

    if kind == BUCKET:
        name = given("BucketName") or physical_name(stack, logical, limit=63, lower=True)
        ctx.refs[logical] = name  # "AWS::S3::Bucket", Return values: Ref: the bucket name
        ctx.atts[logical] = {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
                             "RegionalDomainName": f"{name}.s3.{r}.amazonaws.com",
                             "WebsiteURL": f"http://{name}.s3-website-{r}.amazonaws.com"}  # fmt: skip
    elif kind in (TABLE, SIMPLE_TABLE):
        name = given("TableName") or physical_name(stack, logical, limit=255)
        arn = f"arn:aws:dynamodb:{r}:{a}:table/{name}"
        ctx.refs[logical] = name  # Ref: the table name
        ctx.atts[logical] = {"Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
    elif kind == QUEUE:
        fifo = str(resolve(props.get("FifoQueue", False), ctx)).lower() == "true"
        # a FIFO queue's generated name ends in .fifo ("AWS::SQS::Queue", QueueName)
        name = given("QueueName") or physical_name(stack, logical, limit=80, suffix=".fifo" if fifo else "")
        ctx.refs[logical] = f"https://sqs.{r}.amazonaws.com/{a}/{name}"  # Ref: the queue URL
        ctx.atts[logical] = {"Arn": f"arn:aws:sqs:{r}:{a}:{name}", "QueueName": name,
                             "QueueUrl": ctx.refs[logical]}  # fmt: skip
    elif kind == TOPIC:
        fifo = str(resolve(props.get("FifoTopic", False), ctx)).lower() == "true"
        name = given("TopicName") or physical_name(stack, logical, limit=256, suffix=".fifo" if fifo else "")
        ctx.refs[logical] = f"arn:aws:sns:{r}:{a}:{name}"  # Ref: the topic ARN
        ctx.atts[logical] = {"TopicArn": ctx.refs[logical], "TopicName": name}
    elif kind == BUS:
        name = given("Name") or logical
        ctx.refs[logical] = name  # Ref: the bus name
        ctx.atts[logical] = {"Arn": f"arn:aws:events:{r}:{a}:event-bus/{name}", "Name": name}
    elif kind in FUNCTIONS:
        ctx.refs[logical] = logical  # router names a template's functions by their logical ids
        ctx.atts[logical] = {"Arn": f"arn:aws:lambda:{r}:{a}:function:{logical}"}
    else:
        ctx.refs[logical] = logical
        ctx.atts[logical] = {"Arn": f"arn:aws:cloudformation:{r}:{a}:{kind}/{logical}"}


def arn_target(value: Any, node: Any = None) -> tuple[str, str]:
    """(kind, name) of an ARN, a queue URL or a bare name: kind is function, queue, topic,
    bus, table, stream or bucket; a bare name is a function's."""
    if not isinstance(value, str):
        raise Unresolvable(f"expected an ARN or a name, got {value!r}", node)
    if value.startswith("https://sqs.") or value.startswith("http://sqs."):
        return "queue", value.rstrip("/").rsplit("/", 1)[-1]
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "function", value
    service, rest = parts[2], parts[5]
    if service == "lambda" and rest.startswith("function:"):
        return "function", rest.split(":")[1]
    if service == "sqs":
        return "queue", rest
    if service == "sns":
        return "topic", rest
    if service == "events" and rest.startswith("event-bus/"):
        return "bus", rest.removeprefix("event-bus/")
    if service == "dynamodb" and "/stream/" in rest:
        return "stream", rest.split("/")[1]
    if service == "dynamodb":
        return "table", rest.split("/")[1]
    if service == "s3":
        return "bucket", rest.split("/")[0]
    raise Unresolvable(f"{value!r} is not an ARN router can deliver to (a function, queue, topic or bus)", node)


def store_entry(ctx: Context, logical: str, kind: str, props: dict[str, Any]) -> tuple[str, str, Any]:
    """(resources section, AWS name, entry) of one bucket, table, queue, topic or bus."""
    name = ctx.atts[logical].get("QueueName") or ctx.atts[logical].get("TopicName") or ctx.refs[logical]
    if kind == BUCKET:
        return "buckets", name, None
    if kind == BUS:
        return "buses", name, None
    if kind == SIMPLE_TABLE:
        pk = resolve(props.get("PrimaryKey", {"Name": "id", "Type": "String"}), ctx)  # SAM's default key
        types = {"String": "S", "Number": "N", "Binary": "B"}
        return "tables", name, {"keys": {pk.get("Name", "id"): types.get(pk.get("Type", "String"), pk.get("Type"))},
                                "stream": None}  # fmt: skip
    if kind == TABLE:
        return "tables", name, _table(ctx, props)
    if kind == TOPIC:
        return "topics", name, {"fifo": str(resolve(props.get("FifoTopic", False), ctx)).lower() == "true"}
    return "queues", name, _queue(ctx, props)


def _table(ctx: Context, props: dict[str, Any]) -> dict[str, Any]:
    types = {d["AttributeName"]: d["AttributeType"] for d in resolve(props.get("AttributeDefinitions", []), ctx)}
    keys = _keys(resolve(props.get("KeySchema", []), ctx), types)
    stream = resolve(props.get("StreamSpecification", {}), ctx).get("StreamViewType")
    indexes = {str(i["IndexName"]): _keys(i.get("KeySchema", []), types)
               for i in resolve(props.get("GlobalSecondaryIndexes", []), ctx)}  # fmt: skip
    return {"keys": keys, "stream": stream, **({"indexes": indexes} if indexes else {})}


def _keys(schema: list[dict[str, Any]], types: dict[str, str]) -> dict[str, str]:
    """A KeySchema as router's keys: the HASH key first, each with its AttributeDefinitions type."""
    ordered = sorted(schema, key=lambda k: k.get("KeyType") != "HASH")
    return {k["AttributeName"]: types.get(k["AttributeName"], "S") for k in ordered}


def _queue(ctx: Context, props: dict[str, Any]) -> dict[str, Any]:
    p = resolve(props, ctx)
    out: dict[str, Any] = {"fifo": str(p.get("FifoQueue", False)).lower() == "true"}
    for key, ours in (("VisibilityTimeout", "visibility_timeout"), ("MessageRetentionPeriod", "message_retention"),
                      ("DelaySeconds", "delay")):  # fmt: skip
        if key in p:
            out[ours] = p[key]
    if "ContentBasedDeduplication" in p:
        out["content_based_deduplication"] = str(p["ContentBasedDeduplication"]).lower() == "true"
    redrive = p.get("RedrivePolicy")
    if isinstance(redrive, str):  # a JSON string is allowed too
        redrive = json.loads(redrive)
    if isinstance(redrive, dict) and "deadLetterTargetArn" in redrive:
        out["redrive"] = {"dead_letter": arn_target(redrive["deadLetterTargetArn"])[1]}
        if "maxReceiveCount" in redrive:
            out["redrive"]["max_receive_count"] = redrive["maxReceiveCount"]
    return out
