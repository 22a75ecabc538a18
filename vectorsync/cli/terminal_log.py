"""The terminal's log handler for CLI commands: Prefect's console handler, minus the errors of the run itself."""

from __future__ import annotations

import logging

from prefect.logging.handlers import PrefectConsoleHandler

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class TerminalLogHandler(PrefectConsoleHandler):
    """Shows warnings as Prefect would, but not a run's ERROR lines and their stack traces.

    The command reports a failed run itself: one line for an error vectorsync raised on purpose, Python's
    traceback for anything else. The same records still reach the Prefect API, where the UI shows them.
    Installed through PREFECT_LOGGING_HANDLERS_CONSOLE_CLASS by `quiet_prefect`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.name.startswith(RUN_LOGGERS):
            return False
        return bool(super().filter(record))
