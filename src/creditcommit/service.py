"""The approval service (审批服务): the one place that does I/O.

:class:`Approvals` asks the city's ports (through :class:`~creditcommit.plugins.Integrations`),
calls the pure core (:mod:`creditcommit.case`, :func:`creditcommit.decide`, ...), appends the
events it returns to the event store together with the outbox messages they cause, and
delivers the outbox. The clock is injected, so every run can be replayed.

Failures of the city's upstreams never crash a submission: a credit source that is down,
slow or answers garbage is recorded as a :class:`~creditcommit.CreditLookupFailure` and the
application takes the standard route; a licence store that fails means nothing is
retrieved and the materials are demanded. Publication and licence recording go through the
outbox, so a crash between the state change and the delivery loses nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import attrs

from creditcommit import case as lifecycle
from creditcommit import draws as drawing
from creditcommit import publication as publish
from creditcommit._codec import (
    COMMITMENT_REF,
    SNAPSHOT_FORMAT_INLINE,
    Documents,
    SnapshotParts,
    case_from_snapshot,
    case_to_snapshot,
    event_from_record,
    event_to_record,
)
from creditcommit.calendar import CalendarCoverage, WorkingCalendar
from creditcommit.case import (
    Case,
    CaseEvent,
    CaseState,
    CommitmentSigned,
    CreditRecordCreated,
    History,
    LicenceIssued,
    PauseReason,
    Revoked,
    VerificationRecorded,
)
from creditcommit.catalog import ApprovalItem, Catalog, ItemKind, VerificationMethod
from creditcommit.commitments import (
    CommitmentLetter,
    CommitmentTerms,
    Notification,
    SignedCommitment,
    Signer,
)
from creditcommit.config import Config
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    FailureCategory,
    categorise,
    failure_detail,
    sanitise_detail,
)
from creditcommit.decision import Applicant, ProjectFacts, Route
from creditcommit.delivery import (
    DEFAULT_BACKOFF,
    Backoff,
    DeliveryReport,
    Destinations,
    deliver_all,
)
from creditcommit.draws import Conflict, DrawRecord, Inspector, Target, TargetColumns
from creditcommit.errors import (
    ConcurrencyError,
    DuplicateKey,
    DuplicateLicence,
    HistoryUnavailable,
    IllegalTransition,
    StoreUnavailable,
    TamperedCommitment,
    UnknownCase,
)
from creditcommit.materials import LicenceHolding
from creditcommit.metrics import ProjectedCase
from creditcommit.plugins import Integrations
from creditcommit.policy import Policy, PolicySnapshot
from creditcommit.ports import (
    DocumentStore,
    EventStore,
    NewEvent,
    NewStream,
    OutboxMessage,
    Projection,
    ProjectionReader,
    ProjectionStore,
    StoredEvent,
    TransactionalStore,
    VerifyReport,
    canonical_json,
    document_digest,
)
from creditcommit.publication import Publication, Withdrawal, WithdrawalReason
from creditcommit.supervision import Obligation, VerificationOutcome, obligations

__all__ = ["Approvals", "CHINA_TIME", "Clock", "ManualClock", "TickReport", "system_clock"]

#: China Standard Time (UTC+8, no daylight saving): the day a deadline counts from.
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")

#: A clock: returns the current time, with a time zone.
Clock = Callable[[], dt.datetime]

_log = logging.getLogger("creditcommit")


def system_clock() -> dt.datetime:
    """The machine's clock, in China Standard Time."""
    return dt.datetime.now(CHINA_TIME)


class ManualClock:
    """A clock that stands still until told to move: for tests, demos and replays.

    >>> clock = ManualClock(dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME))
    >>> clock.advance(days=3).isoformat()
    '2025-09-29T09:30:00+08:00'
    """

    def __init__(self, start: dt.datetime) -> None:
        self.set(start)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> dt.datetime:
        """Move to ``now`` (which needs a time zone)."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"{now!r} has no time zone")
        self.now = now
        return now

    def advance(self, **delta: float) -> dt.datetime:
        """Move on by ``datetime.timedelta(**delta)``."""
        return self.set(self.now + dt.timedelta(**delta))


@attrs.frozen
class TickReport:
    """What :meth:`Approvals.tick` did: the cases it moved, and the delivery of the outbox.

    ``conflicts`` lists cases another writer changed during the tick; the next tick takes
    them up again.
    """

    at: dt.datetime
    suspended: tuple[str, ...] = ()
    resumed: tuple[str, ...] = ()
    returned: tuple[str, ...] = ()
    #: Cases the tick moved in supervision: deferred materials overdue after issue,
    #: rectification deadlines passed (revocation proposed).
    supervised: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    #: Verifications due (deadline today or later) and overdue, as (case id, obligation).
    verifications_due: tuple[tuple[str, Obligation], ...] = ()
    verifications_overdue: tuple[tuple[str, Obligation], ...] = ()
    #: Outbox publications not yet delivered whose deadline (``publish_by``) has passed.
    publications_overdue: tuple[str, ...] = ()
    delivery: DeliveryReport = attrs.field(factory=lambda: DeliveryReport(drained=True))
    #: Cases the tick could not handle, as (case id, what went wrong): their data no longer
    #: loads, their item left the catalogue, ... They were skipped; every other case ran.
    failed: tuple[tuple[str, str], ...] = ()
    #: Keys of every outbox message now a dead letter (no longer retried; see
    #: ``creditcommit outbox list --dead`` and ``outbox retry``).
    dead_letters: tuple[str, ...] = ()


def _aware(now: dt.datetime, what: str) -> dt.datetime:
    """``now`` in China Standard Time; ``ValueError`` if it has no time zone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{what} {now!r}, a time without a time zone")
    return now.astimezone(CHINA_TIME)


def _check_signable(case: Case) -> None:
    """:class:`IllegalTransition` unless ``case`` is waiting for a commitment to be signed."""
    action = "sign_commitment"
    allowed = lifecycle.ACTIONS[action]
    if case.state not in allowed:
        names = ", ".join(state.name for state in CaseState if state in allowed)
        raise IllegalTransition(case.case_id, case.state.name, action, f"allowed in {names}")
    if case.route is not None and not case.route.is_commitment:
        raise IllegalTransition(
            case.case_id, case.state.name, action, "the standard route takes no commitment"
        )


def _reason(exc: BaseException) -> str:
    """A short, sanitised description of ``exc``; never raises (see ``failure_detail``)."""
    return failure_detail(exc)


def _port_name(port: object) -> str:
    """The port's ``name``, sanitised; its type's name if it has none or it cannot be read."""
    try:
        name = sanitise_detail(str(getattr(port, "name", "") or ""))
    except Exception:  # a name that raises is no name
        name = ""
    return name or type(port).__name__


def _lookup_failure(
    subject: str, source: str, now: dt.datetime, category: FailureCategory, reason: str
) -> CreditLookupFailure:
    """The failure to record; a failure to build it is recorded as an internal failure."""
    try:
        return CreditLookupFailure(
            subject=subject, source=source, attempted_at=now, reason=reason, category=category
        )
    except Exception:  # e.g. a reason that sanitises to nothing
        return CreditLookupFailure(
            subject=subject,
            source=source or "credit-source",
            attempted_at=now,
            reason="the failure could not be described",
            category=FailureCategory.INTERNAL,
        )


def _one_line(exc: BaseException) -> str:
    """What went wrong, on one line and short: for reports that list many cases."""
    return " ".join(_reason(exc).split())


def _case_id(city: str, day: dt.date, number: int) -> str:
    # "N" keeps the id from reading as a resident identity number grouped 6-8-4.
    return f"{city}-{day:%Y%m%d}-N{number:04d}"


def _short(value: object, limit: int = 80) -> str:
    text = canonical_json(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: How many signed letters (and checked letter objects) a service keeps in memory.
_LETTER_CACHE = 4096
#: How many cases a service remembers as it last wrote them (see ``Approvals.case``).
_RECENT_CASES = 1024


def _tick_day(case: Case) -> dt.date | None:
    """The first day a tick must look at ``case`` (the index of its projection).

    A case with an open verification is listed by every tick (``date.min``); otherwise
    the first day :func:`~creditcommit.case.due` may move it (None: never, until another
    event).
    """
    if case.state.name not in _TICKING:
        return None
    if (
        case.state.supervised
        and case.licence is not None
        and case.route is not None
        and case.route.is_commitment
        and not case.verifications
        and not case.verification_exempt
    ):
        return dt.date.min
    return lifecycle.next_deadline(case)


def _joined(reports: Sequence[DeliveryReport], errors: Sequence[str]) -> DeliveryReport:
    """The delivery runs of several cities as one report."""
    return DeliveryReport(
        delivered=tuple(key for report in reports for key in report.delivered),
        failed=tuple(failure for report in reports for failure in report.failed),
        skipped=tuple(key for report in reports for key in report.skipped),
        drained=all(report.drained for report in reports) and not errors,
        error="; ".join(errors) or None,
    )


class Approvals:
    """Cases for one or more cities: submit, decide, commit, accept, issue — with I/O.

    Build it with :meth:`from_config` (a ``creditcommit.toml``), or from its parts. Each
    action reads the case, calls the pure transition, and appends the new events with the
    version it read: a concurrent writer makes it fail with
    :class:`~creditcommit.ConcurrencyError` rather than lose an update.
    """

    def __init__(
        self,
        integrations: Integrations,
        store: EventStore,
        *,
        clock: Clock = system_clock,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self.integrations = integrations
        self.store = store
        self.clock = clock
        self.backoff = backoff
        self.city = integrations.config.city
        self.max_attempts = integrations.config.max_attempts
        self._closed = False
        # Signed letters read or written by digest (immutable: a digest names one text),
        # and those already checked with the signature provider; bounded.
        self._letters: dict[str, SignedCommitment] = {}
        self._letter_digests: dict[int, tuple[SignedCommitment, str]] = {}
        self._checked: dict[int, SignedCommitment] = {}
        self._kinds: tuple[EventStore, ProjectionStore | None, DocumentStore | None] | None = None
        # Inside batch(): listener notifications held until the group commits.
        self._held: list[tuple[str, str, tuple[StoredEvent, ...]]] | None = None
        # The cases this service last wrote, by id (bounded): a command on a case that no
        # other writer touched since starts from the case it made, not from its stored row.
        self._recent: dict[str, tuple[EventStore, Case]] = {}
        # The JSON data of case parts already encoded in a projection (see _projection).
        self._parts: SnapshotParts = {}

    @classmethod
    def from_config(
        cls,
        config: Config | str | os.PathLike[str],
        *,
        clock: Clock = system_clock,
        plugins: Iterable[object] | Mapping[str, object] = (),
        autoload: bool | None = None,
        environ: Mapping[str, str] | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> Approvals:
        """The service for a configuration file (or a loaded :class:`Config`).

        The configured city's ports, catalogue and policy are resolved at once, so a
        misconfiguration (:class:`~creditcommit.PluginError`,
        :class:`~creditcommit.DataFileError`) shows at start-up, not on the first application.
        """
        loaded = config if isinstance(config, Config) else Config.load(config)
        integrations = Integrations.from_config(
            loaded, autoload=autoload, plugins=plugins, environ=environ
        )
        store = integrations.event_store()
        service = cls(integrations, store, clock=clock, backoff=backoff)
        try:
            service.check(loaded.city)
            service.rebuild_projections()
        except BaseException:
            store.close()
            raise
        service._warn_if_the_calendar_ends()
        return service

    def _warn_if_the_calendar_ends(self) -> None:
        """Log the calendar's coverage warning (logger ``creditcommit``), if it has one."""
        try:
            coverage = self.calendar_coverage()
        except ValueError:  # a clock without a time zone: the first action says so
            return
        if coverage.warning is not None:
            _log.warning(
                "city %s: %s",
                self.city,
                coverage.warning,
                extra={"zh": f"城市 {self.city}：{coverage.warning_zh}"},
            )

    def check(self, city: str | None = None) -> None:
        """Resolve every port, the catalogue, the policy and the calendar of ``city``."""
        where = self.city if city is None else city
        self.integrations.credit_source(where)
        self.integrations.licence_store(where)
        self.integrations.credit_registry(where)
        self.integrations.check_credit_loop(where)
        self.integrations.publishing_channels(where)
        self.integrations.catalog(where)
        self.integrations.policy(where)
        self.integrations.calendar(where)
        self.integrations.signature_provider(where)

    def close(self) -> None:
        """Close the event store (a case read from its projection can no longer read its
        history: :class:`~creditcommit.HistoryUnavailable`) and the connections of the
        built-in adapters (which reopen their files if called again)."""
        self._closed = True
        self._recent.clear()
        try:
            self.store.close()
        finally:
            self.integrations.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the city's rules ---------------------------------------------------------------

    def catalog(self, city: str | None = None) -> Catalog:
        """The catalogue of ``city`` (default: the configured city)."""
        return self.integrations.catalog(self.city if city is None else city)

    def policy(self, city: str | None = None) -> Policy:
        """The policy of ``city`` (default: the configured city)."""
        return self.integrations.policy(self.city if city is None else city)

    def calendar(self, city: str | None = None) -> WorkingCalendar:
        """The working-day calendar of ``city`` (default: the configured city)."""
        return self.integrations.calendar(self.city if city is None else city)

    def calendar_coverage(self, city: str | None = None) -> CalendarCoverage:
        """How far the working-day calendar of ``city`` reaches from the clock's day.

        Its ``warning`` is set from 60 days before the last covered day on; the service
        logs it at start-up (:meth:`from_config`, logger ``creditcommit``).
        """
        return self.calendar(city).coverage(self._now().date())

    # -- reading ------------------------------------------------------------------------

    def history(self, case_id: str) -> tuple[StoredEvent, ...]:
        """The stored events of a case, oldest first; :class:`UnknownCase` if there are none."""
        events = self.store.read(case_id)
        if not events:
            raise UnknownCase(case_id)
        return events

    # -- what the store can do, checked once per store object (protocol checks are slow) --

    def _store_kinds(self) -> tuple[ProjectionStore | None, DocumentStore | None]:
        store = self.store
        kinds = self._kinds
        if kinds is None or kinds[0] is not store:
            kinds = (
                store,
                store if isinstance(store, ProjectionStore) else None,
                store if isinstance(store, DocumentStore) else None,
            )
            self._kinds = kinds
        return kinds[1], kinds[2]

    # -- signed letters stored once, by digest ----------------------------------------------

    def _document_text(self, digest: str) -> str | None:
        documents = self._store_kinds()[1]
        return None if documents is None else documents.document(digest)

    def _remember(self, signed: SignedCommitment, digest: str) -> None:
        if len(self._letters) >= _LETTER_CACHE:
            self._letters.clear()
            self._letter_digests.clear()
        self._letters[digest] = signed
        self._letter_digests[id(signed)] = (signed, digest)

    def _document_checked(self, digest: str, case_id: str) -> str | None:
        """The stored letter ``digest`` of ``case_id`` (None when it is missing);
        :class:`TamperedCommitment` when its content no longer matches the digest."""
        text = self._document_text(digest)
        if text is not None and document_digest(text) != digest:
            raise TamperedCommitment(
                case_id,
                f"its stored document {digest[:12]}… does not match the digest its case "
                "records (changed after it was stored)",
            )
        return text

    def _letter(self, digest: str, case_id: str) -> SignedCommitment | None:
        """The signed letter stored under ``digest`` (None when it is missing)."""
        found = self._letters.get(digest)
        if found is not None:
            return found
        text = self._document_checked(digest, case_id)
        if text is None:
            return None
        event = event_from_record(
            COMMITMENT_REF,
            {"at": "2000-01-01T00:00:00+00:00", "commitment_document": digest},
            lambda _: text,
        )
        assert isinstance(event, CommitmentSigned)
        self._remember(event.commitment, digest)
        return event.commitment

    def _decode(self, stored: StoredEvent) -> CaseEvent:
        if stored.type == COMMITMENT_REF:
            digest = stored.payload.get("commitment_document")
            cached = self._letters.get(digest) if isinstance(digest, str) else None
            if cached is not None:
                at = dt.datetime.fromisoformat(str(stored.payload.get("at")))
                return CommitmentSigned(at=at, commitment=cached)
            event = event_from_record(
                stored.type,
                stored.payload,
                lambda digest: self._document_checked(digest, stored.stream),
            )
            assert isinstance(event, CommitmentSigned)
            assert isinstance(digest, str)
            self._remember(event.commitment, digest)
            return event
        return event_from_record(stored.type, stored.payload)

    def _known_digest(self, signed: SignedCommitment) -> str | None:
        found = self._letter_digests.get(id(signed))
        return found[1] if found is not None and found[0] is signed else None

    def case(self, case_id: str) -> Case:
        """The case as its events say it is now.

        With a :class:`~creditcommit.ports.ProjectionStore` (the SQLite store) the case is
        read from its projection, one row, and its :attr:`~creditcommit.Case.history` is
        read only when something asks for it; otherwise its events are folded.
        The case's signed commitment letter (every one in its history, when the events were
        folded) is checked with the city's signature provider: one that no longer verifies
        raises :class:`TamperedCommitment`. A letter stored before letters were signed
        (:attr:`~creditcommit.SignedCommitment.legacy`) has only its text digest checked.
        """
        store = self._store_kinds()[0]
        recent = self._recent_case(case_id)
        if recent is not None:
            case = recent
        else:
            found = None if store is None else store.projection(case_id)
            case = self._folded(case_id) if found is None else self._projected(case_id, found)
        self._check_letters(case)
        return case

    def _recent_case(self, case_id: str) -> Case | None:
        """The case this service last wrote to ``case_id``, if the store says its stored
        projection is still, to the byte, the one written with it at its version (nobody
        appended to the case or changed its row since): the row need not be decoded."""
        found = self._recent.get(case_id)
        if found is None or found[0] is not self.store:
            return None
        unchanged = getattr(self.store, "projection_unchanged", None)
        if unchanged is None or not unchanged(case_id, found[1].version):
            return None
        return found[1]

    def _wrote(self, case: Case) -> None:
        """Remember ``case`` as this service just stored it (its history read from the
        store when asked for, as a case read from its projection)."""
        if self._store_kinds()[0] is None:
            return  # a store without projections: cases are folded from their events
        if len(self._recent) >= _RECENT_CASES:
            self._recent.clear()
        lazy = attrs.evolve(case, history=self._lazy_history(case.case_id, case.version))
        self._recent[case.case_id] = (self.store, lazy)

    def _folded(self, case_id: str) -> Case:
        return Case.from_events(self._decode(stored) for stored in self.history(case_id))

    def _projected(self, case_id: str, found: Projection) -> Case:
        return case_from_snapshot(
            found.body,
            self._lazy_history(case_id, found.version),
            lambda digest: self._letter(digest, case_id),
        )

    def _lazy_history(self, case_id: str, version: int) -> History:
        """The first ``version`` events of ``case_id``, read from the store when asked for."""

        def load() -> tuple[CaseEvent, ...]:
            if self._closed:
                raise HistoryUnavailable(case_id)
            stored = self.store.read(case_id)[:version]
            return tuple(self._decode(event) for event in stored)

        return History(version, load)

    def _projection(
        self, case: Case, documents: Documents | None = None, *, plain: bool = False
    ) -> Projection:
        """What the store keeps of ``case``: its snapshot and the day a tick must visit it.

        With ``documents`` (a store that keeps them), the signed letter is referred to by
        digest, and its text is added to ``documents`` unless it is known to be stored.
        The parts the case shares with the snapshots made before (its submission, decision,
        plan, ...) are encoded once (a memo by identity), unless ``plain`` (``verify``).
        """
        parts = None if plain else self._parts
        if documents is None:
            body = case_to_snapshot(case, parts=parts)
        else:
            known = None if case.commitment is None else self._known_digest(case.commitment)
            body = case_to_snapshot(
                case, documents, digest=None if known is None else (lambda _: known), parts=parts
            )
        return Projection(version=case.version, body=body, due=_tick_day(case))

    def _records(
        self, events: Sequence[CaseEvent]
    ) -> tuple[list[NewEvent], Documents | None, dict[str, SignedCommitment]]:
        """The events as stored, the documents they refer to (None: a store without
        documents) and the letters they introduce, by digest."""
        if self._store_kinds()[1] is None:
            return [event_to_record(event) for event in events], None, {}
        documents: Documents = []
        records = [event_to_record(event, documents) for event in events]
        letters = {
            str(record.payload["commitment_document"]): event.commitment
            for record, event in zip(records, events, strict=True)
            if record.type == COMMITMENT_REF and isinstance(event, CommitmentSigned)
        }
        return records, documents, letters

    def _stored_letters(self, letters: Mapping[str, SignedCommitment]) -> None:
        """Remember the letters an append stored (once it committed)."""
        for digest, signed in letters.items():
            self._remember(signed, digest)

    def rebuild_projections(self) -> int:
        """Build the projection of every case that has no current one, from its events.

        For a store file written before projections existed (schema 2; :meth:`from_config`
        does it when it opens the store) or cases appended without one. Returns how many
        were built; a case whose events no longer fold is left to be folded (and reported
        by :meth:`tick`).
        """
        store = self._store_kinds()[0]
        if store is None:
            return 0
        documents = self._store_kinds()[1] is not None
        built = 0
        for case_id in store.unprojected(kind="case"):
            try:
                case = self._folded(case_id)
                # A letter of a case written before documents is inline in its events and
                # not a stored document: its projection keeps it inline too (the next
                # command on the case stores the letter and refers to it).
                by_digest = documents and case.commitment is None
                store.put_projection(case_id, self._projection(case, [] if by_digest else None))
            except StoreUnavailable:
                raise
            except Exception:  # folded on every read, reported by tick() and verify()
                continue
            built += 1
        return built

    def _check_letters(self, case: Case) -> None:
        history = case.history
        letters: tuple[SignedCommitment, ...]
        if isinstance(history, History) and not history.loaded:
            letters = () if case.commitment is None else (case.commitment,)
        else:
            letters = tuple(e.commitment for e in history if isinstance(e, CommitmentSigned))
        for signed in letters:
            if self._checked.get(id(signed)) is signed:
                continue  # this very letter object was checked already
            if not signed.intact():
                raise TamperedCommitment(
                    case.case_id, "its text does not match the SHA-256 recorded with it"
                )
            if signed.legacy:
                continue
            if not signed.verify(self.integrations.signature_provider(case.city)):
                assert signed.signature is not None  # not legacy
                raise TamperedCommitment(
                    case.case_id,
                    f"the {signed.signature.algorithm} signature of key "
                    f"{signed.signature.key_id} does not match its text and terms (changed "
                    "after signing, or signed with another key)",
                )
            if len(self._checked) >= _LETTER_CACHE:
                self._checked.clear()
            self._checked[id(signed)] = signed

    def cases(
        self,
        *,
        city: str | None = None,
        state: CaseState | None = None,
        item: str | None = None,
        applicant: str | None = None,
    ) -> tuple[Case, ...]:
        """Cases, oldest first, filtered by city, state, item code and applicant identifier."""
        meta = {"kind": "case"}
        for key, value in (("city", city), ("item", item), ("applicant", applicant)):
            if value is not None:
                meta[key] = value
        if state is not None:
            meta["state"] = state.name
        return tuple(self.case(info.stream) for info in self.store.streams(**meta))

    def _item(self, case: Case) -> ApprovalItem:
        return self.catalog(case.city).item(case.item_code, case.item_valid_from)

    def commitment_letter(self, case_id: str) -> CommitmentLetter:
        """The commitment letter (信用承诺书) the applicant of a commitment-route case signs."""
        return CommitmentLetter(self._terms(self.case(case_id)))

    def notification(self, case_id: str) -> Notification:
        """The notification (信用承诺告知书) the agency gives the applicant."""
        return Notification(self._terms(self.case(case_id)))

    def _terms(self, case: Case) -> CommitmentTerms:
        """What the notification and the letter of ``case`` say (one place builds them)."""
        if case.decision is None or case.plan is None:
            raise UnknownCase(case.case_id)
        item = self._item(case)
        return CommitmentTerms.build(
            item,
            case.decision,
            case.plan,
            case.applicant,
            verification_due=self._verification_due(case, item),
        )

    def _verification_due(self, case: Case, item: ApprovalItem) -> dt.date | None:
        days = item.verification.deadline_days
        if days is None or case.decision is None:
            return None
        return self.calendar(case.city).add_working_days(case.decision.decided_on, days)

    # -- actions ------------------------------------------------------------------------

    def submit(
        self,
        *,
        item: str,
        applicant: Applicant,
        project: ProjectFacts | None = None,
        provided: Iterable[str] = (),
        choose_standard: bool = False,
        key: str | None = None,
        city: str | None = None,
    ) -> Case:
        """Submit an application: ask the credit source (逢报必查) and the licence store,
        decide the route, plan the materials, and record it all as a new case.

        ``key`` makes the submission idempotent: submitting again with the same key returns
        the case the first submission created, without asking anybody again.
        """
        where = self.city if city is None else city
        if key is not None:
            existing = self.store.stream_for_key(key)
            if existing is not None:
                return self.case(existing)
        now = self._now()
        day = now.date()
        approval_item = self.catalog(where).item(item, day)
        policy = self.policy(where)
        facts = ProjectFacts() if project is None else project
        # 逢报必查, except for a major project whose rule makes no credit query: then the
        # source is not even called, so its outage cannot change the route.
        credit: CreditEvidence | CreditLookupFailure | None = None
        if policy.at(day, item=approval_item).queries_credit(facts):
            credit = self._credit(where, applicant.identifier, now)
        holdings, licence_failure = self._holdings(where, applicant.identifier, day)
        calendar = self.calendar(where)
        # Read once: a retry below must not find an iterator already used up.
        given = provided if isinstance(provided, str) else tuple(provided)
        made: dict[str, Case] = {}

        def build(number: int) -> NewStream:
            # Called by the store inside the transaction that takes the number: pure work only.
            case_id = _case_id(where, day, number)
            events = lifecycle.submit(
                case_id=case_id,
                city=where,
                item=approval_item,
                applicant=applicant,
                credit=credit,
                policy=policy,
                calendar=calendar,
                now=now,
                project=facts,
                provided=given,
                licences=holdings,
                licence_failure=licence_failure,
                choose_standard=choose_standard,
                idempotency_key=key,
            )
            new = made[case_id] = Case.from_events(events)
            # Every deadline the case needs from this decision is computed before anything
            # is stored: the verification deadline its commitment letter will state.
            # Outside the calendar's years this raises CalendarCoverageError.
            if new.route is not None and new.route.is_commitment:
                self._verification_due(new, approval_item)
            meta = {
                "kind": "case",
                "city": where,
                "item": approval_item.code,
                "applicant": applicant.identifier,
                "day": day.isoformat(),
                "state": new.state.name,
            }
            records, documents, _ = self._records(events)
            return NewStream(
                case_id,
                records,
                meta=meta,
                projection=self._projection(new, documents),
                documents=() if documents is None else tuple(documents),
            )

        try:
            stored = self.store.create_numbered(
                self._case_counter(where, day), build, recorded_at=now, idempotency_key=key
            )
        except DuplicateKey as exc:
            return self.case(exc.stream)
        case_id = stored[0].stream
        self._notify(where, case_id, stored)
        self._wrote(made[case_id])
        return made[case_id]

    def choose_route(self, case_id: str, route: Route) -> Case:
        """The applicant chooses its route: only the standard route can be chosen instead of
        the one decided (国办发〔2020〕42号: the applicant may always choose it)."""
        if route is not Route.STANDARD:
            raise ValueError(
                f"an applicant can only choose the standard route instead of the decided one, "
                f"not {route.name}"
            )
        return self._act(
            case_id,
            lambda case, now: lifecycle.choose_standard(
                case, self._item(case), self.policy(case.city), self.calendar(case.city), now
            ),
        )

    def sign_commitment(self, case_id: str, signer: Signer) -> Case:
        """Sign the commitment letter now, as ``signer`` (the applicant, or an authorised agent)."""

        def sign(case: Case, now: dt.datetime) -> tuple[CaseEvent, ...]:
            # Checked before the letter is drawn up: a letter for a case that cannot be
            # signed (standard route, wrong state) would fail as an InvalidValue instead.
            _check_signable(case)
            letter = CommitmentLetter(self._terms(case))
            provider = self.integrations.signature_provider(case.city)
            return lifecycle.sign_commitment(case, letter.sign(signer, now, provider=provider), now)

        return self._act(case_id, sign)

    def accept(self, case_id: str, *, licence_valid_until: dt.date | None = None) -> Case:
        """Accept the application (受理); on 先证后核 the licence is issued at once."""
        return self._act(
            case_id,
            lambda case, now: lifecycle.accept(
                case,
                self._item(case),
                self.calendar(case.city),
                now,
                licence_valid_until=licence_valid_until,
            ),
        )

    def issue(
        self, case_id: str, *, reference: str | None = None, valid_until: dt.date | None = None
    ) -> Case:
        """Grant and issue the licence (准予许可)."""
        return self._act(
            case_id,
            lambda case, now: lifecycle.issue(
                case, now, reference=reference, valid_until=valid_until
            ),
        )

    def refuse(self, case_id: str, reason: str) -> Case:
        """Refuse the licence (不予许可)."""
        return self._act(case_id, lambda case, now: lifecycle.refuse(case, reason, now))

    def supply_material(self, case_id: str, code: str) -> Case:
        """A material reaches the agency now (补齐补正)."""
        return self._act(case_id, lambda case, now: lifecycle.supply_material(case, code, now))

    def pause_clock(self, case_id: str, reason: PauseReason, *, note: str | None = None) -> Case:
        """Stop the time limits for a hearing, expert review, ... (行政许可法 Art 45)."""
        return self._act(
            case_id, lambda case, now: lifecycle.pause_clock(case, reason, now, note=note)
        )

    def resume_clock(self, case_id: str) -> Case:
        """Restart the time limits after an Art 45 procedure."""
        return self._act(
            case_id,
            lambda case, now: lifecycle.resume_clock(case, now, self.calendar(case.city)),
        )

    def withdraw(self, case_id: str, reason: str | None = None) -> Case:
        """The applicant withdraws the application (撤回)."""
        return self._act(case_id, lambda case, now: lifecycle.withdraw(case, now, reason))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the commands run inside the block into one store transaction (a batch
        import: one commit, one fsync, for hundreds of submissions).

        **All or nothing**: when the block exits normally every command in it is committed
        together; when it raises, none of them is kept (case numbers included) and the
        exception propagates. A command refused inside the block (``ConcurrencyError``,
        an illegal transition, ...) writes nothing and raises as usual: catch it, and the
        others are still committed. Listeners are notified once the batch has committed
        (not at all if it raises). Other writers of the store wait while the batch runs
        (the write lock is held), so keep batches short. A batch inside a batch joins it.

        Needs a :class:`~creditcommit.ports.TransactionalStore` (the SQLite store); with
        another store it raises ``TypeError`` before anything runs.
        """
        store = self.store
        if not isinstance(store, TransactionalStore):
            raise TypeError(
                f"{type(store).__name__} cannot group commands in one transaction (it has "
                "no transaction()); run them one by one"
            )
        if self._held is not None:  # joins the outer batch
            try:
                with store.transaction():
                    yield
            except BaseException:
                self._recent.clear()  # what it wrote may not be kept
                raise
            return
        self._held = []
        try:
            with store.transaction():
                yield
        except BaseException:
            # Letters and cases remembered inside the batch were not kept: forget them.
            self._letters.clear()
            self._letter_digests.clear()
            self._recent.clear()
            self._held = None
            raise
        held, self._held = self._held, None
        for city, case_id, stored in held:
            self._notify(city, case_id, stored)

    # -- time passing and delivery ---------------------------------------------------------

    def tick(self, now: dt.datetime | None = None) -> TickReport:
        """Deadlines reached: move every case whose time has come, then deliver the outbox.

        Before the licence: a deferred material overdue suspends the case; a suspended case
        past its grace period (the policy's ``deferred_grace_working_days``) is returned
        (退件). After it: a deferred material overdue, or a rectification deadline passed
        unmet, takes the consequence the policy's ``revocation_rules`` set. The report also
        lists verifications due and overdue and publications past their deadline. ``now``
        defaults to the clock.
        """
        if now is None:
            at = self._now()
        else:
            if now.tzinfo is None or now.utcoffset() is None:
                raise ValueError(f"tick() was given {now!r}, a time without a time zone")
            at = now.astimezone(CHINA_TIME)
        day = at.date()
        moved: dict[str, list[str]] = {
            "Suspended": [],
            "Resumed": [],
            "Returned": [],
            "DeferredMaterialOverdue": [],
            "RevocationProposed": [],
        }
        conflicts: list[str] = []
        failed: list[tuple[str, str]] = []
        due_list: list[tuple[str, Obligation]] = []
        overdue_list: list[tuple[str, Obligation]] = []
        for case_id in self._to_tick(day):
            try:
                case = self.case(case_id)
                if case.state.name not in _TICKING:
                    continue
                # The rules of the item's place (a district's own rules where it has them).
                policy = self.policy(case.city).view(item=self._item(case))
                calendar = self.calendar(case.city)
                grace = policy.at(day).deferred_grace_working_days
                events = lifecycle.due(
                    case, at, calendar, grace, policy=policy, item=self._item(case)
                )
                if events:
                    try:
                        case = self._append(case, events, at)
                    except ConcurrencyError:
                        conflicts.append(case.case_id)
                        continue
                    for event in events:
                        kind = type(event).__name__
                        if kind in moved:
                            moved[kind].append(case.case_id)
                if case.state.supervised:
                    for obligation in obligations(case, self._item(case), calendar):
                        # Only verifications still to be made: one recorded is neither due
                        # nor late.
                        if obligation.kind.value != "verification" or not obligation.is_open:
                            continue
                        assert obligation.due is not None  # an open verification is not exempt
                        target = overdue_list if obligation.due < day else due_list
                        target.append((case.case_id, obligation))
            except StoreUnavailable:
                raise  # not this case's fault: the whole tick cannot run now
            except Exception as exc:  # one bad case does not stop the city
                failed.append((case_id, _one_line(exc)))
        supervised = sorted(set(moved["DeferredMaterialOverdue"] + moved["RevocationProposed"]))
        return TickReport(
            at=at,
            suspended=tuple(moved["Suspended"]),
            resumed=tuple(moved["Resumed"]),
            returned=tuple(moved["Returned"]),
            supervised=tuple(supervised),
            conflicts=tuple(conflicts),
            verifications_due=tuple(due_list),
            verifications_overdue=tuple(overdue_list),
            publications_overdue=self._publications_overdue(day),
            delivery=self.deliver(at),
            failed=tuple(failed),
            dead_letters=self._dead_letters(),
        )

    def _to_tick(self, day: dt.date) -> tuple[str, ...]:
        """The cases a tick on ``day`` must look at, in the order created.

        From a :class:`~creditcommit.ports.ProjectionStore`: those whose projection is due
        (a deadline reached, an open verification to list), then those without one; from
        another store every case in a state the tick moves.
        """
        store = self.store
        if not isinstance(store, ProjectionStore):
            return tuple(
                info.stream
                for info in store.streams(kind="case")
                if info.meta.get("state") in _TICKING
            )
        due = store.due_streams(day, kind="case")
        seen = set(due)
        return due + tuple(s for s in store.unprojected(kind="case") if s not in seen)

    def _dead_letters(self) -> tuple[str, ...]:
        return tuple(
            pending.message.key for pending in self.store.outbox(delivered=False, dead=True)
        )

    def _publications_overdue(self, day: dt.date) -> tuple[str, ...]:
        late = []
        for pending in self.store.outbox(delivered=False):
            deadline = pending.message.payload.get("publish_by")
            try:
                overdue = isinstance(deadline, str) and dt.date.fromisoformat(deadline) < day
            except ValueError:  # not a date: the message is still listed as undelivered
                overdue = False
            if overdue:
                late.append(pending.message.key)
        return tuple(sorted(late))

    # -- supervision ----------------------------------------------------------------------

    def record_verification(
        self,
        case_id: str,
        *,
        inspectors: Iterable[str],
        findings: str,
        outcome: VerificationOutcome,
        method: VerificationMethod | None = None,
    ) -> Case:
        """Record a verification (核查) of the commitment and take the policy's consequence."""
        names = tuple(inspectors)
        return self._act(
            case_id,
            lambda case, now: lifecycle.record_verification(
                case,
                self._item(case),
                names,
                findings,
                outcome,
                policy=self.policy(case.city),
                calendar=self.calendar(case.city),
                now=now,
                method=method,
            ),
        )

    def rectification_result(self, case_id: str, *, met: bool, findings: str | None = None) -> Case:
        """The outcome of a rectification order (限期整改): met, or not met after the deadline."""
        return self._act(
            case_id,
            lambda case, now: lifecycle.rectification_result(
                case,
                met,
                now,
                policy=self.policy(case.city),
                calendar=self.calendar(case.city),
                findings=findings,
                item=self._item(case),
            ),
        )

    def receive_statement(
        self, case_id: str, text: str, *, hearing_requested: bool = False
    ) -> Case:
        """The holder's statement and defence (陈述、申辩) on a revocation proposal."""
        return self._act(
            case_id,
            lambda case, now: lifecycle.receive_statement(
                case, text, now, hearing_requested=hearing_requested
            ),
        )

    def hold_hearing(self, case_id: str, summary: str) -> Case:
        """Record the hearing (听证) the holder requested."""
        return self._act(case_id, lambda case, now: lifecycle.hold_hearing(case, summary, now))

    def decide_revocation(
        self,
        case_id: str,
        *,
        public_interest: bool = False,
        reason: str | None = None,
        authority: str | None = None,
    ) -> Case:
        """Decide a revocation proposal: revoke (撤销), or refuse for the public interest.

        A revocation withdraws the licence in the e-licence store, pushes the dishonesty
        record to the credit registry and publishes the revocation, the record and the
        withdrawal of the licence decision — all through the outbox.
        """
        return self._act(
            case_id,
            lambda case, now: lifecycle.decide_revocation(
                case,
                now,
                policy=self.policy(case.city),
                public_interest=public_interest,
                reason=reason,
                authority=authority,
            ),
        )

    def obligations(self, case_id: str) -> tuple[Obligation, ...]:
        """What the holder of a licence issued on commitment still owes, and by when."""
        case = self.case(case_id)
        return obligations(case, self._item(case), self.calendar(case.city))

    def lookup_credit(
        self, subject: str, *, at: dt.datetime | None = None, city: str | None = None
    ) -> CreditEvidence | CreditLookupFailure:
        """Ask the credit source of ``city`` about ``subject`` as :meth:`submit` does, at
        ``at`` (default: now), without storing anything (``creditcommit decide --config``).

        It fails closed like :meth:`submit`: any failure of the source is returned as a
        categorised, sanitised :class:`~creditcommit.CreditLookupFailure`, never raised.
        """
        when = self._now() if at is None else _aware(at, "at")
        return self._credit(self.city if city is None else city, subject, when)

    # -- 双随机 draws ------------------------------------------------------------------------

    def commitment_targets(
        self,
        start: dt.date,
        end: dt.date,
        *,
        city: str | None = None,
        inspection_types: Mapping[str, str] | None = None,
    ) -> tuple[Target, ...]:
        """Licences issued on a commitment route between ``start`` and ``end`` (inclusive), as
        draw targets graded by the evidence their case was decided on.

        ``inspection_types`` maps item codes to the inspection type (抽查事项) their targets
        are drawn for; only inspectors qualified for it are then assigned. An item it does
        not name gives a target without a type (any inspector may go)."""
        targets = []
        for case in self.cases(city=city or self.city):
            licence = case.licence
            decision = case.decision
            if licence is None or decision is None or not decision.route.is_commitment:
                continue
            if case.state in _NO_LONGER_HELD:
                continue
            if not start <= licence.issued_on <= end:
                continue
            evidence = case.evidence
            grade = getattr(evidence, "grade", None) or _UNGRADED
            kind = None if inspection_types is None else inspection_types.get(case.item_code)
            targets.append(
                Target(
                    licence.reference,
                    grade,
                    tags=(case.item_code, case.case_id),
                    inspection_type=kind,
                )
            )
        return tuple(sorted(targets, key=lambda target: target.id))

    def draw(
        self,
        draw_id: str,
        targets: Sequence[Target] | TargetColumns,
        *,
        inspectors: Sequence[Inspector],
        seed: bytes,
        commitment: str,
        conflicts: Iterable[Conflict] = (),
        per_target: int = 2,
        city: str | None = None,
    ) -> DrawRecord:
        """Make a 双随机 draw with the policy's per-grade ratios, record it and publish it.

        ``commitment`` is the SHA-256 of ``seed`` published before the draw
        (:class:`~creditcommit.draws.SeedCommitment`). The record is stored in the stream
        ``draw:<draw_id>`` and published to every channel through the outbox, with every
        resident identity number in it masked (:meth:`DrawRecord.publication_payload`).
        ``targets`` may be a :class:`~creditcommit.population.TargetColumns` (ids and grades
        as columns, or a registry export file) to draw from millions of targets.
        """
        where = city or self.city
        now = self._now()
        snapshot = self.policy(where).at(now.date())
        ratios = {grade: snapshot.inspection_ratio(grade) for grade in snapshot.grade_scale}
        ratios[_UNGRADED] = snapshot.inspection_ratio(None)
        record = drawing.draw(
            targets,
            ratios=ratios,
            inspectors=inspectors,
            conflicts=conflicts,
            per_target=per_target,
            seed=seed,
            commitment=commitment,
            draw_id=draw_id,
        )
        payload = record.to_dict()
        # Published with resident identity numbers masked; the store keeps them for verify.
        published = record.publication_payload()
        messages = [
            OutboxMessage(
                key=f"draw:{draw_id}/{channel.name}",
                destination=f"channel:{channel.name}",
                topic="inspection-draw",
                city=where,
                payload=published,
                created_at=now,
            )
            for channel in self.integrations.publishing_channels(where)
        ]
        self.store.append(
            f"draw:{draw_id}",
            [NewEvent("draw-recorded", payload)],
            expected_version=0,
            recorded_at=now,
            outbox=messages,
            meta={"kind": "draw", "city": where},
        )
        return record

    def draws(self, *, city: str | None = None) -> tuple[DrawRecord, ...]:
        """Every recorded draw, oldest first."""
        found = []
        for info in self.store.streams(kind="draw", city=city or self.city):
            for stored in self.store.read(info.stream):
                if stored.type == "draw-recorded":
                    found.append(DrawRecord.from_dict(dict(stored.payload)))
        return tuple(found)

    def deliver(self, now: dt.datetime | None = None, *, city: str | None = None) -> DeliveryReport:
        """Deliver every due outbox message to the destinations of its own case's city (only
        ``city``'s messages when given); never raises.

        A city whose ports cannot be resolved is reported in ``error`` and its messages wait;
        a message failing ``max_attempts`` times (``[delivery] max_attempts``) becomes a
        dead letter.
        """
        at = self._now() if now is None else now
        try:
            if city is None:
                waiting = self.store.outbox(delivered=False, dead=False)
                cities = sorted({pending.message.city for pending in waiting})
            else:
                cities = [city]
        except Exception as exc:
            return DeliveryReport(drained=False, error=_one_line(exc))
        reports: list[DeliveryReport] = []
        errors: list[str] = []
        for where in cities:
            try:
                destinations = self._destinations(where)
            except Exception as exc:
                errors.append(f"city {where}: {_one_line(exc)}")
                continue
            reports.append(
                deliver_all(
                    self.store,
                    destinations,
                    at,
                    backoff=self.backoff,
                    max_attempts=self.max_attempts,
                    city=where,
                )
            )
        return _joined(reports, errors)

    def verify(self) -> VerifyReport:
        """Check the hash chain of the whole event log, then that every case's projection is
        the fold of its events (a projection changed behind the store's back is reported
        with its case, like an event)."""
        report = self.store.verify()
        store = self.store
        if not report.ok or not isinstance(store, ProjectionStore):
            return report
        for info in store.streams(kind="case"):
            found = store.projection(info.stream)
            if found is None:
                continue  # none yet: the case is folded from its events when read
            problem = self._projection_problem(info.stream, found)
            if problem is not None:
                events = store.read(info.stream)
                return attrs.evolve(
                    report,
                    first_bad=events[-1] if events else None,
                    problem=problem,
                    stream=info.stream,
                )
        return report

    def _projection_problem(self, case_id: str, found: Projection) -> str | None:
        """What is wrong with the projection of ``case_id``, or None if it is its fold."""
        where = f"the projection of case {case_id}"
        try:
            case = self._folded(case_id)
        except Exception as exc:  # reported, not raised
            return f"{where} cannot be checked: its events do not fold ({_one_line(exc)})"
        inline = found.body.get("format") == SNAPSHOT_FORMAT_INLINE
        expected = self._projection(case, None if inline else [], plain=True)
        if found.version != expected.version:
            return (
                f"{where} is of version {found.version}, its events end at version "
                f"{expected.version}: the projection was changed behind the store's back"
            )
        body = dict(found.body)
        for name, value in expected.body.items():
            if canonical_json(body.get(name)) != canonical_json(value):
                return (
                    f"{where} does not match its events: its {name!r} reads "
                    f"{_short(body.get(name))}, the events fold to {_short(value)} (changed "
                    "behind the store's back)"
                )
        extra = sorted(set(body) - set(expected.body))
        if extra:
            return f"{where} has keys its events do not give: {', '.join(extra)}"
        if found.due != expected.due:
            return (
                f"{where} is due on {found.due}, its events give {expected.due}: the tick "
                "index was changed behind the store's back"
            )
        return None

    # -- plumbing -----------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return _aware(self.clock(), "the clock returned")

    @staticmethod
    def _case_counter(city: str, day: dt.date) -> str:
        """The store counter that numbers ``city``'s cases of ``day`` (N0001, N0002, ...)."""
        return f"case:{city}:{day.isoformat()}"

    def _credit(
        self, city: str, subject: str, now: dt.datetime
    ) -> CreditEvidence | CreditLookupFailure:
        source = self.integrations.credit_source(city)
        name = _port_name(source)
        try:
            answer: object = source.lookup(subject, city=city, at=now)
        except Exception as exc:  # fail closed: any failure is recorded, never raised
            return _lookup_failure(subject, name, now, categorise(exc), _reason(exc))
        try:
            if isinstance(answer, CreditLookupFailure):
                # A source may report its own failure instead of raising (adapters do): it is
                # recorded with the service's own time and source name, and sanitised again.
                return _lookup_failure(subject, name, now, answer.category, answer.reason)
            if not isinstance(answer, CreditEvidence):
                kind = sanitise_detail(type(answer).__name__)
                detail = f"malformed reply: expected credit evidence, got {kind}"
                return _lookup_failure(subject, name, now, FailureCategory.MALFORMED_REPLY, detail)
            subjects = (answer.subject, *(record.subject for record in answer.records))
            if any(found != subject for found in subjects):
                # Not stored: it is another subject's credit, and no evidence for this one.
                detail = "the reply is about another subject than the applicant"
                return _lookup_failure(subject, name, now, FailureCategory.WRONG_SUBJECT, detail)
        except Exception as exc:  # a reply that cannot even be examined
            detail = f"malformed reply: {_reason(exc)}"
            return _lookup_failure(subject, name, now, FailureCategory.MALFORMED_REPLY, detail)
        return answer

    def _holdings(
        self, city: str, subject: str, day: dt.date
    ) -> tuple[tuple[LicenceHolding, ...], str | None]:
        store = self.integrations.licence_store(city)
        try:
            answer = tuple(store.holdings(subject, city=city, on=day))
            if not all(isinstance(holding, LicenceHolding) for holding in answer):
                return (), "malformed reply: expected licence holdings"
        except Exception as exc:  # nothing retrieved: the materials are demanded
            return (), _reason(exc)
        return answer, None

    def _act(
        self, case_id: str, transition: Callable[[Case, dt.datetime], Sequence[CaseEvent]]
    ) -> Case:
        case = self.case(case_id)
        now = self._now()
        events = tuple(transition(case, now))
        return self._append(case, events, now)

    def _append(self, case: Case, events: Sequence[CaseEvent], now: dt.datetime) -> Case:
        new = case.apply(*events)
        meta = {"state": new.state.name}
        for event in events:
            if isinstance(event, LicenceIssued):
                self._check_licence_number(case, event.reference)
                meta["licence"] = event.reference
        records, documents, letters = self._records(events)
        outbox = self._outbox(new, events, now)
        store = self.store
        projections, with_documents = self._store_kinds()
        if with_documents is not None and documents is not None:
            # The letter is stored once, by digest, in the transaction of its event; the
            # projection refers to it.
            for digest, signed in letters.items():
                self._letter_digests[id(signed)] = (signed, digest)
            try:
                projection = self._projection(new, documents)
            finally:
                for signed in letters.values():
                    self._letter_digests.pop(id(signed), None)
            kwargs: dict[str, Any] = {"documents": documents}
            if projections is not None:
                kwargs["projection"] = projection
            append: Any = with_documents.append  # a store with documents and projections
            stored = append(
                case.case_id,
                records,
                expected_version=case.version,
                recorded_at=now,
                outbox=outbox,
                meta=meta,
                **kwargs,
            )
            self._stored_letters(letters)
        elif projections is not None:
            # The projection is written in the transaction of the events it folds.
            stored = projections.append(
                case.case_id,
                records,
                expected_version=case.version,
                recorded_at=now,
                outbox=outbox,
                meta=meta,
                projection=self._projection(new),
            )
        else:
            stored = store.append(
                case.case_id,
                records,
                expected_version=case.version,
                recorded_at=now,
                outbox=outbox,
                meta=meta,
            )
        self._notify(case.city, case.case_id, stored)
        self._wrote(new)
        return new

    def _check_licence_number(self, case: Case, reference: str) -> None:
        """:class:`DuplicateLicence` if another case of the city issued ``reference``.

        Cases record their licence number in the stream meta ``licence``; the e-licence
        store refuses a second licence under one number as well (the last guard against two
        writers issuing the same number at once).
        """
        for info in self.store.streams(kind="case", city=case.city, licence=reference):
            if info.stream != case.case_id:
                holder = info.meta.get("applicant")
                raise DuplicateLicence(reference, case.city, holder=holder, case_id=info.stream)

    def _notify(self, city: str, case_id: str, stored: Iterable[StoredEvent]) -> None:
        if self._held is not None:
            self._held.append((city, case_id, tuple(stored)))
            return
        for event in stored:
            self.integrations.notify(city, case_id, event)

    def _destinations(self, city: str) -> Destinations:
        return Destinations.of(
            *self.integrations.publishing_channels(city),
            self.integrations.credit_registry(city),
            self.integrations.licence_store(city),
        )

    def _outbox(
        self, case: Case, events: Sequence[CaseEvent], now: dt.datetime
    ) -> list[OutboxMessage]:
        messages: list[OutboxMessage] = []
        for event in events:
            if isinstance(event, LicenceIssued):
                messages.extend(self._issued_messages(case, event, now))
            elif isinstance(event, Revoked):
                messages.extend(self._revoked_messages(case, event, now))
            elif isinstance(event, CreditRecordCreated):
                messages.extend(self._record_messages(case, event, now))
            elif isinstance(event, VerificationRecorded):
                messages.extend(self._verification_messages(case, event, now))
        return messages

    def _snapshot(self, case: Case, day: dt.date) -> PolicySnapshot:
        # The rules of the item's place (a district's own rules where it has them).
        return self.policy(case.city).at(day, item=self._item(case))

    def _published(
        self, case: Case, entry: Publication | Withdrawal, now: dt.datetime
    ) -> list[OutboxMessage]:
        topic = "withdrawal" if isinstance(entry, Withdrawal) else entry.kind.value
        payload = entry.payload()
        return [
            OutboxMessage(
                key=f"{entry.key}/{channel.name}",
                destination=f"channel:{channel.name}",
                topic=topic,
                city=case.city,
                payload=payload,
                created_at=now,
            )
            for channel in self.integrations.publishing_channels(case.city)
        ]

    def _licence_publication(self, case: Case, event: LicenceIssued) -> Publication:
        item = self._item(case)
        decision = case.decision
        return publish.licence_decision(
            decision_number=event.reference,
            item=item,
            applicant=case.applicant,
            decided_on=event.issued_on,
            local_code=case.city,
            calendar=self.calendar(case.city),
            deadlines=self._snapshot(case, event.issued_on).publication_working_days,
            valid_until=event.valid_until,
            key=f"{case.case_id}/licence-decision/{event.reference}",
            extra={"case_id": case.case_id}
            | ({} if decision is None else {"route": decision.route.value}),
        )

    def _issued_messages(
        self, case: Case, event: LicenceIssued, now: dt.datetime
    ) -> list[OutboxMessage]:
        item = self._item(case)
        store = self.integrations.licence_store(case.city)
        licence = {
            "reference": event.reference,
            "licence_type": item.code,
            "subject": case.applicant.identifier,
            "item_code": item.code,
            "case_id": case.case_id,
            "issued_on": event.issued_on.isoformat(),
            "valid_until": None if event.valid_until is None else event.valid_until.isoformat(),
        }
        return [
            OutboxMessage(
                key=f"{case.case_id}/licence-issued/{event.reference}",
                destination=f"licences:{store.name}",
                topic="licence-issued",
                city=case.city,
                payload=licence,
                created_at=now,
            ),
            # A filing (备案) or another item that is not a licence is not published as a
            # licence decision (行政许可决定) in 双公示.
            *(
                self._published(case, self._licence_publication(case, event), now)
                if item.kind is ItemKind.LICENCE
                else []
            ),
        ]

    def _revoked_messages(
        self, case: Case, event: Revoked, now: dt.datetime
    ) -> list[OutboxMessage]:
        licence = case.licence
        if licence is None:  # a revocation always follows an issued licence
            return []
        item = self._item(case)
        calendar = self.calendar(case.city)
        deadlines = self._snapshot(case, event.revoked_on).publication_working_days
        store = self.integrations.licence_store(case.city)
        messages = [
            OutboxMessage(
                key=f"{case.case_id}/licence-withdrawn/{licence.reference}",
                destination=f"licences:{store.name}",
                topic="licence-withdrawn",
                city=case.city,
                payload={
                    "reference": licence.reference,
                    "holder": case.applicant.identifier,
                    "withdrawn_on": event.revoked_on.isoformat(),
                    "reason": event.grounds,
                },
                created_at=now,
            )
        ]
        notice = publish.revocation(
            decision_number=f"CX-{case.case_id}",
            licence_number=licence.reference,
            item=item,
            applicant=case.applicant,
            grounds=event.grounds,
            legal_basis="；".join(str(ref) for ref in event.legal_basis) or "行政许可法第六十九条",
            decided_on=event.revoked_on,
            local_code=case.city,
            calendar=calendar,
            deadlines=deadlines,
            extra={"case_id": case.case_id},
        )
        messages += self._published(case, notice, now)
        taken_down = publish.withdrawal(
            self._licence_publication(case, licence),
            event.revoked_on,
            WithdrawalReason.REVOKED,
            calendar,
            deadlines,
        )
        messages += self._published(case, taken_down, now)
        return messages

    def _record_messages(
        self, case: Case, event: CreditRecordCreated, now: dt.datetime
    ) -> list[OutboxMessage]:
        record = event.record
        registry = self.integrations.credit_registry(case.city)
        messages = [
            OutboxMessage(
                key=f"{case.city}/credit-record/{record.record_id}",
                destination=f"registry:{registry.name}",
                topic="dishonesty-record",
                city=case.city,
                payload=record.to_dict(),
                created_at=now,
            )
        ]
        entry = publish.dishonesty_record(
            record,
            subject_name=case.applicant.name,
            local_code=case.city,
            calendar=self.calendar(case.city),
            deadlines=self._snapshot(case, record.decided_on).publication_working_days,
            authority=record.authority or self._item(case).department,
            extra={"case_id": case.case_id},
        )
        return messages + self._published(case, entry, now)

    def _verification_messages(
        self, case: Case, event: VerificationRecorded, now: dt.datetime
    ) -> list[OutboxMessage]:
        if len(event.inspectors) < 2:  # a written or online check is no inspection to publish
            return []
        licence = case.licence
        item = self._item(case)
        # Numbered, not dated: a second verification on one day is a result of its own, and
        # its key must not collide with the first one's (the outbox skips a key it holds).
        number = next(i for i, done in enumerate(case.verifications, 1) if done is event)
        entry = publish.inspection_result(
            draw_id=f"verification:{case.case_id}:{number}",
            target_name=case.applicant.name,
            target_code=case.applicant.identifier,
            inspectors=event.inspectors,
            result=_RESULT_ZH.get(event.outcome.value, event.outcome.value),
            inspected_on=event.verified_on,
            authority=item.department,
            local_code=case.city,
            calendar=self.calendar(case.city),
            deadlines=self._snapshot(case, event.verified_on).publication_working_days,
            extra={"case_id": case.case_id}
            | ({} if licence is None else {"licence": licence.reference}),
        )
        return self._published(case, entry, now)

    # -- reading for the report (issue 11) -----------------------------------------------

    def report_cases(self, *, city: str | None = None) -> Iterator[Case | ProjectedCase]:
        """Every case (of ``city``, or of every city), oldest first, as
        :func:`~creditcommit.metrics.statistics` reads them without folding their events.

        With a :class:`~creditcommit.ports.ProjectionStore`, a case whose projection is
        current is a :class:`~creditcommit.metrics.ProjectedCase` (its projection's body and
        the time of its last event, one row read); the others, and every case of another
        store, are read with :meth:`case`. A store that is also a
        :class:`~creditcommit.ports.ProjectionReader` gives the rows a chunk at a time
        (a few queries per thousand cases); another one a query per case. The cases come
        one at a time: a report over many cases keeps one of them (or one chunk of rows)
        in memory, not all. Unlike :meth:`case`, a projected case's commitment letter is
        not checked here: the report counts letters, it does not show them (:meth:`verify`
        checks that every projection is the fold of its events).
        """
        store = self.store
        meta = {"kind": "case"} if city is None else {"kind": "case", "city": city}
        if not isinstance(store, ProjectionStore):
            for info in store.streams(**meta):
                yield self.case(info.stream)
            return
        if isinstance(store, ProjectionReader):
            for info, found in store.projections(**meta):
                yield self._report_case(info.stream, info.updated_at, found)
            return
        for info in store.streams(**meta):
            found = store.projection(info.stream)
            if found is not None and found.version != info.version:
                found = None
            yield self._report_case(info.stream, info.updated_at, found)

    def _report_case(
        self, case_id: str, last_at: dt.datetime, found: Projection | None
    ) -> Case | ProjectedCase:
        """The case as the report reads it: projected if ``found`` (its current projection)."""
        if found is None:
            return self.case(case_id)
        return ProjectedCase(
            case_id=case_id,
            body=found.body,
            last_at=last_at,
            records=functools.partial(self._stored_records, case_id, found.version),
            document=functools.partial(self._document_in, case_id),
        )

    def _document_in(self, case_id: str, digest: str) -> str | None:
        return self._document_checked(digest, case_id)

    def _stored_records(
        self, case_id: str, version: int
    ) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        """The first ``version`` stored events of a case, as ``(type, payload)`` records."""
        return tuple((event.type, event.payload) for event in self.store.read(case_id)[:version])


_UNGRADED = "未评级"
_NO_LONGER_HELD = frozenset({CaseState.REVOKED})
_RESULT_ZH = {
    "fulfilled": "已履行承诺",
    "unfulfilled": "未履行承诺",
    "false-commitment": "虚假承诺",
    "deferred-overdue": "容缺材料逾期未补交",
}
_TICKING = frozenset(
    {
        CaseState.ACCEPTED.name,
        CaseState.SUSPENDED.name,
        CaseState.ISSUED.name,
        CaseState.RECTIFYING.name,
    }
)
