"""Issue 17: a restart with a backlog runs it only once every source has restored what its
events refer to (the S3 source mirrors its folder back into the fresh embedded bucket first)."""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from router import Router
from router.config import load_config
from router.dispatch import event_queue
from router.events import s3
from router.store import Store

pytestmark = pytest.mark.slow

HANDLER = """
import boto3

s3 = boto3.client("s3")

def handler(event, context):
    record = event["Records"][0]["s3"]
    body = s3.get_object(Bucket=record["bucket"]["name"], Key=record["object"]["key"])["Body"].read()
    return len(body)
"""

N = 20


def test_a_backlog_runs_after_the_folders_are_back_in_the_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from router.sources import s3_sync

    start = s3_sync.Syncer.start

    def slow_start(self: s3_sync.Syncer) -> None:  # a big folder: the mirror takes a while
        time.sleep(2.0)
        start(self)

    monkeypatch.setattr(s3_sync.Syncer, "start", slow_start)
    (tmp_path / "reader.py").write_text(HANDLER)
    (tmp_path / "triggers.yaml").write_text(
        "settings: {http: {port: 0}, aws: {port: 0}}\n"
        "functions:\n  reader: {handler: reader.handler, concurrency: 8, async: {retries: 0}}\n"
        "triggers:\n  - {name: up, function: reader, s3: {dir: drop, bucket: backlog}}\n"
    )
    drop = tmp_path / "drop"
    drop.mkdir()
    config = load_config(tmp_path / "triggers.yaml")
    now = time.time()
    with closing(Store(config.state_dir).connect()) as conn, conn:  # what a killed daemon left queued
        for i in range(N):
            (drop / f"f{i}.txt").write_bytes(b"x" * (i + 1))
            os.utime(drop / f"f{i}.txt", ns=(10**18, 10**18))  # there before router: not news at its first watch
            record = s3.build_record(event_name="ObjectCreated:Put", bucket="backlog", key=f"f{i}.txt", size=i + 1,
                                     etag="0" * 32, sequencer="0A", configuration_id="up", region="us-east-1",
                                     event_time=now, request_id="R", host_id="H")  # fmt: skip
            event = s3.build_event([record])
            event_queue.insert(conn, event_queue.Entry(
                id=str(uuid.uuid4()), function="reader", trigger="up", source="s3", event=event,
                event_json=json.dumps(event), accepted_at=now, due_at=now))  # fmt: skip
    with Router(tmp_path / "triggers.yaml", isolated=False) as r:
        done = r.wait("reader", count=N, timeout=60)
    failed = [i.error for i in done if not i.ok]
    assert failed == []
    assert sorted(i.result for i in done) == list(range(1, N + 1))
