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
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

import attrs

from creditcommit._converter import read_toml, structure
from creditcommit.effective import Dated, LegalReference, RuleVersion, Timeline, _not_blank
from creditcommit.errors import (
    ConflictingValues,
    DataFileError,
    Problem,
    UnknownItem,
    UnknownMaterial,
)
from creditcommit.identifiers import text_problem

__all__ = [
    "ApprovalItem",
    "Catalog",
    "CatalogSummary",
    "CommitmentMode",
    "Material",
    "MaterialKind",
    "Verification",
    "VerificationMethod",
]


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
    tags used to apply the exclusions of 国办发〔2020〕42号.
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

    def format(self) -> str:
        """Two lines, Chinese then English."""
        return (
            f"{self.catalog}（{self.version}，{self.on.isoformat()}）："
            f"{self.departments} 个部门 {self.items} 项审批事项、{self.materials} 项申报材料，"
            f"其中可容缺材料 {self.deferrable} 项，可告知承诺免交材料 {self.waivable} 项，"
            f"可通过电子证照调取的材料 {self.licence} 项，法定要件材料 {self.required} 项。\n"
            f"{self.catalog} (version {self.version}) on {self.on.isoformat()}: "
            f"{self.departments} departments, {self.items} approval items, "
            f"{self.materials} materials, of which {self.deferrable} deferrable, "
            f"{self.waivable} waivable by commitment, {self.licence} retrievable as "
            f"e-licences and {self.required} required."
        )

    def __str__(self) -> str:
        return self.format()


def _by_code_and_start(items: Iterable[ApprovalItem]) -> tuple[ApprovalItem, ...]:
    return tuple(sorted(items, key=lambda item: (item.code, item.valid_from)))


def _dated(item: ApprovalItem) -> Dated[ApprovalItem]:
    return Dated(item.valid_from, item, end=item.valid_until)


def _canonical(value: object) -> object:
    """Plain JSON data for the digest: keys sorted later, sets sorted, dates in ISO form."""
    cls = type(value)
    if attrs.has(cls):
        return {f.name: _canonical(getattr(value, f.name)) for f in attrs.fields(cls) if f.eq}
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
            "catalog": {"name": self.name, "version": self.version},
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

    def items(self, on: date) -> tuple[ApprovalItem, ...]:
        """The items in force on ``on``, sorted by code."""
        found = (self._timelines[code].get(on) for code in self.codes())
        return tuple(item for item in found if item is not None)

    def departments(self, on: date) -> tuple[str, ...]:
        """The departments with an item in force on ``on``, sorted."""
        return tuple(sorted({item.department for item in self.items(on)}))

    def summary(self, on: date) -> CatalogSummary:
        """Counts of departments, items and materials (per kind) in force on ``on``."""
        items = self.items(on)
        kinds = [m.kind for item in items for m in item.materials]
        return CatalogSummary(
            catalog=self.name,
            version=self.version,
            on=on,
            departments=len({item.department for item in items}),
            items=len(items),
            materials=len(kinds),
            required=kinds.count(MaterialKind.REQUIRED),
            deferrable=kinds.count(MaterialKind.DEFERRABLE),
            waivable=kinds.count(MaterialKind.WAIVABLE),
            licence=kinds.count(MaterialKind.LICENCE),
        )

    def format(self, on: date) -> str:
        """The readable summary of :meth:`summary` on ``on``."""
        return self.summary(on).format()


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
    materials: list[_MaterialSchema] = attrs.field(factory=list)


@attrs.frozen
class _HeaderSchema:
    name: str
    version: str


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
    )


def _timeline_name(code: str) -> str:
    return f"approval item {code}"


def _load(data: object, source: str) -> Catalog:
    schema = structure(data, _CatalogSchema, source=source)
    problems = _blank("catalog.name", schema.catalog.name)
    problems.extend(_blank("catalog.version", schema.catalog.version))
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
        schema.catalog.name, schema.catalog.version, [_build_item(i) for i in schema.items]
    )


@functools.cache
def _sample() -> Catalog:
    resource = importlib.resources.files("creditcommit").joinpath("data/sample_catalog.toml")
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    return _load(data, "creditcommit/data/sample_catalog.toml")
