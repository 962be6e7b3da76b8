"""An http trigger's ``authorizer`` as its SAM API's ``Auth.Authorizers`` entry and the event's
``Auth: {Authorizer: NAME}`` (no DefaultAuthorizer: the API's other routes stay open, as in router).

Property names: the AWS SAM specification's ApiAuth (LambdaTokenAuthorizer: FunctionArn,
FunctionPayloadType TOKEN, Identity.Header, Identity.ReauthorizeEvery; LambdaRequestAuthorizer:
FunctionPayloadType REQUEST, Identity.Headers/QueryStrings/ReauthorizeEvery) and HttpApiAuth
(LambdaAuthorizer: FunctionArn, AuthorizerPayloadFormatVersion, EnableSimpleResponses,
Identity; OAuth2Authorizer: JwtConfiguration {issuer, audience}, IdentitySource).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from ..schema import AuthorizerConfig, TriggerConfig
from .export import _arn, logical_id

if TYPE_CHECKING:
    from .export import _Export

_SOURCE = re.compile(r"(?:\$request|method\.request)\.(header|querystring)\.(.+)")


def route_auth(x: _Export, t: TriggerConfig, api: str, rest: bool) -> dict[str, Any] | None:
    """The event's Auth, the authorizer declared on the API ``api`` (a logical id); None when SAM
    cannot say it (noted: the route is then left out rather than deployed open)."""
    h = t.http
    assert h is not None and h.authorizer is not None
    a = h.authorizer
    spec = _rest(x, t, a) if rest else _http(x, a)
    if spec is None:
        return None
    resource = x.resources[api]
    found = resource["Properties"].setdefault("Auth", {}).setdefault("Authorizers", {})
    name = next((n for n, s in found.items() if s == spec), None)
    if name is None:
        base = name = logical_id(a.function or "jwt", "Authorizer")
        n = 2
        while name in found:
            name, n = f"{base}{n}", n + 1
        found[name] = spec
    if a.jwt is not None:
        # API Gateway finds the keys itself: the issuer's /.well-known/openid-configuration jwks_uri
        # ("Control access to HTTP APIs with JWT authorizers"); router's jwks goes in the API's
        # Metadata (free-form: SAM and CloudFormation ignore it) for the template's import
        jwks = a.jwt.jwks
        if not jwks.startswith(("http://", "https://")):
            jwks = os.path.relpath(x.config.root / jwks, x.out_dir)
        resource.setdefault("Metadata", {}).setdefault("router", {}).setdefault("jwks", {})[name] = jwks
        x.skipped.append(f"trigger {t.name}: the JWT authorizer's jwks {a.jwt.jwks} is local: API Gateway reads "
                         f"the keys of the issuer {a.jwt.issuer} (its /.well-known/openid-configuration)")  # fmt: skip
    return {"Authorizer": name}


def _sources(a: AuthorizerConfig) -> tuple[list[str], list[str]]:
    headers: list[str] = []
    queries: list[str] = []
    for s in a.identity_source:
        m = _SOURCE.fullmatch(s)
        assert m is not None  # AuthorizerConfig checked the forms
        (headers if m.group(1) == "header" else queries).append(m.group(2))
    return headers, queries


def _identity(headers: list[str], queries: list[str], ttl: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if headers:
        out["Headers"] = headers
    if queries:
        out["QueryStrings"] = queries
    # API Gateway caches by the identity sources: none, no cache (router does not cache either), and
    # SAM refuses a REQUEST authorizer with ReauthorizeEvery > 0 and no identity source
    out["ReauthorizeEvery"] = ttl if headers or queries else 0
    return out


def _rest(x: _Export, t: TriggerConfig, a: AuthorizerConfig) -> dict[str, Any] | None:
    assert a.function is not None  # a REST route has no jwt authorizer (config check)
    spec: dict[str, Any] = {"FunctionArn": _arn(x.ids[("function", a.function)]),
                            "FunctionPayloadType": a.type.upper()}  # fmt: skip
    headers, queries = _sources(a)
    if a.type == "request":
        spec["Identity"] = _identity(headers, queries, a.ttl)
        return spec
    # TOKEN: one header (Identity.Header, default Authorization); router reads the first source
    if a.identity_source and a.identity_source[0].split(".")[-2] != "header":
        x.skipped.append(f"trigger {t.name}: a TOKEN authorizer's token is a header, not "
                         f"{a.identity_source[0]} (the route left out rather than deployed open)")  # fmt: skip
        return None
    if len(a.identity_source) > 1:
        x.skipped.append(f"trigger {t.name}: a TOKEN authorizer has one identity source, the token's header "
                         f"({', '.join(a.identity_source[1:])} left out)")  # fmt: skip
    spec["Identity"] = {**({"Header": headers[0]} if headers else {}), "ReauthorizeEvery": a.ttl}
    return spec


def _http(x: _Export, a: AuthorizerConfig) -> dict[str, Any]:
    if a.jwt is not None:
        # router reads the token from the Authorization header (docs/http.md "JWT authorizers")
        return {"JwtConfiguration": {"issuer": a.jwt.issuer, "audience": list(a.jwt.audience)},
                "IdentitySource": "$request.header.Authorization"}  # fmt: skip
    assert a.function is not None
    spec: dict[str, Any] = {"FunctionArn": _arn(x.ids[("function", a.function)]),
                            "AuthorizerPayloadFormatVersion": a.payload or "2.0"}  # HTTP API's default  # fmt: skip
    if a.simple_response:
        spec["EnableSimpleResponses"] = True
    spec["Identity"] = _identity(*_sources(a), a.ttl)
    return spec
