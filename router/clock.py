"""Time as a dependency: the system clock, and a manual one tests advance by hand.

Everything in router that waits (schedules, retry delays, batching windows, max ages)
asks its clock, so ``Router(..., clock="manual")`` with ``advance(seconds)`` never waits.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time


class Clock:
    """The real clock."""

    manual = False

    def time(self) -> float:
        """Epoch seconds."""
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock(Clock):
    """A clock that moves only when told. ``sleep`` waits until ``advance`` passes it."""

    manual = True

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._start = self._now
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._now

    def reset(self) -> None:
        """Back to the time it started at (``Router.reset``); sleepers keep what they had left."""
        self._sleepers = [(deadline - self._mono, seq, fut) for deadline, seq, fut in self._sleepers
                          if not fut.done()]  # fmt: skip
        heapq.heapify(self._sleepers)
        self._now, self._mono = self._start, 0.0

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), fut))
        await fut

    async def advance(self, seconds: float, settle: float = 0.02) -> None:
        """Move time forward on the event loop's thread, waking each sleeper in deadline
        order and letting the loop run in between, so a timer that re-arms itself
        (a rate(1 minute) schedule, a retry delay) fires once per period passed."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            self._now += deadline - self._mono
            self._mono = deadline
            if not fut.done():
                fut.set_result(None)
            await asyncio.sleep(settle)  # let the woken task run and re-arm
        self._now += target - self._mono
        self._mono = target
        await asyncio.sleep(settle)
