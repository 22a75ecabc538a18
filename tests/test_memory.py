"""A streaming run's RSS does not creep up with the corpus: freed heap goes back to the OS, cycles are collected."""

from __future__ import annotations

import gc
import weakref

import psutil
import pytest

from vectorsync.memory import _malloc_trim, release_freed_memory, steady_heap


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


class Node:
    """One link of a reference cycle, as Prefect's futures and states form them."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.other: Node | None = None


def cyclic_garbage(count: int) -> list[weakref.ref[Node]]:
    """`count` dropped two-node cycles of 100 KB each; weak references tell whether they were collected."""
    refs = []
    for _ in range(count):
        a, b = Node(bytes(100_000)), Node(b"")
        a.other, b.other = b, a
        refs.append(weakref.ref(a))
    return refs


def test_a_runs_cyclic_garbage_is_collected_every_few_windows_while_start_up_objects_stay_frozen():
    gc.disable()  # only the run's own collections may free the cycles
    try:
        with steady_heap(collect_every=4) as heap:
            assert gc.get_freeze_count() > 0, "the objects alive at the start are out of the collector's view"
            refs = cyclic_garbage(100)
            for _ in range(3):
                heap.window_done()
            assert all(ref() is not None for ref in refs), "no collection before the fourth window"
            heap.window_done()
            assert all(ref() is None for ref in refs), "the fourth window collects the cycles"
        assert gc.get_freeze_count() == 0, "the run hands its frozen objects back to the collector"
    finally:
        gc.enable()
