"""Static validation of order terms, instrument lookup, and ISIN/MIC identifiers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qtinfra.domain.identifiers import isin_is_valid, mic_is_valid
from qtinfra.domain.values import Instrument, OrdRejReason, OrdType, TimeInForce
from qtinfra.risk.validation import Rejection, check_terms, resolve_instrument

D = Decimal
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), ("CBOE",))
SHEL = Instrument("SHEL", "GB00BP6MXD84", "GBP", D("0.5"), D("10"), D("2700.0"), ("CBOE",))
BY_SYMBOL = {i.symbol: i for i in (AAPL, SHEL)}
BY_ISIN = {i.isin: i for i in (AAPL, SHEL)}


def resolve(symbol: str | None, isin: str | None) -> Instrument | Rejection:
    return resolve_instrument(symbol, isin, BY_SYMBOL, BY_ISIN)


# -- resolve_instrument ------------------------------------------------------------------------


def test_symbol_alone_finds_the_instrument() -> None:
    assert resolve("AAPL", None) is AAPL


def test_isin_alone_finds_the_instrument() -> None:
    assert resolve(None, "GB00BP6MXD84") is SHEL


def test_symbol_and_isin_that_agree_find_the_instrument() -> None:
    assert resolve("SHEL", "GB00BP6MXD84") is SHEL


def test_neither_symbol_nor_isin_is_rejected_as_unknown_symbol() -> None:
    assert resolve(None, None) == Rejection(
        OrdRejReason.UNKNOWN_SYMBOL, "Symbol (55) or SecurityID (48) is required"
    )


def test_unknown_symbol_is_rejected_naming_it() -> None:
    assert resolve("TSLA", None) == Rejection(
        OrdRejReason.UNKNOWN_SYMBOL, "unknown instrument: Symbol TSLA"
    )


def test_unknown_isin_is_rejected_naming_it() -> None:
    assert resolve(None, "US88160R1014") == Rejection(
        OrdRejReason.UNKNOWN_SYMBOL, "unknown instrument: ISIN US88160R1014"
    )


def test_known_symbol_with_unknown_isin_is_rejected() -> None:
    found = resolve("AAPL", "US88160R1014")
    assert isinstance(found, Rejection)
    assert found.text == "unknown instrument: ISIN US88160R1014"


def test_symbol_and_isin_of_different_instruments_are_rejected() -> None:
    found = resolve("AAPL", "GB00BP6MXD84")
    assert found == Rejection(
        OrdRejReason.UNKNOWN_SYMBOL,
        "Symbol AAPL and SecurityID GB00BP6MXD84 name different instruments (AAPL is US0378331005)",
    )


def test_symbol_lookup_is_case_sensitive() -> None:
    assert isinstance(resolve("aapl", None), Rejection)


# -- check_terms -------------------------------------------------------------------------------


def terms(
    quantity: str,
    price: str | None = "190.00",
    ord_type: OrdType = OrdType.LIMIT,
    tif: TimeInForce = TimeInForce.DAY,
    instrument: Instrument = AAPL,
) -> Rejection | None:
    return check_terms(
        instrument, ord_type, tif, D(quantity), D(price) if price is not None else None
    )


@pytest.mark.parametrize(
    ("quantity", "price", "ord_type", "tif"),
    [
        ("100", "190.00", OrdType.LIMIT, TimeInForce.DAY),
        ("1", "0.01", OrdType.LIMIT, TimeInForce.GTC),
        ("100", "190.1", OrdType.LIMIT, TimeInForce.IOC),
        ("100", "190.10000", OrdType.LIMIT, TimeInForce.FOK),
        ("100", None, OrdType.MARKET, TimeInForce.DAY),
        ("100", None, OrdType.MARKET, TimeInForce.IOC),
        ("100", None, OrdType.MARKET, TimeInForce.FOK),
        ("1E+2", "1.9E+2", OrdType.LIMIT, TimeInForce.DAY),
    ],
)
def test_valid_terms_pass(
    quantity: str, price: str | None, ord_type: OrdType, tif: TimeInForce
) -> None:
    assert terms(quantity, price, ord_type, tif) is None


@pytest.mark.parametrize("quantity", ["0", "-1", "-100", "0.000"])
def test_zero_or_negative_quantity_is_rejected_as_incorrect_quantity(quantity: str) -> None:
    rejection = terms(quantity)
    assert rejection is not None
    assert rejection.reason is OrdRejReason.INCORRECT_QUANTITY
    assert rejection.text == f"OrderQty {D(quantity)} must be positive"


@pytest.mark.parametrize("quantity", ["0.5", "100.01", "1.000001"])
def test_fractional_quantity_off_the_lot_is_rejected(quantity: str) -> None:
    rejection = terms(quantity)
    assert rejection is not None
    assert rejection.reason is OrdRejReason.INCORRECT_QUANTITY
    assert "not a multiple of the lot size 1 for AAPL" in rejection.text


def test_quantity_not_a_multiple_of_a_ten_share_lot_is_rejected() -> None:
    rejection = terms("25", "2700.0", instrument=SHEL)
    assert rejection == Rejection(
        OrdRejReason.INCORRECT_QUANTITY,
        "OrderQty 25 is not a multiple of the lot size 10 for SHEL",
    )


def test_quantity_on_a_ten_share_lot_passes() -> None:
    assert terms("30", "2700.5", instrument=SHEL) is None


@pytest.mark.parametrize("price", ["190.001", "190.005", "0.009"])
def test_price_off_the_tick_is_rejected_as_invalid_price_increment(price: str) -> None:
    rejection = terms("100", price)
    assert rejection is not None
    assert rejection.reason is OrdRejReason.INVALID_PRICE_INCREMENT
    assert f"Price {price} is not a multiple of the tick size 0.01 for AAPL" == rejection.text


@pytest.mark.parametrize(("price", "ok"), [("2700.5", True), ("2700.0", True), ("2700.2", False)])
def test_half_point_tick(price: str, ok: bool) -> None:
    assert (terms("10", price, instrument=SHEL) is None) is ok


def test_limit_order_without_price_is_rejected() -> None:
    assert terms("100", None) == Rejection(
        OrdRejReason.OTHER, "Price (44) is required for a limit order"
    )


@pytest.mark.parametrize("price", ["0", "-190.00", "-0.01"])
def test_limit_price_must_be_positive(price: str) -> None:
    rejection = terms("100", price)
    assert rejection is not None
    assert rejection.reason is OrdRejReason.OTHER
    assert rejection.text == f"Price {D(price)} must be positive"


def test_market_order_with_a_price_is_rejected() -> None:
    assert terms("100", "190.00", OrdType.MARKET) == Rejection(
        OrdRejReason.OTHER, "Price (44) must not be sent on a market order"
    )


def test_good_till_cancel_market_order_is_rejected() -> None:
    assert terms("100", None, OrdType.MARKET, TimeInForce.GTC) == Rejection(
        OrdRejReason.OTHER, "a market order cannot be good-till-cancel"
    )


def test_quantity_is_checked_before_price() -> None:
    rejection = terms("0", None)
    assert rejection is not None
    assert rejection.reason is OrdRejReason.INCORRECT_QUANTITY


# -- ISIN and MIC ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "isin",
    [
        "US0378331005",  # Apple
        "US5949181045",  # Microsoft
        "US67066G1040",  # NVIDIA (letter inside)
        "US02079K3059",  # Alphabet
        "DE0007164600",  # SAP
        "NL0010273215",  # ASML
        "FR0000121014",  # LVMH
        "CH0038863350",  # Nestlé
        "GB00BP6MXD84",  # Shell (several letters)
        "AU0000XVGZA3",  # the ISO 6166 example with letters
        "GB0002634946",  # BAE Systems
    ],
)
def test_real_isins_are_valid(isin: str) -> None:
    assert isin_is_valid(isin)


@pytest.mark.parametrize(
    "isin",
    [
        "US0378331006",  # wrong check digit
        "US0378331004",
        "US037833100",  # 11 characters
        "US03783310055",  # 13 characters
        "",
        "us0378331005",  # lower-case country
        "U10378331005",  # country code not two letters
        "1S0378331005",
        "US037833100A",  # check character not a digit
        "US03783-1005",  # punctuation
        "US 378331005",
        "GB00BP6MXD85",
    ],
)
def test_malformed_or_wrong_check_digit_isins_are_invalid(isin: str) -> None:
    assert not isin_is_valid(isin)


def test_a_transposition_of_two_digits_is_caught() -> None:
    assert isin_is_valid("US0378331005")
    assert not isin_is_valid("US0387331005")


def test_non_ascii_isin_is_invalid_not_an_error() -> None:
    assert isin_is_valid("USé378331005") is False


@pytest.mark.parametrize("mic", ["XNYS", "CEUX", "TRQX", "AQXE", "XLON", "BATE", "XP01"])
def test_four_upper_case_alphanumerics_are_valid_mics(mic: str) -> None:
    assert mic_is_valid(mic)


@pytest.mark.parametrize("mic", ["xnys", "XNY", "XNYSE", "", "XN-S", "XN S", "Xnys"])
def test_other_mics_are_invalid(mic: str) -> None:
    assert not mic_is_valid(mic)


def test_non_ascii_mic_is_invalid() -> None:
    assert not mic_is_valid("ÄBCD")
