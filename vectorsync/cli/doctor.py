"""`vectorsync doctor`: every troubleshooting check, one line each, ok or with its fix."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from vectorsync.cli.console import fail, out, quiet_prefect
from vectorsync.cli.validation import checked


@checked
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print the checks as one JSON list.")] = False) -> None:
    """Check packages, model, store, index, dimensions, the Prefect API and memory; exit 1 when any check fails."""
    quiet_prefect()
    from prefect.settings import get_current_settings

    from vectorsync.doctor import run_checks
    from vectorsync.settings import Settings

    api = get_current_settings().api
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError: a malformed VECTORSYNC_* variable or vectorsync.toml
        fail(exc)
    checks = []
    for check in run_checks(settings, api.url, api.key.get_secret_value() if api.key else None):
        checks.append(check)
        if not as_json:
            mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
            out.print(f"{mark} {check.name}: {check.detail}", highlight=False)
            if check.fix:
                out.print(f"      fix: {check.fix}", highlight=False)
    if as_json:
        print(json.dumps([asdict(check) for check in checks]))
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
