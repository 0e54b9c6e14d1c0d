"""The built-in plugin: the embedded defaults, so ``pip install creditcommit`` works alone.

It answers for the city of the configuration only (``city`` in ``creditcommit.toml``), with
the files named in ``[plugins.builtin]``, and only when no installed plugin answers: its
``creditcommit_default = True`` marks it as a fallback (see ``docs/plugins.md``, "The
fallback rule"). It also opens ``sqlite:`` store URLs with the SQLite event store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from creditcommit.builtin.credit_file import FileCreditRegistry, FileCreditSource
from creditcommit.builtin.jsonl_channel import JsonLinesChannel
from creditcommit.builtin.licence_file import FileLicenceStore
from creditcommit.builtin.signing import HmacSignatureProvider, UnkeyedSignatureProvider
from creditcommit.hookspecs import hookimpl

if TYPE_CHECKING:
    from creditcommit.config import PluginSettings
    from creditcommit.ports import EventStore

__all__ = [
    "NAME",
    "creditcommit_credit_registry",
    "creditcommit_credit_source",
    "creditcommit_default",
    "creditcommit_event_store",
    "creditcommit_licence_store",
    "creditcommit_publishing_channels",
    "creditcommit_signature_provider",
]

NAME = "builtin"
"""The plugin's name, and the name of its settings table ``[plugins.builtin]``."""

creditcommit_default = True
"""Marks a fallback plugin: it answers a port only when no other plugin does."""


@hookimpl(trylast=True)
def creditcommit_credit_source(city: str, settings: PluginSettings) -> FileCreditSource | None:
    """The credit file (``credit``) for the configured city."""
    if city != settings.city:
        return None
    own = settings.builtin
    return FileCreditSource(
        own.credit, scale=own.credit_scale, unavailable=own.unavailable_subjects
    )


@hookimpl(trylast=True)
def creditcommit_credit_registry(city: str, settings: PluginSettings) -> FileCreditRegistry | None:
    """The same credit file, receiving pushed records, for the configured city."""
    if city != settings.city:
        return None
    return FileCreditRegistry(settings.builtin.credit)


@hookimpl(trylast=True)
def creditcommit_licence_store(city: str, settings: PluginSettings) -> FileLicenceStore | None:
    """The licence file (``licences``) for the configured city."""
    if city != settings.city:
        return None
    return FileLicenceStore(settings.builtin.licences)


@hookimpl(trylast=True)
def creditcommit_publishing_channels(
    city: str, settings: PluginSettings
) -> list[JsonLinesChannel] | None:
    """The JSON-lines file (``channel``) for the configured city."""
    if city != settings.city:
        return None
    own = settings.builtin
    return [JsonLinesChannel(own.channel, name=own.channel_name)]


@hookimpl(trylast=True)
def creditcommit_signature_provider(
    city: str, settings: PluginSettings
) -> HmacSignatureProvider | UnkeyedSignatureProvider | None:
    """HMAC-SHA256 for the configured city, under the key in the file ``signing_key_file``
    if set, else in ``CREDITCOMMIT_SIGNING_KEY``; without either, a provider that refuses to
    sign (fail-safe)."""
    if city != settings.city:
        return None
    key_file = settings.builtin.signing_key_file
    if key_file is not None:
        return HmacSignatureProvider.from_file(key_file)
    return HmacSignatureProvider.from_environ()


@hookimpl(trylast=True)
def creditcommit_event_store(url: str) -> EventStore | None:
    """The SQLite event store for ``sqlite:`` URLs."""
    if url.partition(":")[0].lower() != "sqlite":
        return None
    # Imported here so that loading the plugin never depends on the store module.
    from creditcommit.builtin.sqlite_store import SQLiteEventStore  # noqa: PLC0415

    return SQLiteEventStore.from_url(url)
