"""What the overview shows of the running app's triggers and of the embedded AWS, and the
dashboard's writes to the embedded AWS (SQS send, SNS publish, EventBridge put-events).

AWS calls go through the app's boto3 clients (:meth:`router.aws.Aws.client`), on a thread
(the caller's ``asyncio.to_thread``); a resource that cannot be read shows its error and
the others still show.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from ..errors import UsageError

log = logging.getLogger(__name__)

COUNT_CAP = 1000  # objects counted per bucket (one ListObjectsV2 page)


def triggers(app: Any) -> list[dict[str, Any]]:
    """Every trigger of the config with what its source says of it now."""
    out = []
    for t in app.config.triggers:
        entry: dict[str, Any] = {"name": t.name, "kind": t.kind, "function": t.function, "enabled": t.enabled}
        source = app.sources.get(t.kind)
        try:
            entry.update(_detail(t, source))
        except Exception as exc:  # a source mid-restart (a live edit): the rest still shows
            entry["problem"] = str(exc)
        out.append(entry)
    return out


def _detail(t: Any, source: Any) -> dict[str, Any]:
    if t.kind == "http" and t.http is not None:
        urls = []
        if source is not None:
            urls = [url for route, url in zip(source.table.routes, source.urls(), strict=True)
                    if route.target.trigger.name == t.name]  # fmt: skip
        return {"route": t.http.route, "payload": t.http.payload, "urls": urls}
    if t.kind == "s3" and t.s3 is not None:
        folder = str(source.folder(t.name)) if source is not None and t.name in getattr(source, "targets", {}) else None
        return {"bucket": t.s3.bucket or (t.s3.dir or "").rstrip("/").split("/")[-1], "folder": folder,
                "events": list(t.s3.events), "prefix": t.s3.prefix, "suffix": t.s3.suffix}  # fmt: skip
    if t.kind == "schedule" and t.schedule is not None:
        nxt: datetime | None = None
        if source is not None and t.name in source.schedules:
            nxt = source.next_fire(t.name)
        return {"expression": t.schedule.expression, "timezone": t.schedule.timezone,
                "next_fire": nxt.isoformat() if nxt else None, "input": t.schedule.input}  # fmt: skip
    if source is not None and hasattr(source, "mappings"):
        for m in source.mappings():
            if m.get("trigger") == t.name:
                return {"mapping": m}
    return {}


def aws_resources(app: Any) -> dict[str, Any]:
    """The config's buckets, tables and queues (topics, buses where the config has them), each
    with a count; ``{"endpoint": None}`` with no AWS endpoint."""
    aws = app.aws
    if aws is None:
        return {"endpoint": None}
    res = app.config.resources
    out: dict[str, Any] = {"endpoint": aws.endpoint_url, "mode": aws.mode, "buckets": [], "tables": [], "queues": []}
    for bucket in aws.bucket_names():
        out["buckets"].append(_count(bucket, lambda b: _objects(aws, b)))
    for table in res.tables:
        out["tables"].append(_count(table, lambda n: aws.client("dynamodb").scan(TableName=n, Select="COUNT")["Count"]))
    for name, q in getattr(res, "queues", {}).items():
        out["queues"].append(_count(name, lambda n, q=q: _messages(aws, _queue_name(n, q))))
    s = app.config.settings
    for name in getattr(res, "topics", {}) or {}:
        arn = f"arn:aws:sns:{s.region}:{s.account}:{name}"
        out.setdefault("topics", []).append(_count(name, lambda n, arn=arn: len(
            aws.client("sns").list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", []))))  # fmt: skip
    for name in ["default", *(getattr(res, "buses", []) or [])]:
        out.setdefault("buses", []).append(_count(name, lambda n: len(
            aws.client("events").list_rules(EventBusName=n).get("Rules", []))))  # fmt: skip
    return out


def _count(name: str, fn: Any) -> dict[str, Any]:
    try:
        return {"name": name, "count": fn(name)}
    except Exception as exc:
        return {"name": name, "count": None, "problem": f"{type(exc).__name__}: {exc}"}


def _objects(aws: Any, bucket: str) -> int | str:
    page = aws.client("s3").list_objects_v2(Bucket=bucket, MaxKeys=COUNT_CAP)
    return f"{COUNT_CAP}+" if page.get("IsTruncated") else int(page.get("KeyCount", 0))


def _messages(aws: Any, name: str) -> int:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))


def _queue_name(name: str, q: Any) -> str:
    fifo = bool(getattr(q, "fifo", False))
    return name if not fifo or name.endswith(".fifo") else f"{name}.fifo"


def _need(app: Any, kind: str, name: str, have: Any) -> None:
    if app.aws is None:
        raise UsageError("the dashboard's router has no AWS endpoint")
    if name not in (have or {}):
        listed = ", ".join(have or {}) or "none"
        raise UsageError(f"no {kind} {name!r} in {app.config.path.name} (resources.{kind}s: {listed})")


def send_message(app: Any, queue: str, body: str) -> dict[str, Any]:
    """SQS SendMessage to a queue of the config (a FIFO queue: one message group, the body's
    hash as deduplication id)."""
    queues = getattr(app.config.resources, "queues", {})
    _need(app, "queue", queue, queues)
    q = queues[queue]
    sqs = app.aws.client("sqs")
    url = sqs.get_queue_url(QueueName=_queue_name(queue, q))["QueueUrl"]
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
    if getattr(q, "fifo", False):
        # SQS: a FIFO message needs MessageGroupId; MessageDeduplicationId unless content-based (SendMessage API)
        kwargs["MessageGroupId"] = "dashboard"
        if not getattr(q, "content_based_deduplication", False):
            kwargs["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
    answer = sqs.send_message(**kwargs)
    return {"queue": queue, "message_id": answer.get("MessageId")}


def publish(app: Any, topic: str, message: str) -> dict[str, Any]:
    topics = getattr(app.config.resources, "topics", None)
    _need(app, "topic", topic, topics)
    s = app.config.settings
    arn = f"arn:aws:sns:{s.region}:{s.account}:{topic}"
    answer = app.aws.client("sns").publish(TopicArn=arn, Message=message)
    return {"topic": topic, "message_id": answer.get("MessageId")}


def put_event(app: Any, bus: str, source: str, detail_type: str, detail: str) -> dict[str, Any]:
    buses = dict.fromkeys(getattr(app.config.resources, "buses", None) or {})
    buses.setdefault("default")
    _need(app, "bus", bus, buses)
    entry = {"Source": source, "DetailType": detail_type, "Detail": detail, "EventBusName": bus}
    answer = app.aws.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        raise UsageError(f"put-events failed: {answer['Entries'][0].get('ErrorMessage')}")
    return {"bus": bus, "event_id": answer["Entries"][0].get("EventId")}
