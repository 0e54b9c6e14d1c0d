"""The one strict cattrs converter for untrusted data files, and TOML loading.

Data files (catalogues, policies, calendar overrides, scenarios) are written by people, so
the converter never coerces: ``"20"`` is not an int, ``1`` is not a string, ``true`` is not
a number. Every failure becomes a :class:`~creditcommit.errors.DataFileError` naming the file,
the path inside it (``items[3].materials[1].kind``) and what was expected.

Schema classes structured here should carry types only; checks that need several fields
(promised <= statutory limit, unique codes, ...) belong to the module that owns the schema
and report :class:`~creditcommit.errors.Problem` objects with paths of their own, because an
exception raised inside an attrs ``__init__`` reaches cattrs without its location.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import re
import tomllib
import typing
from collections import abc
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn

from creditcommit.errors import DataFileError, Problem

T = TypeVar("T")


class _Expected(ValueError):
    """Raised by the strict hooks; its message is what the user reads."""


def describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, dt.datetime):
        return f"date-time {value.isoformat()}"
    if isinstance(value, dt.date):
        return f"date {value.isoformat()}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


# Control characters other than line breaks and tabs (an ESC starts a terminal escape
# sequence), bidirectional overrides and isolates (they reorder what a reader sees) and lone
# surrogates (JSON can write "\\ud800"; it is not text) are refused in every string of a
# data file; line breaks are refused where a value must be one line (names, codes).
_HOSTILE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _Expected(f"expected a string, got {describe(value)}")
    return value


def hostile_text_problem(value: str) -> str | None:
    """Why a string read from a file is refused (see ``_HOSTILE``), or ``None``."""
    bad = _HOSTILE.search(value)
    if bad is None:
        return None
    return (
        "expected text without control characters, direction overrides or lone "
        f"surrogates, got U+{ord(bad.group()):04X} at position {bad.start() + 1} in "
        f"{_shown(value)}"
    )


def _shown(value: str, limit: int = 60) -> str:
    # repr escapes control characters, overrides and surrogates, and keeps Chinese readable.
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Expected(f"expected an integer, got {describe(value)}")
    return value


def _float(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Expected(f"expected a number, got {describe(value)}")
    return float(value)


def _bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _Expected(f"expected true or false, got {describe(value)}")
    return value


def _date(value: object, _: type) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _Expected(f"expected a date (YYYY-MM-DD), got {describe(value)}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _Expected(f"expected a date (YYYY-MM-DD), got {describe(value)}")


def _datetime(value: object, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Expected(f"expected a date-time with offset, got {describe(value)}") from None
    else:
        raise _Expected(f"expected a date-time with offset, got {describe(value)}")
    if parsed.tzinfo is None:
        raise _Expected(f"expected a date-time with offset (e.g. +08:00), got {describe(value)}")
    return parsed


def _is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def _enum_hook(cls: type[enum.Enum]) -> Any:
    values = [member.value for member in cls]

    def structure(value: object, _: type) -> enum.Enum:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _Expected(f"expected one of {_choices(values)}, got {describe(value)}")
        try:
            return cls(value)
        except ValueError:
            raise _Expected(f"expected one of {_choices(values)}, got {describe(value)}") from None

    return structure


def _choices(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def make_converter() -> cattrs.Converter:
    """A new strict converter (forbids unknown keys, never coerces)."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(dt.date, _date)
    conv.register_structure_hook(dt.datetime, _datetime)
    conv.register_structure_hook_factory(_is_enum, _enum_hook)

    def attrs_hook(cls: type[Any]) -> Any:
        inner = make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
        )

        def structure(value: object, _: type) -> Any:
            if not isinstance(value, Mapping):
                raise _Expected(f"expected a table, got {describe(value)}")
            return inner(value, cls)

        return structure

    conv.register_structure_hook_factory(attrs.has, attrs_hook)
    conv.register_structure_hook_factory(_is_array, lambda cls: _array_hook(conv, cls))
    return conv


_ARRAY_ORIGINS = (list, tuple, set, frozenset, abc.Sequence, abc.Set, abc.MutableSequence)


def _is_array(cls: Any) -> bool:
    return typing.get_origin(cls) in _ARRAY_ORIGINS and bool(typing.get_args(cls))


def _array_hook(conv: cattrs.Converter, cls: Any) -> Any:
    """Arrays must be arrays: a string is not a list of characters, a table not its keys."""
    origin = typing.get_origin(cls)
    args = typing.get_args(cls)
    inner: Any
    if origin in (list, abc.Sequence, abc.MutableSequence):
        inner = list_structure_factory(cls, conv)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = homogenous_tuple_structure_factory(cls, conv)
    elif origin is tuple:
        inner = conv._structure_tuple
    elif origin is set:
        inner = conv._structure_set
    else:
        inner = conv._structure_frozenset

    def structure(value: object, type_: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise _Expected(f"expected an array, got {describe(value)}")
        return inner(value, type_)

    return structure


CONVERTER = make_converter()


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def problems_from(exc: BaseException, path: str = "") -> list[Problem]:
    """Flatten a cattrs validation error into problems with readable paths."""
    if isinstance(exc, IterableValidationError):
        found: list[Problem] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            found.extend(problems_from(sub, _join(path, note.index)))
        for sub in without:
            found.extend(problems_from(sub, path))
        return found
    if isinstance(exc, ClassValidationError):
        found = []
        class_notes, class_without = exc.group_exceptions()
        for sub, cnote in class_notes:
            found.extend(problems_from(sub, _join(path, cnote.name)))
        for sub in class_without:
            found.extend(problems_from(sub, path))
        return found
    return [Problem(path, _message(exc))]


def _message(exc: BaseException) -> str:
    if isinstance(exc, _Expected):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        extra = ", ".join(repr(k) for k in sorted(exc.extra_fields))
        allowed = ""
        if attrs.has(exc.cl):
            names = [a.alias or a.name for a in attrs.fields(exc.cl)]
            allowed = f" (allowed: {', '.join(names)})"
        return f"unknown key {extra}{allowed}"
    if isinstance(exc, KeyError):
        return "required key is missing"
    if isinstance(exc, AttributeError | TypeError) and "items" in str(exc):
        return "expected a table"
    if isinstance(exc, TypeError) and "not iterable" in str(exc):
        return "expected an array"
    return f"invalid value ({exc})"


def structure(data: object, cls: type[T], *, source: str = "<data>") -> T:
    """Structure plain data into ``cls`` strictly, or raise :class:`DataFileError`."""
    try:
        return CONVERTER.structure(data, cls)
    except (ClassValidationError, IterableValidationError) as exc:
        raise DataFileError(source, problems_from(exc)) from None
    except (_Expected, ForbiddenExtraKeysError, KeyError, TypeError) as exc:
        raise DataFileError(source, [Problem("", _message(exc))]) from None


MAX_FILE_BYTES = 16 * 1024 * 1024
"""The largest data file read (16 MiB): a catalogue of thousands of items is a few hundred KiB."""

MAX_DEPTH = 32
"""The deepest nesting of tables and arrays accepted in a data file (the schemas need < 10)."""


def read_text(path: str | os.PathLike[str], *, limit: int = MAX_FILE_BYTES) -> str:
    """Read at most ``limit`` bytes of UTF-8 text (a BOM is dropped) or raise DataFileError.

    The size is checked while reading, so a device such as ``/dev/zero`` or a file growing
    under us cannot exhaust memory.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise DataFileError(name, [Problem("", f"cannot read file: {exc.strerror}")]) from None
    if len(data) > limit:
        raise DataFileError(
            name,
            [Problem("", f"expected a file of at most {_size(limit)}, got a larger one")],
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(name, [Problem("", f"not UTF-8 text: {exc}")]) from None


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{limit} bytes"


def nesting_problem(text: str, *, limit: int = MAX_DEPTH, toml: bool = True) -> Problem | None:
    """A problem if ``text`` (TOML or JSON) nests arrays and tables deeper than ``limit``.

    A scan of the raw text before parsing (the parsers recurse, so a deep file would raise
    ``RecursionError``): brackets and braces are counted outside strings and comments. The
    problem names the line where the limit is crossed.
    """
    depth = 0
    line = 1
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return Problem(
                    "",
                    f"expected tables and arrays nested at most {limit} deep, got deeper "
                    f"nesting on line {line}",
                )
        elif ch in "]}":
            depth = max(depth - 1, 0)
        elif toml and ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == '"' or (toml and ch == "'"):
            triple = toml and text.startswith(ch * 3, i)
            quote = ch * 3 if triple else ch
            j = i + len(quote)
            while j < n:
                if text.startswith(quote, j):
                    break
                if ch == '"' and text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    if not triple:
                        break  # an unterminated string: the parser reports it
                    line += 1
                j += 1
            i = j + len(quote)
            continue
        i += 1
    return None


def _check_nesting(name: str, text: str, *, toml: bool) -> None:
    problem = nesting_problem(text, toml=toml)
    if problem is not None:
        raise DataFileError(name, [problem])


def _data_problems(data: object, limit: int = MAX_DEPTH) -> list[Problem]:
    """Where parsed file data nests deeper than ``limit`` or holds hostile text (keys too).

    Without recursion. TOML nests without brackets too: ``a.b.c = 1`` and ``[a.b.c]`` are
    three tables deep. Only files are checked this way: data stored by creditcommit itself
    is read back as it was written.
    """
    problems: list[Problem] = []
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > limit:
            return [Problem(path, f"expected tables and arrays nested at most {limit} deep")]
        if isinstance(value, str):
            problem = hostile_text_problem(value)
            if problem is not None:
                problems.append(Problem(path, problem))
        elif isinstance(value, Mapping):
            for k, v in value.items():
                problem = hostile_text_problem(str(k))
                # A hostile key is shown escaped: the path is printed to terminals and logs.
                here = _join(path, str(k) if problem is None else repr(str(k)))
                if problem is not None:
                    problems.append(Problem(here, f"in the key: {problem}"))
                stack.append((v, here, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, _join(path, i), depth + 1) for i, v in enumerate(value))
    return sorted(problems, key=lambda p: p.path)


def _check_data(source: str, data: object) -> None:
    problems = _data_problems(data)
    if problems:
        raise DataFileError(source, problems)


def parse_toml(text: str, *, source: str = "<text>") -> dict[str, Any]:
    """Parse TOML text with the nesting limit; malformed text raises :class:`DataFileError`."""
    _check_nesting(source, text, toml=True)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(source, [Problem("", f"not valid TOML: {exc}")]) from None
    except RecursionError:  # pragma: no cover - the scan above prevents it
        raise DataFileError(source, [Problem("", "expected less deeply nested data")]) from None
    _check_data(source, data)
    return data


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML file; too large, too deep, unreadable or malformed files raise
    :class:`DataFileError` (limits: :data:`MAX_FILE_BYTES`, :data:`MAX_DEPTH`)."""
    name = os.fspath(path)
    return parse_toml(read_text(name), source=name)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file with the same limits and errors as :func:`read_toml`."""
    name = os.fspath(path)
    return parse_json(read_text(name), source=name)


def parse_json(text: str, *, source: str = "<json>") -> Any:
    """Parse JSON text with the nesting limit; malformed text raises :class:`DataFileError`."""
    _check_nesting(source, text, toml=False)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(source, [Problem("", f"not valid JSON: {exc}")]) from None
    except RecursionError:  # pragma: no cover - the scan above prevents it
        raise DataFileError(source, [Problem("", "expected less deeply nested data")]) from None
    _check_data(source, data)
    return data


def load_toml(path: str | os.PathLike[str], cls: type[T]) -> T:
    """Read a TOML file and structure it into ``cls`` strictly."""
    return structure(read_toml(path), cls, source=os.fspath(path))
