"""Tests for creditcommit.credit: grade scales, credit records, credit evidence."""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import hashlib
import json
import pickle
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from creditcommit.credit import (
    DEFAULT_PUBLICITY_BASIS,
    DEFAULT_PUBLICITY_MONTHS,
    DETAIL_LIMIT,
    GBT_22116,
    SAMR_A_D,
    YANGZHOU_A_E,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    CreditSourceError,
    FailureCategory,
    Grade,
    GradeScale,
    PublicityPeriod,
    Severity,
    add_months,
    categorise,
    failure_detail,
    sanitise_detail,
)
from creditcommit.errors import (
    CreditCommitError,
    DataFileError,
    InvalidValue,
    ScaleMismatch,
    UnknownGrade,
)

CST = dt.timezone(dt.timedelta(hours=8))
USCC = "91320000100000000B"
AT = dt.datetime(2026, 5, 6, 9, 30, tzinfo=CST)

# --------------------------------------------------------------------------- strategies

codes = st.text(alphabet="ABCDEFabcdef+-", min_size=1, max_size=3)
user_scales = st.builds(
    GradeScale,
    name=st.just("test-scale"),
    grades=st.lists(codes, min_size=1, max_size=8, unique_by=str.casefold),
)
scales = st.sampled_from([YANGZHOU_A_E, SAMR_A_D, GBT_22116]) | user_scales


@st.composite
def scale_and_codes(draw: st.DrawFn, n: int) -> tuple[GradeScale, list[str]]:
    scale = draw(scales)
    return scale, [draw(st.sampled_from(scale.grades)) for _ in range(n)]


days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
texts = st.text(min_size=1, max_size=12).filter(str.strip)
optional_texts = st.none() | st.text(max_size=12).filter(str.strip)


@st.composite
def records(draw: st.DrawFn, subject: str | None = None) -> CreditRecord:
    decided = draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)))
    low = draw(st.integers(0, 48))
    high = draw(st.integers(low, 60))
    repaired = draw(st.none() | st.integers(0, 2500).map(lambda n: decided + dt.timedelta(n)))
    return CreditRecord(
        record_id=draw(texts),
        subject=subject if subject is not None else draw(texts),
        kind=draw(st.sampled_from(CreditRecordKind)),
        severity=draw(st.sampled_from(Severity)),
        decided_on=decided,
        min_publicity_months=low,
        max_publicity_months=high,
        repaired_on=repaired,
        authority=draw(optional_texts),
        legal_basis=draw(optional_texts),
        description=draw(optional_texts),
    )


offsets = st.sampled_from(
    [dt.UTC, CST, dt.timezone(dt.timedelta(hours=-5, minutes=-30)), dt.timezone.min]
)
aware = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=offsets
)


@st.composite
def evidence(draw: st.DrawFn) -> CreditEvidence:
    subject = draw(texts)
    return CreditEvidence.create(
        subject=subject,
        source=draw(texts),
        retrieved_at=draw(aware),
        scale=draw(texts),
        grade=draw(st.none() | texts),
        records=draw(st.lists(records(subject), max_size=3)),
    )


def record(**changes: Any) -> CreditRecord:
    fields: dict[str, Any] = {
        "record_id": "JD-2026-001",
        "subject": USCC,
        "kind": CreditRecordKind.ADMINISTRATIVE_PENALTY,
        "severity": Severity.GENERAL,
        "decided_on": dt.date(2026, 1, 31),
        "min_publicity_months": 3,
        "max_publicity_months": 12,
    }
    return CreditRecord(**{**fields, **changes})


# --------------------------------------------------------------------------- grade scales


def test_presets() -> None:
    assert GradeScale.yangzhou() is YANGZHOU_A_E
    assert YANGZHOU_A_E.name == "yangzhou-a-e"
    assert list(YANGZHOU_A_E) == ["A", "B", "C", "D", "E"]
    assert YANGZHOU_A_E.label("A") == "信用风险低"
    assert YANGZHOU_A_E.label("E") == "信用风险高"
    assert GradeScale.samr() is SAMR_A_D
    assert SAMR_A_D.grades == ("A", "B", "C", "D")
    assert [SAMR_A_D.label(c) for c in SAMR_A_D] == [
        "信用风险低",
        "信用风险一般",
        "信用风险较高",
        "信用风险高",
    ]
    assert GradeScale.gbt_22116() is GBT_22116
    assert len(GBT_22116) == 12
    assert GBT_22116.grades[:4] == ("A+", "A", "A-", "B+")
    assert GBT_22116.label("A+") is None


def test_jiangdu_rule_b_and_above() -> None:
    # Seed: grade B and above may use the commitment route (conditionally); C and below not.
    ok = YANGZHOU_A_E.at_least("B")
    assert ok == {"A", "B"}
    assert all(YANGZHOU_A_E.grade(c).is_at_least(YANGZHOU_A_E.grade("B")) for c in ok)
    assert not YANGZHOU_A_E.grade("C").is_at_least(YANGZHOU_A_E.grade("B"))


def test_lookup_ignores_letter_case_but_not_signs() -> None:
    assert YANGZHOU_A_E.grade("b") == YANGZHOU_A_E.grade("B") == Grade("yangzhou-a-e", "B", 1)
    assert GBT_22116.grade("a-").code == "A-"
    assert GBT_22116.rank("a+") == 0
    assert "c+" in GBT_22116
    assert "A*" not in GBT_22116
    with pytest.raises(UnknownGrade):
        GBT_22116.grade("A*")


def test_unknown_grade_message() -> None:
    with pytest.raises(UnknownGrade) as info:
        YANGZHOU_A_E.grade("F")
    assert str(info.value) == "grade 'F' is not on the 'yangzhou-a-e' scale (known: A, B, C, D, E)"
    assert info.value.known == ("A", "B", "C", "D", "E")


def test_contains_and_iteration() -> None:
    assert "a" in YANGZHOU_A_E
    assert YANGZHOU_A_E.grade("C") in YANGZHOU_A_E
    assert SAMR_A_D.grade("C") not in YANGZHOU_A_E
    assert 1 not in YANGZHOU_A_E
    assert list(iter(SAMR_A_D)) == list(SAMR_A_D.grades)
    assert str(SAMR_A_D.grade("d")) == "D"


def test_scale_from_a_grade_of_another_scale() -> None:
    with pytest.raises(ScaleMismatch) as info:
        YANGZHOU_A_E.rank(SAMR_A_D.grade("A"))
    assert str(info.value) == "cannot compare grades of the 'yangzhou-a-e' and 'samr-a-d' scales"


def test_cross_scale_comparison_raises() -> None:
    a, b = YANGZHOU_A_E.grade("A"), SAMR_A_D.grade("A")
    assert a != b
    with pytest.raises(ScaleMismatch) as info:
        _ = a > b
    assert str(info.value) == "cannot compare grades of the 'yangzhou-a-e' and 'samr-a-d' scales"
    for compare in (a.__lt__, a.__le__, a.__ge__, a.__gt__, a.is_at_least):
        with pytest.raises(ScaleMismatch):
            compare(b)


def test_ordering_other_types_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = YANGZHOU_A_E.grade("A") < "B"  # type: ignore[operator]


@given(scale_and_codes(2))
def test_grade_order_is_consistent_with_rank(case: tuple[GradeScale, list[str]]) -> None:
    scale, (x, y) = case
    a, b = scale.grade(x), scale.grade(y)
    assert (a > b) == (scale.rank(x) < scale.rank(y))
    assert (a < b) == (scale.rank(x) > scale.rank(y))
    assert (a >= b) == (scale.rank(x) <= scale.rank(y)) == a.is_at_least(b)
    assert (a <= b) == (scale.rank(x) >= scale.rank(y))
    # Trichotomy: exactly one of <, ==, > holds.
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a == b) == (x == y)


@given(scales, st.randoms(use_true_random=False))
def test_sorting_grades_gives_the_scale_order(scale: GradeScale, rnd: Any) -> None:
    grades = [scale.grade(c) for c in scale]
    shuffled = grades[:]
    rnd.shuffle(shuffled)
    assert sorted(shuffled, reverse=True) == grades
    assert [g.rank for g in grades] == list(range(len(scale)))


@given(scale_and_codes(3))
def test_grade_order_is_transitive(case: tuple[GradeScale, list[str]]) -> None:
    scale, (x, y, z) = case
    a, b, c = (scale.grade(code) for code in (x, y, z))
    if a >= b >= c:
        assert a >= c


@given(scale_and_codes(2))
def test_at_least_is_monotone(case: tuple[GradeScale, list[str]]) -> None:
    scale, (x, y) = case
    better, worse = sorted((x, y), key=scale.rank)
    assert scale.at_least(better) <= scale.at_least(worse)
    assert x in scale.at_least(x)
    assert all(scale.rank(c) <= scale.rank(x) for c in scale.at_least(x))
    assert scale.at_least(scale.grades[-1]) == set(scale.grades)


@given(user_scales)
def test_lookup_is_case_insensitive(scale: GradeScale) -> None:
    for code in scale:
        assert scale.grade(code.lower()) == scale.grade(code.upper()) == scale.grade(code)


def test_scale_is_hashable_and_picklable() -> None:
    again = pickle.loads(pickle.dumps(YANGZHOU_A_E))
    assert again == YANGZHOU_A_E
    assert hash(again) == hash(YANGZHOU_A_E)
    assert again.grade("a") == YANGZHOU_A_E.grade("A")
    assert copy.deepcopy(GBT_22116) == GBT_22116
    assert {YANGZHOU_A_E, again} == {YANGZHOU_A_E}


def test_labels_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        YANGZHOU_A_E.labels["A"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "grades", "labels", "message"),
    [
        ("s", [], {}, "invalid GradeScale: grades: expected at least one grade"),
        (
            "s",
            ["A", "B", "a"],
            {},
            "invalid GradeScale: grades[2]: duplicate grade 'a' (same as grades[0])",
        ),
        (
            "s",
            ["A", "B C"],
            {},
            "invalid GradeScale: grades[1]: expected a grade code without spaces, got 'B C'",
        ),
        (
            "s",
            ["A"],
            {"Z": "x"},
            "invalid GradeScale: labels.Z: not a grade of this scale (grades: A)",
        ),
        (" ", ["A"], {}, "invalid GradeScale: name: expected a non-empty scale name, got ' '"),
    ],
)
def test_invalid_scale(name: str, grades: list[str], labels: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidValue) as info:
        GradeScale(name, grades, labels)
    assert str(info.value) == message
    assert isinstance(info.value, CreditCommitError)


def test_invalid_grade_rank() -> None:
    with pytest.raises(InvalidValue, match=r"invalid Grade: rank: expected 0 or more, got -1"):
        Grade("s", "A", -1)


def test_scale_from_dict() -> None:
    scale = GradeScale.from_dict(
        {"name": "yiwu", "grades": ["A", "B", "C", "D"], "labels": {"A": "优"}}
    )
    assert scale == GradeScale("yiwu", ("A", "B", "C", "D"), {"A": "优"})
    assert scale.label("a") == "优"
    assert scale.label("B") is None


@pytest.mark.parametrize(
    ("data", "report"),
    [
        (
            {"name": "x", "grades": ["A", 2], "labels": {"A": 1}},
            "policy.toml: grades[1]: expected a string, got number 2\n"
            "policy.toml: labels.A: expected a string, got number 1",
        ),
        (
            {"name": "x", "grades": ["A", "B", "b", "C", "c"], "labels": {"F": "x"}},
            "policy.toml: grades[2]: duplicate grade 'b' (same as grades[1])\n"
            "policy.toml: grades[4]: duplicate grade 'c' (same as grades[3])\n"
            "policy.toml: labels.F: not a grade of this scale (grades: A, B, b, C, c)",
        ),
        (
            {"name": "x", "grades": "ABCDE"},
            "policy.toml: grades: expected an array, got string 'ABCDE'",
        ),
        ({"grades": ["A"]}, "policy.toml: name: required key is missing"),
        (
            {"name": "x", "grades": ["A"], "order": "asc"},
            "policy.toml: <root>: unknown key 'order' (allowed: name, grades, labels)",
        ),
        ({"name": "x", "grades": []}, "policy.toml: grades: expected at least one grade"),
    ],
)
def test_scale_from_dict_errors(data: object, report: str) -> None:
    with pytest.raises(DataFileError) as info:
        GradeScale.from_dict(data, source="policy.toml")
    assert info.value.report() == report


def test_scale_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "scale.toml"
    path.write_text(
        'name = "yiwu"\ngrades = ["A", "B", "C", "D"]\n\n[labels]\nA = "信用良好"\n',
        encoding="utf-8",
    )
    scale = GradeScale.from_toml(path)
    assert scale.name == "yiwu"
    assert scale.label("A") == "信用良好"


def test_scale_from_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "scale.toml"
    path.write_text('name = "x"\ngrades = ["A", 1]\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        GradeScale.from_toml(path)
    assert str(info.value) == f"{path}: grades[1]: expected a string, got number 1"


# --------------------------------------------------------------------------- months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2024, 3, 31), -1, dt.date(2024, 2, 29)),
        (dt.date(2024, 8, 31), 1, dt.date(2024, 9, 30)),
        (dt.date(2024, 12, 15), 1, dt.date(2025, 1, 15)),
        (dt.date(2025, 1, 15), -1, dt.date(2024, 12, 15)),
        (dt.date(2026, 4, 1), 36, dt.date(2029, 4, 1)),
        (dt.date(2026, 4, 1), 0, dt.date(2026, 4, 1)),
    ],
)
def test_add_months_examples(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


@given(days, st.integers(-1200, 1200))
def test_add_months_moves_whole_months_and_clamps(day: dt.date, n: int) -> None:
    moved = add_months(day, n)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == n
    assert moved.day <= day.day
    assert moved.day == min(day.day, calendar.monthrange(moved.year, moved.month)[1])
    if day.day <= 28:
        assert moved.day == day.day


@given(days, st.integers(-600, 600), st.integers(-600, 600))
def test_add_months_associates_for_early_days(day: dt.date, a: int, b: int) -> None:
    assume(day.day <= 28)
    assert add_months(add_months(day, a), b) == add_months(day, a + b)
    assert add_months(add_months(day, a), -a) == day


@given(days, days, st.integers(-600, 600))
def test_add_months_is_monotone(x: dt.date, y: dt.date, n: int) -> None:
    early, late = sorted((x, y))
    assert add_months(early, n) <= add_months(late, n)


# --------------------------------------------------------------------------- records


def test_default_periods_table() -> None:
    assert dict(DEFAULT_PUBLICITY_MONTHS) == {
        Severity.MINOR: PublicityPeriod(0, 3),
        Severity.GENERAL: PublicityPeriod(3, 12),
        Severity.SERIOUS: PublicityPeriod(12, 36),
    }
    assert "第36号" in DEFAULT_PUBLICITY_BASIS


@pytest.mark.parametrize(
    ("severity", "repairable", "ends"),
    [
        (Severity.MINOR, dt.date(2026, 4, 30), dt.date(2026, 7, 30)),
        (Severity.GENERAL, dt.date(2026, 7, 30), dt.date(2027, 4, 30)),
        (Severity.SERIOUS, dt.date(2027, 4, 30), dt.date(2029, 4, 30)),
    ],
)
def test_with_default_periods(severity: Severity, repairable: dt.date, ends: dt.date) -> None:
    r = CreditRecord.with_default_periods(
        record_id="r1",
        subject=USCC,
        kind=CreditRecordKind.DISHONESTY,
        severity=severity,
        decided_on=dt.date(2026, 4, 30),
    )
    assert r.publicity_period == DEFAULT_PUBLICITY_MONTHS[severity]
    assert r.repairable_from == repairable
    assert r.publicity_ends_on == ends


def test_with_own_periods_table() -> None:
    old_rules = {Severity.SERIOUS: PublicityPeriod(6, 36)}
    r = CreditRecord.with_default_periods(
        record_id="r1",
        subject=USCC,
        kind=CreditRecordKind.SERIOUS_DISHONESTY_LIST,
        severity=Severity.SERIOUS,
        decided_on=dt.date(2020, 1, 10),
        periods=old_rules,
    )
    assert (r.min_publicity_months, r.max_publicity_months) == (6, 36)
    assert r.repairable_from == dt.date(2020, 7, 10)


def test_is_active_examples() -> None:
    r = record(repaired_on=dt.date(2026, 6, 1))
    assert r.publicity_ends_on == dt.date(2027, 1, 31)
    assert r.repairable_from == dt.date(2026, 4, 30)
    assert not r.is_active(dt.date(2026, 1, 30))
    assert r.is_active(dt.date(2026, 1, 31))
    assert r.is_active(dt.date(2026, 5, 31))
    assert not r.is_repaired(dt.date(2026, 5, 31))
    assert not r.is_active(dt.date(2026, 6, 1))
    assert r.is_repaired(dt.date(2026, 6, 1))
    unrepaired = record()
    assert unrepaired.is_active(dt.date(2027, 1, 30))
    assert not unrepaired.is_active(dt.date(2027, 1, 31))
    assert not unrepaired.is_repaired(dt.date(2099, 1, 1))


def test_zero_maximum_is_never_active() -> None:
    r = record(severity=Severity.MINOR, min_publicity_months=0, max_publicity_months=0)
    assert r.publicity_ends_on == r.decided_on
    assert not r.is_active(r.decided_on)


@given(records(), days)
def test_is_active_rules(r: CreditRecord, on: dt.date) -> None:
    if on < r.decided_on or on >= r.publicity_ends_on or r.is_repaired(on):
        assert not r.is_active(on)
    else:
        assert r.is_active(on)


@given(records())
def test_is_active_on_the_decision_day(r: CreditRecord) -> None:
    expected = r.max_publicity_months > 0 and r.repaired_on != r.decided_on
    assert r.is_active(r.decided_on) == expected
    assert not r.is_active(r.decided_on - dt.timedelta(days=1))
    assert not r.is_active(r.publicity_ends_on)
    if r.repaired_on is not None:
        assert not r.is_active(r.repaired_on)


@given(records(), st.lists(st.integers(-100, 1200), min_size=3, max_size=3))
def test_active_days_form_an_interval(r: CreditRecord, offsets: list[int]) -> None:
    early, middle, late = (r.decided_on + dt.timedelta(days=n) for n in sorted(offsets))
    if r.is_active(early) and r.is_active(late):
        assert r.is_active(middle)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"min_publicity_months": 12, "max_publicity_months": 3},
            "invalid CreditRecord: max_publicity_months: expected at least "
            "min_publicity_months (12), got 3",
        ),
        (
            {"min_publicity_months": -1},
            "invalid CreditRecord: min_publicity_months: expected 0 or more months, got -1",
        ),
        (
            {"repaired_on": dt.date(2026, 1, 30)},
            "invalid CreditRecord: repaired_on: expected on or after decided_on (2026-01-31), "
            "got 2026-01-30",
        ),
        (
            {"record_id": ""},
            "invalid CreditRecord: record_id: expected a non-empty record id, got ''",
        ),
        (
            {"decided_on": dt.datetime(2026, 1, 31, tzinfo=CST)},
            "invalid CreditRecord: decided_on: expected a date, got "
            "datetime.datetime(2026, 1, 31, 0, 0, "
            "tzinfo=datetime.timezone(datetime.timedelta(seconds=28800)))",
        ),
        (
            {"subject": " ", "record_id": ""},
            "invalid CreditRecord: record_id: expected a non-empty record id, got '' (and 1 more)",
        ),
    ],
)
def test_invalid_record(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidValue) as info:
        record(**changes)
    assert str(info.value) == message


def test_invalid_publicity_period() -> None:
    with pytest.raises(InvalidValue) as info:
        PublicityPeriod(3, 1)
    assert str(info.value) == (
        "invalid PublicityPeriod: max_months: expected at least min_months (3), got 1"
    )


@given(records())
def test_record_round_trip(r: CreditRecord) -> None:
    assert CreditRecord.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_record_from_toml_like_data() -> None:
    # TOML gives real dates and omits absent optional keys.
    r = CreditRecord.from_dict(
        {
            "record_id": "r1",
            "subject": USCC,
            "kind": "false_commitment",
            "severity": "serious",
            "decided_on": dt.date(2026, 4, 1),
            "min_publicity_months": 12,
            "max_publicity_months": 36,
        }
    )
    assert r.kind is CreditRecordKind.FALSE_COMMITMENT
    assert r.repaired_on is None


def test_record_from_dict_errors() -> None:
    # A well-formed city kind ("fraud") is readable; a malformed code is not.
    data = {**record().to_dict(), "kind": "Fraud!", "min_publicity_months": "3"}
    with pytest.raises(DataFileError) as info:
        CreditRecord.from_dict(data, source="r.json")
    assert info.value.report() == (
        "r.json: kind: expected one of 'dishonesty', 'serious_dishonesty_list', "
        "'administrative_penalty', 'commitment_breach', 'false_commitment', "
        "'false_application', or a city kind's code (lower-case letters, digits and _, e.g. "
        "'wage_arrears'), got string 'Fraud!'\n"
        "r.json: min_publicity_months: expected an integer, got string '3'"
    )


# --------------------------------------------------------------------------- evidence


def test_digest_is_sha256_of_canonical_json() -> None:
    e = CreditEvidence.create(
        subject=USCC,
        source="信用扬州",
        retrieved_at=AT,
        scale="yangzhou-a-e",
        grade="B",
        records=[record()],
    )
    canonical = (
        '{"grade":"B","records":[{"authority":null,"decided_on":"2026-01-31",'
        '"description":null,"kind":"administrative_penalty","legal_basis":null,'
        '"max_publicity_months":12,"min_publicity_months":3,"record_id":"JD-2026-001",'
        '"repaired_on":null,"severity":"general","subject":"91320000100000000B"}],'
        '"retrieved_at":"2026-05-06T01:30:00.000000+00:00","scale":"yangzhou-a-e",'
        '"source":"信用扬州","subject":"91320000100000000B"}'
    )
    assert e.digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert e.verify()


def test_digest_depends_on_the_instant_not_the_offset() -> None:
    here = CreditEvidence.create(subject=USCC, source="s", retrieved_at=AT, scale="x", grade=None)
    utc = CreditEvidence.create(
        subject=USCC, source="s", retrieved_at=AT.astimezone(dt.UTC), scale="x", grade=None
    )
    assert here.digest == utc.digest
    assert here == utc


def _changed(e: CreditEvidence, name: str, data: st.DataObject) -> dict[str, Any]:
    fields = {f.name: getattr(e, f.name) for f in attrs.fields(CreditEvidence)}
    del fields["digest"]
    value = fields[name]
    if name == "retrieved_at":
        fields[name] = value + dt.timedelta(microseconds=1)
    elif name == "grade":
        fields[name] = "A" if value is None else None
    elif name == "records":
        other = data.draw(records(e.subject))
        choice = data.draw(st.sampled_from(["add", "replace", "drop"]))
        if choice == "add" or not value:
            fields[name] = (*value, other)
        elif choice == "replace":
            assume(other != value[0])
            fields[name] = (other, *value[1:])
        else:
            fields[name] = value[1:]
    else:
        fields[name] = value + "x"
    return fields


@given(
    evidence(),
    st.sampled_from(["subject", "source", "retrieved_at", "scale", "grade", "records"]),
    st.data(),
)
def test_digest_changes_when_any_field_changes(
    e: CreditEvidence, name: str, data: st.DataObject
) -> None:
    fields = _changed(e, name, data)
    assert CreditEvidence.create(**fields).digest != e.digest
    tampered = attrs.evolve(e, **{name: fields[name]})
    assert not tampered.verify()


@given(evidence())
def test_evidence_round_trip(e: CreditEvidence) -> None:
    stored = json.dumps(e.to_dict(), ensure_ascii=False)
    again = CreditEvidence.from_dict(json.loads(stored), source="store")
    assert again == e
    assert again.verify()
    assert again.to_dict() == e.to_dict()


def test_from_dict_keeps_a_tampered_digest_for_verify() -> None:
    data = CreditEvidence.create(
        subject=USCC, source="s", retrieved_at=AT, scale="yangzhou-a-e", grade="C"
    ).to_dict()
    data["grade"] = "A"
    assert not CreditEvidence.from_dict(data).verify()


def test_naive_datetime_rejected() -> None:
    naive = dt.datetime(2026, 5, 6, 9, 30)
    with pytest.raises(InvalidValue) as info:
        CreditEvidence.create(subject=USCC, source="s", retrieved_at=naive, scale="x", grade="A")
    assert str(info.value) == (
        "invalid CreditEvidence: retrieved_at: expected a date-time with offset (e.g. +08:00), "
        "got datetime.datetime(2026, 5, 6, 9, 30)"
    )
    with pytest.raises(InvalidValue, match="retrieved_at: expected a date-time with offset"):
        CreditEvidence(
            subject=USCC,
            source="s",
            retrieved_at=naive,
            scale="x",
            grade="A",
            records=(),
            digest="0" * 64,
        )


def test_malformed_digest_rejected() -> None:
    with pytest.raises(InvalidValue) as info:
        CreditEvidence(
            subject=USCC,
            source="s",
            retrieved_at=AT,
            scale="x",
            grade=None,
            records=(),
            digest="AB",
        )
    assert str(info.value) == (
        "invalid CreditEvidence: digest: expected 64 lower-case hex digits, got 'AB'"
    )


def test_evidence_from_dict_errors_have_paths() -> None:
    good = record().to_dict()
    data = {
        "subject": USCC,
        "source": "",
        "retrieved_at": "2026-05-06T09:30:00+08:00",
        "scale": "yangzhou-a-e",
        "grade": "B",
        "digest": "0" * 64,
        "records": [
            good,
            {**good, "max_publicity_months": 1},
            {**good, "repaired_on": "2025-01-01"},
        ],
    }
    with pytest.raises(DataFileError) as info:
        CreditEvidence.from_dict(data, source="case-17/evidence.json")
    assert info.value.report() == (
        "case-17/evidence.json: source: expected a non-empty source name, got ''\n"
        "case-17/evidence.json: records[1].max_publicity_months: expected at least "
        "min_publicity_months (3), got 1\n"
        "case-17/evidence.json: records[2].repaired_on: expected on or after decided_on "
        "(2026-01-31), got 2025-01-01"
    )


@pytest.mark.parametrize(
    ("change", "report"),
    [
        (
            {"retrieved_at": "2026-05-06T09:30:00"},
            "e.json: retrieved_at: expected a date-time with offset (e.g. +08:00), "
            "got string '2026-05-06T09:30:00'",
        ),
        (
            {"records": [{**record().to_dict(), "grade": "A"}]},
            "e.json: records[0]: unknown key 'grade' (allowed: record_id, subject, kind, "
            "severity, decided_on, min_publicity_months, max_publicity_months, repaired_on, "
            "authority, legal_basis, description, item_code)",
        ),
        ({"grade": 3}, "e.json: grade: expected a string, got number 3"),
        ({"digest": None}, "e.json: digest: expected a string, got nothing"),
    ],
)
def test_evidence_from_dict_structure_errors(change: dict[str, Any], report: str) -> None:
    data = CreditEvidence.create(
        subject=USCC, source="s", retrieved_at=AT, scale="x", grade="A"
    ).to_dict()
    with pytest.raises(DataFileError) as info:
        CreditEvidence.from_dict({**data, **change}, source="e.json")
    assert info.value.report() == report


def test_active_records_and_grade() -> None:
    old = record(record_id="old", decided_on=dt.date(2020, 1, 1))
    repaired = record(record_id="repaired", repaired_on=dt.date(2026, 3, 1))
    current = record(record_id="current")
    e = CreditEvidence.create(
        subject=USCC,
        source="信用扬州",
        retrieved_at=AT,
        scale="yangzhou-a-e",
        grade="b",
        records=[old, repaired, current],
    )
    assert e.active_records(dt.date(2026, 2, 1)) == (repaired, current)
    assert e.active_records(dt.date(2026, 5, 6)) == (current,)
    assert e.resolve_grade(YANGZHOU_A_E) == YANGZHOU_A_E.grade("B")
    with pytest.raises(ScaleMismatch):
        e.resolve_grade(SAMR_A_D)
    ungraded = attrs.evolve(e, grade=None)
    assert ungraded.resolve_grade(YANGZHOU_A_E) is None
    with pytest.raises(UnknownGrade):
        attrs.evolve(e, grade="Z").resolve_grade(YANGZHOU_A_E)


# --------------------------------------------------------------------------- lookup failure


def test_lookup_failure() -> None:
    failure = CreditLookupFailure(
        subject=USCC, source="信用扬州", attempted_at=AT, reason="timeout after 3.0 s"
    )
    data = failure.to_dict()
    assert data["attempted_at"] == "2026-05-06T01:30:00.000000+00:00"
    assert CreditLookupFailure.from_dict(json.loads(json.dumps(data))) == failure


def test_lookup_failure_errors() -> None:
    with pytest.raises(InvalidValue) as info:
        CreditLookupFailure(
            subject=USCC, source="s", attempted_at=dt.datetime(2026, 5, 6), reason=""
        )
    assert str(info.value) == (
        "invalid CreditLookupFailure: attempted_at: expected a date-time with offset "
        "(e.g. +08:00), got datetime.datetime(2026, 5, 6, 0, 0) (and 1 more)"
    )
    assert info.value.problems[1].path == "reason"
    with pytest.raises(DataFileError) as dinfo:
        CreditLookupFailure.from_dict(
            {"subject": USCC, "source": "s", "attempted_at": AT.isoformat(), "reason": " "},
            source="f.json",
        )
    assert dinfo.value.report() == "f.json: reason: expected a non-empty reason, got ' '"


def test_lookup_failure_category_is_stored_and_read_back() -> None:
    failure = CreditLookupFailure(
        subject=USCC,
        source="信用扬州",
        attempted_at=AT,
        reason="HTTP 403",
        category=FailureCategory.UNAUTHORISED,
    )
    data = failure.to_dict()
    assert data["category"] == "unauthorised"
    assert CreditLookupFailure.from_dict(json.loads(json.dumps(data))) == failure
    with pytest.raises(DataFileError) as info:
        CreditLookupFailure.from_dict({**data, "category": "flaky"}, source="f.json")
    assert info.value.problems[0].path == "category"


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("timeout after 3.0 s", FailureCategory.TIMEOUT),
        ("TimeoutError: no answer from 信用扬州 within 3.0 s", FailureCategory.TIMEOUT),
        ("信用扬州接口超时（3 秒）", FailureCategory.TIMEOUT),
        ("ConnectionRefusedError: [Errno 111] Connection refused", FailureCategory.REFUSED),
        (
            "ConnectionError: credit source 'credit-file' is unavailable",
            FailureCategory.UNREACHABLE,
        ),
        ("OSError: 电子证照库 connection refused", FailureCategory.UNREACHABLE),
        ("HTTP 503 Service Unavailable", FailureCategory.UPSTREAM_ERROR),
        ("HTTP 401 Unauthorized", FailureCategory.UNAUTHORISED),
        ("malformed reply: expected credit evidence, got dict", FailureCategory.MALFORMED_REPLY),
        ("RuntimeError: stack trace", FailureCategory.INTERNAL),
    ],
)
def test_a_failure_stored_without_a_category_gets_one_from_its_reason(
    reason: str, category: FailureCategory
) -> None:
    old = {"subject": USCC, "source": "s", "attempted_at": AT.isoformat(), "reason": reason}
    assert CreditLookupFailure.from_dict(old).category is category


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("broken")


class _Declares(Exception):
    category = "refused"


class _DeclaresNonsense(Exception):
    category = 42


class _Hostile(Exception):
    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(name)


@pytest.mark.parametrize(
    ("make", "category"),
    [
        (TimeoutError, FailureCategory.TIMEOUT),
        (socket.timeout, FailureCategory.TIMEOUT),
        (ConnectionRefusedError, FailureCategory.REFUSED),
        (ConnectionResetError, FailureCategory.UNREACHABLE),
        (lambda: OSError("no route to host"), FailureCategory.UNREACHABLE),
        (lambda: json.JSONDecodeError("x", "doc", 0), FailureCategory.MALFORMED_REPLY),
        (lambda: CreditSourceError("wrong-subject"), FailureCategory.WRONG_SUBJECT),
        (_Declares, FailureCategory.REFUSED),
        (_DeclaresNonsense, FailureCategory.INTERNAL),
        (_Hostile, FailureCategory.INTERNAL),
        (_Unprintable, FailureCategory.INTERNAL),
        (lambda: KeyError("x"), FailureCategory.INTERNAL),
    ],
    ids=[
        "timeout",
        "socket-timeout",
        "refused",
        "reset",
        "oserror",
        "json",
        "declared-error",
        "declared-attribute",
        "declared-nonsense",
        "hostile",
        "unprintable",
        "other",
    ],
)
def test_categorise(make: Callable[[], BaseException], category: FailureCategory) -> None:
    exc = make()
    assert categorise(exc) is category
    detail = failure_detail(exc)  # never raises, never empty
    assert detail
    assert len(detail) <= DETAIL_LIMIT


def test_credit_source_error() -> None:
    error = CreditSourceError(FailureCategory.UPSTREAM_ERROR, "HTTP 502 from https://x.cn/?t=1")
    assert isinstance(error, CreditCommitError)
    assert error.category is FailureCategory.UPSTREAM_ERROR
    assert failure_detail(error) == "CreditSourceError: HTTP 502 from <url>"
    with pytest.raises(ValueError, match="'sometimes' is not a valid FailureCategory"):
        CreditSourceError("sometimes")


def test_failure_detail_of_an_unprintable_exception() -> None:
    assert failure_detail(_Unprintable()) == "_Unprintable (its message could not be read)"


def test_a_lookup_failure_reason_is_sanitised_when_built() -> None:
    failure = CreditLookupFailure(
        subject=USCC,
        source="s",
        attempted_at=AT,
        reason="GET https://x.cn/q?token=abc failed\n\tAuthorization: Bearer abcdefgh123",
    )
    assert failure.reason == "GET <url> failed <redacted>"


# --------------------------------------------------------------------------- the sanitiser

_TOKEN_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz0123456789"
secrets = st.text(_TOKEN_CHARS, min_size=8, max_size=40).filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)
)
# Plain words around the secrets: Chinese and English, no digits, so no secret can hide in them.
words = st.lists(
    st.sampled_from(
        ["credit", "source", "failed", "信用扬州", "接口", "超时", "after", "3.0", "s:"]
    ),
    max_size=6,
).map(" ".join)
HIDING = (
    "https://credit.example.gov.cn/api/v1/subjects?key={}",
    "http://10.0.0.5:8443/query?access_token={}",
    "Bearer {}",
    "Authorization: Bearer {}",
    "Authorization: Basic {}",
    "token={}",
    "api_key: {}",
    "X-Api-Key: {}",
    "password={}",
    "session={};",
    "{}@credit.example.cn",
    "cookie: sid={}",
    "?sig={}&ts=1",
)


@given(
    before=words,
    after=words,
    secret=secrets,
    form=st.sampled_from(HIDING),
    noise=st.text(max_size=40),
)
def test_the_sanitiser_never_lets_a_secret_through(
    before: str, after: str, secret: str, form: str, noise: str
) -> None:
    assume(secret not in noise)
    text = f"{noise} {before} {form.format(secret)} {after}"
    out = sanitise_detail(text)
    assert secret not in out
    assert "://" not in out
    assert "=" not in out


@given(st.text(max_size=400), st.integers(1, 300))
def test_the_sanitiser_is_idempotent_short_and_one_line(text: str, limit: int) -> None:
    out = sanitise_detail(text, limit)
    assert sanitise_detail(out, limit) == out
    assert len(out) <= limit
    assert not any(c in out for c in "\n\r\x00")
    assert out == out.strip()


@given(words)
def test_the_sanitiser_keeps_plain_words(text: str) -> None:
    assert sanitise_detail(text) == " ".join(text.split())
