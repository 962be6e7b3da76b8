"""Route matching for the HTTP source: which trigger serves ``METHOD /raw/path``.

Matching is a tri-state, as in starlette's ``Route.matches``: a route matches *fully*
(path and method), *partially* (the path fits but the method does not) or not at all.
API Gateway never answers 405: a partial match only sharpens the log line; the client
gets the API's no-route answer (see :func:`no_route_kind`).

Precedence (API Gateway developer guide, "Routing API requests" for HTTP APIs; REST
resources resolve the same way): literal path segments beat ``{param}`` segments, which
beat a greedy ``{proxy+}``, compared from the left; at equal paths a method-specific
route beats ``ANY``; ``$default`` comes last. Worked examples, with the routes
``GET /pets/dog/1``, ``GET /pets/dog/{id}``, ``GET /pets/{proxy+}``, ``ANY /{proxy+}``
and ``$default``::

    GET  /pets/dog/1  -> GET /pets/dog/1
    GET  /pets/dog/2  -> GET /pets/dog/{id}
    GET  /pets/cat/1  -> GET /pets/{proxy+}
    POST /pets/dog/1  -> ANY /{proxy+}
    GET  /            -> $default          (a greedy parameter needs one segment)

A ``stage`` puts its name in front of every path of the trigger (``/dev/pets``); a
request is tried against the stage it names first, then against the routes without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

from ..config import CorsConfig, TriggerConfig
from ..events.http import MatchedRoute

LITERAL, PARAM, GREEDY = 0, 1, 2
CACHE_SIZE = 4096  # (method, path) lookups remembered; cleared when full

Kind = Literal["full", "partial", "none"]


@dataclass(frozen=True)
class Segment:
    kind: int
    text: str  # the literal, or the parameter's name


@dataclass(eq=False)
class Route:
    """One http trigger, compiled."""

    trigger: TriggerConfig
    route_key: str  # "GET /pets/{id}", "ANY /{proxy+}" or "$default"
    method: str  # "GET" ... ; "ANY" for ANY and $default
    template: str  # "/pets/{id}"; "/{proxy+}" for $default
    stage: str | None
    payload: str  # "1.0" | "2.0"
    cors: CorsConfig | None
    binary_media_types: tuple[str, ...]
    segments: tuple[Segment, ...] = ()
    is_default: bool = False
    sort_key: tuple[object, ...] = field(default=())

    @property
    def function(self) -> str:
        return self.trigger.function

    @property
    def path(self) -> str:
        """The path a client calls (stage included), as shown in the banner."""
        return (f"/{self.stage}" if self.stage else "") + (
            "/{proxy+}" if self.is_default else self.template
        )

    def match_path(self, parts: list[str]) -> dict[str, str] | None:
        """Decoded parameters when the (decoded) path segments fit, else None."""
        if self.is_default:
            # an HTTP API's $default route has no path parameters; as a REST resource it is
            # ANY /{proxy+} (and the root)
            rest = "/".join(parts)
            return {"proxy": rest} if rest and self.payload == "1.0" else {}
        want = self.segments
        params: dict[str, str] = {}
        for i, seg in enumerate(want):
            if seg.kind == GREEDY:
                tail = parts[i:]
                if not tail or not any(tail):
                    return None
                params[seg.text] = "/".join(tail)
                return params
            if i >= len(parts):
                return None
            got = parts[i]
            if seg.kind == PARAM:
                if not got:
                    return None
                params[seg.text] = got
            elif got != seg.text:
                return None
        return params if len(parts) == len(want) else None


def compile_route(trigger: TriggerConfig) -> Route:
    """A trigger's route, ready to match.

    >>> from router.config import TriggerConfig
    >>> r = compile_route(TriggerConfig(function="f", http="GET /pets/{id}"))
    >>> [(s.kind, s.text) for s in r.segments]
    [(0, 'pets'), (1, 'id')]
    """
    src = trigger.http
    assert src is not None
    stage = src.stage.strip("/") if src.stage else None
    common = dict(trigger=trigger, stage=stage or None, payload=src.payload, cors=src.cors,
                  binary_media_types=src.binary_media_types)  # fmt: skip
    if src.route == "$default":
        return Route(route_key="$default", method="ANY", template="/{proxy+}", is_default=True,
                     sort_key=(1, (), 1), **common)  # type: ignore[arg-type]  # fmt: skip
    method, template = src.route.split(" ", 1)
    if template != "/" and template.endswith("/"):
        template = template[:-1]
    segments = tuple(_segment(s) for s in template.split("/")[1:] if s != "" or template != "/")
    kinds = tuple(s.kind for s in segments)
    return Route(route_key=f"{method} {template}", method=method, template=template,
                 segments=segments, sort_key=(0, kinds, 1 if method == "ANY" else 0),
                 **common)  # type: ignore[arg-type]  # fmt: skip


def _segment(text: str) -> Segment:
    if text.startswith("{") and text.endswith("+}"):
        return Segment(GREEDY, text[1:-2])
    if text.startswith("{") and text.endswith("}"):
        return Segment(PARAM, text[1:-1])
    return Segment(LITERAL, text)


@dataclass(frozen=True)
class Match:
    """What a lookup found. ``route``/``matched`` are set for a full match; ``partial`` lists
    routes whose path fits but whose method does not; ``path`` is the path without the stage."""

    kind: Kind
    route: Route | None = None
    matched: MatchedRoute | None = None
    path: str = "/"
    partial: tuple[Route, ...] = ()
    payload: str = "2.0"  # whose no-route answer applies (API Gateway REST or HTTP API)


class RouteTable:
    """All http triggers of a config, grouped by stage, in precedence order."""

    def __init__(self, triggers: Iterable[TriggerConfig]) -> None:
        self.routes = [compile_route(t) for t in triggers if t.http is not None]
        self._stages: dict[str | None, list[Route]] = {}
        for route in sorted(self.routes, key=_precedence):
            self._stages.setdefault(route.stage, []).append(route)
        self._cache: dict[tuple[str, str], Match] = {}

    def __len__(self) -> int:
        return len(self.routes)

    def match(self, method: str, raw_path: str) -> Match:
        """The route for ``method`` on ``raw_path`` (percent-encoded, no query), cached."""
        key = (method, raw_path)
        found = self._cache.get(key)
        if found is None:
            found = self._match(method, raw_path)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _match(self, method: str, raw_path: str) -> Match:
        parts = [unquote(p) if "%" in p else p for p in raw_path.split("/")[1:]]
        if parts and parts[-1] == "" and len(parts) > 1:
            parts.pop()  # a trailing slash is ignored
        if parts == [""]:
            parts = []
        partial: list[Route] = []
        tried: list[str | None] = []
        if parts and parts[0] in self._stages and parts[0] is not None:
            tried.append(parts[0])
            rest = raw_path[len(raw_path.split("/", 2)[1]) + 1 :] or "/"
            found = self._match_in(parts[0], method, parts[1:], rest, partial)
            if found is not None:
                return found
        if None in self._stages:
            tried.append(None)
            found = self._match_in(None, method, parts, raw_path, partial)
            if found is not None:
                return found
        # the API the request names answers: the stage it starts with, else the stage-less one
        group = self._stages[tried[0]] if tried else self.routes
        return Match("partial" if partial else "none", partial=tuple(partial),
                     payload=no_route_kind(partial or group))  # fmt: skip

    def _match_in(self, stage: str | None, method: str, parts: list[str], raw_path: str,
                  partial: list[Route]) -> Match | None:  # fmt: skip
        for route in self._stages[stage]:
            params = route.match_path(parts)
            if params is None:
                continue
            if route.method != "ANY" and route.method != method:
                partial.append(route)
                continue
            template = "/" if route.is_default and not parts else route.template
            matched = MatchedRoute(route.route_key, template, params, stage or "$default")
            return Match("full", route, matched, raw_path, payload=route.payload)
        return None

    def allowed_methods(self, raw_path: str) -> list[str]:
        """The methods some route serves on ``raw_path`` (for log lines and CORS)."""
        found = self.match("\x00", raw_path)  # no method matches: every fitting route is partial
        return sorted({r.method for r in found.partial})

    def for_preflight(self, method: str, raw_path: str) -> Route | None:
        """The route a CORS preflight asks about: the one serving ``method``, else any route
        whose path fits."""
        found = self.match(method, raw_path)
        if found.route is not None:
            return found.route
        return found.partial[0] if found.partial else None


def _precedence(route: Route) -> tuple[object, ...]:
    return route.sort_key


def no_route_kind(routes: Iterable[Route]) -> str:
    """Whose answer a request that matches nothing gets: "1.0" when every candidate route is
    a REST one (403 Missing Authentication Token), else "2.0" (404 Not Found)."""
    payloads = {r.payload for r in routes}
    return "1.0" if payloads == {"1.0"} else "2.0"
