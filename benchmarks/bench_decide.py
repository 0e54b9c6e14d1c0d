"""Throughput of the batch path: ``decide_many`` against a naive loop of ``decide``.

Re-tiering every entity of a city when a credit feed changes means deciding hundreds of
thousands of applications under one policy on one day. This script generates such a feed
(deterministically, from a seed), times :func:`creditcommit.policy.decide_many` over all of
it and a plain loop of :func:`creditcommit.policy.decide` over a slice, checks that both
give the same decisions, and prints decisions per second and the speed-up.

Run it by hand (pytest does not collect it)::

    .venv/bin/python benchmarks/bench_decide.py            # 200 000 applications
    .venv/bin/python benchmarks/bench_decide.py -n 20000 --naive 5000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from creditcommit.catalog import Catalog
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    Severity,
)
from creditcommit.decision import Applicant, Decision, ProjectFacts, ProjectLevel
from creditcommit.identifiers import uscc_check_char
from creditcommit.policy import Application, Policy, decide, decide_many

ON = dt.date(2025, 6, 2)
AT = dt.datetime(2025, 6, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
NO_PROJECT = ProjectFacts()
MAJOR = ProjectFacts(ProjectLevel.MUNICIPAL)


def feed(count: int, seed: int) -> list[Application]:
    """``count`` applications for the two sample items, one entity each."""
    rng = random.Random(seed)
    items = Catalog.sample().items(ON)
    grades = ("A", "B", "C", "D", "E")
    kinds = list(CreditRecordKind)
    severities = list(Severity)
    apps = []
    for n in range(count):
        first17 = f"91321084{n:09d}"
        applicant = Applicant(first17 + uscc_check_char(first17), f"企业{n}")
        roll = rng.random()
        found: CreditEvidence | CreditLookupFailure | None
        if roll < 0.05:
            found = None
        elif roll < 0.10:
            found = CreditLookupFailure(
                subject=applicant.identifier, source="信用扬州", attempted_at=AT, reason="timeout"
            )
        else:
            records = [
                CreditRecord.with_default_periods(
                    record_id=f"R-{n}-{i}",
                    subject=applicant.identifier,
                    kind=rng.choice(kinds),
                    severity=rng.choice(severities),
                    decided_on=ON - dt.timedelta(days=rng.randrange(5 * 365)),
                )
                for i in range(rng.choice((0, 0, 0, 1, 2)))
            ]
            found = CreditEvidence.create(
                subject=applicant.identifier,
                source="信用扬州",
                retrieved_at=AT,
                scale="yangzhou-a-e",
                grade=rng.choice(grades),
                records=records,
            )
        apps.append(
            Application(
                item=rng.choice(items),
                applicant=applicant,
                evidence=found,
                project=MAJOR if rng.random() < 0.05 else NO_PROJECT,
                choose_standard=rng.random() < 0.02,
            )
        )
    return apps


def naive(apps: list[Application], policy: Policy) -> list[Decision]:
    return [
        decide(
            item=a.item,
            applicant=a.applicant,
            evidence=a.evidence,
            project=a.project,
            policy=policy,
            on=ON,
            choose_standard=a.choose_standard,
        )
        for a in apps
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="applications in the feed")
    parser.add_argument("--naive", type=int, default=50_000, help="applications for the loop")
    parser.add_argument("--seed", type=int, default=20230116)
    args = parser.parse_args()

    started = time.perf_counter()
    apps = feed(args.n, args.seed)
    policy = Policy.sample()
    print(f"generated {len(apps):,} applications in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    batch = decide_many(apps, policy, ON)
    batch_s = time.perf_counter() - started

    subset = apps[: min(args.naive, len(apps))]
    started = time.perf_counter()
    single = naive(subset, policy)
    naive_s = time.perf_counter() - started

    if batch[: len(single)] != single:
        raise SystemExit("decide_many and decide disagree")
    batch_rate = len(batch) / batch_s
    naive_rate = len(single) / naive_s
    routes: dict[str, int] = {}
    for decision in batch:
        routes[decision.route.name] = routes.get(decision.route.name, 0) + 1
    print(f"decide_many: {len(batch):,} decisions in {batch_s:.2f} s = {batch_rate:,.0f}/s")
    print(f"decide loop: {len(single):,} decisions in {naive_s:.2f} s = {naive_rate:,.0f}/s")
    print(f"speed-up: {batch_rate / naive_rate:.2f}x (same decisions: yes)")
    print("routes:", ", ".join(f"{k} {v:,}" for k, v in sorted(routes.items())))


if __name__ == "__main__":
    main()
