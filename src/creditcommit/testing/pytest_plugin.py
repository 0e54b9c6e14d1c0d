"""The pytest plugin of the testing kit: scenario files (情景测试) as tests, contract fixtures.

It is registered by the ``pytest11`` entry point ``creditcommit``: installing
``creditcommit[testing]`` is all it takes (disable it for one run with
``-p no:creditcommit``). Every ``.toml`` file directly inside a folder named ``scenarios``
is collected
(:func:`~creditcommit.testing.scenarios.is_scenario_file`); each case is one test named
after the case. A failing case reports the file, the line and the case, and every mismatch,
without a Python traceback; a malformed file is a collection error listing every problem.

Fixture: ``creditcommit_city``, the city code the port contracts use (default
``"321000"``); override it in a ``conftest.py`` (or ``city`` in a contract subclass).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creditcommit.errors import DataFileError
from creditcommit.testing.port_contracts import CITY
from creditcommit.testing.scenarios import (
    ScenarioCase,
    ScenarioFile,
    is_scenario_file,
    run_case,
)

__all__ = [
    "ScenarioFileCollector",
    "ScenarioItem",
    "creditcommit_city",
    "pytest_collect_file",
]


@pytest.fixture
def creditcommit_city() -> str:
    """The city code (行政区划代码) the port contracts use; override it with your city's."""
    return CITY


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect scenario files; leave every other file to pytest and other plugins."""
    if is_scenario_file(file_path):
        return ScenarioFileCollector.from_parent(parent, path=file_path)
    return None


class ScenarioFileCollector(pytest.File):
    """One scenario file: loads it strictly and yields one :class:`ScenarioItem` per case."""

    def collect(self) -> Iterator[ScenarioItem]:
        try:
            # Reports name the file as pytest does: relative to the rootdir when inside it.
            shown = self.path.relative_to(self.config.rootpath)
        except ValueError:
            shown = self.path
        try:
            scenarios = ScenarioFile.from_toml(self.path, source=str(shown))
        except DataFileError as exc:
            # CollectError is shown as its message alone: the problems, not a traceback.
            raise self.CollectError(exc.report()) from None
        for case in scenarios.cases:
            yield ScenarioItem.from_parent(self, name=case.name, case=case)


class ScenarioItem(pytest.Item):
    """One case of a scenario file, run with :func:`~creditcommit.testing.scenarios.run_case`."""

    def __init__(self, *, case: ScenarioCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = run_case(self.case)
        if not result.passed:
            pytest.fail(result.report(), pytrace=False)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # pytest counts lines from 0 and adds 1 when it shows them.
        line = None if self.case.line is None else self.case.line - 1
        return self.path, line, f"scenario: {self.case.name}"
