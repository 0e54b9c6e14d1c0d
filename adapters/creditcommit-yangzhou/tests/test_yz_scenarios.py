"""The scenario files of the three places (``tests/scenarios/*.toml``).

pytest runs them case by case through the core's collector when it is enabled (this
distribution's pytest settings pass ``-p creditcommit.testing.pytest_plugin``; from the
repository root, pass it on the command line). This test runs them with
:func:`~creditcommit.testing.scenarios.check_scenarios` as well, so that they are checked
however pytest is started.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from creditcommit.testing.scenarios import check_scenarios, is_scenario_file

FOLDER = Path(__file__).parent / "scenarios"
PLACES = {"yangzhou.toml": "321000", "jiangdu.toml": "321012", "gaoyou.toml": "321084"}


def test_there_is_a_scenario_file_per_place() -> None:
    files = sorted(path.name for path in FOLDER.iterdir() if is_scenario_file(path))
    assert files == sorted(PLACES)


@pytest.mark.parametrize("name", sorted(PLACES))
def test_every_case_passes(name: str) -> None:
    results = check_scenarios(FOLDER / name)
    assert len(results) >= 2
    failed = [(r.case.name, r.mismatches, r.error) for r in results if r.mismatches or r.error]
    assert failed == []
