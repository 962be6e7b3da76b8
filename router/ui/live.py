"""The live table's feed: finished invocations as server-sent events.

The dispatcher is subscribed to only while at least one page listens (nobody watching: no
callback on the hot path). Each listener keeps at most :data:`KEEP` rows not yet sent, newest
last, and is written at most every :data:`COALESCE` seconds, one event holding a JSON array:
a soak of 100,000 requests costs a listener a bounded buffer and a few writes a second, and
the daemon's memory stays flat however fast invocations finish.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..invocation import Invocation
from ..loops import wait_event
from .queries import summary

KEEP = 200  # rows a listener holds between two writes (the page shows the newest)
COALESCE = 0.1  # seconds between two writes to one listener
HEARTBEAT = 10.0  # seconds: a comment line, so a closed page is noticed


class Listener:
    def __init__(self) -> None:
        self.rows: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self.dropped = 0
        self.ready = asyncio.Event()

    def push(self, row: dict[str, Any]) -> None:
        if len(self.rows) == KEEP:
            self.dropped += 1
        self.rows.append(row)
        self.ready.set()


class LiveFeed:
    """Fans the dispatcher's finished invocations out to the pages listening."""

    def __init__(self, subscribe: Callable[[Callable[[Invocation], None]], Callable[[], None]]) -> None:
        self._subscribe = subscribe
        self._unsubscribe: Callable[[], None] | None = None
        self._listeners: set[Listener] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def _on_invocation(self, inv: Invocation) -> None:
        if threading.get_ident() != self._loop_thread and self._loop is not None:
            self._loop.call_soon_threadsafe(self._fan_out, summary(inv))
        else:
            self._fan_out(summary(inv))

    def _fan_out(self, row: dict[str, Any]) -> None:
        for listener in self._listeners:
            listener.push(row)

    def _open(self) -> Listener:
        listener = Listener()
        if not self._listeners:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
            self._unsubscribe = self._subscribe(self._on_invocation)
        self._listeners.add(listener)
        return listener

    def _close(self, listener: Listener) -> None:
        self._listeners.discard(listener)
        if not self._listeners and self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def stream(self) -> AsyncIterator[bytes]:
        """One page's event stream (``text/event-stream``)."""
        listener = self._open()
        try:
            yield b"retry: 2000\n: connected\n\n"
            while True:
                if not await wait_event(listener.ready, HEARTBEAT):  # (never wait_for: router/loops.py)
                    yield b": ping\n\n"
                    continue
                listener.ready.clear()
                rows, dropped = list(listener.rows), listener.dropped
                listener.rows.clear()
                listener.dropped = 0
                payload = json.dumps({"rows": rows, "dropped": dropped}, default=str)
                yield b"event: invocations\ndata: " + payload.encode() + b"\n\n"
                await asyncio.sleep(COALESCE)
        finally:
            self._close(listener)

    def close(self) -> None:
        for listener in list(self._listeners):
            self._close(listener)
