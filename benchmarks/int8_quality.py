"""Benchmark: SciFact retrieval through each MongoDB vector format, scored as Atlas's exact `$vectorSearch` scores them.

No Atlas is needed: every stored vector and every query go through `encode_vector`, the store's own encoder, and
the search is the exhaustive one Atlas runs for `exact: true` over what it indexed (cosine over the int8 codes,
Hamming distance over the bits, whose score falls as the distance grows). The variants:

- float32: the BSON float32 vectors, cosine (the reference);
- int8 per vector: each vector scaled so its largest component is ±127 (vectorsync's scheme before calibration);
- int8 calibrated: sentence-transformers' `quantize_embeddings(precision="int8")`, per-dimension ranges from the
  first `--calibration` vectors written (the store calibrates on its first write) and, as the best case, from the
  whole corpus;
- packed_bit: sentence-transformers' "ubinary", one bit per dimension, Hamming distance.

Documents are embedded whole and truncated by the model, as MTEB does (all-MiniLM-L6-v2: nDCG@10 0.6451).

Run it:  python -m benchmarks.int8_quality [--data ../shared/data/scifact] [--vectors /tmp/scifact.npz]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import measure

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
TOP = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="BEIR SciFact folder")
    parser.add_argument("--vectors", type=Path, help="cache the float32 vectors here (.npz) and reuse them")
    parser.add_argument("--calibration", type=int, default=1024, help="vectors in the store's calibration sample")
    args = parser.parse_args()
    if not (args.data / "qrels" / "test.tsv").is_file():
        print(f"skipped: SciFact not found at {args.data}")
        return 0

    from vectorsync.evaluation import load_dataset, score_run
    from vectorsync.stores.quantization import Int8Calibration

    dataset = load_dataset(args.data)
    query_ids = list(dataset.queries)
    doc_ids, documents, queries = embedded(dataset, query_ids, args.vectors)
    print(f"{len(doc_ids)} documents, {len(query_ids)} queries; machine: {measure.machine()}")

    first = Int8Calibration.from_vectors(documents[: args.calibration], model="benchmark")
    whole = Int8Calibration.from_vectors(documents, model="benchmark")
    variants: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "float32": lambda vectors: stored(vectors, "float32"),
        "int8 per vector": lambda vectors: stored(vectors, "int8"),
        f"int8 calibrated, first {args.calibration}": lambda vectors: stored(vectors, "int8", first),
        "int8 calibrated, whole corpus": lambda vectors: stored(vectors, "int8", whole),
        "packed_bit (ubinary)": lambda vectors: stored(vectors, "packed_bit"),
    }
    print("\nformat                              bytes/vector  nDCG@10  recall@100   MRR@10  vs float32 nDCG@10")
    reference = None
    for name, encode in variants.items():
        codes_docs, codes_queries = encode(documents), encode(queries)
        bits = name.startswith("packed_bit")
        similarity = -hamming(codes_queries, codes_docs) if bits else cosine(codes_queries, codes_docs)
        figures = score_run(dataset.qrels, ranked(similarity, query_ids, doc_ids))
        reference = reference or figures["ndcg@10"]
        size = documents.shape[1] // 8 if bits else documents.shape[1] * (4 if name == "float32" else 1)
        print(
            f"{name:<36}{size:>12}  {figures['ndcg@10']:.4f}  {figures['recall@100']:10.4f}  "
            f"{figures['mrr@10']:.4f}  {figures['ndcg@10'] - reference:+.4f}"
        )
    return 0


def embedded(dataset: object, query_ids: list[str], cache: Path | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Corpus ids, document vectors and query vectors from the torch float32 model (read from `cache` if there)."""
    if cache and cache.is_file():
        saved = np.load(cache)
        return [str(i) for i in saved["ids"]], saved["documents"], saved["queries"]
    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

    records = list(dataset.records())  # type: ignore[attr-defined]
    embedder = SentenceTransformerEmbedder(backend="torch")
    ids = [str(record.metadata["corpus_id"]) for record in records]
    documents = embedder.encode_documents([record.text for record in records])
    queries = embedder.encode_queries([dataset.queries[q] for q in query_ids])  # type: ignore[attr-defined]
    if cache:
        np.savez(cache, ids=np.asarray(ids), documents=documents, queries=queries)
    return ids, documents, queries


def stored(vectors: np.ndarray, vector_format: str, calibration: object = None) -> np.ndarray:
    """What Atlas indexes for each vector: the BSON vector `encode_vector` makes, read back as its raw values."""
    from bson.binary import Binary

    from vectorsync.stores.mongo_commands import encode_vector

    rows = []
    for vector in np.asarray(vectors, dtype=np.float32):
        value = encode_vector(vector, vector_format, calibration)  # type: ignore[arg-type]
        assert isinstance(value, Binary)
        rows.append(np.asarray(value.as_vector().data, dtype=np.float64))
    return np.stack(rows)


def cosine(queries: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """Cosine similarity of every query with every document, over the stored values (Atlas's score is (1 + cos) / 2)."""
    unit_q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    unit_d = documents / np.maximum(np.linalg.norm(documents, axis=1, keepdims=True), 1e-12)
    return unit_q @ unit_d.T


def hamming(queries: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """Differing bits between every packed query and every packed document."""
    q_bits = np.unpackbits(queries.astype(np.uint8), axis=1).astype(np.int32)
    d_bits = np.unpackbits(documents.astype(np.uint8), axis=1).astype(np.int32)
    same = q_bits @ d_bits.T + (1 - q_bits) @ (1 - d_bits).T
    return (q_bits.shape[1] - same).astype(np.float64)


def ranked(similarity: np.ndarray, query_ids: list[str], doc_ids: list[str]) -> dict[str, dict[str, float]]:
    """Each query's `TOP` best documents, as a trec_eval run."""
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :TOP]
    return {query: {doc_ids[j]: float(similarity[i, j]) for j in top[i]} for i, query in enumerate(query_ids)}


if __name__ == "__main__":
    sys.exit(main())
