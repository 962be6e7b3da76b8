"""Authorizers on http routes: a Lambda authorizer (a function of the config, invoked through
``ctx.dispatch`` with API Gateway's authorizer event) or an HTTP API JWT authorizer, run before
the route's function, their results cached per identity-source value for ``ttl`` seconds.
The events and the reading of the answers are :mod:`router.events.authorizer`'s."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import AuthorizerConfig, TriggerConfig
from ..errors import RouterError
from ..events import authorizer as auth
from ..events.http import HttpRequest, HttpResponse, json_response
from ..events.routes import Route
from .base import SourceContext

if TYPE_CHECKING:
    from .jwt_auth import JwtVerifier

log = logging.getLogger(__name__)

EventBuilder = Callable[[str], Any]  # payload version -> the integration event of this request in it


class Authorizers:
    """The authorizers of one HTTP source, their caches and JWKS keys."""

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, Any, int]] = {}
        self._jwt: dict[tuple[str, str], JwtVerifier] = {}
        self.invocations = 0  # authorizer functions invoked (the cache's misses)

    def clear(self) -> None:
        self._cache.clear()
        self._jwt.clear()

    async def check(self, request: HttpRequest, route: Route,
                    build: EventBuilder) -> HttpResponse | dict[str, Any] | None:  # fmt: skip
        """None: the route has no authorizer. A response: API Gateway's refusal (401, 403, 500).
        Else the ``requestContext.authorizer`` the route's function sees."""
        trigger: TriggerConfig = route.target.trigger
        config = trigger.http.authorizer if trigger.http is not None else None
        if config is None:
            return None
        rest = route.payload == "1.0"
        if config.jwt is not None:
            return self._check_jwt(request, trigger, config)
        sources = config.identity_source or (("method.request.header.Authorization",) if config.type == "token" else ())
        identity = auth.identity_values(sources, request)
        if identity is None:  # a missing identity source: 401 before any invocation
            return _refusal(401, rest)
        event = build(route.payload)
        ctx = event["requestContext"]
        arn = auth.execute_api_arn(self.ctx.config.settings.region, ctx["accountId"], ctx["apiId"], ctx["stage"],
                                   request.method, request.path)  # fmt: skip
        version = "1.0" if rest else (config.payload or "2.0")
        key = (trigger.name or trigger.function, tuple(identity))
        cached = self._cache.get(key) if sources and config.ttl else None
        if cached is not None and cached[0] > time.monotonic():
            result, latency = cached[1], cached[2]
        else:
            answer = await self._invoke(trigger, config, self._event(config, version, rest, build, arn, identity))
            if isinstance(answer, HttpResponse):
                return answer
            result, latency = answer
            if sources and config.ttl:
                self._cache[key] = (time.monotonic() + config.ttl, result, latency)
        try:
            simple = config.simple_response and version == "2.0"
            decision = auth.decide(result, arn, simple=simple, flat_context=rest)
        except auth.AuthorizerError as e:
            log.warning("%s: authorizer %s: %s -> 500", route.route_key, config.function, e)
            return _refusal(500, rest)
        if not decision.allowed:
            return _refusal(403, rest, explicit=decision.explicit_deny)
        return auth.lambda_context(decision, route.payload, latency)  # the integration event's shape

    def _event(self, config: AuthorizerConfig, version: str, rest: bool, build: EventBuilder, arn: str,
               identity: list[str]) -> dict[str, Any]:  # fmt: skip
        if rest and config.type == "token":
            return auth.rest_token_event(identity[0], arn)
        if rest:
            return auth.rest_request_event(build("1.0"), arn)
        if version == "1.0":
            return auth.http_api_v1_event(build("1.0"), arn, identity)
        return auth.http_api_v2_event(build("2.0"), arn, identity)

    async def _invoke(self, trigger: TriggerConfig, config: AuthorizerConfig,
                      event: dict[str, Any]) -> HttpResponse | tuple[Any, int]:  # fmt: skip
        assert config.function is not None
        rest = trigger.http is not None and trigger.http.payload == "1.0"
        target = trigger.model_copy(update={"function": config.function, "name": f"{trigger.name}-authorizer"})
        self.invocations += 1
        started = time.monotonic()
        try:
            inv = await self.ctx.dispatch.invoke(target, event)
        except RouterError as e:
            log.warning("authorizer %s could not be invoked: %s -> 500", config.function, e)
            return _refusal(500, rest)
        latency = int((time.monotonic() - started) * 1000)
        if not inv.ok:
            # "Output from an API Gateway Lambda authorizer": the function raising "Unauthorized" -> 401
            if (inv.error or {}).get("errorMessage") == "Unauthorized":
                return _refusal(401, rest)
            log.warning("authorizer %s failed (%s) -> 500", config.function, (inv.error or {}).get("errorType"))
            return _refusal(500, rest)
        return inv.result, latency

    def _check_jwt(self, request: HttpRequest, trigger: TriggerConfig,
                   config: AuthorizerConfig) -> HttpResponse | dict[str, Any]:  # fmt: skip
        from .jwt_auth import JwtRejected, JwtVerifier  # cryptography: loaded only for JWT authorizers

        assert config.jwt is not None
        key = (trigger.name or trigger.function, config.jwt.jwks)
        verifier = self._jwt.get(key)
        if verifier is None:
            verifier = self._jwt[key] = JwtVerifier(config, self.ctx.config.root)
        try:  # the identity source of an HTTP API JWT authorizer: $request.header.Authorization
            claims = verifier.claims(request.header("authorization"), self.ctx.clock.time())
        except JwtRejected as e:
            log.info("%s %s -> 401: JWT %s", request.method, request.path, e)
            return _refusal(401, False)
        return auth.jwt_context(claims)


def _refusal(status: int, rest: bool, *, explicit: bool = False) -> HttpResponse:
    if status == 401:
        return json_response(401, auth.UNAUTHORIZED,
                             headers=[("x-amzn-ErrorType", "UnauthorizedException")] if rest else [])  # fmt: skip
    if status == 403 and rest:
        body = auth.REST_EXPLICIT_DENY if explicit else auth.REST_IMPLICIT_DENY
        return json_response(403, body, headers=[("x-amzn-ErrorType", "AccessDeniedException")])
    if status == 403:
        return json_response(403, auth.HTTP_API_FORBIDDEN)
    if rest:
        return json_response(500, auth.REST_AUTHORIZER_ERROR,
                             headers=[("x-amzn-ErrorType", "AuthorizerConfigurationException")])  # fmt: skip
    return json_response(500, auth.HTTP_API_AUTHORIZER_ERROR)
