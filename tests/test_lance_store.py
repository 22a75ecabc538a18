"""The embedded LanceDB store on disk: idempotent upserts, deletes, index, search with filters, dead letters."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vectorsync.errors import DimensionMismatch, FilterError
from vectorsync.records import Chunk, chunk_id
from vectorsync.stores.base import DeadLetter, IndexSpec
from vectorsync.stores.lance import LanceStore, search_effort


def make_chunks(n: int, document: str = "doc", kind: str = "md") -> list[Chunk]:
    texts = [f"{document} chunk {i}" for i in range(n)]
    return [
        Chunk(chunk_id(document, i, t), document, f"/data/{document}.{kind}", t, i, {"type": kind, "n": i}, f"fp-{t}")
        for i, t in enumerate(texts)
    ]


def unit_vectors(n: int, dims: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path) -> LanceStore:
    return LanceStore(tmp_path / "lancedb", filter_fields=["source", "metadata.type"])


def test_upsert_twice_keeps_one_copy(store):
    chunks, vectors = make_chunks(5), unit_vectors(5)
    store.upsert(chunks, vectors, "m")
    store.upsert(chunks, vectors, "m")
    assert store.count() == 5
    assert store.fingerprints(["doc"]) == {c.id: c.fingerprint for c in chunks}


def test_store_survives_reopening_from_disk(store, tmp_path):
    store.upsert(make_chunks(3), unit_vectors(3), "m")
    again = LanceStore(tmp_path / "lancedb")
    assert again.count() == 3 and again.stored_dimensions() == 8 and again.stored_models() == {"m"}


def test_search_finds_the_nearest_vector_first(store):
    chunks, vectors = make_chunks(20), unit_vectors(20)
    store.upsert(chunks, vectors, "m")
    store.ensure_index(IndexSpec("vector_index", 8, filter_fields=("source", "metadata.type")))
    hits = store.search(vectors[7], k=3)
    assert hits[0].id == chunks[7].id and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].metadata == {"type": "md", "n": 7} and hits[0].document == "doc"
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_filter_narrows_results_to_matching_chunks(store):
    store.upsert(make_chunks(5, "a", "md") + make_chunks(5, "b", "txt"), unit_vectors(10), "m")
    store.ensure_index(IndexSpec("vector_index", 8, filter_fields=("source", "metadata.type")))
    hits = store.search(unit_vectors(1, seed=3)[0], k=10, filter={"metadata.type": "txt"})
    assert len(hits) == 5 and {h.document for h in hits} == {"b"}


def test_filter_on_a_field_outside_the_index_is_rejected(store):
    store.upsert(make_chunks(2), unit_vectors(2), "m")
    store.ensure_index(IndexSpec("vector_index", 8, filter_fields=("source",)))
    with pytest.raises(FilterError, match=r"metadata\.type"):
        store.search(unit_vectors(1)[0], filter={"metadata.type": "md"})


def test_delete_by_chunk_and_by_document(store):
    store.upsert(make_chunks(4, "a") + make_chunks(3, "b"), unit_vectors(7), "m")
    assert store.delete_chunks([make_chunks(4, "a")[0].id]) == 1
    assert store.delete_documents(["b"]) == 3
    assert store.count() == 3 and set(store.documents()) == {"a"}


def test_other_dimensions_are_refused(store):
    store.upsert(make_chunks(2), unit_vectors(2, dims=8), "m")
    with pytest.raises(DimensionMismatch, match="8-dimension"):
        store.upsert(make_chunks(2, "x"), unit_vectors(2, dims=16), "other")
    with pytest.raises(DimensionMismatch):
        store.ensure_index(IndexSpec("vector_index", 16))


def test_index_status_reports_absent_then_ready(store):
    assert store.index_status("vector_index").state == "ABSENT"
    store.upsert(make_chunks(3), unit_vectors(3), "m")
    status = store.ensure_index(IndexSpec("vector_index", 8))
    assert status.queryable and status.dimensions == 8


def test_small_tables_are_searched_exactly_without_an_ann_index(store):
    store.upsert(make_chunks(50), unit_vectors(50), "m")
    status = store.ensure_index(IndexSpec("vector_index", 8))
    assert status.queryable and status.definition["ann"] is False


def test_ann_index_is_built_above_the_exact_threshold_and_agrees_with_exact_search(tmp_path):
    store = LanceStore(tmp_path / "lancedb", exact_max_rows=500)
    n = 1_200
    vectors = unit_vectors(n, dims=16, seed=1)
    store.upsert(make_chunks(n), vectors, "m")
    status = store.ensure_index(IndexSpec("vector_index", 16))
    assert status.definition["ann"] is True and status.queryable
    query = vectors[42]
    assert store.search(query, k=1)[0].id == store.search(query, k=1, exact=True)[0].id


def test_a_hit_scores_the_same_whichever_path_found_it(tmp_path):
    store = LanceStore(tmp_path / "lancedb", exact_max_rows=1_000)
    vectors = unit_vectors(3_000, dims=64, seed=2)
    store.upsert(make_chunks(3_000), vectors, "m")
    assert store.ensure_index(IndexSpec("vector_index", 64)).definition["ann"] is True
    for query in unit_vectors(10, dims=64, seed=3):
        ann = {h.id: h.score for h in store.search(query, k=10)}
        exact = {h.id: h.score for h in store.search(query, k=10, exact=True)}
        shared = set(ann) & set(exact)
        assert shared and all(abs(ann[i] - exact[i]) < 0.001 for i in shared)


def test_a_short_distinct_document_among_near_identical_rows_is_found_first(tmp_path):
    store = LanceStore(tmp_path / "lancedb", exact_max_rows=1_000)
    bulk = unit_vectors(1, dims=64, seed=4)[0] + 0.05 * unit_vectors(4_000, dims=64, seed=5)
    distinct = unit_vectors(1, dims=64, seed=6)
    vectors = np.vstack([bulk / np.linalg.norm(bulk, axis=1, keepdims=True), distinct]).astype(np.float32)
    chunks = make_chunks(len(vectors))
    store.upsert(chunks, vectors, "m")
    store.ensure_index(IndexSpec("vector_index", 64))
    query = distinct[0] + 0.5 * unit_vectors(1, dims=64, seed=7)[0]
    hits = store.search(query / np.linalg.norm(query), k=10)
    assert hits[0].id == chunks[-1].id
    assert hits[0].score == pytest.approx(
        store.search(query / np.linalg.norm(query), k=1, exact=True)[0].score, abs=1e-3
    )


def test_ann_effort_follows_the_table_size_and_candidates():
    small, large = search_effort(40_000, 200, k=10), search_effort(1_000_000, 1_000, k=10)
    assert small.candidates == large.candidates == 200 and small.refine_factor >= 1
    assert small.nprobes <= 200 and large.nprobes >= 50
    assert search_effort(1_000_000, 1_000, k=10, num_candidates=5_000).nprobes > large.nprobes
    assert search_effort(1_000_000, 1_000, k=10, num_candidates=50_000).candidates == 10_000


def test_dead_letters_are_kept_replaced_and_cleared(store):
    store.add_dead_letters([DeadLetter("/d/a.jsonl", "bad json", "line 3"), DeadLetter("/d/b.txt", "binary")])
    store.add_dead_letters([DeadLetter("/d/a.jsonl", "still bad json", "line 3")])
    letters = {(d.source, d.location): d.reason for d in store.dead_letters()}
    assert letters == {("/d/a.jsonl", "line 3"): "still bad json", ("/d/b.txt", None): "binary"}
    store.clear_dead_letters(["/d/a.jsonl"])
    assert [d.source for d in store.dead_letters()] == ["/d/b.txt"]


def test_quotes_in_document_ids_are_safe(store):
    chunks = make_chunks(2, "it's")
    store.upsert(chunks, unit_vectors(2), "m")
    assert set(store.fingerprints(["it's"])) == {c.id for c in chunks}
    assert store.delete_documents(["it's"]) == 2


def test_concurrent_first_writes_to_a_new_table_lose_nothing(tmp_path):
    stores = [LanceStore(tmp_path / "lancedb") for _ in range(3)]
    start = threading.Barrier(len(stores))

    def write(n: int) -> None:
        start.wait()
        stores[n].upsert(make_chunks(10, f"doc{n}"), unit_vectors(10, seed=n), "m")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert LanceStore(tmp_path / "lancedb").count() == 30


def test_an_older_quantised_index_is_rescored_then_replaced(tmp_path):
    """IVF_HNSW_SQ (the index earlier releases built) clips vectors unlike the bulk; the refine step re-scores them."""
    from lancedb.index import HnswSq

    store = LanceStore(tmp_path / "lancedb", exact_max_rows=1_000)
    rng = np.random.default_rng(0)
    bulk = rng.standard_normal(384) + 0.15 * rng.standard_normal((3_000, 384))
    vectors = np.vstack([bulk, rng.standard_normal((6, 384))]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = make_chunks(len(vectors))
    store.upsert(chunks, vectors, "m")
    store.ensure_index(IndexSpec("vector_index", 384))
    store._table().create_index("vector", config=HnswSq(distance_type="cosine"), name="vector_index_ann")
    for row in range(3_000, 3_006):
        query = vectors[row] + 0.05 * rng.standard_normal(384).astype(np.float32)
        ann, exact = store.search(query, k=1)[0], store.search(query, k=1, exact=True)[0]
        assert ann.id == exact.id == chunks[row].id and ann.score == pytest.approx(exact.score, abs=1e-3)
    store.ensure_index(IndexSpec("vector_index", 384))
    assert [ix.index_type for ix in store._table().list_indices()] == ["IvfFlat"]


def test_a_snapshot_answers_as_of_its_making_and_travels_to_other_processes(store):
    import pickle

    store.upsert(make_chunks(2, "old"), unit_vectors(2), "m")
    snapshot = store.snapshot()
    store.upsert(make_chunks(3, "new"), unit_vectors(3, seed=1), "m", new=True)
    assert len(store.fingerprints(["old", "new"])) == 5, "the live store sees the appended chunks"
    assert len(snapshot.fingerprints(["old", "new"])) == 2, "the snapshot reads the table as it was"
    assert pickle.loads(pickle.dumps(snapshot)).fingerprints(["old", "new"]) == snapshot.fingerprints(["old", "new"])


def test_a_snapshot_of_an_empty_store_finds_nothing_after_the_first_write(store):
    snapshot = store.snapshot()
    store.upsert(make_chunks(2), unit_vectors(2), "m", new=True)
    assert snapshot.fingerprints(["doc"]) == {} and store.count() == 2
