"""What the command line writes: CSV for Excel, a quiet broken pipe, escaped stored text."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import attrs
import pytest

from creditcommit import Approvals
from creditcommit._labels import LANGUAGES
from creditcommit.cli import _printable_report, main
from creditcommit.metrics import render_text, statistics

REPORT = ("report", "--from", "2025-01-01", "--to", "2025-12-31")
INN = "321000-20250926-N0004"
INN_NAME = "高邮某宾馆"
# A name that would forge a row of `case list`, clear the screen and reverse what follows.
FORGED_ROW = "321000-20990101-N0001  准予许可    直接适用信用承诺审批  321084-GGCSWSXK  伪造"
HOSTILE = f"高邮某宾馆\n{FORGED_ROW}\x1b[2J\u202e\x85"
ESCAPED = f"高邮某宾馆\\n{FORGED_ROW}\\x1b[2J\\u202e\\x85"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("output") / "demo"
    assert run("demo", "--dir", str(where))[0] == 0
    return where


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "creditcommit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


# --- CSV ----------------------------------------------------------------------------------


def test_csv_starts_with_a_bom_unless_told_not_to(demo: Path) -> None:
    config = str(demo / "creditcommit.toml")
    code, out = run("--config", config, *REPORT, "--format", "csv")
    assert code == 0
    assert out.startswith("\ufeff统计范围,事项编码,事项名称,部门,")  # Chinese headings by default
    assert "高邮市行政审批局" in out
    code, plain = run("--config", config, *REPORT, "--format", "csv", "--no-bom")
    assert code == 0
    assert plain == out.removeprefix("\ufeff")


def test_csv_is_utf8_whatever_the_terminal_encoding(demo: Path) -> None:
    config = str(demo / "creditcommit.toml")
    process = cli("--config", config, *REPORT, "--format", "csv", env={"PYTHONIOENCODING": "gbk"})
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert stdout.startswith("\ufeff统计范围,".encode())
    assert "高邮市行政审批局" in stdout.decode("utf-8")


# --- a reader that goes away --------------------------------------------------------------


def read_one_line_and_close(process: subprocess.Popen[bytes]) -> tuple[bytes, int, bytes]:
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    return first, process.wait(timeout=60), stderr


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    # Far more output than a pipe holds, so the command is still writing when we close it.
    codes = ["91310110666007217T"] * 20_000
    first, status, stderr = read_one_line_and_close(cli("uscc", *codes))
    assert first.startswith(b"91310110666007217T: valid")
    assert stderr == b""
    assert status == (128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1)


def test_a_closed_pipe_after_case_list_prints_no_traceback(demo: Path) -> None:
    config = str(demo / "creditcommit.toml")
    first, status, stderr = read_one_line_and_close(cli("--config", config, "case", "list"))
    assert first.startswith(b"321000-20230116-N0001")
    assert b"Traceback" not in stderr
    assert b"Broken pipe" not in stderr
    assert status in (0, 128 + signal.SIGPIPE)  # 0 if it was done before the pipe closed


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_pipe_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["calendar", "add", "2025-09-26", "20"], ClosedPipe())
    assert status == (128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1)
    assert capsys.readouterr().err == ""


# --- escaped names and ids ----------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the demo whose inn has a hostile name, written straight into the store."""
    where = tmp_path_factory.mktemp("hostile") / "demo"
    shutil.copytree(demo, where)
    encoded = json.dumps(HOSTILE, ensure_ascii=False)[1:-1]
    with sqlite3.connect(where / "cases.db") as conn:
        changed = conn.execute(
            "UPDATE events SET payload = replace(payload, ?, ?) WHERE payload LIKE ?",
            (INN_NAME, encoded, f"%{INN_NAME}%"),
        ).rowcount
        # What reads serve is rebuilt from the events when the store is next opened.
        conn.execute("DELETE FROM projections")
    assert changed > 0
    config = str(where / "creditcommit.toml")
    with Approvals.from_config(config, autoload=False) as service:
        assert service.case(INN).applicant.name == HOSTILE  # the store holds it as written
    return config


def assert_safe(out: str) -> None:
    bad = {
        char
        for char in out
        if (unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") and char != "\n")
        or 0x202A <= ord(char) <= 0x202E
        or 0x2066 <= ord(char) <= 0x2069
    }
    assert bad == set()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_case_list_shows_a_hostile_name_escaped(hostile: str, lang: str) -> None:
    code, out = run("--config", hostile, "case", "list", "--lang", lang)
    assert code == 0
    assert_safe(out)
    lines = out.splitlines()
    assert len(lines) == 7  # six cases and the count: no forged row
    (inn,) = (line for line in lines if line.startswith(INN))
    assert inn.endswith(ESCAPED)
    assert not any(line.startswith("321000-20990101") for line in lines)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_case_show_shows_a_hostile_name_escaped(hostile: str, lang: str) -> None:
    code, out = run("--config", hostile, "case", "show", INN, "--lang", lang)
    assert code == 0
    assert_safe(out)
    assert ESCAPED in out.splitlines()[1]


def test_the_report_escapes_stored_names(demo: Path) -> None:
    config = str(demo / "creditcommit.toml")
    with Approvals.from_config(config, autoload=False) as service:
        report = statistics(
            service.cases(),
            start=dt.date(2025, 1, 1),
            end=dt.date(2025, 12, 31),
            catalog=service.catalog(),
            calendar=service.calendar(),
            draws=service.draws(),
        )
    item = report.items[0]
    forged = attrs.evolve(
        report,
        items=(attrs.evolve(item, name=HOSTILE, code=item.code + "\x1b[31m"), *report.items[1:]),
    )
    for lang in LANGUAGES:
        plain = render_text(report, lang=lang)
        text = render_text(_printable_report(forged), lang=lang)
        assert_safe(text)
        assert len(text.splitlines()) == len(plain.splitlines())
        assert ESCAPED in text
        assert item.code + "\\x1b[31m" in text


def test_decide_escapes_text_given_on_the_command_line() -> None:
    code, out = run(
        "decide",
        "--item",
        "321084-GGCSWSXK",
        "--on",
        "2025-09-26",
        "--id",
        "91321084MA1TQ7GU0H",
        "--credit-unavailable",
        "down\x1b[2J\nforged line",
    )
    assert code == 0
    assert_safe(out)
    # The failure is shown by its category; the upstream's text never reaches the output.
    assert "forged line" not in out
    assert "信用查询" in out
