"""Faults during a run: transient ones heal by retries, permanent ones are dead-lettered, crashes resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from flows.embed_new_data import embed_new_data
from vectorsync.embedders import register_embedder
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder
from vectorsync.errors import EmbedderError, TransientError
from vectorsync.jobs import EmbedNewData
from vectorsync.records import Chunk
from vectorsync.settings import Settings
from vectorsync.stores import open_store, register_store
from vectorsync.stores.lance import LanceStore

pytestmark = pytest.mark.usefixtures("prefect_harness")


class FlakyEmbedder(SentenceTransformerEmbedder):
    """The real model, failing transiently on its first `failures` calls, and for good on texts with POISON."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("HTTP 503 from the model server", retry_after=0.1)
        if any("POISON" in text for text in texts):
            raise EmbedderError("input rejected: contains a forbidden token")
        return super().encode(texts, batch_size)


class FlakyStore(LanceStore):
    """The real on-disk store, losing its connection on the first `failures` writes."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path, filter_fields=["source", "metadata.type"])
        self.failures = failures
        self.writes = 0

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray, model: str, new: bool = False) -> int:
        self.writes += 1
        if self.writes <= self.failures:
            raise ConnectionError("connection reset by peer")
        return super().upsert(chunks, vectors, model, new)


def test_transient_embedder_fault_heals_by_retry(data_dir, corpus):
    flaky = FlakyEmbedder(failures=1)
    register_embedder(Settings(), flaky)
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4 and summary["dead_lettered"] == 0
    assert flaky.calls == 2  # one failure, one successful retry


def test_transient_store_fault_heals_by_retry(data_dir, corpus):
    settings = Settings()
    flaky = FlakyStore(settings.data_dir / "lancedb", failures=2)
    register_store(settings, flaky)
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4 and flaky.writes == 3
    with open_store(settings) as store:
        assert store.count() == 4


def test_a_failed_write_is_retried_without_running_the_model_again(data_dir, corpus):
    settings = Settings()
    counting = FlakyEmbedder()
    register_embedder(settings, counting)
    register_store(settings, FlakyStore(settings.data_dir / "lancedb", failures=1))
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4
    assert counting.calls == 1, "the retry takes the batch's vectors from the run's memo"
    with open_store(settings) as store:
        assert store.count() == 4


def test_poison_record_is_dead_lettered_and_the_batch_goes_on(data_dir, corpus):
    (corpus / "poison.txt").write_text("This line carries a POISON token the model refuses.")
    poisoned = FlakyEmbedder()
    register_embedder(Settings(), poisoned)
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4 and summary["dead_lettered"] == 1
    assert summary["dead_letters"][0]["source"].endswith("poison.txt")
    assert "forbidden token" in summary["dead_letters"][0]["reason"]
    with open_store(Settings()) as store:
        assert store.count() == 4
        assert [d.source.rsplit("/", 1)[-1] for d in store.dead_letters()] == ["poison.txt"]


def test_killed_run_resumes_to_exact_counts_with_no_duplicates(tmp_path, data_dir):
    corpus = tmp_path / "many"
    corpus.mkdir()
    for n in range(60):
        (corpus / f"doc{n:02d}.txt").write_text(f"Document {n} is about topic number {n}. " * 30)
    env = {
        **os.environ,
        "VECTORSYNC_TASK_BATCH_SIZE": "4",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "vectorsync.cli", "run", str(corpus), "--json"]
    victim = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    settings = Settings()
    deadline = time.monotonic() + 300
    written = 0
    while time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.2)
        if (settings.data_dir / "lancedb" / "chunks.lance").exists():
            written = LanceStore(settings.data_dir / "lancedb").count()
            if written >= 8:
                break
    assert victim.poll() is None, "the run finished before it could be interrupted"
    os.killpg(victim.pid, signal.SIGKILL)  # the run and its Prefect server die together, as in a crash
    victim.wait(30)

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=True)
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    with open_store(settings) as store:
        ids = list(store.fingerprints(store.documents()))
        assert store.count() == len(ids) == summary["chunks"] == 60
    assert summary["unchanged"] > 0 and summary["embedded"] + summary["unchanged"] == 60
