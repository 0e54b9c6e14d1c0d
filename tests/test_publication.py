"""Tests for creditcommit.publication: what is published, masked, by when, and taken down."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcommit.calendar import WorkingCalendar
from creditcommit.catalog import ApprovalItem, Catalog
from creditcommit.credit import CreditRecord, CreditRecordKind, PublicityPeriod, Severity
from creditcommit.decision import Applicant, ApplicantKind
from creditcommit.draws import Conflict, DrawRecord, Inspector, SeedCommitment, Target
from creditcommit.draws import draw as run_draw
from creditcommit.effective import LegalReference
from creditcommit.errors import CalendarCoverageError, InvalidValue
from creditcommit.identifiers import uscc_check_char
from creditcommit.policy import Policy, PublicationDeadlines
from creditcommit.publication import (
    LONG_TERM,
    Publication,
    PublicationKind,
    PublicationSchedule,
    Withdrawal,
    WithdrawalReason,
    dishonesty_record,
    inspection_result,
    licence_decision,
    revocation,
    withdrawal,
)
from creditcommit.testing.strategies import resident_ids, uscc_codes
from hostile import normalised_digits, typed_resident_id

CAL = WorkingCalendar.china()
DEADLINES = PublicationDeadlines(dual_publicity=7, enterprise_information=20, withdrawal=3)
# A Jiangdu licence: the project filing (企业投资项目备案) is a filing, not published as a
# 行政许可决定 (see tests/test_filing.py).
ITEM: ApprovalItem = Catalog.yangzhou().item("321012-SGXK", dt.date(2025, 9, 29))
USCC = "91310110666007217T"
RID = "11010519491231002X"
RID_MASKED = "110105********002X"
COMPANY = Applicant(USCC, "扬州甲科技有限公司", ApplicantKind.LEGAL_PERSON)
PERSON = Applicant(RID, "张三", ApplicantKind.NATURAL_PERSON)
DAY = dt.date(2025, 9, 29)  # a Monday just before the National Day break

# Days the calendar data covers with room for deadlines and periods (chinesecalendar: to 2026).
decision_days = st.dates(min_value=dt.date(2005, 1, 1), max_value=dt.date(2025, 11, 30))


def licence(**changes: Any) -> Publication:
    facts: dict[str, Any] = {
        "decision_number": "扬江审许〔2025〕101号",
        "item": ITEM,
        "applicant": COMPANY,
        "decided_on": DAY,
        "local_code": "321012",
        "calendar": CAL,
        "deadlines": DEADLINES,
        "legal_representative": "李四",
    }
    return licence_decision(**(facts | changes))


def revoked(**changes: Any) -> Publication:
    facts: dict[str, Any] = {
        "decision_number": "扬江审撤〔2025〕3号",
        "licence_number": "扬江审许〔2025〕101号",
        "item": ITEM,
        "applicant": COMPANY,
        "grounds": "以虚假承诺取得行政许可",
        "legal_basis": LegalReference("中华人民共和国行政许可法", "第六十九条第二款"),
        "decided_on": DAY,
        "local_code": "321012",
        "calendar": CAL,
        "deadlines": DEADLINES,
    }
    return revocation(**(facts | changes))


def record(**changes: Any) -> CreditRecord:
    facts: dict[str, Any] = {
        "record_id": "R-2025-001",
        "subject": USCC,
        "kind": CreditRecordKind.FALSE_COMMITMENT,
        "severity": Severity.SERIOUS,
        "decided_on": DAY,
        "authority": "扬州市江都区行政审批局",
        "legal_basis": "中华人民共和国行政许可法 第六十九条第二款",
        "description": "承诺已取得环评批复，经核查不实",
    }
    return CreditRecord.with_default_periods(**(facts | changes))


def dishonest(rec: CreditRecord | None = None, **changes: Any) -> Publication:
    facts: dict[str, Any] = {
        "subject_name": "扬州甲科技有限公司",
        "local_code": "321012",
        "calendar": CAL,
        "deadlines": DEADLINES,
    }
    return dishonesty_record(record() if rec is None else rec, **(facts | changes))


def inspected(**changes: Any) -> Publication:
    facts: dict[str, Any] = {
        "draw_id": "JD-2025-07",
        "target_name": "扬州甲科技有限公司",
        "target_code": USCC,
        "inspectors": ["王五", "赵六"],
        "result": "未发现问题",
        "inspected_on": DAY,
        "authority": "扬州市江都区市场监督管理局",
        "local_code": "321012",
        "calendar": CAL,
        "deadlines": DEADLINES,
    }
    return inspection_result(**(facts | changes))


BUILDERS: dict[PublicationKind, Callable[..., Publication]] = {
    PublicationKind.LICENCE_DECISION: licence,
    PublicationKind.REVOCATION: revoked,
    PublicationKind.DISHONESTY_RECORD: lambda **c: dishonest(record(decided_on=c["decided_on"])),
    PublicationKind.INSPECTION_RESULT: lambda **c: inspected(inspected_on=c["decided_on"]),
}


def invalid(call: Callable[[], object]) -> InvalidValue:
    with pytest.raises(InvalidValue) as info:
        call()
    return info.value


# --------------------------------------------------------------------------- payload snapshots


def test_licence_decision_payload_snapshot() -> None:
    assert licence(valid_until=dt.date(2030, 9, 28), remarks="容缺受理").payload() == {
        "schema": 1,
        "kind": "licence-decision",
        "key": "321012/licence-decision/扬江审许〔2025〕101号",
        "decided_on": "2025-09-29",
        "publish_by": "2025-10-15",
        "ends_on": "2030-09-29",
        "fields": {
            "decision_number": "扬江审许〔2025〕101号",
            "project_name": "建筑工程施工许可证核发",
            "approval_category": "普通",
            "content": "建筑工程施工许可证核发",
            "counterparty_name": "扬州甲科技有限公司",
            "counterparty_kind": "legal-person",
            "counterparty_code": USCC,
            "legal_representative": "李四",
            "decision_date": "2025-09-29",
            "valid_until": "2030-09-28",
            "authority": "扬州市江都区行政审批局",
            "status": "正常",
            "local_code": "321012",
            "remarks": "容缺受理",
        },
        "extra": {},
    }


def test_revocation_payload_snapshot() -> None:
    assert revoked().payload() == {
        "schema": 1,
        "kind": "revocation",
        "key": "321012/revocation/扬江审撤〔2025〕3号",
        "decided_on": "2025-09-29",
        "publish_by": "2025-10-15",
        "ends_on": "2028-09-29",
        "fields": {
            "decision_number": "扬江审撤〔2025〕3号",
            "licence_number": "扬江审许〔2025〕101号",
            "project_name": "建筑工程施工许可证核发",
            "counterparty_name": "扬州甲科技有限公司",
            "counterparty_kind": "legal-person",
            "counterparty_code": USCC,
            "legal_representative": None,
            "grounds": "以虚假承诺取得行政许可",
            "legal_basis": "中华人民共和国行政许可法 第六十九条第二款",
            "decision_date": "2025-09-29",
            "authority": "扬州市江都区行政审批局",
            "publicity_ends_on": "2028-09-29",
            "local_code": "321012",
            "remarks": None,
        },
        "extra": {},
    }


def test_dishonesty_record_payload_snapshot() -> None:
    assert dishonest().payload() == {
        "schema": 1,
        "kind": "dishonesty-record",
        "key": "321012/dishonesty-record/R-2025-001",
        "decided_on": "2025-09-29",
        "publish_by": "2025-10-15",
        "ends_on": "2028-09-29",
        "fields": {
            "record_id": "R-2025-001",
            "subject_name": "扬州甲科技有限公司",
            "subject_code": USCC,
            "record_kind": "false_commitment",
            "severity": "serious",
            "facts": "承诺已取得环评批复，经核查不实",
            "legal_basis": "中华人民共和国行政许可法 第六十九条第二款",
            "decision_date": "2025-09-29",
            "authority": "扬州市江都区行政审批局",
            "repairable_from": "2026-09-29",
            "publicity_ends_on": "2028-09-29",
            "local_code": "321012",
            "remarks": None,
        },
        "extra": {},
    }


def test_inspection_result_payload_snapshot() -> None:
    assert inspected(extra={"抽查事项": "企业公示信息抽查"}).payload() == {
        "schema": 1,
        "kind": "inspection-result",
        "key": f"321012/inspection-result/JD-2025-07/{USCC}",
        "decided_on": "2025-09-29",
        "publish_by": "2025-11-03",
        "ends_on": None,
        "fields": {
            "draw_id": "JD-2025-07",
            "target_name": "扬州甲科技有限公司",
            "target_code": USCC,
            "inspectors": ["王五", "赵六"],
            "result": "未发现问题",
            "inspection_date": "2025-09-29",
            "authority": "扬州市江都区市场监督管理局",
            "local_code": "321012",
            "remarks": None,
        },
        "extra": {"抽查事项": "企业公示信息抽查"},
    }


def test_withdrawal_payload_snapshot() -> None:
    notice = withdrawal(
        licence(),
        dt.date(2025, 12, 31),
        WithdrawalReason.REVOKED,
        CAL,
        DEADLINES,
        note="见撤销决定",
    )
    assert notice.payload() == {
        "schema": 1,
        "kind": "withdrawal",
        "key": "321012/licence-decision/扬江审许〔2025〕101号/withdrawal",
        "withdraws": "321012/licence-decision/扬江审许〔2025〕101号",
        "withdrawn_kind": "licence-decision",
        "reason": "revoked",
        "reason_zh": "决定被撤销",
        "on": "2025-12-31",
        "publish_by": "2026-01-06",
        "identifies": {"decision_number": "扬江审许〔2025〕101号"},
        "note": "见撤销决定",
    }


@pytest.mark.parametrize("kind", list(PublicationKind))
def test_payload_field_names_are_the_kinds_layout_in_order(kind: PublicationKind) -> None:
    payload = BUILDERS[kind](decided_on=DAY).payload()
    assert list(payload) == [
        "schema",
        "kind",
        "key",
        "decided_on",
        "publish_by",
        "ends_on",
        "fields",
        "extra",
    ]
    assert tuple(payload["fields"]) == kind.fields
    assert payload["kind"] == kind.value
    # JSON-ready as it is: no dates, tuples or mapping proxies left.
    assert json.loads(json.dumps(payload, ensure_ascii=False)) == payload


def test_kinds_name_their_topic_label_and_deadline_setting() -> None:
    assert [k.value for k in PublicationKind] == [
        "licence-decision",
        "revocation",
        "dishonesty-record",
        "inspection-result",
    ]
    assert PublicationKind.LICENCE_DECISION.label_zh == "行政许可决定"
    assert PublicationKind.INSPECTION_RESULT.label_zh == "抽查检查结果"
    assert {k: k.deadline_setting for k in PublicationKind} == {
        PublicationKind.LICENCE_DECISION: "dual_publicity",
        PublicationKind.REVOCATION: "dual_publicity",
        PublicationKind.DISHONESTY_RECORD: "dual_publicity",
        PublicationKind.INSPECTION_RESULT: "enterprise_information",
    }
    for kind in PublicationKind:
        assert hasattr(DEADLINES, kind.deadline_setting)
    assert WithdrawalReason.PERIOD_ENDED.label_zh == "公示期满"


# --------------------------------------------------------------------------- masking


def test_resident_id_of_a_natural_person_is_masked_everywhere() -> None:
    p = licence(applicant=PERSON, legal_representative=None, key=f"case/{RID}")
    fields = p.payload()["fields"]
    assert fields["counterparty_code"] == RID_MASKED
    assert fields["counterparty_kind"] == "natural-person"
    assert p.key == f"case/{RID_MASKED}"
    assert RID not in repr(p)
    assert RID not in json.dumps(p.payload(), ensure_ascii=False)


def test_a_uscc_is_published_as_it_is() -> None:
    for p in (licence(), revoked(), dishonest(), inspected()):
        assert USCC in json.dumps(p.payload(), ensure_ascii=False)


def test_legal_representative_given_as_an_id_is_masked() -> None:
    p = licence(legal_representative=f"李四（{RID}）")
    assert p.fields["legal_representative"] == f"李四（{RID_MASKED}）"


def texts(value: Any) -> Iterator[str]:
    """Every text in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


# Text around a typed number: anything that ends a run of digits (letters, Chinese,
# punctuation), so the number is the whole run or stands between separators.
AROUND = "甲（申请人：，。ABN号码/"


# Every publication kind and the draw record, every text field: each example publishes 13
# payloads (6 publications, their 6 withdrawals and a draw record), so the ci profile's 770
# examples check 10,010 payloads.
PAYLOADS_PER_EXAMPLE = 13
# make test runs 100 examples (1,300 payloads); the slow run that CI makes (make test-slow)
# runs 770 (10,010 payloads).
MASKING_EXAMPLES = 100
MASKING_EXAMPLES_SOAK = -(-10_000 // PAYLOADS_PER_EXAMPLE)


def draw_record(t: Callable[[], str]) -> DrawRecord:
    seed = b"s" * 32
    targets = [Target(f"甲{t()}", "A", tags=(t(),)), Target(f"乙{t()}", "A")]
    roster = [Inspector(f"I{i}", t(), fields=(t(),)) for i in range(3)]
    return run_draw(
        targets,
        ratios={"A": 1},
        inspectors=roster,
        conflicts=[Conflict("I0", targets[1].id, t())],
        seed=seed,
        commitment=SeedCommitment.create(seed).digest,
        draw_id=t(),
    )


@settings(max_examples=MASKING_EXAMPLES, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sampled_from(ApplicantKind), resident_ids(), uscc_codes())
def test_no_payload_contains_an_unmasked_resident_id(
    seed: int, kind: ApplicantKind, person: str, organisation: str
) -> None:
    rnd = random.Random(seed)
    numbers: list[str] = []

    def t() -> str:
        number, written = typed_resident_id(rnd)
        numbers.append(number)
        left = "".join(rnd.choices(AROUND, k=rnd.randrange(4)))
        right = "".join(rnd.choices(AROUND, k=rnd.randrange(4)))
        return f"{left}{written}{right}".strip()

    if kind is ApplicantKind.NATURAL_PERSON:
        identifier = person
        numbers.append(identifier)
    else:
        identifier = organisation
    applicant = Applicant(identifier, t(), kind)
    extra = {t(): [t(), {t(): t(), "n": 1}], "nested": {"deeper": [[t()]]}}
    rec = record(record_id=t(), subject=t(), authority=t(), legal_basis=t(), description=t())
    built = [
        licence(
            decision_number=t(),
            applicant=applicant,
            legal_representative=t(),
            project_name=t(),
            content=t(),
            approval_category=t(),
            authority=t(),
            status=t(),
            remarks=t(),
            extra=extra,
        ),
        licence(applicant=applicant, key=t()),
        revoked(
            decision_number=t(),
            licence_number=t(),
            applicant=applicant,
            grounds=t(),
            legal_basis=t(),
            legal_representative=t(),
            authority=t(),
            remarks=t(),
            extra=extra,
        ),
        dishonest(rec, subject_name=t(), remarks=t(), extra=extra),
        dishonest(rec, subject_name=t(), legal_basis=t(), authority=t(), key=t()),
        inspected(
            draw_id=t(),
            target_name=t(),
            target_code=t(),
            inspectors=[t(), t(), t()],
            result=t(),
            authority=t(),
            remarks=t(),
            extra=extra,
        ),
    ]
    notices = [
        withdrawal(p, DAY, WithdrawalReason.CHANGED, CAL, DEADLINES, note=t()) for p in built
    ]
    payloads = [p.payload() for p in built] + [w.payload() for w in notices]
    payloads.append(draw_record(t).publication_payload())
    assert len(payloads) == PAYLOADS_PER_EXAMPLE
    for payload in payloads:
        flat = normalised_digits(json.dumps(payload, ensure_ascii=False))
        for number in numbers:
            birth = 8 if len(number) == 18 else 6
            assert number[: 6 + birth] not in flat
    for obj in [*built, *notices]:
        shown = normalised_digits(repr(obj))
        assert all(number[:12] not in shown for number in numbers)


@pytest.mark.slow
@settings(max_examples=MASKING_EXAMPLES_SOAK, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sampled_from(ApplicantKind), resident_ids(), uscc_codes())
def test_no_payload_of_ten_thousand_contains_an_unmasked_resident_id(
    seed: int, kind: ApplicantKind, person: str, organisation: str
) -> None:
    test_no_payload_contains_an_unmasked_resident_id.hypothesis.inner_test(  # type: ignore[attr-defined]
        seed, kind, person, organisation
    )


def test_an_organisations_code_is_never_defaced() -> None:
    # An all-digit USCC whose positions 1-14 also read as a province and a birth date: in
    # free text it is masked (the safe error), in the field declared to hold the
    # organisation's code it is validated as a USCC and published as it is.
    first17 = "11010519491231000"
    code = first17 + uscc_check_char(first17)
    assert code[-1].isdigit()
    company = Applicant(code, "北京某事业单位", ApplicantKind.LEGAL_PERSON)
    for p in (licence(applicant=company), revoked(applicant=company)):
        assert p.fields["counterparty_code"] == code
        assert p.payload()["fields"]["counterparty_code"] == code
    assert licence(applicant=company, remarks=code).fields["remarks"] != code


def test_a_draw_record_is_published_masked_and_stored_in_full() -> None:
    rid = "11010519491231002X"
    texts = iter([rid, "t", "t2", "王五", "f", "赵六", "f", "孙七", "f", "近亲属", "D-1"])
    record = draw_record(lambda: next(texts))
    assert rid in json.dumps(record.to_dict())
    published = json.dumps(record.publication_payload(), ensure_ascii=False)
    assert rid not in published
    assert "甲110105********002X" in published


def test_masking_leaves_other_numbers_alone() -> None:
    p = licence(remarks="电话 0514-86888888，投资额 200000000 元")
    assert p.fields["remarks"] == "电话 0514-86888888，投资额 200000000 元"


def test_fields_are_frozen_and_payload_is_a_copy() -> None:
    p = inspected()
    with pytest.raises(TypeError):
        p.fields["result"] = "x"  # type: ignore[index]
    payload = p.payload()
    payload["fields"]["inspectors"].append("钱七")
    assert p.fields["inspectors"] == ("王五", "赵六")
    assert p.payload()["fields"]["inspectors"] == ["王五", "赵六"]
    assert hash(p) == hash(inspected())
    assert p == inspected()


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("kind", "decided_on", "publish_by"),
    [
        # 7 working days over the 2025 National Day break (Oct 1-8 off, Sat Oct 11 worked).
        (PublicationKind.LICENCE_DECISION, dt.date(2025, 9, 29), dt.date(2025, 10, 15)),
        (PublicationKind.REVOCATION, dt.date(2025, 9, 29), dt.date(2025, 10, 15)),
        (PublicationKind.DISHONESTY_RECORD, dt.date(2025, 9, 29), dt.date(2025, 10, 15)),
        # Decided on a holiday: counting starts on the day after, as for any other day.
        (PublicationKind.LICENCE_DECISION, dt.date(2025, 10, 1), dt.date(2025, 10, 16)),
        # Over the 2026 Spring Festival (Feb 15-23 off, Sat Feb 14 and Feb 28 worked).
        (PublicationKind.LICENCE_DECISION, dt.date(2026, 2, 13), dt.date(2026, 3, 2)),
        # 20 working days for an inspection result.
        (PublicationKind.INSPECTION_RESULT, dt.date(2025, 9, 29), dt.date(2025, 11, 3)),
        # Over New Year 2026 (Jan 1-3 off, Sun Jan 4 worked).
        (PublicationKind.INSPECTION_RESULT, dt.date(2025, 12, 31), dt.date(2026, 1, 29)),
    ],
)
def test_deadlines_match_the_calendar_vectors(
    kind: PublicationKind, decided_on: dt.date, publish_by: dt.date
) -> None:
    p = BUILDERS[kind](decided_on=decided_on)
    assert (p.decided_on, p.publish_by) == (decided_on, publish_by)


@given(
    kind=st.sampled_from(PublicationKind),
    decided_on=decision_days,
    override=st.none() | st.integers(0, 30),
)
def test_publish_by_is_never_before_the_decision_day(
    kind: PublicationKind, decided_on: dt.date, override: int | None
) -> None:
    if override is None:
        p = BUILDERS[kind](decided_on=decided_on)
    else:
        p = _rebuilt(kind, decided_on, override)
    n = getattr(DEADLINES, kind.deadline_setting) if override is None else override
    assert p.publish_by >= p.decided_on
    assert CAL.working_days_between(p.decided_on, p.publish_by) == n
    if n > 0:
        assert CAL.is_working_day(p.publish_by)
        assert CAL.working_days_between(p.decided_on, p.publish_by - dt.timedelta(1)) == n - 1


def _rebuilt(kind: PublicationKind, decided_on: dt.date, n: int) -> Publication:
    if kind is PublicationKind.LICENCE_DECISION:
        return licence(decided_on=decided_on, working_days=n)
    if kind is PublicationKind.REVOCATION:
        return revoked(decided_on=decided_on, working_days=n)
    if kind is PublicationKind.DISHONESTY_RECORD:
        return dishonest(record(decided_on=decided_on), working_days=n)
    return inspected(inspected_on=decided_on, working_days=n)


def test_zero_working_days_is_the_decision_day_even_on_a_holiday() -> None:
    holiday = dt.date(2025, 10, 1)
    assert not CAL.is_working_day(holiday)
    assert licence(decided_on=holiday, working_days=0).publish_by == holiday


def test_deadlines_come_from_the_policy_snapshot() -> None:
    # The same value as Policy.sample().at(DAY).publication_working_days.
    in_force = Policy.sample().timeline("publication_working_days").at(DAY)
    p = licence(deadlines=in_force)
    assert in_force == DEADLINES
    assert p.publish_by == dt.date(2025, 10, 15)
    slower = PublicationDeadlines(dual_publicity=20, enterprise_information=20, withdrawal=3)
    assert licence(deadlines=slower).publish_by == dt.date(2025, 11, 3)


def test_a_deadline_outside_the_calendar_data_fails_closed() -> None:
    last = CAL.years[-1]
    with pytest.raises(CalendarCoverageError) as info:
        licence(decided_on=dt.date(last, 12, 28))
    assert str(info.value).startswith(f"no official holiday data for {last + 1}")


# --------------------------------------------------------------------------- end of publicity


def test_licence_expiry_ends_publicity_the_day_after() -> None:
    p = licence(valid_until=dt.date(2030, 9, 28))
    assert p.ends_on == dt.date(2030, 9, 29)
    assert p.fields["valid_until"] == "2030-09-28"


@pytest.mark.parametrize("valid_until", [None, LONG_TERM])
def test_long_term_licence_is_published_as_2099_12_31_without_end(
    valid_until: dt.date | None,
) -> None:
    p = licence(valid_until=valid_until)
    assert p.ends_on is None
    assert p.fields["valid_until"] == "2099-12-31"


def test_licence_valid_only_on_its_decision_day() -> None:
    assert licence(valid_until=DAY).ends_on == DAY + dt.timedelta(1)


def test_revocation_period_is_configurable() -> None:
    p = revoked(publicity_months=12)
    assert p.ends_on == dt.date(2026, 9, 29)
    assert p.fields["publicity_ends_on"] == "2026-09-29"


def test_dishonesty_record_runs_until_its_publicity_ends() -> None:
    rec = record(severity=Severity.GENERAL, decided_on=dt.date(2026, 5, 31))
    p = dishonest(rec)
    assert p.ends_on == rec.publicity_ends_on == dt.date(2027, 5, 31)
    assert p.fields["repairable_from"] == "2026-08-31"
    assert p.fields["publicity_ends_on"] == "2027-05-31"


def test_dishonesty_record_basis_and_authority_can_be_given_here() -> None:
    rec = record(authority=None, legal_basis=None, description=None)
    p = dishonest(
        rec, authority="扬州市市场监督管理局", legal_basis=LegalReference("条例", "第六条")
    )
    assert p.fields["authority"] == "扬州市市场监督管理局"
    assert p.fields["legal_basis"] == "条例 第六条"
    assert p.fields["facts"] is None


def test_inspection_result_may_have_a_publicity_period() -> None:
    assert inspected().ends_on is None
    assert inspected(publicity_months=3).ends_on == dt.date(2025, 12, 29)


# --------------------------------------------------------------------------- errors


def test_blank_decision_number_is_rejected() -> None:
    error = invalid(lambda: licence(decision_number="  "))
    assert str(error) == (
        "invalid Publication: decision_number: expected a non-empty decision number, got '  '"
    )


def test_every_problem_is_reported_at_once() -> None:
    error = invalid(
        lambda: licence(
            decision_number="",
            local_code="3210",
            remarks="",
            applicant=Applicant(USCC, " "),
            valid_until=dt.date(2025, 9, 1),
        )
    )
    assert str(error).endswith("(and 4 more)")
    assert [p.path for p in error.problems] == [
        "local_code",
        "remarks",
        "decision_number",
        "applicant.name",
        "valid_until",
    ]
    assert error.kind == "Publication"


def test_local_code_must_be_a_division_code() -> None:
    error = invalid(lambda: licence(local_code="江都"))
    assert str(error) == (
        "invalid Publication: local_code: expected a six-digit administrative division code "
        "(GB/T 2260), got '江都'"
    )


def test_expiry_before_the_decision_is_rejected() -> None:
    error = invalid(lambda: licence(valid_until=dt.date(2025, 9, 28)))
    assert str(error) == (
        "invalid Publication: valid_until: 2025-09-28 is before the decision day 2025-09-29"
    )


def test_a_datetime_is_not_a_decision_day() -> None:
    error = invalid(lambda: licence(decided_on=dt.datetime(2025, 9, 29, 10, 0)))
    assert str(error) == (
        "invalid Publication: decided_on: expected a date, got "
        "datetime.datetime(2025, 9, 29, 10, 0)"
    )


def test_negative_working_days_are_rejected() -> None:
    error = invalid(lambda: licence(working_days=-1))
    assert str(error) == (
        "invalid Publication: working_days: expected 0 or more working days, got -1"
    )


def test_revocation_needs_a_legal_basis() -> None:
    error = invalid(lambda: revoked(legal_basis=" "))
    assert str(error) == (
        "invalid Publication: legal_basis: expected a non-empty legal basis, got ' '"
    )


def test_revocation_period_must_be_a_month_or_more() -> None:
    error = invalid(lambda: revoked(publicity_months=0))
    assert str(error) == ("invalid Publication: publicity_months: expected at least 1 month, got 0")


def test_dishonesty_record_needs_a_basis_and_an_authority() -> None:
    error = invalid(lambda: dishonest(record(authority=None, legal_basis=None)))
    assert str(error) == (
        "invalid Publication: legal_basis: expected a non-empty legal basis (here or on the "
        "record), got None (and 1 more)"
    )
    assert error.problems[1].path == "authority"


def test_a_record_without_publicity_period_is_not_published() -> None:
    rec = record(severity=Severity.MINOR, periods={Severity.MINOR: PublicityPeriod(0, 0)})
    error = invalid(lambda: dishonest(rec))
    assert str(error) == (
        "invalid Publication: record: record 'R-2025-001' is not published: it has no "
        "publicity period (maximum 0 months)"
    )


def test_a_record_repaired_on_its_decision_day_is_not_published() -> None:
    error = invalid(lambda: dishonest(record(repaired_on=DAY)))
    assert str(error) == (
        "invalid Publication: record: record 'R-2025-001' is not published: it was repaired "
        "on its decision day"
    )


def test_inspection_needs_two_inspectors() -> None:
    error = invalid(lambda: inspected(inspectors=["王五"]))
    assert str(error) == (
        "invalid Publication: inspectors: expected at least two inspectors (行政处罚法 Art 42), "
        "got 1"
    )


def test_inspector_names_must_not_be_blank() -> None:
    error = invalid(lambda: inspected(inspectors=["王五", ""]))
    assert str(error) == (
        "invalid Publication: inspectors[1]: expected a non-empty inspector's name, got ''"
    )


def test_inspection_date_is_reported_under_its_own_name() -> None:
    error = invalid(lambda: inspected(inspected_on="2025-09-29"))
    assert str(error) == "invalid Publication: inspected_on: expected a date, got '2025-09-29'"


def test_blank_text_in_extra_is_rejected_with_its_path() -> None:
    error = invalid(lambda: licence(extra={"许可证书": [{"编号": "A1"}, {"编号": " "}]}))
    assert str(error) == (
        "invalid Publication: extra.许可证书[1].编号: expected a non-empty text or nothing "
        "(None), got ' '"
    )


def test_extra_must_be_json_data() -> None:
    error = invalid(lambda: licence(extra={"amount": float("nan"), "when": object}))
    assert [str(p) for p in error.problems] == [
        "extra.amount: expected a number, got nan",
        "extra.when: expected text, a number, a date, a list or a table, got <class 'object'>",
    ]


def test_publication_publish_by_before_the_decision_is_rejected() -> None:
    p = licence()
    error = invalid(lambda: attrs.evolve(p, publish_by=dt.date(2025, 9, 28)))
    assert str(error) == (
        "invalid Publication: publish_by: 2025-09-28 is before the decision day 2025-09-29"
    )


def test_publication_ends_on_must_be_after_the_decision() -> None:
    error = invalid(lambda: attrs.evolve(licence(), ends_on=DAY))
    assert str(error) == (
        "invalid Publication: ends_on: expected after the decision day 2025-09-29 (the first "
        "day the entry is no longer published), got 2025-09-29"
    )


def test_publication_fields_must_follow_the_layout() -> None:
    fields = dict(licence().fields)
    del fields["status"]
    fields["mobile"] = "138"
    error = invalid(lambda: attrs.evolve(licence(), fields=fields))
    assert [str(p) for p in error.problems] == [
        "fields: missing status",
        "fields: unexpected mobile for a licence-decision (put local fields in extra)",
    ]


def test_publication_key_must_not_be_blank() -> None:
    error = invalid(lambda: attrs.evolve(licence(), key=""))
    assert str(error) == "invalid Publication: key: expected a non-empty key, got ''"


def test_explicit_blank_key_is_rejected_by_the_builder() -> None:
    error = invalid(lambda: licence(key=" "))
    assert str(error) == "invalid Publication: key: expected a non-empty key (or None), got ' '"


# --------------------------------------------------------------------------- withdrawal


@pytest.mark.parametrize(
    ("on", "publish_by"),
    [
        (dt.date(2025, 12, 31), dt.date(2026, 1, 6)),  # New Year: Jan 1-3 off, Sun Jan 4 worked
        (dt.date(2025, 9, 30), dt.date(2025, 10, 11)),  # a make-up Saturday is a working day
        (dt.date(2025, 9, 29), dt.date(2025, 10, 10)),
    ],
)
def test_withdrawal_deadline_is_three_working_days(on: dt.date, publish_by: dt.date) -> None:
    notice = withdrawal(licence(), on, WithdrawalReason.CHANGED, CAL, DEADLINES)
    assert (notice.on, notice.publish_by) == (on, publish_by)
    assert notice.key == "321012/licence-decision/扬江审许〔2025〕101号/withdrawal"
    assert notice.identifies == {"decision_number": "扬江审许〔2025〕101号"}


@given(
    decided_on=decision_days,
    delay=st.integers(0, 40),
    reason=st.sampled_from([r for r in WithdrawalReason if r is not WithdrawalReason.PERIOD_ENDED]),
)
def test_withdrawal_deadline_counts_working_days_from_the_event(
    decided_on: dt.date, delay: int, reason: WithdrawalReason
) -> None:
    p = dishonest(record(decided_on=decided_on))
    on = decided_on + dt.timedelta(delay)
    notice = withdrawal(p, on, reason, CAL, DEADLINES)
    assert notice.publish_by >= on >= p.decided_on
    assert CAL.working_days_between(on, notice.publish_by) == DEADLINES.withdrawal
    assert CAL.is_working_day(notice.publish_by)


def test_withdrawal_working_days_can_be_overridden() -> None:
    notice = withdrawal(revoked(), DAY, WithdrawalReason.CHANGED, CAL, DEADLINES, working_days=0)
    assert notice.publish_by == DAY


@given(decided_on=decision_days, late=st.integers(0, 400))
def test_period_end_withdrawal_is_due_at_the_end_of_the_period(
    decided_on: dt.date, late: int
) -> None:
    p = dishonest(record(decided_on=decided_on, severity=Severity.GENERAL))
    assert p.ends_on is not None
    on = p.ends_on + dt.timedelta(late)
    notice = withdrawal(p, on, WithdrawalReason.PERIOD_ENDED, CAL, DEADLINES)
    assert notice.publish_by == p.ends_on
    assert notice.publish_by >= p.decided_on


def test_withdrawal_before_the_decision_is_rejected() -> None:
    error = invalid(
        lambda: withdrawal(licence(), dt.date(2025, 9, 1), WithdrawalReason.CHANGED, CAL, DEADLINES)
    )
    assert str(error) == (
        "invalid Withdrawal: on: 2025-09-01 is before the decision day 2025-09-29 of "
        "'321012/licence-decision/扬江审许〔2025〕101号'"
    )


def test_no_period_end_withdrawal_before_the_period_ends() -> None:
    error = invalid(
        lambda: withdrawal(
            dishonest(), dt.date(2028, 9, 28), WithdrawalReason.PERIOD_ENDED, CAL, DEADLINES
        )
    )
    assert str(error) == (
        "invalid Withdrawal: on: the publicity of '321012/dishonesty-record/R-2025-001' ends on "
        "2028-09-29; it is not taken down before, got 2028-09-28"
    )


def test_no_period_end_withdrawal_without_a_period() -> None:
    error = invalid(
        lambda: withdrawal(licence(), DAY, WithdrawalReason.PERIOD_ENDED, CAL, DEADLINES)
    )
    assert str(error) == (
        "invalid Withdrawal: reason: '321012/licence-decision/扬江审许〔2025〕101号' has no end of "
        "publicity (ends_on is None)"
    )


def test_a_licence_decision_is_not_repaired() -> None:
    error = invalid(lambda: withdrawal(licence(), DAY, WithdrawalReason.REPAIRED, CAL, DEADLINES))
    assert str(error) == (
        "invalid Withdrawal: reason: a licence decision is not a dishonesty finding: it is not "
        "repaired"
    )


def test_repair_withdraws_a_dishonesty_record() -> None:
    repaired = dt.date(2026, 10, 9)  # a Friday; Sat Oct 10 is a make-up working day
    notice = withdrawal(dishonest(), repaired, WithdrawalReason.REPAIRED, CAL, DEADLINES)
    assert notice.publish_by == dt.date(2026, 10, 13)
    assert notice.identifies == {"record_id": "R-2025-001"}


def test_withdrawal_note_must_not_be_blank() -> None:
    error = invalid(
        lambda: withdrawal(licence(), DAY, WithdrawalReason.CHANGED, CAL, DEADLINES, note="")
    )
    assert str(error) == "invalid Withdrawal: note: expected a non-empty note (or None), got ''"


def test_withdrawal_publish_by_before_the_event_is_rejected() -> None:
    notice = withdrawal(licence(), DAY, WithdrawalReason.CHANGED, CAL, DEADLINES)
    error = invalid(lambda: attrs.evolve(notice, publish_by=dt.date(2025, 9, 28)))
    assert str(error) == (
        "invalid Withdrawal: publish_by: 2025-09-28 is before 2025-09-29, the day the reason "
        "(changed) arose"
    )


def test_inspection_withdrawal_identifies_draw_and_target() -> None:
    notice = withdrawal(
        inspected(), dt.date(2025, 10, 9), WithdrawalReason.DECLARED_VOID, CAL, DEADLINES
    )
    assert notice.identifies == {"draw_id": "JD-2025-07", "target_code": USCC}
    assert notice.payload()["reason_zh"] == "决定被确认无效"


# --------------------------------------------------------------------------- schedule


def test_overdue_lists_undelivered_entries_past_their_deadline() -> None:
    a = licence()  # publish by 2025-10-15
    b = revoked()  # publish by 2025-10-15
    c = inspected()  # publish by 2025-11-03
    schedule = PublicationSchedule([c, b, a], delivered={b.key: dt.date(2025, 10, 10)})
    assert schedule.overdue(dt.date(2025, 10, 15)) == ()  # the deadline day is still in time
    assert schedule.overdue(dt.date(2025, 10, 16)) == (a,)
    assert schedule.overdue(dt.date(2025, 11, 4)) == (a, c)
    # Delivered later than asked about: not yet delivered on that day.
    late = PublicationSchedule([a], delivered={a.key: dt.date(2025, 10, 20)})
    assert late.overdue(dt.date(2025, 10, 16)) == (a,)
    assert late.overdue(dt.date(2025, 10, 20)) == ()


def test_a_withdrawn_publication_is_no_longer_overdue_but_its_withdrawal_is() -> None:
    a = licence()
    notice = withdrawal(a, dt.date(2025, 10, 9), WithdrawalReason.REVOKED, CAL, DEADLINES)
    schedule = PublicationSchedule([a], [notice])
    assert notice.publish_by == dt.date(2025, 10, 13)
    assert schedule.overdue(dt.date(2025, 10, 13)) == ()
    assert schedule.overdue(dt.date(2025, 10, 14)) == (notice,)
    done = attrs.evolve(schedule, delivered={notice.key: dt.date(2025, 10, 14)})
    assert done.overdue(dt.date(2025, 10, 20)) == ()


def test_to_withdraw_lists_delivered_entries_whose_period_ended() -> None:
    rec = dishonest()  # ends 2028-09-29
    lic = licence(valid_until=dt.date(2027, 12, 31))  # ends 2028-01-01
    forever = inspected()
    delivered = {p.key: dt.date(2025, 10, 9) for p in (rec, lic, forever)}
    schedule = PublicationSchedule([rec, lic, forever], delivered=delivered)
    assert schedule.to_withdraw(dt.date(2027, 12, 31)) == ()
    assert schedule.to_withdraw(dt.date(2028, 1, 1)) == (lic,)
    assert schedule.to_withdraw(dt.date(2030, 1, 1)) == (lic, rec)
    notice = withdrawal(lic, dt.date(2028, 1, 2), WithdrawalReason.PERIOD_ENDED, CAL, DEADLINES)
    withdrawn = attrs.evolve(schedule, withdrawals=(notice,))
    assert withdrawn.to_withdraw(dt.date(2030, 1, 1)) == (rec,)
    # Made a day late: the withdrawal was due when the period ended.
    assert withdrawn.overdue(dt.date(2028, 1, 2)) == (notice,)


def test_an_undelivered_entry_is_not_withdrawn_before_it_is_published() -> None:
    rec = dishonest()
    schedule = PublicationSchedule([rec])
    assert schedule.to_withdraw(dt.date(2030, 1, 1)) == ()
    assert schedule.overdue(dt.date(2030, 1, 1)) == (rec,)


def test_schedule_rejects_duplicate_keys() -> None:
    a = licence()
    error = invalid(lambda: PublicationSchedule([a, licence(remarks="更正")]))
    assert str(error) == (
        "invalid PublicationSchedule: publications[1].key: duplicate key "
        "'321012/licence-decision/扬江审许〔2025〕101号' (same as publications[0])"
    )


def test_schedule_rejects_a_second_withdrawal_of_one_publication() -> None:
    a = licence()
    first = withdrawal(a, DAY, WithdrawalReason.CHANGED, CAL, DEADLINES)
    second = withdrawal(a, dt.date(2025, 10, 9), WithdrawalReason.REVOKED, CAL, DEADLINES)
    error = invalid(lambda: PublicationSchedule([a], [first, second]))
    assert error.problems[0].path == "withdrawals[1].key"


def test_schedule_delivered_days_must_be_dates() -> None:
    error = invalid(lambda: PublicationSchedule([], delivered={"k": "2025-10-01"}))  # type: ignore[dict-item]
    assert (
        str(error) == "invalid PublicationSchedule: delivered.k: expected a date, got '2025-10-01'"
    )


@st.composite
def schedules(draw: st.DrawFn) -> tuple[PublicationSchedule, dt.date]:
    publications = []
    for i in range(draw(st.integers(0, 6))):
        decided = draw(st.dates(dt.date(2024, 1, 1), dt.date(2025, 10, 31)))
        if draw(st.booleans()):
            rec = record(
                record_id=f"R{i}",
                decided_on=decided,
                severity=draw(st.sampled_from([Severity.MINOR, Severity.GENERAL])),
            )
            publications.append(dishonest(rec))
        else:
            months = draw(st.none() | st.integers(1, 12))
            publications.append(
                inspected(draw_id=f"D{i}", inspected_on=decided, publicity_months=months)
            )
    delivered = {
        p.key: p.decided_on + dt.timedelta(draw(st.integers(0, 60)))
        for p in publications
        if draw(st.booleans())
    }
    today = draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 6, 30)))
    return PublicationSchedule(publications, delivered=delivered), today


@given(schedules())
def test_schedule_laws(case: tuple[PublicationSchedule, dt.date]) -> None:
    schedule, today = case
    overdue = schedule.overdue(today)
    for entry in overdue:
        assert entry.publish_by < today
        assert schedule.delivered.get(entry.key, dt.date.max) > today
        # While it stays undelivered, it stays overdue.
        later = today + dt.timedelta(days=30)
        if schedule.delivered.get(entry.key, dt.date.max) > later:
            assert entry in schedule.overdue(later)
    for p in schedule.publications:
        if p.publish_by >= today:
            assert p not in overdue
    # Delivering everything overdue today leaves nothing overdue today.
    caught_up = attrs.evolve(
        schedule, delivered={**schedule.delivered, **{e.key: today for e in overdue}}
    )
    assert caught_up.overdue(today) == ()
    due = schedule.to_withdraw(today)
    for p in due:
        assert p.ends_on is not None
        assert p.ends_on <= today
        assert schedule.delivered[p.key] <= today
    # The tick: withdraw what is due; then nothing is left to withdraw, and each withdrawal
    # was due at the end of its period (never before the decision day).
    notices = [withdrawal(p, today, WithdrawalReason.PERIOD_ENDED, CAL, DEADLINES) for p in due]
    after = attrs.evolve(schedule, withdrawals=notices)
    assert after.to_withdraw(today) == ()
    for p, notice in zip(due, notices, strict=True):
        assert p.ends_on is not None
        assert p.decided_on < notice.publish_by == p.ends_on <= today
        assert p not in after.overdue(today)


def test_withdrawal_type_is_exposed() -> None:
    notice = withdrawal(licence(), DAY, WithdrawalReason.CHANGED, CAL, DEADLINES)
    assert isinstance(notice, Withdrawal)
    assert notice.kind is PublicationKind.LICENCE_DECISION
    assert notice.reason is WithdrawalReason.CHANGED
