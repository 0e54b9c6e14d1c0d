"""The report read from projections (issue 11): ``Approvals.report_cases`` on a real store.

The demo installation's store (cases on every route, verified, revoked with a credit record,
rectification ordered, deferred materials overdue) gives the same report from its
projections as from its folded cases, for the year and for every month; cases without a
current projection (appended without one) are folded; a store that keeps no projections
gives folded cases.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from creditcommit import _demo
from creditcommit._codec import event_to_record
from creditcommit.case import ACTIONS, Case, Withdrawn, withdraw
from creditcommit.metrics import ProjectedCase, statistics, statistics_by_period
from creditcommit.ports import ProjectionReader, ProjectionStore
from creditcommit.report_html import report_periods
from creditcommit.service import Approvals

YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("report") / "demo"
    _demo.run(io.StringIO(), where, lang="en")
    return where


def _places(service: Approvals) -> dict[str, Any]:
    """The catalogue and calendar the report takes, as keyword arguments."""
    return {"catalog": service.catalog(), "calendar": service.calendar()}


def _open(where: Path) -> Approvals:
    return Approvals.from_config(where / "creditcommit.toml")


class _OneByOne:
    """The store without :meth:`projections`: the report reads one projection per case."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        if name == "projections":
            raise AttributeError(name)
        return getattr(self._store, name)


def _reading(service: Approvals, path: str) -> Approvals:
    """``service`` reading its projections in chunks (``bulk``) or one by one."""
    if path == "bulk":
        assert isinstance(service.store, ProjectionReader)
        return service
    reader = Approvals(service.integrations, _OneByOne(service.store))  # type: ignore[arg-type]
    assert isinstance(reader.store, ProjectionStore)
    assert not isinstance(reader.store, ProjectionReader)
    return reader


@pytest.mark.parametrize("path", ["bulk", "one-by-one"])
def test_the_demo_store_reports_the_same_from_projections_as_from_its_events(
    demo: Path, path: str
) -> None:
    with _open(demo) as opened:
        service = _reading(opened, path)
        read = list(service.report_cases())
        assert read
        assert all(isinstance(case, ProjectedCase) for case in read)
        assert [case.case_id for case in read] == [case.case_id for case in service.cases()]
        periods = [YEAR, *report_periods(*YEAR), (dt.date(2025, 10, 1), dt.date(2026, 6, 30))]
        kwargs = _places(service)
        found = statistics_by_period(service.report_cases(), periods, **kwargs)
        expected = tuple(
            statistics(service.cases(), start=start, end=end, **kwargs) for start, end in periods
        )
    assert found == expected
    assert found[0].total.figures.submitted > 0
    assert found[0].total.figures.revocations == 1


@pytest.mark.parametrize("path", ["bulk", "one-by-one"])
def test_a_case_appended_without_its_projection_is_folded(
    demo: Path, tmp_path: Path, path: str
) -> None:
    where = tmp_path / "copy"
    where.mkdir()
    for file in demo.iterdir():
        if file.is_file():
            (where / file.name).write_bytes(file.read_bytes())
    with _open(where) as opened:
        service = _reading(opened, path)
        store = service.store
        assert isinstance(store, ProjectionStore)
        # Withdraw an open case behind the service's back: its projection is now behind.
        case = next(c for c in service.cases() if c.state in ACTIONS["withdraw"])
        now = case.history[-1].at + dt.timedelta(days=1)
        records = [event_to_record(event) for event in withdraw(case, now)]
        store.append(case.case_id, records, expected_version=case.version, recorded_at=now)
        assert store.projection(case.case_id) is None
        read = {found.case_id: found for found in service.report_cases()}
        folded = read[case.case_id]
        assert isinstance(folded, Case)
        assert isinstance(folded.closure, Withdrawn)
        kwargs = _places(service)
        found = statistics(read.values(), start=YEAR[0], end=YEAR[1], **kwargs)
        assert found == statistics(service.cases(), start=YEAR[0], end=YEAR[1], **kwargs)
        assert found.total.figures.withdrawn >= 1


class _Plain:
    """The demo store without its projections: only the EventStore methods."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        if name in {"projection", "put_projection", "due_streams", "unprojected"}:
            raise AttributeError(name)
        return getattr(self._store, name)


def test_a_store_without_projections_gives_folded_cases(demo: Path) -> None:
    with _open(demo) as service:
        plain = Approvals(service.integrations, _Plain(service.store))  # type: ignore[arg-type]
        assert not isinstance(plain.store, ProjectionStore)
        read = list(plain.report_cases())
        assert read
        assert all(isinstance(case, Case) for case in read)
        expected = service.cases()
        assert [(c.case_id, c.state, c.version) for c in read] == [  # type: ignore[union-attr]
            (c.case_id, c.state, c.version) for c in expected
        ]
