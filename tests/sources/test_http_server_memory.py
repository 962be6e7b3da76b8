"""The HTTP server keeps one copy of a request body, only while it is needed (issue 17: the
daemon's memory under 50 concurrent 5 MB bodies): the chunks it was read in go as soon as the
request is made, not at the next request on the connection or at a garbage collection."""

from __future__ import annotations

import asyncio

from router.events.http import HttpRequest, HttpResponse, json_response
from router.sources.http_server import HttpServer

from .http_helpers import raw_exchange


def test_a_bodys_chunks_are_let_go_once_the_request_is_made() -> None:
    held: list[int] = []

    async def main() -> None:
        server: HttpServer

        async def handle(request: HttpRequest, early: object) -> HttpResponse:
            held.append(sum(len(chunk) for conn in server.connections for chunk in conn.body))
            return json_response(200, {"size": len(request.body)})

        server = HttpServer(handle, host="127.0.0.1", port=0, max_body=10 * 1024 * 1024)
        await server.start()
        try:
            body = b"x" * (2 * 1024 * 1024)  # read in many chunks
            head = f"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            answer = await raw_exchange(server.port, head + body, read_until_close=False)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"{\"size\":2097152}")
        finally:
            await server.stop(grace=1)

    asyncio.run(main())
    assert held == [0]
