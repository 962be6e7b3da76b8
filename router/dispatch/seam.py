"""The dispatcher as sources see it: :class:`router.types.Dispatch` over a
:class:`~router.dispatch.dispatcher.Dispatcher` (a trigger names the function, the journal's
trigger name and source kind)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import TriggerConfig
from ..invocation import Invocation
from ..types import QueueIO, QueueMapping, ResponseStream, StreamMapping

if TYPE_CHECKING:
    from .dispatcher import Dispatcher


class SourceDispatch:
    """One object per router, handed to every source."""

    __slots__ = ("_d",)

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._d = dispatcher

    async def submit(self, trigger: TriggerConfig, event: Any) -> str:
        return await self._d.enqueue(trigger.function, event, trigger=trigger.name, source=trigger.kind)

    def submit_threadsafe(self, trigger: TriggerConfig, event: Any, *, cause: dict[str, Any] | None = None) -> str:
        return self._d.enqueue_threadsafe(trigger.function, event, trigger=trigger.name, source=trigger.kind,
                                          cause=cause)  # fmt: skip

    async def invoke(
        self, trigger: TriggerConfig, event: Any, *, give_up_after: float | None = None,
        on_give_up: Callable[[], bool] | None = None, queue_factor: int | None = None,
        stream: ResponseStream | None = None,
    ) -> Invocation:  # fmt: skip
        limit = None
        if queue_factor is not None:
            limit = queue_factor * self._d.config.functions[trigger.function].concurrency
        return await self._d.invoke(trigger.function, event, trigger=trigger.name, source=trigger.kind,
                                    queue_limit=limit, give_up_after=give_up_after, on_give_up=on_give_up,
                                    stream=stream)  # fmt: skip

    async def open_stream(self, trigger: TriggerConfig, source_arn: str) -> StreamMapping:
        return await self._d.open_stream(trigger, source_arn)

    async def open_queue(self, trigger: TriggerConfig, queue_arn: str, io: QueueIO, *, fifo: bool) -> QueueMapping:
        return await self._d.open_queue(trigger, queue_arn, io, fifo=fifo)

    def event_pending(self, event_id: str) -> bool:
        return self._d.event_pending(event_id)
