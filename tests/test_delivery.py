"""Tests for creditcommit.delivery: routing, retries with backoff, reports, exactly-once effects."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.builtin.sqlite_store import DEFAULT_LEASE, SQLiteEventStore
from creditcommit.delivery import (
    DEFAULT_BACKOFF,
    Backoff,
    DeliveryFailure,
    DeliveryReport,
    Destinations,
    deliver,
    deliver_all,
)
from creditcommit.errors import InvalidValue
from creditcommit.ports import CreditRegistry, OutboxMessage, PendingMessage, PublishingChannel
from creditcommit.testing.store_contract import AT, events, keys, message

SECOND = dt.timedelta(seconds=1)
BACKOFF = Backoff(base=dt.timedelta(seconds=30), factor=2, cap=dt.timedelta(minutes=10))
LEASE = dt.timedelta(minutes=5)


class Channel:
    """A publishing channel that honours idempotency keys and counts what reaches it.

    ``failures`` is how many calls fail (with ``ConnectionError``) before it works.
    """

    def __init__(self, name: str = "site", *, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.received: Counter[str] = Counter()
        self.effects: Counter[str] = Counter()

    def publish(self, message: OutboxMessage) -> None:
        self.received[message.key] += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("connection refused")
        if message.key not in self.effects:  # idempotent on the key
            self.effects[message.key] += 1


class Registry(Channel):
    """A credit registry with the same behaviour."""

    def push(self, message: OutboxMessage) -> None:
        self.publish(message)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    with SQLiteEventStore(tmp_path / "events.db") as store:
        yield store


def publish(store: SQLiteEventStore, *messages: OutboxMessage, stream: str = "case-1") -> None:
    store.append(stream, events("Decided"), expected_version=0, recorded_at=AT, outbox=messages)


# --- backoff -----------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [BACKOFF.delay(n) for n in range(1, 8)] == [
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=4),
        dt.timedelta(minutes=8),
        dt.timedelta(minutes=10),
        dt.timedelta(minutes=10),
    ]
    assert BACKOFF.delay(10**9) == dt.timedelta(minutes=10)
    assert (DEFAULT_BACKOFF.base, DEFAULT_BACKOFF.factor, DEFAULT_BACKOFF.cap) == (
        dt.timedelta(seconds=30),
        2,
        dt.timedelta(hours=1),
    )


seconds = st.integers(1, 3600).map(lambda s: dt.timedelta(seconds=s))


@given(base=seconds, factor=st.integers(1, 4), extra=seconds, attempts=st.integers(1, 60))
def test_backoff_is_the_capped_geometric_sequence(
    base: dt.timedelta, factor: int, extra: dt.timedelta, attempts: int
) -> None:
    cap = base + extra
    backoff = Backoff(base=base, factor=factor, cap=cap)
    whole = base.total_seconds() * factor ** (attempts - 1)  # exact while below the cap
    assert backoff.delay(attempts) == dt.timedelta(seconds=min(whole, cap.total_seconds()))


@given(
    base=seconds,
    factor=st.floats(1, 10),
    extra=seconds,
    attempts=st.integers(1, 200),
)
def test_backoff_grows_and_stays_within_bounds(
    base: dt.timedelta, factor: float, extra: dt.timedelta, attempts: int
) -> None:
    backoff = Backoff(base=base, factor=factor, cap=base + extra)
    delay = backoff.delay(attempts)
    assert base <= delay <= backoff.cap
    assert backoff.delay(attempts + 1) >= delay
    assert backoff.delay(attempts) == delay  # no randomness


def test_backoff_refuses_bad_parameters() -> None:
    with pytest.raises(InvalidValue) as caught:
        Backoff(base=dt.timedelta(0), factor=0.5, cap=-SECOND)
    assert str(caught.value) == (
        "invalid Backoff: base: expected a positive duration, got 0:00:00 (and 2 more)"
    )
    assert [str(p) for p in caught.value.problems] == [
        "base: expected a positive duration, got 0:00:00",
        "factor: expected at least 1, got 0.5",
        "cap: expected at least base (0:00:00), got -1 day, 23:59:59",
    ]


def test_backoff_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        BACKOFF.delay(0)


# --- destinations ------------------------------------------------------------------------


def test_destinations_file_ports_by_kind_and_name() -> None:
    site, national = Channel("site"), Registry("national")
    destinations = Destinations.of(site, national)
    # A Registry also has publish, so it is filed as both; names() lists each.
    assert destinations.names() == ("channel:national", "channel:site", "registry:national")
    assert destinations.route("channel:site") == site.publish
    assert destinations.route("registry:national") == national.push
    assert isinstance(site, PublishingChannel)
    assert isinstance(national, CreditRegistry)


def test_an_unknown_destination_is_a_lookup_error() -> None:
    destinations = Destinations(channels={"site": Channel()})
    with pytest.raises(LookupError) as caught:
        destinations.route("registry:site")
    assert str(caught.value) == (
        "no destination 'registry:site' is configured (known: channel:site)"
    )
    with pytest.raises(LookupError, match=r"\(known: none\)"):
        Destinations().route("channel:site")


def test_two_ports_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two ports are named channel:site"):
        Destinations.of(Channel("site"), Channel("site"))


def test_something_that_is_not_a_port_is_refused() -> None:
    with pytest.raises(TypeError, match="is neither a publishing channel"):
        Destinations.of(object())  # type: ignore[arg-type]


# --- deliver -----------------------------------------------------------------------------


def test_deliver_routes_and_records(store: SQLiteEventStore) -> None:
    site, national = Channel("site"), Registry("national")
    publish(store, message("m-1"), message("m-2", destination="registry:national"))
    report = deliver(store, Destinations.of(site, national), AT, backoff=BACKOFF)
    assert report == DeliveryReport(delivered=("m-1", "m-2"))
    assert str(report) == "2 delivered, 0 failed, 0 skipped"
    assert site.effects == Counter({"m-1": 1})
    assert national.effects == Counter({"m-2": 1})
    assert keys(store.outbox(delivered=True)) == ["m-1", "m-2"]
    assert deliver(store, Destinations.of(site, national), AT + LEASE) == DeliveryReport()


def test_an_unknown_destination_is_a_failure_on_the_message(store: SQLiteEventStore) -> None:
    site = Channel("site")
    publish(store, message("m-1", destination="channel:wechat"), message("m-2"))
    report = deliver(store, Destinations.of(site), AT, backoff=BACKOFF)
    error = "LookupError: no destination 'channel:wechat' is configured (known: channel:site)"
    assert report.delivered == ("m-2",)
    assert report.failed == (
        DeliveryFailure("m-1", "channel:wechat", error, 1, AT + dt.timedelta(seconds=30)),
    )
    (pending,) = store.outbox(delivered=False)
    assert (pending.attempts, pending.last_error) == (1, error)
    assert pending.next_attempt_at == AT + dt.timedelta(seconds=30)


def test_a_failing_port_is_retried_on_the_backoff_schedule(store: SQLiteEventStore) -> None:
    site = Channel("site", failures=3)
    destinations = Destinations.of(site)
    publish(store, message("m-1"))
    now = AT
    schedule = []
    for _ in range(3):
        report = deliver(store, destinations, now, backoff=BACKOFF)
        (failure,) = report.failed
        assert failure.error == "ConnectionError: connection refused"
        assert failure.retry_at is not None
        schedule.append((failure.attempts, failure.retry_at - now))
        assert deliver(store, destinations, failure.retry_at - SECOND) == DeliveryReport()
        now = failure.retry_at
    assert schedule == [
        (1, dt.timedelta(seconds=30)),
        (2, dt.timedelta(minutes=1)),
        (3, dt.timedelta(minutes=2)),
    ]
    assert deliver(store, destinations, now, backoff=BACKOFF).delivered == ("m-1",)
    assert site.received == Counter({"m-1": 4})
    assert site.effects == Counter({"m-1": 1})


def test_after_a_failure_the_destination_is_skipped_for_the_run(
    store: SQLiteEventStore,
) -> None:
    site, national = Channel("site", failures=1), Registry("national")
    publish(
        store,
        message("m-1"),
        message("m-2"),
        message("m-3", destination="registry:national"),
        message("m-4"),
    )
    destinations = Destinations.of(site, national)
    report = deliver(store, destinations, AT, backoff=BACKOFF)
    assert [f.key for f in report.failed] == ["m-1"]
    assert report.skipped == ("m-2", "m-4")
    assert report.delivered == ("m-3",)
    assert str(report) == "1 delivered, 1 failed, 2 skipped"
    assert site.received == Counter({"m-1": 1})
    # The failed message is due after the backoff; the skipped ones when their lease ends.
    assert deliver(store, destinations, AT + dt.timedelta(seconds=30)).delivered == ("m-1",)
    later = deliver(store, destinations, AT + LEASE)
    assert later.delivered == ("m-2", "m-4")


def test_deliver_takes_at_most_limit(store: SQLiteEventStore) -> None:
    publish(store, *(message(f"m-{n}") for n in range(5)))
    report = deliver(store, Destinations.of(Channel()), AT, limit=2)
    assert report.delivered == ("m-0", "m-1")
    assert not report.drained
    assert str(report) == "2 delivered, 0 failed, 0 skipped; more are due"


def test_deliver_all_drains_what_is_due(store: SQLiteEventStore) -> None:
    site = Channel("site", failures=1)
    publish(store, *(message(f"m-{n}") for n in range(7)))
    publish(store, message("later", at=AT + SECOND), stream="case-2")
    report = deliver_all(store, Destinations.of(site), AT, limit=2, backoff=BACKOFF)
    assert report.drained
    assert [f.key for f in report.failed] == ["m-0"]
    assert report.skipped == ("m-1",)
    assert report.delivered == ("m-2", "m-3", "m-4", "m-5", "m-6")
    assert keys(store.outbox(delivered=False)) == ["m-0", "m-1", "later"]


def test_deliver_all_is_bounded(store: SQLiteEventStore) -> None:
    publish(store, *(message(f"m-{n}") for n in range(5)))
    report = deliver_all(store, Destinations.of(Channel()), AT, limit=1, max_rounds=3)
    assert report.delivered == ("m-0", "m-1", "m-2")
    assert not report.drained
    with pytest.raises(ValueError, match="max_rounds must be at least 1, got 0"):
        deliver_all(store, Destinations.of(Channel()), AT, max_rounds=0)


def test_deliver_passes_the_lease_on(store: SQLiteEventStore) -> None:
    site = Channel("site")
    publish(store, message("m-1"), message("m-2"))
    destinations = Destinations(channels={"elsewhere": site})
    report = deliver(store, destinations, AT, lease=dt.timedelta(minutes=1), limit=1)
    assert [f.key for f in report.failed] == ["m-1"]
    # m-2 was not taken (limit 1); m-1 has been rescheduled, and its lease released.
    assert keys(store.pending(AT)) == ["m-2"]


# --- a store that fails ------------------------------------------------------------------


class LockedStore(SQLiteEventStore):
    """A store whose every call of the named methods fails as a locked database would."""

    def __init__(self, path: Path, *, broken: set[str]) -> None:
        super().__init__(path)
        self.broken = broken

    def _check(self, method: str) -> None:
        if method in self.broken:
            raise sqlite3.OperationalError("database is locked")

    def pending(
        self,
        now: dt.datetime,
        *,
        limit: int = 100,
        lease: dt.timedelta = DEFAULT_LEASE,
        city: str | None = None,
    ) -> tuple[PendingMessage, ...]:
        self._check("pending")
        return super().pending(now, limit=limit, lease=lease, city=city)

    def delivered(self, key: str, *, at: dt.datetime) -> None:
        self._check("delivered")
        super().delivered(key, at=at)

    def failed(self, key: str, *, at: dt.datetime, error: str, retry_at: dt.datetime) -> None:
        self._check("failed")
        super().failed(key, at=at, error=error, retry_at=retry_at)


def test_a_store_that_cannot_be_asked_is_reported_not_raised(tmp_path: Path) -> None:
    with LockedStore(tmp_path / "events.db", broken={"pending"}) as store:
        report = deliver(store, Destinations(), AT)
        assert report == DeliveryReport(drained=False, error="OperationalError: database is locked")
        assert str(report) == (
            "0 delivered, 0 failed, 0 skipped; the store failed: OperationalError: database "
            "is locked"
        )
        assert deliver_all(store, Destinations(), AT).error is not None


def test_a_delivery_the_store_cannot_record_is_delivered_again(tmp_path: Path) -> None:
    site = Channel("site")
    with LockedStore(tmp_path / "events.db", broken={"delivered"}) as store:
        publish(store, message("m-1"))
        report = deliver(store, Destinations.of(site), AT)
        assert report.failed == (
            DeliveryFailure(
                "m-1",
                "channel:site",
                "delivered, but the store could not record it: OperationalError: database "
                "is locked",
                0,
                None,
            ),
        )
        store.broken.clear()
        assert deliver(store, Destinations.of(site), AT + LEASE - SECOND) == DeliveryReport()
        assert deliver(store, Destinations.of(site), AT + LEASE).delivered == ("m-1",)
    assert site.received == Counter({"m-1": 2})
    assert site.effects == Counter({"m-1": 1})


def test_a_failure_the_store_cannot_record(tmp_path: Path) -> None:
    with LockedStore(tmp_path / "events.db", broken={"failed"}) as store:
        publish(store, message("m-1"))
        report = deliver(store, Destinations.of(Channel(failures=1)), AT)
        assert report.failed == (
            DeliveryFailure(
                "m-1",
                "channel:site",
                "ConnectionError: connection refused; the store could not record the failure: "
                "OperationalError: database is locked",
                0,
                None,
            ),
        )
        assert store.outbox()[0].attempts == 0


def test_an_interrupt_is_not_swallowed(store: SQLiteEventStore) -> None:
    class Interrupted(Channel):
        def publish(self, message: OutboxMessage) -> None:
            raise KeyboardInterrupt

    publish(store, message("m-1"))
    with pytest.raises(KeyboardInterrupt):
        deliver(store, Destinations.of(Interrupted()), AT)


# --- the law: at least once + idempotent ports = exactly once ----------------------------


@given(
    failures=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    registry_failures=st.integers(0, 4),
    limit=st.integers(1, 4),
)
def test_every_message_takes_effect_exactly_once(
    failures: list[int], registry_failures: int, limit: int
) -> None:
    # However often the ports fail, delivering on the retry schedule gets every message
    # through, and each takes effect once.
    site, national = Channel("site"), Registry("national", failures=registry_failures)
    destinations = Destinations.of(site, national)
    with SQLiteEventStore(":memory:") as store:
        expected = []
        for n, fails in enumerate(failures):
            site.failures += fails
            messages = [message(f"c{n}"), message(f"r{n}", destination="registry:national")]
            publish(store, *messages, stream=f"case-{n}")
            expected += [m.key for m in messages]
        now = AT
        for _ in range(200):
            deliver_all(store, destinations, now, limit=limit, backoff=BACKOFF)
            if not store.outbox(delivered=False):
                break
            now += LEASE
        assert store.outbox(delivered=False) == ()
    assert set(site.effects) | set(national.effects) == set(expected)
    assert set(site.effects.values()) | set(national.effects.values()) == {1}
    assert site.received.total() == len(failures) + sum(failures)
    assert national.received.total() == len(failures) + registry_failures


# --- dead letters and cities ------------------------------------------------------------------


def test_a_message_failing_max_attempts_times_is_a_dead_letter(store: SQLiteEventStore) -> None:
    site = Channel(failures=100)
    publish(store, message("m-1"))
    now = AT
    reports = []
    for _ in range(3):
        reports.append(deliver(store, Destinations.of(site), now, backoff=BACKOFF, max_attempts=3))
        now += dt.timedelta(hours=1)
    assert [r.failed[0].attempts for r in reports] == [1, 2, 3]
    assert [r.failed[0].dead for r in reports] == [False, False, True]
    assert reports[-1].failed[0].retry_at is None
    assert reports[-1].dead == ("m-1",)
    assert str(reports[-1]) == "0 delivered, 1 failed, 0 skipped, 1 now dead letters"
    # Not retried automatically, however long one waits.
    assert deliver(store, Destinations.of(site), now + dt.timedelta(days=30)) == DeliveryReport()
    assert site.received["m-1"] == 3
    (dead,) = store.outbox(dead=True)
    assert dead.attempts == 3
    assert dead.last_error == "ConnectionError: connection refused"
    # Retried by hand, it goes out.
    store.retry("m-1", at=now)
    site.failures = 0
    assert deliver(store, Destinations.of(site), now).delivered == ("m-1",)
    assert site.effects["m-1"] == 1


def test_an_unknown_destination_dies_too(store: SQLiteEventStore) -> None:
    publish(store, message("m-1", destination="registry:national"))
    report = deliver(store, Destinations.of(Channel()), AT, max_attempts=1)
    assert report.dead == ("m-1",)
    assert keys(store.outbox(dead=True)) == ["m-1"]


def test_max_attempts_is_at_least_one(store: SQLiteEventStore) -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1, got 0"):
        deliver(store, Destinations.of(Channel()), AT, max_attempts=0)


def test_deliver_takes_only_the_city_it_is_given(store: SQLiteEventStore) -> None:
    # Two cities each have a channel named "site": each message goes to its own city's.
    yangzhou, nanjing = Channel("site"), Channel("site")
    publish(store, message("m-yz"), attrs.evolve(message("m-nj"), city="nj"))
    assert deliver_all(store, Destinations.of(nanjing), AT, city="nj").delivered == ("m-nj",)
    assert deliver_all(store, Destinations.of(yangzhou), AT, city="yangzhou").delivered == ("m-yz",)
    assert list(nanjing.effects) == ["m-nj"]
    assert list(yangzhou.effects) == ["m-yz"]
