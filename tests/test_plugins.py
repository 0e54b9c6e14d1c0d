"""The plugin manager and the Integrations facade: discovery, switches, the claim rules."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit import hookspecs
from creditcommit.builtin import FileCreditSource, FileLicenceStore, JsonLinesChannel
from creditcommit.catalog import Catalog
from creditcommit.config import Config, PluginSettings
from creditcommit.credit import CreditEvidence
from creditcommit.errors import CalendarCoverageError, PluginError
from creditcommit.hookspecs import hookimpl
from creditcommit.plugins import (
    BUILTIN,
    ENV_DISABLE_AUTOLOAD,
    ENV_PLUGINS,
    Integrations,
    ListenerFailure,
    is_default,
    make_plugin_manager,
)
from creditcommit.policy import Policy
from creditcommit.ports import OutboxMessage, StoredEvent

CITY = "321000"  # Yangzhou: the configured city, served by the built-in plugin
HANGZHOU = "330100"  # served by the test distribution's plugin
NANJING = "320100"  # served by nobody
DOCS = Path(__file__).parent.parent / "docs" / "plugins.md"
PLUGIN_DIST = Path(__file__).parent / "plugin_dist"
CST = dt.timezone(dt.timedelta(hours=8))


# --------------------------------------------------------------------------- helpers


class Installer:
    """Installs plugin distributions for one test: a ``*.dist-info`` on ``sys.path``."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.modules: list[str] = []
        monkeypatch.syspath_prepend(str(root))

    def install(self, dist: str, entry_point: str, module: str, source: str) -> None:
        (self.root / f"{module}.py").write_text(source, encoding="utf-8")
        info = self.root / f"{dist.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            f"[creditcommit]\n{entry_point} = {module}\n", encoding="utf-8"
        )
        self.modules.append(module)

    def install_testplugin(self) -> None:
        source = (PLUGIN_DIST / "cc_testplugin.py").read_text(encoding="utf-8")
        self.install("cc-testplugin", "testplugin", "cc_testplugin", source)

    def remove_modules(self) -> None:
        for module in self.modules:
            sys.modules.pop(module, None)


@pytest.fixture
def installer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Installer]:
    site = tmp_path / "site"
    site.mkdir()
    installed = Installer(site, monkeypatch)
    yield installed
    installed.remove_modules()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.from_dict({"city": CITY}, root=tmp_path)


def integrations(config: Config, *plugins: object, **named: object) -> Integrations:
    extra: dict[str, object] = {type(p).__name__: p for p in plugins} | named
    return Integrations.from_config(config, autoload=False, plugins=extra)


class Source:
    """A credit source a test plugin hands out."""

    def __init__(self, name: str) -> None:
        self.name = name

    def lookup(self, subject: str, *, city: str, at: dt.datetime) -> CreditEvidence:
        return CreditEvidence.create(
            subject=subject, source=self.name, retrieved_at=at, scale="yangzhou-a-e", grade="B"
        )


class Claims:
    """A plugin claiming the credit source for the given cities."""

    def __init__(self, *cities: str, name: str = "claims") -> None:
        self.cities = cities
        self.source = Source(name)

    @hookimpl
    def creditcommit_credit_source(self, city: str, settings: PluginSettings) -> Source | None:
        return self.source if city in self.cities else None


class Channels:
    def __init__(self, city: str, *names: str) -> None:
        self.city = city
        self.channels = [Channel(name) for name in names]

    @hookimpl
    def creditcommit_publishing_channels(
        self, city: str, settings: PluginSettings
    ) -> list[Channel] | None:
        return self.channels if city == self.city else None


class Channel:
    def __init__(self, name: str) -> None:
        self.name = name

    def publish(self, message: OutboxMessage) -> None:
        pass


def event(type_: str = "CaseSubmitted") -> StoredEvent:
    return StoredEvent(
        stream="case-1",
        version=1,
        position=1,
        type=type_,
        payload={},
        recorded_at=dt.datetime(2026, 5, 6, 9, 30, tzinfo=CST),
        previous_digest="0" * 64,
        digest="1" * 64,
    )


# --------------------------------------------------------------------------- discovery


def test_an_installed_plugin_is_discovered(installer: Installer, config: Config) -> None:
    installer.install_testplugin()
    pm = make_plugin_manager(environ={})
    assert pm.has_plugin("testplugin")
    # Other distributions (the adapters under adapters/) may be installed beside it.
    dists = {dist.project_name: dist for _, dist in pm.list_plugin_distinfo()}
    assert dists["cc-testplugin"].version == "0.1"
    found = Integrations(pm, config)
    assert found.plugins[0] == "builtin"
    assert "testplugin" in found.plugins
    assert found.credit_source(HANGZHOU).name == "hangzhou-credit"
    assert found.licence_store(HANGZHOU).name == "hangzhou-licences"
    assert found.catalog(HANGZHOU) is Catalog.sample()
    # The configured city is still served by the built-in defaults.
    assert isinstance(found.credit_source(CITY), FileCreditSource)


def test_the_disable_switch_stops_autoloading(installer: Installer) -> None:
    installer.install_testplugin()
    assert not make_plugin_manager(environ={ENV_DISABLE_AUTOLOAD: "1"}).has_plugin("testplugin")
    assert not make_plugin_manager(environ={ENV_DISABLE_AUTOLOAD: "yes"}).has_plugin("testplugin")
    assert make_plugin_manager(environ={ENV_DISABLE_AUTOLOAD: "0"}).has_plugin("testplugin")


def test_the_disable_switch_reads_the_process_environment(
    installer: Installer, monkeypatch: pytest.MonkeyPatch
) -> None:
    installer.install_testplugin()
    monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")
    assert not make_plugin_manager().has_plugin("testplugin")
    monkeypatch.delenv(ENV_DISABLE_AUTOLOAD)
    assert make_plugin_manager().has_plugin("testplugin")


def test_the_plugins_switch_loads_only_the_named_plugins(installer: Installer) -> None:
    installer.install_testplugin()
    installer.install("cc-other", "other", "cc_other", "")
    only = make_plugin_manager(environ={ENV_PLUGINS: " testplugin ,"})
    assert only.has_plugin("testplugin")
    assert not only.has_plugin("other")
    both = make_plugin_manager(environ={})
    assert both.has_plugin("testplugin")
    assert both.has_plugin("other")


def test_the_plugins_switch_works_with_autoload_disabled(installer: Installer) -> None:
    installer.install_testplugin()
    environ = {ENV_DISABLE_AUTOLOAD: "1", ENV_PLUGINS: "testplugin"}
    assert make_plugin_manager(environ=environ).has_plugin("testplugin")


def test_the_plugins_switch_names_a_missing_plugin(installer: Installer) -> None:
    installer.install_testplugin()
    with pytest.raises(
        PluginError,
        match=r"CREDITCOMMIT_PLUGINS names the plugin 'nonesuch', which is not installed "
        r"\(installed: (\w+, )*testplugin(, \w+)*\)",
    ):
        # Not 'yangzhou': adapters/creditcommit-yangzhou installs a plugin of that name.
        make_plugin_manager(environ={ENV_PLUGINS: "nonesuch"})


def test_an_explicit_autoload_overrides_the_environment(installer: Installer) -> None:
    installer.install_testplugin()
    assert make_plugin_manager(autoload=True, environ={ENV_DISABLE_AUTOLOAD: "1"}).has_plugin(
        "testplugin"
    )
    assert not make_plugin_manager(autoload=False, environ={ENV_PLUGINS: "testplugin"}).has_plugin(
        "testplugin"
    )


# --------------------------------------------------------------------------- start-up checks

MISSPELLED = textwrap.dedent(
    """
    from creditcommit.hookspecs import hookimpl

    @hookimpl
    def creditcommit_credit_sorce(city, settings):
        return None
    """
)


def test_a_misspelled_hook_is_rejected_at_start_up(installer: Installer) -> None:
    installer.install("cc-typo", "typo", "cc_typo", MISSPELLED)
    with pytest.raises(
        PluginError,
        match=r"unknown hook: creditcommit_credit_sorce in the plugin 'typo' "
        r"\(did you mean creditcommit_credit_source\?\)",
    ):
        make_plugin_manager(environ={})


def test_a_misspelled_hook_without_the_marker_is_rejected_too() -> None:
    class Forgetful:
        def creditcommit_licence_stor(self, city: str, settings: PluginSettings) -> None:
            return None

    with pytest.raises(
        PluginError, match="unknown hook: creditcommit_licence_stor in the plugin 'Forgetful'"
    ):
        make_plugin_manager(autoload=False, plugins=[Forgetful()])


def test_an_unmarked_hook_implementation_is_used(config: Config) -> None:
    class Unmarked:
        def creditcommit_credit_source(self, city: str, settings: PluginSettings) -> Source:
            return Source("unmarked")

    assert integrations(config, Unmarked()).credit_source(NANJING).name == "unmarked"


def test_a_hook_with_an_unknown_argument_is_rejected() -> None:
    class Wrong:
        @hookimpl
        def creditcommit_credit_source(self, city: str, setings: object) -> None:
            return None

    with pytest.raises(PluginError, match=r"the plugin 'Wrong' was rejected: .*setings"):
        make_plugin_manager(autoload=False, plugins=[Wrong()])


def test_a_plugin_that_cannot_be_imported_is_named(installer: Installer) -> None:
    installer.install("cc-broken", "broken", "cc_broken", "import no_such_module_here\n")
    with pytest.raises(
        PluginError,
        match=r"the plugin 'broken' \(cc_broken in cc-broken 0.1\) could not be loaded: "
        r"ModuleNotFoundError: No module named 'no_such_module_here'",
    ):
        make_plugin_manager(environ={})


def test_an_entry_point_may_not_be_named_builtin(installer: Installer) -> None:
    installer.install("cc-impostor", "builtin", "cc_impostor", "")
    with pytest.raises(PluginError, match=r"'builtin' of cc-impostor 0\.1 uses a reserved name"):
        make_plugin_manager(environ={})


def test_two_plugins_may_not_share_a_name() -> None:
    with pytest.raises(PluginError, match="two plugins are named 'Claims'"):
        make_plugin_manager(autoload=False, plugins=[Claims(), Claims()])


def test_wrappers_are_rejected() -> None:
    class Wrapping:
        @hookimpl(wrapper=True)
        def creditcommit_credit_source(self, city: str, settings: PluginSettings) -> Any:
            return (yield)

    with pytest.raises(
        PluginError,
        match="the plugin 'Wrapping' implements creditcommit_credit_source as a wrapper",
    ):
        make_plugin_manager(autoload=False, plugins=[Wrapping()])


def test_the_builtin_plugin_is_a_fallback() -> None:
    pm = make_plugin_manager(autoload=False)
    assert pm.get_plugin(BUILTIN) is not None
    assert is_default(pm.get_plugin(BUILTIN))
    assert not is_default(Claims())


# --------------------------------------------------------------------------- claim rules


def test_no_provider_is_an_error_naming_the_city_and_the_port(config: Config) -> None:
    with pytest.raises(
        PluginError,
        match=r"no plugin provides the credit source of city 320100 \(plugins asked: "
        r"'Claims', 'builtin'\); install the city's plugin",
    ):
        integrations(config, Claims(HANGZHOU)).credit_source(NANJING)


def test_two_providers_are_an_error_naming_both(config: Config) -> None:
    found = integrations(config, first=Claims(NANJING), second=Claims(NANJING))
    with pytest.raises(
        PluginError,
        match=r"2 providers claim the credit source of city 320100: the plugin 'first' and "
        r"the plugin 'second'; keep one",
    ):
        found.credit_source(NANJING)


def test_a_plugin_claiming_the_configured_city_replaces_the_builtin(config: Config) -> None:
    plugin = Claims(CITY)
    assert integrations(config, plugin).credit_source(CITY) is plugin.source
    # ... for the ports it claims; the others still come from the built-in defaults.
    assert isinstance(integrations(config, plugin).licence_store(CITY), FileLicenceStore)


def test_the_builtin_answers_when_other_plugins_decline(config: Config) -> None:
    found = integrations(config, Claims(HANGZHOU))
    source = found.credit_source(CITY)
    assert isinstance(source, FileCreditSource)
    assert source.path == config.root / "credit.db"
    assert found.credit_source(CITY) is source  # made once


@given(claims=st.lists(st.booleans(), max_size=4), city=st.sampled_from([CITY, NANJING]))
def test_exactly_one_provider_answers(claims: list[bool], city: str, shared_config: Config) -> None:
    plugins = {f"p{i}": Claims(city if claim else HANGZHOU) for i, claim in enumerate(claims)}
    found = Integrations.from_config(shared_config, autoload=False, plugins=plugins)
    claimants = [name for name, claim in zip(plugins, claims, strict=True) if claim]
    if len(claimants) > 1 or (not claimants and city != CITY):
        with pytest.raises(PluginError):
            found.credit_source(city)
    elif claimants:
        assert found.credit_source(city) is plugins[claimants[0]].source
    else:
        assert isinstance(found.credit_source(city), FileCreditSource)


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return Config.from_dict({"city": CITY}, root=tmp_path_factory.mktemp("shared"))


def test_a_failing_hook_is_named(config: Config) -> None:
    class Failing:
        @hookimpl
        def creditcommit_credit_registry(self, city: str, settings: PluginSettings) -> None:
            raise RuntimeError("credit platform certificate expired")

    with pytest.raises(
        PluginError,
        match=r"the plugin 'Failing' failed in creditcommit_credit_registry for city 320100: "
        r"RuntimeError: credit platform certificate expired",
    ) as info:
        integrations(config, Failing()).credit_registry(NANJING)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_an_answer_of_the_wrong_type_is_named(config: Config) -> None:
    class Confused:
        @hookimpl
        def creditcommit_licence_store(self, city: str, settings: PluginSettings) -> object:
            return "licences.db"

    with pytest.raises(
        PluginError,
        match="the plugin 'Confused' returned str from creditcommit_licence_store, which is "
        "not a LicenceStore",
    ):
        integrations(config, Confused()).licence_store(NANJING)


# --------------------------------------------------------------------------- catalogue, policy


class CityRules:
    @hookimpl
    def creditcommit_catalog(self, city: str, settings: PluginSettings) -> Catalog | None:
        return Catalog.sample() if city == CITY else None

    @hookimpl
    def creditcommit_policy(self, city: str, settings: PluginSettings) -> Policy | None:
        return Policy.sample() if city == CITY else None


def test_the_catalogue_and_policy_come_from_the_configuration(tmp_path: Path) -> None:
    config = Config.from_dict(
        {"city": CITY, "catalog": "sample", "policy": "national"}, root=tmp_path
    )
    found = integrations(config)
    assert found.catalog(CITY) is Catalog.sample()
    assert found.policy(CITY) is Policy.national()


def test_the_catalogue_and_policy_come_from_a_plugin(config: Config) -> None:
    found = integrations(config, CityRules())
    assert found.catalog(CITY) is Catalog.sample()
    assert found.policy(CITY) is Policy.sample()


def test_a_plugin_and_the_configuration_may_not_both_give_the_catalogue(tmp_path: Path) -> None:
    config = Config.from_dict({"city": CITY, "catalog": "sample"}, root=tmp_path)
    with pytest.raises(
        PluginError,
        match=r"2 providers claim the catalogue of city 321000: the plugin 'CityRules' and "
        r"catalog = 'sample' in <dict>",
    ):
        integrations(config, CityRules()).catalog(CITY)


def test_no_catalogue_is_an_error(config: Config) -> None:
    with pytest.raises(PluginError, match="no plugin provides the catalogue of city 321000"):
        integrations(config).catalog(CITY)


# --------------------------------------------------------------------------- collected answers


def test_channels_are_collected_from_every_plugin(config: Config) -> None:
    found = integrations(config, a=Channels(CITY, "website"), b=Channels(CITY, "feed", "wechat"))
    assert [c.name for c in found.publishing_channels(CITY)] == ["website", "feed", "wechat"]


def test_the_builtin_channel_is_used_when_no_plugin_gives_channels(config: Config) -> None:
    [channel] = integrations(config, Channels(HANGZHOU, "x")).publishing_channels(CITY)
    assert isinstance(channel, JsonLinesChannel)
    assert channel.path == config.root / "publications.jsonl"


def test_a_city_plugin_with_no_channels_replaces_the_builtin_channel(config: Config) -> None:
    assert integrations(config, Channels(CITY)).publishing_channels(CITY) == ()


def test_two_channels_with_one_name_are_an_error(config: Config) -> None:
    found = integrations(config, a=Channels(CITY, "website"), b=Channels(CITY, "website"))
    with pytest.raises(
        PluginError,
        match="two publishing channels of city 321000 are named 'website' "
        r"\(from the plugins 'a' and 'b'\)",
    ):
        found.publishing_channels(CITY)


def test_channels_must_be_a_list(config: Config) -> None:
    class One:
        @hookimpl
        def creditcommit_publishing_channels(self, city: str, settings: PluginSettings) -> Any:
            return Channel("website")

    with pytest.raises(
        PluginError,
        match="'One' returned Channel from creditcommit_publishing_channels, not a list",
    ):
        integrations(config, One()).publishing_channels(CITY)


def test_the_calendar_takes_plugin_overrides_then_the_configuration(
    installer: Installer, tmp_path: Path
) -> None:
    installer.install_testplugin()
    override = tmp_path / "calendar-2027.toml"
    shutil.copy(
        Path(inspect.getfile(Catalog)).parent / "data" / "calendar-2027.example.toml", override
    )
    config = Config.from_dict(
        {"city": CITY, "calendar_overrides": ["calendar-2027.toml"]}, root=tmp_path
    )
    found = Integrations.from_config(config, environ={})
    plain = Integrations.from_config(config, environ={ENV_DISABLE_AUTOLOAD: "1"})
    # The plugin's 2027 has New Year on 1-3 January only; the configured file (applied
    # last) also makes 2027-02-05 a holiday.
    hangzhou = found.calendar(HANGZHOU)
    assert hangzhou.years[-1] == 2027
    assert not hangzhou.is_working_day(dt.date(2027, 2, 5))
    assert not plain.calendar(CITY).is_working_day(dt.date(2027, 2, 5))
    without = Integrations.from_config(
        Config.from_dict({"city": CITY}, root=tmp_path), environ={ENV_DISABLE_AUTOLOAD: "1"}
    )
    with pytest.raises(CalendarCoverageError):
        without.calendar(CITY).is_working_day(dt.date(2027, 2, 5))


def test_a_bad_calendar_override_names_the_plugin(config: Config) -> None:
    class BadHolidays:
        @hookimpl
        def creditcommit_holiday_overrides(self, city: str, settings: PluginSettings) -> Any:
            return [{"years": [{"year": "2027"}]}]

    with pytest.raises(
        PluginError,
        match=r"the plugin 'BadHolidays' gave a calendar override that cannot be used: "
        r"DataFileError: <override 0 of plugin BadHolidays>",
    ):
        integrations(config, BadHolidays()).calendar(CITY)


# --------------------------------------------------------------------------- event store


class MemoryStores:
    opened: list[str]

    def __init__(self) -> None:
        self.opened = []

    @hookimpl
    def creditcommit_event_store(self, url: str) -> Any:
        if not url.startswith("memory:"):
            return None
        self.opened.append(url)
        from creditcommit.builtin.sqlite_store import SQLiteEventStore

        return SQLiteEventStore(":memory:")


def test_the_event_store_is_opened_by_the_plugin_for_its_scheme(config: Config) -> None:
    stores = MemoryStores()
    found = integrations(config, stores)
    found.event_store("memory:cases").close()
    assert stores.opened == ["memory:cases"]
    default = found.event_store()
    try:
        assert (config.root / "creditcommit.db").exists()
    finally:
        default.close()
    assert stores.opened == ["memory:cases"]


def test_an_unknown_store_scheme_is_an_error(config: Config) -> None:
    with pytest.raises(
        PluginError,
        match="no plugin opens event-store URLs of the scheme 'postgresql' "
        r"\(plugins: builtin\); install the adapter for it",
    ):
        integrations(config).event_store("postgresql://cc:secret@db/cases")


def test_the_store_error_does_not_show_the_url(config: Config) -> None:
    with pytest.raises(PluginError) as info:
        integrations(config).event_store("postgresql://cc:secret@db/cases")
    assert "secret" not in str(info.value)


# --------------------------------------------------------------------------- notifications


def test_a_failing_listener_does_not_break_notify(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[tuple[str, str, str]] = []

    class Broken:
        @hookimpl
        def creditcommit_case_event(self, city: str, case_id: str, event: StoredEvent) -> None:
            raise ValueError("dashboard is down")

    class Listening:
        @hookimpl
        def creditcommit_case_event(self, city: str, case_id: str, event: StoredEvent) -> None:
            heard.append((city, case_id, event.type))

    found = integrations(config, a=Broken(), b=Listening())
    with caplog.at_level(logging.ERROR, logger="creditcommit.plugins"):
        failures = found.notify(CITY, "case-1", event())
    assert heard == [(CITY, "case-1", "CaseSubmitted")]
    [failure] = failures
    assert failure == ListenerFailure(
        plugin="a",
        city=CITY,
        case_id="case-1",
        event_type="CaseSubmitted",
        version=1,
        error="ValueError: dashboard is down",
        exception=failure.exception,
    )
    assert isinstance(failure.exception, ValueError)
    assert "listener 'a' failed on event CaseSubmitted (version 1) of case case-1" in caplog.text


def test_notify_reaches_an_installed_listener(installer: Installer, config: Config) -> None:
    installer.install_testplugin()
    found = Integrations.from_config(config, environ={})
    assert found.notify(HANGZHOU, "case-7", event("LicenceIssued")) == ()
    module = sys.modules["cc_testplugin"]
    assert module.EVENTS == [(HANGZHOU, "case-7", "LicenceIssued")]


# --------------------------------------------------------------------------- one test only


@pytest.fixture(scope="module")
def shared_pm() -> pluggy.PluginManager:
    return make_plugin_manager(autoload=False)


@pytest.fixture
def nanjing(shared_pm: pluggy.PluginManager) -> Iterator[Claims]:
    """A plugin registered for one test and removed after it."""
    plugin = Claims(NANJING, name="nanjing-credit")
    shared_pm.register(plugin, name="nanjing")
    yield plugin
    shared_pm.unregister(name="nanjing")


def test_a_plugin_registered_for_one_test(
    nanjing: Claims, shared_pm: pluggy.PluginManager, config: Config
) -> None:
    assert Integrations(shared_pm, config).credit_source(NANJING).name == "nanjing-credit"


def test_the_plugin_is_gone_afterwards(shared_pm: pluggy.PluginManager, config: Config) -> None:
    with pytest.raises(PluginError, match="no plugin provides the credit source of city 320100"):
        Integrations(shared_pm, config).credit_source(NANJING)


# --------------------------------------------------------------------------- documentation

HEADING = re.compile(r"^#{2,4} `(creditcommit_\w+)\(([^)]*)\)`", re.MULTILINE)


def documented() -> dict[str, list[str]]:
    text = DOCS.read_text(encoding="utf-8")
    return {
        name: [a.strip() for a in args.split(",") if a.strip()]
        for name, args in HEADING.findall(text)
    }


def hooks() -> list[Callable[..., Any]]:
    return [
        getattr(hookspecs, name) for name in hookspecs.__all__ if name.startswith("creditcommit_")
    ]


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h.__name__)
def test_every_hook_is_documented_with_its_signature(hook: Callable[..., Any]) -> None:
    docs = documented()
    assert hook.__name__ in docs, f"docs/plugins.md has no section for {hook.__name__}"
    assert docs[hook.__name__] == list(inspect.signature(hook).parameters)


def test_every_documented_hook_exists() -> None:
    assert set(documented()) == {hook.__name__ for hook in hooks()}


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h.__name__)
def test_every_hookspec_has_a_contract(hook: Callable[..., Any]) -> None:
    doc = inspect.getdoc(hook) or ""
    for parameter in inspect.signature(hook).parameters:
        assert f":param {parameter}:" in doc
    assert hasattr(hook, "creditcommit_spec")
