"""Calibrated int8 on MongoDB: ranges stored on the first write, read back by later writes, searches and processes.

No server: the store's collection is a fake that answers the calls the store makes as a server would, including an
exact `$vectorSearch` that scores what it stored the way Atlas does (cosine over the int8 codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from bson.binary import Binary
from pymongo import MongoClient, UpdateOne
from pymongo.errors import DuplicateKeyError
from pymongo.results import BulkWriteResult, InsertOneResult
from sentence_transformers.util.quantization import quantize_embeddings

from vectorsync.errors import StoreError
from vectorsync.records import Chunk
from vectorsync.settings import Settings
from vectorsync.stores.mongodb import MongoStore

URI = "mongodb://localhost:27017/?serverSelectionTimeoutMS=100"
TEXTS = {
    "bees": "Honey bees live in colonies with one queen, thousands of workers and a few drones.",
    "space": "A black hole is a region of spacetime where gravity lets nothing escape.",
    "bread": "Sourdough bread rises with wild yeast and lactic acid bacteria kept in a starter.",
    "chess": "The Sicilian Defence answers 1.e4 with c5 and fights for the centre.",
}


class FakeDatabase:
    """Collections by name, created on first use, as `Database.get_collection` hands them out."""

    name = "db"

    def __init__(self) -> None:
        self.collections: dict[str, FakeCollection] = {}

    def get_collection(self, name: str, codec_options: Any = None) -> FakeCollection:
        return self.collections.setdefault(name, FakeCollection(self, name))


class FakeCollection:
    """The part of a collection's protocol the store uses: keyed documents, upserts, and exact `$vectorSearch`."""

    codec_options = None

    def __init__(self, database: FakeDatabase, name: str) -> None:
        self.database, self.name, self.full_name = database, name, f"{database.name}.{name}"
        self.documents: dict[Any, dict[str, Any]] = {}
        self.pipelines: list[list[dict[str, Any]]] = []
        self.before_insert: list[dict[str, Any]] = []

    def find_one(self, query: Mapping[str, Any], projection: Any = None) -> dict[str, Any] | None:
        return next((dict(doc) for doc in self.documents.values() if _matches(doc, query)), None)

    def insert_one(self, document: dict[str, Any]) -> InsertOneResult:
        for other in self.before_insert:  # another process's insert, landing just before this one
            self.documents.setdefault(other["_id"], other)
        if document["_id"] in self.documents:
            raise DuplicateKeyError(f"E11000 duplicate key error collection: {self.full_name}", code=11000)
        self.documents[document["_id"]] = dict(document)
        return InsertOneResult(document["_id"], True)

    def bulk_write(self, operations: Sequence[UpdateOne], ordered: bool) -> BulkWriteResult:
        for operation in operations:
            key = operation._filter["_id"]
            self.documents.setdefault(key, {"_id": key}).update(operation._doc["$set"])
        reply = {"nInserted": 0, "nUpserted": len(operations), "nMatched": 0, "nModified": 0, "nRemoved": 0}
        return BulkWriteResult({**reply, "upserted": [], "writeErrors": [], "writeConcernErrors": []}, True)

    def create_indexes(self, indexes: Sequence[Any]) -> list[str]:
        return []

    def aggregate(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.pipelines.append(pipeline)
        stage = pipeline[0]["$vectorSearch"]
        query = _raw(stage["queryVector"])
        scored = []
        for doc in self.documents.values():
            stored = _raw(doc[stage["path"]])
            cosine = float(query @ stored / (np.linalg.norm(query) * np.linalg.norm(stored)))
            scored.append({**doc, "score": (1 + cosine) / 2})
        return sorted(scored, key=lambda doc: -doc["score"])[: stage["limit"]]


def _raw(value: Binary) -> np.ndarray:
    """The numbers Atlas indexes for a BSON vector: int8 codes as integers."""
    return np.asarray(value.as_vector().data, dtype=np.float64)


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for field, wanted in query.items():
        if isinstance(wanted, dict) and "$exists" in wanted:
            if (field in doc) != wanted["$exists"]:
                return False
        elif doc.get(field) != wanted:
            return False
    return True


def calibrated_store(database: FakeDatabase, scheme: str = "calibrated") -> MongoStore:
    """A store whose collection is `database`'s "chunks", as a new process would open it."""
    client: MongoClient[dict[str, Any]] = MongoClient(URI, connect=False)
    store = MongoStore(URI, "db", "chunks", vector_format="int8", int8_scheme=scheme, client=client)  # type: ignore[arg-type]
    store.collection = database.get_collection("chunks")  # type: ignore[assignment]
    return store


def chunks_of(names: Sequence[str]) -> list[Chunk]:
    return [Chunk(name, name, f"{name}.txt", TEXTS[name], 0, {}, f"fp-{name}") for name in names]


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture(scope="module")
def vectors(embedder) -> dict[str, np.ndarray]:
    return dict(zip(TEXTS, embedder.encode_documents(list(TEXTS.values())), strict=True))


def stored_codes(database: FakeDatabase, name: str) -> list[int]:
    return list(database.collections["chunks"].documents[name]["embedding"].as_vector().data)


def test_the_first_write_calibrates_on_its_vectors_and_a_query_uses_the_same_ranges(database, vectors, embedder):
    sample = np.stack([vectors[name] for name in TEXTS])
    store = calibrated_store(database)
    store.upsert(chunks_of(list(TEXTS)), sample, model=embedder.identity)

    expected = quantize_embeddings(sample, precision="int8", calibration_embeddings=sample)
    assert [stored_codes(database, name) for name in TEXTS] == expected.tolist()
    kept = database.collections["chunks_calibration"].documents["embedding"]
    assert (kept["model"], kept["sample_size"], len(kept["starts"])) == (embedder.identity, 4, 384)

    query = embedder.encode_queries(["insects that make honey"])
    hits = calibrated_store(database).search(query[0], k=2)  # another process: ranges read back from MongoDB
    sent = database.collections["chunks"].pipelines[-1][0]["$vectorSearch"]["queryVector"]
    wanted = quantize_embeddings(query, precision="int8", calibration_embeddings=sample)[0]
    assert list(sent.as_vector().data) == wanted.tolist()
    assert hits[0].id == "bees"


def test_later_writes_keep_the_first_writes_ranges(database, vectors, embedder):
    first = np.stack([vectors["bees"], vectors["space"]])
    calibrated_store(database).upsert(chunks_of(["bees", "space"]), first, model=embedder.identity)
    kept = dict(database.collections["chunks_calibration"].documents["embedding"])

    later = np.stack([vectors["bread"], vectors["chess"]])
    calibrated_store(database).upsert(chunks_of(["bread", "chess"]), later, model=embedder.identity)

    assert database.collections["chunks_calibration"].documents["embedding"] == kept
    expected = quantize_embeddings(later, precision="int8", calibration_embeddings=first)
    assert [stored_codes(database, name) for name in ("bread", "chess")] == expected.tolist()


def test_two_first_writers_at_once_share_the_ranges_of_the_one_that_stored_first(database, vectors, embedder):
    winner = np.stack([vectors["bees"], vectors["space"]])
    other = calibrated_store(FakeDatabase())
    other.upsert(chunks_of(["bees", "space"]), winner, model=embedder.identity)
    database.get_collection("chunks_calibration").before_insert.append(
        other.collection.database.collections["chunks_calibration"].documents["embedding"]
    )
    loser = np.stack([vectors["bread"], vectors["chess"]])
    calibrated_store(database).upsert(chunks_of(["bread", "chess"]), loser, model=embedder.identity)
    expected = quantize_embeddings(loser, precision="int8", calibration_embeddings=winner)
    assert [stored_codes(database, name) for name in ("bread", "chess")] == expected.tolist()


def test_a_stored_vector_read_back_searches_as_its_own_codes(database, vectors, embedder):
    """The smoke test reuses a stored vector: quantised again, it must be the stored codes and find itself."""
    store = calibrated_store(database)
    store.upsert(chunks_of(list(TEXTS)), np.stack(list(vectors.values())), model=embedder.identity)
    again = calibrated_store(database)
    hits = again.search(again.get_vector("chess"), k=1)  # type: ignore[arg-type]
    sent = database.collections["chunks"].pipelines[-1][0]["$vectorSearch"]["queryVector"]
    assert list(sent.as_vector().data) == stored_codes(database, "chess") and hits[0].id == "chess"


def test_searching_a_calibrated_collection_before_any_write_says_what_to_do(database, vectors):
    with pytest.raises(StoreError, match=r"no int8 calibration \(db\.chunks_calibration\).*vectorsync run"):
        calibrated_store(database).search(vectors["bees"], k=1)


def test_the_other_int8_scheme_on_a_calibrated_collection_is_refused(database, vectors, embedder):
    calibrated_store(database).upsert(chunks_of(["bees"]), vectors["bees"][None], model=embedder.identity)
    per_vector = calibrated_store(database, scheme="per_vector")
    with pytest.raises(StoreError, match="set VECTORSYNC_INT8_SCHEME=calibrated"):
        per_vector.search(vectors["bees"], k=1)
    with pytest.raises(StoreError, match="set VECTORSYNC_INT8_SCHEME=calibrated"):
        per_vector.upsert(chunks_of(["space"]), vectors["space"][None], model=embedder.identity)


def test_vectors_of_another_model_are_refused_naming_both(database, vectors, embedder):
    calibrated_store(database).upsert(chunks_of(["bees"]), vectors["bees"][None], model=embedder.identity)
    with pytest.raises(StoreError, match=r"calibrated for model 'sentence-transformers:.*', not 'openai:other'"):
        calibrated_store(database).upsert(chunks_of(["space"]), vectors["space"][None], model="openai:other")


def test_the_setting_reaches_the_store(data_dir, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_VECTOR_FORMAT", "int8")
    monkeypatch.setenv("VECTORSYNC_INT8_SCHEME", "calibrated")
    settings = Settings(mongodb_uri=URI)
    with MongoStore.from_settings(settings) as store:
        assert (store.vector_format, store.int8_scheme) == ("int8", "calibrated")
        assert store.with_collection("other").int8_scheme == "calibrated"
