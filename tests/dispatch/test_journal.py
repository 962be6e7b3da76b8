"""The journal: sync invocations, history queries, retention, replay of journaled and
dead-lettered invocations."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from router.clock import ManualClock
from router.dispatch import UnknownInvocation, journal
from router.dispatch.fakes import FakeRuntime
from router.invocation import Invocation
from router.store import Store

from .dispatch_helpers import Seen, make_config, running, settle


def handler(function: str, event: Any) -> Any:
    if event.get("fail"):
        raise RuntimeError("failed on purpose")
    return {"echo": event}


def test_sync_invocations_are_journaled_and_announced(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}})

    async def main() -> None:
        async with running(config, FakeRuntime(handler), ManualClock()) as d:
            seen = Seen(d)
            ok = await d.invoke("work", {"a": 1}, trigger="hello", source="http")
            bad = await d.invoke("work", {"fail": True})
            assert ok.ok and ok.result == {"echo": {"a": 1}} and ok.attempt == 1
            assert (ok.trigger, ok.source, ok.event_id) == ("hello", "http", None)
            assert bad.status == "error" and bad.error is not None
            assert bad.error["errorMessage"] == "failed on purpose"
            assert seen.invocations == [ok, bad]
            history = d.history()
            assert [i.id for i in history] == [ok.id, bad.id]
            assert history[0].to_dict() == ok.to_dict()
            assert [i.id for i in d.history(status="error")] == [bad.id]
            assert [i.id for i in d.history(last=1)] == [bad.id]
            assert d.history(function="other") == []

    asyncio.run(main())


def test_unsubscribe_stops_the_calls_and_a_failing_subscriber_harms_no_one(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}})
    calls: list[str] = []

    def broken(inv: Invocation) -> None:
        raise RuntimeError("subscriber bug")

    async def main() -> None:
        async with running(config, FakeRuntime(handler), ManualClock()) as d:
            d.subscribe(broken)
            stop = d.subscribe(lambda inv: calls.append(inv.id))
            first = await d.invoke("work", {})
            stop()
            await d.invoke("work", {})
            assert calls == [first.id]
            assert len(d.history()) == 2

    asyncio.run(main())


def _inv(i: int, started_at: float) -> Invocation:
    return Invocation(id=f"id-{i}", function="f", started_at=started_at, event={"i": i})


def test_prune_keeps_the_newest_rows_and_drops_old_days(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with closing(store.connect()) as conn:
        for i in range(150):
            journal.insert(conn, _inv(i, 1000.0 + i))
        assert journal.prune(conn, now=1200.0, max_rows=100, max_days=1) == 50
        assert [i.id for i in journal.query(conn, last=2)] == ["id-148", "id-149"]
        assert len(journal.query(conn)) == 100
        # a day later everything before now - 1 day goes
        assert journal.prune(conn, now=1000.0 + 86400 + 120, max_rows=100, max_days=1) == 70
        assert journal.query(conn)[0].id == "id-120"


def test_pruning_by_days_walks_from_the_oldest_row_without_an_index(tmp_path: Path) -> None:
    """Rows are appended as invocations end: one that ran long started before the rows ahead of
    it. Pruning by days drops every row before the first young one; such a row goes at the next
    prune, once the rows before it have gone."""
    store = Store(tmp_path)
    with closing(store.connect()) as conn:
        assert "journal_started" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        day = 86400.0
        for i, started in enumerate([1.0, 2.0, 3.0 * day, 4.0, 5.0 * day, 6.0 * day]):
            journal.insert(conn, _inv(i, started))
        assert journal.prune(conn, now=2 * day, max_rows=100, max_days=1) == 2
        assert [i.id for i in journal.query(conn)] == ["id-2", "id-3", "id-4", "id-5"]
        assert journal.prune(conn, now=4 * day + 1, max_rows=100, max_days=1) == 2  # id-2 and id-3 now
        assert [i.id for i in journal.query(conn)] == ["id-4", "id-5"]
        assert journal.prune(conn, now=100 * day, max_rows=100, max_days=1) == 2  # all old: all go
        assert journal.query(conn) == []
        assert journal.prune(conn, now=100 * day, max_rows=100, max_days=1) == 0  # empty: nothing


def test_the_journal_is_pruned_to_its_settings_at_start(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}}, journal={"max_rows": 100, "max_days": 1})
    store = Store(config.state_dir)
    clock = ManualClock(start=10 * 86400.0)
    with closing(store.connect()) as conn:
        for i in range(120):
            journal.insert(conn, _inv(i, clock.time() - (2 * 86400 if i < 10 else 60)))

    async def main() -> None:
        async with running(config, FakeRuntime(handler), clock, store) as d:
            history = d.history()
            assert len(history) == 100 and history[0].id == "id-20"

    asyncio.run(main())


def test_replay_runs_a_journaled_invocation_again(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {}})

    async def main() -> None:
        async with running(config, FakeRuntime(handler), ManualClock()) as d:
            seen = Seen(d)
            await d.enqueue("work", {"n": 5}, trigger="uploads", source="s3")
            await seen.count(1)
            original = seen.invocations[0]
            again = await d.replay(original.id)
            assert again.id != original.id
            assert (again.function, again.event, again.trigger) == ("work", {"n": 5}, "uploads")
            assert again.source == "replay" and again.ok
            assert again.extra == {"replay_of": original.id, "replay_from": "journal"}
            with pytest.raises(UnknownInvocation, match="no invocation or dead letter with id 'nope'"):
                await d.replay("nope")

    asyncio.run(main())


def test_replay_runs_a_dead_letter_again(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"work": {"async": {"retries": 0}}})
    store = Store(config.state_dir)

    async def main() -> str:
        async with running(config, FakeRuntime(handler), ManualClock(), store) as d:
            seen = Seen(d)
            event_id = await d.enqueue("work", {"fail": True})
            await seen.count(1)
            await settle()
        return event_id

    event_id = asyncio.run(main())
    with closing(store.connect()) as conn:  # the journal forgot it; the dead letter did not
        conn.execute("DELETE FROM journal")

    async def again() -> None:
        async with running(config, FakeRuntime(lambda fn, ev: "fixed"), ManualClock(), store) as d:
            inv = await d.replay(event_id)
            assert inv.ok and inv.result == "fixed" and inv.event == {"fail": True}
            assert inv.extra["replay_from"] == "dead-letter"

    asyncio.run(again())


def test_a_record_with_the_runtimes_event_json_reads_back_the_same() -> None:
    """The journal splices in the event as the runtime encoded it; the keys before it (and a
    result holding an "event" key of its own) must not confuse the splice."""
    event = {"version": "2.0", "body": None, "nested": [1, {"event": None}]}
    plain = Invocation(id="r-1", function="f", trigger='a "event": null name', event=event,
                       result={"event": None, "n": 1.5})  # fmt: skip
    spliced = Invocation(**{k: v for k, v in vars(plain).items() if k != "_event_json"})
    spliced.set_event_json('{"version":"2.0","body":null,"nested":[1,{"event":null}]}')
    assert json.loads(spliced.to_json()) == json.loads(plain.to_json()) == plain.to_dict()
    assert "_event_json" not in plain.to_dict()
