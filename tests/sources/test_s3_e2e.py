"""The S3 source end to end: a real Router (observer, embedded AWS, durable queue, Python
workers); the handler reads each object back through boto3."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model

from router import Router

HANDLER = Path(__file__).resolve().parents[1] / "fixtures" / "s3"

pytestmark = pytest.mark.slow


def router(tmp_path: Path, s3: str = "") -> Router:
    text = f"""
version: 1
functions:
  reader: {{handler: handler.handler, code: {HANDLER}, timeout: 10}}
triggers:
  - name: up
    function: reader
    s3: {{dir: drop/up, bucket: uploads, events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]{s3}}}
"""
    return Router.from_text(text, tmp_path)


def result(inv: Any) -> dict[str, Any]:
    assert inv.ok, inv.error
    S3Model.model_validate(inv.event)
    (item,) = inv.result
    assert isinstance(item, dict)
    return item


def test_the_handler_reads_the_dropped_bytes_back(tmp_path: Path) -> None:
    data = os.urandom(5000)
    with router(tmp_path) as r:
        r.drop("up", "images/red flower.jpg", data)
        got = result(r.wait("reader", timeout=30))
        assert got == {
            "event": "ObjectCreated:Put", "bucket": "uploads", "key": "images/red flower.jpg",
            "size": 5000, "md5": hashlib.md5(data).hexdigest(), "head": data[:32].decode("latin-1"),
        }  # fmt: skip
        inv_key = r.invocations("reader")[0].event["Records"][0]["s3"]["object"]["key"]
        assert inv_key == "images/red+flower.jpg"


def test_create_overwrite_rename_delete_through_workers(tmp_path: Path) -> None:
    with router(tmp_path) as r:
        folder = r.app.source("s3").folder("up")
        r.drop("up", "ünï/a.txt", b"one")
        first = r.wait("reader", timeout=30)
        assert result(first)["size"] == 3
        r.drop("up", "ünï/a.txt", b"second")
        second = r.wait("reader", timeout=30)
        assert result(second)["head"] == "second"
        seqs = [
            int(i.event["Records"][0]["s3"]["object"]["sequencer"], 16) for i in (first, second)
        ]
        assert seqs[1] > seqs[0]
        os.rename(folder / "ünï" / "a.txt", folder / "b.txt")
        moved = sorted(
            (x["event"], x["key"]) for x in map(result, r.wait("reader", count=2, timeout=30))
        )
        assert moved == [("ObjectCreated:Put", "b.txt"), ("ObjectRemoved:Delete", "ünï/a.txt")]
        r.remove("up", "b.txt")
        assert result(r.wait("reader", timeout=30)) == {
            "event": "ObjectRemoved:Delete",
            "bucket": "uploads",
            "key": "b.txt",
        }


def test_a_large_file_written_slowly_is_one_invocation(tmp_path: Path) -> None:
    chunk = os.urandom(1 << 20)
    with router(tmp_path) as r:
        folder = r.app.source("s3").folder("up")
        with open(folder / "big.bin", "wb") as f:
            for _ in range(8):
                f.write(chunk)
                f.flush()
        got = result(r.wait("reader", timeout=30))
        assert got["size"] == 8 << 20 and got["md5"] == hashlib.md5(chunk * 8).hexdigest()
        r.drop("up", "marker.txt", b"m")  # everything before it has been handled
        assert result(r.wait("reader", timeout=30))["key"] == "marker.txt"
        assert len(r.invocations("reader")) == 2


def test_a_burst_of_files_is_one_invocation_each(tmp_path: Path) -> None:
    count = 300
    with router(tmp_path, ", prefix: in/") as r:
        folder = r.app.source("s3").folder("up")
        (folder / "in").mkdir()
        for n in range(count):
            (folder / "in" / f"{n:05d}.txt").write_bytes(str(n).encode())
        (folder / "out.txt").write_bytes(b"filtered out")
        invs = r.wait("reader", count=count, timeout=120)
        assert sorted(result(i)["key"] for i in invs) == [f"in/{n:05d}.txt" for n in range(count)]
        r.drop("up", "in/last.txt", b"last")
        assert result(r.wait("reader", timeout=30))["key"] == "in/last.txt"
        assert len(r.invocations("reader")) == count + 1
