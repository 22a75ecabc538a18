"""`vectorsync migrate PATH --model NEW`: change the table's model without downtime, then `--finish` or `--rollback`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vectorsync.cli.console import fail, quiet_prefect
from vectorsync.cli.eval import parse_floor, show_comparison
from vectorsync.cli.progress_bar import ProgressBar
from vectorsync.cli.run import show_table
from vectorsync.cli.validation import UsageMistake, checked, require_path, require_run
from vectorsync.errors import VectorsyncError

SHOWN_KEYS = ("state", "table", "serving", "kept", "migration")


@checked
def migrate(
    path: Annotated[str | None, typer.Argument(help="Files to embed with the new model.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="The model to migrate to: id or local path.")] = None,
    dimensions: Annotated[
        int | None, typer.Option("--dimensions", min=1, help="Cut the new model's vectors to N dimensions.")
    ] = None,
    eval_dataset: Annotated[
        str | None, typer.Option("--eval", help="Labelled BEIR-format folder that scores the old and new models.")
    ] = None,
    floor: Annotated[
        list[str] | None,
        typer.Option("--floor", help="What the new model must reach on --eval to be switched in, e.g. ndcg@10=0.6."),
    ] = None,
    finish: Annotated[bool, typer.Option("--finish", help="Drop the old vectors of a switched migration.")] = False,
    rollback: Annotated[bool, typer.Option("--rollback", help="Serve the old vectors again, drop the new.")] = False,
    text_field: Annotated[str, typer.Option(help="Text field of JSONL/CSV/Parquet records.")] = "text",
    id_field: Annotated[str | None, typer.Option(help="Id field of JSONL/CSV/Parquet records.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Data directory of the store (VECTORSYNC_DATA_DIR).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Embed PATH with the new model beside the serving vectors, gate on --eval, switch; keep the old until --finish."""
    quiet_prefect()
    from flows.migrate_model import migrate_model
    from vectorsync.jobs import EmbedNewData, MigrateModel

    action = checked_action(path, model, finish, rollback)
    if floor and not eval_dataset:
        raise UsageMistake("--floor needs --eval DATASET, the labelled set that scores the new model")
    if action == "start":
        assert path is not None and model is not None  # checked_action made sure
        require_run(EmbedNewData(path=path, text_field=text_field, id_field=id_field, data_dir=data_dir))
        if eval_dataset:
            require_path(eval_dataset, "--eval")
    job = MigrateModel(
        action=action,
        path=path or MigrateModel().path,
        new_model=model or "",
        new_dimensions=dimensions or 0,
        eval_dataset=eval_dataset or "",
        floor=parse_floor(floor) if floor else {},
        text_field=text_field,
        id_field=id_field or "",
        data_dir=data_dir,
    )
    try:
        with ProgressBar(enabled=not as_json and action == "start"):
            result = migrate_model(job)
    except VectorsyncError as exc:  # a refused floor too: its line names the metric, and the old table serves on
        fail(exc)
    show_outcome(result, as_json)


def checked_action(path: str | None, model: str | None, finish: bool, rollback: bool) -> str:
    """`start`, `finish` or `rollback`, from options that name exactly one of them."""
    if finish and rollback:
        raise UsageMistake("--finish and --rollback: choose one")
    if finish or rollback:
        if model or path:
            raise UsageMistake(f"--{'finish' if finish else 'rollback'} takes no PATH or --model")
        return "finish" if finish else "rollback"
    if not path or not model:
        raise UsageMistake("migrate needs PATH and --model NEW to start (or --finish, --rollback)")
    return "start"


def show_outcome(result: dict[str, Any], as_json: bool) -> None:
    """What serves now (and the two models' scores when they were compared), or all of it as JSON."""
    if as_json:
        show_table(result, True, "migration")
        return
    if result.get("comparison"):
        show_comparison(result["comparison"], False)
    show_table({key: result[key] for key in SHOWN_KEYS}, False, "migration")
