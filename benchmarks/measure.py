"""What the benchmarks share: a throw-away Prefect API, wall time with peak memory, and figure printing.

The machine is shared and small, so every benchmark times its variants side by side in one process,
interleaved over rounds, and keeps each variant's best round.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Results of cached tasks go to a fresh folder, so no earlier run's cache answers for this one.
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", tempfile.mkdtemp(prefix="vectorsync-bench-results-"))

MIB = 1024 * 1024


@dataclass
class Sample:
    """One timed run of a variant: seconds, items processed, and the peak resident memory while it ran."""

    seconds: float
    items: int
    peak_rss_mib: float

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else float("inf")


@dataclass
class Results:
    """Every variant's samples over the rounds; the best round counts."""

    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, name: str, sample: Sample) -> None:
        self.samples.setdefault(name, []).append(sample)
        print(f"  {name:<26} {sample.seconds:8.2f} s  {sample.rate:9.1f} /s  peak RSS {sample.peak_rss_mib:7.0f} MiB")

    def best(self, name: str) -> Sample:
        return min(self.samples[name], key=lambda s: s.seconds)


@contextmanager
def prefect_api() -> Iterator[None]:
    """A temporary Prefect API and database, started before any timing."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@contextmanager
def fresh_result_storage() -> Iterator[Path]:
    """Point Prefect's result storage at an empty folder, so task caches from earlier rounds cannot hit."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with (
        tempfile.TemporaryDirectory(prefix="vectorsync-bench-results-") as folder,
        temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: folder}),
    ):
        yield Path(folder)


def timed(run: Callable[[], int]) -> Sample:
    """Run `run` (which returns how many items it processed), sampling resident memory every 20 ms."""
    process = psutil.Process()
    peak = process.memory_info().rss
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, process.memory_info().rss)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        items = run()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    return Sample(seconds, items, max(peak, process.memory_info().rss) / MIB)


def process_peak_rss_mib() -> float:
    """This process's peak resident memory since it started (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rotated(names: list[str], round_number: int) -> list[str]:
    """The variant order for a round: rotated each round, so no variant always runs first or last."""
    shift = round_number % len(names)
    return names[shift:] + names[:shift]


def machine() -> str:
    """A line describing the machine the figures come from."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}, torch threads {_torch_threads()}"


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()
