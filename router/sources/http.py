"""The HTTP source: API Gateway in front of the functions, on one local server.

Every enabled ``http:`` trigger is a route on the server of ``settings.http``. A request
is matched (:mod:`router.events.routes`, the table ``router event`` uses too), turned into a
REST proxy event (payload 1.0) or an HTTP API event (payload 2.0) by :mod:`router.events`,
invoked synchronously through ``ctx.dispatch``, and the result is mapped back to the
response as API Gateway maps it. What API Gateway itself answers, and why (AWS
documentation):

- no route: REST 403 ``{"message":"Missing Authentication Token"}`` (the MISSING_AUTHENTICATION_TOKEN
  gateway response, also for a known path with an unknown method); HTTP API 404
  ``{"message":"Not Found"}`` ("Routing API requests"). API Gateway never answers 405.
- a function error (raised, timed out, crashed) or a malformed result: REST 502
  ``{"message": "Internal server error"}``, HTTP API 500 ``{"message":"Internal Server Error"}``.
- a throttled function: "If the Lambda API rejects the invocation request, API Gateway
  returns a 500 error code" (Lambda developer guide, "Handling Lambda errors with an API
  Gateway API"); the same 500 bodies. Requests first wait, up to :data:`QUEUE_FACTOR` x
  the function's concurrency of them, for a worker (the pool admits them: ``queue_factor``).
- the integration timeout (REST 29 s, HTTP API 30 s) passing before the function answers:
  REST 504 ``{"message": "Endpoint request timed out"}`` (INTEGRATION_TIMEOUT), HTTP API 503
  ``{"message":"Service Unavailable"}``; the invocation runs on, as in AWS.
- a request body over 10 MB: 413 (REQUEST_TOO_LARGE); an event over Lambda's 6 MB
  synchronous payload limit: the invocation is rejected, so 500 as above.
- a REST route whose ``response_transfer_mode`` is ``STREAM`` answers as its function writes
  (:mod:`.http_stream`), with no integration timeout ("Exceed API Gateway's 29 second timeout
  limit"; the function's own timeout ends it, at most 15 minutes as a stream may last). HTTP
  APIs do not stream ("Response streaming is only supported for REST APIs"): a streaming
  function's response is buffered there and read from its prelude.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import random
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from ..config import CorsConfig, TriggerConfig
from ..errors import RouterError, StartupError
from ..events import apigw, http_api
from ..events.http import (
    REST_MAX_BODY,
    SYNC_PAYLOAD_LIMIT,
    HttpRequest,
    HttpResponse,
    json_response,
    media_type_matches,
)
from ..events.routes import Match, Route, RouteSpec, RouteTable, api_id
from ..invocation import Invocation, json_value
from .authorize import Authorizers
from .base import SourceContext
from .function_url import FunctionUrls
from .http_server import Early, HttpServer
from .http_stream import HttpStream

log = logging.getLogger(__name__)

QUEUE_FACTOR = 10  # requests that may wait for a busy function: this x its concurrency
TIMEOUT = {"1.0": 29.0, "2.0": 30.0}  # API Gateway quotas: maximum integration timeout
_REST_ERROR = apigw.INTERNAL_ERROR
_HTTP_API_ERROR = http_api.INTERNAL_ERROR


@dataclass(frozen=True)
class HttpTarget:
    """What a route leads to: the trigger and the API settings of its route."""

    trigger: TriggerConfig
    cors: CorsConfig | None
    binary_media_types: tuple[str, ...]

    @property
    def function(self) -> str:
        return self.trigger.function


def http_routes(triggers: Iterable[TriggerConfig]) -> RouteTable:
    """The route table of ``triggers``' http routes (each route's target: an :class:`HttpTarget`)."""
    specs = []
    for t in triggers:
        if t.http is not None and t.http.url is None:  # a function URL has a server of its own
            target = HttpTarget(t, t.http.cors, tuple(t.http.binary_media_types))
            specs.append(RouteSpec(t.http.route, t.http.payload, t.http.stage, target))
    return RouteTable(specs)


class HttpSource:
    """All ``http`` triggers of a config, served by one :class:`HttpServer`."""

    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None:
        self.ctx = ctx
        self.table = http_routes(triggers)
        settings = ctx.config.settings
        self.host = settings.http.host
        self.port = settings.http.port
        self.account = settings.account
        self.api_ids = {p: api_id(str(ctx.config.path), p) for p in ("1.0", "2.0")}
        self.timeouts = dict(TIMEOUT)
        self.queue_factor = QUEUE_FACTOR
        self._server: HttpServer | None = None
        self.function_urls = FunctionUrls(ctx, self.host, QUEUE_FACTOR)
        self._url_triggers = [t for t in triggers if t.http is not None and t.http.url is not None]
        self._url_edit: asyncio.Task[None] | None = None
        self.authorizers = Authorizers(ctx)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, stack: AsyncExitStack) -> None:
        server = HttpServer(self.handle, host=self.host, port=self.port, max_body=REST_MAX_BODY,
                            error_response=_server_error)  # fmt: skip
        try:
            await server.start()
        except OSError as e:
            raise StartupError(
                f"settings.http: cannot listen on {self.host}:{self.port}: {e.strerror or e}"
                + (" (is another router or server running? set settings.http.port)"
                   if e.errno in (98, 48) else "")  # fmt: skip
            ) from None
        self._server = server
        self.port = server.port
        stack.push_async_callback(self._stop)
        await self.function_urls.start(self._url_triggers)
        log.debug("http source listening on %s with %d route(s)", self.base_url, len(self.table))

    def update(self, triggers: list[TriggerConfig]) -> None:
        """New routes (a live edit of triggers.yaml), on the same server and port: requests
        from now on are matched against them."""
        self.table = http_routes(triggers)
        self.authorizers.clear()  # cached answers of the old authorizers
        urls = [t for t in triggers if t.http is not None and t.http.url is not None]
        if urls != self._url_triggers:  # function URLs: their servers replaced (an unchanged one kept)
            self._url_triggers = urls
            previous = self._url_edit
            self._url_edit = asyncio.get_running_loop().create_task(self._replace_urls(urls, previous))

    async def _replace_urls(self, urls: list[TriggerConfig], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await self.function_urls.replace(urls, grace=self.drain_grace())
        except StartupError as e:
            log.error("%s", e)

    async def _stop(self) -> None:
        if self._url_edit is not None:
            await asyncio.wait([self._url_edit])
        await self.function_urls.stop(grace=self.drain_grace())
        if self._server is not None:  # in-flight requests may run to their function's timeout
            await self._server.stop(grace=self.drain_grace())

    def drain_grace(self) -> float:
        """Seconds a graceful stop waits for requests in flight: the longest timeout of a
        function behind a route, and a cold start's margin."""
        functions = self.ctx.config.functions
        return max((functions[r.target.function].timeout for r in self.table.routes), default=0.0) + 5.0

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def urls(self) -> list[str]:
        """Each route's full URL (``$default`` shows as ``/{proxy+}``)."""
        return [self.base_url + r.path for r in self.table.routes]

    def describe(self) -> list[str]:
        lines = []
        for route, url in zip(self.table.routes, self.urls(), strict=True):
            method = "ANY" if route.is_default else route.method
            extra = f"payload {route.payload}" + (", cors" if route.target.cors else "")
            name = route.route_key if route.is_default else method
            lines.append(f"http            {name:<7} {url} -> {route.target.function} ({extra})")
        return lines + self.function_urls.describe()

    # ------------------------------------------------------------------ requests
    async def handle(self, request: HttpRequest, early: Early) -> HttpResponse | None:
        """One request, answered as API Gateway would (None: answered through ``early``)."""
        if request.method == "OPTIONS":
            preflight = self._preflight(request)
            if preflight is not None:
                return preflight
        found = self.table.match(request.method, request.path)
        if found.route is None:
            return self._no_route(request, found)
        return await self._invoke(request, found, early)

    async def _invoke(self, request: HttpRequest, found: Match, early: Early) -> HttpResponse | None:
        route = found.route
        assert route is not None and found.matched is not None
        payload = route.payload
        if found.path != request.path:
            request = dataclasses.replace(request, path=found.path)
        event = self._event(request, found)
        authorized = await self.authorizers.check(request, route, lambda p: event if p == payload else
                                                  self._event(request, found, p))  # fmt: skip
        if isinstance(authorized, HttpResponse):
            return authorized
        if authorized is not None:  # the authorizer's context, in the shape of the route's payload version
            event = {**event, "requestContext": {**event["requestContext"], "authorizer": authorized}}
        if len(request.body) > SYNC_PAYLOAD_LIMIT // 2 and _size(event) > SYNC_PAYLOAD_LIMIT:
            return self._gateway_error(route, "the event is over Lambda's 6 MB payload limit")
        if route.target.trigger.http is not None and route.target.trigger.http.response_transfer_mode == "STREAM":
            return await self._invoke_streaming(request, route, event, early)
        cap = self.timeouts[payload]
        answered = False

        def give_up() -> bool:  # API Gateway's integration timeout: answer now, the invocation runs on
            nonlocal answered
            answered = early(_integration_timeout(payload))
            if answered:
                log.warning("%s: no answer within API Gateway's %gs integration timeout", route.route_key, cap)
            return answered

        try:
            inv = await self.ctx.dispatch.invoke(route.target.trigger, event, give_up_after=cap, on_give_up=give_up,
                                                 queue_factor=self.queue_factor)  # fmt: skip
        except RouterError as e:  # router could not invoke at all (ThrottledError, ...)
            return None if answered else self._gateway_error(route, str(e))
        return None if answered else self._response(request, route, event, inv)

    async def _invoke_streaming(self, request: HttpRequest, route: Route, event: Any,
                                early: Early) -> HttpResponse | None:  # fmt: skip
        """A REST route in STREAM mode: answered as the function writes (:mod:`.http_stream`)."""
        request_id = event["requestContext"]["requestId"]

        def decorate(resp: HttpResponse, _: str) -> HttpResponse:
            resp.headers.append(("x-amzn-RequestId", request_id))
            return resp

        def error(reason: str) -> HttpResponse:
            log.warning("%s %s -> 502: %s", request.method, request.path, reason)
            return apigw.map_response(None, {"errorType": "Streaming", "errorMessage": reason})

        stream = HttpStream(early, rest=True, error=error, decorate=decorate)
        try:
            inv = await self.ctx.dispatch.invoke(route.target.trigger, event, queue_factor=self.queue_factor,
                                                 stream=stream)  # fmt: skip
        except RouterError as e:  # router could not invoke at all (ThrottledError, ...)
            return self._gateway_error(route, str(e))
        if inv.status == "throttled":
            return self._gateway_error(route, f"function {route.target.function!r} is throttled")
        if not stream.started and not inv.ok:  # failed before it wrote: REST's answer to a function error
            return decorate(apigw.map_response(None, inv.error or {"errorType": inv.status}), "")
        resp = stream.finish(inv.ok)
        return None if resp is None else decorate(resp, "")

    def _event(self, request: HttpRequest, found: Match, payload: str | None = None) -> Any:
        """The integration event of ``request`` (in ``payload``'s format: the route's by default)."""
        route, matched = found.route, found.matched
        assert route is not None and matched is not None
        payload = payload or route.payload
        time, account, api_id = self.ctx.clock.time(), self.account, self.api_ids[route.payload]
        if payload == "1.0":
            return apigw.build_event(request, matched, binary_media_types=route.target.binary_media_types,
                                     request_id=self.ctx.ids.uuid(), time=time, account=account,
                                     api_id=api_id)  # fmt: skip
        # "JKJaXmPLvHcESHA=": unique, not secret, so no system call for it
        request_id = base64.b64encode(random.getrandbits(88).to_bytes(11, "big")).decode()
        return http_api.build_event(request, matched, request_id=request_id, time=time,
                                    account=account, api_id=api_id)  # fmt: skip

    def _response(self, request: HttpRequest, route: Route, event: Any,
                  inv: Invocation) -> HttpResponse:  # fmt: skip
        request_id = event["requestContext"]["requestId"]
        if inv.status == "throttled":
            return self._gateway_error(route, f"function {route.target.function!r} is throttled")
        error = None if inv.ok else (inv.error or {"errorType": inv.status})
        value = json_value(inv.result)  # API Gateway reads the response payload as JSON (bytes too)
        if error is None and inv.content_type == http_api.STREAM_PRELUDE_TYPE:  # awslambda.HttpResponseStream
            resp = http_api.map_stream(inv.result)
            ids = [("x-amzn-RequestId" if route.payload == "1.0" else "Apigw-Requestid", request_id)]
            if route.payload != "1.0" and route.target.cors is not None:
                resp = _with_cors(resp, route.target.cors, request.header("origin"))
        elif route.payload == "1.0":
            result = _rest_binary(value, request, route) if error is None else None
            resp = apigw.map_response(result, error)
            ids = [("x-amzn-RequestId", request_id)]
        else:
            resp = http_api.map_response(value if error is None else None, error)
            ids = [("Apigw-Requestid", request_id)]
            if route.target.cors is not None:
                resp = _with_cors(resp, route.target.cors, request.header("origin"))
        if resp.error:
            log.warning("%s %s -> %d: %s", request.method, request.path, resp.status, resp.error)
        resp.headers.extend(ids)  # a list the mapper made for this response alone
        return resp

    # ------------------------------------------------------------------ API Gateway's own answers
    def _no_route(self, request: HttpRequest, found: Match) -> HttpResponse:
        if found.partial:
            methods = ", ".join(sorted({r.method for r in found.partial}))
            log.info("no route for %s %s (that path serves %s)", request.method, request.path, methods)
        else:
            log.info("no route for %s %s", request.method, request.path)
        if found.payload == "1.0":
            return json_response(403, {"message": "Missing Authentication Token"},
                                 headers=[("x-amzn-ErrorType", "MissingAuthenticationTokenException")])  # fmt: skip
        return json_response(404, {"message": "Not Found"})

    def _gateway_error(self, route: Route, why: str) -> HttpResponse:
        log.warning("%s -> 500: %s", route.route_key, why)
        if route.payload == "1.0":
            return json_response(500, _REST_ERROR,
                                 headers=[("x-amzn-ErrorType", "InternalServerErrorException")])  # fmt: skip
        return json_response(500, _HTTP_API_ERROR)

    def _preflight(self, request: HttpRequest) -> HttpResponse | None:
        """A CORS preflight for a route with ``cors``: answered by API Gateway itself, even
        without an OPTIONS route ("Configure CORS for HTTP APIs")."""
        want = request.header("access-control-request-method")
        origin = request.header("origin")
        if not want or origin is None:
            return None
        route = self.table.for_preflight(want.strip().upper(), request.path)
        if route is None or route.target.cors is None:
            return None
        status = 204 if route.payload == "2.0" else 200
        return HttpResponse(status, preflight_headers(route.target.cors, request), b"")


def preflight_headers(cors: CorsConfig, request: HttpRequest) -> list[tuple[str, str]]:
    """The headers of a CORS preflight's answer for ``cors`` (none when the origin is not allowed)."""
    headers = _allow_origin(cors, request.header("origin"))
    if headers:
        asked = request.header("access-control-request-headers")
        allow_headers = ",".join(cors.allow_headers)
        if "*" in cors.allow_headers and asked:
            allow_headers = asked
        headers += [("Access-Control-Allow-Methods", ",".join(cors.allow_methods)),
                    ("Access-Control-Allow-Headers", allow_headers)]  # fmt: skip
        if cors.max_age is not None:
            headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    return headers


def _allow_origin(cors: CorsConfig, origin: str | None) -> list[tuple[str, str]]:
    """Access-Control-Allow-Origin (and -Credentials) for ``origin``; [] when not allowed."""
    if origin is None:
        return []
    if "*" in cors.allow_origins and not cors.allow_credentials:
        return [("Access-Control-Allow-Origin", "*")]
    if "*" not in cors.allow_origins and origin not in cors.allow_origins:
        return []
    out = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    if cors.allow_credentials:
        out.append(("Access-Control-Allow-Credentials", "true"))
    return out


def _with_cors(resp: HttpResponse, cors: CorsConfig, origin: str | None) -> HttpResponse:
    """HTTP API: the configured CORS headers replace any the function returned."""
    headers = [(k, v) for k, v in resp.headers if not k.lower().startswith("access-control-")]
    allowed = _allow_origin(cors, origin)
    if allowed and cors.expose_headers:
        allowed.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    return dataclasses.replace(resp, headers=headers + allowed)


def _rest_binary(result: Any, request: HttpRequest, route: Route) -> Any:
    """REST sends a base64 body as binary only when the first Accept type is one of the
    API's binaryMediaTypes; otherwise the client gets the base64 text ("Return binary
    media from a Lambda proxy integration")."""
    if not (isinstance(result, dict) and result.get("isBase64Encoded") is True):
        return result
    accept = (request.header("accept") or "").split(",", 1)[0].split(";", 1)[0].strip().lower()
    if route.target.binary_media_types and media_type_matches(accept, route.target.binary_media_types):
        return result
    return {**result, "isBase64Encoded": False}


def _integration_timeout(payload: str) -> HttpResponse:
    if payload == "1.0":
        return json_response(504, {"message": "Endpoint request timed out"})
    return json_response(503, {"message": "Service Unavailable"})


def _server_error(status: int, message: str) -> HttpResponse:
    return json_response(status, {"message": message})


def _size(event: Any) -> int:
    return len(json.dumps(event, separators=(",", ":")).encode())

