"""A small blocking HTTP client bound to one base URL (``Router.http``), httpx-style.

Standard library only (``http.client``), one keep-alive connection per calling thread.
"""

from __future__ import annotations

import http.client
import json as _json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status_code: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    content: bytes = b""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of a header (case-insensitive)."""
        values = self.header_list(name)
        return values[0] if values else default

    def header_list(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 400


class HttpClient:
    def __init__(self, base_url: str, timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
    ) -> Response:
        if not path.startswith("/"):
            path = "/" + path
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params, doseq=True)
        body: bytes | None = content.encode() if isinstance(content, str) else content
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        if json is not None:
            body = _json.dumps(json).encode()
            if not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("Content-Type", "application/json"))
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.putrequest(method.upper(), path, skip_accept_encoding=True)
                for k, v in pairs:
                    conn.putheader(k, v)
                if body is not None or method.upper() in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body or b"")))
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                return Response(resp.status, list(resp.getheaders()), data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def head(self, path: str, **kw: Any) -> Response:
        return self.request("HEAD", path, **kw)

    def options(self, path: str, **kw: Any) -> Response:
        return self.request("OPTIONS", path, **kw)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
