"""Tests for creditcommit.policy: loading, the malformed-file corpus, overlays, snapshots."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.catalog import Catalog
from creditcommit.credit import (
    SAMR_A_D,
    YANGZHOU_A_E,
    CreditRecord,
    CreditRecordKind,
    GradeScale,
    Severity,
)
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel, Route
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    ConflictingValues,
    DataFileError,
    InvalidValue,
    NoValueInForce,
    Problem,
)
from creditcommit.policy import (
    ALL_ITEMS,
    EXCLUDED_BY_GUOBAN_42,
    GRADE_SCALE_PRESETS,
    SETTINGS,
    BlockingRule,
    BlockLasts,
    Policy,
    PolicySnapshot,
    PublicationDeadlines,
    ReapplicationBan,
    decide,
    division_contains,
    item_place,
)
from creditcommit.supervision import InspectionRatios, SupervisionAction
from creditcommit.testing.strategies import policies

D = dt.date
CORPUS = Path(__file__).parent / "data" / "policy"
DATA = Path(__file__).parents[1] / "src" / "creditcommit" / "data"
CASE_DAY = D(2023, 1, 16)  # the Jiangdu filing of the seed case study
GUOBAN = (
    "国务院办公厅关于全面推行证明事项和涉企经营许可事项告知承诺制的指导意见（国办发〔2020〕42号）"
)
JIANGDU = "江都区工程建设项目“信用承诺制”审批实施办法（试行）"


def header(**settings: Any) -> dict[str, Any]:
    return {"policy": {"name": "测试", "version": "1"}, **settings}


# --- the bundled policies ------------------------------------------------------------------


def test_national_defaults() -> None:
    policy = Policy.national()
    assert policy.version.name == "全国默认规则"
    assert policy.version.version == "2021.1"
    assert policy.sources == ("creditcommit/data/policy-national.toml",)
    day = D(2021, 1, 1)
    assert policy.timeline("excluded_domains").at(day) == EXCLUDED_BY_GUOBAN_42
    assert policy.timeline("credit_unavailable").at(day) is Route.STANDARD
    assert policy.timeline("commitment_items").at(day) == ALL_ITEMS
    assert policy.timeline("major_project_levels").at(day) == frozenset()
    assert policy.timeline("deferred_grace_working_days").at(day) == 15
    assert policy.timeline("statement_window_working_days").at(day) == 5
    assert policy.timeline("publication_working_days").at(day) == PublicationDeadlines(7, 20, 3)
    art_78, art_79 = policy.timeline("reapplication_ban_months").at(day)
    assert art_78 == ReapplicationBan(
        CreditRecordKind.FALSE_APPLICATION,
        12,
        {"public-safety", "personal-health-life-property"},
        reference=LegalReference("中华人民共和国行政许可法", "第七十八条"),
    )
    assert art_79 == ReapplicationBan(
        CreditRecordKind.FALSE_COMMITMENT,
        36,
        {"public-safety", "personal-health-life-property"},
        reference=LegalReference("中华人民共和国行政许可法", "第七十九条"),
    )
    # 42号's section numbers could not be checked: it is cited without a section.
    entry = policy.timeline("excluded_domains").entry_at(day)
    assert entry.reference == LegalReference(GUOBAN)
    rules = policy.timeline("revocation_rules").at(day)
    assert rules.rectification_working_days == 10
    assert rules.public_interest_exception
    assert rules.false_commitment.action is SupervisionAction.PROPOSE_REVOCATION
    assert policy.timeline("inspection_ratios").at(day) == InspectionRatios(0.03)
    # A serious commitment breach bars the commitment route; the record of a revocation
    # is general by default (撤销 is not 吊销, which Order No. 36 lists as serious).
    kinds = {(r.kind, r.min_severity) for r in policy.timeline("blocking_records").at(day)}
    assert (CreditRecordKind.COMMITMENT_BREACH, Severity.SERIOUS) in kinds
    assert rules.unfulfilled.record_severity is Severity.GENERAL
    assert rules.deferred_overdue.record_severity is Severity.GENERAL


def test_national_sets_no_grade_scale() -> None:
    with pytest.raises(NoValueInForce, match="no value of 'grade_scale' is in force") as caught:
        Policy.national().at(CASE_DAY)
    assert caught.value.name == "grade_scale"
    assert len(Policy.national().timeline("grade_scale")) == 0


def test_nothing_in_force_before_the_defaults() -> None:
    with pytest.raises(NoValueInForce) as caught:
        Policy.sample().at(D(2020, 12, 31))
    assert (caught.value.name, caught.value.day) == ("grade_scale", D(2020, 12, 31))


def test_sample_snapshot_on_the_case_day() -> None:
    # Without a place: the city's rules (扬州市, the widest place the sample files name).
    snap = Policy.sample().at(CASE_DAY)
    assert snap.jurisdiction == "扬州市（321000）"
    assert snap.grade_scale is YANGZHOU_A_E
    assert snap.conditional_threshold == YANGZHOU_A_E.grade("B")
    # Jiangdu's major-project rule is not the city's.
    assert snap.major_project_levels == frozenset()
    assert snap.commitment_items == frozenset({"321012-TZXMBA", "321084-GGCSWSXK"})
    assert snap.credit_unavailable is Route.STANDARD
    # From the national defaults, which the sample does not override.
    assert snap.excluded_domains == EXCLUDED_BY_GUOBAN_42
    assert snap.deferred_grace_working_days == 15
    assert (snap.valid_from, snap.valid_until) == (D(2022, 11, 1), None)
    assert snap.covers(CASE_DAY)
    assert not snap.covers(D(2022, 10, 31))
    assert snap.references["excluded_domains"] is not None
    assert GUOBAN in snap.references["excluded_domains"].instrument
    assert snap.rank("B") == 1
    assert snap.rank("b") == 1
    assert snap.rank("Z") is None


def test_jiangdu_construction_items_take_jiangdu_rule() -> None:
    catalog = Catalog.sample()
    filing = catalog.item("321012-TZXMBA", CASE_DAY)
    snap = Policy.sample().at(CASE_DAY, item=filing)
    assert snap.jurisdiction == "江都区（321012）"
    assert snap.major_project_levels == {
        ProjectLevel.MUNICIPAL,
        ProjectLevel.PROVINCIAL,
        ProjectLevel.NATIONAL,
    }
    assert snap.references["conditional_threshold"] == LegalReference(
        JIANGDU, "B级及以上且无违法失信记录的，有条件适用"
    )
    # Another Jiangdu item (not a construction project) falls back to the city's rules.
    other = attrs.evolve(filing, code="321012-QTSX", domains=frozenset({"other"}))
    assert Policy.sample().at(CASE_DAY, item=other).jurisdiction == "扬州市（321000）"
    assert Policy.sample().at(CASE_DAY, item=other).major_project_levels == frozenset()
    # A construction item elsewhere in the city does not take Jiangdu's rule either.
    elsewhere = attrs.evolve(
        filing, code="321002-GCJS", domains=frozenset({"construction-projects"})
    )
    assert Policy.sample().at(CASE_DAY, item=elsewhere).jurisdiction == "扬州市（321000）"


def test_gaoyou_items_take_gaoyou_rule() -> None:
    hygiene = Catalog.sample().item("321084-GGCSWSXK", CASE_DAY)
    snap = Policy.sample().at(CASE_DAY, item=hygiene)
    assert snap.jurisdiction == "高邮市（321084）"
    assert snap.major_project_levels == frozenset()
    gaoyou = snap.references["credit_unavailable"]
    assert gaoyou is not None
    assert "高协调办〔2022〕11号" in gaoyou.instrument
    # The city's grade scale and threshold still apply (Gaoyou sets none of its own).
    assert snap.conditional_threshold == YANGZHOU_A_E.grade("B")
    assert Policy.sample().at(CASE_DAY, place="321084") == snap


def test_division_codes_nest() -> None:
    assert division_contains("320000", "321084")
    assert division_contains("321000", "321012")
    assert not division_contains("321000", "320100")
    assert not division_contains("321012", "321084")
    assert division_contains("321084", "321084")


def test_sample_version_names_every_file() -> None:
    version = Policy.sample().version
    assert version.name == (
        "全国默认规则 + 扬州市“信用+承诺”审批分级（示例） + 江都区工程建设项目“信用承诺制”（示例）"
        " + 高邮市“信用+承诺”审批分级（示例）"
    )
    assert version.version == "2021.1 + 2022.11-sample + 2022.11-sample + 2022.11-sample"
    assert len(version.digest) == 64
    assert version.digest != Policy.national().version.digest


def test_sample_catalogue_domains_are_not_excluded() -> None:
    # The sample catalogue's tags must not be caught by the 42号 exclusions by accident.
    snap = Policy.sample().at(CASE_DAY)
    for item in Catalog.sample().items(CASE_DAY):
        assert snap.excluded(item) == frozenset(), item.code
        assert snap.on_commitment_list(item)


def test_exclusion_tags_are_the_seven_of_guoban_42() -> None:
    assert sorted(EXCLUDED_BY_GUOBAN_42) == [
        "ecological-environment",
        "financial-prudential",
        "foreign-affairs",
        "national-security",
        "personal-health-life-property",
        "public-safety",
        "state-secrets",
    ]


def test_presets() -> None:
    assert set(GRADE_SCALE_PRESETS) == {"yangzhou-a-e", "samr-a-d", "gbt-22116"}
    policy = Policy.from_dict(header(grade_scale=[{"from": D(2022, 1, 1), "value": "samr-a-d"}]))
    assert policy.timeline("grade_scale").at(D(2022, 1, 1)) is SAMR_A_D


def test_custom_scale_table() -> None:
    table = {"name": "city-a-c", "grades": ["A", "B", "C"], "labels": {"A": "好"}}
    policy = Policy.from_dict(
        header(
            grade_scale=[{"from": D(2022, 1, 1), "value": table}],
            conditional_threshold=[{"from": D(2022, 1, 1), "value": "b"}],
        )
    )
    scale = policy.timeline("grade_scale").at(D(2022, 1, 1))
    assert scale == GradeScale("city-a-c", ("A", "B", "C"), {"A": "好"})


def test_bundled_files_load_from_disk_with_the_same_digest() -> None:
    assert Policy.from_toml(DATA / "policy-national.toml") == Policy.national()
    loaded = Policy.load(
        DATA / "policy-yangzhou.toml", DATA / "policy-jiangdu.toml", DATA / "policy-gaoyou.toml"
    )
    assert loaded == Policy.sample()
    assert loaded.version.digest == Policy.sample().version.digest
    assert Policy.sample() is Policy.sample()  # loaded once


def test_digest_ignores_source_and_formatting_but_not_content() -> None:
    data = tomllib.loads((DATA / "policy-yangzhou.toml").read_text(encoding="utf-8"))
    reordered = dict(reversed(list(data.items())))
    same = Policy.from_dict(reordered, source="elsewhere.toml")
    city = Policy.from_toml(DATA / "policy-yangzhou.toml")
    assert same.version == city.version
    data["conditional_threshold"][0]["value"] = "A"
    changed = Policy.from_dict(data)
    assert changed.version.digest != city.version.digest


def test_unknown_setting_name() -> None:
    with pytest.raises(InvalidValue, match="not a setting"):
        Policy.sample().timeline("grace_days")


def test_settings_are_documented() -> None:
    text = (Path(__file__).parents[1] / "docs" / "policy.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting}`" in text, setting


# --- the malformed-file corpus -------------------------------------------------------------

CORPUS_CASES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "cites_not_yet_in_force.toml",
        [
            (
                "blocking_records[0].reference",
                "cites 《信用修复管理办法》, in force only from 2026-04-01, but applies from "
                "2025-01-01",
            )
        ],
    ),
    (
        "cites_repealed.toml",
        [
            (
                "deferred_grace_working_days[0].reference",
                "cites 《失信行为纠正后的信用信息修复管理办法（试行）》, repealed on 2026-04-01, "
                "but applies without an end; end the entry by 2026-04-01",
            )
        ],
    ),
    (
        "own_instrument_not_in_force.toml",
        [
            (
                "blocking_records[0].value[1].reference",
                "cites 《某区信用承诺审批办法（示例）》, in force only from 2024-07-01, but "
                "applies from 2024-01-01",
            )
        ],
    ),
    (
        "place_not_a_division.toml",
        [
            (
                "policy.place",
                "expected a six-digit administrative division code (e.g. '321084'), got '江都区'",
            )
        ],
    ),
    (
        "scope_without_place.toml",
        [("policy", "items and domains limit a place's rules: give the place too")],
    ),
    ("missing_header.toml", [("policy", "required key is missing")]),
    ("blank_header_name.toml", [("policy.name", "must not be empty")]),
    (
        "unknown_setting.toml",
        [
            (
                "",
                "unknown key 'conditional_treshold' (allowed: policy, grade_scale, "
                "major_project_levels, major_project_credit, conditional_threshold, "
                "blocking_records, reapplication_ban_months, credit_unavailable, "
                "credit_evidence_max_age_days, commitment_items, "
                "excluded_domains, deferred_grace_working_days, statement_window_working_days, "
                "publication_working_days, revocation_rules, inspection_ratios, instruments, "
                "record_kinds)",
            )
        ],
    ),
    ("setting_not_array.toml", [("conditional_threshold", "expected an array, got string 'B'")]),
    (
        "entry_not_table.toml",
        [
            (
                "conditional_threshold[0]",
                "expected a table { from = ..., value = ... }, got string 'B'",
            )
        ],
    ),
    (
        "unknown_entry_key.toml",
        [
            (
                "conditional_threshold[0]",
                "unknown key 'since' (allowed: from, until, value, reference)",
            ),
            ("conditional_threshold[0].from", "required key is missing"),
        ],
    ),
    ("missing_value.toml", [("conditional_threshold[0].value", "required key is missing")]),
    (
        "wrong_type.toml",
        [("deferred_grace_working_days[0].value", "expected an integer, got string '15'")],
    ),
    (
        "wrong_date.toml",
        [
            (
                "deferred_grace_working_days[0].from",
                "expected a date (YYYY-MM-DD), got string 'October 2022'",
            )
        ],
    ),
    (
        "until_before_from.toml",
        [
            (
                "deferred_grace_working_days[0].until",
                "until 2022-01-01 must be after from 2022-10-01 "
                "(until is the first day the value no longer holds)",
            )
        ],
    ),
    (
        "overlapping_entries.toml",
        [
            (
                "deferred_grace_working_days[1]",
                "overlaps deferred_grace_working_days[0]: both are in force on 2023-01-01",
            )
        ],
    ),
    (
        "duplicate_start.toml",
        [
            (
                "deferred_grace_working_days[1]",
                "overlaps deferred_grace_working_days[0]: both are in force on 2022-10-01",
            )
        ],
    ),
    (
        "reference_not_table.toml",
        [
            (
                "deferred_grace_working_days[0].reference",
                "expected a table, got string '国办发〔2020〕42号'",
            )
        ],
    ),
    (
        "blank_reference.toml",
        [("deferred_grace_working_days[0].reference.instrument", "must not be empty")],
    ),
    (
        "unknown_preset.toml",
        [
            (
                "grade_scale[0].value",
                "unknown grade-scale preset 'yangzhou-a-f' (presets: 'gbt-22116', "
                "'samr-a-d', 'yangzhou-a-e'); or give a table with name and grades",
            )
        ],
    ),
    (
        "scale_wrong_type.toml",
        [
            (
                "grade_scale[0].value",
                "expected a preset name ('gbt-22116', 'samr-a-d', 'yangzhou-a-e') or a table "
                "with name and grades, got number 5",
            )
        ],
    ),
    (
        "scale_duplicate_grade.toml",
        [("grade_scale[0].value.grades[2]", "duplicate grade 'b' (same as grades[1])")],
    ),
    (
        "bad_threshold_grade.toml",
        [
            (
                "conditional_threshold[0].value",
                "grade 'F' is not on the 'yangzhou-a-e' scale in force on 2022-10-01 "
                "(grades: A, B, C, D, E)",
            )
        ],
    ),
    (
        "credit_unavailable_conditional.toml",
        [
            (
                "credit_unavailable[0].value",
                "a policy may only choose 'standard' here: without usable credit evidence the "
                "decision fails closed and never grants a commitment route, got 'conditional'",
            )
        ],
    ),
    (
        "credit_unavailable_unknown.toml",
        [("credit_unavailable[0].value", "expected 'standard', got string 'ask-again'")],
    ),
    (
        "unknown_record_kind.toml",
        [
            (
                "blocking_records[0].value[2].kind",
                "expected one of 'dishonesty', 'serious_dishonesty_list', "
                "'administrative_penalty', 'commitment_breach', 'false_commitment', "
                "'false_application', got string 'blacklist' (a city-specific kind must be "
                "declared under [record_kinds] in the policy)",
            )
        ],
    ),
    (
        "missing_floor_rule.toml",
        [
            (
                "blocking_records[0].value",
                "must keep the rule { kind = 'serious_dishonesty_list', min_severity = 'minor' }"
                ": 国办发〔2020〕42号 bars such applicants while active (fail closed)",
            )
        ],
    ),
    (
        "floor_rule_weakened.toml",
        [
            (
                "blocking_records[0].value",
                "must keep the rule { kind = 'false_commitment', min_severity = 'minor', "
                "lasts = 'until-repaired' }: 国办发〔2020〕42号 bars such applicants until "
                "repaired (fail closed)",
            )
        ],
    ),
    (
        "unknown_project_level.toml",
        [
            (
                "major_project_levels[0].value[1]",
                "expected one of 'county', 'municipal', 'provincial', 'national', "
                "got string 'city'",
            )
        ],
    ),
    (
        "levels_not_array.toml",
        [("major_project_levels[0].value", "expected an array, got string 'municipal'")],
    ),
    (
        "ban_months_zero.toml",
        [("reapplication_ban_months[0].value[0].months", "expected at least 1 month, got 0")],
    ),
    (
        "commitment_items_string.toml",
        [
            (
                "commitment_items[0].value",
                "expected 'all' or an array of item codes, got string 'some'",
            )
        ],
    ),
    ("blank_domain.toml", [("excluded_domains[0].value[1]", "must not be empty")]),
    (
        "days_zero.toml",
        [("statement_window_working_days[0].value", "expected at least 1 working day, got 0")],
    ),
    (
        "publication_missing_key.toml",
        [("publication_working_days[0].value.enterprise_information", "required key is missing")],
    ),
    (
        "revocation_close_for_adverse.toml",
        [
            (
                "revocation_rules[0].value.unfulfilled.action",
                "an adverse outcome leads to 'rectify' or 'propose-revocation' (only a "
                "fulfilled commitment closes the case), got 'close'",
            )
        ],
    ),
    (
        "revocation_false_commitment_kind.toml",
        [
            (
                "revocation_rules[0].value.false_commitment.record_kind",
                "a false commitment is recorded as 'false_commitment', so that it bars the "
                "commitment route until credit repair (国办发〔2020〕42号), got 'dishonesty'",
            )
        ],
    ),
    (
        "major_project_credit_unknown.toml",
        [
            (
                "major_project_credit[0].value",
                "expected one of 'no-query', 'blocking-records', got string 'sometimes'",
            )
        ],
    ),
    (
        "credit_evidence_max_age_negative.toml",
        [
            (
                "credit_evidence_max_age_days[0].value",
                "expected 0 (the decision day only) or more days, got -1",
            )
        ],
    ),
    (
        "revocation_false_commitment_rectify.toml",
        [
            (
                "revocation_rules[0].value.false_commitment.action",
                "a false commitment leads to 'propose-revocation': a licence obtained by a false "
                "commitment shall be revoked (《中华人民共和国行政许可法》第六十九条第二款), "
                "got 'rectify'",
            )
        ],
    ),
    (
        "revocation_days_zero.toml",
        [
            (
                "revocation_rules[0].value.rectification_working_days",
                "expected at least 1 working day, got 0",
            )
        ],
    ),
    (
        "revocation_missing_outcome.toml",
        [("revocation_rules[0].value.deferred_overdue", "required key is missing")],
    ),
    (
        "revocation_unknown_action.toml",
        [
            (
                "revocation_rules[0].value.public_interest_exception",
                "expected true or false, got string 'yes'",
            ),
            (
                "revocation_rules[0].value.deferred_overdue.action",
                "expected one of 'close', 'rectify', 'propose-revocation', got string 'warn'",
            ),
        ],
    ),
    (
        "ratios_out_of_range.toml",
        [
            ("inspection_ratios[0].value.default", "expected a ratio from 0 to 1, got 5"),
            ("inspection_ratios[0].value.grades.A", "expected a ratio from 0 to 1, got -0.1"),
        ],
    ),
    (
        "ratios_missing_default.toml",
        [("inspection_ratios[0].value.default", "required key is missing")],
    ),
    (
        "ratios_grade_not_on_scale.toml",
        [
            (
                "inspection_ratios[0].value.grades.E",
                "grade 'E' is not on the 'samr-a-d' scale in force on 2023-01-01 "
                "(grades: A, B, C, D)",
            )
        ],
    ),
    (
        "ratios_not_monotone.toml",
        [
            (
                "inspection_ratios[0].value.grades.B",
                "0.02 for grade B is below 0.05 for the better grade A on the 'samr-a-d' scale "
                "in force on 2023-01-01: a riskier grade is never sampled less "
                "(国市监信发〔2022〕6号)",
            )
        ],
    ),
    (
        "several_problems.toml",
        [
            ("conditional_threshold[0].value", "expected a string, got number 2"),
            (
                "credit_unavailable[0].value",
                "a policy may only choose 'standard' here: without usable credit evidence the "
                "decision fails closed and never grants a commitment route, got 'direct'",
            ),
            ("deferred_grace_working_days[0].value", "expected at least 1 working day, got -1"),
            (
                "deferred_grace_working_days[0].until",
                "until 2022-10-01 must be after from 2022-10-01 "
                "(until is the first day the value no longer holds)",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_malformed_file(name: str, expected: list[tuple[str, str]]) -> None:
    path = CORPUS / name
    with pytest.raises(DataFileError) as caught:
        Policy.from_toml(path)
    assert caught.value.source == str(path)
    assert [(p.path, p.message) for p in caught.value.problems] == expected


def test_not_toml() -> None:
    path = CORPUS / "not_toml.toml"
    with pytest.raises(DataFileError) as caught:
        Policy.from_toml(path)
    assert caught.value.source == str(path)
    (problem,) = caught.value.problems
    assert problem.path == ""
    assert problem.message.startswith("not valid TOML: ")


def test_the_corpus_is_covered() -> None:
    tested = {name for name, _ in CORPUS_CASES} | {"not_toml.toml"}
    valid = {p.name for p in CORPUS.glob("ok_*.toml")} | {"cross_threshold_not_on_scale.toml"}
    assert {p.name for p in CORPUS.glob("*.toml")} == tested | valid
    for name in valid:
        Policy.from_toml(CORPUS / name)  # each valid on its own


def test_from_dict_reports_its_source() -> None:
    with pytest.raises(DataFileError) as caught:
        Policy.from_dict(header(statement_window_working_days=[{"from": 5, "value": 5}]))
    assert caught.value.source == "<dict>"
    assert caught.value.problems == (
        Problem(
            "statement_window_working_days[0].from", "expected a date (YYYY-MM-DD), got number 5"
        ),
    )


# --- overlays ------------------------------------------------------------------------------


def test_city_value_replaces_the_default_from_its_date() -> None:
    policy = Policy.load(CORPUS / "ok_municipal.toml")
    grace = policy.timeline("deferred_grace_working_days")
    assert (grace.at(D(2022, 12, 31)), grace.at(D(2023, 1, 1))) == (15, 10)
    assert grace.entry_at(D(2023, 1, 1)).reference == LegalReference("某市容缺受理办法")
    assert "容缺" in str(grace.entry_at(D(2022, 1, 1)).reference)  # the national reference


def test_default_resumes_after_an_overlay_ends() -> None:
    policy = Policy.load(CORPUS / "ok_pilot_with_end.toml")
    grace = policy.timeline("deferred_grace_working_days")
    assert [grace.at(d) for d in (D(2022, 12, 31), D(2023, 1, 1), D(2024, 1, 1))] == [15, 5, 15]
    assert grace.gaps(D(2021, 1, 1), D(2030, 1, 1)) == ()


def test_two_overlays_setting_the_same_day_conflict() -> None:
    with pytest.raises(ConflictingValues) as caught:
        Policy.load(CORPUS / "ok_municipal.toml", CORPUS / "ok_district_conflict.toml")
    assert caught.value.name == "deferred_grace_working_days"
    assert caught.value.day == D(2023, 6, 1)
    assert str(caught.value) == (
        "two values of 'deferred_grace_working_days' are in force on 2023-06-01: the overlays "
        f"'某市' ({CORPUS / 'ok_municipal.toml'}) and '某区' "
        f"({CORPUS / 'ok_district_conflict.toml'}) both set it for the same place; an overlay "
        "replaces only the rules of a wider place (or the defaults), never another overlay of "
        "its own place"
    )


def test_overlays_of_different_settings_compose_in_any_order() -> None:
    municipal = Policy.from_toml(CORPUS / "ok_municipal.toml")
    district = Policy.from_toml(CORPUS / "ok_district.toml")
    one = Policy.national().overlay(municipal, district)
    other = Policy.national().overlay(district).overlay(municipal)
    assert one == other
    assert one.version.digest == other.version.digest
    snap = Policy.sample().overlay(municipal, district).at(D(2023, 6, 1))
    assert (snap.deferred_grace_working_days, snap.statement_window_working_days) == (10, 7)
    assert one.changes() == (D(2021, 1, 1), D(2023, 1, 1), D(2023, 6, 1))


def test_overlay_keeps_one_copy_of_shared_defaults() -> None:
    city = Policy.load(CORPUS / "ok_municipal.toml")
    district = Policy.load(CORPUS / "ok_district.toml")
    both = city.overlay(district)
    assert both.sources == (
        "creditcommit/data/policy-national.toml",
        str(CORPUS / "ok_municipal.toml"),
        str(CORPUS / "ok_district.toml"),
    )
    assert both.overlay(city) == both
    assert both.overlay(city).sources == both.sources


def test_threshold_checked_against_a_scale_from_another_file() -> None:
    with pytest.raises(DataFileError) as caught:
        Policy.load(CORPUS / "ok_scale_only.toml", CORPUS / "cross_threshold_not_on_scale.toml")
    assert caught.value.source == str(CORPUS / "cross_threshold_not_on_scale.toml")
    assert caught.value.problems == (
        Problem(
            "conditional_threshold[0].value",
            "grade 'E' is not on the 'samr-a-d' scale in force on 2022-10-01 (grades: A, B, C, D)",
        ),
    )


def test_inspection_ratios_checked_against_a_scale_from_another_file() -> None:
    ratios = Policy.from_dict(
        header(
            inspection_ratios=[
                {"from": D(2023, 1, 1), "value": {"default": 0.05, "grades": {"E": 1.0}}}
            ]
        ),
        source="ratios.toml",
    )
    with pytest.raises(DataFileError) as caught:
        Policy.load(CORPUS / "ok_scale_only.toml").overlay(ratios)
    assert caught.value.source == "ratios.toml"
    assert caught.value.problems == (
        Problem(
            "inspection_ratios[0].value.grades.E",
            "grade 'E' is not on the 'samr-a-d' scale in force on 2023-01-01 (grades: A, B, C, D)",
        ),
    )


def test_overlay_of_a_sample_with_the_same_setting_conflicts() -> None:
    city = Policy.from_dict(
        header(
            policy={"name": "另一扬州文件", "version": "1", "place": "321000"},
            conditional_threshold=[{"from": D(2024, 1, 1), "value": "A"}],
        )
    )
    with pytest.raises(ConflictingValues) as caught:
        Policy.sample().overlay(city)
    assert (caught.value.name, caught.value.day) == ("conditional_threshold", D(2024, 1, 1))


def test_a_place_overlay_replaces_an_overlay_without_place() -> None:
    anywhere = Policy.from_dict(
        header(conditional_threshold=[{"from": D(2024, 1, 1), "value": "A"}])
    )
    snap = Policy.sample().overlay(anywhere).at(D(2024, 6, 1))
    assert snap.conditional_threshold.code == "B"  # Yangzhou's (321000) is more specific


def test_overlay_conflict_within_one_district_is_found_at_load() -> None:
    # Two files for Gaoyou setting the same day: found although the city view has neither.
    again = Policy.from_dict(
        header(
            policy={"name": "高邮另一文件", "version": "1", "place": "321084"},
            major_project_levels=[{"from": D(2024, 1, 1), "value": ["national"]}],
        )
    )
    with pytest.raises(ConflictingValues) as caught:
        Policy.sample().overlay(again)
    assert (caught.value.name, caught.value.day) == ("major_project_levels", D(2024, 1, 1))


@given(
    start=st.dates(min_value=D(2021, 1, 2), max_value=D(2030, 1, 1)),
    days=st.integers(1, 30),
    probe=st.dates(min_value=D(2021, 1, 1), max_value=D(2031, 1, 1)),
)
def test_overlay_replaces_the_default_exactly_on_its_days(
    start: dt.date, days: int, probe: dt.date
) -> None:
    end = start + dt.timedelta(days=400)
    city = Policy.from_dict(
        header(deferred_grace_working_days=[{"from": start, "until": end, "value": days}])
    )
    policy = Policy.national().overlay(city)
    expected = days if start <= probe < end else 15
    assert policy.timeline("deferred_grace_working_days").at(probe) == expected


# --- snapshots -----------------------------------------------------------------------------


def test_snapshots_are_shared_between_days_without_changes() -> None:
    policy = Policy.load(CORPUS / "ok_municipal.toml", DATA / "policy-yangzhou.toml")
    first = policy.at(D(2023, 1, 1))
    assert policy.at(D(2025, 5, 5)) is first
    assert (first.valid_from, first.valid_until) == (D(2023, 1, 1), None)
    before = policy.at(D(2022, 12, 31))
    assert before is not first
    assert (before.valid_from, before.valid_until) == (D(2022, 11, 1), D(2023, 1, 1))


def test_snapshot_rejects_a_threshold_of_another_scale() -> None:
    snap = Policy.sample().at(CASE_DAY)
    with pytest.raises(InvalidValue, match="expected a grade of the 'yangzhou-a-e' scale"):
        PolicySnapshot(
            **{
                **{a: getattr(snap, a) for a in SETTINGS},
                "version": snap.version,
                "valid_from": snap.valid_from,
                "valid_until": snap.valid_until,
                "conditional_threshold": SAMR_A_D.grade("B"),
                "references": snap.references,
            }
        )


@given(policies())
def test_every_drawn_policy_has_a_snapshot_on_every_day(policy: Policy) -> None:
    for setting in SETTINGS:
        assert policy.timeline(setting).gaps(D(2022, 1, 1), D(2028, 1, 1)) == (), setting
    snap = policy.at(D(2024, 2, 29))
    assert snap.conditional_threshold.scale == snap.grade_scale.name


# --- rule values ---------------------------------------------------------------------------

RECORD = CreditRecord.with_default_periods(
    record_id="F-1",
    subject="91321084MA1W0000BM",
    kind=CreditRecordKind.FALSE_COMMITMENT,
    severity=Severity.GENERAL,
    decided_on=D(2023, 3, 1),
)


def test_blocking_rule_while_active_ends_with_publicity() -> None:
    rule = BlockingRule(CreditRecordKind.FALSE_COMMITMENT, Severity.MINOR)
    assert not rule.blocks(RECORD, D(2023, 2, 28))
    assert rule.blocks(RECORD, D(2023, 3, 1))
    assert rule.blocks(RECORD, D(2024, 2, 29))
    assert not rule.blocks(RECORD, RECORD.publicity_ends_on)


def test_blocking_rule_until_repaired_outlasts_publicity() -> None:
    rule = BlockingRule(
        CreditRecordKind.FALSE_COMMITMENT, Severity.MINOR, BlockLasts.UNTIL_REPAIRED
    )
    assert rule.blocks(RECORD, RECORD.publicity_ends_on + dt.timedelta(days=999))
    repaired = attrs.evolve(RECORD, repaired_on=D(2023, 9, 1))
    assert rule.blocks(repaired, D(2023, 8, 31))
    assert not rule.blocks(repaired, D(2023, 9, 1))


def test_blocking_rule_minimum_severity_and_kind() -> None:
    rule = BlockingRule(CreditRecordKind.FALSE_COMMITMENT, Severity.SERIOUS)
    assert not rule.matches(RECORD)
    assert BlockingRule(CreditRecordKind.FALSE_COMMITMENT, Severity.GENERAL).matches(RECORD)
    assert not BlockingRule(CreditRecordKind.DISHONESTY, Severity.MINOR).matches(RECORD)


def test_reapplication_ban_covers_the_same_item_only() -> None:
    ban = ReapplicationBan(CreditRecordKind.FALSE_COMMITMENT, 36, {"public-safety"})
    record = attrs.evolve(RECORD, item_code="321084-X")
    assert ban.ends_on(record) == D(2026, 3, 1)
    assert ban.bans(record, "321084-X", frozenset({"public-safety", "x"}), D(2026, 2, 28))
    assert not ban.bans(record, "321084-X", frozenset({"public-safety"}), D(2026, 3, 1))
    assert not ban.bans(record, "321084-X", frozenset({"transport"}), D(2024, 1, 1))
    # Another item of the same domain stays open.
    assert not ban.bans(record, "321084-Y", frozenset({"public-safety"}), D(2024, 1, 1))
    # A record about no item bans nothing.
    assert not ban.bans(RECORD, "321084-X", frozenset({"public-safety"}), D(2024, 1, 1))
    everywhere = ReapplicationBan(CreditRecordKind.FALSE_COMMITMENT, 12)
    assert everywhere.bans(record, "321084-X", frozenset(), D(2024, 2, 29))


def test_rule_values_check_their_invariants() -> None:
    with pytest.raises(InvalidValue, match=r"invalid ReapplicationBan: months: expected at least"):
        ReapplicationBan(CreditRecordKind.FALSE_COMMITMENT, 0)
    with pytest.raises(InvalidValue, match=r"withdrawal: expected at least 1 working day, got 0"):
        PublicationDeadlines(7, 20, 0)


# --- places ----------------------------------------------------------------------------------


def test_two_files_for_one_place_conflict_and_name_both() -> None:
    with pytest.raises(ConflictingValues) as caught:
        Policy.load(
            CORPUS / "ok_place_yangzhou.toml",
            CORPUS / "ok_place_gaoyou_a.toml",
            CORPUS / "ok_place_gaoyou_b.toml",
        )
    assert (caught.value.name, caught.value.day) == ("deferred_grace_working_days", D(2024, 6, 1))
    assert "ok_place_gaoyou_a.toml" in str(caught.value)
    assert "ok_place_gaoyou_b.toml" in str(caught.value)
    assert "for the same place" in str(caught.value)


def test_a_district_replaces_its_city_and_the_city_the_defaults() -> None:
    policy = Policy.load(CORPUS / "ok_place_yangzhou.toml", CORPUS / "ok_place_gaoyou_a.toml")
    day = D(2024, 3, 1)
    grace = {
        place: policy.view(place=place).timeline("deferred_grace_working_days").at(day)
        for place in ("321084", "321012", "321000")
    }
    assert grace == {"321084": 10, "321012": 12, "321000": 12}
    # Without a place: the widest place the files name, the city.
    assert policy.timeline("deferred_grace_working_days").at(day) == 12
    gaoyou = policy.view(place="321084").timeline("deferred_grace_working_days")
    assert gaoyou.at(D(2023, 12, 31)) == 15
    # A place outside the city falls back to the national defaults.
    assert policy.view(place="320100").jurisdiction is None
    assert policy.scopes == ("everywhere", "扬州市（321000）", "高邮市（321084）")


def test_item_place_is_the_code_prefix() -> None:
    item = Catalog.sample().item("321084-GGCSWSXK", CASE_DAY)
    assert item_place(item) == "321084"
    assert item_place(attrs.evolve(item, code="GGCSWSXK")) is None
    assert item_place(attrs.evolve(item, code="32108-GGCSWSXK")) is None


PLACES = st.sampled_from(["320000", "321000", "321012", "321084", "320100", "320102"])


@given(PLACES, PLACES, PLACES)
def test_division_containment_is_a_partial_order(a: str, b: str, c: str) -> None:
    assert division_contains(a, a)
    if division_contains(a, b) and division_contains(b, a):
        assert a == b
    if division_contains(a, b) and division_contains(b, c):
        assert division_contains(a, c)


@given(
    place=PLACES,
    city_days=st.integers(1, 30),
    district_days=st.integers(1, 30),
    probe=st.dates(min_value=D(2021, 1, 1), max_value=D(2026, 12, 31)),
)
def test_the_narrowest_place_with_a_value_decides(
    place: str, city_days: int, district_days: int, probe: dt.date
) -> None:
    def file(code: str, days: int) -> Policy:
        return Policy.from_dict(
            header(
                policy={"name": code, "version": "1", "place": code},
                deferred_grace_working_days=[{"from": D(2024, 1, 1), "value": days}],
            ),
            source=f"{code}.toml",
        )

    policy = Policy.national().overlay(file("321000", city_days), file("321084", district_days))
    found = policy.view(place=place).timeline("deferred_grace_working_days").at(probe)
    if probe < D(2024, 1, 1) or not division_contains("321000", place):
        expected = 15
    elif division_contains("321084", place):
        expected = district_days
    else:
        expected = city_days
    assert found == expected


def test_a_district_file_alone_decides_its_own_items() -> None:
    # Loaded without its city: the policy's own place (江都区) has no grade scale of its
    # own for other items, but Jiangdu's construction items are complete.
    policy = Policy.load(DATA / "policy-jiangdu.toml")
    filing = Catalog.sample().item("321012-TZXMBA", CASE_DAY)
    decision = decide(
        item=filing,
        applicant=Applicant("91321012MA1W0000A9", "扬州某新材料科技有限公司"),
        evidence=None,
        policy=policy,
        on=CASE_DAY,
        project=ProjectFacts(ProjectLevel.MUNICIPAL),
    )
    assert (decision.route, decision.jurisdiction) == (Route.DIRECT, "江都区（321012）")
    permit = Catalog.sample().item("321084-GGCSWSXK", CASE_DAY)
    with pytest.raises(NoValueInForce, match="grade_scale"):
        decide(
            item=permit,
            applicant=Applicant("91321012MA1W0000A9", "扬州某新材料科技有限公司"),
            evidence=None,
            policy=policy,
            on=CASE_DAY,
        )
