"""The record of one invocation (SPEC.md "Python API"): what the journal keeps,
what ``Router.wait`` returns and what ``router history`` shows."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "crashed", "throttled"]


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

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def cold(self) -> bool:
        return self.init_duration_ms is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["_event_json"]
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Invocation:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**data)

    def summary(self) -> str:
        what = "ok" if self.ok else f"{self.status}: {(self.error or {}).get('errorMessage', '')}"
        return f"{self.function} #{self.attempt} [{self.source}:{self.trigger or '-'}] {what}"


FIELDS = tuple(f.name for f in fields(Invocation) if f.name != "_event_json")  # the record's


def _encode_other(value: Any) -> Any:
    """What ``asdict`` then ``default=str`` would make of a value JSON cannot encode."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)
