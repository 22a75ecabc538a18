"""A local HTTP server that speaks OpenAI's `POST /v1/embeddings`, with faults a test can queue.

Real JSON, real status codes and rate-limit headers, deterministic vectors from each text's hash (equal
texts give equal vectors), and a record of every request so tests can check batching.

    with FakeOpenAI() as server:
        server.queue(Fault.rate_limited(retry_after="2"))
        OpenAIEmbedder(api_key=server.api_key, base_url=server.base_url).encode(["hi"])
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

DEFAULT_MODELS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
SHORTENABLE = frozenset({"text-embedding-3-small", "text-embedding-3-large"})
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "3000",
    "x-ratelimit-limit-tokens": "1000000",
    "x-ratelimit-remaining-requests": "2999",
    "x-ratelimit-remaining-tokens": "999000",
    "x-ratelimit-reset-requests": "20ms",
    "x-ratelimit-reset-tokens": "60ms",
}


def fake_token_count(text: str) -> int:
    """The server's own count: one token per 4 UTF-8 bytes, rounded up (about cl100k on English)."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 4))


def fake_vector(model: str, text: str, dimensions: int) -> np.ndarray:
    """The unit vector the server returns for `text`: seeded by its hash, cut to `dimensions` like OpenAI v3."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\0{text}".encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dimensions)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@dataclass(frozen=True)
class Fault:
    """One scripted answer that replaces the normal one: a status, headers, a raw body, a delay, or a hang-up."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay_s: float = 0.0
    disconnect: bool = False

    @staticmethod
    def rate_limited(
        retry_after: str | None = None, *, retry_after_ms: str | None = None, **ratelimit_headers: str
    ) -> Fault:
        """429 rate_limit_exceeded; keyword arguments become `x-ratelimit-*` headers (reset_tokens="6m0s")."""
        headers = {f"x-ratelimit-{name.replace('_', '-')}": value for name, value in ratelimit_headers.items()}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        if retry_after_ms is not None:
            headers["retry-after-ms"] = retry_after_ms
        message = "Rate limit reached for requests. Please try again later."
        return Fault(429, headers, _error_body(message, "requests", "rate_limit_exceeded"))

    @staticmethod
    def insufficient_quota() -> Fault:
        """429 that no retry heals: the account has no credit."""
        message = "You exceeded your current quota, please check your plan and billing details."
        return Fault(429, {}, _error_body(message, "insufficient_quota", "insufficient_quota"))

    @staticmethod
    def refused(status: int, message: str, kind: str = "invalid_request_error") -> Fault:
        """Any 4xx with OpenAI's error body (403 no permission, 400 invalid input, ...)."""
        return Fault(status, {}, _error_body(message, kind))

    @staticmethod
    def server_error(status: int = 500) -> Fault:
        """A 5xx with OpenAI's error body."""
        return Fault(status, {}, _error_body("The server had an error while processing your request.", "server_error"))

    @staticmethod
    def slow(delay_s: float) -> Fault:
        """The normal answer, but only after `delay_s` (longer than the client's timeout to provoke one)."""
        return Fault(delay_s=delay_s)

    @staticmethod
    def malformed(body: bytes = b"<html><body>502 Bad Gateway</body></html>") -> Fault:
        """200 with a body that is not a valid embeddings response."""
        return Fault(200, {"content-type": "text/html"}, body)

    @staticmethod
    def hang_up() -> Fault:
        """Close the connection without answering."""
        return Fault(disconnect=True)


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received: path, headers (lower-cased names), JSON body, inputs, their token count, and when.

    `received_at` is `time.monotonic()` as the request arrived, to measure the waits between retries.
    """

    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    inputs: list[str]
    tokens: int
    received_at: float = 0.0


class FakeOpenAI:
    """OpenAI's embeddings endpoint on 127.0.0.1 (a free port), in a background thread.

    `api_key=None` accepts any key (like a local server); `max_tokens` and `max_inputs` are the limits
    it enforces with 400s; `unnormalized` models return vectors of norm 3; `shuffle` answers in reverse order.
    """

    def __init__(
        self,
        api_key: str | None = "sk-fake-test-key-0123456789",
        *,
        models: dict[str, int] | None = None,
        max_tokens: int = 8192,
        max_inputs: int = 2048,
        max_request_tokens: int = 300_000,
        unnormalized: frozenset[str] = frozenset(),
        shuffle: bool = False,
    ) -> None:
        self.api_key = api_key
        self.models = dict(DEFAULT_MODELS if models is None else models)
        self.max_tokens = max_tokens
        self.max_inputs = max_inputs
        self.max_request_tokens = max_request_tokens
        self.unnormalized = unnormalized
        self.shuffle = shuffle
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        """What to pass as `base_url` (ends in /v1, like OpenAI's)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, one each, in order; then answer normally."""
        with self._lock:
            self._faults.extend(faults)

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            return self._faults.popleft() if self._faults else None

    def answer(self, headers: dict[str, str], body: dict[str, Any] | None) -> tuple[int, dict[str, str], bytes]:
        """The normal answer to an embeddings request: status, headers and JSON body."""
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            sent = headers.get("authorization", "").removeprefix("Bearer ")
            # Echo the key back, as a careless proxy might: the client must scrub it.
            message = f"Incorrect API key provided: {sent}. You can find your API key in your dashboard."
            return 401, {}, _error_body(message, "invalid_request_error", "invalid_api_key")
        if body is None:
            return 400, {}, _error_body("We could not parse the JSON body of your request.", "invalid_request_error")
        model = body.get("model")
        if model not in self.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return 404, {}, _error_body(message, "invalid_request_error", "model_not_found")
        inputs = _inputs(body)
        if inputs is None or not inputs or len(inputs) > self.max_inputs or any(not text for text in inputs):
            message = f"'$.input' is invalid: give 1 to {self.max_inputs} non-empty strings."
            return 400, {}, _error_body(message, "invalid_request_error")
        counts = [fake_token_count(text) for text in inputs]
        if max(counts) > self.max_tokens:
            message = (
                f"This model's maximum context length is {self.max_tokens} tokens, however you requested "
                f"{max(counts)} tokens. Please reduce your prompt."
            )
            return 400, {}, _error_body(message, "invalid_request_error")
        if sum(counts) > self.max_request_tokens:
            message = f"Requested {sum(counts)} tokens, max {self.max_request_tokens} tokens per request"
            return 400, {}, _error_body(message, "max_tokens_per_request")
        native = self.models[model]
        dimensions = body.get("dimensions", native)
        if "dimensions" in body and model not in SHORTENABLE and model in DEFAULT_MODELS:
            return 400, {}, _error_body("This model does not support specifying dimensions.", "invalid_request_error")
        if not isinstance(dimensions, int) or not 1 <= dimensions <= native:
            return 400, {}, _error_body(f"dimensions must be 1..{native}", "invalid_request_error")
        scale = 3.0 if model in self.unnormalized else 1.0
        items = [
            {
                "object": "embedding",
                "index": index,
                "embedding": _encode(scale * fake_vector(model, text, dimensions), body),
            }
            for index, text in enumerate(inputs)
        ]
        if self.shuffle:
            items.reverse()
        payload = {
            "object": "list",
            "data": items,
            "model": model,
            "usage": {"prompt_tokens": sum(counts), "total_tokens": sum(counts)},
        }
        headers = {**RATE_LIMIT_HEADERS, "openai-model": model, "openai-processing-ms": "12"}
        return 200, headers, json.dumps(payload).encode()


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            inputs = _inputs(body) or []
            tokens = sum(map(fake_token_count, inputs))
            recorded = RecordedRequest(self.path, headers, body, inputs, tokens, received_at=time.monotonic())
            fault = server._record(recorded)
            if fault and fault.delay_s:
                time.sleep(fault.delay_s)
            if fault and fault.disconnect:
                self.close_connection = True
                return
            if self.path != "/v1/embeddings":
                self._send(404, {}, _error_body(f"Invalid URL (POST {self.path})", "invalid_request_error"))
            elif fault and fault.body is not None:
                self._send(fault.status, fault.headers, fault.body)
            else:
                self._send(*server.answer(headers, body if isinstance(body, dict) else None))

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            headers = dict(headers)
            try:
                self.send_response(status)
                self.send_header("content-type", headers.pop("content-type", "application/json"))
                self.send_header("content-length", str(len(body)))
                self.send_header("x-request-id", f"req_{len(server.requests)}")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `server.requests` instead."""

    return Handler


def _inputs(body: Any) -> list[str] | None:
    value = body.get("input") if isinstance(body, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(text, str) for text in value):
        return value
    return None


def _encode(vector: np.ndarray, body: dict[str, Any]) -> list[float] | str:
    if body.get("encoding_format") == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return [float(x) for x in vector]


def _error_body(message: str, kind: str, code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
