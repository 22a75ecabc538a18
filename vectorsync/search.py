"""Query the store by meaning: embed the text as a query with the store's model, then search with an optional filter."""

from __future__ import annotations

from typing import Any

from vectorsync.embedders.base import Embedder
from vectorsync.errors import ConfigError
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
    """The `k` chunks closest in meaning to `text`, best first.

    Raises `ConfigError` for a `k` below 1 or a text without words: both would return arbitrary hits or crash the store.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k={k!r}: the number of hits must be a whole number of at least 1")
    if not text.strip():
        raise ConfigError(f"text={text!r}: give words to search for")
    vector = embedder.encode_queries([text])[0]
    return store.search(vector, k=k, filter=filter, exact=exact)
