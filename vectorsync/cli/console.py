"""What every command shares: the two consoles, error exits, and quiet Prefect defaults."""

from __future__ import annotations

import os
from typing import NoReturn

import typer
from rich.console import Console

from vectorsync.redaction import redact

out = Console()
err = Console(stderr=True)


def quiet_prefect() -> None:
    """Prefect's own console chatter stays off unless the user asked for it."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def fail(exc: Exception) -> NoReturn:
    """Print a one-line error (secrets redacted) and exit non-zero."""
    err.print(f"[red]error:[/red] {redact(str(exc))}", highlight=False)
    raise typer.Exit(1)
