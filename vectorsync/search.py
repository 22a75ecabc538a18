"""Query the store by meaning: embed the text with the store's model, then search with an optional filter."""

from __future__ import annotations

from typing import Any

from vectorsync.embedders.base import Embedder
from vectorsync.records import Hit
from vectorsync.stores.base import VectorStore


def search_text(
    store: VectorStore,
    embedder: Embedder,
    text: str,
    k: int = 5,
    filter: dict[str, Any] | None = None,
    exact: bool = False,
) -> list[Hit]:
    """The `k` chunks closest in meaning to `text`, best first."""
    vector = embedder.encode([text])[0]
    return store.search(vector, k=k, filter=filter, exact=exact)
