"""Helpers every command shares: the config option and turning router errors into exit 2."""

from __future__ import annotations

import functools
import logging
import os
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
    """``-c/--config PATH`` (default ./triggers.yaml), and a template's ``--param KEY=VALUE``
    (repeatable) and ``--stack-name`` (kept in the click context: :func:`template_options`)."""
    f = serverless_options(f)
    f = click.option(
        "--stack-name", expose_value=False, callback=_keep, default=None,
        help="A template's stack name, in the names of its resources (default: the template's folder name).",
    )(f)  # fmt: skip
    f = click.option(
        "--param", expose_value=False, callback=_keep, multiple=True, metavar="KEY=VALUE",
        help="A template parameter's value (repeatable; over samconfig.toml's parameter_overrides).",
    )(f)  # fmt: skip
    return click.option(
        "-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        default=None, help=f"The config file or SAM/CloudFormation template (default: ./{DEFAULT_CONFIG}).",
    )(f)  # fmt: skip


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if param.name == "param":
        pairs = {}
        for item in value:
            key, sep, val = item.partition("=")
            if not sep or not key:
                raise click.BadParameter(f"{item!r}: expected KEY=VALUE", ctx, param)
            pairs[key] = val
        if pairs:
            ctx.meta["router.parameters"] = pairs
    elif value is not None:
        ctx.meta["router.stack_name"] = value


def template_options() -> dict[str, Any]:
    """The overrides ``--param`` and ``--stack-name`` make (router.templates reads them)."""
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    out: dict[str, Any] = {}
    if "router.parameters" in meta:
        out["parameters"] = meta["router.parameters"]
    if "router.stack_name" in meta:
        out["stack_name"] = meta["router.stack_name"]
    return out


def serverless_options(f: F) -> F:
    """A serverless.yml's ``--stage`` and ``--region`` (its ``${opt:stage}``, ``${opt:region}``)."""
    for name, what in (("--region", "region"), ("--stage", "stage")):
        f = click.option(name, expose_value=False, callback=_serverless_option, default=None,
                         help=f"A serverless.yml's {what} (its ${{opt:{what}}}).")(f)  # fmt: skip
    return f


def _serverless_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    from ..serverless import set_option  # every command sets both (None: not given), nothing lingers

    set_option(str(param.name), value)


def config_file(config_path: Path | None, positional: Path | None = None) -> Path:
    """The config named by the argument or option (default ./triggers.yaml); exit 2 on both."""
    if config_path is not None and positional is not None and config_path != positional:
        fail("give the config either as an argument or with -c/--config, not both")
    return positional or config_path or Path(DEFAULT_CONFIG)


def load(config_path: Path | None, positional: Path | None = None) -> Config:
    """Load the config named by the argument or option, or exit 2 with the errors."""
    path = config_file(config_path, positional)
    try:
        config = load_config(path, overrides=template_options() or None)
    except ConfigError as exc:
        fail(exc.render())
    for note in config.notes:  # a template's parts router does not emulate, listed once at start
        logging.getLogger("router").warning("%s: %s", path, note)
    return config


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


# Third-party libraries whose debug output is chatter to a router user (botocore alone logs
# about 200 lines a second while the daemon idles): WARNING unless asked for.
LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3", "moto", "watchdog", "werkzeug", "apscheduler",
             "asyncio", "httptools", "uvloop", "filelock")  # fmt: skip
DEBUG_LIBRARIES_ENV = "ROUTER_DEBUG_LIBRARIES"


class _Formatter(logging.Formatter):
    """Router's own lines for a person: ``router: message`` (``router: warning: ...`` above
    INFO); with ``-v``, the time, level and logger name too."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose:
            return super().format(record)
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        who = "" if record.name == "router" or record.name.startswith("router.") else f"{record.name}: "
        return f"router: {level}{who}{text}"


class _WriteHandler(logging.Handler):
    """Hands each formatted record to ``write`` (the daemon's console keeps it in order with
    the invocations' log lines)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        super().__init__()
        self.write = write

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging(
    verbose: bool, *, info: bool = False, debug_libraries: bool = False, write: Callable[[str], None] | None = None
) -> logging.Handler:
    """Router's WARNING lines, its INFO lines too with ``info`` (``router run``: bindings,
    reloads, hints, retries, discards), and its DEBUG lines with ``verbose``; third-party
    libraries at WARNING unless ``debug_libraries`` (or ROUTER_DEBUG_LIBRARIES=1). Lines go
    to ``write`` (default: stderr). Replaces the handler an earlier call installed; returns
    the new one."""
    debug_libraries = debug_libraries or os.environ.get(DEBUG_LIBRARIES_ENV, "").strip() not in ("", "0")
    handler: logging.Handler = _WriteHandler(write) if write is not None else logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(verbose))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_router", False)]:
        root.removeHandler(old)
    handler._router = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    own = logging.DEBUG if verbose else logging.INFO if info else logging.WARNING
    logging.getLogger("router").setLevel(own)
    root.setLevel(own if debug_libraries else logging.WARNING)
    for name in LIBRARIES:  # explicit: some set their own level when they log first (werkzeug: INFO)
        logging.getLogger(name).setLevel(logging.NOTSET if debug_libraries else logging.WARNING)
    return handler
