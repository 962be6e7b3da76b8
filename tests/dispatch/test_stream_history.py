"""A stream batch's fate in the journal and ``router history`` (issue 17): which items failed
(batchItemFailures), what was retried, what was discarded and where it went; not just ``ok``."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import yaml

from router.cli.history import row
from router.clock import Clock
from router.config import parse_config
from router.dispatch.fakes import FakeRuntime
from router.invocation import Invocation

from .dispatch_helpers import running
from .streamfakes import rec, seqs

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"


def _config(tmp_path: Path, **mapping: Any) -> Any:
    data = {
        "version": 1,
        "settings": {"state_dir": "state"},
        "functions": {"f": {"handler": "handlers/f.handler"}},
        "resources": {"tables": {"t": {"keys": {"pk": "S"}, "stream": "NEW_IMAGE"}}},
        "triggers": [{"name": "orders", "function": "f",
                      "dynamodb": {"table": "t", "starting_position": "TRIM_HORIZON", **mapping}}],
    }  # fmt: skip
    return parse_config(yaml.safe_dump(data), "triggers.yaml", root=tmp_path, check_files=False)


async def _run(tmp_path: Path, handler: Any, records: int, **mapping: Any) -> list[Invocation]:
    config = _config(tmp_path, **mapping)
    async with running(config, FakeRuntime(handler), Clock()) as d:
        consumer = (await d.open_stream(config.triggers[0], ARN)).shard("shard-1")
        consumer.start()
        await consumer.put([rec(n, arrival=time.time()) for n in range(1, records + 1)])
        await asyncio.wait_for(consumer.wait_idle(), 20)
        await consumer.stop()
        return d.history()  # from the state file, as journaled


def test_partial_failures_retries_and_discards_are_journaled_and_shown(tmp_path: Path) -> None:
    answers = iter([[3], [4]])  # first: 3 failed (1, 2 done); then: 4 failed (3 done), retries run out

    def handler(function: str, event: dict[str, Any]) -> Any:
        failed = next(answers)
        return {"batchItemFailures": [{"itemIdentifier": f"{n:021d}"} for n in failed]}

    first, second = asyncio.run(_run(tmp_path, handler, 5, retries=1, report_batch_item_failures=True,
                                     on_failure={"dir": "failed"}))  # fmt: skip
    assert first.status == second.status == "ok"
    s = [f"{n:021d}" for n in range(6)]
    assert first.extra["batch"] == {"records": 5, "first": s[1], "last": s[5], "failed": [s[3]], "delivered": 2,
                                    "retried": {"records": 3, "from": s[3], "to": s[5], "retry": 1}}  # fmt: skip
    assert second.extra["batch"] == {
        "records": 3, "first": s[3], "last": s[5], "failed": [s[4]], "delivered": 1,
        "discarded": {"records": 2, "from": s[4], "to": s[5], "condition": "RetryAttemptsExhausted",
                      "destination": "dir failed"},
    }  # fmt: skip
    assert row(first)[-1] == "5 records: 1 failed, 2 delivered, 3 retried"
    assert row(second)[-1] == "3 records: 1 failed, 1 delivered, 2 discarded -> dir failed"
    wide = row(second, wide=True)[-1]
    assert wide == f"3 records: 1 failed ({s[4]}), 1 delivered, 2 discarded {s[4]}..{s[5]} -> dir failed"
    reports = [json.loads(p.read_text()) for p in (tmp_path / "failed").iterdir()]
    assert [r["DDBStreamBatchInfo"]["batchSize"] for r in reports] == [2]


def test_a_function_error_split_and_dropped_without_a_destination(tmp_path: Path) -> None:
    def handler(function: str, event: dict[str, Any]) -> Any:
        if 2 in seqs(event):
            raise ValueError("poison")
        return None

    invs = asyncio.run(_run(tmp_path, handler, 2, retries=0, bisect_on_error=True))
    split, ok, poison = invs
    assert split.status == "error" and split.extra["batch"]["bisected"] == [1, 1]
    assert row(split)[-1].startswith("2 records: all failed, split 1+1; ValueError: poison")
    assert "failed" not in ok.extra["batch"] and row(ok)[-1] == ""
    assert poison.extra["batch"]["discarded"]["destination"] == "none: dropped"
    assert row(poison, wide=True)[-1] == f"1 record: all failed, 1 discarded {2:021d}..{2:021d} -> none: dropped; " \
                                         "ValueError: poison"  # fmt: skip
