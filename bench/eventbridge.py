"""Benchmark of EventBridge triggers through the whole router (embedded moto, PutEvents wrapped
by router/aws_pubsub, 20 rules matched by router/filters, the durable async queue, warm Python
workers running a no-op handler).

    .venv/bin/python bench/eventbridge.py [--entries 10000] [--senders 4] [--paced 200] [--every 0.02]

20 rules on the default bus: rule j matches ``source: [bench]``, ``detail.group: [j % 10]`` and
``detail.n`` numeric ``>= 0`` for j < 10, ``< 0`` for j >= 10, and a ``detail-type`` prefix, so
every entry matches exactly one rule and is checked against all 20.

throughput  ``--entries`` entries in PutEvents calls of 10, from ``--senders`` threads of another
            process (the client's work is not router's) as fast as the embedded AWS takes them:
            matched deliveries/s from the first delivery (or call's return) to the last
            invocation's end; every entry delivered exactly once; latency of each entry
            from its PutEvents call's return to its invocation's start (``started_at``).
latency     ``--paced`` PutEvents calls of 10 entries, one every ``--every`` seconds (below
            capacity), each waiting for its 10 invocations: PutEvents returned -> handler
            started, per entry. Negative when the handler starts before the answer reaches
            the client: the answer is sent once the events are committed to the queue.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

# bench/http.py would shadow the standard library's http package that router imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from router import Router  # noqa: E402

HANDLER = "def handler(event, context):\n    return None\n"
RULES = 20


def config(root: Path) -> Path:
    (root / "sink.py").write_text(HANDLER)
    rules = []
    for j in range(RULES):
        n = '[">=", 0]' if j < 10 else '["<", 0]'
        rules.append(f'  - {{name: rule{j}, function: sink, eventbridge: {{pattern: {{source: [bench], '
                     f'detail-type: [{{prefix: "order"}}], detail: {{group: [{j % 10}], n: [{{numeric: {n}}}]}}}}}}}}')
    path = root / "triggers.yaml"
    path.write_text(textwrap.dedent("""
        version: 1
        functions:
          sink: {handler: sink.handler, timeout: 30, concurrency: 4}
        triggers:
        """).lstrip() + "\n".join(rules) + "\n")  # fmt: skip
    return path


def entry(i: int) -> dict[str, Any]:
    return {"Source": "bench", "DetailType": "order placed", "Detail": json.dumps({"n": i, "group": i % 10})}


def _sender(endpoint: str, region: str, n: int, senders: int, out: Any) -> None:
    """In its own process (a client is not router), ``senders`` threads call PutEvents with 10
    entries each: the API's wire format (JSON 1.1, ``X-Amz-Target: AWSEvents.PutEvents``, SigV4 as
    botocore signs it) over a keep-alive connection, without boto3's per-call machinery (about
    5 ms a call on this machine, which would compete with router for the 2 cores). Sends
    {EventId: when its call returned}."""
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = Credentials("testing", "testing", "testing")
    where = urlsplit(endpoint)
    returned: dict[str, float] = {}
    lock = threading.Lock()

    def send(part: int) -> None:
        conn = http.client.HTTPConnection(where.hostname, where.port)
        for i in range(part * 10, n, 10 * senders):
            body = json.dumps({"Entries": [entry(k) for k in range(i, min(i + 10, n))]})
            request = AWSRequest(method="POST", url=f"{endpoint}/", data=body, headers={
                "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"})  # fmt: skip
            SigV4Auth(creds, "events", region).add_auth(request)
            conn.request("POST", "/", body, dict(request.headers.items()))
            answer = json.loads(conn.getresponse().read())
            now = time.time()
            assert answer["FailedEntryCount"] == 0, answer
            with lock:
                returned.update((e["EventId"], now) for e in answer["Entries"])
        conn.close()

    threads = [threading.Thread(target=send, args=(p,)) for p in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(returned)


def throughput(r: Router, n: int, senders: int) -> dict[str, Any]:
    import multiprocessing

    r.clear()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_sender, args=(r.aws.endpoint_url, r.app.config.settings.region, n, senders, out))
    proc.start()
    seen: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    starts: dict[str, float] = {}
    first, last = float("inf"), 0.0
    deadline = time.monotonic() + 600
    while len(seen) < n and time.monotonic() < deadline:
        inv = r.wait("sink", timeout=60)
        event_id = inv.event["id"]
        seen[event_id] += 1
        rules[str(inv.trigger)] += 1
        starts[event_id] = inv.started_at
        first = min(first, inv.started_at)
        last = max(last, inv.started_at + inv.duration_ms / 1000)
    returned: dict[str, float] = out.get(timeout=60)
    proc.join()
    lat = sorted((starts[e] - returned[e]) * 1000 for e in starts if e in returned)
    started = min(returned.values()) - 0.0  # the first call's return (its send is a few ms before)
    elapsed = last - min(first, started)
    return {"entries": n, "seconds": elapsed, "rate": len(seen) / elapsed, "lost": n - len(seen),
            "duplicated": sum(c - 1 for c in seen.values() if c > 1), "rules": len(rules),
            "p50": statistics.median(lat), "p99": lat[int(len(lat) * 0.99) - 1], "max": lat[-1]}  # fmt: skip


def latency(r: Router, calls: int, every: float) -> dict[str, float]:
    """PutEvents of 10 entries every ``every`` seconds (below capacity): each entry's latency."""
    client = r.aws.client("events")
    r.clear()
    samples = []
    for i in range(calls):
        answer = client.put_events(Entries=[entry(i * 10 + k) for k in range(10)])
        sent = time.time()
        for inv in r.wait("sink", count=10, timeout=30):
            samples.append((inv.started_at - sent) * 1000)
        assert {e["EventId"] for e in answer["Entries"]} >= {inv.event["id"] for inv in r.invocations("sink")[-10:]}
        time.sleep(max(0.0, every - (time.time() - sent)))
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1], "max": samples[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--paced", type=int, default=200, help="PutEvents calls of 10 in the paced phase")
    parser.add_argument("--every", type=float, default=0.02, help="seconds between paced calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Router(config(Path(tmp))) as r:
        r.invoke("sink", {})  # warm workers
        t = throughput(r, args.entries, args.senders)
        print(f"throughput  {t['entries']} entries in PutEvents of 10 from {args.senders} threads, {RULES} rules: "
              f"{t['rate']:.0f} matched deliveries/s ({t['seconds']:.2f} s from the first call to the last "
              f"invocation's end); {t['lost']} lost, {t['duplicated']} duplicated, {t['rules']} rules hit")  # fmt: skip
        print(f"            PutEvents returned -> handler started, under load: p50 {t['p50']:.1f} ms, "
              f"p99 {t['p99']:.1f} ms, max {t['max']:.1f} ms")  # fmt: skip
        lat = latency(r, args.paced, args.every)
        print(f"latency     {args.paced} PutEvents of 10, one every {args.every * 1000:g} ms "
              f"({10 / args.every:.0f} entries/s): PutEvents returned -> handler started: "
              f"p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
