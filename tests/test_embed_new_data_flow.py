"""The new-data flow under Prefect, with the real model and the real store on disk."""

from __future__ import annotations

import threading

import pytest
from prefect import get_client

import vectorsync.embedders as embedders
from flows.embed_new_data import embed_new_data
from tasks.locking import limit_name
from vectorsync.errors import IncompleteRun
from vectorsync.jobs import EmbedNewData
from vectorsync.locking import target_lock
from vectorsync.settings import Settings
from vectorsync.stores import open_store

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def fresh_process(monkeypatch):
    """Forget loaded models, as a new process would."""
    monkeypatch.setattr(embedders, "_shared", {})


def stored_ids(settings: Settings) -> list[str]:
    with open_store(settings) as store:
        return sorted(store.fingerprints(store.documents()))


def test_first_run_embeds_everything_and_answers_a_query(data_dir, corpus):
    summary = embed_new_data(EmbedNewData(path=str(corpus), query="insects that make honey"))
    assert summary["documents"] == 4 and summary["chunks"] == 4 and summary["embedded"] == 4
    assert summary["index_state"] == "READY" and summary["completed"]
    assert summary["smoke_query"] == "insects that make honey"
    assert summary["smoke_hits"][0]["source"].endswith("bees.txt")
    with open_store(Settings()) as store:
        assert store.count() == 4


def test_rerun_on_unchanged_corpus_embeds_nothing_and_loads_no_model(data_dir, corpus, fresh_process):
    first = embed_new_data(EmbedNewData(path=str(corpus)))
    ids = stored_ids(Settings())
    embedders._shared.clear()
    again = embed_new_data(EmbedNewData(path=str(corpus)))
    assert again["embedded"] == 0 and again["unchanged"] == first["chunks"]
    assert again["model_loaded"] is False
    assert stored_ids(Settings()) == ids


def test_changed_document_re_embeds_only_its_chunks_and_drops_stale_ones(data_dir, corpus):
    embed_new_data(EmbedNewData(path=str(corpus)))
    (corpus / "bees.txt").write_text("Bumblebees are larger and hairier than honey bees.", encoding="utf-8")
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 1 and summary["deleted"] == 1 and summary["unchanged"] == 3
    with open_store(Settings()) as store:
        texts = [hit.text for hit in store.search(store.get_vector(stored_ids(Settings())[0]), k=10)]
    assert "Bumblebees are larger and hairier than honey bees." in texts
    assert not any("thousands of workers" in t for t in texts)


def test_prune_removes_chunks_of_deleted_files_only_when_asked(data_dir, corpus):
    embed_new_data(EmbedNewData(path=str(corpus)))
    (corpus / "chess.md").unlink()
    assert embed_new_data(EmbedNewData(path=str(corpus)))["deleted"] == 0
    summary = embed_new_data(EmbedNewData(path=str(corpus), prune=True))
    assert summary["deleted"] == 1 and summary["pruned_documents"] == 1
    with open_store(Settings()) as store:
        assert store.count() == 3 and not any("chess" in d for d in store.documents())


def test_bad_files_are_skipped_listed_and_kept_as_dead_letters(data_dir, corpus):
    (corpus / "empty.txt").write_text("")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4 and summary["skipped"] == 2 and summary["completed"]
    assert {s["source"].rsplit("/", 1)[-1] for s in summary["skips"]} == {"empty.txt", "broken.pdf"}
    with open_store(Settings()) as store:
        assert {d.source.rsplit("/", 1)[-1] for d in store.dead_letters()} == {"empty.txt", "broken.pdf"}


def test_strict_mode_fails_the_run_when_anything_was_skipped(data_dir, corpus):
    (corpus / "empty.md").write_text("   \n")
    with pytest.raises(IncompleteRun, match="skipped") as failure:
        embed_new_data(EmbedNewData(path=str(corpus), strict=True))
    assert failure.value.summary["embedded"] == 4


def test_overlapping_runs_on_one_target_are_serialised(data_dir, corpus):
    settings = Settings()
    held, release, finished = threading.Event(), threading.Event(), threading.Event()

    def hold_lock() -> None:
        with target_lock(settings.data_dir / "locks", settings.describe_store()):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(10)
    result: dict = {}

    def run() -> None:
        result.update(embed_new_data(EmbedNewData(path=str(corpus))))
        finished.set()

    runner = threading.Thread(target=run)
    runner.start()
    assert not finished.wait(3), "the run must wait while another run holds the target"
    release.set()
    runner.join(120)
    holder.join()
    assert finished.is_set() and result["embedded"] == 4
    with get_client(sync_client=True) as client:  # the limit is visible in the UI and shared by workers
        limit = client.read_global_concurrency_limit_by_name(limit_name(settings.describe_store()))
    assert limit.limit == 1 and limit.active_slots == 0
