"""Run names that say what runs, read from the `job` parameter of the flow run being named."""

from __future__ import annotations

from prefect.runtime import flow_run


def job_field(name: str, default: str) -> str:
    """Field `name` of this run's `job` parameter (a model, or a dict from the UI or a deployment)."""
    job = flow_run.parameters.get("job") or {}
    value = job.get(name) if isinstance(job, dict) else getattr(job, name, None)
    return str(value or default)
