"""What dispatch needs of a runtime (``router.runtimes.Runtimes``, or ``FakeRuntime`` in
tests), and the step from a runtime's outcome to the journal's :class:`Invocation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..invocation import Invocation, Status
from ..types import Reservation


class OutcomeLike(Protocol):
    """``router.runtimes.Outcome``: how one invocation in one worker ended."""

    @property
    def request_id(self) -> str: ...
    @property
    def status(self) -> str: ...  # ok | error | timeout | crashed
    @property
    def result(self) -> Any: ...
    @property
    def error(self) -> dict[str, Any] | None: ...
    @property
    def logs(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def billed_duration_ms(self) -> int: ...
    @property
    def init_duration_ms(self) -> float | None: ...
    @property
    def max_memory_mb(self) -> int: ...


class RuntimesLike(Protocol):
    """``router.runtimes.Runtimes``: runs one invocation in a worker of a function, and is
    the one place that admits invocations (counts what runs and what waits)."""

    async def invoke(
        self,
        function: str,
        event: Any,
        *,
        request_id: str | None = None,
        wait: bool = True,
        client_context: dict[str, Any] | None = None,
        queue_limit: int | None = None,
        reservation: Any = None,
        event_json: str | None = None,
        identity: dict[str, Any] | None = None,
        stream: Any = None,  # a router.types.ResponseStream
    ) -> OutcomeLike: ...

    def free_slots(self, function: str) -> int: ...

    def reserve(self, function: str) -> Reservation | None: ...

    def on_release(self, callback: Callable[[], None]) -> None: ...

    def busy(self, function: str) -> int: ...


_STATUSES: tuple[Status, ...] = ("ok", "error", "timeout", "crashed", "throttled")


def to_invocation(
    outcome: OutcomeLike,
    *,
    function: str,
    trigger: str | None,
    source: str,
    event: Any,
    attempt: int = 1,
    event_id: str | None = None,
) -> Invocation:
    status = outcome.status
    if status not in _STATUSES:
        raise ValueError(f"runtime outcome for {function} has an unknown status {status!r}")
    inv = Invocation(
        id=outcome.request_id, function=function, trigger=trigger, source=source, event=event,
        result=outcome.result, error=outcome.error, status=status,
        attempt=attempt, started_at=outcome.started_at, duration_ms=outcome.duration_ms,
        init_duration_ms=outcome.init_duration_ms, logs=outcome.logs,
        billed_duration_ms=outcome.billed_duration_ms, max_memory_mb=outcome.max_memory_mb,
        event_id=event_id,
    )  # fmt: skip
    inv.set_event_json(getattr(outcome, "event_json", None))  # (fakes have none)
    inv.set_payload(getattr(outcome, "payload", None), getattr(outcome, "content_type", None))
    return inv

