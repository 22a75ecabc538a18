"""ONNX int8 against torch float32 on BEIR SciFact: nDCG@10 of exact search, documents per second, fidelity.

The int8 model may replace float32 by default only if its nDCG@10 stays within 0.01 and it is faster.
Every variant embeds the same 5,183 abstracts (title and text, truncated by the model as MTEB does) in
interleaved slices, so machine load falls on all alike: torch float32, vectorsync's int8 export (`onnx`,
activation scales calibrated at export), the per-batch recipe it replaced (`onnx-dynamic`), and OpenVINO
with NNCF's static int8 (`openvino`) where `openvino` and `nncf` are installed. Also printed: each variant's
cosine to float32, and to itself between a text embedded alone and batched with texts of other lengths.
Exits 1 when vectorsync's int8 misses the quality tolerance.

    python -m benchmarks.onnx_quality [--data ../shared/data/scifact] [--limit 1000] [--variants torch,onnx]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import int8_variants, measure

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
TOLERANCE = 0.01
TOP = 100
VARIANTS = ("torch", "onnx", "onnx-dynamic", "openvino")
# Texts embedded alone and in one call: queries and abstracts, a few words to a truncated abstract.
ALONE_SAMPLE = 48


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="BEIR SciFact folder")
    parser.add_argument("--limit", type=int, help="embed only the first N documents (a quick, partial check)")
    parser.add_argument("--slice", type=int, default=250, help="documents per interleaved slice")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {VARIANTS}")
    args = parser.parse_args()
    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    if set(names) - set(VARIANTS) or names[:2] != ["torch", "onnx"]:
        parser.error(f"variants start with torch,onnx and come from {VARIANTS}")
    if not (args.data / "qrels" / "test.tsv").is_file():
        print(f"skipped: SciFact not found at {args.data}")
        return 0

    from vectorsync.evaluation import load_dataset, score_run

    dataset = load_dataset(args.data)
    records = list(dataset.records())[: args.limit]
    texts = [record.text for record in records]
    ids = [record.metadata["corpus_id"] for record in records]
    embedders = variants(names)
    for encode in embedders.values():
        encode(["warm up"])
    print(f"{len(texts)} documents, {len(dataset.queries)} queries; machine: {measure.machine()}")

    seconds = dict.fromkeys(embedders, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    for number, start in enumerate(range(0, len(texts), args.slice)):
        for name in measure.rotated(list(embedders), number):
            began = time.perf_counter()
            parts[name].append(embedders[name](texts[start : start + args.slice]))
            seconds[name] += time.perf_counter() - began

    query_ids = list(dataset.queries)
    scores = {}
    for name, encode in embedders.items():
        queries = encode([dataset.queries[q] for q in query_ids])
        scores[name] = score_run(dataset.qrels, exact_run(queries, np.concatenate(parts[name]), query_ids, ids))

    sample = [text for pair in zip(texts, (dataset.queries[q] for q in query_ids), strict=False) for text in pair]
    sample = [*sample[:ALONE_SAMPLE], "yes", "Error 404"]
    torch_docs = np.concatenate(parts["torch"])
    print(f"\nload average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(
        "variant        docs/s  vs torch  vs onnx-dynamic  nDCG@10  recall@100  MRR@10  "
        "cos fp32 mean/min  alone/batched min"
    )
    for name, encode in embedders.items():
        rate = len(texts) / seconds[name]
        versus = f"{seconds['onnx-dynamic'] / seconds[name]:14.2f}x" if "onnx-dynamic" in seconds else f"{'n/a':>15}"
        figures = scores[name]
        cosine = (torch_docs * np.concatenate(parts[name])).sum(axis=1)
        alone = int8_variants.alone_vs_batched(encode, sample).min()
        print(
            f"{name:<13} {rate:7.1f}  {seconds['torch'] / seconds[name]:7.2f}x {versus}  {figures['ndcg@10']:.4f}  "
            f"{figures['recall@100']:10.4f}  {figures['mrr@10']:.4f}  {cosine.mean():.4f} / {cosine.min():.4f}  "
            f"{alone:17.6f}"
        )
    delta = scores["onnx"]["ndcg@10"] - scores["torch"]["ndcg@10"]
    holds = abs(delta) <= TOLERANCE
    print(f"nDCG@10 onnx - torch = {delta:+.4f}: {'within' if holds else 'OUTSIDE'} the {TOLERANCE} tolerance")
    return 0 if holds else 1


def variants(names: list[str]) -> dict[str, int8_variants.Encode]:
    """Each named variant as a function from texts to normalised vectors, loaded (and exported) before timing."""
    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder, resolve_model_path

    torch, onnx = (SentenceTransformerEmbedder(backend=backend) for backend in ("torch", "onnx"))
    print(f"onnx identity: {onnx.identity}")
    path = resolve_model_path("all-MiniLM-L6-v2")
    builders = {
        "torch": lambda: torch.encode,
        "onnx": lambda: onnx.encode,
        "onnx-dynamic": lambda: int8_variants.dynamic_int8_encoder(path),
        "openvino": lambda: int8_variants.openvino_encoder(path),
    }
    if "openvino" in names and not int8_variants.openvino_available():
        print("openvino: skipped, `pip install openvino nncf` to measure it")
        names = [name for name in names if name != "openvino"]
    return {name: builders[name]() for name in names}


def exact_run(
    queries: np.ndarray, documents: np.ndarray, query_ids: list[str], doc_ids: list[str]
) -> dict[str, dict[str, float]]:
    """Each query's `TOP` best documents by cosine similarity (vectors are normalised), as a trec_eval run."""
    similarity = queries @ documents.T
    top = np.argsort(-similarity, axis=1)[:, :TOP]
    return {query: {doc_ids[j]: float(similarity[i, j]) for j in top[i]} for i, query in enumerate(query_ids)}


if __name__ == "__main__":
    sys.exit(main())
