"""The ``creditcommit`` command.

Errors are one clear line on standard error and a non-zero exit code, never a traceback:
1 for bad input (a malformed file, an invalid identifier, a year without calendar data),
2 for a command line that does not parse. A reader that goes away (``creditcommit case list |
head -1``) ends the command quietly with 141, as a process killed by SIGPIPE.

Output for officials (``demo``, ``case``, ``decide``, ``report``, ``tick``) is in Chinese
unless ``--lang en`` is given; names and ids read from a store or a file are printed escaped
(:func:`creditcommit._labels.escape`), so a stored name cannot forge or hide a row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TextIO

import attrs

from creditcommit import _demo
from creditcommit.__about__ import __version__
from creditcommit._codec import event_from_record
from creditcommit._converter import structure
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
from creditcommit.case import CaseState
from creditcommit.catalog import Catalog
from creditcommit.config import CONFIG_FILE
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    Severity,
)
from creditcommit.decision import Applicant, ApplicantKind, Decision, ProjectFacts, ProjectLevel
from creditcommit.errors import CreditCommitError, DataFileError, Problem
from creditcommit.identifiers import USCC
from creditcommit.materials import LicenceHolding, MaterialPlan, plan_materials
from creditcommit.metrics import Report, Row, render_csv, render_json, render_text, statistics
from creditcommit.policy import SETTINGS, Policy, decide
from creditcommit.ports import PendingMessage
from creditcommit.service import CHINA_TIME, Approvals
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
    for source in policy.sources:
        out.write(f"  file: {source}\n")
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
    catalog = _load_catalog(args.file)
    zh, en = catalog.summary(args.on).format().splitlines()
    out.write(escape(_say(args.lang, zh, en)) + "\n")
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
    _demo.run(out, args.dir, lang=args.lang)
    return 0


# --- commands on a configured installation ---------------------------------------------------


def _config_path(args: argparse.Namespace) -> str:
    if args.config is not None:
        return str(args.config)
    return os.environ.get("CREDITCOMMIT_CONFIG", CONFIG_FILE)


def _service(args: argparse.Namespace) -> Approvals:
    return Approvals.from_config(_config_path(args))


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
        event = event_from_record(stored.type, stored.payload)
        label = escape(event_label(stored.type, lang))
        out.write(f"  {stored.version:>3}  {stored.recorded_at.isoformat()}  {label}\n")
        decision = getattr(event, "decision", None)
        if decision is not None:
            for reason in decision.reasons:
                text = escape(reason.text(lang))
                code = escape(reason.code)
                out.write(_say(lang, f"         · {text}\n", f"         · [{code}] {text}\n"))
                for ref in reason.references:
                    basis = escape(str(ref))
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
    with _service(args) as service:
        report = statistics(
            service.cases(),
            start=args.start,
            end=args.end,
            catalog=service.catalog(),
            calendar=service.calendar(),
            draws=service.draws(),
        )
        dead = len(service.store.outbox(delivered=False, dead=True))
    if args.format == "json":
        out.write(render_json(report) + "\n")
    elif args.format == "csv":
        _write_csv(out, render_csv(report), bom=not args.no_bom)
    else:
        out.write(render_text(_printable_report(report), lang=args.lang) + "\n")
        label = "发件箱死信" if args.lang == "zh" else "Outbox dead letters"
        out.write(f"{label}: {dead}\n")
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


def cmd_decide(args: argparse.Namespace, out: TextIO) -> int:
    if args.file is not None:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
        given = structure(data, _ApplicationInput, source=args.file)
    else:
        missing = [f"--{flag}" for flag in ("item", "on", "id") if getattr(args, flag) is None]
        if missing:
            raise ValueError(f"give {', '.join(missing)} (or --file)")
        given = _ApplicationInput(
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
    catalog = _load_catalog(args.catalog)
    policy = Policy.sample() if not args.policy else Policy.load(*args.policy)
    item = catalog.item(given.item, given.on)
    at = dt.datetime.combine(given.on, dt.time(9, 0), CHINA_TIME)
    evidence: CreditEvidence | CreditLookupFailure
    if given.credit_unavailable is not None:
        evidence = CreditLookupFailure(
            subject=given.id, source="cli", attempted_at=at, reason=given.credit_unavailable
        )
    else:
        evidence = CreditEvidence.create(
            subject=given.id,
            source="cli",
            retrieved_at=at,
            scale=given.scale,
            grade=given.grade,
            records=[
                _record(text, given.id, i, policy.record_kinds)
                for i, text in enumerate(given.records)
            ],
        )
    decision = decide(
        item=item,
        applicant=Applicant(given.id, given.name, given.kind),
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
        calendar=WorkingCalendar.china(),
    )
    if args.json:
        json.dump(
            {
                "route": decision.route.name,
                "eligible_route": decision.eligible_route.name,
                "reasons": [
                    {
                        "code": r.code,
                        "zh": r.zh,
                        "en": r.en,
                        "references": [str(x) for x in r.references],
                    }
                    for r in decision.reasons
                ],
                "materials": {
                    line.code: {
                        "disposition": line.disposition.value,
                        "due": None if line.due is None else line.due.isoformat(),
                    }
                    for line in plan.lines
                },
                "reduced": plan.reduced,
                "acceptable": plan.acceptable,
                "catalog": str(decision.catalog),
                "policy": str(decision.policy),
            },
            out,
            ensure_ascii=False,
            indent=2,
        )
        out.write("\n")
        return 0
    _write_decision(out, decision, plan, args.lang)
    return 0


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
            basis = escape(str(ref))
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

    demo = commands.add_parser("demo", help="run the seed's story end to end on SQLite")
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
        choices=("text", "json", "csv"),
        default="text",
        help="text tables (default), JSON, or CSV (UTF-8 with a BOM, for Excel)",
    )
    report.add_argument(
        "--no-bom",
        action="store_true",
        help="CSV without the UTF-8 byte order mark (for programs that do not expect one)",
    )
    _add_lang(report, "zh")
    report.set_defaults(handler=cmd_report)

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
    decide_cmd.add_argument("--id", metavar="USCC", help="the applicant's identifier")
    decide_cmd.add_argument("--name", default="申请人", help="the applicant's name")
    decide_cmd.add_argument(
        "--kind",
        choices=[k.value for k in ApplicantKind],
        default="legal-person",
        help="the kind of applicant (default: legal-person)",
    )
    decide_cmd.add_argument("--grade", help="the credit grade (default: no grade)")
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
    decide_cmd.add_argument("--catalog", metavar="FILE", help="default: the sample")
    decide_cmd.add_argument(
        "--policy", action="append", default=[], metavar="FILE", help="default: the sample"
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
    summary.add_argument("file", nargs="?", help="catalogue file (default: the sample)")
    summary.add_argument("--on", type=_date, required=True, help="day, YYYY-MM-DD")
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
