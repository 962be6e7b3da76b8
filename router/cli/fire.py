"""``router fire TRIGGER [-c CONFIG] [--input JSON]``: fire a schedule trigger on the running
daemon (``router run`` of the same config), now.

The event goes through the daemon's async queue with the function's async rules, as a fire of
the schedule would: the trigger's constant input, else a Scheduled Event for now, unless
``--input`` gives the event. Prints the event id. Exit 2 when no daemon runs for the config, or
the trigger is not a schedule trigger of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .common import config_option, fail, load, user_errors


@click.command("fire")
@click.argument("trigger")
@config_option
@click.option("--input", "input_json", metavar="JSON", default=None,
              help="The event to send instead of the trigger's input or a Scheduled Event.")  # fmt: skip
@user_errors
def command(trigger: str, config_path: Path | None, input_json: str | None) -> None:
    """Fire the schedule TRIGGER (a trigger name, or the function of a single trigger) now on the
    running `router run` of CONFIG."""
    from ..control import request

    config = load(config_path)
    payload: dict[str, Any] = {"op": "fire", "trigger": trigger}
    if input_json is not None:
        try:
            payload["input"] = json.loads(input_json)
        except ValueError as exc:
            fail(f"--input: not JSON: {exc}")
    answer = request(config.state_dir, payload)
    if not answer.get("ok"):
        fail(str(answer.get("error", "the running router refused the request")))
    click.echo(f"fired {answer['trigger']} -> {answer['function']} (event {answer['event_id']})")
