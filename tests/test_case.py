"""Tests for creditcommit.case: events, the fold, and every transition, legal and illegal.

The seed flows run on the bundled sample catalogue and the sample Yangzhou policy: the
Jiangdu filing (direct route, licence at acceptance), Gaoyou's health permit on the
conditional route (licence at acceptance, deferred materials afterwards) and on the
standard route (missing materials first), and a commitment item that is not decided on the
spot (deferred materials overdue → suspended → returned). Property tests drive random
action sequences through the transitions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.builtin.signing import HmacSignatureProvider
from creditcommit.calendar import WorkingCalendar
from creditcommit.case import (
    ACTIONS,
    ART_45,
    DEFAULT_GRACE_WORKING_DAYS,
    Accepted,
    Case,
    CaseEvent,
    CaseState,
    CaseSubmitted,
    ClockPaused,
    ClockResumed,
    CommitmentSigned,
    CreditChecked,
    LicenceIssued,
    LicencesLookedUp,
    MaterialSupplied,
    PauseReason,
    Refused,
    Resumed,
    Returned,
    RouteChosen,
    RouteDecided,
    Suspended,
    Withdrawn,
    accept,
    choose_standard,
    due,
    issue,
    licence_reference,
    pause_clock,
    refuse,
    resume_clock,
    sign_commitment,
    submit,
    supply_material,
    withdraw,
)
from creditcommit.catalog import ApprovalItem, Catalog, CommitmentMode, VerificationMethod
from creditcommit.commitments import CommitmentLetter, SignedCommitment, Signer
from creditcommit.credit import CreditEvidence, CreditLookupFailure
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel, Route
from creditcommit.errors import DecisionMismatch, IllegalTransition, InvalidValue
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import Disposition, LicenceHolding
from creditcommit.policy import Policy
from creditcommit.testing.strategies import approval_items, licence_holdings

D = dt.date
CST = dt.timezone(dt.timedelta(hours=8))
CATALOG = Catalog.sample()
POLICY = Policy.sample()
CALENDAR = WorkingCalendar.china()
SOURCE = "信用扬州 (sample)"
# Signs the letters of these tests (a test key, not a secret).
SIGNING = HmacSignatureProvider("creditcommit core tests - NOT SECRET", key_id="test")

JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
JIANGDU_DAY = D(2023, 1, 16)
# Just before the 2025 National Day break: deferred materials fall due after it.
GAOYOU_DAY = D(2025, 9, 26)
JIANGDU_ITEM = CATALOG.item(JIANGDU, JIANGDU_DAY)
GAOYOU_ITEM = CATALOG.item(GAOYOU, GAOYOU_DAY)
# A commitment item that is not decided on the spot: the licence waits for issue().
GAOYOU_LATER = attrs.evolve(GAOYOU_ITEM, on_the_spot=False)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


NEWMAT = Applicant(_uscc("91321012MA1Y2K3L4"), "扬州某新材料科技有限公司")
HOTEL = Applicant(_uscc("91321084MA1TQ7GU8"), "高邮某酒店管理有限公司")
OTHER = Applicant(_uscc("91321084MA1TQ7GU9"), "高邮某宾馆")
FORM = ("GGCSWSXK-01",)
GAOYOU_HELD = (
    LicenceHolding("business-licence", "营业执照 (e-licence)"),
    LicenceHolding("resident-identity-card", "居民身份证 (e-licence)"),
)
JIANGDU_HELD = (
    LicenceHolding("business-licence", "营业执照 (e-licence)"),
    LicenceHolding("uscc-certificate", "统一社会信用代码证 (e-licence)"),
)
DEFERRED = ("GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07")
MISSING_ON_STANDARD = ("GGCSWSXK-04", "GGCSWSXK-05", "GGCSWSXK-06", "GGCSWSXK-07")


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CST)


def evidence(applicant: Applicant, day: dt.date, grade: str) -> CreditEvidence:
    return CreditEvidence.create(
        subject=applicant.identifier,
        source=SOURCE,
        retrieved_at=at(day, 8, 59),
        scale="yangzhou-a-e",
        grade=grade,
    )


def fold(case: Case, events: Iterable[CaseEvent]) -> Case:
    for event in events:
        case = case.apply(event)
    return case


def signed_letter(
    case: Case, item: ApprovalItem, when: dt.datetime, signer: Signer | None = None
) -> SignedCommitment:
    assert case.decision is not None
    assert case.plan is not None
    day = case.decision.decided_on
    deadline = item.verification.deadline_days
    verification_due = None
    if item.verification.method is not VerificationMethod.EXEMPT:
        assert deadline is not None
        verification_due = CALENDAR.add_working_days(day, deadline)
    letter = CommitmentLetter.build(
        item, case.decision, case.plan, case.applicant, verification_due=verification_due
    )
    who = signer or Signer(case.applicant.name, case.applicant.identifier)
    return letter.sign(who, when, provider=SIGNING)


def gaoyou(
    grade: str = "B",
    *,
    item: ApprovalItem = GAOYOU_ITEM,
    case_id: str = "GY-1",
    provided: Sequence[str] = FORM,
    city: str = "321084",
    licences: Sequence[LicenceHolding] = GAOYOU_HELD,
    **kwargs: object,
) -> Case:
    events = submit(
        case_id=case_id,
        city=city,
        item=item,
        applicant=HOTEL,
        credit=evidence(HOTEL, GAOYOU_DAY, grade),
        policy=POLICY,
        calendar=CALENDAR,
        now=at(GAOYOU_DAY),
        provided=provided,
        licences=licences,
        **kwargs,  # type: ignore[arg-type]
    )
    return Case.from_events(events)


def committed(item: ApprovalItem = GAOYOU_ITEM) -> Case:
    case = gaoyou(item=item)
    return fold(
        case,
        sign_commitment(case, signed_letter(case, item, at(GAOYOU_DAY, 10)), at(GAOYOU_DAY, 10)),
    )


def accepted_later() -> Case:
    """Gaoyou's permit on the conditional route, not on the spot: accepted, not issued."""
    case = committed(GAOYOU_LATER)
    return fold(case, accept(case, GAOYOU_LATER, CALENDAR, at(GAOYOU_DAY, 11)))


def accepted_standard() -> Case:
    """Gaoyou's permit on the standard route: every material supplied on 9-29, accepted."""
    case = gaoyou("C")
    for n, code in enumerate(MISSING_ON_STANDARD):
        case = fold(case, supply_material(case, code, at(D(2025, 9, 29), 9, n)))
    return fold(case, accept(case, GAOYOU_ITEM, CALENDAR, at(D(2025, 9, 29), 10)))


def issued() -> Case:
    case = committed()
    return fold(case, accept(case, GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY, 11)))


# --- the seed flows ---------------------------------------------------------------------------


def test_jiangdu_direct_route_issues_the_licence_at_acceptance() -> None:
    now = at(JIANGDU_DAY)
    events = submit(
        case_id="JD-2023-0001",
        city="321012",
        item=JIANGDU_ITEM,
        applicant=NEWMAT,
        credit=None,
        policy=POLICY,
        calendar=CALENDAR,
        now=now,
        project=ProjectFacts(ProjectLevel.MUNICIPAL, "锂电池集流体项目一期", 200_000_000),
        licences=JIANGDU_HELD,
        idempotency_key="web-4711",
    )
    assert [type(e) for e in events] == [
        CaseSubmitted,
        CreditChecked,
        LicencesLookedUp,
        RouteDecided,
    ]
    case = Case.from_events(events)
    assert case.state is CaseState.DECIDED
    assert case.route is Route.DIRECT
    assert case.evidence is None
    assert case.submission.idempotency_key == "web-4711"
    assert case.decision is not None
    assert case.decision.reason_codes == ("major-project-no-query",)
    assert case.plan is not None
    assert case.plan.acceptable
    assert case.plan.reduced == 4

    signed = signed_letter(case, JIANGDU_ITEM, at(JIANGDU_DAY, 9, 20))
    case = fold(case, sign_commitment(case, signed, at(JIANGDU_DAY, 9, 20)))
    assert case.state is CaseState.COMMITTED
    assert case.commitment == signed

    events = accept(case, JIANGDU_ITEM, CALENDAR, at(JIANGDU_DAY, 9, 25))
    assert [type(e) for e in events] == [Accepted, LicenceIssued]
    case = fold(case, events)
    assert case.state is CaseState.ISSUED
    assert case.accepted_on == JIANGDU_DAY
    # 即审即办: the promised limit is 0 days; the statutory limit of 1 working day ends
    # the next working day.
    assert case.promised_due == JIANGDU_DAY
    assert case.statutory_due == D(2023, 1, 17)
    # A filing (备案): recorded at acceptance with a filing number, not a licence number.
    assert case.licence_reference == "BA-JD-2023-0001"
    assert case.licence is not None
    assert case.licence.issued_on == JIANGDU_DAY
    assert case.version == 7
    assert case.outstanding == ()


def test_gaoyou_conditional_route_issues_first_then_materials_follow() -> None:
    case = gaoyou("B")
    assert case.route is Route.CONDITIONAL
    assert case.plan is not None
    assert [line.code for line in case.plan.deferred] == list(DEFERRED)
    case = committed()
    events = accept(case, GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY, 11))
    assert [type(e) for e in events] == [Accepted, LicenceIssued]
    case = fold(case, events)
    assert case.state is CaseState.ISSUED
    assert (case.promised_due, case.statutory_due) == (D(2025, 10, 10), D(2025, 10, 30))
    # The deferred materials are the holder's obligations now, each with its due date.
    assert [(line.code, line.due) for line in case.outstanding] == [
        (code, D(2025, 10, 10)) for code in DEFERRED
    ]

    (first,) = supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 9)))
    assert first == MaterialSupplied(
        at=at(D(2025, 10, 9)),
        code="GGCSWSXK-04",
        supplied_on=D(2025, 10, 9),
        due=D(2025, 10, 10),
        on_time=True,
    )
    case = case.apply(first)
    case = fold(case, supply_material(case, "GGCSWSXK-06", at(D(2025, 10, 10), 17)))
    # Overdue after the licence: an obligation for supervision, not a suspension.
    assert due(case, at(D(2025, 10, 20)), CALENDAR) == ()
    (late,) = supply_material(case, "GGCSWSXK-07", at(D(2025, 10, 13)))
    assert isinstance(late, MaterialSupplied)
    assert late.on_time is False
    case = case.apply(late)
    assert case.outstanding == ()
    assert case.state is CaseState.ISSUED
    assert [e.on_time for e in case.supplied] == [True, True, False]


def test_gaoyou_standard_route_supplies_missing_materials_then_is_accepted_and_issued() -> None:
    case = gaoyou("C")
    assert case.route is Route.STANDARD
    assert case.plan is not None
    assert tuple(line.code for line in case.plan.missing) == MISSING_ON_STANDARD
    with pytest.raises(IllegalTransition) as caught:
        accept(case, GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY, 10))
    assert str(caught.value) == (
        "case GY-1: cannot accept in state DECIDED: materials are missing: "
        "GGCSWSXK-04, GGCSWSXK-05, GGCSWSXK-06, GGCSWSXK-07"
    )
    for n, code in enumerate(MISSING_ON_STANDARD):
        (event,) = supply_material(case, code, at(D(2025, 9, 29), 9, n))
        assert isinstance(event, MaterialSupplied)
        assert (event.due, event.on_time) == (None, True)
        case = case.apply(event)
    assert case.plan is not None
    assert case.plan.acceptable
    assert case.plan.line("GGCSWSXK-05").disposition is Disposition.SUBMITTED
    # No licence at acceptance on the standard route, even for an on-the-spot item.
    events = accept(case, GAOYOU_ITEM, CALENDAR, at(D(2025, 9, 29), 10))
    assert [type(e) for e in events] == [Accepted]
    case = fold(case, events)
    assert (case.promised_due, case.statutory_due) == (D(2025, 10, 13), D(2025, 11, 3))
    (licence,) = issue(case, at(D(2025, 10, 9)), valid_until=D(2029, 10, 8))
    assert licence == LicenceIssued(
        at=at(D(2025, 10, 9)),
        reference="XK-GY-1",
        issued_on=D(2025, 10, 9),
        valid_until=D(2029, 10, 8),
    )
    assert case.apply(licence).state is CaseState.ISSUED


def test_deferred_materials_overdue_suspend_the_case_and_then_return_it() -> None:
    case = accepted_later()
    assert case.state is CaseState.ACCEPTED
    assert case.licence is None
    assert due(case, at(D(2025, 10, 10), 23, 59), CALENDAR) == ()
    # 2025-10-11 is a Saturday made a working day (调休); the materials are overdue.
    (suspended,) = due(case, at(D(2025, 10, 11), 0, 5), CALENDAR)
    assert suspended == Suspended(
        at=at(D(2025, 10, 11), 0, 5),
        suspended_on=D(2025, 10, 11),
        overdue=DEFERRED,
        grace_ends=D(2025, 10, 30),
    )
    assert D(2025, 10, 30) == CALENDAR.add_working_days(D(2025, 10, 10), 15)
    case = case.apply(suspended)
    assert case.state is CaseState.SUSPENDED
    assert case.grace_ends == D(2025, 10, 30)
    assert due(case, at(D(2025, 10, 12)), CALENDAR) == ()
    # Supplying some but not all keeps it suspended.
    case = fold(case, supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 20))))
    assert case.state is CaseState.SUSPENDED
    assert due(case, at(D(2025, 10, 30), 23), CALENDAR) == ()
    (returned,) = due(case, at(D(2025, 10, 31)), CALENDAR)
    assert isinstance(returned, Returned)
    assert returned.missing == ("GGCSWSXK-06", "GGCSWSXK-07")
    assert "退件" in returned.reason
    assert "2025-10-30" in returned.reason
    case = case.apply(returned)
    assert case.state is CaseState.RETURNED
    assert case.closure == returned
    assert due(case, at(D(2025, 12, 1)), CALENDAR) == ()


def test_the_grace_period_comes_from_the_policy() -> None:
    grace = POLICY.at(GAOYOU_DAY).deferred_grace_working_days
    assert grace == DEFAULT_GRACE_WORKING_DAYS == 15
    (suspended,) = due(accepted_later(), at(D(2025, 10, 13)), CALENDAR, 5)
    assert isinstance(suspended, Suspended)
    assert suspended.grace_ends == CALENDAR.add_working_days(D(2025, 10, 10), 5)


def test_supplying_the_last_overdue_material_resumes_the_case() -> None:
    case = accepted_later()
    case = fold(case, due(case, at(D(2025, 10, 13)), CALENDAR))
    assert case.state is CaseState.SUSPENDED
    case = fold(case, supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 14))))
    case = fold(case, supply_material(case, "GGCSWSXK-06", at(D(2025, 10, 14), 10)))
    events = supply_material(case, "GGCSWSXK-07", at(D(2025, 10, 15)))
    assert [type(e) for e in events] == [MaterialSupplied, Resumed]
    assert events[1] == Resumed(at=at(D(2025, 10, 15)), resumed_on=D(2025, 10, 15))
    case = fold(case, events)
    assert case.state is CaseState.ACCEPTED
    assert case.suspension is None
    assert [e.on_time for e in case.supplied] == [False, False, False]
    assert due(case, at(D(2025, 10, 16)), CALENDAR) == ()
    (licence,) = issue(case, at(D(2025, 10, 16)))
    assert case.apply(licence).state is CaseState.ISSUED


def test_commitment_route_issues_with_deferred_materials_outstanding() -> None:
    case = accepted_later()
    (licence,) = issue(case, at(D(2025, 9, 30)))
    case = case.apply(licence)
    assert case.state is CaseState.ISSUED
    assert len(case.outstanding) == 3
    assert due(case, at(D(2025, 11, 30)), CALENDAR) == ()


def test_a_late_tick_catches_up_with_suspension_and_return() -> None:
    events = due(accepted_later(), at(D(2025, 11, 3)), CALENDAR)
    assert [type(e) for e in events] == [Suspended, Returned]


def test_a_suspended_case_with_nothing_overdue_resumes_on_the_tick() -> None:
    case = accepted_later()
    suspended = Suspended(
        at=at(D(2025, 10, 11)),
        suspended_on=D(2025, 10, 11),
        overdue=("GGCSWSXK-04",),
        grace_ends=D(2025, 10, 31),
    )
    case = case.apply(suspended)
    for code in DEFERRED:
        case = case.apply(
            MaterialSupplied(
                at=at(D(2025, 10, 12)),
                code=code,
                supplied_on=D(2025, 10, 12),
                due=D(2025, 10, 10),
                on_time=False,
            )
        )
    assert due(case, at(D(2025, 10, 13)), CALENDAR) == (
        Resumed(at=at(D(2025, 10, 13)), resumed_on=D(2025, 10, 13)),
    )


def test_a_material_supplied_after_the_grace_period_does_not_resume_the_case() -> None:
    case = accepted_later()
    case = fold(case, due(case, at(D(2025, 10, 11)), CALENDAR))
    for code in DEFERRED[:2]:
        case = fold(case, supply_material(case, code, at(D(2025, 10, 20))))
    events = supply_material(case, DEFERRED[2], at(D(2025, 10, 31), 10))
    assert [type(e) for e in events] == [MaterialSupplied]
    case = fold(case, events)
    assert case.outstanding == ()
    (returned,) = due(case, at(D(2025, 10, 31), 23), CALENDAR)
    assert isinstance(returned, Returned)
    assert returned.missing == DEFERRED[2:]


def test_a_material_falling_overdue_during_a_suspension_gets_its_own_grace_period() -> None:
    # GGCSWSXK-04 is due after one working day, the others after five.
    materials = tuple(
        attrs.evolve(m, defer_days=1) if m.code == "GGCSWSXK-04" else m
        for m in GAOYOU_LATER.materials
    )
    item = attrs.evolve(GAOYOU_LATER, materials=materials)
    case = committed(item)
    case = fold(case, accept(case, item, CALENDAR, at(GAOYOU_DAY, 11)))
    assert [line.due for line in case.outstanding] == [D(2025, 9, 28), *[D(2025, 10, 10)] * 2]
    (first,) = due(case, at(D(2025, 9, 29), 23), CALENDAR)
    assert isinstance(first, Suspended)
    assert first.overdue == ("GGCSWSXK-04",)
    assert first.grace_ends == CALENDAR.add_working_days(D(2025, 9, 28), 15)
    case = case.apply(first)
    # 04 arrives within its grace period while 06 and 07 are overdue: the case resumes, and
    # the next tick suspends it again for 06 and 07, with their own grace period.
    events = supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 13)))
    assert [type(e) for e in events] == [MaterialSupplied, Resumed]
    case = fold(case, events)
    (second,) = due(case, at(D(2025, 10, 13), 23), CALENDAR)
    assert second == Suspended(
        at=at(D(2025, 10, 13), 23),
        suspended_on=D(2025, 10, 13),
        overdue=("GGCSWSXK-06", "GGCSWSXK-07"),
        grace_ends=D(2025, 10, 30),
    )


_SUPPLY_OFFSETS = st.lists(st.none() | st.integers(1, 45), min_size=3, max_size=3)


@given(_SUPPLY_OFFSETS)
def test_with_daily_ticks_a_case_is_returned_exactly_when_a_material_misses_the_grace_period(
    offsets: list[int | None],
) -> None:
    arrives = {
        code: None if days is None else GAOYOU_DAY + dt.timedelta(days=days)
        for code, days in zip(DEFERRED, offsets, strict=True)
    }
    case = accepted_later()
    day = GAOYOU_DAY
    while day < D(2025, 11, 15):
        day += dt.timedelta(days=1)
        for code, when in arrives.items():
            if when == day and case.state in (CaseState.ACCEPTED, CaseState.SUSPENDED):
                case = fold(case, supply_material(case, code, at(day, 10)))
        case = fold(case, due(case, at(day, 23), CALENDAR))
    grace_ends = D(2025, 10, 30)
    late = tuple(code for code, when in arrives.items() if when is None or when > grace_ends)
    suspensions = [e for e in case.history if isinstance(e, Suspended)]
    assert bool(suspensions) == any(
        when is None or when > D(2025, 10, 11) for when in arrives.values()
    )
    if late:
        assert case.state is CaseState.RETURNED
        assert isinstance(case.closure, Returned)
        assert case.closure.missing == late
        assert case.closure.at.date() == D(2025, 10, 31)
    else:
        assert case.state is CaseState.ACCEPTED
        assert case.outstanding == ()
        if suspensions:
            resumed = [e for e in case.history if isinstance(e, Resumed)]
            assert [e.resumed_on for e in resumed] == [max(d for d in arrives.values() if d)]


@given(_SUPPLY_OFFSETS, st.lists(st.integers(1, 50), max_size=6))
def test_a_case_is_never_returned_before_its_grace_period_ends_or_when_all_came_in_time(
    offsets: list[int | None], ticks: list[int]
) -> None:
    arrives = {
        code: None if days is None else GAOYOU_DAY + dt.timedelta(days=days)
        for code, days in zip(DEFERRED, offsets, strict=True)
    }
    moments = [(GAOYOU_DAY + dt.timedelta(days=d), 23, "tick") for d in ticks]
    moments += [(when, 10, code) for code, when in arrives.items() if when is not None]
    case = accepted_later()
    for day, hour, what in sorted(moments):
        if what == "tick":
            case = fold(case, due(case, at(day, hour), CALENDAR))
        elif case.state in (CaseState.ACCEPTED, CaseState.SUSPENDED):
            case = fold(case, supply_material(case, what, at(day, hour)))
    if all(when is not None and when <= D(2025, 10, 30) for when in arrives.values()):
        assert case.state is CaseState.ACCEPTED
    if case.state is CaseState.RETURNED:
        assert case.closure is not None
        assert case.closure.at.date() > D(2025, 10, 30)


def test_art_45_pause_moves_the_due_dates_by_the_working_days_paused() -> None:
    case = accepted_standard()
    assert (case.promised_due, case.statutory_due) == (D(2025, 10, 13), D(2025, 11, 3))
    (paused,) = pause_clock(
        case, PauseReason.EXPERT_REVIEW, at(D(2025, 9, 30)), note="专家评审，预计10个工作日"
    )
    assert paused == ClockPaused(
        at=at(D(2025, 9, 30)),
        paused_on=D(2025, 9, 30),
        reason=PauseReason.EXPERT_REVIEW,
        reference=ART_45,
        note="专家评审，预计10个工作日",
    )
    case = case.apply(paused)
    assert case.is_paused
    # 15 calendar days, but the National Day break is not working time: 6 working days
    # (10-9, 10-10, the make-up Saturday 10-11, 10-13, 10-14, 10-15).
    (resumed,) = resume_clock(case, at(D(2025, 10, 15)), CALENDAR)
    assert resumed == ClockResumed(
        at=at(D(2025, 10, 15)),
        resumed_on=D(2025, 10, 15),
        working_days=6,
        promised_due=CALENDAR.add_working_days(D(2025, 10, 13), 6),
        statutory_due=CALENDAR.add_working_days(D(2025, 11, 3), 6),
    )
    case = case.apply(resumed)
    assert not case.is_paused
    assert case.paused_working_days == 6
    assert CALENDAR.working_days_between(D(2025, 11, 3), case.statutory_due or D.min) == 6
    # A second pause adds up.
    case = fold(case, pause_clock(case, PauseReason.TESTING, at(D(2025, 10, 20))))
    case = fold(case, resume_clock(case, at(D(2025, 10, 22)), CALENDAR))
    assert case.paused_working_days == 8
    assert case.statutory_due == CALENDAR.add_working_days(D(2025, 11, 3), 8)


def test_a_pause_and_resume_on_the_same_day_moves_nothing() -> None:
    case = accepted_standard()
    case = fold(case, pause_clock(case, PauseReason.HEARING, at(D(2025, 10, 9), 9)))
    (resumed,) = resume_clock(case, at(D(2025, 10, 9), 16), CALENDAR)
    assert isinstance(resumed, ClockResumed)
    assert resumed.working_days == 0
    assert resumed.statutory_due == case.statutory_due


def test_pause_reasons_are_the_procedures_of_art_45() -> None:
    assert [r.label_zh for r in PauseReason] == [
        "听证",
        "招标",
        "拍卖",
        "检验",
        "检测",
        "检疫",
        "鉴定",
        "专家评审",
    ]
    assert str(ART_45) == "中华人民共和国行政许可法 第四十五条"


# --- choosing the standard route, refusing, withdrawing --------------------------------------


def test_choosing_the_standard_route_re_decides_with_the_applicants_choice() -> None:
    case = gaoyou("B")
    (chosen,) = choose_standard(case, GAOYOU_ITEM, POLICY, CALENDAR, at(GAOYOU_DAY, 10))
    assert isinstance(chosen, RouteChosen)
    assert chosen.decision.route is Route.STANDARD
    assert chosen.decision.eligible_route is Route.CONDITIONAL
    assert chosen.decision.reason_codes[-1] == "applicant-chose-standard"
    assert chosen.decision.decided_on == GAOYOU_DAY
    case = case.apply(chosen)
    assert case.state is CaseState.DECIDED
    assert case.route is Route.STANDARD
    assert case.plan is not None
    assert tuple(line.code for line in case.plan.missing) == MISSING_ON_STANDARD


def test_choosing_the_standard_route_after_signing_drops_the_commitment() -> None:
    case = committed()
    case = fold(case, supply_material(case, "GGCSWSXK-04", at(GAOYOU_DAY, 10, 30)))
    case = fold(case, choose_standard(case, GAOYOU_ITEM, POLICY, CALENDAR, at(GAOYOU_DAY, 11)))
    assert case.state is CaseState.DECIDED
    assert case.commitment is None
    assert case.plan is not None
    # What the applicant supplied counts as submitted on the new plan.
    assert case.plan.line("GGCSWSXK-04").disposition is Disposition.SUBMITTED
    assert tuple(line.code for line in case.plan.missing) == MISSING_ON_STANDARD[1:]
    assert case.outstanding == ()


def test_the_applicant_can_choose_the_standard_route_at_submission() -> None:
    case = gaoyou("B", choose_standard=True)
    assert case.route is Route.STANDARD
    assert case.decision is not None
    assert case.decision.eligible_route is Route.CONDITIONAL


def test_refusal_closes_an_accepted_case() -> None:
    case = accepted_standard()
    (refused,) = refuse(case, "现场核查不符合卫生要求", at(D(2025, 10, 9)))
    assert refused == Refused(at=at(D(2025, 10, 9)), reason="现场核查不符合卫生要求")
    case = case.apply(refused)
    assert case.state is CaseState.REFUSED
    assert not case.state.in_progress


@pytest.mark.parametrize(
    "build",
    [gaoyou, committed, accepted_later, accepted_standard],
    ids=["decided", "committed", "accepted", "accepted-standard"],
)
def test_withdrawal_is_possible_while_the_case_is_in_progress(build: object) -> None:
    case = build()  # type: ignore[operator]
    assert isinstance(case, Case)
    (withdrawn,) = withdraw(case, at(D(2025, 10, 9)), "申请人主动撤回")
    assert withdrawn == Withdrawn(at=at(D(2025, 10, 9)), reason="申请人主动撤回")
    assert case.apply(withdrawn).state is CaseState.WITHDRAWN


def test_withdrawal_before_the_route_is_decided() -> None:
    submitted = Case.from_events(gaoyou().history[:2])
    assert submitted.state is CaseState.SUBMITTED
    (withdrawn,) = withdraw(submitted, at(GAOYOU_DAY, 10))
    assert submitted.apply(withdrawn).state is CaseState.WITHDRAWN


def test_withdrawal_from_a_suspended_case_clears_the_pause() -> None:
    case = accepted_later()
    case = fold(case, pause_clock(case, PauseReason.INSPECTION, at(D(2025, 9, 30))))
    case = fold(case, due(case, at(D(2025, 10, 13)), CALENDAR))
    assert case.state is CaseState.SUSPENDED
    case = fold(case, withdraw(case, at(D(2025, 10, 14))))
    assert case.state is CaseState.WITHDRAWN
    assert not case.is_paused


def test_a_failing_licence_store_means_the_materials_are_demanded() -> None:
    case = gaoyou("B", licences=(), licence_failure="e-licence store: timeout after 5 s")
    assert case.licence_lookup == LicencesLookedUp(
        at=at(GAOYOU_DAY), failure="e-licence store: timeout after 5 s"
    )
    assert case.plan is not None
    assert [line.code for line in case.plan.missing] == ["GGCSWSXK-02", "GGCSWSXK-03"]


def test_a_credit_lookup_failure_is_stored_and_fails_closed() -> None:
    failure = CreditLookupFailure(
        subject=HOTEL.identifier, source=SOURCE, attempted_at=at(GAOYOU_DAY), reason="timeout"
    )
    events = submit(
        case_id="GY-9",
        city="321084",
        item=GAOYOU_ITEM,
        applicant=HOTEL,
        credit=failure,
        policy=POLICY,
        calendar=CALENDAR,
        now=at(GAOYOU_DAY),
    )
    case = Case.from_events(events)
    assert case.evidence == failure
    assert case.route is Route.STANDARD


def test_the_evidence_is_stored_with_the_case() -> None:
    case = gaoyou("B")
    assert case.evidence == evidence(HOTEL, GAOYOU_DAY, "B")
    assert isinstance(case.evidence, CreditEvidence)
    assert case.decision is not None
    assert case.decision.evidence_digest == case.evidence.digest


def test_case_accessors() -> None:
    case = gaoyou("B", case_id="GY-7", provided=["GGCSWSXK-01", "GGCSWSXK-01"])
    assert (case.case_id, case.city, case.applicant) == ("GY-7", "321084", HOTEL)
    assert (case.item_code, case.item_valid_from) == (GAOYOU, GAOYOU_ITEM.valid_from)
    assert case.submission.provided == ("GGCSWSXK-01",)
    assert case.version == len(case.history) == 4
    assert case.accepted_on is None
    assert case.licence_reference is None
    assert case.grace_ends is None
    assert not case.is_paused
    assert [line.code for line in case.overdue(D(2025, 10, 11))] == list(DEFERRED)
    assert case.overdue(D(2025, 10, 10)) == ()


def test_apply_takes_several_events_in_order() -> None:
    case = committed()
    events = accept(case, GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY, 11))
    assert len(events) == 2
    assert case.apply(*events) == fold(case, events) == case.apply(events[0]).apply(events[1])
    assert case.apply() is case
    with pytest.raises(IllegalTransition, match="cannot apply Accepted in state ISSUED"):
        case.apply(*events, events[0])


def test_licence_reference_is_derived_from_the_case_id() -> None:
    assert licence_reference("GY-1") == "XK-GY-1"
    (licence,) = issue(accepted_later(), at(D(2025, 10, 9)), reference="高邮卫许字〔2025〕第1号")
    assert isinstance(licence, LicenceIssued)
    assert licence.reference == "高邮卫许字〔2025〕第1号"


def test_actions_name_the_transition_functions() -> None:
    import creditcommit.case as module

    assert sorted(ACTIONS) == list(ACTIONS)
    for name, states in ACTIONS.items():
        assert callable(getattr(module, name))
        # The application in progress, or a licence under supervision (docs/supervision.md).
        assert all(state.in_progress or state.supervised for state in states)
    # Nothing is done to a case that ended without a licence, or whose supervision ended
    # for good.
    ended = {CaseState.REFUSED, CaseState.WITHDRAWN, CaseState.RETURNED, CaseState.REVOKED}
    assert not ended & set().union(*ACTIONS.values())


# --- illegal transitions ----------------------------------------------------------------------


def _message(action: object) -> str:
    with pytest.raises(IllegalTransition) as caught:
        action()  # type: ignore[operator]
    return str(caught.value)


def test_illegal_choose_standard_when_already_standard() -> None:
    case = gaoyou("C")
    err = _message(lambda: choose_standard(case, GAOYOU_ITEM, POLICY, CALENDAR, at(GAOYOU_DAY)))
    assert err == (
        "case GY-1: cannot choose_standard in state DECIDED: the case is already on the "
        "standard route"
    )


def test_illegal_choose_standard_after_acceptance() -> None:
    case = accepted_later()
    with pytest.raises(IllegalTransition) as caught:
        choose_standard(case, GAOYOU_LATER, POLICY, CALENDAR, at(D(2025, 9, 30)))
    assert (caught.value.case_id, caught.value.state, caught.value.action) == (
        "GY-1",
        "ACCEPTED",
        "choose_standard",
    )
    assert str(caught.value) == (
        "case GY-1: cannot choose_standard in state ACCEPTED: allowed in DECIDED, COMMITTED"
    )


def test_illegal_sign_on_the_standard_route() -> None:
    letter = signed_letter(gaoyou("B"), GAOYOU_ITEM, at(GAOYOU_DAY))
    err = _message(lambda: sign_commitment(gaoyou("C"), letter, at(GAOYOU_DAY)))
    assert err == (
        "case GY-1: cannot sign_commitment in state DECIDED: the standard route takes no commitment"
    )


def test_illegal_sign_twice() -> None:
    case = committed()
    letter = signed_letter(gaoyou("B"), GAOYOU_ITEM, at(GAOYOU_DAY))
    err = _message(lambda: sign_commitment(case, letter, at(GAOYOU_DAY, 12)))
    assert err == ("case GY-1: cannot sign_commitment in state COMMITTED: allowed in DECIDED")


def test_illegal_sign_a_letter_for_another_applicant() -> None:
    events = submit(
        case_id="GY-2",
        city="321084",
        item=GAOYOU_ITEM,
        applicant=OTHER,
        credit=evidence(OTHER, GAOYOU_DAY, "B"),
        policy=POLICY,
        calendar=CALENDAR,
        now=at(GAOYOU_DAY),
        provided=FORM,
        licences=GAOYOU_HELD,
    )
    theirs = signed_letter(Case.from_events(events), GAOYOU_ITEM, at(GAOYOU_DAY))
    err = _message(lambda: sign_commitment(gaoyou("B"), theirs, at(GAOYOU_DAY)))
    assert err == (
        f"case GY-1: cannot sign_commitment in state DECIDED: the letter is for applicant "
        f"{OTHER.identifier!r}, not the case's applicant {HOTEL.identifier!r}"
    )


def test_illegal_sign_a_letter_for_another_decision() -> None:
    other_day = gaoyou("B", item=GAOYOU_ITEM)
    case = Case.from_events(
        submit(
            case_id="GY-1",
            city="321084",
            item=GAOYOU_ITEM,
            applicant=HOTEL,
            credit=evidence(HOTEL, D(2025, 9, 29), "A"),
            policy=POLICY,
            calendar=CALENDAR,
            now=at(D(2025, 9, 29)),
            provided=FORM,
            licences=GAOYOU_HELD,
        )
    )
    stale = signed_letter(other_day, GAOYOU_ITEM, at(GAOYOU_DAY))
    err = _message(lambda: sign_commitment(case, stale, at(D(2025, 9, 29))))
    assert err == (
        "case GY-1: cannot sign_commitment in state DECIDED: the letter was drawn up for "
        "another decision than the case's (CONDITIONAL route of 2025-09-26)"
    )


def test_illegal_sign_an_altered_text() -> None:
    case = gaoyou("B")
    signed = signed_letter(case, GAOYOU_ITEM, at(GAOYOU_DAY))
    altered = attrs.evolve(signed, text=signed.text + "（另附条款）")
    err = _message(lambda: sign_commitment(case, altered, at(GAOYOU_DAY)))
    assert err == (
        "case GY-1: cannot sign_commitment in state DECIDED: the signed text does not match "
        "its SHA-256 digest"
    )


def test_illegal_accept_before_signing() -> None:
    err = _message(lambda: accept(gaoyou("B"), GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY)))
    assert err == (
        "case GY-1: cannot accept in state DECIDED: the commitment letter is not signed yet"
    )


def test_illegal_accept_twice() -> None:
    err = _message(lambda: accept(issued(), GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY, 12)))
    assert err == "case GY-1: cannot accept in state ISSUED: allowed in DECIDED, COMMITTED"


def test_accept_checks_the_item_version() -> None:
    other = attrs.evolve(GAOYOU_ITEM, valid_from=D(2025, 1, 1))
    with pytest.raises(DecisionMismatch) as caught:
        accept(committed(), other, CALENDAR, at(GAOYOU_DAY, 11))
    assert str(caught.value) == (
        "the decision was made for item '321084-GGCSWSXK' (version of 2022-11-01), not for "
        "item '321084-GGCSWSXK' (version of 2025-01-01)"
    )


def test_illegal_issue_before_acceptance() -> None:
    err = _message(lambda: issue(committed(), at(GAOYOU_DAY, 11)))
    assert err == "case GY-1: cannot issue in state COMMITTED: allowed in ACCEPTED"


def test_illegal_issue_while_the_clock_is_paused() -> None:
    case = accepted_standard()
    case = fold(case, pause_clock(case, PauseReason.EXPERT_REVIEW, at(D(2025, 9, 30))))
    err = _message(lambda: issue(case, at(D(2025, 10, 9))))
    assert err == (
        "case GY-1: cannot issue in state ACCEPTED: the clock is paused since 2025-09-30 for "
        "expert-review (专家评审); resume it first"
    )


def test_illegal_issue_on_the_standard_route_with_materials_owed() -> None:
    # Transitions never get here (acceptance needs every material); a replayed log can.
    case = gaoyou("C").apply(
        Accepted(
            at=at(GAOYOU_DAY, 10),
            accepted_on=GAOYOU_DAY,
            promised_due=D(2025, 10, 10),
            statutory_due=D(2025, 10, 30),
        )
    )
    err = _message(lambda: issue(case, at(GAOYOU_DAY, 11)))
    assert err == (
        "case GY-1: cannot issue in state ACCEPTED: on the standard route every material "
        "must be in; owed: GGCSWSXK-04, GGCSWSXK-05, GGCSWSXK-06, GGCSWSXK-07"
    )


def test_illegal_refuse_before_acceptance() -> None:
    err = _message(lambda: refuse(gaoyou("C"), "材料不全", at(GAOYOU_DAY)))
    assert err == "case GY-1: cannot refuse in state DECIDED: allowed in ACCEPTED"


def test_illegal_refuse_while_the_clock_is_paused() -> None:
    case = accepted_standard()
    case = fold(case, pause_clock(case, PauseReason.HEARING, at(D(2025, 9, 30))))
    err = _message(lambda: refuse(case, "听证后不予许可", at(D(2025, 10, 9))))
    assert err == (
        "case GY-1: cannot refuse in state ACCEPTED: the clock is paused since 2025-09-30 for "
        "hearing (听证); resume it first"
    )


def test_refusal_needs_a_reason() -> None:
    with pytest.raises(InvalidValue) as caught:
        refuse(accepted_standard(), "  ", at(D(2025, 10, 9)))
    assert str(caught.value) == "invalid Refused: reason: expected a non-empty reason, got '  '"


def test_illegal_supply_of_an_unknown_material() -> None:
    err = _message(lambda: supply_material(gaoyou("B"), "NOPE-01", at(GAOYOU_DAY)))
    assert err == (
        "case GY-1: cannot supply_material in state DECIDED: the material plan has no "
        "material 'NOPE-01'"
    )


def test_illegal_supply_of_a_waived_material() -> None:
    err = _message(lambda: supply_material(gaoyou("B"), "GGCSWSXK-05", at(GAOYOU_DAY)))
    assert err == (
        "case GY-1: cannot supply_material in state DECIDED: material 'GGCSWSXK-05' is "
        "waived: there is nothing to supply"
    )


def test_illegal_supply_twice() -> None:
    case = issued()
    case = fold(case, supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 9))))
    err = _message(lambda: supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 10))))
    assert err == (
        "case GY-1: cannot supply_material in state ISSUED: material 'GGCSWSXK-04' was "
        "already supplied on 2025-10-09"
    )


def test_illegal_supply_after_the_case_is_closed() -> None:
    case = accepted_standard()
    case = fold(case, refuse(case, "不符合条件", at(D(2025, 10, 9))))
    err = _message(lambda: supply_material(case, "GGCSWSXK-04", at(D(2025, 10, 10))))
    assert err == (
        "case GY-1: cannot supply_material in state REFUSED: allowed in DECIDED, COMMITTED, "
        "ACCEPTED, SUSPENDED, ISSUED, RECTIFYING"
    )


def test_illegal_supply_before_the_route_is_decided() -> None:
    submitted = Case.from_events(gaoyou().history[:3])
    err = _message(lambda: supply_material(submitted, "GGCSWSXK-04", at(GAOYOU_DAY)))
    assert err.startswith("case GY-1: cannot supply_material in state SUBMITTED: allowed in")


def test_illegal_pause_before_acceptance() -> None:
    err = _message(lambda: pause_clock(committed(), PauseReason.HEARING, at(GAOYOU_DAY)))
    assert err == "case GY-1: cannot pause_clock in state COMMITTED: allowed in ACCEPTED"


def test_illegal_pause_twice() -> None:
    case = accepted_standard()
    case = fold(case, pause_clock(case, PauseReason.HEARING, at(D(2025, 9, 30))))
    err = _message(lambda: pause_clock(case, PauseReason.TESTING, at(D(2025, 10, 9))))
    assert err == (
        "case GY-1: cannot pause_clock in state ACCEPTED: the clock is already paused since "
        "2025-09-30"
    )


def test_illegal_resume_without_a_pause() -> None:
    err = _message(lambda: resume_clock(accepted_standard(), at(D(2025, 10, 9)), CALENDAR))
    assert err == "case GY-1: cannot resume_clock in state ACCEPTED: the clock is not paused"


def test_illegal_resume_after_issue() -> None:
    err = _message(lambda: resume_clock(issued(), at(D(2025, 10, 9)), CALENDAR))
    assert err == "case GY-1: cannot resume_clock in state ISSUED: allowed in ACCEPTED"


def test_illegal_resume_before_the_pause_day() -> None:
    case = accepted_standard()
    case = fold(case, pause_clock(case, PauseReason.HEARING, at(D(2025, 10, 9))))
    err = _message(lambda: resume_clock(case, at(D(2025, 10, 8)), CALENDAR))
    assert err == (
        "case GY-1: cannot resume_clock in state ACCEPTED: 2025-10-08 is before the pause of "
        "2025-10-09"
    )


@pytest.mark.parametrize("build", [issued, accepted_later], ids=["issued", "withdrawn"])
def test_illegal_withdraw_after_the_procedure_ended(build: object) -> None:
    case = build()  # type: ignore[operator]
    assert isinstance(case, Case)
    if case.state is not CaseState.ISSUED:
        case = fold(case, withdraw(case, at(D(2025, 10, 1))))
    err = _message(lambda: withdraw(case, at(D(2025, 10, 9))))
    assert err == (
        f"case GY-1: cannot withdraw in state {case.state.name}: allowed in SUBMITTED, "
        "DECIDED, COMMITTED, ACCEPTED, SUSPENDED"
    )


def test_illegal_event_in_the_fold() -> None:
    licence = LicenceIssued(at=at(GAOYOU_DAY), reference="XK-1", issued_on=GAOYOU_DAY)
    err = _message(lambda: gaoyou().apply(licence))
    assert err == "case GY-1: cannot apply LicenceIssued in state DECIDED: allowed in ACCEPTED"


def test_a_case_is_submitted_once() -> None:
    case = gaoyou()
    err = _message(lambda: case.apply(case.submission))
    assert err == (
        "case GY-1: cannot apply CaseSubmitted in state DECIDED: a case is submitted once, "
        "with its first event"
    )


def test_the_credit_check_is_recorded_once() -> None:
    case = Case.from_events(gaoyou().history[:2])
    again = CreditChecked(at=at(GAOYOU_DAY), outcome=None)
    err = _message(lambda: case.apply(again))
    assert err == (
        "case GY-1: cannot apply CreditChecked in state SUBMITTED: the credit check is "
        "already recorded"
    )


def test_the_licence_look_up_is_recorded_once() -> None:
    case = Case.from_events(gaoyou().history[:3])
    again = LicencesLookedUp(at=at(GAOYOU_DAY))
    err = _message(lambda: case.apply(again))
    assert err == (
        "case GY-1: cannot apply LicencesLookedUp in state SUBMITTED: the e-licence look-up "
        "is already recorded"
    )


def test_the_fold_rejects_a_decision_for_another_item() -> None:
    history = gaoyou().history
    jiangdu = Case.from_events(
        submit(
            case_id="JD-1",
            city="321012",
            item=JIANGDU_ITEM,
            applicant=HOTEL,
            credit=None,
            policy=POLICY,
            calendar=CALENDAR,
            now=at(GAOYOU_DAY),
        )
    )
    assert isinstance(jiangdu.history[3], RouteDecided)
    case = Case.from_events(history[:3])
    err = _message(lambda: case.apply(jiangdu.history[3]))
    assert err == (
        "case GY-1: cannot apply RouteDecided in state SUBMITTED: the decision is for item "
        "'321012-TZXMBA', not '321084-GGCSWSXK'"
    )


def test_a_history_starts_with_the_submission() -> None:
    with pytest.raises(InvalidValue) as caught:
        Case.from_events([])
    assert str(caught.value) == (
        "invalid Case: events[0]: expected a CaseSubmitted event, got nothing"
    )
    with pytest.raises(InvalidValue) as caught:
        Case.from_events(gaoyou().history[1:])
    assert str(caught.value) == (
        "invalid Case: events[0]: expected a CaseSubmitted event, got CreditChecked"
    )


def test_apply_rejects_what_is_not_an_event() -> None:
    with pytest.raises(TypeError, match="not a case event"):
        gaoyou().apply("accepted")  # type: ignore[arg-type]


def test_now_must_carry_a_time_zone() -> None:
    with pytest.raises(InvalidValue) as caught:
        issue(accepted_standard(), dt.datetime(2025, 10, 9, 9))
    assert str(caught.value) == (
        "invalid now: now: expected a date-time with a time zone (e.g. +08:00), got "
        "datetime.datetime(2025, 10, 9, 9, 0)"
    )


def test_the_grace_period_is_at_least_one_working_day() -> None:
    with pytest.raises(ValueError, match="grace_working_days must be at least 1, got 0"):
        due(accepted_later(), at(D(2025, 10, 13)), CALENDAR, 0)


def test_submit_rejects_holdings_with_a_failure() -> None:
    with pytest.raises(InvalidValue) as caught:
        gaoyou(licence_failure="timeout")  # GAOYOU_HELD given as well
    assert str(caught.value) == (
        "invalid LicencesLookedUp: holdings: a failed look-up retrieves nothing: expected no "
        "holdings"
    )


def test_submit_rejects_a_city_that_is_not_a_division_code() -> None:
    with pytest.raises(InvalidValue) as caught:
        gaoyou(city="Gaoyou")
    assert str(caught.value) == (
        "invalid CaseSubmitted: city: expected a six-digit administrative division code "
        "(GB/T 2260), got 'Gaoyou'"
    )


def test_submit_rejects_a_single_string_of_codes() -> None:
    with pytest.raises(TypeError, match="not the string 'GGCSWSXK-01'"):
        gaoyou(provided="GGCSWSXK-01")


# --- event invariants -------------------------------------------------------------------------

NOW = at(GAOYOU_DAY)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CaseSubmitted(
                at=NOW,
                case_id=" ",
                city="321084",
                item_code=GAOYOU,
                item_valid_from=GAOYOU_DAY,
                applicant=HOTEL,
            ),
            "invalid CaseSubmitted: case_id: expected a non-empty case id, got ' '",
        ),
        (
            lambda: CaseSubmitted(
                at=NOW,
                case_id="C",
                city="321084",
                item_code=GAOYOU,
                item_valid_from=GAOYOU_DAY,
                applicant=HOTEL,
                provided=["", "X"],
            ),
            "invalid CaseSubmitted: provided[0]: expected a non-empty material code",
        ),
        (
            lambda: CreditChecked(at=dt.datetime(2025, 9, 26), outcome=None),
            "invalid CreditChecked: at: expected a date-time with a time zone (e.g. +08:00), "
            "got datetime.datetime(2025, 9, 26, 0, 0)",
        ),
        (
            lambda: LicencesLookedUp(at=NOW, failure=""),
            "invalid LicencesLookedUp: failure: expected a non-empty failure text, got ''",
        ),
        (
            lambda: Accepted(
                at=NOW,
                accepted_on=GAOYOU_DAY,
                promised_due=D(2025, 9, 25),
                statutory_due=D(2025, 10, 30),
            ),
            "invalid Accepted: promised_due: 2025-09-25 is before the acceptance day 2025-09-26",
        ),
        (
            lambda: Accepted(
                at=NOW,
                accepted_on=GAOYOU_DAY,
                promised_due=D(2025, 10, 30),
                statutory_due=D(2025, 10, 10),
            ),
            "invalid Accepted: statutory_due: 2025-10-10 is before the promised due date "
            "2025-10-30",
        ),
        (
            lambda: Accepted(
                at=NOW, accepted_on=NOW, promised_due=GAOYOU_DAY, statutory_due=GAOYOU_DAY
            ),
            "invalid Accepted: accepted_on: expected a date, got datetime.datetime(2025, 9, 26, "
            "9, 0, tzinfo=datetime.timezone(datetime.timedelta(seconds=28800)))",
        ),
        (
            lambda: MaterialSupplied(
                at=NOW, code="M", supplied_on=D(2025, 10, 11), due=D(2025, 10, 10), on_time=True
            ),
            "invalid MaterialSupplied: on_time: supplied 2025-10-11 against due 2025-10-10: "
            "expected false",
        ),
        (
            lambda: MaterialSupplied(at=NOW, code="M", supplied_on=GAOYOU_DAY, on_time=False),
            "invalid MaterialSupplied: on_time: supplied 2025-09-26 against due nothing: "
            "expected true",
        ),
        (
            lambda: ClockPaused(at=NOW, paused_on=GAOYOU_DAY, reason=PauseReason.HEARING, note=""),
            "invalid ClockPaused: note: expected a non-empty note, got ''",
        ),
        (
            lambda: ClockResumed(
                at=NOW,
                resumed_on=GAOYOU_DAY,
                working_days=-1,
                promised_due=GAOYOU_DAY,
                statutory_due=GAOYOU_DAY,
            ),
            "invalid ClockResumed: working_days: expected 0 or more, got -1",
        ),
        (
            lambda: ClockResumed(
                at=NOW,
                resumed_on=GAOYOU_DAY,
                working_days=True,
                promised_due=GAOYOU_DAY,
                statutory_due=GAOYOU_DAY,
            ),
            "invalid ClockResumed: working_days: expected an integer, got True",
        ),
        (
            lambda: Suspended(at=NOW, suspended_on=GAOYOU_DAY, overdue=(), grace_ends=GAOYOU_DAY),
            "invalid Suspended: overdue: expected at least one overdue material",
        ),
        (
            lambda: Resumed(at=NOW, resumed_on=None),  # type: ignore[arg-type]
            "invalid Resumed: resumed_on: expected a date, got None",
        ),
        (
            lambda: LicenceIssued(
                at=NOW, reference="XK-1", issued_on=GAOYOU_DAY, valid_until=D(2025, 9, 1)
            ),
            "invalid LicenceIssued: valid_until: 2025-09-01 is before the issue day 2025-09-26",
        ),
        (
            lambda: LicenceIssued(at=NOW, reference="", issued_on=GAOYOU_DAY),
            "invalid LicenceIssued: reference: expected a non-empty licence number, got ''",
        ),
        (
            lambda: Withdrawn(at=NOW, reason=""),
            "invalid Withdrawn: reason: expected a non-empty reason, got ''",
        ),
        (
            lambda: Returned(at=NOW, reason=""),
            "invalid Returned: reason: expected a non-empty reason, got ''",
        ),
    ],
    ids=lambda value: None if callable(value) else value.split(":")[0],
)
def test_event_invariants(build: object, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        build()  # type: ignore[operator]
    assert str(caught.value) == message


def test_route_events_need_a_plan_for_the_decision() -> None:
    standard = gaoyou("C")
    conditional = gaoyou("B")
    assert standard.decision is not None
    assert conditional.plan is not None
    with pytest.raises(InvalidValue) as caught:
        RouteDecided(at=NOW, decision=standard.decision, plan=conditional.plan)
    assert str(caught.value) == (
        "invalid RouteDecided: plan.route: the plan is for the CONDITIONAL route, the "
        "decision for STANDARD"
    )
    assert conditional.decision is not None
    with pytest.raises(InvalidValue) as caught:
        RouteChosen(at=NOW, decision=conditional.decision, plan=conditional.plan)
    assert str(caught.value) == (
        "invalid RouteChosen: decision.route: the applicant can only choose the standard "
        "route, got CONDITIONAL"
    )
    jiangdu_plan = attrs.evolve(conditional.plan, item_code=JIANGDU)
    with pytest.raises(InvalidValue) as caught:
        RouteDecided(at=NOW, decision=conditional.decision, plan=jiangdu_plan)
    assert str(caught.value) == (
        "invalid RouteDecided: plan.item_code: the plan is for item '321012-TZXMBA', the "
        "decision for '321084-GGCSWSXK'"
    )


# --- properties -------------------------------------------------------------------------------

_CITY = Policy.national().overlay(
    Policy.from_dict(
        {
            "policy": {"name": "测试城市政策", "version": "1"},
            "grade_scale": [{"from": D(2021, 1, 1), "value": "yangzhou-a-e"}],
            "conditional_threshold": [{"from": D(2021, 1, 1), "value": "B"}],
            "major_project_levels": [{"from": D(2021, 1, 1), "value": ["municipal"]}],
            "commitment_items": [{"from": D(2021, 1, 1), "value": "all"}],
        },
        source="<test city>",
    )
)
STEPS = (
    "accept",
    "choose_standard",
    "issue",
    "pause_clock",
    "refuse",
    "resume_clock",
    "sign_commitment",
    "supply_material",
    "tick",
    "withdraw",
)
# "advance" does the next sensible thing (see _advance); the rest are tried as they come,
# legal or not. Withdrawal and refusal are rare, so that cases get somewhere.
WEIGHTED = (*STEPS, *("advance",) * 24, *("tick",) * 6, "pause_clock", "resume_clock")
# The state each event leads to; the other events leave the state as it was.
TARGET = {
    RouteDecided: CaseState.DECIDED,
    RouteChosen: CaseState.DECIDED,
    CommitmentSigned: CaseState.COMMITTED,
    Accepted: CaseState.ACCEPTED,
    Suspended: CaseState.SUSPENDED,
    Resumed: CaseState.ACCEPTED,
    LicenceIssued: CaseState.ISSUED,
    Refused: CaseState.REFUSED,
    Withdrawn: CaseState.WITHDRAWN,
    Returned: CaseState.RETURNED,
}


# Mostly commitment modes and domains the national policy does not exclude, so that
# commitment routes occur; the first choices are the ones Hypothesis favours.
_DOMAINS = st.sampled_from([frozenset(), frozenset({"transport"}), frozenset({"public-safety"})])
_MODES = st.sampled_from(
    [CommitmentMode.NOTIFY_AND_COMMIT, CommitmentMode.DEFERRED_ONLY, CommitmentMode.NONE]
)
# Drawn items, and the Gaoyou permit (with deferrable materials) decided on the spot or not.
_ITEMS = approval_items(domains=_DOMAINS, mode=_MODES)


@attrs.frozen
class Scenario:
    item: ApprovalItem
    day: dt.date
    credit: CreditEvidence | CreditLookupFailure | None
    project: ProjectFacts
    provided: tuple[str, ...]
    holdings: tuple[LicenceHolding, ...]
    licence_failure: str | None
    choose_standard: bool
    #: (action, which material to supply, days until the next step)
    steps: tuple[tuple[str, int, int], ...]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A submission and 6 to 16 attempted actions, legal or not, days apart."""
    item = draw(st.sampled_from([GAOYOU_LATER, GAOYOU_ITEM]) | _ITEMS)
    day = draw(st.dates(max(D(2021, 1, 4), item.valid_from), D(2025, 10, 31)))
    shape = draw(st.sampled_from(["B", "A", "C", "none", "E", "failure"]))
    credit: CreditEvidence | CreditLookupFailure | None
    if shape == "none":
        credit = None
    elif shape == "failure":
        credit = CreditLookupFailure(
            subject=HOTEL.identifier, source=SOURCE, attempted_at=at(day), reason="timeout"
        )
    else:
        credit = evidence(HOTEL, day, shape)
    codes = [m.code for m in item.materials]
    failure = draw(st.none() | st.just("licence store unavailable"))
    return Scenario(
        item=item,
        day=day,
        credit=credit,
        project=ProjectFacts(draw(st.sampled_from([None, ProjectLevel.MUNICIPAL]))),
        provided=tuple(draw(st.lists(st.sampled_from(codes), unique=True))),
        holdings=() if failure else tuple(draw(licence_holdings())),
        licence_failure=failure,
        choose_standard=draw(st.integers(0, 9)) == 9,
        steps=tuple(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(WEIGHTED), st.integers(0, 19), st.integers(0, 9)),
                    min_size=6,
                    max_size=16,
                )
            )
        ),
    )


def _pick(case: Case, item: ApprovalItem, pick: int) -> str:
    """Mostly a material still owed, so that cases get somewhere; now and then any."""
    owed = [] if case.plan is None else [line.code for line in case.plan.missing]
    owed += [line.code for line in case.outstanding]
    if owed and pick < 18:
        return owed[pick % len(owed)]
    return item.materials[pick % len(item.materials)].code


def _advance(case: Case, pick: int) -> str:
    """The action that moves ``case`` on: sign, supply, accept, issue (or wait)."""
    if case.plan is None or case.route is None:
        return "tick"
    if case.state is CaseState.DECIDED and case.route.is_commitment and pick % 3:
        return "sign_commitment"
    accepted = case.state in (CaseState.ACCEPTED, CaseState.SUSPENDED, CaseState.ISSUED)
    if case.plan.missing or (accepted and case.outstanding and pick % 3 == 0):
        return "supply_material"
    if case.state in (CaseState.DECIDED, CaseState.COMMITTED):
        return "accept"
    return "issue" if case.state is CaseState.ACCEPTED and pick % 6 == 0 else "tick"


def _step(
    case: Case, name: str, code: str, item: ApprovalItem, now: dt.datetime
) -> tuple[CaseEvent, ...]:
    if name == "choose_standard":
        return choose_standard(case, item, _CITY, CALENDAR, now)
    if name == "sign_commitment":
        if case.state is CaseState.DECIDED and case.route is not None and case.route.is_commitment:
            return sign_commitment(case, signed_letter(case, item, now), now)
        return ()
    if name == "accept":
        return accept(case, item, CALENDAR, now)
    if name == "issue":
        return issue(case, now)
    if name == "refuse":
        return refuse(case, "不符合法定条件", now)
    if name == "supply_material":
        return supply_material(case, code, now)
    if name == "pause_clock":
        return pause_clock(case, PauseReason.APPRAISAL, now)
    if name == "resume_clock":
        return resume_clock(case, now, CALENDAR)
    if name == "withdraw":
        return withdraw(case, now)
    return due(case, now, CALENDAR)


def play(scenario: Scenario) -> list[Case]:
    """Every case the scenario passes through, one per event, checking invariants."""
    now = at(scenario.day)
    events = submit(
        case_id="P-1",
        city="321084",
        item=scenario.item,
        applicant=HOTEL,
        credit=scenario.credit,
        policy=_CITY,
        calendar=CALENDAR,
        now=now,
        project=scenario.project,
        provided=scenario.provided,
        licences=scenario.holdings,
        licence_failure=scenario.licence_failure,
        choose_standard=scenario.choose_standard,
    )
    case = Case.from_events(events[:1])
    seen = [case]
    pending = list(events[1:])
    for n, (drawn, pick, gap) in enumerate((("", 0, 0), *scenario.steps)):
        if n:
            now += dt.timedelta(days=gap, minutes=1)
            name = _advance(case, pick) if drawn == "advance" else drawn
            code = _pick(case, scenario.item, pick)
            refused = None
            try:
                pending = list(_step(case, name, code, scenario.item, now))
            except IllegalTransition as exc:
                refused = exc
            if refused is not None:
                assert (refused.case_id, refused.state) == ("P-1", case.state.name)
                assert refused.action == name
                continue
        for event in pending:
            before = case
            case = case.apply(event)
            assert case.state is TARGET.get(type(event), before.state)
            if isinstance(event, LicenceIssued):
                assert any(isinstance(e, Accepted) for e in before.history)
            if case.state is CaseState.ISSUED and case.route is Route.STANDARD:
                assert case.plan is not None
                assert not case.plan.missing
                assert not case.outstanding
            seen.append(case)
    return seen


@given(scenarios())
def test_random_actions_keep_the_case_consistent(scenario: Scenario) -> None:
    seen = play(scenario)
    last = seen[-1]
    assert last.version == len(seen)
    assert [c.history for c in seen] == [last.history[: k + 1] for k in range(len(seen))]
    if last.licence is not None:
        assert last.acceptance is not None
        assert last.licence.issued_on >= last.acceptance.accepted_on


@given(scenarios(), st.data())
def test_folding_is_deterministic_and_incremental(scenario: Scenario, data: st.DataObject) -> None:
    history = play(scenario)[-1].history
    whole = Case.from_events(history)
    assert whole == Case.from_events(list(history))
    k = data.draw(st.integers(1, len(history)), label="k")
    assert fold(Case.from_events(history[:k]), history[k:]) == whole


@given(scenarios())
def test_a_refused_action_leaves_the_case_untouched(scenario: Scenario) -> None:
    case = play(scenario)[-1]
    frozen = Case.from_events(case.history)
    for name in STEPS:
        with contextlib.suppress(IllegalTransition):
            _step(case, name, case.submission.item_code, scenario.item, at(D(2026, 1, 5)))
    assert case == frozen
