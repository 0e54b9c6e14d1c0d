"""The strict converter: no coercion, every problem with its path."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit._converter import load_toml, read_toml, structure
from creditcommit.errors import DataFileError, Problem


class Kind(enum.Enum):
    REQUIRED = "required"
    DEFERRABLE = "deferrable"


@attrs.frozen
class Leaf:
    code: str
    kind: Kind
    days: int = 0
    ratio: float = 0.0
    flag: bool = False
    on: dt.date | None = None


@attrs.frozen
class Node:
    code: str
    leaves: tuple[Leaf, ...]
    limits: dict[str, int] = attrs.Factory(dict)


@attrs.frozen
class Root:
    items: list[Node]


def problems(data: object) -> list[str]:
    with pytest.raises(DataFileError) as info:
        structure(data, Root, source="cat.toml")
    assert info.value.source == "cat.toml"
    return [str(p) for p in info.value.problems]


def test_valid_data_structures() -> None:
    root = structure(
        {"items": [{"code": "x", "leaves": [{"code": "m", "kind": "required", "days": 3}]}]},
        Root,
    )
    assert root.items[0].leaves[0] == Leaf("m", Kind.REQUIRED, 3)


def test_every_problem_is_reported_with_its_path() -> None:
    found = problems(
        {
            "items": [
                {
                    "code": "x",
                    "leaves": [
                        {"code": "m", "kind": "optional", "days": "3"},
                        {"code": 1, "kind": "required", "colour": "red"},
                    ],
                },
                {"leaves": 3},
            ],
            "extra": 1,
        }
    )
    assert found == [
        "items[0].leaves[0].kind: expected one of 'required', 'deferrable', got string 'optional'",
        "items[0].leaves[0].days: expected an integer, got string '3'",
        "items[0].leaves[1].code: expected a string, got number 1",
        "items[0].leaves[1]: unknown key 'colour' (allowed: code, kind, days, ratio, flag, on)",
        "items[1].code: required key is missing",
        "items[1].leaves: expected an array, got number 3",
        "<root>: unknown key 'extra' (allowed: items)",
    ]


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        ({"days": True}, "leaves[0].days: expected an integer, got boolean true"),
        ({"days": 1.5}, "leaves[0].days: expected an integer, got number 1.5"),
        ({"ratio": "0.5"}, "leaves[0].ratio: expected a number, got string '0.5'"),
        ({"ratio": False}, "leaves[0].ratio: expected a number, got boolean false"),
        ({"flag": 1}, "leaves[0].flag: expected true or false, got number 1"),
        ({"on": "2025-13-01"}, "leaves[0].on: expected a date (YYYY-MM-DD), got string"),
        (
            {"on": dt.datetime(2025, 1, 1, 8, 0)},
            "leaves[0].on: expected a date (YYYY-MM-DD), got date-time 2025-01-01T08:00:00",
        ),
    ],
)
def test_no_coercion(leaf: dict[str, object], message: str) -> None:
    data = {"items": [{"code": "x", "leaves": [{"code": "m", "kind": "required", **leaf}]}]}
    found = problems(data)
    assert len(found) == 1
    assert found[0].startswith(f"items[0].{message}")


def test_dates_accept_toml_dates_and_iso_strings() -> None:
    for on in (dt.date(2025, 10, 1), "2025-10-01"):
        data = {"items": [{"code": "x", "leaves": [{"code": "m", "kind": "required", "on": on}]}]}
        assert structure(data, Root).items[0].leaves[0].on == dt.date(2025, 10, 1)


def test_mapping_values_get_key_paths() -> None:
    found = problems({"items": [{"code": "x", "leaves": [], "limits": {"a": "x"}}]})
    assert found == ["items[0].limits.a: expected an integer, got string 'x'"]


@pytest.mark.parametrize(
    ("leaves", "got"), [("ab", "string 'ab'"), ({"code": "m"}, "a table"), (None, "nothing")]
)
def test_arrays_must_be_arrays(leaves: object, got: str) -> None:
    assert problems({"items": [{"code": "x", "leaves": leaves}]}) == [
        f"items[0].leaves: expected an array, got {got}"
    ]


def test_every_collection_type_is_strict() -> None:
    @attrs.frozen
    class Many:
        a: list[int]
        b: tuple[int, ...]
        c: frozenset[str]
        d: tuple[int, str]
        e: set[int]

    good = structure({"a": [1], "b": [2], "c": ["x"], "d": [3, "y"], "e": [4]}, Many)
    assert good == Many([1], (2,), frozenset({"x"}), (3, "y"), {4})
    with pytest.raises(DataFileError) as info:
        structure({"a": "1", "b": "2", "c": "x", "d": "3y", "e": {}}, Many)
    assert [p.path for p in info.value.problems] == ["a", "b", "c", "d", "e"]
    assert all(p.message.startswith("expected an array") for p in info.value.problems)


def test_wrong_shapes() -> None:
    assert problems([]) == ["<root>: expected a table, got an array"]
    assert problems({"items": [3]}) == ["items[0]: expected a table, got number 3"]


def test_message_names_source_first_problem_and_count() -> None:
    with pytest.raises(DataFileError) as info:
        structure({"items": [{"leaves": 1}]}, Root, source="a.toml")
    assert str(info.value) == "a.toml: items[0].code: required key is missing (and 1 more)"
    assert info.value.report().splitlines() == [
        "a.toml: items[0].code: required key is missing",
        "a.toml: items[0].leaves: expected an array, got number 1",
    ]


def test_data_file_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        DataFileError("x", [])


def test_toml_files(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[items]]\ncode = "x"\nleaves = []\n', encoding="utf-8")
    assert load_toml(good, Root) == Root([Node("x", ())])

    broken = tmp_path / "broken.toml"
    broken.write_text("[[items]\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"broken\.toml: <root>: not valid TOML"):
        read_toml(broken)

    latin = tmp_path / "latin.toml"
    latin.write_bytes('code = "\xe9"'.encode("latin-1"))
    with pytest.raises(DataFileError, match="not UTF-8 text"):
        read_toml(latin)

    with pytest.raises(DataFileError, match="cannot read file: No such file"):
        read_toml(tmp_path / "missing.toml")

    bad = tmp_path / "bad.toml"
    bad.write_text("[[items]]\ncode = 7\nleaves = []\n", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_toml(bad, Root)
    assert info.value.source == str(bad)
    assert info.value.problems == (Problem("items[0].code", "expected a string, got number 7"),)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()))
def test_strings_are_never_coerced(value: object) -> None:
    data = {"items": [{"code": value, "leaves": []}]}
    assert problems(data)[0].startswith("items[0].code: expected a string")
