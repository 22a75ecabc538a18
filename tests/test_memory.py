"""Freed heap memory goes back to the OS, so a streaming run's RSS does not creep up with the corpus."""

from __future__ import annotations

import psutil
import pytest

from vectorsync.memory import _malloc_trim, release_freed_memory


@pytest.mark.skipif(_malloc_trim() is None, reason="the C library has no malloc_trim (not glibc)")
def test_freed_memory_of_a_window_is_returned_to_the_os():
    process = psutil.Process()
    # 200 MB of heap blocks, one in a hundred kept alive: freeing the rest leaves holes glibc keeps by itself.
    blocks = [bytes(2000) + bytes([n % 256]) for n in range(100_000)]
    kept = blocks[::100]
    del blocks
    before = process.memory_info().rss
    release_freed_memory()
    after = process.memory_info().rss
    assert before - after > 50 * 2**20, f"RSS {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB"
    assert len(kept) == 1000
