"""The venue engine: synthetic liquidity, replenishment, fees, reports, latency."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from qtinfra.config import VenueConfig
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
from qtinfra.venues.simulator import (
    MARKET_MAKER,
    NO_ORDER_ID,
    CancelOrder,
    CancelReject,
    ExecReport,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
    VenueEngine,
    VenueReport,
    VenueSequencer,
    commission,
)

D = Decimal
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), ("CBOE",))
SHEL = Instrument("SHEL", "GB00BP6MXD84", "GBP", D("0.5"), D("10"), D("2700.0"), ("CBOE",))
JPM = Instrument("JPM", "US46625H1005", "USD", D("0.01"), D("1"), D("200.00"), ("TRQ",))
FIXED_TIME = datetime(2025, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)


def venue(**overrides: object) -> VenueConfig:
    fields: dict[str, object] = {
        "name": "CBOE",
        "mic": "CEUX",
        "port": 9881,
        "fee_bps": D("0.30"),
        "depth_levels": 5,
        "level_quantity_lots": 20,
        "seed": 11,
    }
    fields.update(overrides)
    return VenueConfig.model_validate(fields)


def engine(**overrides: object) -> VenueEngine:
    return VenueEngine(venue(**overrides), [AAPL, SHEL, JPM], run_id="T", clock=lambda: FIXED_TIME)


def buy(cl: str, qty: str, price: str | None, **kw: object) -> NewOrder:
    fields: dict[str, object] = {
        "owner": "S1",
        "cl_ord_id": cl,
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": D(qty),
        "ord_type": OrdType.MARKET if price is None else OrdType.LIMIT,
        "price": None if price is None else D(price),
    }
    fields.update(kw)
    return NewOrder(**fields)  # type: ignore[arg-type]


def execs(reports: list[VenueReport]) -> list[ExecReport]:
    assert all(isinstance(r, ExecReport) for r in reports)
    return [r for r in reports if isinstance(r, ExecReport)]


# -- synthetic liquidity -------------------------------------------------------------------


def test_venue_trades_only_the_instruments_that_list_it() -> None:
    assert sorted(engine().symbols) == ["AAPL", "SHEL"]


def test_seeded_book_is_deterministic_for_a_seed_and_differs_across_seeds() -> None:
    assert engine().depth("AAPL", 0) == engine().depth("AAPL", 0)
    assert engine().depth("AAPL", 0) != engine(seed=12).depth("AAPL", 0)


def test_seeded_book_has_depth_levels_per_side_around_the_reference_price() -> None:
    depth = engine().depth("AAPL", 0)
    assert [lv.price for lv in depth.bids] == [D("189.99") - k * D("0.01") for k in range(5)]
    assert [lv.price for lv in depth.asks] == [D("190.01") + k * D("0.01") for k in range(5)]
    for level in depth.bids + depth.asks:
        assert 2 <= level.order_count <= 4
        assert level.quantity > 0
    mean_lots = sum(lv.quantity for lv in depth.bids + depth.asks) / 10
    assert D(10) <= mean_lots <= D(30)


def test_price_offset_shifts_the_synthetic_mid_by_whole_ticks() -> None:
    depth = engine(price_offset_ticks=-2).depth("SHEL", 1)
    assert depth.bids[0].price == D("2698.5")
    assert depth.asks[0].price == D("2699.5")
    assert depth.bids[0].quantity % SHEL.lot_size == 0


def test_synthetic_orders_are_multiples_of_the_lot_size() -> None:
    book = engine().books["SHEL"]
    for order in book.resting_orders(Side.BUY) + book.resting_orders(Side.SELL):
        assert order.owner == MARKET_MAKER
        assert order.quantity % D(10) == 0 and order.quantity > 0


# -- orders ----------------------------------------------------------------------------------


def test_marketable_order_is_acknowledged_then_filled_in_several_trades_with_fees() -> None:
    eng = engine()
    asks = eng.depth("AAPL", 0).asks
    qty = asks[0].quantity + asks[1].quantity // 2
    reports = execs(eng.handle(buy("c1", str(qty), "190.02")))

    assert reports[0].exec_type is ExecType.NEW
    assert reports[0].ord_status is OrdStatus.NEW
    assert reports[0].leaves_qty == qty and reports[0].cum_qty == 0
    trades = reports[1:]
    assert len(trades) >= 3  # at least two orders on the first level plus one on the second
    assert all(t.exec_type is ExecType.TRADE for t in trades)
    assert [t.ord_status for t in trades[:-1]] == [OrdStatus.PARTIALLY_FILLED] * (len(trades) - 1)
    assert trades[-1].ord_status is OrdStatus.FILLED
    assert sum((t.last_qty or D(0)) for t in trades) == qty
    notional = sum((t.last_qty or D(0)) * (t.last_px or D(0)) for t in trades)
    assert trades[-1].cum_qty == qty and trades[-1].leaves_qty == 0
    assert trades[-1].avg_px == notional / qty
    for t in trades:
        assert t.last_mkt == "CEUX"
        assert t.order_id == reports[0].order_id
        assert t.security_id == "US0378331005"
        assert t.cum_qty + t.leaves_qty == qty
        assert t.commission == (D("0.30") / 10000 * t.last_qty * t.last_px).quantize(D("0.01"))  # type: ignore[operator]
    assert len({r.exec_id for r in reports}) == len(reports)
    assert reports[0].order_id.startswith("CBOE-T-")


def test_commission_is_fee_bps_of_notional_rounded_to_the_cent() -> None:
    assert commission(D("0.30"), D(100), D("190.01")) == D("0.57")
    assert commission(D("0.20"), D(125), D("190.00")) == D("0.48")  # 0.475 rounds half up
    assert commission(D("0.28"), D(1), D("95.00")) == D("0.00")


def test_far_limit_rests_and_a_market_remainder_is_canceled() -> None:
    eng = engine()
    resting = execs(eng.handle(buy("c1", "10", "150.00")))
    assert [r.exec_type for r in resting] == [ExecType.NEW]
    total_asks = sum(lv.quantity for lv in eng.depth("AAPL", 0).asks)
    reports = execs(eng.handle(buy("c2", str(total_asks + 5), None)))
    assert reports[-1].exec_type is ExecType.CANCELED
    assert reports[-1].ord_status is OrdStatus.CANCELED
    assert reports[-1].cum_qty == total_asks
    assert reports[-1].leaves_qty == 0


def test_fok_that_cannot_fill_is_acknowledged_and_canceled_without_trades() -> None:
    eng = engine()
    best_ask = eng.depth("AAPL", 1).asks[0]
    reports = execs(
        eng.handle(
            buy(
                "c1", str(best_ask.quantity + 1), str(best_ask.price), time_in_force=TimeInForce.FOK
            )
        )
    )
    assert [r.exec_type for r in reports] == [ExecType.NEW, ExecType.CANCELED]


def test_consumed_synthetic_liquidity_is_replenished_at_the_same_price() -> None:
    eng = engine()
    before = eng.depth("AAPL", 0)
    for i in range(50):
        eng.handle(buy(f"c{i}", str(before.asks[0].quantity), None))
    after = eng.depth("AAPL", 0)
    assert [lv.price for lv in after.asks] == [lv.price for lv in before.asks]
    assert all(lv.quantity > 0 for lv in after.asks)


def test_replenishment_never_trades_against_a_client_resting_order() -> None:
    eng = engine()
    asks = eng.depth("AAPL", 0).asks
    # Sweep the first two ask levels and rest the remainder as a bid at the second level.
    qty = asks[0].quantity + asks[1].quantity + 7
    reports = execs(eng.handle(buy("big", str(qty), str(asks[1].price))))
    assert reports[-1].ord_status is OrdStatus.PARTIALLY_FILLED
    assert reports[-1].leaves_qty == 7
    state = eng.order_state("S1", "big")
    assert state is not None and state.leaves_qty == 7
    depth = eng.depth("AAPL", 0)
    assert depth.bids[0].price == asks[1].price
    assert depth.asks[0].price > asks[1].price  # refills that would cross wait
    # Once the client's bid is gone, the market maker refills the consumed levels.
    eng.handle(CancelOrder("S1", "big-x", "big", "AAPL", Side.BUY))
    assert eng.depth("AAPL", 2).asks[0].price == asks[0].price
    assert eng.depth("AAPL", 2).asks[1].price == asks[1].price


def test_passive_fill_is_reported_to_the_owner_of_the_resting_order() -> None:
    eng = engine()
    eng.handle(buy("r1", "10", "190.00", owner="S2"))
    reports = execs(eng.handle(buy("a1", "4", "190.00", owner="S1", side=Side.SELL)))
    passive = [r for r in reports if r.owner == "S2"]
    assert len(passive) == 1
    assert passive[0].cl_ord_id == "r1"
    assert passive[0].exec_type is ExecType.TRADE
    assert (passive[0].last_qty, passive[0].cum_qty, passive[0].leaves_qty) == (D(4), D(4), D(6))


@pytest.mark.parametrize(
    ("command", "reason", "text"),
    [
        (buy("x", "10", "190.00", symbol="TSLA"), OrdRejReason.UNKNOWN_SYMBOL, "unknown symbol"),
        (buy("x", "10", "190.00", symbol="JPM"), OrdRejReason.UNKNOWN_SYMBOL, "does not trade"),
        (buy("x", "10", "190.00", security_id="US5949181045"), OrdRejReason.UNKNOWN_SYMBOL, "ISIN"),
        (buy("x", "10", None, ord_type=OrdType.LIMIT), OrdRejReason.OTHER, "without Price"),
        (buy("x", "10", "190.00", ord_type=OrdType.MARKET), OrdRejReason.OTHER, "Price"),
        (buy("x", "0", "190.00"), OrdRejReason.INCORRECT_QUANTITY, "positive"),
        (buy("x", "10", "190.001"), OrdRejReason.INVALID_PRICE_INCREMENT, "tick"),
        (buy("x", "15", "2700.0", symbol="SHEL"), OrdRejReason.INCORRECT_QUANTITY, "lot"),
    ],
)
def test_orders_an_exchange_would_refuse_are_rejected_with_a_reason(
    command: NewOrder, reason: OrdRejReason, text: str
) -> None:
    reports = execs(engine().handle(command))
    assert len(reports) == 1
    rej = reports[0]
    assert (rej.exec_type, rej.ord_status, rej.ord_rej_reason) == (
        ExecType.REJECTED,
        OrdStatus.REJECTED,
        reason,
    )
    assert rej.order_id == NO_ORDER_ID
    assert text in (rej.text or "")


def test_duplicate_cl_ord_id_from_the_same_session_is_rejected() -> None:
    eng = engine()
    eng.handle(buy("c1", "10", "150.00"))
    rej = execs(eng.handle(buy("c1", "10", "150.00")))[0]
    assert rej.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER
    other_session = execs(eng.handle(buy("c1", "10", "150.00", owner="S2")))[0]
    assert other_session.exec_type is ExecType.NEW


def test_cancel_answers_canceled_with_both_cl_ord_ids() -> None:
    eng = engine()
    new = execs(eng.handle(buy("c1", "10", "150.00")))[0]
    reports = execs(eng.handle(CancelOrder("S1", "c2", "c1", "AAPL", Side.BUY)))
    assert len(reports) == 1
    r = reports[0]
    assert (r.exec_type, r.ord_status) == (ExecType.CANCELED, OrdStatus.CANCELED)
    assert (r.cl_ord_id, r.orig_cl_ord_id, r.order_id) == ("c2", "c1", new.order_id)
    assert (r.cum_qty, r.leaves_qty) == (D(0), D(0))


def test_cancel_of_unknown_order_is_rejected_with_reason_unknown_order() -> None:
    reports = engine().handle(CancelOrder("S1", "c2", "nope", "AAPL", Side.BUY))
    rej = reports[0]
    assert isinstance(rej, CancelReject)
    assert (rej.order_id, rej.reason, rej.response_to) == (
        NO_ORDER_ID,
        CxlRejReason.UNKNOWN_ORDER,
        CxlRejResponseTo.CANCEL,
    )


def test_cancel_of_filled_order_is_rejected_with_too_late_to_cancel() -> None:
    eng = engine()
    eng.handle(buy("c1", "1", None))
    rej = eng.handle(CancelOrder("S1", "c2", "c1", "AAPL", Side.BUY))[0]
    assert isinstance(rej, CancelReject)
    assert rej.reason is CxlRejReason.TOO_LATE_TO_CANCEL
    assert rej.ord_status is OrdStatus.FILLED


def test_replace_reports_replaced_then_the_trades_it_caused() -> None:
    eng = engine()
    eng.handle(buy("c1", "10", "150.00"))
    best_ask = eng.depth("AAPL", 1).asks[0].price
    reports = execs(
        eng.handle(ReplaceOrder("S1", "c2", "c1", "AAPL", Side.BUY, D(5), OrdType.LIMIT, best_ask))
    )
    assert reports[0].exec_type is ExecType.REPLACED
    assert reports[0].ord_status is OrdStatus.NEW
    assert (reports[0].cl_ord_id, reports[0].orig_cl_ord_id) == ("c2", "c1")
    assert (reports[0].order_qty, reports[0].price) == (D(5), best_ask)
    assert [r.exec_type for r in reports[1:]] == [ExecType.TRADE] * (len(reports) - 1)
    assert reports[-1].cl_ord_id == "c2"


def test_replace_with_a_reused_cl_ord_id_is_rejected() -> None:
    eng = engine()
    eng.handle(buy("c1", "10", "150.00"))
    eng.handle(buy("c2", "10", "150.00"))
    rej = eng.handle(
        ReplaceOrder("S1", "c2", "c1", "AAPL", Side.BUY, D(5), OrdType.LIMIT, D("150.00"))
    )[0]
    assert isinstance(rej, CancelReject)
    assert rej.reason is CxlRejReason.DUPLICATE_CLORDID
    assert rej.response_to is CxlRejResponseTo.REPLACE


def test_status_request_reports_current_state_or_unknown_order() -> None:
    eng = engine()
    eng.handle(buy("c1", "10", "150.00"))
    status = execs(eng.handle(StatusRequest("S1", "c1", "AAPL", Side.BUY)))[0]
    assert (status.exec_type, status.ord_status, status.leaves_qty) == (
        ExecType.ORDER_STATUS,
        OrdStatus.NEW,
        D(10),
    )
    unknown = execs(eng.handle(StatusRequest("S1", "zz", "AAPL", Side.BUY)))[0]
    assert (unknown.exec_type, unknown.ord_status, unknown.text) == (
        ExecType.ORDER_STATUS,
        OrdStatus.REJECTED,
        "unknown order",
    )


def test_changed_symbols_are_reported_once() -> None:
    eng = engine()
    assert eng.take_changed() == {"AAPL", "SHEL"}
    assert eng.take_changed() == set()
    eng.handle(buy("c1", "10", "150.00"))
    assert eng.take_changed() == {"AAPL"}


# -- latency ---------------------------------------------------------------------------------


def test_zero_latency_delivers_reports_on_the_callers_thread() -> None:
    delivered: list[list[VenueReport]] = []
    seq = VenueSequencer(engine(), delivered.append, latency_ms=0)
    seq.start()
    seq.submit(buy("c1", "10", "150.00"))
    assert len(delivered) == 1
    seq.stop()


def test_latency_delays_processing_without_blocking_the_caller() -> None:
    got = threading.Event()
    arrival: list[float] = []

    def deliver(reports: list[VenueReport]) -> None:
        arrival.append(time.monotonic())
        got.set()

    seq = VenueSequencer(engine(latency_ms=80), deliver, latency_ms=80)
    seq.start()
    try:
        start = time.monotonic()
        seq.submit(buy("c1", "10", "150.00"))
        assert time.monotonic() - start < 0.05
        assert got.wait(2)
        assert arrival[0] - start >= 0.079
    finally:
        seq.stop()
