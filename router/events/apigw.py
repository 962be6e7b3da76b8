"""API Gateway REST API, Lambda proxy integration: the request event (payload 1.0) and the
mapping of the handler's result to the HTTP response.

Source: API Gateway developer guide, "Set up Lambda proxy integrations in API Gateway"
(input format and output format of a Lambda function for proxy integration).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Any, TypedDict

from .http import (
    HttpRequest,
    HttpResponse,
    MatchedRoute,
    epoch_ms,
    group_headers,
    group_pairs,
    header_text,
    host_name,
    json_response,
    media_type_matches,
    parse_query,
    request_time,
    status_code,
)

IDENTITY_KEYS = (
    "accessKey", "accountId", "apiKey", "apiKeyId", "caller", "cognitoAuthenticationProvider",
    "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId",
    "sourceIp", "user", "userAgent", "userArn",
)  # fmt: skip
RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
INTERNAL_ERROR = {"message": "Internal server error"}


class RequestContext(TypedDict):
    accountId: str
    apiId: str
    domainName: str
    domainPrefix: str
    extendedRequestId: str
    httpMethod: str
    identity: dict[str, str | None]
    path: str
    protocol: str
    requestId: str
    requestTime: str
    requestTimeEpoch: int
    resourceId: str
    resourcePath: str
    stage: str


class ProxyEvent(TypedDict):
    resource: str
    path: str
    httpMethod: str
    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    queryStringParameters: dict[str, str] | None
    multiValueQueryStringParameters: dict[str, list[str]] | None
    pathParameters: dict[str, str] | None
    stageVariables: dict[str, str] | None
    requestContext: RequestContext
    body: str | None
    isBase64Encoded: bool


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
    binary_media_types: Sequence[str] = (),
    domain_name: str | None = None,
) -> ProxyEvent:
    """The REST proxy event for ``request`` on ``route`` (``stage`` defaults to the route's)."""
    stage = stage or route.stage
    multi_headers = group_headers(request.headers)
    multi_query = group_pairs(parse_query(request.query_string))
    body, is_b64 = _body(request, binary_media_types)
    resource = route.resource
    return {
        "resource": resource,
        "path": request.path,  # REST keeps the path percent-encoded, as received
        "httpMethod": request.method.upper(),
        "headers": {k: v[-1] for k, v in multi_headers.items()},  # last value of a repeat
        "multiValueHeaders": multi_headers,
        # null, not {}, when the request has none
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(route.path_parameters) or None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": _context(
            request,
            resource,
            request_id=request_id,
            time=time,
            account=account,
            api_id=api_id,
            stage=stage,
            domain_name=domain_name,
        ),  # fmt: skip
        "body": body,
        "isBase64Encoded": is_b64,
    }


def _context(request: HttpRequest, resource: str, *, request_id: str, time: float, account: str,
             api_id: str, stage: str, domain_name: str | None) -> RequestContext:  # fmt: skip
    domain = host_name(domain_name or request.header("host") or "localhost")
    identity: dict[str, str | None] = dict.fromkeys(IDENTITY_KEYS)
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = request.header("user-agent")
    digest = hashlib.sha256(f"{request_id}|{resource}".encode()).digest()
    return {
        "accountId": account,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "extendedRequestId": base64.b64encode(digest[:10]).decode(),
        "httpMethod": request.method.upper(),
        "identity": identity,
        # the path as the client called it: with the stage, unless that is $default
        "path": request.path if stage == "$default" else f"/{stage}{request.path}",
        "protocol": request.protocol,
        "requestId": request_id,
        "requestTime": request_time(time),
        "requestTimeEpoch": epoch_ms(time),
        "resourceId": hashlib.sha256(resource.encode()).hexdigest()[:6],  # stable per resource
        "resourcePath": resource,
        "stage": stage,
    }


def _body(request: HttpRequest, binary_media_types: Sequence[str]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if binary_media_types and media_type_matches(request.media_type, binary_media_types):
        return base64.b64encode(request.body).decode(), True
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        # not text and not a binary media type: AWS would mangle it; base64 keeps it whole
        return base64.b64encode(request.body).decode(), True


def path_parameters(resource: str, raw_path: str) -> dict[str, str] | None:
    """Decoded path parameters of ``raw_path`` under ``resource`` (None: no match)."""
    route = MatchedRoute.match(f"ANY {resource}", raw_path)
    return None if route is None else route.path_parameters


def map_response(result: Any, error: dict[str, Any] | None = None) -> HttpResponse:
    """The client's response for a handler's result (or error), by the REST proxy rules.

    A function error, a result that is not an object, a missing or invalid ``statusCode``,
    an unknown key, a ``body`` that is not a string, or bad headers: 502
    ``{"message": "Internal server error"}`` (API Gateway: "Malformed Lambda proxy response").
    """
    if error is not None:
        return _internal_error(f"Lambda function error {error.get('errorType', 'Error')!r}", False)
    if not isinstance(result, dict):
        return _internal_error(f"the result is a {type(result).__name__}, not an object")
    unknown = sorted(set(result) - RESPONSE_KEYS)
    if unknown:
        return _internal_error(f"unknown key(s) {', '.join(map(repr, unknown))}")
    status = status_code(result.get("statusCode"))
    if status is None:
        return _internal_error("statusCode is missing or not an HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return _internal_error(f"body is a {type(body).__name__}, not a string")
    headers = _merge_headers(result.get("headers"), result.get("multiValueHeaders"))
    if isinstance(headers, str):
        return _internal_error(headers)
    raw = (body or "").encode()
    if result.get("isBase64Encoded") is True and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _internal_error("isBase64Encoded is true but body is not valid base64")
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))  # REST's default
    return HttpResponse(status, headers, raw)


def _merge_headers(single: Any, multi: Any) -> list[tuple[str, str]] | str:
    """headers + multiValueHeaders as one list; a pair given in both appears once."""
    merged: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for field_name, block in (("multiValueHeaders", multi), ("headers", single)):
        if block is None:
            continue
        if not isinstance(block, dict):
            return f"{field_name} is not an object"
        for name, raw in block.items():
            values = raw if field_name == "multiValueHeaders" else [raw]
            if not isinstance(values, list):
                return f"{field_name}[{name!r}] is not a list"
            key = spelled.setdefault(name.lower(), name)
            for value in values:
                text = header_text(value)
                if text is None:
                    return f"{field_name}[{name!r}] has a value that is not text"
                if text not in merged.setdefault(key, []):
                    merged[key].append(text)
    return [(name, value) for name, values in merged.items() for value in values]


def _internal_error(reason: str, malformed: bool = True) -> HttpResponse:
    return json_response(
        502, INTERNAL_ERROR,
        error=f"Malformed Lambda proxy response: {reason}" if malformed else reason,
        headers=[("x-amzn-ErrorType", "InternalServerErrorException")],
    )  # fmt: skip


__all__ = ["ProxyEvent", "build_event", "map_response", "path_parameters"]
