"""The e-licence system (电子证照) over HTTP.

Contract (``schemas/licence-*.schema.json``)::

    GET /licences/v1/holdings?subject={subject}&city={city}&on={YYYY-MM-DD}
        200 {"subject": "...", "holdings": [{"licence_type": "...", "reference": "...",
                                             "valid_until": "YYYY-MM-DD" | null}, ...]}
    PUT /licences/v1/licences/{reference}?city={city}
        {"reference", "licence_type", "subject", "item_code", "case_id", "issued_on",
         "valid_until"}                    → 200/201/204; 409 another licence holds the reference
    PUT /licences/v1/licences/{reference}/withdrawal?city={city}
        {"holder": "...", "on": "YYYY-MM-DD", "reason": "..."}
                                           → 200/204; 404 unknown; 409 another holder
"""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
from collections.abc import Sequence

from creditcommit.errors import DuplicateLicence, LicenceHolderMismatch
from creditcommit.materials import LicenceHolding
from creditcommit.ports import IssuedLicence
from creditcommit_http._validate import field, parse, require_object
from creditcommit_http.caller import Upstream
from creditcommit_http.errors import UpstreamError

__all__ = ["HttpLicenceStore"]

HOLDINGS = "licence-holdings"
RECORD = "licence-record"
WITHDRAW = "licence-withdraw"


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _day(endpoint: str, text: str | None, where: str) -> dt.date | None:
    if text is None:
        return None
    return parse(endpoint, where, functools.partial(dt.date.fromisoformat, text))


class HttpLicenceStore:
    """A :class:`~creditcommit.ports.LicenceStore` on a city's e-licence system.

    ``holdings`` raises :class:`~creditcommit_http.UpstreamError` on failure (the service then
    retrieves nothing and demands the materials); ``record`` and ``withdraw`` are ``PUT``
    calls on the licence reference, so the outbox may repeat them safely.
    """

    def __init__(self, upstream: Upstream, *, name: str = "http-licences") -> None:
        self.upstream = upstream
        self.name = name

    def __repr__(self) -> str:
        return f"HttpLicenceStore(name={self.name!r})"

    def holdings(self, subject: str, *, city: str, on: dt.date) -> Sequence[LicenceHolding]:
        reply = require_object(
            HOLDINGS,
            self.upstream.call(
                HOLDINGS,
                "GET",
                "/licences/v1/holdings",
                params={"subject": subject, "city": city, "on": on.isoformat()},
            ),
        )
        if field(HOLDINGS, reply, "subject", str, "the subject's code") != subject:
            raise UpstreamError("wrong-subject", HOLDINGS, "the reply is about another subject")
        found = []
        for i, raw in enumerate(field(HOLDINGS, reply, "holdings", list, "a list of licences")):
            where = f"holdings[{i}]"
            item = require_object(HOLDINGS, raw, where)
            licence_type = field(HOLDINGS, item, "licence_type", str, "a licence type", where=where)
            reference = field(HOLDINGS, item, "reference", str, "a reference", where=where)
            until = field(
                HOLDINGS, item, "valid_until", str, "a date or null", optional=True, where=where
            )
            valid_until = _day(HOLDINGS, until, f"{where}.valid_until")
            holding = parse(
                HOLDINGS,
                where,
                functools.partial(LicenceHolding, licence_type, reference, valid_until),
            )
            # A licence no longer valid on the day is not a holding, whatever the reply says.
            if holding.is_valid_on(on):
                found.append(holding)
        return tuple(found)

    def record(self, licence: IssuedLicence, *, city: str) -> None:
        """Record ``licence``; :class:`~creditcommit.DuplicateLicence` if the system holds
        another licence under its reference (HTTP 409)."""
        try:
            self._record(licence, city)
        except UpstreamError as exc:
            if exc.status == 409:
                raise DuplicateLicence(licence.reference, city) from None
            raise

    def _record(self, licence: IssuedLicence, city: str) -> None:
        self.upstream.call(
            RECORD,
            "PUT",
            f"/licences/v1/licences/{_segment(licence.reference)}",
            params={"city": city},
            body={
                "reference": licence.reference,
                "licence_type": licence.licence_type,
                "subject": licence.subject,
                "item_code": licence.item_code,
                "case_id": licence.case_id,
                "issued_on": licence.issued_on.isoformat(),
                "valid_until": None
                if licence.valid_until is None
                else licence.valid_until.isoformat(),
            },
        )

    def withdraw(self, reference: str, *, city: str, holder: str, on: dt.date, reason: str) -> None:
        """Withdraw the licence ``reference`` of ``holder``;
        :class:`~creditcommit.LicenceHolderMismatch` if the system records another holder
        (HTTP 409), which it does not name."""
        try:
            self.upstream.call(
                WITHDRAW,
                "PUT",
                f"/licences/v1/licences/{_segment(reference)}/withdrawal",
                params={"city": city},
                body={"holder": holder, "on": on.isoformat(), "reason": reason},
            )
        except UpstreamError as exc:
            if exc.status == 409:
                raise LicenceHolderMismatch(
                    reference, city, holder, "another holder (not disclosed)"
                ) from None
            raise
