"""``InvokeWithResponseStream`` on the embedded AWS endpoint, so boto3's
``lambda.invoke_with_response_stream`` (and the JS SDK's ``InvokeWithResponseStreamCommand``)
work unchanged.

``POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`` (AWS Lambda API
reference, InvokeWithResponseStream) takes what Invoke takes (``X-Amz-Invocation-Type``
RequestResponse or DryRun, ``X-Amz-Log-Type``, ``X-Amz-Client-Context``) and answers 200 with
an ``application/vnd.amazon.eventstream`` body: the response payload in ``PayloadChunk``
events, then one ``InvokeComplete`` event (``ErrorCode``, ``ErrorDetails``, ``LogResult``: "the
last 4 KB of the execution log, base64-encoded"). Any function streams this way:

- a streaming Node.js handler (``awslambda.streamifyResponse``): the answer's headers go as
  soon as it writes (or ends), each write is a ``PayloadChunk`` as it happens (a
  :class:`Feed` carries them from the event loop to the request's thread), ``InvokeComplete``
  when the function ended; an error after some chunks is in ``InvokeComplete`` only. The
  response may be 200 MB (``runtimes/streaming.py``);
- any other function: its whole response, once it ended (in chunks of :data:`CHUNK_BYTES`).

The response's ``Content-Type`` is its ``ResponseStreamContentType`` (the API model): a
streaming handler's own, ``application/json`` for another function's JSON. Errors before the
function runs are Invoke's (404, 400, 413, 429).

The event stream encoding (AWS "Event stream encoding", as botocore's eventstream reads it): a
message is its total length and headers length (two big-endian uint32), the CRC32 of those 8
bytes, the headers (name length uint8, name, type 7 = string, value length uint16, value), the
payload, and the CRC32 of all that precedes.
"""

from __future__ import annotations

import json
import queue
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from ..invocation import Invocation

Answer = tuple[int, dict[str, str], bytes | Iterator[bytes]]

CHUNK_BYTES = 64 * 1024  # the payload in chunks of at most this many bytes
STRING = 7  # the header value type "string"


def header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", STRING, len(raw_value)) + raw_value


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event stream message."""
    head = b"".join(header(k, v) for k, v in headers.items())
    prelude = struct.pack("!II", 16 + len(head) + len(payload), len(head))
    body = prelude + struct.pack("!I", zlib.crc32(prelude)) + head + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event(kind: str, content_type: str, payload: bytes) -> bytes:
    return message({":event-type": kind, ":content-type": content_type, ":message-type": "event"}, payload)


def chunks(data: bytes) -> bytes:
    """``data`` as PayloadChunk events of at most :data:`CHUNK_BYTES` bytes each."""
    return b"".join(event("PayloadChunk", "application/octet-stream", data[i : i + CHUNK_BYTES])
                    for i in range(0, len(data), CHUNK_BYTES))  # fmt: skip


def completion(error: bytes | None, log_result: str | None) -> bytes:
    """The InvokeComplete event: the function's error object (``error``, its JSON) as ErrorCode
    (its errorType) and ErrorDetails, and the log tail (LogType Tail)."""
    complete: dict[str, str] = {}
    if error is not None:
        try:
            error_type = str(json.loads(error).get("errorType", "Unhandled"))
        except (ValueError, AttributeError):
            error_type = "Unhandled"
        complete = {"ErrorCode": error_type, "ErrorDetails": error.decode("utf-8", "replace")}
    if log_result is not None:
        complete["LogResult"] = log_result
    return event("InvokeComplete", "application/json", json.dumps(complete).encode())


def streamed(answer: Answer) -> Answer:
    """Invoke's answer as InvokeWithResponseStream gives it: a 200 becomes an event stream
    (the payload's chunks, then InvokeComplete with the function's error and the log tail);
    anything else (DryRun's 204, the 4xx) stays as it is."""
    status, headers, body = answer
    if status != 200 or not isinstance(body, bytes):
        return answer
    failed = "X-Amz-Function-Error" in headers  # the function failed: its error object is the detail
    out = (b"" if failed else chunks(body)) + completion(body if failed else None, headers.get("X-Amz-Log-Result"))
    # Content-Type is the response's ResponseStreamContentType (the API model): a streaming
    # Node.js handler's own, application/json for another function's JSON
    keep = {k: v for k, v in headers.items() if k in ("X-Amz-Executed-Version", "x-amzn-RequestId", "Content-Type")}
    return 200, keep, out


def refused(headers: dict[str, str]) -> Answer | None:
    """The 400 for an invocation type InvokeWithResponseStream does not take (it takes
    RequestResponse or DryRun only), else None."""
    if headers.get("x-amz-invocation-type", "RequestResponse") != "Event":
        return None
    body = json.dumps({"Type": "User", "Message": "Invalid InvocationType 'Event': expected RequestResponse or "
                       "DryRun"}).encode()  # fmt: skip
    return 400, {"Content-Type": "application/json", "x-amzn-ErrorType": "InvalidParameterValueException"}, body


def wrap(invoke: Callable[[dict[str, str]], Answer], headers: dict[str, str]) -> Answer:
    """Run ``invoke`` (Invoke's handling of the same request) and stream its answer."""
    return refused(headers) or streamed(invoke(headers))


class Feed:
    """The :class:`router.types.ResponseStream` of one request: what the function writes (on the
    event loop) goes to the request's thread, which answers it as it comes; ``done`` (the
    invocation's future) ends it."""

    def __init__(self) -> None:
        self._items: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def start(self, content_type: str, request_id: str) -> None:
        self._items.put(("start", (content_type, request_id)))

    def write(self, chunk: bytes) -> None:
        self._items.put(("chunk", chunk))

    def done(self, future: Future[Invocation]) -> None:
        self._items.put(("done", future))

    def get(self, deadline: float) -> tuple[str, Any]:
        """The next item; ("lost", None) when none came before ``deadline`` (monotonic)."""
        try:
            return self._items.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return "lost", None


def live(feed: Feed, start: tuple[str, str], deadline: float,
         tail: Callable[[Invocation], str | None]) -> Answer:  # fmt: skip
    """The answer to a streaming function's invocation, once it started (``start``: its content
    type and request id): the body yields each write as a PayloadChunk as it comes, then the
    InvokeComplete of the finished invocation (``tail(inv)``: its LogResult). Run on the
    server's request thread, which writes each piece out as it is yielded."""
    content_type, request_id = start
    headers = {"Content-Type": content_type, "X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": request_id,
               "Transfer-Encoding": "chunked"}  # (the embedded server sends each piece as it is yielded)

    def body() -> Iterator[bytes]:
        while True:
            kind, value = feed.get(deadline)
            if kind == "chunk":
                yield chunks(value)
                continue
            if kind == "lost":  # (router's own failure: the invocation outlived its timeout by a minute)
                yield completion(json.dumps({"errorType": "ServiceException", "errorMessage":
                                             "router lost the invocation"}).encode(), None)  # fmt: skip
                return
            try:
                inv: Invocation = value.result()
            except Exception as exc:  # router's own failure after the stream started
                yield completion(json.dumps({"errorType": "ServiceException", "errorMessage": str(exc)}).encode(), None)
                return
            yield completion(None if inv.ok else inv.payload, tail(inv))
            return

    return 200, headers, body()
