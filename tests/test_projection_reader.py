"""The SQLite store reads many projections at once (``ProjectionReader``, issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from creditcommit.builtin.sqlite_store import SQLiteEventStore
from creditcommit.testing.store_contract import ProjectionReaderContract


class TestSQLiteProjectionReader(ProjectionReaderContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteEventStore]:
        with SQLiteEventStore(tmp_path / "events.db") as store:
            yield store
