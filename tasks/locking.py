"""One run at a time per target, across processes and machines that share a Prefect API.

Two guards nest: a Prefect global concurrency limit of 1 keyed by the target (visible in the UI, shared
by every worker of the same server), and an OS file lock (the kernel frees it when a run dies).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

from vectorsync.locking import target_key, target_lock
from vectorsync.settings import Settings


def limit_name(target: str) -> str:
    """The global concurrency limit that serialises runs on `target`."""
    return f"vectorsync-target-{target_key(target)}"


@contextmanager
def exclusive_target(settings: Settings) -> Iterator[None]:
    """Hold the target for the duration of a run; a second run on the same target waits."""
    target = settings.describe_store()
    with ExitStack() as guards:
        # Only a real server reclaims the slot of a run killed outright (its lease-expiry service does
        # not run in Prefect's ephemeral mode), so without one the file lock serialises alone.
        if get_current_settings().api.url:
            name = limit_name(target)
            _ensure_limit(name)
            guards.enter_context(concurrency(name, occupy=1, strict=True, lease_duration=60))
        guards.enter_context(target_lock(settings.data_dir / "locks", target))
        yield


def _ensure_limit(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
