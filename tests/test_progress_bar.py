"""The terminal progress display, drawn from the flow's progress reports onto a terminal-like console."""

from __future__ import annotations

import io

from rich.console import Console

from vectorsync import progress
from vectorsync.cli.progress_bar import STARTING, ProgressBar


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=140)


def drawn(bar: ProgressBar) -> str:
    """What the display shows now, as plain text."""
    screen = Console(file=io.StringIO(), width=140)
    screen.print(bar.display.make_tasks_table(bar.display.tasks))
    return screen.file.getvalue()  # type: ignore[attr-defined]


def test_a_spinner_says_what_is_starting_until_the_first_report():
    with ProgressBar(console=terminal()) as bar:
        assert STARTING in drawn(bar)
        progress.report("loading", 1, 6)
        assert STARTING not in drawn(bar) and "loading" in drawn(bar)


def test_stages_show_n_of_n_as_the_total_grows_while_streaming():
    with ProgressBar(console=terminal()) as bar:
        progress.report("loading", 6, 6)
        progress.report("embedding", 256, 300)
        progress.report("embedding", 512, 900)
        screen = drawn(bar)
    assert "6/6" in screen and "512/900" in screen
    embedding = next(task for task in bar.display.tasks if task.description == "embedding")
    assert embedding.total == 900 and embedding.completed == 512


def test_rate_and_time_left_follow_the_reports():
    now = [0.0]
    with ProgressBar(console=terminal(), clock=lambda: now[0]) as bar:
        progress.report("embedding", 0, 100)
        now[0] = 2.0
        progress.report("embedding", 50, 100)
        screen = drawn(bar)
    assert "50/100" in screen and "25.0/s" in screen and "0:00:02 left" in screen


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    bar = ProgressBar(console=Console(file=io.StringIO()))
    with bar:
        progress.report("embedding", 1, 2)
    assert not bar.enabled and bar.display.tasks == []
