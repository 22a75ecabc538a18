"""Artifacts that make a run followable in the Prefect UI: progress, the summary table, dead letters."""

from __future__ import annotations

from uuid import UUID

from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from vectorsync import progress
from vectorsync.summary import RunSummary


class BatchProgress:
    """A progress artifact in the UI and the in-process progress report, advanced once per batch."""

    def __init__(self, total_chunks: int, label: str = "embedding") -> None:
        self.total = total_chunks
        self.done = 0
        self.label = label
        self._artifact: UUID | None = None
        if total_chunks:
            self._artifact = create_progress_artifact(  # type: ignore[assignment]  # sync in a sync flow
                progress=0.0, key="embedding-progress", description=f"Chunks embedded of {total_chunks}"
            )
            progress.report(label, 0, total_chunks)

    def advance(self, chunks: int) -> None:
        """Count `chunks` more as finished."""
        self.done += chunks
        if self._artifact is not None:
            update_progress_artifact(self._artifact, progress=100.0 * self.done / max(self.total, 1))
        progress.report(self.label, self.done, self.total)


def publish_summary(summary: RunSummary) -> None:
    """The run's figures, and its skips and dead letters when there are any, as table artifacts."""
    create_table_artifact(table=summary.table_rows(), key="run-summary", description="What this run did")
    problems = [
        {"source": item.source, "location": item.location or "", "reason": item.reason, "kind": kind}
        for kind, items in (("skipped", summary.skips), ("dead letter", summary.dead_letters))
        for item in items
    ]
    if problems:
        create_table_artifact(table=problems, key="dead-letters", description="Input left out of this run, with why")
