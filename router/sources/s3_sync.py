"""The S3 source's worker: turns watcher hints into bucket writes and notifications.

One thread owns all state, so the order of changes to a key is the order of its
notifications, and sequencers only grow. For each change it reads the file once, puts
those exact bytes into the bucket(s), queues the event (durable when ``emit`` returns),
and only then records the change in ``s3_objects`` (so a crash in between is seen again
by the next catch-up or rescan).

Two ways a change is noticed:
- *edge*: a file was closed after writing, or moved in. Always a Put, except when a scan
  already reported exactly this version (same size, mtime and MD5).
- *level*: a scan (a new directory, an inotify overflow, start-up, a platform without close
  events) found a file that differs from what ``s3_objects`` holds. The file must first stay
  unchanged for the trigger's ``settle`` time; then it is compared again and reported.
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..events import s3 as s3_events
from .s3_state import Ident, Read, Row, State, read_file, sequencer_text, walk_files
from .s3_watch import Hint

if TYPE_CHECKING:
    from .s3 import Target

log = logging.getLogger(__name__)

Emit = Callable[[Any, Any], str]  # (trigger config, event) -> event id; blocks until committed


# ---------------------------------------------------------------------------- the worker


@dataclass
class Pending:
    due: float
    sig: tuple[int, int]  # (size, mtime_ns) when last looked at
    root: str


_STOP = object()


class Syncer:
    """Consumes hints on its own thread. ``roots`` maps a watched folder to its targets."""

    def __init__(self, roots: dict[str, list[Target]], *, conn: sqlite3.Connection, s3: Any | None,
                 emit: Emit, now: Callable[[], float], region: str) -> None:  # fmt: skip
        self.roots = roots
        self.targets = [t for ts in roots.values() for t in ts]
        self.state = State(conn, [t.name for t in self.targets])
        self.s3 = s3  # None: no bucket to mirror into (real AWS)
        self.emit = emit
        self.now = now
        self.region = region
        self.queue: queue.Queue[Any] = queue.Queue()
        self.pending: dict[str, Pending] = {}
        self._timers: list[tuple[float, str]] = []
        self.scanned: dict[tuple[str, str], tuple[Ident, float]] = {}
        self._thread: threading.Thread | None = None
        self.deadline = float("inf")
        self.dropped = 0
        self.emitted = 0
        self.ready = threading.Event()
        # changes since (just before) watching began are news even without catch_up
        self.started_ns = time.time_ns() - 20_000_000
        self._handled: dict[str, int] = {}
        self._handled_cond = threading.Condition()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the thread; first it syncs each folder (``ready`` is set when done)."""
        for root in self.roots:
            self.queue.put(Hint("start", root))
        self.queue.put(Hint("ready", ""))
        self._thread = threading.Thread(target=self._run, name="router-s3", daemon=True)
        self._thread.start()

    def submit(self, hint: Hint) -> None:
        self.queue.put(hint)

    def stop(self, drain: float = 30.0) -> None:
        """Finish what was noticed (for at most ``drain`` seconds), then end the thread."""
        if self._thread is None:
            return
        self.deadline = time.monotonic() + drain
        self.queue.put(_STOP)
        self._thread.join()
        self._thread = None
        with self._handled_cond:
            self._handled_cond.notify_all()
        if self.dropped:
            log.warning(
                "s3: %d file change(s) were not notified before stopping "
                "(catch_up: true notices them at the next start)",
                self.dropped,
            )

    def _run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=self._wait())
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if item is not None:
                self._guard(self.handle, item)
            self._fire_due(time.monotonic())
        self._fire_due(float("inf"))  # settle what is left now

    def _wait(self) -> float | None:
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def _guard(self, fn: Callable[[Hint], None], hint: Hint) -> None:
        if time.monotonic() > self.deadline:
            self.dropped += 1
            return
        try:
            fn(hint)
        except Exception:  # one bad file must not stop the watcher
            log.exception("s3: failed to handle %s %s", hint.kind, hint.path or hint.root)

    # ------------------------------------------------------------------ hints

    def handle(self, hint: Hint) -> None:
        kind, root, path = hint.kind, hint.root, hint.path
        if kind == "closed":
            self.changed(root, path, edge=True)
        elif kind == "touched":
            self.settle_later(root, path)
        elif kind == "removed":
            self.removed(root, path)
        elif kind == "moved":
            self.removed(root, path)
            self.changed(root, hint.dest, edge=True)
        elif kind == "dir_added":
            self.scan(root, path, settle=True)
        elif kind == "dir_removed":
            self.removed_under(root, path)
        elif kind == "dir_moved":
            self.removed_under(root, path)
            self.scan(root, hint.dest, settle=False)
        elif kind == "overflow":
            log.warning("s3: events were lost under %s (inotify queue overflow); rescanning", root)
            self.reconcile(root)
        elif kind == "start":
            self.initial_sync(root)
        elif kind == "ready":
            self.ready.set()
        elif kind == "root_gone":
            log.warning("s3: the watched folder %s was deleted; its objects are removed and "
                        "nothing more is watched there until the next start", root)  # fmt: skip
            self.removed_under(root, root)

    def _keyed(self, root: str, path: str) -> list[tuple[Target, str]]:
        out = []
        for t in self.roots[root]:
            key = t.key_of(path)
            if key is not None and not t.ignores(key):
                out.append((t, key))
        return out

    def changed(self, root: str, path: str, *, edge: bool) -> None:
        """A file to report if it differs (level) or unless a scan just reported it (edge)."""
        try:
            self._changed(root, path, edge=edge)
        finally:
            self._note(path)

    def _changed(self, root: str, path: str, *, edge: bool) -> None:
        self.pending.pop(path, None)
        keyed = self._keyed(root, path)
        if not keyed:
            return
        got = read_file(root, path)
        if got is None:
            return
        chosen = []
        for t, key in keyed:
            if edge:
                seen = self.scanned.pop((t.name, key), None)
                if seen is not None and seen[0] == got.ident:
                    continue
            else:
                row = self.state.get(t.name, key)
                if row is not None and row.ident == got.ident:
                    continue
            chosen.append((t, key))
        self.put(chosen, got, notify=True)
        if not edge:
            stamp = time.monotonic()
            for t, key in chosen:
                self.scanned[(t.name, key)] = (got.ident, stamp)
            self._prune_scanned(stamp)

    def put(self, chosen: list[tuple[Target, str]], got: Read, *, notify: bool = True,
            upload: list[tuple[Target, str]] | None = None) -> None:  # fmt: skip
        """Put the bytes into the buckets of ``upload`` (default: of ``chosen``), then queue
        the ``chosen`` triggers' events and record them."""

        def upload_one(bucket: str, key: str) -> None:
            self._put_object(bucket, key, got.data)

        written = self._to_buckets(chosen if upload is None else upload, upload_one)
        for t, key in chosen:
            if t.bucket not in written:
                continue
            seq = self.state.next_seq(self.now())
            if notify and not self._notify(t, "ObjectCreated:Put", key, seq, got.ident):
                continue
            self.state.put(t.name, key, Row(got.ident, seq))

    def removed(self, root: str, path: str) -> None:
        self.pending.pop(path, None)
        try:
            keyed = self._keyed(root, path)
            self.delete([(t, k) for t, k in keyed if self.state.get(t.name, k)], notify=True)
        finally:
            self._note(path)

    # ------------------------------------------------------------------ drop/remove waiters

    def expect(self, path: str) -> int:
        """Before changing ``path``: a mark for :meth:`wait_handled`."""
        with self._handled_cond:
            return self._handled.setdefault(path, 0)

    def wait_handled(self, path: str, mark: int, timeout: float) -> bool:
        """Wait until a change of ``path`` after ``mark`` has been handled (reported or
        found unchanged). Drops that wait this way cannot be merged by inotify."""
        with self._handled_cond:
            return self._handled_cond.wait_for(
                lambda: self._handled.get(path, 0) > mark or self._thread is None, timeout
            )

    def _note(self, path: str) -> None:
        with self._handled_cond:
            if path in self._handled:
                self._handled[path] += 1
                self._handled_cond.notify_all()

    def delete(self, chosen: list[tuple[Target, str]], *, notify: bool) -> None:
        written = self._to_buckets(chosen, self._delete_object)
        for t, key in chosen:
            if t.bucket not in written:
                continue
            seq = self.state.next_seq(self.now())
            if notify and not self._notify(t, "ObjectRemoved:Delete", key, seq, None):
                continue
            self.state.drop(t.name, key)
            self.scanned.pop((t.name, key), None)

    def removed_under(self, root: str, folder: str) -> None:
        """Delete what we know below ``folder`` that is no longer on disk."""
        for t in self.roots[root]:
            rel = "" if folder == root else t.key_of(folder)
            if rel is None:
                continue
            keys = self.state.keys_under(t.name, rel + "/" if rel else "")
            gone = [(t, k) for k in keys if not os.path.lexists(t.path_of_key(k))]
            self.delete(gone, notify=True)

    # ------------------------------------------------------------------ scans

    def scan(self, root: str, folder: str, *, settle: bool) -> None:
        for path, st in walk_files(folder):
            if settle:
                self.settle_later(root, path, st)
            else:
                self.changed(root, path, edge=False)

    def reconcile(self, root: str) -> None:
        """Rescan ``root``: changed or new files (by size and mtime) settle, then are
        compared and reported; known keys whose files are gone are deleted."""
        for path, st in walk_files(root):
            for t, key in self._keyed(root, path):
                row = self.state.get(t.name, key)
                if row is None or (row.ident.size, row.ident.mtime_ns) != (
                    st.st_size,
                    st.st_mtime_ns,
                ):
                    self.settle_later(root, path, st)
                    break
        self.removed_under(root, root)

    def initial_sync(self, root: str) -> None:
        """At start: put every file into the bucket(s); report what changed since the last
        run where ``catch_up`` asks for it, and what changed since watching began (it may have
        closed before its folder was watched); record the rest quietly."""
        for path, _st in walk_files(root):
            keyed = self._keyed(root, path)
            got = read_file(root, path) if keyed else None
            if got is None:
                continue
            stale = [(t, k) for t, k in keyed if (r := self.state.get(t.name, k)) is None
                     or r.ident != got.ident]  # fmt: skip
            recent = got.ident.mtime_ns >= self.started_ns
            quiet = [(t, k) for t, k in stale if not (t.spec.catch_up or recent)]
            self.put(quiet, got, notify=False, upload=keyed)
            if len(quiet) < len(stale):
                self.settle_later(root, path)
        for t in self.roots[root]:
            keys = self.state.keys_under(t.name, "")
            gone = [(t, k) for k in keys if not os.path.lexists(t.path_of_key(k))]
            self.delete(gone, notify=t.spec.catch_up)

    def settle_later(self, root: str, path: str, st: os.stat_result | None = None) -> None:
        if st is None:
            try:
                st = os.stat(path)
            except OSError:
                return
        settle = max(t.settle for t in self.roots[root])
        due = time.monotonic() + settle
        self.pending[path] = Pending(due, (st.st_size, st.st_mtime_ns), root)
        heapq.heappush(self._timers, (due, path))

    def _fire_due(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            due, path = heapq.heappop(self._timers)
            p = self.pending.get(path)
            if p is None or p.due != due:
                continue  # handled by an edge event, or rescheduled
            root = p.root
            try:
                st = os.stat(path)
            except OSError:
                self.pending.pop(path, None)
                continue
            if (st.st_size, st.st_mtime_ns) != p.sig and now != float("inf"):
                self.settle_later(root, path, st)  # still being written
                continue
            self.pending.pop(path, None)
            if time.monotonic() > self.deadline:
                self.dropped += 1
                continue
            try:
                self.changed(root, path, edge=False)
            except Exception:
                log.exception("s3: failed to handle %s", path)

    def _prune_scanned(self, now: float) -> None:
        if len(self.scanned) > 10_000:
            self.scanned = {k: v for k, v in self.scanned.items() if now - v[1] < 60}

    # ------------------------------------------------------------------ AWS

    def _to_buckets(
        self, chosen: list[tuple[Target, str]], op: Callable[[str, str], None]
    ) -> set[str]:
        """Apply ``op(bucket, key)`` once per bucket; the buckets where it worked."""
        done: set[str] = set()
        for t, key in chosen:
            if t.bucket in done:
                continue
            try:
                op(t.bucket, key)
            except Exception as exc:
                log.error(
                    "s3: cannot update s3://%s/%s (%s); no notification for it", t.bucket, key, exc
                )
                continue
            done.add(t.bucket)
        return done

    def _put_object(self, bucket: str, key: str, data: bytes) -> None:
        if self.s3 is not None:
            self.s3.put_object(Bucket=bucket, Key=key, Body=data)

    def _delete_object(self, bucket: str, key: str) -> None:
        if self.s3 is not None:
            self.s3.delete_object(Bucket=bucket, Key=key)

    def _notify(self, t: Target, name: str, key: str, seq: int, ident: Ident | None) -> bool:
        """Queue the event when the trigger's filters select it; False if queueing failed."""
        if not t.wants(name, key):
            return True
        sequencer = sequencer_text(seq)
        request_id, host_id = s3_events.make_ids(f"{t.bucket}/{key}/{sequencer}".encode())
        record = s3_events.build_record(
            event_name=name, bucket=t.bucket, key=key,
            size=None if ident is None else ident.size, etag=None if ident is None else ident.etag,
            sequencer=sequencer, configuration_id=t.name, region=self.region, event_time=self.now(),
            request_id=request_id, host_id=host_id,
        )  # fmt: skip
        try:
            self.emit(t.trigger, s3_events.build_event([record]))
        except Exception as exc:
            log.error(
                "s3: could not queue %s for s3://%s/%s (trigger %s): %s",
                name,
                t.bucket,
                key,
                t.name,
                exc,
            )
            return False
        self.emitted += 1
        return True
