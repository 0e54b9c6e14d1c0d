"""The JSON Schema files describe what the adapter sends and what the fake answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource

from creditcommit.ports import IssuedLicence
from creditcommit.testing.port_contracts import outbox_message, sample_record
from creditcommit_http import (
    HttpCreditRegistry,
    HttpCreditSource,
    HttpLicenceStore,
    HttpPublishingChannel,
    Upstream,
)
from creditcommit_http.testing import FakeUpstream
from http_support import AT, CITY, KNOWN

SCHEMAS = Path(__file__).parent.parent / "schemas"


def _registry() -> Registry[Any]:
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(schema)))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema,
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def test_every_schema_is_a_valid_schema() -> None:
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert names == [
        "credit-lookup.schema.json",
        "credit-record.schema.json",
        "licence-holdings.schema.json",
        "licence-record.schema.json",
        "licence-withdrawal.schema.json",
        "publication.schema.json",
        "registry-push.schema.json",
    ]
    for name in names:
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text()))


ROUTES = [
    ("GET", "/credit/", None, "credit-lookup.schema.json"),
    ("PUT", "/registry/", "registry-push.schema.json", None),
    ("GET", "/licences/v1/holdings", None, "licence-holdings.schema.json"),
    ("PUT", "/withdrawal", "licence-withdrawal.schema.json", None),
    ("PUT", "/licences/v1/licences/", "licence-record.schema.json", None),
    ("PUT", "/publications/", "publication.schema.json", None),
]


def _schemas_for(request: httpx.Request) -> tuple[str | None, str | None]:
    path = request.url.path
    for method, part, sent, answered in ROUTES:
        if request.method == method and (
            part in path if part.startswith("/w") else path.startswith(part)
        ):
            return sent, answered
    pytest.fail(f"no schema for {request.method} {path}")


def test_requests_and_replies_follow_the_schemas() -> None:
    fake = FakeUpstream()
    fake.set_grade(KNOWN, "B", city=CITY)
    fake.add_record(sample_record("R-1", subject=KNOWN), city=CITY)
    inner = fake.transport()
    checked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent, answered = _schemas_for(request)
        if sent is not None:
            _validator(sent).validate(json.loads(request.read()))
            checked.append(sent)
        response = inner.handle_request(request)
        if answered is not None:
            _validator(answered).validate(json.loads(response.read()))
            checked.append(answered)
        return response

    client = httpx.Client(base_url="http://fake.invalid", transport=httpx.MockTransport(handler))
    upstream = Upstream(client)
    assert not isinstance(HttpCreditSource(upstream).lookup(KNOWN, city=CITY, at=AT), str)
    HttpCreditRegistry(upstream).push(
        outbox_message(
            "321000/credit-record/R-2",
            city=CITY,
            destination="registry:x",
            payload=sample_record("R-2", subject=KNOWN).to_dict(),
        )
    )
    licences = HttpLicenceStore(upstream)
    licences.record(
        IssuedLicence(
            reference="XK/2026/1",
            licence_type="t",
            subject=KNOWN,
            item_code="i",
            case_id="c",
            issued_on=dt.date(2026, 5, 6),
        ),
        city=CITY,
    )
    assert [h.reference for h in licences.holdings(KNOWN, city=CITY, on=dt.date(2026, 5, 7))] == [
        "XK/2026/1"
    ]
    licences.withdraw("XK/2026/1", city=CITY, on=dt.date(2026, 6, 1), reason="撤销", holder=KNOWN)
    HttpPublishingChannel(upstream).publish(
        outbox_message("case-1/licence-decision/XK", city=CITY, destination="channel:x")
    )
    assert sorted(set(checked)) == sorted(
        p.name for p in SCHEMAS.glob("*.schema.json") if p.name != "credit-record.schema.json"
    )
    # The key's slashes travel percent-encoded and arrive whole.
    assert fake.published() == ["case-1/licence-decision/XK"]
    assert fake.licence("XK/2026/1", city=CITY) is not None
