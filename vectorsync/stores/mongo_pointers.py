"""Which MongoDB collection serves a collection name, kept in the `vectorsync_serving` collection of the same database.

One document per name (`_id`: the name) holds what vectorsync/migration.py keeps in an entry: the serving
collection, its model and dimensions, the one kept for rollback, a migration under way. Every change is one
`update_one` filtered on the revision it was computed from, so two migrations cannot both begin. Names without a
document serve from the collection of that name: users who never migrate pay one `find_one` per open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConfigurationError, DuplicateKeyError

from vectorsync.errors import ConfigError, MigrationError
from vectorsync.redaction import redact
from vectorsync.settings import Settings
from vectorsync.stores.mongodb import client_for, mongo_errors

POINTER_COLLECTION = "vectorsync_serving"
_REVISION = "revision"

_clients: dict[str, MongoClient[dict[str, Any]]] = {}


class MongoPointers:
    """The serving pointers of the collections of one database, as a model migration reads and moves them."""

    def __init__(self, database: Database[dict[str, Any]], *secrets: str | None) -> None:
        self.database = database
        self.pointers = database[POINTER_COLLECTION]
        self._where = f"{database.name}.{POINTER_COLLECTION}"
        self._secrets = secrets

    @classmethod
    def from_settings(cls, settings: Settings) -> MongoPointers:
        """The pointers of `settings.mongodb_database`, on one client per connection string per process."""
        if settings.mongodb_uri is None:
            raise ConfigError("MONGODB_URI is not set: the MongoDB store needs a connection string")
        uri = settings.mongodb_uri.get_secret_value()
        if uri not in _clients:
            try:
                _clients[uri] = client_for(uri)
            except (ConfigurationError, ValueError) as exc:
                raise ConfigError(f"MONGODB_URI is not a valid connection string: {redact(str(exc), uri)}") from exc
        return cls(_clients[uri][settings.mongodb_database], uri)

    def read(self, name: str) -> dict[str, Any]:
        """The entry of `name`; empty when `name` serves from its own collection."""
        return _entry(self._find(name))

    def serving(self, name: str) -> str:
        """The collection that answers for `name`."""
        return str(self.read(name).get("serving", name))

    def change(self, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Replace the entry of `name` by `change(entry)` if nobody changed it meanwhile; returns the new entry."""
        found = self._find(name)
        old, revision = _entry(found), (found or {}).get(_REVISION, 0)
        new = change(dict(old))
        update: dict[str, Any] = {"$set": {**new, _REVISION: revision + 1}}
        if gone := {key: "" for key in old if key not in new}:
            update["$unset"] = gone
        with mongo_errors("move the serving pointer", self._where, *self._secrets):
            try:  # a document changed or created meanwhile: no match, and the upsert collides on `_id`
                written = self.pointers.update_one({"_id": name, _REVISION: revision}, update, upsert=True)
            except DuplicateKeyError:
                written = None
        if written is None or (written.matched_count == 0 and written.upserted_id is None):
            raise MigrationError(
                f"{name}: its serving pointer in {self._where} changed while this step ran (another migration?); "
                "see vectorsync info, then try again"
            )
        return new

    def drop(self, table: str) -> None:
        """Drop a collection, its vector search index (Atlas drops it with the collection) and its dead letters."""
        with mongo_errors("drop a collection", f"{self.database.name}.{table}", *self._secrets):
            for name in (table, f"{table}_dead_letters"):
                self.database.drop_collection(name)

    def _find(self, name: str) -> dict[str, Any] | None:
        with mongo_errors("read the serving pointer", self._where, *self._secrets):
            return self.pointers.find_one({"_id": name})


def _entry(document: dict[str, Any] | None) -> dict[str, Any]:
    """A pointer document without its `_id` and revision."""
    return {key: value for key, value in (document or {}).items() if key not in ("_id", _REVISION)}
