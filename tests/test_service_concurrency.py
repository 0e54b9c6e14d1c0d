"""Two writers on one case: two :class:`~creditcommit.Approvals` on one SQLite file.

Each round the main thread prepares a case; two writers — two threads, or two separate
processes started with ``spawn`` — act on it at the same moment: both ``accept`` a signed
case, or one supplies a material while the other withdraws the application, or two
officers both decide one revocation proposal (the holder heard). A barrier in
the writers' event stores holds each of them after it has read the case and just before it
appends, so both act on the same version. Exactly one wins; the other gets
:class:`~creditcommit.ConcurrencyError` and nothing of its is written; it re-reads the case
and tries again, which either works (withdrawing after a material came in) or is refused as
an :class:`~creditcommit.IllegalTransition` (accepting an issued case, revoking a revoked
licence). The stream holds exactly the winner's events, then the retry's, and the outbox
exactly the winner's messages: one revocation leaves one credit record to push.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    Case,
    CaseState,
    ConcurrencyError,
    Config,
    IllegalTransition,
    ManualClock,
    Signer,
    VerificationOutcome,
)
from creditcommit.builtin import FileCreditSource, FileLicenceStore
from creditcommit.builtin.sqlite_store import SQLiteEventStore
from creditcommit.identifiers import uscc_check_char
from creditcommit.plugins import Integrations
from creditcommit.ports import IssuedLicence, NewEvent, StoredEvent

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
FORM = "GGCSWSXK-01"
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)
ROUNDS = 20
# How long a writer waits for the other at the barrier before the round is a failure.
PATIENCE = 30.0

HOTEL = Applicant("91321084MA1TQ7GU0" + uscc_check_char("91321084MA1TQ7GU0"), "高邮某酒店")
BATHS = Applicant("91321084MA1TQ7GU1" + uscc_check_char("91321084MA1TQ7GU1"), "高邮某洗浴")


def prepare(directory: Path) -> Path:
    """The sample catalogue and policy; HOTEL (grade B) and BATHS (grade C) on file."""
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "sqlite:cases.db"\ncatalog = "sample"\npolicy = "sample"\n',
        encoding="utf-8",
    )
    credit = FileCreditSource(directory / "credit.db")
    credit.set_grade(HOTEL.identifier, "B", city=CITY)
    credit.set_grade(BATHS.identifier, "C", city=CITY)
    licences = FileLicenceStore(directory / "licences.db")
    for applicant in (HOTEL, BATHS):
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


class GatedStore(SQLiteEventStore):
    """An event store that calls ``gate`` once, before its next append: the writer has read
    the case and decided, and waits there for the other writer."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate: Callable[[], object] | None = None

    def append(
        self, stream: str, events: Sequence[NewEvent], **options: Any
    ) -> tuple[StoredEvent, ...]:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate()
        return super().append(stream, events, **options)


# --- the writers --------------------------------------------------------------------------


def act(service: Approvals, case_id: str, action: str) -> Case:
    if action == "accept":
        return service.accept(case_id)
    if action == "supply":
        return service.supply_material(case_id, "GGCSWSXK-04")
    if action == "decide":
        return service.decide_revocation(case_id, authority="高邮市行政审批局")
    assert action == "withdraw"
    return service.withdraw(case_id, "申请人主动撤回")


def attempt(service: Approvals, writer: str, case_id: str, action: str) -> dict[str, Any]:
    """Act once at the barrier; if another writer got there first, re-read and retry."""
    outcome: dict[str, Any] = {"writer": writer, "action": action, "case": case_id}
    try:
        act(service, case_id, action)
    except ConcurrencyError as exc:
        outcome.update(won=False, expected=exc.expected, actual=exc.actual)
    else:
        return {**outcome, "won": True}
    try:
        case = act(service, case_id, action)
    except IllegalTransition as exc:
        outcome["retry"] = f"refused in {exc.state}"
    else:
        outcome["retry"] = f"done: {case.state.name}"
    return outcome


class Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


class Inbox(Protocol):
    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...


class Outbox(Protocol):
    def put(self, item: Any, /) -> None: ...


def writer(name: str, config: str, barrier: Barrier, inbox: Inbox, results: Outbox) -> None:
    """A writer with its own service and store: acts on each case it is sent, until None."""
    try:
        clock = ManualClock(START)
        integrations = Integrations.from_config(Config.load(config), autoload=False)
        store = GatedStore(Path(config).parent / "cases.db")
        with Approvals(integrations, store, clock=clock) as service:
            while (job := inbox.get(timeout=60)) is not None:
                case_id, action = job
                store.gate = lambda: barrier.wait(timeout=PATIENCE)
                try:
                    results.put(attempt(service, name, case_id, action))
                finally:
                    store.gate = None
    except BaseException:
        results.put({"writer": name, "error": traceback.format_exc()})
        raise


# --- the rounds ---------------------------------------------------------------------------

# The events each action appends, and what the loser's retry does after the winner's action.
EVENTS = {
    "accept": ["accepted", "licence-issued"],
    "supply": ["material-supplied"],
    "withdraw": ["withdrawn"],
    "decide": ["revoked", "credit-record-created"],
}
RETRY = {
    ("accept", "accept"): "refused in ISSUED",
    ("supply", "withdraw"): "done: WITHDRAWN",
    ("withdraw", "supply"): "refused in WITHDRAWN",
    ("decide", "decide"): "refused in REVOKED",
}


def proposed(service: Approvals) -> Case:
    """A licence issued on commitment the day before START, found a false commitment on
    site the same day (revocation proposed at once, by the sample policy), and the holder's
    statement received: the proposal may be decided from START on."""
    clock = service.clock
    assert isinstance(clock, ManualClock)
    clock.set(START - dt.timedelta(days=1))
    try:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        case = service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
        case = service.accept(case.case_id)
        case = service.record_verification(
            case.case_id,
            inspectors=["王明", "李华"],
            findings="现场核查：承诺内容与事实不符",
            outcome=VerificationOutcome.FALSE_COMMITMENT,
        )
        case = service.receive_statement(case.case_id, "对核查结论无异议")
    finally:
        clock.set(START)
    assert case.state is CaseState.REVOCATION_PROPOSED
    return case


def scenario(service: Approvals, round_: int) -> tuple[Case, tuple[str, str]]:
    """The case of a round and what the two writers do to it."""
    kind = round_ % 6
    if kind == 5:
        return proposed(service), ("decide", "decide")
    if kind % 2 == 0:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        case = service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
        return case, ("accept", "accept")
    # Grade C: the standard route, with GGCSWSXK-04 still to come.
    case = service.submit(item=GAOYOU, applicant=BATHS, provided=[FORM])
    actions = ("supply", "withdraw") if kind == 1 else ("withdraw", "supply")
    return case, actions


def check_round(service: Approvals, case: Case, outcomes: list[dict[str, Any]]) -> str:
    """Exactly one winner; the loser wrote nothing and saw the winner's version; the stream
    holds the winner's events then the retry's. Returns the winner's action."""
    assert all("error" not in outcome for outcome in outcomes), outcomes
    assert {outcome["case"] for outcome in outcomes} == {case.case_id}
    won = [outcome for outcome in outcomes if outcome["won"]]
    lost = [outcome for outcome in outcomes if not outcome["won"]]
    assert len(won) == len(lost) == 1, outcomes
    winner, loser = won[0]["action"], lost[0]["action"]
    assert lost[0]["expected"] == case.version
    assert lost[0]["actual"] == case.version + len(EVENTS[winner])
    assert lost[0]["retry"] == RETRY[winner, loser]
    appended = EVENTS[winner] + (EVENTS[loser] if lost[0]["retry"].startswith("done") else [])
    stored = service.history(case.case_id)
    assert [event.type for event in stored[case.version :]] == appended
    assert [event.version for event in stored] == list(range(1, len(stored) + 1))
    final = service.case(case.case_id)
    assert final.version == len(stored)
    keys = [m.message.key for m in service.store.outbox() if case.case_id in m.message.key]
    reference = f"XK-{case.case_id}"
    issued = [
        f"{case.case_id}/licence-issued/{reference}",
        f"{case.case_id}/licence-decision/{reference}/jsonl",
    ]
    if winner == "accept":
        assert keys == issued
    elif winner == "decide":
        # The licence, the inspection result, then the one revocation's messages: one
        # record for the registry, however many officers decided.
        assert keys == [
            *issued,
            f"{CITY}/inspection-result/verification:{case.case_id}:1/{HOTEL.identifier}/jsonl",
            f"{case.case_id}/licence-withdrawn/{reference}",
            f"{CITY}/revocation/CX-{case.case_id}/jsonl",
            f"{case.case_id}/licence-decision/{reference}/withdrawal/jsonl",
            f"{CITY}/credit-record/{case.case_id}-revoked",
            f"{CITY}/dishonesty-record/{case.case_id}-revoked/jsonl",
        ]
        assert final.state is CaseState.REVOKED
    else:
        assert keys == []
    return str(winner)


def run_rounds(
    service: Approvals, inboxes: Sequence[Any], results: Inbox, rounds: int
) -> list[str]:
    winners = []
    for round_ in range(rounds):
        case, actions = scenario(service, round_)
        for inbox, action in zip(inboxes, actions, strict=True):
            inbox.put((case.case_id, action))
        outcomes = [results.get(timeout=2 * PATIENCE) for _ in inboxes]
        winners.append(check_round(service, case, outcomes))
    for inbox in inboxes:
        inbox.put(None)
    assert service.verify().ok
    assert len(service.cases()) == rounds
    assert winners.count("decide") == sum(1 for round_ in range(rounds) if round_ % 6 == 5)
    return winners


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return prepare(tmp_path)


@pytest.fixture
def service(config: Path) -> Iterator[Approvals]:
    with Approvals.from_config(config, clock=ManualClock(START), autoload=False) as opened:
        yield opened


def test_two_threads_on_one_case_one_wins_and_nothing_is_lost(
    config: Path, service: Approvals
) -> None:
    barrier = threading.Barrier(2)
    inboxes: list[queue.Queue[Any]] = [queue.Queue(), queue.Queue()]
    results: queue.Queue[dict[str, Any]] = queue.Queue()
    threads = [
        threading.Thread(
            target=writer, args=(name, str(config), barrier, inbox, results), daemon=True
        )
        for name, inbox in zip(("w1", "w2"), inboxes, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        winners = run_rounds(service, inboxes, results, ROUNDS)
    finally:
        barrier.abort()  # releases a writer still waiting if a round failed
        for inbox in inboxes:
            inbox.put(None)
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(winners) == ROUNDS


def importable_root() -> Path:
    """The directory a spawned process needs on ``sys.path`` to import this module (and
    so unpickle :func:`writer`) under the name pytest imported it by."""
    return Path(__file__).resolve().parents[__name__.count(".")]


def test_two_processes_on_one_case_one_wins_and_nothing_is_lost(
    config: Path, service: Approvals, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(importable_root()))  # a spawned child copies sys.path
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    inboxes = [context.Queue(), context.Queue()]
    results = context.Queue()
    children = [
        context.Process(target=writer, args=(name, str(config), barrier, inbox, results))
        for name, inbox in zip(("p1", "p2"), inboxes, strict=True)
    ]
    for child in children:
        child.start()
    try:
        winners = run_rounds(service, inboxes, results, ROUNDS)
    finally:
        barrier.abort()  # releases a writer still waiting if a round failed
        for inbox in inboxes:
            inbox.put(None)
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
                child.join()
    assert [child.exitcode for child in children] == [0, 0]
    assert len(winners) == ROUNDS
    for inbox in (*inboxes, results):
        inbox.close()
        inbox.join_thread()


# --- many submitters on one day -----------------------------------------------------------


def submitter(config: str, count: int, results: Outbox) -> None:
    """Submit ``count`` applications on one day with a service of its own; report the case
    ids and every error (as text)."""
    made: list[str] = []
    errors: list[str] = []
    try:
        integrations = Integrations.from_config(Config.load(config), autoload=False)
        with Approvals(
            integrations,
            SQLiteEventStore(Path(config).parent / "cases.db"),
            clock=ManualClock(START),
        ) as service:
            for _ in range(count):
                try:
                    made.append(
                        service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM]).case_id
                    )
                except Exception:
                    errors.append(traceback.format_exc())
    except BaseException:
        errors.append(traceback.format_exc())
    results.put((made, errors))


def submit_from_processes(config: Path, processes: int, each: int) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    children = [
        context.Process(target=submitter, args=(str(config), each, results))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=600) for _ in children]
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
                child.join()
    made = [case_id for ids, _ in outcomes for case_id in ids]
    errors = [error for _, errors in outcomes for error in errors]
    assert errors == []
    assert [child.exitcode for child in children] == [0] * processes
    total = processes * each
    assert len(made) == len(set(made)) == total
    assert sorted(made) == [f"{CITY}-20250926-N{n:04d}" for n in range(1, total + 1)]
    with SQLiteEventStore(config.parent / "cases.db") as store:
        assert len(store.streams(kind="case")) == total
        assert store.verify().ok
    results.close()
    results.join_thread()


def test_concurrent_submitters_get_distinct_case_numbers(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(importable_root()))
    submit_from_processes(config, processes=4, each=10)


@pytest.mark.slow
def test_sixteen_processes_submit_a_hundred_each_on_one_day(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(importable_root()))
    submit_from_processes(config, processes=16, each=100)
