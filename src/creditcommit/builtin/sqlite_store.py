"""The built-in event store and outbox (事件存储与发件箱) on SQLite.

:class:`SQLiteEventStore` implements :class:`~creditcommit.ports.EventStore` with the standard
library's :mod:`sqlite3`: one database file holds the event log, the streams, the
idempotency keys and the outbox. Every write is one ``BEGIN IMMEDIATE`` transaction, so two
writers (threads or processes, each with its own store object) serialise on SQLite's lock
and exactly one of two racing appends to a stream wins.

The log is hash-chained: :func:`event_digest` is SHA-256 over the previous event's digest and
a canonical JSON of the event, so :meth:`SQLiteEventStore.verify` finds the first event that
was edited, inserted or removed behind the library's back (with the ``sqlite3`` shell, say).
The chain's head is anchored: every append also writes a checkpoint of the log and of the
stream (last digest, number of events, stream meta, idempotency keys), keyed with
HMAC-SHA256 when the key is set in the environment variable :data:`LOG_KEY_ENV`; outbox
rows and delivery acknowledgements carry an HMAC too. Without the key nobody can rewrite
the chain, the checkpoints and the outbox consistently.

See ``docs/store.md`` for the guarantees, the schema and how to inspect the outbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Self

import attrs

from creditcommit.errors import (
    ConcurrencyError,
    DuplicateKey,
    StoreUnavailable,
    UnknownMessage,
    UnsupportedSchema,
)
from creditcommit.ports import (
    GENESIS_DIGEST,
    NewEvent,
    NewStream,
    OutboxMessage,
    PendingMessage,
    Projection,
    StoredEvent,
    StreamInfo,
    VerifyReport,
    canonical_json,
    document_digest,
    event_digest,
)

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TIMEOUT",
    "LOG_KEY_ENV",
    "SCHEMA_VERSION",
    "SQLiteEventStore",
]

#: The schema this module writes and understands (kept in the ``schema_version`` table).
#: Version 2 added the checkpoints, the case-number counters and dead letters; version 3 the
#: projections (one folded row per stream, indexed by the day it is next due).
SCHEMA_VERSION = 4

#: The environment variable holding the key of the checkpoints' HMAC (never put it in a file).
LOG_KEY_ENV = "CREDITCOMMIT_LOG_KEY"

#: Seconds a write waits for another writer's lock before :class:`StoreUnavailable`.
DEFAULT_TIMEOUT = 30.0

# SQLite result codes that mean "not now" (a lock, the disk), not a bug in a statement.
_UNAVAILABLE = frozenset(
    {
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_CANTOPEN",
        "SQLITE_IOERR",
        "SQLITE_FULL",
        "SQLITE_READONLY",
        "SQLITE_PROTOCOL",
    }
)

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


#: How many streams' last written projection texts a store object remembers.
_WRITTEN_PROJECTIONS = 1024


def _check_projection(projection: Projection | None, version: int) -> str | None:
    """The canonical JSON of the projection's body (None: no projection), checked."""
    if projection is None:
        return None
    if projection.version != version or version < 1:
        raise ValueError(
            f"the projection is of version {projection.version}, but the stream will be at "
            f"version {version} after the append"
        )
    try:
        return canonical_json(projection.body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"projection.body is not JSON data: {exc}") from None


def _text_digest(
    previous_digest: str,
    *,
    stream: str,
    version: int,
    position: int,
    type_: str,
    payload_text: str,
    recorded_at: str,
) -> str:
    """:func:`~creditcommit.ports.event_digest` of an event whose payload is already
    canonical JSON (``payload_text``): the same digest, without encoding the payload again.
    The object's keys in canonical (sorted) order are payload, position, recorded_at,
    stream, type, version."""
    content = (
        f'{{"payload":{payload_text},"position":{int(position)},'
        f'"recorded_at":{_json_string(recorded_at)},"stream":{_json_string(stream)},'
        f'"type":{_json_string(type_)},"version":{int(version)}}}'
    )
    return hashlib.sha256((previous_digest + content).encode("utf-8")).hexdigest()


#: A text as canonical JSON writes it (non-ASCII kept).
_json_string = json.JSONEncoder(ensure_ascii=False).encode


def _meta_filter(meta: Mapping[str, str]) -> tuple[str, list[str]]:
    """The SQL condition (after a WHERE) that stream ``s`` has every meta ``name=value``,
    looked up per stream (by the primary key of ``stream_meta``)."""
    where = ""
    params: list[str] = []
    for name, value in _check_meta(meta):
        where += (
            " AND EXISTS (SELECT 1 FROM stream_meta AS e "
            "WHERE e.stream = s.stream AND e.name = ? AND e.value = ?)"
        )
        params += [name, value]
    return where, params


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
        mac              TEXT,
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
        delivered_at     TEXT,
        dead_at          TEXT,
        mac              TEXT,
        delivered_mac    TEXT
    )""",
    "CREATE INDEX outbox_due ON outbox (due_us, seq) "
    "WHERE delivered_at IS NULL AND dead_at IS NULL",
    """
    CREATE TABLE counters (
        name   TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """
    CREATE TABLE checkpoints (
        kind   TEXT NOT NULL,
        scope  TEXT NOT NULL,
        body   TEXT NOT NULL,
        mac    TEXT,
        PRIMARY KEY (kind, scope)
    ) WITHOUT ROWID""",
    """
    CREATE TABLE projections (
        stream   TEXT PRIMARY KEY REFERENCES streams (stream),
        version  INTEGER NOT NULL,
        body     TEXT NOT NULL,
        due      TEXT
    ) WITHOUT ROWID""",
    "CREATE INDEX projections_due ON projections (due, stream) WHERE due IS NOT NULL",
    # Which streams have a current projection, without reading the (large) bodies.
    "CREATE INDEX projections_version ON projections (stream, version)",
    # Schema 4: large documents (signed letters) stored once, keyed by their SHA-256.
    """
    CREATE TABLE documents (
        digest          TEXT PRIMARY KEY,
        body            TEXT NOT NULL,
        stream          TEXT NOT NULL REFERENCES streams (stream),
        event_position  INTEGER NOT NULL
    ) WITHOUT ROWID""",
)

# Upgrades from version n to n + 1, applied in order when an older file is opened; the
# checkpoints of an upgraded file are then computed from its data (see anchor()).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE events ADD COLUMN mac TEXT",
        "ALTER TABLE outbox ADD COLUMN dead_at TEXT",
        "ALTER TABLE outbox ADD COLUMN mac TEXT",
        "ALTER TABLE outbox ADD COLUMN delivered_mac TEXT",
        "DROP INDEX outbox_due",
        _SCHEMA[-7],
        _SCHEMA[-6],
        _SCHEMA[-5],
    ),
    # The projections start empty: the service that knows the fold builds them from the
    # events (Approvals.rebuild_projections); until then it folds the events of a case.
    2: _SCHEMA[-4:-1],
    # Documents start empty: events written before keep their letters inline.
    3: _SCHEMA[-1:],
}

_EVENT_COLUMNS = "stream, version, position, type, payload, recorded_at, previous_digest, digest"
_OUTBOX_COLUMNS = (
    "key, destination, topic, city, payload, created_at, attempts, next_attempt_at, "
    "last_error, dead_at"
)
# What an outbox row's MAC covers, in this order.
_SIGNED_OUTBOX = "key, destination, topic, city, payload, created_at, stream, event_position"


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
    key, destination, topic, city, payload, created_at, attempts, next_at, last_error, dead = row
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
        dead_at=None if dead is None else dt.datetime.fromisoformat(dead),
    )


def _outbox_body(row: Sequence[Any]) -> str:
    """The canonical text of an outbox row's signed columns (see ``_SIGNED_OUTBOX``)."""
    names = [name.strip() for name in _SIGNED_OUTBOX.split(",")]
    return canonical_json(dict(zip(names, row, strict=True)))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _mac(key: bytes | None, *parts: str) -> str | None:
    """HMAC-SHA256 (hex) of ``parts`` joined by NUL under ``key``; ``None`` without a key."""
    if key is None:
        return None
    return hmac.new(key, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def _same(found: str | None, expected: str | None) -> bool:
    return found is not None and expected is not None and hmac.compare_digest(found, expected)


def _unavailable(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return any(name == code or name.startswith(code + "_") for code in _UNAVAILABLE) or (
        "locked" in str(exc)
    )


# --- the store -------------------------------------------------------------------------------


def _checkpoint_problem(
    *,
    rows: Sequence[tuple[Any, ...]],
    heads: Mapping[str, StoredEvent],
    checked: int,
    key: bytes | None,
    stream_state: Callable[[str], Mapping[str, Any]],
    counts: Callable[[], tuple[int, int]],
) -> VerifyReport | None:
    """The first checkpoint that does not match the data, or ``None`` if all match.

    Shared by every store that keeps these checkpoints (the PostgreSQL adapter too): ``rows``
    are the checkpoint rows (kind, scope, body, mac), ``heads`` the last event of each stream,
    ``stream_state(stream)`` what a stream's checkpoint records as read from the tables, and
    ``counts()`` the numbers of outbox messages and streams.
    """

    def bad(
        problem: str, stream: str | None = None, event: StoredEvent | None = None
    ) -> VerifyReport:
        return VerifyReport(events=checked, first_bad=event, problem=problem, stream=stream)

    log: tuple[str, str | None] | None = None
    signed: dict[str, tuple[str, str | None]] = {}
    for kind, scope, body, mac in rows:
        if kind == "log" and scope == "":
            log = (body, mac)
        elif kind == "stream":
            signed[scope] = (body, mac)
        else:
            return bad(f"an unknown checkpoint {kind!r}/{scope!r} was added to the store")
    # Streams first, in log order of their last event, so the report names a case.
    order = sorted(heads.values(), key=lambda event: event.position)
    for event in order:
        if event.stream not in signed:
            return bad(
                f"case {event.stream} has no checkpoint: its events were written behind "
                "the store's back",
                event.stream,
                event,
            )
    for stream in sorted(set(signed) - set(heads)):
        body = json.loads(signed[stream][0])
        return bad(
            f"case {stream} was deleted: its checkpoint records {body.get('version')} "
            f"events ending in digest {str(body.get('head'))[:12]}…, the log holds none",
            stream,
        )
    for event in order:
        body, mac = signed[event.stream]
        stream = event.stream
        if key is not None and not _same(mac, _mac(key, "checkpoint", "stream", stream, body)):
            return bad(
                f"the checkpoint of case {stream} is not signed with the key (written "
                "without it, or rewritten by someone who does not have it)",
                stream,
                event,
            )
        expected = json.loads(body)
        actual = stream_state(stream)
        if (expected.get("version"), expected.get("head")) != (
            actual["version"],
            actual["head"],
        ):
            return bad(
                f"case {stream} ends at version {actual['version']} (event "
                f"{event.position}, digest {actual['head'][:12]}…) but its checkpoint "
                f"records version {expected.get('version')} ending in digest "
                f"{str(expected.get('head'))[:12]}…: its events were truncated, forged or "
                "the chain recomputed",
                stream,
                event,
            )
        if expected.get("meta") != actual["meta"]:
            return bad(
                f"the state index (stream meta) of case {stream} was changed: it reads "
                f"{actual['meta']}, the checkpoint records {expected.get('meta')}",
                stream,
                event,
            )
        if expected.get("keys") != actual["keys"]:
            return bad(
                f"the idempotency keys of case {stream} were changed: "
                f"{actual['keys']} instead of {expected.get('keys')}",
                stream,
                event,
            )
    last = order[-1] if order else None
    if log is None:
        return bad("the log's checkpoint is missing: the log was emptied or replaced")
    body, mac = log
    if key is not None and not _same(mac, _mac(key, "checkpoint", "log", "", body)):
        return bad(
            "the log's checkpoint is not signed with the key (written without it, or "
            "rewritten by someone who does not have it)",
            None if last is None else last.stream,
            last,
        )
    expected = json.loads(body)
    head = GENESIS_DIGEST if last is None else last.digest
    if (expected.get("events"), expected.get("head")) != (checked, head):
        return bad(
            f"the log holds {checked} events ending in digest {head[:12]}… but its "
            f"checkpoint records {expected.get('events')} events ending in "
            f"{str(expected.get('head'))[:12]}…: events were removed, forged or the chain "
            "recomputed",
            None if last is None else last.stream,
            last,
        )
    outbox, streams = counts()
    if (expected.get("outbox"), expected.get("streams")) != (outbox, streams):
        return bad(
            f"the store holds {outbox} outbox messages and {streams} streams but its "
            f"checkpoint records {expected.get('outbox')} and {expected.get('streams')}: "
            "outbox messages or streams were deleted or added"
        )
    return None


class SQLiteEventStore:
    """Event streams and an outbox in one SQLite file (WAL mode, ``synchronous=FULL``).

    ``SQLiteEventStore(path)`` opens (and creates) the file; ``path`` may be ``":memory:"``
    for a private in-memory store. ``timeout`` is how many seconds a write waits for another
    writer's lock (default :data:`DEFAULT_TIMEOUT`) before :class:`StoreUnavailable`.
    ``key`` signs the checkpoints (HMAC-SHA256); by default it is read from the environment
    variable :data:`LOG_KEY_ENV` (``CREDITCOMMIT_LOG_KEY``), and without it the checkpoints
    are written unsigned.

    Thread-safety: a store object holds one connection and may only be used by the thread
    that opened it (``check_same_thread``). Open one store object per thread or process on
    the same file; they coordinate through SQLite's locks.

    ``synchronous=FULL`` because an append acknowledges a legal act (a licence issued, a
    revocation decided): with WAL, ``NORMAL`` may lose the last commits on power loss, and
    one fsync per append is cheap at a city's volume.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float | None = None,
        key: str | bytes | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        if key is None:
            key = (os.environ if environ is None else environ).get(LOG_KEY_ENV) or None
        self._key = key.encode("utf-8") if isinstance(key, str) else key
        wait = DEFAULT_TIMEOUT if timeout is None else timeout
        # How deep inside transaction() blocks this handle is (0: each write commits).
        self._group = 0
        self._savepoints = 0
        # The projection text this handle last wrote, per stream (bounded): see
        # projection_unchanged().
        self._written: dict[str, tuple[int, str]] = {}
        with self._guard():
            self._con = sqlite3.connect(self.path, timeout=wait, isolation_level=None)
        try:
            with self._guard():
                self._con.execute("PRAGMA journal_mode = WAL")
                self._con.execute("PRAGMA synchronous = FULL")
                self._con.execute("PRAGMA foreign_keys = ON")
            self._open_schema()
        except BaseException:
            self._con.close()
            raise

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float | None = None, key: str | bytes | None = None
    ) -> Self:
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
        if key is None:
            return cls(urllib.parse.unquote(path), timeout=timeout)
        return cls(urllib.parse.unquote(path), timeout=timeout, key=key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    @property
    def keyed(self) -> bool:
        """Whether this store signs and checks its checkpoints with a key."""
        return self._key is not None

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

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn "the database is locked" (and other not-now errors) into StoreUnavailable."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if _unavailable(exc):
                raise StoreUnavailable(self.path, str(exc)) from exc
            raise

    def _schema_version(self) -> int | None:
        found = self._con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if found is None:
            return None
        row = self._con.execute("SELECT max(version) FROM schema_version").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _open_schema(self) -> None:
        with self._guard():
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
                self._checkpoint_log(con, events=0, head=GENESIS_DIGEST, outbox=0, streams=0)
                return
            if version > SCHEMA_VERSION:
                raise UnsupportedSchema(self.path, version, SCHEMA_VERSION)
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    con.execute(statement)
            con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            # The file had no checkpoints: they start from what it holds now.
            self._anchor(con)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding SQLite's write lock from the first statement.

        ``BEGIN IMMEDIATE`` (not a deferred ``BEGIN``) so that a transaction never reads
        first and then fails to upgrade to a writer: concurrent writers queue on the lock
        (up to ``timeout``) instead of failing with ``SQLITE_BUSY``; a lock held longer is
        :class:`StoreUnavailable`.
        """
        con = self._con
        if self._group:
            # Inside transaction(): one savepoint per write keeps each write atomic.
            self._savepoints += 1
            name = f"write_{self._savepoints}"
            with self._guard():
                con.execute(f"SAVEPOINT {name}")
                try:
                    yield con
                    con.execute(f"RELEASE {name}")
                except BaseException:
                    if con.in_transaction:
                        con.execute(f"ROLLBACK TO {name}")
                        con.execute(f"RELEASE {name}")
                    raise
            return
        with self._guard():
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes made through this store inside the block into one transaction.

        Committed when the block exits normally; when it raises, nothing written inside it
        is kept. A write refused inside the block writes nothing and raises as usual (each
        write is a savepoint): catch it, and the others are still committed with the group.
        A ``transaction()`` inside another joins it. The write lock is held for the whole
        block, so other writers wait (up to ``timeout``): keep batches short.
        See :class:`~creditcommit.ports.TransactionalStore`.
        """
        if self._group:
            self._group += 1
            try:
                yield
            finally:
                self._group -= 1
            return
        with self._write():
            self._group = 1
            try:
                yield
            finally:
                self._group = 0

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read snapshot (a deferred transaction), or the group's own inside one."""
        con = self._con
        begin = not con.in_transaction
        if begin:
            con.execute("BEGIN")
        try:
            yield con
        finally:
            if begin:
                con.execute("COMMIT")

    # --- checkpoints ---------------------------------------------------------------------

    def _put_checkpoint(
        self, con: sqlite3.Connection, kind: str, scope: str, body: Mapping[str, Any]
    ) -> None:
        text = canonical_json(body)
        con.execute(
            "INSERT INTO checkpoints (kind, scope, body, mac) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, scope) DO UPDATE SET body = excluded.body, mac = excluded.mac",
            (kind, scope, text, _mac(self._key, "checkpoint", kind, scope, text)),
        )

    def _checkpoint_log(
        self, con: sqlite3.Connection, *, events: int, head: str, outbox: int, streams: int
    ) -> None:
        body = {"events": events, "head": head, "outbox": outbox, "streams": streams}
        self._put_checkpoint(con, "log", "", body)

    @staticmethod
    def _stream_state(con: sqlite3.Connection, stream: str) -> dict[str, Any]:
        """What a stream's checkpoint records, read from the tables."""
        last = con.execute(
            "SELECT version, digest FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1",
            (stream,),
        ).fetchone()
        meta = dict(con.execute("SELECT name, value FROM stream_meta WHERE stream = ?", (stream,)))
        keys = sorted(
            row[0]
            for row in con.execute("SELECT key FROM idempotency_keys WHERE stream = ?", (stream,))
        )
        version, head = (0, GENESIS_DIGEST) if last is None else last
        return {"head": head, "keys": keys, "meta": meta, "version": version}

    def _read_log_checkpoint(self, con: sqlite3.Connection) -> dict[str, Any]:
        row = con.execute(
            "SELECT body FROM checkpoints WHERE kind = 'log' AND scope = ''"
        ).fetchone()
        if row is None:  # only while anchoring an upgraded file
            return {"events": 0, "head": GENESIS_DIGEST, "outbox": 0, "streams": 0}
        body: dict[str, Any] = json.loads(row[0])
        return body

    def _sign_outbox(self, con: sqlite3.Connection, where: str, params: Sequence[Any]) -> None:
        if self._key is None:
            return
        rows = con.execute(
            f"SELECT seq, {_SIGNED_OUTBOX}, delivered_at FROM outbox WHERE {where}", params
        ).fetchall()
        for row in rows:
            body = _outbox_body(row[1:-1])
            delivered = row[-1]
            con.execute(
                "UPDATE outbox SET mac = ?, delivered_mac = ? WHERE seq = ?",
                (
                    _mac(self._key, "outbox", body),
                    None
                    if delivered is None
                    else _mac(self._key, "delivered", row[1], delivered, _sha256(body)),
                    row[0],
                ),
            )

    def anchor(self) -> VerifyReport:
        """Recompute every checkpoint from the data and sign it (and the outbox) with the key.

        For a file written before checkpoints existed or without the key: the store then
        vouches for what the file holds *now*, so first check the chain — nothing is
        written unless the hash chain is intact (the report says why not).
        """
        with self._guard(), self._snapshot() as con:
            report = self._verify_chain(con)[0]
        if not report.ok:
            return report
        with self._write() as con:
            self._anchor(con)
        return report

    def _anchor(self, con: sqlite3.Connection) -> None:
        last = con.execute(
            "SELECT position, digest FROM events ORDER BY position DESC LIMIT 1"
        ).fetchone()
        events, head = (0, GENESIS_DIGEST) if last is None else last
        (outbox,) = con.execute("SELECT count(*) FROM outbox").fetchone()
        streams = [row[0] for row in con.execute("SELECT stream FROM streams ORDER BY rowid")]
        con.execute("DELETE FROM checkpoints")
        self._checkpoint_log(con, events=events, head=head, outbox=outbox, streams=len(streams))
        for stream in streams:
            self._put_checkpoint(con, "stream", stream, self._stream_state(con, stream))
        self._sign_outbox(con, "1", ())
        con.execute("UPDATE events SET mac = NULL")
        if self._key is not None:
            con.executemany(
                "UPDATE events SET mac = ? WHERE position = ?",
                [
                    (_mac(self._key, "event", digest), position)
                    for position, digest in con.execute(
                        "SELECT position, digest FROM events"
                    ).fetchall()
                ],
            )

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
        projection: Projection | None = None,
        documents: Sequence[str] = (),
    ) -> tuple[StoredEvent, ...]:
        """Append ``events`` to ``stream`` if it is at ``expected_version`` (0: a new stream).

        In one transaction: refuse a used ``idempotency_key`` (:class:`DuplicateKey`, naming
        the stream it belongs to; checked first, so a retried request learns it already
        succeeded) and a stale version (:class:`ConcurrencyError`); then write the events,
        chained, the ``outbox`` messages (a key already in the outbox is skipped, not an
        error), the stream's ``meta`` (merged into what it had), its ``projection`` (whose
        version must be the stream's new version), the ``documents`` (each kept once under
        its :func:`~creditcommit.ports.document_digest`) and the checkpoints.
        Nothing is written when anything is refused.
        """
        if expected_version < 0:
            raise ValueError(f"expected_version must be 0 or more, got {expected_version}")
        prepared = _prepare(events, outbox, meta, recorded_at)
        body = _check_projection(projection, expected_version + len(events))
        texts = _check_documents(documents)
        with self._write() as con:
            if idempotency_key is not None:
                self._check_key(con, idempotency_key)
            stored = self._append_in(con, stream, prepared, expected_version, idempotency_key)
            if projection is not None and body is not None:
                self._put_projection(con, stream, projection, body)
            if texts:
                self._put_documents(con, stored, prepared[1], texts)
            return stored

    def create_numbered(
        self,
        counter: str,
        build: Callable[[int], NewStream],
        *,
        recorded_at: dt.datetime,
        idempotency_key: str | None = None,
    ) -> tuple[StoredEvent, ...]:
        """Take the next number of ``counter`` and append the new stream ``build(number)``
        makes from it, in one transaction.

        Numbers start at 1 and are never given twice: the counter is incremented in the
        transaction that appends the stream, under the write lock, so concurrent callers
        queue instead of racing (no retries). A number whose stream already exists (written
        before counters existed) is passed over. A used ``idempotency_key`` raises
        :class:`DuplicateKey` before any number is taken.
        """
        _iso(recorded_at, "recorded_at")
        with self._write() as con:
            if idempotency_key is not None:
                self._check_key(con, idempotency_key)
            row = con.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
            number = 0 if row is None else int(row[0])
            while True:
                number += 1
                new = build(number)
                taken = con.execute(
                    "SELECT 1 FROM streams WHERE stream = ?", (new.stream,)
                ).fetchone()
                if taken is None:
                    break
            con.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (counter, number),
            )
            prepared = _prepare(new.events, new.outbox, new.meta, recorded_at)
            body = _check_projection(new.projection, len(new.events))
            texts = _check_documents(new.documents)
            stored = self._append_in(con, new.stream, prepared, 0, idempotency_key)
            if new.projection is not None and body is not None:
                self._put_projection(con, new.stream, new.projection, body)
            if texts:
                self._put_documents(con, stored, prepared[1], texts)
            return stored

    @staticmethod
    def _check_key(con: sqlite3.Connection, idempotency_key: str) -> None:
        owner = con.execute(
            "SELECT stream FROM idempotency_keys WHERE key = ?", (idempotency_key,)
        ).fetchone()
        if owner is not None:
            raise DuplicateKey(idempotency_key, owner[0])

    def _append_in(
        self,
        con: sqlite3.Connection,
        stream: str,
        prepared: _Prepared,
        expected_version: int,
        idempotency_key: str | None,
    ) -> tuple[StoredEvent, ...]:
        at, bodies, messages, meta_items = prepared
        row = con.execute("SELECT version FROM streams WHERE stream = ?", (stream,)).fetchone()
        actual = 0 if row is None else int(row[0])
        if actual != expected_version:
            raise ConcurrencyError(stream, expected_version, actual)
        last = con.execute(
            "SELECT position, digest FROM events ORDER BY position DESC LIMIT 1"
        ).fetchone()
        position, previous = (0, GENESIS_DIGEST) if last is None else last

        stored: list[StoredEvent] = []
        for offset, (type_, text, payload) in enumerate(bodies, start=1):
            position += 1
            version = actual + offset
            digest = _text_digest(
                previous,
                stream=stream,
                version=version,
                position=position,
                type_=type_,
                payload_text=text,
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
                "INSERT INTO streams (stream, version, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (stream, stored[-1].version, at, at),
            )
        else:
            con.execute(
                "UPDATE streams SET version = ?, updated_at = ? WHERE stream = ?",
                (stored[-1].version, at, stream),
            )
        con.executemany(
            f"INSERT INTO events ({_EVENT_COLUMNS}, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    _mac(self._key, "event", e.digest),
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
        added = 0
        if messages:
            # A key already in the outbox is the same message published again: skip it
            # so that it is not delivered twice.
            first = con.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0]
            cursor = con.executemany(
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
            added = max(cursor.rowcount, 0)
            self._sign_outbox(con, "seq > ?", (first,))
        log = self._read_log_checkpoint(con)
        self._checkpoint_log(
            con,
            events=position,
            head=previous,
            outbox=int(log["outbox"]) + added,
            streams=int(log["streams"]) + (1 if row is None else 0),
        )
        self._put_checkpoint(con, "stream", stream, self._stream_state(con, stream))
        return tuple(stored)

    def read(self, stream: str) -> tuple[StoredEvent, ...]:
        """The events of ``stream`` in version order (empty for an unknown stream)."""
        with self._guard():
            rows = self._con.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = ? ORDER BY version",
                (stream,),
            ).fetchall()
        return tuple(_event(row) for row in rows)

    # --- documents -----------------------------------------------------------------------

    @staticmethod
    def _put_documents(
        con: sqlite3.Connection,
        stored: Sequence[StoredEvent],
        bodies: Sequence[tuple[str, str, dict[str, Any]]],
        texts: Mapping[str, str],
    ) -> None:
        rows = []
        for digest, text in texts.items():
            # The event that mentions the document, else the last of the append.
            event = next(
                (e for e, body in zip(stored, bodies, strict=True) if digest in body[1]),
                stored[-1],
            )
            rows.append((digest, text, event.stream, event.position))
        con.executemany(
            "INSERT INTO documents (digest, body, stream, event_position) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (digest) DO NOTHING",
            rows,
        )

    def document(self, digest: str) -> str | None:
        """The document stored under ``digest`` (its SHA-256, hex), or ``None``."""
        with self._guard():
            row = self._con.execute(
                "SELECT body FROM documents WHERE digest = ?", (digest,)
            ).fetchone()
        return None if row is None else str(row[0])

    # --- projections ---------------------------------------------------------------------

    def _put_projection(
        self, con: sqlite3.Connection, stream: str, projection: Projection, body: str
    ) -> None:
        if len(self._written) >= _WRITTEN_PROJECTIONS:
            self._written.clear()
        self._written[stream] = (projection.version, body)
        due = None if projection.due is None else projection.due.isoformat()
        con.execute(
            "INSERT INTO projections (stream, version, body, due) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (stream) DO UPDATE SET version = excluded.version, "
            "body = excluded.body, due = excluded.due",
            (stream, projection.version, body, due),
        )

    def projection_unchanged(self, stream: str, version: int) -> bool:
        """Whether the current projection of ``stream`` is at ``version`` and is, to the
        byte, the one this store object last wrote for it.

        Cheaper than :meth:`projection` (nothing is decoded): a service that remembers the
        case it last stored uses it to know that nobody wrote the case, or changed its
        projection, since. ``False`` whenever in doubt (another writer, a rolled-back
        group, a projection this object did not write, a row edited behind its back).
        """
        written = self._written.get(stream)
        if written is None or written[0] != version:
            return False
        with self._guard():
            row = self._con.execute(
                "SELECT p.body FROM projections AS p JOIN streams AS s ON s.stream = p.stream "
                "WHERE p.stream = ? AND p.version = ? AND s.version = ?",
                (stream, version, version),
            ).fetchone()
        return row is not None and row[0] == written[1]

    def projection(self, stream: str) -> Projection | None:
        """The projection of ``stream``, or ``None`` if it has none or it is behind its events."""
        with self._guard():
            row = self._con.execute(
                "SELECT p.version, p.body, p.due FROM projections AS p "
                "JOIN streams AS s ON s.stream = p.stream "
                "WHERE p.stream = ? AND p.version = s.version",
                (stream,),
            ).fetchone()
        if row is None:
            return None
        version, body, due = row
        return Projection(
            version=version,
            body=json.loads(body),
            due=None if due is None else dt.date.fromisoformat(due),
        )

    def put_projection(self, stream: str, projection: Projection) -> None:
        """Write the projection of ``stream`` (rebuilding one); :class:`ConcurrencyError`
        unless ``projection.version`` is the stream's version."""
        body = _check_projection(projection, projection.version)
        assert body is not None
        with self._write() as con:
            row = con.execute("SELECT version FROM streams WHERE stream = ?", (stream,)).fetchone()
            actual = 0 if row is None else int(row[0])
            if actual != projection.version:
                raise ConcurrencyError(stream, projection.version, actual)
            self._put_projection(con, stream, projection, body)

    def due_streams(self, on: dt.date, **meta: str) -> tuple[str, ...]:
        """The streams with every given meta ``name=value`` whose current projection is due
        on or before ``on``, in the order created."""
        where, params = _meta_filter(meta)
        sql = (
            "SELECT s.stream FROM projections AS p JOIN streams AS s ON s.stream = p.stream "
            "WHERE p.due IS NOT NULL AND p.due <= ? AND p.version = s.version"
        )
        with self._guard():
            rows = self._con.execute(
                sql + where + " ORDER BY s.rowid", (on.isoformat(), *params)
            ).fetchall()
        return tuple(row[0] for row in rows)

    def unprojected(self, **meta: str) -> tuple[str, ...]:
        """The streams with every given meta ``name=value`` and no current projection (none,
        or one behind the stream's events), in the order created."""
        where, params = _meta_filter(meta)
        sql = (
            # The index, not the table: the bodies are large and not needed here.
            "SELECT s.stream FROM streams AS s "
            "LEFT JOIN projections AS p INDEXED BY projections_version ON p.stream = s.stream "
            "WHERE (p.stream IS NULL OR p.version != s.version)"
        )
        with self._guard():
            rows = self._con.execute(sql + where + " ORDER BY s.rowid", params).fetchall()
        return tuple(row[0] for row in rows)

    def stream_for_key(self, idempotency_key: str) -> str | None:
        """The stream an idempotency key was used on, or ``None``."""
        with self._guard():
            row = self._con.execute(
                "SELECT stream FROM idempotency_keys WHERE key = ?", (idempotency_key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def streams(self, **meta: str) -> tuple[StreamInfo, ...]:
        """The streams whose meta has every given ``name=value``, in the order created.

        The rarest of the given pairs drives the query (through the meta index), the others
        are looked up per stream: the cost follows the streams found, not the store's size.
        """
        items = _check_meta(meta)
        columns = "s.stream, s.version, s.created_at, s.updated_at, m.name, m.value"
        params: list[str] = []
        if items:
            with self._guard():
                drive = min(items, key=lambda item: self._meta_count(*item))
            others = [item for item in items if item != drive]
            where, params = _meta_filter(dict(others))
            sql = (
                f"SELECT {columns} FROM stream_meta AS d "
                "JOIN streams AS s ON s.stream = d.stream "
                "LEFT JOIN stream_meta AS m ON m.stream = s.stream "
                f"WHERE d.name = ? AND d.value = ?{where}"
            )
            params = [*drive, *params]
        else:
            sql = (
                f"SELECT {columns} FROM streams AS s "
                "LEFT JOIN stream_meta AS m ON m.stream = s.stream"
            )
        sql += " ORDER BY s.rowid, m.name"
        found: dict[str, tuple[int, str, str, dict[str, str]]] = {}
        with self._guard():
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

    def _meta_count(self, name: str, value: str, enough: int = 1000) -> int:
        """How many streams have meta ``name=value``, counted up to ``enough``."""
        row = self._con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM stream_meta WHERE name = ? AND value = ? LIMIT ?)",
            (name, value, enough),
        ).fetchone()
        return int(row[0])

    def events(self, *, after: int = 0, limit: int = 1000) -> tuple[StoredEvent, ...]:
        """Up to ``limit`` events of the whole log after position ``after``, in log order."""
        if after < 0:
            raise ValueError(f"after must be 0 or more, got {after}")
        _positive(limit, "limit")
        with self._guard():
            rows = self._con.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            ).fetchall()
        return tuple(_event(row) for row in rows)

    # --- the outbox ----------------------------------------------------------------------

    def pending(
        self,
        now: dt.datetime,
        *,
        limit: int = 100,
        lease: dt.timedelta = DEFAULT_LEASE,
        city: str | None = None,
    ) -> tuple[PendingMessage, ...]:
        """Lease up to ``limit`` messages due at ``now`` to the caller for ``lease``.

        Due: not delivered, not a dead letter, ``next_attempt_at <= now`` and no lease
        running; of ``city`` only, when given. Oldest due first. Selecting and leasing is one
        write transaction, so two workers never get the same message while its lease runs.
        """
        _positive(limit, "limit")
        if lease <= dt.timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        now_us = _micros(now, "now")
        until_us = _micros(now + lease, "now")
        where = ""
        params: list[Any] = [now_us, now_us]
        if city is not None:
            where = "AND city = ? "
            params.append(city)
        with self._write() as con:
            rows = con.execute(
                f"SELECT seq, {_OUTBOX_COLUMNS} FROM outbox "
                "WHERE delivered_at IS NULL AND dead_at IS NULL AND due_us <= ? "
                f"AND (leased_until_us IS NULL OR leased_until_us <= ?) {where}"
                "ORDER BY due_us, seq LIMIT ?",
                (*params, limit),
            ).fetchall()
            con.executemany(
                "UPDATE outbox SET leased_until_us = ? WHERE seq = ?",
                [(until_us, row[0]) for row in rows],
            )
        return tuple(_pending(row[1:]) for row in rows)

    def delivered(self, key: str, *, at: dt.datetime) -> None:
        """Record that message ``key`` was delivered at ``at`` (again: no change).

        The acknowledgement is signed (when the store has a key) over the key, the time and
        the message's digest, so a ``delivered_at`` set by hand is found by :meth:`verify`.
        """
        when = _iso(at, "at")
        with self._write() as con:
            self._require(con, key)
            changed = con.execute(
                "UPDATE outbox SET delivered_at = ?, leased_until_us = NULL "
                "WHERE key = ? AND delivered_at IS NULL",
                (when, key),
            ).rowcount
            if changed:
                self._sign_outbox(con, "key = ?", (key,))

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

    def dead_letter(self, key: str, *, at: dt.datetime, error: str) -> None:
        """Record a last failed attempt at ``at`` and stop retrying: a dead letter.

        It is no longer ``pending``; :meth:`retry` puts it back. A message already
        delivered stays delivered.
        """
        when = _iso(at, "at")
        with self._write() as con:
            self._require(con, key)
            con.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, "
                "last_error = ?, dead_at = ?, leased_until_us = NULL "
                "WHERE key = ? AND delivered_at IS NULL",
                (when, error, when, key),
            )

    def retry(self, key: str, *, at: dt.datetime) -> None:
        """Retry message ``key`` (a dead letter, say) from ``at``: due at once, attempts
        counted from 0 again. A delivered message is left as it is."""
        when = _iso(at, "at")
        due = _micros(at, "at")
        with self._write() as con:
            self._require(con, key)
            con.execute(
                "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = ?, "
                "due_us = ?, leased_until_us = NULL WHERE key = ? AND delivered_at IS NULL",
                (when, due, key),
            )

    @staticmethod
    def _require(con: sqlite3.Connection, key: str) -> None:
        if con.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone() is None:
            raise UnknownMessage(key)

    def outbox(
        self,
        *,
        delivered: bool | None = None,
        dead: bool | None = None,
        city: str | None = None,
    ) -> tuple[PendingMessage, ...]:
        """Every outbox message in the order written; only delivered or undelivered ones
        when ``delivered`` is ``True`` or ``False``, only dead letters or only live ones
        when ``dead`` is, only ``city``'s when given. Leases are not changed."""
        where: list[str] = []
        params: list[str] = []
        if delivered is not None:
            where.append(f"delivered_at IS {'NOT ' if delivered else ''}NULL")
        if dead is not None:
            where.append(f"dead_at IS {'NOT ' if dead else ''}NULL")
        if city is not None:
            where.append("city = ?")
            params.append(city)
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._guard():
            rows = self._con.execute(sql + " ORDER BY seq", params).fetchall()
        return tuple(_pending(row) for row in rows)

    # --- verification --------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Check the log: the hash chain, the checkpoints, the outbox.

        Walks the whole log in position order, recomputing every digest, and reports the
        first event whose content does not match its digest, whose ``previous_digest`` is
        not the digest of the event before it, or whose position or version leaves a gap;
        checks that each stream's recorded version matches its last event. Then compares
        each stream's checkpoint (last digest, version, meta, idempotency keys) and the
        log's (number of events, head, outbox rows, streams) with the data, and the outbox
        rows and delivery acknowledgements with their MACs. With the key, every checkpoint
        and MAC must verify; without it, ``unchecked`` says what could not be detected.
        """
        with self._guard(), self._snapshot() as con:  # one snapshot for every check
            report, heads = self._verify_chain(con, signed=self._key is not None)
            if report.ok:
                report = self._verify_anchors(con, report.events, heads)
            if report.ok:
                report = self._verify_documents(con, report.events)
        if self._key is None:
            return attrs.evolve(report, unchecked=_UNCHECKED)
        return attrs.evolve(report, anchored=True)

    def _verify_chain(
        self, con: sqlite3.Connection, *, signed: bool = False
    ) -> tuple[VerifyReport, dict[str, StoredEvent]]:
        with contextlib.closing(
            con.execute(f"SELECT {_EVENT_COLUMNS}, mac FROM events ORDER BY position")
        ) as rows:
            chain = _ChainCheck(self._key if signed else None)
            problem = chain.events(rows)
        if problem is not None:
            return problem, chain.heads
        streams = con.execute("SELECT stream, version FROM streams ORDER BY rowid")
        return chain.streams(streams), chain.heads

    def _verify_anchors(
        self, con: sqlite3.Connection, checked: int, heads: Mapping[str, StoredEvent]
    ) -> VerifyReport:
        def counts() -> tuple[int, int]:
            (outbox,) = con.execute("SELECT count(*) FROM outbox").fetchone()
            (streams,) = con.execute("SELECT count(*) FROM streams").fetchone()
            return int(outbox), int(streams)

        found = _checkpoint_problem(
            rows=con.execute("SELECT kind, scope, body, mac FROM checkpoints").fetchall(),
            heads=heads,
            checked=checked,
            key=self._key,
            stream_state=lambda stream: self._stream_state(con, stream),
            counts=counts,
        )
        return found if found is not None else self._verify_outbox(con, checked, heads)

    def _verify_outbox(
        self, con: sqlite3.Connection, checked: int, heads: Mapping[str, StoredEvent]
    ) -> VerifyReport:
        rows = con.execute(
            f"SELECT {_SIGNED_OUTBOX}, delivered_at, mac, delivered_mac FROM outbox ORDER BY seq"
        )
        for row in rows:
            key, stream, position = row[0], row[6], row[7]
            delivered, mac, delivered_mac = row[8:]
            head = heads.get(stream)
            where = f"outbox message {key!r} of case {stream} (event {position})"
            if head is None or position > head.position:
                return VerifyReport(
                    events=checked,
                    first_bad=head,
                    problem=f"{where} belongs to no stored event",
                    stream=stream,
                )
            if self._key is None:
                continue
            body = _outbox_body(row[:8])
            problem = None
            if not _same(mac, _mac(self._key, "outbox", body)):
                problem = f"{where} was changed or added: its MAC does not match"
            elif delivered is not None and not _same(
                delivered_mac, _mac(self._key, "delivered", key, delivered, _sha256(body))
            ):
                problem = (
                    f"{where} is marked delivered at {delivered}, but the store never "
                    "recorded that delivery (its acknowledgement MAC does not match)"
                )
            if problem is not None:
                return VerifyReport(
                    events=checked,
                    first_bad=self._event_at(con, position),
                    problem=problem,
                    stream=stream,
                )
        return VerifyReport(events=checked)

    def _verify_documents(self, con: sqlite3.Connection, checked: int) -> VerifyReport:
        rows = con.execute(
            "SELECT digest, body, stream, event_position FROM documents ORDER BY event_position"
        )
        for digest, body, stream, position in rows:
            found = document_digest(body) if isinstance(body, str) else None
            if found != digest:
                return VerifyReport(
                    events=checked,
                    first_bad=self._event_at(con, position),
                    problem=(
                        f"document {digest[:12]}… of case {stream} (stored with event "
                        f"{position}) does not match its digest (its content hashes to "
                        f"{(found or '?')[:12]}…): the document was changed"
                    ),
                    stream=stream,
                )
        return VerifyReport(events=checked)

    @staticmethod
    def _event_at(con: sqlite3.Connection, position: int) -> StoredEvent | None:
        row = con.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE position = ?", (position,)
        ).fetchone()
        return None if row is None else _event(row)

    # --- reading many projections at once (ProjectionReader) -----------------------------

    #: How many streams :meth:`projections` reads per query.
    _projection_chunk = 1000

    def projections(self, **meta: str) -> Iterator[tuple[StreamInfo, Projection | None]]:
        """Every stream with every given meta ``name=value``, in the order created, with its
        current projection (``None``: none, or one behind the stream's events).

        Read in chunks (:attr:`_projection_chunk` streams, each chunk one read snapshot of
        two queries): the iterator holds one chunk, and no transaction stays open between
        chunks. See :class:`~creditcommit.ports.ProjectionReader`.
        """
        where, params = _meta_filter(meta)
        rows_sql = (
            "SELECT s.rowid, s.stream, s.version, s.created_at, s.updated_at, "
            "p.version, p.body, p.due FROM streams AS s "
            "LEFT JOIN projections AS p ON p.stream = s.stream AND p.version = s.version "
            f"WHERE s.rowid > ?{where} ORDER BY s.rowid LIMIT ?"
        )
        meta_sql = (
            "SELECT m.stream, m.name, m.value FROM streams AS s "
            "JOIN stream_meta AS m ON m.stream = s.stream "
            "WHERE s.rowid BETWEEN ? AND ?"
        )
        after = 0
        while True:
            with self._guard(), self._snapshot() as con:
                rows = con.execute(rows_sql, (after, *params, self._projection_chunk)).fetchall()
                if not rows:
                    return
                found: dict[str, dict[str, str]] = {row[1]: {} for row in rows}
                for stream, name, value in con.execute(meta_sql, (rows[0][0], rows[-1][0])):
                    values = found.get(stream)
                    if values is not None:
                        values[name] = value
            yield from _projected_rows(rows, found)
            after = rows[-1][0]


def _projected_rows(
    rows: Sequence[tuple[Any, ...]], meta: Mapping[str, Mapping[str, str]]
) -> Iterator[tuple[StreamInfo, Projection | None]]:
    """``projections()``'s rows ``(seq, stream, version, created, updated, projection
    version, body, due)`` as stream and projection (both stores; ``due`` a day or its ISO
    text)."""
    for _, stream, version, created, updated, p_version, body, due in rows:
        info = StreamInfo(
            stream=stream,
            version=version,
            created_at=dt.datetime.fromisoformat(created),
            updated_at=dt.datetime.fromisoformat(updated),
            meta=meta[stream],
        )
        if p_version is None:
            yield info, None
            continue
        day = dt.date.fromisoformat(due) if isinstance(due, str) else due
        yield info, Projection(version=int(p_version), body=json.loads(body), due=day)


_UNCHECKED = (
    f"no key is set ({LOG_KEY_ENV}): the chain and the checkpoints were checked, but "
    "someone who can write the file can recompute both, forge or delete events, and set "
    "delivered_at by hand without this check noticing"
)

_Prepared = tuple[
    str,
    list[tuple[str, str, dict[str, Any]]],
    list[tuple[OutboxMessage, str, str, int]],
    list[tuple[str, str]],
]


def _prepare(
    events: Sequence[NewEvent],
    outbox: Sequence[OutboxMessage],
    meta: Mapping[str, str] | None,
    recorded_at: dt.datetime,
) -> _Prepared:
    """Check and encode what an append writes, before the transaction starts."""
    if not events:
        raise ValueError("nothing to append: give at least one event")
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
    return at, bodies, messages, _check_meta(meta or {})


def _check_documents(documents: Sequence[str]) -> dict[str, str]:
    """The documents of an append by digest (each once), checked before the transaction."""
    if isinstance(documents, str):
        raise TypeError("documents must be a sequence of texts, not one text")
    texts: dict[str, str] = {}
    for i, text in enumerate(documents):
        if not isinstance(text, str):
            raise TypeError(f"documents[{i}] must be a text, not {type(text).__name__}")
        texts.setdefault(document_digest(text), text)
    return texts


class _ChainCheck:
    """The hash chain of a whole log, checked row by row (both stores' ``verify``).

    :meth:`events` reads the event rows in log order (the event columns, then the MAC; the
    MAC is checked when a key is given); :meth:`streams` then checks each stream's recorded
    version against its events. ``heads`` is the last event of each stream seen.
    """

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.checked = 0
        self.heads: dict[str, StoredEvent] = {}
        self.versions: dict[str, int] = {}

    def events(self, rows: Iterable[tuple[Any, ...]]) -> VerifyReport | None:
        """The report of the first bad event, or None when every row is sound."""
        previous = GENESIS_DIGEST
        key, heads, versions = self.key, self.heads, self.versions
        for row in rows:
            self.checked += 1
            event, problem = _checked(row[:-1], previous, self.checked, versions)
            if (
                problem is None
                and key is not None
                and not _same(row[-1], _mac(key, "event", event.digest))
            ):
                problem = "the event is not signed with the key: " + (
                    "it has no signature — written by a process without the key (set "
                    f"{LOG_KEY_ENV} for every process that writes the store) or forged "
                    "behind the store's back"
                    if row[-1] is None
                    else "it was forged (inserted or appended behind the store's back), "
                    "or the chain was recomputed from here"
                )
            if problem is not None:
                return VerifyReport(
                    events=self.checked, first_bad=event, problem=problem, stream=event.stream
                )
            versions[event.stream] = event.version
            heads[event.stream] = event
            previous = event.digest
        return None

    def streams(self, recorded: Iterable[Sequence[Any]]) -> VerifyReport:
        """Each ``(stream, version)`` recorded must be where its events end."""
        for stream, version in recorded:
            found = self.versions.get(stream, 0)
            if found != version:
                return VerifyReport(
                    events=self.checked,
                    first_bad=self.heads.get(stream),
                    problem=(
                        f"stream {stream!r} is recorded at version {version} but its events "
                        f"end at version {found}: events were removed"
                    ),
                    stream=stream,
                )
        return VerifyReport(events=self.checked)


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
