"""Who may talk to the embedded AWS: a loopback server must not be reachable from a web page.

Every request to the embedded moto passes :meth:`Guard.refuse` first (the order is the order
of the checks):

- ``Host`` must be a loopback name of the bound port: ``127.0.0.1``, ``[::1]``, ``localhost``
  or a subdomain of it (S3's virtual-hosted style, ``bucket.localhost``). A page that made its
  own domain resolve to 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- A request with an ``Origin`` is refused unless that origin is listed in ``settings.aws.cors``;
  a CORS preflight is answered only for those origins. A cross-site request without one
  (``Sec-Fetch-Site: cross-site|same-site``: an ``<img>``, a link) may only read: GET or HEAD,
  no ``Action`` query (a presigned S3 URL in the user's own page keeps working).
- moto's own endpoints (``/moto-api/...``: reset, data.json, the dashboard) are served only with
  ``settings.aws.admin: true``.
- Every other request is an AWS API request and must be signed: an ``Authorization`` header or
  a presigned query (``X-Amz-Signature``, SigV4; ``Signature``, SigV2). A browser can send
  neither cross-origin without a preflight, so a CORS-simple request (a form POST, an ``<img>``)
  can never act. Signatures are not verified (moto does not): the dummy credentials are public.

Responses to allowed origins get router's CORS headers; moto's own ``Access-Control-*`` headers
(it echoes any ``Origin``) are always removed. Standard library only.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

Answer = tuple[int, dict[str, str], bytes]

_LOCAL_NAME = re.compile(r"^(?:127\.0\.0\.1|\[::1\]|localhost|(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)+localhost)$")
# S3 presigned URLs: X-Amz-Signature (SigV4 query auth), Signature (SigV2 query auth)
_PRESIGNED = ("X-Amz-Signature", "Signature")
# what a browser may read from a response of the embedded AWS (S3's ETag and version, request ids)
_EXPOSE = "ETag, x-amz-version-id, x-amz-request-id, x-amz-id-2, x-amzn-RequestId, x-amzn-ErrorType, Content-Length"
_METHODS = "GET, HEAD, PUT, POST, DELETE"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may cache an allowed preflight


def error(status: int, kind: str, message: str) -> Answer:
    """An AWS-shaped JSON error (``x-amzn-ErrorType`` header, ``message`` in the body:
    botocore's rest-json and json parsers read both)."""
    body = json.dumps({"__type": kind, "message": message, "Message": message}).encode()
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": kind, "x-amzn-RequestId": str(uuid.uuid4()),
               "Content-Length": str(len(body))}  # fmt: skip
    return status, headers, body


class Guard:
    """The checks for one embedded server, bound to ``port``."""

    def __init__(self, port: int, cors: tuple[str, ...] | list[str] = (), admin: bool = False) -> None:
        self.port = port
        self.cors = frozenset(o.lower() for o in cors)
        self.admin = admin

    def refuse(self, environ: Mapping[str, Any]) -> Answer | None:
        """The answer for a request that must not reach moto (or a preflight answered here),
        None for one that may."""
        host = str(environ.get("HTTP_HOST", ""))
        if not self.host_allowed(host):
            return error(403, "AccessDeniedException", f"the embedded AWS answers only requests addressed to "
                         f"127.0.0.1:{self.port}, localhost:{self.port} (or a subdomain) or [::1]:{self.port}; "
                         f"Host {host!r} is refused (a web page reaching it through DNS rebinding)")  # fmt: skip
        origin = environ.get("HTTP_ORIGIN")
        allowed = origin is not None and origin.lower() in self.cors
        if environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return self._preflight(environ, origin) if allowed else _cross_site(origin)
        site = str(environ.get("HTTP_SEC_FETCH_SITE", "")).lower()
        if not allowed and origin is not None:
            return _cross_site(origin)
        if not allowed and site in ("cross-site", "same-site") and not _plain_read(environ):
            return _cross_site(origin)
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/moto-api"):
            if self.admin:
                return None
            return error(403, "AccessDeniedException", "moto's admin endpoints (/moto-api/...) are off: set "
                         "settings.aws.admin: true in triggers.yaml to serve them")  # fmt: skip
        if environ.get("HTTP_AUTHORIZATION") or _presigned(str(environ.get("QUERY_STRING", ""))):
            return None
        return error(403, "MissingAuthenticationTokenException", "the embedded AWS serves only signed "
                     "requests (an Authorization header or a presigned URL): use an AWS SDK with any keys")  # fmt: skip

    def host_allowed(self, host: str) -> bool:
        """``Host`` names a loopback address of the bound port (no port: 80)."""
        host = host.strip().lower()
        name, port = host, "80"
        if host.startswith("["):
            end = host.find("]")
            name, rest = host[: end + 1], host[end + 1 :]
            if rest:
                if not rest.startswith(":"):
                    return False
                port = rest[1:]
        elif ":" in host:
            name, port = host.rsplit(":", 1)
        return bool(_LOCAL_NAME.match(name)) and port.isdigit() and int(port) == self.port

    def _preflight(self, environ: Mapping[str, Any], origin: str | None) -> Answer:
        assert origin is not None
        headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": _METHODS, "Vary": "Origin",
                   "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE), "Content-Length": "0"}  # fmt: skip
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested:
            headers["Access-Control-Allow-Headers"] = str(requested)
        return 200, headers, b""

    def response_headers(self, environ: Mapping[str, Any], headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """moto's headers without its CORS ones; router's for an allowed origin."""
        out = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin.lower() in self.cors:
            out += [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", _EXPOSE),
                    ("Vary", "Origin")]  # fmt: skip
        return out


def _cross_site(origin: object) -> Answer:
    shown = f"origin {origin!r}" if origin is not None else "a cross-site request"
    return error(403, "AccessDeniedException", f"the embedded AWS refuses {shown}: list the web page's origin in "
                 "settings.aws.cors in triggers.yaml to let it call the embedded AWS")  # fmt: skip


def _plain_read(environ: Mapping[str, Any]) -> bool:
    """A GET or HEAD that is no Query-protocol action (``?Action=...``): what an ``<img>`` or a
    link to a presigned S3 URL sends, with no Origin. The page cannot read the answer (no CORS
    headers); such a request changes nothing."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    return "Action" not in parse_qs(str(environ.get("QUERY_STRING", "")))


def _presigned(query: str) -> bool:
    if not query:
        return False
    keys = parse_qs(query, keep_blank_values=False)
    return any(keys.get(k) for k in _PRESIGNED)
