"""dispatch's SQS mapping policy (queue_mapping.QueueConsumer) over FakeDispatch and a fake
queue: batching window, FIFO groups one batch at a time, filters delete without invoking,
failures leave messages for the visibility timeout, a stop gives back what was never
delivered. The real queue is in tests/sources/test_sqs_e2e.py."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from router.clock import ManualClock
from router.config import parse_config
from router.dispatch.fakes import FakeDispatch
from router.invocation import Invocation
from router.types import QueueMessage

CONFIG = """
functions: {f: {handler: h.main, concurrency: 4}}
resources: {queues: {q: {}, o: {fifo: true}}}
triggers:
  - {name: plain, function: f, sqs: {queue: q, batch_size: 3}}
  - {name: windowed, function: f, sqs: {queue: q, batch_size: 20, batching_window: 5}}
  - {name: picky, function: f, sqs: {queue: q, filter: [{body: {kind: [a]}}]}}
  - {name: fifo, function: f, sqs: {queue: o, report_batch_item_failures: true}}
"""


class FakeQueue:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.released: list[str] = []

    async def delete(self, messages: list[QueueMessage]) -> None:
        self.deleted += [m.message_id for m in messages]

    async def release(self, messages: list[QueueMessage]) -> None:
        self.released += [m.message_id for m in messages]


def message(n: int, body: Any = None, group: str = "") -> QueueMessage:
    text = body if isinstance(body, str) else json.dumps(body or {"n": n})
    data = {"messageId": f"m{n}", "receiptHandle": f"r{n}", "body": text,
            "attributes": {"ApproximateReceiveCount": "1", **({"MessageGroupId": group} if group else {})}}  # fmt: skip
    return QueueMessage(data=data, group=group)


def ok(result: Any = None) -> Invocation:
    return Invocation(id="i", function="f", status="ok", result=result)


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture()
def config() -> Any:
    return parse_config(CONFIG, check_files=False)


@sync
async def test_batches_and_deletes(config: Any) -> None:
    batches: list[list[str]] = []
    dispatch = FakeDispatch(config, invoke=lambda t, e, a: batches.append([r["messageId"] for r in e["Records"]])
                            or ok())  # fmt: skip
    io = FakeQueue()
    mapping = await dispatch.open_queue(config.trigger("plain"), "arn", io, fifo=False)
    mapping.start()
    assert await mapping.room() == 10
    await mapping.put([message(n) for n in range(5)])
    await mapping.wait_idle()
    assert batches == [["m0", "m1", "m2"], ["m3", "m4"]] and sorted(io.deleted) == [f"m{n}" for n in range(5)]
    assert mapping.info()["delivered"] == 5
    await mapping.stop()


@sync
async def test_a_window_gathers_until_it_ends(config: Any) -> None:
    clock = ManualClock()
    sizes: list[int] = []
    dispatch = FakeDispatch(config, clock=clock, invoke=lambda t, e, a: sizes.append(len(e["Records"])) or ok())
    mapping = await dispatch.open_queue(config.trigger("windowed"), "arn", FakeQueue(), fifo=False)
    mapping.start()
    await mapping.put([message(n) for n in range(10)])
    await settle()
    assert sizes == []  # 10 < 20 and the window is open
    await mapping.put([message(n) for n in range(10, 15)])
    await clock.advance(5)
    await mapping.wait_idle()
    assert sizes == [15]
    await mapping.stop()


@sync
async def test_filters_delete_without_invoking(config: Any) -> None:
    seen: list[str] = []
    dispatch = FakeDispatch(config, invoke=lambda t, e, a: seen.extend(r["body"] for r in e["Records"]) or ok())
    io = FakeQueue()
    mapping = await dispatch.open_queue(config.trigger("picky"), "arn", io, fifo=False)
    mapping.start()
    await mapping.put([message(1, {"kind": "a"}), message(2, {"kind": "b"}), message(3, "plain text")])
    await mapping.wait_idle()
    assert seen == ['{"kind": "a"}'] and sorted(io.deleted) == ["m1", "m2", "m3"]
    assert mapping.info()["filtered"] == 2
    await mapping.stop()


@sync
async def test_fifo_one_batch_of_a_group_at_a_time_and_failures_stay(config: Any) -> None:
    gate = asyncio.Event()
    calls: list[list[str]] = []

    async def invoke(t: Any, event: Any, attempt: int) -> Invocation:
        ids = [r["messageId"] for r in event["Records"]]
        calls.append(ids)
        if "m1" in ids:
            await gate.wait()
            return ok({"batchItemFailures": [{"itemIdentifier": "m1"}]})
        return ok()

    io = FakeQueue()
    dispatch = FakeDispatch(config, invoke=invoke)
    mapping = await dispatch.open_queue(config.trigger("fifo"), "arn", io, fifo=True)
    mapping.start()
    await mapping.put([message(1, group="A"), message(2, group="B")])
    await settle()
    await mapping.put([message(3, group="A"), message(4, group="B")])  # A is in flight: m3 waits
    await settle()
    assert calls == [["m1", "m2"]]
    gate.set()
    await mapping.wait_idle()
    assert calls == [["m1", "m2"], ["m3", "m4"]]
    assert "m1" not in io.deleted and sorted(io.deleted) == ["m2", "m3", "m4"]  # m1 comes back later
    await mapping.stop()


@sync
async def test_a_function_error_deletes_nothing_and_a_stop_gives_back_the_rest(config: Any) -> None:
    gate = asyncio.Event()

    async def invoke(t: Any, event: Any, attempt: int) -> Invocation:
        await gate.wait()
        return Invocation(id="i", function="f", status="error", error={"errorType": "E"})

    io = FakeQueue()
    dispatch = FakeDispatch(config, invoke=invoke)
    mapping = await dispatch.open_queue(config.trigger("plain"), "arn", io, fifo=False)
    mapping.start()
    await mapping.put([message(n) for n in range(15)])  # 4 batches of 3 run; 3 messages wait
    await settle()
    gate.set()
    await mapping.stop()
    assert io.deleted == [] and sorted(io.released) == ["m12", "m13", "m14"]
    assert mapping.info()["failed"] == 12
