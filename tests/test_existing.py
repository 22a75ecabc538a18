"""What an embed-existing run embeds and how its documents are marked, checked without a MongoDB server.

The stores are built but never connect (pymongo connects on the first operation); the live suite,
tests/test_embed_existing_live.py, runs the whole flow against a server.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fake_openai import FakeOpenAI

from vectorsync.chunking import Chunker
from vectorsync.embedders.base import Embedder
from vectorsync.embedders.openai import OpenAIEmbedder
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder
from vectorsync.errors import ConfigError
from vectorsync.existing import ExistingCollection
from vectorsync.records import Record, fingerprint
from vectorsync.sources.mongodb import chunk_store
from vectorsync.stores.base import IndexSpec
from vectorsync.stores.mongodb import MongoStore

LONG = " ".join(f"Sentence number {i} says something about honey bees." for i in range(200))


@pytest.fixture
def source() -> Iterator[MongoStore]:
    with MongoStore("mongodb://localhost:27017/?serverSelectionTimeoutMS=100", "shop", "products") as store:
        yield store


def existing(source: MongoStore, embedder: Embedder, chunker: Chunker | None = None) -> ExistingCollection:
    target = chunk_store(source) if chunker else source
    spec = IndexSpec("vector_index", embedder.dimensions)
    return ExistingCollection(source, target, ("summary",), embedder, spec, chunker)


def record(_id: object, text: str) -> Record:
    return Record(f"shop.products:{_id}", "shop.products", text, {"_id": _id})


def test_truncate_mode_cuts_long_text_to_the_model_limit_but_marks_the_whole_text(source, embedder):
    whole = existing(source, embedder)
    [chunk] = whole.chunks([record(7, LONG)])

    assert len(embedder.tokenizer.token_offsets(chunk.text)) == embedder.max_tokens
    assert LONG.startswith(chunk.text) and len(chunk.text) < len(LONG)
    assert chunk.fingerprint == fingerprint(LONG, embedder.identity)
    assert (chunk.id, chunk.document, chunk.metadata) == ("shop.products:7", "shop.products:7", {"_id": 7})
    assert whole.chunks([record(8, "A short summary.")])[0].text == "A short summary."


def test_truncate_mode_leaves_room_for_the_document_prompt(source):
    prompted = SentenceTransformerEmbedder(document_prompt="passage: ")
    [chunk] = existing(source, prompted).chunks([record(7, LONG)])
    assert prompted.count_tokens("passage: " + chunk.text) == prompted.max_tokens


def test_calibrated_int8_is_refused_in_truncate_mode_and_kept_by_the_chunks_collection(embedder):
    uri = "mongodb://localhost:27017/?serverSelectionTimeoutMS=100"
    with MongoStore(uri, "shop", "products", vector_format="int8", int8_scheme="calibrated") as calibrated:
        with pytest.raises(ConfigError, match=r"--long-text chunk.*VECTORSYNC_INT8_SCHEME=per_vector"):
            existing(calibrated, embedder)
        chunked = existing(calibrated, embedder, Chunker(embedder.tokenizer, 64, 8, embedder.identity))
        assert chunked.target.int8_scheme == "calibrated"


def test_chunk_mode_splits_long_text_into_chunks_that_keep_the_parent_id(source, embedder):
    chunked = existing(source, embedder, Chunker(embedder.tokenizer, 64, 8, embedder.identity))
    chunks = chunked.chunks([record("a1", LONG), record("b2", "A short summary.")])

    assert chunked.target.collection.full_name == "shop.products_chunks"
    assert {c.metadata["_id"] for c in chunks} == {"a1", "b2"}
    parent = [c for c in chunks if c.metadata["_id"] == "a1"]
    assert len(parent) > 1 and [c.chunk_index for c in parent] == list(range(len(parent)))
    assert all(c.document == "shop.products:a1" for c in parent)
    assert all(len(embedder.tokenizer.token_offsets(c.text)) <= 64 for c in parent)


def test_marks_change_with_the_mode_and_the_chunk_size_so_switching_re_embeds(source, embedder):
    whole = existing(source, embedder)
    small = existing(source, embedder, Chunker(embedder.tokenizer, 64, 8, embedder.identity))
    large = existing(source, embedder, Chunker(embedder.tokenizer, 128, 8, embedder.identity))

    assert whole.identity == embedder.identity
    assert len({whole.identity, small.identity, large.identity}) == 3


def test_each_document_gets_one_vector_of_the_model_dimensions(source, embedder):
    records = [record(1, "Bees make honey."), record(2, LONG), record(3, "Volcanoes erupt lava.")]
    batch = existing(source, embedder).embed(records)

    assert [c.metadata["_id"] for c in batch.chunks] == [1, 2, 3]
    assert batch.vectors.shape == (3, embedder.dimensions) and np.isfinite(batch.vectors).all()
    assert not batch.dead_letters


def test_text_the_model_refuses_becomes_a_dead_letter_naming_its_document(source):
    with FakeOpenAI(max_tokens=8) as server:
        embedder = OpenAIEmbedder(api_key=server.api_key, base_url=server.base_url, dimensions=8, max_retries=0)
        records = [
            record(1, "Short."),
            record(2, "A summary far longer than eight tokens of the server."),
            record(3, "Ok."),
        ]
        batch = existing(source, embedder).embed(records)

    assert [c.metadata["_id"] for c in batch.chunks] == [1, 3] and batch.vectors.shape == (2, 8)
    [letter] = batch.dead_letters
    assert (letter.source, letter.location, letter.document) == ("shop.products", "_id 2", "shop.products:2")
    assert "rejected by the embedder" in letter.reason
