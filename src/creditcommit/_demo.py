"""The narrated demo behind ``creditcommit demo``: the seed's story, end to end.

It creates a fresh directory with a ``creditcommit.toml``, an SQLite event store, the
built-in credit file, licence store and JSON-lines publishing channel, and runs the cases of
the Yangzhou case study through :class:`~creditcommit.Approvals` on a manual clock, so the
output is the same on every machine (apart from the directory's name).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

from creditcommit.builtin.credit_file import FileCreditSource
from creditcommit.builtin.licence_file import FileLicenceStore
from creditcommit.case import Case, CreditRecordCreated, RectificationOrdered, RevocationProposed
from creditcommit.commitments import Signer
from creditcommit.config import Config
from creditcommit.credit import CreditRecord, CreditRecordKind, Severity
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel
from creditcommit.draws import Conflict, Inspector, SeedCommitment, verify_draw
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import Disposition
from creditcommit.metrics import render_text, statistics
from creditcommit.ports import IssuedLicence
from creditcommit.service import CHINA_TIME, Approvals, ManualClock
from creditcommit.supervision import VerificationOutcome

CITY = "321000"  # 扬州市
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"

_DISPOSITION_ZH = {
    Disposition.SUBMITTED: "已提交",
    Disposition.RETRIEVED: "电子证照调取",
    Disposition.WAIVED: "承诺免交",
    Disposition.DEFERRED: "容缺后补",
    Disposition.MISSING: "须提交",
}


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


NEWMAT = Applicant(_uscc("91321012MA1Y2K3L4"), "扬州某新材料科技有限公司")
HOTEL_B = Applicant(_uscc("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司")
BATHS_C = Applicant(_uscc("91321084MA1TQ7GU1"), "高邮某洗浴服务部")
SALON_B = Applicant(_uscc("91321084MA1TQ7GU2"), "高邮某美容美发店")
INN_B = Applicant(_uscc("91321084MA1TQ7GU3"), "高邮某宾馆")

CONFIG = f"""\
# creditcommit demo: the sample catalogue and the sample Yangzhou policy (neither official).
city = "{CITY}"
store = "sqlite:cases.db"
catalog = "sample"
policy = "sample"

[plugins.builtin]
credit = "credit.db"
licences = "licences.db"
channel = "publications.jsonl"
# A testing aid: this subject's credit lookup fails as if the platform were down.
unavailable_subjects = ["{INN_B.identifier}"]
"""


def _at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


def prepare(directory: Path) -> Path:
    """Write the configuration and the city's data (credit file, licence store)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "creditcommit.toml"
    config.write_text(CONFIG, encoding="utf-8")
    credit = FileCreditSource(directory / "credit.db")
    for applicant, grade in ((HOTEL_B, "B"), (BATHS_C, "C"), (SALON_B, "B"), (INN_B, "B")):
        credit.set_grade(applicant.identifier, grade, city=CITY)
    credit.add_record(
        CreditRecord.with_default_periods(
            record_id="YZ-2025-0413",
            subject=SALON_B.identifier,
            kind=CreditRecordKind.DISHONESTY,
            severity=Severity.GENERAL,
            decided_on=dt.date(2025, 4, 13),
            authority="高邮市市场监督管理局",
            description="未按规定公示年度报告",
        ),
        city=CITY,
    )
    licences = FileLicenceStore(directory / "licences.db")
    held = [
        (NEWMAT, "business-licence"),
        (NEWMAT, "uscc-certificate"),
        *((a, t) for a in (HOTEL_B, BATHS_C, SALON_B, INN_B) for t in ("business-licence",)),
        *((a, "resident-identity-card") for a in (HOTEL_B, BATHS_C, SALON_B, INN_B)),
    ]
    for applicant, licence_type in held:
        licences.record(
            IssuedLicence(
                reference=f"{licence_type}:{applicant.identifier}",
                licence_type=licence_type,
                subject=applicant.identifier,
                item_code="external",
                case_id="external",
                issued_on=dt.date(2020, 1, 1),
            ),
            city=CITY,
        )
    return config


def run(out: TextIO, directory: str | os.PathLike[str] | None = None) -> Path:
    """Run the story in ``directory`` (a new temporary one by default); returns it."""
    say = out.write
    where = Path(tempfile.mkdtemp(prefix="creditcommit-demo-") if directory is None else directory)
    if where.exists() and any(where.iterdir()):
        raise ValueError(f"{where} is not empty: the demo needs a fresh directory")
    config = prepare(where)
    clock = ManualClock(_at(dt.date(2023, 1, 16)))
    say("creditcommit — 信用+承诺 审批分级 (credit + commitment tiered approval)\n")
    say(f"Working in {where} (SQLite store cases.db, credit.db, licences.db).\n")

    with Approvals.from_config(Config.load(config), clock=clock, autoload=False) as service:
        say(f"Catalogue: {service.catalog().rule_version}\n")
        say(f"Policy:    {service.policy().version}\n")
        say(f"Calendar:  {'; '.join(service.calendar().provenance)}\n")

        say("\n1. Jiangdu, 2023-01-16: a municipal major project files its project (立项备案)\n")
        case = service.submit(
            item=JIANGDU,
            applicant=NEWMAT,
            project=ProjectFacts(
                ProjectLevel.MUNICIPAL, "锂电池高倍率正、负极纳米涂覆集流体项目一期", 200_000_000
            ),
            key="demo-jiangdu",
        )
        _decided(say, service, case)
        case = service.sign_commitment(case.case_id, Signer(NEWMAT.name, NEWMAT.identifier))
        say("   One credit-commitment form is signed instead of the four materials.\n")
        clock.advance(minutes=20)
        case = service.accept(case.case_id)
        _issued(say, service, case)

        clock.set(_at(dt.date(2025, 9, 26)))
        say("\n2. Gaoyou, 2025-09-26: a grade-B hotel applies for the health permit\n")
        case = service.submit(
            item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="demo-gaoyou-b"
        )
        _decided(say, service, case)
        case = service.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
        clock.advance(minutes=35)
        case = service.accept(case.case_id)
        _issued(say, service, case)

        for number, (title, applicant, key) in enumerate(
            (
                ("a grade-C applicant", BATHS_C, "demo-gaoyou-c"),
                ("a grade-B applicant with an active dishonesty record", SALON_B, "demo-gaoyou-d"),
                ("a grade-B applicant while the credit platform is down", INN_B, "demo-gaoyou-e"),
            ),
            3,
        ):
            clock.advance(minutes=30)
            say(f"\n{number}. Gaoyou, 2025-09-26: {title}\n")
            case = service.submit(
                item=GAOYOU, applicant=applicant, provided=["GGCSWSXK-01"], key=key
            )
            _decided(say, service, case)

        again = service.submit(item=GAOYOU, applicant=HOTEL_B, key="demo-gaoyou-b")
        say(f"\nSubmitting case 2 again with the same key returns {again.case_id}: no new case.\n")

        report = service.deliver()
        say(f"\nOutbox: {len(report.delivered)} message(s) delivered, ")
        say(f"{len(report.failed)} failed.\n")
        publications = (where / "publications.jsonl").read_text(encoding="utf-8").splitlines()
        say(f"publications.jsonl holds {len(publications)} licence decision(s) (双公示):\n")
        for line in publications:
            payload = json.loads(line)["payload"]
            fields = payload["fields"]
            say(
                f"   {fields['decision_number']} {fields['project_name']} — "
                f"{fields['counterparty_name']} ({payload['decided_on']}, "
                f"publish by {payload['publish_by']})\n"
            )
        _supervision(say, service, clock, where)

        verified = service.verify()
        state = "intact" if verified.ok else f"TAMPERED at {verified.first_bad}"
        say(f"\nEvent log: {verified.events} events, hash chain {state}.\n")
        say(f"Try: creditcommit --config {config} case show {HOTEL_CASE}\n")
        say(f"     creditcommit --config {config} report --from 2023-01-01 --to 2025-12-31\n")
    return where


HOTEL_CASE = "321000-20250926-N0001"

E = TypeVar("E")


def _last(case: Case, kind: type[E]) -> E:
    """The case's latest event of ``kind``."""
    return next(event for event in reversed(case.history) if isinstance(event, kind))


def _supervision(
    say: Callable[[str], object], service: Approvals, clock: ManualClock, where: Path
) -> None:
    """The loop after the licence: a broken commitment, its consequences, a draw, a report."""
    say("\n6. Supervision: the grade-B hotel never supplies its deferred materials\n")
    clock.set(_at(dt.date(2025, 10, 13), 8, 0))
    report = service.tick()
    case = service.case(HOTEL_CASE)
    order = _last(case, RectificationOrdered)
    say(
        f"   2025-10-13 tick: the materials due 2025-10-10 are overdue → rectification "
        f"ordered by {order.deadline} (state {case.state.name}); "
        f"{len(report.delivery.delivered)} message(s) delivered.\n"
    )
    clock.set(_at(order.deadline + dt.timedelta(days=1), 8, 0))
    service.tick()
    case = service.case(HOTEL_CASE)
    proposal = _last(case, RevocationProposed)
    say(
        f"   {clock.now.date()} tick: rectification not met → revocation proposed "
        f"({'; '.join(str(ref) for ref in proposal.legal_basis)}); statement and defence "
        f"until {proposal.statement_due} (state {case.state.name}).\n"
    )
    clock.set(_at(proposal.statement_due + dt.timedelta(days=1), 10, 0))
    case = service.decide_revocation(HOTEL_CASE, authority="高邮市行政审批局")
    record = _last(case, CreditRecordCreated).record
    say(
        f"   {clock.now.date()}: the window elapsed unanswered → licence {case.licence_reference} "
        f"revoked (state {case.state.name}).\n"
        f"   Dishonesty record {record.record_id}: {record.kind.value}, {record.severity.value}, "
        f"published until {record.publicity_ends_on}.\n"
    )
    delivered = service.deliver()
    say(
        f"   Outbox: {len(delivered.delivered)} message(s) delivered — licence withdrawn in the "
        "e-licence store, record pushed to the credit registry, revocation and record "
        "published, the licence decision's publicity withdrawn.\n"
    )

    clock.advance(days=3)
    say(f"\n7. {clock.now.date()}: the same hotel applies again\n")
    again = service.submit(
        item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="demo-gaoyou-b-again"
    )
    _decided(say, service, again)

    say("\n8. 双随机: a draw among the licences issued on commitment\n")
    seed = b"yangzhou-demo-draw-2025-11-seed!"
    commitment = SeedCommitment.create(seed).digest
    say(f"   Seed commitment published before the draw: {commitment[:24]}…\n")
    roster = [
        Inspector("YZ-01", "王明"),
        Inspector("YZ-02", "李华"),
        Inspector("YZ-03", "张伟"),
        Inspector("YZ-04", "陈静"),
    ]
    targets = service.commitment_targets(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    conflicts = [Conflict("YZ-01", targets[0].id, "亲属任职")] if targets else []
    drawn = service.draw(
        "扬州-2025-双随机-01",
        targets,
        inspectors=roster,
        conflicts=conflicts,
        seed=seed,
        commitment=commitment,
    )
    verify_draw(drawn, targets=targets)
    for selection in drawn.selections:
        names = ", ".join(selection.inspectors)
        say(f"   {selection.target.id} ({selection.target.grade}): {names}\n")
    say("   verify_draw: the published record re-runs to the same result.\n")
    jiangdu = next(s for s in drawn.selections if s.target.id.startswith("BA-321000-2023"))
    clock.advance(days=2)
    by_licence = {c.licence_reference: c.case_id for c in service.cases() if c.licence_reference}
    checked = service.record_verification(
        by_licence[jiangdu.target.id],
        inspectors=jiangdu.inspectors,
        findings="现场核查：项目备案信息与承诺一致",
        outcome=VerificationOutcome.FULFILLED,
    )
    say(f"   {jiangdu.target.id} verified on site: fulfilled → {checked.state.name}.\n")
    service.deliver()

    say("\n9. The report (2023-01-01 to 2025-12-31)\n")
    report_text = render_text(
        statistics(
            service.cases(),
            start=dt.date(2023, 1, 1),
            end=dt.date(2025, 12, 31),
            catalog=service.catalog(),
            calendar=service.calendar(),
            draws=service.draws(),
        ),
        lang="en",
    )
    say("".join(f"   {line}\n" for line in report_text.splitlines()))
    published = (where / "publications.jsonl").read_text(encoding="utf-8").splitlines()
    say(f"publications.jsonl now holds {len(published)} entries (双公示 and inspection results).\n")


def _decided(write: Callable[[str], object], service: Approvals, case: Case) -> None:
    decision = case.decision
    plan = case.plan
    assert decision is not None
    assert plan is not None
    applicant = case.applicant
    write(f"   Case {case.case_id}: {applicant.name} ({applicant.identifier})\n")
    route = decision.route
    write(f"   Route: {route.name} — {route.label_zh} ({route.label_en})\n")
    for reason in decision.reasons:
        write(f"     · {reason.zh}\n       {reason.en}\n")
    write(
        f"   Materials: {plan.reduced} of {len(plan.lines)} need not be submitted; "
        f"acceptable: {'yes' if plan.acceptable else 'no'}\n"
    )
    for line in plan.lines:
        due = f" by {line.due.isoformat()}" if line.due is not None else ""
        label = _DISPOSITION_ZH[line.disposition]
        write(f"       - {line.name}: {line.disposition.name} ({label}){due}\n")
    if not route.is_commitment:
        write("   The ordinary procedure applies: every material must be submitted.\n")


def _issued(write: Callable[[str], object], service: Approvals, case: Case) -> None:
    item = service.catalog().item(case.item_code, case.item_valid_from)
    assert case.accepted_on is not None
    statutory = service.calendar().add_working_days(case.accepted_on, item.statutory_days)
    granted = (
        f"filing {case.licence_reference} recorded at once (备案, not a licence)"
        if item.is_filing
        else f"licence {case.licence_reference} issued on the spot (先证后核)"
    )
    write(
        f"   Accepted and {granted} — "
        f"the statutory limit of {item.statutory_days} working day(s) would have run to "
        f"{statutory.isoformat()}.\n"
    )
    if case.outstanding:
        owed = ", ".join(f"{line.name} by {line.due}" for line in case.outstanding)
        write(f"   Still owed by the holder: {owed}.\n")
