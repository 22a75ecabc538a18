"""A seam for progress reports: the pipeline counts work as it is found and done, the CLI draws a bar from it.

Counts are per stage label ("reading", "embedding"), thread-safe, and the total may grow while a streaming
run discovers more work. A process with no listener (a Dask worker, a deployment) counts for nobody.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Listener = Callable[[str, int, int], None]
_listeners: list[Listener] = []
_lock = threading.Lock()
_done: dict[str, int] = {}
_total: dict[str, int] = {}


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener(label, done, total)` on every report; returns a function that unsubscribes."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def report(label: str, done: int, total: int) -> None:
    """Announce that `done` of `total` units of `label` are finished."""
    with _lock:
        _done[label], _total[label] = done, total
    _notify(label, done, total)


def start(label: str) -> None:
    """Begin counting `label` from zero (a new run)."""
    report(label, 0, 0)


def expect(label: str, units: int) -> None:
    """`units` more of `label` are known to be coming."""
    if units:
        _change(label, 0, units)


def advance(label: str, units: int) -> None:
    """`units` more of `label` are finished."""
    if units:
        _change(label, units, 0)


def _change(label: str, done: int, total: int) -> None:
    with _lock:
        _done[label] = _done.get(label, 0) + done
        _total[label] = max(_total.get(label, 0) + total, _done[label])
        figures = _done[label], _total[label]
    _notify(label, *figures)


def _notify(label: str, done: int, total: int) -> None:
    for listener in list(_listeners):
        listener(label, done, total)
