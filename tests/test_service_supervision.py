"""Unit tests for the supervision side of :class:`creditcommit.Approvals` (issue 5).

Each new action — ``record_verification``, ``rectification_result``, ``receive_statement``,
``hold_hearing``, ``decide_revocation``, ``obligations`` — the new fields of ``tick()``'s
report, and the 双随机 draws (``commitment_targets``, ``draw``, ``draws``), on a fresh city
directory with the built-in defaults (SQLite store, credit file, licence file, JSON-lines
channel) and a :class:`~creditcommit.ManualClock`. A channel that keeps failing is a small
fake registered as a plugin.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    Case,
    CaseState,
    Conflict,
    DrawError,
    IllegalTransition,
    Inspector,
    InvalidValue,
    ManualClock,
    ObligationKind,
    OutboxMessage,
    ProjectFacts,
    ProjectLevel,
    RevocationRefused,
    Revoked,
    Route,
    SeedCommitment,
    Signer,
    Target,
    VerificationMethod,
    VerificationOutcome,
    hookimpl,
    verify_draw,
)
from creditcommit.builtin import FileCreditSource, FileLicenceStore, JsonLinesChannel
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
JIANGDU = "321012-TZXMBA"
FORM = "GGCSWSXK-01"
DEFERRED = ("GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07")
INSPECTORS = ("王明", "李华")
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)
SEED = b"yangzhou-2025-11-draw-seed-0001!"


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


HOTEL = Applicant(_uscc("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司")  # grade B
SALON = Applicant(_uscc("91321084MA1TQ7GU2"), "高邮某美容美发店")  # grade A
BATHS = Applicant(_uscc("91321084MA1TQ7GU1"), "高邮某洗浴服务部")  # grade C


def at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


def prepare(directory: Path) -> Path:
    """The sample catalogue (Gaoyou's permit issued on the spot) and policy; three
    applicants graded B, A and C, each holding a business licence and an identity card."""
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "sqlite:cases.db"\ncatalog = "sample"\npolicy = "sample"\n',
        encoding="utf-8",
    )
    credit = FileCreditSource(directory / "credit.db")
    licences = FileLicenceStore(directory / "licences.db")
    for applicant, grade in ((HOTEL, "B"), (SALON, "A"), (BATHS, "C")):
        credit.set_grade(applicant.identifier, grade, city=CITY)
        for licence_type in ("business-licence", "resident-identity-card"):
            licences.record(
                IssuedLicence(
                    reference=f"{licence_type}:{applicant.identifier}",
                    licence_type=licence_type,
                    subject=applicant.identifier,
                    item_code="external",
                    case_id="external",
                    issued_on=dt.date(2020, 1, 1),
                ),
                city=CITY,
            )
    return config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return prepare(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(config: Path, clock: ManualClock) -> Iterator[Approvals]:
    with Approvals.from_config(config, clock=clock, autoload=False) as opened:
        yield opened


def issued(service: Approvals, applicant: Applicant = HOTEL, *, supply: bool = False) -> Case:
    """A Gaoyou permit issued at acceptance on the commitment route; with ``supply`` the
    deferred materials are brought at once, so nothing is owed."""
    case = service.submit(item=GAOYOU, applicant=applicant, provided=[FORM])
    assert case.route is not None
    assert case.route.is_commitment
    case = service.sign_commitment(case.case_id, Signer(applicant.name, applicant.identifier))
    case = service.accept(case.case_id)
    assert case.state is CaseState.ISSUED
    if supply:
        for code in DEFERRED:
            case = service.supply_material(case.case_id, code)
    return case


def log_size(service: Approvals) -> int:
    return len(service.store.events(limit=100_000))


def outbox(service: Approvals, topic: str) -> list[OutboxMessage]:
    return [pending.message for pending in service.store.outbox() if pending.message.topic == topic]


def verify(
    service: Approvals,
    case: Case,
    outcome: VerificationOutcome = VerificationOutcome.FULFILLED,
    inspectors: tuple[str, ...] = INSPECTORS,
) -> Case:
    return service.record_verification(
        case.case_id, inspectors=inspectors, findings="现场核查记录", outcome=outcome
    )


def proposed(service: Approvals, clock: ManualClock) -> Case:
    """The hotel's permit, found a false commitment on 2025-10-09: revocation proposed at
    once, the statement window running 5 working days, until 2025-10-15 (the Saturday
    2025-10-11 is a make-up working day)."""
    case = issued(service)
    clock.set(at(dt.date(2025, 10, 9)))
    case = verify(service, case, VerificationOutcome.FALSE_COMMITMENT)
    assert case.state is CaseState.REVOCATION_PROPOSED
    assert case.proposal is not None
    assert case.proposal.statement_due == dt.date(2025, 10, 15)
    return case


# --- record_verification ------------------------------------------------------------------


def test_a_kept_commitment_with_nothing_owed_closes_the_case(service: Approvals) -> None:
    case = issued(service, supply=True)
    case = verify(service, case)
    assert case.state is CaseState.CLOSED
    assert [event.type for event in service.history(case.case_id)][-2:] == [
        "verification-recorded",
        "closed",
    ]
    (recorded,) = case.verifications
    assert (recorded.method, recorded.inspectors, recorded.verified_on) == (
        VerificationMethod.ON_SITE,
        INSPECTORS,
        START.date(),
    )


def test_a_kept_commitment_with_materials_owed_stays_under_supervision(
    service: Approvals,
) -> None:
    case = verify(service, issued(service))
    assert (case.state, case.verification_met) == (CaseState.ISSUED, True)
    assert [line.code for line in case.outstanding] == list(DEFERRED)


def test_an_on_site_verification_publishes_its_result(service: Approvals) -> None:
    case = verify(service, issued(service))
    (message,) = outbox(service, "inspection-result")
    assert message.key == (
        f"{CITY}/inspection-result/verification:{case.case_id}:1/{HOTEL.identifier}/jsonl"
    )
    assert message.destination == "channel:jsonl"
    payload = message.payload
    # 20 working days (企业信息公示暂行条例 Art 6), over the National Day break.
    assert (payload["decided_on"], payload["publish_by"]) == ("2025-09-26", "2025-10-30")
    assert payload["fields"]["draw_id"] == f"verification:{case.case_id}:1"
    assert payload["fields"]["target_code"] == HOTEL.identifier
    assert payload["fields"]["inspectors"] == list(INSPECTORS)
    assert payload["fields"]["result"] == "已履行承诺"
    assert payload["fields"]["authority"] == "高邮市行政审批局"
    assert payload["extra"] == {"case_id": case.case_id, "licence": case.licence_reference}


def test_two_verifications_on_one_day_are_two_published_results(
    service: Approvals, clock: ManualClock, config: Path
) -> None:
    # The first finds the commitment kept; a second team the same afternoon finds it false.
    case = verify(service, issued(service))
    clock.advance(hours=5)
    case = verify(service, case, VerificationOutcome.FALSE_COMMITMENT, ("张伟", "陈静"))
    results = outbox(service, "inspection-result")
    assert [m.payload["fields"]["result"] for m in results] == ["已履行承诺", "虚假承诺"]
    assert [m.payload["fields"]["draw_id"] for m in results] == [
        f"verification:{case.case_id}:1",
        f"verification:{case.case_id}:2",
    ]
    service.deliver()
    channel = JsonLinesChannel(config.parent / "publications.jsonl")
    assert [m.key for m in channel.messages() if m.topic == "inspection-result"] == [
        m.key for m in results
    ]


def test_an_online_check_by_one_officer_is_recorded_but_not_published_as_an_inspection(
    service: Approvals,
) -> None:
    # Jiangdu's project filing is verified online; a major project takes the direct route.
    case = service.submit(
        item=JIANGDU,
        applicant=HOTEL,
        project=ProjectFacts(major_level=ProjectLevel.MUNICIPAL),
        provided=["TZXMBA-03"],
    )
    assert case.route is Route.DIRECT
    case = service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
    case = service.accept(case.case_id)
    case = service.record_verification(
        case.case_id,
        inspectors=["王明"],
        findings="在线核查：备案信息与承诺一致",
        outcome=VerificationOutcome.FULFILLED,
    )
    assert case.state is CaseState.CLOSED
    assert case.verifications[0].method is VerificationMethod.ONLINE
    assert outbox(service, "inspection-result") == []


def test_an_on_site_verification_by_one_inspector_is_refused_and_nothing_is_written(
    service: Approvals,
) -> None:
    case = issued(service)
    size, messages = log_size(service), len(service.store.outbox())
    with pytest.raises(InvalidValue) as raised:
        verify(service, case, inspectors=("王明",))
    assert str(raised.value) == (
        "invalid VerificationRecorded: inspectors: an on-site check needs two or more "
        "inspectors (行政许可法 Art 34 para 3), got 1"
    )
    assert (log_size(service), len(service.store.outbox())) == (size, messages)


def test_a_standard_route_licence_has_no_commitment_to_verify(
    service: Approvals, clock: ManualClock
) -> None:
    case = service.submit(item=GAOYOU, applicant=BATHS, provided=[FORM, "GGCSWSXK-05", *DEFERRED])
    assert case.route is Route.STANDARD
    case = service.issue(service.accept(case.case_id).case_id)
    size = log_size(service)
    with pytest.raises(IllegalTransition) as raised:
        verify(service, case)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot record_verification in state ISSUED: the standard "
        "route has no commitment to verify"
    )
    assert log_size(service) == size
    assert service.obligations(case.case_id) == ()


def test_an_unfulfilled_commitment_is_ordered_rectified(service: Approvals) -> None:
    case = verify(service, issued(service), VerificationOutcome.UNFULFILLED)
    order = case.rectification
    assert case.state is CaseState.RECTIFYING
    assert order is not None
    assert (order.outcome, order.ordered_on, order.deadline, order.materials) == (
        VerificationOutcome.UNFULFILLED,
        dt.date(2025, 9, 26),
        # 10 working days: 28 Sep and 11 Oct are make-up working days, 1-8 Oct a holiday.
        dt.date(2025, 10, 16),
        (),
    )
    assert [m.payload["fields"]["result"] for m in outbox(service, "inspection-result")] == [
        "未履行承诺"
    ]


# --- rectification_result -----------------------------------------------------------------


def test_a_rectification_recorded_as_met_returns_the_licence_to_supervision(
    service: Approvals, clock: ManualClock
) -> None:
    case = verify(service, issued(service), VerificationOutcome.UNFULFILLED)
    clock.set(at(dt.date(2025, 10, 9)))
    case = service.rectification_result(case.case_id, met=True, findings="复查：制度已建立")
    assert case.state is CaseState.ISSUED  # the deferred materials are still owed
    assert case.verification_met
    assert [event.type for event in service.history(case.case_id)][-1] == "rectification-met"


def test_a_rectification_met_with_nothing_owed_closes_the_case(
    service: Approvals, clock: ManualClock
) -> None:
    case = verify(service, issued(service, supply=True), VerificationOutcome.UNFULFILLED)
    case = service.rectification_result(case.case_id, met=True)
    assert case.state is CaseState.CLOSED


def test_a_rectification_cannot_be_failed_before_its_deadline(
    service: Approvals, clock: ManualClock
) -> None:
    case = verify(service, issued(service), VerificationOutcome.UNFULFILLED)
    clock.set(at(dt.date(2025, 10, 16), 17))
    size = log_size(service)
    with pytest.raises(IllegalTransition) as raised:
        service.rectification_result(case.case_id, met=False)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot rectification_result in state RECTIFYING: the "
        "rectification deadline 2025-10-16 has not passed"
    )
    assert log_size(service) == size
    clock.set(at(dt.date(2025, 10, 17)))
    case = service.rectification_result(case.case_id, met=False, findings="复查：仍未整改")
    assert case.state is CaseState.REVOCATION_PROPOSED
    assert case.rectification_failure is not None
    assert case.rectification_failure.findings == "复查：仍未整改"
    assert [event.type for event in service.history(case.case_id)][-2:] == [
        "rectification-failed",
        "revocation-proposed",
    ]


def test_a_rectification_for_materials_is_met_only_when_they_are_all_in(
    service: Approvals, clock: ManualClock
) -> None:
    case = issued(service)
    clock.set(at(dt.date(2025, 10, 13), 1, 0))
    service.tick()
    case = service.supply_material(case.case_id, "GGCSWSXK-04")
    with pytest.raises(IllegalTransition) as raised:
        service.rectification_result(case.case_id, met=True)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot rectification_result in state RECTIFYING: materials "
        "still owed: GGCSWSXK-06, GGCSWSXK-07"
    )
    # Bringing the last of them by the deadline meets the order by itself.
    case = service.supply_material(case.case_id, "GGCSWSXK-06")
    case = service.supply_material(case.case_id, "GGCSWSXK-07")
    assert case.state is CaseState.ISSUED
    assert [event.type for event in service.history(case.case_id)][-2:] == [
        "material-supplied",
        "rectification-met",
    ]


# --- the hearing of the holder ------------------------------------------------------------


def test_a_statement_within_the_window_may_ask_for_a_hearing_once(
    service: Approvals, clock: ManualClock
) -> None:
    case = proposed(service, clock)
    clock.set(at(dt.date(2025, 10, 13)))
    case = service.receive_statement(case.case_id, "请求听证", hearing_requested=True)
    request = case.hearing_request
    assert request is not None
    assert (request.received_on, request.text) == (dt.date(2025, 10, 13), "请求听证")
    with pytest.raises(IllegalTransition) as raised:
        service.receive_statement(case.case_id, "再次请求听证", hearing_requested=True)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot receive_statement in state REVOCATION_PROPOSED: a "
        "hearing was already requested on 2025-10-13"
    )


def test_after_the_window_a_statement_is_heard_but_a_hearing_cannot_be_asked_for(
    service: Approvals, clock: ManualClock
) -> None:
    case = proposed(service, clock)
    clock.set(at(dt.date(2025, 10, 16)))
    with pytest.raises(IllegalTransition) as raised:
        service.receive_statement(case.case_id, "请求听证", hearing_requested=True)
    assert str(raised.value) == (
        f"case {case.case_id}: cannot receive_statement in state REVOCATION_PROPOSED: the "
        "statement window ended on 2025-10-15: a hearing can no longer be requested"
    )
    case = service.receive_statement(case.case_id, "迟到的申辩意见")
    assert [statement.text for statement in case.statements] == ["迟到的申辩意见"]


def test_a_hearing_is_held_only_when_asked_for(service: Approvals, clock: ManualClock) -> None:
    case = proposed(service, clock)
    with pytest.raises(IllegalTransition) as raised:
        service.hold_hearing(case.case_id, "听证笔录")
    assert str(raised.value) == (
        f"case {case.case_id}: cannot hold_hearing in state REVOCATION_PROPOSED: no hearing "
        "was requested"
    )
    case = service.receive_statement(case.case_id, "请求听证", hearing_requested=True)
    clock.set(at(dt.date(2025, 10, 14)))
    case = service.hold_hearing(case.case_id, "听证笔录")
    assert case.hearing is not None
    assert (case.hearing.held_on, case.hearing.summary) == (dt.date(2025, 10, 14), "听证笔录")


# --- decide_revocation --------------------------------------------------------------------


def test_a_revocation_puts_its_consequences_in_the_outbox_with_the_event(
    service: Approvals, clock: ManualClock
) -> None:
    case = proposed(service, clock)
    case = service.receive_statement(case.case_id, "无异议")
    before = {pending.message.key for pending in service.store.outbox()}
    case = service.decide_revocation(case.case_id, authority="高邮市行政审批局")
    assert case.state is CaseState.REVOKED
    record = case.credit_record
    assert record is not None
    reference = case.licence_reference
    new = [p.message for p in service.store.outbox() if p.message.key not in before]
    assert [(m.key, m.destination, m.topic) for m in new] == [
        (
            f"{case.case_id}/licence-withdrawn/{reference}",
            "licences:licence-file",
            "licence-withdrawn",
        ),
        (f"{CITY}/revocation/CX-{case.case_id}/jsonl", "channel:jsonl", "revocation"),
        (
            f"{case.case_id}/licence-decision/{reference}/withdrawal/jsonl",
            "channel:jsonl",
            "withdrawal",
        ),
        (f"{CITY}/credit-record/{record.record_id}", "registry:credit-file", "dishonesty-record"),
        (
            f"{CITY}/dishonesty-record/{record.record_id}/jsonl",
            "channel:jsonl",
            "dishonesty-record",
        ),
    ]
    withdrawn, revocation, taken_down, pushed, entry = (m.payload for m in new)
    assert isinstance(case.revocation, Revoked)
    assert withdrawn == {
        "reference": reference,
        "holder": HOTEL.identifier,
        "withdrawn_on": "2025-10-09",
        "reason": case.revocation.grounds,
    }
    assert pushed == record.to_dict()
    assert revocation["fields"]["legal_basis"].startswith(
        "中华人民共和国行政许可法 第六十九条第二款"
    )
    assert (revocation["decided_on"], revocation["publish_by"]) == ("2025-10-09", "2025-10-17")
    assert (taken_down["on"], taken_down["publish_by"]) == ("2025-10-09", "2025-10-13")
    assert entry["fields"]["authority"] == "高邮市行政审批局"


def test_a_revocation_refused_for_the_public_interest_changes_nothing_outside(
    service: Approvals, clock: ManualClock
) -> None:
    case = proposed(service, clock)
    messages = len(service.store.outbox())
    case = service.decide_revocation(case.case_id, public_interest=True)
    assert case.state is CaseState.REVOCATION_REFUSED
    assert isinstance(case.revocation, RevocationRefused)
    assert case.revocation.reason.startswith("撤销该行政许可可能对公共利益造成重大损害")
    assert len(service.store.outbox()) == messages


# --- obligations --------------------------------------------------------------------------


def test_obligations_list_the_verification_then_the_deferred_materials(
    service: Approvals, clock: ManualClock
) -> None:
    case = issued(service)
    verification, *materials = service.obligations(case.case_id)
    assert (verification.kind, verification.due, verification.method, verification.outcome) == (
        ObligationKind.VERIFICATION,
        dt.date(2025, 10, 30),
        VerificationMethod.ON_SITE,
        None,
    )
    assert [(m.kind, m.code, m.due, m.outcome) for m in materials] == [
        (ObligationKind.DEFERRED_MATERIAL, code, dt.date(2025, 10, 10), None) for code in DEFERRED
    ]
    service.supply_material(case.case_id, "GGCSWSXK-04")
    verify(service, case)
    fulfilled, overdue = VerificationOutcome.FULFILLED, VerificationOutcome.DEFERRED_OVERDUE
    assert [o.outcome for o in service.obligations(case.case_id)] == [
        fulfilled,
        fulfilled,
        None,
        None,
    ]
    clock.set(at(dt.date(2025, 10, 13), 1, 0))
    service.tick()  # the other two are reported overdue
    assert [o.outcome for o in service.obligations(case.case_id)] == [
        fulfilled,
        fulfilled,
        overdue,
        overdue,
    ]


# --- tick ---------------------------------------------------------------------------------


def test_tick_lists_the_verifications_due_then_overdue_until_one_is_recorded(
    service: Approvals, clock: ManualClock
) -> None:
    case = issued(service, supply=True)
    report = service.tick()
    assert [(case_id, o.kind, o.due) for case_id, o in report.verifications_due] == [
        (case.case_id, ObligationKind.VERIFICATION, dt.date(2025, 10, 30))
    ]
    assert report.verifications_overdue == ()
    clock.set(at(dt.date(2025, 10, 30), 18))
    assert len(service.tick().verifications_due) == 1  # the last day
    clock.set(at(dt.date(2025, 10, 31)))
    report = service.tick()
    assert report.verifications_due == ()
    assert [(case_id, o.due) for case_id, o in report.verifications_overdue] == [
        (case.case_id, dt.date(2025, 10, 30))
    ]
    assert report.supervised == ()
    # A verification recorded, late and whatever it found, ends the listing.
    verify(service, service.case(case.case_id), VerificationOutcome.UNFULFILLED)
    report = service.tick()
    assert (report.verifications_due, report.verifications_overdue) == ((), ())


def test_a_recorded_verification_is_not_listed_while_materials_are_still_owed(
    service: Approvals, clock: ManualClock
) -> None:
    # Verified kept, but the deferred materials not yet due: the case stays ISSUED and is
    # ticked, yet no verification is owed any more.
    case = verify(service, issued(service))
    clock.set(at(dt.date(2025, 10, 9)))
    report = service.tick()
    assert service.case(case.case_id).state is CaseState.ISSUED
    assert (report.verifications_due, report.verifications_overdue) == ((), ())


def test_tick_reports_the_cases_it_moved_under_supervision(
    service: Approvals, clock: ManualClock
) -> None:
    case = issued(service)
    other = issued(service, SALON, supply=True)
    clock.set(at(dt.date(2025, 10, 13), 1, 0))
    report = service.tick()
    assert report.supervised == (case.case_id,)
    assert service.case(other.case_id).state is CaseState.ISSUED
    assert {case_id for case_id, _ in report.verifications_due} == {case.case_id, other.case_id}
    clock.set(at(dt.date(2025, 10, 28), 1, 0))
    report = service.tick()
    assert report.supervised == (case.case_id,)
    assert service.case(case.case_id).state is CaseState.REVOCATION_PROPOSED
    # Long after the statement window the tick still decides nothing: that is an officer's.
    clock.set(at(dt.date(2025, 11, 20)))
    assert service.tick().supervised == ()
    assert service.case(case.case_id).state is CaseState.REVOCATION_PROPOSED


class DownChannel:
    """A publishing channel that is down until ``up`` is set."""

    name = "credit-website"

    def __init__(self) -> None:
        self.up = False
        self.published: list[str] = []

    def publish(self, message: OutboxMessage) -> None:
        if not self.up:
            raise ConnectionError("信用扬州 is unreachable")
        self.published.append(message.key)


class ChannelPlugin:
    def __init__(self, channel: object) -> None:
        self.channel = channel

    @hookimpl
    def creditcommit_publishing_channels(self, city: str) -> list[object] | None:
        return [self.channel] if city == CITY else None


def test_tick_reports_publications_past_their_deadline_while_a_channel_keeps_failing(
    config: Path, clock: ManualClock
) -> None:
    website = DownChannel()
    with Approvals.from_config(
        config, clock=clock, autoload=False, plugins=[ChannelPlugin(website)]
    ) as service:
        case = issued(service)
        key = f"{case.case_id}/licence-decision/{case.licence_reference}/credit-website"
        # Due by 2025-10-13 (7 working days): not late on the day itself.
        clock.set(at(dt.date(2025, 10, 13), 18))
        report = service.tick()
        assert report.publications_overdue == ()
        assert [failure.key for failure in report.delivery.failed] == [key]
        clock.set(at(dt.date(2025, 10, 14), 1, 0))
        report = service.tick()
        assert report.publications_overdue == (key,)
        assert [failure.key for failure in report.delivery.failed] == [key]
        # The channel recovers: this tick still reports it late, and delivers it.
        website.up = True
        clock.advance(hours=2)
        report = service.tick()
        assert report.publications_overdue == (key,)
        assert report.delivery.delivered == (key,)
        assert website.published == [key]
        assert service.tick().publications_overdue == ()


# --- 双随机 draws --------------------------------------------------------------------------


ROSTER = [
    Inspector("YZ-01", "王明"),
    Inspector("YZ-02", "李华"),
    Inspector("YZ-03", "张伟"),
]


def commitment(seed: bytes = SEED) -> str:
    return SeedCommitment.create(seed).digest


def test_commitment_targets_are_the_licences_on_commitment_still_held(
    service: Approvals, clock: ManualClock
) -> None:
    hotel = issued(service)
    salon = issued(service, SALON)
    standard = service.submit(
        item=GAOYOU, applicant=BATHS, provided=[FORM, "GGCSWSXK-05", *DEFERRED]
    )
    standard = service.issue(service.accept(standard.case_id).case_id)
    assert standard.licence is not None
    clock.set(at(dt.date(2025, 10, 9)))
    revoked = verify(service, issued(service), VerificationOutcome.FALSE_COMMITMENT)
    revoked = service.receive_statement(revoked.case_id, "无异议")
    revoked = service.decide_revocation(revoked.case_id)
    assert revoked.state is CaseState.REVOKED
    targets = service.commitment_targets(dt.date(2025, 9, 1), dt.date(2025, 12, 31))
    assert targets == (
        Target(f"XK-{hotel.case_id}", "B", (GAOYOU, hotel.case_id)),
        Target(f"XK-{salon.case_id}", "A", (GAOYOU, salon.case_id)),
    )
    # Issued outside the period: not a target.
    assert service.commitment_targets(dt.date(2025, 9, 27), dt.date(2025, 12, 31)) == ()


def test_a_draw_is_stored_published_and_verifiable(
    service: Approvals, clock: ManualClock, config: Path
) -> None:
    issued(service)
    issued(service, SALON)
    targets = service.commitment_targets(dt.date(2025, 9, 1), dt.date(2025, 9, 30))
    clock.set(at(dt.date(2025, 11, 3)))
    record = service.draw(
        "扬州-2025-双随机-01",
        targets,
        inspectors=ROSTER,
        seed=SEED,
        commitment=commitment(),
    )
    # One in 25 of grade B, one in 100 of grade A: rounded up, both are drawn.
    assert sorted(s.target.id for s in record.selections) == sorted(t.id for t in targets)
    assert all(len(s.inspectors) == 2 for s in record.selections)
    (stored,) = service.store.read("draw:扬州-2025-双随机-01")
    assert (stored.type, stored.payload) == ("draw-recorded", record.to_dict())
    assert service.draws() == (record,)
    assert verify_draw(service.draws()[0], targets=targets, commitment=commitment())
    (message,) = outbox(service, "inspection-draw")
    assert (message.key, message.destination) == ("draw:扬州-2025-双随机-01/jsonl", "channel:jsonl")
    assert service.deliver().failed == ()
    lines = (config.parent / "publications.jsonl").read_text(encoding="utf-8").splitlines()
    (published,) = [json.loads(line) for line in lines if '"inspection-draw"' in line]
    assert published["payload"] == record.to_dict()


def test_a_published_draw_masks_resident_ids(service: Approvals, clock: ManualClock) -> None:
    # A target registered under its holder's resident identity number (a natural person).
    rid = "11010519491231002X"
    clock.set(at(dt.date(2025, 11, 3)))
    service.draw(
        "扬州-2025-双随机-09",
        [Target(rid, "A")],
        inspectors=ROSTER,
        seed=SEED,
        commitment=commitment(),
    )
    (stored,) = service.store.read("draw:扬州-2025-双随机-09")
    assert rid in repr(stored.payload)  # kept in full for verify_draw
    (message,) = outbox(service, "inspection-draw")
    published = repr(message.payload)
    assert rid not in published
    assert "110105********002X" in published


def test_a_roster_that_cannot_cover_a_target_stores_nothing(
    service: Approvals, clock: ManualClock
) -> None:
    hotel = issued(service)
    targets = service.commitment_targets(dt.date(2025, 9, 1), dt.date(2025, 9, 30))
    roster = ROSTER[:2]
    conflicts = [Conflict("YZ-01", f"XK-{hotel.case_id}", "近亲属任职")]
    size, messages = log_size(service), len(service.store.outbox())
    with pytest.raises(DrawError) as raised:
        service.draw(
            "扬州-2025-双随机-02",
            targets,
            inspectors=roster,
            conflicts=conflicts,
            seed=SEED,
            commitment=commitment(),
        )
    assert (raised.value.rule, raised.value.eligible, raised.value.needed) == ("coverage", 1, 2)
    assert str(raised.value) == (
        f"cannot draw: target 'XK-{hotel.case_id}' needs 2 inspectors but only 1 of the 2 on "
        "the roster may inspect it (1 recused) (rule: coverage)"
    )
    assert (log_size(service), len(service.store.outbox())) == (size, messages)
    assert service.store.streams(kind="draw") == ()
    assert service.draws() == ()
