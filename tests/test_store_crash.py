"""Crash tests: a process dies mid-way, the next one delivers every message's effect once.

The fault-injection tests at the end run the whole service in worker processes — submit,
sign, accept, issue, tick, deliver in a random mix — and ``kill -9`` them at random moments,
round after round, then check the log with the real ``creditcommit log verify`` (the HMAC
key set) and that every message takes effect exactly once. The tamper tests change a copy
of such a log the way someone with the ``sqlite3`` shell would and check that the CLI names
the case and the event concerned.

A child process writes events and outbox messages to a SQLite store and dies with
``os._exit(1)`` (no clean-up, no ``finally``) at a chosen point, or is killed with
``SIGKILL`` while appending. The parent reopens the store and runs :func:`deliver_all` with
ports that keep their receipts in files and honour idempotency keys, then counts effects
per key.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from creditcommit import (
    Approvals,
    CaseState,
    ConcurrencyError,
    IllegalTransition,
    ManualClock,
    Signer,
    hookimpl,
)
from creditcommit.builtin import FileLicenceStore
from creditcommit.builtin.sqlite_store import DEFAULT_LEASE, LOG_KEY_ENV, SQLiteEventStore
from creditcommit.delivery import Destinations, deliver_all
from creditcommit.ports import NewEvent, OutboxMessage
from creditcommit.testing.store_contract import AT, keys, message
from test_service import CITY, FORM, GAOYOU, HOTEL, START, prepare
from test_store_anchor import rechain

CASES = 10

# The child imports this module (to share the ports and the scenario) and runs run_child.
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from test_store_crash import run_child
run_child(*sys.argv[2:])
"""


class FilePort:
    """A port that writes what reaches it to files, so it survives the process.

    ``<name>.received`` gets a line per call; ``<name>.effects`` a line per key the first
    time it is seen (the port is idempotent on the key, as ports must be).
    """

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name

    def _append(self, suffix: str, key: str) -> None:
        with open(self.directory / f"{self.name}.{suffix}", "a", encoding="utf-8") as fh:
            fh.write(key + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _lines(self, suffix: str) -> Counter[str]:
        path = self.directory / f"{self.name}.{suffix}"
        if not path.exists():
            return Counter()
        return Counter(path.read_text(encoding="utf-8").split())

    def received(self) -> Counter[str]:
        return self._lines("received")

    def effects(self) -> Counter[str]:
        return self._lines("effects")

    def _receive(self, message: OutboxMessage) -> None:
        self._append("received", message.key)
        if message.key not in self.effects():
            self._append("effects", message.key)


class FileChannel(FilePort):
    def publish(self, message: OutboxMessage) -> None:
        self._receive(message)


class FileRegistry(FilePort):
    def push(self, message: OutboxMessage) -> None:
        self._receive(message)


class DyingChannel(FileChannel):
    """Takes the ``die_at``-th message (its effect happens) and then kills the process,
    before anyone can record that it was delivered."""

    def __init__(self, directory: Path, name: str, die_at: int) -> None:
        super().__init__(directory, name)
        self.die_at = die_at
        self.calls = 0

    def publish(self, message: OutboxMessage) -> None:
        super().publish(message)
        self.calls += 1
        if self.calls == self.die_at:
            os._exit(1)


def append_case(store: SQLiteEventStore, n: int, events: int = 2) -> None:
    """Case ``n``: ``events`` events and a publication plus a credit record to push."""
    store.append(
        f"case-{n}",
        [NewEvent("Step", {"case": n, "i": i}) for i in range(events)],
        expected_version=0,
        recorded_at=AT,
        outbox=[
            message(f"case-{n}-site", destination="channel:site"),
            message(f"case-{n}-national", destination="registry:national"),
        ],
    )


def run_child(db: str, out: str, mode: str, arg: str = "0") -> None:
    """What the child process does; it never returns normally."""
    store = SQLiteEventStore(db)
    if mode == "append-forever":
        n = 0
        while True:
            append_case(store, n, events=3)
            print(n, flush=True)
            n += 1
    for n in range(CASES):
        append_case(store, n)
    if mode == "deliver":
        directory = Path(out)
        ports = DyingChannel(directory, "site", int(arg)), FileRegistry(directory, "national")
        deliver_all(store, Destinations.of(*ports), AT)
    os._exit(1)  # no close, no flush, no finally


def spawn(tmp_path: Path, mode: str, arg: str = "0") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            os.fspath(Path(__file__).parent),
            os.fspath(tmp_path / "events.db"),
            os.fspath(tmp_path),
            mode,
            arg,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def all_keys() -> set[str]:
    return {f"case-{n}-{port}" for n in range(CASES) for port in ("site", "national")}


def deliver_everything(tmp_path: Path) -> tuple[FileChannel, FileRegistry]:
    site, national = FileChannel(tmp_path, "site"), FileRegistry(tmp_path, "national")
    with SQLiteEventStore(tmp_path / "events.db") as store:
        assert store.verify().ok
        first = deliver_all(store, Destinations.of(site, national), AT)
        assert first.failed == ()
        # Whatever a dead worker had leased comes back when the lease runs out.
        second = deliver_all(store, Destinations.of(site, national), AT + DEFAULT_LEASE)
        assert second.failed == ()
        assert store.outbox(delivered=False) == ()
        assert set(keys(store.outbox(delivered=True))) == all_keys()
    return site, national


def test_a_crash_after_appending_loses_no_message(tmp_path: Path) -> None:
    child = spawn(tmp_path, "append")
    assert child.wait(timeout=60) == 1
    assert child.stdout is not None
    child.stdout.close()
    with SQLiteEventStore(tmp_path / "events.db") as store:
        assert len(store.streams()) == CASES
        assert all(len(store.read(f"case-{n}")) == 2 for n in range(CASES))
        assert len(store.outbox(delivered=False)) == 2 * CASES
    site, national = deliver_everything(tmp_path)
    effects = site.effects() + national.effects()
    assert set(effects) == all_keys()
    assert set(effects.values()) == {1}
    assert set((site.received() + national.received()).values()) == {1}


@pytest.mark.parametrize("die_at", [1, 4, CASES])
def test_a_crash_between_the_effect_and_its_record_is_absorbed_by_the_key(
    tmp_path: Path, die_at: int
) -> None:
    child = spawn(tmp_path, "deliver", str(die_at))
    assert child.wait(timeout=60) == 1
    assert child.stdout is not None
    child.stdout.close()
    victim = f"case-{die_at - 1}-site"
    site = FileChannel(tmp_path, "site")
    assert site.effects()[victim] == 1  # the effect happened before the crash
    with SQLiteEventStore(tmp_path / "events.db") as store:
        assert victim in keys(store.outbox(delivered=False))
        delivered_before = set(keys(store.outbox(delivered=True)))
    site, national = deliver_everything(tmp_path)
    received = site.received() + national.received()
    effects = site.effects() + national.effects()
    assert set(effects) == all_keys()
    assert set(effects.values()) == {1}  # exactly once, although...
    assert received[victim] == 2  # ...the victim was delivered twice
    assert all(received[key] == 1 for key in all_keys() - {victim})
    assert victim not in delivered_before


def test_a_kill_while_appending_leaves_whole_appends(tmp_path: Path) -> None:
    child = spawn(tmp_path, "append-forever")
    assert child.stdout is not None
    try:
        for _ in range(25):
            assert child.stdout.readline() != ""
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.close()
    with contextlib.closing(SQLiteEventStore(tmp_path / "events.db")) as store:
        streams = store.streams()
        assert len(streams) >= 25
        # Every append is all there (3 events, 2 messages) or not there at all.
        for info in streams:
            assert info.version == 3
            assert len(store.read(info.stream)) == 3
        assert len(store.outbox()) == 2 * len(streams)
        assert {m.message.key.rsplit("-", 1)[0] for m in store.outbox()} == {
            info.stream for info in streams
        }
        assert store.verify().ok


# --- kill -9 during a mixed workload of the service ------------------------------------------

KEY = "the-city's-log-key"

# A worker process: the service over the SQLite store, doing a mixed workload until killed.
WORKER = """
import sys
sys.path.insert(0, sys.argv[1])
from test_store_crash import run_worker
run_worker(*sys.argv[2:])
"""


class AuditPlugin:
    """Adds a publishing channel ``audit`` to the city that keeps receipts in files."""

    def __init__(self, directory: Path) -> None:
        self.channel = FileChannel(directory, "audit")

    @hookimpl
    def creditcommit_publishing_channels(self, city: str) -> list[FileChannel] | None:
        return [self.channel] if city == CITY else None


def service_for(config: Path, clock: ManualClock) -> Approvals:
    return Approvals.from_config(
        config, clock=clock, autoload=False, plugins={"audit": AuditPlugin(config.parent)}
    )


def run_worker(config: str, seed: str) -> None:
    """Submit, sign, accept and issue cases, tick and deliver, in a random mix, until killed."""
    rng = random.Random(int(seed))
    with service_for(Path(config), ManualClock(START)) as service:
        print("ready", flush=True)
        while True:
            step = rng.random()
            try:
                if step < 0.6:
                    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
                    case = service.sign_commitment(
                        case.case_id, Signer(HOTEL.name, HOTEL.identifier)
                    )
                    case = service.accept(case.case_id)
                    service.issue(case.case_id)
                elif step < 0.8:
                    service.tick()
                else:
                    service.deliver()
            except (ConcurrencyError, IllegalTransition):
                continue  # another worker's tick moved the case: carry on
            print("done", flush=True)


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``creditcommit`` command, in a process of its own, with the key set."""
    return subprocess.run(
        [sys.executable, "-m", "creditcommit", "--config", os.fspath(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {LOG_KEY_ENV: KEY},
        check=False,
    )


def crash_workload(directory: Path, rounds: int, *, seed: int = 0) -> Path:
    """``rounds`` times: start two workers, let them work a random while, ``kill -9`` each
    at a random moment. Returns the configuration file."""
    config = prepare(directory, on_the_spot=False)
    rng = random.Random(seed)
    env = os.environ | {LOG_KEY_ENV: KEY}
    for round_ in range(rounds):
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    os.fspath(Path(__file__).parent),
                    os.fspath(config),
                    str(seed * 1000 + round_ * 10 + n),
                ],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for n in range(2)
        ]
        try:
            for worker in workers:
                assert worker.stdout is not None
                assert worker.stdout.readline() == "ready\n"
            # Each is killed after a random number of steps, a random while into the next.
            for worker in rng.sample(workers, len(workers)):
                assert worker.stdout is not None
                for _ in range(rng.randint(0, 3)):
                    assert worker.stdout.readline() == "done\n"
                time.sleep(rng.uniform(0.0, 0.3))
                worker.send_signal(signal.SIGKILL)
        finally:
            for worker in workers:
                worker.kill()
                worker.wait(timeout=60)
                assert worker.stdout is not None
                worker.stdout.close()
        assert all(worker.returncode == -signal.SIGKILL for worker in workers)
    return config


def check_after_crashes(config: Path) -> None:
    """The log verifies (real CLI, with the key); delivering what is left then gives every
    message its effect exactly once, whoever was killed when."""
    checked = cli(config, "log", "verify")
    assert checked.returncode == 0, checked.stderr
    assert "checkpoints signed" in checked.stdout
    later = ManualClock(START + 2 * DEFAULT_LEASE)  # every dead worker's lease has run out
    with service_for(config, later) as service:
        report = service.deliver()
        assert report.failed == ()
        assert report.error is None
        assert service.store.outbox(delivered=False) == ()
        outbox = [pending.message for pending in service.store.outbox()]
        issued = [case for case in service.cases() if case.state is CaseState.ISSUED]
    assert outbox
    audit = FileChannel(config.parent, "audit")
    expected = {m.key for m in outbox if m.destination == "channel:audit"}
    assert set(audit.effects()) == expected
    assert set(audit.effects().values()) == {1}
    assert set(audit.received()) == expected  # received at least once, some twice
    # A plugin's channel replaces the built-in one: nothing went to the JSON-lines file.
    assert not any(m.destination == "channel:jsonl" for m in outbox)
    assert {m.destination for m in outbox} == {"channel:audit", "licences:licence-file"}
    licences = FileLicenceStore(config.parent / "licences.db")
    for case in issued:
        held = licences.holdings(HOTEL.identifier, city=CITY, on=START.date())
        assert f"XK-{case.case_id}" in {holding.reference for holding in held}
    checked = cli(config, "log", "verify")
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process writes with the key too (a write without it would not verify)."""
    monkeypatch.setenv(LOG_KEY_ENV, KEY)


@pytest.mark.usefixtures("keyed")
def test_kill_9_during_a_mixed_workload_loses_nothing(tmp_path: Path) -> None:
    check_after_crashes(crash_workload(tmp_path, rounds=3))


@pytest.mark.slow
@pytest.mark.usefixtures("keyed")
def test_kill_9_at_random_over_thirty_runs_loses_nothing(tmp_path: Path) -> None:
    check_after_crashes(crash_workload(tmp_path, rounds=30, seed=7))


# --- every tamper kind, reported by the real CLI ----------------------------------------------


def restore(pristine: Path, target: Path) -> None:
    """Make ``target`` a copy of ``pristine`` (SQLite's backup: WAL and all)."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    target.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(pristine)) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)


def run_sql(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        for statement in statements:
            con.execute(statement)


@pytest.mark.usefixtures("keyed")
def test_every_tamper_kind_is_named_by_log_verify(tmp_path: Path) -> None:
    config = crash_workload(tmp_path, rounds=1, seed=3)
    check_after_crashes(config)
    with service_for(config, ManualClock(START + 3 * DEFAULT_LEASE)) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        case = service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
        tail = service.issue(service.accept(case.case_id).case_id)  # not delivered
        history = service.history(tail.case_id)
        first = service.store.events(limit=2)[1]  # the event at position 2
    db = tmp_path / "cases.db"
    pristine = tmp_path / "pristine.db"
    restore(db, pristine)
    last = history[-1]
    case_id = tail.case_id
    licence_key = f"{case_id}/licence-issued/XK-{case_id}"

    def forge_append(path: Path) -> None:
        run_sql(
            path,
            "INSERT INTO events (position, stream, version, type, payload, recorded_at, "
            f"previous_digest, digest) SELECT position + 1, stream, version + 1, 'revoked', "
            f"'{{}}', recorded_at, '', '' FROM events WHERE position = {last.position}",
            f"UPDATE streams SET version = version + 1 WHERE stream = '{case_id}'",
        )
        rechain(path, last.position + 1)

    def recompute(path: Path) -> None:
        run_sql(path, "UPDATE events SET payload = '{}' WHERE position = 2")
        rechain(path, 2)

    def truncate(path: Path) -> None:
        run_sql(
            path,
            f"DELETE FROM events WHERE position = {last.position}",
            f"DELETE FROM outbox WHERE event_position = {last.position}",
            f"UPDATE streams SET version = version - 1 WHERE stream = '{case_id}'",
        )

    def delete_case(path: Path) -> None:
        run_sql(
            path,
            *(
                f"DELETE FROM {table} WHERE stream = '{case_id}'"
                for table in ("events", "outbox", "stream_meta", "idempotency_keys", "streams")
            ),
        )

    def empty(path: Path) -> None:
        run_sql(path, "DELETE FROM events")

    def mark_delivered(path: Path) -> None:
        run_sql(
            path,
            "UPDATE outbox SET delivered_at = '2025-09-26T10:00:00+08:00' "
            f"WHERE key = '{licence_key}'",
        )

    def change_state(path: Path) -> None:
        run_sql(
            path,
            f"UPDATE stream_meta SET value = 'REVOKED' WHERE stream = '{case_id}' "
            "AND name = 'state'",
        )

    def change_message(path: Path) -> None:
        run_sql(path, f"UPDATE outbox SET destination = 'channel:x' WHERE key = '{licence_key}'")

    issued = f"error: event {last.position} (case {case_id}, version {last.version}, "
    before = history[-2]
    tampers = {
        forge_append: f"error: event {last.position + 1} (case {case_id}, version "
        f"{last.version + 1}, revoked): the event is not signed with the key",
        recompute: f"error: event 2 (case {first.stream}, version {first.version}, "
        f"{first.type}): the event is not signed with the key",
        truncate: f"error: event {before.position} (case {case_id}, version {before.version}, "
        f"{before.type}): case {case_id} ends at version {before.version}",
        delete_case: f"error: case {case_id}: case {case_id} was deleted",
        empty: "error: case 321000-20250926-N0001: stream '321000-20250926-N0001' is recorded "
        "at version",
        mark_delivered: f"{issued}licence-issued): outbox message '{licence_key}'",
        change_state: f"{issued}licence-issued): the state index (stream meta) of case {case_id}",
        change_message: f"{issued}licence-issued): outbox message '{licence_key}'",
    }
    for tamper, expected in tampers.items():
        restore(pristine, db)
        assert cli(config, "log", "verify").returncode == 0
        tamper(db)
        checked = cli(config, "log", "verify")
        assert checked.returncode == 1, (tamper.__name__, checked.stdout)
        # Other lines may be warnings logged at start-up (the calendar's edge, say).
        errors = [line for line in checked.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (tamper.__name__, checked.stderr)
        assert errors[0].startswith(expected), (tamper.__name__, checked.stderr)
