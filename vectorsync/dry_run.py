"""`vectorsync run --dry-run`: what a run would embed and cost, proven by embedding a small sample.

Nothing is written; the store is only read to tell new chunks from unchanged ones.
"""

from __future__ import annotations

from typing import Any

from vectorsync.chunking import chunker_for
from vectorsync.embedders import build_embedder
from vectorsync.jobs import EmbedNewData
from vectorsync.migration import serving_settings
from vectorsync.planning import plan_sync
from vectorsync.pricing import cost_usd, price_per_million_tokens
from vectorsync.records import Record, Skip
from vectorsync.sources import load
from vectorsync.stores import open_store

SAMPLE_CHUNKS = 3


def estimate(job: EmbedNewData, sample_size: int = SAMPLE_CHUNKS) -> dict[str, Any]:
    """Documents, chunks, tokens and estimated cost of running `job`, after embedding `sample_size` chunks."""
    settings = serving_settings(job.settings())  # a migrated table plans against its own model
    embedder = build_embedder(settings)
    records: list[Record] = []
    skips: list[Skip] = []
    for item in load(job.path, job.load_options()):
        (skips if isinstance(item, Skip) else records).append(item)  # type: ignore[arg-type]
    chunker = chunker_for(embedder, settings.chunk_tokens, settings.chunk_overlap)
    chunks = [chunk for record in records for chunk in chunker.chunk(record)]
    with open_store(settings) as store:
        plan = plan_sync(chunks, store, refresh=job.refresh)
    tokens = sum(embedder.count_tokens(embedder.document_prompt + chunk.text) for chunk in plan.to_embed)
    sample = embedder.encode_documents([chunk.text for chunk in plan.to_embed[:sample_size]])
    counter = getattr(embedder, "token_counter", None)
    return {
        "documents": len(records),
        "chunks": len(chunks),
        "to_embed": len(plan.to_embed),
        "unchanged": plan.unchanged,
        "skipped": len(skips),
        "tokens": tokens,
        "tokens_exact": bool(getattr(counter, "exact", True)),
        "model": settings.model_name,
        "price_per_million_tokens_usd": price_per_million_tokens(settings.model_name),
        "estimated_cost_usd": cost_usd(settings.model_name, tokens) if settings.embedder == "openai" else 0.0,
        "sample_embedded": len(sample),
        "dimensions": int(sample.shape[1]) if len(sample) else embedder.dimensions,
        "target": settings.describe_store(),
    }
