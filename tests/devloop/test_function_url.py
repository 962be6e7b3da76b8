"""Function URLs: an http trigger with url: on a port of its own, every method and path to its
function, payload 2.0 in a function URL's shape (validated by aws-lambda-powertools' model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel

from router.api import Router
from router.config import parse_config
from router.errors import ConfigError
from router.httpclient import HttpClient

CONFIG = """
functions:
  echo: {handler: echo.handler}
triggers:
  - function: echo
    http: {url: {cors: {allow_origins: ["http://app.test"], max_age: 60}}}
  - function: echo
    http: GET /api
"""
HANDLER = """
import json

def handler(event, context):
    return {"statusCode": 201, "headers": {"x-echo": "1"}, "body": json.dumps(event)}
"""


@pytest.mark.slow
def test_a_request_to_the_url_is_a_function_url_event(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text(HANDLER)
    with Router.from_text(CONFIG, tmp_path) as router:
        urls = router.app.source("http").function_urls
        (name,) = urls.servers
        client = HttpClient(urls.url_of(name).rstrip("/"))
        try:
            resp = client.request("POST", "/any/path?a=1&a=2", content=b'{"k": 1}',
                                  headers={"content-type": "application/json", "origin": "http://app.test",
                                           "cookie": "c=1"})  # fmt: skip
            preflight = client.request("OPTIONS", "/x", headers={"origin": "http://app.test",
                                                                 "access-control-request-method": "PUT"})
        finally:
            client.close()
        assert resp.status_code == 201 and resp.header("x-echo") == "1"
        assert resp.header("access-control-allow-origin") == "http://app.test"
        event = resp.json()
        LambdaFunctionUrlModel.model_validate(event)  # raises when the event is not a function URL's
        ctx = event["requestContext"]
        assert (event["routeKey"], ctx["routeKey"], ctx["stage"], ctx["accountId"]) == (
            "$default", "$default", "$default", "anonymous")
        assert ctx["domainName"] == f"{ctx['apiId']}.lambda-url.us-east-1.on.aws" and len(ctx["apiId"]) == 32
        assert (event["rawPath"], event["rawQueryString"], event["queryStringParameters"]) == (
            "/any/path", "a=1&a=2", {"a": "1,2"})
        assert (ctx["http"]["method"], event["body"], event["cookies"]) == ("POST", '{"k": 1}', ["c=1"])
        assert "pathParameters" not in event and "stageVariables" not in event
        assert preflight.header("access-control-allow-origin") == "http://app.test"
        assert preflight.header("access-control-max-age") == "60"
        assert router.http.get("/api").status_code == 201  # the API's routes are on their own server still


def test_url_options_are_checked(tmp_path: Path) -> None:
    base = "functions:\n  f: {handler: f.handler}\ntriggers:\n"
    for trigger, message in (
        ("  - {function: f, http: {url: {auth: AWS_IAM}}}", "auth AWS_IAM (SigV4-signed requests) is not emulated"),
        ("  - {function: f, http: {url: {}, route: GET /x}}", "a function URL takes every method and path: no route"),
        ("  - {function: f, http: {url: {port: 3000}}}", "port 3000 is taken by another HTTP server of this config"),
    ):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_config(base + trigger, str(tmp_path / "triggers.yaml"), root=tmp_path)
