"""Errors raised by creditcommit.

Every error the library raises on purpose is a :class:`CreditCommitError`. The subclasses
say what went wrong in words a city developer understands and carry the data needed to act
on it (the file and the path inside it, the year, the rule that failed, ...), so callers can
handle them without parsing messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "CalendarCoverageError",
    "ConcurrencyError",
    "ConflictingValues",
    "CreditCommitError",
    "DataFileError",
    "DecisionMismatch",
    "DrawError",
    "DrawVerificationError",
    "DuplicateKey",
    "DuplicateLicence",
    "HistoryUnavailable",
    "IllegalTransition",
    "InvalidIdentifier",
    "InvalidValue",
    "LicenceHolderMismatch",
    "MissingAuthorisation",
    "NoValueInForce",
    "PluginError",
    "Problem",
    "ReapplicationBarred",
    "ScaleMismatch",
    "SigningKeyMissing",
    "StoreUnavailable",
    "TamperedCommitment",
    "UnknownCase",
    "UnknownCatalog",
    "UnknownGrade",
    "UnknownItem",
    "UnknownLicence",
    "UnknownMaterial",
    "UnknownMessage",
    "UnsupportedSchema",
]


class CreditCommitError(Exception):
    """Base class of every error raised by creditcommit on purpose."""


class DecisionMismatch(CreditCommitError, ValueError):
    """A decision was made for another approval item (or another version of it).

    :ivar item: the item code the plan was asked for.
    :ivar valid_from: the start of that item version.
    :ivar decision_item: the item code the decision was made for.
    :ivar decision_valid_from: the item version the decision was made under.
    """

    def __init__(
        self, item: str, valid_from: dt.date, decision_item: str, decision_valid_from: dt.date
    ) -> None:
        self.item = item
        self.valid_from = valid_from
        self.decision_item = decision_item
        self.decision_valid_from = decision_valid_from
        super().__init__(
            f"the decision was made for item {decision_item!r} (version of "
            f"{decision_valid_from.isoformat()}), not for item {item!r} (version of "
            f"{valid_from.isoformat()})"
        )


class InvalidIdentifier(CreditCommitError, ValueError):
    """An identifier (USCC, resident identity number, ...) failed validation.

    :ivar kind: which identifier, e.g. ``"USCC"``.
    :ivar value: the text as given.
    :ivar rule: the rule that failed: ``"length"``, ``"charset"``, ``"division"``,
        ``"birth-date"``, ``"check"``, ...
    :ivar detail: a sentence saying what was expected.
    """

    def __init__(self, kind: str, value: str, rule: str, detail: str) -> None:
        self.kind = kind
        self.value = value
        self.rule = rule
        self.detail = detail
        super().__init__(f"invalid {kind} {value!r}: {detail} (rule: {rule})")


class CalendarCoverageError(CreditCommitError, LookupError):
    """The working-day calendar has no official data for a year.

    Deadlines are never guessed: load the year's State Council notice as an override
    (see :meth:`creditcommit.WorkingCalendar.with_override`) or upgrade the holiday data.
    """

    def __init__(self, year: int, covered: tuple[int, int] | None = None) -> None:
        self.year = year
        self.covered = covered
        span = f" (data covers {covered[0]}-{covered[1]})" if covered else ""
        super().__init__(
            f"no official holiday data for {year}{span}; load the year's State Council "
            "notice as a calendar override or upgrade the holiday data"
        )


class NoValueInForce(CreditCommitError, LookupError):
    """A dated value was asked for on a day no entry covers."""

    def __init__(self, name: str, day: dt.date) -> None:
        self.name = name
        self.day = day
        super().__init__(f"no value of {name!r} is in force on {day.isoformat()}")


class ConflictingValues(CreditCommitError, ValueError):
    """Two dated entries claim the same day, so it is unclear which one is in force."""

    def __init__(self, name: str, day: dt.date, detail: str = "") -> None:
        self.name = name
        self.day = day
        self.detail = detail
        more = f": {detail}" if detail else ""
        super().__init__(f"two values of {name!r} are in force on {day.isoformat()}{more}")


class UnknownGrade(CreditCommitError, LookupError):
    """A credit grade that the grade scale does not define."""

    def __init__(self, scale: str, grade: str, known: Sequence[str]) -> None:
        self.scale = scale
        self.grade = grade
        self.known = tuple(known)
        super().__init__(
            f"grade {grade!r} is not on the {scale!r} scale (known: {', '.join(self.known)})"
        )


class ScaleMismatch(CreditCommitError, ValueError):
    """Grades from two different scales were compared."""

    def __init__(self, left: str, right: str) -> None:
        self.left = left
        self.right = right
        super().__init__(f"cannot compare grades of the {left!r} and {right!r} scales")


class UnknownItem(CreditCommitError, LookupError):
    """An approval item code that the catalogue does not define on the given day."""

    def __init__(self, code: str, day: dt.date | None = None) -> None:
        self.code = code
        self.day = day
        on = f" on {day.isoformat()}" if day else ""
        super().__init__(f"approval item {code!r} is not in the catalogue{on}")


class UnknownCatalog(CreditCommitError, LookupError):
    """A bundled catalogue name the library does not ship."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"no bundled catalogue is called {name!r}; the bundled ones are "
            f"{', '.join(repr(k) for k in known)} (or give the path of a catalogue file)"
        )


class UnknownMaterial(CreditCommitError, LookupError):
    """A material code that an approval item does not list."""

    def __init__(self, item: str, code: str) -> None:
        self.item = item
        self.code = code
        super().__init__(f"approval item {item!r} has no material {code!r}")


@attrs.frozen
class Problem:
    """One thing wrong in a data file: where (``items[3].materials[1].kind``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.message}"


class DataFileError(CreditCommitError, ValueError):
    """A data file (catalogue, policy, calendar override, scenario, ...) is malformed.

    :ivar source: the file name, or a description such as ``"<dict>"`` for in-memory data.
    :ivar problems: every problem found, each with the path inside the file.
    """

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("DataFileError needs at least one problem")
        self.source = source
        self.problems = tuple(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}")

    def report(self) -> str:
        """All problems, one per line, each prefixed with the source."""
        return "\n".join(f"{self.source}: {p}" for p in self.problems)


class InvalidValue(CreditCommitError, ValueError):
    """A value object was built in code with fields that break its rules.

    Raised by constructors called from code; data files get :class:`DataFileError` instead.

    :ivar kind: the class being built, e.g. ``"CreditRecord"``.
    :ivar problems: every rule broken, each with the field path, e.g.
        ``Problem("max_publicity_months", "expected at least ...")``.
    """

    def __init__(self, kind: str, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidValue needs at least one problem")
        self.kind = kind
        self.problems = tuple(problems)
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"invalid {kind}: {self.problems[0]}{more}")


class MissingAuthorisation(InvalidValue):
    """An agent (代理人) tried to sign a commitment without the applicant's authorisation.

    国办发〔2020〕42号 as implemented (domain.md §4.2): a commitment made by an agent needs
    the applicant's explicit written authorisation (书面授权委托书).

    :ivar name: the agent's name.
    :ivar problems: the missing authorisation, after any other problem of the signer.
    """

    def __init__(self, name: str, others: Sequence[Problem] = ()) -> None:
        self.name = name
        super().__init__(
            "Signer",
            [
                *others,
                Problem(
                    "authorisation",
                    f"the agent {name!r} needs the applicant's written authorisation "
                    "(书面授权委托书) to sign a commitment; give its reference",
                ),
            ],
        )


class ConcurrencyError(CreditCommitError):
    """Another writer changed the stream first: the append was refused and nothing written.

    Re-read the case and try the action again.
    """

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        self.stream = stream
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream!r} is at version {actual}, not {expected}: another writer "
            "appended first; re-read it and retry"
        )


class DuplicateKey(CreditCommitError):
    """A new stream was appended with an idempotency key that an existing stream holds."""

    def __init__(self, key: str, stream: str) -> None:
        self.key = key
        self.stream = stream
        super().__init__(f"idempotency key {key!r} already belongs to stream {stream!r}")


class IllegalTransition(CreditCommitError):
    """An action that the case's state does not allow.

    :ivar case_id: the case.
    :ivar state: its state when the action was attempted.
    :ivar action: what was attempted (``"accept"``, ``"issue"``, ...).
    :ivar detail: why it is not allowed.
    """

    def __init__(self, case_id: str, state: str, action: str, detail: str = "") -> None:
        self.case_id = case_id
        self.state = state
        self.action = action
        self.detail = detail
        more = f": {detail}" if detail else ""
        super().__init__(f"case {case_id}: cannot {action} in state {state}{more}")


class PluginError(CreditCommitError):
    """The installed plugins do not give one clear answer for a port of a city.

    Raised when no plugin (and no built-in default) provides a single-answer port such as the
    credit source, when two plugins both claim it for the same city, or when a plugin
    implements a hook that does not exist (a misspelling).
    """


class UnknownMessage(CreditCommitError, LookupError):
    """An outbox message key that the store does not hold."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"the outbox has no message with key {key!r}")


class UnsupportedSchema(CreditCommitError):
    """The store file was written by a newer creditcommit with a schema this one cannot read."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path}: the event store has schema version {found}, but this creditcommit "
            f"understands versions up to {supported}; upgrade creditcommit to open it"
        )


class StoreUnavailable(CreditCommitError):
    """The event store could not be used now: another writer held its lock longer than the
    busy timeout, or the database could not be opened or written.

    :ivar store: the store (its file or URL).
    :ivar reason: what the database said.

    Nothing was written; try again later (a lock held this long usually means a stuck
    process or a backup holding the file).
    """

    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.reason = reason
        super().__init__(
            f"the event store {store} is unavailable ({reason}); nothing was written, "
            "try again later"
        )


class HistoryUnavailable(CreditCommitError):
    """The history of a case read from its projection was asked for after the service that
    read it (and its event store) was closed: the events are read when first needed.

    :ivar case_id: the case.
    """

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(
            f"case {case_id}: its history is read from the event store when first needed, "
            "and the store was closed; read case.history before closing the service"
        )


class UnknownLicence(CreditCommitError, LookupError):
    """A licence reference that the e-licence store has no record of (in that city)."""

    def __init__(self, reference: str, city: str) -> None:
        self.reference = reference
        self.city = city
        super().__init__(f"no licence {reference!r} is recorded for city {city}")


class UnknownCase(CreditCommitError, LookupError):
    """A case id the event store has no events for."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id!r} is recorded")


class DrawError(CreditCommitError, ValueError):
    """A draw (抽查) cannot be made as asked.

    :ivar rule: the rule broken: ``"draw-id"``, ``"per-target"``, ``"seed"``,
        ``"commitment"``, ``"beacon"``, ``"ratio"``, ``"grade"``, ``"input"``,
        ``"duplicate"``, ``"roster"``, ``"conflict"``, ``"counts"``, ``"population"`` or
        ``"coverage"`` (a drawn target has too few eligible inspectors).
    :ivar detail: a sentence saying what is wrong.
    :ivar target: the target concerned, if any.
    :ivar eligible: for ``"coverage"``: how many inspectors could inspect the target.
    :ivar needed: for ``"coverage"``: how many it needs (``per_target``).
    """

    def __init__(
        self,
        rule: str,
        detail: str,
        *,
        target: str | None = None,
        eligible: int | None = None,
        needed: int | None = None,
    ) -> None:
        self.rule = rule
        self.detail = detail
        self.target = target
        self.eligible = eligible
        self.needed = needed
        super().__init__(f"cannot draw: {detail} (rule: {rule})")


class DrawVerificationError(CreditCommitError, ValueError):
    """A published draw does not verify: re-running it gives something else.

    :ivar draw_id: the draw.
    :ivar differences: every difference found, one sentence each.
    """

    def __init__(self, draw_id: str, differences: Iterable[str]) -> None:
        self.draw_id = draw_id
        self.differences = tuple(differences)
        if not self.differences:
            raise ValueError("DrawVerificationError needs at least one difference")
        more = len(self.differences) - 1
        tail = f" (and {more} more)" if more else ""
        super().__init__(f"draw {draw_id!r} does not verify: {self.differences[0]}{tail}")


class DuplicateLicence(CreditCommitError, ValueError):
    """A licence number (许可证件编号) that is already used in the city for another licence.

    A licence reference is unique per city: the e-licence store, the publications and a
    later withdrawal all name a licence by it.

    :ivar reference: the licence number.
    :ivar city: the administrative division code.
    :ivar holder: the identifier of the holder the number is already used for, if known.
    :ivar case_id: the case that already issued it, if known.
    """

    def __init__(
        self, reference: str, city: str, *, holder: str | None = None, case_id: str | None = None
    ) -> None:
        self.reference = reference
        self.city = city
        self.holder = holder
        self.case_id = case_id
        known = [
            part
            for part in (
                None if case_id is None else f"case {case_id}",
                None if holder is None else f"holder {holder}",
            )
            if part
        ]
        by = f" ({', '.join(known)})" if known else ""
        super().__init__(
            f"licence number {reference!r} is already used in city {city}{by}; a licence "
            "number must be unique in its city: give another reference"
        )


class LicenceHolderMismatch(CreditCommitError, ValueError):
    """A licence was to be withdrawn for a holder that does not hold it.

    :ivar reference: the licence number.
    :ivar city: the administrative division code.
    :ivar holder: the holder named by the withdrawal.
    :ivar recorded_holder: the holder the e-licence store has the licence recorded for.
    """

    def __init__(self, reference: str, city: str, holder: str, recorded_holder: str) -> None:
        self.reference = reference
        self.city = city
        self.holder = holder
        self.recorded_holder = recorded_holder
        super().__init__(
            f"licence {reference!r} of city {city} is held by {recorded_holder}, not by "
            f"{holder}: another holder's licence is never withdrawn; check the reference"
        )


class TamperedCommitment(CreditCommitError):
    """A stored signed commitment letter (信用承诺书) no longer verifies.

    Its text, its terms or its signature were changed after signing (or it was signed with
    another key). The case is not replayed: a letter that may be forged decides nothing.

    :ivar case_id: the case whose letter fails.
    :ivar detail: what did not verify.
    """

    def __init__(self, case_id: str, detail: str) -> None:
        self.case_id = case_id
        self.detail = detail
        super().__init__(f"case {case_id}: the signed commitment letter does not verify: {detail}")


class SigningKeyMissing(CreditCommitError):
    """No key to sign (or check) commitment letters with is configured.

    :ivar variable: the environment variable the built-in provider reads the key from.
    """

    def __init__(self, variable: str) -> None:
        self.variable = variable
        super().__init__(
            f"no signing key: set the environment variable {variable} to the agency's secret "
            "key (at least 16 characters), or install a plugin that provides a signature "
            "provider (e.g. a CA-issued SM2 certificate); commitment letters are never signed "
            "without a key"
        )


class ReapplicationBarred(CreditCommitError):
    """The applicant may not apply for this licence again yet (不得再次申请).

    行政许可法 第七十八条 (concealment or false material at application: one year) and
    第七十九条 (a licence obtained by fraud or bribery: three years) bar applying for the
    *same* licence; the application is refused and nothing is recorded.

    :ivar item: the item code applied for.
    :ivar applicant: the applicant's identifier.
    :ivar record_id: the credit record the ban follows from.
    :ivar until: the first day a new application is allowed.
    :ivar basis: the article that imposes the ban, e.g.
        ``"中华人民共和国行政许可法 第七十九条"``.
    :ivar reason_zh: the sentence to give the applicant.
    """

    def __init__(
        self,
        *,
        item: str,
        applicant: str,
        record_id: str,
        until: dt.date,
        basis: str,
        reason_zh: str,
    ) -> None:
        self.item = item
        self.applicant = applicant
        self.record_id = record_id
        self.until = until
        self.basis = basis
        self.reason_zh = reason_zh
        super().__init__(
            f"{applicant} may not apply for item {item!r} again before {until.isoformat()}: "
            f"credit record {record_id!r} bars it under {basis} ({reason_zh})"
        )
