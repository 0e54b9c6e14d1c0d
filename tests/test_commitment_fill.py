"""Differential tests: the compiled template fill against ``string.Template.substitute``.

Letters fill some 60 templates each; :func:`creditcommit.commitments._fill` fills them
through a ``str.format_map`` pattern instead of ``Template``'s regular-expression callback.
It must give the same text, and fail the same way, on every template.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.commitments import Templates, _fill, _format_pattern

NAMES = ("item", "code", "n", "x_1", "Applicant")

pieces = st.one_of(
    st.sampled_from(["$", "$$", "{", "}", "{{", "}}", "${", "}", " ", "办理", "%s", "{0}"]),
    st.sampled_from([f"${name}" for name in NAMES] + [f"${{{name}}}" for name in NAMES]),
    st.sampled_from(["$missing", "${missing}", "$1", "${ item}", "$-", "$item_", "$itemx"]),
    st.text(alphabet="ab_1$ {}中", max_size=6),
)
values = st.dictionaries(
    st.sampled_from([*NAMES, "item_", "itemx"]), st.text(alphabet="ab{}$%中 ", max_size=5)
)


def outcome(fill: object, text: str, given_values: dict[str, str]) -> tuple[str, object]:
    try:
        if fill == "plain":
            return "ok", string.Template(text).substitute(given_values)
        return "ok", _fill(text, given_values)
    except KeyError as exc:
        return "KeyError", exc.args
    except ValueError:
        return "ValueError", None


@given(st.lists(pieces, max_size=12).map("".join), values)
def test_compiled_fill_matches_template_substitute(text: str, given_values: dict[str, str]) -> None:
    assert outcome("compiled", text, given_values) == outcome("plain", text, given_values)


def test_every_bundled_template_fills_the_same_both_ways() -> None:
    texts = Templates.default().texts
    context = {name: f"«{name}»{{}}$" for name in _all_placeholders(texts.values())}
    assert context  # the bundled templates have placeholders
    for key, text in texts.items():
        assert _format_pattern(text) is not None, key
        assert _fill(text, context) == string.Template(text).substitute(context), key


def test_a_missing_value_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="agency"):
        _fill("由 ${agency} 办理 $item", {"item": "x"})


def test_an_invalid_placeholder_falls_back_to_template_and_raises() -> None:
    assert _format_pattern("费用 $5") is None
    with pytest.raises(ValueError, match="Invalid placeholder"):
        _fill("费用 $5", {})


def _all_placeholders(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        for match in string.Template.pattern.finditer(text):
            name = match.group("named") or match.group("braced")
            if name:
                found.add(name)
    return found
