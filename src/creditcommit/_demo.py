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
from typing import TextIO

from creditcommit.builtin.credit_file import FileCreditSource
from creditcommit.builtin.licence_file import FileLicenceStore
from creditcommit.case import Case
from creditcommit.commitments import Signer
from creditcommit.config import Config
from creditcommit.credit import CreditRecord, CreditRecordKind, Severity
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import Disposition
from creditcommit.ports import IssuedLicence
from creditcommit.service import CHINA_TIME, Approvals, ManualClock

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
            say(
                f"   {payload['decision_number']} {payload['project_name']} — "
                f"{payload['counterparty_name']} ({payload['decision_date']})\n"
            )
        verified = service.verify()
        state = "intact" if verified.ok else f"TAMPERED at {verified.first_bad}"
        say(f"Event log: {verified.events} events, hash chain {state}.\n")
        say(f"Try: creditcommit --config {config} case show {case.case_id}\n")
    return where


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
    write(
        f"   Accepted and licence {case.licence_reference} issued on the spot (先证后核) — "
        f"the statutory limit of {item.statutory_days} working day(s) would have run to "
        f"{statutory.isoformat()}.\n"
    )
    if case.outstanding:
        owed = ", ".join(f"{line.name} by {line.due}" for line in case.outstanding)
        write(f"   Still owed by the holder: {owed}.\n")
