"""`vectorsync embed-existing`: embed a field of a MongoDB collection in place, with a progress bar and a summary."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.table import Table

from vectorsync.cli.console import fail, out, quiet_prefect
from vectorsync.cli.progress_bar import ProgressBar
from vectorsync.cli.run import show_summary
from vectorsync.cli.validation import checked, require_data_dir
from vectorsync.errors import VectorsyncError

VectorFormat = Literal["float32", "array", "int8", "packed_bit"]
Similarity = Literal["cosine", "euclidean", "dotProduct"]


@checked
def embed_existing(
    database: Annotated[str, typer.Option(help="Database of the collection to embed.")],
    collection: Annotated[str, typer.Option(help="Collection whose documents get vectors.")],
    text: Annotated[
        str, typer.Option(help="A field, a comma list of fields, or a template such as '{name}: {summary}'.")
    ],
    vector_field: Annotated[str, typer.Option(help="Field that receives the vector.")] = "embedding",
    long_text: Annotated[
        Literal["truncate", "chunk"],
        typer.Option(help="Texts over the model's limit: embed their beginning, or chunk into <collection>_chunks."),
    ] = "truncate",
    documents_per_batch: Annotated[int, typer.Option(help="Documents per embed-and-write-back step.")] = 256,
    update_index: Annotated[
        bool, typer.Option("--update-index", help="Rebuild an existing index whose definition differs.")
    ] = False,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Smoke-test query to run at the end.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Hits shown by the smoke test.")] = 3,
    filter_fields: Annotated[
        str | None, typer.Option(help="Comma list of fields that search filters may use (added to the index).")
    ] = None,
    index_name: Annotated[str | None, typer.Option(help="Vector search index name; vector_index if unset.")] = None,
    vector_format: Annotated[
        VectorFormat | None, typer.Option(help="How vectors are stored; float32 by default.")
    ] = None,
    similarity: Annotated[Similarity | None, typer.Option(help="Index similarity; cosine if unset.")] = None,
    embedder: Annotated[str | None, typer.Option(help="sentence-transformers (default) or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Model id or local path.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per model call.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON object summarising the run.")] = False,
) -> None:
    """Embed a text field of a MongoDB collection in place (MONGODB_URI), then build the index and smoke-test it."""
    quiet_prefect()
    from vectorsync.jobs import EmbedExisting

    job = EmbedExisting(
        database=database,
        collection=collection,
        text=text,
        vector_field=vector_field,
        long_text=long_text,
        documents_per_batch=documents_per_batch,
        update_index=update_index,
        query=query,
        top_k=top_k,
        filter_fields=filter_fields or [],
        index_name=index_name,
        vector_format=vector_format,
        similarity=similarity,
        embedder=embedder,
        model=model,
        batch_size=batch_size,
    )
    require_data_dir(job.settings())
    from flows.embed_existing import embed_existing as embed_existing_flow

    try:
        with ProgressBar(enabled=not as_json):
            summary = embed_existing_flow(job)
    except VectorsyncError as exc:
        fail(exc)
    show_summary(summary, as_json)
    if as_json or not summary["smoke_hits"]:
        return
    table = Table("score", "id", "text", title="Smoke test")
    for hit in summary["smoke_hits"]:
        table.add_row(f"{hit['score']:.3f}", str(hit["id"]), hit["text"].replace("\n", " "))
    out.print(table)
