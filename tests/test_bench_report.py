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
