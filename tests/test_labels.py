"""Escaping of stored text for a terminal, and the Chinese labels of codes."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from creditcommit._codec import EVENT_TYPES
from creditcommit._labels import (
    DISPOSITION_LABELS,
    EVENT_LABELS,
    STATE_LABELS,
    escape,
    event_label,
    pad,
    state_label,
    width,
)
from creditcommit.case import CaseState
from creditcommit.materials import Disposition

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
HOSTILE = st.sampled_from(
    ["\n", "\r", "\t", "\x1b", "\x00", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\ud800", *BIDI]
)
TEXT = st.text(
    st.one_of(st.characters(codec=None), HOSTILE, st.sampled_from("\\扬州某公司")), max_size=40
)


def unsafe(char: str) -> bool:
    """A character that may move the cursor, break a line or reorder what follows."""
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI


@given(TEXT)
def test_escaped_text_has_nothing_that_breaks_or_reorders_a_line(text: str) -> None:
    assert not any(map(unsafe, escape(text)))


def unescape(text: str) -> str:
    """Read the escapes back: what a person reading the output can do."""
    short = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}

    def one(match: re.Match[str]) -> str:
        found = match.group(1)
        return short[found] if found in short else chr(int(found[1:], 16))

    return re.sub(r"\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4})", one, text)


@given(TEXT)
def test_escapes_read_back_to_the_text(text: str) -> None:
    # So different texts never print the same (escaping is one-to-one).
    assert unescape(escape(text)) == text


def test_a_literal_backslash_is_not_read_as_an_escape() -> None:
    assert unescape("a\\nb") == "a\nb"
    assert unescape(escape("a\\nb")) == "a\\nb"


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cf"))))
def test_printable_text_without_backslash_is_kept(text: str) -> None:
    text = text.replace("\\", "")
    assert escape(text) == text


def test_escapes_are_the_ones_people_know() -> None:
    assert escape("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert escape("\x1b[31m红") == "\\x1b[31m红"
    assert escape("\x85\x9b\x7f") == "\\x85\\x9b\\x7f"
    assert escape("\u202eabc\u2066") == "\\u202eabc\\u2066"
    assert escape("\ud83d") == "\\ud83d"
    assert escape("C:\\x") == "C:\\\\x"


def test_width_counts_chinese_characters_twice() -> None:
    assert width("高邮ab") == 6
    assert pad("高邮", 6) == "高邮  "
    assert pad("toolong", 3) == "toolong"


def test_every_state_event_and_disposition_has_a_chinese_label() -> None:
    assert set(STATE_LABELS) == set(CaseState)
    assert set(EVENT_LABELS) == set(EVENT_TYPES)
    assert set(DISPOSITION_LABELS) == set(Disposition)
    for label in (*STATE_LABELS.values(), *EVENT_LABELS.values(), *DISPOSITION_LABELS.values()):
        assert label.isprintable()
        assert not any(char.isascii() for char in label), label


def test_english_labels_are_the_codes() -> None:
    assert state_label(CaseState.REVOKED, "en") == "REVOKED"
    assert state_label(CaseState.REVOKED, "zh") == "已撤销许可"
    assert event_label("case-submitted", "en") == "case-submitted"
    assert event_label("case-submitted", "zh") == "提交申请"
    assert event_label("some-new-event", "zh") == "some-new-event"
