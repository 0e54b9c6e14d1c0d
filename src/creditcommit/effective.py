"""Dated values (effective dating): rules that change over time, each citing the law.

A :class:`Timeline` holds the values of one rule (a time limit, a material list, an item
definition, ...) keyed by the day they take effect. Intervals are half-open ``[start, end)``:
an entry holds from its start until the next entry's start, or until its own explicit
``end`` if that comes first, which leaves a gap in which no value is in force.

Two different failures are kept apart, as in Catala: a day that no entry covers raises
:class:`~creditcommit.errors.NoValueInForce` ("no rule applies"); two entries claiming the same
day raise :class:`~creditcommit.errors.ConflictingValues` ("rules conflict"), when the timeline
is built rather than when it is asked.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs

from creditcommit.errors import ConflictingValues, NoValueInForce

__all__ = [
    "Dated",
    "Instrument",
    "InstrumentRegistry",
    "LegalReference",
    "RuleVersion",
    "Timeline",
]

T = TypeVar("T")


# A title and what follows it in full-width brackets: "title（国办发〔2020〕42号）",
# "title（示例）"; （试行） and （暂行） are part of the title.
_TITLE_PART = re.compile(r"((?:.+?)(?:（(?:试行|暂行)）)?)((?:（[^（）]*）)*)")
_NUMBER_ONLY = re.compile(r"[^（）《》]*(?:〔\d{4}〕\d+号|令第\d+号)")


def _not_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name} must not be empty")


@attrs.frozen
class LegalReference:
    """Where a rule comes from (法律依据): the instrument, the article and, if known, a URL.

    ``article`` is free text (``"第四十二条"``, ``"Art 42"``, ``"第十三条第一款"``).
    """

    instrument: str = attrs.field(validator=_not_blank)
    article: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        text = self.instrument if self.article is None else f"{self.instrument} {self.article}"
        return text if self.url is None else f"{text} <{self.url}>"

    @property
    def zh(self) -> str:
        """The citation as Chinese text writes it: the title in 《》, then number and article.

        >>> LegalReference("信用修复管理办法（国家发展改革委令第36号）").zh
        '《信用修复管理办法》（国家发展改革委令第36号）'
        >>> LegalReference("中华人民共和国行政许可法", "第七十九条").zh
        '《中华人民共和国行政许可法》第七十九条'
        >>> LegalReference("发改办财金〔2018〕424号").zh
        '发改办财金〔2018〕424号'
        """
        name = self.instrument
        if not (name.startswith("《") or _NUMBER_ONLY.fullmatch(name)):
            # A trailing note in full-width brackets (an order number, 示例) stands after the
            # marks; （试行） and （暂行） belong to the title.
            found = _TITLE_PART.fullmatch(name)
            name = f"《{name}》" if found is None else f"《{found[1]}》{found[2]}"
        return name if self.article is None else f"{name}{self.article}"


def _optional_day(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
        raise TypeError(f"{attribute.name} must be a datetime.date, got {value!r}")


@attrs.frozen
class Instrument:
    """A legal instrument (法律文件) with the days it is in force: ``[start, end)``.

    ``title`` is the name references use (``LegalReference.instrument``), ``number`` the
    document number (文号) if it has one, ``end`` the day it was repealed or replaced
    (``None``: still in force). ``note`` says where the dates come from and marks dates
    that could not be checked against an official text ([UNVERIFIED]).
    """

    title: str = attrs.field(validator=_not_blank)
    start: dt.date = attrs.field(validator=_optional_day)
    end: dt.date | None = attrs.field(default=None, kw_only=True, validator=_optional_day)
    number: str | None = attrs.field(default=None, kw_only=True)
    note: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError(
                f"{self.title}: end {self.end.isoformat()} must be after start "
                f"{self.start.isoformat()}"
            )

    def names(self) -> tuple[str, ...]:
        """The spellings a reference may use: the title, with or without its number."""
        if self.number is None:
            return (self.title,)
        return (self.title, f"{self.title}（{self.number}）", self.number)

    def in_force(self, day: dt.date) -> bool:
        """True if the instrument is in force on ``day``."""
        return self.start <= day and (self.end is None or day < self.end)

    def span_text(self) -> str:
        """``"2023-05-01 to 2026-03-31"`` or ``"from 2004-07-01"`` (the last day in force)."""
        if self.end is None:
            return f"from {self.start.isoformat()}"
        last = self.end - dt.timedelta(days=1)
        return f"{self.start.isoformat()} to {last.isoformat()}"


def _frozen_index(value: Mapping[str, Instrument]) -> Mapping[str, Instrument]:
    return MappingProxyType(dict(value))


@attrs.frozen
class InstrumentRegistry:
    """The instruments references may cite, by every name they go by (法律文件登记表).

    Build it with :meth:`of`; the bundled registry is
    :func:`creditcommit.policy.bundled_instruments`. Two instruments claiming the same name
    raise :class:`ValueError`.
    """

    instruments: tuple[Instrument, ...]
    _index: Mapping[str, Instrument] = attrs.field(
        converter=_frozen_index, eq=False, hash=False, repr=False
    )

    @classmethod
    def of(cls, instruments: Iterable[Instrument]) -> InstrumentRegistry:
        """A registry of ``instruments``."""
        found = tuple(instruments)
        index: dict[str, Instrument] = {}
        for instrument in found:
            for name in instrument.names():
                if name in index and index[name] != instrument:
                    raise ValueError(f"two instruments are both called {name!r}")
                index[name] = instrument
        return cls(found, index)

    def find(self, reference: LegalReference | str) -> Instrument | None:
        """The instrument a reference names, or ``None`` if the registry does not know it."""
        name = reference if isinstance(reference, str) else reference.instrument
        return self._index.get(name)

    def merged(self, others: Iterable[Instrument]) -> InstrumentRegistry:
        """This registry with ``others`` added (a city's own instruments)."""
        return InstrumentRegistry.of((*self.instruments, *others))

    def problem(self, reference: LegalReference, start: dt.date, end: dt.date | None) -> str | None:
        """Why a rule in force on ``[start, end)`` may not cite ``reference``, or ``None``.

        A rule may cite only an instrument in force on every day it applies: not before
        the instrument takes effect, and not after it is repealed. An instrument the
        registry does not know gives ``None`` (nothing to check against).
        """
        instrument = self.find(reference)
        if instrument is None:
            return None
        if start < instrument.start:
            return (
                f"cites 《{instrument.title}》, in force only from "
                f"{instrument.start.isoformat()}, but applies from {start.isoformat()}"
            )
        if instrument.end is not None and (end is None or end > instrument.end):
            runs = "without an end" if end is None else f"until {end.isoformat()}"
            return (
                f"cites 《{instrument.title}》, repealed on {instrument.end.isoformat()}, but "
                f"applies {runs}; end the entry by {instrument.end.isoformat()}"
            )
        return None


@attrs.frozen
class RuleVersion:
    """Which rule set (catalogue, policy) a decision used: name, declared version, digest."""

    name: str
    version: str
    digest: str

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.digest[:12]})"


def _is_day(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # A datetime is a date subclass but cannot be compared with dates: reject it here, not
    # at the first lookup.
    if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
        raise TypeError(f"{attribute.name} must be a datetime.date, got {value!r}")


def _end_after_start(instance: Dated[object], attribute: object, end: dt.date | None) -> None:
    if end is not None and end <= instance.start:
        raise ValueError(
            f"end {end.isoformat()} must be after start {instance.start.isoformat()} "
            "(the end day is the first day the value no longer holds)"
        )


@attrs.frozen
class Dated(Generic[T]):
    """One value of a rule, in force from ``start`` (inclusive).

    ``end`` (exclusive) is optional: without it the value holds until the next entry of its
    timeline starts. With it, the value stops on ``end`` even if nothing follows.
    """

    start: dt.date = attrs.field(validator=_is_day)
    value: T
    end: dt.date | None = attrs.field(
        default=None, kw_only=True, validator=[_is_day, _end_after_start]
    )
    reference: LegalReference | None = attrs.field(default=None, kw_only=True)


def _start(entry: Dated[T]) -> dt.date:
    return entry.start


def _by_start(entries: Iterable[Dated[T]]) -> tuple[Dated[T], ...]:
    return tuple(sorted(entries, key=_start))


def _check_entries(
    instance: Timeline[object], attribute: object, entries: tuple[Dated[object], ...]
) -> None:
    for before, after in itertools.pairwise(entries):
        if before.start == after.start:
            raise ConflictingValues(
                instance.name,
                after.start,
                f"two entries start on {after.start.isoformat()}",
            )
        if before.end is not None and before.end > after.start:
            raise ConflictingValues(
                instance.name,
                after.start,
                f"the entry starting {before.start.isoformat()} runs until "
                f"{before.end.isoformat()}, past the entry starting {after.start.isoformat()}",
            )


@attrs.frozen
class Timeline(Generic[T]):
    """The dated values of one rule (时间轴), sorted by start; see the module docstring.

    Entries may be given in any order. Two entries starting on the same day, or an entry
    whose explicit ``end`` runs past the next entry's start, raise
    :class:`~creditcommit.errors.ConflictingValues`.
    """

    name: str = attrs.field(validator=_not_blank)
    entries: tuple[Dated[T], ...] = attrs.field(
        default=(), converter=_by_start, validator=_check_entries
    )

    def __iter__(self) -> Iterator[Dated[T]]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def _end_of(self, index: int) -> dt.date | None:
        """The first day entry ``index`` no longer holds (``None``: holds for ever)."""
        entry = self.entries[index]
        if index + 1 == len(self.entries):
            return entry.end
        following = self.entries[index + 1].start
        return following if entry.end is None else min(entry.end, following)

    def _index_at(self, day: dt.date) -> int | None:
        index = bisect.bisect_right(self.entries, day, key=_start) - 1
        if index < 0:
            return None
        end = self._end_of(index)
        return index if end is None or day < end else None

    def entry_at(self, day: dt.date) -> Dated[T]:
        """The entry in force on ``day``; :class:`NoValueInForce` if there is none."""
        index = self._index_at(day)
        if index is None:
            raise NoValueInForce(self.name, day)
        return self.entries[index]

    def at(self, day: dt.date) -> T:
        """The value in force on ``day``; :class:`NoValueInForce` if there is none."""
        return self.entry_at(day).value

    def get(self, day: dt.date, default: T | None = None) -> T | None:
        """The value in force on ``day``, or ``default`` if there is none."""
        index = self._index_at(day)
        return default if index is None else self.entries[index].value

    def changes(self) -> tuple[dt.date, ...]:
        """The days on which a value takes effect (the entries' starts)."""
        return tuple(entry.start for entry in self.entries)

    def spans(self) -> tuple[tuple[dt.date, dt.date | None], ...]:
        """Per entry, the half-open interval it is actually in force (``None``: open end)."""
        return tuple((entry.start, self._end_of(i)) for i, entry in enumerate(self.entries))

    def gaps(self, start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
        """The sub-intervals ``[a, b)`` of ``[start, end)`` on which no value is in force.

        Use it for temporal-coverage checks: ``timeline.gaps(first, last) == ()`` means
        every day of the range has an answer.
        """
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        found: list[tuple[dt.date, dt.date]] = []
        cursor = start
        for span_start, span_end in self.spans():
            if span_start >= end:
                break
            if span_end is not None and span_end <= cursor:
                continue
            if span_start > cursor:
                found.append((cursor, span_start))
            if span_end is None:
                return tuple(found)
            cursor = max(cursor, span_end)
        if cursor < end:
            found.append((cursor, end))
        return tuple(found)

    def until(self, day: dt.date) -> Timeline[T]:
        """This timeline with nothing in force from ``day`` on.

        Entries starting on or after ``day`` are dropped and the last one kept ends on
        ``day`` at the latest. This is how a value is *ended* at a date, and how a default is closed
        before an overlay replaces it (see :meth:`overlay`).
        """
        kept = [entry for entry in self.entries if entry.start < day]
        # Only the last kept entry can run past ``day``: openly, or to a dropped entry's start.
        if kept and (kept[-1].end is None or kept[-1].end > day):
            kept[-1] = attrs.evolve(kept[-1], end=day)
        return Timeline(self.name, kept)

    def overlay(self, other: Timeline[T], *, name: str | None = None) -> Timeline[T]:
        """Combine two timelines, e.g. national defaults with a city's own values.

        The result holds the entries of both. Where both set a value on the same day (each
        judged on its own timeline, so an open-ended default claims every later day) the
        result is :class:`ConflictingValues`, never "last wins". To let ``other`` replace
        this timeline from a day on, close it first: ``self.until(day).overlay(other)``.
        The operation is commutative; the name defaults to the shared name, or to both
        names joined with ``" + "`` in sorted order.
        """
        if name is None:
            name = (
                self.name
                if self.name == other.name
                else " + ".join(sorted((self.name, other.name)))
            )
        clash: tuple[dt.date, dt.date, dt.date] | None = None
        for mine_start, mine_end in self.spans():
            for theirs_start, theirs_end in other.spans():
                first = max(mine_start, theirs_start)
                ends = [e for e in (mine_end, theirs_end) if e is not None]
                if (not ends or first < min(ends)) and (clash is None or first < clash[0]):
                    clash = (first, mine_start, theirs_start)
        if clash is not None:
            day, mine_start, theirs_start = clash
            raise ConflictingValues(
                name,
                day,
                f"{self.name!r} (entry starting {mine_start.isoformat()}) and "
                f"{other.name!r} (entry starting {theirs_start.isoformat()}) both set it",
            )
        return Timeline(name, self.entries + other.entries)
