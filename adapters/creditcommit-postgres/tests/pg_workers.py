"""What the adapter's multi-process tests run in their child processes (``spawn``).

Module-level functions, so a spawned child can import them by name (this directory is on
``sys.path``, which a spawned child copies). Each child opens its own store from the URL it
is given and reports back through a queue, as text: exceptions do not cross processes.
"""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path
from typing import Any, Protocol

import psycopg

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    ConcurrencyError,
    ManualClock,
)
from creditcommit.builtin import FileCreditSource, FileLicenceStore
from creditcommit.delivery import Destinations, deliver_all
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence, NewEvent, OutboxMessage
from creditcommit.testing.store_contract import AT
from creditcommit_postgres import PostgresEventStore

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
FORM = "GGCSWSXK-01"
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)
HOTEL = Applicant("91321084MA1TQ7GU0" + uscc_check_char("91321084MA1TQ7GU0"), "高邮某酒店")
# How long a child waits for the others at a barrier, and the parent for a child's report.
PATIENCE = 120.0


class Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


class Results(Protocol):
    def put(self, item: Any, /) -> None: ...


# --- two writers on one case -----------------------------------------------------------------


def append_at_barrier(url: str, name: str, rounds: int, barrier: Barrier, results: Results) -> None:
    """For each round: read case ``case-<round>``, wait for the other writer, then append to
    the version read. Reports one list of ``(name, round, "won" | "ConcurrencyError: ...")``
    (round -1 with a traceback if the writer itself failed)."""
    outcomes: list[tuple[str, int, str]] = []
    try:
        with PostgresEventStore.from_url(url) as store:
            for round_ in range(rounds):
                stream = f"case-{round_}"
                version = len(store.read(stream))
                barrier.wait(PATIENCE)
                try:
                    store.append(
                        stream,
                        [NewEvent("Accepted", {"by": name})],
                        expected_version=version,
                        recorded_at=AT,
                        outbox=[_message(f"{stream}/{name}")],
                    )
                except ConcurrencyError as exc:
                    outcomes.append((name, round_, f"ConcurrencyError: {exc}"))
                else:
                    outcomes.append((name, round_, "won"))
    except BaseException:
        outcomes.append((name, -1, traceback.format_exc()))
    results.put(outcomes)


def _message(key: str) -> OutboxMessage:
    return OutboxMessage(
        key=key, destination="channel:site", topic="decision", city=CITY, payload={}, created_at=AT
    )


# --- delivery workers ------------------------------------------------------------------------


class EffectsChannel:
    """A publishing channel whose every call has an effect: a row in ``effects``.

    Not idempotent on purpose: a message delivered twice leaves two rows.
    """

    name = "site"

    def __init__(self, conninfo: str, schema: str, worker: int) -> None:
        self.worker = worker
        self._conn = psycopg.connect(conninfo, autocommit=True, options=f"-c search_path={schema}")

    def publish(self, message: OutboxMessage) -> None:
        self._conn.execute(
            "INSERT INTO effects (key, worker) VALUES (%s, %s)", (message.key, self.worker)
        )

    def close(self) -> None:
        self._conn.close()


def deliver_worker(url: str, worker: int, barrier: Barrier, results: Results) -> None:
    """Deliver the outbox with ``deliver_all`` until nothing is due; report what it did."""
    try:
        with PostgresEventStore.from_url(url) as store:
            channel = EffectsChannel(store.conninfo, store.schema, worker)
            try:
                barrier.wait(PATIENCE)
                report = deliver_all(
                    store, Destinations.of(channel), AT, limit=25, max_rounds=100_000
                )
            finally:
                channel.close()
        results.put((worker, len(report.delivered), [f.error for f in report.failed]))
    except BaseException:
        results.put((worker, -1, [traceback.format_exc()]))


# --- submitters through Approvals --------------------------------------------------------


def prepare(directory: Path, store_url: str) -> Path:
    """``creditcommit.toml`` with the PostgreSQL store, the sample catalogue and policy, and
    HOTEL (grade B) with its e-licences on file."""
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "{store_url}"\ncatalog = "sample"\npolicy = "sample"\n',
        encoding="utf-8",
    )
    FileCreditSource(directory / "credit.db").set_grade(HOTEL.identifier, "B", city=CITY)
    licences = FileLicenceStore(directory / "licences.db")
    for licence_type in ("business-licence", "resident-identity-card"):
        licences.record(
            IssuedLicence(
                reference=f"{licence_type}:{HOTEL.identifier}",
                licence_type=licence_type,
                subject=HOTEL.identifier,
                item_code="external",
                case_id="external",
                issued_on=dt.date(2020, 1, 1),
            ),
            city=CITY,
        )
    return config


def submitter(config: str, count: int, barrier: Barrier, results: Results) -> None:
    """Submit ``count`` applications on one day through ``Approvals.from_config`` (the
    store found by the ``postgres`` entry point); report the case ids and every error."""
    made: list[str] = []
    errors: list[str] = []
    try:
        with Approvals.from_config(config, clock=ManualClock(START), autoload=True) as service:
            barrier.wait(PATIENCE)
            for _ in range(count):
                try:
                    made.append(
                        service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM]).case_id
                    )
                except Exception:
                    errors.append(traceback.format_exc())
    except BaseException:
        errors.append(traceback.format_exc())
    results.put((made, errors))
