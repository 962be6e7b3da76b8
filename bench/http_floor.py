#!/usr/bin/env python3
"""The floor under bench/http.py: the leanest Python front with Python worker processes.

    python -P bench/http_floor.py              # uvloop, a callback per request
    python -P bench/http_floor.py --task       # an asyncio task per request, as router does
    python -P bench/http_floor.py --asyncio    # asyncio's own loop

An HTTP server on uvloop + httptools hands every request to one of ``--workers`` Python
processes over a socketpair (a length-prefixed JSON frame each way: a canned API Gateway
event in, the handler's result out) and answers with the result's body. It builds no event,
keeps no journal, writes no logs and does no accounting: what is left is the cost of the
design itself (parse, one worker round trip, respond). It drives itself with ``wrk -t1`` at
concurrency 16 and prints requests/s and the CPU per request of the front and the workers.
Nothing here is router's code; it bounds what router's HTTP path could reach on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

import httptools
import psutil

FRAME = struct.Struct(">I")
EVENT = json.dumps({
    "version": "2.0", "routeKey": "GET /py", "rawPath": "/py", "rawQueryString": "",
    "headers": {"host": "127.0.0.1", "user-agent": "wrk", "x-forwarded-for": "127.0.0.1"},
    "requestContext": {
        "accountId": "123456789012", "apiId": "abcde12345", "domainName": "127.0.0.1",
        "domainPrefix": "127", "requestId": "JKJaXmPLvHcESHA=", "routeKey": "GET /py",
        "stage": "$default", "time": "22/Nov/2026:18:00:00 +0000", "timeEpoch": 1795370400000,
        "http": {"method": "GET", "path": "/py", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": "wrk"},
    },
    "isBase64Encoded": False,
}).encode()  # fmt: skip
WORKER = r"""
import json, socket, struct, sys
frame = struct.Struct(">I")
sock = socket.socket(fileno=int(sys.argv[1]))
def handler(event, context):
    return {"statusCode": 200, "body": "ok"}
buf = b""
while True:
    while len(buf) < 4 or len(buf) < 4 + frame.unpack_from(buf)[0]:
        data = sock.recv(65536)
        if not data:
            sys.exit(0)
        buf += data
    n = frame.unpack_from(buf)[0]
    message, buf = buf[4 : 4 + n], buf[4 + n :]
    out = json.dumps(handler(json.loads(message)["event"], None)).encode()
    sock.sendall(frame.pack(len(out)) + out)
"""
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"

Reply = Callable[[Any], None]


class WorkerChannel(asyncio.Protocol):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.buf = b""
        self.reply: Reply | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while len(self.buf) >= 4 and len(self.buf) >= 4 + FRAME.unpack_from(self.buf)[0]:
            n = FRAME.unpack_from(self.buf)[0]
            message, self.buf = self.buf[4 : 4 + n], self.buf[4 + n :]
            reply, self.reply = self.reply, None
            self.pool.free(self)
            if reply is not None:
                reply(json.loads(message))


class Pool:
    def __init__(self) -> None:
        self.idle: list[WorkerChannel] = []
        self.waiting: deque[tuple[bytes, Reply]] = deque()

    def call(self, payload: bytes, reply: Reply) -> None:
        if self.idle:
            self.send(self.idle.pop(), payload, reply)
        else:
            self.waiting.append((payload, reply))

    def free(self, worker: WorkerChannel) -> None:
        if self.waiting:
            self.send(worker, *self.waiting.popleft())
        else:
            self.idle.append(worker)

    @staticmethod
    def send(worker: WorkerChannel, payload: bytes, reply: Reply) -> None:
        assert worker.transport is not None
        worker.reply = reply
        worker.transport.write(FRAME.pack(len(payload)) + payload)


class Front(asyncio.Protocol):
    def __init__(self, pool: Pool, task: bool) -> None:
        self.pool = pool
        self.task = task
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        payload = b'{"event":' + EVENT + b"}"
        if not self.task:
            self.pool.call(payload, self.respond)
            return
        loop = asyncio.get_running_loop()
        task = loop.create_task(self.handle(payload))
        task.add_done_callback(lambda t: self.respond(t.result()))

    async def handle(self, payload: bytes) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pool.call(payload, fut.set_result)
        return await fut

    def respond(self, result: Any) -> None:
        if self.transport is not None and not self.transport.is_closing():
            body = str(result["body"]).encode()
            self.transport.write(RESPONSE % (len(body), body))


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    pool = Pool()
    procs = []
    for _ in range(args.workers):
        ours, theirs = socket.socketpair()
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(theirs.fileno())],
                                      pass_fds=[theirs.fileno()]))  # fmt: skip
        theirs.close()
        _, channel = await loop.connect_accepted_socket(lambda: WorkerChannel(pool), ours)
        pool.idle.append(channel)
    server = await loop.create_server(lambda: Front(pool, args.task), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/py"
    me = psutil.Process()

    def cpu() -> tuple[float, float]:
        t = me.cpu_times()
        return t.user + t.system, sum(sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs)

    await asyncio.to_thread(subprocess.run, ["wrk", "-t1", "-c16", "-d1s", url], capture_output=True)
    before = cpu()
    out = await asyncio.to_thread(subprocess.run, ["wrk", "-t1", "-c16", f"-d{args.duration}s", url],
                                  capture_output=True, text=True)  # fmt: skip
    after = cpu()
    requests = int(re.search(r"(\d+) requests in", out.stdout).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    front, workers = ((a - b) / requests * 1e6 for a, b in zip(after, before, strict=True))
    how = ("asyncio" if args.asyncio else "uvloop") + (", a task per request" if args.task else ", callbacks")
    print(f"floor ({how}, {args.workers} workers): {rps:,.0f} req/s at c=16, "
          f"CPU/req {front:.0f} us front + {workers:.0f} us workers")  # fmt: skip
    server.close()
    for proc in procs:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--task", action="store_true", help="an asyncio task per request")
    parser.add_argument("--asyncio", action="store_true", help="asyncio's loop, not uvloop")
    args = parser.parse_args()
    if args.asyncio:
        asyncio.run(serve(args))
    else:
        import uvloop

        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
