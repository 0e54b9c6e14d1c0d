"""Supervision after the licence (事中事后监管): obligations, outcomes and the rules that follow.

A licence issued on a commitment route (先证后核) leaves obligations behind: the agency must
verify the commitment (核查) by the item's deadline, and the holder must supply the deferred
materials (容缺材料) by their due dates. :func:`obligations` lists them for a case.

A verification ends in a :class:`VerificationOutcome`; a deferred material still missing
after its due date is the outcome ``DEFERRED_OVERDUE``. What follows an adverse outcome is
policy, not code: :class:`RevocationRules` (the dated setting ``revocation_rules``) says, per
outcome, whether the agency first orders rectification within a time limit (责令限期整改) or
proposes revocation at once (拟撤销), and which dishonesty record (失信记录) a revocation
leaves. :class:`InspectionRatios` (the setting ``inspection_ratios``) holds the per-grade
sampling ratios of 双随机 inspections.

The events and transitions that carry this out live in :mod:`creditcommit.case`; the rules,
their legal basis and the revocation procedure are described in ``docs/supervision.md``.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, Self

import attrs

from creditcommit._converter import structure
from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, ItemKind, VerificationMethod
from creditcommit.credit import CreditRecordKind, GradeScale, Severity
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    DataFileError,
    DecisionMismatch,
    InvalidValue,
    Problem,
    UnknownGrade,
)

if TYPE_CHECKING:
    from creditcommit.decision import Route
    from creditcommit.materials import MaterialPlan

__all__ = [
    "ART_34",
    "ART_69_PARA_1_4",
    "ART_69_PARA_2",
    "ART_69_PARA_3",
    "Consequence",
    "FILING_ART_19",
    "InspectionRatios",
    "Obligation",
    "ObligationKind",
    "OutcomeRule",
    "RevocationRules",
    "SupervisedCase",
    "SupervisionAction",
    "VerificationOutcome",
    "consequence",
    "correction_basis",
    "obligations",
]

_LICENSING_LAW = "中华人民共和国行政许可法"

ART_34 = LegalReference(_LICENSING_LAW, "第三十四条第三款")
"""行政许可法 Art 34 para 3: substantive verification needs two or more staff."""

ART_69_PARA_1_4 = LegalReference(_LICENSING_LAW, "第六十九条第一款第（四）项")
"""行政许可法 Art 69 para 1(4): a licence granted to an applicant not meeting the legal
conditions may be revoked (an unfulfilled commitment, a deferred material never supplied)."""

ART_69_PARA_2 = LegalReference(_LICENSING_LAW, "第六十九条第二款")
"""行政许可法 Art 69 para 2: a licence obtained by deception shall be revoked (a false
commitment)."""

ART_69_PARA_3 = LegalReference(_LICENSING_LAW, "第六十九条第三款")
"""行政许可法 Art 69 para 3: no revocation where it would seriously harm the public interest."""


FILING_ART_19 = LegalReference("企业投资项目核准和备案管理条例", "第十九条")
"""条例 Art 19: a project filed with false information (or changes not reported) — the
filing authority orders it corrected within a time limit and, if it is not, fines the
enterprise 20,000 to 50,000 yuan. A filing is not a licence: it is never revoked under
行政许可法 Art 69."""


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


def _join(path: str, sub: str) -> str:
    if not path:
        return sub
    if not sub:
        return path
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


# --------------------------------------------------------------------------- outcomes


class VerificationOutcome(enum.Enum):
    """How a commitment stood up to supervision (核查结果)."""

    #: The commitment was kept (已履行承诺): the case closes.
    FULFILLED = "fulfilled"
    #: The conditions committed to are not met (未履行承诺).
    UNFULFILLED = "unfulfilled"
    #: The commitment was untrue (虚假承诺): the licence was obtained by deception.
    FALSE_COMMITMENT = "false-commitment"
    #: A deferred material was not supplied by its due date after the licence (容缺材料逾期未补).
    DEFERRED_OVERDUE = "deferred-overdue"

    @property
    def adverse(self) -> bool:
        """True for every outcome but ``FULFILLED``."""
        return self is not VerificationOutcome.FULFILLED

    @property
    def label_zh(self) -> str:
        """The Chinese term, e.g. ``"虚假承诺"``."""
        return _OUTCOME_ZH[self]

    @property
    def legal_basis(self) -> LegalReference | None:
        """The paragraph of 行政许可法 Art 69 a revocation for this outcome rests on.

        Art 69 para 2 (deception, mandatory) for a false commitment; para 1(4) (legal
        conditions not met) for an unfulfilled commitment or a deferred material never
        supplied (domain.md §10.2); None for ``FULFILLED``.
        """
        return _OUTCOME_BASIS[self]


_OUTCOME_ZH = {
    VerificationOutcome.FULFILLED: "已履行承诺",
    VerificationOutcome.UNFULFILLED: "未履行承诺",
    VerificationOutcome.FALSE_COMMITMENT: "虚假承诺",
    VerificationOutcome.DEFERRED_OVERDUE: "容缺材料逾期未补齐",
}
_OUTCOME_BASIS = {
    VerificationOutcome.FULFILLED: None,
    VerificationOutcome.UNFULFILLED: ART_69_PARA_1_4,
    VerificationOutcome.FALSE_COMMITMENT: ART_69_PARA_2,
    VerificationOutcome.DEFERRED_OVERDUE: ART_69_PARA_1_4,
}


class SupervisionAction(enum.Enum):
    """What the agency does after an outcome (处理方式)."""

    #: Close the case: the commitment was kept (核查通过，办结).
    CLOSE = "close"
    #: Order rectification within a time limit (责令限期整改); revocation is proposed if the
    #: rectification fails.
    RECTIFY = "rectify"
    #: Propose revocation at once (拟撤销行政许可), with a statement-and-defence window.
    PROPOSE_REVOCATION = "propose-revocation"


@attrs.frozen
class Consequence:
    """What follows an adverse outcome for an item (处理方式及依据): the action and its basis."""

    action: SupervisionAction
    legal_basis: LegalReference


def correction_basis(item: ApprovalItem) -> LegalReference:
    """The rule a filing or another item that is not a licence is corrected under.

    The item's ``correction_basis`` (for 企业投资项目备案 :data:`FILING_ART_19`), or, where
    the catalogue names none, the instrument of its first legal basis.
    """
    if item.correction_basis is not None:
        return item.correction_basis
    return LegalReference(item.legal_basis[0].instrument)


def consequence(
    item: ApprovalItem, outcome: VerificationOutcome, rules: RevocationRules
) -> Consequence:
    """The action an adverse ``outcome`` leads to for ``item``, and the rule it rests on.

    A licence (许可) follows the policy's ``rules``: rectification first or revocation at
    once, on the paragraph of 行政许可法 Art 69 the outcome calls for
    (:attr:`VerificationOutcome.legal_basis`). A filing (备案) or another item that is not a
    licence is never revoked under that law: the agency orders it corrected within a time
    limit (``RECTIFY``) under the item's ``correction_basis`` — for 企业投资项目备案
    :data:`FILING_ART_19`, a fine if it is not corrected — or, where the catalogue names
    none, under the item's first legal basis.

    :raises ValueError: ``outcome`` is ``FULFILLED`` (nothing follows).
    """
    if not outcome.adverse:
        raise ValueError("a fulfilled commitment has no consequence")
    if item.kind is not ItemKind.LICENCE:
        return Consequence(SupervisionAction.RECTIFY, correction_basis(item))
    basis = outcome.legal_basis
    assert basis is not None  # an adverse outcome
    return Consequence(rules.action(outcome), basis)


# --------------------------------------------------------------------------- revocation rules

_ADVERSE_ACTIONS = (SupervisionAction.RECTIFY, SupervisionAction.PROPOSE_REVOCATION)


class _OutcomeRuleFields(Protocol):
    @property
    def action(self) -> SupervisionAction: ...
    @property
    def record_kind(self) -> CreditRecordKind: ...
    @property
    def record_severity(self) -> Severity: ...


class _RulesFields(Protocol):
    @property
    def rectification_working_days(self) -> int: ...
    @property
    def unfulfilled(self) -> _OutcomeRuleFields: ...
    @property
    def false_commitment(self) -> _OutcomeRuleFields: ...
    @property
    def deferred_overdue(self) -> _OutcomeRuleFields: ...


def _outcome_rule_problems(rule: _OutcomeRuleFields, path: str = "") -> list[Problem]:
    if rule.action not in _ADVERSE_ACTIONS:
        return [
            Problem(
                _join(path, "action"),
                "an adverse outcome leads to 'rectify' or 'propose-revocation' (only a "
                f"fulfilled commitment closes the case), got {rule.action.value!r}",
            )
        ]
    return []


# The outcome fields of RevocationRules, in the order of the file format.
_RULE_FIELDS = ("unfulfilled", "false_commitment", "deferred_overdue")


def _rules_problems(rules: _RulesFields) -> list[Problem]:
    problems = []
    days = rules.rectification_working_days
    if days < 1:
        problems.append(
            Problem("rectification_working_days", f"expected at least 1 working day, got {days}")
        )
    for name in _RULE_FIELDS:
        problems += _outcome_rule_problems(getattr(rules, name), name)
    action = rules.false_commitment.action
    if action is SupervisionAction.RECTIFY:
        # 行政许可法 Art 69 para 2: a licence obtained by deception "shall be revoked"; a
        # policy may not turn that into a rectification order.
        problems.append(
            Problem(
                "false_commitment.action",
                "a false commitment leads to 'propose-revocation': a licence obtained by a "
                "false commitment shall be revoked "
                f"(《{_LICENSING_LAW}》{ART_69_PARA_2.article}), got {action.value!r}",
            )
        )
    kind = rules.false_commitment.record_kind
    if kind is not CreditRecordKind.FALSE_COMMITMENT:
        # The 国办发〔2020〕42号 floor of blocking_records matches records of this kind: any
        # other kind would let a false commitment slip past it.
        problems.append(
            Problem(
                "false_commitment.record_kind",
                "a false commitment is recorded as 'false_commitment', so that it bars the "
                "commitment route until credit repair (国办发〔2020〕42号), got "
                f"{kind.value!r}",
            )
        )
    return problems


@attrs.frozen
class OutcomeRule:
    """What follows one adverse outcome: the first action and the record a revocation leaves.

    ``action`` is :attr:`SupervisionAction.RECTIFY` (rectification first, revocation if it
    fails) or :attr:`SupervisionAction.PROPOSE_REVOCATION` (revocation proposed at once);
    ``record_kind`` and ``record_severity`` are those of the dishonesty record (失信记录)
    created when the licence is revoked.
    """

    action: SupervisionAction
    record_kind: CreditRecordKind
    record_severity: Severity

    def __attrs_post_init__(self) -> None:
        _raise_if("OutcomeRule", _outcome_rule_problems(self))


@attrs.frozen(kw_only=True)
class _OutcomeRuleSchema:
    action: SupervisionAction
    record_kind: CreditRecordKind
    record_severity: Severity


@attrs.frozen(kw_only=True)
class _RulesSchema:
    rectification_working_days: int
    public_interest_exception: bool
    unfulfilled: _OutcomeRuleSchema
    false_commitment: _OutcomeRuleSchema
    deferred_overdue: _OutcomeRuleSchema


@attrs.frozen(kw_only=True)
class RevocationRules:
    """The consequences of a broken commitment (违诺处理规则), the setting ``revocation_rules``.

    A fulfilled commitment always closes the case. For each adverse outcome an
    :class:`OutcomeRule` says whether rectification comes first (Shanghai 优化营商环境条例
    2024 Art 27) or revocation is proposed directly (a false commitment in Beijing 优化营商
    环境条例 2024 Art 33), and which record a revocation leaves. A rectification order runs
    ``rectification_working_days`` working days. ``public_interest_exception`` lets an
    officer refuse a revocation that would seriously harm the public interest (行政许可法
    Art 69 para 3).

    A false commitment is always recorded as ``false_commitment``: the kind the
    国办发〔2020〕42号 floor of ``blocking_records`` bars until credit repair.
    """

    rectification_working_days: int
    public_interest_exception: bool
    unfulfilled: OutcomeRule
    false_commitment: OutcomeRule
    deferred_overdue: OutcomeRule

    def __attrs_post_init__(self) -> None:
        _raise_if("RevocationRules", _rules_problems(self))

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """The rules from a policy file's table; :class:`DataFileError` lists every problem.

        >>> rules = RevocationRules.from_dict(
        ...     {
        ...         "rectification_working_days": 10,
        ...         "public_interest_exception": True,
        ...         "unfulfilled": {"action": "rectify", "record_kind": "commitment_breach",
        ...                         "record_severity": "serious"},
        ...         "false_commitment": {"action": "propose-revocation",
        ...                              "record_kind": "false_commitment",
        ...                              "record_severity": "serious"},
        ...         "deferred_overdue": {"action": "rectify", "record_kind": "commitment_breach",
        ...                              "record_severity": "general"},
        ...     }
        ... )
        >>> rules.action(VerificationOutcome.FALSE_COMMITMENT).value
        'propose-revocation'
        """
        schema = structure(data, _RulesSchema, source=source)
        problems = _rules_problems(schema)
        if problems:
            raise DataFileError(source, problems)
        parts = {
            name: OutcomeRule(
                getattr(schema, name).action,
                getattr(schema, name).record_kind,
                getattr(schema, name).record_severity,
            )
            for name in _RULE_FIELDS
        }
        return cls(
            rectification_working_days=schema.rectification_working_days,
            public_interest_exception=schema.public_interest_exception,
            **parts,
        )

    def rule(self, outcome: VerificationOutcome) -> OutcomeRule:
        """The rule for an adverse outcome.

        :raises ValueError: ``outcome`` is ``FULFILLED``, which has no rule: it closes.
        """
        if outcome is VerificationOutcome.UNFULFILLED:
            return self.unfulfilled
        if outcome is VerificationOutcome.FALSE_COMMITMENT:
            return self.false_commitment
        if outcome is VerificationOutcome.DEFERRED_OVERDUE:
            return self.deferred_overdue
        raise ValueError("a fulfilled commitment has no revocation rule: the case closes")

    def action(self, outcome: VerificationOutcome) -> SupervisionAction:
        """The first action after ``outcome`` (``CLOSE`` for ``FULFILLED``)."""
        if outcome is VerificationOutcome.FULFILLED:
            return SupervisionAction.CLOSE
        return self.rule(outcome).action


# --------------------------------------------------------------------------- inspection ratios


def _ratio_problem(path: str, value: float) -> list[Problem]:
    if not 0 <= value <= 1:
        return [Problem(path, f"expected a ratio from 0 to 1, got {value:g}")]
    return []


def _ratios_problems(default: float, grades: Mapping[str, float]) -> list[Problem]:
    problems = _ratio_problem("default", default)
    for code, ratio in grades.items():
        if not code.strip():
            problems.append(Problem("grades", "expected grade codes, got an empty key"))
        problems += _ratio_problem(f"grades.{code}", ratio)
    return problems


def _frozen_ratios(values: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType({code: float(ratio) for code, ratio in values.items()})


@attrs.frozen
class _RatiosSchema:
    default: float
    grades: dict[str, float] = attrs.field(factory=dict)


@attrs.frozen
class InspectionRatios:
    """Per-grade sampling ratios of 双随机 inspections (抽查比例): ``inspection_ratios``.

    ``grades`` maps grade codes of the policy's scale to the share of subjects of that grade
    drawn for inspection (0 to 1); ``default`` applies to subjects without a grade or with a
    grade the table does not list. A riskier grade is never sampled less than a better one
    (国市监信发〔2022〕6号: raise the ratio with the risk); the policy checks this against the
    grade scale in force (:meth:`problems_with`).

    >>> ratios = InspectionRatios(0.04, {"A": 0.01, "E": 1.0})
    >>> ratios.ratio("A"), ratios.ratio("C"), ratios.ratio(None)
    (0.01, 0.04, 0.04)
    """

    default: float = attrs.field(converter=float)
    grades: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen_ratios, hash=False)

    def __attrs_post_init__(self) -> None:
        _raise_if("InspectionRatios", _ratios_problems(self.default, self.grades))

    def __reduce__(self) -> tuple[type[InspectionRatios], tuple[float, dict[str, float]]]:
        # Mapping proxies cannot be pickled; rebuild from plain values.
        return (type(self), (self.default, dict(self.grades)))

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """The ratios from a policy file's table ``{ default, grades = { A = 0.01, ... } }``."""
        schema = structure(data, _RatiosSchema, source=source)
        problems = _ratios_problems(schema.default, schema.grades)
        if problems:
            raise DataFileError(source, problems)
        return cls(schema.default, schema.grades)

    def ratio(self, grade: str | None) -> float:
        """The sampling ratio of a grade code as written in the table, else ``default``.

        :meth:`creditcommit.policy.PolicySnapshot.inspection_ratio` matches grade codes
        through the policy's scale (``"b"`` for ``"B"``).
        """
        if grade is None:
            return self.default
        return self.grades.get(grade, self.default)

    def problems_with(self, scale: GradeScale, on: dt.date | None = None) -> tuple[Problem, ...]:
        """What is wrong with the table under ``scale``: unknown grades, ratios out of order.

        Paths are ``grades.<code>``, as written in the table; ``on`` is the day the scale is
        in force, for the messages.
        """
        when = "" if on is None else f" in force on {on.isoformat()}"
        problems: list[Problem] = []
        ranked: list[tuple[int, str, str, float]] = []
        for code, ratio in self.grades.items():
            try:
                grade = scale.grade(code)
            except UnknownGrade:
                problems.append(
                    Problem(
                        f"grades.{code}",
                        f"grade {code!r} is not on the {scale.name!r} scale{when} "
                        f"(grades: {', '.join(scale.grades)})",
                    )
                )
                continue
            ranked.append((grade.rank, grade.code, code, ratio))
        ranked.sort()
        for (_, better, _, low), (_, worse, key, high) in itertools.pairwise(ranked):
            if high < low:
                problems.append(
                    Problem(
                        f"grades.{key}",
                        f"{high:g} for grade {worse} is below {low:g} for the better grade "
                        f"{better} on the {scale.name!r} scale{when}: a riskier grade is never "
                        "sampled less (国市监信发〔2022〕6号)",
                    )
                )
        return tuple(problems)


# --------------------------------------------------------------------------- obligations


class ObligationKind(enum.Enum):
    """What is owed after a licence on commitment."""

    #: The agency verifies the commitment (承诺核查) by the item's deadline.
    VERIFICATION = "verification"
    #: The holder supplies a deferred material (容缺材料) by its due date.
    DEFERRED_MATERIAL = "deferred-material"


@attrs.frozen(kw_only=True)
class Obligation:
    """One obligation left by a licence issued on commitment (承诺事项), and how it stands.

    For ``VERIFICATION``: ``method`` from the item and ``due`` the verification deadline
    the signed commitment letter states (the decision day plus the item's ``deadline_days``
    working days; the issue day plus them for a case without a signed letter; None when the
    item is exempt, 免予核查). For
    ``DEFERRED_MATERIAL``: the material's ``code`` and its ``due`` date from the plan.
    ``outcome`` is None while the obligation is open, ``FULFILLED`` once met (a verification
    that found it kept, or a rectification that made it so; a material supplied), or the
    adverse outcome found.
    """

    kind: ObligationKind
    due: dt.date | None
    method: VerificationMethod | None = None
    code: str | None = None
    outcome: VerificationOutcome | None = None

    @property
    def exempt(self) -> bool:
        """True for a verification the item is exempt from (免予核查)."""
        return self.method is VerificationMethod.EXEMPT

    @property
    def is_open(self) -> bool:
        """True while nothing is recorded about it (an exempt verification is never open)."""
        return self.outcome is None and not self.exempt

    def overdue(self, on: dt.date) -> bool:
        """True if the obligation is open and its due date is before ``on``."""
        return self.is_open and self.due is not None and self.due < on


class _Issued(Protocol):
    @property
    def issued_on(self) -> dt.date: ...


class _Terms(Protocol):
    @property
    def verification_due(self) -> dt.date | None: ...


class _Letter(Protocol):
    @property
    def terms(self) -> _Terms: ...


class _Signed(Protocol):
    """What is read of the signed commitment (a :class:`~creditcommit.commitments.
    SignedCommitment`): the verification deadline its letter states."""

    @property
    def letter(self) -> _Letter: ...


class _Supplied(Protocol):
    @property
    def code(self) -> str: ...


class _Verified(Protocol):
    @property
    def outcome(self) -> VerificationOutcome: ...


class SupervisedCase(Protocol):
    """What :func:`obligations` reads of a case: a :class:`creditcommit.case.Case` is one.

    A protocol rather than the class itself, so that this module does not depend on the
    case module, which depends on it (the import graph has no cycle).
    """

    @property
    def item_code(self) -> str: ...
    @property
    def item_valid_from(self) -> dt.date: ...
    @property
    def route(self) -> Route | None: ...
    @property
    def plan(self) -> MaterialPlan | None: ...
    @property
    def commitment(self) -> _Signed | None: ...
    @property
    def licence(self) -> _Issued | None: ...
    @property
    def history(self) -> Sequence[object]: ...
    @property
    def supplied(self) -> Sequence[_Supplied]: ...
    @property
    def supplied_before_licence(self) -> int: ...
    @property
    def verifications(self) -> Sequence[_Verified]: ...
    @property
    def verification_met(self) -> bool: ...
    @property
    def overdue_materials(self) -> Sequence[str]: ...


def obligations(
    case: SupervisedCase, item: ApprovalItem, calendar: WorkingCalendar
) -> tuple[Obligation, ...]:
    """The obligations a licence on commitment left, and how each stands on the case so far.

    The verification obligation first, then one per deferred material still owed when the
    licence was issued, in plan order. Nothing before the licence, nor on the standard
    route (no commitment was made).

    :raises DecisionMismatch: ``item`` is not the item version the case is handled under.
    """
    if (item.code, item.valid_from) != (case.item_code, case.item_valid_from):
        raise DecisionMismatch(item.code, item.valid_from, case.item_code, case.item_valid_from)
    licence = case.licence
    if licence is None or case.route is None or not case.route.is_commitment:
        return ()
    assert case.plan is not None  # a licence follows a decided route
    verification = item.verification
    due = None
    if verification.method is not VerificationMethod.EXEMPT:
        due = _promised_verification_due(case)
        if due is None:
            # No signed letter states a deadline (a case folded by hand): the item's
            # deadline counted from the issue day.
            assert verification.deadline_days is not None  # the catalogue rules
            due = calendar.add_working_days(licence.issued_on, verification.deadline_days)
    found = [
        Obligation(
            kind=ObligationKind.VERIFICATION,
            due=due,
            method=verification.method,
            outcome=_verification_state(case),
        )
    ]
    before, after = _supplied_around_licence(case)
    reported = set(case.overdue_materials)
    for line in case.plan.deferred:
        if line.code in before:
            continue
        outcome = None
        if line.code in after:
            outcome = VerificationOutcome.FULFILLED
        elif line.code in reported:
            outcome = VerificationOutcome.DEFERRED_OVERDUE
        found.append(
            Obligation(
                kind=ObligationKind.DEFERRED_MATERIAL, due=line.due, code=line.code, outcome=outcome
            )
        )
    return tuple(found)


def _promised_verification_due(case: SupervisedCase) -> dt.date | None:
    """The verification deadline the signed commitment letter states, if there is one.

    The applicant committed to the letter's terms and the agency notified the same date
    (信用承诺告知书), so that date binds both: it is the deadline supervision tracks.
    """
    if case.commitment is None:
        return None
    return case.commitment.letter.terms.verification_due


def _verification_state(case: SupervisedCase) -> VerificationOutcome | None:
    if not case.verifications:
        return None
    if case.verification_met:
        return VerificationOutcome.FULFILLED
    return case.verifications[-1].outcome


def _supplied_around_licence(case: SupervisedCase) -> tuple[set[str], set[str]]:
    """The codes supplied before the licence was issued, and those supplied after."""
    cut = case.supplied_before_licence
    before = {event.code for event in case.supplied[:cut]}
    after = {event.code for event in case.supplied[cut:]}
    return before, after
