"""``router invoke FUNCTION [-c CONFIG] [--event FILE|-]``: one synchronous invocation.

The response payload (the result, or the error object) is printed as JSON on stdout; the
invocation's log lines (START ... END, REPORT) go to stderr as they happen. Exit 0 when the
function succeeded, 1 on a function error (error, timeout, crash), 2 on a usage or config error.

    $ router invoke greet --event - <<< '{"pathParameters": {"name": "ann"}}'

Handlers reach the running daemon's embedded AWS when one listens on ``settings.aws.port``;
otherwise a fresh embedded AWS (tables, buckets, seed data) is started for the call. With an
endpoint URL or ``aws`` in the config, that endpoint is used. The invocation is journaled:
``router history`` lists it and ``router replay ID`` runs it again.
"""

from __future__ import annotations

import json
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import click

from .. import loops
from ..config import Config
from .common import config_option, fail, load, setup_logging, user_errors


@click.command("invoke")
@click.argument("function")
@config_option
@click.option("--event", "event_path", metavar="FILE|-", default=None,
              help="The event: a JSON file, or - for stdin (default: {}).")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Log router's own debug output to stderr.")
@user_errors
def command(function: str, config_path: Path | None, event_path: str | None, verbose: bool) -> None:
    """Invoke FUNCTION once and print its response payload."""
    setup_logging(verbose)
    config = load(config_path)
    if function not in config.functions:
        known = ", ".join(sorted(config.functions)) or "none"
        fail(f"no function named {function!r} in {config.path.name} (functions: {known})")
    event = read_event(event_path)
    payload, ok = loops.run(invoke(config, function, event))
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    sys.exit(0 if ok else 1)


def read_event(path: str | None) -> Any:
    """The event JSON from a file or stdin (``-``); exits 2 naming what is wrong."""
    if path is None:
        return {}
    where = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--event: cannot read {where}: {exc}")
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"--event: {where} is not JSON: {exc}")


async def invoke(config: Config, function: str, event: Any) -> tuple[Any, bool]:
    """Start what the call needs (:data:`router.app.ONE_SHOT`), invoke once, journaled as
    every invocation is (so ``router replay ID`` runs it again), stop; (payload, ok)."""
    from ..app import ONE_SHOT, App

    def on_log(_function: str, line: str) -> None:
        click.echo(line, err=True)

    app = App(config, parts=ONE_SHOT, on_log=on_log)
    async with AsyncExitStack() as stack:
        await app.start(stack)
        inv = await app.dispatcher.invoke(function, event, source="invoke")
    return (inv.result if inv.ok else inv.error), inv.ok
