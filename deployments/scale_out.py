"""Scale-out: run a flow's batches on a Dask cluster through prefect-dask, instead of the flow's local threads."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner

from vectorsync.errors import ConfigError


def dask_task_runner(address: str | None = None, workers: int | None = None) -> TaskRunner[Any]:
    """A `DaskTaskRunner` for a running scheduler at `address`, else a temporary LocalCluster per flow run.

    Each worker process loads the model once and keeps it; `workers` sizes the local cluster (one thread each,
    since torch already uses every core it is given).
    """
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ConfigError("Dask scale-out needs prefect-dask: pip install 'vectorsync[dask]'") from exc
    if address and workers:
        raise ConfigError("a Dask scheduler address and a local worker count exclude each other: give one")
    if address:
        return DaskTaskRunner(address=address)
    cluster = {"n_workers": workers, "threads_per_worker": 1} if workers else {"threads_per_worker": 1}
    return DaskTaskRunner(cluster_kwargs=cluster)
