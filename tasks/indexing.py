"""Tasks around the vector index: check dimensions before work starts, ensure the index after writes."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.consistency import check_dimensions
from vectorsync.embedders import shared_embedder
from vectorsync.settings import Settings
from vectorsync.stores import IndexSpec, IndexStatus, shared_store
from vectorsync.stores.mongodb import MongoStore


def index_spec(settings: Settings) -> IndexSpec:
    """The index the settings ask for, with the dimensions read from the model."""
    return IndexSpec(
        name=settings.index_name,
        dimensions=shared_embedder(settings).dimensions,
        similarity=settings.similarity,
        filter_fields=tuple(settings.filter_fields),
    )


@task(
    name="check-dimensions",
    task_run_name="check-dimensions",
    retries=2,
    retry_delay_seconds=BACKOFF,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def check_target_dimensions(settings: Settings, allow_index_rebuild: bool = False) -> int:
    """Stop before any work when model, index and stored vectors disagree on dimensions.

    With `allow_index_rebuild` a mismatched index is let through: the run rebuilds it at the end.
    """
    embedder = shared_embedder(settings)
    index = None if allow_index_rebuild else settings.index_name
    check_dimensions(embedder.model_id, embedder.dimensions, shared_store(settings), index)
    return embedder.dimensions


@task(
    name="ensure-vector-index",
    task_run_name="ensure-index-{settings.index_name}",
    retries=3,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def ensure_vector_index(settings: Settings, update: bool = False) -> IndexStatus:
    """Create or update the vector index and wait until it is queryable.

    A MongoDB index with another definition stops the run unless `update` allows its rebuild; the embedded
    store always takes the definition it is given.
    """
    store, spec = shared_store(settings), index_spec(settings)
    if isinstance(store, MongoStore):
        model = shared_embedder(settings).model_id
        status = store.ensure_index(spec, timeout_s=settings.index_timeout_s, update=update, model=model)
    else:
        status = store.ensure_index(spec, timeout_s=settings.index_timeout_s)
    get_run_logger().info("index %s is %s (%s dimensions)", status.name, status.state, status.dimensions)
    return status
