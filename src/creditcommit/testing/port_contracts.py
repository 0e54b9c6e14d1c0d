"""Contract suites for the ports (端口契约测试): every adapter runs the same tests.

Subclass a contract in a test module, under a name pytest collects, and provide its
fixtures; the built-in adapters and every adapter distribution run them alike::

    class TestMyCreditSource(CreditSourceContract):
        @pytest.fixture
        def credit_source(self) -> CreditSource: ...

The fixtures each contract needs are listed in its docstring. The contracts check the
protocol, idempotency on keys (the outbox delivers at least once) and what happens for a
subject the port knows nothing about. They need pytest, not Hypothesis.

The failure-mode contracts (:class:`CreditSourceFailureContract`,
:class:`PublishingChannelFailureContract`) check what an adapter does when its upstream
fails: a credit source returns a :class:`~creditcommit.credit.CreditLookupFailure` of the
right category instead of raising; a channel raises, so that the outbox retries. The
adapter provides a way to put its upstream into each fault (``credit_source_with_fault``,
``channel_with_fault``).

Every contract asks for ``city`` (where a contract needs one), which defaults to the
``creditcommit_city`` fixture of the pytest plugin (``"321000"``); override either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence

import pytest

from creditcommit.commitments import Signature
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    FailureCategory,
    Severity,
    sanitise_detail,
)
from creditcommit.errors import CreditCommitError, DuplicateLicence, LicenceHolderMismatch
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import LicenceHolding
from creditcommit.ports import (
    CreditRegistry,
    CreditSource,
    IssuedLicence,
    LicenceStore,
    OutboxMessage,
    PublishingChannel,
    SignatureProvider,
)

__all__ = [
    "AT",
    "CITY",
    "CREDIT_SOURCE_FAULTS",
    "CreditRegistryContract",
    "CreditSourceContract",
    "CreditSourceFailureContract",
    "LicenceStoreContract",
    "PublishingChannelContract",
    "PublishingChannelFailureContract",
    "SUBJECT",
    "SignatureProviderContract",
    "outbox_message",
    "sample_record",
]

_CST = dt.timezone(dt.timedelta(hours=8))

AT = dt.datetime(2026, 5, 6, 9, 30, tzinfo=_CST)
"""The time the contracts ask at (China Standard Time)."""

SUBJECT = "91321000MA1Q2W3E4" + uscc_check_char("91321000MA1Q2W3E4")
"""A valid unified social credit code the contracts use for a subject with no data."""

CITY = "321000"
"""The city the contracts use unless ``creditcommit_city`` or ``city`` is overridden."""

CREDIT_SOURCE_FAULTS: tuple[FailureCategory, ...] = (
    FailureCategory.TIMEOUT,
    FailureCategory.MALFORMED_REPLY,
    FailureCategory.WRONG_SUBJECT,
)
"""The faults :class:`CreditSourceFailureContract` puts a credit source into, one test each."""


class _CityFixture:
    """The ``city`` fixture of every contract: ``creditcommit_city`` unless overridden."""

    @pytest.fixture
    def city(self, creditcommit_city: str) -> str:
        return creditcommit_city


def sample_record(record_id: str, subject: str = SUBJECT) -> CreditRecord:
    """A general commitment-breach record decided on 2026-05-06, default publicity."""
    return CreditRecord.with_default_periods(
        record_id=record_id,
        subject=subject,
        kind=CreditRecordKind.COMMITMENT_BREACH,
        severity=Severity.GENERAL,
        decided_on=AT.date(),
        authority="contract test",
    )


def outbox_message(
    key: str,
    *,
    city: str,
    destination: str,
    payload: dict[str, object] | None = None,
    topic: str = "contract",
) -> OutboxMessage:
    """An outbox message created at :data:`AT`; the payload defaults to ``{"n": key}``."""
    return OutboxMessage(
        key=key,
        destination=destination,
        topic=topic,
        city=city,
        payload={"n": key} if payload is None else payload,
        created_at=AT,
    )


def _evidence(source: CreditSource, subject: str, *, city: str, at: dt.datetime) -> CreditEvidence:
    answer = source.lookup(subject, city=city, at=at)
    assert isinstance(answer, CreditEvidence), f"expected credit evidence, got {answer!r}"
    return answer


class CreditSourceContract(_CityFixture):
    """The contract of :class:`~creditcommit.ports.CreditSource`.

    Fixtures: ``credit_source``; ``city``; ``known_subject`` (a subject the source has data
    for); ``known_grade`` (its grade, or None); ``known_record_ids`` (the ids of its
    records, possibly empty); ``unknown_subject`` (a subject the source knows nothing
    about; default :data:`SUBJECT`).
    """

    @pytest.fixture
    def unknown_subject(self) -> str:
        return SUBJECT

    def test_implements_the_protocol(self, credit_source: CreditSource) -> None:
        assert isinstance(credit_source, CreditSource)
        assert isinstance(credit_source.name, str)
        assert credit_source.name.strip()

    def test_evidence_is_about_the_subject_and_the_time_asked(
        self, credit_source: CreditSource, city: str, known_subject: str, known_grade: str | None
    ) -> None:
        evidence = _evidence(credit_source, known_subject, city=city, at=AT)
        assert evidence.subject == known_subject
        assert evidence.source == credit_source.name
        assert evidence.retrieved_at == AT
        assert evidence.grade == known_grade
        assert evidence.verify()

    def test_evidence_carries_the_subjects_records(
        self,
        credit_source: CreditSource,
        city: str,
        known_subject: str,
        known_record_ids: Collection[str],
    ) -> None:
        evidence = _evidence(credit_source, known_subject, city=city, at=AT)
        assert sorted(r.record_id for r in evidence.records) == sorted(known_record_ids)
        assert all(r.subject == known_subject for r in evidence.records)

    def test_unknown_subject_has_no_grade_and_no_records(
        self, credit_source: CreditSource, city: str, unknown_subject: str
    ) -> None:
        evidence = _evidence(credit_source, unknown_subject, city=city, at=AT)
        assert evidence.subject == unknown_subject
        assert evidence.grade is None
        assert evidence.records == ()

    def test_lookup_is_repeatable(
        self, credit_source: CreditSource, city: str, known_subject: str
    ) -> None:
        first = _evidence(credit_source, known_subject, city=city, at=AT)
        again = _evidence(credit_source, known_subject, city=city, at=AT)
        later = _evidence(credit_source, known_subject, city=city, at=AT + dt.timedelta(hours=1))
        assert again.digest == first.digest
        assert later.retrieved_at == AT + dt.timedelta(hours=1)
        assert later.digest != first.digest

    def test_a_time_without_offset_is_refused(
        self, credit_source: CreditSource, city: str, known_subject: str
    ) -> None:
        with pytest.raises(ValueError, match="offset"):
            credit_source.lookup(known_subject, city=city, at=AT.replace(tzinfo=None))


class CreditRegistryContract(_CityFixture):
    """The contract of :class:`~creditcommit.ports.CreditRegistry`.

    Fixtures: ``credit_registry``; ``city``; ``registered_records``, a callable
    ``(subject) -> Sequence[CreditRecord]`` returning what the registry now holds for the
    subject (for the built-in registry: the records of a lookup).
    """

    def _message(self, key: str, record: CreditRecord, city: str, name: str) -> OutboxMessage:
        return outbox_message(
            key,
            city=city,
            destination=f"registry:{name}",
            payload=record.to_dict(),
            topic="credit-record",
        )

    def test_implements_the_protocol(self, credit_registry: CreditRegistry) -> None:
        assert isinstance(credit_registry, CreditRegistry)
        assert isinstance(credit_registry.name, str)
        assert credit_registry.name.strip()

    def test_a_pushed_record_is_held(
        self,
        credit_registry: CreditRegistry,
        city: str,
        registered_records: Callable[[str], Sequence[CreditRecord]],
    ) -> None:
        record = sample_record("contract-push-1")
        credit_registry.push(self._message("k-1", record, city, credit_registry.name))
        assert [r.record_id for r in registered_records(SUBJECT)] == ["contract-push-1"]
        assert registered_records(SUBJECT)[0] == record

    def test_a_redelivered_message_is_held_once(
        self,
        credit_registry: CreditRegistry,
        city: str,
        registered_records: Callable[[str], Sequence[CreditRecord]],
    ) -> None:
        first = self._message("k-1", sample_record("contract-1"), city, credit_registry.name)
        second = self._message("k-2", sample_record("contract-2"), city, credit_registry.name)
        for message in (first, first, second, first, second):
            credit_registry.push(message)
        held = sorted(r.record_id for r in registered_records(SUBJECT))
        assert held == ["contract-1", "contract-2"]

    def test_other_subjects_are_not_touched(
        self,
        credit_registry: CreditRegistry,
        city: str,
        registered_records: Callable[[str], Sequence[CreditRecord]],
    ) -> None:
        other = "91321000MA1Q2W3E5" + uscc_check_char("91321000MA1Q2W3E5")
        record = sample_record("contract-other", subject=other)
        credit_registry.push(self._message("k-other", record, city, credit_registry.name))
        assert list(registered_records(SUBJECT)) == []
        assert [r.record_id for r in registered_records(other)] == ["contract-other"]

    def test_a_payload_that_is_not_a_record_is_refused(
        self,
        credit_registry: CreditRegistry,
        city: str,
        registered_records: Callable[[str], Sequence[CreditRecord]],
    ) -> None:
        payload: dict[str, object] = {"record_id": "contract-bad", "subject": SUBJECT}
        message = outbox_message(
            "k-bad", city=city, destination=f"registry:{credit_registry.name}", payload=payload
        )
        with pytest.raises(CreditCommitError):
            credit_registry.push(message)
        assert list(registered_records(SUBJECT)) == []


class LicenceStoreContract(_CityFixture):
    """The contract of :class:`~creditcommit.ports.LicenceStore`.

    Fixtures: ``licence_store`` (empty at the start of each test); ``city``.
    """

    def _licence(self, reference: str, subject: str = SUBJECT) -> IssuedLicence:
        return IssuedLicence(
            reference=reference,
            licence_type="food-business-licence",
            subject=subject,
            item_code="contract-item",
            case_id=f"case-{reference}",
            issued_on=dt.date(2026, 5, 6),
            valid_until=dt.date(2031, 5, 5),
        )

    def test_implements_the_protocol(self, licence_store: LicenceStore) -> None:
        assert isinstance(licence_store, LicenceStore)
        assert isinstance(licence_store.name, str)
        assert licence_store.name.strip()

    def test_an_unknown_subject_holds_nothing(self, licence_store: LicenceStore, city: str) -> None:
        assert list(licence_store.holdings(SUBJECT, city=city, on=dt.date(2026, 6, 1))) == []

    def test_a_recorded_licence_is_held_while_valid(
        self, licence_store: LicenceStore, city: str
    ) -> None:
        licence = self._licence("L-1")
        licence_store.record(licence, city=city)
        expected = LicenceHolding("food-business-licence", "L-1", dt.date(2031, 5, 5))
        held = licence_store.holdings
        assert list(held(SUBJECT, city=city, on=dt.date(2026, 5, 6))) == [expected]
        assert list(held(SUBJECT, city=city, on=dt.date(2031, 5, 5))) == [expected]
        assert list(held(SUBJECT, city=city, on=dt.date(2026, 5, 5))) == []
        assert list(held(SUBJECT, city=city, on=dt.date(2031, 5, 6))) == []

    def test_recording_again_keeps_one_licence(
        self, licence_store: LicenceStore, city: str
    ) -> None:
        licence = self._licence("L-2")
        licence_store.record(licence, city=city)
        licence_store.record(licence, city=city)
        held = licence_store.holdings(SUBJECT, city=city, on=dt.date(2026, 6, 1))
        assert [h.reference for h in held] == ["L-2"]

    def test_a_withdrawn_licence_is_no_longer_held(
        self, licence_store: LicenceStore, city: str
    ) -> None:
        licence_store.record(self._licence("L-3"), city=city)
        licence_store.record(self._licence("L-4"), city=city)
        for _ in range(2):
            licence_store.withdraw(
                "L-3", city=city, holder=SUBJECT, on=dt.date(2026, 7, 1), reason="revoked"
            )
        held = licence_store.holdings(SUBJECT, city=city, on=dt.date(2026, 7, 1))
        assert [h.reference for h in held] == ["L-4"]

    def test_another_licence_under_a_used_reference_is_refused(
        self, licence_store: LicenceStore, city: str
    ) -> None:
        licence_store.record(self._licence("L-6"), city=city)
        other = "91321000MA1Q2W3E5" + uscc_check_char("91321000MA1Q2W3E5")
        with pytest.raises(DuplicateLicence):
            licence_store.record(self._licence("L-6", subject=other), city=city)
        assert list(licence_store.holdings(other, city=city, on=dt.date(2026, 6, 1))) == []
        held = licence_store.holdings(SUBJECT, city=city, on=dt.date(2026, 6, 1))
        assert [h.reference for h in held] == ["L-6"]

    def test_another_holders_licence_is_not_withdrawn(
        self, licence_store: LicenceStore, city: str
    ) -> None:
        licence_store.record(self._licence("L-7"), city=city)
        other = "91321000MA1Q2W3E5" + uscc_check_char("91321000MA1Q2W3E5")
        with pytest.raises(LicenceHolderMismatch):
            licence_store.withdraw(
                "L-7", city=city, holder=other, on=dt.date(2026, 7, 1), reason="revoked"
            )
        held = licence_store.holdings(SUBJECT, city=city, on=dt.date(2026, 7, 1))
        assert [h.reference for h in held] == ["L-7"]

    def test_another_subjects_licences_are_not_held(
        self, licence_store: LicenceStore, city: str
    ) -> None:
        other = "91321000MA1Q2W3E5" + uscc_check_char("91321000MA1Q2W3E5")
        licence_store.record(self._licence("L-5", subject=other), city=city)
        assert list(licence_store.holdings(SUBJECT, city=city, on=dt.date(2026, 6, 1))) == []


class PublishingChannelContract(_CityFixture):
    """The contract of :class:`~creditcommit.ports.PublishingChannel`.

    Fixtures: ``channel`` (empty at the start of each test); ``city``; ``published``, a
    callable returning the keys of the messages the channel has made public, in order and
    with repeats (one entry per effect).
    """

    def test_implements_the_protocol(self, channel: PublishingChannel) -> None:
        assert isinstance(channel, PublishingChannel)
        assert isinstance(channel.name, str)
        assert channel.name.strip()

    def test_a_message_is_published(
        self, channel: PublishingChannel, city: str, published: Callable[[], Sequence[str]]
    ) -> None:
        channel.publish(outbox_message("p-1", city=city, destination=f"channel:{channel.name}"))
        assert list(published()) == ["p-1"]

    def test_a_redelivered_message_is_published_once(
        self, channel: PublishingChannel, city: str, published: Callable[[], Sequence[str]]
    ) -> None:
        destination = f"channel:{channel.name}"
        for key in ("p-1", "p-1", "p-2", "p-1", "p-3", "p-2"):
            channel.publish(outbox_message(key, city=city, destination=destination))
        assert list(published()) == ["p-1", "p-2", "p-3"]


class SignatureProviderContract:
    """The contract of :class:`~creditcommit.ports.SignatureProvider`.

    Fixtures: ``signature_provider`` (with its key); ``other_provider``, one of the same
    kind with another key.
    """

    DATA = "信用承诺书 v1: the content of a signed letter".encode()

    def test_implements_the_protocol(self, signature_provider: SignatureProvider) -> None:
        assert isinstance(signature_provider, SignatureProvider)
        assert isinstance(signature_provider.name, str)
        assert signature_provider.name.strip()

    def test_its_own_signature_verifies(self, signature_provider: SignatureProvider) -> None:
        signature = signature_provider.sign(self.DATA)
        assert isinstance(signature, Signature)
        assert signature_provider.verify(self.DATA, signature) is True

    def test_other_data_does_not_verify(self, signature_provider: SignatureProvider) -> None:
        signature = signature_provider.sign(self.DATA)
        assert signature_provider.verify(self.DATA + b" ", signature) is False
        assert signature_provider.verify(self.DATA[:-1], signature) is False

    def test_a_changed_signature_does_not_verify(
        self, signature_provider: SignatureProvider
    ) -> None:
        signature = signature_provider.sign(self.DATA)
        value = signature.value
        flipped = value[:-1] + ("0" if value[-1] != "0" else "1")
        for forged in (
            Signature(signature.algorithm, signature.key_id, flipped),
            Signature(signature.algorithm + "-x", signature.key_id, value),
            Signature(signature.algorithm, signature.key_id + "-x", value),
        ):
            assert signature_provider.verify(self.DATA, forged) is False

    def test_another_keys_signature_does_not_verify(
        self, signature_provider: SignatureProvider, other_provider: SignatureProvider
    ) -> None:
        assert signature_provider.verify(self.DATA, other_provider.sign(self.DATA)) is False


class CreditSourceFailureContract(_CityFixture):
    """What a :class:`~creditcommit.ports.CreditSource` does when its upstream fails.

    For each fault of :data:`CREDIT_SOURCE_FAULTS` (a timeout, a reply that is not credit
    evidence, a reply about another subject), ``lookup`` must **return** a
    :class:`~creditcommit.credit.CreditLookupFailure` of that category — not raise — about
    the subject asked, from the source, at the time asked, with a reason that is already
    sanitised (no URL, no token). The service records it and decides on the standard route.

    Fixtures: ``credit_source_with_fault``, a callable ``(FailureCategory) -> CreditSource``
    returning a source whose next look-up of ``fault_subject`` meets that fault; ``city``;
    ``fault_subject`` (default :data:`SUBJECT`). Set ``faults`` on the subclass to test
    more categories (e.g. ``UNAUTHORISED`` for an adapter that authenticates).
    """

    faults: tuple[FailureCategory, ...] = CREDIT_SOURCE_FAULTS

    @pytest.fixture
    def fault_subject(self) -> str:
        return SUBJECT

    def _failure(
        self,
        credit_source_with_fault: Callable[[FailureCategory], CreditSource],
        fault: FailureCategory,
        city: str,
        subject: str,
    ) -> tuple[CreditSource, object]:
        source = credit_source_with_fault(fault)
        try:
            answer: object = source.lookup(subject, city=city, at=AT)
        except Exception as exc:
            pytest.fail(
                f"the source raised {type(exc).__name__} for a {fault.value} fault; it must "
                "return a CreditLookupFailure instead"
            )
        return source, answer

    def test_each_fault_is_returned_as_a_failure_of_its_category(
        self,
        credit_source_with_fault: Callable[[FailureCategory], CreditSource],
        city: str,
        fault_subject: str,
    ) -> None:
        for fault in self.faults:
            source, answer = self._failure(credit_source_with_fault, fault, city, fault_subject)
            assert isinstance(answer, CreditLookupFailure), (fault, answer)
            assert answer.category is fault
            assert answer.subject == fault_subject
            assert answer.source == source.name
            assert answer.attempted_at == AT

    def test_the_reason_is_short_and_sanitised(
        self,
        credit_source_with_fault: Callable[[FailureCategory], CreditSource],
        city: str,
        fault_subject: str,
    ) -> None:
        for fault in self.faults:
            _, answer = self._failure(credit_source_with_fault, fault, city, fault_subject)
            assert isinstance(answer, CreditLookupFailure)
            assert answer.reason.strip()
            assert sanitise_detail(answer.reason) == answer.reason
            assert "://" not in answer.reason

    def test_a_failure_survives_the_event_log(
        self,
        credit_source_with_fault: Callable[[FailureCategory], CreditSource],
        city: str,
        fault_subject: str,
    ) -> None:
        for fault in self.faults:
            _, answer = self._failure(credit_source_with_fault, fault, city, fault_subject)
            assert isinstance(answer, CreditLookupFailure)
            assert CreditLookupFailure.from_dict(answer.to_dict()) == answer


class PublishingChannelFailureContract(_CityFixture):
    """What a :class:`~creditcommit.ports.PublishingChannel` does when its backend is down.

    ``publish`` must **raise** (any :class:`Exception`): the outbox keeps the message and
    retries it (the redelivery contract of :class:`PublishingChannelContract` makes the
    retry harmless). A channel that swallows the failure loses the publication for good.

    Fixtures: ``channel_with_fault``, a callable ``() -> PublishingChannel`` returning a
    channel whose backend is down for its next publish; ``city``; ``published``, as for
    :class:`PublishingChannelContract`.
    """

    def test_a_channel_whose_backend_is_down_raises(
        self,
        channel_with_fault: Callable[[], PublishingChannel],
        city: str,
        published: Callable[[], Sequence[str]],
    ) -> None:
        channel = channel_with_fault()
        message = outbox_message("down-1", city=city, destination=f"channel:{channel.name}")
        with pytest.raises(Exception) as raised:  # noqa: PT011 - any failure will do
            channel.publish(message)
        assert isinstance(raised.value, Exception)
        # The backend may have published before it failed to answer; never twice.
        assert list(published()).count("down-1") <= 1
