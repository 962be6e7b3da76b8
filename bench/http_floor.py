#!/usr/bin/env python3
"""The floor under bench/http.py: the leanest Python front with Python worker processes.

    python -P bench/http_floor.py              # uvloop, a callback per request
    python -P bench/http_floor.py --task       # an asyncio task per request, as router does
    python -P bench/http_floor.py --asyncio    # asyncio's own loop
    python -P bench/http_floor.py --work       # plus the work router must do per request

An HTTP server on uvloop + httptools hands every request to one of ``--workers`` Python
processes over a socketpair (a length-prefixed JSON frame each way: a canned API Gateway
event in, the handler's result out) and answers with the result's body. It builds no event,
keeps no journal, writes no logs and does no accounting: what is left is the cost of the
design itself (parse, one worker round trip, respond). It drives itself with ``wrk -t1`` at
concurrency 16 and prints requests/s and the CPU per request of the front and the workers.
Nothing here is router's code; it bounds what router's HTTP path could reach on this machine.

``--work`` adds, with router's own pieces, what every request must cost whatever the design:
the real event (route match, ``http_api.build_event``, its JSON), router's Python worker
child (``python_worker.py``: the Lambda context, the M frame, its output pipe drained after
each reply), the START/END/REPORT lines written to a console file every 10 ms, the
Invocation journaled through ``JournalWriter`` (its process and SQLite), and the response
mapped (``http_api.map_response``) and encoded (``encode_response``). No layering: one
callback chain. The gap between this and router is the cost of router's structure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
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
    """Idle worker channels and the calls waiting for one; ``frame`` makes a call's bytes."""

    def __init__(self, frame: Callable[[bytes], bytes]) -> None:
        self.frame = frame
        self.idle: list[Any] = []
        self.waiting: deque[tuple[bytes, Reply]] = deque()

    def call(self, payload: bytes, reply: Reply) -> None:
        if self.idle:
            self.send(self.idle.pop(), payload, reply)
        else:
            self.waiting.append((payload, reply))

    def free(self, worker: Any) -> None:
        if self.waiting:
            self.send(worker, *self.waiting.popleft())
        else:
            self.idle.append(worker)

    def send(self, worker: Any, payload: bytes, reply: Reply) -> None:
        assert worker.transport is not None
        worker.reply = reply
        worker.transport.write(self.frame(payload))


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


class Work:
    """What router must do per request (``--work``), with router's pieces, in one chain."""

    HANDLER = 'def handler(event, context):\n    return {"statusCode": 200, "body": "ok"}\n'

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from router.config import load_config
        from router.dispatch.journal_writer import JournalWriter
        from router.events import http_api
        from router.events.http import HttpRequest
        from router.invocation import Invocation
        from router.runtimes import logs
        from router.sources.http import http_routes
        from router.sources.http_wire import encode_response
        from router.store import Store

        self.loop = loop
        self.dir = tempfile.mkdtemp(prefix="router-floor-")
        with open(os.path.join(self.dir, "app.py"), "w") as f:
            f.write(self.HANDLER)
        with open(os.path.join(self.dir, "triggers.yaml"), "w") as f:
            f.write("version: 1\nfunctions: {py: {handler: app.handler}}\n"
                    "triggers: [{function: py, http: 'GET /py'}]\n")  # fmt: skip
        config = load_config(os.path.join(self.dir, "triggers.yaml"))
        self.table = http_routes([t for t in config.triggers if t.kind == "http"])
        self.journal = JournalWriter(Store(config.state_dir))
        self.journal.start(loop)
        self.console = open(os.path.join(self.dir, "console.log"), "w")  # noqa: SIM115
        self.lines: list[str] = []
        loop.call_later(0.01, self.flush)
        self.HttpRequest, self.Invocation, self.http_api = HttpRequest, Invocation, http_api
        self.logs, self.encode_response = logs, encode_response

    def flush(self) -> None:
        if self.console.closed:
            return
        if self.lines:
            self.console.write("\n".join(self.lines) + "\n")
            self.lines.clear()
        self.loop.call_later(0.01, self.flush)

    def worker_argv(self, fd: int) -> tuple[list[str], dict[str, str]]:
        from router.runtimes.python import WORKER

        env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_FUNCTION_NAME": "py",
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
               "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/py", "AWS_LAMBDA_LOG_STREAM_NAME": "s",
               "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip
        arn = "arn:aws:lambda:us-east-1:123456789012:function:py"
        return [sys.executable, "-u", str(WORKER), str(fd), "app.handler", self.dir, arn], env

    def close(self) -> None:
        self.journal.close()
        self.console.close()


class RealWorker(asyncio.Protocol):
    """router's python_worker.py on its socketpair (``!IB`` frames) and its output pipe."""

    HEADER = struct.Struct("!IB")

    def __init__(self, pool: Pool, log_fd: int) -> None:
        self.pool = pool
        self.log_fd = log_fd
        self.buf = bytearray()
        self.reply: Callable[[bytes], None] | None = None
        self.transport: asyncio.Transport | None = None
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        start = 0
        while len(buf) - start >= 5:
            length, kind = self.HEADER.unpack_from(buf, start)
            end = start + 5 + length
            if len(buf) < end:
                break
            payload = bytes(buf[start + 5 : end])
            start = end
            if kind == ord("R"):
                self.ready.set_result(None)
            elif kind != ord("M"):
                try:  # the output the handler wrote before its reply
                    os.read(self.log_fd, 65536)
                except BlockingIOError:
                    pass
                reply, self.reply = self.reply, None
                self.pool.free(self)
                if reply is not None:
                    reply(payload)
        del buf[:start]


class WorkFront(asyncio.Protocol):
    """An HTTP front doing ``Work`` for every request, on one callback chain."""

    def __init__(self, pool: Pool, work: Work) -> None:
        self.pool = pool
        self.work = work
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: list[tuple[str, str]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url
        self.headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode(), value.decode()))

    def on_message_complete(self) -> None:
        w = self.work
        path, _, query = self.url.decode().partition("?")
        method = self.parser.get_method().decode()
        request = w.HttpRequest(method, path, query, self.headers)
        found = w.table.match(method, path)
        request_id = f"{random.getrandbits(128):032x}"
        event = w.http_api.build_event(request, found.matched, request_id=request_id,
                                       time=time.time(), account="123456789012",
                                       api_id="abcde12345")  # fmt: skip
        event_json = json.dumps(event, separators=(",", ":"))
        started_at = time.time()
        deadline_ms = int((started_at + 3) * 1000)
        payload = f'["{request_id}",{deadline_ms},null,{event_json}]'.encode()
        t0 = time.perf_counter()

        def reply(data: bytes) -> None:
            duration = (time.perf_counter() - t0) * 1000
            result = json.loads(data)
            logs = w.logs
            lines = [logs.start_line(request_id), logs.end_line(request_id),
                     logs.report_line(request_id, duration, logs.billed_ms(duration), 128, 20, None)]  # fmt: skip
            w.lines.extend(f"[py] {line}" for line in lines)
            inv = w.Invocation(id=request_id, function="py", trigger="t", source="http",
                               event=event, result=result, started_at=started_at,
                               duration_ms=duration, logs="\n".join(lines) + "\n")  # fmt: skip
            inv.set_event_json(event_json)
            w.journal.append(inv)
            resp = w.http_api.map_response(result, None)
            resp.headers.append(("Apigw-Requestid", request_id))
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(w.encode_response(resp, keep_alive=True))

        self.pool.call(payload, reply)


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    if args.work:
        await serve_work(args)
        return
    pool = Pool(lambda payload: FRAME.pack(len(payload)) + payload)
    procs = []
    for _ in range(args.workers):
        ours, theirs = socket.socketpair()
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(theirs.fileno())],
                                      pass_fds=[theirs.fileno()]))  # fmt: skip
        theirs.close()
        _, channel = await loop.connect_accepted_socket(lambda: WorkerChannel(pool), ours)
        pool.idle.append(channel)
    server = await loop.create_server(lambda: Front(pool, args.task), "127.0.0.1", 0)
    how = ("asyncio" if args.asyncio else "uvloop") + (", a task per request" if args.task else ", callbacks")
    await drive(server, [p.pid for p in procs], f"floor ({how}, {args.workers} workers)", args)
    for proc in procs:
        proc.kill()
        proc.wait()


async def serve_work(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    work = Work(loop)
    pool = Pool(lambda payload: RealWorker.HEADER.pack(len(payload), ord("I")) + payload)
    procs = []
    for _ in range(args.workers):
        ours, theirs = socket.socketpair()
        read_fd, write_fd = os.pipe()
        argv, env = work.worker_argv(theirs.fileno())
        procs.append(subprocess.Popen(argv, env=env, cwd=work.dir, stdout=write_fd, stderr=write_fd,
                                      pass_fds=[theirs.fileno()]))  # fmt: skip
        theirs.close()
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        worker = RealWorker(pool, read_fd)
        await loop.connect_accepted_socket(lambda w=worker: w, ours)  # type: ignore[misc]
        await worker.ready
        pool.idle.append(worker)
    server = await loop.create_server(lambda: WorkFront(pool, work), "127.0.0.1", 0)
    await asyncio.sleep(0.1)  # the journal process starts with the first row; let it
    pids = [p.pid for p in procs]
    name = f"floor + router's work ({args.workers} workers)"
    await drive(server, pids, name, args, journal=work.journal)
    await asyncio.sleep(0.05)
    work.close()
    for proc in procs:
        proc.kill()
        proc.wait()


async def drive(server: asyncio.Server, pids: list[int], name: str, args: argparse.Namespace,
                journal: Any = None) -> None:  # fmt: skip
    port = server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/py"
    me = psutil.Process()

    def cpu() -> tuple[float, float, float]:
        t = me.cpu_times()
        jpid = journal.pid if journal is not None else None
        return (t.user + t.system, sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids),
                sum(psutil.Process(jpid).cpu_times()[:2]) if jpid else 0.0)  # fmt: skip

    await asyncio.to_thread(subprocess.run, ["wrk", "-t1", "-c16", "-d1s", url], capture_output=True)
    before = cpu()
    out = await asyncio.to_thread(subprocess.run, ["wrk", "-t1", "-c16", f"-d{args.duration}s", url],
                                  capture_output=True, text=True)  # fmt: skip
    after = cpu()
    requests = int(re.search(r"(\d+) requests in", out.stdout).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    front, workers, jour = ((a - b) / requests * 1e6 for a, b in zip(after, before, strict=True))
    print(f"{name}: {rps:,.0f} req/s at c=16, CPU/req {front:.0f} us front + {workers:.0f} us workers"
          + (f" + {jour:.0f} us journal process" if journal is not None else ""))
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--task", action="store_true", help="an asyncio task per request")
    parser.add_argument("--asyncio", action="store_true", help="asyncio's loop, not uvloop")
    parser.add_argument("--work", action="store_true", help="plus router's work per request")
    args = parser.parse_args()
    if args.asyncio:
        asyncio.run(serve(args))
    else:
        import uvloop

        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
