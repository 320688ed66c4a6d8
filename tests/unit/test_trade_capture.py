"""Trade capture for reconciliation: the venue's record of its executions, the
TradeCaptureReportRequest (AD) the gateway sends, and the venue's answer (AQ and one AE per
execution) as the venue writes it and the gateway reads it, through the venues' dictionary
(fix_specs/FIX44-venues.xml)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import quickfix as fix

from qtinfra.config import PROJECT_ROOT
from qtinfra.domain.events import TradeQuerySent
from qtinfra.domain.values import Side
from qtinfra.errors import ValidationError
from qtinfra.fix import venue_codec
from qtinfra.venues import trade_capture
from qtinfra.venues.simulator import CancelOrder, ExecReport
from qtinfra.venues.trades import TradeQuery, TradeQueryAck, TradeReport
from tests.unit.test_simulator import buy, engine

D = Decimal
VENUES_DD = fix.DataDictionary(str(PROJECT_ROOT / "fix_specs" / "FIX44-venues.xml"))


def on_the_wire(msg: fix.Message) -> fix.Message:
    """The message as the other side's engine parses it, validated by the venues'
    dictionary (header filled in as the session would)."""
    header = msg.getHeader()
    header.setField(49, "CBOE")
    header.setField(56, "QTGW")
    header.setField(34, "7")
    header.setField(52, "20250102-09:30:00.123456")
    received = fix.Message(msg.toString(), VENUES_DD, True)
    VENUES_DD.validate(received)
    return received


def query(cl_ord_id: str | None = "C1", owner: str = "S1", **kw: object) -> TradeQuery:
    fields: dict[str, object] = {
        "owner": owner,
        "request_id": "Q1",
        "cl_ord_id": cl_ord_id,
        "order_id": None,
        "symbol": "AAPL",
    }
    fields.update(kw)
    return TradeQuery(**fields)  # type: ignore[arg-type]


def test_the_venue_answers_with_every_execution_of_the_order_as_it_reported_it() -> None:
    e = engine()
    # A marketable buy sweeping the synthetic offers: several executions.
    fills = [r for r in e.handle(buy("C1", "300", "191.00")) if isinstance(r, ExecReport)]
    fills = [r for r in fills if r.last_qty is not None]
    assert len(fills) >= 2
    ack, *answer = e.handle(query())
    assert isinstance(ack, TradeQueryAck)
    assert (ack.accepted, ack.total, ack.request_id) == (True, len(fills), "Q1")
    assert all(isinstance(r, TradeReport) for r in answer)
    trades = [r for r in answer if isinstance(r, TradeReport)]
    # The same ExecID, trade id, quantity, price and time as each ExecutionReport.
    assert [
        (t.trade.exec_id, t.trade.trade_id, t.trade.last_qty, t.trade.last_px) for t in trades
    ] == [(f.exec_id, f.trade_id, f.last_qty, f.last_px) for f in fills]
    assert [t.trade.transact_time for t in trades] == [f.transact_time for f in fills]
    assert all(t.trade.aggressor for t in trades)  # it took liquidity: LastLiquidityInd 2
    assert [t.last for t in trades] == [False] * (len(trades) - 1) + [True]
    assert len({t.report_id for t in trades}) == len(trades)


def test_a_resting_order_is_known_by_any_clordid_of_its_chain_or_its_orderid() -> None:
    e = engine()
    [new] = e.handle(buy("C1", "10", "180.00"))
    assert isinstance(new, ExecReport)
    e.handle(
        CancelOrder(owner="S1", cl_ord_id="C2", orig_cl_ord_id="C1", symbol="AAPL", side=Side.BUY)
    )
    for q in (query("C1"), query("C2"), query(None, order_id=new.order_id)):
        [ack] = e.handle(q)
        assert isinstance(ack, TradeQueryAck) and ack.accepted and ack.total == 0


def test_the_venue_refuses_a_query_about_an_order_it_does_not_know_or_another_members() -> None:
    e = engine()
    [new] = e.handle(buy("C1", "10", "180.00"))
    assert isinstance(new, ExecReport)
    for q in (
        query("NOPE"),
        query("C1", owner="S2"),
        query(None, order_id=new.order_id, owner="S2"),
    ):
        [ack] = e.handle(q)
        assert isinstance(ack, TradeQueryAck)
        assert (ack.accepted, ack.text) == (False, "unknown order")


def test_the_gateways_request_is_what_the_venue_reads() -> None:
    sent = venue_codec.encode_trade_query(
        TradeQuerySent("CBOE", "QTQ1", "QTC7", "CBOE-T-O3", "AAPL", Side.SELL)
    )
    received = on_the_wire(sent)
    assert trade_capture.decode_trade_query(received, "S1") == TradeQuery(
        "S1", "QTQ1", "QTC7", "CBOE-T-O3", "AAPL"
    )


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({568: "Q9", 569: "1", 11: "C1"}, "only TradeRequestType (569) 0"),
        ({568: "Q9", 569: "0", 263: "1", 11: "C1"}, "only snapshots"),
        ({568: "Q9", 569: "0"}, "name the order"),
    ],
)
def test_a_request_the_venue_does_not_serve_is_refused_with_a_text(
    fields: dict[int, str], text: str
) -> None:
    msg = fix.Message()
    msg.getHeader().setField(35, "AD")
    for tag, value in fields.items():
        msg.setField(tag, value)
    with pytest.raises(trade_capture.UnsupportedQuery) as refused:
        trade_capture.decode_trade_query(msg, "S1")
    assert text in str(refused.value) and refused.value.request_id == "Q9"
    ack = venue_codec.decode_trade_query_ack(
        on_the_wire(trade_capture.encode_unsupported(refused.value, "AAPL")), "CBOE"
    )
    assert (ack.request_id, ack.accepted, ack.total) == ("Q9", False, 0)
    assert ack.text is not None and text in ack.text


def test_a_request_without_an_id_is_not_a_request() -> None:
    msg = fix.Message()
    msg.getHeader().setField(35, "AD")
    msg.setField(569, "0")
    with pytest.raises(ValidationError, match="TradeRequestID"):
        trade_capture.decode_trade_query(msg, "S1")


def test_the_venues_answer_is_what_the_gateway_books() -> None:
    e = engine()
    e.handle(buy("C1", "300", "191.00"))
    ack, first, *_ = e.handle(query())
    assert isinstance(ack, TradeQueryAck) and isinstance(first, TradeReport)
    got = venue_codec.decode_trade_query_ack(on_the_wire(trade_capture.encode_ack(ack)), "CBOE")
    assert (got.request_id, got.accepted, got.total) == ("Q1", True, ack.total)
    trade = venue_codec.decode_venue_trade(
        on_the_wire(trade_capture.encode_report(first)), "CBOE", "XXXX"
    )
    t = first.trade
    assert (trade.request_id, trade.child_id, trade.venue_order_id, trade.exec_id) == (
        "Q1",
        "C1",
        t.order_id,
        t.exec_id,
    )
    assert (trade.trade_id, trade.mic, trade.last_qty, trade.last_px) == (
        t.trade_id,
        "CEUX",  # LastMkt as the venue sent it, not the configured fallback
        t.last_qty,
        t.last_px,
    )
    assert trade.transact_time == t.transact_time == datetime(2025, 1, 2, 9, 30, 0, 123456, UTC)
    assert (trade.liquidity, trade.commission, trade.last) == ("2", t.commission, False)


def test_a_business_reject_of_the_request_is_a_refusal() -> None:
    msg = fix.Message()
    msg.getHeader().setField(35, "j")
    msg.setField(45, "3")
    msg.setField(372, "AD")
    msg.setField(379, "QTQ4")
    msg.setField(380, "3")
    msg.setField(58, "does not support MsgType AD")
    assert venue_codec.refuses_trade_query(msg)
    refusal = venue_codec.decode_trade_query_refusal(msg, "CBOE")
    assert (refusal.request_id, refusal.accepted, refusal.text) == (
        "QTQ4",
        False,
        "does not support MsgType AD",
    )
    msg.setField(372, "D")
    assert not venue_codec.refuses_trade_query(msg)
