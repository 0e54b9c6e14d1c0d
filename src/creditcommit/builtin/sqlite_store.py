"""The built-in event store and outbox (事件存储与发件箱) on SQLite.

:class:`SQLiteEventStore` implements :class:`~creditcommit.ports.EventStore` with the standard
library's :mod:`sqlite3`: one database file holds the event log, the streams, the
idempotency keys and the outbox. Every write is one ``BEGIN IMMEDIATE`` transaction, so two
writers (threads or processes, each with its own store object) serialise on SQLite's lock
and exactly one of two racing appends to a stream wins.

The log is hash-chained: :func:`event_digest` is SHA-256 over the previous event's digest and
a canonical JSON of the event, so :meth:`SQLiteEventStore.verify` finds the first event that
was edited, inserted or removed behind the library's back (with the ``sqlite3`` shell, say).

See ``docs/store.md`` for the guarantees, the schema and how to inspect the outbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Self

from creditcommit.errors import (
    ConcurrencyError,
    DuplicateKey,
    UnknownMessage,
    UnsupportedSchema,
)
from creditcommit.ports import (
    GENESIS_DIGEST,
    NewEvent,
    OutboxMessage,
    PendingMessage,
    StoredEvent,
    StreamInfo,
    VerifyReport,
    canonical_json,
    event_digest,
)

__all__ = [
    "DEFAULT_LEASE",
    "SCHEMA_VERSION",
    "SQLiteEventStore",
]

#: The schema this module writes and understands (kept in the ``schema_version`` table).
SCHEMA_VERSION = 1

#: ``previous_digest`` of the first event of a log: 64 zeros.

#: How long :meth:`SQLiteEventStore.pending` leases a message to one worker by default.
DEFAULT_LEASE = dt.timedelta(minutes=5)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


# --- helpers ---------------------------------------------------------------------------------


def _iso(value: dt.datetime, name: str) -> str:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must carry a UTC offset (e.g. +08:00), got {value.isoformat()}")
    return value.isoformat()


def _micros(value: dt.datetime, name: str) -> int:
    """UTC microseconds since 1970: the sortable form of an instant."""
    _iso(value, name)
    return (value - _EPOCH) // _MICROSECOND


def _json_text(value: Mapping[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """Canonical JSON of a payload and the payload as it reads back (tuples become lists)."""
    try:
        text = canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not JSON data: {exc}") from None
    parsed: dict[str, Any] = json.loads(text)
    return text, parsed


def _check_meta(meta: Mapping[str, str]) -> list[tuple[str, str]]:
    items = sorted(meta.items())
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError(f"stream meta must map text to text, got {name!r}: {value!r}")
    return items


def _positive(value: int, name: str) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")


# --- the schema ------------------------------------------------------------------------------

# Times are kept as the ISO text the caller gave (offset included) so that digests and
# audit trails show them as recorded; the outbox also keeps UTC microseconds for ordering.
_SCHEMA = (
    """
    CREATE TABLE schema_version (
        version INTEGER NOT NULL
    )""",
    """
    CREATE TABLE streams (
        stream      TEXT PRIMARY KEY,
        version     INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    )""",
    """
    CREATE TABLE stream_meta (
        stream  TEXT NOT NULL REFERENCES streams (stream),
        name    TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (stream, name)
    ) WITHOUT ROWID""",
    "CREATE INDEX stream_meta_by_value ON stream_meta (name, value, stream)",
    """
    CREATE TABLE idempotency_keys (
        key     TEXT PRIMARY KEY,
        stream  TEXT NOT NULL REFERENCES streams (stream)
    ) WITHOUT ROWID""",
    """
    CREATE TABLE events (
        position         INTEGER PRIMARY KEY,
        stream           TEXT NOT NULL REFERENCES streams (stream),
        version          INTEGER NOT NULL,
        type             TEXT NOT NULL,
        payload          TEXT NOT NULL,
        recorded_at      TEXT NOT NULL,
        previous_digest  TEXT NOT NULL,
        digest           TEXT NOT NULL,
        UNIQUE (stream, version)
    )""",
    """
    CREATE TABLE outbox (
        seq              INTEGER PRIMARY KEY,
        key              TEXT NOT NULL UNIQUE,
        destination      TEXT NOT NULL,
        topic            TEXT NOT NULL,
        city             TEXT NOT NULL,
        payload          TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        stream           TEXT NOT NULL REFERENCES streams (stream),
        event_position   INTEGER NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  TEXT NOT NULL,
        due_us           INTEGER NOT NULL,
        leased_until_us  INTEGER,
        last_attempt_at  TEXT,
        last_error       TEXT,
        delivered_at     TEXT
    )""",
    "CREATE INDEX outbox_due ON outbox (due_us, seq) WHERE delivered_at IS NULL",
)

# Upgrades from version n to n + 1, applied in order when an older file is opened.
_MIGRATIONS: dict[int, tuple[str, ...]] = {}

_EVENT_COLUMNS = "stream, version, position, type, payload, recorded_at, previous_digest, digest"
_OUTBOX_COLUMNS = (
    "key, destination, topic, city, payload, created_at, attempts, next_attempt_at, last_error"
)


def _event(row: tuple[Any, ...]) -> StoredEvent:
    stream, version, position, type_, payload, recorded_at, previous, digest = row
    return StoredEvent(
        stream=stream,
        version=version,
        position=position,
        type=type_,
        payload=json.loads(payload),
        recorded_at=dt.datetime.fromisoformat(recorded_at),
        previous_digest=previous,
        digest=digest,
    )


def _pending(row: tuple[Any, ...]) -> PendingMessage:
    key, destination, topic, city, payload, created_at, attempts, next_at, last_error = row
    message = OutboxMessage(
        key=key,
        destination=destination,
        topic=topic,
        city=city,
        payload=json.loads(payload),
        created_at=dt.datetime.fromisoformat(created_at),
    )
    return PendingMessage(
        message=message,
        attempts=attempts,
        next_attempt_at=dt.datetime.fromisoformat(next_at),
        last_error=last_error,
    )


# --- the store -------------------------------------------------------------------------------


class SQLiteEventStore:
    """Event streams and an outbox in one SQLite file (WAL mode, ``synchronous=FULL``).

    ``SQLiteEventStore(path)`` opens (and creates) the file; ``path`` may be ``":memory:"``
    for a private in-memory store. ``timeout`` is how many seconds a write waits for another
    writer's lock before ``sqlite3.OperationalError: database is locked``.

    Thread-safety: a store object holds one connection and may only be used by the thread
    that opened it (``check_same_thread``). Open one store object per thread or process on
    the same file; they coordinate through SQLite's locks.

    ``synchronous=FULL`` because an append acknowledges a legal act (a licence issued, a
    revocation decided): with WAL, ``NORMAL`` may lose the last commits on power loss, and
    one fsync per append is cheap at a city's volume.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self._con = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = FULL")
            self._con.execute("PRAGMA foreign_keys = ON")
            self._open_schema()
        except BaseException:
            self._con.close()
            raise

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> Self:
        """Open the store a URL names: ``sqlite:///abs/path.db`` or ``sqlite:relative.db``.

        ``sqlite::memory:`` opens a private in-memory store. Percent-escapes in the path are
        decoded; a host, a query or a fragment is refused with ``ValueError``.
        """
        expected = "expected sqlite:///absolute/path.db or sqlite:relative/path.db"
        scheme, colon, rest = url.partition(":")
        if scheme.lower() != "sqlite" or not colon:
            raise ValueError(f"not an SQLite URL: {url!r} ({expected})")
        if "?" in rest or "#" in rest:
            raise ValueError(f"SQLite URL {url!r} has a query or fragment; none is supported")
        if rest.startswith("//"):
            host, _, path = rest[2:].partition("/")
            if host not in ("", "localhost"):
                raise ValueError(f"SQLite URL {url!r} names a host {host!r}; {expected}")
            # sqlite:////abs/path.db (SQLAlchemy's spelling) means the same file.
            path = "/" + path.lstrip("/")
            if path == "/":
                raise ValueError(f"SQLite URL {url!r} names no file; {expected}")
        else:
            path = rest
            if not path:
                raise ValueError(f"SQLite URL {url!r} names no file; {expected}")
        return cls(urllib.parse.unquote(path), timeout=timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    # --- life cycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _schema_version(self) -> int | None:
        found = self._con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if found is None:
            return None
        row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _open_schema(self) -> None:
        if self._schema_version() == SCHEMA_VERSION:
            return
        # Create or upgrade under the write lock, so two processes opening a new file at
        # once do not both create the tables.
        with self._write() as con:
            version = self._schema_version()
            if version is None:
                for statement in _SCHEMA:
                    con.execute(statement)
                con.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                return
            if version > SCHEMA_VERSION:
                raise UnsupportedSchema(self.path, version, SCHEMA_VERSION)
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    con.execute(statement)
            con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding SQLite's write lock from the first statement.

        ``BEGIN IMMEDIATE`` (not a deferred ``BEGIN``) so that a transaction never reads
        first and then fails to upgrade to a writer: concurrent writers queue on the lock
        (up to ``timeout``) instead of failing with ``SQLITE_BUSY``.
        """
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    # --- events --------------------------------------------------------------------------

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
    ) -> tuple[StoredEvent, ...]:
        """Append ``events`` to ``stream`` if it is at ``expected_version`` (0: a new stream).

        In one transaction: refuse a used ``idempotency_key`` (:class:`DuplicateKey`, naming
        the stream it belongs to; checked first, so a retried request learns it already
        succeeded) and a stale version (:class:`ConcurrencyError`); then write the events,
        chained, the ``outbox`` messages (a key already in the outbox is skipped, not an
        error) and the stream's ``meta`` (merged into what it had). Nothing is written when
        anything is refused.
        """
        if not events:
            raise ValueError("nothing to append: give at least one event")
        if expected_version < 0:
            raise ValueError(f"expected_version must be 0 or more, got {expected_version}")
        at = _iso(recorded_at, "recorded_at")
        bodies = [
            (event.type, *_json_text(event.payload, f"events[{i}].payload"))
            for i, event in enumerate(events)
        ]
        messages = [
            (
                message,
                _json_text(message.payload, f"outbox[{i}].payload")[0],
                _iso(message.created_at, f"outbox[{i}].created_at"),
                _micros(message.created_at, f"outbox[{i}].created_at"),
            )
            for i, message in enumerate(outbox)
        ]
        meta_items = _check_meta(meta or {})

        with self._write() as con:
            if idempotency_key is not None:
                owner = con.execute(
                    "SELECT stream FROM idempotency_keys WHERE key = ?", (idempotency_key,)
                ).fetchone()
                if owner is not None:
                    raise DuplicateKey(idempotency_key, owner[0])
            row = con.execute("SELECT version FROM streams WHERE stream = ?", (stream,)).fetchone()
            actual = 0 if row is None else int(row[0])
            if actual != expected_version:
                raise ConcurrencyError(stream, expected_version, actual)
            last = con.execute(
                "SELECT position, digest FROM events ORDER BY position DESC LIMIT 1"
            ).fetchone()
            position, previous = (0, GENESIS_DIGEST) if last is None else last

            stored: list[StoredEvent] = []
            for offset, (type_, _, payload) in enumerate(bodies, start=1):
                position += 1
                version = actual + offset
                digest = event_digest(
                    previous,
                    stream=stream,
                    version=version,
                    position=position,
                    type=type_,
                    payload=payload,
                    recorded_at=at,
                )
                stored.append(
                    StoredEvent(
                        stream=stream,
                        version=version,
                        position=position,
                        type=type_,
                        payload=payload,
                        recorded_at=dt.datetime.fromisoformat(at),
                        previous_digest=previous,
                        digest=digest,
                    )
                )
                previous = digest

            if row is None:
                con.execute(
                    "INSERT INTO streams (stream, version, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    (stream, stored[-1].version, at, at),
                )
            else:
                con.execute(
                    "UPDATE streams SET version = ?, updated_at = ? WHERE stream = ?",
                    (stored[-1].version, at, stream),
                )
            con.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.stream,
                        e.version,
                        e.position,
                        e.type,
                        body[1],
                        at,
                        e.previous_digest,
                        e.digest,
                    )
                    for e, body in zip(stored, bodies, strict=True)
                ],
            )
            if meta_items:
                con.executemany(
                    "INSERT INTO stream_meta (stream, name, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (stream, name) DO UPDATE SET value = excluded.value",
                    [(stream, name, value) for name, value in meta_items],
                )
            if idempotency_key is not None:
                con.execute(
                    "INSERT INTO idempotency_keys (key, stream) VALUES (?, ?)",
                    (idempotency_key, stream),
                )
            if messages:
                # A key already in the outbox is the same message published again: skip it
                # so that it is not delivered twice.
                con.executemany(
                    "INSERT INTO outbox (key, destination, topic, city, payload, created_at, "
                    "stream, event_position, next_attempt_at, due_us) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    [
                        (
                            m.key,
                            m.destination,
                            m.topic,
                            m.city,
                            text,
                            created,
                            stream,
                            position,
                            created,
                            due,
                        )
                        for m, text, created, due in messages
                    ],
                )
        return tuple(stored)

    def read(self, stream: str) -> tuple[StoredEvent, ...]:
        """The events of ``stream`` in version order (empty for an unknown stream)."""
        rows = self._con.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = ? ORDER BY version", (stream,)
        ).fetchall()
        return tuple(_event(row) for row in rows)

    def stream_for_key(self, idempotency_key: str) -> str | None:
        """The stream an idempotency key was used on, or ``None``."""
        row = self._con.execute(
            "SELECT stream FROM idempotency_keys WHERE key = ?", (idempotency_key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def streams(self, **meta: str) -> tuple[StreamInfo, ...]:
        """The streams whose meta has every given ``name=value``, in the order created."""
        where: list[str] = []
        params: list[str] = []
        for name, value in _check_meta(meta):
            where.append(
                "s.stream IN (SELECT stream FROM stream_meta WHERE name = ? AND value = ?)"
            )
            params += [name, value]
        sql = (
            "SELECT s.stream, s.version, s.created_at, s.updated_at, m.name, m.value "
            "FROM streams AS s LEFT JOIN stream_meta AS m ON m.stream = s.stream"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY s.rowid, m.name"
        found: dict[str, tuple[int, str, str, dict[str, str]]] = {}
        for stream, version, created, updated, name, value in self._con.execute(sql, params):
            entry = found.setdefault(stream, (version, created, updated, {}))
            if name is not None:
                entry[3][name] = value
        return tuple(
            StreamInfo(
                stream=stream,
                version=version,
                created_at=dt.datetime.fromisoformat(created),
                updated_at=dt.datetime.fromisoformat(updated),
                meta=values,
            )
            for stream, (version, created, updated, values) in found.items()
        )

    def events(self, *, after: int = 0, limit: int = 1000) -> tuple[StoredEvent, ...]:
        """Up to ``limit`` events of the whole log after position ``after``, in log order."""
        if after < 0:
            raise ValueError(f"after must be 0 or more, got {after}")
        _positive(limit, "limit")
        rows = self._con.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit),
        ).fetchall()
        return tuple(_event(row) for row in rows)

    # --- the outbox ----------------------------------------------------------------------

    def pending(
        self, now: dt.datetime, *, limit: int = 100, lease: dt.timedelta = DEFAULT_LEASE
    ) -> tuple[PendingMessage, ...]:
        """Lease up to ``limit`` messages due at ``now`` to the caller for ``lease``.

        Due: not delivered, ``next_attempt_at <= now`` and no lease running. Oldest due
        first. Selecting and leasing is one write transaction, so two workers never get the
        same message while its lease runs.
        """
        _positive(limit, "limit")
        if lease <= dt.timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        now_us = _micros(now, "now")
        until_us = _micros(now + lease, "now")
        with self._write() as con:
            rows = con.execute(
                f"SELECT seq, {_OUTBOX_COLUMNS} FROM outbox "
                "WHERE delivered_at IS NULL AND due_us <= ? "
                "AND (leased_until_us IS NULL OR leased_until_us <= ?) "
                "ORDER BY due_us, seq LIMIT ?",
                (now_us, now_us, limit),
            ).fetchall()
            con.executemany(
                "UPDATE outbox SET leased_until_us = ? WHERE seq = ?",
                [(until_us, row[0]) for row in rows],
            )
        return tuple(_pending(row[1:]) for row in rows)

    def delivered(self, key: str, *, at: dt.datetime) -> None:
        """Record that message ``key`` was delivered at ``at`` (again: no change)."""
        when = _iso(at, "at")
        with self._write() as con:
            self._require(con, key)
            con.execute(
                "UPDATE outbox SET delivered_at = ?, leased_until_us = NULL "
                "WHERE key = ? AND delivered_at IS NULL",
                (when, key),
            )

    def failed(self, key: str, *, at: dt.datetime, error: str, retry_at: dt.datetime) -> None:
        """Record a failed attempt at ``at``: one more attempt, retry at ``retry_at``.

        The lease is released. A message already delivered (by a worker whose lease ran
        out, say) stays delivered.
        """
        when = _iso(at, "at")
        retry = _iso(retry_at, "retry_at")
        retry_us = _micros(retry_at, "retry_at")
        with self._write() as con:
            self._require(con, key)
            con.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, "
                "last_error = ?, next_attempt_at = ?, due_us = ?, leased_until_us = NULL "
                "WHERE key = ? AND delivered_at IS NULL",
                (when, error, retry, retry_us, key),
            )

    @staticmethod
    def _require(con: sqlite3.Connection, key: str) -> None:
        if con.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone() is None:
            raise UnknownMessage(key)

    def outbox(self, *, delivered: bool | None = None) -> tuple[PendingMessage, ...]:
        """Every outbox message in the order written; only delivered or undelivered ones
        when ``delivered`` is ``True`` or ``False``. Leases are not changed."""
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        if delivered is True:
            sql += " WHERE delivered_at IS NOT NULL"
        elif delivered is False:
            sql += " WHERE delivered_at IS NULL"
        rows = self._con.execute(sql + " ORDER BY seq").fetchall()
        return tuple(_pending(row) for row in rows)

    # --- verification --------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Walk the whole log in position order, recomputing every digest.

        Reports the first event whose content does not match its digest, whose
        ``previous_digest`` is not the digest of the event before it, or whose position or
        version leaves a gap; then checks that each stream's recorded version matches its
        last event (events removed from the end of a stream).
        """
        con = self._con
        con.execute("BEGIN")  # one snapshot for the walk and the stream check
        try:
            return self._verify(con)
        finally:
            con.execute("COMMIT")

    def _verify(self, con: sqlite3.Connection) -> VerifyReport:
        previous = GENESIS_DIGEST
        checked = 0
        versions: dict[str, int] = {}
        last: StoredEvent | None = None
        with contextlib.closing(
            con.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY position")
        ) as rows:
            for row in rows:
                checked += 1
                event, problem = _checked(row, previous, checked, versions)
                if problem is not None:
                    return VerifyReport(events=checked, first_bad=event, problem=problem)
                versions[event.stream] = event.version
                previous = event.digest
                last = event
        for stream, version in con.execute("SELECT stream, version FROM streams ORDER BY rowid"):
            found = versions.get(stream, 0)
            if found != version and last is not None:
                tail = con.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = ? "
                    "ORDER BY version DESC LIMIT 1",
                    (stream,),
                ).fetchone()
                return VerifyReport(
                    events=checked,
                    first_bad=last if tail is None else _event(tail),
                    problem=(
                        f"stream {stream!r} is recorded at version {version} but its events "
                        f"end at version {found}: events were removed"
                    ),
                )
        return VerifyReport(events=checked)


def _checked(
    row: tuple[Any, ...], previous: str, position: int, versions: Mapping[str, int]
) -> tuple[StoredEvent, str | None]:
    """The event of ``row`` and what is wrong with it, if anything."""
    stream, version, at_position, type_, payload_text, recorded_text, prev, digest = row
    problem: str | None = None
    payload: Mapping[str, Any] = MappingProxyType({})
    try:
        loaded = json.loads(payload_text)
    except (TypeError, ValueError):
        problem = f"the payload is not valid JSON: {payload_text!r}"
    else:
        if isinstance(loaded, dict):
            payload = loaded
        else:
            problem = f"the payload is not a JSON object: {payload_text!r}"
    try:
        recorded_at = dt.datetime.fromisoformat(recorded_text)
    except (TypeError, ValueError):
        recorded_at = _EPOCH
        problem = problem or f"recorded_at is not an ISO date-time: {recorded_text!r}"
    event = StoredEvent(
        stream=stream,
        version=version,
        position=at_position,
        type=type_,
        payload=payload,
        recorded_at=recorded_at,
        previous_digest=prev,
        digest=digest,
    )
    if problem is not None:
        return event, problem
    if at_position != position:
        return event, (
            f"position {at_position} follows position {position - 1}: the log has a gap "
            "(events were removed or renumbered)"
        )
    if version != versions.get(stream, 0) + 1:
        return event, (
            f"version {version} of stream {stream!r} follows version "
            f"{versions.get(stream, 0)}: the stream has a gap"
        )
    if prev != previous:
        return event, (
            "previous_digest does not match the digest of the event before it "
            f"({previous[:12]}…): the chain is broken"
        )
    expected = event_digest(
        prev,
        stream=stream,
        version=version,
        position=at_position,
        type=type_,
        payload=payload,
        recorded_at=recorded_text,
    )
    if digest != expected:
        return event, (
            f"the digest does not match the event's content (recomputed {expected[:12]}…, "
            f"stored {digest[:12]}…): its stream, version, position, type, payload or "
            "recorded time was changed"
        )
    return event, None
