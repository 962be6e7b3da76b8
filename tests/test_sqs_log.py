"""router/aws_sqs.py's message log: what a restart puts back, whatever order the threads
logged in (a receive can be logged before its message's own line: the send appends the
message, then logs it; the e2e kill -9 test met this under load)."""

from __future__ import annotations

import json
from pathlib import Path

from router.aws_sqs import _live

ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"


def write(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def add(mid: str, count: int = 0) -> dict[str, object]:
    return {"op": "add", "q": ARN, "id": mid, "body": mid, "count": count, "first": None}


def test_a_receive_logged_before_its_message_keeps_its_count(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", add("a"), {"op": "recv", "id": "b", "n": 1, "first": 5}, add("b"),
                {"op": "recv", "id": "a", "n": 1, "first": 6})  # fmt: skip
    assert [(r["id"], r["count"], r["first"]) for r in _live(log, {ARN})] == [("a", 1, 6), ("b", 1, 5)]


def test_a_delete_logged_before_its_message_deletes_it(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", {"op": "recv", "id": "b", "n": 1}, {"op": "del", "id": "b"}, add("b"),
                add("c"))  # fmt: skip
    assert [r["id"] for r in _live(log, {ARN})] == ["c"]


def test_the_usual_order_and_a_later_add_count_are_kept(tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", add("a"), {"op": "recv", "id": "a", "n": 1}, {"op": "recv", "id": "a", "n": 2},
                {"op": "recv", "id": "z", "n": 1}, add("z", count=3))  # fmt: skip
    assert [(r["id"], r["count"]) for r in _live(log, {ARN})] == [("a", 2), ("z", 3)]
