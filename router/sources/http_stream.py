"""Streamed HTTP answers: a function URL in ``RESPONSE_STREAM`` mode and a REST route whose
integration's ``responseTransferMode`` is ``STREAM`` answer as the function writes.

:class:`HttpStream` is the :class:`router.types.ResponseStream` of one request. What AWS does,
and so what it does:

- the answer starts once the function's metadata is known: the status, headers and cookies of
  an ``awslambda.HttpResponseStream.from`` prelude (JSON, then 8 NUL bytes), after which the
  bytes written are the body, chunk by chunk (``Transfer-Encoding: chunked``). A function URL
  reads a prelude when the stream's content type says there is one (the client sets
  ``application/vnd.awslambda.http-integration-response``), else answers 200 with the
  stream's content type and its bytes; REST "begins the payload stream after it receives the
  valid metadata and delimiter", which must come in the first 16 KB ("Set up a Lambda proxy
  integration with payload response streaming in API Gateway"): otherwise, and on a bad
  prelude, the request gets REST's function-error answer (502);
- a function that does not stream: a function URL answers its whole response as the function
  returned it (InvokeWithResponseStream hands it over as one payload, not read as the
  buffered mode's ``{statusCode, body}``); REST has no prelude in it, so 502;
- the function failing or timing out after the answer started: the connection closes without
  the last chunk (the client sees an incomplete response); before: the mode's error answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from ..events import apigw, http_api
from ..events.http import HttpResponse
from .http_server import Early
from .http_wire import StreamWriter

log = logging.getLogger(__name__)

DELIMITER = b"\0" * 8
PRELUDE_LIMIT = 16 * 1024  # REST: the metadata and delimiter within the first 16 KB of the stream

Decorate = Callable[[HttpResponse, str], HttpResponse]  # (the head, the request id): headers added


class HttpStream:
    """One request's streamed answer (see the module docstring). ``rest``: a REST route's
    (always a prelude, its 16 KB limit, REST's mapping and errors), else a function URL's;
    ``error(reason)``: the mode's answer for a function that failed or sent no valid prelude;
    ``decorate(head, request_id)``: the head with the route's own headers (request ids, CORS)."""

    def __init__(self, early: Early, *, rest: bool, error: Callable[[str], HttpResponse],
                 decorate: Decorate) -> None:  # fmt: skip
        self.early, self.rest, self.error, self.decorate = early, rest, error, decorate
        self.writer: StreamWriter | None = None
        self.started = False  # the function streams (its first write, or its end)
        self.answered = False  # the request has its answer (a stream began, or an error went)
        self._pending: bytearray | None = None  # bytes before the prelude's delimiter
        self._request_id = ""

    # ------------------------------------------------------------------ ResponseStream
    def start(self, content_type: str, request_id: str) -> None:
        self.started, self._request_id = True, request_id
        if self.rest or content_type == http_api.STREAM_PRELUDE_TYPE:
            self._pending = bytearray()
        else:
            self._open(HttpResponse(200, [("Content-Type", content_type)], b""))

    def write(self, chunk: bytes) -> None:
        if self.writer is not None:
            self.writer.write(chunk)
            return
        if self._pending is None or self.answered:
            return
        self._pending += chunk
        at = self._pending.find(DELIMITER)
        if at < 0:
            if len(self._pending) > PRELUDE_LIMIT:
                self._fail(f"no metadata prelude and delimiter in the first {PRELUDE_LIMIT} bytes of the stream")
            return
        head = self._head(bytes(self._pending[:at]))
        rest, self._pending = bytes(self._pending[at + len(DELIMITER) :]), None
        if head.error:
            self._fail(head.error)
            return
        self._open(head)
        if rest and self.writer is not None:
            self.writer.write(rest)

    # ------------------------------------------------------------------ the end
    def finish(self, ok: bool) -> HttpResponse | None:
        """The invocation ended (``ok``: it succeeded). None when the request has its answer
        (the stream ended here, or broke off), else the answer still owed (see the module
        docstring: the caller maps a function that did not stream)."""
        if self.writer is not None:
            if ok:
                self.writer.end()
            else:
                self.writer.abort()
            return None
        if self.answered:
            return None
        if self._pending is not None:  # it ended before its prelude's delimiter (or failed)
            reason = "the function failed" if not ok else "the stream ended without its metadata prelude's delimiter"
            self._fail(reason)
            return None
        return None if self.started else self._not_streamed()

    def _not_streamed(self) -> HttpResponse | None:
        return self.error("the function does not stream: no metadata prelude") if self.rest else None

    # ------------------------------------------------------------------ helpers
    def _head(self, prelude: bytes) -> HttpResponse:
        if not self.rest:
            return http_api.map_stream(prelude + DELIMITER)
        try:
            meta = json.loads(prelude)
        except ValueError:
            return self.error("the streamed response's prelude is not JSON")
        if not isinstance(meta, dict):
            return self.error("the streamed response's prelude is not an object")
        head = apigw.map_response({"statusCode": meta.get("statusCode", 200), "headers": meta.get("headers"),
                                   "multiValueHeaders": meta.get("multiValueHeaders"), "body": ""})  # fmt: skip
        cookies = meta.get("cookies") or []
        if isinstance(cookies, list) and all(isinstance(c, str) for c in cookies):
            head.headers.extend(("Set-Cookie", c) for c in cookies)
        return head

    def _open(self, head: HttpResponse) -> None:
        head = self.decorate(head, self._request_id)
        self.writer = self.early.stream(head.status, head.headers)
        self.answered = True  # (None: the request was answered already, by a timeout)

    def _fail(self, reason: str) -> None:
        self._pending = None
        self.answered = True
        resp = self.error(reason)
        log.warning("streamed response -> %d: %s", resp.status, reason)
        self.early(self.decorate(resp, self._request_id))

