"""One run at a time per target: overlapping scheduled runs wait instead of interleaving their writes."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vectorsync.errors import StoreError


def target_key(description: str) -> str:
    """A short, stable, filesystem-safe key for a target description."""
    return hashlib.sha256(description.encode()).hexdigest()[:16]


@contextmanager
def target_lock(lock_dir: Path, description: str, timeout_s: float = 3600.0) -> Iterator[None]:
    """Hold an exclusive OS file lock for the target; a second run waits up to `timeout_s` for the first.

    `description` should name the target by its resolved path (as `Settings.describe_store` does), so that two
    spellings of one folder share one lock.
    """
    lock_dir = Path(os.path.realpath(lock_dir))
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{target_key(description)}.lock"
    with open(path, "w") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"another run still holds the lock on {description} after {timeout_s:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            handle.write(description)
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
