"""The values that travel through the pipeline: source records, chunks, skips and search hits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One document from a source, before chunking.

    `id` is stable across runs (path, path + line key, or collection + `_id`) and unique in a run;
    `source` is the file path or `db.collection` it came from.
    """

    id: str
    source: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skip:
    """Input left out of a run, with the reason a person needs to fix it."""

    source: str
    reason: str
    location: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.location}" if self.location else self.source
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Chunk:
    """A piece of a record small enough for the model, with a deterministic id and fingerprint."""

    id: str
    document: str
    source: str
    text: str
    chunk_index: int
    metadata: dict[str, Any]
    fingerprint: str


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: str
    score: float
    text: str
    source: str
    document: str
    chunk_index: int
    metadata: dict[str, Any]


def chunk_id(document: str, chunk_index: int, text: str) -> str:
    """Deterministic chunk id from the document id, the chunk's position and its content."""
    digest = hashlib.sha256(f"{document}\x00{chunk_index}\x00{text}".encode()).hexdigest()
    return digest[:32]


def fingerprint(text: str, embedder_identity: str) -> str:
    """Hash of a chunk's text plus the embedder's identity: equal fingerprints mean equal vectors."""
    return hashlib.sha256(f"{embedder_identity}\x00{text}".encode()).hexdigest()[:32]
