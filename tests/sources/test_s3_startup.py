"""The start-up sync after ready (``background_sync``, as ``router run`` and ``Router`` start the
source): the state file is read and the folders scanned only then, and what another program
changes in a folder while that scan runs is reported once, whichever side of the scan it falls."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from router.sources import s3_sync

from .s3_helpers import Harness, make_config, summary, trigger

BOTH = "['s3:ObjectCreated:*', 's3:ObjectRemoved:*']"
OLD_NS = 10**18  # older than any start: not news at a first watch


class AfterReady(Harness):
    """The source started as the app starts it: ``start()`` returns once watching; the sync
    begins at :meth:`catch_up`."""

    async def _start(self) -> None:
        original = s3_sync.Syncer.start
        started: list[bool] = []

        def noted(syncer: s3_sync.Syncer) -> None:
            started.append(True)
            original(syncer)

        s3_sync.Syncer.start = noted  # type: ignore[method-assign]
        try:
            from router.aws import Aws
            from router.clock import Clock
            from router.dispatch.fakes import FakeDispatch
            from router.sources.base import SourceContext
            from router.sources.s3 import S3Source
            from router.store import Store

            self.aws = Aws(self.config)
            await self.aws.start(self.stack)
            ctx = SourceContext(config=self.config, aws=self.aws, store=Store(self.config.state_dir), clock=Clock(),
                                dispatch=FakeDispatch(self.config, submit=self.emit))  # fmt: skip
            self.source = S3Source([t for t in self.config.triggers if t.kind == "s3"], ctx)
            self.source.background_sync = True
            await self.source.start(self.stack)
        finally:
            s3_sync.Syncer.start = original  # type: ignore[method-assign]
        self.started_before_ready = bool(started)

    def catch_up(self) -> None:
        assert self.source is not None
        asyncio.run_coroutine_threadsafe(self.source.caught_up(), self.loop).result(60)


def during_scan(monkeypatch: pytest.MonkeyPatch, change: Any, after: int = 5) -> list[bool]:
    """Make ``change()`` happen once, in the middle of the next folder scan: after ``after``
    files were listed. The scan lists one folder at a time, last pushed first: d3 is read by
    then, d0 to d2 are not yet."""
    done: list[bool] = []
    walk = s3_sync.walk_files

    def walking(top: str) -> Iterator[tuple[str, os.stat_result]]:
        for i, item in enumerate(walk(top)):
            if i == after and not done:
                change()
                done.append(True)
            yield item

    monkeypatch.setattr(s3_sync, "walk_files", walking)
    return done


def test_a_file_written_during_the_post_ready_scan_is_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(trigger("up", f"{{dir: drop/up, bucket: uploads, events: {BOTH}}}"), tmp_path,
                      state=tmp_path / "state")  # fmt: skip
    folder = tmp_path / "drop" / "up"
    for n in range(40):
        path = folder / f"d{n % 4}" / f"f{n}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"there before router %d" % n)
        os.utime(path, ns=(OLD_NS, OLD_NS))

    def first() -> None:  # a new file in every folder (some scanned already, some not) and an overwrite
        for d in range(4):
            (folder / f"d{d}" / "late.txt").write_bytes(b"written during the scan")
        (folder / "d1" / "f1.txt").write_bytes(b"overwritten during the scan")

    done = during_scan(monkeypatch, first)
    with AfterReady(cfg) as h:  # type: ignore[arg-type]
        assert h.source is not None and h.source.syncer is not None
        assert not h.started_before_ready and not h.source.syncer.state.loaded  # ready before the state is read
        h.catch_up()
        assert done
        expected = [f"ObjectCreated:Put uploads/d{d}/late.txt" for d in range(4)]
        expected.append("ObjectCreated:Put uploads/d1/f1.txt")
        assert sorted(summary(e) for _, e in h.events(5)) == sorted(expected)
        h.idle()
        assert h.count() == 5  # none doubled by the watcher's own sighting

    def second() -> None:  # the next start: deletes (a folder scanned, one not yet) and a new file
        (folder / "d2" / "f2.txt").unlink()
        (folder / "d3" / "f3.txt").unlink()
        (folder / "d3" / "later.txt").write_bytes(b"written during the second scan")

    done = during_scan(monkeypatch, second)
    with AfterReady(cfg) as h:  # type: ignore[arg-type]
        h.catch_up()
        assert done
        assert sorted(summary(e) for _, e in h.events(3)) == [
            "ObjectCreated:Put uploads/d3/later.txt", "ObjectRemoved:Delete uploads/d2/f2.txt",
            "ObjectRemoved:Delete uploads/d3/f3.txt",
        ]  # fmt: skip
        h.idle()
        assert h.count() == 3


def _folder_of(tmp_path: Path, files: int = 40) -> Path:
    folder = tmp_path / "drop" / "up"
    for n in range(files):
        path = folder / f"d{n % 4}" / f"f{n}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"there before router %d" % n)
        os.utime(path, ns=(OLD_NS, OLD_NS))
    return folder


def _stop_during_scan(monkeypatch: pytest.MonkeyPatch, h: AfterReady) -> list[bool]:
    """stop() called while the start-up sync walks the folder (as a Ctrl-C right after ready)."""

    def stop_called() -> None:
        assert h.source is not None and h.source.syncer is not None
        h.source.syncer.stopping = True

    return during_scan(monkeypatch, stop_called)


def test_a_stop_during_the_start_up_sync_leaves_the_rest_to_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Changes made while router was stopped are reported once over the start that was stopped
    during its sync and the next one, whichever of the two finds them."""
    caplog.set_level(logging.INFO, logger="router.sources.s3_sync")
    cfg = make_config(trigger("up", f"{{dir: drop/up, bucket: uploads, events: {BOTH}}}"), tmp_path,
                      state=tmp_path / "state")  # fmt: skip
    folder = _folder_of(tmp_path)
    with Harness(cfg) as h:  # type: ignore[arg-type]  # the first watch: recorded quietly
        h.idle(0.2)
        assert h.count() == 0
    (folder / "d0" / "f0.txt").write_bytes(b"changed while stopped")
    (folder / "d1" / "f1.txt").unlink()
    (folder / "d2" / "new.txt").write_bytes(b"new while stopped")
    (folder / "d3" / "new.txt").write_bytes(b"new while stopped")
    expected = ["ObjectCreated:Put uploads/d0/f0.txt", "ObjectCreated:Put uploads/d2/new.txt",
                "ObjectCreated:Put uploads/d3/new.txt", "ObjectRemoved:Delete uploads/d1/f1.txt"]  # fmt: skip
    seen = []
    with AfterReady(cfg) as h:  # type: ignore[arg-type]
        done = _stop_during_scan(monkeypatch, h)
        h.catch_up()
        assert done
    seen += [summary(e) for _, e in h.received]  # (what the stop settled)
    assert "stopping during the start-up sync" in caplog.text
    monkeypatch.undo()
    with Harness(cfg) as h:  # type: ignore[arg-type]
        h.events(len(expected) - len(seen))
        h.idle()
        seen += [summary(e) for _, e in h.received]
    assert sorted(seen) == expected  # each once
    with Harness(cfg) as h:  # type: ignore[arg-type]
        h.idle()
        assert h.count() == 0  # nothing left over


def test_a_first_watch_stopped_during_its_sync_is_a_first_watch_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(trigger("up", f"{{dir: drop/up, bucket: uploads, events: {BOTH}}}"), tmp_path,
                      state=tmp_path / "state")  # fmt: skip
    _folder_of(tmp_path)
    with AfterReady(cfg) as h:  # type: ignore[arg-type]
        done = _stop_during_scan(monkeypatch, h)
        h.catch_up()
        assert done
    assert h.count() == 0
    monkeypatch.undo()
    with Harness(cfg) as h:  # type: ignore[arg-type]
        h.idle()
        assert h.count() == 0  # the files there before the first watch stay quiet
        listed = h.s3.list_objects_v2(Bucket="uploads").get("Contents", [])
        assert len(listed) == 40  # and all are in the bucket now
