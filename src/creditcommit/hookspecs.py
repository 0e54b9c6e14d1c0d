"""Hook specifications (钩子规范): how a plugin provides a city's integrations.

A plugin is a module (or object) with functions named after these hooks and decorated with
:data:`hookimpl` (``from creditcommit import hookimpl``); it is installed as an entry point
in the group ``creditcommit``. The docstring of each hook is its contract. Every hook that
takes ``city`` (the administrative division code, e.g. ``"321000"``) is asked once per city,
so one process can serve several cities: a plugin returns ``None`` for a city it does not
serve.

Only :class:`creditcommit.plugins.Integrations` calls these hooks; it enforces the rules
stated here (one answer per single-answer port, built-in defaults as fallbacks, listeners
that cannot break the caller). See ``docs/plugins.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from creditcommit.catalog import Catalog
    from creditcommit.config import PluginSettings
    from creditcommit.policy import Policy
    from creditcommit.ports import (
        CreditRegistry,
        CreditSource,
        EventStore,
        LicenceStore,
        PublishingChannel,
        SignatureProvider,
        StoredEvent,
    )

__all__ = [
    "PROJECT",
    "creditcommit_case_event",
    "creditcommit_catalog",
    "creditcommit_credit_registry",
    "creditcommit_credit_source",
    "creditcommit_event_store",
    "creditcommit_holiday_overrides",
    "creditcommit_licence_store",
    "creditcommit_policy",
    "creditcommit_publishing_channels",
    "creditcommit_signature_provider",
    "hookimpl",
    "hookspec",
]

PROJECT = "creditcommit"
"""The pluggy project name, which is also the entry-point group plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification (used only in this module)."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's hook implementation: ``@hookimpl`` above ``def creditcommit_...``."""


# --- single-answer ports -----------------------------------------------------------------


@hookspec
def creditcommit_credit_source(city: str, settings: PluginSettings) -> CreditSource | None:
    """The credit source (信用信息平台) to ask on every submission in ``city``.

    Single answer: exactly one plugin may return a source for a city; two are an error at
    the time the source is asked for, and so is none.

    :param city: the administrative division code, e.g. ``"321000"``.
    :param settings: the ``[plugins.<name>]`` tables of the configuration; read your own
        with ``settings.table("<name>")`` and secrets with ``settings.secret(...)``.
    :return: a :class:`~creditcommit.ports.CreditSource`, or ``None`` if the plugin does not
        serve ``city``.

    The source must read back the records the city's credit registry stores (the credit
    feedback loop). A source and a registry from the same plugin are taken to do so; a
    source whose registry comes from another plugin (e.g. the built-in one) must say that
    it reads it with an attribute ``reads_registry = "<registry name>"``, or the service
    refuses to start (:meth:`~creditcommit.plugins.Integrations.check_credit_loop`).
    """


@hookspec
def creditcommit_licence_store(city: str, settings: PluginSettings) -> LicenceStore | None:
    """The e-licence store (电子证照库) of ``city``.

    Single answer: exactly one plugin may return a store for a city.

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: a :class:`~creditcommit.ports.LicenceStore`, or ``None`` if the plugin does not
        serve ``city``.
    """


@hookspec
def creditcommit_credit_registry(city: str, settings: PluginSettings) -> CreditRegistry | None:
    """The credit platform that receives ``city``'s dishonesty records (信用信息共享平台).

    Single answer: exactly one plugin may return a registry for a city. Its ``push`` must
    be idempotent on the message key (the outbox delivers at least once).

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: a :class:`~creditcommit.ports.CreditRegistry`, or ``None`` if the plugin does
        not serve ``city``.
    """


@hookspec
def creditcommit_catalog(city: str, settings: PluginSettings) -> Catalog | None:
    """The catalogue of approval items (事项清单) of ``city``.

    Single answer: one plugin, or the ``catalog`` key of the configuration for the
    configured city; both at once is an error.

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: a :class:`~creditcommit.catalog.Catalog`, or ``None`` if the plugin does not
        serve ``city``.
    """


@hookspec
def creditcommit_policy(city: str, settings: PluginSettings) -> Policy | None:
    """The approval policy (审批分级政策) of ``city``, usually the national defaults with the
    city's overlay (:meth:`~creditcommit.Policy.load`).

    Single answer: one plugin, or the ``policy`` key of the configuration for the
    configured city; both at once is an error.

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: a :class:`~creditcommit.policy.Policy`, or ``None`` if the plugin does not serve
        ``city``.
    """


@hookspec
def creditcommit_signature_provider(
    city: str, settings: PluginSettings
) -> SignatureProvider | None:
    """The signature provider that signs ``city``'s commitment letters (承诺书电子签名).

    Single answer: exactly one plugin may return a provider for a city. The built-in
    plugin's fallback signs with HMAC-SHA256 under the key in ``CREDITCOMMIT_SIGNING_KEY``
    (a stand-in for a CA-issued SM2 signature), and refuses to sign without it; a city
    with a certificate returns its own provider. The same provider checks every stored
    letter when a case is read, so keep old keys verifiable when you rotate them.

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: a :class:`~creditcommit.ports.SignatureProvider`, or ``None`` if the plugin
        does not serve ``city``.
    """


# --- collected answers -------------------------------------------------------------------


@hookspec
def creditcommit_publishing_channels(
    city: str, settings: PluginSettings
) -> Sequence[PublishingChannel] | None:
    """The places ``city``'s decisions are published (双公示 websites, files, ...).

    All answers are collected, in plugin-name order; channel names must be unique per city
    (the outbox addresses a channel as ``channel:<name>``). Each channel's ``publish`` must
    be idempotent on the message key.

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: the plugin's channels for ``city`` (possibly empty), or ``None``.
    """


@hookspec
def creditcommit_holiday_overrides(
    city: str, settings: PluginSettings
) -> Sequence[str | os.PathLike[str] | Mapping[str, Any]] | None:
    """Holiday data: State Council notice overrides for the working-day calendar.

    All answers are collected and applied on top of the ``chinesecalendar`` data in
    plugin-name order, then the configuration's ``calendar_overrides`` last; a later
    override replaces an earlier one's year (see
    :meth:`~creditcommit.WorkingCalendar.with_override`). Give absolute paths (e.g. files
    shipped in the plugin's package) or mappings of the same shape.

    :param city: the administrative division code.
    :param settings: the plugin settings of the configuration.
    :return: override files or mappings, or ``None``.
    """


# --- the event store ---------------------------------------------------------------------


@hookspec(firstresult=True)
def creditcommit_event_store(url: str) -> EventStore | None:
    """Open the event store at ``url`` if the plugin handles its scheme.

    Stops at the first non-``None`` result; installed plugins are asked before the built-in
    plugin, which opens ``sqlite:`` URLs. A plugin returns ``None`` for schemes it does not
    handle (``postgresql://...`` is for the PostgreSQL adapter).

    :param url: the store URL from the configuration, e.g. ``"sqlite:///srv/cc/cases.db"``.
    :return: an open :class:`~creditcommit.ports.EventStore`, or ``None``.
    """


# --- notifications -----------------------------------------------------------------------


@hookspec
def creditcommit_case_event(city: str, case_id: str, event: StoredEvent) -> None:
    """Called after an event was appended to a case (a listener: metrics, alerts, a feed).

    Every implementation is called. An exception raised by a listener is caught, logged
    (logger ``creditcommit.plugins``) and returned to the caller of
    :meth:`~creditcommit.plugins.Integrations.notify` as a
    :class:`~creditcommit.plugins.ListenerFailure`; it never breaks the caller, and the
    event stays appended. Listeners must be quick and must not rely on being called again
    for the same event.

    :param city: the administrative division code of the case.
    :param case_id: the case (the event stream).
    :param event: the event as stored (type, JSON payload, version, digest).
    """
