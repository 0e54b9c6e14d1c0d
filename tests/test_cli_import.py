"""``creditcommit import``: a JSON-lines file of applications, all or nothing per batch.

Run through :func:`creditcommit.cli.main` on a manual clock (as ``tests/test_cli_submit.py``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from creditcommit import Approvals
from creditcommit.cli import main
from creditcommit.service import ManualClock
from test_cli_submit import BATHS, CITY, GAOYOU, HOTEL, city, clock, run, run_json

__all__ = ["clock"]  # the fixture, imported so that pytest finds it here


@pytest.fixture
def config(tmp_path: Path, clock: ManualClock) -> Path:
    return city(tmp_path / "city")


def record(n: int, **changes: Any) -> dict[str, Any]:
    applicant = HOTEL if n % 2 == 0 else BATHS
    data: dict[str, Any] = {
        "item": GAOYOU,
        "applicant": {"id": applicant.identifier, "name": applicant.name},
        "provided": ["GGCSWSXK-01"],
        "key": f"import-{n}",
    }
    data.update(changes)
    return data


def lines(path: Path, records: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path


def stored_keys(config: Path) -> list[str]:
    with Approvals.from_config(config) as service:
        return [
            key
            for n in range(20)
            if (key := f"import-{n}") and service.store.stream_for_key(key) is not None
        ]


def test_import_submits_every_line_in_batches(config: Path, tmp_path: Path) -> None:
    path = lines(tmp_path / "apps.jsonl", [record(n) for n in range(7)])
    found = run_json("--config", str(config), "import", str(path), "--batch", "3")
    assert found["imported"] == 7
    assert [b["lines"] for b in found["batches"]] == [[1, 3], [4, 6], [7, 7]]
    assert [len(b["cases"]) for b in found["batches"]] == [3, 3, 1]
    assert found["batches"][0]["cases"][0] == f"{CITY}-20250926-N0001"
    with Approvals.from_config(config) as service:
        cases = service.cases()
    assert len(cases) == 7
    assert {c.applicant.identifier for c in cases} == {HOTEL.identifier, BATHS.identifier}
    assert stored_keys(config) == [f"import-{n}" for n in range(7)]


def test_import_prints_chinese_by_default_and_english_on_request(
    config: Path, tmp_path: Path
) -> None:
    path = lines(tmp_path / "apps.jsonl", [record(n) for n in range(3)])
    code, out = run("--config", str(config), "import", str(path), "--batch", "2")
    assert code == 0
    assert out.splitlines() == [
        "第 1 批（第 1–2 行）：已提交 2 件。",
        "第 2 批（第 3–3 行）：已提交 1 件。",
        "共导入 3 件，2 批。",
    ]
    again = lines(tmp_path / "more.jsonl", [record(n) for n in range(3, 5)])
    code, out = run("--config", str(config), "import", str(again), "--lang", "en")
    assert code == 0
    assert out.splitlines() == [
        "batch 1 (lines 1-2): 2 submitted.",
        "2 applications imported in 1 batch(es).",
    ]


def test_a_bad_line_names_its_line_and_stores_nothing_of_its_batch(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = record(4, applicant={"id": "91321084MA1TQ7GU0X", "name": HOTEL.name})
    path = lines(
        tmp_path / "apps.jsonl", [record(0), record(1), "", record(2), record(3), bad, record(5)]
    )
    out = io.StringIO()
    assert main(["--config", str(config), "import", str(path), "--batch", "2"], out) == 1
    # Lines 1-2 committed; the batch of lines 4-6 (blank line 3 skipped) holds the bad line 6.
    assert out.getvalue().splitlines() == [
        "第 1 批（第 1–2 行）：已提交 2 件。",
        "第 2 批（第 4–5 行）：已提交 2 件。",
        "第 3 批（第 6–7 行）未保存，本批无一件提交。",
    ]
    error = capsys.readouterr().err
    assert error.startswith(f"{path}, line 6: applicant.id: ")
    assert stored_keys(config) == ["import-0", "import-1", "import-2", "import-3"]


def test_a_refused_submission_rolls_back_its_batch_and_names_its_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = lines(
        tmp_path / "apps.jsonl",
        [record(0), record(1), record(2, item="000000-NOSUCHITEM"), record(3)],
    )
    assert main(["--config", str(config), "import", str(path)], io.StringIO()) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"{path}, line 3: ")
    assert "000000-NOSUCHITEM" in error
    assert stored_keys(config) == []  # one batch of 100: nothing stored


def test_a_line_that_is_not_json_is_located(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = lines(tmp_path / "apps.jsonl", [record(0), "{not json"])
    assert main(["--config", str(config), "import", str(path)], io.StringIO()) == 1
    assert capsys.readouterr().err.startswith(f"{path}, line 2: <root>: not valid JSON")
    assert stored_keys(config) == []


def test_importing_again_returns_the_cases_already_submitted(config: Path, tmp_path: Path) -> None:
    path = lines(tmp_path / "apps.jsonl", [record(n) for n in range(3)])
    first = run_json("--config", str(config), "import", str(path))
    second = run_json("--config", str(config), "import", str(path))
    assert first["batches"][0]["cases"] == second["batches"][0]["cases"]
    with Approvals.from_config(config) as service:
        assert len(service.cases()) == 3


def test_batch_must_be_positive(config: Path, tmp_path: Path) -> None:
    path = lines(tmp_path / "apps.jsonl", [record(0)])
    code, _ = run("--config", str(config), "import", str(path), "--batch", "0")
    assert code == 1
    assert stored_keys(config) == []
