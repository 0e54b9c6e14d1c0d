"""Tests for creditcommit.materials: material plans on the sample catalogue and their laws."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, Catalog, CommitmentMode, Material, MaterialKind
from creditcommit.decision import Decision, Reason, Route, RuleVersion
from creditcommit.errors import (
    CalendarCoverageError,
    DecisionMismatch,
    InvalidValue,
    UnknownMaterial,
)
from creditcommit.materials import (
    Disposition,
    LicenceHolding,
    MaterialLine,
    MaterialPlan,
    plan_materials,
)
from creditcommit.testing.strategies import approval_items, days, licence_holdings

D = dt.date
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
CASE_DAY = D(2023, 1, 16)  # the Jiangdu filing of the seed case study
HOLIDAY_DAY = D(2025, 9, 29)  # the Monday before the 2025 National Day / Mid-Autumn break
CALENDAR = WorkingCalendar.china()

STORE = [
    LicenceHolding("business-licence", "91321012MA1XXXXX0H"),
    LicenceHolding("uscc-certificate", "USCC-91321012MA1XXXXX0H"),
]
ID_CARD = LicenceHolding("resident-identity-card", "ID-321084", valid_until=D(2030, 5, 1))

S, R, W, DF, M = (
    Disposition.SUBMITTED,
    Disposition.RETRIEVED,
    Disposition.WAIVED,
    Disposition.DEFERRED,
    Disposition.MISSING,
)


def jiangdu(day: dt.date = CASE_DAY) -> ApprovalItem:
    return Catalog.sample().item(JIANGDU, day)


def gaoyou(day: dt.date = HOLIDAY_DAY) -> ApprovalItem:
    return Catalog.sample().item(GAOYOU, day)


def decision_for(item: ApprovalItem, route: Route, day: dt.date) -> Decision:
    return Decision(
        item_code=item.code,
        item_valid_from=item.valid_from,
        applicant="91321012MA1XXXXX0H",
        decided_on=day,
        route=route,
        eligible_route=route,
        reasons=(Reason("test", "测试", "test"),),
        catalog=None,
        policy=RuleVersion("test-policy", "0", "0" * 64),
    )


def dispositions(plan: MaterialPlan) -> list[tuple[str, Disposition]]:
    return [(line.code, line.disposition) for line in plan.lines]


# --- the seed cases on the sample catalogue --------------------------------------------------


def test_jiangdu_direct_four_materials_reduced() -> None:
    item = jiangdu()
    plan = plan_materials(item, Route.DIRECT, (), STORE, on=CASE_DAY, calendar=CALENDAR)
    assert dispositions(plan) == [
        ("TZXMBA-01", W),
        ("TZXMBA-02", W),
        ("TZXMBA-03", R),
        ("TZXMBA-04", R),
    ]
    assert plan.acceptable
    assert plan.missing == ()
    assert plan.reduced == 4
    assert plan.latest_due is None
    assert plan.line("TZXMBA-03").licence_ref == "USCC-91321012MA1XXXXX0H"
    assert plan.line("TZXMBA-04").licence_ref == "91321012MA1XXXXX0H"
    assert (plan.item_code, plan.route, plan.day) == (JIANGDU, Route.DIRECT, CASE_DAY)


def test_jiangdu_standard_without_materials() -> None:
    plan = plan_materials(jiangdu(), Route.STANDARD, (), STORE, on=CASE_DAY, calendar=CALENDAR)
    assert dispositions(plan) == [
        ("TZXMBA-01", M),
        ("TZXMBA-02", M),
        ("TZXMBA-03", R),
        ("TZXMBA-04", R),
    ]
    assert not plan.acceptable
    assert [line.code for line in plan.missing] == ["TZXMBA-01", "TZXMBA-02"]
    assert {line.reason for line in plan.missing} == {"standard-route"}
    assert plan.reduced == 2


def test_jiangdu_standard_with_materials_is_acceptable() -> None:
    plan = plan_materials(
        jiangdu(), Route.STANDARD, {"TZXMBA-01", "TZXMBA-02"}, STORE, on=CASE_DAY, calendar=CALENDAR
    )
    assert dispositions(plan) == [
        ("TZXMBA-01", S),
        ("TZXMBA-02", S),
        ("TZXMBA-03", R),
        ("TZXMBA-04", R),
    ]
    assert plan.acceptable
    assert [line.code for line in plan.submitted] == ["TZXMBA-01", "TZXMBA-02"]


def test_gaoyou_conditional_defers_across_national_day() -> None:
    item = gaoyou()
    plan = plan_materials(
        item,
        Route.CONDITIONAL,
        ["GGCSWSXK-01"],
        [*STORE, ID_CARD],
        on=HOLIDAY_DAY,
        calendar=CALENDAR,
    )
    assert dispositions(plan) == [
        ("GGCSWSXK-01", S),
        ("GGCSWSXK-02", R),
        ("GGCSWSXK-03", R),
        ("GGCSWSXK-04", DF),
        ("GGCSWSXK-05", W),
        ("GGCSWSXK-06", DF),
        ("GGCSWSXK-07", DF),
    ]
    # 5 working days after Mon 29 Sep 2025: 30 Sep, then the break 1-8 Oct, then Thu 9,
    # Fri 10, the make-up Saturday 11 Oct and Mon 13 Oct.
    due = D(2025, 10, 13)
    assert [line.due for line in plan.deferred] == [due, due, due]
    assert plan.latest_due == due
    assert plan.acceptable
    assert plan.reduced == 3  # the business licence, the identity card, the hygiene rules
    assert [line.code for line in plan.waived] == ["GGCSWSXK-05"]
    assert [line.code for line in plan.retrieved] == ["GGCSWSXK-02", "GGCSWSXK-03"]
    assert plan.line("GGCSWSXK-04").text() == "容缺受理，应于2025年10月13日前补交"
    assert plan.line("GGCSWSXK-04").text("en") == (
        "deferred (容缺受理); to be supplied by 2025-10-13"
    )


def test_gaoyou_without_the_application_form_is_not_acceptable() -> None:
    plan = plan_materials(
        gaoyou(), Route.DIRECT, (), [*STORE, ID_CARD], on=HOLIDAY_DAY, calendar=CALENDAR
    )
    assert [(line.code, line.reason) for line in plan.missing] == [("GGCSWSXK-01", "required")]
    assert not plan.acceptable
    assert plan.line("GGCSWSXK-01").text("en") == (
        "principal (statutory) material: must be submitted, never waived or deferred"
    )


def test_gaoyou_standard_route_demands_everything_but_licences() -> None:
    plan = plan_materials(
        gaoyou(), Route.STANDARD, ["GGCSWSXK-01"], STORE, on=HOLIDAY_DAY, calendar=CALENDAR
    )
    assert dispositions(plan) == [
        ("GGCSWSXK-01", S),
        ("GGCSWSXK-02", R),
        ("GGCSWSXK-03", M),
        ("GGCSWSXK-04", M),
        ("GGCSWSXK-05", M),
        ("GGCSWSXK-06", M),
        ("GGCSWSXK-07", M),
    ]
    assert plan.line("GGCSWSXK-03").reason == "no-licence"
    assert plan.deferred == plan.waived == ()


def test_seed_reduction_is_summed_over_cases() -> None:
    plans = [
        plan_materials(jiangdu(), Route.DIRECT, (), STORE, on=CASE_DAY, calendar=CALENDAR),
        plan_materials(
            gaoyou(),
            Route.CONDITIONAL,
            ["GGCSWSXK-01"],
            [*STORE, ID_CARD],
            on=HOLIDAY_DAY,
            calendar=CALENDAR,
        ),
    ]
    assert sum(plan.reduced for plan in plans) == 4 + 3


# --- rule details ------------------------------------------------------------------------------


def test_waivable_material_provided_anyway_is_submitted() -> None:
    plan = plan_materials(
        jiangdu(), Route.DIRECT, ["TZXMBA-01"], STORE, on=CASE_DAY, calendar=CALENDAR
    )
    assert plan.line("TZXMBA-01").disposition is S
    assert plan.line("TZXMBA-02").disposition is W
    assert plan.reduced == 3


def test_deferrable_material_provided_is_submitted() -> None:
    plan = plan_materials(
        gaoyou(),
        Route.CONDITIONAL,
        ["GGCSWSXK-01", "GGCSWSXK-04"],
        STORE,
        on=HOLIDAY_DAY,
        calendar=CALENDAR,
    )
    assert plan.line("GGCSWSXK-04").disposition is S
    assert plan.line("GGCSWSXK-04").due is None
    assert [line.code for line in plan.deferred] == ["GGCSWSXK-06", "GGCSWSXK-07"]


def test_held_licence_is_retrieved_even_when_provided() -> None:
    plan = plan_materials(
        jiangdu(), Route.STANDARD, ["TZXMBA-04"], STORE, on=CASE_DAY, calendar=CALENDAR
    )
    assert plan.line("TZXMBA-04").disposition is R


def test_licence_not_held_but_provided_is_submitted() -> None:
    plan = plan_materials(
        jiangdu(), Route.DIRECT, ["TZXMBA-04"], [], on=CASE_DAY, calendar=CALENDAR
    )
    assert plan.line("TZXMBA-04").disposition is S
    assert plan.line("TZXMBA-03").disposition is M
    assert plan.line("TZXMBA-03").reason == "no-licence"


def test_licence_valid_until_is_inclusive() -> None:
    store = [LicenceHolding("business-licence", "BL-1", valid_until=CASE_DAY)]
    on_last_day = plan_materials(jiangdu(), Route.DIRECT, (), store, on=CASE_DAY, calendar=CALENDAR)
    assert on_last_day.line("TZXMBA-04").disposition is R
    next_day = CASE_DAY + dt.timedelta(days=1)
    after = plan_materials(jiangdu(), Route.DIRECT, (), store, on=next_day, calendar=CALENDAR)
    line = after.line("TZXMBA-04")
    assert (line.disposition, line.reason) == (M, "licence-expired")
    assert line.text("en") == "the e-licence in the store is no longer valid: must be submitted"


def test_longest_valid_licence_is_used_whatever_the_order() -> None:
    store = [
        LicenceHolding("business-licence", "OLD", valid_until=D(2024, 1, 1)),
        LicenceHolding("business-licence", "EXPIRED", valid_until=D(2022, 1, 1)),
        LicenceHolding("business-licence", "NEW", valid_until=D(2030, 1, 1)),
    ]
    for order in (store, store[::-1]):
        plan = plan_materials(jiangdu(), Route.DIRECT, (), order, on=CASE_DAY, calendar=CALENDAR)
        assert plan.line("TZXMBA-04").licence_ref == "NEW"
        assert plan.line("TZXMBA-04").text() == "通过电子证照调取（NEW），不再要求申请人提交"


def test_deferred_only_item_defers_but_never_waives() -> None:
    item = ApprovalItem(
        code="TEST-1",
        name="测试事项",
        department="测试局",
        legal_basis=gaoyou().legal_basis,
        statutory_days=20,
        promised_days=3,
        commitment_mode=CommitmentMode.DEFERRED_ONLY,
        verification=gaoyou().verification,
        materials=[
            Material("A", "申请表", MaterialKind.REQUIRED),
            Material("B", "平面图", MaterialKind.DEFERRABLE, defer_days=3),
        ],
        valid_from=D(2020, 1, 1),
    )
    plan = plan_materials(item, Route.CONDITIONAL, ["A"], [], on=HOLIDAY_DAY, calendar=CALENDAR)
    # 3 working days after Mon 29 Sep 2025: 30 Sep, Thu 9 Oct, Fri 10 Oct.
    assert plan.line("B").due == D(2025, 10, 10)
    standard = plan_materials(item, Route.STANDARD, ["A"], [], on=HOLIDAY_DAY, calendar=CALENDAR)
    assert standard.line("B").disposition is M


def test_decision_gives_the_route() -> None:
    item = jiangdu()
    decision = decision_for(item, Route.STANDARD, CASE_DAY)
    by_decision = plan_materials(item, decision, (), STORE, on=CASE_DAY, calendar=CALENDAR)
    by_route = plan_materials(item, Route.STANDARD, (), STORE, on=CASE_DAY, calendar=CALENDAR)
    assert by_decision == by_route


# --- errors ------------------------------------------------------------------------------------


def test_unknown_material_is_an_error() -> None:
    with pytest.raises(
        UnknownMaterial, match="approval item '321012-TZXMBA' has no material 'GGCSWSXK-01'"
    ) as info:
        plan_materials(
            jiangdu(),
            Route.DIRECT,
            ["TZXMBA-01", "GGCSWSXK-01"],
            STORE,
            on=CASE_DAY,
            calendar=CALENDAR,
        )
    assert (info.value.item, info.value.code) == (JIANGDU, "GGCSWSXK-01")


def test_decision_for_another_item_is_an_error() -> None:
    decision = decision_for(gaoyou(), Route.DIRECT, CASE_DAY)
    with pytest.raises(
        DecisionMismatch,
        match=r"the decision was made for item '321084-GGCSWSXK' \(version of 2022-11-01\), "
        r"not for item '321012-TZXMBA' \(version of 2022-11-01\)",
    ):
        plan_materials(jiangdu(), decision, (), STORE, on=CASE_DAY, calendar=CALENDAR)


def test_a_single_string_of_codes_is_an_error() -> None:
    with pytest.raises(
        TypeError,
        match="provided must be a collection of material codes, not the string 'TZXMBA-01'",
    ):
        plan_materials(jiangdu(), Route.DIRECT, "TZXMBA-01", STORE, on=CASE_DAY, calendar=CALENDAR)


def test_a_datetime_day_is_an_error() -> None:
    with pytest.raises(TypeError, match=r"on must be a datetime\.date, got datetime\.datetime"):
        plan_materials(
            jiangdu(),
            Route.DIRECT,
            (),
            STORE,
            on=dt.datetime(2023, 1, 16, 9, 0),
            calendar=CALENDAR,
        )


def test_uncovered_year_propagates_instead_of_guessing() -> None:
    day = D(2026, 12, 28)
    with pytest.raises(CalendarCoverageError, match="no official holiday data for 2027"):
        plan_materials(
            gaoyou(day), Route.CONDITIONAL, ["GGCSWSXK-01"], STORE, on=day, calendar=CALENDAR
        )
    # Nothing deferred, no date computed: the plan needs no calendar data.
    plan = plan_materials(
        gaoyou(day), Route.STANDARD, ["GGCSWSXK-01"], STORE, on=day, calendar=CALENDAR
    )
    assert plan.deferred == ()


def test_licence_holding_rejects_blank_fields() -> None:
    with pytest.raises(
        InvalidValue,
        match=r"invalid LicenceHolding: licence_type: expected a non-empty licence type, "
        r"got ' ' \(and 1 more\)",
    ) as info:
        LicenceHolding(" ", "")
    assert [p.path for p in info.value.problems] == ["licence_type", "reference"]


def test_licence_holding_rejects_a_datetime() -> None:
    with pytest.raises(InvalidValue, match="valid_until: expected a date, got datetime"):
        LicenceHolding("business-licence", "BL-1", valid_until=dt.datetime(2030, 1, 1))


def test_line_deferred_needs_due() -> None:
    with pytest.raises(
        InvalidValue, match="invalid MaterialLine: due: a deferred material needs a due date"
    ):
        MaterialLine("X", "x", MaterialKind.DEFERRABLE, DF, "deferred")


def test_line_due_only_when_deferred() -> None:
    with pytest.raises(
        InvalidValue, match="due: only a deferred material has a due date, not a submitted material"
    ):
        MaterialLine("X", "x", MaterialKind.DEFERRABLE, S, "provided", due=CASE_DAY)


def test_line_retrieved_needs_licence_ref() -> None:
    with pytest.raises(
        InvalidValue, match="licence_ref: a retrieved material needs the licence used"
    ):
        MaterialLine("X", "x", MaterialKind.LICENCE, R, "e-licence")


def test_line_licence_ref_only_when_retrieved() -> None:
    with pytest.raises(
        InvalidValue,
        match="licence_ref: only a retrieved material has a licence reference, not a missing",
    ):
        MaterialLine("X", "x", MaterialKind.LICENCE, M, "no-licence", licence_ref="BL-1")


def test_line_required_material_cannot_be_waived() -> None:
    with pytest.raises(
        InvalidValue,
        match="disposition: only a waivable material can be waived, not a required one",
    ):
        MaterialLine("X", "x", MaterialKind.REQUIRED, W, "commitment")


def test_line_unknown_reason() -> None:
    with pytest.raises(InvalidValue, match="reason: unknown reason 'because' \\(known: provided,"):
        MaterialLine("X", "x", MaterialKind.REQUIRED, S, "because")


def test_line_reason_must_fit_disposition() -> None:
    with pytest.raises(
        InvalidValue, match="reason: reason 'required' does not fit a submitted material"
    ):
        MaterialLine("X", "x", MaterialKind.REQUIRED, S, "required")


def test_plan_rejects_waiver_on_standard_route() -> None:
    line = MaterialLine("X", "x", MaterialKind.WAIVABLE, W, "commitment")
    with pytest.raises(
        InvalidValue,
        match=r"invalid MaterialPlan: lines\[0\].disposition: nothing is waived on the standard",
    ):
        MaterialPlan("TEST", Route.STANDARD, CASE_DAY, [line])


def test_plan_rejects_duplicate_lines() -> None:
    line = MaterialLine("X", "x", MaterialKind.REQUIRED, S, "provided")
    with pytest.raises(
        InvalidValue, match=r"lines\[1\].code: duplicate material 'X' \(also lines\[0\]\)"
    ):
        MaterialPlan("TEST", Route.DIRECT, CASE_DAY, [line, line])


def test_plan_rejects_no_lines() -> None:
    with pytest.raises(InvalidValue, match="lines: expected at least one material line"):
        MaterialPlan("TEST", Route.DIRECT, CASE_DAY, [])


def test_plan_rejects_due_not_after_day() -> None:
    line = MaterialLine("X", "x", MaterialKind.DEFERRABLE, DF, "deferred", due=CASE_DAY)
    with pytest.raises(
        InvalidValue,
        match=r"lines\[0\].due: due 2023-01-16 is not after the plan's day 2023-01-16",
    ):
        MaterialPlan("TEST", Route.DIRECT, CASE_DAY, [line])


def test_plan_line_lookup_of_unknown_code() -> None:
    plan = plan_materials(jiangdu(), Route.DIRECT, (), STORE, on=CASE_DAY, calendar=CALENDAR)
    with pytest.raises(UnknownMaterial, match="approval item '321012-TZXMBA' has no material 'X'"):
        plan.line("X")


# --- properties --------------------------------------------------------------------------------

routes = st.sampled_from(Route)


Case = tuple[ApprovalItem, Route, frozenset[str], list[LicenceHolding], dt.date]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    item = draw(approval_items())
    codes = [m.code for m in item.materials]
    provided = frozenset(draw(st.lists(st.sampled_from(codes), unique=True)))
    return item, draw(routes), provided, draw(licence_holdings()), draw(days())


def plan_of(case: Case) -> MaterialPlan:
    item, route, provided, licences, day = case
    return plan_materials(item, route, provided, licences, on=day, calendar=CALENDAR)


@given(cases())
def test_one_line_per_material_in_catalogue_order(case: Case) -> None:
    plan = plan_of(case)
    item = case[0]
    assert [(line.code, line.name, line.kind) for line in plan.lines] == [
        (m.code, m.name, m.kind) for m in item.materials
    ]


@given(cases())
def test_required_never_waived_or_deferred(case: Case) -> None:
    plan = plan_of(case)
    provided = case[2]
    for line in plan.lines:
        if line.kind is MaterialKind.REQUIRED:
            assert line.disposition is (S if line.code in provided else M)


@given(cases())
def test_standard_route_never_waives_or_defers(case: Case) -> None:
    item, _, provided, licences, day = case
    plan = plan_materials(item, Route.STANDARD, provided, licences, on=day, calendar=CALENDAR)
    assert plan.waived == plan.deferred == ()


@given(cases())
def test_deferral_is_due_within_the_promised_limit(case: Case) -> None:
    plan = plan_of(case)
    item, day = case[0], case[4]
    limit = CALENDAR.add_working_days(day, item.promised_days)
    for line in plan.deferred:
        assert line.due is not None
        assert day < line.due <= limit
        assert CALENDAR.is_working_day(line.due)
        defer = item.material(line.code).defer_days
        assert defer is not None
        assert CALENDAR.working_days_between(day, line.due) == min(defer, item.promised_days)


@given(cases())
def test_held_licence_is_never_missing_nor_demanded(case: Case) -> None:
    plan = plan_of(case)
    item, licences, day = case[0], case[3], case[4]
    valid = {h.licence_type: h for h in licences if h.is_valid_on(day)}
    for material in item.materials_of(MaterialKind.LICENCE):
        line = plan.line(material.code)
        if material.licence_type in valid:
            assert line.disposition is R
            refs = {
                h.reference
                for h in licences
                if h.licence_type == material.licence_type and h.is_valid_on(day)
            }
            assert line.licence_ref in refs
        else:
            assert line.disposition is not R


@given(cases())
def test_acceptable_iff_nothing_missing(case: Case) -> None:
    plan = plan_of(case)
    assert plan.acceptable == all(line.disposition is not M for line in plan.lines)
    assert plan.acceptable == (plan.missing == ())


@given(cases())
def test_reduced_counts_waived_and_retrieved(case: Case) -> None:
    plan = plan_of(case)
    assert plan.reduced == sum(line.disposition in {W, R} for line in plan.lines)
    views = (plan.submitted, plan.retrieved, plan.waived, plan.deferred, plan.missing)
    assert sum(len(view) for view in views) == len(plan.lines)


@given(cases(), st.data())
def test_providing_more_never_makes_a_plan_less_acceptable(
    case: Case,
    data: st.DataObject,
) -> None:
    item, route, provided, licences, day = case
    extra = data.draw(st.lists(st.sampled_from([m.code for m in item.materials]), unique=True))
    more = provided | frozenset(extra)
    before = plan_of(case)
    after = plan_materials(item, route, more, licences, on=day, calendar=CALENDAR)
    assert {line.code for line in after.missing} <= {line.code for line in before.missing}
    assert after.acceptable or not before.acceptable


@given(cases(), licence_holdings())
def test_holding_more_licences_never_adds_missing(
    case: Case,
    more: list[LicenceHolding],
) -> None:
    item, route, provided, licences, day = case
    before = plan_of(case)
    after = plan_materials(item, route, provided, [*licences, *more], on=day, calendar=CALENDAR)
    assert {line.code for line in after.missing} <= {line.code for line in before.missing}


@given(cases())
def test_a_commitment_route_never_demands_more_than_the_standard(case: Case) -> None:
    item, _, provided, licences, day = case
    plans = {
        route: plan_materials(item, route, provided, licences, on=day, calendar=CALENDAR)
        for route in Route
    }
    standard = {line.code for line in plans[Route.STANDARD].missing}
    for route in (Route.DIRECT, Route.CONDITIONAL):
        assert {line.code for line in plans[route].missing} <= standard
    # The material rules do not tell the two commitment routes apart.
    assert plans[Route.DIRECT].lines == plans[Route.CONDITIONAL].lines


@given(cases(), st.randoms(use_true_random=False))
def test_order_of_inputs_does_not_matter(case: Case, rnd: random.Random) -> None:
    item, route, provided, licences, day = case
    shuffled = list(licences)
    rnd.shuffle(shuffled)
    codes = sorted(provided)
    rnd.shuffle(codes)
    again = plan_materials(item, route, codes, shuffled, on=day, calendar=CALENDAR)
    assert again == plan_of(case)
