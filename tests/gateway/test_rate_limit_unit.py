"""The gateway's rate limiter on its own: a steady rate per minute with a burst of the same size."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.rate_limit import RateLimiter


def drain(limiter: RateLimiter, key: str, per_minute: int, now: float) -> int:
    """How many requests pass at one instant."""
    allowed = 0
    while limiter.acquire(key, per_minute, now=now) is None:
        allowed += 1
        assert allowed <= per_minute  # never more than the burst
    return allowed


def test_a_fresh_key_has_a_full_burst_then_is_refused() -> None:
    limiter = RateLimiter()
    assert drain(limiter, "key", 5, now=100.0) == 5
    assert limiter.acquire("key", 5, now=100.0) is not None


def test_retry_after_is_the_whole_seconds_until_the_next_token() -> None:
    limiter = RateLimiter()
    drain(limiter, "fast", 60, now=0.0)
    assert limiter.acquire("fast", 60, now=0.0) == 1  # one token a second
    drain(limiter, "slow", 1, now=0.0)
    assert limiter.acquire("slow", 1, now=0.0) == 60  # one token a minute
    assert limiter.acquire("slow", 1, now=30.0) == 30  # half of it already refilled


def test_tokens_come_back_at_the_steady_rate() -> None:
    limiter = RateLimiter()
    drain(limiter, "key", 60, now=0.0)
    assert limiter.acquire("key", 60, now=0.5) is not None
    assert limiter.acquire("key", 60, now=1.0) is None
    assert limiter.acquire("key", 60, now=1.0) is not None
    assert drain(limiter, "key", 60, now=11.0) == 10


def test_an_idle_key_never_saves_more_than_one_burst() -> None:
    limiter = RateLimiter()
    drain(limiter, "key", 10, now=0.0)
    assert drain(limiter, "key", 10, now=3600.0) == 10


def test_keys_are_limited_independently() -> None:
    limiter = RateLimiter()
    drain(limiter, "a", 3, now=0.0)
    assert limiter.acquire("a", 3, now=0.0) is not None
    assert drain(limiter, "b", 3, now=0.0) == 3


@given(
    per_minute=st.integers(min_value=1, max_value=10_000),
    start=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    elapsed=st.floats(min_value=0, max_value=120, allow_nan=False),
)
def test_waiting_retry_after_is_always_enough(
    per_minute: int, start: float, elapsed: float
) -> None:
    limiter = RateLimiter()
    drain(limiter, "key", per_minute, now=start)
    retry_after = limiter.acquire("key", per_minute, now=start + elapsed)
    if retry_after is None:
        return
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 60
    assert limiter.acquire("key", per_minute, now=start + elapsed + retry_after) is None
