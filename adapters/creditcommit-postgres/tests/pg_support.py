"""The PostgreSQL server the adapter's tests run against, and a schema of their own.

``CREDITCOMMIT_TEST_POSTGRES_DSN`` names the server (default
``postgresql://postgres@127.0.0.1:5432/test``). Without a reachable server the tests are
skipped, saying how to enable them — unless ``CREDITCOMMIT_REQUIRE_POSTGRES=1``, then they
fail. Each test gets its own schema with a random name, dropped at the end.

Importing it also loads the Hypothesis profile ``HYPOTHESIS_PROFILE`` (``dev`` by default,
or ``ci``), defined as in the core's tests: every test module here imports it, and this
directory has no ``conftest.py`` (a second module of that name would clash with the core's
when mypy checks both).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import urllib.parse
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql

DSN_ENV = "CREDITCOMMIT_TEST_POSTGRES_DSN"
REQUIRE_ENV = "CREDITCOMMIT_REQUIRE_POSTGRES"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"

settings.register_profile("dev", max_examples=100)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def dsn() -> str:
    return os.environ.get(DSN_ENV) or DEFAULT_DSN


@functools.cache
def _reachable(target: str) -> str | None:
    """``None`` if the server answers, else why not."""
    try:
        with psycopg.connect(target, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


def require_server() -> str:
    """The DSN of a reachable server; skip (or fail, when required) without one."""
    target = dsn()
    problem = _reachable(target)
    if problem is not None:
        message = (
            f"no PostgreSQL server at {target} ({problem}); start one or set {DSN_ENV} to "
            f"a postgresql:// URL of a database the tests may create schemas in"
        )
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1 requires it)")
        pytest.skip(f"{message}; set {REQUIRE_ENV}=1 to fail instead")
    return target


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query string."""
    split = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(split.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(
        split._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
    )


@contextlib.contextmanager
def scratch_schema() -> Iterator[str]:
    """A fresh schema name (not created: the store creates it), dropped afterwards."""
    target = require_server()
    name = f"cc_test_{secrets.token_hex(6)}"
    try:
        yield name
    finally:
        drop_schema(target, name)


def drop_schema(target: str, name: str) -> None:
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def shell(schema: str, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    """Run statements in ``schema`` as someone with psql (no key, no store): one transaction."""
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        for statement in statements:
            query, params = (statement, ()) if isinstance(statement, str) else statement
            conn.execute(query.encode(), params)  # bytes: a query made at run time
