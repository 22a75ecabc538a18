"""Which failures a task retries (transient faults only, never bad input), and how long each retry waits."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, overload

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from vectorsync.errors import TransientError, VectorsyncError

_TRANSIENT_BUILTINS = (TimeoutError, ConnectionError)
# A server asking for a longer pause than this (a daily quota, say) fails the run instead of parking it for hours.
MAX_HINTED_WAIT_S = 900.0
# The wait the failed call's server asked for, handed from `retry_transient` to `RetryDelays` in the same
# task-run context (Prefect asks the retry condition, then reads the delay, in one thread).
_server_hint: ContextVar[float | None] = ContextVar("vectorsync_retry_hint", default=None)


class RetryDelays(float):
    """Prefect's `retry_delay_seconds`: exponential backoff with jitter, or the server's own hint when longer.

    Prefect's engine reads a task's delay right after asking its `retry_condition_fn`, indexing it by the
    retry number when it is a Sequence; its UI shows a plain number as the task's "Retry Delay" (a list
    shows as NaN or None). This is both: the float is the first delay (what the UI shows), and item `n` is
    the wait before retry `n + 1`: `base * 2**n` jittered by up to `jitter` either way, or the Retry-After
    that `retry_transient` found on the failure, whichever is longer. Prefect then schedules the
    AwaitingRetry state for that time and logs the wait next to the failure's message, once.
    """

    base: float
    jitter: float
    retries: int

    def __new__(cls, base: float = 2.0, jitter: float = 0.5, retries: int = 3) -> RetryDelays:
        delays = super().__new__(cls, base)
        delays.base, delays.jitter, delays.retries = base, jitter, retries
        return delays

    def __getnewargs__(self) -> tuple[float, float, int]:  # type: ignore[override]  # pickled into Dask workers
        return self.base, self.jitter, self.retries

    def __len__(self) -> int:
        return self.retries

    @overload
    def __getitem__(self, index: int) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> list[float]: ...
    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return [self[n] for n in range(self.retries)[index]]
        if not 0 <= index < self.retries:
            # The end of the sequence: pydantic, validating a task run's policy, iterates until it meets this.
            raise IndexError(index)
        backoff = self.base * 2**index * random.uniform(1 - self.jitter, 1 + self.jitter)
        hint = _server_hint.get()
        _server_hint.set(None)  # one failure's hint serves one retry
        return round(max(backoff, hint or 0.0), 2)

    def __iter__(self) -> Iterator[float]:
        return (self[n] for n in range(self.retries))

    def __repr__(self) -> str:
        return f"RetryDelays(base={self.base}, jitter={self.jitter}, retries={self.retries})"


Sequence.register(RetryDelays)

# 2 s, 4 s, 8 s, each within ±50 %, so retries from parallel runs spread out; or what the server asked for.
BACKOFF = RetryDelays(base=2.0, jitter=0.5, retries=3)
# `retry_jitter_factor` for the decorators: none. Prefect's jitter may shorten a delay (2 s became 1.4 s), which
# would cut a server's Retry-After short; `BACKOFF` jitters its backoff itself and never goes below a hint.
JITTER = None


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
    """Prefect `retry_condition_fn`: retry only transient faults, waiting as long as the server asked.

    Prefect itself logs the failure with the wait ("Retry 1/3 will start 120.0 second(s) from now"), so a
    retried fault adds no line of its own; a fault that is not retried says why, in one line.
    """
    try:
        state.result()
    except BaseException as exc:  # the state's own exception, re-raised by result()
        hint = getattr(exc, "retry_after", None)
        if not is_transient(exc):
            _run_logger().info("%s: %s is not retried (not a transient fault)", task_run.name, type(exc).__name__)
            return False
        if hint is not None and hint > MAX_HINTED_WAIT_S:
            _run_logger().warning(
                "%s: the server asks to wait %.0f s, more than %.0f s: not retried; run again later",
                *(task_run.name, hint, MAX_HINTED_WAIT_S),
            )
            return False
        _server_hint.set(hint)
        return True
    return False


def _run_logger() -> Any:
    """The task run's logger (its lines reach the Prefect UI), or a plain logger outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("vectorsync.retries")
