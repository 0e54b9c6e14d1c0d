"""The event store and outbox (事件存储与发件箱) on PostgreSQL.

:class:`PostgresEventStore` implements :class:`~creditcommit.ports.ProjectionStore` (an
:class:`~creditcommit.ports.EventStore` that also keeps projections) with psycopg 3 and a
connection pool, with the semantics of the built-in SQLite store
(:class:`~creditcommit.builtin.sqlite_store.SQLiteEventStore`) and the same contract suites:
optimistic concurrency, the outbox written in the append's transaction, per-counter numbering
without retries, leases, dead letters, the same anchored hash chain (the same digests,
the same HMAC checkpoints keyed from ``CREDITCOMMIT_LOG_KEY``): the same history written to
either store has the same digests, checkpoints and MACs. Each stream's projection is
written in the transaction of the events it folds, indexed by the day it is next due, so
reading a case and a tick with nothing due cost the same whatever the history. It is also a
:class:`~creditcommit.ports.DocumentStore` (a signed letter stored once, by digest, in the
append's transaction) and a :class:`~creditcommit.ports.TransactionalStore`
(``transaction()`` groups a thread's writes into one commit, a savepoint per write).

Many application servers and delivery workers may use one database at once:

* **Appends are serialised on the chain head.** Every append (and ``create_numbered``) locks
  the one row of ``log_head`` ``FOR UPDATE`` first: the log is one hash chain, so each event
  needs the digest of the one before it. Appends therefore run one at a time across all
  servers, each two round trips in pipeline mode (every read under the head at once, then
  every write and the commit at once) and the commit's flush (see the README), well above a
  city's volume — while reads, ``verify`` and delivery never wait for them.
* **Delivery workers** lease messages with ``FOR UPDATE SKIP LOCKED``: workers in several
  processes take disjoint batches and never block each other.
* **Migrations** run on start-up under a transaction-scoped advisory lock, so two servers
  starting at once do not both migrate; ``schema_version`` records each applied version.

A lost connection, a pool with no free connection in time, a lock held longer than the
timeout: :class:`~creditcommit.StoreUnavailable`, never a psycopg exception. See the
distribution's README for the URL and the schema.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import select
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import attrs
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from creditcommit.builtin.sqlite_store import (
    _EVENT_COLUMNS,
    _OUTBOX_COLUMNS,
    _SIGNED_OUTBOX,
    _UNCHECKED,
    DEFAULT_LEASE,
    LOG_KEY_ENV,
    _ChainCheck,
    _check_documents,
    _check_meta,
    _check_projection,
    _checkpoint_problem,
    _event,
    _iso,
    _json_text,
    _mac,
    _micros,
    _outbox_body,
    _pending,
    _positive,
    _prepare,
    _Prepared,
    _projected_rows,
    _same,
    _sha256,
)
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
    "DEFAULT_POOL_SIZE",
    "DEFAULT_SCHEMA",
    "DEFAULT_TIMEOUT",
    "LOG_KEY_ENV",
    "SCHEMA_VERSION",
    "SCHEMES",
    "PostgresEventStore",
    "StoreURL",
]

#: The URL schemes this store opens.
SCHEMES = ("postgresql", "postgres")

#: The schema (namespace) the tables live in unless the URL says ``?schema=...``.
DEFAULT_SCHEMA = "creditcommit"

#: Seconds to wait for a connection from the pool, or for another transaction's lock,
#: before :class:`StoreUnavailable` (``?timeout=`` in the URL).
DEFAULT_TIMEOUT = 30.0

#: The most connections one store object keeps open (``?pool_size=`` in the URL).
DEFAULT_POOL_SIZE = 4

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
Connection = psycopg.Connection[TupleRow]


# --- the URL ---------------------------------------------------------------------------------


@attrs.frozen
class StoreURL:
    """A ``postgresql://`` store URL taken apart: what libpq connects to and what is ours.

    ``conninfo`` is the URL without our query parameters (``schema``, ``pool_size``,
    ``timeout``); every other parameter (``sslmode``, ``application_name``, ...) is libpq's.
    """

    conninfo: str
    schema: str = DEFAULT_SCHEMA
    pool_size: int = DEFAULT_POOL_SIZE
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def parse(cls, url: str) -> StoreURL:
        """Take ``url`` apart; ``ValueError`` (naming the URL, password hidden) if it is not
        a PostgreSQL URL or one of our parameters is wrong."""
        shown = redact(url)
        expected = "expected postgresql://user@host:5432/database?schema=name"
        split = urllib.parse.urlsplit(url)
        if split.scheme.lower() not in SCHEMES:
            raise ValueError(f"not a PostgreSQL URL: {shown!r} ({expected})")
        if split.fragment:
            raise ValueError(f"PostgreSQL URL {shown!r} has a fragment; none is supported")
        ours: dict[str, str] = {}
        rest: list[tuple[str, str]] = []
        for name, value in _decode(split.query):
            if name in ("schema", "pool_size", "timeout"):
                if name in ours:
                    raise ValueError(f"PostgreSQL URL {shown!r} gives {name} twice")
                ours[name] = value
            else:
                rest.append((name, value))
        schema = ours.get("schema", DEFAULT_SCHEMA)
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(
                f"PostgreSQL URL {shown!r}: schema {schema!r} is not a plain lower-case name "
                "(letters a-z, digits and _, at most 63, not starting with a digit)"
            )
        try:
            pool_size = int(ours.get("pool_size", DEFAULT_POOL_SIZE))
            timeout = float(ours.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise ValueError(
                f"PostgreSQL URL {shown!r}: pool_size must be a whole number and timeout a "
                "number of seconds"
            ) from None
        if pool_size < 1 or not timeout > 0:
            raise ValueError(
                f"PostgreSQL URL {shown!r}: pool_size must be at least 1 and timeout positive"
            )
        query = _encode(rest)
        conninfo = f"postgresql://{split.netloc}{split.path}" + (f"?{query}" if query else "")
        try:
            psycopg.conninfo.conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise ValueError(f"PostgreSQL URL {shown!r} is not valid: {exc}") from None
        return cls(conninfo=conninfo, schema=schema, pool_size=pool_size, timeout=timeout)


def _decode(query: str) -> list[tuple[str, str]]:
    """A URL query's pairs as libpq reads them: ``%XX`` escapes decoded, ``+`` kept."""
    return urllib.parse.parse_qsl(query.replace("+", "%2B"), keep_blank_values=True)


def _encode(pairs: Sequence[tuple[str, str]]) -> str:
    """A URL query libpq reads back as ``pairs`` (a space is ``%20``: libpq has no ``+``)."""
    return urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)


_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*")


def redact(url: str) -> str:
    """``url`` (or a key/value conninfo) with its password, if any, replaced by ``***``: for
    messages and logs."""
    if url.partition(":")[0].lower() not in SCHEMES:
        return _KV_PASSWORD.sub(r"\1***", url)
    split = urllib.parse.urlsplit(url)
    if split.password is not None:
        user, _, host = split.netloc.rpartition("@")
        split = split._replace(netloc=f"{user.partition(':')[0]}:***@{host}")
    split = split._replace(query=_QUERY_PASSWORD.sub(r"\1***", split.query))
    return urllib.parse.urlunsplit(split)


# --- the schema ------------------------------------------------------------------------------

# Times are kept as the ISO text the caller gave (offset included), as in the SQLite store,
# so that digests and audit trails show them as recorded; payloads as canonical JSON text
# (not jsonb, which would reorder keys and renormalise numbers behind the digest's back).
_VERSION_1 = (
    """
    CREATE TABLE log_head (
        id        integer PRIMARY KEY CHECK (id = 1),
        position  bigint NOT NULL,
        digest    text NOT NULL
    )""",
    f"INSERT INTO log_head (id, position, digest) VALUES (1, 0, '{GENESIS_DIGEST}')",
    """
    CREATE TABLE streams (
        seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        stream      text PRIMARY KEY,
        version     integer NOT NULL,
        created_at  text NOT NULL,
        updated_at  text NOT NULL
    )""",
    """
    CREATE TABLE stream_meta (
        stream  text NOT NULL REFERENCES streams (stream),
        name    text NOT NULL,
        value   text NOT NULL,
        PRIMARY KEY (stream, name)
    )""",
    "CREATE INDEX stream_meta_by_value ON stream_meta (name, value, stream)",
    """
    CREATE TABLE idempotency_keys (
        key     text PRIMARY KEY,
        stream  text NOT NULL REFERENCES streams (stream)
    )""",
    "CREATE INDEX idempotency_keys_by_stream ON idempotency_keys (stream)",
    """
    CREATE TABLE events (
        position         bigint PRIMARY KEY,
        stream           text NOT NULL REFERENCES streams (stream),
        version          integer NOT NULL,
        type             text NOT NULL,
        payload          text NOT NULL,
        recorded_at      text NOT NULL,
        previous_digest  text NOT NULL,
        digest           text NOT NULL,
        mac              text,
        UNIQUE (stream, version)
    )""",
    """
    CREATE TABLE outbox (
        seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key              text NOT NULL UNIQUE,
        destination      text NOT NULL,
        topic            text NOT NULL,
        city             text NOT NULL,
        payload          text NOT NULL,
        created_at       text NOT NULL,
        stream           text NOT NULL REFERENCES streams (stream),
        event_position   bigint NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  text NOT NULL,
        due_us           bigint NOT NULL,
        leased_until_us  bigint,
        last_attempt_at  text,
        last_error       text,
        delivered_at     text,
        dead_at          text,
        mac              text,
        delivered_mac    text
    )""",
    "CREATE INDEX outbox_due ON outbox (due_us, seq) "
    "WHERE delivered_at IS NULL AND dead_at IS NULL",
    """
    CREATE TABLE counters (
        name   text PRIMARY KEY,
        value  bigint NOT NULL
    )""",
    """
    CREATE TABLE checkpoints (
        kind   text NOT NULL,
        scope  text NOT NULL,
        body   text NOT NULL,
        mac    text,
        PRIMARY KEY (kind, scope)
    )""",
)

# Version 2: projections (one folded row per stream, indexed by the day it is next due).
# ``streams.projected`` is the version of the stream's projection row (NULL: none); the
# partial index on it holds only the streams whose projection is missing or behind, so
# ``unprojected()`` (which every tick asks) costs what it finds, not the number of streams.
# The table starts empty: the service that knows the fold builds the rows from the events
# (``Approvals.rebuild_projections``, which ``Approvals.from_config`` runs).
_VERSION_2 = (
    """
    CREATE TABLE projections (
        stream   text PRIMARY KEY REFERENCES streams (stream),
        version  integer NOT NULL,
        body     text NOT NULL,
        due      date
    )""",
    "CREATE INDEX projections_due ON projections (due, stream) WHERE due IS NOT NULL",
    "ALTER TABLE streams ADD COLUMN projected integer",
    "CREATE INDEX streams_unprojected ON streams (seq) "
    "WHERE projected IS NULL OR projected <> version",
)

# Version 3: large documents (signed letters) stored once, keyed by their SHA-256, with the
# event of the append that stored them (``verify`` names it). Starts empty: events written
# before keep their letters inline.
_VERSION_3 = (
    """
    CREATE TABLE documents (
        digest          text PRIMARY KEY,
        body            text NOT NULL,
        stream          text NOT NULL REFERENCES streams (stream),
        event_position  bigint NOT NULL
    )""",
)

#: The migrations, in order: ``MIGRATIONS[n - 1]`` takes a schema from version ``n - 1`` to
#: ``n`` (version 0: no tables). Append new versions; never edit an applied one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_VERSION_1, _VERSION_2, _VERSION_3)

#: The schema version this module writes and understands.
SCHEMA_VERSION = len(MIGRATIONS)


def _meta_filter(meta: Mapping[str, str]) -> tuple[str, list[str]]:
    """The SQL condition (after a WHERE) that stream ``s`` has every meta ``name=value``,
    looked up per stream found (by the primary key of ``stream_meta``).

    The same as the SQLite store's ``_meta_filter``, with PostgreSQL's placeholders.
    """
    where = ""
    params: list[str] = []
    for name, value in _check_meta(meta):
        where += (
            " AND EXISTS (SELECT 1 FROM stream_meta AS e "
            "WHERE e.stream = s.stream AND e.name = %s AND e.value = %s)"
        )
        params += [name, value]
    return where, params


def _words(exc: Exception) -> str:
    """What psycopg said, on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _lock_id(schema: str) -> int:
    """The advisory lock that serialises migrations of ``schema`` (a signed 64-bit int)."""
    digest = hashlib.sha256(f"creditcommit-postgres:migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# --- round trips -----------------------------------------------------------------------------


def _lend(conn: Connection) -> None:
    """The pool's check before lending a connection, without a round trip to the server.

    An idle connection has nothing to read: if its socket has (the server closed it after a
    restart or ``pg_terminate_backend``, say), it is checked for real with an empty query,
    which raises if it is dead, and the pool replaces it. A healthy connection costs one
    non-blocking ``select``, where :meth:`ConnectionPool.check_connection` costs a round trip
    per call.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


#: Whether this libpq has pipeline mode (libpq 14 or later; the binary wheel has it).
_PIPELINE = psycopg.Pipeline.is_supported()


class _HeadReads:
    """What every append reads first, queued together (one round trip in pipeline mode):
    the chain head (locked ``FOR UPDATE``), the stream an idempotency key was used on, the
    log's checkpoint and, for a numbered stream, the counter's next number."""

    def __init__(
        self, conn: Connection, idempotency_key: str | None, *, counter: str | None = None
    ) -> None:
        self._key = idempotency_key
        self._head = conn.execute("SELECT position, digest FROM log_head WHERE id = 1 FOR UPDATE")
        self._owner = (
            None
            if idempotency_key is None
            else conn.execute(
                "SELECT stream FROM idempotency_keys WHERE key = %s", (idempotency_key,)
            )
        )
        self._log = conn.execute("SELECT body FROM checkpoints WHERE kind = 'log' AND scope = ''")
        self._counter = (
            None
            if counter is None
            else conn.execute(
                "INSERT INTO counters (name, value) VALUES (%s, 1) ON CONFLICT (name) "
                "DO UPDATE SET value = counters.value + 1 RETURNING value",
                (counter,),
            )
        )

    def take(self, store: str) -> tuple[int, str]:
        """The chain head (last position and digest); DuplicateKey if the key is used."""
        row = self._head.fetchone()
        if row is None:
            raise StoreUnavailable(store, "the log_head row is missing")
        if self._owner is not None and self._key is not None:
            owner = self._owner.fetchone()
            if owner is not None:
                raise DuplicateKey(self._key, str(owner[0]))
        return int(row[0]), str(row[1])

    def log(self) -> dict[str, Any]:
        """The log's checkpoint body (as before the first append, when there is none)."""
        row = self._log.fetchone()
        if row is None:
            return {"events": 0, "head": GENESIS_DIGEST, "outbox": 0, "streams": 0}
        body: dict[str, Any] = json.loads(row[0])
        return body

    def number(self) -> int:
        """The counter's number taken."""
        row = None if self._counter is None else self._counter.fetchone()
        return 1 if row is None else int(row[0])


class _StreamReads:
    """What an append reads of its stream, queued together: its version (``None``: no such
    stream), meta and idempotency keys (for its checkpoint), and which of the outbox keys
    it publishes are already in the outbox."""

    def __init__(
        self,
        conn: Connection,
        stream: str,
        messages: Sequence[tuple[OutboxMessage, str, str, int]],
    ) -> None:
        self._version = conn.execute("SELECT version FROM streams WHERE stream = %s", (stream,))
        self._meta = conn.execute(
            "SELECT name, value FROM stream_meta WHERE stream = %s", (stream,)
        )
        self._keys = conn.execute("SELECT key FROM idempotency_keys WHERE stream = %s", (stream,))
        keys = [message.key for message, _, _, _ in messages]
        self._outbox = (
            conn.execute("SELECT key FROM outbox WHERE key = ANY(%s)", (keys,)) if keys else None
        )
        self._read: dict[str, Any] = {}

    def _once(self, name: str, cur: psycopg.Cursor[TupleRow]) -> list[tuple[Any, ...]]:
        if name not in self._read:
            self._read[name] = cur.fetchall()
        rows: list[tuple[Any, ...]] = self._read[name]
        return rows

    def version(self) -> int | None:
        rows = self._once("version", self._version)
        return int(rows[0][0]) if rows else None

    def meta(self) -> dict[str, str]:
        return {str(name): str(value) for name, value in self._once("meta", self._meta)}

    def keys(self) -> list[str]:
        return [str(row[0]) for row in self._once("keys", self._keys)]

    def outbox_keys(self) -> set[str]:
        if self._outbox is None:
            return set()
        return {str(row[0]) for row in self._once("outbox", self._outbox)}


# --- the store -------------------------------------------------------------------------------


class PostgresEventStore:
    """Event streams and an outbox in one PostgreSQL schema, through a connection pool.

    ``PostgresEventStore(conninfo, schema=...)`` connects (``conninfo`` is a libpq URL or
    key/value string), creates or migrates the schema, and keeps a pool of up to
    ``pool_size`` connections; :meth:`from_url` reads all of this from one store URL.
    ``timeout`` (seconds) bounds the wait for a pooled connection and for another
    transaction's lock (``lock_timeout``). ``key`` signs the checkpoints (HMAC-SHA256); by
    default it is read from the environment variable :data:`LOG_KEY_ENV`.

    Thread-safe: the threads of a server may share one store object (each call takes a
    connection from the pool). Processes open their own.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        pool_size: int = DEFAULT_POOL_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        key: str | bytes | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema {schema!r} is not a plain lower-case name")
        _positive(pool_size, "pool_size")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive (seconds), got {timeout}")
        self.conninfo = conninfo
        self.schema = schema
        self.pool_size = pool_size
        self.timeout = timeout
        self._name = f"{redact(conninfo)} (schema {schema})"
        # The connection of the calling thread's transaction() block, if it is in one.
        self._local = threading.local()
        if key is None:
            key = (os.environ if environ is None else environ).get(LOG_KEY_ENV) or None
        self._key = key.encode("utf-8") if isinstance(key, str) else key
        # Settings the conninfo gives itself win; ``options`` are added to, not replaced.
        try:
            given = psycopg.conninfo.conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise ValueError(
                f"the connection string {redact(conninfo)!r} is not valid: {_words(exc)}"
            ) from None
        ours = f"-c search_path={schema} -c lock_timeout={round(timeout * 1000)}"
        settings: dict[str, Any] = {
            "application_name": "creditcommit",
            "connect_timeout": max(1, round(timeout)),
        }
        settings = {name: value for name, value in settings.items() if not given.get(name)}
        extra = str(given.get("options") or "")
        settings["options"] = f"{extra} {ours}" if extra else ours
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            conninfo,
            kwargs={"autocommit": True, **settings},
            min_size=1,
            max_size=pool_size,
            timeout=timeout,
            open=False,
            check=_lend,
            name=f"creditcommit-{schema}",
        )
        try:
            with self._guard():
                self._pool.open(wait=True, timeout=timeout)
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    def from_url(cls, url: str, *, key: str | bytes | None = None) -> Self:
        """Open the store a URL names: ``postgresql://user@host:5432/db?schema=name``.

        ``postgres://`` is accepted too. Our query parameters: ``schema`` (default
        :data:`DEFAULT_SCHEMA`), ``pool_size`` and ``timeout`` (seconds); the others go to
        libpq. A malformed URL is ``ValueError``.
        """
        parsed = StoreURL.parse(url)
        return cls(
            parsed.conninfo,
            schema=parsed.schema,
            pool_size=parsed.pool_size,
            timeout=parsed.timeout,
            key=key,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.conninfo)!r}, schema={self.schema!r})"

    @property
    def url(self) -> str:
        """A store URL that opens this store's data again with the same settings (with the
        password, if there is one: do not log it, :func:`redact` it)."""
        ours = [("schema", self.schema)]
        if self.pool_size != DEFAULT_POOL_SIZE:
            ours.append(("pool_size", str(self.pool_size)))
        if self.timeout != DEFAULT_TIMEOUT:
            ours.append(("timeout", str(self.timeout)))
        if self.conninfo.partition(":")[0].lower() in SCHEMES:
            split = urllib.parse.urlsplit(self.conninfo)
            query = _decode(split.query) + ours
            return urllib.parse.urlunsplit(
                split._replace(scheme="postgresql", query=_encode(query))
            )
        # A key/value conninfo: libpq takes every parameter in a URL's query too.
        params = psycopg.conninfo.conninfo_to_dict(self.conninfo)
        pairs = [(name, str(value)) for name, value in params.items() if value is not None]
        return "postgresql://?" + _encode(pairs + ours)

    @property
    def keyed(self) -> bool:
        """Whether this store signs and checks its checkpoints with a key."""
        return self._key is not None

    # --- life cycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the pool's connections; closing twice is harmless."""
        self._pool.close()

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
        """A lost connection, a pool timeout, a lock timeout, missing tables or rights:
        StoreUnavailable; a value PostgreSQL cannot hold (text with a NUL character, say):
        ValueError."""
        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise StoreUnavailable(self._name, _words(exc)) from exc
        except (
            psycopg.errors.UndefinedTable,
            psycopg.errors.InvalidSchemaName,
            psycopg.errors.InsufficientPrivilege,
            psycopg.errors.ReadOnlySqlTransaction,
        ) as exc:
            # The tables were dropped, the role lost its rights, a standby after a failover:
            # not a bug in a statement, and nothing was written.
            raise StoreUnavailable(self._name, _words(exc)) from exc
        except psycopg.DataError as exc:
            raise ValueError(
                f"the store cannot hold a value it was given ({_words(exc)}); nothing was written"
            ) from None

    def _group(self) -> Connection | None:
        """The connection of this thread's :meth:`transaction` block, or ``None``."""
        conn: Connection | None = getattr(self._local, "conn", None)
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A pooled connection, or inside :meth:`transaction` the group's own."""
        group = self._group()
        if group is not None:
            with self._guard():
                yield group
            return
        with self._guard(), self._pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction (READ COMMITTED): committed if the block returns, else rolled back.

        Inside :meth:`transaction` it is a savepoint of the group's transaction: a write
        that fails is rolled back alone.
        """
        with self._connection() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes this thread makes through this store inside the block into one
        transaction (a batch import: one commit instead of one per write).

        Committed when the block exits normally; when it raises, nothing written inside it
        is kept (case numbers taken included). A write refused inside the block writes
        nothing and raises as usual (each write is a savepoint): catch it, and the others
        are still committed with the group. Reads through this store in the block see the
        group's writes; other connections see them once it commits. A ``transaction()``
        inside another joins it. The block holds one pooled connection, and from its first
        append the chain head: other writers wait (up to ``timeout``), so keep batches
        short. Other threads sharing the store object are not in the group.
        See :class:`~creditcommit.ports.TransactionalStore`.
        """
        if self._group() is not None:
            yield  # joins the outer block, which decides
            return
        with self._guard(), self._pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextlib.contextmanager
    def _appending(self) -> Iterator[tuple[Connection, int, str]]:
        """A write transaction holding the chain head: the last position and digest."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT position, digest FROM log_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            if row is None:
                raise StoreUnavailable(self._name, "the log_head row is missing")
            yield conn, int(row[0]), str(row[1])

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[tuple[Connection, Callable[[], None]]]:
        """A write in pipeline mode: its ``BEGIN`` (inside :meth:`transaction`, a savepoint)
        goes with the first statements, its ``COMMIT`` with the last; ``sync()`` sends what
        is queued and reads the results. A write that reads once and then writes costs two
        round trips. Rolled back (to the savepoint) if the block raises or a statement fails.
        Without pipeline mode (libpq older than 14), the same in a plain transaction.
        """
        grouped = self._group() is not None
        with self._connection() as conn:
            if not _PIPELINE:
                with conn.transaction():
                    yield conn, lambda: None
                return
            try:
                with conn.pipeline() as pipe:
                    conn.execute("SAVEPOINT creditcommit_write" if grouped else "BEGIN")
                    yield conn, pipe.sync
                    conn.execute("RELEASE SAVEPOINT creditcommit_write" if grouped else "COMMIT")
            except BaseException:
                self._undo(conn, grouped=grouped)
                raise

    @staticmethod
    def _undo(conn: Connection, *, grouped: bool) -> None:
        """Roll back what a failed :meth:`_atomic` write did, if the connection still works
        (a broken one is dropped by the pool, and the server rolls back)."""
        if conn.broken or conn.closed:
            return
        with contextlib.suppress(psycopg.Error):
            if grouped:
                conn.execute("ROLLBACK TO SAVEPOINT creditcommit_write")
                conn.execute("RELEASE SAVEPOINT creditcommit_write")
            elif conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")

    # --- migrations ----------------------------------------------------------------------

    def _version(self, conn: Connection) -> int:
        row = conn.execute(
            "SELECT to_regclass(format('%%I.schema_version', %s::text))", (self.schema,)
        ).fetchone()
        if row is None or row[0] is None:
            return 0
        found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return 0 if found is None or found[0] is None else int(found[0])

    def _migrate(self) -> None:
        """Create or upgrade the schema, once, however many servers start at the same time."""
        with self._connection() as conn:
            if self._version(conn) == SCHEMA_VERSION:
                return
        with self._write() as conn:
            # Held until commit: a second server waits here, then finds the schema current.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(self.schema),))
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            version = self._version(conn)
            if version > SCHEMA_VERSION:
                raise UnsupportedSchema(self._name, version, SCHEMA_VERSION)
            if version == 0:
                conn.execute(
                    "CREATE TABLE schema_version ("
                    "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (step + 1,))
            if version == 0:
                self._anchor(conn)  # the empty log's checkpoint

    # --- checkpoints ---------------------------------------------------------------------

    def _put_checkpoint(
        self, conn: Connection, kind: str, scope: str, body: Mapping[str, Any]
    ) -> None:
        text = canonical_json(body)
        conn.execute(
            "INSERT INTO checkpoints (kind, scope, body, mac) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (kind, scope) DO UPDATE SET body = excluded.body, mac = excluded.mac",
            (kind, scope, text, _mac(self._key, "checkpoint", kind, scope, text)),
        )

    def _put_checkpoints(
        self, conn: Connection, checkpoints: Sequence[tuple[str, str, Mapping[str, Any]]]
    ) -> None:
        """Upsert several checkpoints in one statement batch (no result read back)."""
        rows = []
        for kind, scope, body in checkpoints:
            text = canonical_json(body)
            rows.append((kind, scope, text, _mac(self._key, "checkpoint", kind, scope, text)))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO checkpoints (kind, scope, body, mac) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (kind, scope) DO UPDATE SET body = excluded.body, "
                "mac = excluded.mac",
                rows,
            )

    def _checkpoint_log(
        self, conn: Connection, *, events: int, head: str, outbox: int, streams: int
    ) -> None:
        body = {"events": events, "head": head, "outbox": outbox, "streams": streams}
        self._put_checkpoint(conn, "log", "", body)

    @staticmethod
    def _stream_state(conn: Connection, stream: str) -> dict[str, Any]:
        """What a stream's checkpoint records, read from the tables."""
        last = conn.execute(
            "SELECT version, digest FROM events WHERE stream = %s ORDER BY version DESC LIMIT 1",
            (stream,),
        ).fetchone()
        meta = {
            str(name): str(value)
            for name, value in conn.execute(
                "SELECT name, value FROM stream_meta WHERE stream = %s", (stream,)
            )
        }
        keys = sorted(
            str(row[0])
            for row in conn.execute("SELECT key FROM idempotency_keys WHERE stream = %s", (stream,))
        )
        version, head = (0, GENESIS_DIGEST) if last is None else last
        return {"head": head, "keys": keys, "meta": meta, "version": version}

    def anchor(self) -> VerifyReport:
        """Recompute every checkpoint from the data and sign it (and the outbox and the
        events) with the key; nothing is written unless the hash chain is intact.

        Holds the chain head meanwhile, so no append slips in between the check and the
        signatures.
        """
        with self._appending() as (conn, _, _):
            report = self._verify_chain(conn)[0]
            if report.ok:
                self._anchor(conn)
        return report

    def _anchor(self, conn: Connection) -> None:
        last = conn.execute(
            "SELECT position, digest FROM events ORDER BY position DESC LIMIT 1"
        ).fetchone()
        events, head = (0, GENESIS_DIGEST) if last is None else (int(last[0]), str(last[1]))
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
        outbox = 0 if row is None else int(row[0])
        streams = [str(r[0]) for r in conn.execute("SELECT stream FROM streams ORDER BY seq")]
        conn.execute("DELETE FROM checkpoints")
        self._checkpoint_log(conn, events=events, head=head, outbox=outbox, streams=len(streams))
        for stream in streams:
            self._put_checkpoint(conn, "stream", stream, self._stream_state(conn, stream))
        conn.execute("UPDATE log_head SET position = %s, digest = %s", (events, head))
        conn.execute("UPDATE outbox SET mac = NULL, delivered_mac = NULL")
        conn.execute("UPDATE events SET mac = NULL")
        if self._key is None:
            return
        rows = conn.execute(f"SELECT seq, {_SIGNED_OUTBOX}, delivered_at FROM outbox").fetchall()
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE outbox SET mac = %s, delivered_mac = %s WHERE seq = %s",
                [(*self._outbox_macs(row[1:-1], row[-1]), row[0]) for row in rows],
            )
            cur.executemany(
                "UPDATE events SET mac = %s WHERE position = %s",
                [
                    (_mac(self._key, "event", digest), position)
                    for position, digest in conn.execute(
                        "SELECT position, digest FROM events"
                    ).fetchall()
                ],
            )

    def _outbox_macs(self, signed: Sequence[Any], delivered: str | None) -> tuple[str | None, ...]:
        body = _outbox_body(signed)
        return (
            _mac(self._key, "outbox", body),
            None
            if delivered is None
            else _mac(self._key, "delivered", signed[0], delivered, _sha256(body)),
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

        One transaction, holding the chain head: refuse a used ``idempotency_key``
        (:class:`DuplicateKey`, checked first) and a stale version
        (:class:`ConcurrencyError`); then write the events, chained, the ``outbox``
        messages (a key already there is skipped), the stream's ``meta`` (merged), its
        ``projection`` (whose version must be the stream's new version, else
        ``ValueError`` before anything is written), the ``documents`` (each kept once under
        its :func:`~creditcommit.ports.document_digest`) and the checkpoints. Nothing is
        written when anything is refused.

        Two round trips to the server (pipeline mode): the chain head locked and everything
        the append must know read at once; then every write and the commit at once.
        """
        if expected_version < 0:
            raise ValueError(f"expected_version must be 0 or more, got {expected_version}")
        prepared = _prepare(events, outbox, meta, recorded_at)
        _check_projection(projection, expected_version + len(events))
        texts = _check_documents(documents)
        with self._atomic() as (conn, sync):
            head = _HeadReads(conn, idempotency_key)
            state = _StreamReads(conn, stream, prepared[2])
            sync()
            position, previous = head.take(self._name)
            stored = self._write_append(
                conn,
                (position, previous),
                stream,
                prepared,
                state,
                expected_version=expected_version,
                idempotency_key=idempotency_key,
                log=head.log(),
            )
            if projection is not None:
                self._put_projection(conn, stream, projection)
            if texts:
                self._put_documents(conn, stored, prepared[1], texts)
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

        The number is taken with ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` in the
        append's transaction: concurrent callers (any process) queue on the counter's row
        and never get the same number, and a rolled-back append gives its number back. A
        number whose stream already exists is passed over. A used ``idempotency_key``
        raises :class:`DuplicateKey` before any number is taken. The new stream's
        :attr:`~creditcommit.ports.NewStream.projection` and
        :attr:`~creditcommit.ports.NewStream.documents` are written in the same transaction.

        Three round trips (pipeline mode): the chain head, the key and the number; whether
        the stream named by the number exists; every write and the commit.
        """
        _iso(recorded_at, "recorded_at")
        with self._atomic() as (conn, sync):
            # The number is taken in the same round trip; a used key rolls it back.
            head = _HeadReads(conn, idempotency_key, counter=counter)
            sync()
            position, previous = head.take(self._name)
            taken = number = head.number()
            while True:
                new = build(number)
                prepared = _prepare(new.events, new.outbox, new.meta, recorded_at)
                _check_projection(new.projection, len(new.events))
                texts = _check_documents(new.documents)
                state = _StreamReads(conn, new.stream, prepared[2])
                sync()
                if state.version() is None:
                    break
                number += 1
            if number != taken:
                conn.execute("UPDATE counters SET value = %s WHERE name = %s", (number, counter))
            stored = self._write_append(
                conn,
                (position, previous),
                new.stream,
                prepared,
                state,
                expected_version=0,
                idempotency_key=idempotency_key,
                log=head.log(),
            )
            if new.projection is not None:
                self._put_projection(conn, new.stream, new.projection)
            if texts:
                self._put_documents(conn, stored, prepared[1], texts)
            return stored

    def _write_append(
        self,
        conn: Connection,
        head: tuple[int, str],
        stream: str,
        prepared: _Prepared,
        state: _StreamReads,
        *,
        expected_version: int,
        idempotency_key: str | None,
        log: Mapping[str, Any],
    ) -> tuple[StoredEvent, ...]:
        """Queue the writes of an append under the chain head ``head`` (the last position
        and digest), from what was read under it (``state``, ``log``): nothing is read
        back, so in pipeline mode they go to the server with the commit, in one round trip.
        ConcurrencyError (before anything is queued) if the stream is not at
        ``expected_version``.
        """
        at, bodies, messages, meta_items = prepared
        position, previous = head
        found = state.version()
        actual = 0 if found is None else found
        if actual != expected_version:
            raise ConcurrencyError(stream, expected_version, actual)
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

        if found is None:
            conn.execute(
                "INSERT INTO streams (stream, version, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s)",
                (stream, stored[-1].version, at, at),
            )
        else:
            conn.execute(
                "UPDATE streams SET version = %s, updated_at = %s WHERE stream = %s",
                (stored[-1].version, at, stream),
            )
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}, mac) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
                cur.executemany(
                    "INSERT INTO stream_meta (stream, name, value) VALUES (%s, %s, %s) "
                    "ON CONFLICT (stream, name) DO UPDATE SET value = excluded.value",
                    [(stream, name, value) for name, value in meta_items],
                )
        if idempotency_key is not None:
            conn.execute(
                "INSERT INTO idempotency_keys (key, stream) VALUES (%s, %s)",
                (idempotency_key, stream),
            )
        # A key already in the outbox is the same message published again: skipped. Which
        # ones are new is known from the reads: only appends (holding the head) add rows.
        known = state.outbox_keys()
        rows = []
        for m, text, created, due in messages:
            if m.key in known:
                continue
            known.add(m.key)
            signed = (m.key, m.destination, m.topic, m.city, text, created, stream, position)
            rows.append((*signed, created, due, self._outbox_macs(signed, None)[0]))
        if rows:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO outbox (key, destination, topic, city, payload, created_at, "
                    "stream, event_position, next_attempt_at, due_us, mac) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    rows,
                )
        conn.execute(
            "UPDATE log_head SET position = %s, digest = %s WHERE id = 1", (position, previous)
        )
        # The checkpoints, as _stream_state and the log's would read them after the writes.
        keys = state.keys() + ([idempotency_key] if idempotency_key is not None else [])
        checkpoints = [
            (
                "log",
                "",
                {
                    "events": position,
                    "head": previous,
                    "outbox": int(log["outbox"]) + len(rows),
                    "streams": int(log["streams"]) + (1 if found is None else 0),
                },
            ),
            (
                "stream",
                stream,
                {
                    "head": previous,
                    "keys": sorted(keys),
                    "meta": {**state.meta(), **dict(meta_items)},
                    "version": stored[-1].version,
                },
            ),
        ]
        self._put_checkpoints(conn, checkpoints)
        return tuple(stored)

    def read(self, stream: str) -> tuple[StoredEvent, ...]:
        """The events of ``stream`` in version order (empty for an unknown stream)."""
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = %s ORDER BY version",
                (stream,),
            ).fetchall()
        return tuple(_event(row) for row in rows)

    # --- documents -----------------------------------------------------------------------

    @staticmethod
    def _put_documents(
        conn: Connection,
        stored: Sequence[StoredEvent],
        bodies: Sequence[tuple[str, str, dict[str, Any]]],
        texts: Mapping[str, str],
    ) -> None:
        """Store ``texts`` (by digest) with the event that mentions each, else the append's
        last; a digest already stored is kept as it is."""
        rows = []
        for digest, text in texts.items():
            event = next(
                (e for e, body in zip(stored, bodies, strict=True) if digest in body[1]),
                stored[-1],
            )
            rows.append((digest, text, event.stream, event.position))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO documents (digest, body, stream, event_position) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (digest) DO NOTHING",
                rows,
            )

    def document(self, digest: str) -> str | None:
        """The document stored under ``digest`` (its SHA-256, hex), or ``None``."""
        with self._connection() as conn:
            row = conn.execute("SELECT body FROM documents WHERE digest = %s", (digest,)).fetchone()
        return None if row is None else str(row[0])

    # --- projections ---------------------------------------------------------------------

    @staticmethod
    def _put_projection(conn: Connection, stream: str, projection: Projection) -> None:
        """Upsert the projection row and mark the stream projected at its version, in one
        statement (the caller's transaction has checked the version)."""
        body = _json_text(projection.body, "projection.body")[0]
        conn.execute(
            "WITH p AS (INSERT INTO projections (stream, version, body, due) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (stream) DO UPDATE SET "
            "version = excluded.version, body = excluded.body, due = excluded.due "
            "RETURNING stream, version) "
            "UPDATE streams AS s SET projected = p.version FROM p WHERE s.stream = p.stream",
            (stream, projection.version, body, projection.due),
        )

    def projection(self, stream: str) -> Projection | None:
        """The projection of ``stream``, or ``None`` if it has none or it is behind its events."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT p.version, p.body, p.due FROM projections AS p "
                "JOIN streams AS s ON s.stream = p.stream "
                "WHERE p.stream = %s AND p.version = s.version",
                (stream,),
            ).fetchone()
        if row is None:
            return None
        version, body, due = row
        return Projection(version=int(version), body=json.loads(body), due=due)

    def put_projection(self, stream: str, projection: Projection) -> None:
        """Write the projection of ``stream`` (rebuilding one); :class:`ConcurrencyError`
        unless ``projection.version`` is the stream's version.

        The stream's row is locked first, so an append committing meanwhile makes this wait
        and then refuse (the projection would be behind), never overwrite a newer one.
        """
        _check_projection(projection, projection.version)
        with self._write() as conn:
            row = conn.execute(
                "SELECT version FROM streams WHERE stream = %s FOR UPDATE", (stream,)
            ).fetchone()
            actual = 0 if row is None else int(row[0])
            if actual != projection.version:
                raise ConcurrencyError(stream, projection.version, actual)
            self._put_projection(conn, stream, projection)

    def due_streams(self, on: dt.date, **meta: str) -> tuple[str, ...]:
        """The streams with every given meta ``name=value`` whose current projection is due
        on or before ``on``, in the order created.

        Read from the partial index ``projections_due``: a tick with nothing due costs the
        same whatever the number of streams.
        """
        where, params = _meta_filter(meta)
        query = (
            "SELECT s.stream FROM projections AS p JOIN streams AS s ON s.stream = p.stream "
            "WHERE p.due IS NOT NULL AND p.due <= %s AND p.version = s.version"
        )
        with self._connection() as conn:
            rows = conn.execute(query + where + " ORDER BY s.seq", (on, *params)).fetchall()
        return tuple(str(row[0]) for row in rows)

    def unprojected(self, **meta: str) -> tuple[str, ...]:
        """The streams with every given meta ``name=value`` and no current projection (none,
        or one behind the stream's events), in the order created.

        Read from the partial index ``streams_unprojected``, which holds only those streams.
        """
        where, params = _meta_filter(meta)
        query = (
            "SELECT s.stream FROM streams AS s "
            "WHERE (s.projected IS NULL OR s.projected <> s.version)"
        )
        with self._connection() as conn:
            rows = conn.execute(query + where + " ORDER BY s.seq", params).fetchall()
        return tuple(str(row[0]) for row in rows)

    def stream_for_key(self, idempotency_key: str) -> str | None:
        """The stream an idempotency key was used on, or ``None``."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT stream FROM idempotency_keys WHERE key = %s", (idempotency_key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def streams(self, **meta: str) -> tuple[StreamInfo, ...]:
        """The streams whose meta has every given ``name=value``, in the order created.

        The rarest of the given pairs drives the query (through the meta index), the others
        are looked up per stream found: finding a case by its licence number costs the same
        whatever the number of cases of the city.
        """
        items = _check_meta(meta)
        columns = "s.stream, s.version, s.created_at, s.updated_at, m.name, m.value"
        params: list[str] = []
        with self._connection() as conn:
            if items:
                counts = self._meta_counts(conn, items)
                drive = min(items, key=lambda item: counts[item])
                where, params = _meta_filter(dict(item for item in items if item != drive))
                query = (
                    f"SELECT {columns} FROM stream_meta AS d "
                    "JOIN streams AS s ON s.stream = d.stream "
                    "LEFT JOIN stream_meta AS m ON m.stream = s.stream "
                    f"WHERE d.name = %s AND d.value = %s{where}"
                )
                params = [*drive, *params]
            else:
                query = (
                    f"SELECT {columns} FROM streams AS s "
                    "LEFT JOIN stream_meta AS m ON m.stream = s.stream"
                )
            query += " ORDER BY s.seq, m.name"
            rows = conn.execute(query, params).fetchall()
        found: dict[str, tuple[int, str, str, dict[str, str]]] = {}
        for stream, version, created, updated, name, value in rows:
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

    @staticmethod
    def _meta_counts(
        conn: Connection, items: Sequence[tuple[str, str]], enough: int = 1000
    ) -> dict[tuple[str, str], int]:
        """How many streams have each meta ``name=value`` of ``items``, counted up to
        ``enough``: one round trip for them all (pipeline mode)."""
        query = (
            "SELECT count(*) FROM (SELECT 1 FROM stream_meta WHERE name = %s AND value = %s "
            "LIMIT %s) AS found"
        )
        with conn.pipeline() if _PIPELINE else contextlib.nullcontext():
            cursors = [(item, conn.execute(query, (*item, enough))) for item in items]
        counts = {}
        for item, cur in cursors:
            row = cur.fetchone()
            counts[item] = 0 if row is None else int(row[0])
        return counts

    def events(self, *, after: int = 0, limit: int = 1000) -> tuple[StoredEvent, ...]:
        """Up to ``limit`` events of the whole log after position ``after``, in log order.

        Appends commit in position order (they hold the chain head), so a reader paging with
        ``after`` never misses an event that commits later with a smaller position.
        """
        if after < 0:
            raise ValueError(f"after must be 0 or more, got {after}")
        _positive(limit, "limit")
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > %s "
                "ORDER BY position LIMIT %s",
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
        running; of ``city`` only, when given. Oldest due first. The rows are locked
        ``FOR UPDATE SKIP LOCKED`` and leased in one statement, so workers in any number of
        processes take disjoint batches without waiting for each other.
        """
        _positive(limit, "limit")
        if lease <= dt.timedelta(0):
            raise ValueError(f"lease must be positive, got {lease}")
        now_us = _micros(now, "now")
        until_us = _micros(now + lease, "now")
        where = ""
        params: list[Any] = [now_us, now_us]
        if city is not None:
            where = "AND city = %s "
            params.append(city)
        columns = ", ".join(f"o.{name.strip()}" for name in _OUTBOX_COLUMNS.split(","))
        with self._write() as conn:
            rows = conn.execute(
                "WITH due AS (SELECT seq FROM outbox "
                "WHERE delivered_at IS NULL AND dead_at IS NULL AND due_us <= %s "
                f"AND (leased_until_us IS NULL OR leased_until_us <= %s) {where}"
                "ORDER BY due_us, seq LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox AS o SET leased_until_us = %s FROM due WHERE o.seq = due.seq "
                f"RETURNING o.due_us, o.seq, {columns}",
                (*params, limit, until_us),
            ).fetchall()
        rows.sort(key=lambda row: (row[0], row[1]))
        return tuple(_pending(row[2:]) for row in rows)

    def delivered(self, key: str, *, at: dt.datetime) -> None:
        """Record that message ``key`` was delivered at ``at`` (again: no change).

        The acknowledgement is signed (when the store has a key) over the key, the time and
        the message's digest, so a ``delivered_at`` set by hand is found by :meth:`verify`.
        """
        when = _iso(at, "at")
        with self._write() as conn:
            row = conn.execute(
                "UPDATE outbox SET delivered_at = %s, leased_until_us = NULL "
                f"WHERE key = %s AND delivered_at IS NULL RETURNING seq, {_SIGNED_OUTBOX}",
                (when, key),
            ).fetchone()
            if row is None:
                self._require(conn, key)
            elif self._key is not None:
                conn.execute(
                    "UPDATE outbox SET delivered_mac = %s WHERE seq = %s",
                    (self._outbox_macs(row[1:], when)[1], row[0]),
                )

    def failed(self, key: str, *, at: dt.datetime, error: str, retry_at: dt.datetime) -> None:
        """Record a failed attempt at ``at``: one more attempt, retry at ``retry_at``.

        The lease is released. A message already delivered stays delivered.
        """
        when = _iso(at, "at")
        retry = _iso(retry_at, "retry_at")
        retry_us = _micros(retry_at, "retry_at")
        self._update(
            key,
            "attempts = attempts + 1, last_attempt_at = %s, last_error = %s, "
            "next_attempt_at = %s, due_us = %s, leased_until_us = NULL",
            (when, error, retry, retry_us),
        )

    def dead_letter(self, key: str, *, at: dt.datetime, error: str) -> None:
        """Record a last failed attempt at ``at`` and stop retrying: a dead letter.

        It is no longer ``pending``; :meth:`retry` puts it back. A message already
        delivered stays delivered.
        """
        when = _iso(at, "at")
        self._update(
            key,
            "attempts = attempts + 1, last_attempt_at = %s, last_error = %s, dead_at = %s, "
            "leased_until_us = NULL",
            (when, error, when),
        )

    def retry(self, key: str, *, at: dt.datetime) -> None:
        """Retry message ``key`` (a dead letter, say) from ``at``: due at once, attempts
        counted from 0 again. A delivered message is left as it is."""
        when = _iso(at, "at")
        due = _micros(at, "at")
        self._update(
            key,
            "dead_at = NULL, attempts = 0, next_attempt_at = %s, due_us = %s, "
            "leased_until_us = NULL",
            (when, due),
        )

    def _update(self, key: str, assignments: str, params: tuple[Any, ...]) -> None:
        """Set ``assignments`` on the undelivered message ``key``; UnknownMessage if none."""
        with self._write() as conn:
            changed = conn.execute(
                f"UPDATE outbox SET {assignments} "
                "WHERE key = %s AND delivered_at IS NULL RETURNING seq",
                (*params, key),
            ).fetchone()
            if changed is None:
                self._require(conn, key)

    @staticmethod
    def _require(conn: Connection, key: str) -> None:
        if conn.execute("SELECT 1 FROM outbox WHERE key = %s", (key,)).fetchone() is None:
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
            where.append("city = %s")
            params.append(city)
        query = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        if where:
            query += " WHERE " + " AND ".join(where)
        with self._connection() as conn:
            rows = conn.execute(query + " ORDER BY seq", params).fetchall()
        return tuple(_pending(row) for row in rows)

    # --- verification --------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Check the log: the hash chain, the checkpoints, the outbox, the chain head.

        As :meth:`SQLiteEventStore.verify
        <creditcommit.builtin.sqlite_store.SQLiteEventStore.verify>`, in one
        ``REPEATABLE READ`` snapshot (appends go on meanwhile; the walk does not see them).
        With the key, every checkpoint and MAC must verify; without it, ``unchecked`` says
        what could not be detected.
        """
        grouped = self._group() is not None
        with self._connection() as conn, conn.transaction():
            if not grouped:  # in a transaction() block: the group's own view
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            report, heads = self._verify_chain(conn, signed=self._key is not None)
            if report.ok:
                report = self._verify_anchors(conn, report.events, heads)
            if report.ok:
                report = self._verify_documents(conn, report.events)
        if self._key is None:
            return attrs.evolve(report, unchecked=_UNCHECKED)
        return attrs.evolve(report, anchored=True)

    def _verify_chain(
        self, conn: Connection, *, signed: bool = False
    ) -> tuple[VerifyReport, dict[str, StoredEvent]]:
        chain = _ChainCheck(self._key if signed else None)
        with conn.cursor(name="creditcommit_verify") as cur:
            cur.itersize = 2000
            cur.execute(f"SELECT {_EVENT_COLUMNS}, mac FROM events ORDER BY position")
            problem = chain.events(cur)
        if problem is not None:
            return problem, chain.heads
        streams = conn.execute("SELECT stream, version FROM streams ORDER BY seq")
        return chain.streams(streams), chain.heads

    def _verify_anchors(
        self, conn: Connection, checked: int, heads: Mapping[str, StoredEvent]
    ) -> VerifyReport:
        def counts() -> tuple[int, int]:
            found = conn.execute(
                "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM streams)"
            ).fetchone()
            return (0, 0) if found is None else (int(found[0]), int(found[1]))

        # The same checks as the SQLite store's (one function), then this store's chain head.
        problem = _checkpoint_problem(
            rows=conn.execute("SELECT kind, scope, body, mac FROM checkpoints").fetchall(),
            heads=heads,
            checked=checked,
            key=self._key,
            stream_state=lambda stream: self._stream_state(conn, stream),
            counts=counts,
        )
        if problem is not None:
            return problem
        report = self._verify_outbox(conn, checked, heads)
        if not report.ok:
            return report
        last = max(heads.values(), key=lambda event: event.position, default=None)
        head = GENESIS_DIGEST if last is None else last.digest
        row = conn.execute("SELECT position, digest FROM log_head WHERE id = 1").fetchone()
        if row is None or (int(row[0]), str(row[1])) != (checked, head):
            return VerifyReport(
                events=checked,
                first_bad=last,
                problem=(
                    f"the chain head (table log_head) reads {row and tuple(row)} but the log "
                    f"ends at event {checked} with digest {head[:12]}…: the next append would "
                    "break the chain"
                ),
                stream=None if last is None else last.stream,
            )
        return report

    def _verify_outbox(
        self, conn: Connection, checked: int, heads: Mapping[str, StoredEvent]
    ) -> VerifyReport:
        rows = conn.execute(
            f"SELECT {_SIGNED_OUTBOX}, delivered_at, mac, delivered_mac FROM outbox ORDER BY seq"
        ).fetchall()
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
            macs = self._outbox_macs(row[:8], delivered)
            problem = None
            if not _same(mac, macs[0]):
                problem = f"{where} was changed or added: its MAC does not match"
            elif delivered is not None and not _same(delivered_mac, macs[1]):
                problem = (
                    f"{where} is marked delivered at {delivered}, but the store never "
                    "recorded that delivery (its acknowledgement MAC does not match)"
                )
            if problem is not None:
                return VerifyReport(
                    events=checked,
                    first_bad=self._event_at(conn, position),
                    problem=problem,
                    stream=stream,
                )
        return VerifyReport(events=checked)

    def _verify_documents(self, conn: Connection, checked: int) -> VerifyReport:
        """Every stored document's content against its digest (read in batches: documents
        are large)."""
        with conn.cursor(name="creditcommit_documents") as cur:
            cur.itersize = 500
            cur.execute(
                "SELECT digest, body, stream, event_position FROM documents "
                "ORDER BY event_position, digest"
            )
            for digest, body, stream, position in cur:
                found = document_digest(body) if isinstance(body, str) else None
                if found != digest:
                    return VerifyReport(
                        events=checked,
                        first_bad=self._event_at(conn, position),
                        problem=(
                            f"document {digest[:12]}… of case {stream} (stored with event "
                            f"{position}) does not match its digest (its content hashes to "
                            f"{(found or '?')[:12]}…): the document was changed"
                        ),
                        stream=stream,
                    )
        return VerifyReport(events=checked)

    @staticmethod
    def _event_at(conn: Connection, position: int) -> StoredEvent | None:
        row = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE position = %s",
            (position,),
        ).fetchone()
        return None if row is None else _event(row)

    # --- reading many projections at once (ProjectionReader) -----------------------------

    #: How many streams :meth:`projections` reads per query.
    _projection_chunk = 1000

    def projections(self, **meta: str) -> Iterator[tuple[StreamInfo, Projection | None]]:
        """Every stream with every given meta ``name=value``, in the order created, with its
        current projection (``None``: none, or one behind the stream's events).

        Read in chunks (:attr:`_projection_chunk` streams, two queries each, on a pooled
        connection taken per chunk and given back before the chunk is yielded). See
        :class:`~creditcommit.ports.ProjectionReader`.
        """
        where, params = _meta_filter(meta)
        rows_sql = (
            "SELECT s.seq, s.stream, s.version, s.created_at, s.updated_at, "
            "p.version, p.body, p.due FROM streams AS s "
            "LEFT JOIN projections AS p ON p.stream = s.stream AND p.version = s.version "
            f"WHERE s.seq > %s{where} ORDER BY s.seq LIMIT %s"
        )
        meta_sql = (
            "SELECT m.stream, m.name, m.value FROM streams AS s "
            "JOIN stream_meta AS m ON m.stream = s.stream "
            "WHERE s.seq BETWEEN %s AND %s"
        )
        after = 0
        while True:
            with self._connection() as conn:
                rows = conn.execute(rows_sql, (after, *params, self._projection_chunk)).fetchall()
                if not rows:
                    return
                found: dict[str, dict[str, str]] = {row[1]: {} for row in rows}
                for stream, name, value in conn.execute(meta_sql, (rows[0][0], rows[-1][0])):
                    values = found.get(stream)
                    if values is not None:
                        values[name] = value
            yield from _projected_rows(rows, found)
            after = rows[-1][0]
