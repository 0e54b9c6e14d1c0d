"""Scenario files (情景测试): approval cases that policy staff write in TOML and the library checks.

A scenario file lists cases — an application for an item on a day, the applicant's credit,
what the applicant provided and holds as e-licences — each with what the staff expect: the
route, the reason codes, what happens to each material. :func:`load_scenarios` reads a file
strictly (every malformed file gives a :class:`~creditcommit.errors.DataFileError` naming
the file, the path inside it and what was expected), :func:`run_case` decides one case with
:func:`~creditcommit.policy.decide` and :func:`~creditcommit.materials.plan_materials` and
lists **every** mismatch, and :func:`check_scenarios` does both for many files. The pytest
plugin :mod:`creditcommit.testing.pytest_plugin` collects scenario files as tests.

The format is described key by key in ``docs/scenarios.md``. Credit evidence is built from
the file with the fixed source name :data:`SCENARIO_SOURCE` and a retrieval time of 09:00
(UTC+8) on the case's day, so a case gives the same result on every run.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from creditcommit._converter import describe, parse_toml, read_text, structure
from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, Catalog
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    GradeScale,
    Severity,
    record_kind_problem,
)
from creditcommit.decision import (
    Applicant,
    ApplicantKind,
    Decision,
    ProjectFacts,
    ProjectLevel,
    Route,
)
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    CreditCommitError,
    DataFileError,
    InvalidIdentifier,
    InvalidValue,
    NoValueInForce,
    Problem,
    ReapplicationBarred,
    UnknownGrade,
    UnknownItem,
)
from creditcommit.identifiers import USCC, ResidentId, text_problem
from creditcommit.materials import Disposition, LicenceHolding, MaterialPlan, plan_materials
from creditcommit.policy import GRADE_SCALE_PRESETS, Policy, decide
from creditcommit.reasons import REASONS
from creditcommit.supervision import (
    Consequence,
    SupervisionAction,
    VerificationOutcome,
    consequence,
)

__all__ = [
    "CaseResult",
    "Expectation",
    "SCENARIO_SOURCE",
    "ScenarioCase",
    "ScenarioFile",
    "check_scenarios",
    "is_scenario_file",
    "load_scenarios",
    "run_case",
]

SCENARIO_SOURCE = "scenario"
"""The credit-source name of the evidence (and lookup failures) built from scenario files."""

_CST = dt.timezone(dt.timedelta(hours=8), "CST")
_RETRIEVED_AT = dt.time(9, 0, tzinfo=_CST)
_DEFAULT_FAILURE = "unavailable"

_CATALOGS: Mapping[str, Callable[[], Catalog]] = MappingProxyType(
    {"sample": Catalog.sample, "yangzhou": Catalog.yangzhou}
)
_POLICIES: Mapping[str, Callable[[], Policy]] = MappingProxyType(
    {"yangzhou": Policy.sample, "national": Policy.national}
)


def is_scenario_file(path: str | os.PathLike[str]) -> bool:
    """The collection rule: a ``.toml`` file directly inside a folder named ``scenarios``.

    ``tests/scenarios/gaoyou.toml`` is a scenario file; ``tests/scenarios/old/x.toml``,
    ``tests/data/catalog/x.toml`` and ``scenarios.toml`` are not.
    """
    p = Path(path)
    return p.suffix == ".toml" and p.parent.name == "scenarios"


# --------------------------------------------------------------------------- rules
#
# Each rule takes plain values and a path and returns problems, so that the loader reports
# them with their place in the file and the classes below refuse the same things when they
# are built in Python.


def _close(value: str, known: Collection[str], what: str) -> str:
    """``" (did you mean 'x'?)"``, or the known values if there are few, or nothing."""
    match = difflib.get_close_matches(value, sorted(known), n=1)
    if match:
        return f" (did you mean {match[0]!r}?)"
    if 0 < len(known) <= 20:
        return f" ({what}: {', '.join(sorted(known))})"
    return ""


def _reason_problems(codes: Iterable[str], path: str) -> list[Problem]:
    return [
        Problem(
            f"{path}[{i}]",
            f"unknown reason code {code!r}{_close(code, REASONS, 'known codes')}; "
            "the codes are listed in docs/reasons.md",
        )
        for i, code in enumerate(codes)
        if code not in REASONS
    ]


def _material_codes(item: ApprovalItem) -> list[str]:
    return [m.code for m in item.materials]


def _unknown_material(item: ApprovalItem, code: str) -> str:
    return (
        f"item {item.code} has no material {code!r}"
        f"{_close(code, _material_codes(item), 'its materials')}"
    )


def _licence_types(item: ApprovalItem) -> list[str]:
    return sorted({m.licence_type for m in item.materials if m.licence_type is not None})


def _licence_problem(item: ApprovalItem, licence_type: str, path: str) -> list[Problem]:
    known = _licence_types(item)
    if licence_type in known:
        return []
    if not known:
        hint = f"item {item.code} retrieves no e-licence"
    else:
        match = difflib.get_close_matches(licence_type, known, n=1)
        hint = (
            f"did you mean {match[0]!r}?"
            if match
            else f"item {item.code} uses {', '.join(repr(k) for k in known)}"
        )
    return [Problem(path, f"unknown e-licence type {licence_type!r} ({hint})")]


def _expect_problems(
    reasons: Sequence[str] | None,
    reasons_include: Sequence[str],
    reduced: int | None,
    path: str,
) -> list[Problem]:
    where = f"{path}." if path else ""
    problems: list[Problem] = []
    if reasons is not None:
        if not reasons:
            problems.append(
                Problem(
                    f"{where}reasons",
                    "expected at least one reason code (a decision always gives one); "
                    "leave the key out to accept any reasons",
                )
            )
        problems += _reason_problems(reasons, f"{where}reasons")
    problems += _reason_problems(reasons_include, f"{where}reasons_include")
    if reduced is not None and reduced < 0:
        problems.append(Problem(f"{where}reduced", f"expected 0 or more, got {reduced}"))
    return problems


def _outcome_problems(
    route: Route | None, refused_until: dt.date | None, path: str
) -> list[Problem]:
    where = f"{path}." if path else ""
    if (route is None) == (refused_until is None):
        given = "both" if route is not None else "neither"
        return [
            Problem(
                f"{where}route",
                f"expected exactly one of route and refused_until, got {given}: a case is "
                "either decided (route) or refused by a re-application ban (refused_until)",
            )
        ]
    return []


def _case_problems(
    *,
    name: str,
    item: ApprovalItem,
    day: dt.date,
    provided: Sequence[str],
    licence_types: Sequence[str],
    expected_codes: Iterable[tuple[str, str]],
    path: str,
) -> list[Problem]:
    """Rules that tie a case to its item; ``expected_codes`` are (path, code) pairs."""
    where = f"{path}." if path else ""
    problems: list[Problem] = []
    if not name.strip():
        problems.append(Problem(f"{where}name", "expected a non-empty case name"))
    if day < item.valid_from or (item.valid_until is not None and day >= item.valid_until):
        until = "" if item.valid_until is None else f" until {item.valid_until.isoformat()}"
        problems.append(
            Problem(
                f"{where}day",
                f"item {item.code} (version from {item.valid_from.isoformat()}{until}) is "
                f"not in force on {day.isoformat()}",
            )
        )
    codes = set(_material_codes(item))
    for i, code in enumerate(provided):
        if code not in codes:
            problems.append(Problem(f"{where}provided[{i}]", _unknown_material(item, code)))
    for i, licence_type in enumerate(licence_types):
        problems += _licence_problem(item, licence_type, f"{where}licences[{i}]")
    for at, code in expected_codes:
        if code not in codes:
            problems.append(Problem(f"{where}{at}", _unknown_material(item, code)))
    return problems


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


# --------------------------------------------------------------------------- values


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _optional_codes(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _dispositions(values: Mapping[str, Disposition]) -> Mapping[str, Disposition]:
    return MappingProxyType(dict(values))


def _consequences(
    values: Mapping[VerificationOutcome, Consequence],
) -> Mapping[VerificationOutcome, Consequence]:
    return MappingProxyType(dict(values))


def _due_dates(values: Mapping[str, dt.date]) -> Mapping[str, dt.date]:
    return MappingProxyType(dict(values))


@attrs.frozen(kw_only=True)
class Expectation:
    """What policy staff expect of a case (预期结果); only what is given is checked.

    ``reasons`` is the exact list of reason codes in order (``None``: not checked),
    ``reasons_include`` codes that must be among them, ``materials`` the disposition of
    some materials by code and ``due`` their due dates; ``reduced`` and ``acceptable`` are
    compared with :attr:`MaterialPlan.reduced` and :attr:`MaterialPlan.acceptable`;
    ``consequences`` what an adverse outcome would lead to (action and legal basis), compared
    with :func:`~creditcommit.supervision.consequence` under the policy on the case's day.
    ``refused_until`` instead of ``route`` expects the application itself refused by a
    statutory re-application ban (:class:`~creditcommit.errors.ReapplicationBarred`) that
    ends on that day.
    """

    route: Route | None = None
    refused_until: dt.date | None = None
    eligible_route: Route | None = None
    #: Whose rules must have decided (:attr:`Decision.jurisdiction`), e.g. "高邮市（321084）".
    jurisdiction: str | None = None
    #: Texts each of which some reason's legal reference must contain, e.g. a 文号.
    cites: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    reasons: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_codes)
    reasons_include: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    materials: Mapping[str, Disposition] = attrs.field(
        factory=dict, converter=_dispositions, hash=False
    )
    due: Mapping[str, dt.date] = attrs.field(factory=dict, converter=_due_dates, hash=False)
    reduced: int | None = None
    acceptable: bool | None = None
    consequences: Mapping[VerificationOutcome, Consequence] = attrs.field(
        factory=dict, converter=_consequences, hash=False
    )

    def __attrs_post_init__(self) -> None:
        _raise_if(
            "Expectation",
            _expect_problems(self.reasons, self.reasons_include, self.reduced, "")
            + _outcome_problems(self.route, self.refused_until, ""),
        )


def _holdings(values: Iterable[LicenceHolding]) -> tuple[LicenceHolding, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class ScenarioCase:
    """One case of a scenario file: an application and what is expected of it.

    ``file`` and ``line`` say where the case is written (``line`` is that of its ``name``
    key, or ``None`` if unknown); ``credit`` is the evidence, a lookup failure, or ``None``
    when the credit source was not asked.
    """

    name: str
    file: str
    line: int | None = None
    note: str | None = None
    item: ApprovalItem
    day: dt.date
    policy: Policy
    applicant: Applicant
    project: ProjectFacts = attrs.field(factory=ProjectFacts)
    credit: CreditEvidence | CreditLookupFailure | None
    licences: tuple[LicenceHolding, ...] = attrs.field(default=(), converter=_holdings)
    provided: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    choose_standard: bool = False
    expect: Expectation

    def __attrs_post_init__(self) -> None:
        expected = [(f"expect.materials.{code}", code) for code in self.expect.materials]
        expected += [(f"expect.due.{code}", code) for code in self.expect.due]
        _raise_if(
            "ScenarioCase",
            _case_problems(
                name=self.name,
                item=self.item,
                day=self.day,
                provided=self.provided,
                licence_types=[holding.licence_type for holding in self.licences],
                expected_codes=expected,
                path="",
            ),
        )

    @property
    def location(self) -> str:
        """``file:line``, or the file alone when the line is unknown."""
        return self.file if self.line is None else f"{self.file}:{self.line}"


def _cases(values: Iterable[ScenarioCase]) -> tuple[ScenarioCase, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class ScenarioFile:
    """A scenario file: the catalogue and policy it uses and its cases, in file order.

    Load it with :func:`load_scenarios` (or :meth:`from_toml`, :meth:`from_text`,
    :meth:`from_dict`); every malformed file raises :class:`DataFileError` listing every
    problem with its path (``cases[2].expect.route``) and the case's name and line.
    """

    source: str
    catalog: Catalog
    policy: Policy
    cases: tuple[ScenarioCase, ...] = attrs.field(converter=_cases)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], *, source: str | None = None) -> ScenarioFile:
        """Read a scenario file; relative catalogue and policy paths are next to it.

        ``source`` names the file in messages and reports (default: ``path`` as given).
        """
        text = read_text(path)
        data = parse_toml(text, source=os.fspath(path))
        name = os.fspath(path) if source is None else source
        return _load(data, name, Path(path).parent, _case_lines(text))

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        source: str = "<text>",
        folder: str | os.PathLike[str] | None = None,
    ) -> ScenarioFile:
        """Read scenarios from TOML text; ``source`` names it in messages and reports.

        Relative catalogue and policy paths are resolved against ``folder`` (default: the
        current directory).
        """
        data = parse_toml(text, source=source)
        return _load(data, source, None if folder is None else Path(folder), _case_lines(text))

    @classmethod
    def from_dict(
        cls,
        data: object,
        *,
        source: str = "<dict>",
        folder: str | os.PathLike[str] | None = None,
    ) -> ScenarioFile:
        """Read scenarios from plain data as TOML gives it (no line numbers are known)."""
        return _load(data, source, None if folder is None else Path(folder), [])

    def run(self, calendar: WorkingCalendar | None = None) -> list[CaseResult]:
        """:func:`run_case` for every case, in file order."""
        return [run_case(case, calendar=calendar) for case in self.cases]


@attrs.frozen(kw_only=True)
class CaseResult:
    """What happened to one case: the decision, the material plan and every mismatch.

    ``error`` is set (and ``decision`` or ``plan`` may be ``None``) when the library refused
    the case, e.g. a due date in a year the working-day calendar does not cover.
    """

    case: ScenarioCase
    decision: Decision | None
    plan: MaterialPlan | None
    mismatches: tuple[str, ...] = attrs.field(default=(), converter=_codes)
    error: str | None = None

    @property
    def passed(self) -> bool:
        """True when everything expected was found and nothing went wrong."""
        return not self.mismatches and self.error is None

    def report(self) -> str:
        """``file:line: case 'name' passed``, or ``failed:`` and one line per mismatch."""
        case = self.case
        head = f"{case.location}: case {case.name!r}"
        if self.passed:
            return f"{head} passed"
        lines = [f"{head} failed:"]
        lines.extend(f"  - {mismatch}" for mismatch in self.mismatches)
        if self.error is not None:
            lines.append(f"  - error: {self.error}")
        if case.note:
            lines.append(f"  (note: {case.note})")
        return "\n".join(lines)


# --------------------------------------------------------------------------- running


def run_case(case: ScenarioCase, *, calendar: WorkingCalendar | None = None) -> CaseResult:
    """Decide one case and compare the outcome with what it expects.

    Pure: the decision and the plan are computed for ``case.day`` on ``calendar`` (default:
    :meth:`WorkingCalendar.china`). A :class:`CreditCommitError` raised by the library
    (e.g. :class:`~creditcommit.errors.CalendarCoverageError`) becomes the result's
    ``error``; anything else is a bug and propagates.
    """
    cal = WorkingCalendar.china() if calendar is None else calendar
    expect = case.expect
    try:
        decision = decide(
            item=case.item,
            applicant=case.applicant,
            evidence=case.credit,
            policy=case.policy,
            on=case.day,
            project=case.project,
            choose_standard=case.choose_standard,
        )
    except ReapplicationBarred as exc:
        if expect.refused_until is None:
            return CaseResult(case=case, decision=None, plan=None, error=_error(exc))
        found = []
        if exc.until != expect.refused_until:
            found.append(
                f"refused until: expected {expect.refused_until.isoformat()}, got "
                f"{exc.until.isoformat()} ({exc.reason_zh})"
            )
        return CaseResult(case=case, decision=None, plan=None, mismatches=found)
    except CreditCommitError as exc:
        return CaseResult(case=case, decision=None, plan=None, error=_error(exc))
    if expect.refused_until is not None:
        texts = "; ".join(f"{r.code}: {r.zh}" for r in decision.reasons)
        return CaseResult(
            case=case,
            decision=decision,
            plan=None,
            mismatches=[
                f"refused until: expected the application refused until "
                f"{expect.refused_until.isoformat()}, got route {decision.route.name} "
                f"(reason texts: {texts})"
            ],
        )
    try:
        plan = plan_materials(
            case.item, decision, case.provided, case.licences, on=case.day, calendar=cal
        )
    except CreditCommitError as exc:
        return CaseResult(case=case, decision=decision, plan=None, error=_error(exc))
    found = _mismatches(case.expect, decision, plan)
    if case.expect.consequences:
        try:
            rules = case.policy.at(case.day).revocation_rules
        except CreditCommitError as exc:
            return CaseResult(case=case, decision=decision, plan=plan, error=_error(exc))
        for outcome, expected in case.expect.consequences.items():
            got = consequence(case.item, outcome, rules)
            if got != expected:
                found.append(
                    f"consequence of {outcome.value}: expected {expected.action.value} under "
                    f"{expected.legal_basis}, got {got.action.value} under {got.legal_basis}"
                )
    return CaseResult(case=case, decision=decision, plan=plan, mismatches=found)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _mismatches(expect: Expectation, decision: Decision, plan: MaterialPlan) -> list[str]:
    got = list(decision.reason_codes)
    about_reasons: list[str] = []
    if expect.reasons is not None and list(expect.reasons) != got:
        order = (
            " (the same codes in another order)" if sorted(expect.reasons) == sorted(got) else ""
        )
        about_reasons.append(f"reasons: expected {list(expect.reasons)}, got {got}{order}")
    absent = [code for code in expect.reasons_include if code not in got]
    if absent:
        about_reasons.append(f"reasons: expected to include {absent}, got {got}")
    about_route: list[str] = []
    if expect.route is not None and decision.route is not expect.route:
        about_route.append(f"route: expected {expect.route.name}, got {decision.route.name}")
    if expect.eligible_route is not None and decision.eligible_route is not expect.eligible_route:
        about_route.append(
            f"eligible route: expected {expect.eligible_route.name}, "
            f"got {decision.eligible_route.name}"
        )
    # Say once why the decision went as it did: on the first reasons line, else the route's.
    if about_reasons or about_route:
        texts = "; ".join(f"{r.code}: {r.zh}" for r in decision.reasons)
        lines = about_reasons or about_route
        lines[0 if about_reasons else -1] += f" (reason texts: {texts})"
    found = about_route + about_reasons
    if expect.jurisdiction is not None and decision.jurisdiction != expect.jurisdiction:
        found.append(
            f"jurisdiction: expected the rules of {expect.jurisdiction}, got "
            f"{decision.jurisdiction or 'no place (national defaults)'}"
        )
    cited = [str(ref) for reason in decision.reasons for ref in reason.references]
    for text in expect.cites:
        if not any(text in ref for ref in cited):
            found.append(f"cites: expected a reference to {text!r}, got {cited}")
    for code, disposition in expect.materials.items():
        line = plan.line(code)
        if line.disposition is not disposition:
            found.append(
                f"material {code}: expected {disposition.value}, got {line.disposition.value} "
                f"({line.text()})"
            )
    for code, due in expect.due.items():
        line = plan.line(code)
        if line.due != due:
            actual = (
                f"no due date (the material is {line.disposition.value})"
                if line.due is None
                else line.due.isoformat()
            )
            found.append(f"due {code}: expected {due.isoformat()}, got {actual}")
    if expect.reduced is not None and plan.reduced != expect.reduced:
        waived = ", ".join(line.code for line in plan.waived) or "none"
        retrieved = ", ".join(line.code for line in plan.retrieved) or "none"
        found.append(
            f"reduced: expected {expect.reduced}, got {plan.reduced} "
            f"(waived: {waived}; retrieved: {retrieved})"
        )
    if expect.acceptable is not None and plan.acceptable is not expect.acceptable:
        missing = ", ".join(line.code for line in plan.missing)
        more = f" (missing: {missing})" if missing else ""
        found.append(
            f"acceptable: expected {_flag(expect.acceptable)}, got {_flag(plan.acceptable)}{more}"
        )
    return found


def load_scenarios(path: str | os.PathLike[str]) -> ScenarioFile:
    """Read a scenario file strictly; the same as :meth:`ScenarioFile.from_toml`."""
    return ScenarioFile.from_toml(path)


def check_scenarios(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    calendar: WorkingCalendar | None = None,
) -> list[CaseResult]:
    """Load and run the scenario files at ``paths``; the results in file and case order.

    A file is read whatever its name; a folder stands for the scenario files under it
    (:func:`is_scenario_file`), sorted. The first malformed file raises
    :class:`DataFileError`; :meth:`DataFileError.report` lists its problems.
    """
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    results: list[CaseResult] = []
    for path in given:
        p = Path(path)
        files = sorted(f for f in p.rglob("*.toml") if is_scenario_file(f)) if p.is_dir() else [p]
        for file in files:
            results.extend(load_scenarios(file).run(calendar))
    return results


# --------------------------------------------------------------------------- file schema
#
# Schema classes carry types only (see creditcommit._converter); the cross-field rules run
# afterwards and report problems with paths. Field order is the order docs/scenarios.md
# describes the keys in ("allowed: ..." lists it).


@attrs.frozen(kw_only=True)
class _DefaultsSchema:
    catalog: str = "sample"
    policy: str = "yangzhou"
    day: dt.date | None = None


@attrs.frozen(kw_only=True)
class _ApplicantSchema:
    id: str
    name: str
    kind: ApplicantKind | None = None


@attrs.frozen(kw_only=True)
class _ProjectSchema:
    major_level: ProjectLevel | None = None
    name: str | None = None
    investment_yuan: int | None = None


@attrs.frozen(kw_only=True)
class _RecordSchema:
    record_id: str | None = None
    kind: str
    severity: Severity
    decided_on: dt.date
    repaired_on: dt.date | None = None
    min_publicity_months: int | None = None
    max_publicity_months: int | None = None
    subject: str | None = None
    description: str | None = None
    item: str | None = None


@attrs.frozen(kw_only=True)
class _CreditSchema:
    grade: str | None = None
    scale: str | None = None
    # Each record is structured on its own, so that every record's problems are reported.
    records: list[Any] = attrs.field(factory=list)
    unavailable: str | None = None


@attrs.frozen(kw_only=True)
class _ConsequenceSchema:
    action: SupervisionAction
    instrument: str
    article: str | None = None


@attrs.frozen(kw_only=True)
class _ExpectSchema:
    route: Route | None = None
    refused_until: dt.date | None = None
    eligible_route: Route | None = None
    jurisdiction: str | None = None
    cites: list[str] = attrs.field(factory=list)
    reasons: list[str] | None = None
    reasons_include: list[str] = attrs.field(factory=list)
    materials: dict[str, Disposition] = attrs.field(factory=dict)
    due: dict[str, dt.date] = attrs.field(factory=dict)
    reduced: int | None = None
    acceptable: bool | None = None
    consequences: dict[str, _ConsequenceSchema] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class _CaseSchema:
    name: str
    note: str | None = None
    item: str
    day: dt.date | None = None
    applicant: _ApplicantSchema
    project: _ProjectSchema | None = None
    # "none", "unavailable" or a table: checked by hand in _credit().
    credit: Any
    licences: list[str] = attrs.field(factory=list)
    provided: list[str] = attrs.field(factory=list)
    choose_standard: bool = False
    expect: _ExpectSchema


@attrs.frozen(kw_only=True)
class _FileSchema:
    defaults: Any = attrs.field(factory=dict)
    cases: list[Any] = attrs.field(factory=list)


def _under(path: str, sub: str) -> str:
    if not sub:
        return path
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


def _typed(raw: object, cls: type[Any], path: str, source: str) -> tuple[Any, list[Problem]]:
    """``raw`` structured strictly as ``cls``, or the problems with paths under ``path``."""
    try:
        return structure(raw, cls, source=source), []
    except DataFileError as exc:
        return None, [Problem(_under(path, p.path), p.message) for p in exc.problems]


_HEADER = re.compile(r"^\s*\[")
_NAME_KEY = re.compile(r"^\s*name\s*=")


def _case_lines(text: str) -> list[int]:
    """The line of each ``[[cases]]`` entry's ``name`` key (else of its header), in order.

    A cheap scan rather than a TOML parser: it follows table headers, so the ``name`` of
    ``[cases.applicant]`` is not taken for the case's.
    """
    found: list[int] = []
    in_case = named = False
    for number, line in enumerate(text.splitlines(), 1):
        if _HEADER.match(line):
            header = "".join(line.split("#", 1)[0].split())
            in_case = header == "[[cases]]"
            if in_case:
                found.append(number)
                named = False
        elif in_case and not named and _NAME_KEY.match(line):
            found[-1] = number
            named = True
    return found


@attrs.frozen(kw_only=True)
class _Context:
    """What every case of one file shares while the file is loaded."""

    source: str
    #: One line number per case, or None each if the scan did not find one per case.
    lines: Sequence[int | None]
    default_day: dt.date | None
    catalog: Catalog | None
    policy: Policy | None


def _resolve(value: str, folder: Path | None) -> Path:
    path = Path(value)
    if path.is_absolute() or folder is None:
        return path
    # normpath, not resolve(): "../catalogue.toml" reads better than a path through links.
    return Path(os.path.normpath(folder / path))


def _pick_catalog(
    value: str, folder: Path | None, path: str
) -> tuple[Catalog | None, list[Problem]]:
    builtin = _CATALOGS.get(value)
    if builtin is not None:
        return builtin(), []
    file = _resolve(value, folder)
    if not file.is_file():
        return None, [
            Problem(
                path,
                "expected 'sample', 'yangzhou' or the path of a catalogue file relative to "
                f"this file, got {value!r} (no file at {file})",
            )
        ]
    # A malformed catalogue raises its own DataFileError, naming the catalogue file.
    return Catalog.from_toml(file), []


def _pick_policy(value: str, folder: Path | None, path: str) -> tuple[Policy | None, list[Problem]]:
    builtin = _POLICIES.get(value)
    if builtin is not None:
        return builtin(), []
    file = _resolve(value, folder)
    if not file.is_file():
        return None, [
            Problem(
                path,
                "expected 'yangzhou', 'national' or the path of a city policy file relative "
                f"to this file, got {value!r} (no file at {file})",
            )
        ]
    return Policy.load(file), []


def _load(data: object, source: str, folder: Path | None, lines: Sequence[int]) -> ScenarioFile:
    top: _FileSchema = structure(data, _FileSchema, source=source)
    defaults, problems = _typed(top.defaults, _DefaultsSchema, "defaults", source)
    catalog: Catalog | None = None
    policy: Policy | None = None
    if defaults is not None:
        catalog, found = _pick_catalog(defaults.catalog, folder, "defaults.catalog")
        problems += found
        policy, found = _pick_policy(defaults.policy, folder, "defaults.policy")
        problems += found
    if not top.cases:
        problems.append(Problem("cases", "expected at least one case ([[cases]])"))
    count = len(top.cases)
    context = _Context(
        source=source,
        lines=lines if len(lines) == count else [None] * count,
        default_day=None if defaults is None else defaults.day,
        catalog=catalog,
        policy=policy,
    )
    cases: list[ScenarioCase] = []
    first: dict[str, int] = {}
    for i, raw in enumerate(top.cases):
        case, found = _case(raw, i, context)
        if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
            name = raw["name"]
            if name in first:
                found.append(
                    Problem(
                        f"cases[{i}].name",
                        f"duplicate case name {name!r} (also cases[{first[name]}]); "
                        "every case needs its own name",
                    )
                )
            first.setdefault(name, i)
        problems += [Problem(p.path, p.message + _where(raw, context.lines[i])) for p in found]
        if case is not None:
            cases.append(case)
    if problems:
        raise DataFileError(source, problems)
    # No problems means that both were loaded.
    assert catalog is not None
    assert policy is not None
    return ScenarioFile(source=source, catalog=catalog, policy=policy, cases=cases)


def _where(raw: object, line: int | None) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    parts = []
    if isinstance(name, str) and name.strip():
        parts.append(f"case {name!r}")
    if line is not None:
        parts.append(f"line {line}")
    return f" ({', '.join(parts)})" if parts else ""


def _case(raw: object, index: int, context: _Context) -> tuple[ScenarioCase | None, list[Problem]]:
    path = f"cases[{index}]"
    schema, problems = _typed(raw, _CaseSchema, path, context.source)
    if schema is None:
        return None, problems
    s: _CaseSchema = schema
    day = s.day if s.day is not None else context.default_day
    catalog, policy = context.catalog, context.policy
    item: ApprovalItem | None = None
    scale: GradeScale | None = None
    if day is None:
        problems.append(
            Problem(f"{path}.day", "required key is missing (and [defaults] sets no day)")
        )
    else:
        if catalog is not None:
            item = _item(catalog, s.item, day, f"{path}.item", problems)
        if policy is not None:
            scale = _scale(policy, day, f"{path}.day", problems)
        problems += _calendar_problems(day, f"{path}.day")
    applicant = _applicant(s.applicant, f"{path}.applicant", problems)
    credit: CreditEvidence | CreditLookupFailure | None = None
    if applicant is not None and day is not None and scale is not None:
        credit = _credit(
            s.credit,
            subject=applicant.identifier,
            day=day,
            policy_scale=scale,
            path=f"{path}.credit",
            problems=problems,
            kinds=frozenset(policy.record_kinds) if policy is not None else frozenset(),
        )
    if item is not None and day is not None:
        expected = [(f"expect.materials.{code}", code) for code in s.expect.materials]
        expected += [(f"expect.due.{code}", code) for code in s.expect.due]
        found = _case_problems(
            name=s.name,
            item=item,
            day=day,
            provided=s.provided,
            licence_types=s.licences,
            expected_codes=expected,
            path="",
        )
        problems += [Problem(f"{path}.{p.path}", p.message) for p in found]
    problems += _expect_problems(
        s.expect.reasons, s.expect.reasons_include, s.expect.reduced, f"{path}.expect"
    )
    problems += _outcome_problems(s.expect.route, s.expect.refused_until, f"{path}.expect")
    consequences = _expected_consequences(s.expect.consequences, f"{path}.expect", problems)
    if problems or item is None or day is None or policy is None or applicant is None:
        return None, problems
    project = ProjectFacts()
    if s.project is not None:
        project = ProjectFacts(s.project.major_level, s.project.name, s.project.investment_yuan)
    case = ScenarioCase(
        name=s.name,
        file=context.source,
        line=context.lines[index],
        note=s.note,
        item=item,
        day=day,
        policy=policy,
        applicant=applicant,
        project=project,
        credit=credit,
        licences=[
            LicenceHolding(kind, f"{SCENARIO_SOURCE}:{kind}:{applicant.identifier}")
            for kind in s.licences
        ],
        provided=s.provided,
        choose_standard=s.choose_standard,
        expect=Expectation(
            route=s.expect.route,
            refused_until=s.expect.refused_until,
            eligible_route=s.expect.eligible_route,
            jurisdiction=s.expect.jurisdiction,
            cites=s.expect.cites,
            reasons=s.expect.reasons,
            reasons_include=s.expect.reasons_include,
            materials=s.expect.materials,
            due=s.expect.due,
            reduced=s.expect.reduced,
            acceptable=s.expect.acceptable,
            consequences=consequences,
        ),
    )
    return case, []


_ADVERSE = tuple(o for o in VerificationOutcome if o.adverse)


def _expected_consequences(
    raw: Mapping[str, _ConsequenceSchema], path: str, problems: list[Problem]
) -> dict[VerificationOutcome, Consequence]:
    found: dict[VerificationOutcome, Consequence] = {}
    by_value = {o.value: o for o in _ADVERSE}
    names = ", ".join(repr(o.value) for o in _ADVERSE[:-1]) + f" or {_ADVERSE[-1].value!r}"
    for key, value in raw.items():
        where = f"{path}.consequences.{key}"
        outcome = by_value.get(key)
        if outcome is None:
            kept = (
                ": a kept commitment has no consequence"
                if key == VerificationOutcome.FULFILLED.value
                else ""
            )
            problems.append(Problem(where, f"expected an adverse outcome ({names}){kept}"))
            continue
        if not value.instrument.strip():
            problems.append(Problem(f"{where}.instrument", "must not be empty"))
            continue
        basis = LegalReference(value.instrument, value.article)
        found[outcome] = Consequence(value.action, basis)
    return found


def _calendar_problems(day: dt.date, path: str) -> list[Problem]:
    calendar = WorkingCalendar.china()
    if calendar.covers(day.year):
        return []
    years = calendar.years
    return [
        Problem(
            path,
            f"the working-day calendar has no data for {day.year} "
            f"(it covers {years[0]}-{years[-1]})",
        )
    ]


def _item(
    catalog: Catalog, code: str, day: dt.date, path: str, problems: list[Problem]
) -> ApprovalItem | None:
    try:
        return catalog.item(code, day)
    except UnknownItem:
        problems.append(
            Problem(
                path,
                f"approval item {code!r} is not in the catalogue "
                f"{catalog.name!r}{_close(code, catalog.codes(), 'its items')}",
            )
        )
    except NoValueInForce:
        versions = ", ".join(
            f"from {start.isoformat()}" + ("" if end is None else f" until {end.isoformat()}")
            for start, end in catalog.timeline(code).spans()
        )
        problems.append(
            Problem(
                path,
                f"approval item {code!r} is not in force on {day.isoformat()} "
                f"(versions: {versions})",
            )
        )
    return None


def _scale(policy: Policy, day: dt.date, path: str, problems: list[Problem]) -> GradeScale | None:
    try:
        return policy.at(day).grade_scale
    except NoValueInForce as exc:
        problems.append(
            Problem(
                path,
                f"the policy {policy.version.name!r} has no value of {exc.name!r} in force on "
                f"{day.isoformat()}; a decision needs every setting (the national defaults "
                "set no grade scale or threshold: use a city policy)",
            )
        )
        return None


def _applicant(schema: _ApplicantSchema, path: str, problems: list[Problem]) -> Applicant | None:
    found: list[Problem] = []
    if not schema.name.strip():
        found.append(Problem(f"{path}.name", "expected a non-empty applicant name"))
    elif (hostile := text_problem(schema.name)) is not None:
        found.append(Problem(f"{path}.name", hostile))
    kind = schema.kind
    identifier: str | None = None
    try:
        if kind is ApplicantKind.NATURAL_PERSON:
            identifier = ResidentId.parse(schema.id).value
        elif kind is not None:
            identifier = USCC.parse(schema.id).value
        else:
            identifier, kind = _either_identifier(schema.id)
    except InvalidIdentifier as exc:
        what = (
            "a resident identity number (居民身份证号码)"
            if kind is ApplicantKind.NATURAL_PERSON
            else "a unified social credit code (统一社会信用代码)"
        )
        found.append(
            Problem(
                f"{path}.id",
                f"expected {what} for an applicant of kind {kind.value if kind else ''!r}: "
                f"{exc.detail} (rule: {exc.rule})",
            )
        )
    except ValueError as exc:
        found.append(Problem(f"{path}.id", str(exc)))
    problems += found
    if found or identifier is None or kind is None:
        return None
    return Applicant(identifier, schema.name, kind)


def _either_identifier(text: str) -> tuple[str, ApplicantKind]:
    """A USCC makes a legal person, a resident identity number a natural person."""
    try:
        return USCC.parse(text).value, ApplicantKind.LEGAL_PERSON
    except InvalidIdentifier as as_uscc:
        try:
            return ResidentId.parse(text).value, ApplicantKind.NATURAL_PERSON
        except InvalidIdentifier as as_rid:
            raise ValueError(
                "expected a unified social credit code (统一社会信用代码) or a resident "
                f"identity number (居民身份证号码); as a USCC: {as_uscc.detail} (rule: "
                f"{as_uscc.rule}); as a resident identity number: {as_rid.detail} (rule: "
                f"{as_rid.rule})"
            ) from None


def _credit(
    raw: object,
    *,
    subject: str,
    day: dt.date,
    policy_scale: GradeScale,
    path: str,
    problems: list[Problem],
    kinds: frozenset[str] = frozenset(),
) -> CreditEvidence | CreditLookupFailure | None:
    at = dt.datetime.combine(day, _RETRIEVED_AT)
    if raw == "none":
        return None
    if raw == "unavailable":
        return CreditLookupFailure(
            subject=subject, source=SCENARIO_SOURCE, attempted_at=at, reason=_DEFAULT_FAILURE
        )
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                path,
                "expected 'none' (not asked), 'unavailable' (the source failed) or a table "
                f'with grade and records, or with unavailable = "what failed"; got {describe(raw)}',
            )
        )
        return None
    schema, found = _typed(raw, _CreditSchema, path, "<credit>")
    if schema is None:
        problems += found
        return None
    s: _CreditSchema = schema
    if s.unavailable is not None:
        if s.grade is not None or s.scale is not None or s.records:
            problems.append(
                Problem(
                    f"{path}.unavailable",
                    "a failed lookup has no grade, scale or records: give either "
                    "unavailable or the source's answer",
                )
            )
            return None
        if not s.unavailable.strip():
            problems.append(
                Problem(f"{path}.unavailable", "expected a text saying what failed, got ''")
            )
            return None
        return CreditLookupFailure(
            subject=subject, source=SCENARIO_SOURCE, attempted_at=at, reason=s.unavailable
        )
    scale_name = policy_scale.name if s.scale is None else s.scale
    scale = policy_scale if scale_name == policy_scale.name else GRADE_SCALE_PRESETS.get(scale_name)
    grade = s.grade
    found = []
    if not scale_name.strip():
        found.append(Problem(f"{path}.scale", "expected a grade-scale name, got ''"))
    if grade is not None and scale is not None:
        try:
            grade = scale.grade(grade).code
        except UnknownGrade as exc:
            found.append(Problem(f"{path}.grade", str(exc)))
    records = [
        _record(raw_record, j, subject, f"{path}.records[{j}]", found, kinds=kinds)
        for j, raw_record in enumerate(s.records)
    ]
    problems += found
    if found:
        return None
    try:
        return CreditEvidence.create(
            subject=subject,
            source=SCENARIO_SOURCE,
            retrieved_at=at,
            scale=scale_name,
            grade=grade,
            records=[r for r in records if r is not None],
        )
    except InvalidValue as exc:
        problems += [Problem(_under(path, p.path), p.message) for p in exc.problems]
        return None


def _record(
    raw: object,
    index: int,
    subject: str,
    path: str,
    problems: list[Problem],
    *,
    kinds: frozenset[str] = frozenset(),
) -> CreditRecord | None:
    # A national kind, or a city kind the scenario's policy declares ([record_kinds]).
    kind = raw.get("kind") if isinstance(raw, Mapping) else None
    wrong_kind = record_kind_problem(kind, kinds) if isinstance(kind, str) else None
    if wrong_kind is not None:
        problems.append(Problem(f"{path}.kind", wrong_kind))
    schema, found = _typed(raw, _RecordSchema, path, "<record>")
    if schema is None or wrong_kind is not None:
        problems += found
        return None
    r: _RecordSchema = schema
    lo, hi = r.min_publicity_months, r.max_publicity_months
    if (lo is None) != (hi is None):
        given, other = (
            ("min_publicity_months", "max_publicity_months")
            if hi is None
            else ("max_publicity_months", "min_publicity_months")
        )
        problems.append(
            Problem(
                f"{path}.{other}",
                f"required with {given}: give both publicity periods, or neither to use the "
                f"default periods for severity {r.severity.value!r}",
            )
        )
        return None
    fields: dict[str, Any] = {
        "record_id": f"R{index + 1}" if r.record_id is None else r.record_id,
        "subject": subject if r.subject is None else r.subject,
        "kind": r.kind,
        "severity": r.severity,
        "decided_on": r.decided_on,
        "repaired_on": r.repaired_on,
        "description": r.description,
        "item_code": r.item,
    }
    try:
        if lo is None or hi is None:
            return CreditRecord.with_default_periods(**fields)
        return CreditRecord(min_publicity_months=lo, max_publicity_months=hi, **fields)
    except InvalidValue as exc:
        problems += [Problem(_under(path, p.path), p.message) for p in exc.problems]
        return None
