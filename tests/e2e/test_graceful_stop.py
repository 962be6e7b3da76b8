"""Graceful stop (issue 17): a first SIGINT/SIGTERM lets in-flight invocations (a synchronous
HTTP request, an asynchronous event) finish within their timeouts and journals them; a second
signal stops at once."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest

from router.store import Store

pytestmark = pytest.mark.slow

CONFIG = """
settings: {http: {port: 0}, aws: {port: 0}}
functions:
  slow: {handler: slow.handler, timeout: 20}
triggers:
  - {function: slow, http: "GET /slow"}
"""

HANDLER = """
import time
def handler(event, context):
    print("started", flush=True)
    time.sleep(event.get("sleep") or 8.0)
    return {"statusCode": 200, "body": "slept"}
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "triggers.yaml").write_text(CONFIG)
    (tmp_path / "slow.py").write_text(HANDLER)
    return tmp_path / "triggers.yaml"


def _journal(tmp_path: Path) -> list[dict[str, Any]]:
    with closing(Store(tmp_path / ".router").connect()) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT record FROM journal ORDER BY seq")]


def _get(url: str, out: dict[str, Any]) -> None:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            out["status"], out["body"] = resp.status, resp.read().decode()
    except Exception as exc:  # noqa: BLE001 - the test reports what the client saw
        out["error"] = repr(exc)


def test_a_first_signal_lets_in_flight_invocations_finish_and_journals_them(tmp_path: Path, daemon: type) -> None:
    d = daemon(_project(tmp_path))
    base = d.wait_for(r"(http://127\.0\.0\.1:\d+)/slow").group(1)
    endpoint = d.wait_for(r"AWS endpoint\s+(http://127\.0\.0\.1:\d+)").group(1)
    d.wait_for(r"^router ready")
    client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    client.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps({"sleep": 8.0}))
    client.close()
    seen: dict[str, Any] = {}
    request = threading.Thread(target=_get, args=(f"{base}/slow", seen))
    request.start()
    deadline = time.monotonic() + 30
    while sum("started" in line for line in d.lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both invocations running
    assert d.stop(signal.SIGINT, timeout=60) == 0, "\n".join(d.lines)
    request.join(30)
    assert seen == {"status": 200, "body": "slept"}, "\n".join(d.lines)
    records = _journal(tmp_path)
    assert sorted(r["source"] for r in records) == ["http", "lambda-api"], records
    assert all(r["status"] == "ok" for r in records)
    assert "router stopped" in d.lines[-1] and "queued event(s) kept" not in d.lines[-1]


def test_a_second_signal_stops_at_once(tmp_path: Path, daemon: type) -> None:
    config = _project(tmp_path)
    config.write_text(CONFIG.replace("timeout: 20", "timeout: 120"))
    d = daemon(config)
    base = d.wait_for(r"(http://127\.0\.0\.1:\d+)/slow").group(1)
    endpoint = d.wait_for(r"AWS endpoint\s+(http://127\.0\.0\.1:\d+)").group(1)
    d.wait_for(r"^router ready")
    client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    client.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps({"sleep": 100}))
    client.close()
    seen: dict[str, Any] = {}
    (tmp_path / "slow.py").write_text(HANDLER.replace('event.get("sleep") or 8.0', "100"))
    request = threading.Thread(target=_get, args=(f"{base}/slow", seen))
    request.start()
    deadline = time.monotonic() + 30
    while sum("started" in line for line in d.lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    d.proc.send_signal(signal.SIGINT)
    d.wait_for("router stopping")
    assert d.stop(signal.SIGTERM, timeout=20) == 0, "\n".join(d.lines)  # (not the 125 s a drain may take)
    request.join(30)
    assert seen.get("status") == 500 or "500" in seen.get("error", ""), seen  # the HTTP API's error answer
    assert "second signal: stopping now" in "\n".join(d.lines)
    assert "1 queued event(s) kept for the next start" in d.lines[-1]  # the event: not an attempt spent
    [record] = _journal(tmp_path)
    assert (record["source"], record["status"]) == ("http", "crashed")
