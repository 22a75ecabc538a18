"""ONNX int8 against torch float32 on BEIR SciFact: nDCG@10 of exact search, and documents per second.

The int8 model may replace float32 by default only if its nDCG@10 stays within 0.01 and it is faster.
Both models embed the same 5,183 abstracts (title and text, truncated by the model as MTEB does) in
interleaved slices, so machine load falls on both alike. Exits 1 when the quality tolerance is missed.

    python -m benchmarks.onnx_quality [--data ../shared/data/scifact] [--limit 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import measure

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
TOLERANCE = 0.01
TOP = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="BEIR SciFact folder")
    parser.add_argument("--limit", type=int, help="embed only the first N documents (a quick, partial check)")
    parser.add_argument("--slice", type=int, default=250, help="documents per interleaved slice")
    args = parser.parse_args()
    if not (args.data / "qrels" / "test.tsv").is_file():
        print(f"skipped: SciFact not found at {args.data}")
        return 0

    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder
    from vectorsync.evaluation import load_dataset, score_run

    dataset = load_dataset(args.data)
    records = list(dataset.records())[: args.limit]
    texts = [record.text for record in records]
    ids = [record.metadata["corpus_id"] for record in records]
    embedders = {name: SentenceTransformerEmbedder(backend=name) for name in ("torch", "onnx")}
    for embedder in embedders.values():
        embedder.encode(["warm up"])
    print(f"{len(texts)} documents, {len(dataset.queries)} queries; machine: {measure.machine()}")
    print(f"onnx identity: {embedders['onnx'].identity}")

    seconds = dict.fromkeys(embedders, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    for number, start in enumerate(range(0, len(texts), args.slice)):
        for name in measure.rotated(list(embedders), number):
            began = time.perf_counter()
            parts[name].append(embedders[name].encode(texts[start : start + args.slice]))
            seconds[name] += time.perf_counter() - began

    query_ids = list(dataset.queries)
    scores = {}
    for name, embedder in embedders.items():
        queries = embedder.encode([dataset.queries[q] for q in query_ids])
        scores[name] = score_run(dataset.qrels, exact_run(queries, np.concatenate(parts[name]), query_ids, ids))

    torch_docs, onnx_docs = np.concatenate(parts["torch"]), np.concatenate(parts["onnx"])
    cosine = (torch_docs * onnx_docs).sum(axis=1)
    print("\nvariant   docs/s  speed-up  nDCG@10  recall@100   MRR@10")
    for name in embedders:
        rate = len(texts) / seconds[name]
        speedup = seconds["torch"] / seconds[name]
        figures = scores[name]
        print(
            f"{name:<8} {rate:7.1f}  {speedup:7.2f}x  {figures['ndcg@10']:.4f}  "
            f"{figures['recall@100']:10.4f}  {figures['mrr@10']:.4f}"
        )
    delta = scores["onnx"]["ndcg@10"] - scores["torch"]["ndcg@10"]
    print(f"cosine(torch, onnx) over documents: mean {cosine.mean():.4f}, min {cosine.min():.4f}")
    holds = abs(delta) <= TOLERANCE
    print(f"nDCG@10 onnx - torch = {delta:+.4f}: {'within' if holds else 'OUTSIDE'} the {TOLERANCE} tolerance")
    return 0 if holds else 1


def exact_run(
    queries: np.ndarray, documents: np.ndarray, query_ids: list[str], doc_ids: list[str]
) -> dict[str, dict[str, float]]:
    """Each query's `TOP` best documents by cosine similarity (vectors are normalised), as a trec_eval run."""
    similarity = queries @ documents.T
    top = np.argsort(-similarity, axis=1)[:, :TOP]
    return {query: {doc_ids[j]: float(similarity[i, j]) for j in top[i]} for i, query in enumerate(query_ids)}


if __name__ == "__main__":
    sys.exit(main())
