"""Throughput and memory of :func:`creditcommit.draws.draw` against a naive in-memory sampler.

A provincial target registry holds millions of market entities. This script streams a
synthetic registry of ``-n`` targets (1 000 000 by default; cheap USCC-like ids, grades A–E)
through :func:`~creditcommit.draws.draw` from a function that returns a fresh generator
(two passes, nothing held), and through a naive sampler that loads the whole population
into a list, computes every key and ``sorted()``s each grade. It checks that both draw the
same targets, then prints targets per second and the peak traced memory of each, and the
ratios between them.

The naive sampler only selects: it neither digests the population nor assigns inspectors,
so the speed ratio flatters it. Peak memory is measured in a second run of each under
``tracemalloc`` (which slows Python down several times, so it is not timed).

Run it by hand (pytest does not collect it)::

    .venv/bin/python benchmarks/bench_draws.py              # 1 000 000 targets
    .venv/bin/python benchmarks/bench_draws.py -n 200000
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import TypeVar

from creditcommit.draws import DrawRecord, Inspector, SeedCommitment, Target, draw

T = TypeVar("T")

SEED = hashlib.sha256(b"creditcommit benchmark seed").digest()
# Henan 2020, five 互联网+监管 classes (domain.md §3.3), lowest risk first.
RATIOS = {"A": Fraction(1, 100), "B": Fraction(4, 100), "C": Fraction(8, 100)}
RATIOS |= {"D": Fraction(20, 100), "E": Fraction(1)}
# Most entities are in the good grades; very few in E (sampled at 100 %).
MIX = "A" * 40 + "B" * 30 + "C" * 20 + "D" * 9 + "E"
ROSTER = [Inspector(f"执法{i:04d}", f"检查员{i}") for i in range(200)]


def registry(size: int) -> Callable[[], Iterator[Target]]:
    """A registry export: each call returns a fresh generator of ``size`` targets."""

    def export() -> Iterator[Target]:
        return (Target(f"91320000{n:010d}", MIX[(n * 7919) % len(MIX)]) for n in range(size))

    return export


def streaming(export: Callable[[], Iterator[Target]]) -> DrawRecord:
    commitment = SeedCommitment.create(SEED)
    return draw(
        export,
        ratios=RATIOS,
        inspectors=ROSTER,
        seed=SEED,
        commitment=commitment.digest,
        draw_id="bench",
    )


def naive(export: Callable[[], Iterator[Target]]) -> list[str]:
    """Load everything, key everything, sort each grade: the obvious way."""
    key = hashlib.sha256(
        b"creditcommit/draw/v1\x00" + len(SEED).to_bytes(4, "big") + SEED + bytes(4)
    ).digest()
    population = list(export())
    by_grade: dict[str, list[tuple[bytes, Target]]] = defaultdict(list)
    for target in population:
        digest = hashlib.sha256(key + b"\x01" + target.id.encode()).digest()
        by_grade[target.grade].append((digest, target))
    drawn: list[tuple[bytes, Target]] = []
    for grade, members in by_grade.items():
        members.sort(key=lambda m: m[0])
        drawn += members[: math.ceil(RATIOS[grade] * len(members))]
    return [t.id for _, t in sorted(drawn, key=lambda m: m[0])]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="targets in the registry")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    args = parser.parse_args()
    export = registry(args.n)

    record, t_stream = timed(lambda: streaming(export))
    ids, t_naive = timed(lambda: naive(export))
    if [s.target.id for s in record.selections] != ids:
        raise SystemExit("the streaming draw and the naive sampler disagree")

    print(f"population            {args.n:>12,} targets, {len(ROSTER)} inspectors")
    print(f"drawn                 {len(ids):>12,} targets {dict(record.sample_sizes)}")
    print(f"draw (streaming)      {args.n / t_stream:>12,.0f} targets/s  ({t_stream:.2f} s)")
    print(f"naive sorted()        {args.n / t_naive:>12,.0f} targets/s  ({t_naive:.2f} s)")
    print(f"speed, draw / naive   {t_naive / t_stream:>12.2f} x")
    if args.no_memory:
        return
    m_stream = peak(lambda: streaming(export))
    m_naive = peak(lambda: naive(export))
    print(f"peak memory, draw     {m_stream / 1e6:>12.1f} MB (tracemalloc)")
    print(f"peak memory, naive    {m_naive / 1e6:>12.1f} MB (tracemalloc)")
    print(f"memory, naive / draw  {m_naive / m_stream:>12.1f} x")


if __name__ == "__main__":
    main()
