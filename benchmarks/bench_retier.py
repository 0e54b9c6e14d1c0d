"""RSS over a streamed re-tiering of millions of applications with distinct item objects.

Re-tiering a whole credit-registry export decides every subject again under one policy on
one day, as a stream (nothing is kept). Each application here carries a *new*
:class:`~creditcommit.catalog.ApprovalItem` object equal to a catalogue item, as a feed read
from a file or a database makes them: that is what used to leak (a cache keyed by
``id(item)`` that never shrank, ≈ 282 MB per million decisions). The stream runs in a
child process (its memory is its own) through :meth:`creditcommit.policy.Decider.stream`;
the child samples its resident set every ``every`` decisions and reports the spread
against the RSS after the first tenth of the stream (1 M of 10 M), the target being
± 10 %. The reference is the same stream with the catalogue's own item objects, in the
same child; the first applications' decisions are checked equal to ``decide_many`` of
the same feed.

Part of ``make bench`` (section ``retier``); by hand::

    .venv/bin/python benchmarks/run.py --only retier --quick    # 300,000 applications
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
from bench_decide import ON, feed
from sections import Options, Section, peak_rss_mb, rate

from creditcommit.catalog import ApprovalItem
from creditcommit.errors import ReapplicationBarred
from creditcommit.policy import Application, Decider, Policy, decide_many

BASE = 2_000  # applicants the stream cycles through (their evidence is shared)


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux ``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


_ITEM_SLOTS = [
    (getattr(ApprovalItem, f.name).__get__, getattr(ApprovalItem, f.name).__set__)
    for f in attrs.fields(ApprovalItem)
]


def clone(item: ApprovalItem) -> ApprovalItem:
    """A new item object equal to ``item`` (``copy.copy`` costs 20 times more)."""
    new = object.__new__(ApprovalItem)
    for get, put in _ITEM_SLOTS:
        put(new, get(item))
    return new


def stream(base: Sequence[Application], total: int, *, distinct: bool) -> Iterator[Application]:
    """``total`` applications cycling through ``base``; with ``distinct``, each with a new
    item object equal to (not the same as) the catalogue's."""
    size = len(base)
    for n in range(total):
        a = base[n % size]
        yield Application(
            item=clone(a.item) if distinct else a.item,
            applicant=a.applicant,
            evidence=a.evidence,
            project=a.project,
            choose_standard=a.choose_standard,
        )


def _usable(apps: Sequence[Application], policy: Policy) -> list[Application]:
    """The applications a re-application ban does not refuse (a stream stops at one)."""
    decider = Decider(policy, ON)
    kept = []
    for a in apps:
        try:
            decider.decide_many([a])
        except ReapplicationBarred:
            continue
        kept.append(a)
    return kept


def child(total: int, every: int) -> dict[str, Any]:
    """Runs in the child process: the reference stream, then the measured one."""
    policy = Policy.sample()
    base = _usable(feed(BASE, 20230116), policy)
    expected = decide_many(base, policy, ON)
    fresh_item = next(stream(base, 1, distinct=True)).item
    assert fresh_item == base[0].item
    assert fresh_item is not base[0].item

    # The reference: shared item objects, a tenth of the stream.
    shared_n = max(total // 10, len(base))
    started = time.perf_counter()
    for _ in Decider(policy, ON).stream(stream(base, shared_n, distinct=False)):
        pass
    shared_s = time.perf_counter() - started

    samples: list[tuple[int, float]] = [(0, rss_mb())]
    routes: dict[str, int] = {}
    mismatches = 0
    decider = Decider(policy, ON)
    started = time.perf_counter()
    for n, decision in enumerate(decider.stream(stream(base, total, distinct=True)), 1):
        if n <= len(base) and decision != expected[n - 1]:
            mismatches += 1
        route = decision.route.value
        routes[route] = routes.get(route, 0) + 1
        if n % every == 0:
            samples.append((n, rss_mb()))
    elapsed = time.perf_counter() - started
    return {
        "samples": samples,
        "seconds": elapsed,
        "shared_n": shared_n,
        "shared_seconds": shared_s,
        "mismatches": mismatches,
        "routes": routes,
        "peak": peak_rss_mb(),
    }


def measure(total: int, every: int) -> dict[str, Any]:
    """:func:`child` in a fresh (spawned) process, so no other section's heap counts."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(child, (total, every))
    return result


def section(opts: Options) -> Section:
    """RSS flat (± 10 %) over a streamed re-tiering with distinct item objects."""
    total = 300_000 if opts.quick else 10_000_000
    every = total // 20  # 500,000 of 10 M
    settle = total // 10  # the RSS after 1 M of 10 M is the baseline
    found = measure(total, every)
    samples: list[tuple[int, float]] = found["samples"]
    base_rss = next(mb for n, mb in samples if n >= settle)
    after = [mb for n, mb in samples if n >= settle]
    spread = max(abs(mb - base_rss) for mb in after) / base_rss
    first, last, top = samples[1][1], samples[-1][1], max(mb for _, mb in samples)
    ours = rate(total, found["seconds"])
    shared = rate(found["shared_n"], found["shared_seconds"])
    sec = Section(
        "Streamed re-tiering (RSS)",
        intro=[
            f"{total:,} applications streamed through `Decider.stream` in a child process,",
            f"each with a new item object equal to a catalogue item (cycling through {BASE:,}",
            f"applicants and their evidence); RSS sampled every {every:,} decisions. The",
            "reference is the same stream with the catalogue's own item objects. The first",
            f"applications' decisions are checked equal to `decide_many` ({found['mismatches']}",
            "mismatches).",
        ],
    )
    if found["mismatches"]:
        raise SystemExit(f"retier: {found['mismatches']} decisions differ from decide_many")
    sec.row(
        f"stream, shared item objects ({found['shared_n']:,} applications)",
        f"{shared:,.0f}/s",
        "1 (reference)",
    )
    sec.row(
        f"stream, a new item object per application ({total:,})",
        f"{ours:,.0f}/s",
        f"{ours / shared:.2f} x shared items",
    )
    sec.row(f"RSS after {samples[1][0]:,} decisions", f"{first:,.1f} MB", "")
    sec.row(f"RSS after {settle:,} decisions (baseline)", f"{base_rss:,.1f} MB", "1 (reference)")
    sec.row(
        f"RSS after {samples[-1][0]:,} decisions", f"{last:,.1f} MB", f"{last / base_rss:.3f} x"
    )
    sec.row("RSS, largest sample", f"{top:,.1f} MB", f"{top / base_rss:.3f} x")
    sec.row(
        "peak RSS of the child", f"{found['peak']:,.1f} MB", f"{found['peak'] / base_rss:.3f} x"
    )
    sec.notes.append(
        "Routes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(found["routes"].items())) + "."
    )
    sec.target(
        "RSS flat over a 10 M streamed re-tiering with distinct item objects"
        + ("" if total == 10_000_000 else f" (run: {total:,})"),
        "± 10 % of the RSS after the first tenth",
        f"{spread * 100:+.1f} % at most".replace("+", "±"),
        spread <= 0.10,
        f"{spread / 0.10:.1f} x the allowed spread" if spread > 0.10 else "",
    )
    return sec
