"""Route decisions and their reasons (the vocabulary of :func:`creditcommit.decide`).

A :class:`Decision` says which route an application takes — :attr:`Route.DIRECT` (major
project, straight to the commitment route), :attr:`Route.CONDITIONAL` (good grade and no
blocking record: commitment route on conditions) or :attr:`Route.STANDARD` (the ordinary
procedure) — and why, as :class:`Reason` objects with a stable code, a sentence in Chinese
and in English and the legal references used. It records the versions of the catalogue and
the policy it was decided under, so an auditor can replay it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import attrs

from creditcommit.effective import LegalReference, RuleVersion
from creditcommit.errors import InvalidIdentifier, InvalidValue, Problem
from creditcommit.identifiers import USCC, ResidentId, mask_resident_ids, text_problem

__all__ = [
    "Applicant",
    "ApplicantKind",
    "Decision",
    "ProjectFacts",
    "ProjectLevel",
    "Reason",
    "Route",
    "RuleVersion",
]

Language = Literal["zh", "en"]


class Route(enum.Enum):
    """How an application is handled (审批路径).

    Ordered by how favourable it is to the applicant: ``DIRECT > CONDITIONAL > STANDARD``
    (compare with :attr:`favour`).
    """

    #: Major project: the commitment route without a credit check (直接适用“信用+承诺”).
    DIRECT = "direct"
    #: Good grade, no blocking record: the commitment route on conditions (有条件适用).
    CONDITIONAL = "conditional"
    #: The ordinary procedure with every material (不适用，按一般程序办理).
    STANDARD = "standard"

    @property
    def favour(self) -> int:
        """2 for DIRECT, 1 for CONDITIONAL, 0 for STANDARD."""
        return _FAVOUR[self]

    @property
    def is_commitment(self) -> bool:
        """True on the routes where a signed commitment replaces materials."""
        return self is not Route.STANDARD

    @property
    def label_zh(self) -> str:
        """The Chinese label used in letters and narration."""
        return _LABEL_ZH[self]

    @property
    def label_en(self) -> str:
        """The English label used in letters and narration."""
        return _LABEL_EN[self]


_FAVOUR = {Route.DIRECT: 2, Route.CONDITIONAL: 1, Route.STANDARD: 0}
_LABEL_ZH = {
    Route.DIRECT: "直接适用信用承诺审批",
    Route.CONDITIONAL: "有条件适用信用承诺审批",
    Route.STANDARD: "一般程序审批",
}
_LABEL_EN = {
    Route.DIRECT: "direct commitment route",
    Route.CONDITIONAL: "conditional commitment route",
    Route.STANDARD: "standard route",
}


class ProjectLevel(enum.Enum):
    """The level at which a project is listed as a major project (重大项目)."""

    COUNTY = "county"  # 县（区）级
    MUNICIPAL = "municipal"  # 市级
    PROVINCIAL = "provincial"  # 省级
    NATIONAL = "national"  # 国家级


class ApplicantKind(enum.Enum):
    """The kind of counterparty (行政相对人类别)."""

    LEGAL_PERSON = "legal-person"  # 法人及非法人组织
    INDIVIDUAL_BUSINESS = "individual-business"  # 个体工商户
    NATURAL_PERSON = "natural-person"  # 自然人


@attrs.frozen
class Applicant:
    """The applicant (申请人): its identifier (a USCC, or a resident identity number) and name.

    ``identifier`` is the normalised text (upper case, no separators) of a valid
    :class:`creditcommit.USCC` for a legal person or an individual business, or of a valid
    :class:`creditcommit.ResidentId` for a natural person; the credit source is asked about
    this subject. The initializer checks and never normalises, so one code always has one
    spelling: build an applicant from what a person typed with :meth:`parse`.

    :raises InvalidIdentifier: the identifier is invalid (``rule`` as in ``USCC.parse`` /
        ``ResidentId.parse``), not normalised (``"normalised"``) or of another kind of
        party (``"kind"``). A resident identity number in the error is masked.
    :raises InvalidValue: the name holds a line break, an escape or other control
        character, a direction override or a lone surrogate.
    """

    identifier: str
    name: str
    kind: ApplicantKind = ApplicantKind.LEGAL_PERSON

    def __attrs_post_init__(self) -> None:
        _check_identifier(self.identifier, self.kind, normalised=True)
        problem = text_problem(self.name)
        if problem is not None:
            raise InvalidValue("Applicant", [Problem("name", problem)])

    @classmethod
    def parse(
        cls, identifier: str, name: str, kind: ApplicantKind = ApplicantKind.LEGAL_PERSON
    ) -> Applicant:
        """An applicant from typed text: the identifier is normalised as ``USCC.parse``
        (legal person, individual business) or ``ResidentId.parse`` (natural person) does.

        >>> Applicant.parse("9132 1084-ma1tq7gu0h", "高邮某酒店管理有限公司").identifier
        '91321084MA1TQ7GU0H'
        """
        return cls(_check_identifier(identifier, kind, normalised=False), name, kind)

    @classmethod
    def restore(
        cls, identifier: str, name: str, kind: ApplicantKind = ApplicantKind.LEGAL_PERSON
    ) -> Applicant:
        """The applicant as an event store recorded it, without the intake checks.

        Cases stored before a check was added (or its rule tightened) must still read back:
        losing a case is worse than showing an odd name, and everything that prints a name
        escapes it. New applications always go through the initializer or :meth:`parse`.
        """
        applicant = object.__new__(cls)
        object.__setattr__(applicant, "identifier", identifier)
        object.__setattr__(applicant, "name", name)
        object.__setattr__(applicant, "kind", kind)
        return applicant


_PERSON_ID = "resident identity number"


def _check_identifier(text: str, kind: ApplicantKind, *, normalised: bool) -> str:
    """The normalised identifier for ``kind``, or :class:`InvalidIdentifier`."""
    if not isinstance(text, str):
        raise InvalidIdentifier("identifier", repr(text), "type", "expected text")
    person = kind is ApplicantKind.NATURAL_PERSON
    try:
        value = ResidentId.parse(text).value if person else USCC.parse(text).value
    except InvalidIdentifier as exc:
        if person and USCC.is_valid(text):
            raise InvalidIdentifier(
                _PERSON_ID,
                text,
                "kind",
                f"the applicant kind is {kind.value}, identified by a resident identity "
                f"number (居民身份证号码), but {text!r} is a USCC (统一社会信用代码); give the "
                "kind legal-person or individual-business, or the person's number",
            ) from None
        if not person and ResidentId.is_valid(text):
            raise InvalidIdentifier(
                "USCC",
                mask_resident_ids(text),
                "kind",
                f"the applicant kind is {kind.value}, identified by a USCC (统一社会信用代码), "
                "but the identifier is a resident identity number (居民身份证号码); give the "
                "kind natural-person, or the organisation's USCC",
            ) from None
        # Error messages reach logs: a mistyped personal number is still personal data.
        raise InvalidIdentifier(
            exc.kind, mask_resident_ids(exc.value), exc.rule, exc.detail
        ) from None
    if normalised and value != text:
        shown = ResidentId(value).masked() if person else value
        raise InvalidIdentifier(
            _PERSON_ID if person else "USCC",
            mask_resident_ids(text) if person else text,
            "normalised",
            f"expected the normalised form {shown!r} (upper case, no spaces or hyphens); "
            "build the applicant with Applicant.parse to normalise typed text",
        )
    return value


@attrs.frozen
class ProjectFacts:
    """Facts about the project an application belongs to, as far as the policy cares.

    ``major_level`` is the level at which the project is on a major-project list (None if it
    is not a listed major project).
    """

    major_level: ProjectLevel | None = None
    name: str | None = None
    investment_yuan: int | None = None


def _frozen_params(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


class _Sentences:
    """The slot of a :class:`Reason` whose sentences are rendered when first read.

    Not an attrs field: equality, hashing, ``repr``, pickling and :func:`attrs.asdict` read
    ``zh`` and ``en``, which render them first, so a lazy reason is indistinguishable from
    one built with its sentences.
    """

    __slots__ = ("_templates",)


@attrs.frozen
class Reason(_Sentences):
    """Why a decision went the way it did.

    ``code`` is stable and documented (``docs/reasons.md``); ``zh`` and ``en`` are sentences an
    applicant can read; ``references`` the legal references used; ``params`` the facts the
    sentences were filled with (grade, record id, ...), for machines.
    """

    code: str
    zh: str
    en: str
    references: tuple[LegalReference, ...] = ()
    params: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_params, eq=False, hash=False
    )

    def text(self, lang: Language = "zh") -> str:
        """The sentence in ``lang``."""
        return self.zh if lang == "zh" else self.en

    def __reduce__(self) -> tuple[type[Reason], tuple[object, ...]]:
        # ``params`` is a read-only view, which pickle and copy cannot take: rebuild the
        # reason from its fields, params as a plain dict (a lazy reason renders first).
        return (Reason, (self.code, self.zh, self.en, self.references, dict(self.params)))

    @classmethod
    def _lazy(
        cls,
        code: str,
        templates: tuple[str, str],
        references: tuple[LegalReference, ...],
        params: Mapping[str, str],
    ) -> Reason:
        """A reason whose ``zh`` and ``en`` are ``templates`` filled with ``params`` when
        first read (codes and params at once, sentences when needed)."""
        reason = object.__new__(cls)
        _set_reason_code(reason, code)
        _set_reason_references(reason, references)
        _set_reason_params(reason, MappingProxyType(params))
        _set_reason_templates(reason, templates)
        return reason

    if not TYPE_CHECKING:  # a fallback for the two lazy slots only; mypy sees the fields

        def __getattr__(self, name: str) -> str:
            # Called only when normal lookup fails: an unset zh/en slot of a lazy reason.
            if name not in {"zh", "en"}:
                raise AttributeError(name)
            try:
                zh, en = object.__getattribute__(self, "_templates")
            except AttributeError:
                raise AttributeError(name) from None
            params = object.__getattribute__(self, "params")
            object.__setattr__(self, "zh", zh.format_map(params))
            object.__setattr__(self, "en", en.format_map(params))
            return object.__getattribute__(self, name)


# The slots of a lazy reason, written directly (object.__setattr__ looks each name up).
_set_reason_code = Reason.code.__set__  # type: ignore[attr-defined]
_set_reason_references = Reason.references.__set__  # type: ignore[attr-defined]
_set_reason_params = Reason.params.__set__  # type: ignore[attr-defined]
_set_reason_templates = _Sentences._templates.__set__  # type: ignore[attr-defined]


@attrs.frozen
class Decision:
    """The route an application takes, with its reasons (审批路径决定).

    ``eligible_route`` is the most favourable route the rules allowed; ``route`` is the one
    taken, which differs only when the applicant chose the standard route.
    """

    item_code: str
    item_valid_from: dt.date
    applicant: str
    decided_on: dt.date
    route: Route
    eligible_route: Route
    reasons: tuple[Reason, ...]
    catalog: RuleVersion | None
    policy: RuleVersion
    evidence_digest: str | None = None
    major_project: bool = False
    #: Whose rules decided it: the most specific place of the policy files applied, e.g.
    #: ``"高邮市（321084）"`` (``None``: national defaults or files without a place).
    jurisdiction: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a decision needs at least one reason")
        if self.route is not self.eligible_route and self.route.favour > self.eligible_route.favour:
            raise ValueError(
                f"route {self.route.name} is more favourable than the eligible "
                f"route {self.eligible_route.name}"
            )

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reasons' codes, in order."""
        return tuple(reason.code for reason in self.reasons)

    def explain(self, lang: Language = "zh") -> str:
        """Text an applicant can read: the route, each reason, and the references cited."""
        if lang == "zh":
            head = f"事项 {self.item_code}：{self.route.label_zh}（{self.route.name}）"
            basis = "依据"
        else:
            head = f"Item {self.item_code}: {self.route.label_en} ({self.route.name})"
            basis = "Basis"
        lines = [head]
        if self.jurisdiction is not None:
            lines.append(
                f"适用{self.jurisdiction}的规则"
                if lang == "zh"
                else f"Rules applied: those of {self.jurisdiction}"
            )
        for number, reason in enumerate(self.reasons, 1):
            lines.append(f"{number}. {reason.text(lang)}")
            if lang == "zh":  # law names in 《》, as Chinese text writes them
                lines.extend(f"   {basis}：{ref.zh}" for ref in reason.references)
            else:
                lines.extend(f"   {basis}: {ref}" for ref in reason.references)
        return "\n".join(lines)


_DECISION_FIELDS = tuple(field.name for field in attrs.fields(Decision))
_EXPECTED_FIELDS = (
    "item_code",
    "item_valid_from",
    "applicant",
    "decided_on",
    "route",
    "eligible_route",
    "reasons",
    "catalog",
    "policy",
    "evidence_digest",
    "major_project",
    "jurisdiction",
)
if _DECISION_FIELDS != _EXPECTED_FIELDS:  # pragma: no cover - caught at import by any test
    raise AssertionError(f"_trusted_decision is out of date: Decision has {_DECISION_FIELDS}")
(
    _set_item_code,
    _set_item_valid_from,
    _set_applicant,
    _set_decided_on,
    _set_route,
    _set_eligible_route,
    _set_reasons,
    _set_catalog,
    _set_policy,
    _set_evidence_digest,
    _set_major_project,
    _set_jurisdiction,
) = (getattr(Decision, name).__set__ for name in _DECISION_FIELDS)
_new = object.__new__


def _trusted_decision(  # noqa: PLR0917 - every field, in order, as fast as possible
    item_code: str,
    item_valid_from: dt.date,
    applicant: str,
    decided_on: dt.date,
    route: Route,
    eligible_route: Route,
    reasons: tuple[Reason, ...],
    catalog: RuleVersion | None,
    policy: RuleVersion,
    evidence_digest: str | None,
    major_project: bool,
    jurisdiction: str | None,
) -> Decision:
    """A :class:`Decision` from all its field values in order, without the checks.

    For :class:`creditcommit.policy.Decider` only, whose rules always give a reason and
    never a route more favourable than the eligible one (the differential tests compare
    every field with decisions built the ordinary way). The slots are written directly,
    unrolled: a fifth of the cost of ``Decision(...)``, and no validator or converter runs.
    """
    decision = _new(Decision)
    _set_item_code(decision, item_code)
    _set_item_valid_from(decision, item_valid_from)
    _set_applicant(decision, applicant)
    _set_decided_on(decision, decided_on)
    _set_route(decision, route)
    _set_eligible_route(decision, eligible_route)
    _set_reasons(decision, reasons)
    _set_catalog(decision, catalog)
    _set_policy(decision, policy)
    _set_evidence_digest(decision, evidence_digest)
    _set_major_project(decision, major_project)
    _set_jurisdiction(decision, jurisdiction)
    return decision
