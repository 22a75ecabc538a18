"""The MongoDB store's thin I/O, without a server: its client, its error mapping, and what it counts.

Where a server's answer matters, the test replays it as pymongo would hand it over: a real `OperationFailure`
with the server's code, a real `BulkWriteResult` built from the server's reply, recorded documents for a scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import bson
import pytest
from bson import UuidRepresentation
from bson.errors import InvalidBSON
from pymongo import MongoClient, UpdateOne
from pymongo.errors import (
    AutoReconnect,
    CollectionInvalid,
    CursorNotFound,
    InvalidOperation,
    OperationFailure,
    WTimeoutError,
)
from pymongo.results import BulkWriteResult

from vectorsync.errors import StoreError, TransientError
from vectorsync.filters import to_mongo
from vectorsync.records import fingerprint
from vectorsync.sources.mongodb import StaleBatch, classify, take_stale, write_back
from vectorsync.stores.mongo_commands import vector_search_pipeline
from vectorsync.stores.mongodb import MongoStore, create_collection, mongo_errors

URI = "mongodb://localhost:27017/?serverSelectionTimeoutMS=100"
MODEL = "st:mini"


# --- the client: UUIDs as standard binary -------------------------------------------------------------------------


def test_the_stores_own_client_uses_the_standard_uuid_representation() -> None:
    with MongoStore(URI, "db", "chunks") as store:
        assert store._client.codec_options.uuid_representation == UuidRepresentation.STANDARD
        assert store.collection.codec_options.uuid_representation == UuidRepresentation.STANDARD


def test_a_given_client_without_uuid_representation_still_gets_standard_uuids_on_the_store() -> None:
    plain: MongoClient[dict[str, Any]] = MongoClient(URI, connect=False)
    try:
        store = MongoStore(URI, "db", "chunks", client=plain)
        assert plain.codec_options.uuid_representation == UuidRepresentation.UNSPECIFIED
        assert store.collection.codec_options.uuid_representation == UuidRepresentation.STANDARD
        assert store._dead_letter_collection().codec_options.uuid_representation == UuidRepresentation.STANDARD
    finally:
        plain.close()


def test_a_uuid_filter_value_encodes_as_the_store_sends_it() -> None:
    """What the driver does with the pipeline before it sends it: the store's codec encodes a UUID, a bare one fails."""
    value = uuid.uuid4()
    pipeline = vector_search_pipeline(
        [0.1, 0.2],
        index="vector_index",
        path="embedding",
        k=3,
        filter=to_mongo({"metadata.ref": value}, ["metadata.ref"]),
    )
    with MongoStore(URI, "db", "chunks") as store:
        sent = bson.encode({"pipeline": pipeline}, codec_options=store.collection.codec_options)
        back = bson.decode(sent, codec_options=store.collection.codec_options)
    assert back["pipeline"][0]["$vectorSearch"]["filter"] == {"metadata.ref": {"$eq": value}}
    with pytest.raises(ValueError, match=r"UuidRepresentation\.UNSPECIFIED"):
        bson.encode({"pipeline": pipeline})


# --- every driver error becomes one of vectorsync's -----------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (AutoReconnect("connection reset"), TransientError, "connection reset"),
        (CursorNotFound("cursor id 42 not found", code=43), TransientError, "cursor id 42"),
        (OperationFailure("not primary", code=10107), TransientError, "not primary"),
        (OperationFailure("interrupted at shutdown", code=11600), TransientError, "interrupted"),
        (
            OperationFailure("write failed", code=112, details={"errorLabels": ["TransientTransactionError"]}),
            TransientError,
            "write failed",
        ),
        (WTimeoutError("waiting for replication timed out", code=64), TransientError, "replication timed out"),
        (
            OperationFailure("Unrecognized pipeline stage name: '$vectorSearch'", code=40324),
            StoreError,
            "$vectorSearch",
        ),
        (InvalidOperation("Cannot use MongoClient after close"), StoreError, "after close"),
        (CollectionInvalid("bad name"), StoreError, "bad name"),
        (InvalidBSON("invalid length"), StoreError, "cannot be read or written as BSON"),
    ],
)
def test_driver_errors_become_vectorsync_errors(error: Exception, kind: type[Exception], text: str) -> None:
    with pytest.raises(kind) as caught, mongo_errors("search", "db.c"):
        raise error
    assert text in str(caught.value) and str(caught.value).startswith("search on db.c: ")
    assert not isinstance(caught.value, TransientError) or kind is TransientError


# --- racing creators ----------------------------------------------------------------------------------------------


class RacingDatabase:
    """A database whose `create` loses a race: another process created the collection first."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.asked: list[str] = []

    def create_collection(self, name: str) -> None:
        self.asked.append(name)
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        OperationFailure("Collection db.chunks already exists.", code=48, details={"codeName": "NamespaceExists"}),
        CollectionInvalid("collection chunks already exists"),
    ],
)
def test_a_collection_created_meanwhile_by_another_process_is_success(error: Exception) -> None:
    database = RacingDatabase(error)
    create_collection(database, "chunks", "db.chunks")  # type: ignore[arg-type]
    assert database.asked == ["chunks"]


def test_other_refusals_to_create_a_collection_stay_errors() -> None:
    database = RacingDatabase(OperationFailure("not authorized on db to execute command", code=13))
    with pytest.raises(StoreError, match=r"create collection on db\.chunks: not authorized"):
        create_collection(database, "chunks", "db.chunks")  # type: ignore[arg-type]


# --- write_back counts the documents it found ---------------------------------------------------------------------


class BulkWriter:
    """A collection that answers `bulk_write` with the server's reply: `matched` of the filters found a document."""

    full_name = "shop.products"

    def __init__(self, matched: int) -> None:
        self.matched = matched
        self.operations: list[UpdateOne] = []

    def bulk_write(self, operations: Sequence[UpdateOne], ordered: bool) -> BulkWriteResult:
        self.operations = list(operations)
        reply = {"nInserted": 0, "nUpserted": 0, "nMatched": self.matched, "nModified": self.matched, "nRemoved": 0}
        return BulkWriteResult({**reply, "upserted": [], "writeErrors": [], "writeConcernErrors": []}, True)


def test_write_back_counts_matched_documents_so_one_deleted_meanwhile_is_not_embedded() -> None:
    collection = BulkWriter(matched=2)
    items = [(_id, None, f"fp{_id}") for _id in (1, 2, 3)]  # 3 was deleted after it was read
    assert write_back(collection, items, model=MODEL) == 2  # type: ignore[arg-type]
    assert len(collection.operations) == 3
    assert write_back(collection, [], model=MODEL) == 0  # type: ignore[arg-type]


# --- one pass over the collection counts what it reads ------------------------------------------------------------


def document(_id: int, text: str | None, embedded_text: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": _id}
    if text is not None:
        doc["summary"] = text
    if embedded_text is not None:
        doc["embedding_fingerprint"] = fingerprint(embedded_text, MODEL)
    return doc


COLLECTION = [
    document(1, "bees", embedded_text="bees"),  # current
    document(2, "lava"),  # never embedded
    document(3, "   "),  # blank: no text
    document(4, "bread", embedded_text="old bread"),  # edited since
    document(5, "chess", embedded_text="chess"),  # current
    document(6, "wine"),  # never embedded
    document(7, "reef", embedded_text="reef"),  # current
]


def server_pass(collection: list[dict[str, Any]], size: int) -> tuple[list[StaleBatch], list[int]]:
    """The flow's loop over recorded documents: each query starts past the last record, as `$gt` on `_id` does."""
    reads: list[int] = []

    def query(after: int | None) -> Iterator[dict[str, Any]]:
        for doc in collection:
            if after is None or doc["_id"] > after:
                reads.append(doc["_id"])
                yield doc

    batches, after = [], None
    while True:
        found = take_stale(
            classify(query(after), "summary", embedder_identity=MODEL, vector_field="embedding", source="shop.p"),
            size,
        )
        batches.append(found)
        if found.done:
            return batches, reads
        after = found.records[-1].metadata["_id"]


def test_one_pass_counts_each_document_with_text_once_and_finds_the_stale_ones() -> None:
    batches, reads = server_pass(COLLECTION, size=2)
    assert [[r.metadata["_id"] for r in b.records] for b in batches] == [[2, 4], [6]]
    assert sum(b.scanned for b in batches) == 6  # every document with text, the blank one left out
    assert sum(b.scanned - len(b.records) for b in batches) == 3  # current already: 1, 5, 7
    assert sorted(reads) == list(range(1, 8))  # each document read once, none twice
    assert [b.done for b in batches] == [False, True]


def test_a_full_last_batch_ends_with_an_empty_step_that_reads_only_what_follows() -> None:
    batches, reads = server_pass(COLLECTION[:4], size=2)
    assert [len(b.records) for b in batches] == [2, 0]
    assert sum(b.scanned for b in batches) == 3 and sorted(reads) == [1, 2, 3, 4]


def test_stale_records_name_the_collection_and_keep_the_raw_id() -> None:
    records = [r for r in classify(COLLECTION, "summary", embedder_identity=MODEL, vector_field="embedding",
                                   source="shop.p") if r is not None]  # fmt: skip
    assert [(r.id, r.text, r.metadata) for r in records][:1] == [("shop.p:2", "lava", {"_id": 2})]
