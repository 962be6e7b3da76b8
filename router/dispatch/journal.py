"""The journal: every invocation attempt (sync or async, every retry), as SPEC's record.

Rows live in the ``journal`` table of the state file; ``prune`` keeps it bounded by
``settings.journal.max_rows`` and ``max_days``, the journal process by ``max_mb``. A row keeps
the last :data:`LOG_KEEP` bytes of a log, and an event or result only up to Lambda's payload
limits (see :mod:`.journal_child`: a string in its place, ``extra["journal_cut"]``). Dead
letters (async events that failed with no on-failure destination, or whose destination
failed) live in ``dead_letters``.
Functions here take a connection: the dispatcher runs them on its writer thread, the
``history`` and ``replay`` commands on their own connection.
"""

from __future__ import annotations

import json
import logging
import marshal
import sqlite3
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..errors import InvocationError
from ..invocation import FIELDS, Invocation, _encode_other, bytes_record
from .journal_child import CUT, Journal, Records, prune_to_size

log = logging.getLogger(__name__)


class UnknownInvocation(InvocationError):
    """No journaled invocation and no dead letter has that id."""


class NotReplayable(InvocationError):
    """The journal did not keep that invocation's event whole."""


# What one row keeps. Logs: the last 256 KB, as a CloudWatch log event was capped (PutLogEvents:
# "Each log event can be no larger than 256 KB", 1 MB in the current page; Lambda still cuts a
# logged error at 256 KB, "Truncated by Lambda"). Events
# and results: Lambda's payload limits (quotas: 6 MB each for synchronous invocations, the larger
# of the two kinds; an async event is refused over 1 MB before it is queued).
LOG_KEEP = 256 * 1024
EVENT_KEEP = 6 * 1024 * 1024
RESULT_KEEP = 6291556  # the response limit Lambda's Function.ResponseSizeTooLarge names


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


def encode_rows(invs: list[Invocation]) -> bytes:
    """``invs`` as the journal process takes them (``journal_child``'s ``J`` frame)."""
    rows = [_row(inv) for inv in invs]
    try:
        return marshal.dumps(rows)
    except ValueError:  # a value marshal cannot carry (a dataclass in a result ...): per row
        plain = [_plain_row(inv, row) for inv, row in zip(invs, rows, strict=True)]
        return marshal.dumps([row for row in plain if row is not None])


# the record's fields but the event, which travels as its JSON when the runtime encoded it
_FIELDS = tuple(f for f in FIELDS if f != "event")
_values = attrgetter(*_FIELDS)
_LOGS_AT = _FIELDS.index("logs")
_RESULT_AT = _FIELDS.index("result")
# what the journal process is told first (its ``I`` frame)
WIRE_INIT = marshal.dumps((FIELDS, COLUMNS, INSERT, ROW, (EVENT_KEEP, RESULT_KEEP)))
_records = Records()
_records.init(FIELDS, (EVENT_KEEP, RESULT_KEEP))


def _row(inv: Invocation) -> tuple[Any, ...]:
    event_json = inv._event_json
    values, cut = _values(inv), None
    if type(inv.result) is bytes:  # a Python handler's bytes result: {"$bytes": BASE64}
        values = values[:_RESULT_AT] + (bytes_record(inv.result),) + values[_RESULT_AT + 1 :]
    if len(inv.logs) > LOG_KEEP:  # cut here: a long log never crosses to the journal process
        logs, size = log_tail(inv.logs)
        if size > LOG_KEEP:
            values, cut = values[:_LOGS_AT] + (logs,) + values[_LOGS_AT + 1 :], {"logs": size}
    return (values, event_json, None, None if event_json is not None else inv.event, cut)


def log_tail(text: str, keep: int = LOG_KEEP) -> tuple[str, int]:
    """The last ``keep`` bytes of a log, from a line's start, after a line saying what went;
    and the log's size in bytes."""
    size = len(text) if text.isascii() else len(text.encode())
    if size <= keep:
        return text, size
    tail = text[-keep:].encode()[-keep:].decode("utf-8", "ignore")
    if 0 <= (newline := tail.find("\n", 0, 4096)) < len(tail) - 1:
        tail = tail[newline + 1 :]
    gone = size - len(tail.encode())
    head = f"[router: the journal keeps the last {keep // 1024} KB of a log: {gone} bytes before this were cut]"
    return head + "\n" + tail, size


def _plain_row(inv: Invocation, row: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """``row``, or when marshal cannot carry it, its columns and the record made here."""
    try:
        marshal.dumps(row)
        return row
    except ValueError:
        pass
    values, event_json, _, event, cut = row
    try:
        record = _records.encode(values, event_json, inv.event if event_json is None else None, cut,
                                 default=_encode_other)  # fmt: skip
    except (TypeError, ValueError) as exc:
        log.error("cannot journal %s: %s", inv.summary(), exc)
        return None
    values = tuple(getattr(inv, f) if f in COLUMNS else None for f in _FIELDS)
    return (values, None, record, None, None)


def writer(conn: sqlite3.Connection) -> Journal:
    """The journal process's writer, on ``conn`` in this process (errors are logged)."""
    out = Journal(conn, lambda message: log.error("%s", message))
    out.init(WIRE_INIT)
    return out


def insert(conn: sqlite3.Connection, inv: Invocation) -> None:
    insert_many(conn, [inv])


def insert_many(conn: sqlite3.Connection, invs: list[Invocation]) -> None:
    """Journal ``invs`` in order, as the journal process does (many rows per statement). A
    row that cannot be serialized or written is logged and skipped; the others are kept."""
    writer(conn).rows(encode_rows(invs))


def prune_statements(*, now: float, max_rows: int, max_days: float) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that drop rows older than ``max_days`` and all but the newest ``max_rows``.

    By days: every row before the first one that started within ``max_days`` (rows are appended
    as invocations end, so oldest first; there is no index on ``started_at``: the walk reads the
    rows that go and one more). A row that started earlier than a row before it (it ran longer)
    goes at the next prune, once the rows before it have gone."""
    return [
        ("DELETE FROM journal WHERE seq < coalesce((SELECT seq FROM journal WHERE started_at >= ? "
         "ORDER BY seq LIMIT 1), (SELECT MAX(seq) + 1 FROM journal))", (now - max_days * 86400,)),
        ("DELETE FROM journal WHERE seq <= (SELECT MAX(seq) FROM journal) - ?", (max_rows,)),
    ]


def prune(conn: sqlite3.Connection, *, now: float, max_rows: int, max_days: float, max_mb: float = 0) -> int:
    """Run :func:`prune_statements`, then keep the state file under ``max_mb`` (0: no limit);
    how many rows went."""
    statements = prune_statements(now=now, max_rows=max_rows, max_days=max_days)
    gone = sum(int(conn.execute(sql, params).rowcount) for sql, params in statements)
    return gone + (prune_to_size(conn, int(max_mb * 1048576)) if max_mb else 0)


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
        if "event" in (cut := inv.extra.get(CUT) or {}):
            raise NotReplayable(f"invocation {invocation_id} cannot be replayed: its event ({cut['event']} "
                                f"bytes) was over the journal's {EVENT_KEEP // 1048576} MB limit and was not kept")
        return Replayable(inv.id, inv.function, inv.trigger, inv.event, "journal")
    row = conn.execute(
        "SELECT function, trigger, record FROM dead_letters WHERE id = ?", (invocation_id,)
    ).fetchone()
    if row is not None:
        record = json.loads(row[2])
        return Replayable(invocation_id, row[0], row[1], record.get("requestPayload"), "dead-letter")
    raise UnknownInvocation(f"no invocation or dead letter with id {invocation_id!r} in the journal")
