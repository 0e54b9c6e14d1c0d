"""The command line speaks to officials in Chinese; every option says what it does."""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import pytest

from creditcommit import Approvals, CreditLookupFailure
from creditcommit.case import CreditChecked
from creditcommit.cli import build_parser, main

HOTEL = "321000-20250926-N0001"
INN = "321000-20250926-N0004"  # its credit lookup failed

# ASCII words a Chinese text may contain, and why. Anything else with two or more letters
# and no digit (ids, codes, dates and version numbers all have digits) is an English label.
ALLOWED = {
    # Files the demo writes: shown so that an official can find them.
    "cases.db",
    "credit.db",
    "licences.db",
    "publications.jsonl",
    # The source of the holiday data, named as the calendar's provenance says.
    "chinesecalendar",
}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def english_words(text: str, *quoted: str) -> list[str]:
    """ASCII words of ``text`` that are neither allowed nor inside the ``quoted`` data.

    A line that starts with ``creditcommit`` is a command to type and is skipped.
    """
    for data in quoted:
        text = text.replace(data, " ")
    lines = [line for line in text.splitlines() if not line.strip().startswith("creditcommit ")]
    words = re.findall(r"[!-~]+", "\n".join(lines))
    return [
        word
        for word in words
        if re.search("[A-Za-z]{2}", word) and not re.search(r"\d", word) and word not in ALLOWED
    ]


def test_the_check_finds_english_labels() -> None:
    assert english_words("案件 321000-20250926-N0001：REVOKED") == ["REVOKED"]
    assert english_words("Route: DIRECT — 直接适用") == ["Route:", "DIRECT"]
    assert english_words("许可证 XK-321000-20230116-N0001（B 级）") == []
    assert english_words("  creditcommit --config x case show y") == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo installation, and what ``demo`` printed in Chinese (the default)."""
    where = tmp_path_factory.mktemp("lang") / "demo"
    code, out = run("demo", "--dir", str(where))
    assert code == 0
    return where / "creditcommit.toml", out


def failure_text(config: Path) -> str:
    """The credit source's own error message: data quoted verbatim, not a label."""
    with Approvals.from_config(str(config), autoload=False) as service:
        case = service.case(INN)
        # Read while the service is open: a case's history is read when first needed.
        checked = next(event for event in case.history if isinstance(event, CreditChecked))
    assert isinstance(checked.outcome, CreditLookupFailure)
    return checked.outcome.reason


def test_demo_in_chinese_prints_no_english_label(demo: tuple[Path, str]) -> None:
    config, out = demo
    failure = failure_text(config)
    assert english_words(out, str(config.parent), f"credit-file：{failure}", "credit-file") == []
    assert "审批路径：直接适用信用承诺审批" in out
    assert "容缺后补（2025-10-10 前补交）" in out
    assert "（状态：已撤销许可）" in out
    assert "哈希链完整" in out
    assert "六、双随机抽查" in out  # the report, in Chinese too


def test_case_show_in_chinese_prints_no_english_label(demo: tuple[Path, str]) -> None:
    config, _ = demo
    code, out = run("--config", str(config), "case", "show", HOTEL, "--lang", "zh")
    assert code == 0
    assert english_words(out, "credit-file") == []  # the credit source's id
    assert out.startswith(f"案件 {HOTEL}：已撤销许可\n")
    assert "  审批路径：有条件适用信用承诺审批\n" in out
    assert "撤销行政许可" in out
    assert "依据：" in out
    code, out = run("--config", str(config), "case", "show", INN)
    assert code == 0
    assert (
        english_words(
            out, f"credit-file：{failure_text(config)}", failure_text(config), "credit-file"
        )
        == []
    )


def test_case_show_in_english_keeps_the_codes(demo: tuple[Path, str]) -> None:
    config, _ = demo
    code, out = run("--config", str(config), "case", "show", HOTEL, "--lang", "en")
    assert code == 0
    assert out.startswith(f"Case {HOTEL} — REVOKED\n")
    assert "  Route: CONDITIONAL — " in out
    assert "case-submitted" in out
    assert "[credit-grade-meets-threshold]" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("case", "list"),
        ("tick",),
        ("report", "--from", "2023-01-01", "--to", "2025-12-31"),
    ],
)
def test_installation_commands_default_to_chinese(
    demo: tuple[Path, str], argv: tuple[str, ...]
) -> None:
    config, _ = demo
    code, out = run("--config", str(config), *argv)
    assert code == 0
    assert english_words(out) == []
    assert re.search("[\u4e00-\u9fff]", out)


def test_case_list_in_chinese_and_english(demo: tuple[Path, str]) -> None:
    config, _ = demo
    code, out = run("--config", str(config), "case", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "共 6 件"
    assert lines[1].split()[:3] == [HOTEL, "已撤销许可", "有条件适用信用承诺审批"]
    code, out = run("--config", str(config), "case", "list", "--lang", "en")
    assert code == 0
    assert out.splitlines()[1].split()[:3] == [HOTEL, "REVOKED", "CONDITIONAL"]
    assert out.endswith("6 case(s)\n")


DECIDE = ("decide", "--item", "321084-GGCSWSXK", "--on", "2025-09-26", "--grade", "B")


def test_decide_in_chinese_names_the_route_by_its_label() -> None:
    code, out = run(*DECIDE, "--id", "91321084MA1TQ7GU0H")
    assert code == 0
    assert out.startswith("事项 321084-GGCSWSXK：有条件适用信用承诺审批\n")
    assert "  - GGCSWSXK-04 公共场所地址方位示意图、平面图和卫生设施平面布局图：容缺受理" in out
    assert english_words(out) == []
    code, out = run(*DECIDE, "--id", "91321084MA1TQ7GU0H", "--lang", "en")
    assert code == 0
    assert out.startswith("Item 321084-GGCSWSXK: conditional commitment route (CONDITIONAL)\n")
    assert "  - GGCSWSXK-04 " in out
    assert ": DEFERRED (due 2025-10-10)" in out


# --- help text -------------------------------------------------------------------------


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser with its command path, the top-level one first."""
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


def undocumented(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """The options, arguments and commands without a help text, by command path."""
    missing: list[tuple[str, ...]] = []
    for path, found in commands(parser):
        for action in found._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                missing += [(*path, name) for name in action.choices if name not in helped]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append((*path, action.dest))
    return missing


def test_every_option_and_command_has_help() -> None:
    assert undocumented(build_parser()) == []


def test_the_help_check_can_fail() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--undocumented")
    commands_ = parser.add_subparsers(dest="command")
    commands_.add_parser("documented", help="does something").add_argument("value")
    commands_.add_parser("more")
    assert undocumented(parser) == [
        ("undocumented",),
        ("more",),
        ("documented", "value"),
    ]


def test_lang_is_offered_where_people_read_the_output() -> None:
    with_lang = {
        path
        for path, parser in commands(build_parser())
        if any(action.dest == "lang" for action in parser._actions)
    }
    for path in [
        ("demo",),
        ("case", "show"),
        ("case", "list"),
        ("decide",),
        ("report",),
        ("tick",),
        ("catalog", "summary"),
    ]:
        assert path in with_lang
        parser = dict(commands(build_parser()))[path]
        (lang,) = (action for action in parser._actions if action.dest == "lang")
        assert lang.default == "zh"
        assert lang.choices == ("zh", "en")


# --- --config before or after the command ----------------------------------------------


def test_config_before_or_after_the_command(demo: tuple[Path, str]) -> None:
    config, _ = demo
    before = run("--config", str(config), "case", "list")
    after = run("case", "list", "--config", str(config))
    assert before == after
    assert before[0] == 0
    assert "共 6 件" in before[1]
    report = ("report", "--from", "2025-01-01", "--to", "2025-12-31")
    assert run(*report, "--config", str(config)) == run("--config", str(config), *report)


def test_config_after_the_command_wins(
    demo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = demo
    missing = tmp_path / "missing.toml"
    code, out = run("--config", str(missing), "case", "list", "--config", str(config))
    assert code == 0
    assert "共 6 件" in out
    code, _ = run("--config", str(config), "case", "list", "--config", str(missing))
    assert code == 1
    assert str(missing) in capsys.readouterr().err


def test_every_command_accepts_config_after_it() -> None:
    for path, parser in commands(build_parser()):
        if path and not any(
            isinstance(action, argparse._SubParsersAction) for action in parser._actions
        ):
            assert "--config" in parser._option_string_actions, path
