"""Embedders: one interface, a local sentence-transformers model or a hosted OpenAI-compatible API."""

from __future__ import annotations

import threading

from vectorsync.embedders.base import Embedder, Tokenizer
from vectorsync.settings import Settings

__all__ = ["Embedder", "Tokenizer", "build_embedder", "register_embedder", "shared_embedder"]

_shared: dict[tuple[object, ...], Embedder] = {}
_shared_lock = threading.Lock()


def build_embedder(settings: Settings) -> Embedder:
    """A new embedder as `settings` describe it; nothing is loaded until it is used."""
    if settings.embedder == "openai":
        from vectorsync.embedders.openai import OpenAIEmbedder

        return OpenAIEmbedder(
            settings.model_name,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            dimensions=settings.dimensions,
            max_tokens=settings.openai_max_tokens,
            timeout_s=settings.openai_timeout_s,
            requests_per_minute=settings.openai_requests_per_minute,
            tokens_per_minute=settings.openai_tokens_per_minute,
            concurrent_requests=settings.openai_concurrent_requests,
            query_prompt=settings.query_prompt or "",
            document_prompt=settings.document_prompt or "",
        )
    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.model_name,
        device=settings.device,
        batch_size=settings.batch_size,
        normalize=settings.normalize,
        truncate_dim=settings.dimensions,
        backend=settings.backend,
        query_prompt=settings.query_prompt,
        document_prompt=settings.document_prompt,
        trust_remote_code=settings.trust_remote_code,
    )


def shared_embedder(settings: Settings) -> Embedder:
    """One embedder per configuration per process, so a model is loaded once and reused by every task."""
    key = _key(settings)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = build_embedder(settings)
        return _shared[key]


def register_embedder(settings: Settings, embedder: Embedder) -> None:
    """Make `embedder` the one every task uses for `settings` (an instance built by hand, e.g. in a notebook)."""
    with _shared_lock:
        _shared[_key(settings)] = embedder


def _key(settings: Settings) -> tuple[object, ...]:
    return (
        settings.embedder,
        settings.model_name,
        settings.device,
        settings.batch_size,
        settings.normalize,
        settings.dimensions,
        settings.backend,
        settings.query_prompt,
        settings.document_prompt,
        settings.trust_remote_code,
        settings.openai_base_url,
        settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
    )
