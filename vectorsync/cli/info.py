"""`vectorsync info`: what the store holds, for people (a table) and scripts (`--json`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vectorsync.cli.console import fail
from vectorsync.cli.run import show_table
from vectorsync.cli.validation import checked, require_settings
from vectorsync.errors import VectorsyncError


@checked
def info(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Store, model, dimensions, chunk and source counts, index state, and a model migration under way."""
    from vectorsync.migration import pointers_for, read_serving, served_name
    from vectorsync.stores import open_store

    settings = require_settings()
    try:
        model, migration = settings.model_name, "none"
        # the serving table (or collection), and the model its vectors were made with
        serving = read_serving(pointers_for(settings), served_name(settings))
        model, migration = serving.current.model or model, serving.describe_migration()
        if settings.store_kind == "mongodb":  # LanceDB's open_store follows active.json itself
            settings = settings.model_copy(update={"mongodb_collection": serving.current.table})
        with open_store(settings) as store:
            documents = store.documents()
            data: dict[str, Any] = {
                "store": store.describe(),
                "model": model,
                "embedder": settings.embedder,
                "stored_models": sorted(store.stored_models()),
                "dimensions": store.stored_dimensions(),
                "chunks": store.count(),
                "documents": len(documents),
                "sources": len(set(documents.values())),
                "index": store.index_status(settings.index_name).state,
                "dead_letters": len(store.dead_letters()),
                "migration": migration,
            }
    except VectorsyncError as exc:
        fail(exc)
    show_table(data, as_json, "vectorsync")
