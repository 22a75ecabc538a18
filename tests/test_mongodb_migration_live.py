"""`vectorsync migrate` against a real MongoDB: Atlas, or `mongodb/mongodb-atlas-local` as in CI.

Runs only when MONGODB_URI is set, in a database of its own that is dropped afterwards; embeds with the real
default model, so the new collection gets a vector search index of the new dimensions that must become queryable.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from test_cli import Runner
from waiting import eventually

from vectorsync.settings import Settings

URI = Settings().mongodb_uri
MINI = "sentence-transformers/all-MiniLM-L6-v2"

pytestmark = [
    pytest.mark.mongodb,
    pytest.mark.skipif(
        URI is None,
        reason="MONGODB_URI is not set: the live migration test needs an Atlas cluster or mongodb/mongodb-atlas-local",
    ),
]

runner = Runner()


def cli(*args: str) -> dict[str, Any]:
    """Run a command with --json; its last line as JSON (the exit status checked)."""
    from vectorsync.cli import app

    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of this test's own, and a data dir for the run lock; dropped afterwards."""
    assert URI is not None
    name = f"vectorsync_migrate_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("VECTORSYNC_MONGODB_DATABASE", name)
    monkeypatch.setenv("VECTORSYNC_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("VECTORSYNC_CONFIG", str(tmp_path / "absent.toml"))
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(URI.get_secret_value(), serverSelectionTimeoutMS=20_000)
    client.drop_database(name)
    client.close()


def test_migrate_info_search_finish_on_a_real_server(database, corpus, prefect_harness):
    from vectorsync.cli import app

    cli("run", str(corpus))
    before = cli("info")
    assert (before["dimensions"], before["migration"]) == (384, "none")

    moved = cli("migrate", str(corpus), "--model", MINI, "--dimensions", "256")
    assert moved["state"] == "switched" and moved["kept"].startswith("chunks ")
    after = cli("info")
    assert (after["dimensions"], after["chunks"], after["index"]) == (256, before["chunks"], "READY")
    assert after["store"].split(".")[-1].startswith("chunks__") and after["migration"].startswith("switched to")

    def search() -> list[dict[str, Any]]:
        done = runner.invoke(app, ["search", "insects that make honey", "-k", "1", "--json"])
        assert done.exit_code == 0, done.output
        return list(json.loads(done.stdout))

    hits = eventually(search, lambda found: len(found) == 1, 120.0, what="the new collection answering searches")
    assert hits[0]["source"].endswith("bees.txt")

    cli("migrate", "--finish")
    assert cli("info")["migration"] == "none"
    assert URI is not None
    client: MongoClient[dict[str, Any]] = MongoClient(URI.get_secret_value(), serverSelectionTimeoutMS=20_000)
    try:
        left = sorted(client[database].list_collection_names())
    finally:
        client.close()
    assert "chunks" not in left and any(name.startswith("chunks__") for name in left), left
