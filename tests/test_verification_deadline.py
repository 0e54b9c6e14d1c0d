"""The verification deadline: the date the signed letter states is the date supervision
tracks, whatever the days of signing and issuing (issue 8, item 4c)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from creditcommit.case import Case, CaseEvent, accept, issue, sign_commitment, submit
from creditcommit.supervision import ObligationKind, obligations
from test_case import (
    CALENDAR,
    FORM,
    GAOYOU_HELD,
    GAOYOU_LATER,
    HOTEL,
    POLICY,
    at,
    evidence,
    signed_letter,
)


def fold(case: Case, events: tuple[CaseEvent, ...]) -> Case:
    return case.apply(*events)


@given(
    decided=st.dates(dt.date(2025, 9, 26), dt.date(2026, 6, 30)),
    sign_after=st.integers(0, 40),
    issue_after=st.integers(0, 60),
)
def test_obligations_keep_the_deadline_of_the_signed_letter(
    decided: dt.date, sign_after: int, issue_after: int
) -> None:
    case = Case.from_events(
        submit(
            case_id="GY-P",
            city="321084",
            item=GAOYOU_LATER,
            applicant=HOTEL,
            credit=evidence(HOTEL, decided, "B"),
            policy=POLICY,
            calendar=CALENDAR,
            now=at(decided),
            provided=FORM,
            licences=GAOYOU_HELD,
        )
    )
    assert case.route is not None
    assert case.route.is_commitment
    signed_on = decided + dt.timedelta(days=sign_after)
    issued_on = signed_on + dt.timedelta(days=issue_after)
    signed = signed_letter(case, GAOYOU_LATER, at(signed_on, 10))
    case = fold(case, sign_commitment(case, signed, at(signed_on, 10)))
    case = fold(case, accept(case, GAOYOU_LATER, CALENDAR, at(signed_on, 11)))
    case = fold(case, issue(case, at(issued_on, 15)))
    promised = signed.letter.terms.verification_due
    assert promised == CALENDAR.add_working_days(decided, 20)
    (verification,) = [
        o
        for o in obligations(case, GAOYOU_LATER, CALENDAR)
        if o.kind is ObligationKind.VERIFICATION
    ]
    assert verification.due == promised
