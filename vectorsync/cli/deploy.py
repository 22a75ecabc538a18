"""`vectorsync deploy --pool NAME`: register the deployment catalog for a work pool, for its workers to run."""

from __future__ import annotations

from typing import Annotated

import typer

from vectorsync.cli.console import fail, out, quiet_prefect
from vectorsync.cli.serve import SCHEDULE_HELP, require_api_url, show_catalog
from vectorsync.cli.validation import checked
from vectorsync.errors import VectorsyncError


@checked
def deploy(
    pool: Annotated[str, typer.Option("--pool", help="Work pool whose workers run the flows; it must exist.")],
    schedule: Annotated[list[str] | None, typer.Option("--schedule", help=SCHEDULE_HELP)] = None,
    source: Annotated[
        str | None, typer.Option(help="Where workers get the code: a git URL or a directory (default: this checkout).")
    ] = None,
) -> None:
    """Register every deployment for work pool POOL on the Prefect API that PREFECT_API_URL names."""
    quiet_prefect()
    from prefect.settings import get_current_settings

    from deployments.catalog import register, with_schedules

    try:
        api = require_api_url(get_current_settings().api.url)
        specs = with_schedules(schedule or [])
        for spec in specs:
            register(spec, pool, source=source)
    except VectorsyncError as exc:
        fail(exc)
    show_catalog(specs, f"Registered for work pool '{pool}' on {api}")
    out.print(f"Start a worker to run them: prefect worker start --pool {pool}", highlight=False)
