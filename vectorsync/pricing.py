"""What hosted embedding models cost, so a run can report what it spent or would spend."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# OpenAI list prices in USD per million input tokens (standard tier); pass `overrides` when they change.
PRICE_PER_MILLION_TOKENS: Mapping[str, float] = MappingProxyType(
    {
        "text-embedding-3-small": 0.02,
        "text-embedding-3-large": 0.13,
        "text-embedding-ada-002": 0.10,
    }
)


def price_per_million_tokens(model: str, overrides: Mapping[str, float] | None = None) -> float | None:
    """USD per million input tokens for `model`, or None when unknown (a self-hosted server, say)."""
    if overrides and model in overrides:
        return overrides[model]
    return PRICE_PER_MILLION_TOKENS.get(model)


def cost_usd(model: str, tokens: int, overrides: Mapping[str, float] | None = None) -> float | None:
    """What embedding `tokens` input tokens with `model` costs in USD, or None when its price is unknown."""
    price = price_per_million_tokens(model, overrides)
    return None if price is None else tokens * price / 1_000_000
