"""The pluggy plugin: provides the HTTP ports for the cities ``[plugins.http]`` names.

Registered on the ``creditcommit`` entry-point group as ``http``; it answers only when the
configuration has a ``[plugins.http]`` table, and for each port only when that port's URL is
set (``credit_url``, ``registry_url``, ``licence_url``, ``publication_url``). Settings are
checked when the first port is asked for, which :meth:`creditcommit.Approvals.from_config`
does at start-up.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import httpx

from creditcommit.hookspecs import hookimpl
from creditcommit_http.auth import BearerToken, GatewaySignature
from creditcommit_http.caller import Upstream
from creditcommit_http.credit import HttpCreditRegistry, HttpCreditSource
from creditcommit_http.licences import HttpLicenceStore
from creditcommit_http.publication import HttpPublishingChannel
from creditcommit_http.resilience import RetryPolicy
from creditcommit_http.settings import HttpSettings

if TYPE_CHECKING:
    from creditcommit.config import PluginSettings

__all__ = [
    "creditcommit_credit_registry",
    "creditcommit_credit_source",
    "creditcommit_licence_store",
    "creditcommit_publishing_channels",
    "upstream_for",
]

_lock = threading.Lock()
# One client (connection pool) and one set of breakers per base URL and settings.
_upstreams: dict[tuple[str, HttpSettings], Upstream] = {}


def _auth(settings: HttpSettings) -> httpx.Auth | None:
    if settings.auth == "bearer" and settings.token:
        return BearerToken(settings.token)
    if settings.auth == "gateway" and settings.app_key and settings.app_secret:
        return GatewaySignature(settings.app_key, settings.app_secret, digest=settings.digest)
    return None


def upstream_for(
    base_url: str, settings: HttpSettings, *, transport: httpx.BaseTransport | None = None
) -> Upstream:
    """The :class:`Upstream` of ``base_url`` built from ``settings`` (shared per process)."""
    with _lock:
        found = _upstreams.get((base_url, settings))
        if found is None:
            client = httpx.Client(
                base_url=base_url,
                auth=_auth(settings),
                transport=transport,
                follow_redirects=False,
                trust_env=False,
            )
            found = Upstream(
                client,
                timeout=settings.timeout,
                deadline=settings.deadline,
                retry=RetryPolicy(
                    retries=settings.retries, base=settings.backoff, cap=settings.backoff_max
                ),
                breaker_failures=settings.breaker_failures,
                breaker_reset=settings.breaker_reset,
            )
            _upstreams[(base_url, settings)] = found
        return found


def _settings(city: str, settings: PluginSettings) -> HttpSettings | None:
    own = HttpSettings.from_plugin_settings(settings)
    if own is None or city not in own.cities:
        return None
    return own


@hookimpl
def creditcommit_credit_source(city: str, settings: PluginSettings) -> HttpCreditSource | None:
    """The credit platform at ``credit_url``."""
    own = _settings(city, settings)
    if own is None or own.credit_url is None:
        return None
    return HttpCreditSource(upstream_for(own.credit_url, own), name=own.credit_name)


@hookimpl
def creditcommit_credit_registry(city: str, settings: PluginSettings) -> HttpCreditRegistry | None:
    """The credit registry at ``registry_url``."""
    own = _settings(city, settings)
    if own is None or own.registry_url is None:
        return None
    return HttpCreditRegistry(upstream_for(own.registry_url, own), name=own.registry_name)


@hookimpl
def creditcommit_licence_store(city: str, settings: PluginSettings) -> HttpLicenceStore | None:
    """The e-licence system at ``licence_url``."""
    own = _settings(city, settings)
    if own is None or own.licence_url is None:
        return None
    return HttpLicenceStore(upstream_for(own.licence_url, own), name=own.licence_name)


@hookimpl
def creditcommit_publishing_channels(
    city: str, settings: PluginSettings
) -> list[HttpPublishingChannel] | None:
    """The publication site at ``publication_url``."""
    own = _settings(city, settings)
    if own is None or own.publication_url is None:
        return None
    return [HttpPublishingChannel(upstream_for(own.publication_url, own), name=own.channel_name)]
