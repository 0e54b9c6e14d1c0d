"""Typed errors of the HTTP adapter, each with a failure category and no secret in its text.

Every failure the adapter sees — a timeout, a refused connection, a 503, a reply that is not
JSON or not the contract's shape, a rejected signature — becomes an :class:`UpstreamError`
whose ``category`` the core records (see ``creditcommit.FailureCategory``) and whose message
is built by the adapter from fixed words: the endpoint's *name* (``credit-lookup``), never its
URL, query string, headers or the exception text of the transport.
"""

from __future__ import annotations

from creditcommit.errors import CreditCommitError

__all__ = ["CATEGORIES", "CircuitOpen", "UpstreamError"]

#: The failure categories, as the core names them (``creditcommit.FailureCategory`` values).
CATEGORIES = frozenset(
    {
        "timeout",
        "refused",
        "unreachable",
        "upstream-error",
        "malformed-reply",
        "unauthorised",
        "wrong-subject",
        "internal",
    }
)


class UpstreamError(CreditCommitError):
    """A call to an upstream failed.

    :ivar category: one of :data:`CATEGORIES`.
    :ivar endpoint: the endpoint's name, e.g. ``"credit-lookup"`` (never a URL).
    :ivar detail: a short description built by the adapter (never upstream or exception text).
    :ivar status: the HTTP status, when there was a reply.
    """

    def __init__(
        self, category: str, endpoint: str, detail: str, *, status: int | None = None
    ) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"unknown failure category {category!r}")
        self.category = category
        self.endpoint = endpoint
        self.detail = detail
        self.status = status
        super().__init__(f"{endpoint}: {category}: {detail}")

    @property
    def retryable(self) -> bool:
        """Whether trying again may help (timeouts, connection failures, 5xx and 429)."""
        if self.category in {"timeout", "refused", "unreachable"}:
            return True
        return self.category == "upstream-error" and (
            self.status is None or self.status >= 500 or self.status == 429
        )


class CircuitOpen(UpstreamError):
    """The endpoint's circuit breaker is open: the call was not made."""

    def __init__(self, endpoint: str, retry_in: float) -> None:
        super().__init__(
            "unreachable",
            endpoint,
            f"circuit open after repeated failures; next try in {retry_in:.0f} s",
        )
        self.retry_in = retry_in

    @property
    def retryable(self) -> bool:
        return False
