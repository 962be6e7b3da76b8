"""``router export sam [-c CONFIG] [-o FILE]``: write a config's bindings as an AWS SAM template
(docs/sam.md). What SAM cannot express is listed on stderr and left out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import config_option, load, user_errors


@click.group("export")
def command() -> None:
    """Write CONFIG's functions, triggers and resources in another tool's format."""


@command.command("sam")
@config_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The template to write (default: stdout). CodeUri paths are relative to its folder.")  # fmt: skip
@user_errors
def sam_command(config_path: Path | None, output: Path | None) -> None:
    """Write CONFIG as a SAM template (`sam deploy` ships it to real Lambda)."""
    from ..templates.export import dump, export_sam

    config = load(config_path)
    template, skipped = export_sam(config, (output.parent if output else Path.cwd()).resolve())
    for line in skipped:
        click.echo(f"router: not in the template: {line}", err=True)
    text = dump(template)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({len(template['Resources'])} resources)", err=True)
