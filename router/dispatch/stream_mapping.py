"""A trigger's event source mapping over one stream, as dispatch runs it: the policy of
each shard (:class:`~router.dispatch.streams.ShardConsumer`), its filter, its checkpoints in
the state file and the on-failure destination of the records it discards.

The source (:mod:`router.sources.dynamodb`) reads shards and puts records into
:meth:`StreamMapping.shard`'s consumers; it keeps nothing of the policy. AWS facts: Lambda
developer guide, "Retain discarded records for a DynamoDB event source in Lambda" (an
on-failure destination gets the metadata of the batch, not its records).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from ..clock import Clock
from ..config import Config, DynamoDBTrigger, TriggerConfig
from ..errors import StartupError
from ..filters import FilterError, RecordFilter
from ..invocation import Invocation
from .destinations import function_arn, iso_millis
from .files import write_json_atomic
from .stream_failures import Discard, discard_report
from .streams import ShardConsumer, StreamSettings
from .writer import DbWriter

log = logging.getLogger(__name__)

InvokeBatch = Callable[[TriggerConfig, Any, int], Awaitable[Invocation]]  # (trigger, event, attempt)
Submit = Callable[[TriggerConfig, Any], Awaitable[str]]


def stream_settings(spec: DynamoDBTrigger) -> StreamSettings:
    return StreamSettings(
        batch_size=spec.batch_size, batching_window=spec.batching_window, retries=spec.retries,
        max_record_age=spec.max_record_age, bisect_on_error=spec.bisect_on_error,
        report_batch_item_failures=spec.report_batch_item_failures, parallelization=spec.parallelization,
    )  # fmt: skip


def compile_filters(triggers: list[TriggerConfig]) -> dict[str, RecordFilter]:
    """Every stream trigger's FilterCriteria, compiled; a bad one is a StartupError naming it
    (before any mapping reads a record)."""
    out: dict[str, RecordFilter] = {}
    for t in triggers:
        if t.dynamodb is None:
            continue
        try:
            out[t.name] = RecordFilter(t.dynamodb.filter, where=f"trigger {t.name!r}: dynamodb.filter")
        except FilterError as exc:
            raise StartupError(str(exc)) from None
    return out


class Checkpoints:
    """The ``checkpoints`` table, written through the dispatcher's one state-file writer
    (fire and forget, in order; the writer commits them in its batches)."""

    def __init__(self, writer: DbWriter, clock: Clock) -> None:
        self._writer = writer
        self._clock = clock

    def load(self, mapping: str, stream_arn: str) -> Future[dict[str, str]]:
        return self._writer.submit(partial(_load, mapping=mapping, stream_arn=stream_arn))

    def set(self, mapping: str, stream_arn: str, shard_id: str, sequence_number: str) -> None:
        op = partial(_save, key=(mapping, stream_arn, shard_id), seq=sequence_number, now=self._clock.time())
        self._writer.submit(op, wait=False)


def _load(conn: sqlite3.Connection, *, mapping: str, stream_arn: str) -> dict[str, str]:
    rows = conn.execute("SELECT shard_id, sequence_number FROM checkpoints WHERE mapping = ? AND stream_arn = ?",
                        (mapping, stream_arn)).fetchall()  # fmt: skip
    return {row[0]: row[1] for row in rows}


def _save(conn: sqlite3.Connection, *, key: tuple[str, str, str], seq: str, now: float) -> None:
    conn.execute(
        "INSERT INTO checkpoints (mapping, stream_arn, shard_id, sequence_number, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (mapping, stream_arn, shard_id)"
        " DO UPDATE SET sequence_number = excluded.sequence_number, updated_at = excluded.updated_at",
        (*key, seq, now),
    )


class StreamMapping:
    """One trigger's mapping over one stream (the :class:`router.types.StreamMapping` verb)."""

    def __init__(
        self, trigger: TriggerConfig, stream_arn: str, *, config: Config, clock: Clock,
        record_filter: RecordFilter, checkpoints: Checkpoints, invoke: InvokeBatch, submit: Submit,
        send_to_queue: Callable[[str, str], object] | None = None,
    ) -> None:  # fmt: skip
        assert trigger.dynamodb is not None
        self.trigger = trigger
        self.spec = trigger.dynamodb
        self.stream_arn = stream_arn
        self.settings = stream_settings(self.spec)
        self._config = config
        self._clock = clock
        self._filter = record_filter
        self._checkpoints = checkpoints
        self._invoke = invoke
        self._submit = submit
        self._send_to_queue = send_to_queue  # SendMessage(queue, body), for an on_failure queue
        on_failure = self.spec.on_failure
        self._destination = (
            TriggerConfig(name=trigger.name, function=on_failure.function, dynamodb=self.spec)
            if on_failure is not None and on_failure.function is not None
            else None
        )

    async def checkpoints(self) -> dict[str, str]:
        return await asyncio.wrap_future(self._checkpoints.load(self.trigger.name, self.stream_arn))

    def shard(self, shard_id: str) -> ShardConsumer:
        name = self.trigger.name

        def checkpoint(sequence_number: str) -> None:
            self._checkpoints.set(name, self.stream_arn, shard_id, sequence_number)

        async def invoke(event: dict[str, Any], attempt: int) -> Invocation:
            return await self._invoke(self.trigger, event, attempt)

        async def discard(d: Discard) -> None:
            await self._discard(shard_id, d)

        on_failure = self.spec.on_failure
        where = None if on_failure is None else f"function {on_failure.function}" if on_failure.function \
            else f"queue {on_failure.queue}" if on_failure.queue else f"dir {on_failure.dir}"  # fmt: skip
        return ShardConsumer(self.settings, invoke=invoke, clock=self._clock, record_filter=self._filter,
                             on_checkpoint=checkpoint, on_discard=discard, name=f"{name}/{shard_id}",
                             destination=where)  # fmt: skip

    async def _discard(self, shard_id: str, discard: Discard) -> None:
        """Send the report of discarded records to the mapping's on-failure destination."""
        destination = self.spec.on_failure
        if destination is None:
            return
        s = self._config.settings
        report = discard_report(
            discard, shard_id=shard_id, stream_arn=self.stream_arn, timestamp=self._clock.time(),
            function_arn=function_arn(s.region, s.account, self.trigger.function, None),
        )  # fmt: skip
        if self._destination is not None:  # a function: invoked asynchronously with the report
            await self._submit(self._destination, report)
            return
        if destination.queue is not None:  # an SQS queue: the report is the message body (same page)
            if self._send_to_queue is None:
                raise RuntimeError(f"no AWS endpoint to send to queue {destination.queue!r}")
            await asyncio.to_thread(self._send_to_queue, destination.queue, json.dumps(report))
            log.info("dynamodb mapping %s: on-failure record sent to queue %s", self.trigger.name, destination.queue)
            return
        assert destination.dir is not None
        stamp = iso_millis(self._clock.time()).replace(":", "")
        start = report["DDBStreamBatchInfo"]["startSequenceNumber"]
        path = self._config.root / destination.dir / f"{stamp}-{start}-{uuid.uuid4().hex[:8]}.json"
        await asyncio.to_thread(write_json_atomic, path, report)
        log.info("dynamodb mapping %s: on-failure record written to %s", self.trigger.name, path)
