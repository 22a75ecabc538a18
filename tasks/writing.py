"""Tasks that change the store: idempotent upserts, stale-chunk deletes, pruning, dead letters."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run

from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.embedders import shared_embedder
from vectorsync.embedding import EmbeddedBatch
from vectorsync.settings import Settings
from vectorsync.stores import DeadLetter, shared_store


@task(
    name="write-batch",
    task_run_name="write-batch-{number}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def write_batch(batch: EmbeddedBatch, settings: Settings, stored: frozenset[str] = frozenset(), number: int = 1) -> int:
    """Write a batch's chunks and vectors keyed by chunk id, so a repeated write changes nothing.

    Chunks the plan found unstored are appended on the first attempt; `stored` ids, and every chunk of a
    retry (whose first attempt may have half-landed), are upserted.
    """
    store, model = shared_store(settings), shared_embedder(settings).identity
    new = [] if task_run.run_count > 1 else [i for i, chunk in enumerate(batch.chunks) if chunk.id not in stored]
    old = sorted(set(range(len(batch.chunks))) - set(new))
    written = 0
    for rows, append in ((new, True), (old, False)):
        if rows:
            written += store.upsert([batch.chunks[i] for i in rows], batch.vectors[rows], model, new=append)
    get_run_logger().debug("wrote batch %d: %d chunks", number, written)
    return written


@task(
    name="delete-stale-chunks",
    task_run_name="delete-stale-chunks",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def delete_stale_chunks(ids: list[str], settings: Settings) -> int:
    """Remove chunks of changed documents that the new version no longer has."""
    removed = shared_store(settings).delete_chunks(ids) if ids else 0
    if removed:
        get_run_logger().info("deleted %d stale chunks", removed)
    return removed


@task(
    name="prune-documents",
    task_run_name="prune-documents",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def prune_documents(documents: list[str], settings: Settings) -> int:
    """Remove every chunk of documents that disappeared from the source (sync mode)."""
    removed = shared_store(settings).delete_documents(documents) if documents else 0
    get_run_logger().info("pruned %d documents (%d chunks)", len(documents), removed)
    return removed


@task(
    name="record-dead-letters",
    task_run_name="record-dead-letters",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def record_dead_letters(letters: list[DeadLetter], clean_sources: list[str], settings: Settings) -> None:
    """Keep this run's dead letters next to the vectors and forget those of sources that now went through."""
    store = shared_store(settings)
    store.clear_dead_letters(clean_sources)
    store.add_dead_letters(letters)
