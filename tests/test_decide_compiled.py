"""The compiled decider's own machinery: the decision table, plans shared by equal items,
the freshness window per offset, the publicity cutoff, bounded caches.

Each fast path is checked against the reference interpreter (the differential test's
``assert_same``) on inputs that reach it, and each cache against what it must not do
(grow without bound, confuse two items or two offsets).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pickle
import zoneinfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.catalog import ApprovalItem, Catalog, CommitmentMode, MaterialKind
from creditcommit.credit import CreditEvidence, add_months
from creditcommit.decision import Decision, Route, _trusted_decision
from creditcommit.errors import ReapplicationBarred
from creditcommit.policy import _CACHE_LIMIT, Application, Decider, Policy, decide, decide_many
from creditcommit.testing.strategies import days
from test_decide_differential import DAYS, assert_same, seeded_feed

ON = DAYS[1]


def _clone(item: ApprovalItem) -> ApprovalItem:
    """A new item object equal to ``item`` (what a feed read from a file makes)."""
    fields = {f.name: getattr(item, f.name) for f in attrs.fields(ApprovalItem)}
    return ApprovalItem(**fields)


def _with_items(apps: list[Application], items: list[ApprovalItem]) -> list[Application]:
    return [attrs.evolve(a, item=i) for a, i in zip(apps, items, strict=True)]


def test_a_new_equal_item_object_per_application_decides_as_the_reference() -> None:
    apps = seeded_feed(1_000, 41, ON, Catalog.sample().items(ON))
    cloned = _with_items(apps, [_clone(a.item) for a in apps])
    assert all(c.item == a.item and c.item is not a.item for a, c in zip(apps, cloned, strict=True))
    assert assert_same(cloned, Policy.sample(), ON) == 1_000


def _no_commitment(item: ApprovalItem) -> ApprovalItem:
    """The item with commitment mode none (its waivable and deferrable materials required)."""
    materials = tuple(
        attrs.evolve(m, kind=MaterialKind.REQUIRED, defer_days=None)
        if m.kind in {MaterialKind.WAIVABLE, MaterialKind.DEFERRABLE}
        else m
        for m in item.materials
    )
    return attrs.evolve(item, commitment_mode=CommitmentMode.NONE, materials=materials)


def test_items_of_one_code_that_differ_get_their_own_plan() -> None:
    # Same code, another commitment mode or domains: rule 1 and the place's overlays read
    # them, so a plan shared by code alone would decide the second item as the first.
    items = Catalog.sample().items(ON)
    variants = [
        *items,
        *(_no_commitment(i) for i in items),
        *(attrs.evolve(i, domains=frozenset({"food"})) for i in items),
    ]
    apps = seeded_feed(600, 43, ON, items)
    mixed = _with_items(apps, [variants[n % len(variants)] for n in range(len(apps))])
    assert assert_same(mixed, Policy.sample(), ON) == 600
    none_mode = decide_many(mixed[: len(variants)], Policy.sample(), ON)
    assert any(d.reasons[0].code == "item-commitment-mode-none" for d in none_mode)


def test_a_decision_records_the_catalogue_of_the_item_it_was_given() -> None:
    # Equal items (the catalogue version is not part of equality) share a plan; each
    # decision still names its own item's catalogue.
    item = Catalog.sample().items(ON)[0]
    assert item.catalog is not None
    other = attrs.evolve(item, catalog=attrs.evolve(item.catalog, name="another"))
    assert other == item
    app = seeded_feed(1, 47, ON, [item])[0]
    decider = Decider(Policy.sample(), ON)
    first, second = decider.decide_many([app, attrs.evolve(app, item=other)])
    assert first.catalog == item.catalog
    assert second.catalog == other.catalog
    assert second.catalog != first.catalog


def test_plans_stay_bounded_with_distinct_item_objects() -> None:
    items = Catalog.sample().items(ON)
    apps = seeded_feed(200, 53, ON, items)
    decider = Decider(Policy.sample(), ON)
    count = 0
    for n in range(_CACHE_LIMIT + 500):
        a = apps[n % len(apps)]
        with contextlib.suppress(ReapplicationBarred):  # the plan was made all the same
            decider.decide_many([attrs.evolve(a, item=_clone(a.item))])
        count += 1
    assert count == _CACHE_LIMIT + 500
    assert len(decider._plans) <= _CACHE_LIMIT  # keyed by the object: emptied when full
    assert len(decider._by_value) == len(items)  # keyed by what a plan reads


def _shifted(app: Application, zone: dt.tzinfo) -> Application:
    found = app.evidence
    assert isinstance(found, CreditEvidence)
    moved = CreditEvidence.create(
        subject=found.subject,
        source=found.source,
        retrieved_at=found.retrieved_at.astimezone(zone),
        scale=found.scale,
        grade=found.grade,
        records=found.records,
    )
    return attrs.evolve(app, evidence=moved)


def test_the_freshness_window_holds_in_every_offset() -> None:
    # The window is compared in the evidence's own fixed offset (or as instants for a
    # zone whose offset may change): the same instants, the same answers.
    zones: list[dt.tzinfo] = [
        dt.UTC,
        dt.timezone(dt.timedelta(hours=14)),
        dt.timezone(dt.timedelta(hours=-12)),
        dt.timezone(dt.timedelta(hours=5, minutes=45)),
        zoneinfo.ZoneInfo("Asia/Shanghai"),
        zoneinfo.ZoneInfo("America/New_York"),
    ]
    for on in DAYS:
        apps = [
            a
            for a in seeded_feed(400, 59, on, Catalog.sample().items(on))
            if isinstance(a.evidence, CreditEvidence) and a.evidence.verify()
        ]
        for zone in zones:
            assert_same([_shifted(a, zone) for a in apps], Policy.sample(), on)


def test_evidence_at_the_window_edges() -> None:
    # Retrieved at the first and last instants of the window and just outside it.
    policy = Policy.sample()
    item = Catalog.sample().items(ON)[0]
    app = next(
        a
        for a in seeded_feed(400, 61, ON, [item])
        if isinstance(a.evidence, CreditEvidence)
        and decide_many([a], policy, ON)[0].route is Route.CONDITIONAL
    )
    found = app.evidence
    assert isinstance(found, CreditEvidence)
    max_age = policy.at(ON, item=item).credit_evidence_max_age_days
    cst = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime.combine(ON - dt.timedelta(days=max_age), dt.time.min, cst)
    end = dt.datetime.combine(ON + dt.timedelta(days=1), dt.time.min, cst)
    tick = dt.timedelta(microseconds=1)
    edges = [start - tick, start, end - tick, end]
    apps = []
    for at in edges:
        for zone in (cst, dt.UTC, dt.timezone(dt.timedelta(hours=-3))):
            moved = CreditEvidence.create(
                subject=found.subject,
                source=found.source,
                retrieved_at=at.astimezone(zone),
                scale=found.scale,
                grade=found.grade,
                records=found.records,
            )
            # Read back, as from a store: verified where it entered.
            apps.append(attrs.evolve(app, evidence=CreditEvidence.from_dict(moved.to_dict())))
    assert assert_same(apps, policy, ON) == len(apps)
    routes = [d.route for d in decide_many(apps, policy, ON)]
    inside, outside = Route.CONDITIONAL, Route.STANDARD
    assert routes == [outside] * 3 + [inside] * 6 + [outside] * 3


_SAMPLE = Policy.sample()


@given(on=days(), months=st.integers(min_value=0, max_value=120))
def test_the_publicity_cutoff_is_the_last_day_no_longer_published(on: dt.date, months: int) -> None:
    # A record is active on `on` iff decided after the cutoff of its publicity length (and
    # not after `on`): add_months never decreases, so the cutoff splits the days in two.
    day = Decider(_SAMPLE, on)._cutoff(months)
    assert day is not None
    assert add_months(day, months) <= on
    assert add_months(day + dt.timedelta(days=1), months) > on


def test_the_trusted_constructor_builds_an_ordinary_decision() -> None:
    app = seeded_feed(1, 67, ON, Catalog.sample().items(ON))[0]
    made = decide(
        item=app.item,
        applicant=app.applicant,
        evidence=app.evidence,
        policy=Policy.sample(),
        on=ON,
        project=app.project,
        choose_standard=app.choose_standard,
    )
    values = attrs.astuple(made, recurse=False)
    fast = _trusted_decision(*values)
    plain = Decision(*values)
    assert fast == plain
    assert hash(fast) == hash(plain)
    assert repr(fast) == repr(plain)
    assert pickle.loads(pickle.dumps(fast)) == plain
    assert fast.explain("en") == plain.explain("en")
    assert attrs.asdict(fast) == attrs.asdict(plain)


def test_table_decisions_share_their_reasons_and_still_compare_by_value() -> None:
    item = Catalog.sample().items(ON)[0]
    apps = [
        a
        for a in seeded_feed(400, 71, ON, [item])
        if isinstance(a.evidence, CreditEvidence) and a.evidence.grade == "A"
    ]
    apps = [attrs.evolve(a, choose_standard=False) for a in apps]
    decisions = [d for d in decide_many(apps, Policy.sample(), ON) if d.route is Route.CONDITIONAL]
    assert len(decisions) >= 2
    first, second = decisions[:2]
    assert first.reasons is second.reasons  # one pre-rendered tuple, from the table
    assert first != second  # another applicant, another digest
    assert first == attrs.evolve(first)  # and compares by value with a checked copy
