"""The state file: schema versions, migrations, clear errors."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from router.errors import StartupError
from router.store import MIGRATIONS, SCHEMA_VERSION, Store


def indexes(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_a_new_state_file_has_the_latest_schema(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    with closing(store.connect()) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"queue", "journal", "dead_letters", "checkpoints", "s3_objects"} <= tables
    assert "journal_id" not in indexes(store.path)


def test_an_older_file_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / Store.FILENAME
    with closing(sqlite3.connect(path)) as conn:  # a version 1 file, as the first release wrote it
        conn.executescript(MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO meta VALUES ('k', 'v')")
        conn.commit()
    assert "journal_id" in indexes(path)
    store = Store(tmp_path)
    assert store.schema_version == SCHEMA_VERSION
    assert "journal_id" not in indexes(path)
    with closing(store.connect()) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'k'").fetchone()[0] == "v"


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    Store(tmp_path)
    with closing(sqlite3.connect(tmp_path / Store.FILENAME)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StartupError, match="newer than this router's"):
        Store(tmp_path)


def test_a_state_dir_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StartupError, match="cannot open the state file"):
        Store(tmp_path / "file" / "state")
