"""The HTTP server bounded under abuse (issue 17): API Gateway's header quotas (414 / 431),
a header-read deadline (408, slowloris), an idle timeout, a connection cap (503, logged once),
and CONNECT / unknown methods / Upgrade answered without a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from router.events.http import HttpRequest, HttpResponse, json_response
from router.sources import http_server
from router.sources.http_server import HttpServer

from .http_helpers import make_config, raw_exchange, serving


async def echo(request: HttpRequest, early: object) -> HttpResponse:
    return json_response(200, {"method": request.method, "path": request.path, "headers": len(request.headers)})


@asynccontextmanager
async def server() -> AsyncIterator[HttpServer]:
    s = HttpServer(echo, host="127.0.0.1", port=0, max_body=1024)
    await s.start()
    try:
        yield s
    finally:
        await s.stop(grace=1)


def run(body: Callable[[HttpServer], Awaitable[None]]) -> None:
    async def main() -> None:
        async with server() as s:
            await body(s)

    asyncio.run(main())


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def get(headers: str = "", path: str = "/x") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: a\r\n{headers}\r\n".encode()


# ------------------------------------------------------------------------------ header quotas


def test_headers_within_api_gateways_quota_are_served() -> None:
    async def body(s: HttpServer) -> None:
        near = "X-A: " + "v" * (http_server.MAX_HEAD - 200) + "\r\n"
        assert status(await raw_exchange(s.port, get(near) + b"", read_until_close=False)) == 200

    run(body)


def test_header_values_over_the_quota_get_431_and_close() -> None:
    async def body(s: HttpServer) -> None:
        over = "".join(f"X-{i}: {'v' * 1000}\r\n" for i in range(11))  # 11,000 bytes of values
        answer = await raw_exchange(s.port, get(over))
        assert status(answer) == 431 and b"Connection: close" in answer

    run(body)


def test_too_many_headers_get_431() -> None:
    async def body(s: HttpServer) -> None:
        many = "".join(f"X-{i}: v\r\n" for i in range(http_server.MAX_HEADERS + 1))
        assert status(await raw_exchange(s.port, get(many))) == 431

    run(body)


def test_a_huge_head_is_refused_before_it_is_buffered() -> None:
    async def body(s: HttpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        writer.write(b"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ")
        sent = 0
        answer = b""
        try:
            while sent < 8 * 1024 * 1024:  # far past the limit: the server must answer first
                writer.write(b"v" * 65536)
                sent += 65536
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(reader.read(4096), 0.01)
                except TimeoutError:
                    continue
                break
        except ConnectionError:
            pass
        finally:
            writer.close()
        assert answer and status(answer) == 431, f"no 431 after {sent} bytes"

    run(body)


def test_a_request_line_over_the_url_quota_gets_414() -> None:
    async def body(s: HttpServer) -> None:
        assert status(await raw_exchange(s.port, get(path="/" + "p" * http_server.MAX_URL))) == 414

    run(body)


def test_header_names_count_only_against_the_raw_guard() -> None:
    async def body(s: HttpServer) -> None:
        long_names = "".join(f"X-{'n' * 500}-{i}: v\r\n" for i in range(30))  # 15 KB of names
        assert status(await raw_exchange(s.port, get(long_names), read_until_close=False)) == 200

    run(body)


# ------------------------------------------------------------------------------ deadlines


def test_slowloris_gets_408_and_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "HEADER_TIMEOUT", 0.4)

    async def body(s: HttpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        writer.write(b"GET /x HTTP/1.1\r\nHost: a\r\n")
        answer = b""
        for _ in range(200):  # a header line now and then, never the blank line that ends them
            writer.write(b"X-Slow: 1\r\n")
            try:
                answer += await asyncio.wait_for(reader.read(4096), 0.05)
            except TimeoutError:
                continue
            except ConnectionError:
                break
            if answer:
                break
        assert answer and status(answer) == 408
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(reader.read(), 10)  # the server closes its side: EOF, not a hang
        writer.close()

    run(body)


def test_an_idle_connection_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "IDLE_TIMEOUT", 0.4)

    async def body(s: HttpServer) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server, no answer
        writer.close()

    run(body)


# ------------------------------------------------------------------------------ connection cap


def test_connections_over_the_cap_get_503_logged_once(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    monkeypatch.setattr(http_server, "MAX_CONNECTIONS", 3)

    async def body(s: HttpServer) -> None:
        assert s.max_connections == 3
        held = [await asyncio.open_connection("127.0.0.1", s.port) for _ in range(3)]
        await asyncio.sleep(0.05)
        refused = [await raw_exchange(s.port, get()) for _ in range(2)]
        assert all(status(r) == 503 for r in refused)
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.1)
        assert status(await raw_exchange(s.port, get(), read_until_close=False)) == 200

    with caplog.at_level(logging.WARNING, logger="router.sources.http_server"):
        run(body)
    assert len([r for r in caplog.records if "its cap" in r.message]) == 1


def test_the_cap_is_at_most_half_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    resource = pytest.importorskip("resource")
    monkeypatch.setattr(resource, "getrlimit", lambda _kind: (200, 4096))
    assert http_server._connection_cap() == 100


# ------------------------------------------------------------------------------ methods


def test_connect_and_an_upgrade_are_answered_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def body(s: HttpServer) -> None:
        answer = await raw_exchange(s.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert status(answer) == 200 and b'"path":"example.com:443"' in answer  # the handler decides
        answer = await raw_exchange(s.port, get("Upgrade: websocket\r\nConnection: upgrade\r\n"))
        assert answer.count(b"HTTP/1.1 ") == 1 and status(answer) == 200  # one answer, then closed
        assert status(await raw_exchange(s.port, b"FOO /x HTTP/1.1\r\nHost: a\r\n\r\n")) == 400

    with caplog.at_level(logging.DEBUG):
        run(body)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(("payload", "expected"), [("1.0", 403), ("2.0", 404)])
def test_connect_gets_api_gateways_no_route_answer(tmp_path: Path, payload: str, expected: int,
                                                   caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    (tmp_path / "h.py").write_text("def handler(e, c):\n    return {}\n")
    config = make_config(
        "functions:\n  f: {handler: h.handler}\n"
        f"triggers:\n  - {{function: f, http: {{route: 'ANY /items/{{id}}', payload: '{payload}'}}}}\n",
        tmp_path,
    )

    async def main() -> None:
        async with serving(config, {"f": lambda event: {"statusCode": 200}}) as (source, _):
            answer = await raw_exchange(source.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert status(answer) == expected

    with caplog.at_level(logging.DEBUG):
        asyncio.run(main())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
