"""Run the code blocks of a Markdown page: ``console`` commands and ``python`` programs.

``pycon`` blocks are doctests and run through pytest's ``--doctest-glob``; this module runs
the rest, for ``tests/test_docs_examples.py`` and ``tests/test_readme.py``:

- a ``console`` block's ``$ `` lines are shell commands, run one by one with ``bash`` in one
  working directory per page, with the test's own ``creditcommit`` first on ``PATH``; the
  lines after a command, up to the next ``$ ``, are its expected output, compared like a
  doctest (``...`` stands for anything, whitespace is normalised);
- a ``python`` block runs in one namespace per page, in the same working directory; a
  ``text`` block right after it is its expected standard output;
- a block right after a comment ``% not run: REASON`` (MyST) or
  ``<!-- not run: REASON -->`` (GitHub) is not run; the reason must be given.

Blocks in ``sh``, ``shell`` or ``bash`` cannot be checked for output and must be marked.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
RUN = frozenset({"python", "console"})
MUST_RUN_OR_MARK = RUN | {"sh", "shell", "bash"}
_FENCE = re.compile(r"^(`{3,})([^`\s]*)\s*$")
_NOT_RUN = re.compile(r"^(?:%\s*not run:\s*(\S.*)|<!--\s*not run:\s*(\S.*?)\s*-->)$")
_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@attrs.frozen
class Block:
    """One fenced block: its language, first line (1-based), text, and why it is not run."""

    lang: str
    line: int
    text: str
    not_run: str | None


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, lang = match.groups()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != fence:
            j += 1
        before = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marked = _NOT_RUN.match(before)
        reason = None if marked is None else (marked.group(1) or marked.group(2))
        found.append(Block(lang, i + 1, "\n".join(lines[i + 1 : j]) + "\n", reason))
        i = j + 1
    return found


def commands(block: Block) -> Iterator[tuple[str, str]]:
    """The ``$ `` commands of a console block, each with its expected output."""
    command: str | None = None
    expected: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, "\n".join(expected)
            command, expected = line[2:], []
        elif command is not None:
            expected.append(line)
    if command is not None:
        yield command, "\n".join(expected)


def _mismatch(want: str, got: str) -> str | None:
    want = want.strip() + "\n" if want.strip() else ""
    if not want or _CHECKER.check_output(want, got, _FLAGS):
        return None
    example = doctest.Example("", want)
    return _CHECKER.output_difference(example, got, _FLAGS)


def environment() -> dict[str, str]:
    """The environment commands run in: this interpreter's scripts first on ``PATH``."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("CREDITCOMMIT_CONFIG", None)
    env["COLUMNS"] = "100"
    return env


def run_page(
    path: Path, workdir: Path, *, skip: frozenset[str] = frozenset(), timeout: float = 120
) -> list[str]:
    """Run the page's blocks in ``workdir``; the problems found (empty if none).

    ``skip`` names commands not to run (the caller says why). The caller makes ``workdir``
    the working directory for the ``python`` blocks.
    """
    problems: list[str] = []
    namespace: dict[str, object] = {"__name__": "__docs__"}
    page = blocks(path)
    env = environment()
    for index, block in enumerate(page):
        where = f"{path.name}:{block.line}"
        if block.lang in MUST_RUN_OR_MARK and block.lang not in RUN and block.not_run is None:
            problems.append(f"{where}: a {block.lang} block must be marked '% not run: REASON'")
        if block.lang not in RUN or block.not_run is not None:
            continue
        if block.lang == "console":
            for command, want in commands(block):
                if command in skip:
                    continue
                done = subprocess.run(
                    ["bash", "-c", command],
                    cwd=workdir,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
                if done.returncode != 0:
                    problems.append(
                        f"{where}: `{command}` exited {done.returncode}:\n{done.stderr}"
                    )
                    return problems
                diff = _mismatch(want, done.stdout)
                if diff is not None:
                    problems.append(f"{where}: `{command}` printed something else:\n{diff}")
            continue
        out = io.StringIO()
        try:
            code = compile(block.text, where, "exec")
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except (Exception, SystemExit) as exc:
            problems.append(f"{where}: the python block raised {type(exc).__name__}: {exc}")
            return problems
        following = page[index + 1] if index + 1 < len(page) else None
        if following is not None and following.lang == "output":
            diff = _mismatch(following.text, out.getvalue())
            if diff is not None:
                problems.append(f"{where}: the python block printed something else:\n{diff}")
    return problems
