"""The built-in signature provider: HMAC-SHA256 with the agency's key from the environment.

:class:`HmacSignatureProvider` implements :class:`~creditcommit.ports.SignatureProvider`
with the standard library only. It is a **stand-in** for the electronic signature a
certification authority issues (an SM2 certificate under GB/T 38540, 电子签章): an HMAC
proves that whoever holds the key signed, and that neither the letter's text nor its terms
changed since, but the key is a shared secret of the agency, not the applicant's own
signature. A city that has a CA certificate provides its own provider through the hook
``creditcommit_signature_provider`` (see ``docs/plugins.md``).

The key is read from the environment variable :data:`SIGNING_KEY_ENV`, or from the file
named by ``signing_key_file`` in ``[plugins.builtin]``. Without either the built-in plugin
provides :class:`UnkeyedSignatureProvider`, which refuses to sign or to
check (:class:`~creditcommit.SigningKeyMissing`): a letter is never signed "unkeyed".
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from creditcommit.commitments import Signature
from creditcommit.errors import SigningKeyMissing

__all__ = [
    "HMAC_ALGORITHM",
    "HmacSignatureProvider",
    "MIN_KEY_LENGTH",
    "SIGNING_KEY_ENV",
    "UnkeyedSignatureProvider",
]

SIGNING_KEY_ENV = "CREDITCOMMIT_SIGNING_KEY"
"""The environment variable the built-in provider reads its key from."""

HMAC_ALGORITHM = "hmac-sha256"
"""The ``algorithm`` of the built-in provider's signatures."""

MIN_KEY_LENGTH = 16
"""The shortest key accepted, in bytes (UTF-8)."""


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


class HmacSignatureProvider:
    """Signs with HMAC-SHA256 under one secret key (a stand-in for a CA-issued signature).

    ``key_id`` names the key in every signature; by default it is ``"sha256:"`` and the
    first 16 hex digits of the SHA-256 of the key (a fingerprint that does not reveal it).
    A signature made under another key id or algorithm does not verify.

    :raises ValueError: the key is shorter than :data:`MIN_KEY_LENGTH` bytes.
    """

    name = "builtin-hmac"

    def __init__(self, key: str | bytes, *, key_id: str | None = None) -> None:
        secret = _key_bytes(key)
        if len(secret) < MIN_KEY_LENGTH:
            raise ValueError(
                f"a signing key needs at least {MIN_KEY_LENGTH} bytes, got {len(secret)}"
            )
        self._key = secret
        self.key_id = key_id or "sha256:" + hashlib.sha256(secret).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"HmacSignatureProvider(key_id={self.key_id!r})"

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None
    ) -> HmacSignatureProvider | UnkeyedSignatureProvider:
        """The provider for the key in :data:`SIGNING_KEY_ENV`, or an unkeyed one."""
        env = os.environ if environ is None else environ
        key = env.get(SIGNING_KEY_ENV, "")
        if not key:
            return UnkeyedSignatureProvider()
        try:
            return cls(key)
        except ValueError as exc:
            raise ValueError(f"{SIGNING_KEY_ENV}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> HmacSignatureProvider:
        """The provider for the key in a file (its text, without the final line break).

        :raises ValueError: the file is empty or the key too short (naming the file).
        :raises OSError: the file cannot be read.
        """
        key = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        try:
            return cls(key)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def sign(self, data: bytes) -> Signature:
        """The HMAC-SHA256 of ``data`` under the key, as lower-case hex."""
        return Signature(HMAC_ALGORITHM, self.key_id, self._mac(data))

    def verify(self, data: bytes, signature: Signature) -> bool:
        """True if ``signature`` is this key's HMAC-SHA256 of exactly ``data``."""
        return (
            signature.algorithm == HMAC_ALGORITHM
            and signature.key_id == self.key_id
            and hmac.compare_digest(self._mac(data), signature.value)
        )


class UnkeyedSignatureProvider:
    """What the built-in plugin provides when no key is set: it refuses to sign or check.

    Fail-safe: without a key a letter is never signed, and a signed letter is never taken
    as verified. Both methods raise :class:`~creditcommit.SigningKeyMissing`.
    """

    name = "builtin-unkeyed"

    def __repr__(self) -> str:
        return "UnkeyedSignatureProvider()"

    def sign(self, data: bytes) -> Signature:
        """Refuse: :class:`~creditcommit.SigningKeyMissing`."""
        raise SigningKeyMissing(SIGNING_KEY_ENV)

    def verify(self, data: bytes, signature: Signature) -> bool:
        """Refuse: :class:`~creditcommit.SigningKeyMissing`."""
        raise SigningKeyMissing(SIGNING_KEY_ENV)
