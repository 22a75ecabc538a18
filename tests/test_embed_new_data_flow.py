"""The new-data flow under Prefect, with the real model and the real store on disk."""

from __future__ import annotations

import threading

import pytest
from prefect import get_client
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

import vectorsync.embedders as embedders
from flows.embed_new_data import embed_new_data
from tasks.locking import limit_name
from vectorsync.embedders import register_embedder
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder
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


class CountingEmbedder(SentenceTransformerEmbedder):
    """The real model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, batch_size=None):
        self.texts.extend(texts)
        return super().encode(texts, batch_size)


def test_a_corpus_many_windows_long_streams_through_and_is_stored_whole(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_TASK_BATCH_SIZE", "3")  # 10 records: four windows, several in flight
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(10):
        (folder / f"note{n}.txt").write_text(f"Note {n} is about the number {n} and nothing else.")
    summary = embed_new_data(EmbedNewData(path=str(folder)))
    assert summary["files"] == summary["documents"] == summary["chunks"] == summary["embedded"] == 10
    with open_store(Settings()) as store:
        assert store.count() == 10
    again = embed_new_data(EmbedNewData(path=str(folder)))
    assert again["embedded"] == 0 and again["unchanged"] == 10


def test_identical_texts_are_embedded_once_and_stored_under_each_id(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_TASK_BATCH_SIZE", "4")  # the copies fall in different windows and batches
    folder = tmp_path / "copies"
    folder.mkdir()
    boilerplate = "This page is part of the employee handbook. Ask HR before you share it."
    for n in range(8):
        (folder / f"page{n}.txt").write_text(boilerplate)
    (folder / "unique.txt").write_text("The cafeteria opens at eight.")
    counting = CountingEmbedder()
    register_embedder(Settings(), counting)
    summary = embed_new_data(EmbedNewData(path=str(folder)))
    assert summary["embedded"] == 9
    assert sorted(counting.texts) == sorted([boilerplate, "The cafeteria opens at eight."])
    with open_store(Settings()) as store:
        assert store.count() == 9 and len(store.documents()) == 9


def test_a_run_leaves_no_results_in_prefect_storage(data_dir, corpus, tmp_path):
    storage = tmp_path / "prefect-results"
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: storage}):
        summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4
    assert not storage.exists() or not any(storage.rglob("*")), "no vector, chunk or record is persisted by Prefect"


def test_a_run_with_skips_says_so_in_its_state_name_and_message(data_dir, corpus):
    (corpus / "empty.txt").write_text("")
    state = embed_new_data(EmbedNewData(path=str(corpus)), return_state=True)
    assert state.is_completed() and state.name == "Completed with skips"
    assert state.message == "4 embedded, 0 unchanged, 1 skipped (5 files, 4 documents, 4 chunks)"
    clean = embed_new_data(EmbedNewData(path=str(corpus), prune=True), return_state=True)
    assert clean.name == "Completed with skips", "the empty file is still there"


def test_a_missing_path_fails_the_run_in_one_line_and_creates_nothing(data_dir, tmp_path):
    state = embed_new_data(EmbedNewData(path=str(tmp_path / "nowhere")), return_state=True)
    assert state.is_failed() and "no such file or folder" in state.message
    assert "\n" not in state.message
    assert not data_dir.exists(), "a run that could not start leaves no data directory or lock behind"
