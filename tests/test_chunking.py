"""Chunking with the model's own tokenizer: never over the limit, deterministic, overlapping."""

from __future__ import annotations

import itertools
import logging
import random
import string

import pytest

from vectorsync.chunking import MAX_CHARS_PER_TOKEN, Chunker
from vectorsync.errors import ConfigError
from vectorsync.records import Record

LONG = "\n\n".join(
    f"Paragraph {n}. The quick brown fox number {n} jumps over the lazy dog near the river bank. "
    f"Afterwards it rests under tree {n * 7} and watches the clouds drift across the sky."
    for n in range(60)
)


def test_no_chunk_exceeds_the_models_token_limit(embedder):
    chunker = Chunker(embedder.tokenizer, embedder.max_tokens, 32, embedder.identity)
    chunks = list(chunker.chunk(Record("doc", "doc", LONG)))
    assert len(chunks) > 3
    assert max(embedder.count_tokens(c.text) for c in chunks) <= embedder.max_tokens
    assert embedder.max_tokens == 254  # all-MiniLM-L6-v2: 256 positions minus [CLS] and [SEP]


def test_small_limit_is_respected_even_inside_long_words(embedder):
    text = "pneumonoultramicroscopicsilicovolcanoconiosis " * 40
    chunker = Chunker(embedder.tokenizer, 16, 2, embedder.identity)
    pieces = chunker.split(text)
    assert pieces and all(embedder.count_tokens(p) <= 16 for p in pieces)


def test_same_input_gives_same_ids(embedder):
    chunker = Chunker(embedder.tokenizer, 64, 8, embedder.identity)
    first = [c.id for c in chunker.chunk(Record("doc", "doc", LONG))]
    second = [c.id for c in chunker.chunk(Record("doc", "doc", LONG))]
    assert first == second and len(set(first)) == len(first)


def test_changed_text_changes_only_affected_chunk_ids(embedder):
    chunker = Chunker(embedder.tokenizer, 64, 0, embedder.identity)
    before = [c.id for c in chunker.chunk(Record("doc", "doc", LONG))]
    changed = LONG.replace("Paragraph 59.", "Final paragraph.")
    after = [c.id for c in chunker.chunk(Record("doc", "doc", changed))]
    assert before[:-1] == after[:-1] and before[-1] != after[-1]


def test_neighbouring_chunks_overlap(embedder):
    chunker = Chunker(embedder.tokenizer, 40, 10, embedder.identity)
    pieces = chunker.split(LONG)
    shared = [set(a.split()[-5:]) & set(b.split()[:15]) for a, b in itertools.pairwise(pieces)]
    assert all(shared)


def test_chunks_prefer_paragraph_ends(embedder):
    chunker = Chunker(embedder.tokenizer, 80, 0, embedder.identity)
    pieces = chunker.split(LONG)
    assert sum(p.endswith("sky.") for p in pieces[:-1]) >= len(pieces[:-1]) * 0.8


def test_fingerprint_depends_on_the_embedder_identity(embedder):
    record = Record("doc", "doc", "Some text about bees.")
    a = next(Chunker(embedder.tokenizer, 64, 0, "model-a").chunk(record))
    b = next(Chunker(embedder.tokenizer, 64, 0, "model-b").chunk(record))
    assert a.id == b.id and a.fingerprint != b.fingerprint


def test_whitespace_only_text_gives_no_chunks(embedder):
    chunker = Chunker(embedder.tokenizer, 64, 0, embedder.identity)
    assert list(chunker.chunk(Record("doc", "doc", "  \n\t "))) == []


@pytest.mark.parametrize(("size", "overlap"), [(4, 0), (64, 40)])
def test_bad_sizes_are_config_errors(embedder, size, overlap):
    with pytest.raises(ConfigError, match="chunk_"):
        Chunker(embedder.tokenizer, size, overlap, embedder.identity)


def test_text_the_tokenizer_cannot_split_is_cut_by_characters_into_dense_chunks(embedder, caplog):
    blob = "".join(random.Random(4).choice(string.ascii_letters) for _ in range(30_000))
    text = f"A normal opening sentence.\n\n{blob}\n\nA normal closing sentence."
    chunker = Chunker(embedder.tokenizer, embedder.max_tokens, 32, embedder.identity)

    with caplog.at_level(logging.WARNING, logger="vectorsync.chunking"):
        chunks = list(chunker.chunk(Record("doc-with-blob", "doc", text)))

    assert chunks[0].text == "A normal opening sentence." and chunks[-1].text == "A normal closing sentence."
    middle = [chunk.text for chunk in chunks[1:-1]]
    assert "".join(middle) == blob
    assert all(len(piece) <= MAX_CHARS_PER_TOKEN * embedder.count_tokens(piece) for piece in middle)
    assert all(embedder.count_tokens(piece) <= embedder.max_tokens for piece in middle)
    assert [record.getMessage() for record in caplog.records if "doc-with-blob" in record.getMessage()]
    assert [c.id for c in chunker.chunk(Record("doc-with-blob", "doc", text))] == [c.id for c in chunks]


def test_ordinary_text_is_never_cut_by_characters(embedder, caplog):
    chunker = Chunker(embedder.tokenizer, 64, 8, embedder.identity)

    with caplog.at_level(logging.WARNING, logger="vectorsync.chunking"):
        pieces = chunker.split(LONG)

    assert not caplog.records and all(" " in piece for piece in pieces)
