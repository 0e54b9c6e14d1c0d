"""Every USCC and resident identity number written in the docs and the README is valid.

A deliberately invalid example is listed, without spaces or hyphens, in an HTML comment of
its page,
``<!-- invalid-identifiers: 91310110666007217U 9132100000000000* -->`` (``*`` ends a prefix).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from creditcommit.identifiers import USCC, ResidentId

ROOT = Path(__file__).parent.parent
PAGES = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])

# USCC-shaped: 18 upper-case letters and digits, positions 3-8 digits (an old 15-digit
# registration number or a longer number is not one). Resident-id-shaped: 17 digits and a
# digit or X, plain or grouped 6-8-4 with a space or hyphen.
_USCC_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Z]{2}[0-9]{6}[0-9A-Z]{10}(?![0-9A-Za-z])")
_RID_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_MARKER = re.compile(r"<!--\s*invalid-identifiers:(.*?)-->", re.DOTALL)


def compact(token: str) -> str:
    return token.replace(" ", "").replace("-", "")


def allowed(text: str) -> list[str]:
    return [word for found in _MARKER.findall(text) for word in found.split()]


def is_allowed(token: str, marked: list[str]) -> bool:
    token = compact(token)
    return any(
        token.startswith(mark[:-1]) if mark.endswith("*") else token == mark for mark in marked
    )


def bad_identifiers(text: str) -> list[str]:
    marked = allowed(text)
    bad = []
    for match in _RID_SHAPE.finditer(text):
        token = match.group()
        # An all-digit USCC has the same shape; it is valid as either.
        valid = ResidentId.is_valid(compact(token)) or USCC.is_valid(token)
        if not valid and not is_allowed(token, marked):
            bad.append(token)
    for match in _USCC_SHAPE.finditer(text):
        token = match.group()
        if _RID_SHAPE.fullmatch(token):
            continue  # checked as a resident identity number above
        if not USCC.is_valid(token) and not is_allowed(token, marked):
            bad.append(token)
    return bad


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_identifier_in_the_docs_is_valid(page: Path) -> None:
    assert bad_identifiers(page.read_text(encoding="utf-8")) == []


def test_the_scan_finds_invalid_codes_and_honours_the_marker() -> None:
    text = "申请人 91321012MA1W0000A1，身份证 110105 19491231 0021，代码 91310110666007217T"
    assert bad_identifiers(text) == ["110105 19491231 0021", "91321012MA1W0000A1"]
    marked = text + "\n<!-- invalid-identifiers: 91321012MA1W* 1101051949123100X1 -->"
    assert bad_identifiers(marked) == ["110105 19491231 0021"]
    assert bad_identifiers(text.replace("0021", "002X").replace("A1，", "A9，")) == []
