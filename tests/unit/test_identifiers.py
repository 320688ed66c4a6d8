"""LEI validation (ISO 17442, ISO 7064 MOD 97-10) and a few MIC cases.

ISIN and most MIC cases are in test_validation.py. Real LEIs from GLEIF must validate; other
check digits in 02..98, any single digit changed to another digit or letter to another
letter, and any adjacent transposition must not. Hypothesis checks that lei_check_digits
completes random bases into valid LEIs and that no other legal check digits do. Check digits 01
and 99 (aliases of 98 and 02) and a trailing newline are refused too.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtinfra.domain.identifiers import lei_check_digits, lei_is_valid, mic_is_valid

REAL_LEIS = {
    "5493001KJTIIGC8Y1R12": "Bloomberg Finance L.P.",
    "529900T8BM49AURSDO55": "Deutsche Börse AG",
    "7LTWFZYICNSX8D621K86": "Deutsche Bank AG",
    "HWUPKR0MPOU8FGXBT394": "Apple Inc.",
    "INR2EJN1ERAN0W5ZP974": "Microsoft Corporation",
}
ALPHANUMERICS = string.digits + string.ascii_uppercase


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_real_leis_are_valid(lei: str) -> None:
    assert lei_is_valid(lei)


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_check_digits_of_real_leis_are_recomputed(lei: str) -> None:
    assert lei_check_digits(lei[:18]) == lei[18:]


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_every_other_check_digit_pair_is_invalid(lei: str) -> None:
    others = [f"{n:02d}" for n in range(2, 99) if f"{n:02d}" != lei[18:]]
    assert not any(lei_is_valid(lei[:18] + digits) for digits in others)


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_a_digit_for_digit_or_letter_for_letter_change_is_caught(lei: str) -> None:
    # A changed digit moves the number by at most 9 * 10^k, a changed letter by at most
    # 25 * 10^k: never a multiple of the prime 97, so MOD 97-10 always sees it.
    for i, original in enumerate(lei):
        same_kind = string.digits if original.isdigit() else string.ascii_uppercase
        for replacement in same_kind.replace(original, ""):
            altered = lei[:i] + replacement + lei[i + 1 :]
            assert not lei_is_valid(altered), altered


@pytest.mark.parametrize("lei", REAL_LEIS)
def test_a_swap_of_two_adjacent_characters_is_caught(lei: str) -> None:
    for i in range(len(lei) - 1):
        swapped = lei[:i] + lei[i + 1] + lei[i] + lei[i + 2 :]
        if swapped != lei:
            assert not lei_is_valid(swapped), swapped


def test_a_digit_changed_into_a_letter_can_go_unnoticed() -> None:
    # A letter is two digits of the number, so 1 -> L (21) shifts everything before it; MOD
    # 97-10 does not promise to catch that. Format validation cannot tell a mistyped LEI from
    # another well-formed one; whether an LEI is a known client is decided elsewhere.
    assert lei_is_valid("549300LKJTIIGC8Y1R12")
    assert "549300LKJTIIGC8Y1R12" not in REAL_LEIS


@pytest.mark.parametrize(
    "lei",
    [
        "5493001kjtiigc8y1r12",  # lower case
        "5493001KJTIIGc8Y1R12",
        "5493001KJTIIGC8Y1R1",  # 19 characters
        "5493001KJTIIGC8Y1R123",  # 21 characters
        "",
        "5493001KJTIIGC8Y1RAB",  # check characters not digits
        "5493001KJTIIGC8Y1R1A",
        "5493001KJT-IGC8Y1R12",  # punctuation
        "5493001KJT IGC8Y1R12",
        " 5493001KJTIIGC8Y1R12",
        "5493001KJTIIGC8Y1R12 ",
        "5493001KJTIIGÇ8Y1R12",  # non-ASCII letter
        "5493001KJTIIGC8Y1R１２",  # full-width digits
        "549300١KJTIIGC8Y1R12",  # Arabic-Indic digit one
    ],
)
def test_malformed_leis_are_invalid(lei: str) -> None:
    assert lei_is_valid(lei) is False


def test_an_lei_with_a_trailing_newline_is_invalid_not_an_error() -> None:
    assert lei_is_valid("5493001KJTIIGC8Y1R12\n") is False


# The bases' own check digits are 98 and 02.
@pytest.mark.parametrize("lei", ["5493001KJTIIGC8Y2601", "5493001KJTIIGC8Y5899"])
def test_check_digits_outside_02_to_98_are_invalid(lei: str) -> None:
    assert not lei_is_valid(lei)


@pytest.mark.parametrize(
    "base",
    [
        "5493001KJTIIGC8Y1",  # 17 characters
        "5493001KJTIIGC8Y1R1",  # 19 characters
        "5493001kjtiigc8y1r",  # lower case
        "5493001KJTIIGC8Y-R",
        "5493001KJTIIGÇ8Y1R",
        "",
    ],
)
def test_check_digits_of_a_malformed_base_raise(base: str) -> None:
    with pytest.raises(ValueError, match="an LEI base is 18 upper-case alphanumerics"):
        lei_check_digits(base)


@given(st.text(alphabet=ALPHANUMERICS, min_size=18, max_size=18))
def test_check_digits_complete_any_base_and_no_other_legal_pair_does(base: str) -> None:
    digits = lei_check_digits(base)
    assert len(digits) == 2
    assert digits.isdigit()
    assert 2 <= int(digits) <= 98
    assert lei_is_valid(base + digits)
    for n in range(2, 99):
        if f"{n:02d}" != digits:
            assert not lei_is_valid(base + f"{n:02d}")


# -- MIC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mic", ["XETR", "XPAR", "XAMS"])
def test_operating_and_segment_mics_are_valid(mic: str) -> None:
    assert mic_is_valid(mic)


@pytest.mark.parametrize("mic", ["XLON ", "XLO\n", "ＸLON"])
def test_mics_with_padding_or_non_ascii_are_invalid(mic: str) -> None:
    assert not mic_is_valid(mic)
