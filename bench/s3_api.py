"""Benchmark of S3 notifications from SDK writes: ``put_object`` calls through the embedded AWS
into a bucket with an ``s3`` trigger, to the start of the invocation each one causes (a real
Router: embedded moto server, durable queue, warm Python workers running a no-op handler).

    .venv/bin/python bench/s3_api.py [--puts 1000] [--concurrency 4]

One boto3 client puts ``--puts`` objects (distinct keys) as fast as it can, one after the
other. Printed: puts/s made, events/s delivered (first put to the last invocation's start),
the latency from each put returning to its invocation's start (the runtime's ``started_at``;
negative when the handler started before the client had read the response: the event is
committed before S3 answers), and lost/duplicated invocations (must be 0/0).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/http.py would shadow the standard library's http package that router imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from router import Router  # noqa: E402

CONFIG = """
version: 1
settings: {{state_dir: {state}, aws: {{port: 0}}}}
functions:
  noop: {{handler: noop.handler, concurrency: {concurrency}, async: {{retries: 0}}}}
triggers:
  - name: bench
    function: noop
    s3: {{bucket: bench}}
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(r: Router, n: int, prefix: str) -> dict[str, float]:
    s3 = r.aws.client("s3")
    returned: dict[str, float] = {}
    t0 = time.time()
    for i in range(n):
        key = f"{prefix}/{i:06d}.bin"
        s3.put_object(Bucket="bench", Key=key, Body=b"x" * 64)
        returned[key] = time.time()
    put_s = n / (time.time() - t0)
    invs = r.wait("noop", count=n, timeout=120)
    invs = invs if isinstance(invs, list) else [invs]
    time.sleep(0.5)  # anything more would be a duplicate
    invs += [i for i in r.invocations("noop") if i not in invs and i.event["Records"][0]["s3"]["object"]["key"]
             .startswith(prefix + "/")]  # fmt: skip
    keys = collections.Counter(i.event["Records"][0]["s3"]["object"]["key"] for i in invs)
    lost = sum(1 for k in returned if k not in keys)
    dup = sum(c - 1 for c in keys.values() if c > 1)
    lat = [(i.started_at - returned[k]) * 1000 for i in invs if (k := i.event["Records"][0]["s3"]["object"]["key"])
           in returned]  # fmt: skip
    last_start = max(i.started_at for i in invs)
    return {"put_s": put_s, "events_s": len(keys) / (last_start - t0), "p50": pct(lat, 50), "p90": pct(lat, 90),
            "p99": pct(lat, 99), "max": max(lat), "mean": statistics.fmean(lat), "lost": lost, "dup": dup}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="router-bench-s3api-") as tmp:
        root = Path(tmp)
        (root / "noop.py").write_text("def handler(event, context):\n    return None\n")
        text = CONFIG.format(concurrency=args.concurrency, state=root / "state")
        with Router.from_text(text, root, isolated=False) as r:
            run(r, 50, "warm")  # workers warm, connections open
            r.clear()
            got = run(r, args.puts, "bench")
    print(f"{args.puts} put_object calls at {got['put_s']:,.0f}/s; events delivered {got['events_s']:,.0f}/s; "
          f"put returned -> handler start: p50 {got['p50']:.1f} ms  p90 {got['p90']:.1f} ms  "
          f"p99 {got['p99']:.1f} ms  max {got['max']:.1f} ms  mean {got['mean']:.1f} ms; "
          f"lost {got['lost']:.0f}, duplicated {got['dup']:.0f}")  # fmt: skip
    ok = got["p50"] < 20 and got["lost"] == 0 and got["dup"] == 0
    print("targets (p50 < 20 ms, 0 lost, 0 duplicated):", "met" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
