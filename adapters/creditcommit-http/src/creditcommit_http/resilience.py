"""Retries with exponential backoff and jitter, and a circuit breaker per endpoint.

Both take their clock (and the breaker nothing else) by injection, so tests run them
without sleeping.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections.abc import Callable

import attrs

__all__ = ["BreakerState", "CircuitBreaker", "RetryPolicy"]


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how long to wait before trying an idempotent call again.

    The wait before retry ``n`` (1, 2, ...) is drawn uniformly from ``[0, min(cap, base ·
    2^(n-1))]`` ("full jitter"), so that many servers retrying after one outage do not
    hammer the upstream in step.
    """

    retries: int = 2
    base: float = 0.2
    cap: float = 2.0

    def __attrs_post_init__(self) -> None:
        if self.retries < 0 or self.base < 0 or self.cap < 0:
            raise ValueError("retries, base and cap must not be negative")

    def wait(self, retry: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait before retry number ``retry`` (counting from 1)."""
        if retry < 1:
            raise ValueError(f"retries count from 1, got {retry}")
        return uniform(0.0, min(self.cap, self.base * 2 ** (retry - 1)))


class BreakerState(enum.Enum):
    """The states of a circuit breaker."""

    CLOSED = "closed"
    """Calls go through; failures are counted."""
    OPEN = "open"
    """Calls are refused at once until ``reset_after`` has passed."""
    HALF_OPEN = "half-open"
    """One trial call goes through: success closes the breaker, failure opens it again."""


class CircuitBreaker:
    """A circuit breaker for one endpoint (thread-safe).

    After ``failures`` consecutive failures it opens; after ``reset_after`` seconds it lets
    one trial call through (half-open).
    """

    def __init__(
        self,
        *,
        failures: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1:
            raise ValueError(f"failures must be at least 1, got {failures}")
        self.threshold = failures
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_after:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def acquire(self) -> float | None:
        """``None`` if a call may go now, else the seconds until the next trial."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return None
            assert self._opened_at is not None
            if state is BreakerState.HALF_OPEN and not self._trial:
                self._trial = True
                return None
            if state is BreakerState.HALF_OPEN:
                return 0.0
            return self.reset_after - (self._clock() - self._opened_at)

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                self._opened_at = self._clock()
            self._trial = False
