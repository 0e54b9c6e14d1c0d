"""Previewing a policy change (政策调整预演) on the applications already decided.

Before a city changes its policy (a grade threshold, a blocking record kind, the major
project levels, …), policy staff want to know whom it would move. :func:`recorded` takes
from a case the facts its route was decided on — the item version, the applicant, the credit
evidence (or the lookup failure), the project facts and whether the applicant chose the
standard route — with the route and the day it recorded; :func:`preview` decides each case
again under another policy, on its original decision day (or on one day for all) with
one compiled :class:`~creditcommit.policy.Decider` per day, and returns a
:class:`PolicyPreview`: per item and per route, how many cases keep their route or move to
which other one (:class:`RouteChange`), with a few example case ids.

Pure: no store, no clock. ``creditcommit preview`` reads the cases and prints the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from creditcommit.case import Case
from creditcommit.catalog import ApprovalItem, Catalog
from creditcommit.decision import Route
from creditcommit.errors import CreditCommitError, ReapplicationBarred
from creditcommit.policy import Application, Decider, Policy, PolicySnapshot

__all__ = [
    "CHOSE_STANDARD",
    "FORMAT",
    "PolicyPreview",
    "REFUSED",
    "RecordedApplication",
    "RouteChange",
    "preview",
    "recorded",
]

FORMAT = "creditcommit-preview/1"
"""The ``format`` key of :meth:`PolicyPreview.to_dict`."""

REFUSED = "refused"
"""The outcome of an application the policy refuses outright: a re-application ban
(:class:`~creditcommit.errors.ReapplicationBarred`) in force on the day."""

CHOSE_STANDARD = "applicant-chose-standard"
"""The reason code a decision carries when the applicant chose the standard route."""

#: The outcomes of a replay, in the order they are listed.
_ORDER = {Route.DIRECT.value: 0, Route.CONDITIONAL.value: 1, Route.STANDARD.value: 2, REFUSED: 3}
#: Deciders kept at once, one per decision day (each compiles its items when it meets them).
_DECIDERS = 256


@attrs.frozen(kw_only=True)
class RecordedApplication:
    """An application as a case recorded it: what its route was decided on.

    ``on`` is the day it was decided and ``route`` the route it recorded (the last one: the
    standard route if the applicant chose it later).
    """

    case_id: str
    on: dt.date
    route: Route
    application: Application


def recorded(case: Case, item: ApprovalItem) -> RecordedApplication | None:
    """The application ``case`` was decided on, or None if its route was never decided.

    ``item`` is the case's item version (``catalog.item(case.item_code,
    case.item_valid_from)``). The applicant chose the standard route if the recorded
    decision says so (reason ``applicant-chose-standard``, at submission or later).
    """
    decision = case.decision
    if decision is None:
        return None
    chose = any(reason.code == CHOSE_STANDARD for reason in decision.reasons)
    return RecordedApplication(
        case_id=case.case_id,
        on=decision.decided_on,
        route=decision.route,
        application=Application(
            item=item,
            applicant=case.applicant,
            evidence=case.evidence,
            project=case.submission.project,
            choose_standard=chose,
        ),
    )


@attrs.frozen(kw_only=True)
class RouteChange:
    """The cases of one item whose recorded route was ``old`` and is ``new`` under the
    previewed policy (``new == old``: unchanged). Routes are :class:`Route` values, or
    :data:`REFUSED`; ``examples`` are the first case ids, in the order replayed."""

    item: str
    old: str
    new: str
    count: int
    examples: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True when the route would change."""
        return self.old != self.new


@attrs.frozen(kw_only=True)
class PolicyPreview:
    """What a policy would change on the recorded applications: from :func:`preview`.

    ``cases`` is how many cases with a decided route were replayed; ``changes`` has one
    :class:`RouteChange` per item and (old, new) pair, unchanged routes included, sorted by
    item, old route, new route; ``failed`` the cases that could not be decided again (case
    id, why: an item the catalogue no longer lists, a day the policy does not cover, …),
    ``skipped`` how many cases had no decided route.
    """

    policy: str
    on: dt.date | None
    cases: int
    changes: tuple[RouteChange, ...]
    failed: tuple[tuple[str, str], ...] = ()
    skipped: int = 0

    @property
    def changed(self) -> int:
        """How many cases would change route."""
        return sum(change.count for change in self.changes if change.changed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (``creditcommit preview --format json``)."""
        return {
            "format": FORMAT,
            "policy": self.policy,
            "on": None if self.on is None else self.on.isoformat(),
            "cases": self.cases,
            "changed": self.changed,
            "skipped": self.skipped,
            "changes": [
                {
                    "item": change.item,
                    "old": change.old,
                    "new": change.new,
                    "count": change.count,
                    "examples": list(change.examples),
                }
                for change in self.changes
            ],
            "failed": [{"case": case_id, "problem": why} for case_id, why in self.failed],
        }


def _item(case: Case, catalog: Catalog, on: dt.date | None) -> ApprovalItem:
    if on is None:
        return catalog.item(case.item_code, case.item_valid_from)
    return catalog.item(case.item_code, on)


def preview(
    cases: Iterable[Case],
    policy: Policy | PolicySnapshot,
    *,
    catalog: Catalog,
    on: dt.date | None = None,
    examples: int = 3,
) -> PolicyPreview:
    """Decide the recorded application of every case again under ``policy``; count the moves.

    :param cases: the cases to replay; those whose route was never decided are counted as
        skipped.
    :param policy: the policy to preview.
    :param catalog: the catalogue of the cases' items: each is decided on its recorded item
        version (``case.item_valid_from``), or, with ``on``, on the version in force that day.
    :param on: decide every application on this day; by default each on its own decision
        day.
    :param examples: how many case ids to keep per item and (old, new) pair.
    :raises ValueError: ``examples`` is negative.

    A case that cannot be decided again (its item no longer in the catalogue, a day the
    policy does not cover, …) is listed in :attr:`PolicyPreview.failed` with the reason;
    the others are still counted.
    """
    if examples < 0:
        raise ValueError(f"examples must be 0 or more, got {examples}")
    deciders: dict[dt.date, Decider] = {}
    counts: dict[tuple[str, str, str], int] = {}
    kept: dict[tuple[str, str, str], list[str]] = {}
    failed: list[tuple[str, str]] = []
    replayed = skipped = 0
    for case in cases:
        if case.decision is None:
            skipped += 1
            continue
        replayed += 1
        try:
            found = recorded(case, _item(case, catalog, on))
            assert found is not None  # the case has a decision
            day = found.on if on is None else on
            decider = deciders.get(day)
            if decider is None:
                if len(deciders) >= _DECIDERS:
                    deciders.clear()
                decider = deciders[day] = Decider(policy, day)
            new = _route(decider, found.application)
        except (CreditCommitError, ValueError) as exc:
            failed.append((case.case_id, " ".join(str(exc).split())))
            continue
        key = (found.application.item.code, found.route.value, new)
        counts[key] = counts.get(key, 0) + 1
        sample = kept.setdefault(key, [])
        if len(sample) < examples:
            sample.append(found.case_id)
    order = sorted(counts, key=lambda key: (key[0], _ORDER[key[1]], _ORDER[key[2]]))
    changes = tuple(
        RouteChange(
            item=key[0], old=key[1], new=key[2], count=counts[key], examples=tuple(kept[key])
        )
        for key in order
    )
    return PolicyPreview(
        policy=str(policy.version),
        on=on,
        cases=replayed,
        changes=changes,
        failed=tuple(failed),
        skipped=skipped,
    )


def _route(decider: Decider, app: Application) -> str:
    """The route value the decider gives, or :data:`REFUSED` for a re-application ban."""
    try:
        decision = decider.decide(
            item=app.item,
            applicant=app.applicant,
            evidence=app.evidence,
            project=app.project,
            choose_standard=app.choose_standard,
        )
    except ReapplicationBarred:
        return REFUSED
    return decision.route.value
