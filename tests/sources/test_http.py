"""The HTTP source over a real socket, with an in-process fake for the functions: what
API Gateway answers itself, the mapping both ways, CORS, the wait queue, the server."""

from __future__ import annotations

import asyncio
import base64
import socket
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
)

from router.errors import StartupError, ThrottledError

from .http_helpers import make_config, raw_exchange, serving

CONFIG = """
functions:
  f: {handler: app.handler}
triggers:
  - {name: v2, function: f, http: "GET /hello/{name}"}
  - {name: v2post, function: f, http: "POST /items"}
  - {name: rest, function: f, http: {route: "ANY /rest/{proxy+}", payload: "1.0", stage: dev,
     binary_media_types: [image/png]}}
  - {name: cors, function: f, http: {route: "PUT /cors/{id}", cors: {allow_origins: ["https://a.example"],
     allow_methods: [GET, PUT], expose_headers: [x-total], max_age: 60}}}
  - {name: restcors, function: f, http: {route: "GET /rc", payload: "1.0", cors: true}}
"""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def echo(event: dict[str, Any]) -> Any:
    return {"statusCode": 200, "body": "ok", "headers": {"x-route": event.get("routeKey") or event["resource"]}}


# ------------------------------------------------------------------ payload 2.0 (HTTP API)


def test_http_api_event_fields_and_model(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return {"got": event["pathParameters"]["name"]}

    async def go() -> httpx.Response:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return await client.get(
                    "/hello/ann%20lee?a=1&a=2&b=x+y",
                    headers=[("X-Multi", "1"), ("X-Multi", "2"), ("Cookie", "c1=v1; c2=v2")],
                )

    resp = run(go())
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"got": "ann lee"}
    assert resp.headers["apigw-requestid"]
    event = seen[0]
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["version"] == "2.0" and event["routeKey"] == "GET /hello/{name}"
    assert event["rawPath"] == "/hello/ann lee"
    assert event["rawQueryString"] == "a=1&a=2&b=x+y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["headers"]["x-multi"] == "1,2"
    assert "cookie" not in event["headers"] and event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["requestId"] == resp.headers["apigw-requestid"]
    assert "body" not in event and event["isBase64Encoded"] is False


def test_http_api_bodies_and_response_rules(tmp_path: Path) -> None:
    results: list[Any] = []

    def handler(event: dict[str, Any]) -> Any:
        results.append((event.get("body"), event["isBase64Encoded"]))
        return event["headers"].get("x-result-kind") and RESULTS[event["headers"]["x-result-kind"]]

    async def go() -> list[httpx.Response]:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return [
                    await client.post("/items", json={"a": 1}, headers={"x-result-kind": "cookies"}),
                    await client.post("/items", content=b"\x00\xff", headers={"x-result-kind": "string"}),
                    await client.post("/items", content=b"plain", headers={"x-result-kind": "list",
                                                                           "content-type": "text/plain"}),
                    await client.post("/items", headers={"x-result-kind": "binary"}),
                    await client.post("/items", headers={"x-result-kind": "bad"}),
                ]  # fmt: skip

    cookies, string, listed, binary, bad = run(go())
    assert results[0] == ('{"a":1}', False)
    assert results[1] == (base64.b64encode(b"\x00\xff").decode(), True)
    assert results[2] == ("plain", False)
    assert cookies.status_code == 201
    assert cookies.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]
    assert cookies.text == "made"
    assert string.status_code == 200 and string.text == "just text"
    assert listed.json() == [1, 2] and listed.headers["content-type"] == "application/json"
    assert binary.content == b"\x89PNG"
    assert bad.status_code == 500 and bad.json() == {"message": "Internal Server Error"}


RESULTS: dict[str, Any] = {
    "cookies": {"statusCode": 201, "body": "made", "cookies": ["a=1; Path=/", "b=2"]},
    "string": "just text",
    "list": [1, 2],
    "binary": {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True},
    "bad": {"statusCode": "nope"},
}


# ------------------------------------------------------------------ payload 1.0 (REST)


def test_rest_event_stage_and_multi_values(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return {"statusCode": 200, "multiValueHeaders": {"x-m": ["1", "2"]}, "headers": {"x-s": "s"},
                "body": "rest"}  # fmt: skip

    async def go() -> httpx.Response:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return await client.post("/dev/rest/a/b%20c?q=1&q=2", headers=[("X-H", "1"), ("X-H", "2")],
                                         content="hi")  # fmt: skip

    resp = run(go())
    assert resp.status_code == 200 and resp.text == "rest"
    assert resp.headers.get_list("x-m") == ["1", "2"] and resp.headers["x-s"] == "s"
    assert resp.headers["content-type"] == "application/json"  # REST's default
    event = seen[0]
    APIGatewayProxyEventModel.model_validate(event)
    assert event["resource"] == "/rest/{proxy+}"
    assert event["path"] == "/rest/a/b%20c"
    assert event["pathParameters"] == {"proxy": "a/b c"}
    assert event["httpMethod"] == "POST"
    assert event["queryStringParameters"] == {"q": "2"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert event["multiValueHeaders"]["X-H"] == ["1", "2"] and event["headers"]["X-H"] == "2"
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["path"] == "/dev/rest/a/b%20c"
    assert event["requestContext"]["requestId"] == resp.headers["x-amzn-requestid"]
    assert event["body"] == "hi" and event["isBase64Encoded"] is False


def test_rest_binary_in_and_out(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00"
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(png).decode(), "isBase64Encoded": True}  # fmt: skip

    async def go() -> tuple[httpx.Response, httpx.Response]:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                binary = await client.post("/dev/rest/img", content=png,
                                           headers={"content-type": "image/png", "accept": "image/png"})
                text = await client.get("/dev/rest/img", headers={"accept": "text/html"})
                return binary, text  # fmt: skip

    binary, text = run(go())
    assert seen[0]["isBase64Encoded"] is True and base64.b64decode(seen[0]["body"]) == png
    assert binary.content == png
    # the first Accept type is not a binary media type: the client gets the base64 text
    assert text.text == base64.b64encode(png).decode()


@pytest.mark.parametrize(
    ("result", "why"),
    [
        ({"body": "no status"}, "missing statusCode"),
        ({"statusCode": 200, "extra": 1}, "unknown key"),
        ({"statusCode": 200, "body": {"a": 1}}, "body not a string"),
        ("a string", "not an object"),
    ],
)
def test_rest_malformed_results_are_502(tmp_path: Path, result: Any, why: str) -> None:
    async def go() -> httpx.Response:
        async with serving(make_config(CONFIG, tmp_path), {"f": lambda e: result}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return await client.get("/dev/rest/x")

    resp = run(go())
    assert resp.status_code == 502, why
    assert resp.json() == {"message": "Internal server error"}


def test_function_errors_and_timeouts(tmp_path: Path) -> None:
    def boom(event: dict[str, Any]) -> Any:
        raise ValueError("boom")

    async def slow(event: dict[str, Any]) -> Any:
        await asyncio.sleep(5)

    config = make_config(
        "functions: {f: {handler: app.handler}, s: {handler: app.handler, timeout: 0.2}}\n"
        "triggers:\n"
        "  - {function: f, http: 'GET /hello/{x}'}\n"
        "  - {function: f, http: {route: 'GET /dev/rest/x', payload: '1.0'}}\n"
        "  - {function: s, http: 'GET /slow'}\n"
        "  - {function: s, http: {route: 'GET /slowrest', payload: '1.0'}}\n",
        tmp_path,
    )

    async def go() -> list[httpx.Response]:
        async with serving(config, {"f": boom, "s": slow}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return [await client.get(p) for p in ("/hello/x", "/dev/rest/x", "/slow", "/slowrest")]

    v2, rest, v2_timeout, rest_timeout = run(go())
    assert (v2.status_code, v2.json()) == (500, {"message": "Internal Server Error"})
    assert (rest.status_code, rest.json()) == (502, {"message": "Internal server error"})
    # the function's own timeout is a function error to API Gateway
    assert v2_timeout.status_code == 500
    assert rest_timeout.status_code == 502


def test_integration_timeout(tmp_path: Path) -> None:
    done: list[str] = []

    async def slow(event: dict[str, Any]) -> Any:
        await asyncio.sleep(0.6)
        done.append("finished")
        return "late"

    async def go() -> list[httpx.Response]:
        async with serving(make_config(CONFIG, tmp_path), {"f": slow}) as (src, _):
            src.timeouts = {"1.0": 0.2, "2.0": 0.2}
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return [await client.get("/dev/rest/x"), await client.get("/hello/x")]

    rest, v2 = run(go())
    assert (rest.status_code, rest.json()) == (504, {"message": "Endpoint request timed out"})
    assert (v2.status_code, v2.json()) == (503, {"message": "Service Unavailable"})
    assert done == ["finished", "finished"]  # the invocations ran on, as in AWS


# ------------------------------------------------------------------ API Gateway's own answers


def test_no_route_answers(tmp_path: Path) -> None:
    async def go() -> list[httpx.Response]:
        async with serving(make_config(CONFIG, tmp_path), {"f": echo}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return [await client.get("/nope"), await client.delete("/hello/x"),
                        await client.get("/dev/nope"), await client.post("/rc")]  # fmt: skip

    nope, wrong_method, rest_nope, rest_method = run(go())
    assert (nope.status_code, nope.json()) == (404, {"message": "Not Found"})
    assert wrong_method.status_code == 404  # HTTP APIs never answer 405
    assert (rest_nope.status_code, rest_nope.json()) == (403, {"message": "Missing Authentication Token"})
    assert rest_method.status_code == 403


def test_throttle_after_the_wait_queue(tmp_path: Path) -> None:
    config = make_config(
        "functions: {f: {handler: app.handler, concurrency: 1}}\n"
        "triggers: [{function: f, http: 'GET /w'}, {function: f, http: {route: 'GET /r', payload: '1.0'}}]\n",
        tmp_path,
    )
    gate = asyncio.Event()

    async def held(event: dict[str, Any]) -> Any:
        await gate.wait()
        return "done"

    async def go() -> tuple[list[int], int, int]:
        async with serving(config, {"f": held}) as (src, fake):
            src.queue_factor = 2  # 1 running + 2 waiting
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                tasks = [asyncio.ensure_future(client.get("/w")) for _ in range(6)]
                while len(fake.events) < 3:
                    await asyncio.sleep(0.01)
                over = await client.get("/w")
                over_rest = await client.get("/r")
                gate.set()
                return sorted(r.status_code for r in await asyncio.gather(*tasks)), \
                    over.status_code, over_rest.status_code  # fmt: skip

    codes, over, over_rest = run(go())
    assert codes == [200, 200, 200, 500, 500, 500]
    assert over == 500 and over_rest == 500


def test_event_over_the_sync_payload_limit(tmp_path: Path) -> None:
    async def go() -> httpx.Response:
        async with serving(make_config(CONFIG, tmp_path), {"f": echo}) as (src, fake):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                resp = await client.post("/items", content=b"\x01" * (5 * 1024 * 1024))
                assert fake.events == []  # never invoked
                return resp

    resp = run(go())
    assert (resp.status_code, resp.json()) == (500, {"message": "Internal Server Error"})


# ------------------------------------------------------------------ CORS


def test_cors_preflight_and_headers(tmp_path: Path) -> None:
    def handler(event: dict[str, Any]) -> Any:
        return {"statusCode": 200, "body": "x", "headers": {"Access-Control-Allow-Origin": "https://evil"}}

    async def go() -> list[httpx.Response]:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, fake):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                pre = await client.options("/cors/1", headers={
                    "Origin": "https://a.example", "Access-Control-Request-Method": "PUT",
                    "Access-Control-Request-Headers": "content-type,x-y"})
                denied = await client.options("/cors/1", headers={
                    "Origin": "https://b.example", "Access-Control-Request-Method": "PUT"})
                actual = await client.put("/cors/1", headers={"Origin": "https://a.example"})
                other = await client.put("/cors/1", headers={"Origin": "https://b.example"})
                rest_pre = await client.options("/rc", headers={
                    "Origin": "https://z.example", "Access-Control-Request-Method": "GET"})
                plain_options = await client.options("/cors/1")
                assert len(fake.events) == 2  # preflights never reach the function
                return [pre, denied, actual, other, rest_pre, plain_options]  # fmt: skip

    pre, denied, actual, other, rest_pre, plain_options = run(go())
    assert pre.status_code == 204 and pre.content == b""
    assert pre.headers["access-control-allow-origin"] == "https://a.example"
    assert pre.headers["access-control-allow-methods"] == "GET,PUT"
    assert pre.headers["access-control-allow-headers"] == "content-type,x-y"
    assert pre.headers["access-control-max-age"] == "60"
    assert denied.status_code == 204 and "access-control-allow-origin" not in denied.headers
    assert actual.headers["access-control-allow-origin"] == "https://a.example"
    assert actual.headers["access-control-expose-headers"] == "x-total"
    assert "access-control-allow-origin" not in other.headers  # the function's own is dropped
    assert rest_pre.status_code == 200 and rest_pre.headers["access-control-allow-origin"] == "*"
    assert plain_options.status_code == 404  # not a preflight, no OPTIONS route


# ------------------------------------------------------------------ the server


def test_keep_alive_and_pipelining_answer_in_order(tmp_path: Path) -> None:
    async def handler(event: dict[str, Any]) -> Any:
        name = event["pathParameters"]["name"]
        await asyncio.sleep(0.05 if name == "slow" else 0)
        return name

    async def go() -> bytes:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, _):
            requests = b"".join(b"GET /hello/%s HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in (b"slow", b"a", b"b"))
            return await raw_exchange(src.port, requests, read_until_close=False, expect_responses=3)

    out = run(go())
    bodies = [part.split(b"\r\n\r\n", 1)[1][:4] for part in out.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"slow", b"a", b"b"]
    assert b"Connection: close" not in out


def test_connection_close_head_and_http10(tmp_path: Path) -> None:
    async def go() -> tuple[bytes, bytes]:
        async with serving(make_config(CONFIG, tmp_path), {"f": lambda e: "body!"}) as (src, _):
            head = await raw_exchange(src.port, b"HEAD /hello/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            old = await raw_exchange(src.port, b"GET /hello/x HTTP/1.0\r\n\r\n")
            return head, old

    head, old = run(go())
    assert head.startswith(b"HTTP/1.1 404")  # HEAD is its own method: no route here
    assert b"Content-Length: 23\r\n" in head and head.endswith(b"\r\n\r\n")
    assert old.startswith(b"HTTP/1.1 200") and b"Connection: close" in old and old.endswith(b"body!")


def test_malformed_requests_get_400_and_the_server_lives_on(tmp_path: Path) -> None:
    async def go() -> tuple[bytes, bytes, int]:
        async with serving(make_config(CONFIG, tmp_path), {"f": echo}) as (src, _):
            garbage = await raw_exchange(src.port, b"\x16\x03\x01 not http at all\r\n\r\n")
            bad_header = await raw_exchange(src.port, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return garbage, bad_header, (await client.get("/hello/x")).status_code

    garbage, bad_header, after = run(go())
    assert garbage.startswith(b"HTTP/1.1 400 Bad Request")
    assert bad_header.startswith(b"HTTP/1.1 400")
    assert after == 200


def test_body_limit_413(tmp_path: Path) -> None:
    async def go() -> tuple[bytes, bytes]:
        async with serving(make_config(CONFIG, tmp_path), {"f": echo}) as (src, fake):
            declared = await raw_exchange(
                src.port, b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b"a" * 1024 * 1024)
            streamed = await raw_exchange(
                src.port, b"POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 11)
            assert fake.events == []
            return declared, streamed  # fmt: skip

    declared, streamed = run(go())
    assert declared.startswith(b"HTTP/1.1 413") and b"Connection: close" in declared
    assert streamed.startswith(b"HTTP/1.1 413")


def test_expect_100_continue(tmp_path: Path) -> None:
    async def go() -> bytes:
        async with serving(make_config(CONFIG, tmp_path), {"f": lambda e: e["body"]}) as (src, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", src.port)
            writer.write(b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")  # fmt: skip
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(b"hello")
            out = await asyncio.wait_for(reader.readuntil(b"hello"), 5)
            writer.close()
            await writer.wait_closed()
            return out

    assert run(go()).startswith(b"HTTP/1.1 200")


def test_odd_but_valid_requests(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return "ok"

    async def go() -> bytes:
        async with serving(make_config(CONFIG, tmp_path), {"f": handler}) as (src, _):
            return await raw_exchange(
                src.port,
                b"GET http://localhost/hello/abs?x=1 HTTP/1.1\r\nHost: localhost\r\n"
                b"X-Latin: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\nConnection: close\r\n\r\n",
            )

    assert run(go()).startswith(b"HTTP/1.1 200")
    event = seen[0]
    assert event["rawPath"] == "/hello/abs" and event["rawQueryString"] == "x=1"
    assert event["headers"]["x-utf8"] == "café" and event["headers"]["x-latin"] == "café"


def test_urls_describe_and_a_taken_port(tmp_path: Path) -> None:
    async def go() -> None:
        config = make_config(CONFIG, tmp_path)
        async with serving(config, {"f": echo}) as (src, _):
            assert src.base_url == f"http://127.0.0.1:{src.port}" and src.port > 0
            assert src.urls()[0] == f"{src.base_url}/hello/{{name}}"
            assert f"{src.base_url}/dev/rest/{{proxy+}}" in src.urls()
            lines = src.describe()
            assert any("PUT" in line and "/cors/{id}" in line and "cors" in line for line in lines)
            taken = config.model_copy(update={"settings": config.settings.model_copy(
                update={"http": config.settings.http.model_copy(update={"port": src.port})})})  # fmt: skip
            with pytest.raises(StartupError, match=rf"cannot listen on 127\.0\.0\.1:{src.port}"):
                async with serving(taken, {"f": echo}):
                    pass

    run(go())


def test_stop_closes_idle_keep_alive_connections(tmp_path: Path) -> None:
    async def go() -> bytes:
        reader: asyncio.StreamReader
        async with AsyncExitStack() as stack:
            src, _ = await stack.enter_async_context(serving(make_config(CONFIG, tmp_path), {"f": echo}))
            reader, writer = await asyncio.open_connection("127.0.0.1", src.port)
            writer.write(b"GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"ok")
        rest = await asyncio.wait_for(reader.read(), 5)  # EOF once the source stopped
        writer.close()
        return rest

    assert run(go()) == b""


def test_port_zero_picks_a_free_port(tmp_path: Path) -> None:
    async def go() -> int:
        async with serving(make_config(CONFIG, tmp_path), {"f": echo}) as (src, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", src.port)
            writer.close()
            await writer.wait_closed()
            with socket.socket() as probe:  # the port is taken while the source runs
                with pytest.raises(OSError):
                    probe.bind(("127.0.0.1", src.port))
            return src.port

    assert run(go()) > 0


def test_http10_keep_alive_when_asked(tmp_path: Path) -> None:
    async def go() -> bytes:
        async with serving(make_config(CONFIG, tmp_path), {"f": lambda e: "x"}) as (src, _):
            return await raw_exchange(src.port, b"GET /hello/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                                b"GET /hello/b HTTP/1.0\r\n\r\n")  # fmt: skip

    first, second = run(go()).split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert b"Connection: keep-alive" in first
    assert b"Connection: close" in second


def test_router_unable_to_invoke_is_api_gateway_500(tmp_path: Path) -> None:
    def refuse(event: dict[str, Any]) -> Any:
        raise ThrottledError("f is at its reserved concurrency (1)")

    async def go() -> list[httpx.Response]:
        async with serving(make_config(CONFIG, tmp_path), {"f": refuse}) as (src, _):
            async with httpx.AsyncClient(base_url=src.base_url) as client:
                return [await client.get("/hello/x"), await client.get("/dev/rest/x")]

    v2, rest = run(go())
    assert (v2.status_code, v2.json()) == (500, {"message": "Internal Server Error"})
    assert (rest.status_code, rest.json()) == (500, {"message": "Internal server error"})


def test_a_half_closed_client_still_gets_its_answer(tmp_path: Path) -> None:
    async def slow(event: dict[str, Any]) -> Any:
        await asyncio.sleep(0.1)
        return "answered"

    async def go() -> bytes:
        async with serving(make_config(CONFIG, tmp_path), {"f": slow}) as (src, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", src.port)
            writer.write(b"GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n")
            writer.write_eof()
            out = await asyncio.wait_for(reader.read(), 5)  # to EOF: the server closes after
            writer.close()
            return out

    out = run(go())
    assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"answered")
    assert b"Connection: close" in out


def test_idle_keep_alive_connections_are_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import router.sources.http_server as server

    monkeypatch.setattr(server, "IDLE_TIMEOUT", 0.2)

    async def go() -> bytes:
        async with serving(make_config(CONFIG, tmp_path), {"f": lambda e: "x"}) as (src, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", src.port)
            writer.write(b"GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\nx")
            rest = await asyncio.wait_for(reader.read(), 5)  # EOF once idle long enough
            writer.close()
            return rest

    assert run(go()) == b""
