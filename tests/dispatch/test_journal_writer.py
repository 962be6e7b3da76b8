"""JournalWriter: rows batched on the loop, written by the journal process (real), read back
equal to what ``Invocation.to_json`` makes; sync as the barrier from any thread; the thread
takes over when the process is gone; close commits everything."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from router.dispatch import journal, journal_writer
from router.dispatch.journal_writer import JournalWriter
from router.invocation import Invocation
from router.store import Store


def _inv(i: int, **kw: Any) -> Invocation:
    base: dict[str, Any] = dict(id=f"id-{i}", function="f", trigger="t", source="http",
                                event={"i": i, "s": "é\u2028"}, result={"n": i, "f": 1.5},
                                logs=f"START\nline {i}\nEND\n", started_at=1000.0 + i,
                                duration_ms=0.25, init_duration_ms=None if i else 80.0,
                                attempt=1 + i % 2, extra={"k": [1, 2]})  # fmt: skip
    base.update(kw)
    return Invocation(**base)


@asynccontextmanager
async def writing(store: Store) -> AsyncIterator[JournalWriter]:
    writer = JournalWriter(store)
    writer.start(asyncio.get_running_loop())
    try:
        yield writer
    finally:
        writer.flush()
        await asyncio.to_thread(writer.close)


def _records(store: Store) -> list[dict[str, Any]]:
    with closing(store.connect()) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT record FROM journal ORDER BY seq")]


def test_rows_are_written_by_the_journal_process_as_to_json_makes_them(tmp_path: Path) -> None:
    store = Store(tmp_path)
    spliced = _inv(1)
    spliced.set_event_json(json.dumps(spliced.event, separators=(",", ":")))
    invs = [_inv(0), spliced, _inv(2, status="error", error={"errorType": "E"}, result=None)]

    async def main() -> None:
        async with writing(store) as writer:
            for inv in invs:
                writer.append(inv)
            await asyncio.wrap_future(writer.sync())
            assert writer.pid is not None and writer.pid != os.getpid()
            assert psutil.Process(writer.pid).cmdline()[-2:][1] == str(store.path)
            if hasattr(os, "SCHED_BATCH"):  # batch work: waking it never preempts the daemon's loop
                assert os.sched_getscheduler(writer.pid) == os.SCHED_BATCH
            assert _records(store) == [json.loads(inv.to_json()) for inv in invs]
            with closing(store.connect()) as conn:
                assert journal.query(conn) == invs  # the columns too (query filters on them)
                assert [i.id for i in journal.query(conn, status="error")] == ["id-2"]

    asyncio.run(main())


def test_a_row_marshal_cannot_carry_is_made_here_and_a_bad_one_is_skipped_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    @dataclass
    class Point:
        x: int

    store = Store(tmp_path)
    circular: dict[str, Any] = {}
    circular["self"] = circular
    odd = _inv(1, extra={"p": Point(3)})  # marshal refuses a dataclass: the parent makes it
    invs = [_inv(0), odd, _inv(2, event=circular), _inv(3)]

    async def main() -> None:
        async with writing(store) as writer:
            for inv in invs:
                writer.append(inv)
            await asyncio.wrap_future(writer.sync())

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())
    records = _records(store)
    assert [r["id"] for r in records] == ["id-0", "id-1", "id-3"]
    assert records[1]["extra"] == {"p": {"x": 3}}
    assert "cannot journal invocation id-2" in caplog.text


class _Partial:
    """The writer's socket, but the loop's sends take at most ``limit`` bytes (as a full
    socket buffer would); the thread's ``sendall`` and reads go to the real socket."""

    def __init__(self, sock: Any, limit: int) -> None:
        self.sock, self.limit, self.partial = sock, limit, 0

    def send(self, data: bytes, flags: int = 0) -> int:
        self.partial += 1
        return int(self.sock.send(data[: self.limit], flags))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_the_rest_of_a_batch_the_loop_could_not_send_goes_first(tmp_path: Path) -> None:
    """The loop sends a batch itself when the thread is idle; what the socket did not take
    goes to the thread ahead of everything after it, so the rows stay whole and in order."""
    store = Store(tmp_path)

    async def main() -> None:
        async with writing(store) as writer:
            writer.append(_inv(0))
            await asyncio.wrap_future(writer.sync())  # the process runs: the loop may send now
            partial = writer._sock = _Partial(writer._sock, 100)  # type: ignore[assignment]
            for i in range(1, 20):
                writer.append(_inv(i))
            writer.flush()  # on the loop: 100 bytes of the frame, the rest by the thread
            assert partial.partial == 1
            for i in range(20, 25):
                writer.append(_inv(i))
            await asyncio.wrap_future(writer.sync())
            assert [r["id"] for r in _records(store)] == [f"id-{i}" for i in range(25)]

    asyncio.run(main())


def test_an_error_in_a_batch_the_loop_sent_is_logged_without_a_sync(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path)

    async def main() -> None:
        async with writing(store) as writer:
            writer.append(_inv(0))
            await asyncio.wrap_future(writer.sync())
            writer.append(_inv(1, function=("not", "text")))  # SQLite cannot bind it
            writer.append(_inv(2))
            writer.flush()
            for _ in range(60):  # the idle thread reads the report within IDLE_CHECK_S
                if "cannot journal invocation id-1" in caplog.text:
                    break
                await asyncio.sleep(0.05)
            assert "cannot journal invocation id-1" in caplog.text
            await asyncio.wrap_future(writer.sync())
            assert [r["id"] for r in _records(store)] == ["id-0", "id-2"]

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())


def test_sync_from_another_thread_sees_every_row_appended_before(tmp_path: Path) -> None:
    store = Store(tmp_path)

    async def main() -> None:
        async with writing(store) as writer:
            for i in range(50):
                writer.append(_inv(i))
            seen = await asyncio.to_thread(lambda: (writer.sync().result(10), len(_records(store)))[1])
            assert seen == 50
            # appended from another thread: it goes through the loop, in order
            await asyncio.to_thread(writer.append, _inv(50))
            await asyncio.wrap_future(writer.sync())
            assert [r["id"] for r in _records(store)][-1] == "id-50"

    asyncio.run(main())


def test_when_the_process_dies_the_thread_writes_and_nothing_after_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path)

    async def main() -> None:
        async with writing(store) as writer:
            writer.append(_inv(0))
            await asyncio.wrap_future(writer.sync())
            pid = writer.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await asyncio.to_thread(psutil.Process(pid).wait, 5)
            for i in range(1, 4):
                writer.append(_inv(i))
            await asyncio.wrap_future(writer.sync())
            assert writer.pid is None
            assert [r["id"] for r in _records(store)] == ["id-0", "id-1", "id-2", "id-3"]

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())
    assert "the journal process failed" in caplog.text and "written in-process" in caplog.text


def test_a_process_that_cannot_run_leaves_the_writing_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(journal_writer, "CHILD", tmp_path / "missing.py")
    store = Store(tmp_path)

    async def main() -> None:
        async with writing(store) as writer:
            writer.append(_inv(0))
            writer.execute(journal.prune_statements(now=1000.0 + 86400 + 0.5, max_rows=10, max_days=1))
            writer.append(_inv(1))
            await asyncio.wrap_future(writer.sync())

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())
    assert [r["id"] for r in _records(store)] == ["id-1"]  # id-0 was pruned, in order
    assert "the journal process failed" in caplog.text


def test_close_commits_what_was_appended_without_a_sync(tmp_path: Path) -> None:
    store = Store(tmp_path)

    async def main() -> None:
        async with writing(store) as writer:
            for i in range(300):
                writer.append(_inv(i))
            assert threading.active_count() >= 2

    asyncio.run(main())
    assert len(_records(store)) == 300


def test_a_failed_transaction_is_reported_its_syncs_answered_and_the_process_goes_on(
    tmp_path: Path,
) -> None:
    """journal_child.serve: the state file locked past the busy timeout loses that batch,
    says so, answers its sync, and writes the next batch."""
    import socket

    from router.dispatch import journal_child as child

    store = Store(tmp_path)
    conn = store.connect()
    conn.execute("PRAGMA busy_timeout=20")  # (the process waits 30 s; a test does not)
    reports: list[str] = []
    ours, theirs = socket.socketpair()
    server = threading.Thread(target=child.serve, args=(theirs, child.Journal(conn, reports.append)))
    server.start()
    rows = journal.encode_rows([_inv(0)])

    def send(*frames: tuple[int, bytes]) -> bytes:
        ours.sendall(b"".join(child.HEADER.pack(len(p), k) + p for k, p in frames))
        return ours.recv(100)

    init = (child.INIT, journal.WIRE_INIT)
    with closing(store.connect()) as locker:
        locker.execute("BEGIN EXCLUSIVE")
        assert send(init, (child.ROWS, rows), (child.SYNC, b"1")) == child.HEADER.pack(1, child.ACK) + b"1"
        locker.execute("ROLLBACK")
    assert len(reports) == 1 and "cannot write the journal" in reports[0] and "1 batch" in reports[0]
    later = journal.encode_rows([_inv(1)])
    assert send((child.ROWS, later), (child.SYNC, b"2")) == child.HEADER.pack(1, child.ACK) + b"2"
    ours.close()
    server.join(5)
    theirs.close()
    conn.close()
    assert not server.is_alive()
    assert [r["id"] for r in _records(store)] == ["id-1"]
