#!/usr/bin/env python3
"""The dashboard's cost (issue 25): ``router run`` with the dashboard nobody has open against
``router run --no-ui``, and the daemon's memory with a page's live table open over a soak.

    python bench/dashboard.py                          # 5 rounds of 10 s each way, a 100,000-request soak
    python bench/dashboard.py --rounds 2 --duration 3 --soak 20000   # a quick look
    python bench/dashboard.py --skip-cost --soak 0                   # only the journal's queries

1. Throughput cost: bench/http.py's no-op Python handler behind ``GET /py``; each round starts
   ``router run`` once with the dashboard (its port listening, no page open) and once with
   ``--no-ui`` (the order alternates between rounds), drives ``wrk -c16`` for ``--duration``
   seconds and reads the daemon's CPU time per request (bench/http.py's measure: it does not
   depend on what else the machine runs). Prints each run and the medians' difference.
2. Soak: ``router run`` with the dashboard and a real page (Debian's chromium driven by
   Playwright) on its live table (``#/live``), then ``--soak`` requests at c=16 in rounds of
   10,000 (``ab -k``), printing after each round the daemon's own RSS, its workers' and how
   many rows the page has received over its server-sent events. Without chromium the page is a
   plain server-sent-events reader (said so in the output).

3. The journal's queries (:mod:`router.ui.queries`) on a state file of ``--journal`` rows.

Needs wrk and ab (Debian: wrk, apache2-utils). Writes nothing outside its temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/http.py is not the stdlib's http

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402
from urllib.request import urlopen  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_http", HERE / "http.py")
assert _spec is not None and _spec.loader is not None
bench_http: Any = importlib.util.module_from_spec(_spec)
sys.modules["bench_http"] = bench_http  # (its dataclasses look their module up)
_spec.loader.exec_module(bench_http)

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def write_config(folder: Path, http_port: int, ui_port: int) -> Path:
    config = bench_http.write_router_config(folder, http_port, 4)
    text = config.read_text().replace("settings: {", f"settings: {{ui: {{port: {ui_port}}}, ", 1)
    config.write_text(text)
    return config


def one_run(folder: Path, ui: bool, duration: float) -> tuple[float, float]:
    """(requests/s, daemon CPU us per request) of one ``router run``."""
    http_port, ui_port = bench_http.free_port(), bench_http.free_port()
    config = write_config(folder, http_port, ui_port)
    argv = [sys.executable, "-m", "router", "run", str(config)] + ([] if ui else ["--no-ui"])
    with bench_http.process(argv, folder, "router ready", http_port) as proc:
        if ui:
            bench_http.wait_port(ui_port, 10)
        url = f"http://127.0.0.1:{http_port}/py"
        bench_http.wrk(url, 16, 1, "warm")
        fig = bench_http.measured(url, 16, duration, "ui" if ui else "no-ui", proc.pid)
    return fig.rps, fig.cpu_us[0]


def cost(rounds: int, duration: float) -> None:
    print(f"throughput cost: {rounds} round(s) of wrk -c16 {duration:g}s on GET /py, with the dashboard "
          "(nobody connected) and with --no-ui")
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="router-bench-ui-") as tmp:
        for r in range(rounds):
            for ui in ((True, False) if r % 2 == 0 else (False, True)):
                rps, cpu = one_run(Path(tmp), ui, duration)
                runs[ui].append((rps, cpu))
                print(f"  round {r + 1}  {'dashboard' if ui else '--no-ui  '}  {rps:8,.0f} req/s   "
                      f"daemon CPU {cpu:5.0f} us/request")
    med = {ui: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for ui, v in runs.items()}
    print(f"  median      dashboard {med[True][0]:8,.0f} req/s  {med[True][1]:5.0f} us/req   "
          f"--no-ui {med[False][0]:8,.0f} req/s  {med[False][1]:5.0f} us/req")
    pairs = sorted(100 * (a[1] / b[1] - 1) for a, b in zip(runs[True], runs[False], strict=True))
    print(f"  the dashboard's cost: {100 * (med[True][1] / med[False][1] - 1):+.1f} % CPU per request "
          f"(medians), {statistics.median(pairs):+.1f} % (median of the rounds' differences; they range "
          f"{pairs[0]:+.1f} % .. {pairs[-1]:+.1f} %); its throughput {100 * (med[True][0] / med[False][0] - 1):+.1f} % "
          "against --no-ui (target: under 2 % lower)")


class SseReader:
    """A plain server-sent-events client (when there is no browser): counts the rows."""

    def __init__(self, url: str) -> None:
        self.received = 0
        self._resp = urlopen(url, timeout=30)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):
            for line in self._resp:
                if line.startswith(b"data: "):
                    self.received += line.count(b'"seq":')

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._resp.close()


def soak(total: int) -> None:
    with tempfile.TemporaryDirectory(prefix="router-bench-ui-") as tmp:
        folder = Path(tmp)
        http_port, ui_port = bench_http.free_port(), bench_http.free_port()
        config = write_config(folder, http_port, ui_port)
        argv = [sys.executable, "-m", "router", "run", str(config)]
        with bench_http.process(argv, folder, "router ready", http_port) as proc, _page(ui_port) as received:
            url = f"http://127.0.0.1:{http_port}/py"
            bench_http.ab_round(url, 2000, 16)  # warm
            time.sleep(1)
            own, kids = bench_http.tree_rss_mb(proc.pid)
            print(f"  start            daemon RSS {own:6.1f} MB   workers {kids:6.1f} MB   page rows {received():,}")
            done = 0
            while done < total:
                n = min(10_000, total - done)
                rps, failed = bench_http.ab_round(url, n, 16)
                done += n
                own, kids = bench_http.tree_rss_mb(proc.pid)
                print(f"  {done:>7,} requests  daemon RSS {own:6.1f} MB   workers {kids:6.1f} MB   "
                      f"page rows {received():,}   {rps:7,.0f} req/s" + (f"   {failed} failed" if failed else ""))


@contextlib.contextmanager
def _page(ui_port: int) -> Any:
    """A page on the live table; yields a function giving how many rows it has received."""
    base = f"http://127.0.0.1:{ui_port}/"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).exists():
        print(f"soak: no browser here (chromium or playwright missing): a plain server-sent-events reader on {base}")
        reader = SseReader(base + "api/events")
        try:
            yield lambda: reader.received
        finally:
            reader.close()
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(base + "#/live")
        page.locator("#conn.up").wait_for()
        print(f"soak: chromium has {base}#/live open")

        def received() -> int:
            return int(page.evaluate("window.routerDashboard.received || 0"))

        try:
            yield received
        finally:
            browser.close()


def journal_queries(rows: int) -> None:
    """The dashboard's queries on a state file holding ``rows`` journal rows (the default
    ``settings.journal.max_rows``): HTTP-like events of about 1 KB, 2 % failed, a tenth async
    (with an event id), a chain every 100 rows, one replay at the very start."""
    from router.dispatch import journal
    from router.invocation import Invocation
    from router.store import Store
    from router.ui import queries

    sample = {"version": "2.0", "rawPath": "/py", "headers": {f"x-h{i}": "v" * 40 for i in range(16)}}
    with tempfile.TemporaryDirectory(prefix="router-bench-ui-") as tmp:
        conn = Store(Path(tmp)).connect()
        batch = []
        for i in range(rows):
            extra: dict[str, Any] = {}
            if i % 100 == 1:
                extra["cause"] = {"function": "f0", "request_id": f"r{i - 1}"}
            if i == rows - 1:
                extra["replay_of"] = "r0"
            batch.append(Invocation(id=f"r{i}", function=f"f{i % 5}", source="http" if i % 10 else "s3",
                                    status="error" if i % 50 == 7 else "ok", started_at=1e9 + i,
                                    duration_ms=(i % 97) / 3, event=sample, logs="START ...\nEND ...\n",
                                    event_id=f"r{i}" if i % 10 == 0 else None, extra=extra))  # fmt: skip
            if len(batch) == 5000:
                journal.insert_many(conn, batch)
                batch = []
        journal.insert_many(conn, batch)
        size = Path(tmp, Store.FILENAME).stat().st_size / 1048576
        print(f"\njournal queries on {rows:,} rows ({size:.0f} MB state file), median of 5, in ms:")
        cases = [
            ("newest page (100)", lambda: queries.page(conn)),
            ("a page 50,000 rows back (cursor)", lambda: queries.page(conn, before=rows - 50_000)),
            ("failed only", lambda: queries.page(conn, status="failed")),
            ("one function", lambda: queries.page(conn, function="f3")),
            ("one function, failed", lambda: queries.page(conn, function="f3", status="error")),
            ("source s3 (a tenth)", lambda: queries.page(conn, source="s3")),
            ("source replay (none: a full walk)", lambda: queries.page(conn, source="replay")),
            ("overview stats", lambda: queries.stats(conn)),
            ("newest invocation + chain", lambda: queries.one(conn, seq=rows)),
            ("oldest invocation + chain", lambda: queries.one(conn, seq=1)),
            ("by request id, newest", lambda: queries.one(conn, invocation_id=f"r{rows - 1}")),
            ("by request id, oldest (a full walk)", lambda: queries.one(conn, invocation_id="r0")),
        ]
        for label, fn in cases:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
            print(f"  {label:<38} {statistics.median(times):8.1f}")
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="runs each way (5)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per run (10)")
    parser.add_argument("--soak", type=int, default=100_000, help="soak requests; 0 skips (100,000)")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--journal", type=int, default=100_000, help="journal rows for the queries; 0 skips")
    args = parser.parse_args()
    if args.journal:
        journal_queries(args.journal)
    if not args.skip_cost:
        cost(args.rounds, args.duration)
    if args.soak:
        print(f"\nsoak: {args.soak:,} requests at c=16 on GET /py (ab -k, rounds of 10,000) with the live table open")
        soak(args.soak)
    return 0


if __name__ == "__main__":
    sys.exit(main())
