"""City-specific credit-record kinds (地方信用记录类别), issue 10 item 5: declared in the
policy with labels and legal basis; usable in blocking rules, bans, scenario files, CSV
imports and strategies; records keep one string kind, so stored records stay readable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.builtin import FileCreditSource
from creditcommit.catalog import Catalog
from creditcommit.credit import (
    CITY_KIND_PATTERN,
    CityRecordKind,
    CreditEvidence,
    CreditRecord,
    CreditRecordKind,
    Severity,
    kind_code,
    record_kind,
    record_kind_problem,
)
from creditcommit.decision import Applicant, Route
from creditcommit.effective import LegalReference
from creditcommit.errors import DataFileError, InvalidValue
from creditcommit.policy import BlockingRule, Policy, decide
from creditcommit.testing import strategies as ccst
from creditcommit.testing.scenarios import load_scenarios

DATA = Path(__file__).parent / "data" / "city_kinds"
POLICY_FILE = DATA / "policy-wage-arrears.toml"
SCENARIOS = Path(__file__).parent / "scenarios" / "wage-arrears.toml"
DAY = dt.date(2025, 9, 26)
CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CST)
FIRM = Applicant("91321084MA1Y0000D1", "高邮某建筑劳务有限公司")
BASIS = LegalReference("《保障农民工工资支付条例》（国务院令第724号）", "第四十八条")
HEADER = "subject,grade,record_id,kind,severity,decided_on"


def wage_record(severity: Severity = Severity.GENERAL, **changes: Any) -> CreditRecord:
    fields: dict[str, Any] = {
        "record_id": "QX-1",
        "subject": FIRM.identifier,
        "kind": "wage_arrears",
        "severity": severity,
        "decided_on": dt.date(2025, 4, 1),
    }
    return CreditRecord.with_default_periods(**(fields | changes))


def policy_data(*, declare: bool = True, kind: str = "wage_arrears") -> dict[str, Any]:
    data: dict[str, Any] = {
        "policy": {"name": "test", "version": "1"},
        "grade_scale": [{"from": dt.date(2024, 1, 1), "value": "yangzhou-a-e"}],
        "conditional_threshold": [{"from": dt.date(2024, 1, 1), "value": "B"}],
        "blocking_records": [
            {
                "from": dt.date(2024, 1, 1),
                "value": [
                    {"kind": "serious_dishonesty_list", "min_severity": "minor"},
                    {
                        "kind": "false_commitment",
                        "min_severity": "minor",
                        "lasts": "until-repaired",
                    },
                    {"kind": kind, "min_severity": "general"},
                ],
            }
        ],
    }
    if declare:
        data["record_kinds"] = {
            "wage_arrears": {
                "zh": "拖欠农民工工资",
                "en": "wage arrears",
                "legal_basis": {"instrument": BASIS.instrument, "article": BASIS.article},
            }
        }
    return data


# --------------------------------------------------------------------------- records


def test_a_record_keeps_a_city_kind_as_its_code() -> None:
    record = wage_record()
    assert record.kind == "wage_arrears"
    assert record.to_dict()["kind"] == "wage_arrears"
    assert CreditRecord.from_dict(record.to_dict()) == record


def test_a_national_code_is_always_the_enum() -> None:
    record = wage_record(kind="false_commitment")
    assert record.kind is CreditRecordKind.FALSE_COMMITMENT
    assert record_kind("dishonesty") is CreditRecordKind.DISHONESTY
    assert kind_code(CreditRecordKind.DISHONESTY) == "dishonesty"


@pytest.mark.parametrize("code", ["Wage", "wage arrears", "", "欠薪", "1wage"])
def test_a_malformed_kind_is_refused(code: str) -> None:
    with pytest.raises(InvalidValue, match="kind: expected one of 'dishonesty'"):
        wage_record(kind=code)


def test_evidence_with_a_city_kind_survives_its_digest() -> None:
    evidence = CreditEvidence.create(
        subject=FIRM.identifier,
        source="test",
        retrieved_at=AT,
        scale="yangzhou-a-e",
        grade="B",
        records=[wage_record()],
    )
    again = CreditEvidence.from_dict(evidence.to_dict())
    assert again == evidence
    assert again.verify()


@pytest.mark.parametrize(
    ("code", "zh", "message"),
    [
        ("dishonesty", "欠薪", "'dishonesty' is a national kind"),
        ("Wage", "欠薪", "expected lower-case letters, digits and _"),
        ("wage_arrears", "", "expected a non-empty Chinese label"),
        ("wage_arrears", "拖欠 工资", "expected Chinese text without spaces"),
    ],
)
def test_a_city_kind_declaration_is_checked(code: str, zh: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        CityRecordKind(code, zh, "wage arrears", BASIS)


# --------------------------------------------------------------------------- policy


def test_the_policy_declares_its_kinds() -> None:
    policy = Policy.load(POLICY_FILE)
    assert dict(policy.record_kinds) == {
        "wage_arrears": CityRecordKind("wage_arrears", "拖欠农民工工资", "wage arrears", BASIS)
    }
    snap = policy.at(DAY)
    assert snap.kind_labels("wage_arrears") == ("拖欠农民工工资", "wage arrears")
    assert snap.kind_labels(CreditRecordKind.DISHONESTY) == (
        "违法失信信息",
        "illegal or dishonest conduct",
    )
    rules = snap.blocking_rules(wage_record(), DAY)
    assert [rule.kind for rule in rules] == ["wage_arrears"]
    assert snap.blocking_rules(wage_record(Severity.MINOR), DAY) == ()


def test_a_city_kind_blocks_with_its_labels_and_legal_basis() -> None:
    item = Catalog.sample().item("321084-GGCSWSXK", DAY)
    evidence = CreditEvidence.create(
        subject=FIRM.identifier,
        source="test",
        retrieved_at=AT,
        scale="yangzhou-a-e",
        grade="B",
        records=[wage_record()],
    )
    decision = decide(
        item=item, applicant=FIRM, evidence=evidence, policy=Policy.load(POLICY_FILE), on=DAY
    )
    assert decision.eligible_route is Route.STANDARD
    assert decision.reason_codes == ("blocking-record",)
    reason = decision.reasons[0]
    assert "申请人存在拖欠农民工工资记录QX-1" in reason.zh
    assert "(wage arrears, general" in reason.en
    assert BASIS in reason.references


def test_an_undeclared_kind_in_a_blocking_rule_names_the_entry() -> None:
    with pytest.raises(DataFileError) as raised:
        Policy.from_dict(policy_data(declare=False), source="city.toml")
    assert [(p.path, p.message) for p in raised.value.problems] == [
        (
            "blocking_records[0].value[2].kind",
            "expected one of 'dishonesty', 'serious_dishonesty_list', 'administrative_penalty', "
            "'commitment_breach', 'false_commitment', 'false_application', got string "
            "'wage_arrears' (a "
            "city-specific kind must be declared under [record_kinds] in the policy)",
        )
    ]


def test_a_misspelt_kind_lists_the_declared_ones() -> None:
    with pytest.raises(
        DataFileError,
        match=r"or a city kind the policy declares \('wage_arrears'\), got string 'wage_arears'",
    ):
        Policy.from_dict(policy_data(kind="wage_arears"), source="city.toml")


def test_a_bad_declaration_names_its_path() -> None:
    data = policy_data()
    data["record_kinds"]["wage_arrears"]["zh"] = ""
    data["record_kinds"]["Bad"] = {"zh": "坏", "en": "bad", "legal_basis": {"instrument": "x"}}
    with pytest.raises(DataFileError) as raised:
        Policy.from_dict(data, source="city.toml")
    assert [p.path for p in raised.value.problems] == [
        "record_kinds.wage_arrears.zh",
        "record_kinds.Bad",
    ]


def test_a_district_overlay_declaring_the_same_kind_may_use_it() -> None:
    city = Policy.from_dict(policy_data(), source="city.toml")
    district_data: dict[str, Any] = {
        "policy": {"name": "district", "version": "1"},
        "record_kinds": policy_data()["record_kinds"],
        "reapplication_ban_months": [
            {"from": dt.date(2025, 1, 1), "value": [{"kind": "wage_arrears", "months": 12}]}
        ],
    }
    district = Policy.from_dict(district_data, source="district.toml")
    combined = Policy.national().overlay(city, district)
    assert list(combined.record_kinds) == ["wage_arrears"]
    item = Catalog.sample().item("321084-GGCSWSXK", DAY)
    # A ban covers the same item (行政许可法 Arts 78-79): the record names it.
    record = wage_record(item_code=item.code)
    assert [ban.months for ban in combined.at(DAY).bans(record, item, DAY)] == [12]
    del district_data["record_kinds"]
    with pytest.raises(DataFileError, match="must be declared under"):
        Policy.from_dict(district_data, source="district.toml")


def test_the_same_kind_declared_differently_is_refused() -> None:
    city = Policy.from_dict(policy_data(), source="city.toml")
    other = policy_data()
    other["record_kinds"]["wage_arrears"]["en"] = "unpaid wages"
    with pytest.raises(DataFileError, match=r"record_kinds\.wage_arrears: declared differently"):
        city.overlay(Policy.from_dict(other, source="district.toml"))


def test_declaring_nothing_keeps_the_digest() -> None:
    data = policy_data(kind="dishonesty", declare=False)
    declared = policy_data(kind="dishonesty")
    plain = Policy.from_dict(data, source="a.toml").version.digest
    assert Policy.from_dict(data, source="b.toml").version.digest == plain
    assert Policy.from_dict(declared, source="a.toml").version.digest != plain


# --------------------------------------------------------------------------- files


def test_a_csv_import_accepts_a_declared_kind(tmp_path: Path) -> None:
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(
        f"{HEADER}\n{FIRM.identifier},B,QX-1,wage_arrears,general,2025-04-01\n", encoding="utf-8"
    )
    source = FileCreditSource(tmp_path / "credit.db")
    policy = Policy.load(POLICY_FILE)
    with pytest.raises(DataFileError, match=r"line\[2\]\.kind: expected one of 'dishonesty'"):
        source.import_csv(csv_file, city="321084")
    source.import_csv(csv_file, city="321084", record_kinds=policy.record_kinds)
    records = source.read(FIRM.identifier, city="321084", at=AT).records
    assert records == (wage_record(),)


def test_the_scenario_file_runs() -> None:
    scenarios = load_scenarios(SCENARIOS)
    assert [case.name for case in scenarios.cases] == [
        "Wage arrears record bars the commitment route",
        "A minor wage arrears record does not bar the route",
    ]


# --------------------------------------------------------------------------- strategies


@given(ccst.credit_records(kinds=["wage_arrears"], subject=FIRM.identifier))
def test_strategies_draw_city_kinds(record: CreditRecord) -> None:
    assert record.kind == "wage_arrears"
    assert CreditRecord.from_dict(record.to_dict()) == record


@given(st.data())
def test_a_blocking_record_of_a_city_kind_is_drawn(data: st.DataObject) -> None:
    policy = Policy.load(POLICY_FILE)
    snap = policy.at(DAY)
    wage_rule = BlockingRule("wage_arrears", Severity.GENERAL)
    evidence = data.draw(ccst.credit_evidence(policy=snap, on=DAY, with_blocking_record=True))
    blockers = [r for r in evidence.records if snap.blocking_rules(r, DAY)]
    assert blockers
    assert all(r.kind in {rule.kind for rule in snap.blocking_records} for r in blockers)
    assert wage_rule.kind in {rule.kind for rule in snap.blocking_records}


# --------------------------------------------------------------------------- command line


def test_the_cli_decides_with_a_declared_kind() -> None:
    import io

    from creditcommit.cli import main

    args = [
        "decide",
        "--item",
        "321084-GGCSWSXK",
        "--on",
        "2025-09-26",
        "--id",
        FIRM.identifier,
        "--grade",
        "B",
        "--record",
        "wage_arrears:general:2025-04-01",
        "--policy",
        str(POLICY_FILE),
        "--lang",
        "en",
    ]
    out = io.StringIO()
    assert main(args, out) == 0
    assert "wage arrears" in out.getvalue()
    refused = io.StringIO()
    assert main([*args[:-4], "--lang", "en"], refused) != 0


# --------------------------------------------------------------------------- laws

CODES = st.from_regex(CITY_KIND_PATTERN, fullmatch=True)
KINDS = st.sampled_from(list(CreditRecordKind)) | CODES


@given(KINDS)
def test_a_kind_is_read_back_from_its_code(kind: CreditRecordKind | str) -> None:
    assert record_kind(kind_code(record_kind(kind))) == record_kind(kind)
    assert record_kind_problem(kind_code(record_kind(kind))) is None


@given(KINDS, st.frozensets(CODES, max_size=3))
def test_a_kind_is_accepted_iff_national_or_declared(
    kind: CreditRecordKind | str, declared: frozenset[str]
) -> None:
    code = kind_code(record_kind(kind))
    accepted = record_kind_problem(code, declared) is None
    assert accepted is (isinstance(record_kind(code), CreditRecordKind) or code in declared)


def test_a_snapshot_with_city_kinds_goes_to_worker_processes() -> None:
    import pickle

    snap = Policy.load(POLICY_FILE).at(DAY)
    again = pickle.loads(pickle.dumps(snap))
    assert dict(again.record_kinds) == dict(snap.record_kinds)
    assert again.blocking_rules(wage_record(), DAY) == snap.blocking_rules(wage_record(), DAY)
