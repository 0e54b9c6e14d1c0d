"""Round trips to the server per call, counted from libpq's protocol trace (not timed).

A round trip is the client sending and then waiting for the server's answer: in the trace,
a run of frontend (``F``) messages followed by backend (``B``) ones. An append is two (the
chain head locked and every read at once, then every write and the commit), whatever it
writes; a connection the server dropped while it sat idle in the pool is replaced before it
is lent, without a round trip on a healthy one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import pq

from creditcommit.errors import ConcurrencyError, DuplicateKey
from creditcommit.ports import NewStream, Projection
from creditcommit.testing.store_contract import AT, events, message
from creditcommit_postgres import PostgresEventStore
from creditcommit_postgres import store as store_module
from pg_support import dsn, scratch_schema, with_query


@pytest.fixture
def schema() -> Iterator[str]:
    with scratch_schema() as name:
        yield name


class Trace:
    """libpq's protocol trace of the one pooled connection of ``store``."""

    def __init__(self, store: PostgresEventStore, path: Path) -> None:
        self.path = path
        self._file = path.open("w", encoding="utf-8")
        with store._pool.connection() as conn:  # pool_size=1: the connection every call uses
            conn.pgconn.trace(self._file.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def round_trips(self, call: Callable[[], Any]) -> tuple[int, list[str]]:
        """How many round trips ``call`` made, and the statements it sent."""
        self._file.flush()
        start = self.path.stat().st_size
        call()
        self._file.flush()
        with self.path.open(encoding="utf-8") as lines:
            lines.seek(start)
            sent = [line.split("\t") for line in lines.read().splitlines()]
        trips, previous = 0, "B"
        statements = []
        for fields in sent:
            if fields[0] == "F" and previous == "B":
                trips += 1
            if fields[0] == "F" and fields[2] in ("Parse", "Query"):
                statements.append(fields[-1])
            previous = fields[0]
        return trips, statements

    def close(self) -> None:
        self._file.close()


@contextlib.contextmanager
def traced(schema: str) -> Iterator[tuple[PostgresEventStore, Trace]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = PostgresEventStore(dsn(), schema=schema, pool_size=1, key="k")
        trace = Trace(store, Path(tmp) / "trace.txt")
        try:
            yield store, trace
        finally:
            store.close()
            trace.close()


needs_pipeline = pytest.mark.skipif(
    not store_module._PIPELINE, reason="this libpq has no pipeline mode (libpq 14 or later)"
)


@needs_pipeline
def test_an_append_is_two_round_trips_whatever_it_writes(schema: str) -> None:
    with traced(schema) as (store, trace):
        first = trace.round_trips(
            lambda: store.append(
                "case-1", events("A"), expected_version=0, recorded_at=AT, meta={"kind": "case"}
            )
        )
        assert first[0] == 2, first[1]
        full = trace.round_trips(
            lambda: store.append(
                "case-1",
                events("B", "C", "D"),
                expected_version=1,
                recorded_at=AT,
                outbox=[message("m-1"), message("m-2"), message("m-1")],
                idempotency_key="key-1",
                meta={"state": "X", "kind": "case"},
                projection=Projection(version=4, body={"v": 4}, due=dt.date(2025, 10, 1)),
                documents=["a letter"],
            )
        )
        assert full[0] == 2, full[1]
        assert '"BEGIN"' in full[1][0], full[1]
        assert '"COMMIT"' in full[1][-1], full[1]
        assert [m.message.key for m in store.outbox()] == ["m-1", "m-2"]
        assert store.projection("case-1") == Projection(
            version=4, body={"v": 4}, due=dt.date(2025, 10, 1)
        )
        assert store.verify().ok


@needs_pipeline
def test_reads_are_one_round_trip_and_a_meta_lookup_two(schema: str) -> None:
    with traced(schema) as (store, trace):
        projection = Projection(version=1, body={"v": 1})
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            meta={"kind": "case", "city": "c"},
            projection=projection,
        )
        assert trace.round_trips(lambda: store.projection("case-1"))[0] == 1
        assert trace.round_trips(lambda: store.read("case-1"))[0] == 1
        found: list[Any] = []
        trips = trace.round_trips(lambda: found.extend(store.streams(kind="case", city="c")))
        assert trips[0] == 2, trips[1]
        assert [info.stream for info in found] == ["case-1"]


@needs_pipeline
def test_create_numbered_is_three_round_trips_and_passes_over_a_taken_number(
    schema: str,
) -> None:
    def build(number: int) -> NewStream:
        return NewStream(f"case-{number}", events("Submitted"), meta={"kind": "case"})

    with traced(schema) as (store, trace):
        trips = trace.round_trips(
            lambda: store.create_numbered("c:day", build, recorded_at=AT, idempotency_key="k1")
        )
        assert trips[0] == 3, trips[1]
        store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
        stored: list[Any] = []
        trips = trace.round_trips(
            lambda: stored.extend(store.create_numbered("c:day", build, recorded_at=AT))
        )
        assert trips[0] == 4, trips[1]  # one more look: case-2 exists, so 3 is taken
        assert stored[0].stream == "case-3"
        with pytest.raises(DuplicateKey):
            store.create_numbered("c:day", build, recorded_at=AT, idempotency_key="k1")
        assert store.create_numbered("c:day", build, recorded_at=AT)[0].stream == "case-4"
        assert store.verify().ok


@needs_pipeline
def test_a_refused_append_rolls_back_and_the_connection_is_reused(schema: str) -> None:
    with traced(schema) as (store, trace):
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        with pytest.raises(ConcurrencyError):
            store.append(
                "case-1",
                events("B"),
                expected_version=0,
                recorded_at=AT,
                outbox=[message("m-1")],
                projection=Projection(version=1, body={}),
            )
        with pytest.raises(ValueError, match="NUL"):
            store.append(
                "case-1", events("B"), expected_version=1, recorded_at=AT, meta={"a": "\0"}
            )
        assert store.outbox() == ()
        assert store.projection("case-1") is None
        # The one pooled connection is idle again: the next append goes through on it.
        trips = trace.round_trips(
            lambda: store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        )
        assert trips[0] == 2
        assert [e.version for e in store.read("case-1")] == [1, 2]
        assert store.verify().ok


@needs_pipeline
def test_a_refused_append_inside_a_group_leaves_the_groups_other_writes(schema: str) -> None:
    with traced(schema) as (store, _):
        with store.transaction():
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
            with pytest.raises(ConcurrencyError):
                store.append("case-1", events("B"), expected_version=5, recorded_at=AT)
            store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        assert [e.type for e in store.read("case-1")] == ["A", "B"]
        assert store.verify().ok


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_it_is_lent(
    schema: str,
) -> None:
    name = f"cc_test_idle_{secrets.token_hex(4)}"
    url = with_query(dsn(), application_name=name)
    with PostgresEventStore(url, schema=schema, pool_size=1) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        with psycopg.connect(dsn(), autocommit=True) as admin:
            (killed,) = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (name,),
            ).fetchone() or (0,)
            assert killed == 1
            for _ in range(500):  # until the backend has gone (and said so on the socket)
                gone = admin.execute(
                    "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = %s",
                    (name,),
                ).fetchone()
                if gone and gone[0]:
                    break
                time.sleep(0.01)
        # No StoreUnavailable: the dead connection was found before the call used it.
        store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        assert [e.type for e in store.read("case-1")] == ["A", "B"]


def test_without_pipeline_mode_the_same_calls_work_statement_by_statement(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_PIPELINE", False)  # as with a libpq older than 14

    def build(number: int) -> NewStream:
        return NewStream(f"case-{number}", events("Submitted"), meta={"kind": "case"})

    with PostgresEventStore(dsn(), schema=schema, key="k") as store:
        store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
        assert store.create_numbered("c", build, recorded_at=AT)[0].stream == "case-1"
        assert store.create_numbered("c", build, recorded_at=AT)[0].stream == "case-3"
        store.append(
            "case-1",
            events("B"),
            expected_version=1,
            recorded_at=AT,
            outbox=[message("m-1")],
            projection=Projection(version=2, body={"v": 2}),
        )
        with pytest.raises(ConcurrencyError):
            store.append("case-1", events("C"), expected_version=1, recorded_at=AT)
        assert [s.stream for s in store.streams(kind="case")] == ["case-1", "case-3"]
        assert store.projection("case-1") == Projection(version=2, body={"v": 2})
        assert [m.message.key for m in store.outbox()] == ["m-1"]
        report = store.verify()
        assert report.ok, report
