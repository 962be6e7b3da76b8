"""The event loop router runs on: uvloop where it is installed (a dependency on Linux and
macOS), else asyncio's own. uvloop's transports and loop are written in C: under load they
cost the daemon about a fifth less CPU per HTTP request than asyncio's (bench/http.py).

``ROUTER_LOOP=asyncio`` in the environment picks asyncio's loop whatever is installed;
``ROUTER_LOOP=uvloop`` insists on uvloop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .errors import StartupError

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's ``new_event_loop``, or None (asyncio's default) when it is not installed or
    ``ROUTER_LOOP=asyncio``. Raises StartupError for another value of ``ROUTER_LOOP``, or
    ``ROUTER_LOOP=uvloop`` without uvloop."""
    choice = os.environ.get("ROUTER_LOOP", "").strip().lower()
    if choice not in ("", "uvloop", "asyncio"):
        raise StartupError(f"ROUTER_LOOP={choice!r} in the environment: use 'uvloop' or 'asyncio'")
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise StartupError("ROUTER_LOOP=uvloop in the environment, but uvloop is not installed") from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` picks."""
    try:
        factory = loop_factory()
    except StartupError:
        main.close()  # never to run: no "never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``event``: True when it is set. A cancel is never
    lost: on Python 3.11 ``asyncio.wait_for`` returns the inner result when the event fires
    in the same turn as the cancel (gh-86296, fixed in 3.12), and a poller stopped that way
    went on polling while ``Router.reset`` waited for it. ``asyncio.timeout`` runs the wait
    in the caller's own task, so the cancel is delivered at its next await."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True
