"""Draws over columns (TargetColumns): the same draw as over Target objects, from lists,
numpy arrays and id,grade files; the format-2 records made before columns still verify."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcommit.draws import (
    FORMAT,
    FORMAT_2,
    Conflict,
    DrawRecord,
    Inspector,
    Target,
    TargetColumns,
    _draw,
    draw,
    sample_size,
    verify_draw,
)
from creditcommit.errors import DataFileError, DrawError, DrawVerificationError
from creditcommit.population import first_problem

GOLDEN = Path(__file__).parent / "golden"
SEED = bytes(range(100, 132))
COMMITMENT = hashlib.sha256(SEED).hexdigest()


def run(targets: Any, **changes: Any) -> DrawRecord:
    args: dict[str, Any] = {
        "ratios": {"A": 0.1, "B": 0.25, "C": 0.5, "D": 1},
        "inspectors": [Inspector(f"E{i:02d}", f"检查员{i}") for i in range(12)],
        "conflicts": [Conflict("E01", "9132000003", "近亲属任职")],
        "per_target": 2,
        "seed": SEED,
        "commitment": COMMITMENT,
        "draw_id": "columns",
    }
    args.update(changes)
    return draw(targets, **args)


IDS = [f"9132{n:06d}" for n in range(400)]
GRADES = ["ABCD"[(n * 7) % 4] for n in range(400)]


def rows(ids: Sequence[str], grades: Sequence[str]) -> list[Target]:
    return [Target(i, g) for i, g in zip(ids, grades, strict=True)]


def write_csv(path: Path, ids: Sequence[str], grades: Sequence[str], header: bool = True) -> Path:
    lines = ["id,grade"] if header else []
    lines += [f"{i},{g}" for i, g in zip(ids, grades, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- differential


@st.composite
def column_inputs(draw_: st.DrawFn) -> dict[str, Any]:
    numbers = draw_(st.lists(st.integers(0, 5_000), unique=True, max_size=60))
    ids = [f"9132{n:06d}" if n % 7 else f"甲{n}" for n in numbers]
    grades = [draw_(st.sampled_from("ABC")) for _ in ids]
    roster = [
        Inspector(f"E{i:02d}", f"检查员{i}")
        for i in draw_(st.sets(st.integers(0, 30), min_size=3, max_size=9))
    ]
    conflicts = []
    if ids:
        pairs = st.tuples(st.sampled_from(roster), st.sampled_from(ids))
        conflicts = [Conflict(i.id, t, "利害关系") for i, t in draw_(st.lists(pairs, max_size=6))]
    seed = draw_(st.binary(min_size=16, max_size=32))
    return {
        "ids": ids,
        "grades": grades,
        "ratios": {g: draw_(st.fractions(0, 1, max_denominator=10)) for g in "ABC"},
        "inspectors": roster,
        "conflicts": conflicts,
        "per_target": draw_(st.integers(2, 3)),
        "seed": seed,
        "commitment": hashlib.sha256(seed).hexdigest(),
        "draw_id": "D-1",
        "beacon": draw_(st.binary(max_size=6)),
    }


def both(inputs: dict[str, Any], columns: TargetColumns) -> tuple[Any, Any]:
    """The plain draw over Target rows and the column draw: records, or the DrawErrors."""
    args = {k: v for k, v in inputs.items() if k not in ("ids", "grades")}
    found: list[Any] = []
    for targets in (rows(inputs["ids"], inputs["grades"]), columns):
        try:
            found.append(draw(targets, **args))
        except DrawError as exc:
            found.append((exc.rule, exc.detail, exc.target))
    return found[0], found[1]


@given(column_inputs())
@settings(max_examples=100)
def test_the_column_draw_is_the_row_draw(inputs: dict[str, Any]) -> None:
    """Same targets, keys, inspectors, population digest: the same record (or the same error)."""
    plain, columns = both(inputs, TargetColumns.of(inputs["ids"], inputs["grades"]))
    assert columns == plain


@given(column_inputs())
@settings(max_examples=100)
def test_column_draws_obey_the_laws_of_draws(inputs: dict[str, Any]) -> None:
    columns = TargetColumns.of(inputs["ids"], inputs["grades"])
    args = {k: v for k, v in inputs.items() if k not in ("ids", "grades")}
    try:
        record = draw(columns, **args)
    except DrawError as exc:
        if exc.rule != "coverage":
            raise
        return
    counts = Counter(inputs["grades"])
    drawn = Counter(s.target.grade for s in record.selections)
    for grade, ratio in inputs["ratios"].items():
        assert drawn[grade] == sample_size(ratio, counts[grade])
    chosen = [s.target.id for s in record.selections]
    assert len(chosen) == len(set(chosen))
    assert set(chosen) <= set(inputs["ids"])
    recused = {(c.inspector, c.target) for c in inputs["conflicts"]}
    for s in record.selections:
        assert len(set(s.inspectors)) == inputs["per_target"]
        assert not any((i, s.target.id) in recused for i in s.inspectors)
    assert [s.key for s in record.selections] == sorted(s.key for s in record.selections)
    # Reproducible, from the columns in any order; verifiable from the columns or the rows.
    backwards = TargetColumns.of(inputs["ids"][::-1], inputs["grades"][::-1])
    assert draw(backwards, **args) == record
    assert verify_draw(record, targets=columns)
    assert verify_draw(record, targets=rows(inputs["ids"], inputs["grades"]))
    first = record.selections[0] if record.selections else None
    others = [i.id for i in inputs["inspectors"] if first and i.id not in first.inspectors]
    if first and others:
        forged = attrs.evolve(
            record,
            selections=[
                attrs.evolve(first, inspectors=(*first.inspectors[1:], others[0])),
                *record.selections[1:],
            ],
        )
        with pytest.raises(DrawVerificationError):
            verify_draw(forged, targets=columns)
    if inputs["ids"]:
        fewer = TargetColumns.of(inputs["ids"][1:], inputs["grades"][1:])
        with pytest.raises(DrawVerificationError, match="population"):
            verify_draw(record, targets=fewer)


def test_numpy_columns_of_text_or_bytes_draw_the_same() -> None:
    plain = run(rows(IDS, GRADES))
    assert run(TargetColumns.of(np.array(IDS), np.array(GRADES))) == plain
    as_bytes = TargetColumns.of(np.array([i.encode() for i in IDS]), np.array(GRADES, dtype="S1"))
    assert run(as_bytes) == plain


def test_a_large_population_spans_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("creditcommit.population.CHUNK", 64)
    plain = run(rows(IDS, GRADES))
    assert run(TargetColumns.of(IDS, GRADES)) == plain


def test_a_file_draws_the_same(tmp_path: Path) -> None:
    plain = run(rows(IDS, GRADES))
    path = write_csv(tmp_path / "export.csv", IDS, GRADES)
    assert run(TargetColumns.from_csv(path)) == plain
    bare = write_csv(tmp_path / "bare.csv", IDS, GRADES, header=False)
    assert run(TargetColumns.from_csv(bare)) == plain
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    assert run(TargetColumns.from_csv(crlf)) == plain
    assert verify_draw(plain, targets=TargetColumns.from_csv(path))


def test_a_file_is_read_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "export.csv", IDS, GRADES)
    real = open

    class Small:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.fh = real(*args, **kwargs)

        def read(self, _: int) -> str:
            return str(self.fh.read(7))

        def __enter__(self) -> Small:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    monkeypatch.setattr("creditcommit.population.open", Small, raising=False)
    assert list(TargetColumns.from_csv(path)) == list(zip(IDS, GRADES, strict=True))


def test_with_counts_the_columns_are_read_once() -> None:
    calls = 0

    def chunks() -> Iterator[tuple[list[str], list[str]]]:
        nonlocal calls
        calls += 1
        yield IDS, GRADES

    counts = dict(Counter(GRADES))
    record = run(TargetColumns.from_chunks(chunks, counts=counts))
    assert calls == 1
    assert record == run(rows(IDS, GRADES))
    calls = 0
    assert run(TargetColumns.from_chunks(chunks)) == record
    assert calls == 2  # a first pass to count the grades


def test_the_format_2_record_made_before_columns_still_verifies() -> None:
    """A record written by the draw before this change (a fixture): read, verified, re-made."""
    data = json.loads((GOLDEN / "draw-format-2-untyped.json").read_text(encoding="utf-8"))
    record = DrawRecord.from_dict(data)
    assert record.format == FORMAT_2
    assert record.to_dict() == data
    assert verify_draw(record, targets=rows(IDS, GRADES))
    assert verify_draw(record, targets=TargetColumns.of(IDS, GRADES))
    conflicts = [
        Conflict("E01", "9132000003", "近亲属任职"),
        Conflict("E03", "9132000003", "曾任职"),
    ]
    args: dict[str, Any] = {
        "ratios": {"A": 0.1, "B": 0.25, "C": 0.5, "D": 1},
        "inspectors": [Inspector(f"E{i:02d}", f"检查员{i}") for i in range(12)],
        "seed": SEED,
        "commitment": COMMITMENT,
        "per_target": 3,
        "conflicts": conflicts,
        "draw_id": "golden-format-2-untyped",
    }
    for targets in (TargetColumns.of(IDS, GRADES), rows(IDS, GRADES)):
        assert _draw(targets=targets, **args, format=FORMAT_2) == record
    # New draws are format 3: other keys and inspectors from the same inputs.
    fresh = run(TargetColumns.of(IDS, GRADES), per_target=3, conflicts=conflicts)
    assert fresh.format == FORMAT
    assert fresh.population_digest != record.population_digest


GOLDEN_POPULATION = [
    Target(
        f"9132{n:06d}",
        "ABCD"[(n * 7) % 4],
        ("item-1",) if n % 5 == 0 else (),
        inspection_type="食品安全" if n % 9 == 0 else None,
    )
    for n in range(300)
]


@pytest.mark.parametrize("name", ["draw-format-2.json", "draw-format-3.json"])
def test_the_typed_golden_records_still_verify(name: str) -> None:
    """Fixtures written by each format's draw: read, verified, a changed registry rejected."""
    data = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    record = DrawRecord.from_dict(data)
    assert record.to_dict() == data
    population = GOLDEN_POPULATION
    assert verify_draw(record, targets=population)
    assert verify_draw(record, targets=list(reversed(population)))
    with pytest.raises(DrawVerificationError, match="population digest"):
        verify_draw(record, targets=[*population[:-1], Target("9132000299", "B", ("item-2",))])


def test_the_format_3_golden_record_is_what_a_new_draw_makes() -> None:
    """Pins format 3: the same inputs must keep giving exactly the fixture's record."""
    data = json.loads((GOLDEN / "draw-format-3.json").read_text(encoding="utf-8"))
    record = DrawRecord.from_dict(data)
    assert record.format == FORMAT
    again = draw(
        GOLDEN_POPULATION,
        ratios=dict(record.ratios),
        inspectors=record.roster,
        conflicts=record.conflicts,
        per_target=record.per_target,
        seed=record.seed,
        commitment=record.commitment,
        draw_id=record.draw_id,
        beacon=record.beacon,
    )
    assert again == record


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("ids", "grades", "rule", "message"),
    [
        (["a", "b"], ["A", "Z"], "grade", "target 'b' has grade 'Z', which has no sampling ratio"),
        (["a", " b"], ["A", "A"], "input", "target 1: id: expected non-empty text"),
        (["a", ""], ["A", "A"], "input", "target 1: id: expected non-empty text"),
        (["a", 7], ["A", "A"], "input", "target 1: id: expected a string, got number 7"),
        (["a", "a"], ["D", "D"], "duplicate", "target 'a' appears twice"),
    ],
)
def test_bad_columns_are_named(ids: list[Any], grades: list[str], rule: str, message: str) -> None:
    with pytest.raises(DrawError) as info:
        run(TargetColumns.of(ids, grades), counts={"A": 1, "D": 1} if rule == "grade" else None)
    assert info.value.rule == rule
    assert message in info.value.detail


def test_an_unknown_grade_is_found_when_counting() -> None:
    with pytest.raises(DrawError, match="1 targets have grade 'Z'") as info:
        run(TargetColumns.of(["a", "b"], ["A", "Z"]))
    assert info.value.rule == "grade"


def test_counts_that_do_not_match_the_columns_fail_the_draw() -> None:
    with pytest.raises(DrawError, match="has 100 targets of grade 'A', but counts says 99"):
        run(TargetColumns.of(IDS, GRADES, counts={"A": 99, "B": 100, "C": 100, "D": 100}))


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="got 2 ids and 1 grades"):
        TargetColumns.of(["a", "b"], ["A"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("id,grade\na,A\nb\n", "line 3: expected 'id,grade' (one comma), got 'b'"),
        ("a,A\nb,A,x\n", "line 2: expected 'id,grade' (one comma), got 'b,A,x'"),
        ("a,A\n\nb,A\n", "line 2: expected 'id,grade' (one comma), got ''"),
        ("a,A\n b,A\n", "line 2: id: expected non-empty text without surrounding spaces"),
        ("a,A\n乙,A \n", "line 2: grade: expected non-empty text without surrounding spaces"),
    ],
)
def test_a_malformed_file_names_the_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        run(TargetColumns.from_csv(path))
    assert problem in info.value.report()


def test_a_missing_or_binary_file_is_a_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read file"):
        run(TargetColumns.from_csv(tmp_path / "missing.csv"))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"a,A\n\xff\xfe,B\n")
    with pytest.raises(DataFileError, match="not UTF-8"):
        run(TargetColumns.from_csv(binary))


@given(st.lists(st.text(max_size=4), max_size=8))
def test_the_chunk_check_finds_exactly_the_bad_ids(values: list[str]) -> None:
    """The C-speed check of a chunk agrees with checking every id (the slow, plain way)."""
    plain = next(
        (n for n, v in enumerate(values) if not v or v != v.strip()),
        None,
    )
    found = first_problem(values)
    assert (found[0] if found else None) == plain


# --------------------------------------------------------------------------- benchmark


@pytest.mark.slow  # spawns four child processes over 200,000 targets
def test_the_benchmark_section_runs_quickly() -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    bench = importlib.import_module("bench_draws")
    options = importlib.import_module("sections").Options

    result = bench.section(options(quick=True))
    assert len(result.rows) == 4


@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=12).flatmap(
        lambda values: st.tuples(
            st.just(values),
            st.sets(st.integers(0, len(values) - 1), min_size=1),
            st.integers(1, 4),
        )
    )
)
def test_the_random_order_picks_the_smallest_values_then_roster_order(
    case: tuple[list[int], set[int], int],
) -> None:
    """Inspectors tied in load: smallest order value first, an exact tie to roster order."""
    from creditcommit.draws import _first_in_order

    values, members, need = case
    need = min(need, len(members))
    expected = sorted(members, key=lambda i: (values[i], i))[:need]
    assert _first_in_order(set(members), values, need) == expected


def test_order_values_are_big_endian_64_bit() -> None:
    from creditcommit.draws import _order_values

    data = bytes(range(16))
    assert list(_order_values(data)) == [
        int.from_bytes(data[:8], "big"),
        int.from_bytes(data[8:], "big"),
    ]


def test_a_file_is_counted_without_splitting_its_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", IDS, GRADES)
    columns = TargetColumns.from_csv(path)
    assert columns.grade_counts(("A", "B", "C", "D")) == dict(Counter(GRADES))
    # A grade it was not told of: counted line by line instead, so it is found.
    assert columns.grade_counts(("A", "B", "C")) == dict(Counter(GRADES))
    with pytest.raises(DrawError, match="100 targets have grade 'D'"):
        run(columns, ratios={"A": 0.1, "B": 0.25, "C": 0.5})
