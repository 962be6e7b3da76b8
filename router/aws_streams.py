"""What a DynamoDB stream mapping reads with: ``describe_table``, ``describe_stream``,
``get_shard_iterator`` and ``get_records``, with boto3's arguments and answers.

Against the embedded moto the calls go straight to its backends (:class:`EmbeddedStreams`),
without the HTTP round trip: through the embedded server each cost ~3 ms of the daemon's CPU
(botocore's serialisation and parsing on one side, werkzeug and moto's response on the other),
and a mapping makes one per poll of an idle shard and three when it opens (``Router.reset``
re-opens every mapping on the fresh tables, so they were its critical path). The answers are
the JSON moto would have sent, as Python values: binary attributes stay base64 text and
``ApproximateCreationDateTime`` a datetime, both of which
:func:`router.events.dynamodb.normalize_record` reads. Errors carry boto3's ``response`` shape
(``{"Error": {"Code": ...}}``) so the poller's recovery reads them the same way.

It also drops each shard iterator once it was used: moto keeps every iterator it hands out
(one per GetRecords), and a daemon polling an idle shard for a day kept tens of thousands.

Against another endpoint (``aws: url`` or real AWS) :class:`BotoStreams` is the two boto3
clients. Written by hand: moto has no in-process client, and boto3's is the HTTP path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class EmbeddedError(Exception):
    """A moto backend's error, shaped as botocore's ClientError is read (``.response``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"An error occurred ({code}): {message}")
        self.response = {"Error": {"Code": code, "Message": message}}


def _call(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except EmbeddedError:
        raise
    except KeyError as exc:  # an iterator moto does not know (expired, or of a deleted table)
        raise EmbeddedError("ExpiredIteratorException", f"the shard iterator is not known: {exc}") from None
    except Exception as exc:
        code = getattr(exc, "relative_error_type", "") or getattr(exc, "error_type", "")
        if not code:
            raise
        raise EmbeddedError(str(code).split("#")[-1], str(getattr(exc, "message", exc))) from None


class EmbeddedStreams:
    """The four calls on the in-process moto's DynamoDB and DynamoDB Streams backends."""

    def __init__(self, account: str, region: str) -> None:
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        self._tables = dynamodb_backends[account][region]
        self._streams = dynamodbstreams_backends[account][region]

    def describe_table(self, *, TableName: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        answer: dict[str, Any] = _call(self._tables.describe_table, TableName)
        return answer

    def describe_stream(self, *, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict[str, Any]:  # noqa: N803
        desc = dict(_call(self._streams.describe_stream, StreamArn))
        if ExclusiveStartShardId is not None:  # (moto's one shard per stream: nothing after it)
            shards = [s["ShardId"] for s in desc.get("Shards", [])]
            after = shards.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId in shards else len(shards)
            desc["Shards"] = desc.get("Shards", [])[after:]
        return {"StreamDescription": desc}

    def get_shard_iterator(self, *, StreamArn: str, ShardId: str, ShardIteratorType: str,  # noqa: N803
                           SequenceNumber: str | None = None) -> dict[str, Any]:  # noqa: N803  # fmt: skip
        number = int(SequenceNumber) if SequenceNumber is not None else None
        iterator = _call(self._streams.get_shard_iterator, StreamArn, ShardId, ShardIteratorType, number)
        return {"ShardIterator": iterator.arn}

    def get_records(self, *, ShardIterator: str, Limit: int = 1000) -> dict[str, Any]:  # noqa: N803
        answer: dict[str, Any] = _call(self._streams.get_records, ShardIterator, Limit)
        self._streams.shard_iterators.pop(ShardIterator, None)  # used: a reader moves to the next one
        return answer


class BotoStreams:
    """The same four calls through boto3 (an external endpoint, or AWS)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._dynamodb = client("dynamodb")
        self._streams = client("dynamodbstreams")

    def describe_table(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._dynamodb.describe_table(**kwargs)
        return answer

    def describe_stream(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._streams.describe_stream(**kwargs)
        return answer

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._streams.get_shard_iterator(**kwargs)
        return answer

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self._streams.get_records(**kwargs)
        return answer
