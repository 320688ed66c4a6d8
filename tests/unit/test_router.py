"""The smart order router: which venue gets how much of a parent order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtinfra.domain.commands import VenueQuote
from qtinfra.domain.values import Instrument, OrdType, Side, TimeInForce
from qtinfra.errors import VenueUnavailable
from qtinfra.routing.router import RoutingRequest, VenueRoute, plan_routes

D = Decimal
VENUES = ("CBOE", "TRQ", "AQX")
FEES = {"CBOE": D("0.30"), "TRQ": D("0.28"), "AQX": D("0.20")}
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), VENUES)
SHEL = Instrument("SHEL", "GB00BP6MXD84", "GBP", D("0.5"), D("10"), D("2700.0"), VENUES)

Levels = tuple[tuple[str, str], ...]


def quote(venue: str, bids: Levels = (), asks: Levels = (), symbol: str = "AAPL") -> VenueQuote:
    return VenueQuote(
        venue=venue,
        symbol=symbol,
        bids=tuple((D(p), D(q)) for p, q in bids),
        asks=tuple((D(p), D(q)) for p, q in asks),
    )


def request(
    quantity: int | str,
    side: Side = Side.BUY,
    price: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    instrument: Instrument = AAPL,
) -> RoutingRequest:
    return RoutingRequest(
        instrument=instrument,
        side=side,
        ord_type=OrdType.LIMIT if price is not None else OrdType.MARKET,
        time_in_force=tif,
        quantity=D(quantity),
        price=D(price) if price is not None else None,
    )


def routes_of(
    req: RoutingRequest,
    *quotes: VenueQuote,
    up: tuple[str, ...] = VENUES,
    fees: dict[str, Decimal] = FEES,
    exclude: frozenset[str] = frozenset(),
) -> dict[str, Decimal]:
    routes = plan_routes(req, up, {q.venue: q for q in quotes}, fees, exclude)
    assert all(isinstance(r, VenueRoute) for r in routes)
    assert len({r.venue for r in routes}) == len(routes), "one route per venue"
    return {r.venue: r.quantity for r in routes}


# -- best price --------------------------------------------------------------------------------


def test_buy_goes_to_the_venue_with_the_lowest_ask() -> None:
    got = routes_of(
        request(50, price="190.10"),
        quote("CBOE", asks=(("190.02", "100"),)),
        quote("TRQ", asks=(("190.01", "100"),)),
        quote("AQX", asks=(("190.03", "100"),)),
    )
    assert got == {"TRQ": D(50)}


def test_sell_goes_to_the_venue_with_the_highest_bid() -> None:
    got = routes_of(
        request(50, side=Side.SELL, price="189.90"),
        quote("CBOE", bids=(("189.99", "100"),)),
        quote("TRQ", bids=(("189.98", "100"),)),
        quote("AQX", bids=(("190.00", "100"),)),
    )
    assert got == {"AQX": D(50)}


def test_equal_prices_go_to_the_venue_with_the_lowest_fee() -> None:
    got = routes_of(
        request(50, price="190.10"),
        quote("CBOE", asks=(("190.00", "100"),)),
        quote("TRQ", asks=(("190.00", "100"),)),
        quote("AQX", asks=(("190.00", "100"),)),
    )
    assert got == {"AQX": D(50)}


def test_a_cheaper_ask_loses_when_its_fee_makes_it_dearer_net() -> None:
    # TRQ 189.99 * (1 + 30 bps) = 190.56 > CBOE 190.00 * (1 + 0.3 bps) = 190.0057
    fees = {"CBOE": D("0.3"), "TRQ": D("30"), "AQX": D("0.2")}
    got = routes_of(
        request(50, price="191.00"),
        quote("CBOE", asks=(("190.00", "100"),)),
        quote("TRQ", asks=(("189.99", "100"),)),
        fees=fees,
    )
    assert got == {"CBOE": D(50)}


def test_a_higher_bid_loses_when_its_fee_makes_it_worse_net_for_a_sell() -> None:
    fees = {"CBOE": D("0.3"), "TRQ": D("30"), "AQX": D("0.2")}
    got = routes_of(
        request(50, side=Side.SELL, price="189.00"),
        quote("CBOE", bids=(("190.00", "100"),)),
        quote("TRQ", bids=(("190.01", "100"),)),
        fees=fees,
    )
    assert got == {"CBOE": D(50)}


def test_equal_net_prices_go_to_the_venue_listed_first_for_the_instrument() -> None:
    got = routes_of(
        request(50, price="190.10"),
        quote("TRQ", asks=(("190.00", "100"),)),
        quote("CBOE", asks=(("190.00", "100"),)),
        fees={},
    )
    assert got == {"CBOE": D(50)}


# -- splitting --------------------------------------------------------------------------------


def test_order_larger_than_the_best_venue_is_split_across_venues() -> None:
    got = routes_of(
        request(60, price="190.10"),
        quote("CBOE", asks=(("190.00", "30"),)),
        quote("TRQ", asks=(("190.01", "50"),)),
    )
    assert got == {"CBOE": D(30), "TRQ": D(30)}


def test_levels_are_walked_across_venues_in_price_order() -> None:
    got = routes_of(
        request(100, price="190.10"),
        quote("CBOE", asks=(("190.00", "20"), ("190.03", "100"))),
        quote("TRQ", asks=(("190.01", "30"), ("190.02", "10"))),
    )
    # 190.00 CBOE 20, 190.01 TRQ 30, 190.02 TRQ 10, 190.03 CBOE 40
    assert got == {"CBOE": D(60), "TRQ": D(40)}


def test_limit_price_is_respected_and_the_rest_rests_at_the_best_bid_venue() -> None:
    got = routes_of(
        request(100, price="190.00"),
        quote("CBOE", bids=(("189.98", "10"),), asks=(("190.00", "30"), ("190.01", "500"))),
        quote("TRQ", bids=(("189.99", "10"),), asks=(("190.05", "500"),)),
    )
    assert got == {"CBOE": D(30), "TRQ": D(70)}


def test_sell_limit_takes_only_bids_at_or_above_the_limit() -> None:
    got = routes_of(
        request(100, side=Side.SELL, price="190.00"),
        quote("CBOE", bids=(("190.01", "40"), ("189.99", "500")), asks=(("190.04", "5"),)),
        quote("AQX", bids=(("190.00", "20"),), asks=(("190.02", "5"),)),
    )
    # 40 at CBOE 190.01, 20 at AQX 190.00; the other 40 rest at the lowest ask (AQX).
    assert got == {"CBOE": D(40), "AQX": D(60)}


def test_unmatched_quantity_goes_to_the_best_same_side_quote() -> None:
    got = routes_of(
        request(100, price="189.00"),
        quote("CBOE", bids=(("188.98", "10"),), asks=(("190.00", "10"),)),
        quote("TRQ", bids=(("188.97", "10"),), asks=(("190.00", "10"),)),
        quote("AQX", bids=(("188.99", "10"),), asks=(("190.00", "10"),)),
    )
    assert got == {"AQX": D(100)}


def test_without_any_quote_the_order_goes_to_the_first_venue_that_is_up() -> None:
    assert routes_of(request(100, price="190.00"), up=("TRQ", "AQX")) == {"TRQ": D(100)}


def test_without_same_side_quotes_the_rest_goes_to_the_best_opposite_level() -> None:
    got = routes_of(
        request(100, price="190.00"),
        quote("TRQ", asks=(("190.00", "10"),)),
    )
    # 10 take TRQ's ask; with no bid anywhere the other 90 follow the best level (TRQ).
    assert got == {"TRQ": D(100)}


def test_without_any_acceptable_level_or_same_side_quote_the_first_venue_gets_it() -> None:
    got = routes_of(
        request(100, price="189.00"),
        quote("TRQ", asks=(("190.00", "10"),)),
    )
    assert got == {"CBOE": D(100)}


def test_market_order_takes_every_level_it_needs() -> None:
    got = routes_of(
        request(100),
        quote("CBOE", asks=(("190.00", "30"), ("195.00", "30"))),
        quote("TRQ", asks=(("250.00", "100"),)),
    )
    assert got == {"CBOE": D(60), "TRQ": D(40)}


def test_quotes_of_venues_that_do_not_trade_the_instrument_are_ignored() -> None:
    jpm = Instrument("JPM", "US46625H1005", "USD", D("0.01"), D("1"), D("200"), ("TRQ", "AQX"))
    got = routes_of(
        request(10, price="200.10", instrument=jpm),
        quote("CBOE", asks=(("199.00", "100"),), symbol="JPM"),
        quote("AQX", asks=(("200.05", "100"),), symbol="JPM"),
    )
    assert got == {"AQX": D(10)}


# -- fill or kill ------------------------------------------------------------------------------


def test_fill_or_kill_goes_whole_to_a_venue_that_can_fill_it_alone() -> None:
    got = routes_of(
        request(60, price="190.10", tif=TimeInForce.FOK),
        quote("CBOE", asks=(("190.00", "30"),)),
        quote("TRQ", asks=(("190.02", "100"),)),
    )
    assert got == {"TRQ": D(60)}


def test_fill_or_kill_counts_only_levels_within_the_limit() -> None:
    got = routes_of(
        request(60, price="190.00", tif=TimeInForce.FOK),
        quote("CBOE", asks=(("190.00", "30"), ("190.01", "100"))),
        quote("TRQ", asks=(("190.00", "60"),)),
    )
    assert got == {"TRQ": D(60)}


def test_fill_or_kill_nobody_can_fill_is_not_split() -> None:
    got = routes_of(
        request(100, price="190.10", tif=TimeInForce.FOK),
        quote("CBOE", bids=(("189.90", "5"),), asks=(("190.00", "30"),)),
        quote("TRQ", bids=(("189.95", "5"),), asks=(("190.02", "30"),)),
    )
    assert got == {"TRQ": D(100)}


def test_fill_or_kill_goes_to_the_best_priced_venue_that_can_fill_it_whole() -> None:
    got = routes_of(
        request(50, price="190.10", tif=TimeInForce.FOK),
        quote("CBOE", asks=(("190.05", "100"),)),
        quote("AQX", asks=(("190.00", "100"),)),
    )
    assert got == {"AQX": D(50)}


# -- availability ------------------------------------------------------------------------------


def test_excluded_venues_get_nothing() -> None:
    got = routes_of(
        request(50, price="190.10"),
        quote("CBOE", asks=(("190.00", "100"),)),
        quote("TRQ", asks=(("190.01", "100"),)),
        exclude=frozenset({"CBOE"}),
    )
    assert got == {"TRQ": D(50)}


def test_venues_that_are_down_get_nothing() -> None:
    got = routes_of(
        request(50, price="190.10"),
        quote("CBOE", asks=(("190.00", "100"),)),
        quote("TRQ", asks=(("190.01", "100"),)),
        up=("TRQ", "AQX"),
    )
    assert got == {"TRQ": D(50)}


def test_no_venue_up_raises_venue_unavailable_naming_the_instrument() -> None:
    with pytest.raises(VenueUnavailable, match=r"AAPL \(trades on CBOE, TRQ, AQX\)"):
        plan_routes(request(10, price="190.00"), (), {}, FEES)


def test_every_venue_excluded_raises_venue_unavailable() -> None:
    with pytest.raises(VenueUnavailable):
        plan_routes(request(10, price="190.00"), VENUES, {}, FEES, frozenset(VENUES))


def test_only_venues_for_other_instruments_up_raises_venue_unavailable() -> None:
    jpm = Instrument("JPM", "US46625H1005", "USD", D("0.01"), D("1"), D("200"), ("TRQ", "AQX"))
    with pytest.raises(VenueUnavailable, match="JPM"):
        plan_routes(request(10, price="200.00", instrument=jpm), ("CBOE",), {}, FEES)


# -- lots --------------------------------------------------------------------------------------


def test_visible_size_is_rounded_down_to_whole_lots() -> None:
    got = routes_of(
        request(50, price="2701.0", instrument=SHEL),
        quote("CBOE", asks=(("2700.0", "25"),), symbol="SHEL"),
        quote("TRQ", asks=(("2700.5", "100"),), symbol="SHEL"),
    )
    assert got == {"CBOE": D(20), "TRQ": D(30)}


def test_a_level_smaller_than_one_lot_is_skipped() -> None:
    got = routes_of(
        request(30, price="2701.0", instrument=SHEL),
        quote("CBOE", asks=(("2700.0", "9"),), symbol="SHEL"),
        quote("TRQ", asks=(("2700.5", "100"),), symbol="SHEL"),
    )
    assert got == {"TRQ": D(30)}


@st.composite
def books(draw: st.DrawFn) -> dict[str, VenueQuote]:
    out: dict[str, VenueQuote] = {}
    for venue in draw(st.lists(st.sampled_from(VENUES), unique=True)):
        ticks = st.integers(26980, 27020).map(lambda t: D(t) / 10)  # 2698.0 .. 2702.0
        sizes = st.integers(1, 80).map(D)
        asks = sorted(draw(st.lists(st.tuples(ticks, sizes), max_size=4)))
        bids = sorted(draw(st.lists(st.tuples(ticks, sizes), max_size=4)), reverse=True)
        out[venue] = VenueQuote(venue, "SHEL", tuple(bids), tuple(asks))
    return out


@settings(max_examples=300, deadline=None)
@given(
    book=books(),
    lots=st.integers(1, 50),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    limit=st.one_of(st.none(), st.integers(26980, 27020).map(lambda t: D(t) / 10)),
    tif=st.sampled_from(list(TimeInForce)),
    up=st.lists(st.sampled_from(VENUES), min_size=1, unique=True),
    excluded=st.sets(st.sampled_from(VENUES), max_size=1),
)
def test_routes_always_cover_the_order_exactly_in_whole_lots_on_allowed_venues(
    book: dict[str, VenueQuote],
    lots: int,
    side: Side,
    limit: Decimal | None,
    tif: TimeInForce,
    up: list[str],
    excluded: set[str],
) -> None:
    req = RoutingRequest(
        SHEL,
        side,
        OrdType.LIMIT if limit is not None else OrdType.MARKET,
        tif,
        D(lots) * SHEL.lot_size,
        limit,
    )
    allowed = set(up) - excluded
    if not allowed:
        with pytest.raises(VenueUnavailable):
            plan_routes(req, up, book, FEES, frozenset(excluded))
        return
    routes = plan_routes(req, up, book, FEES, frozenset(excluded))
    assert sum(r.quantity for r in routes) == req.quantity
    assert all(r.quantity > 0 and r.quantity % SHEL.lot_size == 0 for r in routes)
    assert {r.venue for r in routes} <= allowed
    if tif is TimeInForce.FOK:
        assert len(routes) == 1
