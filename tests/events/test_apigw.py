from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from aws_lambda_powertools.utilities.parser.models.apigw import APIGatewayEventIdentity, APIGatewayEventRequestContext
from hypothesis import given
from hypothesis import strategies as st

from router.events import apigw
from router.events.http import HttpRequest, MatchedRoute

from .conftest import key_differences, load_fixture

T = 1_583_349_317.135
ARGS: dict[str, Any] = dict(request_id="rid-1", time=T, account="123456789012", api_id="abc123defg", stage="prod")


def event(request: HttpRequest, route_key: str = "$default", **kw: Any) -> apigw.ProxyEvent:
    route = MatchedRoute.match(route_key, request.path, "prod")
    assert route is not None
    ev = apigw.build_event(request, route, **{**ARGS, **kw})
    APIGatewayProxyEventModel.model_validate(ev)
    return ev


def test_matches_the_aws_documentation_example() -> None:
    doc = load_fixture("apigw_rest_proxy.json")
    expected, req = doc["event"], doc["request"]
    headers = [(k, v) for k, values in expected["multiValueHeaders"].items() for v in values]
    request = HttpRequest(req["method"], req["path"], req["query"], headers, req["body"].encode(), req["source_ip"])
    route = MatchedRoute.match("ANY /{proxy+}", request.path, "testStage")
    assert route is not None
    ours = apigw.build_event(request, route, request_id="deef4878-7910-11e6-8f14-25afc3e9ae33", time=T,
                             account="12345678912", api_id="gy415nuibc",
                             stage_variables={"stageVariableName": "stageVariableValue"})  # fmt: skip
    APIGatewayProxyEventModel.model_validate(ours)
    # Keys: ours has every key of the example; the few more are all in the page's other examples
    # (the AWS_IAM requestContext, and the HTTP API payload 1.0 example of the HTTP API guide).
    documented_context = set(doc["request_context_aws_iam"]) | set(
        load_fixture("http_api_v2.json")["payload_1_0"]["requestContext"]
    )
    documented_identity = set(doc["request_context_aws_iam"]["identity"]) | set(APIGatewayEventIdentity.model_fields)
    for diff in key_differences(ours, expected):
        assert diff.endswith("only in ours"), diff
        where, key = diff.split(":")[0].rsplit(".", 1)
        documented = documented_identity if where.endswith("identity") else documented_context
        assert where.startswith("$.requestContext") and key in documented, diff
    for key, value in expected.items():
        if key != "requestContext":
            assert ours[key] == value, key  # type: ignore[literal-required]
    for key, value in expected["requestContext"].items():
        if key == "identity":
            assert {k: ours["requestContext"]["identity"][k] for k in value} == value
        elif key != "resourceId":  # an opaque id of the resource
            assert ours["requestContext"][key] == value, key  # type: ignore[literal-required]


def test_request_context() -> None:
    ctx = event(HttpRequest("POST", "/a%20b", headers=[("Host", "api.example.com:3000"), ("User-Agent", "ua")]))[
        "requestContext"
    ]
    assert ctx["path"] == "/prod/a%20b" and ctx["stage"] == "prod"  # the path as called, stage included
    assert ctx["requestTimeEpoch"] == 1583349317135 and ctx["requestTime"] == "04/Mar/2020:19:15:17 +0000"
    assert ctx["domainName"] == "api.example.com" and ctx["domainPrefix"] == "api"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1" and ctx["identity"]["userAgent"] == "ua"
    assert ctx["resourcePath"] == "/{proxy+}" and ctx["httpMethod"] == "POST"  # $default: a catch-all
    APIGatewayEventRequestContext.model_validate(ctx)


def test_a_default_stage_is_not_in_the_path() -> None:
    ctx = event(HttpRequest("GET", "/x"), stage="$default")["requestContext"]
    assert ctx["path"] == "/x" and ctx["stage"] == "$default"


def test_nulls_when_the_request_has_none() -> None:
    ev = event(HttpRequest("GET", "/hello"), "GET /hello")
    assert ev["queryStringParameters"] is None and ev["multiValueQueryStringParameters"] is None
    assert ev["pathParameters"] is None and ev["stageVariables"] is None
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    assert ev["path"] == "/hello" and ev["resource"] == "/hello"


def test_path_parameters_and_greedy_proxy() -> None:
    ev = event(HttpRequest("GET", "/hello/ann%20lee"), "GET /hello/{name}")
    assert ev["pathParameters"] == {"name": "ann lee"} and ev["path"] == "/hello/ann%20lee"
    ev = event(HttpRequest("GET", "/files/a/b.txt"), "ANY /files/{proxy+}")
    assert ev["pathParameters"] == {"proxy": "a/b.txt"} and ev["resource"] == "/files/{proxy+}"
    assert apigw.path_parameters("/x/{id}", "/x/7") == {"id": "7"} and apigw.path_parameters("/x/{id}", "/y") is None


def test_query_single_value_keeps_the_last() -> None:
    ev = event(HttpRequest("GET", "/q", "a=1&a=2&b=x+y&c"))
    assert ev["queryStringParameters"] == {"a": "2", "b": "x y", "c": ""}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"], "c": [""]}


_name = st.text("abcdefgABCDEFG-_", min_size=1, max_size=8)
_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=10)


@given(st.lists(st.tuples(_name, _value), max_size=10))
def test_headers_single_is_the_last_value_multi_has_all(headers: list[tuple[str, str]]) -> None:
    ev = event(HttpRequest("GET", "/", headers=headers))
    for name, _ in headers:
        values = [v for k, v in headers if k.lower() == name.lower()]
        spelled = next(k for k in ev["headers"] if k.lower() == name.lower())
        assert ev["headers"][spelled] == values[-1]
        assert ev["multiValueHeaders"][spelled] == values
    assert len(ev["headers"]) == len({k.lower() for k, _ in headers})


def test_bodies_text_binary_media_types_and_non_utf8() -> None:
    json_req = HttpRequest("POST", "/", headers=[("Content-Type", "application/json")], body=b'{"a": 1}')
    assert (event(json_req)["body"], event(json_req)["isBase64Encoded"]) == ('{"a": 1}', False)
    png = HttpRequest("POST", "/", headers=[("Content-Type", "image/png")], body=b"\x89PNG")
    ev = event(png, binary_media_types=["image/*"])
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"] or "") == b"\x89PNG"
    text_as_binary = event(json_req, binary_media_types=["*/*"])
    assert text_as_binary["isBase64Encoded"] is True
    raw = HttpRequest("POST", "/", body=b"\xff\xfe")  # not UTF-8: kept whole in base64
    assert event(raw)["isBase64Encoded"] is True and event(raw)["body"] == "//4="


# ------------------------------------------------------------------------------ responses


def test_a_well_formed_response() -> None:
    resp = apigw.map_response({"statusCode": 201, "headers": {"X-A": "1"}, "body": "made"})
    assert resp.status == 201 and resp.body == b"made" and resp.error is None
    assert resp.header("x-a") == "1" and resp.header("content-type") == "application/json"  # REST's default
    assert (
        apigw.map_response({"statusCode": "204"}).status == 204 and apigw.map_response({"statusCode": 204}).body == b""
    )


def test_the_aws_documentation_response_example() -> None:
    # Lambda developer guide, "Using AWS Lambda with Amazon API Gateway", response format example
    resp = apigw.map_response({
        "statusCode": 200, "headers": {"Content-Type": "application/json"}, "isBase64Encoded": False,
        "multiValueHeaders": {"X-Custom-Header": ["My value", "My other value"]},
        "body": "{\n  \"TotalCodeSize\": 104330022,\n  \"FunctionCount\": 26\n}",
    })  # fmt: skip
    assert resp.status == 200
    assert resp.header_values("X-Custom-Header") == ["My value", "My other value"]
    assert resp.header_values("Content-Type") == ["application/json"]
    assert json.loads(resp.body) == {"TotalCodeSize": 104330022, "FunctionCount": 26}


def test_headers_and_multi_value_headers_merge_and_a_pair_in_both_appears_once() -> None:
    resp = apigw.map_response({
        "statusCode": 200,
        "headers": {"Set-Cookie": "a=1", "X-One": "1", "X-Num": 5, "X-Flag": True},
        "multiValueHeaders": {"set-cookie": ["a=1", "b=2"], "X-Many": ["x", "y"]},
    })  # fmt: skip
    assert resp.header_values("Set-Cookie") == ["a=1", "b=2"]
    assert resp.header_values("X-Many") == ["x", "y"] and resp.header("X-One") == "1"
    assert resp.header("X-Num") == "5" and resp.header("X-Flag") == "true"


def test_base64_bodies_are_decoded() -> None:
    data = bytes(range(256))
    resp = apigw.map_response({"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(data).decode(),
                               "headers": {"Content-Type": "application/octet-stream"}})  # fmt: skip
    assert resp.body == data and resp.header("content-type") == "application/octet-stream"
    plain = apigw.map_response({"statusCode": 200, "isBase64Encoded": False, "body": "aGk="})
    assert plain.body == b"aGk="


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"body": "no status"}, "statusCode is missing"),
        ({"statusCode": "abc"}, "statusCode is missing or not an HTTP status"),
        ({"statusCode": 700}, "not an HTTP status"),
        ({"statusCode": 200, "cookies": ["a=1"]}, "unknown key(s) 'cookies'"),
        ({"statusCode": 200, "body": {"a": 1}}, "body is a dict, not a string"),
        ({"statusCode": 200, "body": 5}, "body is a int, not a string"),
        ({"statusCode": 200, "headers": ["X-A"]}, "headers is not an object"),
        ({"statusCode": 200, "headers": {"X-A": {"b": 1}}}, "has a value that is not text"),
        ({"statusCode": 200, "multiValueHeaders": {"X-A": "1"}}, "is not a list"),
        ({"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"}, "not valid base64"),
        ("just a string", "the result is a str, not an object"),
        (None, "the result is a NoneType"),
        ([1, 2], "the result is a list"),
    ],
)
def test_each_malformed_result_is_a_502(result: Any, reason: str) -> None:
    resp = apigw.map_response(result)
    assert resp.status == 502 and json.loads(resp.body) == {"message": "Internal server error"}
    assert resp.header("content-type") == "application/json"
    assert resp.error is not None and reason in resp.error and resp.error.startswith("Malformed Lambda proxy response")


def test_a_function_error_is_a_502() -> None:
    resp = apigw.map_response(None, {"errorType": "ValueError", "errorMessage": "boom"})
    assert resp.status == 502 and json.loads(resp.body) == {"message": "Internal server error"}
    assert resp.error is not None and "ValueError" in resp.error
    assert resp.header("x-amzn-ErrorType") == "InternalServerErrorException"
