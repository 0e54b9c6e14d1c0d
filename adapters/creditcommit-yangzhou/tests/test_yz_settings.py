"""``[plugins.yangzhou]`` is checked like every other table: unknown keys, places the plugin
does not serve, URLs with credentials and secrets in the file are errors naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from creditcommit.config import Config
from creditcommit.errors import DataFileError
from creditcommit_yangzhou import NAMES, PLACES, YangzhouSettings

URL = "https://credit.yangzhou.example/api"


def check(table: dict[str, Any], environ: dict[str, str] | None = None) -> YangzhouSettings:
    config = Config.from_dict(
        {"city": "321000", "plugins": {"yangzhou": table}}, root=".", source="creditcommit.toml"
    )
    found = YangzhouSettings.from_plugin_settings(config.plugins, environ=environ or {})
    assert found is not None
    return found


def paths(table: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(DataFileError) as caught:
        check(table, environ)
    assert caught.value.source == "creditcommit.toml"
    return [problem.path for problem in caught.value.problems]


def test_no_table_means_the_plugin_is_not_used(tmp_path: Path) -> None:
    config = Config.from_dict({"city": "321000"}, root=tmp_path)
    assert YangzhouSettings.from_plugin_settings(config.plugins) is None


def test_an_empty_table_serves_every_place_with_data_only() -> None:
    found = check({})
    assert found.places == frozenset(PLACES)
    assert found.http is None


def test_endpoints_become_the_http_adapters_settings() -> None:
    found = check({"credit_url": URL + "/", "places": ["321084"], "timeout": 2.5})
    assert found.places == frozenset({"321084"})
    assert found.http is not None
    assert found.http.credit_url == URL
    assert found.http.licence_url is None
    assert found.http.cities == frozenset({"321084"})
    assert found.http.timeout == 2.5
    assert found.http.credit_name == NAMES["credit_name"]


def test_unknown_keys_are_errors_naming_the_key() -> None:
    assert paths({"credit_url": URL, "cities": ["321000"], "endpoint": URL}) == [
        "plugins.yangzhou.cities",
        "plugins.yangzhou.endpoint",
    ]


@pytest.mark.parametrize(
    "places", [["320100"], [], "321000", [321000], ["321000", "330100"]], ids=repr
)
def test_only_yangzhous_places_are_served(places: object) -> None:
    assert set(paths({"places": places})) == {"plugins.yangzhou.places"}


def test_a_url_with_credentials_is_refused_and_not_echoed() -> None:
    with pytest.raises(DataFileError) as caught:
        check({"credit_url": "https://yz:hunter2@credit.yangzhou.example/api"})
    assert [p.path for p in caught.value.problems] == ["plugins.yangzhou.credit_url"]
    assert "hunter2" not in caught.value.report()


def test_a_secret_written_in_the_file_is_refused() -> None:
    # The configuration refuses it before the plugin sees the table; the plugin's own
    # check refuses it as an unknown key too.
    table = {"credit_url": URL, "auth": "gateway", "app_key": "cc", "app_secret": "x"}
    assert paths(table) == ["plugins.yangzhou.app_secret"]
    with pytest.raises(DataFileError) as caught:
        YangzhouSettings.from_table(table, source="creditcommit.toml")
    assert [p.path for p in caught.value.problems] == [
        "plugins.yangzhou.app_secret",
        "plugins.yangzhou.app_secret_env",
    ]


def test_secrets_come_from_the_environment() -> None:
    table = {"credit_url": URL, "auth": "gateway", "app_key": "cc", "app_secret_env": "YZ_SECRET"}
    assert paths(table) == ["plugins.yangzhou.app_secret_env"]  # not set
    found = check(table, {"YZ_SECRET": "s3cret"})
    assert found.http is not None
    assert found.http.app_secret == "s3cret"
    assert "s3cret" not in repr(found)


def test_wrong_types_name_the_key() -> None:
    assert paths({"credit_url": URL, "timeout": "3", "retries": -1, "auth": "basic"}) == [
        "plugins.yangzhou.timeout",
        "plugins.yangzhou.retries",
        "plugins.yangzhou.auth",
    ]


def test_tuning_without_an_endpoint_is_an_error() -> None:
    assert paths({"timeout": 3.0}) == ["plugins.yangzhou.credit_url"]
