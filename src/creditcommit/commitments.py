"""Commitment documents: the notification (信用承诺告知书) and the commitment letter (信用承诺书).

On a commitment route the agency gives the applicant a :class:`Notification` (agency →
applicant) and the applicant signs a :class:`CommitmentLetter` (applicant → agency). Both are
built from the same :class:`CommitmentTerms` — the approval item, the route decision, the
material plan, the applicant, the verification deadline and the publicity period of a
dishonesty record — and rendered from :class:`Templates`, sentences kept as data (TOML) that a
city can override. Rendering is deterministic: the same terms and templates give
byte-identical text or HTML.

:meth:`CommitmentLetter.sign` records who signed and when, together with the exact text
signed and its SHA-256 (:class:`SignedCommitment`), and has a signature provider (the port
:class:`~creditcommit.ports.SignatureProvider`) sign the text and the terms together
(:class:`Signature`), so that changing either is detected. Nothing here reads a clock or a
key: the verification deadline is computed by the caller on the working-day calendar, the
signing time is passed in, and the provider holds the key.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import hmac
import html
import importlib.resources
import json
import os
import string
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, Protocol, Self, get_args, runtime_checkable

import attrs

from creditcommit._converter import read_toml, structure
from creditcommit.catalog import ApprovalItem, ItemKind, MaterialKind, VerificationMethod
from creditcommit.credit import (
    DEFAULT_PUBLICITY_MONTHS,
    PublicityPeriod,
    Severity,
    publicity_periods,
)
from creditcommit.decision import Applicant, Decision
from creditcommit.effective import LegalReference
from creditcommit.errors import DataFileError, InvalidValue, MissingAuthorisation, Problem
from creditcommit.supervision import correction_basis

__all__ = [
    "COMMITMENT_PUBLICITY",
    "COMMITMENT_PUBLICITY_BASIS",
    "CommitmentLetter",
    "CommitmentTerms",
    "MaterialTerm",
    "Notification",
    "PlanLike",
    "PlanLineLike",
    "SIGNED_CONTENT_VERSION",
    "Signature",
    "SignatureProvider",
    "SignedCommitment",
    "Signer",
    "SignerRole",
    "Templates",
    "cite",
]

Language = Literal["zh", "en"]
Format = Literal["text", "html"]
DispositionValue = Literal["submitted", "retrieved", "waived", "deferred", "missing"]

_LANGUAGES: tuple[Language, ...] = get_args(Language)
_FORMATS: tuple[Format, ...] = get_args(Format)
_DISPOSITIONS: tuple[DispositionValue, ...] = get_args(DispositionValue)

COMMITMENT_PUBLICITY: PublicityPeriod = DEFAULT_PUBLICITY_MONTHS[Severity.SERIOUS]
"""Default publicity period of the dishonesty record of a false or unfulfilled commitment.

The serious period of NDRC Order No. 36: at least 12 and at most 36 months, the longest a
record may be published. ``CommitmentTerms.build`` uses the serious period of the
instrument in force on the issue day instead (:func:`~creditcommit.credit.publicity_periods`).
Pass another :class:`~creditcommit.credit.PublicityPeriod` where local rules say otherwise.
"""

COMMITMENT_PUBLICITY_BASIS = LegalReference("信用修复管理办法（国家发展改革委令第36号）")
"""Legal reference printed with :data:`COMMITMENT_PUBLICITY`."""


# --- what is read from a material plan ----------------------------------------------------


class PlanLineLike(Protocol):
    """What a commitment document reads from one line of a material plan.

    :class:`creditcommit.materials.MaterialLine` provides it. ``disposition`` is an enum whose
    value is one of ``"submitted"``, ``"retrieved"``, ``"waived"``, ``"deferred"``,
    ``"missing"`` (or that string itself); ``due`` is set for deferred materials only.
    """

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def disposition(self) -> enum.Enum | str: ...
    @property
    def due(self) -> dt.date | None: ...


class PlanLike(Protocol):
    """What a commitment document reads from a material plan: its lines, in catalogue order.

    :class:`creditcommit.materials.MaterialPlan` provides it.
    """

    @property
    def lines(self) -> Sequence[PlanLineLike]: ...


# --- templates ------------------------------------------------------------------------------

# Placeholders every template may use: the document's context.
_CONTEXT = ("item", "code", "agency", "applicant", "identifier", "date")


@attrs.frozen
class _Key:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


def _key(required: str = "", optional: str = "") -> _Key:
    return _Key(tuple(required.split()), tuple(optional.split()))


_PLAIN = _key()
_MATERIAL = _key("material")
_VERIFY = _key("deadline method")
_RECORD = _key("min_publicity max_publicity", "publicity_basis")

# section -> key -> placeholders. The single source of truth: the TOML schema, the check of
# a city's file and docs/commitments.md all follow it.
_SPEC: Mapping[str, Mapping[str, _Key]] = {
    "common": {
        "heading": _key("number title"),
        "list_item": _key("number text"),
        "item_title": _PLAIN,
        "item_line": _key("item"),
        "agency_line": _key("agency"),
        "basis_line": _key("basis"),
        "separator": _PLAIN,
        "conditions_title": _PLAIN,
        "route_line": _key("route"),
        "reference_line": _key("reference"),
        "materials_title": _PLAIN,
        "waived_clause": _key("material", "material_code"),
        "deferred_clause": _key("material due", "material_code"),
        "retrieved_line": _key("material", "material_code"),
        "submitted_line": _key("material", "material_code"),
        "missing_line": _key("material", "material_code"),
        "commitments_title": _PLAIN,
        "clause_informed": _PLAIN,
        "clause_conditions": _PLAIN,
        "clause_truthful": _PLAIN,
        "clause_liability": _PLAIN,
        "verification_title": _PLAIN,
        "consequences_title": _PLAIN,
        "choice_title": _PLAIN,
        "month_one": _PLAIN,
        "months": _key("count"),
        "year_one": _PLAIN,
        "years": _key("count"),
    },
    "methods": {method.value.replace("-", "_"): _PLAIN for method in VerificationMethod},
    "notification": {
        "title": _PLAIN,
        "addressee": _key("applicant"),
        "opening": _key("item"),
        "commitments_intro": _PLAIN,
        "how_to_commit": _PLAIN,
        "verification_clause": _VERIFY,
        "verification_exempt": _PLAIN,
        "verification_power": _PLAIN,
        "consequence_revocation": _PLAIN,
        "consequence_correction": _key("basis"),
        "consequence_record": _RECORD,
        "choice_clause": _PLAIN,
        "issuer": _key("agency"),
        "date_line": _key("date"),
    },
    "letter": {
        "title": _PLAIN,
        "addressee": _key("agency"),
        "committer": _key("applicant"),
        "opening": _key("item"),
        "commitments_intro": _PLAIN,
        "verification_clause": _VERIFY,
        "verification_exempt": _PLAIN,
        "verification_power": _PLAIN,
        "consequence_revocation": _PLAIN,
        "consequence_correction": _key("basis"),
        "consequence_record": _RECORD,
        "choice_clause": _PLAIN,
        "signature_blank": _PLAIN,
        "date_blank": _PLAIN,
        "signed_applicant": _key("signer", "signer_identifier"),
        "signed_agent": _key("signer authorisation", "signer_identifier"),
        "signed_at": _key("signed_at"),
    },
}

_DEFAULTS = "creditcommit/data/templates/commitments.toml"


def _all_keys() -> tuple[str, ...]:
    return tuple(
        f"{lang}.{section}.{key}"
        for lang in _LANGUAGES
        for section in _SPEC
        for key in _SPEC[section]
    )


def _spec_of(path: str) -> _Key | None:
    parts = path.split(".")
    if len(parts) != 3 or parts[0] not in _LANGUAGES:
        return None
    return _SPEC.get(parts[1], {}).get(parts[2])


def _placeholders(names: Iterable[str]) -> str:
    return ", ".join(f"${{{name}}}" for name in names)


def _template_problems(path: str, text: str) -> list[Problem]:
    spec = _spec_of(path)
    if spec is None:
        return [Problem(path, "unknown template")]
    template = string.Template(text)
    if not template.is_valid():
        return [
            Problem(
                path,
                "invalid placeholder syntax: write ${name} for a placeholder and $$ for a "
                "dollar sign",
            )
        ]
    used = template.get_identifiers()
    allowed = (*spec.required, *spec.optional, *_CONTEXT)
    found = [
        Problem(path, f"unknown placeholder ${{{name}}} (allowed: {_placeholders(allowed)})")
        for name in used
        if name not in allowed
    ]
    found.extend(
        Problem(path, f"missing placeholder ${{{name}}}")
        for name in spec.required
        if name not in used
    )
    return found


def _texts_problems(texts: Mapping[str, str], *, complete: bool) -> list[Problem]:
    found: list[Problem] = []
    for path in sorted(texts):
        found.extend(_template_problems(path, texts[path]))
    if complete:
        found.extend(
            Problem(path, "required key is missing") for path in _all_keys() if path not in texts
        )
    return found


def _schema_class(name: str, fields: Iterable[str], types: Mapping[str, Any]) -> type[Any]:
    return attrs.make_class(
        name,
        {field: attrs.field(type=types[field], default=None) for field in fields},
        frozen=True,
        kw_only=True,
    )


def _build_schema() -> type[Any]:
    # Schema classes mirror the file and carry types only (see creditcommit._converter);
    # every key is optional so a city's file may override a few sentences.
    sections = {
        section: _schema_class(f"_{section.title()}Schema", keys, dict.fromkeys(keys, str | None))
        for section, keys in _SPEC.items()
    }
    language = _schema_class(
        "_LanguageSchema", sections, {name: cls | None for name, cls in sections.items()}
    )
    return _schema_class("_TemplatesSchema", _LANGUAGES, dict.fromkeys(_LANGUAGES, language | None))


_SCHEMA = _build_schema()


def _flatten(schema: object) -> dict[str, str]:
    texts: dict[str, str] = {}
    for lang in _LANGUAGES:
        language = getattr(schema, lang)
        if language is None:
            continue
        for section, keys in _SPEC.items():
            values = getattr(language, section)
            if values is None:
                continue
            for key in keys:
                text = getattr(values, key)
                if text is not None:
                    texts[f"{lang}.{section}.{key}"] = text
    return texts


def _raw_texts(data: object) -> dict[str, str]:
    """The strings at known paths of unstructured data, to check their placeholders too."""
    texts: dict[str, str] = {}
    if not isinstance(data, Mapping):
        return texts
    for lang in _LANGUAGES:
        language = data.get(lang)
        if not isinstance(language, Mapping):
            continue
        for section, keys in _SPEC.items():
            values = language.get(section)
            if not isinstance(values, Mapping):
                continue
            for key in keys:
                text = values.get(key)
                if isinstance(text, str):
                    texts[f"{lang}.{section}.{key}"] = text
    return texts


def _parse(data: object, source: str, *, complete: bool) -> dict[str, str]:
    try:
        texts = _flatten(structure(data, _SCHEMA, source=source))
    except DataFileError as exc:
        # Report the placeholder problems of the well-formed strings as well.
        more = _texts_problems(_raw_texts(data), complete=False)
        raise DataFileError(source, [*exc.problems, *more]) from None
    problems = _texts_problems(texts, complete=complete)
    if problems:
        raise DataFileError(source, problems)
    return texts


def _frozen_texts(texts: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(texts.items())))


def _sources(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class Templates:
    """The sentences commitment documents are rendered from (告知承诺书格式文本).

    ``texts`` maps ``"<lang>.<section>.<key>"`` (``"zh.letter.title"``) to a
    :class:`string.Template` text; every key of the defaults must be present. Get the
    bundled defaults with :meth:`default`, and a city's version with :meth:`load` (a TOML
    file in the same shape, merged over the defaults). ``sources`` says where the texts came
    from; ``digest`` is the SHA-256 of the texts, recorded with a signed letter.
    """

    texts: Mapping[str, str] = attrs.field(converter=_frozen_texts, hash=False)
    sources: tuple[str, ...] = attrs.field(default=(_DEFAULTS,), converter=_sources, eq=False)
    digest: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        problems = _texts_problems(self.texts, complete=True)
        if problems:
            raise InvalidValue("Templates", problems)
        canonical = json.dumps(dict(self.texts), ensure_ascii=False, sort_keys=True)
        object.__setattr__(self, "digest", hashlib.sha256(canonical.encode("utf-8")).hexdigest())

    @classmethod
    def default(cls) -> Templates:
        """The bundled Chinese and English defaults (``data/templates/commitments.toml``)."""
        return _default_templates()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Templates:
        """The defaults with a city's TOML file merged over them.

        Unknown keys, non-string values, unknown or missing placeholders raise
        :class:`~creditcommit.errors.DataFileError` naming the file and every problem.
        """
        return cls.default().merged(read_toml(path), source=os.fspath(path))

    @classmethod
    def from_dict(cls, data: object, source: str = "<dict>") -> Templates:
        """The defaults with plain data (as read from TOML) merged over them."""
        return cls.default().merged(data, source=source)

    def merged(self, data: object, source: str = "<dict>") -> Templates:
        """These templates with the texts in ``data`` (same shape as the file) replacing theirs."""
        texts = _parse(data, source, complete=False)
        return Templates({**self.texts, **texts}, (*self.sources, source))

    def text(self, lang: Language, key: str) -> str:
        """The raw template ``"<section>.<key>"`` in ``lang``: ``text("zh", "letter.title")``."""
        return self.texts[f"{lang}.{key}"]

    def fill(self, lang: Language, key: str, values: Mapping[str, str] | None = None) -> str:
        """Template ``"<section>.<key>"`` in ``lang`` with its placeholders filled in.

        A placeholder without a value is an error (``KeyError``), never left in the text.
        """
        return _fill(self.text(lang, key), values or {})


@functools.lru_cache(maxsize=1024)
def _template(text: str) -> string.Template:
    """The template of ``text`` (a letter fills some 60 of them; each is made once)."""
    return string.Template(text)


@functools.lru_cache(maxsize=1024)
def _format_pattern(text: str) -> str | None:
    """``text`` (a :class:`string.Template`) as a :meth:`str.format_map` pattern, or None
    if it has an invalid placeholder (``$`` not followed by a name, ``${`` or ``$``).

    ``$name`` and ``${name}`` become ``{name}``, ``$$`` a ``$``, and braces in the text are
    doubled; filling the pattern gives the text ``Template.substitute`` gives, in one C
    call instead of a regular-expression callback per placeholder.
    """
    parts: list[str] = []
    end = 0
    for match in string.Template.pattern.finditer(text):
        parts.append(text[end : match.start()].replace("{", "{{").replace("}", "}}"))
        end = match.end()
        if match.group("invalid") is not None:
            return None
        if match.group("escaped") is not None:
            parts.append("$")
        else:
            parts.append("{" + (match.group("named") or match.group("braced")) + "}")
    parts.append(text[end:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts)


def _fill(text: str, values: Mapping[str, str]) -> str:
    """``string.Template(text).substitute(values)``, through its compiled format pattern.

    A placeholder without a value raises ``KeyError`` (as ``substitute`` does); a template
    with an invalid placeholder is filled by ``substitute`` itself, which raises
    ``ValueError``.
    """
    pattern = _format_pattern(text)
    if pattern is None:
        return _template(text).substitute(values)
    return pattern.format_map(values)


@functools.cache
def _default_templates() -> Templates:
    resource = importlib.resources.files("creditcommit").joinpath("data/templates/commitments.toml")
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    return Templates(_parse(data, _DEFAULTS, complete=True), (_DEFAULTS,))


# --- terms ----------------------------------------------------------------------------------

# The only kind of material each excusing disposition applies to; statutory (required)
# materials are never waived or deferred.
_KIND_OF: Mapping[str, MaterialKind] = {
    "retrieved": MaterialKind.LICENCE,
    "waived": MaterialKind.WAIVABLE,
    "deferred": MaterialKind.DEFERRABLE,
}


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _is_day(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _disposition_value(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _line_problems(
    code: object, name: object, disposition: object, due: object, path: str = ""
) -> list[Problem]:
    found: list[Problem] = []
    for field, value in (("code", code), ("name", name)):
        if not isinstance(value, str) or not value.strip():
            found.append(Problem(_join(path, field), f"expected a non-empty string, got {value!r}"))
    if disposition not in _DISPOSITIONS:
        known = ", ".join(repr(d) for d in _DISPOSITIONS)
        found.append(
            Problem(_join(path, "disposition"), f"expected one of {known}, got {disposition!r}")
        )
    elif disposition == "deferred":
        if due is None:
            found.append(Problem(_join(path, "due"), "a deferred material needs a due date"))
        elif not _is_day(due):
            found.append(Problem(_join(path, "due"), f"expected a date, got {due!r}"))
    elif due is not None:
        found.append(
            Problem(
                _join(path, "due"),
                f"only a deferred material has a due date, not a {disposition} one",
            )
        )
    return found


@attrs.frozen
class MaterialTerm:
    """One material as a commitment document states it (承诺事项中的一项材料).

    ``disposition`` is ``"submitted"``, ``"retrieved"``, ``"waived"`` (replaced by the
    commitment: 以承诺代替提交), ``"deferred"`` (to follow by ``due``: 容缺后补) or
    ``"missing"``. ``name_en`` is used in English documents when the catalogue has it.
    """

    code: str
    name: str
    disposition: DispositionValue
    due: dt.date | None = None
    name_en: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = _line_problems(self.code, self.name, self.disposition, self.due)
        if problems:
            raise InvalidValue("MaterialTerm", problems)

    def display_name(self, lang: Language) -> str:
        """The name to print in ``lang``."""
        return self.name_en if lang == "en" and self.name_en else self.name


def _terms_problems(
    item: ApprovalItem,
    decision: Decision,
    applicant: Applicant,
    verification_due: dt.date | None,
    issued_on: dt.date,
) -> list[Problem]:
    found: list[Problem] = []
    if decision.item_code != item.code:
        found.append(
            Problem(
                "decision.item_code",
                f"the decision was made for item {decision.item_code!r}, not {item.code!r}",
            )
        )
    elif decision.item_valid_from != item.valid_from:
        found.append(
            Problem(
                "decision.item_valid_from",
                f"the decision was made under the version of {decision.item_valid_from} of "
                f"item {item.code!r}, not the version of {item.valid_from}",
            )
        )
    if decision.applicant != applicant.identifier:
        found.append(
            Problem(
                "decision.applicant",
                f"the decision was made for applicant {decision.applicant!r}, "
                f"not {applicant.identifier!r}",
            )
        )
    if not decision.route.is_commitment:
        found.append(
            Problem(
                "decision.route",
                "the standard route (一般程序) takes no commitment: there is nothing to "
                "notify or to sign",
            )
        )
    if not _is_day(issued_on):
        found.append(Problem("issued_on", f"expected a date, got {issued_on!r}"))
        return found
    if issued_on < decision.decided_on:
        found.append(
            Problem(
                "issued_on",
                f"the document date {issued_on} is before the decision of {decision.decided_on}",
            )
        )
    exempt = item.verification.method is VerificationMethod.EXEMPT
    if exempt and verification_due is not None:
        found.append(
            Problem(
                "verification_due", "the item is exempt from verification (免予核查): no deadline"
            )
        )
    elif not exempt and verification_due is None:
        found.append(
            Problem(
                "verification_due",
                f"the item is verified by {item.verification.method.value!r}: give the "
                "verification deadline (computed on the working-day calendar)",
            )
        )
    elif verification_due is not None and (
        not _is_day(verification_due) or verification_due <= issued_on
    ):
        found.append(
            Problem(
                "verification_due",
                f"expected a date after the document date {issued_on}, got {verification_due!r}",
            )
        )
    return found


def _material_problems(
    item: ApprovalItem, term: MaterialTerm, issued_on: dt.date, path: str
) -> list[Problem]:
    kinds = {m.code: m.kind for m in item.materials}
    if term.code not in kinds:
        return [Problem(_join(path, "code"), f"item {item.code!r} has no material {term.code!r}")]
    found: list[Problem] = []
    needed = _KIND_OF.get(term.disposition)
    kind = kinds[term.code]
    if needed is not None and kind is not needed:
        found.append(
            Problem(
                _join(path, "disposition"),
                f"only a {needed.value} material can be {term.disposition}, "
                f"not the {kind.value} material {term.code!r}",
            )
        )
    if term.due is not None and _is_day(issued_on) and term.due < issued_on:
        found.append(
            Problem(_join(path, "due"), f"due {term.due} is before the document date {issued_on}")
        )
    return found


def _materials(values: Iterable[MaterialTerm]) -> tuple[MaterialTerm, ...]:
    return tuple(values)


@attrs.frozen
class CommitmentTerms:
    """Everything a notification and a commitment letter state (承诺事项).

    Build it with :meth:`build` from the item, the decision, the material plan and the
    applicant. ``verification_due`` is the verification deadline (None if the item is
    exempt), computed by the caller, e.g. ``calendar.add_working_days(issued_on,
    item.verification.deadline_days)``. ``publicity`` is the publicity period of the
    dishonesty record a false or unfulfilled commitment leads to, cited with
    ``publicity_basis``. ``issued_on`` is the document date.
    """

    item: ApprovalItem
    decision: Decision
    applicant: Applicant
    materials: tuple[MaterialTerm, ...] = attrs.field(converter=_materials)
    verification_due: dt.date | None
    issued_on: dt.date
    publicity: PublicityPeriod = attrs.field(default=COMMITMENT_PUBLICITY, kw_only=True)
    publicity_basis: LegalReference = attrs.field(default=COMMITMENT_PUBLICITY_BASIS, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = _terms_problems(
            self.item, self.decision, self.applicant, self.verification_due, self.issued_on
        )
        seen: set[str] = set()
        for i, term in enumerate(self.materials):
            path = f"materials[{i}]"
            problems.extend(_material_problems(self.item, term, self.issued_on, path))
            if term.code in seen:
                problems.append(Problem(_join(path, "code"), f"duplicate material {term.code!r}"))
            seen.add(term.code)
        if problems:
            raise InvalidValue("CommitmentTerms", problems)

    @classmethod
    def build(
        cls,
        item: ApprovalItem,
        decision: Decision,
        plan: PlanLike,
        applicant: Applicant,
        *,
        verification_due: dt.date | None,
        publicity: PublicityPeriod | None = None,
        publicity_basis: LegalReference | None = None,
        issued_on: dt.date | None = None,
    ) -> CommitmentTerms:
        """The terms of an application; ``issued_on`` defaults to the decision's day.

        Raises :class:`~creditcommit.errors.InvalidValue` listing every problem, with paths
        such as ``plan.lines[3].due`` or ``decision.route``: a decision for another item,
        version or applicant, the standard route, a missing or superfluous verification
        deadline, a plan line for a material the item does not list, a statutory material
        waived or deferred, a deferred material without a due date.

        ``publicity`` and ``publicity_basis`` default to the serious period of the NDRC
        instrument in force on the issue day (:func:`~creditcommit.credit.publicity_periods`),
        so that a letter of 2023 cites Order No. 58 and one of 2026-05 Order No. 36.
        """
        day = decision.decided_on if issued_on is None else issued_on
        dated = publicity_periods(day)
        if publicity is None:
            publicity = dated.value[Severity.SERIOUS]
        if publicity_basis is None:
            publicity_basis = dated.reference or COMMITMENT_PUBLICITY_BASIS
        problems = _terms_problems(item, decision, applicant, verification_due, day)
        names_en = {m.code: m.name_en for m in item.materials}
        terms: list[MaterialTerm] = []
        for i, line in enumerate(plan.lines):
            path = f"plan.lines[{i}]"
            disposition = _disposition_value(line.disposition)
            found = _line_problems(line.code, line.name, disposition, line.due, path)
            if found:
                problems.extend(found)
                continue
            term = MaterialTerm(
                line.code,
                line.name,
                disposition,  # type: ignore[arg-type]  # checked by _line_problems
                line.due,
                name_en=names_en.get(line.code),
            )
            problems.extend(_material_problems(item, term, day, path))
            terms.append(term)
        if problems:
            raise InvalidValue("CommitmentTerms", problems)
        return cls(
            item,
            decision,
            applicant,
            terms,
            verification_due,
            day,
            publicity=publicity,
            publicity_basis=publicity_basis,
        )

    def with_disposition(self, disposition: DispositionValue) -> tuple[MaterialTerm, ...]:
        """The materials with ``disposition``, in plan order."""
        return tuple(term for term in self.materials if term.disposition == disposition)

    @property
    def waived(self) -> tuple[MaterialTerm, ...]:
        """The materials replaced by the commitment (以承诺代替提交), in plan order."""
        return self.with_disposition("waived")

    @property
    def deferred(self) -> tuple[MaterialTerm, ...]:
        """The materials to be supplied later (容缺后补), in plan order."""
        return self.with_disposition("deferred")


# --- signing --------------------------------------------------------------------------------


class SignerRole(enum.Enum):
    """Who signs a commitment letter: the applicant itself, or an agent for it."""

    #: The applicant (申请人), e.g. a company under its seal and legal representative.
    APPLICANT = "applicant"
    #: An agent (代理人) with the applicant's written authorisation (书面授权委托书).
    AGENT = "agent"


@attrs.frozen
class Signer:
    """The person or organisation signing a commitment letter (承诺人 / 代理人).

    ``identifier`` is the signer's USCC or resident identity number. An :attr:`SignerRole.AGENT`
    must carry ``authorisation``, the reference of the applicant's written authorisation
    (:class:`MissingAuthorisation` otherwise); an applicant signing itself carries none.
    """

    name: str
    identifier: str
    role: SignerRole = SignerRole.APPLICANT
    authorisation: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = [
            Problem(field, "must not be empty")
            for field in ("name", "identifier")
            if not getattr(self, field).strip()
        ]
        if self.role is SignerRole.AGENT:
            if self.authorisation is None or not self.authorisation.strip():
                raise MissingAuthorisation(self.name, problems)
        elif self.authorisation is not None:
            problems.append(
                Problem(
                    "authorisation",
                    "an applicant signing its own commitment needs no authorisation; "
                    "use role AGENT for an agent",
                )
            )
        if problems:
            raise InvalidValue("Signer", problems)


def _signing_problems(terms: CommitmentTerms, signer: Signer, signed_at: object) -> list[Problem]:
    found: list[Problem] = []
    if signer.role is SignerRole.APPLICANT and signer.identifier != terms.applicant.identifier:
        found.append(
            Problem(
                "signer.identifier",
                f"the applicant is {terms.applicant.identifier!r}, not {signer.identifier!r}; "
                "anyone else signs as an agent with the applicant's authorisation",
            )
        )
    if not isinstance(signed_at, dt.datetime) or signed_at.utcoffset() is None:
        found.append(
            Problem(
                "signed_at",
                f"expected a date-time with a time zone (e.g. +08:00), got {signed_at!r}",
            )
        )
    elif signed_at.date() < terms.issued_on:
        found.append(
            Problem(
                "signed_at",
                f"{signed_at.isoformat()} is before the document date {terms.issued_on}",
            )
        )
    return found


def _render_problems(lang: object, format: object) -> list[Problem]:
    found: list[Problem] = []
    if lang not in _LANGUAGES:
        found.append(Problem("lang", f"expected 'zh' or 'en', got {lang!r}"))
    if format not in _FORMATS:
        found.append(Problem("format", f"expected 'text' or 'html', got {format!r}"))
    return found


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


SIGNED_CONTENT_VERSION = 1
"""The version of :meth:`SignedCommitment.content`, the bytes a signature covers."""


def _text_problems(value: object, path: str) -> list[Problem]:
    if not isinstance(value, str) or not value.strip():
        return [Problem(path, f"expected a non-empty string, got {value!r}")]
    return []


@attrs.frozen
class Signature:
    """A signature over a signed commitment letter's content (承诺书电子签名).

    ``algorithm`` names the scheme (``"hmac-sha256"`` for the built-in provider, e.g.
    ``"sm2-sm3"`` for a CA-issued certificate), ``key_id`` which key signed, and ``value``
    the signature as text (hex or base64, as the provider writes it). Made by a
    :class:`~creditcommit.ports.SignatureProvider`; checked by the same kind of provider.
    """

    algorithm: str
    key_id: str
    value: str

    def __attrs_post_init__(self) -> None:
        problems = [
            found
            for field in ("algorithm", "key_id", "value")
            for found in _text_problems(getattr(self, field), field)
        ]
        if problems:
            raise InvalidValue("Signature", problems)


@runtime_checkable
class SignatureProvider(Protocol):
    """Signs commitment letters (承诺书电子签名) and checks their signatures.

    ``sign(data)`` returns a :class:`~creditcommit.commitments.Signature` over ``data`` (the
    bytes of :meth:`~creditcommit.SignedCommitment.content`: the letter's text digest and
    its terms); ``verify(data, signature)`` returns True only if ``signature`` is one this
    provider (its key) made over exactly ``data``. A signature of another algorithm or key
    is False, never an error. Both may raise :class:`~creditcommit.SigningKeyMissing` when
    the provider has no key. The built-in provider is
    :class:`~creditcommit.builtin.HmacSignatureProvider`; a city's plugin can provide one
    backed by a CA-issued SM2 certificate.
    """

    name: str

    def sign(self, data: bytes) -> Signature: ...

    def verify(self, data: bytes, signature: Signature) -> bool: ...


def _day_text(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


#: The content of letters signed by this process, by object identity (see ``sign``); the
#: object is held with it, so an id is not reused while its entry lives. Bounded.
_CONTENTS: dict[int, tuple[SignedCommitment, bytes]] = {}
_CONTENTS_SIZE = 1024


def _remember_content(signed: SignedCommitment, content: bytes) -> None:
    if len(_CONTENTS) >= _CONTENTS_SIZE:
        _CONTENTS.clear()
    _CONTENTS[id(signed)] = (signed, content)


def _terms_content(terms: CommitmentTerms) -> dict[str, Any]:
    """What a signature binds of the terms: everything the letter states, as plain data.

    Written out field by field (not by a generic converter), so that a field added to a
    catalogue or decision class later does not change the bytes of letters signed before.
    """
    item = terms.item
    decision = terms.decision
    return {
        "item": {
            "code": item.code,
            "valid_from": item.valid_from.isoformat(),
            "name": item.name,
            "department": item.department,
            "legal_basis": [str(ref) for ref in item.legal_basis],
            "verification_method": item.verification.method.value,
        },
        "decision": {
            "item_code": decision.item_code,
            "item_valid_from": decision.item_valid_from.isoformat(),
            "applicant": decision.applicant,
            "route": decision.route.value,
            "decided_on": decision.decided_on.isoformat(),
        },
        "applicant": {"identifier": terms.applicant.identifier, "name": terms.applicant.name},
        "materials": [
            {
                "code": term.code,
                "name": term.name,
                "disposition": term.disposition,
                "due": _day_text(term.due),
            }
            for term in terms.materials
        ],
        "verification_due": _day_text(terms.verification_due),
        "issued_on": terms.issued_on.isoformat(),
        "publicity_months": [terms.publicity.min_months, terms.publicity.max_months],
        "publicity_basis": str(terms.publicity_basis),
    }


@attrs.frozen
class SignedCommitment:
    """A signed commitment letter (已签署的信用承诺书): who signed, when, and exactly what.

    ``text`` is the rendered letter with the signature block, in ``lang`` and ``format``;
    ``sha256`` its SHA-256 hex digest; ``templates_digest`` the :attr:`Templates.digest` it
    was rendered from; ``signature`` the provider's signature over :meth:`content` — the
    text's digest and the terms together. Store them together; :meth:`verify` tells, with
    the provider, whether neither the text nor the terms changed since signing.

    A letter stored before letters were signed has no ``signature`` (``None``): it is
    :attr:`legacy`, and only its text digest can be checked (:meth:`intact`).
    """

    letter: CommitmentLetter
    signer: Signer
    signed_at: dt.datetime
    lang: Language
    format: Format
    templates_digest: str
    text: str
    sha256: str
    signature: Signature | None = None

    def __attrs_post_init__(self) -> None:
        problems = _signing_problems(self.letter.terms, self.signer, self.signed_at)
        problems.extend(_render_problems(self.lang, self.format))
        for field in ("sha256", "templates_digest"):
            value = getattr(self, field)
            if len(value) != 64 or value.strip("0123456789abcdef"):
                problems.append(
                    Problem(field, f"expected 64 lower-case hexadecimal digits, got {value!r}")
                )
        if not self.text:
            problems.append(Problem("text", "must not be empty"))
        if problems:
            raise InvalidValue("SignedCommitment", problems)

    @property
    def legacy(self) -> bool:
        """True for a letter stored before letters were signed: only a SHA-256, no signature."""
        return self.signature is None

    def content(self) -> bytes:
        """The bytes the signature covers: canonical JSON (UTF-8, sorted keys) of the
        content version, the text's SHA-256, how it was rendered, who signed and when, and
        the terms (:data:`SIGNED_CONTENT_VERSION`)."""
        known = _CONTENTS.get(id(self))
        if known is not None and known[0] is self:
            return known[1]
        signer = self.signer
        data = {
            "version": SIGNED_CONTENT_VERSION,
            "text_sha256": self.sha256,
            "templates_digest": self.templates_digest,
            "lang": self.lang,
            "format": self.format,
            "signer": {
                "name": signer.name,
                "identifier": signer.identifier,
                "role": signer.role.value,
                "authorisation": signer.authorisation,
            },
            "signed_at": self.signed_at.isoformat(),
            "terms": _terms_content(self.letter.terms),
        }
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return text.encode("utf-8")

    def intact(self) -> bool:
        """True if ``sha256`` is the SHA-256 of ``text``: the text has not been altered.

        This checks the text against its own digest only; anyone can recompute both.
        :meth:`verify` checks the signature as well.
        """
        return hmac.compare_digest(_sha256(self.text), self.sha256)

    def verify(self, provider: SignatureProvider) -> bool:
        """True if the text is intact and ``provider`` confirms the signature over
        :meth:`content`: neither the text nor the terms changed since signing.

        False for a :attr:`legacy` letter (there is no signature to check). The provider
        may raise, e.g. :class:`~creditcommit.SigningKeyMissing` when it has no key.
        """
        if self.signature is None or not self.intact():
            return False
        return provider.verify(self.content(), self.signature)


# --- documents ------------------------------------------------------------------------------

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ZH_DIGITS = "〇一二三四五六七八九"


# A document number (文号) such as 国办发〔2020〕42号 is cited as it is, not as a title.
def cite(reference: LegalReference, lang: Language = "zh") -> str:
    """A legal reference as an official document cites it.

    In Chinese the instrument's name goes in book-title marks and the article follows
    without a space (《中华人民共和国行政许可法》第六十九条); a trailing note in full-width
    brackets stays outside the marks, a document number (国办发〔2020〕42号) gets none, and a
    name already in marks is left alone. In English, ``str(reference)``.
    """
    return reference.zh if lang == "zh" else str(reference)


def _date_text(day: dt.date, lang: Language) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def _section_number(n: int, lang: Language) -> str:
    if lang == "en" or n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _ZH_DIGITS[tens] + "十")
    return head + (_ZH_DIGITS[ones] if ones or not head else "")


_BlockKind = Literal["text", "item", "ref"]


@attrs.frozen
class _Block:
    kind: _BlockKind
    text: str


@attrs.frozen
class _Section:
    title: str
    blocks: tuple[_Block, ...]


@attrs.frozen
class _Document:
    lang: Language
    title: str
    header: tuple[str, ...]
    opening: str
    sections: tuple[_Section, ...]
    footer: tuple[str, ...]


class _Writer:
    """Fills templates for one document in one language."""

    def __init__(self, terms: CommitmentTerms, templates: Templates, lang: Language) -> None:
        self.terms = terms
        self.templates = templates
        self.lang = lang
        item = terms.item
        self.context = {
            "item": item.name_en if lang == "en" and item.name_en else item.name,
            "code": item.code,
            "agency": item.department,
            "applicant": terms.applicant.name,
            "identifier": terms.applicant.identifier,
            "date": _date_text(terms.issued_on, lang),
        }

    def fill(self, key: str, **values: str) -> str:
        return self.templates.fill(self.lang, key, {**self.context, **values})

    def items(self, texts: Iterable[str]) -> list[_Block]:
        return [
            _Block("item", self.fill("common.list_item", number=str(n), text=text))
            for n, text in enumerate(texts, 1)
        ]

    def period(self, months: int) -> str:
        if months and months % 12 == 0:
            years = months // 12
            return (
                self.fill("common.year_one")
                if years == 1
                else self.fill("common.years", count=str(years))
            )
        return (
            self.fill("common.month_one")
            if months == 1
            else self.fill("common.months", count=str(months))
        )

    def item_section(self) -> _Section:
        separator = self.fill("common.separator")
        basis = separator.join(cite(ref, self.lang) for ref in self.terms.item.legal_basis)
        return _Section(
            self.fill("common.item_title"),
            (
                _Block("text", self.fill("common.item_line")),
                _Block("text", self.fill("common.agency_line")),
                _Block("text", self.fill("common.basis_line", basis=basis)),
            ),
        )

    def conditions_section(self) -> _Section:
        decision = self.terms.decision
        route = decision.route.label_zh if self.lang == "zh" else decision.route.label_en
        blocks = [_Block("text", self.fill("common.route_line", route=route))]
        for n, reason in enumerate(decision.reasons, 1):
            blocks.append(
                _Block(
                    "item",
                    self.fill("common.list_item", number=str(n), text=reason.text(self.lang)),
                )
            )
            blocks.extend(
                _Block("ref", self.fill("common.reference_line", reference=cite(ref, self.lang)))
                for ref in reason.references
            )
        return _Section(self.fill("common.conditions_title"), tuple(blocks))

    def material_text(self, term: MaterialTerm) -> str:
        values = {"material": term.display_name(self.lang), "material_code": term.code}
        if term.disposition == "waived":
            return self.fill("common.waived_clause", **values)
        if term.disposition == "deferred":
            assert term.due is not None  # MaterialTerm's rule
            return self.fill(
                "common.deferred_clause", due=_date_text(term.due, self.lang), **values
            )
        return self.fill(f"common.{term.disposition}_line", **values)

    def materials_section(self) -> _Section | None:
        if not self.terms.materials:
            return None
        texts = [self.material_text(term) for term in self.terms.materials]
        return _Section(self.fill("common.materials_title"), tuple(self.items(texts)))

    def clauses(self, intro: str) -> list[_Block]:
        keys = ("clause_informed", "clause_conditions", "clause_truthful", "clause_liability")
        return [_Block("text", intro), *self.items(self.fill(f"common.{key}") for key in keys)]

    def verification_section(self, voice: str) -> _Section:
        method = self.terms.item.verification.method
        due = self.terms.verification_due
        if due is None:
            first = self.fill(f"{voice}.verification_exempt")
        else:
            first = self.fill(
                f"{voice}.verification_clause",
                deadline=_date_text(due, self.lang),
                method=self.fill(f"methods.{method.value.replace('-', '_')}"),
            )
        return _Section(
            self.fill("common.verification_title"),
            (_Block("text", first), _Block("text", self.fill(f"{voice}.verification_power"))),
        )

    def consequences_section(self, voice: str) -> _Section:
        period = self.terms.publicity
        record = self.fill(
            f"{voice}.consequence_record",
            min_publicity=self.period(period.min_months),
            max_publicity=self.period(period.max_months),
            publicity_basis=cite(self.terms.publicity_basis, self.lang),
        )
        item = self.terms.item
        if item.kind is ItemKind.LICENCE:
            first = self.fill(f"{voice}.consequence_revocation")
        else:
            # A filing (备案) is not a licence: it is corrected under its own rule, not revoked.
            basis = cite(correction_basis(item), self.lang)
            first = self.fill(f"{voice}.consequence_correction", basis=basis)
        return _Section(
            self.fill("common.consequences_title"), (_Block("text", first), _Block("text", record))
        )

    def choice_section(self, voice: str) -> _Section:
        return _Section(
            self.fill("common.choice_title"), (_Block("text", self.fill(f"{voice}.choice_clause")),)
        )

    def notification(self) -> _Document:
        commitments = _Section(
            self.fill("common.commitments_title"),
            (
                *self.clauses(self.fill("notification.commitments_intro")),
                _Block("text", self.fill("notification.how_to_commit")),
            ),
        )
        sections = [
            self.item_section(),
            self.conditions_section(),
            self.materials_section(),
            commitments,
            self.verification_section("notification"),
            self.consequences_section("notification"),
            self.choice_section("notification"),
        ]
        return _Document(
            self.lang,
            self.fill("notification.title"),
            (self.fill("notification.addressee"),),
            self.fill("notification.opening"),
            tuple(s for s in sections if s is not None),
            (self.fill("notification.issuer"), self.fill("notification.date_line")),
        )

    def letter(self, signature: tuple[Signer, dt.datetime] | None) -> _Document:
        commitments = _Section(
            self.fill("common.commitments_title"),
            tuple(self.clauses(self.fill("letter.commitments_intro"))),
        )
        sections = [
            self.item_section(),
            self.conditions_section(),
            commitments,
            self.materials_section(),
            self.verification_section("letter"),
            self.consequences_section("letter"),
            self.choice_section("letter"),
        ]
        if signature is None:
            footer = (self.fill("letter.signature_blank"), self.fill("letter.date_blank"))
        else:
            signer, signed_at = signature
            values = {"signer": signer.name, "signer_identifier": signer.identifier}
            if signer.role is SignerRole.AGENT:
                assert signer.authorisation is not None  # Signer's rule
                who = self.fill("letter.signed_agent", authorisation=signer.authorisation, **values)
            else:
                who = self.fill("letter.signed_applicant", **values)
            footer = (who, self.fill("letter.signed_at", signed_at=signed_at.isoformat()))
        return _Document(
            self.lang,
            self.fill("letter.title"),
            (self.fill("letter.addressee"), self.fill("letter.committer")),
            self.fill("letter.opening"),
            tuple(s for s in sections if s is not None),
            footer,
        )


_INDENT: Mapping[_BlockKind, str] = {"text": "  ", "item": "  ", "ref": "      "}


_CSS = """\
body{margin:2em auto;max-width:46em;padding:0 1em;color:#000;background:#fff;\
font:12pt/1.75 "Songti SC","SimSun","Noto Serif CJK SC","Source Han Serif SC",serif}
h1{margin:0 0 1.2em;text-align:center;font-size:18pt;letter-spacing:.1em}
h2{margin:1.2em 0 .4em;font-size:13pt}
p{margin:.25em 0}
.header p{margin:0}
.opening{text-indent:2em}
.item{padding-left:2em}
.ref{padding-left:4em;font-size:10.5pt}
.footer{margin-top:2.5em}
.footer p{margin:.6em 0}
@media print{@page{size:A4;margin:20mm 18mm}\
body{margin:0;max-width:none;padding:0}\
h2{break-after:avoid}p{orphans:3;widows:3}.footer{break-inside:avoid}}"""

_HTML_LANG: Mapping[Language, str] = {"zh": "zh-CN", "en": "en"}


def _as_html(doc: _Document, headings: Sequence[str]) -> str:
    def esc(text: str) -> str:
        return html.escape(text, quote=True)

    out = [
        "<!DOCTYPE html>",
        f'<html lang="{_HTML_LANG[doc.lang]}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(doc.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        "<article>",
        f"<h1>{esc(doc.title)}</h1>",
        '<div class="header">',
        *(f"<p>{esc(line)}</p>" for line in doc.header),
        "</div>",
        f'<p class="opening">{esc(doc.opening)}</p>',
    ]
    for heading, section in zip(headings, doc.sections, strict=True):
        out.append("<section>")
        out.append(f"<h2>{esc(heading)}</h2>")
        out.extend(f'<p class="{block.kind}">{esc(block.text)}</p>' for block in section.blocks)
        out.append("</section>")
    out.extend(
        (
            '<div class="footer">',
            *(f"<p>{esc(line)}</p>" for line in doc.footer),
            "</div>",
            "</article>",
            "</body>",
            "</html>",
        )
    )
    return "\n".join(out) + "\n"


def _render(doc: _Document, writer: _Writer, format: Format) -> str:
    headings = [
        writer.fill("common.heading", number=_section_number(n, doc.lang), title=section.title)
        for n, section in enumerate(doc.sections, 1)
    ]
    if format == "html":
        return _as_html(doc, headings)
    lines = [doc.title, "", *doc.header, "", doc.opening]
    for heading, section in zip(headings, doc.sections, strict=True):
        lines.extend(("", heading))
        lines.extend(_INDENT[block.kind] + block.text for block in section.blocks)
    lines.extend(("", *doc.footer))
    return "\n".join(lines) + "\n"


def _writer(
    terms: CommitmentTerms, lang: object, format: object, templates: Templates | None
) -> _Writer:
    problems = _render_problems(lang, format)
    if problems:
        raise InvalidValue("render", problems)
    return _Writer(terms, Templates.default() if templates is None else templates, lang)  # type: ignore[arg-type]


@attrs.frozen
class _TermsDocument:
    """What the notification and the letter share: the terms, and building them."""

    terms: CommitmentTerms

    @classmethod
    def build(
        cls,
        item: ApprovalItem,
        decision: Decision,
        plan: PlanLike,
        applicant: Applicant,
        *,
        verification_due: dt.date | None,
        publicity: PublicityPeriod | None = None,
        publicity_basis: LegalReference | None = None,
        issued_on: dt.date | None = None,
    ) -> Self:
        """The document for an application; see :meth:`CommitmentTerms.build`."""
        return cls(
            CommitmentTerms.build(
                item,
                decision,
                plan,
                applicant,
                verification_due=verification_due,
                publicity=publicity,
                publicity_basis=publicity_basis,
                issued_on=issued_on,
            )
        )


@attrs.frozen
class Notification(_TermsDocument):
    """The notification of credit commitment (信用承诺告知书), from the agency to the applicant.

    It tells the applicant, in writing and in one go, the item and its legal basis, why the
    commitment route applies, which materials the commitment replaces or defers, what the
    commitment says and how to make it, how and by when it is verified, the consequences of
    a false or unfulfilled commitment, and the right to choose the standard route instead.
    """

    def letter(self) -> CommitmentLetter:
        """The commitment letter that answers this notification (same terms)."""
        return CommitmentLetter(self.terms)

    def render(
        self,
        lang: Language = "zh",
        format: Format = "text",
        *,
        templates: Templates | None = None,
    ) -> str:
        """The notification as plain text or printable HTML, in Chinese or English."""
        writer = _writer(self.terms, lang, format, templates)
        return _render(writer.notification(), writer, format)


@attrs.frozen
class CommitmentLetter(_TermsDocument):
    """The credit commitment letter (信用承诺书), from the applicant to the agency.

    It carries the four canonical clauses (the applicant knows the notified matters, meets
    the conditions, has given true information, accepts verification and liability), one
    clause per material replaced by the commitment or deferred, and the applicant's
    acknowledgement of the verification, the consequences and the right to choose the
    standard route. :meth:`sign` turns it into a :class:`SignedCommitment`.
    """

    def render(
        self,
        lang: Language = "zh",
        format: Format = "text",
        *,
        templates: Templates | None = None,
    ) -> str:
        """The unsigned letter (blank signature line) as plain text or printable HTML."""
        writer = _writer(self.terms, lang, format, templates)
        return _render(writer.letter(None), writer, format)

    def sign(
        self,
        signer: Signer,
        signed_at: dt.datetime,
        *,
        provider: SignatureProvider,
        lang: Language = "zh",
        format: Format = "text",
        templates: Templates | None = None,
    ) -> SignedCommitment:
        """Sign the letter: render it with the signature block, record its SHA-256, and
        have ``provider`` sign the text and the terms together (:meth:`SignedCommitment.content`).

        ``signed_at`` must carry a time zone and not be before the document date. An
        applicant signs under its own identifier; anyone else signs as an agent with the
        applicant's authorisation. Raises :class:`~creditcommit.errors.InvalidValue`;
        ``provider`` may raise (:class:`~creditcommit.SigningKeyMissing` without a key).
        """
        problems = _signing_problems(self.terms, signer, signed_at)
        problems.extend(_render_problems(lang, format))
        if problems:
            raise InvalidValue("SignedCommitment", problems)
        writer = _writer(self.terms, lang, format, templates)
        text = _render(writer.letter((signer, signed_at)), writer, format)
        unsigned = SignedCommitment(
            letter=self,
            signer=signer,
            signed_at=signed_at,
            lang=lang,
            format=format,
            templates_digest=writer.templates.digest,
            text=text,
            sha256=_sha256(text),
        )
        content = unsigned.content()
        signature = provider.sign(content)
        if not isinstance(signature, Signature):
            raise InvalidValue(
                "SignedCommitment",
                [
                    Problem(
                        "signature",
                        f"the signature provider {getattr(provider, 'name', provider)!r} "
                        f"returned {type(signature).__name__}, not a Signature",
                    )
                ],
            )
        signed = attrs.evolve(unsigned, signature=signature)
        # The signed letter's content is the unsigned one's (the signature is not part of
        # it): verifying the letter later (a service checks every letter it reads) does not
        # build it again.
        _remember_content(signed, content)
        return signed
