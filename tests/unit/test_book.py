"""The order book: price-time priority, fills per resting order, IOC/FOK, market, amend, rejects."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtinfra.domain.values import (
    CxlRejReason,
    Instrument,
    OrdRejReason,
    OrdStatus,
    Side,
    TimeInForce,
)
from qtinfra.venues.book import (
    Accepted,
    BookEvent,
    Canceled,
    CancelRejected,
    Filled,
    Level,
    OrderBook,
    Rejected,
    Replaced,
)

D = Decimal
INSTRUMENT = Instrument(
    symbol="AAPL",
    isin="US0378331005",
    currency="USD",
    tick_size=D("0.01"),
    lot_size=D("10"),
    reference_price=D("190.00"),
    venues=("CBOE",),
)
_ids = itertools.count(1)


def new_book() -> OrderBook:
    return OrderBook(INSTRUMENT)


def place(
    book: OrderBook,
    side: Side,
    qty: str,
    price: str | None,
    tif: TimeInForce = TimeInForce.DAY,
    owner: str = "C1",
    order_id: str | None = None,
) -> list[BookEvent]:
    return book.submit(
        order_id or f"o{next(_ids)}",
        owner,
        side,
        D(qty),
        D(price) if price is not None else None,
        tif,
    )


def aggressor_fills(events: list[BookEvent]) -> list[Filled]:
    return [e for e in events if isinstance(e, Filled) and not e.passive]


def passive_fills(events: list[BookEvent]) -> list[Filled]:
    return [e for e in events if isinstance(e, Filled) and e.passive]


def test_limit_order_that_does_not_cross_rests_and_shows_in_depth() -> None:
    book = new_book()
    events = place(book, Side.BUY, "100", "189.90")
    assert len(events) == 1
    assert isinstance(events[0], Accepted)
    assert events[0].order.status is OrdStatus.NEW
    assert events[0].order.leaves_qty == D(100)
    depth = book.depth(5)
    assert depth.bids == (Level(D("189.90"), D(100), 1),)
    assert depth.asks == ()


def test_marketable_order_gets_one_fill_per_resting_order_at_resting_prices() -> None:
    book = new_book()
    place(book, Side.SELL, "30", "190.02", order_id="s1")
    place(book, Side.SELL, "20", "190.01", order_id="s2")
    place(book, Side.SELL, "40", "190.01", order_id="s3")
    place(book, Side.SELL, "50", "190.03", order_id="s4")

    events = place(book, Side.BUY, "100", "190.02", order_id="b1")

    assert isinstance(events[0], Accepted)
    fills = aggressor_fills(events)
    # Best price first, and within a price the earlier order first (s2 before s3).
    assert [(f.last_qty, f.last_px) for f in fills] == [
        (D(20), D("190.01")),
        (D(40), D("190.01")),
        (D(30), D("190.02")),
    ]
    assert [f.order.order_id for f in passive_fills(events)] == ["s2", "s3", "s1"]
    assert [f.order.status for f in fills] == [
        OrdStatus.PARTIALLY_FILLED,
        OrdStatus.PARTIALLY_FILLED,
        OrdStatus.PARTIALLY_FILLED,
    ]
    last = fills[-1].order
    assert last.cum_qty == D(90)
    assert last.leaves_qty == D(10)
    assert last.avg_px == (D(20) * D("190.01") + D(40) * D("190.01") + D(30) * D("190.02")) / 90
    # The DAY remainder rests at its limit; the unreached level is untouched.
    assert book.depth(5).bids == (Level(D("190.02"), D(10), 1),)
    assert book.depth(5).asks == (Level(D("190.03"), D(50), 1),)


def test_partial_fill_of_resting_order_keeps_it_first_in_queue() -> None:
    book = new_book()
    place(book, Side.SELL, "50", "190.01", order_id="s1")
    place(book, Side.SELL, "50", "190.01", order_id="s2")
    place(book, Side.BUY, "20", None, TimeInForce.IOC)
    resting = book.resting_orders(Side.SELL)
    assert [(o.order_id, o.leaves_qty, o.status) for o in resting] == [
        ("s1", D(30), OrdStatus.PARTIALLY_FILLED),
        ("s2", D(50), OrdStatus.NEW),
    ]
    events = place(book, Side.BUY, "40", "190.01")
    assert [f.order.order_id for f in passive_fills(events)] == ["s1", "s2"]
    assert passive_fills(events)[0].order.status is OrdStatus.FILLED


def test_sell_short_matches_as_a_sell() -> None:
    book = new_book()
    place(book, Side.BUY, "10", "190.00", order_id="b1")
    events = place(book, Side.SELL_SHORT, "10", "190.00")
    assert aggressor_fills(events)[0].order.status is OrdStatus.FILLED
    assert aggressor_fills(events)[0].order.side is Side.SELL_SHORT
    assert book.order("b1") is not None and book.order("b1").status is OrdStatus.FILLED  # type: ignore[union-attr]


def test_ioc_remainder_is_canceled_after_its_fills() -> None:
    book = new_book()
    place(book, Side.SELL, "30", "190.01")
    events = place(book, Side.BUY, "50", "190.05", TimeInForce.IOC)
    assert [type(e) for e in events] == [Accepted, Filled, Filled, Canceled]
    canceled = events[-1]
    assert isinstance(canceled, Canceled)
    assert canceled.order.status is OrdStatus.CANCELED
    assert canceled.order.cum_qty == D(30)
    assert canceled.order.leaves_qty == D(0)
    assert book.depth(5).bids == ()


def test_ioc_that_does_not_cross_is_canceled_without_fills() -> None:
    book = new_book()
    place(book, Side.SELL, "30", "190.01")
    events = place(book, Side.BUY, "50", "190.00", TimeInForce.IOC)
    assert [type(e) for e in events] == [Accepted, Canceled]


def test_fok_without_enough_quantity_at_acceptable_prices_does_not_trade_at_all() -> None:
    book = new_book()
    place(book, Side.SELL, "30", "190.01")
    place(book, Side.SELL, "30", "190.02")
    place(book, Side.SELL, "100", "190.03")
    events = place(book, Side.BUY, "70", "190.02", TimeInForce.FOK)
    assert [type(e) for e in events] == [Accepted, Canceled]
    assert isinstance(events[-1], Canceled)
    assert "FOK" in events[-1].text
    assert book.depth(5).asks[0] == Level(D("190.01"), D(30), 1)


def test_fok_with_enough_quantity_fills_completely_across_levels() -> None:
    book = new_book()
    place(book, Side.SELL, "30", "190.01")
    place(book, Side.SELL, "30", "190.02")
    events = place(book, Side.BUY, "60", "190.02", TimeInForce.FOK)
    fills = aggressor_fills(events)
    assert len(fills) == 2
    assert fills[-1].order.status is OrdStatus.FILLED
    assert not any(isinstance(e, Canceled) for e in events)


def test_market_order_sweeps_levels_and_never_rests() -> None:
    book = new_book()
    place(book, Side.BUY, "20", "189.99")
    place(book, Side.BUY, "20", "189.98")
    events = place(book, Side.SELL, "60", None)
    fills = aggressor_fills(events)
    assert [(f.last_qty, f.last_px) for f in fills] == [
        (D(20), D("189.99")),
        (D(20), D("189.98")),
    ]
    assert isinstance(events[-1], Canceled)
    assert events[-1].order.cum_qty == D(40)
    assert book.depth(5) == book.depth(5).__class__(bids=(), asks=())


def test_market_order_on_an_empty_side_is_canceled() -> None:
    events = place(new_book(), Side.BUY, "10", None)
    assert [type(e) for e in events] == [Accepted, Canceled]


@pytest.mark.parametrize(
    ("qty", "price", "reason"),
    [
        ("0", "190.00", OrdRejReason.INCORRECT_QUANTITY),
        ("-10", "190.00", OrdRejReason.INCORRECT_QUANTITY),
        ("15", "190.00", OrdRejReason.INCORRECT_QUANTITY),  # lot is 10
        ("10", "190.005", OrdRejReason.INVALID_PRICE_INCREMENT),
        ("10", "0", OrdRejReason.OTHER),
    ],
)
def test_invalid_orders_are_rejected_and_leave_the_book_unchanged(
    qty: str, price: str, reason: OrdRejReason
) -> None:
    book = new_book()
    events = place(book, Side.BUY, qty, price)
    assert len(events) == 1
    assert isinstance(events[0], Rejected)
    assert events[0].reason is reason
    assert events[0].text
    assert book.depth(5).bids == ()


def test_cancel_removes_a_resting_order() -> None:
    book = new_book()
    place(book, Side.BUY, "10", "189.00", order_id="b1")
    events = book.cancel("b1")
    assert isinstance(events[0], Canceled)
    assert events[0].order.status is OrdStatus.CANCELED
    assert book.depth(5).bids == ()


def test_cancel_of_filled_order_is_rejected_with_too_late_to_cancel() -> None:
    book = new_book()
    place(book, Side.BUY, "10", "190.00", order_id="b1")
    place(book, Side.SELL, "10", "190.00")
    events = book.cancel("b1")
    assert isinstance(events[0], CancelRejected)
    assert events[0].reason is CxlRejReason.TOO_LATE_TO_CANCEL
    assert events[0].order is not None and events[0].order.status is OrdStatus.FILLED


def test_cancel_of_unknown_order_is_rejected_with_unknown_order() -> None:
    events = new_book().cancel("nope")
    assert isinstance(events[0], CancelRejected)
    assert events[0].reason is CxlRejReason.UNKNOWN_ORDER


def test_amend_quantity_down_at_same_price_keeps_time_priority() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "189.00", order_id="b1")
    place(book, Side.BUY, "50", "189.00", order_id="b2")
    events = book.amend("b1", D(30), D("189.00"))
    assert isinstance(events[0], Replaced)
    assert events[0].kept_priority
    assert events[0].order.quantity == D(30)
    assert [o.order_id for o in book.resting_orders(Side.BUY)] == ["b1", "b2"]


def test_amend_quantity_up_loses_time_priority() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "189.00", order_id="b1")
    place(book, Side.BUY, "50", "189.00", order_id="b2")
    events = book.amend("b1", D(60), D("189.00"))
    assert isinstance(events[0], Replaced) and not events[0].kept_priority
    assert [o.order_id for o in book.resting_orders(Side.BUY)] == ["b2", "b1"]


def test_amend_price_moves_the_order_to_the_back_of_the_new_level() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "189.00", order_id="b1")
    place(book, Side.BUY, "50", "189.10", order_id="b2")
    book.amend("b1", D(50), D("189.10"))
    assert [o.order_id for o in book.resting_orders(Side.BUY)] == ["b2", "b1"]
    assert book.depth(5).bids == (Level(D("189.10"), D(100), 2),)


def test_amend_to_a_crossing_price_trades_immediately_after_the_replace() -> None:
    book = new_book()
    place(book, Side.SELL, "30", "190.01", order_id="s1")
    place(book, Side.BUY, "50", "189.00", order_id="b1")
    events = book.amend("b1", D(50), D("190.01"))
    assert [type(e) for e in events] == [Replaced, Filled, Filled]
    fill = aggressor_fills(events)[0]
    assert (fill.last_qty, fill.last_px, fill.order.leaves_qty) == (D(30), D("190.01"), D(20))
    assert book.depth(5).bids == (Level(D("190.01"), D(20), 1),)


def test_amend_to_a_quantity_not_above_cum_qty_is_rejected() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "190.00", order_id="b1")
    place(book, Side.SELL, "30", "190.00")
    events = book.amend("b1", D(30), D("190.00"))
    assert isinstance(events[0], CancelRejected)
    assert "already filled" in events[0].text
    assert book.order("b1").leaves_qty == D(20)  # type: ignore[union-attr]


def test_amend_quantity_down_on_a_partially_filled_order_keeps_cum_qty() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "190.00", order_id="b1")
    place(book, Side.SELL, "30", "190.00")
    events = book.amend("b1", D(40), D("190.00"))
    assert isinstance(events[0], Replaced)
    state = events[0].order
    assert (state.quantity, state.cum_qty, state.leaves_qty) == (D(40), D(30), D(10))
    assert state.status is OrdStatus.PARTIALLY_FILLED


def test_amend_off_tick_is_rejected() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "190.00", order_id="b1")
    events = book.amend("b1", D(50), D("190.001"))
    assert isinstance(events[0], CancelRejected)
    assert "tick" in events[0].text


def test_amend_of_canceled_order_is_too_late() -> None:
    book = new_book()
    place(book, Side.BUY, "50", "190.00", order_id="b1")
    book.cancel("b1")
    events = book.amend("b1", D(40), D("190.00"))
    assert isinstance(events[0], CancelRejected)
    assert events[0].reason is CxlRejReason.TOO_LATE_TO_CANCEL


def test_depth_aggregates_levels_best_first_and_limits_to_n() -> None:
    book = new_book()
    for price in ("189.97", "189.99", "189.98"):
        place(book, Side.BUY, "10", price)
        place(book, Side.BUY, "20", price)
    for price in ("190.03", "190.01", "190.02"):
        place(book, Side.SELL, "30", price)
    depth = book.depth(2)
    assert depth.bids == (Level(D("189.99"), D(30), 2), Level(D("189.98"), D(30), 2))
    assert depth.asks == (Level(D("190.01"), D(30), 1), Level(D("190.02"), D(30), 1))
    assert len(book.depth(0).bids) == 3


order_strategy = st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(min_value=1, max_value=20),
    st.one_of(st.none(), st.integers(min_value=-5, max_value=5)),
    st.sampled_from(list(TimeInForce)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(order_strategy, min_size=1, max_size=40))
def test_book_invariants_hold_for_any_order_flow(
    orders: list[tuple[Side, int, int | None, TimeInForce]],
) -> None:
    """Quantities are conserved, the book never stays crossed, fills pair up."""
    book = new_book()
    traded_buy = traded_sell = D(0)
    for side, lots, offset, tif in orders:
        price = None if offset is None else D("190.00") + offset * INSTRUMENT.tick_size
        events = place(book, side, str(lots * 10), None if price is None else str(price), tif)
        for e in events:
            if isinstance(e, Filled):
                if e.order.side is Side.BUY:
                    traded_buy += e.last_qty
                else:
                    traded_sell += e.last_qty
                s = e.order
                assert s.cum_qty + s.leaves_qty == s.quantity or s.status.is_done
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask
        for resting in book.resting_orders(Side.BUY) + book.resting_orders(Side.SELL):
            assert resting.leaves_qty > 0
            assert resting.time_in_force in (TimeInForce.DAY, TimeInForce.GTC)
    assert traded_buy == traded_sell


def test_post_rests_liquidity_without_events_and_refuses_to_trade() -> None:
    book = new_book()
    state = book.post("m1", "MM", Side.SELL, D(20), D("190.01"))
    assert state.status is OrdStatus.NEW
    assert book.depth(1).asks == (Level(D("190.01"), D(20), 1),)
    with pytest.raises(ValueError, match="would trade"):
        book.post("m2", "MM", Side.BUY, D(20), D("190.01"))
