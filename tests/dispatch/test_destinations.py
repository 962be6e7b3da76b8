"""The invocation record for destinations, checked against the AWS documentation's example
(Lambda developer guide, "Asynchronous invocation", example invocation record)."""

from __future__ import annotations

from datetime import UTC, datetime

from router.dispatch.destinations import function_arn, invocation_record, iso_millis

AWS_EXAMPLE = {
    "version": "1.0",
    "timestamp": "2019-11-14T18:16:05.568Z",
    "requestContext": {
        "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:my-function:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    },
    "requestPayload": {
        "ORDER_IDS": [
            "9e07af03-ce31-4ff3-xmpl-36dce652cb4f",
            "637de236-e7b2-464e-xmpl-baf57f86bb53",
            "a81ddca6-2c35-45c7-xmpl-c3a03a31ed15",
        ]
    },
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "responsePayload": {
        "errorMessage": "RequestId: e4b46cbf-b738-xmpl-8880-a18cdf61200e Process exited before completing request"
    },
}


def test_the_aws_example_is_rebuilt_exactly() -> None:
    when = datetime(2019, 11, 14, 18, 16, 5, 568000, tzinfo=UTC).timestamp()
    record = invocation_record(
        request_id="e4b46cbf-b738-xmpl-8880-a18cdf61200e",
        function_arn=function_arn("us-east-2", "123456789012", "my-function"),
        condition="RetriesExhausted",
        invoke_count=3,
        request_payload=AWS_EXAMPLE["requestPayload"],
        timestamp=when,
        response=(False, AWS_EXAMPLE["responsePayload"]),
    )
    assert record == AWS_EXAMPLE


def test_success_has_no_function_error_and_an_unrun_event_no_response() -> None:
    arn = function_arn("us-east-1", "123456789012", "f")
    ok = invocation_record(request_id="r", function_arn=arn, condition="Success", invoke_count=1,
                      request_payload={}, timestamp=0.0, response=(True, None))  # fmt: skip
    assert ok["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert "responsePayload" in ok and ok["responsePayload"] is None
    aged = invocation_record(request_id="r", function_arn=arn, condition="EventAgeExceeded", invoke_count=0,
                        request_payload={}, timestamp=0.0, response=None)  # fmt: skip
    assert set(aged) == {"version", "timestamp", "requestContext", "requestPayload"}


def test_timestamps_have_milliseconds_and_z() -> None:
    assert iso_millis(0) == "1970-01-01T00:00:00.000Z"
    assert iso_millis(1.9999) == "1970-01-01T00:00:01.999Z"
    assert function_arn("eu-west-1", "000000000000", "x", None) == "arn:aws:lambda:eu-west-1:000000000000:function:x"
