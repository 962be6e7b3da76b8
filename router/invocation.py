"""The record of one invocation (SPEC.md "Python API"): what the journal keeps,
what ``Router.wait`` returns and what ``router history`` shows."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "crashed", "throttled"]

# A Python handler's ``bytes`` result is ``bytes`` in ``Invocation.result`` (Lambda returns
# them as they are); in the journal's JSON (``router history``) it is {"$bytes": BASE64}.
BYTES_KEY = "$bytes"


@dataclass
class Invocation:
    id: str  # the request id
    function: str
    trigger: str | None = None  # trigger name, None for direct invokes
    source: str = "invoke"  # s3 | schedule | http | dynamodb | invoke | replay | destination | lambda-api
    event: Any = None
    result: Any = None
    error: dict[str, Any] | None = None  # the Lambda error payload when not ok
    status: Status = "ok"
    attempt: int = 1
    started_at: float = 0.0  # epoch seconds
    duration_ms: float = 0.0
    init_duration_ms: float | None = None  # set on a cold start
    logs: str = ""
    billed_duration_ms: int = 0
    max_memory_mb: int = 0
    event_id: str | None = None  # the async queue entry, when it came through the queue
    extra: dict[str, Any] = field(default_factory=dict)
    # the event as JSON, when the runtime already encoded it: to_json splices it in
    _event_json: str | None = field(default=None, init=False, repr=False, compare=False)
    # the response payload exactly as the function returned it (JSON text, or its bytes):
    # what the Invoke API and ``router invoke`` send back; not journaled
    _payload: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _content_type: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def cold(self) -> bool:
        return self.init_duration_ms is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["_event_json"], out["_payload"], out["_content_type"]
        out["ok"] = self.ok
        return out

    def to_json(self) -> str:
        """``to_dict()`` as JSON, without its deep copy (the journal's hot path: a copy of an
        HTTP event costs ten times its encoding), and with the event's JSON as the runtime
        encoded it, when it did."""
        out = {name: getattr(self, name) for name in FIELDS}
        out["ok"] = self.status == "ok"
        event_json = self._event_json
        if event_json is None:
            return json.dumps(out, default=_encode_other)
        out["event"] = None
        text = json.dumps(out, default=_encode_other)
        # the first '"event": null' is this key: the keys before it are escaped strings
        return text.replace('"event": null', '"event": ' + event_json, 1)

    def set_event_json(self, event_json: str | None) -> None:
        """Tell ``to_json`` that ``event_json`` is ``self.event`` encoded."""
        self._event_json = event_json

    def set_payload(self, payload: bytes | None, content_type: str | None = None) -> None:
        """The response payload as the runtime received it (see :attr:`payload`), and a
        streamed response's content type."""
        self._payload, self._content_type = payload, content_type

    @property
    def content_type(self) -> str | None:
        """A streaming handler's content type (``application/octet-stream`` unless it set one;
        ``HttpResponseStream.from`` sets ``application/vnd.awslambda.http-integration-response``),
        None for any other result."""
        return self._content_type

    @property
    def payload(self) -> bytes:
        """The response payload as Lambda returns it: the result's JSON exactly as the
        function's runtime wrote it (every digit of a Decimal), a bytes result as it is, or
        the error object's JSON."""
        if self._payload is not None and self.status == "ok":
            return self._payload
        if self.status == "ok" and isinstance(self.result, bytes):
            return self.result
        return json.dumps(self.result if self.status == "ok" else self.error).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Invocation:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and not k.startswith("_")}
        result = data.get("result")
        if isinstance(result, dict) and len(result) == 1 and isinstance(result.get(BYTES_KEY), str):
            data["result"] = base64.b64decode(result[BYTES_KEY])
        return cls(**data)

    def summary(self) -> str:
        what = "ok" if self.ok else f"{self.status}: {(self.error or {}).get('errorMessage', '')}"
        return f"{self.function} #{self.attempt} [{self.source}:{self.trigger or '-'}] {what}"


FIELDS = tuple(f.name for f in fields(Invocation) if not f.name.startswith("_"))  # the record's


def bytes_record(data: bytes) -> dict[str, str]:
    """How the journal's JSON keeps a bytes result (:data:`BYTES_KEY`)."""
    return {BYTES_KEY: base64.b64encode(data).decode()}


_compact = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode  # made once, not per call
_with_inf = json.JSONEncoder(separators=(",", ":")).encode
# a JSON string, or Python's non-JSON words for an infinite float (outside strings only)
_INFINITY = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity')


def encode_json(value: Any) -> str:
    """``value`` as compact JSON, as an event travels to a worker or the queue. A number too
    large for a float (``1e400``, valid JSON) was read as infinity: it is written ``1e400``
    (``-1e400``), which both runtimes read back as the clients do. ValueError for NaN,
    TypeError for what JSON cannot hold."""
    try:
        return _compact(value)
    except ValueError:
        text = _with_inf(value)
        if "NaN" in _INFINITY.sub("", text):
            raise ValueError("NaN is not JSON") from None
        return _INFINITY.sub(lambda m: m[0] if m[0][0] == '"' else m[0].replace("Infinity", "1e400"), text)


def json_value(result: Any) -> Any:
    """``result`` as a JSON reader of Lambda's response payload sees it (API Gateway, an
    event source mapping, a destination): bytes are read as JSON, else as UTF-8 text."""
    if not isinstance(result, bytes):
        return result
    try:
        return json.loads(result)
    except ValueError:
        return result.decode("utf-8", "replace")


def _encode_other(value: Any) -> Any:
    """What ``asdict`` then ``default=str`` would make of a value JSON cannot encode; bytes
    as {"$bytes": BASE64} (:data:`BYTES_KEY`). ``json.dumps(..., default=json_default)``."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, bytes):
        return bytes_record(value)
    return str(value)


json_default = _encode_other  # the JSON of a record's values (history --json, the journal)
