"""router/aws_server.py: the embedded AWS keeps connections alive, drains what a request
left unread, streams without a length in chunks, and closes on failure and at stop."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from router.aws_server import KeepAliveHandler, close_connections, open_connections


def app(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/ignore":  # reads none of the request body
        start_response("202 Accepted", [("Content-Length", "2")])
        return [b"ok"]
    if path == "/stream":  # a generator, no length: chunked

        def parts() -> Iterator[bytes]:
            yield b"one,"
            yield b""
            yield b"two"

        start_response("200 OK", [("Content-Type", "text/plain")])
        return parts()
    if path == "/unsized":  # a list, no length: the length is added
        start_response("200 OK", [])
        return [b"ab", b"c"]
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    raise RuntimeError("the app failed")


@pytest.fixture()
def server() -> Iterator[Any]:
    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAliveHandler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    close_connections(srv)


def connect(srv: Any) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)


def test_one_connection_serves_many_requests_and_drains_unread_bodies(server: Any) -> None:
    conn = connect(server)
    conn.request("POST", "/ignore", body=b"x" * 100_000)  # left unread by the app
    first = conn.getresponse()
    assert (first.status, first.read(), first.getheader("Connection")) == (202, b"ok", None)
    sock = conn.sock
    conn.request("POST", "/echo", body=b"hello")
    second = conn.getresponse()
    assert (second.status, second.read()) == (200, b"hello")
    assert conn.sock is sock  # the same connection
    conn.request("HEAD", "/echo")
    head = conn.getresponse()
    assert head.status == 200 and head.read() == b""
    conn.request("GET", "/empty")
    empty = conn.getresponse()
    assert empty.status == 204 and empty.read() == b""
    conn.request("GET", "/unsized")
    unsized = conn.getresponse()
    assert unsized.getheader("Content-Length") == "3" and unsized.read() == b"abc"
    assert conn.sock is sock
    conn.close()


def test_a_stream_without_a_length_is_chunked(server: Any) -> None:
    conn = connect(server)
    conn.request("GET", "/stream")
    resp = conn.getresponse()
    assert resp.getheader("Transfer-Encoding") == "chunked" and resp.read() == b"one,two"
    conn.request("POST", "/echo", body=b"after")  # and the connection goes on
    assert conn.getresponse().read() == b"after"
    conn.close()


def test_a_failing_app_answers_500_and_closes(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    conn = connect(server)
    conn.request("GET", "/boom")
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("Connection"), resp.read()) == (500, "close", b"Internal Server Error")
    assert "GET /boom failed" in caplog.text
    conn.close()


def test_connection_close_is_honoured_and_stop_ends_idle_connections(server: Any) -> None:
    conn = connect(server)
    conn.request("POST", "/echo", body=b"1", headers={"Connection": "close"})
    resp = conn.getresponse()
    assert resp.getheader("Connection") == "close" and resp.read() == b"1"
    conn.close()

    idle = socket.create_connection(server.server_address[:2], timeout=5)
    idle.sendall(b"GET /unsized HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.recv(4096).endswith(b"abc")
    for _ in range(100):  # (the handler thread registers the connection as it starts)
        if open_connections(server):
            break
        threading.Event().wait(0.01)
    close_connections(server)  # as Aws.stop does
    assert idle.recv(4096) == b""  # the server ended it
    idle.close()
