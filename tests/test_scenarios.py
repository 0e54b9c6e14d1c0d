"""Tests for scenario files (creditcommit.testing.scenarios) and their pytest plugin."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit._converter import hostile_text_problem
from creditcommit.catalog import Catalog
from creditcommit.credit import CreditEvidence
from creditcommit.decision import Route
from creditcommit.errors import DataFileError, InvalidValue, Problem
from creditcommit.materials import Disposition
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

pytest_plugins = ["pytester"]

# The plugin is registered by the pytest11 entry point "creditcommit" (no -p needed).
PLUGIN = "creditcommit"
TESTS = Path(__file__).parent
SCENARIOS = TESTS / "scenarios"
SEED = SCENARIOS / "seed.toml"
CORPUS = TESTS / "data" / "scenarios" / "malformed"
WRONG = TESTS / "data" / "scenarios" / "wrong" / "gaoyou-wrong.toml"

GAOYOU = "321084-GGCSWSXK"
JIANGDU = "321012-TZXMBA"
FIRM = {"id": "91321084MA1Y0000BT", "name": "高邮某酒店管理有限公司"}


def case_data(**changes: Any) -> dict[str, Any]:
    """A valid Gaoyou case as TOML gives it, with ``changes`` applied."""
    case: dict[str, Any] = {
        "name": "Gaoyou, grade B",
        "item": GAOYOU,
        "day": dt.date(2025, 9, 26),
        "applicant": dict(FIRM),
        "credit": {"grade": "B"},
        "expect": {"route": "conditional"},
    }
    case.update(changes)
    return case


def one_case(**changes: Any) -> ScenarioCase:
    return ScenarioFile.from_dict({"cases": [case_data(**changes)]}).cases[0]


# --- the shipped scenarios ---------------------------------------------------------------


def test_seed_scenarios_pass() -> None:
    results = check_scenarios([SEED])
    assert [r.case.name for r in results] == [
        "Jiangdu municipal major project filing goes direct",
        "Gaoyou health permit, grade B, no record: conditional with deferred materials",
        "Gaoyou health permit, grade C: standard",
        "Gaoyou health permit, grade B with an active dishonesty record: standard",
        "Gaoyou health permit, credit source down: standard",
    ]
    assert [r.report() for r in results if not r.passed] == []
    jiangdu, conditional, grade_c, record, down = results
    assert jiangdu.decision is not None
    assert jiangdu.decision.route is Route.DIRECT
    assert jiangdu.case.credit is None  # a major project is not checked
    assert conditional.plan is not None
    assert conditional.plan.latest_due == dt.date(2025, 10, 10)
    assert [r.decision.route for r in (grade_c, record, down) if r.decision] == [Route.STANDARD] * 3
    assert down.decision is not None
    assert down.decision.reasons[0].params["failure"] == "信用扬州接口超时（3 秒）"
    assert down.decision.reasons[0].params["category"] == "timeout"
    assert "信用平台未在规定时间内响应" in down.decision.reasons[0].zh


def test_every_shipped_scenario_passes() -> None:
    results = check_scenarios(SCENARIOS)
    assert {Path(r.case.file).name for r in results} == {
        "catalog-filing.toml",
        "seed.toml",
        "wage-arrears.toml",
        "yangzhou-rules.toml",
        "legal-bans.toml",
        "legal-dated-instruments.toml",
        "legal-jurisdiction.toml",
    }
    assert [r.report() for r in results if not r.passed] == []


def test_case_lines_point_at_the_case_names() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    cases = load_scenarios(SEED).cases
    for case in cases:
        assert case.line is not None
        assert lines[case.line - 1] == f"name = {json.dumps(case.name, ensure_ascii=False)}"
    assert cases[0].location == f"{SEED}:22"


def test_evidence_is_deterministic() -> None:
    first, second = load_scenarios(SEED), load_scenarios(SEED)
    evidence = first.cases[1].credit
    assert isinstance(evidence, CreditEvidence)
    assert evidence == second.cases[1].credit
    assert evidence.source == SCENARIO_SOURCE
    assert evidence.retrieved_at == dt.datetime(
        2025, 9, 26, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )


DOC = TESTS.parent / "docs" / "scenarios.md"


def test_the_documented_example_passes() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```toml\n")[1:]]
    examples = [b for b in blocks if b.startswith("# tests/scenarios/")]
    assert len(examples) == 1
    results = ScenarioFile.from_text(examples[0], source="pilots.toml").run()
    assert len(results) == 2
    assert [r.report() for r in results if not r.passed] == []


# --- failures ----------------------------------------------------------------------------


WRONG_REPORT = f"""\
{WRONG}:18: case 'Gaoyou, grade C: wrong' failed:
  - route: expected CONDITIONAL, got STANDARD
  - eligible route: expected CONDITIONAL, got STANDARD
  - reasons: expected ['credit-grade-meets-threshold', 'no-blocking-record'], got \
['credit-grade-below-threshold'] (reason texts: credit-grade-below-threshold: 申请人信用等级为C\
级，低于有条件适用的最低等级B级，按一般程序办理。)
  - reasons: expected to include ['no-blocking-record'], got ['credit-grade-below-threshold']
  - material GGCSWSXK-03: expected retrieved, got missing (电子证照库中无此证照，须提交)
  - material GGCSWSXK-04: expected deferred, got missing (按一般程序办理，须提交)
  - due GGCSWSXK-04: expected 2025-10-09, got no due date (the material is missing)
  - reduced: expected 4, got 1 (waived: none; retrieved: GGCSWSXK-02)
  - acceptable: expected true, got false (missing: GGCSWSXK-03, GGCSWSXK-04, GGCSWSXK-05, \
GGCSWSXK-06, GGCSWSXK-07)
  (note: written as if grade C met the threshold)"""


def test_a_wrong_scenario_lists_every_mismatch() -> None:
    right, wrong = check_scenarios([WRONG])
    assert right.passed
    assert right.report() == f"{WRONG}:9: case 'Gaoyou, grade B: right' passed"
    assert not wrong.passed
    assert len(wrong.mismatches) == 9
    assert wrong.report() == WRONG_REPORT


def test_route_mismatch_alone_says_why() -> None:
    result = run_case(one_case(credit={"grade": "C"}))
    assert result.mismatches == (
        "route: expected CONDITIONAL, got STANDARD (reason texts: credit-grade-below-threshold: "
        "申请人信用等级为C级，低于有条件适用的最低等级B级，按一般程序办理。)",
    )


def test_reasons_in_another_order_are_named_as_such() -> None:
    case = one_case(
        expect={
            "route": "conditional",
            "reasons": ["no-blocking-record", "credit-grade-meets-threshold"],
        }
    )
    (mismatch,) = run_case(case).mismatches
    assert mismatch.startswith(
        "reasons: expected ['no-blocking-record', 'credit-grade-meets-threshold'], got "
        "['credit-grade-meets-threshold', 'no-blocking-record'] (the same codes in another order)"
    )


def test_a_library_error_is_reported_not_raised() -> None:
    # Deferred materials would be due in January 2027, a year the calendar does not cover.
    result = run_case(one_case(day=dt.date(2026, 12, 29)))
    assert result.decision is not None
    assert result.plan is None
    assert not result.passed
    assert result.error is not None
    assert result.error.startswith(
        "CalendarCoverageError: no official holiday data for 2027 (data covers 2004-2026)"
    )
    assert result.report().splitlines()[1] == f"  - error: {result.error}"


# --- the pytest plugin -------------------------------------------------------------------


def in_order(lines: list[str], expected: list[str]) -> bool:
    """True if each expected line starts a line of ``lines``, in this order.

    (pytest's fnmatch_lines reads the ``[0]`` of ``cases[0]`` as a character class.)
    """
    found = iter(lines)
    return all(any(line.startswith(start) for line in found) for start in expected)


def test_plugin_runs_the_seed(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("scenarios")
    shutil.copy(SEED, folder / "seed.toml")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=5)
    assert in_order(
        result.outlines,
        ["scenarios/seed.toml::Jiangdu municipal major project filing goes direct PASSED"],
    )


def test_plugin_failure_names_the_file_and_the_case(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("scenarios")
    shutil.copy(WRONG, folder / "gaoyou-wrong.toml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    expected = [
        "_" * 23 + " scenario: Gaoyou, grade C: wrong " + "_" * 23,
        *WRONG_REPORT.replace(str(WRONG), "scenarios/gaoyou-wrong.toml").splitlines(),
        "FAILED scenarios/gaoyou-wrong.toml::Gaoyou, grade C: wrong - Failed: ",
    ]
    assert in_order(result.outlines, expected), result.stdout.str()
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "pytest_plugin.py" not in output


def test_plugin_malformed_file_is_a_collection_error(pytester: pytest.Pytester) -> None:
    folder = pytester.mkdir("scenarios")
    shutil.copy(CORPUS / "several-problems.toml", folder / "bad.toml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    problems = dict(CORPUS_CASES)["several-problems.toml"]
    expected = [
        "_" * 21 + " ERROR collecting scenarios/bad.toml " + "_" * 22,
        *(f"scenarios/bad.toml: {path}: {message}" for path, message in problems),
        "ERROR scenarios/bad.toml",
    ]
    assert in_order(result.outlines, expected), result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_plugin_collects_only_scenario_folders(pytester: pytest.Pytester) -> None:
    broken = "[[cases]]\nname = 1\n"
    shutil.copy(SEED, pytester.mkdir("scenarios") / "seed.toml")
    pytester.mkdir("scenarios/drafts")
    pytester.makefile(".toml", **{"scenarios/drafts/draft": broken})
    pytester.makefile(".toml", **{"data/scenarios": broken, "config": broken})
    pytester.makefile(".toml", **{"other/seed": SEED.read_text(encoding="utf-8")})
    pytester.makefile(".txt", **{"scenarios/readme": "not a scenario"})
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_without_the_plugin_nothing_is_collected(pytester: pytest.Pytester) -> None:
    shutil.copy(SEED, pytester.mkdir("scenarios") / "seed.toml")
    result = pytester.runpytest("-p", f"no:{PLUGIN}", "-p", "no:cacheprovider")
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize(
    ("path", "collected"),
    [
        ("tests/scenarios/seed.toml", True),
        ("scenarios/x.toml", True),
        ("tests/scenarios/drafts/x.toml", False),
        ("tests/data/scenarios/malformed/x.toml", False),
        ("tests/scenarios.toml", False),
        ("tests/scenarios/seed.yaml", False),
        ("tests/data/catalog/x.toml", False),
    ],
)
def test_is_scenario_file(path: str, collected: bool) -> None:
    assert is_scenario_file(path) is collected
    assert is_scenario_file(Path(path)) is collected


# --- the malformed corpus: one file per error ----------------------------------------------

CORPUS_CASES: list[tuple[str, list[tuple[str, str]]]] = [
    ("unknown-top-key.toml", [("", "unknown key 'default' (allowed: defaults, cases)")]),
    (
        "unknown-key.toml",
        [
            (
                "cases[0].expect",
                "unknown key 'reason' (allowed: route, refused_until, eligible_route, "
                "jurisdiction, cites, reasons, reasons_include, materials, due, reduced, "
                "acceptable, consequences) (case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "wrong-type.toml",
        [
            (
                "cases[0].choose_standard",
                "expected true or false, got string 'yes' "
                "(case 'Gaoyou, grade B, chooses the standard route', line 6)",
            )
        ],
    ),
    (
        "bad-route.toml",
        [
            (
                "cases[0].expect.route",
                "expected one of 'direct', 'conditional', 'standard', got string 'condtional' "
                "(case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "bad-disposition.toml",
        [
            (
                "cases[0].expect.materials.GGCSWSXK-04",
                "expected one of 'submitted', 'retrieved', 'waived', 'deferred', 'missing', "
                "got string 'later' (case 'Gaoyou, grade B', line 6)",
            ),
            (
                "cases[0].expect.due.GGCSWSXK-04",
                "expected a date (YYYY-MM-DD), got string 'in five working days' "
                "(case 'Gaoyou, grade B', line 6)",
            ),
        ],
    ),
    (
        "unknown-item.toml",
        [
            (
                "cases[0].item",
                "approval item '321084-GGCSWSXX' is not in the catalogue "
                "'扬州市“信用+承诺”审批事项清单（示例）' (did you mean '321084-GGCSWSXK'?) "
                "(case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "item-not-in-force.toml",
        [
            (
                "cases[0].item",
                "approval item '321084-GGCSWSXK' is not in force on 2022-10-15 "
                "(versions: from 2022-11-01) (case 'Gaoyou, grade B, before the pilot list', "
                "line 3)",
            ),
            (
                "cases[0].day",
                "the policy '全国默认规则 + 扬州市“信用+承诺”审批分级（示例） + "
                "江都区工程建设项目“信用承诺制”（示例） + 高邮市“信用+承诺”审批分级（示例）' has "
                "no value of 'grade_scale' in force on 2022-10-15; a decision needs every "
                "setting (the national defaults set no grade scale or threshold: use a city "
                "policy) (case 'Gaoyou, grade B, before the pilot list', line 3)",
            ),
        ],
    ),
    (
        "unknown-reason.toml",
        [
            (
                "cases[0].expect.reasons[0]",
                "unknown reason code 'credit-grade-meets-treshold' (did you mean "
                "'credit-grade-meets-threshold'?); the codes are listed in docs/reasons.md "
                "(case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "empty-reasons.toml",
        [
            (
                "cases[0].expect.reasons",
                "expected at least one reason code (a decision always gives one); leave the "
                "key out to accept any reasons (case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "unknown-material.toml",
        [
            (
                "cases[0].provided[1]",
                "item 321084-GGCSWSXK has no material 'GGCSWSXK-10' (did you mean "
                "'GGCSWSXK-07'?) (case 'Gaoyou, grade B', line 6)",
            ),
            (
                "cases[0].expect.materials.TZXMBA-01",
                "item 321084-GGCSWSXK has no material 'TZXMBA-01' (its materials: "
                "GGCSWSXK-01, GGCSWSXK-02, GGCSWSXK-03, GGCSWSXK-04, GGCSWSXK-05, "
                "GGCSWSXK-06, GGCSWSXK-07) (case 'Gaoyou, grade B', line 6)",
            ),
        ],
    ),
    (
        "unknown-licence-type.toml",
        [
            (
                "cases[0].licences[0]",
                "unknown e-licence type 'busines-licence' (did you mean 'business-licence'?) "
                "(case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "bad-applicant-id.toml",
        [
            (
                "cases[0].applicant.id",
                "expected a unified social credit code (统一社会信用代码) for an applicant of "
                "kind 'legal-person': the check character (position 18) should be 'T' for the "
                "first 17 characters, found '1' (rule: check) (case 'Gaoyou, grade B', line 6)",
            )
        ],
    ),
    (
        "applicant-kind-mismatch.toml",
        [
            (
                "cases[0].applicant.id",
                "expected a resident identity number (居民身份证号码) for an applicant of kind "
                "'natural-person': character 'M' at position 9 is not allowed: positions 1-17 "
                "are digits and position 18 is a digit or X (rule: charset) "
                "(case 'Gaoyou, a natural person', line 6)",
            )
        ],
    ),
    (
        "bad-credit.toml",
        [
            (
                "cases[0].credit",
                "expected 'none' (not asked), 'unavailable' (the source failed) or a table with "
                "grade and records, or with unavailable = \"what failed\"; got string 'unknown' "
                "(case 'Gaoyou, credit unknown', line 6)",
            )
        ],
    ),
    (
        "missing-credit.toml",
        [("cases[0].credit", "required key is missing (case 'Gaoyou, grade B', line 6)")],
    ),
    (
        "unknown-grade.toml",
        [
            (
                "cases[0].credit.grade",
                "grade 'F' is not on the 'yangzhou-a-e' scale (known: A, B, C, D, E) "
                "(case 'Gaoyou, grade F', line 6)",
            )
        ],
    ),
    (
        "unavailable-with-grade.toml",
        [
            (
                "cases[0].credit.unavailable",
                "a failed lookup has no grade, scale or records: give either unavailable or "
                "the source's answer (case 'Gaoyou, credit source down', line 6)",
            )
        ],
    ),
    (
        "record-half-periods.toml",
        [
            (
                "cases[0].credit.records[0].max_publicity_months",
                "required with min_publicity_months: give both publicity periods, or neither "
                "to use the default periods for severity 'general' "
                "(case 'Gaoyou, grade B with a record', line 6)",
            )
        ],
    ),
    (
        "record-bad-kind.toml",
        [
            (
                "cases[0].credit.records[0].kind",
                "expected one of 'dishonesty', 'serious_dishonesty_list', "
                "'administrative_penalty', 'commitment_breach', 'false_commitment', "
                "'false_application', got string 'penalty' (a city-specific kind must be declared "
                "under [record_kinds] in the policy) (case 'Gaoyou, grade B with a record', "
                "line 6)",
            ),
            (
                "cases[0].credit.records[1].repaired_on",
                "expected on or after decided_on (2025-03-03), got 2025-01-01 "
                "(case 'Gaoyou, grade B with a record', line 6)",
            ),
        ],
    ),
    (
        "missing-day.toml",
        [
            (
                "cases[0].day",
                "required key is missing (and [defaults] sets no day) "
                "(case 'Gaoyou, grade B', line 3)",
            )
        ],
    ),
    (
        "day-outside-calendar.toml",
        [
            (
                "cases[0].day",
                "the working-day calendar has no data for 2027 (it covers 2004-2026) "
                "(case 'Gaoyou, grade B, in 2027', line 3)",
            )
        ],
    ),
    (
        "missing-expect.toml",
        [("cases[0].expect", "required key is missing (case 'Gaoyou, grade B', line 6)")],
    ),
    (
        "duplicate-names.toml",
        [
            (
                "cases[1].name",
                "duplicate case name 'Gaoyou' (also cases[0]); every case needs its own name "
                "(case 'Gaoyou', line 13)",
            )
        ],
    ),
    ("no-cases.toml", [("cases", "expected at least one case ([[cases]])")]),
    (
        "missing-catalog-file.toml",
        [
            (
                "defaults.catalog",
                "expected 'sample', 'yangzhou' or the path of a catalogue file relative to "
                "this file, got 'catalogues/yangzhou.toml' "
                f"(no file at {CORPUS / 'catalogues/yangzhou.toml'})",
            )
        ],
    ),
    (
        "unknown-policy.toml",
        [
            (
                "defaults.policy",
                "expected 'yangzhou', 'national' or the path of a city policy file relative to "
                f"this file, got 'suzhou' (no file at {CORPUS / 'suzhou'})",
            )
        ],
    ),
    (
        "national-policy.toml",
        [
            (
                "cases[0].day",
                "the policy '全国默认规则' has no value of 'grade_scale' in force on 2025-09-26; "
                "a decision needs every setting (the national defaults set no grade scale or "
                "threshold: use a city policy) (case 'Gaoyou, grade B', line 7)",
            )
        ],
    ),
    (
        "several-problems.toml",
        [
            (
                "cases[0].applicant.name",
                "expected a non-empty applicant name (case 'first', line 6)",
            ),
            ("cases[0].expect.reduced", "expected 0 or more, got -1 (case 'first', line 6)"),
            (
                "cases[1].provided[0]",
                "item 321084-GGCSWSXK has no material 'GGCSWSXK-99' (did you mean "
                "'GGCSWSXK-07'?) (case 'second', line 13)",
            ),
            (
                "cases[1].expect.reasons_include[0]",
                "unknown reason code 'grade-below-threshold' (did you mean "
                "'credit-grade-below-threshold'?); the codes are listed in docs/reasons.md "
                "(case 'second', line 13)",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_malformed_corpus(name: str, expected: list[tuple[str, str]]) -> None:
    path = CORPUS / name
    with pytest.raises(DataFileError) as caught:
        load_scenarios(path)
    assert caught.value.source == str(path)
    assert [(p.path, p.message) for p in caught.value.problems] == expected


def test_corpus_is_complete() -> None:
    listed = {name for name, _ in CORPUS_CASES} | {"not-toml.toml"}
    assert {p.name for p in CORPUS.glob("*.toml")} == listed


def test_not_toml() -> None:
    path = CORPUS / "not-toml.toml"
    with pytest.raises(DataFileError) as caught:
        load_scenarios(path)
    assert caught.value.source == str(path)
    (problem,) = caught.value.problems
    assert problem.path == ""
    assert problem.message.startswith("not valid TOML: ")
    assert "(at line 4, column 21)" in problem.message


def test_from_text_reports_bad_toml_under_its_source() -> None:
    with pytest.raises(DataFileError) as caught:
        ScenarioFile.from_text("[[cases]\n", source="draft.toml")
    assert str(caught.value).startswith("draft.toml: <root>: not valid TOML: ")


def test_check_scenarios_raises_for_a_malformed_file() -> None:
    with pytest.raises(DataFileError) as caught:
        check_scenarios([SEED, CORPUS / "bad-route.toml"])
    assert caught.value.source == str(CORPUS / "bad-route.toml")


def test_a_malformed_catalogue_names_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "catalogue.toml").write_text("[catalog]\nname = 1\n", encoding="utf-8")
    text = f'[defaults]\ncatalog = "catalogue.toml"\n[[cases]]\n{_toml_case("x")}'
    with pytest.raises(DataFileError) as caught:
        ScenarioFile.from_text(text, source="x.toml", folder=tmp_path)
    assert caught.value.source == str(tmp_path / "catalogue.toml")
    assert caught.value.problems[0] == Problem("catalog.name", "expected a string, got number 1")


# --- files next to the scenarios ---------------------------------------------------------


def test_catalogue_and_policy_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    data = importlib.resources.files("creditcommit").joinpath("data")
    (tmp_path / "catalogue.toml").write_text(
        data.joinpath("sample_catalog.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "city.toml").write_text(
        data.joinpath("policy-yangzhou.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    folder = tmp_path / "scenarios"
    folder.mkdir()
    scenario = folder / "gaoyou.toml"
    scenario.write_text(
        '[defaults]\ncatalog = "../catalogue.toml"\npolicy = "../city.toml"\n'
        f"[[cases]]\n{_toml_case('Gaoyou, grade B')}",
        encoding="utf-8",
    )
    loaded = load_scenarios(scenario)
    assert loaded.catalog == Catalog.sample()
    assert loaded.policy.sources == (
        "creditcommit/data/policy-national.toml",
        str(tmp_path / "city.toml"),
    )
    (result,) = check_scenarios(tmp_path)  # a folder stands for its scenario files
    assert result.passed, result.report()


# --- values built in Python ----------------------------------------------------------------


def test_expectation_refuses_unknown_reason_codes() -> None:
    with pytest.raises(InvalidValue) as caught:
        Expectation(route=Route.STANDARD, reasons=["credit-grade-below-treshold"], reduced=-1)
    assert caught.value.problems == (
        Problem(
            "reasons[0]",
            "unknown reason code 'credit-grade-below-treshold' (did you mean "
            "'credit-grade-below-threshold'?); the codes are listed in docs/reasons.md",
        ),
        Problem("reduced", "expected 0 or more, got -1"),
    )


def test_scenario_case_refuses_unknown_materials() -> None:
    case = one_case()
    with pytest.raises(InvalidValue) as caught:
        ScenarioCase(
            name=" ",
            file="python",
            item=case.item,
            day=case.day,
            policy=case.policy,
            applicant=case.applicant,
            credit=case.credit,
            provided=["GGCSWSXK-9"],
            expect=Expectation(route=Route.CONDITIONAL, due={"TZXMBA-01": dt.date(2025, 10, 1)}),
        )
    assert [p.path for p in caught.value.problems] == [
        "name",
        "provided[0]",
        "expect.due.TZXMBA-01",
    ]


# --- properties ----------------------------------------------------------------------------

GRADES = st.sampled_from([None, "A", "B", "C", "D", "E"])
SEVERITIES = st.sampled_from(["minor", "general", "serious"])
KINDS = st.sampled_from(
    ["dishonesty", "administrative_penalty", "commitment_breach", "false_commitment"]
)
DAYS = st.dates(dt.date(2022, 11, 1), dt.date(2026, 6, 30))


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    decided = draw(st.dates(dt.date(2020, 1, 1), dt.date(2026, 6, 30)))
    record: dict[str, Any] = {
        "kind": draw(KINDS),
        "severity": draw(SEVERITIES),
        "decided_on": decided,
    }
    if draw(st.booleans()):
        record["repaired_on"] = decided + dt.timedelta(days=draw(st.integers(0, 900)))
    return record


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid case of the sample catalogue under the sample Yangzhou policy."""
    code = draw(st.sampled_from([GAOYOU, JIANGDU]))
    day = draw(DAYS)
    item = Catalog.sample().item(code, day)
    materials = [m.code for m in item.materials]
    licence_types = sorted({m.licence_type for m in item.materials if m.licence_type})
    credit: Any = draw(
        st.one_of(
            st.sampled_from(["none", "unavailable"]),
            st.builds(
                lambda grade, recs: {"records": recs} | ({} if grade is None else {"grade": grade}),
                GRADES,
                st.lists(records(), max_size=2),
            ),
        )
    )
    case = case_data(
        item=code,
        day=day,
        credit=credit,
        provided=draw(st.lists(st.sampled_from(materials), unique=True)),
        licences=draw(st.lists(st.sampled_from(licence_types), unique=True)),
        choose_standard=draw(st.booleans()),
        expect={"route": "standard"},
    )
    level = draw(st.sampled_from([None, "county", "municipal", "national"]))
    if level is not None:
        case["project"] = {"major_level": level}
    return case


def observed(result: CaseResult) -> dict[str, Any]:
    """An ``expect`` table that says exactly what the library decided."""
    assert result.decision is not None
    assert result.plan is not None
    lines = result.plan.lines
    return {
        "route": result.decision.route.value,
        "eligible_route": result.decision.eligible_route.value,
        "reasons": list(result.decision.reason_codes),
        "reasons_include": list(result.decision.reason_codes[:1]),
        "materials": {line.code: line.disposition.value for line in lines},
        "due": {line.code: line.due for line in lines if line.due is not None},
        "reduced": result.plan.reduced,
        "acceptable": result.plan.acceptable,
    }


# The wrong values each expectation can be given, and the mismatch it must cause.
def falsify(expect: dict[str, Any], key: str) -> str:
    if key == "route":
        other = next(r for r in Route if r.value != expect["route"])
        expect["route"] = other.value
        return "route: "
    if key == "reasons":
        expect["reasons"] = [*expect["reasons"], "applicant-chose-standard"]
        return "reasons: expected ["
    if key == "materials":
        code, disposition = next(iter(expect["materials"].items()))
        other_disposition = next(d for d in Disposition if d.value != disposition)
        expect["materials"][code] = other_disposition.value
        return f"material {code}: "
    if key == "reduced":
        expect["reduced"] += 1
        return "reduced: "
    expect["acceptable"] = not expect["acceptable"]
    return "acceptable: "


@given(
    cases(), st.sets(st.sampled_from(["route", "reasons", "materials", "reduced", "acceptable"]))
)
def test_every_wrong_expectation_is_reported_and_nothing_else(
    case: dict[str, Any], wrong: set[str]
) -> None:
    first = run_case(ScenarioFile.from_dict({"cases": [case]}).cases[0])
    assert first.error is None
    expect = observed(first)
    # What the library decided, written down as the expectation, passes ...
    right = run_case(ScenarioFile.from_dict({"cases": [{**case, "expect": expect}]}).cases[0])
    assert right.passed, right.report()
    assert right.decision == first.decision
    # ... and every expectation made wrong gives one mismatch of its own.
    starts = sorted(falsify(expect, key) for key in sorted(wrong))
    result = run_case(ScenarioFile.from_dict({"cases": [{**case, "expect": expect}]}).cases[0])
    assert len(result.mismatches) == len(wrong)
    for start in starts:
        assert sum(m.startswith(start) for m in result.mismatches) == 1, result.report()
    assert result.passed is (not wrong)


def _toml_case(name: str, *, comment: str = "") -> str:
    quoted = json.dumps(name, ensure_ascii=False)
    return (
        f'item = "{GAOYOU}"\n{comment}name = {quoted}\nday = 2025-09-26\n'
        'credit = { grade = "B" }\n'
        '[cases.applicant]\nname = "高邮某酒店管理有限公司"\nid = "91321084MA1Y0000BT"\n'
        '[cases.expect]\nroute = "conditional"\n'
    )


# Names a scenario file accepts: printable text (control characters, direction overrides and
# lone surrogates are refused when files are read).
NAMES = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="\x7f"), min_size=1
).filter(lambda name: name.strip() != "" and hostile_text_problem(name) is None)


@given(st.lists(NAMES, min_size=1, max_size=5, unique=True), st.booleans())
def test_case_line_is_the_line_of_its_name(names: list[str], comments: bool) -> None:
    comment = "# [[cases]] name = 'not this one'\n" if comments else ""
    text = "".join(f"[[cases]]\n{_toml_case(name, comment=comment)}\n" for name in names)
    lines = text.splitlines()
    loaded = ScenarioFile.from_text(text, source="names.toml")
    assert [case.name for case in loaded.cases] == names
    for case in loaded.cases:
        assert case.line is not None
        assert lines[case.line - 1] == f"name = {json.dumps(case.name, ensure_ascii=False)}"
        assert run_case(case).report().startswith(f"names.toml:{case.line}: case ")


# --- refusals, jurisdictions and citations ---------------------------------------------------

BANNING_RECORD = {
    "kind": "false_application",
    "severity": "general",
    "decided_on": dt.date(2025, 3, 3),
    "item": "321084-GGCSWSXK",
}


def test_a_refusal_is_expected_with_the_day_the_ban_ends() -> None:
    credit = {"grade": "B", "records": [BANNING_RECORD]}
    right = run_case(one_case(credit=credit, expect={"refused_until": dt.date(2026, 3, 3)}))
    assert right.passed
    assert right.decision is None
    wrong_day = run_case(one_case(credit=credit, expect={"refused_until": dt.date(2026, 3, 4)}))
    (mismatch,) = wrong_day.mismatches
    assert mismatch.startswith("refused until: expected 2026-03-04, got 2026-03-03 (申请人因")
    # Expecting a route when the application is refused is a library error in the report.
    unexpected = run_case(one_case(credit=credit))
    assert unexpected.error is not None
    assert unexpected.error.startswith("ReapplicationBarred: ")
    # Expecting a refusal when the case is decided names the route.
    decided = run_case(one_case(expect={"refused_until": dt.date(2026, 3, 3)}))
    (mismatch,) = decided.mismatches
    assert mismatch.startswith(
        "refused until: expected the application refused until 2026-03-03, got route CONDITIONAL"
    )


def test_route_and_refused_until_are_exclusive() -> None:
    for expect in ({}, {"route": "standard", "refused_until": dt.date(2026, 3, 3)}):
        with pytest.raises(DataFileError) as caught:
            one_case(expect=expect)
        (problem,) = caught.value.problems
        assert problem.path == "cases[0].expect.route"
        assert problem.message.startswith("expected exactly one of route and refused_until")


def test_jurisdiction_and_citations_are_checked() -> None:
    right = one_case(
        expect={
            "route": "conditional",
            "jurisdiction": "高邮市（321084）",
            "cites": ["高协调办〔2022〕11号"],
        }
    )
    assert run_case(right).passed
    wrong = one_case(
        expect={
            "route": "conditional",
            "jurisdiction": "江都区（321012）",
            "cites": ["国家发展改革委令第36号"],
        }
    )
    first, second = run_case(wrong).mismatches
    assert first == "jurisdiction: expected the rules of 江都区（321012）, got 高邮市（321084）"
    assert second.startswith("cites: expected a reference to '国家发展改革委令第36号', got [")
