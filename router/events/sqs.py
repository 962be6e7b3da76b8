"""SQS messages as Lambda's SQS event source mapping delivers them (``Records[]``).

Sources: Lambda developer guide, "Using Lambda with Amazon SQS" (the example events of a
standard and a FIFO queue: ``attributes`` with ApproximateReceiveCount, SentTimestamp,
SenderId, ApproximateFirstReceiveTimestamp, and for FIFO SequenceNumber, MessageGroupId and
MessageDeduplicationId; ``messageAttributes`` in camelCase with ``stringListValues`` and
``binaryListValues`` lists); SQS developer guide, "Calculating the MD5 message digest for
message attributes" (:func:`md5_of_attributes`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

SENDER_ID = "AIDAIT2UOQQY3AUEKVGXU"  # what a sender without an IAM identity shows (moto's default too)
_SYSTEM = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
_FIFO = ("SequenceNumber", "MessageGroupId", "MessageDeduplicationId")
_OPTIONAL = ("AWSTraceHeader", "DeadLetterQueueSourceArn")


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """SQS's MD5OfMessageAttributes of attributes in the API's shape (``DataType``,
    ``StringValue`` or ``BinaryValue``); None without attributes. Names sorted; each name, data
    type and value as a 4-byte big-endian length and its bytes, a transport byte (1 string, 2
    binary) before the value."""
    if not attributes:
        return None
    digest = hashlib.md5()

    def part(data: bytes) -> None:
        digest.update(struct.pack(">I", len(data)) + data)

    for name in sorted(attributes):
        value = attributes[name]
        part(name.encode("utf-8"))
        part(str(value["DataType"]).encode("utf-8"))
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            digest.update(b"\x02")
            binary = value["BinaryValue"]
            part(binary if isinstance(binary, bytes) else base64.b64decode(binary))
        else:
            digest.update(b"\x01")
            part(str(value.get("StringValue", "")).encode("utf-8"))
    return digest.hexdigest()


def lambda_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """One message attribute in Lambda's shape, from the API's (``DataType``, ``StringValue``
    or ``BinaryValue`` as bytes or base64)."""
    out: dict[str, Any] = {}
    if value.get("StringValue") is not None:
        out["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        binary = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    out["stringListValues"] = list(value.get("StringListValues") or [])
    out["binaryListValues"] = [base64.b64encode(b).decode() if isinstance(b, bytes) else b
                               for b in value.get("BinaryListValues") or []]  # fmt: skip
    out["dataType"] = value["DataType"]
    return out


def api_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``K=V`` pairs (or values already in the API's shape) as SendMessage's MessageAttributes:
    a number is ``Number``, bytes are ``Binary``, anything else a ``String``."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        if isinstance(value, Mapping):
            out[name] = dict(value)
        elif isinstance(value, bytes):
            out[name] = {"DataType": "Binary", "BinaryValue": value}
        elif isinstance(value, bool):
            out[name] = {"DataType": "String", "StringValue": "true" if value else "false"}
        elif isinstance(value, int | float):
            out[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            out[name] = {"DataType": "String", "StringValue": str(value)}
    return out


def from_message(message: Mapping[str, Any], *, arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message (``AttributeNames=["All"]``, ``MessageAttributeNames=["All"]``)
    as a Lambda record."""
    system = message.get("Attributes") or {}
    attributes = {k: str(system[k]) for k in _SYSTEM if k in system}
    attributes.setdefault("SenderId", SENDER_ID)
    for key in (*_FIFO, *_OPTIONAL):
        if system.get(key) is not None:
            attributes[key] = str(system[key])
    raw_attributes = message.get("MessageAttributes") or {}
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": attributes,
        "messageAttributes": {k: lambda_attribute(v) for k, v in raw_attributes.items()},
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes") or md5_of_attributes(raw_attributes),
        "md5OfBody": message.get("MD5OfBody") or md5_of_body(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def record(
    body: str, *, arn: str, region: str, message_id: str, receipt_handle: str, sent_at: float,
    attributes: Mapping[str, Any] | None = None, receive_count: int = 1, group: str | None = None,
    deduplication_id: str | None = None, sequence_number: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A record built from scratch (``router event sqs``); ``sent_at`` in epoch seconds.
    ``group`` makes it a FIFO queue's record."""
    millis = str(int(sent_at * 1000))
    system: dict[str, Any] = {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": millis,
                              "SenderId": SENDER_ID, "ApproximateFirstReceiveTimestamp": millis}  # fmt: skip
    if group is not None:
        system["SequenceNumber"] = sequence_number or f"{int(sent_at * 1000) * 10**7:020d}"
        system["MessageGroupId"] = group
        system["MessageDeduplicationId"] = deduplication_id or hashlib.sha256(body.encode()).hexdigest()
    message = {"MessageId": message_id, "ReceiptHandle": receipt_handle, "Body": body, "Attributes": system,
               "MessageAttributes": api_attributes(attributes or {})}  # fmt: skip
    return from_message(message, arn=arn, region=region)


def stand_in_sequence_number(message_id: str, sent_timestamp: str) -> str:
    """A FIFO message's SequenceNumber where the AWS did not give one (moto gives one only
    when the sender set a MessageDeduplicationId; SQS gives every FIFO message one: "a large,
    non-consecutive number ... unique per message group", SendMessage's SequenceNumber): the
    same for every receive of the message, growing with the send time. 20 digits."""
    tail = int(hashlib.md5(message_id.encode()).hexdigest(), 16) % 10**7
    return f"{int(sent_timestamp or 0) % 10**13:013d}{tail:07d}"


def event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": [dict(r) for r in records]}


def filter_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """A record as Lambda's filters see it: the body parsed when it is a JSON object ("If the
    body is valid JSON, ... filter on its keys"), else the plain string (Lambda developer guide,
    "Filtering Amazon SQS messages")."""
    body = data.get("body")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return dict(data)
        if isinstance(parsed, dict):
            return {**data, "body": parsed}
    return dict(data)
