"""SAM's API authorizers (an Api's or HttpApi's ``Auth``: Authorizers, DefaultAuthorizer; an
event's ``Auth.Authorizer``) as the ``authorizer`` of router's http triggers.

Property names: the AWS SAM specification's ApiAuth (LambdaTokenAuthorizer,
LambdaRequestAuthorizer) and HttpApiAuth (LambdaAuthorizer, OAuth2Authorizer). A JWT
authorizer's keys: API Gateway reads the issuer's; router needs a local JWKS, which the API's
``Metadata: {router: {jwks: {AUTHORIZER: FILE}}}`` gives (``router export sam`` writes it).
"""

from __future__ import annotations

from typing import Any

from .intrinsics import Unresolvable
from .resources import arn_target

_PREFIX = {"Headers": "$request.header.", "QueryStrings": "$request.querystring."}


def api_auth(kind: str, props: dict[str, Any], metadata: Any) -> dict[str, Any]:
    """{authorizers: {name: (router authorizer or None, why not)}, default: name or None} of one
    resolved Api or HttpApi."""
    auth = props.get("Auth") or {}
    router = metadata.get("router") if isinstance(metadata, dict) else None
    jwks = (router.get("jwks") if isinstance(router, dict) else None) or {}
    found = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        found[str(name)] = _rest(spec) if kind == "Api" else _http(spec, jwks.get(name))
    return {"authorizers": found, "default": auth.get("DefaultAuthorizer")}


def route_authorizer(http: dict[str, Any], event_auth: Any, api: dict[str, Any] | None, kind: str) -> list[str]:
    """Set ``http``'s authorizer from the event's Auth (or the API's DefaultAuthorizer); the notes
    on what is not emulated."""
    event_auth = event_auth if isinstance(event_auth, dict) else {}
    api = api or {"authorizers": {}, "default": None}
    name = event_auth.get("Authorizer", api["default"])
    notes = [f"Auth {key} (not emulated)" for key in event_auth if key != "Authorizer"]
    if name is None or name == "NONE":
        return notes
    found, why = api["authorizers"].get(name, (None, str(name)))
    if found is not None and kind == "HttpApi" and http["payload"] == "1.0" and "jwt" not in found:
        # router runs a payload 1.0 route's authorizer as a REST API's (docs/http.md "Authorizers")
        found, why = None, f"{name} on a payload 1.0 HTTP API route"
    if found is None:
        return [*notes, f"Auth {why} (requests are not authorized)"]
    http["authorizer"] = found
    return notes


def unrun(triggers: list[dict[str, Any]], functions: dict[str, Any]) -> list[str]:
    """Drop the authorizers whose function router does not run (a runtime it lacks, code in S3 ...:
    listed as not emulated already); the notes."""
    notes = []
    for t in triggers:
        a = (t.get("http") or {}).get("authorizer") or {}
        if a.get("function") is not None and a["function"] not in functions:
            del t["http"]["authorizer"]
            notes.append(f"not emulated: {t['name']} authorizer {a['function']} (not run: requests are not authorized)")
    return notes


def _identity(ident: dict[str, Any]) -> dict[str, Any]:
    sources = [_PREFIX[key] + str(v) for key in ("Headers", "QueryStrings") for v in ident.get(key) or []]
    out: dict[str, Any] = {"identity_source": sources} if sources else {}
    if "ReauthorizeEvery" in ident:  # absent: API Gateway's 300 s, router's default ttl too
        out["ttl"] = int(ident["ReauthorizeEvery"])
    return out


def _function(spec: dict[str, Any]) -> str | None:
    try:
        kind, name = arn_target(spec.get("FunctionArn"))
    except Unresolvable:
        return None
    return name if kind == "function" else None


def _rest(spec: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if "UserPoolArn" in spec:
        return None, "a Cognito user pool authorizer"
    fn = _function(spec)
    if fn is None:
        return None, f"an authorizer function {spec.get('FunctionArn')!r} outside the template"
    ident = spec.get("Identity") or {}
    kind = str(spec.get("FunctionPayloadType", "TOKEN")).lower()  # SAM's default: TOKEN
    if kind == "token":
        out: dict[str, Any] = {"function": fn, "type": "token"}
        if "Header" in ident:  # absent: the Authorization header (SAM's and router's default)
            out["identity_source"] = [f"$request.header.{ident['Header']}"]
        if "ReauthorizeEvery" in ident:
            out["ttl"] = int(ident["ReauthorizeEvery"])
        return out, ""
    if ident.get("StageVariables") or ident.get("Context"):
        return None, "an authorizer identity from stage variables or the context"
    return {"function": fn, "type": "request", **_identity(ident)}, ""


def _http(spec: dict[str, Any], jwks: Any) -> tuple[dict[str, Any] | None, str]:
    if "JwtConfiguration" in spec:
        jwt = spec["JwtConfiguration"] or {}
        if not isinstance(jwks, str):
            return None, "a JWT authorizer without a local JWKS (Metadata: {router: {jwks: {NAME: FILE}}} on the API)"
        if str(spec.get("IdentitySource", "$request.header.Authorization")) != "$request.header.Authorization":
            return None, f"a JWT authorizer reading {spec['IdentitySource']} (router reads the Authorization header)"
        return {"jwt": {"issuer": jwt.get("issuer"), "audience": jwt.get("audience"), "jwks": jwks}}, ""
    fn = _function(spec)
    if fn is None:
        return None, f"an authorizer function {spec.get('FunctionArn')!r} outside the template"
    out: dict[str, Any] = {"function": fn}
    version = str(spec.get("AuthorizerPayloadFormatVersion", "2.0"))
    if version != "2.0":  # router's default is HTTP API's 2.0
        out["payload"] = version
    if str(spec.get("EnableSimpleResponses", False)).lower() == "true":
        out["simple_response"] = True
    ident = spec.get("Identity") or {}
    if ident.get("StageVariables") or ident.get("Context"):
        return None, "an authorizer identity from stage variables or the context"
    return {**out, **_identity(ident)}, ""
