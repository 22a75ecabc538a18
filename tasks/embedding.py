"""Task: embed one batch of chunks, each distinct text once, reporting progress as the model works.

Nothing is cached or persisted by Prefect: the store's fingerprints are the record of what is embedded, so a
retried or re-run flow plans only what is not stored yet, and no copy of the vectors is left on disk.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from tasks.budget import spend_tokens
from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync import progress
from vectorsync.dedupe import embed_unique, memo_for
from vectorsync.embedders import shared_embedder
from vectorsync.embedding import EmbeddedBatch
from vectorsync.records import Chunk
from vectorsync.settings import Settings


@task(
    name="embed-batch",
    task_run_name="embed-batch-{number}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def embed_batch(chunks: list[Chunk], settings: Settings, number: int = 1) -> EmbeddedBatch:
    """Embed a batch with the process's shared model; chunks the model rejects become dead letters."""
    embedder = shared_embedder(settings)
    spend_tokens(settings, embedder, [chunk.text for chunk in chunks])
    batch = embed_unique(
        embedder,
        chunks,
        memo_for(str(flow_run.id)),
        batch_size=settings.batch_size,
        on_progress=lambda done: progress.advance("embedding", done),
        slice_size=4 * settings.batch_size,
    )
    get_run_logger().info(
        "embedded batch %d: %d chunks%s",
        number,
        len(batch.chunks),
        f", {len(batch.dead_letters)} dead-lettered" if batch.dead_letters else "",
    )
    return batch
