"""Tests for creditcommit.identifiers: USCC, resident identity numbers and masking."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from creditcommit.errors import DataFileError, InvalidIdentifier
from creditcommit.identifiers import (
    USCC,
    ResidentId,
    _code_table_from,
    builtin_uscc_allowlist,
    load_uscc_allowlist,
    mask_resident_ids,
    uscc_check_char,
)
from hostile import normalised_digits, typed_resident_ids

# Written out from domain.md §9.2 rather than imported, so the tests check the module.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
DIGITS = "0123456789"
# ISO 7064 MOD 11-2 as in GB 11643-1999.
RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RID_CHECK = "10X98765432"


def check_char_oracle(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    value = 31 - total % 31
    return USCC_CHARS[0 if value == 31 else value]


def rid_check(first17: str) -> str:
    return RID_CHECK[sum(int(c) * w for c, w in zip(first17, RID_WEIGHTS, strict=True)) % 11]


# --- strategies -----------------------------------------------------------------------------


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    """17 characters of the set, positions 3-8 digits, plus the computed check character."""
    head = draw(st.text(USCC_CHARS, min_size=2, max_size=2))
    division = draw(st.text(DIGITS, min_size=6, max_size=6))
    org = draw(st.text(USCC_CHARS, min_size=9, max_size=9))
    first17 = head + division + org
    return first17 + check_char_oracle(first17)


@st.composite
def valid_resident_ids(draw: st.DrawFn) -> str:
    division = draw(st.text(DIGITS, min_size=6, max_size=6))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1)))
    sequence = draw(st.text(DIGITS, min_size=3, max_size=3))
    first17 = f"{division}{born.year:04d}{born.month:02d}{born.day:02d}{sequence}"
    return first17 + rid_check(first17)


@st.composite
def written_resident_ids(draw: st.DrawFn) -> str:
    """A valid number as people write it: plain, lower-case x, or grouped 6-8-4."""
    value = draw(valid_resident_ids())
    if draw(st.booleans()):
        value = value.lower()
    sep1, sep2 = draw(st.sampled_from(["", " ", "-"])), draw(st.sampled_from(["", " ", "-"]))
    return value[:6] + sep1 + value[6:14] + sep2 + value[14:]


def resident_ids_in(text: str) -> list[str]:
    """Every resident identity number in ``text`` by brute force over windows (the oracle)."""
    found = []
    for i in range(len(text)):
        for sep1, sep2 in itertools.product(["", " ", "-"], repeat=2):
            window = text[i : i + 18 + len(sep1) + len(sep2)]
            head, rest = window[:6], window[6:]
            if not rest.startswith(sep1):
                continue
            birth, rest = rest[len(sep1) : len(sep1) + 8], rest[len(sep1) + 8 :]
            if not rest.startswith(sep2):
                continue
            candidate = head + birth + rest[len(sep2) :]
            if re.fullmatch(r"[0-9]{17}[0-9Xx]", candidate) and ResidentId.is_valid(candidate):
                found.append(window)
    return found


# --- USCC: worked examples ------------------------------------------------------------------

WORKED_EXAMPLES = [
    "91310110666007217T",
    "91350200776049653A",
    "91440101MA5CJQ4N59",
    "913502000728319549",
    "123502001549897397",
    "91310115591693856A",
]
LEGACY = ["91350100M0001TGQXM", "91350203M0001QAY9B", "91350211M0000XUF46", "91350203M0001FUE2P"]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert tuple(pow(3, i, 31) for i in range(17)) == USCC_WEIGHTS


def test_s_966_example() -> None:
    code = "91310110666007217T"
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    assert total == 966
    assert 31 - total % 31 == 26
    assert USCC_CHARS[26] == "T"
    assert uscc_check_char(code[:17]) == "T"


def test_check_char_edge_values() -> None:
    assert uscc_check_char("0" * 17) == "0"  # S mod 31 == 0: C = 31 becomes 0
    assert uscc_check_char("1" + "0" * 16) == "Y"  # S == 1: C = 30


@pytest.mark.parametrize("code", WORKED_EXAMPLES)
def test_worked_examples_are_valid(code: str) -> None:
    uscc = USCC.parse(code)
    assert uscc.value == code
    assert uscc.legacy is False
    assert USCC.is_valid(code)


def test_accessors() -> None:
    uscc = USCC.parse("91310110666007217T")
    assert str(uscc) == "91310110666007217T"
    assert uscc.authority_code == "9"
    assert uscc.category_code == "1"
    assert uscc.division_code == "310110"
    assert uscc.org_code == "666007217"
    assert uscc.check_char == "T"
    assert uscc.authority == "工商"
    assert uscc.category == "企业"
    assert uscc.org_code_valid is True


@pytest.mark.parametrize(
    ("code", "authority", "category"),
    [
        ("123502001549897397", "机构编制", "事业单位"),
        ("51110000500000000", "民政", "社会团体"),
        ("92110000500000000", "工商", "个体工商户"),
        ("Y1110000500000000", "其他", "其他"),
    ],
)
def test_authority_and_category_names(code: str, authority: str, category: str) -> None:
    if len(code) == 17:
        code += uscc_check_char(code)
    uscc = USCC.parse(code)
    assert (uscc.authority, uscc.category) == (authority, category)


def test_unknown_authority_or_category_is_reported_not_rejected() -> None:
    unknown_authority = "B1110000500000000"
    uscc = USCC.parse(unknown_authority + uscc_check_char(unknown_authority))
    assert uscc.authority is None
    assert uscc.category is None
    unknown_category = "99110000500000000"
    uscc = USCC.parse(unknown_category + uscc_check_char(unknown_category))
    assert uscc.authority == "工商"
    assert uscc.category is None


def test_org_code_check_is_a_report_not_a_rule() -> None:
    first17 = "91310110666007218"  # org-code check character should be 7
    uscc = USCC.parse(first17 + uscc_check_char(first17))
    assert uscc.org_code_valid is False


@pytest.mark.parametrize(
    ("org", "valid"),
    [
        ("000000000", True),  # S mod 11 == 0: C = 11 is written 0
        ("00000006X", True),  # S mod 11 == 1: C = 10 is written X
        ("000000060", False),
        ("000000001", False),
    ],
)
def test_org_code_check_special_values(org: str, valid: bool) -> None:
    first17 = "91310110" + org
    assert USCC.parse(first17 + uscc_check_char(first17)).org_code_valid is valid


@pytest.mark.parametrize("code", [*WORKED_EXAMPLES, *LEGACY])
def test_org_code_check_of_examples(code: str) -> None:
    assert USCC.parse(code).org_code_valid is True


# --- USCC: normalisation and errors ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "9131 0110-6660 07217t",
        "91310110666007217t",
        "  91310110666007217T\n",
        "9131\u30000110\u3000666007217T",  # full-width spaces
        "913101-10666-007217-T",
    ],
)
def test_normalisation(text: str) -> None:
    assert USCC.parse(text) == USCC("91310110666007217T")


def test_non_ascii_letters_are_not_upper_cased_into_the_set() -> None:
    first17 = "91310110666007FF7"
    text = (first17 + uscc_check_char(first17)).replace("FF", "ﬀ")
    assert USCC.is_valid(text.upper())  # "ﬀ".upper() == "FF": naive upper-casing accepts it
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse(text)
    assert info.value.rule == "length"


def test_length_error() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("9131011066600721")
    assert info.value.kind == "USCC"
    assert info.value.value == "9131011066600721"
    assert info.value.rule == "length"
    assert str(info.value) == (
        "invalid USCC '9131011066600721': a USCC has 18 characters, got 16 (rule: length)"
    )


def test_length_error_after_normalisation() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("9131 0110 6660 0721")
    assert info.value.value == "9131 0110 6660 0721"
    assert info.value.detail == (
        "a USCC has 18 characters, got 16 (after removing spaces and hyphens)"
    )


def test_charset_error_names_character_position_and_excluded_letters() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("91310110O66007217T")
    assert info.value.rule == "charset"
    assert str(info.value) == (
        "invalid USCC '91310110O66007217T': character 'O' at position 9 is not allowed: "
        "a USCC uses only the digits 0-9 and the upper-case letters A-Y except I, O, Z, S "
        "and V (rule: charset)"
    )


def test_charset_error_position_counts_after_normalisation() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("9131-0110-S66007217T")
    assert info.value.value == "9131-0110-S66007217T"
    assert info.value.detail.startswith(
        "character 'S' at position 9 (after removing spaces and hyphens) is not allowed"
    )


def test_charset_error_for_full_width_digit() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("９1310110666007217T")
    assert info.value.rule == "charset"
    assert info.value.detail.startswith("character '９' at position 1 ")


def test_division_error() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("913101A0666007217T")
    assert info.value.rule == "division"
    assert str(info.value) == (
        "invalid USCC '913101A0666007217T': positions 3-8 are the administrative division "
        "code (GB/T 2260) and must be digits; position 7 is 'A' (rule: division)"
    )


def test_check_error_says_expected_and_found() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("91310110666007217U")
    assert info.value.rule == "check"
    assert str(info.value) == (
        "invalid USCC '91310110666007217U': the check character (position 18) should be 'T' "
        "for the first 17 characters, found 'U' (rule: check)"
    )


def test_rules_apply_in_order() -> None:
    # Bad charset *and* bad division *and* bad check: charset is reported.
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("91A10110I66007217U")
    assert info.value.rule == "charset"
    # Bad division and bad check: division is reported.
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse("91A10110666007217U")
    assert info.value.rule == "division"


def test_constructor_validates() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC("91310110666007217t")
    assert info.value.rule == "charset"
    with pytest.raises(InvalidIdentifier) as info:
        USCC("91350100M0001TGQXM")
    assert info.value.rule == "check"
    assert USCC("91350100M0001TGQXM", legacy=True).legacy is True


def test_constructor_refuses_legacy_flag_on_a_correct_code() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        USCC("91310110666007217T", legacy=True)
    assert info.value.rule == "legacy"
    assert info.value.detail == (
        "the check character is correct, so the code is not a legacy exception"
    )


def test_uscc_check_char_errors() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        uscc_check_char("91310110666007217T")
    assert info.value.rule == "length"
    assert info.value.detail == "expected the 17 characters before the check character, got 18"
    with pytest.raises(InvalidIdentifier) as info:
        uscc_check_char("9131011066600721z")
    assert info.value.rule == "charset"


# --- USCC: legacy allow-list ----------------------------------------------------------------


@pytest.mark.parametrize("code", LEGACY)
def test_builtin_legacy_codes_fail_the_check_but_parse(code: str) -> None:
    assert uscc_check_char(code[:17]) != code[17]
    uscc = USCC.parse(code)
    assert uscc.legacy is True
    assert uscc.value == code


def test_builtin_allowlist_is_exactly_the_documented_codes() -> None:
    assert builtin_uscc_allowlist() == frozenset(LEGACY)


def test_code_failing_the_check_and_not_listed_is_rejected() -> None:
    code = "91350100M0002TGQXM"
    assert code not in builtin_uscc_allowlist()
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse(code)
    assert info.value.rule == "check"
    assert not USCC.is_valid(code)


def test_configured_allowlist() -> None:
    code = "91350100M0002TGQXM"
    uscc = USCC.parse(code, allow=["9135 0100-m0002 tgqxm"])
    assert uscc.legacy is True
    assert uscc.value == code
    assert USCC.is_valid(code, allow=(c for c in [code]))


def test_allowlisted_codes_must_still_pass_length_charset_and_division() -> None:
    for code, rule in [
        ("91350100M0001TGQX", "length"),
        ("91350100M0001TGQXI", "charset"),
        ("9135010AM0001TGQXM", "division"),
    ]:
        with pytest.raises(InvalidIdentifier) as info:
            USCC.parse(code, allow=[code])
        assert info.value.rule == rule


def test_load_allowlist(tmp_path: Path) -> None:
    path = tmp_path / "legacy.toml"
    path.write_text('codes = ["91350100m0002tgqxm", "9135-0203-M000-1QAY-9B"]\n', "utf-8")
    assert load_uscc_allowlist(path) == {"91350100M0002TGQXM", "91350203M0001QAY9B"}
    assert USCC.parse("91350100M0002TGQXM", allow=load_uscc_allowlist(path)).legacy


def test_load_allowlist_reports_every_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "legacy.toml"
    path.write_text(
        'codes = ["91350100M0001TGQXM", "91350100M0001TGQX", 7, "91350100M0001TGQXI"]\n',
        "utf-8",
    )
    with pytest.raises(DataFileError) as info:
        load_uscc_allowlist(path)
    assert info.value.report().splitlines() == [
        f"{path}: codes[2]: expected a string, got number 7",
    ]
    path.write_text('codes = ["91350100M0001TGQXM", "91350100M0001TGQX", "9135010OM0001TGQXM"]')
    with pytest.raises(DataFileError) as info:
        load_uscc_allowlist(path)
    assert info.value.report().splitlines() == [
        f"{path}: codes[1]: a USCC has 18 characters, got 17 (rule: length)",
        f"{path}: codes[2]: character 'O' at position 8 is not allowed: a USCC uses only the "
        "digits 0-9 and the upper-case letters A-Y except I, O, Z, S and V (rule: charset)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('codes = "91350100M0001TGQXM"', "codes: expected an array, got string"),
        ("code = []", "codes: required key is missing"),
        ("codes = [", "<root>: not valid TOML"),
    ],
)
def test_load_allowlist_malformed_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "legacy.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(DataFileError) as info:
        load_uscc_allowlist(path)
    assert info.value.source == str(path)
    assert str(info.value.problems[0]).startswith(message)


def test_load_allowlist_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "legacy.toml"
    path.write_text('codes = []\nsource = "x"\n', "utf-8")
    with pytest.raises(DataFileError) as info:
        load_uscc_allowlist(path)
    assert [str(p) for p in info.value.problems] == [
        "<root>: unknown key 'source' (allowed: codes)"
    ]


def test_load_allowlist_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read file"):
        load_uscc_allowlist(tmp_path / "missing.toml")


# --- USCC: authority/category table ---------------------------------------------------------


def test_code_table_problems_are_all_reported() -> None:
    data = {
        "authorities": {
            "I": {"name": "x", "source": "s"},
            "9": {"name": " ", "source": "s", "categories": {"1": "企业", "10": ""}},
        }
    }
    with pytest.raises(DataFileError) as info:
        _code_table_from(data, "t.toml")
    assert [str(p) for p in info.value.problems] == [
        "authorities.I: expected one character of 0123456789ABCDEFGHJKLMNPQRTUWXY, got 'I'",
        "authorities.9.name: expected a name, got an empty string",
        "authorities.9.categories.10: expected one character of "
        "0123456789ABCDEFGHJKLMNPQRTUWXY, got '10'",
        "authorities.9.categories.10: expected a name, got an empty string",
    ]


def test_code_table_schema_errors_have_paths() -> None:
    with pytest.raises(DataFileError) as info:
        _code_table_from({"authorities": {"9": {"name": 9}}}, "t.toml")
    assert [str(p) for p in info.value.problems] == [
        "authorities.9.name: expected a string, got number 9",
        "authorities.9.source: required key is missing",
    ]


# --- USCC: properties -----------------------------------------------------------------------


def test_check_character_detects_every_single_substitution_mathematically() -> None:
    # A substitution at position i changes S by w_i * d with d != 0 (mod 31); 31 is prime and
    # no weight is 0 mod 31, so S mod 31 (hence the check character) changes.
    assert all(w * d % 31 != 0 for w in USCC_WEIGHTS for d in range(1, 31))


@given(st.text(USCC_CHARS, min_size=17, max_size=17))
def test_check_char_matches_the_standard(first17: str) -> None:
    assert uscc_check_char(first17) == check_char_oracle(first17)


@given(valid_usccs())
def test_valid_codes_parse_and_round_trip(code: str) -> None:
    uscc = USCC.parse(code)
    assert uscc.value == code
    assert uscc.legacy is False
    assert USCC.parse(str(uscc)) == uscc


@given(valid_usccs(), st.integers(0, 17), st.sampled_from(USCC_CHARS))
def test_any_single_substitution_is_invalid(code: str, position: int, char: str) -> None:
    assume(code[position] != char)
    changed = code[:position] + char + code[position + 1 :]
    assert uscc_check_char(changed[:17]) != changed[17]
    assume(changed not in builtin_uscc_allowlist())
    assert not USCC.is_valid(changed)


@given(st.text())
def test_is_valid_never_raises(text: str) -> None:
    assert USCC.is_valid(text) in (True, False)
    assert ResidentId.is_valid(text) in (True, False)


@given(st.text(alphabet=USCC_CHARS + "IOSVZxyz -\u3000９ﬀ", min_size=15, max_size=21))
def test_is_valid_agrees_with_parse(text: str) -> None:
    if USCC.is_valid(text):
        assert USCC.parse(text).value == "".join(text.split()).replace("-", "").upper()
        return
    with pytest.raises(InvalidIdentifier) as info:
        USCC.parse(text)
    assert info.value.value == text
    assert info.value.rule in {"length", "charset", "division", "check"}


# --- resident identity numbers --------------------------------------------------------------


def test_resident_id_example() -> None:
    rid = ResidentId.parse("11010519491231002X")
    assert rid.value == "11010519491231002X"
    assert rid.division_code == "110105"
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.masked() == "110105********002X"


def test_resident_id_normalisation() -> None:
    assert ResidentId.parse(" 110105 19491231 002x\u3000") == ResidentId("11010519491231002X")


def test_resident_id_repr_and_str_are_masked() -> None:
    rid = ResidentId.parse("11010519491231002X")
    assert repr(rid) == "ResidentId('110105********002X')"
    assert str(rid) == "110105********002X"
    assert f"{rid}" == "110105********002X"


def test_resident_id_length_error() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId.parse("1101051949123100")
    assert info.value.kind == "resident identity number"
    assert info.value.rule == "length"
    assert str(info.value) == (
        "invalid resident identity number '110105******3100': a resident identity number "
        "has 18 characters, got 16 (rule: length)"
    )


def test_resident_id_15_digit_error() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId.parse("110105491231002")
    assert info.value.detail == (
        "a resident identity number has 18 characters, got 15 (15-digit numbers from "
        "before GB 11643-1999 are not accepted)"
    )


def test_resident_id_charset_error() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId.parse("1101051949123100X2")
    assert info.value.rule == "charset"
    assert str(info.value) == (
        "invalid resident identity number '110105********00X2': character 'X' at position 17 "
        "is not allowed: positions 1-17 are digits and position 18 is a digit or X "
        "(rule: charset)"
    )


@pytest.mark.parametrize("birth", ["19491331", "19490230", "19000229", "00000101"])
def test_resident_id_birth_date_error(birth: str) -> None:
    first17 = "110105" + birth + "002"
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId.parse(first17 + rid_check(first17))
    assert info.value.rule == "birth-date"
    assert (
        info.value.detail
        == "positions 7-14 (date of birth, YYYYMMDD) are not a real date from 1900 on"
    )


def test_resident_id_accepts_leap_days_and_future_dates() -> None:
    # No clock in the core: a date of birth after "today" is not the identifier's problem.
    for birth in ["20000229", "29991231"]:
        first17 = "110105" + birth + "002"
        assert ResidentId.parse(first17 + rid_check(first17)).birth_date.isoformat()


def test_resident_id_check_error() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId.parse("110105194912310021")
    assert info.value.rule == "check"
    assert str(info.value) == (
        "invalid resident identity number '110105********0021': the check character "
        "(position 18) should be 'X' for the first 17 digits, found '1' (rule: check)"
    )


def test_resident_id_error_never_carries_the_birth_date() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId("110105194912310021")
    assert "19491231" not in str(info.value)
    assert "19491231" not in info.value.value


@given(valid_resident_ids())
def test_valid_resident_ids_parse_and_round_trip(value: str) -> None:
    rid = ResidentId.parse(value)
    assert rid.value == value
    assert ResidentId.parse(rid.value) == rid
    assert ResidentId.parse(value.lower()) == rid


@given(valid_resident_ids(), st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_resident_id_single_substitution_is_invalid(value: str, position: int, char: str) -> None:
    assume(value[position] != char)
    assume(position == 17 or char != "X")
    assert not ResidentId.is_valid(value[:position] + char + value[position + 1 :])


@given(valid_resident_ids())
def test_masked_form_hides_birth_date_and_keeps_length(value: str) -> None:
    rid = ResidentId.parse(value)
    birth = value[6:14]
    for shown in (rid.masked(), repr(rid), str(rid)):
        assert birth not in shown
    assert len(rid.masked()) == 18
    assert rid.masked()[:6] == value[:6]
    assert rid.masked()[14:] == value[14:]


# --- mask_resident_ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证号11010519491231002X。", "身份证号110105********002X。"),
        ("id 11010519491231002x", "id 110105********002x"),
        ("110105 19491231 002X", "110105 ******** 002X"),
        ("110105-19491231-002X", "110105-********-002X"),
        # inside a longer run of digits, too
        ("911010519491231002X7", "9110105********002X7"),
        # bad date, too short: left alone (a wrong check digit alone is masked, see below)
        ("11010519491331002X", "11010519491331002X"),
        ("1101051949123100", "1101051949123100"),
        ("no numbers here", "no numbers here"),
    ],
)
def test_mask_resident_ids_examples(text: str, expected: str) -> None:
    assert mask_resident_ids(text) == expected


def test_mask_resident_ids_needs_a_real_birth_date() -> None:
    first17 = "11010519491331002"  # month 13, check digit right
    text = f"号码 {first17 + rid_check(first17)}"
    assert mask_resident_ids(text) == text


def test_mask_resident_ids_does_not_count_other_unicode_digits() -> None:
    text = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"  # Arabic-Indic digits: nobody types a number so
    assert mask_resident_ids(text) == text


filler = st.text(alphabet=DIGITS + " -Xx申请人：,", max_size=8) | st.text(max_size=8)


@given(st.lists(filler | written_resident_ids(), max_size=6))
def test_mask_resident_ids_leaves_no_id(pieces: list[str]) -> None:
    text = "".join(pieces)
    masked = mask_resident_ids(text)
    assert resident_ids_in(masked) == []
    assert len(masked) == len(text)
    for before, after in zip(text, masked, strict=True):
        assert after == before or (after == "*" and before in DIGITS)


@given(filler, written_resident_ids(), filler)
def test_mask_resident_ids_masks_the_birth_date_in_place(
    left: str, written: str, right: str
) -> None:
    masked = mask_resident_ids(left + written + right)
    found = masked[len(left) : len(left) + len(written)]
    birth_start = 7 if written[6] in " -" else 6
    assert found[birth_start : birth_start + 8] == "********"


@given(st.text(alphabet=st.characters(exclude_characters=DIGITS + "０１２３４５６７８９")))
def test_mask_resident_ids_leaves_digit_free_text_unchanged(text: str) -> None:
    assert mask_resident_ids(text) == text


def test_a_birth_year_before_1900_is_not_a_resident_id() -> None:
    first17 = "11010518991231002"
    with pytest.raises(InvalidIdentifier) as info:
        ResidentId.parse(first17 + rid_check(first17))
    assert info.value.rule == "birth-date"


def test_all_digit_credit_codes_are_not_defaced_by_masking() -> None:
    # Positions 7-14 read as 1200-01-01 and the MOD 11-2 check passes: before the 1900 floor
    # this valid USCC was masked as if it were an identity number.
    code = "913210120001010241"
    assert USCC.is_valid(code)
    assert mask_resident_ids(f"统一社会信用代码 {code}") == f"统一社会信用代码 {code}"


# --- mask_resident_ids: every form a clerk may type (issue 8, item 3) ----------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # full-width digits and X
        ("证件号１１０１０５１９４９１２３１００２Ｘ", "证件号１１０１０５********００２Ｘ"),
        # 6-4-4-4 and 4-4-4-4-2 groupings
        ("110105 1949 1231 002X", "110105 **** **** 002X"),
        ("1101 0519 4912 3100 2X", "1101 05** **** **00 2X"),
        # NBSP, full-width hyphen, em dash, ideographic space
        ("110105\u00a019491231\u00a0002X", "110105\u00a0********\u00a0002X"),
        ("110105－19491231－002X", "110105－********－002X"),
        ("110105—19491231—002X", "110105—********—002X"),
        ("110105\u300019491231\u3000002X", "110105\u3000********\u3000002X"),
        # zero-width characters anywhere
        (
            "1101\u200b05194\u200c91231\u200d00\ufeff2\u2060X",
            "1101\u200b05***\u200c*****\u200d00\ufeff2\u2060X",
        ),
        # a wrong check digit is still a plausible number: masked
        ("110105194912310021", "110105********0021"),
        # 15-digit legacy numbers (YYMMDD birth date)
        ("旧证 110105491231002。", "旧证 110105******002。"),
        ("110105 491231 002", "110105 ****** 002"),
    ],
)
def test_mask_resident_ids_finds_every_written_form(text: str, expected: str) -> None:
    assert mask_resident_ids(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "321000-20250926-N0001",  # a case id
        "91310110666007217T",  # a USCC
        "913210120001010241",  # an all-digit USCC
        "电话 0514-86888888，投资额 200000000 元",
        "1101051949123100",  # too short
        "99010519491231002X",  # no such province, check digit wrong
        "110105194913310021",  # no such birth date
        "110105 991331 002",  # 15 digits, no such birth date
        "2025-09-26 至 2026-09-25",
    ],
)
def test_mask_resident_ids_leaves_other_numbers_alone(text: str) -> None:
    assert mask_resident_ids(text) == text


@given(
    st.text(st.sampled_from("申请人：，。号码ABN"), max_size=4),
    typed_resident_ids(),
    st.text(st.sampled_from("，。电话abcN"), max_size=4),
)
def test_mask_resident_ids_leaves_no_birth_date_of_a_typed_number(
    left: str, typed: tuple[str, str], right: str
) -> None:
    number, written = typed
    masked = mask_resident_ids(left + written + right)
    assert len(masked) == len(left + written + right)
    birth = 8 if len(number) == 18 else 6
    assert number[: 6 + birth] not in normalised_digits(masked)
