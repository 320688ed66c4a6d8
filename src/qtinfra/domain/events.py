"""Events: what happened, as the order manager decided it. Each is journaled before the
message it causes leaves the gateway; the FIX codec turns them into messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from qtinfra.domain.commands import Party
from qtinfra.domain.values import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """A client order's state change, reported to the client as an ExecutionReport (8)."""

    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    isin: str | None
    side: Side
    ord_type: OrdType | None  # None only on the status answer for an unknown order
    time_in_force: TimeInForce | None
    order_qty: Decimal | None
    price: Decimal | None
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    transact_time: datetime
    account: str | None = None
    last_qty: Decimal | None = None
    last_px: Decimal | None = None
    last_mkt: str | None = None
    text: str | None = None
    ord_rej_reason: OrdRejReason | None = None
    currency: str | None = None
    # The order's MiFID II data, on New and Replaced reports only (journal, not FIX).
    decision_maker: Party | None = None
    executing_trader: Party | None = None
    order_capacity: str | None = None
    ex_destination: str | None = None
    exec_restatement_reason: str | None = None
    """ExecRestatementReason (378) on an unsolicited cancel or expiry: 4 broker option
    (the kill switch), 7 cancel on system failure (no venue left), 8 market option (the
    venue cancelled, or its trading day ended)."""
    ord_status_req_id: str | None = None
    """OrdStatusReqID (790) echoed on the answer to an OrderStatusRequest that had one."""
    # The venue's execution facts, on fills (journal; 851 also goes to the client): RTS 22
    # fields 3 (venue transaction id), 28 (trading date time) and 36 (LastMkt as the venue
    # sent it) and RTS 24 come from them.
    last_liquidity_ind: str | None = None
    venue_trade_id: str | None = None
    venue_transact_time: datetime | None = None
    child_id: str | None = None
    venue_exec_id: str | None = None
    reconciled: bool = False
    """A fill booked by reconciliation after a reconnection: the quantity the venue's
    OrderStatus (CumQty/AvgPx) showed that no execution report brought, at the price that
    makes the child's value match; not one of the venue's executions (no trade id, no
    execution time of its own)."""

    @property
    def event_of(self) -> str | None:
        """The order this report is an event of, for the journal's index. None for a
        refused request that only names an order: a duplicate ClOrdID answered with the
        existing order's status (ExecType Rejected, OrdStatus not Rejected)."""
        if self.exec_type is ExecType.REJECTED and self.ord_status is not OrdStatus.REJECTED:
            return None
        return self.order_id


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """OrderCancelReject (9) to the client."""

    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: OrdStatus
    response_to: CxlRejResponseTo
    reason: CxlRejReason
    text: str
    transact_time: datetime


@dataclass(frozen=True, slots=True)
class BusinessRejected:
    """BusinessMessageReject (j) to the client."""

    session: str
    ref_msg_type: str
    reason: str
    text: str
    ref_seq_num: int | None = None
    ref_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionRejected:
    """A session-level Reject (3) to the client: a message refused before any business
    code read it (a field not printable ASCII, or too long)."""

    session: str
    ref_seq_num: int | None
    ref_msg_type: str | None
    ref_tag: int | None
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class ChildOrderSent:
    """A child order routed to a venue (NewOrderSingle on the venue session)."""

    venue: str
    child_id: str
    order_id: str
    symbol: str
    isin: str
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    transact_time: datetime
    parties: tuple[Party, ...] = ()
    """The MiFID II order data a venue needs (RTS 24): the client's short code (PartyRole
    3), the investment decision maker when the firm decided (122) and the executing trader
    or algorithm (12), all as short codes (PartyIDSource P)."""
    order_capacity: str | None = None
    """OrderCapacity (528): A agency, P principal, R riskless principal."""


@dataclass(frozen=True, slots=True)
class ChildCancelSent:
    """OrderCancelRequest for a child order on the venue session."""

    venue: str
    child_id: str
    orig_child_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    transact_time: datetime


@dataclass(frozen=True, slots=True)
class ChildStatusSent:
    """OrderStatusRequest for a child order on the venue session (reconciliation)."""

    venue: str
    child_id: str
    symbol: str
    side: Side


@dataclass(frozen=True, slots=True)
class TradeQuerySent:
    """TradeCaptureReportRequest (AD) for one child order's executions on the venue
    session: after a reconnection the venue's OrderStatus showed more filled than the
    gateway booked, so it asks for each execution (price, time, trade id) to book them one
    by one."""

    venue: str
    request_id: str
    child_id: str
    venue_order_id: str | None
    symbol: str
    side: Side


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    """The kill switch (RTS 6 Art. 12): a trading state set by an operator, with who and
    why. scope: firm, session or client; target: the session or Account ("" firm-wide)."""

    scope: str
    target: str
    state: str
    reason: str
    actor: str
    orders_canceled: int
    transact_time: datetime


@dataclass(frozen=True, slots=True)
class LimitsChanged:
    """The risk configuration was reloaded in the running gateway, with who and why.
    source: the files applied (risk.toml, accounts.toml); digest: SHA-256 over their bytes
    in that order; changes: what differs, one line per limit."""

    actor: str
    reason: str
    source: str
    digest: str
    changes: str
    transact_time: datetime


Event = (
    ExecutionReport
    | CancelRejected
    | BusinessRejected
    | SessionRejected
    | ChildOrderSent
    | ChildCancelSent
    | ChildStatusSent
    | TradeQuerySent
    | TradingStateChanged
    | LimitsChanged
)
ClientEvent = ExecutionReport | CancelRejected | BusinessRejected | SessionRejected
VenueEvent = ChildOrderSent | ChildCancelSent | ChildStatusSent | TradeQuerySent
