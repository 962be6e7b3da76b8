"""Benchmark of the durable async queue: how fast events are accepted (committed) and
completed with a no-op handler, and the latency from acceptance (``enqueue`` returned) to
the invocation's start.

    .venv/bin/python bench/async.py [--events 10000] [--runtime fake|python|both]

``fake``: the in-process FakeRuntime (the queue's own cost); ``python``: real Python workers
(router.runtimes). Phases, each on a fresh state dir:
  burst      N events enqueued concurrently by many producers (batched commits), then drained
  sequential N events, one producer awaiting each enqueue (one commit per event at best)
  paced      2,000 events, one every 2 ms (below capacity): latency from acceptance to start
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from router.clock import Clock
from router.config import Config, parse_config
from router.dispatch import Dispatcher
from router.dispatch.fakes import FakeRuntime
from router.invocation import Invocation
from router.store import Store

CONFIG = """
version: 1
settings: {{state_dir: state}}
functions:
  noop: {{handler: noop.handler, concurrency: {concurrency}, async: {{retries: 0}}}}
"""


def make_config(root: Path, concurrency: int) -> Config:
    (root / "noop.py").write_text("def handler(event, context):\n    return None\n")
    return parse_config(CONFIG.format(concurrency=concurrency), "triggers.yaml", root=root)


class Probe:
    """Acceptance and start times per event id, and completion counting."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.accepted: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.done = 0
        self.all_done = asyncio.Event()

    def on_invocation(self, inv: Invocation) -> None:
        self.started[inv.id] = inv.started_at
        self.done += 1
        if self.done >= self.n:
            self.all_done.set()

    def latencies_ms(self) -> list[float]:
        return sorted((self.started[i] - t) * 1000 for i, t in self.accepted.items() if i in self.started)


async def with_dispatcher(kind: str, concurrency: int, body: Callable[[Dispatcher], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        config = make_config(Path(tmp), concurrency)
        async with AsyncExitStack() as stack:
            runtimes: Any
            if kind == "fake":
                runtimes = FakeRuntime(lambda fn, ev: None, concurrency=concurrency)
            else:
                from router.runtimes import Runtimes

                runtimes = Runtimes(config, env={"AWS_EC2_METADATA_DISABLED": "true"})
            await runtimes.start(stack)
            dispatcher = Dispatcher(config, runtimes, Store(config.state_dir), Clock())
            await dispatcher.start(stack)
            if kind != "fake":  # warm the workers: cold starts are not the queue's cost
                await asyncio.gather(*(dispatcher.invoke("noop", {}) for _ in range(concurrency)))
            return await body(dispatcher)


async def burst(d: Dispatcher, n: int) -> dict[str, float]:
    probe = Probe(n)
    d.subscribe(probe.on_invocation)
    commits0 = d.writer.commits

    async def produce(k: int) -> None:
        for i in range(k, n, 100):
            event_id = await d.enqueue("noop", {"i": i})
            probe.accepted[event_id] = time.time()

    t0 = time.perf_counter()
    await asyncio.gather(*(produce(k) for k in range(100)))
    accepted_s = time.perf_counter() - t0
    commits = d.writer.commits - commits0
    await probe.all_done.wait()
    total_s = time.perf_counter() - t0
    return {"accepted/s": n / accepted_s, "completed/s": n / total_s, "commits": commits}


async def sequential(d: Dispatcher, n: int) -> dict[str, float]:
    probe = Probe(n)
    d.subscribe(probe.on_invocation)
    t0 = time.perf_counter()
    for i in range(n):
        event_id = await d.enqueue("noop", {"i": i})
        probe.accepted[event_id] = time.time()
    accepted_s = time.perf_counter() - t0
    await probe.all_done.wait()
    total_s = time.perf_counter() - t0
    return {"accepted/s": n / accepted_s, "completed/s": n / total_s}


async def paced(d: Dispatcher, n: int = 2000, gap: float = 0.002) -> dict[str, float]:
    probe = Probe(n)
    d.subscribe(probe.on_invocation)
    for i in range(n):
        event_id = await d.enqueue("noop", {"i": i})
        probe.accepted[event_id] = time.time()
        await asyncio.sleep(gap)
    await probe.all_done.wait()
    lat = probe.latencies_ms()
    return {"p50 ms": statistics.median(lat), "p99 ms": lat[int(len(lat) * 0.99) - 1], "max ms": lat[-1]}


def show(kind: str, phase: str, figures: dict[str, float]) -> None:
    text = "  ".join(f"{k} {v:,.0f}" if v >= 100 else f"{k} {v:.2f}" for k, v in figures.items())
    print(f"{kind:7s} {phase:11s} {text}")
    sys.stdout.flush()


async def main(events: int, kinds: list[str], concurrency: int) -> None:
    print(f"async queue, {events:,} events, no-op handler, concurrency {concurrency}")
    for kind in kinds:
        show(kind, "burst", await with_dispatcher(kind, concurrency, lambda d: burst(d, events)))
        show(kind, "sequential", await with_dispatcher(kind, concurrency, lambda d: sequential(d, events)))
        show(kind, "paced", await with_dispatcher(kind, concurrency, paced))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runtime", choices=["fake", "python", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    kinds = ["fake", "python"] if args.runtime == "both" else [args.runtime]
    asyncio.run(main(args.events, kinds, args.concurrency))
