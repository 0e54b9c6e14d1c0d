"""The built-in e-licence store: licences issued and withdrawn, in one SQLite file.

:class:`FileLicenceStore` implements :class:`~creditcommit.ports.LicenceStore` with the
standard library only. ``record`` and ``withdraw`` are idempotent on the licence reference,
so the outbox may deliver them more than once. Each object keeps one connection to its
file, opened on first use and closed by ``close()`` (or its ``with`` block, or the service's
``close()``; the next call opens it again); one object may be shared between threads (its
calls run one at a time) and used after ``fork()``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from creditcommit.builtin._sqlite_file import FileAdapter, SharedConnection
from creditcommit.errors import DuplicateLicence, LicenceHolderMismatch, UnknownLicence
from creditcommit.materials import LicenceHolding
from creditcommit.ports import IssuedLicence

__all__ = ["FileLicenceStore", "UnknownLicence"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS licences (
    city TEXT NOT NULL,
    reference TEXT NOT NULL,
    licence_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    item_code TEXT NOT NULL,
    case_id TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    valid_until TEXT,
    withdrawn_on TEXT,
    withdrawn_reason TEXT,
    PRIMARY KEY (city, reference)
);
CREATE INDEX IF NOT EXISTS licences_by_subject ON licences (city, subject);
"""

_FIELDS = ("licence_type", "subject", "item_code", "case_id", "issued_on", "valid_until")


def _row(licence: IssuedLicence) -> tuple[str | None, ...]:
    return (
        licence.licence_type,
        licence.subject,
        licence.item_code,
        licence.case_id,
        licence.issued_on.isoformat(),
        None if licence.valid_until is None else licence.valid_until.isoformat(),
    )


class FileLicenceStore(FileAdapter):
    """An e-licence store (电子证照库) in a local SQLite file.

    ``holdings(subject, city=..., on=...)`` lists the licences of ``subject`` in ``city``
    that are valid on ``on``: issued on or before it, not expired (``valid_until`` is the
    last valid day) and not withdrawn on or before it. ``record`` stores a licence (again
    with the same details: nothing happens; with other details under the same reference:
    :class:`~creditcommit.DuplicateLicence`); ``withdraw`` marks the licence of ``holder``
    withdrawn from ``on`` (again: nothing happens; an unknown reference:
    :class:`UnknownLicence`; a licence recorded for another holder:
    :class:`~creditcommit.LicenceHolderMismatch`).

    :param path: the SQLite file (created if missing).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str = "licence-file",
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self._db = SharedConnection(self.path, timeout, _SCHEMA)
        with self._db.use():
            pass  # the file and its table exist from here on

    def __repr__(self) -> str:
        return f"FileLicenceStore({str(self.path)!r})"

    def holdings(self, subject: str, *, city: str, on: dt.date) -> tuple[LicenceHolding, ...]:
        """The licences of ``subject`` valid in ``city`` on ``on``, by type and reference."""
        day = on.isoformat()
        with self._db.use() as conn:
            rows = conn.execute(
                "SELECT licence_type, reference, valid_until FROM licences "
                "WHERE city = ? AND subject = ? AND issued_on <= ? "
                "AND (valid_until IS NULL OR valid_until >= ?) "
                "AND (withdrawn_on IS NULL OR withdrawn_on > ?) "
                "ORDER BY licence_type, reference",
                (city, subject, day, day, day),
            ).fetchall()
        return tuple(
            LicenceHolding(
                licence_type=licence_type,
                reference=reference,
                valid_until=None if until is None else dt.date.fromisoformat(until),
            )
            for licence_type, reference, until in rows
        )

    def record(self, licence: IssuedLicence, *, city: str) -> None:
        """Store a licence the agency issued; recording it again changes nothing.

        :raises DuplicateLicence: the reference is already recorded with other details.
        """
        row = _row(licence)
        with self._db.transaction() as conn:
            existing = conn.execute(
                f"SELECT {', '.join(_FIELDS)} FROM licences WHERE city = ? AND reference = ?",
                (city, licence.reference),
            ).fetchone()
            if existing is None:
                conn.execute(
                    f"INSERT INTO licences (city, reference, {', '.join(_FIELDS)}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (city, licence.reference, *row),
                )
                return
            differ = [
                name for name, old, new in zip(_FIELDS, existing, row, strict=True) if old != new
            ]
            if differ:
                holder, case_id = existing[1], existing[3]
                raise DuplicateLicence(licence.reference, city, holder=holder, case_id=case_id)

    def withdraw(self, reference: str, *, city: str, holder: str, on: dt.date, reason: str) -> None:
        """Mark the licence of ``holder`` withdrawn from ``on``; a second withdrawal changes
        nothing.

        :raises UnknownLicence: no licence with this reference is recorded for ``city``.
        :raises LicenceHolderMismatch: the licence is recorded for another holder; nothing
            is changed.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT subject, withdrawn_on FROM licences WHERE city = ? AND reference = ?",
                (city, reference),
            ).fetchone()
            if row is None:
                raise UnknownLicence(reference, city)
            recorded_holder, withdrawn_on = row
            if recorded_holder != holder:
                raise LicenceHolderMismatch(reference, city, holder, recorded_holder)
            if withdrawn_on is None:
                conn.execute(
                    "UPDATE licences SET withdrawn_on = ?, withdrawn_reason = ? "
                    "WHERE city = ? AND reference = ?",
                    (on.isoformat(), reason, city, reference),
                )
