"""What a source is handed (as an ASGI app is handed ``send``), and what it must offer.

A source turns facts (a file written, a tick, a request, stream records) into AWS payloads
with the pure builders of :mod:`router.events`, and hands them on through the context's
emit callables; it never imports dispatch or runtimes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..clock import Clock
from ..config import Config, TriggerConfig
from ..invocation import Invocation

if TYPE_CHECKING:
    from ..aws import Aws
    from ..store import Store


@dataclass
class SourceContext:
    config: Config
    aws: Aws
    store: Store
    clock: Clock
    loop: asyncio.AbstractEventLoop
    # durable async invocation: returns the event id once the event is committed
    emit_async: Callable[[TriggerConfig, Any], Awaitable[str]]
    # the same from a thread that is not the loop's (watchdog): blocks until committed
    emit_async_threadsafe: Callable[[TriggerConfig, Any], str]
    # synchronous invocation (HTTP requests, stream batches): the finished invocation
    # (trigger, event, *, attempt=1): attempt numbers a stream batch's retries in the journal
    invoke: Callable[..., Awaitable[Invocation]]
    # journal an invocation a source-owned policy made (stream mappings)
    record: Callable[[Invocation], None]
    # free worker slots of a function (HTTP's bounded wait queue)
    free_slots: Callable[[str], int]
    # whether an async event (by the id emit_async returned) has not ended yet (max_concurrent)
    event_pending: Callable[[str], bool] | None = None


class Source(Protocol):
    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None: ...

    async def start(self, stack: AsyncExitStack) -> None: ...

    def describe(self) -> list[str]:
        """Lines for the ``router run`` banner."""
        ...
