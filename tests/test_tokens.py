"""Token counting for hosted models: tiktoken from its local cache only, else the conservative estimate."""

from __future__ import annotations

import hashlib
import itertools
import random
import time

import pytest
import tiktoken.load

from vectorsync.embedders.tokens import EstimatedTokenCounter, TiktokenCounter, get_token_counter

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
ORDINARY_TEXTS = [
    "The quick brown fox jumps over the lazy dog. Vector search finds neighbours by meaning, not by words.",
    "def embed(texts: list[str]) -> np.ndarray:\n    return model.encode(texts, batch_size=64)\n",
    '{"id": 42, "source": "docs/intro.md", "metadata": {"type": "md", "tags": ["search", "rag"]}}',
    "Invoice 2024-03-17: 3 items at $19.99, total $59.97 (VAT 20% included).",
    "Москва является столицей России. Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
    "北京是中华人民共和国的首都。東京は日本の首都です。서울은 대한민국의 수도입니다.",
    "नई दिल्ली भारत की राजधानी है। القاهرة هي عاصمة مصر. Great job 👍🏽 🎉🚀",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "commit 3f2a9c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a291 sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c1",
]


def random_text(rng: random.Random) -> str:
    ranges = [(0x20, 0x7E), (0x0A, 0x0D), (0xA0, 0x7FF), (0x800, 0xD7FF), (0x10000, 0x1FFFF)]
    return "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(0, 80)))


@pytest.fixture
def offline_tiktoken(tmp_path, monkeypatch):
    """An empty tiktoken cache, a proxy that goes nowhere, and a tripwire on tiktoken's download."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")

    def no_download(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to fetch {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_download)
    return tmp_path


def test_empty_cache_falls_back_to_the_estimate_promptly_without_network(offline_tiktoken):
    started = time.monotonic()

    counter = get_token_counter("text-embedding-3-small")

    assert isinstance(counter, EstimatedTokenCounter) and not counter.exact
    assert time.monotonic() - started < 1.0


def test_corrupt_cached_encoding_falls_back_to_the_estimate(offline_tiktoken):
    (offline_tiktoken / hashlib.sha1(CL100K_URL.encode(), usedforsecurity=False).hexdigest()).write_bytes(b"junk")

    assert isinstance(get_token_counter("text-embedding-3-large"), EstimatedTokenCounter)


def test_disabled_tiktoken_cache_falls_back_to_the_estimate(offline_tiktoken, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")

    assert isinstance(get_token_counter("text-embedding-ada-002"), EstimatedTokenCounter)


def test_models_tiktoken_does_not_know_get_the_estimate():
    assert isinstance(get_token_counter("nomic-embed-text"), EstimatedTokenCounter)


@pytest.mark.parametrize("counter", [EstimatedTokenCounter(), get_token_counter("text-embedding-3-small")])
def test_offsets_tile_the_text_in_order(counter):
    rng = random.Random(7)
    for text in [*ORDINARY_TEXTS, "", " ", *(random_text(rng) for _ in range(300))]:
        offsets = counter.token_offsets(text)
        assert "".join(text[start:end] for start, end in offsets) == text
        assert all(start <= end for start, end in offsets)
        assert all(left[1] == right[0] for left, right in itertools.pairwise(offsets))
        assert counter.count(text) == len(offsets)


def test_estimate_weighs_pieces_by_their_bytes():
    estimate = EstimatedTokenCounter()

    assert estimate.count("") == 0
    assert estimate.count("cat") == 1
    assert estimate.count(" the cat") == 4  # " th" "e" " ca" "t": a piece never shares a token
    assert estimate.count("中") == 2  # 3-byte characters cost 2
    assert estimate.count("😀") == 3  # 4-byte characters cost 3
    assert estimate.count("1234567") == 3  # digits go in threes, as cl100k groups them


def test_estimate_charges_long_unbroken_runs_more():
    run = "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ"  # base64: BPE splits it finely
    words = "hello world hello world hello w"

    assert EstimatedTokenCounter().count(run) >= 2 * len(run) // 3 > EstimatedTokenCounter().count(words)


tiktoken_cached = pytest.mark.skipif(
    not get_token_counter("text-embedding-3-small").exact,
    reason="cl100k_base is not in tiktoken's local cache (TIKTOKEN_CACHE_DIR) and there is no network",
)


@tiktoken_cached
def test_cached_encoding_gives_the_exact_counter():
    counter = get_token_counter("text-embedding-3-small")

    assert isinstance(counter, TiktokenCounter) and counter.count("hello world") == 2


@tiktoken_cached
@pytest.mark.parametrize("text", ORDINARY_TEXTS)
def test_estimate_is_at_least_tiktokens_count(text):
    assert EstimatedTokenCounter().count(text) >= get_token_counter("text-embedding-3-small").count(text)
