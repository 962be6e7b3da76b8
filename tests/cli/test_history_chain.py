"""`router history --chain ID` over a seeded journal: branches, retries, unknown ids."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from click.testing import CliRunner

from router.cli import main
from router.config import load_config
from router.dispatch import journal
from router.invocation import Invocation
from router.store import Store


def seed(tmp_path: Path) -> Path:
    path = tmp_path / "triggers.yaml"
    path.write_text("version: 1\nfunctions:\n  a: {handler: w.h}\n  b: {handler: w.h}\n  c: {handler: w.h}\n")
    (tmp_path / "w.py").write_text("def h(event, context):\n    return event\n")
    rows = [  # (id, function, status, attempt, cause request id)
        ("r0", "a", "ok", 1, None), ("r1", "b", "error", 1, "r0"), ("r1", "b", "ok", 2, "r0"),
        ("r2", "c", "ok", 1, "r0"), ("r3", "c", "timeout", 1, "r1"), ("x9", "c", "ok", 1, "elsewhere"),
        ("r4", "a", "ok", 1, None),
    ]  # fmt: skip
    with closing(Store(load_config(path).state_dir).connect()) as conn:
        for n, (rid, fn, status, attempt, parent) in enumerate(rows):
            extra = {"cause": {"function": "x", "request_id": parent}} if parent else {}
            error = None if status == "ok" else {"errorType": "Boom", "errorMessage": "no"}
            journal.insert(conn, Invocation(id=rid, function=fn, trigger=f"{fn}-s3", source="s3", status=status,
                                            attempt=attempt, started_at=1_700_000_000 + n, duration_ms=1.0,
                                            error=error, extra=extra))  # fmt: skip
    return path


def test_the_tree_below_an_invocation(tmp_path: Path) -> None:
    path = seed(tmp_path)
    result = CliRunner().invoke(main, ["history", "-c", str(path), "--chain", "r0"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(" [")[0] for line in lines] == ["a", "├─ b", "│  └─ c", "└─ c"]
    assert "r1 ok, 2 attempts" in lines[1] and "r3 timeout (Boom)" in lines[2] and "r2 ok" in lines[3]
    leaf = CliRunner().invoke(main, ["history", "-c", str(path), "--chain", "r4"])
    assert leaf.exit_code == 0 and leaf.output.splitlines() == [leaf.output.strip()] and "r4 ok" in leaf.output


def test_an_unknown_id_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["history", "-c", str(seed(tmp_path)), "--chain", "nope"])
    assert result.exit_code == 1 and "no invocation 'nope'" in result.output


def test_history_details_name_the_cause(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["history", "-c", str(seed(tmp_path)), "--wide"])
    assert "caused by x r0" in result.output and "caused by x elsewhere" in result.output
