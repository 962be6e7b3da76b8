"""``InvokeWithResponseStream`` on the embedded AWS endpoint, so boto3's
``lambda.invoke_with_response_stream`` (and the JS SDK's ``InvokeWithResponseStreamCommand``)
work unchanged.

``POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`` (AWS Lambda API
reference, InvokeWithResponseStream) takes what Invoke takes (``X-Amz-Invocation-Type``
RequestResponse or DryRun, ``X-Amz-Log-Type``, ``X-Amz-Client-Context``) and answers 200 with
an ``application/vnd.amazon.eventstream`` body: the response payload in ``PayloadChunk``
events, then one ``InvokeComplete`` event (``ErrorCode``, ``ErrorDetails``, ``LogResult``: "the
last 4 KB of the execution log, base64-encoded"). Any function streams this way: a streaming
Node.js handler's bytes, or another function's whole response. Router's invocations are
buffered, so the chunks come once the function ended. Errors before the function runs are
Invoke's (404, 400, 413, 429).

The event stream encoding (AWS "Event stream encoding", as botocore's eventstream reads it): a
message is its total length and headers length (two big-endian uint32), the CRC32 of those 8
bytes, the headers (name length uint8, name, type 7 = string, value length uint16, value), the
payload, and the CRC32 of all that precedes.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable

Answer = tuple[int, dict[str, str], bytes]

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


def streamed(answer: Answer) -> Answer:
    """Invoke's answer as InvokeWithResponseStream gives it: a 200 becomes an event stream
    (the payload's chunks, then InvokeComplete with the function's error and the log tail);
    anything else (DryRun's 204, the 4xx) stays as it is."""
    status, headers, body = answer
    if status != 200:
        return answer
    complete: dict[str, str] = {}
    if "X-Amz-Function-Error" in headers:  # the function failed: its error object is the detail
        try:
            error_type = str(json.loads(body).get("errorType", "Unhandled"))
        except (ValueError, AttributeError):
            error_type = "Unhandled"
        complete = {"ErrorCode": error_type, "ErrorDetails": body.decode("utf-8", "replace")}
    if "X-Amz-Log-Result" in headers:
        complete["LogResult"] = headers["X-Amz-Log-Result"]
    chunks = [] if complete.get("ErrorCode") else [body[i : i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)]
    out = b"".join(event("PayloadChunk", "application/octet-stream", chunk) for chunk in chunks)
    out += event("InvokeComplete", "application/json", json.dumps(complete).encode())
    # Content-Type is the response's ResponseStreamContentType (the API model): a streaming
    # Node.js handler's own, application/json for another function's JSON
    keep = {k: v for k, v in headers.items() if k in ("X-Amz-Executed-Version", "x-amzn-RequestId", "Content-Type")}
    return 200, keep, out


def wrap(invoke: Callable[[dict[str, str]], Answer], headers: dict[str, str]) -> Answer:
    """Run ``invoke`` (Invoke's handling of the same request) and stream its answer."""
    if headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
        # InvokeWithResponseStream's InvocationType is RequestResponse or DryRun only
        body = json.dumps({"Type": "User", "Message": "Invalid InvocationType 'Event': expected RequestResponse or "
                           "DryRun"}).encode()  # fmt: skip
        return 400, {"Content-Type": "application/json", "x-amzn-ErrorType": "InvalidParameterValueException"}, body
    return streamed(invoke(headers))
