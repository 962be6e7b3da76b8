"""`router history`: the journal as a table or JSON, filtered by function, status, last N."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

from click.testing import CliRunner

from router.cli import main
from router.config import load_config
from router.dispatch import journal
from router.invocation import Invocation
from router.store import Store

CONFIG = """
version: 1
functions:
  work: {handler: work.handler}
  other: {handler: work.handler}
"""


def setup(tmp_path: Path) -> Path:
    path = tmp_path / "triggers.yaml"
    path.write_text(CONFIG)
    (tmp_path / "work.py").write_text("def handler(event, context):\n    return event\n")
    config = load_config(path)
    with closing(Store(config.state_dir).connect()) as conn:
        for i in range(30):
            status = "error" if i % 10 == 9 else "ok"
            journal.insert(conn, Invocation(
                id=f"id-{i:02d}", function="work" if i % 2 == 0 else "other", trigger="uploads",
                source="s3", event={"i": i}, status=status, attempt=1, started_at=1_700_000_000 + i,
                duration_ms=1.5, error={"errorType": "KeyError", "errorMessage": "'k'"} if status == "error" else None,
            ))  # fmt: skip
    return path


def test_the_last_20_oldest_first_as_a_table(tmp_path: Path) -> None:
    path = setup(tmp_path)
    result = CliRunner().invoke(main, ["history", "-c", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["TIME", "ID", "FUNCTION", "TRIGGER", "SOURCE", "TRY", "STATUS", "DURATION", "DETAIL"]
    assert len(lines) == 21
    assert "id-10" in lines[1] and "id-29" in lines[-1]
    assert "KeyError: 'k'" in next(line for line in lines if "id-19" in line)


def test_filters_and_json(tmp_path: Path) -> None:
    path = setup(tmp_path)
    result = CliRunner().invoke(main, ["history", "-c", str(path), "--function", "other", "--status", "error",
                                       "--last", "5", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["id"] for r in records] == ["id-09", "id-19", "id-29"]
    assert all(r["function"] == "other" and r["ok"] is False for r in records)
    assert records[0]["event"] == {"i": 9}


def test_no_state_file_yet_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "triggers.yaml"
    path.write_text(CONFIG)
    (tmp_path / "work.py").write_text("def handler(event, context):\n    return event\n")
    result = CliRunner().invoke(main, ["history", "-c", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert not (tmp_path / ".router").exists()


def test_bad_options_exit_2(tmp_path: Path) -> None:
    path = setup(tmp_path)
    for args in (["--status", "weird"], ["--last", "0"]):
        result = CliRunner().invoke(main, ["history", "-c", str(path), *args])
        assert result.exit_code == 2, args
    result = CliRunner().invoke(main, ["history", "-c", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "config file not found" in result.output


def test_a_timeout_shows_its_cause_and_wide_shows_everything(tmp_path: Path) -> None:
    path = tmp_path / "triggers.yaml"
    path.write_text(CONFIG)
    (tmp_path / "work.py").write_text("def handler(event, context):\n    return event\n")
    config = load_config(path)
    rid = "221ec608-4775-4ff4-abdd-751d6961b667"
    long = "x" * 100
    with closing(Store(config.state_dir).connect()) as conn:
        journal.insert(conn, Invocation(
            id=rid, function="work", trigger=None, source="invoke", event={}, status="timeout", attempt=1,
            started_at=1_700_000_000, duration_ms=3000.0,
            error={"errorType": "Sandbox.Timedout",
                   "errorMessage": f"RequestId: {rid} Error: Task timed out after 3.00 seconds"}))  # fmt: skip
        journal.insert(conn, Invocation(
            id="id-2", function="work", trigger=None, source="invoke", event={}, status="error", attempt=1,
            started_at=1_700_000_001, duration_ms=1.0, error={"errorType": "ValueError", "errorMessage": long}))
    lines = CliRunner().invoke(main, ["history", "-c", str(path)]).output.splitlines()
    assert lines[1].endswith("Sandbox.Timedout: Task timed out after 3.00 seconds")
    assert lines[2].endswith("ValueError: " + "x" * 45 + "...")
    wide = CliRunner().invoke(main, ["history", "-c", str(path), "--wide"]).output.splitlines()
    assert wide[2].endswith("ValueError: " + long)
