"""The MongoDB store against a real server: Atlas, or `mongodb/mongodb-atlas-local` as in CI.

Runs only when MONGODB_URI is set. Every session works in a database of its own and drops it afterwards.
Vectors are small and deterministic, so no model is needed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from bson.binary import Binary
from pymongo import MongoClient
from pymongo.errors import OperationFailure
from waiting import eventually

from vectorsync.doctor import store_reachable
from vectorsync.errors import DimensionMismatch
from vectorsync.records import Chunk, fingerprint
from vectorsync.settings import Settings
from vectorsync.sources.mongodb import find_stale, write_back
from vectorsync.stores.base import DeadLetter, IndexSpec, Similarity
from vectorsync.stores.mongodb import MongoStore, create_collection

URI = Settings().mongodb_uri
MODEL = "test:deterministic-8"
DIMS = 8

pytestmark = [
    pytest.mark.mongodb,
    pytest.mark.skipif(
        URI is None,
        reason="MONGODB_URI is not set: the live MongoDB suite needs an Atlas cluster or mongodb/mongodb-atlas-local",
    ),
]


def vector(i: int) -> np.ndarray:
    """A vector nearest to itself under every format: -0.1 everywhere but 1.0 at position `i`."""
    values = np.full(DIMS, -0.1, dtype=np.float32)
    values[i % DIMS] = 1.0
    return values


def chunks(n: int = DIMS) -> list[Chunk]:
    kinds = ("txt", "md")
    return [
        Chunk(f"chunk-{i}", f"doc{i % 2}.txt", f"doc{i % 2}.txt", f"text {i}", i, {"type": kinds[i % 2]}, f"fp{i}")
        for i in range(n)
    ]


def all_visible(store: MongoStore, n: int, timeout_s: float = 120.0) -> None:
    """Wait until an exact search returns all `n` chunks written: only then do ANN rankings mean anything."""
    eventually(
        lambda: store.search(vector(0), k=n, exact=True),
        lambda hits: len(hits) == n,
        timeout_s,
        what=f"all {n} chunks visible to $vectorSearch",
    )


@pytest.fixture(scope="session")
def client() -> Iterator[MongoClient[dict[str, Any]]]:
    assert URI is not None
    mongo: MongoClient[dict[str, Any]] = MongoClient(
        URI.get_secret_value(), serverSelectionTimeoutMS=20_000, uuidRepresentation="standard"
    )
    yield mongo
    mongo.close()


@pytest.fixture(scope="session")
def database(client: MongoClient[dict[str, Any]]) -> Iterator[str]:
    name = f"vectorsync_test_{uuid.uuid4().hex[:10]}"
    yield name
    client.drop_database(name)


@pytest.fixture
def store(
    client: MongoClient[dict[str, Any]], database: str, request: pytest.FixtureRequest
) -> Callable[..., MongoStore]:
    """A store on a collection of this test's own, in the session's database."""

    def make(**options: Any) -> MongoStore:
        assert URI is not None
        collection = request.node.name.replace("[", "_").replace("]", "")
        return MongoStore(URI, database, collection, client=client, **options)

    return make


def test_index_becomes_queryable_and_search_finds_the_nearest_chunks(store: Callable[..., MongoStore]) -> None:
    chunks_store = store()
    status = chunks_store.ensure_index(
        IndexSpec("vector_index", DIMS, filter_fields=("source", "metadata.type")), timeout_s=180
    )
    assert status.queryable and status.state == "READY" and status.dimensions == DIMS

    items = chunks()
    assert chunks_store.upsert(items, np.stack([vector(i) for i in range(len(items))]), MODEL) == len(items)
    all_visible(chunks_store, len(items))
    hits = chunks_store.search(vector(2), k=3)
    assert (
        len(hits) == 3 and hits[0].id == "chunk-2" and hits[0].text == "text 2" and hits[0].metadata == {"type": "txt"}
    )
    assert hits[0].score >= hits[1].score >= hits[2].score

    filtered = chunks_store.search(vector(2), k=3, filter={"metadata.type": "md"})
    assert filtered and all(h.metadata["type"] == "md" for h in filtered)
    exact = chunks_store.search(vector(5), k=1, exact=True)
    assert [h.id for h in exact] == ["chunk-5"]
    stored = chunks_store.get_vector("chunk-6")
    assert stored is not None and np.array_equal(stored, vector(6))
    assert chunks_store.search(stored, k=1)[0].id == "chunk-6"


@pytest.mark.parametrize(
    ("vector_format", "similarity"), [("array", "cosine"), ("int8", "cosine"), ("packed_bit", "euclidean")]
)
def test_every_vector_format_is_indexed_and_searchable(
    store: Callable[..., MongoStore], vector_format: str, similarity: Similarity
) -> None:
    chunks_store = store(vector_format=vector_format)
    chunks_store.ensure_index(IndexSpec("vector_index", DIMS, similarity=similarity), timeout_s=180)
    items = chunks()
    chunks_store.upsert(items, np.stack([vector(i) for i in range(len(items))]), MODEL)
    all_visible(chunks_store, len(items))
    hits = chunks_store.search(vector(3), k=2)
    assert len(hits) == 2 and hits[0].id == "chunk-3"
    stored = chunks_store.get_vector("chunk-3")
    assert stored is not None and chunks_store.search(stored, k=1)[0].id == "chunk-3"


def test_rerun_upsert_keeps_one_document_per_chunk(store: Callable[..., MongoStore]) -> None:
    chunks_store = store(write_batch=3)
    items = chunks()
    vectors = np.stack([vector(i) for i in range(len(items))])
    chunks_store.upsert(items, vectors, MODEL)
    chunks_store.upsert(items, vectors, MODEL)

    assert chunks_store.count() == len(items)
    assert chunks_store.fingerprints(["doc0.txt"]) == {c.id: c.fingerprint for c in items if c.document == "doc0.txt"}
    assert chunks_store.documents() == {"doc0.txt": "doc0.txt", "doc1.txt": "doc1.txt"}
    assert chunks_store.stored_dimensions() == DIMS
    assert chunks_store.stored_models() == {MODEL}
    assert {"document_1", "embedding_model_1"} <= set(chunks_store.collection.index_information())
    stored = chunks_store.collection.find_one({"_id": "chunk-0"})
    assert stored is not None and isinstance(stored["embedding"], Binary)

    assert chunks_store.delete_documents(["doc1.txt"]) == len(items) // 2
    assert chunks_store.delete_chunks(["chunk-0", "missing"]) == 1
    assert chunks_store.count() == len(items) // 2 - 1


def test_index_with_other_dimensions_is_a_dimension_mismatch_until_updated(store: Callable[..., MongoStore]) -> None:
    chunks_store = store()
    chunks_store.ensure_index(IndexSpec("vector_index", DIMS), timeout_s=180)
    where = chunks_store.collection.full_name

    with pytest.raises(DimensionMismatch) as caught:
        chunks_store.ensure_index(IndexSpec("vector_index", 2 * DIMS), timeout_s=180, model="other-model")
    assert str(caught.value) == (
        f"index 'vector_index' on {where} has numDimensions {DIMS} but the model 'other-model' produces {2 * DIMS}; "
        "run with --update-index to rebuild it, or choose the matching model"
    )

    status = chunks_store.ensure_index(IndexSpec("vector_index", 2 * DIMS), timeout_s=180, update=True)
    assert status.queryable and status.dimensions == 2 * DIMS


def test_existing_collection_is_embedded_in_place_and_only_changes_come_back(
    client: MongoClient[dict[str, Any]], database: str
) -> None:
    articles = client[database]["articles"]
    articles.insert_many(
        [{"_id": i, "title": f"Title {i}", "summary": f"summary number {i}"} for i in range(5)]
        + [{"_id": 99, "title": "no summary yet"}]
    )

    def stale(identity: str = MODEL) -> list[Any]:
        return [r for batch in find_stale(articles, "summary", embedder_identity=identity, batch_size=2) for r in batch]

    first = stale()
    assert [r.metadata["_id"] for r in first] == [0, 1, 2, 3, 4]
    assert first[0].id == f"{database}.articles:0" and first[0].text == "summary number 0"
    items = [(r.metadata["_id"], vector(i), fingerprint(r.text, MODEL)) for i, r in enumerate(first)]
    assert write_back(articles, items, model=MODEL) == 5

    assert stale() == []
    written = articles.find_one({"_id": 0})
    assert written is not None and isinstance(written["embedding"], Binary) and written["embedding_model"] == MODEL

    articles.update_one({"_id": 3}, {"$set": {"summary": "a changed summary"}})
    [changed] = stale()
    assert changed.metadata["_id"] == 3 and changed.text == "a changed summary"

    write_back(articles, [(3, None, fingerprint(changed.text, MODEL))], model=MODEL)
    marked = articles.find_one({"_id": 3})
    assert marked is not None and "embedding" not in marked and stale() == []

    assert len(stale("another-model")) == 5


def test_dead_letters_are_kept_per_place_and_cleared_per_source(store: Callable[..., MongoStore]) -> None:
    chunks_store = store()
    chunks_store.add_dead_letters([DeadLetter("a.pdf", "encrypted", "page 2"), DeadLetter("b.txt", "binary")])
    chunks_store.add_dead_letters([DeadLetter("a.pdf", "still encrypted", "page 2")])
    assert chunks_store.dead_letters() == [
        DeadLetter("a.pdf", "still encrypted", "page 2"),
        DeadLetter("b.txt", "binary"),
    ]
    chunks_store.clear_dead_letters(["a.pdf"])
    assert chunks_store.dead_letters() == [DeadLetter("b.txt", "binary")]


def test_null_filters_match_explicit_nulls_only_and_a_uuid_value_compares(store: Callable[..., MongoStore]) -> None:
    """The semantics tests/test_filters.py pins on LanceDB, checked on the server: the same filters, the same hits."""
    chunks_store = store()
    ref = uuid.uuid4()
    metadata: list[dict[str, Any]] = [{"type": None}, {}, {"type": "md", "ref": ref}, {"type": "txt"}]
    items = [Chunk(f"chunk-{i}", f"doc{i}", f"doc{i}", f"text {i}", i, m, f"fp{i}") for i, m in enumerate(metadata)]
    spec = IndexSpec("vector_index", DIMS, filter_fields=("metadata.type", "metadata.ref"))
    chunks_store.ensure_index(spec, timeout_s=180)
    chunks_store.upsert(items, np.stack([vector(i) for i in range(len(items))]), MODEL)
    all_visible(chunks_store, len(items))

    def ids(filter: dict[str, Any]) -> list[str]:
        return sorted(hit.id for hit in chunks_store.search(vector(0), k=len(items), filter=filter, exact=True))

    assert ids({"metadata.type": None}) == ["chunk-0"]
    assert ids({"metadata.type": {"$ne": None}}) == ["chunk-1", "chunk-2", "chunk-3"]
    assert ids({"metadata.type": {"$ne": "md"}}) == ["chunk-0", "chunk-1", "chunk-3"]
    assert ids({"metadata.ref": ref}) == ["chunk-2"]
    assert chunks_store.collection.find_one({"_id": "chunk-2"}, {"metadata": 1}) == {
        "_id": "chunk-2",
        "metadata": {"type": "md", "ref": ref},
    }


def test_an_index_being_deleted_is_waited_for_and_created_anew_with_update(store: Callable[..., MongoStore]) -> None:
    chunks_store = store()
    chunks_store.ensure_index(IndexSpec("vector_index", DIMS), timeout_s=180)
    chunks_store.collection.drop_search_index("vector_index")
    assert chunks_store.index_status("vector_index").state in ("DELETING", "ABSENT")

    status = chunks_store.ensure_index(IndexSpec("vector_index", DIMS, filter_fields=("source",)), 180, update=True)
    assert status.queryable and status.state == "READY"
    assert {"type": "filter", "path": "source"} in status.definition["fields"]


def test_creating_an_existing_collection_is_success_and_the_race_is_namespace_exists(
    client: MongoClient[dict[str, Any]], database: str
) -> None:
    create_collection(client[database], "twice", f"{database}.twice")
    create_collection(client[database], "twice", f"{database}.twice")
    with pytest.raises(OperationFailure) as caught:  # what the loser of a race gets from the server
        client[database].create_collection("twice", check_exists=False)
    assert caught.value.code == 48


def test_write_back_counts_only_the_documents_still_there(client: MongoClient[dict[str, Any]], database: str) -> None:
    articles = client[database]["vanishing"]
    articles.insert_many([{"_id": i, "summary": f"summary {i}"} for i in range(3)])
    found = [r for batch in find_stale(articles, "summary", embedder_identity=MODEL) for r in batch]
    articles.delete_one({"_id": 1})
    items = [(r.metadata["_id"], vector(i), fingerprint(r.text, MODEL)) for i, r in enumerate(found)]
    assert write_back(articles, items, model=MODEL) == 2


def test_doctor_counts_chunks_from_collection_metadata(store: Callable[..., MongoStore]) -> None:
    chunks_store = store()
    items = chunks()
    chunks_store.upsert(items, np.stack([vector(i) for i in range(len(items))]), MODEL)
    settings = Settings(mongodb_database=chunks_store.database, mongodb_collection=chunks_store.collection.name)
    check = store_reachable(settings)
    assert check.ok and check.detail.endswith(f"about {len(items)} chunks")
