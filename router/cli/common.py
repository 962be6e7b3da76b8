"""Helpers every command shares: the config option and turning router errors into exit 2."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ..config import Config, load_config
from ..errors import ConfigError, RouterError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_CONFIG = "triggers.yaml"


def config_option(f: F) -> F:
    """``-c/--config PATH`` (default ./triggers.yaml)."""
    return click.option(
        "-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        default=None, help=f"The config file (default: ./{DEFAULT_CONFIG}).",
    )(f)  # fmt: skip


def load(config_path: Path | None, positional: Path | None = None) -> Config:
    """Load the config named by the argument or option, or exit 2 with the errors."""
    if config_path is not None and positional is not None and config_path != positional:
        fail("give the config either as an argument or with -c/--config, not both")
    path = positional or config_path or Path(DEFAULT_CONFIG)
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(exc.render())


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"router: {message}", err=True)
    sys.exit(code)


def user_errors(f: F) -> F:
    """Turn RouterError (bad config, startup problems) into a message and exit 2."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except RouterError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
