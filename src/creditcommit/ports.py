"""Ports: the typed interfaces between the core, the shell and a city's integrations.

Plugins (see :mod:`creditcommit.hookspecs`) provide objects that implement these protocols
for a city; :class:`creditcommit.Approvals` talks to them and nothing else does I/O.

Every port method that leaves the process is expected to be **idempotent** on the key it is
given, because the outbox delivers at least once: a message may arrive again after a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import attrs

from creditcommit.commitments import SignatureProvider
from creditcommit.credit import CreditEvidence, CreditLookupFailure
from creditcommit.materials import LicenceHolding

__all__ = [
    "CreditRegistry",
    "CreditSource",
    "DocumentStore",
    "EventStore",
    "GENESIS_DIGEST",
    "IssuedLicence",
    "LicenceStore",
    "NewEvent",
    "NewStream",
    "OutboxMessage",
    "PendingMessage",
    "Projection",
    "ProjectionReader",
    "ProjectionStore",
    "PublishingChannel",
    "SignatureProvider",
    "StoredEvent",
    "StreamInfo",
    "TransactionalStore",
    "VerifyReport",
    "canonical_json",
    "document_digest",
    "event_digest",
]


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


# --- the credit source, licence store, channels and registry -----------------------------


@runtime_checkable
class CreditSource(Protocol):
    """Where credit evidence comes from (信用信息平台): asked on every submission (逢报必查).

    ``lookup`` returns what the source said about ``subject`` as :class:`CreditEvidence`
    (with ``retrieved_at = at``). When the source is down, slow or answers garbage it
    returns a :class:`~creditcommit.CreditLookupFailure` of the right category (adapters
    do; :class:`~creditcommit.testing.port_contracts.CreditSourceFailureContract` checks
    it), or raises: either way the caller records the failure and decides on the standard
    route — failing closed, never granting a route by accident.
    """

    name: str

    def lookup(
        self, subject: str, *, city: str, at: dt.datetime
    ) -> CreditEvidence | CreditLookupFailure: ...


@attrs.frozen
class IssuedLicence:
    """A licence (许可证件) the agency issued, as it is recorded in the e-licence store."""

    reference: str
    licence_type: str
    subject: str
    item_code: str
    case_id: str
    issued_on: dt.date
    valid_until: dt.date | None = None


@runtime_checkable
class LicenceStore(Protocol):
    """The e-licence store (电子证照库).

    ``holdings`` lists the licences valid for ``subject`` on ``on`` (so that a material
    retrievable as an e-licence is never demanded again); ``record`` stores a licence the
    agency issued; ``withdraw`` marks one withdrawn (after a revocation). ``record`` and
    ``withdraw`` are idempotent on the licence reference.

    A reference is unique per city: ``record`` of a different licence under a reference
    already recorded raises :class:`~creditcommit.DuplicateLicence` (the identical licence
    again changes nothing), and ``withdraw`` names the ``holder`` (the subject's identifier)
    and raises :class:`~creditcommit.LicenceHolderMismatch` when the licence is recorded for
    another holder: a revocation never withdraws somebody else's licence.
    """

    name: str

    def holdings(self, subject: str, *, city: str, on: dt.date) -> Sequence[LicenceHolding]: ...

    def record(self, licence: IssuedLicence, *, city: str) -> None: ...

    def withdraw(
        self, reference: str, *, city: str, holder: str, on: dt.date, reason: str
    ) -> None: ...


@attrs.frozen
class OutboxMessage:
    """Something that must leave the process: a publication, a credit record to push.

    Written to the outbox in the same transaction as the events that caused it, and
    delivered until acknowledged. ``key`` is the idempotency key the receiving end must honour
    (a redelivered message has the same key). ``destination`` names the port:
    ``"channel:<name>"`` for a publishing channel, ``"registry:<name>"`` for a credit registry.
    """

    key: str
    destination: str
    topic: str
    city: str
    payload: Mapping[str, Any] = attrs.field(converter=_frozen)
    created_at: dt.datetime


@runtime_checkable
class PublishingChannel(Protocol):
    """A place decisions are published (双公示: a credit website, a JSON-lines file, ...).

    ``publish`` must be idempotent on ``message.key``.
    """

    name: str

    def publish(self, message: OutboxMessage) -> None: ...


@runtime_checkable
class CreditRegistry(Protocol):
    """The credit platform that receives dishonesty records (信用信息共享平台).

    ``push`` must be idempotent on ``message.key``.
    """

    name: str

    def push(self, message: OutboxMessage) -> None: ...


# --- the event store ------------------------------------------------------------------------


@attrs.frozen
class NewEvent:
    """An event to append: its type name and JSON-ready payload."""

    type: str
    payload: Mapping[str, Any] = attrs.field(converter=_frozen)


@attrs.frozen
class StoredEvent:
    """An event as the store keeps it.

    ``version`` is the 1-based position in its stream; ``position`` the 1-based position in
    the whole log. ``digest`` chains the log: SHA-256 over the previous event's digest and
    this event's content, so editing any stored event breaks every digest after it.
    """

    stream: str
    version: int
    position: int
    type: str
    payload: Mapping[str, Any] = attrs.field(converter=_frozen)
    recorded_at: dt.datetime
    previous_digest: str
    digest: str


@attrs.frozen
class StreamInfo:
    """A stream (one case, one draw, ...) and what the store knows about it."""

    stream: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    meta: Mapping[str, str] = attrs.field(converter=_frozen)


@attrs.frozen
class PendingMessage:
    """An outbox message not yet acknowledged, with its delivery history."""

    message: OutboxMessage
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None = None
    #: When it became a dead letter (gave up after too many failed attempts); ``None``
    #: while it is still retried.
    dead_at: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class Projection:
    """What a stream folds to, kept by a :class:`ProjectionStore` next to its events.

    ``version`` is the stream version it is the fold of (its number of events), ``body``
    the folded state as JSON data, ``due`` the first day a periodic job (the tick) must
    look at the stream again (``None``: not before another event is appended).
    """

    version: int
    body: Mapping[str, Any] = attrs.field(converter=_frozen)
    due: dt.date | None = None


@attrs.frozen
class NewStream:
    """What :meth:`EventStore.create_numbered` appends as a new stream once it has a number.

    ``stream`` is the new stream's name (e.g. the case id made from the number), ``events``
    its first events, ``outbox`` and ``meta`` as for :meth:`EventStore.append`.
    """

    stream: str
    events: Sequence[NewEvent]
    outbox: Sequence[OutboxMessage] = ()
    meta: Mapping[str, str] | None = None
    #: Written with the events by a :class:`ProjectionStore` (other stores ignore it).
    projection: Projection | None = None
    #: Stored with the events by a :class:`DocumentStore` (other stores ignore it).
    documents: Sequence[str] = ()


@attrs.frozen
class VerifyReport:
    """The result of checking the hash chain of the whole log (and its checkpoints).

    ``first_bad`` is the first event whose digest does not match its content (or whose
    ``previous_digest`` does not match the event before it); ``None`` when the log is intact
    or when the problem concerns no stored event (a case deleted, the log emptied), in which
    case ``stream`` names the case concerned, if any. ``anchored`` is true when the
    checkpoints were checked against the key (a forger without the key cannot rewrite them);
    ``unchecked`` says in words what this check could not detect.
    """

    events: int
    first_bad: StoredEvent | None = None
    problem: str | None = None
    stream: str | None = None
    anchored: bool = False
    unchecked: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None and self.problem is None


# --- the hash chain -----------------------------------------------------------------------

#: The previous digest of the first event of a log.
GENESIS_DIGEST = "0" * 64


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"a {type(value).__name__} is not JSON data")


def canonical_json(value: object) -> str:
    """``value`` as canonical JSON: sorted keys, no spaces, non-ASCII kept, no NaN.

    Mappings of any kind are written as objects and tuples as arrays; anything else that is
    not JSON data (a date, a set, NaN) raises ``ValueError`` or ``TypeError``.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_plain,
    )


def event_digest(
    previous_digest: str,
    *,
    stream: str,
    version: int,
    position: int,
    type: str,
    payload: Mapping[str, Any],
    recorded_at: str,
) -> str:
    """The chained digest of one event (SHA-256, lowercase hex).

    SHA-256 over the UTF-8 bytes of ``previous_digest`` followed directly by the canonical
    JSON (:func:`canonical_json`) of the object with keys ``payload``, ``position``,
    ``recorded_at`` (ISO 8601 text with its offset, as stored), ``stream``, ``type`` and
    ``version``. Every store implementation computes the same digests, so a log copied from
    one store to another still verifies.
    """
    content = canonical_json(
        {
            "payload": payload,
            "position": position,
            "recorded_at": recorded_at,
            "stream": stream,
            "type": type,
            "version": version,
        }
    )
    return hashlib.sha256((previous_digest + content).encode("utf-8")).hexdigest()


def document_digest(text: str) -> str:
    """The key a :class:`DocumentStore` keeps ``text`` under: SHA-256 of its UTF-8 bytes,
    lowercase hex (64 characters)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class EventStore(Protocol):
    """Append-only event streams with optimistic concurrency, and an outbox.

    * ``append`` adds events to ``stream`` if its current version is ``expected_version``
      (0 for a new stream), writes ``outbox`` messages in the same transaction, and returns
      the stored events. A stale writer gets :class:`~creditcommit.ConcurrencyError`; nothing
      is written. ``idempotency_key`` (unique across the store) ties a new stream to a
      caller's key: appending a second new stream with a used key raises
      :class:`~creditcommit.DuplicateKey` carrying the existing stream.
    * ``pending`` returns messages due for delivery at ``now`` and leases them for
      ``lease`` so that two workers do not deliver the same message at once; a worker that
      dies lets the lease run out and the message is delivered again.
    * ``create_numbered`` takes the next number of a counter (e.g. a city's cases of one
      day), lets ``build`` make the new stream from it and appends it, all in one
      transaction: concurrent callers never get the same number and never give up.
    * ``dead_letter`` records a last failed attempt and stops retrying the message;
      ``retry`` puts a dead letter back in the queue by hand.
    * ``verify`` walks the hash chain and checks the checkpoints.
    """

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        recorded_at: dt.datetime,
        outbox: Sequence[OutboxMessage] = (),
        idempotency_key: str | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> tuple[StoredEvent, ...]: ...

    def create_numbered(
        self,
        counter: str,
        build: Callable[[int], NewStream],
        *,
        recorded_at: dt.datetime,
        idempotency_key: str | None = None,
    ) -> tuple[StoredEvent, ...]: ...

    def read(self, stream: str) -> tuple[StoredEvent, ...]: ...

    def stream_for_key(self, idempotency_key: str) -> str | None: ...

    def streams(self, **meta: str) -> tuple[StreamInfo, ...]: ...

    def events(self, *, after: int = 0, limit: int = 1000) -> tuple[StoredEvent, ...]: ...

    def pending(
        self,
        now: dt.datetime,
        *,
        limit: int = 100,
        lease: dt.timedelta = ...,
        city: str | None = None,
    ) -> tuple[PendingMessage, ...]: ...

    def delivered(self, key: str, *, at: dt.datetime) -> None: ...

    def failed(self, key: str, *, at: dt.datetime, error: str, retry_at: dt.datetime) -> None: ...

    def dead_letter(self, key: str, *, at: dt.datetime, error: str) -> None: ...

    def retry(self, key: str, *, at: dt.datetime) -> None: ...

    def outbox(
        self,
        *,
        delivered: bool | None = None,
        dead: bool | None = None,
        city: str | None = None,
    ) -> tuple[PendingMessage, ...]: ...

    def verify(self) -> VerifyReport: ...

    def close(self) -> None: ...


@runtime_checkable
class ProjectionStore(EventStore, Protocol):
    """An event store that also keeps one :class:`Projection` per stream (optional).

    The events stay the source of truth; the projection lets a reader load one row instead
    of folding the whole history, and the ``due`` index lets a periodic job visit only the
    streams whose time has come. :class:`~creditcommit.Approvals` uses it when the store has
    it and folds the events otherwise.

    * ``append(..., projection=p)`` appends as :meth:`EventStore.append` does and writes
      ``p`` in the same transaction (``p.version`` must be the stream's new version,
      otherwise ``ValueError`` and nothing is written); ``create_numbered`` writes the
      :attr:`NewStream.projection` likewise.
    * ``projection(stream)``: the stream's projection, or ``None`` when it has none or it
      is behind the stream's events (appended without one).
    * ``put_projection(stream, p)``: write a projection outside an append (rebuilding them
      for a file written before projections existed);
      :class:`~creditcommit.ConcurrencyError` unless ``p.version`` is the stream's version.
    * ``due_streams(on, **meta)``: the streams with every given ``name=value`` whose current
      projection is due on or before ``on``, in the order created.
    * ``unprojected(**meta)``: the streams with every given ``name=value`` that have no
      current projection, in the order created.
    """

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        recorded_at: dt.datetime,
        outbox: Sequence[OutboxMessage] = (),
        idempotency_key: str | None = None,
        meta: Mapping[str, str] | None = None,
        projection: Projection | None = None,
    ) -> tuple[StoredEvent, ...]: ...

    def projection(self, stream: str) -> Projection | None: ...

    def put_projection(self, stream: str, projection: Projection) -> None: ...

    def due_streams(self, on: dt.date, **meta: str) -> tuple[str, ...]: ...

    def unprojected(self, **meta: str) -> tuple[str, ...]: ...


@runtime_checkable
class DocumentStore(EventStore, Protocol):
    """An event store that keeps large documents once, by digest, next to its events
    (optional).

    A signed commitment letter (several kilobytes) is written once, as a document, and the
    events and projections that mention it hold its digest
    (:func:`document_digest`). Because the digest is in an event's payload, the hash chain
    covers the document's content: ``verify`` recomputes the digest of every stored
    document and reports one whose content no longer matches, naming the event of the
    append that stored it.

    * ``append(..., documents=texts)`` appends as :meth:`EventStore.append` does and stores
      each text in the same transaction, keyed by :func:`document_digest`; a text already
      stored is kept as it is (storing it again is not an error). A refused append stores
      none of them. ``create_numbered`` stores :attr:`NewStream.documents` likewise.
    * ``document(digest)``: the text stored under ``digest``, or ``None``.
    """

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int,
        recorded_at: dt.datetime,
        outbox: Sequence[OutboxMessage] = (),
        idempotency_key: str | None = None,
        meta: Mapping[str, str] | None = None,
        documents: Sequence[str] = (),
    ) -> tuple[StoredEvent, ...]: ...

    def document(self, digest: str) -> str | None: ...


@runtime_checkable
class TransactionalStore(EventStore, Protocol):
    """An event store whose writes can be grouped into one transaction (optional).

    ``with store.transaction(): ...`` groups every write made through this store object
    inside the block (appends, ``create_numbered``, projections, documents) into one
    transaction, for batch imports: one commit instead of one per write.

    * **All or nothing.** The group is committed when the block exits normally; when the
      block raises, nothing written inside it is kept (numbers taken by
      ``create_numbered`` included) and the exception propagates.
    * **Each write stays atomic.** A write refused inside the block
      (:class:`~creditcommit.ConcurrencyError`, :class:`~creditcommit.DuplicateKey`,
      ``ValueError``) writes nothing and raises as usual; if the caller catches it, the
      writes before and after it stand and are committed with the group.
    * Reads through the same store object inside the block see the group's writes; other
      handles see none of them before the commit.
    * A ``transaction()`` inside another one joins it (the outer block decides).
    * The store's write lock (or the chain head) is held for the whole block: keep it short
      (a batch of a few hundred or thousand writes, not an interactive session).
    """

    def transaction(self) -> AbstractContextManager[None]: ...


@runtime_checkable
class ProjectionReader(Protocol):
    """A :class:`ProjectionStore` that reads the projections of many streams at once
    (optional).

    A report over every case of a city reads one row per case; asking for them one
    :meth:`ProjectionStore.projection` at a time costs a query each. A store that
    implements this protocol answers the lot in a few queries instead.
    :meth:`Approvals.report_cases <creditcommit.Approvals.report_cases>` uses it when the
    store has it.

    * ``projections(**meta)``: every stream with every given meta ``name=value`` (as
      :meth:`EventStore.streams`), in the order created, each as ``(info, projection)``:
      ``info`` is what :meth:`EventStore.streams` says of it, ``projection`` its current
      projection (the one :meth:`ProjectionStore.projection` would return), or ``None``
      when it has none or it is behind the stream's events (the caller folds those).
    * The rows are read in chunks of a bounded size, each chunk one query: iterating keeps
      one chunk in memory, not the whole store. A stream appended while the iterator is
      consumed may or may not be among those yielded (each chunk sees the store as it is
      when the chunk is read); none is yielded twice or out of order.
    """

    def projections(self, **meta: str) -> Iterator[tuple[StreamInfo, Projection | None]]: ...
