"""`vectorsync eval DATASET`: retrieval quality on a labelled BEIR-format set, next to published figures."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from vectorsync.cli.console import fail, out, quiet_prefect
from vectorsync.cli.progress_bar import ProgressBar
from vectorsync.cli.validation import UsageMistake, checked, require_evaluation
from vectorsync.errors import QualityGateFailed, VectorsyncError

JSON_KEYS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "queries", "exact")


@checked
def eval_command(
    dataset: Annotated[str, typer.Argument(help="BEIR-format folder: corpus.jsonl[.gz], queries.jsonl, qrels/.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the metrics.")] = False,
    exact: Annotated[bool, typer.Option("--exact", help="Exact search instead of the ANN index.")] = False,
    split: Annotated[str, typer.Option("--split", help="Which qrels/<split>.tsv to score.")] = "test",
    floor: Annotated[
        list[str] | None,
        typer.Option("--floor", help="Quality gate, e.g. ndcg@10=0.6: a fresh table serves only if it reaches it."),
    ] = None,
    long_text: Annotated[
        str, typer.Option("--long-text", help="Long documents: truncate (as published figures) or chunk.")
    ] = "truncate",
    table: Annotated[str | None, typer.Option("--table", help="Table for the corpus (default eval_<dataset>).")] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(help="Model id or local path; MODEL:N cuts it to N dimensions. Twice or more: one row per model."),
    ] = None,
) -> None:
    """Embed a labelled set, run its queries through the store's search, report nDCG@10, recall@10/100, MRR@10."""
    quiet_prefect()
    from flows.evaluate import evaluate
    from vectorsync.jobs import Evaluate

    models = model or []
    if len(models) > 1 and floor:
        raise UsageMistake("--floor gates one model; compare models without it, or gate a change with migrate --eval")
    job = Evaluate(
        dataset=dataset,
        exact=exact,
        split=split,
        floor=parse_floor(floor) if floor else None,
        long_text=long_text,  # type: ignore[arg-type]  # validated by the model
        table=table,
        model=models[0] if len(models) == 1 else None,
        models=models if len(models) > 1 else [],
    )
    require_evaluation(job)
    try:
        with ProgressBar(enabled=not as_json):
            result = evaluate(job)
    except QualityGateFailed as exc:
        show_scores(exc.scores, as_json)
        fail(exc)
    except VectorsyncError as exc:
        fail(exc)
    show_scores(result, as_json)


def parse_floor(items: list[str]) -> dict[str, float]:
    """`["ndcg@10=0.6"]` -> `{"ndcg@10": 0.6}`."""
    floor: dict[str, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            floor[name.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"expected METRIC=VALUE such as ndcg@10=0.6, got {item!r}") from None
    return floor


def show_scores(result: dict[str, Any], as_json: bool) -> None:
    """The metrics as a table (with published figures when known), or as one JSON object."""
    if "models" in result:
        show_comparison(result, as_json)
        return
    if as_json:
        print(json.dumps({key: result[key] for key in JSON_KEYS if key in result}))
        return
    reference = result.get("reference") or {}
    out.print(title(result), highlight=False)
    table = Table("metric", "value", *(("published", "difference") if reference else ()))
    for name in JSON_KEYS[:4]:
        if name not in result:
            continue
        row = [name, f"{result[name]:.4f}"]
        if reference:
            known = reference.get(name)
            row += [f"{known:.4f}", f"{result[name] - known:+.4f}"] if known is not None else ["", ""]
        table.add_row(*row)
    out.print(table)


def title(result: dict[str, Any]) -> str:
    """What was evaluated, in one line."""
    if "dataset" not in result:
        return "Evaluation"
    search = "exact search" if result["exact"] else "ANN index"
    return f"{result['dataset']} ({result['queries']} queries), {result['model']}, {search}, {result['long_text']}"


def show_comparison(result: dict[str, Any], as_json: bool) -> None:
    """One row per model: quality, throughput on this machine, dimensions, tokens and what the vectors cost."""
    from vectorsync.evaluation.comparison import COLUMNS

    if as_json:
        print(json.dumps({"models": [{key: row[key] for key in COLUMNS} for row in result["models"]]}))
        return
    search = "exact search" if result["exact"] else "ANN index"
    out.print(f"{result['dataset']} ({result['queries']} queries), {search}, {result['long_text']}", highlight=False)
    # Borderless, so that nine columns fit 80 characters; a long model id folds over lines rather than vanishing.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    table.add_column("model", overflow="fold", min_width=16)
    for header in (
        "dims",
        "max\ntokens",
        "nDCG\n@10",
        "recall\n@100",
        "MRR\n@10",
        "docs/s",
        "bytes/\nvector",
        "per 1M\nvectors",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for row in result["models"]:
        table.add_row(
            row["model"],
            str(row["dimensions"]),
            str(row["max_tokens"]),
            f"{row['ndcg@10']:.4f}",
            f"{row['recall@100']:.4f}",
            f"{row['mrr@10']:.4f}",
            "reused" if row["docs_per_s"] is None else f"{row['docs_per_s']:.1f}",
            str(row["bytes_per_vector"]),
            f"{row['gb_per_million']:.2f} GB",
        )
    out.print(table)
