"""Benchmark of the S3 source end to end: a file written into a watched folder, to the start
of the invocation it causes (a real Router: inotify watcher, embedded AWS, durable queue,
warm Python workers running a no-op handler).

    .venv/bin/python bench/s3.py [--drops 1000] [--burst 10000] [--concurrency 4]

Phases, on one router:
  single  N files written one at a time, each waited for: latency from the start of the
          write (open) to the invocation's start (the runtime's ``started_at``) and to its end
  burst   M files written as fast as a separate Python process can (open, write, close in a
          loop: a user's script), then every invocation waited for: files/s written, files/s
          notified end to end, and the invocation count, which must equal M (each key once)
  flood   F files written to a staging folder first, then renamed into the watched folder
          in a tight loop (tens of thousands per second: the inotify queue's worst case);
          the same counts, and how many kernel queue overflows were reconciled
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
    s3: {{dir: drop/bench, bucket: bench}}
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def key_of(inv: Any) -> str:
    return str(inv.event["Records"][0]["s3"]["object"]["key"])


WRITER = """
import os, sys, time
folder, count, staging = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if staging:  # write elsewhere first, then move them all in as fast as rename goes
    for i in range(count):
        with open(os.path.join(staging[0], f"{i:05d}.dat"), "wb") as f:
            f.write(b"z" * 100)
t0 = time.perf_counter()
for i in range(count):
    if staging:
        os.rename(os.path.join(staging[0], f"{i:05d}.dat"), os.path.join(folder, f"{i:05d}.dat"))
    else:
        with open(os.path.join(folder, f"{i:05d}.dat"), "wb") as f:
            f.write(b"y" * 100)
print(count / (time.perf_counter() - t0))
"""


def single(r: Router, folder: Path, n: int, name: str = "single") -> dict[str, float]:
    to_start, to_end = [], []
    for i in range(n):
        t0 = time.time()
        with open(folder / f"{name}-{i:05d}.dat", "wb") as f:
            f.write(b"x" * 100)
        inv = r.wait("noop", timeout=30)
        end = time.time()
        assert inv.ok and key_of(inv) == f"{name}-{i:05d}.dat", inv.summary()
        to_start.append((inv.started_at - t0) * 1000)
        to_end.append((end - t0) * 1000)
    return {"p50": pct(to_start, 50), "p99": pct(to_start, 99), "max": max(to_start),
            "mean": statistics.fmean(to_start), "end_p50": pct(to_end, 50),
            "end_p99": pct(to_end, 99)}  # fmt: skip


def burst(
    r: Router, folder: Path, m: int, name: str, staging: Path | None = None
) -> dict[str, Any]:
    """``m`` files into ``folder/name`` from another process; every invocation waited for."""
    (folder / name).mkdir()
    r.clear()
    cmd = [sys.executable, "-c", WRITER, str(folder / name), str(m)]
    cmd += [str(staging)] if staging is not None else []
    overflows = r.app.source("s3").stats()["overflows"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    invs = r.wait("noop", count=m, timeout=max(120, m / 20))
    notified = time.perf_counter() - t0
    marker = f"{name}-marker.dat"
    r.drop("bench", marker, b"end")  # anything still in flight comes before it
    r.wait("noop", where=lambda i: key_of(i) == marker, timeout=60)
    time.sleep(1.0)
    keys = collections.Counter(key_of(i) for i in r.invocations("noop"))
    keys.pop(marker, None)
    return {"written_per_s": float(out), "notified_per_s": m / notified, "seconds": notified,
            "invocations": sum(keys.values()), "distinct": len(keys),
            "doubled": sum(1 for c in keys.values() if c > 1),
            "failed": sum(1 for i in invs if not i.ok),
            "overflows": r.app.source("s3").stats()["overflows"] - overflows}  # fmt: skip


def report(label: str, m: int, b: dict[str, Any]) -> None:
    print(f"{label}: {m} files at {b['written_per_s']:,.0f} files/s; all notified and invoked "
          f"in {b['seconds']:.1f} s = {b['notified_per_s']:,.0f} files/s; invocations "
          f"{b['invocations']} (distinct keys {b['distinct']}, doubled {b['doubled']}, failed "
          f"{b['failed']}); inotify overflows {b['overflows']}")  # fmt: skip


def objects(r: Router, bucket: str) -> int:
    pages = r.aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(page.get("KeyCount", 0) for page in pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drops", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument(
        "--flood", type=int, default=10_000, help="files moved in from a staging folder (0: skip)"
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--dir",
        default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
        help="where the watched folder lives (default: /dev/shm, a tmpfs, so the "
        "disk does not limit the writer; the state file stays in the temp dir)",
    )
    args = parser.parse_args()
    with (tempfile.TemporaryDirectory(prefix="router-bench-s3-", dir=args.dir) as tmp,
          tempfile.TemporaryDirectory(prefix="router-bench-s3-state-") as state):  # fmt: skip
        root = Path(tmp)
        (root / "noop.py").write_text("def handler(event, context):\n    return None\n")
        text = CONFIG.format(concurrency=args.concurrency, state=state)
        with Router.from_text(text, root, isolated=False) as r:  # the folder stays in --dir
            source = r.app.source("s3")
            folder = source.folder("bench")
            single(r, folder, 20, "warm")  # warm the workers up
            r.clear()
            lat = single(r, folder, args.drops)
            print(f"single drops: {args.drops}, write start -> invocation start: "
                  f"p50 {lat['p50']:.1f} ms  p99 {lat['p99']:.1f} ms  max {lat['max']:.1f} ms  "
                  f"mean {lat['mean']:.1f} ms; -> invocation end: p50 {lat['end_p50']:.1f} ms  "
                  f"p99 {lat['end_p99']:.1f} ms")  # fmt: skip
            phases = {"burst": burst(r, folder, args.burst, "burst")}
            report("burst (written)", args.burst, phases["burst"])
            if args.flood:
                staging = root / "staging"
                staging.mkdir()
                phases["flood"] = burst(r, folder, args.flood, "flood", staging)
                report("flood (moved in)", args.flood, phases["flood"])
            stored = objects(r, "bench")
            expected = 20 + args.drops + args.burst + args.flood + len(phases)
            print(f"objects in the bucket: {stored} (expected {expected})")
            sizes = {"burst": args.burst, "flood": args.flood}
            ok = (
                lat["p50"] < 50
                and stored == expected
                and all(b["invocations"] == b["distinct"] == sizes[n] for n, b in phases.items())
            )
            print("targets (p50 < 50 ms, none lost, none doubled):", "met" if ok else "NOT MET")
            return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
