"""Streamed HTTP answers (router/sources/http_stream.py), end to end: a real router, real Node.js
workers and a raw socket client that reads the chunked answer as it comes. A function URL in
RESPONSE_STREAM mode and a REST route in STREAM mode answer as the function writes; an HTTP API
route buffers (HTTP APIs do not stream)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from router import Router
from router.errors import ConfigError

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "handlers"

CONFIG = """
functions:
  waits: {handler: node_stream/handlers.waitsHttp, runtime: nodejs22.x, timeout: 20}
  text: {handler: node_stream/handlers.text, runtime: nodejs22.x}
  throws: {handler: node_stream/handlers.throws, runtime: nodejs22.x}
  echo: {handler: nodehandlers/basic.echo, runtime: nodejs22.x}
triggers:
  - {name: url_waits, function: waits, http: {url: {invoke_mode: RESPONSE_STREAM, cors: {allow_origins: ["*"]}}}}
  - {name: url_text, function: text, http: {url: {invoke_mode: RESPONSE_STREAM}}}
  - {name: url_throws, function: throws, http: {url: {invoke_mode: RESPONSE_STREAM}}}
  - {name: url_echo, function: echo, http: {url: {invoke_mode: RESPONSE_STREAM}}}
  - {name: url_buffered, function: waits, http: {url: {}}}
  - {function: waits, http: {route: "GET /rest/waits", payload: "1.0", response_transfer_mode: STREAM}}
  - {function: text, http: {route: "GET /rest/text", payload: "1.0", response_transfer_mode: STREAM}}
  - {function: echo, http: {route: "GET /rest/echo", payload: "1.0", response_transfer_mode: STREAM}}
  - {function: waits, http: "GET /api/waits"}
"""


@pytest.fixture
def router() -> Iterator[Router]:
    with Router.from_text(CONFIG, root=FIXTURES) as r:
        yield r


class Exchange:
    """One request on a raw socket; the answer read piece by piece."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nOrigin: https://a.example\r\n\r\n".encode())
        self.buf = b""

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def head(self) -> tuple[int, dict[str, list[str]]]:
        while b"\r\n\r\n" not in self.buf:
            assert self._more(), self.buf
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.setdefault(name.lower(), []).append(value.strip())
        return int(lines[0].split(" ")[1]), headers

    def chunk(self) -> bytes | None:
        """The next chunk's data; None when the connection closed before a whole one."""
        while b"\r\n" not in self.buf:
            if not self._more():
                return None
        size_line, rest = self.buf.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(rest) < size + 2:
            if not self._more():
                return None
            rest = self.buf.split(b"\r\n", 1)[1]
        self.buf = rest[size + 2 :]
        return rest[:size]

    def body(self, length: int) -> bytes:
        while len(self.buf) < length:
            assert self._more()
        return self.buf[:length]

    def close(self) -> None:
        self.sock.close()


def url_port(router: Router, name: str) -> int:
    return int(router.app.source("http").function_urls.url_of(name).rstrip("/").rsplit(":", 1)[1])


def api_port(router: Router) -> int:
    return int(router.app.source("http").port)


def flag_path(tmp_path: Path) -> tuple[Path, str]:
    flag = tmp_path / "flag"
    return flag, "flag=" + quote(str(flag))


@pytest.mark.parametrize("where", ["url", "rest"])
def test_the_first_chunk_arrives_while_the_function_runs(router: Router, tmp_path: Path, where: str) -> None:
    # the handler writes, then waits for the flag this client creates once it has read the first
    # chunk: a buffered answer would come only at the function's timeout, as a 5xx
    flag, query = flag_path(tmp_path)
    if where == "url":
        ex = Exchange(url_port(router, "url_waits"), f"/any/path?{query}")
    else:
        ex = Exchange(api_port(router), f"/rest/waits?{query}")
    try:
        status, headers = ex.head()
        assert status == 202 and headers["transfer-encoding"] == ["chunked"] and "content-length" not in headers
        assert headers["x-kind"] == ["stream"] and headers["set-cookie"] == ["a=1"]
        assert headers["content-type"] == ["text/plain"] and headers["x-amzn-requestid"]
        if where == "url":  # the URL's CORS headers on a streamed answer too
            assert headers["access-control-allow-origin"] == ["*"]
        assert ex.chunk() == b"first;"
        assert not flag.exists()
        flag.touch()
        assert ex.chunk() == b"second" and ex.chunk() == b""  # the last chunk
    finally:
        ex.close()


def test_a_stream_without_a_prelude_and_a_function_that_does_not_stream(router: Router) -> None:
    ex = Exchange(url_port(router, "url_text"), "/")
    status, headers = ex.head()  # no prelude: 200, the stream's content type, its bytes
    assert (status, headers["content-type"]) == (200, ["text/plain"])
    body = b""
    while (piece := ex.chunk()) not in (b"", None):
        body += piece
    assert body == b'hello {"a":1}world'
    ex.close()
    ex = Exchange(url_port(router, "url_echo"), "/e?x=1")
    status, headers = ex.head()  # the whole response as the function returned it, not read as {statusCode, body}
    assert status == 200 and headers["content-type"] == ["application/json"]
    event = json.loads(ex.body(int(headers["content-length"][0])))
    assert event["rawPath"] == "/e" and event["queryStringParameters"] == {"x": "1"}
    ex.close()


def test_rest_needs_the_prelude(router: Router) -> None:
    for path in ("/rest/text", "/rest/echo"):  # a stream without metadata, a function that does not stream
        ex = Exchange(api_port(router), path)
        status, headers = ex.head()
        assert status == 502, path
        assert json.loads(ex.body(int(headers["content-length"][0]))) == {"message": "Internal server error"}
        ex.close()


def test_an_error_after_the_first_chunk_breaks_the_answer_off(router: Router) -> None:
    ex = Exchange(url_port(router, "url_throws"), "/")
    status, _ = ex.head()
    assert status == 200 and ex.chunk() == b"partial"
    assert ex.chunk() is None  # closed without the last chunk: the client sees an incomplete answer
    ex.close()


def test_buffered_modes_answer_once_the_function_ended(router: Router, tmp_path: Path) -> None:
    flag, query = flag_path(tmp_path)
    flag.touch()  # (the handler does not wait)
    for port, path in ((url_port(router, "url_buffered"), f"/?{query}"), (api_port(router), f"/api/waits?{query}")):
        ex = Exchange(port, path)
        status, headers = ex.head()  # HTTP API and a BUFFERED URL: the prelude read, the body whole
        assert status == 202 and headers["x-kind"] == ["stream"] and "transfer-encoding" not in headers
        assert ex.body(int(headers["content-length"][0])) == b"first;second"
        ex.close()


def test_stream_mode_is_refused_on_http_apis() -> None:
    text = """
functions: {f: {handler: node_stream/handlers.text, runtime: nodejs22.x}}
triggers: [{function: f, http: {route: "GET /a", response_transfer_mode: STREAM}}]
"""
    with pytest.raises(ConfigError, match="response_transfer_mode STREAM needs payload 1.0: API Gateway streams "
                                          "responses only for REST APIs"):  # fmt: skip
        Router.from_text(text, root=FIXTURES)
