"""Differential tests of the fast paths of signing and acceptance against the plain ones.

- Letters fill some 60 templates each; :func:`creditcommit.commitments._fill` fills them
  through a ``str.format_map`` pattern instead of ``Template``'s regular-expression
  callback. It must give the same text, and fail the same way, on every template.
- A letter signed by this process remembers its signed content, so checking it later does
  not build it again: the remembered bytes equal the content built the plain way.
- Whether a published counterparty code is an organisation's USCC is cached per text.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit import Approvals, ManualClock, Signer
from creditcommit._demo import GAOYOU, HOTEL_B, prepare
from creditcommit.builtin.signing import HmacSignatureProvider
from creditcommit.commitments import _CONTENTS, SignedCommitment, Templates, _fill, _format_pattern
from creditcommit.errors import InvalidIdentifier
from creditcommit.identifiers import USCC, uscc_check_char
from creditcommit.publication import _is_org_code
from creditcommit.service import CHINA_TIME

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


def _copy(value: SignedCommitment) -> SignedCommitment:
    """An equal letter that is another object (nothing remembered about it)."""
    copy = object.__new__(SignedCommitment)
    for name in attrs.fields_dict(SignedCommitment):
        object.__setattr__(copy, name, getattr(value, name))
    return copy


def test_a_signed_letter_remembers_the_content_built_the_plain_way(tmp_path: Path) -> None:
    prepare(tmp_path)
    start = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)
    with Approvals.from_config(tmp_path / "creditcommit.toml", clock=ManualClock(start)) as svc:
        case = svc.submit(item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="k")
        case = svc.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
        signed = case.commitment
        assert signed is not None
        provider = svc.integrations.signature_provider(svc.city)
        plain = _copy(signed)
        assert plain is not signed
        assert signed.content() == plain.content()
        assert signed.verify(provider)
        assert plain.verify(provider)
        remembered = _CONTENTS.get(id(signed))
        assert remembered is not None  # the fast path is the one taken for ``signed``
        assert remembered[0] is signed
        assert remembered[1] == plain.content()
        assert id(plain) not in _CONTENTS
        # A forged copy (other terms) is built afresh and fails, the remembered one is not
        # consulted for it.
        forged = _copy(signed)
        object.__setattr__(forged, "signer", Signer("他人", HOTEL_B.identifier))
        assert forged.content() != signed.content()
        assert not forged.verify(provider)
        assert not forged.verify(HmacSignatureProvider(b"another key" * 3))


BODIES = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17)


@given(st.one_of(BODIES.map(lambda b: b + uscc_check_char(b)), BODIES, st.text(max_size=20)))
def test_the_cached_organisation_code_check_matches_parsing(text: str) -> None:
    try:
        plain = USCC.parse(text).value == text
    except InvalidIdentifier:
        plain = False
    assert _is_org_code(text) is plain
    assert _is_org_code(text) is plain  # and again, from the cache


def test_a_non_text_code_is_not_an_organisation_code() -> None:
    assert _is_org_code(None) is False
    assert _is_org_code(91321000) is False
