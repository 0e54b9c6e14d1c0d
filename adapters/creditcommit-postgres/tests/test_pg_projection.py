"""Projections on PostgreSQL: the upgrade from schema 1, two writers on one case, and the
service reading cases from projections, ticking from the due index and verifying them.

The store-level rules are the ``ProjectionStoreContract`` (``test_pg_contract``); these are
what only a real server with several connections, or an older schema, can show.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import psycopg
import pytest

from creditcommit import (
    CHINA_TIME,
    Approvals,
    Case,
    CaseState,
    ConcurrencyError,
    History,
    ManualClock,
)
from creditcommit.builtin.signing import SIGNING_KEY_ENV
from creditcommit.commitments import Signer
from creditcommit.ports import NewStream, Projection
from creditcommit.testing.store_contract import AT, events
from creditcommit_postgres import SCHEMA_VERSION, PostgresEventStore
from creditcommit_postgres import store as store_module
from pg_support import dsn, scratch_schema, shell, with_query
from pg_workers import FORM, GAOYOU, HOTEL, START
from pg_workers import prepare as prepare_city

DEFERRED_DUE = dt.date(2025, 10, 10)


@pytest.fixture
def schema() -> Iterator[str]:
    with scratch_schema() as name:
        yield name


def query(schema: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        return conn.execute(statement.encode(), params).fetchall()


def downgrade_to_schema_1(schema: str) -> None:
    """Make ``schema`` what version 1 of the store left: no projections, no documents."""
    shell(
        schema,
        "DROP TABLE documents",
        "DROP TABLE projections",
        "ALTER TABLE streams DROP COLUMN projected",
        "DELETE FROM schema_version WHERE version > 1",
    )


def projection(version: int, due: dt.date | None = None, **body: object) -> Projection:
    return Projection(version=version, body={"v": version, **body}, due=due)


# --- the upgrade from schema 1 ---------------------------------------------------------------


def test_a_schema_1_database_is_upgraded_in_place(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written by the store as it was: only version 1's migration.
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        patch.setattr(store_module, "SCHEMA_VERSION", 1)
        with PostgresEventStore(dsn(), schema=schema, key="k") as old:
            for name in ("case-1", "case-2", "draw-1"):
                kind = name.partition("-")[0]
                old.append(
                    name, events("A"), expected_version=0, recorded_at=AT, meta={"kind": kind}
                )
            old.append("case-1", events("B"), expected_version=1, recorded_at=AT)
    assert query(schema, "SELECT max(version) FROM schema_version") == [(1,)]
    assert query(schema, "SELECT to_regclass('projections')") == [(None,)]

    with PostgresEventStore(dsn(), schema=schema, key="k") as store:
        versions = query(schema, "SELECT version FROM schema_version ORDER BY version")
        assert versions == [(n,) for n in range(1, SCHEMA_VERSION + 1)]
        # Nothing is projected yet; the events and the anchors are as they were.
        assert store.unprojected(kind="case") == ("case-1", "case-2")
        assert store.unprojected() == ("case-1", "case-2", "draw-1")
        assert store.projection("case-1") is None
        assert store.due_streams(dt.date.max) == ()
        report = store.verify()
        assert (report.ok, report.events, report.anchored) == (True, 4, True)
        # The rows can be built, and appends keep them.
        store.put_projection("case-1", projection(2, dt.date(2026, 6, 1)))
        store.append(
            "case-2",
            events("B"),
            expected_version=1,
            recorded_at=AT,
            projection=projection(2, dt.date(2026, 5, 1)),
        )
        assert store.unprojected(kind="case") == ()
        assert store.due_streams(dt.date(2026, 6, 1), kind="case") == ("case-1", "case-2")
        assert store.verify().ok


def test_an_append_without_a_projection_puts_the_stream_back_in_the_unprojected_index(
    schema: str,
) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        store.create_numbered(
            "c",
            lambda n: NewStream(
                f"case-{n}", events("A"), meta={"kind": "case"}, projection=projection(1)
            ),
            recorded_at=AT,
        )
        assert query(schema, "SELECT stream, projected, version FROM streams") == [("case-1", 1, 1)]
        store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        assert query(schema, "SELECT stream, projected, version FROM streams") == [("case-1", 1, 2)]
        assert store.unprojected(kind="case") == ("case-1",)
        assert store.projection("case-1") is None


def test_a_bad_projection_is_refused_in_words_and_writes_nothing(schema: str) -> None:
    with PostgresEventStore(dsn(), schema=schema) as store:
        bad = Projection(version=1, body={"when": {1, 2}})
        with pytest.raises(ValueError, match=r"projection\.body is not JSON data"):
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT, projection=bad)
        with pytest.raises(ValueError, match="version 3, but the stream will be at version 1"):
            store.create_numbered(
                "c",
                lambda n: NewStream(f"case-{n}", events("A"), projection=projection(3)),
                recorded_at=AT,
            )
        assert store.streams() == ()
        assert query(schema, "SELECT value FROM counters") == []


# --- two writers ------------------------------------------------------------------------------


def test_two_writers_on_one_case_one_wins_and_the_projection_is_the_winners(
    schema: str,
) -> None:
    rounds = 8
    url = with_query(dsn(), schema=schema)
    with PostgresEventStore.from_url(url) as store:
        for round_ in range(rounds):
            store.append(
                f"case-{round_}",
                events("A"),
                expected_version=0,
                recorded_at=AT,
                projection=projection(1, by="nobody"),
            )
    barrier = threading.Barrier(2)
    outcomes: dict[tuple[str, int], str] = {}

    def writer(name: str) -> None:
        # Its own store object: its own pool, as another server would have.
        with PostgresEventStore.from_url(url) as mine:
            for round_ in range(rounds):
                stream = f"case-{round_}"
                read = mine.projection(stream)
                assert read is not None
                barrier.wait(30)
                try:
                    mine.append(
                        stream,
                        events(f"B-{name}"),
                        expected_version=read.version,
                        recorded_at=AT,
                        projection=projection(read.version + 1, by=name),
                    )
                except ConcurrencyError:
                    outcomes[name, round_] = "lost"
                else:
                    outcomes[name, round_] = "won"

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes) == 2 * rounds
    with PostgresEventStore.from_url(url) as store:
        for round_ in range(rounds):
            stream = f"case-{round_}"
            won = [name for name in "ab" if outcomes[name, round_] == "won"]
            assert len(won) == 1, (round_, outcomes)
            assert [e.type for e in store.read(stream)] == ["A", f"B-{won[0]}"]
            assert store.projection(stream) == projection(2, by=won[0])
        assert store.unprojected() == ()
        assert store.verify().ok


def test_put_projection_racing_an_append_never_leaves_a_stale_row(schema: str) -> None:
    url = with_query(dsn(), schema=schema)
    rounds = 8
    with PostgresEventStore.from_url(url) as store:
        for round_ in range(rounds):
            store.append(f"case-{round_}", events("A"), expected_version=0, recorded_at=AT)
    barrier = threading.Barrier(2)
    refused: list[int] = []

    def rebuilder() -> None:
        with PostgresEventStore.from_url(url) as mine:
            for round_ in range(rounds):
                barrier.wait(30)
                try:
                    mine.put_projection(f"case-{round_}", projection(1, by="rebuild"))
                except ConcurrencyError:
                    refused.append(round_)

    def appender() -> None:
        with PostgresEventStore.from_url(url) as mine:
            for round_ in range(rounds):
                barrier.wait(30)
                mine.append(
                    f"case-{round_}",
                    events("B"),
                    expected_version=1,
                    recorded_at=AT,
                    projection=projection(2, by="append"),
                )

    threads = [threading.Thread(target=rebuilder), threading.Thread(target=appender)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with PostgresEventStore.from_url(url) as store:
        # Whichever came first, the row that stays is the append's, of the stream's version.
        for round_ in range(rounds):
            assert store.projection(f"case-{round_}") == projection(2, by="append")
        assert store.unprojected() == ()
    assert set(refused) <= set(range(rounds))


# --- the service on PostgreSQL -----------------------------------------------------------------


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commitment letters are signed: a key for this test's process (not a secret)."""
    monkeypatch.setenv(SIGNING_KEY_ENV, "creditcommit-postgres test key - NOT SECRET")


def on_postgres(directory: Path, schema: str) -> Path:
    """The adapter's test city (``pg_workers.prepare``) with Gaoyou's permit not decided on
    the spot: an accepted case waits for deferred materials, and a tick suspends it."""
    config = prepare_city(directory, with_query(dsn(), schema=schema))
    text = (files("creditcommit") / "data" / "sample_catalog.toml").read_text(encoding="utf-8")
    head, marker, gaoyou = text.partition(f'code = "{GAOYOU}"')
    gaoyou = gaoyou.replace("on_the_spot = true", "on_the_spot = false", 1)
    (directory / "catalog.toml").write_text(head + marker + gaoyou, encoding="utf-8")
    settings = config.read_text(encoding="utf-8")
    config.write_text(settings.replace('"sample"', '"catalog.toml"', 1), encoding="utf-8")
    return config


def at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


def accepted_with_deferred_materials(service: Approvals) -> Case:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    signer = Signer(case.applicant.name, case.applicant.identifier)
    case = service.accept(service.sign_commitment(case.case_id, signer).case_id)
    assert case.state is CaseState.ACCEPTED
    assert {line.due for line in case.outstanding} == {DEFERRED_DUE}
    return case


@pytest.mark.usefixtures("signing_key")
def test_the_service_reads_ticks_and_verifies_from_projections(schema: str, tmp_path: Path) -> None:
    config = on_postgres(tmp_path, schema)
    with Approvals.from_config(config, clock=ManualClock(START)) as service:
        assert isinstance(service.store, PostgresEventStore)
        case = accepted_with_deferred_materials(service)
        read = service.case(case.case_id)
        assert isinstance(read.history, History)
        assert not read.history.loaded
        assert read == case
        assert query(schema, "SELECT due FROM projections WHERE stream = %s", case.case_id) == [
            (DEFERRED_DUE + dt.timedelta(days=1),)
        ]
        assert service.tick(at(DEFERRED_DUE, 23, 59)).suspended == ()
        assert service.tick(at(DEFERRED_DUE + dt.timedelta(days=1))).suspended == (case.case_id,)
        assert service.verify().ok

        # A projection changed behind the store's back: verify names its case.
        ((body,),) = query(schema, "SELECT body FROM projections WHERE stream = %s", case.case_id)
        assert isinstance(body, str)
        changed = json.loads(body)
        changed["state"] = "ISSUED"
        shell(
            schema,
            (
                "UPDATE projections SET body = %s WHERE stream = %s",
                (json.dumps(changed), case.case_id),
            ),
        )
        report = service.verify()
        assert not report.ok
        assert report.stream == case.case_id
        assert report.problem == (
            f"the projection of case {case.case_id} does not match its events: its 'state' "
            'reads "ISSUED", the events fold to "SUSPENDED" (changed behind the store\'s back)'
        )


@pytest.mark.usefixtures("signing_key")
def test_cases_written_under_schema_1_get_their_projections_when_opened(
    schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = on_postgres(tmp_path, schema)
    with (
        monkeypatch.context() as patch,
        Approvals.from_config(config, clock=ManualClock(START)) as service,
    ):
        # Written as before documents (schema 1 had none): the signed letter stays inline
        # in its event, so dropping the documents table below loses nothing.
        patch.setattr(service, "_store_kinds", lambda: (service.store, None))
        accepted = accepted_with_deferred_materials(service)
        submitted = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        expected = {c.case_id: service.case(c.case_id) for c in (accepted, submitted)}
        for case in expected.values():
            assert len(tuple(case.history)) == case.version  # read before the store closes
    downgrade_to_schema_1(schema)
    with Approvals.from_config(config, clock=ManualClock(START)) as service:
        # from_config migrated the schema and rebuilt every case's projection.
        assert query(schema, "SELECT count(*) FROM projections") == [(2,)]
        assert isinstance(service.store, PostgresEventStore)
        assert service.store.unprojected(kind="case") == ()
        for case_id, case in expected.items():
            read = service.case(case_id)
            assert isinstance(read.history, History)
            assert not read.history.loaded
            assert read == case
        assert service.verify().ok
        report = service.tick(at(DEFERRED_DUE + dt.timedelta(days=1)))
        assert report.suspended == (accepted.case_id,)
