"""Projections: a case is read from one row, the tick visits only what is due, ``verify``
checks the projections against the events, and a schema-2 file gets them when opened."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from creditcommit import (
    Approvals,
    Case,
    CaseEvent,
    CaseState,
    History,
    HistoryUnavailable,
    ManualClock,
)
from creditcommit._codec import case_from_snapshot, case_to_snapshot, event_from_record
from creditcommit.builtin.sqlite_store import SCHEMA_VERSION, SQLiteEventStore
from creditcommit.case import due, next_deadline
from creditcommit.ports import canonical_json
from test_service import (
    FORM,
    GAOYOU,
    HOTEL,
    START,
    accepted_with_deferred_materials,
    at,
    prepare,
    sign,
)

DEFERRED_DUE = dt.date(2025, 10, 10)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def folded(service: Approvals, case_id: str) -> Case:
    return Case.from_events(event_from_record(e.type, e.payload) for e in service.history(case_id))


def loaded(case: Case) -> bool:
    """Whether the history of ``case`` was read (a case read from its projection)."""
    assert isinstance(case.history, History)
    return case.history.loaded


def sql(db: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        return con.execute(statement, params).fetchall()


# --- reading a case --------------------------------------------------------------------------


def test_a_case_is_read_from_its_projection_and_its_history_only_when_asked(
    tmp_path: Path, clock: ManualClock
) -> None:
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        case = accepted_with_deferred_materials(service)
        read = service.case(case.case_id)
        assert not loaded(read)
        assert read.version == case.version == len(service.history(case.case_id))
        assert read == case == folded(service, case.case_id)
        assert loaded(read)  # the comparison read the events
        # An action appends to a history not yet read without reading it.
        again = service.case(case.case_id)
        moved = service.supply_material(case.case_id, "GGCSWSXK-04")
        assert moved.version == again.version + 1
        assert moved == folded(service, case.case_id)


def test_the_snapshot_round_trips(tmp_path: Path, clock: ManualClock) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock) as service:
        case = sign(service, service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM]))
        case = folded(service, service.accept(case.case_id).case_id)
        assert case.state is CaseState.ISSUED
    data = json.loads(canonical_json(case_to_snapshot(case)))
    assert case_from_snapshot(data, case.history) == case
    assert data["version"] == case.version
    assert data["state"] == "ISSUED"


def test_the_history_of_a_case_cannot_be_read_once_the_service_is_closed(
    tmp_path: Path, clock: ManualClock
) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock) as service:
        case = service.case(service.submit(item=GAOYOU, applicant=HOTEL).case_id)
        loaded = service.case(case.case_id)
        assert len(loaded.history) == loaded.version  # read while the service is open
    assert case.version == loaded.version  # known without the events
    with pytest.raises(HistoryUnavailable) as raised:
        list(case.history)
    assert raised.value.case_id == case.case_id
    assert "read case.history before closing the service" in str(raised.value)


def test_history_is_a_sequence_that_loads_once(tmp_path: Path, clock: ManualClock) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock) as service:
        case = folded(service, service.submit(item=GAOYOU, applicant=HOTEL).case_id)
    events = tuple(case.history)
    calls: list[int] = []

    def load() -> tuple[CaseEvent, ...]:
        calls.append(1)
        return events

    history = History(len(events), load)
    longer = history.extended(events[-1])
    assert (len(history), len(longer), calls) == (len(events), len(events) + 1, [])
    assert history == events
    assert events == history
    assert list(longer) == [*events, events[-1]]
    assert history[0] is events[0]
    assert calls == [1, 1]  # once for each history, never again
    assert list(reversed(history)) == list(reversed(events))
    assert calls == [1, 1]
    assert hash(history) == hash(events)
    with pytest.raises(ValueError, match="at least one event"):
        History(0, load)
    with pytest.raises(ValueError, match="should hold 5 events, 2 were loaded"):
        list(History(5, lambda: events[:2]))


# --- the tick index --------------------------------------------------------------------------


def test_next_deadline_of_an_accepted_case_is_the_day_after_its_first_due_material(
    tmp_path: Path, clock: ManualClock
) -> None:
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        case = folded(service, accepted_with_deferred_materials(service).case_id)
        calendar = service.calendar()
    assert next_deadline(case) == DEFERRED_DUE + dt.timedelta(days=1)
    assert due(case, at(DEFERRED_DUE, 23, 59), calendar) == ()
    assert due(case, at(DEFERRED_DUE + dt.timedelta(days=1), 0, 1), calendar) != ()
    assert next_deadline(Case.from_events(case.history[:2])) is None  # submitted


def test_the_tick_reads_only_the_cases_that_are_due(tmp_path: Path, clock: ManualClock) -> None:
    db = tmp_path / "cases.db"
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        broken = accepted_with_deferred_materials(service).case_id
        fine = accepted_with_deferred_materials(service).case_id
        (due_day,) = sql(db, "SELECT due FROM projections WHERE stream = ?", fine)[0]
        assert due_day == "2025-10-11"
        # A projection nobody can read: the tick finds out only when the case is due.
        sql(db, "UPDATE projections SET body = '{}' WHERE stream = ?", broken)
        report = service.tick(at(DEFERRED_DUE, 23, 59))
        assert (report.failed, report.suspended) == ((), ())
        report = service.tick(at(DEFERRED_DUE + dt.timedelta(days=1)))
        assert report.suspended == (fine,)
        assert [case_id for case_id, _ in report.failed] == [broken]
        assert "case snapshot" in dict(report.failed)[broken]
        # Suspended with its grace period running: not due again until it ends.
        (later,) = sql(db, "SELECT due FROM projections WHERE stream = ?", fine)[0]
        assert isinstance(later, str)
        assert later > "2025-10-11"


# --- verify ------------------------------------------------------------------------------------


def test_verify_reports_a_projection_changed_behind_the_stores_back(
    tmp_path: Path, clock: ManualClock
) -> None:
    db = tmp_path / "cases.db"
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        case = accepted_with_deferred_materials(service)
        assert service.verify().ok
        (body,) = sql(db, "SELECT body FROM projections WHERE stream = ?", case.case_id)[0]
        assert isinstance(body, str)
        changed = json.loads(body)
        changed["state"] = "ISSUED"
        sql(
            db,
            "UPDATE projections SET body = ? WHERE stream = ?",
            json.dumps(changed),
            case.case_id,
        )
        report = service.verify()
        assert not report.ok
        assert report.stream == case.case_id
        assert report.problem == (
            f"the projection of case {case.case_id} does not match its events: its 'state' "
            'reads "ISSUED", the events fold to "ACCEPTED" (changed behind the store\'s back)'
        )
        sql(db, "UPDATE projections SET body = ?, due = NULL WHERE stream = ?", body, case.case_id)
        report = service.verify()
        assert report.stream == case.case_id
        assert report.problem is not None
        assert "tick index" in report.problem


# --- schema 2 ----------------------------------------------------------------------------------


def test_a_schema_2_file_gets_its_projections_when_opened(
    tmp_path: Path, clock: ManualClock
) -> None:
    db = tmp_path / "cases.db"
    config = prepare(tmp_path, on_the_spot=False)
    with Approvals.from_config(config, clock=clock) as service:
        accepted = accepted_with_deferred_materials(service)
        submitted = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        expected = {c.case_id: folded(service, c.case_id) for c in (accepted, submitted)}
    # The file as schema 2 wrote it: no projections table (nor documents, schema 4).
    sql(db, "DROP TABLE projections")
    sql(db, "DROP TABLE documents")
    sql(db, "UPDATE schema_version SET version = 2")
    with SQLiteEventStore(db) as store:
        assert sql(db, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert store.unprojected(kind="case") == tuple(expected)
        assert store.projection(accepted.case_id) is None
    with Approvals.from_config(config, clock=clock) as service:
        for case_id, case in expected.items():
            read = service.case(case_id)
            assert isinstance(read.history, History)
            assert read == case
        assert service.verify().ok
        assert service.tick(at(DEFERRED_DUE + dt.timedelta(days=1))).suspended == (
            accepted.case_id,
        )
    assert len(sql(db, "SELECT stream FROM projections")) == 2
