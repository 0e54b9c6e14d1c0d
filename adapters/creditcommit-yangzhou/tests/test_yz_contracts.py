"""The core's port contract suites, run against the ports the plugin builds from
``[plugins.yangzhou]``, talking to the HTTP adapter's fake upstream on 127.0.0.1.

``fake_upstream`` and ``fake_upstream_server`` are the fixtures of the HTTP adapter's pytest
plugin (installed with it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from creditcommit.credit import CreditRecord
from creditcommit.plugins import Integrations
from creditcommit.ports import CreditRegistry, CreditSource, LicenceStore, PublishingChannel
from creditcommit.testing.port_contracts import (
    SUBJECT,
    CreditRegistryContract,
    CreditSourceContract,
    LicenceStoreContract,
    PublishingChannelContract,
    sample_record,
)
from creditcommit_http.testing import FakeUpstream, FakeUpstreamServer
from yz_support import HOTEL, integrations


@pytest.fixture
def city() -> str:
    # One place: the plugin binds the same ports for each (test_plugin.py checks all three),
    # and every test here starts a server.
    return "321012"


@pytest.fixture
def bound(fake_upstream_server: FakeUpstreamServer, city: str, tmp_path: Path) -> Integrations:
    url = fake_upstream_server.url
    endpoints = {
        "credit_url": url,
        "registry_url": url,
        "licence_url": url,
        "publication_url": url,
        "timeout": 2.0,
        "deadline": 4.0,
    }
    return integrations(city, endpoints, tmp_path)


class TestCreditSource(CreditSourceContract):
    @pytest.fixture
    def credit_source(
        self, bound: Integrations, fake_upstream: FakeUpstream, city: str
    ) -> CreditSource:
        fake_upstream.set_grade(HOTEL.identifier, "B", city=city)
        fake_upstream.add_record(sample_record("R-1", subject=HOTEL.identifier), city=city)
        fake_upstream.add_record(sample_record("R-2", subject=HOTEL.identifier), city="330100")
        return bound.credit_source(city)

    @pytest.fixture
    def known_subject(self) -> str:
        return HOTEL.identifier

    @pytest.fixture
    def known_grade(self) -> str:
        return "B"

    @pytest.fixture
    def known_record_ids(self) -> list[str]:
        return ["R-1"]

    @pytest.fixture
    def unknown_subject(self) -> str:
        return SUBJECT


class TestCreditRegistry(CreditRegistryContract):
    @pytest.fixture
    def credit_registry(self, bound: Integrations, city: str) -> CreditRegistry:
        return bound.credit_registry(city)

    @pytest.fixture
    def registered_records(
        self, fake_upstream: FakeUpstream
    ) -> Callable[[str], Sequence[CreditRecord]]:
        return fake_upstream.registry_records


class TestLicenceStore(LicenceStoreContract):
    @pytest.fixture
    def licence_store(self, bound: Integrations, city: str) -> LicenceStore:
        return bound.licence_store(city)


class TestPublishingChannel(PublishingChannelContract):
    @pytest.fixture
    def channel(self, bound: Integrations, city: str) -> PublishingChannel:
        (found,) = bound.publishing_channels(city)
        return found

    @pytest.fixture
    def published(self, fake_upstream: FakeUpstream) -> Callable[[], Sequence[str]]:
        return fake_upstream.published
