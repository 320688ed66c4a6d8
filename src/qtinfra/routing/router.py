"""The smart order router: which venues get how much of a parent order.

Pure. It walks the venues' visible books together, best price net of fees first, and gives
each venue the quantity its book shows at acceptable prices. What no book shows goes to the
venue quoting the best price on the order's own side (where it will rest or, for IOC and
market orders, be cancelled by the venue).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from qtinfra.domain.commands import VenueQuote
from qtinfra.domain.values import Instrument, OrdType, Side, TimeInForce
from qtinfra.errors import VenueUnavailable

BPS = Decimal(10000)


@dataclass(frozen=True, slots=True)
class VenueRoute:
    """How much of a parent order one venue gets."""

    venue: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    instrument: Instrument
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None


def plan_routes(
    request: RoutingRequest,
    venues_up: Iterable[str],
    quotes: Mapping[str, VenueQuote],
    fee_bps: Mapping[str, Decimal],
    exclude: frozenset[str] = frozenset(),
) -> list[VenueRoute]:
    """Split request.quantity across the venues that trade the instrument and are up.

    Raises VenueUnavailable when no venue can take the order.
    """
    up = set(venues_up)
    candidates = [v for v in request.instrument.venues if v in up and v not in exclude]
    if not candidates:
        raise VenueUnavailable(
            f"no venue session is available for {request.instrument.symbol} "
            f"(trades on {', '.join(request.instrument.venues)})"
        )
    buy = request.side.is_buy
    limit = request.price if request.ord_type is OrdType.LIMIT else None

    levels: list[tuple[Decimal, int, str, Decimal]] = []
    for rank, venue in enumerate(candidates):
        quote = quotes.get(venue)
        if quote is None:
            continue
        fee = fee_bps.get(venue, Decimal(0)) / BPS
        for price, size in quote.asks if buy else quote.bids:
            if limit is not None and (price > limit if buy else price < limit):
                break
            net = price * (1 + fee) if buy else -price * (1 - fee)
            levels.append((net, rank, venue, size))
    levels.sort(key=lambda lv: (lv[0], lv[1]))

    lot = request.instrument.lot_size
    remaining = request.quantity
    allocation: dict[str, Decimal] = {}
    if request.time_in_force is TimeInForce.FOK:
        # A fill-or-kill goes whole to one venue: split, it could fill in part.
        # Cost of filling the whole order on each venue alone, net of fees; the cheapest
        # venue that shows enough wins.
        filled: dict[str, Decimal] = {}
        cost: dict[str, Decimal] = {}
        for net, _rank, venue, size in levels:
            take = min(size, remaining - filled.get(venue, Decimal(0)))
            if take > 0:
                filled[venue] = filled.get(venue, Decimal(0)) + take
                cost[venue] = cost.get(venue, Decimal(0)) + take * net
        whole = [v for v in candidates if filled.get(v, Decimal(0)) >= remaining]
        if whole:
            venue = min(whole, key=lambda v: (cost[v], candidates.index(v)))
        else:
            venue = _home_venue(candidates, levels, quotes, buy)
        return [VenueRoute(venue, remaining)]

    for _net, _rank, venue, size in levels:
        if remaining <= 0:
            break
        take = min(size, remaining)
        take -= take % lot
        if take <= 0:
            continue
        allocation[venue] = allocation.get(venue, Decimal(0)) + take
        remaining -= take
    if remaining > 0:
        home = _home_venue(candidates, levels, quotes, buy)
        allocation[home] = allocation.get(home, Decimal(0)) + remaining
    return [VenueRoute(v, q) for v, q in allocation.items()]


def _home_venue(
    candidates: list[str],
    levels: list[tuple[Decimal, int, str, Decimal]],
    quotes: Mapping[str, VenueQuote],
    buy: bool,
) -> str:
    """Where unmatched quantity goes: the best same-side quote, else the best opposite
    level, else the first venue in the instrument's list."""
    best: tuple[Decimal, int, str] | None = None
    for rank, venue in enumerate(candidates):
        quote = quotes.get(venue)
        side = quote.bids if quote and buy else quote.asks if quote else ()
        if side:
            key = -side[0][0] if buy else side[0][0]
            if best is None or (key, rank) < (best[0], best[1]):
                best = (key, rank, venue)
    if best is not None:
        return best[2]
    if levels:
        return levels[0][2]
    return candidates[0]
