"""Prices of hosted embedding models."""

from __future__ import annotations

import pytest

from vectorsync.pricing import cost_usd, price_per_million_tokens


@pytest.mark.parametrize(
    ("model", "price"),
    [("text-embedding-3-small", 0.02), ("text-embedding-3-large", 0.13), ("text-embedding-ada-002", 0.10)],
)
def test_default_prices_per_million_tokens(model, price):
    assert price_per_million_tokens(model) == price


def test_overrides_win_and_unknown_models_have_no_price():
    assert price_per_million_tokens("text-embedding-3-small", {"text-embedding-3-small": 0.01}) == 0.01
    assert price_per_million_tokens("nomic-embed-text") is None
    assert cost_usd("nomic-embed-text", 1000) is None


def test_cost_scales_with_tokens():
    assert cost_usd("text-embedding-3-large", 2_000_000) == pytest.approx(0.26)
    assert cost_usd("local", 500_000, {"local": 1.0}) == pytest.approx(0.5)
