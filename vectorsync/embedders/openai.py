"""Embeddings from OpenAI, or from any server that speaks its `/v1/embeddings` API (vLLM, Ollama, LM Studio, Azure).

The official client makes the calls with its own retries off: vectorsync retries itself, so that each retry
is logged and honours the server's Retry-After, and hands Prefect a `TransientError` when it gives up.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import openai
from pydantic import SecretStr

from vectorsync.embedders.base import Embedder, Tokenizer
from vectorsync.embedders.ratelimit import BACKOFF_CAP_S, RateLimiter, backoff_delay, retry_delay
from vectorsync.embedders.tokens import TokenCounter, get_token_counter
from vectorsync.errors import ConfigError, EmbedderError, EmbedderUnavailable, TransientError
from vectorsync.redaction import redact

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
NATIVE_DIMENSIONS: Mapping[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
SHORTENABLE_MODELS = frozenset({"text-embedding-3-small", "text-embedding-3-large"})
KNOWN_MAX_TOKENS = 8191
# Most self-hosted embedding models are BERT-like with a 512-token window; pass max_tokens for longer ones.
UNKNOWN_MAX_TOKENS = 512
PLACEHOLDER_API_KEY = "not-needed"

_SECRET_HEADER = re.compile(r"key|auth|token|secret|cookie", re.I)
_TOO_LONG = re.compile(r"context length|too long|maximum .*tokens|tokens per request", re.I)
_RETRIED_STATUSES = frozenset({408, 409, 429})
# Statuses that blame the request's input: its chunk can be dead-lettered. Any other 4xx blames the setup.
_INPUT_STATUSES = frozenset({400, 413, 422})
_DETAIL_CHARS = 300


class OpenAIEmbedder(Embedder):
    """Embeds texts through an OpenAI-compatible embeddings endpoint, in batches within the API's limits.

    An API key is required for api.openai.com (from OPENAI_API_KEY); for any other `base_url` a missing
    key is sent as "not-needed", since local servers ignore it and those that do not answer 401.
    The key is kept as a `SecretStr` and scrubbed from every message; `identity` never contains it.

    Retried with backoff (and the server's Retry-After): 429, 408, 409, 5xx, timeouts, lost connections.
    Not retried, as `EmbedderUnavailable` (every input would fail alike): bad key, no permission, unknown
    model or URL, exhausted quota, and malformed 200 responses (a server answering garbage is misconfigured;
    a retry would spend budget to get the same garbage). Not retried, as `EmbedderError` (the input's own
    fault): input too long or otherwise invalid (400, 413, 422).
    A Retry-After longer than a minute is not slept on here: it comes back at once as `TransientError`.
    Up to `concurrent_requests` requests of one `encode` are in flight at once, each within the rate limits.

    `query_prompt` and `document_prompt` go before each query and document, for served models trained with them.

    >>> embedder = OpenAIEmbedder("text-embedding-3-small", api_key=settings.openai_api_key, dimensions=512)
    >>> embedder.encode(["hello", "world"]).shape
    (2, 512)
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | SecretStr | None,
        base_url: str | None = None,
        dimensions: int | None = None,
        headers: Mapping[str, str] | None = None,
        max_tokens: int | None = None,
        normalize: bool = False,
        max_batch_inputs: int = 2048,
        max_batch_tokens: int = 300_000,
        timeout_s: float = 60,
        max_retries: int = 6,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        concurrent_requests: int = 1,
        query_prompt: str = "",
        document_prompt: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_id = model
        self._base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self._url = _display_url(self._base_url)
        self._api_key = SecretStr(_resolve_key(api_key, self._base_url))
        self._headers = dict(headers or {})
        self._secrets = (
            self._api_key.get_secret_value(),
            *(value for name, value in self._headers.items() if _SECRET_HEADER.search(name)),
        )
        self._requested_dimensions = _checked_dimensions(model, dimensions)
        self._dimensions = self._requested_dimensions or NATIVE_DIMENSIONS.get(model)
        self._max_tokens = _checked_max_tokens(model, max_tokens)
        self._normalize = normalize
        self._query_prompt, self._document_prompt = query_prompt, document_prompt
        if max_batch_inputs < 1 or max_batch_tokens < 1:
            raise ConfigError(f"max_batch_inputs and max_batch_tokens must be at least 1 (model '{model}')")
        self._max_batch_inputs = max_batch_inputs
        self._max_batch_tokens = max_batch_tokens
        if timeout_s <= 0 or max_retries < 0:
            raise ConfigError(f"timeout_s must be positive and max_retries at least 0 (model '{model}')")
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        if concurrent_requests < 1:
            raise ConfigError(f"concurrent_requests must be at least 1 (model '{model}')")
        self._concurrent = concurrent_requests
        self._pool: ThreadPoolExecutor | None = None
        self._client_lock = threading.Lock()
        self._sleep = sleep
        self._limiter = RateLimiter(requests_per_minute, tokens_per_minute, clock=clock, sleep=sleep)
        self._counter: TokenCounter | None = None
        self._client: openai.OpenAI | None = None
        self.tokens_used = 0
        """Input tokens the server reported (usage.prompt_tokens) over this embedder's life, for pricing."""

    @property
    def identity(self) -> str:
        """Model, dimensions (requested or native), normalisation, document prompt and the server: never the key."""
        dimensions = self._requested_dimensions or NATIVE_DIMENSIONS.get(self.model_id) or "native"
        normalized = ":normalized" if self._normalize else ""
        prompt = f":document_prompt={json.dumps(self._document_prompt)}" if self._document_prompt else ""
        return f"openai:{self.model_id}:{dimensions}{normalized}{prompt}@{_location(self._base_url)}"

    @property
    def query_prompt(self) -> str:
        """The prompt before every query, as given: an OpenAI-compatible server publishes none."""
        return self._query_prompt

    @property
    def document_prompt(self) -> str:
        """The prompt before every document, as given (e.g. "search_document: " for nomic-embed-text)."""
        return self._document_prompt

    @property
    def dimensions(self) -> int:
        """Known for OpenAI's models; for others, read from one probe call the first time it is asked."""
        if self._dimensions is None:
            self._dimensions = self._request(
                ["dimensions probe"], tokens=self.estimate_tokens(["dimensions probe"])
            ).shape[1]
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        """8191 for OpenAI's models; the `max_tokens` argument (or 512) for others."""
        return self._max_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        """tiktoken's encoding when cached locally, else a conservative estimate."""
        return self.token_counter

    @property
    def token_counter(self) -> TokenCounter:
        """The token counter, loaded on first use; `exact` says whether it is the model's own tokenizer."""
        if self._counter is None:
            self._counter = get_token_counter(self.model_id)
        return self._counter

    @property
    def loaded(self) -> bool:
        """Whether the HTTP client exists, i.e. whether anything was sent."""
        return self._client is not None

    def estimate_tokens(self, texts: Sequence[str]) -> int:
        """Tokens `texts` will cost (never fewer than counted): what a shared rate limit should occupy."""
        return sum(self.token_counter.count(text) for text in texts)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed `texts` in order; `batch_size` caps inputs per request below `max_batch_inputs`."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        counts = self._checked_token_counts(texts)
        spans = list(self._batches(counts, batch_size))
        # Requests go out `concurrent_requests` at a time, each still waiting its turn at the rate limiter.
        parts = list(
            self._requests().map(
                lambda span: self._request(texts[span[0] : span[1]], sum(counts[span[0] : span[1]])), spans
            )
        )
        vectors = np.concatenate(parts)
        if self._normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
        return vectors.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r}, base_url={self._url!r})"

    def _checked_token_counts(self, texts: list[str]) -> list[int]:
        counts = []
        estimated = "" if self.token_counter.exact else " (estimated)"
        for index, text in enumerate(texts):
            if not text:
                raise EmbedderError(f"input {index} is empty: the embeddings API rejects empty strings")
            count = self.token_counter.count(text)
            if count > self._max_tokens:
                raise EmbedderError(
                    f"input {index} has {count} tokens{estimated}, over the {self._max_tokens} that "
                    f"'{self.model_id}' accepts: chunk it smaller before embedding"
                )
            counts.append(count)
        return counts

    def _batches(self, counts: list[int], batch_size: int | None) -> Iterator[tuple[int, int]]:
        """`(start, stop)` of consecutive batches within the input and token limits per request."""
        limit = min(batch_size or self._max_batch_inputs, self._max_batch_inputs)
        start, tokens = 0, 0
        for index, count in enumerate(counts):
            if index > start and (index - start >= limit or tokens + count > self._max_batch_tokens):
                yield start, index
                start, tokens = index, 0
            tokens += count
        yield start, len(counts)

    def _request(self, batch: list[str], tokens: int) -> np.ndarray:
        """One batch's vectors, retrying transient failures; raises `TransientError` once retries run out."""
        attempt = 0
        while True:
            self._limiter.acquire(tokens)
            try:
                response = self._http().embeddings.with_raw_response.create(
                    model=self.model_id, input=batch, encoding_format="float", **self._dimensions_argument()
                )
            except openai.APIStatusError as error:
                reason, hint = self._transient_status(error)
            except openai.APITimeoutError:
                reason, hint = f"no answer within {self._timeout_s:g}s", None
            except openai.APIConnectionError as error:
                reason, hint = f"connection failed: {self._cause(error)}", None
            else:
                return self._vectors(response.http_response.text, len(batch))
            if hint is not None and hint > BACKOFF_CAP_S:
                raise TransientError(f"{self._url} asks to wait {hint:g}s before retrying ({reason})", retry_after=hint)
            if attempt >= self._max_retries:
                raise TransientError(
                    f"embeddings request to {self._url} failed {attempt + 1} times; last: {reason}", retry_after=hint
                )
            delay = hint if hint is not None else backoff_delay(attempt)
            attempt += 1
            log.warning(
                "embeddings request to %s failed (%s); retry %d of %d in %.2fs",
                *(self._url, reason, attempt, self._max_retries, delay),
            )
            self._sleep(delay)

    def _requests(self) -> ThreadPoolExecutor:
        with self._client_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._concurrent, thread_name_prefix="vectorsync-openai")
            return self._pool

    def _http(self) -> openai.OpenAI:
        with self._client_lock:
            return self._client or self._new_client()

    def _new_client(self) -> openai.OpenAI:
        self._client = openai.OpenAI(
            api_key=self._api_key.get_secret_value(),
            base_url=self._base_url,
            default_headers=self._headers,
            max_retries=0,
            timeout=self._timeout_s,
        )
        return self._client

    def _dimensions_argument(self) -> dict[str, Any]:
        return {"dimensions": self._requested_dimensions} if self._requested_dimensions else {}

    def _transient_status(self, error: openai.APIStatusError) -> tuple[str, float | None]:
        """The reason and wait hint of a retryable HTTP error; raises for a permanent one.

        `EmbedderUnavailable` when no input could succeed (key, permission, model, quota, URL), so the run
        fails; `EmbedderError` only when the request's own input was refused, so its chunk is dead-lettered.
        """
        status, detail = error.status_code, self._detail(error)
        if status == 429 and "insufficient_quota" in (error.code, error.type):
            raise EmbedderUnavailable(
                f"quota exhausted: add credit or set OPENAI_API_KEY to another key (429 insufficient_quota "
                f"from {self._url})"
            ) from None
        if status in _RETRIED_STATUSES or status >= 500:
            return f"{status}: {detail}", retry_delay(error.response.headers, rate_limited=status == 429)
        if status == 401:
            raise EmbedderUnavailable(
                f"OpenAI rejected the API key (401) for {self._url}: check OPENAI_API_KEY (server said: {detail})"
            ) from None
        if status == 403:
            raise EmbedderUnavailable(
                f"the API key may not use model '{self.model_id}' at {self._url} (403: {detail}): check "
                "OPENAI_API_KEY's project and permissions, or VECTORSYNC_MODEL"
            ) from None
        if status == 404:
            raise EmbedderUnavailable(
                f"model '{self.model_id}' not found at {self._url} (404: {detail}): check VECTORSYNC_MODEL and "
                "OPENAI_BASE_URL"
            ) from None
        if status == 400 and (error.code == "context_length_exceeded" or _TOO_LONG.search(detail)):
            raise EmbedderError(
                f"input too long for model '{self.model_id}' at {self._url} (400: {detail}): chunk with fewer "
                "tokens (VECTORSYNC_CHUNK_TOKENS)"
            ) from None
        if status in _INPUT_STATUSES:
            raise EmbedderError(
                f"model '{self.model_id}' at {self._url} refused the input ({status}: {detail})"
            ) from None
        raise EmbedderUnavailable(
            f"{self._url} refused the request for model '{self.model_id}' ({status}: {detail}): check OPENAI_BASE_URL"
        ) from None

    def _vectors(self, body: str, count: int) -> np.ndarray:
        """The `(count, dimensions)` float32 vectors of a 200 response's body, in input order, checked."""
        try:
            payload = json.loads(body)
        except ValueError:
            raise self._malformed(f"not JSON (starts {body[:80]!r})") from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise self._malformed("no 'data' list")
        if len(data) != count:
            raise self._malformed(f"{len(data)} embeddings for {count} inputs")
        try:
            ordered = sorted(data, key=lambda item: item["index"])
            indices = [item["index"] for item in ordered]
            vectors = np.asarray([item["embedding"] for item in ordered], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as error:
            raise self._malformed(f"unreadable embeddings ({type(error).__name__}: {error})") from None
        if indices != list(range(count)):
            raise self._malformed(f"indices {indices[:5]}... are not 0..{count - 1}")
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            raise self._malformed("embeddings are empty or ragged")
        if not np.isfinite(vectors).all():  # one input's result, not the server's setup: that chunk is to blame
            raise EmbedderError(f"{self._url} returned a vector with NaN or infinity for model '{self.model_id}'")
        if self._dimensions is None:
            self._dimensions = vectors.shape[1]
        elif vectors.shape[1] != self._dimensions:
            raise EmbedderUnavailable(
                f"{self._url} returned {vectors.shape[1]}-dimensional vectors for model '{self.model_id}', "
                f"expected {self._dimensions}: check VECTORSYNC_MODEL, VECTORSYNC_DIMENSIONS and OPENAI_BASE_URL"
            )
        usage = payload.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
            with self._client_lock:
                self.tokens_used += usage["prompt_tokens"]
        return vectors

    def _malformed(self, reason: str) -> EmbedderUnavailable:
        return EmbedderUnavailable(
            redact(
                f"malformed response from {self._url} for model '{self.model_id}': {reason}; check that "
                "OPENAI_BASE_URL is an OpenAI-compatible embeddings API",
                *self._secrets,
            )
        )

    def _detail(self, error: openai.APIStatusError) -> str:
        """The server's own error message, without secrets, on one line."""
        body = error.body
        message = body.get("message") if isinstance(body, dict) else body
        if not isinstance(message, str) or not message.strip():
            message = error.message
        return redact(" ".join(message.split()), *self._secrets)[:_DETAIL_CHARS]

    def _cause(self, error: Exception) -> str:
        cause = error.__cause__ or error
        return redact(f"{type(cause).__name__}: {cause}", *self._secrets)[:_DETAIL_CHARS]


def _resolve_key(api_key: str | SecretStr | None, base_url: str) -> str:
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    if key and key.strip():
        return key.strip()
    if urlsplit(base_url).hostname != urlsplit(OPENAI_BASE_URL).hostname:
        return PLACEHOLDER_API_KEY
    raise ConfigError(
        f"OPENAI_API_KEY is not set: the OpenAI embedder needs an API key for {OPENAI_BASE_URL} "
        "(or set OPENAI_BASE_URL to a local server that needs none)"
    )


def _checked_dimensions(model: str, dimensions: int | None) -> int | None:
    if dimensions is None:
        return None
    native = NATIVE_DIMENSIONS.get(model)
    if dimensions < 1:
        raise ConfigError(f"dimensions must be at least 1, got {dimensions} for model '{model}'")
    if native is not None and model not in SHORTENABLE_MODELS and dimensions != native:
        raise ConfigError(f"model '{model}' does not accept dimensions (it always returns {native}): unset dimensions")
    if native is not None and dimensions > native:
        raise ConfigError(f"dimensions={dimensions} is more than model '{model}' has ({native}): use at most {native}")
    return dimensions if model in SHORTENABLE_MODELS or native is None else None


def _checked_max_tokens(model: str, max_tokens: int | None) -> int:
    ceiling = KNOWN_MAX_TOKENS if model in NATIVE_DIMENSIONS else None
    if max_tokens is None:
        return ceiling or UNKNOWN_MAX_TOKENS
    if max_tokens < 1 or (ceiling is not None and max_tokens > ceiling):
        raise ConfigError(f"max_tokens={max_tokens} is out of range for model '{model}' (1..{ceiling or 'any'})")
    return max_tokens


def _display_url(base_url: str) -> str:
    """`base_url` without credentials or query, safe to print."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{_location(base_url)}"


def _location(base_url: str) -> str:
    """Host, port and path of `base_url`: which server (and Azure deployment) answers."""
    parts = urlsplit(base_url)
    port = f":{parts.port}" if parts.port else ""
    return f"{(parts.hostname or '').lower()}{port}{parts.path.rstrip('/')}"
