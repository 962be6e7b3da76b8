"""``router cron EXPR [-n N] [--from ISO] [--tz ZONE]``: the next fire times of an AWS
schedule expression, one ISO-8601 time with its offset per line.

    $ router cron 'cron(15 10 ? * 6L *)' -n 2 --from 2026-01-01T00:00:00Z
    2026-01-30T10:15:00+00:00
    2026-02-27T10:15:00+00:00
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from ..schedules import parse_expression
from .common import fail


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"--tz: unknown time zone {name!r}; expected an IANA name such as Europe/Paris") from None


def _start(text: str | None, tz: tzinfo) -> datetime:
    """``--from``: an ISO 8601 date or date-time; without an offset it is read in ``--tz``."""
    if text is None:
        return datetime.now(tz).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--from: {text!r} is not an ISO 8601 date-time "
            "(e.g. 2026-03-08T01:30:00, 2026-03-08T01:30:00-05:00 or 2026-03-08T06:30:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


@click.command("cron")
@click.argument("expression", metavar="EXPR")
@click.option(
    "-n",
    "count",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many fire times to print.",
)
@click.option(
    "--from",
    "start",
    metavar="ISO",
    default=None,
    help="Print fire times strictly after this time (default: now); rate() counts from it. "
    "Without an offset it is read in --tz.",
)
@click.option(
    "--tz",
    "zone",
    metavar="ZONE",
    default="UTC",
    show_default=True,
    help="The IANA time zone the expression is evaluated in (a trigger's timezone:).",
)
def command(expression: str, count: int, start: str | None, zone: str) -> None:
    """Print the next fire times of an AWS schedule expression: rate(5 minutes),
    cron(0 12 * * ? *) or at(2026-11-22T03:00:00)."""
    try:
        tz = _zone(zone)
        after = _start(start, tz)
    except ValueError as exc:
        fail(str(exc))
        return
    try:
        parsed = parse_expression(expression)
    except ValueError as exc:
        fail(f"invalid schedule expression {expression!r}: {exc}")
        return
    times = parsed.fire_times(after, tz, count, anchor=after)
    for when in times:
        click.echo(when.isoformat())
    if not times:
        click.echo(f"router: {parsed} does not fire after {after.isoformat()}", err=True)
