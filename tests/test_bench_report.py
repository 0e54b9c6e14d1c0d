"""The ``report`` benchmark section runs (small sizes), so that its code cannot rot.

It is timed by ``make bench``, never here: this only checks that it fills a store, finds the
report from projections equal to the former path's, and returns its rows and target.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_report_section_runs_on_a_small_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # a spawned child copies sys.path
    sys.modules.pop("bench_report", None)
    bench_report = importlib.import_module("bench_report")  # found on the path set above

    found = bench_report.measure(size=150, reference=60, repeat=1)
    assert [row[0].split(",")[0] for row in found.rows] == [
        "former path",
        "`creditcommit report --format text`",
        "`creditcommit report --format html`",
    ]
    assert "Checked equal" in found.intro[1]
    (target,) = found.targets
    assert target.goal == "≤ 10 s"


@pytest.mark.parametrize("key", [None, "bench-key"])
def test_the_fast_fill_writes_what_verify_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    """The copies written straight into the tables chain, carry their MACs and checkpoints,
    and report as the former path does."""
    if key is None:
        monkeypatch.delenv("CREDITCOMMIT_LOG_KEY", raising=False)
    else:
        monkeypatch.setenv("CREDITCOMMIT_LOG_KEY", key)
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    sys.modules.pop("bench_report", None)
    bench_report = importlib.import_module("bench_report")
    from creditcommit.builtin.sqlite_store import SQLiteEventStore

    directory = tmp_path / "store"
    templates = bench_report._templates(directory)
    bench_report.fill(directory, templates, 40)
    bench_report.fill(directory, templates, 130, first=40)  # two batches, as the section does
    with SQLiteEventStore(directory / "cases.db") as store:
        report = store.verify()
        assert report.ok, report.problem
        assert report.anchored is (key is not None)
        copies = [i for i in store.streams(kind="case") if "-C" in i.stream]
        assert len(copies) == 130
        assert store.projection(copies[-1].stream) is not None
    assert bench_report._check_equal(directory) > 100  # raises if the two paths differ
    # Every month of the HTML page: the copies closed by the tick in November are counted
    # from their bodies for October (a closing changes no figure), the others folded.
    from creditcommit.metrics import statistics_by_period
    from creditcommit.report_html import report_periods
    from creditcommit.service import Approvals

    periods = [bench_report.YEAR, *report_periods(*bench_report.YEAR)]
    with Approvals.from_config(directory / "creditcommit.toml") as service:
        catalog, calendar = service.catalog(), service.calendar()
        found = statistics_by_period(
            service.report_cases(), periods, catalog=catalog, calendar=calendar
        )
        expected = statistics_by_period(
            service.cases(), periods, catalog=catalog, calendar=calendar
        )
    assert found == expected
    assert found[10].total.figures.submitted > 100  # October
