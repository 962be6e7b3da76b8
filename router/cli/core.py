"""``router run``, ``router validate`` and ``router list``."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import loops
from ..config import Config, FunctionConfig, TriggerConfig
from . import common
from .common import config_option, load, setup_logging, user_errors

_config_arg = click.argument(
    "config_file", required=False, type=click.Path(dir_okay=False, path_type=Path)
)


@click.command("run")
@_config_arg
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Add router's own debug output.")
@click.option("--debug-libraries", is_flag=True,
              help=f"Let third-party libraries (botocore, moto, watchdog ...) log below WARNING too "
                   f"(also: {common.DEBUG_LIBRARIES_ENV}=1).")  # fmt: skip
@click.option("--no-ui", is_flag=True, help="Do not serve the dashboard (settings.ui; docs/dashboard.md).")
@click.option("--debug", "debug", multiple=True, metavar="FUNCTION",
              help="Let a debugger attach to FUNCTION's worker (repeatable; docs/debugging.md).")
@click.option("--debug-wait", is_flag=True, help="A debugged function's worker waits for the debugger before its init.")
@user_errors
def run_command(config_file: Path | None, config_path: Path | None, verbose: bool, debug_libraries: bool,
                no_ui: bool, debug: tuple[str, ...] = (), debug_wait: bool = False) -> None:  # fmt: skip
    """Run the daemon: serve every trigger of CONFIG until Ctrl-C / SIGTERM."""
    console = _Console()
    setup_logging(verbose, info=True, debug_libraries=debug_libraries, write=console)
    config = load(config_path, config_file)
    if debug or debug_wait:
        from ..runtimes.debug import with_debug

        config = with_debug(config, debug, debug_wait)
    from ..app import run_daemon

    try:
        code = loops.run(run_daemon(config, console, ui=not no_ui))
    finally:
        console.flush()
    sys.exit(code)


CONSOLE_INTERVAL = 0.01  # seconds: too short for a person to notice


class _Console:
    """The daemon's stdout: the banner, the invocations' log lines and router's own log
    records, in the order they happen. Lines printed on the event loop are written together
    at most every :data:`CONSOLE_INTERVAL` seconds (one write and one flush for all the
    START/END/REPORT lines of the invocations that ended meanwhile, not one per line or per
    turn of the loop: under load that write cost more than the rest of a request); a line
    from another thread (a log record of the journal or the file watcher) is handed to the
    loop, so it takes its place in that order; with no loop running, each line at once."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        # click.echo's choice (keep ANSI codes on a terminal, strip them elsewhere), made once
        # rather than with an isatty() per write
        color = click.globals.resolve_color_default()
        self._color = sys.stdout.isatty() if color is None else color

    def __call__(self, line: str) -> None:
        if self._lines and threading.get_ident() == self._loop_thread:  # a write is due already
            self._lines.append(line)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            if self._loop is not None and self._loop.is_running():
                try:
                    self._loop.call_soon_threadsafe(self, line)
                    return
                except RuntimeError:  # closed meanwhile
                    pass
            self.flush()  # what the loop left unwritten goes first
            click.echo(line, color=self._color)
            return
        if loop is not self._loop:
            self._loop, self._loop_thread = loop, threading.get_ident()
            self.flush()  # what an earlier loop left
        self._lines.append(line)
        if len(self._lines) == 1:
            loop.call_later(CONSOLE_INTERVAL, self.flush)

    def flush(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            click.echo("\n".join(lines), color=self._color)  # (echo flushes)


_load_option = click.option(
    "--load", is_flag=True,
    help="Also load each handler once, as its worker does (import / require / import()), "
         "in a short-lived process: import and syntax errors, missing exports.",
)  # fmt: skip
_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
    help="Seconds each handler may take to load (with --load).",
)  # fmt: skip


@click.command("validate")
@_config_arg
@config_option
@_load_option
@_timeout_option
@user_errors
def validate_command(config_file: Path | None, config_path: Path | None, load: bool, timeout: float) -> None:
    """Check CONFIG as AWS would before the first request: every problem at once. Exit 0
    when valid (warnings are printed), 2 otherwise."""
    validate(config_file, config_path, load=load, timeout=timeout)


@click.command("check")
@_config_arg
@config_option
@_timeout_option
@user_errors
def check_command(config_file: Path | None, config_path: Path | None, timeout: float) -> None:
    """``router validate --load``: check CONFIG and load each handler once. Exit 0 or 2."""
    validate(config_file, config_path, load=True, timeout=timeout)


def validate(positional: Path | None, option: Path | None, *, load: bool, timeout: float) -> None:
    from ..check import load_problems, static_problems
    from ..config import inspect_config

    found = inspect_config(common.config_file(option, positional), overrides=common.template_options() or None)
    for note in found.notes:  # a template's resources and events router does not emulate: never fatal
        click.echo(f"{found.file}: {note}", err=True)
    problems = static_problems(found)
    if load and found.config is not None and found.config.functions:
        blocked = {name for p in problems if p.severity == "error" for name in p.functions}
        names = [name for name in found.config.functions if name not in blocked]
        problems += loops.run(load_problems(found.config, names, timeout=timeout))
    issues = found.issues + [p.issue(found) for p in problems]
    issues.sort(key=lambda i: (i.line or 10**9, i.column, i.path))
    for issue in issues:
        click.echo(str(issue), err=True)
    warnings = sum(1 for p in problems if p.severity == "warning")
    errors = len(issues) - warnings
    if errors:
        also = f", {_count(warnings, 'warning')}" if warnings else ""
        common.fail(f"{found.file}: {_count(errors, 'error')}{also}")
    assert found.config is not None
    config = found.config
    note = f"; {_count(warnings, 'warning')}" if warnings else ""
    click.echo(f"{config.path.name}: ok ({_count(len(config.functions), 'function')}, "
               f"{_count(len(config.triggers), 'trigger')}{', handlers load' if load else ''}){note}")  # fmt: skip


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


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
    click.echo(_table(["FUNCTION", "RUNTIME", "HANDLER", "TIMEOUT", "MEMORY", "CONCURRENCY", "NOTE"],
                      [[f["name"], f["runtime"], f["handler"], f"{f['timeout']:g}s", f"{f['memory']} MB",
                        str(f["concurrency"]), f["note"]] for f in data["functions"]]))  # fmt: skip
    click.echo()
    click.echo(_table(["TRIGGER", "KIND", "FUNCTION", "SOURCE", "NOTE"],
                      [[t["name"], t["kind"], t["function"], t["source"], t["note"]]
                       for t in data["triggers"]]))  # fmt: skip


def describe(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Functions and triggers as plain data; schedules' next fire times as a daemon started
    at ``now`` (default: now) computes them: rate() counts from its start, to the second."""
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    functions = [
        {"name": f.name, "runtime": f.runtime, "handler": f.handler, "code": str(f.code_dir),
         "timeout": f.timeout, "memory": f.memory, "concurrency": f.concurrency,
         "note": _function_note(config, f)}
        for f in config.functions.values()
    ]  # fmt: skip
    triggers = [
        {"name": t.name, "kind": t.kind, "function": t.function, "enabled": t.enabled,
         "source": _source_text(t), "note": _note(t, start),
         "settings": t.source.model_dump(mode="json", exclude_defaults=True)}
        for t in config.triggers
    ]  # fmt: skip
    return {"config": str(config.path), "functions": functions, "triggers": triggers}


def _function_note(config: Config, f: FunctionConfig) -> str:
    """Why the function will not behave as in Lambda: a handler that cannot load, or a
    Node.js whose major version is not the runtime's."""
    from ..check import check_function, version_note

    problems = check_function(config, f)
    return problems[0].message.split("; ")[0] if problems else version_note(config, f)


def _source_text(t: TriggerConfig) -> str:
    if t.s3 is not None:
        filters = "".join(f" {k}={v}" for k, v in (("prefix", t.s3.prefix), ("suffix", t.s3.suffix)) if v)
        if t.s3.dir is None:
            return f"writes to s3://{t.s3.bucket}{filters}"
        return f"{t.s3.dir} -> s3://{t.s3.bucket or Path(t.s3.dir).name}{filters}"
    if t.schedule is not None:
        return t.schedule.expression + (f" ({t.schedule.timezone})" if t.schedule.timezone != "UTC" else "")
    if t.http is not None and t.http.url is not None:
        return f"function URL (port {t.http.url.port or 'free'})"
    if t.http is not None:
        return f"{t.http.route} (payload {t.http.payload})"
    if t.sqs is not None:
        return f"queue {t.sqs.queue}, batch {t.sqs.batch_size}"
    if t.sns is not None:
        policy = f", filter on {t.sns.filter_policy_scope}" if t.sns.filter_policy else ""
        return f"topic {t.sns.topic}{policy}"
    if t.eventbridge is not None:
        return f"bus {t.eventbridge.bus}, pattern on {', '.join(t.eventbridge.pattern)}"
    assert t.dynamodb is not None
    return f"table {t.dynamodb.table} from {t.dynamodb.starting_position}, batch {t.dynamodb.batch_size}"


def _note(t: TriggerConfig, start: datetime) -> str:
    if not t.enabled:
        return "disabled"
    if t.schedule is not None:
        if not t.schedule.enabled:
            return "disabled"
        from zoneinfo import ZoneInfo

        from ..schedules import RateExpression, parse_expression

        tz = ZoneInfo(t.schedule.timezone)
        expression = parse_expression(t.schedule.expression)
        nxt = expression.next_fire(start.astimezone(tz), tz, anchor=start)
        if nxt is None:
            return "no further fire time"
        counted = " (a rate counts from router's start)" if isinstance(expression, RateExpression) else ""
        return f"next {nxt.isoformat(timespec='seconds')}{counted}"
    if t.s3 is not None:
        return ", ".join(t.s3.events)
    return ""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
