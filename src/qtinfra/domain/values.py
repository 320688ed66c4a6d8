"""Value objects shared by every part of the flow.

The enumerations carry the FIX 4.4 code of each value: FIX is the vocabulary of the trade,
and the codec maps tags to these without a translation table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "1"
    SELL = "2"
    SELL_SHORT = "5"

    @property
    def is_buy(self) -> bool:
        return self is Side.BUY


class OrdType(StrEnum):
    MARKET = "1"
    LIMIT = "2"


class TimeInForce(StrEnum):
    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"


class OrdStatus(StrEnum):
    """OrdStatus (39). FIX 4.4 Vol 4."""

    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"

    @property
    def is_done(self) -> bool:
        return self in _DONE


_DONE = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})


class ExecType(StrEnum):
    """ExecType (150). FIX 4.4 Vol 4."""

    NEW = "0"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"
    TRADE = "F"
    ORDER_STATUS = "I"


class OrdRejReason(StrEnum):
    """OrdRejReason (103) values the gateway sends."""

    BROKER_OPTION = "0"
    UNKNOWN_SYMBOL = "1"
    EXCHANGE_CLOSED = "2"
    ORDER_EXCEEDS_LIMIT = "3"
    TOO_LATE_TO_ENTER = "4"
    UNKNOWN_ORDER = "5"
    DUPLICATE_ORDER = "6"
    UNSUPPORTED_ORDER_CHARACTERISTIC = "11"
    INCORRECT_QUANTITY = "13"
    UNKNOWN_ACCOUNT = "15"
    PRICE_EXCEEDS_CURRENT_PRICE_BAND = "16"
    INVALID_PRICE_INCREMENT = "18"
    OTHER = "99"


class CxlRejReason(StrEnum):
    """CxlRejReason (102)."""

    TOO_LATE_TO_CANCEL = "0"
    UNKNOWN_ORDER = "1"
    BROKER_OPTION = "2"
    ALREADY_PENDING = "3"
    DUPLICATE_CLORDID = "6"
    OTHER = "99"


class CxlRejResponseTo(StrEnum):
    """CxlRejResponseTo (434): which request an OrderCancelReject answers."""

    CANCEL = "1"
    REPLACE = "2"


def utc_now() -> datetime:
    """The current time, UTC, microsecond precision (MiFID II RTS 25)."""
    return datetime.now(UTC)


ALGORITHM = 22
NATURAL_PERSON = 24
"""PartyRoleQualifier (2376) values of a decision maker (PartyRole 122) or an executing
trader (PartyRole 12): an algorithm, a natural person."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """Reference data for one tradable instrument."""

    symbol: str
    isin: str
    currency: str
    tick_size: Decimal
    lot_size: Decimal
    reference_price: Decimal | None
    venues: tuple[str, ...]

    def on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def on_lot(self, quantity: Decimal) -> bool:
        return quantity % self.lot_size == 0
