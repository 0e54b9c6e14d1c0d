"""Unit tests for :class:`creditcommit.Approvals`, the service that does the I/O.

Each test sets up a fresh directory the way a city would (``creditcommit.toml``, the
built-in credit file, licence file, JSON-lines channel and SQLite event store) and moves a
:class:`~creditcommit.ManualClock`. Upstreams that fail or answer garbage, a writer that
slips in between a read and an append, and a channel that is down are played by small
fakes registered as plugins or by a store subclass.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditcommit import (
    CHINA_TIME,
    Applicant,
    Approvals,
    Case,
    CaseState,
    Config,
    CreditEvidence,
    CreditLookupFailure,
    CreditSourceError,
    FailureCategory,
    IllegalTransition,
    InvalidValue,
    ManualClock,
    PauseReason,
    PluginError,
    ProjectFacts,
    ProjectLevel,
    Route,
    Signer,
    UnknownCase,
    UnknownItem,
    hookimpl,
)
from creditcommit.builtin import FileCreditSource, FileLicenceStore, JsonLinesChannel
from creditcommit.builtin.sqlite_store import SQLiteEventStore
from creditcommit.case import Returned
from creditcommit.credit import DETAIL_LIMIT
from creditcommit.delivery import Backoff
from creditcommit.identifiers import uscc_check_char
from creditcommit.materials import Disposition
from creditcommit.plugins import Integrations
from creditcommit.ports import IssuedLicence, NewEvent, NewStream, OutboxMessage, StoredEvent

CITY = "321000"
GAOYOU = "321084-GGCSWSXK"
JIANGDU = "321012-TZXMBA"
FORM = "GGCSWSXK-01"
DEFERRED = ("GGCSWSXK-04", "GGCSWSXK-06", "GGCSWSXK-07")
# Friday before the National Day break of 2025.
START = dt.datetime(2025, 9, 26, 9, 30, tzinfo=CHINA_TIME)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


HOTEL = Applicant(_uscc("91321084MA1TQ7GU0"), "高邮某酒店管理有限公司")  # grade B
BATHS = Applicant(_uscc("91321084MA1TQ7GU1"), "高邮某洗浴服务部")  # grade C
INN = Applicant(_uscc("91321084MA1TQ7GU3"), "高邮某宾馆")  # lookup fails


def at(day: dt.date, hour: int = 9, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CHINA_TIME)


def catalogue_text(*, on_the_spot: bool) -> str:
    """The bundled sample catalogue, with Gaoyou's permit decided on the spot or not."""
    text = (files("creditcommit") / "data" / "sample_catalog.toml").read_text(encoding="utf-8")
    head, marker, gaoyou = text.partition(f'code = "{GAOYOU}"')
    flag = "true" if on_the_spot else "false"
    return head + marker + gaoyou.replace("on_the_spot = true", f"on_the_spot = {flag}", 1)


def prepare(directory: Path, *, on_the_spot: bool = True, catalog: str | None = None) -> Path:
    """A city's directory: configuration, catalogue, credit file and licence file."""
    if catalog is None:
        (directory / "catalog.toml").write_text(
            catalogue_text(on_the_spot=on_the_spot), encoding="utf-8"
        )
        catalog = "catalog.toml"
    config = directory / "creditcommit.toml"
    config.write_text(
        f'city = "{CITY}"\n'
        'store = "sqlite:cases.db"\n'
        f'catalog = "{catalog}"\n'
        'policy = "sample"\n'
        "[plugins.builtin]\n"
        f'unavailable_subjects = ["{INN.identifier}"]\n',
        encoding="utf-8",
    )
    credit = FileCreditSource(directory / "credit.db")
    for applicant, grade in ((HOTEL, "B"), (BATHS, "C"), (INN, "B")):
        credit.set_grade(applicant.identifier, grade, city=CITY)
    licences = FileLicenceStore(directory / "licences.db")
    for applicant in (HOTEL, BATHS, INN):
        for licence_type in ("business-licence", "resident-identity-card"):
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


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return prepare(tmp_path)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def service(config: Path, clock: ManualClock) -> Iterator[Approvals]:
    with Approvals.from_config(config, clock=clock, autoload=False) as opened:
        yield opened


def log_size(service: Approvals) -> int:
    return len(service.store.events(limit=100_000))


def sign(service: Approvals, case: Case) -> Case:
    return service.sign_commitment(
        case.case_id, Signer(case.applicant.name, case.applicant.identifier)
    )


# --- fakes --------------------------------------------------------------------------------


class ScriptedSource:
    """A credit source that answers what ``answer`` returns (or raises), counting calls."""

    name = "scripted"
    # It stands in for the built-in source, whose file the built-in registry writes to.
    reads_registry = "credit-file"

    def __init__(self, answer: Callable[[str, dt.datetime], object]) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def lookup(self, subject: str, *, city: str, at: dt.datetime) -> Any:
        self.calls.append(subject)
        return self.answer(subject, at)


def grade_b(subject: str, at: dt.datetime) -> CreditEvidence:
    return CreditEvidence.create(
        subject=subject, source="scripted", retrieved_at=at, scale="yangzhou-a-e", grade="B"
    )


class CreditPlugin:
    """Provides ``source`` as the credit source of the configured city."""

    def __init__(self, source: object) -> None:
        self.source = source

    @hookimpl
    def creditcommit_credit_source(self, city: str) -> object:
        return self.source if city == CITY else None


class ScriptedLicenceStore:
    """A licence store whose ``holdings`` answers what ``answer`` returns (or raises)."""

    name = "scripted-licences"

    def __init__(self, answer: Callable[[], object]) -> None:
        self.answer = answer
        self.recorded: list[IssuedLicence] = []

    def holdings(self, subject: str, *, city: str, on: dt.date) -> Any:
        return self.answer()

    def record(self, licence: IssuedLicence, *, city: str) -> None:
        self.recorded.append(licence)

    def withdraw(self, reference: str, *, city: str, holder: str, on: dt.date, reason: str) -> None:
        raise AssertionError("not used")


class LicencePlugin:
    def __init__(self, store: object) -> None:
        self.store = store

    @hookimpl
    def creditcommit_licence_store(self, city: str) -> object:
        return self.store if city == CITY else None


class FlakyChannel:
    """A publishing channel that is down for its first ``failures`` calls; idempotent."""

    name = "credit-website"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.published: dict[str, OutboxMessage] = {}

    def publish(self, message: OutboxMessage) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("信用扬州 is unreachable")
        self.published.setdefault(message.key, message)


class ChannelPlugin:
    def __init__(self, *channels: object) -> None:
        self.channels = list(channels)

    @hookimpl
    def creditcommit_publishing_channels(self, city: str) -> list[object] | None:
        return self.channels if city == CITY else None


class Listener:
    """Hears every stored event of a case; ``fail`` makes it raise instead."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.heard: list[tuple[str, str, int]] = []

    @hookimpl
    def creditcommit_case_event(self, city: str, case_id: str, event: StoredEvent) -> None:
        if self.fail:
            raise RuntimeError("the metrics server is down")
        self.heard.append((case_id, event.type, event.version))


class Interloper(SQLiteEventStore):
    """An event store that runs ``before`` (one callable per append) just before appending:
    another writer slipping in between the service's read and its write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.before: list[Callable[[], object]] = []

    def append(
        self, stream: str, events: Sequence[NewEvent], **options: Any
    ) -> tuple[StoredEvent, ...]:
        if self.before:
            self.before.pop(0)()
        return super().append(stream, events, **options)

    def create_numbered(
        self, counter: str, build: Callable[[int], NewStream], **options: Any
    ) -> tuple[StoredEvent, ...]:
        if self.before:
            self.before.pop(0)()
        return super().create_numbered(counter, build, **options)


def service_with_store(config: Path, clock: ManualClock, store: SQLiteEventStore) -> Approvals:
    integrations = Integrations.from_config(Config.load(config), autoload=False)
    return Approvals(integrations, store, clock=clock)


# --- construction -------------------------------------------------------------------------


def test_from_config_resolves_the_city_s_ports_and_rules(service: Approvals) -> None:
    assert service.city == CITY
    assert service.integrations.plugins == ("builtin",)
    assert service.catalog().item(GAOYOU, START.date()).statutory_days == 20
    assert service.policy().at(START.date()).grade_scale.name == "yangzhou-a-e"
    assert service.calendar().is_working_day(dt.date(2025, 10, 11))  # make-up working day
    assert isinstance(service.store, SQLiteEventStore)
    assert service.cases() == ()


def test_a_misconfiguration_fails_at_start_up_not_on_the_first_application(
    tmp_path: Path,
) -> None:
    (tmp_path / "creditcommit.toml").write_text(f'city = "{CITY}"\n', encoding="utf-8")
    with pytest.raises(PluginError) as raised:
        Approvals.from_config(tmp_path / "creditcommit.toml", autoload=False)
    assert str(raised.value) == (
        f"no plugin provides the catalogue of city {CITY} (plugins asked: none implements it); "
        f'install the city\'s plugin, or configure city = "{CITY}" to use the built-in defaults'
    )


def test_check_names_a_city_nobody_serves(service: Approvals) -> None:
    with pytest.raises(PluginError, match="no plugin provides the credit source of city 320100"):
        service.check("320100")


def test_leaving_the_with_block_closes_the_store(config: Path, clock: ManualClock) -> None:
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        service.cases()


# --- submit: credit evidence and failing upstreams ------------------------------------------


def test_submit_asks_the_credit_source_and_stores_the_evidence_with_the_case(
    service: Approvals, clock: ManualClock
) -> None:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    evidence = case.evidence
    assert isinstance(evidence, CreditEvidence)
    assert (evidence.subject, evidence.source, evidence.grade) == (
        HOTEL.identifier,
        "credit-file",
        "B",
    )
    assert evidence.retrieved_at == clock.now
    assert evidence.verify()
    assert case.decision is not None
    assert case.decision.evidence_digest == evidence.digest
    assert case.route is Route.CONDITIONAL
    # Stored with the case: the evidence as it was, digest and all.
    (checked,) = [e for e in service.history(case.case_id) if e.type == "credit-checked"]
    assert checked.payload["outcome"]["evidence"]["digest"] == evidence.digest
    assert service.case(case.case_id) == case


def test_a_credit_source_that_is_down_is_recorded_and_the_route_is_standard(
    service: Approvals, clock: ManualClock
) -> None:
    case = service.submit(item=GAOYOU, applicant=INN, provided=[FORM])
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert failure.source == "credit-file"
    assert failure.attempted_at == clock.now
    # The built-in source returns its simulated outage as a failure (it does not raise).
    assert failure.reason == (
        "credit source 'credit-file': simulated unreachable "
        "(the subject is listed in unavailable_subjects)"
    )
    assert failure.category is FailureCategory.UNREACHABLE
    assert case.decision is not None
    assert (case.route, case.decision.eligible_route) == (Route.STANDARD, Route.STANDARD)
    assert case.decision.reason_codes == ("credit-lookup-failed",)
    assert service.case(case.case_id).evidence == failure


def test_a_credit_source_raising_anything_fails_closed_with_a_short_reason(
    tmp_path: Path, clock: ManualClock
) -> None:
    def crash(subject: str, at: dt.datetime) -> object:
        raise RuntimeError("stack trace " * 100)

    with Approvals.from_config(
        prepare(tmp_path),
        clock=clock,
        autoload=False,
        plugins=[CreditPlugin(ScriptedSource(crash))],
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert failure.source == "scripted"
    assert len(failure.reason) == DETAIL_LIMIT
    assert failure.reason.startswith("RuntimeError: stack trace stack trace")
    assert failure.reason.endswith("…")
    assert failure.category is FailureCategory.INTERNAL
    assert case.route is Route.STANDARD


def test_a_source_that_gives_up_after_its_own_timeout_is_recorded_like_any_failure(
    tmp_path: Path, clock: ManualClock
) -> None:
    # The service sets no timeout of its own: a slow source must bound its own calls.
    def timeout(subject: str, at: dt.datetime) -> object:
        raise TimeoutError("no answer from 信用扬州 within 3.0 s")

    with Approvals.from_config(
        prepare(tmp_path),
        clock=clock,
        autoload=False,
        plugins=[CreditPlugin(ScriptedSource(timeout))],
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert isinstance(case.evidence, CreditLookupFailure)
    assert case.evidence.reason == "TimeoutError: no answer from 信用扬州 within 3.0 s"
    assert case.evidence.category is FailureCategory.TIMEOUT
    assert case.route is Route.STANDARD


def submit_with(tmp_path: Path, clock: ManualClock, *plugins: object, **kwargs: Any) -> Case:
    """Submit the Gaoyou permit for HOTEL (or as ``kwargs`` say) with ``plugins`` in place."""
    with Approvals.from_config(
        prepare(tmp_path), clock=clock, autoload=False, plugins=list(plugins)
    ) as service:
        case = service.submit(**{"item": GAOYOU, "applicant": HOTEL, "provided": [FORM], **kwargs})
        assert service.case(case.case_id) == case  # stored, and read back the same
        dump = repr([(e.type, dict(e.payload)) for e in service.store.events(limit=1000)])
    LOGS[case.case_id] = dump
    return case


LOGS: dict[str, str] = {}


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("even the message is broken")


class Booby:
    """A reply whose every attribute access raises."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name} for you")


def raising(exc: BaseException) -> Callable[[str, dt.datetime], object]:
    def answer(subject: str, at: dt.datetime) -> object:
        raise exc

    return answer


def test_an_exception_whose_str_raises_does_not_escape_submit(
    tmp_path: Path, clock: ManualClock
) -> None:
    case = submit_with(tmp_path, clock, CreditPlugin(ScriptedSource(raising(Unprintable()))))
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert failure.category is FailureCategory.INTERNAL
    assert failure.reason == "Unprintable (its message could not be read)"
    assert case.route is Route.STANDARD
    assert case.decision is not None
    assert case.decision.reason_codes == ("credit-lookup-failed",)


def test_a_reply_whose_attribute_access_raises_does_not_escape_submit(
    tmp_path: Path, clock: ManualClock
) -> None:
    case = submit_with(tmp_path, clock, CreditPlugin(ScriptedSource(lambda s, at: Booby())))
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert failure.category is FailureCategory.MALFORMED_REPLY
    assert case.route is Route.STANDARD


def test_a_licence_store_reply_whose_attribute_access_raises_retrieves_nothing(
    tmp_path: Path, clock: ManualClock
) -> None:
    case = submit_with(tmp_path, clock, LicencePlugin(ScriptedLicenceStore(lambda: [Booby()])))
    assert case.licence_lookup is not None
    assert case.licence_lookup.holdings == ()
    assert case.licence_lookup.failure is not None


SECRETS = ("https://", "credit.example", "s3cr3tT0ken", "eyJhbGciOiJIUzI1NiJ9", "hunter2pass")
LEAKY = (
    "GET https://credit.example.gov.cn/api?subject=9132&access_token=s3cr3tT0ken failed; "
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def password=hunter2pass"
)


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (TimeoutError(LEAKY), FailureCategory.TIMEOUT),
        (ConnectionRefusedError(LEAKY), FailureCategory.REFUSED),
        (ConnectionResetError(LEAKY), FailureCategory.UNREACHABLE),
        (OSError(LEAKY), FailureCategory.UNREACHABLE),
        (CreditSourceError("unauthorised", LEAKY), FailureCategory.UNAUTHORISED),
        (CreditSourceError(FailureCategory.UPSTREAM_ERROR, LEAKY), FailureCategory.UPSTREAM_ERROR),
        (ValueError(LEAKY), FailureCategory.INTERNAL),
    ],
    ids=["timeout", "refused", "reset", "oserror", "unauthorised", "upstream", "other"],
)
def test_lookup_failures_are_categorised_and_no_secret_reaches_the_applicant_or_the_log(
    tmp_path: Path, clock: ManualClock, exc: Exception, category: FailureCategory
) -> None:
    case = submit_with(tmp_path, clock, CreditPlugin(ScriptedSource(raising(exc))))
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert failure.category is category
    assert case.decision is not None
    (reason,) = case.decision.reasons
    assert reason.params["category"] == category.value
    for text in (case.decision.explain("zh"), case.decision.explain("en"), LOGS[case.case_id]):
        for secret in SECRETS:
            assert secret not in text, (secret, text)


def test_evidence_about_another_subject_is_recorded_as_a_wrong_subject_failure(
    tmp_path: Path, clock: ManualClock
) -> None:
    case = submit_with(
        tmp_path, clock, CreditPlugin(ScriptedSource(lambda s, at: grade_b(BATHS.identifier, at)))
    )
    failure = case.evidence
    assert isinstance(failure, CreditLookupFailure)
    assert failure.category is FailureCategory.WRONG_SUBJECT
    assert BATHS.identifier not in LOGS[case.case_id].split("credit-checked", 1)[1]
    assert case.route is Route.STANDARD


def test_a_failing_licence_store_never_logs_secrets(tmp_path: Path, clock: ManualClock) -> None:
    def down() -> object:
        raise OSError(LEAKY)

    case = submit_with(tmp_path, clock, LicencePlugin(ScriptedLicenceStore(down)))
    assert case.licence_lookup is not None
    assert case.licence_lookup.failure is not None
    assert case.licence_lookup.failure.startswith("OSError: GET <url> failed;")
    for secret in SECRETS:
        assert secret not in LOGS[case.case_id]


def test_a_major_project_without_credit_query_never_calls_the_source(
    tmp_path: Path, clock: ManualClock
) -> None:
    # Jiangdu: 市级及以上重大项目无需查询信用等级. The source is not even called, so its
    # outage cannot matter: up or down, the decision is the same.
    clock.set(at(dt.date(2025, 9, 26)))
    decisions = []
    for i, answer in enumerate((grade_b, raising(ConnectionRefusedError("down")))):
        source = ScriptedSource(answer)
        directory = tmp_path / str(i)
        directory.mkdir()
        with Approvals.from_config(
            prepare(directory), clock=clock, autoload=False, plugins=[CreditPlugin(source)]
        ) as service:
            case = service.submit(
                item=JIANGDU, applicant=HOTEL, project=ProjectFacts(ProjectLevel.MUNICIPAL)
            )
        assert source.calls == []
        assert case.evidence is None
        assert case.route is Route.DIRECT
        assert case.decision is not None
        assert case.decision.reason_codes == ("major-project-no-query",)
        decisions.append(case.decision)
    assert decisions[0] == decisions[1]


def test_a_county_project_is_still_checked(tmp_path: Path, clock: ManualClock) -> None:
    source = ScriptedSource(grade_b)
    case = submit_with(
        tmp_path,
        clock,
        CreditPlugin(source),
        item=JIANGDU,
        project=ProjectFacts(ProjectLevel.COUNTY),
        provided=[],
    )
    assert source.calls == [HOTEL.identifier]
    assert isinstance(case.evidence, CreditEvidence)


def test_a_credit_source_answering_garbage_is_recorded_as_a_malformed_reply(
    tmp_path: Path, clock: ManualClock
) -> None:
    source = ScriptedSource(lambda subject, at: {"grade": "A", "subject": subject})
    with Approvals.from_config(
        prepare(tmp_path), clock=clock, autoload=False, plugins=[CreditPlugin(source)]
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert case.evidence == CreditLookupFailure(
        subject=HOTEL.identifier,
        source="scripted",
        attempted_at=clock.now,
        reason="malformed reply: expected credit evidence, got dict",
    )
    assert case.route is Route.STANDARD


def test_a_failing_licence_store_retrieves_nothing_and_the_materials_are_demanded(
    tmp_path: Path, clock: ManualClock
) -> None:
    def down() -> object:
        raise OSError("电子证照库 connection refused")

    with Approvals.from_config(
        prepare(tmp_path),
        clock=clock,
        autoload=False,
        plugins=[LicencePlugin(ScriptedLicenceStore(down))],
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        assert service.case(case.case_id) == case
    lookup = case.licence_lookup
    assert lookup is not None
    assert lookup.holdings == ()
    assert lookup.failure == "OSError: 电子证照库 connection refused"  # sanitised, nothing to hide
    assert case.plan is not None
    licence_lines = [case.plan.line(code) for code in ("GGCSWSXK-02", "GGCSWSXK-03")]
    assert [line.disposition for line in licence_lines] == [Disposition.MISSING] * 2
    assert not case.plan.acceptable
    assert case.route is Route.CONDITIONAL  # the credit check is unaffected


def test_a_licence_store_answering_garbage_counts_as_a_failure(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = ScriptedLicenceStore(lambda: ["business-licence"])
    with Approvals.from_config(
        prepare(tmp_path), clock=clock, autoload=False, plugins=[LicencePlugin(store)]
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert case.licence_lookup is not None
    assert case.licence_lookup.failure == "malformed reply: expected licence holdings"
    assert case.licence_lookup.holdings == ()


def test_an_unknown_item_is_refused_before_anybody_is_asked(
    tmp_path: Path, clock: ManualClock
) -> None:
    source = ScriptedSource(grade_b)
    with Approvals.from_config(
        prepare(tmp_path), clock=clock, autoload=False, plugins=[CreditPlugin(source)]
    ) as service:
        with pytest.raises(UnknownItem) as raised:
            service.submit(item="321084-NOPE", applicant=HOTEL)
        assert service.cases() == ()
    assert str(raised.value) == "approval item '321084-NOPE' is not in the catalogue"
    assert source.calls == []


# --- submit: idempotency and case ids --------------------------------------------------------


def test_submitting_again_with_the_same_key_returns_the_case_without_asking_again(
    tmp_path: Path, clock: ManualClock
) -> None:
    source = ScriptedSource(grade_b)
    with Approvals.from_config(
        prepare(tmp_path),
        clock=clock,
        autoload=False,
        plugins={"city-credit": CreditPlugin(source)},
    ) as service:
        first = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM], key="req-7f3a")
        signed = sign(service, first)
        clock.advance(days=3)
        # A retried request, even with other details, gets the case as it stands now.
        again = service.submit(item=JIANGDU, applicant=BATHS, key="req-7f3a")
        assert again == signed
        assert again.submission.idempotency_key == "req-7f3a"
        assert source.calls == [HOTEL.identifier]
        assert log_size(service) == 5
        other = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM], key="req-8b1c")
        assert other.case_id != first.case_id
        assert source.calls == [HOTEL.identifier] * 2


def test_a_concurrent_submission_with_the_same_key_returns_the_case_it_made(
    config: Path, clock: ManualClock
) -> None:
    store = Interloper(config.parent / "cases.db")
    with (
        service_with_store(config, clock, store) as service,
        Approvals.from_config(config, clock=clock, autoload=False) as other,
    ):
        made: list[Case] = []
        store.before.append(
            lambda: made.append(other.submit(item=GAOYOU, applicant=HOTEL, key="req-7f3a"))
        )
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM], key="req-7f3a")
        assert case == made[0]
        assert case.submission.provided == ()  # the other writer's submission
        assert [c.case_id for c in service.cases()] == [case.case_id]


def test_case_ids_number_the_city_s_cases_per_day(service: Approvals, clock: ManualClock) -> None:
    ids = [service.submit(item=GAOYOU, applicant=HOTEL).case_id for _ in range(3)]
    assert ids == ["321000-20250926-N0001", "321000-20250926-N0002", "321000-20250926-N0003"]
    clock.set(at(dt.date(2025, 10, 9)))
    assert service.submit(item=JIANGDU, applicant=BATHS).case_id == "321000-20251009-N0001"


def test_a_submission_whose_number_was_taken_meanwhile_takes_the_next_one(
    config: Path, clock: ManualClock
) -> None:
    store = Interloper(config.parent / "cases.db")
    with (
        service_with_store(config, clock, store) as service,
        Approvals.from_config(config, clock=clock, autoload=False) as other,
    ):
        store.before.append(lambda: other.submit(item=JIANGDU, applicant=BATHS))
        # A generator: read once, still there when the submission is tried again.
        case = service.submit(
            item=GAOYOU, applicant=HOTEL, provided=(code for code in [FORM, "GGCSWSXK-05"])
        )
        assert case.case_id == "321000-20250926-N0002"
        assert case.submission.provided == (FORM, "GGCSWSXK-05")
        assert service.case(case.case_id) == case
        assert [c.item_code for c in service.cases()] == [JIANGDU, GAOYOU]


def test_submit_never_gives_up_however_many_numbers_are_taken_meanwhile(
    config: Path, clock: ManualClock
) -> None:
    store = Interloper(config.parent / "cases.db")
    with (
        service_with_store(config, clock, store) as service,
        Approvals.from_config(config, clock=clock, autoload=False) as other,
    ):

        def taken() -> None:
            for _ in range(25):
                other.submit(item=JIANGDU, applicant=BATHS)

        store.before.append(taken)
        case = service.submit(item=GAOYOU, applicant=HOTEL)
        assert case.case_id == "321000-20250926-N0026"
        assert store.before == []
        assert len(service.cases()) == 26


@settings(max_examples=20, deadline=None)  # each example sets up a directory and writes SQLite
@given(
    requests=st.lists(
        st.tuples(st.sampled_from([HOTEL, BATHS]), st.none() | st.sampled_from("abc")),
        min_size=1,
        max_size=8,
    )
)
def test_one_case_and_one_credit_lookup_per_distinct_key(
    requests: list[tuple[Applicant, str | None]],
) -> None:
    source = ScriptedSource(grade_b)
    with tempfile.TemporaryDirectory() as directory:
        config = prepare(Path(directory))
        with Approvals.from_config(
            config, clock=ManualClock(START), autoload=False, plugins=[CreditPlugin(source)]
        ) as service:
            by_key: dict[str, str] = {}
            for applicant, key in requests:
                case = service.submit(item=GAOYOU, applicant=applicant, key=key)
                if key is not None:
                    assert by_key.setdefault(key, case.case_id) == case.case_id
            expected = len(by_key) + sum(key is None for _, key in requests)
            cases = service.cases()
            assert len(cases) == len(source.calls) == expected
            # Numbered 1, 2, 3, ... in the order they were made.
            assert [c.case_id for c in cases] == [
                f"321000-20250926-N{n:04d}" for n in range(1, expected + 1)
            ]


# --- reading ------------------------------------------------------------------------------


def test_cases_filters_by_city_state_item_and_applicant(service: Approvals) -> None:
    hotel = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    baths = service.submit(item=GAOYOU, applicant=BATHS, provided=[FORM])
    filing = service.submit(
        item=JIANGDU, applicant=HOTEL, project=ProjectFacts(ProjectLevel.MUNICIPAL)
    )
    hotel = sign(service, hotel)

    def ids(found: tuple[Case, ...]) -> list[str]:
        return [case.case_id for case in found]

    assert ids(service.cases()) == [hotel.case_id, baths.case_id, filing.case_id]
    assert ids(service.cases(city=CITY)) == ids(service.cases())
    assert service.cases(city="320100") == ()
    assert ids(service.cases(state=CaseState.COMMITTED)) == [hotel.case_id]
    assert ids(service.cases(state=CaseState.DECIDED)) == [baths.case_id, filing.case_id]
    assert ids(service.cases(item=JIANGDU)) == [filing.case_id]
    assert ids(service.cases(applicant=HOTEL.identifier)) == [hotel.case_id, filing.case_id]
    assert ids(service.cases(applicant=HOTEL.identifier, item=GAOYOU)) == [hotel.case_id]
    assert service.cases(state=CaseState.ISSUED) == ()
    assert service.cases()[0] == hotel


def test_an_unknown_case_is_an_error_naming_it(service: Approvals) -> None:
    for call in (
        lambda: service.case("321000-20250926-N0099"),
        lambda: service.history("321000-20250926-N0099"),
        lambda: service.accept("321000-20250926-N0099"),
        lambda: service.commitment_letter("321000-20250926-N0099"),
    ):
        with pytest.raises(UnknownCase) as raised:
            call()
        assert str(raised.value) == "no case '321000-20250926-N0099' is recorded"
        assert raised.value.case_id == "321000-20250926-N0099"


def test_the_letters_are_drawn_up_from_the_case(service: Approvals) -> None:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    letter = service.commitment_letter(case.case_id)
    notification = service.notification(case.case_id)
    assert letter.terms == notification.terms
    assert letter.terms.applicant == HOTEL
    assert letter.terms.decision == case.decision
    # The verification deadline: the item's 20 working days after the decision.
    assert letter.terms.verification_due == dt.date(2025, 10, 30)
    assert [term.code for term in letter.terms.materials if term.disposition == "deferred"] == list(
        DEFERRED
    )
    assert HOTEL.name in letter.render()
    assert "信用承诺" in notification.render()


def test_a_standard_route_case_has_no_letter(service: Approvals) -> None:
    case = service.submit(item=GAOYOU, applicant=BATHS, provided=[FORM])
    assert case.route is Route.STANDARD
    with pytest.raises(InvalidValue, match=r"decision\.route: the standard route"):
        service.commitment_letter(case.case_id)


# --- the actions --------------------------------------------------------------------------


def test_the_conditional_route_from_submission_to_publication(
    service: Approvals, clock: ManualClock, config: Path
) -> None:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert (case.state, case.version) == (CaseState.DECIDED, 4)
    clock.advance(minutes=20)
    case = sign(service, case)
    assert case.state is CaseState.COMMITTED
    assert case.commitment is not None
    assert case.commitment.signed_at == clock.now
    assert case.commitment.verify(service.integrations.signature_provider(CITY))
    clock.advance(minutes=15)
    case = service.accept(case.case_id, licence_valid_until=dt.date(2029, 9, 25))
    # 先证后核: accepted and issued at once; the deferred materials are the holder's to bring.
    assert case.state is CaseState.ISSUED
    assert case.licence is not None
    assert (case.licence.reference, case.licence.valid_until) == (
        "XK-321000-20250926-N0001",
        dt.date(2029, 9, 25),
    )
    assert [line.code for line in case.outstanding] == list(DEFERRED)
    assert [e.type for e in service.history(case.case_id)][-2:] == ["accepted", "licence-issued"]

    outbox = {m.message.key: m.message for m in service.store.outbox(delivered=False)}
    assert sorted(outbox) == [
        "321000-20250926-N0001/licence-decision/XK-321000-20250926-N0001/jsonl",
        "321000-20250926-N0001/licence-issued/XK-321000-20250926-N0001",
    ]
    publication = outbox["321000-20250926-N0001/licence-decision/XK-321000-20250926-N0001/jsonl"]
    assert publication.destination == "channel:jsonl"
    assert publication.topic == "licence-decision"
    payload = publication.payload
    assert (payload["kind"], payload["decided_on"], payload["publish_by"]) == (
        "licence-decision",
        "2025-09-26",
        # 7 working days (双公示): the make-up days of 28 Sep and 11 Oct count, the holiday not.
        "2025-10-13",
    )
    fields = payload["fields"]
    assert fields["decision_number"] == "XK-321000-20250926-N0001"
    assert fields["counterparty_name"] == HOTEL.name
    assert fields["counterparty_code"] == HOTEL.identifier  # a USCC is published as it is
    assert fields["valid_until"] == "2029-09-25"
    assert payload["extra"] == {"case_id": "321000-20250926-N0001", "route": "conditional"}

    report = service.deliver()
    assert sorted(report.delivered) == sorted(outbox)
    assert report.failed == ()
    channel = JsonLinesChannel(config.parent / "publications.jsonl")
    assert [m.key for m in channel.messages()] == [publication.key]
    held = FileLicenceStore(config.parent / "licences.db").holdings(
        HOTEL.identifier, city=CITY, on=dt.date(2025, 9, 26)
    )
    assert ("XK-321000-20250926-N0001", GAOYOU) in {(h.reference, h.licence_type) for h in held}
    # Delivered once: a second run finds nothing due.
    assert service.deliver().delivered == ()

    clock.set(at(dt.date(2025, 10, 13)))
    case = service.supply_material(case.case_id, "GGCSWSXK-06")
    assert case.supplied[-1].on_time is False
    assert case.state is CaseState.ISSUED


def test_the_standard_route_supply_accept_pause_resume_and_issue(
    service: Approvals, clock: ManualClock
) -> None:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM], choose_standard=True)
    assert case.route is Route.STANDARD
    assert case.plan is not None
    missing = [line.code for line in case.plan.missing]
    assert missing == ["GGCSWSXK-04", "GGCSWSXK-05", "GGCSWSXK-06", "GGCSWSXK-07"]
    clock.set(at(dt.date(2025, 9, 29)))
    for code in missing:
        case = service.supply_material(case.case_id, code)
    assert case.plan is not None
    assert case.plan.acceptable
    case = service.accept(case.case_id)
    assert (case.state, case.accepted_on) == (CaseState.ACCEPTED, dt.date(2025, 9, 29))
    assert (case.promised_due, case.statutory_due) == (dt.date(2025, 10, 13), dt.date(2025, 11, 3))

    clock.set(at(dt.date(2025, 9, 30)))
    case = service.pause_clock(
        case.case_id, PauseReason.EXPERT_REVIEW, note="专家评审通知书 2025-17"
    )
    assert case.pause is not None
    assert case.pause.note == "专家评审通知书 2025-17"
    with pytest.raises(IllegalTransition) as raised:
        service.issue(case.case_id)
    assert str(raised.value) == (
        "case 321000-20250926-N0001: cannot issue in state ACCEPTED: the clock is paused since "
        "2025-09-30 for expert-review (专家评审); resume it first"
    )
    clock.set(at(dt.date(2025, 10, 15)))
    case = service.resume_clock(case.case_id)
    assert (case.paused_working_days, case.promised_due) == (6, dt.date(2025, 10, 21))
    case = service.issue(
        case.case_id, reference="高卫公证字〔2025〕第077号", valid_until=dt.date(2029, 10, 14)
    )
    assert case.state is CaseState.ISSUED
    assert case.licence_reference == "高卫公证字〔2025〕第077号"
    assert service.case(case.case_id) == case
    assert [m.message.key for m in service.store.outbox()] == [
        "321000-20250926-N0001/licence-issued/高卫公证字〔2025〕第077号",
        "321000-20250926-N0001/licence-decision/高卫公证字〔2025〕第077号/jsonl",
    ]


def test_refusing_and_withdrawing_close_the_case(service: Approvals) -> None:
    # Grade C: the standard route, every material handed in. (A licence: a filing, such as
    # the Jiangdu project filing, is recorded once complete and is never refused.)
    materials = ["GGCSWSXK-01", "GGCSWSXK-04", "GGCSWSXK-05", "GGCSWSXK-06"]
    refused = service.submit(item=GAOYOU, applicant=BATHS, provided=materials)
    assert refused.route is Route.STANDARD
    refused = service.supply_material(refused.case_id, "GGCSWSXK-07")
    refused = service.accept(refused.case_id)
    refused = service.refuse(refused.case_id, "经现场核查，卫生设施不符合要求")
    assert refused.state is CaseState.REFUSED
    assert refused.closure is not None
    withdrawn = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    withdrawn = service.withdraw(withdrawn.case_id, "申请人主动撤回")
    assert withdrawn.state is CaseState.WITHDRAWN
    size = log_size(service)
    with pytest.raises(IllegalTransition) as raised:
        service.withdraw(refused.case_id)
    assert str(raised.value) == (
        "case 321000-20250926-N0001: cannot withdraw in state REFUSED: allowed in SUBMITTED, "
        "DECIDED, COMMITTED, ACCEPTED, SUSPENDED"
    )
    assert log_size(service) == size
    assert service.store.outbox() == ()


def test_the_applicant_may_only_choose_the_standard_route(service: Approvals) -> None:
    case = sign(service, service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM]))
    with pytest.raises(ValueError, match="only choose the standard route") as raised:
        service.choose_route(case.case_id, Route.DIRECT)
    assert str(raised.value) == (
        "an applicant can only choose the standard route instead of the decided one, not DIRECT"
    )
    case = service.choose_route(case.case_id, Route.STANDARD)
    assert (case.state, case.route, case.commitment) == (CaseState.DECIDED, Route.STANDARD, None)
    assert case.decision is not None
    assert case.decision.eligible_route is Route.CONDITIONAL


def test_signing_is_an_illegal_transition_where_no_commitment_can_be_signed(
    service: Approvals,
) -> None:
    standard = service.submit(item=GAOYOU, applicant=BATHS, provided=[FORM])
    issued = service.accept(
        sign(service, service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])).case_id
    )
    size = log_size(service)
    with pytest.raises(IllegalTransition) as raised:
        sign(service, standard)
    assert str(raised.value) == (
        "case 321000-20250926-N0001: cannot sign_commitment in state DECIDED: the standard "
        "route takes no commitment"
    )
    with pytest.raises(IllegalTransition) as raised:
        sign(service, issued)
    assert str(raised.value) == (
        "case 321000-20250926-N0002: cannot sign_commitment in state ISSUED: allowed in DECIDED"
    )
    assert log_size(service) == size


def test_listeners_hear_every_stored_event_and_a_failing_one_breaks_nothing(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    listener = Listener()
    with Approvals.from_config(
        prepare(tmp_path),
        clock=clock,
        autoload=False,
        plugins={"metrics": listener, "alerts": Listener(fail=True)},
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        case = sign(service, case)
    assert listener.heard == [
        (case.case_id, kind, version)
        for version, kind in enumerate(
            [
                "case-submitted",
                "credit-checked",
                "licences-looked-up",
                "route-decided",
                # the letter is stored once, by digest (SQLite store schema 4)
                "commitment-signed-ref",
            ],
            start=1,
        )
    ]
    assert case.state is CaseState.COMMITTED
    assert "listener 'alerts' failed on event commitment-signed-ref (version 5)" in caplog.text


# --- tick ---------------------------------------------------------------------------------


@pytest.fixture
def later(tmp_path: Path, clock: ManualClock) -> Iterator[Approvals]:
    """The service with Gaoyou's permit not decided on the spot: the licence waits."""
    config = prepare(tmp_path, on_the_spot=False)
    with Approvals.from_config(config, clock=clock, autoload=False) as opened:
        yield opened


def accepted_with_deferred_materials(service: Approvals) -> Case:
    case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    case = service.accept(sign(service, case).case_id)
    assert case.state is CaseState.ACCEPTED
    assert [(line.code, line.due) for line in case.outstanding] == [
        (code, dt.date(2025, 10, 10)) for code in DEFERRED
    ]
    return case


def test_tick_suspends_a_case_with_overdue_deferred_materials_then_returns_it(
    later: Approvals, clock: ManualClock
) -> None:
    case = accepted_with_deferred_materials(later)
    clock.set(at(dt.date(2025, 10, 10), 23))
    assert later.tick().suspended == ()
    clock.set(at(dt.date(2025, 10, 11), 1))
    report = later.tick()
    assert report.at == clock.now
    assert (report.suspended, report.resumed, report.returned) == ((case.case_id,), (), ())
    case = later.case(case.case_id)
    assert (case.state, case.grace_ends) == (CaseState.SUSPENDED, dt.date(2025, 10, 30))
    assert [c.case_id for c in later.cases(state=CaseState.SUSPENDED)] == [case.case_id]

    clock.set(at(dt.date(2025, 10, 20)))
    later.supply_material(case.case_id, "GGCSWSXK-04")
    clock.set(at(dt.date(2025, 10, 30), 18))
    assert later.tick().returned == ()  # the last day of the grace period
    clock.set(at(dt.date(2025, 10, 31), 1))
    report = later.tick()
    assert report.returned == (case.case_id,)
    case = later.case(case.case_id)
    assert case.state is CaseState.RETURNED
    assert isinstance(case.closure, Returned)
    assert case.closure.missing == ("GGCSWSXK-06", "GGCSWSXK-07")
    assert later.tick().returned == ()  # nothing left to do
    with pytest.raises(IllegalTransition, match="cannot issue in state RETURNED"):
        later.issue(case.case_id)


def test_supplying_the_overdue_materials_within_the_grace_period_resumes_the_case(
    later: Approvals, clock: ManualClock
) -> None:
    case = accepted_with_deferred_materials(later)
    clock.set(at(dt.date(2025, 10, 13)))
    assert later.tick().suspended == (case.case_id,)
    for code in DEFERRED:
        case = later.supply_material(case.case_id, code)
    assert case.state is CaseState.ACCEPTED
    assert [type(e).__name__ for e in case.history[-2:]] == ["MaterialSupplied", "Resumed"]
    case = later.issue(case.case_id)
    assert case.state is CaseState.ISSUED
    clock.set(at(dt.date(2025, 12, 1)))
    report = later.tick()
    assert (report.suspended, report.resumed, report.returned) == ((), (), ())
    assert later.case(case.case_id) == case


def test_tick_leaves_a_case_another_writer_changed_to_the_next_tick(
    tmp_path: Path, clock: ManualClock
) -> None:
    config = prepare(tmp_path, on_the_spot=False)
    store = Interloper(tmp_path / "cases.db")
    with (
        service_with_store(config, clock, store) as service,
        Approvals.from_config(config, clock=clock, autoload=False) as other,
    ):
        case = accepted_with_deferred_materials(service)
        clock.set(at(dt.date(2025, 10, 13)))
        store.before.append(lambda: other.supply_material(case.case_id, "GGCSWSXK-04"))
        report = service.tick()
        assert (report.conflicts, report.suspended) == ((case.case_id,), ())
        # The other writer's change is kept; the next tick suspends for what is still owed.
        report = service.tick()
        assert (report.conflicts, report.suspended) == ((), (case.case_id,))
        suspended = service.case(case.case_id)
        assert suspended.suspension is not None
        assert suspended.suspension.overdue == ("GGCSWSXK-06", "GGCSWSXK-07")


def test_tick_takes_the_time_it_is_given_in_china_time(later: Approvals) -> None:
    case = accepted_with_deferred_materials(later)
    # 17:00 UTC on 10 October is 01:00 on 11 October in China: the materials are overdue.
    report = later.tick(dt.datetime(2025, 10, 10, 17, 0, tzinfo=dt.UTC))
    assert report.at == at(dt.date(2025, 10, 11), 1, 0)
    assert report.at.utcoffset() == dt.timedelta(hours=8)
    assert report.suspended == (case.case_id,)


def test_tick_refuses_a_time_without_a_time_zone(later: Approvals) -> None:
    with pytest.raises(ValueError, match="without a time zone") as raised:
        later.tick(dt.datetime(2025, 10, 11, 1, 0))
    assert str(raised.value) == (
        "tick() was given datetime.datetime(2025, 10, 11, 1, 0), a time without a time zone"
    )


# --- delivery -----------------------------------------------------------------------------


def test_delivery_retries_a_failing_channel_with_backoff_until_it_recovers(
    tmp_path: Path, clock: ManualClock
) -> None:
    website = FlakyChannel(failures=2)
    backoff = Backoff(base=dt.timedelta(minutes=1), factor=2, cap=dt.timedelta(minutes=10))
    with Approvals.from_config(
        prepare(tmp_path),
        clock=clock,
        autoload=False,
        plugins=[ChannelPlugin(website)],
        backoff=backoff,
    ) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
        case = service.accept(sign(service, case).case_id)
        key = f"{case.case_id}/licence-decision/{case.licence_reference}/credit-website"
        now = clock.now

        first = service.deliver()
        assert first.delivered == (f"{case.case_id}/licence-issued/{case.licence_reference}",)
        (failure,) = first.failed
        assert (failure.key, failure.attempts, failure.retry_at) == (
            key,
            1,
            now + dt.timedelta(minutes=1),
        )
        assert failure.error == "ConnectionError: 信用扬州 is unreachable"
        # Not due again before its retry time.
        quiet = service.deliver(now + dt.timedelta(seconds=59))
        assert (quiet.delivered, quiet.failed, quiet.skipped) == ((), (), ())
        assert website.calls == 1
        second = service.deliver(now + dt.timedelta(minutes=1))
        assert [(f.attempts, f.retry_at) for f in second.failed] == [
            (2, now + dt.timedelta(minutes=3))
        ]
        third = service.deliver(now + dt.timedelta(minutes=3))
        assert (third.delivered, third.failed) == ((key,), ())
        assert list(website.published) == [key]
        assert website.calls == 3
        assert service.store.outbox(delivered=False) == ()
        assert service.deliver(now + dt.timedelta(hours=1)).delivered == ()


# --- the clock ----------------------------------------------------------------------------


def test_a_clock_without_a_time_zone_is_rejected(config: Path) -> None:
    naive = dt.datetime(2025, 9, 26, 9, 30)
    with Approvals.from_config(config, clock=lambda: naive, autoload=False) as service:
        with pytest.raises(ValueError, match="without a time zone") as raised:
            service.submit(item=GAOYOU, applicant=HOTEL)
        assert str(raised.value) == (
            "the clock returned datetime.datetime(2025, 9, 26, 9, 30), a time without a time zone"
        )
        assert service.cases() == ()
    with pytest.raises(ValueError, match="has no time zone"):
        ManualClock(naive)
    clock = ManualClock(START)
    with pytest.raises(ValueError, match="has no time zone"):
        clock.set(naive)
    assert clock() == START


def test_the_day_of_an_action_is_the_day_in_china(config: Path) -> None:
    # 20:00 UTC on 26 September is 04:00 on 27 September in China.
    clock = ManualClock(dt.datetime(2025, 9, 26, 20, 0, tzinfo=dt.UTC))
    with Approvals.from_config(config, clock=clock, autoload=False) as service:
        case = service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM])
    assert case.case_id == "321000-20250927-N0001"
    assert case.submission.at == clock.now
    assert case.submission.at.utcoffset() == dt.timedelta(hours=8)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock() == clock() == START
    assert clock.advance(days=3, hours=1) == dt.datetime(2025, 9, 29, 10, 30, tzinfo=CHINA_TIME)
    assert clock.set(START) == clock.now == START


def test_verify_checks_the_whole_log(service: Approvals, config: Path) -> None:
    case = sign(service, service.submit(item=GAOYOU, applicant=HOTEL, provided=[FORM]))
    assert service.verify().ok
    assert service.verify().events == case.version == 5
    with sqlite3.connect(config.parent / "cases.db") as con:
        con.execute("UPDATE events SET payload = '{}' WHERE position = 2")
    con.close()
    report = service.verify()
    assert not report.ok
    assert report.first_bad is not None
    assert report.first_bad.position == 2
