"""The ``[plugins.http]`` table of ``creditcommit.toml``, checked like every other table.

An unknown key, a value of the wrong type, a URL with credentials or a query, or a secret
written in the file is an error naming the key (:class:`~creditcommit.DataFileError`).
Secrets are read from the environment variables the ``*_env`` keys name, at start-up.

.. code-block:: toml

    [plugins.http]
    cities = ["321000", "321012", "321084"]    # default: the configured city
    credit_url = "https://credit.example.gov.cn/api"        # 信用扬州 (credit source)
    registry_url = "https://credit.example.gov.cn/api"      # credit registry push
    licence_url = "https://licence.example.gov.cn/api"      # 电子证照
    publication_url = "https://xygs.example.gov.cn/api"     # 双公示 publication
    timeout = 3.0            # seconds per call
    deadline = 8.0           # seconds per lookup, retries included
    retries = 2              # extra attempts, idempotent calls only
    auth = "gateway"         # "none", "bearer" (token_env) or "gateway"
    app_key = "creditcommit-yz"
    app_secret_env = "YZ_GATEWAY_SECRET"
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from creditcommit.config import PluginSettings
from creditcommit.errors import DataFileError, Problem

__all__ = ["NAME", "HttpSettings"]

NAME = "http"
"""The plugin's name and the name of its settings table, ``[plugins.http]``."""

_URL_KEYS = ("credit_url", "registry_url", "licence_url", "publication_url")
_NAMES = ("credit_name", "registry_name", "licence_name", "channel_name")
_SECONDS = {
    "timeout": 3.0,
    "deadline": 8.0,
    "backoff": 0.2,
    "backoff_max": 2.0,
    "breaker_reset": 30.0,
}
_COUNTS = {"retries": 2, "breaker_failures": 5}
_AUTH = ("none", "bearer", "gateway")
_DIGESTS = ("sha256", "sm3")
_KNOWN = frozenset(
    {
        "cities",
        *_URL_KEYS,
        *_NAMES,
        *_SECONDS,
        *_COUNTS,
        "auth",
        "token_env",
        "app_key",
        "app_secret_env",
        "digest",
        "max_skew",
    }
)


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return f"number {value!r}"
    return type(value).__name__


def _url_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"expected an http(s) URL, got {_describe(value)}"
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "expected an http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        # Not echoed: the text holds a credential.
        return (
            "a URL must not carry credentials (user:password@); name an environment "
            "variable with token_env or app_secret_env instead"
        )
    if parts.query or parts.fragment:
        return "a base URL takes no query string or fragment"
    return None


@attrs.frozen(kw_only=True)
class HttpSettings:
    """The checked ``[plugins.http]`` settings (secrets already read from the environment)."""

    cities: frozenset[str]
    credit_url: str | None = None
    registry_url: str | None = None
    licence_url: str | None = None
    publication_url: str | None = None
    credit_name: str = "http-credit"
    registry_name: str = "http-registry"
    licence_name: str = "http-licences"
    channel_name: str = "http-publication"
    timeout: float = 3.0
    deadline: float = 8.0
    retries: int = 2
    backoff: float = 0.2
    backoff_max: float = 2.0
    breaker_failures: int = 5
    breaker_reset: float = 30.0
    auth: str = "none"
    token: str | None = attrs.field(default=None, repr=False)
    app_key: str | None = None
    app_secret: str | None = attrs.field(default=None, repr=False)
    digest: str = "sha256"
    max_skew: float = 300.0

    @classmethod
    def from_plugin_settings(
        cls, settings: PluginSettings, *, environ: Mapping[str, str] | None = None
    ) -> HttpSettings | None:
        """The settings, or ``None`` if the configuration has no ``[plugins.http]`` table."""
        if NAME not in settings:
            return None
        return cls.from_table(
            settings.table(NAME),
            city=settings.city,
            source=settings.source,
            secret=lambda key: settings.secret(NAME, key, environ=environ),
        )

    @classmethod
    def from_table(
        cls,
        table: Mapping[str, Any],
        *,
        city: str,
        source: str = "<dict>",
        secret: Any = None,
    ) -> HttpSettings:
        """Check ``table``; ``secret(key)`` reads the secret that ``<key>_env`` names."""
        problems: list[Problem] = []

        def problem(key: str, message: str) -> None:
            problems.append(Problem(f"plugins.{NAME}.{key}", message))

        for key in sorted(set(table) - _KNOWN):
            problem(key, f"unknown key; expected one of {', '.join(sorted(_KNOWN))}")
        values: dict[str, Any] = {}
        _check_places(table, city, problem, values)
        _check_numbers(table, problem, values)
        _check_auth(table, secret, problem, values)
        if problems:
            raise DataFileError(source, problems)
        return cls(**values)


_Report = Callable[[str, str], None]


def _check_places(
    table: Mapping[str, Any], city: str, problem: _Report, values: dict[str, Any]
) -> None:
    cities = table.get("cities", [city])
    if (
        not isinstance(cities, list | tuple)
        or not cities
        or not all(isinstance(c, str) and c.isdigit() and len(c) == 6 for c in cities)
    ):
        problem("cities", "expected a non-empty list of 6-digit division codes")
    else:
        values["cities"] = frozenset(cities)
    for key in _URL_KEYS:
        if key in table:
            message = _url_problem(table[key])
            if message:
                problem(key, message)
            else:
                values[key] = str(table[key]).rstrip("/")
    if not any(key in table for key in _URL_KEYS):
        problem("credit_url", f"expected at least one of {', '.join(_URL_KEYS)}")
    for key in _NAMES:
        if key in table:
            value = table[key]
            if not isinstance(value, str) or not value.strip() or not value.isprintable():
                problem(key, f"expected a printable name, got {_describe(value)}")
            else:
                values[key] = value


def _check_numbers(table: Mapping[str, Any], problem: _Report, values: dict[str, Any]) -> None:
    for key in (*_SECONDS, "max_skew"):
        if key in table:
            value = table[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not 0 < value <= 3600
            ):
                problem(key, f"expected seconds (0 < s ≤ 3600), got {_describe(value)}")
            else:
                values[key] = float(value)
    for key in _COUNTS:
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 20:
                problem(key, f"expected a whole number from 0 to 20, got {_describe(value)}")
            else:
                values[key] = value
    deadline = values.get("deadline", _SECONDS["deadline"])
    values["timeout"] = min(values.get("timeout", _SECONDS["timeout"]), deadline)


def _check_auth(
    table: Mapping[str, Any], secret: Any, problem: _Report, values: dict[str, Any]
) -> None:
    auth = table.get("auth", "none")
    if auth not in _AUTH:
        problem("auth", f"expected one of {', '.join(_AUTH)}, got {_describe(auth)}")
    values["auth"] = auth
    digest = table.get("digest", "sha256")
    if digest not in _DIGESTS:
        problem("digest", f"expected one of {', '.join(_DIGESTS)}, got {_describe(digest)}")
    else:
        values["digest"] = digest
    if auth == "bearer":
        values["token"] = _read_secret(secret, "token", problem)
    elif auth == "gateway":
        app_key = table.get("app_key")
        if not isinstance(app_key, str) or not app_key.strip():
            problem("app_key", "the gateway scheme needs app_key (the public application id)")
        else:
            values["app_key"] = app_key
        values["app_secret"] = _read_secret(secret, "app_secret", problem)


def _read_secret(secret: Any, key: str, problem: Any) -> str | None:
    if secret is None:
        problem(f"{key}_env", f"name the environment variable that holds the {key}")
        return None
    try:
        value = secret(key)
    except DataFileError as exc:
        for p in exc.problems:
            problem(p.path.removeprefix(f"plugins.{NAME}."), p.message)
        return None
    return str(value)
