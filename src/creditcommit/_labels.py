"""Text for people at a terminal: escaping of stored text, and the Chinese labels of codes.

Pure (no I/O): the command line and the demo print with it.

:func:`escape` makes text taken from a store or a file safe to print on one line of a table:
a name with a newline, an ANSI escape or a bidi override cannot forge or reorder rows.
The label functions give the Chinese (``"zh"``) name of a case state, an event type or a
material disposition, and the code itself in English (``"en"``), which is what people who
read English output already know from the docs and the logs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from creditcommit.case import CaseState
from creditcommit.materials import Disposition

__all__ = [
    "DISPOSITION_LABELS",
    "EVENT_LABELS",
    "LANGUAGES",
    "STATE_LABELS",
    "Language",
    "disposition_label",
    "escape",
    "event_label",
    "pad",
    "state_label",
    "width",
]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Characters that reorder or hide text without being control characters (category Cc):
# the bidi embeddings and overrides (U+202A–U+202E), the isolates (U+2066–U+2069), the
# marks (U+200E, U+200F, U+061C) and the line and paragraph separators, which some
# terminals and viewers break lines on.
_INVISIBLE = frozenset(
    {
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        "\u200e",
        "\u200f",
        "\u061c",
        "\u2028",
        "\u2029",
    }
)


def _escaped(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    point = ord(char)
    if point < 0x100 and unicodedata.category(char) == "Cc":
        return f"\\x{point:02x}"
    if char in _INVISIBLE or unicodedata.category(char) == "Cs":
        return f"\\u{point:04x}"
    return char


def escape(text: str) -> str:
    r"""``text`` with every character that could break or disguise a line shown escaped.

    Backslash, newline, carriage return and tab become ``\\``, ``\n``, ``\r``, ``\t``;
    other C0 and C1 control characters and DEL become ``\xHH`` (ESC is ``\x1b``); bidi
    controls, line and paragraph separators and lone surrogates become ``\uHHHH``.
    Everything else, Chinese text included, is kept. The result is one printable line, and
    different texts stay different (the backslash is escaped too).

    >>> escape("某公司\n321000-20250926-N0009  ISSUED")
    '某公司\\n321000-20250926-N0009  ISSUED'
    >>> escape("\x1b[2J\u202etxt.exe")
    '\\x1b[2J\\u202etxt.exe'
    """
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(map(_escaped, text))


def width(text: str) -> int:
    """Terminal columns of ``text``: two for a wide (CJK) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, columns: int) -> str:
    """``text`` followed by spaces up to ``columns`` terminal columns."""
    return text + " " * max(0, columns - width(text))


STATE_LABELS: Mapping[CaseState, str] = MappingProxyType(
    {
        CaseState.SUBMITTED: "已提交",
        CaseState.DECIDED: "已定路径",
        CaseState.COMMITTED: "已签承诺",
        CaseState.ACCEPTED: "已受理",
        CaseState.SUSPENDED: "中止办理",
        CaseState.ISSUED: "准予许可",
        CaseState.REFUSED: "不予许可",
        CaseState.WITHDRAWN: "已撤回",
        CaseState.RETURNED: "已退件",
        CaseState.RECTIFYING: "限期整改",
        CaseState.REVOCATION_PROPOSED: "拟撤销",
        CaseState.CLOSED: "核查办结",
        CaseState.REVOKED: "已撤销许可",
        CaseState.REVOCATION_REFUSED: "不予撤销",
    }
)
"""The Chinese name of each case state (办件状态), as the docstrings of :class:`CaseState`."""

EVENT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "case-submitted": "提交申请",
        "credit-checked": "查询信用",
        "licences-looked-up": "调取电子证照",
        "route-decided": "确定审批路径",
        "route-chosen": "申请人选择一般程序",
        "commitment-signed": "签署信用承诺书",
        "accepted": "受理",
        "material-supplied": "补交材料",
        "clock-paused": "暂停计时",
        "clock-resumed": "恢复计时",
        "suspended": "中止办理",
        "resumed": "恢复办理",
        "licence-issued": "准予许可并发证",
        "refused": "不予许可",
        "withdrawn": "撤回申请",
        "returned": "退件",
        "verification-recorded": "记录核查结果",
        "deferred-material-overdue": "容缺材料逾期未补交",
        "rectification-ordered": "责令限期整改",
        "rectification-met": "整改到位",
        "rectification-failed": "逾期未整改",
        "revocation-proposed": "拟撤销行政许可",
        "statement-received": "收到陈述申辩",
        "hearing-held": "举行听证",
        "revoked": "撤销行政许可",
        "revocation-refused": "不予撤销",
        "credit-record-created": "记入失信记录",
        "closed": "核查办结",
    }
)
"""The Chinese name of each stored event type (the keys of ``EVENT_TYPES``)."""

DISPOSITION_LABELS: Mapping[Disposition, str] = MappingProxyType(
    {
        Disposition.SUBMITTED: "已提交",
        Disposition.RETRIEVED: "电子证照调取",
        Disposition.WAIVED: "承诺免交",
        Disposition.DEFERRED: "容缺后补",
        Disposition.MISSING: "须提交",
    }
)
"""The Chinese name of each material disposition (材料处理方式)."""


def state_label(state: CaseState, lang: Language) -> str:
    """``"已撤销许可"`` in Chinese, ``"REVOKED"`` in English (and for a state without a label:
    tests/test_labels.py fails until it has one)."""
    return STATE_LABELS.get(state, state.name) if lang == "zh" else state.name


# Stored type names that are another shape of the same event (see creditcommit._codec).
_SAME_EVENT = {"commitment-signed-ref": "commitment-signed"}


def event_label(event_type: str, lang: Language) -> str:
    """The Chinese name of a stored event type; the type itself in English or if unknown.

    A signed letter stored as a document (``commitment-signed-ref``) reads as the event it
    is, ``commitment-signed``."""
    event_type = _SAME_EVENT.get(event_type, event_type)
    if lang == "zh":
        return EVENT_LABELS.get(event_type, event_type)
    return event_type


def disposition_label(disposition: Disposition, lang: Language) -> str:
    """``"容缺后补"`` in Chinese, ``"DEFERRED"`` in English (and without a label)."""
    return (
        DISPOSITION_LABELS.get(disposition, disposition.name) if lang == "zh" else disposition.name
    )
