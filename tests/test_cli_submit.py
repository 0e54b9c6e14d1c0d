"""``creditcommit submit`` and ``case sign/accept/issue``: the CLI serves a configured city.

Every command runs through :func:`creditcommit.cli.main` against a configuration file, on a
manual clock put where the commands read the time (``creditcommit.cli._clock``), so that
the deadlines do not depend on the day the tests run.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creditcommit
from creditcommit import _demo, cli
from creditcommit.builtin.licence_file import FileLicenceStore
from creditcommit.cli import main
from creditcommit.errors import DataFileError
from creditcommit.service import CHINA_TIME, ManualClock
from test_cli_lang import english_words

GAOYOU = _demo.GAOYOU
HOTEL = _demo.HOTEL_B  # grade B in the credit file: conditional commitment route
BATHS = _demo.BATHS_C  # grade C: the standard route
INN = _demo.INN_B  # its lookup fails as if the platform were down
CITY = _demo.CITY
DAY = dt.date(2025, 9, 26)

SAMPLE_CATALOG = Path(creditcommit.__file__).parent / "data" / "sample_catalog.toml"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def run_json(*argv: str) -> dict[str, Any]:
    code, out = run(*argv, "--format", "json")
    assert code == 0, out
    found: dict[str, Any] = json.loads(out)
    return found


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(dt.datetime.combine(DAY, dt.time(9, 30), CHINA_TIME))
    monkeypatch.setattr(cli, "_clock", manual)
    return manual


def catalogue(directory: Path) -> Path:
    """The sample catalogue with licences issued after acceptance, not on the spot: so that
    a case goes submit → sign → accept → issue."""
    text = SAMPLE_CATALOG.read_text(encoding="utf-8")
    assert "on_the_spot = true" in text
    path = directory / "catalog.toml"
    path.write_text(text.replace("on_the_spot = true", "on_the_spot = false"), encoding="utf-8")
    return path


BUILTIN = f"""\
[plugins.builtin]
credit = "credit.db"
licences = "licences.db"
channel = "publications.jsonl"
unavailable_subjects = ["{INN.identifier}"]
signing_key_file = "signing.key"
"""


def city(directory: Path, *, plugins: str = "") -> Path:
    """A city's installation: the demo's credit and licence data, a catalogue, a config."""
    _demo.prepare(directory)
    catalogue(directory)
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "sqlite:cases.db"\ncatalog = "catalog.toml"\n'
        f'policy = "sample"\n\n{BUILTIN}\n{plugins}',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def config(tmp_path: Path, clock: ManualClock) -> Path:
    return city(tmp_path / "city")


def application(directory: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "item": GAOYOU,
        "applicant": {"id": HOTEL.identifier, "name": HOTEL.name, "kind": "legal-person"},
        "provided": ["GGCSWSXK-01"],
        "choose_standard": False,
        "key": "hotel-2025-09-26",
        "city": CITY,
    }
    data.update(changes)
    path = directory / f"application-{len(list(directory.glob('application-*')))}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --- submit ---------------------------------------------------------------------------------


def test_submit_prints_the_case_as_json(config: Path, tmp_path: Path) -> None:
    case = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))
    assert case["case_id"] == "321000-20250926-N0001"
    assert case["state"] == "DECIDED"
    assert case["route"] == "CONDITIONAL"
    assert case["applicant"] == {
        "id": HOTEL.identifier,
        "name": HOTEL.name,
        "kind": "legal-person",
    }
    assert case["credit"]["source"] == "credit-file"
    assert case["credit"]["grade"] == "B"
    assert [reason["code"] for reason in case["reasons"]] == [
        "credit-grade-meets-threshold",
        "no-blocking-record",
    ]
    assert case["materials"]["GGCSWSXK-01"] == {"disposition": "submitted", "due": None}
    assert case["materials"]["GGCSWSXK-04"] == {"disposition": "deferred", "due": "2025-10-10"}
    assert case["deadlines"]["materials"]["GGCSWSXK-04"] == "2025-10-10"
    assert case["acceptable"] is True
    assert case["licence"] is None


def test_submit_in_chinese_and_in_english(config: Path, tmp_path: Path) -> None:
    given = str(application(tmp_path))
    code, out = run("--config", str(config), "submit", "--file", given)
    assert code == 0
    assert out.startswith("案件 321000-20250926-N0001：")
    assert "  审批路径：有条件适用信用承诺审批\n" in out
    assert "信用证据来自 credit-file：信用等级 B" in out
    assert "容缺受理，应于2025年10月10日前补交" in out
    assert "credit-grade" not in out  # the codes are for English readers and machines
    assert english_words(out, "credit-file") == []  # the source's id is data, not a label
    code, out = run("--config", str(config), "submit", "--file", given, "--lang", "en")
    assert code == 0
    assert out.startswith("Case 321000-20250926-N0001 — DECIDED\n")
    assert "  Route: CONDITIONAL — conditional commitment route\n" in out
    assert "[credit-grade-meets-threshold]" in out
    assert ": DEFERRED (due 2025-10-10)" in out


def test_submit_reads_standard_input(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = application(tmp_path).read_text(encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    case = run_json("submit", "--file", "-", "--config", str(config))
    assert case["route"] == "CONDITIONAL"


def test_submitting_again_with_the_key_returns_the_same_case(
    config: Path, tmp_path: Path, clock: ManualClock
) -> None:
    first = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))
    clock.advance(minutes=5)
    again = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))
    assert again["case_id"] == first["case_id"]
    other = application(tmp_path, key="another")
    assert run_json("--config", str(config), "submit", "--file", str(other))["case_id"] == (
        "321000-20250926-N0002"
    )


def test_submit_a_major_project(config: Path, tmp_path: Path) -> None:
    given = application(
        tmp_path,
        item=_demo.JIANGDU,
        applicant={"id": _demo.NEWMAT.identifier, "name": _demo.NEWMAT.name},
        project={"level": "municipal", "name": "某项目", "investment_yuan": 200_000_000},
        provided=[],
        key="jiangdu",
    )
    case = run_json("--config", str(config), "submit", "--file", str(given))
    assert case["route"] == "DIRECT"
    assert case["credit"] is None  # the major-project rule makes no credit query


def test_a_failed_credit_lookup_is_shown_with_its_category(config: Path, tmp_path: Path) -> None:
    given = str(
        application(tmp_path, applicant={"id": INN.identifier, "name": INN.name}, key="inn")
    )
    case = run_json("--config", str(config), "submit", "--file", given)
    assert case["route"] == "STANDARD"
    assert case["credit"]["failure"] == "unreachable"
    code, out = run("--config", str(config), "case", "accept", case["case_id"])
    assert code == 1  # the standard route needs every material first
    given = str(
        application(tmp_path, applicant={"id": INN.identifier, "name": INN.name}, key="inn")
    )
    code, out = run("--config", str(config), "submit", "--file", given)
    assert code == 0
    assert "信用查询失败（无法连接）：credit-file：" in out


def test_the_application_json_is_checked_strictly(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = application(
        tmp_path,
        applicant={"id": HOTEL.identifier, "name": HOTEL.name, "seal": "x"},
        provided="GGCSWSXK-01",
        colour="red",
    )
    code, out = run("--config", str(config), "submit", "--file", str(given))
    assert code == 1
    assert out == ""
    err = capsys.readouterr().err
    assert str(given) in err
    assert "colour" in err
    assert "applicant" in err
    assert "seal" in err
    assert "provided" in err
    assert "Traceback" not in err


def test_the_identifier_and_the_name_are_checked_at_intake(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_check = HOTEL.identifier[:17] + ("X" if HOTEL.identifier[17] != "X" else "Y")
    given = application(
        tmp_path,
        applicant={"id": wrong_check, "name": "高邮某酒店\n321000-20990101-N0001 准予许可"},
    )
    code, out = run("--config", str(config), "submit", "--file", str(given))
    assert code == 1
    assert out == ""
    err = capsys.readouterr().err
    assert f"{given}: applicant.id: the check character (position 18)" in err
    assert "(rule: check)" in err
    assert f"{given}: applicant.name: expected one line of printable text" in err
    assert "\\n321000-20990101-N0001" in err  # shown escaped, never as a forged line
    assert run("--config", str(config), "case", "list") == (0, "共 0 件\n")  # nothing stored


def test_an_identifier_is_stored_normalised(config: Path, tmp_path: Path) -> None:
    spaced = f"{HOTEL.identifier[:9]} {HOTEL.identifier[9:].lower()}"
    case = run_json(
        "--config",
        str(config),
        "submit",
        "--file",
        str(application(tmp_path, applicant={"id": spaced, "name": HOTEL.name})),
    )
    assert case["applicant"]["id"] == HOTEL.identifier
    assert case["route"] == "CONDITIONAL"  # the credit file was asked about the normalised id


def test_a_natural_person_gives_a_resident_identity_number(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    person = {"id": "11010519491231002x", "name": "张三", "kind": "natural-person"}
    case = run_json(
        "--config", str(config), "submit", "--file", str(application(tmp_path, applicant=person))
    )
    assert case["applicant"]["id"] == "11010519491231002X"
    assert case["applicant"]["kind"] == "natural-person"
    person = {"id": HOTEL.identifier, "name": "张三", "kind": "natural-person"}
    code, _ = run(
        "--config", str(config), "submit", "--file", str(application(tmp_path, applicant=person))
    )
    assert code == 1
    assert "applicant.id" in capsys.readouterr().err


#: Every key of the application format, at any level.
KNOWN_KEYS = {"item", "applicant", "project", "provided", "choose_standard", "key", "city"} | {
    "id",
    "name",
    "kind",
    "level",
    "investment_yuan",
}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(
    extra=st.text(
        alphabet=st.characters(codec="utf-8", categories=("L", "N", "P")), min_size=1, max_size=12
    ).filter(lambda key: key not in KNOWN_KEYS),
    where=st.sampled_from(["", "applicant", "project"]),
)
def test_any_unknown_key_is_reported_with_its_path_and_nothing_is_submitted(
    extra: str, where: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No key outside the documented format is ever ignored, wherever it is."""
    data: dict[str, Any] = {
        "item": GAOYOU,
        "applicant": {"id": HOTEL.identifier, "name": HOTEL.name},
        "project": {"level": "municipal"},
    }
    (data if where == "" else data[where])[extra] = True
    path = tmp_path_factory.mktemp("unknown") / "application.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    # No configuration is needed: the file is rejected before the city is opened.
    with pytest.raises(DataFileError) as exc:
        cli.cmd_submit(
            cli.build_parser().parse_args(["submit", "--file", str(path)]), io.StringIO()
        )
    (problem,) = exc.value.problems
    assert problem.path == where
    assert repr(extra) in problem.message


def test_a_file_that_is_not_json_is_named(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{'item': 1}", encoding="utf-8")
    code, _ = run("--config", str(config), "submit", "--file", str(broken))
    assert code == 1
    err = capsys.readouterr().err
    assert str(broken) in err
    assert "not valid JSON" in err
    code, _ = run("--config", str(config), "submit", "--file", str(tmp_path / "missing.json"))
    assert code == 1
    assert "cannot read file" in capsys.readouterr().err


def test_submit_needs_a_file() -> None:
    with pytest.raises(SystemExit) as exc:
        run("submit")
    assert exc.value.code == 2


# --- moving a case on ---------------------------------------------------------------------


def test_submit_sign_accept_issue_tick(config: Path, tmp_path: Path, clock: ManualClock) -> None:
    submitted = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))
    case_id = submitted["case_id"]
    clock.advance(minutes=10)
    signed = run_json("--config", str(config), "case", "sign", case_id)
    assert signed["state"] == "COMMITTED"
    clock.advance(minutes=10)
    accepted = run_json("--config", str(config), "case", "accept", case_id)
    assert accepted["state"] == "ACCEPTED"
    assert accepted["licence"] is None  # not on the spot in this catalogue
    assert accepted["deadlines"]["promised"] is not None
    clock.advance(hours=2)
    code, out = run(
        "--config",
        str(config),
        "case",
        "issue",
        case_id,
        "--reference",
        "GY-2025-0001",
        "--valid-until",
        "2029-09-25",
    )
    assert code == 0
    assert out.startswith(f"案件 {case_id}：准予许可\n")
    assert "  许可证号：GY-2025-0001（2025-09-26 发放，有效期至 2029-09-25）\n" in out
    assert "  应补交材料：GGCSWSXK-04（2025-10-10 前）\n" in out
    assert "  承诺核查期限：" in out
    assert english_words(out, "credit-file", "GY-2025-0001") == []

    clock.advance(hours=1)
    code, out = run("--config", str(config), "tick")
    assert code == 0
    assert "送达消息 2 条，送达失败 0 条" in out
    channel = config.parent / "publications.jsonl"
    published = [json.loads(line) for line in channel.read_text(encoding="utf-8").splitlines()]
    assert [entry["payload"]["fields"]["decision_number"] for entry in published] == [
        "GY-2025-0001"
    ]
    holdings = FileLicenceStore(config.parent / "licences.db").holdings(
        HOTEL.identifier, city=CITY, on=DAY
    )
    assert GAOYOU in {holding.licence_type for holding in holdings}


def test_case_commands_in_english(config: Path, tmp_path: Path) -> None:
    case_id = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))[
        "case_id"
    ]
    code, out = run("--config", str(config), "case", "sign", case_id, "--lang", "en")
    assert code == 0
    assert out.startswith(f"Case {case_id} — COMMITTED\n")


def test_an_agent_signs_with_an_authorisation(config: Path, tmp_path: Path) -> None:
    case_id = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))[
        "case_id"
    ]
    agent = ("--signer-name", "张三", "--signer-id", "110101199003074477")
    signed = run_json(
        "--config", str(config), "case", "sign", case_id, *agent, "--agent", "委托书-2025-17"
    )
    assert signed["state"] == "COMMITTED"


def test_an_agent_must_say_who_it_is(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))[
        "case_id"
    ]
    code, _ = run("--config", str(config), "case", "sign", case_id, "--agent", "委托书-2025-17")
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--signer-name and --signer-id" in err


def test_a_step_out_of_order_is_one_line_and_status_1(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = run_json("--config", str(config), "submit", "--file", str(application(tmp_path)))[
        "case_id"
    ]
    code, out = run("--config", str(config), "case", "issue", case_id)
    assert code == 1
    assert out == ""
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "DECIDED" in err
    assert err.count("\n") == 1
    code, _ = run("--config", str(config), "case", "accept", "321000-20250926-N0099")
    assert code == 1


# --- decide --config ------------------------------------------------------------------------

DECIDE = ("decide", "--item", GAOYOU, "--on", DAY.isoformat())


def test_decide_with_config_asks_the_configured_credit_source(config: Path) -> None:
    code, out = run("--config", str(config), *DECIDE, "--id", HOTEL.identifier)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("信用证据来自 credit-file：信用等级 B，信用记录 0 条")
    assert lines[1] == f"事项 {GAOYOU}：有条件适用信用承诺审批"
    code, out = run("--config", str(config), *DECIDE, "--id", BATHS.identifier, "--json")
    assert code == 0
    found = json.loads(out)
    assert found["route"] == "STANDARD"
    assert found["credit"]["source"] == "credit-file"
    assert found["credit"]["grade"] == "C"
    assert found["credit"]["given"] is False


def test_decide_with_config_prints_a_failure_with_its_category(config: Path) -> None:
    code, out = run("--config", str(config), *DECIDE, "--id", INN.identifier)
    assert code == 0
    assert out.startswith("信用查询失败（无法连接）：credit-file：")
    reason = out.splitlines()[0].split("credit-file：", 1)[1]  # the source's own words
    assert english_words(out, reason, "credit-file") == []
    assert f"事项 {GAOYOU}：一般程序审批" in out
    code, out = run("--config", str(config), *DECIDE, "--id", INN.identifier, "--lang", "en")
    assert out.startswith("Credit lookup failed (unreachable): credit-file: ")
    code, out = run("--config", str(config), *DECIDE, "--id", INN.identifier, "--json")
    assert json.loads(out)["credit"]["failure"] == "unreachable"


def test_decide_with_config_and_a_grade_says_it_was_given(config: Path) -> None:
    argv = (*DECIDE, "--id", BATHS.identifier, "--grade", "B")
    code, out = run("--config", str(config), *argv)
    assert code == 0
    assert out.startswith("信用证据按命令行参数给出，未查询所配置的信用来源。\n")
    assert f"事项 {GAOYOU}：有条件适用信用承诺审批" in out  # B by hand, not C from the file
    code, out = run("--config", str(config), *argv, "--lang", "en")
    assert out.startswith("Credit evidence as given on the command line;")
    found = json.loads(run("--config", str(config), *argv, "--json")[1])
    assert found["credit"]["given"] is True


def test_decide_without_config_is_unchanged() -> None:
    code, out = run(*DECIDE, "--id", HOTEL.identifier, "--grade", "B", "--json")
    assert code == 0
    assert "credit" not in json.loads(out)


def test_decide_with_config_uses_the_city_catalogue(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = config.parent / "catalog.toml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace(GAOYOU, "321084-OTHER"), encoding="utf-8"
    )
    code, _ = run("--config", str(config), *DECIDE, "--id", HOTEL.identifier)
    assert code == 1
    assert GAOYOU in capsys.readouterr().err
    code, _ = run("--config", str(config), *DECIDE, "--id", HOTEL.identifier, "--catalog", "x")
    assert code == 1
    assert "--catalog and --policy cannot be used with --config" in capsys.readouterr().err


# --- against the HTTP adapter ---------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[Any]:
    # The adapter is a distribution of its own (adapters/creditcommit-http): its entry point
    # must be installed for `creditcommit` to load it, as in a city's installation.
    testing = pytest.importorskip(
        "creditcommit_http.testing",
        reason="the HTTP adapter is not installed: pip install -e adapters/creditcommit-http",
    )
    fake = testing.FakeUpstream()
    with testing.FakeUpstreamServer(fake) as server:
        yield server


def test_submit_to_a_city_on_the_http_adapter(
    upstream: Any, tmp_path: Path, clock: ManualClock
) -> None:
    fake = upstream.fake
    fake.set_grade(HOTEL.identifier, "B", city=CITY)
    http = (
        f'[plugins.http]\ncredit_url = "{upstream.url}"\nregistry_url = "{upstream.url}"\n'
        "timeout = 5.0\ndeadline = 10.0\n"
    )
    config = city(tmp_path / "http", plugins=http)
    given = str(application(tmp_path))

    submitted = run_json("--config", str(config), "submit", "--file", given)
    case_id = submitted["case_id"]
    assert submitted["state"] == "DECIDED"
    assert submitted["route"] == "CONDITIONAL"
    assert submitted["credit"]["grade"] == "B"
    assert submitted["credit"]["source"] != "credit-file"  # the adapter answered, not the file
    lookups = [request for request in fake.requests if request[1].startswith("/credit/")]
    assert lookups == [("GET", f"/credit/v1/subjects/{HOTEL.identifier}")]

    clock.advance(minutes=10)
    assert run_json("--config", str(config), "case", "sign", case_id)["state"] == "COMMITTED"
    clock.advance(minutes=10)
    assert run_json("--config", str(config), "case", "accept", case_id)["state"] == "ACCEPTED"
    clock.advance(hours=1)
    issued = run_json("--config", str(config), "case", "issue", case_id)
    assert issued["state"] == "ISSUED"
    reference = issued["licence"]["reference"]
    clock.advance(hours=1)
    code, out = run("--config", str(config), "tick", "--lang", "en")
    assert code == 0
    assert re.search(r"delivered 2, failed 0;", out)

    # A licence on the commitment route: nothing for the credit registry; the licence went to
    # the built-in licence store and the decision to the built-in JSON-lines channel.
    assert not [request for request in fake.requests if request[1].startswith("/registry/")]
    assert fake.published() == []
    assert fake.requests == lookups  # the one credit lookup, and nothing else
    channel = (config.parent / "publications.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["payload"]["fields"]["decision_number"] for line in channel] == [
        reference
    ]
    holdings = FileLicenceStore(config.parent / "licences.db").holdings(
        HOTEL.identifier, city=CITY, on=DAY
    )
    assert reference in {holding.reference for holding in holdings}


def test_decide_with_config_asks_the_http_adapter(upstream: Any, tmp_path: Path) -> None:
    fake = upstream.fake
    fake.set_grade(BATHS.identifier, "A", city=CITY)
    # The registry too: records the city creates must be read back from where they go.
    url = upstream.url
    http = f'[plugins.http]\ncredit_url = "{url}"\nregistry_url = "{url}"\n'
    config = city(tmp_path / "http", plugins=http)
    found = json.loads(run("--config", str(config), *DECIDE, "--id", BATHS.identifier, "--json")[1])
    assert found["credit"]["grade"] == "A"  # not C, the built-in file's grade
    assert found["route"] == "CONDITIONAL"  # grade C would have given STANDARD
    assert fake.requests == [("GET", f"/credit/v1/subjects/{BATHS.identifier}")]


# --- demo --config ----------------------------------------------------------------------------


def test_demo_on_a_city_configuration_writes_nothing_to_the_city(
    config: Path, tmp_path: Path
) -> None:
    code, out = run("--config", str(config), "demo", "--dir", str(tmp_path / "demo"))
    assert code == 0
    assert f"在城市 {CITY} 的配置上运行扬州市案例" in out
    assert "审批路径：有条件适用信用承诺审批" in out
    assert "发放许可证 XK-321000-20250926-N0001" in out  # accepted, then issued
    assert "信用查询失败（credit-file：无法连接信用平台）" in out
    assert "未运行的部分：" in out
    # The Jiangdu filing is not published as a licence (备案 is not 许可).
    assert "送达：3 条消息留在演示案件库的发件箱中" in out
    assert "哈希链完整" in out
    assert (tmp_path / "demo" / "cases.db").exists()
    # The city's own store and channel are untouched.
    assert run("--config", str(config), "case", "list") == (0, "共 0 件\n")
    assert not (config.parent / "publications.jsonl").exists()


def test_demo_on_a_city_says_what_it_could_not_run(config: Path, tmp_path: Path) -> None:
    catalog = config.parent / "catalog.toml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace(GAOYOU, "321084-OTHER"), encoding="utf-8"
    )
    code, out = run(
        "demo", "--config", str(config), "--dir", str(tmp_path / "demo"), "--lang", "en"
    )
    assert code == 0
    assert "Route: DIRECT" in out  # Jiangdu's item is still in the catalogue
    assert out.count("Could not run submitting: ") == 4
    assert GAOYOU in out
    assert "Not run:\n" in out
    assert "Delivery: 1 message(s) stay in the demo store's outbox" in out


def test_demo_on_a_city_needs_a_fresh_directory(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("demo", "--config", str(config), "--dir", str(config.parent))
    assert code == 1
    assert "is not empty" in capsys.readouterr().err
