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

from creditcommit.ports import NewEvent, Projection
from creditcommit_postgres import PostgresEventStore
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
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN (%s, %s)",
                (schema, f"{schema}_ref"),
            ).fetchall()
    assert found == []
    whats = [what for what, _, _ in sec.rows]
    assert "pipeline on PostgreSQL, 20 cases stored" in whats
    assert "pipeline per case, 20 vs 5 stored (PostgreSQL, runs taking turns)" in whats
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


# --- the fast fill against the plain one -------------------------------------------------------

TEMPLATE = "321000-20250926-N0001"
TABLES = {
    "events": "SELECT * FROM events ORDER BY position",
    "streams": "SELECT stream, version, created_at, updated_at, projected FROM streams "
    "ORDER BY seq",
    "stream_meta": "SELECT * FROM stream_meta ORDER BY stream, name",
    "projections": "SELECT * FROM projections ORDER BY stream",
    "checkpoints": "SELECT * FROM checkpoints ORDER BY kind, scope",
    "log_head": "SELECT * FROM log_head",
}


def _template(store: Any, start: Any) -> None:
    """A case with awkward text: Chinese, quotes, a backslash, a tab and a newline (COPY
    escapes them), a number, and the case id in payloads, meta and projection."""
    awkward = '本人承诺 "引号" \\ 反斜杠\t制表\n换行'
    store.append(
        TEMPLATE,
        [
            NewEvent("case-submitted", {"case_id": TEMPLATE, "note": awkward, "fee": 1.5}),
            NewEvent("licence-issued", {"licence": f"XK-{TEMPLATE}", "at": "09:30"}),
        ],
        expected_version=0,
        recorded_at=start,
        meta={"kind": "case", "city": "321000", "licence": f"XK-{TEMPLATE}"},
        idempotency_key="tpl",
        projection=Projection(
            version=2, body={"case_id": TEMPLATE, "note": awkward}, due=start.date()
        ),
    )


def _tables(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(dsn(), options=f"-c search_path={schema}") as conn:
        return {name: conn.execute(query.encode()).fetchall() for name, query in TABLES.items()}


def test_the_copy_fill_writes_what_the_plain_fill_writes_row_for_row() -> None:
    module = importlib.import_module("bench_pipeline_pg")
    with scratch_schema() as plain, scratch_schema() as copied:
        for schema in (plain, copied):
            with PostgresEventStore(dsn(), schema=schema, key="k") as store:
                _template(store, module.START)
        with PostgresEventStore(dsn(), schema=plain, key="k") as store:
            module.fill(store, TEMPLATE, 1, 7)
            module.fill(store, TEMPLATE, 8, 3)
        module.copy_fill(dsn(), copied, TEMPLATE, 1, 7, key="k")
        module.copy_fill(dsn(), copied, TEMPLATE, 8, 3, key="k")  # continues the chain
        expected, found = _tables(plain), _tables(copied)
        assert len(found["events"]) == 2 * 11
        for table in TABLES:
            assert found[table] == expected[table], table
        with PostgresEventStore(dsn(), schema=copied, key="k") as store:
            report = store.verify()
            assert report.ok, report
            assert report.anchored
            assert report.events == 22
        # Without the key the MACs are absent, and a keyless verify still passes.
        with scratch_schema() as keyless:
            with PostgresEventStore(dsn(), schema=keyless, key=None) as store:
                _template(store, module.START)
            module.copy_fill(dsn(), keyless, TEMPLATE, 1, 2, key=None)
            with PostgresEventStore(dsn(), schema=keyless, key=None) as store:
                assert store.verify().ok
                assert all(row[-1] is None for row in _tables(keyless)["events"])
