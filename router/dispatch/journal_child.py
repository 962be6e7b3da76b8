"""The journal process: writes journal rows into the state file, off the daemon's interpreter.

Run as ``python -I journal_child.py FD STATE_FILE`` by :mod:`.journal_writer`, standard library
only (``-I``: this folder's ``queue.py`` must not shadow the standard one). Frames on the
socketpair FD are ``!IB`` (payload length, kind) then a ``marshal`` payload:

- ``I`` (first): the Invocation's field names, the journal's columns (among them), the
  INSERT up to VALUES, and one row's placeholders.
- ``J``: journal rows, each ``(values, event_json, record, event)``: the Invocation's field
  values but the event (in the ``I`` order), the event's JSON when the runtime encoded it,
  the whole record's JSON when the parent had to make it itself (values marshal cannot
  carry), and the event when there is no JSON of it. The record is made here, as
  ``Invocation.to_json`` makes it.
- ``X``: statements to run, ``[(sql, params), ...]`` (pruning).
- ``S``: sync. Everything before it is committed, then ``A`` and the same payload go back.

Everything that arrived together is one transaction. A row that cannot be written is reported
back in an ``E`` frame (the parent logs it) and the others are kept. At end of file the last
transaction commits and the process exits: a daemon killed with SIGKILL loses nothing it sent.
"""

from __future__ import annotations

import json
import marshal
import socket
import sqlite3
import struct
import sys
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct("!IB")
INIT, ROWS, EXECUTE, SYNC, ACK, ERROR = (ord(c) for c in "IJXSAE")


class Journal:
    """Applies frames to a connection; ``report(message)`` is told what could not be written.
    (The daemon uses it in-process too, when this process cannot run.)"""

    def __init__(self, conn: sqlite3.Connection, report: Callable[[str], None]) -> None:
        self.conn = conn
        self.report = report
        self.fields: tuple[str, ...] = ()
        self.insert = ""
        self.row_sql = ""
        self.columns: tuple[str, ...] = ()
        self.picks: tuple[int, ...] = ()
        self.event_at = -1

    def init(self, payload: bytes) -> None:
        self.fields, self.columns, self.insert, self.row_sql = marshal.loads(payload)
        self.event_at = self.fields.index("event")
        rest = [f for f in self.fields if f != "event"]  # the order of a row's values
        self.picks = tuple(rest.index(c) for c in self.columns)

    def encode(self, values: tuple[Any, ...], event_json: str | None, event: Any) -> str:
        full = list(values)
        full.insert(self.event_at, event)
        out = dict(zip(self.fields, full, strict=True))
        out["ok"] = out["status"] == "ok"
        if event_json is None:
            return json.dumps(out, default=str)
        out["event"] = None
        text = json.dumps(out, default=str)
        # the first '"event": null' is this key: the keys before it are escaped strings
        return text.replace('"event": null', '"event": ' + event_json, 1)

    def rows(self, payload: bytes) -> None:
        params: list[Any] = []
        count = 0
        for values, event_json, record, event in marshal.loads(payload):
            try:
                if record is None:
                    record = self.encode(values, event_json, event)
            except (TypeError, ValueError) as exc:
                self.error(f"cannot journal invocation {values[0]}: {exc}")
                continue
            params.extend([values[i] for i in self.picks])
            params.append(record)
            count += 1
            if count == 64:
                self.write(params, count)
                params, count = [], 0
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
                    elif kind == SYNC:
                        acks.append(payload)
                except Exception as exc:  # a frame this process cannot read: skip it, say so
                    self.error(f"journal process: a {chr(kind)!r} frame failed: {exc!r}")
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
        out.append((kind, bytes(buf[start + 5 : end])))
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
