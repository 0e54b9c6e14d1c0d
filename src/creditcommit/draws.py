"""Random inspection draws (双随机、一公开): stratified by credit grade, replayable, verifiable.

- :class:`Target`, :class:`Inspector`, :class:`Conflict`: a row of the target registry
  (检查对象名录库), of the inspector registry (执法检查人员名录库), and a recusal declaration
  (回避).
- :class:`SeedCommitment`: the SHA-256 of the draw's seed, published before the draw; the
  seed is revealed after it.
- :func:`draw`: samples every credit grade at its ratio (sample size ``ceil(ratio × count)``)
  by keeping, per grade, the targets with the smallest keys — the first 32 bytes of the
  target's keyed SHAKE-256 element ``SHAKE-256(K ‖ 03 ‖ line)``, which is also its share of
  the population digest (bottom-k sampling, O(sample) memory) — then gives every drawn
  target ``per_target`` distinct inspectors from those qualified for its inspection type
  and not recused, balanced: least-loaded first, a seeded tie value per inspector and load
  deciding among equal loads (format 3; see ``docs/draws.md``).
- :class:`DrawRecord`: everything needed to re-run the draw, and its result;
  :func:`verify_draw` re-runs it and says what differs.

Everything random is derived from the seed (and an optional public ``beacon``) with SHA-256
and SHAKE-256: no ``random`` module, no clock, no I/O beyond iterating the population the
caller passes in.
The exact construction is documented in ``docs/draws.md`` so that anyone can re-implement it.
"""

from __future__ import annotations

import array
import hashlib
import heapq
import hmac
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Self, TypeAlias

import attrs

from creditcommit._bulk import bulk as _bulk
from creditcommit._converter import describe, structure
from creditcommit.errors import (
    DataFileError,
    DrawError,
    DrawVerificationError,
    InvalidValue,
    Problem,
)
from creditcommit.identifiers import mask_resident_ids
from creditcommit.population import TargetColumns, first_problem

__all__ = [
    "Conflict",
    "DrawRecord",
    "DrawnTarget",
    "FORMAT",
    "FORMATS",
    "FORMAT_1",
    "FORMAT_2",
    "Inspector",
    "SeedCommitment",
    "Target",
    "TargetColumns",
    "draw",
    "sample_size",
    "verify_draw",
]

FORMAT = "creditcommit-draw/3"
"""The ``format`` of new draws (:meth:`DrawRecord.to_dict`); bumped when the construction
changes. Format 3 hashes each target once (one SHAKE-256 output is both its population
digest element and its draw key) and assigns inspectors from a heap (least-loaded first,
ties broken by a seeded hash of the inspector and its load), so that a draw over millions of
targets is fast; see ``docs/draws.md``."""

FORMAT_2 = "creditcommit-draw/2"
"""The second format: the target's inspection type, only qualified inspectors drawn; two
hashes per target and a random roster order per drawn target. Still read and verified."""

FORMAT_1 = "creditcommit-draw/1"
"""The first format: targets without inspection types, qualifications not considered.
Records in it are still read and verified by its own construction."""

FORMATS = (FORMAT_1, FORMAT_2, FORMAT)

MIN_SEED_BYTES = 16
"""A shorter seed could be found from its published hash by trying every value."""

_TAG = b"creditcommit/draw/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_RATIO_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?|[0-9]+/[1-9][0-9]*")
_DIGEST_MODULUS = 1 << 2048
_DIGEST_BYTES = 256


# --------------------------------------------------------------------------- errors


# --------------------------------------------------------------------------- values


def _text_problems(path: str, value: object, what: str) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem(path, f"expected a string, got {describe(value)}")]
    if not value or value != value.strip():
        return [
            Problem(path, f"expected a non-empty {what} without surrounding spaces, got {value!r}")
        ]
    return []


def _labels(values: Iterable[str]) -> tuple[str, ...]:
    # Tags and fields are sets: sorted and deduplicated, so their order never matters.
    if not values:
        return ()
    return tuple(sorted(set(values)))


def _labels_problems(path: str, values: tuple[object, ...], what: str) -> list[Problem]:
    problems: list[Problem] = []
    for i, value in enumerate(values):
        problems += _text_problems(f"{path}[{i}]", value, what)
    return problems


def _masked_data(value: Any) -> Any:
    if isinstance(value, str):
        return mask_resident_ids(value)
    if isinstance(value, Mapping):
        return {_masked_data(k): _masked_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_data(v) for v in value]
    return value


def _raise_if(kind: str, problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue(kind, problems)


def _target_problems(
    id: object, grade: object, tags: tuple[object, ...], inspection_type: object = None
) -> list[Problem]:
    problems = (
        _text_problems("id", id, "target id")
        + _text_problems("grade", grade, "grade code")
        + _labels_problems("tags", tags, "tag")
    )
    if inspection_type is not None:
        problems += _text_problems("inspection_type", inspection_type, "inspection type")
    return problems


@attrs.frozen
class Target:
    """A subject in the target registry (检查对象名录库) with its credit grade.

    ``id`` is what identifies it in the registry — a USCC, a licence reference — and must be
    unique in a population. ``tags`` (e.g. approval-item codes, an area) are kept sorted.
    ``inspection_type`` is the inspection matter it is drawn for (抽查事项, e.g.
    ``"公共场所卫生"``): only inspectors qualified for it (:attr:`Inspector.fields`) may be
    assigned; ``None`` means any inspector on the roster may be.
    """

    id: str
    grade: str
    tags: tuple[str, ...] = attrs.field(default=(), converter=_labels)
    inspection_type: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        # Fast path for the millions of rows of a registry export.
        if (
            type(self.id) is str
            and type(self.grade) is str
            and self.id
            and self.grade
            and not self.tags
            and self.inspection_type is None
            and self.id == self.id.strip()
            and self.grade == self.grade.strip()
        ):
            return
        _raise_if("Target", _target_problems(self.id, self.grade, self.tags, self.inspection_type))

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``id``, ``grade``, ``tags`` and ``inspection_type`` if it has one."""
        found: dict[str, Any] = {"id": self.id, "grade": self.grade, "tags": list(self.tags)}
        if self.inspection_type is not None:
            found["inspection_type"] = self.inspection_type
        return found

    def _line(self, id_bytes: bytes) -> bytes:
        grade = self.grade.encode()
        line = b"%d:%s,%d:%s," % (len(id_bytes), id_bytes, len(grade), grade)
        for tag in self.tags:
            raw = tag.encode()
            line += b"%d:%s," % (len(raw), raw)
        if self.inspection_type is not None:
            # "|" never follows a comma in the part above, so the line stays unambiguous, and
            # a target without a type has the line (and digest) it had in format 1.
            raw = self.inspection_type.encode()
            line += b"|%d:%s" % (len(raw), raw)
        return line


def _inspector_problems(id: object, name: object, fields: tuple[object, ...]) -> list[Problem]:
    return (
        _text_problems("id", id, "inspector id")
        + _text_problems("name", name, "name")
        + _labels_problems("fields", fields, "field")
    )


@attrs.frozen
class Inspector:
    """A law-enforcement officer in the inspector registry (执法检查人员名录库).

    ``id`` is unique in a roster (e.g. the enforcement certificate number, 执法证号);
    ``fields`` are the officer's qualifications (执法资格 / 执法领域): the inspection types
    they may be drawn for, kept sorted.
    """

    id: str
    name: str
    fields: tuple[str, ...] = attrs.field(default=(), converter=_labels)

    def __attrs_post_init__(self) -> None:
        _raise_if("Inspector", _inspector_problems(self.id, self.name, self.fields))

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``id``, ``name``, ``fields``."""
        return {"id": self.id, "name": self.name, "fields": list(self.fields)}

    def qualified(self, inspection_type: str | None) -> bool:
        """Whether the officer may inspect a target of ``inspection_type`` (any, if None)."""
        return inspection_type is None or inspection_type in self.fields


def _conflict_problems(inspector: object, target: object, reason: object) -> list[Problem]:
    return (
        _text_problems("inspector", inspector, "inspector id")
        + _text_problems("target", target, "target id")
        + _text_problems("reason", reason, "reason")
    )


@attrs.frozen(order=True)
class Conflict:
    """A recusal (回避): the inspector may not inspect the target, and why.

    行政处罚法 Art 43: an officer with a direct interest in the case, or another relation
    that may affect fairness, shall recuse. Draw records are published, so keep ``reason``
    short and free of personal detail (e.g. ``"近亲属任职"``).
    """

    inspector: str
    target: str
    reason: str

    def __attrs_post_init__(self) -> None:
        _raise_if("Conflict", _conflict_problems(self.inspector, self.target, self.reason))

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``inspector``, ``target``, ``reason``."""
        return {"inspector": self.inspector, "target": self.target, "reason": self.reason}


# --------------------------------------------------------------------------- seed


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _seed_problems(seed: object) -> list[Problem]:
    if not isinstance(seed, bytes):
        return [Problem("seed", f"expected bytes, got {describe(seed)}")]
    if len(seed) < MIN_SEED_BYTES:
        return [
            Problem(
                "seed",
                f"expected at least {MIN_SEED_BYTES} random bytes, got {len(seed)}: a short "
                "seed can be found from its published hash",
            )
        ]
    return []


def _hex64_problems(path: str, value: object, what: str) -> list[Problem]:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        return [Problem(path, f"expected {what}: 64 lower-case hex digits, got {value!r}")]
    return []


@attrs.frozen
class SeedCommitment:
    """A commitment to a draw's seed (随机种子承诺): its SHA-256, published before the draw.

    Make one with :meth:`create` from a secret random seed, publish :attr:`digest`, draw,
    then publish the seed; anyone can check it with :meth:`matches`. ``seed`` is ``None`` in
    a commitment known only by its digest, and is left out of ``repr`` so that logging the
    commitment does not leak it.
    """

    digest: str
    seed: bytes | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = _hex64_problems("digest", self.digest, "a SHA-256 digest")
        if self.seed is not None:
            problems += _seed_problems(self.seed)
            if not problems and not self.matches(self.seed):
                problems.append(
                    Problem(
                        "seed",
                        f"the seed's SHA-256 is {_sha256_hex(self.seed)}, not the committed "
                        f"{self.digest}",
                    )
                )
        _raise_if("SeedCommitment", problems)

    @classmethod
    def create(cls, seed: bytes) -> Self:
        """Commit to ``seed`` (at least 16 bytes from a secure source, e.g. ``secrets``)."""
        _raise_if("SeedCommitment", _seed_problems(seed))
        return cls(_sha256_hex(seed), seed)

    def matches(self, seed: bytes) -> bool:
        """True if ``seed`` is the committed seed."""
        return hmac.compare_digest(_sha256_hex(seed), self.digest)

    def reveal(self, seed: bytes) -> SeedCommitment:
        """This commitment with its seed revealed; :class:`InvalidValue` if it does not match."""
        return SeedCommitment(self.digest, seed)


# --------------------------------------------------------------------------- ratios


def sample_size(ratio: Fraction, count: int) -> int:
    """How many targets of a grade are drawn: ``ceil(ratio × count)``.

    Ratios are minimums in the rules (企业公示信息抽查办法: "不少于3%"), so the size is
    rounded up: a grade with a ratio above zero and at least one target gets at least one
    inspection; ratio 0 draws none (A grade, "无事不扰"); ratio 1 draws all.

    >>> sample_size(Fraction(3, 100), 101), sample_size(Fraction(1, 100), 1)
    (4, 1)
    """
    return -(-ratio.numerator * count // ratio.denominator)


def _ratio(grade: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Fraction | Decimal | float | int):
        raise DrawError(
            "ratio",
            f"the ratio of grade {grade!r} must be a Fraction, Decimal or float, "
            f"got {describe(value)}",
        )
    try:
        # A float is read as its shortest decimal form: 0.05 means 1/20, not 0.05000000000000000277.
        ratio = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    except (ValueError, OverflowError):
        raise DrawError(
            "ratio", f"the ratio of grade {grade!r} must be a number, got {value!r}"
        ) from None
    if not 0 <= ratio <= 1:
        raise DrawError(
            "ratio", f"the ratio of grade {grade!r} must be between 0 and 1, got {value!r}"
        )
    return ratio


def _ratio_text(ratio: Fraction) -> str:
    """Exact text of a ratio: a decimal when it has one (``"0.05"``), else ``"1/3"``."""
    rest = ratio.denominator
    twos = fives = 0
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return f"{ratio.numerator}/{ratio.denominator}"
    places = max(twos, fives)
    digits = str(ratio.numerator * 10**places // ratio.denominator)
    if not places:
        return digits
    digits = digits.rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(sorted(mapping.items())))


# --------------------------------------------------------------------------- the record


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class DrawnTarget:
    """A drawn target (抽中的检查对象), its draw key and the inspectors assigned to it.

    ``key`` is, in hex, the first 32 bytes of ``SHAKE-256(K ‖ 03 ‖ line)`` (format 3;
    ``SHA-256(K ‖ 01 ‖ id)`` in formats 1 and 2): within a grade, the targets with the
    smallest keys are drawn; all drawn targets are listed, and given inspectors, in key
    order. ``inspectors`` are inspector ids, sorted.
    """

    target: Target
    key: str
    inspectors: tuple[str, ...] = attrs.field(converter=_ids)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``target``, ``key``, ``inspectors``."""
        return {
            "target": self.target.to_dict(),
            "key": self.key,
            "inspectors": list(self.inspectors),
        }


def _formats_text() -> str:
    return ", ".join(repr(f) for f in FORMATS)


def _drawn(values: Iterable[DrawnTarget]) -> tuple[DrawnTarget, ...]:
    return tuple(values)


def _roster(values: Iterable[Inspector]) -> tuple[Inspector, ...]:
    return tuple(sorted(values, key=lambda i: i.id))


def _conflicts(values: Iterable[Conflict]) -> tuple[Conflict, ...]:
    return tuple(sorted(set(values)))


def _record_problems(record: DrawRecord) -> list[Problem]:
    problems = []
    if record.format not in FORMATS:
        problems.append(
            Problem("format", f"expected one of {_formats_text()}, got {record.format!r}")
        )
    problems += _text_problems("draw_id", record.draw_id, "draw id")
    problems += _hex64_problems("commitment", record.commitment, "the seed commitment")
    problems += _seed_problems(record.seed)
    beacon: object = record.beacon
    if not isinstance(beacon, bytes):
        problems.append(Problem("beacon", f"expected bytes, got {describe(beacon)}"))
    if not record.ratios:
        problems.append(Problem("ratios", "expected a ratio for at least one grade"))
    for grade in record.ratios:
        problems += _text_problems("ratios", grade, "grade code")
    for grade, ratio in record.ratios.items():
        if not isinstance(ratio, Fraction) or not 0 <= ratio <= 1:
            problems.append(Problem(f"ratios.{grade}", f"expected 0 to 1, got {ratio!r}"))
    if set(record.population) != set(record.ratios):
        problems.append(
            Problem(
                "population",
                f"expected a count for each grade with a ratio ({', '.join(record.ratios)}), "
                f"got counts for {', '.join(record.population) or 'none'}",
            )
        )
    for grade, count in record.population.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            problems.append(Problem(f"population.{grade}", f"expected 0 or more, got {count!r}"))
    problems += _hex64_problems("population_digest", record.population_digest, "a digest")
    problems += _hex64_problems("inputs_digest", record.inputs_digest, "a digest")
    per_target = record.per_target
    if isinstance(per_target, bool) or not isinstance(per_target, int) or per_target < 2:
        problems.append(Problem("per_target", f"expected 2 or more, got {per_target!r}"))
    roster_ids: dict[str, Inspector] = {}
    for i, inspector in enumerate(record.roster):
        if inspector.id in roster_ids:
            problems.append(Problem(f"roster[{i}].id", f"duplicate inspector {inspector.id!r}"))
        roster_ids[inspector.id] = inspector
    problems += _selection_problems(record, roster_ids)
    return problems


def _selection_problems(record: DrawRecord, roster_ids: Mapping[str, Inspector]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    drawn: dict[str, int] = {}
    for i, item in enumerate(record.selections):
        path = f"selections[{i}]"
        target = item.target
        if target.id in seen:
            problems.append(Problem(f"{path}.target.id", f"target {target.id!r} drawn twice"))
        seen.add(target.id)
        if target.grade not in record.ratios:
            problems.append(Problem(f"{path}.target.grade", f"grade {target.grade!r} has no ratio"))
        drawn[target.grade] = drawn.get(target.grade, 0) + 1
        problems += _hex64_problems(f"{path}.key", item.key, "a draw key")
        if len(item.inspectors) != record.per_target or len(set(item.inspectors)) != len(
            item.inspectors
        ):
            problems.append(
                Problem(
                    f"{path}.inspectors",
                    f"expected {record.per_target} distinct inspectors, got "
                    f"{', '.join(item.inspectors) or 'none'}",
                )
            )
        if target.inspection_type is not None and record.format == FORMAT_1:
            problems.append(
                Problem(
                    f"{path}.target.inspection_type",
                    f"format {FORMAT_1!r} has no inspection types",
                )
            )
        for j, inspector in enumerate(item.inspectors):
            officer = roster_ids.get(inspector)
            if officer is None:
                problems.append(
                    Problem(f"{path}.inspectors[{j}]", f"{inspector!r} is not on the roster")
                )
            elif not officer.qualified(target.inspection_type):
                problems.append(
                    Problem(
                        f"{path}.inspectors[{j}]",
                        f"{inspector!r} is not qualified for {target.inspection_type!r}",
                    )
                )
    for grade, ratio in record.ratios.items():
        count = record.population.get(grade)
        if isinstance(ratio, Fraction) and isinstance(count, int) and 0 <= ratio <= 1:
            expected = sample_size(ratio, count)
            if drawn.get(grade, 0) != expected:
                problems.append(
                    Problem(
                        "selections",
                        f"expected {expected} targets of grade {grade!r} (ceil({_ratio_text(ratio)}"
                        f" × {count})), got {drawn.get(grade, 0)}",
                    )
                )
    return problems


@attrs.frozen(kw_only=True)
class DrawRecord:
    """The record of one random inspection draw (抽查记录), for storage and publication.

    ``format`` says which construction made it (:data:`FORMAT` for new draws, or
    :data:`FORMAT_2`, :data:`FORMAT_1`); :func:`verify_draw` re-runs a record by its own
    format. Inputs:
    ``draw_id``, the seed ``commitment`` (published before the draw), the revealed
    ``seed``, the public ``beacon`` (empty if none was used), the sampling ``ratios`` per
    grade, the ``population`` count per grade with its order-independent
    ``population_digest``, ``per_target``, the inspector ``roster`` (sorted by id) and the
    recusal ``conflicts`` (sorted). ``inputs_digest`` is the SHA-256 of all of these except
    the seed and the beacon. Result: ``selections``, in draw (key) order.

    :func:`verify_draw` re-runs the draw and checks all of it.
    """

    draw_id: str
    commitment: str
    seed: bytes = attrs.field(repr=False)
    beacon: bytes = b""
    ratios: Mapping[str, Fraction] = attrs.field(converter=_frozen, hash=False)
    population: Mapping[str, int] = attrs.field(converter=_frozen, hash=False)
    population_digest: str
    per_target: int
    roster: tuple[Inspector, ...] = attrs.field(converter=_roster)
    conflicts: tuple[Conflict, ...] = attrs.field(converter=_conflicts)
    inputs_digest: str
    selections: tuple[DrawnTarget, ...] = attrs.field(converter=_drawn)
    format: str = FORMAT

    def __attrs_post_init__(self) -> None:
        _raise_if("DrawRecord", _record_problems(self))

    @classmethod
    def _unchecked(cls, **fields: Any) -> Self:
        """A record the draw has just computed, built without re-checking every selection.

        Only :func:`draw` (and :func:`verify_draw`'s re-run) call this: what they pass is
        correct by construction. A record read or built by anyone else is checked in full.
        """
        record = object.__new__(cls)
        for field in attrs.fields(cls):
            value = fields[field.name]
            if field.converter is not None:
                value = field.converter(value)
            object.__setattr__(record, field.name, value)
        return record

    @property
    def sample_sizes(self) -> Mapping[str, int]:
        """How many targets of each grade were drawn."""
        return MappingProxyType(
            {g: sample_size(r, self.population[g]) for g, r in self.ratios.items()}
        )

    def loads(self) -> Mapping[str, int]:
        """How many drawn targets each inspector on the roster was assigned."""
        counts = dict.fromkeys((i.id for i in self.roster), 0)
        for item in self.selections:
            for inspector in item.inspectors:
                counts[inspector] += 1
        return MappingProxyType(counts)

    def _inputs(self) -> dict[str, Any]:
        return _inputs_payload(attrs.asdict(self, recurse=False))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data that :meth:`from_dict` reads back (bytes as hex)."""
        return {
            **self._inputs(),
            "seed": self.seed.hex(),
            "beacon": self.beacon.hex(),
            "inputs_digest": self.inputs_digest,
            "selections": [s.to_dict() for s in self.selections],
        }

    def publication_payload(self) -> dict[str, Any]:
        """:meth:`to_dict` as published: every text (keys too) passed through
        :func:`~creditcommit.identifiers.mask_resident_ids`.

        A target id, an inspector's id or name or a recusal reason can be a resident identity
        number; the public record shows it with the birth date masked. Keep :meth:`to_dict`
        for storage and :func:`verify_draw`, which need the numbers in full.
        """
        published: dict[str, Any] = _masked_data(self.to_dict())
        return published

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<dict>") -> Self:
        """Read a record written by :meth:`to_dict`; :class:`DataFileError` lists every problem.

        Only the form is checked here: :func:`verify_draw` checks that the record is true.
        """
        schema = structure(data, _RecordSchema, source=source)
        problems: list[Problem] = []
        if schema.format not in FORMATS:
            problems.append(
                Problem("format", f"expected one of {_formats_text()}, got {schema.format!r}")
            )
        seed = _hex_bytes("seed", schema.seed, problems)
        beacon = _hex_bytes("beacon", schema.beacon, problems)
        ratios: dict[str, Fraction] = {}
        for grade, text in schema.ratios.items():
            if not _RATIO_TEXT.fullmatch(text) or Fraction(text) > 1:
                problems.append(
                    Problem(f"ratios.{grade}", f"expected a ratio from 0 to 1, got {text!r}")
                )
            else:
                ratios[grade] = Fraction(text)
        roster = _structured(problems, "roster", schema.roster, _inspector_problems, Inspector)
        conflicts = _structured(
            problems, "conflicts", schema.conflicts, _conflict_problems, Conflict
        )
        selections: list[DrawnTarget] = []
        for i, item in enumerate(schema.selections):
            t = item.target
            found = _target_problems(t.id, t.grade, tuple(t.tags), t.inspection_type)
            problems += [Problem(f"selections[{i}].target.{p.path}", p.message) for p in found]
            if not found:
                target = Target(t.id, t.grade, t.tags, inspection_type=t.inspection_type)
                selections.append(DrawnTarget(target, item.key, item.inspectors))
        if problems:
            raise DataFileError(source, problems)
        try:
            return cls(
                draw_id=schema.draw_id,
                commitment=schema.commitment,
                seed=seed,
                beacon=beacon,
                ratios=ratios,
                population=schema.population,
                population_digest=schema.population_digest,
                per_target=schema.per_target,
                roster=roster,
                conflicts=conflicts,
                inputs_digest=schema.inputs_digest,
                selections=selections,
                format=schema.format,
            )
        except InvalidValue as exc:
            raise DataFileError(source, exc.problems) from None


def _hex_bytes(path: str, text: str, problems: list[Problem]) -> bytes:
    if not _HEX.fullmatch(text):
        problems.append(Problem(path, f"expected lower-case hex digits in pairs, got {text!r}"))
        return b""
    return bytes.fromhex(text)


def _structured(
    problems: list[Problem],
    path: str,
    rows: list[Any],
    check: Callable[..., list[Problem]],
    cls: Callable[..., Any],
) -> list[Any]:
    built = []
    for i, row in enumerate(rows):
        values = attrs.astuple(row, recurse=False)
        args = tuple(tuple(v) if isinstance(v, list) else v for v in values)
        found = check(*args)
        problems += [Problem(f"{path}[{i}].{p.path}", p.message) for p in found]
        if not found:
            built.append(cls(*args))
    return built


@attrs.frozen
class _TargetSchema:
    id: str
    grade: str
    tags: list[str] = attrs.field(factory=list)
    inspection_type: str | None = None


@attrs.frozen
class _InspectorSchema:
    id: str
    name: str
    fields: list[str] = attrs.field(factory=list)


@attrs.frozen
class _ConflictSchema:
    inspector: str
    target: str
    reason: str


@attrs.frozen
class _DrawnSchema:
    target: _TargetSchema
    key: str
    inspectors: list[str]


@attrs.frozen
class _RecordSchema:
    format: str
    draw_id: str
    commitment: str
    seed: str
    beacon: str
    ratios: dict[str, str]
    population: dict[str, int]
    population_digest: str
    per_target: int
    roster: list[_InspectorSchema]
    conflicts: list[_ConflictSchema]
    inputs_digest: str
    selections: list[_DrawnSchema]


def _inputs_digest(inputs: Mapping[str, Any]) -> str:
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _sha256_hex(text.encode("utf-8"))


# --------------------------------------------------------------------------- the draw

_Population: TypeAlias = Iterable[Target] | Callable[[], Iterable[Target]] | TargetColumns


def _draw_key(seed: bytes, beacon: bytes) -> bytes:
    """The draw key K: SHA-256 of the tag, the seed and the beacon (see docs/draws.md)."""
    return hashlib.sha256(
        _TAG
        + b"\x00"
        + len(seed).to_bytes(4, "big")
        + seed
        + len(beacon).to_bytes(4, "big")
        + beacon
    ).digest()


def _check_target(n: int, target: object, ratios: Mapping[str, Fraction]) -> Target:
    if not isinstance(target, Target):
        raise DrawError("input", f"item {n} of the population is {describe(target)}, not a Target")
    if target.grade not in ratios:
        raise DrawError(
            "grade",
            f"target {target.id!r} has grade {target.grade!r}, which has no sampling ratio "
            f"(ratios are set for {', '.join(ratios)})",
            target=target.id,
        )
    return target


def _count(targets: Iterable[Target], ratios: Mapping[str, Fraction]) -> dict[str, int]:
    counts = dict.fromkeys(ratios, 0)
    for n, target in enumerate(targets):
        counts[_check_target(n, target, ratios).grade] += 1
    return counts


@attrs.frozen
class _Pass:
    counts: dict[str, int]
    digest: str
    drawn: list[tuple[bytes, Target]]


def _select(
    targets: Iterable[Target], ratios: Mapping[str, Fraction], sizes: Mapping[str, int], key: bytes
) -> _Pass:
    """One pass: count, digest and keep the ``sizes[grade]`` smallest keys of each grade."""
    counts = dict.fromkeys(ratios, 0)
    heaps: dict[str, list[tuple[int, Target]]] = {g: [] for g in ratios}
    candidates: set[str] = set()
    total = 0
    element = hashlib.shake_256(_TAG + b"/target\x00")
    keyed = hashlib.sha256(key + b"\x01")
    for n, target in enumerate(targets):
        if not isinstance(target, Target) or target.grade not in counts:
            _check_target(n, target, ratios)  # raises: not a target, or an unknown grade
        grade = target.grade
        counts[grade] += 1
        raw = target.id.encode()
        h = element.copy()
        h.update(target._line(raw))
        total += int.from_bytes(h.digest(_DIGEST_BYTES))
        size = sizes[grade]
        if not size:
            continue
        k = keyed.copy()
        k.update(raw)
        negated = -int.from_bytes(k.digest())
        heap = heaps[grade]
        if len(heap) < size:
            _admit(candidates, target)
            heapq.heappush(heap, (negated, target))
        elif negated > heap[0][0]:
            _admit(candidates, target)
            candidates.discard(heapq.heapreplace(heap, (negated, target))[1].id)
    total %= _DIGEST_MODULUS
    digest = _sha256_hex(_TAG + b"/population\x00" + total.to_bytes(_DIGEST_BYTES, "big"))
    drawn = sorted(
        ((-negated).to_bytes(32, "big"), target)
        for heap in heaps.values()
        for negated, target in heap
    )
    return _Pass(counts, digest, drawn)


def _count_columns(columns: TargetColumns, ratios: Mapping[str, Fraction]) -> dict[str, int]:
    counts = dict.fromkeys(ratios, 0)
    for grade, count in columns.grade_counts(tuple(ratios)).items():
        if grade not in counts:
            raise DrawError(
                "grade",
                f"{columns.source}: {count} targets have grade {grade!r}, which has no sampling "
                f"ratio (ratios are set for {', '.join(ratios)})",
            )
        counts[grade] = count
    return counts


def _select_columns(
    columns: TargetColumns, ratios: Mapping[str, Fraction], sizes: Mapping[str, int], key: bytes
) -> _Pass:
    """:func:`_select` over columns: the same pass, without a :class:`Target` per row.

    Per target: the digest element and the draw key are hashed, and the key's bytes are
    compared with the largest key kept for its grade (the heap's top); only a target whose
    key is smaller enters the heap. :class:`Target` objects are made for the drawn only.
    """
    counts = dict.fromkeys(ratios, 0)
    heaps: dict[str, list[tuple[int, str]]] = {g: [] for g in ratios}
    # The largest key kept for each grade, as bytes (33 bytes of ff: nothing kept yet).
    tops = {g: b"\xff" * 33 if sizes[g] else b"" for g in ratios}
    candidates: set[str] = set()
    grade_part = {g: b"%d:%s," % (len(g.encode()), g.encode()) for g in ratios}
    total = 0
    element = hashlib.shake_256(_TAG + b"/target\x00").copy
    keyed = hashlib.sha256(key + b"\x01").copy
    as_int = int.from_bytes
    push, replace = heapq.heappush, heapq.heapreplace
    seen = 0
    for ids, grades in columns.chunks():
        if len(ids) != len(grades):
            raise DrawError(
                "input",
                f"{columns.source}: a chunk has {len(ids)} ids but {len(grades)} grades",
            )
        if problem := first_problem(ids):
            raise DrawError(
                "input", f"{columns.source}: target {seen + problem[0]}: id: {problem[1]}"
            )
        for id_, grade in zip(ids, grades, strict=True):
            raw = id_.encode()
            try:
                part = grade_part[grade]
            except (KeyError, TypeError):
                _check_column_grade(id_, grade, ratios)  # raises
                raise  # pragma: no cover
            h = element()
            h.update(b"%d:%s,%s" % (len(raw), raw, part))
            total += as_int(h.digest(_DIGEST_BYTES))
            k = keyed()
            k.update(raw)
            found = k.digest()
            if found < tops[grade]:
                heap = heaps[grade]
                if id_ in candidates:
                    _admit(candidates, Target(id_, grade))  # raises: a duplicate
                candidates.add(id_)
                if len(heap) < sizes[grade]:
                    push(heap, (-as_int(found), id_))
                    if len(heap) < sizes[grade]:
                        continue
                else:
                    candidates.discard(replace(heap, (-as_int(found), id_))[1])
                tops[grade] = (-heap[0][0]).to_bytes(32, "big")
        seen += len(ids)
        for grade, found_count in Counter(grades).items():
            counts[grade] += found_count
    total %= _DIGEST_MODULUS
    digest = _sha256_hex(_TAG + b"/population\x00" + total.to_bytes(_DIGEST_BYTES, "big"))
    drawn = sorted(
        ((-negated).to_bytes(32, "big"), Target(id_, grade))
        for grade, heap in heaps.items()
        for negated, id_ in heap
    )
    return _Pass(counts, digest, drawn)


def _element_3(key: bytes) -> bytes:
    """What precedes a target's line in its format-3 element: ``K ‖ 03``."""
    return key + b"\x03"


def _select_3(
    targets: Iterable[Target], ratios: Mapping[str, Fraction], sizes: Mapping[str, int], key: bytes
) -> _Pass:
    """Format 3's pass: one SHAKE-256 output per target is its digest element and its key."""
    counts = dict.fromkeys(ratios, 0)
    heaps: dict[str, list[tuple[int, Target]]] = {g: [] for g in ratios}
    candidates: set[str] = set()
    total = 0
    prefix = _element_3(key)
    shake = hashlib.shake_256
    as_int = int.from_bytes
    for n, target in enumerate(targets):
        if not isinstance(target, Target) or target.grade not in counts:
            _check_target(n, target, ratios)  # raises: not a target, or an unknown grade
        grade = target.grade
        counts[grade] += 1
        found = shake(prefix + target._line(target.id.encode())).digest(_DIGEST_BYTES)
        total += as_int(found)
        size = sizes[grade]
        if not size:
            continue
        negated = -as_int(found[:32])
        heap = heaps[grade]
        if len(heap) < size:
            _admit(candidates, target)
            heapq.heappush(heap, (negated, target))
        elif negated > heap[0][0]:
            _admit(candidates, target)
            candidates.discard(heapq.heapreplace(heap, (negated, target))[1].id)
    return _Pass(counts, _population_digest(total), _in_key_order(heaps))


def _population_digest(total: int) -> str:
    total %= _DIGEST_MODULUS
    return _sha256_hex(_TAG + b"/population\x00" + total.to_bytes(_DIGEST_BYTES, "big"))


def _in_key_order(heaps: Mapping[str, list[tuple[int, Target]]]) -> list[tuple[bytes, Target]]:
    """The drawn of every grade's heap, in key order."""
    return sorted(
        ((-negated).to_bytes(32, "big"), target)
        for heap in heaps.values()
        for negated, target in heap
    )


def _select_columns_3(
    columns: TargetColumns, ratios: Mapping[str, Fraction], sizes: Mapping[str, int], key: bytes
) -> _Pass:
    """:func:`_select_3` over columns, a chunk at a time.

    The chunk's lines are built and hashed in list comprehensions and the elements summed
    with one ``sum``. A target whose element is below its grade's bound (the largest key
    kept at the last pruning) is kept as the bytes ``key ‖ id`` (32 bytes of key, so the
    bytes order is the (key, id) order); when a grade holds a quarter more than its sample
    size, they are sorted (C-speed byte comparisons) and cut back to the sample size. No
    heap, no :class:`Target` for a target that is not drawn.
    """
    counts = dict.fromkeys(ratios, 0)
    kept: dict[str, list[bytes]] = {g: [] for g in ratios}
    limits = {g: sizes[g] + max(sizes[g] // 4, 1024) for g in ratios}
    # Nothing kept yet: every element is below the bound (an element is 256 bytes).
    bounds = {g: b"\xff" * (_DIGEST_BYTES + 1) if sizes[g] else b"" for g in ratios}
    grade_part = {g: b"%d:%s," % (len(g.encode()), g.encode()) for g in ratios}
    prefix = _element_3(key)
    shake = hashlib.shake_256
    as_int = int.from_bytes
    total = 0
    seen = 0
    for ids, grades in columns.chunks():
        if len(ids) != len(grades):
            raise DrawError(
                "input",
                f"{columns.source}: a chunk has {len(ids)} ids but {len(grades)} grades",
            )
        if problem := first_problem(ids):
            raise DrawError(
                "input", f"{columns.source}: target {seen + problem[0]}: id: {problem[1]}"
            )
        try:
            parts = [grade_part[g] for g in grades]
        except (KeyError, TypeError):
            n = next(n for n, g in enumerate(grades) if type(g) is not str or g not in ratios)
            _check_column_grade(ids[n], grades[n], ratios)  # raises
            raise  # pragma: no cover
        found = [
            shake(b"%s%d:%s,%s" % (prefix, len(raw), raw, part)).digest(_DIGEST_BYTES)
            for raw, part in zip(map(str.encode, ids), parts, strict=True)
        ]
        total += sum(map(as_int, found))
        # An element (256 bytes) is below a 32-byte bound iff its key, its first 32 bytes, is.
        hits = [n for n, (e, g) in enumerate(zip(found, grades, strict=True)) if e < bounds[g]]
        for n in hits:
            grade = grades[n]
            bucket = kept[grade]
            bucket.append(found[n][:32] + ids[n].encode())
            if len(bucket) >= limits[grade]:
                bucket.sort()
                del bucket[sizes[grade] :]
                bounds[grade] = bucket[-1][:32]
        seen += len(ids)
        for grade, found_count in Counter(grades).items():
            counts[grade] += found_count
    seen_ids: set[str] = set()
    drawn: list[tuple[bytes, Target]] = []
    for grade, bucket in kept.items():
        bucket.sort()
        del bucket[sizes[grade] :]
        for entry in bucket:
            id_ = entry[32:].decode()
            if id_ in seen_ids:
                raise DrawError(
                    "duplicate",
                    f"target {id_!r} appears twice in the population; ids must be unique",
                    target=id_,
                )
            seen_ids.add(id_)
            drawn.append((entry[:32], Target(id_, grade)))
        bucket.clear()
    drawn.sort(key=_first)
    return _Pass(counts, _population_digest(total), drawn)


def _first(item: tuple[bytes, Target]) -> bytes:
    return item[0]


def _check_column_grade(id_: str, grade: object, ratios: Mapping[str, Fraction]) -> None:
    if type(grade) is not str:
        raise DrawError("input", f"target {id_!r} has grade {describe(grade)}, not a string")
    raise DrawError(
        "grade",
        f"target {id_!r} has grade {grade!r}, which has no sampling ratio "
        f"(ratios are set for {', '.join(ratios)})",
        target=id_,
    )


def _admit(candidates: set[str], target: Target) -> None:
    if target.id in candidates:
        raise DrawError(
            "duplicate",
            f"target {target.id!r} appears twice in the population; ids must be unique",
            target=target.id,
        )
    candidates.add(target.id)


def _coverage_error(
    target: str, per_target: int, eligible: int, *, qualified: int, roster: int, kind: str | None
) -> DrawError:
    """The target has fewer inspectors it may be sent than it needs."""
    out = qualified - eligible
    why = (
        f"({out} recused)"
        if kind is None
        else f"({qualified} qualified for {kind!r}, {out} of them recused)"
    )
    return DrawError(
        "coverage",
        f"target {target!r} needs {per_target} inspectors but only {eligible} of "
        f"the {roster} on the roster may inspect it {why}",
        target=target,
        eligible=eligible,
        needed=per_target,
    )


def _assign(
    drawn: list[tuple[bytes, Target]],
    roster: tuple[Inspector, ...],
    conflicts: tuple[Conflict, ...],
    per_target: int,
    key: bytes,
    *,
    qualify: bool = True,
) -> list[DrawnTarget]:
    """Draw each target's inspectors at random from those who may inspect it, then balance.

    For each drawn target, in key order: the eligible inspectors are those qualified for its
    inspection type (format 2; everyone if it has none, and everyone in format 1) and not
    recused. They are put in a random order, new for every target: the SHAKE-256 output of
    ``K ‖ 02 ‖ u32(len target id) ‖ target id`` read as 64-bit big-endian integers, one per
    inspector in roster (id) order; smallest first, then roster order. Then balanced: the
    order is stably sorted by load (drawn targets so far), and the first ``per_target`` are
    assigned — the least-loaded, and among equal loads the random order decides.
    """
    ids = [i.id for i in roster]
    position = {inspector: i for i, inspector in enumerate(ids)}
    recused: dict[str, set[int]] = {}
    for c in conflicts:
        if (i := position.get(c.inspector)) is not None:
            recused.setdefault(c.target, set()).add(i)
    load = [0] * len(ids)
    # The load buckets: for each inspection type met so far, the qualified inspectors
    # grouped by load, and for each inspector the buckets it is in (one per type it is
    # qualified for), so that the least-loaded are found without sorting the roster.
    groups: dict[str | None, tuple[int, dict[int, set[int]]]] = {}
    member_of: list[list[dict[int, set[int]]]] = [[] for _ in ids]
    tie_prefix = key + b"\x02"
    result = []
    for key_bytes, target in drawn:
        kind = target.inspection_type if qualify else None
        group = groups.get(kind)
        if group is None:
            levels: dict[int, set[int]] = {}
            qualified = [i for i, officer in enumerate(roster) if officer.qualified(kind)]
            for i in qualified:
                levels.setdefault(load[i], set()).add(i)
                member_of[i].append(levels)
            group = groups[kind] = (len(qualified), levels)
        size, levels = group
        excluded = recused.get(target.id)
        chosen: list[int] = []
        for level in sorted(levels):
            members = levels[level] - excluded if excluded else levels[level]
            if len(chosen) + len(members) <= per_target:
                chosen += members
                if len(chosen) == per_target:
                    break
                continue
            # More at this load than places left: the random order decides among them.
            raw = target.id.encode()
            stream = hashlib.shake_256(tie_prefix + len(raw).to_bytes(4, "big") + raw)
            values = _order_values(stream.digest(8 * len(ids)))
            chosen += _first_in_order(members, values, per_target - len(chosen))
            break
        if len(chosen) < per_target:
            raise _coverage_error(
                target.id, per_target, len(chosen), qualified=size, roster=len(ids), kind=kind
            )
        for i in chosen:
            now = load[i]
            load[i] = now + 1
            for buckets in member_of[i]:
                bucket = buckets[now]
                bucket.discard(i)
                if not bucket:
                    del buckets[now]
                buckets.setdefault(now + 1, set()).add(i)
        result.append(DrawnTarget(target, key_bytes.hex(), tuple(ids[i] for i in sorted(chosen))))
    return result


def _order_values(data: bytes) -> Sequence[int]:
    """``data`` read as 64-bit big-endian integers (an array, byte-swapped at C speed)."""
    values = array.array("Q", data)
    if values.itemsize != 8:  # pragma: no cover - no such platform in use
        return [int.from_bytes(data[n : n + 8], "big") for n in range(0, len(data), 8)]
    if sys.byteorder == "little":
        values.byteswap()
    return values


def _first_in_order(members: set[int], values: Sequence[int], need: int) -> list[int]:
    """The ``need`` members with the smallest order values (roster order among equal values)."""
    order = list(members)
    pool = list(map(values.__getitem__, order))
    chosen = []
    for _ in range(need):
        lowest = min(pool)
        if pool.count(lowest) > 1:  # an exact tie in value: roster order decides
            return sorted(members, key=lambda i: (values[i], i))[:need]
        at = pool.index(lowest)
        chosen.append(order[at])
        pool[at] = _PAST_ALL
    return chosen


_PAST_ALL = 1 << 64
"""Larger than every 64-bit order value: marks a member already chosen."""


def _assign_1(
    drawn: list[tuple[bytes, Target]],
    roster: tuple[Inspector, ...],
    conflicts: tuple[Conflict, ...],
    per_target: int,
    key: bytes,
) -> list[DrawnTarget]:
    """Format 1: the same, but qualifications are not considered."""
    return _assign(drawn, roster, conflicts, per_target, key, qualify=False)


def _assign_3(
    drawn: list[tuple[bytes, Target]],
    roster: tuple[Inspector, ...],
    conflicts: tuple[Conflict, ...],
    per_target: int,
    key: bytes,
) -> list[DrawnTarget]:
    """Format 3: the ``per_target`` eligible inspectors first by (load, tie, roster order).

    For each drawn target, in key order: the eligible inspectors are those qualified for its
    inspection type and not recused; the chosen are the first ``per_target`` of them ordered
    by their load (drawn targets so far), then their tie value at that load —
    ``SHA-256(K ‖ 04 ‖ u32(len id) ‖ id ‖ u64(load))``, its first 8 bytes big-endian — then
    roster (id) order. One hash per assignment (when a load grows), not one per inspector
    per target: each inspection type keeps a heap of its qualified inspectors, refreshed
    lazily when an inspector's load has grown through another type's targets.
    """
    ids = [i.id for i in roster]
    position = {inspector: i for i, inspector in enumerate(ids)}
    recused: dict[str, set[int]] = {}
    for c in conflicts:
        if (i := position.get(c.inspector)) is not None:
            recused.setdefault(c.target, set()).add(i)
    prefix = key + b"\x04"
    bases = []
    for inspector in ids:
        raw = inspector.encode()
        bases.append(hashlib.sha256(prefix + len(raw).to_bytes(4, "big") + raw).copy)
    as_int = int.from_bytes

    def tie(i: int, level: int) -> int:
        h = bases[i]()
        h.update(level.to_bytes(8, "big"))
        return as_int(h.digest()[:8])

    load = [0] * len(ids)
    ties = [tie(i, 0) for i in range(len(ids))]
    heaps: dict[str | None, tuple[int, list[tuple[int, int, int]]]] = {}
    pop, push = heapq.heappop, heapq.heappush
    result = []
    for key_bytes, target in drawn:
        kind = target.inspection_type
        group = heaps.get(kind)
        if group is None:
            heap = [(load[i], ties[i], i) for i, o in enumerate(roster) if o.qualified(kind)]
            heapq.heapify(heap)
            group = heaps[kind] = (len(heap), heap)
        size, heap = group
        excluded = recused.get(target.id)
        chosen: list[int] = []
        aside: list[tuple[int, int, int]] = []
        while heap and len(chosen) < per_target:
            entry = pop(heap)
            i = entry[2]
            if entry[0] != load[i]:  # its load grew through another type's targets
                push(heap, (load[i], ties[i], i))
            elif excluded and i in excluded:
                aside.append(entry)
            else:
                chosen.append(i)
        for entry in aside:
            push(heap, entry)
        if len(chosen) < per_target:
            raise _coverage_error(
                target.id, per_target, len(chosen), qualified=size, roster=len(ids), kind=kind
            )
        for i in chosen:
            now = load[i] = load[i] + 1
            ties[i] = tie(i, now)
            push(heap, (now, ties[i], i))
        chosen.sort()
        result.append(DrawnTarget(target, key_bytes.hex(), tuple(ids[i] for i in chosen)))
    return result


_ASSIGN = {FORMAT_1: _assign_1, FORMAT_2: _assign, FORMAT: _assign_3}


@attrs.frozen
class _Inputs:
    format: str
    draw_id: str
    commitment: str
    seed: bytes
    beacon: bytes
    ratios: Mapping[str, Fraction]
    per_target: int
    roster: tuple[Inspector, ...]
    conflicts: tuple[Conflict, ...]


def _inputs(
    *,
    ratios: Mapping[str, Fraction | Decimal | float | int],
    inspectors: Iterable[Inspector],
    conflicts: Iterable[Conflict],
    per_target: int,
    seed: bytes,
    commitment: str,
    draw_id: str,
    beacon: bytes,
    format: str = FORMAT,
) -> _Inputs:
    if _text_problems("draw_id", draw_id, "draw id"):
        raise DrawError("draw-id", f"the draw id must be a non-empty string, got {draw_id!r}")
    if isinstance(per_target, bool) or not isinstance(per_target, int) or per_target < 2:
        raise DrawError(
            "per-target",
            f"every target needs at least 2 inspectors (行政处罚法 Art 42), got "
            f"per_target={per_target!r}",
        )
    for problem in _seed_problems(seed):
        raise DrawError("seed", problem.message)
    if not isinstance(beacon, bytes):
        raise DrawError("beacon", f"the beacon must be bytes, got {describe(beacon)}")
    for problem in _hex64_problems("commitment", commitment, "the seed commitment"):
        raise DrawError("commitment", problem.message)
    if not ratios:
        raise DrawError("ratio", "no sampling ratios: give one for every grade in the population")
    exact: dict[str, Fraction] = {}
    for grade, value in ratios.items():
        if _text_problems("", grade, ""):
            raise DrawError("ratio", f"ratios must be keyed by grade codes, got {grade!r}")
        exact[grade] = _ratio(grade, value)
    roster = list(inspectors)
    seen: set[str] = set()
    for n, inspector in enumerate(roster):
        if not isinstance(inspector, Inspector):
            raise DrawError("roster", f"roster item {n} is {describe(inspector)}, not an Inspector")
        if inspector.id in seen:
            raise DrawError("roster", f"inspector {inspector.id!r} is on the roster twice")
        seen.add(inspector.id)
    recusals = list(conflicts)
    for n, conflict in enumerate(recusals):
        if not isinstance(conflict, Conflict):
            raise DrawError("conflict", f"conflict {n} is {describe(conflict)}, not a Conflict")
    return _Inputs(
        format=format,
        draw_id=draw_id,
        commitment=commitment,
        seed=seed,
        beacon=beacon,
        ratios=_frozen(exact),
        per_target=per_target,
        roster=_roster(roster),
        conflicts=_conflicts(recusals),
    )


def _declared(counts: Mapping[str, int], ratios: Mapping[str, Fraction]) -> dict[str, int]:
    declared = dict.fromkeys(ratios, 0)
    for grade, count in counts.items():
        if grade not in ratios:
            raise DrawError("counts", f"counts gives grade {grade!r}, which has no sampling ratio")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise DrawError(
                "counts", f"the count of grade {grade!r} must be 0 or more, got {count!r}"
            )
        declared[grade] = count
    return declared


def _run(
    inputs: _Inputs, targets: _Population, counts: Mapping[str, int] | None
) -> tuple[_Pass, dict[str, int]]:
    """Count (unless ``counts`` is given) and select; returns the pass and the counts used."""
    key = _draw_key(inputs.seed, inputs.beacon)
    if isinstance(targets, TargetColumns):
        if counts is None and targets.counts is not None:
            counts = targets.counts
        if counts is not None:
            sizes_from = _declared(counts, inputs.ratios)
        else:
            sizes_from = _count_columns(targets, inputs.ratios)
        sizes = {g: sample_size(r, sizes_from[g]) for g, r in inputs.ratios.items()}
        by_columns = _select_columns_3 if inputs.format == FORMAT else _select_columns
        return by_columns(targets, inputs.ratios, sizes, key), sizes_from
    if counts is not None:
        sizes_from = _declared(counts, inputs.ratios)
        source = targets() if callable(targets) else targets
    elif callable(targets):
        sizes_from = _count(targets(), inputs.ratios)
        source = targets()
    elif isinstance(targets, Iterator):
        raise DrawError(
            "input",
            "the population is a one-shot iterator, but the draw needs the count of each "
            "grade first: pass counts=..., or a function that returns a fresh iterator",
        )
    else:
        sizes_from = _count(targets, inputs.ratios)
        source = targets
    sizes = {g: sample_size(r, sizes_from[g]) for g, r in inputs.ratios.items()}
    by_rows = _select_3 if inputs.format == FORMAT else _select
    return by_rows(source, inputs.ratios, sizes, key), sizes_from


def _record(inputs: _Inputs, done: _Pass) -> DrawRecord:
    key = _draw_key(inputs.seed, inputs.beacon)
    assign = _ASSIGN[inputs.format]
    selections = assign(done.drawn, inputs.roster, inputs.conflicts, inputs.per_target, key)
    fields: dict[str, Any] = {
        "format": inputs.format,
        "draw_id": inputs.draw_id,
        "commitment": inputs.commitment,
        "seed": inputs.seed,
        "beacon": inputs.beacon,
        "ratios": inputs.ratios,
        "population": done.counts,
        "population_digest": done.digest,
        "per_target": inputs.per_target,
        "roster": inputs.roster,
        "conflicts": inputs.conflicts,
    }
    digest = _inputs_digest(_inputs_payload(fields))
    return DrawRecord._unchecked(**fields, inputs_digest=digest, selections=selections)


def _inputs_payload(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "format": fields["format"],
        "draw_id": fields["draw_id"],
        "commitment": fields["commitment"],
        "ratios": {g: _ratio_text(r) for g, r in sorted(fields["ratios"].items())},
        "population": dict(sorted(fields["population"].items())),
        "population_digest": fields["population_digest"],
        "per_target": fields["per_target"],
        "roster": [i.to_dict() for i in _roster(fields["roster"])],
        "conflicts": [c.to_dict() for c in _conflicts(fields["conflicts"])],
    }


def draw(
    targets: _Population,
    *,
    ratios: Mapping[str, Fraction | Decimal | float | int],
    inspectors: Iterable[Inspector],
    conflicts: Iterable[Conflict] = (),
    per_target: int = 2,
    seed: bytes,
    commitment: str,
    draw_id: str,
    beacon: bytes = b"",
    counts: Mapping[str, int] | None = None,
) -> DrawRecord:
    """Draw targets by credit grade and assign inspectors (双随机): a :class:`DrawRecord`.

    :param targets: the population (检查对象名录库 for the inspection item). The draw needs
        each grade's count before it selects, so it reads the population twice: pass a
        function returning a fresh iterator (true streaming from a file or a registry
        export) or a re-iterable collection — or pass ``counts`` and it is read once (and
        the counts are checked). Order never matters. Memory is O(sample), not O(population).
    :param ratios: the sampling ratio of every grade that occurs, from 0 to 1, as
        :class:`~fractions.Fraction`, :class:`~decimal.Decimal` or float (read as its
        shortest decimal, so ``0.05`` is exactly 1/20). Each grade draws
        :func:`sample_size` ``= ceil(ratio × count)`` targets.
    :param inspectors: the roster (执法检查人员名录库); order does not matter.
    :param conflicts: recusals (回避): an inspector is never assigned to a target they are
        recused from.
    :param per_target: distinct inspectors per target, at least 2 (行政处罚法 Art 42).
    :param seed: the secret seed, at least 16 bytes; its SHA-256 must be ``commitment``.
    :param commitment: the :attr:`SeedCommitment.digest` published before the draw.
    :param draw_id: the draw's reference, e.g. ``"2026-市场监管-抽查-007"``.
    :param beacon: optional public random value that became known only after the
        commitment was published (a lottery result, a randomness-beacon round), so that
        not even the holder of the seed could choose the outcome.
    :param counts: the number of targets of each grade, for a single pass.
    :raises DrawError: the inputs break a rule (``rule`` says which), the seed does not
        match the commitment, or a drawn target has fewer than ``per_target`` eligible
        inspectors (``rule == "coverage"``, naming the target and the number eligible).
    """
    return _draw(
        targets=targets,
        ratios=ratios,
        inspectors=inspectors,
        conflicts=conflicts,
        per_target=per_target,
        seed=seed,
        commitment=commitment,
        draw_id=draw_id,
        beacon=beacon,
        counts=counts,
        format=FORMAT,
    )


def _draw(
    *,
    targets: _Population,
    ratios: Mapping[str, Fraction | Decimal | float | int],
    inspectors: Iterable[Inspector],
    conflicts: Iterable[Conflict] = (),
    per_target: int = 2,
    seed: bytes,
    commitment: str,
    draw_id: str,
    beacon: bytes = b"",
    counts: Mapping[str, int] | None = None,
    format: str,
) -> DrawRecord:
    """:func:`draw` by the construction of ``format`` (tests draw old formats with it)."""
    inputs = _inputs(
        ratios=ratios,
        inspectors=inspectors,
        conflicts=conflicts,
        per_target=per_target,
        seed=seed,
        commitment=commitment,
        draw_id=draw_id,
        beacon=beacon,
        format=format,
    )
    if not hmac.compare_digest(_sha256_hex(seed), commitment):
        raise DrawError(
            "commitment",
            f"the seed's SHA-256 is {_sha256_hex(seed)}, not the published commitment {commitment}",
        )
    if counts is None and isinstance(targets, TargetColumns):
        counts = targets.counts
    with _bulk():
        done, used = _run(inputs, targets, counts)
    if done.counts != used:
        rule, said = (
            ("counts", "counts says")
            if counts is not None
            else ("population", "the first pass counted")
        )
        grade = next(g for g in used if used[g] != done.counts[g])
        hint = (
            ""
            if counts is not None
            else ": the function must return a fresh iterator over the same targets each time"
        )
        raise DrawError(
            rule,
            f"the population has {done.counts[grade]} targets of grade {grade!r}, but {said} "
            f"{used[grade]}{hint}",
        )
    with _bulk():
        return _record(inputs, done)


# --------------------------------------------------------------------------- verification

_SHOWN = 10


def verify_draw(
    record: DrawRecord,
    *,
    targets: _Population,
    commitment: str | None = None,
    inspectors: Iterable[Inspector] | None = None,
    conflicts: Iterable[Conflict] | None = None,
) -> bool:
    """Re-run a published draw and check every part of it; True, or :class:`DrawVerificationError`.

    Checks that the seed matches the record's commitment (and the ``commitment`` published
    before the draw, if given), that the record's inputs match its ``inputs_digest``, that
    ``targets`` — the population re-read from the registry — has the record's counts and
    population digest, and that re-running the draw gives exactly the record's selections
    and inspectors. Given ``inspectors`` or ``conflicts`` (as held in the registries), they
    must equal the record's. ``targets`` is read once (the record holds the counts), so a
    one-shot iterator is fine.
    """
    differences: list[str] = []
    if not hmac.compare_digest(_sha256_hex(record.seed), record.commitment):
        differences.append(
            f"the seed does not match the commitment: its SHA-256 is {_sha256_hex(record.seed)}, "
            f"the record commits to {record.commitment}"
        )
    if commitment is not None and commitment != record.commitment:
        differences.append(
            f"the record's commitment {record.commitment} is not the published {commitment}"
        )
    if _inputs_digest(record._inputs()) != record.inputs_digest:
        differences.append(
            "the record's inputs (ratios, population, roster, conflicts, per_target, draw id or "
            "commitment) do not match its inputs digest: the record was altered"
        )
    if inspectors is not None and _roster(inspectors) != record.roster:
        differences.append("the record's roster is not the roster given")
    if conflicts is not None and _conflicts(conflicts) != record.conflicts:
        differences.append("the record's conflicts are not the conflicts given")
    inputs = _Inputs(
        format=record.format,
        draw_id=record.draw_id,
        commitment=record.commitment,
        seed=record.seed,
        beacon=record.beacon,
        ratios=record.ratios,
        per_target=record.per_target,
        roster=record.roster,
        conflicts=record.conflicts,
    )
    try:
        with _bulk():
            done, _ = _run(inputs, targets, record.population)
            same = done.counts == dict(record.population)
            again = _record(inputs, done).selections if same else None
    except DrawError as exc:
        differences.append(f"the draw cannot be re-run on this population: {exc.detail}")
    else:
        for grade, count in record.population.items():
            if done.counts[grade] != count:
                differences.append(
                    f"the population has {done.counts[grade]} targets of grade {grade!r}, the "
                    f"record says {count}"
                )
        if done.digest != record.population_digest:
            differences.append(
                "the population digest differs: the registry's targets (ids, grades or tags) are "
                "not the ones drawn from"
            )
        if again is not None:
            differences += _compare(record.selections, again)
    if differences:
        raise DrawVerificationError(record.draw_id, differences)
    return True


def _compare(recorded: Sequence[DrawnTarget], again: Sequence[DrawnTarget]) -> list[str]:
    found: list[str] = []
    theirs = {s.target.id: s for s in recorded}
    ours = {s.target.id: s for s in again}
    for tid in [t for t in theirs if t not in ours]:
        found.append(f"target {tid!r} is in the record but is not drawn by the re-run")
    for tid in [t for t in ours if t not in theirs]:
        found.append(f"target {tid!r} is drawn by the re-run but is not in the record")
    for tid, mine in ours.items():
        if (other := theirs.get(tid)) is None:
            continue
        if other.target != mine.target:
            found.append(
                f"target {tid!r}: the record has {other.target!r}, the registry {mine.target!r}"
            )
        if other.key != mine.key:
            found.append(f"target {tid!r}: the record's key {other.key} is not {mine.key}")
        if other.inspectors != mine.inspectors:
            found.append(
                f"target {tid!r}: the record assigns {', '.join(other.inspectors)}, the re-run "
                f"{', '.join(mine.inspectors)}"
            )
    if not found and tuple(again) != tuple(recorded):
        found.append("the selections are not listed in draw order")
    if len(found) > _SHOWN:
        found[_SHOWN:] = [f"... {len(found) - _SHOWN} more differences in the selections"]
    return found
