"""Benchmark of the development loop (issue 16): hot reload must follow what handlers load.

    .venv/bin/python bench/devloop.py [--files 2000] [--concurrency 8] [--idle 10]

Phases:
  writer  a burst of ``--files`` files dropped into an s3 folder whose handler writes a JSON
          file per event into its own project folder (the case that used to restart its own
          workers: 262 of 300 invocations were cold starts, 7 files/s); prints files/s end to
          end and the cold starts (target: one per worker at most, at least 300 files/s)
  idle    ``router run`` on the demo config, idle: the daemon's CPU over ``--idle`` seconds
          (target: under 1 % of one core), workers excluded (they are idle too)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/http.py would shadow the standard library's http package that router imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from router import Router  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
settings: {{http: {{port: 0}}, aws: {{port: 0}}}}
functions:
  writer: {{handler: writer.handler, concurrency: {concurrency}, async: {{retries: 0}}}}
triggers:
  - {{name: drops, function: writer, s3: {{dir: drop/in, bucket: drops}}}}
"""
HANDLER = """
import json, os

def handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    out = os.path.join(os.environ["LAMBDA_TASK_ROOT"], "results", key + ".json")
    with open(out, "w") as f:
        json.dump({"key": key, "size": event["Records"][0]["s3"]["object"]["size"]}, f)
    return key
"""


def writer(files: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="router-devloop-") as tmp:
        root = Path(tmp)
        (root / "writer.py").write_text(HANDLER)
        (root / "results").mkdir()
        (root / "triggers.yaml").write_text(CONFIG.format(concurrency=concurrency))
        with Router(root / "triggers.yaml", isolated=False) as r:
            folder = r.app.source("s3").folder("drops")
            t0 = time.perf_counter()
            for i in range(files):
                (folder / f"f{i:05d}.txt").write_bytes(b"x" * 64)
            written = time.perf_counter() - t0
            done = r.wait("writer", count=files, timeout=600)
            took = time.perf_counter() - t0
        cold = sum(1 for inv in done if inv.init_duration_ms is not None)
        failed = sum(1 for inv in done if not inv.ok)
        results = len(list((root / "results").iterdir()))
    print(f"writer  {files} files dropped in {written:.2f} s, all invoked in {took:.2f} s: "
          f"{files / took:,.0f} files/s end to end; cold starts {cold} (concurrency {concurrency}); "
          f"failed {failed}; result files {results}")  # fmt: skip
    print(f"        target: cold starts <= {concurrency} and >= 300 files/s: "
          f"{'met' if cold <= concurrency and files / took >= 300 else 'NOT met'}")  # fmt: skip


def idle(seconds: float) -> None:
    import psutil

    with tempfile.TemporaryDirectory(prefix="router-idle-") as tmp:
        demo = Path(tmp)
        shutil.copytree(ROOT / "samples", demo / "samples", ignore=shutil.ignore_patterns("tests", "__pycache__"))
        text = (ROOT / "triggers.yaml").read_text()
        text = re.sub(r"port: (3000|4566)", "port: 0", text)
        (demo / "triggers.yaml").write_text(text)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "router", "run", "triggers.yaml"], cwd=demo, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("router ready"):
                    break
            time.sleep(2)  # start-up settles
            me = psutil.Process(proc.pid)
            before = me.cpu_times()
            t0 = time.monotonic()
            time.sleep(seconds)
            after = me.cpu_times()
            spent = (after.user - before.user) + (after.system - before.system)
            share = 100 * spent / (time.monotonic() - t0)
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"idle    router run on the demo config, idle for {seconds:g} s: {share:.2f} % of one core "
          f"(target < 1 %: {'met' if share < 1 else 'NOT met'})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    writer(args.files, args.concurrency)
    idle(args.idle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
