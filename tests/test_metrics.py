"""Tests for creditcommit.metrics: the period statistics and their three renderings.

Every case is the fold of events produced by the real transitions of creditcommit.case, on
the sample catalogue plus a standard-only item in Gaoyou (a permit renewal not on the
commitment list): the Jiangdu filing on the direct route, Gaoyou's health permit on the
conditional route with deferred materials (on time, late, overdue, returned), on the
standard route, a false commitment revoked with its credit record, rectification orders,
withdrawal, refusal, and cases on either side of the period. Hypothesis drives random
action sequences through the same transitions for the laws: totals are the sums of the
rows, the period filters, JSON round-trips, CSV has one row per scope, later events never
change a past report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit._codec import SNAPSHOT_FORMAT, case_to_snapshot, event_to_record
from creditcommit.builtin.signing import HmacSignatureProvider
from creditcommit.calendar import WorkingCalendar
from creditcommit.case import ACTIONS as CASE_ACTIONS
from creditcommit.case import (
    Case,
    CaseEvent,
    CreditRecordCreated,
    DeferredMaterialOverdue,
    PauseReason,
    RectificationOrdered,
    Revoked,
    VerificationRecorded,
    accept,
    choose_standard,
    decide_revocation,
    due,
    issue,
    pause_clock,
    receive_statement,
    record_verification,
    rectification_result,
    refuse,
    resume_clock,
    sign_commitment,
    submit,
    supply_material,
    withdraw,
)
from creditcommit.catalog import ApprovalItem, Catalog, VerificationMethod
from creditcommit.commitments import CommitmentLetter, Signer
from creditcommit.credit import CreditEvidence
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel, Route
from creditcommit.draws import DrawRecord, Inspector, SeedCommitment, Target, draw
from creditcommit.errors import CreditCommitError, DataFileError, InvalidValue, UnknownItem
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import LicenceHolding
from creditcommit.metrics import (
    FIELDS,
    FORMAT,
    DrawFigures,
    Figures,
    GradeDraws,
    ProjectedCase,
    Report,
    Row,
    Scope,
    render_csv,
    render_json,
    render_text,
    statistics,
    statistics_by_period,
)
from creditcommit.policy import Policy
from creditcommit.ports import canonical_json
from creditcommit.supervision import VerificationOutcome

D = dt.date
CST = dt.timezone(dt.timedelta(hours=8))
CALENDAR = WorkingCalendar.china()
SIGNING = HmacSignatureProvider("creditcommit metrics tests - NOT SECRET", key_id="test")
POLICY = Policy.sample()
SAMPLE = Catalog.sample()

JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
RENEWAL = "321084-GGCSWSYX"
JIANGDU_DEPT = "扬州市江都区行政审批局"
GAOYOU_DEPT = "高邮市行政审批局"

JIANGDU_ITEM = SAMPLE.item(JIANGDU, D(2025, 1, 1))
GAOYOU_ITEM = SAMPLE.item(GAOYOU, D(2025, 1, 1))
# Not on the policy's commitment list: always the standard route.
RENEWAL_ITEM = attrs.evolve(
    GAOYOU_ITEM, code=RENEWAL, name="公共场所卫生许可证延续", on_the_spot=False
)
CATALOG = Catalog(SAMPLE.name, SAMPLE.version, [*SAMPLE.item_versions, RENEWAL_ITEM])
# The same item version as the catalogue's, handled off the spot: the licence waits for
# issue(), so overdue deferred materials suspend the case.
GAOYOU_LATER = attrs.evolve(GAOYOU_ITEM, on_the_spot=False)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


NEWMAT = Applicant(_uscc("91321012MA1Y2K3L4"), "扬州某新材料科技有限公司")
HOTEL = Applicant(_uscc("91321084MA1TQ7GU8"), "高邮某酒店管理有限公司")
FORM = ("GGCSWSXK-01",)
DEFERRED = ("GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07")
GAOYOU_HELD = (
    LicenceHolding("business-licence", "营业执照 (e-licence)"),
    LicenceHolding("resident-identity-card", "居民身份证 (e-licence)"),
)
JIANGDU_HELD = (
    LicenceHolding("business-licence", "营业执照 (e-licence)"),
    LicenceHolding("uscc-certificate", "统一社会信用代码证 (e-licence)"),
)
INSPECTORS = ("张三", "李四")
SUPERVISION = (
    "verified_fulfilled",
    "verified_unfulfilled",
    "verified_false",
    "deferred_overdue",
    "rectifications_ordered",
    "revocations",
    "credit_records",
)
NEW_YEAR = D(2025, 1, 1)
NEW_YEARS_EVE = D(2025, 12, 31)
COHORT = tuple(name for name in FIELDS if name not in SUPERVISION)


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def fold(case: Case, events: Iterable[CaseEvent]) -> Case:
    return case.apply(*events)


def report(
    cases: Iterable[Case | ProjectedCase],
    *,
    start: dt.date = NEW_YEAR,
    end: dt.date = NEW_YEARS_EVE,
    draws: Iterable[DrawRecord] = (),
) -> Report:
    """The statistics of 2025 (by default) on the test catalogue."""
    return statistics(cases, start=start, end=end, catalog=CATALOG, calendar=CALENDAR, draws=draws)


# --- building cases with the real transitions ---------------------------------------------


def applied(
    item: ApprovalItem,
    day: dt.date,
    case_id: str,
    *,
    grade: str = "B",
    major: bool = False,
    hour: int = 9,
) -> Case:
    """A submitted case: Jiangdu's filing (``major``: a municipal major project) or a Gaoyou
    permit, ``grade`` the applicant's credit grade."""
    jiangdu = item.code == JIANGDU
    applicant = NEWMAT if jiangdu else HOTEL
    credit = None
    if not major:
        credit = CreditEvidence.create(
            subject=applicant.identifier,
            source="信用扬州 (sample)",
            retrieved_at=at(day, hour),
            scale="yangzhou-a-e",
            grade=grade,
        )
    project = ProjectFacts(ProjectLevel.MUNICIPAL, "锂电池集流体项目一期", 200_000_000)
    events = submit(
        case_id=case_id,
        city="321012" if jiangdu else "321084",
        item=item,
        applicant=applicant,
        credit=credit,
        policy=POLICY,
        calendar=CALENDAR,
        now=at(day, hour),
        project=project if major else ProjectFacts(),
        provided=() if jiangdu else FORM,
        licences=JIANGDU_HELD if jiangdu else GAOYOU_HELD,
    )
    return Case.from_events(events)


def signed(case: Case, item: ApprovalItem, now: dt.datetime) -> Case:
    assert case.decision is not None
    assert case.plan is not None
    deadline = item.verification.deadline_days
    assert deadline is not None
    letter = CommitmentLetter.build(
        item,
        case.decision,
        case.plan,
        case.applicant,
        verification_due=CALENDAR.add_working_days(case.decision.decided_on, deadline),
    )
    signer = Signer(case.applicant.name, case.applicant.identifier)
    signature = letter.sign(signer, now, provider=SIGNING)
    return fold(case, sign_commitment(case, signature, now))


def licensed(
    case_id: str, day: dt.date, item: ApprovalItem = GAOYOU_ITEM, *, major: bool = False
) -> Case:
    """A commitment route case, signed at 10:00 and accepted at 11:00 on ``day``."""
    case = applied(item, day, case_id, major=major)
    case = signed(case, item, at(day, 10))
    return fold(case, accept(case, item, CALENDAR, at(day, 11)))


def supplied(case: Case, day: dt.date, *codes: str) -> Case:
    for minute, code in enumerate(codes):
        case = fold(case, supply_material(case, code, at(day, 14, minute)))
    return case


def verified(
    case: Case, outcome: VerificationOutcome, day: dt.date, item: ApprovalItem = GAOYOU_ITEM
) -> Case:
    events = record_verification(
        case,
        item,
        INSPECTORS,
        "现场核查记录",
        outcome,
        policy=POLICY,
        calendar=CALENDAR,
        now=at(day, 15),
    )
    return fold(case, events)


def standard(
    case_id: str,
    day: dt.date,
    item: ApprovalItem = GAOYOU_ITEM,
    *,
    accepted_on: dt.date | None = None,
) -> Case:
    """A grade-C (or off-list) application: the missing materials supplied, then accepted,
    on ``accepted_on`` (by default the next working day)."""
    case = applied(item, day, case_id, grade="C")
    assert case.route is Route.STANDARD
    assert case.plan is not None
    later = CALENDAR.next_working_day(day) if accepted_on is None else accepted_on
    case = supplied(case, later, *(line.code for line in case.plan.missing))
    return fold(case, accept(case, item, CALENDAR, at(later, 16)))


def year_cases() -> list[Case]:
    """The 2025 cases of the seed flows, and cases on either side of the year."""
    cases = []
    # Submitted in 2024: only its verification in January 2025 counts.
    gy0 = licensed("GY-0", D(2024, 12, 20))
    cases.append(verified(gy0, VerificationOutcome.FULFILLED, D(2025, 1, 10)))
    # Jiangdu's filing, a municipal major project: direct route, licence at acceptance.
    cases.append(licensed("JD-1", D(2025, 3, 10), JIANGDU_ITEM, major=True))
    # Gaoyou on the conditional route: two deferred materials on time, one late, verified.
    gy1 = licensed("GY-1", D(2025, 9, 26))
    gy1 = supplied(gy1, D(2025, 10, 9), "GGCSWSXK-04")
    gy1 = supplied(gy1, D(2025, 10, 10), "GGCSWSXK-06")
    gy1 = supplied(gy1, D(2025, 10, 13), "GGCSWSXK-07")
    cases.append(verified(gy1, VerificationOutcome.FULFILLED, D(2025, 10, 20)))
    # Gaoyou on the standard route (grade C): accepted 09-29, issued 10-09.
    gy2 = standard("GY-2", D(2025, 9, 26), accepted_on=D(2025, 9, 29))
    cases.append(fold(gy2, issue(gy2, at(D(2025, 10, 9)))))
    # A false commitment: revocation proposed, the window runs out, revoked, recorded.
    gy3 = supplied(licensed("GY-3", D(2025, 9, 26)), D(2025, 9, 29), *DEFERRED)
    gy3 = verified(gy3, VerificationOutcome.FALSE_COMMITMENT, D(2025, 9, 30))
    cases.append(fold(gy3, decide_revocation(gy3, at(D(2025, 10, 20)), policy=POLICY)))
    # Nothing supplied: the tick finds the deferred materials overdue, rectification ordered.
    gy4 = licensed("GY-4", D(2025, 9, 26))
    cases.append(fold(gy4, due(gy4, at(D(2025, 10, 13)), CALENDAR, policy=POLICY)))
    # Everything supplied on time, but the commitment was not fulfilled: rectification.
    gy5 = supplied(licensed("GY-5", D(2025, 9, 26)), D(2025, 9, 29), *DEFERRED)
    cases.append(verified(gy5, VerificationOutcome.UNFULFILLED, D(2025, 10, 20)))
    # Off the spot: accepted, the deferred materials never come, suspended and returned.
    gy6 = licensed("GY-6", D(2025, 9, 26), GAOYOU_LATER)
    cases.append(fold(gy6, due(gy6, at(D(2025, 11, 20)), CALENDAR)))
    # Withdrawn before signing.
    gy7 = applied(GAOYOU_ITEM, D(2025, 10, 15), "GY-7")
    cases.append(fold(gy7, withdraw(gy7, at(D(2025, 10, 16)))))
    # The renewal (standard only): one refused, one still waiting for its materials.
    gy8 = standard("GY-8", D(2025, 11, 3), RENEWAL_ITEM)
    cases.append(fold(gy8, refuse(gy8, "现场条件不符合卫生要求", at(D(2025, 11, 10)))))
    cases.append(applied(RENEWAL_ITEM, D(2025, 12, 30), "GY-9", grade="C"))
    # Accepted in 2025, issued in 2026: still open on 2025-12-31.
    gy11 = standard("GY-11", D(2025, 12, 29))
    cases.append(fold(gy11, issue(gy11, at(D(2026, 1, 5)))))
    # Submitted in 2026.
    cases.append(licensed("GY-12", D(2026, 1, 5)))
    return cases


YEAR_CASES = year_cases()

JIANGDU_2025 = Figures(
    submitted=1,
    direct=1,
    commitments_signed=1,
    accepted=1,
    materials_reduced=4,
    licences_issued=1,
    immediate=1,
    within_statutory_limit=1,
    statutory_days_total=1,
)
GAOYOU_2025 = Figures(
    submitted=8,
    conditional=6,
    standard=2,
    commitments_signed=5,
    accepted=7,
    materials_reduced=5 * 3 + 2 * 2,
    deferred=15,
    deferred_on_time=8,
    deferred_late=1,
    deferred_outstanding=6,
    licences_issued=5,
    withdrawn=1,
    returned=1,
    in_progress=1,
    processing_days_total=2,
    processing_days_max=2,
    immediate=4,
    within_statutory_limit=5,
    statutory_days_total=100,
    verified_fulfilled=2,
    verified_unfulfilled=1,
    verified_false=1,
    deferred_overdue=1,
    rectifications_ordered=2,
    revocations=1,
    credit_records=1,
)
RENEWAL_2025 = Figures(
    submitted=2, standard=2, accepted=1, materials_reduced=2, refused=1, in_progress=1
)


def added(*rows: Figures) -> Figures:
    """The sum of rows, the maximum for the maximum: written here, not taken from metrics."""
    values = {}
    for name in FIELDS:
        found = [getattr(row, name) for row in rows]
        values[name] = max(found, default=0) if name == "processing_days_max" else sum(found)
    return Figures(**values)


# --- the seed flows, figure by figure ---------------------------------------------------


def test_the_flows_reach_the_states_they_are_about() -> None:
    assert {case.case_id: case.state.name for case in YEAR_CASES} == {
        "GY-0": "ISSUED",
        "JD-1": "ISSUED",
        "GY-1": "CLOSED",
        "GY-2": "ISSUED",
        "GY-3": "REVOKED",
        "GY-4": "RECTIFYING",
        "GY-5": "RECTIFYING",
        "GY-6": "RETURNED",
        "GY-7": "WITHDRAWN",
        "GY-8": "REFUSED",
        "GY-9": "DECIDED",
        "GY-11": "ISSUED",
        "GY-12": "ISSUED",
    }


def test_the_flows_of_2025_per_item() -> None:
    found = report(YEAR_CASES)
    assert [row.code for row in found.items] == [JIANGDU, GAOYOU, RENEWAL]
    assert found.item(JIANGDU).figures == JIANGDU_2025
    assert found.item(GAOYOU).figures == GAOYOU_2025
    assert found.item(RENEWAL).figures == RENEWAL_2025
    assert (found.item(RENEWAL).name, found.item(RENEWAL).department) == (
        "公共场所卫生许可证延续",
        GAOYOU_DEPT,
    )


def test_the_flows_of_2025_per_department_and_in_total() -> None:
    found = report(YEAR_CASES)
    assert [row.department for row in found.departments] == [JIANGDU_DEPT, GAOYOU_DEPT]
    assert found.department(JIANGDU_DEPT).figures == JIANGDU_2025
    assert found.department(GAOYOU_DEPT).figures == added(GAOYOU_2025, RENEWAL_2025)
    total = found.total.figures
    assert total == added(JIANGDU_2025, GAOYOU_2025, RENEWAL_2025)
    assert (total.submitted, total.licences_issued, total.materials_reduced) == (11, 6, 25)


def test_the_seeds_speed_up_from_20_working_days_to_immediate() -> None:
    gaoyou = report(YEAR_CASES).item(GAOYOU).figures
    # Four of five licences the day of acceptance (即审即办); the standard route took two
    # working days around the National Day break (09-30 and 10-09).
    assert gaoyou.statutory_days_mean == 20
    assert gaoyou.processing_days_mean == Fraction(2, 5)
    assert (gaoyou.immediate, gaoyou.within_statutory_limit) == (4, 5)


def test_the_direct_route_of_2023_on_its_own() -> None:
    case = licensed("JD-2023-0001", D(2023, 1, 16), JIANGDU_ITEM, major=True)
    found = report([case], start=D(2023, 1, 1), end=D(2023, 12, 31))
    assert found.item(JIANGDU).figures == JIANGDU_2025
    assert found.item(GAOYOU).figures == Figures()
    assert found.catalog == CATALOG.summary(D(2023, 12, 31))
    assert found.catalog.items == 3


def test_time_paused_under_art_45_is_not_processing_time() -> None:
    case = applied(GAOYOU_LATER, D(2025, 9, 1), "GY-P")
    case = signed(case, GAOYOU_LATER, at(D(2025, 9, 1), 10))
    case = fold(case, accept(case, GAOYOU_LATER, CALENDAR, at(D(2025, 9, 1), 11)))
    case = supplied(case, D(2025, 9, 2), *DEFERRED)
    case = fold(case, pause_clock(case, PauseReason.EXPERT_REVIEW, at(D(2025, 9, 3))))
    case = fold(case, resume_clock(case, at(D(2025, 9, 10)), CALENDAR))
    case = fold(case, issue(case, at(D(2025, 9, 12))))
    figures = report([case]).total.figures
    # 09-02 .. 09-12 is 9 working days, of which 5 (09-04 .. 09-10) were paused.
    assert case.paused_working_days == 5
    assert (figures.processing_days_total, figures.immediate) == (4, 0)
    assert figures.within_statutory_limit == 1


def test_a_licence_after_the_statutory_due_date_is_late() -> None:
    case = applied(GAOYOU_LATER, D(2025, 9, 1), "GY-L")
    case = signed(case, GAOYOU_LATER, at(D(2025, 9, 1), 10))
    case = fold(case, accept(case, GAOYOU_LATER, CALENDAR, at(D(2025, 9, 1), 11)))
    case = supplied(case, D(2025, 9, 2), *DEFERRED)
    # Sunday 09-28 is a make-up working day (调休), the 20th after 09-01.
    assert case.statutory_due == D(2025, 9, 28)
    case = fold(case, issue(case, at(D(2025, 9, 29))))
    figures = report([case]).total.figures
    assert (figures.processing_days_total, figures.statutory_days_total) == (21, 20)
    assert figures.within_statutory_limit == 0


def test_a_lapsed_commitment_is_not_counted_as_signed() -> None:
    case = signed(applied(GAOYOU_ITEM, D(2025, 9, 26), "GY-S"), GAOYOU_ITEM, at(D(2025, 9, 26)))
    case = fold(case, choose_standard(case, GAOYOU_ITEM, POLICY, CALENDAR, at(D(2025, 9, 29))))
    figures = report([case]).total.figures
    assert (figures.conditional, figures.standard, figures.commitments_signed) == (0, 1, 0)
    assert (figures.accepted, figures.materials_reduced, figures.in_progress) == (0, 0, 1)


def test_the_period_takes_cases_by_submission_day_and_events_by_their_day() -> None:
    october = report(YEAR_CASES, start=D(2025, 10, 1), end=D(2025, 10, 31))
    total = october.total.figures
    # Only GY-7 was submitted in October; the September cases' supervision counts.
    assert (total.submitted, total.withdrawn) == (1, 1)
    assert (total.verified_fulfilled, total.verified_unfulfilled) == (1, 1)
    assert (total.verified_false, total.revocations, total.credit_records) == (0, 1, 1)
    assert (total.deferred_overdue, total.rectifications_ordered) == (1, 2)
    september = report(YEAR_CASES, start=D(2025, 9, 1), end=D(2025, 9, 30)).total.figures
    assert (september.submitted, september.verified_false) == (6, 1)
    # On 09-30 GY-2 was accepted but not issued, the others issued; GY-6 was waiting.
    assert (september.licences_issued, september.in_progress) == (4, 2)
    assert september.deferred_on_time == 6


def test_the_report_is_as_of_its_last_day() -> None:
    # GY-11 was issued on 2026-01-05: open in the 2025 report, issued in a report to 2026.
    late = next(case for case in YEAR_CASES if case.case_id == "GY-11")
    assert report([late]).total.figures.in_progress == 1
    assert report([late], end=D(2026, 1, 31)).total.figures.licences_issued == 1
    assert report([late], start=D(2026, 1, 1), end=D(2026, 1, 31)).total.figures == Figures()


def test_items_and_departments_of_the_catalogue_appear_with_zeros() -> None:
    found = report([])
    assert [row.code for row in found.items] == [JIANGDU, GAOYOU, RENEWAL]
    assert [row.department for row in found.departments] == [JIANGDU_DEPT, GAOYOU_DEPT]
    assert all(row.figures == Figures() for row in found.rows)
    assert found.draws == DrawFigures()


def test_an_item_no_longer_in_the_catalogue_keeps_its_row_while_it_has_figures() -> None:
    ended = attrs.evolve(RENEWAL_ITEM, valid_until=D(2025, 6, 30))
    catalog = Catalog(SAMPLE.name, SAMPLE.version, [*SAMPLE.item_versions, ended])
    case = applied(ended, D(2025, 3, 3), "GY-R", grade="C")
    found = statistics(
        [case], start=D(2025, 1, 1), end=D(2025, 12, 31), catalog=catalog, calendar=CALENDAR
    )
    assert found.item(RENEWAL).figures.submitted == 1
    assert found.catalog.items == 2
    later = statistics(
        [case], start=D(2025, 7, 1), end=D(2025, 12, 31), catalog=catalog, calendar=CALENDAR
    )
    assert [row.code for row in later.items] == [JIANGDU, GAOYOU]


# --- draws ----------------------------------------------------------------------------------


def a_draw(draw_id: str) -> DrawRecord:
    seed = f"{draw_id}: a seed of sixteen bytes or more".encode()
    population = [Target(f"A-{n}", "A") for n in range(4)]
    population += [Target(f"B-{n}", "B") for n in range(4)]
    population += [Target(f"E-{n}", "E") for n in range(2)]
    roster = [Inspector(f"GY-00{n}", name) for n, name in enumerate(("王敏", "李强", "张伟"))]
    return draw(
        population,
        ratios={"A": 0, "B": Fraction(1, 2), "E": 1},
        inspectors=roster,
        per_target=2,
        seed=seed,
        commitment=SeedCommitment.create(seed).digest,
        draw_id=draw_id,
    )


def test_draws_per_grade() -> None:
    found = report([], draws=()).draws
    assert found == DrawFigures()
    draws = report([], draws=[a_draw("GY-2025-01"), a_draw("GY-2025-02")]).draws
    assert draws.draws == 2
    assert draws.grades == (
        GradeDraws(grade="A", population=8, drawn=0, assignments=0),
        GradeDraws(grade="B", population=8, drawn=4, assignments=8),
        GradeDraws(grade="E", population=4, drawn=4, assignments=8),
    )
    assert (draws.population, draws.drawn, draws.assignments) == (20, 8, 16)
    # Eight targets, two inspectors each, spread over a roster of three.
    assert draws.inspectors == 3


# --- the renderings -----------------------------------------------------------------------


def test_json_has_stable_documented_keys() -> None:
    found = report(YEAR_CASES)
    data = json.loads(render_json(found))
    assert list(data) == sorted(data)
    assert set(data) == {
        "catalog",
        "departments",
        "draws",
        "end",
        "format",
        "items",
        "start",
        "total",
    }
    assert data["format"] == FORMAT == "creditcommit-report/1"
    assert (data["start"], data["end"]) == ("2025-01-01", "2025-12-31")
    gaoyou = data["items"][1]
    assert set(gaoyou) == {"code", "department", "figures", "means", "name"}
    assert list(gaoyou["figures"]) == sorted(FIELDS)
    assert gaoyou["figures"]["verified_false"] == 1
    assert gaoyou["means"] == {"processing_days": 0.4, "statutory_days": 20.0}
    assert data["items"][2]["means"] == {"processing_days": None, "statutory_days": None}
    assert set(data["departments"][0]) == {"department", "figures", "means"}
    assert set(data["total"]) == {"figures", "means"}
    assert data["catalog"]["on"] == "2025-12-31"
    assert data["draws"] == {
        "assignments": 0,
        "drawn": 0,
        "draws": 0,
        "grades": [],
        "inspectors": 0,
        "population": 0,
    }
    assert render_json(found).endswith("}\n")
    assert "高邮市行政审批局" in render_json(found)


def test_json_reads_back_the_same_report() -> None:
    found = report(YEAR_CASES, draws=[a_draw("GY-2025-01")])
    again = Report.from_json(render_json(found))
    assert again == found
    assert render_json(again) == render_json(found)


def parsed_csv(found: Report) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render_csv(found, lang="en"))))


def test_csv_headings_are_chinese_by_default() -> None:
    found = report(YEAR_CASES)
    zh = list(csv.reader(io.StringIO(render_csv(found))))
    en = list(csv.reader(io.StringIO(render_csv(found, lang="en"))))
    assert zh[0][:6] == ["统计范围", "事项编码", "事项名称", "部门", "申请件数", "直接适用件数"]
    assert zh[0][-2:] == ["平均办理用时（工作日）", "平均法定时限（工作日）"]
    assert "减免材料份数（办件合计）" in zh[0]
    assert len(set(zh[0])) == len(zh[0]) == len(en[0])
    assert all(not re.search(r"[a-z]", heading) for heading in zh[0])
    assert [row[0] for row in zh[1:]] == ["事项", "事项", "事项", "部门", "部门", "合计"]
    assert [row[1:] for row in zh[1:]] == [row[1:] for row in en[1:]]
    with pytest.raises(ValueError, match="lang must be 'zh' or 'en', got 'fr'"):
        render_csv(found, lang="fr")  # type: ignore[arg-type]


def test_the_text_report_tells_the_list_count_from_the_case_sum() -> None:
    text = render_text(report(YEAR_CASES))
    lines = text.splitlines()
    assert lines[1] == "统计期间2025-01-01至2025-12-31"
    assert "；清单可减免材料10项。" in lines[2]  # the list-level count (清单口径)
    assert "减免材料（办件合计）" in text  # the sum over the accepted cases (办件口径)
    assert re.search(r"抽查\d+次，派出检查人员\d+人", text)


def test_csv_has_one_row_per_scope_and_every_figure() -> None:
    found = report(YEAR_CASES)
    text = render_csv(found, lang="en")
    assert text.splitlines()[0].split(",")[:5] == [
        "scope",
        "code",
        "name",
        "department",
        "submitted",
    ]
    assert "\r" not in text
    rows = parsed_csv(found)
    assert [(row["scope"], row["code"] or row["department"]) for row in rows] == [
        ("item", JIANGDU),
        ("item", GAOYOU),
        ("item", RENEWAL),
        ("department", JIANGDU_DEPT),
        ("department", GAOYOU_DEPT),
        ("total", ""),
    ]
    gaoyou = rows[1]
    assert gaoyou["name"] == "公共场所卫生许可证核发"
    assert {name: int(gaoyou[name]) for name in FIELDS} == attrs.asdict(GAOYOU_2025)
    assert (gaoyou["processing_days_mean"], gaoyou["statutory_days_mean"]) == ("0.40", "20.00")
    assert (rows[2]["processing_days_mean"], rows[2]["statutory_days_mean"]) == ("", "")
    assert rows[5]["submitted"] == "11"


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def tables(text: str) -> list[list[str]]:
    """The blocks of lines between blank lines that have a rule under their first line."""
    blocks = [block.splitlines() for block in text.split("\n\n")]
    found = []
    for block in blocks:
        for i in range(len(block) - 1):
            if block[i + 1].startswith("---"):
                found.append(block[i:])
                break
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_tables_are_aligned_in_display_columns(lang: str) -> None:
    found = report(YEAR_CASES, draws=[a_draw("GY-2025-01")])
    text = render_text(found, lang)  # type: ignore[arg-type]
    blocks = tables(text)
    assert len(blocks) == 7
    for block in blocks[:6]:
        # The figures are right-aligned, so every line of a table ends in the same column.
        assert {width(line) for line in block} == {width(block[1])}, block


def test_text_in_chinese() -> None:
    text = render_text(report(YEAR_CASES))
    lines = text.splitlines()
    assert lines[:2] == ["“信用+承诺”审批统计", "统计期间2025-01-01至2025-12-31"]
    assert lines[2].startswith("扬州市“信用+承诺”审批事项清单（示例）（2023.1-sample，2025-12-31）")
    first = tables(text)[0]
    assert first[0].split() == [
        "范围",
        "申请",
        "直接适用",
        "有条件",
        "一般程序",
        "承诺书",
        "受理",
        "减免材料（办件合计）",
    ]
    assert first[-1].split() == ["合计", "11", "1", "6", "4", "6", "9", "25"]
    time = tables(text)[3]
    assert time[0].split() == [
        "范围",
        "发证或备案",
        "法定时限",
        "平均用时",
        "最长用时",
        "即审即办",
        "法定时限内",
    ]
    assert ["321084-GGCSWSXK", "5", "20.0", "0.4", "2", "4", "5"] in [line.split() for line in time]
    assert ["321084-GGCSWSYX", "0", "-", "-", "0", "0", "0"] in [line.split() for line in time]
    assert text.endswith("321084-GGCSWSYX  公共场所卫生许可证延续  高邮市行政审批局\n")


def test_text_in_english() -> None:
    text = render_text(report(YEAR_CASES, draws=[a_draw("GY-2025-01")]), "en")
    lines = text.splitlines()
    assert lines[:2] == [
        "Credit + commitment approval statistics",
        "Period 2025-01-01 to 2025-12-31",
    ]
    assert "(version 2023.1-sample) on 2025-12-31: 2 departments, 3 approval items" in lines[2]
    supervision = tables(text)[4]
    assert supervision[0].split() == [
        "scope",
        "fulfilled",
        "unfulfilled",
        "false",
        "overdue",
        "rectify",
        "revoked",
        "records",
    ]
    assert supervision[-1].split() == ["total", "2", "1", "1", "1", "2", "1", "1"]
    draws = tables(text)[5]
    assert draws[0].split() == ["grade", "population", "drawn", "assigned"]
    assert [line.split() for line in draws[2:]] == [
        ["A", "4", "0", "0"],
        ["B", "4", "2", "4"],
        ["E", "2", "2", "4"],
        ["-" * len(draws[1])],
        ["total", "10", "4", "8"],
    ]
    assert "1 draws, 3 distinct inspectors assigned" in lines


def test_renderings_are_deterministic() -> None:
    one = report(YEAR_CASES)
    other = report(list(reversed(YEAR_CASES)))
    assert one == other
    for render in (render_json, render_csv, render_text):
        assert render(one) == render(other)


# --- errors -----------------------------------------------------------------------------------


def test_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(InvalidValue) as caught:
        report([], start=D(2025, 12, 31), end=D(2025, 1, 1))
    assert str(caught.value) == (
        "invalid statistics: end: the period ends on 2025-01-01, before it starts on 2025-12-31"
    )


def test_a_case_given_twice() -> None:
    with pytest.raises(InvalidValue) as caught:
        report([YEAR_CASES[1], YEAR_CASES[2], YEAR_CASES[1]])
    assert str(caught.value) == "invalid statistics: cases[2]: case 'JD-1' is already cases[0]"


def test_a_draw_given_twice() -> None:
    with pytest.raises(InvalidValue) as caught:
        report([], draws=[a_draw("GY-2025-01"), a_draw("GY-2025-01")])
    assert str(caught.value) == (
        "invalid statistics: draws[1]: draw 'GY-2025-01' is already draws[0]"
    )


def test_a_case_of_an_item_the_catalogue_does_not_list() -> None:
    case = applied(GAOYOU_ITEM, D(2025, 9, 26), "GY-X")
    with pytest.raises(UnknownItem):
        statistics(
            [case],
            start=D(2025, 1, 1),
            end=D(2025, 12, 31),
            catalog=Catalog(SAMPLE.name, SAMPLE.version, [JIANGDU_ITEM]),
            calendar=CALENDAR,
        )


def test_an_unknown_language() -> None:
    with pytest.raises(ValueError, match=r"^lang must be 'zh' or 'en', got 'fr'$"):
        render_text(report([]), "fr")  # type: ignore[arg-type]


def test_a_row_the_report_does_not_have() -> None:
    with pytest.raises(KeyError, match="the report has no item 'nope'"):
        report([]).item("nope")
    with pytest.raises(KeyError, match="the report has no department '江都'"):
        report([]).department("江都")


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        ({"submitted": -1}, "submitted: expected 0 or more, got -1"),
        ({"submitted": True}, "submitted: expected an integer, got True"),
        (
            {"submitted": 1, "direct": 1, "standard": 1, "in_progress": 1},
            "standard: direct + conditional + standard = 2, expected at most submitted = 1",
        ),
        (
            {"submitted": 1, "accepted": 1, "in_progress": 1, "deferred": 2, "deferred_late": 1},
            "deferred_outstanding: deferred_on_time + deferred_late + deferred_outstanding = 1, "
            "expected equal to deferred = 2",
        ),
        (
            {"submitted": 2, "in_progress": 1},
            "in_progress: licences_issued + refused + withdrawn + returned + in_progress = 1, "
            "expected equal to submitted = 2",
        ),
        (
            {"submitted": 1, "in_progress": 1, "statutory_days_total": 20},
            "statutory_days_total: expected 0 without a licence, got 20",
        ),
        (
            {
                "submitted": 2,
                "accepted": 2,
                "licences_issued": 2,
                "processing_days_total": 5,
                "processing_days_max": 2,
            },
            "processing_days_total: 5 working days is more than 2 licences × the maximum 2",
        ),
    ],
)
def test_figures_that_break_a_rule(figures: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        Figures(**figures)
    assert str(caught.value) == f"invalid Figures: {message}"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"scope": Scope.ITEM, "code": JIANGDU, "name": "备案"},
            "department: an item row needs a department",
        ),
        (
            {"scope": Scope.DEPARTMENT, "code": JIANGDU, "department": "江都"},
            "code: a department row has no code, got '321012-TZXMBA'",
        ),
        (
            {"scope": Scope.TOTAL, "department": "江都"},
            "department: a total row has no department, got '江都'",
        ),
    ],
)
def test_rows_that_break_a_rule(row: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        Row(figures=Figures(), **row)
    assert str(caught.value) == f"invalid Row: {message}"


def test_grade_draws_that_break_a_rule() -> None:
    with pytest.raises(InvalidValue) as caught:
        GradeDraws(grade="B", population=1, drawn=2, assignments=4)
    assert str(caught.value) == "invalid GradeDraws: drawn: 2 drawn from a population of 1"


def test_a_report_whose_rows_do_not_add_up() -> None:
    found = report(YEAR_CASES)
    with pytest.raises(InvalidValue) as caught:
        attrs.evolve(found, total=Row(scope=Scope.TOTAL, figures=Figures()))
    assert str(caught.value).startswith(
        "invalid Report: total.figures.submitted: 0 is not the sum of the items rows, 11 (and "
    )


def corrupt(change: Callable[[dict[str, Any]], object]) -> str:
    data = json.loads(render_json(report(YEAR_CASES, draws=[a_draw("GY-2025-01")])))
    change(data)
    with pytest.raises(DataFileError) as caught:
        Report.from_dict(data, source="report.json")
    return caught.value.report()


def _set(path: Sequence[str | int], value: object) -> Callable[[dict[str, Any]], object]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def _drop(path: Sequence[str | int]) -> Callable[[dict[str, Any]], object]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _set(["format"], "creditcommit-report/0"),
            "format: expected 'creditcommit-report/1', got 'creditcommit-report/0'",
        ),
        (
            _set(["start"], "2025-13-01"),
            "start: expected a date (YYYY-MM-DD), got string '2025-13-01'",
        ),
        (_set(["items", 0, "figures", "bonus"], 1), "items[0].figures.bonus: unknown figure"),
        (
            _drop(["items", 0, "figures", "revocations"]),
            "items[0].figures.revocations: required key is missing",
        ),
        (
            _set(["items", 1, "figures", "direct"], "1"),
            "items[1].figures.direct: expected an integer, got string '1'",
        ),
        (
            _set(["departments", 1, "figures", "deferred_late"], 2),
            "departments[1].figures.deferred_outstanding: deferred_on_time + deferred_late + "
            "deferred_outstanding = 16, expected equal to deferred = 15",
        ),
        (
            _set(["items", 1, "means", "processing_days"], 0.5),
            "items[1].means.processing_days: expected 0.4 (processing_days_total / "
            "licences_issued, 2 places), got 0.5",
        ),
        (_set(["draws", "drawn"], 5), "draws.drawn: expected 4 (the sum over the grades), got 5"),
        (
            _set(["draws", "grades", 1, "drawn"], 9),
            "draws.grades[1].drawn: 9 drawn from a population of 4",
        ),
        (
            _set(["total", "figures", "verified_false"], 0),
            "total.figures.verified_false: 0 is not the sum of the items rows, 1",
        ),
        (
            _set(["catalog", "on"], "2025-12-30"),
            "catalog.on: expected the catalogue summary on the last day 2025-12-31, got 2025-12-30",
        ),
        (_set(["items", 2, "code"], " "), "items[2].code: an item row needs a code"),
        (
            _set(["catalog", "required"], 0),
            "catalog: the counts per kind add up to 16, not to 18 materials",
        ),
    ],
)
def test_json_that_breaks_a_rule(change: Callable[[dict[str, Any]], object], message: str) -> None:
    assert f"report.json: {message}" in corrupt(change).splitlines()


def test_text_that_is_not_json() -> None:
    with pytest.raises(DataFileError) as caught:
        Report.from_json("{", source="report.json")
    assert str(caught.value).startswith("report.json: <root>: not valid JSON: Expecting")


# --- laws, over random histories ----------------------------------------------------------

BASE = D(2025, 8, 1)
ITEMS = (JIANGDU_ITEM, GAOYOU_ITEM, GAOYOU_LATER, RENEWAL_ITEM)
OUTCOMES = (
    VerificationOutcome.FULFILLED,
    VerificationOutcome.UNFULFILLED,
    VerificationOutcome.FALSE_COMMITMENT,
)


def _owed(case: Case) -> str | None:
    if case.plan is None:
        return None
    owed = (*case.plan.missing, *case.outstanding)
    return owed[0].code if owed else None


def step(
    case: Case, item: ApprovalItem, action: str, now: dt.datetime, choice: int
) -> tuple[CaseEvent, ...]:
    """The events of one action, however silly; IllegalTransition and friends propagate."""
    if action == "sign":
        return tuple(signed(case, item, now).history[case.version :])
    if action == "accept":
        return accept(case, item, CALENDAR, now)
    if action == "issue":
        return issue(case, now)
    if action == "supply":
        code = _owed(case)
        return () if code is None else supply_material(case, code, now)
    if action == "tick":
        return due(case, now, CALENDAR, policy=POLICY)
    if action == "verify":
        outcome = OUTCOMES[choice % len(OUTCOMES)]
        method = VerificationMethod.ON_SITE
        return record_verification(
            case,
            item,
            INSPECTORS,
            "核查",
            outcome,
            policy=POLICY,
            calendar=CALENDAR,
            now=now,
            method=method,
        )
    if action == "rectification":
        return rectification_result(case, choice % 2 == 0, now, policy=POLICY, calendar=CALENDAR)
    if action == "statement":
        return receive_statement(case, "申辩意见", now, hearing_requested=False)
    if action == "revoke":
        return decide_revocation(case, now, policy=POLICY)
    if action == "withdraw":
        return withdraw(case, now)
    if action == "refuse":
        return refuse(case, "不符合条件", now)
    if action == "choose":
        return choose_standard(case, item, POLICY, CALENDAR, now)
    if action == "pause":
        return pause_clock(case, PauseReason.EXPERT_REVIEW, now)
    return resume_clock(case, now, CALENDAR)


# My action: the name of the transition in creditcommit.case.ACTIONS, and how often it is
# tried when the state allows it (the transitions that move a case on more often).
ACTIONS = {
    "sign": ("sign_commitment", 6),
    "accept": ("accept", 6),
    "issue": ("issue", 4),
    "supply": ("supply_material", 6),
    "verify": ("record_verification", 3),
    "rectification": ("rectification_result", 2),
    "statement": ("receive_statement", 1),
    "revoke": ("decide_revocation", 2),
    "withdraw": ("withdraw", 1),
    "refuse": ("refuse", 1),
    "choose": ("choose_standard", 1),
    "pause": ("pause_clock", 1),
    "resume": ("resume_clock", 2),
}


def allowed(case: Case) -> list[str]:
    """The actions the case's state allows, repeated by weight, and the tick (always).

    Signing, accepting and supplying are only tried when they can succeed, so that random
    histories get past the application; everything else may still be refused.
    """
    commitment = case.route is not None and case.route.is_commitment
    plan = case.plan
    useless = {
        "sign": not commitment or case.commitment is not None,
        "accept": plan is None or not plan.acceptable or (commitment and case.commitment is None),
        "supply": _owed(case) is None,
    }
    found = ["tick", "tick"]
    for action, (name, weight) in ACTIONS.items():
        if case.state in CASE_ACTIONS[name] and not useless.get(action, False):
            found += [action] * weight
    return found


@st.composite
def histories(draw: st.DrawFn) -> list[Case]:
    """Up to five cases, each submitted between 2025-08-01 and 10-30 and driven by up to
    13 actions on later (or the same) days; the actions a state refuses are skipped."""
    cases = []
    for n in range(draw(st.integers(0, 5))):
        item = draw(st.sampled_from(ITEMS))
        day = BASE + dt.timedelta(days=draw(st.integers(0, 90)))
        major = item is JIANGDU_ITEM and draw(st.booleans())
        case = applied(item, day, f"H-{n}", grade=draw(st.sampled_from("BC")), major=major)
        for hour in range(10, 10 + draw(st.integers(0, 13))):
            day += dt.timedelta(days=draw(st.integers(0, 12)))
            action = draw(st.sampled_from(allowed(case)))
            choice = draw(st.integers(0, 5))
            try:
                case = case.apply(*step(case, item, action, at(day, hour), choice))
            except CreditCommitError:
                continue
        cases.append(case)
    return cases


PERIODS = st.tuples(st.integers(0, 150), st.integers(0, 150)).map(
    lambda pair: (BASE + dt.timedelta(days=min(pair)), BASE + dt.timedelta(days=max(pair)))
)


@given(histories(), PERIODS)
def test_totals_are_the_sums_of_the_item_rows_and_of_the_department_rows(
    cases: list[Case], period: tuple[dt.date, dt.date]
) -> None:
    start, end = period
    found = report(cases, start=start, end=end)
    assert found.total.figures == added(*(row.figures for row in found.items))
    assert found.total.figures == added(*(row.figures for row in found.departments))
    assert found.department(GAOYOU_DEPT).figures == added(
        found.item(GAOYOU).figures, found.item(RENEWAL).figures
    )


def submitted_on(case: Case) -> dt.date:
    return case.submission.at.date()


@given(histories(), PERIODS)
def test_the_period_never_counts_a_case_submitted_outside_it(
    cases: list[Case], period: tuple[dt.date, dt.date]
) -> None:
    start, end = period
    inside = [case for case in cases if start <= submitted_on(case) <= end]
    outside = [case for case in cases if case not in inside]
    everything = report(cases, start=start, end=end).total.figures
    only_inside = report(inside, start=start, end=end).total.figures
    only_outside = report(outside, start=start, end=end).total.figures
    assert everything.submitted == len(inside)
    for name in COHORT:
        assert getattr(everything, name) == getattr(only_inside, name), name
        assert getattr(only_outside, name) == 0, name


def supervision_day(event: CaseEvent) -> tuple[str, dt.date] | None:
    if isinstance(event, VerificationRecorded):
        names = {
            VerificationOutcome.FULFILLED: "verified_fulfilled",
            VerificationOutcome.UNFULFILLED: "verified_unfulfilled",
            VerificationOutcome.FALSE_COMMITMENT: "verified_false",
        }
        return names[event.outcome], event.verified_on
    if isinstance(event, DeferredMaterialOverdue):
        return "deferred_overdue", event.overdue_on
    if isinstance(event, RectificationOrdered):
        return "rectifications_ordered", event.ordered_on
    if isinstance(event, Revoked):
        return "revocations", event.revoked_on
    if isinstance(event, CreditRecordCreated):
        return "credit_records", event.record.decided_on
    return None


@given(histories(), PERIODS)
def test_supervision_counts_the_events_of_the_period_whatever_the_submission_day(
    cases: list[Case], period: tuple[dt.date, dt.date]
) -> None:
    start, end = period
    expected = dict.fromkeys(SUPERVISION, 0)
    for case in cases:
        for event in case.history:
            found = supervision_day(event)
            if found is not None and start <= found[1] <= end:
                expected[found[0]] += 1
    figures = report(cases, start=start, end=end).total.figures
    assert {name: getattr(figures, name) for name in SUPERVISION} == expected


def as_recorded_on(case: Case, day: dt.date) -> Case | None:
    """The case as the store held it at the end of ``day``."""
    events = [event for event in case.history if event.at.date() <= day]
    return Case.from_events(events) if events else None


@given(histories(), PERIODS)
def test_events_after_the_period_never_change_its_report(
    cases: list[Case], period: tuple[dt.date, dt.date]
) -> None:
    start, end = period
    then = [known for case in cases if (known := as_recorded_on(case, end)) is not None]
    assert report(cases, start=start, end=end) == report(then, start=start, end=end)


@given(histories(), PERIODS)
def test_json_round_trips_to_the_same_figures(
    cases: list[Case], period: tuple[dt.date, dt.date]
) -> None:
    start, end = period
    found = report(cases, start=start, end=end)
    text = render_json(found)
    assert Report.from_json(text) == found
    assert render_json(Report.from_json(text)) == text


@given(histories(), PERIODS)
def test_csv_has_one_row_per_scope(cases: list[Case], period: tuple[dt.date, dt.date]) -> None:
    start, end = period
    found = report(cases, start=start, end=end)
    rows = parsed_csv(found)
    assert len(rows) == len(found.items) + len(found.departments) + 1
    assert [row["scope"] for row in rows] == [row.scope.value for row in found.rows]
    keys = [(row["scope"], row["code"], row["department"]) for row in rows]
    assert len(set(keys)) == len(keys)
    for line, row in zip(rows, found.rows, strict=True):
        assert {name: int(line[name]) for name in FIELDS} == row.figures.to_dict()


@given(histories())
def test_adjacent_periods_add_up_for_submissions_and_supervision(cases: list[Case]) -> None:
    middle = D(2025, 9, 30)
    first = report(cases, start=BASE, end=middle).total.figures
    second = report(cases, start=middle + dt.timedelta(days=1), end=D(2025, 12, 31)).total.figures
    whole = report(cases, start=BASE, end=D(2025, 12, 31)).total.figures
    for name in ("submitted", *SUPERVISION):
        assert getattr(first, name) + getattr(second, name) == getattr(whole, name), name


# --- the report from projections: the same figures as from the folded events -------------


def projected(case: Case, reads: list[str] | None = None) -> ProjectedCase:
    """``case`` as a projection store keeps it: its snapshot and its event records through
    JSON, and the time of its last event (``reads`` notes when the report reads them)."""

    def records() -> list[tuple[str, Any]]:
        if reads is not None:
            reads.append(case.case_id)
        found = (event_to_record(event) for event in case.history)
        return [(r.type, json.loads(canonical_json(r.payload))) for r in found]

    body = json.loads(canonical_json(case_to_snapshot(case)))
    return ProjectedCase(
        case_id=case.case_id, body=body, last_at=case.history[-1].at, records=records
    )


def needs_events(case: Case, end: dt.date) -> bool:
    """Whether the body alone cannot give the figures as of ``end``: written here from the
    rules of ProjectedCase, not taken from metrics."""
    if case.submission.at.date() > end:
        return False
    return (
        case.history[-1].at.date() > end
        or bool(case.overdue_materials)
        or case.rectification is not None
    )


def test_the_year_from_projections_is_the_year_from_the_events() -> None:
    folds: list[str] = []
    found = report([projected(case, folds) for case in YEAR_CASES])
    assert found == report(YEAR_CASES)
    assert sorted(folds) == sorted(c.case_id for c in YEAR_CASES if needs_events(c, NEW_YEARS_EVE))
    assert len(folds) < len(YEAR_CASES) / 2  # most cases are read from their body alone


@given(histories(), PERIODS, st.lists(st.booleans(), min_size=5, max_size=5))
def test_projections_and_folds_give_the_same_report(
    cases: list[Case], period: tuple[dt.date, dt.date], as_projection: list[bool]
) -> None:
    start, end = period
    folds: list[str] = []
    mixed = [
        projected(case, folds) if flag else case
        for case, flag in zip(cases, as_projection, strict=False)
    ]
    assert report(mixed, start=start, end=end) == report(cases, start=start, end=end)
    expected = [
        case.case_id
        for case, flag in zip(cases, as_projection, strict=False)
        if flag and needs_events(case, end)
    ]
    assert folds == expected


@given(histories(), st.lists(PERIODS, min_size=1, max_size=4))
def test_several_periods_in_one_pass_are_each_periods_report(
    cases: list[Case], periods: list[tuple[dt.date, dt.date]]
) -> None:
    folds: list[str] = []
    found = statistics_by_period(
        [projected(case, folds) for case in cases], periods, catalog=CATALOG, calendar=CALENDAR
    )
    assert found == tuple(report(cases, start=start, end=end) for start, end in periods)
    assert len(folds) == len(set(folds))  # a case's events are read once for every period


def test_a_body_that_does_not_decode_is_folded() -> None:
    folds: list[str] = []
    cases = [
        attrs.evolve(projected(case, folds), body={"format": SNAPSHOT_FORMAT})
        for case in YEAR_CASES
    ]
    assert report(cases) == report(YEAR_CASES)
    # Not even the submission day can be read: every case is folded.
    assert sorted(folds) == sorted(case.case_id for case in YEAR_CASES)


def test_a_projected_case_given_twice() -> None:
    twice: list[Case | ProjectedCase] = [YEAR_CASES[1], projected(YEAR_CASES[1])]
    with pytest.raises(InvalidValue, match=r"cases\[1\]: case 'JD-1' is already cases\[0\]"):
        report(twice)


def test_periods_that_end_before_they_start() -> None:
    with pytest.raises(InvalidValue, match=r"periods\[1\]: the period ends on 2025-01-01"):
        statistics_by_period(
            [],
            [(NEW_YEAR, NEW_YEARS_EVE), (D(2025, 1, 2), NEW_YEAR)],
            catalog=CATALOG,
            calendar=CALENDAR,
        )
