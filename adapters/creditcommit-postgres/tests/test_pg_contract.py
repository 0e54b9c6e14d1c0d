"""The PostgreSQL store passes the same contracts as the built-in SQLite store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditcommit.ports import DocumentStore, EventStore, ProjectionStore, TransactionalStore
from creditcommit.testing.store_contract import (
    DocumentStoreContract,
    EventStoreContract,
    ProjectionStoreContract,
    TransactionalStoreContract,
)
from creditcommit_postgres import PostgresEventStore
from pg_support import dsn, scratch_schema, shell, with_query


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        with (
            scratch_schema() as schema,
            PostgresEventStore.from_url(with_query(dsn(), schema=schema)) as store,
        ):
            yield store

    def reopen(self, store: EventStore) -> EventStore:
        assert isinstance(store, PostgresEventStore)
        return PostgresEventStore.from_url(store.url)

    def tamper(self, store: EventStore, position: int) -> None:
        assert isinstance(store, PostgresEventStore)
        shell(
            store.schema,
            ("UPDATE events SET payload = '{\"i\":99}' WHERE position = %s", (position,)),
        )


class TestPostgresProjectionStore(ProjectionStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[ProjectionStore]:
        with (
            scratch_schema() as schema,
            PostgresEventStore.from_url(with_query(dsn(), schema=schema)) as store,
        ):
            yield store


class TestPostgresDocumentStore(DocumentStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[DocumentStore]:
        with (
            scratch_schema() as schema,
            PostgresEventStore.from_url(with_query(dsn(), schema=schema)) as store,
        ):
            yield store

    def tamper_document(self, store: DocumentStore, digest: str) -> None:
        assert isinstance(store, PostgresEventStore)
        shell(
            store.schema,
            ("UPDATE documents SET body = body || ' (amended)' WHERE digest = %s", (digest,)),
        )


class TestPostgresTransactionalStore(TransactionalStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[TransactionalStore]:
        with (
            scratch_schema() as schema,
            PostgresEventStore.from_url(with_query(dsn(), schema=schema)) as store,
        ):
            yield store

    def reopen(self, store: TransactionalStore) -> EventStore:
        assert isinstance(store, PostgresEventStore)
        return PostgresEventStore.from_url(store.url)
