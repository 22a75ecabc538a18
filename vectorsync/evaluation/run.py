"""Run a labelled set's queries through a store's own search and score the ranking of corpus documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vectorsync.embedders.base import Embedder
from vectorsync.evaluation.metrics import Qrels, score_run
from vectorsync.records import Hit
from vectorsync.stores.base import VectorStore


@dataclass(frozen=True)
class Retrieval:
    """Each query's ranked corpus documents (corpus id -> score) and how many store searches it took."""

    run: dict[str, dict[str, float]]
    searches: int


def retrieve(
    store: VectorStore,
    embedder: Embedder,
    queries: Mapping[str, str],
    k: int = 100,
    exact: bool = False,
    batch_size: int | None = None,
) -> Retrieval:
    """The top `k` corpus documents per query; all queries are embedded in one call, then searched one by one.

    A document split into chunks scores as its best chunk (max-per-document, the usual rule), so the search
    widens until it has `k` distinct documents or the store has no more.
    """
    ids = list(queries)
    vectors = embedder.encode_queries([queries[query] for query in ids], batch_size=batch_size)
    run: dict[str, dict[str, float]] = {}
    searches = 0
    for query, vector in zip(ids, vectors, strict=True):
        limit = k
        while True:
            hits = store.search(vector, k=limit, exact=exact)
            searches += 1
            ranked = best_per_document(hits)
            if len(ranked) >= k or len(hits) < limit:
                break
            limit *= 2
        run[query] = dict(sorted(ranked.items(), key=lambda item: item[1], reverse=True)[:k])
    return Retrieval(run, searches)


def best_per_document(hits: list[Hit]) -> dict[str, float]:
    """Corpus id -> the best score among its chunks; hits without a corpus id fall back to the document id."""
    best: dict[str, float] = {}
    for hit in hits:
        doc = str(hit.metadata.get("corpus_id", hit.document))
        if hit.score > best.get(doc, float("-inf")):
            best[doc] = hit.score
    return best


def evaluate_store(
    store: VectorStore,
    embedder: Embedder,
    queries: Mapping[str, str],
    qrels: Qrels,
    k: int = 100,
    exact: bool = False,
    batch_size: int | None = None,
) -> dict[str, float]:
    """nDCG@10, recall@10, recall@100 and MRR@10 of the store's search over the judged `queries`."""
    return score_run(qrels, retrieve(store, embedder, queries, k=k, exact=exact, batch_size=batch_size).run)
