"""Journal rows leave the daemon's interpreter: the loop batches them, a process writes them.

Every invocation is journaled. Writing a row costs its record's JSON and the SQLite insert,
about 17 us, nearly all of it holding the interpreter lock the event loop needs: under HTTP
load that was a fifth of the loop's time, and the writer thread's turns at the lock stalled
the loop for hundreds of microseconds at a time. So the loop only collects rows for
``LINGER_S`` and ``marshal``s them (under 1 us a row) for a child process
(:mod:`.journal_child`) that makes the records and inserts them on its own connection.

Who sends them: the loop itself, with one non-blocking ``send`` when the thread is idle (the
steady state under load: a batch fits the socket's buffer); otherwise, and for everything else
(syncs, statements, large batches, the rest of a batch the socket did not take, the child's
start and failure), the thread, in order. The loop used to hand every batch to the thread, and
each hand-over cost the loop turns at the interpreter lock with it: ~8 us a request at 7,000
HTTP requests a second on two cores (bench/RESULTS.md). The thread also reads the child's error
reports, at its next send or within ``IDLE_CHECK_S``.

Rows are fire-and-forget. ``sync()`` is the barrier: its future resolves once every row
appended before it is committed; ``history`` and ``replay`` pass it before they read. When
the process cannot start, or exits, the thread writes the rows itself with the same code
(:class:`.journal_child.Journal`), and says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import marshal
import socket
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..invocation import Invocation
from ..store import Store
from . import journal
from .journal_child import ACK, ERROR, EXECUTE, HEADER, INIT, ROWS, SIZE, SYNC, Journal, frames_of

log = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("journal_child.py")
LINGER_S = 0.005  # how long the loop collects rows before it hands them over
CLOSE_TIMEOUT_S = 30.0
BIG = 1 << 16  # a payload this large is sent alone rather than copied into the batch
DIRECT_MAX = 1 << 18  # a batch up to this size the loop may send itself (larger: the thread)
IDLE_CHECK_S = 1.0  # how often an idle thread reads the journal process's error reports
RAW = -1  # the rest of a frame the loop began to send: (bytes, the whole item)

Item = tuple[int, Any]  # (ROWS | EXECUTE, marshalled payload), (SYNC, Future) or (RAW, (bytes, Item))


class JournalWriter:
    """The journal's batching (on the loop), thread and process; see the module docstring."""

    def __init__(self, store: Store, *, name: str = "router-journal") -> None:
        self.store = store
        self._name = name
        self._rows: list[Invocation] = []  # the loop's, until the next hand-over
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._items: list[Item] = []  # handed over, for the thread
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False  # the socket is being written (by the thread or the loop): the other waits
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._here: Journal | None = None  # when this thread writes (no process)
        self._tokens = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the thread; rows are appended on ``loop``'s thread (others are sent there)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._closed

    @property
    def pid(self) -> int | None:
        """The journal process's pid (None before its first batch, or when it is not used)."""
        return self._proc.pid if self._proc is not None and self._sock is not None else None

    # ------------------------------------------------------------------ the loop's side

    def append(self, inv: Invocation) -> None:
        """Journal ``inv`` (within ``LINGER_S``; ``sync`` waits for it). Any thread."""
        if threading.get_ident() != self._loop_thread:
            assert self._loop is not None
            if self._loop.is_running():
                self._loop.call_soon_threadsafe(self.append, inv)
            else:  # no loop to collect it: alone
                self._hand_over((ROWS, journal.encode_rows([inv])))
            return
        self._rows.append(inv)
        if self._timer is None:
            assert self._loop is not None
            self._timer = self._loop.call_later(LINGER_S, self.flush)

    def flush(self) -> None:
        """Hand the rows collected so far to the thread (on the loop's thread)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, self._rows = self._rows, []
        if rows:
            self._send_or_hand_over((ROWS, journal.encode_rows(rows)))

    def execute(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run ``statements`` on the journal's connection, after the rows appended before
        (fire and forget: failures are logged). Any thread."""
        self._after_rows((EXECUTE, marshal.dumps(statements)))

    def limit_size(self, max_bytes: int) -> None:
        """Keep the state file under ``max_bytes``: the oldest rows go (now, and whenever an
        eighth of it was written since). Any thread."""
        self._after_rows((SIZE, marshal.dumps(max_bytes)))

    def sync(self) -> Future[None]:
        """A future resolved once every row appended before this call is committed. Any
        thread; on the loop's own, the rows go at once and the future resolves from the
        journal's thread (so waiting on it blocking is safe there too)."""
        fut: Future[None] = Future()
        if not self.running:
            fut.set_result(None)
        else:
            self._after_rows((SYNC, fut))
        return fut

    def _after_rows(self, item: Item) -> None:
        """Hand ``item`` over after the rows the loop holds (on the loop's thread)."""
        if threading.get_ident() != self._loop_thread:
            assert self._loop is not None
            if self._loop.is_running():
                try:
                    self._loop.call_soon_threadsafe(self._after_rows, item)
                    return
                except RuntimeError:  # closed meanwhile: it holds nothing more to flush
                    pass
        else:
            self.flush()
        self._hand_over(item)

    def _send_or_hand_over(self, item: Item) -> None:
        """On the loop: ``item`` straight to the journal process when nothing is ahead of it
        and the socket takes it whole without waiting; what it does not take goes first to
        the thread, which sends it before anything else."""
        sock, payload = self._sock, item[1]
        if sock is None or len(payload) > DIRECT_MAX:
            self._hand_over(item)
            return
        with self._cond:
            direct = not self._items and not self._busy and not self._closed and self._sock is sock
            self._busy = direct
        if not direct:
            self._hand_over(item)
            return
        frame = HEADER.pack(len(payload), item[0]) + payload
        try:
            sent = sock.send(frame, socket.MSG_DONTWAIT)
        except OSError:  # full (the thread sends it), or the process is gone (the thread finds out)
            sent = 0
        with self._cond:
            self._busy = False
            if sent < len(frame):
                self._items.insert(0, (RAW, (frame[sent:], item)) if sent else item)
            if self._items:
                self._cond.notify()

    def _hand_over(self, item: Item) -> None:
        with self._cond:
            if self._closed:
                if item[0] == SYNC:
                    item[1].set_result(None)
                else:
                    log.warning("journal closed: a write was dropped")
                return
            self._items.append(item)
            if len(self._items) == 1:
                self._cond.notify()

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Write everything handed over (call ``flush`` on the loop first), then stop the
        thread and the process. Any thread."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    idle = False
                    while self._busy or not (self._items or self._closed):
                        if not self._cond.wait(IDLE_CHECK_S) and not (self._busy or self._items or self._closed):
                            idle = True
                            break
                    items: list[Item] = []
                    if not idle:
                        items, self._items = self._items, []
                    closing = self._closed
                    self._busy = True  # the socket is this thread's until it is done
                try:
                    if idle:
                        self._idle_check()
                    elif items:
                        self._write(items)
                        del items  # (not kept while the thread waits: a batch may hold large bodies)
                finally:
                    with self._cond:
                        self._busy = False
                if closing:
                    with self._cond:
                        if not self._items:
                            return
        except Exception:  # never silently: the rows after this would be lost
            log.exception("the journal writer failed; invocations are no longer journaled")
        finally:
            self._stop_child()
            if self._here is not None:
                self._here.conn.close()

    def _idle_check(self) -> None:
        """The journal process's error reports since the last send (the loop sends meanwhile,
        so nobody else would read them)."""
        if self._sock is not None:
            try:
                self._read_replies({})
            except OSError as exc:
                self._child_failed(exc)

    def _write(self, items: list[Item]) -> None:
        if self._here is None and self._sock is None:
            self._start_child()
        if self._sock is not None:
            try:
                self._send(items)
                return
            except OSError as exc:
                self._child_failed(exc)
        self._write_here(items)

    def _send(self, items: list[Item]) -> None:
        sock = self._sock
        assert sock is not None
        out = bytearray()
        waiting: dict[bytes, Future[None]] = {}
        for kind, arg in items:
            if kind == RAW:  # the rest of a frame the loop began: as it is, before anything else
                out += arg[0]
                continue
            if kind == SYNC:
                self._tokens += 1
                token = str(self._tokens).encode()
                waiting[token] = arg
                arg = token
            out += HEADER.pack(len(arg), kind)
            if len(arg) < BIG:
                out += arg
            else:  # a batch with large bodies: sent as it is, never copied
                sock.sendall(out)
                sock.sendall(arg)
                out.clear()
        sock.sendall(out)
        self._read_replies(waiting)

    def _read_replies(self, waiting: dict[bytes, Future[None]]) -> None:
        """The acks for ``waiting`` (blocking until all came), and the error reports so far."""
        sock = self._sock
        assert sock is not None
        buf = bytearray()
        while True:
            try:
                data = sock.recv(65536, 0 if waiting or buf else socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            if not data:
                raise ConnectionResetError("the journal process closed its end")
            buf += data
            frames, used = frames_of(buf)
            del buf[:used]
            for kind, payload in frames:
                if kind == ACK:
                    fut = waiting.pop(payload, None)
                    if fut is not None and not fut.done():
                        fut.set_result(None)
                elif kind == ERROR:
                    log.error("%s", payload.decode("utf-8", "replace"))

    def _write_here(self, items: list[Item]) -> None:
        """No journal process: this thread writes, with the process's code."""
        if self._here is None:
            self._here = journal.writer(self.store.connect())
        # (the rest of a frame the loop began to send: the process never applied it, so the whole of it)
        items = [arg[1] if kind == RAW else (kind, arg) for kind, arg in items]
        frames = [(kind, arg) for kind, arg in items if kind != SYNC]
        try:
            self._here.apply(frames)
        except sqlite3.Error as exc:
            log.error("cannot write the journal in %s: %s", self.store.path, exc)
            if self._here.conn.in_transaction:
                self._here.conn.execute("ROLLBACK")
        for kind, arg in items:
            if kind == SYNC and not arg.done():
                arg.set_result(None)

    # ------------------------------------------------------------------ the process

    def _start_child(self) -> None:
        parent, child = socket.socketpair()
        try:
            # its own session: a Ctrl-C to the daemon's group must not cut its last commit
            # short; it ends when its socket does (the daemon closed it, or died)
            self._proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), str(child.fileno()), str(self.store.path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=(child.fileno(),),
                start_new_session=True,
            )  # fmt: skip
        except (OSError, ValueError) as exc:  # (ValueError: no pass_fds on this platform)
            parent.close()
            log.warning("cannot start the journal process (%s): the journal is written in-process", exc)
            return
        finally:
            child.close()
        self._sock = parent
        try:
            parent.sendall(HEADER.pack(len(journal.WIRE_INIT), INIT) + journal.WIRE_INIT)
        except OSError as exc:
            self._child_failed(exc)

    def _child_failed(self, exc: BaseException) -> None:
        code = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._proc.wait(1.0)
        log.error("the journal process failed (%s, exit code %s): the journal is written "
                  "in-process from now on", exc, code)  # fmt: skip
        self._close_sock()

    def _close_sock(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def _stop_child(self) -> None:
        """End of file to the process: it commits what it has and exits."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                rest = bytearray()
                while data := self._sock.recv(65536):  # its last error reports, until it closes
                    rest += data
                for _, payload in frames_of(rest)[0]:
                    log.error("%s", payload.decode("utf-8", "replace"))
        self._close_sock()
        if self._proc is not None:
            try:
                self._proc.wait(CLOSE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.error("the journal process did not exit: killed")
                self._proc.kill()
                self._proc.wait()

