"""Task: prove the index answers, with one query whose top hits go to the log and a markdown artifact."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, retry_transient
from vectorsync.embedders import shared_embedder
from vectorsync.errors import TransientError
from vectorsync.records import Chunk, Hit
from vectorsync.search import search_text
from vectorsync.settings import Settings
from vectorsync.stores import shared_store


@task(
    name="smoke-test-query",
    task_run_name="smoke-test",
    retries=4,
    retry_delay_seconds=BACKOFF,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def smoke_test(settings: Settings, query: str | None, samples: list[Chunk], k: int = 3) -> list[Hit]:
    """Search the store for `query`; without one, `sample`'s stored vector must find `sample` first.

    The self-check reuses the stored vector, so a run with nothing to embed never loads the model.
    """
    store, sample = shared_store(settings), samples[0]
    if query:
        hits = search_text(store, shared_embedder(settings), query, k=k)
    else:
        vector = store.get_vector(sample.id)
        hits = store.search(vector, k=k) if vector is not None else []
        if not hits or hits[0].text != sample.text:
            # Atlas indexes new writes a moment later: a miss right after writing is worth a retry.
            raise TransientError(
                f"smoke test: stored chunk {sample.id} did not find itself first on {store.describe()}"
            )
    shown = query or sample.text
    top = f"{hits[0].score:.3f} {hits[0].source}" if hits else "no hits"
    get_run_logger().info("smoke test %r: top hit %s", shown[:60], top)
    create_markdown_artifact(markdown=hits_markdown(shown, hits), key="smoke-test", description="Smoke-test query")
    return hits


def hits_markdown(query: str, hits: list[Hit]) -> str:
    """A markdown table of hits for the Prefect UI."""
    lines = [f"### Query\n\n> {query}\n", "| rank | score | source | text |", "|---|---|---|---|"]
    for rank, hit in enumerate(hits, 1):
        snippet = hit.text[:160].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {rank} | {hit.score:.3f} | {hit.source.rsplit('/', 1)[-1]} | {snippet} |")
    return "\n".join(lines)
