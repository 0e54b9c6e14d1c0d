"""The port contract suites of creditcommit, run against the HTTP adapters — over
``httpx.MockTransport`` and over a real socket on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest

from creditcommit.credit import CreditRecord
from creditcommit.testing.port_contracts import (
    SUBJECT,
    CreditRegistryContract,
    CreditSourceContract,
    LicenceStoreContract,
    PublishingChannelContract,
    sample_record,
)
from creditcommit_http import (
    HttpCreditRegistry,
    HttpCreditSource,
    HttpLicenceStore,
    HttpPublishingChannel,
    Upstream,
)
from creditcommit_http.testing import FakeUpstream, FakeUpstreamServer
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
