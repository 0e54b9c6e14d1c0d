"""The PostgreSQL store reads many projections at once (``ProjectionReader``, issue 11)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditcommit.ports import ProjectionReader
from creditcommit.testing.store_contract import ProjectionReaderContract
from creditcommit_postgres import PostgresEventStore
from pg_support import dsn, scratch_schema, with_query


class TestPostgresProjectionReader(ProjectionReaderContract):
    @pytest.fixture
    def store(self) -> Iterator[ProjectionReader]:
        with (
            scratch_schema() as schema,
            PostgresEventStore.from_url(with_query(dsn(), schema=schema)) as store,
        ):
            yield store
