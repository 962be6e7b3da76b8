"""One SQLite file in ``state_dir``: the durable async queue, the journal, dead letters,
stream checkpoints and the S3 watcher's view of its folders.

The schema is versioned: ``MIGRATIONS`` is an append-only list; a store opened on an
older file applies the missing steps in one transaction. Each owning module keeps its
own SQL beside its logic (dispatch: queue, journal, dead letters; sources.s3:
s3_objects; sources.dynamodb: checkpoints); this module only owns the file and schema.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from .errors import StartupError

MIGRATIONS: list[str] = [
    # 1: the initial schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    -- the durable async queue (dispatch.async_): one row per accepted event
    CREATE TABLE queue (
        id TEXT PRIMARY KEY,            -- the event id (also the first attempt's request id)
        function TEXT NOT NULL,
        trigger TEXT,
        source TEXT NOT NULL,
        event TEXT NOT NULL,            -- JSON
        accepted_at REAL NOT NULL,      -- epoch seconds
        due_at REAL NOT NULL,           -- not before (retry delays, throttling backoff)
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'queued',   -- queued | running
        lease_until REAL,
        last_error TEXT                 -- JSON of the last error payload
    );
    CREATE INDEX queue_due ON queue (state, due_at);

    -- every invocation attempt (sync or async): SPEC's invocation record
    CREATE TABLE journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,               -- the request id
        function TEXT NOT NULL,
        trigger TEXT,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        started_at REAL NOT NULL,
        duration_ms REAL NOT NULL,
        init_duration_ms REAL,
        event_id TEXT,
        record TEXT NOT NULL            -- the whole Invocation as JSON
    );
    CREATE INDEX journal_function ON journal (function, seq);
    CREATE INDEX journal_id ON journal (id);
    CREATE INDEX journal_started ON journal (started_at);

    -- async events that ended in failure with no destination, or whose destination failed
    CREATE TABLE dead_letters (
        id TEXT PRIMARY KEY,
        function TEXT NOT NULL,
        trigger TEXT,
        failed_at REAL NOT NULL,
        condition TEXT NOT NULL,        -- RetriesExhausted | EventAgeExceeded | ...
        record TEXT NOT NULL            -- the AWS invocation record JSON
    );

    -- event source mapping checkpoints (sources.dynamodb)
    CREATE TABLE checkpoints (
        mapping TEXT NOT NULL,          -- trigger name
        stream_arn TEXT NOT NULL,
        shard_id TEXT NOT NULL,
        sequence_number TEXT NOT NULL,  -- the last one processed
        updated_at REAL NOT NULL,
        PRIMARY KEY (mapping, stream_arn, shard_id)
    );

    -- what the S3 watcher last saw in each folder (catch-up and overflow reconciliation)
    CREATE TABLE s3_objects (
        trigger TEXT NOT NULL,
        key TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        etag TEXT NOT NULL,
        sequencer INTEGER NOT NULL,
        PRIMARY KEY (trigger, key)
    );
    """,
    # 2: no index on journal.id: request ids are random, so each row dirtied a random index
    # page (17 us of a 31 us journal write per HTTP request). Only `router replay ID` looks a
    # row up by id; it scans newest first (seq DESC) over at most settings.journal.max_rows.
    """
    DROP INDEX IF EXISTS journal_id;
    """,
    # 3: the folders each s3 trigger has watched: only the files present the very first time a
    # folder is watched are skipped without catch_up; later, whatever changed while router was
    # stopped is news (a file written into a watched folder fires exactly one event). Folders
    # with state from before this migration count as watched.
    """
    CREATE TABLE s3_folders (
        trigger TEXT PRIMARY KEY,
        folder TEXT NOT NULL,
        first_watched REAL NOT NULL
    );
    INSERT INTO s3_folders (trigger, folder, first_watched)
        SELECT DISTINCT trigger, '', 0 FROM s3_objects;
    """,
    # 4: the dashboard's queries over a full journal (100,000 rows): failed attempts newest first,
    # and the attempts of one async event. Both partial: an ok row or a synchronous one (an HTTP
    # request: no event_id) writes no index entry, so the hot path pays nothing for them.
    """
    CREATE INDEX journal_failed ON journal (seq) WHERE status != 'ok';
    CREATE INDEX journal_event ON journal (event_id, seq) WHERE event_id IS NOT NULL;
    """,
    # 5: what caused a queued event (a function's write through the embedded AWS: its name, the
    # request id and the chain's counts, router/lineage.py), so a restart keeps the lineage and the
    # recursion count of the events it finds queued. NULL: no known cause.
    """
    ALTER TABLE queue ADD COLUMN cause TEXT;
    """,
    # 6: no index on journal.started_at: only pruning by ``max_days`` read it, and keeping it cost
    # a third of a row's insert (~6 of ~22 us, bench/RESULTS.md). Rows are appended in the order
    # invocations end, so the oldest are first: pruning walks from the first row to the first
    # one young enough (router/dispatch/journal.py, prune_statements).
    """
    DROP INDEX IF EXISTS journal_started;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """The state file. ``connect()`` gives a new connection (one per thread or task owner)."""

    FILENAME = "router.sqlite3"

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / self.FILENAME
        self._lock = threading.Lock()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with closing(self.connect()) as conn:
                self._migrate(conn)
        except (OSError, sqlite3.Error) as exc:
            raise StartupError(f"cannot open the state file {self.path}: {exc}") from None

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable against a process kill
        conn.execute("PRAGMA busy_timeout=30000")
        conn.row_factory = sqlite3.Row
        return conn

    @property
    def schema_version(self) -> int:
        with closing(self.connect()) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current > SCHEMA_VERSION:
                raise StartupError(
                    f"the state file {self.path} has schema version {current}, newer than this "
                    f"router's {SCHEMA_VERSION}; upgrade router or remove the file"
                )
            if current == SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                for step in MIGRATIONS[current:]:
                    for statement in step.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
