"""The gateway's messages to and from the venues, on its FIX 4.4 initiator sessions: child
orders, cancels and status requests out, the venues' ExecutionReports, OrderCancelRejects
and market data in, and the trade capture queries of reconciliation (TradeCaptureReport
Request AD out; TradeCaptureReportRequestAck AQ and TradeCaptureReport AE in, with the
venues' AggressorIndicator 1057 of fix_specs/FIX44-venues.xml). Pure translation between
FIX messages and domain commands and events, as fix/codec.py is for the clients."""

from __future__ import annotations

from decimal import Decimal

import quickfix as fix
import quickfix44 as qf44

from qtinfra.domain.commands import (
    VenueCancelReject,
    VenueExecution,
    VenueQuote,
    VenueTrade,
    VenueTradeQueryAck,
)
from qtinfra.domain.events import ChildCancelSent, ChildOrderSent, ChildStatusSent, TradeQuerySent
from qtinfra.domain.values import ExecType, OrdStatus
from qtinfra.fix.codec import (
    ISIN_SOURCE,
    build_message,
    fields,
    new_message,
    poss_dup,
)
from qtinfra.fix.wire import fmt_decimal, fmt_time, parse_time

EXEC_TYPES = {t.value: t for t in ExecType}
ORD_STATUSES = {s.value: s for s in OrdStatus}
ALL_TRADES = "0"
"""TradeRequestType (569): all trades matching the criteria given (the child's ClOrdID)."""
REQUEST_REJECTED = "2"
"""TradeRequestStatus (750) of a request the venue refused."""


def encode_child_new(ev: ChildOrderSent, micros: bool = True) -> fix.Message:
    body: list[str] = []
    add = body.append
    add(f"11={ev.child_id}")
    add(f"55={ev.symbol}")
    add(f"48={ev.isin}")
    add(f"22={ISIN_SOURCE}")
    add(f"54={ev.side.value}")
    add(f"38={fmt_decimal(ev.quantity)}")
    add(f"40={ev.ord_type.value}")
    if ev.price is not None:
        add(f"44={fmt_decimal(ev.price)}")
    add(f"59={ev.time_in_force.value}")
    add(f"60={fmt_time(ev.transact_time, micros)}")
    if ev.order_capacity is not None:
        add(f"528={ev.order_capacity}")
    msg = build_message("D", body)
    # The Parties group goes in as a group (a message parsed without a dictionary has no
    # groups, and would write its fields in tag order).
    for party in ev.parties:
        group = qf44.NewOrderSingle.NoPartyIDs()
        group.setField(448, party.party_id)
        if party.source is not None:
            group.setField(447, party.source)
        group.setField(452, str(party.role))
        if party.qualifier is not None:
            group.setField(2376, str(party.qualifier))
        msg.addGroup(group)
    return msg


def encode_child_cancel(ev: ChildCancelSent, micros: bool = True) -> fix.Message:
    body: list[str] = []
    add = body.append
    add(f"11={ev.child_id}")
    add(f"41={ev.orig_child_id}")
    add(f"55={ev.symbol}")
    add(f"54={ev.side.value}")
    add(f"38={fmt_decimal(ev.quantity)}")
    add(f"60={fmt_time(ev.transact_time, micros)}")
    return build_message("F", body)


def encode_child_status(ev: ChildStatusSent) -> fix.Message:
    body: list[str] = []
    add = body.append
    add(f"11={ev.child_id}")
    add(f"55={ev.symbol}")
    add(f"54={ev.side.value}")
    return build_message("H", body)


def encode_market_data_request(req_id: str, symbols: list[str], depth: int = 5) -> fix.Message:
    msg = new_message("V")
    msg.setField(262, req_id)
    msg.setField(263, "1")
    msg.setField(264, str(depth))
    msg.setField(265, "0")
    types = fix.Group(267, 269)
    for entry_type in ("0", "1"):
        types.setField(269, entry_type)
        msg.addGroup(types)
    syms = fix.Group(146, 55)
    for symbol in symbols:
        syms.setField(55, symbol)
        msg.addGroup(syms)
    return msg


def decode_venue_execution(msg: fix.Message, venue: str, mic: str) -> VenueExecution:
    f = fields(msg)
    g = f.__getitem__
    has = f.__contains__
    exec_type = EXEC_TYPES[g(150)]
    ord_status = ORD_STATUSES[g(39)]
    last_qty = Decimal(g(32)) if has(32) else Decimal(0)
    last_px = Decimal(g(31)) if has(31) else Decimal(0)
    if exec_type is ExecType.ORDER_STATUS and has(6):
        last_px = Decimal(g(6))
    return VenueExecution(
        venue=venue,
        mic=g(30) if has(30) else mic,
        child_id=g(11),
        orig_child_id=g(41) if has(41) else None,
        venue_order_id=g(37) if has(37) else None,
        exec_id=g(17),
        exec_type=exec_type,
        ord_status=ord_status,
        last_qty=last_qty,
        last_px=last_px,
        cum_qty=Decimal(g(14)) if has(14) else Decimal(0),
        leaves_qty=Decimal(g(151)) if has(151) else Decimal(0),
        commission=Decimal(g(12)) if has(12) else None,
        text=g(58) if has(58) else None,
        transact_time=parse_time(g(60)) if has(60) else None,
        poss_dup=poss_dup(f),
        trade_id=g(880) if has(880) else None,
        liquidity=g(851) if has(851) else None,
    )


def decode_venue_cancel_reject(msg: fix.Message, venue: str) -> VenueCancelReject:
    f = fields(msg)
    g = f.__getitem__
    has = f.__contains__
    status = ORD_STATUSES.get(g(39)) if has(39) else None
    if has(102) and g(102) == "1":
        status = None  # unknown order at the venue
    return VenueCancelReject(
        venue=venue,
        child_id=g(11),
        orig_child_id=g(41),
        ord_status=status,
        text=g(58) if has(58) else None,
    )


def decode_market_data(msg: fix.Message, venue: str) -> VenueQuote:
    symbol = msg.getField(55)
    bids: list[tuple[Decimal, Decimal]] = []
    asks: list[tuple[Decimal, Decimal]] = []
    count = int(msg.getField(268)) if msg.isSetField(268) else 0
    group = fix.Group(268, 269)
    for i in range(1, count + 1):
        msg.getGroup(i, group)
        if not (group.isSetField(270) and group.isSetField(271)):
            continue
        entry_type = group.getField(269)
        if entry_type not in ("0", "1"):
            continue  # trades, index values...: not part of the book the router walks
        level = (Decimal(group.getField(270)), Decimal(group.getField(271)))
        (bids if entry_type == "0" else asks).append(level)
    bids.sort(key=lambda lv: -lv[0])
    asks.sort(key=lambda lv: lv[0])
    return VenueQuote(venue=venue, symbol=symbol, bids=tuple(bids), asks=tuple(asks))


def encode_trade_query(ev: TradeQuerySent) -> fix.Message:
    """TradeCaptureReportRequest (AD): every trade of one child order, by its ClOrdID
    (and the venue's OrderID when known), as a snapshot."""
    body: list[str] = []
    add = body.append
    add(f"568={ev.request_id}")
    add(f"569={ALL_TRADES}")
    add("263=0")  # SubscriptionRequestType: snapshot, no updates
    if ev.venue_order_id:
        add(f"37={ev.venue_order_id}")
    add(f"11={ev.child_id}")
    add(f"55={ev.symbol}")
    add(f"54={ev.side.value}")
    return build_message("AD", body)


def decode_trade_query_ack(msg: fix.Message, venue: str) -> VenueTradeQueryAck:
    """TradeCaptureReportRequestAck (AQ): accepted (with TotNumTradeReports 748) or not."""
    f = fields(msg)
    total = f.get(748)
    return VenueTradeQueryAck(
        venue=venue,
        request_id=f[568],
        accepted=f.get(750) != REQUEST_REJECTED and f.get(749, "0") == "0",
        total=int(total) if total is not None and total.isdigit() else None,
        text=f.get(58),
    )


def refuses_trade_query(msg: fix.Message) -> bool:
    """A BusinessMessageReject (j) of one of our TradeCaptureReportRequests (RefMsgType
    372 AD, BusinessRejectRefID 379 its TradeRequestID): a venue that does not support it."""
    f = fields(msg)
    return f.get(372) == "AD" and 379 in f


def decode_trade_query_refusal(msg: fix.Message, venue: str) -> VenueTradeQueryAck:
    """That BusinessMessageReject as a refused request."""
    f = fields(msg)
    return VenueTradeQueryAck(
        venue=venue, request_id=f[379], accepted=False, total=None, text=f.get(58)
    )


def decode_venue_trade(msg: fix.Message, venue: str, mic: str) -> VenueTrade:
    """TradeCaptureReport (AE): one execution of our order (its side is the one group
    entry; AggressorIndicator 1057 Y: our order took liquidity, LastLiquidityInd 2)."""
    f = fields(msg)
    aggressor = f.get(1057)
    return VenueTrade(
        venue=venue,
        request_id=f.get(568, ""),
        child_id=f.get(11, ""),
        venue_order_id=f.get(37),
        exec_id=f.get(17) or f[571],
        trade_id=f.get(880),
        mic=f.get(30) or mic,
        last_qty=Decimal(f[32]),
        last_px=Decimal(f[31]),
        commission=Decimal(f[12]) if 12 in f else None,
        transact_time=parse_time(f[60]) if 60 in f else None,
        liquidity=None if aggressor is None else ("2" if aggressor == "Y" else "1"),
        last=f.get(912) == "Y",
    )


def encode_venue_event(
    event: ChildOrderSent | ChildCancelSent | ChildStatusSent | TradeQuerySent,
    micros: bool = True,
) -> fix.Message:
    """The message a venue event becomes on its venue session."""
    if isinstance(event, ChildOrderSent):
        return encode_child_new(event, micros)
    if isinstance(event, ChildCancelSent):
        return encode_child_cancel(event, micros)
    if isinstance(event, ChildStatusSent):
        return encode_child_status(event)
    return encode_trade_query(event)
