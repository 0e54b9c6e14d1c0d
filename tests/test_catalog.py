"""Tests for creditcommit.catalog: the sample, the malformed-file corpus, versions, digests."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcommit.catalog import (
    ApprovalItem,
    Catalog,
    CatalogSummary,
    CommitmentMode,
    ItemKind,
    Material,
    MaterialKind,
    Verification,
    VerificationMethod,
)
from creditcommit.effective import LegalReference
from creditcommit.errors import (
    ConflictingValues,
    DataFileError,
    NoValueInForce,
    Problem,
    UnknownCatalog,
    UnknownItem,
    UnknownMaterial,
)

D = dt.date
CORPUS = Path(__file__).parent / "data" / "catalog"
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"
CASE_DAY = D(2023, 1, 16)  # the Jiangdu filing of the seed case study


# --- the sample ----------------------------------------------------------------------------


def test_sample_summary() -> None:
    summary = Catalog.sample().summary(CASE_DAY)
    assert summary == CatalogSummary(
        catalog="扬州市“信用+承诺”审批事项清单（示例）",
        version="2023.1-sample",
        on=CASE_DAY,
        departments=2,
        items=2,
        materials=11,
        required=1,
        deferrable=3,
        waivable=3,
        licence=4,
    )


def test_sample_jiangdu_filing() -> None:
    item = Catalog.sample().item(JIANGDU, CASE_DAY)
    assert item.name == "企业投资项目备案"
    assert item.commitment_mode is CommitmentMode.NOTIFY_AND_COMMIT
    assert item.on_the_spot
    assert [m.name for m in item.materials] == [
        "项目备案基本信息",
        "项目符合产业政策声明",
        "统一社会信用代码证",
        "营业执照",
    ]
    assert [m.code for m in item.materials_of(MaterialKind.WAIVABLE)] == [
        "TZXMBA-01",
        "TZXMBA-02",
    ]
    assert item.materials_of(MaterialKind.REQUIRED) == ()
    assert item.material("TZXMBA-04").licence_type == "business-licence"
    assert item.legal_basis[0] == LegalReference("企业投资项目核准和备案管理条例", "第十三条")
    assert item.verification == Verification(VerificationMethod.ONLINE, 20)


def test_sample_gaoyou_health_permit() -> None:
    item = Catalog.sample().item(GAOYOU, CASE_DAY)
    assert (item.statutory_days, item.promised_days, item.on_the_spot) == (20, 5, True)
    assert item.domains == frozenset({"public-places-hygiene"})
    assert item.verification.method is VerificationMethod.ON_SITE
    assert {m.defer_days for m in item.materials_of(MaterialKind.DEFERRABLE)} == {5}
    assert item.material("GGCSWSXK-01").kind is MaterialKind.REQUIRED


def test_sample_lookups() -> None:
    catalog = Catalog.sample()
    assert catalog.codes() == (JIANGDU, GAOYOU)
    # Counted under the competent department (主管部门), not the approval bureau.
    assert catalog.departments(CASE_DAY) == ("扬州市江都区发展和改革委员会", "高邮市卫生健康委员会")
    assert catalog.departments(CASE_DAY, division="321084") == ("高邮市卫生健康委员会",)
    assert catalog.divisions(CASE_DAY) == ("321012", "321084")
    assert [i.code for i in catalog.items(CASE_DAY)] == [JIANGDU, GAOYOU]
    assert catalog.items(D(2022, 1, 1)) == ()
    assert Catalog.sample() is catalog  # loaded once
    assert len(catalog.digest) == 64
    assert int(catalog.digest, 16) >= 0


def test_unknown_material() -> None:
    item = Catalog.sample().item(GAOYOU, CASE_DAY)
    with pytest.raises(
        UnknownMaterial, match="approval item '321084-GGCSWSXK' has no material 'X-1'"
    ):
        item.material("X-1")


def test_format_is_chinese_then_english() -> None:
    text = Catalog.sample().format(CASE_DAY)
    chinese, english = text.splitlines()
    assert "2个部门2项审批事项、11项申报材料，其中可容缺材料3项" in chinese
    assert "可通过电子证照调取的材料4项" in chinese
    assert "；清单可减免材料7项。" in chinese
    assert " " not in chinese.split("）：", 1)[1]  # no spaces inside the Chinese text
    assert "2 departments, 2 approval items, 11 materials, of which 3 deferrable" in english
    assert "; 7 on the list need not be handed in." in english
    assert str(Catalog.sample().summary(CASE_DAY)) == text


# --- the malformed-file corpus -------------------------------------------------------------

CORPUS_CASES: list[tuple[str, list[tuple[str, str]]]] = [
    ("wrong_type.toml", [("items[0].statutory_days", "expected an integer, got string '20'")]),
    (
        "unknown_key.toml",
        [
            ("items[0].promised_days", "required key is missing"),
            (
                "items[0]",
                "unknown key 'promise_days' (allowed: code, name, name_en, department, "
                "legal_basis, statutory_days, promised_days, commitment_mode, on_the_spot, "
                "verification, domains, valid_from, valid_until, kind, division, "
                "competent_department, correction_basis, note, materials)",
            ),
        ],
    ),
    (
        "bad_enum.toml",
        [
            (
                "items[0].materials[0].kind",
                "expected one of 'required', 'deferrable', 'waivable', 'licence', "
                "got string 'optional'",
            )
        ],
    ),
    ("missing_key.toml", [("items[0].department", "required key is missing")]),
    ("missing_catalog.toml", [("catalog", "required key is missing")]),
    (
        "array_as_string.toml",
        [("items[0].domains", "expected an array, got string 'public-places-hygiene'")],
    ),
    ("blank_department.toml", [("items[0].department", "must not be empty")]),
    ("blank_instrument.toml", [("items[0].legal_basis[0].instrument", "must not be empty")]),
    (
        "empty_legal_basis.toml",
        [("items[0].legal_basis", "an approval item needs at least one legal basis")],
    ),
    (
        "statutory_zero.toml",
        [("items[0].statutory_days", "expected at least 1 working day, got 0")],
    ),
    (
        "promised_negative.toml",
        [("items[0].promised_days", "expected 0 (即审即办) or more working days, got -1")],
    ),
    (
        "promised_exceeds_statutory.toml",
        [
            (
                "items[0].promised_days",
                "the promised time limit (承诺时限) of 25 working days exceeds the statutory "
                "limit (法定时限) of 20",
            )
        ],
    ),
    (
        "valid_until_not_after_from.toml",
        [("items[0].valid_until", "valid_until 2022-12-31 must be after valid_from 2023-01-01")],
    ),
    (
        "verification_deadline_missing.toml",
        [
            (
                "items[0].verification.deadline_days",
                "verification method 'on-site' needs deadline_days "
                "(working days after the licence is issued)",
            )
        ],
    ),
    (
        "verification_deadline_zero.toml",
        [("items[0].verification.deadline_days", "expected at least 1 working day, got 0")],
    ),
    (
        "verification_deadline_exempt.toml",
        [("items[0].verification.deadline_days", "an exempt verification takes no deadline_days")],
    ),
    ("no_materials.toml", [("items[0].materials", "an approval item needs at least one material")]),
    (
        "duplicate_material_code.toml",
        [("items[0].materials[1].code", "duplicate material code 'M1' (also materials[0])")],
    ),
    (
        "defer_days_missing.toml",
        [
            (
                "items[0].materials[1].defer_days",
                "a deferrable material needs defer_days "
                "(the working days within which it may follow)",
            )
        ],
    ),
    (
        "defer_days_zero.toml",
        [("items[0].materials[1].defer_days", "expected at least 1 working day, got 0")],
    ),
    (
        "defer_days_not_deferrable.toml",
        [
            (
                "items[0].materials[1].defer_days",
                "defer_days is only for deferrable materials, not 'required'",
            )
        ],
    ),
    (
        "defer_days_exceeds_promised.toml",
        [
            (
                "items[0].materials[1].defer_days",
                "defer_days 10 exceeds the item's promised time limit of 5 working days "
                "(a deferred material is due within the promised limit)",
            )
        ],
    ),
    (
        "licence_type_missing.toml",
        [
            (
                "items[0].materials[1].licence_type",
                "a licence material needs licence_type "
                "(the e-licence type to retrieve, e.g. 'business-licence')",
            )
        ],
    ),
    (
        "licence_type_not_licence.toml",
        [
            (
                "items[0].materials[1].licence_type",
                "licence_type is only for licence materials, not 'waivable'",
            )
        ],
    ),
    (
        "waivable_without_notify.toml",
        [
            (
                "items[0].materials[1].kind",
                "a waivable material needs commitment_mode 'notify-and-commit', "
                "but the item's mode is 'deferred-only'",
            )
        ],
    ),
    (
        "deferrable_mode_none.toml",
        [
            (
                "items[0].materials[1].kind",
                "a deferrable material needs commitment_mode 'notify-and-commit' or "
                "'deferred-only', but the item's mode is 'none'",
            )
        ],
    ),
    (
        "duplicate_version.toml",
        [
            (
                "items[1]",
                "overlaps another version of item 'GGCS' (items[0]): "
                "both are in force on 2023-06-01",
            )
        ],
    ),
    (
        "several_problems.toml",
        [
            (
                "items[0].promised_days",
                "the promised time limit (承诺时限) of 25 working days exceeds the statutory "
                "limit (法定时限) of 20",
            ),
            (
                "items[0].verification.deadline_days",
                "an exempt verification takes no deadline_days",
            ),
            (
                "items[0].materials[1].defer_days",
                "a deferrable material needs defer_days "
                "(the working days within which it may follow)",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_malformed_file(name: str, expected: list[tuple[str, str]]) -> None:
    path = CORPUS / name
    with pytest.raises(DataFileError) as info:
        Catalog.from_toml(path)
    assert info.value.source == str(path)
    assert [(p.path, p.message) for p in info.value.problems] == expected


def test_corpus_is_complete() -> None:
    listed = {name for name, _ in CORPUS_CASES} | {"not_toml.toml"}
    on_disk = {p.name for p in CORPUS.glob("*.toml") if not p.name.startswith("ok_")}
    assert listed == on_disk


def test_not_toml() -> None:
    path = CORPUS / "not_toml.toml"
    with pytest.raises(DataFileError) as info:
        Catalog.from_toml(path)
    assert info.value.source == str(path)
    (problem,) = info.value.problems
    assert problem.path == ""
    assert problem.message.startswith("not valid TOML: Invalid value (at line 8")


def test_missing_file() -> None:
    with pytest.raises(DataFileError, match="cannot read file"):
        Catalog.from_toml(CORPUS / "does-not-exist.toml")


def test_an_item_without_required_material_is_fine() -> None:
    catalog = Catalog.from_toml(CORPUS / "ok_no_required_material.toml")
    item = catalog.item("GGCS", D(2023, 1, 1))
    assert item.materials_of(MaterialKind.REQUIRED) == ()


def test_from_dict_names_its_source_and_rejects_a_table_for_an_array() -> None:
    data = _minimal()
    data["items"][0]["legal_basis"] = {"instrument": "公共场所卫生管理条例"}
    with pytest.raises(DataFileError) as info:
        Catalog.from_dict(data)
    assert info.value.source == "<dict>"
    assert info.value.problems == (
        Problem("items[0].legal_basis", "expected an array, got a table"),
    )


def test_from_dict_rejects_a_non_table() -> None:
    with pytest.raises(DataFileError) as info:
        Catalog.from_dict(["not", "a", "table"], source="api")
    assert str(info.value) == "api: <root>: expected a table, got an array"


def test_blank_catalog_header() -> None:
    data = _minimal()
    data["catalog"] = {"name": "", "version": " "}
    with pytest.raises(DataFileError) as info:
        Catalog.from_dict(data)
    assert [p.path for p in info.value.problems] == ["catalog.name", "catalog.version"]


# --- versions ------------------------------------------------------------------------------


def test_versions_pick_the_one_in_force() -> None:
    catalog = Catalog.from_toml(CORPUS / "ok_two_versions.toml")
    assert catalog.item("GGCS", D(2023, 1, 1)).promised_days == 5
    assert catalog.item("GGCS", D(2023, 5, 31)).promised_days == 5
    assert catalog.item("GGCS", D(2023, 6, 1)).promised_days == 3
    assert catalog.timeline("GGCS").changes() == (D(2023, 1, 1), D(2023, 6, 1))
    assert catalog.codes() == ("GGCS",)


def test_before_the_first_version_no_item_is_in_force() -> None:
    catalog = Catalog.from_toml(CORPUS / "ok_two_versions.toml")
    with pytest.raises(
        NoValueInForce, match="no value of 'approval item GGCS' is in force on 2022-12-31"
    ):
        catalog.item("GGCS", D(2022, 12, 31))


def test_a_withdrawn_item_leaves_a_gap() -> None:
    data = _minimal()
    first = data["items"][0]
    first["valid_until"] = D(2023, 3, 1)
    later = {key: value for key, value in first.items() if key != "valid_until"}
    data["items"].append({**later, "valid_from": D(2023, 9, 1)})
    catalog = Catalog.from_dict(data)
    assert catalog.item("GGCS", D(2023, 2, 28)).valid_until == D(2023, 3, 1)
    with pytest.raises(NoValueInForce):
        catalog.item("GGCS", D(2023, 3, 1))
    assert catalog.items(D(2023, 5, 1)) == ()
    assert catalog.item("GGCS", D(2023, 9, 1)).valid_from == D(2023, 9, 1)


def test_unknown_item() -> None:
    with pytest.raises(UnknownItem, match="approval item 'NOPE' is not in the catalogue") as info:
        Catalog.sample().item("NOPE", CASE_DAY)
    assert info.value.code == "NOPE"


def test_catalog_built_in_python_needs_a_name() -> None:
    with pytest.raises(ValueError, match="version must not be empty"):
        Catalog("清单", "", [])


def test_catalog_built_in_python_rejects_overlapping_versions() -> None:
    item = Catalog.sample().item(GAOYOU, CASE_DAY)
    with pytest.raises(ConflictingValues) as info:
        Catalog("x", "1", [item, item])
    assert info.value.day == item.valid_from


# --- digest --------------------------------------------------------------------------------


def test_digest_is_stable_for_the_same_content() -> None:
    path = CORPUS / "ok_two_versions.toml"
    first = Catalog.from_toml(path)
    assert Catalog.from_toml(path).digest == first.digest
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["items"].reverse()  # order of versions in the file is not content
    data["items"][0] = dict(reversed(list(data["items"][0].items())))
    assert Catalog.from_dict(data).digest == first.digest


def test_digest_changes_with_the_content() -> None:
    path = CORPUS / "ok_two_versions.toml"
    base = Catalog.from_toml(path).digest
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["items"][1]["promised_days"] = 4
    assert Catalog.from_dict(data).digest != base
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["catalog"]["version"] = "2"
    assert Catalog.from_dict(data).digest != base
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["items"][0]["materials"][0]["note"] = "新增说明"
    assert Catalog.from_dict(data).digest != base


# --- domain invariants ---------------------------------------------------------------------


def test_domain_classes_check_the_same_rules() -> None:
    with pytest.raises(ValueError, match=r"invalid material 'M2': defer_days: a deferrable"):
        Material("M2", "平面图", MaterialKind.DEFERRABLE)
    with pytest.raises(ValueError, match=r"invalid verification: deadline_days: an exempt"):
        Verification(VerificationMethod.EXEMPT, 5)
    item = Catalog.sample().item(GAOYOU, CASE_DAY)
    with pytest.raises(
        ValueError, match=r"invalid approval item '321084-GGCSWSXK': promised_days: the promised"
    ):
        ApprovalItem(
            item.code,
            item.name,
            item.department,
            item.legal_basis,
            item.statutory_days,
            item.statutory_days + 1,
            item.commitment_mode,
            item.verification,
            item.materials,
            item.valid_from,
        )


def test_summary_counts_must_add_up() -> None:
    with pytest.raises(ValueError, match="the counts per kind add up to 3, not to 4 materials"):
        CatalogSummary("c", "1", CASE_DAY, 1, 1, 4, 1, 1, 1, 0)


def test_summary_with_the_jiangdu_figures() -> None:
    """The seed: 7 departments, 20 items, 101 materials of which 38 deferrable."""
    departments = [
        "住建局",
        "自然资源和规划局",
        "工信局",
        "发改委",
        "生态环境局",
        "应急管理局",
        "消防救援大队",
    ]
    kinds = (
        [MaterialKind.DEFERRABLE] * 38
        + [MaterialKind.LICENCE] * 20
        + [MaterialKind.WAIVABLE] * 13
        + [MaterialKind.REQUIRED] * 30
    )
    items = []
    for i in range(20):
        share = kinds[i::20]  # 101 materials dealt out over 20 items
        items.append(
            ApprovalItem(
                f"JD-{i:02d}",
                f"审批事项{i}",
                departments[i % 7],
                [LegalReference("江都区工程建设项目“信用承诺制”审批实施办法（试行）")],
                20,
                10,
                CommitmentMode.NOTIFY_AND_COMMIT,
                Verification(VerificationMethod.WRITTEN, 20),
                [
                    Material(
                        f"M{j}",
                        f"材料{j}",
                        kind,
                        defer_days=5 if kind is MaterialKind.DEFERRABLE else None,
                        licence_type="business-licence" if kind is MaterialKind.LICENCE else None,
                    )
                    for j, kind in enumerate(share)
                ],
                D(2022, 10, 1),
            )
        )
    summary = Catalog("江都区“信用承诺制”审批事项清单（第一批）", "1", items).summary(CASE_DAY)
    assert (summary.departments, summary.items, summary.materials, summary.deferrable) == (
        7,
        20,
        101,
        38,
    )
    assert "7个部门20项审批事项、101项申报材料，其中可容缺材料38项" in summary.format()
    assert "7 departments, 20 approval items, 101 materials, of which 38 deferrable" in str(summary)


# --- properties ----------------------------------------------------------------------------


def _minimal() -> dict[str, Any]:
    return {
        "catalog": {"name": "测试清单", "version": "1"},
        "items": [
            {
                "code": "GGCS",
                "name": "公共场所卫生许可证核发",
                "department": "行政审批局",
                "legal_basis": [{"instrument": "公共场所卫生管理条例", "article": "第八条"}],
                "statutory_days": 20,
                "promised_days": 5,
                "commitment_mode": "notify-and-commit",
                "verification": {"method": "on-site", "deadline_days": 20},
                "valid_from": D(2023, 1, 1),
                "materials": [{"code": "M1", "name": "卫生许可证申请表", "kind": "required"}],
            }
        ],
    }


MODES = ["none", "notify-and-commit", "deferred-only"]
METHODS = ["written", "online", "on-site", "public-notice", "exempt"]
DEPARTMENTS = ["行政审批局", "卫生健康委员会", "住房和城乡建设局", "自然资源和规划局"]


@st.composite
def material_dicts(draw: st.DrawFn, index: int, mode: str, promised: int) -> dict[str, Any]:
    kinds = ["required", "licence"]
    if mode != "none" and promised >= 1:
        kinds.append("deferrable")
    if mode == "notify-and-commit":
        kinds.append("waivable")
    kind = draw(st.sampled_from(kinds))
    material: dict[str, Any] = {"code": f"M{index}", "name": f"材料{index}", "kind": kind}
    if kind == "deferrable":
        material["defer_days"] = draw(st.integers(1, promised))
    if kind == "licence":
        material["licence_type"] = draw(st.sampled_from(["business-licence", "id-card"]))
    return material


@st.composite
def item_dicts(draw: st.DrawFn, code: str, valid_from: dt.date) -> dict[str, Any]:
    statutory = draw(st.integers(1, 60))
    promised = draw(st.integers(0, statutory))
    mode = draw(st.sampled_from(MODES))
    method = draw(st.sampled_from(METHODS))
    verification: dict[str, Any] = {"method": method}
    if method != "exempt":
        verification["deadline_days"] = draw(st.integers(1, 90))
    count = draw(st.integers(1, 5))
    return {
        "code": code,
        "name": f"事项{code}",
        "department": draw(st.sampled_from(DEPARTMENTS)),
        "legal_basis": [{"instrument": "中华人民共和国行政许可法", "article": "第四十二条"}],
        "statutory_days": statutory,
        "promised_days": promised,
        "commitment_mode": mode,
        "on_the_spot": draw(st.booleans()),
        "verification": verification,
        "domains": draw(st.lists(st.sampled_from(["public-safety", "investment-projects"]))),
        "valid_from": valid_from,
        "materials": [draw(material_dicts(j, mode, promised)) for j in range(count)],
        **draw(later_fields()),
    }


@st.composite
def later_fields(draw: st.DrawFn) -> dict[str, Any]:
    """The optional fields added with the filing and the large catalogue, some or none."""
    found: dict[str, Any] = {}
    if draw(st.booleans()):
        found["kind"] = draw(st.sampled_from(["licence", "filing", "other"]))
    if draw(st.booleans()):
        found["division"] = draw(st.sampled_from(["321000", "321012", "321084"]))
    if draw(st.booleans()):
        found["competent_department"] = draw(st.sampled_from(DEPARTMENTS))
    if draw(st.booleans()):
        found["note"] = "示例"
    return found


@st.composite
def catalog_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """Valid catalogues: a few codes, each with one to three non-overlapping versions."""
    items = []
    for code in range(draw(st.integers(0, 5))):
        offsets = sorted(draw(st.sets(st.integers(0, 700), min_size=1, max_size=3)))
        for k, offset in enumerate(offsets):
            item = draw(item_dicts(f"C{code}", D(2022, 1, 1) + dt.timedelta(offset)))
            following = offsets[k + 1] if k + 1 < len(offsets) else 800
            if draw(st.booleans()):
                until = draw(st.integers(offset + 1, following))
                item["valid_until"] = D(2022, 1, 1) + dt.timedelta(until)
            items.append(item)
    return {"catalog": {"name": "生成清单", "version": "g"}, "items": draw(st.permutations(items))}


def naive_in_force(data: dict[str, Any], on: dt.date) -> list[dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for item in data["items"]:
        if item["valid_from"] <= on and (
            chosen.get(item["code"]) is None
            or chosen[item["code"]]["valid_from"] < item["valid_from"]
        ):
            chosen[item["code"]] = item
    return [
        item
        for item in chosen.values()
        if item.get("valid_until") is None or on < item["valid_until"]
    ]


@settings(max_examples=100)  # each example is a whole catalogue: more only repeats
@given(catalog_dicts(), st.integers(-30, 830))
def test_generated_catalogues_load_and_count_like_a_naive_count(
    data: dict[str, Any], offset: int
) -> None:
    on = D(2022, 1, 1) + dt.timedelta(offset)
    summary = Catalog.from_dict(data).summary(on)
    in_force = naive_in_force(data, on)
    kinds = [m["kind"] for item in in_force for m in item["materials"]]
    assert summary.items == len(in_force)
    owners = {item.get("competent_department", item["department"]) for item in in_force}
    assert summary.departments == len(owners)
    assert summary.materials == len(kinds)
    assert summary.required == kinds.count("required")
    assert summary.deferrable == kinds.count("deferrable")
    assert summary.waivable == kinds.count("waivable")
    assert summary.licence == kinds.count("licence")


@settings(max_examples=100)  # each example is a whole catalogue: more only repeats
@given(catalog_dicts(), st.data())
def test_promised_beyond_statutory_is_reported_at_its_path(
    data: dict[str, Any], pick: st.DataObject
) -> None:
    if not data["items"]:
        data = _minimal()
    index = pick.draw(st.integers(0, len(data["items"]) - 1))
    item = data["items"][index]
    item["promised_days"] = item["statutory_days"] + pick.draw(st.integers(1, 30))
    with pytest.raises(DataFileError) as info:
        Catalog.from_dict(data, source="generated.toml")
    assert info.value.source == "generated.toml"
    paths = [p.path for p in info.value.problems]
    assert f"items[{index}].promised_days" in paths


def test_catalog_round_trips_through_the_converter() -> None:
    catalog = Catalog.sample()
    again = Catalog.from_dict(catalog.to_dict())
    assert again == catalog
    assert again.digest == catalog.digest
    assert again.to_dict() == catalog.to_dict()


@settings(max_examples=100)  # each example is a whole catalogue: more only repeats
@given(catalog_dicts())
def test_generated_catalogues_round_trip(data: dict[str, Any]) -> None:
    catalog = Catalog.from_dict(data)
    assert Catalog.from_dict(catalog.to_dict()) == catalog


def test_items_carry_their_catalogue_version() -> None:
    catalog = Catalog.sample()
    for item in catalog.item_versions:
        assert item.catalog == catalog.rule_version
    assert catalog.rule_version.digest == catalog.digest


# --- the representative Yangzhou catalogue (the seed's figures) ----------------------------

YANGZHOU = Catalog.yangzhou()
JIANGDU_DIVISION = "321012"
GAOYOU_DIVISION = "321084"

# Per department on the case day: (department, items, materials, required, deferrable,
# waivable, licence). Pinned so that an edit of the file that changes a figure is seen.
JIANGDU_DEPARTMENTS = [
    ("扬州市江都区交通运输局", 3, 21, 5, 10, 5, 1),
    ("扬州市江都区人民防空办公室", 2, 9, 4, 3, 1, 1),
    ("扬州市江都区住房和城乡建设局", 7, 57, 15, 24, 7, 11),
    ("扬州市江都区公安局", 2, 14, 4, 6, 3, 1),
    ("扬州市江都区卫生健康委员会", 2, 13, 5, 6, 1, 1),
    ("扬州市江都区发展和改革委员会", 3, 18, 4, 6, 6, 2),
    ("扬州市江都区商务局", 1, 3, 1, 1, 0, 1),
    ("扬州市江都区城市管理局", 2, 12, 3, 2, 4, 3),
    ("扬州市江都区工业和信息化局", 1, 3, 0, 0, 2, 1),
    ("扬州市江都区市场监督管理局", 2, 10, 4, 4, 2, 0),
    ("扬州市江都区文化广电和旅游局", 2, 10, 3, 1, 5, 1),
    ("扬州市江都区水利局", 3, 16, 7, 6, 3, 0),
    ("扬州市江都区消防救援大队", 1, 7, 2, 1, 3, 1),
    ("扬州市江都区生态环境局", 4, 21, 6, 9, 6, 0),
    ("扬州市江都区自然资源和规划局", 5, 33, 12, 14, 2, 5),
]
GAOYOU_DEPARTMENTS = [
    ("高邮市交通运输局", 3, 14, 4, 0, 7, 3),
    ("高邮市住房和城乡建设局", 1, 6, 1, 1, 2, 2),
    ("高邮市公安局", 3, 13, 4, 3, 3, 3),
    ("高邮市卫生健康委员会", 2, 11, 4, 4, 1, 2),
    ("高邮市市场监督管理局", 2, 7, 3, 0, 4, 0),
    ("高邮市文化广电和旅游局", 2, 9, 2, 0, 4, 3),
    ("高邮市水务局", 1, 4, 2, 1, 0, 1),
    ("高邮市生态环境局", 1, 4, 1, 0, 2, 1),
    ("高邮市自然资源和规划局", 3, 12, 5, 2, 2, 3),
]


def _rows(division: str) -> list[tuple[object, ...]]:
    return [
        (f.department, f.items, f.materials, f.required, f.deferrable, f.waivable, f.licence)
        for f in YANGZHOU.by_department(CASE_DAY, division)
    ]


def test_jiangdu_list_has_the_seed_figures() -> None:
    # 江都：15个部门40项审批事项、247项申报材料，其中可容缺材料93项，可通过电子证照调取的材料29项
    summary = YANGZHOU.summary(CASE_DAY, JIANGDU_DIVISION)
    assert (summary.departments, summary.items, summary.materials) == (15, 40, 247)
    assert (summary.deferrable, summary.licence) == (93, 29)
    assert "15个部门40项审批事项、247项申报材料，其中可容缺材料93项" in summary.format()


def test_gaoyou_list_has_the_seed_figures() -> None:
    # 高邮：18个事项……对43份申请材料进行缩减 (a list-level count, not a sum over cases)
    summary = YANGZHOU.summary(CASE_DAY, GAOYOU_DIVISION)
    assert summary.items == 18
    assert summary.reduced == summary.waivable + summary.licence == 43


def test_per_department_figures_are_pinned() -> None:
    assert _rows(JIANGDU_DIVISION) == JIANGDU_DEPARTMENTS
    assert _rows(GAOYOU_DIVISION) == GAOYOU_DEPARTMENTS
    assert {f.division for f in YANGZHOU.by_department(CASE_DAY)} == {"321012", "321084"}


def test_yangzhou_departments_are_the_seed_mix() -> None:
    short = {d.removeprefix("扬州市江都区") for d in YANGZHOU.departments(CASE_DAY, "321012")}
    expected = (
        "发展和改革委员会 住房和城乡建设局 自然资源和规划局 生态环境局 交通运输局 水利局 "
        "卫生健康委员会 市场监督管理局 公安局 消防救援大队 文化广电和旅游局 人民防空办公室 "
        "工业和信息化局 商务局"
    )
    for name in expected.split():
        assert name in short
    gaoyou = YANGZHOU.departments(CASE_DAY, "321084")
    for name in ("高邮市交通运输局", "高邮市公安局", "高邮市自然资源和规划局"):
        assert name in gaoyou


def test_every_item_cites_its_basis_and_marks_departures() -> None:
    for item in YANGZHOU.items(CASE_DAY):
        assert item.legal_basis, item.code
        assert item.division in {"321012", "321084"}
        assert item.code.startswith(item.division + "-")
        if item.note is not None:
            assert item.note.startswith("示例："), item.code
    marked = [i.code for i in YANGZHOU.items(CASE_DAY) if i.note]
    assert marked == ["321012-JGBA", "321012-RFJGBA", "321012-ZSYHS"]


def test_jiangdu_construction_items_carry_the_domain() -> None:
    tagged = {
        i.code for i in YANGZHOU.items(CASE_DAY, "321012") if "construction-projects" in i.domains
    }
    assert "321012-TZXMBA" in tagged
    assert YANGZHOU.item(JIANGDU, CASE_DAY).domains == {
        "construction-projects",
        "investment-projects",
    }
    assert (
        Catalog.sample().item(JIANGDU, CASE_DAY).domains == YANGZHOU.item(JIANGDU, CASE_DAY).domains
    )
    for item in YANGZHOU.items(CASE_DAY, "321012"):
        if item.owner.endswith(("住房和城乡建设局", "自然资源和规划局", "人民防空办公室")):
            assert item.code in tagged, item.code


def test_the_sample_items_appear_unchanged_in_the_large_catalogue() -> None:
    sample = Catalog.sample()
    for code in sample.codes():
        assert YANGZHOU.item(code, CASE_DAY) == sample.item(code, CASE_DAY)


def test_item_kinds() -> None:
    kinds = {i.code: i.kind for i in YANGZHOU.items(CASE_DAY)}
    assert kinds[JIANGDU] is ItemKind.FILING
    assert kinds[GAOYOU] is ItemKind.LICENCE
    assert kinds["321012-GHHS"] is ItemKind.OTHER
    assert Catalog.sample().item(JIANGDU, CASE_DAY).is_filing
    assert not Catalog.sample().item(GAOYOU, CASE_DAY).is_filing
    assert [k.label_zh for k in ItemKind] == ["行政许可", "备案", "其他"]
    filings = sorted(code for code, kind in kinds.items() if kind is ItemKind.FILING)
    assert filings == [
        "321012-HPDJB",
        "321012-JGBA",
        "321012-JGYSBA",
        "321012-RFJGBA",
        "321012-TZXMBA",
        "321012-XFYSBA",
        "321012-ZSYHS",
    ]


def test_bundled_catalogues_by_name() -> None:
    assert Catalog.bundled("sample") is Catalog.sample()
    assert Catalog.bundled("yangzhou") is YANGZHOU
    with pytest.raises(UnknownCatalog) as info:
        Catalog.bundled("nanjing")
    assert str(info.value) == (
        "no bundled catalogue is called 'nanjing'; the bundled ones are 'sample', 'yangzhou' "
        "(or give the path of a catalogue file)"
    )


def test_format_departments_prints_the_seed_lines() -> None:
    lines = YANGZHOU.format_departments(CASE_DAY).splitlines()
    assert lines[3] == (
        "江都区（321012）：15个部门40项审批事项、247项申报材料，其中可容缺材料93项，"
        "可告知承诺免交材料50项，可通过电子证照调取的材料29项，法定要件材料75项；"
        "清单可减免材料79项。"
    )
    assert lines[4].split("\t") == [
        "部门",
        "审批事项",
        "申报材料",
        "法定要件材料",
        "可容缺材料",
        "可告知承诺免交材料",
        "可通过电子证照调取的材料",
        "清单可减免材料",
    ]
    assert lines[5] == "扬州市江都区交通运输局\t3\t21\t5\t10\t5\t1\t6"
    gaoyou = lines.index(next(line for line in lines if line.startswith("高邮市（321084）：")))
    assert "9个部门18项审批事项、80项申报材料" in lines[gaoyou]
    assert lines[gaoyou].endswith("清单可减免材料43项。")


def test_items_without_a_division_are_listed_apart() -> None:
    data = _minimal()
    text = Catalog.from_dict(data).format_departments(D(2023, 6, 1))
    assert "\n\n未注明行政区划：1个部门1项审批事项、1项申报材料" in text


def test_a_bad_division_code_is_reported_at_its_path() -> None:
    data = _minimal()
    data["items"][0]["division"] = "江都"
    data["items"][0]["competent_department"] = " "
    with pytest.raises(DataFileError) as info:
        Catalog.from_dict(data, source="bad.toml")
    assert info.value.report() == (
        "bad.toml: items[0].division: expected a six-digit administrative division code "
        "(行政区划代码, e.g. '321012'), got '江都'\n"
        "bad.toml: items[0].competent_department: must not be empty"
    )


def test_later_fields_at_their_defaults_keep_the_digest() -> None:
    data = _minimal()
    before = Catalog.from_dict(data).digest
    data["items"][0]["kind"] = "licence"
    assert Catalog.from_dict(data).digest == before
    data["items"][0]["kind"] = "filing"
    assert Catalog.from_dict(data).digest != before


@settings(max_examples=100)  # each example is a whole catalogue: more only repeats
@given(catalog_dicts(), st.integers(-30, 830))
def test_divisions_and_departments_add_up_to_the_whole(data: dict[str, Any], offset: int) -> None:
    on = D(2022, 1, 1) + dt.timedelta(offset)
    catalog = Catalog.from_dict(data)
    whole = catalog.summary(on)
    rows = catalog.by_department(on)
    for name in ("items", "materials", "required", "deferrable", "waivable", "licence"):
        assert sum(getattr(f, name) for f in rows) == getattr(whole, name)
    assert sum(f.reduced for f in rows) == whole.reduced
    named = [catalog.summary(on, d) for d in catalog.divisions(on)]
    unnamed = [i for i in catalog.items(on) if i.division is None]
    assert sum(s.items for s in named) + len(unnamed) == whole.items
    assert len({(f.division, f.department) for f in rows}) == len(rows)


def test_division_names_come_from_the_catalogue_header() -> None:
    assert dict(YANGZHOU.division_names) == {"321012": "江都区", "321084": "高邮市"}
    assert Catalog.from_dict(YANGZHOU.to_dict()) == YANGZHOU
    data = _minimal()
    before = Catalog.from_dict(data).digest
    data["catalog"]["divisions"] = {}
    assert Catalog.from_dict(data).digest == before
    data["catalog"]["divisions"] = {"3210": "江都区", "321084": " "}
    with pytest.raises(DataFileError) as info:
        Catalog.from_dict(data, source="names.toml")
    assert info.value.report() == (
        "names.toml: catalog.divisions.3210: expected a six-digit administrative division "
        "code (行政区划代码, e.g. '321012')\n"
        "names.toml: catalog.divisions.321084: must not be empty"
    )
