"""creditcommit-postgres: the creditcommit event store and outbox on PostgreSQL.

Install it next to creditcommit and set ``store = "postgresql://user@host/db?schema=name"``
in ``creditcommit.toml``; the plugin (entry point ``postgres`` on the ``creditcommit``
group) opens :class:`PostgresEventStore` for ``postgresql://`` and ``postgres://`` URLs.
"""

from __future__ import annotations

from creditcommit_postgres.store import (
    DEFAULT_POOL_SIZE,
    DEFAULT_SCHEMA,
    DEFAULT_TIMEOUT,
    LOG_KEY_ENV,
    MIGRATIONS,
    SCHEMA_VERSION,
    SCHEMES,
    PostgresEventStore,
    StoreURL,
    redact,
)

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_SCHEMA",
    "DEFAULT_TIMEOUT",
    "LOG_KEY_ENV",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SCHEMES",
    "PostgresEventStore",
    "StoreURL",
    "redact",
]
