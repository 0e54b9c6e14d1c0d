"""Tests for creditcommit.testing.strategies: every value drawn is valid, pins are honoured."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import creditcommit
import creditcommit.testing
from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, Catalog, CommitmentMode, MaterialKind, Verification
from creditcommit.catalog import VerificationMethod as VM
from creditcommit.credit import (
    GBT_22116,
    SAMR_A_D,
    YANGZHOU_A_E,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    Grade,
    GradeScale,
    Severity,
)
from creditcommit.decision import Applicant, ApplicantKind, ProjectFacts, ProjectLevel
from creditcommit.effective import LegalReference
from creditcommit.errors import UnknownGrade
from creditcommit.identifiers import USCC, ResidentId
from creditcommit.materials import LicenceHolding
from creditcommit.policy import (
    EXCLUDED_BY_GUOBAN_42,
    GRADE_SCALE_PRESETS,
    Policy,
    PolicySnapshot,
    decide_many,
)
from creditcommit.testing import strategies as ccst

D = dt.date
CST = dt.timedelta(hours=8)
SAMPLE = Policy.sample()  # national defaults + the Yangzhou sample overlay (from 2022-11-01)
SAMPLE_DAY = D(2023, 1, 16)
CHINA = dt.timezone(dt.timedelta(hours=8))
DOCS = Path(__file__).parents[1] / "docs" / "testing.md"


def raised_by(strategy: st.SearchStrategy[Any]) -> None:
    """Draw once from ``strategy`` (for strategies whose arguments fail at draw time)."""

    @settings(max_examples=1, database=None)
    @given(strategy)
    def draw_once(_: object) -> None:
        pass

    draw_once()


# --------------------------------------------------------------------------- the kit


def test_package_exports_the_module_and_every_strategy() -> None:
    kit = creditcommit.testing
    assert kit.strategies is ccst
    functions = {name for name in ccst.__all__ if inspect.isfunction(getattr(ccst, name))}
    # The scenario runner's names are exported from the package too.
    assert functions | {"strategies"} <= set(kit.__all__)
    for name in functions:
        assert getattr(kit, name) is getattr(ccst, name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = kit.nothing_here


def test_every_strategy_returns_a_strategy_and_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in ccst.__all__:
        function = getattr(ccst, name)
        if not inspect.isfunction(function):
            continue
        assert inspect.signature(function).return_annotation.startswith("st.SearchStrategy["), name
        assert function.__doc__, name
        assert f"### `{name}(" in text, f"{name} is not documented in docs/testing.md"


def test_importing_the_kit_does_not_import_hypothesis() -> None:
    code = "import sys, creditcommit.testing; print('hypothesis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_only_the_testing_kit_imports_hypothesis() -> None:
    root = Path(creditcommit.__file__).parent
    for path in root.rglob("*.py"):
        if path.relative_to(root).parts[0] == "testing":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "hypothesis" for n in names), path


def test_default_days_are_covered() -> None:
    # The national defaults are in force on FIRST_DAY, and a deferral of the longest
    # statutory limit drawn from LAST_DAY stays inside the bundled calendar.
    national = Policy.national()
    assert national.changes()[0] == ccst.FIRST_DAY
    assert national.timeline("blocking_records").at(ccst.FIRST_DAY)
    calendar = WorkingCalendar.china()
    assert calendar.add_working_days(ccst.LAST_DAY, ccst.MAX_STATUTORY_DAYS) > ccst.LAST_DAY


# --------------------------------------------------------------------------- identifiers


@given(ccst.uscc_codes())
def test_uscc_codes_parse(code: str) -> None:
    parsed = USCC.parse(code)
    assert parsed.value == code
    assert not parsed.legacy


@given(ccst.uscc_codes(authority="9", category="2", division=st.sampled_from(["321012", "321084"])))
def test_uscc_codes_pins(code: str) -> None:
    parsed = USCC.parse(code)
    assert (parsed.authority_code, parsed.category_code) == ("9", "2")
    assert parsed.division_code in {"321012", "321084"}


def test_uscc_codes_bad_pin() -> None:
    with pytest.raises(InvalidArgument, match="division must be 6 character"):
        raised_by(ccst.uscc_codes(division="32101X"))


@given(ccst.resident_ids())
def test_resident_ids_parse(number: str) -> None:
    parsed = ResidentId.parse(number)
    assert parsed.value == number
    assert D(1930, 1, 1) <= parsed.birth_date <= D(2008, 12, 31)


@given(ccst.resident_ids(division="321084", birth_date=D(1990, 2, 28)))
def test_resident_ids_pins(number: str) -> None:
    parsed = ResidentId.parse(number)
    assert parsed.division_code == "321084"
    assert parsed.birth_date == D(1990, 2, 28)


def test_resident_ids_bad_birth_date() -> None:
    with pytest.raises(InvalidArgument, match="birth_date must have a four-digit year"):
        raised_by(ccst.resident_ids(birth_date=D(999, 1, 1)))


# --------------------------------------------------------------------------- days and times


@given(ccst.days())
def test_days_default_range(day: dt.date) -> None:
    assert ccst.FIRST_DAY <= day <= ccst.LAST_DAY


@given(ccst.days(min_value=D(2022, 10, 1), max_value=D(2022, 10, 7)))
def test_days_pins(day: dt.date) -> None:
    assert D(2022, 10, 1) <= day <= D(2022, 10, 7)


@given(ccst.retrieval_times(on=SAMPLE_DAY))
def test_retrieval_times(at: dt.datetime) -> None:
    assert at.date() == SAMPLE_DAY
    assert at.utcoffset() == CST


# --------------------------------------------------------------------------- grades


@given(ccst.grade_scales())
def test_grade_scales_are_valid_and_read_back(scale: GradeScale) -> None:
    data = {"name": scale.name, "grades": list(scale.grades), "labels": dict(scale.labels)}
    assert GradeScale.from_dict(data) == scale


@given(ccst.grade_scales(custom=False))
def test_grade_scales_presets_only(scale: GradeScale) -> None:
    assert GRADE_SCALE_PRESETS[scale.name] is scale


@given(ccst.grade_scales().flatmap(lambda s: st.tuples(st.just(s), ccst.grades(s))))
def test_grades_are_on_their_scale(case: tuple[GradeScale, Grade]) -> None:
    scale, grade = case
    assert grade == scale.grade(grade.code)


@given(ccst.grades(GBT_22116, at_least="B", at_most="A-"))
def test_grades_bounds(grade: Grade) -> None:
    assert GBT_22116.grade("A-") >= grade >= GBT_22116.grade("B")


def test_grades_empty_range() -> None:
    with pytest.raises(InvalidArgument, match="no grade of 'samr-a-d' is at least A and at most B"):
        ccst.grades(SAMR_A_D, at_least="A", at_most="B")


def test_grades_unknown_bound() -> None:
    with pytest.raises(UnknownGrade, match="grade 'Z' is not on the 'samr-a-d' scale"):
        ccst.grades(SAMR_A_D, at_least="Z")


# --------------------------------------------------------------------------- credit


@given(ccst.credit_records())
def test_credit_records_read_back(record: CreditRecord) -> None:
    assert CreditRecord.from_dict(record.to_dict()) == record
    assert USCC.is_valid(record.subject)


@given(
    ccst.credit_records(
        subject="91321012MA1W0000A9",
        around=SAMPLE_DAY,
        kinds=[CreditRecordKind.DISHONESTY],
        severities=[Severity.GENERAL, Severity.SERIOUS],
        repaired=True,
    )
)
def test_credit_records_pins(record: CreditRecord) -> None:
    assert record.subject == "91321012MA1W0000A9"
    assert SAMPLE_DAY - dt.timedelta(days=5 * 366) <= record.decided_on
    assert record.decided_on <= SAMPLE_DAY + dt.timedelta(days=30)
    assert record.kind is CreditRecordKind.DISHONESTY
    assert record.severity is not Severity.MINOR
    assert record.repaired_on is not None


@given(ccst.credit_records(repaired=False))
def test_credit_records_unrepaired(record: CreditRecord) -> None:
    assert record.repaired_on is None


def test_credit_records_no_choice() -> None:
    with pytest.raises(InvalidArgument, match="kinds must offer at least one choice"):
        ccst.credit_records(kinds=[])


def assert_sound(evidence: CreditEvidence, subject: str, on: dt.date, scale: GradeScale) -> None:
    assert evidence.verify()
    assert evidence.subject == subject
    assert all(r.subject == subject for r in evidence.records)
    assert evidence.retrieved_at.date() == on
    assert evidence.scale == scale.name
    assert evidence.grade is None or evidence.grade in scale.grades
    assert CreditEvidence.from_dict(evidence.to_dict()) == evidence


@given(st.data(), ccst.uscc_codes(), ccst.days(), ccst.grade_scales())
def test_credit_evidence_is_sound(
    data: st.DataObject, subject: str, on: dt.date, scale: GradeScale
) -> None:
    evidence = data.draw(ccst.credit_evidence(subject=subject, on=on, scale=scale))
    assert_sound(evidence, subject, on, scale)


@given(ccst.credit_evidence())
def test_credit_evidence_defaults_are_sound(evidence: CreditEvidence) -> None:
    assert evidence.verify()
    assert all(r.subject == evidence.subject for r in evidence.records)
    assert CreditEvidence.from_dict(evidence.to_dict()) == evidence


@given(
    ccst.credit_evidence(scale=YANGZHOU_A_E, grade=ccst.grades(YANGZHOU_A_E, at_least="B")),
    ccst.credit_evidence(scale=SAMR_A_D, grade=SAMR_A_D.grade("C")),
    ccst.credit_evidence(grade=st.none()),
)
def test_credit_evidence_grade_pins(
    good: CreditEvidence, c: CreditEvidence, ungraded: CreditEvidence
) -> None:
    assert good.grade in {"A", "B"}
    assert (c.scale, c.grade) == ("samr-a-d", "C")
    assert ungraded.grade is None


@given(st.data(), ccst.days(min_value=D(2022, 11, 1)))
def test_credit_evidence_takes_the_policy_scale(data: st.DataObject, on: dt.date) -> None:
    evidence = data.draw(ccst.credit_evidence(policy=SAMPLE, on=on))
    assert evidence.scale == SAMPLE.at(on).grade_scale.name


def blocked(evidence: CreditEvidence, snap: PolicySnapshot, on: dt.date) -> bool:
    return any(snap.blocking_rules(r, on) for r in evidence.records)


@given(st.data(), ccst.days(min_value=D(2022, 11, 1)), st.booleans())
def test_credit_evidence_with_blocking_record_under_a_policy(
    data: st.DataObject, on: dt.date, blocking: bool
) -> None:
    evidence = data.draw(ccst.credit_evidence(policy=SAMPLE, on=on, with_blocking_record=blocking))
    assert blocked(evidence, SAMPLE.at(on), on) is blocking


@given(st.data(), ccst.policies(), ccst.days(), st.booleans())
def test_credit_evidence_with_blocking_record_under_any_policy(
    data: st.DataObject, policy: Policy, on: dt.date, blocking: bool
) -> None:
    # Without a policy, True means blocked under every policy, False under none.
    evidence = data.draw(ccst.credit_evidence(on=on, with_blocking_record=blocking))
    assert blocked(evidence, policy.at(on), on) is blocking


@given(st.data(), ccst.days(min_value=D(2022, 11, 1)))
def test_grades_at_threshold_of_a_policy(data: st.DataObject, on: dt.date) -> None:
    snap = SAMPLE.at(on)
    grade = data.draw(ccst.grades(at_threshold_of=snap))
    assert grade == snap.conditional_threshold
    assert data.draw(ccst.grades(snap.grade_scale, at_threshold_of=snap)) == grade


def test_grades_at_threshold_refuses_bounds_and_other_scales() -> None:
    snap = SAMPLE.at(SAMPLE_DAY)
    with pytest.raises(InvalidArgument, match="pins one grade"):
        ccst.grades(at_threshold_of=snap, at_least="A")
    with pytest.raises(InvalidArgument, match="not 'gbt-22116'"):
        ccst.grades(GBT_22116, at_threshold_of=snap)
    with pytest.raises(InvalidArgument, match="needs a scale"):
        ccst.grades()


RECORD = CreditRecord.with_default_periods(
    record_id="P-1",
    subject="someone else",
    kind=CreditRecordKind.ADMINISTRATIVE_PENALTY,
    severity=Severity.SERIOUS,
    decided_on=D(2022, 12, 1),
)


@given(ccst.credit_evidence(on=SAMPLE_DAY, records=[RECORD], subject="S"))
def test_credit_evidence_pinned_records(evidence: CreditEvidence) -> None:
    # The record is moved to the evidence's subject; nothing else is added.
    assert evidence.records == (attrs.evolve(RECORD, subject="S"),)
    assert evidence.verify()


@given(ccst.credit_evidence(on=SAMPLE_DAY, records=()))
def test_credit_evidence_pinned_no_records(evidence: CreditEvidence) -> None:
    assert evidence.records == ()


@given(
    ccst.credit_evidence(
        policy=SAMPLE, on=SAMPLE_DAY, records=st.just([RECORD]), with_blocking_record=False
    )
)
def test_pinned_records_are_repaired_when_nothing_may_block(evidence: CreditEvidence) -> None:
    (record,) = evidence.records
    assert record.repaired_on is not None
    assert not blocked(evidence, SAMPLE.at(SAMPLE_DAY), SAMPLE_DAY)


@given(st.data(), ccst.days(min_value=D(2022, 11, 1)))
def test_recipe_grade_at_the_threshold_with_no_blocking_record(
    data: st.DataObject, on: dt.date
) -> None:
    """The recipe of docs/testing.md reaches the edge in every example, not now and then."""
    snap = SAMPLE.at(on)
    evidence = data.draw(
        ccst.credit_evidence(
            policy=snap,
            on=on,
            grade=ccst.grades(at_threshold_of=snap),
            with_blocking_record=False,
        )
    )
    assert evidence.grade == snap.conditional_threshold.code
    assert not blocked(evidence, snap, on)


def test_credit_evidence_snapshot_out_of_force() -> None:
    snap = SAMPLE.at(SAMPLE_DAY)
    with pytest.raises(InvalidArgument, match="not in force on 2022-01-01"):
        raised_by(ccst.credit_evidence(policy=snap, on=D(2022, 1, 1)))


@given(ccst.lookup_failures())
def test_lookup_failures_read_back(failure: CreditLookupFailure) -> None:
    assert CreditLookupFailure.from_dict(failure.to_dict()) == failure


@given(ccst.lookup_failures(subject="X", on=SAMPLE_DAY, source="信用扬州", reason="timeout"))
def test_lookup_failures_pins(failure: CreditLookupFailure) -> None:
    assert (failure.subject, failure.source, failure.reason) == ("X", "信用扬州", "timeout")
    assert failure.attempted_at.date() == SAMPLE_DAY


@given(ccst.evidence_or_absence(subject="S", on=SAMPLE_DAY, scale=SAMR_A_D, faulty=False))
def test_evidence_or_absence_without_faults(
    found: CreditEvidence | CreditLookupFailure | None,
) -> None:
    if isinstance(found, CreditEvidence):
        assert_sound(found, "S", SAMPLE_DAY, SAMR_A_D)
    elif isinstance(found, CreditLookupFailure):
        assert found.subject == "S"
        assert found.attempted_at.date() == SAMPLE_DAY


@given(ccst.evidence_or_absence(subject="S", on=SAMPLE_DAY, scale=SAMR_A_D))
def test_evidence_or_absence_values_are_valid(
    found: CreditEvidence | CreditLookupFailure | None,
) -> None:
    if isinstance(found, CreditEvidence):
        assert CreditEvidence.from_dict(found.to_dict()) == found


@given(st.data(), ccst.days(min_value=D(2022, 11, 1)))
def test_evidence_or_absence_takes_the_policy_scale(data: st.DataObject, on: dt.date) -> None:
    found = data.draw(ccst.evidence_or_absence(policy=SAMPLE, on=on, faulty=False))
    if isinstance(found, CreditEvidence):
        assert found.scale == SAMPLE.at(on).grade_scale.name


def fault(found: object) -> str | None:
    """Which fault a decision would find in ``found``, if any."""
    if not isinstance(found, CreditEvidence):
        return None
    if found.subject != "S" or any(r.subject != "S" for r in found.records):
        return "other"
    if not found.verify():
        return "altered"
    if found.scale != SAMR_A_D.name:
        return "scale"
    if found.grade is not None and found.grade not in SAMR_A_D:
        return "unknown"
    retrieved_on = found.retrieved_at.astimezone(CHINA).date()
    if retrieved_on < SAMPLE_DAY - dt.timedelta(days=30):
        return "stale"
    if retrieved_on > SAMPLE_DAY:
        return "future"
    return None


@given(ccst.evidence_or_absence(subject="S", on=SAMPLE_DAY, scale=SAMR_A_D, faulty=False))
def test_evidence_or_absence_no_fault_when_not_faulty(found: object) -> None:
    assert fault(found) is None


def test_evidence_or_absence_draws_every_fault() -> None:
    seen: set[str | None] = set()

    @settings(max_examples=300, database=None)
    @given(ccst.evidence_or_absence(subject="S", on=SAMPLE_DAY, scale=SAMR_A_D))
    def collect(found: object) -> None:
        seen.add(fault(found))
        seen.add(type(found).__name__)

    collect()
    assert {"other", "altered", "scale", "unknown", "stale", "future", None} <= seen
    assert {"NoneType", "CreditLookupFailure", "CreditEvidence"} <= seen


# --------------------------------------------------------------------------- catalogue


def item_with(*materials: Any, mode: CommitmentMode, promised: int) -> ApprovalItem:
    return ApprovalItem(
        code="T",
        name="测试",
        department="测试局",
        legal_basis=(LegalReference("某条例"),),
        statutory_days=max(promised, 1),
        promised_days=promised,
        commitment_mode=mode,
        verification=Verification(VM.EXEMPT),
        materials=materials,
        valid_from=ccst.FIRST_DAY,
    )


@given(st.data(), st.sampled_from(CommitmentMode), st.integers(0, 20))
def test_materials_fit_their_item(data: st.DataObject, mode: CommitmentMode, promised: int) -> None:
    material = data.draw(ccst.materials(mode=mode, promised_days=promised))
    item_with(material, mode=mode, promised=promised)  # builds: the material fits


@given(ccst.materials(code="M-X", kinds=[MaterialKind.LICENCE], licence_types=["food-permit"]))
def test_materials_pins(material: Any) -> None:
    assert (material.code, material.kind, material.licence_type) == (
        "M-X",
        MaterialKind.LICENCE,
        "food-permit",
    )


def test_materials_no_kind_fits() -> None:
    with pytest.raises(
        InvalidArgument, match=r"no kind of \['waivable'\] is allowed for mode CommitmentMode.NONE"
    ):
        raised_by(ccst.materials(kinds=[MaterialKind.WAIVABLE], mode=CommitmentMode.NONE))


@given(ccst.approval_items())
def test_approval_items_read_back(item: ApprovalItem) -> None:
    catalog = Catalog("c", "1", [item])
    assert Catalog.from_dict(catalog.to_dict()) == catalog
    assert item.code in ccst.ITEM_CODES
    assert item.valid_from == ccst.FIRST_DAY
    assert item.valid_until is None
    assert item.domains <= set(ccst.DOMAINS)
    assert 1 <= len(item.materials) <= 8


@given(
    ccst.approval_items(
        code="320000-A",
        mode=CommitmentMode.DEFERRED_ONLY,
        domains=["transport"],
        valid_from=D(2023, 1, 1),
        max_materials=2,
        licence_types=["food-permit"],
    )
)
def test_approval_items_pins(item: ApprovalItem) -> None:
    assert item.code == "320000-A"
    assert item.commitment_mode is CommitmentMode.DEFERRED_ONLY
    assert item.domains == {"transport"}
    assert item.valid_from == D(2023, 1, 1)
    assert len(item.materials) <= 2
    assert all(m.licence_type in {None, "food-permit"} for m in item.materials)
    assert not item.materials_of(MaterialKind.WAIVABLE)


def test_approval_items_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match="max_materials must be at least 1, got 0"):
        ccst.approval_items(max_materials=0)
    with pytest.raises(InvalidArgument, match="not the string 'transport'"):
        ccst.approval_items(domains="transport")


@given(ccst.catalogs())
def test_catalogs_read_back(catalog: Catalog) -> None:
    assert Catalog.from_dict(catalog.to_dict()) == catalog
    assert set(catalog.codes()) <= set(ccst.ITEM_CODES)
    for code in catalog.codes():
        assert catalog.timeline(code).entries[0].start == ccst.FIRST_DAY
        assert len(catalog.timeline(code).entries) <= 3


@given(ccst.catalogs(item_codes=["A"], valid_from=D(2024, 1, 1), max_versions=1))
def test_catalogs_pins(catalog: Catalog) -> None:
    assert catalog.codes() == ("A",)
    (only,) = catalog.item_versions
    assert only.valid_from == D(2024, 1, 1)


def test_catalogs_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match="max_versions must be at least 1, got 0"):
        ccst.catalogs(max_versions=0)
    with pytest.raises(InvalidArgument, match="item_codes must offer at least one code"):
        ccst.catalogs(item_codes=[])


# --------------------------------------------------------------------------- parties


@given(ccst.applicants())
def test_applicants_have_an_identifier_of_their_kind(applicant: Applicant) -> None:
    if applicant.kind is ApplicantKind.NATURAL_PERSON:
        assert ResidentId.is_valid(applicant.identifier)
    else:
        assert USCC.is_valid(applicant.identifier)
    if applicant.kind is ApplicantKind.INDIVIDUAL_BUSINESS:
        assert applicant.identifier.startswith("92")
    assert applicant.name


@given(ccst.applicants(kind=ApplicantKind.LEGAL_PERSON, identifier="91321012MA1W0000A9"))
def test_applicants_pins(applicant: Applicant) -> None:
    assert applicant.kind is ApplicantKind.LEGAL_PERSON
    assert applicant.identifier == "91321012MA1W0000A9"


@given(ccst.projects(major_level=ProjectLevel.MUNICIPAL), ccst.projects(major_level=st.none()))
def test_projects_pins(major: ProjectFacts, ordinary: ProjectFacts) -> None:
    assert major.major_level is ProjectLevel.MUNICIPAL
    assert ordinary.major_level is None


@given(ccst.licence_holdings(licence_types=["food-permit"], max_size=2))
def test_licence_holdings(holdings: list[LicenceHolding]) -> None:
    assert len(holdings) <= 2
    for holding in holdings:
        assert holding.licence_type == "food-permit"
        assert holding.valid_until is None or holding.valid_until <= ccst.LAST_DAY


# --------------------------------------------------------------------------- policies


@given(ccst.policies(), ccst.days())
def test_policies_are_in_force_on_every_default_day(policy: Policy, on: dt.date) -> None:
    snap = policy.at(on)
    assert snap.conditional_threshold.scale == snap.grade_scale.name
    assert policy.sources == ("creditcommit/data/policy-national.toml", "<drawn>")
    # The national floor is always kept.
    kinds = {(r.kind, r.min_severity) for r in snap.blocking_records}
    assert (CreditRecordKind.SERIOUS_DISHONESTY_LIST, Severity.MINOR) in kinds
    assert (CreditRecordKind.FALSE_COMMITMENT, Severity.MINOR) in kinds


@given(
    ccst.policies(
        valid_from=D(2023, 1, 1), scale=GBT_22116, item_codes=["A"], domain_tags=["transport"]
    )
)
def test_policies_pins(policy: Policy) -> None:
    assert policy.timeline("grade_scale").entries[0].start == D(2023, 1, 1)
    snap = policy.at(D(2023, 1, 1))
    assert snap.grade_scale == GBT_22116
    assert snap.commitment_items == "all" or snap.commitment_items <= {"A"}
    assert snap.excluded_domains <= {"transport"} or snap.excluded_domains == EXCLUDED_BY_GUOBAN_42
    for ban in snap.reapplication_ban_months:
        assert ban.domains <= {"transport"}


@given(ccst.policies(scale=ccst.grade_scales().filter(lambda s: s.name not in GRADE_SCALE_PRESETS)))
def test_policies_with_a_scale_of_their_own(policy: Policy) -> None:
    assert policy.at(ccst.FIRST_DAY).grade_scale.name in {"city-scale", "district-scale"}


def test_policies_before_the_national_defaults() -> None:
    with pytest.raises(InvalidArgument, match="valid_from 2020-12-31 is before the national"):
        ccst.policies(valid_from=D(2020, 12, 31))


# --------------------------------------------------------------------------- applications


@given(st.data(), ccst.policies(), ccst.days())
def test_applications_are_decidable(data: st.DataObject, policy: Policy, on: dt.date) -> None:
    apps = data.draw(st.lists(ccst.applications(policy=policy, on=on), max_size=3))
    decisions = decide_many(apps, policy, on)
    assert [d.applicant for d in decisions] == [a.applicant.identifier for a in apps]


@given(st.data(), ccst.days(min_value=D(2022, 11, 1)))
def test_applications_pins(data: st.DataObject, on: dt.date) -> None:
    item = Catalog.sample().item("321084-GGCSWSXK", on)
    firm = Applicant("91321084MA1W0000BM", "高邮乙公司")
    app = data.draw(
        ccst.applications(
            policy=SAMPLE,
            on=on,
            item=item,
            applicant=firm,
            evidence=st.none(),
            project=ProjectFacts(),
            choose_standard=False,
        )
    )
    assert (app.item, app.applicant, app.evidence) == (item, firm, None)
    assert (app.project, app.choose_standard) == (ProjectFacts(), False)


@given(ccst.applications(on=D(2020, 6, 1)))
def test_applications_items_are_in_force_on_an_early_day(app: Any) -> None:
    assert app.item.valid_from <= D(2020, 6, 1)


def test_applications_policy_needs_a_day() -> None:
    with pytest.raises(InvalidArgument, match=r"applications\(policy=...\) needs the decision day"):
        ccst.applications(policy=SAMPLE)
