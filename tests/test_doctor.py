"""`vectorsync doctor`: each check against the real component it checks, ok on a healthy setup, a fix otherwise."""

from __future__ import annotations

import json
import socket
from importlib.metadata import version

import numpy as np
from typer.testing import CliRunner

from vectorsync.cli import app
from vectorsync.doctor import (
    dimension_consistency,
    index_state,
    memory_headroom,
    package_versions,
    prefect_api,
    run_checks,
    store_reachable,
    stored_models,
    unmet_requirements,
)
from vectorsync.records import Chunk, chunk_id
from vectorsync.settings import Settings
from vectorsync.stores import IndexSpec, open_store

OTHER_MODEL = "sentence-transformers:some/other-model@default:dims=native"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def store_foreign_vectors(settings: Settings, dimensions: int = 384, index: bool = True) -> None:
    """Two chunks with vectors of another model, written straight through the store."""
    chunks = [
        Chunk(chunk_id(f"doc{n}", 0, text), f"doc{n}", f"/docs/doc{n}.txt", text, 0, {"type": "txt"}, f"fp{n}")
        for n, text in enumerate(["first text", "second text"])
    ]
    vectors = np.random.default_rng(0).standard_normal((2, dimensions)).astype(np.float32)
    with open_store(settings) as store:
        store.upsert(chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True), OTHER_MODEL)
        if index:
            store.ensure_index(IndexSpec(settings.index_name, dimensions, filter_fields=("source", "metadata.type")))


def test_unmet_requirements_are_named_with_what_is_installed():
    unmet = unmet_requirements(["numpy<1", "numpy>=1", "no-such-package-xyz>=1", "pytest>=99; extra == 'dev'"])
    assert unmet == [f"numpy<1 (installed {version('numpy')})", "no-such-package-xyz>=1 (not installed)"]


def test_package_check_lists_the_key_versions():
    check = package_versions()
    assert check.ok, check.detail
    assert f"prefect {version('prefect')}" in check.detail and f"lancedb {version('lancedb')}" in check.detail


def test_a_fresh_setup_passes_every_check(data_dir):
    checks = {check.name: check for check in run_checks(Settings())}
    assert all(check.ok for check in checks.values()), [c for c in checks.values() if not c.ok]
    assert set(checks) == {
        "packages",
        "model",
        "store",
        "index",
        "dimensions",
        "stored models",
        "prefect api",
        "memory",
    }
    assert "384 dimensions" in checks["model"].detail and "none yet" in checks["index"].detail


def test_store_check_gives_the_stores_cheap_chunk_count_and_lists_no_documents(data_dir):
    store_foreign_vectors(Settings())
    check = store_reachable(Settings())
    assert check.ok and check.detail.endswith(": 2 chunks") and "documents" not in check.detail


def test_vectors_of_another_size_fail_the_dimension_check_with_a_fix(data_dir):
    store_foreign_vectors(Settings())
    check = dimension_consistency(Settings(dimensions=128))
    assert not check.ok and check.detail.startswith("model 128, index 384, stored vectors 384")
    assert "VECTORSYNC_MODEL" in check.fix


def test_vectors_of_another_model_fail_the_stored_models_check(data_dir):
    store_foreign_vectors(Settings())
    assert dimension_consistency(Settings()).ok, "same size: the dimensions agree"
    check = stored_models(Settings())
    assert not check.ok and OTHER_MODEL in check.detail and "--refresh" in check.fix


def test_index_missing_under_stored_vectors_fails_with_the_command_that_creates_it(data_dir):
    store_foreign_vectors(Settings(), index=False)
    check = index_state(Settings())
    assert not check.ok and "vectorsync run" in check.fix
    store_foreign_vectors(Settings())
    assert index_state(Settings()).ok and "READY" in index_state(Settings()).detail


def test_unreachable_store_is_reported_and_store_checks_are_skipped(data_dir, monkeypatch):
    uri = f"mongodb://127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    monkeypatch.setenv("MONGODB_URI", uri)
    checks = {check.name: check for check in run_checks(Settings())}
    assert not checks["store"].ok and "MONGODB_URI" in checks["store"].fix
    assert checks["index"].detail == "not checked: the store is unreachable" and "dimensions" not in checks


def test_prefect_api_check_accepts_no_server_and_flags_a_dead_one():
    assert prefect_api(None).ok
    dead = prefect_api(f"http://127.0.0.1:{closed_port()}/api", timeout_s=1)
    assert not dead.ok and "prefect server start" in dead.fix


def test_memory_check_suggests_a_batch_size_that_fits(data_dir):
    settings = Settings(batch_size=256)
    assert memory_headroom(settings, available=64 * 2**30).ok
    tight = memory_headroom(settings, available=2 * 2**30)
    assert not tight.ok
    fits = int(tight.fix.split("VECTORSYNC_BATCH_SIZE=")[1].split()[0])
    assert 1 <= fits < 256 and memory_headroom(Settings(batch_size=fits), available=2 * 2**30).ok


def test_memory_check_passes_a_remote_model(data_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used-0123456789")
    assert memory_headroom(Settings(embedder="openai"), available=1).ok


def test_doctor_command_prints_one_line_per_check_and_fails_on_a_broken_model(data_dir, tmp_path, monkeypatch):
    runner = CliRunner()
    healthy = runner.invoke(app, ["doctor", "--json"])
    assert healthy.exit_code == 0, healthy.output
    assert all(check["ok"] for check in json.loads(healthy.stdout))
    monkeypatch.setenv("VECTORSYNC_MODEL", str(tmp_path / "no-model-here"))
    broken = runner.invoke(app, ["doctor"])
    assert broken.exit_code == 1
    assert "FAIL model" in broken.stdout and "fix: set VECTORSYNC_MODEL" in broken.stdout
    assert "ok   store" in broken.stdout
