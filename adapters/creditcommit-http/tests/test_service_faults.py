"""The HTTP credit source inside the service, against a real server on 127.0.0.1.

Each upstream fault of the issue — a timeout, a refused connection, 500 then success, 503
forever (the breaker opens, then half-opens), JSON that is not JSON, JSON of the wrong
types, a signature the gateway rejects, a 4 s reply against a 1 s deadline — ends the same
way for a non-major application: the standard route, a failure with its category, no URL,
port or secret anywhere in what is stored, and nothing raised out of ``submit``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from creditcommit import CHINA_TIME, Applicant, Approvals, ManualClock, Route
from creditcommit.credit import CreditLookupFailure
from creditcommit_http.testing import FakeUpstream, FakeUpstreamServer, Fault
from http_support import uscc

CITY = "321000"
ITEM = "321084-GGCSWSXK"
GOOD = Applicant(uscc("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司")
SECRET = "gateway-secret-value-42"
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)


@pytest.fixture
def fake() -> FakeUpstream:
    fake = FakeUpstream(gateway_secrets={"cc-test": SECRET})
    fake.set_grade(GOOD.identifier, "A", city=CITY)
    return fake


@pytest.fixture
def server(fake: FakeUpstream) -> Iterator[FakeUpstreamServer]:
    with FakeUpstreamServer(fake) as running:
        yield running


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    *,
    secret: str = SECRET,
    deadline: float = 2.0,
    extra: str = "",
) -> Approvals:
    monkeypatch.setenv("CC_TEST_GATEWAY_SECRET", secret)
    (tmp_path / "creditcommit.toml").write_text(
        f'city = "{CITY}"\n'
        'store = "sqlite:cases.db"\n'
        'catalog = "sample"\n'
        'policy = "sample"\n'
        "[plugins.http]\n"
        f'credit_url = "{url}"\n'
        f'registry_url = "{url}"\n'
        f"deadline = {deadline}\n"
        "timeout = 1.0\n"
        "backoff = 0.05\n"
        'auth = "gateway"\n'
        'app_key = "cc-test"\n'
        'app_secret_env = "CC_TEST_GATEWAY_SECRET"\n' + extra,
        encoding="utf-8",
    )
    return Approvals.from_config(tmp_path / "creditcommit.toml", clock=ManualClock(START))


def _standard_with(service: Approvals, category: str, url: str) -> CreditLookupFailure:
    case = service.submit(item=ITEM, applicant=GOOD)
    assert case.decision is not None
    assert case.decision.route is Route.STANDARD
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert getattr(failure, "category", None) is not None
    assert str(getattr(failure.category, "value", failure.category)) == category
    stored = json.dumps([dict(e.payload) for e in service.history(case.case_id)], default=str)
    host_port = url.removeprefix("http://")
    for leak in (host_port, SECRET, "http://", "127.0.0.1"):
        assert leak not in stored
        assert leak not in failure.reason
    return failure


def test_the_source_up_gives_the_commitment_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FakeUpstreamServer
) -> None:
    with _service(tmp_path, monkeypatch, server.url) as service:
        case = service.submit(item=ITEM, applicant=GOOD)
    assert case.decision is not None
    assert case.decision.route is Route.CONDITIONAL


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        (Fault("not-json"), "malformed-reply"),
        (Fault("wrong-types"), "malformed-reply"),
        (Fault("wrong-subject"), "wrong-subject"),
        (Fault("status", status=503), "upstream-error"),
    ],
)
def test_a_faulty_reply_fails_closed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    fake: FakeUpstream,
    server: FakeUpstreamServer,
    fault: Fault,
    category: str,
) -> None:
    fake.fail(fault, prefix="/credit/")
    with _service(tmp_path, monkeypatch, server.url) as service:
        _standard_with(service, category, server.url)


def test_500_then_success_gets_the_commitment_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeUpstream, server: FakeUpstreamServer
) -> None:
    fake.fail(Fault("status", status=500), prefix="/credit/", times=1)
    with _service(tmp_path, monkeypatch, server.url) as service:
        case = service.submit(item=ITEM, applicant=GOOD)
    assert case.decision is not None
    assert case.decision.route is Route.CONDITIONAL
    assert fake.requests.count(("GET", f"/credit/v1/subjects/{GOOD.identifier}")) == 2


def test_a_wrong_signature_is_rejected_by_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FakeUpstreamServer
) -> None:
    with _service(tmp_path, monkeypatch, server.url, secret="not-the-secret") as service:
        _standard_with(service, "unauthorised", server.url)


def test_a_refused_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with _service(tmp_path, monkeypatch, url) as service:
        _standard_with(service, "refused", url)


def test_a_slow_reply_against_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeUpstream, server: FakeUpstreamServer
) -> None:
    fake.fail(Fault("delay", seconds=4), prefix="/credit/")
    with _service(tmp_path, monkeypatch, server.url, deadline=1.0) as service:
        began = time.monotonic()
        _standard_with(service, "timeout", server.url)
        assert time.monotonic() - began < 2.5


def test_503_forever_opens_the_breaker_then_half_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeUpstream, server: FakeUpstreamServer
) -> None:
    fake.fail(Fault("status", status=503), prefix="/credit/")
    extra = "retries = 0\nbreaker_failures = 2\nbreaker_reset = 0.5\n"
    lookups = ("GET", f"/credit/v1/subjects/{GOOD.identifier}")
    with _service(tmp_path, monkeypatch, server.url, extra=extra) as service:
        for _ in range(2):
            _standard_with(service, "upstream-error", server.url)
        assert fake.requests.count(lookups) == 2
        open_failure = _standard_with(service, "unreachable", server.url)
        assert "circuit open" in open_failure.reason
        assert fake.requests.count(lookups) == 2
        time.sleep(0.6)
        fake.heal()
        case = service.submit(item=ITEM, applicant=GOOD)
        assert case.decision is not None
        assert case.decision.route is Route.CONDITIONAL
        assert fake.requests.count(lookups) == 3
