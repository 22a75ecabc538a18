"""Benchmark: recall@10 of the LanceDB ANN index against exact search, where it is hardest, and what the index costs.

Three parts, each printed as a table with the load average beside it:
- recall: SciFact (5,183 abstracts, its queries) and a "mixed corpus" (thousands of near-identical chunks of one
  homogeneous text plus a few short distinct documents, each with a query that describes it) through the real
  `LanceStore` with the ANN path forced; ground truth is a brute-force scan in numpy. Also checks that an ANN hit's
  score equals its true score, that each short document is found first, and the smoke test's self-recall.
- flat: milliseconds of an exact (flat) LanceDB scan of N x 384 random unit vectors, the crossover to ANN.
- build: seconds and peak RSS of building the IVF index over N random unit vectors, one process per build.

Vectors come from the int8 ONNX encoder and are cached under .vectorsync/benchmarks/ (gitignored), so reruns skip
the minutes of embedding.

Run it:  python benchmarks/ann_recall.py [--part recall --part flat --part build] [--build-rows 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "scifact"
CACHE = REPO / ".vectorsync" / "benchmarks"
K = 10
GOAL = 0.98

# The homogeneous text: a maintenance log whose entries differ only in names and numbers.
_LOG_LINES = (
    "Pump station {s} reported a discharge pressure of {a} kPa at {h}:00 and the operator logged no faults.",
    "The flow meter at station {s} read {a} litres per second, within the normal band for the {h} o'clock shift.",
    "Valve {v} at station {s} was cycled open and closed during the routine check and responded in {b} seconds.",
    "Station {s} motor temperature held at {b} degrees; bearing vibration stayed below {a} micrometres.",
    "The night crew at station {s} cleaned intake screen {v} and recorded {b} kilograms of debris removed.",
)
# Short distinct documents with a query that describes each without repeating its words.
DISTINCT = (
    ("Honey bees live in colonies with one queen, thousands of workers and a few drones.", "insects that make honey"),
    ("A black hole is a region of spacetime where gravity lets nothing escape, not even light.", "gravity traps light"),
    ("The Sicilian Defence answers 1.e4 with c5 and fights for the centre from the flank.", "chess opening c5"),
    (
        "Sourdough bread rises with wild yeast and lactic acid bacteria kept alive in a starter.",
        "baking with a starter",
    ),
    ("The violin has four strings tuned in fifths and is played with a horsehair bow.", "bowed string instrument"),
    (
        "Penguins are flightless seabirds of the southern hemisphere that swim with their flippers.",
        "birds that cannot fly",
    ),
    (
        "Photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen in leaves.",
        "how plants make food",
    ),
    ("The Roman Colosseum held about fifty thousand spectators for gladiator fights.", "ancient arena in Rome"),
    ("Volcanoes erupt when molten rock from the mantle rises through cracks in the crust.", "lava and eruptions"),
    (
        "Tea is brewed from the cured leaves of Camellia sinensis, a shrub native to East Asia.",
        "a hot drink from leaves",
    ),
    ("Marathon runners cover 42.195 kilometres, a distance fixed at the 1908 London Olympics.", "long-distance race"),
    ("Origami is the Japanese art of folding a single sheet of paper into figures.", "paper folding craft"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", action="append", choices=("recall", "flat", "build"), help="Parts to run.")
    parser.add_argument("--data", type=Path, default=DATA, help="BEIR SciFact folder.")
    parser.add_argument("--mixed-chunks", type=int, default=20_000, help="Near-identical chunks in the mixed corpus.")
    parser.add_argument("--flat-rows", default="5000,10000,25000,50000,100000", help="Table sizes for the flat scan.")
    parser.add_argument("--build-rows", default="100000", help="Table sizes for the index build, e.g. 100000,1000000.")
    parser.add_argument("--sweep", default="", help="Extra num_candidates values to try, e.g. 50,100,400.")
    parser.add_argument("--build-one", nargs=2, metavar=("ROWS", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.build_one:
        return build_one(int(args.build_one[0]), Path(args.build_one[1]))
    print(machine())
    for part in args.part or ["recall", "flat", "build"]:
        if part == "recall":
            sweep = [int(x) for x in args.sweep.split(",") if x]
            recall_part(args.data, args.mixed_chunks, sweep)
        elif part == "flat":
            flat_part([int(x) for x in args.flat_rows.split(",")])
        else:
            build_part([int(x) for x in args.build_rows.split(",")])
    return 0


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"


# --- recall -------------------------------------------------------------------------------------------------


def recall_part(data: Path, mixed_chunks: int, sweep: list[int]) -> None:
    """Recall@10, score agreement and self-recall on SciFact and on the mixed corpus."""
    corpora = []
    if (data / "queries.jsonl").is_file():
        corpora.append(("scifact", *scifact(data)))
    else:
        print(f"SciFact skipped: not found at {data}")
    corpora.append((f"mixed {mixed_chunks:,}", *mixed(mixed_chunks)))
    print(f"\nrecall@{K} of ANN against exact (goal >= {GOAL}); {machine()}")
    print(
        f"{'corpus':16} {'rows':>7} {'queries':>7} {'cand.':>6} {'nprobes':>7} {'recall':>7} {'max |dscore|':>12} "
        f"{'top-1 ok':>8} {'self-recall':>11} {'ms/query':>8}"
    )
    for name, texts, vectors, queries, wanted_first in corpora:
        with tempfile.TemporaryDirectory(prefix="ann-recall-") as folder:
            store, chunks = _store_with(Path(folder), texts, vectors)
            for candidates in [None, *sweep]:
                row = measure(store, chunks, vectors, queries, wanted_first, candidates)
                print(
                    f"{name:16} {len(texts):>7,} {len(queries):>7} {row['candidates']:>6} {row['nprobes']:>7} "
                    f"{row['recall']:>7.4f} {row['score_error']:>12.6f} {row['top1']:>8} {row['self']:>11} "
                    f"{row['ms']:>8.1f}",
                    flush=True,
                )


def _store_with(folder: Path, texts: list[str], vectors: np.ndarray):  # type: ignore[no-untyped-def]
    from vectorsync.records import Chunk, chunk_id
    from vectorsync.stores.base import IndexSpec
    from vectorsync.stores.lance import LanceStore

    store = LanceStore(folder, exact_max_rows=0)  # the ANN path at every size: that is what is measured
    chunks = [Chunk(chunk_id("d", i, t), f"d{i}", f"/bench/d{i}.txt", t, 0, {}, f"fp{i}") for i, t in enumerate(texts)]
    for start in range(0, len(chunks), 5_000):
        store.upsert(chunks[start : start + 5_000], vectors[start : start + 5_000], "bench")
    started = time.perf_counter()
    store.ensure_index(IndexSpec("vector_index", vectors.shape[1]))
    print(f"  index over {len(chunks):,} rows built in {time.perf_counter() - started:.1f} s", flush=True)
    return store, chunks


def measure(store, chunks, vectors, queries, wanted_first, candidates):  # type: ignore[no-untyped-def]
    """Recall with ties counted (a hit as close as the 10th true neighbour counts), max score error, top-1."""
    from tasks.smoke import self_recall
    from vectorsync.stores.lance import ann_partitions, search_effort

    index = {c.id: i for i, c in enumerate(chunks)}
    found, error, seconds = 0, 0.0, 0.0
    for q in queries:
        truth = vectors @ q
        tenth = np.partition(truth, -K)[-K]
        started = time.perf_counter()
        hits = store.search(q, k=K, num_candidates=candidates)
        seconds += time.perf_counter() - started
        found += sum(truth[index[h.id]] >= tenth - 1e-6 for h in hits)
        error = max([error, *(abs(h.score - (1 + float(truth[index[h.id]])) / 2) for h in hits)])
    top1 = sum(store.search(q, k=1, num_candidates=candidates)[0].id == chunks[i].id for q, i in wanted_first)
    samples = [chunks[i] for i in np.linspace(0, len(chunks) - 1, 20).astype(int)]
    report = self_recall(store, samples, k=K)
    effort = search_effort(len(chunks), ann_partitions(len(chunks)), K, candidates)
    return {
        "candidates": effort.candidates,
        "nprobes": f"{effort.nprobes}/{ann_partitions(len(chunks))}",
        "recall": found / (K * len(queries)),
        "score_error": error,
        "top1": f"{top1}/{len(wanted_first)}",
        "self": f"{report.found}/{report.checked}",
        "ms": 1000 * seconds / len(queries),
    }


def scifact(data: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[tuple[np.ndarray, int]]]:
    from vectorsync.evaluation.beir import dataset_name, load_corpus, load_queries

    corpus_file = next(p for p in (data / "corpus.jsonl", data / "corpus.jsonl.gz") if p.is_file())
    texts = [r.text for r in load_corpus(corpus_file, dataset_name(data)) if r.text.strip()]
    queries = list(load_queries(data / "queries.jsonl").values())
    return texts, embedded("scifact-corpus", texts), embedded("scifact-queries", queries), []


def mixed(chunks: int) -> tuple[list[str], np.ndarray, np.ndarray, list[tuple[np.ndarray, int]]]:
    """Near-identical log chunks, the short documents spread among them; queries: theirs, then log-like ones."""
    rng = np.random.default_rng(7)
    lines = [
        _LOG_LINES[i % len(_LOG_LINES)].format(
            s=rng.integers(1, 40),
            a=rng.integers(100, 999),
            b=rng.integers(10, 99),
            h=rng.integers(0, 24),
            v=rng.integers(1, 12),
        )
        for i in range(chunks * 3)
    ]
    texts = [" ".join(lines[3 * i : 3 * i + 3]) for i in range(chunks)]
    spots = np.linspace(0, chunks - 1, len(DISTINCT) + 2).astype(int)[1:-1]
    for spot, (doc, _) in zip(spots, DISTINCT, strict=True):
        texts[spot] = doc
    vectors = embedded(f"mixed-{chunks}", texts)
    log_queries = [
        _LOG_LINES[i % len(_LOG_LINES)].format(s=i + 3, a=500 + i, b=40 + i % 50, h=i % 24, v=i % 11 + 1)
        for i in range(200)
    ]
    query_vectors = embedded("mixed-queries", [q for _, q in DISTINCT] + log_queries)
    wanted_first = [(query_vectors[n], int(spot)) for n, spot in enumerate(spots)]
    return texts, vectors, query_vectors, wanted_first


def embedded(name: str, texts: list[str]) -> np.ndarray:
    """The int8 encoder's vectors of `texts`, from the cache when the same texts were embedded before."""
    import hashlib

    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{digest}.npy"
    if path.is_file():
        return np.load(path)
    from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder

    started = time.perf_counter()
    vectors = SentenceTransformerEmbedder(backend="onnx").encode(texts).astype(np.float32)
    print(f"  embedded {len(texts):,} texts ({name}) in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# --- flat scan and build ------------------------------------------------------------------------------------


def random_unit(rows: int, dims: int = 384, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((rows, dims), dtype=np.float32)
    for start in range(0, rows, 100_000):
        part = rng.standard_normal((min(100_000, rows - start), dims), dtype=np.float32)
        out[start : start + len(part)] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


def _random_store(folder: Path, rows: int):  # type: ignore[no-untyped-def]
    from vectorsync.records import Chunk
    from vectorsync.stores.lance import LanceStore

    store = LanceStore(folder)
    vectors = random_unit(rows)
    for start in range(0, rows, 50_000):
        part = vectors[start : start + 50_000]
        chunks = [Chunk(f"c{i}", f"d{i}", f"/r/{i}", "x", 0, {}, "f") for i in range(start, start + len(part))]
        store.upsert(chunks, part, "random")
    return store


def flat_part(sizes: list[int]) -> None:
    """Median and 90th-percentile milliseconds of an exact search through LanceStore, by table size."""
    print(f"\nflat (exact) scan of N x 384 float32, k={K}; {machine()}")
    print(f"{'rows':>9} {'median ms':>10} {'p90 ms':>8}")
    queries = random_unit(21, seed=99)
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="ann-flat-") as folder:
            store = _random_store(Path(folder), rows)
            store.search(queries[20], k=K, exact=True)
            times = []
            for q in queries[:20]:
                started = time.perf_counter()
                store.search(q, k=K, exact=True)
                times.append(1000 * (time.perf_counter() - started))
            times.sort()
            print(f"{rows:>9,} {times[10]:>10.1f} {times[17]:>8.1f}", flush=True)


def build_part(sizes: list[int]) -> None:
    """Each build in its own process, so its peak RSS is the build's and not an earlier table's."""
    print(f"\nANN index build over N x 384 random unit vectors; {machine()}")
    print(f"{'rows':>9} {'partitions':>10} {'build s':>8} {'peak RSS MiB':>12} {'RSS before':>10} {'ms/query':>8}")
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="ann-build-") as folder:
            out = subprocess.run(
                [sys.executable, __file__, "--build-one", str(rows), folder], check=True, capture_output=True, text=True
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"{rows:>9,} {r['partitions']:>10} {r['seconds']:>8.1f} {r['peak']:>12.0f} {r['before']:>10.0f} "
                f"{r['ms']:>8.1f}  (load {r['load']})",
                flush=True,
            )


def build_one(rows: int, folder: Path) -> int:
    import psutil

    from benchmarks import measure
    from vectorsync.stores.base import IndexSpec
    from vectorsync.stores.lance import ann_partitions

    store = _random_store(folder, rows)
    before = psutil.Process().memory_info().rss / measure.MIB
    build = measure.timed(lambda: store.ensure_index(IndexSpec("vector_index", 384)) and rows)
    queries = random_unit(20, seed=5)
    started = time.perf_counter()
    for q in queries:
        store.search(q, k=K)
    ms = 1000 * (time.perf_counter() - started) / len(queries)
    load = f"{os.getloadavg()[0]:.1f}"
    figures = {"partitions": ann_partitions(rows), "seconds": build.seconds, "ms": ms, "load": load}
    print(json.dumps({**figures, "peak": build.peak_rss_mib, "before": before}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
