"""Task: embed one batch of chunks, each distinct text once, and write it to the store.

One task per batch, not an embed task and a write task: a write handed its embedding as a future held a worker
thread while it waited, and every task run costs the Prefect server bookkeeping of its own. A retry re-embeds
nothing the run's vector memo still holds, so a write that failed does not pay for the model twice.

Nothing is cached or persisted by Prefect: the store's fingerprints are the record of what is embedded, so a
retried or re-run flow plans only what is not stored yet, and no copy of the vectors is left on disk.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run, task_run

from tasks.budget import spend_tokens
from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync import progress
from vectorsync.dedupe import embed_unique, memo_for
from vectorsync.embedders import shared_embedder
from vectorsync.embedding import EmbeddedBatch
from vectorsync.records import Chunk
from vectorsync.settings import Settings
from vectorsync.stores import DeadLetter, VectorStore, shared_store


class WrittenBatch:
    """What one batch did: chunks embedded, chunks written, chunks the embedder refused.

    A plain class, not a dataclass: Prefect walks a dataclass's fields when it is handed on.
    """

    __slots__ = ("dead_letters", "embedded", "written")

    def __init__(self, embedded: int, written: int, dead_letters: list[DeadLetter]) -> None:
        self.embedded = embedded
        self.written = written
        self.dead_letters = dead_letters


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
def embed_batch(
    chunks: list[Chunk], settings: Settings, stored: frozenset[str] = frozenset(), number: int = 1
) -> WrittenBatch:
    """Embed a batch with the process's shared model, then write it keyed by chunk id.

    Chunks the model rejects become dead letters. `stored` names the chunks already in the store (a refresh,
    a new model): they are written over, the others appended.
    """
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
    written = write_embedded(batch, shared_store(settings), embedder.identity, stored, retry=task_run.run_count > 1)
    get_run_logger().info(
        "embedded batch %d: %d chunks%s",
        number,
        len(batch.chunks),
        f", {len(batch.dead_letters)} dead-lettered" if batch.dead_letters else "",
    )
    return WrittenBatch(len(batch.chunks), written, batch.dead_letters)


def write_embedded(batch: EmbeddedBatch, store: VectorStore, model: str, stored: frozenset[str], retry: bool) -> int:
    """Write a batch's chunks and vectors (embedded by `model`) keyed by chunk id, so a repeated write changes nothing.

    Chunks not in `stored` are appended on a first attempt; `stored` ids, and every chunk of a retry (whose
    first attempt may have half-landed), are upserted.
    """
    new = [] if retry else [i for i, chunk in enumerate(batch.chunks) if chunk.id not in stored]
    old = sorted(set(range(len(batch.chunks))) - set(new))
    written = 0
    for rows, append in ((new, True), (old, False)):
        if rows:
            written += store.upsert([batch.chunks[i] for i in rows], batch.vectors[rows], model, new=append)
    return written
