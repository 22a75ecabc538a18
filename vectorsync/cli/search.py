"""`vectorsync search TEXT`: the closest chunks by meaning, with scores and an optional filter."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from vectorsync.cli.console import fail, out
from vectorsync.cli.validation import checked, require_query, require_settings
from vectorsync.display import display_sources, snippet
from vectorsync.errors import VectorsyncError

# Atlas caps numCandidates at 10,000, and no reader looks further.
MAX_HITS = 10_000


@checked
def search(
    text: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=MAX_HITS, help="How many hits.")] = 5,
    filter: Annotated[
        str | None, typer.Option("--filter", help='A $vectorSearch filter, e.g. \'{"metadata.type": "md"}\'.')
    ] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Exact search instead of the ANN index.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Search the store by meaning."""
    from vectorsync.embedders import build_embedder
    from vectorsync.filters import parse_filter_json
    from vectorsync.migration import serving_settings
    from vectorsync.search import search_text
    from vectorsync.stores import open_store

    require_query(text)
    configured = require_settings()
    try:
        where = parse_filter_json(filter) if filter else None
        settings = serving_settings(configured)  # the serving table and the model its vectors were made with
        with open_store(settings) as store:
            hits = search_text(store, build_embedder(settings), text, k=k, filter=where, exact=exact)
    except VectorsyncError as exc:
        fail(exc)
    if as_json:
        print(json.dumps([asdict(hit) for hit in hits], default=str))
        return
    table = Table("score", "source", "text", title=f"Top {len(hits)} for {snippet(text, 80)!r}")
    for hit, source in zip(hits, display_sources([hit.source for hit in hits]), strict=True):
        table.add_row(f"{hit.score:.3f}", source, snippet(hit.text, 200))
    out.print(table)
