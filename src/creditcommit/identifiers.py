"""Identifiers of the parties to an approval: organisations and natural persons.

- :class:`USCC`, the unified social credit code (统一社会信用代码) of GB 32100-2015: 18
  characters with a mod-31 check character, plus an allow-list for genuine early pilot codes
  that fail it (domain.md §9).
- :class:`ResidentId`, the 18-digit resident identity number (居民身份证号码) of GB 11643-1999,
  check digit ISO 7064 MOD 11-2. It is personal data: its ``repr`` and ``str`` are masked.
- :func:`mask_resident_ids`, which masks every resident identity number found in a text before
  it is published (双公示, domain.md §7.1).

Parsing normalises what people type (spaces, hyphens, lower case) and then checks one rule at
a time; the first rule that fails is raised as :class:`~creditcommit.errors.InvalidIdentifier`
with ``rule`` set to ``"length"``, ``"charset"``, ``"division"``, ``"birth-date"`` or
``"check"``.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping

import attrs

from creditcommit._converter import read_toml, structure
from creditcommit.errors import DataFileError, InvalidIdentifier, Problem

__all__ = [
    "ResidentId",
    "USCC",
    "builtin_uscc_allowlist",
    "load_uscc_allowlist",
    "mask_resident_ids",
    "text_problem",
    "uscc_check_char",
]

# --- shared normalisation -------------------------------------------------------------------

# Only ASCII letters are upper-cased: str.upper() maps some non-ASCII letters to ASCII ones
# ("ﬀ" -> "FF"), which would let foreign characters pass the character-set rule.
_UPPER_ASCII = {ord(c): ord(c) - 32 for c in "abcdefghijklmnopqrstuvwxyz"}
_UPPER_ASCII_NO_HYPHEN: dict[int, int | None] = {**_UPPER_ASCII, ord("-"): None}


def _normalise(text: str, table: Mapping[int, int | None]) -> str:
    # str.split() without arguments splits on every Unicode space, full-width U+3000 included.
    return "".join(text.split()).translate(table)


def _where(text: str, value: str, removed: str = "spaces and hyphens") -> str:
    return "" if text == value else f" (after removing {removed})"


# --- USCC -----------------------------------------------------------------------------------

_USCC_KIND = "USCC"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_CHARS)}
# 3^(i-1) mod 31 for positions 1..17 (domain.md §9.2).
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_DIGITS = frozenset("0123456789")

# GB 11714 organisation code (positions 9-17): values 0-35 over 0-9A-Z.
_ORG_VALUE = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _uscc_sum_check(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[-total % 31]


def _uscc_charset_problem(value: str) -> tuple[int, str] | None:
    for i, c in enumerate(value, start=1):
        if c not in _USCC_VALUE:
            return i, c
    return None


def _charset_detail(position: int, char: str, where: str) -> str:
    return (
        f"character {char!r} at position {position}{where} is not allowed: a USCC uses only "
        "the digits 0-9 and the upper-case letters A-Y except I, O, Z, S and V"
    )


def _uscc_problem(value: str, where: str = "") -> tuple[str, str] | None:
    """The first structural rule ``value`` breaks, as ``(rule, detail)``; the check is apart."""
    if len(value) != 18:
        return "length", f"a USCC has 18 characters, got {len(value)}{where}"
    bad = _uscc_charset_problem(value)
    if bad is not None:
        return "charset", _charset_detail(*bad, where)
    for i in range(2, 8):
        if value[i] not in _DIGITS:
            return "division", (
                "positions 3-8 are the administrative division code (GB/T 2260) and must be "
                f"digits; position {i + 1} is {value[i]!r}{where}"
            )
    return None


def _check_detail(expected: str, found: str) -> str:
    return (
        f"the check character (position 18) should be {expected!r} for the first 17 "
        f"characters, found {found!r}"
    )


def uscc_check_char(first17: str) -> str:
    """The check character (校验码) of a USCC whose first 17 characters are ``first17``.

    ``first17`` must be exactly 17 characters of the code character set (no normalisation).

    >>> uscc_check_char("91310110666007217")
    'T'
    """
    if len(first17) != 17:
        raise InvalidIdentifier(
            _USCC_KIND,
            first17,
            "length",
            f"expected the 17 characters before the check character, got {len(first17)}",
        )
    bad = _uscc_charset_problem(first17)
    if bad is not None:
        raise InvalidIdentifier(_USCC_KIND, first17, "charset", _charset_detail(*bad, ""))
    return _uscc_sum_check(first17)


def _validate_uscc_value(_: object, __: attrs.Attribute[str], value: str) -> None:
    problem = _uscc_problem(value)
    if problem is not None:
        raise InvalidIdentifier(_USCC_KIND, value, *problem)


def _validate_legacy(instance: USCC, _: attrs.Attribute[bool], legacy: bool) -> None:
    expected = _uscc_sum_check(instance.value[:17])
    if expected == instance.value[17]:
        if legacy:
            raise InvalidIdentifier(
                _USCC_KIND,
                instance.value,
                "legacy",
                "the check character is correct, so the code is not a legacy exception",
            )
    elif not legacy:
        raise InvalidIdentifier(
            _USCC_KIND, instance.value, "check", _check_detail(expected, instance.value[17])
        )


@attrs.frozen
class USCC:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), e.g. ``91310110666007217T``.

    Build one with :meth:`parse`. ``legacy`` is true for a genuine early pilot code on the
    allow-list that fails the check character (domain.md §9.3). The registration-authority
    and category names come from a data table that is incomplete and disputed; an unknown
    code gives ``None`` and is never a reason to reject.
    """

    value: str = attrs.field(validator=_validate_uscc_value)
    legacy: bool = attrs.field(default=False, kw_only=True, validator=_validate_legacy)

    @classmethod
    def parse(cls, text: str, *, allow: Iterable[str] = ()) -> USCC:
        """Normalise and validate ``text``.

        Spaces (full-width too) and hyphens are removed and ASCII letters upper-cased, then
        the rules ``"length"`` (18 characters), ``"charset"``, ``"division"`` (positions 3-8
        are digits) and ``"check"`` are applied in this order. A code failing only the check
        is accepted as ``legacy`` if it is on the built-in allow-list or in ``allow``.

        :raises InvalidIdentifier: naming the first rule that failed; ``value`` is ``text``.
        """
        value = _normalise(text, _UPPER_ASCII_NO_HYPHEN)
        problem = _uscc_problem(value, _where(text, value))
        if problem is not None:
            raise InvalidIdentifier(_USCC_KIND, text, *problem)
        expected = _uscc_sum_check(value[:17])
        if expected == value[17]:
            return cls(value)
        # The allow-lists are consulted only for codes that fail the check, which is rare.
        if value in builtin_uscc_allowlist() or any(
            _normalise(code, _UPPER_ASCII_NO_HYPHEN) == value for code in allow
        ):
            return cls(value, legacy=True)
        raise InvalidIdentifier(_USCC_KIND, text, "check", _check_detail(expected, value[17]))

    @classmethod
    def is_valid(cls, text: str, *, allow: Iterable[str] = ()) -> bool:
        """Whether :meth:`parse` accepts ``text``; never raises for a string."""
        try:
            cls.parse(text, allow=allow)
        except InvalidIdentifier:
            return False
        return True

    def __str__(self) -> str:
        return self.value

    @property
    def authority_code(self) -> str:
        """Position 1: the registration-authority code (登记管理部门代码)."""
        return self.value[0]

    @property
    def category_code(self) -> str:
        """Position 2: the organisation-category code (机构类别代码)."""
        return self.value[1]

    @property
    def division_code(self) -> str:
        """Positions 3-8: the registering authority's administrative division (GB/T 2260)."""
        return self.value[2:8]

    @property
    def org_code(self) -> str:
        """Positions 9-17: the subject identifier, an organisation code (组织机构代码, GB 11714)."""
        return self.value[8:17]

    @property
    def check_char(self) -> str:
        """Position 18: the check character (校验码)."""
        return self.value[17]

    @property
    def authority(self) -> str | None:
        """Name of the registration authority, e.g. ``"工商"``; ``None`` if the table lacks it."""
        entry = _code_table().authorities.get(self.authority_code)
        return entry.name if entry else None

    @property
    def category(self) -> str | None:
        """Name of the organisation category, e.g. ``"企业"``; ``None`` if the table lacks it."""
        entry = _code_table().authorities.get(self.authority_code)
        return entry.categories.get(self.category_code) if entry else None

    @property
    def org_code_valid(self) -> bool:
        """Whether positions 9-17 pass the GB 11714 mod-11 check.

        A report, not a rule: :meth:`parse` never rejects a code for this.
        """
        org = self.org_code
        total = sum(_ORG_VALUE[c] * w for c, w in zip(org, _ORG_WEIGHTS, strict=False))
        check = 11 - total % 11
        return org[8] == {10: "X", 11: "0"}.get(check, str(check))


# --- USCC data: authority/category table and allow-lists ------------------------------------


@attrs.frozen
class _Authority:
    name: str
    source: str
    note: str = ""
    categories: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class _CodeTable:
    authorities: dict[str, _Authority]


@attrs.frozen
class _AllowList:
    codes: list[str]


def _code_table_from(data: object, source: str) -> _CodeTable:
    table = structure(data, _CodeTable, source=source)
    problems: list[Problem] = []

    def check_key(path: str, key: str) -> None:
        if key not in _USCC_VALUE:
            problems.append(Problem(path, f"expected one character of {_USCC_CHARS}, got {key!r}"))

    for code, entry in table.authorities.items():
        path = f"authorities.{code}"
        check_key(path, code)
        if not entry.name.strip():
            problems.append(Problem(f"{path}.name", "expected a name, got an empty string"))
        for category, name in entry.categories.items():
            check_key(f"{path}.categories.{category}", category)
            if not name.strip():
                problems.append(
                    Problem(f"{path}.categories.{category}", "expected a name, got an empty string")
                )
    if problems:
        raise DataFileError(source, problems)
    return table


@functools.cache
def _code_table() -> _CodeTable:
    resource = importlib.resources.files("creditcommit") / "data" / "uscc_codes.toml"
    return _code_table_from(tomllib.loads(resource.read_text("utf-8")), "uscc_codes.toml")


def _allowlist_from(data: object, source: str) -> frozenset[str]:
    allow = structure(data, _AllowList, source=source)
    problems: list[Problem] = []
    codes: set[str] = set()
    for i, text in enumerate(allow.codes):
        value = _normalise(text, _UPPER_ASCII_NO_HYPHEN)
        problem = _uscc_problem(value, _where(text, value))
        if problem is None:
            codes.add(value)
        else:
            rule, detail = problem
            problems.append(Problem(f"codes[{i}]", f"{detail} (rule: {rule})"))
    if problems:
        raise DataFileError(source, problems)
    return frozenset(codes)


@functools.cache
def builtin_uscc_allowlist() -> frozenset[str]:
    """The built-in legacy codes: early pilot codes that fail the check but are genuine.

    >>> "91350100M0001TGQXM" in builtin_uscc_allowlist()
    True
    """
    resource = importlib.resources.files("creditcommit") / "data" / "uscc_legacy.toml"
    return _allowlist_from(tomllib.loads(resource.read_text("utf-8")), "uscc_legacy.toml")


def load_uscc_allowlist(path: str | os.PathLike[str]) -> frozenset[str]:
    """Read a city's extra legacy codes from a TOML file ``codes = ["...", ...]``.

    Codes are normalised like :meth:`USCC.parse` input and must pass every rule but the
    check. Pass the result as ``USCC.parse(text, allow=...)``.

    :raises DataFileError: listing every malformed entry (``codes[2]: ...``).
    """
    return _allowlist_from(read_toml(path), os.fspath(path))


# --- resident identity number ---------------------------------------------------------------

_RID_KIND = "resident identity number"
# 2^(18-i) mod 11 for positions 1..17 (ISO 7064 MOD 11-2).
_RID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RID_CHECK = "10X98765432"  # indexed by (weighted sum mod 11)
_MASK = "*" * 8


def _rid_check(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11]


_BIRTH_YEAR_FLOOR = 1900


def _rid_birth_date(value: str) -> dt.date | None:
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    # No resident identity number in use records a birth before 1900; the floor also keeps
    # all-digit unified social credit codes from reading as identity numbers when masking.
    return born if born.year >= _BIRTH_YEAR_FLOOR else None


def _rid_problem(value: str, where: str = "") -> tuple[str, str] | None:
    if len(value) != 18:
        old = " (15-digit numbers from before GB 11643-1999 are not accepted)"
        return "length", (
            f"a resident identity number has 18 characters, got {len(value)}{where}"
            + (old if len(value) == 15 else "")
        )
    for i, c in enumerate(value, start=1):
        if c not in _DIGITS and not (i == 18 and c == "X"):
            return "charset", (
                f"character {c!r} at position {i}{where} is not allowed: positions 1-17 are "
                "digits and position 18 is a digit or X"
            )
    if _rid_birth_date(value) is None:
        return "birth-date", (
            "positions 7-14 (date of birth, YYYYMMDD) are not a real date from 1900 on"
        )
    expected = _rid_check(value[:17])
    if expected != value[17]:
        return "check", (
            f"the check character (position 18) should be {expected!r} for the first 17 "
            f"digits, found {value[17]!r}"
        )
    return None


def _redact(value: str) -> str:
    # Error messages reach logs: never carry a (nearly) complete number in them.
    if len(value) <= 10:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _validate_rid_value(_: object, __: attrs.Attribute[str], value: str) -> None:
    problem = _rid_problem(value)
    if problem is not None:
        raise InvalidIdentifier(_RID_KIND, _redact(value), *problem)


@attrs.frozen(repr=False)
class ResidentId:
    """A resident identity number (居民身份证号码, GB 11643-1999), e.g. ``11010519491231002X``.

    Personal data: ``repr()`` and ``str()`` show the masked form (:meth:`masked`); use
    :attr:`value` where the full number is really needed.
    """

    value: str = attrs.field(validator=_validate_rid_value)

    @classmethod
    def parse(cls, text: str) -> ResidentId:
        """Normalise (remove spaces and hyphens, upper-case ``x``) and validate ``text``.

        Rules, in order: ``"length"`` (18), ``"charset"`` (17 digits then a digit or ``X``),
        ``"birth-date"`` (positions 7-14 are a real calendar date; there is no "today" here,
        so future dates are not rejected) and ``"check"`` (ISO 7064 MOD 11-2).

        :raises InvalidIdentifier: naming the first rule that failed. Its ``value`` is the
            normalised text with everything but the first 6 and last 4 characters masked.
        """
        value = _normalise(text, _UPPER_ASCII_NO_HYPHEN)
        problem = _rid_problem(value, _where(text, value))
        if problem is not None:
            raise InvalidIdentifier(_RID_KIND, _redact(value), *problem)
        return cls(value)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        """Whether :meth:`parse` accepts ``text``; never raises for a string."""
        return _rid_problem(_normalise(text, _UPPER_ASCII_NO_HYPHEN)) is None

    @property
    def division_code(self) -> str:
        """Positions 1-6: the administrative division of the registered residence (GB/T 2260)."""
        return self.value[:6]

    @property
    def birth_date(self) -> dt.date:
        """Positions 7-14: the date of birth."""
        return dt.date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    def masked(self) -> str:
        """The number for publication: the birth date (positions 7-14) replaced by ``*``.

        >>> ResidentId.parse("11010519491231002x").masked()
        '110105********002X'
        """
        return self.value[:6] + _MASK + self.value[14:]

    def __repr__(self) -> str:
        return f"ResidentId({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()


# What a clerk may type inside a number: any Unicode space (NBSP and U+3000 included, see
# _is_separator), hyphens and dashes, and zero-width characters. Dots, slashes and other
# punctuation end a number.
_SEPARATORS = frozenset(
    "-\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
    "\u180e\u200b\u200c\u200d\u2060\ufeff"
)
# ASCII and full-width digits, and X in any case and width, as the character they stand for.
_SIGNIFICANT = {
    **{c: c for c in "0123456789"},
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    **dict.fromkeys("Xx\uff38\uff58", "X"),
}
# Province-level codes of GB/T 2260 (positions 1-2): a number with a wrong check digit is
# masked only if it starts with one of these and carries a real birth date.
_PROVINCES = frozenset(
    f"{n}" for n in (*range(11, 16), 21, 22, 23, *range(31, 38), *range(41, 47), *range(50, 55))
) | frozenset(f"{n}" for n in (*range(61, 66), 71, 81, 82, 83))
_BIRTH_YEAR_CEILING = 2099
_ANY_DIGIT = re.compile("[0-9\uff10-\uff19]")


def _is_separator(ch: str) -> bool:
    return ch in _SEPARATORS or ch.isspace()


def _plausible_birth(year: int, month: int, day: int) -> bool:
    if not _BIRTH_YEAR_FLOOR <= year <= _BIRTH_YEAR_CEILING:
        return False
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _masks_18(window: str) -> bool:
    """Whether 18 significant characters read as a resident identity number to mask."""
    if not window[:17].isdigit() or not window[:17].isascii():
        return False
    born = _rid_birth_date(window)
    if born is None:
        return False
    if _rid_check(window[:17]) == window[17]:
        return True
    return window[:2] in _PROVINCES and born.year <= _BIRTH_YEAR_CEILING


def _masks_15(window: str) -> bool:
    """Whether 15 digits read as a legacy (pre-1999) number: province and a 19YYMMDD date."""
    if "X" in window or window[:2] not in _PROVINCES:
        return False
    return _plausible_birth(1900 + int(window[6:8]), int(window[8:10]), int(window[10:12]))


def _masked_positions(run: str, positions: list[int], breaks: set[int]) -> list[int]:
    found: list[int] = []
    for i in range(len(run) - 17):
        if _masks_18(run[i : i + 18]):
            found.extend(positions[i + 6 : i + 14])
    # A legacy number has no check digit, so it is looked for only between the ends of a run
    # and the separators inside it, never at every offset of a longer number.
    edges = {0, len(run)} | breaks
    for i in edges:
        if i + 15 in edges and i + 15 <= len(run) and _masks_15(run[i : i + 15]):
            found.extend(positions[i + 6 : i + 12])
    return found


def mask_resident_ids(text: str) -> str:
    """Mask the birth date of every resident identity number found in ``text``.

    Free text is masked aggressively. The text is read as runs of digits (ASCII or
    full-width) and ``X`` (any case or width), where spaces of any kind, hyphens, dashes and
    zero-width characters inside a run are skipped, so every grouping is found. Masked:

    - every 18 characters of a run (17 digits, then a digit or ``X``) with a birth date from
      1900 on and a correct check digit, also inside a longer run;
    - the same with a wrong check digit, if positions 1-2 are a province code (GB/T 2260)
      and the birth date is from 1900 to 2099: a mistyped number is still personal data;
    - 15 digits (a number from before GB 11643-1999) between the ends of a run or its
      separators, with a province code and a real birth date ``19YYMMDD``.

    The birth date (8 digits, or 6 in a 15-digit number) is replaced by ``*``, one per
    character, so the output has the same length and nothing else changes. Over-masking a
    number that merely looks like an identity number is preferred to publishing one; a case
    id such as ``321000-20250926-N0001`` and a USCC with letters are never touched, and an
    all-digit USCC only when it also reads as an identity number (a field that holds an
    organisation's code is exempted by :mod:`creditcommit.publication` instead).

    >>> mask_resident_ids("申请人 11010519491231002X，电话 010-12345678")
    '申请人 110105********002X，电话 010-12345678'
    >>> mask_resident_ids("１１０１ ０５１９ ４９１２ ３１００ ２Ｘ")
    '１１０１ ０５** **** **００ ２Ｘ'
    """
    if _ANY_DIGIT.search(text) is None:
        return text
    spans: list[int] = []
    run: list[str] = []
    positions: list[int] = []
    breaks: set[int] = set()
    pending = False

    def flush() -> None:
        if len(run) >= 15:
            spans.extend(_masked_positions("".join(run), positions, breaks))
        run.clear()
        positions.clear()
        breaks.clear()

    for i, ch in enumerate(text):
        significant = _SIGNIFICANT.get(ch)
        if significant is not None:
            if pending:
                breaks.add(len(run))
                pending = False
            run.append(significant)
            positions.append(i)
        elif run and _is_separator(ch):
            pending = True
        elif run:
            pending = False
            flush()
    flush()
    if not spans:
        return text
    chars = list(text)
    for at in spans:
        chars[at] = "*"
    return "".join(chars)


# --- hostile text ---------------------------------------------------------------------------

# Bidirectional overrides and isolates reorder what a reader sees (a name that reads as
# another name); they never belong in a name or a code.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name or a label, or ``None`` if it can.

    Refused: line breaks, tabs, escapes (ESC, the start of an ANSI sequence) and every other
    control character (Unicode category Cc), bidirectional overrides and isolates, and lone
    surrogates (text that is not valid Unicode and cannot be written as UTF-8).

    >>> text_problem("高邮某酒店")
    >>> print(text_problem("甲\\x1b[2J"))
    expected one line of text without control characters, got U+001B at position 2 in '甲\\x1b[2J'
    """
    for i, ch in enumerate(text, start=1):
        category = unicodedata.category(ch)
        if category == "Cc" or ch in _BIDI:
            what = "one line of text without control characters"
        elif category == "Cs":
            what = "valid Unicode text (a lone surrogate is not a character)"
        else:
            continue
        return f"expected {what}, got U+{ord(ch):04X} at position {i} in {text!r}"
    return None
