"""API Gateway authorizers: the events a Lambda authorizer receives, the reading of its answer,
and the ``requestContext.authorizer`` the route's function then sees. Pure: no I/O.

Sources (API Gateway developer guide): "Input to an API Gateway Lambda authorizer" (REST TOKEN
and REQUEST events), "Output from an API Gateway Lambda authorizer" (the IAM policy and
context), "Control access to HTTP APIs with AWS Lambda authorizers" (payload format 1.0 / 2.0,
simple responses), "Control access to HTTP APIs with JWT authorizers" (claims and scopes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .http import HttpRequest

# What API Gateway answers itself (REST: the UNAUTHORIZED, ACCESS_DENIED and AUTHORIZER_CONFIGURATION_ERROR
# gateway responses; HTTP API: "Control access to HTTP APIs with AWS Lambda authorizers")
UNAUTHORIZED = {"message": "Unauthorized"}
REST_EXPLICIT_DENY = {"message": "User is not authorized to access this resource with an explicit deny"}
REST_IMPLICIT_DENY = {"message": "User is not authorized to access this resource"}
HTTP_API_FORBIDDEN = {"message": "Forbidden"}
REST_AUTHORIZER_ERROR = {"message": None}  # AuthorizerConfigurationException: the body REST sends is null
HTTP_API_AUTHORIZER_ERROR = {"message": "Internal Server Error"}


class AuthorizerError(Exception):
    """The authorizer's answer cannot be used (API Gateway: a 500)."""


@dataclass(frozen=True)
class Decision:
    """What an authorizer's answer says for one request."""

    allowed: bool
    explicit_deny: bool = False
    principal_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def identity_values(sources: Sequence[str], request: HttpRequest) -> list[str] | None:
    """The values of ``sources`` (``$request.header.NAME``, ``$request.querystring.NAME`` and REST's
    ``method.request.header.NAME``) in ``request``; None when one is missing or empty: API Gateway
    then answers 401 without calling the authorizer."""
    query = dict(parse_qsl(request.query_string, keep_blank_values=True))
    out = []
    for source in sources:
        _, where, name = source.rsplit(".", 2)
        value = request.header(name) if where == "header" else query.get(name)
        if not value:
            return None
        out.append(value)
    return out


def execute_api_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    """The methodArn (REST) or routeArn (HTTP API) of a request: ``arn:aws:execute-api:REGION:ACCOUNT:
    API/STAGE/METHOD/PATH`` with the request's own path (the developer guide's examples)."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method.upper()}/{path.lstrip('/')}"


def rest_token_event(token: str, method_arn: str) -> dict[str, Any]:
    """A REST TOKEN authorizer's input."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}


def rest_request_event(proxy_event: Mapping[str, Any], method_arn: str) -> dict[str, Any]:
    """A REST REQUEST authorizer's input: the proxy event's request parts, without the body."""
    return {"type": "REQUEST", "methodArn": method_arn, **_without_body(proxy_event)}


def http_api_v1_event(proxy_event: Mapping[str, Any], method_arn: str, identity: Sequence[str]) -> dict[str, Any]:
    """An HTTP API Lambda authorizer's input, payload format 1.0 (REST-compatible; identitySource and
    authorizationToken: the identity values joined by commas)."""
    joined = ",".join(identity)
    return {"version": "1.0", "type": "REQUEST", "methodArn": method_arn, "identitySource": joined,
            "authorizationToken": joined, **_without_body(proxy_event)}  # fmt: skip


def http_api_v2_event(event: Mapping[str, Any], route_arn: str, identity: Sequence[str]) -> dict[str, Any]:
    """An HTTP API Lambda authorizer's input, payload format 2.0."""
    rest = {k: v for k, v in _without_body(event).items() if k != "version"}
    return {"version": "2.0", "type": "REQUEST", "routeArn": route_arn, "identitySource": list(identity), **rest}


def _without_body(event: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}


def decide(result: Any, arn: str, *, simple: bool, flat_context: bool = True) -> Decision:
    """The decision in an authorizer's answer for the request on ``arn``: a simple response
    (``{"isAuthorized": bool, "context": {...}}``, HTTP API 2.0 with simple responses) or an IAM
    policy (``principalId``, ``policyDocument``, ``context``). ``flat_context`` (REST): the
    context's values must be strings, numbers or booleans. A malformed answer raises AuthorizerError."""
    if not isinstance(result, dict):
        raise AuthorizerError(f"the authorizer returned a {type(result).__name__}, not an object")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise AuthorizerError("the authorizer's context is not an object")
    if simple:
        allowed = result.get("isAuthorized")
        if not isinstance(allowed, bool):
            raise AuthorizerError("a simple response needs isAuthorized: true or false")
        return Decision(allowed, context=context)
    # REST, "Output from an API Gateway Lambda authorizer": "You cannot set a JSON object or array as a
    # valid value of any key in the context map"; HTTP API's own IAM policy example (payload 2.0) returns
    # an arrayKey and a mapKey ("Working with AWS Lambda authorizers for HTTP APIs")
    bad = sorted(k for k, v in context.items() if isinstance(v, dict | list)) if flat_context else []
    if bad:
        raise AuthorizerError(f"context value(s) {', '.join(bad)} are not a string, number or boolean")
    principal = result.get("principalId")
    statements = _statements(result.get("policyDocument"))
    matching = [s for s in statements if _applies(s, arn)]
    deny = any(str(s.get("Effect", "")).lower() == "deny" for s in matching)  # an explicit Deny wins
    allow = any(str(s.get("Effect", "")).lower() == "allow" for s in matching)
    return Decision(allow and not deny, deny, None if principal is None else str(principal), context)


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        raise AuthorizerError("the authorizer's answer has no policyDocument object")
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise AuthorizerError("policyDocument.Statement is not a statement or a list of them")
    return statements


def _applies(statement: Mapping[str, Any], arn: str) -> bool:
    actions, resources = statement.get("Action", []), statement.get("Resource", [])
    actions = [actions] if isinstance(actions, str) else actions
    resources = [resources] if isinstance(resources, str) else resources
    return (any(_glob(str(a).lower(), "execute-api:invoke") for a in actions)
            and any(_glob(str(r), arn) for r in resources))  # fmt: skip


def _glob(pattern: str, value: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def lambda_context(decision: Decision, payload: str, latency_ms: int) -> dict[str, Any]:
    """``requestContext.authorizer`` after a Lambda authorizer: payload 1.0 (REST and HTTP API)
    ``{principalId, integrationLatency, ...context}``; HTTP API payload 2.0 ``{"lambda": {...context}}``."""
    if payload == "2.0":
        return {"lambda": dict(decision.context)}
    # "Output from an API Gateway Lambda authorizer": payload 1.0 gets the values stringified ("123", "true")
    context = {k: _stringified(v) for k, v in decision.context.items()}
    return {**context, "principalId": decision.principal_id, "integrationLatency": latency_ms}


def _stringified(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None else str(value)


def jwt_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` after an HTTP API JWT authorizer: the token's claims, and its
    scopes (the ``scope`` claim, space-separated, or ``scp``; null without one)."""
    scope = claims.get("scope", claims.get("scp"))
    scopes = scope.split() if isinstance(scope, str) else list(scope) if isinstance(scope, list) else None
    return {"jwt": {"claims": dict(claims), "scopes": scopes}}


__all__ = [
    "AuthorizerError", "Decision", "decide", "execute_api_arn", "http_api_v1_event", "http_api_v2_event",
    "identity_values", "jwt_context", "lambda_context", "rest_request_event", "rest_token_event",
]  # fmt: skip
