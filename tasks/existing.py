"""Tasks of the embed-existing flow: find stale documents, embed them, write the vectors back, index, smoke-test.

No task caches: the vectors written into the documents are the cache, so a resumed run sees only what is still stale.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.indexing import index_spec
from tasks.retrying import BACKOFF, JITTER, retry_transient
from tasks.smoke import hits_markdown
from vectorsync.chunking import chunker_for
from vectorsync.embedders import shared_embedder
from vectorsync.embedding import EmbeddedBatch
from vectorsync.errors import ConfigError
from vectorsync.existing import ExistingCollection, Written
from vectorsync.jobs import EmbedExisting
from vectorsync.records import Hit, Record
from vectorsync.sources.mongodb import StaleBatch, chunk_store
from vectorsync.stores import IndexStatus
from vectorsync.stores.mongodb import MongoStore

_open: dict[str, ExistingCollection] = {}


def existing_collection(job: EmbedExisting) -> ExistingCollection:
    """The job's collection, opened once per process per job and settings, so every task reuses one connection."""
    settings = job.settings()
    if settings.mongodb_uri is None:
        raise ConfigError("MONGODB_URI is not set: embed-existing reads and writes a MongoDB collection")
    key = f"{job.model_dump_json()}|{settings.model_dump_json()}|{settings.mongodb_uri.get_secret_value()}"
    if key not in _open:
        source = MongoStore(
            settings.mongodb_uri,
            job.database,
            job.collection,
            vector_field=job.vector_field,
            vector_format=settings.vector_format,
            int8_scheme=settings.int8_scheme,
            index_name=settings.index_name,
        )
        chunked, embedder = job.long_text == "chunk", shared_embedder(settings)
        _open[key] = ExistingCollection(
            source=source,
            target=chunk_store(source) if chunked else source,
            text=job.text_spec(),
            embedder=embedder,
            spec=index_spec(settings),
            chunker=chunker_for(embedder, settings.chunk_tokens, settings.chunk_overlap) if chunked else None,
        )
    return _open[key]


@task(
    name="check-dimensions",
    task_run_name="check-dimensions-{job.collection}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def check_existing_dimensions(job: EmbedExisting) -> list[str]:
    """Stop before any work when the model, the stored vectors and the index disagree on dimensions."""
    differences = existing_collection(job).check_dimensions(update=job.update_index)
    if differences:
        get_run_logger().warning("the index differs (%s): it is rebuilt after the writes", "; ".join(differences))
    return differences


@task(
    name="estimate-documents",
    task_run_name="estimate-{job.collection}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def estimate_documents(job: EmbedExisting) -> int:
    """About how many documents the collection holds, from its metadata (the progress total); none is read."""
    estimate = existing_collection(job).estimated_documents()
    get_run_logger().info("%s.%s holds about %d documents", job.database, job.collection, estimate)
    return estimate


@task(
    name="find-stale-documents",
    task_run_name="find-stale-{number}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def find_stale_batch(job: EmbedExisting, after: Any, number: int = 1) -> StaleBatch:
    """The next batch of documents past `_id` `after` whose vector is missing or stale, with how many were read."""
    return existing_collection(job).stale_batch(after, job.documents_per_batch)


@task(
    name="embed-documents",
    task_run_name="embed-batch-{number}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def embed_documents(records: list[Record], job: EmbedExisting, number: int = 1) -> EmbeddedBatch:
    """Embed a batch with the process's shared model; what the model rejects becomes a dead letter."""
    batch = existing_collection(job).embed(records, batch_size=job.settings().batch_size)
    get_run_logger().info(
        "embedded batch %d: %d documents, %d vectors%s",
        number,
        len(records),
        len(batch.chunks),
        f", {len(batch.dead_letters)} dead-lettered" if batch.dead_letters else "",
    )
    return batch


@task(
    name="write-back",
    task_run_name="write-back-{number}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def write_back_batch(batch: EmbeddedBatch, records: list[Record], job: EmbedExisting, number: int = 1) -> Written:
    """Write the vectors into the documents (or their chunks beside them) and mark the documents embedded."""
    return existing_collection(job).write(batch, records)


@task(
    name="ensure-vector-index",
    task_run_name="ensure-index-{job.collection}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def ensure_existing_index(job: EmbedExisting) -> IndexStatus:
    """Create the index on the vector field (rebuilt when `update_index`), and wait until it is queryable."""
    status = existing_collection(job).ensure_index(update=job.update_index, timeout_s=job.settings().index_timeout_s)
    logger = get_run_logger()
    logger.info("index %s is %s (%s dimensions)", status.name, status.state, status.dimensions)
    if status.state == "STALE":
        logger.warning("index %s is STALE: it serves, but searches may miss writes it has not replicated", status.name)
    return status


@task(
    name="smoke-test-query",
    task_run_name="smoke-test-{job.collection}",
    retries=4,
    retry_delay_seconds=BACKOFF,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def smoke_test_existing(job: EmbedExisting) -> list[Hit]:
    """Query the index: `job.query` must get hits; without one, a stored vector must find its own document."""
    hits = existing_collection(job).smoke_test(job.query, job.top_k)
    shown = job.query or (f"the stored vector of {hits[0].id}" if hits else "nothing stored yet")
    top = f"{hits[0].score:.3f} {hits[0].document}" if hits else "no hits"
    get_run_logger().info("smoke test %r: top hit %s", shown[:60], top)
    create_markdown_artifact(markdown=hits_markdown(shown, hits), key="smoke-test", description="Smoke-test query")
    return hits
