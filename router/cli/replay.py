"""``router replay ID [-c CONFIG]``: run a journaled or dead-lettered invocation's event again,
synchronously, in this process (workers started just for it, the queue left to the daemon).

The response payload (the result, or the error object) is printed as JSON on stdout and the
invocation's log on stderr. Exit 0 ok, 1 function error, 2 unknown id (or bad config).
Handlers reach the running daemon's embedded AWS when it listens on ``settings.aws.port``;
otherwise a fresh embedded AWS (its tables, buckets and seed data) is started for the replay.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from contextlib import AsyncExitStack, closing
from pathlib import Path

import click

from .. import loops
from ..config import Config
from ..invocation import Invocation
from .common import config_option, fail, load, setup_logging, user_errors


@click.command("replay")
@click.argument("invocation_id")
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Log router's own debug output to stderr.")
@user_errors
def command(invocation_id: str, config_path: Path | None, verbose: bool) -> None:
    """Run the invocation INVOCATION_ID (see `router history`) again and print its response."""
    from ..dispatch import journal
    from ..store import Store

    setup_logging(verbose)
    config = load(config_path)
    if not (config.state_dir / Store.FILENAME).exists():
        fail(f"no invocation or dead letter with id {invocation_id!r}: no state file in {config.state_dir}")
    with closing(Store(config.state_dir).connect()) as conn:
        try:
            journal.replayable(conn, invocation_id)
        except journal.UnknownInvocation as exc:
            fail(str(exc))
    inv = loops.run(replay(config, invocation_id))
    if inv.logs:
        click.echo(inv.logs.rstrip("\n"), err=True)
    click.echo(json.dumps(inv.result if inv.ok else inv.error, indent=2, default=str))
    sys.exit(0 if inv.ok else 1)


async def replay(config: Config, invocation_id: str) -> Invocation:
    from ..aws import DUMMY_CREDENTIALS, Aws, safe_environment
    from ..clock import Clock
    from ..dispatch import Dispatcher
    from ..dispatch.lambda_api import make_lambda_api
    from ..runtimes import Runtimes
    from ..store import Store

    safe_environment()
    async with AsyncExitStack() as stack:
        aws: Aws | None = None
        daemon = _running_daemon_endpoint(config)
        if daemon is not None:
            env = {"AWS_REGION": config.settings.region, "AWS_DEFAULT_REGION": config.settings.region,
                   "AWS_EC2_METADATA_DISABLED": "true", **DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": daemon}  # fmt: skip
        else:
            aws = Aws(_any_port(config))
            await aws.start(stack)
            env = aws.worker_env()
        runtimes = Runtimes(config, env=env)
        await runtimes.start(stack)
        dispatcher = Dispatcher(config, runtimes, Store(config.state_dir), Clock())
        await dispatcher.start(stack, workers=False)
        if aws is not None:
            aws.lambda_api = make_lambda_api(dispatcher, asyncio.get_running_loop())
        try:
            return await dispatcher.replay(invocation_id)
        finally:
            if aws is not None:
                aws.lambda_api = None


def _running_daemon_endpoint(config: Config) -> str | None:
    """The daemon's embedded AWS, when one listens on the configured port."""
    aws = config.settings.aws
    if aws.endpoint != "embedded" or aws.port == 0:
        return None
    try:
        with socket.create_connection(("127.0.0.1", aws.port), timeout=0.5):
            return f"http://127.0.0.1:{aws.port}"
    except OSError:
        return None


def _any_port(config: Config) -> Config:
    s = config.settings
    settings = s.model_copy(update={"aws": s.aws.model_copy(update={"port": 0})})
    return config.model_copy(update={"settings": settings})
