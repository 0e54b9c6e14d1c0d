"""The approval-item catalogue (审批事项清单): items, their materials, versions and figures.

A :class:`Catalog` is loaded from a TOML file that policy staff read and write (see
``docs/catalog.md``). Item definitions are versioned by effective date: the same item code may
appear several times with different ``valid_from`` days, and :meth:`Catalog.item` picks the
version in force on a day. Every catalogue has a :attr:`Catalog.digest` of its content so a
decision can record exactly which catalogue it was made under.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import importlib.resources
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from creditcommit._converter import read_toml, structure
from creditcommit.effective import Dated, LegalReference, RuleVersion, Timeline, _not_blank
from creditcommit.errors import (
    ConflictingValues,
    DataFileError,
    Problem,
    UnknownCatalog,
    UnknownItem,
    UnknownMaterial,
)
from creditcommit.identifiers import text_problem

__all__ = [
    "ApprovalItem",
    "Catalog",
    "CatalogSummary",
    "CommitmentMode",
    "DepartmentFigures",
    "ItemKind",
    "Material",
    "MaterialKind",
    "Verification",
    "VerificationMethod",
]


class ItemKind(enum.Enum):
    """What an approval item grants: a licence, a filing or something else (事项类型).

    A filing (备案) is not a licence (许可): it is complete when the information arrives, it
    gets a filing number rather than a licence number, it is not published as a 行政许可决定
    in 双公示, and false information leads to an order to correct and a fine under the
    filing's own rules (e.g. 《企业投资项目核准和备案管理条例》第十九条), not to a revocation
    under 《中华人民共和国行政许可法》第六十九条.
    """

    #: An administrative licence (行政许可).
    LICENCE = "licence"
    #: A filing (备案): recorded once the information is complete.
    FILING = "filing"
    #: Another kind of service item (其他行政权力事项, e.g. 确认、登记、核实).
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        """The Chinese term: ``"行政许可"``, ``"备案"`` or ``"其他"``."""
        return _ITEM_KIND_ZH[self]


_ITEM_KIND_ZH = {ItemKind.LICENCE: "行政许可", ItemKind.FILING: "备案", ItemKind.OTHER: "其他"}


class MaterialKind(enum.Enum):
    """How an application material (申报材料) may be provided."""

    #: Principal / statutory material (主要材料, 法定要件): never waived or deferred.
    REQUIRED = "required"
    #: Secondary material that may follow within ``defer_days`` working days (容缺).
    DEFERRABLE = "deferrable"
    #: A proof replaced by the applicant's commitment (告知承诺).
    WAIVABLE = "waivable"
    #: Retrievable from the e-licence store (电子证照) by ``licence_type``.
    LICENCE = "licence"


class CommitmentMode(enum.Enum):
    """Whether an item accepts a commitment, and of which kind."""

    #: No commitment: every material is submitted.
    NONE = "none"
    #: Notification and commitment (告知承诺制): proofs may be replaced by the commitment.
    NOTIFY_AND_COMMIT = "notify-and-commit"
    #: Acceptance with deferred materials only (容缺受理).
    DEFERRED_ONLY = "deferred-only"


class VerificationMethod(enum.Enum):
    """How a commitment is checked after the decision (核查方式)."""

    WRITTEN = "written"
    ONLINE = "online"
    ON_SITE = "on-site"
    PUBLIC_NOTICE = "public-notice"
    #: Exempt from verification (免予核查); covered by routine supervision.
    EXEMPT = "exempt"


# --- rules -------------------------------------------------------------------------------
#
# Each rule is written once, against the field names that the schema classes (what the TOML
# file says) and the domain classes share. The loader runs them on the schema to report every
# problem with its path; the domain classes run them in ``__attrs_post_init__`` so that a
# catalogue built in Python obeys the same invariants.


class _ReferenceFields(Protocol):
    @property
    def instrument(self) -> str: ...


class _MaterialFields(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> MaterialKind: ...
    @property
    def defer_days(self) -> int | None: ...
    @property
    def licence_type(self) -> str | None: ...
    @property
    def legal_basis(self) -> _ReferenceFields | None: ...


class _VerificationFields(Protocol):
    @property
    def method(self) -> VerificationMethod: ...
    @property
    def deadline_days(self) -> int | None: ...


class _ItemFields(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def legal_basis(self) -> Sequence[_ReferenceFields]: ...
    @property
    def statutory_days(self) -> int: ...
    @property
    def promised_days(self) -> int: ...
    @property
    def commitment_mode(self) -> CommitmentMode: ...
    @property
    def verification(self) -> _VerificationFields: ...
    @property
    def materials(self) -> Sequence[_MaterialFields]: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date | None: ...
    @property
    def division(self) -> str | None: ...
    @property
    def competent_department(self) -> str | None: ...
    @property
    def kind(self) -> ItemKind: ...
    @property
    def correction_basis(self) -> _ReferenceFields | None: ...


_DIVISION = re.compile(r"[1-9][0-9]{5}")


def _join(path: str, part: str) -> str:
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


# The longest item or material code accepted (a code names files and URLs downstream).
_MAX_CODE_LENGTH = 64
# The longest name, department or legal reference accepted in a catalogue.
_MAX_TEXT_LENGTH = 500
# The largest time limit in working days (about four years) accepted in a catalogue.
_MAX_WORKING_DAYS = 1000
# No catalogue version starts or ends before 1949.
_EARLIEST_DAY = date(1949, 1, 1)

# Characters that show nothing: a text made of these only is as empty as a blank one.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")


def _blank(path: str, value: str, limit: int = _MAX_TEXT_LENGTH) -> list[Problem]:
    """Blank or invisible-only text, control characters, absurd lengths."""
    if not value.strip():
        return [Problem(path, "must not be empty")]
    if all(ch.isspace() or ch in _INVISIBLE for ch in value):
        return [Problem(path, f"must not be invisible (only zero-width characters), got {value!r}")]
    problem = text_problem(value)
    if problem is not None:
        return [Problem(path, problem)]
    if len(value) > limit:
        return [Problem(path, f"expected at most {limit} characters, got {len(value)}")]
    return []


def _code(path: str, value: str, limit: int = _MAX_CODE_LENGTH) -> list[Problem]:
    """:func:`_blank` and no path separators (codes and departments name files downstream)."""
    found = _blank(path, value, limit)
    if not found and ("/" in value or "\\" in value):
        found.append(Problem(path, f"expected no path separator (/ or \\), got {value!r}"))
    return found


def _days_bound(path: str, days: int | None) -> list[Problem]:
    if days is not None and days > _MAX_WORKING_DAYS:
        return [Problem(path, f"expected at most {_MAX_WORKING_DAYS} working days, got {days}")]
    return []


def _day_bound(path: str, day: date | None) -> list[Problem]:
    if day is not None and day < _EARLIEST_DAY:
        return [Problem(path, f"expected a date from {_EARLIEST_DAY.isoformat()} on, got {day}")]
    return []


def _reference_problems(ref: _ReferenceFields, path: str) -> list[Problem]:
    return _blank(_join(path, "instrument"), ref.instrument)


def _material_problems(material: _MaterialFields, path: str = "") -> list[Problem]:
    """Rules about one material on its own."""
    found = _code(_join(path, "code"), material.code) + _blank(_join(path, "name"), material.name)
    found += _days_bound(_join(path, "defer_days"), material.defer_days)
    kind = material.kind
    defer = _join(path, "defer_days")
    if kind is MaterialKind.DEFERRABLE:
        if material.defer_days is None:
            found.append(
                Problem(
                    defer,
                    "a deferrable material needs defer_days "
                    "(the working days within which it may follow)",
                )
            )
        elif material.defer_days < 1:
            found.append(
                Problem(defer, f"expected at least 1 working day, got {material.defer_days}")
            )
    elif material.defer_days is not None:
        found.append(
            Problem(defer, f"defer_days is only for deferrable materials, not {kind.value!r}")
        )
    licence = _join(path, "licence_type")
    if kind is MaterialKind.LICENCE:
        if material.licence_type is None:
            found.append(
                Problem(
                    licence,
                    "a licence material needs licence_type "
                    "(the e-licence type to retrieve, e.g. 'business-licence')",
                )
            )
        else:
            found.extend(_code(licence, material.licence_type))
    elif material.licence_type is not None:
        found.append(
            Problem(licence, f"licence_type is only for licence materials, not {kind.value!r}")
        )
    if material.legal_basis is not None:
        found.extend(_reference_problems(material.legal_basis, _join(path, "legal_basis")))
    return found


def _verification_problems(verification: _VerificationFields, path: str = "") -> list[Problem]:
    days = verification.deadline_days
    where = _join(path, "deadline_days")
    if verification.method is VerificationMethod.EXEMPT:
        if days is not None:
            return [Problem(where, "an exempt verification takes no deadline_days")]
        return []
    if days is None:
        return [
            Problem(
                where,
                f"verification method {verification.method.value!r} needs deadline_days "
                "(working days after the licence is issued)",
            )
        ]
    if days < 1:
        return [Problem(where, f"expected at least 1 working day, got {days}")]
    return _days_bound(where, days)


def _item_problems(item: _ItemFields, path: str = "") -> list[Problem]:
    """Rules about one item version and its materials."""
    found: list[Problem] = []
    found.extend(_code(_join(path, "code"), item.code))
    found.extend(_blank(_join(path, "name"), item.name))
    found.extend(_code(_join(path, "department"), item.department, _MAX_TEXT_LENGTH))
    found.extend(_days_bound(_join(path, "statutory_days"), item.statutory_days))
    found.extend(_days_bound(_join(path, "promised_days"), item.promised_days))
    found.extend(_day_bound(_join(path, "valid_from"), item.valid_from))
    found.extend(_day_bound(_join(path, "valid_until"), item.valid_until))
    if item.division is not None and not _DIVISION.fullmatch(item.division):
        found.append(
            Problem(
                _join(path, "division"),
                "expected a six-digit administrative division code (行政区划代码, e.g. "
                f"'321012'), got {item.division!r}",
            )
        )
    if item.competent_department is not None:
        found.extend(_blank(_join(path, "competent_department"), item.competent_department))
    if item.correction_basis is not None:
        where = _join(path, "correction_basis")
        if item.kind is ItemKind.LICENCE:
            found.append(
                Problem(
                    where,
                    "correction_basis is only for filings and other items; a licence is "
                    "revoked under 《中华人民共和国行政许可法》第六十九条",
                )
            )
        found.extend(_reference_problems(item.correction_basis, where))
    if not item.legal_basis:
        found.append(
            Problem(_join(path, "legal_basis"), "an approval item needs at least one legal basis")
        )
    for i, ref in enumerate(item.legal_basis):
        found.extend(_reference_problems(ref, _join(path, f"legal_basis[{i}]")))
    if item.statutory_days < 1:
        found.append(
            Problem(
                _join(path, "statutory_days"),
                f"expected at least 1 working day, got {item.statutory_days}",
            )
        )
    if item.promised_days < 0:
        found.append(
            Problem(
                _join(path, "promised_days"),
                f"expected 0 (即审即办) or more working days, got {item.promised_days}",
            )
        )
    elif item.promised_days > item.statutory_days:
        found.append(
            Problem(
                _join(path, "promised_days"),
                f"the promised time limit (承诺时限) of {item.promised_days} working days "
                f"exceeds the statutory limit (法定时限) of {item.statutory_days}",
            )
        )
    if item.valid_until is not None and item.valid_until <= item.valid_from:
        found.append(
            Problem(
                _join(path, "valid_until"),
                f"valid_until {item.valid_until.isoformat()} must be after "
                f"valid_from {item.valid_from.isoformat()}",
            )
        )
    found.extend(_verification_problems(item.verification, _join(path, "verification")))
    if not item.materials:
        found.append(
            Problem(_join(path, "materials"), "an approval item needs at least one material")
        )
    mode = item.commitment_mode
    first_index: dict[str, int] = {}
    for j, material in enumerate(item.materials):
        where = _join(path, f"materials[{j}]")
        found.extend(_material_problems(material, where))
        if material.code in first_index:
            found.append(
                Problem(
                    _join(where, "code"),
                    f"duplicate material code {material.code!r} "
                    f"(also materials[{first_index[material.code]}])",
                )
            )
        else:
            first_index[material.code] = j
        defer = material.defer_days
        if (
            material.kind is MaterialKind.DEFERRABLE
            and defer is not None
            and defer > item.promised_days
        ):
            found.append(
                Problem(
                    _join(where, "defer_days"),
                    f"defer_days {defer} exceeds the item's promised time limit of "
                    f"{item.promised_days} working days (a deferred material is due "
                    "within the promised limit)",
                )
            )
        if material.kind is MaterialKind.WAIVABLE and mode is not CommitmentMode.NOTIFY_AND_COMMIT:
            found.append(
                Problem(
                    _join(where, "kind"),
                    "a waivable material needs commitment_mode 'notify-and-commit', "
                    f"but the item's mode is {mode.value!r}",
                )
            )
        if material.kind is MaterialKind.DEFERRABLE and mode is CommitmentMode.NONE:
            found.append(
                Problem(
                    _join(where, "kind"),
                    "a deferrable material needs commitment_mode 'notify-and-commit' or "
                    "'deferred-only', but the item's mode is 'none'",
                )
            )
    return found


def _raise_invalid(what: str, problems: Sequence[Problem]) -> None:
    if problems:
        raise ValueError(f"invalid {what}: " + "; ".join(str(p) for p in problems))


# --- domain ------------------------------------------------------------------------------


@attrs.frozen
class Material:
    """One application material (申报材料) of an approval item."""

    code: str
    name: str
    kind: MaterialKind
    name_en: str | None = attrs.field(default=None, kw_only=True)
    defer_days: int | None = attrs.field(default=None, kw_only=True)
    licence_type: str | None = attrs.field(default=None, kw_only=True)
    legal_basis: LegalReference | None = attrs.field(default=None, kw_only=True)
    note: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _raise_invalid(f"material {self.code!r}", _material_problems(self))


@attrs.frozen
class Verification:
    """How and by when a commitment is verified (核查) after the licence is issued."""

    method: VerificationMethod
    deadline_days: int | None = None

    def __attrs_post_init__(self) -> None:
        _raise_invalid("verification", _verification_problems(self))


def _references(values: Iterable[LegalReference]) -> tuple[LegalReference, ...]:
    return tuple(values)


def _materials(values: Iterable[Material]) -> tuple[Material, ...]:
    return tuple(values)


def _tags(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class ApprovalItem:
    """One version of an approval item (审批事项) in the catalogue.

    ``statutory_days`` is the statutory time limit (法定时限), ``promised_days`` the agency's
    shorter promised limit (承诺时限, 0 = 即审即办), both in working days. ``on_the_spot`` says
    a decision may be made on the spot (当场办结, 行政许可法 Art 34). ``domains`` are policy
    tags used to apply the exclusions of 国办发〔2020〕42号 and local rules. ``kind`` says
    whether the item grants a licence, records a filing or is something else (see
    :class:`ItemKind`). ``division`` is the administrative division code (行政区划代码) of
    the jurisdiction that handles it (``"321012"`` 江都区); ``competent_department`` the
    department whose matter it is (主管部门, e.g. 发展和改革委员会) where ``department``, the
    office that handles it, is a central approval bureau (行政审批局).
    """

    code: str
    name: str
    department: str
    legal_basis: tuple[LegalReference, ...] = attrs.field(converter=_references)
    statutory_days: int
    promised_days: int
    commitment_mode: CommitmentMode
    verification: Verification
    materials: tuple[Material, ...] = attrs.field(converter=_materials)
    valid_from: date
    valid_until: date | None = attrs.field(default=None, kw_only=True)
    on_the_spot: bool = attrs.field(default=False, kw_only=True)
    domains: frozenset[str] = attrs.field(default=frozenset(), kw_only=True, converter=_tags)
    name_en: str | None = attrs.field(default=None, kw_only=True)
    kind: ItemKind = attrs.field(default=ItemKind.LICENCE, kw_only=True)
    division: str | None = attrs.field(default=None, kw_only=True)
    competent_department: str | None = attrs.field(default=None, kw_only=True)
    #: For a filing or another item that is not a licence: the rule false information or an
    #: unkept commitment falls under (an order to correct, a fine), e.g.
    #: 《企业投资项目核准和备案管理条例》第十九条. None: the item's first legal basis.
    correction_basis: LegalReference | None = attrs.field(default=None, kw_only=True)
    #: Free text for staff and applicants; a sample catalogue marks here (示例) where an item
    #: departs from a published list.
    note: str | None = attrs.field(default=None, kw_only=True)
    #: The catalogue this version belongs to (set by :class:`Catalog`; None for an item built
    #: on its own). Decisions record it; it is not part of the item's content or equality.
    catalog: RuleVersion | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _raise_invalid(f"approval item {self.code!r}", _item_problems(self))

    def material(self, code: str) -> Material:
        """The material with ``code``; :class:`UnknownMaterial` if the item has none."""
        for material in self.materials:
            if material.code == code:
                return material
        raise UnknownMaterial(self.code, code)

    def materials_of(self, kind: MaterialKind) -> tuple[Material, ...]:
        """The item's materials of one kind, in catalogue order."""
        return tuple(m for m in self.materials if m.kind is kind)

    @property
    def is_filing(self) -> bool:
        """True for a filing (备案), which is not a licence."""
        return self.kind is ItemKind.FILING

    @property
    def owner(self) -> str:
        """The department the item is counted under: the competent one, else the handling one."""
        return self.department if self.competent_department is None else self.competent_department


@attrs.frozen
class CatalogSummary:
    """The figures of a catalogue on one day, as the seed's section 五 reports them."""

    catalog: str
    version: str
    on: date
    departments: int
    items: int
    materials: int
    required: int
    deferrable: int
    waivable: int
    licence: int

    def __attrs_post_init__(self) -> None:
        kinds = self.required + self.deferrable + self.waivable + self.licence
        if kinds != self.materials:
            raise ValueError(
                f"the counts per kind add up to {kinds}, not to {self.materials} materials"
            )

    @property
    def reduced(self) -> int:
        """Materials on the list an applicant need not hand in (清单口径的减免材料).

        Those replaced by the commitment (告知承诺) and those retrieved from an e-licence
        (电子证照), counted once per item on the list: the kind of figure the seed gives for
        Gaoyou ("对43份申请材料进行缩减"). It is not a sum over cases (办件口径), which is
        :attr:`MaterialPlan.reduced <creditcommit.materials.MaterialPlan.reduced>` added up
        by :mod:`creditcommit.metrics`.
        """
        return self.waivable + self.licence

    def format(self) -> str:
        """Two lines, Chinese then English."""
        return (
            f"{self.catalog}（{self.version}，{self.on.isoformat()}）："
            f"{self.departments}个部门{self.items}项审批事项、{self.materials}项申报材料，"
            f"其中可容缺材料{self.deferrable}项，可告知承诺免交材料{self.waivable}项，"
            f"可通过电子证照调取的材料{self.licence}项，法定要件材料{self.required}项；"
            f"清单可减免材料{self.reduced}项。\n"
            f"{self.catalog} (version {self.version}) on {self.on.isoformat()}: "
            f"{self.departments} departments, {self.items} approval items, "
            f"{self.materials} materials, of which {self.deferrable} deferrable, "
            f"{self.waivable} waivable by commitment, {self.licence} retrievable as "
            f"e-licences and {self.required} required; {self.reduced} on the list need not "
            "be handed in."
        )

    def __str__(self) -> str:
        return self.format()


@attrs.frozen
class DepartmentFigures:
    """The figures of one department (部门) in a catalogue on one day.

    ``department`` is the item's :attr:`ApprovalItem.owner` (the competent department where
    the catalogue names one); ``division`` the division code, or None if the items say none.
    """

    division: str | None
    department: str
    items: int
    materials: int
    required: int
    deferrable: int
    waivable: int
    licence: int

    @property
    def reduced(self) -> int:
        """Materials an applicant need not hand in: waivable plus e-licence."""
        return self.waivable + self.licence


_DEPARTMENT_HEADINGS = (
    "部门",
    "审批事项",
    "申报材料",
    "法定要件材料",
    "可容缺材料",
    "可告知承诺免交材料",
    "可通过电子证照调取的材料",
    "清单可减免材料",
)
_KIND_FIELDS = ("items", "materials", "required", "deferrable", "waivable", "licence")


def _figures_zh(rows: Sequence[DepartmentFigures]) -> str:
    items, materials, required, deferrable, waivable, licence = (
        sum(getattr(f, name) for f in rows) for name in _KIND_FIELDS
    )
    return (
        f"{len(rows)}个部门{items}项审批事项、{materials}项申报材料，其中可容缺材料{deferrable}项，"
        f"可告知承诺免交材料{waivable}项，可通过电子证照调取的材料{licence}项，"
        f"法定要件材料{required}项；清单可减免材料{waivable + licence}项。"
    )


def _figures(
    division: str | None, department: str, items: Sequence[ApprovalItem]
) -> DepartmentFigures:
    kinds = [m.kind for item in items for m in item.materials]
    return DepartmentFigures(
        division=division,
        department=department,
        items=len(items),
        materials=len(kinds),
        required=kinds.count(MaterialKind.REQUIRED),
        deferrable=kinds.count(MaterialKind.DEFERRABLE),
        waivable=kinds.count(MaterialKind.WAIVABLE),
        licence=kinds.count(MaterialKind.LICENCE),
    )


def _division_name_problems(names: Mapping[str, str], path: str) -> list[Problem]:
    found: list[Problem] = []
    for code, name in names.items():
        where = f"{path}.{code}"
        if not _DIVISION.fullmatch(code):
            found.append(
                Problem(
                    where,
                    "expected a six-digit administrative division code (行政区划代码, e.g. "
                    "'321012')",
                )
            )
        found.extend(_blank(where, name))
    return found


def _names(values: Mapping[str, str]) -> Mapping[str, str]:
    names = dict(values)
    _raise_invalid("division names", _division_name_problems(names, "division_names"))
    return MappingProxyType(names)


def _by_code_and_start(items: Iterable[ApprovalItem]) -> tuple[ApprovalItem, ...]:
    return tuple(sorted(items, key=lambda item: (item.code, item.valid_from)))


def _dated(item: ApprovalItem) -> Dated[ApprovalItem]:
    return Dated(item.valid_from, item, end=item.valid_until)


_LATER_FIELDS = frozenset({"kind", "division", "competent_department", "correction_basis", "note"})


def _canonical(value: object) -> object:
    """Plain JSON data for the digest: keys sorted later, sets sorted, dates in ISO form."""
    cls = type(value)
    if attrs.has(cls):
        # Fields added later are left out at their default, so that a catalogue that does not
        # use them keeps the digest it had before they existed.
        return {
            f.name: _canonical(getattr(value, f.name))
            for f in attrs.fields(cls)
            if f.eq and not (f.name in _LATER_FIELDS and getattr(value, f.name) == f.default)
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    return value


@attrs.frozen
class Catalog:
    """A versioned approval-item catalogue (审批事项清单).

    Build it from items (any order; versions of one code must not overlap, or
    :class:`~creditcommit.errors.ConflictingValues`), or load it with :meth:`from_toml`,
    :meth:`from_dict` or :meth:`sample`.
    """

    name: str = attrs.field(validator=_not_blank)
    version: str = attrs.field(validator=_not_blank)
    item_versions: tuple[ApprovalItem, ...] = attrs.field(converter=_by_code_and_start)
    #: Names of the divisions by code (``{"321012": "江都区"}``), for summaries; optional.
    division_names: Mapping[str, str] = attrs.field(
        factory=dict, converter=_names, kw_only=True, hash=False
    )
    #: SHA-256 of the canonical content (name, version, every item version); stable under
    #: reordering items or reformatting the file.
    digest: str = attrs.field(init=False)
    _timelines: Mapping[str, Timeline[ApprovalItem]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        grouped: dict[str, list[Dated[ApprovalItem]]] = {}
        for item in self.item_versions:
            grouped.setdefault(item.code, []).append(_dated(item))
        timelines = {code: Timeline(_timeline_name(code), dated) for code, dated in grouped.items()}
        content = {
            "format": "creditcommit-catalog/1",
            "name": self.name,
            "version": self.version,
            "items": _canonical(self.item_versions),
        }
        if self.division_names:  # left out when empty: older catalogues keep their digest
            content["divisions"] = dict(self.division_names)
        text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        ref = RuleVersion(self.name, self.version, digest)
        stamped = tuple(attrs.evolve(item, catalog=ref) for item in self.item_versions)
        timelines = {
            code: Timeline(_timeline_name(code), [_dated(i) for i in stamped if i.code == code])
            for code in timelines
        }
        object.__setattr__(self, "item_versions", stamped)
        object.__setattr__(self, "_timelines", timelines)
        object.__setattr__(self, "digest", digest)

    @property
    def rule_version(self) -> RuleVersion:
        """Name, declared version and digest, as decisions record them."""
        return RuleVersion(self.name, self.version, self.digest)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the shape of the TOML file; :meth:`from_dict` reads it back equal."""
        return {
            "catalog": {"name": self.name, "version": self.version}
            | ({"divisions": dict(self.division_names)} if self.division_names else {}),
            "items": [_item_to_dict(item) for item in self.item_versions],
        }

    @classmethod
    def from_dict(cls, data: object, source: str = "<dict>") -> Catalog:
        """Load plain data (as read from TOML); :class:`DataFileError` lists every problem."""
        return _load(data, source)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Catalog:
        """Load a catalogue file; :class:`DataFileError` names the file and every problem."""
        return _load(read_toml(path), os.fspath(path))

    @classmethod
    def sample(cls) -> Catalog:
        """The bundled sample (two items of the Yangzhou pilot); not an official list."""
        return _sample()

    @classmethod
    def yangzhou(cls) -> Catalog:
        """The bundled Yangzhou catalogue: Jiangdu's and Gaoyou's pilot lists (示例).

        A representative list of the size the seed reports (江都区 15 departments, 40 items,
        247 materials; 高邮市 18 items); not the cities' published lists.
        """
        return _bundled("yangzhou")

    @classmethod
    def bundled(cls, name: str) -> Catalog:
        """A bundled catalogue by name: ``"sample"`` or ``"yangzhou"``.

        :class:`~creditcommit.errors.UnknownCatalog` for another name.
        """
        if name not in BUNDLED:
            raise UnknownCatalog(name, tuple(BUNDLED))
        return _bundled(name)

    def codes(self) -> tuple[str, ...]:
        """Every item code, whatever its validity, sorted."""
        return tuple(sorted(self._timelines))

    def timeline(self, code: str) -> Timeline[ApprovalItem]:
        """All versions of one item; :class:`UnknownItem` for an unknown code."""
        try:
            return self._timelines[code]
        except KeyError:
            raise UnknownItem(code) from None

    def item(self, code: str, on: date) -> ApprovalItem:
        """The version of item ``code`` in force on ``on``.

        :class:`UnknownItem` if the catalogue has no such code;
        :class:`~creditcommit.errors.NoValueInForce` if it has, but not on that day.
        """
        return self.timeline(code).at(on)

    def items(self, on: date, division: str | None = None) -> tuple[ApprovalItem, ...]:
        """The items in force on ``on`` (in ``division``, if given), sorted by code."""
        found = (self._timelines[code].get(on) for code in self.codes())
        return tuple(
            item
            for item in found
            if item is not None and (division is None or item.division == division)
        )

    def departments(self, on: date, division: str | None = None) -> tuple[str, ...]:
        """The departments with an item in force on ``on`` (in ``division``), sorted.

        A department is an item's :attr:`ApprovalItem.owner`.
        """
        return tuple(sorted({item.owner for item in self.items(on, division)}))

    def divisions(self, on: date) -> tuple[str, ...]:
        """The division codes of the items in force on ``on``, sorted (None left out)."""
        return tuple(sorted({i.division for i in self.items(on) if i.division is not None}))

    def summary(self, on: date, division: str | None = None) -> CatalogSummary:
        """Counts of departments, items and materials (per kind) in force on ``on``.

        With ``division`` (a division code such as ``"321012"``), only that jurisdiction's
        items are counted.
        """
        items = self.items(on, division)
        kinds = [m.kind for item in items for m in item.materials]
        return CatalogSummary(
            catalog=self.name,
            version=self.version,
            on=on,
            departments=len({item.owner for item in items}),
            items=len(items),
            materials=len(kinds),
            required=kinds.count(MaterialKind.REQUIRED),
            deferrable=kinds.count(MaterialKind.DEFERRABLE),
            waivable=kinds.count(MaterialKind.WAIVABLE),
            licence=kinds.count(MaterialKind.LICENCE),
        )

    def by_department(self, on: date, division: str | None = None) -> tuple[DepartmentFigures, ...]:
        """The figures per division and department on ``on``, sorted by both."""
        grouped: dict[tuple[str, str], list[ApprovalItem]] = {}
        for item in self.items(on, division):
            grouped.setdefault((item.division or "", item.owner), []).append(item)
        return tuple(
            _figures(where or None, owner, items)
            for (where, owner), items in sorted(grouped.items())
        )

    def format(self, on: date) -> str:
        """The readable summary of :meth:`summary` on ``on``."""
        return self.summary(on).format()

    def format_departments(self, on: date, *, chinese_only: bool = False) -> str:
        """The summary on ``on``, then per division its figures and a row per department.

        The summary is in Chinese then English; ``chinese_only=True`` (output for officials)
        leaves the English line out.

        The division lines are the figures the seed reports per pilot (江都区: "15个部门40项
        审批事项、247项申报材料，其中可容缺材料93项，可通过电子证照调取的材料29项"); the
        table is tab-separated with Chinese headings. Items without a division are listed
        under "未注明行政区划".
        """
        zh, en = self.format(on).splitlines()
        lines = [zh] if chinese_only else [zh, en]
        figures = self.by_department(on)
        for division in sorted({f.division or "" for f in figures}):
            rows = [f for f in figures if (f.division or "") == division]
            name = self.division_names.get(division)
            where = (
                f"{name}（{division}）"
                if name
                else (f"行政区划{division}" if division else "未注明行政区划")
            )
            lines += ["", f"{where}：{_figures_zh(rows)}", "\t".join(_DEPARTMENT_HEADINGS)]
            lines += [
                "\t".join(
                    str(v)
                    for v in (
                        f.department,
                        f.items,
                        f.materials,
                        f.required,
                        f.deferrable,
                        f.waivable,
                        f.licence,
                        f.reduced,
                    )
                )
                for f in rows
            ]
        return "\n".join(lines)


# --- loading -----------------------------------------------------------------------------
#
# Schema classes mirror the TOML file and carry types only (see creditcommit._converter).


@attrs.frozen
class _ReferenceSchema:
    instrument: str
    article: str | None = None
    url: str | None = None


@attrs.frozen(kw_only=True)
class _MaterialSchema:
    code: str
    name: str
    name_en: str | None = None
    kind: MaterialKind
    defer_days: int | None = None
    licence_type: str | None = None
    legal_basis: _ReferenceSchema | None = None
    note: str | None = None


@attrs.frozen
class _VerificationSchema:
    method: VerificationMethod
    deadline_days: int | None = None


@attrs.frozen(kw_only=True)
class _ItemSchema:
    # Fields in the order docs/catalog.md describes them ("allowed: ..." lists this order).
    code: str
    name: str
    name_en: str | None = None
    department: str
    # Missing lists default to empty so that the rules say what is wrong ("needs at least
    # one material") rather than "required key is missing".
    legal_basis: list[_ReferenceSchema] = attrs.field(factory=list)
    statutory_days: int
    promised_days: int
    commitment_mode: CommitmentMode
    on_the_spot: bool = False
    verification: _VerificationSchema
    domains: list[str] = attrs.field(factory=list)
    valid_from: date
    valid_until: date | None = None
    kind: ItemKind = ItemKind.LICENCE
    division: str | None = None
    competent_department: str | None = None
    correction_basis: _ReferenceSchema | None = None
    note: str | None = None
    materials: list[_MaterialSchema] = attrs.field(factory=list)


@attrs.frozen
class _HeaderSchema:
    name: str
    version: str
    divisions: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class _CatalogSchema:
    catalog: _HeaderSchema
    items: list[_ItemSchema]


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _reference_to_dict(ref: LegalReference) -> dict[str, Any]:
    return _drop_none({"instrument": ref.instrument, "article": ref.article, "url": ref.url})


def _item_to_dict(item: ApprovalItem) -> dict[str, Any]:
    return _drop_none(
        {
            "code": item.code,
            "name": item.name,
            "name_en": item.name_en,
            "department": item.department,
            "legal_basis": [_reference_to_dict(r) for r in item.legal_basis],
            "statutory_days": item.statutory_days,
            "promised_days": item.promised_days,
            "commitment_mode": item.commitment_mode.value,
            "on_the_spot": item.on_the_spot,
            "verification": _drop_none(
                {
                    "method": item.verification.method.value,
                    "deadline_days": item.verification.deadline_days,
                }
            ),
            "domains": sorted(item.domains),
            "valid_from": item.valid_from,
            "valid_until": item.valid_until,
            "kind": None if item.kind is ItemKind.LICENCE else item.kind.value,
            "division": item.division,
            "competent_department": item.competent_department,
            "correction_basis": None
            if item.correction_basis is None
            else _reference_to_dict(item.correction_basis),
            "note": item.note,
            "materials": [
                _drop_none(
                    {
                        "code": m.code,
                        "name": m.name,
                        "name_en": m.name_en,
                        "kind": m.kind.value,
                        "defer_days": m.defer_days,
                        "licence_type": m.licence_type,
                        "legal_basis": None
                        if m.legal_basis is None
                        else _reference_to_dict(m.legal_basis),
                        "note": m.note,
                    }
                )
                for m in item.materials
            ],
        }
    )


def _reference(schema: _ReferenceSchema) -> LegalReference:
    return LegalReference(schema.instrument, schema.article, schema.url)


def _build_item(schema: _ItemSchema) -> ApprovalItem:
    return ApprovalItem(
        code=schema.code,
        name=schema.name,
        department=schema.department,
        legal_basis=tuple(_reference(r) for r in schema.legal_basis),
        statutory_days=schema.statutory_days,
        promised_days=schema.promised_days,
        commitment_mode=schema.commitment_mode,
        verification=Verification(schema.verification.method, schema.verification.deadline_days),
        materials=tuple(
            Material(
                m.code,
                m.name,
                m.kind,
                name_en=m.name_en,
                defer_days=m.defer_days,
                licence_type=m.licence_type,
                legal_basis=None if m.legal_basis is None else _reference(m.legal_basis),
                note=m.note,
            )
            for m in schema.materials
        ),
        valid_from=schema.valid_from,
        valid_until=schema.valid_until,
        on_the_spot=schema.on_the_spot,
        domains=frozenset(schema.domains),
        name_en=schema.name_en,
        kind=schema.kind,
        division=schema.division,
        competent_department=schema.competent_department,
        correction_basis=None
        if schema.correction_basis is None
        else _reference(schema.correction_basis),
        note=schema.note,
    )


def _timeline_name(code: str) -> str:
    return f"approval item {code}"


def _load(data: object, source: str) -> Catalog:
    schema = structure(data, _CatalogSchema, source=source)
    problems = _blank("catalog.name", schema.catalog.name)
    problems.extend(_blank("catalog.version", schema.catalog.version))
    problems.extend(_division_name_problems(schema.catalog.divisions, "catalog.divisions"))
    # Versions of one code are checked with the Timeline rule itself; the values are the
    # items' indices in the file, so a conflict can name the earlier item.
    versions: dict[str, Timeline[int]] = {}
    for i, item in enumerate(schema.items):
        problems.extend(_item_problems(item, f"items[{i}]"))
        if item.valid_until is not None and item.valid_until <= item.valid_from:
            continue
        before = versions.get(item.code, Timeline(_timeline_name(item.code)))
        try:
            versions[item.code] = Timeline(
                before.name, (*before.entries, Dated(item.valid_from, i, end=item.valid_until))
            )
        except ConflictingValues as exc:
            other = before.get(exc.day)
            also = "" if other is None else f" (items[{other}])"
            problems.append(
                Problem(
                    f"items[{i}]",
                    f"overlaps another version of item {item.code!r}{also}: "
                    f"both are in force on {exc.day.isoformat()}",
                )
            )
    if problems:
        raise DataFileError(source, problems)
    return Catalog(
        schema.catalog.name,
        schema.catalog.version,
        [_build_item(i) for i in schema.items],
        division_names=schema.catalog.divisions,
    )


#: The catalogues shipped with the library, by the name :meth:`Catalog.bundled` takes.
BUNDLED = {"sample": "sample_catalog.toml", "yangzhou": "yangzhou_catalog.toml"}


@functools.cache
def _bundled(name: str) -> Catalog:
    file = BUNDLED[name]
    resource = importlib.resources.files("creditcommit").joinpath(f"data/{file}")
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    return _load(data, f"creditcommit/data/{file}")


def _sample() -> Catalog:
    return _bundled("sample")
