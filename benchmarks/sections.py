"""What every benchmark section of ``make bench`` returns, and the helpers they share.

``benchmarks/run.py`` runs each section named in its ``SECTIONS`` list and writes them all
to ``docs/benchmarks.md``. A section is a function ``section(opts: Options) -> Section``:
it measures its subject and its reference *in the same run*, checks that both give the same
answers, and returns its rows (each figure with its ratio to the reference) and the targets
it was measured against (met, or missed by how much).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """The command line of ``benchmarks/run.py``, as every section sees it."""

    #: Small sizes, for a smoke run (figures are not meaningful).
    quick: bool = False
    #: How many times the fast subjects are run (the best run is kept).
    repeat: int = 3


@dataclass(frozen=True)
class Target:
    """One target of issue 11 and what this run measured against it."""

    what: str
    goal: str
    measured: str
    met: bool
    #: When missed: by how much, and why (one sentence).
    note: str = ""


@dataclass
class Section:
    """One ``##`` section of ``docs/benchmarks.md``."""

    title: str
    #: Paragraph lines before the table: inputs, sizes, what is checked equal.
    intro: list[str] = field(default_factory=list)
    #: ``(what, figure, against its reference)`` rows.
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    #: Lines after the table (notes on a figure).
    notes: list[str] = field(default_factory=list)

    def row(self, what: str, figure: str, ratio: str) -> None:
        """Add a row and print it at once (a long run shows its progress)."""
        self.rows.append((what, figure, ratio))
        print(f"{what:60} {figure:>18} {ratio}", flush=True)

    def target(self, what: str, goal: str, measured: str, met: bool, note: str = "") -> None:
        self.targets.append(Target(what, goal, measured, met, note))
        verdict = "met" if met else f"MISSED {note}"
        print(f"target {what}: {goal}; measured {measured}: {verdict}", flush=True)


def rate(count: int, seconds: float) -> float:
    """Items per second."""
    return count / seconds if seconds > 0 else float("inf")


def best(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The shortest wall time of ``repeat`` runs, and the last run's result."""
    fastest = float("inf")
    result: T | None = None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = run()
        fastest = min(fastest, time.perf_counter() - started)
    assert result is not None or repeat >= 1
    return fastest, result  # type: ignore[return-value]


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux: ``ru_maxrss`` is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
