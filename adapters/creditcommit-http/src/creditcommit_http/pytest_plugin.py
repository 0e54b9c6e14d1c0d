"""pytest fixtures of creditcommit-http (entry point ``pytest11``): installed, they are there.

- ``fake_upstream``: a fresh :class:`~creditcommit_http.testing.FakeUpstream`.
- ``fake_upstream_server``: the same fake served on 127.0.0.1 for the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from creditcommit_http.testing import FakeUpstream, FakeUpstreamServer

__all__ = ["fake_upstream", "fake_upstream_server"]


@pytest.fixture
def fake_upstream() -> FakeUpstream:
    """A fake upstream implementing the JSON contract, with no data and no faults."""
    return FakeUpstream()


@pytest.fixture
def fake_upstream_server(fake_upstream: FakeUpstream) -> Iterator[FakeUpstreamServer]:
    """``fake_upstream`` on a real socket at 127.0.0.1 (``.url``), stopped after the test."""
    with FakeUpstreamServer(fake_upstream) as server:
        yield server
