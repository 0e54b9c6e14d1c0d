"""Property tests of the Yangzhou rules as the plugin serves them, for the three places,
with the strategies of :mod:`creditcommit.testing.strategies`."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from creditcommit.catalog import ApprovalItem
from creditcommit.credit import CreditEvidence
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel, Route
from creditcommit.policy import decide
from creditcommit.testing import strategies as ccst
from creditcommit_yangzhou import PLACES, catalog_for, policy

#: The pilots' rules are in force from 2022-11-01; the bundled calendar reaches to 2026.
DAYS = ccst.days(min_value=dt.date(2022, 11, 1))
HEALTH = "321084-GGCSWSXK"  # Gaoyou: on the commitment list, 逢报必查
FILING = "321012-TZXMBA"  # Jiangdu: on the list, major projects need no credit query
NOT_MAJOR = ProjectFacts()
MAJOR = st.sampled_from([ProjectLevel.MUNICIPAL, ProjectLevel.PROVINCIAL, ProjectLevel.NATIONAL])


def route(
    item: ApprovalItem,
    applicant: Applicant,
    evidence: object,
    on: dt.date,
    project: ProjectFacts = NOT_MAJOR,
    *,
    choose_standard: bool = False,
) -> tuple[Route, Route]:
    decision = decide(
        item=item,
        applicant=applicant,
        evidence=evidence,  # type: ignore[arg-type]
        policy=policy(),
        on=on,
        project=project,
        choose_standard=choose_standard,
    )
    return decision.route, decision.eligible_route


@st.composite
def place_items(draw: st.DrawFn) -> tuple[ApprovalItem, dt.date]:
    """An item of one of the three places' catalogues, on a day it is in force."""
    on = draw(DAYS)
    place = draw(st.sampled_from(sorted(PLACES)))
    return draw(st.sampled_from(catalog_for(place).items(on))), on


@given(data=st.data(), found=place_items(), project=ccst.projects())
def test_items_off_the_commitment_list_take_the_standard_route(
    data: st.DataObject, found: tuple[ApprovalItem, dt.date], project: ProjectFacts
) -> None:
    item, on = found
    if item.code in policy().at(on, item=item).commitment_items:
        return
    applicant = data.draw(ccst.applicants())
    evidence = data.draw(
        ccst.evidence_or_absence(subject=applicant.identifier, on=on, policy=policy().at(on))
    )
    assert route(item, applicant, evidence, on, project) == (Route.STANDARD, Route.STANDARD)


@given(
    data=st.data(),
    on=DAYS,
    applicant=ccst.applicants(),
    project=ccst.projects(),
    absent=st.booleans(),
)
def test_gaoyou_fails_closed_without_an_answer_from_the_credit_platform(
    data: st.DataObject, on: dt.date, applicant: Applicant, project: ProjectFacts, absent: bool
) -> None:
    # 逢报必查: no major-project bypass in Gaoyou, so no answer means the standard route.
    item = catalog_for("321084").item(HEALTH, on)
    evidence = (
        None if absent else data.draw(ccst.lookup_failures(subject=applicant.identifier, on=on))
    )
    assert route(item, applicant, evidence, on, project)[1] is Route.STANDARD


@given(data=st.data(), on=DAYS, applicant=ccst.applicants(), project=ccst.projects())
def test_gaoyou_bars_an_applicant_with_a_bad_record(
    data: st.DataObject, on: dt.date, applicant: Applicant, project: ProjectFacts
) -> None:
    item = catalog_for("321084").item(HEALTH, on)
    evidence = data.draw(
        ccst.credit_evidence(
            subject=applicant.identifier,
            on=on,
            policy=policy().at(on, item=item),
            with_blocking_record=True,
        )
    )
    assert route(item, applicant, evidence, on, project)[1] is Route.STANDARD


@given(
    data=st.data(),
    on=DAYS,
    applicant=ccst.applicants(),
    level=MAJOR,
    choose_standard=st.booleans(),
)
def test_a_jiangdu_major_project_goes_direct_whatever_the_credit_platform_says(
    data: st.DataObject,
    on: dt.date,
    applicant: Applicant,
    level: ProjectLevel,
    choose_standard: bool,
) -> None:
    item = catalog_for("321012").item(FILING, on)
    evidence = data.draw(
        ccst.evidence_or_absence(subject=applicant.identifier, on=on, policy=policy().at(on))
    )
    taken, eligible = route(
        item, applicant, evidence, on, ProjectFacts(level), choose_standard=choose_standard
    )
    assert eligible is Route.DIRECT
    assert taken is (Route.STANDARD if choose_standard else Route.DIRECT)


@given(
    data=st.data(),
    on=DAYS,
    code=st.sampled_from([HEALTH, FILING]),
    applicant=ccst.applicants(),
)
def test_a_better_grade_never_gives_a_less_favourable_route(
    data: st.DataObject, on: dt.date, code: str, applicant: Applicant
) -> None:
    item = catalog_for(code[:6]).item(code, on)
    snapshot = policy().at(on, item=item)
    drawn = data.draw(
        ccst.credit_evidence(
            subject=applicant.identifier, on=on, policy=snapshot, with_blocking_record=False
        )
    )
    favour = []
    # Best first: rank 0 is the best grade of the scale.
    for grade in sorted(snapshot.grade_scale.grades, key=lambda g: snapshot.rank(g) or 0):
        evidence = CreditEvidence.create(
            subject=drawn.subject,
            source=drawn.source,
            retrieved_at=drawn.retrieved_at,
            scale=drawn.scale,
            grade=grade,
            records=drawn.records,
        )
        favour.append(route(item, applicant, evidence, on)[0].favour)
    assert favour == sorted(favour, reverse=True)


@given(data=st.data(), found=place_items(), applicant=ccst.applicants())
def test_choosing_the_standard_route_keeps_the_eligible_route(
    data: st.DataObject, found: tuple[ApprovalItem, dt.date], applicant: Applicant
) -> None:
    item, on = found
    evidence = data.draw(
        ccst.evidence_or_absence(subject=applicant.identifier, on=on, policy=policy().at(on))
    )
    taken, eligible = route(item, applicant, evidence, on)
    chosen, still = route(item, applicant, evidence, on, choose_standard=True)
    assert (chosen, still) == (Route.STANDARD, eligible)
    assert taken is eligible
