"""A draw's population given as columns (检查对象名录库 as a registry export): ids and grades.

A provincial target registry holds millions of market entities. Building a
:class:`~creditcommit.draws.Target` object for each of them costs more than the draw itself,
so :func:`~creditcommit.draws.draw` and :func:`~creditcommit.draws.verify_draw` also take a
:class:`TargetColumns`: the ids and the credit grades as two parallel columns, read in
chunks, with no object made for a target that is not drawn. The draw is the same draw — the
same targets, keys, inspectors, population digest and record — as over the equivalent
:class:`~creditcommit.draws.Target` objects (targets without tags or inspection types).

Make one with :meth:`TargetColumns.of` from two sequences (Python lists, or numpy arrays
of ``str`` or UTF-8 ``bytes``; numpy is not needed otherwise), with
:meth:`TargetColumns.from_csv` from a registry export file (one ``id,grade`` per line), or
with :meth:`TargetColumns.from_chunks` from any source that can be read again in chunks.
The counts per grade are taken from ``counts`` when given (the draw then reads the columns
once), otherwise counted in a cheap first pass (no hashing).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, NoReturn

import attrs

from creditcommit._converter import describe
from creditcommit.errors import DataFileError, Problem

__all__ = ["CHUNK", "TargetColumns"]

CHUNK = 1 << 16
"""How many targets a chunk holds (the columns are read this many at a time)."""

_Chunk = tuple[Sequence[str], Sequence[str]]


def _texts(values: Any, what: str, start: int) -> list[str]:
    """A chunk of a column as a list of ``str``: numpy ``bytes`` are decoded as UTF-8."""
    found: list[Any] = values.tolist() if hasattr(values, "tolist") else list(values)
    if found and type(found[0]) is bytes:
        try:
            found = [v.decode() if type(v) is bytes else v for v in found]
        except UnicodeDecodeError:
            found = [v.decode(errors="replace") if type(v) is bytes else v for v in found]
            at = next(n for n, v in enumerate(found) if "\ufffd" in v)
            raise ValueError(f"{what} {start + at}: not UTF-8") from None
    return found


def _column_chunks(ids: Any, grades: Any) -> Iterator[_Chunk]:
    for start in range(0, len(ids), CHUNK):
        yield (
            _texts(ids[start : start + CHUNK], "id", start),
            _texts(grades[start : start + CHUNK], "grade", start),
        )


@attrs.frozen
class TargetColumns:
    """A target population as two columns, ids and grades, read in chunks (no tags, no types).

    ``chunks`` returns a fresh iterable of ``(ids, grades)`` chunks each time it is called:
    parallel sequences of ``str`` (a target id, unique in the population, and its credit
    grade code). ``counts`` (grade → number of targets), when known, lets the draw read the
    columns once; it is checked against what is read. ``source`` names the columns in
    messages (a file name).
    """

    chunks: Callable[[], Iterable[_Chunk]] = attrs.field(repr=False)
    counts: Mapping[str, int] | None = None
    source: str = "<columns>"
    #: A faster count for the given grades (None when it cannot tell), e.g. a file's.
    count: Callable[[Collection[str]], dict[str, int] | None] | None = attrs.field(
        default=None, repr=False
    )

    @classmethod
    def of(cls, ids: Any, grades: Any, *, counts: Mapping[str, int] | None = None) -> TargetColumns:
        """Columns from two parallel sequences: lists, tuples or numpy arrays.

        Ids and grades are ``str`` (numpy ``<U``) or UTF-8 ``bytes`` (numpy ``S``). The
        sequences are kept, not copied, and must not change until the draw is made.

        :raises ValueError: the two columns differ in length.
        """
        if len(ids) != len(grades):
            raise ValueError(
                f"the id and grade columns must be as long as each other, got {len(ids)} ids "
                f"and {len(grades)} grades"
            )
        return cls(lambda: _column_chunks(ids, grades), counts)

    @classmethod
    def from_chunks(
        cls,
        chunks: Callable[[], Iterable[_Chunk]],
        *,
        counts: Mapping[str, int] | None = None,
        source: str = "<columns>",
    ) -> TargetColumns:
        """Columns from a function returning a fresh iterable of ``(ids, grades)`` chunks."""
        return cls(chunks, counts, source)

    @classmethod
    def from_csv(
        cls, path: str | os.PathLike[str], *, counts: Mapping[str, int] | None = None
    ) -> TargetColumns:
        """Columns read from a registry export: UTF-8 text, one target per line, ``id,grade``.

        An optional first line ``id,grade`` is a header and skipped. Every other line holds
        exactly one comma, between a non-empty id and a non-empty grade, with no spaces
        around either (a line ending ``\\r\\n`` is fine). The file is opened afresh at each
        pass of the draw and read in chunks, so memory does not grow with its size; a
        malformed line stops the draw with :class:`~creditcommit.errors.DataFileError`
        naming the line.
        """
        name = os.fspath(path)
        return cls(
            lambda: _csv_chunks(name), counts, name, lambda grades: _csv_counts(name, grades)
        )

    def grade_counts(self, grades: Collection[str] = ()) -> dict[str, int]:
        """The number of targets of each grade: ``counts`` if given, else one pass (no hashing).

        ``grades``, the grades expected, lets a file be counted without splitting its lines.
        """
        if self.counts is not None:
            return dict(self.counts)
        if self.count is not None and grades and (quick := self.count(grades)) is not None:
            return quick
        found: Counter[str] = Counter()
        for _, column in self.chunks():
            found.update(column)
        return dict(found)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """Every ``(id, grade)`` pair, in column order."""
        for ids, grades in self.chunks():
            yield from zip(ids, grades, strict=True)


def text_problem(value: object) -> str | None:
    """Why ``value`` cannot be a target id or grade in a column, or None if it can."""
    if type(value) is not str:
        return f"expected a string, got {describe(value)}"
    if not value or value != value.strip():
        return f"expected non-empty text without surrounding spaces, got {value!r}"
    return None


# Every ASCII character str.strip() removes, except the line feed that joins a chunk.
_BLANKS = bytes(c for c in range(128) if chr(c).isspace() and c != 0x0A)


def first_problem(column: Sequence[object]) -> tuple[int, str] | None:
    """The first value of a chunk that cannot be an id (position, why), or None.

    Checked a chunk at a time at C speed: the chunk joined by line feeds must hold no other
    white space and no empty line (ASCII), or split into as many words as it has values
    (other text); only when that fails is every value looked at.
    """
    try:
        joined = "\n".join(column)  # type: ignore[arg-type]
    except TypeError:
        joined = ""
    if joined.isascii():
        raw = joined.encode("ascii")
        if (
            raw
            and len(raw.translate(None, _BLANKS)) == len(raw)
            and raw.count(b"\n") == len(column) - 1
            and b"\n\n" not in raw
            and raw[:1] != b"\n"
            and raw[-1:] != b"\n"
        ):
            return None
    else:
        words = joined.split()
        if len(words) == len(column) and len(joined) - sum(map(len, words)) == len(column) - 1:
            return None
    for n, value in enumerate(column):
        if (why := text_problem(value)) is not None:
            return n, why
    return None  # an id holding a line break, and nothing else wrong


def _csv_blocks(name: str) -> Iterator[tuple[str, int, int]]:
    """The file a block of whole lines at a time: ``(text, lines before it, lines in it)``.

    Line ends are ``\n`` (``\r\n`` is read as ``\n``), the text does not end with one, and
    the header line ``id,grade``, if first, is left out.
    """
    try:
        fh = open(name, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise DataFileError(name, [Problem("", f"cannot read file: {exc.strerror}")]) from None
    with fh:
        done = 0  # lines before this block
        rest = ""
        while True:
            try:
                block = fh.read(1 << 21)
            except UnicodeDecodeError as exc:
                where = f"line {done + rest.count(chr(10)) + 1}+"
                raise DataFileError(
                    name, [Problem(where, f"not UTF-8 text: {exc.reason}")]
                ) from None
            if not block and not rest:
                return
            if not done:
                block = block.removeprefix("\ufeff")
            text = (rest + block).replace("\r\n", "\n")
            if block:
                cut = text.rfind("\n") + 1
                text, rest = text[:cut], text[cut:]
                if not text:
                    continue  # a line longer than a block: read on
                text = text[:-1]
            else:
                text, rest = text.removesuffix("\n").removesuffix("\r"), ""
            lines = text.count("\n") + 1
            if not done and (text == "id,grade" or text.startswith("id,grade\n")):
                text = text[9:]
                lines -= 1
                done += 1
                if not lines:
                    continue
            yield text, done, lines
            done += lines


def _csv_chunks(name: str) -> Iterator[_Chunk]:
    for text, done, lines in _csv_blocks(name):
        if text.count(",") != lines:
            _raise_line(name, text, done)
        fields = text.replace("\n", ",").split(",")
        ids, grades = fields[0::2], fields[1::2]
        for what, column in (("id", ids), ("grade", grades)):
            if found := first_problem(column):
                at = done + found[0] + 1
                raise DataFileError(name, [Problem(f"line {at}", f"{what}: {found[1]}")])
        yield ids, grades


def _csv_counts(name: str, grades: Collection[str]) -> dict[str, int] | None:
    """Count the lines ending in each of ``grades`` without splitting them (C-speed searches).

    None if some line ends in none of them (an unknown grade, or a malformed line): the
    caller then counts chunk by chunk, which names the problem.
    """
    counts = dict.fromkeys(grades, 0)
    needles = {g: f",{g}\n" for g in grades if "," not in g and "\n" not in g}
    for block, _, lines in _csv_blocks(name):
        text = block + "\n"
        found = 0
        for grade, needle in needles.items():
            n = text.count(needle)
            counts[grade] += n
            found += n
        if found != lines or text.count(",") != lines:
            return None
    return counts


def _raise_line(name: str, text: str, done: int) -> NoReturn:
    for n, line in enumerate(text.split("\n"), start=done + 1):
        if line.count(",") != 1:
            raise DataFileError(
                name, [Problem(f"line {n}", f"expected 'id,grade' (one comma), got {line!r}")]
            )
    raise AssertionError("unreachable: every line has one comma")  # pragma: no cover
