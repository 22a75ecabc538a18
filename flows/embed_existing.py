"""Embed a text field of an existing MongoDB collection in place: check -> find stale -> embed -> write back -> index.

Every document whose text exists and whose vector is missing, or was made from other text or by another model, gets
a vector in `vector_field` (or, with long_text="chunk", chunks in `<collection>_chunks` that reference its `_id`).
Batches are written back as they go, so a run that crashed resumes with the documents still stale. Dimensions of the
model, the stored vectors and the index are compared before any work; the index is then ensured and smoke-tested.

Run it:  vectorsync embed-existing --database sample_airbnb --collection listingsAndReviews --text summary
   (or)  python -m flows.embed_existing sample_airbnb listingsAndReviews summary      (MONGODB_URI must be set)
"""

# No `from __future__ import annotations`: the runner pickles a served flow by value, and a string annotation
# (`job: EmbedNewData`) would not find its class in the pickled function's globals.

import sys
import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed

from tasks.existing import (
    check_existing_dimensions,
    embed_documents,
    ensure_existing_index,
    estimate_documents,
    existing_collection,
    find_stale_batch,
    smoke_test_existing,
    write_back_batch,
)
from tasks.inputs import as_is
from tasks.locking import exclusive_target
from tasks.naming import job_field
from tasks.reporting import BatchProgress, publish_summary
from vectorsync.embedders import shared_embedder
from vectorsync.jobs import EmbedExisting
from vectorsync.memory import steady_heap
from vectorsync.records import Hit
from vectorsync.summary import RunSummary

# The job a run gets when it names none (frozen, so one instance serves every run).
DEFAULT_JOB = EmbedExisting()


def run_name() -> str:
    """`embed-existing <database>.<collection>`, so the runs list says which collection each run embedded."""
    database, collection = job_field("database", DEFAULT_JOB.database), job_field("collection", DEFAULT_JOB.collection)
    return f"embed-existing {database}.{collection}"


@flow(
    name="embed-existing",
    flow_run_name=run_name,
    description="Embed a text field of a MongoDB collection in place, then index it.",
)
def embed_existing(job: EmbedExisting = DEFAULT_JOB) -> dict[str, Any]:
    """Give every document of `job.collection` that has text a current vector; returns the run summary as JSON.

    Besides the summary's keys, `smoke_hits` lists the smoke test's hits.
    """
    settings = job.settings()
    logger = get_run_logger()
    started = time.perf_counter()
    summary = RunSummary(target=existing_collection(job).describe(), model=settings.model_name)
    logger.info("embedding %s of %s.%s into %s", job.text, job.database, job.collection, summary.target)

    hits: list[Hit] = []
    loaded_before = shared_embedder(settings).loaded
    with exclusive_target(summary.target, settings.data_dir / "locks"), steady_heap() as heap:
        check_existing_dimensions(job)
        # One pass reads each document's text once: the counts come from it, the total only estimates progress.
        bar = BatchProgress(estimate_documents(job), label="documents read", tasks_report=False)
        after, number = None, 1
        while True:
            found = find_stale_batch(job, after, number)
            summary.documents += found.scanned
            summary.unchanged += found.scanned - len(found.records)
            if found.records:
                embedded = embed_documents(as_is(found.records), job, number)
                written = write_back_batch(embedded, as_is(found.records), job, number)
                summary.embedded += written.documents
                summary.chunks += written.vectors
                summary.deleted += written.deleted
                summary.dead_letters.extend(embedded.dead_letters)
            bar.advance(found.scanned)
            heap.window_done()  # the batch's documents and vectors are gone: keep RSS flat
            if found.done:
                break
            after, number = found.records[-1].metadata["_id"], number + 1

        if summary.documents:
            summary.index_state = ensure_existing_index(job).state
            hits = smoke_test_existing(job)
        else:
            logger.warning(
                "no document of %s.%s has text in %r: nothing to embed or index; check the database, collection "
                "and text",
                job.database,
                job.collection,
                job.text,
            )

    summary.dead_lettered = len(summary.dead_letters)
    summary.model_loaded = shared_embedder(settings).loaded and not loaded_before
    summary.seconds = time.perf_counter() - started
    publish_summary(summary)
    smoke_hits = [{"id": hit.id, "score": round(hit.score, 4), "text": hit.text[:200]} for hit in hits]
    name = "Completed" if summary.clean else "Completed with skips"
    # Prefect hands the caller the state's data: the summary.
    return Completed(  # type: ignore[return-value]
        message=summary.headline(), name=name, data={**summary.as_json(), "smoke_hits": smoke_hits}
    )


if __name__ == "__main__":
    embed_existing(EmbedExisting(**dict(zip(("database", "collection", "text"), sys.argv[1:], strict=False))))
