"""The case pipeline on the PostgreSQL store, at 1 k, 10 k and 100 k cases already stored.

A ``make bench`` section (``benchmarks/run.py --only pipeline-postgres``). It measures, on
one store that grows from 1 k to 10 k to 100 k stored cases:

* the pipeline (submit → sign → accept → issue, through :class:`~creditcommit.Approvals`)
  of new cases, in cases per second and milliseconds per case; the per-case cost at 100 k
  against the cost at 1 k is the figure issue 11 asks to stay flat (within 1.5×);
* ``tick()`` when nothing is due over every stored case (all supervised), against the 1 s
  target at 100 k;
* and, as the reference in the same run, the same pipeline on the built-in SQLite store
  holding 1 k cases.

The stored cases are copies of one real supervised case (issued on commitment, verified,
deferred materials owed and not yet due), with their projections, written with ``COPY``
(:func:`copy_fill`): row for row what appending them through the store writes (:func:`fill`,
which the SQLite reference uses; a test compares the two), chained digests, MACs and
checkpoints included, so ``verify`` passes on the filled store; then ``VACUUM (ANALYZE)``
and ``CHECKPOINT`` (:func:`_settle`), so the store is measured as a live database of that
size would be, not while autovacuum and a checkpoint work through the rows just copied
(measured: 1.7× the per-case cost at 1 k right after a 100 k fill with ``ANALYZE`` only,
1.0–1.3× once settled).
Every new case must end issued on both stores and every tick must move nothing: otherwise
the section fails.

The server is ``CREDITCOMMIT_BENCH_POSTGRES_DSN`` (default: the test server,
``postgresql://postgres@127.0.0.1:5432/test``); the section works in the schema
``creditcommit_bench`` (and ``creditcommit_bench_ref``, the store that stays at the
smallest size, whose runs take turns with the growing store's so that the ratio of the two
does not depend on the load the machine had at the time), which it drops before and after.
Without a reachable server it says so and measures nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from creditcommit_postgres import PostgresEventStore
from psycopg import sql
from sections import Options, Section, best, rate

from creditcommit import Approvals, Case, ManualClock, Signer
from creditcommit._demo import GAOYOU, HOTEL_B, prepare
from creditcommit.builtin.sqlite_store import LOG_KEY_ENV, SQLiteEventStore, _mac
from creditcommit.case import CaseState
from creditcommit.config import Config
from creditcommit.ports import (
    GENESIS_DIGEST,
    NewEvent,
    Projection,
    ProjectionStore,
    canonical_json,
)
from creditcommit.service import CHINA_TIME
from creditcommit.supervision import VerificationOutcome

DSN_ENV = "CREDITCOMMIT_BENCH_POSTGRES_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "creditcommit_bench"
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)
#: Appends per transaction while filling the store.
BATCH = 500


def _with_query(url: str, **params: str) -> str:
    split = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(split.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(
        split._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
    )


def _reachable(dsn: str) -> str | None:
    """``None`` if the server answers, else why not."""
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


def _drop(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _settle(dsn: str, schema: str) -> None:
    """Leave the filled ``schema`` as a live database of that size would be: its tables
    vacuumed and their statistics current (``VACUUM (ANALYZE)``, as autovacuum does), and
    the fill's pages written out (``CHECKPOINT``, when the role may; it is skipped
    otherwise). Without this the timed runs would share the server with autovacuum's pass
    over the rows just copied and with a checkpoint writing them, and the plans made for
    the empty tables would read every case (see the README)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                sql.SQL("VACUUM (ANALYZE) {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")


def _city(directory: Path, store_url: str) -> Path:
    """The demo city (``creditcommit demo``'s) with its store at ``store_url``."""
    config = prepare(directory)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('store = "sqlite:cases.db"', f'store = "{store_url}"'), "utf-8")
    return config


def _service(config: Path, clock: ManualClock) -> Approvals:
    return Approvals.from_config(Config.load(config), clock=clock)


def pipeline(service: Approvals, key: str) -> Case:
    """submit → sign → accept → issue (accept issues at once on 先证后核); the case."""
    case = service.submit(item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key=key)
    case = service.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
    case = service.accept(case.case_id)
    if case.state is CaseState.ACCEPTED:
        case = service.issue(case.case_id)
    return case


def verified(service: Approvals, case_id: str) -> None:
    """Record the on-site verification a case issued on commitment owes: no longer due."""
    service.record_verification(
        case_id,
        inspectors=["检查员甲", "检查员乙"],
        findings="现场核查符合承诺",
        outcome=VerificationOutcome.FULFILLED,
    )


def supervised_template(service: Approvals) -> str:
    """A case issued on commitment and verified kept, with deferred materials still owed."""
    case = service.submit(item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="tpl")
    service.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
    case = service.accept(case.case_id)
    if case.state is CaseState.ACCEPTED:
        case = service.issue(case.case_id)
    verified(service, case.case_id)
    case = service.case(case.case_id)
    if case.state is not CaseState.ISSUED or not case.outstanding:
        raise AssertionError(f"the template case should be issued and owe materials: {case}")
    return case.case_id


def fill(store: ProjectionStore, template: str, first: int, count: int) -> None:
    """Append copies ``first .. first + count - 1`` of case ``template`` (events, meta and
    projection, the case id replaced), ``BATCH`` per transaction when the store groups."""
    events = store.read(template)
    info = next(i for i in store.streams(kind="case") if i.stream == template)
    projected = store.projection(template)
    if projected is None:
        raise AssertionError(f"the template case {template} has no projection")
    body = canonical_json(projected.body)
    group = getattr(store, "transaction", None)
    for start in range(first, first + count, BATCH):
        with group() if group is not None else contextlib.nullcontext():
            for n in range(start, min(start + BATCH, first + count)):
                new_id = f"{template[:-6]}-F{n:06d}"
                store.append(
                    new_id,
                    [
                        NewEvent(
                            e.type, json.loads(canonical_json(e.payload).replace(template, new_id))
                        )
                        for e in events
                    ],
                    expected_version=0,
                    recorded_at=START,
                    meta={k: v.replace(template, new_id) for k, v in info.meta.items()},
                    projection=Projection(
                        version=projected.version,
                        body=json.loads(body.replace(template, new_id)),
                        due=projected.due,
                    ),
                )


def _json_text(value: str) -> str:
    """A text as canonical JSON writes it (non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False)


def copy_fill(
    dsn: str,
    schema: str,
    template: str,
    first: int,
    count: int,
    *,
    key: str | bytes | None = None,
) -> None:
    """What :func:`fill` writes, row for row, written with ``COPY`` in one transaction.

    Copies ``first .. first + count - 1`` of case ``template``: its events (the case id
    replaced in their payloads), meta and projection, chained after the log's head with the
    digests, MACs (under ``key``, by default ``CREDITCOMMIT_LOG_KEY`` as the store reads it)
    and checkpoints an append would write, so ``verify`` passes on the filled store and the
    tables hold what ``fill`` would have left (the test compares them). The chain makes the
    digests sequential, so they are computed here, one SHA-256 per event, and streamed to the
    server; the server-side work is the ``COPY``. The chain head is locked meanwhile, and
    the transaction commits without waiting for the disk (``synchronous_commit=off``, the
    filling connection only).
    """
    if key is None:
        key = os.environ.get(LOG_KEY_ENV) or None
    secret = key.encode("utf-8") if isinstance(key, str) else key
    options = f"-c search_path={schema} -c synchronous_commit=off"
    with psycopg.connect(dsn, options=options) as conn:  # one transaction, committed at exit
        found = conn.execute("SELECT position, digest FROM log_head WHERE id = 1 FOR UPDATE")
        position, previous = found.fetchone() or (0, GENESIS_DIGEST)
        events = conn.execute(
            "SELECT type, payload FROM events WHERE stream = %s ORDER BY version", (template,)
        ).fetchall()
        meta = conn.execute(
            "SELECT name, value FROM stream_meta WHERE stream = %s ORDER BY name", (template,)
        ).fetchall()
        projected = conn.execute(
            "SELECT version, body, due FROM projections WHERE stream = %s", (template,)
        ).fetchone()
        log_row = conn.execute(
            "SELECT body FROM checkpoints WHERE kind = 'log' AND scope = ''"
        ).fetchone()
        if not events or projected is None or log_row is None:
            raise AssertionError(f"the template case {template} has no events or projection")
        log = json.loads(log_row[0])
        at = _json_text(START.isoformat())
        version = len(events)
        # Every text is copied with the case id replaced, as fill() does through JSON; a
        # canonical text stays canonical (checked once here, and by the test against fill).
        for text in [payload for _, payload in events] + [projected[1]]:
            changed = text.replace(template, f"{template[:-6]}-F000000")
            if canonical_json(json.loads(changed)) != changed:
                raise AssertionError("a copied text would not be canonical JSON")
        rows: dict[str, list[tuple[object, ...]]] = {
            "streams": [],
            "events": [],
            "stream_meta": [],
            "projections": [],
            "checkpoints": [],
        }
        for n in range(first, first + count):
            new_id = f"{template[:-6]}-F{n:06d}"
            stream = _json_text(new_id)
            for offset, (type_, payload) in enumerate(events, start=1):
                position += 1
                text = payload.replace(template, new_id)
                # canonical_json of the digested object, its keys in sorted order.
                content = (
                    f'{{"payload":{text},"position":{position},"recorded_at":{at},'
                    f'"stream":{stream},"type":{_json_text(type_)},"version":{offset}}}'
                )
                digest = hashlib.sha256((previous + content).encode("utf-8")).hexdigest()
                rows["events"].append(
                    (
                        new_id,
                        offset,
                        position,
                        type_,
                        text,
                        START.isoformat(),
                        previous,
                        digest,
                        _mac(secret, "event", digest),
                    )
                )
                previous = digest
            values = {name: value.replace(template, new_id) for name, value in meta}
            rows["stream_meta"].extend((new_id, name, value) for name, value in values.items())
            rows["streams"].append(
                (new_id, version, START.isoformat(), START.isoformat(), projected[0])
            )
            rows["projections"].append(
                (new_id, projected[0], projected[1].replace(template, new_id), projected[2])
            )
            body = canonical_json(
                {"head": previous, "keys": [], "meta": values, "version": version}
            )
            rows["checkpoints"].append(
                ("stream", new_id, body, _mac(secret, "checkpoint", "stream", new_id, body))
            )
            if len(rows["events"]) >= 50_000 or n == first + count - 1:
                _copy_rows(conn, rows)
        body = canonical_json(
            {
                "events": position,
                "head": previous,
                "outbox": log["outbox"],
                "streams": log["streams"] + count,
            }
        )
        conn.execute(
            "UPDATE checkpoints SET body = %s, mac = %s WHERE kind = 'log' AND scope = ''",
            (body, _mac(secret, "checkpoint", "log", "", body)),
        )
        conn.execute(
            "UPDATE log_head SET position = %s, digest = %s WHERE id = 1", (position, previous)
        )


#: The columns copy_fill writes, per table (in the order of its rows).
_COPY_COLUMNS = {
    "streams": "stream, version, created_at, updated_at, projected",
    "events": "stream, version, position, type, payload, recorded_at, previous_digest, digest, mac",
    "stream_meta": "stream, name, value",
    "projections": "stream, version, body, due",
    "checkpoints": "kind, scope, body, mac",
}


def _copy_rows(conn: psycopg.Connection[Any], rows: dict[str, list[tuple[object, ...]]]) -> None:
    """COPY the rows gathered so far into their tables (streams first) and forget them."""
    for table, columns in _COPY_COLUMNS.items():
        with conn.cursor() as cur:
            statement = f"COPY {table} ({columns}) FROM STDIN"
            with cur.copy(statement.encode()) as copy:
                for row in rows[table]:
                    copy.write_row(row)
        rows[table].clear()


def _pipelines(services: Sequence[Approvals], count: int, tag: str, repeat: int) -> list[float]:
    """Seconds per case of ``count`` pipelines on each of ``services``, best of ``repeat``
    runs, the runs taking turns between the services (so load that comes and goes on the
    machine falls on each alike); every case must end issued.

    Afterwards (not timed) each new case's verification is recorded, so that the next tick
    has nothing due.
    """
    made = [(service, pipeline(service, f"{tag}-warm")) for service in services]
    fastest = [float("inf")] * len(services)
    for run in range(max(1, repeat)):
        for i, service in enumerate(services):
            began = time.perf_counter()
            cases = [pipeline(service, f"{tag}-{run}-{n}") for n in range(count)]
            fastest[i] = min(fastest[i], time.perf_counter() - began)
            made.extend((service, case) for case in cases)
    wrong = [case.case_id for _, case in made if case.state is not CaseState.ISSUED]
    if wrong:
        raise AssertionError(f"{len(wrong)} of {len(made)} cases did not end issued: {wrong[:3]}")
    for service, case in made:
        verified(service, case.case_id)
    return [seconds / count for seconds in fastest]


def _tick(service: Approvals, clock: ManualClock, repeat: int) -> float:
    """Seconds of one tick with nothing due (best of ``repeat``); it must move nothing."""
    service.tick(clock())  # delivers what earlier pipelines left in the outbox
    seconds, report = best(lambda: service.tick(clock()), repeat)
    moved = (
        report.suspended
        + report.resumed
        + report.returned
        + report.supervised
        + tuple(c for c, _ in report.failed)
    )
    if moved or report.verifications_due:
        raise AssertionError(f"a tick with nothing due moved or listed cases: {report}")
    return seconds


def section(
    opts: Options,
    *,
    dsn: str | None = None,
    schema: str = SCHEMA,
    sizes: tuple[int, ...] | None = None,
    per_run: int | None = None,
) -> Section:
    """The pipeline and the tick on PostgreSQL at each size, SQLite at the smallest.

    ``sizes`` (stored cases, ascending) and ``per_run`` (pipelines per timed run) default
    to 1 k, 10 k, 100 k and 100, or 50, 200 and 5 with ``opts.quick``.
    """
    dsn = dsn or os.environ.get(DSN_ENV) or DEFAULT_DSN
    if sizes is None:
        sizes = (50, 200) if opts.quick else (1_000, 10_000, 100_000)
    if per_run is None:
        per_run = 5 if opts.quick else 100
    repeat = opts.repeat
    sec = Section(
        "Case pipeline on PostgreSQL",
        intro=[
            f"The pipeline (submit → sign → accept → issue through `Approvals`) of {per_run} new "
            f"cases (best of {repeat} runs) on one PostgreSQL store holding "
            + ", ".join(f"{n:,}" for n in sizes)
            + " cases (copies of one supervised case, with their projections); the reference is "
            f"the same pipeline on the built-in SQLite store holding {sizes[0]:,} cases, in the "
            "same run. After each fill the tables are vacuumed and analysed (`VACUUM "
            "(ANALYZE)`, as autovacuum keeps a live database) and a `CHECKPOINT` writes the "
            "copied pages out, so the timed runs do not share the server with the fill's "
            "aftermath. At each larger size the runs take turns with the same pipeline on a "
            f"second PostgreSQL store that stays at about {sizes[0]:,} cases, and the target "
            "compares the two (load that comes and goes on the machine falls on both alike). "
            "Every new case ends issued; every tick moves nothing. Server: "
            f"{_redacted(dsn)}, schemas `{schema}` and `{schema}_ref` (dropped afterwards).",
        ],
    )
    problem = _reachable(dsn)
    if problem is not None:
        sec.notes.append(f"Not run: no PostgreSQL server at {_redacted(dsn)} ({problem}).")
        print(f"pipeline-postgres: not run ({problem})", flush=True)
        return sec
    clock = ManualClock(START)
    ref_schema = f"{schema}_ref"
    for name in (schema, ref_schema):
        _drop(dsn, name)
    try:
        with tempfile.TemporaryDirectory(prefix="cc-bench-pg-") as tmp:
            reference = _sqlite_reference(Path(tmp) / "sqlite", sizes[0], per_run, repeat)
            # The store that grows, and one that stays at the smallest size: each size's
            # runs take turns with the small one's, and the ratio of the two is the figure.
            config, template = _pg_city(Path(tmp) / "pg", dsn, schema, clock)
            ref_config, ref_template = _pg_city(Path(tmp) / "pg-ref", dsn, ref_schema, clock)
            copy_fill(dsn, ref_schema, ref_template, 1, sizes[0] - 1)
            _settle(dsn, ref_schema)
            per_case: dict[int, float] = {}
            against: dict[int, float] = {}
            ticks: dict[int, float] = {}
            stored = 1
            for size in sizes:
                began = time.perf_counter()
                copy_fill(dsn, schema, template, stored, size - stored)
                if size == sizes[0]:  # the copies chain and verify as appended ones do
                    _verifies(_with_query(dsn, schema=schema))
                _settle(dsn, schema)  # as a live database of this size would be
                filled = time.perf_counter() - began
                print(f"[{size}] filled {size - stored} cases in {filled:.1f} s", flush=True)
                stored = size
                with _service(config, clock) as service, _service(ref_config, clock) as small:
                    ticks[size] = _tick(service, clock, repeat)
                    runs = [service] if size == sizes[0] else [service, small]
                    found = _pipelines(runs, per_run, f"pg-{size}", repeat)
                per_case[size], against[size] = found[0], found[-1]
                stored += (repeat + 1) * per_run + 1
                _rows(
                    sec,
                    size,
                    small=sizes[0],
                    per_case=per_case[size],
                    against=against[size],
                    reference=reference,
                    tick=ticks[size],
                )
    finally:
        for name in (schema, ref_schema):
            _drop(dsn, name)
    _targets(sec, sizes, per_case[sizes[-1]] / against[sizes[-1]], ticks[sizes[-1]], reference)
    small = sizes[0]
    pg_rate = rate(1, per_case[small])
    sec.notes.append(
        f"PostgreSQL runs the pipeline at {pg_rate:,.0f} cases/s against SQLite's "
        f"{rate(1, reference):,.0f} on this machine. A case is 12 round trips to the server "
        "(an append is two: the chain head locked and every read at once, then every write "
        "and the commit) and three commits, each flushed to disk (`synchronous_commit`); on "
        "one machine a round trip costs about 0.1 ms, so the flushes and the server's work "
        "are most of the difference. Appends are serialised on the chain head, so servers "
        "added do not add throughput. The stored cases are written with COPY, row for row "
        "what appending them writes (digests, MACs, checkpoints), and verified after the "
        "first fill."
    )
    return sec


def _targets(
    sec: Section, sizes: Sequence[int], ratio: float, tick: float, reference: float
) -> None:
    """The SQLite reference row and the two targets, at the largest size."""
    small, large = sizes[0], sizes[-1]
    sec.row(
        f"pipeline on SQLite (reference), {small:,} cases stored",
        f"{rate(1, reference):,.0f} cases/s ({reference * 1e3:.1f} ms)",
        "1.00×",
    )
    sec.target(
        f"PostgreSQL per-case cost at {large:,} stored within 1.5× of {small:,}",
        "≤ 1.5×",
        f"{ratio:.2f}×",
        ratio <= 1.5,
        ""
        if ratio <= 1.5
        else "the write-and-commit round trip costs more in the larger store (its reads do "
        "not); see the PostgreSQL adapter's README",
    )
    sec.target(
        f"PostgreSQL tick() with nothing due over {large:,} supervised cases",
        "≤ 1 s",
        f"{tick:.3f} s",
        tick <= 1.0,
        "" if tick <= 1.0 else "the tick reads more than the due index",
    )


def _pg_city(directory: Path, dsn: str, schema: str, clock: ManualClock) -> tuple[Path, str]:
    """The demo city on PostgreSQL in ``schema``: its configuration and a template case."""
    config = _city(directory, _with_query(dsn, schema=schema))
    with _service(config, clock) as service:
        return config, supervised_template(service)


def _rows(
    sec: Section,
    size: int,
    *,
    small: int,
    per_case: float,
    against: float,
    reference: float,
    tick: float,
) -> None:
    """The rows of one size: the pipeline (against the small store in the same runs and
    against SQLite) and the tick."""
    sec.row(
        f"pipeline on PostgreSQL, {size:,} cases stored",
        f"{rate(1, per_case):,.0f} cases/s ({per_case * 1e3:.1f} ms)",
        f"{per_case / reference:.2f}× SQLite's per-case time at {small:,}",
    )
    if size != small:
        sec.row(
            f"pipeline per case, {size:,} vs {small:,} stored (PostgreSQL, runs taking turns)",
            f"{per_case / against:.2f}×",
            f"the {small:,}-case store: {against * 1e3:.1f} ms per case in the same runs",
        )
    sec.row(
        f"tick() with nothing due, PostgreSQL, {size:,} cases",
        f"{tick * 1e3:,.1f} ms",
        f"{tick / per_case:,.1f}× one pipeline case",
    )


def _verifies(url: str) -> None:
    """Raise unless the store at ``url`` verifies."""
    with PostgresEventStore.from_url(url) as store:
        report = store.verify()
    if not report.ok:
        raise AssertionError(f"the filled store does not verify: {report}")


def _sqlite_reference(directory: Path, size: int, per_run: int, repeat: int) -> float:
    """Seconds per pipeline case on SQLite holding ``size`` cases (the same city)."""
    clock = ManualClock(START)
    directory.mkdir(parents=True)
    config = prepare(directory)
    with _service(config, clock) as service:
        template = supervised_template(service)
    with SQLiteEventStore(directory / "cases.db") as store:
        fill(store, template, 1, size - 1)
    with _service(config, clock) as service:
        return _pipelines([service], per_run, "sqlite", repeat)[0]


def _redacted(dsn: str) -> str:
    split = urllib.parse.urlsplit(dsn)
    if split.password is None:
        return dsn
    user, _, host = split.netloc.rpartition("@")
    return urllib.parse.urlunsplit(split._replace(netloc=f"{user.partition(':')[0]}:***@{host}"))
