"""How the adapter calls an upstream: categories, retries, the deadline, the breaker, and
no URL or secret in any failure."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from creditcommit.credit import CreditLookupFailure
from creditcommit.errors import DuplicateLicence, LicenceHolderMismatch
from creditcommit.ports import IssuedLicence
from creditcommit_http import (
    CircuitOpen,
    HttpCreditSource,
    HttpLicenceStore,
    RetryPolicy,
    Upstream,
    UpstreamError,
)
from creditcommit_http.testing import FakeUpstream, Fault
from http_support import AT, CITY, KNOWN

SECRET_URL = "http://gw-SECRET-TOKEN.invalid"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _upstream(fake: FakeUpstream, clock: Clock, **kw: object) -> Upstream:
    client = httpx.Client(base_url=SECRET_URL, transport=fake.transport())
    options: dict[str, object] = {
        "timeout": 1.0,
        "deadline": 5.0,
        "retry": RetryPolicy(retries=2, base=0.1, cap=1.0),
        "breaker_failures": 3,
        "breaker_reset": 30.0,
        "clock": clock,
        "sleep": clock.sleep,
        "uniform": lambda lo, hi: hi,
    }
    options.update(kw)
    return Upstream(client, **options)  # type: ignore[arg-type]


def _failure(source: HttpCreditSource) -> CreditLookupFailure:
    answer = source.lookup(KNOWN, city=CITY, at=AT)
    assert isinstance(answer, CreditLookupFailure)
    assert "SECRET" not in answer.reason
    assert "invalid" not in answer.reason
    assert "http" not in answer.reason
    return answer


@pytest.fixture
def fake() -> FakeUpstream:
    fake = FakeUpstream()
    fake.set_grade(KNOWN, "A", city=CITY)
    return fake


def test_500_then_success_is_retried(fake: FakeUpstream) -> None:
    clock = Clock()
    fake.fail(Fault("status", status=500), times=1)
    evidence = HttpCreditSource(_upstream(fake, clock)).lookup(KNOWN, city=CITY, at=AT)
    assert not isinstance(evidence, CreditLookupFailure)
    assert evidence.grade == "A"
    assert len(fake.requests) == 2
    assert clock.slept == [0.1]


@pytest.mark.parametrize(
    ("fault", "category", "calls"),
    [
        (Fault("status", status=503), "upstream-error", 3),
        (Fault("status", status=401), "unauthorised", 1),
        (Fault("status", status=404), "upstream-error", 1),
        (Fault("not-json"), "malformed-reply", 1),
        (Fault("wrong-types"), "malformed-reply", 1),
        (Fault("wrong-subject"), "wrong-subject", 1),
        (Fault("delay", seconds=4), "timeout", 3),
    ],
)
def test_each_failure_has_its_category(
    fake: FakeUpstream, fault: Fault, category: str, calls: int
) -> None:
    fake.fail(fault)
    failure = _failure(HttpCreditSource(_upstream(fake, Clock())))
    assert failure.category.value == category
    assert failure.reason.startswith("credit-lookup: ")
    assert len(fake.requests) == calls


def test_a_refused_connection_is_refused() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = httpx.Client(base_url=SECRET_URL, transport=httpx.MockTransport(refuse))
    upstream = Upstream(client, retry=RetryPolicy(retries=0))
    failure = _failure(HttpCreditSource(upstream))
    assert failure.category.value == "refused"


def test_transport_text_never_reaches_the_reason() -> None:
    def leak(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"failed reading {request.url} Authorization: Bearer SECRET-TOKEN")

    client = httpx.Client(base_url=SECRET_URL, transport=httpx.MockTransport(leak))
    failure = _failure(HttpCreditSource(Upstream(client, retry=RetryPolicy(retries=0))))
    assert failure.category.value == "unreachable"
    assert failure.reason == "credit-lookup: transport failure (ReadError)"


def test_the_deadline_bounds_the_retries(fake: FakeUpstream) -> None:
    clock = Clock()
    fake.fail(Fault("status", status=503))
    upstream = _upstream(
        fake, clock, deadline=0.25, retry=RetryPolicy(retries=10, base=0.1, cap=1.0)
    )
    failure = _failure(HttpCreditSource(upstream))
    # The last failure is reported; no wait would end past the deadline.
    assert (failure.category.value, failure.reason) == ("upstream-error", "credit-lookup: HTTP 503")
    assert clock.slept == [0.1]
    assert len(fake.requests) == 2


def test_writes_that_are_not_idempotent_are_not_retried(fake: FakeUpstream) -> None:
    fake.fail(Fault("status", status=503))
    upstream = _upstream(fake, Clock())
    with pytest.raises(UpstreamError) as raised:
        upstream.call("x-post", "POST", "/anything", body={})
    assert raised.value.category == "upstream-error"
    assert len(fake.requests) == 1


def test_the_breaker_opens_then_half_opens(fake: FakeUpstream) -> None:
    clock = Clock()
    fake.fail(Fault("status", status=503))
    source = HttpCreditSource(_upstream(fake, clock, retry=RetryPolicy(retries=0)))
    for _ in range(3):
        _failure(source)
    assert len(fake.requests) == 3
    # Open: no request is made.
    failure = _failure(source)
    assert failure.category.value == "unreachable"
    assert failure.reason.startswith("credit-lookup: circuit open")
    assert len(fake.requests) == 3
    # After the reset time, one trial goes through; it fails, the breaker opens again.
    clock.now += 30
    _failure(source)
    assert len(fake.requests) == 4
    _failure(source)
    assert len(fake.requests) == 4
    # The upstream recovers: the next trial closes the breaker.
    fake.heal()
    clock.now += 30
    assert not isinstance(source.lookup(KNOWN, city=CITY, at=AT), CreditLookupFailure)
    assert not isinstance(source.lookup(KNOWN, city=CITY, at=AT), CreditLookupFailure)
    assert len(fake.requests) == 6


def test_the_breaker_is_per_endpoint(fake: FakeUpstream) -> None:
    clock = Clock()
    upstream = _upstream(fake, clock, retry=RetryPolicy(retries=0))
    fake.fail(Fault("status", status=503), prefix="/credit/")
    source = HttpCreditSource(upstream)
    for _ in range(4):
        _failure(source)
    with pytest.raises(CircuitOpen):
        upstream.call("credit-lookup", "GET", f"/credit/v1/subjects/{KNOWN}")
    licences = HttpLicenceStore(upstream)
    assert list(licences.holdings(KNOWN, city=CITY, on=dt.date(2026, 5, 6))) == []


def test_a_licence_held_by_another_holder_is_not_withdrawn(fake: FakeUpstream) -> None:
    store = HttpLicenceStore(_upstream(fake, Clock()))
    licence = IssuedLicence(
        reference="L-9",
        licence_type="t",
        subject=KNOWN,
        item_code="i",
        case_id="c",
        issued_on=dt.date(2026, 5, 6),
    )
    store.record(licence, city=CITY)
    with pytest.raises(LicenceHolderMismatch):
        store.withdraw("L-9", city=CITY, on=dt.date(2026, 6, 1), reason="r", holder="someone")
    assert fake.withdrawal("L-9", city=CITY) is None
    other = IssuedLicence(
        reference="L-9",
        licence_type="t",
        subject="91320000000000000X",
        item_code="i",
        case_id="c2",
        issued_on=dt.date(2026, 5, 6),
    )
    with pytest.raises(DuplicateLicence):
        store.record(other, city=CITY)


def test_a_time_without_offset_is_refused_before_any_call(fake: FakeUpstream) -> None:
    source = HttpCreditSource(_upstream(fake, Clock()))
    with pytest.raises(ValueError, match="offset"):
        source.lookup(KNOWN, city=CITY, at=AT.replace(tzinfo=None))
    assert fake.requests == []
