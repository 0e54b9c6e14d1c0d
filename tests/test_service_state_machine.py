"""A Hypothesis state machine drives :class:`creditcommit.Approvals` on SQLite (issues 4, 5).

Random sequences of actions — submit, choose the standard route, sign, accept, issue,
refuse, supply a material, pause and resume the clock, withdraw; after the licence record a
verification (two inspectors, a random outcome), the result of a rectification, a statement
(sometimes asking for a hearing), hold the hearing, decide the revocation (sometimes
refusing it for the public interest, which the sample policy allows); let working days pass
and tick across the deadlines, deliver, deliver again — run against the service with the
built-in plugins on real files in a temporary directory (SQLite event store, credit file,
licence file, JSON-lines channel) and a :class:`~creditcommit.ManualClock` the machine
moves. The catalogue is the bundled sample, with Gaoyou's health permit decided on the spot
in a third of the runs and not in the others, so that both 先证后核 and suspension and
return (退件) come up. One applicant is a natural person identified by a resident identity
number, which no publication may show in full.

Each action is predicted legal or illegal from the case the service last returned; an
illegal one must raise :class:`~creditcommit.IllegalTransition` and append nothing. After
every step the invariants of issues 4 and 5 are checked against the store, the credit file,
the licence file and the channel file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from creditcommit import (
    CHINA_TIME,
    Applicant,
    ApplicantKind,
    Approvals,
    Case,
    CaseState,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordCreated,
    CreditRecordKind,
    HearingHeld,
    IllegalTransition,
    ManualClock,
    Obligation,
    ObligationKind,
    OutboxMessage,
    PauseReason,
    ProjectFacts,
    ProjectLevel,
    RevocationProposed,
    RevocationRefused,
    Revoked,
    Route,
    Severity,
    Signer,
    StatementReceived,
    SupervisionAction,
    VerificationMethod,
    VerificationOutcome,
    mask_resident_ids,
)
from creditcommit.builtin import (
    FileCreditRegistry,
    FileCreditSource,
    FileLicenceStore,
    JsonLinesChannel,
)
from creditcommit.case import RouteChosen, RouteDecided, due, next_deadline
from creditcommit.catalog import ApprovalItem
from creditcommit.delivery import Destinations
from creditcommit.errors import ReapplicationBarred
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import Disposition
from creditcommit.ports import IssuedLicence

CITY = "321000"
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
ITEMS = (JIANGDU, GAOYOU)
CODES = {
    JIANGDU: tuple(f"TZXMBA-0{n}" for n in range(1, 5)),
    GAOYOU: tuple(f"GGCSWSXK-0{n}" for n in range(1, 8)),
}
START = dt.datetime(2025, 9, 1, 9, 0, tzinfo=CHINA_TIME)
# The calendar covers 2026; the clock stops moving on this day so that every due date, grace
# period, rectification deadline, statement window and publication deadline stays inside it.
LAST_DAY = dt.date(2026, 6, 30)
KEYS = ("request-1", "request-2", "request-3")
SUPPLYING = frozenset(
    {
        CaseState.DECIDED,
        CaseState.COMMITTED,
        CaseState.ACCEPTED,
        CaseState.SUSPENDED,
        CaseState.ISSUED,
        CaseState.RECTIFYING,
    }
)
# The states the tick looks at: the application's deadlines, and supervision's.
TICKED = frozenset(
    {CaseState.ACCEPTED, CaseState.SUSPENDED, CaseState.ISSUED, CaseState.RECTIFYING}
)
ROSTER = ("王明", "李华", "张伟")
# A kept commitment is the usual finding; a broken one still comes up often.
OUTCOMES = (
    VerificationOutcome.FULFILLED,
    VerificationOutcome.FULFILLED,
    VerificationOutcome.UNFULFILLED,
    VerificationOutcome.FALSE_COMMITMENT,
)
FINDINGS = {
    VerificationOutcome.FULFILLED: "现场核查：与承诺一致",
    VerificationOutcome.UNFULFILLED: "现场核查：卫生管理制度未建立",
    VerificationOutcome.FALSE_COMMITMENT: "现场核查：承诺内容与事实不符",
}


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


# The applicant pool: grades and records set in the credit file, licences in the licence
# store; DOWN's credit lookup fails (unavailable_subjects, the built-in testing aid); PERSON
# is a natural person identified by a resident identity number.
GRADE_A = Applicant(_uscc("91321084MA1TM0001"), "高邮某甲级公司")
GRADE_B = Applicant(_uscc("91321084MA1TM0002"), "高邮某乙级公司")
GRADE_C = Applicant(_uscc("91321084MA1TM0003"), "高邮某丙级公司")
UNGRADED = Applicant(_uscc("91321084MA1TM0004"), "高邮某新设公司")
RECORDED = Applicant(_uscc("91321084MA1TM0005"), "高邮某失信公司")
DOWN = Applicant(_uscc("91321084MA1TM0006"), "高邮某查询失败公司")
PERSON = Applicant("321084198503120434", "王某", ApplicantKind.NATURAL_PERSON)
PERSON_MASKED = "321084********0434"
POOL = (GRADE_A, GRADE_B, GRADE_C, UNGRADED, RECORDED, DOWN, PERSON)
GRADES = {GRADE_A: "A", GRADE_B: "B", GRADE_C: "C", RECORDED: "B", DOWN: "B", PERSON: "B"}
HELD = {
    GRADE_A: ("business-licence", "uscc-certificate", "resident-identity-card"),
    GRADE_B: ("business-licence", "resident-identity-card"),
    RECORDED: ("business-licence",),
    DOWN: ("business-licence", "uscc-certificate"),
    PERSON: ("resident-identity-card",),
}


def catalogue_text(on_the_spot: bool) -> str:
    """The bundled sample catalogue, with Gaoyou's permit decided on the spot or not."""
    text = (files("creditcommit") / "data" / "sample_catalog.toml").read_text(encoding="utf-8")
    head, marker, gaoyou = text.partition(f'code = "{GAOYOU}"')
    assert marker
    assert "on_the_spot = true" in gaoyou
    flag = "true" if on_the_spot else "false"
    return head + marker + gaoyou.replace("on_the_spot = true", f"on_the_spot = {flag}", 1)


def prepare(directory: Path, *, on_the_spot: bool) -> Path:
    """The configuration, catalogue, credit file and licence file of one run."""
    (directory / "catalog.toml").write_text(catalogue_text(on_the_spot), encoding="utf-8")
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\n'
        'store = "sqlite:cases.db"\n'
        'catalog = "catalog.toml"\n'
        'policy = "sample"\n'
        "[plugins.builtin]\n"
        f'unavailable_subjects = ["{DOWN.identifier}"]\n',
        encoding="utf-8",
    )
    credit = FileCreditSource(directory / "credit.db")
    for applicant, grade in GRADES.items():
        credit.set_grade(applicant.identifier, grade, city=CITY)
    credit.add_record(
        CreditRecord.with_default_periods(
            record_id="GY-2025-0101",
            subject=RECORDED.identifier,
            kind=CreditRecordKind.DISHONESTY,
            severity=Severity.GENERAL,
            decided_on=dt.date(2025, 3, 1),
        ),
        city=CITY,
    )
    licences = FileLicenceStore(directory / "licences.db")
    for applicant, types in HELD.items():
        for licence_type in types:
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


def legal(case: Case, action: str, code: str | None = None) -> bool:
    """Whether ``action`` is allowed on ``case``: the lifecycle's table, written out again."""
    state, route, plan = case.state, case.route, case.plan
    assert route is not None  # every stored case has its route decided
    assert plan is not None
    running = state is CaseState.ACCEPTED and not case.is_paused
    if action == "sign_commitment":
        return state is CaseState.DECIDED and route.is_commitment
    if action == "choose_standard":
        return state in {CaseState.DECIDED, CaseState.COMMITTED} and route.is_commitment
    if action == "accept":
        signed = not route.is_commitment or case.commitment is not None
        return state in {CaseState.DECIDED, CaseState.COMMITTED} and plan.acceptable and signed
    if action == "issue":
        owed = plan.missing or case.outstanding
        return running and (route.is_commitment or not owed)
    if action in {"refuse", "pause_clock"}:
        return running
    if action == "resume_clock":
        return state is CaseState.ACCEPTED and case.is_paused
    if action == "withdraw":
        return state.in_progress
    assert action == "supply_material"
    assert code is not None
    line = next((line for line in plan.lines if line.code == code), None)
    if state not in SUPPLYING or line is None:
        return False
    if line.disposition is Disposition.MISSING:
        return True
    supplied = {event.code for event in case.supplied}
    return line.disposition is Disposition.DEFERRED and code not in supplied


def supervision_legal(
    case: Case,
    action: str,
    day: dt.date,
    *,
    met: bool = False,
    hearing_requested: bool = False,
    public_interest: bool = False,
    exception: bool = True,
) -> bool:
    """Whether a supervision action is allowed on ``case`` on ``day``, written out again
    from the procedure (docs/supervision.md) rather than asked of the lifecycle.
    ``exception``: the policy provides the public-interest exception."""
    state, route = case.state, case.route
    assert route is not None
    if action == "record_verification":
        # On a licence issued on commitment; again after the case closed (a false
        # commitment found later).
        return state in {CaseState.ISSUED, CaseState.CLOSED} and route.is_commitment
    if action == "rectification_result":
        order = case.rectification
        if state is not CaseState.RECTIFYING or case.rectification_failure is not None:
            # A filing's failed correction stays recorded: nothing more is decided here.
            return False
        assert order is not None
        if met:
            supplied = {done.code for done in case.supplied}
            return all(code in supplied for code in order.materials)
        return day > order.deadline
    if state is not CaseState.REVOCATION_PROPOSED:
        return False
    proposal = case.proposal
    assert proposal is not None
    requested = any(statement.hearing_requested for statement in case.statements)
    if action == "receive_statement":
        # A statement may come late; a hearing is requested within the window, once.
        return not hearing_requested or (not requested and day <= proposal.statement_due)
    if action == "hold_hearing":
        return requested and case.hearing is None
    assert action == "decide_revocation"
    if public_interest:
        # Refusing favours the holder: it need not wait for the window.
        return exception
    heard = bool(case.statements) or day > proposal.statement_due
    return heard and (not requested or case.hearing is not None)


# The event types each action may append (first the action's own, then its consequences).
APPENDS = {
    "choose_standard": {"route-chosen"},
    "sign_commitment": {"commitment-signed", "commitment-signed-ref"},
    "accept": {"accepted", "licence-issued"},
    "issue": {"licence-issued"},
    "refuse": {"refused"},
    "supply_material": {"material-supplied", "resumed", "rectification-met", "closed"},
    "pause_clock": {"clock-paused"},
    "resume_clock": {"clock-resumed"},
    "withdraw": {"withdrawn"},
    "record_verification": {
        "verification-recorded",
        "closed",
        "rectification-ordered",
        "revocation-proposed",
    },
    "rectification_result": {
        "rectification-met",
        "closed",
        "rectification-failed",
        "revocation-proposed",
    },
    "receive_statement": {"statement-received"},
    "hold_hearing": {"hearing-held"},
    "decide_revocation": {"revoked", "credit-record-created", "revocation-refused"},
}
# What follows an adverse outcome under the policy's revocation_rules, as an event type.
CONSEQUENCE = {
    SupervisionAction.RECTIFY: "rectification-ordered",
    SupervisionAction.PROPOSE_REVOCATION: "revocation-proposed",
}


def kept_after_rectification(case: Case) -> bool:
    """Whether the commitment counts as verified kept once the current order is met."""
    order = case.rectification
    assert order is not None
    return case.verification_met or order.outcome is not VerificationOutcome.DEFERRED_OVERDUE


class ApprovalsMachine(RuleBasedStateMachine):
    """The service, a replaying second service on the same files, and the cases as returned."""

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="creditcommit-machine-"))
        self.clock = ManualClock(START)
        self.config = self.directory / "creditcommit.toml"
        self.services: list[Approvals] = []
        # What the service returned last for each case: the model the store must match.
        self.model: dict[str, Case] = {}
        self.keys: dict[str, str] = {}
        # The log as read so far: its length, each stream's event types, the streams that
        # changed since the invariants last replayed them.
        self.seen = 0
        self.types: dict[str, list[str]] = {}
        self.touched: set[str] = set()

    # -- set-up and tear-down ---------------------------------------------------------

    # Mostly not on the spot: then a commitment case waits for its deferred materials, and
    # the deadlines, suspension and return come up.
    @initialize(target=cases, on_the_spot=st.sampled_from([False, False, True]), data=st.data())
    def open_service(self, on_the_spot: bool, data: st.DataObject) -> str | MultipleResults[str]:
        prepare(self.directory, on_the_spot=on_the_spot)
        self.service = self.open()
        # A second service on the same files, with its own store connection: the log must
        # fold to what the first one returned.
        self.replayer = self.open()
        # A first case, so that the actions have something to act on from the first step.
        return self.new_case(data)

    def open(self) -> Approvals:
        service = Approvals.from_config(self.config, clock=self.clock, autoload=False)
        self.services.append(service)
        return service

    def teardown(self) -> None:
        try:
            if self.model:
                with Approvals.from_config(self.config, clock=self.clock, autoload=False) as fresh:
                    for case_id, case in self.model.items():
                        assert fresh.case(case_id) == case
                    assert fresh.verify().ok
        finally:
            for service in self.services:
                service.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        return self.clock.now.astimezone(CHINA_TIME).date()

    def log_size(self) -> int:
        """How many events the log holds; the types of each stream's events are kept."""
        for stored in self.service.store.events(after=self.seen, limit=1_000_000):
            assert stored.position == self.seen + 1
            self.seen = stored.position
            self.types.setdefault(stored.stream, []).append(stored.type)
            self.touched.add(stored.stream)
        return self.seen

    def outbox_size(self) -> int:
        return len(self.service.store.outbox())

    def act(
        self,
        case_id: str,
        action: str,
        call: Callable[[], Case],
        *,
        allowed: bool,
        expect: Sequence[str] | None = None,
    ) -> None:
        """Run ``call`` and check what it appended against what it returned (and against
        ``expect``, the event types predicted, where given)."""
        before = self.model[case_id]
        event(f"{action} in {before.state.name}: {'allowed' if allowed else 'illegal'}")
        size, outbox = self.log_size(), self.outbox_size()
        if not allowed:
            with pytest.raises(IllegalTransition) as raised:
                call()
            assert (raised.value.case_id, raised.value.state) == (case_id, before.state.name)
            assert raised.value.action == action
            assert self.log_size() == size, "an illegal action appended events"
            assert self.outbox_size() == outbox, "an illegal action wrote to the outbox"
            return
        after = call()
        added = after.version - before.version
        assert added >= 1
        assert after.history[: before.version] == before.history
        stored = self.service.store.read(case_id)
        assert len(stored) == after.version
        assert self.log_size() == size + added, "the action appended to another stream"
        new = [stored_event.type for stored_event in stored[before.version :]]
        assert set(new) <= APPENDS[action], new
        assert new[0] in APPENDS[action]
        if expect is not None:
            assert new == list(expect)
        self.model[case_id] = after

    def rules_action(self, outcome: VerificationOutcome) -> str:
        rules = self.service.policy().at(self.today).revocation_rules
        return CONSEQUENCE[rules.action(outcome)]

    # -- actions ----------------------------------------------------------------------

    @rule(target=cases, data=st.data())
    def submit(self, data: st.DataObject) -> str | MultipleResults[str]:
        """A random application, sometimes with a key used before (a retried request)."""
        return self.new_case(data, key=data.draw(st.none() | st.sampled_from(KEYS), label="key"))

    @rule(target=cases, data=st.data())
    def fast_track(self, data: st.DataObject) -> str | MultipleResults[str]:
        """A random application taken along the usual path (every step checked), so that
        runs reach acceptance, the licence and the deferred materials' deadlines."""
        case_id = self.new_case(data, items=(GAOYOU, GAOYOU, JIANGDU))
        if not isinstance(case_id, str):  # refused (a statutory ban): nothing to take along
            return case_id
        for _ in range(3):
            if self.model[case_id].state in {CaseState.ACCEPTED, CaseState.ISSUED}:
                break
            self.progress(case_id, data)
        return case_id

    @rule(case_id=cases, data=st.data())
    def follow_through(self, case_id: str, data: st.DataObject) -> None:
        """Several usual next steps on one case, so that runs get through supervision:
        verification, rectification, the proposal, the hearing and the decision."""
        for _ in range(data.draw(st.integers(2, 10), label="steps")):
            if not self.model[case_id].state.in_progress and not self.supervising(case_id):
                break
            self.progress(case_id, data)

    def new_case(
        self, data: st.DataObject, key: str | None = None, items: tuple[str, ...] = ITEMS
    ) -> str | MultipleResults[str]:
        applicant = data.draw(st.sampled_from(POOL), label="applicant")
        item = data.draw(st.sampled_from(items), label="item")
        provided = data.draw(st.sets(st.sampled_from(CODES[item])), label="provided")
        major = data.draw(st.sampled_from([None, *ProjectLevel]), label="major project")
        # Mostly the route decided, so that commitments are made and supervised.
        standard = data.draw(st.sampled_from([False, False, True]), label="choose standard")
        size = self.log_size()
        # What the credit file says now: records pushed after earlier revocations included.
        on_file = FileCreditSource(self.directory / "credit.db").read(
            applicant.identifier, city=CITY, at=self.clock.now
        )
        refused: ReapplicationBarred | None = None
        try:
            case = self.service.submit(
                item=item,
                applicant=applicant,
                project=ProjectFacts(major_level=major),
                provided=provided,
                choose_standard=standard,
                key=key,
            )
        except ReapplicationBarred as barred:
            refused = barred
        if refused is not None:
            # 行政许可法 Arts 78-79: a record of this applicant about this item bars applying
            # for it again; the application is refused and nothing is written.
            assert (refused.item, refused.applicant) == (item, applicant.identifier)
            assert any(
                record.record_id == refused.record_id and record.item_code == item
                for record in on_file.records
            )
            assert refused.until > self.clock.now.date()
            assert self.log_size() == size
            return multiple()
        if key is not None and key in self.keys:
            # The same key: the case the first submission made, and nothing asked or written.
            assert case.case_id == self.keys[key]
            assert case == self.model[case.case_id]
            assert self.log_size() == size
            return multiple()
        assert case.case_id not in self.model
        assert case.case_id.startswith(f"{CITY}-{self.clock.now:%Y%m%d}-N")
        assert case.state is CaseState.DECIDED
        assert case.version == 4
        assert case.submission.provided == tuple(sorted(provided))
        assert case.submission.idempotency_key == key
        assert self.log_size() == size + 4
        self.check_feedback(case, on_file)
        self.model[case.case_id] = case
        if key is not None:
            self.keys[key] = case.case_id
        return case.case_id

    def check_feedback(self, case: Case, on_file: CreditEvidence) -> None:
        """The credit-feedback loop: a record a revocation pushed is in the evidence of the
        holder's next application, and bars the commitment route with a reason citing it."""
        evidence = case.evidence
        if isinstance(evidence, CreditLookupFailure):
            return
        if evidence is None:
            # A major project under the sample's Jiangdu rule: no credit query is made.
            event("a major project is decided without a credit query")
            assert case.decision is not None
            assert case.decision.major_project
            assert "major-project-no-query" in case.decision.reason_codes
            return
        assert evidence.records == on_file.records
        decision = case.decision
        assert decision is not None
        pushed = [r for r in evidence.records if r.record_id.endswith("-revoked")]
        for record in pushed:
            event("an applicant with a revocation record applies again")
            assert decision.eligible_route is Route.STANDARD
            cited = {
                reason.params.get("record_id")
                for reason in decision.reasons
                if reason.code.startswith("blocking-record")
            }
            assert record.record_id in cited

    # Each action on a case, as often as it appears here: the usual next step most often,
    # so that runs get past the first states; the case-closing actions least often.
    ACTIONS = (
        *["progress"] * 6,
        *["supply_material"] * 3,
        *["sign_commitment", "accept", "issue", "pause_clock", "resume_clock"] * 2,
        *["record_verification"] * 2,
        "rectification_result",
        "receive_statement",
        "hold_hearing",
        "decide_revocation",
        "choose_standard",
        "refuse",
        "withdraw",
    )

    @rule(case_id=cases, action=st.sampled_from(ACTIONS), data=st.data())
    def act_on_case(self, case_id: str, action: str, data: st.DataObject) -> None:
        getattr(self, action)(case_id, data)

    def supervising(self, case_id: str) -> bool:
        """Whether supervision still has a next step for the case."""
        case = self.model[case_id]
        return case.state in {
            CaseState.ISSUED,
            CaseState.RECTIFYING,
            CaseState.REVOCATION_PROPOSED,
            CaseState.CLOSED,
        }

    def progress(self, case_id: str, data: st.DataObject) -> None:
        """The next step of the usual path: sign, bring every missing material in one visit,
        accept, resume a paused clock, issue once no deferred material is owed; the
        applicant brings a deferred material now and then (or does not, and the deadline
        passes). After the licence: verify the commitment, answer a rectification order,
        state and defend, hold the hearing asked for, decide; inspect a closed case again."""
        case = self.model[case_id]
        plan = case.plan
        assert plan is not None
        assert case.route is not None
        owed = [line.code for line in case.outstanding]
        if legal(case, "sign_commitment"):
            self.sign_commitment(case_id, data)
        elif case.state in {CaseState.DECIDED, CaseState.COMMITTED} and plan.missing:
            for line in plan.missing:
                self.supply(case_id, line.code)
        elif legal(case, "accept"):
            self.accept(case_id, data)
        elif legal(case, "resume_clock"):
            self.resume_clock(case_id, data)
        elif case.state is CaseState.REVOCATION_PROPOSED:
            self.procedure_step(case_id, data)
        elif case.state is CaseState.RECTIFYING:
            self.rectification_step(case_id, data)
        elif (
            case.state is CaseState.ISSUED
            and case.route.is_commitment
            and not case.verifications
            and data.draw(st.booleans(), label="the agency verifies now")
        ):
            self.record_verification(case_id, data)
        elif case.state is CaseState.CLOSED:
            if data.draw(st.booleans(), label="a later inspection"):
                self.record_verification(case_id, data)
        elif owed and case.state in SUPPLYING:
            if data.draw(st.booleans(), label="the applicant brings a deferred material"):
                self.supply(case_id, data.draw(st.sampled_from(owed), label="code"))
            else:
                self.working_days_pass(data)
        elif legal(case, "issue"):
            self.issue(case_id, data)

    def rectification_step(self, case_id: str, data: st.DataObject) -> None:
        """Under a rectification order: bring an ordered material, or not; or the officer
        records the result; or the deadline passes."""
        case = self.model[case_id]
        order = case.rectification
        assert order is not None
        supplied = {done.code for done in case.supplied}
        owed = [code for code in order.materials if code not in supplied]
        step = data.draw(
            st.sampled_from(["supply", "result", "days"] if owed else ["result", "days"]),
            label="rectification step",
        )
        if step == "supply":
            self.supply(case_id, data.draw(st.sampled_from(owed), label="code"))
        elif step == "result":
            self.rectification_result(case_id, data)
        else:
            self.working_days_pass(data)

    def procedure_step(self, case_id: str, data: st.DataObject) -> None:
        """On a revocation proposal: the holder states and defends (asking for a hearing or
        not) or stays silent while days pass; the hearing asked for is held; the officer
        decides once the holder was heard."""
        case = self.model[case_id]
        proposal = case.proposal
        assert proposal is not None
        if case.hearing_request is not None and case.hearing is None:
            self.hold_hearing(case_id, data)
        elif case.statements or self.today > proposal.statement_due:
            self.decide_revocation(case_id, data)
        else:
            step = data.draw(
                st.sampled_from(["statement", "days", "days", "decide"]), label="procedure step"
            )
            if step == "statement":
                self.receive_statement(case_id, data)
            elif step == "decide":
                self.decide_revocation(case_id, data)
            else:
                self.working_days_pass(data)

    def supply(self, case_id: str, code: str) -> None:
        case = self.model[case_id]
        allowed = legal(case, "supply_material", code)
        expect = None
        if allowed and case.state is CaseState.RECTIFYING:
            order = case.rectification
            assert order is not None
            arrived = {done.code: done.supplied_on for done in case.supplied}
            arrived[code] = self.today
            expect = ["material-supplied"]
            if order.materials and all(
                arrived.get(owed, dt.date.max) <= order.deadline for owed in order.materials
            ):
                # The last ordered material by the deadline: the rectification is met.
                expect.append("rectification-met")
                left = [line for line in case.outstanding if line.code != code]
                if not left and kept_after_rectification(case):
                    expect.append("closed")
        self.act(
            case_id,
            "supply_material",
            lambda: self.service.supply_material(case_id, code),
            allowed=allowed,
            expect=expect,
        )

    def choose_standard(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        self.act(
            case_id,
            "choose_standard",
            lambda: self.service.choose_route(case_id, Route.STANDARD),
            allowed=legal(case, "choose_standard"),
        )

    def sign_commitment(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        signer = Signer(case.applicant.name, case.applicant.identifier)
        self.act(
            case_id,
            "sign_commitment",
            lambda: self.service.sign_commitment(case_id, signer),
            allowed=legal(case, "sign_commitment"),
        )

    def accept(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        self.act(
            case_id,
            "accept",
            lambda: self.service.accept(case_id),
            allowed=legal(case, "accept"),
        )
        after = self.model[case_id]
        if after is not case:
            item = self.service.catalog().item(case.item_code, case.item_valid_from)
            on_the_spot = case.route is not None and case.route.is_commitment and item.on_the_spot
            # A filing (备案) is recorded at acceptance on every route.
            issued = on_the_spot or item.is_filing
            assert after.state is (CaseState.ISSUED if issued else CaseState.ACCEPTED)

    def issue(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        self.act(
            case_id, "issue", lambda: self.service.issue(case_id), allowed=legal(case, "issue")
        )

    def refuse(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        self.act(
            case_id,
            "refuse",
            lambda: self.service.refuse(case_id, "现场核查不符合卫生要求"),
            allowed=legal(case, "refuse"),
        )

    def supply_material(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        # Mostly the case's own materials, sometimes one of the other item's.
        codes = CODES[case.item_code] + (CODES[JIANGDU][0], CODES[GAOYOU][0])
        self.supply(case_id, data.draw(st.sampled_from(codes), label="code"))

    def pause_clock(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        reason = data.draw(st.sampled_from(PauseReason), label="reason")
        self.act(
            case_id,
            "pause_clock",
            lambda: self.service.pause_clock(case_id, reason),
            allowed=legal(case, "pause_clock"),
        )

    def resume_clock(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        self.act(
            case_id,
            "resume_clock",
            lambda: self.service.resume_clock(case_id),
            allowed=legal(case, "resume_clock"),
        )

    def withdraw(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        reason = data.draw(st.none() | st.just("申请人主动撤回"), label="reason")
        self.act(
            case_id,
            "withdraw",
            lambda: self.service.withdraw(case_id, reason),
            allowed=legal(case, "withdraw"),
        )

    # -- supervision --------------------------------------------------------------------

    def record_verification(self, case_id: str, data: st.DataObject) -> None:
        """Two inspectors verify the commitment and find a random outcome."""
        case = self.model[case_id]
        inspectors = data.draw(
            st.lists(st.sampled_from(ROSTER), min_size=2, max_size=2, unique=True),
            label="inspectors",
        )
        outcome = data.draw(st.sampled_from(OUTCOMES), label="outcome")
        allowed = supervision_legal(case, "record_verification", self.today)
        expect = ["verification-recorded"]
        if outcome.adverse:
            # A filing is ordered corrected under its own rule, never proposed for revocation.
            filing = self.is_filing(case)
            expect.append("rectification-ordered" if filing else self.rules_action(outcome))
        elif case.state is CaseState.ISSUED and not case.outstanding:
            expect.append("closed")
        self.act(
            case_id,
            "record_verification",
            lambda: self.service.record_verification(
                case_id, inspectors=inspectors, findings=FINDINGS[outcome], outcome=outcome
            ),
            allowed=allowed,
            expect=expect,
        )

    def rectification_result(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        met = data.draw(st.booleans(), label="met")
        allowed = supervision_legal(case, "rectification_result", self.today, met=met)
        expect = ["rectification-failed"]
        if not self.is_filing(case):
            expect.append("revocation-proposed")
        if met and allowed:
            expect = ["rectification-met"]
            if not case.outstanding and kept_after_rectification(case):
                expect.append("closed")
        self.act(
            case_id,
            "rectification_result",
            lambda: self.service.rectification_result(
                case_id, met=met, findings="复查：已整改到位" if met else None
            ),
            allowed=allowed,
            expect=expect,
        )

    def receive_statement(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        hearing = data.draw(st.booleans(), label="hearing requested")
        allowed = supervision_legal(
            case, "receive_statement", self.today, hearing_requested=hearing
        )
        if hearing:
            event(f"a hearing requested: {'allowed' if allowed else 'illegal'}")
        self.act(
            case_id,
            "receive_statement",
            lambda: self.service.receive_statement(
                case_id, "已着手整改，请求从轻处理", hearing_requested=hearing
            ),
            allowed=allowed,
            expect=["statement-received"],
        )

    def hold_hearing(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        self.act(
            case_id,
            "hold_hearing",
            lambda: self.service.hold_hearing(case_id, "听证：当事人陈述整改情况"),
            allowed=supervision_legal(case, "hold_hearing", self.today),
            expect=["hearing-held"],
        )

    def decide_revocation(self, case_id: str, data: st.DataObject) -> None:
        case = self.model[case_id]
        public_interest = data.draw(
            st.sampled_from([False, False, False, True]), label="public interest"
        )
        rules = self.service.policy().at(self.today).revocation_rules
        allowed = supervision_legal(
            case,
            "decide_revocation",
            self.today,
            public_interest=public_interest,
            exception=rules.public_interest_exception,
        )
        expect = ["revocation-refused"] if public_interest else ["revoked", "credit-record-created"]
        self.act(
            case_id,
            "decide_revocation",
            lambda: self.service.decide_revocation(
                case_id, public_interest=public_interest, authority="高邮市行政审批局"
            ),
            allowed=allowed,
            expect=expect,
        )
        after = self.model[case_id]
        if after is not case and public_interest:
            event("a revocation refused for the public interest")
        if after is not case and not public_interest:
            proposal = case.proposal
            record = after.credit_record
            assert proposal is not None
            assert record is not None
            # The record the proposal announced, about the holder, decided today.
            assert (record.kind, record.severity) == (
                proposal.record_kind,
                proposal.record_severity,
            )
            assert (record.subject, record.decided_on) == (case.applicant.identifier, self.today)
            if proposal.outcome is VerificationOutcome.FALSE_COMMITMENT:
                assert record.kind is CreditRecordKind.FALSE_COMMITMENT

    # -- time -------------------------------------------------------------------------

    @rule(
        how=st.sampled_from(
            ["minutes", "working days", "working days", "tick", "deliver", "redeliver"]
        ),
        data=st.data(),
    )
    def time_passes(self, how: str, data: st.DataObject) -> None:
        """Minutes pass; or working days pass and the periodic job ticks; or it ticks or
        delivers now, or delivers and a crash makes every port get its messages again. The
        clock stops at ``LAST_DAY``."""
        if how == "minutes" and self.today < LAST_DAY:
            self.clock.advance(minutes=data.draw(st.integers(1, 600), label="minutes"))
        elif how == "working days":
            self.working_days_pass(data)
        elif how == "deliver":
            self.deliver()
        elif how == "redeliver":
            self.redeliver()
        else:
            self.tick()

    def working_days_pass(self, data: st.DataObject) -> None:
        if self.today < LAST_DAY:
            days = data.draw(st.integers(1, 12), label="working days")
            hour = data.draw(st.integers(8, 20), label="hour")
            day = self.service.calendar().add_working_days(self.today, days)
            self.clock.set(dt.datetime.combine(day, dt.time(hour), CHINA_TIME))
        self.tick()

    def tick(self) -> None:
        """The periodic job: exactly the events ``due`` names are appended, and delivered;
        supervision's moves follow the sample policy; the report lists the open
        verifications and the publications past their deadline."""
        at = self.clock.now
        day = at.date()
        calendar = self.service.calendar()
        policy = self.service.policy()
        grace = policy.at(day).deferred_grace_working_days
        ticked = {case_id: case for case_id, case in self.model.items() if case.state in TICKED}
        expected = {
            case_id: due(case, at, calendar, grace, policy=policy, item=self.item_of(case))
            for case_id, case in ticked.items()
        }
        for case_id, events in expected.items():
            self.check_supervision_moves(ticked[case_id], [type(e).__name__ for e in events])
        late = {
            pending.message.key
            for pending in self.service.store.outbox(delivered=False)
            if pending.message.payload.get("publish_by", "9999-12-31") < day.isoformat()
        }
        size = self.log_size()
        report = self.service.tick()
        assert report.at == at
        assert report.conflicts == ()

        def moved(*kinds: str) -> set[str]:
            return {
                case_id
                for case_id, events in expected.items()
                if any(type(found).__name__ in kinds for found in events)
            }

        assert set(report.suspended) == moved("Suspended")
        assert set(report.resumed) == moved("Resumed")
        assert set(report.returned) == moved("Returned")
        assert set(report.supervised) == moved("DeferredMaterialOverdue", "RevocationProposed")
        assert self.log_size() == size + sum(len(events) for events in expected.values())
        for case_id, events in expected.items():
            self.model[case_id] = self.model[case_id].apply(*events)
            for found in events:
                event(f"tick: {type(found).__name__}")
        self.check_verifications(report.verifications_due, report.verifications_overdue, ticked)
        assert set(report.publications_overdue) == late
        if late:
            event("tick: a publication past its deadline")
        assert report.delivery.failed == ()
        self.check_delivered()

    def item_of(self, case: Case) -> ApprovalItem:
        return self.service.catalog().item(case.item_code, case.item_valid_from)

    def is_filing(self, case: Case) -> bool:
        """A filing (备案): recorded at acceptance, corrected rather than revoked."""
        return self.item_of(case).is_filing

    def check_supervision_moves(self, case: Case, kinds: list[str]) -> None:
        """What the tick does to a licence on commitment, by the sample policy (deferred
        materials overdue → rectification first; a deadline passed → a proposal), and never
        an officer's decision."""
        assert not {"Revoked", "RevocationRefused", "CreditRecordCreated"} & set(kinds)
        assert case.route is not None
        if not case.route.is_commitment or case.state not in {
            CaseState.ISSUED,
            CaseState.RECTIFYING,
        }:
            return
        day = self.today
        if case.state is CaseState.RECTIFYING:
            order = case.rectification
            assert order is not None
            # Met by supply would have moved the case when the last material came; a filing's
            # failed correction is final here (the fine has its own procedure).
            if case.rectification_failure is not None:
                assert kinds == []
                return
            failed = ["RectificationFailed"]
            if not self.is_filing(case):
                failed.append("RevocationProposed")
            assert kinds == (failed if day > order.deadline else [])
            return
        fresh = [line for line in case.overdue(day) if line.code not in case.overdue_materials]
        if fresh:
            rule = self.service.policy().at(day).revocation_rules.deferred_overdue.action
            follows = (
                "RectificationOrdered"
                if rule is SupervisionAction.RECTIFY or self.is_filing(case)
                else "RevocationProposed"
            )
            assert kinds == ["DeferredMaterialOverdue", follows]
        else:
            kept = case.verification_met
            assert kinds == (["Closed"] if kept and not case.outstanding else [])

    def check_verifications(
        self,
        listed_due: Sequence[tuple[str, Obligation]],
        listed_overdue: Sequence[tuple[str, Obligation]],
        ticked: dict[str, Case],
    ) -> None:
        """The open verifications of the cases the tick looked at: not yet recorded, due
        on the day the signed letter states; overdue once that day has passed."""
        day = self.today
        want_due: set[tuple[str, dt.date]] = set()
        want_overdue: set[tuple[str, dt.date]] = set()
        for case_id in ticked:
            case = self.model[case_id]
            assert case.route is not None
            if not case.state.supervised or not case.route.is_commitment or case.verifications:
                continue
            assert case.licence is not None
            item = self.service.catalog().item(case.item_code, case.item_valid_from)
            if item.verification.method is VerificationMethod.EXEMPT:
                continue
            assert item.verification.deadline_days is not None
            # The deadline the signed letter states (docs/supervision.md).
            assert case.commitment is not None
            by = case.commitment.letter.terms.verification_due
            assert by is not None
            (want_overdue if by < day else want_due).add((case_id, by))
        for listed, want in ((listed_due, want_due), (listed_overdue, want_overdue)):
            found = set()
            for case_id, obligation in listed:
                assert obligation.kind is ObligationKind.VERIFICATION
                assert obligation.is_open
                assert obligation.due is not None
                found.add((case_id, obligation.due))
            assert found == want
            assert len(listed) == len(want)

    def deliver(self) -> None:
        report = self.service.deliver()
        assert report.failed == ()
        assert report.error is None
        self.check_delivered()
        # Nothing is due any more: delivering again changes nothing.
        assert self.service.deliver().delivered == ()
        self.check_delivered()

    def redeliver(self) -> None:
        """Deliver, then hand every delivered message to fresh port objects once more, as
        after a crash between a port taking a message and the store recording it: the
        ports are idempotent on the key, so nothing is recorded, withdrawn, pushed or
        published twice."""
        self.deliver()
        again = Destinations.of(
            JsonLinesChannel(self.directory / "publications.jsonl"),
            FileCreditRegistry(self.directory / "credit.db"),
            FileLicenceStore(self.directory / "licences.db"),
        )
        for pending in self.service.store.outbox(delivered=True):
            again.route(pending.message.destination)(pending.message)
        self.check_delivered()

    def check_delivered(self) -> None:
        """After a delivery nothing is pending; the channel file has each message once; the
        licences stand, or are withdrawn once revoked; every revocation left exactly one
        record in the credit file and one revocation entry in the channel."""
        store = self.service.store
        assert store.outbox(delivered=False) == ()
        messages = self.channel_messages()
        published = {
            pending.message.key
            for pending in store.outbox()
            if pending.message.destination == "channel:jsonl"
        }
        assert {message.key for message in messages} == published
        today = self.today
        licences = FileLicenceStore(self.directory / "licences.db")
        credit = FileCreditSource(self.directory / "credit.db")
        revoked = [case for case in self.model.values() if case.state is CaseState.REVOKED]
        assert Counter(message.topic for message in messages)["revocation"] == len(revoked)
        for case in self.model.values():
            if case.licence is not None:
                held = licences.holdings(case.applicant.identifier, city=CITY, on=today)
                standing = case.state is not CaseState.REVOKED
                assert (case.licence.reference in {holding.reference for holding in held}) is (
                    standing
                )
        for case in revoked:
            self.check_revocation(case, messages, credit)
        self.check_published()

    def check_revocation(
        self, case: Case, messages: Sequence[OutboxMessage], credit: FileCreditSource
    ) -> None:
        licence, record = case.licence, case.credit_record
        assert licence is not None
        assert record is not None
        on_file = credit.read(case.applicant.identifier, city=CITY, at=self.clock.now)
        assert [found for found in on_file.records if found.record_id == record.record_id] == [
            record
        ]
        notices = [
            message
            for message in messages
            if message.topic == "revocation"
            and message.payload["fields"]["licence_number"] == licence.reference
        ]
        assert len(notices) == 1
        entries = [
            message
            for message in messages
            if message.topic == "dishonesty-record"
            and message.payload["fields"]["record_id"] == record.record_id
        ]
        assert len(entries) == 1
        taken_down = [
            message
            for message in messages
            if message.topic == "withdrawal"
            and message.payload["withdraws"]
            == f"{case.case_id}/licence-decision/{licence.reference}"
        ]
        assert len(taken_down) == 1
        assert taken_down[0].payload["reason"] == "revoked"
        event("a revocation is delivered")

    def check_published(self) -> None:
        """Every published line: no resident identity number in full, and a deadline never
        before the day it counts from."""
        path = self.directory / "publications.jsonl"
        if not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            assert PERSON.identifier not in line
            assert mask_resident_ids(line) == line
            payload = json.loads(line)["payload"]
            start = payload["on"] if payload["kind"] == "withdrawal" else payload["decided_on"]
            assert dt.date.fromisoformat(payload["publish_by"]) >= dt.date.fromisoformat(start)
            fields = payload.get("fields", {})
            if fields.get("counterparty_name") == PERSON.name:
                # The masked number is published, so the check above has something to see.
                assert fields["counterparty_code"] == PERSON_MASKED
                event("a publication about the natural person")

    def channel_messages(self) -> tuple[OutboxMessage, ...]:
        return JsonLinesChannel(self.directory / "publications.jsonl").messages()

    def channel_keys(self) -> Counter[str]:
        return Counter(message.key for message in self.channel_messages())

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def log_is_intact(self) -> None:
        if self.model:
            assert self.service.verify().ok

    @invariant()
    def no_tick_moves_a_case_before_its_next_deadline(self) -> None:
        """``due`` gives nothing on any day before ``next_deadline`` (the tick index)."""
        policy = self.service.policy()
        grace = policy.at(self.today).deferred_grace_working_days
        calendar = self.service.calendar()
        for case in self.model.values():
            first = next_deadline(case)
            days = [self.today, self.today + dt.timedelta(days=90)]
            if first is not None and first > dt.date.min:
                days.append(first - dt.timedelta(days=1))
            for day in days:
                if first is not None and day >= first:
                    continue
                for hour in (0, 23):
                    at = dt.datetime.combine(day, dt.time(hour, 59), CHINA_TIME)
                    assert due(case, at, calendar, grace, policy=policy) == (), (case, day)

    @invariant()
    def every_state_change_is_an_event(self) -> None:
        """The log, read and folded by another service, gives the cases as returned."""
        self.log_size()
        assert set(self.types) == set(self.model)
        # The streams appended to since the last check; the tear-down replays them all.
        for case_id in sorted(self.touched):
            assert self.replayer.case(case_id) == self.model[case_id]
        self.touched.clear()
        streams = self.service.store.streams(kind="case")
        assert {info.stream: info.meta["state"] for info in streams} == {
            case_id: case.state.name for case_id, case in self.model.items()
        }
        assert {info.stream: info.version for info in streams} == {
            case_id: case.version for case_id, case in self.model.items()
        }

    @invariant()
    def no_licence_without_acceptance(self) -> None:
        self.log_size()
        for types in self.types.values():
            if "licence-issued" in types:
                assert types.count("licence-issued") == 1
                assert "accepted" in types[: types.index("licence-issued")]

    @invariant()
    def no_revocation_without_a_hearing_of_the_holder(self) -> None:
        """No revocation without a proposal and an answered or elapsed statement window (and
        a requested hearing held); each revocation leaves exactly one credit record."""
        for case in self.model.values():
            proposal: RevocationProposed | None = None
            statements: list[StatementReceived] = []
            heard = False
            revocations = records = 0
            for found in case.history:
                if isinstance(found, RevocationProposed):
                    proposal, statements, heard = found, [], False
                elif isinstance(found, StatementReceived):
                    assert proposal is not None
                    statements.append(found)
                elif isinstance(found, HearingHeld):
                    assert any(statement.hearing_requested for statement in statements)
                    heard = True
                elif isinstance(found, Revoked):
                    assert proposal is not None
                    assert statements or found.revoked_on > proposal.statement_due
                    if any(statement.hearing_requested for statement in statements):
                        assert heard
                    assert found.statements == tuple(s.text for s in statements)
                    revocations += 1
                elif isinstance(found, RevocationRefused):
                    assert proposal is not None
                elif isinstance(found, CreditRecordCreated):
                    assert revocations == 1
                    records += 1
            assert revocations == records <= 1

    @invariant()
    def commitment_routes_need_credit_evidence(self) -> None:
        """No commitment route without credit evidence unless the major-project rule
        applied; never the conditional route on a failed lookup (逢报必查, fail closed), nor
        with a record that counts on the decision day."""
        for case in self.model.values():
            evidence = case.evidence
            if evidence is None:
                # Only a major project under the sample's no-query rule is not looked up.
                level = case.submission.project.major_level
                assert level is not None
                assert level is not ProjectLevel.COUNTY
                continue
            # Every other submission asked the credit source; only DOWN's lookups fail.
            assert isinstance(evidence, CreditLookupFailure) is (case.applicant == DOWN)
            decisions = [
                event.decision
                for event in case.history
                if isinstance(event, RouteDecided | RouteChosen)
            ]
            for decision in decisions:
                if decision.route is Route.CONDITIONAL:
                    assert isinstance(evidence, CreditEvidence)
                    assert evidence.grade in {"A", "B"}
                    for record in evidence.records:
                        assert not record.is_active(decision.decided_on)
                        assert record.kind is not CreditRecordKind.FALSE_COMMITMENT
                if decision.route is Route.DIRECT:
                    assert decision.major_project
                if isinstance(evidence, CreditLookupFailure) and not decision.major_project:
                    assert decision.route is Route.STANDARD

    @invariant()
    def outbox_messages_come_with_their_events(self) -> None:
        """Each licence issued put its two messages in the outbox; each verification by
        two inspectors its result; each revocation the licence's withdrawal, the record for
        the registry, and the revocation, the record and the licence decision's withdrawal
        for the channel — each in the same append as its event."""
        expected = set()
        for case in self.model.values():
            if case.licence is None:
                continue
            reference = case.licence.reference
            expected.add(f"{case.case_id}/licence-issued/{reference}")
            if not self.is_filing(case):  # a filing is not published as a licence decision
                expected.add(f"{case.case_id}/licence-decision/{reference}/jsonl")
            target = mask_resident_ids(case.applicant.identifier)
            for number, verification in enumerate(case.verifications, 1):
                assert len(verification.inspectors) == 2
                expected.add(
                    f"{CITY}/inspection-result/verification:{case.case_id}:{number}/{target}/jsonl"
                )
            if case.state is CaseState.REVOKED:
                assert case.credit_record is not None
                record_id = case.credit_record.record_id
                expected |= {
                    f"{case.case_id}/licence-withdrawn/{reference}",
                    f"{CITY}/revocation/CX-{case.case_id}/jsonl",
                    f"{case.case_id}/licence-decision/{reference}/withdrawal/jsonl",
                    f"{CITY}/credit-record/{record_id}",
                    f"{CITY}/dishonesty-record/{record_id}/jsonl",
                }
        assert {pending.message.key for pending in self.service.store.outbox()} == expected

    @invariant()
    def the_channel_has_each_key_once(self) -> None:
        assert all(count == 1 for count in self.channel_keys().values())


# Each step does real SQLite I/O with fsync: its time depends on the disk, not the code.
# make test runs a short machine; the soak that CI makes (make test-slow) runs 60 of 50 steps.


class TestApprovals(ApprovalsMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = settings(
        max_examples=12,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@pytest.mark.slow
class TestApprovalsSoak(ApprovalsMachine.TestCase):  # type: ignore[misc,valid-type]
    settings = settings(
        max_examples=60,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
