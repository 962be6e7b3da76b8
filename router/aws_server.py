"""The embedded AWS's HTTP connections are kept alive.

werkzeug's development server, which serves moto's WSGI app here, answers every request with
``Connection: close`` (its ``run_wsgi``: "Always close the connection. This disables HTTP/1.1
keep-alive connections") and then waits up to 10 ms for stray request bytes before it closes.
So every boto3 call — a handler's, a test's, router's own — paid a new TCP connection and a
new server thread: a DynamoDB ``GetItem`` took ~2.2 ms, ~1.5 ms on a kept connection
(bench/RESULTS.md, "embedded AWS keep-alive"). A Lambda handler chaining S3 -> SQS -> SNS
pays that on every call, as does a test suite.

:class:`KeepAliveHandler` keeps werkzeug's request parsing and WSGI environ
(``make_environ``, ``Expect: 100-continue``, de-chunked request bodies) and replaces only the
response side: the request body is limited to its ``Content-Length`` (werkzeug's
``LimitedStream``) and what the app left unread is drained, so the next request on the
connection starts where it should; the response goes out with its ``Content-Length`` (headers
and a short body in one write, TCP_NODELAY for the rest) or, when the app streams without a
length, chunked; the connection stays open unless the client asked otherwise, the request body
was chunked, or the app failed. An idle connection is closed after ``IDLE_TIMEOUT`` seconds,
and every open one when the server stops.

Written by hand because no maintained WSGI server fits: werkzeug closes, wsgiref speaks
HTTP/1.0, and waitress/cheroot serve from a bounded thread pool where SQS long polls (up to
20 s each) from many workers would queue every other call behind them; a thread per
connection, as werkzeug's threaded server does, is right for that.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 120.0  # seconds a kept connection may wait for its next request
NO_BODY = (204, 304)


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler with HTTP/1.1 keep-alive (module docstring)."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # (StreamRequestHandler: the socket's timeout; werkzeug's handle() ends quietly)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        open_connections(self.server).add(self.connection)

    def finish(self) -> None:
        open_connections(self.server).discard(self.connection)
        super().finish()

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body: LimitedStream | None = None
        if environ.get("wsgi.input_terminated"):  # a chunked request body: not drained, so closed after
            self.close_connection = True
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length, self.close_connection = 0, True
            body = LimitedStream(self.rfile, length)  # type: ignore[arg-type]  # (a socket file is IO[bytes])
            environ["wsgi.input"] = body
            environ["wsgi.input_terminated"] = True
        try:
            self._respond(environ)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            raise
        if body is not None and not self.close_connection:
            body.exhaust()  # what the app did not read: the next request starts after it

    def _respond(self, environ: dict[str, Any]) -> None:
        started: list[Any] = []  # [status, headers] once start_response was called
        early: list[bytes] = []  # what the app wrote through write() before returning

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:  # fmt: skip
            if exc_info is not None and self._sent:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return early.append

        self._sent = False
        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
        except Exception:
            self._fail(environ)
            return
        try:
            self._send(environ, started, early, result)
        except (ConnectionError, TimeoutError):
            raise
        except Exception:
            self._fail(environ)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _send(self, environ: dict[str, Any], started: list[Any], early: list[bytes], result: Iterable[bytes]) -> None:
        chunks: Iterable[bytes] = iter(result)
        first = b"".join(early)
        if not first:  # the headers go with the first bytes (start_response may come with them)
            first = next((c for c in chunks if c), b"")  # (a generator: the same one goes on below)
        status, headers = started
        code = int(status.split(" ", 1)[0])
        names = {k.lower() for k, _ in headers}
        bodyless = environ["REQUEST_METHOD"] == "HEAD" or code in NO_BODY or 100 <= code < 200
        chunked = False
        if "transfer-encoding" in names and not bodyless:  # the app streams and says so (InvokeWithResponseStream):
            chunked = True  # each piece as it comes, not after a look at the second
        elif "content-length" not in names and not bodyless:
            if isinstance(result, list | tuple):  # the whole body is known: its length
                first += b"".join(chunks)
                rest = None
            else:
                rest = next((c for c in chunks if c), None)
            if rest is None:
                headers = [*headers, ("Content-Length", str(len(first)))]
            else:  # a stream: its chunks as they come
                chunks, chunked = _prepend(rest, chunks), True
                headers = [*headers, ("Transfer-Encoding", "chunked")]
        self.send_response(code, status.split(" ", 1)[1] if " " in status else "")
        for name, value in headers:
            if name.lower() == "connection":
                if value.strip().lower() == "close":
                    self.close_connection = True
                continue
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        buffered: list[bytes] = self._headers_buffer  # (http.server's: send_response and send_header fill it)
        out = b"".join(buffered) + b"\r\n"
        buffered.clear()
        if bodyless:
            for _ in chunks:  # (drained: the app's generator runs to its end)
                pass
            self._write(out)
            return
        self._write(out + (_chunk(first) if chunked else first))
        for data in chunks:
            if data:
                self._write(_chunk(data) if chunked else data)
        if chunked:
            self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        self._sent = True
        self.wfile.write(data)

    def _fail(self, environ: dict[str, Any]) -> None:
        """The app raised: a 500 when nothing was sent yet; the connection closes either way."""
        log.exception("embedded AWS: %s %s failed", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        self.close_connection = True
        if not self._sent:
            text = b"Internal Server Error"
            self._write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: "
                        + str(len(text)).encode() + b"\r\nConnection: close\r\n\r\n" + text)  # fmt: skip


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _prepend(first: bytes, rest: Iterable[bytes]) -> Iterable[bytes]:
    yield first
    yield from rest


_lock = threading.Lock()


def open_connections(server: Any) -> set[socket.socket]:
    """The server's connections being served (for :func:`close_connections`)."""
    with _lock:
        found: set[socket.socket] | None = getattr(server, "_router_connections", None)
        if found is None:
            found = set()
            server._router_connections = found
        return found


def close_connections(server: Any) -> None:
    """End every kept connection of a stopped server: their threads wake from waiting for a
    next request and end (a client's next call opens a new connection, to whatever listens)."""
    for conn in list(open_connections(server)):
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
