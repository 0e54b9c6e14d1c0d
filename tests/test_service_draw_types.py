"""The service's 双随机 targets carry the inspection type the city gives per item (issue 9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    Inspector,
    ManualClock,
    SeedCommitment,
    Signer,
    verify_draw,
)
from creditcommit.builtin import FileCreditSource, FileLicenceStore
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
HOTEL = Applicant(
    "91321084MA1TQ7GU0" + uscc_check_char("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司"
)
SEED = b"gaoyou-2025-10-draw-seed-000002!"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Approvals]:
    config = tmp_path / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "sqlite:cases.db"\ncatalog = "sample"\npolicy = "sample"\n',
        encoding="utf-8",
    )
    FileCreditSource(tmp_path / "credit.db").set_grade(HOTEL.identifier, "B", city=CITY)
    licences = FileLicenceStore(tmp_path / "licences.db")
    for licence_type in ("business-licence", "resident-identity-card"):
        licences.record(
            IssuedLicence(
                reference=f"{licence_type}:{HOTEL.identifier}",
                licence_type=licence_type,
                subject=HOTEL.identifier,
                item_code="external",
                case_id="external",
                issued_on=dt.date(2020, 1, 1),
            ),
            city=CITY,
        )
    clock = ManualClock(dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME))
    with Approvals.from_config(config, clock=clock, autoload=False) as opened:
        yield opened


def test_targets_take_the_inspection_type_of_their_item(service: Approvals) -> None:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=["GGCSWSXK-01"])
    case = service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
    service.accept(case.case_id)
    day = dt.date(2025, 9, 26)
    untyped = service.commitment_targets(day, day)
    assert [t.inspection_type for t in untyped] == [None]
    (target,) = service.commitment_targets(day, day, inspection_types={GAOYOU: "公共场所卫生"})
    assert target.inspection_type == "公共场所卫生"
    roster = [
        Inspector("GY-01", "王明", ("公共场所卫生",)),
        Inspector("GY-02", "李华", ("食品经营",)),
        Inspector("GY-03", "张伟", ("公共场所卫生",)),
    ]
    record = service.draw(
        "高邮-2025-双随机-02",
        [target],
        inspectors=roster,
        seed=SEED,
        commitment=SeedCommitment.create(SEED).digest,
    )
    assert [s.inspectors for s in record.selections] == [("GY-01", "GY-03")]
    assert verify_draw(record, targets=[target])


def test_the_service_draws_from_columns(service: Approvals, tmp_path: Path) -> None:
    """A registry export file drawn through the service gives the row draw's record."""
    from creditcommit import Target
    from creditcommit.population import TargetColumns

    ids = [f"913210{n:012d}" for n in range(300)]
    grades = ["ABCD"[n % 4] for n in range(300)]
    export = tmp_path / "export.csv"
    export.write_text("".join(f"{i},{g}\n" for i, g in zip(ids, grades, strict=True)), "utf-8")
    roster = [Inspector(f"GY-{i:02d}", f"检查员{i}") for i in range(6)]
    commitment = SeedCommitment.create(SEED).digest
    columns = TargetColumns.from_csv(export)
    record = service.draw(
        "高邮-2025-双随机-03", columns, inspectors=roster, seed=SEED, commitment=commitment
    )
    rows = [Target(i, g) for i, g in zip(ids, grades, strict=True)]
    again = service.draw(
        "高邮-2025-双随机-04", rows, inspectors=roster, seed=SEED, commitment=commitment
    )
    assert again.selections == record.selections
    assert verify_draw(record, targets=TargetColumns.from_csv(export))
    assert record in service.draws()
