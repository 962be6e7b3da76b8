"""``router replay ID [-c CONFIG]``: run a journaled or dead-lettered invocation's event again,
synchronously, in this process (workers started just for it, the queue left to the daemon).

The response payload (the result, or the error object) is printed as JSON on stdout and the
invocation's log on stderr. Exit 0 ok, 1 function error, 2 unknown id (or bad config).
Handlers reach the running daemon's embedded AWS when it listens on ``settings.aws.port``;
otherwise a fresh embedded AWS (its tables, buckets and seed data) is started for the replay.
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack, closing
from pathlib import Path

import click

from .. import loops
from ..config import Config
from ..invocation import Invocation
from .common import config_option, fail, load, setup_logging, user_errors
from .invoke import print_payload


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
    print_payload(inv)
    sys.exit(0 if inv.ok else 1)


async def replay(config: Config, invocation_id: str) -> Invocation:
    from ..app import ONE_SHOT, App

    app = App(config, parts=ONE_SHOT)
    async with AsyncExitStack() as stack:
        await app.start(stack)
        inv: Invocation = await app.dispatcher.replay(invocation_id)
        return inv
