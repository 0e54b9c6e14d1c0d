"""Hypothesis strategies for policies, applications and credit evidence.

Kept free of test code so that it can move to ``creditcommit.testing`` unchanged. Every
value drawn is valid: building it never raises. Decision days lie in ``[FIRST_DAY,
LAST_DAY]``, where the national defaults and every drawn overlay are in force.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from hypothesis import strategies as st

from creditcommit.catalog import (
    ApprovalItem,
    CommitmentMode,
    Material,
    MaterialKind,
    Verification,
    VerificationMethod,
)
from creditcommit.credit import (
    GBT_22116,
    SAMR_A_D,
    YANGZHOU_A_E,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    GradeScale,
    Severity,
)
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel
from creditcommit.effective import LegalReference
from creditcommit.policy import Application, Policy

__all__ = [
    "APPLICANTS",
    "DOMAINS",
    "FIRST_DAY",
    "ITEM_CODES",
    "LAST_DAY",
    "applicants",
    "applications",
    "credit_records",
    "days",
    "evidence_for",
    "items",
    "policies",
    "projects",
    "retrieval_times",
]

FIRST_DAY = dt.date(2022, 1, 1)
LAST_DAY = dt.date(2027, 12, 31)

#: Item domains drawn: two of the 42号 exclusions, the sample catalogue's tags, one more.
DOMAINS = (
    "public-safety",
    "personal-health-life-property",
    "investment-projects",
    "public-places-hygiene",
    "transport",
)
ITEM_CODES = ("X-1", "X-2", "X-3")
APPLICANTS = (
    Applicant("91321012MA1W0000A1", "扬州甲公司"),
    Applicant("91321084MA1W0000B2", "高邮乙公司"),
)
SCALES = (YANGZHOU_A_E, SAMR_A_D, GBT_22116)
_CST = dt.timezone(dt.timedelta(hours=8))
_BASIS = (LegalReference("某某条例", "第一条"),)


def days() -> st.SearchStrategy[dt.date]:
    """Decision days from FIRST_DAY to LAST_DAY."""
    return st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)


def retrieval_times() -> st.SearchStrategy[dt.datetime]:
    """Times a credit source answered (China Standard Time)."""
    return st.datetimes(min_value=dt.datetime(2022, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
        lambda t: t.replace(tzinfo=_CST)
    )


_CODES = st.sampled_from(ITEM_CODES)
_MODES = st.sampled_from(CommitmentMode)
_ITEM_DOMAINS = st.frozensets(st.sampled_from(DOMAINS), max_size=2)


@st.composite
def items(draw: st.DrawFn) -> ApprovalItem:
    """An approval item in force from FIRST_DAY, with any commitment mode and domains."""
    return ApprovalItem(
        code=draw(_CODES),
        name="测试事项",
        department="某行政审批局",
        legal_basis=_BASIS,
        statutory_days=20,
        promised_days=5,
        commitment_mode=draw(_MODES),
        verification=Verification(VerificationMethod.EXEMPT),
        materials=(Material("M-1", "申请表", MaterialKind.REQUIRED),),
        valid_from=FIRST_DAY,
        domains=draw(_ITEM_DOMAINS),
    )


def applicants() -> st.SearchStrategy[Applicant]:
    """One of two applicants (so that evidence is sometimes about the other one)."""
    return st.sampled_from(APPLICANTS)


def projects() -> st.SearchStrategy[ProjectFacts]:
    """A project that is a major project at some level, or not one."""
    return st.builds(ProjectFacts, st.none() | st.sampled_from(ProjectLevel))


_OFFSETS = st.integers(-5 * 366, 30)
_REPAIRS = st.none() | st.integers(0, 3 * 366)
_IDS = st.integers(1, 999)
_RECORD_KINDS = st.sampled_from(CreditRecordKind)
_SEVERITIES = st.sampled_from(Severity)


@st.composite
def credit_records(draw: st.DrawFn, subject: str, around: dt.date) -> CreditRecord:
    """A record of ``subject`` decided within five years before ``around`` (or just after)."""
    decided = around + dt.timedelta(days=draw(_OFFSETS))
    repaired = draw(_REPAIRS)
    return CreditRecord.with_default_periods(
        record_id=f"R-{draw(_IDS)}",
        subject=subject,
        kind=draw(_RECORD_KINDS),
        severity=draw(_SEVERITIES),
        decided_on=decided,
        repaired_on=None if repaired is None else decided + dt.timedelta(days=repaired),
    )


_SHAPES = st.sampled_from(
    ["evidence"] * 6 + ["none", "failure", "other", "altered", "scale", "unknown"]
)


@st.composite
def evidence_for(
    draw: st.DrawFn, applicant: Applicant, scale: GradeScale, on: dt.date
) -> CreditEvidence | CreditLookupFailure | None:
    """What a credit source returned about ``applicant``: mostly sound evidence on ``scale``,
    sometimes nothing, a failure, evidence about someone else, altered evidence, evidence on
    another scale, or a grade the scale does not have."""
    shape = draw(_SHAPES)
    at = draw(retrieval_times())
    if shape == "none":
        return None
    if shape == "failure":
        return CreditLookupFailure(
            subject=applicant.identifier, source="信用扬州", attempted_at=at, reason="timeout"
        )
    subject = applicant.identifier
    if shape == "other":
        subject = next(a.identifier for a in APPLICANTS if a != applicant)
    records = draw(st.lists(credit_records(subject, on), max_size=3))
    grade: str | None = draw(st.none() | st.sampled_from(scale.grades))
    scale_name = scale.name
    if shape == "scale":
        scale_name = next(s.name for s in SCALES if s.name != scale.name)
    if shape == "unknown":
        grade = "Z"
    evidence = CreditEvidence.create(
        subject=subject,
        source="信用扬州",
        retrieved_at=at,
        scale=scale_name,
        grade=grade,
        records=records,
    )
    if shape == "altered":
        return attrs.evolve(evidence, grade=None if grade else scale.grades[0])
    return evidence


_FLOOR = [
    {"kind": "serious_dishonesty_list", "min_severity": "minor"},
    {"kind": "false_commitment", "min_severity": "minor", "lasts": "until-repaired"},
]


def _entry(value: object) -> dict[str, Any]:
    return {"from": FIRST_DAY, "value": value}


# Strategies are built once: building them on every draw costs more than the draws.
_KINDS = st.sampled_from([k.value for k in CreditRecordKind])
_BLOCKING = st.lists(
    st.fixed_dictionaries(
        {
            "kind": _KINDS,
            "min_severity": st.sampled_from([s.value for s in Severity]),
            "lasts": st.sampled_from(["while-active", "until-repaired"]),
        }
    ),
    max_size=3,
)
_BANS = st.lists(
    st.fixed_dictionaries(
        {
            "kind": _KINDS,
            "months": st.integers(1, 48),
            "domains": st.lists(st.sampled_from(DOMAINS), max_size=2, unique=True),
        }
    ),
    max_size=2,
)
_LISTED = st.just("all") | st.lists(st.sampled_from(ITEM_CODES), unique=True)
_LEVELS = st.lists(st.sampled_from([lv.value for lv in ProjectLevel]), unique=True)
_EXCLUDED = st.none() | st.lists(st.sampled_from(DOMAINS), unique=True)
_SCALES = st.sampled_from(SCALES)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """The national defaults with a drawn city overlay in force from FIRST_DAY."""
    scale = draw(_SCALES)
    data: dict[str, Any] = {
        "policy": {"name": "生成的城市政策", "version": "1"},
        "grade_scale": [_entry(scale.name)],
        "conditional_threshold": [_entry(draw(st.sampled_from(scale.grades)))],
        "major_project_levels": [_entry(draw(_LEVELS))],
        "blocking_records": [_entry(_FLOOR + draw(_BLOCKING))],
        "reapplication_ban_months": [_entry(draw(_BANS))],
        "commitment_items": [_entry(draw(_LISTED))],
    }
    excluded = draw(_EXCLUDED)
    if excluded is not None:
        data["excluded_domains"] = [_entry(excluded)]
    return Policy.national().overlay(Policy.from_dict(data, source="<drawn>"))


@st.composite
def applications(draw: st.DrawFn, scale: GradeScale, on: dt.date) -> Application:
    """An application decided on ``on`` whose evidence is mostly on ``scale``."""
    applicant = draw(applicants())
    return Application(
        item=draw(items()),
        applicant=applicant,
        evidence=draw(evidence_for(applicant, scale, on)),
        project=draw(projects()),
        choose_standard=draw(st.booleans()),
    )
