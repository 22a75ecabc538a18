"""The embed-existing flow against a real server: Atlas, or `mongodb/mongodb-atlas-local` as in CI.

Runs only when MONGODB_URI is set, with the real bundled model under a real Prefect API. Each test embeds a
collection of its own (ten listings with a `summary`, one without) in a database dropped after the module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson.binary import Binary
from pymongo import MongoClient
from pymongo.collection import Collection
from waiting import eventually

import tasks.existing
import vectorsync.embedders as embedders
from flows.embed_existing import embed_existing
from tasks.existing import existing_collection
from vectorsync.errors import DimensionMismatch
from vectorsync.jobs import EmbedExisting
from vectorsync.settings import Settings
from vectorsync.stores.base import IndexSpec
from vectorsync.stores.mongo_commands import decode_vector
from vectorsync.stores.mongodb import MongoStore

URI = Settings().mongodb_uri
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

pytestmark = [
    pytest.mark.mongodb,
    pytest.mark.skipif(
        URI is None,
        reason="MONGODB_URI is not set: the live MongoDB suite needs an Atlas cluster or mongodb/mongodb-atlas-local",
    ),
    pytest.mark.usefixtures("prefect_harness"),
]

SUMMARIES = [
    "A quiet cottage beside an apiary: honey bees live in colonies with one queen and thousands of workers.",
    "A cabin at the foot of a volcano, where molten lava once flowed down to the sea and cooled into rock.",
    "A loft above a bakery that makes sourdough bread with wild yeast and a starter kept for decades.",
    "A studio near the observatory, famous for its talks on black holes and the bending of light.",
    "A flat next to the chess club, where players study the Sicilian Defence on long winter evenings.",
    "A farmhouse among vineyards, with wine tastings in the cellar every Friday after the harvest.",
    "A beach hut on a coral reef, where snorkelers watch parrotfish and turtles in the clear water.",
    "A mountain chalet on the marathon route, with trails for long training runs above the tree line.",
    "A houseboat on the canal, close to the jazz bar where musicians improvise until late at night.",
    "A room in an old printing house, where Gutenberg-style presses still print posters by hand.",
]


@pytest.fixture(scope="module")
def client() -> Iterator[MongoClient[dict[str, Any]]]:
    assert URI is not None
    mongo: MongoClient[dict[str, Any]] = MongoClient(
        URI.get_secret_value(), serverSelectionTimeoutMS=20_000, uuidRepresentation="standard"
    )
    yield mongo
    mongo.close()


@pytest.fixture(scope="module")
def database(client: MongoClient[dict[str, Any]]) -> Iterator[str]:
    name = f"vectorsync_existing_{uuid.uuid4().hex[:10]}"
    yield name
    client.drop_database(name)


@pytest.fixture(autouse=True)
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No vectorsync.toml, and locks in a directory of the test's own."""
    monkeypatch.setenv("VECTORSYNC_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("VECTORSYNC_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def listings(
    client: MongoClient[dict[str, Any]], database: str, request: pytest.FixtureRequest
) -> Collection[dict[str, Any]]:
    """Ten listings with a summary and one without, in a collection named after the test."""
    collection = client[database][request.node.name]
    collection.insert_many(
        [{"_id": i, "name": f"Listing {i}", "summary": text} for i, text in enumerate(SUMMARIES)]
        + [{"_id": 100, "name": "A listing without a summary yet"}]
    )
    return collection


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget loaded models and open collections, as a new process would."""
    monkeypatch.setattr(embedders, "_shared", {})
    monkeypatch.setattr(tasks.existing, "_open", {})


def job(listings: Collection[dict[str, Any]], **options: Any) -> EmbedExisting:
    return EmbedExisting(database=listings.database.name, collection=listings.name, text="summary", **options)


def test_first_run_embeds_every_summary_in_place_and_the_index_answers_a_query(listings, embedder):
    summary = embed_existing(job(listings, query="insects that make honey", documents_per_batch=4))

    assert (summary["documents"], summary["embedded"], summary["unchanged"]) == (10, 10, 0)
    assert summary["index_state"] == "READY" and summary["completed"] and summary["smoke_hits"]
    existing = existing_collection(job(listings))
    query = embedder.encode(["insects that make honey"])[0]
    eventually(
        lambda: existing.search(query, k=len(SUMMARIES), exact=True),
        lambda hits: len(hits) == len(SUMMARIES),
        timeout_s=120,
        what="every embedded listing visible to $vectorSearch",
    )
    [top, *_] = existing.search(query, k=3)
    assert top.id == "0" and "honey bees" in top.text
    stored = listings.find_one({"_id": 0})
    assert stored is not None and isinstance(stored["embedding"], Binary)
    assert len(decode_vector(stored["embedding"])) == 384 and stored["embedding_model"] == embedder.identity
    assert "embedding" not in (listings.find_one({"_id": 100}) or {})


def test_rerun_embeds_nothing_and_an_edited_summary_alone_is_embedded_again(listings, fresh_process):
    embed_existing(job(listings))
    before = {doc["_id"]: doc["embedding"] for doc in listings.find({"embedding": {"$exists": True}})}
    embedders._shared.clear()
    tasks.existing._open.clear()

    again = embed_existing(job(listings))
    assert (again["embedded"], again["unchanged"], again["model_loaded"]) == (0, 10, False)
    assert again["index_state"] == "READY" and again["smoke_hits"]

    listings.update_one({"_id": 3}, {"$set": {"summary": "A studio with a telescope on the roof for stargazing."}})
    edited = embed_existing(job(listings))
    assert (edited["embedded"], edited["unchanged"]) == (1, 9)
    after = {doc["_id"]: doc["embedding"] for doc in listings.find({"embedding": {"$exists": True}})}
    assert [i for i in before if before[i] != after[i]] == [3]


def test_a_run_that_stopped_midway_resumes_with_the_documents_left(listings):
    existing = existing_collection(job(listings))
    first = existing.stale_batch(after=None, size=4).records
    existing.write(existing.embed(first), first)  # the batch written before the crash

    summary = embed_existing(job(listings, documents_per_batch=4))
    assert (summary["embedded"], summary["unchanged"]) == (6, 4)
    assert listings.count_documents({"embedding": {"$exists": True}}) == 10


def test_chunk_mode_writes_chunks_beside_the_collection_that_reference_their_listing(listings, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_CHUNK_TOKENS", "16")
    summary = embed_existing(job(listings, long_text="chunk"))
    chunks = listings.database[f"{listings.name}_chunks"]

    assert summary["embedded"] == 10 and summary["chunks"] == chunks.count_documents({}) > 10
    assert summary["index_state"] == "READY" and summary["smoke_hits"]
    assert {chunk["metadata"]["_id"] for chunk in chunks.find()} == set(range(10))
    source = listings.full_name
    assert all(chunk["document"] == f"{source}:{chunk['metadata']['_id']}" for chunk in chunks.find())
    parent = listings.find_one({"_id": 0})
    assert parent is not None and "embedding" not in parent and parent["embedding_fingerprint"]

    listings.update_one({"_id": 0}, {"$set": {"summary": "Bumblebees nest in the garden."}})
    again = embed_existing(job(listings, long_text="chunk"))
    assert again["embedded"] == 1 and again["deleted"] >= 1
    assert [chunk["text"] for chunk in chunks.find({"metadata._id": 0})] == ["Bumblebees nest in the garden."]


def test_index_of_other_dimensions_stops_the_run_before_any_work_until_updated(client, listings):
    assert URI is not None
    store = MongoStore(URI, listings.database.name, listings.name, client=client)
    store.ensure_index(IndexSpec("vector_index", 8), timeout_s=180)

    with pytest.raises(DimensionMismatch) as caught:
        embed_existing(job(listings))
    assert str(caught.value).startswith(
        f"index 'vector_index' on {listings.full_name} expects 8-dimension vectors but model '{MODEL}' produces 384"
    )
    assert listings.count_documents({"embedding": {"$exists": True}}) == 0

    summary = embed_existing(job(listings, update_index=True))
    assert summary["embedded"] == 10 and summary["index_state"] == "READY"
    assert store.index_status("vector_index").dimensions == 384


def test_stored_vectors_of_other_dimensions_stop_the_run_naming_both(listings):
    listings.update_many({}, {"$set": {"embedding": [0.5] * 8}})

    with pytest.raises(DimensionMismatch) as caught:
        embed_existing(job(listings))
    assert str(caught.value).startswith(
        f"model '{MODEL}' produces 384-dimension vectors but field 'embedding' of {listings.full_name} "
        "already holds 8-dimension vectors"
    )
