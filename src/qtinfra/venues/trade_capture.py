"""The venue's trade capture messages (FIX 4.4, fix_specs/FIX44-venues.xml): a member's
TradeCaptureReportRequest (AD) into a TradeQuery, and the answer out as a
TradeCaptureReportRequestAck (AQ) and TradeCaptureReports (AE).

What the venue supports, as its rules of engagement would say: TradeRequestType (569) 0
(all trades matching the criteria) as a snapshot (SubscriptionRequestType 263 absent or
0); the criteria are the member's order, by ClOrdID (11, any of its chain) or the venue's
OrderID (37). Each AE carries the ExecID (17) of the ExecutionReport that reported the
fill, its TrdMatchID (880), LastQty/LastPx/LastMkt, TradeDate and TransactTime as
reported, PreviouslyReported (570) Y, and one side: the member's Side, OrderID, ClOrdID,
its commission (12/13) and AggressorIndicator (1057: Y when the order took liquidity).
"""

from __future__ import annotations

import quickfix as fix
import quickfix44 as fix44

from qtinfra.errors import ValidationError
from qtinfra.fix.wire import fmt_decimal, fmt_time
from qtinfra.venues.trades import TradeQuery, TradeQueryAck, TradeReport

ALL_TRADES = "0"
SNAPSHOT = "0"
_RESULT_SUCCESSFUL = "0"
_RESULT_NOT_SUPPORTED = "8"
_RESULT_OTHER = "99"
_STATUS_ACCEPTED = "0"
_STATUS_REJECTED = "2"
_ISIN = "4"
_COMM_TYPE_ABSOLUTE = "3"


class UnsupportedQuery(ValidationError):
    """A TradeCaptureReportRequest the venue does not serve; answered with an AQ."""

    def __init__(self, request_id: str, result: str, text: str) -> None:
        super().__init__(text)
        self.request_id = request_id
        self.result = result


def decode_trade_query(message: fix.Message, owner: str) -> TradeQuery:
    """The request as a TradeQuery; UnsupportedQuery (with the TradeRequestID) for one the
    venue does not serve, ValidationError when it has no TradeRequestID at all."""

    def optional(tag: int) -> str | None:
        return message.getField(tag) if message.isSetField(tag) else None

    request_id = optional(568)
    if not request_id:
        raise ValidationError("missing TradeRequestID (568)")
    if optional(569) != ALL_TRADES:
        raise UnsupportedQuery(
            request_id, _RESULT_NOT_SUPPORTED, "only TradeRequestType (569) 0 (all trades)"
        )
    if optional(263) not in (None, SNAPSHOT):
        raise UnsupportedQuery(
            request_id, _RESULT_NOT_SUPPORTED, "only snapshots (SubscriptionRequestType 263 0)"
        )
    cl_ord_id, order_id = optional(11), optional(37)
    if not cl_ord_id and not order_id:
        raise UnsupportedQuery(
            request_id, _RESULT_OTHER, "name the order: ClOrdID (11) or OrderID (37)"
        )
    return TradeQuery(owner, request_id, cl_ord_id, order_id, optional(55))


def encode_ack(ack: TradeQueryAck) -> fix.Message:
    msg = fix44.TradeCaptureReportRequestAck()
    msg.setField(568, ack.request_id)
    msg.setField(569, ALL_TRADES)
    msg.setField(748, str(ack.total))
    msg.setField(749, _RESULT_SUCCESSFUL if ack.accepted else _RESULT_OTHER)
    msg.setField(750, _STATUS_ACCEPTED if ack.accepted else _STATUS_REJECTED)
    msg.setField(55, ack.symbol or "[N/A]")
    if ack.text is not None:
        msg.setField(58, ack.text)
    return msg


def encode_unsupported(refusal: UnsupportedQuery, symbol: str | None) -> fix.Message:
    msg = fix44.TradeCaptureReportRequestAck()
    msg.setField(568, refusal.request_id)
    msg.setField(569, ALL_TRADES)
    msg.setField(748, "0")
    msg.setField(749, refusal.result)
    msg.setField(750, _STATUS_REJECTED)
    msg.setField(55, symbol or "[N/A]")
    msg.setField(58, str(refusal))
    return msg


def encode_report(report: TradeReport) -> fix.Message:
    trade = report.trade
    msg = fix44.TradeCaptureReport()
    msg.setField(571, report.report_id)
    msg.setField(568, report.request_id)
    msg.setField(748, str(report.total))
    msg.setField(912, "Y" if report.last else "N")
    msg.setField(880, trade.trade_id)
    msg.setField(17, trade.exec_id)
    msg.setField(150, "F")
    msg.setField(570, "Y")  # PreviouslyReported: in the ExecutionReport of the fill
    msg.setField(55, trade.symbol)
    if trade.security_id is not None:
        msg.setField(48, trade.security_id)
        msg.setField(22, _ISIN)
    msg.setField(32, fmt_decimal(trade.last_qty))
    msg.setField(31, fmt_decimal(trade.last_px))
    msg.setField(30, trade.last_mkt)
    msg.setField(75, trade.transact_time.strftime("%Y%m%d"))
    msg.setField(60, fmt_time(trade.transact_time))
    side = fix44.TradeCaptureReport.NoSides()
    side.setField(54, trade.side.value)
    side.setField(37, trade.order_id)
    side.setField(11, report.cl_ord_id)
    if trade.commission is not None:
        side.setField(12, fmt_decimal(trade.commission))
        side.setField(13, _COMM_TYPE_ABSOLUTE)
    side.setField(1057, "Y" if trade.aggressor else "N")
    msg.addGroup(side)
    return msg
