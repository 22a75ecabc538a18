"""Several models scored on one labelled set: which model each row is, and what its vectors cost to keep."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bson
import numpy as np

from vectorsync.errors import ConfigError
from vectorsync.settings import Settings

_DIMENSIONS_SUFFIX = re.compile(r"^(?P<model>.+):(?P<dimensions>\d+)$")
_SLUG = re.compile(r"[^A-Za-z0-9]+")
# The columns of a comparison, in the order the terminal and the Prefect artifact show them.
COLUMNS = (
    "model",
    "dimensions",
    "max_tokens",
    "ndcg@10",
    "recall@100",
    "mrr@10",
    "docs_per_s",
    "bytes_per_vector",
    "gb_per_million",
)


@dataclass(frozen=True)
class ModelChoice:
    """One model to compare: an id or local path, and the Matryoshka dimensions to cut it to (None: native)."""

    model: str
    dimensions: int | None = None

    @property
    def label(self) -> str:
        """`model` or `model:256`, as the user wrote it."""
        return f"{self.model}:{self.dimensions}" if self.dimensions else self.model

    def table(self, base: str) -> str:
        """This model's table beside `base` (`eval_scifact__all_minilm_l6_v2_256d`), so models never share one."""
        slug = _SLUG.sub("_", self.model.rstrip("/").split("/")[-1]).strip("_").lower() or "model"
        return f"{base}__{slug}" + (f"_{self.dimensions}d" if self.dimensions else "")

    def settings(self, settings: Settings) -> Settings:
        """`settings` with this model and dimensions in force."""
        return settings.model_copy(update={"model": self.model, "dimensions": self.dimensions})


def parse_model_choice(text: str) -> ModelChoice:
    """`all-MiniLM-L6-v2` or `all-MiniLM-L6-v2:256` (a trailing `:N` cuts the vectors to N dimensions)."""
    spec = text.strip()
    if not spec:
        raise ConfigError("--model: a model to compare must be named, e.g. all-MiniLM-L6-v2 or all-MiniLM-L6-v2:256")
    found = _DIMENSIONS_SUFFIX.match(spec)
    if found is None:
        return ModelChoice(spec)
    dimensions = int(found["dimensions"])
    if dimensions < 1:
        raise ConfigError(f"--model {spec!r}: dimensions after ':' must be at least 1")
    return ModelChoice(found["model"], dimensions)


def bytes_per_vector(dimensions: int, settings: Settings) -> int:
    """Bytes one vector takes as the store keeps it: float32 in LanceDB, the BSON value of `vector_format` in Atlas."""
    if settings.store_kind == "lancedb":
        return 4 * dimensions
    from vectorsync.stores.mongo_commands import encode_vector

    value = encode_vector(np.full(dimensions, 0.5, dtype=np.float32), settings.vector_format)
    # {"v": value} encodes as 4 length bytes, a type byte, the key "v" and its NUL, the value, a closing NUL.
    return len(bson.encode({"v": value})) - 8


def comparison_row(choice: ModelChoice, result: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """One row of the comparison from an evaluation's `result` (its scores, dimensions, tokens and timing)."""
    size = bytes_per_vector(int(result["dimensions"]), settings)
    seconds = float(result.get("embed_seconds") or 0.0)
    fresh = result["embedded"] == result["chunks"] and seconds > 0
    return {
        "model": choice.label,
        "dimensions": int(result["dimensions"]),
        "max_tokens": int(result["max_tokens"]),
        "ndcg@10": float(result["ndcg@10"]),
        "recall@10": float(result["recall@10"]),
        "recall@100": float(result["recall@100"]),
        "mrr@10": float(result["mrr@10"]),
        # Only a run that embedded the whole corpus measures throughput; a re-run reuses the stored vectors.
        "docs_per_s": round(result["documents"] / seconds, 1) if fresh else None,
        "bytes_per_vector": size,
        "gb_per_million": round(size * 1_000_000 / 1e9, 3),
        "table": result["table"],
    }


def require_distinct(choices: Sequence[ModelChoice]) -> None:
    """Two choices with one table would overwrite each other's vectors."""
    seen: dict[str, str] = {}
    for choice in choices:
        key = choice.table("x")
        if key in seen:
            raise ConfigError(f"--model {choice.label} and --model {seen[key]} would share one table; name each once")
        seen[key] = choice.label
