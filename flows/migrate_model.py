"""Change a table's embedding model without downtime: (evaluate both) -> build beside -> switch -> finish or rollback.

The new model's vectors go into a candidate table beside the serving one; with a labelled set both models are
scored first and the switch happens only if the new one reaches the floor. Searches answer from the serving table
throughout, and the switch is one atomic pointer write. The migration holds the target's run lock while it builds,
so a `vectorsync run` started meanwhile waits, then writes to whichever table serves once it gets the lock.

Run it:  vectorsync migrate examples/docs --model all-MiniLM-L6-v2 --dimensions 256   (then --finish or --rollback)
"""

# No `from __future__ import annotations`: the runner pickles a served flow by value, and a string annotation
# (`job: MigrateModel`) would not find its class in the pickled function's globals.

import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows.embed_new_data import embed_and_write
from flows.evaluate import compare_models
from tasks.locking import exclusive_target
from tasks.migrating import finish_migration, roll_back_migration, switch_serving
from tasks.naming import job_field
from tasks.secrets import with_secret_blocks
from vectorsync.errors import ConfigError, MigrationError
from vectorsync.evaluation.beir import load_dataset
from vectorsync.evaluation.gate import check_floor, on_table
from vectorsync.jobs import EmbedNewData, Evaluate, MigrateModel
from vectorsync.migration import Pointers, Serving, begin, in_force, pointers_for, read_serving, served_name
from vectorsync.settings import Settings
from vectorsync.summary import RunSummary

# The job a run gets when it names none (frozen, so one instance serves every run).
DEFAULT_JOB = MigrateModel()


def run_name() -> str:
    """`migrate <action> <new model>`, so the runs list says what each run changed."""
    return f"migrate {job_field('action', DEFAULT_JOB.action)} {job_field('new_model', DEFAULT_JOB.new_model)}".strip()


@flow(
    name="migrate-model",
    flow_run_name=run_name,
    description="Change a table's embedding model without downtime: build beside, gate, switch; finish or roll back.",
    task_runner=ThreadPoolTaskRunner(max_workers=3),  # type: ignore[arg-type]  # Prefect's runner generic is invariant
)
def migrate_model(job: MigrateModel = DEFAULT_JOB) -> dict[str, Any]:
    """Start, finish or roll back a model migration of the configured table; returns what serves afterwards."""
    started = time.perf_counter()
    settings = with_secret_blocks(job.settings())
    pointers, name = pointers_for(settings), served_name(settings)
    with exclusive_target(settings.describe_store(), settings.data_dir / "locks"):
        if job.action == "finish":
            result = outcome(finish_migration(pointers, name), "finished")
        elif job.action == "rollback":
            result = outcome(roll_back_migration(pointers, name), "rolled back")
        else:
            result = start(job, settings, pointers)
    return {**result, "seconds": round(time.perf_counter() - started, 3)}


def start(job: MigrateModel, settings: Settings, pointers: Pointers) -> dict[str, Any]:
    """The recipe: (score both models) -> embed PATH with the new model into a candidate table -> switch to it."""
    name = served_name(settings)
    old = in_force(settings, read_serving(pointers, name))
    new = old.model_copy(update={"model": job.new_model.strip(), "dimensions": job.new_dimensions or None})
    require_a_change(old, new)
    candidate = begin(pointers, name, new.model_name, new.dimensions)
    get_run_logger().info("migrating %s from %s to %s", name, old.model_name, candidate.describe())
    try:
        comparison = score_both(job, old, new) if job.eval_dataset else None
        summary = RunSummary(
            target=on_table(new, candidate.table).describe_store(), model=new.model_name, path=job.path
        )
        embed_and_write(
            EmbedNewData(path=job.path, text_field=job.text_field, id_field=job.id_field),
            on_table(new, candidate.table),
            summary,
        )
        switched = switch_serving(pointers, name)
    except BaseException:
        roll_back_migration(pointers, name)  # the candidate is dropped; the old table never stopped serving
        raise
    return {**outcome(switched, "switched"), "comparison": comparison, "run": summary.as_json()}


def require_a_change(old: Settings, new: Settings) -> None:
    """A migration needs a new model or new dimensions; the same model again would only copy the table."""
    if not new.model:
        raise ConfigError("migrate: name the model to migrate to (--model NEW; new_model in the job)")
    if (new.model_name, new.dimensions) == (old.model_name, old.dimensions):
        raise MigrationError(
            f"{served_name(old)} is already served by {old.model_name} at {old.dimensions or 'native'} dimensions; "
            "name another model or --dimensions"
        )


def score_both(job: MigrateModel, old: Settings, new: Settings) -> dict[str, Any]:
    """Score the serving and the new model on the labelled set; raise `QualityGateFailed` if the new one is short."""
    labels = [f"{s.model_name}:{s.dimensions}" if s.dimensions else s.model_name for s in (old, new)]
    dataset = load_dataset(job.eval_dataset)
    compared = compare_models(Evaluate(dataset=job.eval_dataset, models=labels), dataset, old, time.perf_counter())
    if job.floor:
        check_floor(compared["models"][1], job.floor, f"{served_name(old)} ({old.model_name})")
    return compared


def outcome(serving: Serving, state: str) -> dict[str, Any]:
    """What serves after a step of the migration, as JSON."""
    return {
        "state": state,
        "table": serving.name,
        "serving": serving.current.describe(),
        "model": serving.current.model,
        "dimensions": serving.current.dimensions,
        "kept": serving.previous.describe() if serving.previous else None,
        "migration": serving.describe_migration(),
    }
