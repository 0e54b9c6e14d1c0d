"""The ``creditcommit`` command.

Errors are one clear line on standard error and a non-zero exit code, never a traceback:
1 for bad input (a malformed file, an invalid identifier, a year without calendar data),
2 for a command line that does not parse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from creditcommit import _demo
from creditcommit.__about__ import __version__
from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import Catalog
from creditcommit.errors import CreditCommitError, DataFileError
from creditcommit.identifiers import USCC
from creditcommit.policy import SETTINGS, Policy
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
    _demo.run(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creditcommit",
        description="Credit + commitment (信用+承诺) tiered administrative approval.",
    )
    parser.add_argument("--version", action="version", version=f"creditcommit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="walk through what the library does")
    demo.set_defaults(handler=cmd_demo)

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
    except (CreditCommitError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
