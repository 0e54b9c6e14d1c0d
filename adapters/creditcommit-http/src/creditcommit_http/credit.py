"""The credit platform over HTTP: the credit source (信用查询) and the credit registry (信用推送).

Contract (``schemas/credit-lookup.schema.json``, ``schemas/registry-push.schema.json``)::

    GET  /credit/v1/subjects/{subject}?city={city}
         200 {"subject": "...", "scale": "yangzhou-a-e", "grade": "B" | null,
              "records": [<credit record>, ...]}
    PUT  /registry/v1/records/{key}
         {"key": "...", "city": "...", "topic": "...", "created_at": "...",
          "record": <credit record>}                    → 200, 201 or 204

A subject the platform knows nothing about has ``"grade": null`` and no records.
"""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse

from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    FailureCategory,
)
from creditcommit.ports import OutboxMessage
from creditcommit_http._validate import field, parse, require_object
from creditcommit_http.caller import Upstream
from creditcommit_http.errors import UpstreamError

__all__ = ["HttpCreditRegistry", "HttpCreditSource"]

LOOKUP = "credit-lookup"
PUSH = "registry-push"


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def lookup_failure(
    exc: UpstreamError, *, subject: str, source: str, at: dt.datetime
) -> CreditLookupFailure:
    """The failure the core records for ``exc``: its category and the adapter's own words."""
    return CreditLookupFailure(
        subject=subject,
        source=source,
        attempted_at=at,
        reason=f"{exc.endpoint}: {exc.detail}",
        category=FailureCategory(exc.category),
    )


class HttpCreditSource:
    """A :class:`~creditcommit.ports.CreditSource` asking a credit platform over HTTP.

    ``lookup`` never raises for an upstream failure: it returns a
    :class:`~creditcommit.CreditLookupFailure` with the failure's category, so the decision
    fails closed (the standard route) with a reason that names no URL and no secret.
    """

    def __init__(self, upstream: Upstream, *, name: str = "http-credit") -> None:
        self.upstream = upstream
        self.name = name

    def __repr__(self) -> str:
        return f"HttpCreditSource(name={self.name!r})"

    def lookup(
        self, subject: str, *, city: str, at: dt.datetime
    ) -> CreditEvidence | CreditLookupFailure:
        if at.utcoffset() is None:
            raise ValueError(f"lookup time {at.isoformat()} has no UTC offset")
        try:
            return self._lookup(subject, city, at)
        except UpstreamError as exc:
            return lookup_failure(exc, subject=subject, source=self.name, at=at)

    def _lookup(self, subject: str, city: str, at: dt.datetime) -> CreditEvidence:
        reply = require_object(
            LOOKUP,
            self.upstream.call(
                LOOKUP, "GET", f"/credit/v1/subjects/{_segment(subject)}", params={"city": city}
            ),
        )
        about = field(LOOKUP, reply, "subject", str, "the subject's code")
        if about != subject:
            raise UpstreamError("wrong-subject", LOOKUP, "the reply is about another subject")
        scale = field(LOOKUP, reply, "scale", str, "the name of a grade scale")
        grade = field(LOOKUP, reply, "grade", str, "a grade or null", optional=True)
        raw_records = field(LOOKUP, reply, "records", list, "a list of credit records")
        records: list[CreditRecord] = []
        for i, raw in enumerate(raw_records):
            where = f"records[{i}]"
            record = parse(LOOKUP, where, functools.partial(CreditRecord.from_dict, raw))
            if record.subject != subject:
                raise UpstreamError("wrong-subject", LOOKUP, f"{where} is about another subject")
            records.append(record)
        return parse(
            LOOKUP,
            "",
            lambda: CreditEvidence.create(
                subject=subject,
                source=self.name,
                retrieved_at=at,
                scale=scale,
                grade=grade,
                records=records,
            ),
        )


class HttpCreditRegistry:
    """A :class:`~creditcommit.ports.CreditRegistry` pushing records to a platform over HTTP.

    ``push`` validates the record before sending (a payload that is not a credit record is
    refused with :class:`~creditcommit.DataFileError`) and raises
    :class:`~creditcommit_http.UpstreamError` when the platform fails, so the outbox retries.
    The call is a ``PUT`` on the message key: idempotent, so it is retried safely.
    """

    def __init__(self, upstream: Upstream, *, name: str = "http-registry") -> None:
        self.upstream = upstream
        self.name = name

    def __repr__(self) -> str:
        return f"HttpCreditRegistry(name={self.name!r})"

    def push(self, message: OutboxMessage) -> None:
        record = CreditRecord.from_dict(dict(message.payload), source=f"outbox {message.key}")
        self.upstream.call(
            PUSH,
            "PUT",
            f"/registry/v1/records/{_segment(message.key)}",
            body={
                "key": message.key,
                "city": message.city,
                "topic": message.topic,
                "created_at": message.created_at.isoformat(),
                "record": record.to_dict(),
            },
        )
