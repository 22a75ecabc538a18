"""Every deployment in one place: flow, name, schedule, tags, description and the parameters a UI run starts from.

`vectorsync serve` serves this catalog, `vectorsync deploy` registers it for a work pool, and
docs/deployments.md describes it. Schedules are cron strings in UTC; `--schedule NAME=CRON` changes one.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import Flow
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
from prefect.schedules import validate_cron_string
from prefect.task_runners import TaskRunner
from pydantic import BaseModel

from flows.embed_existing import embed_existing
from flows.embed_new_data import embed_new_data
from flows.evaluate import evaluate
from flows.migrate_model import migrate_model
from vectorsync.errors import ConfigError
from vectorsync.jobs import EmbedExisting, EmbedNewData, Evaluate, MigrateModel
from vectorsync.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
OFF = ("off", "none", "")
STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: the flow, its default job, when it runs, and what the UI shows about it.

    `scales_out` marks flows that submit their batches to the task runner, so a Dask runner spreads them;
    `needs_mongodb` marks those that cannot run without MONGODB_URI (or its Secret block).
    """

    flow: Flow[..., Any]
    name: str
    job: BaseModel
    cron: str | None
    description: str
    tags: tuple[str, ...] = ()
    scales_out: bool = False
    needs_mongodb: bool = False

    @property
    def full_name(self) -> str:
        """`flow-name/deployment-name`, as `prefect deployment run` and `run_deployment` take it."""
        return f"{self.flow.name}/{self.name}"

    @property
    def entrypoint(self) -> str:
        """`path/to/flow.py:function`, relative to the project root, where a worker finds the flow."""
        source = Path(inspect.getfile(self.flow.fn)).resolve()
        return f"{source.relative_to(PROJECT_ROOT).as_posix()}:{self.flow.fn.__name__}"

    def parameters(self) -> dict[str, Any]:
        """The job the UI form starts from; overrides left at "configured" or empty keep the environment's value."""
        return {"job": self.job.model_dump(mode="json")}

    def missing_settings(self, settings: Settings) -> str | None:
        """Why this deployment cannot run with `settings`, or None when it can."""
        if self.needs_mongodb and not (settings.mongodb_uri or settings.mongodb_uri_block):
            return "MONGODB_URI is not set (nor VECTORSYNC_MONGODB_URI_BLOCK)"
        return None


CATALOG: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        flow=embed_new_data,
        name="sample-docs",
        job=EmbedNewData(),
        cron="0 * * * *",
        description=(
            "Embed what is new or changed under `path` (the sample corpus examples/docs by default) into the "
            "configured store, then ensure the vector index and smoke-test it. Unchanged files cost nothing."
        ),
        tags=("vectorsync", "embedding", "new-data"),
        scales_out=True,
    ),
    DeploymentSpec(
        flow=evaluate,
        name="sample-eval",
        job=Evaluate(),
        cron="30 3 * * *",
        description=(
            "Embed the labelled set under `dataset` (examples/eval by default) into its own table, "
            "run its queries through the store's search and publish nDCG@10, recall@10/100 and MRR@10. "
            "With `floor`, a fresh table replaces the serving one only when it reaches every floor."
        ),
        tags=("vectorsync", "evaluation"),
    ),
    DeploymentSpec(
        flow=embed_existing,
        name="sample-airbnb",
        job=EmbedExisting(),
        cron=None,
        description=(
            "Give every document of a MongoDB collection (Atlas's sample_airbnb.listingsAndReviews by default) a "
            "current vector of its text field, in place, then ensure the index. Needs MONGODB_URI; unscheduled "
            "until you give it one: vectorsync serve --schedule embed-existing/sample-airbnb='0 2 * * *'."
        ),
        tags=("vectorsync", "embedding", "mongodb"),
        needs_mongodb=True,
    ),
    DeploymentSpec(
        flow=migrate_model,
        name="change-model",
        job=MigrateModel(),
        cron=None,
        description=(
            "Change the embedding model of the configured table without downtime: embed `path` with `new_model` "
            "into a table beside the serving one, score both models on `eval_dataset` when given, and switch only "
            "if the new one reaches `floor`. Run it again with action finish (drop the old vectors) or rollback."
        ),
        tags=("vectorsync", "embedding", "migration"),
    ),
)


def find(name: str, catalog: Sequence[DeploymentSpec] = CATALOG) -> DeploymentSpec:
    """The deployment called `name` (`flow/deployment` or just the deployment name)."""
    for spec in catalog:
        if name in (spec.full_name, spec.name):
            return spec
    known = ", ".join(spec.full_name for spec in catalog)
    raise ConfigError(f"no deployment named '{name}'; the catalog has: {known}")


def with_schedules(overrides: Iterable[str], catalog: Iterable[DeploymentSpec] = CATALOG) -> list[DeploymentSpec]:
    """The catalog with `NAME=CRON` overrides applied; `NAME=off` leaves a deployment unscheduled."""
    specs = list(catalog)
    for override in overrides:
        name, sep, cron = override.partition("=")
        if not sep:
            raise ConfigError(
                f"--schedule '{override}': expected NAME=CRON, e.g. embed-new-data/sample-docs='0 6 * * *'"
            )
        spec = find(name.strip(), specs)
        cron = cron.strip()
        if cron.lower() not in OFF:
            try:
                validate_cron_string(cron)
            except ValueError as exc:
                raise ConfigError(f"--schedule {spec.full_name}: '{cron}' is not a valid cron string ({exc})") from exc
        specs[specs.index(spec)] = replace(spec, cron=None if cron.lower() in OFF else cron)
    return specs


def servable(
    specs: Iterable[DeploymentSpec], settings: Settings
) -> tuple[list[DeploymentSpec], list[tuple[DeploymentSpec, str]]]:
    """The deployments that can run with `settings`, and each of the others with the reason it cannot."""
    ready: list[DeploymentSpec] = []
    left_out: list[tuple[DeploymentSpec, str]] = []
    for spec in specs:
        if (reason := spec.missing_settings(settings)) is None:
            ready.append(spec)
        else:
            left_out.append((spec, reason))
    return ready, left_out


class BoundedStopRunner(Runner):
    """Prefect's runner, whose graceful stop on SIGTERM gets `STOP_GRACE_S`; then the process exits anyway.

    The graceful stop cancels the runs and pauses the schedules through the API; with the API gone, its
    client retries each call with backoff, and the process would ignore SIGTERM for that long.
    """

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        watchdog = threading.Timer(STOP_GRACE_S, _exit_now)
        watchdog.daemon = True
        watchdog.start()
        super().handle_sigterm(*args, **kwargs)


def _exit_now() -> None:
    sys.stderr.write(
        f"vectorsync serve: no clean stop within {STOP_GRACE_S:g} s of SIGTERM (is the Prefect API gone?); exiting "
        "without pausing the schedules\n"
    )
    sys.stderr.flush()
    os._exit(0)


def serve(
    specs: Iterable[DeploymentSpec], task_runner: TaskRunner[Any] | None = None, limit: int | None = None
) -> None:
    """Serve `specs` from this process until interrupted; runs execute in its subprocesses.

    Flows are handed to the runner as objects (not re-imported by entrypoint), so `task_runner` reaches the
    runs of the flows that scale out. Schedules pause when serving stops and resume with the next serve.
    """
    runner = BoundedStopRunner(name="vectorsync", pause_on_shutdown=True, limit=limit)
    for spec in specs:
        flow = spec.flow.with_options(task_runner=task_runner) if task_runner and spec.scales_out else spec.flow
        runner.add_flow(
            flow,
            name=spec.name,
            cron=spec.cron,
            description=spec.description,
            tags=list(spec.tags),
            parameters=spec.parameters(),
        )
    with suppress(KeyboardInterrupt, TerminationSignal):
        asyncio.run(runner.start())


def register(spec: DeploymentSpec, pool: str, source: str | None = None) -> UUID:
    """Register `spec` for work pool `pool`; workers fetch the code from `source` (this checkout by default)."""
    # Called from sync code, Prefect's dual sync/async methods return plain values, not coroutines.
    flow = cast(Flow[..., Any], Flow.from_source(source=source or str(PROJECT_ROOT), entrypoint=spec.entrypoint))
    try:
        deployment_id = flow.deploy(
            name=spec.name,
            work_pool_name=pool,
            build=False,
            push=False,
            cron=spec.cron,
            description=spec.description,
            tags=list(spec.tags),
            parameters=spec.parameters(),
            print_next_steps=False,
            ignore_warnings=True,
        )
    except ValueError as exc:  # Prefect's word for a missing or unsuitable work pool
        raise ConfigError(
            f"cannot register {spec.full_name} for work pool '{pool}': {exc} "
            f"(a local pool: prefect work-pool create {pool} --type process)"
        ) from exc
    return cast(UUID, deployment_id)
