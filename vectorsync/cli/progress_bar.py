"""A rich progress display on stderr, fed by the flow's progress reports: stages, n/N, rate and time left."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from vectorsync import progress
from vectorsync.cli.console import err

STARTING = "starting Prefect, loading the model"


def rate(task: Task) -> float | None:
    """Units per second: rich's estimate over the last half minute, or the average since the stage began."""
    if task.speed:
        return task.speed
    elapsed = task.elapsed
    return task.completed / elapsed if task.completed and elapsed else None


class RateColumn(ProgressColumn):
    """Units per second, e.g. `41.3/s`; blank until there is a rate."""

    def render(self, task: Task) -> Text:
        speed = rate(task)
        return Text(f"{speed:,.1f}/s" if speed else "", style="progress.data.speed")


class TimeLeftColumn(ProgressColumn):
    """Time left at the current rate, e.g. `0:01:05 left`; for a growing total, left of what is known so far."""

    def render(self, task: Task) -> Text:
        speed = rate(task)
        if task.finished or task.total is None or not speed:
            return Text("")
        seconds = int((task.total - task.completed) / speed)
        return Text(f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} left", style="progress.remaining")


def columns() -> tuple[ProgressColumn, ...]:
    """stage, bar, n/N, rate, elapsed, time left."""
    return (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeLeftColumn(),
    )


class ProgressBar:
    """One line per stage (loading, embedding, ...) while the block runs; silent when stderr is not a terminal.

    Until the first report it shows a spinner, since starting Prefect and loading the model take a while.
    A stage's total may grow between reports (chunks are counted while files stream in).
    """

    def __init__(self, enabled: bool = True, console: Console = err, clock: Callable[[], float] | None = None) -> None:
        self.enabled = enabled and console.is_terminal
        self.display = Progress(*columns(), console=console, transient=True, speed_estimate_period=30, get_time=clock)
        self._bars: dict[str, TaskID] = {}
        self._starting: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._starting = self.display.add_task(STARTING, total=None)
            self.display.start()
            self._unsubscribe = progress.subscribe(self.update)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._unsubscribe()
            self.display.stop()

    def update(self, label: str, done: int, total: int) -> None:
        """Draw `done` of `total` for stage `label`, adding its line on the first report."""
        if self._starting is not None:
            self.display.remove_task(self._starting)
            self._starting = None
        if label not in self._bars:
            self._bars[label] = self.display.add_task(label, total=total)
        self.display.update(self._bars[label], completed=done, total=max(total, done))
