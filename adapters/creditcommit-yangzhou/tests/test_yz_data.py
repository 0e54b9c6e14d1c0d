"""The plugin's data files: dated, cited, and (for now) the same as the core's copies."""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path

import pytest

from creditcommit.catalog import Catalog
from creditcommit.policy import Policy
from creditcommit_yangzhou import CATALOG_FILE, POLICY_FILES, data_file, policy

#: The core's copy of each file (it keeps them for its demo and its own tests).
CORE = {
    CATALOG_FILE: "yangzhou_catalog.toml",
    **{name: name for name in POLICY_FILES},
}


@pytest.mark.parametrize("name", sorted(CORE))
def test_the_files_are_installed_with_the_package(name: str) -> None:
    assert Path(data_file(name)).is_file()


@pytest.mark.parametrize("name", sorted(CORE))
def test_the_copies_have_not_drifted_from_the_cores(name: str) -> None:
    # When this fails, one side changed: take the change over deliberately (or record why
    # Yangzhou's file differs and drop the file from CORE).
    core = importlib.resources.files("creditcommit").joinpath("data", CORE[name])
    assert Path(data_file(name)).read_bytes() == core.read_bytes()


def test_the_policy_is_the_bundled_yangzhou_sample() -> None:
    # Equal digests: the scenario files' policy = "yangzhou" checks these very rules.
    assert policy() == Policy.sample()
    assert policy().version.digest == Policy.sample().version.digest


@pytest.mark.parametrize("name", POLICY_FILES)
def test_every_policy_file_names_its_place_and_dates_and_cites_every_rule(name: str) -> None:
    data = tomllib.loads(Path(data_file(name)).read_text(encoding="utf-8"))
    assert data["policy"]["place"] in {"321000", "321012", "321084"}
    assert data["policy"]["version"]
    entries = [entry for key, value in data.items() if key != "policy" for entry in value]
    assert entries
    for entry in entries:
        assert "from" in entry
        assert entry["reference"]["instrument"]


def test_the_catalogue_loads_on_its_own() -> None:
    catalog = Catalog.from_toml(data_file(CATALOG_FILE))
    assert catalog.division_names == {"321012": "江都区", "321084": "高邮市"}
