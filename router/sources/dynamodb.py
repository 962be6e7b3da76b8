"""``dynamodb`` triggers: event source mappings over the streams of DynamoDB tables.

I/O only. For each trigger: find the table's stream (a clear :class:`StartupError` when the
table or its stream is missing), read every shard with GetRecords (one poller per shard; a
child shard starts once its parent is read to the end and processed), turn moto's records
into Lambda's (``events.dynamodb.normalize_record``) and put them, in order, into the shard's
consumer that dispatch opened (``ctx.dispatch.open_stream``). What happens to them (filters,
batching, retries, bisect, record age, parallelization, checkpoints, on-failure
destinations) is dispatch's policy.

Polling is adaptive: right away again after records, then 10 ms doubling to 200 ms while
the shard is idle, so a write reaches the handler in tens of milliseconds without spinning.
The stream is described again every 10 s (and when a shard closes) to find new shards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AsyncExitStack
from functools import partial
from typing import Any, TypeVar

from ..config import DynamoDBTrigger, TriggerConfig
from ..errors import StartupError
from ..loops import wait_event
from ..types import StreamMapping
from .base import SourceContext
from .dynamodb_shards import Shard, aws_error_code

log = logging.getLogger(__name__)
T = TypeVar("T")

DISCOVER_EVERY = 10.0  # seconds between two DescribeStream calls (new shards, lineage)


class DynamoDBSource:
    """Every enabled ``dynamodb`` trigger of a config, running."""

    def __init__(self, triggers: list[TriggerConfig], ctx: SourceContext) -> None:
        self.ctx = ctx
        self.triggers = [t for t in triggers if t.dynamodb is not None]
        self._mappings: dict[str, Mapping] = {}
        self.watched = False  # the embedded AWS tells of each stream write (on_stream_write)
        self._executor: ThreadPoolExecutor | None = None
        self._calls: set[Future[Any]] = set()
        self.streams: Any = None  # describe_table, describe_stream, get_shard_iterator, get_records

    async def start(self, stack: AsyncExitStack) -> None:
        self._executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="router-dynamodb")
        stack.callback(self._executor.shutdown, wait=True, cancel_futures=True)
        stack.push_async_callback(self._stop)
        self.streams = self.ctx.aws.streams_client()  # the embedded moto's backends, without HTTP
        if self.ctx.aws.mode == "embedded":  # writes wake the pollers: no fast polling while idle
            loop = asyncio.get_running_loop()

            def written(table: str) -> None:
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    loop.call_soon_threadsafe(self._written, table)

            stack.callback(self.ctx.aws.on_stream_write(written))
            self.watched = True
        await self._open()

    def _written(self, table: str) -> None:
        for mapping in self._mappings.values():
            if mapping.spec.table == table:
                for shard in mapping.shards.values():
                    shard.written.set()

    async def _open(self) -> None:
        for trigger in self.triggers:
            spec = trigger.dynamodb
            if spec is not None and spec.enabled:
                self._mappings[trigger.name] = Mapping(trigger, spec, self)
        for mapping in self._mappings.values():
            await mapping.start()

    async def _stop(self) -> None:
        await asyncio.gather(*(m.stop() for m in self._mappings.values()))

    async def pause(self) -> None:
        """Stop every mapping (``Router.reset``: the tables are about to be re-created)."""
        await self._stop()
        self._mappings.clear()
        if self._calls:  # calls of cancelled pollers still in a thread: not against the re-created tables
            await asyncio.to_thread(wait, list(self._calls), 5.0)

    async def reset(self) -> None:
        """After :meth:`pause`: new mappings over the fresh tables' streams, at their starting
        position (the checkpoints were cleared with the dispatcher's state)."""
        await self._open()

    async def call(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """A blocking call (boto3, sqlite, files) on this source's threads."""
        assert self._executor is not None
        future = self._executor.submit(partial(fn, *args, **kwargs))
        self._calls.add(future)  # a cancelled poller's call runs on: pause() waits for it
        future.add_done_callback(self._calls.discard)
        return await asyncio.wrap_future(future)

    def describe(self) -> list[str]:
        lines = [m.describe() for m in self._mappings.values()]
        for t in self.triggers:
            if t.dynamodb is not None and not t.dynamodb.enabled:
                lines.append(f"dynamodb        {t.dynamodb.table}  (mapping disabled)  -> {t.function}  [{t.name}]")
        return lines

    def mappings(self) -> list[dict[str, Any]]:
        """Each mapping: table, stream ARN, position, batch options and per-shard progress."""
        return [m.info() for m in self._mappings.values()]

    def mapping(self, trigger_name: str) -> Mapping:
        return self._mappings[trigger_name]

    async def wait_idle(self, trigger_name: str | None = None) -> None:
        """Until every record read so far by the mapping(s) is done (tests, benchmarks)."""
        for name, m in self._mappings.items():
            if trigger_name is None or name == trigger_name:
                await asyncio.gather(*(s.consumer.wait_idle() for s in list(m.shards.values())))


class Mapping:
    """One trigger's event source mapping: its stream, its shards and their pollers."""

    def __init__(self, trigger: TriggerConfig, spec: DynamoDBTrigger, source: DynamoDBSource) -> None:
        self.trigger = trigger
        self.spec = spec
        self.source = source
        self.ctx = source.ctx
        self.name = trigger.name
        self.stream: StreamMapping | None = None  # dispatch's side of the mapping
        self.stream_arn = ""
        self.view_type = ""
        self.hash_key = ""
        self.resumed = False
        self.shards: dict[str, Shard] = {}
        self._saved: dict[str, str] = {}
        self._discovery: asyncio.Task[None] | None = None
        self._rediscover = asyncio.Event()

    # ------------------------------------------------------------------ start and stop

    async def start(self) -> None:
        await self._find_stream()
        self.stream = await self.ctx.dispatch.open_stream(self.trigger, self.stream_arn)
        self._saved = await self.stream.checkpoints()
        self.resumed = bool(self._saved)
        for info in await self._list_shards():
            await self._add(info, initial=True)
        self._discovery = asyncio.create_task(self._discover_loop(), name=f"dynamodb-{self.name}-discovery")
        log.info("dynamodb mapping %s: %s (%d shard(s), %s)", self.name, self.stream_arn, len(self.shards),
                 "from checkpoints" if self.resumed else self.spec.starting_position)  # fmt: skip

    async def stop(self) -> None:
        if self._discovery is not None:
            self._discovery.cancel()
            await asyncio.gather(self._discovery, return_exceptions=True)
        shards = list(self.shards.values())
        await asyncio.gather(*(s.stop_polling() for s in shards))
        grace = min(self.ctx.config.functions[self.trigger.function].timeout + 2, 30)
        await asyncio.gather(*(s.consumer.stop(grace) for s in shards))

    async def _find_stream(self) -> None:
        table = self.spec.table
        where = self.ctx.aws.endpoint_url or "AWS"
        try:
            described = await self.source.call(self.source.streams.describe_table, TableName=table)
        except Exception as exc:
            if aws_error_code(exc) == "ResourceNotFoundException":
                raise StartupError(
                    f"trigger {self.name!r}: table {table!r} does not exist at {where}; declare it under "
                    "resources.tables or create it before router starts"
                ) from None
            raise StartupError(f"trigger {self.name!r}: cannot describe table {table!r} at {where}: {exc}") from None
        desc = described["Table"]
        spec = desc.get("StreamSpecification") or {}
        if not desc.get("LatestStreamArn") or not spec.get("StreamEnabled"):
            raise StartupError(
                f"trigger {self.name!r}: table {table!r} has no stream enabled; set "
                f"resources.tables.{table}.stream (e.g. NEW_AND_OLD_IMAGES) or enable one on the table"
            )
        self.stream_arn = desc["LatestStreamArn"]
        self.view_type = spec.get("StreamViewType") or "NEW_AND_OLD_IMAGES"
        self.hash_key = next((k["AttributeName"] for k in desc.get("KeySchema", []) if k["KeyType"] == "HASH"), "")

    async def _list_shards(self) -> list[dict[str, Any]]:
        client = self.source.streams
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            answer = await self.source.call(client.describe_stream, **kwargs)
            desc = answer["StreamDescription"]
            if desc.get("StreamStatus") not in (None, "ENABLED", "ENABLING"):
                log.warning("dynamodb mapping %s: stream %s is %s", self.name, self.stream_arn, desc["StreamStatus"])
            shards.extend(desc.get("Shards", []))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return parents_first(shards)
            kwargs["ExclusiveStartShardId"] = last

    async def _add(self, info: dict[str, Any], *, initial: bool) -> None:
        shard_id = info["ShardId"]
        closed = bool(info.get("SequenceNumberRange", {}).get("EndingSequenceNumber"))
        saved = self._saved.get(shard_id)
        if saved is not None:
            position: tuple[str, str | None] = ("AFTER_SEQUENCE_NUMBER", saved)
        elif initial and self.spec.starting_position == "LATEST":
            position = ("LATEST", None)
        else:  # TRIM_HORIZON, and every shard that appears after the start (nothing is missed)
            position = ("TRIM_HORIZON", None)
        parent = self.shards.get(info.get("ParentShardId") or "")
        shard = Shard(self, shard_id, position, parent)
        self.shards[shard_id] = shard
        if closed and position[0] == "LATEST":
            shard.finished.set()  # a closed shard has nothing after its end
            return
        if parent is None:  # anchor the position now: writes right after start are not missed
            await shard.open_iterator()
        shard.start()

    async def _discover_loop(self) -> None:
        while True:
            await wait_event(self._rediscover, DISCOVER_EVERY)  # (never wait_for: router/loops.py)
            self._rediscover.clear()
            try:
                for info in await self._list_shards():
                    if info["ShardId"] not in self.shards:
                        log.info("dynamodb mapping %s: new shard %s", self.name, info["ShardId"])
                        await self._add(info, initial=False)
            except Exception as exc:
                log.warning("dynamodb mapping %s: cannot describe stream %s: %s", self.name, self.stream_arn, exc)

    def rediscover(self) -> None:
        self._rediscover.set()

    # ------------------------------------------------------------------ reporting

    def describe(self) -> str:
        position = "from checkpoint" if self.resumed else self.spec.starting_position
        parts = [f"dynamodb        {self.spec.table}", f"stream {self.stream_arn}", position,
                 f"batch {self.spec.batch_size}"]  # fmt: skip
        if self.spec.batching_window:
            parts.append(f"window {self.spec.batching_window:g}s")
        if self.spec.parallelization > 1:
            parts.append(f"parallelization {self.spec.parallelization}")
        if self.spec.filter:
            parts.append(f"{len(self.spec.filter)} filter(s)")
        return "  ".join(parts) + f"  -> {self.trigger.function}  [{self.name}]"

    def info(self) -> dict[str, Any]:
        return {
            "trigger": self.name, "function": self.trigger.function, "table": self.spec.table,
            "stream_arn": self.stream_arn, "stream_view_type": self.view_type,
            "starting_position": self.spec.starting_position, "resumed": self.resumed,
            "batch_size": self.spec.batch_size, "batching_window": self.spec.batching_window,
            "parallelization": self.spec.parallelization, "state": "Enabled",
            "shards": [s.info() for s in self.shards.values()],
        }  # fmt: skip


def parents_first(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shards ordered so that a parent comes before its children (lineage)."""
    ids = {s["ShardId"] for s in shards}
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    left = list(shards)
    while left:
        ready = [s for s in left if s.get("ParentShardId") not in ids or s.get("ParentShardId") in done]
        ready = ready or left[:1]  # a cycle cannot happen; never loop forever anyway
        for s in ready:
            ordered.append(s)
            done.add(s["ShardId"])
            left.remove(s)
    return ordered
