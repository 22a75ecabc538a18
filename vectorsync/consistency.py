"""Dimension consistency between the model, the vector index and the vectors already stored."""

from __future__ import annotations

from vectorsync.errors import DimensionMismatch
from vectorsync.stores.base import VectorStore


def check_dimensions(model: str, model_dimensions: int, store: VectorStore, index_name: str | None) -> None:
    """Raise `DimensionMismatch` naming each side when model, index (unless None) and stored vectors disagree."""
    stored = store.stored_dimensions()
    if stored is not None and stored != model_dimensions:
        raise DimensionMismatch(
            f"model '{model}' produces {model_dimensions}-dimension vectors but {store.describe()} already holds "
            f"{stored}-dimension vectors; use the model they were made with, or a new collection/data directory"
        )
    if index_name is None:
        return
    index = store.index_status(index_name)
    if index.dimensions is not None and index.dimensions != model_dimensions:
        raise DimensionMismatch(
            f"index '{index_name}' on {store.describe()} expects {index.dimensions} dimensions but model "
            f"'{model}' produces {model_dimensions}; run with --update-index to rebuild it, or choose the "
            "matching model"
        )
