#!/usr/bin/env python3
"""Time to first byte of a streaming Node.js handler, streamed versus buffered (issue 19).

    .venv/bin/python -P bench/streaming.py [--rounds 20] [--sleep-ms 500]   (-P: bench/http.py is not the stdlib)

One ``Router`` (real Node.js workers) with the handler ``node_stream/handlers.sleepy`` (an
``HttpResponseStream`` that writes one chunk, sleeps ``--sleep-ms``, writes another) behind
three doors:

- a function URL in ``RESPONSE_STREAM`` mode (the function's writes as they happen);
- the same function behind a ``BUFFERED`` function URL (what every HTTP trigger did before);
- ``InvokeWithResponseStream`` through boto3 on the embedded AWS (the first PayloadChunk).

Each round sends one request (warm workers, one at a time) and measures from the request's
send to the first byte of the body (the first chunk), then to the last. Prints the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.setdefault(key, "testing")

from router import Router  # noqa: E402

CONFIG = """
settings: {aws: {port: 0}}
functions:
  sleepy: {handler: node_stream/handlers.sleepy, runtime: nodejs22.x, timeout: 10}
triggers:
  - {name: streamed, function: sleepy, http: {url: {invoke_mode: RESPONSE_STREAM}}}
  - {name: buffered, function: sleepy, http: {url: {}}}
"""


def http_round(port: int, ms: int) -> tuple[float, float]:
    """(first body byte, last byte) in ms after the request was sent, over a raw socket."""
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        t0 = time.perf_counter()
        sock.sendall(f"GET /?ms={ms} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        buf, first = b"", None
        while True:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
            if first is None and b"\r\n\r\n" in buf and b"first;" in buf.split(b"\r\n\r\n", 1)[1]:
                first = time.perf_counter()
        last = time.perf_counter()
        assert b"first;" in buf and b"second" in buf, buf[-200:]
        assert first is not None
        return (first - t0) * 1000, (last - t0) * 1000
    finally:
        sock.close()


def sdk_round(client: object, ms: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = client.invoke_with_response_stream(  # type: ignore[attr-defined]
        FunctionName="sleepy", Payload=json.dumps({"ms": ms}).encode()
    )
    first = None
    for item in out["EventStream"]:
        if "PayloadChunk" in item and first is None:
            first = time.perf_counter()
    last = time.perf_counter()
    assert first is not None
    return (first - t0) * 1000, (last - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--sleep-ms", type=int, default=500)
    args = parser.parse_args()
    with Router.from_text(CONFIG, root=ROOT / "tests" / "fixtures" / "handlers") as router:
        urls = router.app.source("http").function_urls
        ports = {name: int(urls.url_of(name).rstrip("/").rsplit(":", 1)[1]) for name in ("streamed", "buffered")}
        client = router.aws.client("lambda")
        doors = {
            "function URL, RESPONSE_STREAM": lambda: http_round(ports["streamed"], args.sleep_ms),
            "function URL, BUFFERED (before)": lambda: http_round(ports["buffered"], args.sleep_ms),
            "InvokeWithResponseStream (boto3)": lambda: sdk_round(client, args.sleep_ms),
        }
        for run in doors.values():  # warm: a worker started, connections made
            run()
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in doors}
        for _ in range(args.rounds):  # interleaved, so machine load hits each door alike
            for name, run in doors.items():
                results[name].append(run())
    print(f"handler: write, sleep {args.sleep_ms} ms, write; {args.rounds} rounds each, medians")
    print(f"{'door':<36} {'first byte ms':>14} {'last byte ms':>13}")
    for name, rows in results.items():
        first = statistics.median(r[0] for r in rows)
        last = statistics.median(r[1] for r in rows)
        print(f"{name:<36} {first:>14.1f} {last:>13.1f}")


if __name__ == "__main__":
    main()
