"""The reason-code catalogue (理由代码): every sentence a route decision can give.

Each :class:`ReasonTemplate` has a stable kebab-case ``code``, a Chinese and an English
sentence with ``{named}`` fields, and the legal references it always cites. :func:`decide
<creditcommit.policy.decide>` renders templates into :class:`~creditcommit.decision.Reason`
objects, adding the reference of the policy setting it applied. Codes never change meaning;
``docs/reasons.md`` documents every one of them (a test checks it).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from creditcommit.credit import CreditRecordKind, FailureCategory, Severity
from creditcommit.decision import ProjectLevel, Reason
from creditcommit.effective import LegalReference
from creditcommit.errors import InvalidValue, Problem

__all__ = [
    "DOMAIN_LABELS",
    "FAILURE_CATEGORY_LABELS",
    "GUOBAN_2020_42",
    "PROJECT_LEVEL_LABELS",
    "REASONS",
    "RECORD_KIND_LABELS",
    "ReasonTemplate",
    "SEVERITY_LABELS",
    "domain_label",
]

_GUOBAN_TITLE = (
    "国务院办公厅关于全面推行证明事项和涉企经营许可事项告知承诺制的指导意见（国办发〔2020〕42号）"
)

GUOBAN_2020_42 = LegalReference(_GUOBAN_TITLE)
"""国办发〔2020〕42号, the national opinion on the notification-and-commitment system."""

# 42号's section numbers could not be checked against its full text (domain.md §14), so it
# is cited without a section rather than under a paraphrased label.
_GUOBAN_SCOPE = GUOBAN_2020_42
_GUOBAN_INELIGIBLE = GUOBAN_2020_42
_GUOBAN_CHOICE = GUOBAN_2020_42
_GUOBAN_LISTS = GUOBAN_2020_42

RECORD_KIND_LABELS: Mapping[CreditRecordKind, tuple[str, str]] = MappingProxyType(
    {
        CreditRecordKind.DISHONESTY: ("违法失信信息", "illegal or dishonest conduct"),
        CreditRecordKind.SERIOUS_DISHONESTY_LIST: (
            "严重失信主体名单",
            "serious-dishonesty list",
        ),
        CreditRecordKind.ADMINISTRATIVE_PENALTY: ("行政处罚", "administrative penalty"),
        CreditRecordKind.COMMITMENT_BREACH: ("未履行承诺", "unfulfilled commitment"),
        CreditRecordKind.FALSE_COMMITMENT: ("虚假承诺", "false commitment"),
        CreditRecordKind.FALSE_APPLICATION: (
            "隐瞒有关情况或者提供虚假材料申请",
            "concealment or false material in an application",
        ),
    }
)
"""Chinese and English names of each credit-record kind, as used in reason sentences."""

SEVERITY_LABELS: Mapping[Severity, tuple[str, str]] = MappingProxyType(
    {
        Severity.MINOR: ("轻微", "minor"),
        Severity.GENERAL: ("一般", "general"),
        Severity.SERIOUS: ("严重", "serious"),
    }
)
"""Chinese and English names of each severity, as used in reason sentences."""

FAILURE_CATEGORY_LABELS: Mapping[FailureCategory, tuple[str, str]] = MappingProxyType(
    {
        FailureCategory.TIMEOUT: (
            "信用平台未在规定时间内响应",
            "the credit platform did not answer in time",
        ),
        FailureCategory.REFUSED: ("信用平台拒绝连接", "the credit platform refused the connection"),
        FailureCategory.UNREACHABLE: (
            "无法连接信用平台",
            "the credit platform could not be reached",
        ),
        FailureCategory.UPSTREAM_ERROR: (
            "信用平台返回错误",
            "the credit platform reported an error",
        ),
        FailureCategory.MALFORMED_REPLY: (
            "信用平台返回的结果无法识别",
            "the credit platform's reply could not be read",
        ),
        FailureCategory.UNAUTHORISED: (
            "信用平台未授权本次查询",
            "the credit platform did not authorise the query",
        ),
        FailureCategory.WRONG_SUBJECT: (
            "信用平台返回的结果不是申请人的",
            "the credit platform answered about another subject",
        ),
        FailureCategory.INTERNAL: (
            "信用查询过程中发生内部错误",
            "an internal error occurred during the check",
        ),
    }
)
"""Chinese and English sentences for each credit look-up failure category: what an
applicant is told instead of the failure's technical detail."""

PROJECT_LEVEL_LABELS: Mapping[ProjectLevel, tuple[str, str]] = MappingProxyType(
    {
        ProjectLevel.COUNTY: ("县（区）级", "county-level"),
        ProjectLevel.MUNICIPAL: ("市级", "municipal"),
        ProjectLevel.PROVINCIAL: ("省级", "provincial"),
        ProjectLevel.NATIONAL: ("国家级", "national"),
    }
)
"""Chinese and English names of each major-project level."""

DOMAIN_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "national-security": ("国家安全", "national security"),
        "state-secrets": ("国家秘密", "state secrets"),
        "public-safety": ("公共安全", "public safety"),
        "financial-prudential": ("金融业审慎监管", "prudential financial supervision"),
        "ecological-environment": ("生态环境保护", "ecological and environmental protection"),
        "personal-health-life-property": (
            "直接关系人身健康、生命财产安全",
            "personal health, life and property safety",
        ),
        "foreign-affairs": ("重要涉外事项", "important foreign-related matters"),
        # Tags of the bundled sample catalogue.
        "investment-projects": ("企业投资项目", "enterprise investment projects"),
        "public-places-hygiene": ("公共场所卫生", "hygiene of public places"),
    }
)
"""Chinese and English names of domain tags: the 国办发〔2020〕42号 exclusions and the tags
of the sample catalogue. Other tags appear in sentences as written.
"""


def domain_label(tag: str, lang: str) -> str:
    """The name of a domain tag in ``lang`` (``"zh"`` or ``"en"``), or the tag itself."""
    names = DOMAIN_LABELS.get(tag)
    if names is None:
        return tag
    return names[0] if lang == "zh" else names[1]


_CODE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _fields(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def _facts(text: str) -> frozenset[str]:
    """The fields without their language suffix: ``kind_zh`` and ``kind_en`` are one fact."""
    return frozenset(name.removesuffix("_zh").removesuffix("_en") for name in _fields(text))


def _template_problems(code: str, zh: str, en: str) -> list[Problem]:
    problems: list[Problem] = []
    if not _CODE.fullmatch(code):
        problems.append(Problem("code", f"expected a kebab-case code, got {code!r}"))
    for name, text in (("zh", zh), ("en", en)):
        if not text.strip():
            problems.append(Problem(name, "expected a sentence, got an empty string"))
    if _facts(zh) != _facts(en):
        problems.append(
            Problem(
                "en",
                f"fields {sorted(_facts(en))} differ from the Chinese sentence's "
                f"{sorted(_facts(zh))} (a _zh/_en suffix marks one fact in two languages)",
            )
        )
    return problems


def _reference_tuple(values: Iterable[LegalReference]) -> tuple[LegalReference, ...]:
    return tuple(values)


@attrs.frozen
class ReasonTemplate:
    """A reason (决定理由) before its facts are filled in: code, sentences, references.

    ``zh`` and ``en`` are :meth:`str.format` templates with the same named fields, except
    that a fact worded per language is ``name_zh`` in one and ``name_en`` in the other;
    :meth:`render` fills them and returns a :class:`~creditcommit.decision.Reason`.
    """

    code: str
    zh: str
    en: str
    references: tuple[LegalReference, ...] = attrs.field(default=(), converter=_reference_tuple)
    #: The names both sentences need, e.g. ``{"grade", "threshold"}``.
    fields: frozenset[str] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = _template_problems(self.code, self.zh, self.en)
        if problems:
            raise InvalidValue("ReasonTemplate", problems)
        object.__setattr__(self, "fields", _fields(self.zh) | _fields(self.en))

    def render(
        self,
        params: Mapping[str, str] | None = None,
        references: Iterable[LegalReference | None] = (),
    ) -> Reason:
        """The reason with ``params`` filled in, citing the template's and the extra references.

        Every field of the sentences must be in ``params`` (extra keys are kept for
        machines); ``None`` references are skipped and duplicates dropped.
        """
        values = dict(params or {})
        missing = sorted(self.fields - values.keys())
        if missing:
            raise InvalidValue(
                "Reason",
                [Problem(f"params.{name}", f"needed by reason {self.code!r}") for name in missing],
            )
        cited: list[LegalReference] = []
        for ref in (*self.references, *references):
            if ref is not None and ref not in cited:
                cited.append(ref)
        return Reason(
            code=self.code,
            zh=self.zh.format_map(values),
            en=self.en.format_map(values),
            references=tuple(cited),
            params=values,
        )

    def _render_lazy(
        self, params: dict[str, str], references: Iterable[LegalReference | None] = ()
    ) -> Reason:
        """Like :meth:`render`, but the sentences are filled in when first read.

        For reasons made per application (one per credit record): the code, params and
        references are there at once; most decisions are never printed. ``params`` is
        taken over, not copied.
        """
        if not self.fields <= params.keys():
            return self.render(params, references)  # raises, naming what is missing
        cited: list[LegalReference] = []
        for ref in (*self.references, *references):
            if ref is not None and ref not in cited:
                cited.append(ref)
        return Reason._lazy(self.code, (self.zh, self.en), tuple(cited), params)


_TEMPLATES = (
    # --- rule 1: the item ---------------------------------------------------------------
    ReasonTemplate(
        "item-not-on-commitment-list",
        "事项{item}不在“信用+承诺”审批事项清单内，按一般程序办理。",
        "Item {item} is not on the credit-commitment item list, so the standard procedure applies.",
        [_GUOBAN_LISTS],
    ),
    ReasonTemplate(
        "item-commitment-mode-none",
        "事项{item}不实行告知承诺或容缺受理，按一般程序办理。",
        "Item {item} accepts neither a commitment nor deferred materials, so the standard "
        "procedure applies.",
        [_GUOBAN_LISTS],
    ),
    ReasonTemplate(
        "item-domain-excluded",
        "事项{item}涉及{domains_zh}，属于不宜实行告知承诺制的事项，按一般程序办理。",
        "Item {item} concerns {domains_en}, a field excluded from the commitment system, so "
        "the standard procedure applies.",
        [_GUOBAN_SCOPE],
    ),
    # --- rule 2: major projects ---------------------------------------------------------
    ReasonTemplate(
        "major-project-direct",
        "项目为{level_zh}重大项目，未查询信用等级，直接适用“信用+承诺”审批。",
        "The project is a {level_en} major project: the credit grade was not checked and the "
        "commitment route applies directly.",
    ),
    ReasonTemplate(
        "major-project-no-query",
        "项目为{level_zh}重大项目，按政策无需查询信用，未进行信用查询，直接适用“信用+承诺”审批。",
        "The project is a {level_en} major project, for which the policy requires no credit "
        "check: no credit check was made and the commitment route applies directly.",
    ),
    ReasonTemplate(
        "major-project-blocked",
        "项目为{level_zh}重大项目，可不查询信用等级，但申请人存在阻却适用的信用记录，"
        "不直接适用“信用+承诺”审批。",
        "The project is a {level_en} major project, for which the grade is not checked, but "
        "a credit record bars the commitment route.",
        [_GUOBAN_INELIGIBLE],
    ),
    # --- rule 3: the evidence -----------------------------------------------------------
    ReasonTemplate(
        "credit-evidence-missing",
        "未取得申请人的信用查询结果，无法确认是否符合条件，按一般程序办理。",
        "No credit check result was available for the applicant, so eligibility cannot be "
        "established and the standard procedure applies.",
    ),
    ReasonTemplate(
        "credit-lookup-failed",
        "信用查询失败（{source}：{category_zh}），无法确认是否符合条件，按一般程序办理。",
        "The credit check failed ({source}: {category_en}), so eligibility cannot be "
        "established and the standard procedure applies.",
    ),
    ReasonTemplate(
        "credit-evidence-stale",
        "信用查询结果（{source}）于 {retrieved_on} 取得，早于本次决定（{decided_on}）可采用的"
        "最早查询日 {earliest}，按一般程序办理。",
        "The credit check result ({source}) was retrieved on {retrieved_on}, before "
        "{earliest}, the earliest retrieval day accepted for a decision on {decided_on}, so "
        "the standard procedure applies.",
        [_GUOBAN_INELIGIBLE],
    ),
    ReasonTemplate(
        "credit-evidence-future",
        "信用查询结果（{source}）的查询日期 {retrieved_on} 晚于本次决定之日（{decided_on}），"
        "无法采信，按一般程序办理。",
        "The credit check result ({source}) is dated {retrieved_on}, after the day of this "
        "decision ({decided_on}), so it cannot be relied on and the standard procedure applies.",
        [_GUOBAN_INELIGIBLE],
    ),
    ReasonTemplate(
        "credit-evidence-wrong-subject",
        "信用查询结果的主体{subject}与申请人{applicant}不一致，按一般程序办理。",
        "The credit check result is about {subject}, not the applicant {applicant}, so the "
        "standard procedure applies.",
        [_GUOBAN_INELIGIBLE],
    ),
    ReasonTemplate(
        "credit-evidence-unverified",
        "信用查询结果（{source}）的摘要校验不通过，内容可能已被改动，按一般程序办理。",
        "The digest of the credit check result ({source}) does not match its content, which "
        "may have been altered, so the standard procedure applies.",
        [_GUOBAN_INELIGIBLE],
    ),
    ReasonTemplate(
        "credit-scale-mismatch",
        "信用查询结果采用“{evidence_scale}”等级标准，与本政策的“{policy_scale}”等级标准"
        "不一致，按一般程序办理。",
        "The credit check result uses the {evidence_scale} grade scale, not this policy's "
        "{policy_scale} scale, so the standard procedure applies.",
    ),
    # --- rules 4 and 5: records ---------------------------------------------------------
    ReasonTemplate(
        "blocking-record",
        "申请人存在{kind_zh}记录{record_id}（{severity_zh}，{decided_on}认定），"
        "{until}前（信用修复的，修复前）不适用“信用+承诺”审批。",
        "Credit record {record_id} ({kind_en}, {severity_en}, decided on {decided_on}) bars "
        "the commitment route until {until}, or until credit repair if earlier.",
        [_GUOBAN_INELIGIBLE],
    ),
    ReasonTemplate(
        "blocking-record-until-repair",
        "申请人存在{kind_zh}记录{record_id}（{severity_zh}，{decided_on}认定），"
        "信用修复前不适用“信用+承诺”审批；自{repairable_from}起可申请信用修复。",
        "Credit record {record_id} ({kind_en}, {severity_en}, decided on {decided_on}) bars "
        "the commitment route until credit repair, which may be applied for from "
        "{repairable_from}.",
        [_GUOBAN_INELIGIBLE],
    ),
    ReasonTemplate(
        "reapplication-ban",
        "申请人因{kind_zh}记录{record_id}（{decided_on}认定），{until}前不得再次申请"
        "本事项（{item}）的行政许可（{months}个月），申请不予受理；可以申请其他事项。",
        "Because of credit record {record_id} ({kind_en}, decided on {decided_on}) the "
        "applicant may not apply for this licence (item {item}) again until {until} "
        "({months} months), so the application is refused; other items stay open.",
    ),
    # --- rule 6: the grade --------------------------------------------------------------
    ReasonTemplate(
        "credit-grade-missing",
        "信用查询结果（{source}）没有申请人的信用等级，按一般程序办理。",
        "The credit check result ({source}) gives no credit grade for the applicant, so the "
        "standard procedure applies.",
    ),
    ReasonTemplate(
        "credit-grade-unknown",
        "信用等级“{grade}”不是“{scale}”等级标准中的等级，按一般程序办理。",
        "Credit grade {grade} is not a grade of the {scale} scale, so the standard "
        "procedure applies.",
    ),
    ReasonTemplate(
        "credit-grade-below-threshold",
        "申请人信用等级为{grade}级，低于有条件适用的最低等级{threshold}级，按一般程序办理。",
        "The applicant's credit grade {grade} is below {threshold}, the lowest grade that may "
        "use the conditional commitment route, so the standard procedure applies.",
    ),
    ReasonTemplate(
        "credit-grade-meets-threshold",
        "申请人信用等级为{grade}级，达到有条件适用的最低等级{threshold}级。",
        "The applicant's credit grade {grade} meets {threshold}, the lowest grade that may use "
        "the conditional commitment route.",
    ),
    ReasonTemplate(
        "no-blocking-record",
        "经查询，申请人在决定之日没有阻却适用“信用+承诺”审批的信用记录。",
        "The credit check shows no record that bars the commitment route on the day of the "
        "decision.",
        [_GUOBAN_INELIGIBLE],
    ),
    # --- rule 7: the applicant's choice -------------------------------------------------
    ReasonTemplate(
        "applicant-chose-standard",
        "申请人选择不作承诺，按一般程序办理。",
        "The applicant chose not to make a commitment and to follow the standard procedure.",
        [_GUOBAN_CHOICE],
    ),
)


def _registry(templates: Iterable[ReasonTemplate]) -> Mapping[str, ReasonTemplate]:
    found: dict[str, ReasonTemplate] = {}
    for template in templates:
        if template.code in found:
            raise InvalidValue(
                "REASONS", [Problem(template.code, "registered twice; codes must be unique")]
            )
        found[template.code] = template
    return MappingProxyType(found)


REASONS: Mapping[str, ReasonTemplate] = _registry(_TEMPLATES)
"""Every reason code a decision can give, by code (read-only)."""
