"""City policies (审批分级政策) as dated data, and the route decision :func:`decide`.

A :class:`Policy` is read from TOML files: the national defaults shipped with the library
(``data/policy-national.toml``, citing 国办发〔2020〕42号 and 行政许可法) and the overlays a
city (or district) adds. Every setting is a :class:`~creditcommit.effective.Timeline` of
dated values, each with its legal reference. :meth:`Policy.at` gives a frozen
:class:`PolicySnapshot` of everything in force on a day; :func:`decide` maps an application
to a :class:`~creditcommit.decision.Route` with reasons under that snapshot, and
:class:`Decider` does the same for millions of applications at a time.

The rules, their order and their legal basis are documented in ``docs/policy.md``; the
reason codes in ``docs/reasons.md``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import hashlib
import importlib.resources
import itertools
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, TypeVar

import attrs

from creditcommit._bulk import bulk
from creditcommit._converter import describe, read_toml, structure
from creditcommit.catalog import ApprovalItem, CommitmentMode
from creditcommit.credit import (
    GBT_22116,
    SAMR_A_D,
    YANGZHOU_A_E,
    CityRecordKind,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    FailureCategory,
    Grade,
    GradeScale,
    Severity,
    add_months,
    kind_code,
    record_kind,
    record_kind_problem,
)
from creditcommit.decision import (
    Applicant,
    Decision,
    ProjectFacts,
    ProjectLevel,
    Reason,
    Route,
    _set_applicant,
    _set_catalog,
    _set_decided_on,
    _set_eligible_route,
    _set_evidence_digest,
    _set_item_code,
    _set_item_valid_from,
    _set_jurisdiction,
    _set_major_project,
    _set_policy,
    _set_reasons,
    _set_route,
    _trusted_decision,
)
from creditcommit.decision import (
    _new as _new_decision,
)
from creditcommit.effective import (
    Dated,
    Instrument,
    InstrumentRegistry,
    LegalReference,
    RuleVersion,
    Timeline,
)
from creditcommit.errors import (
    ConflictingValues,
    DataFileError,
    InvalidValue,
    NoValueInForce,
    Problem,
    ReapplicationBarred,
)
from creditcommit.reasons import (
    FAILURE_CATEGORY_LABELS,
    PROJECT_LEVEL_LABELS,
    REASONS,
    RECORD_KIND_LABELS,
    SEVERITY_LABELS,
    domain_label,
)
from creditcommit.supervision import InspectionRatios, RevocationRules

__all__ = [
    "ALL_ITEMS",
    "Application",
    "BlockLasts",
    "BlockingRule",
    "Decider",
    "EXCLUDED_BY_GUOBAN_42",
    "GRADE_SCALE_PRESETS",
    "MajorProjectCredit",
    "Policy",
    "PolicySnapshot",
    "PublicationDeadlines",
    "ReapplicationBan",
    "SETTINGS",
    "bundled_instruments",
    "code_place",
    "decide",
    "decide_many",
    "division_contains",
    "item_place",
]

SETTINGS: tuple[str, ...] = (
    "grade_scale",
    "major_project_levels",
    "major_project_credit",
    "conditional_threshold",
    "blocking_records",
    "reapplication_ban_months",
    "credit_unavailable",
    "credit_evidence_max_age_days",
    "commitment_items",
    "excluded_domains",
    "deferred_grace_working_days",
    "statement_window_working_days",
    "publication_working_days",
    "revocation_rules",
    "inspection_ratios",
)
"""Every setting a policy file may set, in the order ``docs/policy.md`` describes them."""

EXCLUDED_BY_GUOBAN_42: frozenset[str] = frozenset(
    {
        "national-security",
        "state-secrets",
        "public-safety",
        "financial-prudential",
        "ecological-environment",
        "personal-health-life-property",
        "foreign-affairs",
    }
)
"""The domain tags of the matters 国办发〔2020〕42号 excludes from the commitment system.

国家安全, 国家秘密, 公共安全, 金融业审慎监管, 生态环境保护, 直接关系人身健康、生命财产安全,
重要涉外事项 (domain.md §4.1). The national policy excludes exactly these tags.
"""

GRADE_SCALE_PRESETS: Mapping[str, GradeScale] = MappingProxyType(
    {scale.name: scale for scale in (YANGZHOU_A_E, SAMR_A_D, GBT_22116)}
)
"""The grade scales a policy file may name instead of listing grades."""

ALL_ITEMS: Literal["all"] = "all"
"""``commitment_items`` value meaning every item whose commitment mode is not ``none``."""

_SEVERITY_RANK = {Severity.MINOR: 0, Severity.GENERAL: 1, Severity.SERIOUS: 2}

# China Standard Time: the day a piece of credit evidence was retrieved on is its day in China.
_CHINA_TIME = dt.timezone(dt.timedelta(hours=8))


# --------------------------------------------------------------------------- rule values


class MajorProjectCredit(enum.Enum):
    """What a listed major project's route depends on (``major_project_credit``).

    The route must never depend on whether the credit platform happens to be up: either
    nobody asks, or the answer is needed and its absence fails closed.
    """

    #: No credit query is made (无需查询信用等级): the service does not call the credit
    #: source, and the project takes the commitment route directly whatever a source
    #: would have said.
    NO_QUERY = "no-query"
    #: The credit source is asked; blocking records and re-application bans still bar the
    #: commitment route, the grade is not looked at, and a failed look-up (or untrustworthy
    #: evidence) means the standard route, as for any other application.
    BLOCKING_RECORDS = "blocking-records"


class BlockLasts(enum.Enum):
    """How long a matching credit record bars the commitment route."""

    #: While the record is active: decided, not repaired, still published.
    WHILE_ACTIVE = "while-active"
    #: From its decision until credit repair (信用修复), even after publicity ends.
    UNTIL_REPAIRED = "until-repaired"


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


@attrs.frozen
class BlockingRule:
    """Credit records that bar the commitment route (阻却适用的信用记录).

    A record of ``kind`` whose severity is ``min_severity`` or worse blocks while it is
    active, or, with :attr:`BlockLasts.UNTIL_REPAIRED`, until it is repaired.
    """

    kind: CreditRecordKind | str = attrs.field(converter=record_kind)
    """A national kind, or the code of a city kind the policy declares (``record_kinds``)."""
    min_severity: Severity
    lasts: BlockLasts = BlockLasts.WHILE_ACTIVE
    reference: LegalReference | None = attrs.field(default=None, kw_only=True)

    def matches(self, record: CreditRecord) -> bool:
        """True if the record is of this kind and at least this severe (on any day)."""
        return (
            record.kind == self.kind
            and _SEVERITY_RANK[record.severity] >= _SEVERITY_RANK[self.min_severity]
        )

    def blocks(self, record: CreditRecord, on: dt.date) -> bool:
        """True if the record bars the commitment route on ``on``."""
        if not self.matches(record):
            return False
        if self.lasts is BlockLasts.UNTIL_REPAIRED:
            return record.decided_on <= on and not record.is_repaired(on)
        return record.is_active(on)


def _ban_problems(months: int, domains: Iterable[str], path: str = "") -> list[Problem]:
    where = f"{path}." if path else ""
    problems = []
    if months < 1:
        problems.append(Problem(f"{where}months", f"expected at least 1 month, got {months}"))
    for i, tag in enumerate(domains):
        if not tag.strip():
            problems.append(Problem(f"{where}domains[{i}]", "must not be empty"))
    return problems


def _tag_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class ReapplicationBan:
    """A bar on applying for the same licence again (不得再次申请该行政许可).

    行政许可法 第七十八条: concealment or false material at application bars a new
    application for the same licence for one year; 第七十九条: a licence obtained by fraud or
    bribery (a false commitment is such a deception) bars it for three years. Both apply
    only where the licence concerns public safety, personal health or life and property:
    ``domains`` are those tags (every item when empty). After a record of ``kind`` about an
    item (:attr:`CreditRecord.item_code`), the applicant may not apply for *that item* for
    ``months`` months from the record's decision day; other items stay open. Credit repair
    does not shorten a statutory ban.
    """

    kind: CreditRecordKind | str = attrs.field(converter=record_kind)
    months: int
    domains: frozenset[str] = attrs.field(default=frozenset(), converter=_tag_set)
    reference: LegalReference | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _raise_if("ReapplicationBan", _ban_problems(self.months, sorted(self.domains)))

    def ends_on(self, record: CreditRecord) -> dt.date:
        """The first day the ban no longer runs."""
        return add_months(record.decided_on, self.months)

    def bans(
        self, record: CreditRecord, item_code: str, item_domains: frozenset[str], on: dt.date
    ) -> bool:
        """True if the record bars an application for item ``item_code`` on ``on``."""
        return (
            record.kind == self.kind
            and record.item_code == item_code
            and (not self.domains or not self.domains.isdisjoint(item_domains))
            and record.decided_on <= on < self.ends_on(record)
        )


def _positive_days(values: Mapping[str, int], path: str = "") -> list[Problem]:
    where = f"{path}." if path else ""
    return [
        Problem(f"{where}{name}", f"expected at least 1 working day, got {days}")
        for name, days in values.items()
        if days < 1
    ]


@attrs.frozen
class PublicationDeadlines:
    """Publication deadlines in working days (公示时限), for the publication issue.

    ``dual_publicity``: licence and penalty decisions on credit websites (双公示, 7);
    ``enterprise_information``: information produced by a registration authority (企业信息
    公示暂行条例 Art 6, 20); ``withdrawal``: withdrawing a changed or revoked decision (3).
    """

    dual_publicity: int
    enterprise_information: int
    withdrawal: int

    def __attrs_post_init__(self) -> None:
        _raise_if("PublicationDeadlines", _positive_days(attrs.asdict(self)))


# --------------------------------------------------------------------------- file schema
#
# Schema classes carry types only (see creditcommit._converter). A dated entry's key is
# ``from``, a Python keyword, so entries are checked by hand and only their parts go
# through the strict converter.


@attrs.frozen(kw_only=True)
class _HeaderSchema:
    name: str
    version: str
    description: str | None = None
    place: str | None = None
    place_name: str | None = None
    domains: list[str] = attrs.field(factory=list)
    items: list[str] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class _FileSchema:
    policy: _HeaderSchema
    grade_scale: list[Any] = attrs.field(factory=list)
    major_project_levels: list[Any] = attrs.field(factory=list)
    major_project_credit: list[Any] = attrs.field(factory=list)
    conditional_threshold: list[Any] = attrs.field(factory=list)
    blocking_records: list[Any] = attrs.field(factory=list)
    reapplication_ban_months: list[Any] = attrs.field(factory=list)
    credit_unavailable: list[Any] = attrs.field(factory=list)
    credit_evidence_max_age_days: list[Any] = attrs.field(factory=list)
    commitment_items: list[Any] = attrs.field(factory=list)
    excluded_domains: list[Any] = attrs.field(factory=list)
    deferred_grace_working_days: list[Any] = attrs.field(factory=list)
    statement_window_working_days: list[Any] = attrs.field(factory=list)
    publication_working_days: list[Any] = attrs.field(factory=list)
    revocation_rules: list[Any] = attrs.field(factory=list)
    inspection_ratios: list[Any] = attrs.field(factory=list)
    instruments: list[Any] = attrs.field(factory=list)
    # Not dated: the city-specific record kinds the file declares (CityRecordKind).
    record_kinds: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class _ReferenceSchema:
    instrument: str
    article: str | None = None
    url: str | None = None


@attrs.frozen(kw_only=True)
class _BlockingRuleSchema:
    kind: str
    min_severity: Severity
    lasts: BlockLasts = BlockLasts.WHILE_ACTIVE
    reference: _ReferenceSchema | None = None


@attrs.frozen(kw_only=True)
class _BanSchema:
    kind: str
    months: int
    domains: list[str] = attrs.field(factory=list)
    reference: _ReferenceSchema | None = None


@attrs.frozen(kw_only=True)
class _PublicationSchema:
    dual_publicity: int
    enterprise_information: int
    withdrawal: int


_ENTRY_KEYS = ("from", "until", "value", "reference")


def _join(path: str, sub: str) -> str:
    if not sub:
        return path
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


def _typed(raw: object, cls: Any, path: str, source: str) -> tuple[Any, list[Problem]]:
    """``raw`` structured strictly as ``cls``, or the problems with paths under ``path``."""
    try:
        return structure(raw, cls, source=source), []
    except DataFileError as exc:
        return None, [Problem(_join(path, p.path), p.message) for p in exc.problems]


def _reference(schema: _ReferenceSchema | None) -> LegalReference | None:
    if schema is None:
        return None
    return LegalReference(schema.instrument, schema.article, schema.url)


def _reference_problems(schema: _ReferenceSchema | None, path: str) -> list[Problem]:
    if schema is not None and not schema.instrument.strip():
        return [Problem(f"{path}.instrument", "must not be empty")]
    return []


def _blank_items(values: Sequence[str], path: str) -> list[Problem]:
    return [
        Problem(f"{path}[{i}]", "must not be empty") for i, v in enumerate(values) if not v.strip()
    ]


_Parsed = tuple[Any, list[Problem]]


def _parse_grade_scale(raw: object, path: str, source: str) -> _Parsed:
    presets = ", ".join(repr(name) for name in sorted(GRADE_SCALE_PRESETS))
    if isinstance(raw, str):
        preset = GRADE_SCALE_PRESETS.get(raw)
        if preset is None:
            return None, [
                Problem(
                    path,
                    f"unknown grade-scale preset {raw!r} (presets: {presets}); "
                    "or give a table with name and grades",
                )
            ]
        return preset, []
    if isinstance(raw, Mapping):
        try:
            return GradeScale.from_dict(raw, source=source), []
        except DataFileError as exc:
            return None, [Problem(_join(path, p.path), p.message) for p in exc.problems]
    return None, [
        Problem(
            path,
            f"expected a preset name ({presets}) or a table with name and grades, "
            f"got {describe(raw)}",
        )
    ]


def _parse_levels(raw: object, path: str, source: str) -> _Parsed:
    levels, problems = _typed(raw, list[ProjectLevel], path, source)
    return (None if problems else frozenset(levels)), problems


def _parse_threshold(raw: object, path: str, source: str) -> _Parsed:
    code, problems = _typed(raw, str, path, source)
    if not problems and not code.strip():
        problems = [Problem(path, "expected a grade code, got an empty string")]
    return (None if problems else code), problems


# The floor every blocking_records value must keep: 国办发〔2020〕42号 makes applicants on a
# serious-dishonesty list, or with a prior false commitment, ineligible until credit repair.
_FLOOR = (
    (CreditRecordKind.SERIOUS_DISHONESTY_LIST, BlockLasts.WHILE_ACTIVE),
    (CreditRecordKind.FALSE_COMMITMENT, BlockLasts.UNTIL_REPAIRED),
)


def _floor_problems(rules: Sequence[BlockingRule], path: str) -> list[Problem]:
    problems = []
    for kind, lasts in _FLOOR:
        kept = any(
            r.kind is kind
            and r.min_severity is Severity.MINOR
            and (lasts is BlockLasts.WHILE_ACTIVE or r.lasts is BlockLasts.UNTIL_REPAIRED)
            for r in rules
        )
        if not kept:
            how = "until repaired" if lasts is BlockLasts.UNTIL_REPAIRED else "while active"
            problems.append(
                Problem(
                    path,
                    f"must keep the rule {{ kind = {kind.value!r}, min_severity = 'minor'"
                    + (", lasts = 'until-repaired'" if lasts is BlockLasts.UNTIL_REPAIRED else "")
                    + f" }}: 国办发〔2020〕42号 bars such applicants {how} (fail closed)",
                )
            )
    return problems


def _kind_problems(kinds: Iterable[str], path: str) -> list[Problem]:
    """Kinds that are neither national nor well-formed city codes (declared: see Policy)."""
    found = ((i, record_kind_problem(kind)) for i, kind in enumerate(kinds))
    return [Problem(f"{path}[{i}].kind", message) for i, message in found if message]


def _parse_blocking(raw: object, path: str, source: str) -> _Parsed:
    schemas, problems = _typed(raw, list[_BlockingRuleSchema], path, source)
    if problems:
        return None, problems
    problems += _kind_problems((s.kind for s in schemas), path)
    for i, s in enumerate(schemas):
        problems += _reference_problems(s.reference, f"{path}[{i}].reference")
    if problems:
        return None, problems
    rules = tuple(
        BlockingRule(s.kind, s.min_severity, s.lasts, reference=_reference(s.reference))
        for s in schemas
    )
    problems += _floor_problems(rules, path)
    return (None if problems else rules), problems


def _parse_bans(raw: object, path: str, source: str) -> _Parsed:
    schemas, problems = _typed(raw, list[_BanSchema], path, source)
    if problems:
        return None, problems
    problems += _kind_problems((s.kind for s in schemas), path)
    for i, s in enumerate(schemas):
        problems += _ban_problems(s.months, s.domains, f"{path}[{i}]")
        problems += _reference_problems(s.reference, f"{path}[{i}].reference")
    if problems:
        return None, problems
    bans = tuple(
        ReapplicationBan(s.kind, s.months, s.domains, reference=_reference(s.reference))
        for s in schemas
    )
    return bans, []


def _parse_unavailable(raw: object, path: str, source: str) -> _Parsed:
    text, problems = _typed(raw, str, path, source)
    if problems:
        return None, problems
    if text == Route.STANDARD.value:
        return Route.STANDARD, []
    if text in {route.value for route in Route}:
        message = (
            "a policy may only choose 'standard' here: without usable credit evidence the "
            f"decision fails closed and never grants a commitment route, got {text!r}"
        )
    else:
        message = f"expected 'standard', got {describe(text)}"
    return None, [Problem(path, message)]


def _parse_major_credit(raw: object, path: str, source: str) -> _Parsed:
    mode, problems = _typed(raw, MajorProjectCredit, path, source)
    return (None if problems else mode), problems


def _parse_max_age(raw: object, path: str, source: str) -> _Parsed:
    days, problems = _typed(raw, int, path, source)
    if not problems and days < 0:
        problems = [Problem(path, f"expected 0 (the decision day only) or more days, got {days}")]
    return (None if problems else days), problems


def _parse_items(raw: object, path: str, source: str) -> _Parsed:
    if raw == ALL_ITEMS:
        return ALL_ITEMS, []
    if isinstance(raw, str):
        return None, [
            Problem(path, f"expected 'all' or an array of item codes, got {describe(raw)}")
        ]
    codes, problems = _typed(raw, list[str], path, source)
    if problems:
        return None, problems
    problems = _blank_items(codes, path)
    return (None if problems else frozenset(codes)), problems


def _parse_domains(raw: object, path: str, source: str) -> _Parsed:
    tags, problems = _typed(raw, list[str], path, source)
    if problems:
        return None, problems
    problems = _blank_items(tags, path)
    return (None if problems else frozenset(tags)), problems


def _parse_days(raw: object, path: str, source: str) -> _Parsed:
    days, problems = _typed(raw, int, path, source)
    if not problems and days < 1:
        problems = [Problem(path, f"expected at least 1 working day, got {days}")]
    return (None if problems else days), problems


def _parse_publication(raw: object, path: str, source: str) -> _Parsed:
    schema, problems = _typed(raw, _PublicationSchema, path, source)
    if problems:
        return None, problems
    problems = _positive_days(attrs.asdict(schema), path)
    if problems:
        return None, problems
    return PublicationDeadlines(**attrs.asdict(schema)), []


def _parse_revocation_rules(raw: object, path: str, source: str) -> _Parsed:
    try:
        return RevocationRules.from_dict(raw, source=source), []
    except DataFileError as exc:
        return None, [Problem(_join(path, p.path), p.message) for p in exc.problems]


def _parse_inspection_ratios(raw: object, path: str, source: str) -> _Parsed:
    try:
        return InspectionRatios.from_dict(raw, source=source), []
    except DataFileError as exc:
        return None, [Problem(_join(path, p.path), p.message) for p in exc.problems]


_PARSERS: Mapping[str, Callable[[object, str, str], _Parsed]] = {
    "grade_scale": _parse_grade_scale,
    "major_project_levels": _parse_levels,
    "major_project_credit": _parse_major_credit,
    "conditional_threshold": _parse_threshold,
    "blocking_records": _parse_blocking,
    "reapplication_ban_months": _parse_bans,
    "credit_unavailable": _parse_unavailable,
    "credit_evidence_max_age_days": _parse_max_age,
    "commitment_items": _parse_items,
    "excluded_domains": _parse_domains,
    "deferred_grace_working_days": _parse_days,
    "statement_window_working_days": _parse_days,
    "publication_working_days": _parse_publication,
    "revocation_rules": _parse_revocation_rules,
    "inspection_ratios": _parse_inspection_ratios,
}


def _parse_entry(
    setting: str, index: int, raw: object, source: str
) -> tuple[Dated[Any] | None, list[Problem]]:
    path = f"{setting}[{index}]"
    if not isinstance(raw, Mapping):
        return None, [
            Problem(path, f"expected a table {{ from = ..., value = ... }}, got {describe(raw)}")
        ]
    problems: list[Problem] = []
    unknown = [key for key in raw if key not in _ENTRY_KEYS]
    if unknown:
        names = ", ".join(repr(k) for k in sorted(unknown))
        problems.append(Problem(path, f"unknown key {names} (allowed: {', '.join(_ENTRY_KEYS)})"))
    start = until = value = reference = None
    for key in ("from", "value"):
        if key not in raw:
            problems.append(Problem(f"{path}.{key}", "required key is missing"))
    if "from" in raw:
        start, found = _typed(raw["from"], dt.date, f"{path}.from", source)
        problems += found
    if "until" in raw:
        until, found = _typed(raw["until"], dt.date, f"{path}.until", source)
        problems += found
    if "reference" in raw:
        ref_schema, found = _typed(raw["reference"], _ReferenceSchema, f"{path}.reference", source)
        found = found or _reference_problems(ref_schema, f"{path}.reference")
        if not found:
            reference = _reference(ref_schema)
        problems += found
    if "value" in raw:
        value, found = _PARSERS[setting](raw["value"], f"{path}.value", source)
        problems += found
    if start is not None and until is not None and until <= start:
        problems.append(
            Problem(
                f"{path}.until",
                f"until {until.isoformat()} must be after from {start.isoformat()} "
                "(until is the first day the value no longer holds)",
            )
        )
    if problems or start is None:
        return None, problems
    return Dated(start, value, end=until, reference=reference), []


# --------------------------------------------------------------------------- layers


def _canonical(value: object) -> object:
    """Plain JSON data for digests: sets sorted, enums by value, dates in ISO form."""
    if isinstance(value, GradeScale):
        return {"name": value.name, "grades": list(value.grades), "labels": dict(value.labels)}
    cls = type(value)
    if attrs.has(cls):
        return {f.name: _canonical(getattr(value, f.name)) for f in attrs.fields(cls)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted((_canonical(v) for v in value), key=json.dumps)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def _sha256(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_DIVISION = re.compile(r"[1-9][0-9]{5}")


def division_contains(outer: str, inner: str) -> bool:
    """True if administrative division ``inner`` lies inside (or is) ``outer`` (GB/T 2260).

    Codes nest by their zero tails: a province ``320000`` holds every ``32xxxx``, a city
    ``321000`` every ``3210xx``, a county or district only itself.

    >>> division_contains("321000", "321084"), division_contains("321000", "320100")
    (True, False)
    """
    if outer.endswith("0000"):
        return inner[:2] == outer[:2]
    if outer.endswith("00"):
        return inner[:4] == outer[:4]
    return inner == outer


def _division_level(code: str | None) -> int:
    """0 everywhere, 1 a province, 2 a city, 3 a county or district."""
    if code is None:
        return 0
    if code.endswith("0000"):
        return 1
    return 2 if code.endswith("00") else 3


def code_place(code: str) -> str | None:
    """The administrative division an item code names: its six-digit prefix, or ``None``.

    >>> code_place("321084-GGCSWSXK"), code_place("GGCSWSXK")
    ('321084', None)
    """
    head, sep, _ = code.partition("-")
    return head if sep and _DIVISION.fullmatch(head) else None


def item_place(item: ApprovalItem) -> str | None:
    """The administrative division an item is handled in: its code's six-digit prefix.

    Item codes of the bundled catalogue start with the division code of the implementing
    agency's place (``"321084-GGCSWSXK"``: 高邮市). ``None`` if the code has no such prefix.
    """
    return code_place(item.code)


@attrs.frozen(eq=False)
class _Layer:
    """One policy file: its header, the settings it sets, and where each entry came from."""

    name: str
    version: str
    description: str | None
    source: str
    settings: Mapping[str, Timeline[Any]]
    #: (setting, start) -> path of the entry in the file, e.g. "conditional_threshold[1]".
    paths: Mapping[tuple[str, dt.date], str]
    #: The division the file's rules apply to (None: wherever the policy is used).
    place: str | None = None
    place_name: str | None = None
    #: Items (by code) and domains the rules are limited to (both empty: every item).
    items: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    instruments: tuple[Instrument, ...] = ()
    #: The city-specific record kinds the file declares, by code.
    record_kinds: Mapping[str, CityRecordKind] = attrs.field(factory=dict, kw_only=True)
    digest: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        content: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "settings": {
                setting: [
                    {
                        "from": entry.start,
                        "until": entry.end,
                        "value": entry.value,
                        "reference": entry.reference,
                    }
                    for entry in timeline
                ]
                for setting, timeline in self.settings.items()
            },
        }
        # Only when set, so that files without a place keep their digests.
        scope = {
            "place": self.place,
            "place_name": self.place_name,
            "items": self.items,
            "domains": self.domains,
            "instruments": self.instruments,
        }
        content.update({key: value for key, value in scope.items() if value})
        if self.record_kinds:  # absent otherwise: the digests of earlier files stay the same
            content["record_kinds"] = dict(self.record_kinds)
        object.__setattr__(self, "digest", _sha256(_canonical(content)))

    @property
    def scoped(self) -> bool:
        """True if the file's rules are limited to some items or domains."""
        return bool(self.items or self.domains)

    @property
    def tier(self) -> tuple[int, bool]:
        """How specific the file is: more specific files replace less specific ones."""
        return (_division_level(self.place), self.scoped)

    @property
    def jurisdiction(self) -> str | None:
        """``"高邮市（321084）"``, the code alone, or ``None`` without a place."""
        if self.place is None:
            return None
        return self.place if self.place_name is None else f"{self.place_name}（{self.place}）"

    def applies(self, place: str | None, codes: frozenset[str], domains: frozenset[str]) -> bool:
        """True if the file's rules apply in ``place`` to an item with these codes/domains."""
        if self.place is not None and (place is None or not division_contains(self.place, place)):
            return False
        if self.scoped:
            return not self.items.isdisjoint(codes) or not self.domains.isdisjoint(domains)
        return True


_INSTRUMENT_KEYS = ("title", "number", "from", "until", "note")


def _parse_instrument(
    raw: object, path: str, source: str
) -> tuple[Instrument | None, list[Problem]]:
    if not isinstance(raw, Mapping):
        return None, [
            Problem(path, f"expected a table {{ title = ..., from = ... }}, got {describe(raw)}")
        ]
    problems: list[Problem] = []
    unknown = sorted(key for key in raw if key not in _INSTRUMENT_KEYS)
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        problems.append(
            Problem(path, f"unknown key {names} (allowed: {', '.join(_INSTRUMENT_KEYS)})")
        )
    values: dict[str, Any] = {}
    for key, cls, required in (
        ("title", str, True),
        ("number", str, False),
        ("from", dt.date, True),
        ("until", dt.date, False),
        ("note", str, False),
    ):
        if key not in raw:
            if required:
                problems.append(Problem(f"{path}.{key}", "required key is missing"))
            continue
        value, found = _typed(raw[key], cls, f"{path}.{key}", source)
        problems += found
        values[key] = value
    if problems:
        return None, problems
    if not values["title"].strip():
        return None, [Problem(f"{path}.title", "must not be empty")]
    start, end = values["from"], values.get("until")
    if end is not None and end <= start:
        return None, [
            Problem(
                f"{path}.until",
                f"until {end.isoformat()} must be after from {start.isoformat()} "
                "(until is the first day the instrument is no longer in force)",
            )
        ]
    return Instrument(
        values["title"], start, end=end, number=values.get("number"), note=values.get("note")
    ), []


@functools.cache
def bundled_instruments() -> InstrumentRegistry:
    """The instruments the bundled data cites, with their days in force (``instruments.toml``)."""
    resource = importlib.resources.files("creditcommit").joinpath("data/instruments.toml")
    source = "creditcommit/data/instruments.toml"
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    raws = data.get("instruments", [])
    found: list[Instrument] = []
    problems: list[Problem] = []
    for i, raw in enumerate(raws if isinstance(raws, list) else []):
        instrument, more = _parse_instrument(raw, f"instruments[{i}]", source)
        problems += more
        if instrument is not None:
            found.append(instrument)
    if problems:
        raise DataFileError(source, problems)
    return InstrumentRegistry.of(found)


def _cited(entry: Dated[Any]) -> list[tuple[str, LegalReference]]:
    """The references an entry cites, with the path under the entry: its own and its rules'."""
    cited: list[tuple[str, LegalReference]] = []
    if entry.reference is not None:
        cited.append(("reference", entry.reference))
    if isinstance(entry.value, tuple):
        for i, rule in enumerate(entry.value):
            ref = getattr(rule, "reference", None)
            if isinstance(ref, LegalReference):
                cited.append((f"value[{i}].reference", ref))
    return cited


def _citation_problems(
    settings: Mapping[str, Timeline[Any]],
    paths: Mapping[tuple[str, dt.date], str],
    registry: InstrumentRegistry,
) -> list[Problem]:
    """Entries citing an instrument not in force on every day they apply."""
    problems: list[Problem] = []
    for setting, timeline in settings.items():
        for entry, (start, end) in zip(timeline, timeline.spans(), strict=True):
            for sub, ref in _cited(entry):
                found = registry.problem(ref, start, end)
                if found is not None:
                    problems.append(Problem(f"{paths[(setting, entry.start)]}.{sub}", found))
    return problems


def _load_layer(data: object, source: str) -> _Layer:
    schema = structure(data, _FileSchema, source=source)
    problems: list[Problem] = []
    header = schema.policy
    for field in ("name", "version"):
        if not getattr(header, field).strip():
            problems.append(Problem(f"policy.{field}", "must not be empty"))
    if header.place is not None and not _DIVISION.fullmatch(header.place):
        problems.append(
            Problem(
                "policy.place",
                f"expected a six-digit administrative division code (e.g. '321084'), "
                f"got {header.place!r}",
            )
        )
    if (header.items or header.domains) and header.place is None:
        problems.append(
            Problem("policy", "items and domains limit a place's rules: give the place too")
        )
    problems += _blank_items(header.items, "policy.items")
    problems += _blank_items(header.domains, "policy.domains")
    instruments: list[Instrument] = []
    for i, raw in enumerate(schema.instruments):
        instrument, found = _parse_instrument(raw, f"instruments[{i}]", source)
        problems += found
        if instrument is not None:
            instruments.append(instrument)
    settings: dict[str, Timeline[Any]] = {}
    paths: dict[tuple[str, dt.date], str] = {}
    for setting in SETTINGS:
        raws: list[Any] = getattr(schema, setting)
        # Entries are added one by one with the Timeline rule itself, so that an overlap
        # names both entries; the values are the entries' indices in the file.
        indices: Timeline[int] = Timeline(setting)
        entries: list[Dated[Any]] = []
        for i, raw in enumerate(raws):
            entry, found = _parse_entry(setting, i, raw, source)
            problems += found
            if entry is None:
                continue
            try:
                indices = Timeline(setting, (*indices.entries, attrs.evolve(entry, value=i)))
            except ConflictingValues as exc:
                other = indices.get(exc.day)
                also = "another entry" if other is None else f"{setting}[{other}]"
                problems.append(
                    Problem(
                        f"{setting}[{i}]",
                        f"overlaps {also}: both are in force on {exc.day.isoformat()}",
                    )
                )
                continue
            entries.append(entry)
            paths[(setting, entry.start)] = f"{setting}[{i}]"
        if entries:
            settings[setting] = Timeline(setting, entries)
    kinds, found = _parse_record_kinds(schema.record_kinds, source)
    problems += found
    if not problems:
        problems = _cross_problems(
            settings, lambda setting, start: (source, paths[(setting, start)])
        ).get(source, [])
    if not problems:
        try:
            registry = bundled_instruments().merged(instruments)
        except ValueError as exc:
            problems = [Problem("instruments", str(exc))]
        else:
            problems = _citation_problems(settings, paths, registry)
    if problems:
        raise DataFileError(source, problems)
    return _Layer(
        header.name,
        header.version,
        header.description,
        source,
        settings,
        paths,
        place=header.place,
        place_name=header.place_name,
        items=frozenset(header.items),
        domains=frozenset(header.domains),
        instruments=tuple(instruments),
        record_kinds=kinds,
    )


@attrs.frozen(kw_only=True)
class _CityKindSchema:
    zh: str
    en: str
    legal_basis: _ReferenceSchema


def _parse_record_kinds(
    raw: Mapping[str, Any], source: str
) -> tuple[dict[str, CityRecordKind], list[Problem]]:
    """The ``[record_kinds.<code>]`` tables of a policy file."""
    kinds: dict[str, CityRecordKind] = {}
    problems: list[Problem] = []
    for code, table in raw.items():
        path = f"record_kinds.{code}"
        schema, found = _typed(table, _CityKindSchema, path, source)
        found = found or _reference_problems(schema.legal_basis, f"{path}.legal_basis")
        if found:
            problems += found
            continue
        try:
            basis = schema.legal_basis
            reference = LegalReference(basis.instrument, basis.article, basis.url)
            kind = CityRecordKind(code, schema.zh, schema.en, reference)
        except InvalidValue as exc:
            problems += [
                Problem(path if p.path == "code" else f"{path}.{p.path}", p.message)
                for p in exc.problems
            ]
            continue
        kinds[code] = kind
    return kinds, problems


def _declared_kinds(layers: Sequence[_Layer]) -> tuple[dict[str, CityRecordKind], dict[str, Any]]:
    """The city kinds all files declare, and the problems (by source) of conflicting ones."""
    kinds: dict[str, CityRecordKind] = {}
    problems: dict[str, list[Problem]] = {}
    for layer in layers:
        for code, kind in layer.record_kinds.items():
            known = kinds.setdefault(code, kind)
            if known != kind:
                problems.setdefault(layer.source, []).append(
                    Problem(
                        f"record_kinds.{code}",
                        "declared differently in another policy file; declare a city kind once",
                    )
                )
    return kinds, problems


def _undeclared_kinds(
    layers: Sequence[_Layer], declared: Mapping[str, CityRecordKind]
) -> dict[str, list[Problem]]:
    """Blocking rules and bans naming a city kind no policy file declares, by source."""
    problems: dict[str, list[Problem]] = {}
    for layer in layers:
        for setting in ("blocking_records", "reapplication_ban_months"):
            for entry in layer.settings.get(setting, ()):
                path = layer.paths[(setting, entry.start)]
                for i, rule in enumerate(entry.value):
                    message = record_kind_problem(kind_code(rule.kind), declared)
                    if message is not None:
                        problems.setdefault(layer.source, []).append(
                            Problem(f"{path}.value[{i}].kind", message)
                        )
    return problems


def _threshold_problems(
    timelines: Mapping[str, Timeline[Any]],
    origin: Callable[[str, dt.date], tuple[str, str]],
) -> dict[str, list[Problem]]:
    """Thresholds that are not grades of a scale in force at the same time, by source."""
    thresholds = timelines.get("conditional_threshold")
    scales = timelines.get("grade_scale")
    found: dict[str, list[Problem]] = {}
    if thresholds is None or scales is None:
        return found
    for entry, (start, end) in zip(thresholds, thresholds.spans(), strict=True):
        for scale_entry, (s_start, s_end) in zip(scales, scales.spans(), strict=True):
            first = max(start, s_start)
            ends = [e for e in (end, s_end) if e is not None]
            scale: GradeScale = scale_entry.value
            if (ends and first >= min(ends)) or entry.value in scale:
                continue
            source, path = origin("conditional_threshold", entry.start)
            found.setdefault(source, []).append(
                Problem(
                    f"{path}.value",
                    f"grade {entry.value!r} is not on the {scale.name!r} scale in force on "
                    f"{first.isoformat()} (grades: {', '.join(scale.grades)})",
                )
            )
    return found


def _ratio_problems(
    timelines: Mapping[str, Timeline[Any]],
    origin: Callable[[str, dt.date], tuple[str, str]],
) -> dict[str, list[Problem]]:
    """Inspection ratios naming grades not on the scale in force, or out of order, by source."""
    tables = timelines.get("inspection_ratios")
    scales = timelines.get("grade_scale")
    found: dict[str, list[Problem]] = {}
    if tables is None or scales is None:
        return found
    for entry, (start, end) in zip(tables, tables.spans(), strict=True):
        ratios: InspectionRatios = entry.value
        if not ratios.grades:
            continue
        for scale_entry, (s_start, s_end) in zip(scales, scales.spans(), strict=True):
            first = max(start, s_start)
            ends = [e for e in (end, s_end) if e is not None]
            if ends and first >= min(ends):
                continue
            scale: GradeScale = scale_entry.value
            source, path = origin("inspection_ratios", entry.start)
            found.setdefault(source, []).extend(
                Problem(f"{path}.value.{p.path}", p.message)
                for p in ratios.problems_with(scale, first)
            )
    return {source: problems for source, problems in found.items() if problems}


def _cross_problems(
    timelines: Mapping[str, Timeline[Any]],
    origin: Callable[[str, dt.date], tuple[str, str]],
) -> dict[str, list[Problem]]:
    """Settings that disagree with the grade scale in force at the same time, by source."""
    found = _threshold_problems(timelines, origin)
    for source, problems in _ratio_problems(timelines, origin).items():
        found.setdefault(source, []).extend(problems)
    return found


def _subtract(
    start: dt.date, end: dt.date | None, covered: Sequence[tuple[dt.date, dt.date | None]]
) -> list[tuple[dt.date, dt.date | None]]:
    """The parts of ``[start, end)`` that no span in ``covered`` (sorted) covers."""
    pieces: list[tuple[dt.date, dt.date | None]] = []
    cursor = start
    for c_start, c_end in covered:
        if end is not None and c_start >= end:
            break
        if c_end is not None and c_end <= cursor:
            continue
        if c_start > cursor:
            pieces.append((cursor, c_start))
        if c_end is None:
            return pieces
        cursor = max(cursor, c_end)
    if end is None or cursor < end:
        pieces.append((cursor, end))
    return pieces


_Origins = dict[tuple[str, dt.date], tuple[_Layer, str]]


def _combine(layers: Sequence[_Layer]) -> tuple[dict[str, Timeline[Any]], _Origins]:
    """Overlay ``layers[1:]`` on the defaults ``layers[0]``, setting by setting.

    Overlays are taken from the least to the most specific (:attr:`_Layer.tier`: no place,
    a province, a city, a county or district; limited to items or domains after unlimited
    ones). Each tier replaces what lies under it on the days it covers; two overlays of the
    same tier covering the same day is :class:`ConflictingValues`. What lies under stays in
    force on days no overlay covers.
    """
    base = layers[0]
    tiers: dict[tuple[int, bool], list[_Layer]] = {}
    for layer in layers[1:]:
        tiers.setdefault(layer.tier, []).append(layer)
    timelines: dict[str, Timeline[Any]] = dict(base.settings)
    origins: _Origins = {
        (setting, entry.start): (base, base.paths[(setting, entry.start)])
        for setting, timeline in base.settings.items()
        for entry in timeline
    }
    for tier in sorted(tiers):
        overlays = tiers[tier]
        for setting in SETTINGS:
            tops = [
                (layer, layer.settings[setting]) for layer in overlays if setting in layer.settings
            ]
            if not tops:
                continue
            for (a, mine), (b, theirs) in itertools.combinations(tops, 2):
                try:
                    mine.overlay(theirs)
                except ConflictingValues as exc:
                    raise ConflictingValues(
                        setting,
                        exc.day,
                        f"the overlays {a.name!r} ({a.source}) and {b.name!r} ({b.source}) both "
                        "set it for the same place; an overlay replaces only the rules of a "
                        "wider place (or the defaults), never another overlay of its own place",
                    ) from None
            under = timelines.get(setting, Timeline(setting))
            below = [origins[(setting, entry.start)] for entry in under]
            entries: list[Dated[Any]] = []
            for layer, timeline in tops:
                for entry in timeline:
                    entries.append(entry)
                    origins[(setting, entry.start)] = (layer, layer.paths[(setting, entry.start)])
            if under:
                covered = Timeline(setting, entries).spans()
                for entry, (start, end), origin in zip(under, under.spans(), below, strict=True):
                    for p_start, p_end in _subtract(start, end, covered):
                        entries.append(attrs.evolve(entry, start=p_start, end=p_end))
                        origins[(setting, p_start)] = origin
            timelines[setting] = Timeline(setting, entries)
    return timelines, origins


# --------------------------------------------------------------------------- policy


def _layer_tuple(layers: Iterable[_Layer]) -> tuple[_Layer, ...]:
    found = tuple(layers)
    if not found:
        raise InvalidValue("Policy", [Problem("layers", "expected at least one policy file")])
    return found


def _root_place(layers: Sequence[_Layer]) -> str | None:
    """The widest place the files name, if exactly one: where the policy applies by default."""
    placed = [layer for layer in layers if layer.place is not None]
    if not placed:
        return None
    widest = min(_division_level(layer.place) for layer in placed)
    places = {layer.place for layer in placed if _division_level(layer.place) == widest}
    return places.pop() if len(places) == 1 else None


def _select(
    layers: Sequence[_Layer], place: str | None, codes: frozenset[str], domains: frozenset[str]
) -> tuple[_Layer, ...]:
    """The defaults and the overlays that apply in ``place`` to an item like this."""
    return (layers[0], *(layer for layer in layers[1:] if layer.applies(place, codes, domains)))


def _built(layers: Sequence[_Layer]) -> tuple[dict[str, Timeline[Any]], _Origins]:
    timelines, origins = _combine(layers)
    problems = _cross_problems(timelines, lambda setting, start: _origin(origins, setting, start))
    if problems:
        source, found = next(iter(problems.items()))
        raise DataFileError(source, found)
    return timelines, origins


@attrs.frozen(eq=False, repr=False)
class Policy:
    """A city's tiered-approval policy (审批分级政策): dated settings from one or more files.

    Build it with :meth:`national`, :meth:`load`, :meth:`from_toml`, :meth:`from_dict`,
    :meth:`sample` and :meth:`overlay`. The first file is the defaults; every overlay
    replaces the defaults on the days it sets a value, and two overlays setting the same
    setting on the same day for the same place raise
    :class:`~creditcommit.errors.ConflictingValues`.

    A file may apply to a place (``place``, an administrative division code) and, within
    it, to some items or domains only; the rules of a narrower place replace those of a
    wider one (a district's those of its city, the city's the national defaults).
    :meth:`view` gives the policy of one place and item; :meth:`at` without a place gives
    the rules of the widest place the files name (the city). Policies are equal when their
    :attr:`version` digests are.
    """

    _layers: tuple[_Layer, ...] = attrs.field(converter=_layer_tuple)
    _selected: bool = attrs.field(default=False, kw_only=True)
    #: Name, declared version and SHA-256 digest of the content of every file.
    version: RuleVersion = attrs.field(init=False)
    #: The place whose rules :meth:`at` gives without a place (``None``: no file has one).
    place: str | None = attrs.field(init=False)
    #: The most specific place among the files in use, as ``"高邮市（321084）"``.
    jurisdiction: str | None = attrs.field(init=False)
    _active: tuple[_Layer, ...] = attrs.field(init=False)
    _timelines: Mapping[str, Timeline[Any]] = attrs.field(init=False)
    _bounds: tuple[dt.date, ...] = attrs.field(init=False)
    _snapshots: dict[int, PolicySnapshot] = attrs.field(init=False)
    _views: dict[tuple[_Layer, ...], Policy] = attrs.field(init=False)
    #: The city-specific record kinds the files declare, by code (:class:`CityRecordKind`).
    record_kinds: Mapping[str, CityRecordKind] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        layers = self._layers
        kinds, declared = _declared_kinds(layers)
        declared = declared or _undeclared_kinds(layers, kinds)
        if declared:
            source, found = next(iter(declared.items()))
            raise DataFileError(source, found)
        object.__setattr__(self, "record_kinds", MappingProxyType(kinds))
        if self._selected:
            active = layers
            placed = [layer for layer in layers if layer.place is not None]
            place = max(placed, key=lambda layer: layer.tier).place if placed else None
        else:
            place = _root_place(layers)
            active = _select(layers, place, frozenset(), frozenset())
            # Every place's own rules must combine too, not only the default place's.
            for layer in layers[1:]:
                if layer.place is not None:
                    _built(_select(layers, layer.place, layer.items, layer.domains))
        timelines, _ = _built(active)
        bounds = sorted(
            {day for tl in timelines.values() for span in tl.spans() for day in span if day}
        )
        base, overlays = active[0], (layers if not self._selected else active)[1:]
        digest = _sha256(
            {
                "format": "creditcommit-policy/1",
                "defaults": base.digest,
                "overlays": sorted(layer.digest for layer in overlays),
            }
        )
        named = layers if not self._selected else active
        version = RuleVersion(
            " + ".join(layer.name for layer in named),
            " + ".join(layer.version for layer in named),
            digest,
        )
        specific = [layer for layer in active if layer.place is not None]
        jurisdiction = (
            max(specific, key=lambda layer: layer.tier).jurisdiction if specific else None
        )
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "place", place)
        object.__setattr__(self, "jurisdiction", jurisdiction)
        object.__setattr__(self, "_active", active)
        object.__setattr__(self, "_timelines", MappingProxyType(timelines))
        object.__setattr__(self, "_bounds", tuple(bounds))
        object.__setattr__(self, "_snapshots", {})
        object.__setattr__(self, "_views", {})

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Policy:
        """One policy file's data (as read from TOML); :class:`DataFileError` lists problems."""
        return cls([_load_layer(data, source)])

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Policy:
        """One policy file on its own (no national defaults underneath)."""
        return cls([_load_layer(read_toml(path), os.fspath(path))])

    @classmethod
    def national(cls) -> Policy:
        """The national defaults shipped with the library (``policy-national.toml``).

        They set no grade scale and no threshold (no national rule does): a city overlay
        must, or :meth:`at` raises :class:`NoValueInForce` for ``grade_scale``.
        """
        return _bundled("policy-national.toml")

    @classmethod
    def sample(cls) -> Policy:
        """The national defaults with the bundled Yangzhou sample overlay (not official)."""
        return _sample()

    @classmethod
    def load(cls, *paths: str | os.PathLike[str]) -> Policy:
        """The national defaults with the city (and district) files at ``paths`` overlaid."""
        return cls.national().overlay(*(cls.from_toml(path) for path in paths))

    def overlay(self, *others: Policy) -> Policy:
        """This policy with the files of ``others`` added as overlays (see the class doc).

        A file already part of this policy (same content) is not added again, so
        ``Policy.load(city).overlay(Policy.load(district))`` keeps one copy of the national
        defaults.
        """
        layers = list(self._layers)
        for other in others:
            known = {layer.digest for layer in layers}
            layers.extend(layer for layer in other._layers if layer.digest not in known)
        return Policy(layers)

    # -- reading ----------------------------------------------------------------------

    @property
    def sources(self) -> tuple[str, ...]:
        """The files the policy was read from, defaults first."""
        return tuple(layer.source for layer in self._layers)

    @property
    def scopes(self) -> tuple[str, ...]:
        """Where each file applies, in :attr:`sources` order, in words.

        ``"everywhere"``, ``"江都区（321012）"``, or with a limit:
        ``"江都区（321012）, domains construction-projects, items 321012-TZXMBA"``.
        """
        found = []
        for layer in self._layers:
            parts = [layer.jurisdiction or "everywhere"]
            if layer.domains:
                parts.append("domains " + ", ".join(sorted(layer.domains)))
            if layer.items:
                parts.append("items " + ", ".join(sorted(layer.items)))
            found.append("; ".join(parts))
        return tuple(found)

    def timeline(self, setting: str) -> Timeline[Any]:
        """The combined timeline of one setting (empty if no file sets it).

        That of :attr:`place` (the city); :meth:`view` gives another place's.
        """
        if setting not in _PARSERS:
            known = ", ".join(SETTINGS)
            raise InvalidValue("Policy", [Problem(setting, f"not a setting (settings: {known})")])
        return self._timelines.get(setting, Timeline(setting))

    def changes(self) -> tuple[dt.date, ...]:
        """Every day on which some setting starts or stops, sorted."""
        return self._bounds

    def view(self, *, place: str | None = None, item: ApprovalItem | None = None) -> Policy:
        """The policy of one place, for one item: the files that apply there, combined.

        The place is ``place``, else the item's (:func:`item_place`: its code's division
        prefix), else :attr:`place`. A file limited to items or domains applies only to an
        item it lists by code or that shares a domain with it. Without a file of its own a
        place falls back to the wider place's rules, and then to the national defaults.
        """
        where = place if place is not None else (None if item is None else item_place(item))
        if where is None:
            where = self.place
        codes = frozenset() if item is None else frozenset({item.code})
        domains = frozenset() if item is None else item.domains
        chosen = _select(self._layers, where, codes, domains)
        if chosen == self._active:
            return self
        found = self._views.get(chosen)
        if found is None:
            found = Policy(chosen, selected=True)
            self._views[chosen] = found
        return found

    def at(
        self, day: dt.date, *, place: str | None = None, item: ApprovalItem | None = None
    ) -> PolicySnapshot:
        """Every setting in force on ``day``, precomputed for fast decisions.

        With ``place`` or ``item``, the rules of that place and item (see :meth:`view`).
        Raises :class:`NoValueInForce` naming the first setting without a value that day.
        Snapshots are shared between the days on which no setting changes.
        """
        if place is not None or item is not None:
            return self.view(place=place, item=item).at(day)
        segment = bisect.bisect_right(self._bounds, day) - 1
        cached = self._snapshots.get(segment)
        if cached is not None:
            return cached
        values: dict[str, Any] = {}
        references: dict[str, LegalReference | None] = {}
        for setting in SETTINGS:
            timeline = self._timelines.get(setting)
            if timeline is None:
                raise NoValueInForce(setting, day)
            entry = timeline.entry_at(day)
            values[setting] = entry.value
            references[setting] = entry.reference
        scale: GradeScale = values.pop("grade_scale")
        snapshot = PolicySnapshot(
            version=self.version,
            # Before the first boundary no setting has a value, so segment >= 0 here.
            valid_from=self._bounds[segment] if segment >= 0 else dt.date.min,
            valid_until=self._bounds[segment + 1] if segment + 1 < len(self._bounds) else None,
            grade_scale=scale,
            conditional_threshold=scale.grade(values.pop("conditional_threshold")),
            references=references,
            jurisdiction=self.jurisdiction,
            record_kinds=self.record_kinds,
            **values,
        )
        self._snapshots[segment] = snapshot
        return snapshot

    def __reduce__(
        self,
    ) -> tuple[Callable[[tuple[_Layer, ...], bool], Policy], tuple[tuple[_Layer, ...], bool]]:
        # Rebuilt from its files, so that a policy can be sent to worker processes.
        return (_policy_from, (self._layers, self._selected))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self.version.digest == other.version.digest

    def __hash__(self) -> int:
        return hash(self.version.digest)

    def __repr__(self) -> str:
        return f"Policy({self.version})"


def _policy_from(layers: tuple[_Layer, ...], selected: bool) -> Policy:
    return Policy(layers, selected=selected)


def _origin(origins: _Origins, setting: str, start: dt.date) -> tuple[str, str]:
    layer, path = origins[(setting, start)]
    return layer.source, path


@functools.cache
def _bundled(name: str) -> Policy:
    resource = importlib.resources.files("creditcommit").joinpath(f"data/{name}")
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    return Policy([_load_layer(data, f"creditcommit/data/{name}")])


@functools.cache
def _sample() -> Policy:
    return _bundled("policy-national.toml").overlay(
        _bundled("policy-yangzhou.toml"),
        _bundled("policy-jiangdu.toml"),
        _bundled("policy-gaoyou.toml"),
    )


# --------------------------------------------------------------------------- snapshot


def _frozen_references(
    value: Mapping[str, LegalReference | None],
) -> Mapping[str, LegalReference | None]:
    return MappingProxyType(dict(value))


def _frozen_kinds(value: Mapping[str, CityRecordKind]) -> Mapping[str, CityRecordKind]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class PolicySnapshot:
    """Every policy setting in force from ``valid_from`` until ``valid_until`` (exclusive).

    Obtain it from :meth:`Policy.at`. Sets are frozensets and grades carry their rank, so
    a decision is a few lookups; ``references`` gives each setting's legal reference.
    """

    version: RuleVersion
    valid_from: dt.date
    valid_until: dt.date | None
    grade_scale: GradeScale
    major_project_levels: frozenset[ProjectLevel]
    major_project_credit: MajorProjectCredit
    conditional_threshold: Grade
    blocking_records: tuple[BlockingRule, ...]
    reapplication_ban_months: tuple[ReapplicationBan, ...]
    credit_unavailable: Route
    credit_evidence_max_age_days: int
    commitment_items: frozenset[str] | Literal["all"]
    excluded_domains: frozenset[str]
    deferred_grace_working_days: int
    statement_window_working_days: int
    publication_working_days: PublicationDeadlines
    revocation_rules: RevocationRules
    inspection_ratios: InspectionRatios
    references: Mapping[str, LegalReference | None] = attrs.field(
        converter=_frozen_references, eq=False, hash=False, repr=False
    )
    #: Whose rules these are: the most specific place among the files, e.g. "高邮市（321084）".
    jurisdiction: str | None = None
    #: The city-specific record kinds the policy declares, by code.
    record_kinds: Mapping[str, CityRecordKind] = attrs.field(
        factory=dict, converter=_frozen_kinds, eq=False, hash=False, repr=False
    )
    _ranks: Mapping[str, int] = attrs.field(init=False, eq=False, hash=False, repr=False)
    _blocking: Mapping[CreditRecordKind | str, tuple[BlockingRule, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _bans: Mapping[CreditRecordKind | str, tuple[ReapplicationBan, ...]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _ratios: Mapping[str, float] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.conditional_threshold.scale != self.grade_scale.name:
            raise InvalidValue(
                "PolicySnapshot",
                [
                    Problem(
                        "conditional_threshold",
                        f"expected a grade of the {self.grade_scale.name!r} scale, got one of "
                        f"{self.conditional_threshold.scale!r}",
                    )
                ],
            )
        mismatched = self.inspection_ratios.problems_with(self.grade_scale)
        if mismatched:
            raise InvalidValue(
                "PolicySnapshot",
                [Problem(f"inspection_ratios.{p.path}", p.message) for p in mismatched],
            )
        ranks = {code: rank for rank, code in enumerate(self.grade_scale.grades)}
        blocking: dict[CreditRecordKind | str, list[BlockingRule]] = {}
        for rule in self.blocking_records:
            blocking.setdefault(rule.kind, []).append(rule)
        bans: dict[CreditRecordKind | str, list[ReapplicationBan]] = {}
        for ban in self.reapplication_ban_months:
            bans.setdefault(ban.kind, []).append(ban)
        object.__setattr__(self, "_ranks", MappingProxyType(ranks))
        object.__setattr__(
            self, "_blocking", MappingProxyType({k: tuple(v) for k, v in blocking.items()})
        )
        object.__setattr__(self, "_bans", MappingProxyType({k: tuple(v) for k, v in bans.items()}))
        ratios = {
            self.grade_scale.grade(code).code: ratio
            for code, ratio in self.inspection_ratios.grades.items()
        }
        object.__setattr__(self, "_ratios", MappingProxyType(ratios))

    def __reduce__(
        self,
    ) -> tuple[Callable[[dict[str, Any]], PolicySnapshot], tuple[dict[str, Any]]]:
        # Mapping proxies cannot be pickled; rebuild from the plain fields.
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(PolicySnapshot) if f.init}
        fields["references"] = dict(self.references)
        fields["record_kinds"] = dict(self.record_kinds)
        return (_snapshot_from, (fields,))

    def kind_labels(self, kind: CreditRecordKind | str) -> tuple[str, str]:
        """The Chinese and English labels of a record kind (national or declared here)."""
        if isinstance(kind, CreditRecordKind):
            return RECORD_KIND_LABELS[kind]
        declared = self.record_kinds.get(kind)
        return (kind, kind) if declared is None else (declared.zh, declared.en)

    def covers(self, day: dt.date) -> bool:
        """True if the snapshot is in force on ``day``."""
        return self.valid_from <= day and (self.valid_until is None or day < self.valid_until)

    def rank(self, grade: str) -> int | None:
        """The rank of a grade code on the policy's scale (0 = best), ``None`` if not on it."""
        found = self._ranks.get(grade)
        if found is None and grade in self.grade_scale:
            return self.grade_scale.rank(grade)
        return found

    def inspection_ratio(self, grade: str | None) -> float:
        """The 双随机 sampling ratio for a grade code of the policy's scale (``"b"`` = ``"B"``).

        The ``inspection_ratios`` default for no grade, a grade the table does not list, or
        a code that is not on the scale.
        """
        if grade is None or grade not in self.grade_scale:
            return self.inspection_ratios.default
        return self._ratios.get(self.grade_scale.grade(grade).code, self.inspection_ratios.default)

    def major_level(self, project: ProjectFacts) -> ProjectLevel | None:
        """The project's level if the policy lists it as a major-project level, else None."""
        level = project.major_level
        return level if level in self.major_project_levels else None

    def queries_credit(self, project: ProjectFacts) -> bool:
        """False for a listed major project whose rule makes no credit query, else True.

        The service asks the credit source only when this is true (逢报必查 otherwise).
        """
        return (
            self.major_level(project) is None
            or self.major_project_credit is not MajorProjectCredit.NO_QUERY
        )

    def on_commitment_list(self, item: ApprovalItem) -> bool:
        """True if the item is on the commitment list (``"all"`` lists every item)."""
        items = self.commitment_items
        return items == ALL_ITEMS or item.code in items

    def excluded(self, item: ApprovalItem) -> frozenset[str]:
        """The item's domains that the policy excludes from the commitment system."""
        return item.domains & self.excluded_domains

    def blocking_rules(self, record: CreditRecord, on: dt.date) -> tuple[BlockingRule, ...]:
        """The rules under which ``record`` bars the commitment route on ``on``."""
        return tuple(
            rule for rule in self._blocking.get(record.kind, ()) if rule.blocks(record, on)
        )

    def bans(
        self, record: CreditRecord, item: ApprovalItem, on: dt.date
    ) -> tuple[ReapplicationBan, ...]:
        """The re-application bans that ``record`` puts on ``item`` on ``on``."""
        return tuple(
            ban
            for ban in self._bans.get(record.kind, ())
            if ban.bans(record, item.code, item.domains, on)
        )


def _snapshot_from(fields: dict[str, Any]) -> PolicySnapshot:
    return PolicySnapshot(**fields)


# --------------------------------------------------------------------------- decisions

_NO_PROJECT = ProjectFacts()


@attrs.frozen(kw_only=True)
class Application:
    """One application to decide in a batch: what :func:`decide` takes, minus the policy."""

    item: ApprovalItem
    applicant: Applicant
    evidence: CreditEvidence | CreditLookupFailure | None = None
    project: ProjectFacts = _NO_PROJECT
    choose_standard: bool = False


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _domains(tags: Iterable[str]) -> dict[str, str]:
    ordered = sorted(tags)
    return {
        "domains": ",".join(ordered),
        "domains_zh": "、".join(domain_label(t, "zh") for t in ordered),
        "domains_en": ", ".join(domain_label(t, "en") for t in ordered),
    }


class Decider:
    """Decides applications on one day under one policy snapshot (the batch path).

    The policy is compiled for the day: each item once (the decider of its place and its
    rule-1 reasons), each grade once, the freshness window as two instants; reasons that
    do not depend on the applicant are built once and shared, those that do render their
    sentences when first read, and no evidence digest is recomputed (evidence is verified
    where it enters). Every cache is bounded. ``Decider(policy, on).decide(...)`` gives
    exactly what :func:`decide` gives (``docs/performance.md``).
    """

    __slots__ = (
        "_bans",
        "_blocking",
        "_by_value",
        "_children",
        "_city_matching",
        "_constant",
        "_cutoffs",
        "_failures",
        "_fresh",
        "_grades",
        "_jurisdiction",
        "_level_set",
        "_levels",
        "_matching",
        "_missing",
        "_no_query",
        "_parts",
        "_plans",
        "_policy",
        "_scale",
        "_serials",
        "_table",
        "_version",
        "_views",
        "_windows",
        "on",
        "snapshot",
    )

    def __init__(self, policy: Policy | PolicySnapshot, on: dt.date) -> None:
        # With a whole policy, each item is decided under its own place's rules (a child
        # decider per place); a snapshot is one place's rules already.
        self._policy = policy if isinstance(policy, Policy) else None
        self._views: dict[tuple[str, frozenset[str]], Policy] = {}
        self._children: dict[str, Decider] = {}
        self._missing: NoValueInForce | None = None
        self.on = on
        self._constant: dict[str, Reason] = {}
        self._grades: dict[str, tuple[Route, tuple[Reason, ...]]] = {}
        self._levels: dict[tuple[str, ProjectLevel], Reason] = {}
        # The compiled plan of each item: the decider of its place and its rule-1 reasons,
        # kept by value (equal items share it, however many item objects a feed makes) and
        # found first by the item object's identity (the entry holds the item, so its id
        # cannot be reused while it is cached).
        self._by_value: dict[_PlanKey, tuple[Decider, tuple[Reason, ...]]] = {}
        self._plans: dict[int, _Plan] = {}
        # The decision table of usable evidence without records (the common case): what
        # the rules read -> the decision's shared parts (see _Entry).
        self._table: dict[tuple[str, ProjectLevel | None, bool], _Entry] = {}
        self._failures: dict[tuple[str, FailureCategory, str], Reason] = {}
        # Per (kind, severity): the blocking rules a record matches on any day (all, and
        # those that last until repair); per publicity length: the last decision day whose
        # record is no longer published on this day (None where the calendar ends).
        self._matching: dict[str, dict[str, _Match]] = {}
        self._city_matching: dict[str, dict[str, _Match]] = {}
        self._serials = itertools.count()
        self._parts: dict[tuple[int, dt.date, int, int], _Parts] = {}
        self._cutoffs: dict[int, dt.date | None] = {}
        try:
            snapshot = policy.at(on) if isinstance(policy, Policy) else policy
        except NoValueInForce as exc:
            if self._policy is None:
                raise
            # The policy's own place has no complete rules (e.g. only a district's files
            # were loaded): items are decided under their place's rules, or not at all.
            self._missing = exc
            return
        if not snapshot.covers(on):
            end = snapshot.valid_until
            span = f"from {_iso(snapshot.valid_from)}" + (
                "" if end is None else f" until {_iso(end)}"
            )
            raise NoValueInForce(f"policy snapshot {snapshot.version.name} ({span})", on)
        self.snapshot = snapshot
        # What the rules read, compiled once: the tables of the snapshot, the instants
        # between which evidence is fresh (its China day in the window), the scale.
        self._blocking = snapshot._blocking
        self._bans = snapshot._bans
        self._level_set = snapshot.major_project_levels
        self._no_query = snapshot.major_project_credit is MajorProjectCredit.NO_QUERY
        self._scale = snapshot.grade_scale.name
        self._fresh = _fresh_window(on, snapshot.credit_evidence_max_age_days)
        # The same window in each fixed offset evidence arrives in: comparing datetimes of
        # one tzinfo object compares their fields, without asking either for its offset.
        self._windows: dict[dt.tzinfo | None, tuple[dt.datetime, dt.datetime]] = {}
        self._version = snapshot.version
        self._jurisdiction = snapshot.jurisdiction

    # -- shared reasons ----------------------------------------------------------------

    def _reason(self, code: str, *settings: str) -> Reason:
        found = self._constant.get(code)
        if found is None:
            refs = self.snapshot.references
            found = REASONS[code].render({}, [refs[s] for s in settings])
            self._constant[code] = found
        return found

    def _level_reason(self, code: str, level: ProjectLevel) -> Reason:
        found = self._levels.get((code, level))
        if found is None:
            zh, en = PROJECT_LEVEL_LABELS[level]
            params = {"level": level.value, "level_zh": zh, "level_en": en}
            ref = self.snapshot.references["major_project_levels"]
            found = REASONS[code].render(params, [ref])
            self._levels[(code, level)] = found
        return found

    def _item_reasons(self, item: ApprovalItem) -> tuple[Reason, ...]:
        """Rule 1's reasons for ``item`` (cached with the item's plan, see :meth:`_plan`:
        they may read only what :func:`_plan_key` holds)."""
        snap = self.snapshot
        refs = snap.references
        params = {"item": item.code}
        found: list[Reason] = []
        if not snap.on_commitment_list(item):
            found.append(
                REASONS["item-not-on-commitment-list"].render(params, [refs["commitment_items"]])
            )
        if item.commitment_mode is CommitmentMode.NONE:
            found.append(REASONS["item-commitment-mode-none"].render(params))
        excluded = snap.excluded(item)
        if excluded:
            found.append(
                REASONS["item-domain-excluded"].render(
                    {**params, **_domains(excluded)}, [refs["excluded_domains"]]
                )
            )
        return tuple(found)

    def _by_grade(self, grade: str) -> tuple[Route, tuple[Reason, ...]]:
        """Rule 6 for a grade code: the route and its reasons, built once per code."""
        found = self._grades.get(grade)
        if found is not None:
            return found
        snap = self.snapshot
        refs = snap.references
        rank = snap.rank(grade)
        threshold = snap.conditional_threshold
        if rank is None:
            params = {"grade": grade, "scale": snap.grade_scale.name}
            found = (
                Route.STANDARD,
                (REASONS["credit-grade-unknown"].render(params, [refs["grade_scale"]]),),
            )
        else:
            params = {"grade": snap.grade_scale.grades[rank], "threshold": threshold.code}
            ref = [refs["conditional_threshold"]]
            if rank <= threshold.rank:
                found = (
                    Route.CONDITIONAL,
                    (
                        REASONS["credit-grade-meets-threshold"].render(params, ref),
                        self._reason("no-blocking-record", "blocking_records"),
                    ),
                )
            else:
                found = (
                    Route.STANDARD,
                    (REASONS["credit-grade-below-threshold"].render(params, ref),),
                )
        _bounded(self._grades)[grade] = found
        return found

    # -- per-application reasons -------------------------------------------------------

    def _unusable(self, applicant: Applicant, evidence: CreditEvidence) -> Reason | None:
        """Why the evidence cannot be trusted, or None: another subject, a digest that
        fails, a retrieval day after the decision or before the freshness window, a grade
        the policy's scale lacks."""
        ours = applicant.identifier
        stranger = evidence.subject if evidence.subject != ours else None
        if stranger is None:
            for record in evidence.records:
                if record.subject != ours:
                    stranger = record.subject
                    break
        if stranger is not None:
            ref = [self.snapshot.references["credit_unavailable"]]
            return REASONS["credit-evidence-wrong-subject"]._render_lazy(
                {"subject": stranger, "applicant": ours}, ref
            )
        if not evidence.verify():  # hashed once per evidence object, where it entered
            ref = [self.snapshot.references["credit_unavailable"]]
            return REASONS["credit-evidence-unverified"]._render_lazy(
                {"source": evidence.source}, ref
            )
        if not self._is_fresh(evidence.retrieved_at):
            stale = self._stale(evidence)
            if stale is not None:
                return stale
        grade = evidence.grade
        if grade is not None and evidence.scale == self._scale:
            _, reasons = self._grades.get(grade) or self._by_grade(grade)
            if reasons[0].code == "credit-grade-unknown":
                return reasons[0]
        return None

    def _stale(self, evidence: CreditEvidence) -> Reason | None:
        """``credit-evidence-future`` or ``-stale`` if retrieved outside the window."""
        snap = self.snapshot
        on = self.on
        retrieved_on = evidence.retrieved_at.astimezone(_CHINA_TIME).date()
        max_age = snap.credit_evidence_max_age_days
        earliest = on - dt.timedelta(days=max_age)
        if earliest <= retrieved_on <= on:
            return None
        params = {
            "source": evidence.source,
            "retrieved_on": _iso(retrieved_on),
            "decided_on": _iso(on),
        }
        refs = [snap.references["credit_evidence_max_age_days"]]
        if retrieved_on > on:
            return REASONS["credit-evidence-future"]._render_lazy(params, refs)
        params |= {"earliest": _iso(earliest), "max_age_days": str(max_age)}
        return REASONS["credit-evidence-stale"]._render_lazy(params, refs)

    def _bars(self, item: ApprovalItem, evidence: CreditEvidence) -> list[Reason]:
        """Rule 4's reasons, in the evidence's record order."""
        return self._blocked(evidence.records, self._matches(evidence.records))

    def _matches(self, records: Sequence[CreditRecord]) -> list[_Match]:
        """What the policy says about each record's (kind, severity), on any day.

        Keyed by the codes, not the enum members (hashing a member runs Python code); a
        city kind's code is kept apart from a national kind's by its type.
        """
        national, city = self._matching, self._city_matching
        found: list[_Match] = []
        for record in records:
            kind = record.kind
            by_severity = city.get(kind) if isinstance(kind, str) else national.get(kind._value_)
            match = None if by_severity is None else by_severity.get(record.severity._value_)
            if match is None:
                match = self._match(kind, record.severity)
            found.append(match)
        return found

    def _blocked(self, records: Sequence[CreditRecord], matches: Sequence[_Match]) -> list[Reason]:
        """Rule 4's reasons for ``records`` (with their :meth:`_matches`), in order.

        The same as asking :meth:`BlockingRule.blocks` of every rule of the record's kind,
        without date arithmetic per record: the rules a (kind, severity) matches are found
        once, and a record is active when decided after the cutoff of its publicity length.
        """
        on = self.on
        cutoffs = self._cutoffs
        blocked: list[Reason] = []
        for record, match in zip(records, matches, strict=True):
            if not match.rules or record.decided_on > on:
                continue
            repaired = record.repaired_on
            if repaired is not None and repaired <= on:
                continue  # neither kind of rule blocks a repaired record
            months = record.max_publicity_months
            cutoff = cutoffs[months] if months in cutoffs else self._cutoff(months)
            # At the calendar's ends (no cutoff), the record's own arithmetic.
            active = record.is_active(on) if cutoff is None else record.decided_on > cutoff
            if active:
                blocked.append(self._blocking_reason(record, match.rules, match.serial))
            elif match.until_repaired:
                blocked.append(self._blocking_reason(record, match.until_repaired, ~match.serial))
        return blocked

    def _match(self, kind: CreditRecordKind | str, severity: Severity) -> _Match:
        """The :class:`_Match` of (kind, severity), kept by their codes: a city kind's code
        apart from a national kind's (hashing an enum member runs Python code)."""
        rank = _SEVERITY_RANK[severity]
        rules = tuple(
            rule
            for rule in self._blocking.get(kind, ())
            if rule.kind == kind and rank >= _SEVERITY_RANK[rule.min_severity]
        )
        found = _Match(rules, self._bans.get(kind, ()), next(self._serials))
        table = self._city_matching if isinstance(kind, str) else self._matching
        code = kind if isinstance(kind, str) else kind.value
        _bounded(_bounded(table).setdefault(code, {}))[severity.value] = found
        return found

    def _cutoff(self, months: int) -> dt.date | None:
        """The last day ``d`` with ``add_months(d, months) <= on`` (a record decided on or
        before it is no longer published on ``on``); None if the calendar ends first.
        ``add_months`` never decreases as its day grows, so one search per length does."""
        on = self.on
        try:
            day = on - dt.timedelta(days=31 * months)  # a month is at most 31 days: <= on
            one = dt.timedelta(days=1)
            while add_months(day + one, months) <= on:
                day += one
        except (OverflowError, ValueError):
            day = None
        _bounded(self._cutoffs)[months] = day
        return day

    def _refuse_if_banned(
        self, item: ApprovalItem, applicant: Applicant, evidence: CreditEvidence
    ) -> None:
        """Rule 0: a statutory re-application ban refuses the application itself."""
        records = evidence.records
        matches = self._matches(records)
        on = self.on
        found: list[tuple[dt.date, CreditRecord, ReapplicationBan]] = []
        for record, match in zip(records, matches, strict=True):
            for ban in match.bans:
                if ban.bans(record, item.code, item.domains, on):
                    found.append((ban.ends_on(record), record, ban))
        if found:
            self._raise_ban(item, applicant, found)

    def _raise_ban(
        self,
        item: ApprovalItem,
        applicant: Applicant,
        found: Sequence[tuple[dt.date, CreditRecord, ReapplicationBan]],
    ) -> None:
        """Refuse the application: the ban of ``found`` (end, record, ban) that ends last."""
        snap = self.snapshot
        until, record, ban = max(found, key=lambda hit: hit[0])
        reason = self._ban_reason(record, ban, item)
        basis = ban.reference or snap.references["reapplication_ban_months"]
        raise ReapplicationBarred(
            item=item.code,
            applicant=applicant.identifier,
            record_id=record.record_id,
            until=until,
            basis="" if basis is None else str(basis),
            reason_zh=reason.zh,
        )

    def _blocking_reason(
        self,
        record: CreditRecord,
        rules: Sequence[BlockingRule],
        rules_key: int,
    ) -> Reason:
        # Everything but the record id depends on a few facts of the record, shared by
        # many records (the same kind and severity, whose rules `rules_key` names, decided
        # on the same day with the same periods): built once.
        key = (
            rules_key,
            record.decided_on,
            record.min_publicity_months,
            record.max_publicity_months,
        )
        found = self._parts.get(key)
        if found is None:
            found = self._blocking_parts(record, rules)
            _bounded(self._parts)[key] = found
        code, sentences, references, params = found
        return Reason._lazy(code, sentences, references, {"record_id": record.record_id, **params})

    def _blocking_parts(self, record: CreditRecord, rules: Sequence[BlockingRule]) -> _Parts:
        kind_zh, kind_en = self.snapshot.kind_labels(record.kind)
        sev_zh, sev_en = SEVERITY_LABELS[record.severity]
        params = {
            "record_id": record.record_id,
            "kind": kind_code(record.kind),
            "kind_zh": kind_zh,
            "kind_en": kind_en,
            "severity": record.severity.value,
            "severity_zh": sev_zh,
            "severity_en": sev_en,
            "decided_on": _iso(record.decided_on),
        }
        refs = [rule.reference or self.snapshot.references["blocking_records"] for rule in rules]
        # The publicity and repair periods are those of the instrument of the decision day.
        refs.append(record.publicity_basis)
        city_kind = self.snapshot.record_kinds.get(kind_code(record.kind))
        if city_kind is not None:  # the law that makes such conduct a credit record
            refs.append(city_kind.legal_basis)
        if any(rule.lasts is BlockLasts.UNTIL_REPAIRED for rule in rules):
            params["repairable_from"] = _iso(record.repairable_from)
            template = REASONS["blocking-record-until-repair"]
        else:
            params["until"] = _iso(record.publicity_ends_on)
            template = REASONS["blocking-record"]
        reason = template._render_lazy(params, refs)  # checks the params, cites once
        del params["record_id"]
        return template.code, (template.zh, template.en), reason.references, params

    def _ban_reason(
        self, record: CreditRecord, ban: ReapplicationBan, item: ApprovalItem
    ) -> Reason:
        kind_zh, kind_en = self.snapshot.kind_labels(record.kind)
        params = {
            "record_id": record.record_id,
            "kind": kind_code(record.kind),
            "kind_zh": kind_zh,
            "kind_en": kind_en,
            "decided_on": _iso(record.decided_on),
            "until": _iso(ban.ends_on(record)),
            "months": str(ban.months),
            "item": item.code,
        }
        ref = ban.reference or self.snapshot.references["reapplication_ban_months"]
        return REASONS["reapplication-ban"]._render_lazy(params, [ref])

    # -- deciding ----------------------------------------------------------------------

    def decide(
        self,
        *,
        item: ApprovalItem,
        applicant: Applicant,
        evidence: CreditEvidence | CreditLookupFailure | None,
        project: ProjectFacts = _NO_PROJECT,
        choose_standard: bool = False,
    ) -> Decision:
        """The route of one application on this decider's day; see :func:`decide`."""
        return self._decide(item, applicant, evidence, project, choose_standard)

    def decide_many(self, applications: Iterable[Application]) -> list[Decision]:
        """The decisions of many applications, in order."""
        plans = self._plans
        plan_of = self._plan
        decisions: list[Decision] = []
        append = decisions.append
        with bulk():  # decisions hold no cycles: the collector would only re-scan the list
            for a in applications:  # as stream(), without resuming a generator per decision
                item = a.item
                plan = plans.get(id(item))
                if plan is None or plan[0] is not item:
                    plan = plan_of(item)
                append(
                    plan[1]._run(
                        item, plan[2], a.applicant, a.evidence, a.project, a.choose_standard
                    )
                )
        return decisions

    def stream(self, applications: Iterable[Application]) -> Iterator[Decision]:
        """Like :meth:`decide_many`, one decision at a time (for feeds too large for a list)."""
        plans = self._plans
        plan_of = self._plan
        for a in applications:
            item = a.item
            plan = plans.get(id(item))
            if plan is None or plan[0] is not item:
                plan = plan_of(item)
            yield plan[1]._run(item, plan[2], a.applicant, a.evidence, a.project, a.choose_standard)

    def _decide(
        self,
        item: ApprovalItem,
        applicant: Applicant,
        evidence: CreditEvidence | CreditLookupFailure | None,
        project: ProjectFacts,
        choose_standard: bool,
    ) -> Decision:
        plan = self._plans.get(id(item))
        if plan is None or plan[0] is not item:
            plan = self._plan(item)
        return plan[1]._run(item, plan[2], applicant, evidence, project, choose_standard)

    def _plan(self, item: ApprovalItem) -> _Plan:
        """The item compiled: the decider of its place and its rule-1 reasons (cached by
        value, so a feed that makes a new item object per application reuses them)."""
        on = self.on
        if on < item.valid_from or (item.valid_until is not None and on >= item.valid_until):
            raise NoValueInForce(f"approval item {item.code}", on)
        key = _plan_key(item)
        compiled = self._by_value.get(key)
        if compiled is None:
            decider = self._child(item) or self
            if decider._missing is not None:
                raise decider._missing
            compiled = (decider, decider._item_reasons(item))
            _bounded(self._by_value)[key] = compiled
        plan = (item, *compiled)
        _bounded(self._plans)[id(item)] = plan
        return plan

    def _run(  # noqa: PLR0917 - the hot path: positional arguments are cheaper
        self,
        item: ApprovalItem,
        item_reasons: tuple[Reason, ...],
        applicant: Applicant,
        evidence: CreditEvidence | CreditLookupFailure | None,
        project: ProjectFacts,
        choose_standard: bool,
    ) -> Decision:
        """The rules on one application, the item already compiled (see :meth:`_plan`).

        Usable evidence none of whose records bars anything (the common case) is looked up
        in the decision table; everything else goes through every rule (:meth:`_run_rules`).
        """
        if (
            type(evidence) is CreditEvidence
            and not item_reasons
            and evidence.subject == applicant.identifier
            and evidence.scale == self._scale
            and evidence.grade is not None
            and (
                (
                    (window := self._windows.get((at := evidence.retrieved_at).tzinfo)) is not None
                    and window[0] <= at < window[1]
                )
                or self._is_fresh(at)
            )
            and evidence.verify()
        ):
            major = project.major_level
            if major is not None and major not in self._level_set:
                major = None
            if evidence.records:
                bars = self._record_bars(item, applicant, evidence)
                if bars is None:
                    return self._run_rules(
                        item, item_reasons, applicant, evidence, project, choose_standard
                    )
                if bars and not (major is not None and self._no_query):
                    # Rule 4 (with rule 2's reason first for a major project), then rule 7.
                    if major is not None:
                        bars.insert(0, self._level_reason("major-project-blocked", major))
                    if choose_standard:
                        bars.append(self._reason("applicant-chose-standard"))
                    return _trusted_decision(
                        item.code,
                        item.valid_from,
                        applicant.identifier,
                        self.on,
                        Route.STANDARD,
                        Route.STANDARD,
                        tuple(bars),
                        item.catalog,
                        self._version,
                        evidence.digest,
                        major is not None,
                        self._jurisdiction,
                    )
            key = (evidence.grade, major, choose_standard)
            entry = self._table.get(key) or self._entry(key)
            # _trusted_decision, inlined: the fields of Decision, slot by slot.
            decision = _new_decision(Decision)
            _set_item_code(decision, item.code)
            _set_item_valid_from(decision, item.valid_from)
            _set_applicant(decision, applicant.identifier)
            _set_decided_on(decision, self.on)
            _set_route(decision, entry[0])
            _set_eligible_route(decision, entry[1])
            _set_reasons(decision, entry[2])
            _set_catalog(decision, item.catalog)
            _set_policy(decision, self._version)
            _set_evidence_digest(decision, evidence.digest if entry[3] else None)
            _set_major_project(decision, major is not None)
            _set_jurisdiction(decision, self._jurisdiction)
            return decision
        return self._run_rules(item, item_reasons, applicant, evidence, project, choose_standard)

    def _record_bars(
        self, item: ApprovalItem, applicant: Applicant, evidence: CreditEvidence
    ) -> list[Reason] | None:
        """For evidence usable but for its records and grade: None if the grade is unknown
        or a record is about someone else (rule 3 decides); else rule 0 (raises if a ban
        runs) and rule 4's reasons, in one pass over the records (as :meth:`_blocked`)."""
        grade = evidence.grade
        assert grade is not None
        _, reasons = self._grades.get(grade) or self._by_grade(grade)
        if reasons[0].code == "credit-grade-unknown":
            return None
        ours = applicant.identifier
        on = self.on
        national, city = self._matching, self._city_matching
        cutoffs = self._cutoffs
        blocked: list[Reason] = []
        banned: list[tuple[dt.date, CreditRecord, ReapplicationBan]] = []
        for record in evidence.records:
            if record.subject != ours:
                return None
            kind = record.kind
            by_severity = city.get(kind) if isinstance(kind, str) else national.get(kind._value_)
            match = None if by_severity is None else by_severity.get(record.severity._value_)
            if match is None:
                match = self._match(kind, record.severity)
            if match.bans and record.item_code == item.code:  # a ban bars its own item only
                for ban in match.bans:
                    if ban.bans(record, item.code, item.domains, on):
                        banned.append((ban.ends_on(record), record, ban))
            if not match.rules or record.decided_on > on:
                continue
            repaired = record.repaired_on
            if repaired is not None and repaired <= on:
                continue
            months = record.max_publicity_months
            cutoff = cutoffs[months] if months in cutoffs else self._cutoff(months)
            active = record.is_active(on) if cutoff is None else record.decided_on > cutoff
            if active:
                blocked.append(self._blocking_reason(record, match.rules, match.serial))
            elif match.until_repaired:
                blocked.append(self._blocking_reason(record, match.until_repaired, ~match.serial))
        if banned:
            self._raise_ban(item, applicant, banned)
        return blocked

    def _is_fresh(self, at: dt.datetime) -> bool:
        """True if ``at`` is in the freshness window (False also at the calendar's ends,
        where :meth:`_stale` decides)."""
        window = self._windows.get(at.tzinfo)
        if window is None:
            fresh = self._fresh
            if fresh is None:
                return False
            zone = at.tzinfo
            if type(zone) is not dt.timezone:  # an offset that may change: compare instants
                return fresh[0] <= at < fresh[1]
            try:
                window = (fresh[0].astimezone(zone), fresh[1].astimezone(zone))
            except OverflowError:  # near the calendar's ends
                return fresh[0] <= at < fresh[1]
            _bounded(self._windows)[zone] = window
        return window[0] <= at < window[1]

    def _entry(self, key: tuple[str, ProjectLevel | None, bool]) -> _Entry:
        """The decision table's entry for usable, fresh, verified evidence on the policy's
        scale, with a grade and no records: rules 2, 3 (an unknown grade), 6 and 7."""
        grade, major, choose_standard = key
        eligible, reasons = self._grades.get(grade) or self._by_grade(grade)
        keeps_evidence = True
        if major is not None and self._no_query:
            eligible, keeps_evidence = Route.DIRECT, False
            reasons = (self._level_reason("major-project-no-query", major),)
        elif major is not None and reasons[0].code != "credit-grade-unknown":
            eligible = Route.DIRECT
            reasons = (self._level_reason("major-project-direct", major),)
        route = eligible
        if choose_standard:
            route = Route.STANDARD
            reasons = (*reasons, self._reason("applicant-chose-standard"))
        entry = (route, eligible, reasons, keeps_evidence)
        _bounded(self._table)[key] = entry
        return entry

    def _run_rules(  # noqa: PLR0917 - as _run
        self,
        item: ApprovalItem,
        item_reasons: tuple[Reason, ...],
        applicant: Applicant,
        evidence: CreditEvidence | CreditLookupFailure | None,
        project: ProjectFacts,
        choose_standard: bool,
    ) -> Decision:
        """Every rule, in order, on one application."""
        snap = self.snapshot
        unusable: Reason | None = None
        if isinstance(evidence, CreditEvidence):
            unusable = self._unusable(applicant, evidence)
            if unusable is None and evidence.records and self._bans:
                self._refuse_if_banned(item, applicant, evidence)
        major = project.major_level
        if major is not None and major not in self._level_set:
            major = None
        eligible = Route.STANDARD
        reasons: Sequence[Reason]
        if item_reasons:
            reasons = item_reasons  # rule 1: the item alone decides
        elif major is not None and self._no_query:
            # Rule 2, no query: whatever a source said (or failed to say) does not count.
            eligible = Route.DIRECT
            reasons = (self._level_reason("major-project-no-query", major),)
            evidence = None
        elif evidence is None:
            eligible = snap.credit_unavailable
            reasons = (self._reason("credit-evidence-missing", "credit_unavailable"),)
        elif not isinstance(evidence, CreditEvidence):
            eligible = snap.credit_unavailable
            reasons = (self._no_evidence(evidence),)
        elif unusable is not None:
            reasons = (unusable,)
        else:
            bars = self._bars(item, evidence) if evidence.records else None
            if bars:
                if major is not None:
                    bars.insert(0, self._level_reason("major-project-blocked", major))
                reasons = bars
            elif major is not None:
                eligible = Route.DIRECT
                reasons = (self._level_reason("major-project-direct", major),)
            elif evidence.scale != self._scale:
                reasons = (self._scale_mismatch(evidence),)
            elif evidence.grade is None:
                reasons = (
                    REASONS["credit-grade-missing"]._render_lazy(
                        {"source": evidence.source},
                        [snap.references["conditional_threshold"]],
                    ),
                )
            else:
                eligible, reasons = self._grades.get(evidence.grade) or self._by_grade(
                    evidence.grade
                )
        route = eligible
        if choose_standard:
            route = Route.STANDARD
            reasons = (*reasons, self._reason("applicant-chose-standard"))
        return _trusted_decision(  # the fields of Decision, in order
            item.code,
            item.valid_from,
            applicant.identifier,
            self.on,
            route,
            eligible,
            tuple(reasons),
            item.catalog,
            snap.version,
            evidence.digest if isinstance(evidence, CreditEvidence) else None,
            major is not None,
            snap.jurisdiction,
        )

    def _child(self, item: ApprovalItem) -> Decider | None:
        """The decider of the item's place, if its rules differ from this decider's."""
        policy = self._policy
        if policy is None:
            return None
        key = (item.code, item.domains)
        view = self._views.get(key)
        if view is None:
            view = policy.view(item=item)
            _bounded(self._views)[key] = view
        if view is policy:
            return None
        child = self._children.get(view.version.digest)
        if child is None:
            child = Decider(view, self.on)
            _bounded(self._children)[view.version.digest] = child
        return child

    def _no_evidence(self, failure: CreditLookupFailure | None) -> Reason:
        if failure is None:
            return self._reason("credit-evidence-missing", "credit_unavailable")
        key = (failure.source, failure.category, failure.reason)
        found = self._failures.get(key)
        if found is None:
            found = self._failure_reason(failure)
            _bounded(self._failures)[key] = found
        return found

    def _failure_reason(self, failure: CreditLookupFailure) -> Reason:
        category = failure.category
        zh, en = FAILURE_CATEGORY_LABELS[category]
        params = {
            "source": failure.source,
            "category": category.value,
            "category_zh": zh,
            "category_en": en,
            "failure": failure.reason,
        }
        return REASONS["credit-lookup-failed"].render(
            params, [self.snapshot.references["credit_unavailable"]]
        )

    def _scale_mismatch(self, evidence: CreditEvidence) -> Reason:
        snap = self.snapshot
        return REASONS["credit-scale-mismatch"]._render_lazy(
            {"evidence_scale": evidence.scale, "policy_scale": snap.grade_scale.name},
            [snap.references["grade_scale"]],
        )


def decide(
    *,
    item: ApprovalItem,
    applicant: Applicant,
    evidence: CreditEvidence | CreditLookupFailure | None,
    policy: Policy | PolicySnapshot,
    on: dt.date,
    project: ProjectFacts = _NO_PROJECT,
    choose_standard: bool = False,
) -> Decision:
    """The route of one application (审批路径), with reasons that cite the law.

    ``evidence`` is what the credit source returned, a :class:`CreditLookupFailure`, or
    ``None`` if nobody asked. The rules, in order (``docs/policy.md``):

    1. item not on the commitment list, commitment mode ``none``, or in an excluded domain
       → STANDARD;
    2. a major project at a level the policy lists: with ``major_project_credit =
       "no-query"`` → DIRECT, the evidence ignored (nobody asks); with
       ``"blocking-records"`` → DIRECT without a grade check, unless the evidence is missing
       or untrustworthy (rule 3) or shows a blocking record or a re-application ban (then
       STANDARD);
    3. no evidence, or a lookup failure → the policy's ``credit_unavailable`` route
       (STANDARD); evidence about someone else, failing its digest, retrieved after the
       decision day or before the ``credit_evidence_max_age_days`` window (in China
       Standard Time), with a grade the policy's scale lacks, or on another scale →
       STANDARD;
    4. an active blocking record → STANDARD, one reason per record;
    5. a re-application ban running → STANDARD;
    6. no grade, or a grade worse than the threshold → STANDARD; else CONDITIONAL;
    7. ``choose_standard`` → route STANDARD, ``eligible_route`` as computed.

    Before all of them (rule 0), a statutory re-application ban on the same item
    (行政许可法 第七十八条、第七十九条) shown by usable evidence refuses the application:
    :class:`~creditcommit.errors.ReapplicationBarred`, with the end of the ban.

    With a whole :class:`Policy`, the item is decided under the rules of its place
    (:meth:`Policy.view`); the decision's ``jurisdiction`` names it.

    Raises :class:`NoValueInForce` if the item version or the policy is not in force on
    ``on``.
    """
    if on < item.valid_from or (item.valid_until is not None and on >= item.valid_until):
        raise NoValueInForce(f"approval item {item.code}", on)  # before the policy's
    return _decider(policy, on)._decide(item, applicant, evidence, project, choose_standard)


def decide_many(
    applications: Iterable[Application], policy: Policy | PolicySnapshot, on: dt.date
) -> list[Decision]:
    """Decide many applications on one day; the same results as :func:`decide` one by one."""
    return _decider(policy, on).decide_many(applications)


class _ByIdentity:
    """A policy as a cache key: the same object, not an equal one (snapshots that differ
    only in their references are equal, but cite differently)."""

    __slots__ = ("policy",)

    def __init__(self, policy: Policy | PolicySnapshot) -> None:
        self.policy = policy

    def __hash__(self) -> int:
        return id(self.policy)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByIdentity) and other.policy is self.policy


@functools.lru_cache(maxsize=32)
def _shared_decider(key: _ByIdentity, on: dt.date) -> Decider:
    # The cache keeps the policy alive, so its id cannot be reused while it is cached;
    # policies and snapshots are immutable (their own caches only memoise).
    return Decider(key.policy, on)


def _decider(policy: Policy | PolicySnapshot, on: dt.date) -> Decider:
    """The shared decider of ``policy`` on ``on``: built once, then reused (bounded LRU).

    The last one found is kept aside, so a run of calls with one policy and day (the
    usual case) skips the LRU's key.
    """
    global _last  # noqa: PLW0603 - one tuple, replaced whole (atomic under threads)
    last = _last
    if last is not None and last[0] is policy and last[1] == on:
        return last[2]
    decider = _shared_decider(_ByIdentity(policy), on)
    _last = (policy, on, decider)
    return decider


_last: tuple[Policy | PolicySnapshot, dt.date, Decider] | None = None


def _forget_deciders() -> None:
    """Drop every shared decider (for a benchmark of the first, compiling call)."""
    global _last  # noqa: PLW0603
    _last = None
    _shared_decider.cache_clear()


_CACHE_LIMIT = 4096

#: What a compiled plan reads of an item: its place and overlays (code, domains) and rule 1
#: (code, domains, commitment mode). Equal keys share a plan; a decision takes the rest of
#: its item fields (valid_from, catalog) from the item it was given.
_PlanKey = tuple[str, frozenset[str], CommitmentMode]


def _plan_key(item: ApprovalItem) -> _PlanKey:
    return (item.code, item.domains, item.commitment_mode)


#: An item compiled by :meth:`Decider._plan`: the item, the decider of its place, its
#: rule-1 reasons.
_Plan = tuple[ApprovalItem, Decider, tuple[Reason, ...]]
#: The parts of a blocking record's reason shared by records of one kind, severity, day and
#: periods: code, templates, references, params but the record id.
_Parts = tuple[str, tuple[str, str], tuple[LegalReference, ...], dict[str, str]]


class _Match:
    """What a policy says about credit records of one (kind, severity), on any day: the
    blocking rules they match (all, and those lasting until repair), the bans of the kind,
    and a number naming them in the decider's cache of reasons' shared parts."""

    __slots__ = ("bans", "rules", "serial", "until_repaired")

    def __init__(
        self, rules: tuple[BlockingRule, ...], bans: tuple[ReapplicationBan, ...], serial: int
    ) -> None:
        self.rules = rules
        self.until_repaired = tuple(r for r in rules if r.lasts is BlockLasts.UNTIL_REPAIRED)
        self.bans = bans
        #: Names ``rules`` in the decider's cache of reason parts (``~serial``: those of
        #: ``until_repaired``); never reused by the decider, unlike an ``id()``.
        self.serial = serial


#: An entry of :attr:`Decider._table`: the route, the eligible route, the reasons (shared,
#: pre-rendered) and whether the decision records the evidence's digest (not when a major
#: project's credit is not queried).
_Entry = tuple[Route, Route, tuple[Reason, ...], bool]


_K = TypeVar("_K")
_V = TypeVar("_V")


def _bounded(cache: dict[_K, _V]) -> dict[_K, _V]:
    """``cache``, emptied first if it holds :data:`_CACHE_LIMIT` entries (caches stay small)."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    return cache


def _fresh_window(on: dt.date, max_age_days: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The instants between which a retrieval's China day is in the freshness window:
    from the start of the earliest day to the end of ``on`` (``None`` at the calendar's
    ends, where :meth:`Decider._stale` decides)."""
    try:
        start = dt.datetime.combine(on - dt.timedelta(days=max_age_days), dt.time.min, _CHINA_TIME)
        end = dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min, _CHINA_TIME)
    except OverflowError:
        return None
    return start, end
