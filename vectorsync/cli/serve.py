"""`vectorsync serve`: serve the deployment catalog to the Prefect API, running scheduled and UI-triggered runs here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vectorsync.cli.console import err, fail
from vectorsync.cli.validation import checked
from vectorsync.errors import ConfigError, VectorsyncError

if TYPE_CHECKING:
    from deployments.catalog import DeploymentSpec

SCHEDULE_HELP = "NAME=CRON changes a deployment's schedule (UTC), NAME=off unschedules it; repeatable."


@checked
def serve(
    schedule: Annotated[list[str] | None, typer.Option("--schedule", help=SCHEDULE_HELP)] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Most flow runs at once (unlimited by default).")] = None,
    dask_address: Annotated[
        str | None, typer.Option(help="Run embedding batches on this Dask scheduler, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    dask_workers: Annotated[
        int | None, typer.Option(min=1, help="Run embedding batches on a local Dask cluster of N workers per run.")
    ] = None,
) -> None:
    """Serve every deployment to the Prefect API that PREFECT_API_URL names, until interrupted."""
    # Runs execute in subprocesses of this one, with its environment (VECTORSYNC_*, MONGODB_URI, ...) and its
    # working directory, where the default path examples/docs lives. Prefect's INFO logging stays on in this
    # terminal too: a served run's progress shows here as well as in the UI. A deployment whose settings are
    # missing (MongoDB) is left out with one line, rather than served to fail on every run.
    from prefect.settings import get_current_settings

    from deployments.catalog import servable, with_schedules
    from deployments.catalog import serve as serve_catalog
    from deployments.scale_out import dask_task_runner
    from vectorsync.settings import Settings

    try:
        api = require_api_url(get_current_settings().api.url)
        specs, left_out = servable(with_schedules(schedule or []), Settings())
        runner = dask_task_runner(dask_address, dask_workers) if dask_address or dask_workers else None
    except VectorsyncError as exc:
        fail(exc)
    for spec, reason in left_out:
        err.print(f"[yellow]not served[/yellow] {spec.full_name}: {reason}", highlight=False, soft_wrap=True)
    show_catalog(specs, f"Serving to {api} (Ctrl+C stops; schedules pause until the next serve)")
    serve_catalog(specs, runner, limit)


def require_api_url(url: str | None) -> str:
    """The configured Prefect API, or a `ConfigError` saying how to get one: runs on a temporary API are invisible."""
    if not url:
        raise ConfigError(
            "PREFECT_API_URL is not set: start a server with `prefect server start` and "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api (or `prefect cloud login`)"
        )
    return url


def show_catalog(specs: list[DeploymentSpec], title: str) -> None:
    """The deployments with their schedules and tags, on stderr so stdout stays free for scripts."""
    table = Table("deployment", "schedule (UTC)", "tags", title=title)
    for spec in specs:
        table.add_row(spec.full_name, spec.cron or "unscheduled", ", ".join(spec.tags))
    err.print(table)
