"""Constants and helpers shared by the HTTP adapter's tests."""

from __future__ import annotations

import datetime as dt

from creditcommit.identifiers import uscc_check_char

CITY = "321000"
CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 5, 6, 9, 30, tzinfo=CST)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


KNOWN = uscc("91321000MA1AAAAAA")
