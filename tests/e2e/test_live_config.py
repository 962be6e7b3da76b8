"""Editing triggers.yaml while `router run` runs (issue 16): a valid edit is applied live, an
invalid one is reported with file:line:col and the running config stays in force."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': event['rawPath']}\n"
BEFORE = """
settings: {http: {port: 0}, aws: {port: 0}}
functions:
  web: {handler: app.handler}
  tick: {handler: app.handler}
triggers:
  - {name: one, function: web, http: "GET /one"}
  - {name: beat, function: tick, schedule: "rate(1 hour)"}
"""
AFTER = """
settings: {http: {port: 0}, aws: {port: 0}}
functions:
  web: {handler: app.handler}
triggers:
  - {name: one, function: web, http: "GET /one"}
  - {name: two, function: web, http: "GET /two"}
"""


def save(path: Path, text: str) -> None:
    time.sleep(0.05)  # a new mtime even on coarse clocks
    path.write_text(text)


def test_a_valid_edit_is_applied_and_an_invalid_one_is_not(tmp_path: Path, daemon: type) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    config = tmp_path / "triggers.yaml"
    config.write_text(BEFORE)
    d = daemon(config)
    base = d.wait_for(r"http\s+GET\s+(http://127\.0\.0\.1:\d+)/one").group(1)
    d.wait_for("router ready")
    assert httpx.get(f"{base}/one").text == "/one"
    assert httpx.get(f"{base}/two").status_code == 404
    first = httpx.get(f"{base}/one")
    assert first.status_code == 200

    save(config, AFTER)
    line = d.wait_for(r"triggers\.yaml reloaded: .*").group(0)
    assert "-function tick" in line and "+http two" in line and "-schedule beat" in line
    assert httpx.get(f"{base}/two").text == "/two"  # the same server and port
    assert httpx.get(f"{base}/one").text == "/one"

    save(config, AFTER.replace('"GET /two"', '"GET /two", timeout: 0'))
    d.wait_for(r"triggers\.yaml changed but is not valid")
    d.wait_for(r"triggers\.yaml:\d+:\d+: triggers\[1\]")
    assert httpx.get(f"{base}/two").text == "/two"  # still served by the running config
    assert d.stop(signal.SIGTERM) == 0
