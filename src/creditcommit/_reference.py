"""The reference implementation of the route decision, kept to test the fast one against.

:class:`ReferenceDecider` is the interpreter :func:`creditcommit.decide` used before
decisions were compiled into tables (issue 11): every rule is evaluated in order on every
application and every digest is recomputed. It is private and slow on purpose;
``tests/test_decide_differential.py`` checks that the compiled path gives the same
decisions, field by field, on generated applications.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from creditcommit.catalog import ApprovalItem, CommitmentMode
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    _sha256,
    kind_code,
)
from creditcommit.decision import Applicant, Decision, ProjectFacts, ProjectLevel, Reason, Route
from creditcommit.errors import NoValueInForce, ReapplicationBarred
from creditcommit.policy import (
    _CHINA_TIME,
    _NO_PROJECT,
    Application,
    BlockingRule,
    BlockLasts,
    MajorProjectCredit,
    Policy,
    PolicySnapshot,
    ReapplicationBan,
    _domains,
    _iso,
)
from creditcommit.reasons import (
    FAILURE_CATEGORY_LABELS,
    PROJECT_LEVEL_LABELS,
    REASONS,
    SEVERITY_LABELS,
)

__all__ = ["ReferenceDecider", "reference_decide"]


class ReferenceDecider:
    """The decider of creditcommit 0.x before decisions were compiled, kept verbatim.

    The differential tests compare :class:`creditcommit.policy.Decider` with it on
    generated applications; it hashes every piece of evidence again on every decision.
    """

    __slots__ = (
        "_children",
        "_constant",
        "_grades",
        "_items",
        "_levels",
        "_missing",
        "_policy",
        "_views",
        "on",
        "snapshot",
    )

    def __init__(self, policy: Policy | PolicySnapshot, on: dt.date) -> None:
        # With a whole policy, each item is decided under its own place's rules (a child
        # decider per place); a snapshot is one place's rules already.
        self._policy = policy if isinstance(policy, Policy) else None
        self._views: dict[tuple[str, frozenset[str]], Policy] = {}
        self._children: dict[str, ReferenceDecider] = {}
        self._missing: NoValueInForce | None = None
        self.on = on
        self._constant: dict[str, Reason] = {}
        self._grades: dict[str, tuple[Route, tuple[Reason, ...]]] = {}
        self._items: dict[int, tuple[ApprovalItem, tuple[Reason, ...]]] = {}
        self._levels: dict[tuple[str, ProjectLevel], Reason] = {}
        try:
            snapshot = policy.at(on) if isinstance(policy, Policy) else policy
        except NoValueInForce as exc:
            if self._policy is None:
                raise
            # The policy's own place has no complete rules (e.g. only a district's files
            # were loaded): items are decided under their place's rules, or not at all.
            self._missing = exc
            return
        if not snapshot.covers(on):
            end = snapshot.valid_until
            span = f"from {_iso(snapshot.valid_from)}" + (
                "" if end is None else f" until {_iso(end)}"
            )
            raise NoValueInForce(f"policy snapshot {snapshot.version.name} ({span})", on)
        self.snapshot = snapshot

    # -- shared reasons ----------------------------------------------------------------

    def _reason(self, code: str, *settings: str) -> Reason:
        found = self._constant.get(code)
        if found is None:
            refs = self.snapshot.references
            found = REASONS[code].render({}, [refs[s] for s in settings])
            self._constant[code] = found
        return found

    def _level_reason(self, code: str, level: ProjectLevel) -> Reason:
        found = self._levels.get((code, level))
        if found is None:
            zh, en = PROJECT_LEVEL_LABELS[level]
            params = {"level": level.value, "level_zh": zh, "level_en": en}
            ref = self.snapshot.references["major_project_levels"]
            found = REASONS[code].render(params, [ref])
            self._levels[(code, level)] = found
        return found

    def _item_reasons(self, item: ApprovalItem) -> tuple[Reason, ...]:
        cached = self._items.get(id(item))
        if cached is not None and cached[0] is item:
            return cached[1]
        snap = self.snapshot
        refs = snap.references
        params = {"item": item.code}
        found: list[Reason] = []
        if not snap.on_commitment_list(item):
            found.append(
                REASONS["item-not-on-commitment-list"].render(params, [refs["commitment_items"]])
            )
        if item.commitment_mode is CommitmentMode.NONE:
            found.append(REASONS["item-commitment-mode-none"].render(params))
        excluded = snap.excluded(item)
        if excluded:
            found.append(
                REASONS["item-domain-excluded"].render(
                    {**params, **_domains(excluded)}, [refs["excluded_domains"]]
                )
            )
        reasons = tuple(found)
        self._items[id(item)] = (item, reasons)
        return reasons

    def _by_grade(self, grade: str) -> tuple[Route, tuple[Reason, ...]]:
        """Rule 6 for a grade code: the route and its reasons, built once per code."""
        found = self._grades.get(grade)
        if found is not None:
            return found
        snap = self.snapshot
        refs = snap.references
        rank = snap.rank(grade)
        threshold = snap.conditional_threshold
        if rank is None:
            params = {"grade": grade, "scale": snap.grade_scale.name}
            found = (
                Route.STANDARD,
                (REASONS["credit-grade-unknown"].render(params, [refs["grade_scale"]]),),
            )
        else:
            params = {"grade": snap.grade_scale.grades[rank], "threshold": threshold.code}
            ref = [refs["conditional_threshold"]]
            if rank <= threshold.rank:
                found = (
                    Route.CONDITIONAL,
                    (
                        REASONS["credit-grade-meets-threshold"].render(params, ref),
                        self._reason("no-blocking-record", "blocking_records"),
                    ),
                )
            else:
                found = (
                    Route.STANDARD,
                    (REASONS["credit-grade-below-threshold"].render(params, ref),),
                )
        self._grades[grade] = found
        return found

    # -- per-application reasons -------------------------------------------------------

    def _unusable(self, applicant: Applicant, evidence: CreditEvidence) -> Reason | None:
        """Why the evidence cannot be trusted, or None: another subject, a digest that
        fails, a retrieval day after the decision or before the freshness window, a grade
        the policy's scale lacks."""
        snap = self.snapshot
        ours = applicant.identifier
        ref = [snap.references["credit_unavailable"]]
        subjects = (evidence.subject, *(r.subject for r in evidence.records))
        stranger = next((s for s in subjects if s != ours), None)
        if stranger is not None:
            return REASONS["credit-evidence-wrong-subject"].render(
                {"subject": stranger, "applicant": ours}, ref
            )
        if _sha256(evidence._payload()) != evidence.digest:  # never the cached marker
            return REASONS["credit-evidence-unverified"].render({"source": evidence.source}, ref)
        stale = self._stale(evidence)
        if stale is not None:
            return stale
        grade = evidence.grade
        on_scale = evidence.scale == snap.grade_scale.name
        if on_scale and grade is not None and snap.rank(grade) is None:
            return self._by_grade(grade)[1][0]  # credit-grade-unknown
        return None

    def _stale(self, evidence: CreditEvidence) -> Reason | None:
        """``credit-evidence-future`` or ``-stale`` if retrieved outside the window."""
        snap = self.snapshot
        on = self.on
        retrieved_on = evidence.retrieved_at.astimezone(_CHINA_TIME).date()
        max_age = snap.credit_evidence_max_age_days
        earliest = on - dt.timedelta(days=max_age)
        if earliest <= retrieved_on <= on:
            return None
        params = {
            "source": evidence.source,
            "retrieved_on": _iso(retrieved_on),
            "decided_on": _iso(on),
        }
        refs = [snap.references["credit_evidence_max_age_days"]]
        if retrieved_on > on:
            return REASONS["credit-evidence-future"].render(params, refs)
        params |= {"earliest": _iso(earliest), "max_age_days": str(max_age)}
        return REASONS["credit-evidence-stale"].render(params, refs)

    def _bars(self, item: ApprovalItem, evidence: CreditEvidence) -> list[Reason]:
        snap = self.snapshot
        on = self.on
        blocked: list[Reason] = []
        for record in evidence.records:
            rules = snap.blocking_rules(record, on)
            if rules:
                blocked.append(self._blocking_reason(record, rules))
        # Rule 4's reasons, in the evidence's record order.
        return blocked

    def _refuse_if_banned(
        self, item: ApprovalItem, applicant: Applicant, evidence: CreditEvidence
    ) -> None:
        """Rule 0: a statutory re-application ban refuses the application itself."""
        snap = self.snapshot
        found: list[tuple[dt.date, CreditRecord, ReapplicationBan]] = []
        for record in evidence.records:
            for ban in snap.bans(record, item, self.on):
                found.append((ban.ends_on(record), record, ban))
        if not found:
            return
        until, record, ban = max(found, key=lambda hit: hit[0])
        reason = self._ban_reason(record, ban, item)
        basis = ban.reference or snap.references["reapplication_ban_months"]
        raise ReapplicationBarred(
            item=item.code,
            applicant=applicant.identifier,
            record_id=record.record_id,
            until=until,
            basis="" if basis is None else str(basis),
            reason_zh=reason.zh,
        )

    def _blocking_reason(self, record: CreditRecord, rules: Sequence[BlockingRule]) -> Reason:
        kind_zh, kind_en = self.snapshot.kind_labels(record.kind)
        sev_zh, sev_en = SEVERITY_LABELS[record.severity]
        params = {
            "record_id": record.record_id,
            "kind": kind_code(record.kind),
            "kind_zh": kind_zh,
            "kind_en": kind_en,
            "severity": record.severity.value,
            "severity_zh": sev_zh,
            "severity_en": sev_en,
            "decided_on": _iso(record.decided_on),
        }
        refs = [rule.reference or self.snapshot.references["blocking_records"] for rule in rules]
        # The publicity and repair periods are those of the instrument of the decision day.
        refs.append(record.publicity_basis)
        city_kind = self.snapshot.record_kinds.get(kind_code(record.kind))
        if city_kind is not None:  # the law that makes such conduct a credit record
            refs.append(city_kind.legal_basis)
        if any(rule.lasts is BlockLasts.UNTIL_REPAIRED for rule in rules):
            params["repairable_from"] = _iso(record.repairable_from)
            return REASONS["blocking-record-until-repair"].render(params, refs)
        params["until"] = _iso(record.publicity_ends_on)
        return REASONS["blocking-record"].render(params, refs)

    def _ban_reason(
        self, record: CreditRecord, ban: ReapplicationBan, item: ApprovalItem
    ) -> Reason:
        kind_zh, kind_en = self.snapshot.kind_labels(record.kind)
        params = {
            "record_id": record.record_id,
            "kind": kind_code(record.kind),
            "kind_zh": kind_zh,
            "kind_en": kind_en,
            "decided_on": _iso(record.decided_on),
            "until": _iso(ban.ends_on(record)),
            "months": str(ban.months),
            "item": item.code,
        }
        ref = ban.reference or self.snapshot.references["reapplication_ban_months"]
        return REASONS["reapplication-ban"].render(params, [ref])

    # -- deciding ----------------------------------------------------------------------

    def decide(
        self,
        *,
        item: ApprovalItem,
        applicant: Applicant,
        evidence: CreditEvidence | CreditLookupFailure | None,
        project: ProjectFacts = _NO_PROJECT,
        choose_standard: bool = False,
    ) -> Decision:
        """The route of one application on this decider's day; see :func:`decide`."""
        return self._decide(item, applicant, evidence, project, choose_standard)

    def decide_many(self, applications: Iterable[Application]) -> list[Decision]:
        """The decisions of many applications, in order."""
        run = self._decide
        return [
            run(a.item, a.applicant, a.evidence, a.project, a.choose_standard) for a in applications
        ]

    def stream(self, applications: Iterable[Application]) -> Iterator[Decision]:
        """Like :meth:`decide_many`, one decision at a time (for feeds too large for a list)."""
        run = self._decide
        for a in applications:
            yield run(a.item, a.applicant, a.evidence, a.project, a.choose_standard)

    def _decide(
        self,
        item: ApprovalItem,
        applicant: Applicant,
        evidence: CreditEvidence | CreditLookupFailure | None,
        project: ProjectFacts,
        choose_standard: bool,
    ) -> Decision:
        on = self.on
        if on < item.valid_from or (item.valid_until is not None and on >= item.valid_until):
            raise NoValueInForce(f"approval item {item.code}", on)
        child = self._child(item)
        if child is not None:
            return child._decide(item, applicant, evidence, project, choose_standard)
        if self._missing is not None:
            raise self._missing
        snap = self.snapshot
        if isinstance(evidence, CreditEvidence) and self._unusable(applicant, evidence) is None:
            self._refuse_if_banned(item, applicant, evidence)
        major = snap.major_level(project)
        eligible = Route.STANDARD
        reasons: Sequence[Reason] = self._item_reasons(item)
        if reasons:
            pass  # rule 1: the item alone decides
        elif major is not None and snap.major_project_credit is MajorProjectCredit.NO_QUERY:
            # Rule 2, no query: whatever a source said (or failed to say) does not count.
            eligible = Route.DIRECT
            reasons = (self._level_reason("major-project-no-query", major),)
            evidence = None
        elif evidence is None or isinstance(evidence, CreditLookupFailure):
            eligible = snap.credit_unavailable
            reasons = (self._no_evidence(evidence),)
        else:
            unusable = self._unusable(applicant, evidence)
            if unusable is not None:
                reasons = (unusable,)
            else:
                bars = self._bars(item, evidence)
                if bars:
                    if major is not None:
                        bars.insert(0, self._level_reason("major-project-blocked", major))
                    reasons = bars
                elif major is not None:
                    eligible = Route.DIRECT
                    reasons = (self._level_reason("major-project-direct", major),)
                elif evidence.scale != snap.grade_scale.name:
                    reasons = (self._scale_mismatch(evidence),)
                elif evidence.grade is None:
                    reasons = (
                        REASONS["credit-grade-missing"].render(
                            {"source": evidence.source},
                            [snap.references["conditional_threshold"]],
                        ),
                    )
                else:
                    eligible, reasons = self._by_grade(evidence.grade)
        route = eligible
        if choose_standard:
            route = Route.STANDARD
            reasons = (*reasons, self._reason("applicant-chose-standard"))
        return Decision(
            item_code=item.code,
            item_valid_from=item.valid_from,
            applicant=applicant.identifier,
            decided_on=on,
            route=route,
            eligible_route=eligible,
            reasons=tuple(reasons),
            catalog=item.catalog,
            policy=snap.version,
            evidence_digest=evidence.digest if isinstance(evidence, CreditEvidence) else None,
            major_project=major is not None,
            jurisdiction=snap.jurisdiction,
        )

    def _child(self, item: ApprovalItem) -> ReferenceDecider | None:
        """The decider of the item's place, if its rules differ from this decider's."""
        policy = self._policy
        if policy is None:
            return None
        key = (item.code, item.domains)
        view = self._views.get(key)
        if view is None:
            view = policy.view(item=item)
            self._views[key] = view
        if view is policy:
            return None
        child = self._children.get(view.version.digest)
        if child is None:
            child = ReferenceDecider(view, self.on)
            self._children[view.version.digest] = child
        return child

    def _no_evidence(self, failure: CreditLookupFailure | None) -> Reason:
        if failure is None:
            return self._reason("credit-evidence-missing", "credit_unavailable")
        category = failure.category
        zh, en = FAILURE_CATEGORY_LABELS[category]
        params = {
            "source": failure.source,
            "category": category.value,
            "category_zh": zh,
            "category_en": en,
            "failure": failure.reason,
        }
        return REASONS["credit-lookup-failed"].render(
            params, [self.snapshot.references["credit_unavailable"]]
        )

    def _scale_mismatch(self, evidence: CreditEvidence) -> Reason:
        snap = self.snapshot
        return REASONS["credit-scale-mismatch"].render(
            {"evidence_scale": evidence.scale, "policy_scale": snap.grade_scale.name},
            [snap.references["grade_scale"]],
        )


def reference_decide(
    *,
    item: ApprovalItem,
    applicant: Applicant,
    evidence: CreditEvidence | CreditLookupFailure | None,
    policy: Policy | PolicySnapshot,
    on: dt.date,
    project: ProjectFacts = _NO_PROJECT,
    choose_standard: bool = False,
) -> Decision:
    """What :func:`creditcommit.decide` gave before decisions were compiled."""
    if on < item.valid_from or (item.valid_until is not None and on >= item.valid_until):
        raise NoValueInForce(f"approval item {item.code}", on)
    return ReferenceDecider(policy, on)._decide(item, applicant, evidence, project, choose_standard)
