"""What an agency publishes (公示): licence decisions, revocations, dishonesty records, results.

- :class:`Publication`: one entry to publish, of a :class:`PublicationKind` — a licence
  decision (行政许可决定, 双公示), a revocation (撤销), a dishonesty record (失信信息) or the
  result of a random inspection (抽查检查结果, 双随机、一公开) — with the day it was decided,
  the day it must be published by and the day its publicity ends. Build one with
  :func:`licence_decision`, :func:`revocation`, :func:`dishonesty_record` or
  :func:`inspection_result`.
- :class:`Withdrawal`: the notice that takes an entry down (撤下公示), from :func:`withdrawal`:
  within 3 working days when the decision was changed, revoked or declared illegal or void,
  or when its publicity period ends.
- :class:`PublicationSchedule`: which entries are overdue and which must be withdrawn on a day.

Every text a publication holds has passed :func:`~creditcommit.identifiers.mask_resident_ids`
(keys too, recursively), so a resident identity number is never published in full (个人信息
应当依法处理, domain.md §7.1). Deadlines are counted on the working-day calendar from the
decision day; the numbers come from the policy (:class:`~creditcommit.policy.PublicationDeadlines`).
Nothing here reads the clock: days are passed in. The fields and their legal basis are
described in ``docs/publication.md``.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, ItemKind
from creditcommit.credit import (
    DEFAULT_PUBLICITY_MONTHS,
    CreditRecord,
    Severity,
    add_months,
    kind_code,
)
from creditcommit.decision import Applicant, ApplicantKind
from creditcommit.effective import LegalReference
from creditcommit.errors import InvalidIdentifier, InvalidValue, Problem
from creditcommit.identifiers import USCC, mask_resident_ids
from creditcommit.policy import PublicationDeadlines

__all__ = [
    "LONG_TERM",
    "PAYLOAD_SCHEMA",
    "Publication",
    "PublicationKind",
    "PublicationSchedule",
    "Withdrawal",
    "WithdrawalReason",
    "dishonesty_record",
    "inspection_result",
    "licence_decision",
    "revocation",
    "withdrawal",
]

LONG_TERM = dt.date(2099, 12, 31)
"""The expiry date that means "long-term" (长期) in the 双公示 data standards (domain.md §7.2)."""

PAYLOAD_SCHEMA = 1
"""The ``schema`` of every payload; a change of field names or their meaning increments it."""

_DIVISION = re.compile(r"[0-9]{6}")


class PublicationKind(enum.Enum):
    """What is published; the value is the outbox topic."""

    #: 行政许可决定: a licence decision (双公示).
    LICENCE_DECISION = "licence-decision"
    #: 撤销: the revocation of a licence (行政许可法 Art 69).
    REVOCATION = "revocation"
    #: 失信信息: a dishonesty record (信用记录) on the credit website.
    DISHONESTY_RECORD = "dishonesty-record"
    #: 抽查检查结果: the result of a random inspection (双随机、一公开).
    INSPECTION_RESULT = "inspection-result"

    @property
    def label_zh(self) -> str:
        """The Chinese name, e.g. ``"行政许可决定"``."""
        return _KIND_LABELS[self]

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the published fields, in order (stable: see :data:`PAYLOAD_SCHEMA`)."""
        return _FIELDS[self]

    @property
    def deadline_setting(self) -> str:
        """The :class:`~creditcommit.policy.PublicationDeadlines` attribute for its deadline."""
        return _DEADLINE_SETTING[self]


_KIND_LABELS = {
    PublicationKind.LICENCE_DECISION: "行政许可决定",
    PublicationKind.REVOCATION: "撤销行政许可决定",
    PublicationKind.DISHONESTY_RECORD: "失信信息",
    PublicationKind.INSPECTION_RESULT: "抽查检查结果",
}

# 7 working days for what goes on the credit websites (双公示), 20 for inspection results
# (企业信息公示暂行条例 Art 6 as the default; domain.md §6, §7.1).
_DEADLINE_SETTING = {
    PublicationKind.LICENCE_DECISION: "dual_publicity",
    PublicationKind.REVOCATION: "dual_publicity",
    PublicationKind.DISHONESTY_RECORD: "dual_publicity",
    PublicationKind.INSPECTION_RESULT: "enterprise_information",
}

_COUNTERPARTY = (
    "counterparty_name",
    "counterparty_kind",
    "counterparty_code",
    "legal_representative",
)
_FIELDS: Mapping[PublicationKind, tuple[str, ...]] = MappingProxyType(
    {
        # The 2015-era 双公示 licence layout (domain.md §7.2, v1); the update timestamp is
        # set by the channel when it publishes, which the pure core cannot know.
        PublicationKind.LICENCE_DECISION: (
            "decision_number",
            "project_name",
            "approval_category",
            "content",
            *_COUNTERPARTY,
            "decision_date",
            "valid_until",
            "authority",
            "status",
            "local_code",
            "remarks",
        ),
        PublicationKind.REVOCATION: (
            "decision_number",
            "licence_number",
            "project_name",
            *_COUNTERPARTY,
            "grounds",
            "legal_basis",
            "decision_date",
            "authority",
            "publicity_ends_on",
            "local_code",
            "remarks",
        ),
        PublicationKind.DISHONESTY_RECORD: (
            "record_id",
            "subject_name",
            "subject_code",
            "record_kind",
            "severity",
            "facts",
            "legal_basis",
            "decision_date",
            "authority",
            "repairable_from",
            "publicity_ends_on",
            "local_code",
            "remarks",
        ),
        PublicationKind.INSPECTION_RESULT: (
            "draw_id",
            "target_name",
            "target_code",
            "inspectors",
            "result",
            "inspection_date",
            "authority",
            "local_code",
            "remarks",
        ),
    }
)

# The fields a withdrawal notice repeats so that a site which does not keep our keys can find
# the entry to take down.
_IDENTIFYING: Mapping[PublicationKind, tuple[str, ...]] = MappingProxyType(
    {
        PublicationKind.LICENCE_DECISION: ("decision_number",),
        PublicationKind.REVOCATION: ("decision_number",),
        PublicationKind.DISHONESTY_RECORD: ("record_id",),
        PublicationKind.INSPECTION_RESULT: ("draw_id", "target_code"),
    }
)


# --------------------------------------------------------------------------- JSON values


#: The fewest characters a masked text has: a resident identity number is 15 or 18 of them.
_SHORTEST_MASKED = 15


@functools.lru_cache(maxsize=4096)
def _masked_long_text(value: str) -> str:
    # The same names, addresses and authorities recur in entry after entry: masked once.
    return mask_resident_ids(value)


def _masked(value: Any) -> Any:
    """``value`` with every text masked, dates as ISO text, lists as tuples, maps frozen."""
    if isinstance(value, str):
        # A text shorter than any identity number has nothing to mask.
        return value if len(value) < _SHORTEST_MASKED else _masked_long_text(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return MappingProxyType(
            {_masked(k) if isinstance(k, str) else k: _masked(v) for k, v in value.items()}
        )
    if isinstance(value, list | tuple):
        return tuple(_masked(v) for v in value)
    return value


def _masked_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    masked: Mapping[str, Any] = _masked(value)
    return masked


_ORGANISATIONS = frozenset(
    {ApplicantKind.LEGAL_PERSON.value, ApplicantKind.INDIVIDUAL_BUSINESS.value}
)


def _is_org_code(value: object) -> bool:
    """Whether ``value`` is a valid USCC written in its normalised form."""
    return isinstance(value, str) and _is_org_text(value)


@functools.lru_cache(maxsize=4096)
def _is_org_text(value: str) -> bool:
    # Built twice per entry (the entry, its payload); parsing a USCC is the costly part.
    try:
        return USCC.parse(value).value == value
    except InvalidIdentifier:
        return False


def _masked_fields(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """The published fields masked, except an organisation's USCC in ``counterparty_code``.

    That field is declared to hold the code of the counterparty of ``counterparty_kind``: for
    a legal person or an individual business it is validated as a USCC and published as it
    is, even in the rare case that an all-digit code also reads as a resident identity
    number. Every other text, and this field for a natural person, is masked.
    """
    masked: Mapping[str, Any] = _masked(value)
    code = value.get("counterparty_code")
    if value.get("counterparty_kind") in _ORGANISATIONS and _is_org_code(code):
        return MappingProxyType({**masked, "counterparty_code": code})
    return masked


def _masked_text(value: str) -> str:
    # Anything but text is left for the checks to report with its field name.
    masked: str = _masked(value)
    return masked


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


def _json_problems(path: str, value: Any) -> list[Problem]:
    """Why ``value`` is not JSON-ready data without blank texts (empty list if it is)."""
    if value is None or isinstance(value, bool | int):
        return []
    if isinstance(value, str):
        if not value.strip():
            return [Problem(path, f"expected a non-empty text or nothing (None), got {value!r}")]
        return []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [Problem(path, f"expected a number, got {value}")]
    if isinstance(value, Mapping):
        problems = []
        for key, item in value.items():
            if not isinstance(key, str) or not key.strip():
                problems.append(Problem(path, f"expected non-empty text keys, got {key!r}"))
                continue
            problems += _json_problems(f"{path}.{key}", item)
        return problems
    if isinstance(value, tuple):
        return [p for i, item in enumerate(value) for p in _json_problems(f"{path}[{i}]", item)]
    return [Problem(path, f"expected text, a number, a date, a list or a table, got {value!r}")]


def _is_day(value: object) -> bool:
    # A datetime is a date subclass but cannot be compared with dates.
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _day(path: str, value: object, *, optional: bool = False) -> list[Problem]:
    if (value is None and optional) or _is_day(value):
        return []
    return [Problem(path, f"expected a date, got {value!r}")]


def _text(path: str, value: object, what: str, *, optional: bool = False) -> list[Problem]:
    if value is None and optional:
        return []
    if not isinstance(value, str) or not value.strip():
        return [Problem(path, f"expected a non-empty {what}, got {value!r}")]
    return []


def _division(path: str, value: object) -> list[Problem]:
    if not isinstance(value, str) or not _DIVISION.fullmatch(value):
        return [
            Problem(
                path,
                f"expected a six-digit administrative division code (GB/T 2260), got {value!r}",
            )
        ]
    return []


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


# --------------------------------------------------------------------------- publication


def _publication_problems(p: Publication) -> list[Problem]:
    problems = _text("key", p.key, "key")
    bad_decided = _day("decided_on", p.decided_on)
    bad_publish = _day("publish_by", p.publish_by)
    bad_ends = _day("ends_on", p.ends_on, optional=True)
    problems += bad_decided + bad_publish + bad_ends
    if not bad_decided and not bad_publish and p.publish_by < p.decided_on:
        problems.append(
            Problem(
                "publish_by",
                f"{p.publish_by.isoformat()} is before the decision day {p.decided_on.isoformat()}",
            )
        )
    if not bad_decided and not bad_ends and p.ends_on is not None and p.ends_on <= p.decided_on:
        problems.append(
            Problem(
                "ends_on",
                f"expected after the decision day {p.decided_on.isoformat()} (the first day "
                f"the entry is no longer published), got {p.ends_on.isoformat()}",
            )
        )
    expected = p.kind.fields
    missing = [name for name in expected if name not in p.fields]
    unexpected = [str(name) for name in p.fields if name not in expected]
    if missing:
        problems.append(Problem("fields", f"missing {', '.join(missing)}"))
    if unexpected:
        problems.append(
            Problem(
                "fields",
                f"unexpected {', '.join(unexpected)} for a {p.kind.value} "
                "(put local fields in extra)",
            )
        )
    problems += _json_problems("fields", p.fields)
    problems += _json_problems("extra", p.extra)
    return problems


@attrs.frozen(kw_only=True)
class Publication:
    """One entry to publish (公示信息): what, when it was decided, by when, until when.

    ``fields`` are the published fields of the kind (:attr:`PublicationKind.fields`, in that
    order); ``extra`` holds a city's local fields. Every text in ``key``, ``fields`` and
    ``extra`` is masked with :func:`~creditcommit.identifiers.mask_resident_ids` when the
    publication is built, so the object itself never holds a full resident identity number.
    ``publish_by`` is never before ``decided_on``; ``ends_on`` is the first day the entry is no
    longer published (``None``: no end).

    ``key`` is the idempotency key of the outbox message (the same publication always gets
    the same key). Use the builders (:func:`licence_decision`, ...) rather than this
    initializer: they check the facts and compute the deadlines.
    """

    key: str = attrs.field(converter=_masked_text)
    kind: PublicationKind
    decided_on: dt.date
    publish_by: dt.date
    ends_on: dt.date | None
    fields: Mapping[str, Any] = attrs.field(converter=_masked_fields, hash=False)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_masked_map, hash=False)

    def __attrs_post_init__(self) -> None:
        _raise_if("Publication", _publication_problems(self))
        # Field order is part of the payload's stable layout.
        ordered = {name: self.fields[name] for name in self.kind.fields}
        object.__setattr__(self, "fields", MappingProxyType(ordered))

    @property
    def identifies(self) -> Mapping[str, Any]:
        """The fields that identify the entry on a site (e.g. the decision number)."""
        return MappingProxyType({name: self.fields[name] for name in _IDENTIFYING[self.kind]})

    def payload(self) -> dict[str, Any]:
        """The outbox payload: JSON-ready, masked, field names stable per kind.

        ``{"schema", "kind", "key", "decided_on", "publish_by", "ends_on", "fields",
        "extra"}`` with dates as ``YYYY-MM-DD``.
        """
        payload = {
            "schema": PAYLOAD_SCHEMA,
            "kind": self.kind.value,
            "key": self.key,
            "decided_on": self.decided_on.isoformat(),
            "publish_by": self.publish_by.isoformat(),
            "ends_on": None if self.ends_on is None else self.ends_on.isoformat(),
            "fields": _thawed(self.fields),
            "extra": _thawed(self.extra),
        }
        # Masked at construction already; masking again costs little and keeps the promise
        # even for a subclass or a future field.
        masked = dict(_masked(payload))
        masked["fields"] = _masked_fields(self.fields)
        result: dict[str, Any] = _thawed(masked)
        return result


# --------------------------------------------------------------------------- builders


def _working_days(value: object) -> list[Problem]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [Problem("working_days", f"expected 0 or more working days, got {value!r}")]
    return []


def _months(value: object, *, optional: bool = False) -> list[Problem]:
    if value is None and optional:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [Problem("publicity_months", f"expected a number of months, got {value!r}")]
    if value < 1:
        return [Problem("publicity_months", f"expected at least 1 month, got {value}")]
    return []


def _build(
    kind: PublicationKind,
    *,
    key: str,
    decided_on: dt.date,
    ends_on: dt.date | None,
    fields: Mapping[str, Any],
    extra: Mapping[str, Any] | None,
    calendar: WorkingCalendar,
    deadlines: PublicationDeadlines,
    working_days: int | None,
    problems: list[Problem],
) -> Publication:
    _raise_if("Publication", problems + _working_days(working_days))
    days = getattr(deadlines, kind.deadline_setting) if working_days is None else working_days
    # n = 0 gives the decision day itself, never an earlier day (WorkingCalendar contract).
    publish_by = calendar.add_working_days(decided_on, days)
    return Publication(
        key=key,
        kind=kind,
        decided_on=decided_on,
        publish_by=publish_by,
        ends_on=ends_on,
        fields=fields,
        extra={} if extra is None else extra,
    )


def _common_problems(
    decided_on: object, local_code: object, remarks: object, key: object
) -> list[Problem]:
    problems = _day("decided_on", decided_on)
    problems += _division("local_code", local_code)
    problems += _text("remarks", remarks, "remark (or None)", optional=True)
    problems += _text("key", key, "key (or None)", optional=True)
    return problems


def _counterparty(applicant: Applicant, legal_representative: str | None) -> dict[str, Any]:
    return {
        "counterparty_name": applicant.name,
        "counterparty_kind": applicant.kind.value,
        # An organisation's USCC is published as it is (see _masked_fields); a resident
        # identity number is masked with every other text when the publication is built.
        "counterparty_code": applicant.identifier,
        "legal_representative": legal_representative,
    }


def _applicant_problems(applicant: Applicant, legal_representative: object) -> list[Problem]:
    problems = _text("applicant.name", applicant.name, "name")
    problems += _text("applicant.identifier", applicant.identifier, "identifier")
    problems += _text("legal_representative", legal_representative, "name (or None)", optional=True)
    return problems


def licence_decision(
    *,
    decision_number: str,
    item: ApprovalItem,
    applicant: Applicant,
    decided_on: dt.date,
    local_code: str,
    calendar: WorkingCalendar,
    deadlines: PublicationDeadlines,
    valid_until: dt.date | None = None,
    legal_representative: str | None = None,
    project_name: str | None = None,
    content: str | None = None,
    approval_category: str = "普通",
    authority: str | None = None,
    status: str = "正常",
    remarks: str | None = None,
    extra: Mapping[str, Any] | None = None,
    key: str | None = None,
    working_days: int | None = None,
) -> Publication:
    """The publication of a licence decision (行政许可决定, 双公示), 2015 v1 field layout.

    ``project_name`` and ``content`` default to the item's name, ``authority`` to its
    department. ``valid_until`` is the last day of validity: ``None`` or ``2099-12-31``
    (:data:`LONG_TERM`) means long-term, published as ``"2099-12-31"``, with no end of
    publicity; otherwise the entry is withdrawn from the day after. ``publish_by`` is
    ``deadlines.dual_publicity`` working days after ``decided_on`` (``working_days``
    overrides it). ``key`` defaults to ``"{local_code}/licence-decision/{decision_number}"``.

    :raises InvalidValue: listing every problem (blank texts, a bad local code, an expiry
        before the decision day, a negative ``working_days``, an item that is not a licence:
        a filing, 备案, is not a 行政许可决定).
    :raises CalendarCoverageError: the calendar has no data for a day the deadline needs.
    """
    problems = _common_problems(decided_on, local_code, remarks, key)
    if item.kind is not ItemKind.LICENCE:
        problems.append(
            Problem(
                "item",
                f"{item.name} ({item.code}) is a {item.kind.value} ({item.kind.label_zh}), not a "
                "licence: it is not published as a 行政许可决定 in 双公示",
            )
        )
    problems += _text("decision_number", decision_number, "decision number")
    problems += _applicant_problems(applicant, legal_representative)
    for name, value in (
        ("project_name", project_name),
        ("content", content),
        ("authority", authority),
    ):
        problems += _text(name, value, "text (or None for the item's)", optional=True)
    problems += _text("approval_category", approval_category, "approval category")
    problems += _text("status", status, "status")
    bad_until = _day("valid_until", valid_until, optional=True)
    problems += bad_until
    long_term = valid_until is None or valid_until == LONG_TERM
    ends_on: dt.date | None = None
    if valid_until is not None and not long_term and not bad_until and _is_day(decided_on):
        if valid_until < decided_on:
            problems.append(
                Problem(
                    "valid_until",
                    f"{valid_until.isoformat()} is before the decision day "
                    f"{decided_on.isoformat()}",
                )
            )
        else:
            # Valid through its expiry date: withdrawn from the day after.
            ends_on = valid_until + dt.timedelta(days=1)
    fields = {
        "decision_number": decision_number,
        "project_name": item.name if project_name is None else project_name,
        "approval_category": approval_category,
        "content": item.name if content is None else content,
        **_counterparty(applicant, legal_representative),
        "decision_date": decided_on,
        "valid_until": LONG_TERM if long_term else valid_until,
        "authority": item.department if authority is None else authority,
        "status": status,
        "local_code": local_code,
        "remarks": remarks,
    }
    return _build(
        PublicationKind.LICENCE_DECISION,
        key=f"{local_code}/licence-decision/{decision_number}" if key is None else key,
        decided_on=decided_on,
        ends_on=ends_on,
        fields=fields,
        extra=extra,
        calendar=calendar,
        deadlines=deadlines,
        working_days=working_days,
        problems=problems,
    )


_SERIOUS_MONTHS = DEFAULT_PUBLICITY_MONTHS[Severity.SERIOUS].max_months


def _legal_basis(value: str | LegalReference) -> str:
    return str(value) if isinstance(value, LegalReference) else value


def revocation(
    *,
    decision_number: str,
    licence_number: str,
    item: ApprovalItem,
    applicant: Applicant,
    grounds: str,
    legal_basis: str | LegalReference,
    decided_on: dt.date,
    local_code: str,
    calendar: WorkingCalendar,
    deadlines: PublicationDeadlines,
    publicity_months: int = _SERIOUS_MONTHS,
    legal_representative: str | None = None,
    authority: str | None = None,
    remarks: str | None = None,
    extra: Mapping[str, Any] | None = None,
    key: str | None = None,
    working_days: int | None = None,
) -> Publication:
    """The publication of a revocation (撤销行政许可, 行政许可法 Art 69).

    ``licence_number`` is the decision number of the licence revoked; ``grounds`` the facts
    and ``legal_basis`` the article (e.g. 行政许可法 第六十九条第二款). The entry is
    published for ``publicity_months`` from the decision day: by default 36, the maximum for
    serious dishonesty under NDRC Order No. 36 (a revocation is serious, domain.md §8.1) and
    the three years of SAMR Order No. 45 Art 13; pass the period of the credit record the
    revocation created if the policy says otherwise. ``publish_by`` is
    ``deadlines.dual_publicity`` working days after ``decided_on``. ``key`` defaults to
    ``"{local_code}/revocation/{decision_number}"``.

    :raises InvalidValue: listing every problem.
    :raises CalendarCoverageError: the calendar has no data for a day the deadline needs.
    """
    problems = _common_problems(decided_on, local_code, remarks, key)
    problems += _text("decision_number", decision_number, "decision number")
    problems += _text("licence_number", licence_number, "licence decision number")
    problems += _applicant_problems(applicant, legal_representative)
    problems += _text("grounds", grounds, "statement of the grounds")
    basis = _legal_basis(legal_basis)
    problems += _text("legal_basis", basis, "legal basis")
    problems += _text("authority", authority, "authority (or None for the item's)", optional=True)
    bad_months = _months(publicity_months)
    problems += bad_months
    ends_on: dt.date | None = None
    if not bad_months and _is_day(decided_on):
        ends_on = add_months(decided_on, publicity_months)
    fields = {
        "decision_number": decision_number,
        "licence_number": licence_number,
        "project_name": item.name,
        **_counterparty(applicant, legal_representative),
        "grounds": grounds,
        "legal_basis": basis,
        "decision_date": decided_on,
        "authority": item.department if authority is None else authority,
        "publicity_ends_on": ends_on,
        "local_code": local_code,
        "remarks": remarks,
    }
    return _build(
        PublicationKind.REVOCATION,
        key=f"{local_code}/revocation/{decision_number}" if key is None else key,
        decided_on=decided_on,
        ends_on=ends_on,
        fields=fields,
        extra=extra,
        calendar=calendar,
        deadlines=deadlines,
        working_days=working_days,
        problems=problems,
    )


def dishonesty_record(
    record: CreditRecord,
    *,
    subject_name: str,
    local_code: str,
    calendar: WorkingCalendar,
    deadlines: PublicationDeadlines,
    legal_basis: str | LegalReference | None = None,
    authority: str | None = None,
    remarks: str | None = None,
    extra: Mapping[str, Any] | None = None,
    key: str | None = None,
    working_days: int | None = None,
) -> Publication:
    """The publication of a dishonesty record (失信信息) on the credit website.

    The facts come from the record: ``record.subject`` is the subject's code (masked if it is
    a resident identity number), ``description`` the facts, ``legal_basis`` and
    ``authority`` unless given here (one of the two is required). The entry is published
    from ``record.decided_on`` until ``record.publicity_ends_on`` (its maximum publicity
    period, domain.md §8); credit repair ends it earlier through a :func:`withdrawal`.
    ``publish_by`` is ``deadlines.dual_publicity`` working days after the decision.
    ``key`` defaults to ``"{local_code}/dishonesty-record/{record.record_id}"``.

    :raises InvalidValue: listing every problem, also when the record is not published at
        all (no publicity period, or repaired on its decision day).
    :raises CalendarCoverageError: the calendar has no data for a day the deadline needs.
    """
    decided_on = record.decided_on
    problems = _common_problems(decided_on, local_code, remarks, key)
    problems += _text("subject_name", subject_name, "name")
    problems += _text("record.description", record.description, "description", optional=True)
    basis = record.legal_basis if legal_basis is None else _legal_basis(legal_basis)
    problems += _text("legal_basis", basis, "legal basis (here or on the record)")
    agency = record.authority if authority is None else authority
    problems += _text("authority", agency, "authority (here or on the record)")
    if not record.is_active(decided_on):
        why = (
            "it has no publicity period (maximum 0 months)"
            if record.max_publicity_months == 0
            else "it was repaired on its decision day"
        )
        problems.append(Problem("record", f"record {record.record_id!r} is not published: {why}"))
    fields = {
        "record_id": record.record_id,
        "subject_name": subject_name,
        "subject_code": record.subject,
        "record_kind": kind_code(record.kind),
        "severity": record.severity.value,
        "facts": record.description,
        "legal_basis": basis,
        "decision_date": decided_on,
        "authority": agency,
        "repairable_from": record.repairable_from,
        "publicity_ends_on": record.publicity_ends_on,
        "local_code": local_code,
        "remarks": remarks,
    }
    return _build(
        PublicationKind.DISHONESTY_RECORD,
        key=f"{local_code}/dishonesty-record/{record.record_id}" if key is None else key,
        decided_on=decided_on,
        ends_on=record.publicity_ends_on,
        fields=fields,
        extra=extra,
        calendar=calendar,
        deadlines=deadlines,
        working_days=working_days,
        problems=problems,
    )


def inspection_result(
    *,
    draw_id: str,
    target_name: str,
    target_code: str,
    inspectors: Sequence[str],
    result: str,
    inspected_on: dt.date,
    authority: str,
    local_code: str,
    calendar: WorkingCalendar,
    deadlines: PublicationDeadlines,
    publicity_months: int | None = None,
    remarks: str | None = None,
    extra: Mapping[str, Any] | None = None,
    key: str | None = None,
    working_days: int | None = None,
) -> Publication:
    """The publication of a random-inspection result (抽查检查结果, 双随机、一公开).

    ``draw_id`` names the draw, ``target_code`` the target (a USCC or a licence number);
    ``inspectors`` are the names of at least two inspectors (行政处罚法 Art 42); ``result``
    is the finding as published (e.g. "未发现问题"). ``publish_by`` is
    ``deadlines.enterprise_information`` working days (20) after ``inspected_on`` (企业信息公示
    暂行条例 Art 6, domain.md §6). ``publicity_months`` ends the publicity (e.g. a negative
    result under SAMR Order No. 107); ``None`` means no end. ``key`` defaults to
    ``"{local_code}/inspection-result/{draw_id}/{target_code}"``, masked.

    :raises InvalidValue: listing every problem.
    :raises CalendarCoverageError: the calendar has no data for a day the deadline needs.
    """
    problems = _common_problems(inspected_on, local_code, remarks, key)
    problems = [
        Problem("inspected_on", p.message) if p.path == "decided_on" else p for p in problems
    ]
    problems += _text("draw_id", draw_id, "draw id")
    problems += _text("target_name", target_name, "name")
    problems += _text("target_code", target_code, "code")
    problems += _text("result", result, "result")
    problems += _text("authority", authority, "authority")
    names = tuple(inspectors) if not isinstance(inspectors, str) else (inspectors,)
    for i, name in enumerate(names):
        problems += _text(f"inspectors[{i}]", name, "inspector's name")
    if len(names) < 2:
        problems.append(
            Problem(
                "inspectors",
                f"expected at least two inspectors (行政处罚法 Art 42), got {len(names)}",
            )
        )
    bad_months = _months(publicity_months, optional=True)
    problems += bad_months
    ends_on: dt.date | None = None
    if publicity_months is not None and not bad_months and _is_day(inspected_on):
        ends_on = add_months(inspected_on, publicity_months)
    fields = {
        "draw_id": draw_id,
        "target_name": target_name,
        "target_code": target_code,
        "inspectors": names,
        "result": result,
        "inspection_date": inspected_on,
        "authority": authority,
        "local_code": local_code,
        "remarks": remarks,
    }
    return _build(
        PublicationKind.INSPECTION_RESULT,
        key=f"{local_code}/inspection-result/{draw_id}/{target_code}" if key is None else key,
        decided_on=inspected_on,
        ends_on=ends_on,
        fields=fields,
        extra=extra,
        calendar=calendar,
        deadlines=deadlines,
        working_days=working_days,
        problems=problems,
    )


# --------------------------------------------------------------------------- withdrawal


class WithdrawalReason(enum.Enum):
    """Why an entry is taken down (撤下公示)."""

    #: 决定变更: the decision was changed.
    CHANGED = "changed"
    #: 决定被撤销: the decision was revoked.
    REVOKED = "revoked"
    #: 被确认违法: the decision was declared illegal.
    DECLARED_ILLEGAL = "declared-illegal"
    #: 被确认无效: the decision was declared void.
    DECLARED_VOID = "declared-void"
    #: 信用修复: credit repair was granted (not for a licence decision).
    REPAIRED = "repaired"
    #: 公示期满: the publicity period ended.
    PERIOD_ENDED = "period-ended"

    @property
    def label_zh(self) -> str:
        """The Chinese name, e.g. ``"公示期满"``."""
        return _REASON_LABELS[self]


_REASON_LABELS = {
    WithdrawalReason.CHANGED: "决定变更",
    WithdrawalReason.REVOKED: "决定被撤销",
    WithdrawalReason.DECLARED_ILLEGAL: "决定被确认违法",
    WithdrawalReason.DECLARED_VOID: "决定被确认无效",
    WithdrawalReason.REPAIRED: "信用修复",
    WithdrawalReason.PERIOD_ENDED: "公示期满",
}


def _withdrawal_problems(w: Withdrawal) -> list[Problem]:
    problems = _text("key", w.key, "key")
    problems += _text("publication_key", w.publication_key, "key")
    problems += _text("note", w.note, "note (or None)", optional=True)
    bad = _day("on", w.on) + _day("publish_by", w.publish_by)
    problems += bad
    if not bad and w.reason is not WithdrawalReason.PERIOD_ENDED and w.publish_by < w.on:
        problems.append(
            Problem(
                "publish_by",
                f"{w.publish_by.isoformat()} is before {w.on.isoformat()}, the day the reason "
                f"({w.reason.value}) arose",
            )
        )
    problems += _json_problems("identifies", w.identifies)
    return problems


@attrs.frozen(kw_only=True)
class Withdrawal:
    """A notice that takes a published entry down (撤下公示), and the day it is due by.

    ``on`` is the day the reason arose (the decision was changed or revoked, credit repair
    was granted) or, for :attr:`WithdrawalReason.PERIOD_ENDED`, the day the notice was made.
    ``publish_by`` is the deadline: ``on`` plus the withdrawal working days, or the end of the
    publicity period. ``identifies`` repeats the fields that identify the entry. Build one with
    :func:`withdrawal`.
    """

    key: str = attrs.field(converter=_masked_text)
    publication_key: str = attrs.field(converter=_masked_text)
    kind: PublicationKind
    reason: WithdrawalReason
    on: dt.date
    publish_by: dt.date
    identifies: Mapping[str, Any] = attrs.field(converter=_masked_map, hash=False)
    note: str | None = attrs.field(default=None, converter=attrs.converters.optional(_masked_text))

    def __attrs_post_init__(self) -> None:
        _raise_if("Withdrawal", _withdrawal_problems(self))

    def payload(self) -> dict[str, Any]:
        """The outbox payload: JSON-ready and masked, with dates as ``YYYY-MM-DD``."""
        payload = {
            "schema": PAYLOAD_SCHEMA,
            "kind": "withdrawal",
            "key": self.key,
            "withdraws": self.publication_key,
            "withdrawn_kind": self.kind.value,
            "reason": self.reason.value,
            "reason_zh": self.reason.label_zh,
            "on": self.on.isoformat(),
            "publish_by": self.publish_by.isoformat(),
            "identifies": _thawed(self.identifies),
            "note": self.note,
        }
        result: dict[str, Any] = _thawed(_masked(payload))
        return result


def withdrawal(
    publication: Publication,
    on: dt.date,
    reason: WithdrawalReason,
    calendar: WorkingCalendar,
    deadlines: PublicationDeadlines,
    *,
    note: str | None = None,
    working_days: int | None = None,
) -> Withdrawal:
    """The notice withdrawing ``publication`` for ``reason``, due by the legal deadline.

    For a changed, revoked, illegal or void decision, and for credit repair, the deadline is
    ``deadlines.withdrawal`` working days (3) after ``on`` (SAMR Order No. 45 Art 11; 行政处罚法
    Art 48; ``working_days`` overrides it). For :attr:`WithdrawalReason.PERIOD_ENDED` it is
    the publication's ``ends_on``, and ``on`` (the day the notice is made) must not be before
    it: an entry is not taken down early. The key is ``"{publication.key}/withdrawal"``, so a
    publication is withdrawn once.

    :raises InvalidValue: ``on`` is before the decision day; the period has not ended or
        there is none; credit repair of a licence decision; a negative ``working_days``.
    :raises CalendarCoverageError: the calendar has no data for a day the deadline needs.
    """
    problems = _day("on", on) + _text("note", note, "note (or None)", optional=True)
    good_day = _is_day(on)
    if good_day and on < publication.decided_on:
        problems.append(
            Problem(
                "on",
                f"{on.isoformat()} is before the decision day "
                f"{publication.decided_on.isoformat()} of {publication.key!r}",
            )
        )
    if reason is WithdrawalReason.REPAIRED and publication.kind is PublicationKind.LICENCE_DECISION:
        problems.append(
            Problem("reason", "a licence decision is not a dishonesty finding: it is not repaired")
        )
    ends_on = publication.ends_on
    if reason is WithdrawalReason.PERIOD_ENDED:
        if ends_on is None:
            problems.append(
                Problem("reason", f"{publication.key!r} has no end of publicity (ends_on is None)")
            )
        elif good_day and on < ends_on:
            problems.append(
                Problem(
                    "on",
                    f"the publicity of {publication.key!r} ends on {ends_on.isoformat()}; "
                    f"it is not taken down before, got {on.isoformat()}",
                )
            )
    else:
        problems += _working_days(working_days)
    _raise_if("Withdrawal", problems)
    if reason is WithdrawalReason.PERIOD_ENDED and ends_on is not None:
        publish_by = ends_on
    else:
        days = deadlines.withdrawal if working_days is None else working_days
        publish_by = calendar.add_working_days(on, days)
    return Withdrawal(
        key=f"{publication.key}/withdrawal",
        publication_key=publication.key,
        kind=publication.kind,
        reason=reason,
        on=on,
        publish_by=publish_by,
        identifies=publication.identifies,
        note=note,
    )


# --------------------------------------------------------------------------- schedule


def _tuple_of(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(values)


def _frozen_days(value: Mapping[str, dt.date]) -> Mapping[str, dt.date]:
    return MappingProxyType(dict(value))


def _schedule_problems(s: PublicationSchedule) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    entries: list[tuple[str, object]] = [
        *((f"publications[{i}]", p) for i, p in enumerate(s.publications)),
        *((f"withdrawals[{i}]", w) for i, w in enumerate(s.withdrawals)),
    ]
    for path, entry in entries:
        wanted = Publication if path.startswith("publications") else Withdrawal
        if not isinstance(entry, wanted):
            problems.append(Problem(path, f"expected a {wanted.__name__}, got {entry!r}"))
            continue
        key = entry.key
        if key in seen:
            problems.append(Problem(f"{path}.key", f"duplicate key {key!r} (same as {seen[key]})"))
        else:
            seen[key] = path
    for key, day in s.delivered.items():
        problems += _day(f"delivered.{key}", day)
    return problems


@attrs.frozen
class PublicationSchedule:
    """Publications and withdrawals, what has been delivered, and what is late on a day.

    ``delivered`` maps a key (of a publication or a withdrawal) to the day it was delivered;
    keys of other messages are ignored. A key counts as delivered on ``today`` if it was
    delivered on or before ``today``. The service's tick reports :meth:`overdue` and creates
    a withdrawal for each of :meth:`to_withdraw`.
    """

    publications: tuple[Publication, ...] = attrs.field(converter=_tuple_of)
    withdrawals: tuple[Withdrawal, ...] = attrs.field(default=(), converter=_tuple_of)
    delivered: Mapping[str, dt.date] = attrs.field(factory=dict, converter=_frozen_days, hash=False)

    def __attrs_post_init__(self) -> None:
        _raise_if("PublicationSchedule", _schedule_problems(self))

    def _delivered_by(self, key: str, today: dt.date) -> bool:
        day = self.delivered.get(key)
        return day is not None and day <= today

    def _withdrawn(self) -> frozenset[str]:
        return frozenset(w.publication_key for w in self.withdrawals)

    def overdue(self, today: dt.date) -> tuple[Publication | Withdrawal, ...]:
        """Entries not delivered by ``today`` whose deadline (``publish_by``) has passed.

        On the deadline day itself an entry is not yet overdue. A publication with a
        withdrawal is no longer due (its withdrawal is, instead). Sorted by deadline, then key.
        """
        withdrawn = self._withdrawn()
        late: list[Publication | Withdrawal] = [
            p
            for p in self.publications
            if p.key not in withdrawn
            and p.publish_by < today
            and not self._delivered_by(p.key, today)
        ]
        late += [
            w
            for w in self.withdrawals
            if w.publish_by < today and not self._delivered_by(w.key, today)
        ]
        return tuple(sorted(late, key=lambda e: (e.publish_by, e.key)))

    def to_withdraw(self, today: dt.date) -> tuple[Publication, ...]:
        """Delivered publications whose publicity period has ended by ``today``, not withdrawn.

        The period ends on ``ends_on`` (the first day the entry is no longer published). An
        entry never delivered is not listed: it stays :meth:`overdue` until delivered, so a
        withdrawal can never overtake it. Sorted by ``ends_on``, then key.
        """
        withdrawn = self._withdrawn()
        due = [
            p
            for p in self.publications
            if p.ends_on is not None
            and p.ends_on <= today
            and p.key not in withdrawn
            and self._delivered_by(p.key, today)
        ]
        return tuple(sorted(due, key=lambda p: (p.ends_on or p.decided_on, p.key)))
