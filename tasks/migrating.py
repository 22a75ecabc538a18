"""Tasks of a model migration: each moves the serving pointer one step and says in the UI what serves now."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from vectorsync.migration import Pointers, Serving, finish, rollback, switch


@task(name="switch-serving", task_run_name="switch-{name}", retries=0, cache_policy=NO_CACHE)
def switch_serving(pointers: Pointers, name: str) -> Serving:
    """Make the freshly built table serve `name`, keeping the one it replaces for a rollback."""
    return _published(switch(pointers, name), "switched")


@task(name="finish-migration", task_run_name="finish-{name}", retries=0, cache_policy=NO_CACHE)
def finish_migration(pointers: Pointers, name: str) -> Serving:
    """Drop the table a switched migration replaced."""
    return _published(finish(pointers, name), "finished")


@task(name="roll-back-migration", task_run_name="roll-back-{name}", retries=0, cache_policy=NO_CACHE)
def roll_back_migration(pointers: Pointers, name: str) -> Serving:
    """Serve the table from before the migration again and drop the new one."""
    return _published(rollback(pointers, name), "rolled back")


def _published(serving: Serving, step: str) -> Serving:
    """Log and show (artifact `model-migration`) what serves after `step`."""
    kept = serving.previous.describe() if serving.previous else "nothing"
    get_run_logger().info("%s: %s serves %s; kept: %s", step, serving.name, serving.current.describe(), kept)
    create_markdown_artifact(
        markdown=f"### Migration {step}\n\n`{serving.name}` is served by {serving.current.describe()}.\n\n"
        f"Kept for rollback: {kept}. Migration: {serving.describe_migration()}.",
        key="model-migration",
    )
    return serving
