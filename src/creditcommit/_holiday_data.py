"""Adapter around the ``chinesecalendar`` package (import name ``chinese_calendar``).

The package ships the State Council holiday notices as three dicts keyed by date:
``holidays`` (days off, weekend days included), ``workdays`` (make-up working days, 调休上班)
and ``in_lieu_days`` (weekdays off given in lieu; a subset of ``holidays``). Its coverage is
the span of years of the ``holidays`` keys: that is how the package itself decides whether it
has data for a year, so it is what we use too. The dicts are read once, here, and turned into
frozen sets; nothing else in creditcommit touches the package.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata

import attrs
import chinese_calendar

__all__ = ["PackageData", "load"]

DISTRIBUTION = "chinesecalendar"


@attrs.frozen
class PackageData:
    """What the installed package knows: version, covered years and the two day sets."""

    version: str
    first_year: int
    last_year: int
    days_off: frozenset[dt.date]
    make_up_days: frozenset[dt.date]


def load() -> PackageData:
    """Read the installed ``chinesecalendar`` data (no network, no clock)."""
    holidays: dict[dt.date, str] = chinese_calendar.holidays
    workdays: dict[dt.date, str] = chinese_calendar.workdays
    years = [day.year for day in holidays]
    return PackageData(
        version=importlib.metadata.version(DISTRIBUTION),
        first_year=min(years),
        last_year=max(years),
        days_off=frozenset(holidays),
        make_up_days=frozenset(workdays),
    )
