"""Embed chunks so that one bad chunk never sinks its batch: rejected chunks become dead letters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vectorsync.embedders.base import Embedder
from vectorsync.errors import EmbedderError, EmbedderUnavailable
from vectorsync.records import Chunk
from vectorsync.stores.base import DeadLetter


class EmbeddedBatch:
    """Chunks with their vectors, row for row, plus the chunks the embedder refused.

    A plain class, not a dataclass: Prefect walks a dataclass handed from task to task field by field,
    thousands of chunks and their metadata per batch, which cost more than writing them.
    """

    __slots__ = ("chunks", "dead_letters", "vectors")

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, dead_letters: list[DeadLetter] | None = None) -> None:
        self.chunks = chunks
        self.vectors = vectors
        self.dead_letters = dead_letters or []


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk], batch_size: int | None = None) -> EmbeddedBatch:
    """Embed `chunks`; when the embedder rejects the batch for its content, halve it to find the culprits.

    Transient faults (`TransientError`) propagate untouched so that the caller retries the whole batch;
    so does `EmbedderUnavailable` (bad key, unknown model, no quota): no chunk is to blame, the run fails.
    """
    try:
        vectors = embedder.encode_documents([c.text for c in chunks], batch_size=batch_size)
    except EmbedderUnavailable:
        raise
    except EmbedderError as exc:
        if len(chunks) == 1:
            return EmbeddedBatch([], _empty(embedder), [_letter(chunks[0], f"rejected by the embedder: {exc}")])
        middle = len(chunks) // 2
        return _concat(
            embed_chunks(embedder, chunks[:middle], batch_size), embed_chunks(embedder, chunks[middle:], batch_size)
        )
    finite = np.isfinite(vectors).all(axis=1)
    if finite.all():
        return EmbeddedBatch(list(chunks), vectors)
    kept = [c for c, ok in zip(chunks, finite, strict=True) if ok]
    bad = [c for c, ok in zip(chunks, finite, strict=True) if not ok]
    letters = [_letter(c, "the embedder returned a vector with NaN or infinity") for c in bad]
    return EmbeddedBatch(kept, vectors[finite], letters)


def _concat(first: EmbeddedBatch, second: EmbeddedBatch) -> EmbeddedBatch:
    return EmbeddedBatch(
        first.chunks + second.chunks,
        np.concatenate([first.vectors, second.vectors]),
        first.dead_letters + second.dead_letters,
    )


def _empty(embedder: Embedder) -> np.ndarray:
    return np.zeros((0, embedder.dimensions), dtype=np.float32)


def _letter(chunk: Chunk, reason: str) -> DeadLetter:
    return DeadLetter(
        source=chunk.source, reason=reason, location=f"chunk {chunk.chunk_index}", document=chunk.document
    )
