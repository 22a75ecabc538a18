"""The new-data flow on a hosted embedder: a key from a Prefect Secret block, a token budget shared by runs."""

from __future__ import annotations

import pytest
from fake_openai import FakeOpenAI
from prefect import get_client
from prefect.blocks.system import Secret

from flows.embed_new_data import embed_new_data
from vectorsync.jobs import EmbedNewData

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def server(monkeypatch):
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("VECTORSYNC_EMBEDDER", "openai")
        yield fake


def test_key_from_a_secret_block_reaches_the_server_and_nowhere_else(data_dir, corpus, server, monkeypatch, caplog):
    Secret(value=server.api_key).save("vectorsync-test-openai-key", overwrite=True)
    monkeypatch.setenv("VECTORSYNC_OPENAI_API_KEY_BLOCK", "vectorsync-test-openai-key")
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4 and summary["model"] == "text-embedding-3-small"
    assert all(r.headers.get("authorization") == f"Bearer {server.api_key}" for r in server.requests)
    assert server.api_key not in caplog.text and server.api_key not in str(summary)


def test_token_budget_is_a_rate_limit_shared_through_the_prefect_server(data_dir, corpus, server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    monkeypatch.setenv("VECTORSYNC_OPENAI_TOKENS_PER_MINUTE", "120000")
    assert embed_new_data(EmbedNewData(path=str(corpus)))["embedded"] == 4
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("vectorsync-openai-tokens-text-embedding-3-small")
    assert limit.limit == 120_000 and limit.slot_decay_per_second == pytest.approx(2_000)
