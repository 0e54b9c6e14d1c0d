"""The anchored log on PostgreSQL: the same tamper kinds found and named as on SQLite.

Each test writes a small log with the key set, then changes the tables behind the store's
back the way someone with ``psql`` (but without the key) would, and checks that
:meth:`PostgresEventStore.verify` names the case and the event concerned. The digests and
MACs are the SQLite store's: a log copied between the two verifies with the same key.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditcommit.builtin.sqlite_store import SQLiteEventStore
from creditcommit.ports import NewEvent, NewStream, OutboxMessage, event_digest
from creditcommit.testing.store_contract import AT, events, message
from creditcommit_postgres import LOG_KEY_ENV, PostgresEventStore
from pg_support import dsn, scratch_schema, shell, with_query

KEY = "a-key-only-the-operator-knows"


def url(schema: str) -> str:
    return with_query(dsn(), schema=schema)


def keyed(schema: str) -> PostgresEventStore:
    return PostgresEventStore.from_url(url(schema), key=KEY)


def unkeyed(schema: str) -> PostgresEventStore:
    return PostgresEventStore(dsn(), schema=schema, environ={})


def write_log(store: SQLiteEventStore | PostgresEventStore) -> None:
    """Three cases of two events; each with a publication; case-1's delivered."""
    for n in (1, 2, 3):
        store.append(
            f"case-{n}",
            events("Submitted", "Accepted"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message(f"case-{n}/publish")],
            idempotency_key=f"request-{n}",
            meta={"kind": "case", "state": "ACCEPTED"},
        )
    store.pending(AT)
    store.delivered("case-1/publish", at=AT)


@pytest.fixture
def schema() -> Iterator[str]:
    with scratch_schema() as name:
        with keyed(name) as store:
            write_log(store)
        yield name


def rechain(schema: str, start: int) -> None:
    """Recompute every digest from position ``start`` on, as a forger who knows the format."""
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        rows = conn.execute(
            "SELECT position, stream, version, type, payload, recorded_at FROM events "
            "WHERE position >= %s ORDER BY position",
            (start,),
        ).fetchall()
        found = conn.execute(
            "SELECT coalesce((SELECT digest FROM events WHERE position = %s), %s)",
            (start - 1, "0" * 64),
        ).fetchone()
        assert found is not None
        previous = str(found[0])
        for position, stream, version, type_, payload, recorded_at in rows:
            digest = event_digest(
                previous,
                stream=stream,
                version=version,
                position=position,
                type=type_,
                payload=json.loads(payload),
                recorded_at=recorded_at,
            )
            conn.execute(
                "UPDATE events SET previous_digest = %s, digest = %s WHERE position = %s",
                (previous, digest, position),
            )
            previous = digest


def append_forged(schema: str) -> None:
    shell(
        schema,
        "INSERT INTO events (position, stream, version, type, payload, recorded_at, "
        "previous_digest, digest) SELECT 7, 'case-3', 3, 'LicenceIssued', '{}', recorded_at, "
        "'', '' FROM events WHERE position = 6",
        "UPDATE streams SET version = 3 WHERE stream = 'case-3'",
    )
    rechain(schema, 7)


def recompute(schema: str) -> None:
    shell(schema, "UPDATE events SET payload = '{\"i\":9}' WHERE position = 2")
    rechain(schema, 2)


def truncate(schema: str) -> None:
    shell(
        schema,
        "DELETE FROM outbox WHERE event_position = 6",
        "DELETE FROM events WHERE position = 6",
        "UPDATE streams SET version = 1 WHERE stream = 'case-3'",
    )


def delete_case(schema: str) -> None:
    shell(
        schema,
        "DELETE FROM events WHERE stream = 'case-3'",
        "DELETE FROM outbox WHERE stream = 'case-3'",
        "DELETE FROM stream_meta WHERE stream = 'case-3'",
        "DELETE FROM idempotency_keys WHERE stream = 'case-3'",
        "DELETE FROM streams WHERE stream = 'case-3'",
    )


def empty_events(schema: str) -> None:
    shell(schema, "DELETE FROM events")


def change_state(schema: str) -> None:
    shell(schema, "UPDATE stream_meta SET value = 'ISSUED' WHERE stream = 'case-2'")


def move_key(schema: str) -> None:
    shell(schema, "UPDATE idempotency_keys SET stream = 'case-1' WHERE key = 'request-2'")


def change_message(schema: str) -> None:
    shell(schema, "UPDATE outbox SET payload = '{\"forged\":true}' WHERE key = 'case-2/publish'")


def mark_delivered(schema: str) -> None:
    shell(
        schema,
        "UPDATE outbox SET delivered_at = '2026-05-06T09:30:00+08:00' "
        "WHERE key = 'case-2/publish'",  # as by hand
    )


# (tamper, case named, event position named (None: the event is gone), words in the problem)
TAMPERS: dict[str, tuple[Callable[[str], None], str, int | None, str]] = {
    "appended forged event": (append_forged, "case-3", 7, "forged"),
    "chain recomputed": (recompute, "case-1", 2, "recomputed"),
    "tail truncated": (truncate, "case-3", 5, "truncated"),
    "case deleted": (delete_case, "case-3", None, "was deleted"),
    "events emptied": (empty_events, "case-1", None, "removed"),
    "state index changed": (change_state, "case-2", 4, "state index"),
    "idempotency key moved": (move_key, "case-1", 2, "idempotency keys"),
    "outbox message changed": (change_message, "case-2", 4, "outbox message 'case-2/publish'"),
    "delivered_at set by hand": (mark_delivered, "case-2", 4, "never recorded that delivery"),
}


@pytest.mark.parametrize("kind", TAMPERS)
def test_each_tamper_is_found_and_named(schema: str, kind: str) -> None:
    with keyed(schema) as store:
        assert store.verify().ok
    tamper, stream, position, words = TAMPERS[kind]
    tamper(schema)
    with keyed(schema) as store:
        report = store.verify()
    assert not report.ok
    assert report.anchored
    assert report.stream == stream, report
    assert words in str(report.problem), report.problem
    if position is None:
        assert report.first_bad is None
    else:
        assert report.first_bad is not None
        assert (report.first_bad.stream, report.first_bad.position) == (stream, position)


@pytest.mark.parametrize("kind", ["appended forged event", "chain recomputed", "tail truncated"])
def test_rewriting_the_checkpoints_without_the_key_is_found(schema: str, kind: str) -> None:
    TAMPERS[kind][0](schema)
    with unkeyed(schema) as store:
        assert store.anchor().ok  # a forger without the key rewrites every checkpoint
        assert store.verify().ok  # consistent to anyone without the key...
    with keyed(schema) as store:
        report = store.verify()
    assert not report.ok  # ...but not signed with it
    assert "not signed with the key" in str(report.problem)


def test_a_moved_chain_head_is_found(schema: str) -> None:
    shell(schema, "UPDATE log_head SET position = 9")
    with keyed(schema) as store:
        report = store.verify()
    assert not report.ok
    assert "log_head" in str(report.problem)
    assert report.first_bad is not None
    assert report.first_bad.position == 6


def test_without_a_key_verify_says_what_it_cannot_detect(schema: str) -> None:
    with unkeyed(schema) as store:
        report = store.verify()
    assert report.ok  # the data matches the checkpoints; the MACs are not checked
    assert not report.anchored
    assert report.unchecked is not None
    assert LOG_KEY_ENV in report.unchecked
    assert "recompute both" in report.unchecked
    with keyed(schema) as store:
        assert store.verify().unchecked is None


def test_the_key_comes_from_the_environment() -> None:
    with scratch_schema() as name:
        with PostgresEventStore(dsn(), schema=name, environ={LOG_KEY_ENV: KEY}) as store:
            assert store.keyed
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        with keyed(name) as store:
            assert store.verify().ok
        with PostgresEventStore(dsn(), schema=name, key="another key") as store:
            assert "not signed with the key" in str(store.verify().problem)


def test_anchor_refuses_a_broken_chain(schema: str) -> None:
    shell(schema, "UPDATE events SET payload = '{\"i\":9}' WHERE position = 2")
    with keyed(schema) as store:
        report = store.anchor()
        assert not report.ok
        assert report.first_bad is not None
        assert report.first_bad.position == 2
        assert not store.verify().ok


def test_a_log_copied_from_sqlite_verifies_with_the_same_key(
    schema: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Same digests, same MACs: the SQLite store signs the same log the same way."""
    path = tmp_path_factory.mktemp("sqlite") / "events.db"
    with SQLiteEventStore(path, key=KEY) as lite:
        write_log(lite)
        lite_events = lite.events()
    with keyed(schema) as store:
        assert store.events() == lite_events
    tables = ("events", "checkpoints")
    with contextlib.closing(sqlite3.connect(path)) as con:
        lite_rows = {
            table: con.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in tables
        }
        lite_macs = con.execute(
            "SELECT key, mac, delivered_mac FROM outbox ORDER BY seq"
        ).fetchall()
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        pg_events = conn.execute(
            "SELECT position, stream, version, type, payload, recorded_at, previous_digest, "
            "digest, mac FROM events ORDER BY 1, 2"
        ).fetchall()
        pg_checkpoints = conn.execute("SELECT * FROM checkpoints ORDER BY 1, 2").fetchall()
        pg_macs = conn.execute("SELECT key, mac, delivered_mac FROM outbox ORDER BY seq").fetchall()
    assert pg_events == lite_rows["events"]
    assert pg_checkpoints == lite_rows["checkpoints"]
    assert pg_macs == lite_macs


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 3), st.booleans()), min_size=1, max_size=8
    )
)
def test_any_honest_history_verifies(steps: list[tuple[int, int, bool]]) -> None:
    """Whatever the store did itself — appends, numbered streams, deliveries, failures,
    dead letters, retries — verifies with the key."""
    with scratch_schema() as name, keyed(name) as store:
        for n, (kind, count, flag) in enumerate(steps):
            new = [NewEvent("Step", {"n": n, "i": i}) for i in range(count)]
            outbox = [message(f"m-{n}")]

            def build(
                number: int, new: list[NewEvent] = new, outbox: list[OutboxMessage] = outbox
            ) -> NewStream:
                return NewStream(f"case-{number}", new, outbox=outbox, meta={"state": "A"})

            stored = store.create_numbered("day", build, recorded_at=AT)
            if kind == 1:
                store.append(
                    stored[0].stream,
                    events("More"),
                    expected_version=count,
                    recorded_at=AT,
                    meta={"state": "B"},
                )
            elif kind == 2:
                store.delivered(f"m-{n}", at=AT)
            elif kind == 3:
                store.dead_letter(f"m-{n}", at=AT, error="down")
                if flag:
                    store.retry(f"m-{n}", at=AT)
        report = store.verify()
        assert report.ok, report
        assert report.anchored


def test_an_event_written_without_the_key_says_so(schema: str) -> None:
    with unkeyed(schema) as store:
        store.append("case-1", events("More"), expected_version=2, recorded_at=AT)
    with keyed(schema) as store:
        report = store.verify()
    assert report.first_bad is not None
    assert report.first_bad.position == 7
    assert "it has no signature" in str(report.problem)
    assert LOG_KEY_ENV in str(report.problem)
