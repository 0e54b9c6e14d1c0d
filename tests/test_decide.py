"""Tests for decide(), the Decider batch path and the reason-code catalogue."""

from __future__ import annotations

import datetime as dt
import pickle
import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.catalog import ApprovalItem, Catalog, CommitmentMode
from creditcommit.credit import (
    SAMR_A_D,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    Severity,
)
from creditcommit.decision import Applicant, Decision, ProjectFacts, ProjectLevel, Route
from creditcommit.effective import LegalReference
from creditcommit.errors import InvalidValue, NoValueInForce
from creditcommit.policy import Application, Decider, Policy, decide, decide_many
from creditcommit.reasons import REASONS, ReasonTemplate
from creditcommit.testing.strategies import (
    applicants,
    applications,
    approval_items,
    credit_records,
    days,
    policies,
    projects,
    retrieval_times,
)

D = dt.date
CASE_DAY = D(2023, 1, 16)  # the Jiangdu filing of the seed case study
CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2023, 1, 16, 9, 30, tzinfo=CST)
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
FIRM = Applicant("91321012MA1W0000A1", "扬州某新材料科技有限公司")
OTHER_FIRM = Applicant("91321084MA1W0000B2", "高邮乙公司")
RECORD_DAY = D(2022, 6, 1)
REASONS_DOC = Path(__file__).parents[1] / "docs" / "reasons.md"


def sample_item(code: str) -> ApprovalItem:
    return Catalog.sample().item(code, CASE_DAY)


def evidence(
    grade: str | None = "B", records: tuple[CreditRecord, ...] = (), scale: str = "yangzhou-a-e"
) -> CreditEvidence:
    return CreditEvidence.create(
        subject=FIRM.identifier,
        source="信用扬州",
        retrieved_at=AT,
        scale=scale,
        grade=grade,
        records=records,
    )


def record(
    kind: CreditRecordKind = CreditRecordKind.DISHONESTY,
    severity: Severity = Severity.GENERAL,
    decided_on: dt.date = RECORD_DAY,
    repaired_on: dt.date | None = None,
) -> CreditRecord:
    return CreditRecord.with_default_periods(
        record_id="YZ-2022-0001",
        subject=FIRM.identifier,
        kind=kind,
        severity=severity,
        decided_on=decided_on,
        repaired_on=repaired_on,
    )


def gaoyou(
    found: CreditEvidence | CreditLookupFailure | None,
    *,
    on: dt.date = CASE_DAY,
    choose_standard: bool = False,
) -> Decision:
    return decide(
        item=sample_item(GAOYOU),
        applicant=FIRM,
        evidence=found,
        policy=Policy.sample(),
        on=on,
        choose_standard=choose_standard,
    )


def jiangdu(
    found: CreditEvidence | CreditLookupFailure | None, level: ProjectLevel | None
) -> Decision:
    return decide(
        item=sample_item(JIANGDU),
        applicant=FIRM,
        evidence=found,
        project=ProjectFacts(level, name="锂电池集流体项目一期", investment_yuan=200_000_000),
        policy=Policy.sample(),
        on=CASE_DAY,
    )


# --- the seed ------------------------------------------------------------------------------


def test_seed_jiangdu_municipal_major_project_goes_direct() -> None:
    decision = jiangdu(None, ProjectLevel.MUNICIPAL)
    assert (decision.route, decision.eligible_route) == (Route.DIRECT, Route.DIRECT)
    assert decision.major_project
    assert decision.reason_codes == ("major-project-direct",)
    (reason,) = decision.reasons
    assert reason.zh == "项目为市级重大项目，未查询信用等级，直接适用“信用+承诺”审批。"
    assert "the credit grade was not checked" in reason.en
    assert reason.references == (
        LegalReference(
            "江都区工程建设项目“信用承诺制”审批实施办法（试行）",
            "市级及以上重大项目无需查询信用等级，直接适用",
        ),
    )
    assert decision.evidence_digest is None


def test_seed_gaoyou_grade_b_is_conditional() -> None:
    found = evidence("B")
    decision = gaoyou(found)
    assert (decision.route, decision.eligible_route) == (Route.CONDITIONAL, Route.CONDITIONAL)
    assert decision.reason_codes == ("credit-grade-meets-threshold", "no-blocking-record")
    assert decision.reasons[0].zh == "申请人信用等级为B级，达到有条件适用的最低等级B级。"
    assert dict(decision.reasons[0].params) == {"grade": "B", "threshold": "B"}
    assert decision.evidence_digest == found.digest
    assert not decision.major_project


def test_seed_gaoyou_grade_c_is_standard() -> None:
    decision = gaoyou(evidence("C"))
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("credit-grade-below-threshold",)
    assert decision.reasons[0].zh == (
        "申请人信用等级为C级，低于有条件适用的最低等级B级，按一般程序办理。"
    )


def test_seed_gaoyou_grade_b_with_a_dishonesty_record_is_standard() -> None:
    decision = gaoyou(evidence("B", (record(),)))
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("blocking-record",)
    (reason,) = decision.reasons
    assert reason.zh == (
        "申请人存在违法失信信息记录YZ-2022-0001（一般，2022-06-01认定），"
        "2023-06-01前（信用修复的，修复前）不适用“信用+承诺”审批。"
    )
    assert reason.params["record_id"] == "YZ-2022-0001"
    assert reason.params["until"] == "2023-06-01"
    instruments = [ref.instrument for ref in reason.references]
    assert any("国办发〔2020〕42号" in i for i in instruments)
    assert "江都区工程建设项目“信用承诺制”审批实施办法（试行）" in instruments


def test_seed_gaoyou_grade_b_with_the_credit_source_down_is_standard() -> None:
    failure = CreditLookupFailure(
        subject=FIRM.identifier, source="信用扬州", attempted_at=AT, reason="timeout after 3.0 s"
    )
    decision = gaoyou(failure)
    assert (decision.route, decision.eligible_route) == (Route.STANDARD, Route.STANDARD)
    assert decision.reason_codes == ("credit-lookup-failed",)
    assert decision.reasons[0].zh == (
        "信用查询失败（信用扬州：timeout after 3.0 s），无法确认是否符合条件，按一般程序办理。"
    )
    assert decision.evidence_digest is None


# --- rule 1: the item ----------------------------------------------------------------------


def test_item_not_on_the_commitment_list() -> None:
    item = attrs.evolve(sample_item(GAOYOU), code="321084-OTHER")
    decision = decide(
        item=item, applicant=FIRM, evidence=evidence("A"), policy=Policy.sample(), on=CASE_DAY
    )
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("item-not-on-commitment-list",)
    assert decision.reasons[0].en == (
        "Item 321084-OTHER is not on the credit-commitment item list, so the standard "
        "procedure applies."
    )


def test_item_without_a_commitment_mode() -> None:
    item = attrs.evolve(
        sample_item(JIANGDU),
        commitment_mode=CommitmentMode.NONE,
        materials=sample_item(JIANGDU).materials[2:],  # only the licence materials
    )
    decision = decide(
        item=item,
        applicant=FIRM,
        evidence=None,
        project=ProjectFacts(ProjectLevel.NATIONAL),
        policy=Policy.sample(),
        on=CASE_DAY,
    )
    # Rule 1 comes first: not even a major project takes the commitment route.
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("item-commitment-mode-none",)
    assert decision.major_project


def test_item_in_an_excluded_domain_cites_guoban_42() -> None:
    item = attrs.evolve(sample_item(GAOYOU), domains={"public-safety", "public-places-hygiene"})
    decision = gaoyou_item(item, evidence("A"))
    assert decision.reason_codes == ("item-domain-excluded",)
    (reason,) = decision.reasons
    assert reason.zh == (
        "事项321084-GGCSWSXK涉及公共安全，属于不宜实行告知承诺制的事项，按一般程序办理。"
    )
    assert reason.params["domains"] == "public-safety"
    assert reason.references[0].instrument.endswith("（国办发〔2020〕42号）")
    assert reason.references[0].article == "关于不宜实行告知承诺制的事项范围"


def gaoyou_item(item: ApprovalItem, found: CreditEvidence | None) -> Decision:
    return decide(item=item, applicant=FIRM, evidence=found, policy=Policy.sample(), on=CASE_DAY)


# --- rule 2: major projects ----------------------------------------------------------------


def test_major_project_with_a_blocking_record_is_standard() -> None:
    listed = record(CreditRecordKind.SERIOUS_DISHONESTY_LIST, Severity.SERIOUS)
    decision = jiangdu(evidence("A", (listed,)), ProjectLevel.PROVINCIAL)
    assert (decision.route, decision.eligible_route) == (Route.STANDARD, Route.STANDARD)
    assert decision.reason_codes == ("major-project-blocked", "blocking-record")
    assert decision.major_project
    assert decision.reasons[0].zh.startswith("项目为省级重大项目，可不查询信用等级，但")


def test_major_project_ignores_the_grade() -> None:
    decision = jiangdu(evidence("E"), ProjectLevel.MUNICIPAL)
    assert decision.route is Route.DIRECT
    assert decision.reason_codes == ("major-project-direct",)
    # Evidence on another scale does not matter either: the grade is not looked at.
    other = jiangdu(evidence("D", scale="samr-a-d"), ProjectLevel.MUNICIPAL)
    assert other.route is Route.DIRECT


def test_major_project_with_the_credit_source_down_goes_direct() -> None:
    failure = CreditLookupFailure(
        subject=FIRM.identifier, source="信用扬州", attempted_at=AT, reason="HTTP 503"
    )
    decision = jiangdu(failure, ProjectLevel.NATIONAL)
    assert decision.route is Route.DIRECT


def test_county_level_project_is_not_a_listed_major_project() -> None:
    decision = jiangdu(evidence("C"), ProjectLevel.COUNTY)
    assert decision.route is Route.STANDARD
    assert not decision.major_project
    assert decision.reason_codes == ("credit-grade-below-threshold",)


def test_major_project_with_tampered_evidence_fails_closed() -> None:
    tampered = attrs.evolve(evidence("A", (record(),)), records=())
    decision = jiangdu(tampered, ProjectLevel.MUNICIPAL)
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("credit-evidence-unverified",)


# --- rule 3: the evidence ------------------------------------------------------------------


def test_no_evidence_at_all() -> None:
    decision = gaoyou(None)
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("credit-evidence-missing",)


def test_evidence_about_someone_else() -> None:
    other = attrs.evolve(FIRM, identifier="91321084MA1W0000B2")
    decision = decide(
        item=sample_item(GAOYOU),
        applicant=other,
        evidence=evidence("A"),
        policy=Policy.sample(),
        on=CASE_DAY,
    )
    assert decision.reason_codes == ("credit-evidence-wrong-subject",)
    assert decision.reasons[0].zh == (
        "信用查询结果的主体91321012MA1W0000A1与申请人91321084MA1W0000B2不一致，按一般程序办理。"
    )


def test_evidence_with_a_record_about_someone_else() -> None:
    stranger = attrs.evolve(record(), subject="91321084MA1W0000B2")
    decision = gaoyou(evidence("A", (stranger,)))
    assert decision.reason_codes == ("credit-evidence-wrong-subject",)
    assert decision.reasons[0].params["subject"] == "91321084MA1W0000B2"


def test_altered_evidence() -> None:
    altered = attrs.evolve(evidence("C"), grade="A")
    decision = gaoyou(altered)
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("credit-evidence-unverified",)
    assert decision.evidence_digest == altered.digest


def test_evidence_on_another_scale() -> None:
    decision = gaoyou(evidence("A", scale=SAMR_A_D.name))
    assert decision.reason_codes == ("credit-scale-mismatch",)
    assert decision.reasons[0].params == {
        "evidence_scale": "samr-a-d",
        "policy_scale": "yangzhou-a-e",
    }


# --- rules 4 and 5: records ----------------------------------------------------------------


def test_one_reason_per_blocking_record() -> None:
    first = record()
    second = attrs.evolve(record(CreditRecordKind.ADMINISTRATIVE_PENALTY), record_id="P-7")
    minor = attrs.evolve(record(severity=Severity.MINOR), record_id="M-1")
    decision = gaoyou(evidence("A", (first, minor, second)))
    assert decision.reason_codes == ("blocking-record", "blocking-record")
    assert [r.params["record_id"] for r in decision.reasons] == ["YZ-2022-0001", "P-7"]


def test_repaired_and_expired_records_do_not_block() -> None:
    repaired = record(repaired_on=D(2022, 10, 1))
    expired = attrs.evolve(record(decided_on=D(2021, 6, 1)), record_id="OLD")
    decision = gaoyou(evidence("B", (repaired, expired)))
    assert decision.route is Route.CONDITIONAL


def test_false_commitment_blocks_until_repair_even_after_publicity() -> None:
    old = record(CreditRecordKind.FALSE_COMMITMENT, Severity.GENERAL, decided_on=D(2021, 1, 5))
    assert not old.is_active(CASE_DAY)  # publicity ended on 2022-01-05
    item = attrs.evolve(sample_item(GAOYOU), domains=set())  # no re-application ban
    decision = gaoyou_item(item, evidence("A", (old,)))
    assert decision.reason_codes == ("blocking-record-until-repair",)
    assert decision.reasons[0].en == (
        "Credit record YZ-2022-0001 (false commitment, general, decided on 2021-01-05) bars the "
        "commitment route until credit repair, which may be applied for from 2021-04-05."
    )


def test_reapplication_ban_outlasts_credit_repair() -> None:
    revoked = record(
        CreditRecordKind.FALSE_COMMITMENT,
        Severity.SERIOUS,
        decided_on=D(2021, 3, 1),
        repaired_on=D(2022, 5, 1),
    )
    decision = gaoyou(evidence("A", (revoked,)))
    assert decision.route is Route.STANDARD
    assert decision.reason_codes == ("reapplication-ban",)
    (reason,) = decision.reasons
    assert reason.zh == (
        "申请人因虚假承诺记录YZ-2022-0001（2021-03-01认定），2024-03-01前不得再次申请"
        "涉及公共场所卫生的行政许可（36个月），不适用“信用+承诺”审批。"
    )
    assert reason.references == (LegalReference("中华人民共和国行政许可法", "第七十九条"),)
    # The same record is no bar for an item outside the banned domains.
    assert gaoyou_item(sample_item(JIANGDU), evidence("A", (revoked,))).route is (Route.CONDITIONAL)
    # ... nor for the permit once the 36 months are over.
    assert gaoyou(evidence("A", (revoked,)), on=D(2024, 3, 1)).route is Route.CONDITIONAL


# --- rule 6: the grade ---------------------------------------------------------------------


def test_no_grade() -> None:
    decision = gaoyou(evidence(None))
    assert decision.reason_codes == ("credit-grade-missing",)


def test_grade_not_on_the_scale() -> None:
    decision = gaoyou(evidence("F"))
    assert decision.reason_codes == ("credit-grade-unknown",)
    assert decision.reasons[0].en == (
        "Credit grade F is not a grade of the yangzhou-a-e scale, so the standard procedure "
        "applies."
    )


def test_grade_in_another_letter_case() -> None:
    decision = gaoyou(evidence("a"))
    assert decision.route is Route.CONDITIONAL
    assert decision.reasons[0].params["grade"] == "A"


# --- rule 7 and the rest -------------------------------------------------------------------


def test_applicant_may_always_choose_the_standard_route() -> None:
    decision = gaoyou(evidence("A"), choose_standard=True)
    assert (decision.route, decision.eligible_route) == (Route.STANDARD, Route.CONDITIONAL)
    assert decision.reason_codes[-1] == "applicant-chose-standard"
    assert decision.reasons[-1].zh == "申请人选择不作承诺，按一般程序办理。"


def test_decision_records_the_versions() -> None:
    decision = gaoyou(evidence("B"))
    assert decision.policy == Policy.sample().version
    assert decision.catalog == Catalog.sample().rule_version
    assert decision.item_code == GAOYOU
    assert decision.item_valid_from == D(2022, 11, 1)
    assert decision.applicant == FIRM.identifier
    assert decision.decided_on == CASE_DAY


def test_item_version_not_in_force() -> None:
    with pytest.raises(NoValueInForce, match="no value of 'approval item 321084-GGCSWSXK'"):
        gaoyou(evidence("B"), on=D(2022, 10, 31))


def test_snapshot_used_on_a_day_it_does_not_cover() -> None:
    municipal = Policy.load(Path(__file__).parent / "data" / "policy" / "ok_municipal.toml")
    snap = municipal.overlay(Policy.sample())
    with pytest.raises(NoValueInForce, match=r"policy snapshot .* \(from 2022-10-01 until"):
        Decider(snap.at(D(2022, 12, 1)), D(2023, 1, 1))


def test_snapshot_and_policy_give_the_same_decision() -> None:
    snap = Policy.sample().at(CASE_DAY)
    by_snapshot = decide(
        item=sample_item(GAOYOU), applicant=FIRM, evidence=evidence("B"), policy=snap, on=CASE_DAY
    )
    assert by_snapshot == gaoyou(evidence("B"))


def test_explain_lists_the_reasons_and_their_basis() -> None:
    text = gaoyou(evidence("B")).explain("en")
    assert text.splitlines()[0] == (
        "Item 321084-GGCSWSXK: conditional commitment route (CONDITIONAL)"
    )
    assert "Basis: 江都区工程建设项目“信用承诺制”审批实施办法（试行）" in text


# --- the batch path ------------------------------------------------------------------------


def test_decider_shares_constant_reasons() -> None:
    decider = Decider(Policy.sample(), CASE_DAY)
    item = sample_item(GAOYOU)
    one = decider.decide(item=item, applicant=FIRM, evidence=evidence("B"))
    two = decider.decide(item=item, applicant=OTHER_FIRM, evidence=None)
    three = decider.decide(item=item, applicant=OTHER_FIRM, evidence=None)
    again = decider.decide(item=item, applicant=FIRM, evidence=evidence("B"))
    assert two.reasons[0] is three.reasons[0]
    assert all(a is b for a, b in zip(one.reasons, again.reasons, strict=True))


def test_decide_many_and_stream() -> None:
    apps = [
        Application(item=sample_item(GAOYOU), applicant=FIRM, evidence=evidence(grade))
        for grade in "ABCDE"
    ]
    decisions = decide_many(apps, Policy.sample(), CASE_DAY)
    assert [d.route for d in decisions] == [Route.CONDITIONAL] * 2 + [Route.STANDARD] * 3
    assert list(Decider(Policy.sample(), CASE_DAY).stream(apps)) == decisions


def test_policy_and_snapshot_survive_pickling() -> None:
    # Worker processes of a batch re-tiering receive the policy or the snapshot pickled.
    policy = pickle.loads(pickle.dumps(Policy.sample()))
    snap = pickle.loads(pickle.dumps(Policy.sample().at(CASE_DAY)))
    assert policy == Policy.sample()
    assert snap == Policy.sample().at(CASE_DAY)
    assert snap.references == Policy.sample().at(CASE_DAY).references
    found = evidence("B")
    for use in (policy, snap):
        decision = decide(
            item=sample_item(GAOYOU), applicant=FIRM, evidence=found, policy=use, on=CASE_DAY
        )
        assert decision == gaoyou(found)


# --- the reason catalogue ------------------------------------------------------------------


def documented_codes() -> set[str]:
    text = REASONS_DOC.read_text(encoding="utf-8")
    return set(re.findall(r"^### `([a-z0-9-]+)`$", text, flags=re.MULTILINE))


def test_every_registered_code_is_documented_and_nothing_else() -> None:
    assert documented_codes() == set(REASONS)


def test_registered_templates_render() -> None:
    for code, template in REASONS.items():
        reason = template.render(dict.fromkeys(template.fields, "x"))
        assert reason.code == code
        assert reason.zh
        assert reason.en
        assert "{" not in reason.zh + reason.en


def test_template_missing_param() -> None:
    with pytest.raises(InvalidValue, match=r"params.threshold: needed by reason"):
        REASONS["credit-grade-meets-threshold"].render({"grade": "B"})


def test_template_rules() -> None:
    with pytest.raises(InvalidValue, match="expected a kebab-case code, got 'Bad_Code'"):
        ReasonTemplate("Bad_Code", "中文。", "English.")
    with pytest.raises(InvalidValue, match=r"fields \['b'\] differ from the Chinese sentence's"):
        ReasonTemplate("two-fields", "{a}。", "{b}.")
    # One fact worded per language is fine.
    ReasonTemplate("one-fact", "{kind_zh}。", "{kind_en}.")


# --- properties ----------------------------------------------------------------------------

CODES_DOCUMENTED = documented_codes()


@given(data=st.data(), policy=policies(), on=days())
def test_every_decision_has_registered_documented_reasons(
    data: st.DataObject, policy: Policy, on: dt.date
) -> None:
    snap = policy.at(on)
    app = data.draw(applications(policy=snap, on=on))
    decision = Decider(snap, on).decide_many([app])[0]
    assert decision.reasons
    for code in decision.reason_codes:
        assert code in REASONS
        assert code in CODES_DOCUMENTED


@given(data=st.data(), policy=policies(), on=days(), at=retrieval_times())
def test_better_grade_never_gives_a_less_favourable_route(
    data: st.DataObject, policy: Policy, on: dt.date, at: dt.datetime
) -> None:
    snap = policy.at(on)
    applicant = data.draw(applicants())
    records = data.draw(
        st.lists(credit_records(subject=applicant.identifier, around=on), max_size=2)
    )
    better, worse = sorted(
        data.draw(st.lists(st.sampled_from(snap.grade_scale.grades), min_size=2, max_size=2)),
        key=snap.grade_scale.rank,
    )
    item = data.draw(approval_items())
    project = data.draw(projects())

    def route(grade: str) -> Decision:
        found = CreditEvidence.create(
            subject=applicant.identifier,
            source="信用扬州",
            retrieved_at=at,
            scale=snap.grade_scale.name,
            grade=grade,
            records=records,
        )
        return decide(
            item=item, applicant=applicant, evidence=found, project=project, policy=snap, on=on
        )

    assert route(better).route.favour >= route(worse).route.favour


@given(data=st.data(), policy=policies(), on=days(), at=retrieval_times())
def test_an_active_blocking_record_never_gives_a_commitment_route(
    data: st.DataObject, policy: Policy, on: dt.date, at: dt.datetime
) -> None:
    snap = policy.at(on)
    applicant = data.draw(applicants())
    # A record some rule of the snapshot blocks: its kind, at least its severity, decided
    # within the last month and not repaired (active even at the minor maximum of 3 months).
    rule = data.draw(st.sampled_from(snap.blocking_records))
    severities = list(Severity)[list(Severity).index(rule.min_severity) :]
    blocking = CreditRecord.with_default_periods(
        record_id="B-1",
        subject=applicant.identifier,
        kind=rule.kind,
        severity=data.draw(st.sampled_from(severities)),
        decided_on=on - dt.timedelta(days=data.draw(st.integers(0, 30))),
    )
    assert snap.blocking_rules(blocking, on)
    others = data.draw(
        st.lists(credit_records(subject=applicant.identifier, around=on), max_size=2)
    )
    found = CreditEvidence.create(
        subject=applicant.identifier,
        source="信用扬州",
        retrieved_at=at,
        scale=snap.grade_scale.name,
        grade=data.draw(st.sampled_from(snap.grade_scale.grades)),
        records=[*others, blocking],
    )
    decision = decide(
        item=data.draw(approval_items()),
        applicant=applicant,
        evidence=found,
        project=data.draw(projects()),
        policy=snap,
        on=on,
    )
    assert decision.route is Route.STANDARD
    assert decision.eligible_route is Route.STANDARD


@given(data=st.data(), policy=policies(), on=days(), at=retrieval_times())
def test_missing_evidence_never_gives_the_conditional_route(
    data: st.DataObject, policy: Policy, on: dt.date, at: dt.datetime
) -> None:
    applicant = data.draw(applicants())
    missing = data.draw(
        st.none()
        | st.just(
            CreditLookupFailure(
                subject=applicant.identifier, source="信用扬州", attempted_at=at, reason="timeout"
            )
        )
    )
    project = data.draw(projects())
    decision = decide(
        item=data.draw(approval_items()),
        applicant=applicant,
        evidence=missing,
        project=project,
        policy=policy,
        on=on,
    )
    assert decision.eligible_route is not Route.CONDITIONAL
    if decision.route is Route.DIRECT:
        assert decision.major_project
        assert decision.reason_codes == ("major-project-direct",)


@given(data=st.data(), policy=policies(), on=days())
def test_batch_and_single_decisions_agree(data: st.DataObject, policy: Policy, on: dt.date) -> None:
    snap = policy.at(on)
    apps = data.draw(st.lists(applications(policy=snap, on=on), max_size=6))
    batch = decide_many(apps, policy, on)
    single = [
        decide(
            item=a.item,
            applicant=a.applicant,
            evidence=a.evidence,
            project=a.project,
            policy=policy,
            on=on,
            choose_standard=a.choose_standard,
        )
        for a in apps
    ]
    assert batch == single
    # Reason params are not part of equality; compare them too.
    for b, s in zip(batch, single, strict=True):
        assert [dict(r.params) for r in b.reasons] == [dict(r.params) for r in s.reasons]


@given(data=st.data(), policy=policies(), on=days())
def test_choosing_the_standard_route_keeps_the_eligible_route(
    data: st.DataObject, policy: Policy, on: dt.date
) -> None:
    snap = policy.at(on)
    app = data.draw(applications(policy=snap, on=on))
    decider = Decider(snap, on)
    chosen = decider.decide(
        item=app.item,
        applicant=app.applicant,
        evidence=app.evidence,
        project=app.project,
        choose_standard=True,
    )
    free = decider.decide(
        item=app.item, applicant=app.applicant, evidence=app.evidence, project=app.project
    )
    assert chosen.route is Route.STANDARD
    assert chosen.eligible_route is free.eligible_route
    assert chosen.reasons == (*free.reasons, chosen.reasons[-1])
    assert chosen.reason_codes[-1] == "applicant-chose-standard"


@given(data=st.data(), policy=policies(), on=days())
def test_decisions_are_deterministic(data: st.DataObject, policy: Policy, on: dt.date) -> None:
    snap = policy.at(on)
    app, *others = data.draw(st.lists(applications(policy=snap, on=on), min_size=1, max_size=3))
    first = decide_many([app], policy, on)[0]
    # Again, and by a decider whose caches were filled by other applications first.
    assert decide_many([app], policy, on)[0] == first
    warm = Decider(snap, on)
    warm.decide_many(others)
    again = warm.decide_many([app])[0]
    assert again == first
    assert [dict(r.params) for r in again.reasons] == [dict(r.params) for r in first.reasons]
