"""Backoff with jitter, and the circuit breaker's states."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit_http.resilience import BreakerState, CircuitBreaker, RetryPolicy


@given(
    retry=st.integers(1, 12),
    base=st.floats(0, 5, allow_nan=False),
    cap=st.floats(0, 30, allow_nan=False),
    u=st.floats(0, 1),
)
def test_the_wait_stays_within_the_exponential_ceiling(
    retry: int, base: float, cap: float, u: float
) -> None:
    policy = RetryPolicy(retries=3, base=base, cap=cap)
    ceiling = min(cap, base * 2 ** (retry - 1))
    wait = policy.wait(retry, lambda lo, hi: lo + (hi - lo) * u)
    assert 0 <= wait <= ceiling


def test_the_ceiling_doubles_until_the_cap() -> None:
    policy = RetryPolicy(retries=5, base=0.1, cap=0.5)
    top = [policy.wait(n, lambda lo, hi: hi) for n in range(1, 6)]
    assert top == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    with pytest.raises(ValueError, match="count from 1"):
        policy.wait(0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state


def test_the_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_after=10, clock=clock)
    for _ in range(2):
        assert breaker.acquire() is None
        breaker.failure()
    assert state(breaker) is BreakerState.CLOSED
    breaker.failure()
    assert state(breaker) is BreakerState.OPEN
    assert breaker.acquire() == pytest.approx(10)
    clock.now = 10
    assert state(breaker) is BreakerState.HALF_OPEN
    assert breaker.acquire() is None  # the one trial call
    assert breaker.acquire() == 0.0  # no second trial while the first is out
    breaker.failure()  # the trial failed: open again
    assert state(breaker) is BreakerState.OPEN
    clock.now = 20
    assert breaker.acquire() is None
    breaker.success()
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.acquire() is None


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failures=2, clock=Clock())
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert state(breaker) is BreakerState.CLOSED
