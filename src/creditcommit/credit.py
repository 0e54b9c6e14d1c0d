"""Credit grades, credit records and the evidence a credit source returns.

- :class:`GradeScale` and :class:`Grade`: a scale of credit grades (信用等级) as data, ordered
  from best (lowest risk) to worst. Presets: Yangzhou A–E, SAMR A–D, GB/T 22116 A+…D-.
- :class:`CreditRecord`: one credit record (信用记录) — a dishonesty finding, a penalty, a
  broken or false commitment — with its publicity periods and optional repair date, and
  whether it is active on a given day.
- :class:`CreditEvidence` and :class:`CreditLookupFailure`: what a credit source said about a
  subject (grade and records, with a SHA-256 digest), or why it could not say anything.

Everything here is pure: days and times are passed in, never read from the clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Self

import attrs

from creditcommit._converter import describe, read_toml, structure
from creditcommit.effective import Dated, LegalReference, Timeline
from creditcommit.errors import (
    CreditCommitError,
    DataFileError,
    InvalidValue,
    Problem,
    ScaleMismatch,
    UnknownGrade,
)

__all__ = [
    "CITY_KIND_PATTERN",
    "CityRecordKind",
    "CreditEvidence",
    "CreditLookupFailure",
    "CreditRecord",
    "CreditRecordKind",
    "CreditSourceError",
    "DEFAULT_PUBLICITY_BASIS",
    "DEFAULT_PUBLICITY_MONTHS",
    "DETAIL_LIMIT",
    "FailureCategory",
    "GBT_22116",
    "Grade",
    "GradeScale",
    "PUBLICITY_PERIODS",
    "PublicityPeriod",
    "SAMR_A_D",
    "Severity",
    "YANGZHOU_A_E",
    "add_months",
    "categorise",
    "failure_detail",
    "kind_code",
    "publicity_periods",
    "record_kind",
    "record_kind_problem",
    "sanitise_detail",
]


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


def _under(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    """Problems of a nested value, with paths under ``prefix`` (``records[2].subject``)."""
    return [Problem(f"{prefix}.{p.path}", p.message) for p in problems]


def _non_empty(path: str, value: str | None, what: str) -> list[Problem]:
    if value is not None and not value.strip():
        return [Problem(path, f"expected a non-empty {what}, got {value!r}")]
    return []


def _aware(path: str, value: object) -> list[Problem]:
    if not isinstance(value, dt.datetime):
        return [Problem(path, f"expected a date-time with offset, got {value!r}")]
    if value.utcoffset() is None:
        return [Problem(path, f"expected a date-time with offset (e.g. +08:00), got {value!r}")]
    return []


def _a_date(path: str, value: object) -> list[Problem]:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        return [Problem(path, f"expected a date, got {value!r}")]
    return []


# --------------------------------------------------------------------------- grade scales


def _grade_key(code: str) -> str:
    # Letters match in any case; "+" and "-" are not letters, so they must match exactly.
    return code.casefold()


def _scale_problems(name: str, grades: Sequence[str], labels: Mapping[str, str]) -> list[Problem]:
    problems = _non_empty("name", name, "scale name")
    if not grades:
        problems.append(Problem("grades", "expected at least one grade"))
    seen: dict[str, int] = {}
    for i, code in enumerate(grades):
        if not code or any(ch.isspace() for ch in code):
            problems.append(
                Problem(f"grades[{i}]", f"expected a grade code without spaces, got {code!r}")
            )
            continue
        key = _grade_key(code)
        if key in seen:
            problems.append(
                Problem(f"grades[{i}]", f"duplicate grade {code!r} (same as grades[{seen[key]}])")
            )
        else:
            seen[key] = i
    for code in labels:
        if code not in grades:
            problems.append(
                Problem(
                    f"labels.{code}", f"not a grade of this scale (grades: {', '.join(grades)})"
                )
            )
    return problems


def _tuple_of_str(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _frozen_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(labels))


@attrs.frozen
class _GradeScaleSchema:
    name: str
    grades: list[str]
    labels: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class GradeScale:
    """A scale of credit grades (信用等级), ordered from best (lowest risk) to worst.

    Grade codes are unique ignoring letter case; :meth:`grade` accepts ``"b"`` for ``"B"``
    and ``"a+"`` for ``"A+"``, but ``"+"`` and ``"-"`` must match exactly. Policies compare
    grades within one scale; the scale's ``name`` identifies it.

    >>> scale = GradeScale.yangzhou()
    >>> scale.grade("b") > scale.grade("C")
    True
    >>> sorted(scale.at_least("B"))
    ['A', 'B']
    """

    name: str
    grades: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    labels: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_labels, hash=False, repr=False
    )
    _keys: Mapping[str, str] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _raise_if("GradeScale", _scale_problems(self.name, self.grades, self.labels))
        keys = MappingProxyType({_grade_key(code): code for code in self.grades})
        object.__setattr__(self, "_keys", keys)

    def __reduce__(self) -> tuple[type[GradeScale], tuple[str, tuple[str, ...], dict[str, str]]]:
        # Mapping proxies cannot be pickled or deep-copied; rebuild from plain values.
        return (type(self), (self.name, self.grades, dict(self.labels)))

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """Build a scale from a policy file's table: ``name``, ``grades``, optional ``labels``.

        Raises :class:`DataFileError` listing every problem with its path (``grades[2]``).
        """
        schema = structure(data, _GradeScaleSchema, source=source)
        problems = _scale_problems(schema.name, schema.grades, schema.labels)
        if problems:
            raise DataFileError(source, problems)
        return cls(schema.name, schema.grades, schema.labels)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Self:
        """Read a scale from a TOML file with ``name``, ``grades`` and ``[labels]``."""
        return cls.from_dict(read_toml(path), source=os.fspath(path))

    @classmethod
    def yangzhou(cls) -> GradeScale:
        """Yangzhou (Jiangdu) A–E, after the national 互联网+监管 enterprise credit-risk classes.

        The five-class split is sourced (domain.md §3.3); the letters A = lowest risk … E =
        highest risk are an **assumption** not found in an accessible text. Build your own
        scale (:meth:`from_dict`) if the local mapping differs.
        """
        return YANGZHOU_A_E

    @classmethod
    def samr(cls) -> GradeScale:
        """SAMR A–D enterprise credit-risk classes (国市监信发〔2022〕6号)."""
        return SAMR_A_D

    @classmethod
    def gbt_22116(cls) -> GradeScale:
        """GB/T 22116 public credit rating: A, B, C, D, each refined with "+" and "-"."""
        return GBT_22116

    def _code(self, code: str | Grade) -> str:
        if isinstance(code, Grade):
            if code.scale != self.name:
                raise ScaleMismatch(self.name, code.scale)
            code = code.code
        found = self._keys.get(_grade_key(code))
        if found is None:
            raise UnknownGrade(self.name, code, self.grades)
        return found

    def grade(self, code: str | Grade) -> Grade:
        """The grade with this code; raises :class:`UnknownGrade` if the scale lacks it."""
        canonical = self._code(code)
        return Grade(self.name, canonical, self.grades.index(canonical))

    def rank(self, code: str | Grade) -> int:
        """Position of the grade on the scale: 0 is the best grade."""
        return self.grades.index(self._code(code))

    def label(self, code: str | Grade) -> str | None:
        """The Chinese label of the grade (e.g. 信用风险低), if the scale has one."""
        return self.labels.get(self._code(code))

    def at_least(self, threshold: str | Grade) -> frozenset[str]:
        """Codes of the grades as good as ``threshold`` or better."""
        return frozenset(self.grades[: self.rank(threshold) + 1])

    def __contains__(self, code: object) -> bool:
        if isinstance(code, Grade):
            return code.scale == self.name and code.code in self.grades
        return isinstance(code, str) and _grade_key(code) in self._keys

    def __iter__(self) -> Iterator[str]:
        """Grade codes, best to worst."""
        return iter(self.grades)

    def __len__(self) -> int:
        return len(self.grades)


@attrs.frozen
class Grade:
    """One credit grade (信用等级) on a named scale; obtain it from :meth:`GradeScale.grade`.

    Grades of one scale are totally ordered with *greater = better*: ``A > B``. Ordering
    grades of different scales raises :class:`ScaleMismatch` (``==`` is simply false).
    """

    scale: str
    code: str
    rank: int = attrs.field()

    @rank.validator
    def _check_rank(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 0:
            raise InvalidValue("Grade", [Problem("rank", f"expected 0 or more, got {value}")])

    def _other(self, other: object) -> Grade | None:
        if not isinstance(other, Grade):
            return None
        if other.scale != self.scale:
            raise ScaleMismatch(self.scale, other.scale)
        return other

    def __gt__(self, other: object) -> bool:
        g = self._other(other)
        return NotImplemented if g is None else self.rank < g.rank

    def __ge__(self, other: object) -> bool:
        g = self._other(other)
        return NotImplemented if g is None else self.rank <= g.rank

    def __lt__(self, other: object) -> bool:
        g = self._other(other)
        return NotImplemented if g is None else self.rank > g.rank

    def __le__(self, other: object) -> bool:
        g = self._other(other)
        return NotImplemented if g is None else self.rank >= g.rank

    def is_at_least(self, other: Grade) -> bool:
        """True if this grade is as good as ``other`` or better (same scale required)."""
        return self >= other

    def __str__(self) -> str:
        return self.code


YANGZHOU_A_E = GradeScale(
    "yangzhou-a-e",
    ("A", "B", "C", "D", "E"),
    # The five 互联网+监管 risk classes (low … high); letters assumed, see GradeScale.yangzhou.
    {
        "A": "信用风险低",
        "B": "信用风险较低",
        "C": "信用风险一般",
        "D": "信用风险较高",
        "E": "信用风险高",
    },
)
"""Yangzhou A–E (default scale); see :meth:`GradeScale.yangzhou` for the letter assumption."""

SAMR_A_D = GradeScale(
    "samr-a-d",
    ("A", "B", "C", "D"),
    {"A": "信用风险低", "B": "信用风险一般", "C": "信用风险较高", "D": "信用风险高"},
)
"""SAMR enterprise credit-risk classes A–D (国市监信发〔2022〕6号)."""

GBT_22116 = GradeScale(
    "gbt-22116",
    ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-"),
)
"""GB/T 22116 public credit rating A+ … D- (as used by Yangling; no official labels here)."""


# --------------------------------------------------------------------------- records


class CreditRecordKind(enum.Enum):
    """What a credit record (信用记录) is about."""

    DISHONESTY = "dishonesty"
    """违法失信信息: a finding of illegal or dishonest conduct."""
    SERIOUS_DISHONESTY_LIST = "serious_dishonesty_list"
    """严重失信主体名单: inclusion on a serious-dishonesty list."""
    ADMINISTRATIVE_PENALTY = "administrative_penalty"
    """行政处罚: a published administrative penalty decision."""
    COMMITMENT_BREACH = "commitment_breach"
    """未履行承诺: a commitment that was not fulfilled."""
    FALSE_COMMITMENT = "false_commitment"
    """虚假承诺: a commitment found to be false."""
    FALSE_APPLICATION = "false_application"
    """隐瞒有关情况或者提供虚假材料申请行政许可 (行政许可法 第七十八条)."""


CITY_KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""The form of a city-specific record kind's code: ``wage_arrears``, like the national ones."""

_NATIONAL_KINDS = {kind.value: kind for kind in CreditRecordKind}


def record_kind(value: CreditRecordKind | str) -> CreditRecordKind | str:
    """A record kind: the :class:`CreditRecordKind` of a national code, else the city code.

    A city code (e.g. ``"wage_arrears"`` for 欠薪) is kept as a string; whether a city has
    declared it is checked where the policy is known (:class:`CityRecordKind`).

    >>> record_kind("dishonesty")
    <CreditRecordKind.DISHONESTY: 'dishonesty'>
    >>> record_kind("wage_arrears")
    'wage_arrears'
    """
    if isinstance(value, CreditRecordKind):
        return value
    return _NATIONAL_KINDS.get(value, value)


def kind_code(kind: CreditRecordKind | str) -> str:
    """The code a record kind is written as: ``"dishonesty"``, ``"wage_arrears"``."""
    return kind.value if isinstance(kind, CreditRecordKind) else kind


def record_kind_problem(
    value: object, declared: Iterable[str] | None = None, *, what: str = "string"
) -> str | None:
    """What is wrong with ``value`` as a record kind, or ``None`` if it is fine.

    ``declared`` are the city kinds a policy declares; ``None`` accepts any well-formed
    city code (for stored records, which stay readable whatever the policy says today).
    """
    national = ", ".join(repr(code) for code in _NATIONAL_KINDS)
    if isinstance(value, CreditRecordKind) or value in _NATIONAL_KINDS:
        return None
    shown = f"{what} {value!r}" if isinstance(value, str) else describe(value)
    if declared is None:
        if isinstance(value, str) and CITY_KIND_PATTERN.fullmatch(value):
            return None
        return (
            f"expected one of {national}, or a city kind's code (lower-case letters, digits "
            f"and _, e.g. 'wage_arrears'), got {shown}"
        )
    codes = sorted(declared)
    if isinstance(value, str) and value in codes:
        return None
    if not codes:
        return (
            f"expected one of {national}, got {shown} (a city-specific kind must be declared "
            "under [record_kinds] in the policy)"
        )
    listed = ", ".join(repr(code) for code in codes)
    return f"expected one of {national}, or a city kind the policy declares ({listed}), got {shown}"


@attrs.frozen
class CityRecordKind:
    """A city-specific kind of credit record (地方信用记录类别), declared in the policy.

    E.g. 拖欠农民工工资 (wage arrears) under 《保障农民工工资支付条例》. Records carry the
    ``code`` as their :attr:`CreditRecord.kind`; blocking rules, re-application bans,
    scenario files and CSV imports may use it once the policy declares it.

    :ivar code: lower-case letters, digits and ``_`` (:data:`CITY_KIND_PATTERN`), not a
        national kind's code.
    :ivar zh: the Chinese label shown to officials and applicants.
    :ivar en: the English label.
    :ivar legal_basis: the instrument (and article) the kind of record rests on.
    """

    code: str
    zh: str
    en: str
    legal_basis: LegalReference

    def __attrs_post_init__(self) -> None:
        _raise_if("CityRecordKind", _city_kind_problems(self.code, self.zh, self.en))


def _city_kind_problems(code: str, zh: str, en: str) -> list[Problem]:
    problems: list[Problem] = []
    if code in _NATIONAL_KINDS:
        problems.append(
            Problem("code", f"{code!r} is a national kind; a city kind needs a code of its own")
        )
    elif not CITY_KIND_PATTERN.fullmatch(code):
        problems.append(
            Problem(
                "code",
                f"expected lower-case letters, digits and _ (e.g. 'wage_arrears'), got {code!r}",
            )
        )
    problems += _non_empty("zh", zh, "Chinese label")
    problems += _non_empty("en", en, "English label")
    if zh and " " in zh.strip():
        problems.append(Problem("zh", f"expected Chinese text without spaces, got {zh!r}"))
    return problems


class Severity(enum.Enum):
    """Severity of dishonesty information (失信信息 轻微/一般/严重), NDRC Order No. 36."""

    MINOR = "minor"
    """轻微"""
    GENERAL = "general"
    """一般"""
    SERIOUS = "serious"
    """严重"""


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole ``months``, clamped to the end of a shorter month.

    Publicity periods are whole months counted from the decision day.

    >>> add_months(dt.date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    >>> add_months(dt.date(2024, 2, 29), 12)
    datetime.date(2025, 2, 28)
    """
    return _add_months(day, months)


# Publicity ends and repair days are asked for again and again (every record of every
# decision, on a few thousand distinct decision days): remembered, within a bound.
@functools.lru_cache(maxsize=16_384)
def _add_months(day: dt.date, months: int) -> dt.date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


@attrs.frozen
class PublicityPeriod:
    """Minimum and maximum publicity periods (最短/最长公示期) of a credit record, in months.

    After the minimum the subject may apply for credit repair (信用修复); from the maximum the
    record is no longer published.
    """

    min_months: int
    max_months: int

    def __attrs_post_init__(self) -> None:
        _raise_if("PublicityPeriod", _period_problems(self.min_months, self.max_months))


def _period_problems(
    min_months: int, max_months: int, names: tuple[str, str] = ("min_months", "max_months")
) -> list[Problem]:
    if min_months < 0:
        return [Problem(names[0], f"expected 0 or more months, got {min_months}")]
    if max_months < min_months:
        return [Problem(names[1], f"expected at least {names[0]} ({min_months}), got {max_months}")]
    return []


DEFAULT_PUBLICITY_BASIS = (
    "《信用修复管理办法》（国家发展改革委令第36号，2026年4月1日起施行）：轻微失信信息最长公示3个月，"
    "一般失信信息最短3个月、最长1年，严重失信信息最短1年、最长3年"
)
"""Legal reference of :data:`DEFAULT_PUBLICITY_MONTHS` (domain.md §8.1, [S55]–[S57])."""

DEFAULT_PUBLICITY_MONTHS: Mapping[Severity, PublicityPeriod] = MappingProxyType(
    {
        Severity.MINOR: PublicityPeriod(0, 3),
        Severity.GENERAL: PublicityPeriod(3, 12),
        Severity.SERIOUS: PublicityPeriod(12, 36),
    }
)
"""Publicity periods by severity under NDRC Order No. 36 (信用修复管理办法, in force 2026-04-01).

Minor 0–3 months (normally not published; repairable once the obligation is performed),
general 3–12 months, serious 12–36 months, counted from the decision day. SAMR Order No.
107 (2025-12-25) uses the same numbers for market-regulation records. Records decided under
earlier rules (e.g. 发改办财金〔2019〕527号: serious minimum 6 months) need explicit periods.
"""


def _table(
    minor: tuple[int, int], general: tuple[int, int], serious: tuple[int, int]
) -> Mapping[Severity, PublicityPeriod]:
    return MappingProxyType(
        {
            Severity.MINOR: PublicityPeriod(*minor),
            Severity.GENERAL: PublicityPeriod(*general),
            Severity.SERIOUS: PublicityPeriod(*serious),
        }
    )


PUBLICITY_PERIODS: Timeline[Mapping[Severity, PublicityPeriod]] = Timeline(
    "credit-record publicity periods",
    (
        # 发改办财金〔2019〕527号: general 3-12 months, serious 6-36 (domain.md §8.1 [S51]
        # [S52]). It has no "minor" level: Order No. 36's 0-3 months are used [I].
        Dated(
            dt.date(2019, 12, 31),
            _table((0, 3), (3, 12), (6, 36)),
            end=dt.date(2023, 5, 1),
            reference=LegalReference(
                "国家发展改革委办公厅关于进一步完善“信用中国”网站及地方信用门户网站行政处罚信息"
                "信用修复机制的通知（发改办财金〔2019〕527号）"
            ),
        ),
        # NDRC Order No. 58, 2023-05-01 to 2026-03-31: general 3-12 and serious 12-36 are
        # [UNVERIFIED] (recalled, domain.md §8.1); minor as under Order No. 36 [I].
        Dated(
            dt.date(2023, 5, 1),
            _table((0, 3), (3, 12), (12, 36)),
            end=dt.date(2026, 4, 1),
            reference=LegalReference(
                "失信行为纠正后的信用信息修复管理办法（试行）（国家发展改革委令第58号）"
            ),
        ),
        Dated(
            dt.date(2026, 4, 1),
            DEFAULT_PUBLICITY_MONTHS,
            reference=LegalReference("信用修复管理办法（国家发展改革委令第36号）"),
        ),
    ),
)
"""Publicity periods of credit records by the NDRC instrument in force on the decision day.

发改办财金〔2019〕527号 until 2023-04-30, NDRC Order No. 58 (失信行为纠正后的信用信息修复管理办法
（试行）) from 2023-05-01 until 2026-03-31, NDRC Order No. 36 (信用修复管理办法) from 2026-04-01.
Each entry's ``reference`` names its instrument.
"""


def publicity_periods(decided_on: dt.date) -> Dated[Mapping[Severity, PublicityPeriod]]:
    """The publicity periods, with their instrument, for a record decided on ``decided_on``.

    A record keeps the periods of the day it was decided. Before the first instrument
    known here (527号, taken to be in force from the end of 2019), its periods are used.

    >>> publicity_periods(dt.date(2023, 4, 30)).value[Severity.SERIOUS]
    PublicityPeriod(min_months=6, max_months=36)
    >>> str(publicity_periods(dt.date(2026, 5, 6)).reference)
    '信用修复管理办法（国家发展改革委令第36号）'
    """
    first = PUBLICITY_PERIODS.entries[0]
    return first if decided_on < first.start else PUBLICITY_PERIODS.entry_at(decided_on)


def _record_problems(r: _RecordSchema | CreditRecord) -> list[Problem]:
    decided_on, repaired_on = r.decided_on, r.repaired_on
    problems = _non_empty("record_id", r.record_id, "record id")
    problems += _non_empty("subject", r.subject, "subject")
    kind = record_kind_problem(r.kind)
    if kind is not None:
        problems.append(Problem("kind", kind))
    bad_decided = _a_date("decided_on", decided_on)
    problems += bad_decided
    problems += _period_problems(
        r.min_publicity_months,
        r.max_publicity_months,
        ("min_publicity_months", "max_publicity_months"),
    )
    if repaired_on is not None:
        bad_repaired = _a_date("repaired_on", repaired_on)
        problems += bad_repaired
        if not bad_decided and not bad_repaired and repaired_on < decided_on:
            problems.append(
                Problem(
                    "repaired_on",
                    f"expected on or after decided_on ({decided_on.isoformat()}), "
                    f"got {repaired_on.isoformat()}",
                )
            )
    return problems


@attrs.frozen
class _RecordSchema:
    record_id: str
    subject: str
    kind: str
    severity: Severity
    decided_on: dt.date
    min_publicity_months: int
    max_publicity_months: int
    repaired_on: dt.date | None = None
    authority: str | None = None
    legal_basis: str | None = None
    description: str | None = None
    item_code: str | None = None


@attrs.frozen(kw_only=True)
class CreditRecord:
    """A credit record (信用记录) of one subject: what was found, when, and for how long.

    The record is published from ``decided_on`` (the day the judicial or administrative
    document found the conduct) until ``publicity_ends_on``; from ``repairable_from`` the
    subject may apply for credit repair, and ``repaired_on`` is the day repair was granted.

    >>> r = CreditRecord.with_default_periods(
    ...     record_id="P-1", subject="91320000100000000B",
    ...     kind=CreditRecordKind.ADMINISTRATIVE_PENALTY, severity=Severity.GENERAL,
    ...     decided_on=dt.date(2026, 5, 31))
    >>> r.repairable_from, r.publicity_ends_on
    (datetime.date(2026, 8, 31), datetime.date(2027, 5, 31))
    >>> r.is_active(dt.date(2027, 5, 30)), r.is_active(dt.date(2027, 5, 31))
    (True, False)
    """

    record_id: str
    subject: str
    """Identifier text of the credit subject, e.g. a USCC."""
    kind: CreditRecordKind | str = attrs.field(converter=record_kind)
    """A national :class:`CreditRecordKind`, or the code of a :class:`CityRecordKind`
    (written and read as the same string, so stored records stay readable)."""
    severity: Severity
    decided_on: dt.date
    min_publicity_months: int
    max_publicity_months: int
    repaired_on: dt.date | None = None
    authority: str | None = None
    legal_basis: str | None = None
    """Free-text citation of the law the finding rests on."""
    description: str | None = None
    item_code: str | None = None
    """The approval item (licence) the conduct concerned, where it concerned one: the
    statutory re-application bans (行政许可法 第七十八条、第七十九条) bar that item only."""

    def __attrs_post_init__(self) -> None:
        _raise_if("CreditRecord", _record_problems(self))

    @classmethod
    def with_default_periods(
        cls,
        *,
        record_id: str,
        subject: str,
        kind: CreditRecordKind | str,
        severity: Severity,
        decided_on: dt.date,
        repaired_on: dt.date | None = None,
        authority: str | None = None,
        legal_basis: str | None = None,
        description: str | None = None,
        item_code: str | None = None,
        periods: Mapping[Severity, PublicityPeriod] | None = None,
    ) -> Self:
        """A record whose publicity periods come from its severity.

        ``periods`` defaults to those of the instrument in force on ``decided_on``
        (:func:`publicity_periods`: 527号, Order No. 58 or Order No. 36); pass a table of
        your own for records under other rules.
        """
        table = publicity_periods(decided_on).value if periods is None else periods
        period = table[severity]
        return cls(
            record_id=record_id,
            subject=subject,
            kind=kind,
            severity=severity,
            decided_on=decided_on,
            min_publicity_months=period.min_months,
            max_publicity_months=period.max_months,
            repaired_on=repaired_on,
            authority=authority,
            legal_basis=legal_basis,
            description=description,
            item_code=item_code,
        )

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """Build a record from plain data (dates as ``YYYY-MM-DD``, enums by value).

        Raises :class:`DataFileError` listing every problem with its path.
        """
        try:
            schema = structure(data, _RecordSchema, source=source)
        except DataFileError as exc:
            # The kind is a plain string to the converter: report a bad one with the rest.
            kind = data.get("kind") if isinstance(data, Mapping) else None
            found = record_kind_problem(kind) if isinstance(kind, str) else None
            if found is None:
                raise
            raise DataFileError(source, [Problem("kind", found), *exc.problems]) from None
        problems = _record_problems(schema)
        if problems:
            raise DataFileError(source, problems)
        return cls(**attrs.asdict(schema, recurse=False))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data that :meth:`from_dict` reads back.

        ``item_code`` appears only when set, so that evidence digests computed before the
        field existed still verify.
        """
        data = {
            "record_id": self.record_id,
            "subject": self.subject,
            "kind": kind_code(self.kind),
            "severity": self.severity.value,
            "decided_on": self.decided_on.isoformat(),
            "min_publicity_months": self.min_publicity_months,
            "max_publicity_months": self.max_publicity_months,
            "repaired_on": None if self.repaired_on is None else self.repaired_on.isoformat(),
            "authority": self.authority,
            "legal_basis": self.legal_basis,
            "description": self.description,
        }
        if self.item_code is not None:
            data["item_code"] = self.item_code
        return data

    @property
    def publicity_basis(self) -> LegalReference:
        """The instrument whose publicity and repair rules applied on the decision day."""
        reference = publicity_periods(self.decided_on).reference
        assert reference is not None  # every entry of PUBLICITY_PERIODS has one
        return reference

    @property
    def publicity_period(self) -> PublicityPeriod:
        """The minimum and maximum publicity periods."""
        return PublicityPeriod(self.min_publicity_months, self.max_publicity_months)

    @property
    def publicity_ends_on(self) -> dt.date:
        """The first day the record is no longer published (decided_on + maximum period)."""
        return add_months(self.decided_on, self.max_publicity_months)

    @property
    def repairable_from(self) -> dt.date:
        """The first day the subject may apply for repair (decided_on + minimum period)."""
        return add_months(self.decided_on, self.min_publicity_months)

    def is_repaired(self, on: dt.date) -> bool:
        """True if credit repair was granted on or before ``on``."""
        return self.repaired_on is not None and self.repaired_on <= on

    def is_active(self, on: dt.date) -> bool:
        """True if the record counts on ``on``: decided, not repaired, still published."""
        return self.decided_on <= on < self.publicity_ends_on and not self.is_repaired(on)


# --------------------------------------------------------------------------- evidence


_DIGEST = re.compile(r"[0-9a-f]{64}")


def _instant(value: dt.datetime) -> str:
    # One spelling per instant, so the digest depends on the time, not on its offset.
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _evidence_payload(
    *,
    subject: str,
    source: str,
    retrieved_at: dt.datetime,
    scale: str,
    grade: str | None,
    records: Iterable[CreditRecord],
) -> dict[str, Any]:
    return {
        "subject": subject,
        "source": source,
        "retrieved_at": _instant(retrieved_at),
        "scale": scale,
        "grade": grade,
        "records": [r.to_dict() for r in records],
    }


def _sha256(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _evidence_problems(e: _EvidenceSchema | CreditEvidence) -> list[Problem]:
    problems = _non_empty("subject", e.subject, "subject")
    problems += _non_empty("source", e.source, "source name")
    problems += _aware("retrieved_at", e.retrieved_at)
    problems += _non_empty("scale", e.scale, "scale name")
    problems += _non_empty("grade", e.grade, "grade (or nothing)")
    if not _DIGEST.fullmatch(e.digest):
        problems.append(Problem("digest", f"expected 64 lower-case hex digits, got {e.digest!r}"))
    return problems


def _record_tuple(records: Iterable[CreditRecord]) -> tuple[CreditRecord, ...]:
    return tuple(records)


@attrs.frozen
class _EvidenceSchema:
    subject: str
    source: str
    retrieved_at: dt.datetime
    scale: str
    digest: str
    grade: str | None = None
    records: list[_RecordSchema] = attrs.field(factory=list)


class _Verified:
    """The slot of :class:`CreditEvidence` that remembers whether its digest matched.

    It is not an attrs field: it is set only where evidence enters (:meth:`CreditEvidence.
    create`, :meth:`CreditEvidence.from_dict`, the first :meth:`CreditEvidence.verify`),
    and neither pickles, copies nor :func:`attrs.evolve` carry it, so data from outside is
    always hashed once before it is trusted.
    """

    __slots__ = ("_verified",)


@attrs.frozen(kw_only=True)
class CreditEvidence(_Verified):
    """What a credit source said about a subject when asked (逢报必查): grade and records.

    ``grade`` is ``None`` when the source has no grade for the subject. ``digest`` is the
    SHA-256 (hex) of the canonical JSON of :meth:`to_dict` without the ``digest`` key: keys
    sorted, no spaces (``","`` and ``":"``), UTF-8 without ``\\u`` escapes, dates
    ``YYYY-MM-DD``, ``retrieved_at`` in UTC with microseconds, records in the source's
    order. Build evidence with :meth:`create`; check stored evidence with :meth:`verify`.
    """

    subject: str
    source: str
    """Which credit source (or plugin) answered."""
    retrieved_at: dt.datetime
    scale: str
    """Name of the grade scale the grade is on."""
    grade: str | None
    records: tuple[CreditRecord, ...] = attrs.field(converter=_record_tuple)
    digest: str

    def __attrs_post_init__(self) -> None:
        _raise_if("CreditEvidence", _evidence_problems(self))

    @classmethod
    def create(
        cls,
        *,
        subject: str,
        source: str,
        retrieved_at: dt.datetime,
        scale: str,
        grade: str | None,
        records: Iterable[CreditRecord] = (),
    ) -> Self:
        """Evidence with its digest computed; ``retrieved_at`` must carry an offset."""
        # Check before hashing: astimezone() would read a naive time as the host's local time.
        _raise_if("CreditEvidence", _aware("retrieved_at", retrieved_at))
        records = tuple(records)
        digest = _sha256(
            _evidence_payload(
                subject=subject,
                source=source,
                retrieved_at=retrieved_at,
                scale=scale,
                grade=grade,
                records=records,
            )
        )
        evidence = cls(
            subject=subject,
            source=source,
            retrieved_at=retrieved_at,
            scale=scale,
            grade=grade,
            records=records,
            digest=digest,
        )
        object.__setattr__(evidence, "_verified", True)  # the digest was just computed
        return evidence

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """Read evidence written by :meth:`to_dict`; raises :class:`DataFileError` on bad data.

        The digest is checked against the content here, once; the evidence is returned
        even if it does not match, and :meth:`verify` tells (without hashing again).
        """
        schema = structure(data, _EvidenceSchema, source=source)
        problems = _evidence_problems(schema)
        for i, record in enumerate(schema.records):
            problems += _under(f"records[{i}]", _record_problems(record))
        if problems:
            raise DataFileError(source, problems)
        evidence = cls(
            subject=schema.subject,
            source=schema.source,
            retrieved_at=schema.retrieved_at,
            scale=schema.scale,
            grade=schema.grade,
            records=tuple(CreditRecord(**attrs.asdict(r, recurse=False)) for r in schema.records),
            digest=schema.digest,
        )
        evidence.verify()
        return evidence

    def _payload(self) -> dict[str, Any]:
        return _evidence_payload(
            subject=self.subject,
            source=self.source,
            retrieved_at=self.retrieved_at,
            scale=self.scale,
            grade=self.grade,
            records=self.records,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (``retrieved_at`` in UTC) that :meth:`from_dict` reads back."""
        return {**self._payload(), "digest": self.digest}

    def verify(self) -> bool:
        """True if ``digest`` matches the content (the evidence was not altered).

        The digest is computed at most once per evidence object (evidence is immutable):
        :meth:`create` and :meth:`from_dict` already know the answer.
        """
        known: bool | None = getattr(self, "_verified", None)
        if known is None:
            known = _sha256(self._payload()) == self.digest
            object.__setattr__(self, "_verified", known)
        return known

    def active_records(self, on: dt.date) -> tuple[CreditRecord, ...]:
        """The records that are active on ``on`` (see :meth:`CreditRecord.is_active`)."""
        return tuple(r for r in self.records if r.is_active(on))

    def resolve_grade(self, scale: GradeScale) -> Grade | None:
        """The grade as a :class:`Grade` of ``scale``, or ``None`` if the source had none.

        Raises :class:`ScaleMismatch` if the evidence is on another scale and
        :class:`UnknownGrade` if the scale lacks the grade.
        """
        if scale.name != self.scale:
            raise ScaleMismatch(self.scale, scale.name)
        return None if self.grade is None else scale.grade(self.grade)


# --------------------------------------------------------------------------- failures


class FailureCategory(enum.Enum):
    """Why a credit look-up gave no usable evidence (信用查询失败的类别).

    The reason shown to an applicant, and stored in the event log, is built from the
    category and at most a short sanitised detail (:func:`sanitise_detail`), never from the
    raw text of an exception, which may carry URLs, query strings or tokens.
    """

    TIMEOUT = "timeout"
    """The source did not answer in time (:class:`TimeoutError`, ``socket.timeout``)."""
    REFUSED = "refused"
    """The source refused the connection (:class:`ConnectionRefusedError`)."""
    UNREACHABLE = "unreachable"
    """The source could not be reached (another :class:`OSError` or :class:`ConnectionError`)."""
    UPSTREAM_ERROR = "upstream-error"
    """The source answered with an error of its own (e.g. HTTP 5xx)."""
    MALFORMED_REPLY = "malformed-reply"
    """The source answered something that is not credit evidence."""
    UNAUTHORISED = "unauthorised"
    """The source refused to answer this caller (e.g. HTTP 401 or 403)."""
    WRONG_SUBJECT = "wrong-subject"
    """The source answered about another subject than the one asked about."""
    INTERNAL = "internal"
    """Anything else: a fault in the adapter or in the library."""


class CreditSourceError(CreditCommitError):
    """What a credit-source adapter raises to say how its look-up failed.

    The service records any exception a source raises as a :class:`CreditLookupFailure`;
    an exception with a ``category`` attribute (a :class:`FailureCategory` or its value),
    such as this one, is recorded under that category. ``detail`` is kept only after
    :func:`sanitise_detail`: URLs, ``key=value`` pairs and tokens are removed.

    >>> error = CreditSourceError("unauthorised", "HTTP 403 from the platform")
    >>> error.category
    <FailureCategory.UNAUTHORISED: 'unauthorised'>
    >>> str(error)
    'credit source failed (unauthorised): HTTP 403 from the platform'

    :ivar category: the :class:`FailureCategory`.
    :ivar detail: what went wrong, in a few words.
    """

    def __init__(self, category: FailureCategory | str, detail: str = "") -> None:
        self.category = FailureCategory(category)
        self.detail = detail
        text = f"credit source failed ({self.category.value})"
        super().__init__(f"{text}: {detail}" if detail else text)


#: How long a sanitised detail may be, in characters.
DETAIL_LIMIT = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://\S*|\bwww\.\S*")
_SCHEME_TOKEN = re.compile(
    r"(?i)\b(?:bearer|basic|digest|negotiate|token)\s+[A-Za-z0-9._~+/=\-]{8,}"
)
_SECRET_FIELD = re.compile(
    r"(?i)\S*(?:authori[sz]ation|auth|token|secret|passw(?:or)?d|pwd|api[-_]?key|"
    r"access[-_]?key|cookie|session|signature|credential)\S*\s*[:=]\s*\S+"
)
_KEY_VALUE = re.compile(r"\S*=\S*")
_ADDRESS = re.compile(r"[^\s@]+(?:@[^\s@]+)+")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?")
_HOST = re.compile(r"(?i)\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:/\S*)?")
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/.~]{16,}")


def _token(match: re.Match[str]) -> str:
    text = match.group()
    return "<redacted>" if len(text) >= 32 or any(c.isdigit() for c in text) else text


def sanitise_detail(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` made safe to show an applicant and to store: one short line, no secrets.

    Control characters and runs of white space become one space; URLs become ``<url>``;
    ``Bearer …`` (and ``Basic``, ``Digest``, ``Negotiate``, ``Token``) credentials become
    ``<credential>``; headers or fields named like a secret (``Authorization: …``,
    ``api_key: …``) and every ``key=value`` become ``<redacted>``; e-mail addresses
    ``<address>``; IP addresses and host names ``<host>``; long runs of letters and digits
    (tokens, identifiers) ``<redacted>``. The result is at most ``limit`` characters (cut
    with ``…``), and sanitising it again changes nothing.

    >>> sanitise_detail("GET https://api.example.cn/v1?key=abc failed: Bearer eyJhbGciOi.x9")
    'GET <url> failed: <credential>'
    >>> sanitise_detail("token=s3cr3t; timeout after 3.0 s")
    '<redacted> timeout after 3.0 s'
    """
    out = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    out = _URL.sub("<url>", out)
    out = _SCHEME_TOKEN.sub("<credential>", out)
    out = _SECRET_FIELD.sub("<redacted>", out)
    out = _KEY_VALUE.sub("<redacted>", out)
    out = _ADDRESS.sub("<address>", out)
    out = _IP.sub("<host>", out)
    out = _HOST.sub("<host>", out)
    out = _TOKEN.sub(_token, out)
    if len(out) > limit:
        out = out[: max(limit - 1, 0)] + "…"
    return out


def categorise(exc: BaseException) -> FailureCategory:
    """The :class:`FailureCategory` of an exception a credit source raised; never raises.

    A ``category`` attribute (a :class:`FailureCategory` or its value, see
    :class:`CreditSourceError`) wins; then :class:`TimeoutError` is ``timeout``,
    :class:`ConnectionRefusedError` ``refused``, any other :class:`OSError` (connection
    errors included) ``unreachable``, a reply that cannot be decoded (JSON, UTF-8)
    ``malformed-reply``, and anything else ``internal``.

    >>> categorise(TimeoutError("read timed out"))
    <FailureCategory.TIMEOUT: 'timeout'>
    >>> categorise(ConnectionResetError())
    <FailureCategory.UNREACHABLE: 'unreachable'>
    """
    try:
        declared = getattr(exc, "category", None)
        if isinstance(declared, FailureCategory):
            return declared
        if isinstance(declared, str) and declared in _CATEGORY_VALUES:
            return FailureCategory(declared)
        if isinstance(exc, TimeoutError):
            return FailureCategory.TIMEOUT
        if isinstance(exc, ConnectionRefusedError):
            return FailureCategory.REFUSED
        if isinstance(exc, OSError):
            return FailureCategory.UNREACHABLE
        if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
            return FailureCategory.MALFORMED_REPLY
    except Exception:  # an exception that cannot even be examined
        return FailureCategory.INTERNAL
    return FailureCategory.INTERNAL


_CATEGORY_VALUES = frozenset(category.value for category in FailureCategory)


def failure_detail(exc: BaseException, limit: int = DETAIL_LIMIT) -> str:
    """A short sanitised description of an exception: ``"TimeoutError: read timed out"``.

    Never raises, also for an exception whose ``str()`` raises; never empty. The text
    goes through :func:`sanitise_detail`, so no URL, query string, header or token of
    the exception's message survives.
    """
    try:
        kind = sanitise_detail(type(exc).__name__, limit) or "Exception"
    except Exception:
        kind = "Exception"
    try:
        detail = exc.detail if isinstance(exc, CreditSourceError) else str(exc)
        text = sanitise_detail(f"{kind}: {detail}" if detail else kind, limit)
    except Exception:  # str() itself failed
        text = sanitise_detail(f"{kind} (its message could not be read)", limit)
    return text or kind


# Spellings of old failure reasons (before categories were stored), most specific first.
_INFERRED = (
    (re.compile(r"(?i)^malformed reply"), FailureCategory.MALFORMED_REPLY),
    (re.compile(r"ConnectionRefusedError"), FailureCategory.REFUSED),
    (re.compile(r"(?i)timeout|timed out|超时"), FailureCategory.TIMEOUT),
    (re.compile(r"\bHTTP (?:401|403)\b"), FailureCategory.UNAUTHORISED),
    (re.compile(r"\bHTTP [45]\d\d\b"), FailureCategory.UPSTREAM_ERROR),
    (
        re.compile(r"^(?:Connection\w*Error|OSError|BrokenPipeError|gaierror)\b"),
        FailureCategory.UNREACHABLE,
    ),
)


def _inferred_category(reason: str) -> FailureCategory:
    """The category of a failure stored without one, read from its reason text."""
    for pattern, category in _INFERRED:
        if pattern.search(reason):
            return category
    return FailureCategory.INTERNAL


@attrs.frozen
class _FailureSchema:
    subject: str
    source: str
    attempted_at: dt.datetime
    reason: str
    category: FailureCategory | None = None


def _failure_problems(f: _FailureSchema | CreditLookupFailure) -> list[Problem]:
    problems = _non_empty("subject", f.subject, "subject")
    problems += _non_empty("source", f.source, "source name")
    problems += _aware("attempted_at", f.attempted_at)
    problems += _non_empty("reason", f.reason, "reason")
    return problems


def _sanitised(reason: str) -> str:
    return sanitise_detail(reason) if isinstance(reason, str) else reason


@attrs.frozen(kw_only=True)
class CreditLookupFailure:
    """A credit source could not answer (timeout, malformed reply, ...): the evidence's absence.

    A decision that gets this instead of :class:`CreditEvidence` fails closed. ``category``
    says what kind of failure it was; ``reason`` is a short detail, passed through
    :func:`sanitise_detail` when the failure is built, so no URL, query string or token is
    ever stored or shown. Without a ``category`` (failures stored by earlier versions) it is
    read from the reason: ``"malformed reply: ..."`` is ``malformed-reply``, a timeout
    ``timeout``, and so on, else ``internal``.
    """

    subject: str
    source: str
    attempted_at: dt.datetime
    reason: str = attrs.field(converter=_sanitised)
    """What went wrong, e.g. ``"TimeoutError: no answer within 3.0 s"``."""
    category: FailureCategory = attrs.field()

    @category.default
    def _category_from_reason(self) -> FailureCategory:
        return _inferred_category(self.reason)

    def __attrs_post_init__(self) -> None:
        _raise_if("CreditLookupFailure", _failure_problems(self))

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, subject: str, source: str, attempted_at: dt.datetime
    ) -> Self:
        """The failure an exception raised by a credit source stands for.

        The category comes from :func:`categorise`, the reason from :func:`failure_detail`.
        """
        return cls(
            subject=subject,
            source=source,
            attempted_at=attempted_at,
            reason=failure_detail(exc),
            category=categorise(exc),
        )

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """Read a failure written by :meth:`to_dict`; raises :class:`DataFileError`.

        ``category`` may be missing (failures stored before it existed).
        """
        schema = structure(data, _FailureSchema, source=source)
        problems = _failure_problems(schema)
        if problems:
            raise DataFileError(source, problems)
        fields = attrs.asdict(schema, recurse=False)
        if fields["category"] is None:
            del fields["category"]
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (``attempted_at`` in UTC) that :meth:`from_dict` reads back."""
        return {
            "subject": self.subject,
            "source": self.source,
            "attempted_at": _instant(self.attempted_at),
            "reason": self.reason,
            "category": self.category.value,
        }
