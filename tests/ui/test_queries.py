"""The dashboard's journal queries (on a real state file) and its request gate: no browser."""

from __future__ import annotations

import asyncio
from contextlib import closing
from pathlib import Path

import pytest

from router.dispatch import journal
from router.invocation import Invocation
from router.ui import queries
from router.ui.server import Gate, Request


def _inv(i: int, function: str = "f", status: str = "ok", **kw: object) -> Invocation:
    return Invocation(id=kw.pop("id", f"r{i}"), function=function, status=status, started_at=1000.0 + i,  # type: ignore[arg-type]
                      duration_ms=float(i), event={"n": i}, **kw)  # type: ignore[arg-type]


@pytest.fixture()
def conn(tmp_path: Path):  # type: ignore[no-untyped-def]
    from router.store import Store

    with closing(Store(tmp_path).connect()) as c:
        yield c


def test_pages_go_newest_first_with_cursors_and_filters(conn) -> None:  # type: ignore[no-untyped-def]
    journal.insert_many(conn, [_inv(i, "f" if i % 2 else "g", "error" if i % 5 == 0 else "ok") for i in range(1, 31)])
    first = queries.page(conn, limit=10)
    assert [r["id"] for r in first["rows"]] == [f"r{i}" for i in range(30, 20, -1)]
    second = queries.page(conn, limit=10, before=first["before"])
    assert [r["id"] for r in second["rows"]] == [f"r{i}" for i in range(20, 10, -1)]
    failed = queries.page(conn, status="failed")
    assert [r["id"] for r in failed["rows"]] == ["r30", "r25", "r20", "r15", "r10", "r5"] and failed["before"] is None
    assert [r["id"] for r in queries.page(conn, function="f", status="error")["rows"]] == ["r25", "r15", "r5"]
    stats = queries.stats(conn)
    assert stats["f"]["invocations"] == 15 and stats["f"]["errors"] == 3 and stats["f"]["last"]["id"] == "r29"
    assert stats["g"]["p50_ms"] == 16.0 and stats["g"]["p99_ms"] == 30.0


def test_the_queries_use_indexes_not_a_scan_of_the_journal(conn) -> None:  # type: ignore[no-untyped-def]
    def plan(sql: str, *params: object) -> str:
        return " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    failed = "SELECT seq FROM journal WHERE status != 'ok' AND status = ? ORDER BY seq DESC"
    assert "journal_failed" in plan(failed, "x")
    assert "journal_event" in plan("SELECT seq FROM journal WHERE event_id = ? ORDER BY seq", "e")
    assert "journal_function" in plan("SELECT seq FROM journal WHERE function = ? ORDER BY seq DESC", "f")
    counts = "SELECT function, COUNT(*), MAX(seq) FROM journal GROUP BY function"
    assert "COVERING INDEX journal_function" in plan(counts)


def test_one_invocation_with_its_attempts_and_chain(conn) -> None:  # type: ignore[no-untyped-def]
    by_root = {"function": "upload", "request_id": "root"}
    journal.insert_many(conn, [
        _inv(1, "upload", id="root"),
        _inv(2, "thumb", "error", id="ev1", event_id="ev1", extra={"cause": by_root}),
        _inv(3, "other"),
        _inv(4, "thumb", id="ev1", event_id="ev1", attempt=2, extra={"cause": dict(by_root)}),
        _inv(5, "index", id="leaf", extra={"cause": {"function": "thumb", "request_id": "ev1"}}),
        _inv(6, "upload", id="again", extra={"replay_of": "root", "replay_from": "journal"}),
    ])  # fmt: skip
    thumb = queries.one(conn, seq=4)
    assert thumb is not None and thumb["attempt"] == 2
    assert [(a["attempt"], a["status"]) for a in thumb["attempts"]] == [(1, "error"), (2, "ok")]
    assert [c["id"] for c in thumb["chain"]["causes"]] == ["root"]
    assert [c["id"] for c in thumb["chain"]["caused"]] == ["leaf"]
    root = queries.one(conn, invocation_id="root")
    assert root is not None
    caused = root["chain"]["caused"]
    assert [(c["id"], c["replay"]) for c in caused] == [("ev1", False), ("again", True)]
    assert [c["id"] for c in caused[0]["caused"]] == ["leaf"]
    leaf = queries.one(conn, invocation_id="leaf")
    assert leaf is not None and [c["id"] for c in leaf["chain"]["causes"]] == ["root", "ev1"]
    assert queries.one(conn, invocation_id="nope") is None


def _req(method: str = "GET", path: str = "/api/overview", **headers: str) -> Request:
    return Request(method, path, {}, {k.replace("_", "-").lower(): v for k, v in headers.items()})


def test_the_gate_checks_host_origin_and_token() -> None:
    gate = Gate("127.0.0.1", 4000)
    assert gate.refuse(_req(host="127.0.0.1:4000")) is None
    assert gate.refuse(_req(host="localhost:4000", origin="http://localhost:4000")) is None
    assert "DNS rebinding" in (gate.refuse(_req(host="attacker.example:4000")) or "")
    assert "DNS rebinding" in (gate.refuse(_req(host="127.0.0.1:4001")) or "")
    assert "origin" in (gate.refuse(_req(host="127.0.0.1:4000", origin="http://127.0.0.1:3000")) or "")
    assert "cross-site" in (gate.refuse(_req(host="127.0.0.1:4000", sec_fetch_site="cross-site")) or "")
    assert gate.refuse(_req(path="/", host="127.0.0.1:4000", sec_fetch_site="cross-site")) is None  # a link to the page
    post = _req("POST", "/api/fire", host="127.0.0.1:4000", origin="http://127.0.0.1:4000")
    assert "token" in (gate.refuse(post) or "")
    post.headers["x-router-token"] = "wrong"
    assert "token" in (gate.refuse(post) or "")
    post.headers["x-router-token"] = gate.token
    assert gate.refuse(post) is None


def test_the_feed_subscribes_only_while_a_page_listens() -> None:
    asyncio.run(_feed())


async def _feed() -> None:
    from router.ui.live import LiveFeed

    subscribers: list[object] = []

    def subscribe(callback: object) -> object:
        subscribers.append(callback)
        return lambda: subscribers.remove(callback)

    feed = LiveFeed(subscribe)  # type: ignore[arg-type]
    assert subscribers == []  # nobody watching: nothing on the dispatcher's hot path
    stream = feed.stream()
    assert (await anext(stream)).startswith(b"retry:")
    assert len(subscribers) == 1
    for i in range(3):
        subscribers[0](_inv(i))  # type: ignore[operator]
    chunk = await anext(stream)
    assert chunk.startswith(b"event: invocations\ndata: ") and chunk.count(b'"function": "f"') == 3
    await stream.aclose()
    assert subscribers == [] and feed.listeners == 0


def test_retry_now_makes_a_waiting_entry_due() -> None:
    from router.dispatch.event_queue import DueIndex, Entry

    index = DueIndex()
    for i, due in enumerate((5.0, 50.0, 500.0)):
        index.push(Entry(id=f"e{i}", function="f", trigger=None, source="s3", event={}, event_json="{}",
                         accepted_at=0.0, due_at=due))  # fmt: skip
    assert index.hurry("e2", 1.0) and not index.hurry("nope", 1.0)
    assert [index.pop("f").id for _ in range(3)] == ["e2", "e0", "e1"]
