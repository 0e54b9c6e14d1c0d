"""The columnar path gives the routes and deciding reasons :func:`decide` gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.catalog import ApprovalItem, Catalog
from creditcommit.credit import CreditEvidence, CreditLookupFailure
from creditcommit.decision import Decision
from creditcommit.errors import InvalidValue, ReapplicationBarred
from creditcommit.policy import Application, BlockLasts, Policy, PolicySnapshot, decide
from test_decide_differential import DAYS, seeded_feed

np = pytest.importorskip("numpy")

from creditcommit.columns import (  # noqa: E402 - after the numpy check
    LEVEL_ORDER,
    REFUSED,
    ROUTE_CODES,
    EvidenceState,
    RecordState,
    decide_columns,
)

CST = dt.timezone(dt.timedelta(hours=8))


def _evidence_state(app: Application, snap: PolicySnapshot, on: dt.date) -> EvidenceState:
    found = app.evidence
    if found is None:
        return EvidenceState.MISSING
    if isinstance(found, CreditLookupFailure):
        return EvidenceState.FAILED
    ours = app.applicant.identifier
    if found.subject != ours or any(r.subject != ours for r in found.records):
        return EvidenceState.WRONG_SUBJECT
    if not found.verify():
        return EvidenceState.UNVERIFIED
    retrieved_on = found.retrieved_at.astimezone(CST).date()
    if retrieved_on > on:
        return EvidenceState.FUTURE
    if retrieved_on < on - dt.timedelta(days=snap.credit_evidence_max_age_days):
        return EvidenceState.STALE
    if found.scale != snap.grade_scale.name:
        return EvidenceState.OTHER_SCALE
    return EvidenceState.USABLE


def _record_state(
    found: CreditEvidence, snap: PolicySnapshot, on: dt.date, item: ApprovalItem
) -> RecordState:
    if any(snap.bans(r, item, on) for r in found.records):
        return RecordState.BANNED
    for record in found.records:
        rules = snap.blocking_rules(record, on)
        if rules:
            until_repair = any(rule.lasts is BlockLasts.UNTIL_REPAIRED for rule in rules)
            return RecordState.UNTIL_REPAIR if until_repair else RecordState.BLOCKING
    return RecordState.NONE


def columns_of(
    apps: Sequence[Application], snap: PolicySnapshot, on: dt.date, item: ApprovalItem
) -> dict[str, object]:
    """The registry export of ``apps``: one column per fact the rules read."""
    grades, records, levels, states, chose = [], [], [], [], []
    size = len(snap.grade_scale)
    for app in apps:
        found = app.evidence
        grade = -1
        record = RecordState.NONE
        if isinstance(found, CreditEvidence):
            if found.grade is not None:
                rank = snap.rank(found.grade)
                grade = size if rank is None else rank
            record = _record_state(found, snap, on, item)
        grades.append(grade)
        records.append(record)
        level = app.project.major_level
        levels.append(-1 if level is None else LEVEL_ORDER.index(level))
        states.append(_evidence_state(app, snap, on))
        chose.append(app.choose_standard)
    return {
        "grades": np.array(grades, dtype=np.int8),
        "records": np.array(records, dtype=np.int8),
        "major_levels": np.array(levels, dtype=np.int8),
        "evidence": np.array(states, dtype=np.int8),
        "chose_standard": np.array(chose, dtype=bool),
    }


def _expected(app: Application, policy: Policy, on: dt.date) -> tuple[int, str]:
    try:
        decision: Decision = decide(
            item=app.item,
            applicant=app.applicant,
            evidence=app.evidence,
            policy=policy,
            on=on,
            project=app.project,
            choose_standard=app.choose_standard,
        )
    except ReapplicationBarred:
        return REFUSED, "reapplication-ban"
    return ROUTE_CODES.index(decision.route), decision.reasons[0].code


@pytest.mark.parametrize("on", DAYS)
def test_columns_decide_as_decide(on: dt.date) -> None:
    policy = Policy.sample()
    for item in Catalog.sample().items(on):
        apps = seeded_feed(1_500, on.toordinal(), on, [item])
        snap = policy.at(on, item=item)
        result = decide_columns(policy, on, item, **columns_of(apps, snap, on, item))
        got = list(zip(result.routes.tolist(), result.reason_names(), strict=True))
        want = [_expected(app, policy, on) for app in apps]
        assert got == want
        assert len(set(want)) > 5  # many different outcomes were compared


def test_default_columns_are_usable_evidence_without_records() -> None:
    on = DAYS[1]
    item = Catalog.sample().item("321084-GGCSWSXK", on)
    result = decide_columns(Policy.sample(), on, item, grades=np.array([0, 4], dtype=np.int8))
    assert result.route_names() == ["conditional", "standard"]
    assert result.reason_names() == [
        "credit-grade-meets-threshold",
        "credit-grade-below-threshold",
    ]


def test_bad_columns_are_refused_with_their_names() -> None:
    on = DAYS[1]
    item = Catalog.sample().item("321084-GGCSWSXK", on)
    with pytest.raises(InvalidValue) as caught:
        decide_columns(
            Policy.sample(),
            on,
            item,
            grades=np.array([0, -2], dtype=np.int8),
            records=np.array([0], dtype=np.int8),
            evidence=np.array([0, 9], dtype=np.int8),
        )
    assert [p.path for p in caught.value.problems] == ["grades", "records", "evidence"]
    with pytest.raises(InvalidValue, match="integer"):
        decide_columns(Policy.sample(), on, item, grades=np.array([0.5]))


_FACTS = st.tuples(
    st.sampled_from(list(RecordState)),
    st.integers(-1, len(LEVEL_ORDER) - 1),
    st.sampled_from(list(EvidenceState)),
)


@given(
    facts=st.lists(_FACTS, min_size=1, max_size=30),
    data=st.data(),
    on=st.sampled_from(DAYS),
)
def test_a_better_grade_never_gives_a_less_favourable_route(
    facts: list[tuple[RecordState, int, EvidenceState]], data: st.DataObject, on: dt.date
) -> None:
    item = data.draw(st.sampled_from(Catalog.sample().items(on)))
    size = len(Policy.sample().at(on, item=item).grade_scale)
    ranks = data.draw(
        st.lists(
            st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)),
            min_size=len(facts),
            max_size=len(facts),
        )
    )
    better = np.array([min(a, b) for a, b in ranks], dtype=np.int8)
    worse = np.array([max(a, b) for a, b in ranks], dtype=np.int8)
    columns = {
        "records": np.array([f[0] for f in facts], dtype=np.int8),
        "major_levels": np.array([f[1] for f in facts], dtype=np.int8),
        "evidence": np.array([f[2] for f in facts], dtype=np.int8),
    }
    good = decide_columns(Policy.sample(), on, item, grades=better, **columns).routes
    bad = decide_columns(Policy.sample(), on, item, grades=worse, **columns).routes
    assert (good >= bad).all()
    chose = decide_columns(
        Policy.sample(),
        on,
        item,
        grades=better,
        chose_standard=np.ones(len(facts), bool),
        **columns,
    ).routes
    assert (chose <= 0).all()  # standard, or refused by a ban
    refused = good == REFUSED
    assert (columns["records"][refused] == RecordState.BANNED).all()
