"""Published figures to compare an evaluation with, each with where it was published."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """Metric values a paper or leaderboard reports for one model on one dataset."""

    scores: dict[str, float]
    source: str


# MTEB paper results (embeddings-benchmark/mtebpaper, results/all-MiniLM-L6-v2/SciFact.json, split test):
# exact cosine search, documents as (title + " " + text).strip(), truncated at max_seq_length 256.
PUBLISHED: dict[tuple[str, str], Reference] = {
    ("scifact", "all-MiniLM-L6-v2"): Reference(
        {"ndcg@10": 0.64508, "recall@10": 0.78333, "recall@100": 0.925},
        "MTEB (Muennighoff et al., EACL 2023), BEIR SciFact test, exact search, max_seq_length 256",
    ),
}


def published_reference(dataset: str, model: str) -> Reference | None:
    """The published figures for `model` on `dataset`, if known."""
    return PUBLISHED.get((dataset.lower(), model.removeprefix("sentence-transformers/")))
