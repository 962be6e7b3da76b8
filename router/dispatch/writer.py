"""The one thread that talks to the state file for dispatch, committing in groups.

Every queue insert, state change, journal row and query of the dispatcher goes through
:class:`DbWriter` in submission order. The thread takes everything pending, runs it in one
transaction and commits once, so a burst of a thousand enqueues costs one commit, and a
caller that awaits its future knows its write is durable (WAL, ``synchronous=NORMAL``:
durable against a process kill). Reads go through the same thread, so they see every
write submitted before them.

Nobody waits for a fire-and-forget write (``wait=False``: journal rows, leases), so when
only those are pending the thread lingers ``LINGER_S`` for more before it commits: under
load it wakes a few hundred times a second, not once per request, and takes the
interpreter's lock from the event loop that much less. An operation someone waits for
ends the linger at once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ..errors import RouterError
from ..store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 2000  # operations per transaction
LINGER_S = 0.005  # how long fire-and-forget writes wait for company before their commit


class WriterClosed(RouterError):
    """The dispatcher's state-file writer has stopped (the dispatcher is closed)."""


class DbWriter:
    """A thread running operations on one connection, one transaction per batch."""

    def __init__(self, store: Store, *, name: str = "router-dispatch-db") -> None:
        self.store = store
        self._name = name
        self._pending: deque[tuple[Op, Future[Any] | None]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._urgent = False  # an operation someone waits for is pending
        self._thread: threading.Thread | None = None
        self.commits = 0  # how many transactions were committed (for the benchmark)

    def start(self) -> None:
        conn = self.store.connect()
        self._thread = threading.Thread(target=self._run, args=(conn,), name=self._name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._closed

    def submit(self, op: Callable[[sqlite3.Connection], T], *, wait: bool = True) -> Future[T]:
        """Queue ``op(conn)``; the future resolves once its transaction has committed.

        With ``wait=False`` the operation is fire-and-forget: its errors are logged."""
        if not wait:
            with self._cond:
                self._check_open()
                self._pending.append((op, None))
                if len(self._pending) == 1:  # else the thread is busy or lingering already
                    self._cond.notify()
            return _DONE
        fut: Future[T] = Future()
        with self._cond:
            self._check_open()
            self._pending.append((op, fut))
            self._urgent = True
            self._cond.notify()
        return fut

    def _check_open(self) -> None:
        if self._closed or self._thread is None:
            raise WriterClosed("the dispatcher is not running (its state-file writer is closed)")

    def execute(self, sql: str, params: tuple[Any, ...] = (), *, wait: bool = True) -> Future[None]:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(sql, params)

        return self.submit(op, wait=wait)

    def close(self, timeout: float = 30.0) -> None:
        """Finish what was submitted, then stop the thread."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------------ the thread

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._closed:
                        self._cond.wait()
                    if not self._pending and self._closed:
                        return
                    if not self._urgent and not self._closed:
                        self._cond.wait(LINGER_S)  # ended early by a waited-for op or close
                    pending = self._pending
                    batch = [pending.popleft() for _ in range(min(MAX_BATCH, len(pending)))]
                    self._urgent = any(fut is not None for _, fut in pending)
                self._run_batch(conn, batch)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[tuple[Op, Future[Any] | None]]) -> None:
        results: list[tuple[Future[Any] | None, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, fut in batch:
                try:
                    results.append((fut, op(conn), None))
                except Exception as exc:  # one bad operation fails alone
                    if fut is None:
                        log.error("state file write failed: %s", exc)
                    results.append((fut, None, exc))
            conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            log.error("state file transaction failed: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = RouterError(f"cannot write the state file {self.store.path}: {exc}")
            for _, fut in batch:
                if fut is not None and not fut.done():
                    fut.set_exception(failure)
            return
        for fut, value, error in results:
            if fut is None or fut.done():
                continue
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)


# what ``submit(..., wait=False)`` returns: nobody waits for those operations
_DONE: Future[Any] = Future()
_DONE.set_result(None)
