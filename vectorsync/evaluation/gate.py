"""The quality gate: a freshly embedded table must reach a floor on a labelled set before it may serve."""

from __future__ import annotations

from collections.abc import Mapping

from vectorsync.errors import ConfigError, QualityGateFailed
from vectorsync.settings import Settings


def on_table(settings: Settings, table: str) -> Settings:
    """The same settings aimed at another LanceDB table (or MongoDB collection)."""
    field = "mongodb_collection" if settings.store_kind == "mongodb" else "table"
    return settings.model_copy(update={field: table})


def require_swappable(settings: Settings) -> None:
    """Stop before any work when the store cannot swap a fresh table in."""
    if settings.store_kind != "lancedb":
        raise ConfigError(
            f"the quality gate swaps LanceDB tables; {settings.describe_store()} is {settings.store_kind}: "
            "evaluate without a floor, or run the gated job on the embedded store"
        )


def below_floor(scores: Mapping[str, float], floor: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """Metric -> (value, floor) for every metric under its floor."""
    return {name: (scores[name], minimum) for name, minimum in floor.items() if scores[name] < minimum}


def check_floor(scores: Mapping[str, float], floor: Mapping[str, float], serving: str) -> None:
    """Raise `QualityGateFailed` naming each metric below its floor and what keeps serving."""
    failures = below_floor(scores, floor)
    if not failures:
        return
    metric, (value, minimum) = next(iter(failures.items()))
    listed = "; ".join(f"{name} = {v:.4f} is below the floor {m:g}" for name, (v, m) in failures.items())
    raise QualityGateFailed(
        metric,
        minimum,
        value,
        f"quality gate failed: {listed}. The fresh table was discarded; {serving} keeps serving the previous vectors",
        dict(scores),
    )
