"""Configuration for every test item (tests, doctests of src/ and docs/).

The test suite runs with nothing set in the environment: it sets its own signing key for
commitment letters (``CREDITCOMMIT_SIGNING_KEY``) in its process, as ``creditcommit demo``
does. Tests of the behaviour without a key remove it with ``monkeypatch.delenv``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditcommit.builtin.signing import SIGNING_KEY_ENV

#: The test suite's own key: never use it for real letters.
TEST_SIGNING_KEY = "creditcommit test suite key - NOT SECRET"


@pytest.fixture(autouse=True, scope="session")
def _signing_key() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SIGNING_KEY_ENV, TEST_SIGNING_KEY)
        yield
