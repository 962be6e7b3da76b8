"""A queued event's cause (router/lineage.py) is durable: a restart finds it with the event."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from router.dispatch import event_queue
from router.dispatch.event_queue import Entry
from router.store import SCHEMA_VERSION, Store


def entry(event_id: str, cause: dict[str, object] | None) -> Entry:
    return Entry(id=event_id, function="f", trigger="t", source="s3", event={"k": 1}, event_json='{"k":1}',
                 accepted_at=1.0, due_at=1.0, cause=cause)  # fmt: skip


def test_the_cause_survives_a_restart(tmp_path: Path) -> None:
    cause = {"function": "writer", "request_id": "r1", "chain": {"writer": 1, "f": 3}}
    with closing(Store(tmp_path).connect()) as conn:
        event_queue.insert(conn, entry("e1", cause))
        event_queue.insert(conn, entry("e2", None))
        conn.commit()
    with closing(Store(tmp_path).connect()) as conn:
        (first, second), _ = event_queue.recover(conn)
    assert (first.id, first.cause) == ("e1", cause) and (second.id, second.cause) == ("e2", None)
    assert Store(tmp_path).schema_version == SCHEMA_VERSION
