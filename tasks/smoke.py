"""Task: prove the index answers, with a query or sampled chunks' own vectors; hits go to the log and an artifact.

An approximate index may miss a chunk now and then; that is reported as the ANN's self-recall, never as a failed run.
Only a store that answers nothing (or errors) fails the smoke test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, retry_transient
from vectorsync.display import display_sources, snippet
from vectorsync.embedders import shared_embedder
from vectorsync.errors import TransientError
from vectorsync.records import Chunk, Hit
from vectorsync.search import search_text
from vectorsync.settings import Settings
from vectorsync.stores import VectorStore, shared_store

# The self-check looks this deep: a chunk among near-duplicates may rank a few places down and still be found.
SELF_CHECK_DEPTH = 10


@dataclass
class SelfRecall:
    """How many sampled chunks found themselves among the top hits, by the ANN path and by exact search."""

    checked: int = 0
    found: int = 0
    found_exact: int = 0
    misses: list[str] = field(default_factory=list)
    first_hits: list[Hit] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.checked if self.checked else 1.0


def self_recall(store: VectorStore, samples: Sequence[Chunk], k: int = SELF_CHECK_DEPTH) -> SelfRecall:
    """Search each sample's stored vector; a sample counts as found when it (or a chunk of identical text) comes back.

    Raises TransientError when the store returns no hits at all: Atlas indexes new writes a moment later.
    """
    report = SelfRecall()
    for sample in samples:
        vector = store.get_vector(sample.id)
        if vector is None:
            raise TransientError(f"smoke test: chunk {sample.id} was written but {store.describe()} does not hold it")
        hits = store.search(vector, k=k)
        if not hits:
            raise TransientError(
                f"smoke test: the stored vector of chunk {sample.id} found nothing on {store.describe()}"
            )
        report.checked += 1
        report.first_hits = report.first_hits or hits
        if _finds(hits, sample):
            report.found += 1
            report.found_exact += 1
        else:
            report.misses.append(sample.id)
            report.found_exact += _finds(store.search(vector, k=k, exact=True), sample)
    return report


def _finds(hits: Sequence[Hit], sample: Chunk) -> bool:
    return any(hit.id == sample.id or hit.text == sample.text for hit in hits)


@task(
    name="smoke-test-query",
    task_run_name="smoke-test",
    retries=4,
    retry_delay_seconds=BACKOFF,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def smoke_test(settings: Settings, query: str | None, samples: list[Chunk], k: int = 3) -> list[Hit]:
    """Search the store for `query`; without one, each sample's stored vector must find its own chunk.

    The self-check reuses stored vectors, so a run with nothing to embed never loads the model. A miss by the ANN
    index is a warning with the self-recall figure: the data is complete, only the approximation missed.
    """
    store = shared_store(settings)
    logger = get_run_logger()
    notes = ""
    if query:
        hits = search_text(store, shared_embedder(settings), query, k=k)
        if not hits:
            raise TransientError(f"smoke test: query {query!r} found nothing on {store.describe()}")
    else:
        depth = max(k, SELF_CHECK_DEPTH)
        report = self_recall(store, samples, k=depth)
        hits = report.first_hits[:k]
        notes = (
            f"ANN self-recall@{depth}: {report.found}/{report.checked} sampled chunks found themselves "
            f"(exact search: {report.found_exact}/{report.checked})"
        )
        if report.misses:
            logger.warning("smoke test: %s; missed %s", notes, ", ".join(report.misses))
        else:
            logger.info("smoke test: %s", notes)
    shown = query or (samples[0].text if samples else "")
    top = f"{hits[0].score:.3f} {hits[0].source}" if hits else "no hits"
    logger.info("smoke test %r: top hit %s", snippet(shown, 60), top)
    markdown = hits_markdown(shown, hits) + (f"\n\n{notes}" if notes else "")
    create_markdown_artifact(markdown=markdown, key="smoke-test", description="Smoke-test query")
    return hits


def hits_markdown(query: str, hits: list[Hit], root: str | None = None) -> str:
    """A markdown table of hits for the Prefect UI; sources shown relative to `root` or to the hits' common folder."""
    lines = [
        f"### Query\n\n> {_escape(snippet(query, 400))}\n",
        "| rank | score | source | text |",
        "|---|---|---|---|",
    ]
    names = display_sources([hit.source for hit in hits], root)
    for rank, (hit, name) in enumerate(zip(hits, names, strict=True), 1):
        lines.append(f"| {rank} | {hit.score:.3f} | {_escape(name)} | {_escape(snippet(hit.text))} |")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
