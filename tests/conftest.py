"""Shared fixtures: the real bundled model, a throw-away data directory, one Prefect harness per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The suite runs the float32 torch model (the published reference); ONNX int8 has tests of its own.
os.environ.setdefault("VECTORSYNC_BACKEND", "torch")

from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real offline default model, loaded once for the whole session."""
    return SentenceTransformerEmbedder()


@pytest.fixture(autouse=True)
def no_ambient_mongodb(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the live suite (`-m mongodb`) sees MONGODB_URI: any other test that builds Settings() gets LanceDB."""
    if request.node.get_closest_marker("mongodb") is None:
        monkeypatch.delenv("MONGODB_URI", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory that the settings point at, and no ambient store or key."""
    path = tmp_path / "store"
    monkeypatch.setenv("VECTORSYNC_DATA_DIR", str(path))
    for name in ("MONGODB_URI", "OPENAI_API_KEY", "OPENAI_BASE_URL", "VECTORSYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VECTORSYNC_CONFIG", str(tmp_path / "absent.toml"))
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API for the whole session (starting one per test would dominate the run time)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server start` (SQLite) for the whole session, shared by the tests that need one."""
    from prefect_server import running_server

    with running_server(tmp_path_factory.mktemp("prefect-home")) as url:
        yield url


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small folder of real documents on distinct topics."""
    folder = tmp_path / "docs"
    folder.mkdir()
    texts = {
        "bread.md": "# Sourdough\n\nSourdough bread rises with wild yeast and lactic acid bacteria kept in a starter.",
        "space.md": "# Black holes\n\nA black hole is a region of spacetime where gravity lets nothing escape.",
        "bees.txt": "Honey bees live in colonies with one queen, thousands of workers and a few drones.",
        "chess.md": "# Chess openings\n\nThe Sicilian Defence answers 1.e4 with c5 and fights for the centre.",
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
