"""Pacing calls to a hosted API: a client-side budget per minute, and how long a failed call should wait.

`RateLimiter` keeps one process inside its requests/min and tokens/min budget; `retry_delay` reads the
server's own hint (Retry-After and friends); `backoff_delay` is the fallback when the server gives none.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class _Bucket:
    """Units refill continuously at `per_minute / 60` a second, up to one second's worth.

    Holding one second's worth (not a whole minute's) spaces calls evenly instead of letting a minute's
    budget go out in one burst, which providers that enforce limits per second would refuse anyway.
    """

    def __init__(self, per_minute: int, now: float) -> None:
        if per_minute < 1:
            raise ValueError(f"a rate limit must be at least 1 per minute, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = now

    def reserve(self, amount: int, now: float) -> float:
        """Take `amount` (going into debt if need be) and return how long to wait before using it.

        An amount larger than the capacity waits for a full bucket, then its excess delays later calls.
        """
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now
        wait = max(0.0, (min(amount, self.capacity) - self.level) / self.rate)
        self.level -= amount
        return wait


class RateLimiter:
    """Keeps one process under a requests-per-minute and a tokens-per-minute budget (either may be None)."""

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        now = clock()
        self._requests = _Bucket(requests_per_minute, now) if requests_per_minute else None
        self._tokens = _Bucket(tokens_per_minute, now) if tokens_per_minute else None

    def acquire(self, tokens: int) -> float:
        """Wait until one more request of `tokens` tokens fits the budget; return the seconds waited."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            if self._requests:
                wait = max(wait, self._requests.reserve(1, now))
            if self._tokens:
                wait = max(wait, self._tokens.reserve(tokens, now))
        if wait > 0:
            self._sleep(wait)
        return wait


def backoff_delay(attempt: int, *, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)], attempt from 0."""
    return random.uniform(0.0, min(cap_s, base_s * 2**attempt))


def retry_delay(headers: Mapping[str, str], *, rate_limited: bool) -> float | None:
    """Seconds the server asks us to wait, or None when it does not say.

    Reads `retry-after-ms`, then `Retry-After` (seconds or an HTTP date); for a 429 without either,
    the `x-ratelimit-reset-*` of whichever budget (requests or tokens) is used up.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if (delay := _float(lowered.get("retry-after-ms"))) is not None:
        return max(0.0, delay / 1000)
    if (delay := _seconds_or_date(lowered.get("retry-after"))) is not None:
        return delay
    if not rate_limited:
        return None
    resets = {kind: parse_duration(lowered.get(f"x-ratelimit-reset-{kind}")) for kind in ("requests", "tokens")}
    exhausted = [resets[kind] for kind in resets if lowered.get(f"x-ratelimit-remaining-{kind}", "").strip() == "0"]
    known = [delay for delay in (exhausted or resets.values()) if delay is not None]
    return max(known) if known else None


def parse_duration(value: str | None) -> float | None:
    """Seconds in an OpenAI reset duration such as `1s`, `6m0s`, `20ms` or `1h2m3.5s`; None if malformed."""
    if not value:
        return None
    text = value.strip()
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(part.group() for part in parts) != text:
        return None
    return sum(float(part[1]) * _UNIT_S[part[2]] for part in parts)


def _seconds_or_date(value: str | None) -> float | None:
    if not value:
        return None
    if (seconds := _float(value)) is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
