"""``router invoke FUNCTION [-c CONFIG] [--event FILE|-]``: one synchronous invocation.

The response payload (the result, or the error object) is printed as JSON on stdout; the
invocation's log lines (START ... END, REPORT) go to stderr as they happen. Exit 0 when the
function succeeded, 1 on a function error (error, timeout, crash), 2 on a usage or config error.

    $ router invoke greet --event - <<< '{"pathParameters": {"name": "ann"}}'

Handlers reach the running daemon's embedded AWS when one listens on ``settings.aws.port``;
otherwise a fresh embedded AWS (tables, buckets, seed data) is started for the call. With an
endpoint URL or ``aws`` in the config, that endpoint is used.
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
    """Start what the call needs, invoke once, stop everything; (payload, ok)."""
    from ..aws import Aws, safe_environment
    from ..runtimes import Runtimes
    from .replay import _any_port, _running_daemon_endpoint

    def on_log(_function: str, line: str) -> None:
        click.echo(line, err=True)

    safe_environment()
    async with AsyncExitStack() as stack:
        mode = config.settings.aws.endpoint
        daemon = _running_daemon_endpoint(config)
        if daemon is not None:
            env = _env(config, daemon)
        elif mode == "embedded":
            aws = Aws(_any_port(config))
            await aws.start(stack)
            env = aws.worker_env()
        else:
            env = Aws(config).worker_env()
        runtimes = Runtimes(config, env=env, on_log=on_log, hot_reload=False)
        await runtimes.start(stack)
        outcome = await runtimes.invoke(function, event)
        return (outcome.result if outcome.ok else outcome.error), outcome.ok


def _env(config: Config, endpoint: str) -> dict[str, str]:
    from ..aws import DUMMY_CREDENTIALS

    region = config.settings.region
    return {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true",
            **DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}  # fmt: skip
