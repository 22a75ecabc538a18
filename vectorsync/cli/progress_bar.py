"""A rich progress bar on stderr, fed by the flow's per-batch progress reports."""

from __future__ import annotations

import sys
from typing import Any

from rich.progress import Progress

from vectorsync import progress
from vectorsync.cli.console import err


class ProgressBar:
    """Draws one bar per label while the block runs; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bars: dict[str, Any] = {}

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._progress = Progress(console=err, transient=True)
            self._progress.start()
            self._unsubscribe = progress.subscribe(self._update)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._unsubscribe()
            self._progress.stop()

    def _update(self, label: str, done: int, total: int) -> None:
        if label not in self._bars:
            self._bars[label] = self._progress.add_task(label, total=total)
        self._progress.update(self._bars[label], completed=done, total=total)
