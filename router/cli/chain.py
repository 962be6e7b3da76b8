"""``router history --chain ID``: the tree of invocations one invocation caused.

An invocation caused by another one's write through the embedded AWS has
``extra["cause"] = {"function": F, "request_id": R}`` in the journal (``router.lineage``); the
tree follows those links down from ``ID``. A cause whose request id was not known (several
invocations of the writer were running) links to no parent and is left out.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from ..invocation import Invocation

_CHILDREN = "SELECT record FROM journal WHERE json_extract(record, '$.extra.cause.request_id') IN ({}) ORDER BY seq"


def load(conn: sqlite3.Connection, root: str) -> list[Invocation]:
    """``root``'s journaled attempts and every invocation below it, level by level (SQLite reads
    the links; only the rows of the chain are decoded here)."""
    rows = conn.execute("SELECT record FROM journal WHERE id = ? ORDER BY seq", (root,)).fetchall()
    found = [Invocation.from_dict(json.loads(r[0])) for r in rows]
    frontier, seen = ([root] if found else []), {root}
    while frontier:
        level: list[Invocation] = []
        for start in range(0, len(frontier), 500):  # (SQLite's bound-parameter limit)
            part = frontier[start : start + 500]
            sql = _CHILDREN.format(",".join("?" * len(part)))
            level += [Invocation.from_dict(json.loads(r[0])) for r in conn.execute(sql, part)]
        found += level
        frontier = list(dict.fromkeys(i.id for i in level if i.id not in seen))
        seen.update(frontier)
    return found


def cause_text(inv: Invocation) -> str:
    """``caused by F (R)`` for history's DETAIL, or ''."""
    cause = inv.extra.get("cause")
    if not isinstance(cause, dict) or "function" not in cause:
        return ""
    request = cause.get("request_id")
    return f"caused by {cause['function']}" + (f" {request}" if request else "")


def tree(root: str, invocations: Iterable[Invocation]) -> list[str] | None:
    """The lines of the tree under the invocation ``root`` (a request id), oldest child first;
    None when the journal has no invocation with that id."""
    attempts: dict[str, list[Invocation]] = {}
    children: dict[str, list[str]] = {}
    for inv in invocations:
        if inv.id not in attempts:
            cause = inv.extra.get("cause")
            parent = cause.get("request_id") if isinstance(cause, dict) else None
            if isinstance(parent, str) and parent != inv.id:
                children.setdefault(parent, []).append(inv.id)
        attempts.setdefault(inv.id, []).append(inv)
    if root not in attempts:
        return None
    lines = [_node(attempts[root])]
    seen = {root}

    def walk(parent: str, indent: str) -> None:
        kids = [k for k in children.get(parent, []) if k not in seen]
        for n, kid in enumerate(kids):
            seen.add(kid)
            last = n == len(kids) - 1
            lines.append(indent + ("└─ " if last else "├─ ") + _node(attempts[kid]))
            walk(kid, indent + ("   " if last else "│  "))

    walk(root, "")
    return lines


def _node(tries: list[Invocation]) -> str:
    inv = tries[-1]  # the last attempt says how it ended
    when = datetime.fromtimestamp(inv.started_at).strftime("%H:%M:%S") if inv.started_at else "-"
    what = inv.status if inv.ok else f"{inv.status} ({(inv.error or {}).get('errorType', '')})"
    tried = f", {len(tries)} attempts" if len(tries) > 1 else ""
    return f"{inv.function} [{inv.source}:{inv.trigger or '-'}] {inv.id} {what}{tried}  {when} {inv.duration_ms:.1f} ms"
