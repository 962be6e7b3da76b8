"""The DynamoDB Streams source against a real moto: records, view types, positions, batching,
retries, bisect, partial failures, filters, record age, on-failure records, start errors."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamLambdaOnFailureDestinationModel

from router.clock import ManualClock

from .ddb_helpers import Harness, failure_files, keys, make_config

pytestmark = pytest.mark.slow

FN = "functions:\n  fn: {handler: h.handler}\n  audit: {handler: h.handler}\n"


def table_yaml(view: str = "NEW_AND_OLD_IMAGES", seed: str | None = None, name: str = "orders") -> str:
    extra = f", seed: {seed}" if seed else ""
    return f"resources:\n  tables:\n    {name}: {{keys: {{pk: S}}, stream: {view}{extra}}}\n"


def config(tmp_path: Path, triggers: str, view: str = "NEW_AND_OLD_IMAGES", seed: list[dict[str, Any]] | None = None,
           **kw: Any) -> Any:  # fmt: skip
    seed_name = None
    if seed is not None:
        import json

        (tmp_path / "seed.json").write_text(json.dumps(seed))
        seed_name = "seed.json"
    return make_config(FN + table_yaml(view, seed_name) + "triggers:\n" + triggers, tmp_path, **kw)


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"])
def test_insert_modify_remove_for_each_view_type(tmp_path: Path, view: str) -> None:
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, batch_size: 10}}\n", view)
    with Harness(cfg) as h:
        table = h.table("orders")
        table.put_item(Item={"pk": "a", "total": 1})
        table.put_item(Item={"pk": "a", "total": 2})
        table.delete_item(Key={"pk": "a"})
        records = h.wait_records(3)
        arn = h.mapping("t")["stream_arn"]
    assert h.invalid == []
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for r in records:
        assert r["eventVersion"] == "1.1" and r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == "eu-west-1"  # moto says us-east-1; router says the configured region
        assert r["eventSourceARN"] == arn and re.fullmatch(r"arn:aws:dynamodb:eu-west-1:\d{12}:table/orders/stream/.+",
                                                             arn)  # fmt: skip
        assert isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int | float)
        assert r["dynamodb"]["StreamViewType"] == view
        assert r["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    images = [(set(r["dynamodb"]) & {"NewImage", "OldImage"}) for r in records]
    expected = {
        "NEW_AND_OLD_IMAGES": [{"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}],
        "NEW_IMAGE": [{"NewImage"}, {"NewImage"}, set()],
        "OLD_IMAGE": [set(), {"OldImage"}, {"OldImage"}],
        "KEYS_ONLY": [set(), set(), set()],
    }[view]
    assert images == expected
    if view == "NEW_AND_OLD_IMAGES":
        assert records[1]["dynamodb"]["OldImage"]["total"] == {"N": "1"}
        assert records[1]["dynamodb"]["NewImage"]["total"] == {"N": "2"}
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)


def test_batch_size_splits_what_is_there(tmp_path: Path) -> None:
    seed = [{"pk": f"s{n}"} for n in range(5)]
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, batch_size: 2, "
                           "starting_position: TRIM_HORIZON}}\n", seed=seed)  # fmt: skip
    with Harness(cfg) as h:
        h.wait_records(5)
        h.idle()
    assert [len(e["Records"]) for e in h.events()] == [2, 2, 1]
    assert sorted(k for e in h.events() for k in keys(e)) == [f"s{n}" for n in range(5)]


def test_batching_window_waits_on_the_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, batching_window: 30}}\n")
    with Harness(cfg, clock=clock) as h:
        table = h.table("orders")
        for n in range(3):
            table.put_item(Item={"pk": f"w{n}"})
        h.wait_for(lambda: h.read("t") == 3, what="3 records read")
        assert h.events() == []  # the window (30 s on the clock) has not passed
        h.run(clock.advance(30))
        h.wait_records(3)
    assert [keys(e) for e in h.events()] == [["w0", "w1", "w2"]]


def test_trim_horizon_reads_the_seed_and_latest_only_what_comes(tmp_path: Path) -> None:
    seed = [{"pk": "old1"}, {"pk": "old2"}]
    cfg = config(tmp_path, "  - {name: all, function: fn, dynamodb: {table: orders, starting_position: TRIM_HORIZON}}\n"
                           "  - {name: new, function: fn, dynamodb: {table: orders, starting_position: LATEST}}\n",
                 seed=seed)  # fmt: skip
    with Harness(cfg) as h:
        h.table("orders").put_item(Item={"pk": "fresh"})
        h.wait_records(3, "all")
        h.wait_records(1, "new")
        h.idle()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in h.records("all")] == ["old1", "old2", "fresh"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in h.records("new")] == ["fresh"]


def test_a_failing_batch_blocks_its_shard_in_order(tmp_path: Path) -> None:
    failures = {"poison": 2}

    def handler(trigger: str, event: dict[str, Any]) -> None:
        for k in keys(event):
            if failures.get(k, 0) > 0:
                failures[k] -= 1
                raise RuntimeError(f"cannot take {k} yet")

    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, batch_size: 1, retries: -1}}\n")
    with Harness(cfg, handler) as h:
        table = h.table("orders")
        for k in ("poison", "ok1", "ok2"):
            table.put_item(Item={"pk": k})
        h.wait_records(5)
        h.idle()
    assert [keys(e) for e in h.events()] == [["poison"], ["poison"], ["poison"], ["ok1"], ["ok2"]]


def test_bisect_isolates_a_poison_record_and_writes_the_failure(tmp_path: Path) -> None:
    def handler(trigger: str, event: dict[str, Any]) -> None:
        if "p" in keys(event):
            raise ValueError("poison")

    seed = [{"pk": k} for k in ("a", "b", "p", "d")]
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, starting_position: TRIM_HORIZON,"
                           " batch_size: 4, retries: 0, bisect_on_error: true, on_failure: {dir: failed}}}\n",
                 seed=seed)  # fmt: skip
    with Harness(cfg, handler) as h:
        h.wait_for(lambda: len(failure_files(tmp_path / "failed")) == 1, what="the failure record")
        h.idle()
        arn = h.mapping("t")["stream_arn"]
        shard = h.mapping("t")["shards"][0]["shard_id"]
    assert [keys(e) for e in h.events()] == [["a", "b", "p", "d"], ["a", "b"], ["p", "d"], ["p"], ["d"]]
    (record,) = failure_files(tmp_path / "failed")
    parse(event=record, model=DynamoDBStreamLambdaOnFailureDestinationModel)
    poison = next(r for e in h.events() for r in e["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "p")
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["shardId"] == shard and info["streamArn"] == arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["functionArn"].endswith(":function:fn")
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_partial_batch_failures_resume_at_the_lowest_failed_record(tmp_path: Path) -> None:
    def handler(trigger: str, event: dict[str, Any]) -> dict[str, Any]:
        failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]
                  if r["dynamodb"]["NewImage"].get("status", {}).get("S") == "bad"]  # fmt: skip
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    seed = [{"pk": "a"}, {"pk": "b", "status": "bad"}, {"pk": "c"}, {"pk": "d", "status": "bad"}, {"pk": "e"}]
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, starting_position: TRIM_HORIZON,"
                           " batch_size: 10, retries: 1, report_batch_item_failures: true,"
                           " on_failure: {dir: failed}}}\n",
                 seed=seed)  # fmt: skip
    with Harness(cfg, handler) as h:
        h.wait_for(lambda: len(failure_files(tmp_path / "failed")) == 1, what="the failure record")
        h.idle()
    assert [keys(e) for e in h.events()] == [["a", "b", "c", "d", "e"], ["b", "c", "d", "e"]]
    (record,) = failure_files(tmp_path / "failed")
    assert record["DDBStreamBatchInfo"]["batchSize"] == 4
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert "functionError" not in record["responseContext"]


FILTERS = {
    "exact": "{eventName: [INSERT]}",
    "prefix": "{dynamodb: {NewImage: {status: {S: [{prefix: pay}]}}}}",
    "suffix": "{dynamodb: {Keys: {pk: {S: [{suffix: '-vip'}]}}}}",
    "anything_but": "{dynamodb: {NewImage: {status: {S: [{anything-but: [paid, new]}]}}}}",
    "numeric": "{dynamodb: {SizeBytes: [{numeric: ['>', 40]}]}}",
    "exists": "{dynamodb: {NewImage: {note: {S: [{exists: true}]}}}}",
    "missing": "{dynamodb: {NewImage: {note: {S: [{exists: false}]}}}}",
    "either": "[{eventName: [REMOVE]}, {dynamodb: {NewImage: {status: {S: [paid]}}}}]",
}


def test_filters_of_each_kind(tmp_path: Path) -> None:
    triggers = "".join(f"  - {{name: {n}, function: fn, dynamodb: {{table: orders, filter: {f}}}}}\n"
                       for n, f in FILTERS.items())  # fmt: skip
    cfg = config(tmp_path, triggers)
    with Harness(cfg) as h:
        table = h.table("orders")
        table.put_item(Item={"pk": "a", "status": "new"})
        table.put_item(Item={"pk": "b-vip", "status": "paid", "note": "x"})
        table.put_item(Item={"pk": "c", "status": "payment-pending", "blob": "y" * 50})
        table.put_item(Item={"pk": "a", "status": "shipped"})
        table.delete_item(Key={"pk": "c"})
        for name in FILTERS:
            h.wait_for(lambda n=name: h.read(n) == 5, what=f"{name} read all")
        h.idle()
    got = {name: [(r["eventName"][0], r["dynamodb"]["Keys"]["pk"]["S"]) for r in h.records(name)] for name in FILTERS}
    assert got == {
        "exact": [("I", "a"), ("I", "b-vip"), ("I", "c")],
        "prefix": [("I", "c")],  # payment-pending (not "paid")
        "suffix": [("I", "b-vip")],
        "anything_but": [("I", "c"), ("M", "a")],  # a REMOVE has no NewImage: no status to compare
        "numeric": [("I", "c"), ("R", "c")],
        "exists": [("I", "b-vip")],
        "missing": [("I", "a"), ("I", "c"), ("M", "a"), ("R", "c")],
        "either": [("I", "b-vip"), ("R", "c")],
    }
    for name in FILTERS:  # filtered records are done too: the checkpoint reaches the last record
        shard = h.mapping(name)["shards"][0]
        assert shard["checkpoint"] is not None and shard["pending"] == 0


def test_records_past_the_maximum_age_go_to_the_destination(tmp_path: Path) -> None:
    clock = ManualClock()

    def handler(trigger: str, event: dict[str, Any]) -> None:
        raise RuntimeError("down")

    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, max_record_age: 60, "
                           "on_failure: {dir: failed}}}\n")  # fmt: skip
    with Harness(cfg, handler, clock=clock) as h:
        h.table("orders").put_item(Item={"pk": "late"})
        h.wait_records(1)
        h.run(clock.advance(61))
        h.wait_for(lambda: len(failure_files(tmp_path / "failed")) == 1, what="the failure record")
    (record,) = failure_files(tmp_path / "failed")
    parse(event=record, model=DynamoDBStreamLambdaOnFailureDestinationModel)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1


def test_on_failure_function_gets_the_record_asynchronously(tmp_path: Path) -> None:
    def handler(trigger: str, event: dict[str, Any]) -> None:
        raise RuntimeError("down")

    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, retries: 0, "
                           "on_failure: {function: audit}}}\n")  # fmt: skip
    with Harness(cfg, handler) as h:
        h.table("orders").put_item(Item={"pk": "x", "n": Decimal("1.5")})
        h.wait_for(lambda: len(h.emitted) == 1, what="the on-failure invocation")
    trigger, record = h.emitted[0]
    assert trigger.function == "audit"
    parse(event=record, model=DynamoDBStreamLambdaOnFailureDestinationModel)
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_parallelization_keeps_each_key_in_order(tmp_path: Path) -> None:
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, batch_size: 3, "
                           "parallelization: 4}}\n")  # fmt: skip
    with Harness(cfg) as h:
        table = h.table("orders")
        for n in range(24):
            table.put_item(Item={"pk": f"k{n % 6}", "n": n})
        h.wait_records(24)
        h.idle()
    seen: dict[str, list[int]] = {}
    for r in h.records():
        seen.setdefault(r["dynamodb"]["Keys"]["pk"]["S"], []).append(int(r["dynamodb"]["NewImage"]["n"]["N"]))
    assert seen == {f"k{k}": list(range(k, 24, 6)) for k in range(6)}


def test_banner_and_mappings(tmp_path: Path) -> None:
    cfg = config(tmp_path, "  - {name: t, function: fn, dynamodb: {table: orders, batch_size: 7, batching_window: 2,"
                           " filter: [{eventName: [INSERT]}]}}\n"
                           "  - {name: paused, function: fn, dynamodb: {table: orders, enabled: false}}\n")  # fmt: skip
    with Harness(cfg) as h:
        assert h.source is not None
        (line, disabled) = h.source.describe()
        (m,) = h.source.mappings()
    assert m["table"] == "orders" and m["batch_size"] == 7 and m["starting_position"] == "LATEST"
    assert m["stream_arn"] in line and "LATEST" in line and "batch 7" in line and "window 2s" in line
    assert line.endswith("-> fn  [t]")
    assert "disabled" in disabled and "[paused]" in disabled
