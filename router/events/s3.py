"""Amazon S3 event notifications (event message structure version 2.1), as Lambda gets them.

Source: Amazon S3 user guide, "Event message structure" and "Supported event types";
Lambda developer guide, "Process Amazon S3 event notifications with Lambda".
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NotRequired, TypedDict

# A record's eventName is the event type without its "s3:" prefix.
CREATED = ("ObjectCreated:Put", "ObjectCreated:Post", "ObjectCreated:Copy",
           "ObjectCreated:CompleteMultipartUpload")  # fmt: skip
REMOVED = ("ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated")
EVENT_NAMES = CREATED + REMOVED
# What a notification configuration may list: every name above with "s3:", plus wildcards.
EVENT_TYPES = (*(f"s3:{n}" for n in EVENT_NAMES), "s3:ObjectCreated:*", "s3:ObjectRemoved:*")

# Bytes an object key keeps as they are; a space becomes '+', anything else %XX (UTF-8).
_KEEP = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.*/")


class _Identity(TypedDict):
    principalId: str


class _RequestParameters(TypedDict):
    sourceIPAddress: str


_ResponseElements = TypedDict("_ResponseElements", {"x-amz-request-id": str, "x-amz-id-2": str})


class _Bucket(TypedDict):
    name: str
    ownerIdentity: _Identity
    arn: str


class _Object(TypedDict):
    key: str
    size: NotRequired[int]
    eTag: NotRequired[str]
    versionId: NotRequired[str]
    sequencer: str


class _S3(TypedDict):
    s3SchemaVersion: str
    configurationId: str
    bucket: _Bucket
    object: _Object


class S3Record(TypedDict):
    eventVersion: str
    eventSource: str
    awsRegion: str
    eventTime: str
    eventName: str
    userIdentity: _Identity
    requestParameters: _RequestParameters
    responseElements: _ResponseElements
    s3: _S3


class S3Event(TypedDict):
    Records: list[S3Record]


def build_record(
    *,
    event_name: str,
    bucket: str,
    key: str,
    size: int | None,
    etag: str | None,
    sequencer: str,
    configuration_id: str,
    region: str,
    event_time: float,
    request_id: str,
    host_id: str,
    version_id: str | None = None,
    source_ip: str = "127.0.0.1",
    principal_id: str = "EXAMPLE",
    owner_id: str | None = None,
) -> S3Record:
    """One notification record. ``key`` is the plain object key (it is encoded here).

    Removal records carry no size and no eTag, as S3 sends them; creation records need both.
    ``principal_id`` is who made the request, ``owner_id`` the bucket owner (default: the same).
    """
    event_name = event_name.removeprefix("s3:")
    if event_name not in EVENT_NAMES:
        raise ValueError(f"unknown S3 event name {event_name!r}; expected one of {EVENT_NAMES}")
    obj: _Object = {"key": encode_key(key), "sequencer": sequencer}
    if event_name in CREATED:
        if size is None or size < 0 or etag is None:
            raise ValueError(f"{event_name} needs the object's size (>= 0) and eTag")
        obj = {"key": obj["key"], "size": size, "eTag": etag, "sequencer": sequencer}
    if version_id is not None:  # only for a versioning-enabled bucket
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time_text(event_time),
        "eventName": event_name,
        "userIdentity": {"principalId": principal_id},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": owner_id or principal_id},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def build_event(records: Iterable[S3Record]) -> S3Event:
    return {"Records": list(records)}


def encode_key(key: str) -> str:
    """The key as S3 puts it in a notification: form-URL-encoded, '/' kept.

    >>> encode_key("images/red flower (1).jpg")
    'images/red+flower+%281%29.jpg'
    """
    out = []
    for byte in key.encode("utf-8"):
        if byte in _KEEP:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def matches(event_name: str, patterns: Sequence[str]) -> bool:
    """Whether a record's ``eventName`` is selected by a configuration's event types.

    >>> matches("ObjectCreated:Put", ["s3:ObjectCreated:*"])
    True
    >>> matches("ObjectRemoved:Delete", ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"])
    True
    """
    name = event_name.removeprefix("s3:")
    for pattern in patterns:
        p = pattern.removeprefix("s3:")
        if p == name or (p.endswith(":*") and name.startswith(p[:-1])):
            return True
    return False


def event_time_text(time: float) -> str:
    """ISO-8601 in UTC with milliseconds: ``2019-09-03T19:37:27.192Z``."""
    d = datetime.fromtimestamp(time, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def make_sequencer(counter: int, time: float = 0.0) -> str:
    """An 18-digit hex sequencer that grows with ``time`` (ms) and then ``counter``.

    S3 compares sequencers of the same key as hex strings of equal length: later is larger.
    """
    if counter < 0:
        raise ValueError("the sequencer counter must be >= 0")
    ms = int(time * 1000)
    if not 0 <= ms < 16**11:  # 11 hex digits of milliseconds: up to the year 2527
        raise ValueError(f"the sequencer time must be within 1970..2527, got {time}")
    return f"{ms:011X}{counter % 0x10000000:07X}"


def make_ids(seed: bytes) -> tuple[str, str]:
    """A request id (16 upper-case hex) and a host id (``x-amz-id-2``) derived from ``seed``."""
    digest = hashlib.sha512(seed).digest()
    return digest[:8].hex().upper(), base64.b64encode(digest[8:65]).decode()


def etag(data: bytes) -> str:
    """The eTag of a single-part upload: the MD5 of the bytes, in hex."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
