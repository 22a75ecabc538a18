"""A token budget per minute for hosted embedders, shared by every run that talks to one Prefect server."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

from vectorsync.embedders.base import Embedder
from vectorsync.settings import Settings


def spend_tokens(settings: Settings, embedder: Embedder, texts: Sequence[str]) -> None:
    """Wait until the shared budget has room for `texts`; a no-op without a budget or a Prefect server."""
    budget = settings.openai_tokens_per_minute
    if settings.embedder != "openai" or not budget or not get_current_settings().api.url:
        return
    name = f"vectorsync-openai-tokens-{settings.model_name}"
    _ensure_rate_limit(name, budget)
    tokens = sum(embedder.count_tokens(embedder.document_prompt + text) for text in texts)
    rate_limit(name, occupy=max(1, min(tokens, budget)), strict=True)


def _ensure_rate_limit(name: str, per_minute: int) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            limit = GlobalConcurrencyLimitCreate(name=name, limit=per_minute, slot_decay_per_second=per_minute / 60)
            client.create_global_concurrency_limit(limit)
