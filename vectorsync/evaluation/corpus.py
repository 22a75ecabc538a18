"""How a labelled corpus meets the model's length limit: cut into chunks, or kept whole and truncated by the model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from vectorsync.records import Chunk, Record, chunk_id, fingerprint

# truncate: one vector per document from its first max_seq_length tokens, as MTEB made its published figures
# (SciFact, all-MiniLM-L6-v2: nDCG@10 0.6451 exactly); chunk: the pipeline's token-aware chunks, a document
# scoring as its best chunk (0.6570 there: a different method, so not comparable with published figures).
LongText = Literal["truncate", "chunk"]


def whole_record_chunks(records: Iterable[Record], embedder_identity: str) -> list[Chunk]:
    """One chunk per record holding its full text; the model keeps only what fits its limit when encoding."""
    return [
        Chunk(
            id=chunk_id(record.id, 0, record.text),
            document=record.id,
            source=record.source,
            text=record.text,
            chunk_index=0,
            metadata=record.metadata,
            fingerprint=fingerprint(record.text, embedder_identity),
        )
        for record in records
        if record.text.strip()
    ]
