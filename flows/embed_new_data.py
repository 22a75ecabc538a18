"""Embed new files into the vector store: load -> chunk -> embed -> write -> ensure index -> smoke test.

Records stream through in windows, a few embedding batches in flight at a time, so memory stays flat however
large the corpus is. Only chunks whose fingerprint is not stored yet are embedded, so re-runs cost what changed,
and the store is the record of progress: a crashed run, run again, finishes with nothing lost or doubled.

Run it:  vectorsync run examples/docs      (or)      python -m flows.embed_new_data examples/docs
"""

# No `from __future__ import annotations`: the runner pickles a served flow by value, and a string annotation
# (`job: EmbedNewData`) would not find its class in the pickled function's globals.

import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.embedding import WrittenBatch, embed_batch
from tasks.indexing import check_target_dimensions, ensure_vector_index
from tasks.inputs import as_is
from tasks.locking import exclusive_target
from tasks.naming import job_field
from tasks.planning import plan_chunks
from tasks.reporting import BatchProgress, publish_summary
from tasks.secrets import with_secret_blocks
from tasks.smoke import smoke_test
from tasks.writing import delete_stale_chunks, prune_documents, record_dead_letters
from vectorsync import progress
from vectorsync.embedders import shared_embedder
from vectorsync.errors import IncompleteRun, VectorsyncError
from vectorsync.jobs import EmbedNewData
from vectorsync.memory import RunHeap, steady_heap
from vectorsync.migration import serving_settings
from vectorsync.planning import SeenDocuments, SyncPlan, batches, covered_prefix, documents_to_prune
from vectorsync.records import Chunk
from vectorsync.settings import Settings
from vectorsync.stores import DeadLetter, shared_store
from vectorsync.summary import RunSummary
from vectorsync.windows import Window, read_windows

# Windows in flight (read, planning, embedding or being written): enough to keep every stage busy, few enough
# to bound memory.
WINDOWS_IN_FLIGHT = 3
# Chunks whose stored vectors the smoke test checks, picked evenly over the run.
SMOKE_SAMPLES = 20

# The job a run gets when it names none (frozen, so one instance serves every run).
DEFAULT_JOB = EmbedNewData()


def run_name() -> str:
    """`embed <path>`, so the runs list says what each run embedded."""
    return f"embed {job_field('path', DEFAULT_JOB.path)}"


@flow(
    name="embed-new-data",
    flow_run_name=run_name,
    description="Embed new files into the vector store, then index and smoke-test it.",
    # Three threads: a window is chunked while a batch embeds and the one before it is written. Under a
    # DaskTaskRunner the batches spread over the cluster's workers instead (docs/deployments.md, "Scale out").
    task_runner=ThreadPoolTaskRunner(max_workers=3),  # type: ignore[arg-type]  # Prefect's runner generic is invariant
)
def embed_new_data(job: EmbedNewData = DEFAULT_JOB) -> dict[str, Any]:
    """Bring the store in line with the files under `job.path`; returns the run summary as JSON.

    The final state's message carries the counts; a run with skips or dead letters ends as
    "Completed with skips"; a mistake (a missing path, a bad setting) fails with one line, no traceback.
    """
    started = time.perf_counter()
    try:
        settings = with_secret_blocks(job.settings())
        summary = RunSummary(target=settings.describe_store(), model=settings.model_name, path=job.path)
        embed_and_write(job, settings, summary)
    except VectorsyncError as exc:
        get_run_logger().error("%s", exc)
        return Failed(message=str(exc), data=exc)  # type: ignore[return-value]  # the caller gets `exc` raised
    summary.seconds = time.perf_counter() - started
    summary.completed = not (job.strict and not summary.clean)
    publish_summary(summary)
    if not summary.completed:
        failure = IncompleteRun(f"--strict: {summary.headline()} under {job.path}", summary.as_json())
        get_run_logger().error("%s", failure)
        return Failed(message=str(failure), data=failure)  # type: ignore[return-value]
    get_run_logger().info("%s", summary.headline())
    name = "Completed" if summary.clean else "Completed with skips"
    # Prefect hands the caller the state's data: the summary.
    return Completed(message=summary.headline(), name=name, data=summary.as_json())  # type: ignore[return-value]


def embed_and_write(job: EmbedNewData, settings: Settings, summary: RunSummary) -> None:
    """The recipe: stream windows of records through chunk -> embed -> write, then prune, index and smoke-test."""
    logger = get_run_logger()
    windows = read_windows(job.path, job.load_options(), max_records=settings.task_batch_size)
    with exclusive_target(summary.target, settings.data_dir / "locks"):
        # Read only now: a model migration holding the target may have switched its table while this run waited.
        settings = serving_settings(settings)
        summary.model = settings.model_name
        logger.info("embedding %s into %s with %s", job.path, settings.describe_store(), summary.model)
        loaded_before = shared_embedder(settings).loaded
        check_target_dimensions(settings, allow_index_rebuild=job.update_index)
        with steady_heap() as heap:
            run = StreamingRun(job, settings, summary, heap)
            for window in windows:
                run.submit(window)
            run.finish()

        if job.prune:
            gone = documents_to_prune(
                shared_store(settings).documents(), run.seen, covered_prefix(job.path), keep_sources=run.failed_files
            )
            summary.deleted += prune_documents(gone, settings)
            summary.pruned_documents = len(gone)

        summary.index_state = ensure_vector_index(settings, update=job.update_index).state
        if run.samples:
            summary.smoke_query = job.query or run.samples[0].text
            summary.smoke_hits = smoke_test(settings, job.query, run.samples, k=job.top_k)
    summary.model_loaded = shared_embedder(settings).loaded and not loaded_before


@dataclass
class _Pending:
    """A window on its way: being planned, then its batches embedding and being written."""

    window: Window
    planning: PrefectFuture[tuple[list[Chunk], SyncPlan]] | None
    chunks: list[Chunk] = field(default_factory=list)
    batches: list[PrefectFuture[WrittenBatch]] = field(default_factory=list)
    dispatched: bool = False


@dataclass
class StreamingRun:
    """Windows in flight through the tasks, and what the run learns from each as it finishes, in order.

    While the flow reads window n, window n-1 is being chunked and planned and earlier ones embedded and
    written, each on the task runner's workers: reading, tokenizing, the model and the store overlap.
    """

    job: EmbedNewData
    settings: Settings
    summary: RunSummary
    heap: RunHeap
    seen: SeenDocuments = field(default_factory=SeenDocuments)
    failed_files: set[str] = field(default_factory=set)
    samples: list[Chunk] = field(default_factory=list)

    def __post_init__(self) -> None:
        store = shared_store(self.settings)
        self._stored = store.snapshot()
        self._old_letters = {letter.source for letter in store.dead_letters()}
        self._problems: set[str] = set()
        self._pending: deque[_Pending] = deque()
        self._progress = BatchProgress()
        self._batches = 0
        self._windows = 0
        self._rng = random.Random(0)
        progress.start("reading")

    def submit(self, window: Window) -> None:
        """Start planning `window`, hand the one before it to the embedders; waits while too many are out."""
        self._read(window)
        planning = None
        if window.records:
            planning = plan_chunks.submit(
                as_is(window.records), self.settings, self.job.refresh, f"window-{window.number}", self._stored
            )
        self._pending.append(_Pending(window, planning))
        if len(self._pending) > 1:
            self._dispatch(self._pending[-2])
        while len(self._pending) > WINDOWS_IN_FLIGHT:
            self._complete(self._pending.popleft())

    def finish(self) -> None:
        """Wait for every window still in flight."""
        for pending in self._pending:
            self._dispatch(pending)
        while self._pending:
            self._complete(self._pending.popleft())

    def _dispatch(self, pending: _Pending) -> None:
        """Once its plan is ready, send the window's chunks to embed in batches, each written when embedded."""
        if pending.dispatched or pending.planning is None:
            pending.dispatched = True
            return
        pending.dispatched = True
        pending.chunks, plan = pending.planning.result()
        self.summary.chunks += len(pending.chunks)
        self.summary.unchanged += plan.unchanged
        if plan.stale_ids:
            self.summary.deleted += delete_stale_chunks(plan.stale_ids, self.settings)
        for batch in batches(plan.to_embed, self.settings.task_batch_size):
            self._batches += 1
            replacing = frozenset(c.id for c in batch if c.id in plan.replacing)
            pending.batches.append(embed_batch.submit(as_is(batch), self.settings, as_is(replacing), self._batches))
        self._progress.expect(len(plan.to_embed))

    def _read(self, window: Window) -> None:
        self.summary.files += len(window.files)
        self.summary.documents += len(window.records)
        self.summary.add_skips(window.skips)
        progress.advance("reading", len(window.files))
        logger = get_run_logger()
        for skip in window.skips:
            logger.warning("skipped %s", skip)
            self.failed_files.add(skip.source)
        if self.job.prune:
            self.seen.add(record.id for record in window.records)

    def _complete(self, pending: _Pending) -> None:
        self._dispatch(pending)
        rejected: list[DeadLetter] = []
        for future in pending.batches:
            batch = future.result()
            self.summary.embedded += batch.written
            rejected.extend(batch.dead_letters)
            self._progress.advance(batch.embedded + len(batch.dead_letters))
        self.summary.add_dead_letters(rejected)
        letters = [DeadLetter(s.source, s.reason, s.location) for s in pending.window.skips] + rejected
        self._problems |= {letter.source for letter in letters}
        clean = [f for f in pending.window.files if f in self._old_letters and f not in self._problems]
        if letters or clean:
            record_dead_letters(letters, clean, self.settings)
        self._sample(pending.chunks, {letter.document for letter in letters})
        self.heap.window_done()  # the window's records, chunks and vectors are gone: keep RSS flat

    def _sample(self, chunks: list[Chunk], rejected: set[str | None]) -> None:
        """Keep a chunk of this window for the smoke test: a reservoir sample, so picks spread over the run."""
        written = [chunk for chunk in chunks if chunk.document not in rejected]
        if not written:
            return
        self._windows += 1
        pick = written[0] if not self.samples else self._rng.choice(written)
        if len(self.samples) < SMOKE_SAMPLES:
            self.samples.append(pick)
        elif (slot := self._rng.randrange(self._windows)) < SMOKE_SAMPLES:
            self.samples[slot] = pick


if __name__ == "__main__":
    embed_new_data(EmbedNewData(path=sys.argv[1] if len(sys.argv) > 1 else "examples/docs"))
