"""The licence, the letter and the calendar's edge (issue 8, items 4a, 4c, 7 and 9).

Service-level tests on a fresh city directory with the built-in defaults (SQLite store,
credit file, licence file, JSON-lines channel) and a :class:`~creditcommit.ManualClock`.
Gaoyou's permit is not decided on the spot here, so the licence is issued by ``issue()``
with a reference of the city's own numbering.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import pytest

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    CalendarCoverageError,
    Case,
    CaseState,
    DuplicateLicence,
    ManualClock,
    PluginError,
    Revoked,
    Signer,
    SigningKeyMissing,
    TamperedCommitment,
    VerificationOutcome,
)
from creditcommit.builtin import SIGNING_KEY_ENV, FileCreditSource, FileLicenceStore
from creditcommit.cli import main
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence, canonical_json

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
FORM = "GGCSWSXK-01"
INSPECTORS = ("王明", "李华")
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


HOTEL = Applicant(_uscc("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司")  # grade B
SALON = Applicant(_uscc("91321084MA1TQ7GU2"), "高邮某美容美发店")  # grade A


def at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


def prepare(directory: Path) -> Path:
    """The sample catalogue with Gaoyou's permit issued by ``issue()`` (not on the spot)."""
    text = (files("creditcommit") / "data" / "sample_catalog.toml").read_text(encoding="utf-8")
    head, marker, gaoyou = text.partition(f'code = "{GAOYOU}"')
    (directory / "catalog.toml").write_text(
        head + marker + gaoyou.replace("on_the_spot = true", "on_the_spot = false", 1),
        encoding="utf-8",
    )
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\nstore = "sqlite:cases.db"\ncatalog = "catalog.toml"\n'
        'policy = "sample"\n',
        encoding="utf-8",
    )
    credit = FileCreditSource(directory / "credit.db")
    licences = FileLicenceStore(directory / "licences.db")
    for applicant, grade in ((HOTEL, "B"), (SALON, "A")):
        credit.set_grade(applicant.identifier, grade, city=CITY)
        for licence_type in ("business-licence", "resident-identity-card"):
            licences.record(
                IssuedLicence(
                    reference=f"{licence_type}:{applicant.identifier}",
                    licence_type=licence_type,
                    subject=applicant.identifier,
                    item_code="external",
                    case_id="external",
                    issued_on=dt.date(2020, 1, 1),
                ),
                city=CITY,
            )
    return config


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(tmp_path: Path, clock: ManualClock) -> Iterator[Approvals]:
    with Approvals.from_config(prepare(tmp_path), clock=clock, autoload=False) as opened:
        yield opened


def accepted(service: Approvals, applicant: Applicant) -> Case:
    case = service.submit(item=GAOYOU, applicant=applicant, provided=[FORM])
    assert case.route is not None
    assert case.route.is_commitment
    case = service.sign_commitment(case.case_id, Signer(applicant.name, applicant.identifier))
    case = service.accept(case.case_id)
    assert case.state is CaseState.ACCEPTED
    return case


def log_size(service: Approvals) -> int:
    return len(service.store.events(limit=100_000))


def held(service: Approvals, applicant: Applicant, day: dt.date) -> list[str]:
    store = service.integrations.licence_store(CITY)
    return [h.reference for h in store.holdings(applicant.identifier, city=CITY, on=day)]


# --- 4a: the right licence ----------------------------------------------------------------

REFERENCE = "高卫许字〔2025〕第001号"


def test_a_licence_number_used_in_the_city_is_refused_and_nothing_is_stored(
    service: Approvals,
) -> None:
    hotel = service.issue(accepted(service, HOTEL).case_id, reference=REFERENCE)
    salon = accepted(service, SALON)
    size, messages = log_size(service), len(service.store.outbox())
    with pytest.raises(DuplicateLicence) as raised:
        service.issue(salon.case_id, reference=REFERENCE)
    assert (raised.value.reference, raised.value.city) == (REFERENCE, CITY)
    assert (raised.value.case_id, raised.value.holder) == (hotel.case_id, HOTEL.identifier)
    assert (log_size(service), len(service.store.outbox())) == (size, messages)
    assert service.case(salon.case_id).state is CaseState.ACCEPTED
    # The same case issuing is not a duplicate of itself; another number is fine.
    assert service.issue(salon.case_id, reference="高卫许字〔2025〕第002号").licence is not None


def test_revoking_a_case_withdraws_its_own_licence_only(
    service: Approvals, clock: ManualClock
) -> None:
    hotel = service.issue(accepted(service, HOTEL).case_id, reference=REFERENCE)
    salon = service.issue(accepted(service, SALON).case_id, reference="高卫许字〔2025〕第002号")
    service.deliver()
    clock.set(at(dt.date(2025, 10, 9)))
    salon = service.record_verification(
        salon.case_id,
        inspectors=INSPECTORS,
        findings="现场核查记录",
        outcome=VerificationOutcome.FALSE_COMMITMENT,
    )
    salon = service.receive_statement(salon.case_id, "无异议")
    salon = service.decide_revocation(salon.case_id)
    assert salon.state is CaseState.REVOKED
    assert isinstance(salon.revocation, Revoked)
    withdrawn = [
        p.message.payload for p in service.store.outbox() if p.message.topic == "licence-withdrawn"
    ]
    assert [dict(payload) for payload in withdrawn] == [
        {
            "reference": "高卫许字〔2025〕第002号",
            "holder": SALON.identifier,
            "withdrawn_on": "2025-10-09",
            "reason": salon.revocation.grounds,
        }
    ]
    assert service.deliver().failed == ()
    day = dt.date(2025, 10, 10)
    assert REFERENCE in held(service, HOTEL, day)
    assert "高卫许字〔2025〕第002号" not in held(service, SALON, day)
    assert service.case(hotel.case_id).state is CaseState.ISSUED


# --- 4c: the verification deadline the letter states is the one tracked -------------------


def test_the_deadline_in_the_signed_letter_is_the_one_supervision_tracks(
    service: Approvals, clock: ManualClock
) -> None:
    # Decided and signed on Friday 2025-09-26, issued on Monday 2025-10-20: the letter
    # promises verification by 2025-10-30 (20 working days after the decision); counting
    # from the issue day instead would give 2025-11-17.
    case = accepted(service, HOTEL)
    assert case.commitment is not None
    promised = case.commitment.letter.terms.verification_due
    assert promised == dt.date(2025, 10, 30)
    assert "2025年10月30日" in case.commitment.text
    clock.set(at(dt.date(2025, 10, 20)))
    case = service.issue(case.case_id, reference=REFERENCE)
    verification = service.obligations(case.case_id)[0]
    assert verification.due == promised
    clock.set(at(dt.date(2025, 10, 31)))
    report = service.tick()
    assert [(case_id, o.due) for case_id, o in report.verifications_overdue] == [
        (case.case_id, promised)
    ]


# --- 7: the calendar's edge ---------------------------------------------------------------


def test_a_submission_whose_verification_deadline_is_not_covered_stores_nothing(
    service: Approvals, clock: ManualClock
) -> None:
    # Decided on 2026-12-20: the letter's deadline, 20 working days on, falls in 2027.
    clock.set(at(dt.date(2026, 12, 20)))
    with pytest.raises(CalendarCoverageError) as raised:
        service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert raised.value.year == 2027
    assert log_size(service) == 0
    assert service.store.streams(kind="case") == ()


def test_with_next_years_notice_the_same_submission_goes_through(
    tmp_path: Path, clock: ManualClock
) -> None:
    config = prepare(tmp_path)
    example = files("creditcommit") / "data" / "calendar-2027.example.toml"
    (tmp_path / "calendar-2027.toml").write_text(example.read_text(encoding="utf-8"), "utf-8")
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'policy = "sample"\n',
            'policy = "sample"\ncalendar_overrides = ["calendar-2027.toml"]\n',
        ),
        encoding="utf-8",
    )
    clock.set(at(dt.date(2026, 12, 20)))
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        case = accepted(service, HOTEL)
        assert case.commitment is not None
        assert case.commitment.letter.terms.verification_due == dt.date(2027, 1, 18)


def test_the_service_warns_at_start_up_when_the_calendar_is_about_to_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = prepare(tmp_path)
    caplog.set_level(logging.WARNING, logger="creditcommit")
    with Approvals.from_config(config, clock=ManualClock(START), autoload=False):
        pass
    assert [r for r in caplog.records if r.name == "creditcommit"] == []
    late = ManualClock(dt.datetime(2026, 12, 7, 9, 0, tzinfo=CHINA_TIME))
    with Approvals.from_config(config, clock=late, autoload=False):
        pass
    (record,) = [r for r in caplog.records if r.name == "creditcommit"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "city 321000: the working-day calendar ends on 2026-12-31, in 24 days: deadlines after "
        "that day cannot be computed and commands that need one fail; load the State Council "
        "notice for 2027 as a calendar override (docs/calendar.md) or upgrade the holiday data"
    )


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_calendar_status_prints_the_last_covered_day() -> None:
    code, out = cli("calendar", "status", "--on", "2026-09-01")
    assert code == 0
    assert out == (
        "last covered day: 2026-12-31 (121 days from 2026-09-01)\n"
        "data: chinesecalendar 1.11.0 (2004-2026)\n"
    )


def test_calendar_status_warns_from_60_days_before_the_last_covered_day() -> None:
    code, out = cli("calendar", "status", "--on", "2026-12-07")
    assert code == 0
    assert out.splitlines() == [
        "last covered day: 2026-12-31 (24 days from 2026-12-07)",
        "data: chinesecalendar 1.11.0 (2004-2026)",
        "warning: the working-day calendar ends on 2026-12-31, in 24 days: deadlines after "
        "that day cannot be computed and commands that need one fail; load the State Council "
        "notice for 2027 as a calendar override (docs/calendar.md) or upgrade the holiday data",
    ]


def test_calendar_status_with_next_years_notice() -> None:
    example = files("creditcommit") / "data" / "calendar-2027.example.toml"
    with as_file(example) as path:
        code, out = cli("calendar", "status", "--on", "2026-12-07", "--override", str(path))
    assert code == 0
    assert out.splitlines()[0] == "last covered day: 2027-12-31 (389 days from 2026-12-07)"
    assert "warning" not in out


# --- 9: commitment letters that cannot be forged ------------------------------------------


def edit_letter(db: Path, case_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the stored signed letter of ``case_id``, as a forger would who also rewrites what
    refers to it: the letter is a document stored once by digest (schema 4), so the forger
    stores the changed letter under its new digest and points the commitment-signed event
    and the case's projection at it (the hash chain breaks; reads do not walk it)."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        position, payload = conn.execute(
            "SELECT position, payload FROM events WHERE stream = ? AND type = ?",
            (case_id, "commitment-signed-ref"),
        ).fetchone()
        data = json.loads(payload)
        old = data["commitment_document"]
        (text,) = conn.execute("SELECT body FROM documents WHERE digest = ?", (old,)).fetchone()
        letter = json.loads(text)
        change(letter)
        new_text = canonical_json(letter)
        new = hashlib.sha256(new_text.encode("utf-8")).hexdigest()
        conn.execute(
            "UPDATE documents SET digest = ?, body = ? WHERE digest = ?", (new, new_text, old)
        )
        data["commitment_document"] = new
        conn.execute(
            "UPDATE events SET payload = ? WHERE position = ?",
            (canonical_json(data), position),
        )
        (body,) = conn.execute(
            "SELECT body FROM projections WHERE stream = ?", (case_id,)
        ).fetchone()
        projected = json.loads(body)
        assert projected["commitment"] == {"document": old}
        projected["commitment"] = {"document": new}
        conn.execute(
            "UPDATE projections SET body = ? WHERE stream = ?",
            (canonical_json(projected), case_id),
        )


def test_a_letter_changed_in_its_document_is_tampered_and_verify_names_its_event(
    tmp_path: Path, clock: ManualClock
) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock, autoload=False) as service:
        case = accepted(service, HOTEL)
        signed = next(e for e in service.history(case.case_id) if e.type == "commitment-signed-ref")
    with contextlib.closing(sqlite3.connect(tmp_path / "cases.db")) as conn, conn:
        changed = conn.execute(
            "UPDATE documents SET body = replace(body, '10月30日', '12月31日') WHERE stream = ?",
            (case.case_id,),
        ).rowcount
        assert changed == 1
    with reopen(tmp_path, clock) as again:
        with pytest.raises(TamperedCommitment, match="does not match the digest"):
            again.case(case.case_id)
        report = again.verify()
    assert not report.ok
    assert report.stream == case.case_id
    assert report.first_bad is not None
    assert report.first_bad.position == signed.position
    assert report.problem is not None
    assert "the document was changed" in report.problem


def reopen(directory: Path, clock: ManualClock) -> Approvals:
    return Approvals.from_config(directory / "creditcommit.toml", clock=clock, autoload=False)


def test_the_service_signs_the_letter_with_the_citys_provider(service: Approvals) -> None:
    case = accepted(service, HOTEL)
    assert case.commitment is not None
    assert case.commitment.signature is not None
    assert case.commitment.signature.algorithm == "hmac-sha256"
    assert case.commitment.verify(service.integrations.signature_provider(CITY))
    assert service.case(case.case_id) == case


def test_without_a_key_nothing_is_signed_and_nothing_stored(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV)
    with Approvals.from_config(prepare(tmp_path), clock=clock, autoload=False) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        size = log_size(service)
        with pytest.raises(SigningKeyMissing) as raised:
            service.sign_commitment(case.case_id, Signer(HOTEL.name, HOTEL.identifier))
        assert raised.value.variable == SIGNING_KEY_ENV
        assert log_size(service) == size
        assert service.case(case.case_id).state is CaseState.DECIDED


@pytest.mark.parametrize(
    ("what", "change"),
    [
        (
            "the deadline in the terms",
            lambda c: c["letter"]["terms"].update(verification_due="2025-12-31"),
        ),
        ("the text", lambda c: c.update(text=c["text"].replace("10月30日", "12月31日"))),
        (
            "the text and its digest",
            lambda c: c.update(
                text=(text := c["text"].replace("10月30日", "12月31日")),
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            ),
        ),
        ("the signer", lambda c: c["signer"].update(name="另一个人")),
    ],
)
def test_replaying_a_case_whose_letter_was_changed_raises_tampered_commitment(
    tmp_path: Path, clock: ManualClock, what: str, change: Callable[[dict[str, Any]], None]
) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock, autoload=False) as service:
        case = accepted(service, HOTEL)
    edit_letter(tmp_path / "cases.db", case.case_id, change)
    with Approvals.from_config(
        tmp_path / "creditcommit.toml", clock=clock, autoload=False
    ) as again:
        with pytest.raises(TamperedCommitment) as raised:
            again.case(case.case_id)
        assert raised.value.case_id == case.case_id, what
        assert str(raised.value).startswith(
            f"case {case.case_id}: the signed commitment letter does not verify: "
        )
        with pytest.raises(TamperedCommitment):
            again.cases()


def test_a_letter_signed_with_another_key_does_not_verify(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock, autoload=False) as service:
        case = accepted(service, HOTEL)
    monkeypatch.setenv(SIGNING_KEY_ENV, "a forger's key, not the agency's")
    with (
        Approvals.from_config(tmp_path / "creditcommit.toml", clock=clock, autoload=False) as again,
        pytest.raises(TamperedCommitment) as raised,
    ):
        again.case(case.case_id)
    assert "signed with another key" in str(raised.value)


def test_a_letter_stored_before_signatures_still_loads_as_legacy(
    tmp_path: Path, clock: ManualClock
) -> None:
    with Approvals.from_config(prepare(tmp_path), clock=clock, autoload=False) as service:
        case = accepted(service, HOTEL)
    edit_letter(tmp_path / "cases.db", case.case_id, lambda c: c.pop("signature"))
    with Approvals.from_config(
        tmp_path / "creditcommit.toml", clock=clock, autoload=False
    ) as again:
        loaded = again.case(case.case_id)
        assert loaded.commitment is not None
        assert loaded.commitment.legacy
        assert loaded.commitment.intact()
        # Its text is still checked against its digest.
        edit_letter(tmp_path / "cases.db", case.case_id, lambda c: c.update(text=c["text"] + "。"))
        with pytest.raises(TamperedCommitment, match="its text does not match the SHA-256"):
            again.case(case.case_id)


def test_a_key_file_in_the_configuration_signs_without_the_environment(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV)
    config = prepare(tmp_path)
    (tmp_path / "signing.key").write_text("the agency's key from a file\n", encoding="utf-8")
    config.write_text(
        config.read_text(encoding="utf-8")
        + '[plugins.builtin]\nsigning_key_file = "signing.key"\n',
        encoding="utf-8",
    )
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        case = accepted(service, HOTEL)
        assert case.commitment is not None
        assert case.commitment.verify(service.integrations.signature_provider(CITY))
    (tmp_path / "signing.key").unlink()
    with pytest.raises(PluginError, match=r"signing\.key"):
        Approvals.from_config(config, clock=clock, autoload=False)


def test_the_demo_and_the_commands_it_suggests_work_with_nothing_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SIGNING_KEY_ENV)
    where = tmp_path / "demo"
    code, out = cli("demo", "--dir", str(where))
    assert code == 0
    assert "哈希链完整" in out
    config = str(where / "creditcommit.toml")
    code, out = cli("--config", config, "case", "list")
    assert code == 0
    assert out.strip()
