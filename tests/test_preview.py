"""Tests for creditcommit.preview and ``creditcommit preview``: a policy change replayed on
the recorded applications.

Cases are submitted with the real transition (``creditcommit.case.submit``) under the sample
policy; the previewed policy is the sample with the city's conditional threshold moved. The
law: moving the threshold moves exactly the applicants whose grade lies between the old and
the new threshold (and who did not choose the standard route), and nobody else.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit import _demo
from creditcommit.calendar import WorkingCalendar
from creditcommit.case import Case, choose_standard, submit
from creditcommit.catalog import Catalog
from creditcommit.cli import main
from creditcommit.credit import CreditEvidence
from creditcommit.decision import Applicant, Route
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import LicenceHolding
from creditcommit.policy import Policy
from creditcommit.preview import REFUSED, PolicyPreview, preview, recorded

CST = dt.timezone(dt.timedelta(hours=8))
CALENDAR = WorkingCalendar.china()
SAMPLE = Catalog.sample()
POLICY = Policy.sample()
GAOYOU = "321084-GGCSWSXK"
ITEM = SAMPLE.item(GAOYOU, dt.date(2025, 1, 1))
GRADES = "ABCDE"
DAY = dt.date(2025, 9, 26)
BUNDLED = ("policy-yangzhou.toml", "policy-jiangdu.toml", "policy-gaoyou.toml")


def _policy_files(folder: Path, threshold: str) -> list[Path]:
    """The sample policy's files, with the city's conditional threshold set to
    ``threshold`` (and a version saying so)."""
    data = resources.files("creditcommit") / "data"
    paths = []
    for name in BUNDLED:
        text = data.joinpath(name).read_text(encoding="utf-8")
        if name == "policy-yangzhou.toml":
            old = '[[conditional_threshold]]\nfrom = 2022-11-01\nvalue = "B"'
            assert old in text
            text = text.replace(old, old.replace('"B"', f'"{threshold}"'))
            text = text.replace('version = "2022.11-sample"', f'version = "threshold-{threshold}"')
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def applicant(n: int) -> Applicant:
    first17 = f"91321084MA1{n:06d}"
    return Applicant(first17 + uscc_check_char(first17), f"申请人{n}")


def case_of(n: int, grade: str, *, standard: bool = False) -> Case:
    """A Gaoyou permit submitted on DAY by applicant ``n`` of credit grade ``grade``; with
    ``standard`` the applicant then chose the standard route."""
    who = applicant(n)
    now = dt.datetime.combine(DAY, dt.time(9, 0), CST)
    credit = CreditEvidence.create(
        subject=who.identifier,
        source="信用扬州 (sample)",
        retrieved_at=now,
        scale="yangzhou-a-e",
        grade=grade,
    )
    events = submit(
        case_id=f"P-{n}",
        city="321084",
        item=ITEM,
        applicant=who,
        credit=credit,
        policy=POLICY,
        calendar=CALENDAR,
        now=now,
        provided=("GGCSWSXK-01",),
        licences=(LicenceHolding("business-licence", "营业执照"),),
    )
    case = Case.from_events(events)
    if standard and case.route is not None and case.route.is_commitment:
        case = case.apply(*choose_standard(case, ITEM, POLICY, CALENDAR, now))
    return case


class _Policies(dict[str, Policy]):
    """The previewed policies by threshold (a short repr for Hypothesis' reports)."""

    def __repr__(self) -> str:
        return f"<policies {sorted(self)}>"


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Policy]:
    folder = tmp_path_factory.mktemp("policies")
    found = _Policies()
    for threshold in GRADES:
        where = folder / threshold
        where.mkdir()
        found[threshold] = Policy.load(*_policy_files(where, threshold))
    return found


def _changed(found: PolicyPreview) -> dict[str, tuple[str, str]]:
    """Case id → (old, new) of every case the preview moves, from its examples."""
    return {
        case_id: (change.old, change.new)
        for change in found.changes
        if change.changed
        for case_id in change.examples
    }


def test_the_same_policy_changes_nothing() -> None:
    cases = [case_of(n, grade) for n, grade in enumerate(GRADES)]
    found = preview(cases, POLICY, catalog=SAMPLE)
    assert found.cases == len(cases)
    assert found.changed == 0
    assert not found.failed
    assert sum(change.count for change in found.changes) == len(cases)


@given(
    st.lists(st.tuples(st.sampled_from(GRADES), st.booleans()), min_size=1, max_size=8),
    st.sampled_from(GRADES),
)
def test_moving_the_threshold_moves_exactly_the_grades_between(
    policies: dict[str, Policy], applicants: list[tuple[str, bool]], threshold: str
) -> None:
    cases = [case_of(n, grade, standard=chose) for n, (grade, chose) in enumerate(applicants)]
    found = preview(cases, policies[threshold], catalog=SAMPLE, examples=len(cases))
    old_rank, new_rank = GRADES.index("B"), GRADES.index(threshold)
    expected = {}
    for case, (grade, wants_standard) in zip(cases, applicants, strict=True):
        rank = GRADES.index(grade)
        before = Route.CONDITIONAL if rank <= old_rank else Route.STANDARD
        after = Route.CONDITIONAL if rank <= new_rank else Route.STANDARD
        # Only an applicant offered the commitment route can choose the standard one.
        chose = wants_standard and before is Route.CONDITIONAL
        assert case.route is (Route.STANDARD if chose else before)
        if not chose and before is not after:
            expected[case.case_id] = (before.value, after.value)
    assert _changed(found) == expected
    assert found.changed == len(expected)
    assert found.cases == len(cases)
    assert f"threshold-{threshold} + 2022.11-sample" in found.policy


def test_every_case_can_be_decided_on_one_day(policies: dict[str, Policy]) -> None:
    cases = [case_of(n, grade) for n, grade in enumerate(GRADES)]
    found = preview(cases, policies["A"], catalog=SAMPLE, on=dt.date(2025, 12, 1))
    assert found.on == dt.date(2025, 12, 1)
    # Every evidence was retrieved on DAY: too old on 2025-12-01, so no grade counts.
    assert {(c.old, c.new) for c in found.changes} == {
        ("conditional", "standard"),
        ("standard", "standard"),
    }
    assert found.to_dict()["on"] == "2025-12-01"


def test_a_case_whose_item_is_gone_is_listed_not_lost() -> None:
    cases = [case_of(0, "A"), case_of(1, "B")]
    others = Catalog(
        SAMPLE.name, SAMPLE.version, [i for i in SAMPLE.item_versions if i.code != GAOYOU]
    )
    found = preview(cases, POLICY, catalog=others)
    assert found.cases == 2
    assert [case_id for case_id, _ in found.failed] == ["P-0", "P-1"]
    assert GAOYOU in found.failed[0][1]
    assert found.changes == ()


def test_recorded_takes_the_facts_the_route_was_decided_on() -> None:
    case = case_of(3, "A", standard=True)
    found = recorded(case, ITEM)
    assert found is not None
    assert found.route is Route.STANDARD
    assert found.on == DAY
    assert found.application.choose_standard
    assert found.application.evidence == case.evidence
    assert found.application.applicant == case.applicant


def test_refused_is_an_outcome_label() -> None:
    assert REFUSED == "refused"


def test_negative_examples() -> None:
    with pytest.raises(ValueError, match="examples must be 0 or more"):
        preview([], POLICY, catalog=SAMPLE, examples=-1)


# --- the command --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("preview") / "demo"
    _demo.run(io.StringIO(), where, lang="en")
    return where


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def test_preview_on_an_installation_in_chinese_text_csv_and_json(
    demo: Path, tmp_path: Path
) -> None:
    files = [str(p) for p in _policy_files(tmp_path, "A")]
    policy = [arg for path in files for arg in ("--policy", path)]
    config = str(demo / "creditcommit.toml")
    code, text = run("preview", *policy, "--cases", config)
    assert code == 0
    assert text.startswith("政策调整预演：")
    assert "重放案件" in text
    assert "有条件适用" in text
    code, english = run("preview", *policy, "--cases", config, "--lang", "en")
    assert code == 0
    assert "replayed" in english
    code, data = run("preview", *policy, "--cases", config, "--format", "json")
    assert code == 0
    found = json.loads(data)
    assert found["format"] == "creditcommit-preview/1"
    assert found["cases"] > 0
    assert found["changed"] >= 1  # the demo's grade-B applicants lose the conditional route
    code, table = run("preview", *policy, "--cases", config, "--format", "csv", "--no-bom")
    assert code == 0
    rows = table.splitlines()
    assert rows[0] == "事项编码,原路径,新路径,是否改变,件数,示例案件"
    assert len(rows) == 1 + len(found["changes"])


def test_preview_of_a_store_file_and_of_one_item(demo: Path, tmp_path: Path) -> None:
    store = tmp_path / "cases.db"
    shutil.copy(demo / "cases.db", store)
    files = [str(p) for p in _policy_files(tmp_path, "B")]
    policy = [arg for path in files for arg in ("--policy", path)]
    code, data = run("preview", *policy, "--cases", str(store), "--format", "json")
    assert code == 0
    found = json.loads(data)
    assert found["changed"] == 0  # the same thresholds as the sample
    code, data = run(
        "preview", *policy, "--cases", f"sqlite:{store}", "--item", GAOYOU, "--format", "json"
    )
    assert code == 0
    assert {change["item"] for change in json.loads(data)["changes"]} == {GAOYOU}


def test_preview_of_a_store_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("preview", "--policy", str(tmp_path / "p.toml"), "--cases", "nowhere.db")
    assert code == 1
    err = capsys.readouterr().err
    assert "p.toml" in err or "nowhere.db" in err
    files = [str(p) for p in _policy_files(tmp_path, "B")]
    code, _ = run("preview", "--policy", files[0], "--cases", str(tmp_path / "nowhere.db"))
    assert code == 1
    assert "no such store file" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()


def test_preview_of_a_policy_that_does_not_parse(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy\nname = 1\n", encoding="utf-8")
    code, _ = run("preview", "--policy", str(bad), "--cases", str(demo / "creditcommit.toml"))
    assert code == 1
    assert "bad.toml" in capsys.readouterr().err
