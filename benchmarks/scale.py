"""The whole `embed_new_data` flow at 10k, 100k and 1M chunks with a zero-cost embedder: memory, disk, chunks/s.

The embedder is a benchmark device, selected only here: it tokenizes with the real model's tokenizer (so chunking
and planning cost what they cost) and returns seeded random unit vectors instead of running the model, so the
figures are vectorsync's and Prefect's own overhead, not the model's. Each size runs in a fresh process against a
Prefect API started before timing, into a fresh data directory and a fresh Prefect result folder.

    python -m benchmarks.scale [--chunks 10000,100000,1000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import measure
from benchmarks.corpus import synthetic_documents
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

RECORDS_PER_FILE = 10_000
CORPUS_CACHE = Path(tempfile.gettempdir()) / "vectorsync-scale-corpus"


class ZeroCostEmbedder(SentenceTransformerEmbedder):
    """BENCHMARK DEVICE: the real tokenizer, and random unit vectors in place of the model's."""

    def __init__(self) -> None:
        super().__init__()
        self._rng = np.random.default_rng(0)

    @property
    def identity(self) -> str:
        return "benchmark:zero-cost:dims=384"

    @property
    def dimensions(self) -> int:  # type: ignore[override]  # fixed, so the model's config is never read
        return 384

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        vectors = self._rng.standard_normal((len(texts), 384), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", default="10000,100000,1000000", help="comma list of corpus sizes in chunks")
    parser.add_argument("--keep", action="store_true", help="keep each run's data directory")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.keep)
        return

    sizes = [int(size) for size in args.chunks.split(",")]
    print(f"machine: {measure.machine()}")
    rows = {}
    for size in sizes:
        corpus = corpus_of(size)
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.scale", "--child", str(corpus), *(["--keep"] if args.keep else [])],
            capture_output=True,
            text=True,
        )
        if completed.returncode:
            print(completed.stderr[-3000:])
            raise SystemExit(f"the {size}-chunk run failed")
        rows[size] = json.loads(completed.stdout.strip().splitlines()[-1])
        print(f"  {size:>9} chunks: {rows[size]}", flush=True)

    print(f"\nmachine after the runs: {measure.machine()}")
    print(
        "| chunks | peak RSS, load to write (MiB) | peak RSS, whole run (MiB) | Prefect storage left (MiB) |"
        " flow s | index s | chunks/s end to end | chunks/s before the index | CPU s per 1,000 chunks |"
        " of which Prefect server |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows.values():
        print(
            f"| {row['chunks']:,} | {row['pipeline_peak_mib']:.0f} | {row['peak_mib']:.0f} | {row['storage_mib']:.1f} "
            f"| {row['seconds']:.1f} | {row['index_seconds']:.1f} | {row['chunks'] / row['seconds']:.0f} "
            f"| {row['chunks'] / max(row['seconds'] - row['index_seconds'], 1e-9):.0f} "
            f"| {1000 * row['cpu_seconds'] / row['chunks']:.2f} "
            f"| {1000 * row['server_cpu_seconds'] / row['chunks']:.2f} |"
        )
    base = rows[sizes[0]]
    for size in sizes[1:]:
        row = rows[size]
        print(
            f"{size // sizes[0]}x: peak RSS load-to-write {row['pipeline_peak_mib'] / base['pipeline_peak_mib']:.2f}x, "
            f"whole run {row['peak_mib'] / base['peak_mib']:.2f}x, "
            f"chunks/s {row['chunks'] / row['seconds'] / (base['chunks'] / base['seconds']):.2f}x"
        )


def corpus_of(chunks: int) -> Path:
    """JSON Lines files of `chunks` short synthetic documents (one chunk each), written once and reused."""
    folder = CORPUS_CACHE / f"{chunks}"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    documents = synthetic_documents(seed=11)
    for start in range(0, chunks, RECORDS_PER_FILE):
        with (folder / f"part-{start // RECORDS_PER_FILE:05d}.jsonl").open("w", encoding="utf-8") as stream:
            for _ in range(min(RECORDS_PER_FILE, chunks - start)):
                document = next(documents)
                # 40-250 words would often need two chunks: keep the first 120 words, one chunk each.
                text = " ".join(document.text.split()[:120])
                stream.write(json.dumps({"id": document.id, "text": text}) + "\n")
    (folder / "done").touch()
    return folder


def child(corpus: Path, keep: bool) -> None:
    """One flow run in this process; prints its figures as one JSON line."""
    import psutil

    work = Path(tempfile.mkdtemp(prefix="vectorsync-scale-"))
    storage = work / "prefect-results"
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(storage)
    from flows.embed_new_data import embed_new_data
    from vectorsync.embedders import register_embedder
    from vectorsync.jobs import EmbedNewData

    job = EmbedNewData(path=str(corpus), id_field="id", data_dir=work / "data")
    register_embedder(job.settings(), ZeroCostEmbedder())
    index_seconds = _time_index_builds()
    with measure.prefect_api():
        start = psutil.Process().memory_info().rss / measure.MIB
        pipeline_peak = _peak_before_index()
        flow_before, server_before = _cpu_seconds()
        sample = measure.timed(lambda: int(embed_new_data(job)["chunks"]))
        flow_after, server_after = _cpu_seconds()
    print(
        json.dumps(
            {
                "chunks": sample.items,
                "seconds": sample.seconds,
                "index_seconds": index_seconds[0],
                "start_mib": start,
                "pipeline_peak_mib": pipeline_peak[0] / measure.MIB,
                "peak_mib": measure.process_peak_rss_mib(),
                "storage_mib": _folder_mib(storage),
                "cpu_seconds": flow_after - flow_before + server_after - server_before,
                "server_cpu_seconds": server_after - server_before,
            }
        )
    )
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


def _time_index_builds() -> list[float]:
    """Time spent in the store's `ensure_index`, accumulated into the returned one-item list."""
    from vectorsync.stores.lance import LanceStore

    spent = [0.0]
    original = LanceStore.ensure_index

    def timed_ensure_index(self: LanceStore, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            spent[0] += time.perf_counter() - started

    LanceStore.ensure_index = timed_ensure_index  # type: ignore[method-assign]
    return spent


def _peak_before_index() -> list[float]:
    """The process's peak RSS (bytes) at the moment the index build starts: the load-to-write phases' peak."""
    from vectorsync.stores.lance import LanceStore

    peak = [0.0]
    original = LanceStore.ensure_index

    def noting_ensure_index(self: LanceStore, *args: object, **kwargs: object) -> object:
        peak[0] = measure.process_peak_rss_mib() * measure.MIB
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    LanceStore.ensure_index = noting_ensure_index  # type: ignore[method-assign]
    return peak


def _cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its children (the Prefect server): the cost a busy machine cannot blur."""
    import psutil

    me = psutil.Process()
    children = [p for p in me.children(recursive=True) if p.is_running()]
    return sum(me.cpu_times()[:2]), sum(sum(p.cpu_times()[:2]) for p in children)


def _folder_mib(folder: Path) -> float:
    if not folder.exists():
        return 0.0
    return sum(file.stat().st_size for file in folder.rglob("*") if file.is_file()) / measure.MIB


if __name__ == "__main__":
    main()
