"""Tests for creditcommit._codec: case events to JSON-ready records and back."""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit._codec import EVENT_TYPES, event_from_record, event_to_record
from creditcommit.case import (
    Accepted,
    Case,
    CaseEvent,
    ClockPaused,
    ClockResumed,
    Closed,
    CreditChecked,
    LicenceIssued,
    LicencesLookedUp,
    MaterialSupplied,
    PauseReason,
    Refused,
    Resumed,
    Returned,
    RouteDecided,
    Suspended,
    VerificationRecorded,
    Withdrawn,
    accept,
    due,
    pause_clock,
    resume_clock,
    sign_commitment,
    submit,
    supply_material,
)
from creditcommit.catalog import VerificationMethod
from creditcommit.credit import CreditEvidence, CreditLookupFailure
from creditcommit.decision import ProjectFacts, ProjectLevel
from creditcommit.effective import LegalReference
from creditcommit.errors import DataFileError, Problem
from creditcommit.materials import LicenceHolding
from creditcommit.ports import NewEvent
from creditcommit.supervision import VerificationOutcome
from test_case import (
    CALENDAR,
    CST,
    DEFERRED,
    GAOYOU_DAY,
    GAOYOU_ITEM,
    JIANGDU_DAY,
    JIANGDU_HELD,
    JIANGDU_ITEM,
    NEWMAT,
    POLICY,
    SIGNING,
    accepted_later,
    accepted_standard,
    at,
    committed,
    fold,
    gaoyou,
    play,
    scenarios,
    signed_letter,
)

D = dt.date


def through_json(event: CaseEvent) -> CaseEvent:
    """The event after a trip through the store: record, JSON text, record, event."""
    record = event_to_record(event)
    text = json.dumps(dict(record.payload), ensure_ascii=False, sort_keys=True)
    return event_from_record(record.type, json.loads(text))


def is_json_data(value: object) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(is_json_data(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_json_data(v) for k, v in value.items())
    return False


def decode_error(type_: str, payload: object) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        event_from_record(type_, payload)  # type: ignore[arg-type]
    return caught.value


def flows() -> list[Case]:
    """The seed flows, each ending with most kinds of event."""
    gaoyou_issued = committed()
    gaoyou_issued = fold(
        gaoyou_issued, accept(gaoyou_issued, GAOYOU_ITEM, CALENDAR, at(GAOYOU_DAY, 11))
    )
    gaoyou_issued = fold(
        gaoyou_issued, supply_material(gaoyou_issued, DEFERRED[0], at(D(2025, 10, 13)))
    )
    returned = accepted_later()
    returned = fold(returned, due(returned, at(D(2025, 11, 3)), CALENDAR))
    resumed = accepted_later()
    resumed = fold(resumed, due(resumed, at(D(2025, 10, 13)), CALENDAR))
    for code in DEFERRED:
        resumed = fold(resumed, supply_material(resumed, code, at(D(2025, 10, 14))))
    paused = accepted_standard()
    paused = fold(paused, pause_clock(paused, PauseReason.EXPERT_REVIEW, at(D(2025, 9, 30))))
    paused = fold(paused, resume_clock(paused, at(D(2025, 10, 15)), CALENDAR))
    failed = gaoyou("B", case_id="GY-F", licences=(), licence_failure="timeout")
    return [gaoyou_issued, returned, resumed, paused, failed]


# --- type names and shape -------------------------------------------------------------------


def test_type_names_are_stable() -> None:
    assert list(EVENT_TYPES) == [
        "case-submitted",
        "credit-checked",
        "licences-looked-up",
        "route-decided",
        "route-chosen",
        "commitment-signed",
        "accepted",
        "material-supplied",
        "clock-paused",
        "clock-resumed",
        "suspended",
        "resumed",
        "licence-issued",
        "refused",
        "withdrawn",
        "returned",
        # Supervision after the licence (docs/supervision.md).
        "verification-recorded",
        "deferred-material-overdue",
        "rectification-ordered",
        "rectification-met",
        "rectification-failed",
        "revocation-proposed",
        "statement-received",
        "hearing-held",
        "revoked",
        "revocation-refused",
        "credit-record-created",
        "closed",
    ]
    assert set(EVENT_TYPES.values()) == set(typing.get_args(CaseEvent))


def test_an_event_becomes_a_new_event_with_a_json_payload() -> None:
    event = Accepted(
        at=at(GAOYOU_DAY, 11),
        accepted_on=GAOYOU_DAY,
        promised_due=D(2025, 10, 10),
        statutory_due=D(2025, 10, 30),
    )
    record = event_to_record(event)
    assert isinstance(record, NewEvent)
    assert record.type == "accepted"
    assert dict(record.payload) == {
        "at": "2025-09-26T11:00:00+08:00",
        "accepted_on": "2025-09-26",
        "promised_due": "2025-10-10",
        "statutory_due": "2025-10-30",
    }


def test_a_stored_payload_decodes() -> None:
    payload = {
        "at": "2025-09-30T09:00:00+08:00",
        "paused_on": "2025-09-30",
        "reason": "expert-review",
        "reference": {
            "instrument": "中华人民共和国行政许可法",
            "article": "第四十五条",
            "url": None,
        },
        "note": None,
    }
    assert event_from_record("clock-paused", payload) == ClockPaused(
        at=dt.datetime(2025, 9, 30, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        paused_on=D(2025, 9, 30),
        reason=PauseReason.EXPERT_REVIEW,
    )


def test_a_stored_supervision_payload_decodes() -> None:
    payload = {
        "at": "2025-10-20T09:00:00+08:00",
        "verified_on": "2025-10-20",
        "method": "on-site",
        "inspectors": ["张三", "李四"],
        "findings": "现场核查：卫生管理制度未建立",
        "outcome": "unfulfilled",
    }
    assert event_from_record("verification-recorded", payload) == VerificationRecorded(
        at=dt.datetime(2025, 10, 20, 9, tzinfo=CST),
        verified_on=D(2025, 10, 20),
        method=VerificationMethod.ON_SITE,
        inspectors=("张三", "李四"),
        findings="现场核查：卫生管理制度未建立",
        outcome=VerificationOutcome.UNFULFILLED,
    )
    one = {**payload, "inspectors": ["张三"]}
    assert decode_error("verification-recorded", one).problems == (
        Problem(
            "inspectors",
            "an on-site check needs two or more inspectors (行政许可法 Art 34 para 3), got 1",
        ),
    )
    closed = event_to_record(
        Closed(at=dt.datetime(2025, 10, 20, 9, tzinfo=CST), closed_on=D(2025, 10, 20))
    )
    assert (closed.type, dict(closed.payload)) == (
        "closed",
        {"at": "2025-10-20T09:00:00+08:00", "closed_on": "2025-10-20"},
    )


def test_enums_by_value_and_datetimes_with_their_offset() -> None:
    utc = dt.datetime(2025, 9, 26, 1, 0, tzinfo=dt.UTC)
    record = event_to_record(ClockPaused(at=utc, paused_on=GAOYOU_DAY, reason=PauseReason.TESTING))
    assert record.payload["at"] == "2025-09-26T01:00:00+00:00"
    assert record.payload["reason"] == "testing"
    back = event_from_record(record.type, record.payload)
    assert back.at.utcoffset() == dt.timedelta(0)


def test_the_seed_flows_round_trip_through_json() -> None:
    for case in flows():
        records = [event_to_record(e) for e in case.history]
        assert all(is_json_data(dict(r.payload)) for r in records)
        decoded = [through_json(e) for e in case.history]
        assert decoded == list(case.history)
        assert Case.from_events(decoded) == case


def test_the_jiangdu_filing_round_trips_with_its_signed_commitment() -> None:
    events = submit(
        case_id="JD-1",
        city="321012",
        item=JIANGDU_ITEM,
        applicant=NEWMAT,
        credit=None,
        policy=POLICY,
        calendar=CALENDAR,
        now=at(JIANGDU_DAY),
        project=ProjectFacts(ProjectLevel.MUNICIPAL, "锂电池集流体项目一期", 200_000_000),
        licences=JIANGDU_HELD,
        idempotency_key="web-4711",
    )
    case = Case.from_events(events)
    signed = signed_letter(case, JIANGDU_ITEM, at(JIANGDU_DAY, 9, 20))
    case = fold(case, sign_commitment(case, signed, at(JIANGDU_DAY, 9, 20)))
    case = fold(case, accept(case, JIANGDU_ITEM, CALENDAR, at(JIANGDU_DAY, 9, 25)))
    decoded = Case.from_events([through_json(e) for e in case.history])
    assert decoded == case
    assert decoded.commitment is not None
    assert decoded.commitment.verify(SIGNING)
    assert decoded.commitment.text == signed.text
    # Not part of equality, kept all the same: the catalogue version of the item signed for.
    assert decoded.commitment.letter.terms.item.catalog == JIANGDU_ITEM.catalog
    assert decoded.commitment.letter.terms.item.catalog is not None


def test_reason_params_survive() -> None:
    case = gaoyou("B")
    event = case.history[3]
    assert isinstance(event, RouteDecided)
    back = through_json(event)
    assert isinstance(back, RouteDecided)
    # Reason.params is not part of equality, so compare it on its own.
    assert [dict(r.params) for r in back.decision.reasons] == [
        dict(r.params) for r in event.decision.reasons
    ]
    assert dict(back.decision.reasons[0].params) == {"grade": "B", "threshold": "B"}


def test_stored_evidence_still_verifies() -> None:
    event = gaoyou("B").history[1]
    assert isinstance(event, CreditChecked)
    record = event_to_record(event)
    assert set(record.payload["outcome"]) == {"evidence"}
    back = through_json(event)
    assert isinstance(back, CreditChecked)
    assert isinstance(back.outcome, CreditEvidence)
    assert back.outcome.verify()
    assert back.outcome == event.outcome


def test_a_lookup_failure_and_an_unasked_source_round_trip() -> None:
    failure = CreditLookupFailure(
        subject="91321084MA1TQ7GU8A",
        source="信用扬州",
        attempted_at=at(GAOYOU_DAY),
        reason="timeout",
    )
    for outcome in (failure, None):
        event = CreditChecked(at=at(GAOYOU_DAY), outcome=outcome)
        assert through_json(event) == event
    assert event_to_record(CreditChecked(at=at(GAOYOU_DAY), outcome=failure)).payload[
        "outcome"
    ] == {"failure": failure.to_dict()}


def test_sets_are_written_sorted() -> None:
    case = committed(attrs.evolve(GAOYOU_ITEM, domains={"transport", "public-places-hygiene", "a"}))
    record = event_to_record(case.history[-1])
    assert record.type == "commitment-signed"
    domains = record.payload["commitment"]["letter"]["terms"]["item"]["domains"]
    assert domains == ["a", "public-places-hygiene", "transport"]


# --- properties -------------------------------------------------------------------------------

_TEXT = st.text(min_size=1).filter(str.strip)
_OFFSETS = st.integers(-12 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
_INSTANTS = st.builds(
    lambda t, tz: t.replace(tzinfo=tz),
    st.datetimes(dt.datetime(2021, 1, 1), dt.datetime(2026, 12, 31)),
    _OFFSETS,
)
_DAYS = st.dates(D(2021, 1, 1), D(2026, 12, 31))


@st.composite
def _supplied(draw: st.DrawFn) -> MaterialSupplied:
    day = draw(_DAYS)
    due_day = draw(st.none() | _DAYS)
    return MaterialSupplied(
        at=draw(_INSTANTS),
        code=draw(_TEXT),
        supplied_on=day,
        due=due_day,
        on_time=due_day is None or day <= due_day,
    )


SIMPLE_EVENTS: st.SearchStrategy[CaseEvent] = st.one_of(
    st.builds(
        LicencesLookedUp,
        at=_INSTANTS,
        holdings=st.lists(st.builds(LicenceHolding, _TEXT, _TEXT, st.none() | _DAYS), max_size=3),
    ),
    st.builds(LicencesLookedUp, at=_INSTANTS, failure=_TEXT),
    _supplied(),
    st.builds(
        ClockPaused,
        at=_INSTANTS,
        paused_on=_DAYS,
        reason=st.sampled_from(PauseReason),
        reference=st.builds(LegalReference, _TEXT, st.none() | _TEXT, st.none() | _TEXT),
        note=st.none() | _TEXT,
    ),
    st.builds(
        ClockResumed,
        at=_INSTANTS,
        resumed_on=_DAYS,
        working_days=st.integers(0, 100),
        promised_due=_DAYS,
        statutory_due=_DAYS,
    ),
    st.builds(
        Suspended,
        at=_INSTANTS,
        suspended_on=_DAYS,
        overdue=st.lists(_TEXT, min_size=1, max_size=3),
        grace_ends=_DAYS,
    ),
    st.builds(Resumed, at=_INSTANTS, resumed_on=_DAYS),
    st.builds(
        LicenceIssued,
        at=_INSTANTS,
        reference=_TEXT,
        issued_on=st.just(D(2021, 1, 1)),
        valid_until=st.none() | _DAYS,
    ),
    st.builds(Refused, at=_INSTANTS, reason=_TEXT),
    st.builds(Withdrawn, at=_INSTANTS, reason=st.none() | _TEXT),
    st.builds(Returned, at=_INSTANTS, reason=_TEXT, missing=st.lists(_TEXT, max_size=3)),
)


@given(SIMPLE_EVENTS)
def test_simple_events_round_trip(event: CaseEvent) -> None:
    record = event_to_record(event)
    assert is_json_data(dict(record.payload))
    assert event_from_record(*attrs.astuple(record, recurse=False)) == event
    back = through_json(event)
    assert back == event
    assert back.at.utcoffset() == event.at.utcoffset()


@given(scenarios())
def test_every_event_of_a_random_case_round_trips(scenario: Any) -> None:
    case = play(scenario)[-1]
    decoded = [through_json(event) for event in case.history]
    assert decoded == list(case.history)
    assert Case.from_events(decoded) == case


# --- errors -----------------------------------------------------------------------------------


def test_an_unknown_type() -> None:
    err = decode_error("licence-revoked", {})
    assert err.source == "event licence-revoked"
    assert str(err).startswith(
        "event licence-revoked: <root>: unknown event type 'licence-revoked' (known: "
        "case-submitted, credit-checked, "
    )


def test_a_missing_key() -> None:
    err = decode_error("refused", {"at": "2025-10-09T09:00:00+08:00"})
    assert str(err) == "event refused: reason: required key is missing"


def test_a_value_of_the_wrong_type() -> None:
    payload = event_to_record(
        ClockResumed(
            at=at(GAOYOU_DAY),
            resumed_on=GAOYOU_DAY,
            working_days=2,
            promised_due=GAOYOU_DAY,
            statutory_due=GAOYOU_DAY,
        )
    ).payload
    err = decode_error("clock-resumed", {**payload, "working_days": "2", "resumed_on": "soon"})
    assert err.source == "event clock-resumed"
    assert [str(p) for p in err.problems] == [
        "resumed_on: expected a date (YYYY-MM-DD), got string 'soon'",
        "working_days: expected an integer, got string '2'",
    ]


def test_an_unknown_key() -> None:
    err = decode_error(
        "withdrawn", {"at": "2025-10-09T09:00:00+08:00", "reason": None, "by": "agent"}
    )
    assert str(err) == "event withdrawn: <root>: unknown key 'by' (allowed: at, reason)"


def test_a_date_time_without_offset() -> None:
    err = decode_error("resumed", {"at": "2025-10-09T09:00:00", "resumed_on": "2025-10-09"})
    assert str(err) == (
        "event resumed: at: expected a date-time with offset (e.g. +08:00), got string "
        "'2025-10-09T09:00:00'"
    )


def test_a_payload_that_is_not_a_table() -> None:
    err = decode_error("accepted", ["2025-09-26"])
    assert str(err) == "event accepted: <root>: expected a table, got an array"


def test_an_unknown_enum_value() -> None:
    payload = {
        "at": "2025-09-30T09:00:00+08:00",
        "paused_on": "2025-09-30",
        "reason": "lunch",
        "reference": {"instrument": "中华人民共和国行政许可法", "article": None, "url": None},
        "note": None,
    }
    err = decode_error("clock-paused", payload)
    assert str(err) == (
        "event clock-paused: reason: expected one of 'hearing', 'tender', 'auction', "
        "'testing', 'inspection', 'quarantine', 'appraisal', 'expert-review', got string 'lunch'"
    )


def test_a_broken_rule_of_the_event() -> None:
    payload = {
        "at": "2025-10-11T09:00:00+08:00",
        "code": "GGCSWSXK-04",
        "supplied_on": "2025-10-11",
        "due": "2025-10-10",
        "on_time": True,
    }
    err = decode_error("material-supplied", payload)
    assert str(err) == (
        "event material-supplied: on_time: supplied 2025-10-11 against due 2025-10-10: "
        "expected false"
    )


def test_a_broken_rule_deep_inside_names_its_path() -> None:
    record = event_to_record(gaoyou("B").history[3])
    payload = json.loads(json.dumps(dict(record.payload), ensure_ascii=False))
    payload["plan"]["lines"][3]["due"] = None
    payload["decision"]["reasons"][0]["code"] = 7
    err = decode_error("route-decided", payload)
    assert [str(p) for p in err.problems] == [
        "decision.reasons[0].code: expected a string, got number 7",
        "plan.lines[3].due: a deferred material needs a due date",
    ]


def test_altered_evidence_names_its_path() -> None:
    record = event_to_record(gaoyou("B").history[1])
    payload = json.loads(json.dumps(dict(record.payload)))
    payload["outcome"]["evidence"]["digest"] = "not a digest"
    err = decode_error("credit-checked", payload)
    assert str(err) == (
        "event credit-checked: outcome.evidence.digest: expected 64 lower-case hex digits, "
        "got 'not a digest'"
    )


def test_an_outcome_of_the_wrong_shape() -> None:
    err = decode_error(
        "credit-checked", {"at": "2025-09-26T09:00:00+08:00", "outcome": {"grade": "B"}}
    )
    assert str(err) == (
        "event credit-checked: outcome: expected nothing, { evidence = {...} } or "
        "{ failure = {...} }, got a table"
    )


def test_a_credit_check_with_missing_and_unknown_keys() -> None:
    err = decode_error("credit-checked", {"when": "today"})
    assert [str(p) for p in err.problems] == [
        "<root>: unknown key 'when' (allowed: at, outcome)",
        "at: required key is missing",
        "outcome: required key is missing",
    ]
    err = decode_error("credit-checked", "evidence")
    assert str(err) == "event credit-checked: <root>: expected a table, got string 'evidence'"
    err = decode_error("credit-checked", {"at": "now", "outcome": None})
    assert str(err) == (
        "event credit-checked: at: expected a date-time with offset, got string 'now'"
    )


def test_only_case_events_are_encoded() -> None:
    with pytest.raises(TypeError, match="not a case event"):
        event_to_record(LicenceHolding("business-licence", "X-1"))  # type: ignore[arg-type]


def test_now_with_a_named_zone_decodes_to_the_same_instant_and_day() -> None:
    named = dt.datetime(2025, 9, 26, 0, 30, tzinfo=CST)
    back = through_json(Resumed(at=named, resumed_on=GAOYOU_DAY))
    assert back.at == named
    assert back.at.date() == named.date() == GAOYOU_DAY
