"""The journal: every invocation attempt (sync or async, every retry), as SPEC's record.

Rows live in the ``journal`` table of the state file; ``prune`` keeps it bounded by
``settings.journal.max_rows`` and ``max_days``. Dead letters (async events that failed
with no on-failure destination, or whose destination failed) live in ``dead_letters``.
Functions here take a connection: the dispatcher runs them on its writer thread, the
``history`` and ``replay`` commands on their own connection.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import InvocationError
from ..invocation import Invocation

log = logging.getLogger(__name__)


class UnknownInvocation(InvocationError):
    """No journaled invocation and no dead letter has that id."""


@dataclass(frozen=True)
class Replayable:
    """What ``replay`` needs of a past invocation: where and what to run again."""

    id: str
    function: str
    trigger: str | None
    event: Any
    origin: str  # "journal" | "dead-letter"


# the journal's columns that are Invocation fields (then comes ``record``, the whole of it)
COLUMNS = ("id", "function", "trigger", "source", "status", "attempt", "started_at",
           "duration_ms", "init_duration_ms", "event_id")  # fmt: skip
INSERT = f"INSERT INTO journal ({', '.join(COLUMNS)}, record) VALUES "
ROW = "(" + ",".join("?" * (len(COLUMNS) + 1)) + ")"
# rows per INSERT: powers of two, so that few statement shapes exist (each is prepared and
# cached once: a shape per batch size would fill the connection's statement cache with
# large prepared statements); 11 parameters a row stays under SQLite's 32,766 per statement
CHUNKS = (256, 128, 64, 32, 16, 8, 4, 2, 1)
INSERTS = {n: INSERT + ",".join([ROW] * n) for n in CHUNKS}


def _row(inv: Invocation) -> tuple[Any, ...]:
    return (inv.id, inv.function, inv.trigger, inv.source, inv.status, inv.attempt, inv.started_at,
            inv.duration_ms, inv.init_duration_ms, inv.event_id, inv.to_json())  # fmt: skip


def insert(conn: sqlite3.Connection, inv: Invocation) -> None:
    conn.execute(INSERT + ROW, _row(inv))


def insert_many(conn: sqlite3.Connection, invs: list[Invocation]) -> None:
    """Journal ``invs`` in order, many rows per statement (one SQLite step each, where
    ``executemany`` would take one per row). A row that cannot be serialized or written is
    logged and skipped; the others are kept."""
    rows: list[tuple[Any, ...]] = []
    for inv in invs:
        try:
            rows.append(_row(inv))
        except (TypeError, ValueError) as exc:
            log.error("cannot journal %s: %s", inv.summary(), exc)
    start = 0
    while start < len(rows):
        size = next(n for n in CHUNKS if n <= len(rows) - start)
        chunk = rows[start : start + size]
        start += size
        try:
            conn.execute(INSERTS[size], [v for row in chunk for v in row])
        except sqlite3.Error:
            for row in chunk:  # find the bad one, keep the rest
                try:
                    conn.execute(INSERT + ROW, row)
                except sqlite3.Error as exc:
                    log.error("cannot journal invocation %s: %s", row[0], exc)


def prune_statements(*, now: float, max_rows: int, max_days: float) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that drop rows older than ``max_days`` and all but the newest ``max_rows``."""
    return [
        ("DELETE FROM journal WHERE started_at < ?", (now - max_days * 86400,)),
        ("DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?", (max_rows,)),
    ]


def prune(conn: sqlite3.Connection, *, now: float, max_rows: int, max_days: float) -> int:
    """Run :func:`prune_statements`; how many rows went."""
    statements = prune_statements(now=now, max_rows=max_rows, max_days=max_days)
    return sum(int(conn.execute(sql, params).rowcount) for sql, params in statements)


def query(
    conn: sqlite3.Connection,
    *,
    function: str | None = None,
    status: str | None = None,
    last: int | None = None,
    after_seq: int | None = None,
) -> list[Invocation]:
    """Journaled invocations, oldest first: the ``last`` N matching ones, or all of them."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("function", function), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if after_seq is not None:
        where.append("seq > ?")
        params.append(after_seq)
    sql = "SELECT record FROM journal"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC"
    if last is not None:
        sql += f" LIMIT {int(last)}"
    rows = conn.execute(sql, params).fetchall()
    return [Invocation.from_dict(json.loads(row[0])) for row in reversed(rows)]


def find(conn: sqlite3.Connection, invocation_id: str) -> Invocation | None:
    """The latest journaled attempt with that request id."""
    row = conn.execute(
        "SELECT record FROM journal WHERE id = ? ORDER BY seq DESC LIMIT 1", (invocation_id,)
    ).fetchone()
    return Invocation.from_dict(json.loads(row[0])) if row else None


def add_dead_letter(
    conn: sqlite3.Connection, *, event_id: str, function: str, trigger: str | None,
    failed_at: float, condition: str, record: dict[str, Any],
) -> None:  # fmt: skip
    conn.execute(
        "INSERT OR REPLACE INTO dead_letters (id, function, trigger, failed_at, condition, record)"
        " VALUES (?,?,?,?,?,?)",
        (event_id, function, trigger, failed_at, condition, json.dumps(record, default=str)),
    )


def dead_letters(conn: sqlite3.Connection, function: str | None = None) -> list[dict[str, Any]]:
    """Dead letters, oldest first: ``{id, function, trigger, failed_at, condition, record}``."""
    sql = "SELECT id, function, trigger, failed_at, condition, record FROM dead_letters"
    rows = conn.execute(
        sql + (" WHERE function = ?" if function else "") + " ORDER BY failed_at",
        (function,) if function else (),
    ).fetchall()
    return [
        {"id": r[0], "function": r[1], "trigger": r[2], "failed_at": r[3], "condition": r[4],
         "record": json.loads(r[5])}
        for r in rows
    ]  # fmt: skip


def replayable(conn: sqlite3.Connection, invocation_id: str) -> Replayable:
    """The journaled invocation or the dead letter with that id, or UnknownInvocation."""
    inv = find(conn, invocation_id)
    if inv is not None:
        return Replayable(inv.id, inv.function, inv.trigger, inv.event, "journal")
    row = conn.execute(
        "SELECT function, trigger, record FROM dead_letters WHERE id = ?", (invocation_id,)
    ).fetchone()
    if row is not None:
        record = json.loads(row[2])
        return Replayable(invocation_id, row[0], row[1], record.get("requestPayload"), "dead-letter")
    raise UnknownInvocation(f"no invocation or dead letter with id {invocation_id!r} in the journal")
