"""The journal process: writes journal rows into the state file, off the daemon's interpreter.

Run as ``python -I journal_child.py FD STATE_FILE`` by :mod:`.journal_writer`, standard library
only (``-I``: this folder's ``queue.py`` must not shadow the standard one). Frames on the
socketpair FD are ``!IB`` (payload length, kind) then a ``marshal`` payload:

- ``I`` (first): the Invocation's field names, the journal's columns (among them), the
  INSERT up to VALUES, one row's placeholders, and the largest event and result a row keeps.
- ``J``: journal rows, each ``(values, event_json, record, event, cut)``: the Invocation's
  field values but the event (in the ``I`` order), the event's JSON when the runtime encoded
  it, the whole record's JSON when the parent had to make it itself (values marshal cannot
  carry), the event when there is no JSON of it, and what the parent cut already (``{"logs":
  bytes}`` or None). The record is made here, as ``Invocation.to_json`` makes it.
- ``X``: statements to run, ``[(sql, params), ...]`` (pruning by rows and days).
- ``Z``: the state file's size limit in bytes (``settings.journal.max_mb``): the oldest rows
  go while the file's used pages exceed it (checked now and after every eighth of it written).
- ``S``: sync. Everything before it is committed, then ``A`` and the same payload go back.

What a row keeps: an event or a result whose JSON is over its limit (Lambda's payload limits)
is replaced by a string saying so, and ``extra["journal_cut"]`` maps what was cut (``event``,
``result``, ``logs``) to its size in bytes; ``router replay`` refuses such an event.

Everything that arrived together is one transaction. A row that cannot be written is reported
back in an ``E`` frame (the parent logs it) and the others are kept. At end of file the last
transaction commits and the process exits: a daemon killed with SIGKILL loses nothing it sent.
"""

from __future__ import annotations

import json
import marshal
import os
import socket
import sqlite3
import struct
import sys
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct("!IB")
INIT, ROWS, EXECUTE, SYNC, ACK, ERROR, SIZE = (ord(c) for c in "IJXSAEZ")
CUT = "journal_cut"  # the key of ``extra`` that lists what a row does not keep whole


def cut_marker(what: str, size: int, limit: int) -> str:
    """What a row keeps instead of an event or result over its limit."""
    return f"[router: this {what} ({size} bytes) is over the journal's limit of {limit} bytes and was not kept]"


class Records:
    """Makes a row's record (the Invocation's JSON), keeping events and results within limits."""

    def __init__(self) -> None:
        self.fields: tuple[str, ...] = ()
        self.event_at = self.result_at = self.extra_at = -1
        self.event_limit = self.result_limit = 0
        self._encoders: dict[Callable[[Any], Any], Callable[[Any], str]] = {}

    def init(self, fields: tuple[str, ...], limits: tuple[int, int]) -> None:
        self.fields = fields
        self.event_at = fields.index("event")
        rest = [f for f in fields if f != "event"]  # the order of a row's values
        self.result_at, self.extra_at = rest.index("result"), rest.index("extra")
        self.event_limit, self.result_limit = limits

    def _encoder(self, default: Callable[[Any], Any]) -> Callable[[Any], str]:
        """``json.dumps(value, default=default)``, its encoder made once (dumps makes one a call)."""
        encode = self._encoders.get(default)
        if encode is None:
            encode = self._encoders[default] = json.JSONEncoder(default=default).encode
        return encode

    def encode(self, values: tuple[Any, ...], event_json: str | None, event: Any,
               cut: dict[str, int] | None, default: Callable[[Any], Any] = str) -> str:  # fmt: skip
        text = self._json(values, event_json, event, cut, default)
        if len(text) <= min(self.event_limit, self.result_limit):
            return text
        cut = dict(cut or {})  # a large record: is its event or its result over its limit?
        event_size = _size(event_json if event_json is not None else json.dumps(event, default=default))
        if event_size > self.event_limit:
            event_json, cut["event"] = json.dumps(cut_marker("event", event_size, self.event_limit)), event_size
        result_size = _size(json.dumps(values[self.result_at], default=default))
        if result_size > self.result_limit:
            values = list(values)  # type: ignore[assignment]
            values[self.result_at] = cut_marker("result", result_size, self.result_limit)  # type: ignore[index]
            cut["result"] = result_size
        return self._json(values, event_json, event, cut, default) if cut else text

    def _json(self, values: tuple[Any, ...], event_json: str | None, event: Any,
              cut: dict[str, int] | None, default: Callable[[Any], Any]) -> str:  # fmt: skip
        full = list(values)
        if cut:
            full[self.extra_at] = {**(full[self.extra_at] or {}), CUT: cut}
        full.insert(self.event_at, event)
        out = dict(zip(self.fields, full, strict=True))
        out["ok"] = out["status"] == "ok"
        encode = self._encoder(default)
        if event_json is None:
            return encode(out)
        out["event"] = None
        text = encode(out)
        # the first '"event": null' is this key: the keys before it are escaped strings
        return text.replace('"event": null', '"event": ' + event_json, 1)


def _size(text: str) -> int:
    """UTF-8 bytes of ``text`` (its length when that cannot reach a limit's quarter of it)."""
    return len(text) if text.isascii() else len(text.encode())


def prune_to_size(conn: sqlite3.Connection, max_bytes: int) -> int:
    """Drop the oldest journal rows while the state file's used pages exceed ``max_bytes``
    (down to nine tenths of it, so a full journal is not pruned on every write). How many went."""
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    target, deleted = max_bytes, 0
    while True:
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        if pages * page_size <= target:
            return deleted
        rows = conn.execute("SELECT count(*) FROM journal").fetchone()[0]
        if not rows:
            return deleted
        sql = "DELETE FROM journal WHERE seq <= (SELECT seq FROM journal ORDER BY seq LIMIT 1 OFFSET ?)"
        deleted += conn.execute(sql, (max(1, rows // 10) - 1,)).rowcount
        target = max_bytes * 9 // 10


class Journal:
    """Applies frames to a connection; ``report(message)`` is told what could not be written.
    (The daemon uses it in-process too, when this process cannot run.)"""

    def __init__(self, conn: sqlite3.Connection, report: Callable[[str], None]) -> None:
        self.conn = conn
        self.report = report
        self.records = Records()
        self.insert = ""
        self.row_sql = ""
        self.columns: tuple[str, ...] = ()
        self.picks: tuple[int, ...] = ()
        self.max_bytes = 0  # the state file's limit (0: none)
        self.written = 0  # bytes of records since its last check

    def init(self, payload: bytes) -> None:
        fields, self.columns, self.insert, self.row_sql, limits = marshal.loads(payload)
        self.records.init(fields, limits)
        rest = [f for f in fields if f != "event"]  # the order of a row's values
        self.picks = tuple(rest.index(c) for c in self.columns)

    def rows(self, payload: bytes) -> None:
        params: list[Any] = []
        count = 0
        for values, event_json, record, event, cut in marshal.loads(payload):
            try:
                if record is None:
                    record = self.records.encode(values, event_json, event, cut)
            except (TypeError, ValueError) as exc:
                self.error(f"cannot journal invocation {values[0]}: {exc}")
                continue
            params.extend([values[i] for i in self.picks])
            params.append(record)
            self.written += len(record)
            count += 1
            if count == 64 or self.over():
                self.write(params, count)
                params, count = [], 0
                if self.over():
                    self.check_size()
        if count:
            self.write(params, count)

    def write(self, params: list[Any], count: int) -> None:
        width = len(self.columns) + 1
        try:
            self.conn.execute(self.insert + ",".join([self.row_sql] * count), params)
        except sqlite3.Error:
            for k in range(count):  # find the bad one, keep the rest
                row = params[k * width : (k + 1) * width]
                try:
                    self.conn.execute(self.insert + self.row_sql, row)
                except sqlite3.Error as exc:
                    self.error(f"cannot journal invocation {row[0]}: {exc}")

    def execute(self, payload: bytes) -> None:
        for sql, params in marshal.loads(payload):
            try:
                self.conn.execute(sql, params)
            except sqlite3.Error as exc:
                self.error(f"journal statement failed: {exc}")

    def limit_size(self, payload: bytes) -> None:
        self.max_bytes = marshal.loads(payload)
        self.check_size()

    def over(self) -> bool:
        """An eighth of the state file's limit written since the last check."""
        return bool(self.max_bytes) and self.written > self.max_bytes // 8

    def check_size(self) -> None:
        self.written = 0
        if self.max_bytes:
            prune_to_size(self.conn, self.max_bytes)

    def error(self, message: str) -> None:
        self.report(message)

    def apply(self, frames: list[tuple[int, bytes]]) -> list[bytes]:
        """Everything in ``frames`` in one transaction; the sync tokens among them."""
        acks: list[bytes] = []
        for kind, payload in frames:  # (first, and outside the transaction: it may fail)
            if kind == INIT:
                self.init(payload)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for kind, payload in frames:
                try:
                    if kind == ROWS:
                        self.rows(payload)
                    elif kind == EXECUTE:
                        self.execute(payload)
                    elif kind == SIZE:
                        self.limit_size(payload)
                    elif kind == SYNC:
                        acks.append(payload)
                except Exception as exc:  # a frame this process cannot read: skip it, say so
                    self.error(f"journal process: a {chr(kind)!r} frame failed: {exc!r}")
            if self.over():
                self.check_size()
        finally:
            self.conn.execute("COMMIT")
        return acks


def frames_of(buf: bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """The complete frames at the head of ``buf``, and how many bytes they took."""
    out: list[tuple[int, bytes]] = []
    start = 0
    while len(buf) - start >= 5:
        length, kind = HEADER.unpack_from(buf, start)
        end = start + 5 + length
        if len(buf) < end:
            break
        with memoryview(buf) as view:  # one copy of a frame, not two
            out.append((kind, bytes(view[start + 5 : end])))
        start = end
    return out, start


def serve(sock: socket.socket, journal: Journal) -> None:
    """Apply what arrives on ``sock`` until end of file. A transaction that fails (the state
    file locked for longer than the busy timeout, the disk full ...) is reported and its rows
    are lost, but its syncs are answered and the process goes on."""
    buf = bytearray()
    while True:
        data = sock.recv(1 << 20)
        if not data:
            return
        buf += data
        frames, used = frames_of(buf)
        if not frames:
            continue
        del buf[:used]
        try:
            acks = journal.apply(frames)
        except sqlite3.Error as exc:
            rows = sum(1 for kind, _ in frames if kind == ROWS)
            journal.error(f"cannot write the journal: {exc} ({rows} batch(es) of rows lost)")
            acks = [payload for kind, payload in frames if kind == SYNC]
            if journal.conn.in_transaction:
                journal.conn.execute("ROLLBACK")
        for token in acks:
            sock.sendall(HEADER.pack(len(token), ACK) + token)


def main() -> None:
    fd, path = int(sys.argv[1]), sys.argv[2]
    try:  # batch work: never preempts the daemon's loop when woken (see runtimes/reaper.py's batch)
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    sock = socket.socket(fileno=fd)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")

    def report(message: str) -> None:
        data = message.encode("utf-8", "replace")
        sock.sendall(HEADER.pack(len(data), ERROR) + data)

    serve(sock, Journal(conn, report))
    conn.close()


if __name__ == "__main__":
    main()
