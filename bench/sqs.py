"""Benchmark of the SQS source through the whole router (embedded moto, the dispatcher, warm
Python workers running a no-op handler): how soon a message reaches the handler, and how many
messages per second a mapping delivers.

    .venv/bin/python bench/sqs.py [--singles 200] [--messages 10000] [--batch-size 10]

latency     ``--singles`` single SendMessage calls on an idle queue, one at a time: each waits
            for its invocation. Latency = the invocation's start (the runtime's ``started_at``)
            minus the moment SendMessage returned. p50 / p99 / max.
throughput  ``--messages`` messages put into the queue from a thread (in process, on moto's SQS
            backend: SendMessage over HTTP is the producer's cost, not the mapping's) while the
            mapping delivers; messages/s delivered from the first send to the last message's
            invocation, batches formed, and a check that every message arrived exactly once
            (no retries happen: the handler never fails, the visibility timeout is 5 minutes).
backlog     ``--messages`` messages already in the queue when the mapping starts (put in while it
            is paused): messages/s from its start to the last message's invocation.
http-send   the same with ``--http-messages`` messages sent with SendMessageBatch (10 a call)
            through the embedded server, as a handler or test would.
"""

from __future__ import annotations

import argparse
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


def config(root: Path, batch_size: int, window: float) -> Path:
    (root / "sink.py").write_text(HANDLER)
    path = root / "triggers.yaml"
    path.write_text(
        textwrap.dedent(f"""
        version: 1
        functions:
          sink: {{handler: sink.handler, timeout: 30, concurrency: 4}}
        resources:
          queues:
            single: {{visibility_timeout: 300}}
            bulk: {{visibility_timeout: 300}}
        triggers:
          - {{name: single, function: sink, sqs: single}}
          - {{name: bulk, function: sink, sqs: {{queue: bulk, batch_size: {batch_size}, batching_window: {window}}}}}
    """).lstrip()
    )
    return path


def latency(r: Router, n: int) -> dict[str, float]:
    client = r.aws.client("sqs")
    url = client.get_queue_url(QueueName="single")["QueueUrl"]
    r.invoke("sink", {})  # a warm worker
    r.clear()
    samples, from_call = [], []
    for i in range(n):
        called = time.time()
        client.send_message(QueueUrl=url, MessageBody=f"s{i}")
        sent = time.time()
        inv = r.wait("sink", trigger="single", timeout=30)
        samples.append((inv.started_at - sent) * 1000)
        from_call.append((inv.started_at - called) * 1000)
        time.sleep(0.02)  # an idle queue: the poller is back in its long poll
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1], "max": samples[-1],
            "p50_call": statistics.median(from_call)}  # fmt: skip


def throughput(r: Router, n: int, *, http: bool) -> dict[str, Any]:
    client = r.aws.client("sqs")
    url = client.get_queue_url(QueueName="bulk")["QueueUrl"]
    r.clear()
    started = time.time()
    calls: list[float] = []

    def send() -> None:
        if not http:  # in process, on moto's backend (bench code may touch moto; router's sources do not)
            from moto.sqs.models import sqs_backends

            s = r.app.config.settings
            backend = sqs_backends[s.account][s.region]
            for i in range(n):
                backend.send_message("bulk", f"b{i}")
            return
        for i in range(0, n, 10):
            t0 = time.perf_counter()
            client.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"b{i + j}"}
                                                              for j in range(min(10, n - i))])  # fmt: skip
            calls.append(time.perf_counter() - t0)

    sender = threading.Thread(target=send, name="bench-sender")
    sender.start()
    seen: Counter[str] = Counter()
    batches = 0
    last = started
    deadline = time.monotonic() + 600
    while len(seen) < n and time.monotonic() < deadline:
        try:
            inv = r.wait("sink", trigger="bulk", timeout=30)
        except AssertionError:
            break
        batches += 1
        last = inv.started_at + inv.duration_ms / 1000
        for rec in inv.event["Records"]:
            seen[rec["body"]] += 1
    sender.join()
    sent_done = time.time()
    if calls:
        calls.sort()
        print(f"            SendMessageBatch over HTTP: p50 {calls[len(calls) // 2] * 1000:.1f} ms a call, "
              f"max {calls[-1] * 1000:.1f} ms")
    elapsed = last - started
    return {"messages": n, "seconds": elapsed, "rate": len(seen) / elapsed, "batches": batches,
            "mean_batch": sum(seen.values()) / max(batches, 1), "lost": n - len(seen),
            "duplicated": sum(c - 1 for c in seen.values() if c > 1),
            "sender_seconds": sent_done - started}  # fmt: skip


def backlog(r: Router, n: int) -> dict[str, Any]:
    from moto.sqs.models import sqs_backends

    source = r.app.source("sqs")
    r.call(source.pause())
    s = r.app.config.settings
    backend = sqs_backends[s.account][s.region]
    for i in range(n):
        backend.send_message("bulk", f"k{i}")
    r.clear()
    started = time.time()
    r.call(source.reset())
    seen: Counter[str] = Counter()
    batches, last = 0, started
    while len(seen) < n:
        inv = r.wait("sink", trigger="bulk", timeout=60)
        batches += 1
        last = inv.started_at + inv.duration_ms / 1000
        for rec in inv.event["Records"]:
            seen[rec["body"]] += 1
    return {"messages": n, "seconds": last - started, "rate": n / (last - started), "batches": batches,
            "lost": n - len(seen), "duplicated": sum(c - 1 for c in seen.values() if c > 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--window", type=float, default=0)
    parser.add_argument("--http-messages", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Router(config(Path(tmp), args.batch_size, args.window)) as r:
        lat = latency(r, args.singles)
        print(f"latency     {args.singles} single messages, idle queue, SendMessage returned -> handler started: "
              f"p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms "
              f"(from SendMessage called: p50 {lat['p50_call']:.1f} ms)")  # fmt: skip
        for label, count, http in (("throughput", args.messages, False), ("http-send", args.http_messages, True)):
            if not count:
                continue
            t = throughput(r, count, http=http)
            print(f"{label:<11} {t['messages']} messages, batch size {args.batch_size}, window {args.window:g} s: "
                  f"{t['rate']:.0f} messages/s delivered ({t['seconds']:.2f} s from the first send to the last "
                  f"delivery; sending took {t['sender_seconds']:.2f} s); {t['batches']} batches, mean "
                  f"{t['mean_batch']:.1f}; {t['lost']} lost, {t['duplicated']} duplicated")  # fmt: skip
        b = backlog(r, args.messages)
        print(f"backlog     {b['messages']} messages in the queue at the mapping's start: {b['rate']:.0f} messages/s "
              f"({b['seconds']:.2f} s); {b['batches']} batches; {b['lost']} lost, {b['duplicated']} duplicated")
        info = {m["trigger"]: m for m in r.app.source("sqs").mappings()}["bulk"]
        print(f"mapping     received {info['received']}, delivered {info['delivered']}, failed {info['failed']}")


if __name__ == "__main__":
    main()
