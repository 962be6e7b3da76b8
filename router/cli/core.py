"""``router run``, ``router validate`` and ``router list``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import loops
from ..config import Config, TriggerConfig
from .common import config_option, load, setup_logging, user_errors

_config_arg = click.argument(
    "config_file", required=False, type=click.Path(dir_okay=False, path_type=Path)
)


@click.command("run")
@_config_arg
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Log router's own debug output to stderr.")
@user_errors
def run_command(config_file: Path | None, config_path: Path | None, verbose: bool) -> None:
    """Run the daemon: serve every trigger of CONFIG until Ctrl-C / SIGTERM."""
    setup_logging(verbose)
    config = load(config_path, config_file)
    from ..app import run_daemon

    console = _Console()
    try:
        code = loops.run(run_daemon(config, console))
    finally:
        console.flush()
    sys.exit(code)


CONSOLE_INTERVAL = 0.01  # seconds: too short for a person to notice


class _Console:
    """The daemon's stdout. Lines printed on the event loop are written together at most
    every :data:`CONSOLE_INTERVAL` seconds (one write and one flush for all the START/END/
    REPORT lines of the invocations that ended meanwhile, not one per line or per turn of
    the loop: under load that write cost more than the rest of a request); elsewhere each
    line at once."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        # click.echo's choice (keep ANSI codes on a terminal, strip them elsewhere), made once
        # rather than with an isatty() per write
        color = click.globals.resolve_color_default()
        self._color = sys.stdout.isatty() if color is None else color

    def __call__(self, line: str) -> None:
        if self._lines:  # a write is due already
            self._lines.append(line)
            return
        self._lines.append(line)
        try:
            asyncio.get_running_loop().call_later(CONSOLE_INTERVAL, self.flush)
        except RuntimeError:  # not on the loop: now
            self.flush()

    def flush(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            click.echo("\n".join(lines), color=self._color)  # (echo flushes)


@click.command("validate")
@_config_arg
@config_option
def validate_command(config_file: Path | None, config_path: Path | None) -> None:
    """Check CONFIG and the handler files it names. Exit 0 when valid, 2 otherwise."""
    config = load(config_path, config_file)
    click.echo(
        f"{config.path.name}: ok ({len(config.functions)} functions, {len(config.triggers)} triggers)"
    )


@click.command("list")
@_config_arg
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(config_file: Path | None, config_path: Path | None, as_json: bool) -> None:
    """List the functions and triggers of CONFIG."""
    config = load(config_path, config_file)
    data = describe(config)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(_table(["FUNCTION", "RUNTIME", "HANDLER", "TIMEOUT", "MEMORY", "CONCURRENCY"],
                      [[f["name"], f["runtime"], f["handler"], f"{f['timeout']:g}s", f"{f['memory']} MB",
                        str(f["concurrency"])] for f in data["functions"]]))  # fmt: skip
    click.echo()
    click.echo(_table(["TRIGGER", "KIND", "FUNCTION", "SOURCE", "NOTE"],
                      [[t["name"], t["kind"], t["function"], t["source"], t["note"]]
                       for t in data["triggers"]]))  # fmt: skip


def describe(config: Config) -> dict[str, Any]:
    functions = [
        {"name": f.name, "runtime": f.runtime, "handler": f.handler, "code": str(f.code_dir),
         "timeout": f.timeout, "memory": f.memory, "concurrency": f.concurrency}
        for f in config.functions.values()
    ]  # fmt: skip
    triggers = [
        {"name": t.name, "kind": t.kind, "function": t.function, "enabled": t.enabled,
         "source": _source_text(t), "note": _note(t),
         "settings": t.source.model_dump(mode="json", exclude_defaults=True)}
        for t in config.triggers
    ]  # fmt: skip
    return {"config": str(config.path), "functions": functions, "triggers": triggers}


def _source_text(t: TriggerConfig) -> str:
    if t.s3 is not None:
        filters = "".join(f" {k}={v}" for k, v in (("prefix", t.s3.prefix), ("suffix", t.s3.suffix)) if v)
        return f"{t.s3.dir} -> s3://{t.s3.bucket or Path(t.s3.dir).name}{filters}"
    if t.schedule is not None:
        return t.schedule.expression + (f" ({t.schedule.timezone})" if t.schedule.timezone != "UTC" else "")
    if t.http is not None:
        return f"{t.http.route} (payload {t.http.payload})"
    assert t.dynamodb is not None
    return f"table {t.dynamodb.table} from {t.dynamodb.starting_position}, batch {t.dynamodb.batch_size}"


def _note(t: TriggerConfig) -> str:
    if not t.enabled:
        return "disabled"
    if t.schedule is not None:
        if not t.schedule.enabled:
            return "disabled"
        from zoneinfo import ZoneInfo

        from ..schedules import parse_expression

        now = datetime.now(UTC)
        tz = ZoneInfo(t.schedule.timezone)
        nxt = parse_expression(t.schedule.expression).next_fire(now.astimezone(tz), tz, anchor=now)
        return f"next {nxt.isoformat()}" if nxt else "no further fire time"
    if t.s3 is not None:
        return ", ".join(t.s3.events)
    return ""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
