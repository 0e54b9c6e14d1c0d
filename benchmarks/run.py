"""Every benchmark of creditcommit, written to ``docs/benchmarks.md`` (``make bench``).

Each figure is given with the reference it is measured against in the same run, on the
same machine, policy and inputs:

- ``decide()`` (one call: p50, p99) and ``decide_many`` (full :class:`Decision` objects)
  against a plain hand-written Python function of the same rules over the same facts, and
  against the reference interpreter (the decider before decisions were compiled);
- the rule engines on this machine's package mirror — ``regopy`` (rego-cpp, standing in
  for regorus as the Rego engine), ``panzi-json-logic``, ``rule-engine``,
  ``business-rules``, ``durable-rules`` — each given the same rules and the same facts;
  every engine's route is checked equal to creditcommit's on every input;
- the columnar path :func:`creditcommit.columns.decide_columns` against a plain numpy
  kernel, both checked equal.

Each section is a function ``section(opts) -> Section`` (``benchmarks/sections.py``) named in
``SECTIONS``; the page gets a table of every target first, then one table per section.

Run it with ``make bench`` or ``.venv/bin/python benchmarks/run.py`` (after
``pip install -e '.[bench]'``): ``--quick`` for a smoke run (small sizes, writes nothing),
``--only NAME`` for one section. It is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from bench_decide import ON, feed
from sections import Options, Section, best, rate

from creditcommit._reference import ReferenceDecider
from creditcommit.catalog import ApprovalItem
from creditcommit.columns import (
    LEVEL_ORDER,
    REFUSED,
    ROUTE_CODES,
    EvidenceState,
    RecordState,
    decide_columns,
)
from creditcommit.credit import CreditEvidence, CreditLookupFailure
from creditcommit.decision import Route
from creditcommit.errors import ReapplicationBarred
from creditcommit.policy import (
    Application,
    BlockLasts,
    MajorProjectCredit,
    Policy,
    PolicySnapshot,
    _forget_deciders,
    decide,
    decide_many,
)

T = TypeVar("T")
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
CST = dt.timezone(dt.timedelta(hours=8))
PEERS = ("regopy", "panzi-json-logic", "rule-engine", "business-rules", "durable-rules")
ROUTE_NAMES = {REFUSED: "refused", **{i: r.value for i, r in enumerate(ROUTE_CODES)}}

# --------------------------------------------------------------------------- facts


def facts_of(app: Application, snap: PolicySnapshot) -> dict[str, Any]:
    """What the rules read about one application, as plain data every engine takes."""
    found = app.evidence
    ours = app.applicant.identifier
    state = EvidenceState.USABLE
    grade, record = -1, RecordState.NONE
    if found is None:
        state = EvidenceState.MISSING
    elif isinstance(found, CreditLookupFailure):
        state = EvidenceState.FAILED
    else:
        retrieved_on = found.retrieved_at.astimezone(CST).date()
        if found.subject != ours or any(r.subject != ours for r in found.records):
            state = EvidenceState.WRONG_SUBJECT
        elif not found.verify():
            state = EvidenceState.UNVERIFIED
        elif retrieved_on > ON:
            state = EvidenceState.FUTURE
        elif retrieved_on < ON - dt.timedelta(days=snap.credit_evidence_max_age_days):
            state = EvidenceState.STALE
        elif found.scale != snap.grade_scale.name:
            state = EvidenceState.OTHER_SCALE
        if found.grade is not None:
            rank = snap.rank(found.grade)
            grade = len(snap.grade_scale) if rank is None else rank
        record = _record_state(found, snap, app.item)
    level = app.project.major_level
    return {
        "ev": state.name.lower(),
        "rec": record.name.lower(),
        "level": "" if level is None else level.value,
        "grade": grade,
        "chose": app.choose_standard,
    }


def _record_state(found: CreditEvidence, snap: PolicySnapshot, item: ApprovalItem) -> RecordState:
    if any(snap.bans(r, item, ON) for r in found.records):
        return RecordState.BANNED
    for record in found.records:
        rules = snap.blocking_rules(record, ON)
        if rules:
            if any(rule.lasts is BlockLasts.UNTIL_REPAIRED for rule in rules):
                return RecordState.UNTIL_REPAIR
            return RecordState.BLOCKING
    return RecordState.NONE


def constants(snap: PolicySnapshot, item_standard: bool) -> dict[str, Any]:
    """The policy's settings the rules read, for one item."""
    return {
        "item_standard": item_standard,
        "levels": sorted(level.value for level in snap.major_project_levels),
        "no_query": snap.major_project_credit is MajorProjectCredit.NO_QUERY,
        "unavailable": snap.credit_unavailable.value,
        "size": len(snap.grade_scale),
        "threshold": snap.conditional_threshold.rank,
    }


# --------------------------------------------------------------------------- engines


def plain(c: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    """The rules as a hand-written Python function."""
    item_standard, levels, no_query = c["item_standard"], set(c["levels"]), c["no_query"]
    unavailable, size, threshold = c["unavailable"], c["size"], c["threshold"]
    unusable = {"wrong_subject", "unverified", "stale", "future"}

    def route(f: dict[str, Any]) -> str:
        ev, grade = f["ev"], f["grade"]
        unknown = ev == "usable" and grade >= size
        if f["rec"] == "banned" and ev in {"usable", "other_scale"} and not unknown:
            return "refused"
        if item_standard:
            return "standard"
        major = f["level"] in levels
        if major and no_query:
            return "direct"
        if ev in {"missing", "failed"}:
            return unavailable
        if ev in unusable or unknown or f["rec"] != "none":
            return "standard"
        if major:
            return "direct"
        if ev == "other_scale" or grade < 0 or grade > threshold:
            return "standard"
        return "conditional"

    return route


# The same ordered rules as (condition, route) in each engine's own language.


def _ordered(c: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """The rules as ordered (condition, route) pairs of json-logic (the common source)."""
    var = lambda name: {"var": name}  # noqa: E731
    usable_ev = {"in": [var("ev"), ["usable", "other_scale"]]}
    unknown = {"and": [{"==": [var("ev"), "usable"]}, {">=": [var("grade"), c["size"]]}]}
    major = {"in": [var("level"), c["levels"]]}
    return [
        ({"and": [{"==": [var("rec"), "banned"]}, usable_ev, {"!": unknown}]}, "refused"),
        ({"==": [c["item_standard"], True]}, "standard"),
        ({"and": [major, {"==": [c["no_query"], True]}]}, "direct"),
        ({"in": [var("ev"), ["missing", "failed"]]}, c["unavailable"]),
        ({"in": [var("ev"), ["wrong_subject", "unverified", "stale", "future"]]}, "standard"),
        (unknown, "standard"),
        ({"!=": [var("rec"), "none"]}, "standard"),
        (major, "direct"),
        ({"==": [var("ev"), "other_scale"]}, "standard"),
        ({"<": [var("grade"), 0]}, "standard"),
        ({"<=": [var("grade"), c["threshold"]]}, "conditional"),
    ]


def json_logic_engine(c: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    from json_logic import jsonLogic  # noqa: PLC0415

    branches: list[Any] = []
    for condition, route in _ordered(c):
        branches += [condition, route]
    rule = {"if": [*branches, "standard"]}
    return lambda f: str(jsonLogic(rule, f))


def _rule_engine_text(c: dict[str, Any]) -> str:
    levels = ", ".join(f'"{v}"' for v in c["levels"])
    major = f"level in [{levels}]" if levels else "false"
    unknown = f'(ev == "usable" and grade >= {c["size"]})'
    checks = [
        (f'rec == "banned" and ev in ["usable", "other_scale"] and not {unknown}', "refused"),
        ("true" if c["item_standard"] else "false", "standard"),
        (f"({major}) and {'true' if c['no_query'] else 'false'}", "direct"),
        ('ev in ["missing", "failed"]', c["unavailable"]),
        ('ev in ["wrong_subject", "unverified", "stale", "future"]', "standard"),
        (unknown, "standard"),
        ('rec != "none"', "standard"),
        (major, "direct"),
        ('ev == "other_scale"', "standard"),
        ("grade < 0", "standard"),
        (f"grade <= {c['threshold']}", "conditional"),
    ]
    text = '"standard"'
    for condition, route in reversed(checks):
        text = f'({condition}) ? "{route}" : ({text})'
    return text


def rule_engine_engine(c: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    import rule_engine  # noqa: PLC0415

    rule = rule_engine.Rule(_rule_engine_text(c))
    return lambda f: str(rule.evaluate(f))


def business_rules_engine(c: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    # business-rules: variables and actions are classes; rules are data; first match wins.
    from business_rules import run_all  # noqa: PLC0415
    from business_rules.actions import BaseActions, rule_action  # noqa: PLC0415
    from business_rules.fields import FIELD_TEXT  # noqa: PLC0415
    from business_rules.variables import (  # noqa: PLC0415
        BaseVariables,
        boolean_rule_variable,
        numeric_rule_variable,
        string_rule_variable,
    )

    levels = set(c["levels"])

    class Facts(BaseVariables):  # type: ignore[misc]
        def __init__(self, f: dict[str, Any]) -> None:
            self.f = f

        @string_rule_variable  # type: ignore[untyped-decorator]
        def ev(self) -> str:
            return str(self.f["ev"])

        @string_rule_variable  # type: ignore[untyped-decorator]
        def rec(self) -> str:
            return str(self.f["rec"])

        @boolean_rule_variable  # type: ignore[untyped-decorator]
        def major(self) -> bool:
            return self.f["level"] in levels

        @numeric_rule_variable  # type: ignore[untyped-decorator]
        def grade(self) -> int:
            return int(self.f["grade"])

    class Result(BaseActions):  # type: ignore[misc]
        def __init__(self) -> None:
            self.route = "standard"

        @rule_action(params={"route": FIELD_TEXT})  # type: ignore[untyped-decorator]
        def set_route(self, route: str) -> None:
            self.route = route

    def cond(name: str, operator: str, value: object) -> dict[str, Any]:
        return {"name": name, "operator": operator, "value": value}

    def ev_in(values: Sequence[str]) -> dict[str, Any]:
        return {"any": [cond("ev", "equal_to", v) for v in values]}

    unknown = {
        "all": [
            cond("ev", "equal_to", "usable"),
            cond("grade", "greater_than_or_equal_to", c["size"]),
        ]
    }
    flag = lambda value: cond("major", "is_true" if value else "is_false", "")  # noqa: E731
    ordered = [
        (
            {
                "all": [
                    cond("rec", "equal_to", "banned"),
                    {
                        "any": [
                            cond("ev", "equal_to", "other_scale"),
                            {
                                "all": [
                                    cond("ev", "equal_to", "usable"),
                                    cond("grade", "less_than", c["size"]),
                                ]
                            },
                        ]
                    },
                ]
            },
            "refused",
        ),
        ({"all": [flag(True), flag(False)]} if not c["item_standard"] else {"all": []}, "standard"),
        ({"all": [flag(True)]} if c["no_query"] else {"all": [flag(True), flag(False)]}, "direct"),
        (ev_in(["missing", "failed"]), c["unavailable"]),
        (ev_in(["wrong_subject", "unverified", "stale", "future"]), "standard"),
        (unknown, "standard"),
        # Banned with usable evidence was refused above: only barring records remain.
        ({"any": [cond("rec", "equal_to", v) for v in ("blocking", "until_repair")]}, "standard"),
        ({"all": [flag(True)]}, "direct"),
        ({"all": [cond("ev", "equal_to", "other_scale")]}, "standard"),
        ({"all": [cond("grade", "less_than", 0)]}, "standard"),
        ({"all": [cond("grade", "less_than_or_equal_to", c["threshold"])]}, "conditional"),
    ]
    rules = [
        {"conditions": condition, "actions": [{"name": "set_route", "params": {"route": route}}]}
        for condition, route in ordered
    ]

    def route(f: dict[str, Any]) -> str:
        result = Result()
        run_all(rules, Facts(f), result, stop_on_first_trigger=True)
        return result.route

    return route


_DURABLE = 0


def durable_rules_engine(c: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    # durable-rules: a Rete engine; an event is consumed by the matching rule of highest
    # priority (lowest pri), which gives the first-match order of the other engines.
    from durable.lang import m, post, pri, ruleset, when_all  # noqa: PLC0415

    global _DURABLE  # noqa: PLW0603 - ruleset names must be unique per process
    _DURABLE += 1
    name = f"route{_DURABLE}"
    results: dict[int, str] = {}
    levels = c["levels"]
    major = m.level == levels[0] if levels else m.level == "<none>"
    for level in levels[1:]:
        major = major | (m.level == level)
    unknown = (m.ev == "usable") & (m.grade >= c["size"])
    usable = ((m.ev == "usable") & (m.grade < c["size"])) | (m.ev == "other_scale")
    ordered: list[tuple[Any, str]] = [((m.rec == "banned") & usable, "refused")]
    if c["item_standard"]:
        ordered.append((+m.ev, "standard"))
    if c["no_query"]:
        ordered.append((major, "direct"))
    ordered += [
        ((m.ev == "missing") | (m.ev == "failed"), c["unavailable"]),
        (
            (m.ev == "wrong_subject")
            | (m.ev == "unverified")
            | (m.ev == "stale")
            | (m.ev == "future"),
            "standard",
        ),
        (unknown, "standard"),
        (m.rec != "none", "standard"),
        (major, "direct"),
        (m.ev == "other_scale", "standard"),
        (m.grade < 0, "standard"),
        (m.grade <= c["threshold"], "conditional"),
        (+m.ev, "standard"),
    ]
    with ruleset(name):
        for priority, (condition, route) in enumerate(ordered, 1):
            # One parameter only: durable-rules passes a completion callback to a second.
            when_all(pri(priority), condition)(_setter(results, route))
    counter = iter(range(10**12))

    def route(f: dict[str, Any]) -> str:
        n = next(counter)
        post(name, {**f, "id": n})
        return results.pop(n)

    return route


def _setter(results: dict[int, str], route: str) -> Callable[[Any], None]:
    def action(context: Any) -> None:
        results[context.m.id] = route

    return action


def _rego_text(c: dict[str, Any]) -> str:
    """The rules as a Rego v1 module: one ``route`` rule whose ``else`` chain is the order.

    Branches that cannot hold for this item (a setting that is off, no major-project
    levels) are left out, as in the durable-rules engine.
    """
    levels = ", ".join(f'"{v}"' for v in c["levels"])
    chain: list[tuple[str, list[str]]] = [
        ("refused", ['input.rec == "banned"', "usable_ev", "not unknown"])
    ]
    if c["item_standard"]:
        chain.append(("standard", ["true"]))
    if levels and c["no_query"]:
        chain.append(("direct", ["major"]))
    chain += [
        (c["unavailable"], ['input.ev in {"missing", "failed"}']),
        ("standard", ['input.ev in {"wrong_subject", "unverified", "stale", "future"}']),
        ("standard", ["unknown"]),
        ("standard", ['input.rec != "none"']),
    ]
    if levels:
        chain.append(("direct", ["major"]))
    chain += [
        ("standard", ['input.ev == "other_scale"']),
        ("standard", ["input.grade < 0"]),
        ("conditional", [f"input.grade <= {c['threshold']}"]),
    ]
    lines = [
        "package creditcommit",
        "",
        "import rego.v1",
        "",
        'usable_ev if input.ev in {"usable", "other_scale"}',
        "",
        "unknown if {",
        '\tinput.ev == "usable"',
        f"\tinput.grade >= {c['size']}",
        "}",
        "",
    ]
    if levels:
        lines += [f"major if input.level in {{{levels}}}", ""]
    for n, (route, body) in enumerate(chain):
        head = f'route := "{route}" if {{' if n == 0 else f'}} else := "{route}" if {{'
        lines += [head, *(f"\t{condition}" for condition in body)]
    lines += ['} else := "standard"', ""]
    return "\n".join(lines)


def rego_engine(c: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    # regopy: Microsoft's rego-cpp (a C++ Rego interpreter); the module compiled once into
    # a bundle, each application's facts set as the input document, the bundle queried.
    import json  # noqa: PLC0415

    import regopy  # noqa: PLC0415

    rego = regopy.Interpreter()
    rego.add_module("creditcommit", _rego_text(c))
    bundle = rego.build("data.creditcommit.route")
    dumps, loads = json.dumps, json.loads

    def route(f: dict[str, Any]) -> str:
        rego.set_input_term(dumps(f))
        out = rego.query_bundle(bundle)  # keep it alive: its nodes point into it
        return str(loads(out.expressions()[0].json()))

    return route


ENGINES: dict[str, Callable[[dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
    "regopy (rego-cpp)": rego_engine,
    "panzi-json-logic": json_logic_engine,
    "rule-engine": rule_engine_engine,
    "business-rules": business_rules_engine,
    "durable-rules": durable_rules_engine,
}

# --------------------------------------------------------------------------- timing


def _route_of(run: Callable[[], Any]) -> str:
    try:
        decision = run()
    except ReapplicationBarred:
        return "refused"
    return str(decision.eligible_route.value)


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for dist in ("creditcommit", "numpy", *PEERS):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores, possibly shared with other jobs "
        "(every figure is for one core: creditcommit, the plain function and the kernels "
        "best of several runs, the rule engines one run)",
        f"- Python {platform.python_version()} ({platform.python_implementation()}) on "
        f"{platform.system()} {platform.release()}",
        f"- {', '.join(versions)}",
        "- regorus (Rego), the engine issue 11 names, is not on this machine's package "
        "mirror and cannot be built offline (it needs a Rust toolchain and crates): not "
        "measured. regopy (Microsoft's rego-cpp, a C++ Rego interpreter) stands in as the "
        "Rego engine, with the same rules as a Rego v1 module.",
    ]


def _short(times: float) -> str:
    """How far a figure falls short of its goal: ``"12 % short"`` or ``"2.5 x short"``."""
    return f"{(times - 1) * 100:.0f} % short" if times < 1.5 else f"{times:.1f} x short"


def cpu_best(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Like :func:`sections.best`, in CPU seconds of this thread: the other jobs of a
    shared machine do not count (on an idle machine it is the wall time)."""
    fastest = float("inf")
    result: Any = None
    for _ in range(max(1, repeat)):
        started = time.thread_time()
        result = run()
        fastest = min(fastest, time.thread_time() - started)
    return fastest, result


# The sections of docs/benchmarks.md, in order: (name for --only, "module:function").
SECTIONS: list[tuple[str, str]] = [
    ("decisions", "run:decisions"),
    ("columns", "run:columns"),
    ("retier", "bench_retier:section"),
    ("draws", "bench_draws:section"),
    ("pipeline", "bench_pipeline:section"),
    ("pipeline-postgres", "bench_pipeline_pg:section"),
    ("report", "bench_report:section"),
]


def decisions(opts: Options) -> Section:  # noqa: PLR0915 - one section
    """decide_many, decide() and one call against the plain function and the rule engines."""
    n_apps = 2_000 if opts.quick else 20_000
    single = 2_000 if opts.quick else 20_000
    repeat = max(3, opts.repeat)  # creditcommit's subjects are cheap: best of 3 at least
    policy = Policy.sample()
    apps = feed(n_apps, 20230116)
    n = len(apps)
    sec = Section(
        "Decisions",
        intro=[
            "The bundled sample policy (national defaults, Yangzhou, Jiangdu, Gaoyou) and a",
            f"seeded feed of {n:,} applications for the two sample items. Every engine is",
            "given the same rules and facts; its route is checked equal to creditcommit's on",
            "every input. Throughputs are CPU time of the measuring thread (best of",
            f"{repeat} for creditcommit and the plain function, one run for the engines), so",
            "that other jobs of a shared machine do not count; one call's p50 and p99 are",
            "wall time per call.",
        ],
    )
    row = sec.row

    # creditcommit: decide_many, a decide() loop, the reference interpreter. The first
    # decide_many compiles the policy for the day (the shared Decider, each item's plan,
    # the decision table, the reasons' shared parts): timed apart, cold, then every
    # subject warm (best of `repeat`), so the loop and the batch compare like for like.
    _forget_deciders()
    cold_s, _ = cpu_best(lambda: decide_many(apps, policy, ON), 1)
    many_s, decisions = cpu_best(lambda: decide_many(apps, policy, ON), repeat)
    assert isinstance(decisions, list)
    ours = []
    for app in apps:
        ours.append(
            _route_of(
                lambda app=app: decide(
                    item=app.item,
                    applicant=app.applicant,
                    evidence=app.evidence,
                    policy=policy,
                    on=ON,
                    project=app.project,
                    choose_standard=app.choose_standard,
                )
            )
        )

    def loop() -> None:
        for a in apps:
            decide(
                item=a.item,
                applicant=a.applicant,
                evidence=a.evidence,
                policy=policy,
                on=ON,
                project=a.project,
                choose_standard=a.choose_standard,
            )

    loop_s, _ = cpu_best(loop, repeat)
    reference = ReferenceDecider(policy, ON)
    ref_s, ref_decisions = cpu_best(lambda: reference.decide_many(apps), 1)
    assert ref_decisions == decisions, "the compiled decider differs from the reference"

    # The facts and the rules per item, for the plain function and every engine.
    snaps = {a.item.code: policy.at(ON, item=a.item) for a in apps}
    consts = {}
    for a in apps:
        if a.item.code not in consts:
            decider_reasons = decide(
                item=a.item, applicant=a.applicant, evidence=None, policy=policy, on=ON
            ).reasons
            item_standard = decider_reasons[0].code.startswith("item-")
            consts[a.item.code] = constants(snaps[a.item.code], item_standard)
    facts = [(a.item.code, facts_of(a, snaps[a.item.code])) for a in apps]

    def run_engine(make: Callable[[dict[str, Any]], Callable[[dict[str, Any]], str]]) -> Any:
        routes = {code: make(c) for code, c in consts.items()}
        return lambda: [routes[code](f) for code, f in facts]

    plain_s, plain_routes = cpu_best(run_engine(plain), repeat)
    assert plain_routes == ours, "the plain function disagrees with decide()"

    row(
        f"plain Python function ({n:,} applications)", f"{rate(n, plain_s):,.0f}/s", "1 (reference)"
    )
    row(
        "creditcommit decide_many (full Decision objects)",
        f"{rate(n, many_s):,.0f}/s",
        f"{plain_s / many_s:.3f} x plain",
    )
    row(
        "creditcommit decide() loop", f"{rate(n, loop_s):,.0f}/s", f"{plain_s / loop_s:.3f} x plain"
    )
    row(
        "creditcommit decide_many, first run (compiles the policy for the day)",
        f"{rate(n, cold_s):,.0f}/s",
        f"{plain_s / cold_s:.3f} x plain",
    )
    row(
        "reference interpreter (before compilation)",
        f"{rate(n, ref_s):,.0f}/s",
        f"{plain_s / ref_s:.3f} x plain; decide_many is {ref_s / many_s:.1f} x faster",
    )

    rego_s: float | None = None
    for peer, make in ENGINES.items():
        try:
            run = run_engine(make)
        except ImportError as exc:
            row(peer, "not installed", str(exc))
            continue
        peer_s, routes = cpu_best(run, 1)
        if make is rego_engine:
            rego_s = peer_s
        assert isinstance(routes, list)
        mismatches = sum(1 for a, b in zip(routes, ours, strict=True) if a != b)
        row(
            f"{peer} (routes only; {mismatches} mismatches)",
            f"{rate(n, peer_s):,.0f}/s",
            f"{plain_s / peer_s:.3f} x plain; decide_many is {peer_s / many_s:.1f} x faster",
        )
        if mismatches:
            raise SystemExit(f"{peer}: {mismatches} routes differ from creditcommit's")

    # One decide() call: p50 and p99 over many calls, warm.
    timings = []
    clock = time.perf_counter_ns
    for app in (apps * (single // n + 1))[:single]:
        started = clock()
        with contextlib.suppress(ReapplicationBarred):
            decide(
                item=app.item,
                applicant=app.applicant,
                evidence=app.evidence,
                policy=policy,
                on=ON,
                project=app.project,
                choose_standard=app.choose_standard,
            )
        timings.append(clock() - started)
    timings.sort()
    p50 = statistics.median(timings) / 1000
    p99 = timings[int(len(timings) * 0.99)] / 1000
    plain_one = plain_s / n * 1e6
    row("decide() one call, p50", f"{p50:.1f} µs", f"{p50 / plain_one:.1f} x plain per call")
    row("decide() one call, p99", f"{p99:.1f} µs", f"{p99 / plain_one:.1f} x plain per call")

    many_rate = rate(n, many_s)
    sec.target(
        "decide_many, full Decision per applicant",
        ">= 500,000/s",
        f"{many_rate:,.0f}/s",
        many_rate >= 500_000,
        _short(500_000 / many_rate) if many_rate < 500_000 else "",
    )
    if rego_s is None:
        sec.target(
            "decide_many >= 5 x the Rego engine",
            ">= 5 x",
            "not measured",
            False,
            "regopy is not installed (pip install -e '.[bench]')",
        )
    else:
        times = rego_s / many_s
        sec.target(
            "decide_many >= 5 x the Rego engine (regopy/rego-cpp; the issue named regorus)",
            ">= 5 x",
            f"{times:,.1f} x",
            times >= 5,
            f"{5 / times:.1f} x short" if times < 5 else "",
        )
    sec.target(
        "decide() one call, p99",
        "<= 10 µs",
        f"{p99:.1f} µs",
        p99 <= 10,
        f"{p99 / 10:.1f} x over" if p99 > 10 else "",
    )
    return sec


def columns(opts: Options) -> Section:
    """decide_columns against a plain numpy kernel on the same random export."""
    m = 200_000 if opts.quick else 5_000_000
    policy = Policy.sample()
    apps = feed(200, 20230116)
    item = apps[0].item
    snap = policy.at(ON, item=item)
    item_standard = (
        decide(item=item, applicant=apps[0].applicant, evidence=None, policy=policy, on=ON)
        .reasons[0]
        .code.startswith("item-")
    )
    c = constants(snap, item_standard)
    rng = np.random.default_rng(7)
    size = len(snap.grade_scale)
    cols = {
        "grades": rng.integers(-1, size + 1, m, dtype=np.int8),
        "records": rng.choice(np.array([0, 0, 0, 1, 2, 3], dtype=np.int8), m),
        "major_levels": rng.choice(np.array([-1] * 8 + [0, 1, 2, 3], dtype=np.int8), m),
        "evidence": rng.choice(np.array([0] * 12 + list(range(8)), dtype=np.int8), m),
    }
    sec = Section(
        "The columnar path",
        intro=[
            f"{m:,} random applicants (grade, record state, major-project level, evidence",
            "state as small integers) for one sample item; route and reason code per",
            "applicant, checked equal to the kernel's.",
        ],
    )
    col_s, result = best(lambda: decide_columns(policy, ON, item, **cols), opts.repeat)
    kernel_s, (k_routes, k_reasons) = best(
        lambda: numpy_kernel(c, cols, result.reason_codes), opts.repeat
    )
    assert np.array_equal(result.routes, k_routes), "decide_columns differs from the numpy kernel"
    assert np.array_equal(result.reasons, k_reasons), "reason codes differ from the numpy kernel"
    sec.row(
        f"plain numpy kernel ({m:,} applicants)",
        f"{rate(m, kernel_s) / 1e6:,.1f} M/s",
        "1 (reference)",
    )
    sec.row(
        "creditcommit decide_columns (route + reason code)",
        f"{rate(m, col_s) / 1e6:,.1f} M/s",
        f"{kernel_s / col_s:.2f} x numpy kernel",
    )
    col_rate = rate(m, col_s)
    sec.target(
        "columnar, route + reason code per applicant",
        ">= 20 M/s",
        f"{col_rate / 1e6:,.1f} M/s",
        col_rate >= 20e6,
        f"{20e6 / col_rate:.1f} x short" if col_rate < 20e6 else "",
    )
    return sec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=[name for name, _ in SECTIONS],
        help="run only this section (repeatable); the page is then written to --out only "
        "if --out is given",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    opts = Options(quick=args.quick, repeat=1 if args.quick else args.repeat)
    out = args.out if args.out is not None else (None if args.only or args.quick else DOC)
    started = time.perf_counter()
    sections = []
    for name, where in SECTIONS:
        if args.only and name not in args.only:
            continue
        module_name, function = where.split(":")
        module = (
            sys.modules[__name__] if module_name == "run" else importlib.import_module(module_name)
        )
        print(f"== {name}", flush=True)
        sections.append(getattr(module, function)(opts))
    elapsed = time.perf_counter() - started
    print(f"all sections in {elapsed:.0f} s")
    if out is not None:
        write(out, sections, elapsed)


def numpy_kernel(c: dict[str, Any], cols: dict[str, Any], codes: Sequence[str]) -> tuple[Any, Any]:
    """The rules as hand-written numpy: masks, first match wins (np.select)."""
    g, rec, lvl, ev = cols["grades"], cols["records"], cols["major_levels"], cols["evidence"]
    size = c["size"]
    listed = np.array([level.value in c["levels"] for level in LEVEL_ORDER] + [False])
    major = listed[lvl]  # -1 indexes the trailing False
    usable_ev = ev == EvidenceState.USABLE
    unknown = usable_ev & (g >= size)
    usable = (usable_ev | (ev == EvidenceState.OTHER_SCALE)) & ~unknown
    unavailable = ROUTE_CODES.index(Route(c["unavailable"]))
    missing, failed = ev == EvidenceState.MISSING, ev == EvidenceState.FAILED
    bad = (ev >= EvidenceState.WRONG_SUBJECT) & (ev <= EvidenceState.FUTURE)
    blocked = (rec == RecordState.BLOCKING) | (rec == RecordState.UNTIL_REPAIR)
    item_standard = np.full(len(g), c["item_standard"])
    no_query = major & c["no_query"]
    conds = [
        usable & (rec == RecordState.BANNED),
        item_standard,
        no_query,
        missing,
        failed,
        bad,
        unknown,
        blocked & major,
        blocked,
        major,
        ev == EvidenceState.OTHER_SCALE,
        g < 0,
        g <= c["threshold"],
    ]
    routes = [REFUSED, 0, 2, unavailable, unavailable, 0, 0, 0, 0, 2, 0, 0, 1]
    index = {code: i for i, code in enumerate(codes)}

    def code(name: str) -> int:
        return index.get(name, -1)

    ev_codes = np.array(
        [
            -1,
            -1,
            -1,
            code("credit-evidence-wrong-subject"),
            code("credit-evidence-unverified"),
            code("credit-evidence-stale"),
            code("credit-evidence-future"),
            -1,
        ],
        dtype=np.int16,
    )
    rec_codes = np.array(
        [-1, code("blocking-record"), code("blocking-record-until-repair"), -1], dtype=np.int16
    )
    item_code = code(next((n for n in codes if n.startswith("item-")), "item-"))
    reasons = [
        code("reapplication-ban"),
        item_code,
        code("major-project-no-query"),
        code("credit-evidence-missing"),
        code("credit-lookup-failed"),
        ev_codes[ev],
        code("credit-grade-unknown"),
        code("major-project-blocked"),
        rec_codes[rec],
        code("major-project-direct"),
        code("credit-scale-mismatch"),
        code("credit-grade-missing"),
        code("credit-grade-meets-threshold"),
    ]
    out_routes = np.select(conds, routes, 0).astype(np.int8)
    out_reasons = np.select(conds, reasons, code("credit-grade-below-threshold")).astype(np.int16)
    return out_routes, out_reasons


def write(path: Path, sections: list[Section], elapsed: float) -> None:
    targets = [t for sec in sections for t in sec.targets]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py` (`make bench`); do not edit by hand. Every figure",
        "is measured in the same run as its reference, on the same machine and inputs, and",
        "every subject's answers are checked equal to its reference's. See",
        "`docs/performance.md` for what the figures mean.",
        "",
        f"Run on {dt.datetime.now(dt.UTC).date().isoformat()}, {elapsed / 60:.0f} minutes in all:",
        "",
        *machine(),
        "",
        "## Targets",
        "",
        "| Target | Goal | Measured | Met |",
        "| --- | --- | --- | --- |",
        *(
            f"| {t.what} | {t.goal} | {t.measured} | {'yes' if t.met else 'no: ' + t.note} |"
            for t in targets
        ),
        "",
    ]
    for sec in sections:
        lines += [f"## {sec.title}", "", *sec.intro, ""]
        lines += ["| What | Figure | Against its reference |", "| --- | ---: | --- |"]
        lines += [f"| {what} | {figure} | {ratio} |" for what, figure, ratio in sec.rows]
        lines += [""]
        if sec.notes:
            lines += [*sec.notes, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
