"""A streaming handler's response as its worker sends it, and Lambda's limits on it.

A Node.js handler wrapped by ``awslambda.streamifyResponse`` writes its response piece by
piece; the worker sends each as it is written (frames ``P``: the stream opened, its content
type; ``C``: a piece; then the reply ``E``, the end, or ``F``; see ``child/node_worker.js``).
:class:`StreamedResponse` takes those frames for one invocation:

- with a consumer (a :class:`router.types.ResponseStream`: ``InvokeWithResponseStream``, a
  function URL in ``RESPONSE_STREAM`` mode, a REST route in ``STREAM`` mode) each piece goes
  on at once, up to :data:`STREAM_LIMIT`; the invocation record keeps the bytes while they are
  no more than :data:`KEEP_LIMIT` (a larger stream is recorded without its result);
- without one (``Invoke``, ``router invoke``, async and event source mapping invocations,
  destinations, an HTTP API route) the pieces are collected into the whole response, which
  is a buffered response and so limited as one (:data:`KEEP_LIMIT`, Lambda's 6 MB).

Lambda's figures ("Response streaming for Lambda functions", "Bandwidth limits for response
streaming"): a streamed response may be 200 MB; its first 6 MB stream uncapped, the rest at
most 2 MBps. Router does not slow the rest down (see docs/runtimes.md "Differences from
Lambda": it would make a local 200 MB response take 97 s to prove nothing about the code).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# "Invocation payload (request and response): 6 MB each for synchronous" (Lambda quotas); Lambda's
# own error names the figure it enforces: 6291556 bytes (6 MiB + 100)
KEEP_LIMIT = 6291556
# "response streaming functions can return payloads up to 200 MB" (Response streaming for Lambda
# functions; the function URL InvokeMode RESPONSE_STREAM: "The maximum response payload size is 200 MB")
STREAM_LIMIT = 200 * 1024 * 1024

OPENED = ord("P")
PIECE = ord("C")


class StreamedResponse:
    """The frames of one invocation's streamed response (called by its worker's channel, on
    the loop); ``consumer`` is the caller's :class:`router.types.ResponseStream`, or None."""

    __slots__ = ("request_id", "consumer", "limit", "content_type", "size", "over", "_parts", "_kept")

    def __init__(self, request_id: str, consumer: Any = None) -> None:
        self.request_id = request_id
        self.consumer = consumer
        self.limit = KEEP_LIMIT if consumer is None else STREAM_LIMIT
        self.content_type: str | None = None  # set when the stream opened
        self.size = 0  # bytes written, those past the limit included
        self.over = False  # the function wrote more than the limit
        self._parts: list[bytes] = []
        self._kept = True  # the bytes so far are all in _parts

    def __call__(self, kind: int, payload: bytes) -> None:
        if kind == OPENED:
            self._open(payload.decode("utf-8", "replace"))
            return
        if kind != PIECE or not payload:
            return
        self.size += len(payload)
        if self.size > self.limit:
            if not self.over:  # what it writes from now on goes nowhere; the invocation fails at its end
                self.over = True
                self._parts.clear()
                self._kept = False
            return
        if self._kept:
            if self.size > KEEP_LIMIT:  # (only with a consumer: the limit is KEEP_LIMIT without)
                self._kept = False
                self._parts.clear()
            else:
                self._parts.append(payload)
        if self.consumer is not None:
            self._tell(self.consumer.write, payload)

    def end(self, content_type: bytes) -> str:
        """The reply E: the stream ended. A stream never written to opens now (a consumer
        answers its headers). Its content type."""
        self._open(content_type.decode("utf-8", "replace"))
        assert self.content_type is not None
        return self.content_type

    def body(self) -> bytes | None:
        """The whole response, or None when it streamed on and was too large to keep."""
        return b"".join(self._parts) if self._kept else None

    def _open(self, content_type: str) -> None:
        if self.content_type is not None:
            return
        self.content_type = content_type
        if self.consumer is not None:
            self._tell(self.consumer.start, content_type, self.request_id)

    def _tell(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except Exception:  # a consumer must not raise: it loses the rest, the invocation runs on
            log.exception("the consumer of %s's streamed response failed; it gets no more", self.request_id)
            self.consumer = None
