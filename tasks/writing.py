"""Tasks that change the store beside the batches' writes: stale-chunk deletes, pruning, dead letters."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.settings import Settings
from vectorsync.stores import DeadLetter, shared_store


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
