"""The `vectorsync` command: each command lives in its own module and is a thin call into flows or the library."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from vectorsync.cli.command import Command, Group
from vectorsync.cli.console import out, prefect_defaults
from vectorsync.cli.deploy import deploy
from vectorsync.cli.doctor import doctor
from vectorsync.cli.eval import eval_command
from vectorsync.cli.existing import embed_existing
from vectorsync.cli.info import info
from vectorsync.cli.migrate import migrate
from vectorsync.cli.run import run
from vectorsync.cli.search import search
from vectorsync.cli.serve import serve

app = typer.Typer(
    cls=Group, help="Turn documents into vector embeddings and keep them searchable.", no_args_is_help=True
)


def show_version(asked: bool) -> None:
    """`--version`: print the installed version and stop."""
    if asked:
        out.print(f"vectorsync {version('vectorsync')}", highlight=False)
        raise typer.Exit()


@app.callback()
def setup(
    _version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Turn documents into vector embeddings and keep them searchable."""
    prefect_defaults()


app.command(cls=Command)(run)
app.command(cls=Command)(search)
app.command(cls=Command)(info)
app.command(name="embed-existing", cls=Command)(embed_existing)
app.command(name="eval", cls=Command)(eval_command)
app.command(cls=Command)(migrate)
app.command(cls=Command)(doctor)
app.command(cls=Command)(serve)
app.command(cls=Command)(deploy)


def main() -> None:
    """Console entry point."""
    app()
