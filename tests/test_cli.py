"""The command line: output, exit codes, one-line errors."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from creditcommit.cli import main
from creditcommit.service import CHINA_TIME

DATA = Path(__file__).parent / "data"


def errors_only(err: str) -> str:
    """Standard error without the library's warnings (the calendar's edge is near on some
    days the tests run: every command then warns first)."""
    return "".join(
        line
        for line in err.splitlines(keepends=True)
        if not line.startswith(("警告：", "warning: "))
    )


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_catalog_check_accepts_the_sample() -> None:
    sample = Path(__file__).parents[1] / "src" / "creditcommit" / "data" / "sample_catalog.toml"
    code, out = run("catalog", "check", str(sample))
    assert code == 0
    assert "OK" in out
    assert "2 item codes" in out


def test_catalog_check_reports_every_problem_with_file_and_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = DATA / "catalog" / "promised_exceeds_statutory.toml"
    code, out = run("catalog", "check", str(bad))
    assert code == 1
    assert out == ""
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}: items[0].promised_days: ")
    assert "Traceback" not in err


def test_catalog_check_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("catalog", "check", "no-such-file.toml")
    assert code == 1
    assert capsys.readouterr().err == (
        "no-such-file.toml: <root>: cannot read file: No such file or directory\n"
    )


def test_catalog_summary_of_the_sample() -> None:
    code, out = run("catalog", "summary", "sample", "--on", "2025-09-26", "--lang", "en")
    assert code == 0
    assert "2 approval items, 11 materials" in out
    code, out = run("catalog", "summary", "sample", "--on", "2025-09-26")
    assert code == 0
    assert "2个部门2项审批事项、11项申报材料" in out
    assert "approval items" not in out


def test_catalog_summary_prints_the_seed_figures_per_department() -> None:
    code, out = run("catalog", "summary", "--on", "2023-01-16")
    assert code == 0
    lines = out.splitlines()
    assert lines[2] == (
        "江都区（321012）：15个部门40项审批事项、247项申报材料，其中可容缺材料93项，"
        "可告知承诺免交材料50项，可通过电子证照调取的材料29项，法定要件材料75项；"
        "清单可减免材料79项。"
    )
    assert "扬州市江都区住房和城乡建设局\t7\t57\t15\t24\t7\t11\t18" in lines
    assert any(line.startswith("高邮市（321084）：9个部门18项审批事项") for line in lines)


def test_catalog_summary_defaults_to_today() -> None:
    before = dt.datetime.now(CHINA_TIME).date()
    code, out = run("catalog", "summary", "sample")
    after = dt.datetime.now(CHINA_TIME).date()
    assert code == 0
    days = {f"（2023.1-sample，{day.isoformat()}）" for day in (before, after)}
    assert any(day in out.splitlines()[0] for day in days)


def test_calendar_add_and_between() -> None:
    assert run("calendar", "add", "2025-09-26", "20") == (0, "2025-10-30\n")
    assert run("calendar", "between", "2025-09-26", "2025-10-30") == (0, "20\n")


def test_calendar_coverage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("calendar", "add", "2026-12-20", "20")
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: no official holiday data for 2027")


def test_calendar_override_makes_a_year_computable() -> None:
    override = DATA / "calendar" / "valid-2027.toml"
    assert override.exists()
    code, out = run("calendar", "add", "2026-12-20", "20", "--override", str(override))
    assert code == 0
    assert out.startswith("2027-")


def test_calendar_negative_days(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("calendar", "add", "2025-09-26", "-1")
    assert code == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_uscc_reports_each_code() -> None:
    code, out = run("uscc", "91310110666007217T", "91310110666007217A")
    assert code == 1
    valid, invalid = out.splitlines()
    assert valid.startswith("91310110666007217T: valid")
    assert invalid.startswith("91310110666007217A: invalid")
    assert "'T'" in invalid


def test_bad_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["calendar", "add", "26/09/2025", "3"])
    assert info.value.code == 2
    assert "expected a date YYYY-MM-DD" in capsys.readouterr().err


def test_demo_runs_the_seed_story_on_sqlite(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    code, out = run("demo", "--dir", str(where), "--lang", "en")
    assert code == 0
    routes = [line.split()[1] for line in out.splitlines() if line.strip().startswith("Route:")]
    # The five seed cases, then the revoked hotel's next application.
    assert routes == ["DIRECT", "CONDITIONAL", "STANDARD", "STANDARD", "STANDARD", "STANDARD"]
    assert "直接适用信用承诺审批" in out
    assert "有条件适用信用承诺审批" in out
    # The reasons are printed in both languages, including the failing credit source (by
    # its category: the exception's text never reaches the applicant).
    assert "信用查询失败（credit-file：无法连接信用平台）" in out
    assert "the credit platform could not be reached" in out
    assert "simulated outage" not in out
    assert "YZ-2025-0413" in out
    # The Gaoyou deferrals are due on the working-day calendar, across National Day.
    assert "DEFERRED (容缺后补) by 2025-10-10" in out
    assert "issued on the spot" in out
    assert "hash chain intact" in out
    assert (where / "cases.db").exists()
    # The supervision loop: overdue → rectification → proposal → revocation → record, and the
    # record bars the same applicant's next application.
    assert "rectification ordered by 2025-10-27" in out
    assert "revoked (state REVOKED)" in out
    # The record of a revocation is general by default (撤销 is not 吊销), published for at
    # most a year under NDRC Order No. 58 (in force on 2025-11-05).
    assert "commitment_breach, general, published until 2026-11-05" in out
    assert "bars the commitment route until 2026-11-05" in out
    assert "verify_draw: the published record re-runs to the same result." in out
    assert "fulfilled → CLOSED" in out
    assert "Random inspections" in out


def test_demo_refuses_a_directory_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    code, _ = run("demo", "--dir", str(tmp_path))
    assert code == 1
    assert "is not empty" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_report_and_tick_on_the_demo_installation(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    assert run("demo", "--dir", str(where))[0] == 0
    config = str(where / "creditcommit.toml")
    code, out = run("--config", config, "report", "--from", "2025-01-01", "--to", "2025-12-31")
    assert code == 0
    assert "高邮市行政审批局" in out
    code, out = run(
        "--config",
        config,
        "report",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["total"]["figures"]["revocations"] == 1
    code, out = run("--config", config, "tick", "--lang", "en")
    assert code == 0
    assert "delivered 0, failed 0" in out
    code, out = run("--config", config, "tick")
    assert code == 0
    assert "送达消息 0 条，送达失败 0 条" in out


def test_log_verify_names_a_tampered_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "demo"
    assert run("demo", "--dir", str(where))[0] == 0
    config = str(where / "creditcommit.toml")
    assert run("--config", config, "log", "verify")[0] == 0
    with sqlite3.connect(where / "cases.db") as conn:
        conn.execute(
            "UPDATE events SET payload = replace(payload, '高邮某宾馆', '高邮某饭店') "
            "WHERE payload LIKE '%高邮某宾馆%'"
        )
    code, _ = run("--config", config, "log", "verify")
    assert code == 1
    err = errors_only(capsys.readouterr().err)
    assert err.startswith("error: event ")
    assert "case 321000-20250926-N0004, version 1, case-submitted" in err


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "creditcommit", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("creditcommit ")


def test_policy_check_lists_the_settings() -> None:
    city = Path(__file__).parents[1] / "src" / "creditcommit" / "data" / "policy-yangzhou.toml"
    code, out = run("policy", "check", str(city))
    assert code == 0
    assert out.startswith("OK — ")
    assert "  conditional_threshold: 2022-11-01–…\n" in out
    assert f"  file: {city} (扬州市（321000）)\n" in out


def test_policy_check_rejects_a_rule_citing_an_instrument_not_yet_in_force(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = DATA / "policy" / "cites_not_yet_in_force.toml"
    code, _ = run("policy", "check", str(bad))
    assert code == 1
    assert capsys.readouterr().err == (
        f"{bad}: blocking_records[0].reference: cites 《信用修复管理办法》, in force only from "
        "2026-04-01, but applies from 2025-01-01\n"
    )


def test_policy_check_rejects_two_files_for_one_place(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = [DATA / "policy" / f"ok_place_gaoyou_{x}.toml" for x in "ab"]
    code, _ = run("policy", "check", *(str(f) for f in files))
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "error: two values of 'deferred_grace_working_days' are in force on 2024-06-01"
    )
    assert "both set it for the same place" in err


def test_policy_check_names_file_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    bad = DATA / "policy" / "bad_threshold_grade.toml"
    code, _ = run("policy", "check", str(bad))
    assert code == 1
    assert capsys.readouterr().err.startswith(
        f"{bad}: conditional_threshold[0].value: grade 'F' is not on the 'yangzhou-a-e' scale"
    )


def test_policy_check_rejects_rectifying_a_false_commitment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = DATA / "policy" / "revocation_false_commitment_rectify.toml"
    code, _ = run("policy", "check", str(bad))
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}: revocation_rules[0].value.false_commitment.action: ")
    assert "《中华人民共和国行政许可法》第六十九条第二款" in err


def test_library_warnings_are_printed_in_the_commands_language(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from creditcommit import cli

    def warns(args: object, out: object) -> int:
        logging.getLogger("creditcommit").warning(
            "city %s: %s", "321000", "the calendar ends", extra={"zh": "城市 321000：日历将截止"}
        )
        return 0

    monkeypatch.setattr(cli, "cmd_calendar_status", warns)
    assert run("calendar", "status")[0] == 0
    assert capsys.readouterr().err == "警告：城市 321000：日历将截止\n"
    # After the command the handler is gone: the library logs as the embedding program says.
    assert not [
        h for h in logging.getLogger("creditcommit").handlers if isinstance(h, cli._WarningPrinter)
    ]


@pytest.mark.parametrize(
    ("lang", "zh", "printed"),
    [
        ("zh", "城市 321000：日历将截止", "警告：城市 321000：日历将截止\n"),
        ("en", "城市 321000：日历将截止", "warning: city 321000: the calendar ends\n"),
        ("zh", None, "warning: city 321000: the calendar ends\n"),  # no Chinese text given
    ],
)
def test_a_warning_is_printed_in_chinese_only_when_it_has_a_chinese_text(
    capsys: pytest.CaptureFixture[str], lang: str, zh: str | None, printed: str
) -> None:
    from creditcommit.cli import _WarningPrinter

    record = logging.LogRecord(
        "creditcommit",
        logging.WARNING,
        __file__,
        1,
        "city %s: %s",
        ("321000", "the calendar ends"),
        None,
    )
    if zh is not None:
        record.zh = zh
    _WarningPrinter(lang).emit(record)
    assert capsys.readouterr().err == printed
