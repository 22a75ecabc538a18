"""Sync planning: unchanged chunks are skipped, stale ones found, pruning stays inside the run's path."""

from __future__ import annotations

import numpy as np

from vectorsync.planning import batches, covered_prefix, documents_to_prune, plan_sync
from vectorsync.records import Chunk, chunk_id
from vectorsync.stores.lance import LanceStore


def chunk(doc: str, i: int, text: str, identity: str = "m") -> Chunk:
    return Chunk(chunk_id(doc, i, text), doc, f"/d/{doc}", text, i, {}, f"{identity}:{text}")


def test_unchanged_chunks_need_no_embedding_and_changed_ones_do(tmp_path):
    store = LanceStore(tmp_path)
    old = [chunk("a", 0, "one"), chunk("a", 1, "two")]
    store.upsert(old, np.ones((2, 4), np.float32), "m")
    new = [chunk("a", 0, "one"), chunk("a", 1, "TWO")]
    plan = plan_sync(new, store)
    assert [c.text for c in plan.to_embed] == ["TWO"] and plan.unchanged == 1
    assert plan.stale_ids == [old[1].id]


def test_a_new_embedder_identity_re_embeds_everything(tmp_path):
    store = LanceStore(tmp_path)
    store.upsert([chunk("a", 0, "one")], np.ones((1, 4), np.float32), "m")
    assert len(plan_sync([chunk("a", 0, "one", identity="other")], store).to_embed) == 1


def test_refresh_re_embeds_unchanged_chunks(tmp_path):
    store = LanceStore(tmp_path)
    store.upsert([chunk("a", 0, "one")], np.ones((1, 4), np.float32), "m")
    assert plan_sync([chunk("a", 0, "one")], store, refresh=True).unchanged == 0


def test_prune_removes_only_unseen_documents_under_the_runs_path():
    stored = {
        "/docs/a.md": "/docs/a.md",
        "/docs/b.md": "/docs/b.md",
        "/other/c.md": "/other/c.md",
        "/docs/bad.pdf": "/docs/bad.pdf",
    }
    gone = documents_to_prune(stored, seen=["/docs/a.md"], under="/docs/", keep_sources=["/docs/bad.pdf"])
    assert gone == ["/docs/b.md"]


def test_covered_prefix_of_folder_file_and_glob(tmp_path):
    (tmp_path / "x.md").write_text("x")
    assert covered_prefix(str(tmp_path)) == tmp_path.resolve().as_posix() + "/"
    assert covered_prefix(str(tmp_path / "x.md")) == (tmp_path / "x.md").resolve().as_posix()
    assert covered_prefix(str(tmp_path / "*.md")) == tmp_path.resolve().as_posix() + "/"


def test_batches_are_bounded_and_group_similar_lengths():
    chunks = [chunk("a", i, "w " * (i % 7 + 1)) for i in range(10)]
    groups = batches(chunks, 4)
    assert [len(g) for g in groups] == [4, 4, 2]
    assert {c.id for g in groups for c in g} == {c.id for c in chunks}
    assert min(len(c.text) for c in groups[0]) >= max(len(c.text) for c in groups[-1])
