"""``[plugins.http]`` is checked like every other table: unknown keys, wrong types,
credentials in URLs and missing secrets are errors naming the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from creditcommit.config import Config
from creditcommit.errors import DataFileError
from creditcommit_http.settings import HttpSettings


def _settings(table: Mapping[str, Any], env: Mapping[str, str] | None = None) -> HttpSettings:
    config = Config.from_dict({"city": "321000", "plugins": {"http": dict(table)}}, root=".")
    found = HttpSettings.from_plugin_settings(config.plugins, environ=env or {})
    assert found is not None
    return found


def _problems(table: Mapping[str, Any], env: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(DataFileError) as raised:
        _settings(table, env)
    return [str(p) for p in raised.value.problems]


def test_defaults_and_the_configured_city() -> None:
    settings = _settings({"credit_url": "https://credit.example/api/"})
    assert settings.cities == frozenset({"321000"})
    assert settings.credit_url == "https://credit.example/api"
    assert settings.licence_url is None
    assert (settings.timeout, settings.deadline, settings.retries) == (3.0, 8.0, 2)


def test_an_unknown_key_is_an_error() -> None:
    assert _problems({"credit_url": "https://x.example", "timeuot": 3}) == [
        "plugins.http.timeuot: unknown key; expected one of app_key, app_secret_env, auth, "
        "backoff, backoff_max, breaker_failures, breaker_reset, channel_name, cities, "
        "credit_name, credit_url, deadline, digest, licence_name, licence_url, max_skew, "
        "publication_url, registry_name, registry_url, retries, timeout, token_env"
    ]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({}, "plugins.http.credit_url: expected at least one of"),
        ({"credit_url": "ftp://x.example"}, "plugins.http.credit_url: expected an http(s) URL"),
        (
            # The configuration refuses a password in any URL before the adapter sees it.
            {"credit_url": "https://user:pw@x.example"},
            "plugins.http.credit_url: the URL contains a password",
        ),
        ({"credit_url": "https://x.example/?k=v"}, "plugins.http.credit_url: a base URL takes"),
        ({"credit_url": "https://x.example", "timeout": 0}, "plugins.http.timeout: expected"),
        ({"credit_url": "https://x.example", "retries": True}, "plugins.http.retries: expected"),
        ({"credit_url": "https://x.example", "cities": ["3210"]}, "plugins.http.cities: expected"),
        ({"credit_url": "https://x.example", "auth": "basic"}, "plugins.http.auth: expected one"),
        (
            {"credit_url": "https://x.example", "auth": "bearer"},
            "plugins.http.token_env: required key is missing",
        ),
        (
            {"credit_url": "https://x.example", "auth": "gateway", "app_secret_env": "S"},
            "plugins.http.app_key: the gateway scheme needs app_key",
        ),
    ],
)
def test_bad_settings_name_the_key(table: dict[str, Any], expected: str) -> None:
    assert any(p.startswith(expected) for p in _problems(table)), _problems(table)


def test_a_credential_is_not_echoed() -> None:
    problems = _problems({"credit_url": "https://user:hunter2@x.example"})
    assert not any("hunter2" in p for p in problems)


def test_secrets_come_from_the_environment() -> None:
    table = {"credit_url": "https://x.example", "auth": "bearer", "token_env": "YZ_TOKEN"}
    assert _settings(table, {"YZ_TOKEN": "t-1"}).token == "t-1"
    assert any("YZ_TOKEN" in p and "not set" in p for p in _problems(table, {}))
    gateway = {
        "credit_url": "https://x.example",
        "auth": "gateway",
        "app_key": "app",
        "app_secret_env": "YZ_SECRET",
    }
    settings = _settings(gateway, {"YZ_SECRET": "s-1"})
    assert (settings.app_key, settings.app_secret) == ("app", "s-1")
    assert "s-1" not in repr(settings)


def test_an_inline_secret_is_refused_by_the_configuration() -> None:
    with pytest.raises(DataFileError, match="looks like a secret"):
        Config.from_dict(
            {"city": "321000", "plugins": {"http": {"credit_url": "https://x", "token": "t"}}},
            root=".",
        )


def test_the_timeout_never_exceeds_the_deadline() -> None:
    settings = _settings({"credit_url": "https://x.example", "timeout": 9, "deadline": 2})
    assert settings.timeout == 2.0


def test_a_table_built_in_code_is_checked_for_credentials_too() -> None:
    with pytest.raises(DataFileError) as raised:
        HttpSettings.from_table({"credit_url": "https://user:hunter2@x.example"}, city="321000")
    (problem,) = raised.value.problems
    assert str(problem).startswith("plugins.http.credit_url: a URL must not carry credentials")
    assert "hunter2" not in str(problem)
