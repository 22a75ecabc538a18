"""A seam for progress reports: the flow announces finished batches, the CLI draws a bar from them."""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str, int, int], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener(label, done, total)` on every report; returns a function that unsubscribes."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def report(label: str, done: int, total: int) -> None:
    """Announce that `done` of `total` units of `label` are finished."""
    for listener in list(_listeners):
        listener(label, done, total)
