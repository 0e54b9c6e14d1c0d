"""The working-day calendar: package data, overrides, coverage and deadline arithmetic."""

from __future__ import annotations

import datetime as dt
import importlib.resources
from pathlib import Path

import attrs
import chinese_calendar
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from creditcommit.calendar import WorkingCalendar
from creditcommit.errors import CalendarCoverageError, DataFileError, Problem

D = dt.date
DATA = Path(__file__).parent / "data" / "calendar"
FIRST, LAST = D(2004, 1, 1), D(2026, 12, 31)

CHINA = WorkingCalendar.china()
WITH_2027 = CHINA.with_override(DATA / "valid-2027.toml")

covered_days = st.dates(min_value=FIRST, max_value=LAST)
# 2004-2026 has about 5,600 working days: large counts also reach past the covered years.
counts = st.one_of(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=6000))
# Far enough from the end for the day-by-day reference loop to stay inside the package data.
early_days = st.dates(min_value=FIRST, max_value=LAST - dt.timedelta(days=400))


def naive_add(start: dt.date, n: int) -> dt.date:
    """Day-by-day reference implementation on the package's own ``is_workday``."""
    day, counted = start, 0
    while counted < n:
        day += dt.timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    return day


# --- package data ----------------------------------------------------------------------------


def test_china_covers_the_package_years() -> None:
    assert CHINA.years == tuple(range(2004, 2027))
    assert CHINA.covers(2004)
    assert CHINA.covers(2026)
    assert not CHINA.covers(2003)
    assert not CHINA.covers(2027)


def test_china_is_built_once() -> None:
    assert WorkingCalendar.china() is WorkingCalendar.china()


def test_provenance_names_the_package_version() -> None:
    assert CHINA.provenance == ("chinesecalendar 1.11.0 (2004-2026)",)
    assert repr(CHINA) == (
        "WorkingCalendar(2004-2026, provenance=('chinesecalendar 1.11.0 (2004-2026)',))"
    )


def test_calendar_is_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        CHINA._years = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Crosses make-up Sunday 09-28, the 8-day National Day break, make-up Saturday 10-11.
        (D(2025, 9, 26), 20, D(2025, 10, 30)),
        # Crosses make-up Saturdays 02-14 and 02-28 and the 9-day Spring Festival.
        (D(2026, 1, 30), 20, D(2026, 3, 5)),
        # A 双公示 7-working-day deadline across National Day.
        (D(2025, 9, 29), 7, D(2025, 10, 15)),
    ],
)
def test_domain_test_vectors(start: dt.date, n: int, expected: dt.date) -> None:
    assert CHINA.add_working_days(start, n) == expected
    assert CHINA.working_days_between(start, expected) == n


@pytest.mark.parametrize(
    "day",
    [
        *(D(2025, m, d) for m, d in [(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)]),
        *(D(2026, m, d) for m, d in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]),
    ],
)
def test_make_up_days_are_working_days(day: dt.date) -> None:
    assert day.weekday() >= 5
    assert CHINA.is_working_day(day)


@pytest.mark.parametrize("day", [D(2025, 10, d) for d in range(1, 9)])
def test_national_day_2025_is_not_working(day: dt.date) -> None:
    assert not CHINA.is_working_day(day)


def test_ordinary_weekdays_and_weekends() -> None:
    assert CHINA.is_working_day(D(2025, 10, 9))  # Thursday
    assert not CHINA.is_working_day(D(2025, 10, 12))  # Sunday


def test_agrees_with_the_package_on_every_covered_day() -> None:
    day = FIRST
    while day <= LAST:
        assert CHINA.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


# --- rules of counting -----------------------------------------------------------------------


def test_start_day_is_not_counted() -> None:
    # Thursday 2025-10-09 is a working day; one working day later is Friday.
    assert CHINA.add_working_days(D(2025, 10, 9), 1) == D(2025, 10, 10)


def test_zero_working_days_is_the_same_day_even_on_a_holiday() -> None:
    assert CHINA.add_working_days(D(2025, 10, 1), 0) == D(2025, 10, 1)


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^cannot add a negative number of working days \(-1\)$"):
        CHINA.add_working_days(D(2025, 10, 9), -1)


def test_count_must_be_an_integer() -> None:
    with pytest.raises(TypeError):
        CHINA.add_working_days(D(2025, 10, 9), 1.5)  # type: ignore[arg-type]


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^end 2025-10-01 is before start 2025-10-02$"):
        CHINA.working_days_between(D(2025, 10, 2), D(2025, 10, 1))


def test_next_working_day_and_on_or_after() -> None:
    assert CHINA.next_working_day(D(2025, 9, 30)) == D(2025, 10, 9)
    assert CHINA.next_working_day(D(2025, 10, 9)) == D(2025, 10, 10)
    assert CHINA.on_or_after(D(2025, 10, 3)) == D(2025, 10, 9)  # Civil Code Art 203
    assert CHINA.on_or_after(D(2025, 10, 9)) == D(2025, 10, 9)


# --- coverage --------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [D(2003, 12, 31), D(2027, 1, 4)])
def test_days_without_data_raise(day: dt.date) -> None:
    with pytest.raises(CalendarCoverageError) as info:
        CHINA.is_working_day(day)
    assert info.value.year == day.year
    assert info.value.covered == (2004, 2026)
    assert str(info.value) == (
        f"no official holiday data for {day.year} (data covers 2004-2026); load the year's "
        "State Council notice as a calendar override or upgrade the holiday data"
    )


def test_crossing_into_an_uncovered_year_raises() -> None:
    with pytest.raises(CalendarCoverageError) as info:
        CHINA.add_working_days(D(2026, 12, 20), 20)
    assert info.value.year == 2027


def test_the_last_covered_working_day_can_be_reached() -> None:
    assert CHINA.add_working_days(D(2026, 12, 30), 1) == D(2026, 12, 31)
    with pytest.raises(CalendarCoverageError, match="2027"):
        CHINA.next_working_day(D(2026, 12, 31))


def test_start_in_an_uncovered_year_raises_even_for_zero() -> None:
    with pytest.raises(CalendarCoverageError) as info:
        CHINA.add_working_days(D(2003, 12, 31), 0)
    assert info.value.year == 2003


def test_counting_into_an_uncovered_year_raises() -> None:
    with pytest.raises(CalendarCoverageError) as info:
        CHINA.working_days_between(D(2026, 12, 1), D(2027, 1, 10))
    assert info.value.year == 2027


# --- overrides -------------------------------------------------------------------------------


def test_override_makes_2027_computable() -> None:
    assert WITH_2027.years == tuple(range(2004, 2028))
    # 5 (Dec 21-25) + make-up Sun Dec 27 + 3 (Dec 28-30), break Dec 31-Jan 3,
    # + 5 (Jan 4-8) + 5 (Jan 11-15) + Mon Jan 18 = 20.
    assert WITH_2027.add_working_days(D(2026, 12, 20), 20) == D(2027, 1, 18)
    assert WITH_2027.is_working_day(D(2027, 2, 14))  # make-up Sunday
    assert not WITH_2027.is_working_day(D(2027, 2, 8))  # Monday inside 春节
    assert not WITH_2027.is_working_day(D(2027, 6, 9))  # one-day holiday without `end`
    assert WITH_2027.is_working_day(D(2027, 6, 10))


def test_override_sets_the_days_it_names_in_the_previous_december() -> None:
    assert CHINA.is_working_day(D(2026, 12, 31))
    assert not WITH_2027.is_working_day(D(2026, 12, 31))
    assert not CHINA.is_working_day(D(2026, 12, 27))
    assert WITH_2027.is_working_day(D(2026, 12, 27))
    assert WITH_2027.is_working_day(D(2026, 12, 30))  # not named: package data kept


def test_override_provenance_cites_the_notice() -> None:
    assert WITH_2027.provenance == (
        "chinesecalendar 1.11.0 (2004-2026)",
        "override valid-2027.toml (2027): Test notice for 2027 (made up)",
    )


def test_override_replaces_a_year_of_package_data() -> None:
    replaced = CHINA.with_override(DATA / "replace-2026.toml")
    assert replaced.is_working_day(D(2026, 10, 1))  # no National Day in the made-up file
    assert not replaced.is_working_day(D(2026, 1, 1))
    assert not replaced.is_working_day(D(2026, 2, 14))  # its make-up Saturday is gone
    assert replaced.is_working_day(D(2025, 2, 8)) == CHINA.is_working_day(D(2025, 2, 8))
    assert replaced.provenance == (
        "chinesecalendar 1.11.0 (2004-2025)",
        "override replace-2026.toml (2026): Test notice for 2026 (made up)",
    )


def test_overrides_are_values() -> None:
    assert CHINA.with_override(DATA / "valid-2027.toml") == WITH_2027
    assert WITH_2027 != CHINA


def test_from_overrides_only() -> None:
    alone = WorkingCalendar.from_overrides(DATA / "valid-2027.toml")
    assert alone.years == (2027,)
    assert alone.add_working_days(D(2027, 1, 3), 1) == D(2027, 1, 4)
    with pytest.raises(CalendarCoverageError) as info:
        alone.is_working_day(D(2026, 12, 31))
    assert info.value.covered == (2027, 2027)


def test_from_overrides_needs_a_source() -> None:
    with pytest.raises(ValueError, match=r"^from_overrides needs at least one override"):
        WorkingCalendar.from_overrides()


def test_override_from_a_mapping() -> None:
    data = {
        "years": [
            {
                "year": 2027,
                "notice": "Test notice",
                "holidays": [{"name": "元旦", "start": "2027-01-01"}],
            }
        ]
    }
    calendar = WorkingCalendar.from_overrides(data)
    assert not calendar.is_working_day(D(2027, 1, 1))
    assert calendar.provenance == ("override <dict> (2027): Test notice",)
    named = CHINA.with_override(data, name="notice-2027")
    assert named.provenance[-1] == "override notice-2027 (2027): Test notice"


def test_mapping_errors_name_the_mapping() -> None:
    with pytest.raises(DataFileError) as info:
        CHINA.with_override({"years": []})
    assert info.value.source == "<dict>"
    assert info.value.problems == (Problem("years", "expected at least one [[years]] entry"),)


def test_override_without_a_gap_between_files() -> None:
    data_2028 = {"years": [{"year": 2028, "notice": "Test notice", "holidays": []}]}
    calendar = WITH_2027.with_override(data_2028)
    assert calendar.years[-1] == 2028


def test_override_before_the_covered_years_must_not_leave_a_gap() -> None:
    data_2002 = {"years": [{"year": 2002, "notice": "Test notice", "holidays": []}]}
    with pytest.raises(DataFileError) as info:
        CHINA.with_override(data_2002)
    assert info.value.problems == (
        Problem(
            "years[0].year",
            "2002 would leave 2003 without data (the calendar covers 2004-2026); "
            "a calendar must cover consecutive years",
        ),
    )


def test_example_file_in_the_package_loads() -> None:
    example = importlib.resources.files("creditcommit") / "data" / "calendar-2027.example.toml"
    with importlib.resources.as_file(example) as path:
        calendar = CHINA.with_override(path)
    assert calendar.covers(2027)
    assert "NOT OFFICIAL" in calendar.provenance[-1]


def test_invariants_of_the_initializer() -> None:
    with pytest.raises(ValueError, match="consecutive"):
        WorkingCalendar(
            years=(2004, 2006),
            origins=CHINA._origins[:2],
            days_off=frozenset(),
            make_up=frozenset(),
        )
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar(
            years=(2004,),
            origins=CHINA._origins[:1],
            days_off=frozenset(),
            make_up=frozenset({D(2004, 1, 5)}),
        )


MALFORMED = [
    ("not-toml.toml", "", "not valid TOML: Illegal character '\\n' (at line 4, column 23)"),
    ("wrong-type.toml", "years[0].year", "expected an integer, got string '2027'"),
    (
        "unknown-key.toml",
        "years[0]",
        "unknown key 'make_up' (allowed: year, notice, holidays, workdays, url)",
    ),
    ("missing-notice.toml", "years[0].notice", "required key is missing"),
    (
        "empty-notice.toml",
        "years[0].notice",
        "expected the title of the State Council notice (通知), got an empty string",
    ),
    ("no-years.toml", "years", "expected at least one [[years]] entry"),
    ("year-out-of-range.toml", "years[0].year", "expected a year from 2 to 9998, got 0"),
    ("duplicate-year.toml", "years[1].year", "year 2027 is already given in years[0]"),
    (
        "gap-year.toml",
        "years[0].year",
        "2028 would leave 2027 without data (the calendar covers 2004-2026); "
        "a calendar must cover consecutive years",
    ),
    (
        "holiday-outside-year.toml",
        "years[0].holidays[0].end",
        "2028-01-01 is outside 2027; the notice for 2027 may only name days of 2027 and of "
        "December 2026",
    ),
    (
        "workday-outside-year.toml",
        "years[0].workdays[1]",
        "2026-06-06 is outside 2027; the notice for 2027 may only name days of 2027 and of "
        "December 2026",
    ),
    (
        "end-before-start.toml",
        "years[0].holidays[0].end",
        "end 2027-02-05 is before start 2027-02-13",
    ),
    (
        "empty-holiday-name.toml",
        "years[0].holidays[0].name",
        "expected a holiday name, got an empty string",
    ),
    (
        "overlapping-holidays.toml",
        "years[0].holidays[1]",
        "overlaps holidays[0] (中秋节) on 2027-10-01",
    ),
    (
        "workday-not-weekend.toml",
        "years[0].workdays[2]",
        "2027-02-22 is a Monday; a make-up working day (调休上班) must be a Saturday or Sunday",
    ),
    (
        "workday-in-holiday.toml",
        "years[0].workdays[0]",
        "2027-02-06 is also a holiday in holidays[0] (春节)",
    ),
    ("duplicate-workday.toml", "years[0].workdays[1]", "2027-02-14 is listed twice (workdays[0])"),
]


@pytest.mark.parametrize(("name", "path", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_override(name: str, path: str, message: str) -> None:
    source = DATA / name
    with pytest.raises(DataFileError) as info:
        CHINA.with_override(source)
    assert info.value.source == str(source)
    assert info.value.problems == (Problem(path, message),)


def test_every_problem_of_a_file_is_reported() -> None:
    with pytest.raises(DataFileError) as info:
        CHINA.with_override(DATA / "many-problems.toml")
    assert [str(p) for p in info.value.problems] == [
        "years[0].notice: expected the title of the State Council notice (通知), "
        "got an empty string",
        "years[0].holidays[0].end: end 2027-02-05 is before start 2027-02-13",
        "years[0].workdays[0]: 2027-02-22 is a Monday; a make-up working day (调休上班) "
        "must be a Saturday or Sunday",
    ]


def test_missing_file() -> None:
    with pytest.raises(DataFileError) as info:
        CHINA.with_override(DATA / "no-such-file.toml")
    assert info.value.problems == (Problem("", "cannot read file: No such file or directory"),)


# --- properties ------------------------------------------------------------------------------


def add_or_none(start: dt.date, n: int) -> dt.date | None:
    """``add_working_days`` or None when the result would leave the covered years."""
    if CHINA.working_days_between(start, LAST) >= n:
        return CHINA.add_working_days(start, n)
    with pytest.raises(CalendarCoverageError) as info:
        CHINA.add_working_days(start, n)
    assert info.value.year == 2027
    return None


@given(covered_days, counts)
def test_result_is_a_later_working_day(start: dt.date, n: int) -> None:
    assume(n >= 1)
    end = add_or_none(start, n)
    if end is None:
        return
    assert end > start
    assert CHINA.is_working_day(end)


@given(covered_days, counts)
def test_between_inverts_add(start: dt.date, n: int) -> None:
    end = add_or_none(start, n)
    if end is not None:
        assert CHINA.working_days_between(start, end) == n


@given(covered_days, st.integers(0, 400), st.integers(0, 400))
def test_add_is_monotonic_in_n(start: dt.date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    end_low, end_high = add_or_none(start, low), add_or_none(start, high)
    if end_high is None:
        return
    assert end_low is not None  # fewer days cannot leave the covered years
    assert end_low <= end_high
    if low < high:
        assert end_low < end_high


@given(covered_days, st.integers(1, 400), st.integers(1, 400))
def test_add_is_additive(start: dt.date, a: int, b: int) -> None:
    middle = add_or_none(start, a)
    if middle is None:
        return
    whole = add_or_none(start, a + b)
    if whole is None:
        with pytest.raises(CalendarCoverageError):
            CHINA.add_working_days(middle, b)
    else:
        assert CHINA.add_working_days(middle, b) == whole


@given(st.lists(covered_days, min_size=3, max_size=3))
def test_between_is_additive_over_split_points(days: list[dt.date]) -> None:
    a, b, c = sorted(days)
    assert CHINA.working_days_between(a, c) == (
        CHINA.working_days_between(a, b) + CHINA.working_days_between(b, c)
    )


@given(early_days, st.integers(0, 200))
def test_fast_path_agrees_with_a_day_by_day_loop(start: dt.date, n: int) -> None:
    assert CHINA.add_working_days(start, n) == naive_add(start, n)


@given(early_days)
def test_next_working_day_agrees_with_a_day_by_day_loop(day: dt.date) -> None:
    assert CHINA.next_working_day(day) == naive_add(day, 1)


@given(early_days)
def test_on_or_after_is_the_first_working_day_from_day(day: dt.date) -> None:
    found = CHINA.on_or_after(day)
    assert found == naive_add(day - dt.timedelta(days=1), 1)
    assert (found == day) == CHINA.is_working_day(day)


# --- the calendar's edge: coverage status -------------------------------------------------

EXAMPLE_2027 = importlib.resources.files("creditcommit") / "data" / "calendar-2027.example.toml"


def test_the_last_covered_day_and_the_warning_from_60_days_before_it() -> None:
    assert CHINA.last_day == dt.date(2026, 12, 31)
    quiet = CHINA.coverage(dt.date(2026, 10, 31))
    assert (quiet.last_day, quiet.days_left, quiet.warning) == (dt.date(2026, 12, 31), 61, None)
    assert CHINA.coverage(dt.date(2026, 11, 1)).warning is not None  # 60 days before
    status = CHINA.coverage(dt.date(2026, 12, 7))
    assert (status.days_left, status.expired) == (24, False)
    assert status.warning == (
        "the working-day calendar ends on 2026-12-31, in 24 days: deadlines after that day "
        "cannot be computed and commands that need one fail; load the State Council notice "
        "for 2027 as a calendar override (docs/calendar.md) or upgrade the holiday data"
    )
    late = CHINA.coverage(dt.date(2027, 1, 5))
    assert (late.days_left, late.expired) == (-5, True)
    assert late.warning is not None
    assert late.warning.startswith("the working-day calendar ended on 2026-12-31, 5 days ago:")


@given(
    st.dates(dt.date(2026, 1, 1), dt.date(2027, 3, 1)),
    st.integers(0, 120),
)
def test_the_warning_starts_exactly_warn_days_before_the_last_day(
    today: dt.date, warn_days: int
) -> None:
    status = CHINA.coverage(today, warn_days=warn_days)
    assert status.days_left == (dt.date(2026, 12, 31) - today).days
    last = dt.date(2026, 12, 31)
    assert (status.warning is not None) == (today >= last - dt.timedelta(warn_days))


def test_loading_next_years_notice_moves_the_edge() -> None:
    with importlib.resources.as_file(EXAMPLE_2027) as path:
        extended = CHINA.with_override(path)
    assert extended.last_day == dt.date(2027, 12, 31)
    assert extended.coverage(dt.date(2026, 12, 7)).warning is None


def test_a_malformed_override_file_names_the_file_and_each_path(tmp_path: Path) -> None:
    text = EXAMPLE_2027.read_text(encoding="utf-8")
    broken = text.replace("start = 2027-06-09", 'start = "June 9th"').replace(
        "2027-02-14,", "2027-02-15,"
    )
    assert broken != text
    bad = tmp_path / "calendar-2027.toml"
    bad.write_text(broken, encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        CHINA.with_override(bad)
    assert raised.value.source == str(bad)
    assert [p.path for p in raised.value.problems] == ["years[0].holidays[4].start"]


def test_the_warning_in_chinese_says_the_same_day_and_year() -> None:
    status = CHINA.coverage(dt.date(2026, 12, 7))
    assert status.warning_zh == (
        "工作日历将于 2026-12-31 截止（还有 24 天）：此后的期限无法计算，需要计算期限的操作将失败；"
        "请将国务院办公厅关于 2027 年部分节假日安排的通知作为日历覆盖文件加载"
        "（docs/calendar.md），或升级节假日数据"
    )
    assert CHINA.coverage(dt.date(2026, 12, 30)).warning_zh.startswith(  # type: ignore[union-attr]
        "工作日历将于明天（2026-12-31）截止"
    )
    late = CHINA.coverage(dt.date(2027, 1, 5)).warning_zh
    assert late is not None
    assert late.startswith("工作日历已于 2026-12-31 截止（5 天前）")


@given(st.dates(dt.date(2026, 1, 1), dt.date(2027, 3, 1)), st.integers(0, 120))
def test_the_chinese_warning_is_given_exactly_when_the_english_one_is(
    today: dt.date, warn_days: int
) -> None:
    status = CHINA.coverage(today, warn_days=warn_days)
    assert (status.warning_zh is None) == (status.warning is None)
