"""Efficiency and supervision statistics (审批效能统计) over a period, and their rendering.

:func:`statistics` is pure (no clock, no store): it takes the cases (each the fold of its
events), the period ``[start, end]``, the catalogue, the working-day calendar and the
random-inspection draws of the period, and returns a :class:`Report` with one row of
:class:`Figures` per approval item, per department and in total, the draws per credit grade
(:class:`DrawFigures`) and the catalogue summary on ``end``: the figures a city reports,
such as the seed's "对43份申请材料进行缩减", "签订信用承诺书505次" and "办理时限由法定20个
工作日提速至即审即办".

Which date counts (``docs/report.md`` defines every figure):

- the report is **as of** ``end``: events recorded (``at``) after ``end`` are ignored, so a
  report for a past period does not change when later events arrive;
- a case belongs to the period by its **submission day** (the day of ``CaseSubmitted.at``):
  submissions, routes, commitments, materials, deferred materials, processing time and
  licences count the cases submitted in ``[start, end]``, as they stood on ``end``;
- supervision figures (verifications, overdue deferred materials, rectifications,
  revocations, credit records) count **events whose own day is in** ``[start, end]``,
  whenever the case was submitted.

:func:`render_text` (an aligned table in Chinese or English), :func:`render_json` (stable
keys; :meth:`Report.from_json` reads it back) and :func:`render_csv` (one row per scope)
give the same figures. Every output is deterministic.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

import attrs

from creditcommit._codec import (
    EVENT_TYPES,
    SNAPSHOT_FORMAT,
    SNAPSHOT_FORMAT_INLINE,
    Resolve,
    event_from_record,
)
from creditcommit._converter import parse_json, structure
from creditcommit.calendar import WorkingCalendar
from creditcommit.case import (
    Case,
    CaseEvent,
    CreditRecordCreated,
    DeferredMaterialOverdue,
    RectificationOrdered,
    Refused,
    Returned,
    Revoked,
    VerificationRecorded,
    Withdrawn,
)
from creditcommit.catalog import ApprovalItem, Catalog, CatalogSummary
from creditcommit.decision import Route
from creditcommit.draws import DrawRecord
from creditcommit.errors import DataFileError, InvalidValue, Problem
from creditcommit.materials import Disposition
from creditcommit.supervision import VerificationOutcome

__all__ = [
    "DrawFigures",
    "FIELDS",
    "FORMAT",
    "Figures",
    "GradeDraws",
    "ProjectedCase",
    "Report",
    "Row",
    "Scope",
    "render_csv",
    "render_json",
    "render_text",
    "statistics",
    "statistics_by_period",
]

FORMAT = "creditcommit-report/1"
"""The ``format`` key of :func:`render_json`; bumped if a key changes meaning or goes away."""

Language = Literal["zh", "en"]


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


def _join(path: str, part: str) -> str:
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def _count_problems(path: str, value: object) -> list[Problem]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [Problem(path, f"expected an integer, got {value!r}")]
    if value < 0:
        return [Problem(path, f"expected 0 or more, got {value}")]
    return []


# --------------------------------------------------------------------------- figures


@attrs.frozen(kw_only=True)
class Figures:
    """The figures of one scope (统计口径): an item, a department, or the total.

    Counts of the **cases submitted in the period**, as they stood on its last day:

    - ``submitted``: applications submitted (申请件数);
    - ``direct``, ``conditional``, ``standard``: the route taken (审批路径), the last one
      if the applicant chose the standard route later;
    - ``commitments_signed``: cases with a signed commitment letter (签订信用承诺书) still in
      force (a letter lapses when the applicant chooses the standard route);
    - ``accepted``: cases accepted (受理); for them, ``materials_reduced`` is the sum of
      :attr:`MaterialPlan.reduced <creditcommit.materials.MaterialPlan.reduced>` (waived by
      the commitment or retrieved from an e-licence: 申请材料缩减) and ``deferred`` the
      materials accepted as deferred (容缺), of which ``deferred_on_time``, ``deferred_late``
      and ``deferred_outstanding`` (not supplied by the period's end);
    - ``licences_issued`` (发证), ``refused`` (不予许可), ``withdrawn`` (撤回), ``returned``
      (退件), ``in_progress`` (在办): how the cases stood; they add up to ``submitted``;
    - ``processing_days_total`` and ``processing_days_max``: working days from acceptance to
      licence, time paused under 行政许可法 Art 45 not counted; ``immediate``: licences
      issued on the acceptance day (即审即办); ``within_statutory_limit``: licences issued by
      the statutory due date (法定时限); ``statutory_days_total``: the statutory limits of
      those cases, in working days.

    Counts of **events on a day in the period** (事中事后监管), whenever the case was
    submitted: ``verified_fulfilled``, ``verified_unfulfilled``, ``verified_false``
    (核查结果), ``deferred_overdue`` (容缺材料逾期未补齐), ``rectifications_ordered``
    (责令限期整改), ``revocations`` (撤销行政许可) and ``credit_records`` (失信记录 pushed).
    """

    submitted: int = 0
    direct: int = 0
    conditional: int = 0
    standard: int = 0
    commitments_signed: int = 0
    accepted: int = 0
    materials_reduced: int = 0
    deferred: int = 0
    deferred_on_time: int = 0
    deferred_late: int = 0
    deferred_outstanding: int = 0
    licences_issued: int = 0
    refused: int = 0
    withdrawn: int = 0
    returned: int = 0
    in_progress: int = 0
    processing_days_total: int = 0
    processing_days_max: int = 0
    immediate: int = 0
    within_statutory_limit: int = 0
    statutory_days_total: int = 0
    verified_fulfilled: int = 0
    verified_unfulfilled: int = 0
    verified_false: int = 0
    deferred_overdue: int = 0
    rectifications_ordered: int = 0
    revocations: int = 0
    credit_records: int = 0

    def __attrs_post_init__(self) -> None:
        _raise_if("Figures", _figures_problems(attrs.asdict(self)))

    @property
    def processing_days_mean(self) -> Fraction | None:
        """Mean working days from acceptance to licence; None without a licence."""
        return _mean(self.processing_days_total, self.licences_issued)

    @property
    def statutory_days_mean(self) -> Fraction | None:
        """Mean statutory limit of the licensed cases, in working days; None without one."""
        return _mean(self.statutory_days_total, self.licences_issued)

    def to_dict(self) -> dict[str, int]:
        """Every figure by name, in field order."""
        return {name: getattr(self, name) for name in FIELDS}


FIELDS: tuple[str, ...] = tuple(field.name for field in attrs.fields(Figures))
"""The names of the figures, in the order of :class:`Figures` (and of the CSV columns)."""

_MAXIMA = frozenset({"processing_days_max"})


def _mean(total: int, count: int) -> Fraction | None:
    return None if count == 0 else Fraction(total, count)


def _rounded(value: Fraction | None, places: int) -> Decimal | None:
    if value is None:
        return None
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _json_mean(value: Fraction | None) -> float | None:
    found = _rounded(value, 2)
    return None if found is None else float(found)


def _sum_problem(
    values: Mapping[str, Any], path: str, parts: Sequence[str], whole: str, *, at_most: bool
) -> list[Problem]:
    total = sum(values[part] for part in parts)
    expected = values[whole]
    if total == expected or (at_most and total < expected):
        return []
    relation = "at most" if at_most else "equal to"
    return [
        Problem(
            _join(path, parts[-1]),
            f"{' + '.join(parts)} = {total}, expected {relation} {whole} = {expected}",
        )
    ]


def _figures_problems(values: Mapping[str, Any], path: str = "") -> list[Problem]:
    """The rules of :class:`Figures`, on a mapping of every figure by name."""
    problems: list[Problem] = []
    for name in FIELDS:
        problems += _count_problems(_join(path, name), values[name])
    if problems:
        return problems
    rules: list[tuple[tuple[str, ...], str, bool]] = [
        (("direct", "conditional", "standard"), "submitted", True),
        (("commitments_signed",), "submitted", True),
        (("deferred_on_time", "deferred_late", "deferred_outstanding"), "deferred", False),
        (("accepted",), "submitted", True),
        (("licences_issued", "refused"), "accepted", True),
        (
            ("licences_issued", "refused", "withdrawn", "returned", "in_progress"),
            "submitted",
            False,
        ),
        (("immediate",), "licences_issued", True),
        (("within_statutory_limit",), "licences_issued", True),
        (("processing_days_max",), "processing_days_total", True),
    ]
    for parts, whole, at_most in rules:
        problems += _sum_problem(values, path, parts, whole, at_most=at_most)
    if values["licences_issued"] == 0:
        for name in ("processing_days_total", "statutory_days_total"):
            if values[name]:
                problems.append(
                    Problem(_join(path, name), f"expected 0 without a licence, got {values[name]}")
                )
    elif (
        values["processing_days_total"] > values["processing_days_max"] * values["licences_issued"]
    ):
        problems.append(
            Problem(
                _join(path, "processing_days_total"),
                f"{values['processing_days_total']} working days is more than "
                f"{values['licences_issued']} licences × the maximum "
                f"{values['processing_days_max']}",
            )
        )
    return problems


def _combine(rows: Iterable[Figures]) -> dict[str, int]:
    found = dict.fromkeys(FIELDS, 0)
    for figures in rows:
        for name in FIELDS:
            value = getattr(figures, name)
            found[name] = max(found[name], value) if name in _MAXIMA else found[name] + value
    return found


# --------------------------------------------------------------------------- rows


class Scope(enum.Enum):
    """What a row of the report covers (统计范围)."""

    #: One approval item (审批事项), all its versions.
    ITEM = "item"
    #: One department (部门), by the department of each case's item version.
    DEPARTMENT = "department"
    #: Every case (合计).
    TOTAL = "total"


def _row_problems(row: Row) -> list[Problem]:
    problems: list[Problem] = []
    named = {"code": row.code, "name": row.name, "department": row.department}
    needed = {
        Scope.ITEM: ("code", "name", "department"),
        Scope.DEPARTMENT: ("department",),
        Scope.TOTAL: (),
    }[row.scope]
    for field, value in named.items():
        what = f"{'an' if row.scope is Scope.ITEM else 'a'} {row.scope.value} row"
        if field in needed and not value.strip():
            problems.append(Problem(field, f"{what} needs a {field}"))
        elif field not in needed and value:
            problems.append(Problem(field, f"{what} has no {field}, got {value!r}"))
    return problems


@attrs.frozen(kw_only=True)
class Row:
    """One row of the report: the :class:`Figures` of an item, a department or the total.

    An item row has the item's ``code``, ``name`` and ``department``; a department row only
    its ``department``; the total row none of them (empty strings).
    """

    scope: Scope
    figures: Figures
    code: str = ""
    name: str = ""
    department: str = ""

    def __attrs_post_init__(self) -> None:
        _raise_if("Row", _row_problems(self))

    @property
    def key(self) -> str:
        """The item code, the department, or ``""`` for the total: unique within a scope."""
        return {Scope.ITEM: self.code, Scope.DEPARTMENT: self.department, Scope.TOTAL: ""}[
            self.scope
        ]


# --------------------------------------------------------------------------- draws


@attrs.frozen(kw_only=True)
class GradeDraws:
    """The random inspection draws (双随机抽查) of one credit grade, summed over the draws.

    ``population`` targets of the grade in the registries drawn from, ``drawn`` targets
    drawn, ``assignments`` inspectors assigned to them (one per inspector and target).
    """

    grade: str
    population: int
    drawn: int
    assignments: int

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        if not self.grade.strip():
            problems.append(Problem("grade", "expected a grade code"))
        for name in ("population", "drawn", "assignments"):
            problems += _count_problems(name, getattr(self, name))
        if not problems and self.drawn > self.population:
            problems.append(
                Problem("drawn", f"{self.drawn} drawn from a population of {self.population}")
            )
        _raise_if("GradeDraws", problems)


def _grades(values: Iterable[GradeDraws]) -> tuple[GradeDraws, ...]:
    return tuple(sorted(values, key=lambda row: row.grade))


@attrs.frozen(kw_only=True)
class DrawFigures:
    """The random inspection draws (双随机、一公开) given to :func:`statistics`.

    ``draws`` is how many there were, ``grades`` their figures per credit grade (sorted by
    grade code), ``inspectors`` how many distinct inspectors were assigned at least once.
    """

    draws: int = 0
    grades: tuple[GradeDraws, ...] = attrs.field(default=(), converter=_grades)
    inspectors: int = 0

    def __attrs_post_init__(self) -> None:
        problems = _count_problems("draws", self.draws)
        problems += _count_problems("inspectors", self.inspectors)
        seen: set[str] = set()
        for i, row in enumerate(self.grades):
            if row.grade in seen:
                problems.append(Problem(f"grades[{i}].grade", f"grade {row.grade!r} twice"))
            seen.add(row.grade)
        _raise_if("DrawFigures", problems)

    @property
    def population(self) -> int:
        """Targets in the registries drawn from, all grades."""
        return sum(row.population for row in self.grades)

    @property
    def drawn(self) -> int:
        """Targets drawn, all grades."""
        return sum(row.drawn for row in self.grades)

    @property
    def assignments(self) -> int:
        """Inspector assignments, all grades."""
        return sum(row.assignments for row in self.grades)


def _draw_figures(records: Iterable[DrawRecord]) -> DrawFigures:
    population: dict[str, int] = {}
    drawn: dict[str, int] = {}
    assigned: dict[str, int] = {}
    inspectors: set[str] = set()
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    count = 0
    for n, record in enumerate(records):
        if record.draw_id in seen:
            problems.append(
                Problem(
                    f"draws[{n}]",
                    f"draw {record.draw_id!r} is already draws[{seen[record.draw_id]}]",
                )
            )
            continue
        seen[record.draw_id] = n
        count += 1
        for grade, size in record.population.items():
            population[grade] = population.get(grade, 0) + size
            drawn.setdefault(grade, 0)
            assigned.setdefault(grade, 0)
        for selection in record.selections:
            grade = selection.target.grade
            drawn[grade] += 1
            assigned[grade] += len(selection.inspectors)
            inspectors.update(selection.inspectors)
    _raise_if("statistics", problems)
    rows = [
        GradeDraws(
            grade=grade,
            population=population[grade],
            drawn=drawn[grade],
            assignments=assigned[grade],
        )
        for grade in population
    ]
    return DrawFigures(draws=count, grades=rows, inspectors=len(inspectors))


# --------------------------------------------------------------------------- the report


def _rows(values: Iterable[Row]) -> tuple[Row, ...]:
    return tuple(values)


def _report_problems(report: Report) -> list[Problem]:
    problems: list[Problem] = []
    if report.end < report.start:
        problems.append(
            Problem(
                "end",
                f"the period ends on {report.end.isoformat()}, before it starts on "
                f"{report.start.isoformat()}",
            )
        )
    if report.catalog.on != report.end:
        problems.append(
            Problem(
                "catalog.on",
                f"expected the catalogue summary on the last day {report.end.isoformat()}, got "
                f"{report.catalog.on.isoformat()}",
            )
        )
    groups = (
        ("items", report.items, Scope.ITEM),
        ("departments", report.departments, Scope.DEPARTMENT),
    )
    for path, rows, wanted in groups:
        keys: list[str] = []
        for i, row in enumerate(rows):
            if row.scope is not wanted:
                problems.append(
                    Problem(f"{path}[{i}].scope", f"expected {wanted.value}, got {row.scope.value}")
                )
            keys.append(row.key)
        if keys != sorted(set(keys)):
            problems.append(Problem(path, f"expected rows sorted by a unique key, got {keys}"))
        total = _combine(row.figures for row in rows)
        problems += [
            Problem(
                f"total.figures.{name}",
                f"{report.total.figures.to_dict()[name]} is not the "
                f"{'largest' if name in _MAXIMA else 'sum'} of the {path} rows, {total[name]}",
            )
            for name in FIELDS
            if total[name] != getattr(report.total.figures, name)
        ]
    if report.total.scope is not Scope.TOTAL:
        problems.append(Problem("total.scope", f"expected total, got {report.total.scope.value}"))
    return problems


@attrs.frozen(kw_only=True)
class Report:
    """The statistics of one period (统计报表), from :func:`statistics`.

    ``items`` (sorted by item code) and ``departments`` (sorted by name) are the rows of
    every item and department in the catalogue on ``end`` and of every other one with a
    figure; their figures add up to ``total`` (the maximum processing time is the largest of
    the rows'). ``draws`` are the random inspection draws, ``catalog`` the catalogue summary
    on ``end``.
    """

    start: dt.date
    end: dt.date
    catalog: CatalogSummary
    items: tuple[Row, ...] = attrs.field(converter=_rows)
    departments: tuple[Row, ...] = attrs.field(converter=_rows)
    total: Row
    draws: DrawFigures = attrs.field(factory=DrawFigures)

    def __attrs_post_init__(self) -> None:
        _raise_if("Report", _report_problems(self))

    @property
    def rows(self) -> tuple[Row, ...]:
        """Every row: the items, the departments, then the total."""
        return (*self.items, *self.departments, self.total)

    def item(self, code: str) -> Row:
        """The row of item ``code``; :class:`KeyError` if the report has none."""
        return _find(self.items, code, "item")

    def department(self, name: str) -> Row:
        """The row of department ``name``; :class:`KeyError` if the report has none."""
        return _find(self.departments, name, "department")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data, the shape :func:`render_json` writes (``docs/report.md``)."""
        return {
            "format": FORMAT,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "catalog": _summary_to_dict(self.catalog),
            "items": [_row_to_dict(row) for row in self.items],
            "departments": [_row_to_dict(row) for row in self.departments],
            "total": _row_to_dict(self.total),
            "draws": _draws_to_dict(self.draws),
        }

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Report:
        """Read what :meth:`to_dict` wrote; :class:`DataFileError` lists every problem."""
        return _report_from_dict(data, source)

    @classmethod
    def from_json(cls, text: str, *, source: str = "<json>") -> Report:
        """Read what :func:`render_json` wrote; :class:`DataFileError` lists every problem."""
        return _report_from_dict(parse_json(text, source=source), source)


def _find(rows: Sequence[Row], key: str, what: str) -> Row:
    for row in rows:
        if row.key == key:
            return row
    raise KeyError(f"the report has no {what} {key!r}")


# --------------------------------------------------------------------------- computing


def _as_of(case: Case, end: dt.date) -> Case | None:
    """The case as its events recorded by ``end`` fold; None if submitted after ``end``."""
    history = case.history
    kept = 0
    for event in history:
        if event.at.date() > end:
            break
        kept += 1
    if kept == len(history):
        return case
    if kept == 0:
        return None
    return Case.from_events(history[:kept])


def _event_day(event: CaseEvent) -> dt.date | None:
    """The day a supervision event happened on, or None for another event."""
    if isinstance(event, VerificationRecorded):
        return event.verified_on
    if isinstance(event, DeferredMaterialOverdue):
        return event.overdue_on
    if isinstance(event, RectificationOrdered):
        return event.ordered_on
    if isinstance(event, Revoked):
        return event.revoked_on
    if isinstance(event, CreditRecordCreated):
        return event.record.decided_on
    return None


_OUTCOME_FIELD = {
    VerificationOutcome.FULFILLED: "verified_fulfilled",
    VerificationOutcome.UNFULFILLED: "verified_unfulfilled",
    VerificationOutcome.FALSE_COMMITMENT: "verified_false",
    VerificationOutcome.DEFERRED_OVERDUE: "deferred_overdue",
}
_ROUTE_FIELD = {
    Route.DIRECT: "direct",
    Route.CONDITIONAL: "conditional",
    Route.STANDARD: "standard",
}


def _supervision(case: Case, start: dt.date, end: dt.date, found: dict[str, int]) -> None:
    for event in case.history:
        day = _event_day(event)
        if day is None or not start <= day <= end:
            continue
        if isinstance(event, VerificationRecorded):
            found[_OUTCOME_FIELD[event.outcome]] += 1
        elif isinstance(event, DeferredMaterialOverdue):
            found["deferred_overdue"] += 1
        elif isinstance(event, RectificationOrdered):
            found["rectifications_ordered"] += 1
        elif isinstance(event, Revoked):
            found["revocations"] += 1
        else:
            found["credit_records"] += 1


def _deferred(case: Case, found: dict[str, int]) -> None:
    assert case.plan is not None
    supplied = {event.code: event for event in case.supplied}
    for line in case.plan.deferred:
        found["deferred"] += 1
        event = supplied.get(line.code)
        if event is None:
            found["deferred_outstanding"] += 1
        elif event.on_time:
            found["deferred_on_time"] += 1
        else:
            found["deferred_late"] += 1


def _processing(case: Case, calendar: WorkingCalendar, found: dict[str, int]) -> None:
    licence = case.licence
    acceptance = case.acceptance
    assert licence is not None
    assert acceptance is not None  # a licence is issued only once the case is accepted
    days = (
        calendar.working_days_between(acceptance.accepted_on, licence.issued_on)
        - case.paused_working_days
    )
    found["licences_issued"] = 1
    found["processing_days_total"] = days
    found["processing_days_max"] = days
    found["immediate"] = int(licence.issued_on == acceptance.accepted_on)
    due = case.statutory_due
    found["within_statutory_limit"] = int(due is not None and licence.issued_on <= due)
    found["statutory_days_total"] = calendar.working_days_between(
        acceptance.accepted_on, acceptance.statutory_due
    )


def _cohort(case: Case, calendar: WorkingCalendar, found: dict[str, int]) -> None:
    found["submitted"] = 1
    if case.route is not None:
        found[_ROUTE_FIELD[case.route]] = 1
    found["commitments_signed"] = int(case.commitment is not None)
    if case.acceptance is not None:
        # What the plan reduces or defers is granted by acceptance (容缺受理), not before.
        assert case.plan is not None  # a case is accepted on its plan
        found["accepted"] = 1
        found["materials_reduced"] = case.plan.reduced
        _deferred(case, found)
    if case.licence is not None:
        _processing(case, calendar, found)
    elif isinstance(case.closure, Refused):
        found["refused"] = 1
    elif isinstance(case.closure, Withdrawn):
        found["withdrawn"] = 1
    elif isinstance(case.closure, Returned):
        found["returned"] = 1
    else:
        found["in_progress"] = 1


def _case_figures(
    case: Case, start: dt.date, end: dt.date, calendar: WorkingCalendar
) -> dict[str, int]:
    found = dict.fromkeys(FIELDS, 0)
    if start <= case.submission.at.date() <= end:
        _cohort(case, calendar, found)
    _supervision(case, start, end, found)
    return found


def _add(into: dict[str, int], found: Mapping[str, int]) -> None:
    for name, value in found.items():
        into[name] = max(into[name], value) if name in _MAXIMA else into[name] + value


# --------------------------------------------------------------------------- projections


@attrs.frozen(kw_only=True)
class ProjectedCase:
    """A case as a projection store keeps it: what :func:`statistics` reads in one row.

    ``body`` is the case's snapshot (``case_to_snapshot``, what a
    :class:`~creditcommit.ports.Projection` of the case holds: ``docs/store.md``),
    ``last_at`` when its last event was recorded (the store's
    :attr:`StreamInfo.updated_at <creditcommit.ports.StreamInfo.updated_at>`), and
    ``records`` returns the case's stored events, oldest first, as ``(type, payload)``
    event records (``event_to_record``).

    :func:`statistics` takes the figures of the case from ``body`` without building the
    case. It asks for the records only where the body cannot say what they would: for a
    period that ends before ``last_at`` (the report is as of its last day: the case is
    folded from the events recorded by then), for a case with overdue deferred materials
    reported or a rectification ordered (the body keeps the materials without the day of
    the report, and only the last order: the supervision events are decoded and counted),
    and for a body that does not decode (folded).
    :meth:`Approvals.report_cases <creditcommit.Approvals.report_cases>` makes them from a
    store.
    """

    case_id: str
    body: Mapping[str, Any]
    last_at: dt.datetime
    records: Callable[[], Sequence[tuple[str, Mapping[str, Any]]]] = attrs.field(
        eq=False, repr=False
    )
    #: Finds a stored document by digest (the signed letter of a ``commitment-signed-ref``
    #: record, when the case is folded from its records); None: the records hold none.
    document: Resolve | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class _Facts:
    """What the report needs of one case whose every event is known, read from its body."""

    item_code: str
    item_valid_from: dt.date
    submitted_on: dt.date
    #: The figures of the case when its submission day is in the period.
    cohort: Mapping[str, int]
    #: ``(figure, day)`` per supervision event; None: to be read from the events.
    supervision: tuple[tuple[str, dt.date], ...] | None


_ROUTE_NAMES: Mapping[str, str] = {route.value: name for route, name in _ROUTE_FIELD.items()}
_OUTCOME_NAMES: Mapping[str, str] = {
    outcome.value: name for outcome, name in _OUTCOME_FIELD.items()
}
# The record types of the closures (``_codec``), by the figure they count in.
_CLOSURE_NAMES: Mapping[str, str] = {
    "refused": "refused",
    "withdrawn": "withdrawn",
    "returned": "returned",
}
_REDUCED = frozenset({Disposition.WAIVED.value, Disposition.RETRIEVED.value})
_DEFERRED = Disposition.DEFERRED.value
_REVOKED = "revoked"
_SUPERVISION_RECORDS = frozenset(
    name
    for name, kind in EVENT_TYPES.items()
    if kind
    in (
        VerificationRecorded,
        DeferredMaterialOverdue,
        RectificationOrdered,
        Revoked,
        CreditRecordCreated,
    )
)
_NOTHING: Mapping[str, int] = dict.fromkeys(FIELDS, 0)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _moment_day(text: str) -> dt.date:
    """The day of a recorded time, in its own UTC offset (as ``event.at.date()``)."""
    return dt.datetime.fromisoformat(text).date()


def _body_accepted(body: Mapping[str, Any], found: dict[str, int]) -> None:
    """The figures of acceptance: materials reduced and deferred (as :func:`_deferred`)."""
    found["accepted"] = 1
    lines = body["plan"]["lines"]
    found["materials_reduced"] = sum(1 for line in lines if line["disposition"] in _REDUCED)
    supplied = {e["payload"]["code"]: e["payload"]["on_time"] for e in body["supplied"]}
    for line in lines:
        if line["disposition"] != _DEFERRED:
            continue
        found["deferred"] += 1
        on_time = supplied.get(line["code"])
        if on_time is None:
            found["deferred_outstanding"] += 1
        elif on_time:
            found["deferred_on_time"] += 1
        else:
            found["deferred_late"] += 1


def _body_supervision(body: Mapping[str, Any]) -> tuple[tuple[str, dt.date], ...]:
    """``(figure, day)`` of each supervision event the body keeps (as :func:`_supervision`)."""
    found = [
        (_OUTCOME_NAMES[v["payload"]["outcome"]], _day(v["payload"]["verified_on"]))
        for v in body["verifications"]
    ]
    revocation = body["revocation"]
    if revocation is not None and revocation["type"] == _REVOKED:
        found.append(("revocations", _day(revocation["payload"]["revoked_on"])))
    record = body["credit_record"]
    if record is not None:
        found.append(("credit_records", _day(record["decided_on"])))
    return tuple(found)


def _body_facts(body: Mapping[str, Any], calendar: WorkingCalendar) -> _Facts | None:
    """The report's facts of the case whose snapshot is ``body``, or None if the body
    cannot give the same figures as the events (see :class:`ProjectedCase`)."""
    try:
        if body["format"] not in (SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_INLINE):
            return None
        submission = body["submission"]["payload"]
        found = dict(_NOTHING)
        found["submitted"] = 1
        decision = body["decision"]
        if decision is not None:
            found[_ROUTE_NAMES[decision["route"]]] = 1
        found["commitments_signed"] = int(body["commitment"] is not None)
        acceptance = body["acceptance"]
        if acceptance is not None:
            _body_accepted(body, found)
        licence = body["licence"]
        closure = body["closure"]
        processing: tuple[dt.date, dt.date, dt.date, dt.date | None, int] | None = None
        if licence is not None:
            accepted = acceptance["payload"]
            due = body["statutory_due"]
            processing = (
                _day(accepted["accepted_on"]),
                _day(licence["payload"]["issued_on"]),
                _day(accepted["statutory_due"]),
                None if due is None else _day(due),
                int(body["paused_working_days"]),
            )
        elif closure is not None:
            found[_CLOSURE_NAMES[closure["type"]]] = 1
        else:
            found["in_progress"] = 1
        # The body keeps overdue materials without the day they were reported, and only the
        # last rectification order: the events say when, and how many.
        in_events = bool(body["overdue_materials"]) or body["rectification"] is not None
        supervision = None if in_events else _body_supervision(body)
        facts = _Facts(
            item_code=str(submission["item_code"]),
            item_valid_from=_day(submission["item_valid_from"]),
            submitted_on=_moment_day(submission["at"]),
            cohort=found,
            supervision=supervision,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if processing is not None:
        accepted_on, issued_on, statutory_due, due_day, paused = processing
        days = calendar.working_days_between(accepted_on, issued_on) - paused
        found["licences_issued"] = 1
        found["processing_days_total"] = days
        found["processing_days_max"] = days
        found["immediate"] = int(issued_on == accepted_on)
        found["within_statutory_limit"] = int(due_day is not None and issued_on <= due_day)
        found["statutory_days_total"] = calendar.working_days_between(accepted_on, statutory_due)
    return facts


def _events_supervision(history: Iterable[CaseEvent]) -> tuple[tuple[str, dt.date], ...]:
    """``(figure, day)`` of each supervision event of ``history`` (as :func:`_supervision`)."""
    found: list[tuple[str, dt.date]] = []
    for event in history:
        day = _event_day(event)
        if day is None:
            continue
        if isinstance(event, VerificationRecorded):
            found.append((_OUTCOME_FIELD[event.outcome], day))
        elif isinstance(event, DeferredMaterialOverdue):
            found.append(("deferred_overdue", day))
        elif isinstance(event, RectificationOrdered):
            found.append(("rectifications_ordered", day))
        elif isinstance(event, Revoked):
            found.append(("revocations", day))
        else:
            found.append(("credit_records", day))
    return tuple(found)


def _facts_figures(
    facts: _Facts, supervision: Iterable[tuple[str, dt.date]], start: dt.date, end: dt.date
) -> dict[str, int]:
    found = dict(facts.cohort if start <= facts.submitted_on <= end else _NOTHING)
    for name, day in supervision:
        if start <= day <= end:
            found[name] += 1
    return found


def _submitted_on(body: Mapping[str, Any]) -> dt.date | None:
    try:
        return _moment_day(body["submission"]["payload"]["at"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- statistics


class _Tally:
    """The figures of one period, summed per item version as the cases come."""

    def __init__(self) -> None:
        self.by_version: dict[tuple[str, dt.date], dict[str, int]] = {}

    def add(self, code: str, valid_from: dt.date, found: Mapping[str, int]) -> None:
        into = self.by_version.get((code, valid_from))
        if into is None:
            self.by_version[code, valid_from] = dict(found)
        else:
            _add(into, found)


def _period_problem(start: dt.date, end: dt.date, path: str) -> list[Problem]:
    if end >= start:
        return []
    return [
        Problem(
            path,
            f"the period ends on {end.isoformat()}, before it starts on {start.isoformat()}",
        )
    ]


def statistics(
    cases: Iterable[Case | ProjectedCase],
    *,
    start: dt.date,
    end: dt.date,
    catalog: Catalog,
    calendar: WorkingCalendar,
    draws: Iterable[DrawRecord] = (),
) -> Report:
    """The statistics of the period ``[start, end]`` (both days included): a :class:`Report`.

    :param cases: the cases of one city (any order), each folded from its events or as its
        projection keeps it (:class:`ProjectedCase`: the figures are read from the
        projection, the same as the fold's). A case counts by its submission day; its
        supervision events by their own day; nothing recorded after ``end`` counts
        (``docs/report.md``).
    :param start: the first day of the period.
    :param end: the last day of the period; the report is as of this day.
    :param catalog: the city's catalogue: each case's department is that of its item
        version; the rows include every item and department in force on ``end``, and the
        report carries :meth:`Catalog.summary <creditcommit.catalog.Catalog.summary>` on ``end``.
    :param calendar: the working-day calendar for processing times.
    :param draws: the random inspection draws of the period. A :class:`DrawRecord` carries no
        date, so pass those held in the period; all of them count.
    :raises InvalidValue: ``end`` is before ``start``, or a case id or a draw id comes twice.
    :raises UnknownItem: a counted case's item is not in the catalogue
        (:class:`~creditcommit.errors.NoValueInForce` if its item version is not).
    :raises CalendarCoverageError: a processing time falls in a year the calendar does not
        cover.
    """
    _raise_if("statistics", _period_problem(start, end, "end"))
    (report,) = statistics_by_period(
        cases, [(start, end)], catalog=catalog, calendar=calendar, draws=draws
    )
    return report


def statistics_by_period(
    cases: Iterable[Case | ProjectedCase],
    periods: Sequence[tuple[dt.date, dt.date]],
    *,
    catalog: Catalog,
    calendar: WorkingCalendar,
    draws: Iterable[DrawRecord] = (),
) -> tuple[Report, ...]:
    """:func:`statistics` of each period ``(start, end)`` of ``periods``, in one pass over
    ``cases``: each case is read (and, if need be, folded) once for all the periods.

    ``draws`` count in every report. The reports are those :func:`statistics` gives for
    each period on its own. :raises InvalidValue: a period ends before it starts (path
    ``periods[i]``), or as :func:`statistics`.
    """
    problems: list[Problem] = []
    for i, (start, end) in enumerate(periods):
        problems += _period_problem(start, end, f"periods[{i}]")
    _raise_if("statistics", problems)
    drawn = _draw_figures(draws)
    tallies = [_Tally() for _ in periods]
    seen: dict[str, int] = {}
    for n, case in enumerate(cases):
        case_id = case.case_id
        if case_id in seen:
            raise InvalidValue(
                "statistics",
                [Problem(f"cases[{n}]", f"case {case_id!r} is already cases[{seen[case_id]}]")],
            )
        seen[case_id] = n
        _count(case, periods, tallies, calendar)
    return tuple(
        _report(tally, start, end, catalog, drawn)
        for tally, (start, end) in zip(tallies, periods, strict=True)
    )


def _count(
    case: Case | ProjectedCase,
    periods: Sequence[tuple[dt.date, dt.date]],
    tallies: Sequence[_Tally],
    calendar: WorkingCalendar,
) -> None:
    """Add the figures of ``case`` to the tally of each period."""
    if isinstance(case, Case):
        for (start, end), tally in zip(periods, tallies, strict=True):
            _count_folded(case, start, end, calendar, tally)
        return
    facts = _body_facts(case.body, calendar)
    submitted_on = facts.submitted_on if facts is not None else _submitted_on(case.body)
    last_day = case.last_at.date()
    supervision = None if facts is None else facts.supervision
    records: Sequence[tuple[str, Mapping[str, Any]]] | None = None
    folded: Case | None = None
    for (start, end), tally in zip(periods, tallies, strict=True):
        if submitted_on is not None and end < submitted_on:
            continue  # submitted after the period: nothing of it counts
        if facts is not None and last_day > end:
            records = case.records() if records is None else records
            whole = _nothing_counts_after(records, end)
        else:
            whole = facts is not None
        if facts is not None and whole:
            if supervision is None:
                records = case.records() if records is None else records
                supervision = _events_supervision(
                    event_from_record(kind, payload)
                    for kind, payload in records
                    if kind in _SUPERVISION_RECORDS
                )
            found = _facts_figures(facts, supervision, start, end)
            if any(found.values()):
                tally.add(facts.item_code, facts.item_valid_from, found)
            continue
        if folded is None:
            records = case.records() if records is None else records
            folded = Case.from_events(
                event_from_record(kind, payload, case.document) for kind, payload in records
            )
        _count_folded(folded, start, end, calendar, tally)


#: Record types whose events change no figure of the report: a case as of a day before
#: such events (folded without them) has the figures of the case with them. ``closed``
#: only sets the case's state and its ``closed`` fact, which no figure reads
#: (:func:`_case_figures`); it is the event the tick appends, often in a later month.
_NO_FIGURES = frozenset({"closed"})


def _nothing_counts_after(records: Sequence[tuple[str, Mapping[str, Any]]], end: dt.date) -> bool:
    """Whether the events of ``records`` that :func:`_as_of` leaves out for a period ending on
    ``end`` (from the first one whose time is after that day) all change no figure: then
    the case as of ``end`` has the figures of the whole case, which its body gives."""
    try:
        cut = next(
            (n for n, (_, payload) in enumerate(records) if _moment_day(payload["at"]) > end),
            len(records),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return cut > 0 and all(kind in _NO_FIGURES for kind, _ in records[cut:])


def _count_folded(
    case: Case, start: dt.date, end: dt.date, calendar: WorkingCalendar, tally: _Tally
) -> None:
    known = _as_of(case, end)
    if known is None:
        return
    found = _case_figures(known, start, end, calendar)
    if any(found.values()):
        tally.add(known.item_code, known.item_valid_from, found)


def _report(
    tally: _Tally,
    start: dt.date,
    end: dt.date,
    catalog: Catalog,
    draws: DrawFigures,
) -> Report:
    by_item: dict[str, dict[str, int]] = {}
    by_department: dict[str, dict[str, int]] = {}
    total = dict.fromkeys(FIELDS, 0)
    versions: dict[str, ApprovalItem] = {}
    for (code, valid_from), found in tally.by_version.items():
        item = catalog.item(code, valid_from)
        latest = versions.get(item.code)
        if latest is None or latest.valid_from < item.valid_from:
            versions[item.code] = item
        _add(by_item.setdefault(item.code, dict.fromkeys(FIELDS, 0)), found)
        _add(by_department.setdefault(item.department, dict.fromkeys(FIELDS, 0)), found)
        _add(total, found)
    for item in catalog.items(end):
        versions[item.code] = item
        by_item.setdefault(item.code, dict.fromkeys(FIELDS, 0))
        by_department.setdefault(item.department, dict.fromkeys(FIELDS, 0))
    items = [
        Row(
            scope=Scope.ITEM,
            code=code,
            name=versions[code].name,
            department=versions[code].department,
            figures=Figures(**by_item[code]),
        )
        for code in sorted(by_item)
    ]
    departments = [
        Row(scope=Scope.DEPARTMENT, department=name, figures=Figures(**by_department[name]))
        for name in sorted(by_department)
    ]
    return Report(
        start=start,
        end=end,
        catalog=catalog.summary(end),
        items=items,
        departments=departments,
        total=Row(scope=Scope.TOTAL, figures=Figures(**total)),
        draws=draws,
    )


# --------------------------------------------------------------------------- JSON


def _means(figures: Figures) -> dict[str, float | None]:
    return {
        "processing_days": _json_mean(figures.processing_days_mean),
        "statutory_days": _json_mean(figures.statutory_days_mean),
    }


def _row_to_dict(row: Row) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if row.scope is Scope.ITEM:
        found.update(code=row.code, name=row.name, department=row.department)
    elif row.scope is Scope.DEPARTMENT:
        found["department"] = row.department
    found["figures"] = row.figures.to_dict()
    found["means"] = _means(row.figures)
    return found


def _summary_to_dict(summary: CatalogSummary) -> dict[str, Any]:
    found: dict[str, Any] = attrs.asdict(summary)
    found["on"] = summary.on.isoformat()
    return found


def _draws_to_dict(figures: DrawFigures) -> dict[str, Any]:
    return {
        "draws": figures.draws,
        "inspectors": figures.inspectors,
        "population": figures.population,
        "drawn": figures.drawn,
        "assignments": figures.assignments,
        "grades": [attrs.asdict(row) for row in figures.grades],
    }


@attrs.frozen
class _MeansSchema:
    processing_days: float | None
    statutory_days: float | None


@attrs.frozen
class _ItemSchema:
    code: str
    name: str
    department: str
    figures: dict[str, int]
    means: _MeansSchema


@attrs.frozen
class _DepartmentSchema:
    department: str
    figures: dict[str, int]
    means: _MeansSchema


@attrs.frozen
class _TotalSchema:
    figures: dict[str, int]
    means: _MeansSchema


@attrs.frozen
class _GradeSchema:
    grade: str
    population: int
    drawn: int
    assignments: int


@attrs.frozen
class _DrawsSchema:
    draws: int
    inspectors: int
    population: int
    drawn: int
    assignments: int
    grades: list[_GradeSchema]


@attrs.frozen
class _SummarySchema:
    catalog: str
    version: str
    on: dt.date
    departments: int
    items: int
    materials: int
    required: int
    deferrable: int
    waivable: int
    licence: int


@attrs.frozen
class _ReportSchema:
    format: str
    start: dt.date
    end: dt.date
    catalog: _SummarySchema
    items: list[_ItemSchema]
    departments: list[_DepartmentSchema]
    total: _TotalSchema
    draws: _DrawsSchema


def _figures_from(
    figures: Mapping[str, int], means: _MeansSchema, path: str, problems: list[Problem]
) -> Figures | None:
    found: list[Problem] = []
    for name in sorted(set(figures) - set(FIELDS)):
        found.append(Problem(_join(path, f"figures.{name}"), "unknown figure"))
    for name in FIELDS:
        if name not in figures:
            found.append(Problem(_join(path, f"figures.{name}"), "required key is missing"))
    if not found:
        found += _figures_problems(figures, _join(path, "figures"))
    if found:
        problems += found
        return None
    result = Figures(**figures)
    for name, value in attrs.asdict(means).items():
        expected = _means(result)[name]
        if value != expected:
            problems.append(
                Problem(
                    _join(path, f"means.{name}"),
                    f"expected {expected} ({name.removesuffix('_days')}_days_total / "
                    f"licences_issued, 2 places), got {value}",
                )
            )
    return result


def _row_from(
    scope: Scope, figures: Figures | None, path: str, problems: list[Problem], **names: str
) -> Row | None:
    try:
        row = Row(scope=scope, figures=Figures() if figures is None else figures, **names)
    except InvalidValue as exc:
        problems += [Problem(_join(path, p.path), p.message) for p in exc.problems]
        return None
    return None if figures is None else row


def _report_from_dict(data: object, source: str) -> Report:
    schema = structure(data, _ReportSchema, source=source)
    problems: list[Problem] = []
    if schema.format != FORMAT:
        problems.append(Problem("format", f"expected {FORMAT!r}, got {schema.format!r}"))
    try:
        summary: CatalogSummary | None = CatalogSummary(**attrs.asdict(schema.catalog))
    except ValueError as exc:
        summary = None
        problems.append(Problem("catalog", str(exc)))
    items: list[Row | None] = []
    for i, item in enumerate(schema.items):
        path = f"items[{i}]"
        figures = _figures_from(item.figures, item.means, path, problems)
        names = {"code": item.code, "name": item.name, "department": item.department}
        items.append(_row_from(Scope.ITEM, figures, path, problems, **names))
    departments: list[Row | None] = []
    for i, department in enumerate(schema.departments):
        path = f"departments[{i}]"
        figures = _figures_from(department.figures, department.means, path, problems)
        name = department.department
        departments.append(_row_from(Scope.DEPARTMENT, figures, path, problems, department=name))
    total = _figures_from(schema.total.figures, schema.total.means, "total", problems)
    draws = _draws_from(schema.draws, problems)
    if problems:
        raise DataFileError(source, problems)
    assert summary is not None
    assert total is not None
    assert draws is not None
    try:
        return Report(
            start=schema.start,
            end=schema.end,
            catalog=summary,
            items=[row for row in items if row is not None],
            departments=[row for row in departments if row is not None],
            total=Row(scope=Scope.TOTAL, figures=total),
            draws=draws,
        )
    except InvalidValue as exc:
        raise DataFileError(source, exc.problems) from None


def _draws_from(schema: _DrawsSchema, problems: list[Problem]) -> DrawFigures | None:
    rows: list[GradeDraws] = []
    found: list[Problem] = []
    for i, grade in enumerate(schema.grades):
        try:
            rows.append(GradeDraws(**attrs.asdict(grade)))
        except InvalidValue as exc:
            found += [Problem(f"draws.grades[{i}].{p.path}", p.message) for p in exc.problems]
    if found:
        problems += found
        return None
    try:
        figures = DrawFigures(draws=schema.draws, grades=rows, inspectors=schema.inspectors)
    except InvalidValue as exc:
        problems += [Problem(f"draws.{p.path}", p.message) for p in exc.problems]
        return None
    for name in ("population", "drawn", "assignments"):
        given, expected = getattr(schema, name), getattr(figures, name)
        if given != expected:
            problems.append(
                Problem(
                    f"draws.{name}", f"expected {expected} (the sum over the grades), got {given}"
                )
            )
    return figures


def render_json(report: Report) -> str:
    """The report as JSON: keys sorted, two-space indent, UTF-8 text kept as is, final newline.

    The keys are described in ``docs/report.md``; :meth:`Report.from_json` reads it back.
    """
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------- CSV

_CSV_HEAD = ("scope", "code", "name", "department")
_CSV_MEANS = ("processing_days_mean", "statutory_days_mean")
# Chinese column headings (the default): a unit with every figure, and the case-level sum of
# materials reduced marked as such, apart from the catalogue's list-level count.
_CSV_ZH: Mapping[str, str] = {
    "scope": "统计范围",
    "code": "事项编码",
    "name": "事项名称",
    "department": "部门",
    "submitted": "申请件数",
    "direct": "直接适用件数",
    "conditional": "有条件适用件数",
    "standard": "一般程序件数",
    "commitments_signed": "签署信用承诺书件数",
    "accepted": "受理件数",
    "materials_reduced": "减免材料份数（办件合计）",
    "deferred": "容缺材料份数",
    "deferred_on_time": "容缺材料按期补齐份数",
    "deferred_late": "容缺材料逾期补齐份数",
    "deferred_outstanding": "容缺材料尚未补齐份数",
    "licences_issued": "发证或备案件数",
    "refused": "不予许可件数",
    "withdrawn": "撤回件数",
    "returned": "退件件数",
    "in_progress": "在办件数",
    "processing_days_total": "办理用时合计（工作日）",
    "processing_days_max": "最长办理用时（工作日）",
    "immediate": "即审即办件数",
    "within_statutory_limit": "法定时限内办结件数",
    "statutory_days_total": "法定时限合计（工作日）",
    "verified_fulfilled": "核查已履行承诺件数",
    "verified_unfulfilled": "核查未履行承诺件数",
    "verified_false": "核查虚假承诺件数",
    "deferred_overdue": "容缺材料逾期未补齐件数",
    "rectifications_ordered": "责令限期整改件数",
    "revocations": "撤销行政许可件数",
    "credit_records": "失信记录条数",
    "processing_days_mean": "平均办理用时（工作日）",
    "statutory_days_mean": "平均法定时限（工作日）",
}
_SCOPE_ZH: Mapping[str, str] = {"item": "事项", "department": "部门", "total": "合计"}


def _csv_mean(value: Fraction | None) -> str:
    found = _rounded(value, 2)
    return "" if found is None else str(found)


def render_csv(report: Report, lang: Language = "zh") -> str:
    """The report as CSV: a header, then one row per item, per department and the total.

    Columns: ``scope`` (``item``, ``department``, ``total``), ``code``, ``name``,
    ``department``, every figure of :class:`Figures` in field order, then
    ``processing_days_mean`` and ``statutory_days_mean`` (2 places, empty without a
    licence). With ``lang="zh"`` (the default) the headings are Chinese (统计范围, 事项编码,
    申请件数, …, see ``docs/report.md``) and the scope is 事项, 部门 or 合计; with ``"en"``
    they are the field names above. UTF-8 text, ``\\n`` line ends; the draws and the
    catalogue summary are in the text and JSON forms only.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    names = (*_CSV_HEAD, *FIELDS, *_CSV_MEANS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(tuple(_CSV_ZH[name] for name in names) if lang == "zh" else names)
    for row in report.rows:
        figures = row.figures
        scope = row.scope.value
        writer.writerow(
            (
                _SCOPE_ZH[scope] if lang == "zh" else scope,
                row.code,
                row.name,
                row.department,
                *(getattr(figures, name) for name in FIELDS),
                _csv_mean(figures.processing_days_mean),
                _csv_mean(figures.statutory_days_mean),
            )
        )
    return out.getvalue()


# --------------------------------------------------------------------------- text

_LABELS: Mapping[str, tuple[str, str]] = {
    "submitted": ("申请", "submitted"),
    "direct": ("直接适用", "direct"),
    "conditional": ("有条件", "conditional"),
    "standard": ("一般程序", "standard"),
    "commitments_signed": ("承诺书", "signed"),
    "materials_reduced": ("减免材料（办件合计）", "reduced (cases)"),
    "accepted": ("受理", "accepted"),
    "licences_issued": ("发证或备案", "issued"),
    "refused": ("不予许可", "refused"),
    "withdrawn": ("撤回", "withdrawn"),
    "returned": ("退件", "returned"),
    "in_progress": ("在办", "open"),
    "deferred": ("容缺材料", "deferred"),
    "deferred_on_time": ("按期补齐", "on time"),
    "deferred_late": ("逾期补齐", "late"),
    "deferred_outstanding": ("尚未补齐", "outstanding"),
    "statutory_days_mean": ("法定时限", "statutory"),
    "processing_days_mean": ("平均用时", "mean"),
    "processing_days_max": ("最长用时", "max"),
    "immediate": ("即审即办", "same day"),
    "within_statutory_limit": ("法定时限内", "in time"),
    "verified_fulfilled": ("核查履诺", "fulfilled"),
    "verified_unfulfilled": ("未履诺", "unfulfilled"),
    "verified_false": ("虚假承诺", "false"),
    "deferred_overdue": ("容缺逾期", "overdue"),
    "rectifications_ordered": ("责令整改", "rectify"),
    "revocations": ("撤销许可", "revoked"),
    "credit_records": ("失信记录", "records"),
    "population": ("名录库", "population"),
    "drawn": ("抽中对象", "drawn"),
    "assignments": ("派员人次", "assigned"),
}

_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "一、申请与审批路径（按提交日）",
        "1. Applications and routes (by submission day)",
        (
            "submitted",
            "direct",
            "conditional",
            "standard",
            "commitments_signed",
            "accepted",
            "materials_reduced",
        ),
    ),
    (
        "二、办理结果（截至期末）",
        "2. Outcomes (on the last day)",
        ("licences_issued", "refused", "withdrawn", "returned", "in_progress"),
    ),
    (
        "三、容缺受理材料",
        "3. Deferred materials",
        ("deferred", "deferred_on_time", "deferred_late", "deferred_outstanding"),
    ),
    (
        "四、办理时限（工作日，受理至发证）",
        "4. Processing time (working days, acceptance to licence)",
        (
            "licences_issued",
            "statutory_days_mean",
            "processing_days_mean",
            "processing_days_max",
            "immediate",
            "within_statutory_limit",
        ),
    ),
    (
        "五、事中事后监管（按事件日）",
        "5. Supervision (by event day)",
        (
            "verified_fulfilled",
            "verified_unfulfilled",
            "verified_false",
            "deferred_overdue",
            "rectifications_ordered",
            "revocations",
            "credit_records",
        ),
    ),
)

_WORDS: Mapping[str, tuple[str, str]] = {
    "title": ("“信用+承诺”审批统计", "Credit + commitment approval statistics"),
    "period": ("统计期间{start}至{end}", "Period {start} to {end}"),
    "scope": ("范围", "scope"),
    "total": ("合计", "total"),
    "draws": ("六、双随机抽查", "6. Random inspections (双随机)"),
    "grade": ("信用等级", "grade"),
    "draw_line": (
        "抽查{draws}次，派出检查人员{inspectors}人",
        "{draws} draws, {inspectors} distinct inspectors assigned",
    ),
    "items": ("七、审批事项", "7. Approval items"),
    "code": ("事项编码", "code"),
    "name": ("事项名称", "name"),
    "department": ("部门", "department"),
}


def _width(text: str) -> int:
    """Terminal columns: two for a wide (CJK) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _table(head: Sequence[str], body: Sequence[Sequence[str]], rules: Iterable[int]) -> list[str]:
    """Lines of an aligned table: the first column left, the others right; a rule after
    the header and before each body row index in ``rules``."""
    widths = [max(_width(row[i]) for row in (head, *body)) for i in range(len(head))]

    def line(row: Sequence[str]) -> str:
        cells = [_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)]
        return "  ".join(cells).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    before = {i for i in rules if 0 < i < len(body)}
    lines = [line(head), rule]
    for i, row in enumerate(body):
        if i in before:
            lines.append(rule)
        lines.append(line(row))
    return lines


def _cell(figures: Figures, name: str) -> str:
    if name == "processing_days_mean":
        found = _rounded(figures.processing_days_mean, 1)
    elif name == "statutory_days_mean":
        found = _rounded(figures.statutory_days_mean, 1)
    else:
        return str(getattr(figures, name))
    return "-" if found is None else str(found)


def render_text(report: Report, lang: Language = "zh") -> str:
    """The report as aligned tables for a terminal, in Chinese (``"zh"``) or English.

    A header (period, catalogue summary), four tables of figures with a row per item (by
    code), per department and the total, the draws per credit grade, and the list of items
    with their names and departments. Means have one decimal place; ``-`` means no licence.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    pick = 0 if lang == "zh" else 1

    def word(key: str, **values: object) -> str:
        return _WORDS[key][pick].format(**values)

    summary = report.catalog.format().splitlines()[pick]
    lines = [
        word("title"),
        word("period", start=report.start.isoformat(), end=report.end.isoformat()),
        summary,
    ]
    labels = [
        *(row.code for row in report.items),
        *(row.department for row in report.departments),
        word("total"),
    ]
    rules = (len(report.items), len(report.items) + len(report.departments))
    for zh, en, names in _TABLES:
        head = [word("scope"), *(_LABELS[name][pick] for name in names)]
        body = [
            [label, *(_cell(row.figures, name) for name in names)]
            for label, row in zip(labels, report.rows, strict=True)
        ]
        lines += ["", zh if lang == "zh" else en, *_table(head, body, rules)]
    draws = report.draws
    head = [
        word("grade"),
        *(_LABELS[name][pick] for name in ("population", "drawn", "assignments")),
    ]
    body = [
        [row.grade, str(row.population), str(row.drawn), str(row.assignments)]
        for row in draws.grades
    ]
    body.append([word("total"), str(draws.population), str(draws.drawn), str(draws.assignments)])
    lines += [
        "",
        word("draws"),
        word("draw_line", draws=draws.draws, inspectors=draws.inspectors),
        *_table(head, body, (len(draws.grades),)),
    ]
    head = [word("code"), word("name"), word("department")]
    body = [[row.code, row.name, row.department] for row in report.items]
    lines += ["", word("items"), *_table_left(head, body)]
    return "\n".join(lines) + "\n"


def _table_left(head: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in (head, *body)) for i in range(len(head))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(_pad(cell, widths[i], right=False) for i, cell in enumerate(row)).rstrip()

    return [line(head), "-" * (sum(widths) + 2 * (len(widths) - 1)), *map(line, body)]
