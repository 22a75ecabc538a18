"""Embed new files into the vector store: load -> chunk -> embed -> write -> ensure index -> smoke test.

Only chunks whose fingerprint is not stored yet are embedded, so re-runs cost what changed.

Run it:  vectorsync run examples/docs      (or)      python -m flows.embed_new_data examples/docs
"""

from __future__ import annotations

import sys
import time

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.embedding import embed_batch
from tasks.indexing import check_target_dimensions, ensure_vector_index
from tasks.loading import load_documents
from tasks.locking import exclusive_target
from tasks.planning import plan_chunks
from tasks.reporting import BatchProgress, publish_summary
from tasks.secrets import with_secret_blocks
from tasks.smoke import smoke_test
from tasks.writing import delete_stale_chunks, prune_documents, record_dead_letters, write_batch
from vectorsync.embedders import shared_embedder
from vectorsync.errors import IncompleteRun
from vectorsync.jobs import EmbedNewData
from vectorsync.planning import batches, covered_prefix, documents_to_prune
from vectorsync.stores import DeadLetter, shared_store
from vectorsync.summary import RunSummary


@flow(
    name="embed-new-data",
    description="Embed new files into the vector store, then index and smoke-test it.",
    # Two threads: one batch embeds while the one before it is written. Under a DaskTaskRunner the
    # batches spread over the cluster's workers instead (docs/deployments.md, "Scale out").
    task_runner=ThreadPoolTaskRunner(max_workers=2),  # type: ignore[arg-type]  # Prefect's runner generic is invariant
)
def embed_new_data(job: EmbedNewData | None = None) -> dict:
    """Bring the store in line with the files under `job.path`; returns the run summary as JSON."""
    job = job or EmbedNewData()
    settings = with_secret_blocks(job.settings())
    logger = get_run_logger()
    started = time.perf_counter()
    summary = RunSummary(target=settings.describe_store(), model=settings.model_name)
    logger.info("embedding %s into %s with %s", job.path, summary.target, summary.model)

    loaded_before = shared_embedder(settings).loaded
    with exclusive_target(summary.target, settings.data_dir / "locks"):
        check_target_dimensions(settings, allow_index_rebuild=job.update_index)
        loaded = load_documents(job.path, job.load_options())
        chunks, plan = plan_chunks(loaded.records, settings, refresh=job.refresh)
        summary.skips, summary.documents, summary.chunks = loaded.skips, len(loaded.records), len(chunks)
        summary.unchanged = plan.unchanged

        work = batches(plan.to_embed, settings.task_batch_size)
        bar = BatchProgress(len(plan.to_embed))
        embedding, writes = [], []
        for number, batch in enumerate(work, 1):
            embedding.append(embed_batch.submit(batch, settings, number, len(work)))
            # The future itself goes in: Prefect hands the write its result, on whichever worker runs it.
            writes.append(write_batch.submit(embedding[-1], settings, number, len(work)))  # type: ignore[call-overload]
        for batch, embedded in zip(work, embedding, strict=True):
            summary.dead_letters.extend(embedded.result().dead_letters)
            bar.advance(len(batch))
        summary.embedded = sum(write.result() for write in writes)

        summary.deleted = delete_stale_chunks(plan.stale_ids, settings)
        if job.prune:
            stored = shared_store(settings).documents()
            gone = documents_to_prune(
                stored,
                {r.id for r in loaded.records},
                covered_prefix(job.path),
                keep_sources={s.source for s in loaded.skips},
            )
            summary.deleted += prune_documents(gone, settings)
            summary.pruned_documents = len(gone)
        problem_sources = {s.source for s in loaded.skips} | {d.source for d in summary.dead_letters}
        letters = [DeadLetter(s.source, s.reason, s.location) for s in loaded.skips] + summary.dead_letters
        record_dead_letters(letters, sorted(set(loaded.files) - problem_sources), settings)

        summary.index_state = ensure_vector_index(settings, update=job.update_index).state
        rejected = {letter.document for letter in summary.dead_letters}
        written = [c for c in chunks if c.document not in rejected]
        if written:
            summary.smoke_query = job.query or written[0].text
            summary.smoke_hits = smoke_test(settings, job.query, [written[0]], k=job.top_k)

    summary.dead_lettered = len(summary.dead_letters)
    summary.model_loaded = shared_embedder(settings).loaded and not loaded_before
    summary.seconds = time.perf_counter() - started
    summary.completed = not (job.strict and (summary.skips or summary.dead_letters))
    publish_summary(summary)
    if not summary.completed:
        raise IncompleteRun(
            f"--strict: {len(summary.skips)} inputs skipped and {summary.dead_lettered} dead-lettered under {job.path}",
            summary.as_json(),
        )
    return summary.as_json()


if __name__ == "__main__":
    embed_new_data(EmbedNewData(path=sys.argv[1] if len(sys.argv) > 1 else "examples/docs"))
