"""One place that calls an upstream: timeouts, the deadline, retries, the breaker, errors.

Every port of the adapter calls :meth:`Upstream.call`. It never lets a transport exception or
upstream text out: failures become :class:`~creditcommit_http.errors.UpstreamError` with a
category and a detail of the adapter's own words.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from creditcommit_http.errors import CircuitOpen, UpstreamError
from creditcommit_http.resilience import CircuitBreaker, RetryPolicy

__all__ = ["IDEMPOTENT", "Upstream"]

#: Methods whose calls may be repeated without a second effect (RFC 9110 §9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def _plain(value: object) -> object:
    """JSON for what ``json`` does not know: read-only mappings (payloads) and dates."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _transport_error(endpoint: str, exc: httpx.TransportError) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError("timeout", endpoint, "no reply within the time allowed")
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc.__cause__ or exc.__context__
        while cause is not None and not isinstance(cause, ConnectionRefusedError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None or "refused" in str(exc).lower():
            return UpstreamError("refused", endpoint, "the connection was refused")
        return UpstreamError("unreachable", endpoint, "the upstream could not be reached")
    return UpstreamError("unreachable", endpoint, f"transport failure ({type(exc).__name__})")


class Upstream:
    """Calls the endpoints of one upstream system through an injected ``httpx.Client``.

    :param client: the client (its ``base_url``, ``auth`` and transport are the caller's).
    :param timeout: seconds allowed for one call.
    :param deadline: seconds allowed for one logical call, retries and waits included.
    :param retry: the retry policy (applied to idempotent methods only).
    :param breakers: breaker settings; one breaker is kept per endpoint name.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        timeout: float = 3.0,
        deadline: float = 8.0,
        retry: RetryPolicy | None = None,
        breaker_failures: int = 5,
        breaker_reset: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.deadline = deadline
        self.retry = RetryPolicy() if retry is None else retry
        self._breaker_failures = breaker_failures
        self._breaker_reset = breaker_reset
        self._breakers: dict[str, CircuitBreaker] = {}
        self._clock = clock
        self._sleep = sleep
        self._uniform = uniform

    def breaker(self, endpoint: str) -> CircuitBreaker:
        """The breaker of ``endpoint`` (created on first use)."""
        found = self._breakers.get(endpoint)
        if found is None:
            found = CircuitBreaker(
                failures=self._breaker_failures, reset_after=self._breaker_reset, clock=self._clock
            )
            found = self._breakers.setdefault(endpoint, found)
        return found

    def call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        ok: frozenset[int] = frozenset({200, 201, 204}),
    ) -> Any:
        """Call ``endpoint`` and return its JSON reply (``None`` for an empty body).

        :raises UpstreamError: with a category, after the retries the method allows.
        """
        method = method.upper()
        attempts = 1 + (self.retry.retries if method in IDEMPOTENT else 0)
        started = self._clock()
        breaker = self.breaker(endpoint)
        content = (
            None if body is None else json.dumps(body, ensure_ascii=False, default=_plain).encode()
        )
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        last: UpstreamError | None = None
        for attempt in range(1, attempts + 1):
            remaining = self.deadline - (self._clock() - started)
            if remaining <= 0:
                break
            retry_in = breaker.acquire()
            if retry_in is not None:
                raise CircuitOpen(endpoint, retry_in)
            try:
                reply = self._once(
                    endpoint=endpoint,
                    method=method,
                    path=path,
                    params=params,
                    content=content,
                    headers=headers,
                    timeout=min(self.timeout, remaining),
                )
                result = self._decode(endpoint, reply, ok)
            except UpstreamError as exc:
                # A reply the contract does not allow is the upstream's fault as much as a 503.
                breaker.failure()
                last = exc
                if not exc.retryable or attempt == attempts:
                    break
                wait = self.retry.wait(attempt, self._uniform)
                if self._clock() - started + wait >= self.deadline:
                    break
                self._sleep(wait)
                continue
            breaker.success()
            return result
        if last is None or (last.retryable and self._clock() - started >= self.deadline):
            raise UpstreamError(
                "timeout", endpoint, f"no answer within the deadline of {self.deadline:g} s"
            )
        raise last

    def _once(
        self,
        *,
        endpoint: str,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> httpx.Response:
        try:
            return self.client.request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=httpx.Timeout(timeout),
            )
        except httpx.TransportError as exc:
            raise _transport_error(endpoint, exc) from None
        except httpx.HTTPError as exc:  # invalid URL and the like: our side
            raise UpstreamError(
                "internal", endpoint, f"request failed ({type(exc).__name__})"
            ) from None

    @staticmethod
    def _decode(endpoint: str, reply: httpx.Response, ok: frozenset[int]) -> Any:
        status = reply.status_code
        if status in {401, 403}:
            raise UpstreamError("unauthorised", endpoint, f"HTTP {status}", status=status)
        if status not in ok:
            raise UpstreamError("upstream-error", endpoint, f"HTTP {status}", status=status)
        if not reply.content:
            return None
        kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and kind != "application/json" and not kind.endswith("+json"):
            raise UpstreamError("malformed-reply", endpoint, "the reply is not JSON", status=status)
        try:
            return json.loads(reply.content)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamError(
                "malformed-reply", endpoint, "the reply is not valid JSON", status=status
            ) from None
