"""The port contract suites of creditcommit, run against the HTTP adapters — over
``httpx.MockTransport`` and over a real socket on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest

from creditcommit.credit import CreditRecord, FailureCategory
from creditcommit.testing.port_contracts import (
    SUBJECT,
    CreditRegistryContract,
    CreditSourceContract,
    CreditSourceFailureContract,
    LicenceStoreContract,
    PublishingChannelContract,
    PublishingChannelFailureContract,
    sample_record,
)
from creditcommit_http import (
    HttpCreditRegistry,
    HttpCreditSource,
    HttpLicenceStore,
    HttpPublishingChannel,
    Upstream,
)
from creditcommit_http.resilience import RetryPolicy
from creditcommit_http.testing import FakeUpstream, FakeUpstreamServer, Fault
from http_support import CITY, KNOWN


@pytest.fixture(params=["mock", "socket"])
def upstream(request: pytest.FixtureRequest, fake_upstream: FakeUpstream) -> Iterator[Upstream]:
    """The same fake behind a mock transport and behind a real server."""
    if request.param == "mock":
        client = httpx.Client(base_url="http://fake.invalid", transport=fake_upstream.transport())
        yield Upstream(client, timeout=2, deadline=4)
        client.close()
        return
    with FakeUpstreamServer(fake_upstream) as server, httpx.Client(base_url=server.url) as client:
        yield Upstream(client, timeout=2, deadline=4)


class TestHttpCreditSource(CreditSourceContract):
    @pytest.fixture
    def credit_source(self, upstream: Upstream, fake_upstream: FakeUpstream) -> HttpCreditSource:
        fake_upstream.set_grade(KNOWN, "B", city=CITY)
        fake_upstream.add_record(sample_record("R-1", subject=KNOWN), city=CITY)
        fake_upstream.add_record(sample_record("R-other-city", subject=KNOWN), city="330100")
        return HttpCreditSource(upstream)

    @pytest.fixture
    def known_subject(self) -> str:
        return KNOWN

    @pytest.fixture
    def known_grade(self) -> str:
        return "B"

    @pytest.fixture
    def known_record_ids(self) -> list[str]:
        return ["R-1"]

    @pytest.fixture
    def unknown_subject(self) -> str:
        return SUBJECT


class TestHttpCreditRegistry(CreditRegistryContract):
    @pytest.fixture
    def credit_registry(self, upstream: Upstream) -> HttpCreditRegistry:
        return HttpCreditRegistry(upstream)

    @pytest.fixture
    def registered_records(
        self, fake_upstream: FakeUpstream
    ) -> Callable[[str], Sequence[CreditRecord]]:
        return fake_upstream.registry_records


class TestHttpLicenceStore(LicenceStoreContract):
    @pytest.fixture
    def licence_store(self, upstream: Upstream) -> HttpLicenceStore:
        return HttpLicenceStore(upstream)


class TestHttpPublishingChannel(PublishingChannelContract):
    @pytest.fixture
    def channel(self, upstream: Upstream) -> HttpPublishingChannel:
        return HttpPublishingChannel(upstream)

    @pytest.fixture
    def published(self, fake_upstream: FakeUpstream) -> Callable[[], Sequence[str]]:
        return fake_upstream.published


# --------------------------------------------------------------------------- failure modes

#: How the fake upstream is put into each fault of the credit-source failure contract.
CREDIT_FAULTS = {
    FailureCategory.TIMEOUT: Fault("delay", seconds=1.0),
    FailureCategory.MALFORMED_REPLY: Fault("not-json"),
    FailureCategory.WRONG_SUBJECT: Fault("wrong-subject"),
    FailureCategory.UPSTREAM_ERROR: Fault("status", status=503),
}


def no_wait(seconds: float) -> None:
    """Retries without waiting (the tests do not sleep)."""


@pytest.fixture
def impatient(fake_upstream: FakeUpstream) -> Iterator[Upstream]:
    """The fake behind a mock transport, with a short timeout and retries without waiting."""
    client = httpx.Client(base_url="http://fake.invalid", transport=fake_upstream.transport())
    yield Upstream(client, timeout=0.2, deadline=1, retry=RetryPolicy(retries=1), sleep=no_wait)
    client.close()


class TestHttpCreditSourceFaults(CreditSourceFailureContract):
    faults = tuple(CREDIT_FAULTS)

    @pytest.fixture
    def credit_source_with_fault(
        self, impatient: Upstream, fake_upstream: FakeUpstream
    ) -> Callable[[FailureCategory], HttpCreditSource]:
        def make(fault: FailureCategory) -> HttpCreditSource:
            fake_upstream.heal()
            fake_upstream.fail(CREDIT_FAULTS[fault], prefix="/credit/")
            # A new source and upstream each time: no circuit breaker carried over.
            return HttpCreditSource(
                Upstream(impatient.client, timeout=0.2, deadline=1, sleep=no_wait)
            )

        return make


class TestHttpPublishingChannelFaults(PublishingChannelFailureContract):
    @pytest.fixture
    def channel_with_fault(
        self, impatient: Upstream, fake_upstream: FakeUpstream
    ) -> Callable[[], HttpPublishingChannel]:
        def make() -> HttpPublishingChannel:
            fake_upstream.fail(Fault("status", status=503))
            return HttpPublishingChannel(impatient)

        return make

    @pytest.fixture
    def published(self, fake_upstream: FakeUpstream) -> Callable[[], Sequence[str]]:
        return fake_upstream.published
