"""Each distinct text embedded once, longest first, with every chunk given its own text's vector back."""

from __future__ import annotations

import numpy as np

from vectorsync.dedupe import VectorMemo, embed_unique
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder
from vectorsync.records import Chunk, chunk_id, fingerprint


class RecordingEmbedder(SentenceTransformerEmbedder):
    """The real model, keeping each call's texts."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def encode(self, texts, batch_size=None):
        self.calls.append(list(texts))
        return super().encode(texts, batch_size)


def chunk_of(document: str, text: str) -> Chunk:
    return Chunk(chunk_id(document, 0, text), document, f"{document}.txt", text, 0, {}, fingerprint(text, "test"))


def test_the_model_gets_the_longest_texts_first_and_each_chunk_its_own_vector():
    texts = [
        "Tea.",
        "The library keeps its rare maps in a climate-controlled room on the third floor, open on Tuesdays.",
        "Bring a badge.",
        "Parking is free after six in the evening.",
        "Tea.",
        "The cafeteria serves soup, bread and a vegetarian dish of the day from noon until two o'clock.",
    ]
    chunks = [chunk_of(f"doc{n}", text) for n, text in enumerate(texts)]
    embedder = RecordingEmbedder()

    batch = embed_unique(embedder, chunks, VectorMemo(), slice_size=2)

    sent = [text for call in embedder.calls for text in call]
    assert [len(call) for call in embedder.calls] == [2, 2, 1]
    assert sent == sorted(set(texts), key=len, reverse=True)
    assert [chunk.id for chunk in batch.chunks] == [chunk.id for chunk in chunks]
    alone = embedder.encode_documents(texts)
    np.testing.assert_allclose(batch.vectors, alone, atol=1e-5)
