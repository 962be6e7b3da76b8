"""API Gateway's route table, pure (standard library only): which route serves
``METHOD /raw/path``. The HTTP source (the daemon) and ``router event apigw|http-api`` use
this one table, so both give the same route, path parameters and API id.

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

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from .http import MatchedRoute

LITERAL, PARAM, GREEDY = 0, 1, 2
CACHE_SIZE = 4096  # (method, path) lookups remembered; cleared when full

Kind = Literal["full", "partial", "none"]


@dataclass(frozen=True)
class Segment:
    kind: int
    text: str  # the literal, or the parameter's name


@dataclass(frozen=True)
class RouteSpec:
    """A route as configured: ``"GET /pets/{id}"`` (or ``"$default"``), its payload version,
    its stage (a path prefix, or None) and what it leads to (opaque here: the source's trigger)."""

    route: str
    payload: str = "2.0"  # "1.0" (REST) | "2.0" (HTTP API)
    stage: str | None = None
    target: Any = None


@dataclass(eq=False)
class Route:
    """One route, compiled."""

    target: Any  # RouteSpec.target
    route_key: str  # "GET /pets/{id}", "ANY /{proxy+}" or "$default"
    method: str  # "GET" ... ; "ANY" for ANY and $default
    template: str  # "/pets/{id}"; "/{proxy+}" for $default
    stage: str | None
    payload: str  # "1.0" | "2.0"
    segments: tuple[Segment, ...] = ()
    is_default: bool = False
    sort_key: tuple[object, ...] = field(default=())

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


def compile_route(spec: RouteSpec) -> Route:
    """A route, ready to match.

    >>> r = compile_route(RouteSpec("GET /pets/{id}"))
    >>> [(s.kind, s.text) for s in r.segments]
    [(0, 'pets'), (1, 'id')]
    """
    stage = spec.stage.strip("/") if spec.stage else None
    common = dict(target=spec.target, stage=stage or None, payload=spec.payload)
    if spec.route == "$default":
        return Route(route_key="$default", method="ANY", template="/{proxy+}", is_default=True,
                     sort_key=(1, (), 1), **common)  # fmt: skip
    method, template = spec.route.split(" ", 1)
    if template != "/" and template.endswith("/"):
        template = template[:-1]
    segments = tuple(_segment(s) for s in template.split("/")[1:] if s != "" or template != "/")
    kinds = tuple(s.kind for s in segments)
    return Route(route_key=f"{method} {template}", method=method, template=template,
                 segments=segments, sort_key=(0, kinds, 1 if method == "ANY" else 0),
                 **common)  # fmt: skip


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
    """Routes grouped by stage, in precedence order."""

    def __init__(self, specs: Iterable[RouteSpec]) -> None:
        self.routes = [compile_route(spec) for spec in specs]
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
            # REST's catch-all serves the root as the "/" resource; an HTTP API's $default has no resource
            template = "/" if route.is_default and not parts and route.payload == "1.0" else route.template
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


def match_route(route_key: str, raw_path: str, *, payload: str = "2.0", stage: str = "$default") -> MatchedRoute | None:
    """What the table gives for a request on ``raw_path`` that one route ``route_key`` serves
    (``router event``: the route is given, the path must fit it), labelled with ``stage``.

    >>> match_route("GET /hello/{name}", "/hello/ann").path_parameters
    {'name': 'ann'}
    >>> match_route("$default", "/a/b").path_parameters  # an HTTP API's $default route has none
    {}
    >>> match_route("$default", "/a/b", payload="1.0").path_parameters  # REST: ANY /{proxy+}
    {'proxy': 'a/b'}
    """
    table = RouteTable([RouteSpec(route_key, payload)])
    method = route_key.split(" ", 1)[0] if route_key != "$default" else "GET"
    found = table.match("GET" if method == "ANY" else method, raw_path)
    if found.matched is None:
        return None
    m = found.matched
    return MatchedRoute(m.route_key, m.resource, m.path_parameters, stage)


def api_id(seed: str, payload: str) -> str:
    """The API's 10-character id (``"abcde12345"``): stable per config file and API kind, so
    the daemon and ``router event --config`` agree."""
    digest = hashlib.sha256((seed + ("rest" if payload == "1.0" else "http")).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:10])
