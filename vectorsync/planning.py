"""What a run must do: which chunks need embedding, which stored chunks went stale, which documents to prune.

Unchanged content is recognised by its fingerprint, so a re-run over the same data embeds nothing.
"""

from __future__ import annotations

import glob
import hashlib
from array import array
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vectorsync.records import Chunk
from vectorsync.sources import source_name
from vectorsync.stores.base import FingerprintSource


@dataclass
class SyncPlan:
    """The work a batch of documents needs against the store's current content."""

    to_embed: list[Chunk] = field(default_factory=list)
    unchanged: int = 0
    stale_ids: list[str] = field(default_factory=list)
    replacing: frozenset[str] = frozenset()
    """Ids of `to_embed` chunks that are stored already (a refresh, a new model): written over, not appended."""

    def merge(self, other: SyncPlan) -> None:
        """Add another plan's work to this one."""
        self.to_embed.extend(other.to_embed)
        self.unchanged += other.unchanged
        self.stale_ids.extend(other.stale_ids)
        self.replacing |= other.replacing


def plan_sync(chunks: Sequence[Chunk], store: FingerprintSource, refresh: bool = False) -> SyncPlan:
    """Compare fresh chunks with the stored ones of the same documents; `refresh` re-embeds everything."""
    stored = store.fingerprints({chunk.document for chunk in chunks})
    fresh_ids = {chunk.id for chunk in chunks}
    to_embed = [c for c in chunks if refresh or stored.get(c.id) != c.fingerprint]
    stale = sorted(set(stored) - fresh_ids)
    replacing = frozenset(c.id for c in to_embed if c.id in stored)
    return SyncPlan(to_embed=to_embed, unchanged=len(chunks) - len(to_embed), stale_ids=stale, replacing=replacing)


class SeenDocuments:
    """The document ids a run has seen, as 8-byte hashes: a million documents take 8 MB, not a set of strings.

    Used only to prune: a hash collision (about 1 in 10^7 at a million documents) keeps a document, never drops one.
    """

    def __init__(self) -> None:
        self._hashes = array("Q")
        self._sorted: np.ndarray | None = None

    def add(self, documents: Iterable[str]) -> None:
        self._hashes.extend(_hash64(doc) for doc in documents)
        self._sorted = None

    def __contains__(self, document: object) -> bool:
        if self._sorted is None:
            self._sorted = np.unique(np.frombuffer(self._hashes, dtype=np.uint64))
        key = np.uint64(_hash64(str(document)))
        at = int(np.searchsorted(self._sorted, key))
        return at < len(self._sorted) and self._sorted[at] == key


def documents_to_prune(
    stored: Mapping[str, str], seen: Container[str], under: str, keep_sources: Iterable[str] = ()
) -> list[str]:
    """Stored documents under `under` that this run did not see and whose source did not merely fail to load."""
    keep = set(keep_sources)
    return sorted(
        doc for doc, source in stored.items() if source.startswith(under) and doc not in seen and source not in keep
    )


def batches(chunks: Sequence[Chunk], size: int) -> list[list[Chunk]]:
    """Split chunks into batches of at most `size`, longest texts together so padding is small.

    Equal texts sort next to each other, so each batch embeds a repeated text once.
    """
    ordered = sorted(chunks, key=lambda c: (len(c.text), c.fingerprint, c.id), reverse=True)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _hash64(document: str) -> int:
    digest = hashlib.blake2b(document.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def covered_prefix(path: str) -> str:
    """The source-path prefix a run over `path` speaks for: pruning never reaches outside it."""
    literal = (
        path[: min((path.find(c) for c in "*?[" if c in path), default=len(path))] if glob.has_magic(path) else path
    )
    resolved = Path(literal or ".").resolve()
    # Spelled as the sources are, so a folder whose name is not valid UTF-8 still covers its own files.
    return source_name(resolved) + ("/" if resolved.is_dir() else "")
