"""A minimal HTTP/1.1 server for the dashboard, on the standard library's asyncio streams.

Why not the HTTP source's server (:mod:`router.sources.http_server`, httptools): that one is
tuned for the user's routes (API Gateway's limits, early answers, pipelining, graceful drain)
and is owned by the HTTP source; the dashboard needs none of it, but needs a long-lived
server-sent-events response, which that server does not stream. Its traffic is one person's
browser: a page, a few JSON calls, one event stream. A reader of asyncio's ``StreamReader``
(request line, headers, a ``Content-Length`` body; keep-alive; no chunked requests) is about a
hundred lines, keeps httptools inside its module (tests/test_imports.py) and keeps the
dashboard off the HTTP source's hot path: with nobody connected it costs nothing per request.

Who may talk to it (:class:`Gate`, the embedded AWS's rules of :mod:`router.aws_guard`):

- ``Host`` must name the bound address and port (a loopback name: ``127.0.0.1``, ``localhost``,
  ``[::1]``; or the host configured in ``settings.ui.host``). A page that made its own domain
  resolve to 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- A request with an ``Origin`` is refused unless that origin is this server's own (no CORS:
  no other site's page may read an answer), and so is a cross-site request
  (``Sec-Fetch-Site: cross-site|same-site``) that is not a plain GET of a page.
- Every state-changing call is a POST with the per-run token in ``X-Router-Token``; the page
  reads it from its own ``<meta>``, which another site cannot read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..aws_guard import Guard

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_BODY = 12 * 1024 * 1024  # a file dropped from the page (base64 of up to ~8 MB)
IDLE = 75.0  # seconds a kept-alive connection may sit idle
TOKEN_HEADER = "x-router-token"
REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed",
           409: "Conflict", 413: "Payload Too Large", 500: "Internal Server Error"}  # fmt: skip


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as exc:
            raise BadRequest(f"the request body is not JSON: {exc}") from None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    stream: AsyncIterator[bytes] | None = None  # server-sent events: written as they come


class BadRequest(Exception):
    """A request the API cannot serve: 400 with its message (or ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value, default=str).encode())


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


Handler = Callable[[Request], Awaitable[Response]]


class Gate:
    """Host, Origin and token checks for a server bound to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.port = port
        self.host = host.lower()
        self.token = secrets.token_urlsafe(24)
        self._loopback = Guard(port)

    def host_allowed(self, host_header: str) -> bool:
        if self._loopback.host_allowed(host_header):
            return True
        bound = f"[{self.host}]" if ":" in self.host else self.host
        return host_header.strip().lower() in (f"{bound}:{self.port}",) and self.host not in ("0.0.0.0", "::")

    def refuse(self, req: Request) -> str | None:
        """Why ``req`` is refused, or None."""
        host = req.headers.get("host", "")
        if not self.host_allowed(host):
            return (f"the dashboard answers only requests addressed to its own address (127.0.0.1:{self.port}, "
                    f"localhost:{self.port}); Host {host!r} is refused (a page reaching it through DNS "
                    "rebinding)")  # fmt: skip
        origin = req.headers.get("origin")
        if origin is not None and origin.lower() != f"http://{host.strip().lower()}":
            return f"the dashboard refuses requests from origin {origin!r} (another site's page)"
        site = req.headers.get("sec-fetch-site", "").lower()
        if site in ("cross-site", "same-site") and not (req.method == "GET" and not req.path.startswith("/api/")):
            return "the dashboard refuses cross-site requests"
        if req.method == "POST" and not secrets.compare_digest(req.headers.get(TOKEN_HEADER, ""), self.token):
            return f"a POST needs this run's token in the {TOKEN_HEADER} header (the dashboard page has it)"
        return None


class Server:
    """Serves ``handler`` on ``host:port`` behind :class:`Gate`."""

    def __init__(self, handler: Handler, host: str, port: int) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.gate: Gate | None = None
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]
        self.gate = Gate(self.host, self.port)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is to close."""
        req = await _read_request(reader)
        if req is None:
            return False
        if isinstance(req, Response):
            await _write(writer, req, keep_alive=False)
            return False
        assert self.gate is not None
        why = self.gate.refuse(req)
        if why is not None:
            log.info("dashboard: refused %s %s: %s", req.method, req.path, why)
            resp = error_response(403, why)
        else:
            try:
                resp = await self.handler(req)
            except BadRequest as exc:
                resp = error_response(exc.status, str(exc))
            except Exception as exc:
                log.exception("dashboard: %s %s failed", req.method, req.path)
                resp = error_response(500, f"{type(exc).__name__}: {exc}")
        keep = req.headers.get("connection", "").lower() != "close" and resp.stream is None
        await _write(writer, resp, keep_alive=keep)
        if resp.stream is not None:
            await _stream(writer, resp.stream)
            return False
        return keep


async def _read_request(reader: asyncio.StreamReader) -> Request | Response | None:
    try:
        async with asyncio.timeout(IDLE):  # (not wait_for: it can swallow a cancel on 3.11, gh-86296)
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, TimeoutError):
        return None
    except asyncio.LimitOverrunError:
        return error_response(413, "request head too large")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return error_response(400, "malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                return error_response(400, f"malformed header line {line[:60]!r}")
            headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        return error_response(400, "chunked request bodies are not supported (send Content-Length)")
    try:
        size = int(headers.get("content-length", "0"))
    except ValueError:
        return error_response(400, "malformed Content-Length")
    if size > MAX_BODY or size < 0:
        return error_response(413, f"a request body has at most {MAX_BODY} bytes")
    body = await reader.readexactly(size) if size else b""
    url = urlsplit(parts[1])
    return Request(parts[0].upper(), url.path, dict(parse_qsl(url.query)), headers, body)


async def _write(writer: asyncio.StreamWriter, resp: Response, *, keep_alive: bool) -> None:
    headers = {"Content-Type": resp.content_type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
               "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
               **resp.headers}  # fmt: skip
    if resp.stream is None:
        headers["Content-Length"] = str(len(resp.body))
        headers["Connection"] = "keep-alive" if keep_alive else "close"
    else:
        headers["Connection"] = "close"
    head = f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Unknown')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    writer.write(head.encode("latin-1") + b"\r\n" + resp.body)
    await writer.drain()


async def _stream(writer: asyncio.StreamWriter, chunks: AsyncIterator[bytes]) -> None:
    try:
        async for chunk in chunks:
            if writer.is_closing():
                break
            writer.write(chunk)
            await writer.drain()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
