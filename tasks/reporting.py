"""Artifacts that make a run followable in the Prefect UI: progress, the summary table, dead letters."""

from __future__ import annotations

import time
from uuid import UUID

from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from vectorsync import progress
from vectorsync.summary import RunSummary

UPDATE_EVERY_S = 5.0


class BatchProgress:
    """The run's progress artifact in the Prefect UI, updated as batches finish, and the work expected so far.

    How much work there is may grow window by window in a streaming run. `tasks_report` says the tasks count
    their own work for the terminal as they go (`embed-batch` does, per model call), so `advance` does not.
    """

    def __init__(self, total_chunks: int = 0, label: str = "embedding", tasks_report: bool = True) -> None:
        self.total = 0
        self.done = 0
        self.label = label
        self.tasks_report = tasks_report
        self._artifact: UUID | None = None
        self._updated = 0.0
        progress.start(label)
        self.expect(total_chunks)

    def expect(self, chunks: int) -> None:
        """`chunks` more are known to need embedding."""
        if not chunks:
            return
        self.total += chunks
        progress.expect(self.label, chunks)
        if self._artifact is None:
            self._artifact = create_progress_artifact(  # type: ignore[assignment]  # sync in a sync flow
                progress=0.0, key=f"{self.label.replace(' ', '-')}-progress", description=self._description()
            )
            self._updated = time.monotonic()
        else:
            self._update()

    def advance(self, chunks: int) -> None:
        """`chunks` more are finished (their batch is written)."""
        self.done += chunks
        if not self.tasks_report:
            progress.advance(self.label, chunks)
        self._update()

    def _update(self) -> None:
        # Each update is a call to the API: a few a minute keep the page live without slowing the run.
        if self._artifact is None or (self.done < self.total and time.monotonic() - self._updated < UPDATE_EVERY_S):
            return
        percent = 100.0 * self.done / max(self.total, 1)
        update_progress_artifact(self._artifact, progress=percent, description=self._description())  # type: ignore[arg-type]
        self._updated = time.monotonic()

    def _description(self) -> str:
        return f"{self.label.capitalize()}: {self.done:,} of {self.total:,} found so far"


def publish_summary(summary: RunSummary) -> None:
    """The run's figures, and its skips and dead letters when there are any, as table artifacts."""
    create_table_artifact(
        table=summary.table_rows(), key="run-summary", description=f"What this run did: {summary.headline()}"
    )
    problems = [
        {"what": kind, "source": item.source, "where": item.location or "", "reason": item.reason}
        for kind, items in (("input skipped", summary.skips), ("chunk dead-lettered", summary.dead_letters))
        for item in items
    ]
    if problems:
        shown = "" if len(problems) == summary.skipped + summary.dead_lettered else f", the first {len(problems)}"
        create_table_artifact(
            table=problems,
            key="dead-letters",
            description=f"Left out of this run: {summary.skipped} inputs skipped, "
            f"{summary.dead_lettered} chunks dead-lettered{shown}",
        )
