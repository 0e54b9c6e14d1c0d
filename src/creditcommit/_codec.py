"""JSON (de)serialisation of case events, for the event store.

:func:`event_to_record` turns an event into a :class:`~creditcommit.ports.NewEvent`: a stable
type name (``"case-submitted"``, ...; the list is :data:`EVENT_TYPES` and
``docs/lifecycle.md``) and a JSON-ready payload — dates ``YYYY-MM-DD``, date-times ISO 8601
with their offset, enums by value, sets as sorted arrays. :func:`event_from_record` reads it
back through a strict converter of its own; a stored event that does not decode raises
:class:`~creditcommit.errors.DataFileError` with source ``"event <type>"`` and the path of
every problem inside the payload (``decision.reasons[0].code``).

A payload never changes shape under the same type name: a new shape gets a new name, and
the old name stays readable.

Large documents are stored once, by digest (schema 4 of the SQLite store, a
:class:`~creditcommit.ports.DocumentStore`): given a ``documents`` list, :func:`event_to_record`
writes a :class:`~creditcommit.case.CommitmentSigned` as ``"commitment-signed-ref"`` whose
payload holds the :func:`~creditcommit.ports.document_digest` of the signed letter (the
canonical JSON of the :class:`~creditcommit.commitments.SignedCommitment`) and appends that
text to ``documents``; :func:`event_from_record` resolves it with its ``document`` function.
An event written inline as ``"commitment-signed"`` still reads as before.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError

from creditcommit._converter import describe, make_converter, problems_from
from creditcommit.case import (
    Accepted,
    Case,
    CaseEvent,
    CaseState,
    CaseSubmitted,
    ClockPaused,
    ClockResumed,
    Closed,
    CommitmentSigned,
    CreditChecked,
    CreditRecordCreated,
    DeferredMaterialOverdue,
    HearingHeld,
    LicenceIssued,
    LicencesLookedUp,
    MaterialSupplied,
    RectificationFailed,
    RectificationMet,
    RectificationOrdered,
    Refused,
    Resumed,
    Returned,
    RevocationProposed,
    RevocationRefused,
    Revoked,
    RouteChosen,
    RouteDecided,
    StatementReceived,
    Suspended,
    VerificationRecorded,
    Withdrawn,
)
from creditcommit.commitments import SignedCommitment
from creditcommit.credit import CreditEvidence, CreditLookupFailure
from creditcommit.decision import Applicant, ApplicantKind
from creditcommit.errors import DataFileError, InvalidValue, Problem, TamperedCommitment
from creditcommit.ports import NewEvent, canonical_json, document_digest

__all__ = [
    "COMMITMENT_REF",
    "EVENT_TYPES",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_FORMAT_INLINE",
    "Documents",
    "Resolve",
    "case_from_snapshot",
    "case_to_snapshot",
    "event_from_record",
    "event_to_record",
]

EVENT_TYPES: Mapping[str, type[Any]] = MappingProxyType(
    {
        "case-submitted": CaseSubmitted,
        "credit-checked": CreditChecked,
        "licences-looked-up": LicencesLookedUp,
        "route-decided": RouteDecided,
        "route-chosen": RouteChosen,
        "commitment-signed": CommitmentSigned,
        "accepted": Accepted,
        "material-supplied": MaterialSupplied,
        "clock-paused": ClockPaused,
        "clock-resumed": ClockResumed,
        "suspended": Suspended,
        "resumed": Resumed,
        "licence-issued": LicenceIssued,
        "refused": Refused,
        "withdrawn": Withdrawn,
        "returned": Returned,
        "verification-recorded": VerificationRecorded,
        "deferred-material-overdue": DeferredMaterialOverdue,
        "rectification-ordered": RectificationOrdered,
        "rectification-met": RectificationMet,
        "rectification-failed": RectificationFailed,
        "revocation-proposed": RevocationProposed,
        "statement-received": StatementReceived,
        "hearing-held": HearingHeld,
        "revoked": Revoked,
        "revocation-refused": RevocationRefused,
        "credit-record-created": CreditRecordCreated,
        "closed": Closed,
    }
)
"""The stable type name of every event class, in the order of the lifecycle."""

_NAMES: Mapping[type[Any], str] = {cls: name for name, cls in EVENT_TYPES.items()}

COMMITMENT_REF = "commitment-signed-ref"
"""The type name of a :class:`~creditcommit.case.CommitmentSigned` whose letter is a stored
document: payload ``{"at": ..., "commitment_document": <SHA-256 hex>}``."""

#: Where :func:`event_to_record` and :func:`case_to_snapshot` put the texts of the documents
#: they refer to (the caller stores them with the events).
Documents = list[str]
#: How a reader finds a stored document by digest: its text, or ``None`` when it is missing.
Resolve = Callable[[str], "str | None"]


def commitment_document(signed: SignedCommitment) -> tuple[str, str]:
    """The text a signed letter is stored as (canonical JSON) and its digest."""
    text = canonical_json(_CONVERTER.unstructure(signed))
    return text, document_digest(text)


def _resolve_commitment(digest: object, document: Resolve | None, path: str) -> Any:
    if not isinstance(digest, str) or len(digest) != 64 or digest.strip("0123456789abcdef"):
        raise _Nested((Problem(path, f"expected a SHA-256 digest, got {describe(digest)}"),))
    text = None if document is None else document(digest)
    if text is None:
        raise _Nested(
            (Problem(path, f"the signed letter {digest} is not in the store (document missing)"),)
        )
    if document_digest(text) != digest:
        raise _Nested(
            (Problem(path, f"the stored signed letter {digest[:12]}… does not match its digest"),)
        )
    return json.loads(text)


class _Nested(ValueError):
    """Problems found by a named constructor inside the payload, with their own paths."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


# --- the converter ----------------------------------------------------------------------------


def _is_set(cls: Any) -> bool:
    return cls in (set, frozenset) or typing.get_origin(cls) in (set, frozenset)


def _sorted_array(conv: cattrs.Converter, cls: Any) -> Callable[[Any], list[Any]]:
    args = typing.get_args(cls)
    inner = args[0] if args else Any

    def unstructure(value: Any) -> list[Any]:
        # Sets have no order; the payload (and the log's digests) must not depend on it.
        items = [conv.unstructure(v, unstructure_as=inner) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))

    return unstructure


_OUTCOME_KEYS = ("evidence", "failure")


def _outcome_to(value: CreditEvidence | CreditLookupFailure | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, CreditEvidence):
        return {"evidence": value.to_dict()}
    return {"failure": value.to_dict()}


def _outcome_from(value: object) -> CreditEvidence | CreditLookupFailure | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in _OUTCOME_KEYS:
        raise _Nested(
            (
                Problem(
                    "outcome",
                    "expected nothing, { evidence = {...} } or { failure = {...} }, "
                    f"got {describe(value)}",
                ),
            )
        )
    key, data = next(iter(value.items()))
    try:
        if key == "evidence":
            return CreditEvidence.from_dict(data)
        return CreditLookupFailure.from_dict(data)
    except DataFileError as exc:
        raise _Nested(tuple(_under(f"outcome.{key}", exc.problems))) from None


def _credit_checked_to(event: CreditChecked) -> dict[str, Any]:
    return {"at": event.at.isoformat(), "outcome": _outcome_to(event.outcome)}


def _credit_checked_from(value: object, _: type) -> CreditChecked:
    if not isinstance(value, Mapping):
        raise _Nested((Problem("", f"expected a table, got {describe(value)}"),))
    problems: list[Problem] = []
    extra = sorted(set(value) - {"at", "outcome"})
    if extra:
        names = ", ".join(repr(k) for k in extra)
        problems.append(Problem("", f"unknown key {names} (allowed: at, outcome)"))
    missing = [key for key in ("at", "outcome") if key not in value]
    problems += [Problem(key, "required key is missing") for key in missing]
    at = outcome = None
    if "at" in value:
        try:
            at = _CONVERTER.structure(value["at"], dt.datetime)
        except ValueError as exc:
            problems.append(Problem("at", str(exc)))
    if "outcome" in value:
        try:
            outcome = _outcome_from(value["outcome"])
        except _Nested as exc:
            problems += exc.problems
    if problems:
        raise _Nested(tuple(problems))
    assert at is not None
    return CreditChecked(at=at, outcome=outcome)


def _applicant_from(value: object, _: type) -> Applicant:
    # Stored applicants are read back as written (see Applicant.restore); only the shape
    # is checked here.
    if not isinstance(value, Mapping):
        raise _Nested((Problem("", f"expected a table, got {describe(value)}"),))
    problems: list[Problem] = []
    extra = sorted(set(value) - {"identifier", "name", "kind"})
    if extra:
        names = ", ".join(repr(k) for k in extra)
        problems.append(Problem("", f"unknown key {names} (allowed: identifier, name, kind)"))
    for key in ("identifier", "name"):
        if not isinstance(value.get(key), str):
            problems.append(Problem(key, f"expected text, got {describe(value.get(key))}"))
    kind = ApplicantKind.LEGAL_PERSON
    if "kind" in value:
        try:
            kind = ApplicantKind(value["kind"])
        except ValueError:
            known = ", ".join(k.value for k in ApplicantKind)
            problems.append(
                Problem("kind", f"expected one of {known}, got {describe(value['kind'])}")
            )
    if problems:
        raise _Nested(tuple(problems))
    return Applicant.restore(value["identifier"], value["name"], kind)


def _make() -> cattrs.Converter:
    conv = make_converter()
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    # With the offset, so the local day of the event survives the round trip.
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_unstructure_hook_factory(_is_set, lambda cls: _sorted_array(conv, cls))
    # The credit outcome is a tagged union, {"evidence": ...} or {"failure": ...}, written
    # with the classes' own to_dict() so that the evidence digest stays checkable.
    conv.register_unstructure_hook(CreditChecked, _credit_checked_to)
    conv.register_structure_hook(CreditChecked, _credit_checked_from)
    conv.register_structure_hook(Applicant, _applicant_from)
    return conv


_CONVERTER = _make()

# --- records ----------------------------------------------------------------------------------


def event_to_record(event: CaseEvent, documents: Documents | None = None) -> NewEvent:
    """The event as the store appends it: its type name and a JSON-ready payload.

    With ``documents`` (a store that keeps documents), a signed letter is written as
    :data:`COMMITMENT_REF` and its text appended to ``documents``.
    """
    name = _NAMES.get(type(event))
    if name is None:
        raise TypeError(f"not a case event: {event!r}")
    if documents is not None and isinstance(event, CommitmentSigned):
        text, digest = commitment_document(event.commitment)
        documents.append(text)
        return NewEvent(COMMITMENT_REF, {"at": event.at.isoformat(), "commitment_document": digest})
    return NewEvent(name, _CONVERTER.unstructure(event))


def event_from_record(
    type: str, payload: Mapping[str, Any], document: Resolve | None = None
) -> CaseEvent:
    """The event stored as ``type`` with ``payload`` (as :func:`event_to_record` wrote it).

    ``document`` finds a stored document by digest (for :data:`COMMITMENT_REF`).

    :raises DataFileError: an unknown type name, or a payload that does not decode (or
        refers to a document that is missing or does not match its digest); the source is
        ``"event <type>"`` and every problem has its path in the payload.
    """
    source = f"event {type}"
    if type == COMMITMENT_REF:
        try:
            if not isinstance(payload, Mapping) or set(payload) != {"at", "commitment_document"}:
                raise _Nested(
                    (Problem("", f"expected {{at, commitment_document}}, got {describe(payload)}"),)
                )
            commitment = _resolve_commitment(
                payload["commitment_document"], document, "commitment_document"
            )
            event: CaseEvent = _CONVERTER.structure(
                {"at": payload["at"], "commitment": commitment}, CommitmentSigned
            )
        except Exception as exc:  # every decoding failure becomes one typed error
            raise DataFileError(source, _problems(exc)) from None
        return event
    cls = EVENT_TYPES.get(type)
    if cls is None:
        known = ", ".join(EVENT_TYPES)
        raise DataFileError(source, [Problem("", f"unknown event type {type!r} (known: {known})")])
    try:
        event = _CONVERTER.structure(payload, cls)
    except Exception as exc:  # every decoding failure becomes one typed error
        raise DataFileError(source, _problems(exc)) from None
    return event


def _under(path: str, problems: tuple[Problem, ...] | list[Problem]) -> list[Problem]:
    return [Problem(_join(path, p.path), p.message) for p in problems]


def _join(path: str, sub: str | int) -> str:
    if isinstance(sub, int):
        return f"{path}[{sub}]"
    if not sub:
        return path
    if not path:
        return sub
    return f"{path}{sub}" if sub.startswith("[") else f"{path}.{sub}"


def _problems(exc: BaseException, path: str = "") -> list[Problem]:
    """Every problem in a structuring failure, with paths inside the payload."""
    if isinstance(exc, IterableValidationError):
        found: list[Problem] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            found += _problems(sub, _join(path, note.index))
        for sub in without:
            found += _problems(sub, path)
        return found
    if isinstance(exc, ClassValidationError):
        found = []
        class_notes, class_without = exc.group_exceptions()
        for sub, cnote in class_notes:
            found += _problems(sub, _join(path, cnote.name))
        for sub in class_without:
            found += _problems(sub, path)
        return found
    if isinstance(exc, _Nested | InvalidValue | DataFileError):
        return _under(path, exc.problems)
    return problems_from(exc, path)


# --- snapshots of a case (the projection) -------------------------------------------------------

SNAPSHOT_FORMAT = 2
"""The shape of :func:`case_to_snapshot`'s data; a new shape gets a new number.

Format 2 holds the signed letter (``commitment``) as ``{"document": <SHA-256 hex>}``, a
stored document; format 1 (:data:`SNAPSHOT_FORMAT_INLINE`) holds it inline."""

SNAPSHOT_FORMAT_INLINE = 1
"""The snapshot format with the signed letter inline (a store without documents)."""

# Case fields holding one event (or None) and a tuple of events: written as records
# ({"type": ..., "payload": ...}) so that unions of events need no other tagging.
_EVENT_FIELDS = frozenset(
    {
        "submission",
        "credit",
        "licence_lookup",
        "acceptance",
        "pause",
        "suspension",
        "licence",
        "closure",
        "rectification",
        "rectification_failure",
        "proposal",
        "hearing",
        "revocation",
        "closed",
    }
)
_EVENT_TUPLES = frozenset({"supplied", "verifications", "statements"})
_CASE_TYPES: Mapping[str, Any] = MappingProxyType(typing.get_type_hints(Case))
_NOT_STORED = frozenset({"history", "state"})


def _record(event: CaseEvent) -> dict[str, Any]:
    record = event_to_record(event)
    return {"type": record.type, "payload": record.payload}


def _unrecord(value: Any) -> CaseEvent:
    if not isinstance(value, Mapping) or set(value) != {"type", "payload"}:
        raise ValueError(f"expected an event record {{type, payload}}, got {describe(value)}")
    return event_from_record(value["type"], value["payload"])


#: A memo of :func:`case_to_snapshot`'s parts: ``id(value) -> (value, JSON data)``.
SnapshotParts = MutableMapping[int, tuple[object, Any]]

#: How many parts a :data:`SnapshotParts` memo holds before it is emptied.
SNAPSHOT_PARTS_LIMIT = 8192


def case_to_snapshot(
    case: Case,
    documents: Documents | None = None,
    *,
    digest: Callable[[SignedCommitment], str] | None = None,
    parts: SnapshotParts | None = None,
) -> dict[str, Any]:
    """The case's folded state as JSON data: every field but its history, and its version.

    Events inside it are event records as :func:`event_to_record` writes them. Two cases
    with equal fields have equal snapshots (sets sorted), so the canonical JSON of a
    snapshot can be compared with that of the fold of the events.

    Without ``documents`` the snapshot is of format :data:`SNAPSHOT_FORMAT_INLINE` (the
    signed letter inline); with it, of format :data:`SNAPSHOT_FORMAT`: the letter is
    ``{"document": digest}`` and its text is appended to ``documents`` — unless ``digest``
    (a caller that knows the letter is stored already) gives the digest, then nothing is.

    ``parts`` (the service's, across commands) memoises the JSON data of each field value
    and event by identity: the fields of a case are immutable and a command keeps most of
    them (the submission, the decision, the plan, ...), so the next snapshot of the case
    encodes only what changed. The JSON data in a memo is shared between snapshots: never
    change a snapshot made with one. The result is equal to the one made without.
    """
    found: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT if documents is not None else SNAPSHOT_FORMAT_INLINE,
        "version": case.version,
        "state": case.state.name,
    }
    for field in attrs.fields(Case):
        name = field.name
        if name in _NOT_STORED:
            continue
        value = getattr(case, name)
        if value is None:
            found[name] = None
        elif name == "commitment" and documents is not None:
            if digest is not None:
                found[name] = {"document": digest(value)}
            else:
                text, key = commitment_document(value)
                documents.append(text)
                found[name] = {"document": key}
        elif name in _EVENT_FIELDS:
            found[name] = _record(value) if parts is None else _part(parts, value, _record)
        elif name in _EVENT_TUPLES:
            if parts is None:
                found[name] = [_record(event) for event in value]
            else:
                found[name] = [_part(parts, event, _record) for event in value]
        elif parts is None:
            found[name] = _CONVERTER.unstructure(value, unstructure_as=_CASE_TYPES[name])
        else:
            found[name] = _part(parts, value, _UNSTRUCTURERS[name])
    return found


def _unstructurer(kind: Any) -> Callable[[Any], Any]:
    return lambda value: _CONVERTER.unstructure(value, unstructure_as=kind)


_UNSTRUCTURERS: Mapping[str, Callable[[Any], Any]] = MappingProxyType(
    {name: _unstructurer(kind) for name, kind in _CASE_TYPES.items()}
)


def _part(parts: SnapshotParts, value: object, make: Callable[[Any], Any]) -> Any:
    """``make(value)``, memoised in ``parts`` by the identity of ``value`` (kept alive by
    the memo, so its id is not reused while it is there)."""
    found = parts.get(id(value))
    if found is not None and found[0] is value:
        return found[1]
    made = make(value)
    if len(parts) >= SNAPSHOT_PARTS_LIMIT:
        parts.clear()
    parts[id(value)] = (value, made)
    return made


def case_from_snapshot(
    data: Mapping[str, Any],
    history: Sequence[CaseEvent],
    document: Callable[[str], SignedCommitment | None] | None = None,
) -> Case:
    """The case :func:`case_to_snapshot` wrote, with ``history`` as its events.

    ``history`` must hold ``data["version"]`` events (a :class:`~creditcommit.case.History`
    loads them only when asked); ``document`` finds the signed letter a snapshot of format
    :data:`SNAPSHOT_FORMAT` refers to by digest (``None`` when it is missing).
    :raises DataFileError: data that does not decode, with source ``"case snapshot"`` and
    the path of every problem.
    """
    source = "case snapshot"
    problems: list[Problem] = []
    form = data.get("format")
    if form not in (SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_INLINE):
        raise DataFileError(
            source,
            [Problem("format", f"expected {SNAPSHOT_FORMAT}, got {describe(form)}")],
        )
    if data.get("version") != len(history):
        problems.append(
            Problem(
                "version", f"expected {len(history)} events, got {describe(data.get('version'))}"
            )
        )
    values: dict[str, Any] = {"history": history}
    try:
        values["state"] = CaseState[data["state"]]
    except (KeyError, TypeError):
        problems.append(
            Problem("state", f"expected a case state, got {describe(data.get('state'))}")
        )
    for field in attrs.fields(Case):
        name = field.name
        if name in _NOT_STORED:
            continue
        if name not in data:
            problems.append(Problem(name, "required key is missing"))
            continue
        value = data[name]
        try:
            if value is None:
                values[name] = None
            elif name == "commitment" and form == SNAPSHOT_FORMAT:
                values[name] = _snapshot_letter(value, document)
            elif name in _EVENT_FIELDS:
                values[name] = _unrecord(value)
            elif name in _EVENT_TUPLES:
                values[name] = tuple(_unrecord(item) for item in value)
            else:
                values[name] = _CONVERTER.structure(value, _CASE_TYPES[name])
        except DataFileError as exc:
            problems += _under(name, exc.problems)
        except TamperedCommitment:
            raise  # a stored letter changed: named as such, not as undecodable data
        except Exception as exc:
            problems += _problems(exc, name)
    if problems:
        raise DataFileError(source, problems)
    return Case(**values)


def _snapshot_letter(
    value: object, document: Callable[[str], SignedCommitment | None] | None
) -> SignedCommitment:
    if not isinstance(value, Mapping) or set(value) != {"document"}:
        raise ValueError(f"expected {{document: <SHA-256>}}, got {describe(value)}")
    digest = value["document"]
    found = None if document is None or not isinstance(digest, str) else document(digest)
    if found is None:
        raise ValueError(f"the signed letter {describe(digest)} is not in the store")
    return found
