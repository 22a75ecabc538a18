"""Vector stores: one interface, the embedded LanceDB default or MongoDB Atlas."""

from __future__ import annotations

from vectorsync.settings import Settings
from vectorsync.stores.base import DeadLetter, IndexSpec, IndexStatus, VectorStore

__all__ = ["DeadLetter", "IndexSpec", "IndexStatus", "VectorStore", "open_store", "register_store", "shared_store"]


def open_store(settings: Settings) -> VectorStore:
    """The store `settings` point at: MongoDB when a URI is configured, else LanceDB under the data dir."""
    if settings.store_kind == "mongodb":
        from vectorsync.stores.mongodb import MongoStore

        return MongoStore.from_settings(settings)
    from vectorsync.stores.active import serving_table
    from vectorsync.stores.lance import LanceStore

    root = settings.data_dir / "lancedb"
    return LanceStore(root, serving_table(root, settings.table), filter_fields=settings.filter_fields)


_shared: dict[str, VectorStore] = {}


def shared_store(settings: Settings) -> VectorStore:
    """One open store per target per process, so tasks reuse connections instead of reconnecting."""
    key = _key(settings)
    if key not in _shared:
        _shared[key] = open_store(settings)
    return _shared[key]


def register_store(settings: Settings, store: VectorStore) -> None:
    """Make `store` the one every task uses for `settings` (an instance built by hand)."""
    _shared[_key(settings)] = store


def _key(settings: Settings) -> str:
    uri = settings.mongodb_uri.get_secret_value() if settings.mongodb_uri else ""
    if settings.store_kind == "lancedb":  # a promoted table takes over its name: a new key, a new store
        from vectorsync.stores.active import serving_table

        return f"lancedb|{settings.describe_store()}|{serving_table(settings.data_dir / 'lancedb', settings.table)}"
    return f"{settings.store_kind}|{settings.describe_store()}|{uri}"
