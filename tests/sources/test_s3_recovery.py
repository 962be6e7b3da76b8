"""Lost events and restarts: overflow reconciliation, catch_up, the state file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from router.events.s3 import make_sequencer
from router.sources.s3_state import Ident, Row, State, sequencer_text
from router.sources.s3_watch import Hint
from router.store import Store

from .s3_helpers import Harness, make_config, summary, trigger

BOTH = "['s3:ObjectCreated:*', 's3:ObjectRemoved:*']"


def config(tmp_path: Path, extra: str = "") -> object:
    s3 = f"{{dir: drop/up, bucket: uploads, events: {BOTH}{extra}}}"
    return make_config(trigger("up", s3), tmp_path, state=tmp_path / "state")


def names(h: Harness, start: int, count: int) -> list[str]:
    return sorted(summary(e) for _, e in h.events(start + count)[start:])


def seq_of(h: Harness, key: str) -> int:
    found = [
        int(r["s3"]["object"]["sequencer"], 16)
        for _, e in h.events(h.count())
        for r in e["Records"]
        if r["s3"]["object"]["key"] == key
    ]
    return found[-1]


def keys(h: Harness) -> set[str]:
    return {o["Key"] for o in h.s3.list_objects_v2(Bucket="uploads").get("Contents", [])}


def test_an_overflow_rescan_reports_each_missed_change_once(tmp_path: Path) -> None:
    with Harness(config(tmp_path)) as h:  # type: ignore[arg-type]
        src = h.source
        assert src is not None and src.syncer is not None and src.watcher is not None
        for key in ["a.txt", "b.txt", "keep.txt"]:
            src.drop("up", key, key.encode())
        h.events(3)
        before_a = seq_of(h, "a.txt")
        src.watcher.stop()  # from here on the kernel's events are "lost"
        folder = h.folder("up")
        (folder / "a.txt").write_bytes(b"a, changed")
        (folder / "b.txt").unlink()
        (folder / "c.txt").write_bytes(b"new")
        (folder / "new").mkdir()
        (folder / "new" / "d.txt").write_bytes(b"nested")
        (folder / "x.tmp").write_bytes(b"ignored")
        root = str(folder)
        src.syncer.submit(Hint("overflow", root))
        assert names(h, 3, 4) == [
            "ObjectCreated:Put uploads/a.txt", "ObjectCreated:Put uploads/c.txt",
            "ObjectCreated:Put uploads/new/d.txt", "ObjectRemoved:Delete uploads/b.txt",
        ]  # fmt: skip
        assert seq_of(h, "a.txt") > before_a
        # the events the kernel did deliver after all arrive late: nothing is doubled
        for hint in [Hint("closed", root, f"{root}/a.txt"), Hint("removed", root, f"{root}/b.txt"),
                     Hint("closed", root, f"{root}/c.txt"), Hint("overflow", root)]:  # fmt: skip
            src.syncer.submit(hint)
        h.idle()
        assert h.count() == 7
        assert keys(h) == {"a.txt", "c.txt", "keep.txt", "new/d.txt"}


def test_a_kernel_queue_overflow_reaches_the_rescan(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"linked")
    with Harness(config(tmp_path)) as h:  # type: ignore[arg-type]
        src = h.source
        assert src is not None and src.watcher is not None
        folder = h.folder("up")
        (folder / "sub").mkdir()
        h.idle()  # (a new folder is scanned: the link must come after that)
        os.link(outside, folder / "sub" / "linked.txt")  # IN_CREATE only: not subscribed
        h.idle()
        assert h.count() == 0
        groups = src.watcher.overflow_groups()
        assert groups
        for group in groups:
            group.on_queue_overflow()  # what watchdog calls on IN_Q_OVERFLOW
        assert names(h, 0, 1) == ["ObjectCreated:Put uploads/sub/linked.txt"]
        (folder / "sub" / "after.txt").write_bytes(b"watches were rebuilt")
        assert names(h, 1, 1) == ["ObjectCreated:Put uploads/sub/after.txt"]
        h.idle()
        assert h.count() == 2


def test_catch_up_reports_what_changed_while_stopped(tmp_path: Path) -> None:
    cfg = config(tmp_path, ", catch_up: true")
    with Harness(cfg) as h:  # type: ignore[arg-type]
        for key in ["a.txt", "b.txt", "same.txt"]:
            h.source.drop("up", key, key.encode())  # type: ignore[union-attr]
        h.events(3)
        first_a = seq_of(h, "a.txt")
        folder = h.folder("up")
    (folder / "a.txt").write_bytes(b"a, while stopped")
    (folder / "b.txt").unlink()
    (folder / "d" / "e").mkdir(parents=True)
    (folder / "d" / "e" / "new.txt").write_bytes(b"new")
    with Harness(cfg) as h:  # type: ignore[arg-type]
        assert names(h, 0, 3) == [
            "ObjectCreated:Put uploads/a.txt", "ObjectCreated:Put uploads/d/e/new.txt",
            "ObjectRemoved:Delete uploads/b.txt",
        ]  # fmt: skip
        assert seq_of(h, "a.txt") > first_a
        h.idle()
        assert h.count() == 3
        assert keys(h) == {"a.txt", "same.txt", "d/e/new.txt"}
        assert h.s3.get_object(Bucket="uploads", Key="a.txt")["Body"].read() == b"a, while stopped"
    with Harness(cfg) as h:  # type: ignore[arg-type]
        h.idle()
        assert h.count() == 0  # nothing changed since


def test_without_catch_up_only_the_files_of_the_first_watch_are_quiet(tmp_path: Path) -> None:
    """Issue 17 (SPEC's sharpened guarantee): a file written into a watched folder fires exactly
    one event, also when router was not running; only the files present the very first time a
    folder is watched are recorded quietly (``catch_up: true`` reports those too)."""
    cfg = config(tmp_path)
    folder = tmp_path / "drop" / "up"
    folder.mkdir(parents=True)
    (folder / "old.txt").write_bytes(b"there before router")
    os.utime(folder / "old.txt", ns=(10**18, 10**18))  # older than the first start
    with Harness(cfg) as h:  # type: ignore[arg-type]
        h.idle()
        assert h.count() == 0 and keys(h) == {"old.txt"}  # the first watch: quiet, but in the bucket
        h.source.drop("up", "a.txt", b"a")  # type: ignore[union-attr]
        h.events(1)
        first = seq_of(h, "a.txt")
    (folder / "b.txt").write_bytes(b"b")
    os.utime(folder / "b.txt", ns=(10**18, 10**18))  # written while stopped, older than the next start
    (folder / "old.txt").unlink()
    with Harness(cfg) as h:  # type: ignore[arg-type]
        assert names(h, 0, 2) == ["ObjectCreated:Put uploads/b.txt", "ObjectRemoved:Delete uploads/old.txt"]
        h.idle()
        assert h.count() == 2
        assert keys(h) == {"a.txt", "b.txt"}
        h.source.drop("up", "a.txt", b"a again")  # type: ignore[union-attr]
        h.source.remove("up", "b.txt")  # type: ignore[union-attr]
        assert names(h, 2, 2) == [
            "ObjectCreated:Put uploads/a.txt",
            "ObjectRemoved:Delete uploads/b.txt",
        ]
        assert seq_of(h, "a.txt") > first
    with Harness(cfg) as h:  # type: ignore[arg-type]
        h.idle()
        assert h.count() == 0  # nothing changed since


def test_sequencers_grow_past_the_state_even_when_the_clock_does_not(tmp_path: Path) -> None:
    store = Store(tmp_path)
    conn = store.connect()
    try:
        high = (2_000_000_000_000 << 16) | 5  # a sequencer from "the future"
        state = State(conn, ["t"])
        state.put("t", "k", Row(Ident(1, 1, "e"), high))
        again = State(conn, ["t"])
        assert again.get("t", "k") == Row(Ident(1, 1, "e"), high)
        values = [again.next_seq(1.0) for _ in range(3)]
        assert values == [high + 1, high + 2, high + 3]
        assert again.next_seq(3_000_000_000.0) == 3_000_000_000_000 << 16
        again.drop("t", "k")
        assert State(conn, ["t"]).get("t", "k") is None
        count = conn.execute("SELECT COUNT(*) FROM s3_objects").fetchone()[0]
        assert count == 0
    finally:
        conn.close()


def test_the_sequencer_text_is_make_sequencers_layout() -> None:
    ms, counter = 1_700_000_000_000, 7
    assert sequencer_text((ms << 16) | counter) == make_sequencer(counter, ms / 1000)
    assert sequencer_text((ms << 16) | 0xFFFF) < sequencer_text((ms + 1) << 16)


def test_state_rows_of_other_triggers_are_left_alone(tmp_path: Path) -> None:
    store = Store(tmp_path)
    conn: sqlite3.Connection = store.connect()
    try:
        State(conn, ["other"]).put("other", "k", Row(Ident(1, 2, "e"), 9))
        assert State(conn, ["t"]).rows == {"t": {}}
        assert State(conn, ["t"]).last_seq == 9
    finally:
        conn.close()
