"""A watched folder's start-up sync runs after ready: nothing is lost or doubled meanwhile."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from router import Router

pytestmark = pytest.mark.slow

CONFIG = """
version: 1
functions:
  seen:
    handler: handler.handler
    concurrency: 2
triggers:
  - name: files
    function: seen
    s3: {dir: %(dir)s, bucket: files, catch_up: true}
"""


def test_files_present_at_start_and_dropped_right_after_each_notify_once(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(
        "def handler(event, context):\n    return event['Records'][0]['s3']['object']['key']\n"
    )
    folder = tmp_path / "watched"
    for n in range(200):
        sub = folder / f"d{n % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{n}.txt").write_bytes(b"x" * n)
    with Router.from_text(CONFIG % {"dir": folder}, tmp_path) as r:
        r.drop("files", "late/new.txt", b"dropped right after start")  # while the sync may still run
        invs = r.wait("seen", count=201, timeout=60)
        keys = Counter(inv.result for inv in invs)
        assert all(inv.ok for inv in invs)
        assert set(keys) == {f"d{n % 4}/f{n}.txt" for n in range(200)} | {"late/new.txt"}
        assert max(keys.values()) == 1  # none doubled
        r.call(r.app.source("s3").caught_up())  # the buckets hold every file once the sync is done
        listed = r.aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket="files")
        assert sum(page.get("KeyCount", 0) for page in listed) == 201
