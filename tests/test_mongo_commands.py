"""The MongoDB store's commands, built without a server: index definitions, pipelines, writes, vectors, queries."""

from __future__ import annotations

from datetime import UTC, datetime

import bson
import numpy as np
import pytest
from bson.binary import Binary, BinaryVectorDtype
from pydantic import SecretStr
from pymongo import MongoClient, UpdateOne
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from vectorsync.errors import ConfigError, StoreError, TransientError
from vectorsync.records import Chunk
from vectorsync.settings import Settings
from vectorsync.sources.mongodb import stale_query, text_of, text_paths, truncate
from vectorsync.stores.base import IndexSpec
from vectorsync.stores.mongo_commands import (
    MAX_NUM_CANDIDATES,
    VectorFormat,
    batched,
    bulk_write_failures,
    chunk_document,
    decode_vector,
    default_num_candidates,
    definition_differences,
    encode_vector,
    filter_paths,
    index_definition,
    index_message,
    upsert_operations,
    vector_search_pipeline,
)
from vectorsync.stores.mongodb import MongoStore, mongo_errors

URI = "mongodb+srv://alice:s3cr%40t-pw@cluster0.example.net/?retryWrites=true"
SECRETS = ("s3cr%40t-pw", "s3cr@t-pw")


def roundtrip(value: object) -> object:
    """`value` after a trip through BSON, as the server would store and return it."""
    return bson.decode(bson.encode({"v": value}))["v"]


def chunk(i: int, document: str = "doc.txt") -> Chunk:
    return Chunk(f"id{i}", document, document, f"text {i}", i, {"type": "txt"}, f"fp{i}")


# Index definitions


def test_index_definition_has_vector_field_then_one_filter_field_per_path() -> None:
    spec = IndexSpec("vector_index", dimensions=384, similarity="dotProduct", filter_fields=("source", "metadata.type"))
    assert index_definition(spec, "embedding") == {
        "fields": [
            {"type": "vector", "path": "embedding", "numDimensions": 384, "similarity": "dotProduct"},
            {"type": "filter", "path": "source"},
            {"type": "filter", "path": "metadata.type"},
        ]
    }


def test_index_definition_names_quantization_only_when_asked() -> None:
    plain = index_definition(IndexSpec("i", 768))["fields"][0]
    scalar = index_definition(IndexSpec("i", 768, quantization="scalar"))["fields"][0]
    assert "quantization" not in plain
    assert scalar["quantization"] == "scalar"


def test_index_definition_refuses_what_atlas_refuses() -> None:
    with pytest.raises(ConfigError, match="euclidean"):
        index_definition(IndexSpec("i", 384, similarity="cosine"), vector_format="packed_bit")
    with pytest.raises(ConfigError, match="multiple of 8"):
        index_definition(IndexSpec("i", 100, similarity="euclidean"), vector_format="packed_bit")
    with pytest.raises(ConfigError, match="cosine"):
        index_definition(IndexSpec("i", 384, similarity="dotProduct"), vector_format="int8")
    with pytest.raises(ConfigError, match="already quantized"):
        index_definition(IndexSpec("i", 384, quantization="scalar"), vector_format="int8")


def test_same_definition_has_no_differences_even_with_server_defaults() -> None:
    wanted = index_definition(IndexSpec("i", 384, filter_fields=("source", "metadata.type")))
    reported = {
        "fields": [
            {**wanted["fields"][0], "quantization": "none", "hnswOptions": {"maxEdges": 16, "numEdgeCandidates": 100}},
            {"type": "filter", "path": "metadata.type"},
            {"type": "filter", "path": "source"},
        ]
    }
    assert definition_differences(reported, wanted) == []


def test_different_dimensions_are_a_difference() -> None:
    current = index_definition(IndexSpec("i", 768))
    wanted = index_definition(IndexSpec("i", 384))
    assert definition_differences(current, wanted) == ["numDimensions 768 -> 384"]


def test_different_filter_fields_are_a_difference() -> None:
    current = index_definition(IndexSpec("i", 384, filter_fields=("source",)))
    wanted = index_definition(IndexSpec("i", 384, filter_fields=("source", "metadata.type")))
    [difference] = definition_differences(current, wanted)
    assert "filter fields" in difference and "metadata.type" in difference
    assert filter_paths(wanted) == ("source", "metadata.type")


def test_index_message_gathers_the_server_explanations() -> None:
    info = {"status": "FAILED", "statusDetail": [{"hostname": "a", "mainIndex": {"message": "bad dims"}}]}
    assert index_message(info) == "bad dims"
    assert index_message({"status": "READY"}) is None


# $vectorSearch pipelines


def test_num_candidates_default_is_twenty_per_result_at_least_100_at_most_10000() -> None:
    assert default_num_candidates(1) == 100
    assert default_num_candidates(10) == 200
    assert default_num_candidates(1000) == MAX_NUM_CANDIDATES == 10_000


def test_pipeline_searches_then_projects_the_hit_and_its_score() -> None:
    search, project = vector_search_pipeline([0.1, 0.2], index="vector_index", path="embedding", k=5)
    assert search == {
        "$vectorSearch": {
            "index": "vector_index",
            "path": "embedding",
            "queryVector": [0.1, 0.2],
            "limit": 5,
            "numCandidates": 100,
        }
    }
    assert project["$project"]["score"] == {"$meta": "vectorSearchScore"}
    assert {"text", "source", "document", "chunk_index", "metadata"} <= project["$project"].keys()


def test_explicit_num_candidates_is_kept_within_k_and_the_atlas_cap() -> None:
    def candidates(k: int, n: int) -> int:
        return vector_search_pipeline([0.0], index="i", path="p", k=k, num_candidates=n)[0]["$vectorSearch"][
            "numCandidates"
        ]

    assert candidates(5, 50) == 50
    assert candidates(5, 2) == 5
    assert candidates(5, 50_000) == 10_000


def test_exact_search_omits_num_candidates() -> None:
    stage = vector_search_pipeline([0.0], index="i", path="p", k=20_000, exact=True)[0]["$vectorSearch"]
    assert stage["exact"] is True
    assert "numCandidates" not in stage


def test_ann_search_beyond_the_candidate_cap_is_refused() -> None:
    with pytest.raises(StoreError, match="exact"):
        vector_search_pipeline([0.0], index="i", path="p", k=20_000)


def test_pipeline_includes_a_filter_only_when_given() -> None:
    mongo_filter = {"$and": [{"source": {"$eq": "a.txt"}}, {"metadata.type": {"$in": ["md", "txt"]}}]}
    with_filter = vector_search_pipeline([0.0], index="i", path="p", k=3, filter=mongo_filter)[0]["$vectorSearch"]
    without = vector_search_pipeline([0.0], index="i", path="p", k=3)[0]["$vectorSearch"]
    assert with_filter["filter"] == mongo_filter
    assert "filter" not in without


# Writes


def test_upserts_are_keyed_by_chunk_id_and_set_everything_else() -> None:
    docs = [{"_id": "a", "text": "x", "fingerprint": "f"}, {"_id": "b", "text": "y", "fingerprint": "g"}]
    assert upsert_operations(docs) == [
        UpdateOne({"_id": "a"}, {"$set": {"text": "x", "fingerprint": "f"}}, upsert=True),
        UpdateOne({"_id": "b"}, {"$set": {"text": "y", "fingerprint": "g"}}, upsert=True),
    ]


def test_batches_split_writes_into_slices_of_the_write_batch() -> None:
    assert [len(b) for b in batched(range(1201), 500)] == [500, 500, 201]
    assert list(batched([], 500)) == []


def test_chunk_document_carries_the_record_fields_model_and_vector() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    doc = chunk_document(chunk(3), np.array([0.5, -0.5], dtype=np.float32), model="st:mini", updated_at=now)
    assert doc["_id"] == "id3"
    assert (doc["document"], doc["source"], doc["text"], doc["chunk_index"]) == ("doc.txt", "doc.txt", "text 3", 3)
    assert (doc["embedding_model"], doc["dimensions"], doc["fingerprint"], doc["updated_at"]) == (
        "st:mini",
        2,
        "fp3",
        now,
    )
    assert doc["metadata"] == {"type": "txt"}
    assert isinstance(doc["embedding"], Binary)


def test_bulk_write_failures_name_the_failed_ids_and_reasons() -> None:
    details = {"writeErrors": [{"index": 1, "code": 2, "errmsg": "document too large"}], "writeConcernErrors": []}
    assert bulk_write_failures(details, ["a", "b", "c"]) == "b (document too large)"


# BSON vectors


def test_float32_vectors_round_trip_through_bson() -> None:
    values = np.array([0.25, -1.5, 3.0], dtype=np.float32)
    stored = roundtrip(encode_vector(values, "float32"))
    assert isinstance(stored, Binary)
    vector = stored.as_vector()
    assert vector.dtype == BinaryVectorDtype.FLOAT32
    assert np.array_equal(np.array(vector.data, dtype=np.float32), values)


def test_int8_vectors_keep_the_direction_scaled_to_127() -> None:
    values = np.array([0.5, -0.25, 0.0, 0.125], dtype=np.float32)
    vector = roundtrip(encode_vector(values, "int8")).as_vector()
    assert vector.dtype == BinaryVectorDtype.INT8
    assert vector.data == [127, -64, 0, 32]


def test_packed_bit_vectors_keep_the_sign_of_each_component() -> None:
    values = np.array([0.3, -0.1, 0.2, 0.0, -0.7, 0.9, 0.1, -0.2, 0.5], dtype=np.float32)
    vector = roundtrip(encode_vector(values, "packed_bit")).as_vector()
    assert vector.dtype == BinaryVectorDtype.PACKED_BIT
    assert vector.padding == 7
    bits = np.unpackbits(np.array(vector.data, dtype=np.uint8))[: len(values)]
    assert bits.tolist() == [1, 0, 1, 0, 0, 1, 1, 0, 1]


def test_array_vectors_are_plain_bson_doubles() -> None:
    stored = roundtrip(encode_vector(np.array([0.5, -2.0], dtype=np.float32), "array"))
    assert stored == [0.5, -2.0]


@pytest.mark.parametrize("vector_format", ["float32", "array", "int8", "packed_bit"])
def test_decoded_vectors_encode_back_to_what_was_stored(vector_format: VectorFormat) -> None:
    values = np.array([0.3, -0.1, 0.2, 0.0, -0.7, 0.9, 0.1, -0.2, 0.5], dtype=np.float32)
    stored = roundtrip(encode_vector(values, vector_format))
    decoded = decode_vector(stored, dimensions=len(values))  # type: ignore[arg-type]
    assert decoded.dtype == np.float32 and decoded.shape == values.shape
    assert roundtrip(encode_vector(decoded, vector_format)) == stored
    if vector_format in ("float32", "array"):
        assert np.array_equal(decoded, values)


# Existing collections: which documents are stale


def test_stale_query_for_one_field_asks_for_a_string() -> None:
    assert stale_query("summary", embedder_identity="m") == {"summary": {"$type": "string"}}


def test_stale_query_for_several_fields_asks_for_any_of_them() -> None:
    assert stale_query(["title", "body"], embedder_identity="m") == {
        "$or": [{"title": {"$type": "string"}}, {"body": {"$type": "string"}}]
    }


def test_stale_query_without_content_check_reads_only_unembedded_or_other_model() -> None:
    assert stale_query("summary", embedder_identity="st:mini", vector_field="vec", check_content=False) == {
        "$and": [
            {"summary": {"$type": "string"}},
            {"$or": [{"vec_fingerprint": {"$exists": False}}, {"vec_model": {"$ne": "st:mini"}}]},
        ]
    }


def test_template_text_needs_every_field_it_names() -> None:
    template = "{title}: {meta[lead]}"
    assert text_paths(template) == ("title", "meta")
    assert stale_query(template, embedder_identity="m") == {
        "$and": [{"title": {"$exists": True}}, {"meta": {"$exists": True}}]
    }
    assert text_of({"title": "T", "meta": {"lead": "L"}}, template) == "T: L"
    assert text_of({"title": "T"}, template) is None


def test_text_of_fields_joins_present_fields_and_skips_blank_ones() -> None:
    assert text_of({"title": "T", "body": {"text": "B"}}, ["title", "body.text"]) == "T\n\nB"
    assert text_of({"title": "  ", "other": "x"}, ["title"]) is None


def test_unnamed_template_fields_are_refused() -> None:
    with pytest.raises(ConfigError, match="name its fields"):
        text_paths("{}: {0}")


class WordTokenizer:
    """Words as tokens: enough to check where truncation cuts."""

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        offsets, start = [], None
        for i, ch in enumerate(text + " "):
            if ch.isspace() and start is not None:
                offsets.append((start, i))
                start = None
            elif not ch.isspace() and start is None:
                start = i
        return offsets


def test_truncate_cuts_after_the_last_token_that_fits() -> None:
    assert truncate("one two three four", WordTokenizer(), 2) == "one two"
    assert truncate("one two", WordTokenizer(), 5) == "one two"


# Secrets stay out of what is printed


def test_describe_and_repr_hide_the_uri_password() -> None:
    store = MongoStore(SecretStr(URI), "vectorsync", "chunks")
    try:
        for text in (store.describe(), repr(store)):
            assert "s3cr" not in text
            assert "alice:***@cluster0.example.net" in text and "vectorsync.chunks" in text
    finally:
        store.close()


def test_store_from_settings_uses_the_mongodb_settings() -> None:
    settings = Settings(MONGODB_URI=URI, mongodb_database="db", mongodb_collection="c", vector_format="int8")
    store = MongoStore.from_settings(settings, client=MongoClient(URI.replace("+srv", ""), connect=False))
    assert (store.collection.full_name, store.vector_format, store.index_name) == ("db.c", "int8", "vector_index")
    assert "s3cr" not in store.describe()


def test_connection_errors_become_transient_without_the_password() -> None:
    with pytest.raises(TransientError) as caught, mongo_errors("upsert", "db.c", *SECRETS):
        raise ServerSelectionTimeoutError("no server at mongodb://alice:s3cr%40t-pw@localhost after 30 s")
    assert "s3cr" not in str(caught.value) and "upsert on db.c" in str(caught.value)


def test_refusals_become_store_errors_with_a_hint_when_search_is_not_enabled() -> None:
    with pytest.raises(StoreError, match="mongodb-atlas-local"), mongo_errors("search", "db.c"):
        raise OperationFailure("Using Atlas Search requires additional configuration", code=31082)


def test_values_bson_cannot_hold_are_a_store_error_naming_the_action() -> None:
    with (
        pytest.raises(StoreError, match=r"upsert on db\.c: a value cannot be stored in BSON"),
        mongo_errors("upsert", "db.c"),
    ):
        bson.encode({"metadata": {"when": object()}})


def test_a_malformed_uri_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        MongoStore("mongodb://user:pass-s3cr3t@example.invalid:notaport/", "db", "c")
    assert "s3cr3t" not in str(caught.value)
