"""Crash tests: a process dies mid-way, the next one delivers every message's effect once.

A child process writes events and outbox messages to a SQLite store and dies with
``os._exit(1)`` (no clean-up, no ``finally``) at a chosen point, or is killed with
``SIGKILL`` while appending. The parent reopens the store and runs :func:`deliver_all` with
ports that keep their receipts in files and honour idempotency keys, then counts effects
per key.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from creditcommit.builtin.sqlite_store import DEFAULT_LEASE, SQLiteEventStore
from creditcommit.delivery import Destinations, deliver_all
from creditcommit.ports import NewEvent, OutboxMessage
from creditcommit.testing.store_contract import AT, keys, message

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
