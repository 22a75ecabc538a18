"""Hand freed heap memory back to the operating system, so a long run's resident memory stays flat.

glibc keeps the memory that each window's records, chunks, Arrow buffers and store writes free, spread over its
per-thread arenas, and a streaming run's RSS crept up with the corpus although its live objects did not: over the
write phase of 100,000 chunks from 516 to 581 MiB, against a flat 507-515 MiB with the freed pages returned
after every window, at the same speed (benchmarks/scale.py). Elsewhere than glibc (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any


def release_freed_memory() -> None:
    """Return the heap's free pages to the OS (glibc's `malloc_trim`); a no-op where the C library has none."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
