"""Tests for creditcommit.commitments: notification, commitment letter, templates, signing.

The golden files under ``tests/golden/`` are the rendered Jiangdu and Gaoyou documents,
compared byte for byte. After an intended change to the documents, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_commitments.py

and review the diff before committing.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import html
import os
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from creditcommit.builtin.signing import HmacSignatureProvider, UnkeyedSignatureProvider
from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import (
    ApprovalItem,
    Catalog,
    CommitmentMode,
    Material,
    MaterialKind,
    Verification,
    VerificationMethod,
)
from creditcommit.commitments import (
    COMMITMENT_PUBLICITY,
    CommitmentLetter,
    CommitmentTerms,
    MaterialTerm,
    Notification,
    Signature,
    SignedCommitment,
    Signer,
    SignerRole,
    Templates,
)
from creditcommit.credit import PublicityPeriod
from creditcommit.decision import Applicant, Decision, Reason, Route, RuleVersion
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    CreditCommitError,
    DataFileError,
    InvalidValue,
    MissingAuthorisation,
    Problem,
    SigningKeyMissing,
)
from creditcommit.testing.strategies import uscc_codes

D = dt.date
CST = dt.timezone(dt.timedelta(hours=8))
GOLDEN = Path(__file__).parent / "golden"
DOCS = Path(__file__).parent.parent / "docs" / "commitments.md"
CATALOG = Catalog.sample()
CALENDAR = WorkingCalendar.china()
POLICY = RuleVersion("扬州市“信用+承诺”审批分级规则（示例）", "2023.1-sample", "0" * 64)
SAMPLE_POLICY = "扬州市“信用+承诺”审批分级规则（示例）"

# The days of the seed's story: the Jiangdu filing of 2023-01-16, and a Gaoyou permit
# applied for just before the 2025 National Day break (deferred materials fall after it).
JIANGDU_DAY = D(2023, 1, 16)
GAOYOU_DAY = D(2025, 9, 26)
JIANGDU_APPLICANT = Applicant("91321012MA1MXN4R2E", "扬州某某新能源材料有限公司")
GAOYOU_APPLICANT = Applicant("91321084MA1TQ7GU8A", "高邮市某某酒店管理有限公司")
AGENT_ID = "11010519491231002X"  # the GB 11643-1999 example number


# --- stand-ins for the material plan (the Protocol the module reads) ------------------------


class Disposition(enum.Enum):
    SUBMITTED = "submitted"
    RETRIEVED = "retrieved"
    WAIVED = "waived"
    DEFERRED = "deferred"
    MISSING = "missing"


@attrs.frozen
class Line:
    code: str
    name: str
    disposition: Disposition
    due: dt.date | None = None


@attrs.frozen
class Plan:
    lines: tuple[Line, ...]


@attrs.frozen
class Case:
    item: ApprovalItem
    decision: Decision
    plan: Plan
    applicant: Applicant
    verification_due: dt.date | None

    def terms(self, **changes: Any) -> CommitmentTerms:
        return CommitmentTerms.build(
            self.item,
            self.decision,
            self.plan,
            self.applicant,
            verification_due=self.verification_due,
            **changes,
        )

    def notification(self) -> Notification:
        return Notification(self.terms())

    def letter(self) -> CommitmentLetter:
        return CommitmentLetter(self.terms())


def decision_for(
    item: ApprovalItem, applicant: Applicant, day: dt.date, route: Route, reasons: list[Reason]
) -> Decision:
    return Decision(
        item_code=item.code,
        item_valid_from=item.valid_from,
        applicant=applicant.identifier,
        decided_on=day,
        route=route,
        eligible_route=route,
        reasons=tuple(reasons),
        catalog=RuleVersion(CATALOG.name, CATALOG.version, CATALOG.digest),
        policy=POLICY,
    )


def jiangdu() -> Case:
    """DIRECT (major project): two materials waived, two retrieved as e-licences."""
    item = CATALOG.item("321012-TZXMBA", JIANGDU_DAY)
    reason = Reason(
        "major-project",
        "该项目列入市级重大项目，直接适用“信用+承诺”审批，不作信用等级审查。",
        "The project is on the municipal major-project list: the commitment route applies "
        "directly, without a credit-grade check.",
        (LegalReference(SAMPLE_POLICY, "第五条"),),
    )
    decision = decision_for(item, JIANGDU_APPLICANT, JIANGDU_DAY, Route.DIRECT, [reason])
    plan = Plan(
        (
            Line("TZXMBA-01", "项目备案基本信息", Disposition.WAIVED),
            Line("TZXMBA-02", "项目符合产业政策声明", Disposition.WAIVED),
            Line("TZXMBA-03", "统一社会信用代码证", Disposition.RETRIEVED),
            Line("TZXMBA-04", "营业执照", Disposition.RETRIEVED),
        )
    )
    assert item.verification.deadline_days is not None
    due = CALENDAR.add_working_days(JIANGDU_DAY, item.verification.deadline_days)
    return Case(item, decision, plan, JIANGDU_APPLICANT, due)


def gaoyou() -> Case:
    """CONDITIONAL (grade A, no blocking record): deferrable materials deferred."""
    item = CATALOG.item("321084-GGCSWSXK", GAOYOU_DAY)
    reasons = [
        Reason(
            "grade-eligible",
            "申请人信用等级为A级，达到有条件适用信用承诺审批的等级要求（B级及以上）。",
            "The applicant's credit grade A meets the grade required for the conditional "
            "commitment route (B or better).",
            (LegalReference(SAMPLE_POLICY, "第六条"),),
        ),
        Reason(
            "no-blocking-record",
            "申请人无在公示期内的严重失信记录，也无未修复的虚假承诺记录。",
            "The applicant has no serious dishonesty record being published and no "
            "unrepaired false commitment.",
            (
                LegalReference(SAMPLE_POLICY, "第七条"),
                LegalReference("国办发〔2020〕42号"),
            ),
        ),
    ]
    decision = decision_for(item, GAOYOU_APPLICANT, GAOYOU_DAY, Route.CONDITIONAL, reasons)
    lines = []
    for material in item.materials:
        if material.kind is MaterialKind.DEFERRABLE:
            assert material.defer_days is not None
            due = CALENDAR.add_working_days(GAOYOU_DAY, material.defer_days)
            lines.append(Line(material.code, material.name, Disposition.DEFERRED, due))
        else:
            disposition = {
                MaterialKind.REQUIRED: Disposition.SUBMITTED,
                MaterialKind.LICENCE: Disposition.RETRIEVED,
                MaterialKind.WAIVABLE: Disposition.WAIVED,
            }[material.kind]
            lines.append(Line(material.code, material.name, disposition))
    assert item.verification.deadline_days is not None
    due = CALENDAR.add_working_days(GAOYOU_DAY, item.verification.deadline_days)
    return Case(item, decision, Plan(tuple(lines)), GAOYOU_APPLICANT, due)


CASES = {"jiangdu": jiangdu, "gaoyou": gaoyou}


def render(case: Case, document: str, lang: Any = "zh", format: Any = "text") -> str:
    doc = case.notification() if document == "notification" else case.letter()
    return doc.render(lang, format)


def problems(
    exc: pytest.ExceptionInfo[InvalidValue] | pytest.ExceptionInfo[DataFileError],
) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "document", "lang", "format"),
    [
        (case, document, lang, format)
        for case in CASES
        for document in ("notification", "letter")
        for lang, format in (("zh", "text"), ("en", "text"), ("zh", "html"))
    ],
)
def test_golden(case: str, document: str, lang: str, format: str) -> None:
    rendered = render(CASES[case](), document, lang, format).encode("utf-8")
    path = GOLDEN / f"{case}-{document}.{lang}.{'txt' if format == 'text' else 'html'}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(rendered)
    assert path.read_bytes() == rendered, f"{path.name} differs; see the module docstring"


def test_golden_cases_are_the_seed_stories() -> None:
    direct, conditional = jiangdu().terms(), gaoyou().terms()
    assert direct.decision.route is Route.DIRECT
    assert [t.code for t in direct.waived] == ["TZXMBA-01", "TZXMBA-02"]
    assert [t.code for t in direct.with_disposition("retrieved")] == ["TZXMBA-03", "TZXMBA-04"]
    assert conditional.decision.route is Route.CONDITIONAL
    # Five working days from Friday 2025-09-26: Sunday 28 September is a make-up working day
    # and the National Day break runs 1-8 October.
    assert {t.due for t in conditional.deferred} == {D(2025, 10, 10)}
    assert [t.code for t in conditional.deferred] == ["GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07"]


# --- content --------------------------------------------------------------------------------


@pytest.mark.parametrize("document", ["notification", "letter"])
def test_deferred_materials_appear_with_their_due_dates(document: str) -> None:
    case = gaoyou()
    zh, en = render(case, document, "zh"), render(case, document, "en")
    for term in case.terms().deferred:
        assert f"于2025年10月10日前（含当日）补交《{term.name}》。" in zh
        assert f"“{term.name_en}” is to be supplied no later than 10 October 2025." in en
    assert "以承诺代替提交《公共场所卫生管理制度》。" in zh
    assert "《公共场所卫生许可证申请表》已提交。" in zh


@pytest.mark.parametrize("document", ["notification", "letter"])
def test_waived_and_retrieved_materials_appear(document: str) -> None:
    zh = render(jiangdu(), document, "zh")
    assert "以承诺代替提交《项目备案基本信息》。" in zh
    assert "以承诺代替提交《项目符合产业政策声明》。" in zh
    assert "《营业执照》通过电子证照调取，无需提交。" in zh
    assert "补交" not in zh
    en = render(jiangdu(), document, "en")
    assert "The commitment replaces the submission of “Basic filing information”." in en


@pytest.mark.parametrize("document", ["notification", "letter"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_canonical_clauses_and_standard_route_right(document: str, lang: Any) -> None:
    templates = Templates.default()
    text = render(gaoyou(), document, lang)
    for key in ("clause_informed", "clause_conditions", "clause_truthful", "clause_liability"):
        assert templates.fill(lang, f"common.{key}") in text
    assert templates.fill(lang, f"{document}.choice_clause") in text
    assert templates.fill(lang, f"{document}.verification_power") in text


def test_canonical_clauses_in_chinese() -> None:
    text = render(jiangdu(), "letter")
    for clause in (
        "本人（本单位）承诺：\n  （1）已经知晓告知的全部内容；",
        "（2）已经符合告知的条件、标准和要求；",
        "（3）所填写（提供）的信息真实、准确、客观；",
        "（4）愿意接受核查，承诺不实的，愿意承担相应的法律责任。",
    ):
        assert clause in text
    assert "知悉可以不作承诺而选择按一般程序办理" in text


def test_notification_states_item_basis_route_and_reasons() -> None:
    text = render(gaoyou(), "notification")
    assert "事项名称：公共场所卫生许可证核发（事项编码：321084-GGCSWSXK）" in text
    assert "设定依据：《公共场所卫生管理条例》第八条；《公共场所卫生管理条例实施细则》" in text
    assert "本申请按“有条件适用信用承诺审批”办理" in text
    assert "（1）申请人信用等级为A级" in text
    assert "依据：《扬州市“信用+承诺”审批分级规则》（示例）第六条" in text
    assert "告知机关：高邮市行政审批局\n日期：2025年9月26日\n" in text


def test_verification_method_and_deadline() -> None:
    case = jiangdu()
    # 20 working days across the Spring Festival break (21-27 Jan; 28-29 Jan worked).
    assert case.verification_due == D(2023, 2, 16)
    assert (
        "本机关将于2023年2月16日前（含当日）以网上核查方式对申请人的承诺内容进行核查。"
        in render(case, "notification")
    )
    assert "verifies this commitment by online verification no later than 16 February 2023" in (
        render(case, "letter", "en")
    )


def test_consequences_cite_article_69_and_the_publicity_period() -> None:
    case = gaoyou()
    text = render(case, "notification")
    assert "《中华人民共和国行政许可法》第六十九条第二款撤销许可" in text
    assert "推送至公共信用信息共享平台" in text
    # Issued in 2025: Order No. 58 applies then, not Order No. 36 (in force from 2026-04-01).
    assert (
        "公示期最短1年、最长3年（依据：《失信行为纠正后的信用信息修复管理办法（试行）》"
        "（国家发展改革委令第58号））"
    ) in text
    assert "第36号" not in text
    # The seed's Jiangdu letter of 2023-01-16: 发改办财金〔2019〕527号, serious from 6 months.
    assert "公示期最短6个月、最长3年（依据：" in render(jiangdu(), "letter")
    assert "发改办财金〔2019〕527号" in render(jiangdu(), "letter")
    assert PublicityPeriod(12, 36) == COMMITMENT_PUBLICITY
    general = Notification(case.terms(publicity=PublicityPeriod(3, 12)))
    assert "公示期最短3个月、最长1年" in general.render()
    assert "for at least 3 months and at most 1 year" in general.render("en")
    odd = Notification(case.terms(publicity=PublicityPeriod(1, 18)))
    assert "for at least 1 month and at most 18 months" in odd.render("en")


def test_exempt_item_has_no_deadline() -> None:
    case = jiangdu()
    item = attrs.evolve(case.item, verification=Verification(VerificationMethod.EXEMPT))
    exempt = attrs.evolve(case, item=item, verification_due=None)
    text = render(exempt, "notification")
    assert "本事项免予核查，纳入日常监管" in text
    assert "核查方式和期限" in text
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(exempt, verification_due=D(2023, 3, 1)).terms()
    assert problems(exc) == [
        "verification_due: the item is exempt from verification (免予核查): no deadline"
    ]


def test_html_is_escaped_and_printable() -> None:
    case = jiangdu()
    evil = '<script>alert("x")</script> & Co'
    plan = Plan((Line("TZXMBA-01", evil, Disposition.WAIVED), *case.plan.lines[1:]))
    applicant = Applicant(JIANGDU_APPLICANT.identifier, "<b>Bad & Sons</b>")
    page = attrs.evolve(case, plan=plan, applicant=applicant).notification().render(format="html")
    assert "<script>" not in page
    assert "<b>" not in page
    assert "以承诺代替提交《&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co》。" in page
    assert "&lt;b&gt;Bad &amp; Sons&lt;/b&gt;" in page
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">')
    assert "@media print" in page
    assert "<link" not in page  # self-contained: no external resources
    assert "<script" not in page
    text = attrs.evolve(case, plan=plan).notification().render()
    assert f"以承诺代替提交《{evil}》。" in text  # plain text is not escaped


def test_render_rejects_unknown_language_and_format() -> None:
    with pytest.raises(InvalidValue) as exc:
        jiangdu().notification().render("fr", "pdf")  # type: ignore[arg-type]
    assert problems(exc) == [
        "lang: expected 'zh' or 'en', got 'fr'",
        "format: expected 'text' or 'html', got 'pdf'",
    ]


def test_notification_and_letter_share_terms() -> None:
    case = jiangdu()
    notification = Notification.build(
        case.item,
        case.decision,
        case.plan,
        case.applicant,
        verification_due=case.verification_due,
    )
    letter = CommitmentLetter.build(
        case.item,
        case.decision,
        case.plan,
        case.applicant,
        verification_due=case.verification_due,
    )
    assert notification.letter() == letter
    assert notification.terms.issued_on == JIANGDU_DAY
    assert letter.render().startswith("信用承诺书\n\n扬州市江都区行政审批局：\n承诺人：")
    assert "承诺人（签字或者盖章）：________________\n日期：________________\n" in letter.render()


def test_issued_on_later_than_the_decision() -> None:
    terms = jiangdu().terms(issued_on=D(2023, 1, 17))
    assert "日期：2023年1月17日" in Notification(terms).render()


# --- building errors ------------------------------------------------------------------------


def test_standard_route_has_no_commitment() -> None:
    case = jiangdu()
    standard = attrs.evolve(case.decision, route=Route.STANDARD)
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(case, decision=standard).terms()
    assert problems(exc) == [
        "decision.route: the standard route (一般程序) takes no commitment: there is nothing "
        "to notify or to sign"
    ]


def test_decision_for_another_item_or_applicant() -> None:
    case = jiangdu()
    other = attrs.evolve(case.decision, item_code="321084-GGCSWSXK", applicant="someone")
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(case, decision=other).terms()
    assert problems(exc) == [
        "decision.item_code: the decision was made for item '321084-GGCSWSXK', not '321012-TZXMBA'",
        f"decision.applicant: the decision was made for applicant 'someone', not "
        f"'{JIANGDU_APPLICANT.identifier}'",
    ]


def test_decision_for_another_item_version() -> None:
    case = jiangdu()
    other = attrs.evolve(case.decision, item_valid_from=D(2020, 1, 1))
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(case, decision=other).terms()
    assert problems(exc) == [
        "decision.item_valid_from: the decision was made under the version of 2020-01-01 of "
        "item '321012-TZXMBA', not the version of 2022-11-01"
    ]


def test_missing_verification_deadline() -> None:
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(jiangdu(), verification_due=None).terms()
    assert problems(exc) == [
        "verification_due: the item is verified by 'online': give the verification deadline "
        "(computed on the working-day calendar)"
    ]


def test_verification_deadline_must_follow_the_document_date() -> None:
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(jiangdu(), verification_due=JIANGDU_DAY).terms()
    assert problems(exc) == [
        "verification_due: expected a date after the document date 2023-01-16, "
        "got datetime.date(2023, 1, 16)"
    ]


def test_document_date_before_the_decision() -> None:
    with pytest.raises(InvalidValue) as exc:
        jiangdu().terms(issued_on=D(2023, 1, 15))
    assert problems(exc) == [
        "issued_on: the document date 2023-01-15 is before the decision of 2023-01-16"
    ]


def test_plan_problems_are_all_reported_with_paths() -> None:
    case = gaoyou()
    lines = list(case.plan.lines)
    lines[0] = Line("GGCSWSXK-01", lines[0].name, Disposition.WAIVED)  # statutory: never waived
    lines[3] = Line("GGCSWSXK-04", lines[3].name, Disposition.DEFERRED)  # no due date
    lines[4] = attrs.evolve(lines[4], code="NOPE")
    lines[5] = Line("GGCSWSXK-06", lines[5].name, Disposition.DEFERRED, D(2025, 9, 1))
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(case, plan=Plan(tuple(lines))).terms()
    assert exc.value.kind == "CommitmentTerms"
    assert problems(exc) == [
        "plan.lines[0].disposition: only a waivable material can be waived, not the required "
        "material 'GGCSWSXK-01'",
        "plan.lines[3].due: a deferred material needs a due date",
        "plan.lines[4].code: item '321084-GGCSWSXK' has no material 'NOPE'",
        "plan.lines[5].due: due 2025-09-01 is before the document date 2025-09-26",
    ]


def test_plan_line_with_unknown_disposition() -> None:
    case = jiangdu()

    @attrs.frozen
    class Odd:
        code: str = "TZXMBA-01"
        name: str = "项目备案基本信息"
        disposition: str = "forgiven"
        due: dt.date | None = None

    @attrs.frozen
    class OddPlan:
        lines: tuple[Odd, ...] = (Odd(),)

    with pytest.raises(InvalidValue) as exc:
        CommitmentTerms.build(
            case.item,
            case.decision,
            OddPlan(),
            case.applicant,
            verification_due=case.verification_due,
        )
    assert problems(exc) == [
        "plan.lines[0].disposition: expected one of 'submitted', 'retrieved', 'waived', "
        "'deferred', 'missing', got 'forgiven'"
    ]


def test_plain_string_dispositions_are_accepted() -> None:
    @attrs.frozen
    class Plain:
        code: str
        name: str
        disposition: str
        due: dt.date | None = None

    @attrs.frozen
    class PlainPlan:
        lines: tuple[Plain, ...]

    case = jiangdu()
    plan = PlainPlan(tuple(Plain(x.code, x.name, x.disposition.value) for x in case.plan.lines))
    terms = CommitmentTerms.build(
        case.item, case.decision, plan, case.applicant, verification_due=case.verification_due
    )
    assert terms == case.terms()


def test_material_term_rules() -> None:
    with pytest.raises(InvalidValue) as exc:
        MaterialTerm("X", " ", "waived", D(2025, 1, 1))
    assert problems(exc) == [
        "name: expected a non-empty string, got ' '",
        "due: only a deferred material has a due date, not a waived one",
    ]
    assert MaterialTerm("X", "名称", "waived", name_en="Name").display_name("en") == "Name"
    assert MaterialTerm("X", "名称", "waived").display_name("en") == "名称"


def test_duplicate_material_in_terms() -> None:
    terms = jiangdu().terms()
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(terms, materials=(*terms.materials, terms.materials[0]))
    assert problems(exc) == ["materials[4].code: duplicate material 'TZXMBA-01'"]


# --- templates ------------------------------------------------------------------------------


def test_default_templates_are_complete() -> None:
    templates = Templates.default()
    assert templates.sources == ("creditcommit/data/templates/commitments.toml",)
    assert templates.text("zh", "letter.title") == "信用承诺书"
    assert templates.text("en", "notification.title") == "Notification of credit commitment"
    assert len(templates.digest) == 64
    assert Templates.default() is templates  # loaded once


def test_every_template_key_is_documented() -> None:
    # Each section's keys are listed under a heading naming the section, "[<lang>.common]".
    chunks = DOCS.read_text(encoding="utf-8").split("\n### ")
    undocumented = []
    for path in Templates.default().texts:
        _, section, key = path.split(".")
        heading = f"`[<lang>.{section}]`"
        chunk = next((c for c in chunks if heading in c.split("\n", 1)[0]), "")
        if f"`{key}`" not in chunk:
            undocumented.append(f"{section}.{key}")
    assert not undocumented, f"not in docs/commitments.md: {sorted(set(undocumented))}"


def test_docs_show_the_golden_letter() -> None:
    golden = (GOLDEN / "jiangdu-letter.zh.txt").read_text(encoding="utf-8")
    assert f"```text\n{golden}```" in DOCS.read_text(encoding="utf-8")


def test_templates_built_in_code_must_be_complete() -> None:
    texts = dict(Templates.default().texts)
    del texts["en.letter.title"]
    texts["zh.letter.signed_at"] = "签署于"
    with pytest.raises(InvalidValue) as exc:
        Templates(texts)
    assert problems(exc) == [
        "zh.letter.signed_at: missing placeholder ${signed_at}",
        "en.letter.title: required key is missing",
    ]


def test_city_override_changes_the_text(tmp_path: Path) -> None:
    path = tmp_path / "yangzhou.toml"
    path.write_text(
        '[zh.letter]\ntitle = "扬州市信用承诺书"\n'
        '[zh.common]\nwaived_clause = "《${material}》（${material_code}）以承诺代替。"\n'
        '[en.notification]\nissuer = "Issued by ${agency} on ${date}"\n',
        encoding="utf-8",
    )
    templates = Templates.load(path)
    assert templates.sources == ("creditcommit/data/templates/commitments.toml", str(path))
    assert templates.digest != Templates.default().digest
    letter = jiangdu().letter()
    text = letter.render(templates=templates)
    assert text.startswith("扬州市信用承诺书\n")
    assert "《项目备案基本信息》（TZXMBA-01）以承诺代替。" in text
    assert "以承诺代替提交《项目备案基本信息》" not in text
    assert "《营业执照》通过电子证照调取，无需提交。" in text  # untouched keys keep defaults
    en = jiangdu().notification().render("en", templates=templates)
    assert "Issued by 扬州市江都区行政审批局 on 16 January 2023\n" in en
    assert letter.render() != text  # the defaults are not changed by loading an override


def test_overrides_stack() -> None:
    first = Templates.from_dict({"zh": {"letter": {"title": "甲"}}}, source="a")
    second = first.merged({"zh": {"notification": {"title": "乙"}}}, source="b")
    assert second.sources[-2:] == ("a", "b")
    assert second.text("zh", "letter.title") == "甲"
    assert second.text("zh", "notification.title") == "乙"


def test_literal_dollar_sign() -> None:
    templates = Templates.from_dict({"en": {"common": {"separator": " $$ "}}})
    assert templates.fill("en", "common.separator") == " $ "


def load_error(tmp_path: Path, text: str) -> DataFileError:
    path = tmp_path / "city.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        Templates.load(path)
    assert exc.value.source == str(path)
    return exc.value


def test_template_file_unknown_key(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[zh.letter]\ntitel = "x"\n')
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.path == "zh.letter"
    assert problem.message.startswith("unknown key 'titel' (allowed: title, addressee, committer,")


def test_template_file_unknown_language(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[fr.letter]\ntitle = "x"\n')
    assert [str(p) for p in error.problems] == ["<root>: unknown key 'fr' (allowed: zh, en)"]


def test_template_file_unknown_section(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[zh.footer]\ntitle = "x"\n')
    assert [str(p) for p in error.problems] == [
        "zh: unknown key 'footer' (allowed: common, methods, notification, letter)"
    ]


def test_template_file_value_not_a_string(tmp_path: Path) -> None:
    error = load_error(tmp_path, "[en.common]\nseparator = 3\n")
    assert [str(p) for p in error.problems] == [
        "en.common.separator: expected a string, got number 3"
    ]


def test_template_file_missing_placeholder(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[zh.common]\ndeferred_clause = "补交《${material}》"\n')
    assert [str(p) for p in error.problems] == [
        "zh.common.deferred_clause: missing placeholder ${due}"
    ]


def test_template_file_unknown_placeholder(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[zh.common]\nwaived_clause = "《${material}》${deadline}"\n')
    assert [str(p) for p in error.problems] == [
        "zh.common.waived_clause: unknown placeholder ${deadline} (allowed: ${material}, "
        "${material_code}, ${item}, ${code}, ${agency}, ${applicant}, ${identifier}, ${date})"
    ]


def test_template_file_invalid_placeholder_syntax(tmp_path: Path) -> None:
    error = load_error(tmp_path, '[en.letter]\ntitle = "Letter $ 1"\n')
    assert [str(p) for p in error.problems] == [
        "en.letter.title: invalid placeholder syntax: write ${name} for a placeholder and $$ "
        "for a dollar sign"
    ]


def test_template_file_structural_and_placeholder_problems_together(tmp_path: Path) -> None:
    error = load_error(
        tmp_path, '[zh.common]\nseparator = 1\nwaived_clause = "免交"\n[zh.letter]\ntitle = "$"\n'
    )
    assert [str(p) for p in error.problems] == [
        "zh.common.separator: expected a string, got number 1",
        "zh.common.waived_clause: missing placeholder ${material}",
        "zh.letter.title: invalid placeholder syntax: write ${name} for a placeholder and $$ "
        "for a dollar sign",
    ]


def test_template_file_not_toml(tmp_path: Path) -> None:
    error = load_error(tmp_path, "[zh.letter\n")
    assert error.problems[0].path == ""
    assert error.problems[0].message.startswith("not valid TOML: ")


def test_template_file_reports_every_problem(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        '[zh.common]\ndeferred_clause = "x"\n[en.methods]\nonline = "${method}"\n',
    )
    assert [p.path for p in error.problems] == [
        "en.methods.online",
        "zh.common.deferred_clause",
        "zh.common.deferred_clause",
    ]
    assert error.report().count(str(tmp_path / "city.toml")) == 3


# --- signing --------------------------------------------------------------------------------

SIGNED_AT = dt.datetime(2023, 1, 16, 10, 30, tzinfo=CST)
# A test key, not a secret; OTHER_KEY stands for another agency's (or a forger's) key.
PROVIDER = HmacSignatureProvider("creditcommit commitment tests - NOT SECRET", key_id="test")
OTHER_KEY = HmacSignatureProvider("another key, not the agency's one", key_id="test")


def jiangdu_signed() -> SignedCommitment:
    signer = Signer(JIANGDU_APPLICANT.name, JIANGDU_APPLICANT.identifier)
    return jiangdu().letter().sign(signer, SIGNED_AT, provider=PROVIDER)


def test_sign_and_verify() -> None:
    letter = jiangdu().letter()
    signer = Signer(JIANGDU_APPLICANT.name, JIANGDU_APPLICANT.identifier)
    signed = letter.sign(signer, SIGNED_AT, provider=PROVIDER)
    assert isinstance(signed, SignedCommitment)
    assert signed.verify(PROVIDER)
    assert signed.intact()
    assert not signed.legacy
    assert signed.signature is not None
    assert (signed.signature.algorithm, signed.signature.key_id) == ("hmac-sha256", "test")
    assert PROVIDER.verify(signed.content(), signed.signature)
    assert signed.signer.role is SignerRole.APPLICANT
    assert signed.templates_digest == Templates.default().digest
    assert signed.text.endswith(
        f"承诺人：{JIANGDU_APPLICANT.name}（{JIANGDU_APPLICANT.identifier}）\n"
        "签署时间：2023-01-16T10:30:00+08:00\n"
    )
    assert "________" not in signed.text
    assert signed.text.startswith(letter.render().split("承诺人（签字")[0])
    assert letter.sign(signer, SIGNED_AT, provider=PROVIDER) == signed  # deterministic


def test_tampering_with_the_text_is_detected() -> None:
    signed = jiangdu_signed()
    altered = attrs.evolve(signed, text=signed.text.replace("网上核查", "免予核查"))
    assert altered.text != signed.text
    assert not altered.intact()
    assert not altered.verify(PROVIDER)
    # Recomputing the digest does not help: the signature covers it.
    rehashed = attrs.evolve(altered, sha256=hashlib.sha256(altered.text.encode()).hexdigest())
    assert rehashed.intact()
    assert not rehashed.verify(PROVIDER)
    assert not attrs.evolve(signed, sha256="0" * 64).verify(PROVIDER)


def test_tampering_with_the_terms_is_detected() -> None:
    signed = jiangdu_signed()
    terms = signed.letter.terms
    assert terms.verification_due is not None
    later = attrs.evolve(terms, verification_due=terms.verification_due + dt.timedelta(days=30))
    moved = attrs.evolve(signed, letter=CommitmentLetter(later))
    assert moved.intact()  # the text is untouched ...
    assert not moved.verify(PROVIDER)  # ... but the terms are not the ones signed
    other = Applicant(JIANGDU_APPLICANT.identifier, "另一家公司")
    renamed = attrs.evolve(signed, letter=CommitmentLetter(attrs.evolve(terms, applicant=other)))
    assert not renamed.verify(PROVIDER)
    fewer = attrs.evolve(terms, materials=terms.materials[1:])
    assert not attrs.evolve(signed, letter=CommitmentLetter(fewer)).verify(PROVIDER)


def test_a_signature_made_with_another_key_does_not_verify() -> None:
    signed = jiangdu_signed()
    forged = attrs.evolve(signed, signature=OTHER_KEY.sign(signed.content()))
    assert not forged.verify(PROVIDER)
    assert forged.verify(OTHER_KEY)


def test_a_letter_stored_before_signatures_is_legacy() -> None:
    signed = jiangdu_signed()
    legacy = attrs.evolve(signed, signature=None)
    assert legacy.legacy
    assert legacy.intact()
    assert not legacy.verify(PROVIDER)  # nothing to vouch for it but its digest


def test_a_provider_must_return_a_signature() -> None:
    class Broken:
        name = "broken"

        def sign(self, data: bytes) -> object:
            return "signed!"

        def verify(self, data: bytes, signature: object) -> bool:
            return True

    signer = Signer(JIANGDU_APPLICANT.name, JIANGDU_APPLICANT.identifier)
    with pytest.raises(InvalidValue) as exc:
        jiangdu().letter().sign(signer, SIGNED_AT, provider=Broken())  # type: ignore[arg-type]
    assert problems(exc) == [
        "signature: the signature provider 'broken' returned str, not a Signature"
    ]


def test_signature_fields_must_not_be_empty() -> None:
    with pytest.raises(InvalidValue) as exc:
        Signature("", "k", " ")
    assert problems(exc) == [
        "algorithm: expected a non-empty string, got ''",
        "value: expected a non-empty string, got ' '",
    ]


def test_an_unkeyed_provider_refuses_to_sign() -> None:
    signer = Signer(JIANGDU_APPLICANT.name, JIANGDU_APPLICANT.identifier)
    with pytest.raises(SigningKeyMissing) as exc:
        jiangdu().letter().sign(signer, SIGNED_AT, provider=UnkeyedSignatureProvider())
    assert exc.value.variable == "CREDITCOMMIT_SIGNING_KEY"
    with pytest.raises(SigningKeyMissing):
        jiangdu_signed().verify(UnkeyedSignatureProvider())


def test_the_built_in_provider_reads_its_key_from_the_environment() -> None:
    assert isinstance(HmacSignatureProvider.from_environ({}), UnkeyedSignatureProvider)
    provider = HmacSignatureProvider.from_environ({"CREDITCOMMIT_SIGNING_KEY": "k" * 16})
    assert isinstance(provider, HmacSignatureProvider)
    assert provider.key_id == "sha256:" + hashlib.sha256(b"k" * 16).hexdigest()[:16]
    with pytest.raises(ValueError, match="CREDITCOMMIT_SIGNING_KEY: a signing key needs at"):
        HmacSignatureProvider.from_environ({"CREDITCOMMIT_SIGNING_KEY": "short"})


def test_agent_signs_with_authorisation() -> None:
    agent = Signer("张三", AGENT_ID, SignerRole.AGENT, authorisation="委托书 2023-017")
    signed = (
        gaoyou()
        .letter()
        .sign(
            agent,
            dt.datetime(2025, 9, 26, 15, 0, tzinfo=CST),
            provider=PROVIDER,
            lang="en",
            format="html",
        )
    )
    assert signed.verify(PROVIDER)
    assert (
        f"Signed by the agent 张三 ({AGENT_ID}) for the applicant, under written "
        "authorisation 委托书 2023-017" in signed.text
    )
    assert signed.text.startswith("<!DOCTYPE html>")


def test_agent_without_authorisation_is_rejected() -> None:
    with pytest.raises(MissingAuthorisation) as exc:
        Signer("张三", AGENT_ID, SignerRole.AGENT)
    assert isinstance(exc.value, InvalidValue)
    assert isinstance(exc.value, CreditCommitError)
    assert exc.value.name == "张三"
    assert str(exc.value) == (
        "invalid Signer: authorisation: the agent '张三' needs the applicant's written "
        "authorisation (书面授权委托书) to sign a commitment; give its reference"
    )
    with pytest.raises(MissingAuthorisation):
        Signer("张三", AGENT_ID, SignerRole.AGENT, authorisation="  ")


def test_applicant_signer_carries_no_authorisation() -> None:
    with pytest.raises(InvalidValue) as exc:
        Signer("公司", "x", authorisation="委托书")
    assert problems(exc) == [
        "authorisation: an applicant signing its own commitment needs no authorisation; "
        "use role AGENT for an agent"
    ]


def test_signer_needs_name_and_identifier() -> None:
    with pytest.raises(InvalidValue) as exc:
        Signer(" ", "", SignerRole.APPLICANT)
    assert problems(exc) == ["name: must not be empty", "identifier: must not be empty"]
    with pytest.raises(MissingAuthorisation) as missing:
        Signer(" ", AGENT_ID, SignerRole.AGENT)
    assert [p.path for p in missing.value.problems] == ["name", "authorisation"]


def test_someone_else_cannot_sign_as_the_applicant() -> None:
    with pytest.raises(InvalidValue) as exc:
        jiangdu().letter().sign(Signer("张三", AGENT_ID), SIGNED_AT, provider=PROVIDER)
    assert problems(exc) == [
        f"signer.identifier: the applicant is '{JIANGDU_APPLICANT.identifier}', not "
        f"'{AGENT_ID}'; anyone else signs as an agent with the applicant's authorisation"
    ]


def test_signing_time_needs_a_time_zone() -> None:
    signer = Signer(JIANGDU_APPLICANT.name, JIANGDU_APPLICANT.identifier)
    with pytest.raises(InvalidValue) as exc:
        jiangdu().letter().sign(signer, dt.datetime(2023, 1, 16, 10, 30), provider=PROVIDER)
    assert problems(exc) == [
        "signed_at: expected a date-time with a time zone (e.g. +08:00), got "
        "datetime.datetime(2023, 1, 16, 10, 30)"
    ]


def test_signing_before_the_document_date() -> None:
    signer = Signer(JIANGDU_APPLICANT.name, JIANGDU_APPLICANT.identifier)
    with pytest.raises(InvalidValue) as exc:
        jiangdu().letter().sign(
            signer, dt.datetime(2023, 1, 15, 23, 0, tzinfo=CST), provider=PROVIDER
        )
    assert problems(exc) == [
        "signed_at: 2023-01-15T23:00:00+08:00 is before the document date 2023-01-16"
    ]


def test_stored_signature_is_validated() -> None:
    signed = jiangdu_signed()
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(signed, sha256="ABC", text="")
    assert problems(exc) == [
        "sha256: expected 64 lower-case hexadecimal digits, got 'ABC'",
        "text: must not be empty",
    ]


# --- properties -----------------------------------------------------------------------------

NAMES = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=12
).filter(str.strip)

CHOICES = {
    MaterialKind.REQUIRED: [Disposition.SUBMITTED, Disposition.MISSING],
    MaterialKind.DEFERRABLE: [Disposition.DEFERRED, Disposition.SUBMITTED],
    MaterialKind.WAIVABLE: [Disposition.WAIVED, Disposition.SUBMITTED],
    MaterialKind.LICENCE: [Disposition.RETRIEVED, Disposition.SUBMITTED, Disposition.MISSING],
}
DAY = D(2025, 3, 3)


@st.composite
def applications(draw: st.DrawFn) -> Case:
    kinds = draw(st.lists(st.sampled_from(MaterialKind), min_size=1, max_size=7))
    materials = [
        Material(
            f"M{i}",
            draw(NAMES),
            kind,
            defer_days=5 if kind is MaterialKind.DEFERRABLE else None,
            licence_type="business-licence" if kind is MaterialKind.LICENCE else None,
        )
        for i, kind in enumerate(kinds)
    ]
    method = draw(st.sampled_from(VerificationMethod))
    verification = (
        Verification(method) if method is VerificationMethod.EXEMPT else Verification(method, 20)
    )
    item = ApprovalItem(
        code="T-1",
        name=draw(NAMES),
        # A department names directories downstream: no path separators (catalog rule).
        department=draw(NAMES.filter(lambda text: not {"/", "\\"} & set(text))),
        legal_basis=[LegalReference("某某条例", "第一条")],
        statutory_days=20,
        promised_days=10,
        commitment_mode=CommitmentMode.NOTIFY_AND_COMMIT,
        verification=verification,
        materials=materials,
        valid_from=D(2025, 1, 1),
    )
    lines = []
    for material in materials:
        disposition = draw(st.sampled_from(CHOICES[material.kind]))
        due = None
        if disposition is Disposition.DEFERRED:
            due = DAY + dt.timedelta(days=draw(st.integers(1, 30)))
        lines.append(Line(material.code, material.name, disposition, due))
    applicant = Applicant(draw(uscc_codes()), draw(NAMES))
    route = draw(st.sampled_from([Route.DIRECT, Route.CONDITIONAL]))
    reason = Reason("r", draw(NAMES), draw(NAMES))
    decision = decision_for(item, applicant, DAY, route, [reason])
    due = None if method is VerificationMethod.EXEMPT else DAY + dt.timedelta(days=28)
    return Case(item, decision, Plan(tuple(lines)), applicant, due)


@given(applications())
def test_every_waived_and_deferred_material_appears(case: Case) -> None:
    notification = case.notification()
    for lang in ("zh", "en"):
        text = notification.render(lang)
        page = notification.render(lang, "html")
        letter = notification.letter().render(lang)
        for term in notification.terms.waived + notification.terms.deferred:
            assert term.name in text
            assert term.name in letter
            assert html.escape(term.name) in page
    zh = notification.render()
    for term in notification.terms.waived:
        assert f"以承诺代替提交《{term.name}》。" in zh
    for term in notification.terms.deferred:
        assert term.due is not None
        due = f"{term.due.year}年{term.due.month}月{term.due.day}日"
        assert f"于{due}前（含当日）补交《{term.name}》。" in zh


@given(applications(), st.sampled_from(["zh", "en"]), st.sampled_from(["text", "html"]))
def test_rendering_is_deterministic(case: Case, lang: Any, format: Any) -> None:
    first = case.notification().render(lang, format)
    assert case.notification().render(lang, format) == first
    assert Notification(case.terms()).render(lang, format) == first
    letter = case.letter().render(lang, format)
    assert case.letter().render(lang, format) == letter
    if format == "html":
        assert first.count("<section>") == first.count("</section>")


@given(applications(), st.datetimes(min_value=dt.datetime(2025, 3, 3), timezones=st.just(CST)))
def test_signature_verifies_and_detects_any_change(case: Case, signed_at: dt.datetime) -> None:
    signer = Signer(case.applicant.name, case.applicant.identifier)
    signed = case.letter().sign(signer, signed_at, provider=PROVIDER)
    assert signed.verify(PROVIDER)
    assert signed == case.letter().sign(signer, signed_at, provider=PROVIDER)
    assert not attrs.evolve(signed, text=signed.text + " ").verify(PROVIDER)


def forge(value: Any, **changes: Any) -> Any:
    """A copy of an attrs instance with fields replaced, bypassing its checks (a forger
    edits the stored data, not through the constructors)."""
    copy = object.__new__(type(value))
    for name in attrs.fields_dict(type(value)):
        object.__setattr__(copy, name, changes.get(name, getattr(value, name)))
    return copy


TERM_CHANGES: dict[str, Any] = {
    "verification_due": lambda t: (
        None if t.verification_due is None else t.verification_due + dt.timedelta(days=1)
    ),
    "issued_on": lambda t: t.issued_on - dt.timedelta(days=1),
    "applicant": lambda t: Applicant(t.applicant.identifier, t.applicant.name + "（变更）"),
    "materials": lambda t: t.materials[1:],
    "publicity": lambda t: PublicityPeriod(t.publicity.min_months, t.publicity.max_months + 1),
}


@given(applications(), st.sampled_from(sorted(TERM_CHANGES)))
def test_the_signature_breaks_when_any_term_changes(case: Case, field: str) -> None:
    signer = Signer(case.applicant.name, case.applicant.identifier)
    signed = case.letter().sign(
        signer, dt.datetime(2026, 6, 1, 10, 0, tzinfo=CST), provider=PROVIDER
    )
    terms = signed.letter.terms
    changed = TERM_CHANGES[field](terms)
    assume(changed != getattr(terms, field))
    forged = forge(signed, letter=CommitmentLetter(forge(terms, **{field: changed})))
    assert forged.intact()  # the text is untouched
    assert not forged.verify(PROVIDER)


def test_plan_line_for_a_material_the_item_does_not_list() -> None:
    with pytest.raises(InvalidValue) as exc:
        attrs.evolve(jiangdu(), plan=Plan((Line("X", "x", Disposition.SUBMITTED),))).terms()
    assert exc.value.problems == (
        Problem("plan.lines[0].code", "item '321012-TZXMBA' has no material 'X'"),
    )
