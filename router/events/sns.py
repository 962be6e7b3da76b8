"""SNS notifications as SNS delivers them to a subscribed Lambda function (pure functions).

Sources: Lambda developer guide, "Using Lambda with Amazon SNS" (the example event:
``Records[]`` of ``EventVersion`` "1.0", ``EventSubscriptionArn``, ``EventSource``
"aws:sns" and ``Sns`` with ``Type`` "Notification", ``MessageId``, ``TopicArn``,
``Subject`` (null without one), ``Message``, ``Timestamp``, ``SignatureVersion``,
``Signature``, ``SigningCertUrl``, ``UnsubscribeUrl``, ``MessageAttributes`` of
``{Type, Value}``); SNS developer guide, "Amazon SNS message filtering" (what a filter
policy sees of the attributes: String, String.Array as its JSON array, Number as a number;
Binary attributes are not matched) and "Amazon SNS raw message delivery".
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # RFC 4122's URL namespace
SIGNING_CERT = "https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"


def topic_arn(region: str, account: str, topic: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{topic}"


def subscription_arn(topic: str, trigger: str) -> str:
    """The trigger's subscription: the topic's ARN and a UUID, the same on every run."""
    return f"{topic}:{uuid.uuid5(_NAMESPACE, f'{topic}/{trigger}')}"


def lambda_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Publish's ``MessageAttributes`` (``DataType`` with ``StringValue`` or ``BinaryValue``) in
    the Lambda event's shape ``{Type, Value}``; a binary value base64-encoded."""
    out: dict[str, dict[str, str]] = {}
    for name, a in attributes.items():
        kind = str(a.get("DataType") or a.get("Type") or "String")
        if "Value" in a:
            value = a["Value"]
        elif a.get("BinaryValue") is not None:
            binary = a["BinaryValue"]
            value = base64.b64encode(binary).decode() if isinstance(binary, bytes) else str(binary)
        else:
            value = a.get("StringValue", "")
        out[name] = {"Type": kind, "Value": str(value)}
    return out


def policy_view(attributes: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """What an attribute-scope filter policy matches: a String as text, a String.Array as its
    JSON array, a Number as a number; Binary attributes are left out."""
    out: dict[str, Any] = {}
    for name, a in attributes.items():
        kind, value = a["Type"], a["Value"]
        if kind.startswith("Number"):
            try:
                number = float(value)
                out[name] = int(number) if number.is_integer() and "." not in value else number
            except ValueError:
                continue
        elif kind.startswith("String.Array"):
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            out[name] = parsed if isinstance(parsed, list) else [parsed]
        elif kind.startswith("String"):
            out[name] = value
    return out


def body_view(message: str) -> dict[str, Any] | None:
    """What a body-scope policy matches: the message as a JSON object, or None (no match)."""
    try:
        body = json.loads(message)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def iso_millis(epoch: float) -> str:
    """``2019-01-02T12:45:07.000Z``: UTC, milliseconds, a Z."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def notification(*, message_id: str, topic: str, message: str, subject: str | None, timestamp: float,
                 attributes: Mapping[str, Mapping[str, str]], region: str,
                 subscription: str) -> dict[str, Any]:  # fmt: skip
    """The ``Sns`` object of one record (``attributes`` already in the ``{Type, Value}`` shape).
    Router signs nothing: ``Signature`` is a placeholder of the right form."""
    return {
        "Type": "Notification", "MessageId": message_id, "TopicArn": topic, "Subject": subject,
        "Message": message, "Timestamp": iso_millis(timestamp), "SignatureVersion": "1",
        "Signature": base64.b64encode(message_id.encode()).decode(),
        "SigningCertUrl": SIGNING_CERT.format(region=region),
        "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}",
        "MessageAttributes": {k: dict(v) for k, v in attributes.items()},
    }  # fmt: skip


def event(sns: Mapping[str, Any], subscription: str) -> dict[str, Any]:
    """The Lambda event: one record per notification."""
    return {"Records": [{"EventVersion": "1.0", "EventSubscriptionArn": subscription, "EventSource": "aws:sns",
                         "Sns": dict(sns)}]}  # fmt: skip
