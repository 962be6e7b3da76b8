"""Benchmark of the DynamoDB Streams source through the whole router (embedded moto, the
dispatcher, a warm Python worker): how soon a write reaches the handler, and how many
records per second a mapping delivers.

    .venv/bin/python bench/streams.py [--writes 1000] [--records 10000] [--batch-size 100]

latency     ``--writes`` single PutItem calls, one at a time: each waits for its invocation.
            Latency = the invocation's start (the runtime's ``started_at``) minus the moment
            PutItem returned. p50 / p99 / max.
sporadic    ``--sporadic`` single writes about 1 s apart: the shard is idle in between and its
            poller has backed off to its slowest pace (200 ms), the worst case.
throughput  ``--records`` items written with BatchWriteItem (25 a call) as fast as moto takes
            them; records/s delivered from the first write to the last record's invocation,
            batches formed, and a check that every record arrived exactly once.
idle        the router process's CPU use over 5 s with the mapping idle (polling at 200 ms).
backlog     ``--records`` items already in the stream (a seed file, TRIM_HORIZON): how fast a
            mapping catches up, from the first batch's start to the last batch's end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package that router imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from router import Router  # noqa: E402

HANDLER = "def handler(event, context):\n    return len(event['Records'])\n"


def config(root: Path, batch_size: int, seed: int = 0) -> Path:
    (root / "sink.py").write_text(HANDLER)
    extra, position = "", "LATEST"
    if seed:
        (root / "seed.json").write_text(json.dumps([{"pk": f"bl-{n}", "n": n} for n in range(seed)]))
        extra, position = ", seed: seed.json", "TRIM_HORIZON"
    path = root / "triggers.yaml"
    path.write_text(
        textwrap.dedent(f"""
        version: 1
        functions:
          sink: {{handler: sink.handler, timeout: 30}}
        resources:
          tables:
            items: {{keys: {{pk: S}}, stream: NEW_IMAGE{extra}}}
        triggers:
          - {{name: items, function: sink, dynamodb: {{table: items, batch_size: {batch_size},
              starting_position: {position}}}}}
    """).lstrip()
    )
    return path


def keys_of(inv: Any) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in inv.event["Records"]]


def latency(r: Router, writes: int) -> dict[str, float]:
    client = r.aws.client("dynamodb")
    client.put_item(TableName="items", Item={"pk": {"S": "warm-up"}})  # a cold start is not a write's latency
    r.wait("sink", timeout=30)
    samples = []
    for n in range(writes):
        client.put_item(TableName="items", Item={"pk": {"S": f"lat-{n}"}, "n": {"N": str(n)}})
        written = time.time()
        inv = r.wait("sink", timeout=30)
        if keys_of(inv) != [f"lat-{n}"]:
            raise SystemExit(f"write {n}: expected one record lat-{n}, got {keys_of(inv)}")
        samples.append((inv.started_at - written) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1], "max": samples[-1],
            "mean": statistics.fmean(samples)}  # fmt: skip


def sporadic(r: Router, writes: int) -> dict[str, float]:
    client = r.aws.client("dynamodb")
    rng = random.Random(9)
    samples = []
    for n in range(writes):
        time.sleep(rng.uniform(0.6, 1.4))  # a random phase against the poller's pace
        client.put_item(TableName="items", Item={"pk": {"S": f"sp-{n}"}})
        written = time.time()
        inv = r.wait("sink", timeout=30)
        samples.append((inv.started_at - written) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "max": samples[-1]}


def idle_cpu(seconds: float = 5.0) -> float:
    import psutil

    process = psutil.Process()
    time.sleep(1.0)  # let the poller back off
    before, t0 = process.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, t1 = process.cpu_times(), time.monotonic()
    used = (after.user - before.user) + (after.system - before.system)
    return 100 * used / (t1 - t0)


def throughput(r: Router, records: int) -> dict[str, Any]:
    r.clear()
    table = r.aws.resource("dynamodb").Table("items")
    t0 = time.time()
    with table.batch_writer() as batch:
        for n in range(records):
            batch.put_item(Item={"pk": f"tp-{n}", "n": n})
    written = time.time()
    seen: Counter[str] = Counter()
    batches = 0
    last = t0
    while sum(seen.values()) < records:
        inv = r.wait("sink", timeout=60)
        if not inv.ok:
            raise SystemExit(f"an invocation failed: {inv.error}")
        batches += 1
        seen.update(keys_of(inv))
        last = inv.started_at + inv.duration_ms / 1000
    expected = {f"tp-{n}" for n in range(records)}
    lost = expected - set(seen)
    duplicated = [k for k, c in seen.items() if c > 1]
    sizes = [len(keys_of(i)) for i in r.invocations("sink")]
    return {
        "records": sum(seen.values()), "batches": batches, "lost": len(lost), "duplicated": len(duplicated),
        "write_s": written - t0, "total_s": last - t0, "records_per_s": records / (last - t0),
        "mean_batch": statistics.fmean(sizes), "max_batch": max(sizes),
    }  # fmt: skip


def backlog(r: Router, records: int) -> dict[str, Any]:
    seen: Counter[str] = Counter()
    invocations = []
    while sum(seen.values()) < records:
        inv = r.wait("sink", timeout=120)
        invocations.append(inv)
        seen.update(keys_of(inv))
    first = invocations[0].started_at
    last = max(i.started_at + i.duration_ms / 1000 for i in invocations)
    return {"records": sum(seen.values()), "batches": len(invocations), "seconds": last - first,
            "records_per_s": records / (last - first), "lost": records - len(seen),
            "duplicated": sum(1 for c in seen.values() if c > 1)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--sporadic", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Router(config(Path(tmp), args.batch_size)) as r:
        lat = latency(r, args.writes)
        print(
            f"latency     {args.writes} single writes, PutItem returned -> handler started: "
            f"p50 {lat['p50']:.1f} ms  p99 {lat['p99']:.1f} ms  max {lat['max']:.1f} ms  mean {lat['mean']:.1f} ms"
        )
        if args.sporadic:
            sp = sporadic(r, args.sporadic)
            print(
                f"sporadic    {args.sporadic} writes ~1 s apart (idle shard): p50 {sp['p50']:.1f} ms  "
                f"max {sp['max']:.1f} ms"
            )
        print(f"idle        router process CPU with the mapping idle: {idle_cpu():.1f} % of one core")
        tp = throughput(r, args.records)
        print(
            f"throughput  {tp['records']} records (BatchWriteItem, written in {tp['write_s']:.2f} s) delivered in "
            f"{tp['total_s']:.2f} s: {tp['records_per_s']:.0f} records/s; {tp['batches']} batches "
            f"(mean {tp['mean_batch']:.1f}, max {tp['max_batch']} records; batch_size {args.batch_size})"
        )
        print(f"exactly once: lost {tp['lost']}, duplicated {tp['duplicated']}")
    with tempfile.TemporaryDirectory() as tmp, Router(config(Path(tmp), args.batch_size, seed=args.records)) as r:
        bl = backlog(r, args.records)
        print(
            f"backlog     {bl['records']} records in the stream at start (TRIM_HORIZON) delivered in "
            f"{bl['seconds']:.2f} s: {bl['records_per_s']:.0f} records/s; {bl['batches']} batches; "
            f"lost {bl['lost']}, duplicated {bl['duplicated']}"
        )
    ok = lat["p50"] < 300 and tp["lost"] == tp["duplicated"] == bl["lost"] == bl["duplicated"] == 0
    print("targets (p50 < 300 ms, none lost or duplicated):", "met" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
