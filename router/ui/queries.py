"""The dashboard's reads of the state file: paged, indexed queries that stay fast over a full
journal (``settings.journal.max_rows``, 100,000 by default).

- Pages go newest first by ``seq`` (the primary key) with ``before=SEQ`` cursors, never OFFSET.
- A function filter walks ``journal_function (function, seq)``; a failed-status filter the
  partial index ``journal_failed`` (store migration 4; only failed rows are in it); an async
  event's attempts ``journal_event``. A source filter alone walks ``seq`` backwards and stops
  at a page.
- Counts per function read the covering index ``journal_function``, percentiles the newest
  :data:`PERCENTILE_WINDOW` durations of each function.
- The chain of an invocation (``Invocation.extra["cause"]``, :mod:`router.lineage`): its
  causes, looked up backwards from it, and what it caused, looked for in the rows after it (at
  most :data:`CHAIN_WINDOW` rows on).

Functions take a connection; :class:`Reader` runs them on one thread of its own.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..invocation import Invocation
from ..store import Store

T = TypeVar("T")
PAGE_MAX = 500
PERCENTILE_WINDOW = 1000  # newest durations per function behind p50/p99
CHAIN_WINDOW = 20_000  # journal rows after an invocation searched for what it caused
CHAIN_SCAN = 5_000  # at most this many rows with a cause read in that window
CHAIN_NODES = 60  # at most this many invocations in one chain view
FAILED = ("error", "timeout", "crashed", "throttled")


class Reader:
    """One read connection on one thread (SQLite WAL: readers never block the writers)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="router-ui-db")
        self._conn: sqlite3.Connection | None = None

    async def run(self, op: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._call, op)

    def _call(self, op: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            self._conn = self._store.connect()
        return op(self._conn)

    def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        self._pool.submit(shut).result()
        self._pool.shutdown(wait=True)


def summary(inv: Invocation, seq: int | None = None) -> dict[str, Any]:
    """What a row of the live table shows of an invocation."""
    err = inv.error or {}
    cause = inv.extra.get("cause") if isinstance(inv.extra, dict) else None
    return {"seq": seq, "id": inv.id, "function": inv.function, "trigger": inv.trigger, "source": inv.source,
            "status": inv.status, "attempt": inv.attempt, "started_at": inv.started_at,
            "duration_ms": round(inv.duration_ms, 2), "init_duration_ms": inv.init_duration_ms,
            "error": err.get("errorMessage") if err else None, "error_type": err.get("errorType") if err else None,
            "cause": cause, "event_id": inv.event_id}  # fmt: skip


def page(
    conn: sqlite3.Connection, *, function: str | None = None, source: str | None = None,
    status: str | None = None, before: int | None = None, limit: int = 100,
) -> dict[str, Any]:  # fmt: skip
    """One page of invocations, newest first; ``status`` is a status or ``failed`` (any but ok)."""
    where: list[str] = ["1"]
    params: list[Any] = []
    if function:
        where.append("function = ?")
        params.append(function)
    if source:
        where.append("source = ?")
        params.append(source)
    if status:
        where.append("status != 'ok'" if status == "failed" else "status = ?")
        if status != "failed":
            params.append(status)
            if status != "ok":
                where.append("status != 'ok'")  # lets SQLite use the partial index journal_failed
    if before is not None:
        where.append("seq < ?")
        params.append(before)
    limit = max(1, min(int(limit), PAGE_MAX))
    sql = f"SELECT seq, record FROM journal WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT {limit}"  # noqa: S608
    rows = conn.execute(sql, params).fetchall()
    out = [summary(Invocation.from_dict(json.loads(r[1])), r[0]) for r in rows]
    return {"rows": out, "before": out[-1]["seq"] if len(out) == limit else None}


def stats(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per function in the journal: invocations, failed ones, p50/p99 duration, the last one."""
    out: dict[str, dict[str, Any]] = {}
    for function, count, last in conn.execute("SELECT function, COUNT(*), MAX(seq) FROM journal GROUP BY function"):
        out[function] = {"invocations": count, "errors": 0, "last_seq": last}
    for function, count in conn.execute(  # (left to itself, SQLite walks journal_function: every row)
        "SELECT function, COUNT(*) FROM journal INDEXED BY journal_failed WHERE status != 'ok' GROUP BY function"
    ):  # fmt: skip
        if function in out:
            out[function]["errors"] = count
    for function, entry in out.items():
        durations = sorted(r[0] for r in conn.execute(
            f"SELECT duration_ms FROM journal WHERE function = ? ORDER BY seq DESC LIMIT {PERCENTILE_WINDOW}",  # noqa: S608
            (function,)))  # fmt: skip
        entry["p50_ms"] = _percentile(durations, 0.50)
        entry["p99_ms"] = _percentile(durations, 0.99)
        row = conn.execute("SELECT id, status, started_at FROM journal WHERE seq = ?", (entry["last_seq"],)).fetchone()
        if row is not None:
            entry["last"] = {"id": row[0], "status": row[1], "started_at": row[2], "seq": entry["last_seq"]}
    return out


def _percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, -(-int(q * len(sorted_values) * 1000) // 1000))
    return round(sorted_values[min(rank, len(sorted_values)) - 1], 2)


def one(conn: sqlite3.Connection, *, seq: int | None = None, invocation_id: str | None = None) -> dict[str, Any] | None:
    """One invocation with its attempts and its chain; by ``seq``, else the newest with the id."""
    if seq is not None:
        row = conn.execute("SELECT seq, record FROM journal WHERE seq = ?", (seq,)).fetchone()
    else:
        row = conn.execute("SELECT seq, record FROM journal WHERE id = ? ORDER BY seq DESC LIMIT 1",
                           (invocation_id,)).fetchone()  # fmt: skip
    if row is None:
        return None
    inv = Invocation.from_dict(json.loads(row[1]))
    out = inv.to_dict()
    out["seq"] = row[0]
    out["result"] = _plain(out["result"])
    out["attempts"] = attempts(conn, inv, row[0])
    out["chain"] = chain(conn, inv, row[0])
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": len(value)}
    return value


def attempts(conn: sqlite3.Connection, inv: Invocation, seq: int) -> list[dict[str, Any]]:
    """Every journaled attempt of the same async event (retries keep the request id), oldest first."""
    if inv.event_id is None:
        return [summary(inv, seq)]
    rows = conn.execute("SELECT seq, record FROM journal WHERE event_id = ? ORDER BY seq LIMIT 100",
                        (inv.event_id,)).fetchall()  # fmt: skip
    return [summary(Invocation.from_dict(json.loads(r[1])), r[0]) for r in rows]


def chain(conn: sqlite3.Connection, inv: Invocation, seq: int) -> dict[str, Any]:
    """``{"causes": [oldest ... parent], "caused": [tree]}``: what led to this invocation and
    what it led to (each node a summary; ``caused`` nodes carry ``caused`` in turn)."""
    causes: list[dict[str, Any]] = []
    at, current = seq, inv
    while len(causes) < 20:
        cause = current.extra.get("cause") or {}
        origin = cause.get("request_id") or current.extra.get("replay_of")
        if not origin:
            if cause.get("function"):  # a write whose invocation was not known (several ran)
                causes.append({"function": cause["function"], "id": None, "unknown": True})
            break
        row = conn.execute("SELECT seq, record FROM journal WHERE id = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
                           (origin, at)).fetchone()  # fmt: skip
        if row is None:
            causes.append({"id": origin, "function": cause.get("function"), "missing": True})
            break
        at, current = row[0], Invocation.from_dict(json.loads(row[1]))
        causes.append(summary(current, at))
    return {"causes": list(reversed(causes)), "caused": _caused(conn, inv.id, seq)}


def _caused(conn: sqlite3.Connection, request_id: str, seq: int) -> list[dict[str, Any]]:
    """The tree of what ``request_id`` caused: one walk over the :data:`CHAIN_WINDOW` rows after
    it, reading only rows that name a cause or a replayed invocation."""
    rows = conn.execute(
        "SELECT seq, record FROM journal WHERE seq > ? AND seq <= ? "
        "AND (instr(record, '\"cause\"') > 0 OR instr(record, '\"replay_of\"') > 0) ORDER BY seq LIMIT ?",
        (seq, seq + CHAIN_WINDOW, CHAIN_SCAN),
    ).fetchall()
    children: dict[str, list[tuple[int, Invocation, bool]]] = {}
    for child_seq, record in rows:
        child = Invocation.from_dict(json.loads(record))
        parent = (child.extra.get("cause") or {}).get("request_id")
        replay_of = child.extra.get("replay_of")
        for origin, replay in ((parent, False), (replay_of, True)):
            if isinstance(origin, str) and origin != child.id:
                children.setdefault(origin, []).append((child_seq, child, replay))
    budget = [CHAIN_NODES]

    def tree(of: str, depth: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for child_seq, child, replay in children.get(of, ()):
            if child.id in seen or budget[0] <= 0 or depth >= 8:  # a retry of an event already listed
                continue
            seen.add(child.id)
            budget[0] -= 1
            node = summary(child, child_seq)
            node["replay"] = replay
            node["caused"] = tree(child.id, depth + 1)
            out.append(node)
        return out

    return tree(request_id, 0)


def queued(conn: sqlite3.Connection, limit: int = 200) -> list[dict[str, Any]]:
    """Async events waiting (queued, delayed for a retry, or running), soonest first."""
    rows = conn.execute(
        "SELECT id, function, trigger, source, accepted_at, due_at, attempts, state, last_error FROM queue "
        f"ORDER BY due_at LIMIT {int(limit)}"  # noqa: S608
    ).fetchall()
    return [{"id": r[0], "function": r[1], "trigger": r[2], "source": r[3], "accepted_at": r[4], "due_at": r[5],
             "attempts": r[6], "state": r[7], "last_error": json.loads(r[8]) if r[8] else None}
            for r in rows]  # fmt: skip


def dead_letters(conn: sqlite3.Connection, limit: int = 200) -> list[dict[str, Any]]:
    """Dead letters, newest first, with their error and the event."""
    rows = conn.execute(
        "SELECT id, function, trigger, failed_at, condition, record FROM dead_letters "
        f"ORDER BY failed_at DESC LIMIT {int(limit)}"  # noqa: S608
    ).fetchall()
    out = []
    for r in rows:
        record = json.loads(r[5])
        payload = record.get("responsePayload") if isinstance(record, dict) else None
        out.append({"id": r[0], "function": r[1], "trigger": r[2], "failed_at": r[3], "condition": r[4],
                    "error": payload, "event": record.get("requestPayload") if isinstance(record, dict) else None,
                    "attempts": (record.get("requestContext") or {}).get("approximateInvokeCount")
                    if isinstance(record, dict) else None})  # fmt: skip
    return out


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {"queued": conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0],
            "dead_letters": conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]}  # fmt: skip
