"""A Hypothesis state machine drives :class:`creditcommit.Approvals` on SQLite (issue 4).

Random sequences of actions — submit, choose the standard route, sign, accept, issue,
refuse, supply a material, pause and resume the clock, withdraw, let working days pass and
tick, deliver — run against the service with the built-in plugins on real files in a
temporary directory (SQLite event store, credit file, licence file, JSON-lines channel) and a
:class:`~creditcommit.ManualClock` the machine moves. The catalogue is the bundled sample,
with Gaoyou's health permit decided on the spot in a third of the runs and not in the
others, so that both 先证后核 and suspension and return (退件) come up.

Each action is predicted legal or illegal from the case the service last returned; an
illegal one must raise :class:`~creditcommit.IllegalTransition` and append nothing. After
every step the invariants of issue 4 are checked against the store.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
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
    Approvals,
    Case,
    CaseState,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    IllegalTransition,
    ManualClock,
    PauseReason,
    ProjectFacts,
    ProjectLevel,
    Route,
    Severity,
    Signer,
)
from creditcommit.builtin import FileCreditSource, FileLicenceStore
from creditcommit.case import RouteChosen, RouteDecided, due
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
# period and pause stays inside it.
LAST_DAY = dt.date(2026, 6, 30)
KEYS = ("request-1", "request-2", "request-3")
SUPPLYING = frozenset(
    {
        CaseState.DECIDED,
        CaseState.COMMITTED,
        CaseState.ACCEPTED,
        CaseState.SUSPENDED,
        CaseState.ISSUED,
    }
)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


# The applicant pool: grades and records set in the credit file, licences in the licence
# store; DOWN's credit lookup fails (unavailable_subjects, the built-in testing aid).
GRADE_A = Applicant(_uscc("91321084MA1TM0001"), "高邮某甲级公司")
GRADE_B = Applicant(_uscc("91321084MA1TM0002"), "高邮某乙级公司")
GRADE_C = Applicant(_uscc("91321084MA1TM0003"), "高邮某丙级公司")
UNGRADED = Applicant(_uscc("91321084MA1TM0004"), "高邮某新设公司")
RECORDED = Applicant(_uscc("91321084MA1TM0005"), "高邮某失信公司")
DOWN = Applicant(_uscc("91321084MA1TM0006"), "高邮某查询失败公司")
POOL = (GRADE_A, GRADE_B, GRADE_C, UNGRADED, RECORDED, DOWN)
GRADES = {GRADE_A: "A", GRADE_B: "B", GRADE_C: "C", RECORDED: "B", DOWN: "B"}
HELD = {
    GRADE_A: ("business-licence", "uscc-certificate", "resident-identity-card"),
    GRADE_B: ("business-licence", "resident-identity-card"),
    RECORDED: ("business-licence",),
    DOWN: ("business-licence", "uscc-certificate"),
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


# The event types each action may append (first the action's own, then its consequences).
APPENDS = {
    "choose_standard": {"route-chosen"},
    "sign_commitment": {"commitment-signed"},
    "accept": {"accepted", "licence-issued"},
    "issue": {"licence-issued"},
    "refuse": {"refused"},
    "supply_material": {"material-supplied", "resumed"},
    "pause_clock": {"clock-paused"},
    "resume_clock": {"clock-resumed"},
    "withdraw": {"withdrawn"},
}


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

    def act(self, case_id: str, action: str, call: Callable[[], Case], *, allowed: bool) -> None:
        """Run ``call`` and check what it appended against what it returned."""
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
        self.model[case_id] = after

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
        assert isinstance(case_id, str)
        for _ in range(3):
            if self.model[case_id].state in {CaseState.ACCEPTED, CaseState.ISSUED}:
                break
            self.progress(case_id, data)
        return case_id

    def new_case(
        self, data: st.DataObject, key: str | None = None, items: tuple[str, ...] = ITEMS
    ) -> str | MultipleResults[str]:
        applicant = data.draw(st.sampled_from(POOL), label="applicant")
        item = data.draw(st.sampled_from(items), label="item")
        provided = data.draw(st.sets(st.sampled_from(CODES[item])), label="provided")
        major = data.draw(st.sampled_from([None, *ProjectLevel]), label="major project")
        standard = data.draw(st.booleans(), label="choose standard")
        size = self.log_size()
        case = self.service.submit(
            item=item,
            applicant=applicant,
            project=ProjectFacts(major_level=major),
            provided=provided,
            choose_standard=standard,
            key=key,
        )
        if key is not None and key in self.keys:
            # The same key: the case the first submission made, and nothing asked or written.
            assert case.case_id == self.keys[key]
            assert case == self.model[case.case_id]
            assert self.log_size() == size
            return multiple()
        assert case.case_id not in self.model
        assert case.case_id.startswith(f"{CITY}-{self.clock.now:%Y%m%d}-")
        assert case.state is CaseState.DECIDED
        assert case.version == 4
        assert case.submission.provided == tuple(sorted(provided))
        assert case.submission.idempotency_key == key
        assert self.log_size() == size + 4
        self.model[case.case_id] = case
        if key is not None:
            self.keys[key] = case.case_id
        return case.case_id

    # Each action on a case, as often as it appears here: the usual next step most often,
    # so that runs get past the first states; the case-closing actions least often.
    ACTIONS = (
        *["progress"] * 6,
        *["supply_material"] * 3,
        *["sign_commitment", "accept", "issue", "pause_clock", "resume_clock"] * 2,
        "choose_standard",
        "refuse",
        "withdraw",
    )

    @rule(case_id=cases, action=st.sampled_from(ACTIONS), data=st.data())
    def act_on_case(self, case_id: str, action: str, data: st.DataObject) -> None:
        getattr(self, action)(case_id, data)

    def progress(self, case_id: str, data: st.DataObject) -> None:
        """The next step of the usual path: sign, bring every missing material in one visit,
        accept, resume a paused clock, issue once no deferred material is owed; the
        applicant brings a deferred material now and then (or does not, and the deadline
        passes)."""
        case = self.model[case_id]
        plan = case.plan
        assert plan is not None
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
        elif owed and case.state in SUPPLYING:
            if data.draw(st.booleans(), label="the applicant brings a deferred material"):
                self.supply(case_id, data.draw(st.sampled_from(owed), label="code"))
            else:
                self.working_days_pass(data)
        elif legal(case, "issue"):
            self.issue(case_id, data)

    def supply(self, case_id: str, code: str) -> None:
        self.act(
            case_id,
            "supply_material",
            lambda: self.service.supply_material(case_id, code),
            allowed=legal(self.model[case_id], "supply_material", code),
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
            assert after.state is (CaseState.ISSUED if on_the_spot else CaseState.ACCEPTED)

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

    # -- time -------------------------------------------------------------------------

    @rule(
        how=st.sampled_from(["minutes", "working days", "working days", "tick", "deliver"]),
        data=st.data(),
    )
    def time_passes(self, how: str, data: st.DataObject) -> None:
        """Minutes pass; or working days pass and the periodic job ticks; or it ticks or
        delivers now. The clock stops at ``LAST_DAY``."""
        if how == "minutes" and self.clock.now.date() < LAST_DAY:
            self.clock.advance(minutes=data.draw(st.integers(1, 600), label="minutes"))
        elif how == "working days":
            self.working_days_pass(data)
        elif how == "deliver":
            self.deliver()
        else:
            self.tick()

    def working_days_pass(self, data: st.DataObject) -> None:
        if self.clock.now.date() < LAST_DAY:
            days = data.draw(st.integers(1, 12), label="working days")
            hour = data.draw(st.integers(8, 20), label="hour")
            day = self.service.calendar().add_working_days(self.clock.now.date(), days)
            self.clock.set(dt.datetime.combine(day, dt.time(hour), CHINA_TIME))
        self.tick()

    def tick(self) -> None:
        """The periodic job: exactly the events ``due`` names are appended, and delivered."""
        at = self.clock.now
        calendar = self.service.calendar()
        grace = self.service.policy().at(at.date()).deferred_grace_working_days
        expected = {
            case_id: due(case, at, calendar, grace)
            for case_id, case in self.model.items()
            if case.state in {CaseState.ACCEPTED, CaseState.SUSPENDED}
        }
        expected = {case_id: events for case_id, events in expected.items() if events}
        size = self.log_size()
        report = self.service.tick()
        assert report.at == at
        assert report.conflicts == ()

        def moved(kind: str) -> set[str]:
            return {
                case_id
                for case_id, events in expected.items()
                if any(type(found).__name__ == kind for found in events)
            }

        assert set(report.suspended) == moved("Suspended")
        assert set(report.resumed) == moved("Resumed")
        assert set(report.returned) == moved("Returned")
        assert self.log_size() == size + sum(len(events) for events in expected.values())
        for case_id, events in expected.items():
            self.model[case_id] = self.model[case_id].apply(*events)
            for found in events:
                event(f"tick: {type(found).__name__}")
        assert report.delivery.failed == ()
        self.check_delivered()

    def deliver(self) -> None:
        report = self.service.deliver()
        assert report.failed == ()
        assert report.error is None
        self.check_delivered()

    def check_delivered(self) -> None:
        """After a delivery nothing is pending; the channel file has each message once."""
        store = self.service.store
        assert store.outbox(delivered=False) == ()
        published = {
            pending.message.key
            for pending in store.outbox()
            if pending.message.destination == "channel:jsonl"
        }
        assert set(self.channel_keys()) == published
        licences = FileLicenceStore(self.directory / "licences.db")
        for case in self.model.values():
            if case.licence is not None:
                held = licences.holdings(
                    case.applicant.identifier, city=CITY, on=self.clock.now.date()
                )
                assert case.licence.reference in {holding.reference for holding in held}

    def channel_keys(self) -> Counter[str]:
        path = self.directory / "publications.jsonl"
        if not path.exists():
            return Counter()
        lines = path.read_text(encoding="utf-8").splitlines()
        return Counter(json.loads(line)["key"] for line in lines)

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def log_is_intact(self) -> None:
        if self.model:
            assert self.service.verify().ok

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
    def commitment_routes_need_credit_evidence(self) -> None:
        """No commitment route without credit evidence unless the major-project rule
        applied; never the conditional route on a failed lookup (逢报必查, fail closed)."""
        for case in self.model.values():
            evidence = case.evidence
            # Every submission asked the credit source; only DOWN's lookups fail.
            assert isinstance(evidence, CreditLookupFailure) is (case.applicant == DOWN)
            assert evidence is not None
            decisions = [
                event.decision
                for event in case.history
                if isinstance(event, RouteDecided | RouteChosen)
            ]
            for decision in decisions:
                if decision.route is Route.CONDITIONAL:
                    assert isinstance(evidence, CreditEvidence)
                    assert evidence.grade in {"A", "B"}
                    assert evidence.records == ()
                if decision.route is Route.DIRECT:
                    assert decision.major_project
                if isinstance(evidence, CreditLookupFailure) and not decision.major_project:
                    assert decision.route is Route.STANDARD

    @invariant()
    def outbox_messages_come_with_their_licence(self) -> None:
        """Each licence issued put its two messages in the outbox, in the same append."""
        expected = set()
        for case in self.model.values():
            if case.licence is not None:
                reference = case.licence.reference
                expected |= {
                    f"{case.case_id}/licence-issued/{reference}",
                    f"{case.case_id}/licence-decision/{reference}/jsonl",
                }
        assert {pending.message.key for pending in self.service.store.outbox()} == expected

    @invariant()
    def the_channel_has_each_key_once(self) -> None:
        assert all(count == 1 for count in self.channel_keys().values())


ApprovalsMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=35,
    # Each step does real SQLite I/O with fsync: its time depends on the disk, not the code.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestApprovals = ApprovalsMachine.TestCase
