"""The smoke test: the index must answer; a chunk the approximation misses is a warning, an empty answer a failure."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.smoke import hits_markdown, self_recall, smoke_test
from vectorsync.display import display_sources, snippet
from vectorsync.errors import TransientError
from vectorsync.records import Chunk, Hit, chunk_id
from vectorsync.settings import Settings
from vectorsync.stores import register_store
from vectorsync.stores.base import IndexSpec
from vectorsync.stores.lance import LanceStore


def chunks_with(texts: list[str]) -> list[Chunk]:
    return [
        Chunk(chunk_id("doc", i, t), f"doc{i}", f"/data/doc{i}.md", t, 0, {}, f"fp{i}") for i, t in enumerate(texts)
    ]


def unit_vectors(n: int, dims: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def tied_store(data_dir) -> tuple[Settings, LanceStore, list[Chunk]]:
    """2,000 distinct rows above the ANN threshold, then 100 rows of different texts sharing one vector.

    Ties that deep push most of the 100 out of any top 10, exactly as well as approximately: a miss that is no fault
    of the data.
    """
    settings = Settings()
    store = LanceStore(settings.data_dir / "lancedb", exact_max_rows=1_000)
    distinct = unit_vectors(2_000, seed=1)
    tied = np.repeat(unit_vectors(1, seed=2), 100, axis=0)
    chunks = chunks_with([f"row {i}" for i in range(2_100)])
    store.upsert(chunks, np.vstack([distinct, tied]), "m")
    store.ensure_index(IndexSpec("vector_index", 32))
    register_store(settings, store)
    return settings, store, chunks


def test_self_recall_counts_a_chunk_found_among_the_top_hits(tied_store):
    _, store, chunks = tied_store
    report = self_recall(store, chunks[:2_000:200], k=10)
    assert report.checked == report.found == report.found_exact == 10 and report.recall == 1.0


def test_self_recall_reports_a_miss_without_raising(tied_store):
    _, store, chunks = tied_store
    report = self_recall(store, chunks[-5:], k=10)
    assert report.checked == 5 and report.found < 5 and report.misses and report.first_hits


@pytest.mark.usefixtures("prefect_harness")
def test_smoke_test_passes_when_the_index_misses_a_sampled_chunk(tied_store):
    settings, _, chunks = tied_store
    hits = smoke_test(settings, None, [chunks[0], *chunks[-5:]], k=3)
    assert len(hits) == 3 and hits[0].id == chunks[0].id


@pytest.mark.usefixtures("prefect_harness")
def test_smoke_test_fails_when_the_store_answers_nothing(tied_store):
    settings, store, chunks = tied_store
    store.delete_documents({c.document for c in chunks})
    with pytest.raises(TransientError, match="does not hold it"):
        smoke_test.with_options(retries=0)(settings, None, chunks[:3], k=3)


def test_an_empty_answer_is_a_transient_error_worth_a_retry(data_dir):
    store = LanceStore(data_dir / "lancedb")
    chunks = chunks_with(["only row"])
    store.upsert(chunks, unit_vectors(1), "m")
    store.ensure_index(IndexSpec("vector_index", 32, filter_fields=("source",)))
    empty = _NoHits(store.path)
    with pytest.raises(TransientError, match="found nothing"):
        self_recall(empty, chunks, k=10)


class _NoHits(LanceStore):
    """A real store whose searches come back empty, as Atlas answers right after a write."""

    def search(self, vector, k=5, filter=None, num_candidates=None, exact=False):  # type: ignore[no-untyped-def]
        return []


def test_snippets_end_at_a_word_boundary_on_one_line():
    text = "Honey bees\n\nlive in colonies " + "with workers and drones " * 20
    cut = snippet(text)
    assert cut.endswith("…") and "\n" not in cut and len(cut) <= 161
    assert text.replace("\n\n", " ").startswith(cut[:-1])
    assert snippet("short text") == "short text"


def test_sources_that_share_a_file_name_stay_distinguishable():
    shown = display_sources(["/corpus/farm/beekeeping.md", "/corpus/city/beekeeping.md", "db.collection"])
    assert shown == ["farm/beekeeping.md", "city/beekeeping.md", "db.collection"]
    assert display_sources(["/home/me/docs/bees.txt"]) == ["docs/bees.txt"]


def test_hits_markdown_flattens_the_query_and_escapes_pipes():
    hit = Hit("1", 0.9, "a | b", "/corpus/farm/beekeeping.md", "d", 0, {})
    markdown = hits_markdown("first line\n\nsecond line", [hit])
    assert "> first line second line" in markdown and "a \\| b" in markdown and "beekeeping.md" in markdown
