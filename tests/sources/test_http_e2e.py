"""The HTTP source end to end: a real router (App, dispatcher, Python and Node.js workers)
answering real requests; the events the handlers receive validate against powertools."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
)

from router import Router
from router.httpclient import Response

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "http"
PNG = b"\x89PNG\r\n\x1a\n\x00\x01\xff"
RUNTIMES = ("py", "node")

CONFIG = """
functions:
  py: {handler: pyfn/app.handler, timeout: 2}  # room for a loaded machine; sleep=3 still times out
  node: {handler: nodefn/app.handler, timeout: 2}
  one: {handler: pyfn/app.handler, timeout: 5, concurrency: 1}
triggers:
  - {function: py, http: "ANY /py/v2/{proxy+}"}
  - {function: py, http: {route: "ANY /py/v1/{proxy+}", payload: "1.0", stage: dev,
     binary_media_types: [image/png, application/octet-stream]}}
  - {function: node, http: "ANY /node/v2/{proxy+}"}
  - {function: node, http: {route: "ANY /node/v1/{proxy+}", payload: "1.0", stage: dev,
     binary_media_types: [image/png, application/octet-stream]}}
  - {function: py, http: {route: "PUT /cors/{id}", cors: {allow_origins: ["https://a.example"],
     allow_methods: [PUT]}}}
  - {function: one, http: "GET /one"}
  - {function: one, http: {route: "GET /one-rest", payload: "1.0"}}
"""


@pytest.fixture
def router() -> Iterator[Router]:
    with Router.from_text(CONFIG, root=FIXTURES) as r:
        yield r


def echoed(resp: Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return body["event"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("fn", RUNTIMES)
def test_http_api_request_handling(router: Router, fn: str) -> None:
    resp = router.http.post(
        f"/{fn}/v2/a%20b/c?mode=echo&x=1&x=2&empty=",
        headers=[("X-Multi", "1"), ("X-Multi", "2"), ("Cookie", "c1=v1; c2=v2"),
                 ("Content-Type", "application/json")],  # fmt: skip
        content=b'{"k": "v"}',
    )
    event = echoed(resp)
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["routeKey"] == f"ANY /{fn}/v2/{{proxy+}}"
    assert event["rawPath"] == f"/{fn}/v2/a b/c"
    assert event["pathParameters"] == {"proxy": "a b/c"}
    assert event["rawQueryString"] == "mode=echo&x=1&x=2&empty="
    assert event["queryStringParameters"] == {"mode": "echo", "x": "1,2", "empty": ""}
    assert event["headers"]["x-multi"] == "1,2" and "cookie" not in event["headers"]
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["body"] == '{"k": "v"}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["requestId"] == resp.header("apigw-requestid")
    inv = router.wait(fn, where=lambda i: i.source == "http")
    assert inv.ok and inv.event == event


@pytest.mark.parametrize("fn", RUNTIMES)
def test_rest_request_handling(router: Router, fn: str) -> None:
    resp = router.http.get(f"/dev/{fn}/v1/x/y?mode=echo&q=1&q=2",
                           headers=[("X-H", "1"), ("X-H", "2")])  # fmt: skip
    event = echoed(resp)
    APIGatewayProxyEventModel.model_validate(event)
    assert event["resource"] == f"/{fn}/v1/{{proxy+}}"
    assert event["path"] == f"/{fn}/v1/x/y"
    assert event["pathParameters"] == {"proxy": "x/y"}
    assert event["queryStringParameters"] == {"mode": "echo", "q": "2"}
    assert event["multiValueQueryStringParameters"]["q"] == ["1", "2"]
    assert event["multiValueHeaders"]["X-H"] == ["1", "2"] and event["headers"]["X-H"] == "2"
    assert event["requestContext"]["stage"] == "dev"
    assert event["requestContext"]["path"] == f"/dev/{fn}/v1/x/y"
    assert event["body"] is None
    assert resp.header("x-amzn-requestid") == event["requestContext"]["requestId"]


@pytest.mark.parametrize("fn", RUNTIMES)
def test_binary_bodies(router: Router, fn: str) -> None:
    v2 = echoed(router.http.post(f"/{fn}/v2/b?mode=echo", content=PNG,
                                 headers={"content-type": "image/png"}))  # fmt: skip
    assert v2["isBase64Encoded"] is True and base64.b64decode(v2["body"]) == PNG
    v1 = echoed(router.http.post(f"/dev/{fn}/v1/b?mode=echo", content=PNG,
                                 headers={"content-type": "application/octet-stream"}))  # fmt: skip
    assert v1["isBase64Encoded"] is True and base64.b64decode(v1["body"]) == PNG
    text = echoed(router.http.post(f"/dev/{fn}/v1/b?mode=echo", content="héllo",
                                   headers={"content-type": "text/plain"}))  # fmt: skip
    assert (text["body"], text["isBase64Encoded"]) == ("héllo", False)
    # responses: binary for HTTP APIs; for REST only when Accept names a binary media type
    assert router.http.get(f"/{fn}/v2/b?mode=binary").content == PNG
    assert router.http.get(f"/dev/{fn}/v1/b?mode=binary", headers={"accept": "image/png"}).content == PNG
    as_text = router.http.get(f"/dev/{fn}/v1/b?mode=binary", headers={"accept": "text/html"})
    assert as_text.content == base64.b64encode(PNG)


@pytest.mark.parametrize("fn", RUNTIMES)
def test_response_mapping_http_api(router: Router, fn: str) -> None:
    plain = router.http.get(f"/{fn}/v2/r?mode=plain")
    assert plain.status_code == 200 and plain.json() == {"hello": "world", "n": [1, 2]}
    assert plain.header("content-type") == "application/json"
    string = router.http.get(f"/{fn}/v2/r?mode=string")
    assert string.status_code == 200 and string.text == "just text"
    cookies = router.http.get(f"/{fn}/v2/r?mode=cookies")
    assert cookies.status_code == 201 and cookies.text == "c"
    assert cookies.header_list("set-cookie") == ["a=1; Path=/", "b=2"]
    assert cookies.header("x-one") == "1"
    status = router.http.get(f"/{fn}/v2/r?mode=status&code=418")
    assert (status.status_code, status.text) == (418, "teapot")
    bad = router.http.get(f"/{fn}/v2/r?mode=badbody")
    assert (bad.status_code, bad.json()) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize("fn", RUNTIMES)
def test_response_mapping_rest(router: Router, fn: str) -> None:
    multi = router.http.get(f"/dev/{fn}/v1/r?mode=multi")
    assert multi.status_code == 202 and multi.text == "m"
    assert multi.header_list("x-m") == ["1", "2"] and multi.header("x-s") == "s"
    assert multi.header("content-type") == "application/json"
    for mode in ("plain", "string", "cookies", "badbody"):  # not REST proxy results: 502
        resp = router.http.get(f"/dev/{fn}/v1/r?mode={mode}")
        assert (resp.status_code, resp.json()) == (502, {"message": "Internal server error"}), mode


@pytest.mark.parametrize("fn", RUNTIMES)
def test_function_errors_and_timeouts(router: Router, fn: str) -> None:
    raised_v2 = router.http.get(f"/{fn}/v2/e?mode=raise")
    assert (raised_v2.status_code, raised_v2.json()) == (500, {"message": "Internal Server Error"})
    raised_v1 = router.http.get(f"/dev/{fn}/v1/e?mode=raise")
    assert (raised_v1.status_code, raised_v1.json()) == (502, {"message": "Internal server error"})
    inv = router.wait(fn, where=lambda i: not i.ok)
    assert inv.status == "error"
    # the function's own timeout (2 s) is a function error to API Gateway
    assert router.http.get(f"/{fn}/v2/e?mode=sleep&s=3").status_code == 500
    assert router.http.get(f"/dev/{fn}/v1/e?mode=sleep&s=3").status_code == 502
    timed_out = router.wait(fn, where=lambda i: i.status == "timeout")
    assert timed_out.status == "timeout"


def test_integration_timeout(router: Router) -> None:
    source = router.app.source("http")
    source.timeouts = {"1.0": 0.3, "2.0": 0.3}
    rest = router.http.get("/one-rest?mode=sleep&s=1")
    assert (rest.status_code, rest.json()) == (504, {"message": "Endpoint request timed out"})
    v2 = router.http.get("/one?mode=sleep&s=1")
    assert (v2.status_code, v2.json()) == (503, {"message": "Service Unavailable"})
    # the invocations finish on their own, as in AWS
    finished = router.wait("one", count=2, timeout=10)
    assert all(i.ok for i in finished)


def test_api_gateway_own_answers(router: Router) -> None:
    nope = router.http.get("/nowhere")
    assert (nope.status_code, nope.json()) == (404, {"message": "Not Found"})
    assert router.http.post("/one").status_code == 404  # a method the path does not serve
    rest = router.http.get("/dev/nowhere")
    assert (rest.status_code, rest.json()) == (403, {"message": "Missing Authentication Token"})
    assert router.http.post("/one-rest").status_code == 403
    big = router.http.post("/py/v2/big", content=b"x" * (10 * 1024 * 1024 + 1))
    assert big.status_code == 413
    assert router.invocations("py") == []


def test_cors(router: Router) -> None:
    pre = router.http.options("/cors/7", headers={"Origin": "https://a.example",
                                                  "Access-Control-Request-Method": "PUT"})  # fmt: skip
    assert pre.status_code == 204
    assert pre.header("access-control-allow-origin") == "https://a.example"
    assert pre.header("access-control-allow-methods") == "PUT"
    actual = router.http.put("/cors/7?mode=echo", headers={"Origin": "https://a.example"})
    assert actual.status_code == 200
    assert actual.header("access-control-allow-origin") == "https://a.example"
    assert len(router.invocations("py")) == 1  # only the PUT reached the function


def test_requests_beyond_concurrency_wait_then_throttle(router: Router) -> None:
    with ThreadPoolExecutor(8) as pool:
        waited = list(pool.map(lambda _: router.http.get("/one?mode=sleep&s=0.2"), range(4)))
    assert [r.status_code for r in waited] == [200] * 4  # concurrency 1: they queued
    assert len(router.invocations("one")) == 4

    source = router.app.source("http")
    source.queue_factor = 1  # one running + one waiting
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(router.http.get, "/one?mode=sleep&s=1.5")
        deadline = time.monotonic() + 10
        while router.app.runtimes.busy("one") < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        rest = list(pool.map(lambda _: router.http.get("/one?mode=sleep&s=0.1"), range(4)))
        codes = sorted(r.status_code for r in rest)
        assert first.result().status_code == 200
    assert codes == [200, 500, 500, 500]
    throttled = next(r for r in rest if r.status_code == 500)
    assert throttled.json() == {"message": "Internal Server Error"}


def test_many_concurrent_requests_all_answered(router: Router) -> None:
    def get(i: int) -> tuple[int, str]:
        fn = RUNTIMES[i % 2]
        resp = router.http.get(f"/{fn}/v2/n{i}?mode=echo")
        return resp.status_code, json.loads(resp.content)["event"]["pathParameters"]["proxy"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(get, range(200)))
    assert results == [(200, f"n{i}") for i in range(200)]
