"""``router invoke FUNCTION [-c CONFIG] [--event FILE|-] [--client-context JSON] [--identity JSON]``:
one synchronous invocation.

The response payload (the result, or the error object) is printed as JSON on stdout, every
number as the function wrote it (a Python ``Decimal`` keeps its digits) and a character the
terminal cannot take (a lone surrogate) escaped; a Python handler's ``bytes`` are written as
they are, as ``aws lambda invoke`` writes its outfile. The event's JSON text reaches the
handler unchanged (``1e400`` included). The invocation's log lines (START ... END, REPORT) go
to stderr as they happen. Exit 0 when the function succeeded, 1 on a function error (error,
timeout, crash), 2 on a usage or config error (an event over Lambda's 6 MB synchronous payload
limit included: refused before anything starts, with the Invoke API's error).

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
from ..invocation import Invocation
from .common import config_option, fail, load, setup_logging, user_errors


@click.command("invoke")
@click.argument("function")
@config_option
@click.option("--event", "event_path", metavar="FILE|-", default=None,
              help="The event: a JSON file, or - for stdin (default: {}).")  # fmt: skip
@click.option("--client-context", "client_context", metavar="JSON", default=None,
              help="The client context (a JSON object): context.client_context / clientContext.")  # fmt: skip
@click.option("--identity", metavar="JSON", default=None,
              help='The Cognito identity: {"cognitoIdentityId": ..., "cognitoIdentityPoolId": ...}.')  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Log router's own debug output to stderr.")
@user_errors
def command(function: str, config_path: Path | None, event_path: str | None, client_context: str | None,
            identity: str | None, verbose: bool) -> None:  # fmt: skip
    """Invoke FUNCTION once and print its response payload."""
    setup_logging(verbose)
    config = load(config_path)
    if function not in config.functions:
        known = ", ".join(sorted(config.functions)) or "none"
        fail(f"no function named {function!r} in {config.path.name} (functions: {known})")
    event, event_json = read_event(event_path)
    check_size(function, event_json, event_path)
    context = json_object("--client-context", client_context, CLIENT_CONTEXT_LIMIT)
    who = json_object("--identity", identity)
    inv = loops.run(invoke(config, function, event, event_json, client_context=context, identity=who))
    print_payload(inv)
    sys.exit(0 if inv.ok else 1)


CLIENT_CONTEXT_LIMIT = 3583  # Invoke's ClientContext: "Up to 3,583 bytes of base64-encoded data" (the JSON's bytes)


def read_event(path: str | None) -> tuple[Any, str]:
    """The event from a file or stdin (``-``), and its JSON text (sent to the worker as it
    is); exits 2 naming what is wrong."""
    if path is None:
        return {}, "{}"
    where = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--event: cannot read {where}: {exc}")
    try:
        return json.loads(text, parse_constant=_not_json), text.strip()
    except ValueError as exc:
        fail(f"--event: {where} is not JSON: {exc}")


def check_size(function: str, event_json: str, path: str | None) -> None:
    """Exit 2 before anything starts when the event is over Lambda's 6 MB synchronous payload
    limit, with the error the Invoke API gives (413 RequestEntityTooLargeException)."""
    from ..dispatch.async_ import PayloadTooLargeError
    from ..dispatch.dispatcher import check_request_size

    try:
        check_request_size(function, event_json)
    except PayloadTooLargeError as exc:
        where = "stdin" if path == "-" else path
        fail(f"--event: {where} is {exc.size} bytes, over Lambda's synchronous payload limit: "
             f"{exc.error_type}: {exc.message}")  # fmt: skip


def json_object(option: str, text: str | None, limit: int | None = None) -> dict[str, Any] | None:
    """``text`` read as a JSON object, or None; exits 2 naming the option otherwise."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        fail(f"{option}: not JSON: {exc}")
    if not isinstance(value, dict):
        fail(f"{option}: must be a JSON object, not {type(value).__name__}")
    if limit is not None and len(text.encode()) > limit:
        fail(f"{option}: must be at most {limit} bytes of JSON (Lambda's limit), not {len(text.encode())}")
    return value


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")  # Python's json reads NaN and Infinity; JSON has no such words


def print_payload(inv: Invocation) -> None:
    """The response payload on stdout: bytes as they are, JSON indented (see the module)."""
    if inv.ok and isinstance(inv.result, bytes):
        sys.stdout.buffer.write(inv.result)
        sys.stdout.buffer.write(b"\n" if sys.stdout.isatty() else b"")
        sys.stdout.flush()
        return
    text = inv.payload.decode("utf-8", "replace") if inv.ok else json.dumps(inv.error)
    ascii_only = (sys.stdout.encoding or "ascii").lower().replace("-", "") != "utf8"
    click.echo(pretty_json(text, ascii_only=ascii_only))


def pretty_json(text: str, *, ascii_only: bool = False) -> str:
    """``text`` (JSON) indented by 2, its numbers exactly as written; a string that cannot
    be UTF-8 (a lone surrogate), or any non-ASCII one with ``ascii_only``, escaped."""
    return _pretty(json.loads(text, parse_float=_Number, parse_int=_Number), "\n", ascii_only)


class _Number(str):
    """A JSON number's text, kept as written."""


def _pretty(value: Any, newline: str, ascii_only: bool) -> str:
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, str):
        if ascii_only or not value.isascii() and not _utf8(value):
            return json.dumps(value)
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and value:
        inner = newline + "  "
        items = (f"{_pretty(k, inner, ascii_only)}: {_pretty(v, inner, ascii_only)}" for k, v in value.items())
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list) and value:
        inner = newline + "  "
        return "[" + inner + ("," + inner).join(_pretty(v, inner, ascii_only) for v in value) + newline + "]"
    return json.dumps(value)  # true, false, null, {}, []


def _utf8(text: str) -> bool:
    try:
        text.encode()
        return True
    except UnicodeEncodeError:
        return False


async def invoke(config: Config, function: str, event: Any, event_json: str | None = None, *,
                 client_context: dict[str, Any] | None = None, identity: dict[str, Any] | None = None,
                 ) -> Invocation:  # fmt: skip
    """Start what the call needs (:data:`router.app.ONE_SHOT`), invoke once, journaled as
    every invocation is (so ``router replay ID`` runs it again), stop."""
    from ..app import ONE_SHOT, App

    def on_log(_function: str, line: str) -> None:
        click.echo(line, err=True)

    app = App(config, parts=ONE_SHOT, on_log=on_log)
    async with AsyncExitStack() as stack:
        await app.start(stack)
        inv: Invocation = await app.dispatcher.invoke(function, event, source="invoke", event_json=event_json,
                                                      client_context=client_context, identity=identity)  # fmt: skip
    return inv
