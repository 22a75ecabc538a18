"""Which failures of reading a file or a record become skips, and how they read in one line.

Any exception raised while one file or record is parsed says something about that input (it is nested
too deeply, truncated, changed under the reader, or trips a bug of a parsing library), so it becomes a
skip that names the file and the record, and the rest of the input goes on. Only faults of the machine
itself (out of memory for the kernel, file handles or disk space) still fail the run.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable

from vectorsync.records import Record, Skip
from vectorsync.sources.names import printable

_MACHINE_ERRNOS = frozenset({errno.ENOMEM, errno.EMFILE, errno.ENFILE, errno.ENOSPC, errno.EDQUOT})
# Long enough for any library's message, short enough that a record's text never fills an error line.
_MAX_MESSAGE = 160


def machine_fault(exc: BaseException) -> bool:
    """True for a fault of the machine, not of the input: these still fail the run."""
    return isinstance(exc, OSError) and exc.errno in _MACHINE_ERRNOS


def describe(exc: BaseException) -> str:
    """The exception in a few words for a skip reason: its kind and the first line of its message, cut short."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse"
    if isinstance(exc, MemoryError):
        return "too large to read into memory"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = str(exc).strip().splitlines()
    message = printable(lines[0]) if lines else ""
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def guarded(source: str, location: str | None, produce: Callable[[], Iterable[Record | Skip]]) -> list[Record | Skip]:
    """What `produce` yields for one record, or a single skip naming the record when producing it raises."""
    try:
        return list(produce())
    except Exception as exc:
        if machine_fault(exc):
            raise
        return [Skip(source, f"cannot read the record ({describe(exc)})", location)]
