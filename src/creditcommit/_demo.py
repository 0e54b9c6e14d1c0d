"""The narrated demo behind ``creditcommit demo``: the seed's story, end to end.

It creates a fresh directory with a ``creditcommit.toml``, an SQLite event store, the
built-in credit file, licence store and JSON-lines publishing channel, and runs the cases of
the Yangzhou case study through :class:`~creditcommit.Approvals` on a manual clock, so the
output is the same on every machine (apart from the directory's name).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import TextIO, TypeVar

import attrs

from creditcommit._labels import LANGUAGES, Language, disposition_label, escape, state_label
from creditcommit.builtin.credit_file import FileCreditSource
from creditcommit.builtin.licence_file import FileLicenceStore
from creditcommit.case import (
    Case,
    CaseState,
    CreditRecordCreated,
    RectificationOrdered,
    RevocationProposed,
)
from creditcommit.commitments import Signer
from creditcommit.config import Config
from creditcommit.credit import CreditRecord, CreditRecordKind, Severity, kind_code
from creditcommit.decision import Applicant, ProjectFacts, ProjectLevel
from creditcommit.draws import Conflict, Inspector, SeedCommitment, verify_draw
from creditcommit.errors import CreditCommitError
from creditcommit.identifiers import uscc_check_char
from creditcommit.metrics import render_text, statistics
from creditcommit.ports import IssuedLicence
from creditcommit.reasons import SEVERITY_LABELS
from creditcommit.service import CHINA_TIME, Approvals, ManualClock
from creditcommit.supervision import VerificationOutcome

CITY = "321000"  # 扬州市
JIANGDU = "321012-TZXMBA"
GAOYOU = "321084-GGCSWSXK"


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


NEWMAT = Applicant(_uscc("91321012MA1Y2K3L4"), "扬州某新材料科技有限公司")
HOTEL_B = Applicant(_uscc("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司")
BATHS_C = Applicant(_uscc("91321084MA1TQ7GU1"), "高邮某洗浴服务部")
SALON_B = Applicant(_uscc("91321084MA1TQ7GU2"), "高邮某美容美发店")
INN_B = Applicant(_uscc("91321084MA1TQ7GU3"), "高邮某宾馆")

#: The demo's own signing key, written to ``signing.key`` in the demo's directory so that the
#: demo and the commands it suggests work with nothing set in the environment. Not a secret:
#: never use it for real letters.
DEMO_SIGNING_KEY = "creditcommit demo key - NOT SECRET, NOT FOR REAL LETTERS"

CONFIG = f"""\
# creditcommit demo: the sample catalogue and the sample Yangzhou policy (neither official).
city = "{CITY}"
store = "sqlite:cases.db"
catalog = "sample"
policy = "sample"

[plugins.builtin]
credit = "credit.db"
licences = "licences.db"
channel = "publications.jsonl"
# A testing aid: this subject's credit lookup fails as if the platform were down.
unavailable_subjects = ["{INN_B.identifier}"]
# The demo's own key for signing commitment letters (never use it for real letters).
signing_key_file = "signing.key"
"""


def _at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


def prepare(directory: Path) -> Path:
    """Write the configuration and the city's data (credit file, licence store)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "creditcommit.toml"
    config.write_text(CONFIG, encoding="utf-8")
    (directory / "signing.key").write_text(DEMO_SIGNING_KEY + "\n", encoding="utf-8")
    credit = FileCreditSource(directory / "credit.db")
    for applicant, grade in ((HOTEL_B, "B"), (BATHS_C, "C"), (SALON_B, "B"), (INN_B, "B")):
        credit.set_grade(applicant.identifier, grade, city=CITY)
    credit.add_record(
        CreditRecord.with_default_periods(
            record_id="YZ-2025-0413",
            subject=SALON_B.identifier,
            kind=CreditRecordKind.DISHONESTY,
            severity=Severity.GENERAL,
            decided_on=dt.date(2025, 4, 13),
            authority="高邮市市场监督管理局",
            description="未按规定公示年度报告",
        ),
        city=CITY,
    )
    licences = FileLicenceStore(directory / "licences.db")
    held = [
        (NEWMAT, "business-licence"),
        (NEWMAT, "uscc-certificate"),
        *((a, t) for a in (HOTEL_B, BATHS_C, SALON_B, INN_B) for t in ("business-licence",)),
        *((a, "resident-identity-card") for a in (HOTEL_B, BATHS_C, SALON_B, INN_B)),
    ]
    for applicant, licence_type in held:
        licences.record(
            IssuedLicence(
                reference=f"{licence_type}:{applicant.identifier}",
                licence_type=licence_type,
                subject=applicant.identifier,
                item_code="external",
                case_id="external",
                issued_on=dt.date(2020, 1, 1),
            ),
            city=CITY,
        )
    return config


def run(
    out: TextIO, directory: str | os.PathLike[str] | None = None, *, lang: Language = "zh"
) -> Path:
    """Run the story in ``directory`` (a new temporary one by default); returns it.

    The narration is in Chinese (``lang="zh"``) or in English (``"en"``, with the reasons
    in both languages).
    """
    say = _Narrator(out, lang)
    where = Path(tempfile.mkdtemp(prefix="creditcommit-demo-") if directory is None else directory)
    if where.exists() and any(where.iterdir()):
        raise ValueError(f"{where} is not empty: the demo needs a fresh directory")
    config = prepare(where)
    clock = ManualClock(_at(dt.date(2023, 1, 16)))
    say(
        "“信用+承诺”审批分级演示：扬州市案例\n",
        "creditcommit — 信用+承诺 审批分级 (credit + commitment tiered approval)\n",
    )
    say(
        f"工作目录：{where}（案件库 cases.db，信用库 credit.db，电子证照库 licences.db）\n",
        f"Working in {where} (SQLite store cases.db, credit.db, licences.db).\n",
    )

    with Approvals.from_config(Config.load(config), clock=clock, autoload=False) as service:
        catalog, policy = service.catalog().rule_version, service.policy().version
        calendar = "; ".join(service.calendar().provenance)
        say(f"事项清单：{catalog}\n", f"Catalogue: {catalog}\n")
        say(f"审批政策：{policy}\n", f"Policy:    {policy}\n")
        say(f"工作日历：{calendar}\n", f"Calendar:  {calendar}\n")

        say(
            "\n一、江都区，2023-01-16：市级重大项目办理立项备案\n",
            "\n1. Jiangdu, 2023-01-16: a municipal major project files its project (立项备案)\n",
        )
        case = service.submit(
            item=JIANGDU,
            applicant=NEWMAT,
            project=ProjectFacts(
                ProjectLevel.MUNICIPAL, "锂电池高倍率正、负极纳米涂覆集流体项目一期", 200_000_000
            ),
            key="demo-jiangdu",
        )
        _decided(say, service, case)
        case = service.sign_commitment(case.case_id, Signer(NEWMAT.name, NEWMAT.identifier))
        say(
            "   申请人签署一份信用承诺书，代替四项材料。\n",
            "   One credit-commitment form is signed instead of the four materials.\n",
        )
        clock.advance(minutes=20)
        case = service.accept(case.case_id)
        _issued(say, service, case)

        clock.set(_at(dt.date(2025, 9, 26)))
        say(
            "\n二、高邮市，2025-09-26：信用等级为 B 级的酒店申请公共场所卫生许可\n",
            "\n2. Gaoyou, 2025-09-26: a grade-B hotel applies for the health permit\n",
        )
        case = service.submit(
            item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="demo-gaoyou-b"
        )
        _decided(say, service, case)
        case = service.sign_commitment(case.case_id, Signer(HOTEL_B.name, HOTEL_B.identifier))
        clock.advance(minutes=35)
        case = service.accept(case.case_id)
        _issued(say, service, case)

        for number, (title_zh, title_en, applicant, key) in enumerate(
            (
                ("信用等级为 C 级的申请人", "a grade-C applicant", BATHS_C, "demo-gaoyou-c"),
                (
                    "信用等级为 B 级、但有未到期失信记录的申请人",
                    "a grade-B applicant with an active dishonesty record",
                    SALON_B,
                    "demo-gaoyou-d",
                ),
                (
                    "信用平台无法查询时，信用等级为 B 级的申请人",
                    "a grade-B applicant while the credit platform is down",
                    INN_B,
                    "demo-gaoyou-e",
                ),
            ),
            3,
        ):
            clock.advance(minutes=30)
            say(
                f"\n{_NUMBERS_ZH[number]}、高邮市，2025-09-26：{title_zh}\n",
                f"\n{number}. Gaoyou, 2025-09-26: {title_en}\n",
            )
            case = service.submit(
                item=GAOYOU, applicant=applicant, provided=["GGCSWSXK-01"], key=key
            )
            _decided(say, service, case)

        again = escape(service.submit(item=GAOYOU, applicant=HOTEL_B, key="demo-gaoyou-b").case_id)
        say(
            f"\n以相同的幂等键再次提交第二件申请，返回 {again}：不产生新案件。\n",
            f"\nSubmitting case 2 again with the same key returns {again}: no new case.\n",
        )

        report = service.deliver()
        delivered, failed = len(report.delivered), len(report.failed)
        say(
            f"\n待发消息：已送达 {delivered} 条，失败 {failed} 条。\n",
            f"\nOutbox: {delivered} message(s) delivered, {failed} failed.\n",
        )
        _publications(say, where)
        _supervision(say, service, clock, where)
        _closing(say, service, config)
    return where


def _closing(say: _Narrator, service: Approvals, config: Path) -> None:
    """The hash chain's check, and what to try next."""
    verified = service.verify()
    events = verified.events
    if verified.ok:
        say(
            f"\n事件日志：共 {events} 个事件，哈希链完整。\n",
            f"\nEvent log: {events} events, hash chain intact.\n",
        )
    else:
        say(
            f"\n事件日志：共 {events} 个事件，哈希链在 {verified.first_bad} 处被篡改。\n",
            f"\nEvent log: {events} events, hash chain TAMPERED at {verified.first_bad}.\n",
        )
    say("可以接着运行：\n", "Try:\n")
    say.both(f"     creditcommit --config {config} case show {HOTEL_CASE}\n")
    say.both(f"     creditcommit --config {config} report --from 2023-01-01 --to 2025-12-31\n")


def _publications(say: _Narrator, where: Path) -> None:
    """The licence decisions published so far (双公示)."""
    publications = (where / "publications.jsonl").read_text(encoding="utf-8").splitlines()
    say(
        f"公示文件 publications.jsonl 中有 {len(publications)} 条行政许可决定（双公示）：\n",
        f"publications.jsonl holds {len(publications)} licence decision(s) (双公示):\n",
    )
    for line in publications:
        payload = json.loads(line)["payload"]
        fields = payload["fields"]
        decision_number, project = escape(fields["decision_number"]), escape(fields["project_name"])
        party = escape(fields["counterparty_name"])
        decided_on, publish_by = payload["decided_on"], payload["publish_by"]
        say(
            f"   {decision_number} {project}——{party}（{decided_on} 决定，{publish_by} 前公示）\n",
            f"   {decision_number} {project} — {party} ({decided_on}, publish by {publish_by})\n",
        )


class _Narrator:
    """Writes the Chinese or the English wording of each line of the story."""

    def __init__(self, out: TextIO, lang: Language) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
        self.out = out
        self.lang: Language = lang

    def __call__(self, zh: str, en: str) -> None:
        self.out.write(zh if self.lang == "zh" else en)

    def both(self, text: str) -> None:
        """A line that reads the same in both languages (a command to type)."""
        self.out.write(text)


_NUMBERS_ZH = dict(enumerate("一二三四五六七八九", 1))

HOTEL_CASE = "321000-20250926-N0001"

E = TypeVar("E")


def _last(case: Case, kind: type[E]) -> E:
    """The case's latest event of ``kind``."""
    return next(event for event in reversed(case.history) if isinstance(event, kind))


def _supervision(say: _Narrator, service: Approvals, clock: ManualClock, where: Path) -> None:
    """The loop after the licence: a broken commitment, its consequences, a draw, a report."""
    lang = say.lang
    say(
        "\n六、事中事后监管：信用等级为 B 级的酒店始终未补交容缺材料\n",
        "\n6. Supervision: the grade-B hotel never supplies its deferred materials\n",
    )
    clock.set(_at(dt.date(2025, 10, 13), 8, 0))
    report = service.tick()
    case = service.case(HOTEL_CASE)
    order = _last(case, RectificationOrdered)
    delivered = len(report.delivery.delivered)
    say(
        f"   2025-10-13 定时任务：应于 2025-10-10 前补交的材料已逾期 → 责令于 {order.deadline} "
        f"前整改（状态：{state_label(case.state, lang)}）；送达消息 {delivered} 条。\n",
        f"   2025-10-13 tick: the materials due 2025-10-10 are overdue → rectification "
        f"ordered by {order.deadline} (state {case.state.name}); "
        f"{delivered} message(s) delivered.\n",
    )
    clock.set(_at(order.deadline + dt.timedelta(days=1), 8, 0))
    service.tick()
    case = service.case(HOTEL_CASE)
    proposal = _last(case, RevocationProposed)
    basis_zh = "；".join(escape(ref.zh) for ref in proposal.legal_basis)
    basis = "; ".join(escape(str(ref)) for ref in proposal.legal_basis)
    say(
        f"   {clock.now.date()} 定时任务：逾期未整改 → 拟撤销行政许可（依据：{basis_zh}）；"
        f"陈述申辩期至 {proposal.statement_due}（状态：{state_label(case.state, lang)}）。\n",
        f"   {clock.now.date()} tick: rectification not met → revocation proposed "
        f"({basis}); statement and defence until {proposal.statement_due} "
        f"(state {case.state.name}).\n",
    )
    clock.set(_at(proposal.statement_due + dt.timedelta(days=1), 10, 0))
    case = service.decide_revocation(HOTEL_CASE, authority="高邮市行政审批局")
    record = _last(case, CreditRecordCreated).record
    licence, record_id = escape(str(case.licence_reference)), escape(record.record_id)
    kind_zh, _ = service.policy().at(record.decided_on).kind_labels(record.kind)
    severity_zh, _ = SEVERITY_LABELS[record.severity]
    say(
        f"   {clock.now.date()}：陈述申辩期届满未提出意见 → 撤销许可证 {licence}"
        f"（状态：{state_label(case.state, lang)}）。\n"
        f"   失信记录 {record_id}：{kind_zh}，{severity_zh}，公示至 {record.publicity_ends_on}。\n",
        f"   {clock.now.date()}: the window elapsed unanswered → licence {licence} "
        f"revoked (state {case.state.name}).\n"
        f"   Dishonesty record {record_id}: {kind_code(record.kind)}, {record.severity.value}, "
        f"published until {record.publicity_ends_on}.\n",
    )
    delivered = len(service.deliver().delivered)
    say(
        f"   待发消息：已送达 {delivered} 条——在电子证照库注销许可证，向信用平台推送失信记录，"
        "公示撤销决定和失信记录，撤回许可决定的公示。\n",
        f"   Outbox: {delivered} message(s) delivered — licence withdrawn in the "
        "e-licence store, record pushed to the credit registry, revocation and record "
        "published, the licence decision's publicity withdrawn.\n",
    )

    clock.advance(days=3)
    say(
        f"\n七、{clock.now.date()}：同一酒店再次申请\n",
        f"\n7. {clock.now.date()}: the same hotel applies again\n",
    )
    again = service.submit(
        item=GAOYOU, applicant=HOTEL_B, provided=["GGCSWSXK-01"], key="demo-gaoyou-b-again"
    )
    _decided(say, service, again)

    _draw(say, service, clock)

    say(
        "\n九、统计报表（2023-01-01 至 2025-12-31）\n",
        "\n9. The report (2023-01-01 to 2025-12-31)\n",
    )
    report_text = render_text(
        statistics(
            service.cases(),
            start=dt.date(2023, 1, 1),
            end=dt.date(2025, 12, 31),
            catalog=service.catalog(),
            calendar=service.calendar(),
            draws=service.draws(),
        ),
        lang=lang,
    )
    say.both("".join(f"   {line}\n" for line in report_text.splitlines()))
    published = len((where / "publications.jsonl").read_text(encoding="utf-8").splitlines())
    say(
        f"公示文件 publications.jsonl 现有 {published} 条（双公示和抽查结果）。\n",
        f"publications.jsonl now holds {published} entries (双公示 and inspection results).\n",
    )


def _draw(say: _Narrator, service: Approvals, clock: ManualClock) -> None:
    """双随机 among the licences issued on commitment, and one inspection's result."""
    say(
        "\n八、双随机：在以承诺方式发放的许可证中抽查\n",
        "\n8. 双随机: a draw among the licences issued on commitment\n",
    )
    seed = b"yangzhou-demo-draw-2025-11-seed!"
    commitment = SeedCommitment.create(seed).digest
    say(
        f"   抽查前公布的随机种子承诺值：{commitment[:24]}…\n",
        f"   Seed commitment published before the draw: {commitment[:24]}…\n",
    )
    roster = [
        Inspector("YZ-01", "王明"),
        Inspector("YZ-02", "李华"),
        Inspector("YZ-03", "张伟"),
        Inspector("YZ-04", "陈静"),
    ]
    targets = service.commitment_targets(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    conflicts = [Conflict("YZ-01", targets[0].id, "亲属任职")] if targets else []
    drawn = service.draw(
        "扬州-2025-双随机-01",
        targets,
        inspectors=roster,
        conflicts=conflicts,
        seed=seed,
        commitment=commitment,
    )
    verify_draw(drawn, targets=targets)
    for selection in drawn.selections:
        target, grade = escape(selection.target.id), escape(selection.target.grade)
        say(
            f"   {target}（{grade}）：{'、'.join(map(escape, selection.inspectors))}\n",
            f"   {target} ({grade}): {', '.join(map(escape, selection.inspectors))}\n",
        )
    say(
        "   复核：按公布的抽查记录重新运行，结果相同。\n",
        "   verify_draw: the published record re-runs to the same result.\n",
    )
    jiangdu = next(s for s in drawn.selections if s.target.id.startswith("BA-321000-2023"))
    clock.advance(days=2)
    by_licence = {c.licence_reference: c.case_id for c in service.cases() if c.licence_reference}
    checked = service.record_verification(
        by_licence[jiangdu.target.id],
        inspectors=jiangdu.inspectors,
        findings="现场核查：项目备案信息与承诺一致",
        outcome=VerificationOutcome.FULFILLED,
    )
    target = escape(jiangdu.target.id)
    say(
        f"   {target} 现场核查：已履行承诺 → {state_label(checked.state, say.lang)}。\n",
        f"   {target} verified on site: fulfilled → {checked.state.name}.\n",
    )
    service.deliver()


def _decided(say: _Narrator, service: Approvals, case: Case) -> None:
    decision = case.decision
    plan = case.plan
    assert decision is not None
    assert plan is not None
    case_id, name = escape(case.case_id), escape(case.applicant.name)
    identifier = escape(case.applicant.identifier)
    say(
        f"   案件 {case_id}：{name}（{identifier}）\n",
        f"   Case {case_id}: {name} ({identifier})\n",
    )
    route = decision.route
    say(
        f"   审批路径：{route.label_zh}\n",
        f"   Route: {route.name} — {route.label_zh} ({route.label_en})\n",
    )
    for reason in decision.reasons:
        zh, en = escape(reason.zh), escape(reason.en)
        say(f"     · {zh}\n", f"     · {zh}\n       {en}\n")
    total = len(plan.lines)
    say(
        f"   材料：共 {total} 项，其中 {plan.reduced} 项无需申请人提交；"
        f"{'材料齐全，可以受理' if plan.acceptable else '材料不全，暂不能受理'}\n",
        f"   Materials: {plan.reduced} of {total} need not be submitted; "
        f"acceptable: {'yes' if plan.acceptable else 'no'}\n",
    )
    for line in plan.lines:
        material, label = escape(line.name), disposition_label(line.disposition, "zh")
        due = line.due.isoformat() if line.due is not None else None
        say(
            f"       - {material}：{label}{'' if due is None else f'（{due} 前补交）'}\n",
            f"       - {material}: {line.disposition.name} ({label})"
            f"{'' if due is None else f' by {due}'}\n",
        )
    if not route.is_commitment:
        say(
            "   按一般程序办理：全部材料均须提交。\n",
            "   The ordinary procedure applies: every material must be submitted.\n",
        )


def _issued(say: _Narrator, service: Approvals, case: Case) -> None:
    item = service.catalog().item(case.item_code, case.item_valid_from)
    assert case.accepted_on is not None
    statutory = service.calendar().add_working_days(case.accepted_on, item.statutory_days)
    licence, days = escape(str(case.licence_reference)), item.statutory_days
    granted_zh, granted_en = (
        (
            f"当即予以备案，备案编号 {licence}（备案，不是许可）",
            f"filing {licence} recorded at once (备案, not a licence)",
        )
        if item.is_filing
        else (
            f"当场发放许可证 {licence}（先证后核）",
            f"licence {licence} issued on the spot (先证后核)",
        )
    )
    say(
        f"   受理并{granted_zh}；按法定时限 {days} 个工作日，"
        f"最迟可至 {statutory.isoformat()} 办结。\n",
        f"   Accepted and {granted_en} — "
        f"the statutory limit of {days} working day(s) would have run to "
        f"{statutory.isoformat()}.\n",
    )
    if case.outstanding:
        owed_zh = "，".join(f"{escape(line.name)}（{line.due} 前）" for line in case.outstanding)
        owed_en = ", ".join(f"{escape(line.name)} by {line.due}" for line in case.outstanding)
        say(f"   持证人仍须补交：{owed_zh}。\n", f"   Still owed by the holder: {owed_en}.\n")


# --- the story on a city's own configuration (creditcommit demo --config FILE) --------------

_Application = tuple[dt.date, str, str, str, Applicant, ProjectFacts | None, tuple[str, ...], str]
#: The story's applications: day, title (zh, en), item, applicant, project, materials, key.
_STORY: tuple[_Application, ...] = (
    (
        dt.date(2023, 1, 16),
        "江都区：市级重大项目办理立项备案",
        "Jiangdu: a municipal major project files its project",
        JIANGDU,
        NEWMAT,
        ProjectFacts(
            ProjectLevel.MUNICIPAL, "锂电池高倍率正、负极纳米涂覆集流体项目一期", 200_000_000
        ),
        (),
        "demo-city-jiangdu",
    ),
    *(
        (
            dt.date(2025, 9, 26),
            f"高邮市：{title_zh}申请公共场所卫生许可",
            f"Gaoyou: {title_en} applies for the health permit",
            GAOYOU,
            applicant,
            None,
            ("GGCSWSXK-01",),
            key,
        )
        for title_zh, title_en, applicant, key in (
            ("示例中信用等级为 B 级的酒店", "the story's grade-B hotel", HOTEL_B, "demo-city-b"),
            (
                "示例中信用等级为 C 级的申请人",
                "the story's grade-C applicant",
                BATHS_C,
                "demo-city-c",
            ),
            (
                "示例中有失信记录的申请人",
                "the story's applicant with a dishonesty record",
                SALON_B,
                "demo-city-d",
            ),
            (
                "示例中信用查询失败的申请人",
                "the story's applicant whose lookup fails",
                INN_B,
                "demo-city-e",
            ),
        )
    ),
)


def run_city(
    out: TextIO,
    config: str | os.PathLike[str],
    directory: str | os.PathLike[str] | None = None,
    *,
    lang: Language = "zh",
) -> Path:
    """Run the story's applications on the city configured in ``config``: its catalogue,
    policy, calendar, credit source, licence store and signature provider.

    The cases go to a fresh SQLite store in ``directory`` (a new temporary one by default),
    never to the city's own store, and nothing is delivered: the outbox stays in the demo's
    store, so the city's registry, licence store and publishing channels receive nothing.
    What cannot run on the city's rules (an item its catalogue does not have, a day its
    calendar does not cover, a letter it cannot sign) is printed with the reason, and the
    story goes on. Returns the directory.
    """
    say = _Narrator(out, lang)
    where = _fresh(directory)
    loaded = Config.load(config)
    store = where / "cases.db"
    own = attrs.evolve(loaded, store=f"sqlite:{store}", store_env=None)
    clock = ManualClock(_at(_STORY[0][0]))
    city, source = escape(loaded.city), escape(os.fspath(config))
    say(
        f"“信用+承诺”审批分级演示：在城市 {city} 的配置上运行扬州市案例\n",
        f"creditcommit — the Yangzhou story on the configuration of city {city}\n",
    )
    say(
        f"配置：{source}；案件写入演示专用的案件库 {store}，不写入城市的案件库。\n",
        f"Configuration: {source}; cases go to the demo's own store {store}, not to the city's.\n",
    )
    with Approvals.from_config(own, clock=clock) as service:
        catalog, policy = service.catalog().rule_version, service.policy().version
        calendar = "; ".join(service.calendar().provenance)
        say(f"事项清单：{catalog}\n", f"Catalogue: {catalog}\n")
        say(f"审批政策：{policy}\n", f"Policy:    {policy}\n")
        say(f"工作日历：{calendar}\n", f"Calendar:  {calendar}\n")
        for number, story in enumerate(_STORY, 1):
            day, title_zh, title_en = story[:3]
            clock.set(max(clock.now, _at(day)) + dt.timedelta(minutes=30))
            say(
                f"\n{_NUMBERS_ZH[number]}、{day}，{title_zh}\n",
                f"\n{number}. {day}, {title_en}\n",
            )
            _city_case(say, service, story)
        waiting = len(service.store.outbox(delivered=False))
        say(
            "\n未运行的部分：\n",
            "\nNot run:\n",
        )
        say(
            f"   送达：{waiting} 条消息留在演示案件库的发件箱中，未送达城市的电子证照库、"
            "信用平台和公示渠道——演示不向城市的系统写入任何内容。\n",
            f"   Delivery: {waiting} message(s) stay in the demo store's outbox; nothing is "
            "sent to the city's licence store, credit registry or publishing channels.\n",
        )
        say(
            "   事中事后监管（逾期、整改、撤销）和双随机抽查：需要送达和演示自己的信用数据，"
            "只在演示的示例配置上运行（不带配置运行演示）。\n",
            "   Supervision (overdue materials, rectification, revocation) and the draw: they "
            "need delivery and the story's own credit data, so they run only in the demo "
            "without a configuration.\n",
        )
        verified = service.verify()
        chain = "完整" if verified.ok else "被篡改"
        say(
            f"\n事件日志：共 {verified.events} 个事件，哈希链{chain}。\n",
            f"\nEvent log: {verified.events} events, hash chain "
            f"{'intact' if verified.ok else 'TAMPERED'}.\n",
        )
    return where


def _fresh(directory: str | os.PathLike[str] | None) -> Path:
    """``directory`` if it is new or empty, else ``ValueError``; a new temporary one if None."""
    where = Path(tempfile.mkdtemp(prefix="creditcommit-demo-") if directory is None else directory)
    if where.exists() and any(where.iterdir()):
        raise ValueError(f"{where} is not empty: the demo needs a fresh directory")
    where.mkdir(parents=True, exist_ok=True)
    return where


def _city_case(say: _Narrator, service: Approvals, story: _Application) -> None:
    """One application of the story on the city's rules, as far as they let it run."""
    _, _, _, item, applicant, project, provided, key = story
    try:
        case = service.submit(
            item=item, applicant=applicant, project=project, provided=provided, key=key
        )
    except (CreditCommitError, ValueError) as exc:
        _not_run(say, "受理申请", "submitting", exc)
        return
    _decided(say, service, case)
    if case.route is None or not case.route.is_commitment:
        return
    try:
        case = service.sign_commitment(case.case_id, Signer(applicant.name, applicant.identifier))
        case = service.accept(case.case_id)
        if case.state is CaseState.ACCEPTED:
            case = service.issue(case.case_id)
    except (CreditCommitError, ValueError) as exc:
        _not_run(say, "签署承诺、受理和发证", "signing, accepting and issuing", exc)
        return
    _issued(say, service, case)


def _not_run(say: _Narrator, step_zh: str, step_en: str, exc: BaseException) -> None:
    """A step the city's configuration did not let run, and why (the error's own words)."""
    why = escape(" ".join(str(exc).split()))
    say(f"   未能运行{step_zh}：{why}\n", f"   Could not run {step_en}: {why}\n")
