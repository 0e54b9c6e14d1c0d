"""The narrated demo behind ``creditcommit demo``: what the library does, step by step."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import Catalog, MaterialKind
from creditcommit.credit import CreditRecord, CreditRecordKind, GradeScale, Severity
from creditcommit.errors import CalendarCoverageError, InvalidIdentifier
from creditcommit.identifiers import USCC, ResidentId

# The days of the seed's story: the Jiangdu filing of 2023-01-16, and an application for
# the Gaoyou permit just before the 2025 National Day break (a good test of the calendar).
JIANGDU_DAY = dt.date(2023, 1, 16)
GAOYOU_DAY = dt.date(2025, 9, 26)

_KIND_ZH = {
    MaterialKind.REQUIRED: "法定要件",
    MaterialKind.DEFERRABLE: "可容缺",
    MaterialKind.WAIVABLE: "可承诺免交",
    MaterialKind.LICENCE: "电子证照调取",
}


def run(out: TextIO) -> None:
    """Print the walk-through to ``out``."""
    say = out.write
    catalog = Catalog.sample()
    calendar = WorkingCalendar.china()

    say("creditcommit — 信用+承诺 审批分级 (credit + commitment tiered approval)\n\n")

    say("1. The catalogue (审批事项清单)\n")
    say(_indent(catalog.summary(GAOYOU_DAY).format()) + "\n")
    for item in catalog.items(GAOYOU_DAY):
        say(f"   • {item.code} {item.name} — {item.department}\n")
        say(
            f"     statutory limit {item.statutory_days} working day(s), promised "
            f"{item.promised_days}; commitment mode {item.commitment_mode.value}\n"
        )
        for material in item.materials:
            extra = ""
            if material.kind is MaterialKind.DEFERRABLE:
                extra = f", may follow within {material.defer_days} working days"
            elif material.kind is MaterialKind.LICENCE:
                extra = f", e-licence type {material.licence_type}"
            say(f"       - {material.name} [{_KIND_ZH[material.kind]}{extra}]\n")
    say("\n")

    say("2. Deadlines on the statutory working-day calendar (工作日)\n")
    permit = next(i for i in catalog.items(GAOYOU_DAY) if i.statutory_days == 20)
    due = calendar.add_working_days(GAOYOU_DAY, permit.statutory_days)
    say(
        f"   {permit.name}: accepted {GAOYOU_DAY.isoformat()} → statutory limit of "
        f"{permit.statutory_days} working days ends {due.isoformat()} "
        f"({(due - GAOYOU_DAY).days} calendar days: the National Day break and the make-up "
        "working days of 2025-09-28 and 2025-10-11 are counted correctly)\n"
    )
    publicity = calendar.add_working_days(dt.date(2025, 9, 29), 7)
    say(f"   双公示 within 7 working days of a decision on 2025-09-29: by {publicity}\n")
    try:
        calendar.add_working_days(dt.date(2026, 12, 20), 20)
    except CalendarCoverageError as exc:
        say("   A deadline crossing into a year without an official notice is refused:\n")
        say(f"     {exc}\n")
    say(f"   Data: {'; '.join(calendar.provenance)}\n\n")

    say("3. Identifiers (统一社会信用代码, 居民身份证号码)\n")
    for text in ("9131 0110-6660 07217t", "91310110666007217A", "91350100M0001TGQXM"):
        try:
            code = USCC.parse(text)
        except InvalidIdentifier as exc:
            say(f"   {text!r}: rejected — {exc.detail}\n")
        else:
            legacy = ", a legacy code on the allow-list" if code.legacy else ""
            say(f"   {text!r}: valid as {code} ({code.authority} / {code.category}{legacy})\n")
    person = ResidentId.parse("11010519491231002X")
    say(f"   A resident identity number is published masked: {person.masked()}\n\n")

    say("4. Credit grades and records (信用等级, 信用记录)\n")
    scale = GradeScale.yangzhou()
    say(f"   Yangzhou scale, best to worst: {' > '.join(scale)}\n")
    say(f"   Grades that meet a 'B and above' threshold: {sorted(scale.at_least('B'))}\n")
    record = CreditRecord.with_default_periods(
        record_id="R-2025-001",
        subject="91321012MA1X00000X",
        kind=CreditRecordKind.FALSE_COMMITMENT,
        severity=Severity.GENERAL,
        decided_on=dt.date(2025, 3, 3),
    )
    say(
        f"   A general false-commitment record decided {record.decided_on}: "
        f"repairable from {record.repairable_from}, published until "
        f"{record.publicity_ends_on}; active on {GAOYOU_DAY}: {record.is_active(GAOYOU_DAY)}\n"
    )


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" for line in text.splitlines())
