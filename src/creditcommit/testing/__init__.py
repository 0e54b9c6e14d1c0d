"""The testing kit (测试工具) for cities: scenario files and Hypothesis strategies.

>>> from creditcommit.testing import strategies as ccst
>>> from creditcommit.testing import load_scenarios

See ``docs/testing.md`` and ``docs/scenarios.md``. The strategies need Hypothesis (``pip install
'creditcommit[testing]'``). Importing this package does not import Hypothesis: the
strategies are loaded on first use, so the rest of the kit works without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from creditcommit.testing.scenarios import (
    SCENARIO_SOURCE,
    CaseResult,
    Expectation,
    ScenarioCase,
    ScenarioFile,
    check_scenarios,
    is_scenario_file,
    load_scenarios,
    run_case,
)

if TYPE_CHECKING:
    from creditcommit.testing import strategies
    from creditcommit.testing.strategies import (
        applicants,
        applications,
        approval_items,
        catalogs,
        credit_evidence,
        credit_records,
        days,
        evidence_or_absence,
        grade_scales,
        grades,
        licence_holdings,
        lookup_failures,
        materials,
        policies,
        projects,
        resident_ids,
        retrieval_times,
        uscc_codes,
    )

__all__ = [
    "CaseResult",
    "Expectation",
    "SCENARIO_SOURCE",
    "ScenarioCase",
    "ScenarioFile",
    "applicants",
    "applications",
    "approval_items",
    "catalogs",
    "check_scenarios",
    "credit_evidence",
    "credit_records",
    "days",
    "evidence_or_absence",
    "grade_scales",
    "grades",
    "is_scenario_file",
    "licence_holdings",
    "load_scenarios",
    "lookup_failures",
    "materials",
    "policies",
    "projects",
    "resident_ids",
    "retrieval_times",
    "run_case",
    "strategies",
    "uscc_codes",
]

# Names served lazily from creditcommit.testing.strategies (PEP 562), so that importing
# the package (e.g. for its pytest plugin) never needs Hypothesis.
_FROM_STRATEGIES = frozenset(
    {
        "applicants",
        "applications",
        "approval_items",
        "catalogs",
        "credit_evidence",
        "credit_records",
        "days",
        "evidence_or_absence",
        "grade_scales",
        "grades",
        "licence_holdings",
        "lookup_failures",
        "materials",
        "policies",
        "projects",
        "resident_ids",
        "retrieval_times",
        "uscc_codes",
    }
)


def __getattr__(name: str) -> Any:
    if name == "strategies" or name in _FROM_STRATEGIES:
        module = importlib.import_module("creditcommit.testing.strategies")
        return module if name == "strategies" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
