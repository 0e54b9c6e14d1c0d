"""Hypothesis strategies for valid approval items, e-licence holdings and application days.

Kept free of test code so that it can move to ``creditcommit.testing`` unchanged.
Every item drawn obeys the catalogue's rules (a waivable material only under
notify-and-commit, a deferrable one only under a commitment mode and within the promised
time limit, ...): building it must never raise.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from creditcommit.catalog import (
    ApprovalItem,
    CommitmentMode,
    Material,
    MaterialKind,
    Verification,
    VerificationMethod,
)
from creditcommit.effective import LegalReference
from creditcommit.materials import LicenceHolding

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "LICENCE_TYPES",
    "MAX_STATUTORY_DAYS",
    "approval_items",
    "days",
    "licence_holdings",
]

#: A few licence types; small so that holdings often match the materials drawn.
LICENCE_TYPES = ("business-licence", "uscc-certificate", "resident-identity-card", "food-permit")

#: Statutory limits drawn are at most this many working days.
MAX_STATUTORY_DAYS = 20

#: Application days drawn lie in this range; the last one leaves room for a deferral of
#: MAX_STATUTORY_DAYS working days inside the years the bundled calendar covers (to 2026).
FIRST_DAY = dt.date(2020, 1, 1)
LAST_DAY = dt.date(2026, 11, 30)

_VERIFICATIONS = (
    Verification(VerificationMethod.ONLINE, 20),
    Verification(VerificationMethod.ON_SITE, 10),
    Verification(VerificationMethod.EXEMPT),
)


def days() -> st.SearchStrategy[dt.date]:
    """Application days from FIRST_DAY to LAST_DAY."""
    return st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)


@st.composite
def approval_items(draw: st.DrawFn, max_materials: int = 8) -> ApprovalItem:
    """A valid approval item with 1 to ``max_materials`` materials of the kinds its mode allows."""
    statutory = draw(st.integers(1, MAX_STATUTORY_DAYS))
    promised = draw(st.integers(0, statutory))
    mode = draw(st.sampled_from(CommitmentMode))
    kinds = [MaterialKind.REQUIRED, MaterialKind.LICENCE]
    if mode is CommitmentMode.NOTIFY_AND_COMMIT:
        kinds.append(MaterialKind.WAIVABLE)
    # A deferrable material needs at least one working day within the promised limit.
    if mode is not CommitmentMode.NONE and promised >= 1:
        kinds.append(MaterialKind.DEFERRABLE)
    count = draw(st.integers(1, max_materials))
    materials = []
    for i in range(count):
        kind = draw(st.sampled_from(kinds))
        materials.append(
            Material(
                f"M-{i:02d}",
                f"材料{i}",
                kind,
                defer_days=draw(st.integers(1, promised))
                if kind is MaterialKind.DEFERRABLE
                else None,
                licence_type=draw(st.sampled_from(LICENCE_TYPES))
                if kind is MaterialKind.LICENCE
                else None,
            )
        )
    return ApprovalItem(
        code=draw(st.sampled_from(["320000-TEST", "321012-TEST", "321084-TEST"])),
        name="测试事项",
        department="测试审批局",
        legal_basis=(LegalReference("中华人民共和国行政许可法", "第四十二条"),),
        statutory_days=statutory,
        promised_days=promised,
        commitment_mode=mode,
        verification=draw(st.sampled_from(_VERIFICATIONS)),
        materials=materials,
        valid_from=dt.date(2019, 1, 1),
    )


def licence_holdings() -> st.SearchStrategy[list[LicenceHolding]]:
    """What a licence store may hold: licences of the known types, some expiring."""
    holding = st.builds(
        LicenceHolding,
        licence_type=st.sampled_from(LICENCE_TYPES),
        reference=st.from_regex(r"[A-Z0-9]{4,8}", fullmatch=True),
        valid_until=st.none() | st.dates(min_value=FIRST_DAY, max_value=LAST_DAY),
    )
    return st.lists(holding, max_size=6)
