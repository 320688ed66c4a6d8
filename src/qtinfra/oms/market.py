"""The gateway's view of the venues: which are logged on, and the top of their books as
their market data last showed it. Routing and the price collar read it."""

from __future__ import annotations

from decimal import Decimal

from qtinfra.domain.commands import VenueQuote
from qtinfra.domain.values import Instrument


class MarketView:
    """Venues up and their latest quotes, by venue and symbol."""

    def __init__(self) -> None:
        self.venues_up: set[str] = set()
        self.quotes: dict[str, dict[str, VenueQuote]] = {}

    def venue_up(self, venue: str) -> None:
        self.venues_up.add(venue)

    def venue_down(self, venue: str) -> None:
        """A venue whose session dropped routes nothing, and its quotes are stale."""
        self.venues_up.discard(venue)
        self.quotes.pop(venue, None)

    def quote(self, quote: VenueQuote) -> None:
        self.quotes.setdefault(quote.venue, {})[quote.symbol] = quote

    def quotes_for(self, symbol: str) -> dict[str, VenueQuote]:
        """Each venue's latest quote of one instrument."""
        return {
            venue: q
            for venue, by_symbol in self.quotes.items()
            if (q := by_symbol.get(symbol)) is not None
        }

    def reference_price(self, instrument: Instrument) -> tuple[Decimal | None, str]:
        """The price collar's reference: the mid of the best bid and offer across the
        venues' books, else the instrument's configured reference price."""
        bid = ask = None
        for by_symbol in self.quotes.values():
            q = by_symbol.get(instrument.symbol)
            if q is None:
                continue
            if q.bids and (bid is None or q.bids[0][0] > bid):
                bid = q.bids[0][0]
            if q.asks and (ask is None or q.asks[0][0] < ask):
                ask = q.asks[0][0]
        if bid is not None and ask is not None and bid < ask:
            return (bid + ask) / 2, "venues' mid"
        if instrument.reference_price is not None:
            return instrument.reference_price, "configured reference price"
        return None, "none"
