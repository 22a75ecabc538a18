"""Which failures a task retries: transient faults only, never bad input."""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from prefect.tasks import exponential_backoff

from vectorsync.errors import TransientError, VectorsyncError

# Exponential backoff (2 s, 4 s, 8 s) with jitter, so retries from parallel runs spread out.
BACKOFF = exponential_backoff(backoff_factor=2)
JITTER = 0.5
_TRANSIENT_BUILTINS = (TimeoutError, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    """True for faults that heal by themselves: timeouts, lost connections, 429, 5xx, MongoDB reconnects."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, VectorsyncError):
        return False
    try:
        from pymongo.errors import AutoReconnect, NetworkTimeout
    except ImportError:  # pymongo is a dependency; guarded so the check stays cheap to import
        return isinstance(exc, _TRANSIENT_BUILTINS)
    return isinstance(exc, (*_TRANSIENT_BUILTINS, AutoReconnect, NetworkTimeout))


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only transient faults, and log why."""
    try:
        state.result()
    except BaseException as exc:  # the state's own exception, re-raised by result()
        transient = is_transient(exc)
        _run_logger().warning(
            "%s failed with %s: %s (%s)",
            task_run.name,
            type(exc).__name__,
            exc,
            "transient, retrying" if transient else "not retried",
        )
        return transient
    return False


def _run_logger() -> Any:
    """The task run's logger (its lines reach the Prefect UI), or a plain logger outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("vectorsync.retries")
