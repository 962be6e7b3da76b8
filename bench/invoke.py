"""Benchmark of the runtimes: warm invocation overhead and cold start, Python and Node.js.

    .venv/bin/python bench/invoke.py [--invocations 10000] [--cold 20] [--runtime python|node|both]

- warm: ``--invocations`` sequential invocations of a no-op handler in one warm worker; each
  is timed around ``await runtimes.invoke(...)`` (router's whole round trip: the frame out,
  the worker's dispatch and context, the reply, log framing, the Outcome). p50, p99, mean.
- cold: ``--cold`` first invocations, each by a fresh Runtimes (a new worker process): the
  Init Duration router reports (spawn to ready) and the whole first ``invoke``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from router.config import Config, parse_config
from router.runtimes import Runtimes

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip

HANDLERS = {
    "noop.py": "def handler(event, context):\n    return None\n",
    "noop.js": "exports.handler = async () => null;\n",
}
FUNCTIONS = {"python": "noop.handler", "node": "noop.handler"}


def make_config(root: Path, runtime: str) -> Config:
    name = "py_noop" if runtime == "python" else "js_noop"
    rt = "" if runtime == "python" else ", runtime: nodejs20.x"
    text = f"functions:\n  {name}: {{handler: {FUNCTIONS[runtime]}{rt}}}\n"
    return parse_config(text, "triggers.yaml", root=root)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def warm(config: Config, n: int) -> list[float]:
    name = next(iter(config.functions))
    async with AsyncExitStack() as stack:
        runtimes = Runtimes(config, env=ENV, hot_reload=False)
        await runtimes.start(stack)
        await runtimes.invoke(name, {})  # the cold one
        for _ in range(min(500, n // 10)):  # warm up the interpreters' caches
            await runtimes.invoke(name, {"k": "v"})
        samples = []
        clock = time.perf_counter
        for _ in range(n):
            t0 = clock()
            outcome = await runtimes.invoke(name, {"k": "v"})
            samples.append((clock() - t0) * 1000.0)
            if not outcome.ok:
                raise SystemExit(f"no-op failed: {outcome.error}")
        return samples


async def cold(config: Config, n: int) -> tuple[list[float], list[float]]:
    name = next(iter(config.functions))
    inits, firsts = [], []
    for _ in range(n):
        async with AsyncExitStack() as stack:
            runtimes = Runtimes(config, env=ENV, hot_reload=False)
            await runtimes.start(stack)
            t0 = time.perf_counter()
            outcome = await runtimes.invoke(name, {})
            firsts.append((time.perf_counter() - t0) * 1000.0)
            assert outcome.init_duration_ms is not None
            inits.append(outcome.init_duration_ms)
    return inits, firsts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=10_000)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--runtime", choices=["python", "node", "both"], default="both")
    args = parser.parse_args()
    runtimes = ["python", "node"] if args.runtime == "both" else [args.runtime]
    print(f"python {sys.version.split()[0]}; {args.invocations} warm invocations, {args.cold} cold starts")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for file, text in HANDLERS.items():
            (root / file).write_text(text)
        print("| runtime | warm p50 | warm p99 | warm mean | cold: Init Duration p50 | cold: first invoke p50 |")
        print("|---|---|---|---|---|---|")
        for runtime in runtimes:
            config = make_config(root, runtime)
            samples = asyncio.run(warm(config, args.invocations))
            inits, firsts = asyncio.run(cold(config, args.cold))
            print(f"| {runtime} | {percentile(samples, 0.50):.3f} ms | {percentile(samples, 0.99):.3f} ms "
                  f"| {statistics.fmean(samples):.3f} ms | {statistics.median(inits):.1f} ms "
                  f"| {statistics.median(firsts):.1f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
