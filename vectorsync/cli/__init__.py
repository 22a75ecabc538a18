"""The `vectorsync` command: each command lives in its own module and is a thin call into flows or the library."""

from __future__ import annotations

import typer

from vectorsync.cli.info import info
from vectorsync.cli.run import run
from vectorsync.cli.search import search

app = typer.Typer(help="Turn documents into vector embeddings and keep them searchable.", no_args_is_help=True)
app.command()(run)
app.command()(search)
app.command()(info)


def main() -> None:
    """Console entry point."""
    app()
