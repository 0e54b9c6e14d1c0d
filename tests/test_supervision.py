"""Tests for supervision after the licence: obligations, the revocation rules, the revocation
procedure in creditcommit.case, and the credit record feeding back into the next decision.

The flows run on Gaoyou's public-place health permit from tests/test_case.py: issued at
acceptance on 2025-09-26 (先证后核), an on-site verification due 20 working days later, three
deferred materials due 2025-10-10. The city rules come from the Yangzhou sample and from the
Beijing-like and Shanghai-like corpus files in tests/data/policy.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit._codec import EVENT_TYPES, event_from_record, event_to_record
from creditcommit.case import (
    ACTIONS,
    Case,
    CaseEvent,
    CaseState,
    Closed,
    CreditRecordCreated,
    DeferredMaterialOverdue,
    HearingHeld,
    MaterialSupplied,
    RectificationFailed,
    RectificationMet,
    RectificationOrdered,
    RevocationProposed,
    RevocationRefused,
    Revoked,
    StatementReceived,
    VerificationRecorded,
    accept,
    decide_revocation,
    due,
    hold_hearing,
    issue,
    receive_statement,
    record_verification,
    rectification_result,
    supply_material,
)
from creditcommit.catalog import ApprovalItem, Verification, VerificationMethod
from creditcommit.credit import (
    DEFAULT_PUBLICITY_MONTHS,
    CreditEvidence,
    CreditRecord,
    CreditRecordKind,
    PublicityPeriod,
    Severity,
    add_months,
)
from creditcommit.decision import Route
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    DataFileError,
    DecisionMismatch,
    IllegalTransition,
    InvalidValue,
    ReapplicationBarred,
)
from creditcommit.policy import Policy, PolicySnapshot, decide
from creditcommit.supervision import (
    ART_69_PARA_1_4,
    ART_69_PARA_2,
    ART_69_PARA_3,
    InspectionRatios,
    Obligation,
    ObligationKind,
    OutcomeRule,
    SupervisionAction,
    VerificationOutcome,
    obligations,
)
from test_case import (
    CALENDAR,
    CATALOG,
    DEFERRED,
    GAOYOU_DAY,
    GAOYOU_ITEM,
    HOTEL,
    JIANGDU,
    POLICY,
    SOURCE,
    accepted_standard,
    at,
    committed,
    fold,
    issued,
)

D = dt.date
CORPUS = Path(__file__).parent / "data" / "policy"
BEIJING = Policy.load(CORPUS / "ok_beijing_like.toml")
SHANGHAI = Policy.load(CORPUS / "ok_shanghai_like.toml")
BEIJING_33 = LegalReference("北京市优化营商环境条例（2024年修订）", "第三十三条")
INSPECTORS = ("张三", "李四")
U = VerificationOutcome.UNFULFILLED
F = VerificationOutcome.FALSE_COMMITMENT
OK = VerificationOutcome.FULFILLED
NEW_EVENTS = {
    VerificationRecorded,
    DeferredMaterialOverdue,
    RectificationOrdered,
    RectificationMet,
    RectificationFailed,
    RevocationProposed,
    StatementReceived,
    HearingHeld,
    Revoked,
    RevocationRefused,
    CreditRecordCreated,
    Closed,
}


def verify(
    case: Case,
    outcome: VerificationOutcome,
    day: dt.date,
    policy: Policy = POLICY,
    *,
    item: ApprovalItem = GAOYOU_ITEM,
    method: VerificationMethod | None = None,
) -> tuple[CaseEvent, ...]:
    return record_verification(
        case,
        item,
        INSPECTORS,
        "现场核查记录",
        outcome,
        policy=policy,
        calendar=CALENDAR,
        now=at(day),
        method=method,
    )


def clean() -> Case:
    """Gaoyou's permit issued, every deferred material supplied on 2025-09-29."""
    case = issued()
    for n, code in enumerate(DEFERRED):
        case = fold(case, supply_material(case, code, at(D(2025, 9, 29), 9, n)))
    return case


FIRST_FINDING = D(2025, 9, 30)


def proposed(policy: Policy = POLICY, day: dt.date = FIRST_FINDING) -> Case:
    """A false commitment found on ``day``: revocation proposed at once (national default)."""
    case = clean()
    return fold(case, verify(case, F, day, policy))


def message(action: Callable[[], object]) -> str:
    with pytest.raises(IllegalTransition) as caught:
        action()
    return str(caught.value)


def evidence(day: dt.date, *records: CreditRecord, grade: str = "B") -> CreditEvidence:
    return CreditEvidence.create(
        subject=HOTEL.identifier,
        source=SOURCE,
        retrieved_at=at(day, 8),
        scale="yangzhou-a-e",
        grade=grade,
        records=records,
    )


# --- the rules per city -------------------------------------------------------------------------


def test_the_national_and_yangzhou_rules() -> None:
    national = Policy.national().timeline("revocation_rules").at(D(2021, 1, 1))
    sample = POLICY.at(GAOYOU_DAY, place="321084").revocation_rules
    for rules in (national, sample):
        assert rules.rectification_working_days == 10
        assert rules.public_interest_exception
        assert rules.action(OK) is SupervisionAction.CLOSE
        assert rules.action(U) is SupervisionAction.RECTIFY
        assert rules.action(F) is SupervisionAction.PROPOSE_REVOCATION
        assert rules.action(VerificationOutcome.DEFERRED_OVERDUE) is SupervisionAction.RECTIFY
        # 撤销 is not 吊销: no national instrument makes the record serious (general).
        assert rules.false_commitment == OutcomeRule(
            SupervisionAction.PROPOSE_REVOCATION,
            CreditRecordKind.FALSE_COMMITMENT,
            Severity.GENERAL,
        )
        assert rules.unfulfilled.record_kind is CreditRecordKind.COMMITMENT_BREACH
        assert rules.unfulfilled.record_severity is Severity.GENERAL
    reference = POLICY.at(GAOYOU_DAY, place="321084").references["revocation_rules"]
    assert reference is not None
    assert "高协调办〔2022〕11号" in reference.instrument


@pytest.mark.parametrize(
    ("policy", "outcome", "first", "deadline"),
    [
        # Beijing 2024 Art 33: unfulfilled → rectify; false → revoke directly.
        (BEIJING, U, RectificationOrdered, D(2025, 11, 3)),
        (BEIJING, F, RevocationProposed, None),
        # Shanghai 2024 Arts 27, 29: rectification first; a false commitment is still
        # proposed for revocation at once (行政许可法 Art 69 para 2 cannot be weakened).
        (SHANGHAI, U, RectificationOrdered, D(2025, 11, 10)),
        (SHANGHAI, F, RevocationProposed, None),
        (POLICY, U, RectificationOrdered, D(2025, 11, 3)),
        (POLICY, F, RevocationProposed, None),
    ],
    ids=[
        "beijing-unfulfilled",
        "beijing-false",
        "shanghai-unfulfilled",
        "shanghai-false",
        "yangzhou-unfulfilled",
        "yangzhou-false",
    ],
)
def test_the_first_action_per_city(
    policy: Policy, outcome: VerificationOutcome, first: type, deadline: dt.date | None
) -> None:
    recorded, then = verify(clean(), outcome, D(2025, 10, 20), policy)
    assert isinstance(recorded, VerificationRecorded)
    assert recorded.outcome is outcome
    assert type(then) is first
    if isinstance(then, RectificationOrdered):
        # 10 working days (15 in the Shanghai-like file) after the verification day.
        assert then.deadline == deadline
        # The rules of the item's place (Gaoyou's plan in the sample).
        here = policy.at(D(2025, 10, 20), place="321084")
        assert then.reference == here.references["revocation_rules"]
        assert then.materials == ()


def test_a_beijing_false_commitment_cites_art_69_para_2_and_art_33() -> None:
    _, proposal = verify(clean(), F, D(2025, 10, 20), BEIJING)
    assert isinstance(proposal, RevocationProposed)
    assert proposal.legal_basis == (ART_69_PARA_2, BEIJING_33)
    assert "虚假承诺" in proposal.grounds
    assert (proposal.record_kind, proposal.record_severity) == (
        CreditRecordKind.FALSE_COMMITMENT,
        Severity.SERIOUS,
    )
    assert proposal.hearing_right


def test_the_shanghai_sequence_revokes_only_after_a_failed_rectification() -> None:
    case = clean()
    case = fold(case, verify(case, U, D(2025, 10, 20), SHANGHAI))
    assert case.state is CaseState.RECTIFYING
    assert due(case, at(D(2025, 11, 10), 23), CALENDAR, policy=SHANGHAI) == ()
    failed, proposal = due(case, at(D(2025, 11, 11)), CALENDAR, policy=SHANGHAI)
    assert isinstance(failed, RectificationFailed)
    assert failed.deadline == D(2025, 11, 10)
    assert isinstance(proposal, RevocationProposed)
    assert proposal.outcome is U
    assert proposal.legal_basis[0] == ART_69_PARA_1_4
    assert "经责令限期整改后仍未达到条件" in proposal.grounds
    assert proposal.facts.startswith("现场核查记录；整改期限2025-11-10届满")


# --- verification and closing -------------------------------------------------------------------


def test_a_fulfilled_commitment_with_nothing_owed_closes_the_case() -> None:
    case = clean()
    recorded, closed = verify(case, OK, D(2025, 10, 20))
    assert closed == Closed(at=at(D(2025, 10, 20)), closed_on=D(2025, 10, 20))
    case = fold(case, (recorded, closed))
    assert case.state is CaseState.CLOSED
    assert case.verification_met
    assert case.closed == closed


def test_a_fulfilled_commitment_with_materials_owed_closes_at_the_tick_after_the_last() -> None:
    case = issued()
    (recorded,) = verify(case, OK, D(2025, 10, 9))
    case = case.apply(recorded)
    assert case.state is CaseState.ISSUED
    assert due(case, at(D(2025, 10, 9), 12), CALENDAR, policy=POLICY) == ()
    for code in DEFERRED:
        (supplied,) = supply_material(case, code, at(D(2025, 10, 10)))
        case = case.apply(supplied)
    assert due(case, at(D(2025, 10, 13)), CALENDAR, policy=POLICY) == (
        Closed(at=at(D(2025, 10, 13)), closed_on=D(2025, 10, 13)),
    )


def test_the_inspectors_of_an_on_site_check() -> None:
    case = clean()
    with pytest.raises(InvalidValue) as caught:
        record_verification(
            case,
            GAOYOU_ITEM,
            ["张三"],
            "现场核查记录",
            OK,
            policy=POLICY,
            calendar=CALENDAR,
            now=at(D(2025, 10, 20)),
        )
    assert str(caught.value) == (
        "invalid VerificationRecorded: inspectors: an on-site check needs two or more "
        "inspectors (行政许可法 Art 34 para 3), got 1"
    )
    # One inspector is enough for a written check.
    (recorded, _) = record_verification(
        case,
        GAOYOU_ITEM,
        ["张三"],
        "书面核查",
        OK,
        policy=POLICY,
        calendar=CALENDAR,
        now=at(D(2025, 10, 20)),
        method=VerificationMethod.WRITTEN,
    )
    assert isinstance(recorded, VerificationRecorded)
    assert recorded.method is VerificationMethod.WRITTEN


EXEMPT_ITEM = attrs.evolve(GAOYOU_ITEM, verification=Verification(VerificationMethod.EXEMPT))


def exempt_issued() -> Case:
    case = committed(EXEMPT_ITEM)
    return fold(case, accept(case, EXEMPT_ITEM, CALENDAR, at(GAOYOU_DAY, 11)))


def test_an_exempt_item_closes_when_the_materials_are_in_and_can_still_be_checked() -> None:
    case = exempt_issued()
    assert case.verification_exempt
    first, *materials = obligations(case, EXEMPT_ITEM, CALENDAR)
    assert first == Obligation(
        kind=ObligationKind.VERIFICATION, due=None, method=VerificationMethod.EXEMPT
    )
    assert first.exempt
    assert not first.is_open
    assert [o.code for o in materials] == list(DEFERRED)
    for code in DEFERRED:
        case = fold(case, supply_material(case, code, at(D(2025, 9, 29))))
    (closed,) = due(case, at(D(2025, 9, 30)), CALENDAR, policy=POLICY)
    case = case.apply(closed)
    assert case.state is CaseState.CLOSED
    # A false commitment found later (a 双随机 inspection) reopens supervision; the check
    # names the method used.
    with pytest.raises(InvalidValue, match="an exempt item's later check must name the method"):
        verify(case, F, D(2026, 3, 2), item=EXEMPT_ITEM)
    recorded, proposal = verify(
        case, F, D(2026, 3, 2), item=EXEMPT_ITEM, method=VerificationMethod.ON_SITE
    )
    assert isinstance(proposal, RevocationProposed)
    assert case.apply(recorded, proposal).state is CaseState.REVOCATION_PROPOSED


# --- deferred materials after the licence ------------------------------------------------------


def test_the_tick_reports_overdue_materials_and_orders_rectification() -> None:
    case = issued()
    # Without a policy the tick leaves a licensed case alone, as before.
    assert due(case, at(D(2025, 10, 11)), CALENDAR) == ()
    assert due(case, at(D(2025, 10, 10), 23), CALENDAR, policy=POLICY) == ()
    overdue, order = due(case, at(D(2025, 10, 11)), CALENDAR, policy=POLICY)
    assert overdue == DeferredMaterialOverdue(
        at=at(D(2025, 10, 11)), overdue_on=D(2025, 10, 11), materials=DEFERRED, due=D(2025, 10, 10)
    )
    assert isinstance(order, RectificationOrdered)
    assert order.outcome is VerificationOutcome.DEFERRED_OVERDUE
    assert order.materials == DEFERRED
    assert order.deadline == D(2025, 10, 24)  # 10 working days; 10-11 is a make-up Saturday
    case = fold(case, (overdue, order))
    assert case.state is CaseState.RECTIFYING
    assert case.overdue_materials == DEFERRED
    assert due(case, at(D(2025, 10, 13)), CALENDAR, policy=POLICY) == ()
    # Supplying the last material by the deadline meets the rectification.
    case = fold(case, supply_material(case, DEFERRED[0], at(D(2025, 10, 14))))
    case = fold(case, supply_material(case, DEFERRED[1], at(D(2025, 10, 15))))
    assert case.state is CaseState.RECTIFYING
    events = supply_material(case, DEFERRED[2], at(D(2025, 10, 16)))
    assert [type(e) for e in events] == [MaterialSupplied, RectificationMet]
    met = events[1]
    assert isinstance(met, RectificationMet)
    assert met.met_on == D(2025, 10, 16)
    case = fold(case, events)
    # Back to ISSUED, not closed: the commitment itself is still to be verified.
    assert case.state is CaseState.ISSUED
    assert [o.outcome for o in obligations(case, GAOYOU_ITEM, CALENDAR)] == [None, OK, OK, OK]
    _, closed = verify(case, OK, D(2025, 10, 20))
    assert isinstance(closed, Closed)


def test_materials_still_missing_at_the_deadline_lead_to_a_proposal() -> None:
    case = issued()
    case = fold(case, due(case, at(D(2025, 10, 11)), CALENDAR, policy=POLICY))
    case = fold(case, supply_material(case, DEFERRED[0], at(D(2025, 10, 14))))
    # A material arriving after the deadline does not meet the order.
    case = fold(case, supply_material(case, DEFERRED[1], at(D(2025, 10, 27))))
    failed, proposal = due(case, at(D(2025, 10, 27), 18), CALENDAR, policy=POLICY)
    assert isinstance(failed, RectificationFailed)
    assert DEFERRED[1] in failed.findings
    assert DEFERRED[2] in failed.findings
    assert DEFERRED[0] not in failed.findings
    assert isinstance(proposal, RevocationProposed)
    assert proposal.outcome is VerificationOutcome.DEFERRED_OVERDUE
    assert proposal.legal_basis[0] == ART_69_PARA_1_4
    assert "容缺材料逾期未补齐" in proposal.grounds
    assert proposal.statement_due == CALENDAR.add_working_days(D(2025, 10, 27), 5)
    case = fold(case, (failed, proposal))
    assert case.state is CaseState.REVOCATION_PROPOSED
    # The tick never decides a revocation.
    assert due(case, at(D(2026, 1, 5)), CALENDAR, policy=POLICY) == ()


def test_an_unfulfilled_commitment_rectified_closes_the_case() -> None:
    case = clean()
    case = fold(case, verify(case, U, D(2025, 10, 20)))
    assert case.state is CaseState.RECTIFYING
    (met, closed) = rectification_result(
        case, True, at(D(2025, 10, 30)), policy=POLICY, calendar=CALENDAR, findings="已整改"
    )
    assert met == RectificationMet(
        at=at(D(2025, 10, 30)), met_on=D(2025, 10, 30), findings="已整改"
    )
    case = fold(case, (met, closed))
    assert case.state is CaseState.CLOSED
    assert [o.outcome for o in obligations(case, GAOYOU_ITEM, CALENDAR)] == [OK] * 4


def test_a_material_falling_overdue_during_a_rectification_is_taken_up_after_it() -> None:
    case = issued()
    case = fold(case, verify(case, U, D(2025, 10, 9)))
    assert case.rectification is not None
    assert case.rectification.deadline == D(2025, 10, 22)  # 10-11 is a make-up Saturday
    # The materials fall due on 10-10 while the order runs: one matter at a time.
    assert due(case, at(D(2025, 10, 13)), CALENDAR, policy=POLICY) == ()
    case = fold(
        case,
        rectification_result(case, True, at(D(2025, 10, 15)), policy=POLICY, calendar=CALENDAR),
    )
    # Rectified, but the materials are still owed: not closed.
    assert case.state is CaseState.ISSUED
    overdue, order = due(case, at(D(2025, 10, 16)), CALENDAR, policy=POLICY)
    assert isinstance(overdue, DeferredMaterialOverdue)
    assert overdue.materials == DEFERRED
    assert isinstance(order, RectificationOrdered)
    assert order.outcome is VerificationOutcome.DEFERRED_OVERDUE


# --- rectification results ----------------------------------------------------------------------


def rectifying() -> Case:
    case = clean()
    return fold(case, verify(case, U, D(2025, 10, 20)))


def test_rectification_failed_is_recorded_only_after_the_deadline() -> None:
    case = rectifying()
    err = message(
        lambda: rectification_result(
            case, False, at(D(2025, 11, 3)), policy=POLICY, calendar=CALENDAR
        )
    )
    assert err == (
        "case GY-1: cannot rectification_result in state RECTIFYING: the rectification "
        "deadline 2025-11-03 has not passed"
    )
    failed, proposal = rectification_result(
        case, False, at(D(2025, 11, 4)), policy=POLICY, calendar=CALENDAR, findings="复查未整改"
    )
    assert isinstance(failed, RectificationFailed)
    assert failed.findings == "复查未整改"
    assert isinstance(proposal, RevocationProposed)
    assert proposal.outcome is U
    assert proposal.legal_basis[0] == ART_69_PARA_1_4
    assert proposal.record_kind is CreditRecordKind.COMMITMENT_BREACH
    assert proposal.statement_due == D(2025, 11, 11)


def test_a_rectification_for_materials_is_not_met_while_they_are_owed() -> None:
    case = issued()
    case = fold(case, due(case, at(D(2025, 10, 11)), CALENDAR, policy=POLICY))
    err = message(
        lambda: rectification_result(
            case, True, at(D(2025, 10, 13)), policy=POLICY, calendar=CALENDAR
        )
    )
    assert err == (
        "case GY-1: cannot rectification_result in state RECTIFYING: materials still owed: "
        "GGCSWSXK-04, GGCSWSXK-06, GGCSWSXK-07"
    )


def test_a_failed_rectification_is_final() -> None:
    case = rectifying()
    failed = RectificationFailed(
        at=at(D(2025, 11, 4)), failed_on=D(2025, 11, 4), deadline=D(2025, 11, 3), findings="未整改"
    )
    case = case.apply(failed)
    # Until its proposal is appended, neither the officer nor the tick can change it.
    err = message(
        lambda: rectification_result(
            case, True, at(D(2025, 11, 5)), policy=POLICY, calendar=CALENDAR
        )
    )
    assert err.endswith("the rectification already failed on 2025-11-04")
    assert due(case, at(D(2025, 11, 5)), CALENDAR, policy=POLICY) == ()
    with pytest.raises(IllegalTransition, match="the order's deadline is 2025-11-03"):
        rectifying().apply(attrs.evolve(failed, deadline=D(2025, 11, 2)))


def test_no_proposal_while_a_rectification_runs() -> None:
    case = rectifying()
    proposal = RevocationProposed(
        at=at(D(2025, 10, 21)),
        proposed_on=D(2025, 10, 21),
        outcome=U,
        facts="事实",
        grounds="理由",
        legal_basis=(ART_69_PARA_1_4,),
        statement_due=D(2025, 10, 28),
        record_kind=CreditRecordKind.COMMITMENT_BREACH,
        record_severity=Severity.SERIOUS,
    )
    with pytest.raises(IllegalTransition) as caught:
        case.apply(proposal)
    assert caught.value.detail == (
        "the rectification order runs until 2025-11-03: no proposal before it fails"
    )


# --- the revocation procedure -------------------------------------------------------------------


def test_the_statement_window_is_counted_in_working_days() -> None:
    case = proposed(day=D(2025, 9, 30))
    assert case.proposal is not None
    # 5 working days after 09-30: the National Day break is not counted; 10-11 is a
    # make-up Saturday.
    assert case.proposal.statement_due == D(2025, 10, 14)
    err = message(lambda: decide_revocation(case, at(D(2025, 10, 14), 23), policy=POLICY))
    assert err == (
        "case GY-1: cannot decide_revocation in state REVOCATION_PROPOSED: no statement was "
        "received and the statement window runs until 2025-10-14"
    )
    revoked, created = decide_revocation(case, at(D(2025, 10, 15)), policy=POLICY)
    assert isinstance(revoked, Revoked)
    assert revoked.unanswered
    assert revoked.statement_due == D(2025, 10, 14)
    assert revoked.legal_basis[0] == ART_69_PARA_2
    assert isinstance(created, CreditRecordCreated)


def test_a_revocation_leaves_the_record_the_proposal_announced() -> None:
    case = proposed()
    revoked, created = decide_revocation(
        case, at(D(2025, 10, 15)), policy=POLICY, authority="高邮市行政审批局"
    )
    assert isinstance(created, CreditRecordCreated)
    record = created.record
    assert record == CreditRecord.with_default_periods(
        record_id="GY-1-revoked",
        subject=HOTEL.identifier,
        kind=CreditRecordKind.FALSE_COMMITMENT,
        severity=Severity.GENERAL,
        decided_on=D(2025, 10, 15),
        authority="高邮市行政审批局",
        legal_basis=(
            "中华人民共和国行政许可法 第六十九条第二款；高邮市“信用+承诺”审批分级创新试点应用"
            "工作实施方案（高协调办〔2022〕11号） 对因未履行承诺而被撤销行政许可决定的企业，记录"
            "其失信行为，纳入市场主体诚信档案"
        ),
        description=f"撤销行政许可XK-GY-1：{case.proposal.grounds}",  # type: ignore[union-attr]
        item_code=case.item_code,
    )
    # General (撤销 is not 吊销) under NDRC Order No. 58, in force on 2025-10-15: repair from
    # 3 months, publicity ends after 12.
    assert record.item_code == "321084-GGCSWSXK"
    assert (record.repairable_from, record.publicity_ends_on) == (D(2026, 1, 15), D(2026, 10, 15))
    assert "国家发展改革委令第58号" in str(record.publicity_basis)
    case = fold(case, (revoked, created))
    assert case.state is CaseState.REVOKED
    assert case.credit_record == record
    # Periods of other rules, and a record id of the city's own.
    other = {**DEFAULT_PUBLICITY_MONTHS, Severity.GENERAL: PublicityPeriod(6, 24)}
    _, created = decide_revocation(
        proposed(), at(D(2025, 10, 15)), policy=POLICY, periods=other, record_id="YZ-1"
    )
    assert isinstance(created, CreditRecordCreated)
    assert (created.record.record_id, created.record.min_publicity_months) == ("YZ-1", 6)


def test_a_statement_lets_the_officer_decide_before_the_window_ends() -> None:
    case = proposed()
    case = fold(case, receive_statement(case, "承诺内容属实，请求复核", at(D(2025, 10, 9))))
    revoked, _ = decide_revocation(case, at(D(2025, 10, 10)), policy=POLICY)
    assert isinstance(revoked, Revoked)
    assert revoked.statements == ("承诺内容属实，请求复核",)
    assert revoked.hearing is None
    assert not revoked.unanswered


def test_a_requested_hearing_must_be_held_before_the_decision() -> None:
    case = proposed()
    case = fold(
        case, receive_statement(case, "申请听证", at(D(2025, 10, 9)), hearing_requested=True)
    )
    assert case.hearing_request is not None
    err = message(lambda: decide_revocation(case, at(D(2025, 10, 20)), policy=POLICY))
    assert err == (
        "case GY-1: cannot decide_revocation in state REVOCATION_PROPOSED: a hearing was "
        "requested on 2025-10-09 and has not been held"
    )
    (held,) = hold_hearing(case, "听证会记录：当事人陈述意见", at(D(2025, 10, 20)))
    case = case.apply(held)
    revoked, created = decide_revocation(case, at(D(2025, 10, 21)), policy=POLICY)
    assert isinstance(revoked, Revoked)
    assert revoked.hearing == "听证会记录：当事人陈述意见"
    assert isinstance(created, CreditRecordCreated)


def test_hearing_requests_within_the_window_and_once() -> None:
    case = proposed()
    late = message(
        lambda: receive_statement(case, "申请听证", at(D(2025, 10, 15)), hearing_requested=True)
    )
    assert late == (
        "case GY-1: cannot receive_statement in state REVOCATION_PROPOSED: the statement "
        "window ended on 2025-10-14: a hearing can no longer be requested"
    )
    # A late statement without a request is still heard.
    (statement,) = receive_statement(case, "补充说明", at(D(2025, 10, 15)))
    assert isinstance(statement, StatementReceived)
    case = fold(
        case, receive_statement(case, "申请听证", at(D(2025, 10, 9)), hearing_requested=True)
    )
    twice = message(
        lambda: receive_statement(case, "再次申请", at(D(2025, 10, 10)), hearing_requested=True)
    )
    assert twice.endswith("a hearing was already requested on 2025-10-09")
    case = fold(case, hold_hearing(case, "听证", at(D(2025, 10, 13))))
    again = message(lambda: hold_hearing(case, "听证", at(D(2025, 10, 14))))
    assert again.endswith("the hearing was already held on 2025-10-13")


def test_no_hearing_without_a_request() -> None:
    case = proposed()
    err = message(lambda: hold_hearing(case, "听证", at(D(2025, 10, 9))))
    assert err == (
        "case GY-1: cannot hold_hearing in state REVOCATION_PROPOSED: no hearing was requested"
    )


def test_the_public_interest_exception() -> None:
    case = proposed()
    # Refusing a revocation favours the holder: no need to wait for the window.
    (refused,) = decide_revocation(case, at(D(2025, 10, 9)), policy=POLICY, public_interest=True)
    assert isinstance(refused, RevocationRefused)
    assert refused.legal_basis == ART_69_PARA_3
    assert "公共利益" in refused.reason
    case = case.apply(refused)
    assert case.state is CaseState.REVOCATION_REFUSED
    assert case.revocation == refused
    assert case.credit_record is None


def test_a_policy_without_the_public_interest_exception() -> None:
    rules = attrs.evolve(POLICY.at(GAOYOU_DAY).revocation_rules, public_interest_exception=False)
    snapshot = attrs.evolve(POLICY.at(D(2025, 10, 9)), revocation_rules=rules)
    err = message(
        lambda: decide_revocation(
            proposed(), at(D(2025, 10, 9)), policy=snapshot, public_interest=True
        )
    )
    assert err == (
        "case GY-1: cannot decide_revocation in state REVOCATION_PROPOSED: the policy in force "
        "on 2025-10-09 does not provide the public-interest exception (行政许可法 Art 69 "
        "para 3)"
    )


# --- illegal transitions ------------------------------------------------------------------------


def test_illegal_verification_before_the_licence() -> None:
    case = committed()
    err = message(lambda: verify(case, OK, GAOYOU_DAY))
    assert err == (
        "case GY-1: cannot record_verification in state COMMITTED: allowed in ISSUED, CLOSED"
    )


def test_illegal_verification_on_the_standard_route() -> None:
    case = accepted_standard()
    case = fold(case, issue(case, at(D(2025, 10, 9))))
    err = message(lambda: verify(case, OK, D(2025, 10, 20)))
    assert err == (
        "case GY-1: cannot record_verification in state ISSUED: the standard route has no "
        "commitment to verify"
    )
    # Nor does the tick supervise it.
    assert due(case, at(D(2026, 1, 5)), CALENDAR, policy=POLICY) == ()
    assert obligations(case, GAOYOU_ITEM, CALENDAR) == ()


def test_illegal_verification_of_another_item() -> None:
    with pytest.raises(DecisionMismatch):
        verify(clean(), OK, D(2025, 10, 20), item=CATALOG.item(JIANGDU, GAOYOU_DAY))
    with pytest.raises(DecisionMismatch):
        obligations(clean(), CATALOG.item(JIANGDU, GAOYOU_DAY), CALENDAR)


def test_illegal_verification_after_revocation() -> None:
    case = proposed()
    case = fold(case, decide_revocation(case, at(D(2025, 10, 15)), policy=POLICY))
    err = message(lambda: verify(case, OK, D(2025, 10, 20)))
    assert err == (
        "case GY-1: cannot record_verification in state REVOKED: allowed in ISSUED, CLOSED"
    )
    err = message(lambda: decide_revocation(case, at(D(2025, 10, 20)), policy=POLICY))
    assert err == (
        "case GY-1: cannot decide_revocation in state REVOKED: allowed in REVOCATION_PROPOSED"
    )


@pytest.mark.parametrize(
    ("name", "act"),
    [
        (
            "decide_revocation",
            lambda case: decide_revocation(case, at(D(2025, 10, 20)), policy=POLICY),
        ),
        ("receive_statement", lambda case: receive_statement(case, "陈述", at(D(2025, 10, 20)))),
        ("hold_hearing", lambda case: hold_hearing(case, "听证", at(D(2025, 10, 20)))),
        (
            "rectification_result",
            lambda case: rectification_result(
                case, True, at(D(2025, 10, 20)), policy=POLICY, calendar=CALENDAR
            ),
        ),
    ],
)
def test_illegal_procedure_steps_without_a_proposal_or_order(
    name: str, act: Callable[[Case], object]
) -> None:
    case = clean()
    with pytest.raises(IllegalTransition) as caught:
        act(case)
    states = ", ".join(state.name for state in CaseState if state in ACTIONS[name])
    assert str(caught.value) == f"case GY-1: cannot {name} in state ISSUED: allowed in {states}"


def test_the_fold_guards_the_procedure() -> None:
    case = proposed()
    assert case.proposal is not None
    due_day = case.proposal.statement_due
    # An event a careless writer built: statements that were never received.
    forged = Revoked(
        at=at(D(2025, 10, 9)),
        revoked_on=D(2025, 10, 9),
        grounds=case.proposal.grounds,
        legal_basis=case.proposal.legal_basis,
        statement_due=due_day,
        statements=("伪造的陈述",),
    )
    with pytest.raises(IllegalTransition) as caught:
        case.apply(forged)
    assert caught.value.detail == "the statements must be those received on the proposal"
    shifted = attrs.evolve(forged, statements=(), statement_due=D(2025, 10, 8))
    with pytest.raises(IllegalTransition) as caught:
        case.apply(shifted)
    assert caught.value.detail == (
        "the proposal's statement window ends on 2025-10-14, not 2025-10-08"
    )
    revoked, created = decide_revocation(case, at(D(2025, 10, 15)), policy=POLICY)
    case = case.apply(revoked)
    assert isinstance(created, CreditRecordCreated)
    stranger = attrs.evolve(created.record, subject="91320000100000000B")
    with pytest.raises(IllegalTransition) as caught:
        case.apply(attrs.evolve(created, record=stranger))
    assert caught.value.detail == (
        f"the record is about '91320000100000000B', not the applicant '{HOTEL.identifier}'"
    )
    earlier = attrs.evolve(created.record, decided_on=D(2025, 10, 14))
    with pytest.raises(IllegalTransition) as caught:
        case.apply(attrs.evolve(created, record=earlier))
    assert caught.value.detail == (
        "the record is decided on 2025-10-14, not on the revocation day 2025-10-15"
    )
    case = case.apply(created)
    with pytest.raises(IllegalTransition) as caught:
        case.apply(created)
    assert caught.value.detail == "the credit record 'GY-1-revoked' is already created"


def test_nothing_answers_a_proposal_or_an_order_before_it() -> None:
    case = proposed()  # proposed on 2025-09-30
    early = at(D(2025, 9, 29))
    expected = (
        "case GY-1: cannot {} in state REVOCATION_PROPOSED: 2025-09-29 is before the "
        "proposal of 2025-09-30"
    )
    assert message(lambda: receive_statement(case, "陈述", early)) == expected.format(
        "receive_statement"
    )
    assert message(
        lambda: decide_revocation(case, early, policy=POLICY, public_interest=True)
    ) == expected.format("decide_revocation")
    order = rectifying()  # ordered on 2025-10-20
    met = RectificationMet(at=at(D(2025, 10, 19)), met_on=D(2025, 10, 19))
    with pytest.raises(IllegalTransition) as caught:
        order.apply(met)
    assert caught.value.detail == "2025-10-19 is before the order of 2025-10-20"


def test_closing_needs_a_kept_commitment_and_nothing_owed() -> None:
    closing = Closed(at=at(D(2025, 10, 20)), closed_on=D(2025, 10, 20))
    with pytest.raises(IllegalTransition) as caught:
        issued().apply(closing)
    assert caught.value.detail == (
        "deferred materials are still owed: GGCSWSXK-04, GGCSWSXK-06, GGCSWSXK-07"
    )
    with pytest.raises(IllegalTransition) as caught:
        clean().apply(closing)
    assert caught.value.detail == "the commitment has not been verified as kept"


def test_overdue_reports_are_checked_against_the_plan() -> None:
    case = issued()
    early = DeferredMaterialOverdue(
        at=at(D(2025, 10, 10)), overdue_on=D(2025, 10, 10), materials=DEFERRED, due=D(2025, 10, 9)
    )
    with pytest.raises(IllegalTransition) as caught:
        case.apply(early)
    assert caught.value.detail == "material 'GGCSWSXK-04' is not overdue on 2025-10-10"
    report = attrs.evolve(early, overdue_on=D(2025, 10, 11), at=at(D(2025, 10, 11)))
    case = case.apply(report)
    with pytest.raises(IllegalTransition) as caught:
        case.apply(report)
    assert caught.value.detail == "material 'GGCSWSXK-04' was already reported overdue"


NOW = at(D(2025, 10, 20))
BASIS = (ART_69_PARA_1_4,)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (
            lambda: VerificationRecorded(
                at=NOW,
                verified_on=D(2025, 10, 20),
                method=VerificationMethod.WRITTEN,
                inspectors=("张三", "张三"),
                findings="记录",
                outcome=OK,
            ),
            "invalid VerificationRecorded: inspectors[1]: '张三' is already inspectors[0]",
        ),
        (
            lambda: VerificationRecorded(
                at=NOW,
                verified_on=D(2025, 10, 20),
                method=VerificationMethod.WRITTEN,
                inspectors=(),
                findings="记录",
                outcome=OK,
            ),
            "invalid VerificationRecorded: inspectors: expected at least one inspector",
        ),
        (
            lambda: VerificationRecorded(
                at=NOW,
                verified_on=D(2025, 10, 20),
                method=VerificationMethod.WRITTEN,
                inspectors=("张三",),
                findings="记录",
                outcome=VerificationOutcome.DEFERRED_OVERDUE,
            ),
            "invalid VerificationRecorded: outcome: a verification finds the commitment "
            "fulfilled, unfulfilled or false; an overdue deferred material is found by the tick",
        ),
        (
            lambda: DeferredMaterialOverdue(
                at=NOW, overdue_on=D(2025, 10, 20), materials=(), due=D(2025, 10, 10)
            ),
            "invalid DeferredMaterialOverdue: materials: expected at least one overdue material",
        ),
        (
            lambda: RectificationOrdered(
                at=NOW,
                ordered_on=D(2025, 10, 20),
                outcome=OK,
                facts="事实",
                deadline=D(2025, 11, 3),
            ),
            "invalid RectificationOrdered: outcome: expected an adverse outcome, got fulfilled",
        ),
        (
            lambda: RectificationOrdered(
                at=NOW,
                ordered_on=D(2025, 10, 20),
                outcome=U,
                facts="事实",
                deadline=D(2025, 10, 20),
            ),
            "invalid RectificationOrdered: deadline: 2025-10-20 must be after the order day "
            "2025-10-20",
        ),
        (
            lambda: RectificationOrdered(
                at=NOW,
                ordered_on=D(2025, 10, 20),
                outcome=VerificationOutcome.DEFERRED_OVERDUE,
                facts="事实",
                deadline=D(2025, 11, 3),
            ),
            "invalid RectificationOrdered: materials: expected the overdue materials to supply",
        ),
        (
            lambda: RectificationFailed(
                at=NOW, failed_on=D(2025, 11, 3), deadline=D(2025, 11, 3), findings="未整改"
            ),
            "invalid RectificationFailed: failed_on: 2025-11-03 must be after the deadline "
            "2025-11-03",
        ),
        (
            lambda: RevocationProposed(
                at=NOW,
                proposed_on=D(2025, 10, 20),
                outcome=F,
                facts="事实",
                grounds="理由",
                legal_basis=(ART_69_PARA_2,),
                statement_due=D(2025, 10, 27),
                record_kind=CreditRecordKind.COMMITMENT_BREACH,
                record_severity=Severity.SERIOUS,
            ),
            "invalid RevocationProposed: record_kind: a false commitment is recorded as "
            "'false_commitment', got 'commitment_breach'",
        ),
        (
            lambda: RevocationProposed(
                at=NOW,
                proposed_on=D(2025, 10, 20),
                outcome=U,
                facts="事实",
                grounds="理由",
                legal_basis=(),
                statement_due=D(2025, 10, 27),
                record_kind=CreditRecordKind.COMMITMENT_BREACH,
                record_severity=Severity.SERIOUS,
            ),
            "invalid RevocationProposed: legal_basis: expected at least one legal reference",
        ),
        (
            lambda: Revoked(
                at=NOW,
                revoked_on=D(2025, 10, 27),
                grounds="理由",
                legal_basis=BASIS,
                statement_due=D(2025, 10, 27),
            ),
            "invalid Revoked: revoked_on: no statement was received and the statement window "
            "runs until 2025-10-27: no revocation before it ends",
        ),
        (
            lambda: StatementReceived(at=NOW, received_on=D(2025, 10, 20), text=" "),
            "invalid StatementReceived: text: expected a non-empty statement text, got ' '",
        ),
        (
            lambda: HearingHeld(at=NOW, held_on=D(2025, 10, 20), summary=""),
            "invalid HearingHeld: summary: expected a non-empty hearing summary, got ''",
        ),
        (
            lambda: RevocationRefused(at=NOW, refused_on=D(2025, 10, 20), reason=""),
            "invalid RevocationRefused: reason: expected a non-empty reason, got ''",
        ),
        (
            lambda: Closed(at=dt.datetime(2025, 10, 20, 9), closed_on=D(2025, 10, 20)),
            "invalid Closed: at: expected a date-time with a time zone (e.g. +08:00), got "
            "datetime.datetime(2025, 10, 20, 9, 0)",
        ),
    ],
)
def test_event_invariants(build: Callable[[], object], text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        build()
    assert str(caught.value) == text


# --- obligations --------------------------------------------------------------------------------


def test_the_obligations_of_gaoyous_permit() -> None:
    case = issued()
    assert obligations(committed(), GAOYOU_ITEM, CALENDAR) == ()
    verification, *materials = obligations(case, GAOYOU_ITEM, CALENDAR)
    # On site, 20 working days after the issue day (the National Day break not counted).
    assert verification == Obligation(
        kind=ObligationKind.VERIFICATION, due=D(2025, 10, 30), method=VerificationMethod.ON_SITE
    )
    assert verification.is_open
    assert not verification.overdue(D(2025, 10, 30))
    assert verification.overdue(D(2025, 10, 31))
    assert [(o.kind, o.code, o.due) for o in materials] == [
        (ObligationKind.DEFERRED_MATERIAL, code, D(2025, 10, 10)) for code in DEFERRED
    ]
    case = fold(case, supply_material(case, DEFERRED[0], at(D(2025, 10, 9))))
    case = fold(case, due(case, at(D(2025, 10, 11)), CALENDAR, policy=POLICY))
    assert [o.outcome for o in obligations(case, GAOYOU_ITEM, CALENDAR)] == [
        None,
        OK,
        VerificationOutcome.DEFERRED_OVERDUE,
        VerificationOutcome.DEFERRED_OVERDUE,
    ]


def test_materials_supplied_before_the_licence_are_no_obligation() -> None:
    from test_case import GAOYOU_LATER, accepted_later

    case = accepted_later()
    case = fold(case, supply_material(case, DEFERRED[0], at(D(2025, 9, 29))))
    case = fold(case, issue(case, at(D(2025, 9, 30))))
    assert [o.code for o in obligations(case, GAOYOU_LATER, CALENDAR)] == [None, *DEFERRED[1:]]
    (verification, *_) = obligations(case, GAOYOU_LATER, CALENDAR)
    # The deadline the signed letter states: 20 working days after the decision.
    assert verification.due == CALENDAR.add_working_days(GAOYOU_DAY, 20) == D(2025, 10, 30)


@given(st.dates(D(2025, 9, 26), D(2026, 11, 30)))
def test_the_verification_deadline_is_the_signed_letters_whatever_the_issue_day(
    day: dt.date,
) -> None:
    case = issued()
    licence = case.licence
    assert licence is not None
    assert case.commitment is not None
    promised = case.commitment.letter.terms.verification_due
    assert promised is not None
    moved = attrs.evolve(licence, issued_on=day, at=at(day))
    history = tuple(moved if e is licence else e for e in case.history)
    case = Case.from_events(history)
    (verification, *_) = obligations(case, GAOYOU_ITEM, CALENDAR)
    assert verification.due == promised
    assert CALENDAR.working_days_between(GAOYOU_DAY, promised) == 20


# --- the statement window, as a law -------------------------------------------------------------


@given(st.dates(D(2025, 9, 29), D(2026, 12, 1)))
def test_revocation_waits_for_the_statement_window_on_the_working_day_calendar(
    day: dt.date,
) -> None:
    case = proposed(day=day)
    proposal = case.proposal
    assert proposal is not None
    assert proposal.statement_due == CALENDAR.add_working_days(day, 5)
    last = proposal.statement_due
    with pytest.raises(IllegalTransition):
        decide_revocation(case, at(last, 23, 59), policy=POLICY)
    revoked, created = decide_revocation(case, at(last + dt.timedelta(days=1), 0, 1), policy=POLICY)
    assert isinstance(revoked, Revoked)
    assert isinstance(created, CreditRecordCreated)


# --- random action sequences --------------------------------------------------------------------

STEPS = (
    "verify",
    "tick",
    "supply",
    "rectified",
    "not-rectified",
    "statement",
    "hearing-request",
    "hearing",
    "decide",
    "public-interest",
)
# Verifications, ticks and decisions more often, so that walks reach a revocation.
WEIGHTED = (*STEPS, *("verify",) * 2, *("tick",) * 3, *("decide",) * 4, "statement")
CITIES = {"yangzhou": POLICY, "beijing": BEIJING, "shanghai": SHANGHAI}
_ACTION_OF = {
    "verify": "record_verification",
    "tick": "due",
    "supply": "supply_material",
    "rectified": "rectification_result",
    "not-rectified": "rectification_result",
    "statement": "receive_statement",
    "hearing-request": "receive_statement",
    "hearing": "hold_hearing",
    "decide": "decide_revocation",
    "public-interest": "decide_revocation",
}


@attrs.frozen
class Walk:
    start: str
    city: str
    steps: tuple[tuple[str, VerificationOutcome, int], ...]


@st.composite
def walks(draw: st.DrawFn) -> Walk:
    return Walk(
        start=draw(st.sampled_from(["issued", "clean", "exempt"])),
        city=draw(st.sampled_from(sorted(CITIES))),
        steps=tuple(
            draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(WEIGHTED),
                        st.sampled_from([OK, U, F]),
                        st.integers(0, 16),
                    ),
                    min_size=4,
                    max_size=20,
                )
            )
        ),
    )


def _act(
    case: Case,
    step: tuple[str, VerificationOutcome],
    item: ApprovalItem,
    policy: Policy,
    now: dt.datetime,
) -> tuple[CaseEvent, ...]:
    name, outcome = step
    if name == "verify":
        exempt = item.verification.method is VerificationMethod.EXEMPT
        method = VerificationMethod.ON_SITE if exempt else None
        return record_verification(
            case,
            item,
            INSPECTORS,
            "核查记录",
            outcome,
            policy=policy,
            calendar=CALENDAR,
            now=now,
            method=method,
        )
    if name == "tick":
        return due(case, now, CALENDAR, policy=policy)
    if name == "supply":
        owed = [line.code for line in case.outstanding]
        return supply_material(case, owed[0] if owed else DEFERRED[0], now)
    if name in ("rectified", "not-rectified"):
        return rectification_result(
            case, name == "rectified", now, policy=policy, calendar=CALENDAR
        )
    if name in ("statement", "hearing-request"):
        return receive_statement(case, "陈述申辩", now, hearing_requested=name != "statement")
    if name == "hearing":
        return hold_hearing(case, "听证记录", now)
    return decide_revocation(case, now, policy=policy, public_interest=name == "public-interest")


def walk(w: Walk) -> Case:
    item = EXEMPT_ITEM if w.start == "exempt" else GAOYOU_ITEM
    case = {"issued": issued, "clean": clean, "exempt": exempt_issued}[w.start]()
    policy = CITIES[w.city]
    now = at(D(2025, 9, 29))
    for name, outcome, gap in w.steps:
        now += dt.timedelta(days=gap, hours=1)
        refused = None
        try:
            events = _act(case, (name, outcome), item, policy, now)
        except IllegalTransition as exc:
            refused = exc
        if refused is not None:
            assert (refused.state, refused.action) == (case.state.name, _ACTION_OF[name])
            continue
        case = case.apply(*events)
    return case


@given(walks())
def test_no_revocation_without_a_proposal_and_a_heard_or_elapsed_window(w: Walk) -> None:
    history = walk(w).history
    for k, event in enumerate(history):
        if not isinstance(event, Revoked):
            continue
        before = history[:k]
        proposals = [e for e in before if isinstance(e, RevocationProposed)]
        assert proposals, "a revocation without a proposal"
        proposal = proposals[-1]
        since = before[before.index(proposal) :]
        statements = [e for e in since if isinstance(e, StatementReceived)]
        assert statements or event.revoked_on > proposal.statement_due
        assert event.statements == tuple(s.text for s in statements)
        if any(s.hearing_requested for s in statements):
            assert any(isinstance(e, HearingHeld) for e in since)
        # Every revocation yields exactly one record, right after it, and nothing follows.
        assert isinstance(history[k + 1], CreditRecordCreated)
        assert len(history) == k + 2
    revocations = sum(isinstance(e, Revoked) for e in history)
    assert revocations == sum(isinstance(e, CreditRecordCreated) for e in history) <= 1


@given(walks())
def test_a_walk_folds_to_the_same_case_from_its_history(w: Walk) -> None:
    case = walk(w)
    assert Case.from_events(case.history) == case
    if case.state is CaseState.CLOSED:
        assert not case.outstanding
        assert case.verification_met or case.verification_exempt
    for event in case.history:
        if type(event) in NEW_EVENTS:
            record = event_to_record(event)
            text = json.dumps(dict(record.payload), ensure_ascii=False)
            assert event_from_record(record.type, json.loads(text)) == event


# --- codec ----------------------------------------------------------------------------------


def test_every_supervision_event_round_trips() -> None:
    flows = []
    case = issued()
    case = fold(case, due(case, at(D(2025, 10, 11)), CALENDAR, policy=POLICY))
    for code in DEFERRED:
        case = fold(case, supply_material(case, code, at(D(2025, 10, 14))))
    case = fold(case, verify(case, OK, D(2025, 10, 20)))
    flows.append(case)
    case = rectifying()
    case = fold(
        case,
        rectification_result(case, False, at(D(2025, 11, 4)), policy=POLICY, calendar=CALENDAR),
    )
    case = fold(
        case, receive_statement(case, "申请听证", at(D(2025, 11, 5)), hearing_requested=True)
    )
    case = fold(case, hold_hearing(case, "听证", at(D(2025, 11, 7))))
    case = fold(case, decide_revocation(case, at(D(2025, 11, 10)), policy=POLICY))
    flows.append(case)
    case = proposed()
    flows.append(
        fold(case, decide_revocation(case, at(D(2025, 10, 9)), policy=POLICY, public_interest=True))
    )
    seen = set()
    for case in flows:
        for event in case.history:
            record = event_to_record(event)
            text = json.dumps(dict(record.payload), ensure_ascii=False, sort_keys=True)
            assert event_from_record(record.type, json.loads(text)) == event
            seen.add(type(event))
    assert seen >= NEW_EVENTS
    assert {name for name, cls in EVENT_TYPES.items() if cls in NEW_EVENTS} == {
        "verification-recorded",
        "deferred-material-overdue",
        "rectification-ordered",
        "rectification-met",
        "rectification-failed",
        "revocation-proposed",
        "statement-received",
        "hearing-held",
        "revoked",
        "revocation-refused",
        "credit-record-created",
        "closed",
    }


def test_a_stored_credit_record_that_breaks_its_rules_names_its_path() -> None:
    case = proposed()
    _, created = decide_revocation(case, at(D(2025, 10, 15)), policy=POLICY)
    record = event_to_record(created)
    payload = json.loads(json.dumps(dict(record.payload)))
    payload["record"]["max_publicity_months"] = 1
    with pytest.raises(DataFileError) as caught:
        event_from_record(record.type, payload)
    assert caught.value.source == "event credit-record-created"
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("record.max_publicity_months", "expected at least min_publicity_months (3), got 1")
    ]


# --- the record feeds back into the next application ---------------------------------------


def revocation_record(outcome: VerificationOutcome, policy: Policy = POLICY) -> CreditRecord:
    case = clean()
    case = fold(case, verify(case, outcome, D(2025, 10, 20), policy))
    if case.state is CaseState.RECTIFYING:
        assert case.rectification is not None
        later = at(case.rectification.deadline + dt.timedelta(days=1))
        case = fold(case, due(case, later, CALENDAR, policy=policy))
    assert case.proposal is not None
    day = case.proposal.statement_due + dt.timedelta(days=1)
    _, created = decide_revocation(case, at(day), policy=policy)
    assert isinstance(created, CreditRecordCreated)
    return created.record


def route(
    day: dt.date, *records: CreditRecord, policy: Policy = POLICY, code: str = "321084-GGCSWSXK"
) -> tuple[Route, tuple[str, ...]]:
    decision = decide(
        item=CATALOG.item(code, day),
        applicant=HOTEL,
        evidence=evidence(day, *records),
        policy=policy,
        on=day,
    )
    return decision.route, decision.reason_codes


@pytest.mark.parametrize(
    "policy", [POLICY, BEIJING, SHANGHAI], ids=["yangzhou", "beijing", "shanghai"]
)
@pytest.mark.parametrize("outcome", [U, F, VerificationOutcome.DEFERRED_OVERDUE])
def test_every_revocation_record_bars_the_commitment_route(
    policy: Policy, outcome: VerificationOutcome
) -> None:
    snap: PolicySnapshot = policy.at(D(2026, 1, 5))
    rule = snap.revocation_rules.rule(outcome)
    record = CreditRecord.with_default_periods(
        record_id="R-1",
        subject=HOTEL.identifier,
        kind=rule.record_kind,
        severity=rule.record_severity,
        decided_on=D(2026, 1, 5),
    )
    assert snap.blocking_rules(record, D(2026, 1, 5)), (outcome, policy)


def test_a_revocation_for_an_unfulfilled_commitment_sends_the_next_application_standard() -> None:
    record = revocation_record(U)
    assert (record.kind, record.severity) == (CreditRecordKind.COMMITMENT_BREACH, Severity.GENERAL)
    day = record.decided_on + dt.timedelta(days=7)
    assert route(day) == (Route.CONDITIONAL, ("credit-grade-meets-threshold", "no-blocking-record"))
    assert route(day, record) == (Route.STANDARD, ("blocking-record",))
    # Repaired: eligible again (no re-application ban for a breach).
    repaired = attrs.evolve(record, repaired_on=record.repairable_from)
    assert route(record.repairable_from, repaired)[0] is Route.CONDITIONAL
    assert route(record.repairable_from - dt.timedelta(days=1), repaired)[0] is Route.STANDARD
    # Or the maximum publicity period over: eligible again without repair.
    ends = record.publicity_ends_on
    assert ends == add_months(record.decided_on, 12)  # general, NDRC Order No. 58
    assert route(ends - dt.timedelta(days=1), record)[0] is Route.STANDARD
    assert route(ends, record)[0] is Route.CONDITIONAL


def test_the_national_policy_closes_the_loop_too() -> None:
    national = Policy.national().overlay(
        Policy.from_dict(
            {
                "policy": {"name": "只有等级的城市", "version": "1"},
                "grade_scale": [{"from": D(2021, 1, 1), "value": "yangzhou-a-e"}],
                "conditional_threshold": [{"from": D(2021, 1, 1), "value": "B"}],
            }
        )
    )
    # A false commitment bars the route until repaired (the 42号 floor) ...
    record = revocation_record(F, national)
    day = record.decided_on + dt.timedelta(days=1)
    assert route(day, record, policy=national, code=JIANGDU)[0] is Route.STANDARD
    assert route(day, policy=national, code=JIANGDU)[0] is Route.CONDITIONAL
    # ... but the general record of an unfulfilled commitment is no "relatively serious"
    # bad credit record: the national defaults alone do not bar it (a city's rule may).
    record = revocation_record(U, national)
    assert record.severity is Severity.GENERAL
    day = record.decided_on + dt.timedelta(days=1)
    assert route(day, record, policy=national, code=JIANGDU)[0] is Route.CONDITIONAL


def test_a_false_commitment_bars_until_repair_and_then_the_ban_still_runs() -> None:
    record = revocation_record(F)
    assert record.kind is CreditRecordKind.FALSE_COMMITMENT
    assert record.item_code == "321084-GGCSWSXK"
    day = record.decided_on + dt.timedelta(days=1)
    ban_ends = add_months(record.decided_on, 36)
    # The Yangzhou sample bans the same public-place health permit for 36 months (Art 79):
    # the application itself is refused.
    with pytest.raises(ReapplicationBarred) as caught:
        route(day, record)
    assert caught.value.until == ban_ends
    # Publicity over, not repaired: the 42号 floor still bars it for other items.
    ends = record.publicity_ends_on
    assert route(ends, record, code=JIANGDU) == (Route.STANDARD, ("blocking-record-until-repair",))
    # Repaired: eligible for another item ...
    repaired = attrs.evolve(record, repaired_on=record.repairable_from)
    assert route(record.repairable_from, repaired, code=JIANGDU)[0] is Route.CONDITIONAL
    # ... but the ban on the permit runs its 36 months regardless of repair.
    with pytest.raises(ReapplicationBarred):
        route(ban_ends - dt.timedelta(days=1), repaired)
    assert route(ban_ends, repaired)[0] is Route.CONDITIONAL


@given(
    repair=st.none() | st.integers(0, 48),
    probe=st.integers(0, 50),
    outcome=st.sampled_from([U, F]),
)
def test_repair_restores_eligibility_unless_a_ban_runs(
    repair: int | None, probe: int, outcome: VerificationOutcome
) -> None:
    decided = D(2025, 11, 17)
    rule = POLICY.at(decided).revocation_rules.rule(outcome)
    record = CreditRecord.with_default_periods(
        record_id="R-1",
        subject=HOTEL.identifier,
        kind=rule.record_kind,
        severity=rule.record_severity,
        decided_on=decided,
        item_code="321084-GGCSWSXK",
    )
    if repair is not None:
        record = attrs.evolve(
            record, repaired_on=max(record.repairable_from, add_months(decided, repair))
        )
    day = add_months(decided, probe)
    repaired = record.is_repaired(day)
    published = day < record.publicity_ends_on
    if outcome is F:
        barred = not repaired  # until repair (the 42号 floor)
        banned = day < add_months(decided, 36)  # 行政许可法 Art 79, this very item
    else:
        barred = published and not repaired
        banned = False
    if banned:
        with pytest.raises(ReapplicationBarred):
            route(day, record)
        return
    expected = Route.STANDARD if barred else Route.CONDITIONAL
    assert route(day, record)[0] is expected


# --- the settings ---------------------------------------------------------------------------------


def test_rules_built_in_code_check_the_same_rules() -> None:
    with pytest.raises(InvalidValue, match=r"an adverse outcome leads to 'rectify'"):
        OutcomeRule(SupervisionAction.CLOSE, CreditRecordKind.COMMITMENT_BREACH, Severity.SERIOUS)
    rules = POLICY.at(GAOYOU_DAY).revocation_rules
    with pytest.raises(InvalidValue) as caught:
        attrs.evolve(rules, rectification_working_days=0)
    assert str(caught.value) == (
        "invalid RevocationRules: rectification_working_days: expected at least 1 working "
        "day, got 0"
    )
    with pytest.raises(ValueError, match="a fulfilled commitment has no revocation rule"):
        rules.rule(OK)
    weakened = OutcomeRule(
        SupervisionAction.RECTIFY, CreditRecordKind.FALSE_COMMITMENT, Severity.SERIOUS
    )
    with pytest.raises(InvalidValue) as caught:
        attrs.evolve(rules, false_commitment=weakened)
    assert str(caught.value) == (
        "invalid RevocationRules: false_commitment.action: a false commitment leads to "
        "'propose-revocation': a licence obtained by a false commitment shall be revoked "
        "(《中华人民共和国行政许可法》第六十九条第二款), got 'rectify'"
    )


def test_inspection_ratios() -> None:
    snap = POLICY.at(GAOYOU_DAY)
    assert snap.inspection_ratios == InspectionRatios(
        0.04, {"A": 0.01, "B": 0.04, "C": 0.08, "D": 0.2, "E": 1.0}
    )
    assert [snap.inspection_ratio(g) for g in ("a", "B", "c", "D", "e")] == [
        0.01,
        0.04,
        0.08,
        0.2,
        1.0,
    ]
    assert snap.inspection_ratio(None) == snap.inspection_ratio("Z") == 0.04
    # Snapshots go to worker processes: the ratios survive pickling.
    copied = pickle.loads(pickle.dumps(snap))
    assert copied == snap
    assert copied.inspection_ratio("e") == 1.0
    national = Policy.national().timeline("inspection_ratios").at(D(2021, 1, 1))
    assert national == InspectionRatios(0.03)
    assert national.ratio("A") == 0.03
    with pytest.raises(InvalidValue, match=r"grades.A: expected a ratio from 0 to 1, got 2"):
        InspectionRatios(0.5, {"A": 2})


@given(st.lists(st.floats(0, 1), min_size=5, max_size=5))
def test_ratios_in_risk_order_are_accepted_and_others_named(ratios: list[float]) -> None:
    table = InspectionRatios(0.5, dict(zip("ABCDE", ratios, strict=True)))
    problems = table.problems_with(POLICY.at(GAOYOU_DAY).grade_scale)
    out_of_order = [
        b for a, b in zip("ABCD", "BCDE", strict=True) if table.grades[b] < table.grades[a]
    ]
    assert [p.path for p in problems] == [f"grades.{g}" for g in out_of_order]
