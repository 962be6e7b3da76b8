"""Function URLs: each ``http: {url: ...}`` trigger on a server and port of its own, every
method and path to its function (:mod:`router.events.function_url` builds the event; the
response is mapped by payload 2.0's rules, as Lambda maps a URL's: "Invoking Lambda function
URLs", "Response payload format"). CORS, when configured, as the URL's Cors: a preflight is
answered by the URL itself and the configured headers replace the function's. A URL whose
``invoke_mode`` is ``RESPONSE_STREAM`` answers as its function writes (:mod:`.http_stream`).
"""

from __future__ import annotations

import base64
import logging
import random
from functools import partial

from ..config import CorsConfig, TriggerConfig
from ..errors import RouterError, StartupError
from ..events import function_url, http_api
from ..events.http import REST_MAX_BODY, HttpRequest, HttpResponse, json_response
from ..invocation import json_value
from .base import SourceContext
from .http_server import Early, HttpServer
from .http_stream import HttpStream

log = logging.getLogger(__name__)


class FunctionUrls:
    """The servers of a config's function URLs (part of the http source)."""

    def __init__(self, ctx: SourceContext, host: str, queue_factor: int) -> None:
        self.ctx, self.host, self.queue_factor = ctx, host, queue_factor
        self.servers: dict[str, tuple[TriggerConfig, HttpServer]] = {}

    async def start(self, triggers: list[TriggerConfig]) -> None:
        for t in triggers:
            assert t.http is not None and t.http.url is not None
            server = HttpServer(partial(self.handle, t), host=self.host, port=t.http.url.port, max_body=REST_MAX_BODY,
                                error_response=lambda status, message: json_response(status, {"Message": message}))
            try:
                await server.start()
            except OSError as e:
                where = f"{self.host}:{t.http.url.port}"
                raise StartupError(f"trigger {t.name}: cannot serve its function URL on {where}: "
                                   f"{e.strerror or e} (http.url.port; 0 picks a free port)") from None
            self.servers[t.name] = (t, server)

    async def stop(self, grace: float) -> None:
        servers, self.servers = self.servers, {}
        for _, server in servers.values():
            await server.stop(grace=grace)

    async def replace(self, triggers: list[TriggerConfig], grace: float) -> None:
        """A live edit: the URLs as ``triggers`` say (an unchanged one keeps its server and port)."""
        keep = {t.name for t in triggers if t.name in self.servers and self.servers[t.name][0] == t}
        for name in [n for n in self.servers if n not in keep]:
            await self.servers.pop(name)[1].stop(grace=grace)
        await self.start([t for t in triggers if t.name not in keep])

    def url_of(self, name: str) -> str:
        server = self.servers[name][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{server.port}/"

    def describe(self) -> list[str]:
        s = self.ctx.config.settings
        lines = []
        for name, (t, _) in self.servers.items():
            aws = function_url.domain_name(self._id(t), s.region)
            extra = ", cors" if t.http is not None and t.http.url is not None and t.http.url.cors else ""
            lines.append(f"function URL    {self.url_of(name)} -> {t.function} (as https://{aws}/{extra})")
        return lines

    def _id(self, t: TriggerConfig) -> str:
        return function_url.url_id(str(self.ctx.config.path), t.function)

    async def handle(self, t: TriggerConfig, request: HttpRequest, early: Early) -> HttpResponse | None:
        assert t.http is not None and t.http.url is not None
        cors = t.http.url.cors
        if request.method == "OPTIONS" and cors is not None and request.header("access-control-request-method"):
            from .http import preflight_headers

            return HttpResponse(200, preflight_headers(cors, request), b"")
        request_id = base64.b64encode(random.getrandbits(88).to_bytes(11, "big")).decode()
        event = function_url.build_event(request, request_id=request_id, time=self.ctx.clock.time(),
                                         url=self._id(t), region=self.ctx.config.settings.region)  # fmt: skip
        stream = None
        if t.http.url.invoke_mode == "RESPONSE_STREAM":  # InvokeWithResponseStream: answered as it is written
            stream = HttpStream(early, rest=False, error=_stream_error,
                                decorate=partial(self._decorate, cors, request))  # fmt: skip
        try:
            inv = await self.ctx.dispatch.invoke(t, event, queue_factor=self.queue_factor, stream=stream)
        except RouterError as e:
            log.warning("function URL of %s -> 500: %s", t.function, e)
            return json_response(500, http_api.INTERNAL_ERROR)
        error = None if inv.ok else (inv.error or {"errorType": inv.status})
        if stream is not None and (stream.started or error is None):
            if stream.started:
                return stream.finish(inv.ok)
            # not a streaming function: its whole response, as the function returned it
            resp = HttpResponse(200, [("Content-Type", inv.content_type or "application/json")], inv.payload)
            return self._decorate(cors, request, resp, inv.id)
        if error is None and inv.content_type == http_api.STREAM_PRELUDE_TYPE:
            resp = http_api.map_stream(inv.result)
        else:
            resp = http_api.map_response(json_value(inv.result) if error is None else None, error)
        if resp.error:
            log.warning("function URL %s %s -> %d: %s", request.method, request.path, resp.status, resp.error)
        return self._decorate(cors, request, resp, inv.id)

    @staticmethod
    def _decorate(cors: CorsConfig | None, request: HttpRequest, resp: HttpResponse, request_id: str) -> HttpResponse:
        """The URL's own headers on an answer: the configured CORS ones, the request id."""
        if cors is not None:
            from .http import _with_cors

            resp = _with_cors(resp, cors, request.header("origin"))
        resp.headers.append(("x-amzn-RequestId", request_id))
        return resp


def _stream_error(reason: str) -> HttpResponse:
    """A streaming URL's answer for a function that failed before it wrote (payload 2.0's rule)."""
    return json_response(500, http_api.INTERNAL_ERROR, error=reason)


