"""The service over its store: each city's messages to its own ports, one bad case does not
stop the tick, dead letters, a store that stays locked, and the anchored log from the CLI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import pytest

from creditcommit import (
    Approvals,
    CaseState,
    Catalog,
    CreditEvidence,
    ManualClock,
    Policy,
    StoreUnavailable,
    hookimpl,
)
from creditcommit.builtin import HmacSignatureProvider, sqlite_store
from creditcommit.builtin.sqlite_store import LOG_KEY_ENV
from creditcommit.cli import main
from creditcommit.materials import LicenceHolding
from creditcommit.ports import IssuedLicence, OutboxMessage
from test_service import (
    FORM,
    GAOYOU,
    HOTEL,
    START,
    accepted_with_deferred_materials,
    at,
    prepare,
    sign,
)

NANJING = "320100"
# Jiangdu's filing, issued on the spot: it leaves the catalogue in one test.
LEAVING = "321012-TZXMBA"


class Recorder:
    """A channel, registry and licence store in one: keeps what reaches it, by key."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.keys: list[str] = []
        self.licences: list[IssuedLicence] = []

    def publish(self, message: OutboxMessage) -> None:
        self.keys.append(message.key)

    def push(self, message: OutboxMessage) -> None:
        self.keys.append(message.key)

    def holdings(self, subject: str, *, city: str, on: dt.date) -> Sequence[LicenceHolding]:
        return [
            LicenceHolding(kind, f"{kind}:{subject}")
            for kind in ("business-licence", "resident-identity-card")
        ]

    def record(self, licence: IssuedLicence, *, city: str) -> None:
        self.licences.append(licence)

    def withdraw(self, reference: str, *, city: str, holder: str, on: dt.date, reason: str) -> None:
        pass


class GradeB:
    name = "nanjing-credit"

    def lookup(self, subject: str, *, city: str, at: dt.datetime) -> CreditEvidence:
        return CreditEvidence.create(
            subject=subject, source=self.name, retrieved_at=at, scale="yangzhou-a-e", grade="B"
        )


class Nanjing:
    """A plugin serving Nanjing: its channel has the same name as Yangzhou's ("jsonl")."""

    def __init__(self) -> None:
        self.channel = Recorder("jsonl")
        self.registry = Recorder("nanjing-registry")
        self.licences = Recorder("nanjing-licences")

    @hookimpl
    def creditcommit_credit_source(self, city: str) -> object:
        return GradeB() if city == NANJING else None

    @hookimpl
    def creditcommit_licence_store(self, city: str) -> object:
        return self.licences if city == NANJING else None

    @hookimpl
    def creditcommit_credit_registry(self, city: str) -> object:
        return self.registry if city == NANJING else None

    @hookimpl
    def creditcommit_publishing_channels(self, city: str) -> object:
        return [self.channel] if city == NANJING else None

    @hookimpl
    def creditcommit_catalog(self, city: str) -> object:
        return Catalog.sample() if city == NANJING else None

    @hookimpl
    def creditcommit_policy(self, city: str) -> object:
        return Policy.sample() if city == NANJING else None

    @hookimpl
    def creditcommit_signature_provider(self, city: str) -> object:
        return HmacSignatureProvider("nanjing-test-key") if city == NANJING else None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def errors_only(err: str) -> str:
    """Standard error without the library's warnings (the calendar's edge is near on some
    days the tests run: every command then warns first)."""
    return "".join(
        line
        for line in err.splitlines(keepends=True)
        if not line.startswith(("警告：", "warning: "))
    )


def published(directory: Path, name: str = "publications.jsonl") -> list[str]:
    """Keys the built-in (Yangzhou) channel wrote to its JSON-lines file."""
    path = directory / name
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["key"] for line in lines]


def issue(
    service: Approvals,
    *,
    item: str = GAOYOU,
    city: str | None = None,
    provided: Sequence[str] = (FORM,),
) -> str:
    case = service.submit(item=item, applicant=HOTEL, provided=provided, city=city)
    case = service.accept(sign(service, case).case_id)
    assert case.state is CaseState.ISSUED
    return case.case_id


# --- 4b: each city's messages go to that city's ports --------------------------------------


def test_each_message_goes_to_the_ports_of_its_own_city(tmp_path: Path, clock: ManualClock) -> None:
    nanjing = Nanjing()
    config = prepare(tmp_path)
    with Approvals.from_config(
        config, clock=clock, autoload=False, plugins={"nanjing": nanjing}
    ) as service:
        ours = issue(service)
        theirs = issue(service, city=NANJING)
        assert theirs.startswith(f"{NANJING}-")
        report = service.deliver()
        assert report.failed == ()
        assert len(report.delivered) == 4
        assert [key for key in published(tmp_path) if theirs in key] == []
        assert [key.split("/")[0] for key in published(tmp_path)] == [ours]
        assert nanjing.channel.keys == [
            f"{theirs}/licence-decision/XK-{theirs}/jsonl",
        ]
        assert [licence.case_id for licence in nanjing.licences.licences] == [theirs]
        assert service.store.outbox(delivered=False) == ()


def test_deliver_can_take_one_city(tmp_path: Path, clock: ManualClock) -> None:
    nanjing = Nanjing()
    with Approvals.from_config(
        prepare(tmp_path), clock=clock, autoload=False, plugins={"nanjing": nanjing}
    ) as service:
        issue(service)
        theirs = issue(service, city=NANJING)
        report = service.deliver(city=NANJING)
        assert sorted(report.delivered) == sorted(
            m.message.key for m in service.store.outbox(city=NANJING)
        )
        assert all(theirs in key for key in report.delivered)
        assert published(tmp_path) == []


def test_a_city_nobody_serves_waits_and_the_others_are_delivered(
    tmp_path: Path, clock: ManualClock
) -> None:
    nanjing = Nanjing()
    config = prepare(tmp_path)
    with Approvals.from_config(
        config, clock=clock, autoload=False, plugins={"nanjing": nanjing}
    ) as service:
        theirs = issue(service, city=NANJING)
        ours = issue(service)
    # Opened again without the Nanjing plugin: Nanjing's messages cannot be routed.
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        report = service.deliver()
        assert report.error is not None
        assert report.error.startswith(f"city {NANJING}: PluginError")
        assert {key.split("/")[0] for key in report.delivered} == {ours}
        waiting = {m.message.key.split("/")[0] for m in service.store.outbox(delivered=False)}
        assert waiting == {theirs}
        assert service.store.outbox(dead=True) == ()


# --- 5: one bad case does not stop the city ------------------------------------------------


def two_item_catalogue(directory: Path, *, leaving: bool) -> None:
    """Gaoyou's permit (decided later), and, if ``leaving``, Jiangdu's filing before it."""
    text = (files("creditcommit") / "data" / "sample_catalog.toml").read_text(encoding="utf-8")
    head, marker, gaoyou = text.partition(f'code = "{GAOYOU}"')
    later = gaoyou.replace("on_the_spot = true", "on_the_spot = false", 1)
    if not leaving:  # the catalogue without its first item, Jiangdu's
        before, _, jiangdu = head.partition("[[items]]")
        head = before + jiangdu[jiangdu.index("[[items]]") :]
    (directory / "catalog.toml").write_text(head + marker + later, encoding="utf-8")


def test_one_bad_case_does_not_stop_the_tick(tmp_path: Path, clock: ManualClock) -> None:
    config = prepare(tmp_path, on_the_spot=False)
    two_item_catalogue(tmp_path, leaving=True)
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        gone = issue(
            service, item=LEAVING, provided=("TZXMBA-01", "TZXMBA-03")
        )  # its item leaves the catalogue below
        unreadable = accepted_with_deferred_materials(service).case_id
        fine = accepted_with_deferred_materials(service).case_id
        assert service.store.outbox(delivered=False) != ()
    two_item_catalogue(tmp_path, leaving=False)
    with contextlib.closing(sqlite3.connect(tmp_path / "cases.db")) as con, con:
        con.execute(
            "UPDATE events SET payload = '{\"unexpected\":1}' WHERE stream = ? AND version = 1",
            (unreadable,),
        )
        # What a read serves, the case's projection, is broken as well.
        con.execute(
            "UPDATE projections SET body = '{\"unexpected\":1}' WHERE stream = ?", (unreadable,)
        )
    clock.set(at(dt.date(2025, 10, 13)))
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        report = service.tick()
        assert report.suspended == (fine,)
        assert [case_id for case_id, _ in report.failed] == [gone, unreadable]
        reasons = dict(report.failed)
        assert reasons[gone].startswith("UnknownItem: ")
        assert LEAVING in reasons[gone]
        assert "\n" not in reasons[unreadable]
        assert len(reasons[unreadable]) <= 300
        # The outbox is still delivered (the issued licence's messages).
        assert report.delivery.failed == ()
        assert {key.split("/")[0] for key in report.delivery.delivered} == {gone}
        assert service.case(fine).state is CaseState.SUSPENDED


def test_the_cli_tick_lists_the_cases_it_could_not_handle(
    tmp_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = prepare(tmp_path, on_the_spot=False)
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        bad = accepted_with_deferred_materials(service).case_id
    with contextlib.closing(sqlite3.connect(tmp_path / "cases.db")) as con, con:
        con.execute("UPDATE events SET type = 'no-such-event' WHERE stream = ?", (bad,))
        # A command reads the case's projection, not its events: spoil that too.
        con.execute("UPDATE projections SET body = '{}' WHERE stream = ?", (bad,))
    assert main(["--config", str(config), "tick", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "cases failed 1, dead letters 0" in out
    assert f"  case failed: {bad}: " in out


# --- 5: dead letters ---------------------------------------------------------------------------


def test_dead_letters_in_tick_report_and_cli(
    tmp_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = prepare(tmp_path)
    # The built-in channel writes into a directory that does not exist: every publication
    # fails until it is made.
    with config.open("a", encoding="utf-8") as fh:
        fh.write('channel = "out/publications.jsonl"\n[delivery]\nmax_attempts = 2\n')
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        assert service.max_attempts == 2
        case_id = issue(service)
        key = f"{case_id}/licence-decision/XK-{case_id}/jsonl"
        first = service.tick()
        assert first.dead_letters == ()
        assert [f.key for f in first.delivery.failed] == [key]
        clock.advance(hours=2)
        second = service.tick()
        assert second.delivery.dead == (key,)
        assert second.dead_letters == (key,)
        clock.advance(days=30)
        third = service.tick()  # never retried by itself
        assert third.delivery.failed == ()
        assert third.dead_letters == (key,)
    args = ["--config", str(config)]
    assert main([*args, "outbox", "list", "--dead"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{key}  dead  321000  channel:jsonl  attempts 2  last error: ")
    assert out.endswith("1 undelivered message(s), 1 dead letter(s)\n")
    assert main([*args, "tick", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "dead letters 1" in out
    assert f"  dead letter: {key} (retry with: creditcommit outbox retry {key})" in out
    assert main([*args, "report", "--from", "2025-01-01", "--to", "2025-12-31"]) == 0
    assert "发件箱死信: 1" in capsys.readouterr().out
    # Fixed, and retried by hand: it goes out.
    (tmp_path / "out").mkdir()
    assert main([*args, "outbox", "retry", key]) == 0
    assert capsys.readouterr().out == f"{key}: due again now\n"
    assert main([*args, "tick", "--lang", "en"]) == 0
    assert "dead letters 0" in capsys.readouterr().out
    assert published(tmp_path, "out/publications.jsonl") == [key]
    assert main([*args, "outbox", "retry", "no-such-key"]) == 1
    assert "the outbox has no message with key 'no-such-key'" in capsys.readouterr().err


# --- 6: a lock held too long -----------------------------------------------------------------


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "DEFAULT_TIMEOUT", 0.05)


@pytest.mark.usefixtures("short_timeout")
def test_a_lock_held_too_long_is_one_line_from_the_cli(
    tmp_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = prepare(tmp_path)
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        issue(service)
        with contextlib.closing(
            sqlite3.connect(tmp_path / "cases.db", isolation_level=None)
        ) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreUnavailable):
                service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
            for command in (["tick"], ["outbox", "retry", "k"]):
                assert main(["--config", str(config), *command]) == 1
                err = errors_only(capsys.readouterr().err)
                assert err.count("\n") == 1
                assert err.startswith("error: the event store ")
                assert "is unavailable (database is locked)" in err
            other.execute("ROLLBACK")


# --- 8: log verify from the CLI ----------------------------------------------------------------


def test_log_verify_without_a_key_says_what_it_cannot_detect(
    tmp_path: Path,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(LOG_KEY_ENV, raising=False)
    config = prepare(tmp_path)
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        issue(service)
    assert main(["--config", str(config), "log", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 7 events, hash chain intact, checkpoints match\nnote: no key is set")
    # An emptied events table is no longer "OK: 0 events".
    with contextlib.closing(sqlite3.connect(tmp_path / "cases.db")) as con, con:
        con.execute("DELETE FROM events")
    assert main(["--config", str(config), "log", "verify"]) == 1
    err = errors_only(capsys.readouterr().err)
    assert err.startswith("error: case 321000-20250926-N0001: ")


def test_log_verify_and_anchor_with_a_key(
    tmp_path: Path,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = prepare(tmp_path)
    args = ["--config", str(config), "log"]
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        case_id = issue(service)
    monkeypatch.setenv(LOG_KEY_ENV, "the operator's key")
    assert main([*args, "verify"]) == 1  # written without the key
    assert "not signed with the key" in capsys.readouterr().err
    assert main([*args, "anchor"]) == 0
    assert capsys.readouterr().out == "anchored: 7 events; the checkpoints now vouch for them\n"
    assert main([*args, "verify"]) == 0
    assert capsys.readouterr().out == "OK: 7 events, hash chain intact, checkpoints signed\n"
    with contextlib.closing(sqlite3.connect(tmp_path / "cases.db")) as con, con:
        con.execute(
            "UPDATE outbox SET delivered_at = '2025-09-26T10:00:00+08:00' "
            "WHERE topic = 'licence-issued'"
        )
    assert main([*args, "verify"]) == 1
    err = errors_only(capsys.readouterr().err)
    assert err.startswith(f"error: event 7 (case {case_id}, version 7, licence-issued): outbox ")
    assert "never recorded that delivery" in err
