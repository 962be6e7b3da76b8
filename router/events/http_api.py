"""API Gateway HTTP API, Lambda proxy integration with payload format 2.0: the request event
and the mapping of the handler's result to the HTTP response.

Source: API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs"
(payload format version, and "Lambda function response format" for 2.0).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, NotRequired, TypedDict, cast
from urllib.parse import unquote

from .http import (
    HttpRequest,
    HttpResponse,
    MatchedRoute,
    epoch_ms,
    group_pairs,
    header_text,
    host_name,
    json_response,
    parse_query,
    request_time,
    status_code,
)

# Bodies of these types arrive as text; every other body (no Content-Type and
# application/x-www-form-urlencoded included) arrives base64-encoded.
TEXT_MEDIA_TYPES = ("application/json", "application/xml", "application/javascript")
INTERNAL_ERROR = {"message": "Internal Server Error"}


class Http(TypedDict):
    method: str
    path: str
    protocol: str
    sourceIp: str
    userAgent: str


class RequestContext(TypedDict):
    accountId: str
    apiId: str
    domainName: str
    domainPrefix: str
    http: Http
    requestId: str
    routeKey: str
    stage: str
    time: str
    timeEpoch: int


class HttpApiEvent(TypedDict):
    version: str
    routeKey: str
    rawPath: str
    rawQueryString: str
    cookies: NotRequired[list[str]]
    headers: dict[str, str]
    queryStringParameters: NotRequired[dict[str, str]]
    requestContext: RequestContext
    body: NotRequired[str]
    pathParameters: NotRequired[dict[str, str]]
    isBase64Encoded: bool
    stageVariables: NotRequired[dict[str, str]]


def build_event(
    request: HttpRequest,
    route: MatchedRoute,
    *,
    request_id: str,
    time: float,
    account: str,
    api_id: str,
    stage: str | None = None,
    stage_variables: dict[str, str] | None = None,
    domain_name: str | None = None,
) -> HttpApiEvent:
    """The payload 2.0 event for ``request`` on ``route``. Keys without a value are absent."""
    stage = stage or route.stage
    headers, cookies = fold_headers(request.headers)
    # HTTP APIs hand the path over decoded, with the stage in front unless it is $default
    path = unquote(request.path)
    if stage != "$default":
        path = f"/{stage}{path}"
    domain = host_name(domain_name or headers.get("host") or "localhost")
    query = group_pairs(parse_query(request.query_string))
    body, is_b64 = _body(request) if request.body else (None, False)
    context: RequestContext = {
        "accountId": account,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method.upper(),
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.user_agent,
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": stage,
        "time": request_time(time),
        "timeEpoch": epoch_ms(time),
    }
    # built in the order AWS's example lists the keys; keys without a value are left out
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": request.query_string,
        "cookies": cookies or None,
        "headers": headers,
        "queryStringParameters": {k: ",".join(v) for k, v in query.items()} or None,
        "requestContext": context,
        "body": body,
        "pathParameters": dict(route.path_parameters) or None,
        "isBase64Encoded": is_b64,
        "stageVariables": dict(stage_variables) if stage_variables else None,
    }
    optional = ("cookies", "queryStringParameters", "body", "pathParameters", "stageVariables")
    return cast(HttpApiEvent, {k: v for k, v in event.items() if v is not None or k not in optional})


def fold_headers(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Lower-case names, repeated values joined by commas; Cookie headers become ``cookies``.

    >>> fold_headers([("Accept", "a"), ("accept", "b"), ("Cookie", "x=1; y=2")])
    ({'accept': 'a,b'}, ['x=1', 'y=2'])
    """
    out: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        low = name.lower()
        if low == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            out[low] = f"{out[low]},{value}" if low in out else value
    return out, cookies


def is_text(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def _body(request: HttpRequest) -> tuple[str, bool]:
    if is_text(request.media_type):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def map_response(result: Any, error: dict[str, Any] | None = None) -> HttpResponse:
    """The client's response for a handler's result (or error), by the payload 2.0 rules.

    - a function error: 500 ``{"message": "Internal Server Error"}``;
    - an object with ``statusCode``: used as is (``cookies`` become Set-Cookie headers);
    - anything else: 200, ``content-type: application/json``, the body is the result as
      JSON, except that a string result is the body as it is.
    """
    if error is not None:
        return _internal_error(f"Lambda function error {error.get('errorType', 'Error')!r}")
    if isinstance(result, dict) and "statusCode" in result:
        return _custom(result)
    if isinstance(result, str):
        body = result.encode()
    else:
        body = json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(200, [("Content-Type", "application/json")], body)


def _custom(result: dict[str, Any]) -> HttpResponse:
    status = status_code(result["statusCode"])
    if status is None:
        return _internal_error("statusCode is not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return _internal_error(f"body is a {type(body).__name__}, not a string")
    headers: list[tuple[str, str]] = []
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        return _internal_error("headers is not an object")
    for name, value in raw_headers.items():
        text = header_text(value)
        if text is None:
            return _internal_error(f"headers[{name!r}] is not text")
        headers.append((name, text))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        return _internal_error("cookies is not a list of strings")
    headers.extend(("Set-Cookie", c) for c in cookies)
    raw = (body or "").encode()
    if result.get("isBase64Encoded") is True and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _internal_error("isBase64Encoded is true but body is not valid base64")
    return HttpResponse(status, headers, raw)


# awslambda.HttpResponseStream.from(stream, prelude) marks a streamed response so: its JSON
# prelude, 8 NUL bytes, then the body (aws-lambda-ric 3.x src/HttpResponseStream.js:10-31)
STREAM_PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"


def map_stream(data: bytes) -> HttpResponse:
    """A streaming handler's response written through ``HttpResponseStream.from``: status,
    headers and cookies from the prelude (``{"statusCode": 201, "headers": {...}, "cookies":
    [...]}``; the status defaults to 200), the bytes after the delimiter as the body."""
    prelude, delimiter, body = data.partition(b"\0" * 8)
    if not delimiter:
        return _internal_error("a streamed response without its prelude's delimiter (8 NUL bytes)")
    try:
        meta = json.loads(prelude)
    except ValueError:
        return _internal_error("the streamed response's prelude is not JSON")
    if not isinstance(meta, dict):
        return _internal_error("the streamed response's prelude is not an object")
    head = _custom({"statusCode": meta.get("statusCode", 200), "headers": meta.get("headers"),
                    "cookies": meta.get("cookies")})  # fmt: skip
    return head if head.error else HttpResponse(head.status, head.headers, body)


def _internal_error(reason: str) -> HttpResponse:
    return json_response(500, INTERNAL_ERROR, error=reason)


__all__ = ["STREAM_PRELUDE_TYPE", "HttpApiEvent", "build_event", "fold_headers", "map_response", "map_stream"]
