"""The pluggy plugin of Yangzhou: its catalogue, its policy and its systems over HTTP.

Registered on the ``creditcommit`` entry-point group as ``yangzhou``. It answers only when
``creditcommit.toml`` has a ``[plugins.yangzhou]`` table, and only for the places the table
serves (``places``, default 321000, 321012 and 321084):

- ``creditcommit_catalog`` and ``creditcommit_policy``: the files in ``data/``
  (:mod:`creditcommit_yangzhou.places`);
- ``creditcommit_credit_source``, ``creditcommit_credit_registry`` (信用扬州),
  ``creditcommit_licence_store`` (电子证照) and ``creditcommit_publishing_channels``
  (双公示): the HTTP adapter's ports, each only when its URL is set.

The other ports (signature provider, event store, holiday overrides) come from the
built-in plugin or another installed one. Settings are checked when the first port is
asked for, which :meth:`creditcommit.Approvals.from_config` does at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from creditcommit.hookspecs import hookimpl
from creditcommit_http.credit import HttpCreditRegistry, HttpCreditSource
from creditcommit_http.licences import HttpLicenceStore
from creditcommit_http.plugin import upstream_for
from creditcommit_http.publication import HttpPublishingChannel
from creditcommit_http.settings import HttpSettings
from creditcommit_yangzhou.places import catalog_for, policy
from creditcommit_yangzhou.settings import YangzhouSettings

if TYPE_CHECKING:
    from creditcommit.catalog import Catalog
    from creditcommit.config import PluginSettings
    from creditcommit.policy import Policy

__all__ = [
    "creditcommit_catalog",
    "creditcommit_credit_registry",
    "creditcommit_credit_source",
    "creditcommit_licence_store",
    "creditcommit_policy",
    "creditcommit_publishing_channels",
]


def _own(city: str, settings: PluginSettings) -> YangzhouSettings | None:
    own = YangzhouSettings.from_plugin_settings(settings)
    if own is None or city not in own.places:
        return None
    return own


def _http(city: str, settings: PluginSettings) -> HttpSettings | None:
    own = _own(city, settings)
    return None if own is None else own.http


@hookimpl
def creditcommit_catalog(city: str, settings: PluginSettings) -> Catalog | None:
    """The catalogue of the city (every item) or of a district (its own items)."""
    return None if _own(city, settings) is None else catalog_for(city)


@hookimpl
def creditcommit_policy(city: str, settings: PluginSettings) -> Policy | None:
    """The Yangzhou policy (national + city + Jiangdu + Gaoyou), the same for every place."""
    return None if _own(city, settings) is None else policy()


@hookimpl
def creditcommit_credit_source(city: str, settings: PluginSettings) -> HttpCreditSource | None:
    """信用扬州's credit query at ``credit_url``."""
    own = _http(city, settings)
    if own is None or own.credit_url is None:
        return None
    return HttpCreditSource(upstream_for(own.credit_url, own), name=own.credit_name)


@hookimpl
def creditcommit_credit_registry(city: str, settings: PluginSettings) -> HttpCreditRegistry | None:
    """信用扬州's record push at ``registry_url``."""
    own = _http(city, settings)
    if own is None or own.registry_url is None:
        return None
    return HttpCreditRegistry(upstream_for(own.registry_url, own), name=own.registry_name)


@hookimpl
def creditcommit_licence_store(city: str, settings: PluginSettings) -> HttpLicenceStore | None:
    """The e-licence system (电子证照) at ``licence_url``."""
    own = _http(city, settings)
    if own is None or own.licence_url is None:
        return None
    return HttpLicenceStore(upstream_for(own.licence_url, own), name=own.licence_name)


@hookimpl
def creditcommit_publishing_channels(
    city: str, settings: PluginSettings
) -> list[HttpPublishingChannel] | None:
    """The publication site (双公示) at ``publication_url``."""
    own = _http(city, settings)
    if own is None or own.publication_url is None:
        return None
    return [HttpPublishingChannel(upstream_for(own.publication_url, own), name=own.channel_name)]
