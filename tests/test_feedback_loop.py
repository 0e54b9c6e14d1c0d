"""The credit-feedback loop end to end, on the embedded default (issue 5's acceptance).

A city installs creditcommit with nothing but a ``creditcommit.toml``: the SQLite event
store, the built-in credit file (credit source and credit registry in one file), the
e-licence file and the JSON-lines publishing channel. A hotel of grade B gets Gaoyou's
health permit on commitment (先证后核) and then breaks its commitment. One test per path
walks every step through :class:`~creditcommit.Approvals` on a
:class:`~creditcommit.ManualClock`, and checks each effect where the city would see it: the
case, the licence file, the credit file, the published lines.

- a deferred material never supplied → rectification order → revocation proposed → the
  statement window elapses → revoked → the next application is sent to the standard route
  by the record → credit repair → the commitment route again;
- the same with the holder's statement and a hearing;
- a false commitment found on site → revoked → after repair still the standard route: the
  36-month re-application ban of the Yangzhou sample policy (行政许可法 Art 79);
- the public-interest exception (行政许可法 Art 69 para 3): revocation refused, no record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    Case,
    CaseState,
    CreditEvidence,
    CreditRecord,
    CreditRecordKind,
    IllegalTransition,
    ManualClock,
    ReapplicationBarred,
    RevocationRefused,
    Revoked,
    Route,
    Severity,
    Signer,
    VerificationOutcome,
)
from creditcommit.builtin import FileCreditRegistry, FileCreditSource, FileLicenceStore
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
JIANGDU = "321012-TZXMBA"
FORM = "GGCSWSXK-01"
DEFERRED = ("GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07")
HOTEL = Applicant(
    "91321084MA1TQ7GU0" + uscc_check_char("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司"
)
INSPECTORS = ("王明", "李华")
AUTHORITY = "高邮市行政审批局"


def at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A city's directory as a new installation has it: the built-in defaults only."""
    (tmp_path / "creditcommit.toml").write_text(
        f'city = "{CITY}"\n'
        'store = "sqlite:cases.db"\n'
        'catalog = "sample"\n'
        'policy = "sample"\n'
        "[plugins.builtin]\n"
        'credit = "credit.db"\n'
        'licences = "licences.db"\n'
        'channel = "publications.jsonl"\n',
        encoding="utf-8",
    )
    FileCreditSource(tmp_path / "credit.db").set_grade(HOTEL.identifier, "B", city=CITY)
    licences = FileLicenceStore(tmp_path / "licences.db")
    for licence_type in ("business-licence", "resident-identity-card"):
        licences.record(
            IssuedLicence(
                reference=f"{licence_type}:{HOTEL.identifier}",
                licence_type=licence_type,
                subject=HOTEL.identifier,
                item_code="external",
                case_id="external",
                issued_on=dt.date(2020, 1, 1),
            ),
            city=CITY,
        )
    return tmp_path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(dt.date(2025, 9, 26)))


@pytest.fixture
def service(root: Path, clock: ManualClock) -> Iterator[Approvals]:
    with Approvals.from_config(root / "creditcommit.toml", clock=clock, autoload=False) as opened:
        yield opened


def licensed(service: Approvals) -> Case:
    """The hotel's permit, issued at acceptance on 2025-09-26 on the conditional route; the
    three deferred materials are due on 2025-10-10."""
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert case.route is Route.CONDITIONAL
    case = service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
    case = service.accept(case.case_id)
    assert case.state is CaseState.ISSUED
    assert [(line.code, line.due) for line in case.outstanding] == [
        (code, dt.date(2025, 10, 10)) for code in DEFERRED
    ]
    service.deliver()
    return case


def held(root: Path, on: dt.date) -> set[str]:
    """The references of the hotel's licences valid on ``on``, as the licence file says."""
    found = FileLicenceStore(root / "licences.db").holdings(HOTEL.identifier, city=CITY, on=on)
    return {holding.reference for holding in found}


def records(root: Path, clock: ManualClock) -> tuple[CreditRecord, ...]:
    """The hotel's records, as the credit source answers the next lookup (the file's content)."""
    evidence = FileCreditSource(root / "credit.db").read(HOTEL.identifier, city=CITY, at=clock.now)
    return evidence.records


def published(root: Path, topic: str) -> list[dict[str, Any]]:
    """The payloads published on the JSON-lines channel under ``topic``."""
    path = root / "publications.jsonl"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line["payload"] for line in lines if line["topic"] == topic]


def deliver_twice(service: Approvals, root: Path) -> None:
    """Deliver; then deliver again, and push the records to a fresh registry once more (as
    after a crash before the store recorded the delivery): nothing changes the second time."""
    first = service.deliver()
    assert first.failed == ()
    before = (root / "publications.jsonl").read_text(encoding="utf-8")
    assert service.deliver().delivered == ()
    registry = FileCreditRegistry(root / "credit.db")
    for pending in service.store.outbox(delivered=True):
        if pending.message.destination.startswith("registry:"):
            registry.push(pending.message)
    assert (root / "publications.jsonl").read_text(encoding="utf-8") == before


def test_a_deferred_material_never_supplied_ends_in_revocation_then_repair_restores_the_route(
    service: Approvals, clock: ManualClock, root: Path
) -> None:
    case = licensed(service)
    reference = case.licence_reference
    assert reference is not None
    assert reference in held(root, dt.date(2025, 9, 26))

    # The materials were due on 2025-10-10 (a make-up Saturday follows); the first tick
    # after finds them missing and orders rectification within 10 working days.
    clock.set(at(dt.date(2025, 10, 13), 1, 0))
    report = service.tick()
    assert report.supervised == (case.case_id,)
    case = service.case(case.case_id)
    assert case.state is CaseState.RECTIFYING
    assert case.overdue_materials == DEFERRED
    assert case.rectification is not None
    assert case.rectification.outcome is VerificationOutcome.DEFERRED_OVERDUE
    assert (case.rectification.materials, case.rectification.deadline) == (
        DEFERRED,
        dt.date(2025, 10, 27),
    )

    # The last day of the order passes quietly; the tick after it proposes revocation.
    clock.set(at(dt.date(2025, 10, 27), 23, 0))
    assert service.tick().supervised == ()
    clock.set(at(dt.date(2025, 10, 28), 1, 0))
    assert service.tick().supervised == (case.case_id,)
    case = service.case(case.case_id)
    proposal = case.proposal
    assert case.state is CaseState.REVOCATION_PROPOSED
    assert proposal is not None
    assert (proposal.proposed_on, proposal.statement_due) == (
        dt.date(2025, 10, 28),
        dt.date(2025, 11, 4),
    )
    assert "经责令限期整改后仍未达到条件" in proposal.grounds
    # General: 撤销 is not 吊销, and no instrument makes the record serious.
    assert (proposal.record_kind, proposal.record_severity) == (
        CreditRecordKind.COMMITMENT_BREACH,
        Severity.GENERAL,
    )

    # Not while the statement window runs unanswered; the day after it ends, yes.
    clock.set(at(dt.date(2025, 11, 4), 17, 0))
    with pytest.raises(IllegalTransition) as raised:
        service.decide_revocation(case.case_id, authority=AUTHORITY)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot decide_revocation in state REVOCATION_PROPOSED: no "
        "statement was received and the statement window runs until 2025-11-04"
    )
    clock.set(at(dt.date(2025, 11, 5), 10, 0))
    case = service.decide_revocation(case.case_id, authority=AUTHORITY)
    assert case.state is CaseState.REVOKED
    assert isinstance(case.revocation, Revoked)
    assert case.revocation.unanswered
    record = case.credit_record
    assert record is not None
    assert (record.record_id, record.subject, record.decided_on) == (
        f"{case.case_id}-revoked",
        HOTEL.identifier,
        dt.date(2025, 11, 5),
    )
    # The general periods of NDRC Order No. 58, in force on 2025-11-05: 3 to 12 months.
    assert (record.repairable_from, record.publicity_ends_on) == (
        dt.date(2026, 2, 5),
        dt.date(2026, 11, 5),
    )

    # Nothing has left the agency yet: the licence stands and the file has no record.
    assert reference in held(root, dt.date(2025, 11, 5))
    assert records(root, clock) == ()
    deliver_twice(service, root)
    # The licence is withdrawn in the licence file from the revocation day ...
    assert reference in held(root, dt.date(2025, 11, 4))
    assert reference not in held(root, dt.date(2025, 11, 5))
    # ... the record is in the credit file, once ...
    assert records(root, clock) == (record,)
    # ... and the revocation, the record and the licence decision's withdrawal are
    # published, each once.
    (revocation,) = published(root, "revocation")
    assert revocation["fields"]["licence_number"] == reference
    assert revocation["fields"]["decision_number"] == f"CX-{case.case_id}"
    assert revocation["fields"]["legal_basis"].startswith(
        "中华人民共和国行政许可法 第六十九条第一款第（四）项"
    )
    assert (revocation["decided_on"], revocation["publish_by"]) == ("2025-11-05", "2025-11-14")
    (entry,) = published(root, "dishonesty-record")
    assert entry["fields"]["record_id"] == record.record_id
    assert (entry["fields"]["record_kind"], entry["fields"]["severity"]) == (
        "commitment_breach",
        "general",
    )
    assert entry["ends_on"] == "2026-11-05"
    (taken_down,) = published(root, "withdrawal")
    assert taken_down["withdraws"] == f"{case.case_id}/licence-decision/{reference}"
    assert (taken_down["reason"], taken_down["publish_by"]) == ("revoked", "2025-11-10")

    # The hotel applies again: the record comes back through the credit source and sends
    # the application to the standard route, citing it.
    clock.set(at(dt.date(2025, 11, 10)))
    again = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    decision = again.decision
    assert decision is not None
    assert isinstance(again.evidence, CreditEvidence)
    assert again.evidence.records == (record,)
    assert (decision.route, decision.eligible_route) == (Route.STANDARD, Route.STANDARD)
    assert decision.reason_codes == ("blocking-record",)
    (reason,) = decision.reasons
    assert reason.params["record_id"] == record.record_id
    assert record.record_id in reason.zh
    assert record.record_id in reason.en

    # Credit repair (信用修复) granted the first day it may be: the city's credit platform
    # marks the record repaired, and the next application is eligible again.
    FileCreditSource(root / "credit.db").add_record(
        attrs.evolve(record, repaired_on=record.repairable_from), city=CITY
    )
    clock.set(at(record.repairable_from))
    repaired = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert repaired.decision is not None
    assert repaired.route is Route.CONDITIONAL
    assert repaired.decision.reason_codes == ("credit-grade-meets-threshold", "no-blocking-record")


def test_a_statement_and_a_hearing_come_before_the_revocation(
    service: Approvals, clock: ManualClock, root: Path
) -> None:
    case = licensed(service)
    clock.set(at(dt.date(2025, 10, 13), 1, 0))
    service.tick()
    clock.set(at(dt.date(2025, 10, 28), 1, 0))
    service.tick()
    case = service.case(case.case_id)
    assert case.state is CaseState.REVOCATION_PROPOSED

    # Within the window the holder answers and asks for a hearing; the decision waits for it.
    clock.set(at(dt.date(2025, 10, 30)))
    case = service.receive_statement(case.case_id, "材料已在准备，请求听证", hearing_requested=True)
    with pytest.raises(IllegalTransition) as raised:
        service.decide_revocation(case.case_id, authority=AUTHORITY)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot decide_revocation in state REVOCATION_PROPOSED: a "
        "hearing was requested on 2025-10-30 and has not been held"
    )
    clock.set(at(dt.date(2025, 11, 3)))
    case = service.hold_hearing(case.case_id, "听证：当事人承认逾期未补交材料")
    # Heard: the officer may decide before the window would have ended.
    case = service.decide_revocation(case.case_id, authority=AUTHORITY)
    revoked = case.revocation
    assert case.state is CaseState.REVOKED
    assert isinstance(revoked, Revoked)
    assert (revoked.statements, revoked.hearing) == (
        ("材料已在准备，请求听证",),
        "听证：当事人承认逾期未补交材料",
    )
    assert [event.type for event in service.history(case.case_id)][-4:] == [
        "statement-received",
        "hearing-held",
        "revoked",
        "credit-record-created",
    ]
    record = case.credit_record
    assert record is not None
    deliver_twice(service, root)
    assert records(root, clock) == (record,)
    assert case.licence_reference not in held(root, dt.date(2025, 11, 3))
    assert len(published(root, "revocation")) == 1


def test_a_false_commitment_bars_the_route_for_36_months_even_after_repair(
    service: Approvals, clock: ManualClock, root: Path
) -> None:
    case = licensed(service)
    # On site, two inspectors find the commitment untrue: revocation is proposed at once
    # (the sample policy's rule for a false commitment), under Art 69 para 2.
    clock.set(at(dt.date(2025, 10, 9), 14, 0))
    case = service.record_verification(
        case.case_id,
        inspectors=INSPECTORS,
        findings="现场核查：卫生管理制度并未建立，承诺不实",
        outcome=VerificationOutcome.FALSE_COMMITMENT,
    )
    proposal = case.proposal
    assert case.state is CaseState.REVOCATION_PROPOSED
    assert proposal is not None
    assert str(proposal.legal_basis[0]) == "中华人民共和国行政许可法 第六十九条第二款"
    assert proposal.record_kind is CreditRecordKind.FALSE_COMMITMENT
    (result,) = [
        m.message.payload for m in service.store.outbox() if m.message.topic == "inspection-result"
    ]
    assert (result["fields"]["result"], result["fields"]["inspectors"]) == (
        "虚假承诺",
        list(INSPECTORS),
    )

    clock.set(at(dt.date(2025, 10, 10)))
    case = service.receive_statement(case.case_id, "对核查结论无异议")
    case = service.decide_revocation(case.case_id, authority=AUTHORITY)
    record = case.credit_record
    assert case.state is CaseState.REVOKED
    assert record is not None
    assert (record.kind, record.severity, record.decided_on) == (
        CreditRecordKind.FALSE_COMMITMENT,
        Severity.GENERAL,
        dt.date(2025, 10, 10),
    )
    assert record.item_code == GAOYOU
    deliver_twice(service, root)
    assert records(root, clock) == (record,)

    # The same permit: refused outright (行政许可法 第七十九条), and nothing is stored.
    clock.set(at(dt.date(2025, 10, 13)))
    before = service.cases()
    with pytest.raises(ReapplicationBarred) as refused:
        service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert (refused.value.record_id, refused.value.until) == (
        record.record_id,
        dt.date(2028, 10, 10),
    )
    assert "2028-10-10前不得再次申请本事项（321084-GGCSWSXK）" in refused.value.reason_zh
    assert service.cases() == before
    # Another item stays open; the false commitment bars only its commitment route.
    other = service.submit(item=JIANGDU, applicant=HOTEL)
    assert other.decision is not None
    assert other.decision.reason_codes == ("blocking-record-until-repair",)

    # Repaired: the block lifts, the statutory ban does not (three years from the record,
    # for the same permit).
    FileCreditSource(root / "credit.db").add_record(
        attrs.evolve(record, repaired_on=record.repairable_from), city=CITY
    )
    clock.set(at(record.repairable_from))
    with pytest.raises(ReapplicationBarred):
        service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    after_repair = service.submit(item=JIANGDU, applicant=HOTEL)
    assert after_repair.decision is not None
    assert after_repair.decision.reason_codes[-1] == "no-blocking-record"


def test_the_public_interest_exception_refuses_the_revocation_and_leaves_no_record(
    service: Approvals, clock: ManualClock, root: Path
) -> None:
    case = licensed(service)
    clock.set(at(dt.date(2025, 10, 13), 1, 0))
    service.tick()
    clock.set(at(dt.date(2025, 10, 28), 1, 0))
    service.tick()
    outbox = len(service.store.outbox())
    # Refusing favours the holder: it need not wait for the statement window.
    clock.set(at(dt.date(2025, 10, 29)))
    case = service.decide_revocation(
        case.case_id,
        public_interest=True,
        reason="该酒店为区内唯一定点隔离接待场所，撤销将严重损害公共利益",
    )
    assert case.state is CaseState.REVOCATION_REFUSED
    refused = case.revocation
    assert isinstance(refused, RevocationRefused)
    assert str(refused.legal_basis) == "中华人民共和国行政许可法 第六十九条第三款"
    assert case.credit_record is None
    # Nothing to withdraw, push or publish: the licence stands, the file stays clean.
    assert len(service.store.outbox()) == outbox
    deliver_twice(service, root)
    assert case.licence_reference in held(root, dt.date(2025, 10, 29))
    assert records(root, clock) == ()
    assert published(root, "revocation") == []
    # The refusal is final: the case cannot be revoked after all.
    with pytest.raises(
        IllegalTransition, match="cannot decide_revocation in state REVOCATION_REFUSED"
    ):
        service.decide_revocation(case.case_id)
    again = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert again.route is Route.CONDITIONAL
