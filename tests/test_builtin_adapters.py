"""The built-in adapters: the port contracts, the credit loop, CSV import, JSON lines."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcommit.builtin import (
    CSV_COLUMNS,
    CsvImport,
    FileCreditRegistry,
    FileCreditSource,
    FileLicenceStore,
    HmacSignatureProvider,
    JsonLinesChannel,
)
from creditcommit.builtin import plugin as builtin_plugin
from creditcommit.config import Config
from creditcommit.credit import (
    CreditEvidence,
    CreditLookupFailure,
    CreditRecord,
    CreditRecordKind,
    FailureCategory,
    Severity,
)
from creditcommit.delivery import Destinations
from creditcommit.errors import (
    DataFileError,
    DuplicateLicence,
    LicenceHolderMismatch,
    UnknownGrade,
    UnknownLicence,
)
from creditcommit.identifiers import uscc_check_char
from creditcommit.ports import IssuedLicence
from creditcommit.testing.port_contracts import (
    AT,
    SUBJECT,
    CreditRegistryContract,
    CreditSourceContract,
    LicenceStoreContract,
    PublishingChannelContract,
    SignatureProviderContract,
    outbox_message,
    sample_record,
)

CITY = "321000"
KNOWN = "91321000MA1AAAAAA" + uscc_check_char("91321000MA1AAAAAA")


# --------------------------------------------------------------------------- contracts


class TestFileCreditSource(CreditSourceContract):
    @pytest.fixture
    def credit_source(self, tmp_path: Path) -> FileCreditSource:
        source = FileCreditSource(tmp_path / "credit.db")
        source.set_grade(KNOWN, "b", city=CITY)
        source.add_record(sample_record("R-1", subject=KNOWN), city=CITY)
        source.add_record(sample_record("R-other-city", subject=KNOWN), city="330100")
        return source

    @pytest.fixture
    def city(self) -> str:
        return CITY

    @pytest.fixture
    def known_subject(self) -> str:
        return KNOWN

    @pytest.fixture
    def known_grade(self) -> str:
        return "B"

    @pytest.fixture
    def known_record_ids(self) -> list[str]:
        return ["R-1"]

    @pytest.fixture
    def unknown_subject(self) -> str:
        return SUBJECT


class TestFileCreditRegistry(CreditRegistryContract):
    @pytest.fixture
    def credit_registry(self, tmp_path: Path) -> FileCreditRegistry:
        return FileCreditRegistry(tmp_path / "credit.db")

    @pytest.fixture
    def city(self) -> str:
        return CITY

    @pytest.fixture
    def registered_records(self, tmp_path: Path) -> Callable[[str], Sequence[CreditRecord]]:
        source = FileCreditSource(tmp_path / "credit.db")

        def read(subject: str) -> Sequence[CreditRecord]:
            return source.read(subject, city=CITY, at=AT).records

        return read


class TestFileLicenceStore(LicenceStoreContract):
    @pytest.fixture
    def licence_store(self, tmp_path: Path) -> FileLicenceStore:
        return FileLicenceStore(tmp_path / "licences.db")

    @pytest.fixture
    def city(self) -> str:
        return CITY


class TestHmacSignatureProvider(SignatureProviderContract):
    @pytest.fixture
    def signature_provider(self) -> HmacSignatureProvider:
        return HmacSignatureProvider("contract test key - NOT SECRET")

    @pytest.fixture
    def other_provider(self) -> HmacSignatureProvider:
        return HmacSignatureProvider("another contract key - NOT SECRET")


class TestJsonLinesChannel(PublishingChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path) -> JsonLinesChannel:
        return JsonLinesChannel(tmp_path / "publications.jsonl")

    @pytest.fixture
    def city(self) -> str:
        return CITY

    @pytest.fixture
    def published(self, tmp_path: Path) -> Callable[[], Sequence[str]]:
        def keys() -> list[str]:
            lines = (tmp_path / "publications.jsonl").read_text(encoding="utf-8").splitlines()
            return [json.loads(line)["key"] for line in lines]

        return keys


# --------------------------------------------------------------------------- credit file


def breach(record_id: str, subject: str = KNOWN) -> CreditRecord:
    return CreditRecord.with_default_periods(
        record_id=record_id,
        subject=subject,
        kind=CreditRecordKind.FALSE_COMMITMENT,
        severity=Severity.SERIOUS,
        decided_on=dt.date(2026, 5, 6),
    )


def test_a_pushed_record_comes_back_in_the_next_lookup(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db")
    source.set_grade(KNOWN, "A", city=CITY)
    before = source.read(KNOWN, city=CITY, at=AT)
    registry = FileCreditRegistry(tmp_path / "credit.db")
    message = outbox_message(
        "case-1/record",
        city=CITY,
        destination="registry:credit-file",
        payload=breach("F-1").to_dict(),
    )
    registry.push(message)
    after = source.read(KNOWN, city=CITY, at=AT + dt.timedelta(days=1))
    assert before.records == ()
    assert after.grade == "A"
    assert after.records == (breach("F-1"),)
    assert after.active_records(dt.date(2026, 6, 1)) == (breach("F-1"),)


def test_records_are_kept_per_city(tmp_path: Path) -> None:
    registry = FileCreditRegistry(tmp_path / "credit.db")
    payload = breach("F-2").to_dict()
    registry.push(outbox_message("k", city="330100", destination="registry:x", payload=payload))
    source = FileCreditSource(tmp_path / "credit.db")
    assert source.read(KNOWN, city=CITY, at=AT).records == ()
    assert [r.record_id for r in source.read(KNOWN, city="330100", at=AT).records] == ["F-2"]


def test_a_new_message_for_a_known_record_replaces_it(tmp_path: Path) -> None:
    registry = FileCreditRegistry(tmp_path / "credit.db")
    repaired = CreditRecord.from_dict({**breach("F-3").to_dict(), "repaired_on": "2027-06-01"})
    registry.push(
        outbox_message("k-1", city=CITY, destination="r", payload=breach("F-3").to_dict())
    )
    registry.push(outbox_message("k-2", city=CITY, destination="r", payload=repaired.to_dict()))
    records = FileCreditSource(tmp_path / "credit.db").read(KNOWN, city=CITY, at=AT).records
    assert records == (repaired,)


def test_records_come_oldest_first(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db")
    late = CreditRecord.from_dict({**breach("A-late").to_dict(), "decided_on": "2026-05-07"})
    source.add_record(late, city=CITY)
    source.add_record(breach("Z-early"), city=CITY)
    records = source.read(KNOWN, city=CITY, at=AT).records
    assert [r.record_id for r in records] == ["Z-early", "A-late"]


def test_an_unavailable_subject_simulates_an_outage(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db", unavailable={KNOWN})
    failure = source.lookup(KNOWN, city=CITY, at=AT)
    assert isinstance(failure, CreditLookupFailure)
    assert failure.category is FailureCategory.UNREACHABLE
    assert (failure.subject, failure.source, failure.attempted_at) == (KNOWN, "credit-file", AT)
    assert "simulated unreachable" in failure.reason
    assert isinstance(source.lookup(SUBJECT, city=CITY, at=AT), CreditEvidence)


def test_a_grade_off_the_scale_is_refused(tmp_path: Path) -> None:
    source = FileCreditSource(tmp_path / "credit.db", scale="samr-a-d")
    with pytest.raises(UnknownGrade, match="'E' is not on the 'samr-a-d' scale"):
        source.set_grade(KNOWN, "E", city=CITY)
    source.set_grade(KNOWN, "D", city=CITY)
    source.set_grade(KNOWN, None, city=CITY)
    assert source.read(KNOWN, city=CITY, at=AT).grade is None


def test_the_file_keeps_its_scale(tmp_path: Path) -> None:
    FileCreditSource(tmp_path / "credit.db")
    with pytest.raises(
        ValueError, match="holds grades on the 'yangzhou-a-e' scale, not 'samr-a-d'"
    ):
        FileCreditSource(tmp_path / "credit.db", scale="samr-a-d")


def test_an_unknown_scale_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown grade scale 'a-z' \(known: 'gbt-22116'"):
        FileCreditSource(tmp_path / "credit.db", scale="a-z")


def test_a_malformed_pushed_payload_names_the_message(tmp_path: Path) -> None:
    registry = FileCreditRegistry(tmp_path / "credit.db")
    payload = {**breach("F-4").to_dict(), "severity": "grave"}
    with pytest.raises(DataFileError) as info:
        registry.push(outbox_message("case-9/record", city=CITY, destination="r", payload=payload))
    assert info.value.source == "outbox message 'case-9/record'"
    assert info.value.problems[0].path == "severity"
    assert "expected one of 'minor', 'general', 'serious'" in info.value.problems[0].message


@given(
    keys=st.lists(st.sampled_from(["k1", "k2", "k3", "k4"]), max_size=12),
)
def test_each_message_key_takes_effect_once(keys: list[str]) -> None:
    # One record per key; a key pushed again (a redelivery) is ignored.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "credit.db"
        registry = FileCreditRegistry(path)
        for key in keys:
            payload = breach(f"rec-{key}").to_dict()
            registry.push(outbox_message(key, city=CITY, destination="r", payload=payload))
        records = FileCreditSource(path).read(KNOWN, city=CITY, at=AT).records
        assert sorted(r.record_id for r in records) == sorted({f"rec-{k}" for k in keys})


# --------------------------------------------------------------------------- CSV import

HEADER = ",".join(CSV_COLUMNS)


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_csv_loads_grades_and_records(tmp_path: Path) -> None:
    other = "91321000MA1BBBBBB" + uscc_check_char("91321000MA1BBBBBB")
    csv_file = write_csv(
        tmp_path,
        f"{HEADER}\n"
        f"{KNOWN},B,P-1,administrative_penalty,general,2026-01-10,,,,扬州市市场监管局,,\n"
        f"{KNOWN},B,P-2,dishonesty,serious,2025-03-01,6,36,2026-02-01,,some law,late filing\n"
        f"{other},a,,,,,,,,,,\n"
        f"{SUBJECT},,,,,,,,,,,\n",
    )
    source = FileCreditSource(tmp_path / "credit.db")
    assert source.import_csv(csv_file, city=CITY) == CsvImport(subjects=3, records=2)
    known = source.read(KNOWN, city=CITY, at=AT)
    assert known.grade == "B"
    p1, p2 = sorted(known.records, key=lambda r: r.record_id)
    assert (p1.min_publicity_months, p1.max_publicity_months) == (3, 12)  # general defaults
    assert p1.authority == "扬州市市场监管局"
    assert p1.legal_basis is None
    assert (p2.min_publicity_months, p2.max_publicity_months) == (6, 36)
    assert p2.repaired_on == dt.date(2026, 2, 1)
    assert p2.description == "late filing"
    assert source.read(other, city=CITY, at=AT).grade == "A"
    assert source.read(SUBJECT, city=CITY, at=AT).grade is None
    assert source.read(KNOWN, city="330100", at=AT).grade is None


def test_import_csv_accepts_only_the_subject_and_grade_columns(tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path, f"\ufeffgrade, subject\nC,{KNOWN}\n")
    source = FileCreditSource(tmp_path / "credit.db")
    assert source.import_csv(csv_file, city=CITY) == CsvImport(subjects=1, records=0)
    assert source.read(KNOWN, city=CITY, at=AT).grade == "C"


def test_import_csv_writes_nothing_when_a_row_is_wrong(tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path, f"subject,grade\n{KNOWN},A\n{SUBJECT},F\n")
    source = FileCreditSource(tmp_path / "credit.db")
    with pytest.raises(DataFileError):
        source.import_csv(csv_file, city=CITY)
    assert source.read(KNOWN, city=CITY, at=AT).grade is None


ROW = f"{KNOWN},B,P-1,dishonesty,general,2026-01-10,,,,,,"

CSV_CORPUS = [
    pytest.param("", "line[1]", "the file is empty; expected a header row", id="empty"),
    pytest.param(
        "subject,grade,colour\n",
        "line[1]",
        "unknown column 'colour' (allowed: subject",
        id="column",
    ),
    pytest.param("subject\n", "line[1]", "missing column 'grade'", id="no-grade-column"),
    pytest.param(
        "subject,grade,record_id\n", "line[1]", "missing column 'kind'", id="record-columns"
    ),
    pytest.param("subject,grade,grade\n", "line[1]", "column 'grade' appears twice", id="twice"),
    pytest.param(
        f"subject,grade\n{KNOWN}\n",
        "line[2]",
        "expected 2 fields (one per column), got 1",
        id="fields",
    ),
    pytest.param(
        "subject,grade\n,A\n", "line[2].subject", "expected a subject (e.g. a USCC)", id="subject"
    ),
    pytest.param(
        f"subject,grade\n\n{KNOWN},F\n",
        "line[3].grade",
        "grade 'F' is not on the 'yangzhou-a-e' scale (known: A, B, C, D, E)",
        id="grade",
    ),
    pytest.param(
        f"subject,grade\n{KNOWN},A\n{KNOWN},B\n",
        "line[3].grade",
        f"subject {KNOWN} has grade 'A' on line 2; every row of a subject must give the same",
        id="two-grades",
    ),
    pytest.param(
        f"{HEADER}\n{ROW}\n{ROW}\n",
        "line[3].record_id",
        "duplicate record id 'P-1' (first on line 2)",
        id="duplicate-record",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,,dishonesty,,,,,,,,\n",
        "line[2].record_id",
        "record fields (kind) need a record_id",
        id="no-record-id",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,P-1,,general,2026-01-10,,,,,,\n",
        "line[2].kind",
        "required for a record, got nothing",
        id="no-kind",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,P-1,fraud,general,2026-01-10,,,,,,\n",
        "line[2].kind",
        "expected one of 'dishonesty', 'serious_dishonesty_list'",
        id="kind",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,P-1,dishonesty,general,10/01/2026,,,,,,\n",
        "line[2].decided_on",
        "expected a date (YYYY-MM-DD), got string '10/01/2026'",
        id="date",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,P-1,dishonesty,general,2026-01-10,3,,,,,\n",
        "line[2].max_publicity_months",
        "give both publicity periods, or neither for the defaults",
        id="one-period",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,P-1,dishonesty,general,2026-01-10,three,12,,,,\n",
        "line[2].min_publicity_months",
        "expected a whole number of months, got 'three'",
        id="months",
    ),
    pytest.param(
        f"{HEADER}\n{KNOWN},B,P-1,dishonesty,general,2026-01-10,,,2025-01-01,,,\n",
        "line[2].repaired_on",
        "expected on or after decided_on (2026-01-10), got 2025-01-01",
        id="repaired-before-decided",
    ),
    pytest.param('subject,grade\n"unclosed,A\n', "line[", "not valid CSV", id="quote"),
]


@pytest.mark.parametrize(("text", "path", "message"), CSV_CORPUS)
def test_import_csv_reports_the_line_and_column(
    tmp_path: Path, text: str, path: str, message: str
) -> None:
    csv_file = write_csv(tmp_path, text)
    source = FileCreditSource(tmp_path / "credit.db")
    with pytest.raises(DataFileError) as info:
        source.import_csv(csv_file, city=CITY)
    assert info.value.source == str(csv_file)
    assert info.value.problems[0].path.startswith(path)
    assert message in info.value.problems[0].message


def test_import_csv_reports_every_problem(tmp_path: Path) -> None:
    csv_file = write_csv(tmp_path, f"subject,grade\n{KNOWN},F\n,A\n{SUBJECT},Z\n")
    with pytest.raises(DataFileError) as info:
        FileCreditSource(tmp_path / "credit.db").import_csv(csv_file, city=CITY)
    assert [p.path for p in info.value.problems] == [
        "line[2].grade",
        "line[3].subject",
        "line[4].grade",
    ]


def test_import_csv_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read file: No such file or directory"):
        FileCreditSource(tmp_path / "credit.db").import_csv(tmp_path / "nope.csv", city=CITY)


@given(
    grades=st.dictionaries(
        st.from_regex(r"91321000MA1[A-H]{6}", fullmatch=True).map(
            lambda first17: first17 + uscc_check_char(first17)
        ),
        st.sampled_from(["A", "B", "C", "D", "E", ""]),
        max_size=6,
    )
)
def test_import_csv_round_trips_grades(grades: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        rows = "".join(f"{subject},{grade}\n" for subject, grade in grades.items())
        path.write_text(f"subject,grade\n{rows}", encoding="utf-8")
        source = FileCreditSource(Path(tmp) / "credit.db")
        assert source.import_csv(path, city=CITY).subjects == len(grades)
        for subject, grade in grades.items():
            assert source.read(subject, city=CITY, at=AT).grade == (grade or None)


# --------------------------------------------------------------------------- licence file


def licence(reference: str, **changes: object) -> IssuedLicence:
    fields: dict[str, object] = {
        "reference": reference,
        "licence_type": "business-licence",
        "subject": KNOWN,
        "item_code": "X-1",
        "case_id": "case-1",
        "issued_on": dt.date(2026, 5, 6),
        "valid_until": None,
    }
    fields.update(changes)
    return IssuedLicence(**fields)  # type: ignore[arg-type]


def test_a_licence_without_end_stays_valid(tmp_path: Path) -> None:
    store = FileLicenceStore(tmp_path / "licences.db")
    store.record(licence("L-1"), city=CITY)
    held = store.holdings(KNOWN, city=CITY, on=dt.date(2040, 1, 1))
    assert [(h.reference, h.valid_until) for h in held] == [("L-1", None)]


def test_a_withdrawn_licence_was_held_before_the_withdrawal(tmp_path: Path) -> None:
    store = FileLicenceStore(tmp_path / "licences.db")
    store.record(licence("L-1"), city=CITY)
    store.withdraw("L-1", city=CITY, holder=KNOWN, on=dt.date(2026, 7, 1), reason="revoked")
    store.withdraw("L-1", city=CITY, holder=KNOWN, on=dt.date(2026, 8, 1), reason="again")
    assert len(store.holdings(KNOWN, city=CITY, on=dt.date(2026, 6, 30))) == 1
    assert store.holdings(KNOWN, city=CITY, on=dt.date(2026, 7, 1)) == ()


def test_licences_are_kept_per_city(tmp_path: Path) -> None:
    store = FileLicenceStore(tmp_path / "licences.db")
    store.record(licence("L-1"), city="330100")
    assert store.holdings(KNOWN, city=CITY, on=dt.date(2026, 6, 1)) == ()
    with pytest.raises(UnknownLicence, match="no licence 'L-1' is recorded for city 321000"):
        store.withdraw("L-1", city=CITY, holder=KNOWN, on=dt.date(2026, 7, 1), reason="revoked")


def test_another_licence_under_a_used_reference_is_refused(tmp_path: Path) -> None:
    store = FileLicenceStore(tmp_path / "licences.db")
    store.record(licence("L-1"), city=CITY)
    with pytest.raises(DuplicateLicence) as raised:
        store.record(licence("L-1", subject=SUBJECT, case_id="case-2"), city=CITY)
    assert (raised.value.reference, raised.value.city) == ("L-1", CITY)
    assert (raised.value.holder, raised.value.case_id) == (KNOWN, "case-1")
    assert str(raised.value) == (
        "licence number 'L-1' is already used in city 321000 (case case-1, holder "
        f"{KNOWN}); a licence number must be unique in its city: give another reference"
    )
    store.record(licence("L-1"), city=CITY)  # the identical licence again: a no-op
    assert [h.reference for h in store.holdings(KNOWN, city=CITY, on=dt.date(2026, 6, 1))] == [
        "L-1"
    ]
    assert store.holdings(SUBJECT, city=CITY, on=dt.date(2026, 6, 1)) == ()


def test_another_holders_licence_is_never_withdrawn(tmp_path: Path) -> None:
    store = FileLicenceStore(tmp_path / "licences.db")
    store.record(licence("L-1"), city=CITY)
    with pytest.raises(LicenceHolderMismatch) as raised:
        store.withdraw("L-1", city=CITY, holder=SUBJECT, on=dt.date(2026, 7, 1), reason="revoked")
    assert (raised.value.holder, raised.value.recorded_holder) == (SUBJECT, KNOWN)
    assert str(raised.value) == (
        f"licence 'L-1' of city 321000 is held by {KNOWN}, not by {SUBJECT}: another "
        "holder's licence is never withdrawn; check the reference"
    )
    assert len(store.holdings(KNOWN, city=CITY, on=dt.date(2026, 7, 1))) == 1


# --------------------------------------------------------------------------- JSON lines


def message_to(key: str, payload: dict[str, object] | None = None) -> object:
    return outbox_message(key, city=CITY, destination="channel:jsonl", payload=payload)


def test_a_published_line_holds_the_whole_message(tmp_path: Path) -> None:
    channel = JsonLinesChannel(tmp_path / "out.jsonl")
    message = outbox_message(
        "pub-1",
        city=CITY,
        destination="channel:jsonl",
        payload={"名称": "许可", "n": [1, {"a": 2}]},
    )
    channel.publish(message)
    line = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert line == {
        "key": "pub-1",
        "destination": "channel:jsonl",
        "topic": "contract",
        "city": CITY,
        "created_at": "2026-05-06T09:30:00+08:00",
        "payload": {"名称": "许可", "n": [1, {"a": 2}]},
    }
    assert channel.messages() == (message,)


def test_a_reopened_channel_remembers_the_keys(tmp_path: Path) -> None:
    JsonLinesChannel(tmp_path / "out.jsonl").publish(
        outbox_message("a", city=CITY, destination="c")
    )
    again = JsonLinesChannel(tmp_path / "out.jsonl")
    assert again.keys() == {"a"}
    again.publish(outbox_message("a", city=CITY, destination="c"))
    again.publish(outbox_message("b", city=CITY, destination="c"))
    assert [m.key for m in again.messages()] == ["a", "b"]


def test_two_channels_on_one_file_write_each_key_once(tmp_path: Path) -> None:
    first = JsonLinesChannel(tmp_path / "out.jsonl")
    second = JsonLinesChannel(tmp_path / "out.jsonl")
    first.publish(outbox_message("a", city=CITY, destination="c"))
    second.publish(outbox_message("a", city=CITY, destination="c"))
    second.publish(outbox_message("b", city=CITY, destination="c"))
    first.publish(outbox_message("b", city=CITY, destination="c"))
    assert [m.key for m in first.messages()] == ["a", "b"]


def test_a_torn_last_line_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    JsonLinesChannel(path).publish(outbox_message("a", city=CITY, destination="c"))
    with open(path, "ab") as fh:
        fh.write(b'{"key": "b", "destin')  # a crash in the middle of a write
    channel = JsonLinesChannel(path)
    assert channel.keys() == {"a"}
    assert [m.key for m in channel.messages()] == ["a"]
    channel.publish(outbox_message("b", city=CITY, destination="c"))
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["a", "b"]


def test_a_line_that_is_not_a_message_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"key": "a"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        JsonLinesChannel(path)
    assert str(info.value) == f"{path}: line[2]: expected a JSON object with a string key"


def test_a_line_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"line\[1\]: not JSON"):
        JsonLinesChannel(path)


@given(keys=st.lists(st.sampled_from("abcdef"), max_size=15))
def test_the_file_holds_each_key_once_in_first_seen_order(keys: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        channel = JsonLinesChannel(Path(tmp) / "out.jsonl")
        for key in keys:
            channel.publish(outbox_message(key, city=CITY, destination="c"))
        assert [m.key for m in channel.messages()] == list(dict.fromkeys(keys))


# --------------------------------------------------------------------------- the plugin


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.from_dict(
        {
            "city": CITY,
            "plugins": {
                "builtin": {
                    "credit": "c.db",
                    "credit_scale": "samr-a-d",
                    "unavailable_subjects": [KNOWN],
                    "licences": "l.db",
                    "channel": "out.jsonl",
                    "channel_name": "website",
                }
            },
        },
        root=tmp_path,
    )


def test_the_builtin_plugin_serves_the_configured_city(config: Config, tmp_path: Path) -> None:
    settings = config.plugins
    source = builtin_plugin.creditcommit_credit_source(city=CITY, settings=settings)
    registry = builtin_plugin.creditcommit_credit_registry(city=CITY, settings=settings)
    store = builtin_plugin.creditcommit_licence_store(city=CITY, settings=settings)
    channels = builtin_plugin.creditcommit_publishing_channels(city=CITY, settings=settings)
    assert source is not None
    assert (source.path, source.scale.name, source.unavailable) == (
        tmp_path / "c.db",
        "samr-a-d",
        frozenset({KNOWN}),
    )
    assert registry is not None
    assert registry.path == tmp_path / "c.db"
    assert store is not None
    assert store.path == tmp_path / "l.db"
    assert channels is not None
    assert [(c.path, c.name) for c in channels] == [(tmp_path / "out.jsonl", "website")]


def test_the_builtin_plugin_does_not_serve_other_cities(config: Config) -> None:
    settings = config.plugins
    assert builtin_plugin.creditcommit_credit_source(city="330100", settings=settings) is None
    assert builtin_plugin.creditcommit_credit_registry(city="330100", settings=settings) is None
    assert builtin_plugin.creditcommit_licence_store(city="330100", settings=settings) is None
    assert builtin_plugin.creditcommit_publishing_channels(city="330100", settings=settings) is None


def test_the_builtin_plugin_opens_sqlite_urls_only(tmp_path: Path) -> None:
    assert builtin_plugin.creditcommit_event_store(url="postgresql://db/cases") is None
    store = builtin_plugin.creditcommit_event_store(url=f"sqlite://{tmp_path}/cases.db")
    assert store is not None
    try:
        assert (tmp_path / "cases.db").exists()
    finally:
        store.close()


def test_a_withdrawal_queued_without_a_holder_is_not_delivered(tmp_path: Path) -> None:
    store = FileLicenceStore(tmp_path / "licences.db")
    store.record(licence("L-1"), city=CITY)
    old = outbox_message(
        "case-1/licence-withdrawn/L-1",
        city=CITY,
        destination="licences:licence-file",
        topic="licence-withdrawn",
        payload={"reference": "L-1", "withdrawn_on": "2026-07-01", "reason": "revoked"},
    )
    with pytest.raises(ValueError, match="names no holder"):
        Destinations.of(store).route(old.destination)(old)
    assert len(store.holdings(KNOWN, city=CITY, on=dt.date(2026, 7, 2))) == 1
