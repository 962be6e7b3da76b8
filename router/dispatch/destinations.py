"""The invocation record Lambda sends to an async destination (pure functions).

Shape from the AWS Lambda developer guide, "Capturing records of Lambda asynchronous
invocations" (invocation-async-retain-records):

    {"version": "1.0", "timestamp": "2019-11-14T18:16:05.568Z",
     "requestContext": {"requestId", "functionArn", "condition", "approximateInvokeCount"},
     "requestPayload": <the event>,
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
     "responsePayload": <the result, or the error object>}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]


class RequestContext(TypedDict):
    requestId: str
    functionArn: str
    condition: Condition
    approximateInvokeCount: int


class ResponseContext(TypedDict, total=False):
    statusCode: int
    executedVersion: str
    functionError: str


class InvocationRecord(TypedDict, total=False):
    version: str
    timestamp: str
    requestContext: RequestContext
    requestPayload: Any
    responseContext: ResponseContext
    responsePayload: Any


def function_arn(region: str, account: str, function: str, qualifier: str | None = "$LATEST") -> str:
    """``arn:aws:lambda:us-east-1:123456789012:function:NAME:$LATEST`` (records use the
    qualified ARN of the version that ran)."""
    arn = f"arn:aws:lambda:{region}:{account}:function:{function}"
    return f"{arn}:{qualifier}" if qualifier else arn


def iso_millis(epoch: float) -> str:
    """``2019-11-14T18:16:05.568Z``: UTC, milliseconds, a Z."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: Condition,
    invoke_count: int,
    request_payload: Any,
    timestamp: float,
    response: tuple[bool, Any] | None,
) -> InvocationRecord:
    """One invocation record.

    ``response`` is ``(ok, payload)`` of the last attempt: the result when ok, the Lambda
    error object otherwise; None when the function never ran (an event that aged out in
    the queue), in which case the record has no response context or payload.
    """
    record: InvocationRecord = {
        "version": "1.0",
        "timestamp": iso_millis(timestamp),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": request_payload,
    }
    if response is not None:
        ok, payload = response
        context: ResponseContext = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not ok:
            # async invocations report every function error (timeouts, crashes) as Unhandled
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
        record["responsePayload"] = payload
    return record
