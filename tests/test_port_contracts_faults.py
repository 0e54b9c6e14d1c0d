"""The failure-mode contracts run against the built-in adapters (the HTTP adapter runs them
in adapters/creditcommit-http/tests/test_contracts.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from creditcommit.builtin import FileCreditSource, JsonLinesChannel
from creditcommit.credit import CreditEvidence, CreditLookupFailure, FailureCategory
from creditcommit.ports import CreditSource, PublishingChannel
from creditcommit.testing.port_contracts import (
    AT,
    CITY,
    SUBJECT,
    CreditSourceFailureContract,
    PublishingChannelFailureContract,
)


class TestFileCreditSourceFaults(CreditSourceFailureContract):
    faults = (*CreditSourceFailureContract.faults, FailureCategory.UNREACHABLE)

    @pytest.fixture
    def credit_source_with_fault(self, tmp_path: Path) -> Callable[[FailureCategory], CreditSource]:
        def make(fault: FailureCategory) -> CreditSource:
            if fault is FailureCategory.UNREACHABLE:
                return FileCreditSource(tmp_path / "credit.db", unavailable={SUBJECT})
            return FileCreditSource(tmp_path / "credit.db", faults={SUBJECT: fault})

        return make


class TestJsonLinesChannelFaults(PublishingChannelFailureContract):
    @pytest.fixture
    def channel_with_fault(self, tmp_path: Path) -> Callable[[], PublishingChannel]:
        # The folder of the file is missing: the disk the channel writes to is "down".
        return lambda: JsonLinesChannel(tmp_path / "unmounted" / "publications.jsonl")

    @pytest.fixture
    def published(self, tmp_path: Path) -> Callable[[], Sequence[str]]:
        def keys() -> list[str]:
            path = tmp_path / "unmounted" / "publications.jsonl"
            if not path.exists():
                return []
            lines = path.read_text(encoding="utf-8").splitlines()
            return [json.loads(line)["key"] for line in lines]

        return keys


class RaisingSource:
    """A source that raises instead of returning a failure: the contract must catch it."""

    name = "raising"

    def lookup(self, subject: str, *, city: str, at: object) -> CreditEvidence:
        raise TimeoutError("no answer")


class SwallowingChannel:
    """A channel that swallows its backend's failure: the contract must catch it."""

    name = "swallowing"

    def publish(self, message: object) -> None:
        try:
            raise ConnectionError("backend down")
        except ConnectionError:
            return


class TestTheContractsCatchOffenders:
    """The failure-mode contracts fail for an adapter that breaks them."""

    def test_a_source_that_raises_fails_the_contract(self) -> None:
        contract = CreditSourceFailureContract()
        with pytest.raises(pytest.fail.Exception, match="must return a CreditLookupFailure"):
            contract.test_each_fault_is_returned_as_a_failure_of_its_category(
                lambda fault: RaisingSource(), CITY, SUBJECT
            )

    def test_a_source_that_answers_the_wrong_category_fails_the_contract(
        self, tmp_path: Path
    ) -> None:
        contract = CreditSourceFailureContract()
        source = FileCreditSource(tmp_path / "credit.db", unavailable={SUBJECT})
        with pytest.raises(AssertionError):
            contract.test_each_fault_is_returned_as_a_failure_of_its_category(
                lambda fault: source, CITY, SUBJECT
            )

    def test_a_channel_that_swallows_fails_the_contract(self) -> None:
        contract = PublishingChannelFailureContract()
        with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
            contract.test_a_channel_whose_backend_is_down_raises(SwallowingChannel, CITY, list)


def test_a_fault_is_per_subject(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db", faults={SUBJECT: "timeout"})
    failure = source.lookup(SUBJECT, city=CITY, at=AT)
    assert isinstance(failure, CreditLookupFailure)
    assert failure.category is FailureCategory.TIMEOUT
    other = "91321000MA1AAAAAA7"
    assert isinstance(source.lookup(other, city=CITY, at=AT), CreditEvidence)


def test_an_unknown_fault_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'slow' is not a valid FailureCategory"):
        FileCreditSource(tmp_path / "credit.db", faults={SUBJECT: "slow"})
