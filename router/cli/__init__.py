"""The ``router`` command line: a thin click layer over the config and the app.

Subcommands live one per module and load on use (``router validate`` must not import
moto, watchdog, apscheduler or the HTTP server). User errors exit 2, without a traceback.
"""

from __future__ import annotations

import gc
import importlib
from typing import Any

import click

# name -> (module under router.cli that defines ``<name>_command`` or ``command``, short help)
COMMANDS = {
    "run": ("core", "Run the daemon: serve every trigger until Ctrl-C."),
    "validate": ("core", "Check the config and its handlers as AWS would (--load: load each one)."),
    "check": ("core", "Load each handler once as its worker does (validate --load)."),
    "list": ("core", "List functions and triggers (--json for machines)."),
    "invoke": ("invoke", "Invoke a function once, synchronously; print its response."),
    "fire": ("fire", "Fire a schedule trigger now on the running `router run`."),
    "event": ("event", "Print an AWS event payload: s3, apigw, http-api, dynamodb, schedule."),
    "cron": ("cron", "Print the next fire times of an AWS schedule expression."),
    "history": ("history", "Show past invocations from the journal."),
    "replay": ("replay", "Run a past or dead-lettered invocation again."),
    "export": ("export", "Write the config as another tool's template: export sam (AWS SAM)."),
}


class LazyGroup(click.Group):
    _gc_off = False  # get_command turned the cyclic GC off for `router run`

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        finally:
            if self._gc_off:
                self._gc_off = False
                gc.enable()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # static help texts: listing the commands imports none of them
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name == "run" and not self._gc_off:
            # start-up allocates much and frees little: the cyclic GC would walk the imports'
            # objects over and over (~30 ms of router run's start). run_daemon turns it back on
            # at ready (after gc.freeze()); invoke() below when run returns or fails earlier.
            self._gc_off = gc.isenabled()
            gc.disable()
        module = COMMANDS[cmd_name][0]
        mod = importlib.import_module(f"router.cli.{module}")
        found = getattr(mod, f"{cmd_name}_command", None) or getattr(mod, "command", None)
        return found if isinstance(found, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="router", prog_name="router")
def main() -> None:
    """Run AWS Lambda style handlers locally, fired by simulated S3, schedule, HTTP
    (API Gateway) and DynamoDB Streams sources, with payloads shaped exactly as AWS shapes them."""


def run_main(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="router")
