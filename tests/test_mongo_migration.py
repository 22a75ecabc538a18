"""Blue/green model migration on MongoDB, without a server: the `vectorsync_serving` pointer and what follows it.

No MongoDB server exists here, so the pointer collection is a small in-memory one that answers `find_one` and
`update_one` (equality filters, `$set`/`$unset`, `upsert`) as the server does, a duplicate `_id` included.
The live half is tests/test_mongodb_migration_live.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError
from pymongo.results import UpdateResult

from vectorsync.errors import ConfigError, MigrationError
from vectorsync.migration import begin, finish, in_force, read_serving, rollback, served_name, switch
from vectorsync.settings import Settings
from vectorsync.stores import open_store
from vectorsync.stores.mongo_pointers import POINTER_COLLECTION, MongoPointers

URI = "mongodb://user:secret@localhost:27017/?serverSelectionTimeoutMS=100"
MINI = "sentence-transformers/all-MiniLM-L6-v2"


class FakeCollection:
    """Documents by `_id`; `before_write` runs once just before the next update, as another process would."""

    def __init__(self) -> None:
        self.documents: dict[Any, dict[str, Any]] = {}
        self.before_write: Callable[[], None] | None = None
        self.reads = 0

    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        self.reads += 1
        found = self.documents.get(query["_id"])
        return copy.deepcopy(found) if found is not None and _matches(found, query) else None

    def update_one(self, query: dict[str, Any], update: dict[str, Any], upsert: bool = False) -> UpdateResult:
        if self.before_write is not None:
            interfere, self.before_write = self.before_write, None
            interfere()
        found = self.documents.get(query["_id"])
        if found is not None and _matches(found, query):
            _apply(found, update)
            return UpdateResult({"n": 1, "nModified": 1}, acknowledged=True)
        if not upsert:
            return UpdateResult({"n": 0, "nModified": 0}, acknowledged=True)
        if found is not None:  # the upsert inserts the filter's _id, which another document holds
            raise DuplicateKeyError(f"E11000 duplicate key error collection: {POINTER_COLLECTION} dup key")
        created = dict(query)
        _apply(created, update)
        self.documents[query["_id"]] = created
        return UpdateResult({"n": 1, "nModified": 0, "upserted": query["_id"]}, acknowledged=True)


class FakeDatabase:
    """Collections by name, created on first use; a drop removes one and is recorded."""

    name = "vectorsync"

    def __init__(self) -> None:
        self.collections: dict[str, FakeCollection] = {}
        self.dropped: list[str] = []

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collections.setdefault(name, FakeCollection())

    def drop_collection(self, name: str) -> None:
        self.collections.pop(name, None)
        self.dropped.append(name)


def _matches(document: dict[str, Any], query: dict[str, Any]) -> bool:
    return all(document.get(key) == value for key, value in query.items())


def _apply(document: dict[str, Any], update: dict[str, Any]) -> None:
    document.update(copy.deepcopy(update.get("$set", {})))
    for key in update.get("$unset", {}):
        document.pop(key, None)


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def pointers(database: FakeDatabase) -> MongoPointers:
    return MongoPointers(database, URI)  # type: ignore[arg-type]  # the fake answers what MongoPointers asks


# --- the pointer document ---------------------------------------------------------------------------------------


def test_a_collection_never_migrated_serves_itself_after_one_find_one(database, pointers):
    assert pointers.read("chunks") == {} and pointers.serving("chunks") == "chunks"
    assert database[POINTER_COLLECTION].reads == 2 and database[POINTER_COLLECTION].documents == {}


def test_begin_switch_finish_moves_one_document_per_name_and_drops_the_old_collection(database, pointers):
    candidate = begin(pointers, "chunks", MINI, 256)
    stored = database[POINTER_COLLECTION].documents["chunks"]
    assert stored["migration"]["state"] == "building" and stored["migration"]["table"] == candidate.table
    assert candidate.table.startswith("chunks__") and pointers.serving("chunks") == "chunks"

    switched = switch(pointers, "chunks")
    assert (switched.current.table, switched.current.model, switched.current.dimensions) == (candidate.table, MINI, 256)
    assert pointers.serving("chunks") == candidate.table and switched.previous is not None
    assert switched.previous.table == "chunks" and database.dropped == []

    finished = finish(pointers, "chunks")
    assert finished.migration is None and finished.previous is None
    assert database.dropped == ["chunks", "chunks_dead_letters"]
    kept = set(database[POINTER_COLLECTION].documents["chunks"])
    assert kept == {"_id", "revision", "serving", "model", "dimensions"}


def test_rollback_after_the_switch_serves_the_old_collection_again_and_drops_the_candidate(database, pointers):
    candidate = begin(pointers, "chunks", MINI, 256)
    switch(pointers, "chunks")
    restored = rollback(pointers, "chunks")
    assert (restored.current.table, restored.current.model, restored.migration) == ("chunks", None, None)
    assert pointers.serving("chunks") == "chunks"
    assert database.dropped == [candidate.table, f"{candidate.table}_dead_letters"]


def test_rollback_while_building_forgets_the_migration(database, pointers):
    candidate = begin(pointers, "chunks", MINI, None)
    rollback(pointers, "chunks")
    assert pointers.read("chunks") == {} and database.dropped[0] == candidate.table
    with pytest.raises(MigrationError, match="no migration to roll back"):
        rollback(pointers, "chunks")


def test_a_second_begin_is_refused_whether_it_comes_after_or_races_the_first(database, pointers):
    begin(pointers, "chunks", MINI, 256)
    with pytest.raises(MigrationError, match="a migration is under way"):
        begin(pointers, "chunks", "other/model", None)

    other_name = MongoPointers(database)  # type: ignore[arg-type]
    racing: list[str] = []
    database[POINTER_COLLECTION].before_write = lambda: racing.append(begin(other_name, "docs", MINI, 128).table)
    with pytest.raises(MigrationError, match=r"docs: its serving pointer in vectorsync.vectorsync_serving changed"):
        begin(pointers, "docs", "other/model", None)
    migration = read_serving(pointers, "docs").migration
    assert migration is not None and (migration.candidate.table, migration.candidate.model) == (racing[0], MINI)


def test_a_write_that_finds_the_revision_moved_on_is_refused_and_leaves_the_other_change(database, pointers):
    candidate = begin(pointers, "chunks", MINI, 256)
    database[POINTER_COLLECTION].before_write = lambda: rollback(MongoPointers(database), "chunks")  # type: ignore[arg-type]
    with pytest.raises(MigrationError, match="changed while this step ran"):
        switch(pointers, "chunks")
    assert pointers.serving("chunks") == "chunks" and candidate.table in database.dropped


# --- what follows the pointer -----------------------------------------------------------------------------------


def test_the_store_and_the_query_model_follow_the_pointer_to_the_serving_collection(pointers):
    settings = Settings(mongodb_uri=URI)
    assert served_name(settings) == "chunks"
    candidate = begin(pointers, "chunks", MINI, 256)
    building = in_force(settings, read_serving(pointers, served_name(settings)))
    assert (building.mongodb_collection, building.model, building.dimensions) == ("chunks", None, None)

    switch(pointers, "chunks")
    serving = in_force(settings, read_serving(pointers, served_name(settings)))
    assert (serving.mongodb_collection, serving.model_name, serving.dimensions) == (candidate.table, MINI, 256)
    with open_store(serving) as store:
        assert store.describe().endswith(f"vectorsync.{candidate.table}") and "secret" not in store.describe()


def test_a_connection_string_that_cannot_be_parsed_is_a_config_error_without_its_password():
    with pytest.raises(ConfigError, match="MONGODB_URI is not a valid connection string") as refused:
        MongoPointers.from_settings(Settings(mongodb_uri="mongodb://user:secret@localhost:99999"))
    assert "secret" not in str(refused.value)
