"""Tasks of the evaluation flow: plan whole documents, score the store's search, publish, gate and swap tables."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.retrying import BACKOFF, JITTER, retry_transient
from vectorsync.embedders import shared_embedder
from vectorsync.errors import QualityGateFailed
from vectorsync.evaluation.comparison import COLUMNS
from vectorsync.evaluation.corpus import whole_record_chunks
from vectorsync.evaluation.gate import check_floor
from vectorsync.evaluation.metrics import METRICS, Qrels
from vectorsync.evaluation.run import evaluate_store
from vectorsync.planning import SyncPlan, plan_sync
from vectorsync.records import Chunk, Record
from vectorsync.settings import Settings
from vectorsync.stores import shared_store
from vectorsync.stores.active import drop_table, promote


@task(
    name="plan-whole-records",
    task_run_name="plan-whole-{label}",
    retries=2,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def plan_whole_records(
    records: list[Record], settings: Settings, label: str = "documents"
) -> tuple[list[Chunk], SyncPlan]:
    """One chunk per record (the model truncates long ones), and the plan against what the store holds."""
    chunks = whole_record_chunks(records, shared_embedder(settings).identity)
    plan = plan_sync(chunks, shared_store(settings))
    get_run_logger().info(
        "%d whole documents: %d to embed, %d unchanged", len(chunks), len(plan.to_embed), plan.unchanged
    )
    return chunks, plan


@task(
    name="score-queries",
    task_run_name="score-{label}",
    retries=2,
    retry_delay_seconds=BACKOFF,
    retry_jitter_factor=JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def score_queries(
    queries: dict[str, str], qrels: Qrels, settings: Settings, k: int, exact: bool, label: str = "queries"
) -> dict[str, float]:
    """Embed every query in one call, search the store for each, and score the ranking with trec_eval."""
    scores = evaluate_store(
        shared_store(settings),
        shared_embedder(settings),
        queries,
        qrels,
        k=k,
        exact=exact,
        batch_size=settings.batch_size,
    )
    get_run_logger().info(
        "%s over %d queries (%s search): %s",
        label,
        len(queries),
        "exact" if exact else "index",
        ", ".join(f"{name} {scores[name]:.4f}" for name in METRICS),
    )
    return scores


@task(name="publish-scores", task_run_name="publish-scores", cache_policy=NO_CACHE)
def publish_scores(result: dict[str, Any], reference: dict[str, float] | None, source: str | None) -> None:
    """The metrics as a table artifact, and a markdown comparison when published figures are known."""
    create_table_artifact(
        table=[{"metric": name, "value": round(result[name], 5)} for name in METRICS]
        + [{"metric": key, "value": result[key]} for key in ("queries", "exact", "long_text", "model", "dataset")],
        key="evaluation-scores",
        description=f"Retrieval quality on {result['dataset']} ({result['split']})",
    )
    if reference:
        create_markdown_artifact(
            markdown=comparison_markdown(result, reference, source),
            key="evaluation-reference",
            description="Compared with published figures",
        )


@task(name="publish-comparison", task_run_name="publish-comparison-{dataset}", cache_policy=NO_CACHE)
def publish_comparison(rows: list[dict[str, Any]], dataset: str, queries: int) -> None:
    """One row per model as a table artifact: quality, throughput and what the vectors cost to keep."""
    create_table_artifact(
        table=[{column: row[column] for column in COLUMNS} for row in rows],
        key="model-comparison",
        description=f"Models compared on {dataset} ({queries} queries): docs/s measured on this machine",
    )


def comparison_markdown(result: dict[str, Any], reference: dict[str, float], source: str | None) -> str:
    """A markdown table of this run's figures next to the published ones."""
    lines = [
        f"### {result['model']} on {result['dataset']}\n",
        "| metric | this run | published | difference |",
        "|---|---:|---:|---:|",
    ]
    for name in METRICS:
        if name in reference:
            diff = result[name] - reference[name]
            lines.append(f"| {name} | {result[name]:.4f} | {reference[name]:.4f} | {diff:+.4f} |")
    if source:
        lines.append(f"\nPublished: {source}")
    return "\n".join(lines)


@task(name="quality-gate", task_run_name="quality-gate-{serving.table}", cache_policy=NO_CACHE)
def apply_quality_gate(result: dict[str, Any], floor: dict[str, float], serving: Settings, candidate: Settings) -> str:
    """Make the fresh table serve when every metric reaches its floor; otherwise fail loudly, changing nothing.

    Returns the table that served before.
    """
    logger = get_run_logger()
    try:
        check_floor(result, floor, serving.describe_store())
    except QualityGateFailed as exc:
        logger.error("%s", exc)
        create_markdown_artifact(markdown=f"### Quality gate failed\n\n{exc}", key="quality-gate")
        raise
    replaced = promote(serving.data_dir / "lancedb", serving.table, candidate.table)
    logger.info("quality gate passed: %s now serves %s (was %s)", candidate.table, serving.table, replaced)
    create_markdown_artifact(
        markdown=f"### Quality gate passed\n\n`{candidate.table}` now serves `{serving.table}` (was `{replaced}`).",
        key="quality-gate",
    )
    return replaced


@task(name="discard-table", task_run_name="discard-{settings.table}", cache_policy=NO_CACHE)
def discard_table(settings: Settings) -> None:
    """Drop a fresh table that will not serve, with its dead letters and index definition."""
    drop_table(settings.data_dir / "lancedb", settings.table)
    get_run_logger().warning("dropped %s; the previous table serves on", settings.table)
