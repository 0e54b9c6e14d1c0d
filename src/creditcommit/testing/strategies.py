"""Hypothesis strategies (测试数据生成策略) for property-testing policies, decisions and plans.

A city property-tests its own policy file with them::

    from creditcommit.testing import strategies as ccst

    @given(on=ccst.days(), evidence=...)
    def test_my_rule(on, evidence): ...

**Every value drawn is valid**: building it never raises, it obeys the same rules as a
value loaded from a data file, and ``from_dict(to_dict())`` gives it back where the class
has those methods. Values that a decision must refuse — evidence about someone else,
altered after its digest was computed, on another scale, or with a grade the scale lacks —
are still valid values; only :func:`evidence_or_absence` (while ``faulty`` is true) and
:func:`applications` (unless its evidence is pinned) draw them.

Parameters: a parameter that is a field of the drawn value takes a value (pinned), a
strategy (drawn from it) or ``None`` (the default strategy its docstring describes). Where
"nothing" is itself a value (no grade, no evidence, not a major project), pin it with
``st.none()``. Plural parameters (``kinds``, ``severities``, ``item_codes``, ...) are the
choices to draw from. ``policy`` and the ``scale`` of :func:`grades` are context and take
a value only.

Days default to ``[FIRST_DAY, LAST_DAY]``: the national defaults and every overlay drawn by
:func:`policies` are in force on them, and the bundled working-day calendar covers a
deferral of :data:`MAX_STATUTORY_DAYS` working days after them. A city whose policy starts
later pins ``days(min_value=...)``.

Hypothesis is needed here (``pip install 'creditcommit[testing]'``); the core never
imports this module.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import attrs

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "creditcommit.testing.strategies needs Hypothesis: pip install 'creditcommit[testing]'"
    ) from exc

from creditcommit.catalog import (
    ApprovalItem,
    Catalog,
    CommitmentMode,
    Material,
    MaterialKind,
    Verification,
    VerificationMethod,
)
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    Grade,
    GradeScale,
    Severity,
    kind_code,
    record_kind,
)
from creditcommit.decision import Applicant, ApplicantKind, ProjectFacts, ProjectLevel
from creditcommit.effective import LegalReference
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import LicenceHolding
from creditcommit.policy import (
    GRADE_SCALE_PRESETS,
    Application,
    BlockingRule,
    BlockLasts,
    MajorProjectCredit,
    Policy,
    PolicySnapshot,
)

__all__ = [
    "DOMAINS",
    "FIRST_DAY",
    "ITEM_CODES",
    "LAST_DAY",
    "LICENCE_TYPES",
    "MAX_STATUTORY_DAYS",
    "applicants",
    "applications",
    "approval_items",
    "catalogs",
    "credit_evidence",
    "credit_records",
    "days",
    "evidence_or_absence",
    "grade_scales",
    "grades",
    "licence_holdings",
    "lookup_failures",
    "materials",
    "policies",
    "projects",
    "resident_ids",
    "retrieval_times",
    "uscc_codes",
]

T = TypeVar("T")

FIRST_DAY = dt.date(2021, 1, 1)
"""First default day: the national defaults start on it, and drawn overlays and items too."""

MAX_STATUTORY_DAYS = 20
"""Statutory time limits drawn are at most this many working days."""

LAST_DAY = dt.date(2026, 11, 30)
"""Last default day: leaves room for a deferral of :data:`MAX_STATUTORY_DAYS` working days
inside the years the bundled calendar covers (to 2026)."""

ITEM_CODES = ("TEST-1", "TEST-2", "TEST-3")
"""Item codes drawn by default; few, so that drawn commitment lists often name the item."""

DOMAINS = (
    "public-safety",
    "personal-health-life-property",
    "investment-projects",
    "public-places-hygiene",
    "transport",
)
"""Domain tags drawn by default: two of the 42号 exclusions, the sample catalogue's, one more."""

LICENCE_TYPES = ("business-licence", "uscc-certificate", "resident-identity-card", "food-permit")
"""E-licence types drawn by default; few, so that holdings often match the materials."""

_CST = dt.timezone(dt.timedelta(hours=8), "CST")
_SOURCES = ("信用扬州", "信用中国", "国家企业信用信息公示系统")
_SOURCE_CHOICES = st.sampled_from(_SOURCES)
_FAILURES = ("timeout after 3.0 s", "HTTP 503 Service Unavailable", "malformed reply: not JSON")


def _pin(
    value: T | st.SearchStrategy[T] | None, default: st.SearchStrategy[T]
) -> st.SearchStrategy[T]:
    """The strategy for a parameter: the default for None, a strategy as is, else the value."""
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(value)


def _pin_or_none(value: T | st.SearchStrategy[T] | None) -> st.SearchStrategy[T] | None:
    """Like :func:`_pin` for a parameter whose absence means "not known" rather than "drawn"."""
    return None if value is None else _pin(value, st.nothing())


def _choices(name: str, values: Iterable[T]) -> st.SearchStrategy[T]:
    found = tuple(values)
    if not found:
        raise InvalidArgument(f"{name} must offer at least one choice")
    return _sampled(found)


@functools.cache
def _sampled(values: tuple[T, ...]) -> st.SearchStrategy[T]:
    # Strategies are built once: building one on every draw costs more than the draw.
    return st.sampled_from(values)


# --------------------------------------------------------------------------- identifiers

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_CHAR = st.sampled_from(_USCC_CHARS)
_DIVISIONS = st.text("0123456789", min_size=6, max_size=6)
_USCC_ORG = st.text(_USCC_CHARS, min_size=9, max_size=9)


def _check_part(name: str, value: str, size: int, alphabet: str) -> str:
    if len(value) != size or any(c not in alphabet for c in value):
        raise InvalidArgument(f"{name} must be {size} character(s) of {alphabet!r}, got {value!r}")
    return value


def uscc_codes(
    *,
    authority: str | st.SearchStrategy[str] | None = None,
    category: str | st.SearchStrategy[str] | None = None,
    division: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[str]:
    """Unified social credit codes (统一社会信用代码) with a correct check character.

    ``USCC.parse(code)`` accepts every code drawn, as a non-legacy code.

    :param authority: position 1, the registration-authority code (e.g. ``"9"``, 工商).
    :param category: position 2, the organisation category (e.g. ``"1"`` 企业, ``"2"`` 个体工商户).
    :param division: positions 3-8, the administrative division (e.g. ``"321012"``, 江都区).
    """
    return _uscc(
        _pin(authority, _USCC_CHAR), _pin(category, _USCC_CHAR), _pin(division, _DIVISIONS)
    )


@st.composite
def _uscc(
    draw: st.DrawFn,
    authority: st.SearchStrategy[str],
    category: st.SearchStrategy[str],
    division: st.SearchStrategy[str],
) -> str:
    first17 = (
        _check_part("authority", draw(authority), 1, _USCC_CHARS)
        + _check_part("category", draw(category), 1, _USCC_CHARS)
        + _check_part("division", draw(division), 6, "0123456789")
        + draw(_USCC_ORG)
    )
    return first17 + uscc_check_char(first17)


_USCC = uscc_codes()

# ISO 7064 MOD 11-2, as GB 11643-1999 specifies the check digit.
_RID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RID_CHECK = "10X98765432"
_BIRTH_DATES = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2008, 12, 31))
_SEQUENCES = st.text("0123456789", min_size=3, max_size=3)


def resident_ids(
    *,
    division: str | st.SearchStrategy[str] | None = None,
    birth_date: dt.date | st.SearchStrategy[dt.date] | None = None,
) -> st.SearchStrategy[str]:
    """Resident identity numbers (居民身份证号码) with a correct check digit.

    ``ResidentId.parse(number)`` accepts every number drawn. Remember they are personal data
    in form: do not print drawn numbers into published logs unmasked.

    :param division: positions 1-6, the division of the registered residence.
    :param birth_date: positions 7-14; drawn from 1930 to 2008 by default.
    """
    return _resident_id(_pin(division, _DIVISIONS), _pin(birth_date, _BIRTH_DATES))


@st.composite
def _resident_id(
    draw: st.DrawFn, division: st.SearchStrategy[str], birth_date: st.SearchStrategy[dt.date]
) -> str:
    born = draw(birth_date)
    if not 1000 <= born.year <= 9999:
        raise InvalidArgument(f"birth_date must have a four-digit year, got {born!r}")
    first17 = (
        _check_part("division", draw(division), 6, "0123456789")
        + born.strftime("%Y%m%d")
        + draw(_SEQUENCES)
    )
    total = sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS, strict=True))
    return first17 + _RID_CHECK[total % 11]


# --------------------------------------------------------------------------- days and times


def days(
    *, min_value: dt.date = FIRST_DAY, max_value: dt.date = LAST_DAY
) -> st.SearchStrategy[dt.date]:
    """Days from ``min_value`` to ``max_value`` (default :data:`FIRST_DAY` to :data:`LAST_DAY`)."""
    return st.dates(min_value=min_value, max_value=max_value)


_DEFAULT_DAYS = days()
_TIMES = st.times()


def retrieval_times(
    *, on: dt.date | st.SearchStrategy[dt.date] | None = None
) -> st.SearchStrategy[dt.datetime]:
    """Times a credit source answered, in China Standard Time (UTC+8), on the day ``on``.

    :param on: the day (default: drawn from :func:`days`).
    """
    return _retrieval_time(_pin(on, _DEFAULT_DAYS))


@st.composite
def _retrieval_time(draw: st.DrawFn, on: st.SearchStrategy[dt.date]) -> dt.datetime:
    return dt.datetime.combine(draw(on), draw(_TIMES), tzinfo=_CST)


# --------------------------------------------------------------------------- grades

_GRADE_CODES = st.text("ABCDEFabcdef+-", min_size=1, max_size=3)
_LABELS = ("信用好", "信用较好", "信用一般", "信用较差", "信用差")


@st.composite
def _custom_scale(draw: st.DrawFn) -> GradeScale:
    codes = draw(st.lists(_GRADE_CODES, min_size=1, max_size=8, unique_by=str.casefold))
    labels = draw(st.dictionaries(st.sampled_from(codes), st.sampled_from(_LABELS)))
    return GradeScale(draw(st.sampled_from(["city-scale", "district-scale"])), codes, labels)


_PRESETS = st.sampled_from(tuple(GRADE_SCALE_PRESETS.values()))
_ANY_SCALE = _PRESETS | _custom_scale()


def grade_scales(*, custom: bool = True) -> st.SearchStrategy[GradeScale]:
    """Grade scales (信用等级体系): the presets, and with ``custom`` scales made up here.

    A made-up scale is named ``"city-scale"`` or ``"district-scale"`` and has one to eight
    grades such as ``"a+"`` or ``"B"``, some with labels.
    """
    return _ANY_SCALE if custom else _PRESETS


def grades(
    scale: GradeScale | None = None,
    *,
    at_least: str | Grade | None = None,
    at_most: str | Grade | None = None,
    at_threshold_of: PolicySnapshot | None = None,
) -> st.SearchStrategy[Grade]:
    """Grades (信用等级) of ``scale``, shrinking towards the best one.

    :param at_least: only grades as good as this one or better.
    :param at_most: only grades no better than this one.
    :param at_threshold_of: a policy snapshot (``policy.at(day)``): only its conditional
        threshold, the worst grade that still meets it — the edge where one grade less
        means the standard procedure. ``scale`` defaults to the snapshot's; the bounds
        cannot be combined with it.
    :raises UnknownGrade: a bound is not a grade of ``scale``.
    """
    if at_threshold_of is not None:
        threshold = at_threshold_of.conditional_threshold
        if at_least is not None or at_most is not None:
            raise InvalidArgument("at_threshold_of pins one grade: give no at_least or at_most")
        if scale is not None and scale.name != threshold.scale:
            raise InvalidArgument(
                f"the policy's threshold is on the {threshold.scale!r} scale, not {scale.name!r}"
            )
        return st.just(threshold)
    if scale is None:
        raise InvalidArgument("grades() needs a scale, or a policy snapshot as at_threshold_of")
    best = 0 if at_most is None else scale.rank(at_most)
    worst = len(scale) - 1 if at_least is None else scale.rank(at_least)
    if best > worst:
        raise InvalidArgument(
            f"no grade of {scale.name!r} is at least {at_least} and at most {at_most}"
        )
    return st.sampled_from([scale.grade(code) for code in scale.grades[best : worst + 1]])


# --------------------------------------------------------------------------- credit

_RECORD_IDS = st.integers(1, 99_999).map(lambda n: f"R-{n}")
_OFFSETS = st.integers(-5 * 366, 30)
_REPAIR_AFTER = st.integers(0, 3 * 366)


def credit_records(
    *,
    subject: str | st.SearchStrategy[str] | None = None,
    around: dt.date | st.SearchStrategy[dt.date] | None = None,
    kinds: Iterable[CreditRecordKind | str] = tuple(CreditRecordKind),
    severities: Iterable[Severity] = tuple(Severity),
    repaired: bool | None = None,
) -> st.SearchStrategy[CreditRecord]:
    """Credit records (信用记录) decided within five years before ``around`` (or a month after).

    Publicity periods come from the severity (:meth:`CreditRecord.with_default_periods`).

    :param subject: whose record (default: drawn from :func:`uscc_codes`).
    :param around: the day the records are drawn around (default: drawn from :func:`days`).
    :param kinds: the kinds to draw from: national kinds and the codes of city kinds
        (``kinds=[*CreditRecordKind, *policy.record_kinds]`` for every kind a policy knows).
    :param severities: the severities to draw from.
    :param repaired: True for records with a repair date (on or after the decision, maybe
        after ``around``), False for records without one; None for either.
    """
    repairs: st.SearchStrategy[int | None] = st.none() | _REPAIR_AFTER
    if repaired is not None:
        repairs = _REPAIR_AFTER if repaired else st.none()
    return _credit_record(
        subject=_pin(subject, _USCC),
        around=_pin(around, _DEFAULT_DAYS),
        kinds=_choices("kinds", (record_kind(kind) for kind in kinds)),
        severities=_choices("severities", severities),
        repairs=repairs,
    )


@st.composite
def _credit_record(
    draw: st.DrawFn,
    *,
    subject: st.SearchStrategy[str],
    around: st.SearchStrategy[dt.date],
    kinds: st.SearchStrategy[CreditRecordKind | str],
    severities: st.SearchStrategy[Severity],
    repairs: st.SearchStrategy[int | None],
) -> CreditRecord:
    decided = draw(around) + dt.timedelta(days=draw(_OFFSETS))
    repair = draw(repairs)
    return CreditRecord.with_default_periods(
        record_id=draw(_RECORD_IDS),
        subject=draw(subject),
        kind=draw(kinds),
        severity=draw(severities),
        decided_on=decided,
        repaired_on=None if repair is None else decided + dt.timedelta(days=repair),
    )


# The floor every policy keeps (policy._FLOOR): a record one of these rules blocks is
# blocked under any valid policy.
_FLOOR_RULES = (
    BlockingRule(CreditRecordKind.SERIOUS_DISHONESTY_LIST, Severity.MINOR),
    BlockingRule(CreditRecordKind.FALSE_COMMITMENT, Severity.MINOR, BlockLasts.UNTIL_REPAIRED),
)


def _snapshot(policy: Policy | PolicySnapshot, on: dt.date) -> PolicySnapshot:
    if isinstance(policy, Policy):
        return policy.at(on)
    if not policy.covers(on):
        raise InvalidArgument(f"the policy snapshot is not in force on {on.isoformat()}")
    return policy


def _blocking_rules(
    policy: Policy | PolicySnapshot | None, on: dt.date
) -> tuple[tuple[BlockingRule, ...], Callable[[CreditRecord], bool]]:
    """Rules to draw a blocking record from, and a test for records that may block on ``on``.

    Without a policy a record "may block" if some policy could count it: it was decided by
    ``on`` and not repaired by then.
    """
    if policy is None:
        return _FLOOR_RULES, lambda r: r.decided_on <= on and not r.is_repaired(on)
    snap = _snapshot(policy, on)
    return snap.blocking_records, lambda r: bool(snap.blocking_rules(r, on))


_SEVERITY_ORDER = tuple(Severity)  # minor, general, serious
_RECENT = st.integers(0, 30)


def _grade_code(grade: str | Grade | None) -> str | None:
    return grade.code if isinstance(grade, Grade) else grade


def credit_evidence(
    *,
    subject: str | st.SearchStrategy[str] | None = None,
    scale: GradeScale | st.SearchStrategy[GradeScale] | None = None,
    on: dt.date | st.SearchStrategy[dt.date] | None = None,
    grade: str | Grade | st.SearchStrategy[str | Grade | None] | None = None,
    with_blocking_record: bool | None = None,
    policy: Policy | PolicySnapshot | None = None,
    source: str | st.SearchStrategy[str] | None = None,
    records: Sequence[CreditRecord] | st.SearchStrategy[Sequence[CreditRecord]] | None = None,
) -> st.SearchStrategy[CreditEvidence]:
    """Sound credit evidence (信用核查结果): what a credit source said about ``subject`` on ``on``.

    It verifies (its digest is right), every record is about ``subject``, it was retrieved on
    ``on``, and its grade (if any) is on ``scale``. Up to three records.

    :param subject: whose credit (default: drawn from :func:`uscc_codes`).
    :param scale: the grade scale (default: the policy's on ``on`` if ``policy`` is given,
        else drawn from :func:`grade_scales`).
    :param on: the decision day (default: drawn from :func:`days`).
    :param grade: the grade; default one of the scale's grades or, now and then, no grade.
        Pin "no grade" with ``st.none()``.
    :param with_blocking_record: True for evidence with a record that bars the commitment
        route on ``on`` (decision rule 4) — under ``policy``'s blocking rules, or without a
        policy under the national floor every policy keeps; False for evidence without one
        (without a policy: every record decided after ``on`` or repaired by then); None for
        either. Re-application bans (rule 5) are not considered.
    :param policy: the policy whose scale and blocking rules apply (a value, not a strategy).
    :param source: the credit source's name (default: one of a few real names).
    :param records: the records (a sequence, or a strategy of sequences; pin "no records"
        with ``()``); default up to three drawn from :func:`credit_records` around ``on``.
        Records about another subject are moved to ``subject``. ``with_blocking_record``
        still applies: True inserts a blocker, False repairs every record that would bar.
    """
    return _credit_evidence(
        subject=_pin(subject, _USCC),
        scale=scale,
        on=_pin(on, _DEFAULT_DAYS),
        grade=grade,
        blocking=with_blocking_record,
        policy=policy,
        source=_pin(source, _SOURCE_CHOICES),
        pinned=None if records is None else _pin(records, st.nothing()),
    )


@st.composite
def _credit_evidence(
    draw: st.DrawFn,
    *,
    subject: st.SearchStrategy[str],
    scale: GradeScale | st.SearchStrategy[GradeScale] | None,
    on: st.SearchStrategy[dt.date],
    grade: str | Grade | st.SearchStrategy[str | Grade | None] | None,
    blocking: bool | None,
    policy: Policy | PolicySnapshot | None,
    source: st.SearchStrategy[str],
    pinned: st.SearchStrategy[Sequence[CreditRecord]] | None = None,
) -> CreditEvidence:
    whose = draw(subject)
    day = draw(on)
    if scale is None and policy is not None:
        on_scale = _snapshot(policy, day).grade_scale
    else:
        on_scale = draw(_pin(scale, _ANY_SCALE))
    if grade is None:
        code = draw(st.sampled_from((*on_scale.grades, None)))
    elif isinstance(grade, st.SearchStrategy):
        code = _grade_code(draw(grade))
    else:
        code = _grade_code(grade)
    records: list[CreditRecord]
    if pinned is None:
        records = draw(
            st.lists(
                credit_records(subject=whose, around=day),
                max_size=3,
                unique_by=lambda r: r.record_id,
            )
        )
    else:
        records = [
            r if r.subject == whose else attrs.evolve(r, subject=whose) for r in draw(pinned)
        ]
    if blocking is not None:
        rules, may_block = _blocking_rules(policy, day)
        if blocking:
            rule = draw(st.sampled_from(rules))
            severities = _SEVERITY_ORDER[_SEVERITY_ORDER.index(rule.min_severity) :]
            # Decided within the last month and not repaired: active even for a minor
            # record (3 months), and blocked until repair under an until-repaired rule.
            blocker = CreditRecord.with_default_periods(
                record_id=f"B-{len(records) + 1}",
                subject=whose,
                kind=rule.kind,
                severity=draw(st.sampled_from(severities)),
                decided_on=day - dt.timedelta(days=draw(_RECENT)),
            )
            records.insert(draw(st.integers(0, len(records))), blocker)
        else:
            # Repaired by the decision day, such a record bars nothing under any rule.
            records = [
                attrs.evolve(r, repaired_on=draw(st.dates(r.decided_on, day)))
                if may_block(r)
                else r
                for r in records
            ]
    return CreditEvidence.create(
        subject=whose,
        source=draw(source),
        retrieved_at=draw(_retrieval_time(st.just(day))),
        scale=on_scale.name,
        grade=code,
        records=records,
    )


def lookup_failures(
    *,
    subject: str | st.SearchStrategy[str] | None = None,
    on: dt.date | st.SearchStrategy[dt.date] | None = None,
    source: str | st.SearchStrategy[str] | None = None,
    reason: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[CreditLookupFailure]:
    """Failed credit look-ups (信用查询失败): the source did not answer on ``on``.

    :param subject: whose credit was asked for (default: drawn from :func:`uscc_codes`).
    :param on: the day of the attempt (default: drawn from :func:`days`).
    :param source: the credit source's name.
    :param reason: what went wrong (default: a timeout, an HTTP error or a malformed reply).
    """
    return st.builds(
        CreditLookupFailure,
        subject=_pin(subject, _USCC),
        source=_pin(source, _SOURCE_CHOICES),
        attempted_at=_retrieval_time(_pin(on, _DEFAULT_DAYS)),
        reason=_pin(reason, st.sampled_from(_FAILURES)),
    )


# Mostly sound evidence; then nothing, a failure, and the six faults a decision refuses.
_SHAPES = st.sampled_from(["evidence"] * 6 + ["none", "failure"])
_FAULTY_SHAPES = st.sampled_from(
    ["evidence"] * 6
    + ["none", "failure", "other", "altered", "scale", "unknown", "stale", "future"]
)
# How far outside the freshness window stale or future-dated evidence lies, in days.
_OUTSIDE = st.integers(1, 3 * 366)
# The freshness window assumed without a policy: wider than any window policies() draws.
_NO_POLICY_MAX_AGE = 30
_OTHER_SCALES = ("yangzhou-a-e", "samr-a-d", "other-scale")


def evidence_or_absence(
    *,
    subject: str | st.SearchStrategy[str] | None = None,
    scale: GradeScale | st.SearchStrategy[GradeScale] | None = None,
    on: dt.date | st.SearchStrategy[dt.date] | None = None,
    policy: Policy | PolicySnapshot | None = None,
    faulty: bool = True,
) -> st.SearchStrategy[CreditEvidence | CreditLookupFailure | None]:
    """What a decision gets about ``subject`` on ``on``: evidence, a failure, or nothing.

    Mostly sound evidence from :func:`credit_evidence`; sometimes ``None`` (nobody asked)
    or a :func:`lookup_failures` value. With ``faulty`` also evidence a decision must refuse:
    about another subject, altered after its digest was computed, on another scale, with
    a grade the scale lacks, retrieved before the freshness window (``stale``: before the
    ``policy``'s ``credit_evidence_max_age_days``, or 30 days without a policy) or after
    the decision day (``future``).

    :param subject: whose credit (default: drawn from :func:`uscc_codes`).
    :param scale: the scale sound evidence is on (default: the policy's, or drawn).
    :param on: the decision day (default: drawn from :func:`days`).
    :param policy: the policy whose scale applies (a value, not a strategy).
    :param faulty: also draw the six kinds of evidence a decision refuses.
    """
    return _evidence_or_absence(
        subject=_pin(subject, _USCC),
        scale=scale,
        on=_pin(on, _DEFAULT_DAYS),
        policy=policy,
        shapes=_FAULTY_SHAPES if faulty else _SHAPES,
    )


@st.composite
def _evidence_or_absence(
    draw: st.DrawFn,
    *,
    subject: st.SearchStrategy[str],
    scale: GradeScale | st.SearchStrategy[GradeScale] | None,
    on: st.SearchStrategy[dt.date],
    policy: Policy | PolicySnapshot | None,
    shapes: st.SearchStrategy[str],
) -> CreditEvidence | CreditLookupFailure | None:
    shape = draw(shapes)
    whose = draw(subject)
    day = draw(on)
    if shape == "none":
        return None
    if shape == "failure":
        return draw(lookup_failures(subject=whose, on=day))
    if scale is None and policy is not None:
        on_scale = _snapshot(policy, day).grade_scale
    else:
        on_scale = draw(_pin(scale, _ANY_SCALE))
    if shape == "other":
        other = draw(_USCC.filter(lambda code: code != whose))
        return draw(credit_evidence(subject=other, scale=on_scale, on=day))
    evidence = draw(credit_evidence(subject=whose, scale=on_scale, on=day))
    if shape == "altered":
        return attrs.evolve(evidence, grade=None if evidence.grade else on_scale.grades[0])
    if shape == "scale":
        name = next(n for n in _OTHER_SCALES if n != on_scale.name)
        return _recreate(evidence, scale=name)
    if shape == "unknown":
        code = next(c for c in ("Z", "ZZ", "ZZZ", "Z?") if c not in on_scale)
        return _recreate(evidence, grade=code)
    if shape == "stale":
        max_age = _NO_POLICY_MAX_AGE
        if policy is not None:
            max_age = _snapshot(policy, day).credit_evidence_max_age_days
        back = dt.timedelta(days=max_age + draw(_OUTSIDE))
        return _recreate(evidence, retrieved_at=evidence.retrieved_at - back)
    if shape == "future":
        ahead = dt.timedelta(days=draw(_OUTSIDE))
        return _recreate(evidence, retrieved_at=evidence.retrieved_at + ahead)
    return evidence


def _recreate(evidence: CreditEvidence, **changes: Any) -> CreditEvidence:
    """The evidence with fields changed and the digest computed again (it still verifies)."""
    fields = {
        "subject": evidence.subject,
        "source": evidence.source,
        "retrieved_at": evidence.retrieved_at,
        "scale": evidence.scale,
        "grade": evidence.grade,
        "records": evidence.records,
    }
    return CreditEvidence.create(**{**fields, **changes})


# --------------------------------------------------------------------------- catalogue

_MATERIAL_NAMES = (
    "申请书",
    "营业执照",
    "法定代表人身份证明",
    "场所平面图",
    "卫生管理制度",
    "检测报告",
)
_DEPARTMENTS = ("扬州市江都区行政审批局", "高邮市行政审批局", "某市卫生健康委员会")
_BASES = (
    (LegalReference("中华人民共和国行政许可法", "第四十二条"),),
    (LegalReference("公共场所卫生管理条例", "第八条"),),
    (
        LegalReference("企业投资项目核准和备案管理条例", "第十三条"),
        LegalReference("企业投资项目核准和备案管理办法"),
    ),
)
_VERIFICATIONS = st.sampled_from(
    [Verification(VerificationMethod.EXEMPT)]
    + [
        Verification(m, d)
        for m in VerificationMethod
        if m is not VerificationMethod.EXEMPT
        for d in (5, 20)
    ]
)
_MODES = st.sampled_from(CommitmentMode)
_MATERIAL_CODES = st.integers(0, 99).map(lambda n: f"M-{n:02d}")


@functools.cache
def _kind_choices(
    mode: CommitmentMode | None, promised: int | None, kinds: frozenset[MaterialKind]
) -> st.SearchStrategy[MaterialKind]:
    """The kinds of ``kinds`` that an item with this mode and promised limit may list."""
    allowed = [MaterialKind.REQUIRED, MaterialKind.LICENCE]
    # A deferrable material is due within the promised limit, so it needs at least one day.
    if mode is not CommitmentMode.NONE and (promised is None or promised >= 1):
        allowed.append(MaterialKind.DEFERRABLE)
    if mode in (None, CommitmentMode.NOTIFY_AND_COMMIT):
        allowed.append(MaterialKind.WAIVABLE)
    found = [k for k in allowed if k in kinds]
    if not found:
        names = sorted(k.value for k in kinds)
        raise InvalidArgument(
            f"no kind of {names} is allowed for mode {mode} with promised_days {promised}"
        )
    return st.sampled_from(found)


_ALL_KINDS = frozenset(MaterialKind)
_MATERIAL_NAME_CHOICES = st.sampled_from(_MATERIAL_NAMES)


def _draw_material(
    draw: st.DrawFn,
    code: str,
    *,
    kinds: frozenset[MaterialKind],
    mode: CommitmentMode | None,
    promised: int | None,
    licence_types: st.SearchStrategy[str],
) -> Material:
    kind = draw(_kind_choices(mode, promised, kinds))
    defer = None
    if kind is MaterialKind.DEFERRABLE:
        defer = draw(st.integers(1, MAX_STATUTORY_DAYS if promised is None else promised))
    return Material(
        code,
        f"{draw(_MATERIAL_NAME_CHOICES)}（{code}）",
        kind,
        defer_days=defer,
        licence_type=draw(licence_types) if kind is MaterialKind.LICENCE else None,
    )


def materials(
    *,
    code: str | st.SearchStrategy[str] | None = None,
    kinds: Iterable[MaterialKind] = _ALL_KINDS,
    mode: CommitmentMode | st.SearchStrategy[CommitmentMode] | None = None,
    promised_days: int | st.SearchStrategy[int] | None = None,
    licence_types: Sequence[str] = LICENCE_TYPES,
) -> st.SearchStrategy[Material]:
    """Application materials (申报材料) that an item with ``mode`` and ``promised_days`` may list.

    A waivable material only under notify-and-commit, a deferrable one only under a
    commitment mode and with ``defer_days`` within ``promised_days``.

    :param code: the material code (default ``"M-00"`` to ``"M-99"``).
    :param kinds: the kinds to draw from, narrowed to those ``mode`` allows.
    :param mode: the item's commitment mode (default: any material of any mode).
    :param promised_days: the item's promised limit (default: up to
        :data:`MAX_STATUTORY_DAYS`).
    :param licence_types: the e-licence types licence materials name.
    """
    return _material(
        code=_pin(code, _MATERIAL_CODES),
        kinds=frozenset(kinds),
        mode=_pin_or_none(mode),
        promised_days=_pin_or_none(promised_days),
        licence_types=_choices("licence_types", licence_types),
    )


@st.composite
def _material(
    draw: st.DrawFn,
    *,
    code: st.SearchStrategy[str],
    kinds: frozenset[MaterialKind],
    mode: st.SearchStrategy[CommitmentMode] | None,
    promised_days: st.SearchStrategy[int] | None,
    licence_types: st.SearchStrategy[str],
) -> Material:
    item_mode = None if mode is None else draw(mode)
    promised = None if promised_days is None else draw(promised_days)
    return _draw_material(
        draw,
        draw(code),
        kinds=kinds,
        mode=item_mode,
        promised=promised,
        licence_types=licence_types,
    )


_ITEM_DOMAINS = st.frozensets(st.sampled_from(DOMAINS), max_size=2)


def approval_items(
    *,
    code: str | st.SearchStrategy[str] | None = None,
    mode: CommitmentMode | st.SearchStrategy[CommitmentMode] | None = None,
    domains: Iterable[str] | st.SearchStrategy[frozenset[str]] | None = None,
    valid_from: dt.date = FIRST_DAY,
    max_materials: int = 8,
    licence_types: Sequence[str] = LICENCE_TYPES,
) -> st.SearchStrategy[ApprovalItem]:
    """Valid approval items (审批事项) in force from ``valid_from`` with no end.

    Statutory limit 1 to :data:`MAX_STATUTORY_DAYS` working days, a promised limit within
    it, any verification, and 1 to ``max_materials`` materials of the kinds the mode allows
    (see :func:`materials`), coded ``M-00``, ``M-01``, ...

    :param code: the item code (default: one of :data:`ITEM_CODES`).
    :param mode: the commitment mode (default: any).
    :param domains: the item's domain tags, exactly (default: up to two of :data:`DOMAINS`).
    :param valid_from: the first day the item is in force.
    :param max_materials: at most this many materials (at least 1).
    :param licence_types: the e-licence types licence materials name.
    """
    if max_materials < 1:
        raise InvalidArgument(f"max_materials must be at least 1, got {max_materials}")
    if isinstance(domains, str):
        raise InvalidArgument(f"domains must be a collection of tags, not the string {domains!r}")
    if domains is not None and not isinstance(domains, st.SearchStrategy):
        domains = frozenset(domains)
    return _approval_item(
        code=_pin(code, st.sampled_from(ITEM_CODES)),
        mode=_pin(mode, _MODES),
        domains=_pin(domains, _ITEM_DOMAINS),
        valid_from=valid_from,
        max_materials=max_materials,
        licence_types=_choices("licence_types", licence_types),
    )


@st.composite
def _approval_item(
    draw: st.DrawFn,
    *,
    code: st.SearchStrategy[str],
    mode: st.SearchStrategy[CommitmentMode],
    domains: st.SearchStrategy[frozenset[str]],
    valid_from: dt.date,
    max_materials: int,
    licence_types: st.SearchStrategy[str],
) -> ApprovalItem:
    statutory = draw(st.integers(1, MAX_STATUTORY_DAYS))
    promised = draw(st.integers(0, statutory))
    item_mode = draw(mode)
    count = draw(st.integers(1, max_materials))
    return ApprovalItem(
        code=draw(code),
        name="测试事项",
        department=draw(st.sampled_from(_DEPARTMENTS)),
        legal_basis=draw(st.sampled_from(_BASES)),
        statutory_days=statutory,
        promised_days=promised,
        commitment_mode=item_mode,
        verification=draw(_VERIFICATIONS),
        materials=[
            _draw_material(
                draw,
                f"M-{i:02d}",
                kinds=_ALL_KINDS,
                mode=item_mode,
                promised=promised,
                licence_types=licence_types,
            )
            for i in range(count)
        ],
        valid_from=valid_from,
        on_the_spot=draw(st.booleans()),
        domains=draw(domains),
    )


def catalogs(
    *,
    item_codes: Sequence[str] = ITEM_CODES,
    valid_from: dt.date = FIRST_DAY,
    max_versions: int = 3,
) -> st.SearchStrategy[Catalog]:
    """Valid catalogues (审批事项清单): some of ``item_codes``, each with non-overlapping versions.

    Every code's first version starts on ``valid_from``; later versions start within about
    two years after it. A version may end before the next one starts, leaving a gap in
    which the item is not in force.

    :param item_codes: the codes to draw from (at least one is used).
    :param valid_from: the day every code's first version starts.
    :param max_versions: at most this many versions per code (at least 1).
    """
    if max_versions < 1:
        raise InvalidArgument(f"max_versions must be at least 1, got {max_versions}")
    codes = tuple(item_codes)
    if not codes:
        raise InvalidArgument("item_codes must offer at least one code")
    return _catalog(codes, valid_from, max_versions)


@st.composite
def _catalog(
    draw: st.DrawFn, codes: tuple[str, ...], valid_from: dt.date, max_versions: int
) -> Catalog:
    items = []
    for code in draw(st.lists(st.sampled_from(codes), min_size=1, unique=True)):
        later = draw(st.sets(st.integers(1, 700), max_size=max_versions - 1))
        starts = [0, *sorted(later)]
        for k, start in enumerate(starts):
            item = draw(approval_items(code=code, valid_from=valid_from + dt.timedelta(start)))
            following = starts[k + 1] if k + 1 < len(starts) else start + 800
            if draw(st.booleans()):
                end = valid_from + dt.timedelta(draw(st.integers(start + 1, following)))
                item = attrs.evolve(item, valid_until=end)
            items.append(item)
    return Catalog("生成的清单", "1", items)


# --------------------------------------------------------------------------- parties

_NAMES = {
    ApplicantKind.LEGAL_PERSON: ("扬州甲科技有限公司", "高邮乙建设有限公司", "江都丙食品有限公司"),
    ApplicantKind.INDIVIDUAL_BUSINESS: ("江都区某某小吃店", "高邮市某某理发店"),
    ApplicantKind.NATURAL_PERSON: ("张三", "李四", "王五"),
}
_IDENTIFIERS = {
    ApplicantKind.LEGAL_PERSON: _USCC,
    ApplicantKind.INDIVIDUAL_BUSINESS: uscc_codes(authority="9", category="2"),
    ApplicantKind.NATURAL_PERSON: resident_ids(),
}


def applicants(
    *,
    kind: ApplicantKind | st.SearchStrategy[ApplicantKind] | None = None,
    identifier: str | st.SearchStrategy[str] | None = None,
    name: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Applicant]:
    """Applicants (申请人) with a valid identifier for their kind.

    A legal person has a USCC, an individual business a USCC starting ``92``, a natural
    person a resident identity number.

    :param kind: the kind of applicant (default: any).
    :param identifier: the identifier (default: drawn for the kind).
    :param name: the name (default: a made-up name for the kind).
    """
    return _applicant(_pin(kind, st.sampled_from(ApplicantKind)), identifier, name)


@st.composite
def _applicant(
    draw: st.DrawFn,
    kind_s: st.SearchStrategy[ApplicantKind],
    identifier: str | st.SearchStrategy[str] | None,
    name: str | st.SearchStrategy[str] | None,
) -> Applicant:
    kind = draw(kind_s)
    return Applicant(
        draw(_pin(identifier, _IDENTIFIERS[kind])),
        draw(_pin(name, st.sampled_from(_NAMES[kind]))),
        kind,
    )


_LEVELS = st.none() | st.sampled_from(ProjectLevel)


def projects(
    *, major_level: ProjectLevel | st.SearchStrategy[ProjectLevel | None] | None = None
) -> st.SearchStrategy[ProjectFacts]:
    """Project facts: a major project (重大项目) at some level, or not a major project.

    :param major_level: the level (default: any level or none). Pin "not a major project"
        with ``st.none()``.
    """
    return st.builds(ProjectFacts, _pin(major_level, _LEVELS))


def licence_holdings(
    *, licence_types: Sequence[str] = LICENCE_TYPES, max_size: int = 6
) -> st.SearchStrategy[list[LicenceHolding]]:
    """What the e-licence store (电子证照库) holds for an applicant: up to ``max_size``
    licences of ``licence_types``, some expiring between :data:`FIRST_DAY` and
    :data:`LAST_DAY`, some never."""
    holding = st.builds(
        LicenceHolding,
        licence_type=_choices("licence_types", licence_types),
        reference=st.from_regex(r"[A-Z0-9]{4,8}", fullmatch=True),
        valid_until=st.none() | _DEFAULT_DAYS,
    )
    return st.lists(holding, max_size=max_size)


# --------------------------------------------------------------------------- policies

_RECORD_KIND_VALUES = st.sampled_from([k.value for k in CreditRecordKind])
_BLOCKING = st.lists(
    st.fixed_dictionaries(
        {
            "kind": _RECORD_KIND_VALUES,
            "min_severity": st.sampled_from([s.value for s in Severity]),
            "lasts": st.sampled_from([b.value for b in BlockLasts]),
        }
    ),
    max_size=3,
)
_FLOOR = [
    {"kind": kind_code(r.kind), "min_severity": r.min_severity.value, "lasts": r.lasts.value}
    for r in _FLOOR_RULES
]
_LEVEL_VALUES = st.lists(st.sampled_from([lv.value for lv in ProjectLevel]), unique=True)
_MAJOR_CREDIT_VALUES = st.sampled_from([mode.value for mode in MajorProjectCredit])
# Mostly the national default (the decision day only), sometimes up to a week.
_MAX_AGES = st.sampled_from([0, 0, 0, 1, 7])


def _scale_value(scale: GradeScale) -> object:
    """A preset's name, or the table of a scale of one's own."""
    if GRADE_SCALE_PRESETS.get(scale.name) == scale:
        return scale.name
    return {"name": scale.name, "grades": list(scale.grades), "labels": dict(scale.labels)}


def policies(
    *,
    valid_from: dt.date = FIRST_DAY,
    scale: GradeScale | st.SearchStrategy[GradeScale] | None = None,
    item_codes: Sequence[str] = ITEM_CODES,
    domain_tags: Sequence[str] = DOMAINS,
) -> st.SearchStrategy[Policy]:
    """Policies (审批分级政策): the national defaults with a drawn city overlay.

    The overlay is in force from ``valid_from`` with no end and sets the grade scale, the
    conditional threshold, the major-project levels and whether they are checked for credit
    (``major_project_credit``), the freshness window of credit evidence (mostly the decision
    day only, sometimes up to 7 days), the blocking records (always keeping
    the national floor), the re-application bans, the commitment list and sometimes the
    excluded domains; everything else comes from the national defaults.

    :param valid_from: the overlay's first day; no earlier than the national defaults.
    :param scale: the grade scale (default: drawn from :func:`grade_scales`).
    :param item_codes: the codes a commitment list is drawn from (or it is ``"all"``).
    :param domain_tags: the tags excluded domains and bans are drawn from.
    """
    national = Policy.national()
    if valid_from < national.changes()[0]:
        raise InvalidArgument(
            f"valid_from {valid_from.isoformat()} is before the national defaults "
            f"({national.changes()[0].isoformat()})"
        )
    listed: st.SearchStrategy[Any] = st.just("all")
    if item_codes:
        listed |= st.lists(st.sampled_from(tuple(item_codes)), unique=True)
    tags = st.sampled_from(tuple(domain_tags)) if domain_tags else st.nothing()
    return _policy(
        national=national,
        valid_from=valid_from,
        scale=_pin(scale, _ANY_SCALE),
        listed=listed,
        tags=tags,
    )


@st.composite
def _policy(
    draw: st.DrawFn,
    *,
    national: Policy,
    valid_from: dt.date,
    scale: st.SearchStrategy[GradeScale],
    listed: st.SearchStrategy[Any],
    tags: st.SearchStrategy[str],
) -> Policy:
    on_scale = draw(scale)

    def entry(value: object) -> dict[str, Any]:
        return {"from": valid_from, "value": value}

    bans = st.lists(
        st.fixed_dictionaries(
            {
                "kind": _RECORD_KIND_VALUES,
                "months": st.integers(1, 48),
                "domains": st.lists(tags, max_size=2, unique=True),
            }
        ),
        max_size=2,
    )
    data: dict[str, Any] = {
        "policy": {"name": "生成的城市政策", "version": "1"},
        "grade_scale": [entry(_scale_value(on_scale))],
        "conditional_threshold": [entry(draw(st.sampled_from(on_scale.grades)))],
        "major_project_levels": [entry(draw(_LEVEL_VALUES))],
        "major_project_credit": [entry(draw(_MAJOR_CREDIT_VALUES))],
        "credit_evidence_max_age_days": [entry(draw(_MAX_AGES))],
        "blocking_records": [entry(_FLOOR + draw(_BLOCKING))],
        "reapplication_ban_months": [entry(draw(bans))],
        "commitment_items": [entry(draw(listed))],
    }
    excluded = draw(st.none() | st.lists(tags, unique=True))
    if excluded is not None:
        data["excluded_domains"] = [entry(excluded)]
    return national.overlay(Policy.from_dict(data, source="<drawn>"))


# --------------------------------------------------------------------------- applications


def applications(
    *,
    policy: Policy | PolicySnapshot | None = None,
    on: dt.date | st.SearchStrategy[dt.date] | None = None,
    item: ApprovalItem | st.SearchStrategy[ApprovalItem] | None = None,
    applicant: Applicant | st.SearchStrategy[Applicant] | None = None,
    evidence: CreditEvidence
    | CreditLookupFailure
    | st.SearchStrategy[CreditEvidence | CreditLookupFailure | None]
    | None = None,
    project: ProjectFacts | st.SearchStrategy[ProjectFacts] | None = None,
    choose_standard: bool | st.SearchStrategy[bool] | None = None,
) -> st.SearchStrategy[Application]:
    """Applications as :func:`~creditcommit.decide_many` takes them, to decide on ``on``.

    :param policy: the policy they are decided under; its scale on ``on`` is the scale of
        the evidence drawn (a value; needs ``on``).
    :param on: the decision day the evidence is about (default: drawn from :func:`days`).
    :param item: the approval item (default: :func:`approval_items` in force on ``on``). Pin
        your catalogue's items with ``st.sampled_from(catalog.items(on))``.
    :param applicant: the applicant (default: drawn from :func:`applicants`).
    :param evidence: what the credit source returned (default: drawn from
        :func:`evidence_or_absence` about the applicant, faults included). Pin "nobody
        asked" with ``st.none()``.
    :param project: the project facts (default: drawn from :func:`projects`).
    :param choose_standard: whether the applicant chose the standard route (default: either).
    """
    if policy is not None and on is None:
        raise InvalidArgument("applications(policy=...) needs the decision day: pass on=...")
    return _application(
        policy=policy,
        on=_pin(on, _DEFAULT_DAYS),
        item=item,
        applicant=_pin(applicant, applicants()),
        evidence=evidence,
        project=_pin(project, projects()),
        choose_standard=_pin(choose_standard, st.booleans()),
    )


@st.composite
def _application(
    draw: st.DrawFn,
    *,
    policy: Policy | PolicySnapshot | None,
    on: st.SearchStrategy[dt.date],
    item: ApprovalItem | st.SearchStrategy[ApprovalItem] | None,
    applicant: st.SearchStrategy[Applicant],
    evidence: Any,
    project: st.SearchStrategy[ProjectFacts],
    choose_standard: st.SearchStrategy[bool],
) -> Application:
    day = draw(on)
    who = draw(applicant)
    # The default item is in force on the day, also on a day before FIRST_DAY.
    items = _pin(item, approval_items(valid_from=min(day, FIRST_DAY)))
    found = _pin(evidence, evidence_or_absence(subject=who.identifier, on=day, policy=policy))
    return Application(
        item=draw(items),
        applicant=who,
        evidence=draw(found),
        project=draw(project),
        choose_standard=draw(choose_standard),
    )
