"""Evaluate retrieval on a labelled BEIR-format set: embed -> index -> search every query -> score -> (gate).

The corpus goes through the normal pipeline into its own table (eval_<dataset>), every query runs through the
store's own search, and trec_eval scores nDCG@10, recall@10/100 and MRR@10 as BEIR and MTEB do. With a floor,
the corpus is embedded into a fresh table that replaces the serving one only if it reaches the floor.

Run it:  vectorsync eval examples/eval      (or)      python -m flows.evaluate ../shared/data/scifact
"""

# No `from __future__ import annotations`: the runner pickles a served flow by value, and a string annotation
# (`job: EmbedNewData`) would not find its class in the pickled function's globals.

import sys
import time
from typing import Any

from prefect import flow, get_run_logger

from tasks.embedding import embed_batch
from tasks.evaluating import (
    apply_quality_gate,
    discard_table,
    plan_whole_records,
    publish_comparison,
    publish_scores,
    score_queries,
)
from tasks.indexing import check_target_dimensions, ensure_vector_index
from tasks.inputs import as_is
from tasks.locking import exclusive_target
from tasks.naming import job_field
from tasks.planning import plan_chunks
from tasks.reporting import BatchProgress
from tasks.writing import delete_stale_chunks, prune_documents, record_dead_letters
from vectorsync.embedders import shared_embedder
from vectorsync.evaluation.beir import BeirDataset, load_dataset
from vectorsync.evaluation.comparison import comparison_row, parse_model_choice
from vectorsync.evaluation.corpus import LongText
from vectorsync.evaluation.gate import on_table, require_swappable
from vectorsync.evaluation.references import published_reference
from vectorsync.jobs import Evaluate
from vectorsync.planning import batches
from vectorsync.settings import Settings
from vectorsync.stores import shared_store
from vectorsync.stores.active import candidate_table

# The job a run gets when it names none (frozen, so one instance serves every run).
DEFAULT_JOB = Evaluate()


def run_name() -> str:
    """`evaluate <dataset>`, so the runs list says which labelled set each run scored."""
    return f"evaluate {job_field('dataset', DEFAULT_JOB.dataset)}"


@flow(
    name="evaluate",
    flow_run_name=run_name,
    description="Score retrieval on a labelled set: nDCG@10, recall@10/100, MRR@10.",
)
def evaluate(job: Evaluate = DEFAULT_JOB) -> dict[str, Any]:
    """Embed the labelled corpus, run its queries through the store's search and return the scores as JSON.

    With `job.models`, each model gets its own table and the result holds one row per model under `models`.
    """
    started = time.perf_counter()
    settings = job.settings()
    dataset = load_dataset(job.dataset, job.split)
    if job.models:
        return compare_models(job, dataset, settings, started)
    serving = on_table(settings, job.table or f"eval_{dataset.name}")
    if job.floor:
        require_swappable(serving)
    target = on_table(serving, candidate_table(serving.table)) if job.floor else serving
    get_run_logger().info("evaluating %s on %s with %s", dataset.root, target.describe_store(), settings.model_name)

    with exclusive_target(serving.describe_store(), serving.data_dir / "locks"):
        try:
            result = embed_and_score(job, dataset, target)
            result["target"] = serving.describe_store()
            if job.floor:
                apply_quality_gate(result, job.floor, serving, target)
                result["promoted"] = True
        except Exception:
            if job.floor:
                discard_table(target)  # the previous table serves on
            raise
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def compare_models(job: Evaluate, dataset: BeirDataset, settings: Settings, started: float) -> dict[str, Any]:
    """Score each of `job.models` on the set, each in its own table, and publish one row per model."""
    rows = []
    for choice in [parse_model_choice(text) for text in job.models]:
        target = on_table(choice.settings(settings), choice.table(job.table or f"eval_{dataset.name}"))
        get_run_logger().info("evaluating %s on %s", choice.label, target.describe_store())
        with exclusive_target(target.describe_store(), target.data_dir / "locks"):
            rows.append(comparison_row(choice, embed_and_score(job, dataset, target), target))
    publish_comparison(rows, dataset.name, len(dataset.queries))
    return {
        "dataset": dataset.name,
        "queries": len(dataset.queries),
        "exact": job.exact,
        "long_text": job.long_text,
        "models": rows,
        "seconds": round(time.perf_counter() - started, 3),
    }


def embed_and_score(job: Evaluate, dataset: BeirDataset, target: Settings) -> dict[str, Any]:
    """Embed the corpus into `target`, index it, score its search and publish the figures."""
    shared_embedder(target).encode(["load the model"])  # so that docs/s measures embedding, not the model's load
    embedding_started = time.perf_counter()
    documents, chunks, embedded = embed_corpus(dataset, target, job.long_text)
    embed_seconds = time.perf_counter() - embedding_started
    index_state = ensure_vector_index(target).state
    scores = score_queries(dataset.queries, dataset.qrels, target, k=job.k, exact=job.exact, label=dataset.name)
    known = published_reference(dataset.name, target.model_name)
    reference = job.reference or (known.scores if known else None)
    result = {
        **scores,
        "queries": len(dataset.queries),
        "exact": job.exact,
        "dataset": dataset.name,
        "split": job.split,
        "model": target.model_name,
        "long_text": job.long_text,
        "table": target.table if target.store_kind == "lancedb" else target.mongodb_collection,
        "documents": documents,
        "chunks": chunks,
        "embedded": embedded,
        "index_state": index_state,
        "reference": reference,
        "promoted": False,
        "embed_seconds": round(embed_seconds, 3),
        "dimensions": shared_embedder(target).dimensions,
        "max_tokens": shared_embedder(target).max_tokens,
    }
    publish_scores(result, reference, None if job.reference or known is None else known.source)
    return result


def embed_corpus(dataset: BeirDataset, settings: Settings, long_text: LongText) -> tuple[int, int, int]:
    """Chunk, embed and write the labelled corpus like any other data; returns documents, chunks, embedded."""
    check_target_dimensions(settings)
    records = list(dataset.records())
    if long_text == "chunk":
        chunks, plan = plan_chunks(as_is(records), settings, label=dataset.name)
    else:
        chunks, plan = plan_whole_records(as_is(records), settings, label=dataset.name)
    work = batches(plan.to_embed, settings.task_batch_size)
    bar = BatchProgress(len(plan.to_embed))
    written, letters = 0, []
    for number, batch in enumerate(work, 1):
        done = embed_batch(as_is(batch), settings, as_is(plan.replacing), number)
        written += done.written
        letters.extend(done.dead_letters)
        bar.advance(len(batch))
    delete_stale_chunks(plan.stale_ids, settings)
    prune_documents(sorted(set(shared_store(settings).documents()) - {r.id for r in records}), settings)
    if letters:
        record_dead_letters(letters, [], settings)
    return len(records), len(chunks), written


if __name__ == "__main__":
    print(evaluate(Evaluate(dataset=sys.argv[1] if len(sys.argv) > 1 else "examples/eval")))
