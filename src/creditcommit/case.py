"""A case (办件) as a log of events: what happened, the state folded from it, what may follow.

Everything that happens to a case is an event, a frozen value with the instant it happened
(``at``, from the shell's clock) and its facts: :class:`CaseSubmitted`, :class:`CreditChecked`,
:class:`RouteDecided`, :class:`Accepted`, :class:`LicenceIssued`, ... A :class:`Case` is the
fold of its events (:meth:`Case.from_events`, :meth:`Case.apply`), never edited in place.

The transitions (:func:`submit`, :func:`accept`, :func:`issue`, :func:`supply_material`,
:func:`due`, ...) are pure functions: they take a case and the facts of an action, check that
the action is allowed, and **return the new events** for the caller to append. An action the
case's state does not allow raises :class:`~creditcommit.errors.IllegalTransition` naming the
case, the state and the action. No function here reads a clock: ``now`` is passed in, and
days are taken from it (``now.date()``, in ``now``'s time zone).

The states, the transitions, the clocks (行政许可法 Arts 42 and 45) and the rules for
deferred materials (容缺受理) are described in ``docs/lifecycle.md``. After a licence issued
on commitment the case goes on under supervision (:func:`record_verification`,
:func:`rectification_result`, :func:`receive_statement`, :func:`hold_hearing`,
:func:`decide_revocation`, and :func:`due` with a ``policy``): ``docs/supervision.md``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeAlias, overload

import attrs

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, ItemKind, VerificationMethod
from creditcommit.commitments import SignedCommitment, cite
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    PublicityPeriod,
    Severity,
)
from creditcommit.decision import Applicant, Decision, ProjectFacts, Route
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    DecisionMismatch,
    IllegalTransition,
    InvalidValue,
    NoValueInForce,
    Problem,
    UnknownMaterial,
)
from creditcommit.materials import (
    Disposition,
    LicenceHolding,
    MaterialLine,
    MaterialPlan,
    plan_materials,
)
from creditcommit.policy import Policy, PolicySnapshot, code_place, decide
from creditcommit.supervision import (
    ART_69_PARA_3,
    SupervisionAction,
    VerificationOutcome,
    consequence,
)

__all__ = [
    "ACTIONS",
    "ART_45",
    "Accepted",
    "Case",
    "CaseEvent",
    "CaseState",
    "CaseSubmitted",
    "ClockPaused",
    "ClockResumed",
    "Closed",
    "CommitmentSigned",
    "CreditChecked",
    "CreditRecordCreated",
    "DEFAULT_GRACE_WORKING_DAYS",
    "DeferredMaterialOverdue",
    "HearingHeld",
    "History",
    "LicenceIssued",
    "LicencesLookedUp",
    "MaterialSupplied",
    "PauseReason",
    "RectificationFailed",
    "RectificationMet",
    "RectificationOrdered",
    "Refused",
    "Resumed",
    "Returned",
    "RevocationProposed",
    "RevocationRefused",
    "Revoked",
    "RouteChosen",
    "RouteDecided",
    "StatementReceived",
    "Suspended",
    "VerificationRecorded",
    "Withdrawn",
    "accept",
    "choose_standard",
    "decide_revocation",
    "due",
    "filing_reference",
    "hold_hearing",
    "issue",
    "licence_reference",
    "next_deadline",
    "pause_clock",
    "receive_statement",
    "record_verification",
    "rectification_result",
    "refuse",
    "resume_clock",
    "sign_commitment",
    "submit",
    "supply_material",
    "withdraw",
]

ART_45 = LegalReference("中华人民共和国行政许可法", "第四十五条")
"""行政许可法 Art 45: the time of a hearing, tender, ..., expert review is not counted."""

DEFAULT_GRACE_WORKING_DAYS = 15
"""Working days after a missed deferral deadline before the case is returned (退件).

The national policy default (``deferred_grace_working_days``, after the Taizhou rule,
domain.md §5.1); pass ``policy.at(day).deferred_grace_working_days`` to :func:`due`.
"""

# --- checks ---------------------------------------------------------------------------------


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


def _aware(path: str, value: object) -> list[Problem]:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        return [
            Problem(path, f"expected a date-time with a time zone (e.g. +08:00), got {value!r}")
        ]
    return []


def _day(path: str, value: object, *, optional: bool = False) -> list[Problem]:
    if value is None and optional:
        return []
    # A datetime is a date subclass but cannot be compared with dates.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return [Problem(path, f"expected a date, got {value!r}")]
    return []


def _text(path: str, value: object, what: str, *, optional: bool = False) -> list[Problem]:
    if value is None and optional:
        return []
    if not isinstance(value, str) or not value.strip():
        return [Problem(path, f"expected a non-empty {what}, got {value!r}")]
    return []


def _not_before(path: str, value: dt.date, start: dt.date, what: str) -> list[Problem]:
    if value < start:
        return [Problem(path, f"{value.isoformat()} is before {what} {start.isoformat()}")]
    return []


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"expected a collection of material codes, not the string {values!r}")
    # Sorted and unique: the order the applicant handed them in does not matter, and the
    # stored payload (and so the log's digest) must not depend on it.
    return tuple(sorted(set(values)))


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


_DIVISION = re.compile(r"[0-9]{6}")

# --- events ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CaseSubmitted:
    """An application was submitted (申请): who applies, for which item version, with what.

    ``city`` is the administrative division code (行政区划代码, GB/T 2260, six digits) of the
    city or district handling the case; ``provided`` the codes of the materials handed in
    (kept sorted); ``idempotency_key`` the caller's key for the submission, if any.
    """

    at: dt.datetime
    case_id: str
    city: str
    item_code: str
    item_valid_from: dt.date
    applicant: Applicant
    project: ProjectFacts = attrs.field(factory=ProjectFacts)
    provided: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    idempotency_key: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at)
        problems += _text("case_id", self.case_id, "case id")
        if not isinstance(self.city, str) or not _DIVISION.fullmatch(self.city):
            problems.append(
                Problem(
                    "city",
                    "expected a six-digit administrative division code (GB/T 2260), "
                    f"got {self.city!r}",
                )
            )
        problems += _text("item_code", self.item_code, "item code")
        problems += _day("item_valid_from", self.item_valid_from)
        problems += [
            Problem(f"provided[{i}]", "expected a non-empty material code")
            for i, code in enumerate(self.provided)
            if not code.strip()
        ]
        problems += _text("idempotency_key", self.idempotency_key, "idempotency key", optional=True)
        _raise_if("CaseSubmitted", problems)


@attrs.frozen(kw_only=True)
class CreditChecked:
    """The credit source was asked about the applicant (逢报必查), and what it said.

    ``outcome`` is the :class:`~creditcommit.credit.CreditEvidence` (stored with the case,
    digest and all), a :class:`~creditcommit.credit.CreditLookupFailure` (the decision then
    fails closed), or ``None`` when nobody asked: only a listed major project may skip the
    check, and its decision says so.
    """

    at: dt.datetime
    outcome: CreditEvidence | CreditLookupFailure | None

    def __attrs_post_init__(self) -> None:
        _raise_if("CreditChecked", _aware("at", self.at))


@attrs.frozen(kw_only=True)
class LicencesLookedUp:
    """The e-licence store (电子证照库) was asked what the applicant holds.

    ``holdings`` are the licences it returned; ``failure`` says what went wrong when it could
    not answer. A failing store retrieves nothing: the materials are demanded from the
    applicant instead, and the case goes on.
    """

    at: dt.datetime
    holdings: tuple[LicenceHolding, ...] = attrs.field(default=(), converter=_tuple)
    failure: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at)
        problems += _text("failure", self.failure, "failure text", optional=True)
        if self.failure is not None and self.holdings:
            problems.append(
                Problem("holdings", "a failed look-up retrieves nothing: expected no holdings")
            )
        _raise_if("LicencesLookedUp", problems)


def _route_problems(decision: Decision, plan: MaterialPlan) -> list[Problem]:
    problems = []
    if plan.route is not decision.route:
        problems.append(
            Problem(
                "plan.route",
                f"the plan is for the {plan.route.name} route, the decision for "
                f"{decision.route.name}",
            )
        )
    if plan.item_code != decision.item_code:
        problems.append(
            Problem(
                "plan.item_code",
                f"the plan is for item {plan.item_code!r}, the decision for {decision.item_code!r}",
            )
        )
    return problems


@attrs.frozen(kw_only=True)
class RouteDecided:
    """The route was decided (审批路径决定), and the material plan (材料清单) that follows."""

    at: dt.datetime
    decision: Decision
    plan: MaterialPlan

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _route_problems(self.decision, self.plan)
        _raise_if("RouteDecided", problems)


@attrs.frozen(kw_only=True)
class RouteChosen:
    """The applicant chose the standard route (一般程序) instead of the commitment route.

    An applicant may always do so (国办发〔2020〕42号, domain.md §4.2); a commitment already
    signed no longer applies. ``decision`` and ``plan`` replace the earlier ones.
    """

    at: dt.datetime
    decision: Decision
    plan: MaterialPlan

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _route_problems(self.decision, self.plan)
        if self.decision.route is not Route.STANDARD:
            problems.append(
                Problem(
                    "decision.route",
                    f"the applicant can only choose the standard route, got "
                    f"{self.decision.route.name}",
                )
            )
        _raise_if("RouteChosen", problems)


@attrs.frozen(kw_only=True)
class CommitmentSigned:
    """The applicant signed the commitment letter (信用承诺书); the signed text is stored."""

    at: dt.datetime
    commitment: SignedCommitment

    def __attrs_post_init__(self) -> None:
        _raise_if("CommitmentSigned", _aware("at", self.at))


@attrs.frozen(kw_only=True)
class Accepted:
    """The application was accepted (受理) on ``accepted_on``.

    ``promised_due`` and ``statutory_due`` are the last days of the agency's promised limit
    (承诺时限) and of the statutory limit (法定时限, 行政许可法 Art 42), counted in working
    days from the acceptance day, which is not counted itself.
    """

    at: dt.datetime
    accepted_on: dt.date
    promised_due: dt.date
    statutory_due: dt.date

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at)
        days = [("accepted_on", self.accepted_on), ("promised_due", self.promised_due)]
        days.append(("statutory_due", self.statutory_due))
        for path, value in days:
            problems += _day(path, value)
        if not problems:
            problems += _not_before(
                "promised_due", self.promised_due, self.accepted_on, "the acceptance day"
            )
            problems += _not_before(
                "statutory_due", self.statutory_due, self.promised_due, "the promised due date"
            )
        _raise_if("Accepted", problems)


@attrs.frozen(kw_only=True)
class MaterialSupplied:
    """A material was supplied (补齐补正) on ``supplied_on``, the day it reached the agency.

    For a deferred material (容缺) ``due`` is its due date and ``on_time`` whether it came by
    then; for a material missing before acceptance ``due`` is ``None`` and ``on_time`` true.
    """

    at: dt.datetime
    code: str
    supplied_on: dt.date
    due: dt.date | None = None
    on_time: bool = True

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at)
        problems += _text("code", self.code, "material code")
        problems += _day("supplied_on", self.supplied_on)
        problems += _day("due", self.due, optional=True)
        if not problems:
            expected = self.due is None or self.supplied_on <= self.due
            if self.on_time is not expected:
                problems.append(
                    Problem(
                        "on_time",
                        f"supplied {self.supplied_on.isoformat()} against due "
                        f"{'nothing' if self.due is None else self.due.isoformat()}: "
                        f"expected {str(expected).lower()}",
                    )
                )
        _raise_if("MaterialSupplied", problems)


class PauseReason(enum.Enum):
    """Why the clock stops (行政许可法 Art 45): procedures whose time is not counted."""

    HEARING = "hearing"  # 听证
    TENDER = "tender"  # 招标
    AUCTION = "auction"  # 拍卖
    TESTING = "testing"  # 检验
    INSPECTION = "inspection"  # 检测
    QUARANTINE = "quarantine"  # 检疫
    APPRAISAL = "appraisal"  # 鉴定
    EXPERT_REVIEW = "expert-review"  # 专家评审

    @property
    def label_zh(self) -> str:
        """The term of Art 45, e.g. ``"专家评审"``."""
        return _PAUSE_ZH[self]


_PAUSE_ZH = {
    PauseReason.HEARING: "听证",
    PauseReason.TENDER: "招标",
    PauseReason.AUCTION: "拍卖",
    PauseReason.TESTING: "检验",
    PauseReason.INSPECTION: "检测",
    PauseReason.QUARANTINE: "检疫",
    PauseReason.APPRAISAL: "鉴定",
    PauseReason.EXPERT_REVIEW: "专家评审",
}


@attrs.frozen(kw_only=True)
class ClockPaused:
    """The time limits stop on ``paused_on`` for a procedure of 行政许可法 Art 45.

    The applicant must be told in writing how long it takes (Art 45); ``note`` can record
    that notice or the procedure's reference.
    """

    at: dt.datetime
    paused_on: dt.date
    reason: PauseReason
    reference: LegalReference = ART_45
    note: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("paused_on", self.paused_on)
        problems += _text("note", self.note, "note", optional=True)
        _raise_if("ClockPaused", problems)


@attrs.frozen(kw_only=True)
class ClockResumed:
    """The time limits run again from ``resumed_on``.

    ``working_days`` is the number of working days paused, those after the pause day up to
    and including ``resumed_on``; ``promised_due`` and ``statutory_due`` are the due dates
    moved on by that many working days.
    """

    at: dt.datetime
    resumed_on: dt.date
    working_days: int
    promised_due: dt.date
    statutory_due: dt.date

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("resumed_on", self.resumed_on)
        problems += _day("promised_due", self.promised_due)
        problems += _day("statutory_due", self.statutory_due)
        if isinstance(self.working_days, bool) or not isinstance(self.working_days, int):
            problems.append(
                Problem("working_days", f"expected an integer, got {self.working_days!r}")
            )
        elif self.working_days < 0:
            problems.append(Problem("working_days", f"expected 0 or more, got {self.working_days}"))
        _raise_if("ClockResumed", problems)


@attrs.frozen(kw_only=True)
class Suspended:
    """The case is suspended (中止办理): deferred materials were overdue before the licence.

    ``overdue`` lists their codes; if they have not all arrived by ``grace_ends`` (the
    earliest due date among them plus the grace period, 15 working days by default) the case
    is returned (退件); when they have, it resumes. Taizhou rule, domain.md §5.1.
    """

    at: dt.datetime
    suspended_on: dt.date
    overdue: tuple[str, ...] = attrs.field(converter=_tuple)
    grace_ends: dt.date

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("suspended_on", self.suspended_on)
        problems += _day("grace_ends", self.grace_ends)
        if not self.overdue:
            problems.append(Problem("overdue", "expected at least one overdue material"))
        _raise_if("Suspended", problems)


@attrs.frozen(kw_only=True)
class Resumed:
    """Processing resumes (恢复办理): the overdue materials arrived within the grace period."""

    at: dt.datetime
    resumed_on: dt.date

    def __attrs_post_init__(self) -> None:
        _raise_if("Resumed", _aware("at", self.at) + _day("resumed_on", self.resumed_on))


@attrs.frozen(kw_only=True)
class LicenceIssued:
    """The licence was granted and issued (准予许可, 核发许可证件), or a filing recorded (备案).

    ``reference`` is the licence number (by default derived from the case id, see
    :func:`licence_reference`), or for a filing the filing number (:func:`filing_reference`);
    ``valid_until`` the last day of validity, if it expires.
    """

    at: dt.datetime
    reference: str
    issued_on: dt.date
    valid_until: dt.date | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _text("reference", self.reference, "licence number")
        problems += _day("issued_on", self.issued_on)
        found = _day("valid_until", self.valid_until, optional=True)
        problems += found
        if not problems and self.valid_until is not None:
            problems += _not_before(
                "valid_until", self.valid_until, self.issued_on, "the issue day"
            )
        _raise_if("LicenceIssued", problems)


@attrs.frozen(kw_only=True)
class Refused:
    """The licence was refused (不予许可), in writing and with reasons (行政许可法 Art 38)."""

    at: dt.datetime
    reason: str

    def __attrs_post_init__(self) -> None:
        _raise_if("Refused", _aware("at", self.at) + _text("reason", self.reason, "reason"))


@attrs.frozen(kw_only=True)
class Withdrawn:
    """The applicant withdrew the application (撤回申请) before it was decided."""

    at: dt.datetime
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _text("reason", self.reason, "reason", optional=True)
        _raise_if("Withdrawn", problems)


@attrs.frozen(kw_only=True)
class Returned:
    """The case was returned (退件): ``missing`` materials did not arrive in time."""

    at: dt.datetime
    reason: str
    missing: tuple[str, ...] = attrs.field(default=(), converter=_tuple)

    def __attrs_post_init__(self) -> None:
        _raise_if("Returned", _aware("at", self.at) + _text("reason", self.reason, "reason"))


# --- supervision events ---------------------------------------------------------------------


def _names(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"expected a collection of names, not the string {values!r}")
    return tuple(values)


def _after(path: str, value: dt.date, start: dt.date, what: str) -> list[Problem]:
    if value <= start:
        return [Problem(path, f"{value.isoformat()} must be after {what} {start.isoformat()}")]
    return []


def _adverse(path: str, outcome: VerificationOutcome) -> list[Problem]:
    if not outcome.adverse:
        return [Problem(path, "expected an adverse outcome, got fulfilled")]
    return []


@attrs.frozen(kw_only=True)
class VerificationRecorded:
    """A verification of the commitment (承诺核查) was recorded on ``verified_on``.

    ``inspectors`` are the staff who verified it: two or more for an on-site check
    (行政许可法 Art 34 para 3). ``method`` is how it was done, never ``exempt``: a later check
    of an exempt item names the method used. ``findings`` are what they found and
    ``outcome`` what it means: ``FULFILLED``, ``UNFULFILLED`` or ``FALSE_COMMITMENT``.
    """

    at: dt.datetime
    verified_on: dt.date
    method: VerificationMethod
    inspectors: tuple[str, ...] = attrs.field(converter=_names)
    findings: str
    outcome: VerificationOutcome

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("verified_on", self.verified_on)
        if self.method is VerificationMethod.EXEMPT:
            problems.append(
                Problem("method", "an exempt item's later check must name the method used")
            )
        if not self.inspectors:
            problems.append(Problem("inspectors", "expected at least one inspector"))
        seen: dict[str, int] = {}
        for i, name in enumerate(self.inspectors):
            if not isinstance(name, str) or not name.strip():
                problems.append(Problem(f"inspectors[{i}]", f"expected a name, got {name!r}"))
            elif name in seen:
                problems.append(
                    Problem(f"inspectors[{i}]", f"{name!r} is already inspectors[{seen[name]}]")
                )
            else:
                seen[name] = i
        if self.method is VerificationMethod.ON_SITE and len(self.inspectors) < 2:
            problems.append(
                Problem(
                    "inspectors",
                    "an on-site check needs two or more inspectors (行政许可法 Art 34 para 3), "
                    f"got {len(self.inspectors)}",
                )
            )
        problems += _text("findings", self.findings, "findings text")
        if self.outcome is VerificationOutcome.DEFERRED_OVERDUE:
            problems.append(
                Problem(
                    "outcome",
                    "a verification finds the commitment fulfilled, unfulfilled or false; an "
                    "overdue deferred material is found by the tick",
                )
            )
        _raise_if("VerificationRecorded", problems)


@attrs.frozen(kw_only=True)
class DeferredMaterialOverdue:
    """Deferred materials were still missing after their due date, the licence issued.

    Appended by the tick (:func:`due` with a ``policy``): the outcome ``DEFERRED_OVERDUE``,
    followed by what the policy's ``revocation_rules`` say. ``due`` is the earliest due date
    among ``materials``.
    """

    at: dt.datetime
    overdue_on: dt.date
    materials: tuple[str, ...] = attrs.field(converter=_tuple)
    due: dt.date

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("overdue_on", self.overdue_on)
        problems += _day("due", self.due)
        if not self.materials:
            problems.append(Problem("materials", "expected at least one overdue material"))
        if not problems:
            problems += _after("overdue_on", self.overdue_on, self.due, "the due date")
        _raise_if("DeferredMaterialOverdue", problems)


@attrs.frozen(kw_only=True)
class RectificationOrdered:
    """Rectification was ordered within a time limit (责令限期整改) after an adverse outcome.

    ``facts`` are what was found; ``deadline`` the last day to rectify; ``materials`` the
    deferred materials to supply (for ``DEFERRED_OVERDUE`` only); ``reference`` the policy's
    ``revocation_rules`` reference.
    """

    at: dt.datetime
    ordered_on: dt.date
    outcome: VerificationOutcome
    facts: str
    deadline: dt.date
    materials: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    reference: LegalReference | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("ordered_on", self.ordered_on)
        problems += _day("deadline", self.deadline)
        problems += _adverse("outcome", self.outcome)
        problems += _text("facts", self.facts, "statement of facts")
        overdue = self.outcome is VerificationOutcome.DEFERRED_OVERDUE
        if overdue and not self.materials:
            problems.append(Problem("materials", "expected the overdue materials to supply"))
        if not overdue and self.materials:
            problems.append(
                Problem(
                    "materials",
                    f"a rectification of a {self.outcome.value} commitment names no materials",
                )
            )
        if not problems:
            problems += _after("deadline", self.deadline, self.ordered_on, "the order day")
        _raise_if("RectificationOrdered", problems)


@attrs.frozen(kw_only=True)
class RectificationMet:
    """The rectification was completed (整改到位) on ``met_on``: the licence stands."""

    at: dt.datetime
    met_on: dt.date
    findings: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("met_on", self.met_on)
        problems += _text("findings", self.findings, "findings text", optional=True)
        _raise_if("RectificationMet", problems)


@attrs.frozen(kw_only=True)
class RectificationFailed:
    """The rectification deadline passed without the conditions met (整改后仍未达到条件)."""

    at: dt.datetime
    failed_on: dt.date
    deadline: dt.date
    findings: str

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("failed_on", self.failed_on)
        problems += _day("deadline", self.deadline)
        problems += _text("findings", self.findings, "findings text")
        if not problems:
            problems += _after("failed_on", self.failed_on, self.deadline, "the deadline")
        _raise_if("RectificationFailed", problems)


@attrs.frozen(kw_only=True)
class RevocationProposed:
    """Revocation of the licence was proposed (拟撤销行政许可告知), and the holder told so.

    The notice states the ``facts``, the ``grounds`` and the ``legal_basis`` (行政许可法
    Art 69 para 2 for a false commitment, para 1(4) otherwise, then the local rule), the
    record a revocation would leave (``record_kind``, ``record_severity``), and the right to
    state and defend by ``statement_due`` (the policy's ``statement_window_working_days``
    after ``proposed_on``) and to request a hearing (``hearing_right``).
    """

    at: dt.datetime
    proposed_on: dt.date
    outcome: VerificationOutcome
    facts: str
    grounds: str
    legal_basis: tuple[LegalReference, ...] = attrs.field(converter=_tuple)
    statement_due: dt.date
    record_kind: CreditRecordKind
    record_severity: Severity
    hearing_right: bool = True

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("proposed_on", self.proposed_on)
        problems += _day("statement_due", self.statement_due)
        problems += _adverse("outcome", self.outcome)
        problems += _text("facts", self.facts, "statement of facts")
        problems += _text("grounds", self.grounds, "statement of grounds")
        if not self.legal_basis:
            problems.append(Problem("legal_basis", "expected at least one legal reference"))
        if (
            self.outcome is VerificationOutcome.FALSE_COMMITMENT
            and self.record_kind is not CreditRecordKind.FALSE_COMMITMENT
        ):
            problems.append(
                Problem(
                    "record_kind",
                    f"a false commitment is recorded as 'false_commitment', got "
                    f"{self.record_kind.value!r}",
                )
            )
        if not problems:
            problems += _after(
                "statement_due", self.statement_due, self.proposed_on, "the proposal day"
            )
        _raise_if("RevocationProposed", problems)


@attrs.frozen(kw_only=True)
class StatementReceived:
    """The holder's statement and defence (陈述、申辩) against the proposal reached the agency.

    ``hearing_requested``: the holder asked for a hearing (听证), which must then be held
    before the decision; only possible within the statement window.
    """

    at: dt.datetime
    received_on: dt.date
    text: str
    hearing_requested: bool = False

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("received_on", self.received_on)
        problems += _text("text", self.text, "statement text")
        _raise_if("StatementReceived", problems)


@attrs.frozen(kw_only=True)
class HearingHeld:
    """The requested hearing (听证) was held on ``held_on``; ``summary`` records it."""

    at: dt.datetime
    held_on: dt.date
    summary: str

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("held_on", self.held_on)
        problems += _text("summary", self.summary, "hearing summary")
        _raise_if("HearingHeld", problems)


@attrs.frozen(kw_only=True)
class Revoked:
    """The licence was revoked (撤销行政许可) on ``revoked_on``.

    With the ``grounds`` and ``legal_basis`` of the proposal, and what was heard: the
    ``statements`` received and the ``hearing`` summary, or, with no statement, the window
    that ended unanswered on ``statement_due`` (:attr:`unanswered`).
    """

    at: dt.datetime
    revoked_on: dt.date
    grounds: str
    legal_basis: tuple[LegalReference, ...] = attrs.field(converter=_tuple)
    statement_due: dt.date
    statements: tuple[str, ...] = attrs.field(default=(), converter=_names)
    hearing: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("revoked_on", self.revoked_on)
        problems += _day("statement_due", self.statement_due)
        problems += _text("grounds", self.grounds, "statement of grounds")
        problems += _text("hearing", self.hearing, "hearing summary", optional=True)
        if not self.legal_basis:
            problems.append(Problem("legal_basis", "expected at least one legal reference"))
        if not problems and not self.statements and self.revoked_on <= self.statement_due:
            problems.append(
                Problem(
                    "revoked_on",
                    f"no statement was received and the statement window runs until "
                    f"{self.statement_due.isoformat()}: no revocation before it ends",
                )
            )
        _raise_if("Revoked", problems)

    @property
    def unanswered(self) -> bool:
        """True if the holder made no statement and the window ended unanswered."""
        return not self.statements


@attrs.frozen(kw_only=True)
class RevocationRefused:
    """Revocation was refused: it would seriously harm the public interest (行政许可法 Art 69
    para 3). The licence stands."""

    at: dt.datetime
    refused_on: dt.date
    reason: str
    legal_basis: LegalReference = ART_69_PARA_3

    def __attrs_post_init__(self) -> None:
        problems = _aware("at", self.at) + _day("refused_on", self.refused_on)
        problems += _text("reason", self.reason, "reason")
        _raise_if("RevocationRefused", problems)


@attrs.frozen(kw_only=True)
class CreditRecordCreated:
    """The dishonesty record (失信记录) a revocation leaves, to push to the credit registry.

    Its subject is the applicant, its day the revocation day, its kind and severity those the
    proposal announced, its publicity periods by severity (by default those of the NDRC
    instrument in force that day), its item the case's.
    """

    at: dt.datetime
    record: CreditRecord

    def __attrs_post_init__(self) -> None:
        _raise_if("CreditRecordCreated", _aware("at", self.at))


@attrs.frozen(kw_only=True)
class Closed:
    """Supervision ended (核查办结): the commitment was verified kept and nothing is owed."""

    at: dt.datetime
    closed_on: dt.date

    def __attrs_post_init__(self) -> None:
        _raise_if("Closed", _aware("at", self.at) + _day("closed_on", self.closed_on))


CaseEvent: TypeAlias = (
    CaseSubmitted
    | CreditChecked
    | LicencesLookedUp
    | RouteDecided
    | RouteChosen
    | CommitmentSigned
    | Accepted
    | MaterialSupplied
    | ClockPaused
    | ClockResumed
    | Suspended
    | Resumed
    | LicenceIssued
    | Refused
    | Withdrawn
    | Returned
    | VerificationRecorded
    | DeferredMaterialOverdue
    | RectificationOrdered
    | RectificationMet
    | RectificationFailed
    | RevocationProposed
    | StatementReceived
    | HearingHeld
    | Revoked
    | RevocationRefused
    | CreditRecordCreated
    | Closed
)
"""Any event of a case."""

# --- state ----------------------------------------------------------------------------------


class CaseState(enum.Enum):
    """Where a case stands (办件状态).

    ``SUBMITTED`` to ``SUSPENDED`` are the application in progress (:attr:`in_progress`);
    ``ISSUED``, ``REFUSED``, ``WITHDRAWN`` and ``RETURNED`` end the application procedure.
    Supervision of a licence issued on commitment continues from ``ISSUED``: ``RECTIFYING``,
    ``REVOCATION_PROPOSED``, and the ends ``CLOSED``, ``REVOKED``, ``REVOCATION_REFUSED``
    (:attr:`supervised`).
    """

    #: Submitted; credit and e-licences being looked up, no route yet.
    SUBMITTED = "submitted"
    #: Route decided, waiting for the applicant (to sign, to supply missing materials).
    DECIDED = "decided"
    #: The commitment letter is signed; waiting for acceptance.
    COMMITTED = "committed"
    #: Accepted (受理); the time limits run.
    ACCEPTED = "accepted"
    #: Suspended for overdue deferred materials (中止办理).
    SUSPENDED = "suspended"
    #: Licence granted and issued (准予许可).
    ISSUED = "issued"
    #: Licence refused (不予许可).
    REFUSED = "refused"
    #: Withdrawn by the applicant (撤回).
    WITHDRAWN = "withdrawn"
    #: Returned for overdue materials (退件).
    RETURNED = "returned"
    #: Rectification ordered within a time limit (责令限期整改), the deadline running.
    RECTIFYING = "rectifying"
    #: Revocation proposed (拟撤销); the statement window runs, a decision is pending.
    REVOCATION_PROPOSED = "revocation-proposed"
    #: Supervision ended: the commitment was verified kept (核查办结).
    CLOSED = "closed"
    #: The licence was revoked (撤销行政许可).
    REVOKED = "revoked"
    #: Revocation refused for the public interest (不予撤销, 行政许可法 Art 69 para 3).
    REVOCATION_REFUSED = "revocation-refused"

    @property
    def in_progress(self) -> bool:
        """True while the application is still to be decided (withdrawal is possible)."""
        return self in _IN_PROGRESS

    @property
    def supervised(self) -> bool:
        """True from the licence on: ``ISSUED`` and the supervision states after it."""
        return self in _SUPERVISED


_IN_PROGRESS = frozenset(
    {
        CaseState.SUBMITTED,
        CaseState.DECIDED,
        CaseState.COMMITTED,
        CaseState.ACCEPTED,
        CaseState.SUSPENDED,
    }
)
_SUPERVISED = frozenset(
    {
        CaseState.ISSUED,
        CaseState.RECTIFYING,
        CaseState.REVOCATION_PROPOSED,
        CaseState.CLOSED,
        CaseState.REVOKED,
        CaseState.REVOCATION_REFUSED,
    }
)


class History(Sequence[CaseEvent]):
    """The events of a case read from its projection, loaded only when something needs them.

    ``History(length, load)``: ``load()`` returns the case's first ``length`` events (called
    at most once, the first time an event is asked for); :meth:`extended` gives a longer
    history without loading. The length is known at once, so
    :attr:`Case.version` never loads. It compares equal to a tuple of the same events.
    """

    __slots__ = ("_events", "_length", "_load", "_tail")

    def __init__(
        self,
        length: int,
        load: Callable[[], Iterable[CaseEvent]],
        tail: tuple[CaseEvent, ...] = (),
    ) -> None:
        if length < 1:
            raise ValueError(f"a history has at least one event, got length {length}")
        self._length = length
        self._load = load
        self._tail = tail
        self._events: tuple[CaseEvent, ...] | None = None

    def _all(self) -> tuple[CaseEvent, ...]:
        if self._events is None:
            loaded = tuple(self._load())
            if len(loaded) != self._length:
                raise ValueError(
                    f"the history should hold {self._length} events, {len(loaded)} were loaded"
                )
            self._events = loaded + self._tail
        return self._events

    @property
    def loaded(self) -> bool:
        """Whether the events were read."""
        return self._events is not None

    def __len__(self) -> int:
        return self._length + len(self._tail)

    @overload
    def __getitem__(self, index: int) -> CaseEvent: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[CaseEvent, ...]: ...

    def __getitem__(self, index: int | slice) -> CaseEvent | tuple[CaseEvent, ...]:
        return self._all()[index]

    def __iter__(self) -> Iterator[CaseEvent]:
        return iter(self._all())

    def __reversed__(self) -> Iterator[CaseEvent]:
        return reversed(self._all())

    def extended(self, *more: CaseEvent) -> History:
        """This history and then ``more``, loading nothing."""
        longer = History(self._length, self._load, self._tail + more)
        if self._events is not None:
            longer._events = self._events + more
        return longer

    def __eq__(self, other: object) -> bool:
        if isinstance(other, History | tuple):
            return len(self) == len(other) and self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        if self._events is None:
            return f"History(<{len(self)} events, not loaded>)"
        return f"History({self._events!r})"


@attrs.frozen(kw_only=True)
class Case:
    """A case (办件): the fold of its events. Build it with :meth:`from_events`.

    Every field is derived from :attr:`history`; :meth:`apply` gives the case after more
    events. ``plan`` is the current material plan: a material missing at submission and
    supplied before acceptance shows as submitted there, while deferred materials keep their
    due dates and are tracked in ``supplied``.

    Under supervision: ``verifications`` recorded, ``verification_met`` (the last one found
    the commitment kept, or its rectification was met), ``overdue_materials`` reported by the
    tick, the current (or last) ``rectification`` order and its ``rectification_failure``,
    the revocation ``proposal`` with the ``statements`` and ``hearing`` on it, the
    ``revocation`` decision, the ``credit_record`` it created, and ``closed``.
    """

    submission: CaseSubmitted
    state: CaseState
    history: Sequence[CaseEvent]
    credit: CreditChecked | None = None
    licence_lookup: LicencesLookedUp | None = None
    decision: Decision | None = None
    plan: MaterialPlan | None = None
    commitment: SignedCommitment | None = None
    acceptance: Accepted | None = None
    promised_due: dt.date | None = None
    statutory_due: dt.date | None = None
    pause: ClockPaused | None = None
    paused_working_days: int = 0
    supplied: tuple[MaterialSupplied, ...] = ()
    suspension: Suspended | None = None
    licence: LicenceIssued | None = None
    closure: Refused | Withdrawn | Returned | None = None
    verifications: tuple[VerificationRecorded, ...] = ()
    verification_met: bool = False
    overdue_materials: tuple[str, ...] = ()
    rectification: RectificationOrdered | None = None
    rectification_failure: RectificationFailed | None = None
    proposal: RevocationProposed | None = None
    statements: tuple[StatementReceived, ...] = ()
    hearing: HearingHeld | None = None
    revocation: Revoked | RevocationRefused | None = None
    credit_record: CreditRecord | None = None
    closed: Closed | None = None
    #: How many of ``supplied`` arrived before the licence was issued (the rest after it).
    supplied_before_licence: int = 0

    @classmethod
    def from_events(cls, events: Iterable[CaseEvent]) -> Case:
        """The case whose history is ``events``, in order; the first is :class:`CaseSubmitted`.

        Raises :class:`~creditcommit.errors.IllegalTransition` for an event its state does not
        allow, :class:`~creditcommit.errors.InvalidValue` for an empty history.
        """
        found = iter(events)
        first = next(found, None)
        if not isinstance(first, CaseSubmitted):
            got = "nothing" if first is None else type(first).__name__
            raise InvalidValue(
                "Case", [Problem("events[0]", f"expected a CaseSubmitted event, got {got}")]
            )
        case = cls(submission=first, state=CaseState.SUBMITTED, history=(first,))
        return case.apply(*found)

    def apply(self, *events: CaseEvent) -> Case:
        """The case after ``events``, in order: ``case.apply(*accept(case, ...))``.

        Raises :class:`~creditcommit.errors.IllegalTransition` for an event the state it
        meets does not allow.
        """
        case = self
        for event in events:
            case = case._apply(event)
        return case

    def _apply(self, event: CaseEvent) -> Case:
        rule = _FOLD.get(type(event))
        if rule is None:
            raise TypeError(f"not a case event: {event!r}")
        states, fold = rule
        action = f"apply {type(event).__name__}"
        if self.state not in states:
            raise IllegalTransition(self.case_id, self.state.name, action, _allowed(states))
        detail = _fold_problem(self, event)
        if detail is not None:
            raise IllegalTransition(self.case_id, self.state.name, action, detail)
        history = self.history
        # A history not yet loaded grows without being read.
        longer = history.extended(event) if isinstance(history, History) else (*history, event)
        return attrs.evolve(fold(self, event), history=longer)

    # -- accessors --------------------------------------------------------------------------

    @property
    def case_id(self) -> str:
        """The case id."""
        return self.submission.case_id

    @property
    def city(self) -> str:
        """The administrative division code of the city or district handling the case."""
        return self.submission.city

    @property
    def applicant(self) -> Applicant:
        """The applicant (申请人)."""
        return self.submission.applicant

    @property
    def item_code(self) -> str:
        """The approval item's code."""
        return self.submission.item_code

    @property
    def item_valid_from(self) -> dt.date:
        """The start of the item version the case is handled under."""
        return self.submission.item_valid_from

    @property
    def version(self) -> int:
        """The number of events: the version the event store expects for the next append."""
        return len(self.history)

    @property
    def route(self) -> Route | None:
        """The route taken, once decided."""
        return None if self.decision is None else self.decision.route

    @property
    def evidence(self) -> CreditEvidence | CreditLookupFailure | None:
        """What the credit source said (None if it was not asked)."""
        return None if self.credit is None else self.credit.outcome

    @property
    def accepted_on(self) -> dt.date | None:
        """The acceptance day (受理日), once accepted."""
        return None if self.acceptance is None else self.acceptance.accepted_on

    @property
    def licence_reference(self) -> str | None:
        """The licence number, once issued."""
        return None if self.licence is None else self.licence.reference

    @property
    def is_paused(self) -> bool:
        """True while the clock is stopped under 行政许可法 Art 45."""
        return self.pause is not None

    @property
    def grace_ends(self) -> dt.date | None:
        """The last day of the grace period while the case is suspended."""
        return None if self.suspension is None else self.suspension.grace_ends

    @property
    def outstanding(self) -> tuple[MaterialLine, ...]:
        """The deferred materials not yet supplied, with their due dates, in plan order.

        After the licence is issued on a commitment route these are the applicant's
        obligations.
        """
        if self.plan is None:
            return ()
        done = {event.code for event in self.supplied}
        return tuple(line for line in self.plan.deferred if line.code not in done)

    def overdue(self, on: dt.date) -> tuple[MaterialLine, ...]:
        """The outstanding deferred materials whose due date is before ``on``."""
        return tuple(line for line in self.outstanding if line.due is not None and line.due < on)

    @property
    def hearing_request(self) -> StatementReceived | None:
        """The statement that requested a hearing on the current proposal, if any."""
        return next((event for event in self.statements if event.hearing_requested), None)

    @property
    def verification_exempt(self) -> bool:
        """True if the item the commitment was made for is exempt from verification (免予核查)."""
        if self.commitment is None:
            return False
        return self.commitment.letter.terms.item.verification.method is VerificationMethod.EXEMPT


def _allowed(states: frozenset[CaseState]) -> str:
    if not states:
        return "a case is submitted once, with its first event"
    names = ", ".join(state.name for state in CaseState if state in states)
    return f"allowed in {names}"


# --- the fold -------------------------------------------------------------------------------


def _fold_problem(case: Case, event: CaseEvent) -> str | None:
    """Why ``event`` cannot follow ``case`` beyond its state, or None."""
    if isinstance(event, CreditChecked) and case.credit is not None:
        return "the credit check is already recorded"
    if isinstance(event, LicencesLookedUp) and case.licence_lookup is not None:
        return "the e-licence look-up is already recorded"
    if isinstance(event, RouteDecided | RouteChosen) and (
        (event.decision.item_code, event.decision.item_valid_from)
        != (case.item_code, case.item_valid_from)
    ):
        return f"the decision is for item {event.decision.item_code!r}, not {case.item_code!r}"
    if isinstance(event, MaterialSupplied):
        return _supply_problem(case, event.code)
    if isinstance(event, ClockPaused) and case.pause is not None:
        return f"the clock is already paused since {case.pause.paused_on.isoformat()}"
    if isinstance(event, ClockResumed) and case.pause is None:
        return "the clock is not paused"
    return _supervision_problem(case, event)


def _supervision_problem(case: Case, event: CaseEvent) -> str | None:
    """Why a supervision event cannot follow ``case`` beyond its state, or None."""
    if isinstance(event, VerificationRecorded | Closed) and not _on_commitment(case):
        return "the standard route has no commitment to verify"
    if isinstance(event, VerificationRecorded):
        assert case.licence is not None
        return _not_before_licence(case.licence, event.verified_on)
    if isinstance(event, DeferredMaterialOverdue):
        return _overdue_problem(case, event)
    if isinstance(event, RectificationOrdered):
        owed = {line.code for line in case.outstanding}
        extra = [code for code in event.materials if code not in owed]
        if extra:
            return f"not outstanding deferred materials: {', '.join(extra)}"
        return None
    if isinstance(event, RectificationMet | RectificationFailed):
        return _rectification_problem(case, event)
    if isinstance(event, RevocationProposed):
        if case.state is CaseState.RECTIFYING and case.rectification_failure is None:
            assert case.rectification is not None
            return (
                "the rectification order runs until "
                f"{case.rectification.deadline.isoformat()}: no proposal before it fails"
            )
        return None
    if isinstance(event, StatementReceived | HearingHeld | Revoked | RevocationRefused):
        return _hearing_problem(case, event)
    if isinstance(event, CreditRecordCreated):
        return _record_problem(case, event.record)
    if isinstance(event, Closed):
        return _closing_problem(case)
    return None


def _on_commitment(case: Case) -> bool:
    return case.route is not None and case.route.is_commitment


def _not_before_licence(licence: LicenceIssued, day: dt.date) -> str | None:
    if day < licence.issued_on:
        return (
            f"{day.isoformat()} is before the licence was issued on {licence.issued_on.isoformat()}"
        )
    return None


def _overdue_problem(case: Case, event: DeferredMaterialOverdue) -> str | None:
    lines = {line.code: line for line in case.outstanding}
    for code in event.materials:
        line = lines.get(code)
        if line is None:
            return f"material {code!r} is not an outstanding deferred material"
        if code in case.overdue_materials:
            return f"material {code!r} was already reported overdue"
        if line.due is None or line.due >= event.overdue_on:
            return f"material {code!r} is not overdue on {event.overdue_on.isoformat()}"
    return None


def _rectification_problem(case: Case, event: RectificationMet | RectificationFailed) -> str | None:
    order = case.rectification
    assert order is not None  # RECTIFYING has an order
    failure = case.rectification_failure
    if failure is not None:
        return f"the rectification already failed on {failure.failed_on.isoformat()}"
    if isinstance(event, RectificationMet) and event.met_on < order.ordered_on:
        return f"{event.met_on.isoformat()} is before the order of {order.ordered_on.isoformat()}"
    if isinstance(event, RectificationFailed):
        if event.deadline != order.deadline:
            return (
                f"the order's deadline is {order.deadline.isoformat()}, not "
                f"{event.deadline.isoformat()}"
            )
        return None
    supplied = {done.code for done in case.supplied}
    owed = [code for code in order.materials if code not in supplied]
    if owed:
        return f"materials still owed: {', '.join(owed)}"
    return None


_Answer: TypeAlias = StatementReceived | HearingHeld | Revoked | RevocationRefused


def _answer_day(event: _Answer) -> dt.date:
    if isinstance(event, StatementReceived):
        return event.received_on
    if isinstance(event, HearingHeld):
        return event.held_on
    if isinstance(event, Revoked):
        return event.revoked_on
    return event.refused_on


def _hearing_problem(case: Case, event: _Answer) -> str | None:
    proposal = case.proposal
    assert proposal is not None  # REVOCATION_PROPOSED has a proposal
    day = _answer_day(event)
    if day < proposal.proposed_on:
        return f"{day.isoformat()} is before the proposal of {proposal.proposed_on.isoformat()}"
    if isinstance(event, RevocationRefused):
        return None
    request = case.hearing_request
    if isinstance(event, StatementReceived):
        if event.hearing_requested and request is not None:
            return f"a hearing was already requested on {request.received_on.isoformat()}"
        if event.hearing_requested and event.received_on > proposal.statement_due:
            return (
                f"the statement window ended on {proposal.statement_due.isoformat()}: a "
                "hearing can no longer be requested"
            )
        return None
    if isinstance(event, HearingHeld):
        if request is None:
            return "no hearing was requested"
        if case.hearing is not None:
            return f"the hearing was already held on {case.hearing.held_on.isoformat()}"
        if event.held_on < request.received_on:
            return (
                f"{event.held_on.isoformat()} is before the request of "
                f"{request.received_on.isoformat()}"
            )
        return None
    return _revocation_problem(case, proposal, event)


def _revocation_problem(case: Case, proposal: RevocationProposed, event: Revoked) -> str | None:
    """The procedure before a revocation: the window answered or elapsed, the hearing held."""
    if event.statement_due != proposal.statement_due:
        return (
            f"the proposal's statement window ends on {proposal.statement_due.isoformat()}, "
            f"not {event.statement_due.isoformat()}"
        )
    if event.statements != tuple(done.text for done in case.statements):
        return "the statements must be those received on the proposal"
    request = case.hearing_request
    if request is not None and case.hearing is None:
        return f"a hearing was requested on {request.received_on.isoformat()} and has not been held"
    heard = None if case.hearing is None else case.hearing.summary
    if event.hearing != heard:
        return "the hearing must be the one held on the proposal"
    return None


def _record_problem(case: Case, record: CreditRecord) -> str | None:
    if case.credit_record is not None:
        return f"the credit record {case.credit_record.record_id!r} is already created"
    revoked = case.revocation
    assert isinstance(revoked, Revoked)  # REVOKED
    if record.subject != case.applicant.identifier:
        return (
            f"the record is about {record.subject!r}, not the applicant "
            f"{case.applicant.identifier!r}"
        )
    if record.decided_on != revoked.revoked_on:
        return (
            f"the record is decided on {record.decided_on.isoformat()}, not on the "
            f"revocation day {revoked.revoked_on.isoformat()}"
        )
    return None


def _closing_problem(case: Case) -> str | None:
    owed = case.outstanding
    if owed:
        return f"deferred materials are still owed: {_codes_text(owed)}"
    if not (case.verification_exempt or case.verification_met):
        return "the commitment has not been verified as kept"
    return None


def _supply_problem(case: Case, code: str) -> str | None:
    assert case.plan is not None  # every state that allows supplying has a plan
    try:
        line = case.plan.line(code)
    except UnknownMaterial:
        return f"the material plan has no material {code!r}"
    if line.disposition is Disposition.MISSING:
        return None
    if line.disposition is not Disposition.DEFERRED:
        return f"material {code!r} is {line.disposition.value}: there is nothing to supply"
    earlier = next((event for event in case.supplied if event.code == code), None)
    if earlier is not None:
        return f"material {code!r} was already supplied on {earlier.supplied_on.isoformat()}"
    return None


def _keep(case: Case, event: Any) -> Case:
    return case


def _credit(case: Case, event: CreditChecked) -> Case:
    return attrs.evolve(case, credit=event)


def _licences(case: Case, event: LicencesLookedUp) -> Case:
    return attrs.evolve(case, licence_lookup=event)


def _decided(case: Case, event: RouteDecided) -> Case:
    return attrs.evolve(case, state=CaseState.DECIDED, decision=event.decision, plan=event.plan)


def _chosen(case: Case, event: RouteChosen) -> Case:
    return attrs.evolve(
        case, state=CaseState.DECIDED, decision=event.decision, plan=event.plan, commitment=None
    )


def _signed(case: Case, event: CommitmentSigned) -> Case:
    return attrs.evolve(case, state=CaseState.COMMITTED, commitment=event.commitment)


def _accepted(case: Case, event: Accepted) -> Case:
    return attrs.evolve(
        case,
        state=CaseState.ACCEPTED,
        acceptance=event,
        promised_due=event.promised_due,
        statutory_due=event.statutory_due,
    )


def _supplied(case: Case, event: MaterialSupplied) -> Case:
    assert case.plan is not None
    line = case.plan.line(event.code)
    if line.disposition is Disposition.MISSING:
        submitted = MaterialLine(line.code, line.name, line.kind, Disposition.SUBMITTED, "provided")
        lines = tuple(submitted if old.code == line.code else old for old in case.plan.lines)
        return attrs.evolve(
            case, plan=attrs.evolve(case.plan, lines=lines), supplied=(*case.supplied, event)
        )
    return attrs.evolve(case, supplied=(*case.supplied, event))


def _paused(case: Case, event: ClockPaused) -> Case:
    return attrs.evolve(case, pause=event)


def _resumed_clock(case: Case, event: ClockResumed) -> Case:
    return attrs.evolve(
        case,
        pause=None,
        paused_working_days=case.paused_working_days + event.working_days,
        promised_due=event.promised_due,
        statutory_due=event.statutory_due,
    )


def _suspended(case: Case, event: Suspended) -> Case:
    return attrs.evolve(case, state=CaseState.SUSPENDED, suspension=event)


def _resumed(case: Case, event: Resumed) -> Case:
    return attrs.evolve(case, state=CaseState.ACCEPTED, suspension=None)


def _issued(case: Case, event: LicenceIssued) -> Case:
    return attrs.evolve(
        case, state=CaseState.ISSUED, licence=event, supplied_before_licence=len(case.supplied)
    )


def _closed(state: CaseState) -> Callable[[Case, Any], Case]:
    def fold(case: Case, event: Refused | Withdrawn | Returned) -> Case:
        return attrs.evolve(case, state=state, closure=event, pause=None)

    return fold


def _verified(case: Case, event: VerificationRecorded) -> Case:
    return attrs.evolve(
        case,
        verifications=(*case.verifications, event),
        verification_met=event.outcome is VerificationOutcome.FULFILLED,
    )


def _reported(case: Case, event: DeferredMaterialOverdue) -> Case:
    return attrs.evolve(case, overdue_materials=(*case.overdue_materials, *event.materials))


def _ordered(case: Case, event: RectificationOrdered) -> Case:
    return attrs.evolve(
        case, state=CaseState.RECTIFYING, rectification=event, rectification_failure=None
    )


def _met(case: Case, event: RectificationMet) -> Case:
    assert case.rectification is not None
    met = case.verification_met or case.rectification.outcome in (
        VerificationOutcome.UNFULFILLED,
        VerificationOutcome.FALSE_COMMITMENT,
    )
    return attrs.evolve(case, state=CaseState.ISSUED, verification_met=met)


def _failed(case: Case, event: RectificationFailed) -> Case:
    return attrs.evolve(case, rectification_failure=event)


def _proposed(case: Case, event: RevocationProposed) -> Case:
    return attrs.evolve(
        case, state=CaseState.REVOCATION_PROPOSED, proposal=event, statements=(), hearing=None
    )


def _stated(case: Case, event: StatementReceived) -> Case:
    return attrs.evolve(case, statements=(*case.statements, event))


def _heard(case: Case, event: HearingHeld) -> Case:
    return attrs.evolve(case, hearing=event)


def _revoked(case: Case, event: Revoked) -> Case:
    return attrs.evolve(case, state=CaseState.REVOKED, revocation=event)


def _kept(case: Case, event: RevocationRefused) -> Case:
    return attrs.evolve(case, state=CaseState.REVOCATION_REFUSED, revocation=event)


def _recorded(case: Case, event: CreditRecordCreated) -> Case:
    return attrs.evolve(case, credit_record=event.record)


def _closed_verified(case: Case, event: Closed) -> Case:
    return attrs.evolve(case, state=CaseState.CLOSED, closed=event)


_S = CaseState
_BEFORE_ACCEPTANCE = frozenset({_S.DECIDED, _S.COMMITTED})
_SUPPLYING = frozenset(
    {_S.DECIDED, _S.COMMITTED, _S.ACCEPTED, _S.SUSPENDED, _S.ISSUED, _S.RECTIFYING}
)
_VERIFYING = frozenset({_S.ISSUED, _S.CLOSED})
_PROPOSED = frozenset({_S.REVOCATION_PROPOSED})

# Per event type: the states it may follow, and how it changes the case. A new event type
# is one line here plus its fold function.
_FOLD: Mapping[type[Any], tuple[frozenset[CaseState], Callable[[Case, Any], Case]]] = {
    CaseSubmitted: (frozenset(), _keep),
    CreditChecked: (frozenset({_S.SUBMITTED}), _credit),
    LicencesLookedUp: (frozenset({_S.SUBMITTED}), _licences),
    RouteDecided: (frozenset({_S.SUBMITTED}), _decided),
    RouteChosen: (_BEFORE_ACCEPTANCE, _chosen),
    CommitmentSigned: (frozenset({_S.DECIDED}), _signed),
    Accepted: (_BEFORE_ACCEPTANCE, _accepted),
    MaterialSupplied: (_SUPPLYING, _supplied),
    ClockPaused: (frozenset({_S.ACCEPTED}), _paused),
    ClockResumed: (frozenset({_S.ACCEPTED}), _resumed_clock),
    Suspended: (frozenset({_S.ACCEPTED}), _suspended),
    Resumed: (frozenset({_S.SUSPENDED}), _resumed),
    LicenceIssued: (frozenset({_S.ACCEPTED}), _issued),
    Refused: (frozenset({_S.ACCEPTED}), _closed(_S.REFUSED)),
    Withdrawn: (_IN_PROGRESS, _closed(_S.WITHDRAWN)),
    Returned: (frozenset({_S.SUSPENDED}), _closed(_S.RETURNED)),
    VerificationRecorded: (_VERIFYING, _verified),
    DeferredMaterialOverdue: (frozenset({_S.ISSUED}), _reported),
    RectificationOrdered: (_VERIFYING, _ordered),
    RectificationMet: (frozenset({_S.RECTIFYING}), _met),
    RectificationFailed: (frozenset({_S.RECTIFYING}), _failed),
    RevocationProposed: (frozenset({_S.ISSUED, _S.CLOSED, _S.RECTIFYING}), _proposed),
    StatementReceived: (_PROPOSED, _stated),
    HearingHeld: (_PROPOSED, _heard),
    Revoked: (_PROPOSED, _revoked),
    RevocationRefused: (_PROPOSED, _kept),
    CreditRecordCreated: (frozenset({_S.REVOKED}), _recorded),
    Closed: (frozenset({_S.ISSUED}), _closed_verified),
}

ACTIONS: Mapping[str, frozenset[CaseState]] = MappingProxyType(
    {
        "accept": _BEFORE_ACCEPTANCE,
        "choose_standard": _BEFORE_ACCEPTANCE,
        "decide_revocation": _PROPOSED,
        "hold_hearing": _PROPOSED,
        "issue": frozenset({_S.ACCEPTED}),
        "pause_clock": frozenset({_S.ACCEPTED}),
        "receive_statement": _PROPOSED,
        "record_verification": _VERIFYING,
        "rectification_result": frozenset({_S.RECTIFYING}),
        "refuse": frozenset({_S.ACCEPTED}),
        "resume_clock": frozenset({_S.ACCEPTED}),
        "sign_commitment": frozenset({_S.DECIDED}),
        "supply_material": _SUPPLYING,
        "withdraw": _IN_PROGRESS,
    }
)
"""The states in which each action may be attempted (further checks follow in the action)."""

# --- transitions ----------------------------------------------------------------------------


def _now(now: dt.datetime) -> dt.date:
    _raise_if("now", _aware("now", now))
    return now.date()


def _illegal(case: Case, action: str, detail: str) -> IllegalTransition:
    return IllegalTransition(case.case_id, case.state.name, action, detail)


def _expect(case: Case, action: str) -> tuple[Decision, MaterialPlan]:
    states = ACTIONS[action]
    if case.state not in states:
        raise _illegal(case, action, _allowed(states))
    # Every state that allows an action comes after the route was decided.
    assert case.decision is not None
    assert case.plan is not None
    return case.decision, case.plan


def _same_item(case: Case, item: ApprovalItem) -> None:
    if (item.code, item.valid_from) != (case.item_code, case.item_valid_from):
        raise DecisionMismatch(item.code, item.valid_from, case.item_code, case.item_valid_from)


def _codes_text(lines: Iterable[MaterialLine]) -> str:
    return ", ".join(line.code for line in lines)


def licence_reference(case_id: str) -> str:
    """The licence number derived from a case id: ``"XK-" + case_id`` (no randomness).

    Give :func:`issue` a ``reference`` of your own where the city numbers its licences.
    """
    return f"XK-{case_id}"


def filing_reference(case_id: str) -> str:
    """The filing number derived from a case id: ``"BA-" + case_id`` (备案, no randomness).

    A filing (备案) is not a licence, so it does not get a licence number.
    """
    return f"BA-{case_id}"


_NO_PROJECT = ProjectFacts()


def submit(
    *,
    case_id: str,
    city: str,
    item: ApprovalItem,
    applicant: Applicant,
    credit: CreditEvidence | CreditLookupFailure | None,
    policy: Policy | PolicySnapshot,
    calendar: WorkingCalendar,
    now: dt.datetime,
    project: ProjectFacts = _NO_PROJECT,
    provided: Iterable[str] = (),
    licences: Iterable[LicenceHolding] = (),
    licence_failure: str | None = None,
    choose_standard: bool = False,
    idempotency_key: str | None = None,
) -> tuple[CaseEvent, ...]:
    """A new case: ``CaseSubmitted``, ``CreditChecked``, ``LicencesLookedUp``, ``RouteDecided``.

    :param case_id: the case id (the event stream's name).
    :param city: the administrative division code of the city or district.
    :param item: the item version in force on the submission day.
    :param credit: what the credit source returned, a lookup failure, or None if it was
        not asked (see :func:`creditcommit.decide`).
    :param licences: what the e-licence store holds for the applicant.
    :param licence_failure: what went wrong if the store could not answer: then nothing is
        retrieved and the materials are demanded.
    :param choose_standard: the applicant chose the standard route at once.
    :param idempotency_key: the caller's key for this submission.
    :raises UnknownMaterial: ``provided`` names a material the item does not list.
    :raises NoValueInForce: the item version or the policy is not in force on the day.
    :raises InvalidValue: a blank case id, a city that is not a division code, ...
    """
    day = _now(now)
    given = _codes(provided)
    holdings = tuple(licences)
    if licence_failure is not None and holdings:
        raise InvalidValue(
            "LicencesLookedUp",
            [Problem("holdings", "a failed look-up retrieves nothing: expected no holdings")],
        )
    submitted = CaseSubmitted(
        at=now,
        case_id=case_id,
        city=city,
        item_code=item.code,
        item_valid_from=item.valid_from,
        applicant=applicant,
        project=project,
        provided=given,
        idempotency_key=idempotency_key,
    )
    checked = CreditChecked(at=now, outcome=credit)
    looked_up = LicencesLookedUp(at=now, holdings=holdings, failure=licence_failure)
    decision = decide(
        item=item,
        applicant=applicant,
        evidence=credit,
        policy=policy,
        on=day,
        project=project,
        choose_standard=choose_standard,
    )
    plan = plan_materials(item, decision, given, holdings, on=day, calendar=calendar)
    return (submitted, checked, looked_up, RouteDecided(at=now, decision=decision, plan=plan))


def choose_standard(
    case: Case,
    item: ApprovalItem,
    policy: Policy | PolicySnapshot,
    calendar: WorkingCalendar,
    now: dt.datetime,
) -> tuple[CaseEvent, ...]:
    """The applicant takes the standard route instead: ``RouteChosen``.

    Allowed before acceptance, also after signing (the commitment then lapses). The route
    is decided again as of the original decision day, with the applicant's choice among the
    reasons; the plan counts every material supplied so far as submitted.
    """
    action = "choose_standard"
    decision, _ = _expect(case, action)
    _now(now)
    _same_item(case, item)
    if not decision.route.is_commitment:
        raise _illegal(case, action, "the case is already on the standard route")
    day = decision.decided_on
    standard = decide(
        item=item,
        applicant=case.applicant,
        evidence=case.evidence,
        policy=policy,
        on=day,
        project=case.submission.project,
        choose_standard=True,
    )
    given = {*case.submission.provided, *(event.code for event in case.supplied)}
    holdings = () if case.licence_lookup is None else case.licence_lookup.holdings
    plan = plan_materials(item, standard, given, holdings, on=day, calendar=calendar)
    return (RouteChosen(at=now, decision=standard, plan=plan),)


def sign_commitment(
    case: Case, signed: SignedCommitment, now: dt.datetime
) -> tuple[CaseEvent, ...]:
    """Record the signed commitment letter: ``CommitmentSigned``.

    Only on a commitment route, while the route is decided; the letter must be drawn up for
    this case's applicant and decision, and its text must match its digest.
    """
    action = "sign_commitment"
    decision, _ = _expect(case, action)
    _now(now)
    if not decision.route.is_commitment:
        raise _illegal(case, action, "the standard route takes no commitment")
    terms = signed.letter.terms
    if terms.applicant.identifier != case.applicant.identifier:
        raise _illegal(
            case,
            action,
            f"the letter is for applicant {terms.applicant.identifier!r}, not the case's "
            f"applicant {case.applicant.identifier!r}",
        )
    if terms.decision != decision:
        raise _illegal(
            case,
            action,
            "the letter was drawn up for another decision than the case's "
            f"({terms.decision.route.name} route of {terms.decision.decided_on.isoformat()})",
        )
    if not signed.intact():
        raise _illegal(case, action, "the signed text does not match its SHA-256 digest")
    return (CommitmentSigned(at=now, commitment=signed),)


def accept(
    case: Case,
    item: ApprovalItem,
    calendar: WorkingCalendar,
    now: dt.datetime,
    *,
    licence_valid_until: dt.date | None = None,
) -> tuple[CaseEvent, ...]:
    """Accept the application (受理): ``Accepted``, and on 先证后核 also ``LicenceIssued``.

    Nothing may be missing from the plan, and on a commitment route the commitment must be
    signed. The promised and statutory due dates are counted in working days from the
    acceptance day (not counted itself). On a commitment route an item decided on the spot
    (``on_the_spot``) gets its licence at acceptance (licence first, verify later);
    ``licence_valid_until`` is then its last day of validity. A filing (备案) is complete
    when the information is: on every route it is recorded at acceptance, with a filing
    number (:func:`filing_reference`).
    """
    action = "accept"
    decision, plan = _expect(case, action)
    day = _now(now)
    _same_item(case, item)
    if not plan.acceptable:
        raise _illegal(case, action, f"materials are missing: {_codes_text(plan.missing)}")
    if decision.route.is_commitment and case.commitment is None:
        raise _illegal(case, action, "the commitment letter is not signed yet")
    accepted = Accepted(
        at=now,
        accepted_on=day,
        promised_due=calendar.add_working_days(day, item.promised_days),
        statutory_due=calendar.add_working_days(day, item.statutory_days),
    )
    if item.is_filing:
        return (
            accepted,
            LicenceIssued(at=now, reference=filing_reference(case.case_id), issued_on=day),
        )
    if not (decision.route.is_commitment and item.on_the_spot):
        return (accepted,)
    licence = LicenceIssued(
        at=now,
        reference=licence_reference(case.case_id),
        issued_on=day,
        valid_until=licence_valid_until,
    )
    return (accepted, licence)


def issue(
    case: Case,
    now: dt.datetime,
    *,
    reference: str | None = None,
    valid_until: dt.date | None = None,
) -> tuple[CaseEvent, ...]:
    """Grant and issue the licence (准予许可): ``LicenceIssued``.

    Only an accepted case whose clock is running. On the standard route every material must
    be in; on a commitment route outstanding deferred materials do not block, they become
    the holder's obligations. ``reference`` defaults to :func:`licence_reference`.
    """
    action = "issue"
    decision, plan = _expect(case, action)
    day = _now(now)
    if case.pause is not None:
        raise _illegal(case, action, _paused_detail(case.pause))
    if not decision.route.is_commitment:
        owed = (*plan.missing, *case.outstanding)
        if owed:
            raise _illegal(
                case,
                action,
                f"on the standard route every material must be in; owed: {_codes_text(owed)}",
            )
    return (
        LicenceIssued(
            at=now,
            reference=licence_reference(case.case_id) if reference is None else reference,
            issued_on=day,
            valid_until=valid_until,
        ),
    )


def _paused_detail(pause: ClockPaused) -> str:
    return (
        f"the clock is paused since {pause.paused_on.isoformat()} for "
        f"{pause.reason.value} ({pause.reason.label_zh}); resume it first"
    )


def refuse(case: Case, reason: str, now: dt.datetime) -> tuple[CaseEvent, ...]:
    """Refuse the licence (不予许可) with a reason: ``Refused``. Only an accepted case."""
    action = "refuse"
    _expect(case, action)
    _now(now)
    if case.pause is not None:
        raise _illegal(case, action, _paused_detail(case.pause))
    return (Refused(at=now, reason=reason),)


def supply_material(case: Case, code: str, now: dt.datetime) -> tuple[CaseEvent, ...]:
    """A material reaches the agency today: ``MaterialSupplied`` (and maybe ``Resumed``).

    Either a deferred material not yet supplied (recorded as on time or late against its due
    date, also after the licence is issued) or a material missing before acceptance (which
    may make the plan acceptable). Supplying, within the grace period, the last of the
    materials a suspension is about also resumes the case; after the grace period the
    material is recorded, and the next :func:`due` returns the case. Under a rectification
    order for overdue materials, supplying the last of them by the deadline also gives
    ``RectificationMet`` (and ``Closed`` when nothing else is owed).
    """
    action = "supply_material"
    _, plan = _expect(case, action)
    day = _now(now)
    problem = _supply_problem(case, code)
    if problem is not None:
        raise _illegal(case, action, problem)
    line = plan.line(code)
    due_day = line.due if line.disposition is Disposition.DEFERRED else None
    supplied = MaterialSupplied(
        at=now,
        code=code,
        supplied_on=day,
        due=due_day,
        on_time=due_day is None or day <= due_day,
    )
    if case.state is CaseState.RECTIFYING:
        return (supplied, *_rectified_by_supply(case.apply(supplied), now, day))
    suspension = case.suspension
    if suspension is None or day > suspension.grace_ends:
        # After the grace period only the tick decides: the case is to be returned.
        return (supplied,)
    if _still_owed(case.apply(supplied), suspension, day):
        return (supplied,)
    return (supplied, Resumed(at=now, resumed_on=day))


def pause_clock(
    case: Case,
    reason: PauseReason,
    now: dt.datetime,
    *,
    note: str | None = None,
    reference: LegalReference = ART_45,
) -> tuple[CaseEvent, ...]:
    """Stop the time limits for a procedure of 行政许可法 Art 45: ``ClockPaused``."""
    action = "pause_clock"
    _expect(case, action)
    day = _now(now)
    if case.pause is not None:
        raise _illegal(
            case, action, f"the clock is already paused since {case.pause.paused_on.isoformat()}"
        )
    return (ClockPaused(at=now, paused_on=day, reason=reason, reference=reference, note=note),)


def resume_clock(case: Case, now: dt.datetime, calendar: WorkingCalendar) -> tuple[CaseEvent, ...]:
    """Restart the time limits: ``ClockResumed``, with both due dates moved on.

    The working days paused are those after the pause day up to and including today;
    the promised and the statutory due dates move on by that many working days.
    """
    action = "resume_clock"
    _expect(case, action)
    day = _now(now)
    pause = case.pause
    if pause is None:
        raise _illegal(case, action, "the clock is not paused")
    if day < pause.paused_on:
        raise _illegal(
            case, action, f"{day.isoformat()} is before the pause of {pause.paused_on.isoformat()}"
        )
    assert case.promised_due is not None  # accepted
    assert case.statutory_due is not None
    paused = calendar.working_days_between(pause.paused_on, day)
    return (
        ClockResumed(
            at=now,
            resumed_on=day,
            working_days=paused,
            promised_due=calendar.add_working_days(case.promised_due, paused),
            statutory_due=calendar.add_working_days(case.statutory_due, paused),
        ),
    )


def withdraw(case: Case, now: dt.datetime, reason: str | None = None) -> tuple[CaseEvent, ...]:
    """The applicant withdraws the application (撤回): ``Withdrawn``. Any state in progress."""
    action = "withdraw"
    if not case.state.in_progress:
        raise _illegal(case, action, _allowed(ACTIONS[action]))
    _now(now)
    return (Withdrawn(at=now, reason=reason),)


def due(
    case: Case,
    now: dt.datetime,
    calendar: WorkingCalendar,
    grace_working_days: int = DEFAULT_GRACE_WORKING_DAYS,
    *,
    policy: Policy | PolicySnapshot | None = None,
    item: ApprovalItem | None = None,
) -> tuple[CaseEvent, ...]:
    """The events a periodic tick must append for ``case`` at ``now`` (often none).

    * accepted, not yet issued, with a deferred material past its due date → ``Suspended``,
      the grace period ending ``grace_working_days`` working days after the earliest due
      date among the overdue materials;
    * suspended, one of the materials the suspension is about not supplied by the end of the
      grace period, and that day past → ``Returned`` (退件), even if it came later;
    * suspended, every material the suspension is about supplied → ``Resumed`` (a material
      that fell overdue meanwhile then gets a suspension and grace period of its own).

    A tick that runs late catches up: it may return ``Suspended`` and ``Returned`` together.
    After the licence is issued an overdue deferred material is a broken obligation for
    supervision, not a suspension. With a ``policy`` the tick supervises a licence issued on
    commitment (without one it leaves such cases alone):

    * issued, deferred materials past their due date and not yet reported →
      ``DeferredMaterialOverdue`` and what the policy's ``revocation_rules`` say for
      ``DEFERRED_OVERDUE``: ``RectificationOrdered`` or ``RevocationProposed``;
    * issued, nothing owed and the commitment verified kept (or the item exempt) → ``Closed``;
    * rectifying, every material the order names supplied by its deadline →
      ``RectificationMet`` (and maybe ``Closed``);
    * rectifying, the deadline past and the rectification not met → ``RectificationFailed``
      and ``RevocationProposed``.

    Deciding a proposed revocation is an officer's action (:func:`decide_revocation`), never
    the tick's. Give the case's ``item``: for a filing (备案) or another item that is not a
    licence, an overdue material or a failed rectification is an order to correct and a
    fine under the item's own rule, never a revocation proposal (see
    :func:`~creditcommit.supervision.consequence`).
    """
    day = _now(now)
    if isinstance(grace_working_days, bool) or grace_working_days < 1:
        raise ValueError(f"grace_working_days must be at least 1, got {grace_working_days!r}")
    if policy is not None and case.state in _TICKED and _on_commitment(case):
        return _supervise(case, now, day, calendar, policy, item=item)
    found: list[CaseEvent] = []
    current = case
    # At most three steps (Resumed, Suspended, Returned); the bound guards the loop.
    for _ in range(4):
        event = _tick(current, now, day, calendar, grace_working_days)
        if event is None:
            break
        found.append(event)
        current = current.apply(event)
    return tuple(found)


def next_deadline(case: Case) -> dt.date | None:
    """The first day on which :func:`due` may return an event for ``case``; None: never.

    For every ``now`` on a day before it, ``due(case, now, ...)`` returns nothing, whatever
    the calendar, grace period and policy (a tick may skip the case until then). The
    clocks it reads: the due dates of deferred materials still owed (accepted, or issued on
    commitment and not yet reported), the end of a suspension's grace period, a
    rectification deadline. ``date.min`` when something is due at once: a suspension whose
    materials all arrived, an issued case that owes nothing any more, a rectification whose
    materials all arrived.
    """
    state = case.state
    if state is CaseState.ACCEPTED:
        return _day_after(line.due for line in case.outstanding if line.due is not None)
    if state is CaseState.SUSPENDED:
        suspension = case.suspension
        if suspension is None:
            return None
        if not _still_owed(case, suspension, dt.date.max):
            return dt.date.min  # resumed at the next tick
        return _day_after((suspension.grace_ends,))
    if state not in _TICKED or not _on_commitment(case):
        return None
    if state is CaseState.ISSUED:
        if _closing_problem(case) is None:
            return dt.date.min  # closed at the next tick
        owed = case.outstanding
        return _day_after(
            line.due
            for line in owed
            if line.due is not None and line.code not in case.overdue_materials
        )
    order = case.rectification
    if order is None or case.rectification_failure is not None:
        return None
    if order.materials:
        arrived = {event.code: event.supplied_on for event in case.supplied}
        if all(arrived.get(code, dt.date.max) <= order.deadline for code in order.materials):
            return dt.date.min  # met at the next tick
    return _day_after((order.deadline,))


def _day_after(days: Iterable[dt.date]) -> dt.date | None:
    """The day after the earliest of ``days`` (None for none, or for the last date there is)."""
    earliest = min(days, default=None)
    if earliest is None or earliest == dt.date.max:
        return None
    return earliest + dt.timedelta(days=1)


def _still_owed(case: Case, suspension: Suspended, by: dt.date) -> tuple[str, ...]:
    """The materials the suspension is about that were not supplied on or before ``by``."""
    arrived = {event.code for event in case.supplied if event.supplied_on <= by}
    return tuple(code for code in suspension.overdue if code not in arrived)


def _tick(
    case: Case, now: dt.datetime, day: dt.date, calendar: WorkingCalendar, grace: int
) -> CaseEvent | None:
    if case.state is CaseState.ACCEPTED:
        overdue = case.overdue(day)
        if not overdue:
            return None
        earliest = min(line.due for line in overdue if line.due is not None)
        return Suspended(
            at=now,
            suspended_on=day,
            overdue=tuple(line.code for line in overdue),
            grace_ends=calendar.add_working_days(earliest, grace),
        )
    suspension = case.suspension
    if case.state is not CaseState.SUSPENDED or suspension is None:
        return None
    ends = suspension.grace_ends
    lapsed = _still_owed(case, suspension, ends)
    if day > ends and lapsed:
        return Returned(
            at=now,
            reason=(
                f"容缺材料逾期未补齐，宽限期于{ends.isoformat()}届满，予以退件 (deferred "
                f"materials not supplied by the end of the grace period on "
                f"{ends.isoformat()}: {', '.join(lapsed)})"
            ),
            missing=lapsed,
        )
    if not _still_owed(case, suspension, day):
        return Resumed(at=now, resumed_on=day)
    return None


# --- supervision after the licence ----------------------------------------------------------

_TICKED = frozenset({CaseState.ISSUED, CaseState.RECTIFYING})


def _snapshot(policy: Policy | PolicySnapshot, day: dt.date, item_code: str) -> PolicySnapshot:
    # A whole policy gives the rules of the item code's place (rules limited to domains need
    # the item: pass ``policy.view(item=item)``, as the service does).
    if isinstance(policy, Policy):
        snapshot = policy.at(day, place=code_place(item_code) or policy.place)
    else:
        snapshot = policy
    if not snapshot.covers(day):
        raise NoValueInForce(f"policy snapshot {snapshot.version.name}", day)
    return snapshot


def _grounds(outcome: VerificationOutcome, after_rectification: bool) -> str:
    if outcome is VerificationOutcome.FALSE_COMMITMENT:
        text = "被许可人作出虚假承诺，以欺骗手段取得行政许可"
        english = "the licence was obtained by a false commitment"
    elif outcome is VerificationOutcome.DEFERRED_OVERDUE:
        text = "容缺材料逾期未补齐，不符合法定条件"
        english = "deferred materials were not supplied: the legal conditions are not met"
    else:
        text = "被许可人未履行承诺，不符合法定条件"
        english = "the commitment was not fulfilled: the legal conditions are not met"
    if after_rectification:
        text += "，经责令限期整改后仍未达到条件"
        english += ", and still not after the rectification ordered"
    return f"{text} ({english})"


def _proposal(
    outcome: VerificationOutcome,
    facts: str,
    snap: PolicySnapshot,
    calendar: WorkingCalendar,
    now: dt.datetime,
    *,
    after_rectification: bool = False,
) -> RevocationProposed:
    day = now.date()
    rule = snap.revocation_rules.rule(outcome)
    basis = outcome.legal_basis
    assert basis is not None  # an adverse outcome
    local = snap.references.get("revocation_rules")
    return RevocationProposed(
        at=now,
        proposed_on=day,
        outcome=outcome,
        facts=facts,
        grounds=_grounds(outcome, after_rectification),
        legal_basis=(basis,) if local is None else (basis, local),
        statement_due=calendar.add_working_days(day, snap.statement_window_working_days),
        record_kind=rule.record_kind,
        record_severity=rule.record_severity,
    )


def _consequence(
    outcome: VerificationOutcome,
    facts: str,
    snap: PolicySnapshot,
    calendar: WorkingCalendar,
    now: dt.datetime,
    *,
    materials: tuple[str, ...] = (),
    item: ApprovalItem | None = None,
) -> CaseEvent:
    """What an adverse outcome leads to, as an event.

    For a licence, what the policy's revocation rules say; for a filing or another item
    that is not a licence, an order to correct under the item's own rule.
    """
    day = now.date()
    rules = snap.revocation_rules
    if item is not None and item.kind is not ItemKind.LICENCE:
        return RectificationOrdered(
            at=now,
            ordered_on=day,
            outcome=outcome,
            facts=facts,
            deadline=calendar.add_working_days(day, rules.rectification_working_days),
            materials=materials,
            reference=consequence(item, outcome, rules).legal_basis,
        )
    if rules.action(outcome) is SupervisionAction.RECTIFY:
        return RectificationOrdered(
            at=now,
            ordered_on=day,
            outcome=outcome,
            facts=facts,
            deadline=calendar.add_working_days(day, rules.rectification_working_days),
            materials=materials,
            reference=snap.references.get("revocation_rules"),
        )
    return _proposal(outcome, facts, snap, calendar, now)


def _closing(case: Case, now: dt.datetime, day: dt.date) -> tuple[CaseEvent, ...]:
    """``Closed`` if ``case`` is issued on commitment and owes nothing any more."""
    if case.state is CaseState.ISSUED and _on_commitment(case) and _closing_problem(case) is None:
        return (Closed(at=now, closed_on=day),)
    return ()


def _failure(
    case: Case,
    findings: str,
    policy: Policy | PolicySnapshot,
    calendar: WorkingCalendar,
    now: dt.datetime,
    *,
    item: ApprovalItem | None = None,
) -> tuple[CaseEvent, ...]:
    day = now.date()
    order = case.rectification
    assert order is not None
    if item is not None and item.kind is not ItemKind.LICENCE:
        # Not a licence: nothing to revoke. The fine is an administrative penalty with a
        # procedure of its own (行政处罚法); the case records why it follows.
        basis = (
            order.reference
            or consequence(
                item, order.outcome, _snapshot(policy, day, case.item_code).revocation_rules
            ).legal_basis
        )
        text = (
            f"{findings}；逾期未改正，依照{cite(basis)}处以罚款（适用行政处罚程序），"
            f"{item.kind.label_zh}不予撤销 (not corrected in time: a fine under {basis}; "
            f"a {item.kind.value} is not revoked)"
        )
        return (RectificationFailed(at=now, failed_on=day, deadline=order.deadline, findings=text),)
    failed = RectificationFailed(at=now, failed_on=day, deadline=order.deadline, findings=findings)
    facts = f"{order.facts}；{findings}"
    proposal = _proposal(
        order.outcome,
        facts,
        _snapshot(policy, day, case.item_code),
        calendar,
        now,
        after_rectification=True,
    )
    return (failed, proposal)


def _rectified_by_supply(case: Case, now: dt.datetime, day: dt.date) -> tuple[CaseEvent, ...]:
    """``RectificationMet`` once the last material an order names arrives by its deadline."""
    order = case.rectification
    assert order is not None
    if not order.materials or case.rectification_failure is not None:
        return ()
    arrived = {event.code: event.supplied_on for event in case.supplied}
    if any(arrived.get(code, dt.date.max) > order.deadline for code in order.materials):
        return ()
    last = max(arrived[code] for code in order.materials)
    met = RectificationMet(
        at=now,
        met_on=last,
        findings="责令补齐的容缺材料已于期限内补齐 (the materials were supplied by the deadline)",
    )
    return (met, *_closing(case.apply(met), now, day))


def _supervise(
    case: Case,
    now: dt.datetime,
    day: dt.date,
    calendar: WorkingCalendar,
    policy: Policy | PolicySnapshot,
    *,
    item: ApprovalItem | None,
) -> tuple[CaseEvent, ...]:
    if case.state is CaseState.ISSUED:
        fresh = tuple(line for line in case.overdue(day) if line.code not in case.overdue_materials)
        if not fresh:
            return _closing(case, now, day)
        earliest = min(line.due for line in fresh if line.due is not None)
        codes = tuple(line.code for line in fresh)
        overdue = DeferredMaterialOverdue(at=now, overdue_on=day, materials=codes, due=earliest)
        facts = (
            f"容缺材料{', '.join(codes)}应于{earliest.isoformat()}前补齐，逾期未补 (deferred "
            f"materials {', '.join(codes)} were due by {earliest.isoformat()} and not supplied)"
        )
        snap = _snapshot(policy, day, case.item_code)
        outcome = VerificationOutcome.DEFERRED_OVERDUE
        event = _consequence(outcome, facts, snap, calendar, now, materials=codes, item=item)
        return (overdue, event)
    order = case.rectification
    assert order is not None  # RECTIFYING
    if case.rectification_failure is not None:
        return ()
    found = _rectified_by_supply(case, now, day)
    if found or day <= order.deadline:
        return found
    if order.materials:
        supplied = {event.code for event in case.supplied if event.supplied_on <= order.deadline}
        owed = ", ".join(code for code in order.materials if code not in supplied)
        findings = (
            f"整改期限{order.deadline.isoformat()}届满，容缺材料{owed}仍未补齐 (the deadline "
            f"passed with {owed} still not supplied)"
        )
    else:
        findings = (
            f"整改期限{order.deadline.isoformat()}届满，未见整改到位 (the deadline passed "
            "without the rectification recorded as met)"
        )
    return _failure(case, findings, policy, calendar, now, item=item)


def record_verification(
    case: Case,
    item: ApprovalItem,
    inspectors: Iterable[str],
    findings: str,
    outcome: VerificationOutcome,
    *,
    policy: Policy | PolicySnapshot,
    calendar: WorkingCalendar,
    now: dt.datetime,
    method: VerificationMethod | None = None,
) -> tuple[CaseEvent, ...]:
    """Record a verification of the commitment (核查) and apply the policy's rules.

    Returns ``VerificationRecorded`` and then: ``Closed`` for a fulfilled commitment when
    nothing else is owed; for an adverse outcome what the policy's ``revocation_rules`` say,
    ``RectificationOrdered`` (deadline ``rectification_working_days`` working days on) or
    ``RevocationProposed`` (statement window ``statement_window_working_days``). Allowed
    once the licence is issued on a commitment route, also after the case closed (a false
    commitment found later, e.g. by a 双随机 inspection). ``method`` defaults to the item's;
    an exempt item's later check must name the method used. For a filing (备案) or another
    item that is not a licence an adverse outcome is always ``RectificationOrdered`` under
    the item's own rule (e.g. 《企业投资项目核准和备案管理条例》第十九条), never a revocation.
    """
    action = "record_verification"
    _expect(case, action)
    day = _now(now)
    _same_item(case, item)
    if not _on_commitment(case):
        raise _illegal(case, action, "the standard route has no commitment to verify")
    assert case.licence is not None
    late = _not_before_licence(case.licence, day)
    if late is not None:
        raise _illegal(case, action, late)
    recorded = VerificationRecorded(
        at=now,
        verified_on=day,
        method=item.verification.method if method is None else method,
        inspectors=_names(inspectors),
        findings=findings,
        outcome=outcome,
    )
    if not outcome.adverse:
        return (recorded, *_closing(case.apply(recorded), now, day))
    snap = _snapshot(policy, day, case.item_code)
    return (recorded, _consequence(outcome, findings, snap, calendar, now, item=item))


def rectification_result(
    case: Case,
    met: bool,
    now: dt.datetime,
    *,
    policy: Policy | PolicySnapshot,
    calendar: WorkingCalendar,
    findings: str | None = None,
    item: ApprovalItem | None = None,
) -> tuple[CaseEvent, ...]:
    """Record whether the rectification ordered was met (整改到位) or not.

    Met: ``RectificationMet`` (and ``Closed`` when nothing else is owed); every material the
    order names must have been supplied. Not met: only after the deadline,
    ``RectificationFailed`` and ``RevocationProposed`` (行政许可法 Art 69, the grounds noting
    the failed rectification). The tick does the same when the deadline passes unmet. For
    a filing (备案) or another item that is not a licence (give ``item``), a failed
    correction is ``RectificationFailed`` alone, noting the fine its rule provides: nothing
    is revoked.
    """
    action = "rectification_result"
    _expect(case, action)
    day = _now(now)
    order = case.rectification
    assert order is not None  # RECTIFYING
    if case.rectification_failure is not None:
        raise _illegal(
            case,
            action,
            f"the rectification already failed on {case.rectification_failure.failed_on}",
        )
    if met:
        event = RectificationMet(at=now, met_on=day, findings=findings)
        problem = _rectification_problem(case, event)
        if problem is not None:
            raise _illegal(case, action, problem)
        return (event, *_closing(case.apply(event), now, day))
    if day <= order.deadline:
        raise _illegal(
            case,
            action,
            f"the rectification deadline {order.deadline.isoformat()} has not passed",
        )
    text = findings or (
        f"整改期限{order.deadline.isoformat()}届满，经核查仍未达到条件 (checked after the "
        "deadline: the conditions are still not met)"
    )
    return _failure(case, text, policy, calendar, now, item=item)


def receive_statement(
    case: Case, text: str, now: dt.datetime, *, hearing_requested: bool = False
) -> tuple[CaseEvent, ...]:
    """The holder's statement and defence (陈述、申辩) on the proposal: ``StatementReceived``.

    A statement may come after the window (the agency still hears it until it decides), but
    a hearing can only be requested within the window, and once.
    """
    action = "receive_statement"
    _expect(case, action)
    day = _now(now)
    event = StatementReceived(
        at=now, received_on=day, text=text, hearing_requested=hearing_requested
    )
    problem = _hearing_problem(case, event)
    if problem is not None:
        raise _illegal(case, action, problem)
    return (event,)


def hold_hearing(case: Case, summary: str, now: dt.datetime) -> tuple[CaseEvent, ...]:
    """The requested hearing (听证) was held today: ``HearingHeld``."""
    action = "hold_hearing"
    _expect(case, action)
    day = _now(now)
    event = HearingHeld(at=now, held_on=day, summary=summary)
    problem = _hearing_problem(case, event)
    if problem is not None:
        raise _illegal(case, action, problem)
    return (event,)


def decide_revocation(
    case: Case,
    now: dt.datetime,
    *,
    policy: Policy | PolicySnapshot,
    public_interest: bool = False,
    reason: str | None = None,
    authority: str | None = None,
    record_id: str | None = None,
    periods: Mapping[Severity, PublicityPeriod] | None = None,
) -> tuple[CaseEvent, ...]:
    """Decide the proposed revocation: ``Revoked`` + ``CreditRecordCreated``, or refuse it.

    Refused unless a revocation was proposed and the holder was heard: a statement
    received, or the statement window elapsed unanswered; a hearing requested must have been
    held. The decision follows the proposal: its grounds and legal basis, and the record it
    announced (kind and severity; ``periods`` by severity, by default those of the NDRC
    instrument in force today, :func:`~creditcommit.credit.publicity_periods`), decided
    today, about the applicant and the case's item, ``record_id`` defaulting to
    ``"<case id>-revoked"``.

    ``public_interest``: the revocation would seriously harm the public interest, so it is
    not made (行政许可法 Art 69 para 3): ``RevocationRefused`` with ``reason``, where the
    policy's ``public_interest_exception`` is on (otherwise refused as an action).
    """
    action = "decide_revocation"
    _expect(case, action)
    day = _now(now)
    proposal = case.proposal
    assert proposal is not None  # REVOCATION_PROPOSED
    if public_interest:
        snap = _snapshot(policy, day, case.item_code)
        if not snap.revocation_rules.public_interest_exception:
            raise _illegal(
                case,
                action,
                f"the policy in force on {day.isoformat()} does not provide the "
                "public-interest exception (行政许可法 Art 69 para 3)",
            )
        text = reason or (
            "撤销该行政许可可能对公共利益造成重大损害，依法不予撤销 (revocation would seriously "
            "harm the public interest)"
        )
        refused = RevocationRefused(at=now, refused_on=day, reason=text)
        problem = _hearing_problem(case, refused)
        if problem is not None:
            raise _illegal(case, action, problem)
        return (refused,)
    if not case.statements and day <= proposal.statement_due:
        raise _illegal(
            case,
            action,
            "no statement was received and the statement window runs until "
            f"{proposal.statement_due.isoformat()}",
        )
    revoked = Revoked(
        at=now,
        revoked_on=day,
        grounds=proposal.grounds,
        legal_basis=proposal.legal_basis,
        statement_due=proposal.statement_due,
        statements=tuple(event.text for event in case.statements),
        hearing=None if case.hearing is None else case.hearing.summary,
    )
    problem = _hearing_problem(case, revoked)
    if problem is not None:
        raise _illegal(case, action, problem)
    licence = case.licence
    assert licence is not None
    record = CreditRecord.with_default_periods(
        record_id=f"{case.case_id}-revoked" if record_id is None else record_id,
        subject=case.applicant.identifier,
        kind=proposal.record_kind,
        severity=proposal.record_severity,
        decided_on=day,
        authority=authority,
        legal_basis="；".join(str(reference) for reference in proposal.legal_basis),
        description=f"撤销行政许可{licence.reference}：{proposal.grounds}",
        # The licence item: 行政许可法 Arts 78-79 bar applying for this item again.
        item_code=case.item_code,
        periods=periods,
    )
    return (revoked, CreditRecordCreated(at=now, record=record))
