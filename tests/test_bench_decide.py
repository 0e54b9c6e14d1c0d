"""The decisions and re-tiering benchmarks cannot rot: they run, small, in ``make test``.

The figures are not asserted (performance is measured by ``make bench``, never in
pytest); what is asserted is that each benchmark checks what it claims to check — the Rego
rules give the plain function's route on every combination of facts, the decisions
section finds 0 mismatches, the re-tiering stream decides as ``decide_many``.
"""

from __future__ import annotations

import importlib
import itertools
import sys
from pathlib import Path
from typing import Any

import pytest

# benchmarks/ is not a package, nor on mypy's path: its modules are loaded by name.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench_retier: Any = importlib.import_module("bench_retier")
run: Any = importlib.import_module("run")
Options: Any = importlib.import_module("sections").Options

EVIDENCE = (
    "usable",
    "missing",
    "failed",
    "wrong_subject",
    "unverified",
    "stale",
    "future",
    "other_scale",
)
RECORDS = ("none", "blocking", "until_repair", "banned")
LEVELS = ("", "county", "municipal", "provincial", "national")


def _constants() -> list[dict[str, Any]]:
    found = []
    for item_standard, levels, no_query, unavailable in itertools.product(
        (False, True), ([], ["municipal", "national"]), (False, True), ("standard", "conditional")
    ):
        found.append(
            {
                "item_standard": item_standard,
                "levels": levels,
                "no_query": no_query,
                "unavailable": unavailable,
                "size": 5,
                "threshold": 1,
            }
        )
    return found


@pytest.mark.parametrize("c", _constants())
def test_the_rego_rules_route_as_the_plain_function(c: dict[str, Any]) -> None:
    pytest.importorskip("regopy")
    rego, plain = run.rego_engine(c), run.plain(c)
    checked = 0
    for ev, rec, level, grade in itertools.product(EVIDENCE, RECORDS, LEVELS, range(-1, 7)):
        facts = {"ev": ev, "rec": rec, "level": level, "grade": grade, "chose": False}
        assert rego(facts) == plain(facts), facts
        checked += 1
    assert checked == len(EVIDENCE) * len(RECORDS) * len(LEVELS) * 8


def test_the_decisions_section_runs_and_finds_no_mismatch() -> None:
    sec = run.decisions(Options(quick=True, repeat=1))
    peers = [what for what, _, _ in sec.rows if "mismatches" in what]
    assert peers
    assert all("(routes only; 0 mismatches)" in what for what in peers)
    assert {t.what.split(",")[0].split(" ")[0] for t in sec.targets} >= {"decide_many", "decide()"}
    assert any("Rego engine" in t.what for t in sec.targets)


def test_the_retier_stream_decides_as_decide_many_in_flat_memory() -> None:
    found = bench_retier.child(6_000, 1_000)
    assert found["mismatches"] == 0
    assert [n for n, _ in found["samples"]] == list(range(0, 6_001, 1_000))
    assert sum(found["routes"].values()) == 6_000
    assert all(mb > 0 for _, mb in found["samples"])


def test_a_cloned_item_is_equal_but_new() -> None:
    item = bench_retier.feed(1, 1)[0].item
    again = bench_retier.clone(item)
    assert again == item
    assert again is not item
    assert again.catalog == item.catalog
