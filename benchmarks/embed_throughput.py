"""Chunks per second: the model alone, a naive one-text-at-a-time loop, and the full vectorsync flow.

All variants embed the same chunk texts (those vectorsync's own loaders and chunker make of the corpus),
side by side in one process, interleaved over `--rounds`; each variant's best round counts. The slow naive
loop and the informational process pool time the first `--sample` chunks only (their rate hardly depends on it).

    python -m benchmarks.embed_throughput                 # 5,000 chunks, torch and ONNX int8
    python -m benchmarks.embed_throughput --chunks 500 --rounds 3 --variants encode,flow
    python -m benchmarks.embed_throughput --variants encode,encode-onnx,encode-onnx-dynamic,encode-openvino
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import int8_variants, measure
from benchmarks.corpus import chunk_texts, documents_for_chunks, write_jsonl

if TYPE_CHECKING:
    from vectorsync.sources import LoadOptions

VARIANTS = ("encode", "naive", "flow", "encode-onnx", "flow-onnx", "encode-pool")
# Int8 encoders set beside vectorsync's (benchmarks/int8_variants.py), run only when named in --variants.
INT8_VARIANTS = ("encode-onnx-dynamic", "encode-openvino")
SAMPLED = {"naive", "encode-pool"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=5_000, help="chunks to embed (default 5,000)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the best of each variant counts")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated, from {VARIANTS + INT8_VARIANTS}"
    )
    parser.add_argument("--sample", type=int, default=1_000, help="chunks for naive and encode-pool (0: all)")
    args = parser.parse_args()
    names = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = set(names) - set(VARIANTS + INT8_VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {VARIANTS + INT8_VARIANTS}")

    from vectorsync.chunking import chunker_for
    from vectorsync.embedders import build_embedder
    from vectorsync.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="vectorsync-bench-"))
    settings = Settings(data_dir=work / "unused", backend="torch")
    chunker = chunker_for(build_embedder(settings), settings.chunk_tokens, settings.chunk_overlap)
    documents = documents_for_chunks(args.chunks, chunker)
    corpus = write_jsonl(documents, work / "corpus")
    texts = chunk_texts(corpus, _load_options(), chunker)
    print(f"corpus: {len(documents)} documents, {len(texts)} chunks, batch size {settings.batch_size}")

    sample = texts[: args.sample or None]
    runners = {
        name: RUNNERS[name](sample if name in SAMPLED else texts, corpus, work, settings.batch_size) for name in names
    }
    results = measure.Results()
    with measure.prefect_api():
        print(f"machine: {measure.machine()}")
        for round_number in range(args.rounds):
            print(f"round {round_number + 1} of {args.rounds}")
            for name in measure.rotated(names, round_number):
                results.add(name, measure.timed(runners[name]))
    report(results, names)


def report(results: measure.Results, names: list[str]) -> None:
    """Best rate of each variant, its ratio to the model alone, and peak memory."""
    print("\nbest of rounds (chunks/s, ratio to `encode`, peak RSS while the variant ran):")
    base = results.best("encode").rate if "encode" in names else None
    for name in names:
        best = results.best(name)
        ratio = f"{best.rate / base:5.2f}x" if base else "   n/a"
        print(f"  {name:<14} {best.rate:9.1f} chunks/s  {ratio} of encode  peak RSS {best.peak_rss_mib:7.0f} MiB")
    print(f"process peak RSS {measure.process_peak_rss_mib():.0f} MiB")


def _load_options() -> LoadOptions:
    from vectorsync.sources import LoadOptions

    return LoadOptions(id_field="id")


def encode_alone(texts: list[str], corpus: Path, work: Path, batch_size: int) -> Callable[[], int]:
    """(a) `SentenceTransformer.encode` over all chunk texts; the model is loaded before timing."""
    from sentence_transformers import SentenceTransformer

    from vectorsync.embedders.sentence_transformer import resolve_model_path

    model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
    model.encode(texts[:8])

    def run() -> int:
        return len(model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True))

    return run


def encode_pool(texts: list[str], corpus: Path, work: Path, batch_size: int) -> Callable[[], int]:
    """(a, multi-process) the same encode over a pool of one process per CPU, started before timing."""
    from sentence_transformers import SentenceTransformer

    from vectorsync.embedders.sentence_transformer import resolve_model_path

    model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
    pool = model.start_multi_process_pool(["cpu"] * (os.cpu_count() or 1))
    model.encode(texts[:64], pool=pool)

    def run() -> int:
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, pool=pool)
        return len(vectors)

    return run


def encode_onnx(texts: list[str], corpus: Path, work: Path, batch_size: int) -> Callable[[], int]:
    """(a, ONNX int8) vectorsync's ONNX Runtime embedder alone; exported and loaded before timing."""
    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(backend="onnx", batch_size=batch_size)
    embedder.encode(texts[:8])

    def run() -> int:
        return len(embedder.encode(texts))

    return run


def int8_runner(
    build: Callable[[str], int8_variants.Encode],
) -> Callable[[list[str], Path, Path, int], Callable[[], int]]:
    """An int8 encoder of `benchmarks.int8_variants` alone, exported and loaded before timing."""

    def prepare(texts: list[str], corpus: Path, work: Path, batch_size: int) -> Callable[[], int]:
        from vectorsync.embedders.sentence_transformer import resolve_model_path

        encode = build(resolve_model_path("all-MiniLM-L6-v2"))
        encode(texts[:8])
        return lambda: len(encode(texts))

    return prepare


def naive_loop(texts: list[str], corpus: Path, work: Path, batch_size: int) -> Callable[[], int]:
    """(b) one `encode` call and one LanceDB `add` per text, as a seed tutorial writes it."""
    import lancedb
    from sentence_transformers import SentenceTransformer

    from vectorsync.embedders.sentence_transformer import resolve_model_path

    model = SentenceTransformer(resolve_model_path("all-MiniLM-L6-v2"), device="cpu")
    model.encode(texts[:8])
    rounds = iter(range(1_000_000))

    def run() -> int:
        db = lancedb.connect(str(work / f"naive-{next(rounds)}"))
        table = None
        for number, text in enumerate(texts):
            vector = model.encode(text, normalize_embeddings=True)
            row = [{"id": str(number), "text": text, "vector": vector.tolist()}]
            if table is None:
                table = db.create_table("chunks", row)
            else:
                table.add(row)
        return len(texts)

    return run


def flow_runner(backend: str) -> Callable[[list[str], Path, Path, int], Callable[[], int]]:
    """(c) the embed-new-data flow on the corpus files, each round into a fresh data dir, as a fresh process would."""

    def prepare(texts: list[str], corpus: Path, work: Path, batch_size: int) -> Callable[[], int]:
        import vectorsync.embedders as embedders
        import vectorsync.stores as stores
        from flows.embed_new_data import embed_new_data
        from vectorsync.jobs import EmbedNewData

        rounds = iter(range(1_000_000))

        def run() -> int:
            embedders._shared.clear()
            stores._shared.clear()
            os.environ["VECTORSYNC_BACKEND"] = backend
            job = EmbedNewData(path=str(corpus), id_field="id", data_dir=work / f"flow-{backend}-{next(rounds)}")
            try:
                with measure.fresh_result_storage():
                    summary = embed_new_data(job)
            finally:
                del os.environ["VECTORSYNC_BACKEND"]
            if summary["embedded"] != len(texts):
                raise RuntimeError(f"the flow embedded {summary['embedded']} chunks, expected {len(texts)}")
            return int(summary["embedded"])

        return run

    return prepare


RUNNERS: dict[str, Callable[[list[str], Path, Path, int], Callable[[], int]]] = {
    "encode": encode_alone,
    "naive": naive_loop,
    "flow": flow_runner("torch"),
    "encode-onnx": encode_onnx,
    "flow-onnx": flow_runner("onnx"),
    "encode-pool": encode_pool,
    "encode-onnx-dynamic": int8_runner(int8_variants.dynamic_int8_encoder),
    "encode-openvino": int8_runner(int8_variants.openvino_encoder),
}


if __name__ == "__main__":
    main()
