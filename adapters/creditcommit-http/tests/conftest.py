"""Fixtures of the HTTP adapter's tests (``fake_upstream`` and ``fake_upstream_server`` come
from the distribution's own pytest plugin)."""

from __future__ import annotations

import pytest

from http_support import CITY


@pytest.fixture
def city() -> str:
    return CITY
