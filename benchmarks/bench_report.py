"""``report`` over 100 k cases stored in SQLite (``make bench`` section ``report``).

The store is the demo installation's (``creditcommit demo``) plus cases made on it with the
service on a manual clock — issued on the spot, verified and its deferred materials
supplied, on the standard route and
issued days later, refused, withdrawn, deferred materials left overdue until the tick
ordered a rectification — then copied, round robin under new ids, straight into the store's
tables (events chained by their digests, checkpoints, projections: :func:`fill`), as the
service would have written them; ``verify`` passes on the result.

Measured, each in a child process (its own peak memory):

- ``creditcommit report`` (text) and ``report --format html`` (the year and its twelve
  months, one pass) over every case;
- the reference: the report's former path (``statistics(service.cases())``: every case
  read as a ``Case`` and its history decoded) at a smaller size, per case.

Both reports are checked equal at the smaller size before anything is timed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import multiprocessing
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sections import Options, Section

from creditcommit import _demo
from creditcommit.builtin.sqlite_store import SQLiteEventStore, _mac
from creditcommit.case import CaseState
from creditcommit.cli import main
from creditcommit.commitments import Signer
from creditcommit.metrics import statistics
from creditcommit.ports import ProjectionStore, canonical_json
from creditcommit.service import CHINA_TIME, Approvals, ManualClock
from creditcommit.supervision import VerificationOutcome

YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
TARGET_SECONDS = 10.0
START = dt.datetime(2025, 10, 13, 9, 0, tzinfo=CHINA_TIME)
EVERY = [f"GGCSWSXK-0{n}" for n in range(1, 8)]
#: Copies of each kind of case made here per copy of each of the demo's six cases (two
#: supervised to revocation or closure, four decided): mostly issued cases, a few
#: rectifications (whose supervision figures are read from their events).
WEIGHTS = {"on-spot": 40, "standard": 20, "refused": 5, "withdrawn": 10, "overdue": 2}


def _open(directory: Path, clock: ManualClock | None = None) -> Approvals:
    config = directory / "creditcommit.toml"
    if clock is None:
        return Approvals.from_config(config)
    return Approvals.from_config(config, clock=clock)


def _templates(directory: Path) -> list[str]:
    """The demo's cases and one case of each further kind, made by the service, each
    repeated by how common it is (``WEIGHTS``): the round robin of :func:`fill`."""
    _demo.run(io.StringIO(), directory, lang="en")
    clock = ManualClock(START)
    hotel, item = _demo.HOTEL_B, _demo.GAOYOU
    signer = Signer(hotel.name, hotel.identifier)
    with _open(directory, clock) as service:
        made = []
        # On the spot: issued at acceptance, verified kept, deferred materials supplied.
        case = service.submit(item=item, applicant=hotel, provided=EVERY[:1], key="on-spot")
        service.sign_commitment(case.case_id, signer)
        service.accept(case.case_id)
        service.record_verification(
            case.case_id,
            inspectors=["检查员甲", "检查员乙"],
            findings="现场核查符合承诺",
            outcome=VerificationOutcome.FULFILLED,
        )
        for code in ("GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07"):  # the deferred ones
            service.supply_material(case.case_id, code)
        made.append(("on-spot", case.case_id))
        # Standard route: every material, accepted, issued four days later.
        standard = service.submit(
            item=item, applicant=hotel, provided=EVERY, choose_standard=True, key="standard"
        )
        service.accept(standard.case_id)
        refused = service.submit(
            item=item, applicant=hotel, provided=EVERY, choose_standard=True, key="refused"
        )
        service.accept(refused.case_id)
        withdrawn = service.submit(item=item, applicant=hotel, provided=EVERY[:1], key="gone")
        overdue = service.submit(item=item, applicant=hotel, provided=EVERY[:1], key="overdue")
        service.sign_commitment(overdue.case_id, signer)
        service.accept(overdue.case_id)
        clock.advance(days=4)
        service.issue(standard.case_id)
        service.refuse(refused.case_id, "现场条件不符合卫生要求")
        service.withdraw(withdrawn.case_id)
        made += [
            ("standard", standard.case_id),
            ("refused", refused.case_id),
            ("withdrawn", withdrawn.case_id),
            ("overdue", overdue.case_id),
        ]
        clock.set(dt.datetime(2025, 11, 20, 9, 0, tzinfo=CHINA_TIME))
        service.tick()  # the overdue materials: reported, a rectification ordered
        assert service.case(overdue.case_id).state is CaseState.RECTIFYING
        assert service.case(case.case_id).rectification is None
        ours = {case_id for _, case_id in made}
        demo = [i.stream for i in service.store.streams(kind="case") if i.stream not in ours]
    found = [case_id for kind, case_id in made for _ in range(WEIGHTS[kind])]
    return found + demo


#: Copies written per transaction and per ``executemany`` by :func:`fill`.
_BATCH = 5_000


def _content(payload: str, position: int, at: str, stream: str, *, kind: str, version: int) -> str:
    """What :func:`~creditcommit.ports.event_digest` hashes after the previous digest, from
    the payload's canonical JSON text (as the store keeps it): the canonical JSON of the
    event, its keys in sorted order."""
    return (
        f'{{"payload":{payload},"position":{position},"recorded_at":{_text(at)},'
        f'"stream":{_text(stream)},"type":{_text(kind)},"version":{version}}}'
    )


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def fill(directory: Path, templates: list[str], count: int, first: int = 0) -> None:
    """Append copies ``first`` … ``count - 1`` of the templates, round robin, under new ids
    (the template's id with ``-C`` and the copy's number), straight into the store's tables.

    Each copy is what the service would have written (its events with the template's
    recorded times, its meta, its projection) and what ``verify`` checks: the events chained
    by their digests (and MACs, when the store has a key), the log's and each stream's
    checkpoint. Its letter stays the template's document (the copies' events name it by
    digest; the report does not read letters). No idempotency keys and no outbox messages
    are copied (the report reads neither). ``synchronous=OFF`` while filling, to spare the
    disk, and one transaction per :data:`_BATCH` copies.
    """
    with SQLiteEventStore(directory / "cases.db") as store:
        con = store._con
        key = store._key
        con.execute("PRAGMA synchronous = OFF")
        sources: dict[str, tuple[str, list[tuple[str, str, str]], dict[str, str], Any]] = {}
        for template in set(templates):
            events = con.execute(
                "SELECT type, payload, recorded_at FROM events WHERE stream = ? ORDER BY version",
                (template,),
            ).fetchall()
            meta = dict(
                con.execute("SELECT name, value FROM stream_meta WHERE stream = ?", (template,))
            )
            found = con.execute(
                "SELECT p.version, p.body, p.due, s.created_at FROM projections AS p "
                "JOIN streams AS s ON s.stream = p.stream "
                "WHERE p.stream = ? AND p.version = s.version",
                (template,),
            ).fetchone()
            assert found is not None, template
            assert found[0] == len(events), template
            sources[template] = (template, events, meta, found)
        for low in range(first, count, _BATCH):
            with store.transaction():
                _fill_batch(
                    con,
                    key,
                    templates=templates,
                    sources=sources,
                    low=low,
                    high=min(count, low + _BATCH),
                )


def _fill_batch(
    con: sqlite3.Connection,
    key: bytes | None,
    *,
    templates: list[str],
    sources: Mapping[str, tuple[str, list[tuple[str, str, str]], dict[str, str], Any]],
    low: int,
    high: int,
) -> None:
    """The rows of copies ``low`` … ``high - 1``, written on ``con`` (in a transaction)."""
    position, previous = con.execute(
        "SELECT position, digest FROM events ORDER BY position DESC LIMIT 1"
    ).fetchone()
    log = json.loads(
        con.execute("SELECT body FROM checkpoints WHERE kind = 'log' AND scope = ''").fetchone()[0]
    )
    event_rows: list[tuple[Any, ...]] = []
    stream_rows: list[tuple[Any, ...]] = []
    meta_rows: list[tuple[str, str, str]] = []
    projection_rows: list[tuple[Any, ...]] = []
    checkpoint_rows: list[tuple[Any, ...]] = []
    for n in range(low, high):
        template, events, meta, (version, body, due, created) = sources[
            templates[n % len(templates)]
        ]
        new_id = f"{template}-C{n:07d}"
        for number, (kind, payload, at) in enumerate(events, start=1):
            position += 1
            text = payload.replace(template, new_id)
            digest = hashlib.sha256(
                (previous + _content(text, position, at, new_id, kind=kind, version=number)).encode(
                    "utf-8"
                )
            ).hexdigest()
            event_rows.append(
                (
                    new_id,
                    number,
                    position,
                    kind,
                    text,
                    at,
                    previous,
                    digest,
                    _mac(key, "event", digest),
                )
            )
            previous = digest
        stream_rows.append((new_id, version, created, events[-1][2]))
        values = {name: value.replace(template, new_id) for name, value in meta.items()}
        meta_rows += [(new_id, name, value) for name, value in values.items()]
        projection_rows.append((new_id, version, body.replace(template, new_id), due))
        state = canonical_json({"head": previous, "keys": [], "meta": values, "version": version})
        checkpoint_rows.append(
            ("stream", new_id, state, _mac(key, "checkpoint", "stream", new_id, state))
        )
    con.executemany(
        "INSERT INTO streams (stream, version, created_at, updated_at) VALUES (?, ?, ?, ?)",
        stream_rows,
    )
    con.executemany(
        "INSERT INTO events (stream, version, position, type, payload, recorded_at, "
        "previous_digest, digest, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        event_rows,
    )
    con.executemany("INSERT INTO stream_meta (stream, name, value) VALUES (?, ?, ?)", meta_rows)
    con.executemany(
        "INSERT INTO projections (stream, version, body, due) VALUES (?, ?, ?, ?)",
        projection_rows,
    )
    log = {
        "events": position,
        "head": previous,
        "outbox": log["outbox"],
        "streams": log["streams"] + high - low,
    }
    text = canonical_json(log)
    checkpoint_rows.append(("log", "", text, _mac(key, "checkpoint", "log", "", text)))
    con.executemany(
        "INSERT INTO checkpoints (kind, scope, body, mac) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kind, scope) DO UPDATE SET body = excluded.body, mac = excluded.mac",
        checkpoint_rows,
    )


def _share_from_events(directory: Path, templates: list[str]) -> float:
    """The share of the copies whose supervision figures are read from their events."""
    with _open(directory) as service:
        store = service.store
        assert isinstance(store, ProjectionStore)
        bodies = {t: store.projection(t) for t in set(templates)}
    read = 0
    for template in templates:
        found = bodies[template]
        assert found is not None
        read += bool(found.body["overdue_materials"]) or found.body["rectification"] is not None
    return read / len(templates)


def _report_args(directory: Path, form: str) -> list[str]:
    config = str(directory / "creditcommit.toml")
    start, end = (day.isoformat() for day in YEAR)
    return ["--config", config, "report", "--from", start, "--to", end, "--format", form]


def _child_cli(directory: str, form: str) -> tuple[float, float, int]:
    """In a child process: one ``creditcommit report``; seconds, peak RSS (MB), output size."""
    out = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the calendar's coverage warning
        code = main(_report_args(Path(directory), form), out)
    spent = time.perf_counter() - began
    assert code == 0, code
    return spent, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(out.getvalue())


def _child_reference(directory: str) -> tuple[float, float, int]:
    """In a child process: the former path, ``statistics(service.cases())``."""
    began = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), _open(Path(directory)) as service:
        report = statistics(
            service.cases(),
            start=YEAR[0],
            end=YEAR[1],
            catalog=service.catalog(),
            calendar=service.calendar(),
            draws=service.draws(),
        )
    spent = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return spent, peak, report.total.figures.submitted


def _check_equal(directory: Path) -> int:
    """The report from projections equals the former path's; returns the cases counted."""
    with contextlib.redirect_stderr(io.StringIO()), _open(directory) as service:
        kwargs = {
            "start": YEAR[0],
            "end": YEAR[1],
            "catalog": service.catalog(),
            "calendar": service.calendar(),
            "draws": service.draws(),
        }
        projected = list(service.report_cases())
        ours = statistics(projected, **kwargs)  # type: ignore[arg-type]
        former = statistics(service.cases(), **kwargs)  # type: ignore[arg-type]
    if ours != former:
        raise AssertionError("the report from projections differs from the folded one")
    return ours.total.figures.submitted


@contextlib.contextmanager
def _pool() -> Iterator[multiprocessing.pool.Pool]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        yield pool


def _best_in_child(
    pool: multiprocessing.pool.Pool, function: object, args: tuple[str, ...], repeat: int
) -> tuple[float, float, int]:
    runs = [pool.apply(function, args) for _ in range(max(1, repeat))]  # type: ignore[arg-type]
    return min(runs, key=lambda run: run[0])


def section(opts: Options) -> Section:
    """``report`` over many stored cases against the report's former path."""
    size = 2_000 if opts.quick else 100_000
    reference = 500 if opts.quick else 5_000
    return measure(size, reference, 1 if opts.quick else max(1, min(opts.repeat, 2)))


def measure(size: int, reference: int, repeat: int) -> Section:
    """The section over ``size`` copies, the former path over ``reference`` of them."""
    sec = Section("report over stored cases")
    with tempfile.TemporaryDirectory(prefix="cc-bench-report-") as tmp:
        directory = Path(tmp) / "store"
        templates = _templates(directory)
        began = time.perf_counter()
        fill(directory, templates, reference)
        filled = time.perf_counter() - began
        counted = _check_equal(directory)
        kinds = len(set(templates))
        from_events = _share_from_events(directory, templates)
        sec.intro += [
            f"A SQLite store of the demo installation's six cases and five further kinds made "
            "by the service (issued on the spot, verified, deferred materials supplied; "
            "standard route issued four days later; refused; withdrawn; deferred materials "
            "overdue with a rectification ordered), copied round robin with their "
            f"projections in the proportions {WEIGHTS} to one copy of each demo case. The "
            f"period is the year 2025; every case's last event is in it. {from_events:.0%} of "
            "the cases have a rectification order or overdue materials reported: their "
            "supervision figures are read from their events, every other figure from the "
            "projection.",
            f"Checked equal: the report from projections and the former path's "
            f"(`statistics(service.cases())`) at {reference + kinds:,} cases ({counted:,} "
            "counted). Each figure is the best of its runs, each run in a child process "
            "(peak RSS is that child's).",
        ]
        with _pool() as pool:
            ref_s, ref_mb, _ = _best_in_child(pool, _child_reference, (str(directory),), repeat)
            began = time.perf_counter()
            fill(directory, templates, size, first=reference)
            filled += time.perf_counter() - began
            print(f"filled {size:,} cases in {filled:.1f} s", flush=True)
            sec.notes.append(
                f"Filling the store with {size:,} copies (rows written straight into the "
                f"tables, digests chained) took {filled:.1f} s."
            )
            total = size + kinds
            per_ref = ref_s / (reference + kinds)
            sec.row(
                f"former path, {reference + kinds:,} cases (reference)",
                f"{ref_s:.2f} s",
                f"{per_ref * 1e6:,.0f} µs/case, {ref_mb:.0f} MB",
            )
            for form in ("text", "html"):
                spent, peak, _ = _best_in_child(pool, _child_cli, (str(directory), form), repeat)
                per = spent / total
                sec.row(
                    f"`creditcommit report --format {form}`, {total:,} cases",
                    f"{spent:.2f} s",
                    f"{per * 1e6:,.0f} µs/case, {per_ref / per:.1f}× faster per case; "
                    f"{peak:.0f} MB",
                )
                if form == "text":
                    text_s = spent
    projected_ref = per_ref * total
    sec.notes.append(
        f"The former path would take about {projected_ref:,.0f} s over {total:,} cases "
        "(its time per case at the reference size, scaled)."
    )
    met = text_s <= TARGET_SECONDS
    sec.target(
        f"`report` over {total:,} cases",
        f"≤ {TARGET_SECONDS:.0f} s",
        f"{text_s:.1f} s",
        met,
        ""
        if met
        else f"by {text_s / TARGET_SECONDS:.2f}×: each case still decodes its projection's "
        "JSON (≈ 5.6 kB, format 2) in Python; a store that kept the report's few figures "
        "per case in columns would close it",
    )
    return sec


if __name__ == "__main__":
    found = section(Options(quick="--quick" in sys.argv))
    for row in found.rows:
        print(row)
