"""OpenAIEmbedder against a local server that speaks OpenAI's embeddings protocol (tests/fake_openai.py)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fake_openai import FakeOpenAI, Fault, fake_vector
from fake_time import FakeTime
from pydantic import SecretStr

from vectorsync.embedders.openai import OpenAIEmbedder
from vectorsync.errors import ConfigError, EmbedderError, EmbedderUnavailable, TransientError


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def embedder_for(server: FakeOpenAI, fake_time: FakeTime, model: str = "text-embedding-3-small", **options: Any):
    options.setdefault("api_key", server.api_key)
    options.setdefault("timeout_s", 5)
    return OpenAIEmbedder(model, base_url=server.base_url, sleep=fake_time.sleep, clock=fake_time.clock, **options)


def test_3000_inputs_go_in_two_requests_of_at_most_2048_in_order(server, fake_time):
    texts = [f"text number {i}" for i in range(3000)]

    vectors = embedder_for(server, fake_time, dimensions=8).encode(texts)

    assert [len(request.inputs) for request in server.requests] == [2048, 952]
    assert [text for request in server.requests for text in request.inputs] == texts
    assert vectors.dtype == np.float32 and vectors.shape == (3000, 8)
    np.testing.assert_allclose(vectors[2999], fake_vector("text-embedding-3-small", texts[2999], 8), rtol=1e-6)


def test_concurrent_requests_are_in_flight_together_and_vectors_keep_input_order(server, fake_time):
    server.queue(*[Fault.slow(3.0)] * 4)  # each answer takes 3 s: one after another, they would arrive 3 s apart
    texts = [f"text number {i}" for i in range(4)]

    vectors = embedder_for(server, fake_time, dimensions=8, concurrent_requests=4).encode(texts, batch_size=1)

    arrivals = sorted(request.received_at for request in server.requests)
    assert len(arrivals) == 4 and arrivals[-1] - arrivals[0] < 2.5, "all four were sent before the first answer"
    for i, text in enumerate(texts):
        np.testing.assert_allclose(vectors[i], fake_vector("text-embedding-3-small", text, 8), rtol=1e-6)


def test_token_budget_splits_requests(server, fake_time):
    embedder = embedder_for(server, fake_time, dimensions=8, max_batch_tokens=100)
    texts = [f"sentence {i} " + "word " * (i % 7) for i in range(40)]

    embedder.encode(texts)

    assert len(server.requests) > 1
    assert [text for request in server.requests for text in request.inputs] == texts
    for request in server.requests:
        assert embedder.estimate_tokens(request.inputs) <= 100


def test_batch_size_caps_inputs_per_request(server, fake_time):
    embedder_for(server, fake_time, dimensions=8).encode([f"t{i}" for i in range(10)], batch_size=4)

    assert [len(request.inputs) for request in server.requests] == [4, 4, 2]


def test_vectors_follow_input_order_when_the_server_answers_out_of_order(fake_time):
    with FakeOpenAI(shuffle=True) as server:
        vectors = embedder_for(server, fake_time, dimensions=16).encode(["alpha", "beta", "gamma"])

    for vector, text in zip(vectors, ["alpha", "beta", "gamma"], strict=True):
        np.testing.assert_allclose(vector, fake_vector("text-embedding-3-small", text, 16), rtol=1e-6)


def test_equal_texts_get_equal_vectors(server, fake_time):
    vectors = embedder_for(server, fake_time, dimensions=8).encode(["same", "other", "same"])

    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])


def test_requested_dimensions_are_sent_and_vectors_have_that_length(server, fake_time):
    embedder = embedder_for(server, fake_time, "text-embedding-3-large", dimensions=256)

    vectors = embedder.encode(["a", "b"])

    assert vectors.shape == (2, 256) and embedder.dimensions == 256
    assert server.requests[0].body["dimensions"] == 256
    assert server.requests[0].body["encoding_format"] == "float"


def test_native_dimensions_are_used_when_none_are_requested(server, fake_time):
    embedder = embedder_for(server, fake_time)

    assert embedder.dimensions == 1536
    assert embedder.encode(["a"]).shape == (1, 1536)
    assert "dimensions" not in server.requests[0].body


@pytest.mark.parametrize(
    ("model", "dimensions"),
    [("text-embedding-ada-002", 512), ("text-embedding-3-small", 2048), ("text-embedding-3-large", 0)],
)
def test_impossible_dimensions_are_a_config_error(model, dimensions):
    with pytest.raises(ConfigError, match=f"dimensions.*{model}|{model}.*dimensions"):
        OpenAIEmbedder(model, api_key="sk-anything-123456", dimensions=dimensions)


def test_unknown_model_dimensions_come_from_one_probe(fake_time):
    with FakeOpenAI(models={"nomic-embed-text": 24}) as server:
        embedder = embedder_for(server, fake_time, "nomic-embed-text")
        assert "native" in embedder.identity and not server.requests

        assert embedder.dimensions == 24
        assert embedder.dimensions == 24
        assert len(server.requests) == 1

        assert embedder.encode(["x", "y"]).shape == (2, 24)
        assert len(server.requests) == 2


def test_unknown_model_with_requested_dimensions_passes_them_through(fake_time):
    with FakeOpenAI(models={"matryoshka-local": 64}) as server:
        vectors = embedder_for(server, fake_time, "matryoshka-local", dimensions=32).encode(["x"])

    assert vectors.shape == (1, 32) and server.requests[0].body["dimensions"] == 32


def test_identity_names_model_dimensions_and_server(server, fake_time):
    port = server.base_url.split(":")[-1].split("/")[0]
    small = embedder_for(server, fake_time, dimensions=256)
    elsewhere = OpenAIEmbedder(dimensions=256, api_key="sk-other-key-123456", base_url="http://gpu-box:8000/v1/")

    assert small.identity == f"openai:text-embedding-3-small:256@127.0.0.1:{port}/v1"
    assert embedder_for(server, fake_time).identity == f"openai:text-embedding-3-small:1536@127.0.0.1:{port}/v1"
    assert elsewhere.identity == "openai:text-embedding-3-small:256@gpu-box:8000/v1"


def test_queries_and_documents_reach_the_server_behind_their_prompts(server, fake_time):
    port = server.base_url.split(":")[-1].split("/")[0]
    nomic = embedder_for(
        server, fake_time, dimensions=8, query_prompt="search_query: ", document_prompt="search_document: "
    )

    documents = nomic.encode_documents(["Honey bees live in colonies."])
    queries = nomic.encode_queries(["insects that make honey"])

    assert [request.inputs for request in server.requests] == [
        ["search_document: Honey bees live in colonies."],
        ["search_query: insects that make honey"],
    ]
    model = "text-embedding-3-small"
    np.testing.assert_allclose(documents[0], fake_vector(model, "search_document: Honey bees live in colonies.", 8))
    np.testing.assert_allclose(queries[0], fake_vector(model, "search_query: insects that make honey", 8))
    assert nomic.identity == f'openai:{model}:8:document_prompt="search_document: "@127.0.0.1:{port}/v1'


def test_max_tokens_is_8191_for_openai_models_and_an_argument_otherwise():
    assert OpenAIEmbedder(api_key="sk-anything-123456").max_tokens == 8191
    local = "http://localhost:11434/v1"
    assert OpenAIEmbedder("nomic-embed-text", api_key=None, base_url=local).max_tokens == 512
    assert OpenAIEmbedder("nomic-embed-text", api_key=None, base_url=local, max_tokens=8192).max_tokens == 8192
    with pytest.raises(ConfigError, match="max_tokens"):
        OpenAIEmbedder(api_key="sk-anything-123456", max_tokens=10_000)


@pytest.mark.parametrize("api_key", [None, "", "  ", SecretStr("")])
def test_missing_key_for_openai_is_a_config_error_naming_OPENAI_API_KEY(api_key):
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIEmbedder(api_key=api_key)


def test_local_server_that_ignores_keys_needs_none(fake_time):
    with FakeOpenAI(api_key=None) as server:
        vectors = embedder_for(server, fake_time, api_key=None, dimensions=8).encode(["hi"])

    assert vectors.shape == (1, 8)
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_secret_str_key_and_extra_headers_are_sent(server, fake_time):
    embedder = embedder_for(server, fake_time, api_key=SecretStr(server.api_key), headers={"X-Team": "search"})

    embedder.encode(["hi"])

    assert server.requests[0].headers["authorization"] == f"Bearer {server.api_key}"
    assert server.requests[0].headers["x-team"] == "search"


def test_nothing_is_sent_before_encode(server, fake_time):
    embedder = embedder_for(server, fake_time)

    _ = (embedder.identity, embedder.max_tokens, embedder.dimensions, embedder.count_tokens("some text"))

    assert not embedder.loaded and not server.requests


def test_input_over_max_tokens_is_refused_before_any_request(server, fake_time):
    embedder = embedder_for(server, fake_time, max_tokens=20)
    too_long = "lorem ipsum " * 20

    with pytest.raises(EmbedderError, match=rf"input 1 has {embedder.count_tokens(too_long)} tokens.*20"):
        embedder.encode(["short", too_long])
    assert not server.requests


def test_empty_input_is_refused_before_any_request(server, fake_time):
    with pytest.raises(EmbedderError, match="input 2 is empty"):
        embedder_for(server, fake_time).encode(["a", "b", ""])
    assert not server.requests


def test_rate_limited_request_waits_exactly_retry_after_then_succeeds(server, fake_time):
    server.queue(Fault.rate_limited(retry_after="2"))

    vectors = embedder_for(server, fake_time, dimensions=8).encode(["hi"])

    assert vectors.shape == (1, 8)
    assert fake_time.sleeps == [2.0] and len(server.requests) == 2


def test_rate_limited_request_without_retry_after_waits_for_the_exhausted_budget(server, fake_time):
    server.queue(
        Fault.rate_limited(remaining_requests="0", reset_requests="1.5s", remaining_tokens="900", reset_tokens="6m0s"),
        Fault.rate_limited(retry_after_ms="250"),
    )

    embedder_for(server, fake_time, dimensions=8).encode(["hi"])

    assert fake_time.sleeps == [1.5, 0.25]


def test_server_errors_are_retried_with_jittered_exponential_backoff(server, fake_time):
    server.queue(Fault.server_error(500), Fault.server_error(503), Fault.server_error(502))

    assert embedder_for(server, fake_time, dimensions=8).encode(["hi"]).shape == (1, 8)

    assert len(server.requests) == 4 and len(fake_time.sleeps) == 3
    assert all(0 <= slept <= 0.5 * 2**attempt for attempt, slept in enumerate(fake_time.sleeps))


def test_timeout_is_retried(server, fake_time):
    server.queue(Fault.slow(1.5))

    assert embedder_for(server, fake_time, dimensions=8, timeout_s=0.3).encode(["hi"]).shape == (1, 8)

    assert len(server.requests) == 2 and len(fake_time.sleeps) == 1


def test_dropped_connection_is_retried(server, fake_time):
    server.queue(Fault.hang_up())

    assert embedder_for(server, fake_time, dimensions=8).encode(["hi"]).shape == (1, 8)

    assert len(server.requests) == 2


def test_exhausted_retries_raise_transient_error_with_the_servers_hint(server, fake_time):
    server.queue(*[Fault.rate_limited(retry_after="1")] * 3)

    with pytest.raises(TransientError, match="failed 3 times") as raised:
        embedder_for(server, fake_time, dimensions=8, max_retries=2).encode(["hi"])

    assert raised.value.retry_after == 1.0
    assert len(server.requests) == 3 and fake_time.sleeps == [1.0, 1.0]


def test_retry_after_longer_than_a_minute_goes_back_to_the_caller_without_sleeping(server, fake_time):
    server.queue(Fault.rate_limited(retry_after="120"))

    with pytest.raises(TransientError) as raised:
        embedder_for(server, fake_time, dimensions=8).encode(["hi"])

    assert raised.value.retry_after == 120.0
    assert len(server.requests) == 1 and fake_time.sleeps == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.insufficient_quota(), "quota exhausted: add credit or set OPENAI_API_KEY to another key"),
        (Fault.malformed(), "malformed response.*not JSON"),
        (Fault.malformed(b'{"object": "list"}'), "malformed response.*no 'data' list"),
        (Fault.malformed(b'{"data": []}'), "malformed response.*0 embeddings for 1 inputs"),
        (Fault.malformed(b'{"data": [{"index": 0, "embedding": [0.1, 0.2]}]}'), "2-dimensional vectors.*expected 8"),
        (Fault.malformed(b'{"data": [{"index": 3, "embedding": [0.1]}]}'), "malformed response.*indices"),
        (Fault.malformed(b'{"data": [{"index": 0, "embedding": "AAAA"}]}'), "malformed response.*unreadable"),
    ],
)
def test_permanent_failures_are_not_retried_and_blame_the_setup_not_the_input(server, fake_time, fault, message):
    server.queue(fault)

    with pytest.raises(EmbedderUnavailable, match=message):
        embedder_for(server, fake_time, dimensions=8).encode(["hi"])

    assert len(server.requests) == 1 and fake_time.sleeps == []


def test_rejected_key_says_so_and_is_not_retried(server, fake_time):
    with pytest.raises(EmbedderUnavailable) as raised:
        embedder_for(server, fake_time, api_key="sk-wrong-key-abcdef123456").encode(["hi"])

    assert str(raised.value).startswith(
        f"OpenAI rejected the API key (401) for {server.base_url}: check OPENAI_API_KEY"
    )
    assert len(server.requests) == 1


def test_unknown_model_says_so_and_is_not_retried(server, fake_time):
    with pytest.raises(EmbedderUnavailable, match=f"model 'text-embedding-9' not found at {server.base_url}"):
        embedder_for(server, fake_time, "text-embedding-9").encode(["hi"])

    assert len(server.requests) == 1


def test_missing_permission_names_the_key_and_is_not_retried(server, fake_time):
    server.queue(Fault.refused(403, "You have insufficient permissions for this operation."))

    with pytest.raises(EmbedderUnavailable, match=r"may not use model .*403.*OPENAI_API_KEY"):
        embedder_for(server, fake_time, dimensions=8).encode(["hi"])

    assert len(server.requests) == 1


def test_invalid_input_blames_the_input_so_its_chunk_can_be_dead_lettered(server, fake_time):
    server.queue(Fault.refused(400, "'$.input' is invalid."))

    with pytest.raises(EmbedderError, match="refused the input") as raised:
        embedder_for(server, fake_time, dimensions=8).encode(["hi"])

    assert not isinstance(raised.value, EmbedderUnavailable)


def test_input_the_server_finds_too_long_says_so_and_is_not_retried(fake_time):
    with (
        FakeOpenAI(max_tokens=5) as server,
        pytest.raises(EmbedderError, match=r"input too long for .*maximum context"),
    ):
        embedder_for(server, fake_time, dimensions=8).encode(["a sentence longer than twenty bytes"])

    assert len(server.requests) == 1


def test_api_key_never_leaks(fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "TopSecretValue-0123456789"  # no sk- prefix: only the embedder's own redaction can hide it
    server = FakeOpenAI(api_key=secret).start()
    embedder = embedder_for(server, fake_time, api_key=secret, dimensions=8)
    server.queue(Fault.rate_limited(retry_after="1"), Fault.server_error(503))
    embedder.encode(["retried, then fine"])
    errors: list[BaseException] = []
    for faults in ([Fault.rate_limited(retry_after="1")] * 7, [Fault.insufficient_quota()], [Fault.hang_up()] * 7):
        server.queue(*faults)
        with pytest.raises((TransientError, EmbedderError)) as raised:
            embedder.encode(["hi"])
        errors.append(raised.value)

    with pytest.raises(EmbedderError) as raised:  # the server echoes the wrong key it was sent
        embedder_for(server, fake_time, api_key=secret + "-wrong", dimensions=8).encode(["hi"])
    errors.append(raised.value)
    server.stop()

    seen = [repr(embedder), str(embedder), embedder.identity]
    seen += [text for error in errors for text in (str(error), repr(error), *traceback.format_exception(error))]
    seen += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) > 0 and all(secret not in text for text in seen)
    assert any("***" in str(error) for error in errors)


def test_normalize_scales_vectors_to_unit_length(fake_time):
    with FakeOpenAI(models={"local-embedder": 16}, unnormalized=frozenset({"local-embedder"})) as server:
        raw = embedder_for(server, fake_time, "local-embedder").encode(["a", "b"])
        unit = embedder_for(server, fake_time, "local-embedder", normalize=True)
        normalized = unit.encode(["a", "b"])

    np.testing.assert_allclose(np.linalg.norm(raw, axis=1), [3.0, 3.0], rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), [1.0, 1.0], rtol=1e-5)
    assert "normalized" in unit.identity


def test_requests_per_minute_spaces_requests(server, fake_time):
    embedder = embedder_for(server, fake_time, dimensions=8, requests_per_minute=60)

    embedder.encode(["a", "b", "c"], batch_size=1)

    assert len(server.requests) == 3 and fake_time.sleeps == pytest.approx([1.0, 1.0])


def test_tokens_used_adds_up_what_the_server_billed(server, fake_time):
    embedder = embedder_for(server, fake_time, dimensions=8)

    embedder.encode(["one", "two three"], batch_size=1)

    assert embedder.tokens_used == sum(request.tokens for request in server.requests)


def test_estimate_tokens_counts_every_text(server, fake_time):
    embedder = embedder_for(server, fake_time)
    texts = ["hello world", "a much longer sentence about vector search"]

    assert embedder.estimate_tokens(texts) == sum(embedder.count_tokens(text) for text in texts) > 0
    assert embedder.estimate_tokens([]) == 0


def test_empty_encode_sends_nothing(server, fake_time):
    assert embedder_for(server, fake_time, dimensions=8).encode([]).shape == (0, 8)
    assert not server.requests
