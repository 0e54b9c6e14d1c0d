"""creditcommit.toml: keys, paths relative to the file, secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.config import (
    DEFAULT_STORE,
    SECRET_WORDS,
    BuiltinSettings,
    Config,
    PluginSettings,
)
from creditcommit.errors import DataFileError, Problem


def write(directory: Path, text: str, name: str = "creditcommit.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_file_takes_the_defaults(tmp_path: Path) -> None:
    config = Config.load(write(tmp_path, 'city = "321000"\n'))
    assert config.city == "321000"
    assert config.root == tmp_path.resolve()
    assert config.store == f"sqlite://{tmp_path.resolve()}/creditcommit.db"
    assert config.store_url() == config.store
    assert (config.catalog, config.policy, config.calendar_overrides) == (None, (), ())
    assert dict(config.plugins) == {}
    assert config.plugins.builtin == BuiltinSettings(
        credit=tmp_path.resolve() / "credit.db",
        credit_scale="yangzhou-a-e",
        unavailable_subjects=frozenset(),
        licences=tmp_path.resolve() / "licences.db",
        channel=tmp_path.resolve() / "publications.jsonl",
        channel_name="jsonl",
    )
    assert DEFAULT_STORE == "sqlite:creditcommit.db"


FULL = """
city = "321000"
store = "sqlite:data/cases.db"
catalog = "rules/catalog.toml"
policy = ["rules/policy-city.toml", "rules/policy-district.toml"]
calendar_overrides = ["rules/calendar-2027.toml"]

[plugins.builtin]
credit = "data/credit.db"
credit_scale = "samr-a-d"
unavailable_subjects = ["91321000MA1AAAAAA7"]
licences = "data/licences.db"
channel = "public/decisions.jsonl"
channel_name = "website"

[plugins.yangzhou]
endpoint = "https://credit.example.gov.cn/api"
token_env = "CC_TEST_TOKEN"
retries = 3
token_url = "https://credit.example.gov.cn/token"
"""


@pytest.fixture
def full(tmp_path: Path) -> Path:
    rules = tmp_path / "city" / "rules"
    rules.mkdir(parents=True)
    for name in ("catalog.toml", "policy-city.toml", "policy-district.toml", "calendar-2027.toml"):
        (rules / name).write_text("", encoding="utf-8")
    return write(tmp_path / "city", FULL)


def test_every_key_is_read_and_paths_are_relative_to_the_file(
    full: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the working directory plays no part
    config = Config.load("city/creditcommit.toml")
    city = (tmp_path / "city").resolve()
    assert config.source == "city/creditcommit.toml"
    assert config.store == f"sqlite://{city}/data/cases.db"
    assert config.catalog == str(city / "rules" / "catalog.toml")
    assert config.policy == (
        str(city / "rules" / "policy-city.toml"),
        str(city / "rules" / "policy-district.toml"),
    )
    assert config.calendar_overrides == (city / "rules" / "calendar-2027.toml",)
    builtin = config.plugins.builtin
    assert builtin.credit == city / "data" / "credit.db"
    assert builtin.credit_scale == "samr-a-d"
    assert builtin.unavailable_subjects == frozenset({"91321000MA1AAAAAA7"})
    assert builtin.channel == city / "public" / "decisions.jsonl"
    assert builtin.channel_name == "website"
    assert set(config.plugins) == {"builtin", "yangzhou"}
    assert config.plugins["yangzhou"]["retries"] == 3
    assert config.plugins.path("yangzhou", "cache", "cache.db") == city / "cache.db"
    assert config.plugins.path("yangzhou", "missing") is None


def test_plugin_tables_are_read_only(full: Path) -> None:
    table = Config.load(full).plugins["yangzhou"]
    with pytest.raises(TypeError):
        table["endpoint"] = "http://elsewhere"  # type: ignore[index]
    assert Config.load(full).plugins.table("nobody") == {}


def test_secrets_come_from_the_environment(full: Path) -> None:
    config = Config.load(full)
    assert config.secret("yangzhou", "token", environ={"CC_TEST_TOKEN": "s3cr3t"}) == "s3cr3t"
    assert config.plugins.secret("yangzhou", "token_env", environ={"CC_TEST_TOKEN": "x"}) == "x"


def test_secrets_are_read_from_the_process_environment(
    full: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC_TEST_TOKEN", "from-env")
    assert Config.load(full).secret("yangzhou", "token") == "from-env"


def test_an_unset_secret_names_the_variable(full: Path) -> None:
    with pytest.raises(DataFileError) as info:
        Config.load(full).secret("yangzhou", "token", environ={})
    assert info.value.source == str(full)
    assert info.value.problems == (
        Problem(
            "plugins.yangzhou.token_env",
            "environment variable CC_TEST_TOKEN (the token) is not set",
        ),
    )


def test_a_secret_the_file_does_not_name(full: Path) -> None:
    with pytest.raises(DataFileError) as info:
        Config.load(full).secret("yangzhou", "password", environ={})
    assert info.value.problems == (
        Problem(
            "plugins.yangzhou.password_env",
            "required key is missing: name the environment variable that holds the password "
            '(password_env = "...")',
        ),
    )


def test_the_store_url_may_come_from_the_environment(tmp_path: Path) -> None:
    config = Config.load(write(tmp_path, 'city = "321000"\nstore_env = "CC_STORE"\n'))
    assert config.store is None
    url = "postgresql://cc:pw@db.example/cases"
    assert config.store_url(environ={"CC_STORE": url}) == url
    assert config.store_url(environ={"CC_STORE": "sqlite:x.db"}) == (
        f"sqlite://{tmp_path.resolve()}/x.db"
    )
    with pytest.raises(DataFileError, match="store_env: environment variable CC_STORE is not set"):
        config.store_url(environ={})


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ("sqlite:///srv/cc/cases.db", "sqlite:///srv/cc/cases.db"),
        ("sqlite:/srv/cc/cases.db", "sqlite:/srv/cc/cases.db"),
        ("sqlite::memory:", "sqlite::memory:"),
        ("postgresql://cc@db.example/cases", "postgresql://cc@db.example/cases"),
        ("sqlite:my data/50%.db", "sqlite://{root}/my%20data/50%25.db"),
    ],
)
def test_store_urls(tmp_path: Path, store: str, expected: str) -> None:
    config = Config.load(write(tmp_path, f'city = "321000"\nstore = "{store}"\n'))
    assert config.store == expected.format(root=tmp_path.resolve())


def test_a_relative_sqlite_url_opens_the_file_next_to_the_config(tmp_path: Path) -> None:
    from creditcommit.builtin.sqlite_store import SQLiteEventStore

    (tmp_path / "my data").mkdir()
    config = Config.load(write(tmp_path, 'city = "321000"\nstore = "sqlite:my data/50%.db"\n'))
    assert config.store is not None
    SQLiteEventStore.from_url(config.store).close()
    assert (tmp_path / "my data" / "50%.db").exists()


def test_config_from_a_mapping(tmp_path: Path) -> None:
    config = Config.from_dict({"city": "330100", "catalog": "sample"}, root=tmp_path)
    assert (config.source, config.catalog) == ("<dict>", "sample")
    assert isinstance(config.plugins, PluginSettings)
    assert config.plugins.city == "330100"


# --------------------------------------------------------------------------- bad files

# One malformed file per error: (file text, path of the first problem, its message).
CORPUS = [
    pytest.param("city = ", "", "not valid TOML", id="toml"),
    pytest.param("", "city", "required key is missing", id="no-city"),
    pytest.param("city = 321000", "city", "expected a string, got number 321000", id="city-type"),
    pytest.param(
        'city = "32100"',
        "city",
        "expected the 6-digit administrative division code of a city or county (GB/T 2260), "
        "e.g. \"321000\" for Yangzhou, got '32100'",
        id="city-short",
    ),
    pytest.param(
        'city = "991000"', "city", "expected the 6-digit administrative division", id="province"
    ),
    pytest.param(
        'city = "321000"\ncatlog = "sample"',
        "",
        "unknown key 'catlog' (allowed: city, store, store_env, catalog, policy, "
        "calendar_overrides, plugins, delivery)",
        id="typo",
    ),
    pytest.param(
        'city = "321000"\nstore = "postgresql://cc:hunter2@db/cases"',
        "store",
        "the URL contains a password: put the whole URL in an environment variable and name it "
        'with store_env = "..."',
        id="store-password",
    ),
    pytest.param(
        'city = "321000"\nstore = "cases.db"',
        "store",
        "expected a store URL such as \"sqlite:creditcommit.db\", got 'cases.db'",
        id="store-url",
    ),
    pytest.param(
        'city = "321000"\nstore = "sqlite:a.db"\nstore_env = "CC_STORE"',
        "store_env",
        "set either store or store_env, not both",
        id="store-twice",
    ),
    pytest.param(
        'city = "321000"\nstore_env = "postgresql://db"',
        "store_env",
        "expected the name of an environment variable, got 'postgresql://db'",
        id="store-env-name",
    ),
    pytest.param(
        'city = "321000"\ncatalog = "rules/catalog.toml"',
        "catalog",
        "no such file: {root}/rules/catalog.toml",
        id="catalog-missing",
    ),
    pytest.param(
        'city = "321000"\npolicy = 2',
        "policy",
        'expected "sample", "national", a policy file or an array of policy files, got number 2',
        id="policy-type",
    ),
    pytest.param(
        'city = "321000"\npolicy = ["sample", "x.toml"]',
        "policy[0]",
        "'sample' cannot be combined with files",
        id="policy-mixed",
    ),
    pytest.param(
        'city = "321000"\ncalendar_overrides = "calendar-2027.toml"',
        "calendar_overrides",
        "expected an array, got string 'calendar-2027.toml'",
        id="overrides-type",
    ),
    pytest.param(
        'city = "321000"\ncalendar_overrides = ["creditcommit.toml", "2028.toml"]',
        "calendar_overrides[1]",
        "no such file: {root}/2028.toml",
        id="override-missing",
    ),
    pytest.param(
        'city = "321000"\nplugins = 1', "plugins", "expected a table, got number 1", id="plugins"
    ),
    pytest.param(
        'city = "321000"\n[plugins]\nyangzhou = "on"',
        "plugins.yangzhou",
        "expected a table, got string 'on'",
        id="plugin-table",
    ),
    pytest.param(
        'city = "321000"\n[plugins.yangzhou]\npassword = "hunter2"',
        "plugins.yangzhou.password",
        "looks like a secret: secrets must not be written in the file; put it in an environment "
        'variable and name that with password_env = "..."',
        id="secret",
    ),
    pytest.param(
        'city = "321000"\n[plugins.yangzhou.auth]\nclient-API_KEY = "k"',
        "plugins.yangzhou.auth.client-API_KEY",
        "looks like a secret",
        id="nested-secret",
    ),
    pytest.param(
        'city = "321000"\n[[plugins.yangzhou.servers]]\ntoken = "t"',
        "plugins.yangzhou.servers[0].token",
        "looks like a secret",
        id="secret-in-array",
    ),
    pytest.param(
        'city = "321000"\n[plugins.yangzhou]\ntoken_env = 3',
        "plugins.yangzhou.token_env",
        "expected the name of an environment variable, got number 3",
        id="env-name",
    ),
    pytest.param(
        'city = "321000"\n[plugins.builtin]\ncredit_db = "c.db"',
        "plugins.builtin",
        "unknown key 'credit_db' (allowed: credit, credit_scale, unavailable_subjects, "
        "licences, channel, channel_name, signing_key_file)",
        id="builtin-key",
    ),
    pytest.param(
        'city = "321000"\n[plugins.builtin]\ncredit_scale = "a-e"',
        "plugins.builtin.credit_scale",
        "expected one of 'gbt-22116', 'samr-a-d', 'yangzhou-a-e', got 'a-e'",
        id="builtin-scale",
    ),
    pytest.param(
        'city = "321000"\n[plugins.builtin]\ncredit = 1',
        "plugins.builtin.credit",
        "expected a string, got number 1",
        id="builtin-type",
    ),
    pytest.param(
        'city = "321000"\n[plugins.builtin]\nchannel = " "',
        "plugins.builtin.channel",
        "expected a non-empty string",
        id="builtin-empty",
    ),
]


@pytest.mark.parametrize(("text", "path", "message"), CORPUS)
def test_a_malformed_file_is_reported_with_its_path(
    tmp_path: Path, text: str, path: str, message: str
) -> None:
    config = write(tmp_path, text + "\n")
    with pytest.raises(DataFileError) as info:
        Config.load(config)
    assert info.value.source == str(config)
    problem = info.value.problems[0]
    assert problem.path == path
    assert message.format(root=tmp_path.resolve()) in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = 'city = "1"\ncatalog = "nope.toml"\n[plugins.x]\napi_key = "k"\n'
    with pytest.raises(DataFileError) as info:
        Config.load(write(tmp_path, text))
    assert [p.path for p in info.value.problems] == ["city", "catalog", "plugins.x.api_key"]


def test_a_builtin_table_that_is_not_a_table_is_reported_once(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as info:
        Config.load(write(tmp_path, 'city = "321000"\n[plugins]\nbuiltin = "on"\n'))
    assert info.value.problems == (Problem("plugins.builtin", "expected a table, got string 'on'"),)


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read file: No such file or directory"):
        Config.load(tmp_path / "creditcommit.toml")


# --------------------------------------------------------------------------- the secret rule

names = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@given(prefix=names, separator=st.sampled_from(["_", "-", ""]), word=st.sampled_from(SECRET_WORDS))
def test_a_key_ending_in_a_secret_word_is_refused_but_its_env_key_is_not(
    prefix: str, separator: str, word: str
) -> None:
    key = f"{prefix}{separator}{word}"
    with pytest.raises(DataFileError) as info:
        Config.from_dict({"city": "321000", "plugins": {"p": {key: "x"}}}, root=".")
    assert info.value.problems[0].path == f"plugins.p.{key}"
    config = Config.from_dict({"city": "321000", "plugins": {"p": {f"{key}_env": "V"}}}, root=".")
    assert config.secret("p", key, environ={"V": "value"}) == "value"


@given(
    key=names.filter(lambda k: not any(k.endswith(w.replace("_", "")) for w in SECRET_WORDS)),
    value=names,
)
def test_other_keys_are_kept_as_written(key: str, value: str) -> None:
    config = Config.from_dict({"city": "321000", "plugins": {"p": {key: value}}}, root=".")
    assert dict(config.plugins["p"]) == {key: value}
