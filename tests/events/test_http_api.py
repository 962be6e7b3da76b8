from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from hypothesis import given
from hypothesis import strategies as st

from router.events import http_api
from router.events.http import HttpRequest, MatchedRoute, request_time

from .conftest import key_differences, load_fixture

T = 1_583_348_638.390
ARGS: dict[str, Any] = dict(request_id="JKJaXmPLvHcESHA=", time=T, account="123456789012", api_id="r3pmxmplak")


def event(request: HttpRequest, route_key: str = "$default", stage: str = "$default", **kw: Any) -> dict[str, Any]:
    route = MatchedRoute.match(route_key, request.path, stage)
    assert route is not None
    ev = http_api.build_event(request, route, **{**ARGS, **kw})
    APIGatewayProxyEventV2Model.model_validate(ev)
    return dict(ev)


def test_matches_the_aws_documentation_example() -> None:
    doc = load_fixture("http_api_v2.json")
    expected = doc["event"]
    headers = [("Header1", "value1"), ("Header2", "value1"), ("Header2", "value2"), ("Cookie", "cookie1; cookie2"),
               ("Content-Type", "text/plain"), ("User-Agent", "agent")]  # fmt: skip
    request = HttpRequest("POST", "/my/path", expected["rawQueryString"], headers, b"Hello from Lambda", "IP")
    route = MatchedRoute("$default", "/{proxy+}", {"parameter1": "value1"}, "$default")
    ours = http_api.build_event(request, route, request_id="id", time=T, account="123456789012", api_id="api-id",
                                stage_variables=expected["stageVariables"],
                                domain_name="id.execute-api.us-east-1.amazonaws.com")  # fmt: skip
    # authentication (mTLS) and authorizer are not simulated: the only keys we lack (headers below)
    without_headers = {k: v for k, v in ours.items() if k != "headers"}
    assert key_differences(without_headers, {k: v for k, v in expected.items() if k != "headers"}) == [
        "$.requestContext.authentication: only in the AWS example",
        "$.requestContext.authorizer: only in the AWS example",
    ]
    for key, value in expected.items():
        if key not in ("headers", "requestContext"):
            assert ours[key] == value, key  # type: ignore[literal-required]
    # 2.0 lower-cases header names (the page spells them Header1/Header2)
    assert ours["headers"] == {
        **{k.lower(): v for k, v in expected["headers"].items()},
        "content-type": "text/plain",
        "user-agent": "agent",
    }
    ctx = dict(ours["requestContext"])
    assert ctx.pop("time") == request_time(expected["requestContext"]["timeEpoch"] / 1000)
    assert ctx == {
        k: v for k, v in expected["requestContext"].items() if k not in ("authentication", "authorizer", "time")
    }


def test_keys_without_a_value_are_absent() -> None:
    ev = event(HttpRequest("GET", "/"))
    for key in ("cookies", "queryStringParameters", "body", "pathParameters", "stageVariables"):
        assert key not in ev
    assert ev["rawQueryString"] == "" and ev["isBase64Encoded"] is False and ev["routeKey"] == "$default"


def test_route_path_and_stage() -> None:
    ev = event(HttpRequest("GET", "/hello/ann%20lee", "x=1"), "GET /hello/{name}", stage="dev")
    assert ev["routeKey"] == ev["requestContext"]["routeKey"] == "GET /hello/{name}"
    assert ev["pathParameters"] == {"name": "ann lee"}
    # HTTP APIs give the path decoded, the stage in front (none for $default)
    assert ev["rawPath"] == ev["requestContext"]["http"]["path"] == "/dev/hello/ann lee"
    assert ev["requestContext"]["stage"] == "dev" and ev["rawQueryString"] == "x=1"
    assert ev["requestContext"]["timeEpoch"] == 1583348638390


def test_cookies_leave_the_headers() -> None:
    ev = event(HttpRequest("GET", "/", headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3"), ("Accept", "*/*")]))
    assert ev["cookies"] == ["a=1", "b=2", "c=3"] and ev["headers"] == {"accept": "*/*"}


_name = st.text("abcdefgABCDEFG-_", min_size=1, max_size=8).filter(lambda n: n.lower() != "cookie")
_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=10)


@given(st.lists(st.tuples(_name, _value), max_size=10))
def test_header_folding(headers: list[tuple[str, str]]) -> None:
    folded, cookies = http_api.fold_headers(headers)
    assert cookies == []
    assert set(folded) == {k.lower() for k, _ in headers} and all(k == k.lower() for k in folded)
    for name in folded:
        assert folded[name] == ",".join(v for k, v in headers if k.lower() == name)


@given(st.lists(st.tuples(st.text("abc", min_size=1, max_size=3), st.text("xyz ,&=", max_size=4)), max_size=8))
def test_query_values_are_joined_by_commas(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import urlencode

    ev = event(HttpRequest("GET", "/", urlencode(pairs)))
    names = dict.fromkeys(n for n, _ in pairs)
    expected = {n: ",".join(v for k, v in pairs if k == n) for n in names}
    assert ev.get("queryStringParameters", {}) == expected


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/html", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),  # arrives base64-encoded
        ("application/octet-stream", False),
        (None, False),  # no Content-Type: base64 too
    ],
)
def test_body_encoding_follows_the_content_type(content_type: str | None, text: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    ev = event(HttpRequest("POST", "/", headers=headers, body=b"a=1&b=2"))
    assert ev["isBase64Encoded"] is (not text)
    assert (ev["body"] if text else base64.b64decode(ev["body"]).decode()) == "a=1&b=2"


# ------------------------------------------------------------------------------ responses


def test_the_aws_documentation_inference_examples() -> None:
    for case in load_fixture("http_api_v2.json")["responses_2_0"]:
        resp = http_api.map_response(case["output"])
        assert resp.status == case["status"] and resp.header("content-type") == case["content_type"]
        body = resp.body.decode()
        assert (json.loads(body) if isinstance(case["body"], dict) else body) == case["body"]


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ("Hello from Lambda!", b"Hello from Lambda!"),  # a string is the body as it is
        ({"message": "hi"}, b'{"message":"hi"}'),
        ({"body": "x", "headers": {}}, b'{"body":"x","headers":{}}'),  # no statusCode: all of it is the body
        ([1, "a"], b'[1,"a"]'),
        (42, b"42"),
        (True, b"true"),
        (None, b"null"),
    ],
)
def test_results_without_status_code_are_200_json(result: Any, body: bytes) -> None:
    resp = http_api.map_response(result)
    assert (resp.status, resp.body, resp.header("Content-Type")) == (200, body, "application/json")


def test_a_result_with_status_code_is_used_as_is_and_cookies_become_set_cookie() -> None:
    resp = http_api.map_response({
        "statusCode": 302, "headers": {"Location": "/x", "X-N": 1}, "cookies": ["a=1; Path=/", "b=2"], "body": "",
        "unknownKey": "ignored",
    })  # fmt: skip
    assert resp.status == 302 and resp.header("location") == "/x" and resp.header("x-n") == "1"
    assert resp.header_values("Set-Cookie") == ["a=1; Path=/", "b=2"]
    assert resp.header("content-type") is None and resp.body == b""


def test_base64_bodies_are_decoded() -> None:
    data = b"\x00\xffbinary"
    resp = http_api.map_response({"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(data).decode()})
    assert resp.body == data


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"statusCode": "nope"}, "statusCode is not an HTTP status"),
        ({"statusCode": 200, "body": {"a": 1}}, "body is a dict"),
        ({"statusCode": 200, "headers": "x"}, "headers is not an object"),
        ({"statusCode": 200, "headers": {"a": [1]}}, "headers['a'] is not text"),
        ({"statusCode": 200, "cookies": "a=1"}, "cookies is not a list of strings"),
        ({"statusCode": 200, "isBase64Encoded": True, "body": "%%%"}, "not valid base64"),
    ],
)
def test_malformed_custom_responses_are_500(result: Any, reason: str) -> None:
    resp = http_api.map_response(result)
    assert resp.status == 500 and json.loads(resp.body) == {"message": "Internal Server Error"}
    assert resp.error is not None and reason in resp.error


def test_a_function_error_is_a_500() -> None:
    resp = http_api.map_response(None, {"errorType": "TypeError", "errorMessage": "x", "trace": []})
    assert resp.status == 500 and json.loads(resp.body) == {"message": "Internal Server Error"}
    assert resp.error is not None and "TypeError" in resp.error
