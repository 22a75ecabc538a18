"""Retrieval metrics computed by trec_eval's own code (`pytrec_eval`), as BEIR and MTEB compute them.

Figures are means over the judged queries; a judged query with no hits counts as 0, never as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from vectorsync.errors import ConfigError

# Our names -> trec_eval's measure and the key its per-query results use.
MEASURES: dict[str, tuple[str, str]] = {
    "ndcg@10": ("ndcg_cut.10", "ndcg_cut_10"),
    "recall@10": ("recall.10", "recall_10"),
    "recall@100": ("recall.100", "recall_100"),
    "mrr@10": ("recip_rank", "recip_rank"),
}
METRICS = tuple(MEASURES)

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def score_run(qrels: Qrels, run: Run) -> dict[str, float]:
    """nDCG@10, recall@10, recall@100 and MRR@10 of `run` (query -> corpus id -> score) against `qrels`.

    MRR@10 is trec_eval's reciprocal rank over each query's top 10 only, as BEIR's `mrr` cuts the run first.
    """
    pytrec_eval = _pytrec_eval()
    judged = {query: dict(docs) for query, docs in qrels.items()}
    full = {query: dict(run.get(query, {})) for query in judged}
    cut = {query: dict(top_ranked(docs, 10)) for query, docs in full.items()}
    per_query = pytrec_eval.RelevanceEvaluator(judged, {m for name, (m, _) in MEASURES.items() if name != "mrr@10"})
    rank_scores = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}).evaluate(cut)
    results = per_query.evaluate(full)
    scores: dict[str, float] = {}
    for name, (_, key) in MEASURES.items():
        source = rank_scores if name == "mrr@10" else results
        scores[name] = sum(source.get(query, {}).get(key, 0.0) for query in judged) / max(len(judged), 1)
    return scores


def top_ranked(docs: Mapping[str, float], k: int) -> list[tuple[str, float]]:
    """The `k` best (corpus id, score) pairs in trec_eval's order: score descending, ties by id descending."""
    return sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)[:k]


def _pytrec_eval() -> ModuleType:
    try:
        import pytrec_eval
    except ImportError:
        raise ConfigError(
            "evaluation needs pytrec_eval (trec_eval's implementation): pip install 'vectorsync[eval]'"
        ) from None
    return pytrec_eval
