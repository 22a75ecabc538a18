"""Keep a long run's resident memory flat: collect its cyclic garbage cheaply, and hand freed heap to the OS.

Two things made a streaming run's RSS creep up with the corpus although its live objects did not:
- glibc keeps the memory that each window's records, chunks, Arrow buffers and store writes free, spread over
  its per-thread arenas. Over the write phase of 100,000 chunks RSS went from 516 to 581 MiB, against a flat
  507-515 MiB with the freed pages returned after every window, at the same speed.
- Cyclic garbage (Prefect's futures, states and contexts) waits for Python's full collections, which grow rarer
  and slower as the heap grows: one took 0.28 s with the model and Prefect loaded. With the objects alive at the
  start frozen out of the collector's view, a full collection every few windows takes 0.02 s; at 300,000 chunks
  the peak RSS fell from 567 to 519 MiB, and the run went 6% faster.
Figures from `benchmarks/scale.py` (2 cores). Elsewhere than glibc (macOS, musl) the release does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

# Windows between two full collections: each costs about 0.02 s once the start-up objects are frozen.
COLLECT_EVERY = 8


class RunHeap:
    """The heap of one streaming run; `window_done` after each window keeps it at its working size."""

    def __init__(self, collect_every: int = COLLECT_EVERY) -> None:
        self.collect_every = collect_every
        self.windows = 0

    def window_done(self) -> None:
        """The window's objects are gone: every few windows collect their cycles, then return the freed pages."""
        self.windows += 1
        if self.windows % self.collect_every == 0:
            gc.collect()
        release_freed_memory()


@contextmanager
def steady_heap(collect_every: int = COLLECT_EVERY) -> Iterator[RunHeap]:
    """For the length of a run, leave the objects alive at its start (modules, model, clients) out of collections.

    They are collected once first, and handed back to the collector when the run ends, so a long-lived worker
    that runs many flows keeps nothing of one run frozen into the next.
    """
    gc.collect()
    gc.freeze()
    try:
        yield RunHeap(collect_every)
    finally:
        gc.unfreeze()


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
