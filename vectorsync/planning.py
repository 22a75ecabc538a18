"""What a run must do: which chunks need embedding, which stored chunks went stale, which documents to prune.

Unchanged content is recognised by its fingerprint, so a re-run over the same data embeds nothing.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectorsync.records import Chunk
from vectorsync.stores.base import VectorStore


@dataclass
class SyncPlan:
    """The work a batch of documents needs against the store's current content."""

    to_embed: list[Chunk] = field(default_factory=list)
    unchanged: int = 0
    stale_ids: list[str] = field(default_factory=list)

    def merge(self, other: SyncPlan) -> None:
        """Add another plan's work to this one."""
        self.to_embed.extend(other.to_embed)
        self.unchanged += other.unchanged
        self.stale_ids.extend(other.stale_ids)


def plan_sync(chunks: Sequence[Chunk], store: VectorStore, refresh: bool = False) -> SyncPlan:
    """Compare fresh chunks with the stored ones of the same documents; `refresh` re-embeds everything."""
    stored = store.fingerprints({chunk.document for chunk in chunks})
    fresh_ids = {chunk.id for chunk in chunks}
    to_embed = [c for c in chunks if refresh or stored.get(c.id) != c.fingerprint]
    stale = sorted(set(stored) - fresh_ids)
    return SyncPlan(to_embed=to_embed, unchanged=len(chunks) - len(to_embed), stale_ids=stale)


def documents_to_prune(
    stored: Mapping[str, str], seen: Iterable[str], under: str, keep_sources: Iterable[str] = ()
) -> list[str]:
    """Stored documents under `under` that this run did not see and whose source did not merely fail to load."""
    seen_set, keep = set(seen), set(keep_sources)
    return sorted(
        doc for doc, source in stored.items() if source.startswith(under) and doc not in seen_set and source not in keep
    )


def batches(chunks: Sequence[Chunk], size: int) -> list[list[Chunk]]:
    """Split chunks into batches of at most `size`, longest texts together so padding is small."""
    ordered = sorted(chunks, key=lambda c: (len(c.text), c.id), reverse=True)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def covered_prefix(path: str) -> str:
    """The source-path prefix a run over `path` speaks for: pruning never reaches outside it."""
    literal = (
        path[: min((path.find(c) for c in "*?[" if c in path), default=len(path))] if glob.has_magic(path) else path
    )
    resolved = Path(literal or ".").resolve()
    return resolved.as_posix() + ("/" if resolved.is_dir() else "")
