"""The working-day calendar (工作日) used for every statutory time limit.

Administrative-licensing time limits are counted in working days, statutory holidays
excluded (行政许可法 Art 82). A day is a working day when it is Monday to Friday and not a
statutory holiday (法定节假日), or when it is a Saturday or Sunday that a State Council notice
makes a make-up working day (调休上班). Counting follows the Civil Code by analogy: the start
day is not counted (Art 201), and a deadline that falls on a holiday moves to the next working
day (Art 203).

The calendar fails closed: a day in a year without an official notice raises
:class:`~creditcommit.errors.CalendarCoverageError` instead of guessing, also when arithmetic
would only pass through such a year.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import operator
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from creditcommit import _holiday_data
from creditcommit._converter import read_toml, structure
from creditcommit.errors import CalendarCoverageError, DataFileError, Problem

__all__ = ["COVERAGE_WARNING_DAYS", "CalendarCoverage", "WorkingCalendar"]

_SATURDAY = 5
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

COVERAGE_WARNING_DAYS = 60
"""How many days before the last covered day :meth:`WorkingCalendar.coverage` warns."""


@attrs.frozen
class CalendarCoverage:
    """How far the working-day calendar reaches, seen from ``today``.

    ``last_day`` is the last covered day (None for a calendar without years);
    ``days_left`` the days from ``today`` to it (negative once it has passed). ``warning``
    is a sentence for the operator from ``warn_days`` days before the last day on, else
    None. ``provenance`` is the calendar's.
    """

    today: dt.date
    last_day: dt.date | None
    warn_days: int = COVERAGE_WARNING_DAYS
    provenance: tuple[str, ...] = ()

    @property
    def days_left(self) -> int | None:
        """Days from ``today`` to the last covered day; negative after it."""
        return None if self.last_day is None else (self.last_day - self.today).days

    @property
    def expired(self) -> bool:
        """True once ``today`` is after the last covered day (or nothing is covered)."""
        return self.last_day is None or self.today > self.last_day

    @property
    def warning(self) -> str | None:
        """What to tell the operator, from ``warn_days`` before the last day on; else None."""
        left = self.days_left
        if self.last_day is None or left is None:
            return (
                "the working-day calendar covers no year: no deadline can be computed; load "
                "the State Council notices as calendar overrides (docs/calendar.md)"
            )
        if left > self.warn_days:
            return None
        day = self.last_day.isoformat()
        if left > 1:
            when = f"ends on {day}, in {left} days"
        elif left == 1:
            when = f"ends on {day}, tomorrow"
        elif left == 0:
            when = f"ends on {day}, today"
        else:
            when = f"ended on {day}, {-left} day{'s' if left < -1 else ''} ago"
        return (
            f"the working-day calendar {when}: deadlines after that day cannot be computed "
            "and commands that need one fail; load the State Council notice for "
            f"{self.last_day.year + 1} as a calendar override (docs/calendar.md) or upgrade "
            "the holiday data"
        )

    @property
    def warning_zh(self) -> str | None:
        """:attr:`warning` in Chinese (what the command line prints by default)."""
        left = self.days_left
        if self.last_day is None or left is None:
            return (
                "工作日历未覆盖任何年份，无法计算期限；"
                "请按国务院办公厅通知加载日历覆盖文件（docs/calendar.md）"
            )
        if left > self.warn_days:
            return None
        day = self.last_day.isoformat()
        if left > 1:
            when = f"将于 {day} 截止（还有 {left} 天）"
        elif left == 1:
            when = f"将于明天（{day}）截止"
        elif left == 0:
            when = f"于今天（{day}）截止"
        else:
            when = f"已于 {day} 截止（{-left} 天前）"
        return (
            f"工作日历{when}：此后的期限无法计算，需要计算期限的操作将失败；"
            f"请将国务院办公厅关于 {self.last_day.year + 1} 年部分节假日安排的通知"
            "作为日历覆盖文件加载（docs/calendar.md），或升级节假日数据"
        )


# --- override file schema (types only; checks in _check_override) ---------------------------


@attrs.frozen
class _HolidaySpan:
    name: str
    start: dt.date
    end: dt.date | None = None


@attrs.frozen
class _YearNotice:
    year: int
    notice: str
    holidays: tuple[_HolidaySpan, ...]
    workdays: tuple[dt.date, ...] = ()
    url: str | None = None


@attrs.frozen
class _OverrideFile:
    years: tuple[_YearNotice, ...]


# --- the calendar ----------------------------------------------------------------------------


@attrs.frozen
class _Origin:
    """Where one year's data came from: the package or an override with its notice."""

    source: str
    notice: str | None = None

    def describe(self, first: int, last: int) -> str:
        cited = f": {self.notice}" if self.notice else ""
        return f"{self.source} ({_span(first, last)}){cited}"


def _is_working(day: dt.date, days_off: frozenset[dt.date], make_up: frozenset[dt.date]) -> bool:
    if day.weekday() >= _SATURDAY:
        return day in make_up
    return day not in days_off


def _check_years(
    instance: WorkingCalendar, _: attrs.Attribute[Any], value: tuple[int, ...]
) -> None:
    # Consecutive years keep the index a single run of days and make `covered` truthful.
    if value and value != tuple(range(value[0], value[0] + len(value))):
        raise ValueError(f"calendar years must be consecutive and sorted, got {value}")


@attrs.frozen(repr=False)
class WorkingCalendar:
    """Working days (工作日) of mainland China, year by year, from official notices.

    Build one with :meth:`china` (the ``chinesecalendar`` package data),
    :meth:`with_override` (add or replace years from a State Council notice you load) or
    :meth:`from_overrides`; the initializer is not part of the public API. Instances are
    immutable and pure: every answer depends only on the data and the dates passed in.
    """

    _years: tuple[int, ...] = attrs.field(validator=_check_years)
    _origins: tuple[_Origin, ...]
    _days_off: frozenset[dt.date]
    _make_up: frozenset[dt.date]
    # _cum[i] = number of working days from 1 January of the first year up to and including
    # the i-th day; it turns counting and adding into subtraction and bisection.
    _cum: tuple[int, ...] = attrs.field(init=False, eq=False)

    @_cum.default
    def _build_index(self) -> tuple[int, ...]:
        if not self._years:
            return ()
        first = dt.date(self._years[0], 1, 1).toordinal()
        last = dt.date(self._years[-1], 12, 31).toordinal()
        total = 0
        cum = []
        for ordinal in range(first, last + 1):
            total += _is_working(dt.date.fromordinal(ordinal), self._days_off, self._make_up)
            cum.append(total)
        return tuple(cum)

    def __attrs_post_init__(self) -> None:
        if len(self._origins) != len(self._years):
            raise ValueError("one origin per calendar year is needed")
        if clash := self._days_off & self._make_up:
            raise ValueError(f"days both off and make-up working days: {sorted(clash)}")
        if weekdays := [d for d in self._make_up if d.weekday() < _SATURDAY]:
            raise ValueError(f"make-up working days must be weekend days: {sorted(weekdays)}")

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def china(cls) -> WorkingCalendar:
        """The calendar from the installed ``chinesecalendar`` package (built once, cached).

        Covers the years the package has notices for (2004-2026 in version 1.11.0).
        """
        return _china()

    @classmethod
    def from_overrides(
        cls, *sources: str | os.PathLike[str] | Mapping[str, Any]
    ) -> WorkingCalendar:
        """A calendar made only from override files or mappings (no package data).

        :raises DataFileError: a source is malformed; every problem is listed.
        """
        if not sources:
            raise ValueError("from_overrides needs at least one override file or mapping")
        calendar = cls(years=(), origins=(), days_off=frozenset(), make_up=frozenset())
        for source in sources:
            calendar = calendar.with_override(source)
        return calendar

    def with_override(
        self, source: str | os.PathLike[str] | Mapping[str, Any], *, name: str | None = None
    ) -> WorkingCalendar:
        """A new calendar with the years of a State Council notice override added.

        ``source`` is a path to a TOML file or the same data as a mapping; ``name`` says
        what to call a mapping in errors and provenance (default ``"<dict>"``). A year the
        override names **replaces** this calendar's data for that year; days of the
        previous December that the notice names (a New Year break starting on 31 December)
        are set as given. The resulting years must be consecutive.

        :raises DataFileError: the override is malformed; every problem is listed with its
            path (``years[0].workdays[2]``).
        """
        if isinstance(source, Mapping):
            label = name or "<dict>"
            data: object = source
            origin = f"override {label}"
        else:
            label = name or os.fspath(source)
            data = read_toml(source)
            origin = f"override {os.path.basename(os.fspath(source))}"
        parsed = structure(data, _OverrideFile, source=label)
        problems = _check_override(parsed) + self._check_gaps(parsed)
        if problems:
            raise DataFileError(label, problems)
        return self._apply(parsed.years, origin)

    # -- coverage ------------------------------------------------------------------------------

    @property
    def years(self) -> tuple[int, ...]:
        """The covered years, sorted (consecutive)."""
        return self._years

    @property
    def provenance(self) -> tuple[str, ...]:
        """Where the data came from, one short line per source and run of years.

        For example ``("chinesecalendar 1.11.0 (2004-2026)",
        "override calendar-2027.toml (2027): 国务院办公厅关于2027年部分节假日安排的通知")``.
        Record it with every decision that used a deadline.
        """
        lines = []
        start = 0
        for i in range(1, len(self._years) + 1):
            if i == len(self._years) or self._origins[i] != self._origins[start]:
                origin = self._origins[start]
                lines.append(origin.describe(self._years[start], self._years[i - 1]))
                start = i
        return tuple(lines)

    @property
    def last_day(self) -> dt.date | None:
        """The last covered day (31 December of the last year), None without years."""
        return dt.date(self._years[-1], 12, 31) if self._years else None

    def coverage(
        self, today: dt.date, *, warn_days: int = COVERAGE_WARNING_DAYS
    ) -> CalendarCoverage:
        """How far the calendar reaches from ``today``: the last covered day and, from
        ``warn_days`` days before it on, a warning to load next year's notice."""
        if warn_days < 0:
            raise ValueError(f"warn_days must not be negative, got {warn_days}")
        return CalendarCoverage(today, self.last_day, warn_days, self.provenance)

    def covers(self, year: int) -> bool:
        """Whether the calendar has official data for ``year``."""
        return bool(self._years) and self._years[0] <= year <= self._years[-1]

    # -- questions -----------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day (工作日).

        Monday to Friday unless a statutory holiday; Saturday and Sunday only when a
        notice makes them a make-up working day (调休上班).

        :raises CalendarCoverageError: no data for ``day.year``.
        """
        self._index(day)
        return _is_working(day, self._days_off, self._make_up)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start``; ``start`` itself is not counted.

        This is the last day of a time limit of ``n`` working days that begins on ``start``
        (Civil Code Art 201 by analogy). ``n = 0`` returns ``start`` unchanged: zero working
        days is the same day, as for an immediate decision (即审即办).

        :raises ValueError: ``n`` is negative.
        :raises CalendarCoverageError: ``start``, or a day the count passes, is in a year
            without data.
        """
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"cannot add a negative number of working days ({n})")
        i = self._index(start)
        if n == 0:
            return start
        target = self._cum[i] + n
        if target > self._cum[-1]:
            raise self._coverage_error(self._years[-1] + 1)
        j = bisect.bisect_left(self._cum, target, lo=i + 1)
        return dt.date.fromordinal(self._first_ordinal + j)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days in ``(start, end]``: after ``start``, up to ``end``.

        The inverse of :meth:`add_working_days`:
        ``working_days_between(s, add_working_days(s, n)) == n``.

        :raises ValueError: ``end`` is before ``start``.
        :raises CalendarCoverageError: a day from ``start`` to ``end`` is in a year without
            data.
        """
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        return self._cum[self._index(end)] - self._cum[self._index(start)]

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``.

        :raises CalendarCoverageError: ``day`` or the days after it are not covered.
        """
        return self.add_working_days(day, 1)

    def on_or_after(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next working day.

        A deadline that falls on a holiday ends on the next working day (Civil Code Art 203).

        :raises CalendarCoverageError: ``day`` or the days after it are not covered.
        """
        return day if self.is_working_day(day) else self.next_working_day(day)

    # -- internals -----------------------------------------------------------------------------

    def __repr__(self) -> str:
        if not self._years:
            return "WorkingCalendar(<no years>)"
        return (
            f"WorkingCalendar({self._years[0]}-{self._years[-1]}, provenance={self.provenance!r})"
        )

    @property
    def _first_ordinal(self) -> int:
        return dt.date(self._years[0], 1, 1).toordinal()

    def _coverage_error(self, year: int) -> CalendarCoverageError:
        covered = (self._years[0], self._years[-1]) if self._years else None
        return CalendarCoverageError(year, covered=covered)

    def _index(self, day: dt.date) -> int:
        if not self.covers(day.year):
            raise self._coverage_error(day.year)
        return day.toordinal() - self._first_ordinal

    def _check_gaps(self, parsed: _OverrideFile) -> list[Problem]:
        index: dict[int, int] = {}
        for i, entry in enumerate(parsed.years):
            if _valid_year(entry.year):
                index.setdefault(entry.year, i)
        years = sorted(set(self._years) | set(index))
        have = ""
        if self._years:
            have = f" (the calendar covers {_span(self._years[0], self._years[-1])})"
        problems = []
        for before, after in itertools.pairwise(years):
            if after - before == 1:
                continue
            # Existing years are consecutive, so one side of a gap is a year of this file.
            year = after if after in index else before
            problems.append(
                Problem(
                    f"years[{index[year]}].year",
                    f"{year} would leave {_span(before + 1, after - 1)} without data"
                    f"{have}; a calendar must cover consecutive years",
                )
            )
        return problems

    def _apply(self, entries: Iterable[_YearNotice], origin: str) -> WorkingCalendar:
        days_off = set(self._days_off)
        make_up = set(self._make_up)
        origins = dict(zip(self._years, self._origins, strict=True))
        # Earlier years first, so that a notice's days in the previous December win over
        # that year's own data (the later notice sets them).
        for entry in sorted(entries, key=lambda e: e.year):
            days_off = {d for d in days_off if d.year != entry.year}
            make_up = {d for d in make_up if d.year != entry.year}
            for span in entry.holidays:
                for day in _days(span.start, span.end or span.start):
                    days_off.add(day)
                    make_up.discard(day)
            for day in entry.workdays:
                make_up.add(day)
                days_off.discard(day)
            origins[entry.year] = _Origin(origin, entry.notice)
        years = tuple(sorted(origins))
        return WorkingCalendar(
            years=years,
            origins=tuple(origins[y] for y in years),
            days_off=frozenset(days_off),
            make_up=frozenset(make_up),
        )


@functools.cache
def _china() -> WorkingCalendar:
    data = _holiday_data.load()
    years = tuple(range(data.first_year, data.last_year + 1))
    origin = _Origin(f"{_holiday_data.DISTRIBUTION} {data.version}")
    return WorkingCalendar(
        years=years,
        origins=(origin,) * len(years),
        days_off=data.days_off,
        make_up=data.make_up_days,
    )


# --- override validation ---------------------------------------------------------------------


def _valid_year(year: int) -> bool:
    return dt.MINYEAR < year < dt.MAXYEAR


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        yield dt.date.fromordinal(ordinal)


def _outside(day: dt.date, year: int) -> str | None:
    """Why ``day`` cannot appear in the notice for ``year``, or None if it can."""
    if day.year == year or (day.year == year - 1 and day.month == 12):
        return None
    return (
        f"{day.isoformat()} is outside {year}; the notice for {year} may only name days of "
        f"{year} and of December {year - 1}"
    )


def _check_override(parsed: _OverrideFile) -> list[Problem]:
    problems: list[Problem] = []
    if not parsed.years:
        problems.append(Problem("years", "expected at least one [[years]] entry"))
    first_index: dict[int, int] = {}
    for i, entry in enumerate(parsed.years):
        problems.extend(_check_year(f"years[{i}]", entry, first_index.get(entry.year)))
        first_index.setdefault(entry.year, i)
    return problems


def _check_year(path: str, entry: _YearNotice, duplicate_of: int | None) -> list[Problem]:
    problems: list[Problem] = []
    year = entry.year
    if not _valid_year(year):
        # Dates cannot even be compared with such a year; nothing else is worth checking.
        return [Problem(f"{path}.year", f"expected a year from 2 to 9998, got {year}")]
    if duplicate_of is not None:
        problems.append(
            Problem(f"{path}.year", f"year {year} is already given in years[{duplicate_of}]")
        )
    if not entry.notice.strip():
        problems.append(
            Problem(
                f"{path}.notice",
                "expected the title of the State Council notice (通知), got an empty string",
            )
        )
    holiday_of: dict[dt.date, int] = {}
    for j, span in enumerate(entry.holidays):
        here = f"{path}.holidays[{j}]"
        if not span.name.strip():
            problems.append(Problem(f"{here}.name", "expected a holiday name, got an empty string"))
        end = span.end or span.start
        bad = False
        for key, day in (("start", span.start), ("end", span.end)):
            if day is not None and (why := _outside(day, year)):
                problems.append(Problem(f"{here}.{key}", why))
                bad = True
        if end < span.start:
            problems.append(
                Problem(
                    f"{here}.end",
                    f"end {end.isoformat()} is before start {span.start.isoformat()}",
                )
            )
            bad = True
        if bad:
            continue
        for day in _days(span.start, end):
            if day in holiday_of:
                other = holiday_of[day]
                problems.append(
                    Problem(
                        here,
                        f"overlaps holidays[{other}] ({entry.holidays[other].name}) "
                        f"on {day.isoformat()}",
                    )
                )
                break
            holiday_of[day] = j
    seen: dict[dt.date, int] = {}
    for k, day in enumerate(entry.workdays):
        here = f"{path}.workdays[{k}]"
        if why := _outside(day, year):
            problems.append(Problem(here, why))
        if day.weekday() < _SATURDAY:
            problems.append(
                Problem(
                    here,
                    f"{day.isoformat()} is a {_WEEKDAY_NAMES[day.weekday()]}; a make-up working "
                    "day (调休上班) must be a Saturday or Sunday",
                )
            )
        if day in seen:
            problems.append(
                Problem(here, f"{day.isoformat()} is listed twice (workdays[{seen[day]}])")
            )
        seen.setdefault(day, k)
        if day in holiday_of:
            j = holiday_of[day]
            problems.append(
                Problem(
                    here,
                    f"{day.isoformat()} is also a holiday in holidays[{j}] "
                    f"({entry.holidays[j].name})",
                )
            )
    return problems
