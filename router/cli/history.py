"""``router history [-c CONFIG] [--function F] [--last N] [--status S] [--json] [--wide]``: past
invocations from the journal in the state file (settings.state_dir), oldest first."""

from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..invocation import Invocation, json_default
from . import chain
from .common import config_option, load, user_errors

STATUSES = ("ok", "error", "timeout", "crashed", "throttled")
HEADERS = ["TIME", "ID", "FUNCTION", "TRIGGER", "SOURCE", "TRY", "STATUS", "DURATION", "DETAIL"]


@click.command("history")
@config_option
@click.option("-f", "--function", "function", default=None, help="Only this function's invocations.")
@click.option("-n", "--last", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many of the newest invocations to show.")  # fmt: skip
@click.option("-s", "--status", type=click.Choice(STATUSES), default=None, help="Only invocations that ended so.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of invocation records.")
@click.option("-w", "--wide", is_flag=True, help="The whole error message in DETAIL (the table cuts it at 60).")
@click.option("--chain", "chain_of", metavar="ID", default=None,
              help="The tree of invocations that invocation ID caused (writes through the embedded AWS).")  # fmt: skip
@user_errors
def command(config_path: Path | None, function: str | None, last: int, status: str | None, as_json: bool,
            wide: bool, chain_of: str | None) -> None:  # fmt: skip
    """Show past invocations (every attempt, sync and async) from the journal."""
    from ..dispatch import journal
    from ..store import Store

    config = load(config_path)
    if chain_of is not None:
        found: list[Invocation] = []
        if (config.state_dir / Store.FILENAME).exists():
            with closing(Store(config.state_dir).connect()) as conn:
                found = chain.load(conn, chain_of)
        lines = chain.tree(chain_of, found)
        if lines is None:
            raise click.ClickException(f"no invocation {chain_of!r} in the journal ({config.state_dir})")
        click.echo("\n".join(lines))
        return
    if function is not None and function not in config.functions:
        click.echo(f"router: note: {function!r} is not a function of {config.path.name} (any history is shown)",
                   err=True)  # fmt: skip
    invocations: list[Invocation] = []
    if (config.state_dir / Store.FILENAME).exists():
        with closing(Store(config.state_dir).connect()) as conn:
            invocations = journal.query(conn, function=function, status=status, last=last)
    if as_json:
        click.echo(json.dumps([inv.to_dict() for inv in invocations], indent=2, default=json_default))
        return
    if not invocations:
        click.echo(f"no invocations in the journal ({config.state_dir})", err=True)
        return
    click.echo(table([row(inv, wide=wide) for inv in invocations]))


DETAIL_WIDTH = 60
# Lambda's platform errors (a timeout, an exit) say which request in their message:
# "RequestId: ID Error: Task timed out after 3.00 seconds"; the ID column has it already.
_REQUEST_PREFIX = re.compile(r"^RequestId: \S+ Error: ")


def row(inv: Invocation, *, wide: bool = False) -> list[str]:
    when = datetime.fromtimestamp(inv.started_at).strftime("%Y-%m-%d %H:%M:%S") if inv.started_at else "-"
    detail = ""
    if not inv.ok and inv.error:
        message = _REQUEST_PREFIX.sub("", str(inv.error.get("errorMessage", "")))
        detail = f"{inv.error.get('errorType', '')}: {message}".strip(": ")
    elif inv.extra.get("replay_of"):
        detail = f"replay of {inv.extra['replay_of']}"
    if cause := chain.cause_text(inv):
        detail = f"{cause}; {detail}" if detail else cause
    if batch := batch_detail(inv.extra.get("batch"), wide=wide):
        detail = f"{batch}; {detail}" if detail else batch
    detail = " ".join(detail.split())
    if not wide and len(detail) > DETAIL_WIDTH:
        detail = detail[: DETAIL_WIDTH - 3] + "..."
    return [when, inv.id, inv.function, inv.trigger or "-", inv.source, str(inv.attempt), inv.status,
            f"{inv.duration_ms:.1f} ms", detail]  # fmt: skip


def batch_detail(note: Any, *, wide: bool = False) -> str:
    """A stream batch's fate (``extra["batch"]``, see dispatch/streams.py) when it was not
    simply delivered: "10 records: 3 failed, 2 delivered, 8 retried". ``wide`` adds the
    sequence numbers."""
    if not isinstance(note, dict) or not ("failed" in note or "aged_out" in note):
        return ""
    parts: list[str] = []
    failed = note.get("failed")
    if failed == "all":
        parts.append("all failed")
    elif isinstance(failed, list):
        parts.append(f"{len(failed)} failed" + (f" ({', '.join(map(str, failed))})" if wide else ""))
    if note.get("delivered"):
        parts.append(f"{note['delivered']} delivered")
    if "bisected" in note:
        parts.append("split " + "+".join(map(str, note["bisected"])))
    for key, verb in (("retried", "retried"), ("discarded", "discarded"), ("aged_out", "aged out")):
        if isinstance(part := note.get(key), dict):
            span = f" {part['from']}..{part['to']}" if wide else ""
            where = f" -> {part['destination']}" if "destination" in part else ""
            parts.append(f"{part['records']} {verb}{span}{where}")
    n = note.get("records", 0)
    return f"{n} record{'' if n == 1 else 's'}: " + ", ".join(parts)


def table(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
