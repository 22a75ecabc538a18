"""`vectorsync run PATH`: the new-data flow, with a progress bar and a summary."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vectorsync.cli.console import err, fail, out, quiet_prefect
from vectorsync.cli.progress_bar import ProgressBar
from vectorsync.cli.validation import checked, require_run
from vectorsync.display import display_sources, snippet
from vectorsync.errors import IncompleteRun, VectorsyncError
from vectorsync.summary import SUMMARY_KEYS


@checked
def run(
    path: Annotated[str, typer.Argument(help="A file, a folder or a glob of files to embed.")],
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON object summarising the run.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Delete chunks of documents gone from PATH.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Re-embed everything, ignoring fingerprints.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be embedded and what it costs.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Fail when any input is skipped.")] = False,
    update_index: Annotated[
        bool, typer.Option("--update-index", help="Rebuild a vector index whose definition differs.")
    ] = False,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Smoke-test query to run at the end.")] = None,
    text_field: Annotated[str, typer.Option(help="Text field of JSONL/CSV/Parquet records.")] = "text",
    id_field: Annotated[str | None, typer.Option(help="Id field of JSONL/CSV/Parquet records.")] = None,
    embedder: Annotated[str | None, typer.Option(help="sentence-transformers (default) or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Model id or local path.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=50, help="Hits shown by the smoke test.")] = 3,
    batch_size: Annotated[int | None, typer.Option(min=1, max=2048, help="Texts per model call.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Data directory of the store (VECTORSYNC_DATA_DIR).")] = None,
) -> None:
    """Embed the documents under PATH into the store, build the index and smoke-test it."""
    quiet_prefect()
    from vectorsync.jobs import EmbedNewData

    job = EmbedNewData(
        path=path,
        prune=prune,
        refresh=refresh,
        strict=strict,
        update_index=update_index,
        query=query,
        text_field=text_field,
        id_field=id_field,
        embedder=embedder,
        model=model,
        top_k=top_k,
        batch_size=batch_size,
        data_dir=data_dir,
    )
    require_run(job, id_field=id_field, query=query)
    if dry_run:
        from vectorsync.dry_run import estimate

        try:
            show_table(estimate(job), as_json, "Dry run: nothing was written")
        except VectorsyncError as exc:
            fail(exc)
        return
    from flows.embed_new_data import embed_new_data

    try:
        with ProgressBar(enabled=not as_json):
            summary = embed_new_data(job)
    except IncompleteRun as exc:
        show_summary(exc.summary, as_json)
        fail(exc)
    except VectorsyncError as exc:
        fail(exc)
    show_summary(summary, as_json)


def show_summary(summary: dict[str, Any], as_json: bool) -> None:
    """The run's figures as a table (and every skip on stderr), or as one JSON object."""
    if as_json:
        print(json.dumps(summary))
        return
    show_table({key: summary[key] for key in SUMMARY_KEYS}, False, "Run summary")
    if summary["smoke_hits"]:
        hits = Table("score", "source", "text", title=f"Smoke test: {snippet(summary['smoke_query'], 80)!r}")
        sources = display_sources([hit["source"] for hit in summary["smoke_hits"]])
        for hit, source in zip(summary["smoke_hits"], sources, strict=True):
            hits.add_row(f"{hit['score']:.3f}", source, snippet(hit["text"]))
        out.print(hits)
    for skip in summary["skips"] + summary["dead_letters"]:
        where = f"{skip['source']}:{skip['location']}" if skip["location"] else skip["source"]
        err.print(f"[yellow]skipped[/yellow] {escape(where)}: {escape(skip['reason'])}", highlight=False)


def show_table(data: dict[str, Any], as_json: bool, title: str) -> None:
    """A two-column table of `data`, or `data` as one JSON object."""
    if as_json:
        print(json.dumps(data, default=str))
        return
    table = Table(show_header=False, title=title)
    for key, value in data.items():
        table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    out.print(table)
