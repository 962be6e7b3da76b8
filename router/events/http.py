"""HTTP values shared by the two API Gateway builders, and the helpers both use.

A source hands the builders an :class:`HttpRequest` (what came off the wire, untouched)
and a :class:`MatchedRoute` (what its own route matching found); the builders turn them
into payload 1.0 (:mod:`router.events.apigw`) or 2.0 (:mod:`router.events.http_api`), and
map the handler's result back to an :class:`HttpResponse`.

Worked examples of the path matching every route uses::

    >>> match_path("/hello/{name}", "/hello/ann%20lee")
    {'name': 'ann lee'}
    >>> match_path("/files/{proxy+}", "/files/a/b.txt")
    {'proxy': 'a/b.txt'}
    >>> match_path("/hello/{name}", "/hello/ann/more") is None
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

# the methods API Gateway passes to an integration ("ANY" is a route wildcard, not a method)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
REST_MAX_BODY = 10 * 1024 * 1024  # API Gateway quotas: payload size 10 MB
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda quotas: 6 MB synchronous invocation payload

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as received. ``path`` is raw (percent-encoded, no query)."""

    method: str
    path: str
    query_string: str = ""  # raw, without the '?'
    headers: list[tuple[str, str]] = field(default_factory=list)  # in order, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        return first_header(self.headers, name)

    @property
    def user_agent(self) -> str:
        return self.header("user-agent") or ""

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case ('' when absent)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class HttpResponse:
    """What goes back to the client. ``error`` says why a handler result was refused."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None  # for the source's log; never sent

    def header(self, name: str) -> str | None:
        return first_header(self.headers, name)

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass(frozen=True)
class MatchedRoute:
    """A route that matched a request: what the builders need from the source's router."""

    route_key: str  # "GET /hello/{name}", "ANY /{proxy+}" or "$default"
    resource: str  # the route's path template: "/hello/{name}" ("/{proxy+}" for $default)
    path_parameters: dict[str, str] = field(default_factory=dict)  # decoded values
    stage: str = "$default"

    @classmethod
    def match(cls, route_key: str, raw_path: str, stage: str = "$default", *,
              payload: str = "2.0") -> MatchedRoute | None:  # fmt: skip
        """The route for ``route_key`` if ``raw_path`` fits it, else None: the route table's
        answer (:func:`router.events.routes.match_route`)."""
        from .routes import match_route

        return match_route(route_key, raw_path, payload=payload, stage=stage)


def match_path(template: str, raw_path: str) -> dict[str, str] | None:
    """Path parameters (decoded) when ``raw_path`` fits ``template``, else None.

    ``{name}`` takes one non-empty segment; a final ``{name+}`` takes one or more segments,
    given without a leading slash. Literal segments compare after decoding. A trailing
    slash on the request path is ignored. (The route table's rules: one matcher.)
    """
    route = MatchedRoute.match(f"ANY {template}", raw_path)
    return None if route is None else route.path_parameters


def first_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    low = name.lower()
    return next((v for k, v in headers if k.lower() == low), None)


def group_headers(headers: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Values per header, names matched case-insensitively, first spelling kept."""
    spelled: dict[str, str] = {}
    out: dict[str, list[str]] = {}
    for name, value in headers:
        key = spelled.setdefault(name.lower(), name)
        out.setdefault(key, []).append(value)
    return out


def parse_query(query_string: str) -> list[tuple[str, str]]:
    """Decoded ``(name, value)`` pairs in order; ``a`` alone is ``("a", "")``.

    >>> parse_query("a=1&b=x+y&a=%262&c")
    [('a', '1'), ('b', 'x y'), ('a', '&2'), ('c', '')]
    """
    pairs = []
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def group_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def media_type_matches(media_type: str, patterns: Sequence[str]) -> bool:
    """REST ``binaryMediaTypes`` matching: exact, ``type/*`` or ``*/*``."""
    if not media_type:
        return "*/*" in patterns
    major = media_type.split("/", 1)[0]
    return any(p.lower() in (media_type, f"{major}/*", "*/*") for p in patterns)


def host_name(host: str) -> str:
    """A Host header without its port: ``localhost:3000`` -> ``localhost``."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def request_time(time: float) -> str:
    """API Gateway's ``requestTime``: ``12/Mar/2020:19:03:58 +0000`` (English months).
    The text of the latest second is kept: every request in that second reuses it."""
    second = int(time)
    if time >= 0 and time - second < 0.999999:  # datetime's rounding cannot carry a second
        cached_second, text = _last_request_time[0]
        if cached_second == second:
            return text
        text = _request_time(datetime.fromtimestamp(second, UTC))
        _last_request_time[0] = (second, text)
        return text
    return _request_time(datetime.fromtimestamp(time, UTC))


_last_request_time: list[tuple[int, str]] = [(-1, "")]  # the latest second and its text


def _request_time(d: datetime) -> str:
    return f"{d.day:02d}/{_MONTHS[d.month - 1]}/{d.year}:{d:%H:%M:%S} +0000"


def epoch_ms(time: float) -> int:
    """Epoch milliseconds, floored after rounding to the microsecond as ``datetime`` does."""
    return round(time * 1_000_000) // 1000


def json_response(status: int, payload: Any, *, error: str | None = None,
                  headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:  # fmt: skip
    body = json.dumps(payload, separators=(",", ":")).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), *headers], body, error)


def header_text(value: Any) -> str | None:
    """A header value as API Gateway reads it: strings, and scalars turned into text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def status_code(value: Any) -> int | None:
    """A valid ``statusCode`` (an int or a string of digits, 100..599), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    return None
