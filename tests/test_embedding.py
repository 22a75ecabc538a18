"""embed_chunks against the OpenAI protocol (tests/fake_openai.py): only a chunk's own content makes a dead letter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI, Fault

from vectorsync.embedders.openai import OpenAIEmbedder
from vectorsync.embedding import embed_chunks
from vectorsync.errors import EmbedderUnavailable
from vectorsync.records import Chunk


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(max_tokens=20) as fake:
        yield fake


def chunks(*texts: str) -> list[Chunk]:
    return [Chunk(f"c{n}", f"doc{n}", f"doc{n}.txt", text, 0, {}, f"f{n}") for n, text in enumerate(texts)]


def embedder(server: FakeOpenAI, api_key: str | None = None) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        "text-embedding-3-small", api_key=api_key or server.api_key, base_url=server.base_url, dimensions=8
    )


def test_rejected_key_fails_the_batch_after_one_request_and_letters_nothing(server):
    with pytest.raises(EmbedderUnavailable, match="OPENAI_API_KEY"):
        embed_chunks(embedder(server, api_key="sk-wrong-0123456789abcdef"), chunks("bees", "bread", "chess", "space"))

    assert len(server.requests) == 1, "a rejected key is not halved into a search for a poison record"


def test_exhausted_quota_fails_the_batch_and_letters_nothing(server):
    server.queue(Fault.insufficient_quota())

    with pytest.raises(EmbedderUnavailable, match="quota exhausted"):
        embed_chunks(embedder(server), chunks("bees", "bread"))

    assert len(server.requests) == 1


def test_input_the_server_refuses_as_too_long_is_the_only_dead_letter(server):
    batch = chunks("bees", "a text far longer than twenty tokens " * 4, "bread")
    # The client does not know this server's limit: it learns it from the 400.
    unlimited = OpenAIEmbedder(
        "text-embedding-3-small", api_key=server.api_key, base_url=server.base_url, dimensions=8, max_tokens=8191
    )

    embedded = embed_chunks(unlimited, batch)

    assert [c.id for c in embedded.chunks] == ["c0", "c2"] and embedded.vectors.shape == (2, 8)
    assert [letter.source for letter in embedded.dead_letters] == ["doc1.txt"]
    assert "input too long" in embedded.dead_letters[0].reason
