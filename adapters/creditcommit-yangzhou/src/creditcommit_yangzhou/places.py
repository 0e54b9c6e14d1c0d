"""Yangzhou's places and their rules: the catalogue and the policy files shipped in ``data/``.

The plugin serves three places (administrative division codes):

========  ==========  ========================================================
code      place       catalogue
========  ==========  ========================================================
321000    扬州市      every item of the catalogue (both pilots' lists)
321012    江都区      the items whose code starts with ``321012-`` (40 items)
321084    高邮市      the items whose code starts with ``321084-`` (18 items)
========  ==========  ========================================================

All three get the same policy: the national defaults with the city file and the two
district files overlaid. The rules that decide a case are picked by the *item's* place (its
code's division prefix, :func:`creditcommit.policy.item_place`), so a Gaoyou item is decided
under Gaoyou's rules and a Jiangdu construction-project item under Jiangdu's, whichever of
the three installations files the case.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from typing import Any

from creditcommit.catalog import Catalog
from creditcommit.policy import Policy, code_place

__all__ = [
    "CATALOG_FILE",
    "CITY",
    "DISTRICTS",
    "PLACES",
    "POLICY_FILES",
    "catalog_for",
    "data_file",
    "policy",
]

CITY = "321000"
"""扬州市: the city, whose platform serves every item of the catalogue."""

DISTRICTS = {"321012": "江都区", "321084": "高邮市"}
"""The pilot districts (division code → name), each with its own item list and rules."""

PLACES = {CITY: "扬州市", **DISTRICTS}
"""Every place the plugin serves (division code → name)."""

CATALOG_FILE = "catalog-yangzhou.toml"
"""The catalogue file in ``data/`` (示例: a representative list, not the published one)."""

POLICY_FILES = ("policy-yangzhou.toml", "policy-jiangdu.toml", "policy-gaoyou.toml")
"""The policy files in ``data/``, overlaid in this order on the national defaults."""


def data_file(name: str) -> str:
    """The path of one of the plugin's data files (they are installed with the package)."""
    return str(importlib.resources.files("creditcommit_yangzhou").joinpath("data", name))


@functools.cache
def policy() -> Policy:
    """The Yangzhou policy: national defaults + 扬州市 + 江都区 + 高邮市 (same for every place)."""
    return Policy.load(*(data_file(name) for name in POLICY_FILES))


@functools.cache
def catalog_for(place: str) -> Catalog:
    """The catalogue of ``place``: the whole list for the city, a district's own items else.

    :raises KeyError: ``place`` is not one of :data:`PLACES`.
    """
    if place not in PLACES:
        raise KeyError(place)
    path = data_file(CATALOG_FILE)
    if place == CITY:
        return Catalog.from_toml(path)
    with open(path, "rb") as file:
        data: dict[str, Any] = tomllib.load(file)
    header = dict(data["catalog"])
    header["divisions"] = {place: PLACES[place]}
    items = [item for item in data["items"] if code_place(item["code"]) == place]
    return Catalog.from_dict({**data, "catalog": header, "items": items}, source=path)
