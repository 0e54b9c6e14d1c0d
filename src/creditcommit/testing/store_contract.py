"""The contract every :class:`~creditcommit.ports.EventStore` implementation must pass.

Subclass :class:`EventStoreContract` in a test module, give it a ``store`` fixture that
yields a fresh, empty store, and implement the two hooks; pytest then runs the whole
contract against your store::

    class TestMyStore(EventStoreContract):
        @pytest.fixture
        def store(self, tmp_path: Path) -> Iterator[EventStore]:
            with MyStore(tmp_path / "events.db") as store:
                yield store

        def reopen(self, store: EventStore) -> EventStore:
            return MyStore(store.path)  # a second, independent handle on the same data

        def tamper(self, store: EventStore, position: int) -> None:
            ...  # change the stored payload of that event behind the store's back

The built-in SQLite store runs it in ``tests/test_sqlite_store.py``; the PostgreSQL adapter
runs it too. A store that also keeps projections (:class:`~creditcommit.ports.ProjectionStore`)
runs :class:`ProjectionStoreContract` as well, with a ``store`` fixture of its own; one that
keeps documents (:class:`~creditcommit.ports.DocumentStore`) runs
:class:`DocumentStoreContract` (with a ``tamper_document`` hook), and one whose writes can be
grouped (:class:`~creditcommit.ports.TransactionalStore`) runs
:class:`TransactionalStoreContract` (with a ``reopen`` hook). Needs ``pytest`` and
``hypothesis``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditcommit.errors import ConcurrencyError, DuplicateKey, UnknownMessage
from creditcommit.ports import (
    GENESIS_DIGEST,
    DocumentStore,
    EventStore,
    NewEvent,
    NewStream,
    OutboxMessage,
    PendingMessage,
    Projection,
    ProjectionReader,
    ProjectionStore,
    StoredEvent,
    TransactionalStore,
    document_digest,
    event_digest,
)

__all__ = [
    "DocumentStoreContract",
    "EventStoreContract",
    "ProjectionReaderContract",
    "ProjectionStoreContract",
    "TransactionalStoreContract",
]

CST = dt.timezone(dt.timedelta(hours=8), "CST")
AT = dt.datetime(2026, 5, 6, 9, 30, tzinfo=CST)
LEASE = dt.timedelta(minutes=5)

# Streams and keys unique across Hypothesis examples, which share one store.
_unique = itertools.count()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
payloads = st.dictionaries(st.text(max_size=6), json_values, max_size=4)


def events(*types: str, **payload: Any) -> list[NewEvent]:
    """New events of the given types, each with ``payload`` and its index."""
    return [NewEvent(type_, {**payload, "i": i}) for i, type_ in enumerate(types)]


def message(
    key: str, *, destination: str = "channel:site", at: dt.datetime = AT, **payload: Any
) -> OutboxMessage:
    """An outbox message with key ``key``, created at ``at``."""
    return OutboxMessage(
        key=key,
        destination=destination,
        topic="decision",
        city="yangzhou",
        payload=payload,
        created_at=at,
    )


def keys(messages: Sequence[PendingMessage]) -> list[str]:
    return [m.message.key for m in messages]


def as_json(value: Mapping[str, Any]) -> Any:
    """``value`` as it reads back from a store: through JSON."""
    return json.loads(json.dumps(dict(value)))


class EventStoreContract:
    """Tests every :class:`~creditcommit.ports.EventStore` must pass; see the module doc.

    Subclasses provide the ``store`` fixture (a fresh, empty store for each test) and the
    hooks :meth:`reopen` and :meth:`tamper`. Beyond the protocol's docstring, the contract
    fixes: an append needs at least one event and offset-aware times; payloads read back
    through JSON; an idempotency key is used once (any later append with it raises
    :class:`~creditcommit.DuplicateKey`, checked before the version); streams are listed in
    the order created; ``VerifyReport.events`` counts the events checked, up to and
    including the first bad one.
    """

    def reopen(self, store: EventStore) -> EventStore:
        """A second, independent handle on the data of ``store`` (another worker)."""
        raise NotImplementedError("the contract needs reopen(store)")

    def tamper(self, store: EventStore, position: int) -> None:
        """Change the stored payload of the event at ``position`` behind the store's back."""
        raise NotImplementedError("the contract needs tamper(store, position)")

    # --- append and read -------------------------------------------------------------------

    def test_a_new_stream_starts_at_version_one(self, store: EventStore) -> None:
        stored = store.append(
            "case-1", events("Submitted", "Accepted"), expected_version=0, recorded_at=AT
        )
        assert [(e.stream, e.version, e.position, e.type) for e in stored] == [
            ("case-1", 1, 1, "Submitted"),
            ("case-1", 2, 2, "Accepted"),
        ]
        assert [dict(e.payload) for e in stored] == [{"i": 0}, {"i": 1}]
        assert all(e.recorded_at == AT for e in stored)

    def test_read_returns_what_append_returned(self, store: EventStore) -> None:
        first = store.append("case-1", events("A", "B"), expected_version=0, recorded_at=AT)
        second = store.append("case-1", events("C"), expected_version=2, recorded_at=AT)
        assert store.read("case-1") == first + second
        assert store.read("no-such-case") == ()

    def test_versions_are_per_stream_and_positions_global(self, store: EventStore) -> None:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        store.append("case-2", events("A", "B"), expected_version=0, recorded_at=AT)
        stored = store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        assert [(e.version, e.position) for e in stored] == [(2, 4)]
        assert [(e.stream, e.version) for e in store.events()] == [
            ("case-1", 1),
            ("case-2", 1),
            ("case-2", 2),
            ("case-1", 2),
        ]

    def test_payloads_read_back_as_json(self, store: EventStore) -> None:
        payload = {"名称": "扬州市", "amounts": (1, 2.5), "nested": {"ok": True, "none": None}}
        stored = store.append(
            "case-1", [NewEvent("Submitted", payload)], expected_version=0, recorded_at=AT
        )
        expected = {"名称": "扬州市", "amounts": [1, 2.5], "nested": {"ok": True, "none": None}}
        assert dict(stored[0].payload) == expected
        assert dict(store.read("case-1")[0].payload) == expected

    def test_recorded_at_keeps_its_offset(self, store: EventStore) -> None:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        (event,) = store.read("case-1")
        assert event.recorded_at == AT
        assert event.recorded_at.utcoffset() == dt.timedelta(hours=8)

    def test_an_empty_append_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="at least one event"):
            store.append("case-1", [], expected_version=0, recorded_at=AT)

    def test_a_time_without_offset_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="UTC offset"):
            store.append(
                "case-1", events("A"), expected_version=0, recorded_at=AT.replace(tzinfo=None)
            )
        assert store.read("case-1") == ()

    def test_a_payload_that_is_not_json_writes_nothing(self, store: EventStore) -> None:
        bad = [NewEvent("A", {"ok": 1}), NewEvent("B", {"when": dt.date(2026, 5, 6)})]
        with pytest.raises(ValueError, match=r"events\[1\]\.payload is not JSON data"):
            store.append("case-1", bad, expected_version=0, recorded_at=AT)
        assert store.read("case-1") == ()
        assert store.events() == ()

    # --- optimistic concurrency ------------------------------------------------------------

    def test_a_stale_writer_gets_concurrency_error_and_nothing_is_written(
        self, store: EventStore
    ) -> None:
        store.append("case-1", events("A", "B"), expected_version=0, recorded_at=AT)
        with pytest.raises(ConcurrencyError) as caught:
            store.append(
                "case-1",
                events("C"),
                expected_version=1,
                recorded_at=AT,
                outbox=[message("m-1")],
                idempotency_key="req-1",
                meta={"city": "yangzhou"},
            )
        assert str(caught.value) == (
            "stream 'case-1' is at version 2, not 1: another writer appended first; re-read "
            "it and retry"
        )
        assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
            "case-1",
            1,
            2,
        )
        assert len(store.read("case-1")) == 2
        assert store.outbox() == ()
        assert store.stream_for_key("req-1") is None
        assert dict(store.streams()[0].meta) == {}

    def test_a_writer_ahead_of_the_stream_gets_concurrency_error(self, store: EventStore) -> None:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("case-1", events("B"), expected_version=5, recorded_at=AT)
        assert caught.value.actual == 1

    def test_an_existing_stream_cannot_be_created_again(self, store: EventStore) -> None:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        assert (caught.value.expected, caught.value.actual) == (0, 1)

    def test_a_missing_stream_is_at_version_zero(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyError) as caught:
            store.append("case-1", events("A"), expected_version=1, recorded_at=AT)
        assert caught.value.actual == 0
        assert store.streams() == ()

    # --- idempotency keys ------------------------------------------------------------------

    def test_a_used_idempotency_key_raises_duplicate_key(self, store: EventStore) -> None:
        store.append(
            "case-1",
            events("Submitted"),
            expected_version=0,
            recorded_at=AT,
            idempotency_key="req-1",
        )
        with pytest.raises(DuplicateKey) as caught:
            store.append(
                "case-2",
                events("Submitted"),
                expected_version=0,
                recorded_at=AT,
                outbox=[message("m-1")],
                idempotency_key="req-1",
                meta={"city": "yangzhou"},
            )
        assert str(caught.value) == "idempotency key 'req-1' already belongs to stream 'case-1'"
        assert (caught.value.key, caught.value.stream) == ("req-1", "case-1")
        assert store.read("case-2") == ()
        assert [s.stream for s in store.streams()] == ["case-1"]
        assert store.outbox() == ()

    def test_a_key_is_checked_before_the_version(self, store: EventStore) -> None:
        # A retried request (same key, now stale) learns that it already succeeded.
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, idempotency_key="req-1"
        )
        with pytest.raises(DuplicateKey) as caught:
            store.append(
                "case-1", events("A"), expected_version=0, recorded_at=AT, idempotency_key="req-1"
            )
        assert caught.value.stream == "case-1"
        assert len(store.read("case-1")) == 1

    def test_stream_for_key(self, store: EventStore) -> None:
        assert store.stream_for_key("req-1") is None
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, idempotency_key="req-1"
        )
        store.append(
            "case-1", events("B"), expected_version=1, recorded_at=AT, idempotency_key="req-2"
        )
        assert store.stream_for_key("req-1") == "case-1"
        assert store.stream_for_key("req-2") == "case-1"
        assert store.stream_for_key("req-3") is None

    # --- streams and the global log ---------------------------------------------------------

    def test_streams_filter_on_meta(self, store: EventStore) -> None:
        for stream, city, item in [
            ("case-1", "yangzhou", "food"),
            ("case-2", "gaoyou", "food"),
            ("case-3", "yangzhou", "drugs"),
        ]:
            store.append(
                stream,
                events("A"),
                expected_version=0,
                recorded_at=AT,
                meta={"city": city, "item": item},
            )
        assert [s.stream for s in store.streams()] == ["case-1", "case-2", "case-3"]
        assert [s.stream for s in store.streams(city="yangzhou")] == ["case-1", "case-3"]
        assert [s.stream for s in store.streams(city="yangzhou", item="food")] == ["case-1"]
        assert store.streams(city="nanjing") == ()
        assert dict(store.streams(item="drugs")[0].meta) == {"city": "yangzhou", "item": "drugs"}

    def test_meta_is_merged_and_times_kept(self, store: EventStore) -> None:
        later = AT + dt.timedelta(days=2)
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            meta={"city": "yz", "state": "new"},
        )
        store.append(
            "case-1", events("B"), expected_version=1, recorded_at=later, meta={"state": "accepted"}
        )
        (info,) = store.streams()
        assert (info.stream, info.version) == ("case-1", 2)
        assert dict(info.meta) == {"city": "yz", "state": "accepted"}
        assert (info.created_at, info.updated_at) == (AT, later)
        assert store.streams(state="new") == ()

    def test_events_pages_through_the_log(self, store: EventStore) -> None:
        for n in range(1, 6):
            store.append(f"case-{n}", events("A"), expected_version=0, recorded_at=AT)
        assert [e.position for e in store.events()] == [1, 2, 3, 4, 5]
        assert [e.position for e in store.events(after=2, limit=2)] == [3, 4]
        assert [e.stream for e in store.events(after=4)] == ["case-5"]
        assert store.events(after=5) == ()

    # --- the outbox ------------------------------------------------------------------------

    def test_the_outbox_is_written_with_the_events(self, store: EventStore) -> None:
        store.append(
            "case-1",
            events("Decided"),
            expected_version=0,
            recorded_at=AT,
            outbox=[
                message("m-1", decision="granted"),
                message("m-2", destination="registry:national"),
            ],
        )
        due = store.pending(AT)
        assert keys(due) == ["m-1", "m-2"]
        first = due[0]
        assert first.message == message("m-1", decision="granted")
        assert (first.attempts, first.next_attempt_at, first.last_error) == (0, AT, None)
        assert due[1].message.destination == "registry:national"

    def test_an_outbox_key_already_there_is_skipped(self, store: EventStore) -> None:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m-1", n=1)]
        )
        store.append(
            "case-1",
            events("B"),
            expected_version=1,
            recorded_at=AT,
            outbox=[message("m-1", n=2), message("m-2"), message("m-2", n=3)],
        )
        assert keys(store.outbox()) == ["m-1", "m-2"]
        assert [dict(m.message.payload) for m in store.outbox()] == [{"n": 1}, {}]
        assert len(store.read("case-1")) == 2

    def test_only_due_messages_are_pending(self, store: EventStore) -> None:
        later = AT + LEASE / 2  # m-now is still leased then
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message("m-now"), message("m-later", at=later)],
        )
        assert keys(store.pending(AT - dt.timedelta(seconds=1))) == []
        assert keys(store.pending(AT)) == ["m-now"]
        assert keys(store.pending(later)) == ["m-later"]

    def test_pending_leases_what_it_returns(self, store: EventStore) -> None:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m-1")]
        )
        assert keys(store.pending(AT, lease=LEASE)) == ["m-1"]
        assert keys(store.pending(AT)) == []
        assert keys(store.pending(AT + LEASE - dt.timedelta(seconds=1))) == []
        # The worker died: the lease runs out and the message is due again.
        assert keys(store.pending(AT + LEASE, lease=LEASE)) == ["m-1"]

    def test_pending_takes_the_oldest_first_up_to_the_limit(self, store: EventStore) -> None:
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message(f"m-{n}", at=AT - dt.timedelta(minutes=n)) for n in range(5)],
        )
        assert keys(store.pending(AT, limit=2)) == ["m-4", "m-3"]
        assert keys(store.pending(AT, limit=10)) == ["m-2", "m-1", "m-0"]

    def test_two_handles_never_lease_the_same_message(self, store: EventStore) -> None:
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message(f"m-{n}") for n in range(6)],
        )
        with contextlib.closing(self.reopen(store)) as other:
            first = keys(store.pending(AT, limit=4))
            second = keys(other.pending(AT, limit=4))
            assert first == ["m-0", "m-1", "m-2", "m-3"]
            assert second == ["m-4", "m-5"]
            assert keys(store.pending(AT)) == keys(other.pending(AT)) == []

    def test_delivered_messages_are_no_longer_pending(self, store: EventStore) -> None:
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message("m-1"), message("m-2")],
        )
        store.pending(AT)
        store.delivered("m-1", at=AT)
        store.delivered("m-1", at=AT + dt.timedelta(hours=1))  # again: no change
        later = AT + 2 * LEASE
        assert keys(store.pending(later)) == ["m-2"]
        assert keys(store.outbox(delivered=True)) == ["m-1"]
        assert keys(store.outbox(delivered=False)) == ["m-2"]
        assert keys(store.outbox()) == ["m-1", "m-2"]

    def test_failed_counts_attempts_and_reschedules(self, store: EventStore) -> None:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m-1")]
        )
        store.pending(AT, lease=LEASE)
        retry_at = AT + dt.timedelta(seconds=30)
        store.failed("m-1", at=AT, error="ConnectError: refused", retry_at=retry_at)
        assert keys(store.pending(retry_at - dt.timedelta(seconds=1))) == []
        # The lease is released: due at retry_at although the lease would still run.
        (again,) = store.pending(retry_at, lease=LEASE)
        assert (again.attempts, again.next_attempt_at, again.last_error) == (
            1,
            retry_at,
            "ConnectError: refused",
        )
        store.failed("m-1", at=retry_at, error="timeout", retry_at=retry_at + LEASE)
        assert store.outbox()[0].attempts == 2

    def test_a_late_failure_does_not_undo_a_delivery(self, store: EventStore) -> None:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m-1")]
        )
        store.delivered("m-1", at=AT)
        store.failed("m-1", at=AT, error="slow worker", retry_at=AT)
        assert keys(store.outbox(delivered=True)) == ["m-1"]
        assert store.pending(AT + LEASE) == ()

    def test_an_unknown_message_key_is_an_error(self, store: EventStore) -> None:
        with pytest.raises(UnknownMessage, match="the outbox has no message with key 'm-9'"):
            store.delivered("m-9", at=AT)
        with pytest.raises(UnknownMessage, match="the outbox has no message with key 'm-9'"):
            store.failed("m-9", at=AT, error="x", retry_at=AT)

    # --- dead letters and cities ----------------------------------------------------------

    def test_a_dead_letter_is_not_pending_until_retried(self, store: EventStore) -> None:
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message("m-1"), message("m-2")],
        )
        store.pending(AT)
        store.failed("m-1", at=AT, error="refused", retry_at=AT)
        store.dead_letter("m-1", at=AT, error="refused again")
        later = AT + 2 * LEASE
        assert keys(store.pending(later)) == ["m-2"]
        (dead,) = store.outbox(dead=True)
        assert (dead.message.key, dead.attempts, dead.last_error, dead.dead_at) == (
            "m-1",
            2,
            "refused again",
            AT,
        )
        assert keys(store.outbox(dead=False)) == ["m-2"]
        assert keys(store.outbox(delivered=False, dead=True)) == ["m-1"]
        store.delivered("m-2", at=later)
        assert store.pending(later + LEASE) == ()  # never retried by itself
        store.retry("m-1", at=later)
        (again,) = store.pending(later + LEASE)
        assert (again.message.key, again.attempts, again.dead_at) == ("m-1", 0, None)
        assert store.outbox(dead=True) == ()

    def test_a_delivered_message_is_never_a_dead_letter(self, store: EventStore) -> None:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m-1")]
        )
        store.delivered("m-1", at=AT)
        store.dead_letter("m-1", at=AT, error="slow worker")
        store.retry("m-1", at=AT)
        assert keys(store.outbox(delivered=True, dead=False)) == ["m-1"]
        with pytest.raises(UnknownMessage):
            store.dead_letter("m-9", at=AT, error="x")
        with pytest.raises(UnknownMessage):
            store.retry("m-9", at=AT)

    def test_pending_and_outbox_filter_by_city(self, store: EventStore) -> None:
        nanjing = attrs.evolve(message("m-nj"), city="320100")
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            outbox=[message("m-yz"), nanjing],
        )
        assert keys(store.outbox(city="320100")) == ["m-nj"]
        assert keys(store.outbox(city="yangzhou")) == ["m-yz"]
        assert keys(store.pending(AT, city="320100")) == ["m-nj"]
        assert keys(store.pending(AT, city="yangzhou")) == ["m-yz"]

    # --- numbered streams ------------------------------------------------------------------

    def test_create_numbered_counts_from_one_per_counter(self, store: EventStore) -> None:
        def case(day: str) -> Callable[[int], NewStream]:
            return lambda n: NewStream(f"{day}-N{n:04d}", events("A"), meta={"day": day})

        made = [
            store.create_numbered(day, case(day), recorded_at=AT)[0].stream
            for day in ("d1", "d1", "d2", "d1")
        ]
        assert made == ["d1-N0001", "d1-N0002", "d2-N0001", "d1-N0003"]
        assert [s.meta["day"] for s in store.streams()] == ["d1", "d1", "d2", "d1"]

    def test_create_numbered_writes_what_build_made(self, store: EventStore) -> None:
        stored = store.create_numbered(
            "day",
            lambda n: NewStream(
                f"case-{n}", events("A", "B"), outbox=[message(f"m-{n}")], meta={"n": str(n)}
            ),
            recorded_at=AT,
            idempotency_key="request-1",
        )
        assert [(e.stream, e.version, e.type) for e in stored] == [
            ("case-1", 1, "A"),
            ("case-1", 2, "B"),
        ]
        assert store.read("case-1") == stored
        assert keys(store.outbox()) == ["m-1"]
        assert store.stream_for_key("request-1") == "case-1"
        assert store.verify().ok

    def test_create_numbered_refuses_a_used_key_before_numbering(self, store: EventStore) -> None:
        def build(n: int) -> NewStream:
            return NewStream(f"case-{n}", events("A"))

        store.create_numbered("day", build, recorded_at=AT, idempotency_key="request-1")
        with pytest.raises(DuplicateKey) as caught:
            store.create_numbered("day", build, recorded_at=AT, idempotency_key="request-1")
        assert caught.value.stream == "case-1"
        assert store.create_numbered("day", build, recorded_at=AT)[0].stream == "case-2"

    def test_a_failing_build_writes_nothing_and_takes_no_number(self, store: EventStore) -> None:
        def broken(n: int) -> NewStream:
            raise RuntimeError(f"cannot build {n}")

        with pytest.raises(RuntimeError, match="cannot build 1"):
            store.create_numbered("day", broken, recorded_at=AT)
        with pytest.raises(ValueError, match="nothing to append"):
            store.create_numbered("day", lambda n: NewStream(f"case-{n}", []), recorded_at=AT)
        assert store.streams() == ()
        made = store.create_numbered(
            "day", lambda n: NewStream(f"case-{n}", events("A")), recorded_at=AT
        )
        assert made[0].stream == "case-1"

    def test_create_numbered_passes_over_streams_that_exist(self, store: EventStore) -> None:
        for n in (1, 2, 4):
            store.append(f"case-{n}", events("A"), expected_version=0, recorded_at=AT)
        made = [
            store.create_numbered(
                "day", lambda n: NewStream(f"case-{n}", events("A")), recorded_at=AT
            )[0].stream
            for _ in range(3)
        ]
        assert made == ["case-3", "case-5", "case-6"]

    def test_two_handles_never_get_the_same_number(self, store: EventStore) -> None:
        def build(n: int) -> NewStream:
            return NewStream(f"case-{n}", events("A"))

        with contextlib.closing(self.reopen(store)) as other:
            made = [
                handle.create_numbered("day", build, recorded_at=AT)[0].stream
                for handle in (store, other, other, store)
            ]
        assert made == ["case-1", "case-2", "case-3", "case-4"]

    def test_writes_are_visible_to_another_handle(self, store: EventStore) -> None:
        stored = store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, outbox=[message("m-1")]
        )
        with contextlib.closing(self.reopen(store)) as other:
            assert other.read("case-1") == stored
            other.delivered("m-1", at=AT)
        assert keys(store.outbox(delivered=True)) == ["m-1"]

    # --- the hash chain --------------------------------------------------------------------

    def test_digests_chain_from_genesis(self, store: EventStore) -> None:
        store.append("case-1", events("A", "B"), expected_version=0, recorded_at=AT)
        store.append("case-2", events("A"), expected_version=0, recorded_at=AT)
        previous = GENESIS_DIGEST
        for event in store.events():
            assert event.previous_digest == previous
            assert event.digest == event_digest(
                previous,
                stream=event.stream,
                version=event.version,
                position=event.position,
                type=event.type,
                payload=event.payload,
                recorded_at=event.recorded_at.isoformat(),
            )
            previous = event.digest

    def test_verify_an_intact_log(self, store: EventStore) -> None:
        assert store.verify().ok
        assert store.verify().events == 0
        for n in range(1, 4):
            store.append(f"case-{n}", events("A", "B"), expected_version=0, recorded_at=AT)
        report = store.verify()
        assert (report.ok, report.events, report.first_bad, report.problem) == (True, 6, None, None)

    @pytest.mark.parametrize("position", [1, 3, 5])
    def test_verify_names_the_tampered_event(self, store: EventStore, position: int) -> None:
        for n in range(1, 4):
            store.append(f"case-{n}", events("A", "B"), expected_version=0, recorded_at=AT)
        self.tamper(store, position)
        report = store.verify()
        assert not report.ok
        assert report.first_bad is not None
        assert report.first_bad.position == position
        assert report.events == position
        assert report.problem

    # --- properties ------------------------------------------------------------------------

    # Every store's suite subclasses this one: several run in one process (differing
    # executors), each with a fresh store per example.
    @settings(
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
        deadline=None,
    )
    @given(
        takes=st.lists(
            st.tuples(st.integers(0, 1), st.integers(0, 2), st.booleans()), min_size=1, max_size=8
        )
    )
    def test_numbers_are_one_to_n_per_counter(
        self, store: EventStore, takes: list[tuple[int, int, bool]]
    ) -> None:
        # Law: whichever handle takes them, and however many builds fail, each counter
        # gives 1, 2, ..., n to the streams it created, in order, and nothing else.
        run = next(_unique)
        given: dict[int, list[int]] = {0: [], 1: [], 2: []}
        with contextlib.closing(self.reopen(store)) as other:
            for handle, counter, fail in takes:
                name = f"num-{run}-{counter}"

                def build(n: int, name: str = name, fail: bool = fail) -> NewStream:
                    if fail:
                        raise RuntimeError("the application is refused")
                    return NewStream(f"{name}-N{n}", events("A"))

                try:
                    stored = (store, other)[handle].create_numbered(name, build, recorded_at=AT)
                except RuntimeError:
                    continue
                given[counter].append(int(stored[0].stream.rsplit("-N", 1)[1]))
        for numbers in given.values():
            assert numbers == list(range(1, len(numbers) + 1))

    # Every store's suite subclasses this one: several run in one process (differing
    # executors), each with a fresh store per example.
    @settings(
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
        deadline=None,
    )
    @given(
        batches=st.lists(
            st.tuples(st.integers(0, 2), st.lists(payloads, min_size=1, max_size=3)),
            min_size=1,
            max_size=5,
        ),
        offset=st.integers(-12 * 60, 14 * 60),
    )
    def test_appends_read_back_in_order(
        self,
        store: EventStore,
        batches: list[tuple[int, list[dict[str, Any]]]],
        offset: int,
    ) -> None:
        # Law: each stream reads back as its appends in order, versions 1..n; positions
        # grow by one across the log; payloads come back as JSON; the digests chain.
        run = next(_unique)
        at = AT.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
        names = [f"prop-{run}-{n}" for n in range(3)]
        written: dict[str, list[StoredEvent]] = {name: [] for name in names}
        log: list[StoredEvent] = []
        for index, batch in batches:
            name = names[index]
            new = [NewEvent(f"T{i}", p) for i, p in enumerate(batch)]
            stored = store.append(name, new, expected_version=len(written[name]), recorded_at=at)
            assert [dict(e.payload) for e in stored] == [as_json(p) for p in batch]
            written[name] += stored
            log += stored
        for name in names:
            assert store.read(name) == tuple(written[name])
            assert [e.version for e in written[name]] == list(range(1, len(written[name]) + 1))
        positions = [e.position for e in log]
        assert positions == list(range(positions[0], positions[0] + len(log)))
        assert store.events(after=positions[0] - 1, limit=len(log)) == tuple(log)
        assert all(e.recorded_at == at for e in log)
        # What verify() recomputes, for this example's events (the whole log would make
        # the test quadratic): each digest matches the content read back and chains on.
        previous = log[0].previous_digest
        for event in store.events(after=positions[0] - 1, limit=len(log)):
            assert event.previous_digest == previous
            assert event.digest == event_digest(
                previous,
                stream=event.stream,
                version=event.version,
                position=event.position,
                type=event.type,
                payload=event.payload,
                recorded_at=event.recorded_at.isoformat(),
            )
            previous = event.digest

    # Every store's suite subclasses this one: several run in one process (differing
    # executors), each with a fresh store per example.
    @settings(
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
        deadline=None,
    )
    @given(
        appends=st.lists(
            st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 9)), max_size=4),
            min_size=1,
            max_size=4,
        )
    )
    def test_each_outbox_key_is_kept_once_with_its_first_payload(
        self, store: EventStore, appends: list[list[tuple[str, int]]]
    ) -> None:
        # Law: publishing the same key again never adds a second message.
        run = next(_unique)
        stream = f"outbox-{run}"
        first: dict[str, int] = {}
        for version, batch in enumerate(appends):
            store.append(
                stream,
                events("A"),
                expected_version=version,
                recorded_at=AT,
                outbox=[message(f"{run}-{key}", n=n) for key, n in batch],
            )
            for key, n in batch:
                first.setdefault(f"{run}-{key}", n)
        mine = [m for m in store.outbox() if m.message.key.startswith(f"{run}-")]
        assert keys(mine) == list(first)
        assert [m.message.payload["n"] for m in mine] == list(first.values())


def _projection(version: int, due: dt.date | None = None, **body: Any) -> Projection:
    return Projection(version=version, body={"v": version, **body}, due=due)


class ProjectionStoreContract:
    """Tests every :class:`~creditcommit.ports.ProjectionStore` must pass.

    Subclasses provide the ``store`` fixture (a fresh, empty store for each test). Beyond
    the protocol's docstring, the contract fixes: a projection is written in the
    transaction of its events (a refused append writes neither); one whose version is not
    the stream's new version is refused with ``ValueError`` before anything is written; a
    stream appended to without a projection has none until one is put.
    """

    def test_a_projection_is_written_with_its_events(self, store: ProjectionStore) -> None:
        assert isinstance(store, ProjectionStore)
        day = dt.date(2026, 5, 20)
        store.append(
            "case-1",
            events("A", "B"),
            expected_version=0,
            recorded_at=AT,
            projection=_projection(2, day, state="B"),
        )
        found = store.projection("case-1")
        assert found == Projection(version=2, body={"v": 2, "state": "B"}, due=day)
        store.append(
            "case-1", events("C"), expected_version=2, recorded_at=AT, projection=_projection(3)
        )
        assert store.projection("case-1") == _projection(3)
        assert store.projection("nobody") is None

    def test_create_numbered_writes_the_projection(self, store: ProjectionStore) -> None:
        stored = store.create_numbered(
            "c",
            lambda n: NewStream(f"case-{n}", events("A"), projection=_projection(1, n=n)),
            recorded_at=AT,
        )
        assert store.projection(stored[0].stream) == _projection(1, n=1)

    def test_a_projection_of_another_version_is_refused(self, store: ProjectionStore) -> None:
        with pytest.raises(ValueError, match="version"):
            store.append(
                "case-1",
                events("A"),
                expected_version=0,
                recorded_at=AT,
                projection=_projection(2),
            )
        assert store.read("case-1") == ()
        assert store.projection("case-1") is None

    def test_a_refused_append_keeps_the_projection(self, store: ProjectionStore) -> None:
        store.append(
            "case-1", events("A"), expected_version=0, recorded_at=AT, projection=_projection(1)
        )
        with pytest.raises(ConcurrencyError):
            store.append(
                "case-1",
                events("B"),
                expected_version=0,
                recorded_at=AT,
                projection=_projection(1, lost=True),
            )
        assert store.projection("case-1") == _projection(1)

    def test_an_append_without_projection_leaves_none(self, store: ProjectionStore) -> None:
        store.append(
            "case-1",
            events("A"),
            expected_version=0,
            recorded_at=AT,
            meta={"kind": "case"},
            projection=_projection(1),
        )
        store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        assert store.projection("case-1") is None
        assert store.unprojected(kind="case") == ("case-1",)
        store.put_projection("case-1", _projection(2))
        assert store.projection("case-1") == _projection(2)
        assert store.unprojected(kind="case") == ()

    def test_put_projection_needs_the_streams_version(self, store: ProjectionStore) -> None:
        store.append("case-1", events("A", "B"), expected_version=0, recorded_at=AT)
        with pytest.raises(ConcurrencyError):
            store.put_projection("case-1", _projection(1))
        with pytest.raises(ConcurrencyError):
            store.put_projection("nobody", _projection(1))
        assert store.projection("case-1") is None

    def test_due_streams_and_unprojected_filter_on_meta(self, store: ProjectionStore) -> None:
        early, late = dt.date(2026, 5, 10), dt.date(2026, 6, 1)
        for name, kind, due in (
            ("case-1", "case", late),
            ("case-2", "case", early),
            ("draw-1", "draw", early),
            ("case-3", "case", None),
        ):
            store.append(
                name,
                events("A"),
                expected_version=0,
                recorded_at=AT,
                meta={"kind": kind},
                projection=_projection(1, due),
            )
        store.append(
            "case-4", events("A"), expected_version=0, recorded_at=AT, meta={"kind": "case"}
        )
        assert store.due_streams(early - dt.timedelta(days=1), kind="case") == ()
        assert store.due_streams(early, kind="case") == ("case-2",)
        assert store.due_streams(late, kind="case") == ("case-1", "case-2")
        assert store.due_streams(late) == ("case-1", "case-2", "draw-1")
        assert store.due_streams(dt.date.max, kind="draw") == ("draw-1",)
        assert store.unprojected(kind="case") == ("case-4",)
        assert store.unprojected(kind="draw") == ()


#: A document the size of a signed letter, and another one.
LETTER = json.dumps({"letter": "本人承诺" * 1500, "case": "case-1"}, ensure_ascii=False)
OTHER_LETTER = json.dumps({"letter": "另一份承诺", "case": "case-2"}, ensure_ascii=False)


class DocumentStoreContract:
    """Tests every :class:`~creditcommit.ports.DocumentStore` must pass.

    Subclasses provide the ``store`` fixture (a fresh, empty store for each test) and the
    ``tamper_document`` hook. Beyond the protocol's docstring, the contract fixes: a
    document is stored in the transaction of its events (a refused append stores none),
    keyed by :func:`~creditcommit.ports.document_digest`; storing it again changes nothing;
    ``verify`` names the event that mentions a document whose content was changed.
    """

    def tamper_document(self, store: DocumentStore, digest: str) -> None:
        """Change the stored text of document ``digest`` behind the store's back."""
        raise NotImplementedError

    @staticmethod
    def _mentions(digest: str, *types: str) -> list[NewEvent]:
        return [NewEvent(type_, {"letter": digest, "i": i}) for i, type_ in enumerate(types)]

    def test_a_document_is_stored_by_its_digest(self, store: DocumentStore) -> None:
        assert isinstance(store, DocumentStore)
        digest = document_digest(LETTER)
        assert len(digest) == 64
        store.append(
            "case-1",
            self._mentions(digest, "Signed"),
            expected_version=0,
            recorded_at=AT,
            documents=[LETTER],
        )
        assert store.document(digest) == LETTER
        assert store.document(document_digest(OTHER_LETTER)) is None
        assert store.document("0" * 64) is None

    def test_a_refused_append_stores_no_document(self, store: DocumentStore) -> None:
        store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
        digest = document_digest(LETTER)
        with pytest.raises(ConcurrencyError):
            store.append(
                "case-1",
                self._mentions(digest, "Signed"),
                expected_version=0,
                recorded_at=AT,
                documents=[LETTER],
            )
        assert store.document(digest) is None
        with pytest.raises(TypeError, match="documents"):
            store.append(
                "case-1",
                events("B"),
                expected_version=1,
                recorded_at=AT,
                documents=[b"bytes"],  # type: ignore[list-item]
            )
        assert len(store.read("case-1")) == 1

    def test_a_document_stored_again_is_kept_once(self, store: DocumentStore) -> None:
        digest = document_digest(LETTER)
        for stream in ("case-1", "case-2"):
            store.append(
                stream,
                self._mentions(digest, "Signed"),
                expected_version=0,
                recorded_at=AT,
                documents=[LETTER, LETTER],
            )
        assert store.document(digest) == LETTER
        assert store.verify().ok

    def test_create_numbered_stores_the_documents(self, store: DocumentStore) -> None:
        digest = document_digest(OTHER_LETTER)
        store.create_numbered(
            "c",
            lambda n: NewStream(
                f"case-{n}", self._mentions(digest, "Signed"), documents=(OTHER_LETTER,)
            ),
            recorded_at=AT,
        )
        assert store.document(digest) == OTHER_LETTER

    def test_verify_names_the_event_of_a_changed_document(self, store: DocumentStore) -> None:
        digest = document_digest(LETTER)
        store.append("case-0", events("A"), expected_version=0, recorded_at=AT)
        stored = store.append(
            "case-1",
            [NewEvent("Accepted", {}), *self._mentions(digest, "Signed")],
            expected_version=0,
            recorded_at=AT,
            documents=[LETTER],
        )
        assert store.verify().ok
        self.tamper_document(store, digest)
        report = store.verify()
        assert not report.ok
        assert report.stream == "case-1"
        assert report.first_bad is not None
        assert report.first_bad.position == stored[1].position
        assert report.problem is not None
        assert digest[:12] in report.problem


class TransactionalStoreContract:
    """Tests every :class:`~creditcommit.ports.TransactionalStore` must pass.

    Subclasses provide the ``store`` fixture (a fresh, empty store for each test) and the
    ``reopen`` hook (a second, independent handle on the same data).
    """

    def reopen(self, store: TransactionalStore) -> EventStore:
        raise NotImplementedError

    def test_a_group_commits_every_write(self, store: TransactionalStore) -> None:
        assert isinstance(store, TransactionalStore)
        with store.transaction():
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
            store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
            store.create_numbered("c", lambda n: NewStream(f"n-{n}", events("A")), recorded_at=AT)
            # the group's own writes are visible inside it
            assert [e.type for e in store.read("case-1")] == ["A", "B"]
        assert [e.version for e in store.read("case-1")] == [1, 2]
        assert [e.stream for e in store.read("n-1")] == ["n-1"]
        assert store.verify().ok

    def test_a_group_that_raises_writes_nothing(self, store: TransactionalStore) -> None:
        store.append("case-0", events("A"), expected_version=0, recorded_at=AT)

        def group() -> None:
            with store.transaction():
                store.append(
                    "case-1",
                    events("A"),
                    expected_version=0,
                    recorded_at=AT,
                    outbox=[message("k")],
                )
                store.create_numbered(
                    "c", lambda n: NewStream(f"n-{n}", events("A")), recorded_at=AT
                )
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            group()
        assert store.read("case-1") == ()
        assert store.read("n-1") == ()
        assert keys(store.outbox()) == []
        # the number taken inside the group was given back
        stored = store.create_numbered(
            "c", lambda n: NewStream(f"n-{n}", events("A")), recorded_at=AT
        )
        assert stored[0].stream == "n-1"
        assert store.verify().ok

    def test_a_refused_write_inside_a_group_leaves_the_others(
        self, store: TransactionalStore
    ) -> None:
        with store.transaction():
            store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
            with pytest.raises(ConcurrencyError):
                store.append("case-1", events("X", "Y"), expected_version=0, recorded_at=AT)
            with pytest.raises(ValueError, match="event"):
                store.append("case-2", [], expected_version=0, recorded_at=AT)
            store.append(
                "case-2", events("A"), expected_version=0, recorded_at=AT, idempotency_key="r"
            )
            with pytest.raises(DuplicateKey):
                store.append(
                    "case-3", events("A"), expected_version=0, recorded_at=AT, idempotency_key="r"
                )
            store.append("case-1", events("B"), expected_version=1, recorded_at=AT)
        assert [e.type for e in store.read("case-1")] == ["A", "B"]
        assert [e.type for e in store.read("case-2")] == ["A"]
        assert store.read("case-3") == ()
        assert store.verify().ok

    def test_a_nested_group_joins_the_outer_one(self, store: TransactionalStore) -> None:
        seen: list[int] = []

        def group() -> None:
            with store.transaction():
                with store.transaction():
                    store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
                seen.append(len(store.read("case-1")))
                raise RuntimeError("the outer block decides")

        with pytest.raises(RuntimeError, match="outer"):
            group()
        assert seen == [1]
        assert store.read("case-1") == ()

    def test_another_handle_sees_the_group_only_once_committed(
        self, store: TransactionalStore
    ) -> None:
        other = self.reopen(store)
        try:
            with store.transaction():
                store.append("case-1", events("A"), expected_version=0, recorded_at=AT)
                assert other.read("case-1") == ()
            assert [e.type for e in other.read("case-1")] == ["A"]
        finally:
            other.close()


class ProjectionReaderContract:
    """Tests every :class:`~creditcommit.ports.ProjectionReader` must pass.

    Subclasses provide the ``store`` fixture (a fresh, empty store for each test, also a
    :class:`~creditcommit.ports.ProjectionStore`). Beyond the protocol's docstring, the
    contract fixes: every stream matching the meta is yielded once, in the order created,
    with what :meth:`~creditcommit.ports.EventStore.streams` says of it and what
    :meth:`~creditcommit.ports.ProjectionStore.projection` returns for it, whatever the size
    of the chunks (a store's ``_projection_chunk``, when it has one, is set to 2 here so
    that several chunks are read).
    """

    @pytest.fixture(autouse=True)
    def _small_chunks(self, store: ProjectionReader, monkeypatch: pytest.MonkeyPatch) -> None:
        if hasattr(store, "_projection_chunk"):
            monkeypatch.setattr(store, "_projection_chunk", 2)

    def _fill(self, store: ProjectionStore) -> None:
        late = AT + dt.timedelta(days=3)
        for name, kind, city, projected in (
            ("case-1", "case", "A", True),
            ("draw-1", "draw", "A", True),
            ("case-2", "case", "B", False),
            ("case-3", "case", "A", True),
            ("case-4", "case", "A", True),
            ("case-5", "case", "B", True),
        ):
            store.append(
                name,
                events("A"),
                expected_version=0,
                recorded_at=AT,
                meta={"kind": kind, "city": city},
                projection=_projection(1, dt.date(2026, 6, 1), name=name) if projected else None,
            )
        # Behind its events: appended to without a projection.
        store.append("case-3", events("B"), expected_version=1, recorded_at=late)
        # Current again after a second append.
        store.append(
            "case-4", events("B"), expected_version=1, recorded_at=late, projection=_projection(2)
        )

    def test_every_stream_with_its_current_projection(self, store: ProjectionReader) -> None:
        assert isinstance(store, ProjectionReader)
        assert isinstance(store, ProjectionStore)
        self._fill(store)
        for meta in ({}, {"kind": "case"}, {"kind": "case", "city": "A"}, {"city": "B"}):
            found = list(store.projections(**meta))
            assert [info for info, _ in found] == list(store.streams(**meta)), meta
            assert [p for _, p in found] == [store.projection(i.stream) for i, _ in found]
        names = {info.stream: p for info, p in store.projections(kind="case")}
        assert list(names) == ["case-1", "case-2", "case-3", "case-4", "case-5"]
        assert names["case-1"] == _projection(1, dt.date(2026, 6, 1), name="case-1")
        assert names["case-2"] is None  # never had one
        assert names["case-3"] is None  # behind its events
        assert names["case-4"] == _projection(2)

    def test_nothing_matches(self, store: ProjectionReader) -> None:
        assert list(store.projections(kind="case")) == []
        assert isinstance(store, ProjectionStore)
        self._fill(store)
        assert list(store.projections(kind="licence")) == []

    def test_streams_appended_while_reading_are_not_yielded_twice(
        self, store: ProjectionReader
    ) -> None:
        assert isinstance(store, ProjectionStore)
        self._fill(store)
        seen: list[str] = []
        for n, (info, _) in enumerate(store.projections(kind="case")):
            seen.append(info.stream)
            store.append(
                f"late-{n}",
                events("A"),
                expected_version=0,
                recorded_at=AT,
                meta={"kind": "case"},
                projection=_projection(1),
            )
            if n > 20:
                break
        assert len(seen) == len(set(seen))
        assert seen[:5] == ["case-1", "case-2", "case-3", "case-4", "case-5"]
