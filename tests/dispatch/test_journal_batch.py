"""journal.insert_many: many rows per statement, in order; a bad row is skipped alone."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

from router.dispatch import journal
from router.invocation import Invocation
from router.store import Store


def _inv(i: int, event: Any = None) -> Invocation:
    return Invocation(id=f"id-{i}", function="f", started_at=1000.0 + i, event=event or {"i": i},
                      result={"n": i}, logs=f"line {i}\n")  # fmt: skip


def test_a_batch_is_journaled_in_order_and_reads_back_equal(tmp_path: Path) -> None:
    invs = [_inv(i) for i in range(300)]  # four statements of 64 rows and one of 44
    with closing(Store(tmp_path).connect()) as conn:
        journal.insert_many(conn, invs)
        assert journal.query(conn) == invs


def test_a_row_that_cannot_be_serialized_is_skipped_alone(tmp_path: Path) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop  # json.dumps raises ValueError (circular reference)
    invs = [_inv(0), _inv(1, event=loop), _inv(2)]
    with closing(Store(tmp_path).connect()) as conn:
        journal.insert_many(conn, invs)
        assert [inv.id for inv in journal.query(conn)] == ["id-0", "id-2"]
