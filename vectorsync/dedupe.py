"""Embed each distinct text once: repeated chunks (boilerplate, headers, duplicated records) share one vector.

Chunks are equal for the model when their fingerprints are (same text, same embedder identity), so a
fingerprint is the key. Within a batch every duplicate is folded; across the batches of a run a memo of the
16 MiB of most recent vectors catches the repeats that recur through a corpus, in constant memory (each Dask
worker keeps its own).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from vectorsync.embedders.base import Embedder
from vectorsync.embedding import EmbeddedBatch, embed_chunks
from vectorsync.records import Chunk
from vectorsync.stores.base import DeadLetter

# About 16 MiB of float32 vectors whatever their size: 10,900 vectors of 384 dimensions, 2,700 of 1,536.
MEMO_BYTES = 16 * 1024 * 1024


class VectorMemo:
    """The most recently embedded vectors by fingerprint, within a byte budget; thread-safe.

    `embedding` is held while a batch is embedded, so batches of one run embed one after another (the model
    already uses every core, and a hosted embedder keeps its own requests in flight) and a text repeated in
    the next batch finds its vector here instead of being embedded twice.
    """

    def __init__(self, max_bytes: int = MEMO_BYTES) -> None:
        self.max_bytes = max_bytes
        self.embedding = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, fingerprint: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(fingerprint)
            if vector is not None:
                self._vectors.move_to_end(fingerprint)
            return vector

    def put(self, fingerprint: str, vector: np.ndarray) -> None:
        with self._lock:
            if fingerprint in self._vectors:
                return
            self._vectors[fingerprint] = vector.copy()
            self._bytes += vector.nbytes
            while self._bytes > self.max_bytes and self._vectors:
                self._bytes -= self._vectors.popitem(last=False)[1].nbytes


_memos: OrderedDict[str, VectorMemo] = OrderedDict()
_memos_lock = threading.Lock()


def memo_for(run: str, keep: int = 4) -> VectorMemo:
    """The memo of one run (a flow run id): runs never answer for each other, and old runs' memos are dropped."""
    with _memos_lock:
        memo = _memos.setdefault(run, VectorMemo())
        _memos.move_to_end(run)
        while len(_memos) > keep:
            _memos.popitem(last=False)
        return memo


def embed_unique(
    embedder: Embedder,
    chunks: Sequence[Chunk],
    memo: VectorMemo,
    batch_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    slice_size: int = 256,
) -> EmbeddedBatch:
    """Embed `chunks`, sending each distinct fingerprint that `memo` lacks to the model once.

    The model is called on slices of `slice_size` distinct texts, longest first, and `on_progress(n)` hears of
    every `n` chunks done, so progress moves as the model works. A rejected text dead-letters each chunk that
    carries it.
    """
    with memo.embedding:
        return _embed_unique(embedder, chunks, memo, batch_size, on_progress, slice_size)


def _embed_unique(
    embedder: Embedder,
    chunks: Sequence[Chunk],
    memo: VectorMemo,
    batch_size: int | None,
    on_progress: Callable[[int], None] | None,
    slice_size: int,
) -> EmbeddedBatch:
    vectors: dict[str, np.ndarray] = {}
    todo: dict[str, Chunk] = {}
    for chunk in chunks:
        if chunk.fingerprint not in vectors and chunk.fingerprint not in todo:
            known = memo.get(chunk.fingerprint)
            if known is None:
                todo[chunk.fingerprint] = chunk
            else:
                vectors[chunk.fingerprint] = known
    # Longest first, as `SentenceTransformer.encode` sorts one call's texts: each slice then holds texts of like
    # length, so the model pads little. On SciFact, slices in arrival order padded 12% more tokens than one
    # sorted call over all 5,000 chunks; sorted batches of 1,024 pad 2.5% more.
    distinct = sorted(todo.values(), key=lambda chunk: len(chunk.text), reverse=True)
    reasons: dict[str, str] = {}
    for start in range(0, len(distinct), slice_size):
        piece = distinct[start : start + slice_size]
        batch = embed_chunks(embedder, piece, batch_size=batch_size)
        for chunk, vector in zip(batch.chunks, batch.vectors, strict=True):
            vectors[chunk.fingerprint] = vector
            memo.put(chunk.fingerprint, vector)
        by_place: dict[tuple[str | None, str | None], str] = {
            (c.document, f"chunk {c.chunk_index}"): c.fingerprint for c in piece
        }
        reasons.update((by_place[(x.document, x.location)], x.reason) for x in batch.dead_letters)
        if on_progress:
            on_progress(len(piece))
    if on_progress and len(chunks) > len(distinct):
        on_progress(len(chunks) - len(distinct))
    kept = [chunk for chunk in chunks if chunk.fingerprint in vectors]
    matrix = (
        np.stack([vectors[chunk.fingerprint] for chunk in kept]).astype(np.float32, copy=False)
        if kept
        else np.zeros((0, embedder.dimensions), dtype=np.float32)
    )
    letters = [
        DeadLetter(c.source, reasons[c.fingerprint], f"chunk {c.chunk_index}", c.document)
        for c in chunks
        if c.fingerprint in reasons
    ]
    return EmbeddedBatch(kept, matrix, letters)
