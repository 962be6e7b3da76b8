"""The durable async queue: its rows in the state file and its in-memory index.

SQLite holds each accepted event until it has ended (success, or failure delivered to a
destination or dead-lettered) so a restart finds it again; the dispatcher schedules from
:class:`DueIndex`, a heap per function ordered by (due time, arrival), and never polls the
file. Row states: ``queued`` (waiting for its due time or a free worker) and ``running``
(an attempt in flight, with a lease); a restart puts ``running`` rows back to ``queued``:
at-least-once delivery, as Lambda's own async queue.
"""

from __future__ import annotations

import heapq
import itertools
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    """One accepted async event."""

    id: str  # the event id, and the request id of every attempt (Lambda keeps it on retries)
    function: str
    trigger: str | None
    source: str
    event: Any
    event_json: str
    accepted_at: float
    due_at: float
    attempts: int = 0  # finished attempts (throttles and daemon crashes do not count)
    last_error: dict[str, Any] | None = None  # the error payload of the last failed attempt
    backoffs: int = field(default=0, compare=False)  # throttles and router's own failures in a row
    cause: dict[str, Any] | None = field(default=None, compare=False)  # the write that caused it (lineage)


class DueIndex:
    """Per function, the queued entries by (due time, arrival)."""

    def __init__(self) -> None:
        self._heaps: dict[str, list[tuple[float, int, Entry]]] = {}
        self._seq = itertools.count()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, entry: Entry) -> None:
        heapq.heappush(self._heaps.setdefault(entry.function, []), (entry.due_at, next(self._seq), entry))
        self._size += 1

    def peek(self, function: str) -> Entry | None:
        heap = self._heaps.get(function)
        return heap[0][2] if heap else None

    def pop(self, function: str) -> Entry:
        entry = heapq.heappop(self._heaps[function])[2]
        self._size -= 1
        return entry

    def functions(self) -> list[str]:
        return [name for name, heap in self._heaps.items() if heap]

    def count(self, function: str) -> int:
        return len(self._heaps.get(function, ()))

    def hurry(self, event_id: str, now: float) -> bool:
        """Make a queued entry due at ``now`` (the dashboard's "retry now"); False if not queued."""
        for heap in self._heaps.values():
            for i, (due, seq, entry) in enumerate(heap):
                if entry.id == event_id:
                    if due > now:
                        entry.due_at = now
                        heap[i] = (now, seq, entry)
                        heapq.heapify(heap)
                    return True
        return False


# ---------------------------------------------------------------------------- SQL


def insert(conn: sqlite3.Connection, entry: Entry) -> None:
    conn.execute(
        "INSERT INTO queue (id, function, trigger, source, event, accepted_at, due_at, attempts,"
        " state, cause) VALUES (?,?,?,?,?,?,?,?, 'queued', ?)",
        (entry.id, entry.function, entry.trigger, entry.source, entry.event_json,
         entry.accepted_at, entry.due_at, entry.attempts, json.dumps(entry.cause) if entry.cause else None),
    )  # fmt: skip


def mark_running(conn: sqlite3.Connection, event_id: str, lease_until: float) -> None:
    conn.execute("UPDATE queue SET state = 'running', lease_until = ? WHERE id = ?", (lease_until, event_id))


def requeue(conn: sqlite3.Connection, entry: Entry) -> None:
    """Back to waiting: after a failed attempt (a retry) or a throttle."""
    conn.execute(
        "UPDATE queue SET state = 'queued', lease_until = NULL, due_at = ?, attempts = ?,"
        " last_error = ? WHERE id = ?",
        (entry.due_at, entry.attempts,
         json.dumps(entry.last_error) if entry.last_error is not None else None, entry.id),
    )  # fmt: skip


def set_due(conn: sqlite3.Connection, event_id: str, due_at: float) -> None:
    conn.execute("UPDATE queue SET due_at = ? WHERE id = ? AND state = 'queued'", (due_at, event_id))


def delete(conn: sqlite3.Connection, event_id: str) -> None:
    conn.execute("DELETE FROM queue WHERE id = ?", (event_id,))


def recover(conn: sqlite3.Connection) -> tuple[list[Entry], int]:
    """At start: leftover ``running`` rows go back to ``queued`` (their process died or was
    stopped mid-attempt); every row is loaded, oldest first. Returns (entries, requeued)."""
    requeued = conn.execute(
        "UPDATE queue SET state = 'queued', lease_until = NULL WHERE state = 'running'"
    ).rowcount
    rows = conn.execute(
        "SELECT id, function, trigger, source, event, accepted_at, due_at, attempts, last_error, cause"
        " FROM queue ORDER BY accepted_at, rowid"
    ).fetchall()
    entries = [
        Entry(id=r[0], function=r[1], trigger=r[2], source=r[3], event=json.loads(r[4]),
              event_json=r[4], accepted_at=r[5], due_at=r[6], attempts=r[7],
              last_error=json.loads(r[8]) if r[8] else None, cause=json.loads(r[9]) if r[9] else None)
        for r in rows
    ]  # fmt: skip
    return entries, int(requeued)

