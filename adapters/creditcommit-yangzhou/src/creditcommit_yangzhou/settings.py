"""The ``[plugins.yangzhou]`` table of ``creditcommit.toml``, checked like every other table.

.. code-block:: toml

    [plugins.yangzhou]
    places = ["321000", "321012", "321084"]                 # default: all three
    credit_url = "https://credit.yangzhou.example/api"      # 信用扬州: credit query
    registry_url = "https://credit.yangzhou.example/api"    # 信用扬州: dishonesty records
    licence_url = "https://dzzz.yangzhou.example/api"       # 电子证照
    publication_url = "https://xygs.yangzhou.example/api"   # 双公示 publication site
    timeout = 3.0
    deadline = 8.0
    auth = "gateway"
    app_key = "creditcommit-yz"
    app_secret_env = "YZ_GATEWAY_SECRET"                    # the secret is in the environment

The table is the HTTP adapter's (:class:`creditcommit_http.HttpSettings`: the same URL,
timeout, retry, breaker and authentication keys, checked by the same code) with ``places``
instead of ``cities`` and fixed port names. Without any endpoint key the plugin provides
the catalogue and the policy only. An unknown key, a place the plugin does not serve, a URL
with credentials or a secret written in the file is a :class:`~creditcommit.DataFileError`
naming ``plugins.yangzhou.<key>``, at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from creditcommit.config import PluginSettings
from creditcommit.errors import DataFileError, Problem
from creditcommit_http.settings import NAME as HTTP_NAME
from creditcommit_http.settings import HttpSettings
from creditcommit_yangzhou.places import CITY, PLACES

__all__ = ["HTTP_KEYS", "NAME", "NAMES", "YangzhouSettings"]

NAME = "yangzhou"
"""The plugin's name and the name of its settings table, ``[plugins.yangzhou]``."""

NAMES = {
    "credit_name": "xinyong-yangzhou",
    "registry_name": "xinyong-yangzhou-registry",
    "licence_name": "yangzhou-e-licences",
    "channel_name": "yangzhou-publication",
}
"""The names of the ports (in evidence, outbox destinations and error messages)."""

HTTP_KEYS = frozenset(
    {
        "credit_url",
        "registry_url",
        "licence_url",
        "publication_url",
        "timeout",
        "deadline",
        "retries",
        "backoff",
        "backoff_max",
        "breaker_failures",
        "breaker_reset",
        "auth",
        "token_env",
        "app_key",
        "app_secret_env",
        "digest",
        "max_skew",
    }
)
"""The keys passed on to :class:`creditcommit_http.HttpSettings` (checked there)."""

_KNOWN = frozenset({"places", *HTTP_KEYS})


def _ours(path: str) -> str:
    """A problem path of the HTTP adapter's checks, as a path in ``[plugins.yangzhou]``."""
    rest = path.removeprefix(f"plugins.{HTTP_NAME}.")
    return rest if rest.startswith(f"plugins.{NAME}.") else f"plugins.{NAME}.{rest}"


@attrs.frozen(kw_only=True)
class YangzhouSettings:
    """The checked ``[plugins.yangzhou]`` settings."""

    #: The places served (division codes, a subset of :data:`~creditcommit_yangzhou.PLACES`).
    places: frozenset[str]
    #: The endpoints and how to call them; ``None``: no endpoint set (catalogue and policy only).
    http: HttpSettings | None = None

    @classmethod
    def from_plugin_settings(
        cls, settings: PluginSettings, *, environ: Mapping[str, str] | None = None
    ) -> YangzhouSettings | None:
        """The settings, or ``None`` if the configuration has no ``[plugins.yangzhou]`` table."""
        if NAME not in settings:
            return None
        return cls.from_table(
            settings.table(NAME),
            source=settings.source,
            secret=lambda key: settings.secret(NAME, key, environ=environ),
        )

    @classmethod
    def from_table(
        cls,
        table: Mapping[str, Any],
        *,
        source: str = "<dict>",
        secret: Callable[[str], str] | None = None,
    ) -> YangzhouSettings:
        """Check ``table``; ``secret(key)`` reads the secret that ``<key>_env`` names."""
        problems: list[Problem] = []
        for key in sorted(set(table) - _KNOWN):
            problems.append(
                Problem(
                    f"plugins.{NAME}.{key}",
                    f"unknown key; expected one of {', '.join(sorted(_KNOWN))}",
                )
            )
        places = table.get("places", sorted(PLACES))
        known = ", ".join(f"{code} ({name})" for code, name in PLACES.items())
        if (
            not isinstance(places, list | tuple)
            or not places
            or not all(isinstance(place, str) for place in places)
        ):
            problems.append(
                Problem(f"plugins.{NAME}.places", f"expected a non-empty list of: {known}")
            )
            places = sorted(PLACES)
        else:
            for place in places:
                if place not in PLACES:
                    problems.append(
                        Problem(
                            f"plugins.{NAME}.places",
                            f"the plugin does not serve {place!r}; it serves {known}",
                        )
                    )
        http: HttpSettings | None = None
        given = {key: value for key, value in table.items() if key in HTTP_KEYS}
        if given:
            try:
                http = HttpSettings.from_table(
                    {**given, **NAMES, "cities": sorted(set(places) & set(PLACES)) or [CITY]},
                    city=CITY,
                    source=source,
                    secret=secret,
                )
            except DataFileError as exc:
                problems.extend(Problem(_ours(p.path), p.message) for p in exc.problems)
        if problems:
            raise DataFileError(source, problems)
        return cls(places=frozenset(places), http=http)
