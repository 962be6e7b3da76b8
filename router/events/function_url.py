"""Lambda function URLs (``http: {url: {...}}``): the request event and its URL id.

A function URL's request and response follow API Gateway HTTP API's payload format 2.0
(Lambda developer guide, "Invoking Lambda function URLs", "Request and response payloads"),
with the keys of API Gateway features a URL lacks set to fixed values: ``routeKey`` and
``stage`` ``$default``, no ``pathParameters`` or ``stageVariables``; ``requestContext.apiId``
and ``domainPrefix`` are the URL id, ``domainName`` is ``<url-id>.lambda-url.<region>.on.aws``
(the endpoint format of that page), and ``accountId`` is ``anonymous`` for ``AuthType NONE``
(as events of real NONE URLs show). Pure: the standard library only.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import http_api
from .http import HttpRequest, MatchedRoute

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def url_id(seed: str, function: str) -> str:
    """A URL id: 32 lower-case letters and digits, as AWS's are, stable per config and function."""
    digest = hashlib.sha256(f"{seed}\0{function}".encode()).digest()
    return "".join(_ALPHABET[b % 36] for b in digest[:32])


def domain_name(url: str, region: str) -> str:
    return f"{url}.lambda-url.{region}.on.aws"


def build_event(request: HttpRequest, *, request_id: str, time: float, url: str, region: str) -> dict[str, Any]:
    """The event of ``request`` to a function URL (auth NONE)."""
    domain = domain_name(url, region)
    event: dict[str, Any] = dict(http_api.build_event(
        request, MatchedRoute("$default", "/{proxy+}"), request_id=request_id, time=time, account="anonymous",
        api_id=url, domain_name=domain,
    ))  # fmt: skip
    event.pop("pathParameters", None)
    event.pop("stageVariables", None)
    return event
