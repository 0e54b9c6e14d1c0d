"""The start-up check of the credit feedback loop: the credit source reads back what the
credit registry stores, or the service refuses to start (issue 10, item 5)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from creditcommit.config import Config
from creditcommit.credit import CreditEvidence
from creditcommit.errors import PluginError
from creditcommit.hookspecs import hookimpl
from creditcommit.plugins import Integrations
from creditcommit.ports import OutboxMessage

CITY = "321000"


class Source:
    name = "city-credit"

    def lookup(self, subject: str, *, city: str, at: dt.datetime) -> CreditEvidence:
        return CreditEvidence.create(
            subject=subject, source=self.name, retrieved_at=at, scale="yangzhou-a-e", grade="B"
        )


class ReadsTheFile(Source):
    reads_registry = "credit-file"


class ReadsAnother(Source):
    reads_registry = "provincial-registry"


class Registry:
    name = "city-registry"

    def push(self, message: OutboxMessage) -> None:
        pass


class SourceOnly:
    def __init__(self, source: object) -> None:
        self.source = source

    @hookimpl
    def creditcommit_credit_source(self, city: str) -> object:
        return self.source


class RegistryOnly:
    @hookimpl
    def creditcommit_credit_registry(self, city: str) -> object:
        return Registry()


class Both(SourceOnly, RegistryOnly):
    pass


def integrations(tmp_path: Path, **plugins: object) -> Integrations:
    config = Config.from_dict({"city": CITY}, root=tmp_path)
    return Integrations.from_config(config, autoload=False, plugins=plugins)


def test_the_built_in_source_and_registry_close_the_loop(tmp_path: Path) -> None:
    integrations(tmp_path).check_credit_loop(CITY)


def test_a_plugin_giving_both_closes_the_loop(tmp_path: Path) -> None:
    integrations(tmp_path, city=Both(Source())).check_credit_loop(CITY)


def test_a_replaced_source_with_the_built_in_registry_is_refused(tmp_path: Path) -> None:
    found = integrations(tmp_path, city=SourceOnly(Source()))
    with pytest.raises(PluginError) as raised:
        found.check_credit_loop(CITY)
    message = str(raised.value)
    assert message.startswith(
        "city 321000: the credit source 'city-credit' (plugin 'city') does not declare which "
        "registry it reads, but the records go to the credit registry 'credit-file' (plugin "
        "'builtin')"
    )
    assert "would never be read back" in message
    assert "set reads_registry = 'credit-file' on it" in message


def test_a_source_declaring_it_reads_the_registry_is_accepted(tmp_path: Path) -> None:
    integrations(tmp_path, city=SourceOnly(ReadsTheFile())).check_credit_loop(CITY)


def test_a_source_declaring_another_registry_is_refused(tmp_path: Path) -> None:
    found = integrations(tmp_path, city=SourceOnly(ReadsAnother()))
    with pytest.raises(PluginError, match="declares reads_registry = 'provincial-registry'"):
        found.check_credit_loop(CITY)


def test_a_registry_from_another_plugin_is_refused(tmp_path: Path) -> None:
    found = integrations(tmp_path, source=SourceOnly(Source()), registry=RegistryOnly())
    with pytest.raises(PluginError, match=r"registry 'city-registry' \(plugin 'registry'\)"):
        found.check_credit_loop(CITY)


def test_the_service_refuses_to_start(tmp_path: Path) -> None:
    from creditcommit.service import Approvals

    (tmp_path / "creditcommit.toml").write_text(f'city = "{CITY}"\n', encoding="utf-8")
    with pytest.raises(PluginError, match="would never be read back"):
        Approvals.from_config(
            tmp_path / "creditcommit.toml", autoload=False, plugins=[SourceOnly(Source())]
        )
