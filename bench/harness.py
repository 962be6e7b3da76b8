"""The pytest plugin's cost per test: a generated file of ``--tests`` (200) tests over the demo
config, each invoking through HTTP, dropping a file and waiting for its invocation, or writing
a table item and waiting for the stream's, run with the ``router`` fixture:

1. as the plugin runs it by default: one router for the session, ``reset()`` before each test;
2. the same file with ``-o router_fresh=true``: a router started and stopped around each test.

For each: the whole run's wall time (``python -m pytest`` to its exit) and the per-test
overhead = (wall time - the invocations' own durations) / tests. Target: under 20 ms with
reset.

Usage: ``.venv/bin/python bench/harness.py [--tests 200] [--skip-fresh]``. Writes only into a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py beside this script must not shadow the standard library's http
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

CONFTEST = '''
import json
import os

import pytest


@pytest.fixture(autouse=True)
def _durations(router):
    yield
    own = sum(inv.duration_ms for inv in router.invocations())  # a cold start (init) counts as overhead
    with open(os.environ["BENCH_DURATIONS"], "a") as f:
        f.write(json.dumps(own) + "\\n")
'''

TESTS = {
    "http": '''
def test_http_{n}(router):
    response = router.http.get("/python")
    assert response.status_code == 200
''',
    "drop": '''
def test_drop_{n}(router):
    router.drop("uploads", "in/{n}.txt", b"file {n}")
    assert router.wait("thumbnail", timeout=30).ok
''',
    "table": '''
def test_table_{n}(router):
    router.aws.client("dynamodb").put_item(TableName="orders", Item={{"pk": {{"S": "c#{n}"}}, "sk": {{"S": "o#1"}},
                                                                     "status": {{"S": "new"}}}})
    assert router.wait("on_order", timeout=30).ok
''',
}


def generate(folder: Path, tests: int) -> None:
    (folder / "samples").symlink_to(ROOT / "samples")
    text = (ROOT / "triggers.yaml").read_text()
    (folder / "triggers.yaml").write_text(text)
    (folder / "conftest.py").write_text(CONFTEST)
    kinds = list(TESTS)
    body = "".join(TESTS[kinds[n % len(kinds)]].format(n=n) for n in range(tests))
    (folder / "test_generated.py").write_text(body)


def run(folder: Path, tests: int, fresh: bool) -> dict[str, float]:
    durations = folder / f"durations-{'fresh' if fresh else 'reset'}.jsonl"
    env = {**os.environ, "BENCH_DURATIONS": str(durations), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist",
            "test_generated.py"] + (["-o", "router_fresh=true"] if fresh else [])  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"pytest failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    own_ms = sum(float(line) for line in durations.read_text().split())
    overhead = (wall * 1000 - own_ms) / tests
    label = "fresh router per test" if fresh else "session router, reset"
    print(f"{label:<24} {tests} tests  wall {wall:7.2f} s   invocations' own {own_ms / 1000:6.2f} s   "
          f"per-test overhead {overhead:7.1f} ms   ({proc.stdout.strip().splitlines()[-1]})", flush=True)  # fmt: skip
    return {"wall": wall, "own_ms": own_ms, "overhead_ms": overhead}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--skip-fresh", action="store_true", help="only the session router (reset) run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="router-bench-harness-") as tmp:
        folder = Path(tmp)
        generate(folder, args.tests)
        reset = run(folder, args.tests, fresh=False)
        if not args.skip_fresh:
            fresh = run(folder, args.tests, fresh=True)
            print(f"\nfresh / reset: wall {fresh['wall'] / reset['wall']:.1f}x, per-test overhead "
                  f"{fresh['overhead_ms'] / reset['overhead_ms']:.1f}x")  # fmt: skip
    print(f"target: per-test overhead < 20 ms with reset: {reset['overhead_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
