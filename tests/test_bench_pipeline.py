"""The pipeline benchmark section still runs (quick sizes; figures not asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.slow
def test_the_pipeline_section_runs_quick() -> None:
    import bench_pipeline  # type: ignore[import-not-found]
    from sections import Options  # type: ignore[import-not-found]

    section = bench_pipeline.section(Options(quick=True, repeat=1))
    titles = [what for what, _, _ in section.rows]
    assert any("(a) pipeline, commit per command, 1,000 cases stored" in t for t in titles)
    assert any("(b) pipeline, 10 cases per commit, 1,000 cases stored" in t for t in titles)
    assert any("2,000 events" in t for t in titles)
    assert any("tick()" in t for t in titles)
