"""The state-file writer: group commits, one bad operation failing alone, reads after writes."""

from __future__ import annotations

import sqlite3
from concurrent.futures import wait
from pathlib import Path

import pytest

from router.dispatch.writer import DbWriter, WriterClosed
from router.store import Store


def test_a_burst_is_committed_in_few_transactions_and_a_bad_op_fails_alone(tmp_path: Path) -> None:
    writer = DbWriter(Store(tmp_path))
    writer.start()
    try:
        sql = "INSERT INTO meta (key, value) VALUES (?, ?)"
        futures = [writer.execute(sql, (f"k{i}", "v")) for i in range(500)]
        duplicate = writer.execute(sql, ("k1", "again"))
        later = writer.execute(sql, ("k-last", "v"))
        wait([*futures, duplicate, later])
        assert all(f.exception() is None for f in futures + [later])
        assert isinstance(duplicate.exception(), sqlite3.IntegrityError)
        count = writer.submit(lambda conn: conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0]).result()
        assert count == 501
        assert writer.commits < 500
    finally:
        writer.close()
    with pytest.raises(WriterClosed):
        writer.execute("SELECT 1")


def test_fire_and_forget_writes_are_done_when_close_returns(tmp_path: Path) -> None:
    store = Store(tmp_path)
    writer = DbWriter(store)
    writer.start()
    for i in range(100):
        writer.execute("INSERT INTO meta (key, value) VALUES (?, 'v')", (str(i),), wait=False)
    writer.close()
    conn = store.connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 100
    finally:
        conn.close()
