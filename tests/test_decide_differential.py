"""The compiled decision path gives what the reference interpreter gives, on every input.

:class:`creditcommit._reference.ReferenceDecider` is the decider as it was before decisions
were compiled (every rule evaluated in order, every digest recomputed on every decision).
:func:`creditcommit.decide`, :func:`creditcommit.decide_many` and a shared
:class:`~creditcommit.policy.Decider` must give the same :class:`Decision`, compared field
by field (reason params included, which ``Reason.__eq__`` ignores), or raise the same error.

Two generators: Hypothesis strategies of :mod:`creditcommit.testing.strategies` (drawn
policies, items, faulty evidence) and a seeded generator over the bundled sample policy
and catalogue (places with their own rules, statutory bans, tampered, stale, future and
foreign evidence). The unmarked tests decide about 5,000 applications; the ``slow`` ones
more than 100,000.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditcommit._reference import ReferenceDecider, reference_decide
from creditcommit.catalog import ApprovalItem, Catalog
from creditcommit.credit import (
    SAMR_A_D,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    FailureCategory,
    Severity,
)
from creditcommit.decision import Applicant, Decision, ProjectFacts, ProjectLevel
from creditcommit.errors import CreditCommitError
from creditcommit.identifiers import uscc_check_char
from creditcommit.policy import Application, Decider, Policy, PolicySnapshot, decide, decide_many
from creditcommit.testing.strategies import applications, days, policies

CST = dt.timezone(dt.timedelta(hours=8))
UTC = dt.UTC
SOURCES = ("信用扬州", "信用中国")
DAYS = (dt.date(2023, 1, 16), dt.date(2025, 6, 2), dt.date(2025, 9, 26), dt.date(2026, 6, 1))


def _fields(decision: Decision) -> tuple[Any, ...]:
    """Every field of a decision, each reason as all of its fields (params too)."""
    values = attrs.astuple(decision, recurse=False)
    reasons = tuple((r.code, r.zh, r.en, r.references, dict(r.params)) for r in decision.reasons)
    return (*values, reasons)


def _outcome(run: Callable[[], Decision]) -> object:
    try:
        return _fields(run())
    except CreditCommitError as exc:  # e.g. ReapplicationBarred, NoValueInForce
        return (type(exc).__name__, str(exc), sorted(vars(exc).items()))


def assert_same(apps: Sequence[Application], policy: Policy | PolicySnapshot, on: dt.date) -> int:
    """Compare every application four ways; returns how many were compared."""
    reference = ReferenceDecider(policy, on)
    shared = Decider(policy, on)

    def by_reference(app: Application) -> Callable[[], Decision]:
        return lambda: reference._decide(
            app.item, app.applicant, app.evidence, app.project, app.choose_standard
        )

    def by_shared(app: Application) -> Callable[[], Decision]:
        return lambda: shared.decide_many([app])[0]

    expected = [_outcome(by_reference(a)) for a in apps]
    for app, want in zip(apps, expected, strict=True):

        def one(app: Application = app) -> Decision:
            return decide(
                item=app.item,
                applicant=app.applicant,
                evidence=app.evidence,
                policy=policy,
                on=on,
                project=app.project,
                choose_standard=app.choose_standard,
            )

        def fresh(app: Application = app) -> Decision:
            return reference_decide(
                item=app.item,
                applicant=app.applicant,
                evidence=app.evidence,
                policy=policy,
                on=on,
                project=app.project,
                choose_standard=app.choose_standard,
            )

        assert _outcome(one) == want, app
        assert _outcome(by_shared(app)) == want, app
        assert _outcome(fresh) == want, app
    if all(isinstance(e, tuple) and len(e) > 3 for e in expected):  # nothing raised
        assert [_fields(d) for d in decide_many(apps, policy, on)] == expected
    return len(apps)


# --------------------------------------------------------------------------- Hypothesis


def _check_drawn(data: st.DataObject, policy: Policy, on: dt.date, size: int) -> None:
    both: list[Policy | PolicySnapshot] = [policy, policy.at(on)]
    target = data.draw(st.sampled_from(both))
    apps = data.draw(
        st.lists(applications(policy=policy.at(on), on=on), min_size=size, max_size=size)
    )
    assert_same(apps, target, on)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), policy=policies(), on=days())
def test_drawn_applications_decide_as_the_reference(
    data: st.DataObject, policy: Policy, on: dt.date
) -> None:
    _check_drawn(data, policy, on, 25)  # 1,000 applications


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), policy=policies(), on=days())
def test_many_drawn_applications_decide_as_the_reference(
    data: st.DataObject, policy: Policy, on: dt.date
) -> None:
    _check_drawn(data, policy, on, 50)  # 20,000 applications


# --------------------------------------------------------------------------- seeded feed


def _uscc(n: int) -> str:
    first17 = f"91321084{n:09d}"
    return first17 + uscc_check_char(first17)


def _record(rng: random.Random, n: int, i: int, subject: str, on: dt.date) -> CreditRecord:
    kind = rng.choice(list(CreditRecordKind))
    decided = on - dt.timedelta(days=rng.randrange(-30, 5 * 365))
    repaired = None
    if rng.random() < 0.2:
        repaired = decided + dt.timedelta(days=rng.randrange(0, 2 * 365))
    return CreditRecord.with_default_periods(
        record_id=f"R-{n}-{i}",
        subject=subject,
        kind=kind,
        severity=rng.choice(list(Severity)),
        decided_on=decided,
        repaired_on=repaired,
        item_code=rng.choice((None, "321012-TZXMBA", "321084-GGCSWSXK")),
    )


def _evidence(
    rng: random.Random, n: int, subject: str, on: dt.date
) -> CreditEvidence | CreditLookupFailure | None:
    at = dt.datetime.combine(on, dt.time(9, 30), CST)
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.12:
        return CreditLookupFailure(
            subject=subject,
            source=rng.choice(SOURCES),
            attempted_at=at,
            reason=rng.choice(("timeout after 3.0 s", "HTTP 503", "malformed reply: x")),
            category=rng.choice(list(FailureCategory)),
        )
    shift = rng.choice((0, 0, 0, 0, -1, -3, -40, 1, 2))
    retrieved = at + dt.timedelta(days=shift, hours=rng.choice((0, 0, -9, 14)))
    if rng.random() < 0.1:
        retrieved = retrieved.astimezone(UTC)
    owner = subject if rng.random() < 0.95 else _uscc(n + 1)
    records = [
        _record(rng, n, i, owner if rng.random() < 0.97 else _uscc(n + 2), on)
        for i in range(rng.choice((0, 0, 0, 1, 1, 2, 3)))
    ]
    scale = "yangzhou-a-e" if rng.random() < 0.9 else SAMR_A_D.name
    grade = rng.choice(("A", "B", "C", "D", "E", "b", "Z", None))
    found = CreditEvidence.create(
        subject=owner,
        source=rng.choice(SOURCES),
        retrieved_at=retrieved,
        scale=scale,
        grade=grade,
        records=records,
    )
    if rng.random() < 0.05:  # altered after hashing: the digest no longer matches
        found = attrs.evolve(found, grade=rng.choice(("A", "E", None)))
    elif rng.random() < 0.3:  # read back from a store: verified where it entered
        found = CreditEvidence.from_dict(found.to_dict())
    return found


def seeded_feed(count: int, seed: int, on: dt.date, items: Sequence[ApprovalItem]) -> list[Any]:
    """``count`` applications on ``on`` for the sample catalogue's items, from ``seed``."""
    rng = random.Random(seed)
    apps = []
    levels = (None, None, None, None, *ProjectLevel)
    for n in range(count):
        applicant = Applicant(_uscc(n), f"企业{n}")
        apps.append(
            Application(
                item=rng.choice(items),
                applicant=applicant,
                evidence=_evidence(rng, n, applicant.identifier, on),
                project=ProjectFacts(rng.choice(levels)),
                choose_standard=rng.random() < 0.05,
            )
        )
    return apps


def _check_seeded(total: int, seed: int) -> int:
    policy = Policy.sample()
    compared = 0
    chunk = 500
    for start in range(0, total, chunk):
        on = DAYS[(start // chunk) % len(DAYS)]
        items = Catalog.sample().items(on)
        apps = seeded_feed(chunk, seed + start, on, items)
        target: Policy | PolicySnapshot = policy
        if (start // chunk) % 3 == 2:
            target = policy.at(on, item=items[0])  # one place's snapshot
        compared += assert_same(apps, target, on)
    return compared


def test_seeded_applications_decide_as_the_reference() -> None:
    assert _check_seeded(4_000, 11) == 4_000


@pytest.mark.slow
def test_100k_seeded_applications_decide_as_the_reference() -> None:
    assert _check_seeded(100_000, 20_261_207) == 100_000


def test_the_reference_is_a_real_difference_detector() -> None:
    # A changed route must show: the comparison is not vacuous.
    on = DAYS[1]
    items = Catalog.sample().items(on)
    app = seeded_feed(1, 3, on, items)[0]
    decision = decide(
        item=app.item,
        applicant=app.applicant,
        evidence=app.evidence,
        policy=Policy.sample(),
        on=on,
        project=app.project,
        choose_standard=app.choose_standard,
    )
    changed = attrs.evolve(decision, major_project=not decision.major_project)
    assert _fields(changed) != _fields(decision)


@pytest.mark.parametrize("whole", [True, False])
def test_an_item_out_of_force_is_reported_before_the_policy(whole: bool) -> None:
    # Both out of force on the day: the item's error, as before compilation.
    on = dt.date(2020, 1, 1)
    item = Catalog.sample().items(DAYS[1])[0]
    app = seeded_feed(1, 5, DAYS[1], [item])[0]
    policy: Policy | PolicySnapshot = Policy.sample()
    if not whole:
        policy = Policy.sample().at(DAYS[1], item=item)  # a snapshot not in force in 2020
    got = _outcome(
        lambda: decide(item=item, applicant=app.applicant, evidence=None, policy=policy, on=on)
    )
    want = _outcome(
        lambda: reference_decide(
            item=item, applicant=app.applicant, evidence=None, policy=policy, on=on
        )
    )
    assert got == want
    assert "approval item" in str(got)
