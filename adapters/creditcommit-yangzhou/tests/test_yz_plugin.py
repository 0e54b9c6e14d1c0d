"""The hooks: catalogue and policy for 321000, 321012 and 321084; HTTP ports per URL; the
plugin answers nothing without its table, and follows the core's one-provider rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from creditcommit.catalog import Catalog
from creditcommit.config import Config
from creditcommit.errors import PluginError
from creditcommit.plugins import Integrations
from creditcommit_http import (
    HttpCreditRegistry,
    HttpCreditSource,
    HttpLicenceStore,
    HttpPublishingChannel,
)
from creditcommit_yangzhou import NAMES, PLACES, catalog_for, plugin, policy
from yz_support import DAY, integrations

URL = "http://127.0.0.1:9/api"
ENDPOINTS = {
    "credit_url": URL,
    "registry_url": URL,
    "licence_url": URL,
    "publication_url": URL,
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_every_place_gets_its_catalogue_and_the_yangzhou_policy(place: str, tmp_path: Path) -> None:
    found = integrations(place, {}, tmp_path)
    assert found.catalog(place) is catalog_for(place)
    assert found.policy(place) is policy()


def test_the_districts_catalogues_are_their_own_items(tmp_path: Path) -> None:
    city = catalog_for("321000")
    jiangdu, gaoyou = catalog_for("321012"), catalog_for("321084")
    assert len(jiangdu.items(DAY)) == 40
    assert len(gaoyou.items(DAY)) == 18
    assert set(city.codes()) == set(jiangdu.codes()) | set(gaoyou.codes())
    assert all(code.startswith("321012-") for code in jiangdu.codes())
    assert all(code.startswith("321084-") for code in gaoyou.codes())
    assert jiangdu.divisions(DAY) == ("321012",)


def test_a_district_decides_under_its_own_rules() -> None:
    gaoyou = catalog_for("321084").item("321084-GGCSWSXK", DAY)
    jiangdu = catalog_for("321012").item("321012-TZXMBA", DAY)
    assert policy().view(item=gaoyou).jurisdiction == "高邮市（321084）"
    assert policy().view(item=jiangdu).jurisdiction == "江都区（321012）"


def test_other_cities_are_not_served(tmp_path: Path) -> None:
    found = integrations("321000", {}, tmp_path)
    with pytest.raises(PluginError, match="catalogue of city 320100"):
        found.catalog("320100")


def test_places_limit_what_is_served(tmp_path: Path) -> None:
    found = integrations("321084", {"places": ["321084"]}, tmp_path)
    assert found.catalog("321084") is catalog_for("321084")
    with pytest.raises(PluginError, match="catalogue of city 321012"):
        found.catalog("321012")


def test_without_its_table_the_plugin_answers_nothing(tmp_path: Path) -> None:
    settings = Config.from_dict({"city": "321000"}, root=tmp_path).plugins
    for hook in (
        plugin.creditcommit_catalog,
        plugin.creditcommit_policy,
        plugin.creditcommit_credit_source,
        plugin.creditcommit_credit_registry,
        plugin.creditcommit_licence_store,
        plugin.creditcommit_publishing_channels,
    ):
        assert hook("321000", settings) is None


def test_a_catalogue_in_the_configuration_too_is_two_providers(tmp_path: Path) -> None:
    config = Config.from_dict(
        {"city": "321000", "catalog": "sample", "plugins": {"yangzhou": {}}}, root=tmp_path
    )
    found = Integrations.from_config(config, autoload=False, plugins={"yangzhou": plugin})
    with pytest.raises(PluginError, match="2 providers claim the catalogue of city 321000"):
        found.catalog("321000")


@pytest.mark.parametrize("place", sorted(PLACES))
def test_the_http_ports_are_bound_to_the_endpoints(place: str, tmp_path: Path) -> None:
    found = integrations(place, ENDPOINTS, tmp_path)
    source = found.credit_source(place)
    assert isinstance(source, HttpCreditSource)
    assert source.name == NAMES["credit_name"]
    registry = found.credit_registry(place)
    assert isinstance(registry, HttpCreditRegistry)
    assert registry.name == NAMES["registry_name"]
    store = found.licence_store(place)
    assert isinstance(store, HttpLicenceStore)
    assert store.name == NAMES["licence_name"]
    (channel,) = found.publishing_channels(place)
    assert isinstance(channel, HttpPublishingChannel)
    assert channel.name == NAMES["channel_name"]


def test_only_the_ports_with_a_url_are_provided(tmp_path: Path) -> None:
    settings = Config.from_dict(
        {"city": "321084", "plugins": {"yangzhou": {"credit_url": URL}}}, root=tmp_path
    ).plugins
    assert isinstance(plugin.creditcommit_credit_source("321084", settings), HttpCreditSource)
    assert plugin.creditcommit_licence_store("321084", settings) is None
    assert plugin.creditcommit_credit_registry("321084", settings) is None
    assert plugin.creditcommit_publishing_channels("321084", settings) is None


def test_a_bad_table_fails_at_start_up_naming_the_key(tmp_path: Path) -> None:
    found = integrations("321000", {"credit_url": URL, "timeout": 0}, tmp_path)
    with pytest.raises(PluginError, match=r"plugins\.yangzhou\.timeout"):
        found.credit_source("321000")


def test_the_catalogue_is_dated() -> None:
    # Items are in force from the pilots' start (2022-11-01); none before.
    catalog: Catalog = catalog_for("321000")
    assert catalog.items(dt.date(2022, 10, 31)) == ()
    assert len(catalog.items(dt.date(2023, 6, 1))) == 58
