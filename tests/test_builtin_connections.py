"""The built-in file adapters keep one SQLite connection per object (issue 11).

Opened on first use, reused by every call, closed by ``close()`` / ``with`` / the
service's ``close()`` and reopened by the next call; shared between threads; never used
across ``fork()``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path

import attrs
import pytest

from creditcommit import Approvals, ManualClock
from creditcommit._demo import prepare
from creditcommit.builtin import FileCreditRegistry, FileCreditSource, FileLicenceStore
from creditcommit.builtin._sqlite_file import SharedConnection
from creditcommit.errors import DuplicateLicence
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence
from creditcommit.service import CHINA_TIME

CITY = "321000"
KNOWN = "91321000MA1AAAAAA" + uscc_check_char("91321000MA1AAAAAA")
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TIME)


def licence(reference: str) -> IssuedLicence:
    return IssuedLicence(
        reference=reference,
        licence_type="business-licence",
        subject=KNOWN,
        item_code="external",
        case_id="external",
        issued_on=dt.date(2020, 1, 1),
    )


def test_calls_reuse_one_connection_until_closed(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db")
    first = source._db._conn
    assert first is not None
    source.set_grade(KNOWN, "B", city=CITY)
    assert source.lookup(KNOWN, city=CITY, at=AT).grade == "B"  # type: ignore[union-attr]
    assert source._db._conn is first
    source.close()
    assert not source._db.opened
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")  # really closed
    # The next call opens the file again and sees what was written.
    assert source.read(KNOWN, city=CITY, at=AT).grade == "B"
    reopened: bool = source._db.opened  # (a fresh read: mypy narrowed the property above)
    assert reopened
    source.close()
    source.close()  # twice is harmless


def test_adapters_close_at_the_end_of_a_with_block(tmp_path: Path) -> None:
    with (
        FileCreditSource(tmp_path / "credit.db") as source,
        FileCreditRegistry(tmp_path / "credit.db") as registry,
        FileLicenceStore(tmp_path / "licences.db") as licences,
    ):
        licences.record(licence("L-1"), city=CITY)
        assert [h.reference for h in licences.holdings(KNOWN, city=CITY, on=AT.date())] == ["L-1"]
        opened = [source._db, registry._db, licences._db]
        assert all(db.opened for db in opened)
    assert not any(db.opened for db in opened)


def test_a_failed_write_rolls_back_and_the_connection_stays_usable(tmp_path: Path) -> None:
    licences = FileLicenceStore(tmp_path / "licences.db")
    licences.record(licence("L-1"), city=CITY)
    with pytest.raises(DuplicateLicence, match="L-1"):
        licences.record(attrs.evolve(licence("L-1"), item_code="other"), city=CITY)
    licences.record(licence("L-2"), city=CITY)  # no transaction left open
    refs = [h.reference for h in licences.holdings(KNOWN, city=CITY, on=AT.date())]
    assert refs == ["L-1", "L-2"]
    licences.close()


def test_one_adapter_is_shared_between_threads(tmp_path: Path) -> None:
    licences = FileLicenceStore(tmp_path / "licences.db")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                licences.record(licence(f"T{n}-{i}"), city=CITY)
                licences.holdings(KNOWN, city=CITY, on=AT.date())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(licences.holdings(KNOWN, city=CITY, on=AT.date())) == 80
    licences.close()


def _child_reads(source: FileCreditSource, out: multiprocessing.Queue[object]) -> None:
    inherited = source._db._conn
    grade = source.read(KNOWN, city=CITY, at=AT).grade
    out.put((grade, source._db._conn is not inherited, source._db._pid == os.getpid()))
    source.close()  # closes the child's own connection only


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system"
)
def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db")
    source.set_grade(KNOWN, "C", city=CITY)
    parent = source._db._conn
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(target=_child_reads, args=(source, out))
    child.start()
    got = out.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert got == ("C", True, True)
    # The parent's connection is untouched by the child.
    assert source._db._conn is parent
    assert source.read(KNOWN, city=CITY, at=AT).grade == "C"
    source.close()


def test_the_service_close_closes_the_builtin_adapters(tmp_path: Path) -> None:
    prepare(tmp_path)
    service = Approvals.from_config(
        tmp_path / "creditcommit.toml", clock=ManualClock(AT), autoload=False
    )
    source = service.integrations.credit_source(service.city)
    licences = service.integrations.licence_store(service.city)
    registry = service.integrations.credit_registry(service.city)
    adapters = [source, licences, registry]
    assert all(
        isinstance(a, FileCreditSource | FileLicenceStore | FileCreditRegistry) for a in adapters
    )
    dbs: list[SharedConnection] = [a._db for a in adapters]  # type: ignore[attr-defined]
    source.lookup(KNOWN, city=CITY, at=AT)
    assert dbs[0].opened
    service.close()
    assert not any(db.opened for db in dbs)
