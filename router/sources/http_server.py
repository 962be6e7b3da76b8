"""A small, fast HTTP/1.1 server: an :class:`asyncio.Protocol` around httptools' parser.

This is the one module that imports the HTTP server library. It knows nothing of API
Gateway: it turns bytes into :class:`~router.events.http.HttpRequest`, awaits the
handler it was given, and writes the :class:`~router.events.http.HttpResponse` back.

- keep-alive (HTTP/1.1 default, ``Connection: close`` honoured, HTTP/1.0 closes unless
  asked), pipelining-safe: requests on one connection are handled one after another and
  answered in order; reading pauses while too many wait;
- a body over ``max_body`` bytes gets a 413 (from Content-Length before reading it, or as
  it streams in) and the connection closes; a malformed request gets a 400 and closes;
- ``Expect: 100-continue`` is answered, so clients that ask do not stall;
- a handler may stream its answer (``early.stream(status, headers)``: a :class:`StreamWriter`):
  the head goes at once with ``Transfer-Encoding: chunked`` (an HTTP/1.0 client gets the bytes
  as they come and the connection closes at the end), each ``write`` is a chunk as it comes,
  ``end`` writes the last chunk, ``abort`` closes the connection without it (the client sees
  an incomplete response); the next request on the connection waits for the end;
- no thread, no blocking call: one task per request, on the loop.

Bounded under abuse (API Gateway's quotas where it has one, router's guards elsewhere):

- a request line over :data:`MAX_URL` bytes gets 414; request line and header values over
  :data:`MAX_HEAD` bytes, more than :data:`MAX_HEADERS` headers or a raw head (names and line
  ends too) over :data:`MAX_HEAD_RAW` bytes get 431; each then closes. Nothing past the
  limit is buffered;
- a request whose line and headers are not all in :data:`HEADER_TIMEOUT` seconds after its
  first byte gets 408 and is closed (slowloris); a connection idle :data:`IDLE_TIMEOUT`
  seconds is closed;
- at most :data:`MAX_CONNECTIONS` connections (and no more than half the open-file limit):
  beyond, a new connection is answered 503 and closed, logged once per episode;
- ``CONNECT`` (an authority, not a path) goes to the handler with that authority as its path,
  so it gets API Gateway's no-route answer; a method the parser does not know gets 400;
  an ``Upgrade`` request is answered and the connection closed (no WebSocket or h2c here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Protocol, cast

import httptools

from ..events.http import HttpRequest, HttpResponse, json_response
from .http_wire import StreamWriter, _head, encode_response

log = logging.getLogger(__name__)



class Early(Protocol):
    """What a handler gets with its request: ``early(response)`` answers the request now (API
    Gateway's integration timeout) while the handler runs on, and it then returns None; False
    when it was answered already. ``early.stream(status, headers)`` starts a streamed answer
    (None when the request was answered already); the handler then returns None."""

    def __call__(self, resp: HttpResponse) -> bool: ...

    def stream(self, status: int, headers: list[tuple[str, str]]) -> StreamWriter | None: ...


Handler = Callable[[HttpRequest, Early], Coroutine[object, object, HttpResponse | None]]
ErrorResponse = Callable[[int, str], HttpResponse]

IDLE_TIMEOUT = 60.0  # seconds a keep-alive connection may sit idle before it is closed
# API Gateway quotas (REST and HTTP API): "Total combined size of request line and header
# values: 10240 bytes"; REST: "Length, in characters, of the URL for a regional API: 10240"
MAX_HEAD = 10240
MAX_URL = 10240
MAX_HEADERS = 500  # router's guard (API Gateway documents no count)
MAX_HEAD_RAW = 32 * 1024  # router's guard: a head's raw bytes, names and line ends included
HEADER_TIMEOUT = 10.0  # seconds from a request's first byte to the end of its headers (router's guard)
MAX_CONNECTIONS = 1024  # open connections; also at most half the soft open-file limit
LINGER = 2.0  # seconds an erroring connection is drained before it closes
MAX_WAITING = 32  # pipelined requests queued on one connection before reading pauses
class _Answer:
    """The :class:`Early` of one request on one connection."""

    __slots__ = ("_conn", "_request")

    def __init__(self, conn: HttpProtocol, request: HttpRequest) -> None:
        self._conn, self._request = conn, request

    def __call__(self, resp: HttpResponse) -> bool:
        return self._conn._early(self._request, resp)

    def stream(self, status: int, headers: list[tuple[str, str]]) -> StreamWriter | None:
        return self._conn._stream(self._request, status, headers)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def plain_error(status: int, message: str) -> HttpResponse:
    return json_response(status, {"message": message})


class _TooLarge(Exception):
    pass


class _Refused(Exception):
    """A request refused while it is parsed: answer ``status`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer = "127.0.0.1"
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.waiting: deque[tuple[HttpRequest | HttpResponse, bool]] = deque()
        self.task: asyncio.Task[HttpResponse | None] | None = None
        self.current: HttpRequest | None = None
        self.streaming: StreamWriter | None = None  # the current request's streamed answer, once started
        self.current_keep_alive = True
        self.current_head = False
        self.current_http10 = False
        self.closing = False
        self.paused = False
        self.peer_done = False  # the client half-closed: answer what it sent, then close
        self.last_active = server.loop.time()
        self.reading_head = True  # between requests or in a request's line and headers
        self.head_started: float | None = None  # loop time of the first byte of the head in progress
        self.head_size = 0  # request line and header values (API Gateway's measure)
        self.head_raw = 0  # raw bytes received while reading a head

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's is not a subclass)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer = str(peer[0])
        if self.server.stopping:
            self.transport.close()
            return
        if not self.server.admit(self):
            self.closing = True
            self.transport.write(encode_response(self.server.error_response(503, "Service Unavailable"),
                                                 keep_alive=False))  # fmt: skip
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.waiting.clear()
        self.server.connections.discard(self)

    def eof_received(self) -> bool | None:
        if self.task is None and not self.waiting:
            return None  # nothing owed: let the transport close
        self.peer_done = True
        return True  # keep the write side open for the answers still owed

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_active = self.server.loop.time()
        if self.reading_head:
            self.head_raw += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            if isinstance(e.__context__, _TooLarge):
                self._fail(413, "Request Too Long")
            elif isinstance(e.__context__, _Refused):
                log.info("HTTP request from %s refused: %s", self.peer, e.__context__)
                self._fail(e.__context__.status, e.__context__.message)
            else:
                log.exception("HTTP request handling failed")
                self._fail(500, "Internal Server Error")
            return
        except httptools.HttpParserUpgrade:
            self._upgrade()
            return
        except httptools.HttpParserError as e:
            log.debug("malformed HTTP request from %s: %s", self.peer, e)
            self._fail(400, "Bad Request")
            return
        if self.head_started is not None and self.head_raw > MAX_HEAD_RAW:
            log.info("HTTP request from %s refused: a head over %d bytes", self.peer, MAX_HEAD_RAW)
            self._fail(431, "Request Header Fields Too Large")

    def _upgrade(self) -> None:
        """An ``Upgrade`` (or CONNECT) request: answer what was parsed, then close."""
        self.closing = True
        if self.waiting:
            item, _ = self.waiting.pop()
            self.waiting.append((item, False))
        elif self.task is not None:
            self.current_keep_alive = False
        elif self.transport is not None:
            self.transport.close()

    def _fail(self, status: int, message: str) -> None:
        """Answer ``status`` after what is already queued, then close; read no more."""
        self.closing = True
        self.waiting.append((self.server.error_response(status, message), False))
        if self.task is None:
            self._next()

    def check_head(self, now: float) -> None:
        """A request head not complete :data:`HEADER_TIMEOUT` seconds after its first byte: 408."""
        if self.head_started is not None and not self.closing and now - self.head_started >= HEADER_TIMEOUT:
            log.info("HTTP request from %s: headers not complete after %g s: 408", self.peer, HEADER_TIMEOUT)
            self.head_started = None
            self._fail(408, "Request Timeout")

    def close_idle(self, older_than: float = 0.0) -> None:
        """Close the connection when no request is on it (and it has been quiet
        ``older_than`` seconds)."""
        if self.task is None and not self.waiting and self.transport is not None:
            if self.server.loop.time() - self.last_active >= older_than:
                self.transport.close()

    # ------------------------------------------------------------------ parser callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []
        self.size = 0
        self.head_size = 0
        self.head_started = self.server.loop.time()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_size += len(url)
        if len(self.url) > MAX_URL:
            raise _Refused(414, "Request-URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(value)
        if self.head_size > MAX_HEAD or len(self.headers) >= MAX_HEADERS:
            raise _Refused(431, "Request Header Fields Too Large")
        self.headers.append((name.decode("latin-1"), _decode(value)))

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.head_started = None
        self.head_raw = 0
        length = next((v for k, v in self.headers if k.lower() == "content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.server.max_body:
            raise _TooLarge
        expect = next((v for k, v in self.headers if k.lower() == "expect"), None)
        if expect is not None and expect.lower() == "100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.server.max_body:
            raise _TooLarge
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.reading_head = True
        url = self.url
        if not url.startswith(b"/"):
            try:
                parsed = httptools.parse_url(url)  # absolute-form or "*"
                path, query = parsed.path or b"/", parsed.query or b""
            except httptools.HttpParserInvalidURLError:
                if self.parser.get_method() != b"CONNECT":
                    raise _Refused(400, "Bad Request") from None
                path, query = url, b""  # authority-form: no route has it, so API Gateway's no-route answer
        else:
            path, _, query = url.partition(b"?")
            path = path.split(b"#", 1)[0]
        version = self.parser.get_http_version()
        request = HttpRequest(
            method=self.parser.get_method().decode("ascii"),
            path=_decode(path),
            query_string=_decode(query.split(b"#", 1)[0]),
            headers=self.headers,
            body=b"".join(self.body) if len(self.body) != 1 else self.body[0],
            source_ip=self.peer,
            protocol=f"HTTP/{version}",
        )
        self.body = []  # (the request has it: the chunks go now, not when the next request or a GC cycle comes)
        self.waiting.append((request, self.parser.should_keep_alive()))
        if self.task is None:
            self._next()
        elif len(self.waiting) > MAX_WAITING and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    # ------------------------------------------------------------------ handling
    def _next(self) -> None:
        while self.waiting:
            item, keep_alive = self.waiting.popleft()
            if isinstance(item, HttpResponse):
                self._write(item, keep_alive=False, head=False, linger=True)
                return
            self.current_keep_alive = keep_alive
            self.current_head = item.method == "HEAD"
            self.current_http10 = item.protocol == "HTTP/1.0"
            task = self.server.loop.create_task(self.server.handle(item, _Answer(self, item)))
            self.task, self.current = task, item
            task.add_done_callback(self._done)
            return
        if self.paused and self.transport is not None and not self.closing:
            self.paused = False
            self.transport.resume_reading()

    def _early(self, request: HttpRequest, resp: HttpResponse) -> bool:
        """Answer ``request`` now, if it is still the one in progress; its task runs on,
        detached from the connection (the server waits for it when it stops)."""
        task = self.task
        if task is None or self.current is not request or task.done() or self.streaming is not None:
            return False
        task.remove_done_callback(self._done)
        self.server.detach(task)
        self._answer(resp)
        return True

    def _stream(self, request: HttpRequest, status: int, headers: list[tuple[str, str]]) -> StreamWriter | None:
        """Start the streamed answer of ``request``, if it is still the one in progress."""
        task, transport = self.task, self.transport
        if (task is None or self.current is not request or task.done() or self.streaming is not None
                or transport is None or transport.is_closing()):  # fmt: skip
            return None
        http10 = self.current_http10
        keep_alive = self.current_keep_alive and not self.server.stopping and not http10
        if self.peer_done and not self.waiting:
            keep_alive = False
        self.current_keep_alive = keep_alive
        body = not (self.current_head or status in (204, 304) or 100 <= status < 200)
        out = _head(status, headers, keep_alive=keep_alive, http10=False)
        if body and not http10:
            out.append(b"Transfer-Encoding: chunked\r\n")
        out.append(b"\r\n")
        transport.write(b"".join(out))
        self.streaming = StreamWriter(self, chunked=not http10, body=body)
        return self.streaming

    def _stream_done(self, task: asyncio.Task[HttpResponse | None], writer: StreamWriter) -> None:
        """The handler of a streamed answer returned: the answer ends (breaks off when the
        handler failed), then the next request on the connection."""
        self.streaming = None
        self.task = None
        self.current = None
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error("HTTP handler failed while streaming", exc_info=task.exception())
            writer.abort()
        writer.end()
        self.last_active = self.server.loop.time()
        if writer.aborted or not self.current_keep_alive or self.transport is None or self.transport.is_closing():
            self.closing = True
            if self.transport is not None:
                self.transport.close()
            return
        self._next()

    def _done(self, task: asyncio.Task[HttpResponse | None]) -> None:
        if self.streaming is not None:
            self._stream_done(task, self.streaming)
            return
        if task.cancelled():
            resp: HttpResponse | None = self.server.error_response(503, "Service Unavailable")
        elif (exc := task.exception()) is not None:
            log.error("HTTP handler failed", exc_info=exc)
            resp = self.server.error_response(500, "Internal Server Error")
        else:
            resp = task.result()
        if resp is None:  # (a handler returns None only after answering early)
            resp = self.server.error_response(500, "Internal Server Error")
        self._answer(resp)

    def _answer(self, resp: HttpResponse) -> None:
        self.task = None
        self.current = None
        self.last_active = self.server.loop.time()
        keep_alive = self.current_keep_alive and not self.server.stopping
        if self.peer_done and not self.waiting:
            keep_alive = False
        if self.transport is None or self.transport.is_closing():
            return
        self._write(resp, keep_alive=keep_alive, head=self.current_head, http10=self.current_http10)
        if keep_alive:
            self._next()

    def _write(self, resp: HttpResponse, *, keep_alive: bool, head: bool, linger: bool = False,
               http10: bool = False) -> None:  # fmt: skip
        transport = self.transport
        assert transport is not None
        transport.write(encode_response(resp, keep_alive=keep_alive, head=head, http10=http10))
        if keep_alive:
            return
        self.closing = True
        if linger and transport.can_write_eof():
            # the client may still be sending (a body too large): closing now would reset
            # the connection before it reads our answer, so half-close and drain a while
            transport.write_eof()
            self.server.loop.call_later(LINGER, transport.close)
        else:
            transport.close()


class HttpServer:
    """Listens on ``host:port`` (0: a free port) and hands each request to ``handler``."""

    def __init__(self, handler: Handler, *, host: str, port: int, max_body: int,
                 error_response: ErrorResponse = plain_error) -> None:  # fmt: skip
        self.handle = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self.error_response = error_response
        self.connections: set[HttpProtocol] = set()
        self.max_connections = _connection_cap()
        self._at_cap = False  # logged, until the count drops under the cap again
        self.detached: set[asyncio.Task[HttpResponse | None]] = set()  # answered early, still running
        self.stopping = False
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    def admit(self, conn: HttpProtocol) -> bool:
        """Count a new connection in, unless :attr:`max_connections` are open (logged once)."""
        if len(self.connections) >= self.max_connections:
            if not self._at_cap:
                self._at_cap = True
                log.warning("HTTP server on port %d has %d connections open, its cap: new ones get 503 until "
                            "some close (clients holding idle keep-alive connections?)", self.port,
                            self.max_connections)  # fmt: skip
            return False
        self._at_cap = False
        self.connections.add(conn)
        return True

    def detach(self, task: asyncio.Task[HttpResponse | None]) -> None:
        self.detached.add(task)
        task.add_done_callback(self._detached_done)

    def _detached_done(self, task: asyncio.Task[HttpResponse | None]) -> None:
        self.detached.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("HTTP handler failed after answering", exc_info=exc)

    async def start(self) -> None:
        self._server = await self.loop.create_server(
            lambda: HttpProtocol(self), self.host, self.port, reuse_address=True, backlog=1024
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        self._sweeper = self.loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        """Close keep-alive connections idle for :data:`IDLE_TIMEOUT` seconds; answer 408 to
        heads not complete in :data:`HEADER_TIMEOUT` seconds."""
        while True:
            await asyncio.sleep(min(IDLE_TIMEOUT, HEADER_TIMEOUT) / 4)
            now = self.loop.time()
            for conn in list(self.connections):
                conn.check_head(now)
                conn.close_idle(IDLE_TIMEOUT)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, close idle connections, give in-flight requests ``grace``
        seconds to be answered, then close everything."""
        self.stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close()
        await asyncio.sleep(0)  # connections accepted just now get their connection_made
        for conn in list(self.connections):
            conn.close_idle()
        tasks = [c.task for c in self.connections if c.task is not None] + list(self.detached)
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        await asyncio.sleep(0)  # let the transports finish closing their sockets
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=grace)


def _connection_cap() -> int:
    """:data:`MAX_CONNECTIONS`, and at most half the soft open-file limit (workers, pipes, the
    state file and watched folders need the rest)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return MAX_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft // 2))
