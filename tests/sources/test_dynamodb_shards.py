"""Shard lineage, new shards and read errors, over a fake DynamoDB Streams API (moto keeps
one shard per stream, so splits cannot be made happen there)."""

from __future__ import annotations

import asyncio
import threading
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from router.clock import Clock
from router.dispatch.fakes import FakeDispatch
from router.invocation import Invocation
from router.sources.base import SourceContext
from router.sources.dynamodb import DynamoDBSource, parents_first

from .ddb_helpers import make_config

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"


class ApiError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


def raw(seq: int, pk: str) -> dict[str, Any]:
    change = {"Keys": {"pk": {"S": pk}}, "NewImage": {"pk": {"S": pk}}, "SequenceNumber": f"{seq:021d}",
              "SizeBytes": 10, "StreamViewType": "NEW_IMAGE", "ApproximateCreationDateTime": 1.8e9}  # fmt: skip
    return {"eventID": f"e{seq}", "eventName": "INSERT", "eventVersion": "1.0", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": change}  # fmt: skip


class FakeStreams:
    """DescribeTable, DescribeStream, GetShardIterator and GetRecords over in-memory shards."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shards: dict[str, dict[str, Any]] = {}
        self.fail_next: list[str] = []  # error codes GetRecords raises, one per call

    def add(self, shard_id: str, records: list[dict[str, Any]], *, parent: str | None = None,
            closed: bool = False) -> None:  # fmt: skip
        with self.lock:
            self.shards[shard_id] = {"parent": parent, "records": records, "closed": closed}

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"LatestStreamArn": ARN, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                          "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}}  # fmt: skip

    def describe_stream(self, StreamArn: str, **kw: Any) -> dict[str, Any]:
        with self.lock:
            shards = []
            for sid, s in self.shards.items():
                seqs = [r["dynamodb"]["SequenceNumber"] for r in s["records"]] or ["0"]
                rng = {"StartingSequenceNumber": seqs[0]}
                if s["closed"]:
                    rng["EndingSequenceNumber"] = seqs[-1]
                info: dict[str, Any] = {"ShardId": sid, "SequenceNumberRange": rng}
                if s["parent"]:
                    info["ParentShardId"] = s["parent"]
                shards.append(info)
        return {"StreamDescription": {"StreamArn": ARN, "StreamStatus": "ENABLED", "Shards": shards[::-1]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,
                           SequenceNumber: str | None = None) -> dict[str, Any]:  # fmt: skip
        with self.lock:
            records = self.shards[ShardId]["records"]
            pos = {"TRIM_HORIZON": 0, "LATEST": len(records)}.get(ShardIteratorType)
            if pos is None:
                pos = next(i + 1 for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == SequenceNumber)
        return {"ShardIterator": f"{ShardId}|{pos}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        with self.lock:
            if self.fail_next:
                raise ApiError(self.fail_next.pop(0))
            sid, pos_text = ShardIterator.split("|")
            shard, pos = self.shards[sid], int(pos_text)
            out = shard["records"][pos : pos + Limit]
            end = pos + len(out)
            done = shard["closed"] and end >= len(shard["records"])
        return {"Records": out, **({} if done else {"NextShardIterator": f"{sid}|{end}"})}


class FakeAws:
    endpoint_url = "http://fake"
    mode = "url"  # an external endpoint: no write notifications, the pollers poll

    def __init__(self, api: FakeStreams) -> None:
        self.api = api

    def client(self, name: str) -> FakeStreams:
        return self.api

    def streams_client(self) -> FakeStreams:
        return self.api


async def run_source(tmp_path: Path, api: FakeStreams, body: Any, handler: Any = None) -> list[list[str]]:
    cfg = make_config("functions:\n  fn: {handler: h.handler}\ntriggers:\n"
                      "  - {name: t, function: fn, dynamodb: {table: orders, starting_position: TRIM_HORIZON}}\n",
                      tmp_path, endpoint="http://fake")  # fmt: skip
    calls: list[list[str]] = []

    async def invoke(trigger: Any, event: Any, attempt: int = 1) -> Invocation:
        calls.append([r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]])
        if handler is not None:
            await handler(calls[-1])
        return Invocation(id="r", function="fn", event=event)

    from router.store import Store

    store = Store(cfg.state_dir)
    dispatch = FakeDispatch(cfg, invoke=invoke, store=store)
    ctx = SourceContext(config=cfg, aws=FakeAws(api), store=store, clock=Clock(), dispatch=dispatch)  # type: ignore[arg-type]
    source = DynamoDBSource([t for t in cfg.triggers], ctx)
    async with AsyncExitStack() as stack:
        await dispatch.start(stack)
        await source.start(stack)
        await body(source)
    return calls


async def until(predicate: Any, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def test_a_child_shard_waits_for_its_parent(tmp_path: Path) -> None:
    api = FakeStreams()
    api.add("parent", [raw(1, "p1"), raw(2, "p2"), raw(3, "p3")], closed=True)
    api.add("child", [raw(4, "c1"), raw(5, "c2")], parent="parent")
    gate = asyncio.Event()

    async def handler(keys: list[str]) -> None:
        if "p1" in keys:
            await gate.wait()  # the parent's first batch is slow

    async def body(source: DynamoDBSource) -> None:
        await asyncio.sleep(0.2)
        shards = {s["shard_id"]: s for s in source.mappings()[0]["shards"]}
        assert shards["child"]["read"] == 0  # not a record of the child before the parent is done
        gate.set()
        await until(lambda: sum(s["delivered"] for s in source.mappings()[0]["shards"]) == 5)
        assert {s["shard_id"]: s["finished"] for s in source.mappings()[0]["shards"]}["parent"]

    calls = asyncio.run(run_source(tmp_path, api, body, handler))
    assert [k for c in calls for k in c] == ["p1", "p2", "p3", "c1", "c2"]


def test_new_shards_are_found_and_read_from_their_start(tmp_path: Path) -> None:
    api = FakeStreams()
    api.add("one", [raw(1, "a")], closed=True)

    async def body(source: DynamoDBSource) -> None:
        await until(lambda: source.mappings()[0]["shards"][0]["finished"])
        api.add("two", [raw(2, "b"), raw(3, "c")], parent="one")
        source.mapping("t").rediscover()
        await until(lambda: len(source.mappings()[0]["shards"]) == 2)
        await until(lambda: sum(s["delivered"] for s in source.mappings()[0]["shards"]) == 3)

    calls = asyncio.run(run_source(tmp_path, api, body))
    assert [k for c in calls for k in c] == ["a", "b", "c"]


def test_read_errors_are_retried_and_an_expired_iterator_reopened(tmp_path: Path) -> None:
    api = FakeStreams()
    api.add("one", [raw(1, "a"), raw(2, "b")])

    async def body(source: DynamoDBSource) -> None:
        await until(lambda: source.mappings()[0]["shards"][0]["delivered"] == 2)
        with api.lock:
            api.fail_next = ["InternalServerError", "ExpiredIteratorException"]
            api.shards["one"]["records"].append(raw(3, "c"))
        await until(lambda: source.mappings()[0]["shards"][0]["delivered"] == 3)

    calls = asyncio.run(run_source(tmp_path, api, body))
    assert [k for c in calls for k in c] == ["a", "b", "c"]  # reopened after "b": nothing twice


def test_parents_come_first() -> None:
    shards = [{"ShardId": "c", "ParentShardId": "b"}, {"ShardId": "b", "ParentShardId": "a"},
              {"ShardId": "a", "ParentShardId": "gone"}, {"ShardId": "x"}]  # fmt: skip
    assert [s["ShardId"] for s in parents_first(shards)] == ["a", "x", "b", "c"]
