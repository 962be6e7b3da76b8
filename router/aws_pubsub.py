"""SNS Publish and EventBridge PutEvents through the embedded AWS, as facts for triggers.

The mechanism of :mod:`router.aws_notify`: moto's model functions are wrapped once per
process (moto still does all it did: an SNS topic's SQS subscriptions get the message, raw or
not, as moto delivers them) and every publish is handed to the listeners after it:

- ``moto.sns.models.Topic.publish``: Publish and each entry of PublishBatch, once validated
  (moto's own Lambda delivery needs a Lambda subscription, which router never makes);
- ``EventsBackend.put_events``: each entry is first checked as EventBridge checks it
  (:func:`router.events.eventbridge.entry_error`: a malformed or oversized entry fails alone,
  with its ``ErrorCode``), the others go to moto (its rules and targets) and then to the
  listeners, in the entries' order with moto's ``EventId``.

Listeners run on the request's thread, before the response is sent. Also: the config's topics
and buses created at start (:func:`create`) and async destinations sent to them (:func:`send`).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import Config, aws_topic_name
from .events import eventbridge, sns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One message published to a topic."""

    account: str
    region: str
    topic_arn: str
    message_id: str
    message: str  # what an email/lambda subscriber gets (MessageStructure json resolved)
    subject: str | None
    attributes: dict[str, dict[str, str]]  # the Lambda event's {Type, Value} shape
    timestamp: float
    group_id: str | None = None
    key: str | None = None  # the access key id the Publish was signed with (router.lineage: which function)


@dataclass(frozen=True)
class BusEvent:
    """One entry PutEvents accepted, as the EventBridge event."""

    account: str
    region: str
    bus: str
    event: dict[str, Any]
    ingestion_time: str


Fact = Notification | BusEvent
Listener = Callable[[list[Fact]], None]  # the facts of one call (a PutEvents call's accepted entries)
_listeners: list[Listener] = []
_lock = threading.Lock()
_installed = False


def listen(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` for every publish, and with the accepted entries of every PutEvents call,
    in this process; returns the function that removes it."""
    install()
    with _lock:
        _listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


def _tell(facts: list[Fact]) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(facts)
        except Exception:  # a delivery problem must not fail the client's request
            log.exception("could not deliver %s", facts)


def _tell_safely(facts: Callable[[], list[Fact]]) -> None:
    """The facts of a call the client has made: a problem building them is logged, never the
    client's (moto has done what was asked)."""
    try:
        built = facts()
    except Exception:
        log.exception("could not read a publish for its triggers")
        return
    _tell(built)


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.events.models import EventsBackend
        from moto.sns.models import Topic

        Topic.publish = _wrap_publish(Topic.publish)  # type: ignore[method-assign]
        EventsBackend.put_events = _wrap_put_events(EventsBackend.put_events)  # type: ignore[method-assign]
        _installed = True


def _wrap_publish(original: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(original)
    def publish(self: Any, message: str, subject: str | None = None, message_attributes: Any = None,
                group_id: str | None = None, *args: Any, **kwargs: Any) -> str:  # fmt: skip
        message_id = original(self, message, subject, message_attributes, group_id, *args, **kwargs)
        structure = kwargs.get("message_structure", args[1] if len(args) > 1 else None)
        if _listeners:
            _tell_safely(lambda: [Notification(
                account=str(self.account_id), region=str(self.sns_backend.region_name), topic_arn=str(self.arn),
                message_id=message_id, message=_lambda_message(message, structure), subject=subject,
                attributes=sns.lambda_attributes(message_attributes or {}), timestamp=time.time(), group_id=group_id,
                key=_request_key(),
            )])  # fmt: skip
        return message_id

    return publish


def _request_key() -> str | None:
    """The key id of the embedded server's request this thread serves (aws_notify marks it)."""
    from . import aws_notify

    return getattr(aws_notify._current(), "key", None)


def _lambda_message(message: str, structure: str | None) -> str:
    """MessageStructure json: a Lambda subscriber gets the ``lambda`` entry, else ``default``
    (SNS API reference, "Publish": MessageStructure)."""
    if structure != "json":
        return message
    try:
        parts = json.loads(message)
        return str(parts.get("lambda", parts["default"]))
    except (ValueError, KeyError, AttributeError):
        return message


def _wrap_put_events(original: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
    @functools.wraps(original)
    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > eventbridge.MAX_ENTRIES:
            return original(self, events)  # moto refuses the whole call, as EventBridge does
        errors = [eventbridge.entry_error(e) for e in events]
        good = [e for e, err in zip(events, errors, strict=True) if err is None]
        answers = iter(original(self, good) if good else [])
        results = [err if err is not None else next(answers) for err in errors]
        if _listeners:
            now = time.time()
            _tell_safely(lambda: [_bus_event(self, entry, result["EventId"], now)
                                  for entry, result in zip(events, results, strict=True) if "EventId" in result])
        return results

    return put_events


def _bus_event(backend: Any, entry: dict[str, Any], event_id: str, now: float) -> BusEvent:
    bus = str(entry.get("EventBusName") or "default").split("/")[-1]
    stamp = _epoch(entry.get("Time"), now)
    event = eventbridge.event(
        event_id=event_id, source=str(entry["Source"]), detail_type=str(entry["DetailType"]),
        detail=json.loads(str(entry["Detail"])), account=str(backend.account_id), region=str(backend.region_name),
        time=eventbridge.iso_seconds(stamp), resources=list(entry.get("Resources") or []),
    )  # fmt: skip
    return BusEvent(str(backend.account_id), str(backend.region_name), bus, event, eventbridge.iso_seconds(now))


def _epoch(when: Any, default: float) -> float:
    """PutEvents' ``Time`` (epoch seconds on the wire; a datetime from an in-process caller)."""
    try:
        return float(when.timestamp() if hasattr(when, "timestamp") else when) if when is not None else default
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------------------- resources


def create(config: Config, client: Callable[[str], Any], *, fresh: bool = False) -> None:
    """The config's topics and buses (an existing bus is kept). ``fresh`` (the embedded AWS): a
    topic left by another router of this process is made anew, without its subscriptions (an
    SQS subscription of a queue since deleted would fail every Publish)."""
    topics, buses = config.resources.topics, [b for b in config.resources.buses if b != "default"]
    if topics:
        sns_client = client("sns")
        s = config.settings
        have = {t["TopicArn"] for page in sns_client.get_paginator("list_topics").paginate() for t in page["Topics"]}
        for name, t in topics.items():
            arn = sns.topic_arn(s.region, s.account, aws_topic_name(name, t.fifo))
            if fresh and arn in have:
                sns_client.delete_topic(TopicArn=arn)
            attributes = {"FifoTopic": "true"} if t.fifo else {}
            sns_client.create_topic(Name=aws_topic_name(name, t.fifo), Attributes=attributes)
    if buses:
        events = client("events")
        have = {b["Name"] for b in events.list_event_buses().get("EventBuses", [])}
        for bus in buses:
            if bus not in have:
                events.create_event_bus(Name=bus)


DESTINATION_LIMIT = 256 * 1024


def _fit(record: dict[str, Any]) -> str:
    """The record as JSON; over 256 KB without its payloads ("Amazon SNS destinations have a message
    size limit of 256 KB. If the combined size of the function request and response payload
    exceeds the limit, Lambda will drop the payload": Lambda API reference, "OnSuccess"; a
    PutEvents entry has the same limit)."""
    text = json.dumps(record)
    if len(text.encode("utf-8")) <= DESTINATION_LIMIT:
        return text
    return json.dumps({k: v for k, v in record.items() if k not in ("requestPayload", "responsePayload")})


def send(config: Config, client: Callable[[str], Any], kind: str, name: str, payload: dict[str, Any]) -> None:
    """An async destination's delivery: a topic gets the record as the message (Lambda developer
    guide, "Capturing records of Lambda asynchronous invocations": SNS destination), a bus gets
    ``payload`` as an event (already the destination event: source "lambda")."""
    s = config.settings
    if kind == "topic":
        found = next((aws_topic_name(k, t.fifo) for k, t in config.resources.topics.items()
                      if name in (k, aws_topic_name(k, t.fifo))), name)  # fmt: skip
        client("sns").publish(TopicArn=sns.topic_arn(s.region, s.account, found), Message=_fit(payload))
        return
    answer = client("events").put_events(Entries=[{
        "Source": payload["source"], "DetailType": payload["detail-type"], "Detail": _fit(payload["detail"]),
        "Resources": payload["resources"], "EventBusName": name,
    }])  # fmt: skip
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"PutEvents refused the record: {answer['Entries'][0]}")


# ---------------------------------------------------------------------------- the Python API's calls


def message_attributes(attributes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Keyword arguments as Publish's MessageAttributes: a number is a Number, bytes Binary, a
    list or tuple a String.Array (its JSON), anything else a String."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        if isinstance(value, bool) or not isinstance(value, int | float | bytes | list | tuple):
            out[name] = {"DataType": "String", "StringValue": str(value).lower() if isinstance(value, bool) else
                         str(value)}  # fmt: skip
        elif isinstance(value, bytes):
            out[name] = {"DataType": "Binary", "BinaryValue": value}
        elif isinstance(value, list | tuple):
            out[name] = {"DataType": "String.Array", "StringValue": json.dumps(list(value))}
        else:
            out[name] = {"DataType": "Number", "StringValue": str(value)}
    return out


def publish(config: Config, client: Callable[[str], Any], topic: str, message: Any, *, subject: str | None = None,
            attributes: dict[str, Any] | None = None, group_id: str | None = None) -> str:  # fmt: skip
    """Publish to a topic (``resources.topics`` key or AWS name); the MessageId. A message that
    is not a string is sent as JSON."""
    s = config.settings
    name = next((aws_topic_name(k, t.fifo) for k, t in config.resources.topics.items()
                 if topic in (k, aws_topic_name(k, t.fifo))), topic)  # fmt: skip
    kwargs: dict[str, Any] = {"TopicArn": sns.topic_arn(s.region, s.account, name),
                              "Message": message if isinstance(message, str) else json.dumps(message)}  # fmt: skip
    if subject is not None:
        kwargs["Subject"] = subject
    if attributes:
        kwargs["MessageAttributes"] = message_attributes(attributes)
    if group_id is not None:
        kwargs["MessageGroupId"] = group_id
    return str(client("sns").publish(**kwargs)["MessageId"])


def put_event(client: Callable[[str], Any], source: str, detail_type: str, detail: Any, bus: str = "default",
              resources: list[str] | None = None) -> str:  # fmt: skip
    """PutEvents of one entry; its EventId, or ValueError with the entry's ErrorCode."""
    entry = {"Source": source, "DetailType": detail_type, "EventBusName": bus, "Resources": list(resources or []),
             "Detail": detail if isinstance(detail, str) else json.dumps(detail)}  # fmt: skip
    result = client("events").put_events(Entries=[entry])["Entries"][0]
    if "EventId" not in result:
        raise ValueError(f"PutEvents refused the entry: {result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return str(result["EventId"])
