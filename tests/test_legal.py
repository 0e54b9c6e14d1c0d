"""Every legal reference in the bundled data names a dated instrument, used only while in force.

The instrument registry (``data/instruments.toml``) gives each instrument the days it is in
force. These tests walk everything the library ships that cites the law — the national and
sample policies, the sample catalogue, the reason catalogue, the supervision and case
constants, the credit-record publicity periods and the commitment templates — and check
that each citation names a registered instrument and is not used outside its days.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from creditcommit import case, commitments, supervision
from creditcommit.catalog import Catalog
from creditcommit.credit import PUBLICITY_PERIODS, Severity, publicity_periods
from creditcommit.effective import Dated, Instrument, LegalReference
from creditcommit.policy import SETTINGS, Policy, bundled_instruments
from creditcommit.reasons import GUOBAN_2020_42, REASONS

D = dt.date
DATA = Path(__file__).parents[1] / "src" / "creditcommit" / "data"
POLICY_FILES = sorted(DATA.glob("policy-*.toml"))
# Forms and documents named in 《》 that are not legal instruments.
FORMS = {"信用承诺书", "信用承诺告知书"}


def policy_citations(policy: Policy) -> Iterator[tuple[str, LegalReference, dt.date, Any]]:
    """(setting, reference, start, end) for every entry of every setting, nested rules too."""
    for setting in SETTINGS:
        timeline = policy.timeline(setting)
        for entry, (start, end) in zip(timeline, timeline.spans(), strict=True):
            if entry.reference is not None:
                yield setting, entry.reference, start, end
            if isinstance(entry.value, tuple):
                for rule in entry.value:
                    ref = getattr(rule, "reference", None)
                    if isinstance(ref, LegalReference):
                        yield setting, ref, start, end


def catalogue_citations() -> Iterator[tuple[str, LegalReference, dt.date]]:
    catalog = Catalog.sample()
    for code in catalog.codes():
        for entry in catalog.timeline(code):
            item = entry.value
            for ref in item.legal_basis:
                yield item.code, ref, item.valid_from
            for material in item.materials:
                if material.legal_basis is not None:
                    yield f"{item.code}/{material.code}", material.legal_basis, item.valid_from


def constant_citations() -> list[LegalReference]:
    refs = [ref for template in REASONS.values() for ref in template.references]
    refs += [
        GUOBAN_2020_42,
        supervision.ART_34,
        supervision.ART_69_PARA_1_4,
        supervision.ART_69_PARA_2,
        supervision.ART_69_PARA_3,
        case.ART_45,
        commitments.COMMITMENT_PUBLICITY_BASIS,
    ]
    refs += [entry.reference for entry in PUBLICITY_PERIODS if entry.reference is not None]
    return refs


def template_names() -> list[str]:
    text = (
        importlib.resources.files("creditcommit")
        .joinpath("data/templates/commitments.toml")
        .read_text(encoding="utf-8")
    )
    return sorted({name for name in re.findall(r"《([^》]+)》", text) if "$" not in name} - FORMS)


@pytest.mark.parametrize("path", POLICY_FILES, ids=[p.name for p in POLICY_FILES])
def test_every_policy_reference_names_a_dated_instrument_in_force(path: Path) -> None:
    registry = bundled_instruments()
    policy = Policy.from_toml(path)
    cited = list(policy_citations(policy))
    assert cited, path
    for setting, ref, start, end in cited:
        instrument = registry.find(ref)
        assert instrument is not None, f"{path.name} {setting}: {ref.instrument} is not registered"
        assert registry.problem(ref, start, end) is None, (path.name, setting, ref)
        assert instrument.start <= start


def test_the_sample_policy_cites_nothing_outside_its_days_in_any_place() -> None:
    registry = bundled_instruments()
    catalog = Catalog.sample()
    sample = Policy.sample()
    views = [sample] + [sample.view(item=item) for item in catalog.items(D(2025, 9, 26))]
    for view in views:
        for setting, ref, start, end in policy_citations(view):
            assert registry.problem(ref, start, end) is None, (view.jurisdiction, setting, ref)


def test_every_catalogue_reference_names_an_instrument_in_force_from_the_item() -> None:
    registry = bundled_instruments()
    for where, ref, valid_from in catalogue_citations():
        instrument = registry.find(ref)
        assert instrument is not None, f"{where}: {ref.instrument} is not registered"
        assert instrument.in_force(valid_from), (where, ref)


def test_every_constant_reference_names_a_registered_instrument() -> None:
    registry = bundled_instruments()
    for ref in constant_citations():
        assert registry.find(ref) is not None, ref.instrument


def test_every_instrument_in_the_templates_is_registered() -> None:
    registry = bundled_instruments()
    names = template_names()
    assert "中华人民共和国行政许可法" in names
    for name in names:
        assert registry.find(name) is not None, name


def test_publicity_periods_cite_instruments_in_force_on_their_days() -> None:
    registry = bundled_instruments()
    for entry, (start, end) in zip(PUBLICITY_PERIODS, PUBLICITY_PERIODS.spans(), strict=True):
        assert entry.reference is not None
        assert registry.problem(entry.reference, start, end) is None, entry.reference


@pytest.mark.parametrize(
    ("day", "number", "serious"),
    [
        (D(2022, 3, 1), "发改办财金〔2019〕527号", (6, 36)),
        (D(2023, 4, 30), "发改办财金〔2019〕527号", (6, 36)),
        (D(2023, 5, 1), "国家发展改革委令第58号", (12, 36)),
        (D(2026, 3, 31), "国家发展改革委令第58号", (12, 36)),
        (D(2026, 4, 1), "国家发展改革委令第36号", (12, 36)),
        (D(2026, 5, 6), "国家发展改革委令第36号", (12, 36)),
    ],
)
def test_records_take_the_periods_of_their_decision_day(
    day: dt.date, number: str, serious: tuple[int, int]
) -> None:
    found: Dated[Any] = publicity_periods(day)
    assert found.reference is not None
    assert number in found.reference.instrument
    period = found.value[Severity.SERIOUS]
    assert (period.min_months, period.max_months) == serious


def test_registry_dates_are_consistent() -> None:
    registry = bundled_instruments()
    for instrument in registry.instruments:
        assert isinstance(instrument, Instrument)
        assert instrument.end is None or instrument.end > instrument.start
        # Local sample instruments say so in their name.
        if "扬州" in instrument.title and "江都" not in instrument.title:
            assert "示例" in instrument.title
    # The NDRC repair rules follow one another without a gap.
    order_58 = registry.find("失信行为纠正后的信用信息修复管理办法（试行）")
    order_36 = registry.find("信用修复管理办法")
    assert order_58 is not None
    assert order_36 is not None
    assert order_58.end == order_36.start == D(2026, 4, 1)


def test_an_imported_record_without_periods_takes_those_of_its_decision_day(
    tmp_path: Path,
) -> None:
    from creditcommit.builtin import FileCreditSource
    from creditcommit.builtin.credit_file import CSV_COLUMNS
    from creditcommit.identifiers import uscc_check_char

    subject = "91321084MA1LEGAL0" + uscc_check_char("91321084MA1LEGAL0")
    export = tmp_path / "export.csv"
    export.write_text(
        ",".join(CSV_COLUMNS)
        + "\n"
        + f"{subject},B,S-1,administrative_penalty,serious,2022-03-01,,,,,,\n"
        + f"{subject},B,S-2,administrative_penalty,serious,2023-06-01,,,,,,\n",
        encoding="utf-8",
    )
    source = FileCreditSource(tmp_path / "credit.db")
    source.import_csv(export, city="321000")
    at = dt.datetime(2023, 7, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    found = source.read(subject, city="321000", at=at)
    by_id = {record.record_id: record for record in found.records}
    # 527号 before 2023-05-01 (serious from 6 months), Order No. 58 after (from 12).
    assert by_id["S-1"].min_publicity_months == 6
    assert by_id["S-2"].min_publicity_months == 12
    assert "527号" in str(by_id["S-1"].publicity_basis)
