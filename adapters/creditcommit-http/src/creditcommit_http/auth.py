"""Authentication: a bearer token, or the signed-request scheme of government API gateways.

The gateway scheme (政务网关签名) signs each request with HMAC over a canonical text::

    METHOD \\n PATH \\n SORTED_QUERY \\n BODY_DIGEST \\n APP_KEY \\n TIMESTAMP \\n NONCE

``PATH`` is the path as sent; ``SORTED_QUERY`` is the query parameters sorted by name, then
value, each percent-encoded (RFC 3986) and joined with ``&``; ``BODY_DIGEST`` is the hex
digest of the body bytes (of nothing for a body-less request); ``TIMESTAMP`` is Unix
milliseconds and ``NONCE`` 32 random hex digits, so a captured request cannot be replayed
once the gateway's window has passed. The digest is SHA-256 (``HMAC-SHA256``) or, where the
gateway asks for the national algorithm, SM3 (``HMAC-SM3``, from OpenSSL through
:mod:`hashlib`). Headers: ``X-CC-App-Key``, ``X-CC-Timestamp``, ``X-CC-Nonce``,
``X-CC-Content-Digest``, ``X-CC-Signature-Method`` and ``X-CC-Signature`` (hex).

:func:`verify_signature` is the gateway's side, used by the fake upstream in tests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Callable, Generator, Iterable, Mapping

import httpx

__all__ = [
    "BearerToken",
    "GatewaySignature",
    "canonical_query",
    "string_to_sign",
    "verify_signature",
]

_METHODS = {"sha256": "HMAC-SHA256", "sm3": "HMAC-SM3"}


def _digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Query parameters sorted by name then value, RFC 3986-encoded, joined with ``&``."""

    def quote(text: str) -> str:
        return urllib.parse.quote(text, safe="-_.~")

    return "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(pairs))


def string_to_sign(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    body_digest: str,
    app_key: str,
    timestamp: str,
    nonce: str,
) -> str:
    """The canonical text the signature covers (see the module docstring)."""
    return "\n".join(
        [method.upper(), path, canonical_query(query), body_digest, app_key, timestamp, nonce]
    )


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        if not token or any(c in token for c in "\r\n"):
            raise ValueError("a bearer token must be non-empty and on one line")
        self._token = token

    def __repr__(self) -> str:
        return "BearerToken(<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class GatewaySignature(httpx.Auth):
    """Signs each request for a government API gateway (see the module docstring).

    ``clock`` (Unix seconds) and ``nonce`` are injectable so that tests can pin them.
    """

    requires_request_body = True

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        digest: str = "sha256",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        if digest not in _METHODS:
            raise ValueError(f"digest must be one of {sorted(_METHODS)}, got {digest!r}")
        if not app_key or not app_secret:
            raise ValueError("the gateway scheme needs an app key and an app secret")
        self.app_key = app_key
        self._secret = app_secret.encode()
        self.digest = digest
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"GatewaySignature(app_key={self.app_key!r}, digest={self.digest!r})"

    def headers_for(self, request: httpx.Request) -> dict[str, str]:
        """The signature headers for ``request`` (its body must have been read)."""
        timestamp = str(int(self._clock() * 1000))
        nonce = self._nonce()
        body_digest = _digest(self.digest, request.content)
        text = string_to_sign(
            method=request.method,
            path=request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
            query=request.url.params.multi_items(),
            body_digest=body_digest,
            app_key=self.app_key,
            timestamp=timestamp,
            nonce=nonce,
        )
        signature = hmac.new(self._secret, text.encode(), self.digest).hexdigest()
        return {
            "X-CC-App-Key": self.app_key,
            "X-CC-Timestamp": timestamp,
            "X-CC-Nonce": nonce,
            "X-CC-Content-Digest": body_digest,
            "X-CC-Signature-Method": _METHODS[self.digest],
            "X-CC-Signature": signature,
        }

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers_for(request))
        yield request


def verify_signature(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    body: bytes,
    headers: Mapping[str, str],
    secrets_by_key: Mapping[str, str],
    now: float,
    max_skew: float = 300.0,
    seen_nonces: set[str] | None = None,
) -> str | None:
    """The gateway's check of a signed request: ``None`` if it holds, else what is wrong.

    ``headers`` must be case-insensitive (``httpx.Headers``, ``email.message.Message``).
    ``seen_nonces``, when given, rejects a nonce used before (a replayed request).
    """
    app_key = headers.get("X-CC-App-Key")
    timestamp = headers.get("X-CC-Timestamp")
    nonce = headers.get("X-CC-Nonce")
    given = headers.get("X-CC-Signature")
    method_name = headers.get("X-CC-Signature-Method", "HMAC-SHA256")
    if not (app_key and timestamp and nonce and given):
        return "missing signature headers"
    secret = secrets_by_key.get(app_key)
    if secret is None:
        return "unknown app key"
    algorithm = {v: k for k, v in _METHODS.items()}.get(method_name)
    if algorithm is None:
        return "unknown signature method"
    if not timestamp.isdigit() or abs(int(timestamp) / 1000 - now) > max_skew:
        return "timestamp outside the allowed window"
    if seen_nonces is not None:
        if nonce in seen_nonces:
            return "nonce used before"
        seen_nonces.add(nonce)
    body_digest = _digest(algorithm, body)
    if headers.get("X-CC-Content-Digest") != body_digest:
        return "content digest does not match the body"
    text = string_to_sign(
        method=method,
        path=path,
        query=query,
        body_digest=body_digest,
        app_key=app_key,
        timestamp=timestamp,
        nonce=nonce,
    )
    expected = hmac.new(secret.encode(), text.encode(), algorithm).hexdigest()
    if not hmac.compare_digest(expected, given):
        return "signature does not match"
    return None
