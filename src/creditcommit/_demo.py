"""The narrated demo behind ``creditcommit demo``: the seed's story, decision by decision.

Everything here runs on the bundled sample catalogue and the sample Yangzhou policy, on fixed
days, so the output is the same on every machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TextIO

import attrs

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, Catalog
from creditcommit.commitments import CommitmentLetter, Signer
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    Severity,
)
from creditcommit.decision import Applicant, Decision, ProjectFacts, ProjectLevel
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import Disposition, LicenceHolding, MaterialPlan, plan_materials
from creditcommit.policy import Policy, decide

CST = dt.timezone(dt.timedelta(hours=8), "CST")
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
SOURCE = "信用扬州 (sample)"

_DISPOSITION_ZH = {
    Disposition.SUBMITTED: "已提交",
    Disposition.RETRIEVED: "电子证照调取",
    Disposition.WAIVED: "承诺免交",
    Disposition.DEFERRED: "容缺后补",
    Disposition.MISSING: "缺少",
}


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


@attrs.frozen
class Case:
    """One application of the story."""

    title: str
    item: str
    day: dt.date
    applicant: Applicant
    evidence: CreditEvidence | CreditLookupFailure | None
    provided: tuple[str, ...] = ()
    licences: tuple[LicenceHolding, ...] = ()
    project: ProjectFacts = attrs.field(factory=ProjectFacts)


def _evidence(
    subject: str, day: dt.date, grade: str, records: Iterable[CreditRecord] = ()
) -> CreditEvidence:
    return CreditEvidence.create(
        subject=subject,
        source=SOURCE,
        retrieved_at=dt.datetime.combine(day, dt.time(9, 30), CST),
        scale="yangzhou-a-e",
        grade=grade,
        records=records,
    )


def cases() -> tuple[Case, ...]:
    """The seed's cases: Jiangdu's major project, and Gaoyou's health permit four ways."""
    jiangdu_day = dt.date(2023, 1, 16)
    gaoyou_day = dt.date(2025, 9, 26)
    newmat = _uscc("91321012MA1Y2K3L4")
    hotels = [_uscc(f"9132108{n}MA1TQ7GU8") for n in range(4)]
    held = (
        LicenceHolding("business-licence", "营业执照 (e-licence)"),
        LicenceHolding("uscc-certificate", "统一社会信用代码证 (e-licence)"),
    )
    gaoyou_held = (
        LicenceHolding("business-licence", "营业执照 (e-licence)"),
        LicenceHolding("resident-identity-card", "居民身份证 (e-licence)"),
    )
    form = ("GGCSWSXK-01",)
    dishonesty = CreditRecord.with_default_periods(
        record_id="YZ-2025-0413",
        subject=hotels[2],
        kind=CreditRecordKind.DISHONESTY,
        severity=Severity.GENERAL,
        decided_on=dt.date(2025, 4, 13),
        authority="高邮市市场监督管理局",
        description="未按规定公示年度报告",
    )
    return (
        Case(
            "Jiangdu: a municipal major project files its project (立项备案)",
            JIANGDU,
            jiangdu_day,
            Applicant(newmat, "扬州某新材料科技有限公司"),
            None,
            licences=held,
            project=ProjectFacts(ProjectLevel.MUNICIPAL, "锂电池集流体项目一期", 200_000_000),
        ),
        Case(
            "Gaoyou: a grade-B hotel applies for the public-place health permit",
            GAOYOU,
            gaoyou_day,
            Applicant(hotels[0], "高邮某酒店管理有限公司"),
            _evidence(hotels[0], gaoyou_day, "B"),
            provided=form,
            licences=gaoyou_held,
        ),
        Case(
            "Gaoyou: a grade-C applicant",
            GAOYOU,
            gaoyou_day,
            Applicant(hotels[1], "高邮某洗浴服务部"),
            _evidence(hotels[1], gaoyou_day, "C"),
            provided=form,
            licences=gaoyou_held,
        ),
        Case(
            "Gaoyou: a grade-B applicant with an active dishonesty record",
            GAOYOU,
            gaoyou_day,
            Applicant(hotels[2], "高邮某美容美发店"),
            _evidence(hotels[2], gaoyou_day, "B", [dishonesty]),
            provided=form,
            licences=gaoyou_held,
        ),
        Case(
            "Gaoyou: a grade-B applicant while the credit source is down",
            GAOYOU,
            gaoyou_day,
            Applicant(hotels[3], "高邮某宾馆"),
            CreditLookupFailure(
                subject=hotels[3],
                source=SOURCE,
                attempted_at=dt.datetime.combine(gaoyou_day, dt.time(9, 30), CST),
                reason="timeout after 3.0 s",
            ),
            provided=form,
            licences=gaoyou_held,
        ),
    )


def run(out: TextIO) -> None:
    """Print the walk-through to ``out``."""
    say = out.write
    catalog = Catalog.sample()
    policy = Policy.sample()
    calendar = WorkingCalendar.china()

    say("creditcommit — 信用+承诺 审批分级 (credit + commitment tiered approval)\n")
    say(f"Catalogue: {catalog.rule_version}\nPolicy:    {policy.version}\n")
    say(f"Calendar:  {'; '.join(calendar.provenance)}\n")

    reduced = 0
    gaoyou: tuple[Case, ApprovalItem, Decision, MaterialPlan] | None = None
    for number, case in enumerate(cases(), 1):
        item = catalog.item(case.item, case.day)
        decision = decide(
            item=item,
            applicant=case.applicant,
            evidence=case.evidence,
            policy=policy,
            on=case.day,
            project=case.project,
        )
        plan = plan_materials(
            item, decision, case.provided, case.licences, on=case.day, calendar=calendar
        )
        reduced += plan.reduced
        say(f"\n{number}. {case.title}\n")
        say(f"   {case.applicant.name} ({case.applicant.identifier}), {case.day.isoformat()}\n")
        say(f"   {item.name} — {item.department}\n")
        route = decision.route
        say(f"   Route: {route.name} — {route.label_zh} ({route.label_en})\n")
        for reason in decision.reasons:
            say(f"     · {reason.zh}\n       {reason.en}\n")
        say(_plan_text(plan))
        if route.is_commitment:
            statutory = calendar.add_working_days(case.day, item.statutory_days)
            when = "on the spot" if item.on_the_spot else f"within {item.promised_days} days"
            say(
                f"   Decided {when} on commitment; the statutory limit of "
                f"{item.statutory_days} working day(s) would have run to {statutory}.\n"
            )
            if case.item == GAOYOU and gaoyou is None:
                gaoyou = (case, item, decision, plan)
        else:
            say("   Every material is submitted and the ordinary procedure applies.\n")

    say(f"\nMaterials the applicants did not have to submit (缩减材料): {reduced}\n")
    if gaoyou is not None:
        say(_letter_text(*gaoyou, calendar))


def _plan_text(plan: MaterialPlan) -> str:
    lines = []
    for line in plan.lines:
        due = f" by {line.due.isoformat()}" if line.due is not None else ""
        lines.append(
            f"       - {line.name}: {line.disposition.name} "
            f"({_DISPOSITION_ZH[line.disposition]}){due}\n"
        )
    head = (
        f"   Materials: {plan.reduced} of {len(plan.lines)} need not be submitted; "
        f"acceptable: {'yes' if plan.acceptable else 'no'}\n"
    )
    return head + "".join(lines)


def _letter_text(
    case: Case,
    item: ApprovalItem,
    decision: Decision,
    plan: MaterialPlan,
    calendar: WorkingCalendar,
) -> str:
    deadline = item.verification.deadline_days
    verification_due = None if deadline is None else calendar.add_working_days(case.day, deadline)
    letter = CommitmentLetter.build(
        item, decision, plan, case.applicant, verification_due=verification_due
    )
    signed = letter.sign(
        Signer(case.applicant.name, case.applicant.identifier),
        dt.datetime.combine(case.day, dt.time(10, 5), CST),
    )
    text = letter.render()
    return (
        f"\nThe commitment letter (信用承诺书) for case 2, {len(text)} characters; "
        f"signed {signed.signed_at.isoformat()}, SHA-256 {signed.sha256[:16]}…\n"
        + "".join(f"   | {line}\n" for line in text.splitlines())
    )
