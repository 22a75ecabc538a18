"""One run at a time per target, across processes and machines that share a Prefect API.

Two guards nest: a Prefect global concurrency limit of 1 keyed by the target (visible in the UI, shared
by every worker of the same server), and an OS file lock (the kernel frees it when a run dies).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

from vectorsync.locking import target_key, target_lock


def limit_name(target: str) -> str:
    """The global concurrency limit that serialises runs on `target`."""
    return f"vectorsync-target-{target_key(target)}"


@contextmanager
def exclusive_target(target: str, lock_dir: Path) -> Iterator[None]:
    """Hold `target` (a store's description) for the duration of a run; a second run on it waits."""
    with ExitStack() as guards:
        # Only a real server reclaims the slot of a run killed outright (its lease-expiry service does
        # not run in Prefect's ephemeral mode), so without one the file lock serialises alone.
        if get_current_settings().api.url:
            name = limit_name(target)
            _ensure_limit(name)
            guards.enter_context(concurrency(name, occupy=1, strict=True, lease_duration=60))
        guards.enter_context(target_lock(lock_dir, target))
        yield


def _ensure_limit(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
