"""Every command in README.md runs and prints what the README shows.

The exception is the quick start's two commands, `make demo` and `make test`: they create
the environment this test runs in (and `make test` runs this test), so they are checked for
being exactly those two and not run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from docs_examples import ROOT, blocks, commands, run_page

README = ROOT / "README.md"
QUICK_START = ("make demo", "make test")


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_quick_start_has_exactly_the_two_make_commands() -> None:
    quick = next(b for b in blocks(README) if b.lang == "console")
    assert quick.text in _section("Quick start")
    found = tuple(command.split("#")[0].strip() for command, _ in commands(quick))
    assert found == QUICK_START


def test_the_readme_says_how_to_run_the_command_after_make_demo() -> None:
    quick = _section("Quick start")
    assert ". .venv/bin/activate" in quick
    assert ".venv/bin/creditcommit" in quick


def test_every_other_readme_command_runs(tmp_path: Path) -> None:
    # The commands run from the repository's root: give them its files and its .venv
    # (the environment of this test) in an empty directory, so that nothing is left behind.
    for name in ("src", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    if not (tmp_path / ".venv" / "bin" / "activate").exists():
        pytest.skip("not run in a virtual environment: `. .venv/bin/activate` needs one")
    skip = frozenset(command for block in blocks(README)[:1] for command, _ in commands(block))
    problems = run_page(README, tmp_path, skip=skip)
    assert not problems, "\n\n".join(problems)
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert os.path.isdir(tmp_path / "demo")


def test_the_readme_names_case_ids_as_the_demo_makes_them() -> None:
    text = README.read_text(encoding="utf-8")
    assert "321000-20250926-N0001" in text
    assert "321000-20250926-0001" not in text
