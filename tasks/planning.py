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
from vectorsync.stores.base import FingerprintSource


@task(
    name="plan-chunks",
    task_run_name="plan-{label}",
    retries=2,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def plan_chunks(
    records: list[Record],
    settings: Settings,
    refresh: bool = False,
    label: str = "documents",
    stored: FingerprintSource | None = None,
) -> tuple[list[Chunk], SyncPlan]:
    """All chunks of `records`, and the plan: which need embedding, which stored chunks went stale.

    `stored` is where fingerprints are looked up: the store's snapshot from the start of a streaming run,
    or the store itself.
    """
    chunker = chunker_for(shared_embedder(settings), settings.chunk_tokens, settings.chunk_overlap)
    chunks = chunker.chunk_many(records)
    plan = plan_sync(chunks, stored or shared_store(settings), refresh=refresh)
    get_run_logger().info(
        "%d chunks from %d records: %d to embed, %d unchanged, %d stale",
        len(chunks),
        len(records),
        len(plan.to_embed),
        plan.unchanged,
        len(plan.stale_ids),
    )
    return chunks, plan
