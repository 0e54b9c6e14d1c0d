"""A filing is not a licence (issue 9, item 3): 企业投资项目备案 through the case and the service.

A filing (备案) is recorded once the information is complete, gets a filing number, is not
published as a 行政许可决定 in 双公示, and false information leads to an order to correct and
a fine under 《企业投资项目核准和备案管理条例》第十九条, never to a revocation under
《中华人民共和国行政许可法》第六十九条.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    Case,
    CaseState,
    ManualClock,
    OutboxMessage,
    ProjectFacts,
    ProjectLevel,
    Signer,
    VerificationOutcome,
)
from creditcommit import publication as publish
from creditcommit.builtin import FileCreditSource, FileLicenceStore
from creditcommit.calendar import WorkingCalendar
from creditcommit.case import filing_reference, licence_reference
from creditcommit.catalog import Catalog, ItemKind
from creditcommit.effective import LegalReference
from creditcommit.errors import DataFileError, InvalidValue
from creditcommit.identifiers import uscc_check_char
from creditcommit.policy import Policy, PublicationDeadlines
from creditcommit.ports import IssuedLicence
from creditcommit.supervision import (
    ART_69_PARA_1_4,
    ART_69_PARA_2,
    FILING_ART_19,
    SupervisionAction,
    consequence,
)
from creditcommit.testing.scenarios import ScenarioFile, check_scenarios

CITY = "321000"
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
ALL_FILING_MATERIALS = ["TZXMBA-01", "TZXMBA-02", "TZXMBA-03", "TZXMBA-04"]
INSPECTORS = ("王明", "李华")
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)
DAY = dt.date(2025, 9, 26)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


NEWMAT = Applicant(_uscc("91321012MA1Y2K3L4"), "扬州某新材料科技有限公司")  # grade B
BATHS = Applicant(_uscc("91321084MA1TQ7GU1"), "高邮某洗浴服务部")  # grade C


def at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(tmp_path: Path, clock: ManualClock) -> Iterator[Approvals]:
    config = tmp_path / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "sqlite:cases.db"\ncatalog = "sample"\npolicy = "sample"\n',
        encoding="utf-8",
    )
    credit = FileCreditSource(tmp_path / "credit.db")
    licences = FileLicenceStore(tmp_path / "licences.db")
    for applicant, grade in ((NEWMAT, "B"), (BATHS, "C")):
        credit.set_grade(applicant.identifier, grade, city=CITY)
        for licence_type in ("business-licence", "uscc-certificate"):
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
    with Approvals.from_config(config, clock=clock, autoload=False) as opened:
        yield opened


def outbox(service: Approvals, topic: str) -> list[OutboxMessage]:
    return [pending.message for pending in service.store.outbox() if pending.message.topic == topic]


def filed(service: Approvals) -> Case:
    """The seed's Jiangdu filing on the commitment route, signed and accepted."""
    case = service.submit(item=JIANGDU, applicant=NEWMAT)
    assert case.route is not None
    assert case.route.is_commitment
    case = service.sign_commitment(case.case_id, Signer(NEWMAT.name, NEWMAT.identifier))
    return service.accept(case.case_id)


def test_the_filing_item_is_a_filing() -> None:
    assert Catalog.sample().item(JIANGDU, DAY).kind is ItemKind.FILING
    assert Catalog.sample().item(GAOYOU, DAY).kind is ItemKind.LICENCE


def test_a_filing_is_recorded_at_acceptance_with_a_filing_number(service: Approvals) -> None:
    case = filed(service)
    assert case.state is CaseState.ISSUED
    assert case.licence is not None
    assert case.licence.reference == filing_reference(case.case_id) == f"BA-{case.case_id}"
    assert case.licence.issued_on == DAY


def test_on_the_standard_route_a_filing_is_recorded_once_the_information_is_in(
    service: Approvals,
) -> None:
    case = service.submit(item=JIANGDU, applicant=BATHS, provided=ALL_FILING_MATERIALS)
    assert case.route is not None
    assert not case.route.is_commitment
    case = service.accept(case.case_id)
    # No separate decision: the filing is complete when the information arrives.
    assert case.state is CaseState.ISSUED
    assert case.licence is not None
    assert case.licence.reference == f"BA-{case.case_id}"


def test_a_licence_still_gets_a_licence_number(service: Approvals) -> None:
    case = service.submit(item=GAOYOU, applicant=BATHS, provided=["GGCSWSXK-01"])
    assert licence_reference(case.case_id) == f"XK-{case.case_id}"


def test_a_filing_is_not_published_as_a_licence_decision(service: Approvals) -> None:
    case = filed(service)
    assert outbox(service, "licence-decision") == []
    recorded = outbox(service, "licence-issued")
    assert [m.payload["reference"] for m in recorded] == [f"BA-{case.case_id}"]


def test_publication_refuses_a_filing_as_a_licence_decision() -> None:
    item = Catalog.sample().item(JIANGDU, DAY)
    with pytest.raises(InvalidValue) as info:
        publish.licence_decision(
            decision_number="BA-1",
            item=item,
            applicant=NEWMAT,
            decided_on=DAY,
            local_code=CITY,
            calendar=WorkingCalendar.china(),
            deadlines=PublicationDeadlines(
                dual_publicity=7, enterprise_information=20, withdrawal=3
            ),
        )
    assert any(
        p.path == "item"
        and p.message
        == "企业投资项目备案 (321012-TZXMBA) is a filing (备案), not a licence: it is not "
        "published as a 行政许可决定 in 双公示"
        for p in info.value.problems
    )


def test_a_false_filing_is_ordered_corrected_under_article_19(service: Approvals) -> None:
    case = filed(service)
    case = service.record_verification(
        case.case_id,
        inspectors=INSPECTORS,
        findings="项目建设规模与备案信息不符",
        outcome=VerificationOutcome.FALSE_COMMITMENT,
    )
    assert case.state is CaseState.RECTIFYING
    order = case.rectification
    assert order is not None
    assert order.reference == FILING_ART_19
    assert order.reference == LegalReference("企业投资项目核准和备案管理条例", "第十九条")
    assert case.proposal is None


def test_a_false_filing_not_corrected_is_fined_not_revoked(
    service: Approvals, clock: ManualClock
) -> None:
    case = filed(service)
    case = service.record_verification(
        case.case_id,
        inspectors=INSPECTORS,
        findings="项目建设规模与备案信息不符",
        outcome=VerificationOutcome.FALSE_COMMITMENT,
    )
    assert case.rectification is not None
    clock.set(at(case.rectification.deadline + dt.timedelta(days=1)))
    case = service.rectification_result(case.case_id, met=False)
    assert case.state is CaseState.RECTIFYING
    assert case.proposal is None
    failure = case.rectification_failure
    assert failure is not None
    assert "《企业投资项目核准和备案管理条例》第十九条" in failure.findings
    assert "罚款" in failure.findings
    assert "不予撤销" in failure.findings


def test_the_tick_does_not_propose_revoking_a_filing(
    service: Approvals, clock: ManualClock
) -> None:
    case = filed(service)
    case = service.record_verification(
        case.case_id,
        inspectors=INSPECTORS,
        findings="项目建设规模与备案信息不符",
        outcome=VerificationOutcome.FALSE_COMMITMENT,
    )
    assert case.rectification is not None
    clock.set(at(case.rectification.deadline + dt.timedelta(days=3)))
    report = service.tick()
    assert report.supervised == ()
    case = service.case(case.case_id)
    assert case.rectification_failure is not None
    assert case.proposal is None


# --- the rule, pure ----------------------------------------------------------------------

ADVERSE = [o for o in VerificationOutcome if o.adverse]
RULES = Policy.sample().at(DAY).revocation_rules


def test_a_licence_is_revoked_under_article_69() -> None:
    permit = Catalog.sample().item(GAOYOU, DAY)
    false = consequence(permit, VerificationOutcome.FALSE_COMMITMENT, RULES)
    assert false.legal_basis == ART_69_PARA_2
    assert false.action is RULES.action(VerificationOutcome.FALSE_COMMITMENT)
    assert consequence(permit, VerificationOutcome.UNFULFILLED, RULES).legal_basis == (
        ART_69_PARA_1_4
    )


def test_a_filing_is_corrected_under_its_own_rule() -> None:
    filing = Catalog.sample().item(JIANGDU, DAY)
    found = consequence(filing, VerificationOutcome.FALSE_COMMITMENT, RULES)
    assert (found.action, found.legal_basis) == (SupervisionAction.RECTIFY, FILING_ART_19)


def test_a_filing_without_a_correction_basis_falls_back_to_its_instrument() -> None:
    filing = Catalog.yangzhou().item("321012-JGYSBA", DAY)
    assert filing.correction_basis is None
    found = consequence(filing, VerificationOutcome.FALSE_COMMITMENT, RULES)
    assert found.legal_basis == LegalReference("建设工程质量管理条例")


@given(st.sampled_from(list(ItemKind)), st.sampled_from(ADVERSE))
def test_only_a_licence_is_ever_revoked_under_the_licensing_law(
    kind: ItemKind, outcome: VerificationOutcome
) -> None:
    base = Catalog.sample().item(JIANGDU, DAY)
    item = attrs.evolve(
        base,
        kind=kind,
        correction_basis=None if kind is ItemKind.LICENCE else base.correction_basis,
    )
    found = consequence(item, outcome, RULES)
    revoking = found.legal_basis.instrument == "中华人民共和国行政许可法"
    assert revoking is (kind is ItemKind.LICENCE)
    if kind is not ItemKind.LICENCE:
        assert found.action is SupervisionAction.RECTIFY


def test_a_correction_basis_is_only_for_items_that_are_not_licences() -> None:
    permit = Catalog.sample().item(GAOYOU, DAY)
    with pytest.raises(ValueError, match="correction_basis is only for filings and other items"):
        attrs.evolve(permit, correction_basis=FILING_ART_19)


def test_the_projects_fact_does_not_change_the_filing_rule(service: Approvals) -> None:
    case = service.submit(
        item=JIANGDU, applicant=NEWMAT, project=ProjectFacts(ProjectLevel.MUNICIPAL)
    )
    case = service.sign_commitment(case.case_id, Signer(NEWMAT.name, NEWMAT.identifier))
    case = service.accept(case.case_id)
    assert case.licence is not None
    assert case.licence.reference.startswith("BA-")


# --- the scenario file ---------------------------------------------------------------------

SCENARIO = Path(__file__).parent / "scenarios" / "catalog-filing.toml"


def test_the_false_filing_scenario_passes_and_cites_article_19() -> None:
    results = check_scenarios([SCENARIO])
    assert [r.report() for r in results if not r.passed] == []
    filing = results[0].case.expect.consequences
    assert filing[VerificationOutcome.FALSE_COMMITMENT].legal_basis == FILING_ART_19


def test_a_scenario_expecting_a_revocation_of_a_filing_fails_and_says_why() -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace(
        'false-commitment = { action = "rectify", instrument = "企业投资项目核准和备案管理条例", '
        'article = "第十九条" }',
        'false-commitment = { action = "propose-revocation", instrument = '
        '"中华人民共和国行政许可法", article = "第六十九条第二款" }',
        1,
    )
    results = ScenarioFile.from_text(text, source="wrong.toml").run()
    assert results[0].mismatches == (
        "consequence of false-commitment: expected propose-revocation under "
        "中华人民共和国行政许可法 第六十九条第二款, got rectify under "
        "企业投资项目核准和备案管理条例 第十九条",
    )


def test_a_consequence_of_a_fulfilled_commitment_is_a_file_error() -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace("unfulfilled = {", "fulfilled = {", 1)
    with pytest.raises(DataFileError) as info:
        ScenarioFile.from_text(text, source="bad.toml")
    [problem] = info.value.problems
    assert problem.path == "cases[0].expect.consequences.fulfilled"
    assert problem.message.startswith(
        "expected an adverse outcome ('unfulfilled', 'false-commitment' or "
        "'deferred-overdue'): a kept commitment has no consequence"
    )
