"""The S3 source's record of what it reported (``s3_objects``), and reading files safely.

``s3_objects`` holds, per trigger and key, the size, mtime and MD5 of the version last
reported and its sequencer: start-up catch-up and overflow rescans compare the folder
with it, and sequencers keep growing across restarts. ``s3_folders`` holds the folder each
trigger has watched: only at the very first watch of a folder are its files not news.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from typing import NamedTuple

from ..events import s3 as s3_events

log = logging.getLogger(__name__)


class Ident(NamedTuple):
    size: int
    mtime_ns: int
    etag: str


class Row(NamedTuple):
    ident: Ident
    seq: int


class Read(NamedTuple):
    data: bytes
    ident: Ident
    settled: bool = True  # False: the file changed while it was read (a write is under way)


# ---------------------------------------------------------------------------- state (s3_objects)


class State:
    """What each trigger last reported per key, in memory and in ``s3_objects``.

    Read from the file at first use, not when made: the source makes it before ``router
    ready`` and its worker first uses it in the start-up sync, after ready (10,000 keys take
    ~30 ms to read)."""

    def __init__(self, conn: sqlite3.Connection, triggers: list[str]) -> None:
        self.conn = conn
        self._triggers = list(triggers)
        self._rows: dict[str, dict[str, Row]] | None = None
        self._folders: dict[str, str] = {}
        self._last_seq = 0

    @property
    def loaded(self) -> bool:
        return self._rows is not None

    def _load(self) -> dict[str, dict[str, Row]]:
        triggers = self._triggers
        rows: dict[str, dict[str, Row]] = {t: {} for t in triggers}
        marks = ",".join("?" * len(triggers))
        query = "SELECT trigger, key, size, mtime_ns, etag, sequencer FROM s3_objects"
        for r in self.conn.execute(f"{query} WHERE trigger IN ({marks})", triggers):
            rows[r[0]][r[1]] = Row(Ident(r[2], r[3], r[4]), r[5])
        top = self.conn.execute("SELECT MAX(sequencer) FROM s3_objects").fetchone()[0]
        self._last_seq = int(top or 0)
        query = f"SELECT trigger, folder FROM s3_folders WHERE trigger IN ({marks})"
        self._folders = {r[0]: r[1] for r in self.conn.execute(query, triggers)}
        self._rows = rows
        return rows

    @property
    def rows(self) -> dict[str, dict[str, Row]]:
        return self._rows if self._rows is not None else self._load()

    @property
    def folders(self) -> dict[str, str]:
        if self._rows is None:
            self._load()
        return self._folders

    @property
    def last_seq(self) -> int:
        if self._rows is None:
            self._load()
        return self._last_seq

    @last_seq.setter
    def last_seq(self, value: int) -> None:
        if self._rows is None:
            self._load()
        self._last_seq = value

    def first_watch(self, trigger: str, folder: str) -> bool:
        """Whether ``trigger`` has never watched ``folder`` before (a folder recorded before
        folders were, as '', counts as watched)."""
        known = self.folders.get(trigger)
        return known is None or known not in ("", folder)

    def watched(self, trigger: str, folder: str, now: float) -> None:
        if self.folders.get(trigger) != folder:
            self.conn.execute("INSERT OR REPLACE INTO s3_folders (trigger, folder, first_watched) VALUES (?, ?, ?)",
                              (trigger, folder, now))  # fmt: skip
            self.folders[trigger] = folder

    def get(self, trigger: str, key: str) -> Row | None:
        return self.rows[trigger].get(key)

    def keys_under(self, trigger: str, prefix: str) -> list[str]:
        return [k for k in self.rows[trigger] if k.startswith(prefix)]

    def put(self, trigger: str, key: str, row: Row) -> None:
        i = row.ident
        self.conn.execute(
            "INSERT OR REPLACE INTO s3_objects (trigger, key, size, mtime_ns, etag, sequencer)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (trigger, key, i.size, i.mtime_ns, i.etag, row.seq),
        )
        self.rows[trigger][key] = row

    def drop(self, trigger: str, key: str) -> None:
        self.conn.execute("DELETE FROM s3_objects WHERE trigger = ? AND key = ?", (trigger, key))
        self.rows[trigger].pop(key, None)

    def clear(self) -> None:
        """Forget every key and folder of these triggers (``Router.reset``): in memory and in
        the file. Sequencers go on growing."""
        marks = ",".join("?" * len(self.rows))
        with self.conn:
            self.conn.execute(f"DELETE FROM s3_objects WHERE trigger IN ({marks})", list(self.rows))
            self.conn.execute(f"DELETE FROM s3_folders WHERE trigger IN ({marks})", list(self.rows))
        for rows in self.rows.values():
            rows.clear()
        self.folders.clear()

    def next_seq(self, now: float) -> int:
        """Milliseconds in the high bits, a counter in the low 16: grows across restarts."""
        self.last_seq = max(self.last_seq + 1, int(now * 1000) << 16)
        return self.last_seq


def sequencer_text(seq: int) -> str:
    """The 18-hex-digit form of ``events.s3.make_sequencer``: 11 digits of ms, 7 of counter."""
    return f"{seq >> 16:011X}{seq & 0xFFFF:07X}"


# ---------------------------------------------------------------------------- files


def read_file(root: str, path: str) -> Read | None:
    """The bytes and identity of a regular file under ``root``; None (and a warning) when it
    vanished, is unreadable, or is a symlink leading out of ``root``."""
    real = os.path.realpath(path)
    if real != path and not _within(real, root):
        log.warning(
            "s3: %s is a symlink to %s, outside the watched folder %s; skipped", path, real, root
        )
        return None
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)  # NONBLOCK: a FIFO must not hang us
    except FileNotFoundError:
        log.warning("s3: %s vanished before it could be read; skipped", path)
        return None
    except OSError as exc:
        log.warning("s3: cannot read %s (%s); skipped", path, exc.strerror or exc)
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        try:
            data = f.read()
            after = os.fstat(f.fileno())
        except OSError as exc:
            log.warning("s3: cannot read %s (%s); skipped", path, exc.strerror or exc)
            return None
    # the bytes read are the file only if it did not change meanwhile (the next write of an
    # overwrite truncates it first): else the caller reads it again once it has settled
    settled = len(data) == st.st_size and (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    return Read(data, Ident(len(data), st.st_mtime_ns, s3_events.etag(data)), settled)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk_files(top: str) -> Iterator[tuple[str, os.stat_result]]:
    """Regular files (and symlinks) below ``top``; never descends into a symlinked directory."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("s3: cannot list %s (%s); skipped", folder, exc.strerror or exc)
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=True):
                    yield entry.path, entry.stat(follow_symlinks=True)
            except OSError:
                continue
