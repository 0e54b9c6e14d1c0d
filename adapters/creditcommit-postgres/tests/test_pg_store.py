"""The store's URL, start-up migrations, the plugin, and StoreUnavailable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from creditcommit import Config
from creditcommit.errors import StoreUnavailable, UnsupportedSchema
from creditcommit.plugins import Integrations
from creditcommit.testing.store_contract import AT, events
from creditcommit_postgres import (
    DEFAULT_POOL_SIZE,
    DEFAULT_SCHEMA,
    DEFAULT_TIMEOUT,
    SCHEMA_VERSION,
    PostgresEventStore,
    StoreURL,
    redact,
)
from creditcommit_postgres import plugin as postgres_plugin
from creditcommit_postgres import store as store_module
from pg_support import (
    DSN_ENV,
    REQUIRE_ENV,
    drop_schema,
    dsn,
    require_server,
    scratch_schema,
    shell,
    with_query,
)


@pytest.fixture
def schema() -> Iterator[str]:
    with scratch_schema() as name:
        yield name


# --- the URL ---------------------------------------------------------------------------------


def test_the_url_gives_schema_pool_and_timeout_and_leaves_the_rest_to_libpq() -> None:
    parsed = StoreURL.parse(
        "postgres://cc:secret@db.example:5433/cases?schema=cc_yz&sslmode=require"
        "&pool_size=8&timeout=2.5"
    )
    assert parsed == StoreURL(
        conninfo="postgresql://cc:secret@db.example:5433/cases?sslmode=require",
        schema="cc_yz",
        pool_size=8,
        timeout=2.5,
    )
    # As libpq reads a query: %XX escapes, and a plus is a plus (not a space).
    assert StoreURL.parse(
        "postgresql://db/x?options=-c%20work_mem%3D64MB&application_name=a+b&schema=s"
    ).conninfo == ("postgresql://db/x?options=-c%20work_mem%3D64MB&application_name=a%2Bb")
    assert StoreURL.parse("postgresql://db/cases") == StoreURL(
        conninfo="postgresql://db/cases",
        schema=DEFAULT_SCHEMA,
        pool_size=DEFAULT_POOL_SIZE,
        timeout=DEFAULT_TIMEOUT,
    )


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///srv/cases.db", "not a PostgreSQL URL"),
        ("postgresql://db/cases?schema=Cases", "not a plain lower-case name"),
        ("postgresql://db/cases?schema=x;drop", "not a plain lower-case name"),
        ("postgresql://db/cases?schema=a&schema=b", "gives schema twice"),
        ("postgresql://db/cases?pool_size=0", "pool_size must be at least 1"),
        ("postgresql://db/cases?timeout=soon", "timeout a number of seconds"),
        ("postgresql://db/cases#top", "fragment"),
        ("postgresql://db/cases?no_such_option=1", "is not valid"),
    ],
)
def test_a_bad_url_is_refused_in_words(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        StoreURL.parse(url)


def test_a_password_never_shows() -> None:
    assert redact("postgresql://cc:s3cret@db:5432/x?schema=a") == (
        "postgresql://cc:***@db:5432/x?schema=a"
    )
    assert redact("postgresql://db/x") == "postgresql://db/x"
    with pytest.raises(ValueError, match="timeout") as caught:
        StoreURL.parse("postgresql://cc:s3cret@db/x?timeout=x")
    assert "s3cret" not in str(caught.value)


def test_url_reopens_the_same_data(schema: str) -> None:
    with PostgresEventStore.from_url(with_query(dsn(), schema=schema)) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        assert repr(store) == f"PostgresEventStore({dsn()!r}, schema={schema!r})"
        with PostgresEventStore.from_url(store.url) as again:
            assert again.read("case-1") == store.read("case-1")


# --- migrations ------------------------------------------------------------------------------


def test_a_new_schema_is_created_at_the_current_version(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        assert store.verify().ok
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert versions == [(n,) for n in range(1, SCHEMA_VERSION + 1)]


def test_servers_starting_at_once_migrate_once(schema: str) -> None:
    def start(_: int) -> int:
        with PostgresEventStore(dsn(), schema=schema) as store:
            return len(store.events())

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(start, range(8))) == [0] * 8
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
        checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    assert rows == [(n,) for n in range(1, SCHEMA_VERSION + 1)]
    assert checkpoints == (1,)


def test_a_schema_from_a_newer_creditcommit_is_refused(schema: str) -> None:
    PostgresEventStore(dsn(), schema=schema).close()
    shell(schema, ("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,)))
    with pytest.raises(UnsupportedSchema) as caught:
        PostgresEventStore(dsn(), schema=schema)
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert f"schema {schema}" in str(caught.value)
    assert "upgrade creditcommit" in str(caught.value)


# --- the plugin ------------------------------------------------------------------------------


def test_the_plugin_opens_postgres_urls_only(schema: str) -> None:
    assert postgres_plugin.creditcommit_event_store("sqlite:cases.db") is None
    for scheme in ("postgresql", "postgres", "PostgreSQL"):
        target = with_query(dsn(), schema=schema).replace("postgresql", scheme, 1)
        opened = postgres_plugin.creditcommit_event_store(target)
        assert isinstance(opened, PostgresEventStore)
        opened.close()


def test_the_entry_point_opens_the_configured_store(schema: str, tmp_path: Path) -> None:
    config = Config.from_dict(
        {"city": "321000", "store": with_query(dsn(), schema=schema)}, root=tmp_path
    )
    integrations = Integrations.from_config(config, autoload=True)
    assert "postgres" in integrations.plugins
    opened = integrations.event_store()
    try:
        assert isinstance(opened, PostgresEventStore)
        assert opened.schema == schema
    finally:
        opened.close()


# --- StoreUnavailable ------------------------------------------------------------------------


def test_no_server_is_store_unavailable_naming_the_store_without_its_password() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        PostgresEventStore.from_url("postgresql://cc:s3cret@127.0.0.1:1/none?timeout=1")
    assert "127.0.0.1:1" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "nothing was written" in str(caught.value)


def test_a_lock_held_too_long_is_store_unavailable(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema, timeout=0.5) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        with psycopg.connect(dsn(), options=f"-c search_path={schema}") as holder:
            holder.execute("SELECT * FROM log_head FOR UPDATE")  # a stuck transaction
            with pytest.raises(StoreUnavailable, match="lock timeout"):
                store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
            assert store.read("case-1") != ()  # readers do not wait
        assert store.streams()[-1].stream == "case-1"  # nothing was written


def test_a_busy_pool_is_store_unavailable(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema, pool_size=1, timeout=0.5) as store:
        taken = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with store._pool.connection():
                taken.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            taken.wait(10)
            with pytest.raises(StoreUnavailable, match="couldn't get a connection"):
                store.read("case-1")
        finally:
            release.set()
            holder.join()
        assert store.read("case-1") == ()


def test_a_lost_connection_is_store_unavailable_then_recovers(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema, pool_size=1, timeout=2) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        blocker = psycopg.connect(dsn(), options=f"-c search_path={schema}")
        try:
            blocker.execute("SELECT * FROM log_head FOR UPDATE")
            outcome: list[BaseException] = []

            def append() -> None:
                try:
                    store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
                except BaseException as exc:
                    outcome.append(exc)

            writer = threading.Thread(target=append)
            writer.start()
            # The writer waits for the chain head; the server drops its connection.
            with psycopg.connect(dsn(), autocommit=True) as admin:
                for _ in range(100):
                    killed = admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'creditcommit' AND wait_event_type = 'Lock'"
                    ).fetchall()
                    if killed:
                        break
                    threading.Event().wait(0.02)
            writer.join()
            assert killed
        finally:
            blocker.close()
        assert len(outcome) == 1
        assert isinstance(outcome[0], StoreUnavailable), outcome
        # What libpq says: the server's own words, or (in pipeline mode, where the append
        # was waiting for a batch of results) that the server closed the connection.
        reason = outcome[0].reason
        assert "terminating connection" in reason or "server closed the connection" in reason
        # The pool replaces the connection: the next call works.
        store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
        assert [s.stream for s in store.streams()] == ["case-1", "case-2"]


# --- the test server -------------------------------------------------------------------------


def test_without_a_server_the_tests_skip_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DSN_ENV, "postgresql://postgres@127.0.0.1:1/test")
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"set {REQUIRE_ENV}=1 to fail instead"):
        require_server()
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV}=1 requires it"):
        require_server()


# --- values PostgreSQL cannot hold -------------------------------------------------------------


def test_text_with_a_nul_character_is_a_value_error_and_writes_nothing(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        with pytest.raises(ValueError, match="NUL") as caught:
            store.append("case\x00", events("A"), expected_version=0, recorded_at=AT)
        assert not isinstance(caught.value, psycopg.Error)
        with pytest.raises(ValueError, match="NUL"):
            store.append(
                "case-1", events("A"), expected_version=0, recorded_at=AT, meta={"a": "b\x00"}
            )
        assert store.streams() == ()
        assert store.events() == ()


def test_a_new_version_is_applied_once_on_start_up(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    # A later release adds version 2; ADD COLUMN fails if it runs twice.
    step = ("ALTER TABLE outbox ADD COLUMN note text",)
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, step))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    def start(_: int) -> int:
        with PostgresEventStore(dsn(), schema=schema) as opened:
            return len(opened.read("case-1"))

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(start, range(6))) == [1] * 6
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        conn.execute("SELECT note FROM outbox")
    assert versions == [(n,) for n in range(1, SCHEMA_VERSION + 2)]


def test_url_of_a_store_opened_from_key_value_conninfo(schema: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(dsn())
    conninfo = psycopg.conninfo.make_conninfo("", **params)
    assert not conninfo.startswith("postgres")
    with PostgresEventStore(conninfo, schema=schema, pool_size=2, timeout=5) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        parsed = StoreURL.parse(store.url)
        assert (parsed.schema, parsed.pool_size, parsed.timeout) == (schema, 2, 5.0)
        with PostgresEventStore.from_url(store.url) as again:
            assert again.read("case-1") == store.read("case-1")


def test_libpq_settings_in_the_url_are_kept(schema: str) -> None:
    target = with_query(
        dsn(),
        schema=schema,
        application_name="yangzhou-approvals",
        options="-c statement_timeout=4321",
        connect_timeout="7",
    )
    with PostgresEventStore.from_url(target) as store, store._pool.connection() as conn:
        settings = conn.execute(
            "SELECT current_setting('application_name'), current_setting('statement_timeout'), "
            "current_setting('search_path'), current_setting('lock_timeout')"
        ).fetchone()
        assert conn.info.get_parameters().get("connect_timeout") == "7"
    assert settings == ("yangzhou-approvals", "4321ms", schema, "30s")


def test_tables_dropped_under_a_running_store_is_store_unavailable(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        drop_schema(dsn(), schema)
        with pytest.raises(StoreUnavailable, match="does not exist"):
            store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
        with pytest.raises(StoreUnavailable, match="does not exist"):
            store.read("case-1")


def test_a_bad_conninfo_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid") as caught:
        PostgresEventStore("host=db password=s3cret no_such_option=1", schema="cc")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ValueError, match="timeout must be positive"):
        PostgresEventStore(dsn(), schema="cc", timeout=0)


@pytest.mark.parametrize(
    ("conninfo", "shown"),
    [
        ("postgresql://cc:s3cret@db/x", "postgresql://cc:***@db/x"),
        (
            "postgresql://cc@db/x?password=s3cret&sslmode=require",
            "postgresql://cc@db/x?password=***&sslmode=require",
        ),
        ("host=db password=s3cret dbname=x", "host=db password=*** dbname=x"),
        ("host=db password = 'se cret' dbname=x", "host=db password = *** dbname=x"),
        ("host=db dbname=x", "host=db dbname=x"),
    ],
)
def test_redact_hides_every_spelling_of_a_password(conninfo: str, shown: str) -> None:
    assert redact(conninfo) == shown
