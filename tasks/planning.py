"""Task: chunk records with the model's tokenizer and compare them with what the store already holds."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.chunking import chunker_for
from vectorsync.embedders import shared_embedder
from vectorsync.planning import SyncPlan, plan_sync
from vectorsync.records import Chunk, Record
from vectorsync.settings import Settings
from vectorsync.stores import shared_store


@task(
    name="plan-chunks",
    task_run_name="plan-{label}",
    retries=2,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def plan_chunks(
    records: list[Record], settings: Settings, refresh: bool = False, label: str = "documents"
) -> tuple[list[Chunk], SyncPlan]:
    """All chunks of `records`, and the plan: which need embedding, which stored chunks went stale."""
    chunker = chunker_for(shared_embedder(settings), settings.chunk_tokens, settings.chunk_overlap)
    chunks = [chunk for record in records for chunk in chunker.chunk(record)]
    plan = plan_sync(chunks, shared_store(settings), refresh=refresh)
    get_run_logger().info(
        "%d chunks from %d records: %d to embed, %d unchanged, %d stale",
        len(chunks),
        len(records),
        len(plan.to_embed),
        plan.unchanged,
        len(plan.stale_ids),
    )
    return chunks, plan
