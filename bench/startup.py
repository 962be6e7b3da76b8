"""Start-up and stop: how long until router is ready, and until it is gone.

1. ``router run triggers.yaml`` (the demo, on free ports, in a temporary folder) to its
   ``router ready`` line, and from SIGINT to its exit: median of ``--runs`` warm runs.
   ``--module`` also runs ``python -m router run`` (no console script); ``--against DIR``
   also runs another checkout (a ``git worktree`` of an earlier commit) with ``python -m
   router``, beside this one's ``python -m router``: the variants alternate round by round,
   so a busy machine slows them alike.
2. The same with ``--files`` files (10,000) in the watched folder ``drop/uploads``:
   what they add to ready.
   Each also with the CPU time router has used when its ready line is read (all threads; the
   start is CPU-bound, so a busy machine disturbs that figure least).
3. ``Router(...).start()``, ``stop()`` and ``reset()`` in this process: medians.
4. Peers in the same run: serverless-offline's ``sls offline start`` to "Server ready"
   (npm install serverless@3 serverless-offline@13, as bench/http.py does; ``--sls-dir``
   reuses an install) and ``sam local start-api`` (needs Docker: said so when absent).

Usage: ``.venv/bin/python bench/startup.py [--runs 10] [--files 10000] [--skip-sls] [--sls-dir DIR]
[--module] [--against DIR]``.
Prints the figures; writes nothing outside a temporary folder (and ``--sls-dir``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py beside this script must not shadow the standard library's http
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
ROUTER = str(Path(sys.executable).parent / "router")
ENV = {
    **os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_EC2_METADATA_DISABLED": "true",
}  # fmt: skip
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # warm caches: compiled modules are kept, as after a pip install
ENV["PYTHONPATH"] = str(ROOT)  # this checkout's router, also when the venv's editable install is another one


def _peer_tools() -> object:
    """bench/http.py's helpers (its serverless-offline set-up), loaded by path."""
    spec = importlib.util.spec_from_file_location("bench_http", ROOT / "bench" / "http.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_http"] = module
    spec.loader.exec_module(module)
    return module


def demo_copy(folder: Path, files: int = 0) -> Path:
    """The demo config in ``folder`` on free ports (samples linked, not copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "samples").symlink_to(ROOT / "samples")
    text = (ROOT / "triggers.yaml").read_text()
    text = text.replace("port: 3000", "port: 0").replace("port: 4566", "port: 0")
    (folder / "triggers.yaml").write_text(text)
    uploads = folder / "drop" / "uploads"
    uploads.mkdir(parents=True)
    for n in range(files):
        sub = uploads / f"d{n // 1000}"
        if n % 1000 == 0:
            sub.mkdir()
        (sub / f"f{n}.txt").write_bytes(b"x" * 64)
    return folder / "triggers.yaml"


# how router is started: (label, argv before "run", extra environment)
Variant = tuple[str, list[str], dict[str, str]]
SCRIPT: Variant = ("router", [ROUTER], {})


def module_variant(tree: Path, label: str = "python -m router") -> Variant:
    """``python -m router`` with ``tree``'s package first on the path (before the editable install)."""
    return (label, [sys.executable, "-m", "router"], {"PYTHONPATH": str(tree)})


def cpu_ms(pid: int) -> float:
    """CPU time the process has used so far, all its threads (Linux: schedstat, ns); NaN elsewhere.
    Start-up is CPU-bound, so this is the figure a busy machine disturbs least."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e6 if total else float("nan")


def run_once(config: Path, variant: Variant = SCRIPT) -> tuple[float, float, str, float]:
    """(ms to the ready line, ms from SIGINT to exit, the ready line, CPU ms at the ready line)."""
    _, argv, extra = variant
    t0 = time.perf_counter()
    proc = subprocess.Popen([*argv, "run", str(config)], cwd=config.parent, env={**ENV, **extra},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    line = ""
    for line in proc.stdout:
        if line.startswith("router ready"):
            break
    else:
        raise RuntimeError(f"router run exited ({proc.wait()}) before ready")
    ready = (time.perf_counter() - t0) * 1000
    cpu = cpu_ms(proc.pid)
    t1 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()
    proc.wait(30)
    return ready, (time.perf_counter() - t1) * 1000, line.strip(), cpu


def median_of(runs: int, fn: Callable[[], float]) -> tuple[float, list[float]]:
    values = [fn() for _ in range(runs)]
    return statistics.median(values), values


def bench_router_run(tmp: Path, runs: int, files: int, variants: list[Variant]) -> dict[str, float]:
    """Keys ``ready demo``, ``exit demo``, ``cpu demo``, ``ready demo + N files`` ... for the
    first variant, the same prefixed with ``<label>: `` for the others. Every round runs each
    variant on each config, so a busy moment slows them alike (and what the files add is
    measured within the rounds, not between two series)."""
    out: dict[str, float] = {}
    configs = [("demo", demo_copy(tmp / "run-0", 0)),
               (f"demo + {files:,} files", demo_copy(tmp / f"run-{files}", files))]  # fmt: skip
    results: dict[tuple[str, str], list[tuple[float, float, str, float]]] = {}
    for label, config in configs:
        for variant in variants:
            run_once(config, variant)  # warm: imports compiled, page cache
            results[(label, variant[0])] = []
    for _ in range(runs):
        for label, config in configs:
            for variant in variants:
                results[(label, variant[0])].append(run_once(config, variant))
    for label, _ in configs:
        for i, variant in enumerate(variants):
            got = results[(label, variant[0])]
            ready = statistics.median(r[0] for r in got)
            stop = statistics.median(r[1] for r in got)
            own = statistics.median(float(r[2].split(" in ")[1].split()[0]) for r in got)
            cpu = statistics.median(r[3] for r in got)
            print(f"{variant[0]:<28} run {label:<22} ready {ready:5.0f} ms, CPU {cpu:4.0f} ms (medians of {len(got)}; "
                  f"router's own line: {own:.0f} ms)   SIGINT to exit {stop:5.0f} ms")  # fmt: skip
            prefix = "" if i == 0 else f"{variant[0]}: "
            out[f"{prefix}ready {label}"], out[f"{prefix}exit {label}"] = ready, stop
            out[f"{prefix}cpu {label}"] = cpu
    return out


def bench_api(runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from router import Router

    Router(ROOT / "triggers.yaml").start().stop()  # warm
    starts, stops = [], []
    for _ in range(runs):
        r = Router(ROOT / "triggers.yaml")
        t0 = time.perf_counter()
        r.start()
        t1 = time.perf_counter()
        r.invoke("hello", {})
        t2 = time.perf_counter()
        r.stop()
        starts.append((t1 - t0) * 1000)
        stops.append((time.perf_counter() - t2) * 1000)
    with Router(ROOT / "triggers.yaml") as r:
        r.invoke("hello", {})
        resets = []
        for _ in range(runs * 3):
            t0 = time.perf_counter()
            r.reset()
            resets.append((time.perf_counter() - t0) * 1000)
    figures = {"start": statistics.median(starts), "stop": statistics.median(stops),
               "reset": statistics.median(resets)}  # fmt: skip
    print(f"Router.start()   {figures['start']:6.0f} ms   Router.stop() {figures['stop']:5.0f} ms (a worker warm)   "
          f"Router.reset() {figures['reset']:5.1f} ms   (medians of {runs}, {runs} and {runs * 3})")  # fmt: skip
    return figures


def bench_sls(tmp: Path, runs: int, sls_dir: str | None) -> float | None:
    tools: object = _peer_tools()
    folder = Path(sls_dir) if sls_dir else tmp / "sls"
    folder.mkdir(parents=True, exist_ok=True)
    quiet = getattr(tools, "QUIET_ENV")  # noqa: B009
    if not (folder / "node_modules" / ".bin" / "serverless").exists():
        if shutil.which("npm") is None:
            print("serverless-offline: npm is absent; not measured")
            return None
        print(f"npm install serverless@3 serverless-offline@13 into {folder} ...", flush=True)
        (folder / "package.json").write_text('{"name": "bench", "version": "1.0.0", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "serverless@3",
                        "serverless-offline@13"], cwd=folder, check=True, env={**os.environ, **quiet},
                       stdout=subprocess.DEVNULL)  # fmt: skip
    (folder / "handler.py").write_text(getattr(tools, "PY_HANDLER"))  # noqa: B009
    (folder / "handler.js").write_text(getattr(tools, "NODE_HANDLER"))  # noqa: B009
    free_port = getattr(tools, "free_port")  # noqa: B009
    argv = [str(folder / "node_modules" / ".bin" / "serverless"), "offline", "start"]

    def once() -> float:
        port = free_port()
        (folder / "serverless.yml").write_text(getattr(tools, "SLS_YML").format(port=port, lambda_port=free_port()))  # noqa: B009
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=folder, env={**os.environ, **quiet}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if "Server ready" in line:
                    return (time.perf_counter() - t0) * 1000
            raise RuntimeError("serverless offline exited before 'Server ready'")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)

    once()  # warm
    ready, _ = median_of(runs, once)
    print(f"sls offline start                  ready {ready:7.0f} ms (median of {runs}, to 'Server ready')")
    return ready


def sam_status() -> str:
    """Why ``sam local start-api`` is or is not measured (it runs every function in Docker)."""
    docker = shutil.which("docker")
    running = docker is not None and subprocess.run([docker, "info"], capture_output=True).returncode == 0
    if not running:
        return "not measured: no Docker daemon on this machine (sam local runs functions in Docker containers)"
    if shutil.which("sam") is None:
        return "not measured: the SAM CLI is not installed"
    return "not measured: Docker image pulls are outside this machine's reach (loopback network only)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--skip-sls", action="store_true")
    parser.add_argument("--sls-dir")
    parser.add_argument("--module", action="store_true", help="also python -m router (no console script)")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also another checkout of router (a git worktree), with python -m router")  # fmt: skip
    args = parser.parse_args()
    variants = [SCRIPT]
    if args.module or args.against:
        variants.append(module_variant(ROOT))
    if args.against:
        variants.append(module_variant(args.against.resolve(), f"python -m router ({args.against.name})"))
    with tempfile.TemporaryDirectory(prefix="router-bench-startup-") as tmp:
        run = bench_router_run(Path(tmp), args.runs, args.files, variants)
        api = bench_api(args.runs)
        sls = None
        if not args.skip_sls:
            try:
                sls = bench_sls(Path(tmp), args.runs, args.sls_dir)
            except Exception as exc:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
                print(f"serverless-offline could not be measured: {exc}")
        print("sam local start-api: " + sam_status())
    files_key = next(k for k in run if k.startswith("ready demo +"))
    added = run[files_key] - run["ready demo"]
    cpu_key = files_key.replace("ready", "cpu", 1)
    print("\ntargets: ready < 500 ms, start < 300 ms, stop < 100 ms, 10,000 files add < 100 ms")
    print(f"  ready {run['ready demo']:.0f} ms (CPU {run['cpu demo']:.0f} ms); start {api['start']:.0f} ms; "
          f"stop {api['stop']:.0f} ms; files add {added:.0f} ms (CPU {run[cpu_key] - run['cpu demo']:.0f} ms); "
          f"reset {api['reset']:.1f} ms")  # fmt: skip
    for label, _, _ in variants[1:]:
        ready, files_ready = run[f"{label}: ready demo"], run[f"{label}: {files_key}"]
        cpu, files_cpu = run[f"{label}: cpu demo"], run[f"{label}: {cpu_key}"]
        print(f"  {label}: ready {ready:.0f} ms (CPU {cpu:.0f} ms); files add {files_ready - ready:.0f} ms "
              f"(CPU {files_cpu - cpu:.0f} ms)")  # fmt: skip
    if sls:
        print(f"  serverless-offline ready / router ready: {sls / run['ready demo']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
