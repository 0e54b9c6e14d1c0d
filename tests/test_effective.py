"""Tests for creditcommit.effective: dated values, timelines, gaps, conflicts and overlays."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.effective import Dated, Instrument, InstrumentRegistry, LegalReference, Timeline
from creditcommit.errors import ConflictingValues, NoValueInForce

D = dt.date
BASE = D(2020, 1, 1)
LAW = LegalReference("中华人民共和国行政许可法", "第四十二条")


def day(offset: int) -> dt.date:
    return BASE + dt.timedelta(days=offset)


# --- LegalReference and Dated --------------------------------------------------------------


def test_legal_reference_citation_line() -> None:
    assert str(LAW) == "中华人民共和国行政许可法 第四十二条"
    assert str(LegalReference("国办发〔2020〕42号")) == "国办发〔2020〕42号"
    linked = LegalReference("Administrative Licensing Law", "Art 42", "https://example.org/alb")
    assert str(linked) == "Administrative Licensing Law Art 42 <https://example.org/alb>"


def test_legal_reference_needs_an_instrument() -> None:
    with pytest.raises(ValueError, match="instrument must not be empty"):
        LegalReference("  ")


def test_dated_end_must_follow_start() -> None:
    with pytest.raises(
        ValueError,
        match=r"end 2020-01-01 must be after start 2020-01-01 \(the end day is the first day",
    ):
        Dated(BASE, 1, end=BASE)


def test_dated_rejects_datetimes() -> None:
    with pytest.raises(TypeError, match=r"start must be a datetime\.date"):
        Dated(dt.datetime(2020, 1, 1, 8), 1)


def test_dated_carries_its_reference() -> None:
    entry = Dated(BASE, 20, reference=LAW)
    assert Timeline("limit", [entry]).entry_at(day(5)).reference == LAW


# --- Timeline lookups ----------------------------------------------------------------------


@pytest.fixture
def limits() -> Timeline[int]:
    return Timeline(
        "decision limit",
        [
            Dated(D(2024, 1, 1), 10),
            Dated(D(2019, 1, 1), 20, end=D(2022, 1, 1)),
            Dated(D(2022, 6, 1), 15),
        ],
    )


def test_entries_are_sorted_by_start(limits: Timeline[int]) -> None:
    assert limits.changes() == (D(2019, 1, 1), D(2022, 6, 1), D(2024, 1, 1))
    assert [e.value for e in limits] == [20, 15, 10]
    assert len(limits) == 3


def test_an_entry_holds_until_the_next_start(limits: Timeline[int]) -> None:
    assert limits.at(D(2019, 1, 1)) == 20
    assert limits.at(D(2021, 12, 31)) == 20
    assert limits.at(D(2022, 6, 1)) == 15
    assert limits.at(D(2023, 12, 31)) == 15
    assert limits.at(D(2024, 1, 1)) == 10
    assert limits.at(D(2099, 1, 1)) == 10


def test_an_explicit_end_leaves_a_gap(limits: Timeline[int]) -> None:
    with pytest.raises(
        NoValueInForce, match="no value of 'decision limit' is in force on 2022-01-01"
    ):
        limits.at(D(2022, 1, 1))
    assert limits.get(D(2022, 3, 1)) is None
    assert limits.get(D(2022, 3, 1), 0) == 0


def test_before_the_first_entry_there_is_no_value(limits: Timeline[int]) -> None:
    with pytest.raises(NoValueInForce) as info:
        limits.entry_at(D(2018, 12, 31))
    assert info.value.name == "decision limit"
    assert info.value.day == D(2018, 12, 31)


def test_spans_and_gaps(limits: Timeline[int]) -> None:
    assert limits.spans() == (
        (D(2019, 1, 1), D(2022, 1, 1)),
        (D(2022, 6, 1), D(2024, 1, 1)),
        (D(2024, 1, 1), None),
    )
    assert limits.gaps(D(2018, 1, 1), D(2030, 1, 1)) == (
        (D(2018, 1, 1), D(2019, 1, 1)),
        (D(2022, 1, 1), D(2022, 6, 1)),
    )
    assert limits.gaps(D(2022, 6, 1), D(2022, 6, 1)) == ()
    assert Timeline[int]("empty").gaps(D(2020, 1, 1), D(2020, 2, 1)) == (
        (D(2020, 1, 1), D(2020, 2, 1)),
    )


def test_gaps_needs_an_ordered_range(limits: Timeline[int]) -> None:
    with pytest.raises(ValueError, match="end 2020-01-01 is before start 2021-01-01"):
        limits.gaps(D(2021, 1, 1), D(2020, 1, 1))


def test_timeline_needs_a_name() -> None:
    with pytest.raises(ValueError, match="name must not be empty"):
        Timeline("", [Dated(BASE, 1)])


# --- Conflicts -----------------------------------------------------------------------------


def test_same_start_is_a_conflict() -> None:
    with pytest.raises(ConflictingValues) as info:
        Timeline("fee", [Dated(BASE, 1), Dated(BASE, 2)])
    assert info.value.day == BASE
    assert str(info.value) == (
        "two values of 'fee' are in force on 2020-01-01: two entries start on 2020-01-01"
    )


def test_explicit_end_past_next_start_is_a_conflict() -> None:
    with pytest.raises(ConflictingValues) as info:
        Timeline("fee", [Dated(D(2021, 1, 1), 2), Dated(D(2020, 1, 1), 1, end=D(2021, 3, 1))])
    assert info.value.day == D(2021, 1, 1)
    assert info.value.detail == (
        "the entry starting 2020-01-01 runs until 2021-03-01, past the entry starting 2021-01-01"
    )


def test_end_on_next_start_is_fine() -> None:
    timeline = Timeline(
        "fee", [Dated(D(2020, 1, 1), 1, end=D(2021, 1, 1)), Dated(D(2021, 1, 1), 2)]
    )
    assert timeline.gaps(D(2020, 1, 1), D(2022, 1, 1)) == ()


# --- until and overlay ---------------------------------------------------------------------


def test_until_ends_the_value_in_force(limits: Timeline[int]) -> None:
    ended = limits.until(D(2023, 1, 1))
    assert ended.changes() == (D(2019, 1, 1), D(2022, 6, 1))
    assert ended.at(D(2022, 12, 31)) == 15
    assert ended.get(D(2023, 1, 1)) is None
    assert ended.spans()[-1] == (D(2022, 6, 1), D(2023, 1, 1))
    # Ending inside a gap keeps the earlier explicit end.
    assert limits.until(D(2022, 3, 1)).entries == (limits.entries[0],)
    assert limits.until(D(2019, 1, 1)).entries == ()


def test_overlay_fills_gaps() -> None:
    national = Timeline("limit", [Dated(D(2020, 1, 1), 20, end=D(2022, 1, 1))])
    city = Timeline("limit", [Dated(D(2022, 1, 1), 5)])
    both = national.overlay(city)
    assert both.name == "limit"
    assert both.at(D(2021, 6, 1)) == 20
    assert both.at(D(2023, 6, 1)) == 5


def test_overlay_never_lets_the_last_win() -> None:
    national = Timeline("limit", [Dated(D(2020, 1, 1), 20)])
    city = Timeline("limit (Yangzhou)", [Dated(D(2023, 1, 1), 5)])
    with pytest.raises(ConflictingValues) as info:
        national.overlay(city)
    assert info.value.day == D(2023, 1, 1)
    assert info.value.name == "limit + limit (Yangzhou)"
    assert info.value.detail == (
        "'limit' (entry starting 2020-01-01) and 'limit (Yangzhou)' "
        "(entry starting 2023-01-01) both set it"
    )


def test_overlay_replaces_only_after_an_explicit_close() -> None:
    national = Timeline("limit", [Dated(D(2020, 1, 1), 20, reference=LAW)])
    city = Timeline("limit", [Dated(D(2023, 1, 1), 5)])
    both = national.until(D(2023, 1, 1)).overlay(city)
    assert both.at(D(2022, 12, 31)) == 20
    assert both.at(D(2023, 1, 1)) == 5
    assert both.entry_at(D(2021, 1, 1)).reference == LAW


def test_overlay_reports_the_first_shared_day() -> None:
    a = Timeline("a", [Dated(D(2020, 1, 1), 1, end=D(2020, 2, 1)), Dated(D(2021, 1, 1), 2)])
    b = Timeline(
        "b",
        [Dated(D(2020, 1, 15), 3, end=D(2020, 3, 1)), Dated(D(2019, 1, 1), 4, end=D(2019, 2, 1))],
    )
    with pytest.raises(ConflictingValues) as info:
        b.overlay(a, name="merged")
    assert info.value.day == D(2020, 1, 15)
    assert info.value.name == "merged"


def test_generic_values() -> None:
    names: Timeline[str] = Timeline("item name", [Dated(BASE, "卫生许可")])
    assert names.at(day(1)).startswith("卫生")
    assert Timeline("x", [attrs.evolve(Dated(BASE, "a"), end=day(3))]).get(day(3)) is None


# --- Properties ----------------------------------------------------------------------------

HORIZON = 400


@st.composite
def entry_lists(draw: st.DrawFn, *, explicit_ends: bool = False) -> list[Dated[int]]:
    """Non-conflicting entries: distinct starts, explicit ends never past the next start."""
    starts = sorted(draw(st.sets(st.integers(0, HORIZON), max_size=8)))
    entries = []
    for i, start in enumerate(starts):
        limit = starts[i + 1] if i + 1 < len(starts) else HORIZON + 30
        end: int | None = None
        if explicit_ends or draw(st.booleans()):
            end = draw(st.integers(start + 1, max(limit, start + 1)))
        value = draw(st.integers(-5, 5))
        entries.append(Dated(day(start), value, end=None if end is None else day(end)))
    return entries


def naive(entries: list[Dated[int]], on: dt.date) -> Dated[int] | None:
    """An entry holds on a day it has reached, has not ended, and no later start has reached."""
    for entry in entries:
        reached = entry.start <= on and (entry.end is None or on < entry.end)
        superseded = any(entry.start < other.start <= on for other in entries)
        if reached and not superseded:
            return entry
    return None


days = st.integers(-20, HORIZON + 40).map(day)


@given(entry_lists(), st.lists(days, min_size=1, max_size=20))
def test_at_agrees_with_a_naive_scan(entries: list[Dated[int]], queries: list[dt.date]) -> None:
    timeline = Timeline("p", entries)
    for on in queries:
        expected = naive(entries, on)
        if expected is None:
            with pytest.raises(NoValueInForce):
                timeline.at(on)
        else:
            assert timeline.entry_at(on) == expected
            assert timeline.at(on) == expected.value


@given(entry_lists(), st.integers(-20, HORIZON), st.integers(0, 80))
def test_every_day_is_covered_or_in_a_gap(entries: list[Dated[int]], first: int, span: int) -> None:
    timeline = Timeline("p", entries)
    start, end = day(first), day(first + span)
    gaps = timeline.gaps(start, end)
    for (a, b), (c, _) in itertools.pairwise(gaps):
        assert a < b < c  # sorted, disjoint and maximal (never touching)
    for offset in range(span):
        on = day(first + offset)
        in_gap = any(a <= on < b for a, b in gaps)
        covered = naive(entries, on) is not None
        assert in_gap != covered


@given(entry_lists(), st.randoms(use_true_random=False))
def test_order_of_entries_does_not_matter(entries: list[Dated[int]], rng: random.Random) -> None:
    shuffled = list(entries)
    rng.shuffle(shuffled)
    assert Timeline("p", shuffled) == Timeline("p", entries)


@given(entry_lists(), st.data())
def test_overlapping_entries_always_conflict(
    entries: list[Dated[int]], data: st.DataObject
) -> None:
    if not entries:
        entries = [Dated(day(10), 0)]
    victim = data.draw(st.sampled_from(entries))
    way = data.draw(st.sampled_from(["same start", "end past start", "start inside"]))
    if way == "same start":
        intruder = Dated(victim.start, 99)
    elif (
        way == "end past start" or victim.end is None or victim.end - victim.start < dt.timedelta(2)
    ):
        before = data.draw(st.integers(1, 30))
        after = data.draw(st.integers(1, 30))
        intruder = Dated(
            victim.start - dt.timedelta(before), 99, end=victim.start + dt.timedelta(after)
        )
    else:
        inside = data.draw(st.integers(1, (victim.end - victim.start).days - 1))
        intruder = Dated(victim.start + dt.timedelta(inside), 99)
        # Starting inside an explicitly ended entry conflicts with that entry's end.
    with pytest.raises(ConflictingValues):
        Timeline("p", [*entries, intruder])


@given(entry_lists(explicit_ends=True), st.data())
def test_overlay_of_a_partition_rebuilds_the_timeline(
    entries: list[Dated[int]], data: st.DataObject
) -> None:
    sides = data.draw(st.lists(st.booleans(), min_size=len(entries), max_size=len(entries)))
    left = Timeline("p", [e for e, side in zip(entries, sides, strict=True) if side])
    right = Timeline("p", [e for e, side in zip(entries, sides, strict=True) if not side])
    assert left.overlay(right) == right.overlay(left) == Timeline("p", entries)


def overlay_outcome(a: Timeline[int], b: Timeline[int]) -> Timeline[int] | dt.date:
    """The overlay, or the first day of its conflict."""
    try:
        return a.overlay(b)
    except ConflictingValues as exc:
        return exc.day


@given(entry_lists(), entry_lists())
def test_overlay_is_commutative(first: list[Dated[int]], second: list[Dated[int]]) -> None:
    a, b = Timeline("p", first), Timeline("p", second)
    outcome = overlay_outcome(a, b)
    assert outcome == overlay_outcome(b, a)
    if isinstance(outcome, Timeline):
        for entry in (*first, *second):
            assert outcome.entry_at(entry.start) == entry


@given(entry_lists(), days)
def test_until_keeps_the_past_and_clears_the_future(
    entries: list[Dated[int]], cut: dt.date
) -> None:
    timeline = Timeline("p", entries)
    ended = timeline.until(cut)
    for offset in range(-20, HORIZON + 40, 7):
        on = day(offset)
        expected = timeline.get(on) if on < cut else None
        assert ended.get(on) == expected


# --- instruments ---------------------------------------------------------------------------


def test_instrument_days_and_names() -> None:
    order_58 = Instrument(
        "失信行为纠正后的信用信息修复管理办法（试行）",
        dt.date(2023, 5, 1),
        end=dt.date(2026, 4, 1),
        number="国家发展改革委令第58号",
    )
    assert order_58.in_force(dt.date(2023, 5, 1))
    assert order_58.in_force(dt.date(2026, 3, 31))
    assert not order_58.in_force(dt.date(2026, 4, 1))
    assert not order_58.in_force(dt.date(2023, 4, 30))
    assert order_58.span_text() == "2023-05-01 to 2026-03-31"
    registry = InstrumentRegistry.of([order_58])
    for name in (
        "失信行为纠正后的信用信息修复管理办法（试行）",
        "失信行为纠正后的信用信息修复管理办法（试行）（国家发展改革委令第58号）",
        "国家发展改革委令第58号",
    ):
        assert registry.find(name) is order_58
        assert registry.find(LegalReference(name, "第十条")) is order_58
    assert registry.find("信用修复管理办法") is None
    with pytest.raises(ValueError, match="must be after start"):
        Instrument("x", dt.date(2023, 5, 1), end=dt.date(2023, 5, 1))
    with pytest.raises(ValueError, match="two instruments are both called 'x'"):
        InstrumentRegistry.of(
            [Instrument("x", dt.date(2020, 1, 1)), Instrument("x", dt.date(2021, 1, 1))]
        )


def test_registry_problem_messages() -> None:
    registry = InstrumentRegistry.of(
        [Instrument("某办法", dt.date(2023, 5, 1), end=dt.date(2026, 4, 1))]
    )
    ref = LegalReference("某办法")
    assert registry.problem(ref, dt.date(2023, 5, 1), dt.date(2026, 4, 1)) is None
    assert registry.problem(ref, dt.date(2023, 4, 1), dt.date(2024, 1, 1)) == (
        "cites 《某办法》, in force only from 2023-05-01, but applies from 2023-04-01"
    )
    assert registry.problem(ref, dt.date(2024, 1, 1), None) == (
        "cites 《某办法》, repealed on 2026-04-01, but applies without an end; end the entry "
        "by 2026-04-01"
    )
    assert registry.problem(LegalReference("未登记的规定"), dt.date(1990, 1, 1), None) is None


@given(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.one_of(st.none(), st.integers(1, 4000)),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.one_of(st.none(), st.integers(1, 4000)),
)
def test_a_rule_may_cite_an_instrument_exactly_when_it_lies_within_its_days(
    i_start: dt.date, i_days: int | None, r_start: dt.date, r_days: int | None
) -> None:
    i_end = None if i_days is None else i_start + dt.timedelta(days=i_days)
    r_end = None if r_days is None else r_start + dt.timedelta(days=r_days)
    registry = InstrumentRegistry.of([Instrument("某规定", i_start, end=i_end)])
    instrument = registry.find("某规定")
    assert instrument is not None
    last = None if r_end is None else r_end - dt.timedelta(days=1)
    # Within: the instrument is in force on the rule's first day and on its last day (or,
    # for a rule without an end, the instrument has none either).
    within = instrument.in_force(r_start) and (
        (last is None and i_end is None) or (last is not None and instrument.in_force(last))
    )
    assert (registry.problem(LegalReference("某规定"), r_start, r_end) is None) == within
