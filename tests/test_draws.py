"""Tests for creditcommit.draws: 双随机 draws, seed commitments, verification."""

from __future__ import annotations

import hashlib
import json
import math
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from creditcommit.draws import (
    FORMAT,
    FORMAT_1,
    FORMAT_2,
    Conflict,
    DrawnTarget,
    DrawRecord,
    Inspector,
    SeedCommitment,
    Target,
    _draw,
    draw,
    sample_size,
    verify_draw,
)
from creditcommit.errors import (
    CreditCommitError,
    DataFileError,
    DrawError,
    DrawVerificationError,
    InvalidValue,
)

SEED = bytes(range(32))
COMMITMENT = hashlib.sha256(SEED).hexdigest()
ROSTER = [Inspector(f"I{i}", f"检查员{i}", ("市场监管",)) for i in range(6)]
POPULATION = [Target(f"T{n:03d}", "ABC"[n % 3], ("item-1",) if n % 4 else ()) for n in range(60)]
RATIOS = {"A": Fraction(1, 20), "B": Fraction(1, 5), "C": Fraction(1)}


def make(**changes: Any) -> DrawRecord:
    args: dict[str, Any] = {
        "ratios": RATIOS,
        "inspectors": ROSTER,
        "conflicts": [Conflict("I0", "T002", "近亲属任职")],
        "seed": SEED,
        "commitment": COMMITMENT,
        "draw_id": "2026-抽查-001",
    }
    args.update(changes)
    targets = args.pop("targets", POPULATION)
    return draw(targets, **args)


# --------------------------------------------------------------------------- strategies

seeds = st.binary(min_size=16, max_size=40)
ratio_values = st.fractions(min_value=0, max_value=1, max_denominator=12)


@st.composite
def populations(draw_: st.DrawFn, grades: str = "ABC") -> list[Target]:
    numbers = draw_(st.lists(st.integers(0, 10_000), unique=True, max_size=30))
    return [
        Target(
            f"9132{n:06d}",
            draw_(st.sampled_from(grades)),
            draw_(st.lists(st.sampled_from(["item-1", "item-2", "江都"]), max_size=2)),
        )
        for n in numbers
    ]


@st.composite
def rosters(draw_: st.DrawFn, min_size: int = 2) -> list[Inspector]:
    ids = draw_(st.lists(st.integers(0, 99), unique=True, min_size=min_size, max_size=7))
    return [Inspector(f"E{i:02d}", f"检查员{i}") for i in ids]


@st.composite
def draws_inputs(draw_: st.DrawFn, with_conflicts: bool = True) -> dict[str, Any]:
    population = draw_(populations())
    roster = draw_(rosters())
    conflicts: list[Conflict] = []
    if with_conflicts and population:
        pairs = st.tuples(st.sampled_from(roster), st.sampled_from(population))
        for inspector, target in draw_(st.lists(pairs, max_size=12)):
            conflicts.append(Conflict(inspector.id, target.id, "利害关系"))
    seed = draw_(seeds)
    return {
        "targets": population,
        "ratios": {g: draw_(ratio_values) for g in "ABC"},
        "inspectors": roster,
        "conflicts": conflicts,
        "per_target": draw_(st.integers(2, 3)),
        "seed": seed,
        "commitment": hashlib.sha256(seed).hexdigest(),
        "draw_id": "D-1",
        "beacon": draw_(st.binary(max_size=8)),
    }


def run(inputs: dict[str, Any]) -> DrawRecord:
    args = dict(inputs)
    return draw(args.pop("targets"), **args)


def run_or_none(inputs: dict[str, Any]) -> DrawRecord | None:
    try:
        return run(inputs)
    except DrawError as exc:
        if exc.rule != "coverage":
            raise
        return None


# --------------------------------------------------------------------------- reference


def draw_key(seed: bytes, beacon: bytes = b"") -> bytes:
    """The draw key K, written out from the construction in docs/draws.md."""
    return hashlib.sha256(
        b"creditcommit/draw/v1\x00"
        + len(seed).to_bytes(4, "big")
        + seed
        + len(beacon).to_bytes(4, "big")
        + beacon
    ).digest()


def target_key(key: bytes, target_id: str) -> bytes:
    return hashlib.sha256(key + b"\x01" + target_id.encode()).digest()


def tie_values(key: bytes, target_id: str, roster: list[str]) -> dict[str, int]:
    raw = target_id.encode()
    stream = hashlib.shake_256(key + b"\x02" + len(raw).to_bytes(4, "big") + raw)
    data = stream.digest(8 * len(roster))
    return {i: int.from_bytes(data[8 * n : 8 * n + 8], "big") for n, i in enumerate(roster)}


def line(target: Target) -> bytes:
    """A target's line, as docs/draws.md writes it (length-prefixed id, grade, tags, type)."""
    parts = [target.id, target.grade, *target.tags]
    found = b"".join(b"%d:%s," % (len(p.encode()), p.encode()) for p in parts)
    if target.inspection_type is not None:
        raw = target.inspection_type.encode()
        found += b"|%d:%s" % (len(raw), raw)
    return found


def element_3(key: bytes, target: Target) -> bytes:
    """Format 3: the target's 256-byte element; its first 32 bytes are its draw key."""
    return hashlib.shake_256(key + b"\x03" + line(target)).digest(256)


def population_digest_3(key: bytes, targets: list[Target]) -> str:
    total = sum(int.from_bytes(element_3(key, t), "big") for t in targets) % (1 << 2048)
    return hashlib.sha256(
        b"creditcommit/draw/v1/population\x00" + total.to_bytes(256, "big")
    ).hexdigest()


def tie_3(key: bytes, inspector: str, load: int) -> int:
    raw = inspector.encode()
    data = key + b"\x04" + len(raw).to_bytes(4, "big") + raw + load.to_bytes(8, "big")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def naive(inputs: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Format 3 done the obvious way: key everything, sort everything, sort the roster."""
    key = draw_key(inputs["seed"], inputs["beacon"])
    population = inputs["targets"]
    drawn: list[tuple[bytes, Target]] = []
    for grade, ratio in inputs["ratios"].items():
        members = sorted((element_3(key, t)[:32], t) for t in population if t.grade == grade)
        drawn += members[: math.ceil(Fraction(ratio) * len(members))]
    roster = {i.id: i for i in inputs["inspectors"]}
    load = dict.fromkeys(roster, 0)
    recused = {(c.inspector, c.target) for c in inputs["conflicts"]}
    result = []
    for _, target in sorted(drawn):
        eligible = [
            i
            for i in sorted(roster)
            if (i, target.id) not in recused and roster[i].qualified(target.inspection_type)
        ]
        eligible.sort(key=lambda i: (load[i], tie_3(key, i, load[i]), i))
        chosen = tuple(sorted(eligible[: inputs["per_target"]]))
        assert len(chosen) == inputs["per_target"]
        for i in chosen:
            load[i] += 1
        result.append((target.id, chosen))
    return result


def naive_2(inputs: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Format 2 (untyped) done the obvious way: sort everything in memory."""
    key = draw_key(inputs["seed"], inputs["beacon"])
    population = inputs["targets"]
    drawn: list[tuple[bytes, str]] = []
    for grade, ratio in inputs["ratios"].items():
        members = sorted((target_key(key, t.id), t.id) for t in population if t.grade == grade)
        drawn += members[: math.ceil(Fraction(ratio) * len(members))]
    roster = sorted(i.id for i in inputs["inspectors"])
    load = dict.fromkeys(roster, 0)
    recused = {(c.inspector, c.target) for c in inputs["conflicts"]}
    result = []
    for _, tid in sorted(drawn):
        ties = tie_values(key, tid, roster)
        eligible = [i for i in roster if (i, tid) not in recused]
        eligible.sort(key=lambda i: (load[i], ties[i], i))
        chosen = tuple(sorted(eligible[: inputs["per_target"]]))
        assert len(chosen) == inputs["per_target"]
        for i in chosen:
            load[i] += 1
        result.append((tid, chosen))
    return result


# --------------------------------------------------------------------------- seed commitment


def test_seed_commitment_is_the_sha256_of_the_seed() -> None:
    commitment = SeedCommitment.create(SEED)
    assert commitment.digest == COMMITMENT
    assert commitment.seed == SEED
    assert SEED.hex() not in repr(commitment)
    published = SeedCommitment(commitment.digest)
    assert published.seed is None
    assert published.matches(SEED)
    assert not published.matches(SEED[::-1])
    assert published.reveal(SEED) == commitment


@given(seeds, seeds)
def test_a_commitment_matches_only_its_own_seed(seed: bytes, other: bytes) -> None:
    commitment = SeedCommitment.create(seed)
    assert commitment.matches(other) is (other == seed)


def test_revealing_another_seed_is_refused() -> None:
    with pytest.raises(InvalidValue) as info:
        SeedCommitment(COMMITMENT).reveal(b"x" * 16)
    assert str(info.value) == (
        "invalid SeedCommitment: seed: the seed's SHA-256 is "
        f"{hashlib.sha256(b'x' * 16).hexdigest()}, not the committed {COMMITMENT}"
    )


def test_a_short_seed_is_refused() -> None:
    with pytest.raises(InvalidValue, match=r"seed: expected at least 16 random bytes, got 4"):
        SeedCommitment.create(b"1234")


def test_a_malformed_digest_is_refused() -> None:
    with pytest.raises(
        InvalidValue,
        match=r"digest: expected a SHA-256 digest: 64 lower-case hex digits, got 'ABC'",
    ):
        SeedCommitment("ABC")


# --------------------------------------------------------------------------- values


def test_tags_and_fields_are_sorted_sets() -> None:
    assert Target("T1", "A", ("b", "a", "b")).tags == ("a", "b")
    assert Inspector("E1", "王", ("食品", "特种设备", "食品")).fields == ("特种设备", "食品")


def test_a_target_needs_an_id_and_a_grade() -> None:
    with pytest.raises(InvalidValue) as info:
        Target(" T1", "", ("",))
    assert [str(p) for p in info.value.problems] == [
        "id: expected a non-empty target id without surrounding spaces, got ' T1'",
        "grade: expected a non-empty grade code without surrounding spaces, got ''",
        "tags[0]: expected a non-empty tag without surrounding spaces, got ''",
    ]


def test_an_inspector_needs_an_id_and_a_name() -> None:
    with pytest.raises(InvalidValue, match=r"invalid Inspector: name: expected a non-empty name"):
        Inspector("E1", "")


def test_a_conflict_needs_a_reason() -> None:
    with pytest.raises(InvalidValue, match=r"invalid Conflict: reason: expected a non-empty"):
        Conflict("E1", "T1", " ")


# --------------------------------------------------------------------------- rounding rule


@given(ratio_values, st.integers(0, 10_000))
def test_sample_size_is_ratio_times_count_rounded_up(ratio: Fraction, count: int) -> None:
    size = sample_size(ratio, count)
    assert size - 1 < ratio * count <= size
    assert 0 <= size <= count
    if ratio > 0 and count > 0:
        assert size >= 1


def test_sample_size_examples() -> None:
    assert sample_size(Fraction(3, 100), 100) == 3
    assert sample_size(Fraction(3, 100), 101) == 4
    assert sample_size(Fraction(1, 100), 1) == 1
    assert sample_size(Fraction(0), 1000) == 0
    assert sample_size(Fraction(1), 7) == 7


@given(draws_inputs())
def test_each_grade_is_sampled_at_its_ratio(inputs: dict[str, Any]) -> None:
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    for grade, ratio in inputs["ratios"].items():
        count = sum(t.grade == grade for t in inputs["targets"])
        drawn = [s for s in record.selections if s.target.grade == grade]
        assert record.population[grade] == count
        assert len(drawn) == math.ceil(ratio * count) == record.sample_sizes[grade]


def test_float_decimal_and_fraction_ratios_are_the_same_ratio() -> None:
    as_float = make(ratios={"A": 0.05, "B": 0.2, "C": 1.0})
    as_decimal = make(ratios={"A": Decimal("0.05"), "B": Decimal("0.2"), "C": 1})
    assert as_float == as_decimal == make()
    assert as_float.ratios["A"] == Fraction(1, 20)
    assert as_float.to_dict()["ratios"] == {"A": "0.05", "B": "0.2", "C": "1"}
    assert make(ratios={**RATIOS, "B": Fraction(1, 3)}).to_dict()["ratios"]["B"] == "1/3"


# --------------------------------------------------------------------------- the selection


@given(draws_inputs())
def test_same_inputs_give_the_same_draw(inputs: dict[str, Any]) -> None:
    first = run_or_none(inputs)
    assume(first is not None)
    assert first is not None
    assert run(inputs) == first
    assert run(inputs).to_dict() == first.to_dict()


@given(draws_inputs(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_the_draw(inputs: dict[str, Any], rnd: Any) -> None:
    first = run_or_none(inputs)
    assume(first is not None)
    shuffled = dict(inputs)
    for name in ("targets", "inspectors", "conflicts"):
        items = list(inputs[name])
        rnd.shuffle(items)
        shuffled[name] = items
    shuffled["ratios"] = dict(reversed(inputs["ratios"].items()))
    assert run(shuffled) == first


@given(draws_inputs())
def test_the_draw_is_the_documented_construction(inputs: dict[str, Any]) -> None:
    """Format 3: bottom-k over the elements' keys equals sorting everything; inspectors by
    (load, tie at that load, id); the population digest is the sum of the elements."""
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    assert record.format == FORMAT == "creditcommit-draw/3"
    key = draw_key(inputs["seed"], inputs["beacon"])
    assert [(s.target.id, s.inspectors) for s in record.selections] == naive(inputs)
    for s in record.selections:
        assert s.key == element_3(key, s.target)[:32].hex()
    assert record.population_digest == population_digest_3(key, inputs["targets"])
    # Built by the draw without re-checking: the checking constructor accepts it as it is.
    assert attrs.evolve(record) == record


@given(draws_inputs())
def test_format_2_is_still_its_documented_construction(inputs: dict[str, Any]) -> None:
    """Old records are re-run by their own construction: format 2, written out plainly."""
    args = dict(inputs)
    try:
        record = _draw(targets=args.pop("targets"), **args, format=FORMAT_2)
    except DrawError as exc:
        assume(exc.rule != "coverage")
        raise
    assert record.format == FORMAT_2
    key = draw_key(inputs["seed"], inputs["beacon"])
    assert [(s.target.id, s.inspectors) for s in record.selections] == naive_2(inputs)
    for s in record.selections:
        assert s.key == target_key(key, s.target.id).hex()
    assert verify_draw(record, targets=inputs["targets"])


@given(draws_inputs())
def test_a_recused_inspector_is_never_assigned(inputs: dict[str, Any]) -> None:
    recused = {(c.inspector, c.target) for c in inputs["conflicts"]}
    roster = {i.id for i in inputs["inspectors"]}
    record = run_or_none(inputs)
    if record is None:
        with pytest.raises(DrawError) as info:
            run(inputs)
        failure = info.value
        # The named target is drawn and really cannot be covered.
        eligible = [i for i in roster if (i, failure.target) not in recused]
        assert failure.eligible == len(eligible) < inputs["per_target"] == failure.needed
        assume(len(roster) >= inputs["per_target"])
        unconstrained = run({**inputs, "conflicts": []})
        assert failure.target in {s.target.id for s in unconstrained.selections}
        return
    for s in record.selections:
        assert len(set(s.inspectors)) == len(s.inspectors) == inputs["per_target"]
        assert set(s.inspectors) <= roster
        assert not any((i, s.target.id) in recused for i in s.inspectors)


@given(draws_inputs(with_conflicts=False))
def test_loads_are_balanced_without_conflicts(inputs: dict[str, Any]) -> None:
    assume(len(inputs["inspectors"]) >= inputs["per_target"])
    record = run(inputs)
    loads = record.loads().values()
    assert max(loads) - min(loads) <= 1
    assert sum(loads) == len(record.selections) * inputs["per_target"]


def test_pairs_vary_instead_of_going_round_robin() -> None:
    record = make(ratios={"A": 1, "B": 1, "C": 1}, conflicts=[])
    pairs = {s.inspectors for s in record.selections}
    # 60 targets and 6 inspectors: round-robin pairing would use 3 pairs over and over.
    assert len(pairs) > 6


def test_the_beacon_changes_the_draw_and_is_recorded() -> None:
    plain = make()
    with_beacon = make(beacon=b"2026-05-06 lottery 03 17 21")
    assert with_beacon.beacon == b"2026-05-06 lottery 03 17 21"
    assert [s.target.id for s in with_beacon.selections] != [s.target.id for s in plain.selections]


def test_a_worked_draw() -> None:
    record = make()
    assert dict(record.population) == {"A": 20, "B": 20, "C": 20}
    assert dict(record.sample_sizes) == {"A": 1, "B": 4, "C": 20}
    assert len(record.selections) == 25
    assert record.to_dict()["conflicts"] == [
        {"inspector": "I0", "target": "T002", "reason": "近亲属任职"}
    ]
    keys = [s.key for s in record.selections]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------- streaming


def test_a_population_can_be_a_function_returning_fresh_iterators() -> None:
    calls = 0

    def export() -> Iterator[Target]:
        nonlocal calls
        calls += 1
        return iter(POPULATION)

    assert make(targets=export) == make()
    assert calls == 2


def test_with_counts_the_population_is_read_once() -> None:
    record = make(targets=iter(POPULATION), counts={"A": 20, "B": 20, "C": 20})
    assert record == make()


@pytest.mark.slow  # benchmark-like: a large population; CI runs it (make test-slow)
def test_a_large_population_streams_in_bounded_memory() -> None:
    size = 200_000

    def export() -> Iterator[Target]:
        return (Target(f"9132{n:014d}", "ABCDE"[n % 5]) for n in range(size))

    ratios = {"A": 0.001, "B": 0.002, "C": 0.004, "D": 0.01, "E": 0.02}
    tracemalloc.start()
    try:
        record = draw(
            export,
            ratios=ratios,
            inspectors=ROSTER,
            seed=SEED,
            commitment=COMMITMENT,
            draw_id="stream",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(record.population.values()) == size
    assert len(record.selections) == 40 + 80 + 160 + 400 + 800
    # Holding the population would take far more: each target is about 200 bytes.
    assert peak < 5_000_000, f"peak {peak} bytes"


# --------------------------------------------------------------------------- draw errors


@pytest.mark.parametrize(
    ("changes", "rule", "message"),
    [
        (
            {"per_target": 1},
            "per-target",
            "every target needs at least 2 inspectors (行政处罚法 Art 42), got per_target=1",
        ),
        (
            {"seed": b"short", "commitment": hashlib.sha256(b"short").hexdigest()},
            "seed",
            "expected at least 16 random bytes, got 5: a short seed can be found from its "
            "published hash",
        ),
        (
            {"commitment": "0" * 64},
            "commitment",
            f"the seed's SHA-256 is {COMMITMENT}, not the published commitment {'0' * 64}",
        ),
        (
            {"commitment": "xyz"},
            "commitment",
            "expected the seed commitment: 64 lower-case hex digits, got 'xyz'",
        ),
        ({"draw_id": ""}, "draw-id", "the draw id must be a non-empty string, got ''"),
        ({"beacon": "x"}, "beacon", "the beacon must be bytes, got string 'x'"),
        (
            {"ratios": {}},
            "ratio",
            "no sampling ratios: give one for every grade in the population",
        ),
        (
            {"ratios": {**RATIOS, "B": 1.5}},
            "ratio",
            "the ratio of grade 'B' must be between 0 and 1, got 1.5",
        ),
        (
            {"ratios": {**RATIOS, "B": float("nan")}},
            "ratio",
            "the ratio of grade 'B' must be a number, got nan",
        ),
        (
            {"ratios": {**RATIOS, "B": True}},
            "ratio",
            "the ratio of grade 'B' must be a Fraction, Decimal or float, got boolean true",
        ),
        (
            {"ratios": {"A": 1, "B": 1}},
            "grade",
            "target 'T002' has grade 'C', which has no sampling ratio (ratios are set for A, B)",
        ),
        (
            {"targets": [*POPULATION, "T999"]},
            "input",
            "item 60 of the population is string 'T999', not a Target",
        ),
        (
            {"targets": iter(POPULATION)},
            "input",
            "the population is a one-shot iterator, but the draw needs the count of each grade "
            "first: pass counts=..., or a function that returns a fresh iterator",
        ),
        (
            {"counts": {"A": 20, "B": 19, "C": 20}},
            "counts",
            "the population has 20 targets of grade 'B', but counts says 19",
        ),
        (
            {"counts": {"Z": 1}},
            "counts",
            "counts gives grade 'Z', which has no sampling ratio",
        ),
        (
            {"counts": {"A": -1}},
            "counts",
            "the count of grade 'A' must be 0 or more, got -1",
        ),
        (
            {"targets": [*POPULATION, Target("T005", "C")]},
            "duplicate",
            "target 'T005' appears twice in the population; ids must be unique",
        ),
        (
            {"inspectors": [*ROSTER, Inspector("I1", "另一人")]},
            "roster",
            "inspector 'I1' is on the roster twice",
        ),
        (
            {"inspectors": [*ROSTER, "I9"]},
            "roster",
            "roster item 6 is string 'I9', not an Inspector",
        ),
        (
            {"conflicts": [("I1", "T001")]},
            "conflict",
            "conflict 0 is an array, not a Conflict",
        ),
    ],
)
def test_draw_errors(changes: dict[str, Any], rule: str, message: str) -> None:
    with pytest.raises(DrawError) as info:
        make(**changes)
    assert info.value.rule == rule
    assert info.value.detail == message
    assert str(info.value) == f"cannot draw: {message} (rule: {rule})"
    assert isinstance(info.value, CreditCommitError)


def test_a_target_the_roster_cannot_cover_fails_the_draw() -> None:
    conflicts = [Conflict(f"I{i}", "T002", "曾在该企业任职") for i in range(5)]
    with pytest.raises(DrawError) as info:
        make(conflicts=conflicts)
    exc = info.value
    assert (exc.rule, exc.target, exc.eligible, exc.needed) == ("coverage", "T002", 1, 2)
    assert exc.detail == (
        "target 'T002' needs 2 inspectors but only 1 of the 6 on the roster may inspect it "
        "(5 recused)"
    )


def test_a_population_that_changes_between_passes_fails_the_draw() -> None:
    exports = iter([POPULATION, POPULATION[:-1]])
    with pytest.raises(DrawError) as info:
        make(targets=lambda: next(exports))
    assert info.value.rule == "population"
    assert info.value.detail == (
        "the population has 19 targets of grade 'C', but the first pass counted 20: the "
        "function must return a fresh iterator over the same targets each time"
    )


def test_conflicts_with_targets_outside_the_population_are_kept_and_harmless() -> None:
    standing = [Conflict("I3", "91320000100000000B", "配偶任职"), Conflict("I9", "T002", "x")]
    record = make(conflicts=standing)
    assert len(record.conflicts) == 2
    assert verify_draw(record, targets=POPULATION)


# --------------------------------------------------------------------------- storage


@given(draws_inputs())
def test_records_round_trip_through_json(inputs: dict[str, Any]) -> None:
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    data = json.loads(json.dumps(record.to_dict(), ensure_ascii=False))
    assert DrawRecord.from_dict(data) == record


def test_from_dict_lists_the_problems_of_every_field() -> None:
    data = make().to_dict()
    data["seed"] = "XYZ"
    data["ratios"]["A"] = "1.5"
    data["roster"][0]["name"] = ""
    data["selections"][0]["inspectors"] = ["I1"]
    data["format"] = "other/9"
    with pytest.raises(DataFileError) as info:
        DrawRecord.from_dict(data, source="draw.json")
    assert info.value.report().splitlines() == [
        "draw.json: format: expected one of 'creditcommit-draw/1', 'creditcommit-draw/2', "
        "'creditcommit-draw/3', got 'other/9'",
        "draw.json: seed: expected lower-case hex digits in pairs, got 'XYZ'",
        "draw.json: ratios.A: expected a ratio from 0 to 1, got '1.5'",
        "draw.json: roster[0].name: expected a non-empty name without surrounding spaces, got ''",
    ]


def test_from_dict_checks_the_record_form() -> None:
    data = make().to_dict()
    data["selections"][0]["inspectors"] = ["I1", "I9"]
    data["selections"][1]["key"] = "nope"
    with pytest.raises(DataFileError) as info:
        DrawRecord.from_dict(data, source="draw.json")
    assert [str(p) for p in info.value.problems] == [
        "selections[0].inspectors[1]: 'I9' is not on the roster",
        "selections[1].key: expected a draw key: 64 lower-case hex digits, got 'nope'",
    ]


def test_from_dict_is_strict_about_types_and_keys() -> None:
    data = make().to_dict()
    data["per_target"] = "2"
    data["extra"] = 1
    with pytest.raises(DataFileError) as info:
        DrawRecord.from_dict(data, source="draw.json")
    messages = {str(p) for p in info.value.problems}
    assert "per_target: expected an integer, got string '2'" in messages


def test_a_record_checks_its_sample_sizes() -> None:
    record = make()
    first_c = next(s for s in record.selections if s.target.grade == "C")
    with pytest.raises(InvalidValue) as info:
        attrs.evolve(record, selections=[s for s in record.selections if s != first_c])
    assert "expected 20 targets of grade 'C' (ceil(1 × 20)), got 19" in str(info.value)


# --------------------------------------------------------------------------- verification


@given(draws_inputs())
def test_a_genuine_draw_verifies(inputs: dict[str, Any]) -> None:
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    assert verify_draw(
        record,
        targets=iter(inputs["targets"][::-1]),
        commitment=inputs["commitment"],
        inspectors=inputs["inspectors"],
        conflicts=inputs["conflicts"],
    )


def _same_size_ratio(ratio: Fraction, count: int) -> Fraction:
    """Another ratio that draws as many targets: the record stays well-formed."""
    if count == 0:
        return Fraction(1, 2) if ratio != Fraction(1, 2) else Fraction(1, 3)
    size = sample_size(ratio, count)  # at least 1: the ratio is above 0
    top = Fraction(size, count)
    return top if ratio != top else (Fraction(size - 1, count) + top) / 2


def _alter(record: DrawRecord, kind: str, data: st.DataObject) -> DrawRecord:
    if kind == "seed":
        seed = data.draw(seeds.filter(lambda s: s != record.seed))
        return attrs.evolve(record, seed=seed)
    if kind == "commitment":
        other = hashlib.sha256(data.draw(seeds)).hexdigest()
        assume(other != record.commitment)
        return attrs.evolve(record, commitment=other)
    if kind == "beacon":
        beacon = data.draw(st.binary(max_size=8).filter(lambda b: b != record.beacon))
        return attrs.evolve(record, beacon=beacon)
    if kind == "ratios":
        grades = [g for g, r in record.ratios.items() if r]
        grade = data.draw(st.sampled_from(grades))
        ratio = _same_size_ratio(record.ratios[grade], record.population[grade])
        return attrs.evolve(record, ratios={**record.ratios, grade: ratio})
    if kind == "roster":
        roster = [*record.roster, Inspector("ZZ", "新增人员")]
        return attrs.evolve(record, roster=roster)
    if kind == "conflicts":
        extra = Conflict(record.roster[0].id, "T-other", "利害关系")
        return attrs.evolve(record, conflicts=[*record.conflicts, extra])
    if kind == "per_target":
        assume(len(record.roster) > record.per_target)
        return attrs.evolve(
            record,
            per_target=record.per_target + 1,
            selections=[
                attrs.evolve(s, inspectors=[i.id for i in record.roster[: record.per_target + 1]])
                for s in record.selections
            ],
        )
    if kind == "draw_id":
        return attrs.evolve(record, draw_id=record.draw_id + "x")
    if kind == "result-inspectors":
        i = data.draw(st.integers(0, len(record.selections) - 1))
        chosen = record.selections[i]
        others = [r.id for r in record.roster if r.id not in chosen.inspectors]
        assume(others)
        changed = (*chosen.inspectors[:-1], others[0])
        selections = list(record.selections)
        selections[i] = attrs.evolve(chosen, inspectors=sorted(changed))
        return attrs.evolve(record, selections=selections)
    if kind == "result-order":
        assume(len(record.selections) > 1)
        return attrs.evolve(record, selections=record.selections[::-1])
    assert kind == "result-key"
    i = data.draw(st.integers(0, len(record.selections) - 1))
    selections = list(record.selections)
    selections[i] = attrs.evolve(selections[i], key="0" * 64)
    return attrs.evolve(record, selections=selections)


ALTERATIONS = [
    "seed",
    "commitment",
    "beacon",
    "ratios",
    "roster",
    "conflicts",
    "per_target",
    "draw_id",
    "result-inspectors",
    "result-order",
    "result-key",
]


@settings(max_examples=100)  # each example is a whole draw: more only repeats
@given(draws_inputs(), st.sampled_from(ALTERATIONS), st.data())
def test_verify_rejects_any_altered_record(
    inputs: dict[str, Any], kind: str, data: st.DataObject
) -> None:
    inputs["ratios"]["C"] = Fraction(1)  # something is always drawn, when there are C targets
    record = run_or_none(inputs)
    assume(record is not None and record.selections)
    assert record is not None
    altered = _alter(record, kind, data)
    assert altered != record
    with pytest.raises(DrawVerificationError) as info:
        verify_draw(altered, targets=inputs["targets"])
    assert info.value.draw_id == altered.draw_id
    assert info.value.differences


POPULATION_CHANGES = ["add", "remove", "grade", "tags"]


@settings(max_examples=100)  # each example is a whole draw: more only repeats
@given(draws_inputs(), st.sampled_from(POPULATION_CHANGES), st.data())
def test_verify_rejects_any_altered_population(
    inputs: dict[str, Any], kind: str, data: st.DataObject
) -> None:
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    population = list(inputs["targets"])
    if kind == "add":
        population.append(Target("新增企业", data.draw(st.sampled_from("ABC"))))
    else:
        assume(population)
        i = data.draw(st.integers(0, len(population) - 1))
        t = population[i]
        if kind == "remove":
            del population[i]
        elif kind == "grade":
            population[i] = Target(t.id, data.draw(st.sampled_from("ABC").filter(t.grade.__ne__)))
        else:
            population[i] = Target(t.id, t.grade, (*t.tags, "changed"))
    with pytest.raises(DrawVerificationError):
        verify_draw(record, targets=population)


def test_verification_messages() -> None:
    record = make()
    population = [t for t in POPULATION if t.id != "T005"]
    tampered = attrs.evolve(record, seed=bytes(32), ratios={**RATIOS, "A": Fraction(1, 21)})
    with pytest.raises(DrawVerificationError) as info:
        verify_draw(tampered, targets=population, commitment="0" * 64)
    differences = info.value.differences
    assert differences[:4] == (
        "the seed does not match the commitment: its SHA-256 is "
        f"{hashlib.sha256(bytes(32)).hexdigest()}, the record commits to {COMMITMENT}",
        f"the record's commitment {COMMITMENT} is not the published {'0' * 64}",
        "the record's inputs (ratios, population, roster, conflicts, per_target, draw id or "
        "commitment) do not match its inputs digest: the record was altered",
        "the population has 19 targets of grade 'C', the record says 20",
    )
    assert differences[4].startswith("the population digest differs")
    assert str(info.value).startswith("draw '2026-抽查-001' does not verify: the seed does not")
    assert str(info.value).endswith(f"(and {len(differences) - 1} more)")


def test_verification_names_the_differing_targets() -> None:
    record = make()
    first = record.selections[0]
    others = sorted({i.id for i in ROSTER} - set(first.inspectors))[:2]
    altered = attrs.evolve(
        record, selections=(attrs.evolve(first, inspectors=others), *record.selections[1:])
    )
    with pytest.raises(DrawVerificationError) as info:
        verify_draw(altered, targets=POPULATION)
    assert info.value.differences == (
        f"target {first.target.id!r}: the record assigns {', '.join(others)}, the re-run "
        f"{', '.join(first.inspectors)}",
    )


def test_verification_reports_a_registry_that_cannot_be_drawn() -> None:
    record = make()
    with pytest.raises(DrawVerificationError) as info:
        verify_draw(record, targets=[*POPULATION, Target("T999", "Z")])
    assert info.value.differences == (
        "the draw cannot be re-run on this population: target 'T999' has grade 'Z', which has "
        "no sampling ratio (ratios are set for A, B, C)",
    )


def test_verification_compares_the_registries_when_given() -> None:
    record = make()
    with pytest.raises(DrawVerificationError) as info:
        verify_draw(record, targets=POPULATION, inspectors=ROSTER[1:], conflicts=[])
    assert info.value.differences == (
        "the record's roster is not the roster given",
        "the record's conflicts are not the conflicts given",
    )


def test_drawn_target_to_dict() -> None:
    item = DrawnTarget(Target("T1", "A", ("x",)), "0" * 64, ("E1", "E2"))
    assert item.to_dict() == {
        "target": {"id": "T1", "grade": "A", "tags": ["x"]},
        "key": "0" * 64,
        "inspectors": ["E1", "E2"],
    }


# ---------------------------------------------------------------- format 2: qualifications

GOLDEN_V1 = Path(__file__).parent / "golden" / "draw-format-1.json"
TYPES = ("公共场所卫生", "食品经营", "建设工程")


@st.composite
def typed_inputs(draw_: st.DrawFn) -> dict[str, Any]:
    """A population whose targets have inspection types, and a roster with qualifications."""
    inputs = draw_(draws_inputs())
    inputs["targets"] = [
        attrs.evolve(t, inspection_type=draw_(st.sampled_from((None, *TYPES))))
        for t in inputs["targets"]
    ]
    inputs["inspectors"] = [
        attrs.evolve(i, fields=draw_(st.lists(st.sampled_from(TYPES), max_size=3)))
        for i in inputs["inspectors"]
    ]
    return inputs


@given(typed_inputs())
def test_only_qualified_inspectors_are_drawn(inputs: dict[str, Any]) -> None:
    roster = {i.id: i for i in inputs["inspectors"]}
    recused = {(c.inspector, c.target) for c in inputs["conflicts"]}
    record = run_or_none(inputs)
    if record is None:
        with pytest.raises(DrawError) as info:
            run(inputs)
        failure = info.value
        assert failure.rule == "coverage"
        target = next(t for t in inputs["targets"] if t.id == failure.target)
        able = [
            i
            for i in roster.values()
            if i.qualified(target.inspection_type) and (i.id, target.id) not in recused
        ]
        assert failure.eligible == len(able) < inputs["per_target"]
        return
    assert record.format == FORMAT
    for s in record.selections:
        for inspector in s.inspectors:
            assert roster[inspector].qualified(s.target.inspection_type)
            assert (inspector, s.target.id) not in recused
    assert verify_draw(record, targets=inputs["targets"])


@settings(max_examples=100)  # each example is a whole draw: more only repeats
@given(typed_inputs())
def test_typed_draws_round_trip_and_verify(inputs: dict[str, Any]) -> None:
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    again = DrawRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    assert verify_draw(again, targets=inputs["targets"])


def test_a_target_nobody_qualified_may_inspect_fails_the_draw() -> None:
    targets = [Target("T1", "A", inspection_type="特种设备")]
    with pytest.raises(DrawError) as info:
        make(targets=targets, ratios={"A": 1}, conflicts=[])
    assert info.value.detail == (
        "target 'T1' needs 2 inspectors but only 0 of the 6 on the roster may inspect it "
        "(0 qualified for '特种设备', 0 of them recused)"
    )


def test_qualified_inspectors_share_the_typed_targets() -> None:
    roster = [
        Inspector("H1", "卫生甲", ("公共场所卫生",)),
        Inspector("H2", "卫生乙", ("公共场所卫生",)),
        Inspector("H3", "卫生丙", ("公共场所卫生", "食品经营")),
        Inspector("F1", "食品甲", ("食品经营",)),
    ]
    targets = [Target(f"T{n}", "A", inspection_type="公共场所卫生") for n in range(9)]
    record = make(targets=targets, inspectors=roster, ratios={"A": 1}, conflicts=[])
    assert record.loads() == {"F1": 0, "H1": 6, "H2": 6, "H3": 6}
    assert all(s.target.inspection_type == "公共场所卫生" for s in record.selections)


def test_a_target_with_a_type_changes_the_population_digest() -> None:
    plain = make(targets=POPULATION, conflicts=[])
    typed = [attrs.evolve(t, inspection_type="市场监管") for t in POPULATION]
    again = make(targets=typed, conflicts=[])
    assert again.population_digest != plain.population_digest
    # Every inspector on ROSTER is qualified for 市场监管: the same inspectors are drawn.
    assert [s.inspectors for s in again.selections] == [s.inspectors for s in plain.selections]


def test_a_record_naming_an_unqualified_inspector_is_rejected() -> None:
    roster = [Inspector(f"H{i}", f"卫生{i}", ("公共场所卫生",)) for i in range(3)]
    roster.append(Inspector("F1", "食品甲", ("食品经营",)))
    targets = [Target("T1", "A", inspection_type="公共场所卫生")]
    record = make(targets=targets, inspectors=roster, ratios={"A": 1}, conflicts=[])
    data = record.to_dict()
    data["selections"][0]["inspectors"] = ["F1", "H0"]
    with pytest.raises(DataFileError) as info:
        DrawRecord.from_dict(data, source="forged.json")
    assert info.value.report() == (
        "forged.json: selections[0].inspectors[0]: 'F1' is not qualified for '公共场所卫生'"
    )


def test_a_format_1_record_still_reads_and_verifies() -> None:
    data = json.loads(GOLDEN_V1.read_text(encoding="utf-8"))
    record = DrawRecord.from_dict(data, source=str(GOLDEN_V1))
    assert record.format == FORMAT_1
    assert record.to_dict() == data
    assert verify_draw(record, targets=POPULATION)
    # Re-run by format 2, the same inputs (no inspection types) give the same inspectors:
    # format 2 only adds qualifications.
    fresh = _draw(
        targets=POPULATION,
        ratios={"A": Fraction(1, 20), "B": Fraction(1, 5), "C": Fraction(1, 4)},
        inspectors=ROSTER,
        conflicts=[Conflict("I0", "T002", "近亲属任职")],
        seed=SEED,
        commitment=COMMITMENT,
        draw_id="2026-抽查-001",
        format=FORMAT_2,
    )
    assert fresh.format == FORMAT_2
    assert [(s.target.id, s.inspectors) for s in fresh.selections] == [
        (s.target.id, s.inspectors) for s in record.selections
    ]
    assert fresh.inputs_digest != record.inputs_digest  # the format is part of the inputs


def test_a_format_1_record_with_an_inspection_type_is_rejected() -> None:
    data = json.loads(GOLDEN_V1.read_text(encoding="utf-8"))
    data["selections"][0]["target"]["inspection_type"] = "市场监管"
    with pytest.raises(DataFileError) as info:
        DrawRecord.from_dict(data, source="old.json")
    assert info.value.report() == (
        "old.json: selections[0].target.inspection_type: format 'creditcommit-draw/1' has no "
        "inspection types"
    )


def test_a_format_1_record_altered_to_format_2_fails_verification() -> None:
    data = json.loads(GOLDEN_V1.read_text(encoding="utf-8"))
    data["format"] = FORMAT
    record = DrawRecord.from_dict(data)
    with pytest.raises(DrawVerificationError) as info:
        verify_draw(record, targets=POPULATION)
    assert "do not match its inputs digest" in str(info.value)


@given(typed_inputs())
def test_a_typed_draw_is_the_documented_construction(inputs: dict[str, Any]) -> None:
    record = run_or_none(inputs)
    assume(record is not None)
    assert record is not None
    assert [(s.target.id, s.inspectors) for s in record.selections] == naive(inputs)
