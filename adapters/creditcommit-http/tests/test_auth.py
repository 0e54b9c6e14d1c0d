"""The gateway signature: what the client signs, the gateway verifies, and tampering breaks."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit_http.auth import (
    BearerToken,
    GatewaySignature,
    canonical_query,
    string_to_sign,
    verify_signature,
)

NOW = 1_760_000_000.0
SECRETS = {"app-1": "s3cret-value"}


def _signed(
    method: str = "PUT",
    url: str = "https://gw.example/api/v1/x?b=2&a=1",
    body: bytes = b'{"k": 1}',
    digest: str = "sha256",
    secret: str = "s3cret-value",
) -> httpx.Request:
    request = httpx.Request(method, url, content=body)
    signer = GatewaySignature(
        "app-1", secret, digest=digest, clock=lambda: NOW, nonce=lambda: "n" * 32
    )
    flow = signer.auth_flow(request)
    return next(flow)


def _verify(
    request: httpx.Request, *, now: float = NOW, seen: set[str] | None = None
) -> str | None:
    return verify_signature(
        method=request.method,
        path=request.url.raw_path.split(b"?")[0].decode(),
        query=request.url.params.multi_items(),
        body=request.content,
        headers=request.headers,
        secrets_by_key=SECRETS,
        now=now,
        seen_nonces=seen,
    )


@pytest.mark.parametrize("digest", ["sha256", "sm3"])
def test_a_signed_request_verifies(digest: str) -> None:
    request = _signed(digest=digest)
    assert request.headers["X-CC-Signature-Method"] == f"HMAC-{digest.upper()}"
    assert _verify(request) is None


def test_the_string_to_sign_sorts_the_query_and_names_every_part() -> None:
    text = string_to_sign(
        method="get",
        path="/a b",
        query=[("z", "1"), ("a", "x y"), ("a", "w")],
        body_digest="d",
        app_key="k",
        timestamp="1",
        nonce="n",
    )
    assert text == "GET\n/a b\na=w&a=x%20y&z=1\nd\nk\n1\nn"
    assert canonical_query([]) == ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"content": b'{"k": 2}'}, "content digest does not match the body"),
        ({"path": "/api/v1/y"}, "signature does not match"),
        ({"query": [("a", "1"), ("b", "3")]}, "signature does not match"),
        ({"method": "GET"}, "signature does not match"),
    ],
)
def test_tampering_with_any_part_is_detected(change: dict[str, object], expected: str) -> None:
    request = _signed()
    result = verify_signature(
        method=str(change.get("method", request.method)),
        path=str(change.get("path", "/api/v1/x")),
        query=change.get("query", request.url.params.multi_items()),  # type: ignore[arg-type]
        body=change.get("content", request.content),  # type: ignore[arg-type]
        headers=request.headers,
        secrets_by_key=SECRETS,
        now=NOW,
    )
    assert result == expected


def test_a_wrong_secret_is_rejected() -> None:
    assert _verify(_signed(secret="wrong")) == "signature does not match"


def test_an_old_request_and_a_replayed_nonce_are_rejected() -> None:
    request = _signed()
    assert _verify(request, now=NOW + 301) == "timestamp outside the allowed window"
    seen: set[str] = set()
    assert _verify(request, seen=seen) is None
    assert _verify(request, seen=seen) == "nonce used before"


def test_missing_headers_and_unknown_keys_are_rejected() -> None:
    plain = httpx.Request("GET", "https://gw.example/x")
    assert _verify(plain) == "missing signature headers"
    request = _signed()
    request.headers["X-CC-App-Key"] = "other"
    assert _verify(request) == "unknown app key"


@given(
    query=st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=5),
    body=st.binary(max_size=64),
)
def test_any_query_and_body_round_trip(query: list[tuple[str, str]], body: bytes) -> None:
    url = httpx.URL("https://gw.example/api/v1/x", params=query)
    request = httpx.Request("POST", url, content=body)
    signer = GatewaySignature("app-1", "s3cret-value", clock=lambda: NOW, nonce=lambda: "n")
    signed = next(signer.auth_flow(request))
    assert _verify(signed) is None


def test_secrets_do_not_show_in_reprs() -> None:
    assert "s3cret" not in repr(GatewaySignature("app-1", "s3cret-value"))
    assert "tok" not in repr(BearerToken("tok-123"))
    request = next(BearerToken("tok-123").auth_flow(httpx.Request("GET", "https://x/")))
    assert request.headers["Authorization"] == "Bearer tok-123"
    with pytest.raises(ValueError, match="one line"):
        BearerToken("a\nb")
