"""The fast paths of the case pipeline give the same answers as the plain ones.

- A projection body made with the service's memo of encoded parts equals the plain
  snapshot of the fold of the case's events, on Hypothesis-generated case histories.
- The event digest computed from the payload's canonical text equals
  :func:`~creditcommit.ports.event_digest`.
- A case the service remembers writing is used only while its stored row is, to the
  byte, the one it wrote: another writer, a changed row or a rolled-back batch make the
  service read the store again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditcommit import Approvals, Case, CaseState, ManualClock, PauseReason
from creditcommit._codec import case_to_snapshot, event_from_record
from creditcommit.builtin.sqlite_store import _text_digest
from creditcommit.errors import CreditCommitError, DataFileError
from creditcommit.identifiers import mask_resident_ids
from creditcommit.ports import canonical_json, event_digest
from creditcommit.publication import _masked
from creditcommit.testing.strategies import resident_ids
from test_service import DEFERRED, FORM, GAOYOU, HOTEL, START, prepare, sign

MATERIALS = [f"GGCSWSXK-0{n}" for n in range(1, 8)]


def folded(service: Approvals, case_id: str) -> Case:
    return Case.from_events(
        event_from_record(e.type, e.payload, getattr(service.store, "document", None))
        for e in service.history(case_id)
    )


def plain_body(service: Approvals, case_id: str) -> dict[str, Any]:
    """The snapshot of the fold of the case's events, made without any memo, as stored."""
    body = case_to_snapshot(folded(service, case_id), [])
    decoded: dict[str, Any] = json.loads(canonical_json(body))
    return decoded


# --- the memoised projection equals the plain fold's ----------------------------------------

ACTIONS = st.lists(
    st.sampled_from(
        ["sign", "accept", "supply", "pause", "resume", "issue", "refuse", "later", "withdraw"]
    ),
    max_size=8,
)


def test_the_memoised_projection_equals_the_plain_snapshot_of_the_fold(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        counter = iter(range(10**6))

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            provided=st.lists(st.sampled_from(MATERIALS), unique=True, max_size=4),
            standard=st.booleans(),
            actions=ACTIONS,
            supplies=st.lists(st.sampled_from(MATERIALS), min_size=8, max_size=8),
        )
        def check(
            provided: list[str], standard: bool, actions: list[str], supplies: list[str]
        ) -> None:
            case = service.submit(
                item=GAOYOU,
                applicant=HOTEL,
                provided=provided,
                choose_standard=standard,
                key=f"h-{next(counter)}",
            )
            steps: list[str] = ["submit"]
            for action, code in zip(actions, supplies, strict=False):
                try:
                    case = _act(service, clock, case, action, code)
                except CreditCommitError:
                    continue  # not allowed in this state: nothing written
                steps.append(action)
                stored = service.store.projection(case.case_id)  # type: ignore[attr-defined]
                assert stored is not None, steps
                assert stored.body == plain_body(service, case.case_id), steps
                assert service.case(case.case_id) == folded(service, case.case_id), steps
            stored = service.store.projection(case.case_id)  # type: ignore[attr-defined]
            assert stored.body == plain_body(service, case.case_id), steps

        check()


def _act(service: Approvals, clock: ManualClock, case: Case, action: str, code: str) -> Case:
    case_id = case.case_id
    if action == "sign":
        return sign(service, case)
    if action == "accept":
        return service.accept(case_id)
    if action == "supply":
        return service.supply_material(case_id, code)
    if action == "pause":
        return service.pause_clock(case_id, PauseReason.EXPERT_REVIEW)
    if action == "resume":
        return service.resume_clock(case_id)
    if action == "issue":
        return service.issue(case_id)
    if action == "refuse":
        return service.refuse(case_id, "材料不符合要求")
    if action == "withdraw":
        return service.withdraw(case_id)
    clock.advance(hours=5)
    return service.case(case_id)


def test_a_memoised_snapshot_equals_the_plain_one_for_every_state_of_a_case(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        case = service.accept(sign(service, case).case_id)
        for code in DEFERRED:
            case = service.supply_material(case.case_id, code)
        memo: dict[int, tuple[object, Any]] = {}
        history = folded(service, case.case_id).history
        for n in range(1, len(history) + 1):
            state = Case.from_events(history[:n])
            assert case_to_snapshot(state, [], parts=memo) == case_to_snapshot(state, [])
            assert case_to_snapshot(state, parts=memo) == case_to_snapshot(state)
        assert memo  # the parts were shared


# --- the digest from the payload's text ---------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


@given(
    payload=st.dictionaries(st.text(), JSON, max_size=5),
    stream=st.text(min_size=1),
    type_=st.text(min_size=1),
    version=st.integers(1, 10**9),
    position=st.integers(1, 10**12),
    recorded_at=st.datetimes(timezones=st.just(dt.timezone(dt.timedelta(hours=8)))),
    previous=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_digest_from_the_payload_text_is_the_event_digest(  # noqa: PLR0917 - given
    payload: dict[str, Any],
    stream: str,
    type_: str,
    version: int,
    position: int,
    recorded_at: dt.datetime,
    previous: str,
) -> None:
    at = recorded_at.isoformat()
    assert _text_digest(
        previous,
        stream=stream,
        version=version,
        position=position,
        type_=type_,
        payload_text=canonical_json(payload),
        recorded_at=at,
    ) == event_digest(
        previous,
        stream=stream,
        version=version,
        position=position,
        type=type_,
        payload=payload,
        recorded_at=at,
    )


# --- the case a service remembers writing ---------------------------------------------------


def sql(db: Path, statement: str, *params: object) -> None:
    with contextlib.closing(sqlite3.connect(db)) as con, con:
        con.execute(statement, params)


def test_a_projection_changed_behind_the_services_back_is_read_again(tmp_path: Path) -> None:
    clock = ManualClock(START)
    with Approvals.from_config(prepare(tmp_path), clock=clock) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        assert service.case(case.case_id) == case
        sql(
            tmp_path / "cases.db",
            "UPDATE projections SET body = '{}' WHERE stream = ?",
            case.case_id,
        )
        with pytest.raises(DataFileError):
            service.case(case.case_id)


def test_another_writers_command_is_seen(tmp_path: Path) -> None:
    clock = ManualClock(START)
    config = prepare(tmp_path, on_the_spot=False)
    with (
        Approvals.from_config(config, clock=clock) as one,
        Approvals.from_config(config, clock=clock) as other,
    ):
        case = one.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        signed = sign(other, other.case(case.case_id))
        seen = one.case(case.case_id)
        assert seen.version == signed.version == case.version + 1
        assert seen == signed
        accepted = one.accept(case.case_id)  # not refused as a stale version
        assert accepted.state is CaseState.ACCEPTED


def _sign_then_fail(service: Approvals, case: Case) -> None:
    with service.batch():
        sign(service, case)
        raise RuntimeError("the batch fails")


def test_a_rolled_back_batch_leaves_the_case_as_stored(tmp_path: Path) -> None:
    clock = ManualClock(START)
    with Approvals.from_config(prepare(tmp_path, on_the_spot=False), clock=clock) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        with pytest.raises(RuntimeError, match="the batch fails"):
            _sign_then_fail(service, case)
        again = service.case(case.case_id)
        assert again.version == case.version
        assert again == folded(service, case.case_id)
        assert sign(service, again).version == case.version + 1


# --- publication masking: the memoised, length-guarded path is mask_resident_ids -------------


@given(
    text=st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda before, number, after: before + number + after,
            st.text(max_size=8),
            resident_ids(),
            st.text(max_size=8),
        ),
        st.text(alphabet="0123456789Xx -－０１２３４５６７８９", min_size=10, max_size=24),
    )
)
def test_publication_masks_every_text_as_mask_resident_ids(text: str) -> None:
    assert _masked(text) == mask_resident_ids(text)
    assert _masked(text) == mask_resident_ids(text)  # again, from the memo
