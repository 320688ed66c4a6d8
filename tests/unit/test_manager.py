"""The order manager, driven with commands as the FIX codec would build them.

Each test reads the outbox the way the gateway does: the ExecutionReports the client gets,
the child orders sent to venues, and the rows the journal writer will persist.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from qtinfra.domain.child_orders import ChildOrder
from qtinfra.domain.commands import (
    CancelOrder,
    NewOrder,
    RejectInput,
    ReplaceOrder,
    StatusRequest,
    VenueCancelReject,
    VenueExecution,
    VenueQuote,
    VenueSessionStatus,
    VenueTrade,
    VenueTradeQueryAck,
)
from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    ChildCancelSent,
    ChildOrderSent,
    ChildStatusSent,
    ExecutionReport,
    TradeQuerySent,
)
from qtinfra.domain.values import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    Instrument,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from qtinfra.oms.manager import NONE_ID, OrderManager, Outbox

D = Decimal
NOW = datetime(2025, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)
S1 = "FIX.4.4:QTGW->CLIENT1"
S2 = "FIX.4.4:QTGW->CLIENT2"
VENUES = ("CBOE", "TRQ", "AQX")
FEES = {"CBOE": D("0.30"), "TRQ": D("0.28"), "AQX": D("0.20")}
MICS = {"CBOE": "CEUX", "TRQ": "TRQX", "AQX": "AQXE"}
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), VENUES)
JPM = Instrument("JPM", "US46625H1005", "USD", D("0.01"), D("1"), D("200.00"), ("TRQ", "AQX"))
SHEL = Instrument("SHEL", "GB00BP6MXD84", "GBP", D("0.5"), D("1"), D("2700.0"), VENUES)

_venue_exec_ids = itertools.count(1)


# -- helpers -----------------------------------------------------------------------------------


def make_manager(up: tuple[str, ...] = VENUES) -> OrderManager:
    m = OrderManager([AAPL, JPM, SHEL], FEES, MICS, lambda: NOW, "QT")
    for venue in up:
        m.handle(VenueSessionStatus(venue, True))
    m.take_outbox()
    return m


def new(
    cl_ord_id: str = "C1",
    quantity: str = "100",
    price: str | None = "190.00",
    *,
    side: Side = Side.BUY,
    tif: TimeInForce = TimeInForce.DAY,
    symbol: str | None = "AAPL",
    isin: str | None = None,
    session: str = S1,
    poss_dup: bool = False,
    account: str | None = "ACC1",
) -> NewOrder:
    return NewOrder(
        session=session,
        cl_ord_id=cl_ord_id,
        symbol=symbol,
        isin=isin,
        side=side,
        ord_type=OrdType.LIMIT if price is not None else OrdType.MARKET,
        time_in_force=tif,
        quantity=D(quantity),
        price=D(price) if price is not None else None,
        account=account,
        poss_dup=poss_dup,
    )


def cancel(
    cl_ord_id: str = "C2",
    orig: str = "C1",
    *,
    side: Side = Side.BUY,
    symbol: str | None = "AAPL",
    order_id: str | None = None,
    session: str = S1,
) -> CancelOrder:
    return CancelOrder(session, cl_ord_id, orig, order_id, symbol, side)


def replace(
    quantity: str,
    price: str | None,
    cl_ord_id: str = "C2",
    orig: str = "C1",
    *,
    ord_type: OrdType = OrdType.LIMIT,
    tif: TimeInForce = TimeInForce.DAY,
) -> ReplaceOrder:
    return ReplaceOrder(
        S1,
        cl_ord_id,
        orig,
        None,
        "AAPL",
        Side.BUY,
        ord_type,
        tif,
        D(quantity),
        D(price) if price is not None else None,
    )


def venue_report(
    m: OrderManager,
    child_id: str,
    exec_type: ExecType,
    ord_status: OrdStatus,
    *,
    last_qty: str = "0",
    last_px: str = "0",
    exec_id: str | None = None,
    orig_child_id: str | None = None,
    cum_qty: str | None = None,
) -> VenueExecution:
    child = m.children[orig_child_id or child_id]
    cum = D(cum_qty) if cum_qty is not None else child.cum_qty + D(last_qty)
    return VenueExecution(
        venue=child.venue,
        mic=MICS[child.venue],
        child_id=child_id,
        orig_child_id=orig_child_id,
        venue_order_id=f"{child.venue}-{child.child_id}",
        exec_id=exec_id or f"{child.venue}-X{next(_venue_exec_ids)}",
        exec_type=exec_type,
        ord_status=ord_status,
        last_qty=D(last_qty),
        last_px=D(last_px),
        cum_qty=cum,
        leaves_qty=child.quantity - cum,
        commission=None,
        text=None,
        transact_time=NOW,
    )


def ack(m: OrderManager, child_id: str) -> Outbox:
    m.handle(venue_report(m, child_id, ExecType.NEW, OrdStatus.NEW))
    return m.take_outbox()


def fill(m: OrderManager, child_id: str, qty: str, px: str, exec_id: str | None = None) -> Outbox:
    child = m.children[child_id]
    done = child.cum_qty + D(qty) >= child.quantity
    status = OrdStatus.FILLED if done else OrdStatus.PARTIALLY_FILLED
    m.handle(
        venue_report(m, child_id, ExecType.TRADE, status, last_qty=qty, last_px=px, exec_id=exec_id)
    )
    return m.take_outbox()


def venue_canceled(m: OrderManager, child_id: str, *, requested: bool = True) -> Outbox:
    """The venue's Canceled report: for our cancel request (ClOrdID child.X) or unsolicited."""
    if requested:
        cmd = venue_report(
            m, f"{child_id}.X", ExecType.CANCELED, OrdStatus.CANCELED, orig_child_id=child_id
        )
    else:
        cmd = venue_report(m, child_id, ExecType.CANCELED, OrdStatus.CANCELED)
    m.handle(cmd)
    return m.take_outbox()


def venue_rejected(m: OrderManager, child_id: str) -> Outbox:
    m.handle(venue_report(m, child_id, ExecType.REJECTED, OrdStatus.REJECTED))
    return m.take_outbox()


def reports(out: Outbox) -> list[ExecutionReport]:
    return [e for e in out.events if isinstance(e, ExecutionReport)]


def one_report(out: Outbox) -> ExecutionReport:
    found = reports(out)
    assert len(found) == 1, out.events
    return found[0]


def sent(out: Outbox) -> list[ChildOrderSent]:
    return [e for e in out.events if isinstance(e, ChildOrderSent)]


def cancels_sent(out: Outbox) -> list[ChildCancelSent]:
    return [e for e in out.events if isinstance(e, ChildCancelSent)]


def cancel_rejects(out: Outbox) -> list[CancelRejected]:
    return [e for e in out.events if isinstance(e, CancelRejected)]


def placed(m: OrderManager, command: NewOrder | None = None) -> tuple[Outbox, list[ChildOrder]]:
    """Send a new order; return the outbox and its child orders."""
    m.handle(command or new())
    out = m.take_outbox()
    children = [m.children[c.child_id] for c in sent(out)]
    return out, children


def quote(venue: str, asks: tuple[tuple[str, str], ...], bids=()) -> VenueQuote:  # type: ignore[no-untyped-def]
    return VenueQuote(
        venue,
        "AAPL",
        tuple((D(p), D(q)) for p, q in bids),
        tuple((D(p), D(q)) for p, q in asks),
    )


# -- new orders ---------------------------------------------------------------------------------


def test_new_order_is_acknowledged_and_routed_to_a_venue() -> None:
    m = make_manager()
    out, _children = placed(m)
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.NEW, OrdStatus.NEW)
    assert (er.order_id, er.cl_ord_id, er.orig_cl_ord_id) == ("QT1", "C1", None)
    assert (er.order_qty, er.cum_qty, er.leaves_qty, er.avg_px) == (D(100), 0, D(100), 0)
    assert (er.symbol, er.isin, er.currency, er.account) == (
        "AAPL",
        "US0378331005",
        "USD",
        "ACC1",
    )
    assert er.transact_time == NOW
    [child] = sent(out)
    assert (child.venue, child.quantity, child.price, child.isin) == (
        "CBOE",
        D(100),
        D("190.00"),
        "US0378331005",
    )
    assert child.order_id == "QT1"
    # The report goes before the child order.
    assert out.events.index(er) < out.events.index(child)


def test_new_order_rows_are_in_the_outbox() -> None:
    m = make_manager()
    out, children = placed(m)
    assert out.new_orders == {"QT1"}
    assert out.orders["QT1"].status is OrdStatus.NEW
    assert out.new_children == {children[0].child_id}
    assert set(out.children) == {children[0].child_id}
    assert out.cl_ord_ids == [(S1, "C1", "QT1")]
    assert out.executions == []


def test_order_named_by_isin_only_is_accepted() -> None:
    m = make_manager()
    out, _ = placed(m, new(symbol=None, isin="US0378331005"))
    assert one_report(out).ord_status is OrdStatus.NEW


def test_order_larger_than_the_best_venue_is_split_with_one_child_per_venue() -> None:
    m = make_manager()
    m.handle(quote("CBOE", asks=(("190.00", "30"),)))
    m.handle(quote("TRQ", asks=(("190.00", "500"),)))
    out, children = placed(m)
    # TRQ's fee (0.28 bps) beats CBOE's (0.30 bps) at the same price.
    assert [(c.venue, c.quantity) for c in sent(out)] == [("TRQ", D(100))]
    m.handle(quote("TRQ", asks=(("190.01", "70"),)))
    out, children = placed(m, new("C2", price="190.01"))
    assert {c.venue: c.quantity for c in sent(out)} == {"CBOE": D(30), "TRQ": D(70)}
    assert {c.child_id for c in children} == out.new_children
    assert sum(c.quantity for c in children) == D(100)


def test_duplicate_clordid_is_rejected_with_the_existing_orders_status_and_not_booked() -> None:
    # FIX 4.4 Vol 4 F.1.b: ExecType Rejected, OrdRejReason 6, OrdStatus and quantities of
    # the order the ClOrdID already names (so the client keeps that order as it is).
    m = make_manager()
    placed(m)
    m.handle(new("C1", quantity="50"))
    out = m.take_outbox()
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.REJECTED, OrdStatus.NEW)
    assert er.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER
    assert (er.order_id, er.cl_ord_id, er.order_qty, er.leaves_qty) == ("QT1", "C1", D(100), D(100))
    assert er.text is not None and er.text.startswith("duplicate ClOrdID C1 on this session")
    assert sent(out) == []
    assert not out.orders and not out.cl_ord_ids
    assert len(m.orders) == 1


def test_same_clordid_on_another_session_is_a_new_order() -> None:
    m = make_manager()
    placed(m)
    out, _ = placed(m, new("C1", session=S2))
    er = one_report(out)
    assert (er.ord_status, er.order_id, er.session) == (OrdStatus.NEW, "QT2", S2)


def test_poss_dup_resend_is_answered_with_current_state_and_not_booked_twice() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00")
    m.handle(new("C1", poss_dup=True))
    out = m.take_outbox()
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.ORDER_STATUS, OrdStatus.PARTIALLY_FILLED)
    assert (er.order_id, er.cum_qty, er.leaves_qty) == ("QT1", D(40), D(60))
    assert er.text == "possible duplicate: order already received"
    assert sent(out) == [] and not out.orders and not out.cl_ord_ids
    assert list(m.orders) == ["QT1"]


def test_poss_dup_resend_of_a_done_order_still_gets_its_state() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "100", "190.00")
    assert "QT1" not in m.orders  # done and forgotten from the live book
    m.handle(new("C1", poss_dup=True))
    er = one_report(m.take_outbox())
    assert (er.exec_type, er.ord_status, er.cum_qty) == (
        ExecType.ORDER_STATUS,
        OrdStatus.FILLED,
        D(100),
    )


def test_poss_dup_of_an_order_never_seen_is_booked_normally() -> None:
    m = make_manager()
    out, _ = placed(m, new("C7", poss_dup=True))
    assert one_report(out).ord_status is OrdStatus.NEW


@pytest.mark.parametrize(
    ("command", "reason", "text"),
    [
        (new(symbol="TSLA"), OrdRejReason.UNKNOWN_SYMBOL, "unknown instrument: Symbol TSLA"),
        (
            new(symbol="AAPL", isin="GB00BP6MXD84"),
            OrdRejReason.UNKNOWN_SYMBOL,
            "Symbol AAPL and SecurityID GB00BP6MXD84 name different instruments "
            "(AAPL is US0378331005)",
        ),
        (new(quantity="0"), OrdRejReason.INCORRECT_QUANTITY, "OrderQty 0 must be positive"),
        (
            new(price="190.001"),
            OrdRejReason.INVALID_PRICE_INCREMENT,
            "Price 190.001 is not a multiple of the tick size 0.01 for AAPL",
        ),
        (
            new(price=None, tif=TimeInForce.GTC),
            OrdRejReason.OTHER,
            "a market order cannot be good-till-cancel",
        ),
    ],
)
def test_invalid_order_is_rejected_with_reason_and_text(
    command: NewOrder, reason: OrdRejReason, text: str
) -> None:
    m = make_manager()
    m.handle(command)
    out = m.take_outbox()
    er = one_report(out)
    assert (er.exec_type, er.ord_status, er.ord_rej_reason, er.text) == (
        ExecType.REJECTED,
        OrdStatus.REJECTED,
        reason,
        text,
    )
    assert (er.cum_qty, er.leaves_qty) == (0, 0)
    assert sent(out) == [] and not out.orders and not m.orders


def test_order_with_no_venue_up_is_rejected_exchange_closed_and_recorded() -> None:
    m = make_manager(up=())
    m.handle(new())
    out = m.take_outbox()
    er = one_report(out)
    assert (er.ord_status, er.ord_rej_reason) == (OrdStatus.REJECTED, OrdRejReason.EXCHANGE_CLOSED)
    assert er.order_id == "QT1"
    assert er.text is not None and "no venue session is available for AAPL" in er.text
    assert out.orders["QT1"].status is OrdStatus.REJECTED
    assert out.cl_ord_ids == [(S1, "C1", "QT1")]


def test_order_is_routed_only_to_venues_that_trade_it() -> None:
    m = make_manager(up=("CBOE", "AQX"))
    out, _ = placed(m, new(symbol="JPM", price="200.00"))
    assert [c.venue for c in sent(out)] == ["AQX"]


# -- fills -------------------------------------------------------------------------------------


def test_fills_from_two_venues_give_exact_cum_qty_avg_px_and_last_mkt() -> None:
    m = make_manager()
    m.handle(quote("CBOE", asks=(("190.00", "30"),)))
    m.handle(quote("TRQ", asks=(("190.01", "70"),)))
    _, children = placed(m, new(price="190.01"))
    by_venue = {c.venue: c for c in children}

    out1 = fill(m, by_venue["CBOE"].child_id, "30", "190.00")
    er1 = one_report(out1)
    assert (er1.exec_type, er1.ord_status) == (ExecType.TRADE, OrdStatus.PARTIALLY_FILLED)
    assert (er1.last_qty, er1.last_px, er1.last_mkt) == (D(30), D("190.00"), "CEUX")
    assert (er1.cum_qty, er1.leaves_qty, er1.avg_px) == (D(30), D(70), D("190.00"))

    out2 = fill(m, by_venue["TRQ"].child_id, "70", "190.01")
    er2 = one_report(out2)
    assert (er2.exec_type, er2.ord_status) == (ExecType.TRADE, OrdStatus.FILLED)
    assert (er2.last_qty, er2.last_px, er2.last_mkt) == (D(70), D("190.01"), "TRQX")
    assert (er2.cum_qty, er2.leaves_qty) == (D(100), D(0))
    assert er2.avg_px == D("190.007")  # (30 * 190.00 + 70 * 190.01) / 100
    assert isinstance(er2.avg_px, Decimal)

    [ex] = out2.executions
    assert (ex.exec_id, ex.order_id, ex.child_id) == (er2.exec_id, "QT1", by_venue["TRQ"].child_id)
    assert (ex.venue, ex.mic, ex.quantity, ex.price) == ("TRQ", "TRQX", D(70), D("190.01"))
    assert ex.venue_exec_id.startswith("TRQ-X")
    assert out2.orders["QT1"].cum_qty == D(100)
    assert out2.children[by_venue["TRQ"].child_id].status is OrdStatus.FILLED


def test_many_small_fills_keep_avg_px_exact() -> None:
    m = make_manager()
    _, [child] = placed(m, new(quantity="3", price="10.00"))
    fill(m, child.child_id, "1", "10.00")
    fill(m, child.child_id, "1", "9.99")
    er = one_report(fill(m, child.child_id, "1", "9.99"))
    assert er.avg_px == D("9.99333333")
    assert m.done_orders["QT1"].notional == D("29.98")


def test_duplicate_venue_exec_id_is_ignored() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00", exec_id="CBOE-E1")
    again = fill(m, child.child_id, "40", "190.00", exec_id="CBOE-E1")
    assert not again
    assert m.orders["QT1"].cum_qty == D(40)


def test_venue_ack_changes_the_child_but_tells_the_client_nothing() -> None:
    m = make_manager()
    _, [child] = placed(m)
    out = ack(m, child.child_id)
    assert reports(out) == []
    assert out.children[child.child_id].status is OrdStatus.NEW
    assert out.children[child.child_id].venue_order_id == f"CBOE-{child.child_id}"


def test_report_for_an_unknown_child_is_ignored() -> None:
    m = make_manager()
    placed(m)
    m.handle(
        VenueExecution(
            "CBOE",
            "CEUX",
            "NOPE.1",
            None,
            None,
            "E1",
            ExecType.TRADE,
            OrdStatus.FILLED,
            D(1),
            D(1),
            D(1),
            D(0),
            None,
            None,
            NOW,
        )
    )
    assert not m.take_outbox()


# -- cancel ------------------------------------------------------------------------------------


def _split_order(m: OrderManager) -> list[ChildOrder]:
    m.handle(quote("CBOE", asks=(("190.00", "30"),)))
    m.handle(quote("TRQ", asks=(("190.01", "70"),)))
    _, children = placed(m, new(price="190.01"))
    assert len(children) == 2
    return children


def test_cancel_is_pending_until_every_child_is_canceled() -> None:
    m = make_manager()
    a, b = _split_order(m)
    fill(m, a.child_id, "10", "190.00")

    m.handle(cancel())
    out = m.take_outbox()
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.PENDING_CANCEL, OrdStatus.PENDING_CANCEL)
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.cum_qty, er.leaves_qty) == (D(10), D(90))
    assert {(c.venue, c.orig_child_id) for c in cancels_sent(out)} == {
        ("CBOE", a.child_id),
        ("TRQ", b.child_id),
    }
    assert out.cl_ord_ids == [(S1, "C2", "QT1")]

    first = venue_canceled(m, a.child_id)
    assert reports(first) == []
    assert m.orders["QT1"].status is OrdStatus.PENDING_CANCEL

    last = venue_canceled(m, b.child_id)
    er = one_report(last)
    assert (er.exec_type, er.ord_status) == (ExecType.CANCELED, OrdStatus.CANCELED)
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.cum_qty, er.leaves_qty, er.avg_px) == (D(10), D(0), D("190.00"))
    assert last.orders["QT1"].status is OrdStatus.CANCELED
    assert "QT1" in m.done_orders and "QT1" not in m.orders


def test_cancel_by_the_cancels_clordid_chain() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(cancel("C2", "C1"))
    venue_canceled(m, child.child_id)
    m.handle(cancel("C3", "C2"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.TOO_LATE_TO_CANCEL
    assert rej.ord_status is OrdStatus.CANCELED


def test_fill_racing_a_cancel_is_still_reported_then_the_order_is_canceled() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(cancel())
    m.take_outbox()
    out = fill(m, child.child_id, "40", "190.02")
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.TRADE, OrdStatus.PENDING_CANCEL)
    assert (er.last_qty, er.cum_qty, er.leaves_qty) == (D(40), D(40), D(60))
    er = one_report(venue_canceled(m, child.child_id))
    assert (er.ord_status, er.cum_qty, er.avg_px) == (OrdStatus.CANCELED, D(40), D("190.02"))


def test_fill_completing_the_order_during_a_cancel_rejects_the_cancel_too_late() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00")
    m.handle(cancel())
    m.take_outbox()
    out = fill(m, child.child_id, "60", "190.00")
    er = one_report(out)
    # OrdStatus precedence (FIX 4.4 Vol 4): Pending Cancel over Filled on the fill's report;
    # the cancel is then refused and the reject says Filled.
    assert (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty) == (
        ExecType.TRADE,
        OrdStatus.PENDING_CANCEL,
        D(100),
        D(0),
    )
    [rej] = cancel_rejects(out)
    assert (rej.cl_ord_id, rej.orig_cl_ord_id, rej.order_id) == ("C2", "C1", "QT1")
    assert (rej.reason, rej.response_to, rej.ord_status) == (
        CxlRejReason.TOO_LATE_TO_CANCEL,
        CxlRejResponseTo.CANCEL,
        OrdStatus.FILLED,
    )
    assert rej.text == "too late to cancel: order is FILLED with CumQty 100"
    assert out.events.index(er) < out.events.index(rej)
    assert out.orders["QT1"].pending is None


def test_cancel_of_unknown_order_is_rejected_with_unknown_order() -> None:
    m = make_manager()
    m.handle(cancel("C2", "NOPE"))
    [rej] = cancel_rejects(m.take_outbox())
    assert (rej.reason, rej.order_id, rej.ord_status) == (
        CxlRejReason.UNKNOWN_ORDER,
        NONE_ID,
        OrdStatus.REJECTED,
    )
    assert rej.text == "unknown order: OrigClOrdID NOPE"


def test_cancel_of_filled_order_is_rejected_with_too_late_to_cancel() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "100", "190.00")
    m.handle(cancel())
    out = m.take_outbox()
    [rej] = cancel_rejects(out)
    assert (rej.reason, rej.ord_status, rej.order_id) == (
        CxlRejReason.TOO_LATE_TO_CANCEL,
        OrdStatus.FILLED,
        "QT1",
    )
    assert rej.text == "too late to cancel: order is FILLED"
    assert cancels_sent(out) == [] and not out.cl_ord_ids


def test_cancel_with_a_clordid_already_used_is_rejected_as_duplicate() -> None:
    m = make_manager()
    placed(m)
    m.handle(cancel("C1", "C1"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.DUPLICATE_CLORDID


def test_second_cancel_while_one_is_pending_is_rejected_already_pending() -> None:
    m = make_manager()
    placed(m)
    m.handle(cancel("C2"))
    m.take_outbox()
    m.handle(cancel("C3"))
    [rej] = cancel_rejects(m.take_outbox())
    assert (rej.reason, rej.ord_status) == (
        CxlRejReason.ALREADY_PENDING,
        OrdStatus.PENDING_CANCEL,
    )


def test_cancel_with_the_wrong_side_is_rejected() -> None:
    m = make_manager()
    placed(m)
    m.handle(cancel(side=Side.SELL))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.BROKER_OPTION
    assert rej.text == "Side/Symbol do not match the order (BUY AAPL)"
    assert m.orders["QT1"].status is OrdStatus.NEW


def test_cancel_with_a_mismatching_order_id_is_rejected() -> None:
    m = make_manager()
    placed(m)
    m.handle(cancel(order_id="QT99"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.UNKNOWN_ORDER


def test_cancel_from_another_session_does_not_find_the_order() -> None:
    m = make_manager()
    placed(m)
    m.handle(cancel(session=S2))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.UNKNOWN_ORDER
    assert m.orders["QT1"].status is OrdStatus.NEW


def test_venue_refusing_the_cancel_of_a_live_child_rejects_the_clients_cancel() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(cancel())
    m.take_outbox()
    m.handle(
        VenueCancelReject("CBOE", f"{child.child_id}.X", child.child_id, OrdStatus.NEW, "busy")
    )
    out = m.take_outbox()
    [rej] = cancel_rejects(out)
    assert (rej.cl_ord_id, rej.orig_cl_ord_id) == ("C2", "C1")
    assert m.orders["QT1"].status is OrdStatus.NEW


def test_venue_cancel_reject_for_a_filled_child_completes_the_cancel_flow() -> None:
    m = make_manager()
    a, b = _split_order(m)
    m.handle(cancel())
    m.take_outbox()
    fill(m, a.child_id, "30", "190.00")
    m.handle(VenueCancelReject("CBOE", f"{a.child_id}.X", a.child_id, OrdStatus.FILLED, "done"))
    assert reports(m.take_outbox()) == []
    er = one_report(venue_canceled(m, b.child_id))
    assert (er.ord_status, er.cum_qty) == (OrdStatus.CANCELED, D(30))


def test_venue_cancel_reject_unknown_order_counts_the_child_as_gone() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(cancel())
    m.take_outbox()
    m.handle(VenueCancelReject("CBOE", f"{child.child_id}.X", child.child_id, None, "unknown"))
    er = one_report(m.take_outbox())
    assert er.ord_status is OrdStatus.CANCELED


# -- replace -----------------------------------------------------------------------------------


def test_replace_cancels_children_then_reroutes_new_leaves_at_the_new_price() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00")

    m.handle(replace("150", "190.05"))
    out = m.take_outbox()
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.PENDING_REPLACE, OrdStatus.PENDING_REPLACE)
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.order_qty, er.price) == (D(100), D("190.00"))
    [cxl] = cancels_sent(out)
    assert cxl.orig_child_id == child.child_id

    out = venue_canceled(m, child.child_id)
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED)
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.order_qty, er.price, er.cum_qty, er.leaves_qty) == (
        D(150),
        D("190.05"),
        D(40),
        D(110),
    )
    [new_child] = sent(out)
    assert (new_child.quantity, new_child.price) == (D(110), D("190.05"))
    assert out.orders["QT1"].quantity == D(150)


def test_replace_below_cum_qty_ends_the_order_filled_at_cum_qty() -> None:
    # FIX 4.4 Vol 4 (D.11/D.12): the replace asks for the rest to be cancelled; the order is
    # replaced to OrderQty = CumQty and is Filled, nothing is left working.
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00")
    m.handle(replace("30", "190.00"))
    out = m.take_outbox()
    assert not cancel_rejects(out) and len(cancels_sent(out)) == 1
    er = one_report(venue_canceled(m, child.child_id))
    assert (er.exec_type, er.ord_status, er.order_qty, er.cum_qty, er.leaves_qty) == (
        ExecType.REPLACED,
        OrdStatus.FILLED,
        D(40),
        D(40),
        D(0),
    )
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")


def test_fills_overtaking_a_pending_replace_end_the_order_filled_and_nothing_is_rerouted() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(replace("50", "190.00"))
    m.take_outbox()
    fill(m, child.child_id, "60", "190.00")
    out = venue_canceled(m, child.child_id)
    assert not cancel_rejects(out)
    er = one_report(out)
    assert (er.exec_type, er.ord_status, er.order_qty, er.leaves_qty) == (
        ExecType.REPLACED,
        OrdStatus.FILLED,
        D(60),
        D(0),
    )
    # Never the remainder re-routed at the old price.
    assert sent(out) == []


def test_replace_to_cum_qty_fills_the_order() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00")
    m.handle(replace("40", "190.00"))
    m.take_outbox()
    er = one_report(venue_canceled(m, child.child_id))
    assert (er.exec_type, er.ord_status, er.leaves_qty) == (
        ExecType.REPLACED,
        OrdStatus.FILLED,
        D(0),
    )


def test_replace_of_order_type_is_refused() -> None:
    m = make_manager()
    placed(m)
    m.handle(replace("100", None, ord_type=OrdType.MARKET))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.BROKER_OPTION
    assert rej.text == "OrdType and TimeInForce cannot be changed by a replace"


def test_replace_in_another_currency_is_refused_naming_it() -> None:
    m = make_manager()
    placed(m)
    m.handle(dataclasses.replace(replace("100", None), currency="EUR"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.OTHER
    assert rej.text.startswith("Currency (15) EUR is not AAPL's currency USD")


def test_replace_off_the_tick_is_refused_with_the_validation_text() -> None:
    m = make_manager()
    placed(m)
    m.handle(replace("100", "190.001"))
    [rej] = cancel_rejects(m.take_outbox())
    assert rej.reason is CxlRejReason.OTHER
    assert "tick size 0.01" in rej.text


# -- venue rejects and unsolicited cancels -----------------------------------------------------


def test_venue_reject_reroutes_the_child_to_another_venue() -> None:
    m = make_manager()
    _, [child] = placed(m)
    out = venue_rejected(m, child.child_id)
    assert reports(out) == []
    [again] = sent(out)
    assert again.venue != "CBOE"
    assert again.quantity == D(100)
    assert out.children[child.child_id].status is OrdStatus.REJECTED


def test_all_venues_rejecting_cancels_the_order_with_a_text() -> None:
    m = make_manager()
    _, [child] = placed(m)
    rejected = [child.venue]
    current = child
    for _ in range(2):
        [nxt] = sent(venue_rejected(m, current.child_id))
        rejected.append(nxt.venue)
        current = m.children[nxt.child_id]
    assert sorted(rejected) == sorted(VENUES)
    out = venue_rejected(m, current.child_id)
    er = one_report(out)
    assert (er.exec_type, er.ord_status, er.leaves_qty) == (
        ExecType.CANCELED,
        OrdStatus.CANCELED,
        D(0),
    )
    assert er.text == (
        "remainder canceled: no venue session is available for AAPL (trades on CBOE, TRQ, AQX)"
    )
    assert sent(out) == []


def test_ioc_remainder_canceled_by_the_venue_cancels_the_order() -> None:
    m = make_manager()
    _, [child] = placed(m, new(tif=TimeInForce.IOC))
    fill(m, child.child_id, "40", "190.00")
    out = venue_canceled(m, child.child_id, requested=False)
    er = one_report(out)
    assert (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty) == (
        ExecType.CANCELED,
        OrdStatus.CANCELED,
        D(40),
        D(0),
    )
    assert er.text == "remainder canceled: no more liquidity for an immediate order"
    assert sent(out) == []


def test_market_order_remainder_is_canceled_not_rerouted() -> None:
    m = make_manager()
    _, [child] = placed(m, new(price=None))
    fill(m, child.child_id, "10", "190.00")
    er = one_report(venue_canceled(m, child.child_id, requested=False))
    assert (er.ord_status, er.cum_qty) == (OrdStatus.CANCELED, D(10))


def test_ioc_split_waits_for_every_child_before_canceling() -> None:
    m = make_manager()
    m.handle(quote("CBOE", asks=(("190.00", "30"),)))
    m.handle(quote("TRQ", asks=(("190.01", "70"),)))
    _, (a, b) = placed(m, new(price="190.01", tif=TimeInForce.IOC))
    assert reports(venue_canceled(m, a.child_id, requested=False)) == []
    fill(m, b.child_id, "50", "190.01")
    er = one_report(venue_canceled(m, b.child_id, requested=False))
    assert (er.ord_status, er.cum_qty) == (OrdStatus.CANCELED, D(50))


def test_unsolicited_cancel_of_a_day_child_reroutes_elsewhere() -> None:
    m = make_manager()
    _, [child] = placed(m)
    out = venue_canceled(m, child.child_id, requested=False)
    assert reports(out) == []
    [again] = sent(out)
    assert again.venue != child.venue


def test_venue_expiring_a_day_child_expires_the_client_order() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(venue_report(m, child.child_id, ExecType.EXPIRED, OrdStatus.EXPIRED))
    out = m.take_outbox()
    assert sent(out) == []
    er = one_report(out)
    assert (er.exec_type, er.ord_status) == (ExecType.EXPIRED, OrdStatus.EXPIRED)


# -- status requests and input rejects ---------------------------------------------------------


def test_status_request_reports_the_current_state() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "25", "190.00")
    m.handle(StatusRequest(S1, "C1", None, "AAPL", Side.BUY))
    er = one_report(m.take_outbox())
    assert (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty) == (
        ExecType.ORDER_STATUS,
        OrdStatus.PARTIALLY_FILLED,
        D(25),
        D(75),
    )


def test_status_request_by_order_id_finds_the_order() -> None:
    m = make_manager()
    placed(m)
    m.handle(StatusRequest(S1, "WHATEVER", "QT1", "AAPL", Side.BUY))
    er = one_report(m.take_outbox())
    assert (er.order_id, er.ord_status) == ("QT1", OrdStatus.NEW)


def test_status_request_for_an_unknown_order_says_unknown_order() -> None:
    m = make_manager()
    placed(m)
    m.handle(StatusRequest(S2, "C1", "QT1", "AAPL", Side.BUY, "R7"))  # other session's order
    er = one_report(m.take_outbox())
    assert (er.exec_type, er.ord_status, er.ord_rej_reason, er.text) == (
        ExecType.ORDER_STATUS,
        OrdStatus.REJECTED,
        OrdRejReason.UNKNOWN_ORDER,
        "unknown order: ClOrdID C1 OrderID QT1",
    )
    # Nothing invented: OrderID NONE, no order terms; OrdStatusReqID echoed.
    assert (er.order_id, er.ord_type, er.time_in_force, er.order_qty) == (NONE_ID, None, None, None)
    assert er.ord_status_req_id == "R7"


def test_status_request_by_order_id_alone_is_answered_with_the_orders_state() -> None:
    m = make_manager()
    placed(m)
    m.handle(StatusRequest(S1, None, "QT1", "AAPL", Side.BUY, "R8"))
    er = one_report(m.take_outbox())
    assert (er.exec_type, er.ord_status, er.cl_ord_id, er.ord_status_req_id) == (
        ExecType.ORDER_STATUS,
        OrdStatus.NEW,
        "C1",
        "R8",
    )


def test_reject_input_for_an_order_gives_a_rejected_report_with_the_text() -> None:
    m = make_manager()
    m.handle(
        RejectInput(
            S1,
            "order",
            "OrderQty (38) is required",
            cl_ord_id="C9",
            symbol="AAPL",
            side=Side.SELL,
        )
    )
    er = one_report(m.take_outbox())
    assert (er.ord_status, er.ord_rej_reason, er.text, er.cl_ord_id, er.side) == (
        OrdStatus.REJECTED,
        OrdRejReason.OTHER,
        "OrderQty (38) is required",
        "C9",
        Side.SELL,
    )


def test_reject_input_for_a_cancel_gives_an_order_cancel_reject() -> None:
    m = make_manager()
    m.handle(RejectInput(S1, "replace", "OrigClOrdID (41) is required", cl_ord_id="C9"))
    [rej] = cancel_rejects(m.take_outbox())
    assert (rej.response_to, rej.reason, rej.orig_cl_ord_id, rej.text) == (
        CxlRejResponseTo.REPLACE,
        CxlRejReason.OTHER,
        NONE_ID,
        "OrigClOrdID (41) is required",
    )


def test_reject_input_for_anything_else_gives_a_business_message_reject() -> None:
    m = make_manager()
    m.handle(
        RejectInput(
            S1,
            "business",
            "MsgType AE is not supported",
            ref_msg_type="AE",
            ref_seq_num=7,
            reason="3",
        )
    )
    [ev] = m.take_outbox().events
    assert ev == BusinessRejected(S1, "AE", "3", "MsgType AE is not supported", 7, None)


# -- venue sessions and reconciliation ---------------------------------------------------------


def test_venue_logon_asks_the_status_of_its_live_children_only() -> None:
    m = make_manager()
    m.handle(quote("CBOE", asks=(("190.00", "30"),)))
    m.handle(quote("TRQ", asks=(("190.01", "70"),)))
    _, (a, _b) = placed(m, new(price="190.01"))
    _, [done] = placed(m, new("C5", price="190.01", quantity="10"))
    fill(m, done.child_id, "10", "190.00")
    m.handle(VenueSessionStatus("CBOE", False))
    assert not m.take_outbox()
    m.handle(VenueSessionStatus("CBOE", True))
    events = m.take_outbox().events
    assert events == [ChildStatusSent("CBOE", a.child_id, "AAPL", Side.BUY)]


def test_orders_are_not_routed_to_a_venue_that_logged_out() -> None:
    m = make_manager()
    m.handle(VenueSessionStatus("CBOE", False))
    out, _ = placed(m)
    assert [c.venue for c in sent(out)] == ["TRQ"]


def test_reconciliation_answer_unknown_order_reroutes_the_child() -> None:
    m = make_manager()
    _, [child] = placed(m)
    m.handle(VenueSessionStatus("CBOE", True))
    m.take_outbox()
    m.handle(venue_report(m, child.child_id, ExecType.ORDER_STATUS, OrdStatus.REJECTED))
    out = m.take_outbox()
    assert reports(out) == []
    assert out.children[child.child_id].status is OrdStatus.CANCELED
    [again] = sent(out)
    assert again.venue != "CBOE" and again.quantity == D(100)


def status_answer(
    m: OrderManager, child_id: str, status: OrdStatus, avg_px: str, cum_qty: str
) -> Outbox:
    """The venue's answer to our OrderStatusRequest after a reconnection."""
    m.handle(
        venue_report(m, child_id, ExecType.ORDER_STATUS, status, last_px=avg_px, cum_qty=cum_qty)
    )
    return m.take_outbox()


def trade(
    query: TradeQuerySent,
    exec_id: str,
    qty: str,
    px: str,
    *,
    last: bool,
    trade_id: str | None = None,
    liquidity: str = "1",
) -> VenueTrade:
    """One TradeCaptureReport in answer to the query."""
    return VenueTrade(
        venue=query.venue,
        request_id=query.request_id,
        child_id=query.child_id,
        venue_order_id=query.venue_order_id,
        exec_id=exec_id,
        trade_id=trade_id or f"CEUXT{exec_id}",
        mic="CEUX",
        last_qty=D(qty),
        last_px=D(px),
        commission=D("0.17"),
        transact_time=datetime(2025, 1, 2, 9, 31, 7, 654321, tzinfo=UTC),
        liquidity=liquidity,
        last=last,
    )


def accepted(query: TradeQuerySent, total: int) -> VenueTradeQueryAck:
    return VenueTradeQueryAck(query.venue, query.request_id, True, total, None)


def test_reconciliation_asks_the_venue_for_each_execution_it_did_not_book() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "20", "190.00", exec_id="CBOE-E1")
    out = status_answer(m, child.child_id, OrdStatus.PARTIALLY_FILLED, "190.02", "50")
    # More filled at the venue than booked: no averaged fill, a query for the executions.
    [query] = out.events
    assert isinstance(query, TradeQuerySent)
    assert (query.venue, query.child_id, query.venue_order_id, query.symbol, query.side) == (
        "CBOE",
        child.child_id,
        f"CBOE-{child.child_id}",
        "AAPL",
        Side.BUY,
    )
    assert reports(out) == [] and not out.executions
    m.handle(accepted(query, 2))
    assert not m.take_outbox().events
    # The fill already booked comes again (the same ExecID): nothing twice.
    m.handle(trade(query, "CBOE-E1", "20", "190.00", last=False))
    assert reports(m.take_outbox()) == []
    m.handle(trade(query, "CBOE-E7", "30", "190.03", last=True, liquidity="2"))
    out = m.take_outbox()
    er = one_report(out)
    # Booked as the venue executed it: its own price, time, trade id and liquidity.
    assert (er.exec_type, er.last_qty, er.last_px, er.cum_qty, er.avg_px) == (
        ExecType.TRADE,
        D(30),
        D("190.03"),
        D(50),
        D("190.018"),
    )
    assert (er.venue_trade_id, er.venue_exec_id, er.last_liquidity_ind, er.last_mkt) == (
        "CEUXTCBOE-E7",
        "CBOE-E7",
        "2",
        "CEUX",
    )
    assert er.venue_transact_time == datetime(2025, 1, 2, 9, 31, 7, 654321, tzinfo=UTC)
    assert not er.reconciled
    [execution] = out.executions
    assert (execution.venue_exec_id, execution.price, execution.commission) == (
        "CBOE-E7",
        D("190.03"),
        D("0.17"),
    )
    assert m.trade_queries == {}
    assert m.children[child.child_id].exec_ids >= {"CBOE-E1", "CBOE-E7"}


def test_the_status_is_applied_once_the_venues_executions_are_booked() -> None:
    m = make_manager()
    _, [child] = placed(m)
    [query] = status_answer(m, child.child_id, OrdStatus.FILLED, "190.01", "100").events
    assert isinstance(query, TradeQuerySent)
    # The child is not ended by the status before its fills are booked.
    assert m.children[child.child_id].status is not OrdStatus.FILLED
    m.handle(accepted(query, 2))
    m.handle(trade(query, "CBOE-E3", "60", "190.00", last=False))
    m.handle(trade(query, "CBOE-E4", "40", "190.025", last=True))
    out = m.take_outbox()
    fills = [r for r in reports(out) if r.exec_type is ExecType.TRADE]
    assert [(r.last_qty, r.last_px) for r in fills] == [(D(60), D("190.00")), (D(40), D("190.025"))]
    assert fills[-1].ord_status is OrdStatus.FILLED and not any(r.reconciled for r in fills)


def test_what_the_executions_do_not_explain_is_booked_averaged_and_marked_reconciled() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "20", "190.00")
    [query] = status_answer(m, child.child_id, OrdStatus.PARTIALLY_FILLED, "190.02", "50").events
    assert isinstance(query, TradeQuerySent)
    m.handle(accepted(query, 1))
    m.handle(trade(query, "CBOE-E9", "10", "190.01", last=True))
    out = m.take_outbox()
    first, rest = reports(out)
    assert (first.last_qty, first.last_px, first.reconciled) == (D(10), D("190.01"), False)
    # 20 left that no execution explains, priced so our AvgPx equals the venue's:
    # (50 x 190.02 - 20 x 190.00 - 10 x 190.01) / 20.
    assert (rest.last_qty, rest.last_px, rest.avg_px, rest.reconciled) == (
        D(20),
        D("190.045"),
        D("190.02"),
        True,
    )


def test_a_venue_that_refuses_the_query_gets_the_averaged_fill() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "20", "190.00")
    [query] = status_answer(m, child.child_id, OrdStatus.PARTIALLY_FILLED, "190.02", "50").events
    assert isinstance(query, TradeQuerySent)
    m.handle(VenueTradeQueryAck("CBOE", query.request_id, False, None, "unsupported MsgType AD"))
    out = m.take_outbox()
    er = one_report(out)
    # The missing 30 are priced so that our AvgPx equals the venue's: (50 x 190.02 - 20 x
    # 190.00) / 30, not the venue's cumulative AvgPx.
    assert (er.exec_type, er.last_qty, er.last_px, er.cum_qty, er.avg_px) == (
        ExecType.TRADE,
        D(30),
        D("190.03333333"),
        D(50),
        D("190.02"),
    )
    assert len(out.executions) == 1
    # Journaled as booked by reconciliation (RTS 22 holds it: not one of the venue's
    # executions); a fill the venue reported is not.
    assert er.reconciled and er.venue_trade_id is None


def test_an_empty_answer_applies_the_status_and_a_late_answer_is_ignored() -> None:
    m = make_manager()
    _, [child] = placed(m)
    [query] = status_answer(m, child.child_id, OrdStatus.PARTIALLY_FILLED, "190.00", "10").events
    assert isinstance(query, TradeQuerySent)
    m.handle(accepted(query, 0))
    [er] = reports(m.take_outbox())
    assert (er.last_qty, er.reconciled) == (D(10), True)
    m.handle(trade(query, "CBOE-E5", "10", "190.00", last=True))
    assert reports(m.take_outbox()) == []


def test_a_venue_logout_drops_its_unanswered_queries() -> None:
    m = make_manager()
    _, [child] = placed(m)
    [query] = status_answer(m, child.child_id, OrdStatus.PARTIALLY_FILLED, "190.00", "10").events
    assert isinstance(query, TradeQuerySent)
    m.handle(VenueSessionStatus("CBOE", False))
    assert m.trade_queries == {}
    m.handle(trade(query, "CBOE-E5", "10", "190.00", last=True))
    assert reports(m.take_outbox()) == []
    # The next logon asks the status again, and the status asks for the trades again.
    m.handle(VenueSessionStatus("CBOE", True))
    assert m.take_outbox().events == [ChildStatusSent("CBOE", child.child_id, "AAPL", Side.BUY)]


def test_a_fill_the_venue_reported_is_not_marked_reconciled() -> None:
    m = make_manager()
    _, [child] = placed(m)
    assert not one_report(fill(m, child.child_id, "20", "190.00")).reconciled


def test_reconciliation_that_agrees_changes_nothing_for_the_client() -> None:
    m = make_manager()
    _, [child] = placed(m)
    ack(m, child.child_id)
    m.handle(venue_report(m, child.child_id, ExecType.ORDER_STATUS, OrdStatus.NEW, cum_qty="0"))
    assert reports(m.take_outbox()) == []


# -- restore -----------------------------------------------------------------------------------


def test_restored_state_keeps_duplicate_detection_and_booked_exec_ids() -> None:
    m = make_manager()
    _, [child] = placed(m)
    fill(m, child.child_id, "40", "190.00", exec_id="CBOE-E1")
    order = m.orders["QT1"]
    m2 = OrderManager([AAPL, JPM, SHEL], FEES, MICS, lambda: NOW, "QU")
    m2.restore([order], [child], [(S1, "C1", "QT1")])
    m2.handle(new("C1"))
    assert one_report(m2.take_outbox()).ord_rej_reason is OrdRejReason.DUPLICATE_ORDER
    m2.handle(
        venue_report(
            m2,
            child.child_id,
            ExecType.TRADE,
            OrdStatus.PARTIALLY_FILLED,
            last_qty="40",
            last_px="190.00",
            exec_id="CBOE-E1",
            cum_qty="40",
        )
    )
    assert not m2.take_outbox()


def test_order_without_account_takes_the_clients_default_account() -> None:
    m = OrderManager([AAPL], FEES, MICS, lambda: NOW, "QT", default_accounts={S1: "ACC9"})
    for venue in VENUES:
        m.handle(VenueSessionStatus(venue, True))
    m.take_outbox()
    m.handle(new("C1", account=None))
    m.handle(new("C2", account="OWN"))
    acks = [e for e in m.take_outbox().events if isinstance(e, ExecutionReport)]
    assert [(a.cl_ord_id, a.account) for a in acks] == [("C1", "ACC9"), ("C2", "OWN")]


def test_an_order_refused_at_decode_echoes_its_terms_and_invents_none() -> None:
    m = make_manager()
    m.handle(
        RejectInput(
            S1, "order", "HandlInst (21) 3 is not accepted", cl_ord_id="M1", symbol="AAPL",
            side=Side.SELL, quantity=D(5), ord_type=OrdType.MARKET,
        )
    )  # fmt: skip
    report = one_report(m.take_outbox())
    assert (report.side, report.ord_type, report.order_qty) == (Side.SELL, OrdType.MARKET, D(5))
    assert (report.time_in_force, report.price) == (None, None)  # not in the message
    # Without a readable Side no ExecutionReport can be made: a BusinessMessageReject.
    m.handle(RejectInput(S1, "order", "Side (54) is required", cl_ord_id="M2", reason="99"))
    [reject] = m.take_outbox().events
    assert isinstance(reject, BusinessRejected)
    assert (reject.reason, reject.ref_id) == ("0", "M2") and "Side (54)" in reject.text
