"""Peak memory of the flow on N and on 10N documents, each in a fresh process, side by side.

Batches stream through bounded queues, so the peak should barely grow with the corpus. Each run is a
new Python process that starts a Prefect API, notes its resident memory, runs the flow into a fresh data
directory and reports its peak (`getrusage`); the corpus files are written beforehand by the parent.

    python -m benchmarks.memory [--documents 300] [--factor 10] [--backend torch]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import measure
from benchmarks.corpus import documents_count, write_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=300, help="N, the small corpus (default 300)")
    parser.add_argument("--factor", type=int, default=10, help="the large corpus is factor x N (default 10)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto", help="embedding runtime")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.backend)
        return

    work = Path(tempfile.mkdtemp(prefix="vectorsync-memory-"))
    sizes = (args.documents, args.documents * args.factor)
    documents = documents_count(sizes[-1])
    corpora = {size: write_jsonl(documents[:size], work / f"corpus-{size}") for size in sizes}
    print(f"machine: {measure.machine()}")
    rows = {}
    for size, corpus in corpora.items():
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", "--child", str(corpus), "--backend", args.backend],
            check=True,
            capture_output=True,
            text=True,
        )
        rows[size] = json.loads(completed.stdout.strip().splitlines()[-1])
        print(f"  {size} documents: {rows[size]}")

    small, large = (rows[size] for size in sizes)
    print(f"\nbackend {large['backend']}; peak RSS of a fresh process running the flow:")
    print("  documents   chunks   seconds   RSS before flow   peak RSS   growth during flow")
    for size in sizes:
        row = rows[size]
        growth = row["peak_mib"] - row["start_mib"]
        print(
            f"  {size:>9} {row['chunks']:>8} {row['seconds']:>9.1f} {row['start_mib']:>13.0f} MiB "
            f"{row['peak_mib']:>6.0f} MiB {growth:>14.0f} MiB"
        )
    print(f"peak RSS ratio {args.factor}N / N: {large['peak_mib'] / small['peak_mib']:.2f}")


def child(corpus: Path, backend: str) -> None:
    """Run the flow once in this process and print its figures as one JSON line."""
    import psutil

    os.environ["VECTORSYNC_BACKEND"] = backend
    from flows.embed_new_data import embed_new_data
    from vectorsync.embedders import shared_embedder
    from vectorsync.jobs import EmbedNewData

    job = EmbedNewData(path=str(corpus), id_field="id", data_dir=corpus.parent / f"data-{corpus.name}")
    with measure.prefect_api():
        start = psutil.Process().memory_info().rss / measure.MIB
        sample = measure.timed(lambda: int(embed_new_data(job)["chunks"]))
        row = {
            "backend": shared_embedder(job.settings()).backend,
            "chunks": sample.items,
            "seconds": sample.seconds,
            "start_mib": start,
            "peak_mib": measure.process_peak_rss_mib(),
        }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
