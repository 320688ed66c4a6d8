"""Static validation of order terms against the instrument's reference data.

Pure. Each function returns None when the terms are acceptable, else a Rejection whose text
a person can read and which reaches the client in Text (58).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from qtinfra.domain.values import Instrument, OrdRejReason, OrdType, TimeInForce


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: OrdRejReason
    text: str


def resolve_instrument(
    symbol: str | None,
    isin: str | None,
    by_symbol: dict[str, Instrument],
    by_isin: dict[str, Instrument],
) -> Instrument | Rejection:
    """Find the instrument from Symbol (55) and/or SecurityID (48, ISIN); both must agree."""
    if symbol is None and isin is None:
        return Rejection(OrdRejReason.UNKNOWN_SYMBOL, "Symbol (55) or SecurityID (48) is required")
    from_symbol = by_symbol.get(symbol) if symbol is not None else None
    from_isin = by_isin.get(isin) if isin is not None else None
    if symbol is not None and from_symbol is None:
        return Rejection(OrdRejReason.UNKNOWN_SYMBOL, f"unknown instrument: Symbol {symbol}")
    if isin is not None and from_isin is None:
        return Rejection(OrdRejReason.UNKNOWN_SYMBOL, f"unknown instrument: ISIN {isin}")
    if from_symbol is not None and from_isin is not None and from_symbol is not from_isin:
        return Rejection(
            OrdRejReason.UNKNOWN_SYMBOL,
            f"Symbol {symbol} and SecurityID {isin} name different instruments "
            f"({symbol} is {from_symbol.isin})",
        )
    found = from_symbol or from_isin
    assert found is not None
    return found


def check_terms(
    instrument: Instrument,
    ord_type: OrdType,
    time_in_force: TimeInForce,
    quantity: Decimal,
    price: Decimal | None,
) -> Rejection | None:
    """Quantity, price and time-in-force rules for a new order or a replace."""
    if quantity <= 0:
        return Rejection(OrdRejReason.INCORRECT_QUANTITY, f"OrderQty {quantity} must be positive")
    if not instrument.on_lot(quantity):
        return Rejection(
            OrdRejReason.INCORRECT_QUANTITY,
            f"OrderQty {quantity} is not a multiple of the lot size {instrument.lot_size} "
            f"for {instrument.symbol}",
        )
    if ord_type is OrdType.LIMIT:
        if price is None:
            return Rejection(OrdRejReason.OTHER, "Price (44) is required for a limit order")
        if price <= 0:
            return Rejection(OrdRejReason.OTHER, f"Price {price} must be positive")
        if not instrument.on_tick(price):
            return Rejection(
                OrdRejReason.INVALID_PRICE_INCREMENT,
                f"Price {price} is not a multiple of the tick size {instrument.tick_size} "
                f"for {instrument.symbol}",
            )
    else:
        if price is not None:
            return Rejection(OrdRejReason.OTHER, "Price (44) must not be sent on a market order")
        if time_in_force is TimeInForce.GTC:
            return Rejection(OrdRejReason.OTHER, "a market order cannot be good-till-cancel")
    return None
