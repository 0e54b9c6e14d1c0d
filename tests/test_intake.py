"""Identifiers and names are checked where they enter (issue 8, items 2 and 10)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from creditcommit import Catalog, Policy, decide
from creditcommit.cli import main
from creditcommit.credit import CreditEvidence
from creditcommit.decision import Applicant, ApplicantKind
from creditcommit.errors import InvalidIdentifier, InvalidValue
from creditcommit.identifiers import USCC, ResidentId

CODE = "91321084MA1TQ7GU0H"  # 高邮: a valid USCC
TYPED = "9132 1084-ma1tq7gu0h"  # the same code as a clerk may type it
RID = "11010519491231002X"
DAY = dt.date(2025, 9, 29)


def test_the_raw_constructor_rejects_a_wrong_check_character() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Applicant(CODE[:17] + "J", "高邮某酒店")
    assert info.value.rule == "check"


def test_the_raw_constructor_rejects_unnormalised_text() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Applicant(TYPED, "高邮某酒店")
    assert info.value.rule == "normalised"
    assert CODE in info.value.detail
    assert "Applicant.parse" in info.value.detail


def test_parse_normalises_once_for_every_entry_point() -> None:
    assert Applicant.parse(TYPED, "高邮某酒店") == Applicant(CODE, "高邮某酒店")
    person = Applicant.parse("110105 19491231 002x", "张三", ApplicantKind.NATURAL_PERSON)
    assert person.identifier == RID


def test_a_uscc_for_a_natural_person_names_both() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Applicant(CODE, "张三", ApplicantKind.NATURAL_PERSON)
    assert info.value.rule == "kind"
    assert "natural-person" in str(info.value)
    assert "USCC" in str(info.value)


def test_a_resident_id_for_a_legal_person_names_both_and_stays_masked() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Applicant(RID, "张三", ApplicantKind.LEGAL_PERSON)
    assert info.value.rule == "kind"
    assert "legal-person" in str(info.value)
    assert "resident identity number" in str(info.value)
    assert RID not in str(info.value)


def test_a_resident_id_error_never_carries_the_full_number() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Applicant("110105 19491231 002x", "张三", ApplicantKind.NATURAL_PERSON)
    assert info.value.rule == "normalised"
    assert RID not in str(info.value)


def test_a_legacy_code_on_the_built_in_list_is_accepted() -> None:
    assert Applicant("91350100M0001TGQXM", "福州某公司").identifier == "91350100M0001TGQXM"


@pytest.mark.parametrize(
    "name",
    [
        "高邮某酒店\n第二行",
        "\x1b[31m高邮某酒店",
        "高邮\x00某酒店",
        "高邮\ud800某酒店",
        "高邮\u202e某酒店",
    ],
)
def test_hostile_names_are_rejected_at_intake(name: str) -> None:
    with pytest.raises(InvalidValue) as info:
        Applicant(CODE, name)
    assert info.value.kind == "Applicant"
    assert info.value.problems[0].path == "name"


def test_the_same_code_written_two_ways_takes_the_same_route() -> None:
    catalog = Catalog.sample()
    item = catalog.item("321012-TZXMBA", DAY)
    routes = []
    for text in (CODE, TYPED):
        applicant = Applicant.parse(text, "高邮某酒店")
        evidence = CreditEvidence.create(
            subject=applicant.identifier,
            source="test",
            retrieved_at=dt.datetime(2025, 9, 29, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            scale="yangzhou-a-e",
            grade="A",
        )
        routes.append(
            decide(
                item=item, applicant=applicant, evidence=evidence, policy=Policy.sample(), on=DAY
            )
        )
    assert routes[0] == routes[1]


# --- the CLI ------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    import io

    out = io.StringIO()
    try:
        status = main(list(args), out=out)
    except SystemExit as exc:
        status = int(exc.code or 0)
    return status, out.getvalue()


def decide_args(*extra: str) -> list[str]:
    return ["decide", "--item", "321012-TZXMBA", "--on", "2025-09-29", "--grade", "A", *extra]


def test_cli_decide_normalises_the_id(capsys: pytest.CaptureFixture[str]) -> None:
    plain = run(*decide_args("--id", CODE, "--json"))
    typed = run(*decide_args("--id", TYPED, "--json"))
    assert plain[0] == typed[0] == 0
    assert json.loads(plain[1]) == json.loads(typed[1])


def test_cli_decide_rejects_a_wrong_check_character(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(*decide_args("--id", CODE[:17] + "J"))
    assert status != 0
    assert "check" in out + capsys.readouterr().err


def test_cli_decide_kind_must_agree(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(*decide_args("--id", CODE, "--kind", "natural-person"))
    assert status != 0
    said = out + capsys.readouterr().err
    assert "natural-person" in said
    assert "USCC" in said


def test_cli_decide_file_parses_the_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "application.json"
    application = {"item": "321012-TZXMBA", "on": "2025-09-29", "id": TYPED, "grade": "A"}
    path.write_text(json.dumps(application), encoding="utf-8")
    assert run("decide", "--file", str(path), "--json")[0] == 0
    application["id"] = CODE[:17] + "J"
    path.write_text(json.dumps(application), encoding="utf-8")
    status, out = run("decide", "--file", str(path))
    assert status != 0
    said = out + capsys.readouterr().err
    assert str(path) in said
    assert "id: invalid USCC" in said
    assert "(rule: check)" in said


def test_parsers_agree_with_the_applicant() -> None:
    assert USCC.parse(TYPED).value == Applicant.parse(TYPED, "x").identifier
    assert ResidentId.parse(RID.lower()).value == RID
    assert re.fullmatch(r"[0-9A-Z]{18}", Applicant.parse(TYPED, "x").identifier)


def test_a_typed_resident_id_with_hyphens_is_normalised() -> None:
    assert ResidentId.parse("110105-19491231-002x").value == RID
    person = Applicant.parse("110105-19491231-002x", "张三", ApplicantKind.NATURAL_PERSON)
    assert person.identifier == RID


def test_a_mistyped_personal_number_given_as_a_uscc_stays_masked() -> None:
    # 19 digits: neither identifier, but a resident identity number is inside it.
    with pytest.raises(InvalidIdentifier) as info:
        Applicant(RID[:17] + "0" + "1", "张三")
    assert info.value.rule == "length"
    assert RID[:14] not in str(info.value)
