"""The anchored log: checkpoints signed with a key, and what ``verify`` finds with them.

Each test writes a small log with the key set, then changes the file behind the store's
back the way someone with the ``sqlite3`` shell (but without the key) would, and checks that
:meth:`SQLiteEventStore.verify` reports it, naming the case and the event it concerns.
Also: without a key the check still runs and says what it cannot detect; a version 1 file
(written by creditcommit before checkpoints existed) is upgraded on open.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcommit.builtin.sqlite_store import LOG_KEY_ENV, SCHEMA_VERSION, SQLiteEventStore
from creditcommit.ports import NewEvent, NewStream, OutboxMessage, event_digest
from creditcommit.testing.store_contract import AT, events, keys, message

KEY = "a-key-only-the-operator-knows"
V1_FILE = Path(__file__).parent / "data" / "events-v1.db"


def shell(path: Path, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    """Run statements on the file as someone with the sqlite3 shell (no foreign keys)."""
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            con.execute(sql, params)


def keyed(path: Path) -> SQLiteEventStore:
    return SQLiteEventStore(path, key=KEY)


def unkeyed(path: Path) -> SQLiteEventStore:
    return SQLiteEventStore(path, environ={})


def write_log(path: Path) -> None:
    """Three cases of two events; each with a publication; case-1's delivered."""
    with keyed(path) as store:
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
def path(tmp_path: Path) -> Path:
    where = tmp_path / "events.db"
    write_log(where)
    return where


def rechain(path: Path, start: int) -> None:
    """Recompute every digest from position ``start`` on, as a forger who knows the format."""
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        rows = con.execute(
            "SELECT position, stream, version, type, payload, recorded_at FROM events "
            "WHERE position >= ? ORDER BY position",
            (start,),
        ).fetchall()
        (previous,) = con.execute(
            "SELECT coalesce((SELECT digest FROM events WHERE position = ?), ?)",
            (start - 1, "0" * 64),
        ).fetchone()
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
            con.execute(
                "UPDATE events SET previous_digest = ?, digest = ? WHERE position = ?",
                (previous, digest, position),
            )
            previous = digest


def forge_checkpoints(path: Path) -> None:
    """Rewrite every checkpoint to match the data, as a forger without the key can."""
    with unkeyed(path) as store:
        assert store.anchor().ok


def append_forged(path: Path) -> None:
    shell(
        path,
        "INSERT INTO events (position, stream, version, type, payload, recorded_at, "
        "previous_digest, digest) SELECT 7, 'case-3', 3, 'LicenceIssued', '{}', recorded_at, "
        "'', '' FROM events WHERE position = 6",
        "UPDATE streams SET version = 3 WHERE stream = 'case-3'",
    )
    rechain(path, 7)


def recompute(path: Path) -> None:
    shell(path, "UPDATE events SET payload = '{\"i\":9}' WHERE position = 2")
    rechain(path, 2)


def truncate(path: Path) -> None:
    shell(
        path,
        "DELETE FROM events WHERE position = 6",
        "DELETE FROM outbox WHERE event_position = 6",
        "UPDATE streams SET version = 1 WHERE stream = 'case-3'",
    )


def delete_case(path: Path) -> None:
    shell(
        path,
        "DELETE FROM events WHERE stream = 'case-3'",
        "DELETE FROM outbox WHERE stream = 'case-3'",
        "DELETE FROM stream_meta WHERE stream = 'case-3'",
        "DELETE FROM idempotency_keys WHERE stream = 'case-3'",
        "DELETE FROM streams WHERE stream = 'case-3'",
    )


def empty_events(path: Path) -> None:
    shell(path, "DELETE FROM events")


def change_state(path: Path) -> None:
    shell(path, "UPDATE stream_meta SET value = 'ISSUED' WHERE stream = 'case-2'")


def move_key(path: Path) -> None:
    shell(path, "UPDATE idempotency_keys SET stream = 'case-1' WHERE key = 'request-2'")


def change_message(path: Path) -> None:
    shell(path, "UPDATE outbox SET payload = '{\"forged\":true}' WHERE key = 'case-2/publish'")


def mark_delivered(path: Path) -> None:
    shell(
        path,
        "UPDATE outbox SET delivered_at = '2026-05-06T09:30:00+08:00' WHERE key = 'case-2/publish'",
    )


# (tamper, case named, event position named (None: the event is gone), words in the problem)
TAMPERS: dict[str, tuple[Callable[[Path], None], str, int | None, str]] = {
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
def test_each_tamper_is_found_and_named(path: Path, kind: str) -> None:
    with keyed(path) as store:
        assert store.verify().ok
    tamper, stream, position, words = TAMPERS[kind]
    tamper(path)
    with keyed(path) as store:
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
def test_rewriting_the_checkpoints_without_the_key_is_found(path: Path, kind: str) -> None:
    TAMPERS[kind][0](path)
    forge_checkpoints(path)
    with unkeyed(path) as store:
        assert store.verify().ok  # consistent to anyone without the key...
    with keyed(path) as store:
        report = store.verify()
    assert not report.ok  # ...but not signed with it
    assert "not signed with the key" in str(report.problem)


def test_a_whole_case_and_its_checkpoint_deleted_is_found(path: Path) -> None:
    delete_case(path)
    shell(path, "DELETE FROM checkpoints WHERE scope = 'case-3'")
    with keyed(path) as store:
        report = store.verify()
    assert not report.ok
    assert "the log holds 4 events" in str(report.problem)
    assert "checkpoint records 6 events" in str(report.problem)


def test_an_emptied_log_is_found_without_a_key_too(path: Path) -> None:
    shell(
        path,
        "DELETE FROM events",
        "DELETE FROM outbox",
        "DELETE FROM stream_meta",
        "DELETE FROM idempotency_keys",
        "DELETE FROM streams",
    )
    with unkeyed(path) as store:
        report = store.verify()
    assert not report.ok
    assert report.events == 0
    assert report.stream == "case-1"
    assert "case case-1 was deleted" in str(report.problem)
    shell(path, "DELETE FROM checkpoints WHERE kind = 'stream'")
    with unkeyed(path) as store:
        report = store.verify()
    assert "the log holds 0 events" in str(report.problem)
    shell(path, "DELETE FROM checkpoints")
    with unkeyed(path) as store:
        assert "checkpoint is missing" in str(store.verify().problem)


def test_without_a_key_verify_says_what_it_cannot_detect(tmp_path: Path) -> None:
    with unkeyed(tmp_path / "events.db") as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        report = store.verify()
    assert report.ok
    assert not report.anchored
    assert report.unchecked is not None
    assert LOG_KEY_ENV in report.unchecked
    assert "recompute both" in report.unchecked
    with keyed(tmp_path / "events.db") as store:
        assert store.verify().unchecked is None


def test_the_key_comes_from_the_environment(tmp_path: Path) -> None:
    where = tmp_path / "events.db"
    with SQLiteEventStore(where, environ={LOG_KEY_ENV: KEY}) as store:
        assert store.keyed
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    with keyed(where) as store:
        assert store.verify().ok
    with SQLiteEventStore(where, key="another key") as store:
        assert "not signed with the key" in str(store.verify().problem)


def test_a_log_written_without_the_key_is_anchored_by_hand(tmp_path: Path) -> None:
    where = tmp_path / "events.db"
    with unkeyed(where) as store:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m")]
        )
        store.delivered("m", at=AT)
    with keyed(where) as store:
        assert "not signed with the key" in str(store.verify().problem)
        assert store.anchor().ok
        assert store.verify().ok


def test_anchor_refuses_a_broken_chain(path: Path) -> None:
    shell(path, "UPDATE events SET payload = '{\"i\":9}' WHERE position = 2")
    with keyed(path) as store:
        report = store.anchor()
        assert not report.ok
        assert report.first_bad is not None
        assert report.first_bad.position == 2
        assert not store.verify().ok


@settings(max_examples=20, deadline=None)  # each example writes a SQLite file
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 3), st.integers(1, 3), st.booleans()), min_size=1, max_size=8
    )
)
def test_any_honest_history_verifies(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, int, bool]]
) -> None:
    """Whatever the store did itself — appends, numbered streams, deliveries, failures,
    dead letters, retries — verifies with the key."""
    where = tmp_path_factory.mktemp("honest") / "events.db"
    with keyed(where) as store:
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


# --- schema version 1 ------------------------------------------------------------------------


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    where = tmp_path / "events.db"
    shutil.copyfile(V1_FILE, where)
    return where


def test_a_version_1_file_is_upgraded_on_open(v1: Path) -> None:
    with contextlib.closing(sqlite3.connect(v1)) as con:
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    with keyed(v1) as store:
        assert store.verify().ok
        streams = [info.stream for info in store.streams(kind="case")]
        assert streams == ["321000-20250926-N0001", "321000-20250926-N0002"]
        assert keys(store.outbox(delivered=True)) == ["321000-20250926-N0001/publish"]
        assert keys(store.outbox(delivered=False, dead=False)) == ["321000-20250926-N0002/publish"]
        assert store.stream_for_key("request-2") == "321000-20250926-N0002"
        # The counter starts after the numbers the old code gave by counting.
        made = store.create_numbered(
            "case:321000:2025-09-26",
            lambda n: NewStream(f"321000-20250926-N{n:04d}", events("A")),
            recorded_at=AT,
        )
        assert made[0].stream == "321000-20250926-N0003"
        assert store.verify().ok
    with contextlib.closing(sqlite3.connect(v1)) as con:
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    # Tampering with the upgraded file is found like any other.
    shell(
        v1,
        "UPDATE stream_meta SET value = 'REVOKED' "
        "WHERE name = 'state' AND stream = '321000-20250926-N0001'",
    )
    with keyed(v1) as store:
        report = store.verify()
    assert report.stream == "321000-20250926-N0001"
    assert "state index" in str(report.problem)


def test_a_write_without_the_key_is_named_as_such(tmp_path: Path) -> None:
    where = tmp_path / "events.db"
    with keyed(where) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    with unkeyed(where) as forgetful:  # a worker started without CREDITCOMMIT_LOG_KEY
        forgetful.append("case-1", events("B"), expected_version=1, recorded_at=AT)
    with keyed(where) as store:
        report = store.verify()
    assert report.first_bad is not None
    assert (report.first_bad.stream, report.first_bad.position) == ("case-1", 2)
    assert str(report.problem).startswith(
        "the event is not signed with the key: it has no signature — written by a process "
        f"without the key (set {LOG_KEY_ENV} for every process that writes the store)"
    )
