"""Timing of the case pipeline on the SQLite store (a plain script, not a test).

Run it from the repository root::

    .venv/bin/python benchmarks/bench_pipeline.py            # 1k and 10k stored cases
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 1000 --profile pipeline

It measures:

* the pipeline (submit → sign → accept → issue) of new cases on a store already holding
  1k and 10k cases (per-case time: it should not grow with the store);
* one command (``pause_clock``/``resume_clock``) on a case with 20 and with 2,000 events;
* ``tick()`` when nothing is due, over every stored case (all supervised: issued on
  commitment, verified, deferred materials still owed and not yet due).

The stored cases are copies of one real case written straight to the store (with
``synchronous=OFF`` while filling, to spare the disk), as a file of an older version would
hold them; the service then builds what it needs from them (projections) the way it does
for an upgraded file, and that time is printed too.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import itertools
import json
import pstats
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from creditcommit import Approvals, ManualClock, Signer
from creditcommit._demo import GAOYOU, HOTEL_B, prepare
from creditcommit.builtin.sqlite_store import SQLiteEventStore
from creditcommit.case import CaseState, PauseReason
from creditcommit.config import Config
from creditcommit.ports import NewEvent, canonical_json
from creditcommit.service import CHINA_TIME
from creditcommit.supervision import VerificationOutcome

try:  # run as a section of benchmarks/run.py, or as a plain script
    from sections import Options, Section
except ImportError:  # pragma: no cover - imported as benchmarks.bench_pipeline
    from benchmarks.sections import Options, Section

START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)


def _service(directory: Path, clock: ManualClock) -> Approvals:
    return Approvals.from_config(Config.load(directory / "creditcommit.toml"), clock=clock)


def pipeline(service: Approvals, key: str) -> None:
    """submit → sign → accept → issue (accept issues at once on 先证后核)."""
    case = service.submit(item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key=key)
    case = service.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
    case = service.accept(case.case_id)
    if case.state is CaseState.ACCEPTED:
        service.issue(case.case_id)


def supervised_template(service: Approvals) -> str:
    """A case issued on commitment and verified kept, with deferred materials still owed."""
    case = service.submit(item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="tpl")
    service.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
    case = service.accept(case.case_id)
    if case.state is CaseState.ACCEPTED:
        case = service.issue(case.case_id)
    case = service.record_verification(
        case.case_id,
        inspectors=["检查员甲", "检查员乙"],
        findings="现场核查符合承诺",
        outcome=VerificationOutcome.FULFILLED,
    )
    assert case.state is CaseState.ISSUED, case.state
    assert case.outstanding, "deferred materials should still be owed"
    return case.case_id


def fill(path: Path, template: str, count: int) -> None:
    """Write ``count`` copies of case ``template`` under new ids straight to the store."""
    store = SQLiteEventStore(path)
    store._con.execute("PRAGMA synchronous = OFF")  # filling only: spare the disk
    events = store.read(template)
    info = next(i for i in store.streams(kind="case") if i.stream == template)
    for n in range(count):
        new_id = f"{template[:-6]}-F{n:06d}"
        records = [
            NewEvent(e.type, json.loads(canonical_json(e.payload).replace(template, new_id)))
            for e in events
        ]
        meta = {k: v.replace(template, new_id) for k, v in info.meta.items()}
        store.append(new_id, records, expected_version=0, recorded_at=START, meta=meta)
    store.close()


def timed(label: str, action: Callable[[], object], repeat: int = 1) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        action()
    spent = (time.perf_counter() - began) / repeat
    print(f"{label:<58} {spent * 1000:9.2f} ms")
    return spent


def long_case(service: Approvals, clock: ManualClock, events: int, key: str) -> str:
    """An accepted case whose clock was paused and resumed until it has ``events`` events."""
    every = [f"GGCSWSXK-0{n}" for n in range(1, 8)]
    case = service.submit(
        item=GAOYOU, applicant=HOTEL_B, provided=every, choose_standard=True, key=key
    )
    case = service.accept(case.case_id)
    assert case.state is CaseState.ACCEPTED, case.state
    while case.version + 2 <= events:
        case = service.pause_clock(case.case_id, PauseReason.EXPERT_REVIEW)
        case = service.resume_clock(case.case_id)
    return case.case_id


def run(size: int, profile: str | None, keep: Path | None = None) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp:
        directory = Path(tmp) if keep is None else keep / str(size)
        clock = ManualClock(START)
        if not (directory / "cases.db").exists():
            prepare(directory)
            with _service(directory, clock) as service:
                template = supervised_template(service)
            began = time.perf_counter()
            fill(directory / "cases.db", template, size)
            print(f"[{size}] filled {size} cases in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        with _service(directory, clock) as service:
            rebuild = getattr(service, "rebuild_projections", None)
            if rebuild is not None:
                rebuild()
        print(f"[{size}] opened (projections built) in {time.perf_counter() - began:.2f} s")
        with _service(directory, clock) as service:
            report = service.tick(clock())
            print(
                f"[{size}] tick report: {len(report.failed)} failed, "
                f"{len(report.verifications_due)} verifications due, "
                f"{len(report.supervised)} moved"
            )
            results["tick"] = timed(
                f"[{size}] tick() with nothing due over {size} supervised cases",
                lambda: service.tick(clock()),
                3,
            )
            if profile == "tick":
                cProfile.runctx(
                    "service.tick(clock())", globals(), locals(), str(directory / "tick.prof")
                )
                pstats.Stats(str(directory / "tick.prof")).sort_stats("cumulative").print_stats(18)
            counter = iter(range(10**9))
            run_id = time.time_ns()

            def one() -> None:
                pipeline(service, f"bench-{size}-{run_id}-{next(counter)}")

            one()  # warm up
            results["pipeline"] = timed(f"[{size}] pipeline per case (20 cases)", one, 20)
            if profile == "pipeline":
                cProfile.runctx("one()", globals(), locals(), str(directory / "pipeline.prof"))
                pstats.Stats(str(directory / "pipeline.prof")).sort_stats("cumulative").print_stats(
                    25
                )
            for events in (20, 2000):
                case_id = long_case(service, clock, events, f"long-{size}-{run_id}-{events}")
                flip = iter(range(10**9))

                def command(case_id: str = case_id, flip: Iterator[int] = flip) -> None:
                    if next(flip) % 2 == 0:
                        service.pause_clock(case_id, PauseReason.EXPERT_REVIEW)
                    else:
                        service.resume_clock(case_id)

                command()
                command()
                results[f"command{events}"] = timed(
                    f"[{size}] one command on a case with {events} events", command, 10
                )
                if profile == "command" and events == 2000:
                    cProfile.runctx(
                        "command()", globals(), locals(), str(directory / "command.prof")
                    )
                    pstats.Stats(str(directory / "command.prof")).sort_stats(
                        "cumulative"
                    ).print_stats(25)
    return results


# --- the make bench section ---------------------------------------------------------------

# The stores the section runs on: name -> a function that makes ``directory`` use that store
# (rewriting its creditcommit.toml) and returns a fill function, or None when the store is
# not available here. HOOK for the PostgreSQL store (the `pg` helper): add
# ``"postgres": _postgres`` that returns None unless CREDITCOMMIT_BENCH_POSTGRES_DSN (or
# CREDITCOMMIT_TEST_POSTGRES_DSN) is reachable, points the toml's ``store`` at a fresh schema
# and returns a fill(path_or_url, template, count) for that store.
Fill = Callable[[Path, str, int], None]


def _sqlite(directory: Path) -> Fill | None:
    return lambda _directory, template, count: fill(directory / "cases.db", template, count)


STORES: dict[str, Callable[[Path], Fill | None]] = {"sqlite": _sqlite}


def _reference(
    directory: Path, rows: list[list[tuple[str, str]]], cases: int, group: int | None = None
) -> float:
    """A plain SQLite insert loop of the same rows (WAL, synchronous=FULL, as the store):
    one transaction per command when ``group`` is None, else one per ``group`` cases."""
    con = sqlite3.connect(directory / f"plain-{group}.db", isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute(
        "CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, type TEXT, "
        "payload TEXT, UNIQUE (stream, position))"
    )
    insert = "INSERT INTO events (stream, type, payload) VALUES (?, ?, ?)"
    began = time.perf_counter()
    if group is None:
        for n in range(cases):
            for command in rows:
                con.execute("BEGIN IMMEDIATE")
                con.executemany(insert, [(f"c{n}", type_, payload) for type_, payload in command])
                con.execute("COMMIT")
    else:
        for first in range(0, cases, group):
            con.execute("BEGIN IMMEDIATE")
            for n in range(first, min(cases, first + group)):
                for command in rows:
                    con.executemany(
                        insert, [(f"c{n}", type_, payload) for type_, payload in command]
                    )
            con.execute("COMMIT")
    spent = (time.perf_counter() - began) / cases
    con.close()
    return spent


def _command_rows(service: Approvals, key: str) -> list[list[tuple[str, str]]]:
    """The event rows each command of one pipeline appends (for the reference)."""
    pipeline(service, key)
    case_id = service.store.stream_for_key(key)
    assert case_id is not None
    events = service.history(case_id)
    cut = [e.version for e in events]
    rows = [(e.type, canonical_json(e.payload)) for e in events]
    # submit writes the first events up to route-decided; each later command one or two.
    firsts = [i for i, e in enumerate(events) if e.type in ("commitment-signed-ref", "accepted")]
    firsts += [i for i, e in enumerate(events) if e.type == "licence-issued"][:1]
    bounds = [0, *sorted(set(firsts)), len(cut)]
    return [rows[a:b] for a, b in itertools.pairwise(bounds) if b > a]


#: Cases per transaction in the grouped-commit figure (a batch import).
GROUP = 100


def section(opts: Options) -> Section:  # noqa: PLR0915 - one section
    """The case pipeline at 1k/10k/100k stored cases, with (a) one durable commit per
    command and (b) grouped commits (a batch import, ``GROUP`` cases per transaction); one
    command at 20 vs 2,000 events, and tick() with nothing due, on SQLite (and on PostgreSQL
    when its hook is filled in)."""
    sizes = [1_000, 2_000] if opts.quick else [1_000, 10_000, 100_000]
    per = 20 if opts.quick else 200
    group = 10 if opts.quick else GROUP
    grouped_cases = 2 * group if opts.quick else 5 * group
    out = Section(
        "Case pipeline and store",
        intro=[
            f"submit → sign → accept → issue of new cases (best of {opts.repeat}) on a store "
            f"already holding {', '.join(f'{n:,}' for n in sizes)} supervised cases (copies "
            "of one real case written straight to the store, then their projections built as "
            "for an upgraded file), two ways:",
            f"(a) **one durable commit per command** ({per} cases): each command is its own "
            "transaction, synchronous=FULL — the promise of docs/store.md, what an officer's "
            "click gets (four commits, three of them fsync'd waits, per case);",
            f"(b) **grouped commits** ({grouped_cases} cases, {group} per transaction): the "
            "same commands run inside `Approvals.batch()`, as `creditcommit import` does for "
            "a batch import of applications — one commit per batch. The ≥ 1,000 cases/s "
            "target is set on (b); (a) is reported beside it.",
            "Reference for each: a plain SQLite loop inserting the same event rows with the "
            "same commits (one WAL transaction per command, or per batch of cases), "
            "synchronous=FULL.",
            "One command (pause/resume the clock) on a case with 20 and with 2,000 events; "
            "tick() with nothing due over every stored case.",
        ],
    )
    for name, make in STORES.items():
        pipeline_at: dict[int, float] = {}
        grouped_at: dict[int, float] = {}
        with tempfile.TemporaryDirectory(prefix="cc-bench-") as tmp:
            root = Path(tmp)
            for size in sizes:
                directory = root / str(size)
                directory.mkdir()
                prepare(directory)
                filler = make(directory)
                if filler is None:
                    out.notes.append(f"{name}: not available here, not measured")
                    break
                clock = ManualClock(START)
                with _service(directory, clock) as service:
                    template = supervised_template(service)
                filler(directory, template, size)
                with _service(directory, clock) as service:
                    assert service.tick(clock()).failed == ()
                    counter = iter(range(10**9))

                    def batch(
                        service: Approvals = service,
                        size: int = size,
                        counter: Iterator[int] = counter,
                    ) -> None:
                        for _ in range(per):
                            pipeline(service, f"b-{size}-{next(counter)}")

                    numbers = iter(range(10**9))

                    def grouped(
                        service: Approvals = service,
                        size: int = size,
                        counter: Iterator[int] = numbers,
                    ) -> None:
                        for _ in range(grouped_cases // group):
                            with service.batch():
                                for _ in range(group):
                                    pipeline(service, f"g-{size}-{next(counter)}")

                    spent = min(_timed(batch) for _ in range(max(1, opts.repeat))) / per
                    pipeline_at[size] = spent
                    together = (
                        min(_timed(grouped) for _ in range(max(1, opts.repeat))) / grouped_cases
                    )
                    grouped_at[size] = together
                    rows = _command_rows(service, f"rows-{size}")
                    _same_rows(service, rows, f"g-{size}-0")
                    reference = _reference(directory, rows, per)
                    reference_grouped = _reference(directory, rows, grouped_cases, group)
                    out.row(
                        f"{name}: (a) pipeline, commit per command, {size:,} cases stored",
                        f"{1 / spent:,.0f} cases/s",
                        f"{spent / reference:.1f}× the plain insert loop ({1 / reference:,.0f}/s)",
                    )
                    out.row(
                        f"{name}: (b) pipeline, {group} cases per commit, {size:,} cases stored",
                        f"{1 / together:,.0f} cases/s",
                        f"{together / reference_grouped:.1f}× the plain insert loop "
                        f"({1 / reference_grouped:,.0f}/s)",
                    )
                    if size == sizes[0]:
                        _commands(out, name, service, clock, opts)
                    if size == sizes[-1]:
                        tick = min(_timed(lambda s=service, c=clock: s.tick(c())) for _ in range(3))
                        out.row(
                            f"{name}: tick() with nothing due, {size:,} cases",
                            f"{tick * 1000:,.1f} ms",
                            "",
                        )
                        if not opts.quick:
                            out.target(
                                f"tick() with nothing due over 100k cases ({name})",
                                "≤ 1 s",
                                f"{tick:.3f} s",
                                tick <= 1.0,
                                "" if tick <= 1.0 else "tick reads more than the due index",
                            )
        if len(pipeline_at) == len(sizes):
            small, large = grouped_at[sizes[0]], grouped_at[sizes[-1]]
            ratio = large / small
            out.row(
                f"{name}: per-case cost {sizes[-1]:,} vs {sizes[0]:,} (grouped commits)",
                f"{ratio:.2f}×",
                f"commit per command: {pipeline_at[sizes[-1]] / pipeline_at[sizes[0]]:.2f}×",
            )
            rate_ = 1 / min(grouped_at.values())
            durable = 1 / min(pipeline_at.values())
            if not opts.quick:
                out.target(
                    f"case pipeline on {name}, (b) grouped commits ({group} cases per commit)",
                    "≥ 1,000 cases/s",
                    f"{rate_:,.0f} cases/s ((a) commit per command: {durable:,.0f} cases/s)",
                    rate_ >= 1000,
                    ""
                    if rate_ >= 1000
                    else "the CPU of each case (credit check and decision, letter rendering "
                    "and signing, publication masking, JSON of events and projections) is "
                    f"{1000 / rate_:.1f} ms; (a) adds three fsync'd commits per case",
                )
                out.target(
                    f"per-case cost at 100k vs 1k stored ({name})",
                    "≤ 1.5×",
                    f"{ratio:.2f}×",
                    ratio <= 1.5,
                    "" if ratio <= 1.5 else "a query grows with the store",
                )
    out.notes.append(
        "(a) is bounded by the disk: every command waits for its fsync (synchronous=FULL). "
        "(b) is bounded by the CPU of the commands themselves; a batch is all or nothing."
    )
    return out


def _same_rows(service: Approvals, rows: list[list[tuple[str, str]]], key: str) -> None:
    """A case of the grouped run stored the same kinds of rows as the reference inserts."""
    case_id = service.store.stream_for_key(key)
    assert case_id is not None, key
    types = [e.type for e in service.history(case_id)]
    assert types == [type_ for command in rows for type_, _ in command], types


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def _commands(
    out: Section, name: str, service: Approvals, clock: ManualClock, opts: Options
) -> None:
    spent: dict[int, float] = {}
    for events in (20, 2000):
        case_id = long_case(service, clock, events, f"long-{name}-{events}")
        flip = iter(range(10**9))

        def command(case_id: str = case_id, flip: Iterator[int] = flip) -> None:
            for _ in range(10):
                if next(flip) % 2 == 0:
                    service.pause_clock(case_id, PauseReason.EXPERT_REVIEW)
                else:
                    service.resume_clock(case_id)

        spent[events] = min(_timed(command) for _ in range(max(1, opts.repeat))) / 10
    ratio = spent[2000] / spent[20]
    out.row(
        f"{name}: one command, case of 2,000 events",
        f"{spent[2000] * 1000:.2f} ms",
        f"{ratio:.2f}× the case of 20 events ({spent[20] * 1000:.2f} ms)",
    )
    if not opts.quick:
        out.target(
            f"one command at 2,000 events vs 20 ({name})",
            "≤ 2×",
            f"{ratio:.2f}×",
            ratio <= 2,
            "" if ratio <= 2 else "a command reads the whole history",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--profile", choices=["pipeline", "tick", "command"], default=None)
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the stores here (and reuse them)"
    )
    args = parser.parse_args(argv)
    found = {size: run(size, args.profile, args.keep) for size in args.sizes}
    if len(found) >= 2:
        small, large = min(found), max(found)
        ratio = found[large]["pipeline"] / found[small]["pipeline"]
        print(f"pipeline per case {large} vs {small}: {ratio:.2f}×")
    for size, figures in found.items():
        ratio = figures["command2000"] / figures["command20"]
        print(f"[{size}] command on 2,000 events vs 20: {ratio:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
