"""Chinese fit for an official (issue 9, item 9): the wording of the documents and reports.

The golden documents (``tests/golden/*.zh.txt``, which tests/test_commitments.py keeps equal
to what the library renders) and the statistics report are checked for the conventions of
official Chinese: instrument names in 《》, no spaces inside Chinese text, "于…前（含当日）"
where the day itself counts, one voice in the commitment letter, and a filing's consequences
under its own rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from creditcommit.commitments import cite
from creditcommit.effective import LegalReference

GOLDEN = Path(__file__).parent / "golden"
ZH = sorted(GOLDEN.glob("*.zh.txt"))
CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
# A space with Chinese text (or a full-width sign) on at least one side, inside a line.
SPACE_IN_CHINESE = re.compile(rf"(?<=\S) +(?=[{CJK}])|(?<=[{CJK}]) +(?=\S)")


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_the_golden_documents_exist() -> None:
    assert [p.name for p in ZH] == [
        "gaoyou-letter.zh.txt",
        "gaoyou-notification.zh.txt",
        "jiangdu-letter.zh.txt",
        "jiangdu-notification.zh.txt",
    ]


@pytest.mark.parametrize("path", ZH, ids=lambda p: p.name)
def test_no_spaces_inside_chinese_text(path: Path) -> None:
    found = [line for line in lines(path) if SPACE_IN_CHINESE.search(line.strip())]
    assert found == []


@pytest.mark.parametrize("path", ZH, ids=lambda p: p.name)
def test_instruments_are_in_book_title_marks(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for name in (
        "中华人民共和国行政许可法",
        "企业投资项目核准和备案管理条例",
        "信用修复管理办法",
        "公共场所卫生管理条例",
    ):
        for found in re.finditer(re.escape(name), text):
            before = text[found.start() - 1]
            after = text[found.end()] if found.end() < len(text) else ""
            assert before == "《", f"{path.name}: {name} without 《 at {found.start()}"
            assert after in {"》", "实"}, f"{path.name}: {name} without 》 at {found.start()}"


@pytest.mark.parametrize("path", ZH, ids=lambda p: p.name)
def test_deadlines_say_the_day_itself_counts(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    dated = re.findall(r"于(\d{4}年\d{1,2}月\d{1,2}日)前(.{4})", text)
    assert dated, "every golden document has a verification or supply deadline"
    assert {after for _, after in dated} == {"（含当日"}


@pytest.mark.parametrize("name", ["gaoyou-letter.zh.txt", "jiangdu-letter.zh.txt"])
def test_the_letter_speaks_in_one_voice(name: str) -> None:
    text = (GOLDEN / name).read_text(encoding="utf-8")
    clauses = text.split("本人（本单位）承诺：", 1)[1].split("\n\n", 1)[0]
    assert "申请人" not in clauses
    assert "（1）已经知晓告知的全部内容；" in clauses


def test_the_filing_documents_cite_article_19_not_article_69() -> None:
    for name in ("jiangdu-notification.zh.txt", "jiangdu-letter.zh.txt"):
        text = (GOLDEN / name).read_text(encoding="utf-8")
        consequences = text.split("虚假承诺或者未履行承诺的后果", 1)[1]
        assert "《企业投资项目核准和备案管理条例》第十九条" in consequences
        assert "第六十九条" not in consequences
        assert "撤销许可" not in consequences
    permit = (GOLDEN / "gaoyou-notification.zh.txt").read_text(encoding="utf-8")
    assert "《中华人民共和国行政许可法》第六十九条第二款撤销许可" in permit


@pytest.mark.parametrize(
    ("reference", "text"),
    [
        (
            LegalReference("中华人民共和国行政许可法", "第四十二条"),
            "《中华人民共和国行政许可法》第四十二条",
        ),
        (LegalReference("企业投资项目核准和备案管理办法"), "《企业投资项目核准和备案管理办法》"),
        (
            LegalReference("信用修复管理办法（国家发展改革委令第36号）"),
            "《信用修复管理办法》（国家发展改革委令第36号）",
        ),
        (
            LegalReference("扬州市“信用+承诺”审批分级规则（示例）", "第六条"),
            "《扬州市“信用+承诺”审批分级规则》（示例）第六条",
        ),
        (LegalReference("国办发〔2020〕42号"), "国办发〔2020〕42号"),
        (LegalReference("《公共场所卫生管理条例》", "第八条"), "《公共场所卫生管理条例》第八条"),
    ],
)
def test_cite_puts_names_in_book_title_marks(reference: LegalReference, text: str) -> None:
    assert cite(reference, "zh") == text
    assert cite(reference, "en") == str(reference)
