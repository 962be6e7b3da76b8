"""What a stream mapping reads from a function's answer and writes to its on-failure
destination (pure functions).

- ``partial_failure_index``: the ``batchItemFailures`` answer of a function whose mapping has
  ``ReportBatchItemFailures`` ("Configuring partial batch response with DynamoDB and Lambda");
  ``response_json``: the answer as the mapping reads it (a Python handler's bytes parsed).
- ``discard_report``: the record Lambda sends to a stream mapping's on-failure destination
  ("Retain discarded records for a DynamoDB event source in Lambda"; the shape of powertools'
  ``DynamoDBStreamLambdaOnFailureDestinationModel``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ..invocation import Invocation
from .destinations import iso_millis

if TYPE_CHECKING:
    from ..types import StreamRecord

Condition = Literal["RetryAttemptsExhausted", "RecordAgeExceeded"]
WHOLE_BATCH = -1  # partial_failure_index: the answer is malformed, the whole batch failed


@dataclass
class Discard:
    """Records the mapping gave up on, in order, and why."""

    records: list[StreamRecord]
    condition: Condition
    invoke_count: int
    last: Invocation | None  # the last failed attempt, None if the records never reached the function


class UnreadableResponse(ValueError):
    """A function's response payload that is not JSON (a Python handler's bytes)."""


def response_json(result: Any) -> Any:
    """A function's answer as an event source mapping reads it: its response payload as JSON. A
    Python handler's ``bytes`` are that payload as they are, so they are parsed (empty: no
    response, None); bytes that are not JSON raise UnreadableResponse. Any other value is the
    JSON the worker sent, already read."""
    if not isinstance(result, bytes):
        return result
    if not result.strip():
        return None
    try:
        return json.loads(result)
    except ValueError as exc:  # (UnicodeDecodeError included)
        raise UnreadableResponse(f"the response is not JSON: {exc}") from None


def partial_failure_index(result: Any, sequence_numbers: list[str]) -> int | None:
    """Read a ``{"batchItemFailures": [{"itemIdentifier": SequenceNumber}]}`` answer.

    None (or an empty or null list, or an empty or null response) means every record
    succeeded; otherwise the index of the lowest failed sequence number, from which the
    batch is retried. An empty, null or unknown identifier or a bad key name fails the
    whole batch (:data:`WHOLE_BATCH`), as Lambda does; so does a response that is not JSON
    (bytes): the mapping reads the response payload as JSON, and a batch that is not
    "a complete success" is "a complete failure" ("Configuring partial batch response with
    DynamoDB and Lambda"; the SQS page lists "an invalid JSON response" among them).
    """
    try:
        result = response_json(result)
    except UnreadableResponse:
        return WHOLE_BATCH
    if not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures")
    if failures is None:
        return None
    if not isinstance(failures, list):
        return WHOLE_BATCH
    index = {seq: n for n, seq in enumerate(sequence_numbers)}
    lowest: int | None = None
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in index:
            return WHOLE_BATCH
        lowest = index[ident] if lowest is None else min(lowest, index[ident])
    return lowest


# ---------------------------------------------------------------------------- on-failure records


def discard_report(
    discard: Discard,
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    timestamp: float,
    info_key: str = "DDBStreamBatchInfo",
) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's on-failure destination: metadata naming the
    shard and the sequence range, not the records ("Retain discarded records for a DynamoDB
    event source in Lambda"; powertools' DynamoDBStreamLambdaOnFailureDestinationModel)."""
    first, last = discard.records[0], discard.records[-1]
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": discard.last.id if discard.last is not None else str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": discard.condition,
            "approximateInvokeCount": discard.invoke_count,
        },
    }
    if discard.last is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not discard.last.ok:
            response["functionError"] = "Unhandled"
        record["responseContext"] = response
    record["version"] = "1.0"
    record["timestamp"] = iso_millis(timestamp)
    record[info_key] = {
        "shardId": shard_id,
        "startSequenceNumber": first.sequence_number,
        "endSequenceNumber": last.sequence_number,
        "approximateArrivalOfFirstRecord": _iso_seconds(first.arrival),
        "approximateArrivalOfLastRecord": _iso_seconds(last.arrival),
        "batchSize": len(discard.records),
        "streamArn": stream_arn,
    }
    return record


def _iso_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
