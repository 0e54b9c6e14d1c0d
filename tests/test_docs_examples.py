"""Every ``console`` and ``python`` example in docs/ runs, and prints what the page shows.

(``pycon`` examples are doctests, collected by pytest's ``--doctest-glob=*.md``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docs_examples import ROOT, blocks, run_page

PAGES = sorted(
    path
    for path in (ROOT / "docs").rglob("*.md")
    if "_generated" not in path.parts and "_build" not in path.parts
)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT / "docs")))
def test_the_examples_of_the_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    problems = run_page(page, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_the_quick_starts_and_the_tutorial_have_examples_that_run() -> None:
    for name in ("quickstart.md", "quickstart-zh.md", "tutorial.md"):
        run = [b for b in blocks(ROOT / "docs" / name) if b.lang in ("console", "python")]
        assert [b for b in run if b.not_run is None], f"{name} has no example that runs"


WRONG = """\
# A page

```console
$ echo hello
goodbye
```

```python
print(1 + 1)
```

```output
3
```

```sh
rm -rf /nothing
```
"""


def test_a_wrong_example_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text(WRONG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    problems = run_page(page, tmp_path)
    assert len(problems) == 3
    assert "`echo hello` printed something else" in problems[0]
    assert "the python block printed something else" in problems[1]
    assert "a sh block must be marked" in problems[2]


def test_a_failing_command_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```console\n$ creditcommit uscc nonsense\n```\n", encoding="utf-8")
    [problem] = run_page(page, tmp_path)
    assert "exited 1" in problem
    assert "invalid" in problem or "nonsense" in problem


def test_a_block_marked_not_run_needs_a_reason(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("% not run:\n```python\nraise SystemExit(3)\n```\n", encoding="utf-8")
    assert run_page(page, tmp_path) != []
    page.write_text("% not run: a fragment\n```python\nraise SystemExit(3)\n```\n", "utf-8")
    assert run_page(page, tmp_path) == []
