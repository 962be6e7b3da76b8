"""Issue 16: an idle stream mapping on the embedded AWS does not poll several times a second
(the daemon's idle CPU): each write through the embedded server wakes its pollers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from router import Router

pytestmark = pytest.mark.slow

CONFIG = """
functions:
  on_item: {handler: h.handler}
resources:
  tables:
    items: {keys: {pk: S}, stream: NEW_IMAGE}
triggers:
  - {name: items, function: on_item, dynamodb: {table: items, starting_position: LATEST}}
"""


def polls(r: Router) -> int:
    return sum(s["polls"] for m in r.app.source("dynamodb").mappings() for s in m["shards"])


def test_an_idle_mapping_waits_for_writes(tmp_path: Path) -> None:
    (tmp_path / "h.py").write_text("def handler(event, context):\n    return len(event['Records'])\n")
    (tmp_path / "triggers.yaml").write_text(CONFIG)
    with Router(tmp_path / "triggers.yaml") as r:
        assert r.app.source("dynamodb").watched
        time.sleep(3)  # the poll interval has grown to its cap
        before = polls(r)
        time.sleep(4)
        idle = polls(r) - before
        assert idle <= 5, f"{idle} GetRecords in 4 idle seconds"  # (5 a second without the wake-up)
        r.aws.client("dynamodb").put_item(TableName="items", Item={"pk": {"S": "a"}})
        inv = r.wait("on_item", timeout=10)
        assert inv.ok and inv.result == 1
