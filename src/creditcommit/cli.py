"""The ``creditcommit`` command.

Errors are one clear line on standard error and a non-zero exit code, never a traceback:
1 for bad input (a malformed file, an invalid identifier, a year without calendar data),
2 for a command line that does not parse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import attrs

from creditcommit import _demo
from creditcommit.__about__ import __version__
from creditcommit._codec import event_from_record
from creditcommit._converter import structure
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
from creditcommit.decision import Applicant, ApplicantKind, ProjectFacts, ProjectLevel
from creditcommit.errors import CreditCommitError, DataFileError, Problem
from creditcommit.identifiers import USCC
from creditcommit.materials import LicenceHolding, plan_materials
from creditcommit.metrics import render_csv, render_json, render_text, statistics
from creditcommit.policy import SETTINGS, Policy, decide
from creditcommit.report_html import render_html, report_periods
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
    out.write(catalog.summary(args.on).format() + "\n")
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


def cmd_uscc(args: argparse.Namespace, out: TextIO) -> int:
    status = 0
    for text in args.codes:
        try:
            code = USCC.parse(text)
        except CreditCommitError as exc:
            out.write(f"{text}: invalid — {getattr(exc, 'detail', exc)}\n")
            status = 1
            continue
        authority = code.authority or "unknown authority"
        category = code.category or "unknown category"
        legacy = " (legacy code on the allow-list)" if code.legacy else ""
        out.write(f"{code}: valid{legacy} — {authority} / {category}, ")
        out.write(f"division {code.division_code}\n")
    return status


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    _demo.run(out, args.dir)
    return 0


# --- commands on a configured installation ---------------------------------------------------


def _config_path(args: argparse.Namespace) -> str:
    if args.config is not None:
        return str(args.config)
    return os.environ.get("CREDITCOMMIT_CONFIG", CONFIG_FILE)


def _service(args: argparse.Namespace) -> Approvals:
    return Approvals.from_config(_config_path(args))


def cmd_case_show(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        history = service.history(args.case_id)
        case = service.case(args.case_id)
    out.write(f"Case {case.case_id} — {case.state.name}\n")
    out.write(f"  Applicant: {case.applicant.name} ({case.applicant.identifier})\n")
    out.write(f"  Item: {case.item_code} (version of {case.item_valid_from})\n")
    if case.decision is not None:
        route = case.decision.route
        out.write(f"  Route: {route.name} — {route.label_zh} ({route.label_en})\n")
    if case.licence_reference is not None:
        out.write(f"  Licence: {case.licence_reference}\n")
    out.write("Timeline:\n")
    for stored in history:
        event = event_from_record(stored.type, stored.payload)
        out.write(f"  {stored.version:>3}  {stored.recorded_at.isoformat()}  {stored.type}\n")
        decision = getattr(event, "decision", None)
        if decision is not None:
            for reason in decision.reasons:
                out.write(f"         · [{reason.code}] {reason.text(args.lang)}\n")
                for ref in reason.references:
                    out.write(f"           {'依据' if args.lang == 'zh' else 'Basis'}: {ref}\n")
        outcome = getattr(event, "outcome", None)
        if isinstance(outcome, CreditLookupFailure):
            out.write(f"         credit lookup failed: {outcome.reason}\n")
        elif isinstance(outcome, CreditEvidence):
            grade = outcome.grade or "no grade"
            out.write(
                f"         evidence from {outcome.source}: grade {grade}, "
                f"{len(outcome.records)} record(s), digest {outcome.digest[:12]}\n"
            )
    return 0


def cmd_case_list(args: argparse.Namespace, out: TextIO) -> int:
    state = None if args.state is None else CaseState[args.state.upper()]
    with _service(args) as service:
        cases = service.cases(state=state, item=args.item)
    for case in cases:
        route = "—" if case.route is None else case.route.name
        out.write(
            f"{case.case_id}  {case.state.name:<10} {route:<11} {case.item_code}  "
            f"{case.applicant.name}\n"
        )
    out.write(f"{len(cases)} case(s)\n")
    return 0


def cmd_log_verify(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        report = service.verify()
    if report.ok:
        out.write(f"OK: {report.events} events, hash chain intact\n")
        return 0
    bad = report.first_bad
    assert bad is not None
    sys.stderr.write(
        f"error: event {bad.position} (case {bad.stream}, version {bad.version}, "
        f"{bad.type}) does not match the hash chain: {report.problem}\n"
    )
    return 1


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
        if args.format == "html":
            parts = [
                statistics(
                    service.cases(),
                    start=start,
                    end=end,
                    catalog=service.catalog(),
                    calendar=service.calendar(),
                )
                for start, end in report_periods(args.start, args.end)
            ]
            out.write(render_html(report, parts, lang=args.lang))
            return 0
    if args.format == "json":
        out.write(render_json(report) + "\n")
    elif args.format == "csv":
        out.write(render_csv(report))
    else:
        out.write(render_text(report, lang=args.lang) + "\n")
    return 0


def cmd_tick(args: argparse.Namespace, out: TextIO) -> int:
    with _service(args) as service:
        report = service.tick()
    out.write(
        f"{report.at.isoformat()}: suspended {len(report.suspended)}, resumed "
        f"{len(report.resumed)}, returned {len(report.returned)}, supervised "
        f"{len(report.supervised)}; delivered {len(report.delivery.delivered)}, failed "
        f"{len(report.delivery.failed)}\n"
    )
    for case_id, obligation in report.verifications_overdue:
        out.write(f"  verification overdue: {case_id} (due {obligation.due})\n")
    for key in report.publications_overdue:
        out.write(f"  publication overdue: {key}\n")
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


def _record(text: str, subject: str, index: int) -> CreditRecord:
    parts = text.split(":")
    try:
        kind, severity, decided = CreditRecordKind(parts[0]), Severity(parts[1]), parts[2]
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
                    f"{', '.join(k.value for k in CreditRecordKind)}; severities: "
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
            records=[_record(text, given.id, i) for i, text in enumerate(given.records)],
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
    out.write(decision.explain(args.lang) + "\n")
    for line in plan.lines:
        due = f" (due {line.due.isoformat()})" if line.due is not None else ""
        out.write(f"  - {line.code} {line.name}: {line.disposition.name}{due}\n")
    return 0


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
    demo.set_defaults(handler=cmd_demo)

    case = commands.add_parser("case", help="cases of a configured installation")
    case_cmds = case.add_subparsers(dest="case_command", required=True)
    show = case_cmds.add_parser("show", help="a case's timeline with the reasons")
    show.add_argument("case_id", metavar="ID")
    show.add_argument("--lang", choices=("zh", "en"), default="zh")
    show.set_defaults(handler=cmd_case_show)
    listing = case_cmds.add_parser("list", help="cases, oldest first")
    listing.add_argument("--state", choices=[s.name.lower() for s in CaseState])
    listing.add_argument("--item", metavar="CODE")
    listing.set_defaults(handler=cmd_case_list)

    log = commands.add_parser("log", help="the event log")
    log_cmds = log.add_subparsers(dest="log_command", required=True)
    verify = log_cmds.add_parser("verify", help="check the hash chain; name the first bad event")
    verify.set_defaults(handler=cmd_log_verify)

    report = commands.add_parser("report", help="statistics for a period (per item, department)")
    report.add_argument("--from", dest="start", type=_date, required=True, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="end", type=_date, required=True, metavar="YYYY-MM-DD")
    report.add_argument("--format", choices=("text", "json", "csv", "html"), default="text")
    report.add_argument("--lang", choices=("zh", "en"), default="zh")
    report.set_defaults(handler=cmd_report)

    tick = commands.add_parser("tick", help="apply deadlines reached and deliver the outbox")
    tick.set_defaults(handler=cmd_tick)

    decide_cmd = commands.add_parser(
        "decide", help="decide one application (from flags or a JSON file) without storing it"
    )
    decide_cmd.add_argument("--file", metavar="JSON", help="the application as JSON")
    decide_cmd.add_argument("--item", metavar="CODE")
    decide_cmd.add_argument("--on", type=_date, metavar="YYYY-MM-DD")
    decide_cmd.add_argument("--id", metavar="USCC", help="the applicant's identifier")
    decide_cmd.add_argument("--name", default="申请人")
    decide_cmd.add_argument(
        "--kind", choices=[k.value for k in ApplicantKind], default="legal-person"
    )
    decide_cmd.add_argument("--grade")
    decide_cmd.add_argument("--scale", default="yangzhou-a-e")
    decide_cmd.add_argument(
        "--record", action="append", default=[], metavar="KIND:SEVERITY:DATE[:REPAIRED]"
    )
    decide_cmd.add_argument("--credit-unavailable", metavar="REASON")
    decide_cmd.add_argument("--major-level", choices=[level.value for level in ProjectLevel])
    decide_cmd.add_argument("--licence", action="append", default=[], metavar="TYPE")
    decide_cmd.add_argument("--provided", action="append", default=[], metavar="CODE")
    decide_cmd.add_argument("--choose-standard", action="store_true")
    decide_cmd.add_argument("--catalog", metavar="FILE", help="default: the sample")
    decide_cmd.add_argument(
        "--policy", action="append", default=[], metavar="FILE", help="default: the sample"
    )
    decide_cmd.add_argument("--lang", choices=("zh", "en"), default="zh")
    decide_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    decide_cmd.set_defaults(handler=cmd_decide)

    catalog = commands.add_parser("catalog", help="approval-item catalogues")
    catalog_cmds = catalog.add_subparsers(dest="catalog_command", required=True)
    check = catalog_cmds.add_parser("check", help="validate a catalogue TOML file")
    check.add_argument("file")
    check.set_defaults(handler=cmd_catalog_check)
    summary = catalog_cmds.add_parser("summary", help="count departments, items, materials")
    summary.add_argument("file", nargs="?", help="catalogue file (default: the sample)")
    summary.add_argument("--on", type=_date, required=True, help="day, YYYY-MM-DD")
    summary.set_defaults(handler=cmd_catalog_summary)

    policy = commands.add_parser("policy", help="city policies (审批分级政策)")
    policy_cmds = policy.add_subparsers(dest="policy_command", required=True)
    policy_check = policy_cmds.add_parser(
        "check", help="validate city policy files overlaid on the national defaults"
    )
    policy_check.add_argument("files", nargs="+", metavar="FILE")
    policy_check.set_defaults(handler=cmd_policy_check)

    scenarios = commands.add_parser("scenarios", help="scenario files (情景测试)")
    scenario_cmds = scenarios.add_subparsers(dest="scenarios_command", required=True)
    scenario_check = scenario_cmds.add_parser(
        "check", help="run scenario files and report every case that does not hold"
    )
    scenario_check.add_argument("files", nargs="+", metavar="FILE")
    scenario_check.add_argument("-v", "--verbose", action="store_true", help="list every case")
    scenario_check.set_defaults(handler=cmd_scenarios_check)

    calendar = commands.add_parser("calendar", help="working-day arithmetic (工作日)")
    calendar_cmds = calendar.add_subparsers(dest="calendar_command", required=True)
    add = calendar_cmds.add_parser("add", help="the N-th working day after START")
    add.add_argument("start", type=_date)
    add.add_argument("days", type=int)
    between = calendar_cmds.add_parser("between", help="working days in (START, END]")
    between.add_argument("start", type=_date)
    between.add_argument("end", type=_date)
    for sub, handler in ((add, cmd_calendar_add), (between, cmd_calendar_between)):
        sub.add_argument(
            "--override",
            action="append",
            default=[],
            metavar="FILE",
            help="a holiday-notice override file (repeatable)",
        )
        sub.set_defaults(handler=handler)

    uscc = commands.add_parser("uscc", help="validate unified social credit codes")
    uscc.add_argument("codes", nargs="+", metavar="CODE")
    uscc.set_defaults(handler=cmd_uscc)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    out = sys.stdout if out is None else out
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, out)
    except DataFileError as exc:
        sys.stderr.write(exc.report() + "\n")
        return 1
    except (CreditCommitError, ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
