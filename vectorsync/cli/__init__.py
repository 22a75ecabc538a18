"""The `vectorsync` command: each command lives in its own module and is a thin call into flows or the library."""

from __future__ import annotations

import typer

from vectorsync.cli.deploy import deploy
from vectorsync.cli.doctor import doctor
from vectorsync.cli.eval import eval_command
from vectorsync.cli.existing import embed_existing
from vectorsync.cli.info import info
from vectorsync.cli.run import run
from vectorsync.cli.search import search
from vectorsync.cli.serve import serve

app = typer.Typer(help="Turn documents into vector embeddings and keep them searchable.", no_args_is_help=True)
app.command()(run)
app.command()(search)
app.command()(info)
app.command(name="embed-existing")(embed_existing)
app.command(name="eval")(eval_command)
app.command()(doctor)
app.command()(serve)
app.command()(deploy)


def main() -> None:
    """Console entry point."""
    app()
