"""Acceptance: installed from adapters/, discovered through its entry point, the plugin
serves a Gaoyou installation whose 信用扬州, e-licence system and publication site are the
HTTP adapter's fake upstream on 127.0.0.1. Cases go submit → sign → accept (the licence of
an on-the-spot item on the commitment route is issued at acceptance, 先证后核) and submit →
accept → issue (the standard route); then ``creditcommit --config creditcommit.toml tick``
(:func:`creditcommit.cli.main`) delivers the licences and the decisions upstream, and
``case list`` / ``case show`` read the installation.

The first flow takes the application steps through :class:`creditcommit.Approvals`, which
the CLI's ``submit`` and ``case sign/accept/issue`` call; the second runs every step through
the CLI, with those commands (it is skipped on a creditcommit that does not have them yet).
The CLI runs on a manual clock so that the deadlines do not depend on the day the tests run.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creditcommit import cli
from creditcommit.case import CaseState
from creditcommit.commitments import Signer
from creditcommit.credit import CreditEvidence
from creditcommit.decision import Applicant, Route
from creditcommit.service import Approvals, ManualClock
from creditcommit_http.testing import FakeUpstream, FakeUpstreamServer
from yz_support import AT, HOTEL, RESTAURANT, installation

HEALTH = "321084-GGCSWSXK"  # 公共场所卫生许可: on Gaoyou's commitment list, decided on the spot
FOOD = "321084-SPJY"  # 食品经营许可: not on the list: standard route, issued after acceptance


@pytest.fixture
def server() -> Iterator[FakeUpstreamServer]:
    with FakeUpstreamServer(FakeUpstream()) as running:
        yield running


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(AT)

    def service(args: object) -> Approvals:
        return Approvals.from_config(cli._config_path(args), clock=manual)  # type: ignore[arg-type]

    # The CLI opens the configured service with the system clock: here, with the test's.
    monkeypatch.setattr(cli, "_service", service)
    return manual


def endpoints(server: FakeUpstreamServer) -> dict[str, Any]:
    """``[plugins.yangzhou]`` with every system at the fake upstream."""
    return {
        "credit_url": server.url,
        "registry_url": server.url,
        "licence_url": server.url,
        "publication_url": server.url,
        "timeout": 5.0,
        "deadline": 10.0,
    }


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), out), out.getvalue()


def test_the_entry_point_is_installed() -> None:
    found = importlib.metadata.entry_points(group="creditcommit", name="yangzhou")
    assert [ep.value for ep in found] == ["creditcommit_yangzhou.plugin"]


def test_submit_sign_accept_issue_tick_against_the_fake_upstream(
    server: FakeUpstreamServer, clock: ManualClock, tmp_path: Path
) -> None:
    fake = server.fake
    fake.set_grade(HOTEL.identifier, "B", city="321084")
    fake.set_grade(RESTAURANT.identifier, "C", city="321084")
    config = installation(
        tmp_path / "gaoyou",
        city="321084",
        yangzhou=endpoints(server),
    )

    service = Approvals.from_config(config, clock=clock)  # entry points loaded
    try:
        assert "yangzhou" in service.integrations.plugins
        assert len(service.catalog().items(AT.date())) == 18  # Gaoyou's own list
        # The hotel: conditional commitment route; signed, its licence is issued at
        # acceptance (先证后核), the deferred materials are obligations afterwards.
        hotel = service.submit(
            item=HEALTH, applicant=HOTEL, provided=["GGCSWSXK-01", "GGCSWSXK-02", "GGCSWSXK-03"]
        )
        assert hotel.case_id == "321084-20250926-N0001"
        assert hotel.route is Route.CONDITIONAL
        assert hotel.credit is not None
        assert isinstance(hotel.credit.outcome, CreditEvidence)
        assert hotel.credit.outcome.source == "xinyong-yangzhou"
        clock.advance(minutes=10)
        hotel = service.sign_commitment(hotel.case_id, Signer(HOTEL.name, HOTEL.identifier))
        assert hotel.state is CaseState.COMMITTED
        clock.advance(minutes=10)
        hotel = service.accept(hotel.case_id)
        assert hotel.state is CaseState.ISSUED
        # The restaurant: standard route; accepted, then issued.
        food = service.submit(
            item=FOOD, applicant=RESTAURANT, provided=["SPJY-01", "SPJY-02", "SPJY-03"]
        )
        assert food.case_id == "321084-20250926-N0002"
        assert food.route is Route.STANDARD
        clock.advance(minutes=10)
        assert service.accept(food.case_id).state is CaseState.ACCEPTED
        clock.advance(hours=1)
        food = service.issue(food.case_id)
        assert food.state is CaseState.ISSUED
    finally:
        service.close()
    assert hotel.licence is not None
    assert food.licence is not None
    references = {hotel.licence.reference, food.licence.reference}
    # 逢报必查: one credit query per application, at 信用扬州.
    assert [r for r in fake.requests if r[1].startswith("/credit/")] == [
        ("GET", f"/credit/v1/subjects/{HOTEL.identifier}"),
        ("GET", f"/credit/v1/subjects/{RESTAURANT.identifier}"),
    ]
    assert not [r for r in fake.requests if r[0] == "PUT"]  # nothing delivered before tick

    clock.advance(hours=1)
    code, out = run("--config", str(config), "tick", "--lang", "en")
    assert code == 0, out
    assert re.search(r"delivered [1-9][0-9]*, failed 0;", out), out
    assert "dead letters 0" in out
    # The licences went to the e-licence system, the decisions to the publication site.
    for reference in references:
        assert fake.licence(reference, city="321084") is not None
    published = [fake.publication(key)["payload"] for key in fake.published()]
    assert {p["fields"]["decision_number"] for p in published} == references
    code, out = run("--config", str(config), "case", "list")
    assert code == 0
    assert hotel.case_id in out
    assert food.case_id in out
    code, out = run("--config", str(config), "case", "show", food.case_id, "--lang", "en")
    assert code == 0, out
    assert food.licence.reference in out


def application(directory: Path, item: str, applicant: Applicant, provided: list[str]) -> str:
    path = directory / f"{item}.json"
    data = {
        "item": item,
        "applicant": {"id": applicant.identifier, "name": applicant.name, "kind": "legal-person"},
        "provided": provided,
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_the_whole_flow_through_the_command_line(
    server: FakeUpstreamServer, clock: ManualClock, tmp_path: Path
) -> None:
    fake = server.fake
    fake.set_grade(HOTEL.identifier, "B", city="321084")
    fake.set_grade(RESTAURANT.identifier, "C", city="321084")
    config = str(installation(tmp_path / "gaoyou", city="321084", yangzhou=endpoints(server)))

    def json_of(*argv: str) -> dict[str, Any]:
        code, out = run("--config", config, *argv, "--format", "json")
        assert code == 0, out
        found: dict[str, Any] = json.loads(out)
        return found

    given = application(tmp_path, HEALTH, HOTEL, ["GGCSWSXK-01", "GGCSWSXK-02", "GGCSWSXK-03"])
    hotel = json_of("submit", "--file", given)
    assert hotel["case_id"] == "321084-20250926-N0001"
    assert hotel["route"] == "CONDITIONAL"
    assert hotel["credit"]["source"] == "xinyong-yangzhou"
    clock.advance(minutes=10)
    assert json_of("case", "sign", hotel["case_id"])["state"] == "COMMITTED"
    clock.advance(minutes=10)
    assert json_of("case", "accept", hotel["case_id"])["state"] == "ISSUED"  # 先证后核

    given = application(tmp_path, FOOD, RESTAURANT, ["SPJY-01", "SPJY-02", "SPJY-03"])
    food = json_of("submit", "--file", given)
    assert food["route"] == "STANDARD"
    clock.advance(minutes=10)
    assert json_of("case", "accept", food["case_id"])["state"] == "ACCEPTED"
    clock.advance(hours=1)
    issued = json_of("case", "issue", food["case_id"])
    assert issued["state"] == "ISSUED"

    clock.advance(hours=1)
    code, out = run("--config", config, "tick", "--lang", "en")
    assert code == 0, out
    assert re.search(r"delivered [1-9][0-9]*, failed 0;", out), out
    reference = issued["licence"]["reference"]
    assert fake.licence(reference, city="321084") is not None
    numbers = {
        fake.publication(key)["payload"]["fields"]["decision_number"] for key in fake.published()
    }
    assert reference in numbers
