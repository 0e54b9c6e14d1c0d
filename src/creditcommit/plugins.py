"""The plugin manager (插件管理) and :class:`Integrations`, the typed facade over the hooks.

:func:`make_plugin_manager` registers the hook specifications, the built-in plugin, the
plugins installed under the entry-point group ``creditcommit`` (unless switched off) and any
plugin objects passed in, then rejects misspelled hooks at once. :class:`Integrations` is
the only code that calls the hooks: it asks each plugin in turn so that every error names
the plugin, enforces one answer per single-answer port and city, uses the built-in defaults
only as fallbacks, and keeps a failing listener from breaking its caller.

Environment switches (read by :func:`make_plugin_manager`):

- ``CREDITCOMMIT_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points;
- ``CREDITCOMMIT_PLUGINS=name1,name2``: load only these entry points (also when autoload
  is disabled, like ``pytest -p``).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import pluggy

from creditcommit import hookspecs
from creditcommit.builtin import plugin as builtin_plugin
from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import Catalog
from creditcommit.config import Config
from creditcommit.errors import PluginError
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
    "BUILTIN",
    "DEFAULT_MARKER",
    "ENV_DISABLE_AUTOLOAD",
    "ENV_PLUGINS",
    "Integrations",
    "ListenerFailure",
    "is_default",
    "make_plugin_manager",
]

ENV_DISABLE_AUTOLOAD = "CREDITCOMMIT_DISABLE_PLUGIN_AUTOLOAD"
"""Set to ``1`` (or ``true``, ``yes``, ``on``) to load no entry-point plugins."""

ENV_PLUGINS = "CREDITCOMMIT_PLUGINS"
"""Comma-separated entry-point names: load only these plugins."""

BUILTIN = builtin_plugin.NAME
"""The name the built-in plugin is registered under (``"builtin"``)."""

DEFAULT_MARKER = "creditcommit_default"
"""A plugin with this attribute set to true is a fallback (see :func:`is_default`)."""

_PREFIX = "creditcommit_"
_FALSE = frozenset({"", "0", "false", "no", "off"})
_log = logging.getLogger("creditcommit.plugins")


def is_default(plugin: object) -> bool:
    """True if ``plugin`` is a fallback: it answers a port only when no other plugin does."""
    return getattr(plugin, DEFAULT_MARKER, False) is True


# --------------------------------------------------------------------------- the manager


class _PluginManager(pluggy.PluginManager):
    """Also takes an unmarked ``creditcommit_*`` function for a hook implementation.

    A forgotten ``@hookimpl`` would otherwise be ignored without a word; this way it is
    used, and a misspelled name is rejected by ``check_pending``.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        if (
            opts is None
            and name.startswith(_PREFIX)
            and name != DEFAULT_MARKER
            and inspect.isroutine(getattr(plugin, name, None))
        ):
            return pluggy.HookimplOpts(
                wrapper=False,
                hookwrapper=False,
                optionalhook=False,
                tryfirst=False,
                trylast=False,
                specname=None,
            )
        return opts


def _specs() -> tuple[str, ...]:
    return tuple(name for name in hookspecs.__all__ if name.startswith(_PREFIX))


def _selection(autoload: bool | None, env: Mapping[str, str]) -> tuple[str, ...] | None:
    """Entry points to load: ``None`` for all, else the names (``()`` for none)."""
    if autoload is False:
        return ()
    names = tuple(n.strip() for n in env.get(ENV_PLUGINS, "").split(",") if n.strip())
    if names:
        return names
    if autoload is None and env.get(ENV_DISABLE_AUTOLOAD, "").strip().lower() not in _FALSE:
        return ()
    return None


def _load_entry_points(pm: pluggy.PluginManager, selected: tuple[str, ...] | None) -> None:
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT):
        if ep.name in found:
            first, second = _dist_name(found[ep.name]), _dist_name(ep)
            if first != second:
                raise PluginError(
                    f"two installed distributions provide the plugin {ep.name!r}: {first} "
                    f"and {second}; uninstall one"
                )
            continue
        found[ep.name] = ep
    names = sorted(found) if selected is None else selected
    for name in names:
        if name not in found:
            installed = ", ".join(sorted(found)) or "none"
            raise PluginError(
                f"{ENV_PLUGINS} names the plugin {name!r}, which is not installed "
                f"(installed: {installed})"
            )
        if name == BUILTIN:
            raise PluginError(
                f"the plugin {name!r} of {_dist_name(found[name])} uses a reserved name; "
                "rename its entry point"
            )
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT, name=name)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(
                f"the plugin {name!r} ({found[name].value} in {_dist_name(found[name])}) "
                f"could not be loaded: {_describe(exc)}"
            ) from exc


def _dist_name(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    return "an unknown distribution" if dist is None else f"{dist.name} {dist.version}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    if pm.has_plugin(name):
        raise PluginError(f"two plugins are named {name!r}; give each a different name")
    try:
        pm.register(plugin, name=name)
    except Exception as exc:
        raise PluginError(f"the plugin {name!r} was rejected: {_describe(exc)}") from exc


def _name_of(plugin: object) -> str:
    name = getattr(plugin, "__name__", None)
    return name if isinstance(name, str) else type(plugin).__name__


def _check(pm: pluggy.PluginManager) -> None:
    """Reject hooks that no specification knows (misspellings) and wrappers."""
    specs = _specs()
    unknown: list[str] = []
    for name in sorted(vars(pm.hook)):
        if name.startswith("_"):
            continue
        caller = getattr(pm.hook, name)
        for impl in caller.get_hookimpls():
            if not caller.has_spec() and not impl.optionalhook:
                close = difflib.get_close_matches(name, specs, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                unknown.append(f"{name} in the plugin {impl.plugin_name!r}{hint}")
            elif impl.wrapper or impl.hookwrapper:
                raise PluginError(
                    f"the plugin {impl.plugin_name!r} implements {name} as a wrapper, which "
                    "creditcommit does not call; wrap the port object the hook returns instead"
                )
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        detail = "; ".join(unknown) or str(exc)
        raise PluginError(f"unknown hook: {detail}") from exc


def make_plugin_manager(
    *,
    autoload: bool | None = None,
    plugins: Iterable[object] | Mapping[str, object] = (),
    environ: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """A plugin manager with the built-in plugin, the installed plugins and ``plugins``.

    :param autoload: ``None`` (default) follows the environment switches; ``True`` loads the
        entry points even if :data:`ENV_DISABLE_AUTOLOAD` is set; ``False`` loads none and
        ignores the environment.
    :param plugins: extra plugin objects (modules, classes or instances) to register, by
        their ``__name__`` (or class name), or a mapping of name to plugin.
    :param environ: the environment to read the switches from (default :data:`os.environ`).
    :raises PluginError: a plugin cannot be loaded, two plugins share a name, a plugin
        implements a hook that does not exist (naming the plugin and the hook) or a hook
        with arguments the specification does not have.
    """
    env = os.environ if environ is None else environ
    pm = _PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    _register(pm, builtin_plugin, BUILTIN)
    _load_entry_points(pm, _selection(autoload, env))
    extra = plugins.items() if isinstance(plugins, Mapping) else ((None, p) for p in plugins)
    for name, plugin in extra:
        _register(pm, plugin, name or _name_of(plugin))
    _check(pm)
    return pm


# --------------------------------------------------------------------------- the facade


@attrs.frozen
class ListenerFailure:
    """A ``creditcommit_case_event`` listener that raised; the caller carried on."""

    plugin: str
    city: str
    case_id: str
    event_type: str
    version: int
    error: str
    """The exception, as ``"ValueError: message"``."""
    exception: Exception = attrs.field(eq=False, repr=False)


_PORTS = {
    "creditcommit_credit_source": "credit source",
    "creditcommit_licence_store": "licence store",
    "creditcommit_credit_registry": "credit registry",
    "creditcommit_publishing_channels": "publishing channels",
    "creditcommit_holiday_overrides": "holiday overrides",
    "creditcommit_catalog": "catalogue",
    "creditcommit_policy": "policy",
    "creditcommit_signature_provider": "signature provider",
}


class Integrations:
    """A city's ports as the installed plugins provide them (the only caller of the hooks).

    Single-answer ports (credit source, licence store, credit registry, catalogue, policy,
    signature provider) must have exactly one provider per city: none, or two, is a
    :class:`PluginError` naming the city, the port and the plugins. The built-in plugin
    answers only when no other plugin does. The catalogue and the policy may also come
    from the configuration (its ``catalog`` and ``policy`` keys, for the configured city),
    which counts as a provider.

    Answers are cached per city, so each port object is made once; :meth:`event_store`
    opens a new store on every call.
    """

    def __init__(self, plugin_manager: pluggy.PluginManager, config: Config) -> None:
        self.plugin_manager = plugin_manager
        self.config = config
        self._cache: dict[tuple[str, str], Any] = {}
        #: (hook, city) -> who provided the cached answer (a plugin name).
        self._providers: dict[tuple[str, str], str] = {}

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        autoload: bool | None = None,
        plugins: Iterable[object] | Mapping[str, object] = (),
        environ: Mapping[str, str] | None = None,
    ) -> Integrations:
        """Integrations for ``config`` with a new plugin manager (:func:`make_plugin_manager`)."""
        pm = make_plugin_manager(autoload=autoload, plugins=plugins, environ=environ)
        return cls(pm, config)

    @property
    def plugins(self) -> tuple[str, ...]:
        """Names of the registered plugins, sorted."""
        return tuple(sorted(name for name, _ in self.plugin_manager.list_name_plugin()))

    # -- single-answer ports ----------------------------------------------------------

    def credit_source(self, city: str) -> CreditSource:
        """The credit source of ``city``."""
        port: CreditSource = self._single("creditcommit_credit_source", city, CreditSource)
        return port

    def licence_store(self, city: str) -> LicenceStore:
        """The e-licence store of ``city``."""
        port: LicenceStore = self._single("creditcommit_licence_store", city, LicenceStore)
        return port

    def credit_registry(self, city: str) -> CreditRegistry:
        """The credit registry of ``city``."""
        port: CreditRegistry = self._single("creditcommit_credit_registry", city, CreditRegistry)
        return port

    def signature_provider(self, city: str) -> SignatureProvider:
        """The provider that signs and checks ``city``'s commitment letters."""
        port: SignatureProvider = self._single(
            "creditcommit_signature_provider", city, SignatureProvider
        )
        return port

    def catalog(self, city: str) -> Catalog:
        """The catalogue of ``city``: from a plugin, or from the configuration's ``catalog``."""
        configured = None
        if city == self.config.city and self.config.catalog is not None:
            value = self.config.catalog
            configured = (f"catalog = {value!r} in {self.config.source}", _catalog_loader(value))
        catalog: Catalog = self._single("creditcommit_catalog", city, Catalog, configured)
        return catalog

    def policy(self, city: str) -> Policy:
        """The policy of ``city``: from a plugin, or from the configuration's ``policy``."""
        configured = None
        if city == self.config.city and self.config.policy:
            value = self.config.policy
            shown = value[0] if len(value) == 1 else list(value)
            configured = (f"policy = {shown!r} in {self.config.source}", _policy_loader(value))
        policy: Policy = self._single("creditcommit_policy", city, Policy, configured)
        return policy

    # -- collected answers ------------------------------------------------------------

    def publishing_channels(self, city: str) -> tuple[PublishingChannel, ...]:
        """Every publishing channel of ``city``, from every plugin that serves it.

        :raises PluginError: two channels have the same name, or a plugin's answer is not a
            list of channels.
        """
        key = ("creditcommit_publishing_channels", city)
        if key not in self._cache:
            answers = self._collect(key[0], city)
            channels: dict[str, tuple[str, PublishingChannel]] = {}
            for plugin, answer in answers:
                if isinstance(answer, str | bytes) or not isinstance(answer, Sequence):
                    raise PluginError(
                        f"the plugin {plugin!r} returned {type(answer).__name__} from "
                        f"{key[0]}, not a list of publishing channels"
                    )
                for channel in answer:
                    _expect(channel, PublishingChannel, f"the plugin {plugin!r}", key[0])
                    if channel.name in channels:
                        raise PluginError(
                            f"two publishing channels of city {city} are named "
                            f"{channel.name!r} (from the plugins {channels[channel.name][0]!r} "
                            f"and {plugin!r}); channel names must be unique"
                        )
                    channels[channel.name] = (plugin, channel)
            self._cache[key] = tuple(channel for _, channel in channels.values())
        return self._cache[key]  # type: ignore[no-any-return]

    def calendar(self, city: str) -> WorkingCalendar:
        """The working-day calendar: ``chinesecalendar`` data, the plugins' overrides (in
        plugin-name order), then the configuration's ``calendar_overrides``."""
        key = ("creditcommit_holiday_overrides", city)
        if key not in self._cache:
            calendar = WorkingCalendar.china()
            for plugin, answer in self._collect(key[0], city):
                if isinstance(answer, str | bytes | Mapping) or not isinstance(answer, Sequence):
                    raise PluginError(
                        f"the plugin {plugin!r} returned {type(answer).__name__} from "
                        f"{key[0]}, not a list of override files or mappings"
                    )
                for i, source in enumerate(answer):
                    try:
                        calendar = calendar.with_override(
                            source,
                            name=None
                            if not isinstance(source, Mapping)
                            else f"<override {i} of plugin {plugin}>",
                        )
                    except Exception as exc:
                        raise PluginError(
                            f"the plugin {plugin!r} gave a calendar override that cannot be "
                            f"used: {_describe(exc)}"
                        ) from exc
            for path in self.config.calendar_overrides:
                calendar = calendar.with_override(path)
            self._cache[key] = calendar
        return self._cache[key]  # type: ignore[no-any-return]

    # -- the event store and notifications --------------------------------------------

    def event_store(self, url: str | None = None) -> EventStore:
        """Open the event store at ``url`` (default: the configured store).

        The installed plugins are asked in name order, then the built-in plugin; the first
        store returned wins.

        :raises PluginError: no plugin opens URLs of this scheme, or the one that does fails.
        """
        target = self.config.store_url() if url is None else url
        scheme = target.partition(":")[0] or target
        name = "creditcommit_event_store"
        for impl in self._impls(name):
            store = self._call(impl, name, {"url": target}, f"(a {scheme}: URL)")
            if store is not None:
                _expect(store, EventStore, f"the plugin {impl.plugin_name!r}", name)
                return store  # type: ignore[no-any-return]
        raise PluginError(
            f"no plugin opens event-store URLs of the scheme {scheme!r} (plugins: "
            f"{', '.join(self.plugins)}); install the adapter for it, e.g. creditcommit-postgres "
            "for postgresql:"
        )

    def notify(self, city: str, case_id: str, event: StoredEvent) -> tuple[ListenerFailure, ...]:
        """Tell every ``creditcommit_case_event`` listener that ``event`` was appended.

        Every listener is called, in plugin-name order. One that raises is logged (logger
        ``creditcommit.plugins``) and reported in the result; the others still run, and
        nothing is raised to the caller (except ``KeyboardInterrupt`` and the like).
        """
        failures: list[ListenerFailure] = []
        args = {"city": city, "case_id": case_id, "event": event}
        for impl in self._impls("creditcommit_case_event"):
            try:
                impl.function(*(args[arg] for arg in impl.argnames))
            except Exception as exc:
                _log.exception(
                    "listener %r failed on event %s (version %d) of case %s in city %s",
                    impl.plugin_name,
                    event.type,
                    event.version,
                    case_id,
                    city,
                )
                failures.append(
                    ListenerFailure(
                        plugin=impl.plugin_name,
                        city=city,
                        case_id=case_id,
                        event_type=event.type,
                        version=event.version,
                        error=_describe(exc),
                        exception=exc,
                    )
                )
        return tuple(failures)

    # -- plumbing ---------------------------------------------------------------------

    def _impls(self, name: str) -> list[pluggy.HookImpl]:
        """Implementations of hook ``name``: other plugins by name, then the defaults."""
        impls = getattr(self.plugin_manager.hook, name).get_hookimpls()
        return sorted(impls, key=lambda impl: (is_default(impl.plugin), impl.plugin_name))

    def _call(self, impl: pluggy.HookImpl, name: str, args: Mapping[str, Any], what: str) -> Any:
        try:
            return impl.function(*(args[arg] for arg in impl.argnames))
        except Exception as exc:
            raise PluginError(
                f"the plugin {impl.plugin_name!r} failed in {name} {what}: {_describe(exc)}"
            ) from exc

    def _ask(self, impls: Iterable[pluggy.HookImpl], name: str, city: str) -> list[tuple[str, Any]]:
        args = {"city": city, "settings": self.config.plugins}
        answers = []
        for impl in impls:
            answer = self._call(impl, name, args, f"for city {city}")
            if answer is not None:
                answers.append((impl.plugin_name, answer))
        return answers

    def _collect(self, name: str, city: str) -> list[tuple[str, Any]]:
        """Answers of the non-default plugins, or of the defaults if there are none."""
        impls = self._impls(name)
        answers = self._ask([i for i in impls if not is_default(i.plugin)], name, city)
        return answers or self._ask([i for i in impls if is_default(i.plugin)], name, city)

    def _single(
        self,
        name: str,
        city: str,
        port: Any,
        configured: tuple[str, Callable[[], Any]] | None = None,
    ) -> Any:
        key = (name, city)
        if key in self._cache:
            return self._cache[key]
        impls = self._impls(name)
        answers = self._ask([i for i in impls if not is_default(i.plugin)], name, city)
        claimants = [f"the plugin {plugin!r}" for plugin, _ in answers]
        if configured is not None:
            claimants.append(configured[0])
        if not claimants:
            answers = self._ask([i for i in impls if is_default(i.plugin)], name, city)
            claimants = [f"the plugin {plugin!r}" for plugin, _ in answers]
        if len(claimants) > 1:
            raise PluginError(
                f"{len(claimants)} providers claim the {_PORTS[name]} of city {city}: "
                f"{' and '.join(claimants)}; keep one (uninstall or deselect a plugin with "
                f"{ENV_PLUGINS}, or remove the key from the configuration)"
            )
        if not claimants:
            asked = ", ".join(repr(i.plugin_name) for i in impls) or "none implements it"
            raise PluginError(
                f"no plugin provides the {_PORTS[name]} of city {city} (plugins asked: "
                f'{asked}); install the city\'s plugin, or configure city = "{city}" '
                "to use the built-in defaults"
            )
        value = configured[1]() if configured is not None else answers[0][1]
        _expect(value, port, claimants[0], name)
        self._cache[key] = value
        self._providers[key] = claimants[0] if configured is not None else answers[0][0]
        return value

    def close(self) -> None:
        """Close the ports the built-in plugin made (its SQLite files' connections).

        Ports from other plugins are theirs to manage and are left alone. A closed built-in
        adapter opens its file again on its next call, so an object still in use elsewhere
        keeps working.
        """
        for key, provider in self._providers.items():
            if provider == BUILTIN:
                close = getattr(self._cache.get(key), "close", None)
                if callable(close):
                    close()

    def check_credit_loop(self, city: str) -> None:
        """Check that ``city``'s credit source reads back what its credit registry stores.

        The dishonesty records the service pushes to the registry (after a false or broken
        commitment) must be in the evidence of the subject's next application, or a
        blocked applicant gets the commitment route again. Source and registry from the
        same plugin are taken to close that loop; a source from another plugin must declare
        the registry it reads with an attribute ``reads_registry = "<registry name>"``.
        The service runs this check at start-up (:meth:`~creditcommit.Approvals.check`).

        :raises PluginError: the source and the registry come from different plugins and
            the source does not declare that it reads this registry.
        """
        source = self.credit_source(city)
        registry = self.credit_registry(city)
        source_by = self._providers[("creditcommit_credit_source", city)]
        registry_by = self._providers[("creditcommit_credit_registry", city)]
        declared = getattr(source, "reads_registry", None)
        if source_by == registry_by or declared == registry.name:
            return
        said = (
            "does not declare which registry it reads"
            if declared is None
            else f"declares reads_registry = {declared!r}, another registry"
        )
        raise PluginError(
            f"city {city}: the credit source {source.name!r} (plugin {source_by!r}) {said}, "
            f"but the records go to the credit registry {registry.name!r} (plugin "
            f"{registry_by!r}): the dishonesty records it stores after a false or broken "
            "commitment would never be read back, and the applicant would get the commitment "
            "route again. Provide the registry from the same plugin as the source, or, if the "
            f"source does read that registry, set reads_registry = {registry.name!r} on it"
        )


def _expect(value: object, port: type[Any], plugin: str, hook: str) -> None:
    if not isinstance(value, port):
        raise PluginError(
            f"{plugin} returned {type(value).__name__} from {hook}, which is not a {port.__name__}"
        )


def _catalog_loader(value: str) -> Callable[[], Catalog]:
    def load() -> Catalog:
        return Catalog.sample() if value == "sample" else Catalog.from_toml(value)

    return load


def _policy_loader(value: tuple[str, ...]) -> Callable[[], Policy]:
    def load() -> Policy:
        if value == ("sample",):
            return Policy.sample()
        if value == ("national",):
            return Policy.national()
        return Policy.load(*value)

    return load
