"""Client-side pacing: the per-minute token buckets and the server's retry hints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fake_time import FakeTime

from vectorsync.embedders.ratelimit import RateLimiter, backoff_delay, parse_duration, retry_delay


def limiter(fake: FakeTime, **budget: int) -> RateLimiter:
    return RateLimiter(**budget, clock=fake.clock, sleep=fake.sleep)


def test_requests_per_minute_spaces_requests_evenly():
    fake = FakeTime()
    rate = limiter(fake, requests_per_minute=60)

    waits = [rate.acquire(10) for _ in range(4)]

    assert waits == pytest.approx([0.0, 1.0, 1.0, 1.0]) and fake.sleeps == pytest.approx([1.0, 1.0, 1.0])


def test_tokens_per_minute_holds_back_requests_until_their_tokens_fit():
    fake = FakeTime()
    rate = limiter(fake, tokens_per_minute=6000)  # 100 tokens a second

    assert [rate.acquire(100), rate.acquire(50), rate.acquire(100)] == pytest.approx([0.0, 0.5, 1.0])


def test_oversized_request_goes_when_the_bucket_is_full_and_delays_the_next():
    fake = FakeTime()
    rate = limiter(fake, tokens_per_minute=600)  # 10 tokens a second, 10 at most in the bucket

    assert rate.acquire(50) == 0.0
    assert rate.acquire(10) == pytest.approx(5.0)


def test_idle_time_refills_no_more_than_one_seconds_share():
    fake = FakeTime()
    rate = limiter(fake, requests_per_minute=60)
    fake.now = 1000.0

    assert [rate.acquire(1), rate.acquire(1)] == pytest.approx([0.0, 1.0])


def test_the_tighter_budget_sets_the_wait():
    fake = FakeTime()
    rate = limiter(fake, requests_per_minute=600, tokens_per_minute=60)

    assert [rate.acquire(1), rate.acquire(1)] == pytest.approx([0.0, 1.0])


def test_no_budget_never_waits():
    fake = FakeTime()

    assert [limiter(fake).acquire(10**6) for _ in range(3)] == [0.0, 0.0, 0.0] and fake.sleeps == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-tokens": "5",
                "x-ratelimit-reset-tokens": "6m0s",
            },
            1.0,
        ),
        ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"}, 0.02),
        ({"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "3s"}, 3.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_delay_reads_the_servers_hint_for_a_429(headers, expected):
    assert retry_delay(headers, rate_limited=True) == pytest.approx(expected) if expected else expected is None


def test_retry_delay_reads_an_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    assert 28 <= retry_delay({"Retry-After": when}, rate_limited=False) <= 30


def test_reset_headers_only_count_for_rate_limits():
    assert retry_delay({"x-ratelimit-reset-requests": "1s"}, rate_limited=False) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("5", None), ("abc", None), ("", None)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_backoff_is_full_jitter_under_an_exponential_ceiling_capped_at_a_minute():
    for attempt in range(12):
        delays = [backoff_delay(attempt) for _ in range(200)]
        assert all(0.0 <= delay <= min(60.0, 0.5 * 2**attempt) for delay in delays)
    assert max(backoff_delay(20) for _ in range(200)) > 30.0
