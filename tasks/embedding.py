"""Task: embed one batch of chunks, cached by the chunks' fingerprints so a retried run never pays twice."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import TASK_SOURCE, CacheKeyFnPolicy

from tasks.budget import spend_tokens
from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.embedders import shared_embedder
from vectorsync.embedding import EmbeddedBatch, embed_chunks
from vectorsync.records import Chunk
from vectorsync.settings import Settings


def fingerprint_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key: each chunk's id and fingerprint (its text hashed with the embedder's identity).

    The ids are part of the key because the cached batch carries the chunks themselves; settings and
    clients are left out on purpose: they do not change what the key stands for.
    """
    digest = hashlib.sha256()
    for chunk in parameters["chunks"]:
        digest.update(f"{chunk.id}:{chunk.fingerprint};".encode())
    return digest.hexdigest()


@task(
    name="embed-batch",
    task_run_name="embed-batch-{number}-of-{total}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=CacheKeyFnPolicy(cache_key_fn=fingerprint_key) + TASK_SOURCE,
    cache_expiration=timedelta(days=1),
    persist_result=True,
)
def embed_batch(chunks: list[Chunk], settings: Settings, number: int = 1, total: int = 1) -> EmbeddedBatch:
    """Embed a batch with the process's shared model; chunks the model rejects become dead letters."""
    embedder = shared_embedder(settings)
    spend_tokens(settings, embedder, [chunk.text for chunk in chunks])
    batch = embed_chunks(embedder, chunks, batch_size=settings.batch_size)
    get_run_logger().info(
        "embedded batch %d of %d: %d chunks%s",
        number,
        total,
        len(batch.chunks),
        f", {len(batch.dead_letters)} dead-lettered" if batch.dead_letters else "",
    )
    return batch
