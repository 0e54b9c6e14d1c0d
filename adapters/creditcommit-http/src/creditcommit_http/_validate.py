"""Replies checked against the contract, turned into domain objects or a malformed-reply error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from creditcommit.errors import CreditCommitError, DataFileError
from creditcommit_http.errors import UpstreamError

__all__ = ["field", "parse", "require_object"]

T = TypeVar("T")


def _malformed(endpoint: str, where: str, expected: str) -> UpstreamError:
    # The upstream's own values are not echoed: only where the reply broke the contract.
    return UpstreamError("malformed-reply", endpoint, f"{where or '<reply>'}: expected {expected}")


def require_object(endpoint: str, reply: object, where: str = "") -> dict[str, Any]:
    """``reply`` as a JSON object, or a malformed-reply error."""
    if not isinstance(reply, dict):
        raise _malformed(endpoint, where, "a JSON object")
    return reply


def field(
    endpoint: str,
    data: dict[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    expected: str,
    *,
    optional: bool = False,
    where: str = "",
) -> Any:
    """``data[key]`` if it has type ``kind`` (``None`` allowed when ``optional``)."""
    path = f"{where}.{key}" if where else key
    if key not in data:
        if optional:
            return None
        raise _malformed(endpoint, path, expected)
    value = data[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _malformed(endpoint, path, expected)
    if not isinstance(value, kind):
        raise _malformed(endpoint, path, expected)
    return value


def parse(endpoint: str, where: str, build: Callable[[], T]) -> T:
    """``build()``, with a domain validation error turned into a malformed-reply error."""
    try:
        return build()
    except DataFileError as exc:
        first = exc.problems[0]
        path = f"{where}.{first.path}" if first.path else where
        raise _malformed(endpoint, path, "a value as the contract describes") from None
    except (CreditCommitError, ValueError, TypeError):
        raise _malformed(endpoint, where, "a value as the contract describes") from None
