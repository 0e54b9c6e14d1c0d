"""A tiny city plugin for the tests: it serves Hangzhou (330100) and no other city.

Everything is in memory; ``EVENTS`` records what the case-event listener was told.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from creditcommit import hookimpl
from creditcommit.catalog import Catalog
from creditcommit.config import PluginSettings
from creditcommit.credit import CreditEvidence
from creditcommit.materials import LicenceHolding
from creditcommit.ports import IssuedLicence, OutboxMessage, StoredEvent

CITY = "330100"

EVENTS: list[tuple[str, str, str]] = []


class MemoryCreditSource:
    name = "hangzhou-credit"

    def lookup(self, subject: str, *, city: str, at: dt.datetime) -> CreditEvidence:
        return CreditEvidence.create(
            subject=subject, source=self.name, retrieved_at=at, scale="yangzhou-a-e", grade="A"
        )


class MemoryLicenceStore:
    name = "hangzhou-licences"

    def __init__(self) -> None:
        self.licences: dict[str, IssuedLicence] = {}

    def holdings(self, subject: str, *, city: str, on: dt.date) -> list[LicenceHolding]:
        return [
            LicenceHolding(lic.licence_type, lic.reference, lic.valid_until)
            for lic in self.licences.values()
            if lic.subject == subject
        ]

    def record(self, licence: IssuedLicence, *, city: str) -> None:
        self.licences.setdefault(licence.reference, licence)

    def withdraw(self, reference: str, *, city: str, holder: str, on: dt.date, reason: str) -> None:
        if reference in self.licences and self.licences[reference].subject == holder:
            del self.licences[reference]


class MemoryChannel:
    name = "hangzhou-website"

    def __init__(self) -> None:
        self.published: dict[str, OutboxMessage] = {}

    def publish(self, message: OutboxMessage) -> None:
        self.published.setdefault(message.key, message)


@hookimpl
def creditcommit_credit_source(city: str, settings: PluginSettings) -> MemoryCreditSource | None:
    return MemoryCreditSource() if city == CITY else None


@hookimpl
def creditcommit_licence_store(city: str) -> MemoryLicenceStore | None:
    # A hook implementation may take fewer arguments than the specification.
    return MemoryLicenceStore() if city == CITY else None


@hookimpl
def creditcommit_publishing_channels(
    city: str, settings: PluginSettings
) -> list[MemoryChannel] | None:
    return [MemoryChannel()] if city == CITY else None


@hookimpl
def creditcommit_catalog(city: str, settings: PluginSettings) -> Catalog | None:
    return Catalog.sample() if city == CITY else None


@hookimpl
def creditcommit_holiday_overrides(
    city: str, settings: PluginSettings
) -> list[dict[str, Any]] | None:
    if city != CITY:
        return None
    notice = "EXAMPLE, NOT OFFICIAL: made-up dates for the tests"
    holidays = [{"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"}]
    return [{"years": [{"year": 2027, "notice": notice, "holidays": holidays}]}]


@hookimpl
def creditcommit_case_event(city: str, case_id: str, event: StoredEvent) -> None:
    EVENTS.append((city, case_id, event.type))
