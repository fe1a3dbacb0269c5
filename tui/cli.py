"""The `gatepost` command line: the composition root for every command."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="gatepost")
def cli() -> None:
    """Gatepost: schedule university social-media posts through a compliance gate."""


def main() -> None:
    cli()
