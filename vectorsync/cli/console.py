"""What every command shares: the two consoles, error exits, and Prefect's defaults for a terminal."""

from __future__ import annotations

import logging
import os
import warnings
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from vectorsync.redaction import redact

out = Console()
err = Console(stderr=True)

# Prefect gives its temporary server 20 s, which a busy 2-core machine does not always meet.
EPHEMERAL_STARTUP_TIMEOUT_S = 180
_EPHEMERAL_TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server"
_API_UNREACHABLE = "Failed to reach API at "


def prefect_defaults() -> None:
    """Defaults for Prefect and the libraries under it, set before they are imported; the user's own values win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_STARTUP_TIMEOUT_S))
    # pypdf reports every oddity of a PDF it can read anyway; a PDF it cannot read becomes a listed skip.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"pypdf(\.|$)")


def quiet_prefect() -> None:
    """The terminal shows warnings only, while every INFO line of a run still reaches the Prefect API (the UI).

    Only Prefect's console handler is raised to WARNING: PREFECT_LOGGING_LEVEL, which also gates the records
    sent to the API, is left alone. The handler also leaves out a run's own ERROR lines, since the command
    reports a failed run itself (`TerminalLogHandler`).
    """
    prefect_defaults()
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS", "vectorsync.cli.terminal_log.TerminalLogHandler")


def prefect_unavailable(exc: BaseException) -> str | None:
    """What to do when Prefect's API could not be reached or started, or None when `exc` is something else.

    Prefect raises a plain RuntimeError for both; its message is the only thing that tells them apart.
    """
    if not isinstance(exc, RuntimeError):
        return None
    message = str(exc)
    if message.startswith(_EPHEMERAL_TIMED_OUT):
        timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_TIMEOUT_S)
        return (
            f"Prefect's temporary API server did not start within {timeout} s: start one with "
            "`prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api, "
            "or raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
        )
    if message.startswith(_API_UNREACHABLE):
        url = message.removeprefix(_API_UNREACHABLE).split()[0]
        return (
            f"the Prefect API at {url} (PREFECT_API_URL) does not answer: start it with `prefect server start`, "
            "or unset PREFECT_API_URL to run on a temporary server"
        )
    return None


def fail(exc: Exception) -> NoReturn:
    """Print a one-line error (secrets redacted) and exit non-zero."""
    fail_with(str(exc))


def fail_with(message: str) -> NoReturn:
    """Print `message` as a one-line error (secrets redacted) and exit non-zero."""
    # Escaped: a message may quote input holding rich's markup ("[/x]"), which must print as it is.
    err.print(f"[red]error:[/red] {escape(redact(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)
