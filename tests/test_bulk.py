"""The cyclic garbage collector is paused during a batch and restored after it, whatever happens."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator

import pytest

from creditcommit._bulk import bulk
from creditcommit.catalog import Catalog
from creditcommit.decision import Applicant
from creditcommit.policy import Application, Decider, Policy

ON = dt.date(2025, 6, 2)


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_inside_and_enabled_again_after() -> None:
    with bulk():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), bulk():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_program_that_disabled_the_collector_keeps_it_disabled() -> None:
    gc.disable()
    with bulk():
        pass
    assert not gc.isenabled()


def test_decide_many_restores_the_collector_when_the_feed_fails() -> None:
    item = Catalog.sample().items(ON)[0]
    applicant = Applicant("91321084MA1TQ7GU3T", "某公司")

    def feed() -> Iterator[Application]:
        yield Application(item=item, applicant=applicant, evidence=None)
        assert not gc.isenabled()  # paused while the batch runs
        raise OSError("the export could not be read")

    decider = Decider(Policy.sample(), ON)
    with pytest.raises(OSError, match="could not be read"):
        decider.decide_many(feed())
    assert gc.isenabled()
    assert (
        len(decider.decide_many([Application(item=item, applicant=applicant, evidence=None)])) == 1
    )
    assert gc.isenabled()
