"""What re-runs cost: a first run, an unchanged re-run, and a re-run after 1% of the documents changed.

The real flow on real files into a fresh data directory; before each run the process forgets its loaded
model and open store, as a new `vectorsync run` would (the Prefect API is started once, before timing).

    python -m benchmarks.incremental [--chunks 5000] [--changed 0.01] [--rounds 1]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import measure
from benchmarks.corpus import Document, documents_for_chunks, write_jsonl

STEPS = ("first run", "unchanged re-run", "changed re-run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=5_000, help="corpus size in chunks (default 5,000)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of documents edited (default 0.01)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the three runs; the best of each counts")
    args = parser.parse_args()

    from vectorsync.chunking import chunker_for
    from vectorsync.embedders import build_embedder
    from vectorsync.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="vectorsync-incremental-"))
    settings = Settings(data_dir=work / "unused")
    documents = documents_for_chunks(
        args.chunks, chunker_for(build_embedder(settings), settings.chunk_tokens, settings.chunk_overlap)
    )
    edited = edit(documents, args.changed)
    print(f"corpus: {len(documents)} documents; {len(edited)} edited between the second and third run")

    results = measure.Results()
    figures: dict[str, dict[str, Any]] = {}
    with measure.prefect_api():
        print(f"machine: {measure.machine()}")
        for round_number in range(args.rounds):
            corpus = write_jsonl(documents, work / f"corpus-{round_number}")
            data_dir = work / f"data-{round_number}"
            print(f"round {round_number + 1} of {args.rounds}")
            for step in STEPS:
                if step == "changed re-run":
                    write_jsonl([edited.get(d.id, d) for d in documents], corpus)
                summary = run_flow(corpus, data_dir)
                results.add(step, measure.Sample(summary["seconds_outside"], summary["chunks"], summary["peak"]))
                figures[step] = summary

    first = results.best("first run").seconds
    print("\nbest of rounds:")
    for step in STEPS:
        best, summary = results.best(step), figures[step]
        print(
            f"  {step:<17} {best.seconds:8.2f} s  {best.seconds / first:6.3f} of the first run  "
            f"embedded {summary['embedded']:>5}  unchanged {summary['unchanged']:>5}  deleted {summary['deleted']:>3}  "
            f"model loaded {summary['model_loaded']}"
        )


def edit(documents: list[Document], share: float) -> dict[str, Document]:
    """A seeded `share` of the documents with one sentence added at the end."""
    chosen = random.Random(11).sample(documents, max(1, round(len(documents) * share)))
    return {d.id: Document(d.id, f"{d.text} This sentence was added in revision two.") for d in chosen}


def run_flow(corpus: Path, data_dir: Path) -> dict[str, Any]:
    """One flow run as a fresh process would make it: no model loaded, no store open, no task cache."""
    import vectorsync.embedders as embedders
    import vectorsync.stores as stores
    from flows.embed_new_data import embed_new_data
    from vectorsync.jobs import EmbedNewData

    embedders._shared.clear()
    stores._shared.clear()
    summary: dict[str, Any] = {}

    def run() -> int:
        with measure.fresh_result_storage():
            summary.update(embed_new_data(EmbedNewData(path=str(corpus), id_field="id", data_dir=data_dir)))
        return int(summary["chunks"])

    sample = measure.timed(run)
    return {**summary, "seconds_outside": sample.seconds, "peak": sample.peak_rss_mib}


if __name__ == "__main__":
    main()
