"""HTTP/1.1 on the wire, the answering side: status lines, the Date header (formatted once a
second), a whole response's bytes (:func:`encode_response`) and a streamed one
(:class:`StreamWriter`: chunked, or raw bytes then close for an HTTP/1.0 client). Used by
:mod:`.http_server`'s connections; no parsing here.
"""

from __future__ import annotations

import logging
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

from ..events.http import HttpResponse

if TYPE_CHECKING:
    from .http_server import HttpProtocol

log = logging.getLogger(__name__)

_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "date"})
_STATUS_LINES: dict[int, bytes] = {}


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode()
    return line


class _Date:
    """The Date header, formatted once a second."""

    def __init__(self) -> None:
        self.second = 0
        self.value = b""

    def header(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self.value


_DATE = _Date()


def encode_response(resp: HttpResponse, *, keep_alive: bool, head: bool = False,
                    http10: bool = False) -> bytes:  # fmt: skip
    """The response on the wire. Hop-by-hop headers from ``resp`` are replaced by ours;
    a header with a line break in its name or value is dropped (no response splitting).
    An HTTP/1.0 client that asked for keep-alive is told it got it."""
    out = _head(resp.status, resp.headers, keep_alive=keep_alive, http10=http10)
    no_body = resp.status in (204, 304) or 100 <= resp.status < 200
    if not no_body:
        out.append(b"Content-Length: %d\r\n" % len(resp.body))
    out.append(b"\r\n")
    if not (head or no_body):
        out.append(resp.body)
    return b"".join(out)


def _head(status: int, headers: list[tuple[str, str]], *, keep_alive: bool, http10: bool) -> list[bytes]:
    """The status line and headers, without the length and the blank line."""
    out = [status_line(status)]
    for name, value in headers:
        if name.lower() in _HOP:
            continue
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            log.warning("dropped response header %r: a line break or colon in it", name)
            continue
        out.append(f"{name}: {value}\r\n".encode())
    out.append(_DATE.header())
    if not keep_alive:
        out.append(b"Connection: close\r\n")
    elif http10:
        out.append(b"Connection: keep-alive\r\n")
    return out


class StreamWriter:
    """A streamed answer on one connection (see the module docstring)."""

    def __init__(self, conn: HttpProtocol, *, chunked: bool, body: bool) -> None:
        self._conn = conn
        self.chunked = chunked  # HTTP/1.1: chunked transfer encoding; HTTP/1.0: raw bytes, then close
        self.body = body  # False for HEAD and bodyless statuses: nothing but the head is sent
        self.ended = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        transport = self._conn.transport
        if self.ended or not data or not self.body or transport is None or transport.is_closing():
            return
        transport.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)
        self._conn.last_active = self._conn.server.loop.time()

    def end(self) -> None:
        """The answer is complete."""
        if self.ended:
            return
        self.ended = True
        transport = self._conn.transport
        if self.chunked and self.body and transport is not None and not transport.is_closing():
            transport.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """The answer broke off: the connection closes without the last chunk."""
        if self.ended:
            return
        self.ended = self.aborted = True
        if self._conn.transport is not None:
            self._conn.transport.close()
