"""Hostile files: every loader limits size and nesting and refuses hostile text, with a
located :class:`DataFileError` (issue 8, item 10). The corpus is tests/data/hostile/."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from creditcommit import Catalog, Policy, WorkingCalendar
from creditcommit._converter import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    nesting_problem,
    parse_toml,
    read_text,
    structure,
)
from creditcommit.builtin.credit_file import FileCreditSource
from creditcommit.cli import main
from creditcommit.commitments import Templates
from creditcommit.config import Config
from creditcommit.credit import GradeScale
from creditcommit.errors import DataFileError
from creditcommit.identifiers import load_uscc_allowlist
from creditcommit.testing.scenarios import load_scenarios

CORPUS = Path(__file__).parent / "data" / "hostile"


@attrs.frozen
class _Named:
    name: str


# file, path inside it, what the message says
CASES: list[tuple[str, str, str]] = [
    (
        "catalog-absurd-days.toml",
        "items[0].statutory_days",
        "expected at most 1000 working days, got 100000",
    ),
    (
        "catalog-before-1949.toml",
        "items[0].valid_from",
        "expected a date from 1949-01-01 on, got 1900-01-01",
    ),
    (
        "catalog-escape-in-code.toml",
        "items[0].code",
        "expected text without control characters, direction overrides or lone surrogates, "
        "got U+001B at position 5 in 'GGCS\\x1b[2J'",
    ),
    (
        "catalog-invisible-name.toml",
        "items[0].name",
        "must not be invisible (only zero-width characters)",
    ),
    ("catalog-long-code.toml", "items[0].code", "expected at most 64 characters, got 200"),
    (
        "catalog-newline-in-department.toml",
        "items[0].department",
        "expected one line of text without control characters, got U+000A at position 6",
    ),
    (
        "catalog-override-in-reference.toml",
        "items[0].legal_basis[0].instrument",
        "got U+202E at position 5",
    ),
    (
        "catalog-path-in-code.toml",
        "items[0].code",
        "expected no path separator (/ or \\), got '../../etc/passwd'",
    ),
    (
        "config-authorization-header.toml",
        "plugins.yangzhou.headers.Authorization",
        "looks like a secret: secrets must not be written in the file; put it in an "
        'environment variable and name that with Authorization_env = "..."',
    ),
    (
        "config-bearer-value.toml",
        "plugins.yangzhou.header",
        "looks like an authorization header value (a secret); put it in an environment "
        'variable and name that with header_env = "..."',
    ),
    (
        "config-url-password.toml",
        "plugins.yangzhou.endpoint",
        "the URL contains a password (user:password@host)",
    ),
    (
        "config-url-token-query.toml",
        "plugins.yangzhou.endpoint",
        "the URL's query holds a secret (access_token=...)",
    ),
    (
        "deep-arrays.toml",
        "",
        f"expected tables and arrays nested at most {MAX_DEPTH} deep, got deeper nesting on line 2",
    ),
    (
        "deep-tables.toml",
        ".".join(["a"] * (MAX_DEPTH + 1)),
        f"expected tables and arrays nested at most {MAX_DEPTH} deep",
    ),
    (
        "decide-bad-check.json",
        "id",
        "invalid USCC '91321084MA1TQ7GU0J': the check character (position 18) should be 'H' "
        "for the first 17 characters, found 'J' (rule: check)",
    ),
    (
        "decide-deep.json",
        "",
        f"expected tables and arrays nested at most {MAX_DEPTH} deep, got deeper nesting on line 1",
    ),
    (
        "decide-kind-mismatch.json",
        "id",
        "the applicant kind is natural-person, identified by a resident identity number "
        "(居民身份证号码), but '91321084MA1TQ7GU0H' is a USCC (统一社会信用代码)",
    ),
    ("decide-lone-surrogate.json", "name", "lone surrogates, got U+D800 at position 1"),
    (
        "scenario-newline-name.toml",
        "cases[0].applicant.name",
        "expected one line of text without control characters, got U+000A at position 6",
    ),
    (
        "decide-newline-name.json",
        "name",
        "expected one line of text without control characters, got U+000A at position 6",
    ),
]


def load(name: str) -> None:
    path = CORPUS / name
    if name.startswith("config-"):
        Config.load(path)
    elif name.startswith("scenario-"):
        load_scenarios(path)
    elif name.startswith("decide-"):
        _decide(path)
    else:
        Catalog.from_toml(path)


def _decide(path: Path) -> None:
    """Run ``decide --file`` and raise what it reports as a DataFileError again."""
    from creditcommit import cli

    cli.cmd_decide(cli.build_parser().parse_args(["decide", "--file", str(path)]), io.StringIO())


@pytest.mark.parametrize(("name", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_file_is_reported_with_its_path(name: str, path: str, message: str) -> None:
    with pytest.raises(DataFileError) as info:
        load(name)
    assert info.value.source == str(CORPUS / name)
    problem = info.value.problems[0]
    assert problem.path == path
    assert message in problem.message


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(name for name, _, _ in CASES)


def test_the_cli_reports_a_hostile_file_with_its_location(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = CORPUS / "decide-deep.json"
    assert main(["decide", "--file", str(path)], out=io.StringIO()) == 1
    assert f"{path}: <root>: expected tables and arrays nested" in capsys.readouterr().err


# Every loader of a file a person writes or exports.
LOADERS: dict[str, Callable[[str], object]] = {
    "catalog": Catalog.from_toml,
    "policy": Policy.from_toml,
    "policy-load": Policy.load,
    "calendar": lambda p: WorkingCalendar.china().with_override(p),
    "config": Config.load,
    "scale": GradeScale.from_toml,
    "templates": Templates.load,
    "allowlist": load_uscc_allowlist,
    "scenarios": load_scenarios,
    "decide": lambda p: _decide(Path(p)),
}


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_every_loader_refuses_deep_nesting(loader: Callable[[str], object]) -> None:
    for name in ("deep-arrays.toml", "decide-deep.json"):
        with pytest.raises(DataFileError, match="nested at most 32 deep"):
            loader(str(CORPUS / name))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_every_loader_reads_at_most_16_mib(loader: Callable[[str], object]) -> None:
    with pytest.raises(DataFileError, match="expected a file of at most 16 MiB"):
        loader("/dev/zero")


def test_the_csv_import_reads_at_most_16_mib(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db")
    with pytest.raises(DataFileError, match="expected a file of at most 16 MiB"):
        source.import_csv("/dev/zero", city="321000")


def test_the_size_limit_is_exact(tmp_path: Path) -> None:
    assert MAX_FILE_BYTES == 16 * 1024 * 1024
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * 10)
    assert read_text(path, limit=10) == "#" * 10
    with pytest.raises(DataFileError) as info:
        read_text(path, limit=9)
    assert info.value.problems[0].message == "expected a file of at most 9 bytes, got a larger one"


@pytest.mark.parametrize(
    "text",
    [
        'a = "' + "[" * 100 + '"',  # brackets in a string
        "a = '" + "{" * 100 + "'",  # in a literal string
        'a = """\n' + "[" * 100 + '\n"""',  # in a multi-line string
        "# " + "[" * 100,  # in a comment
        'a = "\\"' + "[" * 100 + '"',  # after an escaped quote
    ],
)
def test_the_nesting_scan_skips_strings_and_comments(text: str) -> None:
    assert nesting_problem(text) is None


def test_the_nesting_limit_is_exact() -> None:
    at_limit = "a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert nesting_problem(at_limit) is None
    assert nesting_problem("a = " + "[" * (MAX_DEPTH + 1)) is not None
    assert sys.getrecursionlimit() > 10 * MAX_DEPTH  # the parsers stay far from recursion


def test_unavailable_subjects_are_parsed_as_identifiers(tmp_path: Path) -> None:
    path = tmp_path / "creditcommit.toml"
    path.write_text(
        'city = "321000"\n[plugins.builtin]\n'
        'unavailable_subjects = ["9132 1084-ma1tq7gu0h", "91321084MA1TQ7GU0J"]\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as info:
        Config.load(path)
    assert [p.path for p in info.value.problems] == ["plugins.builtin.unavailable_subjects[1]"]
    assert "(rule: check)" in info.value.problems[0].message
    path.write_text(
        'city = "321000"\n[plugins.builtin]\nunavailable_subjects = ["9132 1084-ma1tq7gu0h"]\n',
        encoding="utf-8",
    )
    assert Config.load(path).plugins.builtin.unavailable_subjects == {"91321084MA1TQ7GU0H"}


def test_the_csv_import_refuses_hostile_text(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("subject,grade\n91321084MA1TQ7GU0H,A\x1b[2J\n", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        FileCreditSource(tmp_path / "credit.db").import_csv(path, city="321000")
    assert info.value.problems[0].path == "line[2].grade"
    assert "got U+001B at position 2" in info.value.problems[0].message


def test_the_csv_import_normalises_subjects(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("subject,grade\n9132 1084-ma1tq7gu0h,A\n", encoding="utf-8")
    source = FileCreditSource(tmp_path / "credit.db")
    source.import_csv(path, city="321000")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert source.read("91321084MA1TQ7GU0H", city="321000", at=at).grade == "A"


def test_data_stored_by_creditcommit_is_read_back_as_written() -> None:
    # Only files are checked for hostile text: a record built in code round-trips.
    assert structure({"name": "a\x1bb"}, _Named).name == "a\x1bb"


def test_hostile_text_in_a_key_is_located() -> None:
    with pytest.raises(DataFileError) as info:
        parse_toml('[t]\n"a\\u001b[2J" = 1\n', source="x.toml")
    (problem,) = info.value.problems
    assert problem.path == "t.'a\\x1b[2J'"  # escaped: paths are printed
    assert problem.message.startswith("in the key: expected text without control characters")
