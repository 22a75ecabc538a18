"""Chunks per second on a machine with more cores: one process using all of them, or N processes sharing them.

torch float32 and vectorsync's ONNX int8 encoder each run in 1, 2, 4 ... worker processes with cores / N
threads apiece, on the same chunk texts as `embed_throughput` (each worker embeds every N-th text, so all
see the same length mix); sentence-transformers' own multi-process pool, which gives every worker all the
threads, runs as well. Models load before timing. On a machine with a CUDA GPU, torch on the GPU is timed too.

    python -m benchmarks.multicore                        # 5,000 chunks, processes 1, 2, 4 ... up to the cores
    python -m benchmarks.multicore --chunks 2000 --processes 1,4 --model /path/to/all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from functools import partial
from multiprocessing.pool import Pool
from pathlib import Path

import numpy as np

from benchmarks import measure
from benchmarks.embed_throughput import encode_pool

BATCH_SIZE = 64
_encode: Callable[[list[str]], np.ndarray] | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=5_000, help="chunks to embed (default 5,000)")
    parser.add_argument("--processes", help="comma-separated worker counts (default 1, 2, 4 ... up to the cores)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the best of each variant counts")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="model id or local path")
    parser.add_argument("--no-st-pool", dest="st_pool", action="store_false", help="skip sentence-transformers' pool")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    counts = [int(n) for n in args.processes.split(",")] if args.processes else _powers_of_two(cores)

    texts = _chunk_texts(args.chunks, args.model)
    model_file = _onnx_export(args.model)
    print(f"{len(texts)} chunks; machine: {measure.machine()}")

    # Loading comes before each variant's first timing, so a run cut short still reports what it timed.
    factories: dict[str, Callable[[], Callable[[], int]]] = {}
    for count in counts:
        threads = max(1, cores // count)
        for backend in ("torch", "onnx"):
            factories[f"{backend} {count}x{threads}t"] = _sharded(
                backend, count, threads, args.model, model_file, texts
            )
        if count == 1:
            factories.update(_gpu_variants(args.model, texts))
    if args.st_pool:
        # embed_throughput's encode-pool: the bundled model, one process per core, each with all the threads.
        factories["st-pool"] = lambda: encode_pool(texts, Path(), Path(), BATCH_SIZE)

    results = measure.Results()
    names = list(factories)
    runners: dict[str, Callable[[], int]] = {}
    for round_number in range(args.rounds):
        print(f"round {round_number + 1} of {args.rounds}")
        for name in measure.rotated(names, round_number):
            if name not in runners:
                runners[name] = factories[name]()
            results.add(name, measure.timed(runners[name]))
    _report(results, names)


def _report(results: measure.Results, names: list[str]) -> None:
    base = results.best(names[0]).rate
    print(f"\nbest of rounds (chunks/s and ratio to `{names[0]}`, the one-process torch encode):")
    for name in names:
        rate = results.best(name).rate
        print(f"  {name:<18} {rate:9.1f} chunks/s  {rate / base:6.2f}x")


def _powers_of_two(limit: int) -> list[int]:
    counts = [1]
    while counts[-1] * 2 <= limit:
        counts.append(counts[-1] * 2)
    return counts


def _chunk_texts(target: int, model: str) -> list[str]:
    """The chunk texts vectorsync's loaders and chunker make of the benchmark corpus."""
    from benchmarks.corpus import chunk_texts, documents_for_chunks, write_jsonl
    from vectorsync.chunking import chunker_for
    from vectorsync.embedders import build_embedder
    from vectorsync.settings import Settings
    from vectorsync.sources import LoadOptions

    settings = Settings(data_dir=Path(tempfile.mkdtemp()), model=model, backend="torch")
    chunker = chunker_for(build_embedder(settings), settings.chunk_tokens, settings.chunk_overlap)
    corpus = write_jsonl(documents_for_chunks(target, chunker), Path(tempfile.mkdtemp(prefix="vectorsync-bench-")))
    return chunk_texts(corpus, LoadOptions(id_field="id"), chunker)


def _onnx_export(model: str) -> Path:
    """The int8 export, made once here so that the workers only load it."""
    from vectorsync.embedders.onnx_export import cpu_quantization_target, export_int8
    from vectorsync.embedders.sentence_transformer import resolve_model_path

    return export_int8(model, resolve_model_path(model), cpu_quantization_target() or "avx2")


def _worker_pool(count: int, backend: str, threads: int, model: str, model_file: str) -> Pool:
    """`count` processes that each load the model with `threads` threads, loaded and warm before timing."""
    pool = multiprocessing.get_context("spawn").Pool(count, _load_worker, (backend, threads, model, model_file))
    pool.map(_encode_shard, [["warm up"]] * count)
    return pool


def _load_worker(backend: str, threads: int, model: str, model_file: str) -> None:
    global _encode
    import torch

    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder, resolve_model_path

    torch.set_num_threads(threads)
    path = resolve_model_path(model)
    if backend == "onnx":
        from vectorsync.embedders.onnx_runtime import OnnxSentenceEncoder

        embedder = SentenceTransformerEmbedder(model)
        max_seq = embedder.max_tokens + embedder.tokenizer.special_tokens
        onnx = OnnxSentenceEncoder(model_file, path, max_seq, threads=threads)
        _encode = partial(onnx.encode, batch_size=BATCH_SIZE, normalize_embeddings=True)
    else:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(path, device="cpu")
        _encode = partial(st.encode, batch_size=BATCH_SIZE, normalize_embeddings=True)


def _encode_shard(texts: list[str]) -> np.ndarray:
    if _encode is None:
        raise RuntimeError("the worker's model is not loaded: _load_worker runs first")
    return _encode(texts)


def _sharded(
    backend: str, count: int, threads: int, model: str, model_file: Path, texts: list[str]
) -> Callable[[], Callable[[], int]]:
    """A variant that splits the texts over `count` workers, each embedding every `count`-th text."""

    def prepare() -> Callable[[], int]:
        pool = _worker_pool(count, backend, threads, model, str(model_file))

        def run() -> int:
            return sum(len(part) for part in pool.map(_encode_shard, [texts[i::count] for i in range(count)]))

        return run

    return prepare


def _gpu_variants(model: str, texts: list[str]) -> dict[str, Callable[[], Callable[[], int]]]:
    """torch on the GPU, float32 and float16, at vectorsync's batch size and a larger one."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {
        f"cuda {precision} b{batch}": _gpu_run(model, texts, precision, batch)
        for precision in ("fp32", "fp16")
        for batch in (BATCH_SIZE, 512)
    }


def _gpu_run(model: str, texts: list[str], precision: str, batch: int) -> Callable[[], Callable[[], int]]:
    def prepare() -> Callable[[], int]:
        from sentence_transformers import SentenceTransformer

        from vectorsync.embedders.sentence_transformer import resolve_model_path

        st = SentenceTransformer(resolve_model_path(model), device="cuda")
        if precision == "fp16":
            st.half()
        st.encode(texts[:256], batch_size=batch)

        def run() -> int:
            return len(st.encode(texts, batch_size=batch, normalize_embeddings=True))

        return run

    return prepare


if __name__ == "__main__":
    main()
