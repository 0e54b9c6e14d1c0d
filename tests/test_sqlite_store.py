"""Tests for creditcommit.builtin.sqlite_store: the contract, SQLite specifics, real races."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditcommit.builtin.sqlite_store import DEFAULT_LEASE, SCHEMA_VERSION, SQLiteEventStore
from creditcommit.errors import (
    ConcurrencyError,
    CreditCommitError,
    StoreUnavailable,
    UnsupportedSchema,
)
from creditcommit.ports import (
    GENESIS_DIGEST,
    EventStore,
    NewEvent,
    NewStream,
    canonical_json,
    event_digest,
)
from creditcommit.testing.store_contract import (
    AT,
    DocumentStoreContract,
    EventStoreContract,
    ProjectionStoreContract,
    TransactionalStoreContract,
    events,
    keys,
    message,
)


class TestSQLiteEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[EventStore]:
        with SQLiteEventStore(tmp_path / "events.db") as store:
            yield store

    def reopen(self, store: EventStore) -> EventStore:
        assert isinstance(store, SQLiteEventStore)
        return SQLiteEventStore(store.path)

    def tamper(self, store: EventStore, position: int) -> None:
        assert isinstance(store, SQLiteEventStore)
        edit(store.path, "UPDATE events SET payload = '{\"i\":99}' WHERE position = ?", position)


class TestSQLiteProjections(ProjectionStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteEventStore]:
        with SQLiteEventStore(tmp_path / "events.db") as store:
            yield store


class TestSQLiteDocuments(DocumentStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteEventStore]:
        with SQLiteEventStore(tmp_path / "events.db") as store:
            yield store

    def tamper_document(self, store: object, digest: str) -> None:
        assert isinstance(store, SQLiteEventStore)
        edit(store.path, "UPDATE documents SET body = body || ' ' WHERE digest = ?", digest)


class TestSQLiteTransactions(TransactionalStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteEventStore]:
        with SQLiteEventStore(tmp_path / "events.db", timeout=0.5) as store:
            yield store

    def reopen(self, store: object) -> EventStore:
        assert isinstance(store, SQLiteEventStore)
        return SQLiteEventStore(store.path, timeout=0.5)


def edit(path: str | Path, sql: str, *params: object) -> None:
    """Change the database behind the store's back, as someone with the sqlite3 shell."""
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        changed = con.execute(sql, params).rowcount
        assert changed != 0, f"{sql} changed nothing"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteEventStore]:
    with SQLiteEventStore(path) as store:
        yield store


def three_cases(store: SQLiteEventStore) -> None:
    for n in range(1, 4):
        store.append(f"case-{n}", events("A", "B"), expected_version=0, recorded_at=AT)


# --- opening -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///srv/cc/events.db", "/srv/cc/events.db"),
        ("sqlite:////srv/cc/events.db", "/srv/cc/events.db"),
        ("sqlite://localhost/srv/cc/events.db", "/srv/cc/events.db"),
        ("SQLITE:///srv/my%20events.db", "/srv/my events.db"),
        ("sqlite:data/events.db", "data/events.db"),
        ("sqlite::memory:", ":memory:"),
    ],
)
def test_from_url_paths(url: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []

    def fake_init(self: SQLiteEventStore, path: str, *, timeout: float = 30.0) -> None:
        opened.append(path)

    monkeypatch.setattr(SQLiteEventStore, "__init__", fake_init)
    SQLiteEventStore.from_url(url)
    assert opened == [expected]


def test_from_url_opens_the_file(tmp_path: Path) -> None:
    with SQLiteEventStore.from_url(f"sqlite://{tmp_path}/events.db", timeout=1) as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    assert (tmp_path / "events.db").exists()
    with SQLiteEventStore(tmp_path / "events.db") as again:
        assert len(again.read("case-1")) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql://db/cc",
            "not an SQLite URL: 'postgresql://db/cc' (expected sqlite:///absolute/path.db or "
            "sqlite:relative/path.db)",
        ),
        (
            "events.db",
            "not an SQLite URL: 'events.db' (expected sqlite:///absolute/path.db or "
            "sqlite:relative/path.db)",
        ),
        (
            "sqlite://db.example/cc.db",
            "SQLite URL 'sqlite://db.example/cc.db' names a host 'db.example'; expected "
            "sqlite:///absolute/path.db or sqlite:relative/path.db",
        ),
        (
            "sqlite:///",
            "SQLite URL 'sqlite:///' names no file; expected sqlite:///absolute/path.db or "
            "sqlite:relative/path.db",
        ),
        (
            "sqlite:",
            "SQLite URL 'sqlite:' names no file; expected sqlite:///absolute/path.db or "
            "sqlite:relative/path.db",
        ),
        (
            "sqlite:///x.db?mode=ro",
            "SQLite URL 'sqlite:///x.db?mode=ro' has a query or fragment; none is supported",
        ),
    ],
)
def test_from_url_refuses(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        SQLiteEventStore.from_url(url)
    assert str(caught.value) == message


def test_in_memory_store() -> None:
    with SQLiteEventStore(":memory:") as store:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        assert store.verify().events == 1
        assert repr(store) == "SQLiteEventStore(':memory:')"


def test_wal_mode_and_full_sync(store: SQLiteEventStore, path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # synchronous is a setting of the store's own connection.
    assert store._con.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert store._con.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_schema_is_versioned(store: SQLiteEventStore, path: Path) -> None:
    store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    store.close()
    with SQLiteEventStore(path) as again:  # reopening keeps the data
        assert len(again.read("case-1")) == 1
    with contextlib.closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    assert {"events", "streams", "stream_meta", "idempotency_keys", "outbox"} <= tables


def test_a_newer_schema_is_refused(store: SQLiteEventStore, path: Path) -> None:
    store.close()
    edit(path, "UPDATE schema_version SET version = ?", SCHEMA_VERSION + 1)
    with pytest.raises(UnsupportedSchema) as caught:
        SQLiteEventStore(path)
    assert str(caught.value) == (
        f"{path}: the event store has schema version {SCHEMA_VERSION + 1}, but this "
        f"creditcommit understands versions up to {SCHEMA_VERSION}; upgrade creditcommit to "
        "open it"
    )
    assert isinstance(caught.value, CreditCommitError)
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)


def test_close_twice_and_use_after_close(store: SQLiteEventStore) -> None:
    store.close()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        store.read("case-1")


def test_a_store_belongs_to_its_thread(store: SQLiteEventStore) -> None:
    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.read("case-1")
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "same thread" in str(errors[0])


def test_a_writer_waits_for_the_lock_up_to_timeout(path: Path) -> None:
    with SQLiteEventStore(path, timeout=0.05) as store:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable, match="database is locked") as caught:
                store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
            assert isinstance(caught.value, CreditCommitError)
            assert (caught.value.store, caught.value.reason) == (str(path), "database is locked")
            assert str(caught.value) == (
                f"the event store {path} is unavailable (database is locked); nothing was "
                "written, try again later"
            )
            for blocked in (
                lambda: store.pending(AT),
                lambda: store.delivered("x", at=AT),
                lambda: store.create_numbered(
                    "day", lambda n: NewStream(f"case-{n}", events("A")), recorded_at=AT
                ),
            ):
                with pytest.raises(StoreUnavailable):
                    blocked()
            other.execute("ROLLBACK")
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        assert len(store.read("case-1")) == 1


def test_opening_a_locked_new_file_is_store_unavailable(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailable):
            SQLiteEventStore(path, timeout=0.05)
        other.execute("ROLLBACK")


def test_a_statement_error_is_not_store_unavailable(store: SQLiteEventStore) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"), store._guard():
        store._con.execute("SELECT * FROM nothing_here")


# --- argument checks ---------------------------------------------------------------------


def test_argument_checks(store: SQLiteEventStore) -> None:
    with pytest.raises(ValueError, match="expected_version must be 0 or more, got -1"):
        store.append("case-1", events("A"), expected_version=-1, recorded_at=AT)
    with pytest.raises(ValueError, match="after must be 0 or more, got -1"):
        store.events(after=-1)
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        store.events(limit=0)
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        store.pending(AT, limit=0)
    with pytest.raises(ValueError, match="lease must be positive, got 0:00:00"):
        store.pending(AT, lease=dt.timedelta(0))
    with pytest.raises(ValueError, match=r"now must carry a UTC offset \(e.g. \+08:00\)"):
        store.pending(AT.replace(tzinfo=None))
    with pytest.raises(ValueError, match=r"outbox\[0\]\.created_at must carry a UTC offset"):
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message("m-1", at=AT.replace(tzinfo=None))],
        )
    with pytest.raises(ValueError, match="stream meta must map text to text, got 'n': 1"):
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            meta={"n": 1},  # type: ignore[dict-item]
        )
    assert store.events() == ()


def test_the_default_lease_is_five_minutes(store: SQLiteEventStore) -> None:
    store.append("case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m")])
    assert keys(store.pending(AT)) == ["m"]
    assert keys(store.pending(AT + DEFAULT_LEASE - dt.timedelta(microseconds=1))) == []
    assert keys(store.pending(AT + dt.timedelta(minutes=5))) == ["m"]


# --- one transaction ---------------------------------------------------------------------


def test_a_failure_while_writing_the_outbox_rolls_back_the_events(
    store: SQLiteEventStore, path: Path
) -> None:
    store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
    edit(
        path,
        "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        store.append(
            "case-1",
            events("B", "C"),
            expected_version=1,
            recorded_at=AT,
            outbox=[message("m-1")],
            idempotency_key="req-1",
            meta={"state": "accepted"},
        )
    assert [e.type for e in store.read("case-1")] == ["A"]
    assert store.streams()[0].version == 1
    assert dict(store.streams()[0].meta) == {}
    assert store.stream_for_key("req-1") is None
    assert store.verify().ok
    # The store is usable afterwards: no transaction left open.
    edit(path, "DROP TRIGGER refuse")
    store.append("case-1", events("B"), expected_version=1, recorded_at=AT, outbox=[message("m-1")])
    assert keys(store.outbox()) == ["m-1"]


def test_pending_and_streams_use_their_indexes(store: SQLiteEventStore) -> None:
    def plan(sql: str) -> str:
        return " | ".join(row[3] for row in store._con.execute("EXPLAIN QUERY PLAN " + sql))

    due = plan(
        "SELECT key FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND due_us <= 1 "
        "AND (leased_until_us IS NULL OR leased_until_us <= 1) ORDER BY due_us, seq LIMIT 5"
    )
    assert "USING INDEX outbox_due" in due
    assert "TEMP B-TREE" not in due
    meta = plan("SELECT stream FROM stream_meta WHERE name = 'city' AND value = 'yangzhou'")
    assert "stream_meta_by_value" in meta


# --- the digest --------------------------------------------------------------------------


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1.5, None], "名": "扬州"}) == (
        '{"a":[1.5,null],"b":1,"名":"扬州"}'
    )
    with pytest.raises(ValueError, match="Out of range float values"):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError, match="a date is not JSON data"):
        canonical_json({"x": dt.date(2026, 5, 6)})


def test_event_digest_is_the_documented_formula() -> None:
    import hashlib

    content = (
        '{"payload":{"名":"扬州"},"position":1,"recorded_at":"2026-05-06T09:30:00+08:00",'
        '"stream":"case-1","type":"Submitted","version":1}'
    )
    expected = hashlib.sha256((GENESIS_DIGEST + content).encode("utf-8")).hexdigest()
    assert (
        event_digest(
            GENESIS_DIGEST,
            stream="case-1",
            version=1,
            position=1,
            type="Submitted",
            payload={"名": "扬州"},
            recorded_at="2026-05-06T09:30:00+08:00",
        )
        == expected
    )


# --- tampering with plain sqlite3 --------------------------------------------------------


def test_verify_names_an_edited_payload(store: SQLiteEventStore, path: Path) -> None:
    three_cases(store)
    edit(path, "UPDATE events SET payload = json_set(payload, '$.i', 7) WHERE position = 4")
    report = store.verify()
    assert report.first_bad is not None
    assert (report.first_bad.stream, report.first_bad.version) == ("case-2", 2)
    assert dict(report.first_bad.payload) == {"i": 7}
    assert report.problem is not None
    assert report.problem.startswith("the digest does not match the event's content")
    assert report.problem.endswith(
        "its stream, version, position, type, payload or recorded time was changed"
    )


def test_verify_follows_the_chain_when_the_digest_was_recomputed_too(
    store: SQLiteEventStore, path: Path
) -> None:
    # Someone who knows the formula edits event 2 and recomputes its digest: event 2 now
    # checks out on its own, but event 3 still points at the old digest.
    three_cases(store)
    original = store.read("case-1")[1]
    forged = event_digest(
        original.previous_digest,
        stream="case-1",
        version=2,
        position=2,
        type="B",
        payload={"i": 99},
        recorded_at=AT.isoformat(),
    )
    edit(path, "UPDATE events SET payload = '{\"i\":99}', digest = ? WHERE position = 2", forged)
    report = store.verify()
    assert report.first_bad is not None
    assert report.first_bad.position == 3
    assert report.problem == (
        "previous_digest does not match the digest of the event before it "
        f"({forged[:12]}…): the chain is broken"
    )


def test_verify_names_an_event_whose_digest_was_overwritten(
    store: SQLiteEventStore, path: Path
) -> None:
    three_cases(store)
    edit(path, "UPDATE events SET digest = ? WHERE position = 2", "f" * 64)
    report = store.verify()
    assert report.first_bad is not None
    assert report.first_bad.position == 2
    assert report.first_bad.digest == "f" * 64


def test_verify_names_a_gap_when_an_event_is_removed(store: SQLiteEventStore, path: Path) -> None:
    three_cases(store)
    edit(path, "DELETE FROM events WHERE position = 3")
    report = store.verify()
    assert report.first_bad is not None
    assert report.first_bad.position == 4
    assert report.problem == (
        "position 4 follows position 2: the log has a gap (events were removed or renumbered)"
    )


def test_verify_names_a_version_gap(store: SQLiteEventStore, path: Path) -> None:
    three_cases(store)
    edit(path, "UPDATE events SET version = 3 WHERE position = 6")
    report = store.verify()
    assert report.first_bad is not None
    assert report.first_bad.position == 6
    assert report.problem == "version 3 of stream 'case-3' follows version 1: the stream has a gap"


def test_verify_notices_events_removed_from_the_end(store: SQLiteEventStore, path: Path) -> None:
    three_cases(store)
    store.append("case-1", events("C"), expected_version=2, recorded_at=AT)
    edit(path, "DELETE FROM events WHERE position = 7")
    report = store.verify()
    assert report.first_bad is not None
    assert (report.first_bad.stream, report.first_bad.version) == ("case-1", 2)
    assert report.problem == (
        "stream 'case-1' is recorded at version 3 but its events end at version 2: events "
        "were removed"
    )


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            "UPDATE events SET payload = '{not json' WHERE position = 2",
            "the payload is not valid JSON: '{not json'",
        ),
        (
            "UPDATE events SET payload = '[1]' WHERE position = 2",
            "the payload is not a JSON object: '[1]'",
        ),
        (
            "UPDATE events SET recorded_at = 'yesterday' WHERE position = 2",
            "recorded_at is not an ISO date-time: 'yesterday'",
        ),
    ],
)
def test_verify_names_unreadable_events(
    store: SQLiteEventStore, path: Path, sql: str, problem: str
) -> None:
    three_cases(store)
    edit(path, sql)
    report = store.verify()
    assert report.first_bad is not None
    assert report.first_bad.position == 2
    assert report.problem == problem


# --- real concurrency --------------------------------------------------------------------

ROUNDS = 40


def race_in_threads(path: Path, rounds: int) -> list[dict[str, object]]:
    """Two threads, each with its own store on ``path``, append to one stream per round."""
    barrier = threading.Barrier(2)
    results: list[dict[str, object]] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with SQLiteEventStore(path) as store:
                for round_ in range(rounds):
                    barrier.wait(timeout=30)
                    outcome = attempt(store, name, round_)
                    with lock:
                        results.append(outcome)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return results


def attempt(store: SQLiteEventStore, writer: str, round_: int) -> dict[str, object]:
    """One racing append: two events and one outbox message, written as of ``round_``."""
    try:
        store.append(
            "case-1",
            [NewEvent("Written", {"writer": writer, "round": round_, "i": i}) for i in range(2)],
            expected_version=2 * round_,
            recorded_at=AT,
            outbox=[message(f"{writer}-{round_}")],
        )
    except ConcurrencyError as exc:
        return {"writer": writer, "round": round_, "won": False, "actual": exc.actual}
    return {"writer": writer, "round": round_, "won": True}


def check_race(path: Path, results: list[dict[str, object]], rounds: int) -> None:
    """Exactly one winner per round; the loser saw the winner's version; nothing lost."""
    winners: list[str] = []
    for round_ in range(rounds):
        outcomes = [r for r in results if r["round"] == round_]
        assert len(outcomes) == 2, outcomes
        won = [r for r in outcomes if r["won"]]
        lost = [r for r in outcomes if not r["won"]]
        assert len(won) == len(lost) == 1, outcomes
        assert lost[0]["actual"] == 2 * round_ + 2
        winners.append(str(won[0]["writer"]))
    with SQLiteEventStore(path) as store:
        stream = store.read("case-1")
        assert [(e.payload["writer"], e.payload["round"], e.payload["i"]) for e in stream] == [
            (winner, round_, i) for round_, winner in enumerate(winners) for i in range(2)
        ]
        assert [e.version for e in stream] == list(range(1, 2 * rounds + 1))
        assert keys(store.outbox()) == [f"{w}-{r}" for r, w in enumerate(winners)]
        assert store.verify().ok


def test_two_threads_race_on_one_stream(path: Path) -> None:
    SQLiteEventStore(path).close()  # create the file first: the race is on appends
    results = race_in_threads(path, ROUNDS)
    check_race(path, results, ROUNDS)


WRITER = """
import datetime as dt, json, sys
from creditcommit.builtin.sqlite_store import SQLiteEventStore
from creditcommit.errors import ConcurrencyError
from creditcommit.ports import NewEvent, OutboxMessage

path, writer = sys.argv[1], sys.argv[2]
at = dt.datetime(2026, 5, 6, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
with SQLiteEventStore(path) as store:
    print("ready", flush=True)
    for line in sys.stdin:
        round_ = int(line)
        try:
            store.append(
                "case-1",
                [
                    NewEvent("Written", {"writer": writer, "round": round_, "i": i})
                    for i in range(2)
                ],
                expected_version=2 * round_,
                recorded_at=at,
                outbox=[OutboxMessage(f"{writer}-{round_}", "channel:site", "decision",
                                      "yangzhou", {}, at)],
            )
            outcome = {"writer": writer, "round": round_, "won": True}
        except ConcurrencyError as exc:
            outcome = {"writer": writer, "round": round_, "won": False, "actual": exc.actual}
        print(json.dumps(outcome), flush=True)
"""


def test_two_processes_race_on_one_stream(path: Path) -> None:
    SQLiteEventStore(path).close()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, os.fspath(path), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    results: list[dict[str, object]] = []
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
        for round_ in range(ROUNDS):
            # The barrier: both are blocked reading stdin; release them together.
            for child in children:
                assert child.stdin is not None
                child.stdin.write(f"{round_}\n")
                child.stdin.flush()
            for child in children:
                assert child.stdout is not None
                results.append(json.loads(child.stdout.readline()))
    finally:
        for child in children:
            assert child.stdin is not None
            child.stdin.close()
        for child in children:
            assert child.wait(timeout=60) == 0
            assert child.stdout is not None
            child.stdout.close()
    check_race(path, results, ROUNDS)


def test_two_workers_never_lease_the_same_message(path: Path) -> None:
    with SQLiteEventStore(path) as store:
        for n in range(20):
            store.append(
                f"case-{n}",
                events("Decided"),
                expected_version=0,
                recorded_at=AT,
                outbox=[message(f"m-{n}-{k}") for k in range(10)],
            )
    barrier = threading.Barrier(2)
    taken: dict[str, list[str]] = {"w1": [], "w2": []}

    def worker(name: str) -> None:
        with SQLiteEventStore(path) as store:
            barrier.wait(timeout=30)
            while batch := store.pending(AT, limit=7):
                taken[name] += keys(batch)

    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = taken["w1"] + taken["w2"]
    assert len(everything) == 200
    assert set(everything) == {f"m-{n}-{k}" for n in range(20) for k in range(10)}
