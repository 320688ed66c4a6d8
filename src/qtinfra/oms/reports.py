"""What the gateway tells a client, built from an order's state: ExecutionReports and
OrderCancelRejects. Pure functions: the caller gives the ExecID and the time, and records
the event; nothing here reads or changes state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from qtinfra.domain.commands import NewOrder, RejectInput, StatusRequest, VenueExecution
from qtinfra.domain.events import CancelRejected, ExecutionReport
from qtinfra.domain.orders import ZERO, Order
from qtinfra.domain.values import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    Instrument,
    OrdRejReason,
    OrdStatus,
)

NONE_ID = "NONE"
"""OrderID (and ClOrdID) of a report about an order the gateway never booked."""

# ExecRestatementReason (378) of unsolicited cancels and expiries (FIX 4.4).
BROKER_OPTION = "4"  # the kill switch
SYSTEM_FAILURE = "7"  # no venue is left to work the order
MARKET_OPTION = "8"  # the venue's close


class ReportOptions(TypedDict, total=False):
    """What a report may carry beyond the order's own state (see execution_report)."""

    text: str | None
    last_qty: Decimal | None
    last_px: Decimal | None
    last_mkt: str | None
    ord_rej_reason: OrdRejReason | None
    order_data: bool
    with_orig: bool
    restatement: str | None
    cl_ord_id: str | None
    status_req_id: str | None
    venue_fill: VenueExecution | None


def execution_report(
    order: Order,
    exec_type: ExecType,
    exec_id: str,
    now: datetime,
    *,
    text: str | None = None,
    last_qty: Decimal | None = None,
    last_px: Decimal | None = None,
    last_mkt: str | None = None,
    ord_rej_reason: OrdRejReason | None = None,
    order_data: bool = False,
    with_orig: bool = False,
    restatement: str | None = None,
    cl_ord_id: str | None = None,
    status_req_id: str | None = None,
    venue_fill: VenueExecution | None = None,
) -> ExecutionReport:
    """The report of an order's state. order_data: carry the order's MiFID II data (on New
    and Replaced, so the journal holds what the reports need). with_orig: the report
    answers a cancel or replace, so it carries OrigClOrdID (41); no other report does
    (FIX 4.4 Vol 4 matrices). restatement: ExecRestatementReason (378) of an unsolicited
    cancel. cl_ord_id: the ClOrdID the report answers, when not the order's own (a
    duplicate, a status request by an earlier ClOrdID). status_req_id: OrdStatusReqID (790)
    to echo. venue_fill: the venue's report of a fill, whose execution facts the report
    carries (its trade id, time, liquidity, child and ExecID)."""
    return ExecutionReport(
        session=order.session,
        order_id=order.order_id,
        cl_ord_id=cl_ord_id or order.cl_ord_id,
        orig_cl_ord_id=order.orig_cl_ord_id if with_orig else None,
        exec_id=exec_id,
        exec_type=exec_type,
        ord_status=order.status,
        symbol=order.instrument.symbol,
        isin=order.instrument.isin,
        side=order.side,
        ord_type=order.ord_type,
        time_in_force=order.time_in_force,
        order_qty=order.quantity,
        price=order.price,
        cum_qty=order.cum_qty,
        leaves_qty=order.leaves_qty,
        avg_px=order.avg_px,
        transact_time=now,
        account=order.account,
        last_qty=last_qty,
        last_px=last_px,
        last_mkt=last_mkt,
        text=text,
        ord_rej_reason=ord_rej_reason,
        currency=order.instrument.currency,
        decision_maker=order.decision_maker if order_data else None,
        executing_trader=order.executing_trader if order_data else None,
        order_capacity=order.order_capacity if order_data else None,
        ex_destination=order.ex_destination if order_data else None,
        exec_restatement_reason=restatement,
        ord_status_req_id=status_req_id,
        last_liquidity_ind=venue_fill.liquidity if venue_fill else None,
        venue_trade_id=venue_fill.trade_id if venue_fill else None,
        venue_transact_time=venue_fill.transact_time if venue_fill else None,
        child_id=(venue_fill.orig_child_id or venue_fill.child_id) if venue_fill else None,
        venue_exec_id=venue_fill.exec_id if venue_fill else None,
        reconciled=venue_fill is not None and venue_fill.exec_type is ExecType.ORDER_STATUS,
    )


def rejected_new_order(
    cmd: NewOrder | RejectInput,
    reason: OrdRejReason,
    text: str,
    exec_id: str,
    now: datetime,
    instrument: Instrument | None,
    account: str | None,
) -> ExecutionReport:
    """A rejected ExecutionReport for an order that was never booked (OrderID NONE). It
    echoes what the request said and invents nothing: a term the refused message did not
    carry readably is left out. The caller sees to it that the request has a Side (an
    ExecutionReport cannot go without one)."""
    new = isinstance(cmd, NewOrder)
    assert cmd.side is not None
    return ExecutionReport(
        session=cmd.session,
        order_id=NONE_ID,
        cl_ord_id=cmd.cl_ord_id or NONE_ID,
        orig_cl_ord_id=None,
        exec_id=exec_id,
        exec_type=ExecType.REJECTED,
        ord_status=OrdStatus.REJECTED,
        symbol=(instrument.symbol if instrument else cmd.symbol) or "NA",
        isin=instrument.isin if instrument else None,
        side=cmd.side,
        ord_type=cmd.ord_type,
        time_in_force=cmd.time_in_force,
        order_qty=cmd.quantity,
        price=cmd.price,
        cum_qty=ZERO,
        leaves_qty=ZERO,
        avg_px=ZERO,
        transact_time=now,
        account=account if new else None,
        text=text,
        ord_rej_reason=reason,
    )


def unknown_order_status(cmd: StatusRequest, exec_id: str, now: datetime) -> ExecutionReport:
    """The answer to a status request for an order nothing is known of: OrderID NONE,
    OrdStatus Rejected with OrdRejReason 5, what the request named echoed, no order terms
    invented (FIX 4.4 Vol 4)."""
    return ExecutionReport(
        session=cmd.session,
        order_id=NONE_ID,
        cl_ord_id=cmd.cl_ord_id or NONE_ID,
        orig_cl_ord_id=None,
        exec_id=exec_id,
        exec_type=ExecType.ORDER_STATUS,
        ord_status=OrdStatus.REJECTED,
        symbol=cmd.symbol or NONE_ID,
        isin=None,
        side=cmd.side,
        ord_type=None,
        time_in_force=None,
        order_qty=None,
        price=None,
        cum_qty=ZERO,
        leaves_qty=ZERO,
        avg_px=ZERO,
        transact_time=now,
        text="unknown order"
        + (f": ClOrdID {cmd.cl_ord_id}" if cmd.cl_ord_id else "")
        + (f" OrderID {cmd.order_id}" if cmd.order_id else ""),
        ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
        ord_status_req_id=cmd.status_req_id,
    )


def cancel_rejected(
    session: str,
    cl_ord_id: str,
    orig_cl_ord_id: str,
    response_to: CxlRejResponseTo,
    reason: CxlRejReason,
    text: str,
    now: datetime,
    order: Order | None = None,
) -> CancelRejected:
    """An OrderCancelReject: of the order it names, or (OrderID NONE) of none."""
    return CancelRejected(
        session=session,
        order_id=order.order_id if order else NONE_ID,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig_cl_ord_id,
        ord_status=order.status if order else OrdStatus.REJECTED,
        response_to=response_to,
        reason=reason,
        text=text,
        transact_time=now,
    )
