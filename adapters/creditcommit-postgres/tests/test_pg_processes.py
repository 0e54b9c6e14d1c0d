"""Several processes on one PostgreSQL store: the acceptance figures of the adapter.

* two processes appending to one case at once: one wins, the other gets
  :class:`~creditcommit.ConcurrencyError` and nothing of its is written;
* four delivery workers over one outbox deliver each message exactly once (counted in an
  ``effects`` table their channel writes, which keeps duplicates);
* many processes submitting through :class:`~creditcommit.Approvals` (the store named by a
  ``postgresql://`` URL in ``creditcommit.toml``) on one day get distinct case numbers.

The children are started with ``spawn``; their code is in ``pg_workers``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from creditcommit.ports import NewEvent, OutboxMessage
from creditcommit.testing.store_contract import AT, events
from creditcommit_postgres import PostgresEventStore
from pg_support import dsn, scratch_schema, with_query
from pg_workers import CITY, PATIENCE, append_at_barrier, deliver_worker, prepare, submitter

CONTEXT = multiprocessing.get_context("spawn")


@pytest.fixture
def url() -> Iterator[str]:
    with scratch_schema() as schema:
        yield with_query(dsn(), schema=schema)


def run(target: Callable[..., None], argsets: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, barrier, results)`` in one spawned process per argument set,
    all released together at a barrier; the one report each puts, in arrival order."""
    barrier = CONTEXT.Barrier(len(argsets))
    results = CONTEXT.Queue()
    children = [CONTEXT.Process(target=target, args=(*args, barrier, results)) for args in argsets]
    for child in children:
        child.start()
    try:
        reports = [results.get(timeout=PATIENCE * 5) for _ in children]
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
                child.join()
        results.close()
        results.join_thread()
    assert [child.exitcode for child in children] == [0] * len(children)
    return reports


# --- two writers on one case -----------------------------------------------------------------


def test_two_processes_append_to_one_case_one_wins(url: str) -> None:
    rounds = 10
    with PostgresEventStore.from_url(url) as store:
        for round_ in range(rounds):
            store.append(f"case-{round_}", events("Submitted"), expected_version=0, recorded_at=AT)
    reports = [
        outcome
        for outcomes in run(append_at_barrier, [(url, "a", rounds), (url, "b", rounds)])
        for outcome in outcomes
    ]
    assert all(round_ >= 0 for _, round_, _ in reports), reports
    by_round: dict[int, dict[str, str]] = {}
    for name, round_, outcome in reports:
        by_round.setdefault(round_, {})[name] = outcome
    with PostgresEventStore.from_url(url) as store:
        for round_, outcomes in sorted(by_round.items()):
            won = [name for name, outcome in outcomes.items() if outcome == "won"]
            lost = [outcome for outcome in outcomes.values() if outcome != "won"]
            assert len(won) == 1, outcomes
            assert lost == [
                f"ConcurrencyError: stream 'case-{round_}' is at version 2, not 1: another "
                "writer appended first; re-read it and retry"
            ]
            stored = store.read(f"case-{round_}")
            assert [e.payload.get("by") for e in stored] == [None, won[0]]
            outbox = [m.message.key for m in store.outbox()]
            assert [key for key in outbox if key.startswith(f"case-{round_}/")] == [
                f"case-{round_}/{won[0]}"
            ]
        assert len(by_round) == rounds
        assert store.verify().ok


# --- delivery workers ------------------------------------------------------------------------


def fill_outbox(url: str, total: int, per_append: int = 100) -> None:
    with PostgresEventStore.from_url(url) as store:
        for n in range(0, total, per_append):
            store.append(
                f"case-{n}",
                [NewEvent("Decided", {"n": n})],
                expected_version=0,
                recorded_at=AT,
                outbox=[
                    OutboxMessage(
                        key=f"m-{k:05d}",
                        destination="channel:site",
                        topic="decision",
                        city=CITY,
                        payload={"k": k},
                        created_at=AT,
                    )
                    for k in range(n, min(n + per_append, total))
                ],
            )
        with psycopg.connect(dsn(), options=f"-c search_path={store.schema}") as conn:
            conn.execute("CREATE TABLE effects (key text NOT NULL, worker integer NOT NULL)")


def deliver_from_processes(url: str, total: int, workers: int) -> None:
    fill_outbox(url, total)
    reports = run(deliver_worker, [(url, worker) for worker in range(workers)])
    errors = [error for _, _, failed in reports for error in failed]
    assert errors == []
    delivered = {worker: count for worker, count, _ in reports}
    assert sum(delivered.values()) == total, delivered
    assert sum(1 for count in delivered.values() if count > 0) >= 2, delivered  # in parallel
    with PostgresEventStore.from_url(url) as store:
        with psycopg.connect(dsn(), options=f"-c search_path={store.schema}") as conn:
            twice = conn.execute(
                "SELECT key, count(*) FROM effects GROUP BY key HAVING count(*) > 1"
            ).fetchall()
            counted = conn.execute("SELECT count(*), count(DISTINCT key) FROM effects").fetchone()
        assert twice == []
        assert counted == (total, total)
        assert store.outbox(delivered=False) == ()
        assert len(store.outbox(delivered=True)) == total
        assert store.verify().ok


def test_four_workers_deliver_a_thousand_messages_exactly_once(url: str) -> None:
    deliver_from_processes(url, total=1_000, workers=4)


@pytest.mark.slow
def test_four_workers_deliver_ten_thousand_messages_exactly_once(url: str) -> None:
    deliver_from_processes(url, total=10_000, workers=4)


# --- submitters through Approvals ----------------------------------------------------------


def submit_from_processes(tmp_path: Path, url: str, processes: int, each: int) -> None:
    config = prepare(tmp_path, url)
    reports = run(submitter, [(str(config), each) for _ in range(processes)])
    made = [case_id for ids, _ in reports for case_id in ids]
    errors = [error for _, errors in reports for error in errors]
    assert errors == []
    total = processes * each
    assert len(made) == len(set(made)) == total
    assert sorted(made) == [f"{CITY}-20250926-N{n:04d}" for n in range(1, total + 1)]
    with PostgresEventStore.from_url(url) as store:
        assert len(store.streams(kind="case")) == total
        assert store.verify().ok


def test_four_processes_submit_ten_each_on_one_day(tmp_path: Path, url: str) -> None:
    submit_from_processes(tmp_path, url, processes=4, each=10)


@pytest.mark.slow
def test_sixteen_processes_submit_a_hundred_each_on_one_day(tmp_path: Path, url: str) -> None:
    submit_from_processes(tmp_path, url, processes=16, each=100)
