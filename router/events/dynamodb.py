"""DynamoDB Streams records as a Lambda event source mapping delivers them.

Sources: Lambda developer guide, "Using AWS Lambda with Amazon DynamoDB" (example event);
DynamoDB API reference, "StreamRecord" and "AttributeValue"; DynamoDB developer guide,
"DynamoDB item sizes and formats" (how ``SizeBytes`` adds up).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NotRequired, TypedDict, cast

AttributeValue = dict[str, Any]  # {"S": "x"}, {"N": "1"}, {"M": {...}} ...
Item = dict[str, AttributeValue]
EventName = Literal["INSERT", "MODIFY", "REMOVE"]
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
_NEW_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
_OLD_VIEWS = ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
_SHAPES: dict[str, type[Any]] = {"S": str, "N": str, "B": str, "BOOL": bool, "NULL": bool,
                                  "M": dict, "L": list, "SS": list, "NS": list, "BS": list}  # fmt: skip
TYPES = frozenset(_SHAPES)


class StreamRecord(TypedDict):
    ApproximateCreationDateTime: int
    Keys: Item
    NewImage: NotRequired[Item]
    OldImage: NotRequired[Item]
    SequenceNumber: str
    SizeBytes: int
    StreamViewType: str


class UserIdentity(TypedDict):
    type: str
    principalId: str


class DynamoDBRecord(TypedDict):
    eventID: str
    eventName: str
    eventVersion: str
    eventSource: str
    awsRegion: str
    dynamodb: StreamRecord
    eventSourceARN: str
    userIdentity: NotRequired[UserIdentity]


class DynamoDBEvent(TypedDict):
    Records: list[DynamoDBRecord]


# ---------------------------------------------------------------- attribute values


def to_attribute_value(value: Any, path: str = "value") -> AttributeValue:
    """A plain value as a typed attribute value (sets become SS/NS/BS; bytes become B).

    >>> to_attribute_value({"n": 1, "tags": {"a"}, "ok": True, "x": None})
    {'M': {'n': {'N': '1'}, 'tags': {'SS': ['a']}, 'ok': {'BOOL': True}, 'x': {'NULL': True}}}
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _number_text(value, path)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Mapping):
        return {"M": {_name(k, path): to_attribute_value(v, f"{path}.{k}") for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, set | frozenset):
        return _set(value, path)
    raise TypeError(f"{path}: a {type(value).__name__} has no DynamoDB type")


def _name(key: Any, path: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{path}: map keys must be strings, got {key!r}")
    return key


def _number_text(value: int | float | Decimal, path: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: DynamoDB numbers are finite, got {value}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{path}: DynamoDB numbers are finite, got {value}")
    return str(value)


def _set(value: set[Any] | frozenset[Any], path: str) -> AttributeValue:
    if not value:
        raise ValueError(f"{path}: DynamoDB sets cannot be empty")
    if all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in value):
        return {"NS": [_number_text(v, path) for v in sorted(value)]}
    if all(isinstance(v, bytes | bytearray) for v in value):
        return {"BS": [base64.b64encode(bytes(v)).decode() for v in sorted(value)]}
    raise TypeError(f"{path}: a set holds only strings, only numbers or only bytes")


def from_attribute_value(av: AttributeValue, path: str = "value") -> Any:
    """The plain value of a typed attribute value (N: int or float; B: bytes; sets: set)."""
    check_attribute_value(av, path)
    ((kind, raw),) = av.items()
    if kind in ("S", "BOOL"):
        return raw
    if kind == "NULL":
        return None
    if kind == "N":
        return _number(raw)
    if kind == "B":
        return base64.b64decode(raw)
    if kind == "M":
        return {k: from_attribute_value(v, f"{path}.{k}") for k, v in raw.items()}
    if kind == "L":
        return [from_attribute_value(v, f"{path}[{i}]") for i, v in enumerate(raw)]
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {_number(n) for n in raw}
    return {base64.b64decode(b) for b in raw}


def _number(text: str) -> int | float:
    if text.lstrip("-").isdigit():
        return int(text)
    return float(text)


def check_attribute_value(av: Any, path: str = "value") -> None:
    """Raise ValueError naming ``path`` unless ``av`` is a well-formed attribute value."""
    problem = _av_problem(av)
    if problem:
        raise ValueError(f"{path}: {problem}")
    ((kind, raw),) = av.items()
    if kind == "M":
        for k, v in raw.items():
            check_attribute_value(v, f"{path}.{k}")
    elif kind == "L":
        for i, v in enumerate(raw):
            check_attribute_value(v, f"{path}[{i}]")


def _av_problem(av: Any) -> str | None:
    if not isinstance(av, dict) or len(av) != 1 or next(iter(av)) not in TYPES:
        return f"expected one of {sorted(TYPES)} as the only key, got {av!r:.60}"
    kind: str = next(iter(av))
    raw: Any = av[kind]
    if type(raw) is not _SHAPES[kind]:
        return f"{kind} holds a {_SHAPES[kind].__name__}, got {raw!r:.60}"
    if kind == "NULL" and raw is not True:
        return "NULL is always true"
    if kind == "N" and not _is_number(raw):
        return f"not a number: {raw!r}"
    if kind in ("SS", "NS", "BS"):
        if not raw or not all(isinstance(x, str) for x in raw):
            return f"{kind} is a non-empty list of strings"
        if kind == "NS" and not all(_is_number(x) for x in raw):
            return "NS holds numbers written as strings"
    if kind in ("B", "BS"):
        try:
            for b in [raw] if kind == "B" else raw:
                base64.b64decode(b, validate=True)
        except ValueError:
            return f"{kind} holds base64 text"
    return None


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def to_item(plain: Mapping[str, Any], path: str = "item") -> Item:
    """A plain object as an item (a map of attribute values)."""
    return {_name(k, path): to_attribute_value(v, f"{path}.{k}") for k, v in plain.items()}


def is_typed_item(obj: Any) -> bool:
    """Whether every value of ``obj`` is already a well-formed attribute value."""
    return isinstance(obj, dict) and bool(obj) and all(_av_ok(v) for v in obj.values())


def _av_ok(av: Any) -> bool:
    try:
        check_attribute_value(av)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- sizes


def attribute_size(av: AttributeValue) -> int:
    """The value's size by "DynamoDB item sizes and formats" (the name is counted apart)."""
    ((kind, raw),) = av.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return _number_size(raw)
    if kind == "B":
        return len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":  # 3 bytes, plus 1 per element
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in raw)
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    return sum(len(base64.b64decode(b)) for b in raw)


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed)."""
    digits = Decimal(text).normalize().as_tuple().digits
    return (len(digits) + 1) // 2 + 1


def item_size(item: Mapping[str, AttributeValue]) -> int:
    return sum(len(name.encode("utf-8")) + attribute_size(av) for name, av in item.items())


# ---------------------------------------------------------------- records


def build_record(
    *,
    event_name: str,
    keys: Item,
    new_image: Item | None,
    old_image: Item | None,
    view_type: str,
    sequence_number: str,
    approximate_creation_time: float,
    event_id: str,
    region: str,
    stream_arn: str,
    size_bytes: int | None = None,
    ttl_delete: bool = False,
) -> DynamoDBRecord:
    """One Lambda record. The view type decides which images appear; ``SizeBytes`` is
    computed from the keys and images when not given."""
    _check_record(event_name, view_type, keys, new_image, old_image)
    if new_image is None or event_name == "REMOVE" or view_type not in _NEW_VIEWS:
        new_image = None
    if old_image is None or event_name == "INSERT" or view_type not in _OLD_VIEWS:
        old_image = None
    if size_bytes is None:  # the keys and the images the record carries
        size_bytes = sum(item_size(item or {}) for item in (keys, new_image, old_image))
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": int(approximate_creation_time // 1),  # whole seconds
        "Keys": keys,
        "NewImage": new_image,
        "OldImage": old_image,
        "SequenceNumber": sequence_number,
        "SizeBytes": size_bytes,
        "StreamViewType": view_type,
    }
    change = {k: v for k, v in change.items() if v is not None}
    record: DynamoDBRecord = {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": cast(StreamRecord, change),
        "eventSourceARN": stream_arn,
    }
    if ttl_delete:  # items removed by Time to Live say who removed them
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def _check_record(event_name: str, view_type: str, keys: Item, new: Item | None, old: Item | None) -> None:
    if event_name not in EVENT_NAMES:
        raise ValueError(f"unknown event name {event_name!r}; expected one of {EVENT_NAMES}")
    if view_type not in VIEW_TYPES:
        raise ValueError(f"unknown stream view type {view_type!r}; expected one of {VIEW_TYPES}")
    for label, item in (("Keys", keys), ("NewImage", new), ("OldImage", old)):
        for name, av in (item or {}).items():
            check_attribute_value(av, f"{label}.{name}")
    check_keys(keys)


def check_keys(keys: Mapping[str, AttributeValue]) -> None:
    """A primary key: one or two attributes, each a string, a number or binary."""
    if not 1 <= len(keys) <= 2:
        raise ValueError(f"Keys: a primary key has one or two attributes, got {len(keys)}")
    for name, av in keys.items():
        if next(iter(av)) not in ("S", "N", "B"):
            raise ValueError(f"Keys.{name}: a key attribute is of type S, N or B, got {next(iter(av))}")


def build_event(records: Iterable[DynamoDBRecord]) -> DynamoDBEvent:
    return {"Records": list(records)}


def normalize_record(
    record: Mapping[str, Any],
    *,
    region: str,
    stream_arn: str,
    view_type: str | None = None,
    keep_size: bool = False,
) -> DynamoDBRecord:
    """A GetRecords record (boto3's, moto's or the raw JSON) as Lambda delivers it.

    moto answers eventVersion "1.0", region us-east-1, no eventSourceARN and a SizeBytes of
    its own (the length of its JSON), so ``SizeBytes`` is computed again by AWS's rules
    unless ``keep_size`` (a record from real AWS). boto3 gives ``ApproximateCreationDateTime``
    as a datetime and binary values as bytes.
    """
    change = record.get("dynamodb") or {}
    created = change.get("ApproximateCreationDateTime", 0)
    if isinstance(created, datetime):
        created = created.replace(tzinfo=created.tzinfo or UTC).timestamp()
    user = record.get("userIdentity") or {}
    return build_record(
        event_name=record["eventName"],
        keys=_plain_json(change.get("Keys") or {}),
        new_image=_plain_json(change["NewImage"]) if "NewImage" in change else None,
        old_image=_plain_json(change["OldImage"]) if "OldImage" in change else None,
        view_type=view_type or change.get("StreamViewType") or "NEW_AND_OLD_IMAGES",
        sequence_number=str(change.get("SequenceNumber", "")),
        approximate_creation_time=float(created),
        event_id=str(record.get("eventID", "")),
        region=region,
        stream_arn=stream_arn,
        size_bytes=change.get("SizeBytes") if keep_size else None,
        ttl_delete=user.get("principalId") == "dynamodb.amazonaws.com",
    )


def _plain_json(item: Mapping[str, Any]) -> Item:
    """Attribute values with boto3's bytes turned back into base64 text."""
    return {k: _b64_av(v) for k, v in item.items()}


def _b64_av(av: Mapping[str, Any]) -> AttributeValue:
    ((kind, raw),) = av.items()
    if kind == "B" and isinstance(raw, bytes | bytearray):
        return {"B": base64.b64encode(bytes(raw)).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(bytes(b)).decode() if isinstance(b, bytes | bytearray)
                       else b for b in raw]}  # fmt: skip
    if kind == "M":
        return {"M": _plain_json(raw)}
    if kind == "L":
        return {"L": [_b64_av(v) for v in raw]}
    return {kind: raw}


def stream_arn(region: str, account: str, table: str, label: str) -> str:
    """``arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/stream/LABEL``."""
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}/stream/{label}"


def stream_label(time: float) -> str:
    """A stream label as DynamoDB makes them: the creation time, ``2015-06-27T00:48:05.899``."""
    d = datetime.fromtimestamp(time, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}"


def make_sequence_number(counter: int) -> str:
    """A sequence number (21 to 40 digits) that grows with ``counter``."""
    if counter < 0:
        raise ValueError("the sequence counter must be >= 0")
    return f"{counter:021d}"
