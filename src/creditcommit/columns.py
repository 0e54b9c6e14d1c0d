"""The columnar route decision: re-tiering a whole credit-registry export at once.

When a credit feed changes, a city re-tiers every subject it holds (millions) for an item.
:func:`decide_columns` takes the facts the rules read as arrays, one entry per applicant —
the evidence state, the blocking-record state, the major-project level and the grade rank —
and returns the route (:data:`ROUTE_CODES`) and the deciding reason code (the first reason
:func:`creditcommit.decide` would give) per applicant. The rules are compiled once per
(policy, day, item) into a lookup table over every combination of those facts, so the work
per applicant is a few array operations.

It needs numpy (``pip install 'creditcommit[columns]'``)::

    >>> import datetime as dt
    >>> import numpy as np
    >>> from creditcommit import Catalog, Policy
    >>> from creditcommit.columns import EvidenceState, RecordState, decide_columns
    >>> on = dt.date(2025, 6, 2)
    >>> item = Catalog.sample().item("321084-GGCSWSXK", on)
    >>> result = decide_columns(
    ...     Policy.sample(), on, item,
    ...     grades=np.array([0, 1, 3, -1], dtype=np.int8),
    ...     records=np.array([0, 0, 0, RecordState.BLOCKING], dtype=np.int8),
    ... )
    >>> result.route_names()
    ['conditional', 'conditional', 'standard', 'standard']
    >>> result.reason_names()[2:]
    ['credit-grade-below-threshold', 'blocking-record']

Routes are those :func:`~creditcommit.decide` gives (``eligible_route``; with
``chose_standard`` the route taken); an applicant a statutory re-application ban refuses
(:class:`~creditcommit.errors.ReapplicationBarred`) gets :data:`REFUSED`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from creditcommit.catalog import ApprovalItem
from creditcommit.decision import ProjectLevel, Route
from creditcommit.errors import InvalidValue, NoValueInForce, Problem
from creditcommit.policy import MajorProjectCredit, Policy, PolicySnapshot, _decider

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "ColumnDecisions",
    "EvidenceState",
    "LEVEL_ORDER",
    "REFUSED",
    "ROUTE_CODES",
    "RecordState",
    "decide_columns",
]

ROUTE_CODES: tuple[Route, ...] = (Route.STANDARD, Route.CONDITIONAL, Route.DIRECT)
"""Route code ``n`` is ``ROUTE_CODES[n]`` (the route's :attr:`~Route.favour`)."""

REFUSED = -1
"""The route code of an application a statutory re-application ban refuses."""

LEVEL_ORDER: tuple[ProjectLevel, ...] = tuple(ProjectLevel)
"""Major-project level code ``n`` is ``LEVEL_ORDER[n]``; ``-1`` is not a major project."""


class EvidenceState(enum.IntEnum):
    """What the credit source gave, as a code of the ``evidence`` column."""

    #: Evidence about the applicant, verified and fresh, on the policy's grade scale.
    USABLE = 0
    #: Nobody asked (``evidence=None``).
    MISSING = 1
    #: The look-up failed (a :class:`~creditcommit.credit.CreditLookupFailure`).
    FAILED = 2
    #: Evidence about another subject (or with another subject's records).
    WRONG_SUBJECT = 3
    #: The digest does not match the content.
    UNVERIFIED = 4
    #: Retrieved before the freshness window.
    STALE = 5
    #: Retrieved after the decision day.
    FUTURE = 6
    #: Usable evidence on another grade scale than the policy's.
    OTHER_SCALE = 7


class RecordState(enum.IntEnum):
    """What the applicant's credit records do on the day, as a code of the ``records`` column."""

    #: No record bars the commitment route.
    NONE = 0
    #: The first barring record bars it while active (``blocking-record``).
    BLOCKING = 1
    #: The first barring record bars it until credit repair (``blocking-record-until-repair``).
    UNTIL_REPAIR = 2
    #: A statutory re-application ban on this item runs: the application is refused.
    BANNED = 3


_UNUSABLE_CODES = {
    EvidenceState.WRONG_SUBJECT: "credit-evidence-wrong-subject",
    EvidenceState.UNVERIFIED: "credit-evidence-unverified",
    EvidenceState.STALE: "credit-evidence-stale",
    EvidenceState.FUTURE: "credit-evidence-future",
}
_RECORD_CODES = {
    RecordState.BLOCKING: "blocking-record",
    RecordState.UNTIL_REPAIR: "blocking-record-until-repair",
}


@attrs.frozen(eq=False)
class ColumnDecisions:
    """Routes and deciding reasons, one per applicant, as arrays.

    ``routes[i]`` is a code of :data:`ROUTE_CODES` (or :data:`REFUSED`); ``reasons[i]`` an
    index into ``reason_codes``.
    """

    routes: NDArray[np.int8]
    reasons: NDArray[np.int16]
    reason_codes: tuple[str, ...]

    def route_names(self) -> list[str]:
        """The routes as their values (``"conditional"``), ``"refused"`` for a ban."""
        names = [route.value for route in ROUTE_CODES]
        return [names[code] if code >= 0 else "refused" for code in self.routes.tolist()]

    def reason_names(self) -> list[str]:
        """The deciding reason codes."""
        return [self.reason_codes[index] for index in self.reasons.tolist()]


def _numpy() -> Any:
    try:
        import numpy  # noqa: PLC0415 - an optional dependency, imported when first used
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InvalidValue(
            "decide_columns",
            [Problem("numpy", "needs numpy: pip install 'creditcommit[columns]'")],
        ) from exc
    return numpy


@attrs.frozen
class _Table:
    routes: Any  # int8 array over every combination of the facts
    reasons: Any  # int16 array, indices into codes
    codes: tuple[str, ...]
    grades: int  # the scale's length


def _compile(snapshot: PolicySnapshot, item_reasons: Sequence[str]) -> _Table:
    """The rules of ``snapshot`` for one item, evaluated on every combination of facts.

    The order is :func:`creditcommit.decide`'s: rule 0 (bans, on usable evidence), rule 1
    (the item), rule 2 (major projects), rule 3 (evidence), rules 4–6 (records, grade).
    """
    np = _numpy()
    size = len(snapshot.grade_scale)
    threshold = snapshot.conditional_threshold.rank
    no_query = snapshot.major_project_credit is MajorProjectCredit.NO_QUERY
    unavailable = ROUTE_CODES.index(snapshot.credit_unavailable)
    levels = snapshot.major_project_levels
    codes: list[str] = []
    shape = (len(EvidenceState), len(RecordState), len(LEVEL_ORDER) + 1, size + 2)
    routes = np.zeros(shape, dtype=np.int8)
    reasons = np.zeros(shape, dtype=np.int16)
    for ev in EvidenceState:
        for rec in RecordState:
            for level_code in range(-1, len(LEVEL_ORDER)):
                level = None if level_code < 0 else LEVEL_ORDER[level_code]
                major = level is not None and level in levels
                # Grade column: -1 no grade, 0..size-1 a rank, size (or more) not on the scale.
                for grade in range(-1, size + 1):
                    route, code = _rule(
                        ev, rec, major, no_query, grade, size, threshold, unavailable, item_reasons
                    )
                    if code not in codes:
                        codes.append(code)
                    where = (ev, rec, level_code + 1, grade + 1)
                    routes[where] = route
                    reasons[where] = codes.index(code)
    return _Table(routes.ravel(), reasons.ravel(), tuple(codes), size)


def _rule(  # noqa: PLR0917 - the rules, in decide()'s order
    ev: EvidenceState,
    rec: RecordState,
    major: bool,
    no_query: bool,
    grade: int,
    size: int,
    threshold: int,
    unavailable: int,
    item_reasons: Sequence[str],
) -> tuple[int, str]:
    standard = 0
    on_scale = ev is EvidenceState.USABLE
    unknown_grade = on_scale and grade >= size
    usable = ev in {EvidenceState.USABLE, EvidenceState.OTHER_SCALE} and not unknown_grade
    if usable and rec is RecordState.BANNED:
        return REFUSED, "reapplication-ban"
    if item_reasons:
        return standard, item_reasons[0]
    if major and no_query:
        return ROUTE_CODES.index(Route.DIRECT), "major-project-no-query"
    if ev is EvidenceState.MISSING:
        return unavailable, "credit-evidence-missing"
    if ev is EvidenceState.FAILED:
        return unavailable, "credit-lookup-failed"
    if ev in _UNUSABLE_CODES:
        return standard, _UNUSABLE_CODES[ev]
    if unknown_grade:
        return standard, "credit-grade-unknown"
    if rec in _RECORD_CODES:
        return standard, "major-project-blocked" if major else _RECORD_CODES[rec]
    if major:
        return ROUTE_CODES.index(Route.DIRECT), "major-project-direct"
    if ev is EvidenceState.OTHER_SCALE:
        return standard, "credit-scale-mismatch"
    if grade < 0:
        return standard, "credit-grade-missing"
    if grade <= threshold:
        return ROUTE_CODES.index(Route.CONDITIONAL), "credit-grade-meets-threshold"
    return standard, "credit-grade-below-threshold"


_TABLES: dict[tuple[int, dt.date, str, dt.date], tuple[object, _Table]] = {}


def _table(policy: Policy | PolicySnapshot, on: dt.date, item: ApprovalItem) -> _Table:
    key = (id(policy), on, item.code, item.valid_from)
    found = _TABLES.get(key)
    if found is not None and found[0] is policy:
        return found[1]
    if on < item.valid_from or (item.valid_until is not None and on >= item.valid_until):
        raise NoValueInForce(f"approval item {item.code}", on)
    decider = _decider(policy, on)._plan(item)[1]
    reasons = [r.code for r in decider._item_reasons(item)]
    table = _compile(decider.snapshot, reasons)
    if len(_TABLES) >= 256:
        _TABLES.clear()
    _TABLES[key] = (policy, table)  # the entry keeps the policy alive: ids stay unique
    return table


def _column(np: Any, name: str, values: Any, count: int | None, fill: int) -> Any:
    if values is None:
        return None if count is None else np.full(count, fill, dtype=np.int8)
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise InvalidValue(
            "decide_columns",
            [Problem(name, f"expected a one-dimensional integer array, got {array.dtype}")],
        )
    return array


def decide_columns(
    policy: Policy | PolicySnapshot,
    on: dt.date,
    item: ApprovalItem,
    *,
    grades: Any,
    records: Any = None,
    major_levels: Any = None,
    evidence: Any = None,
    chose_standard: Any = None,
) -> ColumnDecisions:
    """Routes and deciding reason codes of many applicants for ``item`` on ``on``.

    :param grades: the grade's rank on the policy's scale (0 = best), ``-1`` for no grade,
        the scale's length (or more) for a grade the scale lacks.
    :param records: :class:`RecordState` codes (default: no barring record).
    :param major_levels: :data:`LEVEL_ORDER` codes, ``-1`` for no major project (default).
    :param evidence: :class:`EvidenceState` codes (default: usable evidence).
    :param chose_standard: booleans: the applicant chose the standard route.
    :raises InvalidValue: a column is not a one-dimensional integer array of the same
        length as ``grades``, or holds a code out of range.
    :raises NoValueInForce: the item or the policy is not in force on ``on``.
    """
    np = _numpy()
    table = _table(policy, on, item)
    grade = _column(np, "grades", grades, None, 0)
    count = len(grade)
    rec = _column(np, "records", records, count, 0)
    level = _column(np, "major_levels", major_levels, count, -1)
    ev = _column(np, "evidence", evidence, count, 0)
    problems = []
    for name, column, low, high in (
        ("grades", grade, -1, None),
        ("records", rec, 0, len(RecordState) - 1),
        ("major_levels", level, -1, len(LEVEL_ORDER) - 1),
        ("evidence", ev, 0, len(EvidenceState) - 1),
    ):
        if len(column) != count:
            problems.append(Problem(name, f"expected {count} values, got {len(column)}"))
        elif count and (column.min() < low or (high is not None and column.max() > high)):
            limit = "or more" if high is None else f"to {high}"
            problems.append(Problem(name, f"expected codes from {low} {limit}"))
    if problems:
        raise InvalidValue("decide_columns", problems)
    size = table.grades
    # The flat index of each applicant's combination of facts: small ints all the way.
    index = np.minimum(grade, size).astype(np.int16)
    index += 1
    index += ev.astype(np.int16) * (len(RecordState) * (len(LEVEL_ORDER) + 1) * (size + 2))
    index += rec.astype(np.int16) * ((len(LEVEL_ORDER) + 1) * (size + 2))
    index += (level.astype(np.int16) + 1) * (size + 2)
    routes = table.routes.take(index)
    reasons = table.reasons.take(index)
    if chose_standard is not None:
        chose = np.asarray(chose_standard, dtype=bool)
        if chose.shape != (count,):
            raise InvalidValue(
                "decide_columns",
                [Problem("chose_standard", f"expected {count} booleans, got {chose.shape}")],
            )
        routes[chose & (routes > 0)] = 0
    return ColumnDecisions(routes, reasons, table.codes)
