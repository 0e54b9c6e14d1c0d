"""The ``pipeline-postgres`` section of ``make bench`` runs (tiny sizes), so it cannot rot.

It checks its own answers (every new case issued, every tick moving nothing) and raises
otherwise; this runs it in a scratch schema of its own, not ``creditcommit_bench``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pg_support import dsn, scratch_schema

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def bench() -> tuple[Any, Any]:
    """``bench_pipeline_pg.section`` and ``sections.Options`` (benchmarks/ is not a package:
    imported by name once on the path, as ``benchmarks/run.py`` does)."""
    module = importlib.import_module("bench_pipeline_pg")
    return module.section, importlib.import_module("sections").Options


def test_the_pipeline_section_runs_and_drops_its_schema() -> None:
    section, options = bench()

    with scratch_schema() as schema:
        sec = section(
            options(quick=True, repeat=1), dsn=dsn(), schema=schema, sizes=(5, 20), per_run=2
        )
        with psycopg.connect(dsn()) as conn:
            found = conn.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
            ).fetchone()
    assert found is None
    whats = [what for what, _, _ in sec.rows]
    assert "pipeline on PostgreSQL, 20 cases stored" in whats
    assert "tick() with nothing due, PostgreSQL, 20 cases" in whats
    assert [t.met for t in sec.targets if "tick" in t.what] == [True]
    assert len(sec.targets) == 2


def test_without_a_server_the_section_says_so() -> None:
    section, options = bench()

    sec = section(options(quick=True), dsn="postgresql://nobody@127.0.0.1:1/none")
    assert sec.rows == []
    assert sec.targets == []
    assert sec.notes[0].startswith("Not run: no PostgreSQL server at")
    assert sys.modules["bench_pipeline_pg"].SCHEMA == "creditcommit_bench"
