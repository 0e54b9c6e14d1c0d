"""Grouped writes (``transaction()``) and documents on PostgreSQL, beyond the contracts:
a group belongs to the thread that opened it, and documents survive the schema upgrade.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from creditcommit.ports import NewEvent, document_digest
from creditcommit.testing.store_contract import AT, events
from creditcommit_postgres import PostgresEventStore
from creditcommit_postgres import store as store_module
from pg_support import dsn, scratch_schema


@pytest.fixture
def schema() -> Iterator[str]:
    with scratch_schema() as name:
        yield name


def test_a_group_is_the_opening_threads_only(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        started = threading.Event()
        other: list[str] = []

        def append_elsewhere() -> None:
            started.set()
            # Waits for the group's chain head, then commits on its own.
            store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
            other.append("done")

        thread = threading.Thread(target=append_elsewhere)
        with pytest.raises(RuntimeError, match="abandon"), store.transaction():  # noqa: PT012
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
            thread.start()
            started.wait(10)
            assert store.read("case-2") == ()
            raise RuntimeError("abandon the group")
        thread.join(30)
        assert other == ["done"]
        assert store.read("case-1") == ()
        assert [e.position for e in store.read("case-2")] == [1]
        assert store.verify().ok


def test_verify_inside_a_group_sees_the_groups_writes(schema: str) -> None:
    letter = "本人承诺 ... (a signed letter)"
    digest = document_digest(letter)
    with PostgresEventStore(dsn(), schema=schema) as store, store.transaction():
        store.append(
            "case-1",
            [NewEvent("Signed", {"letter": digest})],
            expected_version=0,
            recorded_at=AT,
            documents=[letter],
        )
        report = store.verify()
        assert (report.ok, report.events) == (True, 1)
        assert store.document(digest) == letter


def test_documents_after_an_upgrade_from_schema_1(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        patch.setattr(store_module, "SCHEMA_VERSION", 1)
        with PostgresEventStore(dsn(), schema=schema) as old:
            old.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    letter = "承诺书"
    with PostgresEventStore(dsn(), schema=schema) as store:
        assert store.document(document_digest(letter)) is None
        store.append(
            "case-1",
            [NewEvent("Signed", {"letter": document_digest(letter)})],
            expected_version=1,
            recorded_at=AT,
            documents=[letter],
        )
        assert store.document(document_digest(letter)) == letter
        assert store.verify().ok
