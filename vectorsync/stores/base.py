"""The one interface every vector store implements: LanceDB on disk or MongoDB Atlas."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from vectorsync.records import Chunk, Hit

Similarity = Literal["cosine", "euclidean", "dotProduct"]


@dataclass(frozen=True)
class IndexSpec:
    """What the vector index must be: Atlas's `vectorSearch` definition, in store-neutral form."""

    name: str
    dimensions: int
    similarity: Similarity = "cosine"
    filter_fields: tuple[str, ...] = ()
    quantization: Literal["scalar", "binary"] | None = None


@dataclass(frozen=True)
class IndexStatus:
    """What the store reports about an index; `queryable` is the only state safe to search."""

    name: str
    state: str
    queryable: bool
    dimensions: int | None = None
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadLetter:
    """A record or chunk that failed for its own reasons, kept next to the vectors with the reason."""

    source: str
    reason: str
    location: str | None = None
    document: str | None = None


class FingerprintSource(Protocol):
    """Where a run looks up what is stored already."""

    def fingerprints(self, documents: Iterable[str]) -> dict[str, str]:
        """Chunk id -> fingerprint of every stored chunk of these documents."""
        ...


class VectorStore(ABC):
    """Chunks with their vectors, keyed by the deterministic chunk id so every write is an upsert."""

    kind: str

    @abstractmethod
    def describe(self) -> str:
        """Where the store lives, with any password redacted."""

    @abstractmethod
    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, model: str, new: bool = False) -> int:
        """Insert or replace `chunks` with their `vectors`; returns how many were written.

        `new` says the caller knows that none of these ids is stored, so a store may append without matching.
        """

    @abstractmethod
    def fingerprints(self, documents: Iterable[str]) -> dict[str, str]:
        """Chunk id -> fingerprint of every stored chunk of these documents."""

    def snapshot(self) -> FingerprintSource:
        """Fingerprints as stored now, which the run's own later writes do not slow down or change.

        The default reads live: a store whose lookups are indexed (MongoDB's `document` index) needs no more.
        """
        return self

    @abstractmethod
    def documents(self) -> dict[str, str]:
        """Document id -> source of every document that has chunks in the store."""

    @abstractmethod
    def delete_chunks(self, ids: Iterable[str]) -> int:
        """Remove chunks by id; returns how many were removed."""

    @abstractmethod
    def delete_documents(self, documents: Iterable[str]) -> int:
        """Remove every chunk of these documents; returns how many chunks were removed."""

    @abstractmethod
    def count(self) -> int:
        """Number of chunks stored."""

    @abstractmethod
    def stored_dimensions(self) -> int | None:
        """Dimensions of the vectors already stored, or None when the store is empty."""

    @abstractmethod
    def stored_models(self) -> set[str]:
        """Identities of the embedders whose vectors are stored."""

    @abstractmethod
    def get_vector(self, chunk_id: str) -> np.ndarray | None:
        """The stored vector of one chunk, or None; lets a smoke test run without loading the model."""

    @abstractmethod
    def ensure_index(self, spec: IndexSpec, timeout_s: float = 300.0) -> IndexStatus:
        """Create or update the vector index and wait until it is queryable."""

    @abstractmethod
    def index_status(self, name: str) -> IndexStatus:
        """The index's state, `ABSENT` when there is none."""

    @abstractmethod
    def search(
        self,
        vector: np.ndarray,
        k: int = 5,
        filter: dict[str, Any] | None = None,
        num_candidates: int | None = None,
        exact: bool = False,
    ) -> list[Hit]:
        """The `k` nearest chunks to `vector` that match `filter` (the `$vectorSearch` language)."""

    @abstractmethod
    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Keep failed records next to the vectors, replacing earlier letters for the same place."""

    @abstractmethod
    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter kept so far."""

    @abstractmethod
    def clear_dead_letters(self, sources: Iterable[str]) -> None:
        """Forget dead letters of sources that now went through cleanly."""

    def close(self) -> None:  # noqa: B027 - a no-op by default: the embedded store holds no connections
        """Release connections; the default store holds none."""

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
