"""The Lambda Invoke API on the embedded AWS endpoint, so ``boto3.client("lambda").invoke``
works unchanged, from tests and from inside handlers (functions calling functions).

``POST /2015-03-31/functions/{FunctionName}/invocations`` (AWS Lambda API reference, Invoke):

- ``X-Amz-Invocation-Type: RequestResponse`` (default): 200 and the response payload (the
  result, or the error object with ``X-Amz-Function-Error: Unhandled``);
  ``X-Amz-Log-Type: Tail`` adds ``X-Amz-Log-Result``, the last 4 KB of the log, base64.
- ``Event``: 202, queued under the function's async rules (retries, age, destinations).
- ``DryRun``: 204, nothing runs.
- ``POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations``
  (InvokeWithResponseStream): the same, answered as an event stream (:mod:`.lambda_stream`), a
  streaming function's writes as they happen.

Errors are AWS's: 404 ResourceNotFoundException, 400 InvalidRequestContentException,
413 RequestEntityTooLargeException (6 MB sync, 1 MB async: the messages AWS gives), 429 TooManyRequestsException when
the function is at its reserved concurrency (as Lambda, a sync Invoke does not wait).
The callable runs on the embedded server's request thread; it hands the work to the
dispatcher's event loop and waits for it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from typing import Any
from urllib.parse import unquote

from ..errors import RouterError, ThrottledError
from ..events.http import SYNC_PAYLOAD_LIMIT
from ..invocation import Invocation
from . import lambda_stream
from .async_ import ASYNC_PAYLOAD_LIMIT, PayloadTooLargeError, too_large_for_event
from .destinations import function_arn
from .dispatcher import Dispatcher, too_large_for_request_response

log = logging.getLogger(__name__)

Answer = tuple[int, dict[str, str], bytes | Iterator[bytes]]  # an iterator: an event stream as it comes
LambdaApi = Callable[[str, str, dict[str, str], bytes], Answer | None]

LOG_TAIL_BYTES = 4096  # LogType Tail: "the last 4 KB of the execution log"
CLIENT_CONTEXT_LIMIT = 3583  # bytes of the ClientContext JSON
ENQUEUE_WAIT = 30.0  # seconds an Event invoke waits for its commit

_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_STREAM_PATH = re.compile(r"^/2021-11-15/functions/(?P<name>[^/]+)/response-streaming-invocations/?$")
# FunctionName: a name, NAME:QUALIFIER, ACCOUNT:function:NAME, or a full ARN
_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>[a-zA-Z0-9$_-]+))?$"
)


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra

    def answer(self) -> Answer:
        body = {"Type": "User" if self.status < 500 else "Service", "Message": self.message, **self.extra}
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.kind,
                   "x-amzn-RequestId": str(uuid.uuid4())}  # fmt: skip
        return self.status, headers, json.dumps(body).encode()


def make_lambda_api(dispatcher: Dispatcher, loop: asyncio.AbstractEventLoop) -> LambdaApi:
    """The ``aws.lambda_api`` hook: answers Invoke requests, None for every other path."""

    def lambda_api(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        match = _PATH.match(path.split("?", 1)[0])
        streaming = match is None and (match := _STREAM_PATH.match(path.split("?", 1)[0])) is not None
        if match is None or method.upper() != "POST":
            return None  # not Invoke: moto answers
        name, lowered = unquote(match["name"]), {k.lower(): v for k, v in headers.items()}
        try:
            if streaming:  # InvokeWithResponseStream: Invoke's answer as an event stream
                return lambda_stream.refused(lowered) or _invoke(dispatcher, loop, name, lowered, body, streaming=True)
            return _invoke(dispatcher, loop, name, lowered, body)
        except ApiError as exc:
            return exc.answer()
        except Exception as exc:  # router's own failure: a 500, never a dropped connection
            log.exception("Invoke API request for %s failed", path)
            return ApiError(500, "ServiceException", f"router could not invoke: {exc}").answer()

    return lambda_api


def _invoke(
    dispatcher: Dispatcher, loop: asyncio.AbstractEventLoop, ref: str, headers: dict[str, str], body: bytes,
    streaming: bool = False,
) -> Answer:
    if _on_loop(loop):  # waiting here would block the loop that must do the work
        raise ApiError(500, "ServiceException", "the Invoke API was called on the dispatcher's own loop")
    name = _function_name(dispatcher, ref)
    kind = headers.get("x-amz-invocation-type", "RequestResponse")
    if kind not in ("RequestResponse", "Event", "DryRun"):
        raise ApiError(400, "InvalidParameterValueException",
                       f"Invalid InvocationType {kind!r}: expected RequestResponse, Event or DryRun")  # fmt: skip
    log_type = headers.get("x-amz-log-type", "None")
    if log_type not in ("None", "Tail"):
        raise ApiError(400, "InvalidParameterValueException", f"Invalid LogType {log_type!r}: expected None or Tail")
    # AWS answers both with 413 RequestEntityTooLargeException and these messages (as SDK error
    # reports show them, e.g. ASFHyP3/hyp3#2241 for Event, JupiterOne/sdk#565 for RequestResponse)
    if kind == "Event" and len(body) > ASYNC_PAYLOAD_LIMIT:
        raise ApiError(413, "RequestEntityTooLargeException", too_large_for_event(len(body)))
    if len(body) > SYNC_PAYLOAD_LIMIT:  # (the message every path gives: dispatcher.check_request_size)
        raise ApiError(413, "RequestEntityTooLargeException", too_large_for_request_response())
    event = _payload(body)
    if kind == "DryRun":
        return 204, {"x-amzn-RequestId": str(uuid.uuid4())}, b""
    if kind == "Event":
        future = asyncio.run_coroutine_threadsafe(dispatcher.enqueue(name, event, source="lambda-api"), loop)
        try:
            event_id = future.result(ENQUEUE_WAIT)
        except PayloadTooLargeError as exc:
            raise ApiError(413, "RequestEntityTooLargeException", too_large_for_event(exc.size)) from None
        return 202, {"x-amzn-RequestId": event_id, "Content-Length": "0"}, b""
    context = _client_context(headers.get("x-amz-client-context"))
    timeout = dispatcher.config.functions[name].timeout + 60
    event_json = body.decode() if body.strip() else "{}"  # the payload's JSON text goes to the worker unchanged
    feed = lambda_stream.Feed() if streaming else None  # a streaming function's writes, as they happen
    coro = dispatcher.invoke(name, event, source="lambda-api", client_context=context, wait=False,
                             event_json=event_json, stream=feed)  # fmt: skip
    running = asyncio.run_coroutine_threadsafe(coro, loop)
    if feed is not None:
        running.add_done_callback(feed.done)
        deadline = time.monotonic() + timeout
        kind, value = feed.get(deadline)  # it started streaming, or it ended (did not stream, failed first)
        if kind == "start":
            return lambda_stream.live(feed, value, deadline, partial(_log_tail, log_type))
    answer = _answer(_result(running, timeout), log_type)
    return lambda_stream.streamed(answer) if streaming else answer


def _result(future: Future[Invocation], timeout: float) -> Invocation:
    try:
        return future.result(timeout)
    except ThrottledError:
        raise ApiError(429, "TooManyRequestsException", "Rate Exceeded.",
                       Reason="ReservedFunctionConcurrentInvocationLimitExceeded") from None  # fmt: skip
    except RouterError as exc:
        raise ApiError(500, "ServiceException", str(exc)) from None


def _log_tail(log_type: str, inv: Invocation) -> str | None:
    """X-Amz-Log-Result (LogType Tail): the last 4 KB of the log, base64."""
    return base64.b64encode(inv.logs.encode()[-LOG_TAIL_BYTES:]).decode() if log_type == "Tail" else None


def _answer(inv: Invocation, log_type: str) -> Answer:
    """Invoke's 200: the response payload as the function returned it."""
    out = {"Content-Type": inv.content_type or "application/json", "X-Amz-Executed-Version": "$LATEST",
           "x-amzn-RequestId": inv.id}  # (a streaming handler's content type, its response buffered)
    if not inv.ok:
        out["X-Amz-Function-Error"] = "Unhandled"
    if (tail := _log_tail(log_type, inv)) is not None:
        out["X-Amz-Log-Result"] = tail
    return 200, out, inv.payload  # as the function returned it: every digit, bytes as they are


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _function_name(dispatcher: Dispatcher, ref: str) -> str:
    s = dispatcher.config.settings
    match = _REF.match(ref)
    name = match["name"] if match else ref
    arn = function_arn(s.region, s.account, name, None)
    if (
        match is None
        or name not in dispatcher.config.functions
        or match["region"] not in (None, s.region)
        or match["account"] not in (None, s.account)
        or match["qualifier"] not in (None, "$LATEST")
    ):
        qualifier = f":{match['qualifier']}" if match and match["qualifier"] else ""
        raise ApiError(404, "ResourceNotFoundException", f"Function not found: {arn}{qualifier}")
    return name


def _payload(body: bytes) -> Any:
    if not body.strip():
        return {}  # no Payload: the function gets an empty object
    try:
        return json.loads(body, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "InvalidRequestContentException",
                       f"Could not parse request body into json: {exc}") from None  # fmt: skip


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")  # Python's json reads NaN and Infinity; JSON has no such words


def _client_context(header: str | None) -> dict[str, Any] | None:
    if header is None:
        return None
    try:
        raw = base64.b64decode(header, validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ApiError(400, "InvalidRequestContentException",
                       "Client context must be a valid Base64-encoded JSON object.") from None  # fmt: skip
    if len(raw) > CLIENT_CONTEXT_LIMIT or not isinstance(value, dict):
        raise ApiError(400, "InvalidRequestContentException",
                       f"Client context must be a JSON object of at most {CLIENT_CONTEXT_LIMIT} bytes.")  # fmt: skip
    return value
