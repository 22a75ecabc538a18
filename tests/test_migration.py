"""Blue/green model migration: the pointer's states on a real LanceDB folder, then `vectorsync migrate` end to end."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import lancedb
import numpy as np
import pytest
from test_cli import Runner

from vectorsync.errors import ConfigError, MigrationError
from vectorsync.migration import begin, finish, in_force, read_serving, rollback, serving_settings, switch
from vectorsync.records import Chunk
from vectorsync.settings import Settings
from vectorsync.stores.active import LancePointers
from vectorsync.stores.lance import LanceStore

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_EVAL = REPO / "examples" / "eval"
MINI = "sentence-transformers/all-MiniLM-L6-v2"


def fill(root: Path, table: str, dimensions: int) -> None:
    """A real table of two chunks, so that a drop can be seen."""
    chunks = [Chunk(f"{table}-{i}", "doc", "doc.txt", f"text {i}", i, {}, "fp") for i in range(2)]
    LanceStore(root, table).upsert(chunks, np.ones((2, dimensions), dtype=np.float32), "m")


def tables(root: Path) -> list[str]:
    return sorted(name for name in lancedb.connect(str(root)).list_tables().tables if "dead_letters" not in name)


# --- the pointer's states -------------------------------------------------------------------------------------------


def test_a_migration_builds_beside_the_serving_table_then_switches_and_keeps_the_old_one(tmp_path):
    root, pointers = tmp_path / "lancedb", LancePointers(tmp_path / "lancedb")
    fill(root, "chunks", 4)
    candidate = begin(pointers, "chunks", "new-model", 2)

    building = read_serving(pointers, "chunks")
    assert building.current.table == "chunks" and building.migration is not None
    assert building.migration.state == "building" and building.migration.candidate == candidate
    with pytest.raises(MigrationError, match="a migration is under way"):
        begin(pointers, "chunks", "other-model", None)
    with pytest.raises(MigrationError, match="still building"):
        finish(pointers, "chunks")

    fill(root, candidate.table, 2)
    switched = switch(pointers, "chunks")
    assert (switched.current.table, switched.current.model, switched.current.dimensions) == (
        candidate.table,
        "new-model",
        2,
    )
    assert switched.previous is not None and switched.previous.table == "chunks"
    assert "vectorsync migrate --finish drops it" in switched.describe_migration()
    assert tables(root) == sorted(["chunks", candidate.table])

    done = finish(pointers, "chunks")
    assert done.migration is None and done.previous is None and done.current.model == "new-model"
    assert tables(root) == [candidate.table], "the replaced table is dropped"
    with pytest.raises(MigrationError, match="no migration to finish"):
        finish(pointers, "chunks")


def test_rollback_after_the_switch_serves_the_old_table_again_and_drops_the_new_one(tmp_path):
    root, pointers = tmp_path / "lancedb", LancePointers(tmp_path / "lancedb")
    fill(root, "chunks", 4)
    candidate = begin(pointers, "chunks", "new-model", 2)
    fill(root, candidate.table, 2)
    switch(pointers, "chunks")

    back = rollback(pointers, "chunks")
    assert (back.current.table, back.current.model, back.migration) == ("chunks", None, None)
    assert tables(root) == ["chunks"]
    with pytest.raises(MigrationError, match="no migration to roll back"):
        rollback(pointers, "chunks")


def test_rollback_while_building_drops_the_candidate_and_changes_nothing_else(tmp_path):
    root, pointers = tmp_path / "lancedb", LancePointers(tmp_path / "lancedb")
    fill(root, "chunks", 4)
    candidate = begin(pointers, "chunks", "new-model", None)
    fill(root, candidate.table, 4)
    assert rollback(pointers, "chunks") == read_serving(pointers, "chunks")
    assert read_serving(pointers, "chunks").migration is None and tables(root) == ["chunks"]


def test_the_serving_model_is_in_force_and_a_different_configured_one_is_refused(data_dir, monkeypatch):
    pointers = LancePointers(data_dir / "lancedb")
    candidate = begin(pointers, "chunks", MINI, 256)
    switch(pointers, "chunks")

    settings = serving_settings(Settings())
    assert (settings.table, settings.model_name, settings.dimensions) == (candidate.table, MINI, 256)
    monkeypatch.setenv("VECTORSYNC_MODEL", "some/other-model")
    with pytest.raises(ConfigError, match=r"VECTORSYNC_MODEL=some/other-model: chunks is served by .*256 dimensions"):
        serving_settings(Settings())
    with pytest.raises(ConfigError, match="VECTORSYNC_DIMENSIONS=128"):
        in_force(Settings(model=MINI, dimensions=128), read_serving(pointers, "chunks"))


# --- vectorsync migrate, on the real model, store and Prefect ----------------------------------------------------

runner = Runner()


def cli(*args: str) -> dict:
    """Run a command with --json; its last line as JSON (the exit status checked)."""
    from vectorsync.cli import app

    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def served(data_dir, corpus, prefect_harness):
    """The sample corpus embedded with the default model, serving from `chunks`."""
    cli("run", str(corpus))
    return corpus


def test_migrating_to_256_dimensions_switches_and_info_says_256_until_finish_drops_the_old(served, data_dir):
    from vectorsync.cli import app

    before = cli("info")
    assert (before["dimensions"], before["migration"]) == (384, "none")
    moved = cli("migrate", str(served), "--model", MINI, "--dimensions", "256")
    assert moved["state"] == "switched" and moved["dimensions"] == 256 and moved["kept"].startswith("chunks ")

    after = cli("info")
    assert (after["dimensions"], after["model"], after["chunks"]) == (256, MINI, before["chunks"])
    assert after["migration"].startswith("switched to chunks__") and after["store"].split()[-1].startswith("chunks__")
    hits = runner.invoke(app, ["search", "insects that make honey", "-k", "1", "--json"])
    assert hits.exit_code == 0 and json.loads(hits.stdout)[0]["source"].endswith("bees.txt")

    ran = cli("run", str(served))
    assert ran["embedded"] == 0 and ran["unchanged"] == before["chunks"], "runs go to the new table, with its model"
    cli("migrate", "--finish")
    assert cli("info")["migration"] == "none" and tables(data_dir / "lancedb") == [moved["serving"].split()[0]]


def test_a_floor_the_new_model_cannot_reach_is_refused_and_the_old_table_serves_on(served, data_dir):
    from vectorsync.cli import app

    before = cli("info")
    refused = runner.invoke(
        app,
        [
            "migrate",
            str(served),
            "--model",
            MINI,
            "--dimensions",
            "64",
            "--eval",
            str(EXAMPLE_EVAL),
            "--floor",
            "ndcg@10=1.01",
        ],
    )
    assert refused.exit_code == 1
    assert "quality gate failed: ndcg@10" in " ".join(refused.output.split())
    assert "keeps serving the previous vectors" in " ".join(refused.output.split())

    after = cli("info")
    assert (after["store"], after["dimensions"], after["chunks"], after["migration"]) == (
        before["store"],
        384,
        before["chunks"],
        "none",
    )
    left = [name for name in tables(data_dir / "lancedb") if not name.startswith("eval_")]
    assert left == ["chunks"], "the candidate table was dropped"


def test_a_search_thread_sees_answers_throughout_a_migration_and_a_run_meanwhile_waits_for_it(served, data_dir):
    from flows.embed_new_data import embed_new_data
    from flows.migrate_model import migrate_model
    from vectorsync.embedders import shared_embedder
    from vectorsync.jobs import EmbedNewData, MigrateModel
    from vectorsync.search import search_text
    from vectorsync.stores import open_store

    stop, seen, failures = threading.Event(), [], []

    def search_throughout() -> None:
        while not stop.is_set():
            try:
                settings = serving_settings(Settings())
                with open_store(settings) as store:
                    hits = search_text(store, shared_embedder(settings), "bread that rises with wild yeast", k=2)
                seen.append((settings.dimensions, len(hits)))
            except Exception as exc:  # the test's own point: no search may fail
                failures.append(exc)

    searcher = threading.Thread(target=search_throughout)
    searcher.start()
    (served / "tea.md").write_text("# Tea\n\nGreen tea is steamed or pan-fired soon after picking.", encoding="utf-8")
    migrating = threading.Thread(
        target=lambda: seen.append(
            ("migrated", migrate_model(MigrateModel(path=str(served), new_model=MINI, new_dimensions=256)))
        )
    )
    try:
        migrating.start()
        while read_serving(LancePointers(data_dir / "lancedb"), "chunks").migration is None:
            time.sleep(0.05)  # until the migration holds the target
        ran = embed_new_data(EmbedNewData(path=str(served)))
        migrating.join()
    finally:
        stop.set()
        searcher.join()

    assert not failures, failures[:3]
    searches = [entry for entry in seen if entry[0] != "migrated"]
    assert all(count == 2 for _, count in searches), "no search came back empty"
    assert {dims for dims, _ in searches} == {None, 256}, "searches ran before and after the switch"
    assert ran["embedded"] == 0, "the run waited for the migration, which had embedded tea.md with the new model"
    with open_store(serving_settings(Settings())) as store:
        assert store.stored_dimensions() == 256 and "tea.md" in " ".join(store.documents().values())
