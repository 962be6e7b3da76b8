"""What one journal row keeps (issue 17): the last 256 KB of a log, events and results up to
Lambda's payload limits with a marker when cut (a cut event is not replayed), and the state
file under ``settings.journal.max_mb`` (the oldest rows go)."""

from __future__ import annotations

import asyncio
import json
import os
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from router.clock import ManualClock
from router.dispatch import journal
from router.dispatch.fakes import FakeRuntime
from router.dispatch.journal import EVENT_KEEP, LOG_KEEP, RESULT_KEEP, NotReplayable
from router.dispatch.journal_writer import JournalWriter
from router.invocation import Invocation
from router.store import Store

from .dispatch_helpers import make_config, running


def _inv(i: int, **kw: Any) -> Invocation:
    base: dict[str, Any] = dict(id=f"id-{i}", function="f", trigger="t", source="http", event={"i": i},
                                result={"n": i}, logs="START\nEND\n", started_at=1000.0 + i)  # fmt: skip
    base.update(kw)
    return Invocation(**base)


async def _write(store: Store, invs: list[Invocation], max_bytes: int = 0) -> None:
    writer = JournalWriter(store)
    writer.start(asyncio.get_running_loop())
    try:
        if max_bytes:
            writer.limit_size(max_bytes)
        for inv in invs:
            writer.append(inv)
            await asyncio.sleep(0)
        await asyncio.wrap_future(writer.sync())
    finally:
        writer.flush()
        await asyncio.to_thread(writer.close)


def _records(store: Store) -> list[dict[str, Any]]:
    with closing(store.connect()) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT record FROM journal ORDER BY seq")]


def test_a_row_keeps_the_last_256_kb_of_a_log_from_a_line_start(tmp_path: Path) -> None:
    lines = [f"line {n} é\n" for n in range(200_000)]  # ~2.6 MB, not ASCII
    logs = "START\n" + "".join(lines) + "END\n"
    store = Store(tmp_path)
    asyncio.run(_write(store, [_inv(1, logs=logs), _inv(2)]))
    cut, whole = _records(store)
    kept = cut["logs"]
    head, _, rest = kept.partition("\n")
    assert head.startswith("[router: the journal keeps the last 256 KB of a log: ") and head.endswith(" were cut]")
    assert logs.endswith(rest) and rest.startswith("line ") and len(rest.encode()) <= LOG_KEEP
    assert cut["extra"] == {"journal_cut": {"logs": len(logs.encode())}}
    assert (whole["logs"], whole["extra"]) == ("START\nEND\n", {})


def test_an_event_or_result_over_lambdas_limits_is_replaced_by_a_marker(tmp_path: Path) -> None:
    big_event = {"body": "e" * EVENT_KEEP}
    spliced = _inv(1, event=big_event)
    spliced.set_event_json(json.dumps(big_event))  # as the runtime encoded it
    invs = [spliced, _inv(2, event=big_event), _inv(3, result="r" * RESULT_KEEP), _inv(4, result="r" * 1000)]
    store = Store(tmp_path)
    asyncio.run(_write(store, invs))
    one, two, three, four = _records(store)
    size = len(json.dumps(big_event))
    for row in (one, two):
        assert row["event"] == f"[router: this event ({size} bytes) is over the journal's limit of {EVENT_KEEP} " \
                               "bytes and was not kept]"  # fmt: skip
        assert row["extra"] == {"journal_cut": {"event": size}} and row["result"] == {"n": int(row["id"][-1])}
    assert three["result"].startswith(f"[router: this result ({RESULT_KEEP + 2} bytes) is over")
    assert three["extra"] == {"journal_cut": {"result": RESULT_KEEP + 2}} and three["event"] == {"i": 3}
    assert four["result"] == "r" * 1000 and four["extra"] == {}


def test_the_state_file_stays_under_max_mb_the_oldest_rows_going(tmp_path: Path) -> None:
    store = Store(tmp_path)
    limit = 2 * 1024 * 1024
    invs = [_inv(i, logs="x" * 100_000 + "\n") for i in range(80)]  # 8 MB of logs
    asyncio.run(_write(store, invs, max_bytes=limit))
    with closing(store.connect()) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        used = pages * conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ids = [r["id"] for r in _records(store)]
    assert used <= limit and os.path.getsize(store.path) <= limit * 1.25
    assert 5 < len(ids) < 80 and ids == [f"id-{i}" for i in range(80 - len(ids), 80)]  # the newest, in order


def test_prune_keeps_the_file_under_max_mb(tmp_path: Path) -> None:
    store = Store(tmp_path)
    asyncio.run(_write(store, [_inv(i, logs="y" * 100_000) for i in range(30)]))
    with closing(store.connect()) as conn:
        gone = journal.prune(conn, now=2000.0, max_rows=1000, max_days=1, max_mb=1)
        assert 10 <= gone < 30
        assert conn.execute("SELECT MAX(seq) FROM journal").fetchone()[0] == 30


def test_max_mb_is_a_setting_and_reaches_the_journal(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"f": {}}, journal={"max_mb": 1})
    assert config.settings.journal.max_mb == 1
    assert make_config(tmp_path, {"f": {}}).settings.journal.max_mb == 512

    async def main() -> None:
        async with running(config, FakeRuntime(lambda fn, ev: None), ManualClock()) as d:
            for i in range(40):
                d.publish(_inv(i, logs="z" * 100_000))
                await asyncio.sleep(0)
            assert 5 < len(d.history()) < 40

    asyncio.run(main())


def test_a_cut_event_is_not_replayed(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"f": {}})
    ran: list[Any] = []

    async def main() -> None:
        async with running(config, FakeRuntime(lambda fn, ev: ran.append(ev)), ManualClock()) as d:
            d.publish(_inv(1, event={"body": "e" * EVENT_KEEP}))
            with pytest.raises(NotReplayable, match=r"invocation id-1 cannot be replayed: its event \(\d+ bytes\) "
                                                    r"was over the journal's 6 MB limit and was not kept"):  # fmt: skip
                await d.replay("id-1")
            assert ran == []

    asyncio.run(main())
