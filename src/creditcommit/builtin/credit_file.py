"""The built-in credit source and credit registry: one SQLite file of grades and records.

:class:`FileCreditSource` answers ``lookup`` from the file; :class:`FileCreditRegistry`
stores the dishonesty records the outbox pushes, in the same file. So on the embedded
default the credit-feedback loop closes: a record pushed after a broken commitment is in
the evidence of the subject's next application.

The file holds grades and records per city and subject; a city fills it from its credit
platform's CSV export with :meth:`FileCreditSource.import_csv` (columns in
``docs/plugins.md``). Standard library only (``sqlite3``). Each object keeps one connection
to its file, opened on first use and closed by ``close()`` (or its ``with`` block, or the
service's ``close()``; the next call opens it again); one object may be shared between
threads (its calls run one at a time) and used after ``fork()``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from creditcommit._converter import hostile_text_problem, read_text
from creditcommit.builtin._sqlite_file import FileAdapter, SharedConnection
from creditcommit.credit import (
    DEFAULT_PUBLICITY_MONTHS,
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    FailureCategory,
    GradeScale,
    Severity,
    publicity_periods,
    record_kind_problem,
)
from creditcommit.errors import DataFileError, InvalidIdentifier, Problem
from creditcommit.identifiers import USCC, ResidentId
from creditcommit.policy import GRADE_SCALE_PRESETS
from creditcommit.ports import OutboxMessage

__all__ = [
    "CSV_COLUMNS",
    "CsvImport",
    "FileCreditRegistry",
    "FileCreditSource",
]

CSV_COLUMNS: tuple[str, ...] = (
    "subject",
    "grade",
    "record_id",
    "kind",
    "severity",
    "decided_on",
    "min_publicity_months",
    "max_publicity_months",
    "repaired_on",
    "authority",
    "legal_basis",
    "description",
)
"""Columns of a credit CSV export; ``subject`` and ``grade`` are required, the rest describe
one credit record per row (``record_id``, ``kind``, ``severity`` and ``decided_on`` required
when any record column is present)."""

_RECORD_REQUIRED = ("record_id", "kind", "severity", "decided_on")
_RECORD_COLUMNS = CSV_COLUMNS[2:]
_MONTHS = ("min_publicity_months", "max_publicity_months")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS credit_subjects (
    city TEXT NOT NULL,
    subject TEXT NOT NULL,
    grade TEXT,
    PRIMARY KEY (city, subject)
);
CREATE TABLE IF NOT EXISTS credit_records (
    city TEXT NOT NULL,
    record_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    decided_on TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (city, record_id)
);
CREATE INDEX IF NOT EXISTS credit_records_by_subject ON credit_records (city, subject);
CREATE TABLE IF NOT EXISTS credit_pushes (
    key TEXT PRIMARY KEY,
    city TEXT NOT NULL,
    record_id TEXT NOT NULL
);
"""


def _upsert_record(conn: sqlite3.Connection, city: str, record: CreditRecord) -> None:
    conn.execute(
        "INSERT INTO credit_records (city, record_id, subject, decided_on, record) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (city, record_id) DO UPDATE SET "
        "subject = excluded.subject, decided_on = excluded.decided_on, record = excluded.record",
        (
            city,
            record.record_id,
            record.subject,
            record.decided_on.isoformat(),
            json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True),
        ),
    )


def _scale(scale: str | GradeScale) -> GradeScale:
    if isinstance(scale, GradeScale):
        return scale
    try:
        return GRADE_SCALE_PRESETS[scale]
    except KeyError:
        known = ", ".join(repr(name) for name in sorted(GRADE_SCALE_PRESETS))
        raise ValueError(f"unknown grade scale {scale!r} (known: {known})") from None


@attrs.frozen
class CsvImport:
    """What :meth:`FileCreditSource.import_csv` loaded: subjects graded, records stored."""

    subjects: int
    records: int


class FileCreditSource(FileAdapter):
    """A credit source (信用信息平台) backed by a local SQLite file.

    ``lookup`` returns the subject's grade (``None`` if the file has none) and all its
    records in the city, oldest first, as :class:`CreditEvidence` with
    ``retrieved_at = at``; a subject the file does not know gets no grade and no records.

    ``unavailable`` and ``faults`` are **testing aids**: looking up one of these subjects
    returns a :class:`CreditLookupFailure` (it does not raise, as an adapter reporting its
    upstream's failure) — ``unreachable`` for an ``unavailable`` subject, the category
    mapped to it for one in ``faults`` (e.g. ``{subject: FailureCategory.TIMEOUT}``) — as
    if the credit platform had failed, so that demos and tests can show a decision failing
    closed. The failure's reason says the outage is simulated.

    :param path: the SQLite file (created if missing).
    :param scale: the grade scale of the grades in the file (a preset name or a scale).
    :param name: the source name recorded in the evidence.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        scale: str | GradeScale = "yangzhou-a-e",
        name: str = "credit-file",
        unavailable: Iterable[str] = (),
        timeout: float = 30.0,
        faults: Mapping[str, FailureCategory | str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.scale = _scale(scale)
        self.name = name
        self.unavailable = frozenset(unavailable)
        self.faults: Mapping[str, FailureCategory] = MappingProxyType(
            {subject: FailureCategory(kind) for subject, kind in (faults or {}).items()}
        )
        self._db = SharedConnection(self.path, timeout, _SCHEMA)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT value FROM credit_meta WHERE key = 'scale'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO credit_meta (key, value) VALUES ('scale', ?)", (self.scale.name,)
                )
            elif row[0] != self.scale.name:
                raise ValueError(
                    f"{self.path} holds grades on the {row[0]!r} scale, not {self.scale.name!r}"
                )

    def __repr__(self) -> str:
        return f"FileCreditSource({str(self.path)!r}, scale={self.scale.name!r})"

    def lookup(
        self, subject: str, *, city: str, at: dt.datetime
    ) -> CreditEvidence | CreditLookupFailure:
        """What the file says about ``subject`` in ``city``, as evidence retrieved ``at``.

        A subject of ``unavailable`` or ``faults`` gets a :class:`CreditLookupFailure`.
        """
        if at.utcoffset() is None:
            raise ValueError(f"lookup time {at.isoformat()} has no UTC offset")
        fault, listed = self.faults.get(subject), "faults"
        if fault is None and subject in self.unavailable:
            fault, listed = FailureCategory.UNREACHABLE, "unavailable_subjects"
        if fault is not None:
            return CreditLookupFailure(
                subject=subject,
                source=self.name,
                attempted_at=at,
                reason=f"credit source {self.name!r}: simulated {fault.value} "
                f"(the subject is listed in {listed})",
                category=fault,
            )
        return self.read(subject, city=city, at=at)

    def read(self, subject: str, *, city: str, at: dt.datetime) -> CreditEvidence:
        """What the file holds about ``subject`` in ``city`` (the testing aids do not apply)."""
        with self._db.use() as conn:
            row = conn.execute(
                "SELECT grade FROM credit_subjects WHERE city = ? AND subject = ?",
                (city, subject),
            ).fetchone()
            rows = conn.execute(
                "SELECT record FROM credit_records WHERE city = ? AND subject = ? "
                "ORDER BY decided_on, record_id",
                (city, subject),
            ).fetchall()
        records = [
            CreditRecord.from_dict(json.loads(text), source=str(self.path)) for (text,) in rows
        ]
        return CreditEvidence.create(
            subject=subject,
            source=self.name,
            retrieved_at=at,
            scale=self.scale.name,
            grade=None if row is None else row[0],
            records=records,
        )

    def set_grade(self, subject: str, grade: str | None, *, city: str) -> None:
        """Set (or clear, with ``None``) the grade of ``subject`` in ``city``."""
        code = None if grade is None else self.scale.grade(grade).code
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO credit_subjects (city, subject, grade) VALUES (?, ?, ?) "
                "ON CONFLICT (city, subject) DO UPDATE SET grade = excluded.grade",
                (city, subject, code),
            )

    def add_record(self, record: CreditRecord, *, city: str) -> None:
        """Store ``record`` for its subject in ``city`` (replacing one with the same id)."""
        with self._db.transaction() as conn:
            _upsert_record(conn, city, record)

    def import_csv(
        self, path: str | os.PathLike[str], *, city: str, record_kinds: Iterable[str] = ()
    ) -> CsvImport:
        """Load a city's credit export: one row per subject, or per record of a subject.

        Columns are :data:`CSV_COLUMNS` (header row required, UTF-8 with or without BOM).
        Every row of a subject must give the same ``grade`` (empty = no grade). A row with a
        ``record_id`` adds that record; empty publicity months take the periods of the
        severity under the NDRC instrument in force on ``decided_on``. Grades are replaced
        and records added or replaced by id; nothing is written unless the whole file is
        valid.

        ``kind`` is a national kind (``dishonesty``, ...) or one of ``record_kinds``, the
        city-specific kinds the policy declares (pass ``policy.record_kinds``).

        :raises DataFileError: every problem, with paths ``line[<n>].<column>`` where ``n``
            is the line number in the file (the header is line 1).
        """
        source = os.fspath(path)
        rows, problems = _read_csv(source)
        grades: dict[str, tuple[str | None, int]] = {}
        records: dict[str, tuple[CreditRecord, int]] = {}
        kinds = frozenset(record_kinds)
        for line, row in rows:
            found = self._row(line, row, grades, records, source, kinds=kinds)
            problems += found
        if problems:
            raise DataFileError(source, problems)
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO credit_subjects (city, subject, grade) VALUES (?, ?, ?) "
                "ON CONFLICT (city, subject) DO UPDATE SET grade = excluded.grade",
                [(city, subject, grade) for subject, (grade, _) in grades.items()],
            )
            for record, _ in records.values():
                _upsert_record(conn, city, record)
        return CsvImport(subjects=len(grades), records=len(records))

    def _row(
        self,
        line: int,
        row: dict[str, str],
        grades: dict[str, tuple[str | None, int]],
        records: dict[str, tuple[CreditRecord, int]],
        source: str,
        *,
        kinds: frozenset[str] = frozenset(),
    ) -> list[Problem]:
        here = f"line[{line}]"
        subject = row["subject"].strip()
        if not subject:
            return [Problem(f"{here}.subject", "expected a subject (e.g. a USCC), got nothing")]
        subject, bad = _subject(subject)
        if bad is not None:
            return [Problem(f"{here}.subject", bad)]
        problems: list[Problem] = []
        text = row["grade"].strip()
        grade: str | None = None
        if text:
            if text in self.scale:
                grade = self.scale.grade(text).code
            else:
                problems.append(
                    Problem(
                        f"{here}.grade",
                        f"grade {text!r} is not on the {self.scale.name!r} scale "
                        f"(known: {', '.join(self.scale.grades)})",
                    )
                )
        if not problems:
            seen = grades.get(subject)
            if seen is not None and seen[0] != grade:
                shown = "no grade" if seen[0] is None else f"grade {seen[0]!r}"
                problems.append(
                    Problem(
                        f"{here}.grade",
                        f"subject {subject} has {shown} on line {seen[1]}; every row of a "
                        "subject must give the same grade",
                    )
                )
            elif seen is None:
                grades[subject] = (grade, line)
        record, found = _record(here, subject, row, source, kinds=kinds)
        problems += found
        if record is not None:
            first = records.get(record.record_id)
            if first is not None:
                problems.append(
                    Problem(
                        f"{here}.record_id",
                        f"duplicate record id {record.record_id!r} (first on line {first[1]})",
                    )
                )
            else:
                records[record.record_id] = (record, line)
        return problems


def _subject(text: str) -> tuple[str, str | None]:
    """The subject normalised as a USCC or a resident identity number, or why it is neither.

    Subjects are stored in the form :class:`~creditcommit.Applicant` holds, so that a code
    exported as ``9132 1000-ma1aaaaaa7`` is found when that applicant applies.
    """
    try:
        return USCC.parse(text).value, None
    except InvalidIdentifier as as_uscc:
        try:
            return ResidentId.parse(text).value, None
        except InvalidIdentifier as as_rid:
            return text, (
                "expected a unified social credit code or a resident identity number; as a "
                f"USCC: {as_uscc.detail} (rule: {as_uscc.rule}); as a resident identity "
                f"number: {as_rid.detail} (rule: {as_rid.rule})"
            )


def _read_csv(source: str) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    try:
        text = read_text(source)
    except DataFileError as exc:
        return [], list(exc.problems)
    try:
        with io.StringIO(text, newline="") as fh:
            reader = csv.reader(fh, strict=True)
            try:
                header = [name.strip() for name in next(reader)]
            except StopIteration:
                return [], [Problem("line[1]", _header_hint("the file is empty"))]
            problems = _header_problems(header)
            if problems:
                return [], problems
            rows: list[tuple[int, dict[str, str]]] = []
            for fields in reader:
                line = reader.line_num
                if not any(field.strip() for field in fields):
                    continue
                if len(fields) != len(header):
                    problems.append(
                        Problem(
                            f"line[{line}]",
                            f"expected {len(header)} fields (one per column), got {len(fields)}",
                        )
                    )
                    continue
                hostile = [
                    Problem(f"line[{line}].{name}", problem)
                    for name, field in zip(header, fields, strict=True)
                    if (problem := hostile_text_problem(field)) is not None
                ]
                if hostile:
                    problems += hostile
                    continue
                row = dict.fromkeys(CSV_COLUMNS, "")
                row.update(zip(header, fields, strict=True))
                rows.append((line, row))
            return rows, problems
    except csv.Error as exc:
        return [], [Problem(f"line[{reader.line_num}]", f"not valid CSV: {exc}")]


def _header_hint(what: str) -> str:
    return f"{what}; expected a header row with the columns {', '.join(CSV_COLUMNS)}"


def _header_problems(header: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for i, name in enumerate(header):
        if name not in CSV_COLUMNS:
            problems.append(
                Problem(
                    "line[1]",
                    f"unknown column {name!r} (allowed: {', '.join(CSV_COLUMNS)})",
                )
            )
        elif name in header[:i]:
            problems.append(Problem("line[1]", f"column {name!r} appears twice"))
    missing = [name for name in ("subject", "grade") if name not in header]
    if any(name in header for name in _RECORD_COLUMNS):
        missing += [name for name in _RECORD_REQUIRED if name not in header]
    problems += [Problem("line[1]", f"missing column {name!r}") for name in missing]
    return problems


def _record(
    here: str, subject: str, row: dict[str, str], source: str, *, kinds: frozenset[str]
) -> tuple[CreditRecord | None, list[Problem]]:
    values = {name: row[name].strip() for name in _RECORD_COLUMNS}
    if not values["record_id"]:
        given = [name for name, value in values.items() if value]
        if given:
            return None, [
                Problem(f"{here}.record_id", f"record fields ({', '.join(given)}) need a record_id")
            ]
        return None, []
    data: dict[str, Any] = {"subject": subject}
    for name, value in values.items():
        if name not in _MONTHS:
            data[name] = value or None
    problems = [
        Problem(f"{here}.{name}", "required for a record, got nothing")
        for name in _RECORD_REQUIRED
        if not values[name]
    ]
    if values["kind"]:
        wrong_kind = record_kind_problem(values["kind"], kinds)
        if wrong_kind is not None:
            problems.append(Problem(f"{here}.kind", wrong_kind))
    months, found = _months(here, values, data.get("severity"), values["decided_on"])
    problems += found
    if problems:
        return None, problems
    data.update(months)
    try:
        return CreditRecord.from_dict(data, source=source), []
    except DataFileError as exc:
        return None, [Problem(f"{here}.{p.path}", p.message) for p in exc.problems]


def _months(
    here: str, values: dict[str, str], severity: object, decided_on: str
) -> tuple[dict[str, int], list[Problem]]:
    given = {name: values[name] for name in _MONTHS if values[name]}
    if not given:
        # The periods of the NDRC instrument in force on the decision day.
        try:
            table = publicity_periods(dt.date.fromisoformat(decided_on)).value
        except ValueError:
            table = DEFAULT_PUBLICITY_MONTHS  # the day itself is reported by from_dict
        try:
            period = table[Severity(severity)]
        except ValueError:
            return {}, []  # the severity itself is reported by CreditRecord.from_dict
        return {
            "min_publicity_months": period.min_months,
            "max_publicity_months": period.max_months,
        }, []
    months: dict[str, int] = {}
    problems: list[Problem] = []
    for name in _MONTHS:
        text = given.get(name)
        if text is None:
            problems.append(
                Problem(
                    f"{here}.{name}", "give both publicity periods, or neither for the defaults"
                )
            )
        elif not text.isdigit():
            problems.append(
                Problem(f"{here}.{name}", f"expected a whole number of months, got {text!r}")
            )
        else:
            months[name] = int(text)
    return months, problems


class FileCreditRegistry(FileAdapter):
    """The credit registry (信用信息共享平台) side of the credit file.

    ``push`` stores the dishonesty record in an outbox message (``payload`` is a
    :meth:`CreditRecord.to_dict`) for the subject in ``message.city``; a message key
    already pushed is ignored, so redelivery is harmless. A record with an id already in the
    file replaces it (a correction, or credit repair setting ``repaired_on``).

    :param path: the same SQLite file the :class:`FileCreditSource` reads.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, name: str = "credit-file", timeout: float = 30.0
    ) -> None:
        self.path = Path(path)
        self.name = name
        self._db = SharedConnection(self.path, timeout, _SCHEMA)
        with self._db.use():
            pass  # the file and its tables exist from here on

    def __repr__(self) -> str:
        return f"FileCreditRegistry({str(self.path)!r})"

    def push(self, message: OutboxMessage) -> None:
        """Store the record in ``message`` unless its key was pushed before.

        :raises DataFileError: the payload is not a valid credit record.
        """
        record = CreditRecord.from_dict(
            dict(message.payload), source=f"outbox message {message.key!r}"
        )
        with self._db.transaction() as conn:
            seen = conn.execute(
                "SELECT 1 FROM credit_pushes WHERE key = ?", (message.key,)
            ).fetchone()
            if seen is not None:
                return
            _upsert_record(conn, message.city, record)
            conn.execute(
                "INSERT INTO credit_pushes (key, city, record_id) VALUES (?, ?, ?)",
                (message.key, message.city, record.record_id),
            )
