"""The one SQLite connection a built-in file adapter keeps (opened lazily, closed on demand).

Opening an SQLite file costs more than the query a credit lookup or a licence check runs
on it, so each adapter object keeps one connection to its file:

- opened on first use, not by the constructor's caller's thread only: the connection is
  made with ``check_same_thread=False`` and every use holds the adapter's lock, so one
  adapter object may be shared between threads (its calls run one at a time);
- reopened in a forked child: a connection is never used across ``fork()`` (SQLite forbids
  it); the child opens its own and leaves the parent's alone;
- closed by :meth:`SharedConnection.close` (the adapter's ``close()`` and context manager,
  and the service's ``close()``) and when the adapter is collected; the next call after a
  ``close()`` opens it again, so closing an adapter that another service still uses is
  harmless.

Autocommit mode: no transaction (and so no lock on the file) is held between calls; every
write opens its own ``BEGIN IMMEDIATE`` transaction, so other processes see it at once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["FileAdapter", "SharedConnection"]

#: Connections inherited across fork(): never used or closed by the child (the parent owns
#: them); kept referenced so that their finaliser does not close them in the child either.
_INHERITED: list[sqlite3.Connection] = []


def _new_locks_in_child() -> None:
    # A lock held by another thread at fork() would stay held in the child for ever.
    for shared in tuple(_EVERY):
        shared._lock = threading.RLock()


class SharedConnection:
    """One lazily opened connection to ``path``, for one adapter object.

    :param path: the SQLite file (created on first use if missing).
    :param timeout: how long a call waits for another writer's lock, in seconds.
    :param schema: SQL run (in one transaction) when the connection is opened.
    """

    def __init__(self, path: Path, timeout: float, schema: str) -> None:
        self.path = path
        self._timeout = timeout
        self._schema = schema
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._finalizer: weakref.finalize[[], SharedConnection] | None = None
        _EVERY.add(self)

    @property
    def opened(self) -> bool:
        """Whether this process holds an open connection (for tests and diagnostics)."""
        return self._conn is not None and self._pid == os.getpid()

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None and self._pid == os.getpid():
            return conn
        self._drop_inherited()
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.executescript(f"BEGIN;{self._schema}COMMIT;")
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        self._finalizer = weakref.finalize(self, conn.close)
        return conn

    def _drop_inherited(self) -> None:
        """Forget a connection inherited across fork() without closing it."""
        if self._conn is not None and self._pid != os.getpid():
            _INHERITED.append(self._conn)
            if self._finalizer is not None:
                self._finalizer.detach()
            self._conn = self._finalizer = None

    @contextlib.contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        """The connection, held by this thread until the block ends (autocommit mode)."""
        with self._lock:
            yield self._connection()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside a ``BEGIN IMMEDIATE`` transaction, committed at the end of
        the block or rolled back if it raises."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (if open); the next use opens a new one."""
        with self._lock:
            self._drop_inherited()
            if self._finalizer is not None:
                self._finalizer()  # closes it, once
            self._conn = self._finalizer = None


#: Every shared connection alive, for the fork hook.
_EVERY: weakref.WeakSet[SharedConnection] = weakref.WeakSet()
os.register_at_fork(after_in_child=_new_locks_in_child)


class FileAdapter:
    """A built-in adapter over one SQLite file: ``close()`` and the context manager.

    Subclasses set ``self._db`` to their :class:`SharedConnection`.
    """

    _db: SharedConnection

    def close(self) -> None:
        """Close the connection to the file (the next call opens it again)."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
