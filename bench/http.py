#!/usr/bin/env python3
"""HTTP source benchmark: ``router run`` against serverless-offline and a bare uvicorn.

    python bench/http.py                       # the full run (about 3 minutes)
    python bench/http.py --duration 3 --soak 20000 --skip-sls   # a quick look

What it does, all on loopback, in a temporary folder:

1. writes a no-op Python handler and a no-op Node.js handler and a triggers.yaml binding
   them to ``GET /py`` and ``GET /node`` (HTTP API payload 2.0), starts ``router run`` on
   it and waits for ``router ready``;
2. drives each route with ``wrk`` (one wrk thread) for ``--duration`` seconds at
   concurrency 1 and 16, and prints requests/s, p50 and p99 latency;
3. the same against serverless-offline (``npm install serverless@3 serverless-offline@13``
   into the temporary folder, the same two handlers as ``httpApi`` events), and against a
   bare uvicorn hello-world (no handler: the ceiling of an asyncio HTTP server here);
4. the soak: ``--soak`` requests at concurrency 16 against the daemon, in rounds of 10,000
   with ``ab -k`` (exact counts), printing each round's requests/s and the daemon's RSS,
   workers included;
5. large bodies: ``--bodies`` rounds of 50 concurrent ``POST /body`` with a 5 MB text body
   (``ab -c 50 -p``; under Lambda's 6 MB event limit once in the event), printing the daemon's
   own RSS when idle, its peak (sampled every 20 ms) and ``--settle`` seconds after the last
   round (target, issue 17: back within 50 MB of idle). ``--only-bodies`` runs just this.

The load generators run on the same (2-core) machine and compete for it: the figures are
for this setup, not the server alone. Needs ``wrk`` and ``ab`` (Debian: wrk, apache2-utils)
and ``npm`` for serverless-offline. Prints the figures; writes nothing outside the
temporary folder (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

PY_HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
NODE_HANDLER = "exports.handler = async () => ({ statusCode: 200, body: 'ok' });\n"
ASGI_HELLO = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''
SLS_YML = """service: bench
frameworkVersion: "3"
provider: {{name: aws, region: us-east-1, stage: dev}}
functions:
  py:
    handler: handler.handler
    runtime: python3.11
    events: [{{httpApi: {{method: GET, path: /py}}}}]
  node:
    handler: handler.handler
    runtime: nodejs20.x
    events: [{{httpApi: {{method: GET, path: /node}}}}]
plugins: [serverless-offline]
custom:
  serverless-offline: {{httpPort: {port}, lambdaPort: {lambda_port}, noPrependStageInUrl: true}}
"""
QUIET_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true", "SLS_TELEMETRY_DISABLED": "1",
    "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*", "SLS_TRACKING_DISABLED": "1",
}  # fmt: skip


@dataclass
class Figure:
    target: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str = ""
    requests: int = 0
    cpu_us: tuple[float, float] | None = None  # CPU per request: server process, its children

    def line(self) -> str:
        err = f"  ({self.errors})" if self.errors else ""
        cpu = ""
        if self.cpu_us is not None:
            cpu = f"   CPU/req {self.cpu_us[0]:5.0f} us server + {self.cpu_us[1]:4.0f} us workers"
        return (f"{self.target:<28} c={self.concurrency:<3} {self.rps:>9,.0f} req/s   "
                f"p50 {self.p50_ms:7.3f} ms   p99 {self.p99_ms:7.3f} ms{cpu}{err}")  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if m is None:
        return float("nan")  # wrk prints -nan when no request completed
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[m.group(2)]


def wrk(url: str, concurrency: int, duration: float, target: str) -> Figure:
    out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{duration:g}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = []
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors.append(f"{m.group(1)} non-2xx")
    if m := re.search(r"Socket errors: (.*)", out):
        errors.append(f"socket errors: {m.group(1)}")
    return Figure(target, concurrency, rps, p50, p99, "; ".join(errors), requests)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process, and of all its descendants alive now."""
    proc = psutil.Process(pid)
    own = sum(proc.cpu_times()[:2])
    children = 0.0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += sum(child.cpu_times()[:2])
    return own, children


def ab_round(url: str, requests: int, concurrency: int) -> tuple[float, int]:
    out = subprocess.run(["ab", "-q", "-k", "-n", str(requests), "-c", str(concurrency), url],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    if m := re.search(r"Non-2xx responses:\s+(\d+)", out):
        failed += int(m.group(1))
    return rps, failed


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """RSS of the process and the sum over its descendants (the workers), in MB."""
    proc = psutil.Process(pid)
    own = proc.memory_info().rss
    children = 0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            children += child.memory_info().rss
    return own / 1024 / 1024, children / 1024 / 1024


@contextlib.contextmanager
def process(argv: list[str], cwd: Path, ready: str | None, port: int, timeout: float = 120,
            ) -> Iterator[subprocess.Popen[bytes]]:  # fmt: skip
    """Run ``argv`` (output to a log file beside it, never a pipe that could fill and stall
    it), wait for ``ready`` in its output and for ``port`` to listen; stop it afterwards."""
    env = {**os.environ, **QUIET_ENV}
    log_path = cwd / f"{Path(argv[0]).name}-{port}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while ready is not None and ready not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{' '.join(argv[:3])} did not become ready:\n{tail}")
            time.sleep(0.1)
        wait_port(port, max(1.0, deadline - time.monotonic()))
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def write_router_config(folder: Path, port: int, concurrency: int) -> Path:
    (folder / "pyfn").mkdir(parents=True, exist_ok=True)
    (folder / "nodefn").mkdir(parents=True, exist_ok=True)
    (folder / "pyfn" / "app.py").write_text(PY_HANDLER)
    (folder / "nodefn" / "app.js").write_text(NODE_HANDLER)
    config = folder / "triggers.yaml"
    config.write_text(
        "version: 1\n"
        f"settings: {{http: {{host: 127.0.0.1, port: {port}}}, aws: {{port: {free_port()}}}}}\n"
        "functions:\n"
        f"  py: {{handler: pyfn/app.handler, concurrency: {concurrency}}}\n"
        f"  node: {{handler: nodefn/app.handler, concurrency: {concurrency}}}\n"
        "  body: {handler: pyfn/app.handler, concurrency: 8, memory: 256, timeout: 30}\n"
        "triggers:\n"
        "  - {function: py, http: 'GET /py'}\n"
        "  - {function: node, http: 'GET /node'}\n"
        "  - {function: body, http: 'POST /body'}\n"
    )
    return config


def drive(base: str, name: str, duration: float, figures: list[Figure], pid: int) -> None:
    """wrk on /py and /node at c=1 and c=16; the server's CPU per request beside (measured
    as CPU time, so it does not depend on what else the machine runs)."""
    for route in ("py", "node"):
        url = f"{base}/{route}"
        subprocess.run(["wrk", "-t1", "-c16", "-d1s", url], capture_output=True, check=True)  # warm
        for c in (1, 16):
            figures.append(measured(url, c, duration, f"{name} {route}", pid))


def measured(url: str, concurrency: int, duration: float, target: str, pid: int) -> Figure:
    before = cpu_seconds(pid)
    fig = wrk(url, concurrency, duration, target)
    after = cpu_seconds(pid)
    if fig.requests:
        own, kids = ((a - b) / fig.requests * 1e6 for a, b in zip(after, before, strict=True))
        fig.cpu_us = (own, kids)
    print(fig.line(), flush=True)
    return fig


def bench_router(tmp: Path, args: argparse.Namespace, figures: list[Figure]) -> None:
    port = free_port()
    config = write_router_config(tmp / "router", port, args.concurrency)
    argv = [sys.executable, "-m", "router", "run", str(config)]
    with process(argv, config.parent, "router ready", port) as proc:
        base = f"http://127.0.0.1:{port}"
        if not args.only_bodies:
            drive(base, "router", args.duration, figures, proc.pid)
            if args.soak:
                soak(base, proc.pid, args.soak)
        if args.bodies:
            bodies(base, proc.pid, tmp, args.bodies, args.settle)


def bodies(base: str, pid: int, tmp: Path, rounds: int, settle: float) -> None:
    """50 concurrent 5 MB bodies, ``rounds`` times: the daemon's RSS idle, at its peak, after."""
    body = tmp / "body.txt"
    body.write_bytes(b"x" * (5 * 1024 * 1024))
    url = f"{base}/body"
    small = tmp / "small.txt"
    small.write_bytes(b"x" * 1000)
    subprocess.run(["ab", "-q", "-n", "16", "-c", "8", "-p", str(small), "-T", "text/plain", url],
                   capture_output=True, check=True)  # warm: the idle figure is with the workers started
    time.sleep(2)
    idle = tree_rss_mb(pid)[0]
    peak, stop = [idle], False

    def sample() -> None:
        while not stop:
            peak.append(tree_rss_mb(pid)[0])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    print(f"\nbodies: {rounds} round(s) of 50 concurrent POST /body, 5 MB each (ab -c 50 -p)")
    for n in range(rounds):
        out = subprocess.run(["ab", "-q", "-n", "50", "-c", "50", "-p", str(body), "-T", "text/plain", url],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        failed = re.search(r"Failed requests:\s+(\d+)", out)
        non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
        print(f"  round {n + 1}: failed {failed.group(1) if failed else '?'}, non-2xx "
              f"{non2xx.group(1) if non2xx else 0}", flush=True)  # fmt: skip
    stop = True
    sampler.join()
    time.sleep(settle)
    after = tree_rss_mb(pid)[0]
    print(f"  daemon RSS: idle {idle:.1f} MB, peak {max(peak):.1f} MB, {settle:.0f} s after {after:.1f} MB "
          f"({after - idle:+.1f} MB; target within 50 MB of idle: {'met' if after - idle <= 50 else 'NOT met'})")


def soak(base: str, pid: int, total: int) -> None:
    for route in ("py", "node"):
        print(f"\nsoak: {total:,} requests at c=16 on /{route} (ab -k, rounds of 10,000)")
        print(f"{'requests':>10} {'req/s':>9} {'RSS MB total':>13} {'daemon':>8} {'workers':>8}")
        own, kids = tree_rss_mb(pid)
        print(f"{0:>10,} {'':>9} {own + kids:>13.1f} {own:>8.1f} {kids:>8.1f}")
        done = 0
        while done < total:
            n = min(10_000, total - done)
            rps, failed = ab_round(f"{base}/{route}", n, 16)
            done += n
            extra = f"   {failed} failed" if failed else ""
            own, kids = tree_rss_mb(pid)
            print(f"{done:>10,} {rps:>9,.0f} {own + kids:>13.1f} {own:>8.1f} {kids:>8.1f}{extra}", flush=True)


def bench_sls(tmp: Path, args: argparse.Namespace, figures: list[Figure]) -> None:
    folder = Path(args.sls_dir) if args.sls_dir else tmp / "sls"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "node_modules" / ".bin" / "serverless").exists():
        print(f"npm install serverless@3 serverless-offline@13 into {folder} ...", flush=True)
        (folder / "package.json").write_text('{"name": "bench", "version": "1.0.0", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                        "serverless@3", "serverless-offline@13"], cwd=folder, check=True,
                       env={**os.environ, **QUIET_ENV}, stdout=subprocess.DEVNULL)  # fmt: skip
    (folder / "handler.py").write_text(PY_HANDLER)
    (folder / "handler.js").write_text(NODE_HANDLER)
    port = free_port()
    (folder / "serverless.yml").write_text(SLS_YML.format(port=port, lambda_port=free_port()))
    argv = [str(folder / "node_modules" / ".bin" / "serverless"), "offline", "start"]
    with process(argv, folder, "Server ready", port) as proc:
        drive(f"http://127.0.0.1:{port}", "serverless-offline", args.duration, figures, proc.pid)


def bench_uvicorn(tmp: Path, args: argparse.Namespace, figures: list[Figure]) -> None:
    (tmp / "hello_asgi.py").write_text(ASGI_HELLO)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "hello_asgi:app", "--port", str(port), "--log-level",
            "warning", "--no-access-log", "--http", "httptools", "--loop", "asyncio"]  # fmt: skip
    with process(argv, tmp, None, port) as proc:
        url = f"http://127.0.0.1:{port}/"
        subprocess.run(["wrk", "-t1", "-c16", "-d1s", url], capture_output=True, check=True)
        for c in (1, 16):
            figures.append(measured(url, c, args.duration, "uvicorn hello (ceiling)", proc.pid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--soak", type=int, default=100_000, help="soak requests per route; 0 skips")
    parser.add_argument("--concurrency", type=int, default=4, help="the functions' concurrency (4)")
    parser.add_argument("--skip-sls", action="store_true", help="skip serverless-offline")
    parser.add_argument("--skip-uvicorn", action="store_true")
    parser.add_argument("--sls-dir", help="reuse this folder for the serverless npm install")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--bodies", type=int, default=3, help="rounds of 50 concurrent 5 MB bodies; 0 skips (3)")
    parser.add_argument("--settle", type=float, default=60, help="seconds before the RSS after the bodies (60)")
    parser.add_argument("--only-bodies", action="store_true", help="only the large bodies (implies --skip-sls "
                        "--skip-uvicorn)")  # fmt: skip
    args = parser.parse_args()
    if args.only_bodies:
        args.skip_sls = args.skip_uvicorn = True
    for tool in ("wrk", "ab") + (() if args.skip_sls else ("npm",)):
        if shutil.which(tool) is None:
            print(f"bench/http.py needs {tool!r} on PATH", file=sys.stderr)
            return 2
    tmp = Path(tempfile.mkdtemp(prefix="router-bench-http-"))
    figures: list[Figure] = []
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
          f"load generator wrk -t1 (ab -k for the soak); functions' concurrency {args.concurrency}")  # fmt: skip
    try:
        bench_router(tmp, args, figures)
        if not args.skip_sls:
            print()
            try:
                bench_sls(tmp, args, figures)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"serverless-offline could not be measured: {e}")
        if not args.skip_uvicorn:
            print()
            bench_uvicorn(tmp, args, figures)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    compare(figures)
    return 0


def compare(figures: list[Figure]) -> None:
    by = {(f.target, f.concurrency): f for f in figures}
    print("\ntargets (issue 18's ratios; issue 8's latency):")
    for route, target in (("py", 1.0), ("node", 3.0)):
        ours, theirs = by.get((f"router {route}", 16)), by.get((f"serverless-offline {route}", 16))
        if ours and theirs:
            ratio = ours.rps / theirs.rps
            print(f"  {route}: c=16 {ratio:.2f}x serverless-offline (target >= {target:g}x): "
                  f"{'met' if ratio >= target else 'NOT met'}")  # fmt: skip
        if one := by.get((f"router {route}", 1)):
            print(f"  {route}: c=1 p50 {one.p50_ms:.3f} ms (target < 0.3 ms): "
                  f"{'met' if one.p50_ms < 0.3 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
