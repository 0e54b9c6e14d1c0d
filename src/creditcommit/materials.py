"""Material plans (材料清单): what happens to each application material of one application.

:func:`plan_materials` takes an approval item, the route decided for the application, the
codes of the materials the applicant provided and what the e-licence store (电子证照库) holds
for the applicant, and gives every material of the item a :class:`Disposition`: submitted,
retrieved from an e-licence, waived by the commitment, deferred with a due date, or missing.
The rules and their legal basis are described in ``docs/materials.md``. The function is pure:
the day and the working-day calendar are passed in.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Literal

import attrs

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, CommitmentMode, Material, MaterialKind
from creditcommit.decision import Decision, Route
from creditcommit.errors import DecisionMismatch, InvalidValue, Problem, UnknownMaterial

__all__ = [
    "Disposition",
    "LicenceHolding",
    "MaterialLine",
    "MaterialPlan",
    "plan_materials",
]

Language = Literal["zh", "en"]


class Disposition(enum.Enum):
    """What happens to one material of an application (材料处理方式)."""

    #: The applicant submitted it (申请人提交).
    SUBMITTED = "submitted"
    #: Retrieved from the applicant's e-licence (电子证照调取); not demanded from anyone.
    RETRIEVED = "retrieved"
    #: Replaced by the applicant's commitment (告知承诺免交).
    WAIVED = "waived"
    #: Accepted without it; it follows by a due date (容缺受理, 限期补交).
    DEFERRED = "deferred"
    #: Neither provided nor excused: the application is not complete (材料不全).
    MISSING = "missing"


def _problems_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


def _blank(path: str, value: str, what: str) -> list[Problem]:
    if not value.strip():
        return [Problem(path, f"expected a non-empty {what}, got {value!r}")]
    return []


def _a_date(path: str, value: object) -> list[Problem]:
    # A datetime is a date subclass but cannot be compared with dates.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return [Problem(path, f"expected a date, got {value!r}")]
    return []


def _zh_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@attrs.frozen
class LicenceHolding:
    """An e-licence (电子证照) the licence store holds for the applicant.

    ``licence_type`` matches :attr:`creditcommit.catalog.Material.licence_type`
    (``"business-licence"``); ``reference`` is the licence number or the store's identifier,
    recorded on the plan line; ``valid_until`` is the last day of validity (inclusive), or
    None if the licence does not expire.
    """

    licence_type: str
    reference: str
    valid_until: dt.date | None = None

    def __attrs_post_init__(self) -> None:
        problems = _blank("licence_type", self.licence_type, "licence type")
        problems += _blank("reference", self.reference, "licence reference")
        if self.valid_until is not None:
            problems += _a_date("valid_until", self.valid_until)
        _problems_if("LicenceHolding", problems)

    def is_valid_on(self, day: dt.date) -> bool:
        """Whether the licence is valid on ``day`` (no ``valid_until``, or ``day`` ≤ it)."""
        return self.valid_until is None or day <= self.valid_until


# Reason codes: stable, documented in docs/materials.md. The sentences are filled with the
# line's own fields ({due}, {ref}).
_REASONS: dict[str, tuple[str, str]] = {
    "provided": ("申请人已提交", "submitted by the applicant"),
    "e-licence": (
        "通过电子证照调取（{ref}），不再要求申请人提交",
        "retrieved from the e-licence store ({ref}); not demanded from the applicant",
    ),
    "commitment": (
        "以告知承诺代替提交",
        "replaced by the applicant's commitment (告知承诺)",
    ),
    "deferred": (
        "容缺受理，应于{due}前补交",
        "deferred (容缺受理); to be supplied by {due}",
    ),
    "required": (
        "主要材料（法定要件），须提交，不适用容缺或承诺免交",
        "principal (statutory) material: must be submitted, never waived or deferred",
    ),
    "standard-route": (
        "按一般程序办理，须提交",
        "standard route: must be submitted",
    ),
    "no-licence": (
        "电子证照库中无此证照，须提交",
        "the e-licence store holds no such licence: must be submitted",
    ),
    "licence-expired": (
        "电子证照库中的证照已过有效期，须提交",
        "the e-licence in the store is no longer valid: must be submitted",
    ),
}

_REASON_DISPOSITIONS: dict[str, frozenset[Disposition]] = {
    "provided": frozenset({Disposition.SUBMITTED}),
    "e-licence": frozenset({Disposition.RETRIEVED}),
    "commitment": frozenset({Disposition.WAIVED}),
    "deferred": frozenset({Disposition.DEFERRED}),
    "required": frozenset({Disposition.MISSING}),
    "standard-route": frozenset({Disposition.MISSING}),
    "no-licence": frozenset({Disposition.MISSING}),
    "licence-expired": frozenset({Disposition.MISSING}),
}

# The only kind of material each excusing disposition applies to.
_KIND_OF: dict[Disposition, MaterialKind] = {
    Disposition.RETRIEVED: MaterialKind.LICENCE,
    Disposition.WAIVED: MaterialKind.WAIVABLE,
    Disposition.DEFERRED: MaterialKind.DEFERRABLE,
}


@attrs.frozen
class MaterialLine:
    """One material of an application and what happens to it (材料清单中的一项).

    ``due`` is set only for :attr:`Disposition.DEFERRED` (the last day to supply it);
    ``licence_ref`` only for :attr:`Disposition.RETRIEVED` (the e-licence used); ``reason``
    is a stable code (``"e-licence"``, ``"required"``, ...) listed in ``docs/materials.md``,
    with sentences from :meth:`text`.
    """

    code: str
    name: str
    kind: MaterialKind
    disposition: Disposition
    reason: str
    due: dt.date | None = attrs.field(default=None, kw_only=True)
    licence_ref: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = _blank("code", self.code, "material code")
        problems += _blank("name", self.name, "material name")
        deferred = self.disposition is Disposition.DEFERRED
        if deferred and self.due is None:
            problems.append(Problem("due", "a deferred material needs a due date"))
        elif not deferred and self.due is not None:
            problems.append(
                Problem("due", f"only a deferred material has a due date, not a {self._what}")
            )
        elif self.due is not None:
            problems += _a_date("due", self.due)
        retrieved = self.disposition is Disposition.RETRIEVED
        if retrieved and self.licence_ref is None:
            problems.append(Problem("licence_ref", "a retrieved material needs the licence used"))
        elif not retrieved and self.licence_ref is not None:
            problems.append(
                Problem(
                    "licence_ref",
                    f"only a retrieved material has a licence reference, not a {self._what}",
                )
            )
        elif self.licence_ref is not None:
            problems += _blank("licence_ref", self.licence_ref, "licence reference")
        needed = _KIND_OF.get(self.disposition)
        if needed is not None and self.kind is not needed:
            problems.append(
                Problem(
                    "disposition",
                    f"only a {needed.value} material can be {self.disposition.value}, "
                    f"not a {self.kind.value} one",
                )
            )
        allowed = _REASON_DISPOSITIONS.get(self.reason)
        if allowed is None:
            problems.append(
                Problem("reason", f"unknown reason {self.reason!r} (known: {', '.join(_REASONS)})")
            )
        elif self.disposition not in allowed:
            problems.append(
                Problem(
                    "reason",
                    f"reason {self.reason!r} does not fit a {self.disposition.value} material",
                )
            )
        _problems_if("MaterialLine", problems)

    @property
    def _what(self) -> str:
        return f"{self.disposition.value} material"

    def text(self, lang: Language = "zh") -> str:
        """The reason as a sentence in ``lang``, e.g. ``"容缺受理，应于2025年10月13日前补交"``."""
        zh, en = _REASONS[self.reason]
        due = "" if self.due is None else (_zh_date(self.due) if lang == "zh" else str(self.due))
        return (zh if lang == "zh" else en).format(due=due, ref=self.licence_ref)


def _lines(values: Iterable[MaterialLine]) -> tuple[MaterialLine, ...]:
    return tuple(values)


@attrs.frozen
class MaterialPlan:
    """The material plan of one application (材料清单): one line per material of the item.

    ``lines`` are in catalogue order. :attr:`acceptable` is false while a material is
    missing; :attr:`reduced` counts the materials the applicant did not have to submit.
    """

    item_code: str
    route: Route
    day: dt.date
    lines: tuple[MaterialLine, ...] = attrs.field(converter=_lines)

    def __attrs_post_init__(self) -> None:
        problems = _blank("item_code", self.item_code, "item code")
        day_problems = _a_date("day", self.day)
        problems += day_problems
        if not self.lines:
            problems.append(Problem("lines", "expected at least one material line"))
        seen: dict[str, int] = {}
        for i, line in enumerate(self.lines):
            if line.code in seen:
                problems.append(
                    Problem(
                        f"lines[{i}].code",
                        f"duplicate material {line.code!r} (also lines[{seen[line.code]}])",
                    )
                )
            seen.setdefault(line.code, i)
            if not self.route.is_commitment and line.disposition in _COMMITMENT_ONLY:
                problems.append(
                    Problem(
                        f"lines[{i}].disposition",
                        f"nothing is {line.disposition.value} on the standard route",
                    )
                )
            if line.due is not None and not day_problems and line.due <= self.day:
                problems.append(
                    Problem(
                        f"lines[{i}].due",
                        f"due {line.due.isoformat()} is not after the plan's day "
                        f"{self.day.isoformat()}",
                    )
                )
        _problems_if("MaterialPlan", problems)

    def _with(self, disposition: Disposition) -> tuple[MaterialLine, ...]:
        return tuple(line for line in self.lines if line.disposition is disposition)

    @property
    def acceptable(self) -> bool:
        """True when no material is missing: the application can be accepted (受理)."""
        return not any(line.disposition is Disposition.MISSING for line in self.lines)

    @property
    def submitted(self) -> tuple[MaterialLine, ...]:
        """The lines the applicant submitted, in catalogue order."""
        return self._with(Disposition.SUBMITTED)

    @property
    def retrieved(self) -> tuple[MaterialLine, ...]:
        """The lines retrieved from an e-licence, in catalogue order."""
        return self._with(Disposition.RETRIEVED)

    @property
    def waived(self) -> tuple[MaterialLine, ...]:
        """The lines replaced by the commitment, in catalogue order."""
        return self._with(Disposition.WAIVED)

    @property
    def deferred(self) -> tuple[MaterialLine, ...]:
        """The lines accepted as deferred (容缺), in catalogue order."""
        return self._with(Disposition.DEFERRED)

    @property
    def missing(self) -> tuple[MaterialLine, ...]:
        """The lines still missing, in catalogue order."""
        return self._with(Disposition.MISSING)

    @property
    def reduced(self) -> int:
        """How many materials the applicant never has to submit: waived + retrieved.

        Deferred materials do not count: they are still owed, only later.
        """
        return len(self.waived) + len(self.retrieved)

    @property
    def latest_due(self) -> dt.date | None:
        """The last due date of the deferred materials, or None if nothing is deferred."""
        return max((line.due for line in self.lines if line.due is not None), default=None)

    def line(self, code: str) -> MaterialLine:
        """The line of material ``code``; :class:`UnknownMaterial` if the plan has none."""
        for line in self.lines:
            if line.code == code:
                return line
        raise UnknownMaterial(self.item_code, code)


_COMMITMENT_ONLY = frozenset({Disposition.WAIVED, Disposition.DEFERRED})


def _best_holdings(holdings: Iterable[LicenceHolding], day: dt.date) -> dict[str, LicenceHolding]:
    """Per licence type, the holding valid on ``day`` that lasts longest.

    Ties go to the smallest reference, so the choice does not depend on the order given.
    """
    candidates: dict[str, list[LicenceHolding]] = {}
    for holding in holdings:
        if holding.is_valid_on(day):
            candidates.setdefault(holding.licence_type, []).append(holding)
    return {kind: min(found, key=_longest_first) for kind, found in candidates.items()}


def _longest_first(holding: LicenceHolding) -> tuple[int, str]:
    until = dt.date.max if holding.valid_until is None else holding.valid_until
    return (-until.toordinal(), holding.reference)


def _line(
    material: Material,
    disposition: Disposition,
    reason: str,
    *,
    due: dt.date | None = None,
    licence_ref: str | None = None,
) -> MaterialLine:
    return MaterialLine(
        material.code,
        material.name,
        material.kind,
        disposition,
        reason,
        due=due,
        licence_ref=licence_ref,
    )


def plan_materials(
    item: ApprovalItem,
    route_or_decision: Route | Decision,
    provided: Iterable[str],
    licences: Iterable[LicenceHolding],
    *,
    on: dt.date,
    calendar: WorkingCalendar,
) -> MaterialPlan:
    """The material plan of an application for ``item`` made on day ``on``.

    :param item: the item version the application is made under.
    :param route_or_decision: the route taken, or the :class:`~creditcommit.decision.Decision`
        (its :attr:`~creditcommit.decision.Decision.route` is used).
    :param provided: codes of the materials the applicant submitted.
    :param licences: the e-licences the licence store holds for the applicant.
    :param on: the day of the application; deferral periods start after it.
    :param calendar: the working-day calendar for due dates.
    :raises UnknownMaterial: ``provided`` names a material the item does not list.
    :raises DecisionMismatch: the decision was made for another item or item version.
    :raises CalendarCoverageError: a due date would fall in a year the calendar does not
        cover (a due date is never guessed).
    :raises TypeError: ``provided`` is a single string rather than a collection of codes,
        or ``on`` is not a date.
    """
    if isinstance(route_or_decision, Decision):
        decision = route_or_decision
        if (decision.item_code, decision.item_valid_from) != (item.code, item.valid_from):
            raise DecisionMismatch(
                item.code, item.valid_from, decision.item_code, decision.item_valid_from
            )
        route = decision.route
    else:
        route = route_or_decision
    if isinstance(provided, str):
        raise TypeError(
            f"provided must be a collection of material codes, not the string {provided!r}"
        )
    if isinstance(on, dt.datetime) or not isinstance(on, dt.date):
        raise TypeError(f"on must be a datetime.date, got {on!r}")
    given = frozenset(provided)
    unknown = sorted(given - {material.code for material in item.materials})
    if unknown:
        raise UnknownMaterial(item.code, unknown[0])
    holdings = tuple(licences)
    held = _best_holdings(holdings, on)
    stored_types = {holding.licence_type for holding in holdings}
    mode = item.commitment_mode
    may_waive = route.is_commitment and mode is CommitmentMode.NOTIFY_AND_COMMIT
    may_defer = route.is_commitment and mode in _DEFERRING_MODES
    lines: list[MaterialLine] = []
    for material in item.materials:
        is_given = material.code in given
        kind = material.kind
        if kind is MaterialKind.LICENCE:
            assert material.licence_type is not None  # guaranteed for licence materials
            holding = held.get(material.licence_type)
            if holding is not None:
                lines.append(
                    _line(
                        material,
                        Disposition.RETRIEVED,
                        "e-licence",
                        licence_ref=holding.reference,
                    )
                )
            elif is_given:
                lines.append(_line(material, Disposition.SUBMITTED, "provided"))
            else:
                stale = material.licence_type in stored_types
                reason = "licence-expired" if stale else "no-licence"
                lines.append(_line(material, Disposition.MISSING, reason))
        elif is_given:
            lines.append(_line(material, Disposition.SUBMITTED, "provided"))
        elif kind is MaterialKind.REQUIRED:
            lines.append(_line(material, Disposition.MISSING, "required"))
        elif kind is MaterialKind.WAIVABLE and may_waive:
            lines.append(_line(material, Disposition.WAIVED, "commitment"))
        elif kind is MaterialKind.DEFERRABLE and may_defer:
            assert material.defer_days is not None  # guaranteed for deferrable materials
            # Never due after the promised time limit (容缺 rules), even if the catalogue says
            # more; the catalogue loader rejects that already, this keeps the rule here too.
            days = min(material.defer_days, item.promised_days)
            due = calendar.add_working_days(on, days)
            lines.append(_line(material, Disposition.DEFERRED, "deferred", due=due))
        else:
            # The catalogue guarantees that a waivable material's item is notify-and-commit
            # and a deferrable material's item is not 'none', so only the route is left.
            lines.append(_line(material, Disposition.MISSING, "standard-route"))
    return MaterialPlan(item.code, route, on, lines)


_DEFERRING_MODES = frozenset({CommitmentMode.NOTIFY_AND_COMMIT, CommitmentMode.DEFERRED_ONLY})
