"""Hypothesis strategies for hostile input: resident identity numbers as clerks type them."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import strategies as st

DIGITS = "0123456789"
RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RID_CHECK = "10X98765432"


def rid_check(first17: str) -> str:
    return RID_CHECK[sum(int(c) * w for c, w in zip(first17, RID_WEIGHTS, strict=True)) % 11]


FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


SEPARATORS = [" ", "-", "\u00a0", "\u3000", "－", "—", "–", "\u2011", "\u200b", "\ufeff", "\u2060"]
# Province-level codes of GB/T 2260 (written out here so the test checks the module).
PROVINCES = [
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
]
GROUPINGS = [(6, 8, 4), (6, 4, 4, 4), (4, 4, 4, 4, 2), (3, 3, 4, 4, 4), (18,), (2,) * 9]


# Separators between two groups: none, one or two of any kind (drawn as one choice).
GAPS = ["", *SEPARATORS, *(a + b for a in SEPARATORS[:4] for b in SEPARATORS[-4:])]
_FIRST_DAY = dt.date(1900, 1, 1)


def typed_resident_id(rnd: random.Random) -> tuple[str, str]:
    """``(digits, written)``: a number (maybe with a wrong check digit, maybe 15-digit) as a
    clerk may type it: full-width, any grouping, any separators, zero-width characters."""
    division = f"{rnd.choice(PROVINCES)}{rnd.randrange(10_000):04d}"
    legacy = rnd.randrange(4) == 0
    top = dt.date(1999, 12, 31) if legacy else dt.date(2099, 12, 31)
    born = _FIRST_DAY + dt.timedelta(days=rnd.randrange((top - _FIRST_DAY).days + 1))
    first17 = f"{division}{born:%Y%m%d}{rnd.randrange(1000):03d}"
    number = first17 + rnd.choice([rid_check(first17), *"0123456789X"])
    if legacy:
        number = number[:6] + number[8:17]  # the 15-digit form: YYMMDD, no check digit
    groups, at = [], 0
    for size in rnd.choice(GROUPINGS):
        groups.append(number[at : at + size])
        at += size
    if at < len(number):
        groups[-1] += number[at:]
    groups = [g for g in groups if g]
    written = groups[0] + "".join(rnd.choice(GAPS) + g for g in groups[1:])
    if rnd.randrange(2):
        written = written.translate(FULL_WIDTH)
    if rnd.randrange(2):
        written = written.lower()
    return number, written


def typed_resident_ids() -> st.SearchStrategy[tuple[str, str]]:
    """:func:`typed_resident_id` from a drawn seed (one cheap draw: thousands of payloads
    with dozens of numbers each stay fast; the seed reproduces a failure)."""
    return st.integers(0, 2**64 - 1).map(lambda seed: typed_resident_id(random.Random(seed)))


_NORMALISE = str.maketrans(
    {
        **dict(zip("０１２３４５６７８９Ｘｘx", "0123456789XXX", strict=True)),
        **dict.fromkeys(SEPARATORS),
    }
)


def normalised_digits(text: str) -> str:
    """``text`` with separators dropped and full-width characters made ASCII (the oracle)."""
    return text.translate(_NORMALISE)
