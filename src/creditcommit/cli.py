"""The ``creditcommit`` command.

Errors are one clear line on standard error and a non-zero exit code, never a traceback:
1 for bad input (a malformed file, an invalid identifier, a year without calendar data),
2 for a command line that does not parse. A reader that goes away (``creditcommit case list |
head -1``) ends the command quietly with 141, as a process killed by SIGPIPE.

Output for officials (``demo``, ``submit``, ``case``, ``decide``, ``report``, ``tick``) is in
Chinese unless ``--lang en`` is given; names and ids read from a store or a file are printed escaped
(:func:`creditcommit._labels.escape`), so a stored name cannot forge or hide a row.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import logging
import os
import signal
import sys
import unicodedata
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TextIO

import attrs

from creditcommit import _demo
from creditcommit.__about__ import __version__
from creditcommit._codec import COMMITMENT_REF, event_from_record
from creditcommit._converter import MAX_FILE_BYTES, parse_json, read_json, structure
from creditcommit._labels import (
    LANGUAGES,
    Language,
    disposition_label,
    escape,
    event_label,
    pad,
    state_label,
    width,
)
from creditcommit.calendar import WorkingCalendar
from creditcommit.case import Case, CaseState
from creditcommit.catalog import BUNDLED, Catalog
from creditcommit.commitments import Signer, SignerRole
from creditcommit.config import CONFIG_FILE
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    FailureCategory,
    Severity,
)
from creditcommit.decision import Applicant, ApplicantKind, Decision, ProjectFacts, ProjectLevel
from creditcommit.errors import (
    CreditCommitError,
    DataFileError,
    InvalidIdentifier,
    InvalidValue,
    Problem,
)
from creditcommit.identifiers import USCC, ResidentId
from creditcommit.materials import LicenceHolding, MaterialPlan, plan_materials
from creditcommit.metrics import (
    Report,
    Row,
    render_csv,
    render_json,
    render_text,
    statistics_by_period,
)
from creditcommit.policy import SETTINGS, Policy, decide
from creditcommit.ports import PendingMessage
from creditcommit.preview import preview
from creditcommit.report_html import render_html, report_periods
from creditcommit.service import CHINA_TIME, Approvals, Clock, system_clock
from creditcommit.supervision import Obligation, ObligationKind
from creditcommit.testing.scenarios import check_scenarios

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, TextIO], int]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _calendar(override: Sequence[str]) -> WorkingCalendar:
    calendar = WorkingCalendar.china()
    for path in override:
        calendar = calendar.with_override(path)
    return calendar


def _load_catalog(path: str | None) -> Catalog:
    return Catalog.sample() if path is None else Catalog.from_toml(path)


# --- language, escaping and output ----------------------------------------------------------


def _add_lang(parser: argparse.ArgumentParser, default: Language) -> None:
    """``--lang zh|en``: the language of what the command prints."""
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=default,
        help=f"language of the output: zh (中文) or en (default: {default})",
    )


def _say(lang: Language, zh: str, en: str) -> str:
    """The Chinese or the English wording of one line."""
    return zh if lang == "zh" else en


def _write_csv(out: TextIO, text: str, *, bom: bool) -> None:
    """CSV as UTF-8 whatever the terminal's encoding, with a byte order mark unless ``bom``
    is false: Excel on a Chinese desktop reads a CSV file without one as GBK."""
    data = ("\ufeff" if bom else "") + text
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # a text-only stream (io.StringIO): the caller picks the encoding
        out.write(data)
        return
    out.flush()
    buffer.write(data.encode("utf-8"))
    buffer.flush()


def _printable_report(report: Report) -> Report:
    """``report`` with its codes, names, departments and grades escaped for a terminal."""

    def row(found: Row) -> Row:
        return attrs.evolve(
            found,
            code=escape(found.code),
            name=escape(found.name),
            department=escape(found.department),
        )

    # Escaping can change the order of two keys: the report wants its rows sorted.
    items = sorted(map(row, report.items), key=lambda found: found.key)
    departments = sorted(map(row, report.departments), key=lambda found: found.key)
    grades = tuple(attrs.evolve(g, grade=escape(g.grade)) for g in report.draws.grades)
    catalog = attrs.evolve(
        report.catalog,
        catalog=escape(report.catalog.catalog),
        version=escape(report.catalog.version),
    )
    return attrs.evolve(
        report,
        items=items,
        departments=departments,
        draws=attrs.evolve(report.draws, grades=grades),
        catalog=catalog,
    )


def cmd_catalog_check(args: argparse.Namespace, out: TextIO) -> int:
    catalog = Catalog.from_toml(args.file)
    codes = catalog.codes()
    out.write(f"{args.file}: OK — catalogue {catalog.name!r} version {catalog.version}, ")
    out.write(f"{len(codes)} item codes, digest {catalog.digest[:12]}\n")
    return 0


def cmd_policy_check(args: argparse.Namespace, out: TextIO) -> int:
    policy = Policy.load(*args.files)
    out.write(f"OK — {policy.version}\n")
    # Every file was checked: its citations against the days its instruments are in force,
    # and its place's rules against the other files for the same place.
    for source, scope in zip(policy.sources, policy.scopes, strict=True):
        out.write(f"  file: {source} ({scope})\n")
    for setting in SETTINGS:
        spans = policy.timeline(setting).spans()
        if not spans:
            out.write(f"  {setting}: not set\n")
            continue
        periods = ", ".join(
            f"{start.isoformat()}–{end.isoformat() if end else '…'}" for start, end in spans
        )
        out.write(f"  {setting}: {periods}\n")
    return 0


def cmd_scenarios_check(args: argparse.Namespace, out: TextIO) -> int:
    results = check_scenarios(args.files)
    failed = [result for result in results if not result.passed]
    for result in results:
        if args.verbose or not result.passed:
            out.write(result.report() + "\n")
    out.write(f"{len(results) - len(failed)} passed, {len(failed)} failed\n")
    return 1 if failed else 0


def cmd_catalog_summary(args: argparse.Namespace, out: TextIO) -> int:
    name = args.file
    catalog = Catalog.bundled(name) if name in BUNDLED else Catalog.from_toml(name)
    on = dt.datetime.now(CHINA_TIME).date() if args.on is None else args.on
    # Catalogue files are checked for control characters when read: their text prints as is.
    if args.lang == "zh":
        out.write(catalog.format_departments(on, chinese_only=True) + "\n")
    else:
        out.write(catalog.summary(on).format().splitlines()[-1] + "\n")
    return 0


def cmd_calendar_add(args: argparse.Namespace, out: TextIO) -> int:
    calendar = _calendar(args.override)
    due = calendar.add_working_days(args.start, args.days)
    out.write(f"{due.isoformat()}\n")
    return 0


def cmd_calendar_between(args: argparse.Namespace, out: TextIO) -> int:
    calendar = _calendar(args.override)
    out.write(f"{calendar.working_days_between(args.start, args.end)}\n")
    return 0


def cmd_calendar_status(args: argparse.Namespace, out: TextIO) -> int:
    calendar = _calendar(args.override)
    today = args.on if args.on is not None else dt.datetime.now(CHINA_TIME).date()
    status = calendar.coverage(today)
    last = "none" if status.last_day is None else status.last_day.isoformat()
    out.write(f"last covered day: {last} ({status.days_left} days from {today.isoformat()})\n")
    for line in status.provenance:
        out.write(f"data: {line}\n")
    if status.warning is not None:
        out.write(f"warning: {status.warning}\n")
    return 0


def cmd_uscc(args: argparse.Namespace, out: TextIO) -> int:
    status = 0
    for text in args.codes:
        try:
            code = USCC.parse(text)
        except CreditCommitError as exc:
            out.write(f"{escape(text)}: invalid — {escape(str(getattr(exc, 'detail', exc)))}\n")
            status = 1
            continue
        authority = code.authority or "unknown authority"
        category = code.category or "unknown category"
        legacy = " (legacy code on the allow-list)" if code.legacy else ""
        out.write(f"{code}: valid{legacy} — {authority} / {category}, ")
        out.write(f"division {code.division_code}\n")
    return status


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    if args.config is not None:  # demo --config FILE: the story on a city's own plugins
        _demo.run_city(out, args.config, args.dir, lang=args.lang)
        return 0
    _demo.run(out, args.dir, lang=args.lang)
    return 0


# --- commands on a configured installation ---------------------------------------------------


def _config_path(args: argparse.Namespace) -> str:
    if args.config is not None:
        return str(args.config)
    return os.environ.get("CREDITCOMMIT_CONFIG", CONFIG_FILE)


#: The clock of the commands on an installation: the system's (tests put a manual one here).
_clock: Clock = system_clock


def _service(args: argparse.Namespace) -> Approvals:
    return Approvals.from_config(_config_path(args), clock=_clock)


def cmd_case_show(args: argparse.Namespace, out: TextIO) -> int:
    lang: Language = args.lang
    with _service(args) as service:
        history = service.history(args.case_id)
        case = service.case(args.case_id)
    applicant = case.applicant
    state = state_label(case.state, lang)
    out.write(
        _say(
            lang,
            f"案件 {escape(case.case_id)}：{state}\n",
            f"Case {escape(case.case_id)} — {state}\n",
        )
    )
    out.write(
        _say(
            lang,
            f"  申请人：{escape(applicant.name)}（{escape(applicant.identifier)}）\n",
            f"  Applicant: {escape(applicant.name)} ({escape(applicant.identifier)})\n",
        )
    )
    item, since = escape(case.item_code), case.item_valid_from
    out.write(
        _say(
            lang,
            f"  事项：{item}（{since} 起施行的版本）\n",
            f"  Item: {item} (version of {since})\n",
        )
    )
    if case.decision is not None:
        route = case.decision.route
        out.write(
            _say(
                lang,
                f"  审批路径：{route.label_zh}\n",
                f"  Route: {route.name} — {route.label_zh} ({route.label_en})\n",
            )
        )
    if case.licence_reference is not None:
        licence = escape(case.licence_reference)
        out.write(_say(lang, f"  许可证号：{licence}\n", f"  Licence: {licence}\n"))
    out.write(_say(lang, "办理过程：\n", "Timeline:\n"))
    for stored in history:
        # A signed letter stored by digest has no decision to show: not decoded here.
        event = (
            None
            if stored.type == COMMITMENT_REF
            else event_from_record(stored.type, stored.payload)
        )
        label = escape(event_label(stored.type, lang))
        out.write(f"  {stored.version:>3}  {stored.recorded_at.isoformat()}  {label}\n")
        decision = getattr(event, "decision", None)
        if decision is not None:
            for reason in decision.reasons:
                text = escape(reason.text(lang))
                code = escape(reason.code)
                out.write(_say(lang, f"         · {text}\n", f"         · [{code}] {text}\n"))
                for ref in reason.references:
                    basis = escape(ref.zh if lang == "zh" else str(ref))
                    out.write(
                        _say(lang, f"           依据：{basis}\n", f"           Basis: {basis}\n")
                    )
        outcome = getattr(event, "outcome", None)
        if isinstance(outcome, CreditLookupFailure):
            failure = escape(outcome.reason)
            out.write(
                _say(
                    lang,
                    f"         信用查询失败：{failure}\n",
                    f"         credit lookup failed: {failure}\n",
                )
            )
        elif isinstance(outcome, CreditEvidence):
            source, digest = escape(outcome.source), outcome.digest[:12]
            count = len(outcome.records)
            grade = (
                _say(lang, "未评级", "no grade") if outcome.grade is None else escape(outcome.grade)
            )
            out.write(
                _say(
                    lang,
                    f"         信用证据来自 {source}：信用等级 {grade}，信用记录 {count} 条，"
                    f"摘要 {digest}\n",
                    f"         evidence from {source}: grade {grade}, {count} record(s), "
                    f"digest {digest}\n",
                )
            )
    return 0


def cmd_case_list(args: argparse.Namespace, out: TextIO) -> int:
    lang: Language = args.lang
    state = None if args.state is None else CaseState[args.state.upper()]
    with _service(args) as service:
        cases = service.cases(state=state, item=args.item)
    rows = [
        (
            escape(case.case_id),
            state_label(case.state, lang),
            "—" if case.route is None else _say(lang, case.route.label_zh, case.route.name),
            escape(case.item_code),
            escape(case.applicant.name),
        )
        for case in cases
    ]
    widths = [max((width(row[i]) for row in rows), default=0) for i in range(4)]
    for row in rows:
        cells = [pad(cell, widths[i]) for i, cell in enumerate(row[:4])]
        out.write("  ".join((*cells, row[4])) + "\n")
    out.write(_say(lang, f"共 {len(cases)} 件\n", f"{len(cases)} case(s)\n"))
    return 0


def cmd_log_verify(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        report = service.verify()
    if report.ok:
        checked = "checkpoints signed" if report.anchored else "checkpoints match"
        out.write(f"OK: {report.events} events, hash chain intact, {checked}\n")
        if report.unchecked is not None:
            out.write(f"note: {report.unchecked}\n")
        return 0
    bad = report.first_bad
    if bad is not None:
        where = f"event {bad.position} (case {bad.stream}, version {bad.version}, {bad.type})"
    elif report.stream is not None:
        where = f"case {report.stream}"
    else:
        where = "the log"
    sys.stderr.write(f"error: {where}: {report.problem}\n")
    if report.unchecked is not None:
        sys.stderr.write(f"note: {report.unchecked}\n")
    return 1


def cmd_log_anchor(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        anchor = getattr(service.store, "anchor", None)
        if anchor is None:
            raise ValueError(f"the event store {service.store!r} has no checkpoints to anchor")
        report = anchor()
    if not report.ok:
        sys.stderr.write(f"error: not anchored, the hash chain is broken: {report.problem}\n")
        return 1
    out.write(f"anchored: {report.events} events; the checkpoints now vouch for them\n")
    return 0


def _outbox_line(pending: PendingMessage) -> str:
    message = pending.message
    state = "dead" if pending.dead_at is not None else "waiting"
    line = (
        f"{message.key}  {state}  {message.city}  {message.destination}  "
        f"attempts {pending.attempts}"
    )
    if pending.last_error:
        line += f"  last error: {' '.join(pending.last_error.split())}"
    return line


def cmd_outbox_list(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        waiting = service.store.outbox(
            delivered=False, dead=True if args.dead else None, city=args.city
        )
    for pending in waiting:
        out.write(_outbox_line(pending) + "\n")
    dead = sum(1 for pending in waiting if pending.dead_at is not None)
    out.write(f"{len(waiting)} undelivered message(s), {dead} dead letter(s)\n")
    return 0


def cmd_outbox_retry(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        now = service.clock()
        for key in args.keys:
            service.store.retry(key, at=now)
            out.write(f"{key}: due again now\n")
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    if args.end < args.start:
        raise ValueError(f"--to {args.end} is before --from {args.start}")
    # One pass over the cases, each read from its projection (one row) where it has one;
    # the HTML page also wants the figures of each month (or quarter) for its charts.
    periods = [(args.start, args.end)]
    if args.format == "html":
        periods += report_periods(args.start, args.end)
    with _service(args) as service:
        report, *parts = statistics_by_period(
            service.report_cases(),
            periods,
            catalog=service.catalog(),
            calendar=service.calendar(),
            draws=service.draws(),
        )
        dead = len(service.store.outbox(delivered=False, dead=True))
    if args.format == "html":
        out.write(render_html(report, parts, lang=args.lang))
        return 0
    if args.format == "json":
        out.write(render_json(report) + "\n")
    elif args.format == "csv":
        _write_csv(out, render_csv(report, lang=args.lang), bom=not args.no_bom)
    else:
        out.write(render_text(_printable_report(report), lang=args.lang) + "\n")
        label = "发件箱死信" if args.lang == "zh" else "Outbox dead letters"
        out.write(f"{label}: {dead}\n")
    return 0


# --- preview: a policy change replayed on the recorded applications ---------------------------

_OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "direct": ("直接适用", "direct"),
    "conditional": ("有条件适用", "conditional"),
    "standard": ("一般程序", "standard"),
    "refused": ("限制申请期内不予受理", "refused (re-application ban)"),
}


def _outcome(value: str, lang: Language) -> str:
    zh, en = _OUTCOME_LABELS[value]
    return zh if lang == "zh" else en


def _preview_cases(args: argparse.Namespace) -> tuple[Catalog, Callable[[], Iterator[Case]]]:
    """The catalogue and the cases of ``--cases``: a ``creditcommit.toml`` (the city's store
    and catalogue) or a SQLite store file or URL (the catalogue of ``--catalog``)."""
    where = str(args.cases)
    meta = {"kind": "case"} if args.item is None else {"kind": "case", "item": args.item}
    if where.endswith(".toml"):
        if args.catalog is not None:
            raise ValueError(
                "--catalog cannot be used with a configuration file: preview uses the "
                "configured city's catalogue"
            )
        service = Approvals.from_config(where)

        def configured() -> Iterator[Case]:
            with service:
                for info in service.store.streams(**meta):
                    yield service.case(info.stream)

        return service.catalog(), configured
    from creditcommit.builtin.sqlite_store import SQLiteEventStore  # noqa: PLC0415

    path = where.removeprefix("sqlite://").removeprefix("sqlite:")
    if where.startswith("sqlite::memory:") or not os.path.isfile(path):
        raise FileNotFoundError(
            f"--cases {where}: no such store file (give a SQLite store, or the "
            "installation's creditcommit.toml)"
        )
    store = SQLiteEventStore(path)

    def stored() -> Iterator[Case]:
        try:
            for info in store.streams(**meta):
                events = store.read(info.stream)
                yield Case.from_events(
                    event_from_record(e.type, e.payload, store.document) for e in events
                )
        finally:
            store.close()

    return _load_catalog(args.catalog), stored


def cmd_preview(args: argparse.Namespace, out: TextIO) -> int:
    policy = Policy.load(*args.policy)
    catalog, cases = _preview_cases(args)
    found = preview(cases(), policy, catalog=catalog, on=args.on, examples=args.examples)
    if args.format == "json":
        json.dump(found.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    lang: Language = args.lang
    if args.format == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(
            ("事项编码", "原路径", "新路径", "是否改变", "件数", "示例案件")
            if lang == "zh"
            else ("item", "old", "new", "changed", "count", "examples")
        )
        for change in found.changes:
            writer.writerow(
                (
                    change.item,
                    _outcome(change.old, lang),
                    _outcome(change.new, lang),
                    _say(lang, "是", "yes") if change.changed else _say(lang, "否", "no"),
                    change.count,
                    " ".join(change.examples),
                )
            )
        _write_csv(out, text.getvalue(), bom=not args.no_bom)
        return 0
    day = (
        _say(lang, "各案按原决定日重新决定", "each case decided again on its decision day")
        if args.on is None
        else _say(lang, f"各案按{args.on.isoformat()}重新决定", f"every case decided on {args.on}")
    )
    out.write(_say(lang, "政策调整预演：", "Policy preview: ") + escape(found.policy) + "\n")
    out.write(day + "\n")
    out.write(
        _say(
            lang,
            f"重放案件 {found.cases} 件，路径改变 {found.changed} 件，"
            f"未能重放 {len(found.failed)} 件，未作路径决定 {found.skipped} 件\n",
            f"replayed {found.cases} cases: {found.changed} would change route, "
            f"{len(found.failed)} could not be replayed, {found.skipped} had no route\n",
        )
    )
    head = (
        ["事项编码", "原路径", "新路径", "改变", "件数", "示例案件"]
        if lang == "zh"
        else ["item", "old", "new", "changed", "count", "examples"]
    )
    body = [
        [
            escape(change.item),
            _outcome(change.old, lang),
            _outcome(change.new, lang),
            "*" if change.changed else "",
            str(change.count),
            ", ".join(escape(case_id) for case_id in change.examples),
        ]
        for change in found.changes
    ]
    widths = [max(width(row[i]) for row in (head, *body)) for i in range(len(head))]
    for row in (head, *body):
        out.write("  ".join(pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
    if found.failed:
        out.write(_say(lang, "未能重放：", "Not replayed:") + "\n")
        for case_id, why in found.failed:
            out.write(f"  {escape(case_id)}: {escape(why)}\n")
    return 0


def cmd_tick(args: argparse.Namespace, out: TextIO) -> int:
    lang: Language = args.lang
    with _service(args) as service:
        report = service.tick()
    at = report.at.isoformat()
    suspended, resumed = len(report.suspended), len(report.resumed)
    returned, supervised = len(report.returned), len(report.supervised)
    delivered, failed = len(report.delivery.delivered), len(report.delivery.failed)
    out.write(
        _say(
            lang,
            f"{at}：中止办理 {suspended} 件，恢复办理 {resumed} 件，退件 {returned} 件，"
            f"监管处理 {supervised} 件；送达消息 {delivered} 条，送达失败 {failed} 条；"
            f"处理失败案件 {len(report.failed)} 件，死信 {len(report.dead_letters)} 条\n",
            f"{at}: suspended {suspended}, resumed {resumed}, returned {returned}, supervised "
            f"{supervised}; delivered {delivered}, failed {failed}; cases failed "
            f"{len(report.failed)}, dead letters {len(report.dead_letters)}\n",
        )
    )
    for case_id, problem in report.failed:
        case = escape(case_id)
        out.write(
            _say(
                lang,
                f"  案件处理失败：{case}：{problem}\n",
                f"  case failed: {case}: {problem}\n",
            )
        )
    for key in report.dead_letters:
        out.write(
            _say(
                lang,
                f"  死信：{key}（重试：creditcommit outbox retry {key}）\n",
                f"  dead letter: {key} (retry with: creditcommit outbox retry {key})\n",
            )
        )
    if report.delivery.error is not None:
        out.write(
            _say(
                lang,
                f"  送达：{report.delivery.error}\n",
                f"  delivery: {report.delivery.error}\n",
            )
        )
    for case_id, obligation in report.verifications_overdue:
        case, due = escape(case_id), obligation.due
        out.write(
            _say(
                lang,
                f"  核查逾期：{case}（应于 {due} 前完成）\n",
                f"  verification overdue: {case} (due {due})\n",
            )
        )
    for key in report.publications_overdue:
        out.write(
            _say(lang, f"  公示逾期：{escape(key)}\n", f"  publication overdue: {escape(key)}\n")
        )
    return 0


# --- submit, and moving a case on ---------------------------------------------------------


def _read_json(name: str) -> object:
    """The JSON of file ``name`` (``-``: standard input), with the size and nesting limits of
    every data file; :class:`DataFileError` naming the file if it cannot be read or is not
    JSON."""
    if name != "-":
        return read_json(name)
    text = sys.stdin.read(MAX_FILE_BYTES + 1)
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        limit = f"larger than {MAX_FILE_BYTES} bytes: not read"
        raise DataFileError("<stdin>", [Problem("", limit)])
    return parse_json(text, source="<stdin>")


@attrs.frozen(kw_only=True)
class _ApplicantInput:
    """``applicant`` of ``creditcommit submit --file``."""

    id: str
    name: str
    kind: ApplicantKind = ApplicantKind.LEGAL_PERSON


@attrs.frozen(kw_only=True)
class _ProjectInput:
    """``project`` of ``creditcommit submit --file``: the facts the policy cares about."""

    level: ProjectLevel | None = None
    name: str | None = None
    investment_yuan: int | None = None


@attrs.frozen(kw_only=True)
class _SubmissionInput:
    """One application for ``creditcommit submit --file`` (see docs/command-line.md)."""

    item: str
    applicant: _ApplicantInput
    project: _ProjectInput | None = None
    provided: list[str] = attrs.field(factory=list)
    choose_standard: bool = False
    key: str | None = None
    city: str | None = None


#: Chinese names of the credit failure categories, for officials.
_FAILURE_ZH: dict[FailureCategory, str] = {
    FailureCategory.TIMEOUT: "超时未答复",
    FailureCategory.REFUSED: "拒绝连接",
    FailureCategory.UNREACHABLE: "无法连接",
    FailureCategory.UPSTREAM_ERROR: "信用平台返回错误",
    FailureCategory.MALFORMED_REPLY: "答复格式不符",
    FailureCategory.UNAUTHORISED: "未获授权",
    FailureCategory.WRONG_SUBJECT: "答复的主体不是申请人",
    FailureCategory.INTERNAL: "内部错误",
}


def _failure_line(failure: CreditLookupFailure, lang: Language) -> str:
    """A failed credit lookup with its category, e.g. ``信用查询失败（超时未答复）：...``."""
    source, reason = escape(failure.source), escape(failure.reason)
    category = failure.category
    return _say(
        lang,
        f"信用查询失败（{_FAILURE_ZH.get(category, category.value)}）：{source}：{reason}",
        f"Credit lookup failed ({category.value}): {source}: {reason}",
    )


def _evidence_line(evidence: CreditEvidence, lang: Language) -> str:
    source, digest, count = escape(evidence.source), evidence.digest[:12], len(evidence.records)
    if evidence.grade is None:
        grade = _say(lang, "无信用等级", "no grade")
    else:
        grade = _say(lang, f"信用等级 {escape(evidence.grade)}", f"grade {escape(evidence.grade)}")
    return _say(
        lang,
        f"信用证据来自 {source}：{grade}，信用记录 {count} 条，摘要 {digest}",
        f"Credit evidence from {source}: {grade}, {count} record(s), digest {digest}",
    )


def _reasons_json(decision: Decision) -> list[dict[str, object]]:
    return [
        {"code": r.code, "zh": r.zh, "en": r.en, "references": [str(x) for x in r.references]}
        for r in decision.reasons
    ]


def _materials_json(plan: MaterialPlan) -> dict[str, dict[str, str | None]]:
    return {
        line.code: {
            "disposition": line.disposition.value,
            "due": None if line.due is None else line.due.isoformat(),
        }
        for line in plan.lines
    }


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _case_json(case: Case, owed: Sequence[Obligation]) -> dict[str, object]:
    """The case for machines (``--format json``): see docs/command-line.md."""
    decision, plan, evidence, licence = case.decision, case.plan, case.evidence, case.licence
    credit: dict[str, object] | None = None
    if isinstance(evidence, CreditEvidence):
        credit = {
            "source": evidence.source,
            "grade": evidence.grade,
            "records": len(evidence.records),
            "digest": evidence.digest,
        }
    elif isinstance(evidence, CreditLookupFailure):
        credit = {
            "source": evidence.source,
            "failure": evidence.category.value,
            "reason": evidence.reason,
        }
    return {
        "case_id": case.case_id,
        "city": case.city,
        "state": case.state.name,
        "item": case.item_code,
        "item_valid_from": case.item_valid_from.isoformat(),
        "applicant": {
            "id": case.applicant.identifier,
            "name": case.applicant.name,
            "kind": case.applicant.kind.value,
        },
        "route": None if decision is None else decision.route.name,
        "eligible_route": None if decision is None else decision.eligible_route.name,
        "credit": credit,
        "reasons": [] if decision is None else _reasons_json(decision),
        "materials": {} if plan is None else _materials_json(plan),
        "reduced": None if plan is None else plan.reduced,
        "acceptable": None if plan is None else plan.acceptable,
        "deadlines": {
            "promised": _day(case.promised_due),
            "statutory": _day(case.statutory_due),
            "materials": {line.code: _day(line.due) for line in case.outstanding},
            "obligations": [
                {
                    "kind": o.kind.value,
                    "due": _day(o.due),
                    "code": o.code,
                    "method": None if o.method is None else o.method.value,
                    "outcome": None if o.outcome is None else o.outcome.value,
                }
                for o in owed
            ],
        },
        "licence": None
        if licence is None
        else {
            "reference": licence.reference,
            "issued_on": licence.issued_on.isoformat(),
            "valid_until": _day(licence.valid_until),
        },
    }


def _write_case(out: TextIO, case: Case, owed: Sequence[Obligation], lang: Language) -> None:
    """The case as officials read it: state, route, credit, reasons, materials, deadlines."""
    state = state_label(case.state, lang)
    case_id, item = escape(case.case_id), escape(case.item_code)
    name, identifier = escape(case.applicant.name), escape(case.applicant.identifier)
    out.write(_say(lang, f"案件 {case_id}：{state}\n", f"Case {case_id} — {state}\n"))
    out.write(
        _say(lang, f"  申请人：{name}（{identifier}）\n", f"  Applicant: {name} ({identifier})\n")
    )
    out.write(_say(lang, f"  事项：{item}\n", f"  Item: {item}\n"))
    decision, plan, evidence = case.decision, case.plan, case.evidence
    if isinstance(evidence, CreditEvidence):
        out.write(f"  {_evidence_line(evidence, lang)}\n")
    elif isinstance(evidence, CreditLookupFailure):
        out.write(f"  {_failure_line(evidence, lang)}\n")
    if decision is not None:
        route = decision.route
        out.write(
            _say(
                lang,
                f"  审批路径：{route.label_zh}\n",
                f"  Route: {route.name} — {route.label_en}\n",
            )
        )
        for number, reason in enumerate(decision.reasons, 1):
            text, code = escape(reason.text(lang)), escape(reason.code)
            out.write(_say(lang, f"  {number}. {text}\n", f"  {number}. [{code}] {text}\n"))
            for ref in reason.references:
                basis = escape(ref.zh if lang == "zh" else str(ref))
                out.write(_say(lang, f"     依据：{basis}\n", f"     Basis: {basis}\n"))
    if plan is not None:
        out.write(_say(lang, "  材料：\n", "  Materials:\n"))
        for line in plan.lines:
            code, material = escape(line.code), escape(line.name)
            if lang == "zh":
                out.write(f"    - {code} {material}：{escape(line.text(lang))}\n")
                continue
            due = f" (due {line.due.isoformat()})" if line.due is not None else ""
            label = disposition_label(line.disposition, lang)
            out.write(f"    - {code} {material}: {label}{due}\n")
    _write_deadlines(out, case, owed, lang)


def _write_deadlines(out: TextIO, case: Case, owed: Sequence[Obligation], lang: Language) -> None:
    if case.promised_due is not None or case.statutory_due is not None:
        promised, statutory = _day(case.promised_due) or "—", _day(case.statutory_due) or "—"
        out.write(
            _say(
                lang,
                f"  办结期限：承诺 {promised}，法定 {statutory}\n",
                f"  Time limits: promised {promised}, statutory {statutory}\n",
            )
        )
    licence = case.licence
    if licence is not None:
        reference = escape(licence.reference)
        until = _day(licence.valid_until)
        out.write(
            _say(
                lang,
                f"  许可证号：{reference}（{licence.issued_on} 发放"
                f"{'' if until is None else f'，有效期至 {until}'}）\n",
                f"  Licence: {reference} (issued {licence.issued_on}"
                f"{'' if until is None else f', valid until {until}'})\n",
            )
        )
    for obligation in owed:
        if not obligation.is_open or obligation.due is None:
            continue
        due = obligation.due.isoformat()
        if obligation.kind is ObligationKind.VERIFICATION:
            out.write(_say(lang, f"  承诺核查期限：{due}\n", f"  Commitment verified by: {due}\n"))
        else:
            code = escape(obligation.code or "")
            out.write(
                _say(
                    lang,
                    f"  应补交材料：{code}（{due} 前）\n",
                    f"  Material owed: {code} (by {due})\n",
                )
            )


def _print_case(args: argparse.Namespace, out: TextIO, service: Approvals, case: Case) -> None:
    """Print ``case`` as ``--format`` and ``--lang`` ask."""
    owed = service.obligations(case.case_id)
    if args.format == "json":
        json.dump(_case_json(case, owed), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    _write_case(out, case, owed, args.lang)


#: Unicode categories a name must not contain: controls, invisible formatting (bidi
#: overrides), line and paragraph separators, surrogates.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _checked_applicant(given: _ApplicantInput, source: str) -> Applicant:
    """The applicant of ``submit``, checked at intake: the identifier parsed and normalised
    (a resident identity number for a natural person, else a USCC), the name one printable
    line. Every problem is reported at once, with its path in the file."""
    problems: list[Problem] = []
    identifier = given.id
    try:
        if given.kind is ApplicantKind.NATURAL_PERSON:
            identifier = ResidentId.parse(given.id).value
        else:
            identifier = USCC.parse(given.id).value
    except InvalidIdentifier as exc:
        problems.append(Problem("applicant.id", f"{exc.detail} (rule: {exc.rule})"))
    name = given.name.strip()
    if not name:
        problems.append(Problem("applicant.name", "must not be empty"))
    elif any(unicodedata.category(char) in _UNPRINTABLE for char in name):
        problems.append(
            Problem(
                "applicant.name",
                "expected one line of printable text, got control or invisible formatting "
                f"characters: {escape(name)}",
            )
        )
    if problems:
        raise DataFileError(source, problems)
    return Applicant(identifier, name, given.kind)


def cmd_submit(args: argparse.Namespace, out: TextIO) -> int:
    source = "<stdin>" if args.file == "-" else args.file
    submit = _submitter(structure(_read_json(args.file), _SubmissionInput, source=source), source)
    with _service(args) as service:
        case = submit(service)
        _print_case(args, out, service, case)
    return 0


def _submitter(given: _SubmissionInput, source: str) -> Callable[[Approvals], Case]:
    """Submits one application (checked at once: a bad applicant raises here, naming
    ``source``) to the service it is given."""
    project = (
        None
        if given.project is None
        else ProjectFacts(given.project.level, given.project.name, given.project.investment_yuan)
    )
    applicant = _checked_applicant(given.applicant, source)

    def submit(service: Approvals) -> Case:
        return service.submit(
            item=given.item,
            applicant=applicant,
            project=project,
            provided=given.provided,
            choose_standard=given.choose_standard,
            key=given.key,
            city=given.city,
        )

    return submit


#: Applications per transaction of ``creditcommit import`` (``--batch``).
IMPORT_BATCH = 100


def _json_lines(name: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of JSON-lines file ``name`` (``-``: standard input), numbered from
    1; a line longer than the size limit of a data file is a :class:`DataFileError`."""
    label = "<stdin>" if name == "-" else name
    stream = (
        contextlib.nullcontext(sys.stdin) if name == "-" else open(name, encoding="utf-8-sig")  # noqa: SIM115
    )
    with stream as lines:
        for number, line in enumerate(lines, start=1):
            if len(line) > MAX_FILE_BYTES:
                raise DataFileError(
                    f"{label}, line {number}",
                    [Problem("", f"larger than {MAX_FILE_BYTES} bytes: not read")],
                )
            if line.strip():
                yield number, line


def _batches(lines: Iterator[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for numbered in lines:
        batch.append(numbered)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    """``import FILE``: a JSON-lines file of applications, ``--batch`` per transaction."""
    lang: Language = args.lang
    label = "<stdin>" if args.file == "-" else args.file
    if args.batch < 1:
        raise ValueError(f"--batch must be at least 1, got {args.batch}")
    done: list[dict[str, object]] = []
    total = 0
    with _service(args) as service:
        for number, batch in enumerate(_batches(_json_lines(args.file), args.batch), start=1):
            first, last = batch[0][0], batch[-1][0]
            try:
                cases = _import_batch(service, batch, label)
            except DataFileError:
                if args.format == "text":
                    out.write(
                        _say(
                            lang,
                            f"第 {number} 批（第 {first}–{last} 行）未保存，本批无一件提交。\n",
                            f"batch {number} (lines {first}-{last}) not stored: none of it "
                            "was submitted.\n",
                        )
                    )
                    out.flush()
                raise
            done.append({"batch": number, "lines": [first, last], "cases": cases})
            total += len(cases)
            if args.format == "text":
                out.write(
                    _say(
                        lang,
                        f"第 {number} 批（第 {first}–{last} 行）：已提交 {len(cases)} 件。\n",
                        f"batch {number} (lines {first}-{last}): {len(cases)} submitted.\n",
                    )
                )
    if args.format == "json":
        json.dump({"imported": total, "batches": done}, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        out.write(
            _say(
                lang,
                f"共导入 {total} 件，{len(done)} 批。\n",
                f"{total} applications imported in {len(done)} batch(es).\n",
            )
        )
    return 0


def _import_batch(service: Approvals, batch: list[tuple[int, str]], label: str) -> list[str]:
    """Check every application of ``batch``, then submit them all in one transaction; a bad
    one is a :class:`DataFileError` naming its line, and nothing of the batch is stored."""
    checked: list[tuple[str, Callable[[Approvals], Case]]] = []
    for line, text in batch:
        source = f"{label}, line {line}"
        given = structure(parse_json(text, source=source), _SubmissionInput, source=source)
        checked.append((source, _submitter(given, source)))
    cases: list[str] = []
    with service.batch():
        for source, submit in checked:
            try:
                cases.append(submit(service).case_id)
            except DataFileError as exc:
                raise DataFileError(source, exc.problems) from exc
            except (CreditCommitError, ValueError) as exc:
                raise DataFileError(source, [Problem("", str(exc))]) from exc
    return cases


def cmd_case_sign(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        applicant = service.case(args.case_id).applicant
        if args.agent is None:
            signer = Signer(
                args.signer_name or applicant.name, args.signer_id or applicant.identifier
            )
        else:
            missing = [
                option
                for option, value in (
                    ("--signer-name", args.signer_name),
                    ("--signer-id", args.signer_id),
                )
                if value is None
            ]
            if missing:
                raise ValueError(
                    f"an agent signing with --agent must give {' and '.join(missing)}: "
                    "the agent's own name and identifier"
                )
            signer = Signer(
                args.signer_name, args.signer_id, SignerRole.AGENT, authorisation=args.agent
            )
        case = service.sign_commitment(args.case_id, signer)
        _print_case(args, out, service, case)
    return 0


def cmd_case_accept(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        case = service.accept(args.case_id, licence_valid_until=args.valid_until)
        _print_case(args, out, service, case)
    return 0


def cmd_case_issue(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        case = service.issue(args.case_id, reference=args.reference, valid_until=args.valid_until)
        _print_case(args, out, service, case)
    return 0


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default) or JSON for machines",
    )


def _add_submit_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``submit``: an application as JSON, decided on the configured city's ports."""
    submit = commands.add_parser(
        "submit", help="submit an application (JSON) to the configured city; print the case"
    )
    submit.add_argument(
        "--file",
        required=True,
        metavar="JSON",
        help="the application as JSON (see docs/command-line.md); - reads standard input",
    )
    _add_format(submit)
    _add_lang(submit, "zh")
    submit.set_defaults(handler=cmd_submit)


def _add_import_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``import``: many applications (JSON lines), a batch per transaction."""
    imported = commands.add_parser(
        "import",
        help="submit a JSON-lines file of applications, all or nothing per batch",
    )
    imported.add_argument(
        "file",
        metavar="FILE",
        help="one application per line, each as for submit --file; - reads standard input",
    )
    imported.add_argument(
        "--batch",
        type=int,
        default=IMPORT_BATCH,
        metavar="N",
        help=f"applications per transaction (default {IMPORT_BATCH}): a bad line stores "
        "nothing of its batch",
    )
    _add_format(imported)
    _add_lang(imported, "zh")
    imported.set_defaults(handler=cmd_import)


def _add_case_actions(case_cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``case sign``, ``case accept``, ``case issue``: move a case on; print its new state."""
    sign = case_cmds.add_parser("sign", help="sign the commitment letter of a case")
    sign.add_argument(
        "--signer-name", metavar="NAME", help="who signs (default: the applicant's name)"
    )
    sign.add_argument(
        "--signer-id",
        metavar="ID",
        help="the signer's USCC or identity number (default: the applicant's identifier)",
    )
    sign.add_argument(
        "--agent",
        metavar="AUTHORISATION",
        help="an agent signs for the applicant, under this written authorisation's reference "
        "(needs --signer-name and --signer-id)",
    )
    sign.set_defaults(handler=cmd_case_sign)
    accept = case_cmds.add_parser(
        "accept", help="accept the application (受理); on the spot the licence is issued too"
    )
    accept.add_argument(
        "--valid-until",
        type=_date,
        metavar="YYYY-MM-DD",
        help="last day of the licence's validity, if it is issued at acceptance",
    )
    accept.set_defaults(handler=cmd_case_accept)
    issue = case_cmds.add_parser("issue", help="grant and issue the licence (准予许可)")
    issue.add_argument(
        "--reference", metavar="REF", help="the licence number (default: from the case id)"
    )
    issue.add_argument(
        "--valid-until",
        type=_date,
        metavar="YYYY-MM-DD",
        help="last day of the licence's validity (default: it does not expire)",
    )
    issue.set_defaults(handler=cmd_case_issue)
    for action in (sign, accept, issue):
        action.add_argument("case_id", metavar="ID", help="the case id, e.g. 321000-20250926-N0001")
        _add_format(action)
        _add_lang(action, "zh")


# --- decide ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _ApplicationInput:
    """One application for ``creditcommit decide --file``: the flags, as JSON keys."""

    item: str
    on: dt.date
    id: str
    name: str = "申请人"
    kind: ApplicantKind = ApplicantKind.LEGAL_PERSON
    grade: str | None = None
    scale: str = "yangzhou-a-e"
    records: list[str] = attrs.field(factory=list)
    credit_unavailable: str | None = None
    major_level: ProjectLevel | None = None
    licences: list[str] = attrs.field(factory=list)
    provided: list[str] = attrs.field(factory=list)
    choose_standard: bool = False


def _record(text: str, subject: str, index: int, kinds: Collection[str] = ()) -> CreditRecord:
    """One ``--record``; ``kinds`` are the city kinds the policy declares."""
    parts = text.split(":")
    try:
        kind: CreditRecordKind | str = parts[0] if parts[0] in kinds else CreditRecordKind(parts[0])
        severity, decided = Severity(parts[1]), parts[2]
        repaired = dt.date.fromisoformat(parts[3]) if len(parts) > 3 else None
        return CreditRecord.with_default_periods(
            record_id=f"R{index + 1}",
            subject=subject,
            kind=kind,
            severity=severity,
            decided_on=dt.date.fromisoformat(decided),
            repaired_on=repaired,
        )
    except (IndexError, ValueError):
        raise DataFileError(
            "--record",
            [
                Problem(
                    f"records[{index}]",
                    f"expected KIND:SEVERITY:YYYY-MM-DD[:REPAIRED], got {text!r} (kinds: "
                    f"{', '.join([*(k.value for k in CreditRecordKind), *sorted(kinds)])}; "
                    "severities: "
                    f"{', '.join(s.value for s in Severity)})",
                )
            ],
        ) from None


def _file_applicant(given: _ApplicationInput, source: str) -> Applicant:
    """The applicant of a ``decide --file`` application; a bad id or name is located."""
    try:
        return Applicant.parse(given.id, given.name, given.kind)
    except InvalidIdentifier as exc:
        problem = Problem(
            "id", f"invalid {exc.kind} {exc.value!r}: {exc.detail} (rule: {exc.rule})"
        )
    except InvalidValue as exc:
        problem = Problem(exc.problems[0].path, exc.problems[0].message)
    raise DataFileError(source, [problem])


def _decide_input(args: argparse.Namespace) -> _ApplicationInput:
    """The application ``decide`` is asked about: from ``--file`` or from the flags."""
    if args.file is not None:
        source = "<stdin>" if args.file == "-" else args.file
        given = structure(_read_json(args.file), _ApplicationInput, source=source)
        # A bad id or name is located in the file.
        return attrs.evolve(given, id=_file_applicant(given, source).identifier)
    missing = [f"--{flag}" for flag in ("item", "on", "id") if getattr(args, flag) is None]
    if missing:
        raise ValueError(f"give {', '.join(missing)} (or --file)")
    return _ApplicationInput(
        item=args.item,
        on=args.on,
        id=args.id,
        name=args.name,
        kind=ApplicantKind(args.kind),
        grade=args.grade,
        scale=args.scale,
        records=args.record,
        credit_unavailable=args.credit_unavailable,
        major_level=None if args.major_level is None else ProjectLevel(args.major_level),
        licences=args.licence,
        provided=args.provided,
        choose_standard=args.choose_standard,
    )


def _given_evidence(
    given: _ApplicationInput, at: dt.datetime, kinds: Collection[str] = ()
) -> CreditEvidence | CreditLookupFailure:
    """The credit evidence given by hand (``--grade``, ``--record``, ``--credit-unavailable``);
    ``kinds`` are the city record kinds the policy declares."""
    if given.credit_unavailable is not None:
        return CreditLookupFailure(
            subject=given.id, source="cli", attempted_at=at, reason=given.credit_unavailable
        )
    return CreditEvidence.create(
        subject=given.id,
        source="cli",
        retrieved_at=at,
        scale=given.scale,
        grade=given.grade,
        records=[_record(text, given.id, i, kinds) for i, text in enumerate(given.records)],
    )


def _by_hand(given: _ApplicationInput) -> bool:
    """True if the credit evidence is given by hand rather than asked of a source."""
    return given.grade is not None or bool(given.records) or given.credit_unavailable is not None


def _credit_note(
    evidence: CreditEvidence | CreditLookupFailure, *, by_hand: bool, lang: Language
) -> str:
    """Where ``decide --config`` got the credit evidence from, on one line."""
    if by_hand:
        return _say(
            lang,
            "信用证据按命令行参数给出，未查询所配置的信用来源。",
            "Credit evidence as given on the command line; the configured credit source was "
            "not asked.",
        )
    if isinstance(evidence, CreditLookupFailure):
        return _failure_line(evidence, lang)
    return _evidence_line(evidence, lang)


def cmd_decide(args: argparse.Namespace, out: TextIO) -> int:
    given = _decide_input(args)
    applicant = Applicant.parse(given.id, given.name, given.kind)
    given = attrs.evolve(given, id=applicant.identifier)
    at = dt.datetime.combine(given.on, dt.time(9, 0), CHINA_TIME)
    configured = args.config is not None
    note: str | None = None
    if configured:
        # decide --config: the city's catalogue, policy, calendar and credit source.
        if args.catalog is not None or args.policy:
            raise ValueError(
                "--catalog and --policy cannot be used with --config: decide uses the "
                "configured city's catalogue and policy"
            )
        with _service(args) as service:
            catalog, policy, calendar = service.catalog(), service.policy(), service.calendar()
            by_hand = _by_hand(given)
            evidence = (
                _given_evidence(given, at, policy.record_kinds)
                if by_hand
                else service.lookup_credit(given.id, at=at)
            )
        note = _credit_note(evidence, by_hand=by_hand, lang=args.lang)
    else:
        catalog = _load_catalog(args.catalog)
        policy = Policy.sample() if not args.policy else Policy.load(*args.policy)
        calendar = WorkingCalendar.china()
        evidence = _given_evidence(given, at, policy.record_kinds)
    item = catalog.item(given.item, given.on)
    decision = decide(
        item=item,
        applicant=applicant,
        evidence=evidence,
        policy=policy,
        on=given.on,
        project=ProjectFacts(given.major_level),
        choose_standard=given.choose_standard,
    )
    plan = plan_materials(
        item,
        decision,
        given.provided,
        [LicenceHolding(t, f"{t}:{given.id}") for t in given.licences],
        on=given.on,
        calendar=calendar,
    )
    if args.json:
        found: dict[str, object] = {
            "route": decision.route.name,
            "eligible_route": decision.eligible_route.name,
            "reasons": _reasons_json(decision),
            "materials": _materials_json(plan),
            "reduced": plan.reduced,
            "acceptable": plan.acceptable,
            "catalog": str(decision.catalog),
            "policy": str(decision.policy),
        }
        if configured:
            found["credit"] = _decide_credit_json(evidence, by_hand=_by_hand(given))
        json.dump(found, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    if note is not None:
        out.write(note + "\n")
    _write_decision(out, decision, plan, args.lang)
    return 0


def _decide_credit_json(
    evidence: CreditEvidence | CreditLookupFailure, *, by_hand: bool
) -> dict[str, object]:
    """``credit`` of ``decide --config --json``: where the evidence came from."""
    if isinstance(evidence, CreditLookupFailure):
        return {
            "given": by_hand,
            "source": evidence.source,
            "failure": evidence.category.value,
            "reason": evidence.reason,
        }
    return {
        "given": by_hand,
        "source": evidence.source,
        "grade": evidence.grade,
        "records": len(evidence.records),
        "digest": evidence.digest,
    }


def _write_decision(out: TextIO, decision: Decision, plan: MaterialPlan, lang: Language) -> None:
    """The route, each reason with its basis, and the material plan, escaped.

    Unlike :meth:`Decision.explain`, the Chinese text names the route by its label only.
    """
    route, item = decision.route, escape(decision.item_code)
    out.write(
        _say(
            lang,
            f"事项 {item}：{route.label_zh}\n",
            f"Item {item}: {route.label_en} ({route.name})\n",
        )
    )
    for number, reason in enumerate(decision.reasons, 1):
        out.write(f"{number}. {escape(reason.text(lang))}\n")
        for ref in reason.references:
            basis = escape(ref.zh if lang == "zh" else str(ref))
            out.write(_say(lang, f"   依据：{basis}\n", f"   Basis: {basis}\n"))
    for line in plan.lines:
        code, name = escape(line.code), escape(line.name)
        if lang == "zh":
            out.write(f"  - {code} {name}：{escape(line.text(lang))}\n")
            continue
        due = f" (due {line.due.isoformat()})" if line.due is not None else ""
        out.write(f"  - {code} {name}: {disposition_label(line.disposition, lang)}{due}\n")


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one statement per option
    parser = argparse.ArgumentParser(
        prog="creditcommit",
        description="Credit + commitment (信用+承诺) tiered administrative approval.",
    )
    parser.add_argument("--version", action="version", version=f"creditcommit {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"creditcommit.toml (default: $CREDITCOMMIT_CONFIG or ./{CONFIG_FILE})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the seed's story end to end on SQLite (with --config: on a city's own "
        "catalogue, policy and ports, delivering nothing)",
    )
    demo.add_argument(
        "--dir", metavar="DIR", help="an empty or new directory (default: a new temporary one)"
    )
    _add_lang(demo, "zh")
    demo.set_defaults(handler=cmd_demo)

    case = commands.add_parser("case", help="cases of a configured installation")
    case_cmds = case.add_subparsers(dest="case_command", required=True)
    show = case_cmds.add_parser("show", help="a case's timeline with the reasons")
    show.add_argument("case_id", metavar="ID", help="the case id, e.g. 321000-20250926-N0001")
    _add_lang(show, "zh")
    show.set_defaults(handler=cmd_case_show)
    listing = case_cmds.add_parser("list", help="cases, oldest first")
    listing.add_argument(
        "--state", choices=[s.name.lower() for s in CaseState], help="only cases in this state"
    )
    listing.add_argument("--item", metavar="CODE", help="only cases of this approval item")
    _add_lang(listing, "zh")
    listing.set_defaults(handler=cmd_case_list)
    _add_case_actions(case_cmds)

    log = commands.add_parser("log", help="the event log")
    log_cmds = log.add_subparsers(dest="log_command", required=True)
    verify = log_cmds.add_parser(
        "verify", help="check the hash chain and the checkpoints; name the first bad event"
    )
    verify.set_defaults(handler=cmd_log_verify)
    anchor = log_cmds.add_parser(
        "anchor", help="sign the checkpoints with the key (after setting or changing it)"
    )
    anchor.set_defaults(handler=cmd_log_anchor)

    outbox = commands.add_parser("outbox", help="messages waiting to be delivered")
    outbox_cmds = outbox.add_subparsers(dest="outbox_command", required=True)
    outbox_list = outbox_cmds.add_parser("list", help="undelivered messages and dead letters")
    outbox_list.add_argument("--dead", action="store_true", help="only dead letters")
    outbox_list.add_argument("--city", metavar="CODE", help="only this city's messages")
    outbox_list.set_defaults(handler=cmd_outbox_list)
    outbox_retry = outbox_cmds.add_parser("retry", help="retry messages (dead letters) now")
    outbox_retry.add_argument(
        "keys", nargs="+", metavar="KEY", help="idempotency key of a message (see outbox list)"
    )
    outbox_retry.set_defaults(handler=cmd_outbox_retry)

    report = commands.add_parser("report", help="statistics for a period (per item, department)")
    report.add_argument(
        "--from",
        dest="start",
        type=_date,
        required=True,
        metavar="YYYY-MM-DD",
        help="first day of the period",
    )
    report.add_argument(
        "--to",
        dest="end",
        type=_date,
        required=True,
        metavar="YYYY-MM-DD",
        help="last day of the period",
    )
    report.add_argument(
        "--format",
        choices=("text", "json", "csv", "html"),
        default="text",
        help="text tables (default), JSON, CSV (UTF-8 with a BOM, for Excel), or HTML (one "
        "self-contained page with charts)",
    )
    report.add_argument(
        "--no-bom",
        action="store_true",
        help="CSV without the UTF-8 byte order mark (for programs that do not expect one)",
    )
    _add_lang(report, "zh")
    report.set_defaults(handler=cmd_report)

    preview_cmd = commands.add_parser(
        "preview",
        help="replay the recorded applications under another policy: which routes would change",
    )
    preview_cmd.add_argument(
        "--policy",
        action="append",
        required=True,
        metavar="FILE",
        help="the policy to preview (repeatable: a city file, then its districts' files)",
    )
    preview_cmd.add_argument(
        "--cases",
        required=True,
        metavar="STORE",
        help="the cases: an installation's creditcommit.toml, or a SQLite store file "
        "(sqlite:PATH or a path)",
    )
    preview_cmd.add_argument(
        "--on",
        type=_date,
        metavar="YYYY-MM-DD",
        help="decide every case on this day (default: each on its original decision day)",
    )
    preview_cmd.add_argument("--item", metavar="CODE", help="only the cases of this item")
    preview_cmd.add_argument(
        "--catalog",
        metavar="FILE",
        help="the catalogue of a store file's cases (default: the sample; a configuration "
        "file brings its own)",
    )
    preview_cmd.add_argument(
        "--examples",
        type=int,
        default=3,
        metavar="N",
        help="example case ids per item and route change (default: 3)",
    )
    preview_cmd.add_argument(
        "--format",
        choices=("text", "csv", "json"),
        default="text",
        help="a text table (default), CSV (UTF-8 with a BOM, for Excel) or JSON",
    )
    preview_cmd.add_argument(
        "--no-bom", action="store_true", help="CSV without the UTF-8 byte order mark"
    )
    _add_lang(preview_cmd, "zh")
    preview_cmd.set_defaults(handler=cmd_preview)

    _add_submit_command(commands)
    _add_import_command(commands)

    tick = commands.add_parser("tick", help="apply deadlines reached and deliver the outbox")
    _add_lang(tick, "zh")
    tick.set_defaults(handler=cmd_tick)

    decide_cmd = commands.add_parser(
        "decide", help="decide one application (from flags or a JSON file) without storing it"
    )
    decide_cmd.add_argument("--file", metavar="JSON", help="the application as JSON")
    decide_cmd.add_argument("--item", metavar="CODE", help="the approval item's code")
    decide_cmd.add_argument(
        "--on", type=_date, metavar="YYYY-MM-DD", help="the day of the application"
    )
    decide_cmd.add_argument(
        "--id",
        metavar="ID",
        help="the applicant's USCC, or resident identity number with --kind natural-person",
    )
    decide_cmd.add_argument("--name", default="申请人", help="the applicant's name")
    decide_cmd.add_argument(
        "--kind",
        choices=[k.value for k in ApplicantKind],
        default="legal-person",
        help="the kind of applicant (default: legal-person)",
    )
    decide_cmd.add_argument(
        "--grade",
        help="the credit grade (default: no grade; with --config the configured credit "
        "source is asked instead)",
    )
    decide_cmd.add_argument(
        "--scale", default="yangzhou-a-e", help="the grade scale (default: yangzhou-a-e)"
    )
    decide_cmd.add_argument(
        "--record",
        action="append",
        default=[],
        metavar="KIND:SEVERITY:DATE[:REPAIRED]",
        help="a credit record of the applicant (repeatable)",
    )
    decide_cmd.add_argument(
        "--credit-unavailable",
        metavar="REASON",
        help="decide as if the credit lookup had failed for REASON",
    )
    decide_cmd.add_argument(
        "--major-level",
        choices=[level.value for level in ProjectLevel],
        help="the level of a major project",
    )
    decide_cmd.add_argument(
        "--licence",
        action="append",
        default=[],
        metavar="TYPE",
        help="an e-licence type the applicant holds (repeatable)",
    )
    decide_cmd.add_argument(
        "--provided",
        action="append",
        default=[],
        metavar="CODE",
        help="a material submitted with the application (repeatable)",
    )
    decide_cmd.add_argument(
        "--choose-standard",
        action="store_true",
        help="the applicant chooses the standard route",
    )
    decide_cmd.add_argument(
        "--catalog", metavar="FILE", help="default: the sample (with --config: the city's)"
    )
    decide_cmd.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="default: the sample (with --config: the city's)",
    )
    _add_lang(decide_cmd, "zh")
    decide_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    decide_cmd.set_defaults(handler=cmd_decide)

    catalog = commands.add_parser("catalog", help="approval-item catalogues")
    catalog_cmds = catalog.add_subparsers(dest="catalog_command", required=True)
    check = catalog_cmds.add_parser("check", help="validate a catalogue TOML file")
    check.add_argument("file", help="the catalogue file")
    check.set_defaults(handler=cmd_catalog_check)
    summary = catalog_cmds.add_parser("summary", help="count departments, items, materials")
    summary.add_argument(
        "file",
        nargs="?",
        default="yangzhou",
        help="catalogue file, or a bundled catalogue: yangzhou (default) or sample",
    )
    summary.add_argument(
        "--on", type=_date, default=None, help="day, YYYY-MM-DD (default: today in China)"
    )
    _add_lang(summary, "zh")
    summary.set_defaults(handler=cmd_catalog_summary)

    policy = commands.add_parser("policy", help="city policies (审批分级政策)")
    policy_cmds = policy.add_subparsers(dest="policy_command", required=True)
    policy_check = policy_cmds.add_parser(
        "check", help="validate city policy files overlaid on the national defaults"
    )
    policy_check.add_argument(
        "files", nargs="+", metavar="FILE", help="policy files, later ones overlaid on earlier"
    )
    policy_check.set_defaults(handler=cmd_policy_check)

    scenarios = commands.add_parser("scenarios", help="scenario files (情景测试)")
    scenario_cmds = scenarios.add_subparsers(dest="scenarios_command", required=True)
    scenario_check = scenario_cmds.add_parser(
        "check", help="run scenario files and report every case that does not hold"
    )
    scenario_check.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML files")
    scenario_check.add_argument("-v", "--verbose", action="store_true", help="list every case")
    scenario_check.set_defaults(handler=cmd_scenarios_check)

    calendar = commands.add_parser("calendar", help="working-day arithmetic (工作日)")
    calendar_cmds = calendar.add_subparsers(dest="calendar_command", required=True)
    add = calendar_cmds.add_parser("add", help="the N-th working day after START")
    add.add_argument("start", type=_date, help="the first day, YYYY-MM-DD")
    add.add_argument("days", type=int, help="how many working days to add")
    between = calendar_cmds.add_parser("between", help="working days in (START, END]")
    between.add_argument("start", type=_date, help="the first day (not counted), YYYY-MM-DD")
    between.add_argument("end", type=_date, help="the last day (counted), YYYY-MM-DD")
    status = calendar_cmds.add_parser(
        "status", help="the last covered day; warns from 60 days before it"
    )
    status.add_argument(
        "--on", type=_date, metavar="YYYY-MM-DD", help="the day to look from (default: today)"
    )
    for sub, handler in (
        (add, cmd_calendar_add),
        (between, cmd_calendar_between),
        (status, cmd_calendar_status),
    ):
        sub.add_argument(
            "--override",
            action="append",
            default=[],
            metavar="FILE",
            help="a holiday-notice override file (repeatable)",
        )
        sub.set_defaults(handler=handler)

    uscc = commands.add_parser("uscc", help="validate unified social credit codes")
    uscc.add_argument("codes", nargs="+", metavar="CODE", help="18-character codes")
    uscc.set_defaults(handler=cmd_uscc)
    _config_after_the_command(parser)
    return parser


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of the commands that run something (``case show``, ``tick``, ...)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _leaf_parsers(sub)
    return found or [parser]


def _config_after_the_command(parser: argparse.ArgumentParser) -> None:
    """Accept ``--config`` after the command too (``creditcommit case list --config X``).

    The command's ``--config`` has no default, so that it does not hide the one given
    before the command.
    """
    for leaf in _leaf_parsers(parser):
        if leaf is not parser:
            leaf.add_argument(
                "--config",
                metavar="FILE",
                default=argparse.SUPPRESS,
                help=f"creditcommit.toml (default: $CREDITCOMMIT_CONFIG or ./{CONFIG_FILE}); "
                "also accepted before the command",
            )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    out = sys.stdout if out is None else out
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    warnings = _WarningPrinter(getattr(args, "lang", "zh"))
    logger = logging.getLogger("creditcommit")
    logger.addHandler(warnings)
    try:
        status = handler(args, out)
        out.flush()
        return status
    except BrokenPipeError:
        return _reader_gone(out)
    except DataFileError as exc:
        sys.stderr.write(exc.report() + "\n")
        return 1
    except (CreditCommitError, ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        logger.removeHandler(warnings)


class _WarningPrinter(logging.Handler):
    """Prints the library's warnings to standard error in the command's language: a record
    with a Chinese text (``extra={"zh": ...}``) as ``警告：…`` when the language is zh."""

    def __init__(self, lang: str) -> None:
        super().__init__(logging.WARNING)
        self.lang = lang

    def emit(self, record: logging.LogRecord) -> None:
        zh = getattr(record, "zh", None)
        if self.lang == "zh" and isinstance(zh, str):
            line = f"警告：{zh}"
        else:
            line = f"warning: {record.getMessage()}"
        sys.stderr.write(line + "\n")


def _reader_gone(out: TextIO) -> int:
    """The reader of our output closed the pipe (``| head``): stop quietly, status 141.

    Standard output is pointed at the null device so that Python's flush at exit does not
    report the broken pipe again.
    """
    if out is sys.stdout:
        try:
            target = sys.stdout.fileno()
        except (OSError, ValueError):  # not a file (a test's capture): nothing is flushed
            target = None
        if target is not None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, target)
            os.close(devnull)
    sigpipe = getattr(signal, "SIGPIPE", None)
    return 1 if sigpipe is None else 128 + sigpipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
