"""The I/O of one stream shard (GetShardIterator, GetRecords).

Part of :mod:`router.sources.dynamodb`; see there.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..events.dynamodb import normalize_record
from ..loops import wait_event
from ..types import StreamRecord

if TYPE_CHECKING:
    from .dynamodb import Mapping

log = logging.getLogger(__name__)

POLL_MIN = 0.01  # seconds before polling an idle shard again, doubling ...
POLL_MAX = 0.2  # ... up to this (Lambda polls 4 times a second; a little more often here)
POLL_MAX_WATCHED = 2.0  # ... or this, when the embedded AWS wakes the poller on each write
ERROR_BACKOFF_MAX = 5.0
GET_RECORDS_LIMIT = 1000  # GetRecords returns at most 1000 records


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


class Shard:
    """A shard's poller: reads records in order and puts them into its consumer."""

    def __init__(self, mapping: Mapping, shard_id: str, position: tuple[str, str | None], parent: Shard | None):
        self.mapping = mapping
        self.id = shard_id
        self.position = position  # (ShardIteratorType, SequenceNumber) to start from
        self.parent = parent
        self.iterator: str | None = None
        self.last_read: str | None = None
        self.errors = 0  # failed calls in a row
        self.written = asyncio.Event()  # a record was written to the table (embedded AWS)
        self.polls = 0  # GetRecords calls made
        self.finished = asyncio.Event()  # read to its end and every record done: children may start
        self._task: asyncio.Task[None] | None = None
        assert mapping.stream is not None
        self.consumer = mapping.stream.shard(shard_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"dynamodb-{self.mapping.name}-{self.id}")

    async def stop_polling(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def open_iterator(self) -> None:
        kind, sequence_number = self.position
        kwargs: dict[str, Any] = {"StreamArn": self.mapping.stream_arn, "ShardId": self.id, "ShardIteratorType": kind}
        if sequence_number is not None:
            kwargs["SequenceNumber"] = sequence_number
        client = self.mapping.source.streams
        try:
            answer = await self.mapping.source.call(client.get_shard_iterator, **kwargs)
        except Exception as exc:
            trimmed = aws_error_code(exc) in ("TrimmedDataAccessException", "ValidationException")
            if kind == "TRIM_HORIZON" or not trimmed:
                raise
            log.warning("dynamodb mapping %s: shard %s: cannot start after %s (%s); reading from TRIM_HORIZON",
                        self.mapping.name, self.id, sequence_number, exc)  # fmt: skip
            self.position = ("TRIM_HORIZON", None)
            answer = await self.mapping.source.call(client.get_shard_iterator, StreamArn=self.mapping.stream_arn,
                                                    ShardId=self.id, ShardIteratorType="TRIM_HORIZON")  # fmt: skip
        self.iterator = answer.get("ShardIterator")

    async def _run(self) -> None:
        if self.parent is not None:  # lineage: a child's records come after all of its parent's
            await self.parent.finished.wait()
        self.consumer.start()
        while True:
            try:
                if self.iterator is None:
                    await self.open_iterator()
                if await self._poll_once():
                    break  # the shard has closed
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors += 1
                await self._recover(exc)
        await self.consumer.wait_idle()
        self.finished.set()
        log.info("dynamodb mapping %s: shard %s read to its end", self.mapping.name, self.id)
        self.mapping.rediscover()

    async def _poll_once(self) -> bool:
        """Read the shard until it is idle; True when it has closed (no next iterator)."""
        client = self.mapping.source.streams
        delay = POLL_MIN
        while True:
            self.polls += 1
            answer = await self.mapping.source.call(client.get_records, ShardIterator=self.iterator,
                                                    Limit=GET_RECORDS_LIMIT)  # fmt: skip
            self.errors = 0
            raw = answer.get("Records") or []
            if raw:
                await self.consumer.put(self._records(raw))
                self.last_read = raw[-1]["dynamodb"]["SequenceNumber"]
                delay = POLL_MIN
            self.iterator = answer.get("NextShardIterator")
            if self.iterator is None:
                return True
            if not raw:
                # I/O cadence, not policy time: the real clock; a write through the embedded
                # AWS wakes it at once (the longer cap is only a safety net there)
                await wait_event(self.written, delay)  # (never wait_for: router/loops.py)
                self.written.clear()
                delay = min(delay * 2, POLL_MAX_WATCHED if self.mapping.source.watched else POLL_MAX)

    async def _recover(self, exc: Exception) -> None:
        """After a failed call: reopen the iterator where reading stopped when it is the
        iterator's fault; back off when the endpoint is the problem (it may come back)."""
        code = aws_error_code(exc)
        if code in ("ExpiredIteratorException", "TrimmedDataAccessException", "ResourceNotFoundException",
                    "ValidationException"):  # fmt: skip
            self.iterator = None
            if self.last_read is not None:
                self.position = ("AFTER_SEQUENCE_NUMBER", self.last_read)
            if code == "ExpiredIteratorException":
                return
        n = self.errors
        level = logging.WARNING if n in (1, 10) or n % 100 == 0 else logging.DEBUG
        log.log(level, "dynamodb mapping %s: shard %s: reading failed (%d time(s) in a row): %s",
                self.mapping.name, self.id, n, exc)  # fmt: skip
        await asyncio.sleep(min(0.1 * 2**n, ERROR_BACKOFF_MAX))

    def _records(self, raw: list[dict[str, Any]]) -> list[StreamRecord]:
        m = self.mapping
        region = m.ctx.config.settings.region
        records = []
        now = m.ctx.clock.time()
        for item in raw:
            try:
                data = normalize_record(item, region=region, stream_arn=m.stream_arn, view_type=m.view_type)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("dynamodb mapping %s: skipping a record that cannot be read (%s): %.300r", m.name, exc, item)
                continue
            created = item.get("dynamodb", {}).get("ApproximateCreationDateTime")
            arrival = created.timestamp() if isinstance(created, datetime) else float(
                data["dynamodb"]["ApproximateCreationDateTime"])  # fmt: skip
            # a record cannot have come after "now": with a manual clock (behind the real one)
            # its age then counts from when it was read, so advance(61) ages it 61 s
            arrival = min(arrival, now)
            key = json.dumps(data["dynamodb"]["Keys"].get(m.hash_key), sort_keys=True)
            records.append(StreamRecord(data=dict(data), sequence_number=data["dynamodb"]["SequenceNumber"],
                                  arrival=arrival, key=key))  # fmt: skip
        return records

    def info(self) -> dict[str, Any]:
        return {"shard_id": self.id, "parent_shard_id": self.parent.id if self.parent else None,
                "position": self.position[0], **self.consumer.info(), "finished": self.finished.is_set(),
                "polls": self.polls}  # fmt: skip
