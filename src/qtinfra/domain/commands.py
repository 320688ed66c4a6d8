"""Commands: what a client or a venue asks of the order manager. Immutable values the FIX
codec builds from inbound messages; the order manager never sees a FIX message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from qtinfra.domain.values import ExecType, OrdStatus, OrdType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class Party:
    """One entry of the Parties group (453): who a party is and what role it plays.

    MiFID II order records (RTS 24) and transaction reports (RTS 22) name the client, the
    investment decision maker and the executing trader (a person or an algorithm) this way.
    """

    party_id: str  # 448
    source: str | None  # 447 PartyIDSource: "N" (LEI), "P" (short code), "D" (proprietary)...
    role: int  # 452 PartyRole: 3 client ID, 12 executing trader, 122 investment decision maker
    qualifier: int | None = None  # 2376: 22 algorithm, 23 firm or legal entity, 24 natural person


@dataclass(frozen=True, slots=True)
class NewOrder:
    """NewOrderSingle (D). Either symbol or isin (or both) names the instrument.

    parties, order_capacity (528) and ex_destination (100) are the MiFID II order data the
    client sent, kept for the order record (RTS 24) and the transaction report (RTS 22).
    """

    session: str
    cl_ord_id: str
    symbol: str | None
    isin: str | None
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    account: str | None
    poss_dup: bool = False
    parties: tuple[Party, ...] = ()
    order_capacity: str | None = None
    ex_destination: str | None = None
    currency: str | None = None  # Currency (15): must be the instrument's when sent


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """OrderCancelRequest (F)."""

    session: str
    cl_ord_id: str
    orig_cl_ord_id: str | None  # None: named by OrderID alone (FIX 5.0SP2)
    order_id: str | None
    symbol: str | None
    side: Side
    poss_dup: bool = False


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """OrderCancelReplaceRequest (G): a new quantity and/or price for a working order, with
    the MiFID II order data as of the replace (see NewOrder)."""

    session: str
    cl_ord_id: str
    orig_cl_ord_id: str | None  # None: named by OrderID alone (FIX 5.0SP2)
    order_id: str | None
    symbol: str | None
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    poss_dup: bool = False
    parties: tuple[Party, ...] = ()
    order_capacity: str | None = None
    ex_destination: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """OrderStatusRequest (H), by ClOrdID or (FIX 5.0SP2) by OrderID alone."""

    session: str
    cl_ord_id: str | None
    order_id: str | None
    symbol: str | None
    side: Side
    status_req_id: str | None = None  # OrdStatusReqID (790), echoed on the answer


@dataclass(frozen=True, slots=True)
class RejectInput:
    """An inbound business message the codec could decode only far enough to refuse.

    kind: "order" (answer with a rejected ExecutionReport), "cancel"/"replace" (answer with
    OrderCancelReject), "business" (answer with BusinessMessageReject), "session" (answer
    with a session-level Reject, 35=3, naming ref_tag: a field no business code may read).
    """

    session: str
    kind: str
    text: str
    cl_ord_id: str | None = None
    orig_cl_ord_id: str | None = None
    symbol: str | None = None
    side: Side | None = None
    quantity: Decimal | None = None
    ord_type: OrdType | None = None
    time_in_force: TimeInForce | None = None
    price: Decimal | None = None
    """What the refused message said, where it could be read (a rejected ExecutionReport
    echoes it and invents nothing)."""
    ref_msg_type: str | None = None
    ref_seq_num: int | None = None
    reason: str | None = None
    ref_tag: int | None = None


@dataclass(frozen=True, slots=True)
class VenueExecution:
    """An ExecutionReport from a venue about one of our child orders."""

    venue: str
    mic: str
    child_id: str
    orig_child_id: str | None
    venue_order_id: str | None
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    last_qty: Decimal
    last_px: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    commission: Decimal | None
    text: str | None
    transact_time: datetime | None
    poss_dup: bool = False
    trade_id: str | None = None
    """TrdMatchID (880): the venue's transaction identification code of a fill."""
    liquidity: str | None = None
    """LastLiquidityInd (851) of a fill: 1 added liquidity, 2 removed, 3 routed out, 4 auction."""


@dataclass(frozen=True, slots=True)
class VenueTrade:
    """A TradeCaptureReport (AE) from a venue: one execution of one of our child orders,
    in answer to our TradeCaptureReportRequest (reconciliation after a reconnection).
    exec_id is the ExecID of the venue's ExecutionReport of the same fill, so a fill
    booked from either is booked once."""

    venue: str
    request_id: str
    child_id: str
    venue_order_id: str | None
    exec_id: str
    trade_id: str | None
    mic: str
    last_qty: Decimal
    last_px: Decimal
    commission: Decimal | None
    transact_time: datetime | None
    liquidity: str | None
    last: bool
    """LastRptRequested (912): the last report of the request."""


@dataclass(frozen=True, slots=True)
class VenueTradeQueryAck:
    """A TradeCaptureReportRequestAck (AQ): the venue took our request (and how many
    reports it will send) or refused it (unknown order, or it keeps no trade history)."""

    venue: str
    request_id: str
    accepted: bool
    total: int | None
    text: str | None


@dataclass(frozen=True, slots=True)
class VenueCancelReject:
    """OrderCancelReject (9) from a venue for a cancel/replace of one of our children."""

    venue: str
    child_id: str
    orig_child_id: str
    ord_status: OrdStatus | None
    text: str | None


@dataclass(frozen=True, slots=True)
class VenueSessionStatus:
    """A venue session logged on or off."""

    venue: str
    logged_on: bool


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """A venue's visible book for one instrument: price levels, best first."""

    venue: str
    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


Command = (
    NewOrder
    | CancelOrder
    | ReplaceOrder
    | StatusRequest
    | RejectInput
    | VenueExecution
    | VenueTrade
    | VenueTradeQueryAck
    | VenueCancelReject
    | VenueSessionStatus
    | VenueQuote
)
