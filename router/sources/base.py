"""What a source is handed, and what it must offer.

A source turns facts (a file written, a tick, a request, stream records) into AWS payloads
with the pure builders of :mod:`router.events` and hands them to ``ctx.dispatch`` (the seam,
:class:`router.types.Dispatch`); it never imports dispatch or runtimes, and keeps no policy.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..clock import Clock
from ..config import Config, TriggerConfig
from ..types import Dispatch, Ids, RandomIds

if TYPE_CHECKING:
    from ..aws import Aws
    from ..store import Store


@dataclass
class SourceContext:
    config: Config
    clock: Clock
    aws: Aws
    store: Store
    dispatch: Dispatch
    ids: Ids = field(default_factory=RandomIds)


class Source(Protocol):
    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None: ...

    async def start(self, stack: AsyncExitStack) -> None: ...

    def describe(self) -> list[str]:
        """Lines for the ``router run`` banner."""
        ...
