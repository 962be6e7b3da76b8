"""The S3 source's worker: turns watcher hints into bucket writes and notifications.

One thread owns the state, so sequencers only grow and each key's changes are applied in
the order they happened. Per change it reads the file once, has the exact bytes put into
the bucket(s) and the event queued (durable when ``emit`` returns: :mod:`.s3_apply`), and
only then records the change in ``s3_objects`` (a crash in between is seen again by the
next catch-up or rescan). Runs of changes to different files are applied in parallel.

Two ways a change is noticed:
- *edge*: a file was closed after writing, or moved in. It is read once it has stayed
  unchanged for ``EDGE_SETTLE`` (30 ms: the next write of a quick overwrite truncates the
  file first), and only if it did not change while it was read; a Put unless that very
  version (size, mtime and MD5) was reported already.
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
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .s3_api import MirrorIn as MirrorIn  # (re-exported: s3.py imports it from here)
from .s3_api import mirror_in
from .s3_apply import DELETE, PUT, Applier, Change, Emit
from .s3_state import Ident, Row, State, read_file, walk_files
from .s3_watch import Hint

if TYPE_CHECKING:
    from .s3 import Target

log = logging.getLogger(__name__)

BATCH = 64  # changes of different files applied together
POOL = 8  # threads applying them (bucket writes mostly wait on the embedded AWS)
EDGE_SETTLE = 0.03  # seconds a closed file must stay unchanged before it is read
_STOP = object()


@dataclass
class _Control:
    """``Router.reset``'s pause and restart, handled in order with the hints."""

    kind: str  # "pause" | "restart"
    done: threading.Event
    before: Callable[[], None] | None = None  # restart: run first, on the syncer's thread
    error: BaseException | None = None
Pairs = list[tuple["Target", str]]


@dataclass
class Pending:
    due: float
    sig: tuple[int, int]  # (size, mtime_ns) when last looked at
    root: str


class Syncer:
    """Consumes hints on its own thread. ``roots`` maps a watched folder to its targets."""

    def __init__(self, roots: dict[str, list[Target]], *, conn: sqlite3.Connection, s3: Any | None,
                 emit: Emit, now: Callable[[], float], region: str) -> None:  # fmt: skip
        self.roots = roots
        self.state = State(conn, [t.name for ts in roots.values() for t in ts])
        self.applier = Applier(s3, emit, region, now)
        self.now = now
        self.queue: queue.Queue[Any] = queue.Queue()
        self._ahead: deque[Any] = deque()  # taken from the queue while batching, not yet handled
        self.pending: dict[str, Pending] = {}
        self._timers: list[tuple[float, str]] = []
        self.scanned: dict[tuple[str, str], tuple[Ident, float]] = {}
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.deadline = float("inf")
        self.dropped = self.emitted = self.overflows = 0
        self.ready = threading.Event()
        # changes since (just before) watching began are news even without catch_up
        self.started_ns = time.time_ns() - 20_000_000
        self._handled: dict[str, int] = {}
        self._whole: set[str] = set()  # paths router's drop() is writing (see whole())
        self._handled_cond = threading.Condition()
        self.paused = False  # Router.reset: the folders' changes are not news until restart()
        self.stopping = False  # stop() was called: a start-up sync under way is given up

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the thread; first it syncs each folder (``ready`` is set when done)."""
        for root in self.roots:
            self.queue.put(Hint("start", root))
        self.queue.put(Hint("ready", ""))
        self._pool = ThreadPoolExecutor(POOL, thread_name_prefix="router-s3-apply")
        self._thread = threading.Thread(target=self._run, name="router-s3", daemon=True)
        self._thread.start()

    def submit(self, hint: Hint | MirrorIn) -> None:
        self.queue.put(hint)

    def stop(self, drain: float = 30.0) -> None:
        """Finish what was noticed (for at most ``drain`` seconds), then end the thread."""
        if self._thread is None:
            return
        self.deadline = time.monotonic() + drain
        self.stopping = True
        self.queue.put(_STOP)
        self._thread.join()
        self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._handled_cond:
            self._handled_cond.notify_all()
        if self.dropped:
            log.warning("s3: %d file change(s) were not notified before stopping (catch_up: "
                        "true notices them at the next start)", self.dropped)  # fmt: skip

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pause(self, timeout: float = 30.0) -> None:
        """``Router.reset``, before the buckets and the dispatcher are emptied: finish what was
        noticed so far (its events are emitted now, as a stop would), then drop the folders'
        changes and the settling files until :meth:`restart`. The watcher and this thread
        keep running: restarting them cost a reset ~3 ms."""
        self._control(_Control("pause", threading.Event()), timeout)

    def restart(self, before: Callable[[], None], timeout: float = 30.0) -> None:
        """After :meth:`pause` and the buckets' re-creation: run ``before`` (empty the
        folders), forget every key and folder, and sync each folder as at start (files still
        there go into the fresh buckets quietly). Changes after it are news again; the
        deletes of the files ``before`` removed find nothing to report."""
        self._control(_Control("restart", threading.Event(), before), timeout)

    def _control(self, item: _Control, timeout: float) -> None:
        self.queue.put(item)
        if not item.done.wait(timeout):
            raise TimeoutError(f"s3: the folder worker did not {item.kind} within {timeout:g} s")
        if item.error is not None:
            raise item.error

    def _on_control(self, item: _Control) -> None:
        try:
            if item.kind == "pause":
                self.paused = True
                self.pending.clear()
                self._timers.clear()
            else:
                if item.before is not None:
                    item.before()
                self.state.clear()
                self.scanned.clear()
                self._whole.clear()
                self.started_ns = time.time_ns() - 20_000_000
                self.paused = False
                for root in self.roots:
                    self.initial_sync(root)
        except BaseException as exc:  # noqa: BLE001 - the caller raises it
            item.error = exc
        finally:
            item.done.set()

    def _run(self) -> None:
        while True:
            try:
                item = (
                    self._ahead.popleft() if self._ahead else self.queue.get(timeout=self._wait())
                )
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if isinstance(item, _Control):
                self._on_control(item)
            elif item is not None and not self.paused:
                self._guard(item)
            self._fire_due(time.monotonic())
        self._fire_due(float("inf"))  # settle what is left now

    def _wait(self) -> float | None:
        return max(0.0, self._timers[0][0] - time.monotonic()) if self._timers else None

    def _guard(self, hint: Hint) -> None:
        if time.monotonic() > self.deadline:
            self.dropped += 1
            return
        try:
            if hint.kind in ("closed", "removed"):
                self.file_changes(self._batch(hint))
            else:
                self.handle(hint)
        except Exception:  # one bad file must not stop the watcher
            log.exception("s3: failed to handle %s %s", hint.kind, hint.path or hint.root)

    def _batch(self, first: Hint) -> list[Hint]:
        """``first`` and the closes/deletes queued right behind it, of other files."""
        batch, paths = [first], {first.path}
        while len(batch) < BATCH and not self._ahead:
            try:
                nxt = self.queue.get_nowait()
            except queue.Empty:
                break
            if (
                not (isinstance(nxt, Hint) and nxt.kind in ("closed", "removed"))
                or nxt.path in paths
            ):
                self._ahead.append(nxt)
                break
            batch.append(nxt)
            paths.add(nxt.path)
        return batch

    # ------------------------------------------------------------------ hints

    def handle(self, hint: Hint) -> None:
        kind, root, path = hint.kind, hint.root, hint.path
        if kind == "touched":
            self.settle_later(root, path)
        elif kind == "moved":
            self.file_changes([Hint("removed", root, path)])
            self.file_changes([Hint("closed", root, hint.dest)])
        elif kind == "dir_added":
            for p, st in walk_files(path):
                self.settle_later(root, p, st)
        elif kind == "dir_removed":
            self.removed_under(root, path)
        elif kind == "dir_moved":
            self.removed_under(root, path)
            self.apply(self._plan_put(root, p, level=True) for p, _ in walk_files(hint.dest))
        elif kind == "overflow":
            self.overflows += 1
            log.warning("s3: events were lost under %s (inotify queue overflow); rescanning", root)
            self.reconcile(root)
        elif kind == "start":
            self.initial_sync(root)
        elif kind == "ready":
            self.ready.set()
        elif isinstance(hint, MirrorIn):
            mirror_in(self, hint)
        elif kind == "root_gone":
            log.warning("s3: the watched folder %s was deleted; its objects are removed and "
                        "nothing more is watched there until the next start", root)  # fmt: skip
            self.removed_under(root, root)

    def file_changes(self, hints: list[Hint]) -> None:
        """Closed (edge Put) and removed (Delete) files, each a different path. A closed file
        is read once it has stayed unchanged for :data:`EDGE_SETTLE` (an overwrite's next
        write may already have truncated it): the event describes bytes that were the file."""
        plans = []
        for h in hints:
            if h.kind == "closed" and h.path in self._whole:  # written by router's drop(): complete
                self._whole.discard(h.path)
                plan = self._plan_put(h.root, h.path, level=True)
                if plan is None:
                    self._note(h.path)
                plans.append(plan)
                continue
            if h.kind == "closed":
                if not self.settle_later(h.root, h.path, delay=EDGE_SETTLE):
                    log.warning("s3: %s vanished before it could be read; skipped", h.path)
                    self._note(h.path)
                continue
            self.pending.pop(h.path, None)
            try:
                plan = self._plan_delete(h)
            except Exception:
                log.exception("s3: failed to handle %s %s", h.kind, h.path)
                plan = None
            if plan is None:
                self._note(h.path)
            plans.append(plan)
        self.apply(plans)

    def _keyed(self, root: str, path: str) -> Pairs:
        out = []
        for t in self.roots[root]:
            key = t.key_of(path)
            if key is not None and not t.ignores(key):
                out.append((t, key))
        return out

    def _plan_put(self, root: str, path: str, *, level: bool = False) -> Change | None:
        """A Put of ``path`` if it differs from the state (level) or unless a scan just
        reported this very version (edge)."""
        self.pending.pop(path, None)
        keyed = self._keyed(root, path)
        got = read_file(root, path) if keyed else None
        if got is None:
            return None
        if not got.settled:
            self.settle_later(root, path)
            return None
        chosen = []
        for t, key in keyed:
            if level:
                row = self.state.get(t.name, key)
                if row is not None and row.ident == got.ident:
                    continue
            else:
                seen = self.scanned.pop((t.name, key), None)
                if seen is not None and seen[0] == got.ident:
                    continue
            chosen.append((t, key))
        return self._change(PUT, path, chosen, got=got, level=level) if chosen else None

    def _plan_delete(self, hint: Hint) -> Change | None:
        keyed = self._keyed(hint.root, hint.path)
        known = [(t, k) for t, k in keyed if self.state.get(t.name, k) is not None]
        return self._change(DELETE, hint.path, known) if known else None

    def _change(self, event: str, path: str, targets: Pairs, **kw: Any) -> Change:
        seqs = [self.state.next_seq(self.now()) for _ in targets]
        return Change(event, path, targets, seqs, **kw)

    def apply(self, plans: Iterable[Change | None], give_up: Callable[[], bool] | None = None) -> bool:
        """Apply the changes (in parallel when several), then record and count them. False
        when ``give_up()`` said so between two batches (the rest not applied)."""
        todo = [c for c in plans if c is not None]
        for start in range(0, len(todo), BATCH):
            if give_up is not None and give_up():
                return False
            chunk = todo[start : start + BATCH]
            if len(chunk) > 1 and self._pool is not None:
                list(self._pool.map(self.applier.apply, chunk))
            else:
                for c in chunk:
                    self.applier.apply(c)
            for c in chunk:
                self._record(c)
        return True

    def _record(self, c: Change) -> None:
        stamp = time.monotonic()
        for ok, (t, key), seq in zip(c.ok, c.targets, c.seqs, strict=True):
            if not ok:
                continue
            if c.got is None:
                self.state.drop(t.name, key)
                self.scanned.pop((t.name, key), None)
                continue
            self.state.put(t.name, key, Row(c.got.ident, seq))
            if c.level and c.notify:
                self.scanned[(t.name, key)] = (c.got.ident, stamp)
        self.emitted += c.sent
        if len(self.scanned) > 10_000:
            self.scanned = {k: v for k, v in self.scanned.items() if stamp - v[1] < 60}
        self._note(c.path)

    # ------------------------------------------------------------------ drop/remove waiters

    def whole(self, path: str) -> None:
        """Router's own drop() writes ``path`` in one go and closes it: its close event needs
        no settling (nobody else is writing it), so a test's drop is not 30 ms slower."""
        self._whole.add(path)

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

    # ------------------------------------------------------------------ scans

    def _gone(self, t: Target, prefix: str) -> list[str]:
        keys = self.state.keys_under(t.name, prefix)
        return [k for k in keys if not os.path.lexists(t.path_of_key(k))]

    def removed_under(self, root: str, folder: str, *, first: dict[str, bool] | None = None) -> None:
        """Delete what the state holds below ``folder`` that is no longer on disk (at start,
        ``first`` names the triggers watching for the first time: quietly for those, unless
        the trigger catches up)."""
        for t in self.roots[root]:
            rel = "" if folder == root else t.key_of(folder)
            if rel is None:
                continue
            notify = t.spec.catch_up or not (first or {}).get(t.name, False)
            gone = self._gone(t, rel + "/" if rel else "")
            self.apply(
                self._change(DELETE, str(t.path_of_key(k)), [(t, k)], notify=notify) for k in gone
            )

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
        """At start: put every file into the bucket(s) and report what changed while router
        was stopped (or killed before it queued a change): a file written into a watched folder
        fires one event, whenever it was written. Only at a trigger's very first watch of the
        folder are the files already there recorded quietly, unless ``catch_up`` asks for them
        (a file that changed since watching began is news even then)."""
        first = {t.name: self.state.first_watch(t.name, str(t.root)) for t in self.roots[root]}
        plans = []
        for path, _ in walk_files(root):
            if self.stopping:
                return self._sync_given_up(root)
            plans.append(self._plan_start(root, path, first))
        if not self.apply(plans, give_up=lambda: self.stopping):
            return self._sync_given_up(root)
        self.removed_under(root, root, first=first)
        for t in self.roots[root]:
            self.state.watched(t.name, str(t.root), self.now())

    def _sync_given_up(self, root: str) -> None:
        """Stopping during the start-up sync (a Ctrl-C right after ready in a folder of 10,000
        files waited ~1 s for it): what it did is recorded, the rest is left to the next start,
        which finds it as it would after any stop. Nothing is deleted for files not seen yet,
        and a first watch stays a first watch (the files not recorded yet stay quiet news)."""
        log.info("s3: stopping during the start-up sync of %s: the next start finishes it", root)

    def _plan_start(self, root: str, path: str, first: dict[str, bool]) -> Change | None:
        keyed = self._keyed(root, path)
        got = read_file(root, path) if keyed else None
        if got is None:
            return None
        if not got.settled:  # being written: put and reported once it has settled
            self.settle_later(root, path)
            return None
        stale = [(t, k) for t, k in keyed if (r := self.state.get(t.name, k)) is None
                 or r.ident != got.ident]  # fmt: skip
        recent = got.ident.mtime_ns >= self.started_ns
        quiet = [(t, k) for t, k in stale if first[t.name] and not (t.spec.catch_up or recent)]
        if len(quiet) < len(stale):
            self.settle_later(root, path)  # reported once it is seen unchanged
        return self._change(PUT, path, quiet, got=got, upload=keyed, notify=False)

    def settle_later(self, root: str, path: str, st: os.stat_result | None = None, *,
                     delay: float | None = None) -> bool:  # fmt: skip
        """Report ``path`` once it has stayed as it is now for ``delay`` (default: the
        triggers' ``settle``); False when it is gone."""
        if st is None:
            try:
                st = os.stat(path)
            except OSError:
                return False
        wait = max(t.settle for t in self.roots[root]) if delay is None else delay
        due = time.monotonic() + wait
        self.pending[path] = Pending(due, (st.st_size, st.st_mtime_ns), root)
        heapq.heappush(self._timers, (due, path))
        return True

    def _fire_due(self, now: float) -> None:
        ready: list[Change | None] = []
        while self._timers and self._timers[0][0] <= now:
            due, path = heapq.heappop(self._timers)
            p = self.pending.get(path)
            if p is None or p.due != due:
                continue  # handled by an edge event, or rescheduled
            try:
                st = os.stat(path)
            except OSError:
                self.pending.pop(path, None)
                continue
            if (st.st_size, st.st_mtime_ns) != p.sig and now != float("inf"):
                self.settle_later(p.root, path, st)  # still being written
                continue
            self.pending.pop(path, None)
            if time.monotonic() > self.deadline:
                self.dropped += 1
                continue
            try:
                plan = self._plan_put(p.root, path, level=True)
            except Exception:
                log.exception("s3: failed to handle %s", path)
                plan = None
            if plan is None:
                self._note(path)
            ready.append(plan)
        self.apply(ready)
