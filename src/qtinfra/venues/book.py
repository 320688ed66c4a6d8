"""A price-time-priority limit order book for one instrument, and its matching.

Pure: no I/O, no clock, no threads. Each operation takes plain values and returns the
events it caused, in the order they happened, so the caller (the venue engine) turns them
into ExecutionReports. An aggressive order crossing several resting orders produces one
fill per resting order, at the resting order's price, as on a real exchange.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from dataclasses import dataclass
from decimal import Decimal

from qtinfra.domain.values import (
    CxlRejReason,
    Instrument,
    OrdRejReason,
    OrdStatus,
    Side,
    TimeInForce,
)

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderState:
    """An order as the book sees it at one moment (what an ExecutionReport reports)."""

    order_id: str
    owner: str
    side: Side
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    status: OrdStatus
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal

    @property
    def is_market(self) -> bool:
        return self.price is None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The order passed validation and entered matching (ER New)."""

    order: OrderState


@dataclass(frozen=True, slots=True)
class Filled:
    """One execution of one order: passive is True for the resting side of the match."""

    order: OrderState
    last_qty: Decimal
    last_px: Decimal
    passive: bool
    match_id: int


@dataclass(frozen=True, slots=True)
class Canceled:
    """The order (or its unfilled remainder) left the book; text says why."""

    order: OrderState
    text: str


@dataclass(frozen=True, slots=True)
class Replaced:
    """An amend was applied; the order's state right after it, before any matching."""

    order: OrderState
    kept_priority: bool


@dataclass(frozen=True, slots=True)
class Rejected:
    """A new order was refused; nothing entered the book."""

    order_id: str
    reason: OrdRejReason
    text: str


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """A cancel or amend was refused; the order (if known) is unchanged."""

    order_id: str
    reason: CxlRejReason
    text: str
    order: OrderState | None


BookEvent = Accepted | Filled | Canceled | Replaced | Rejected | CancelRejected


@dataclass(frozen=True, slots=True)
class Level:
    """One aggregated price level: total leaves quantity and number of orders."""

    price: Decimal
    quantity: Decimal
    order_count: int


@dataclass(frozen=True, slots=True)
class Depth:
    """The top levels of both sides, best first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class _Order:
    """Live mutable state of one order; exposed only as OrderState snapshots."""

    __slots__ = (
        "cum_qty",
        "is_buy",
        "notional",
        "order_id",
        "owner",
        "price",
        "quantity",
        "side",
        "status",
        "time_in_force",
    )

    def __init__(
        self,
        order_id: str,
        owner: str,
        side: Side,
        quantity: Decimal,
        price: Decimal | None,
        time_in_force: TimeInForce,
    ) -> None:
        self.order_id = order_id
        self.owner = owner
        self.side = side
        self.is_buy = side is Side.BUY
        self.quantity = quantity
        self.price = price
        self.time_in_force = time_in_force
        self.status = OrdStatus.NEW
        self.cum_qty = _ZERO
        self.notional = _ZERO

    @property
    def leaves(self) -> Decimal:
        return _ZERO if self.status.is_done else self.quantity - self.cum_qty

    def fill(self, qty: Decimal, px: Decimal) -> None:
        self.cum_qty += qty
        self.notional += qty * px
        self.status = (
            OrdStatus.FILLED if self.cum_qty >= self.quantity else OrdStatus.PARTIALLY_FILLED
        )

    def state(self) -> OrderState:
        cum = self.cum_qty
        return OrderState(
            order_id=self.order_id,
            owner=self.owner,
            side=self.side,
            quantity=self.quantity,
            price=self.price,
            time_in_force=self.time_in_force,
            status=self.status,
            cum_qty=cum,
            leaves_qty=self.leaves,
            avg_px=self.notional / cum if cum else _ZERO,
        )


class _BookSide:
    """Resting orders of one side: a FIFO queue per price, prices kept sorted ascending."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[Decimal, deque[_Order]] = {}
        self.prices: list[Decimal] = []

    def best(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def add(self, order: _Order) -> None:
        assert order.price is not None
        queue = self.levels.get(order.price)
        if queue is None:
            queue = self.levels[order.price] = deque()
            bisect.insort(self.prices, order.price)
        queue.append(order)

    def remove(self, order: _Order) -> None:
        assert order.price is not None
        queue = self.levels[order.price]
        queue.remove(order)
        if not queue:
            self.drop_level(order.price)

    def drop_level(self, price: Decimal) -> None:
        del self.levels[price]
        del self.prices[bisect.bisect_left(self.prices, price)]

    def in_priority(self) -> list[Decimal]:
        return self.prices[::-1] if self.is_bid else list(self.prices)

    def top(self, n: int) -> tuple[Level, ...]:
        prices = self.prices[-n:][::-1] if self.is_bid else self.prices[:n]
        return tuple(
            Level(p, sum((o.leaves for o in self.levels[p]), _ZERO), len(self.levels[p]))
            for p in prices
        )


class OrderBook:
    """The book of one instrument: validation, price-time-priority matching, cancel, amend.

    Order ids are given by the caller and must be unique. Done orders are remembered (up
    to done_retention of them) so a late cancel is answered "too late" rather than
    "unknown order".
    """

    def __init__(self, instrument: Instrument, *, done_retention: int = 1_000_000) -> None:
        self.instrument = instrument
        self._bids = _BookSide(is_bid=True)
        self._asks = _BookSide(is_bid=False)
        self._live: dict[str, _Order] = {}
        self._done: OrderedDict[str, _Order] = OrderedDict()
        self._done_retention = done_retention
        self._match_seq = 0

    # -- queries ---------------------------------------------------------------------------

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def order(self, order_id: str) -> OrderState | None:
        found = self._live.get(order_id) or self._done.get(order_id)
        return found.state() if found else None

    def best_bid(self) -> Decimal | None:
        return self._bids.best()

    def best_ask(self) -> Decimal | None:
        return self._asks.best()

    def depth(self, n: int) -> Depth:
        """The top n levels per side (all levels when n <= 0), aggregated, best first."""
        if n <= 0:
            n = max(len(self._bids.prices), len(self._asks.prices), 1)
        return Depth(bids=self._bids.top(n), asks=self._asks.top(n))

    def would_cross(self, side: Side, price: Decimal) -> bool:
        """Whether a limit order at price would trade on arrival."""
        if side is Side.BUY:
            best = self._asks.best()
            return best is not None and price >= best
        best = self._bids.best()
        return best is not None and price <= best

    def resting_orders(self, side: Side) -> list[OrderState]:
        """Every resting order of a side, in priority order (for tests and diagnostics)."""
        book_side = self._bids if side is Side.BUY else self._asks
        return [o.state() for p in book_side.in_priority() for o in book_side.levels[p]]

    # -- commands --------------------------------------------------------------------------

    def submit(
        self,
        order_id: str,
        owner: str,
        side: Side,
        quantity: Decimal,
        price: Decimal | None,
        time_in_force: TimeInForce = TimeInForce.DAY,
    ) -> list[BookEvent]:
        """Enter a new order: price None is a market order. Returns what happened to it.

        Accepted comes first, then one Filled pair (passive, then aggressive) per resting
        order crossed, then Canceled for an IOC, FOK or market remainder. A limit DAY/GTC
        remainder rests.
        """
        if order_id in self._live or order_id in self._done:
            return [
                Rejected(order_id, OrdRejReason.DUPLICATE_ORDER, f"duplicate order id {order_id}")
            ]
        problem = self._check_quantity(quantity) or self._check_price(price)
        if problem:
            reason, text = problem
            return [Rejected(order_id, reason, text)]
        order = _Order(order_id, owner, side, quantity, price, time_in_force)
        events: list[BookEvent] = [Accepted(order.state())]
        if time_in_force is TimeInForce.FOK:
            available = self._available(order)
            if available < quantity:
                self._finish(order, OrdStatus.CANCELED)
                events.append(
                    Canceled(
                        order.state(),
                        f"FOK: only {available} available at acceptable prices, {quantity} needed",
                    )
                )
                return events
        self._match(order, events)
        if order.status is OrdStatus.FILLED:
            self._finish(order, OrdStatus.FILLED)
        elif price is None or time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self._finish(order, OrdStatus.CANCELED)
            kind = "market order" if price is None else f"{time_in_force.name} order"
            events.append(Canceled(order.state(), f"{kind}: unfilled remainder canceled"))
        else:
            self._rest(order)
        return events

    def post(
        self,
        order_id: str,
        owner: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> OrderState:
        """Rest a valid limit order that does not cross, without events (liquidity seeding).

        Raises ValueError when the order is invalid or would trade: use submit() for those.
        """
        problem = self._check_quantity(quantity) or self._check_price(price)
        if problem or self.would_cross(side, price) or order_id in self._live:
            raise ValueError(f"cannot post {order_id}: {problem[1] if problem else 'would trade'}")
        order = _Order(order_id, owner, side, quantity, price, time_in_force)
        self._rest(order)
        return order.state()

    def cancel(self, order_id: str) -> list[BookEvent]:
        """Cancel a resting order."""
        order, refusal = self._amendable(order_id, "cancel")
        if refusal:
            return [refusal]
        assert order is not None
        self._side(order).remove(order)
        self._finish(order, OrdStatus.CANCELED)
        return [Canceled(order.state(), "canceled on request")]

    def amend(self, order_id: str, quantity: Decimal, price: Decimal) -> list[BookEvent]:
        """Change a resting order's total quantity and/or price.

        A quantity decrease at the same price keeps time priority; a price change or a
        quantity increase sends the order to the back of its (new) level. An amended price
        that crosses the opposite side trades at once: Replaced comes first, then the fills.
        """
        order, refusal = self._amendable(order_id, "amend")
        if refusal:
            return [refusal]
        assert order is not None
        problem = self._check_quantity(quantity) or self._check_price(price)
        if problem:
            return [CancelRejected(order_id, CxlRejReason.OTHER, problem[1], order.state())]
        if quantity <= order.cum_qty:
            return [
                CancelRejected(
                    order_id,
                    CxlRejReason.OTHER,
                    f"OrderQty {quantity} must exceed the quantity already filled {order.cum_qty}",
                    order.state(),
                )
            ]
        if price == order.price and quantity <= order.quantity:
            order.quantity = quantity
            return [Replaced(order.state(), kept_priority=True)]
        self._side(order).remove(order)
        order.quantity = quantity
        order.price = price
        events: list[BookEvent] = [Replaced(order.state(), kept_priority=False)]
        self._match(order, events)
        if order.status is OrdStatus.FILLED:
            self._finish(order, OrdStatus.FILLED)
        else:
            self._side(order).add(order)
        return events

    # -- internals -------------------------------------------------------------------------

    def _check_quantity(self, quantity: Decimal) -> tuple[OrdRejReason, str] | None:
        if not quantity.is_finite() or quantity <= 0:
            return OrdRejReason.INCORRECT_QUANTITY, f"OrderQty {quantity} must be positive"
        if not self.instrument.on_lot(quantity):
            return (
                OrdRejReason.INCORRECT_QUANTITY,
                f"OrderQty {quantity} is not a multiple of the lot size "
                f"{self.instrument.lot_size} for {self.symbol}",
            )
        return None

    def _check_price(self, price: Decimal | None) -> tuple[OrdRejReason, str] | None:
        if price is None:
            return None
        if not price.is_finite() or price <= 0:
            return OrdRejReason.OTHER, f"Price {price} must be positive"
        if not self.instrument.on_tick(price):
            return (
                OrdRejReason.INVALID_PRICE_INCREMENT,
                f"Price {price} is not a multiple of the tick size "
                f"{self.instrument.tick_size} for {self.symbol}",
            )
        return None

    def _amendable(self, order_id: str, what: str) -> tuple[_Order | None, CancelRejected | None]:
        order = self._live.get(order_id)
        if order is not None:
            return order, None
        done = self._done.get(order_id)
        if done is not None:
            return None, CancelRejected(
                order_id,
                CxlRejReason.TOO_LATE_TO_CANCEL,
                f"too late to {what}: order is {done.status.name.lower()}",
                done.state(),
            )
        return None, CancelRejected(order_id, CxlRejReason.UNKNOWN_ORDER, "unknown order", None)

    def _side(self, order: _Order) -> _BookSide:
        return self._bids if order.is_buy else self._asks

    def _opposite(self, order: _Order) -> _BookSide:
        return self._asks if order.is_buy else self._bids

    def _acceptable(self, order: _Order, level_price: Decimal) -> bool:
        if order.price is None:
            return True
        return level_price <= order.price if order.is_buy else level_price >= order.price

    def _available(self, order: _Order) -> Decimal:
        """Quantity resting on the opposite side at prices the order accepts (FOK check)."""
        opposite = self._opposite(order)
        total = _ZERO
        for price in opposite.in_priority():
            if not self._acceptable(order, price):
                break
            total += sum((o.leaves for o in opposite.levels[price]), _ZERO)
            if total >= order.quantity - order.cum_qty:
                break
        return total

    def _match(self, order: _Order, events: list[BookEvent]) -> None:
        opposite = self._opposite(order)
        while order.cum_qty < order.quantity:
            best = opposite.best()
            if best is None or not self._acceptable(order, best):
                return
            queue = opposite.levels[best]
            resting = queue[0]
            qty = min(order.quantity - order.cum_qty, resting.quantity - resting.cum_qty)
            resting.fill(qty, best)
            order.fill(qty, best)
            self._match_seq += 1
            events.append(
                Filled(resting.state(), qty, best, passive=True, match_id=self._match_seq)
            )
            events.append(Filled(order.state(), qty, best, passive=False, match_id=self._match_seq))
            if resting.status is OrdStatus.FILLED:
                queue.popleft()
                if not queue:
                    opposite.drop_level(best)
                self._finish(resting, OrdStatus.FILLED)

    def _rest(self, order: _Order) -> None:
        self._live[order.order_id] = order
        self._side(order).add(order)

    def _finish(self, order: _Order, status: OrdStatus) -> None:
        order.status = status
        self._live.pop(order.order_id, None)
        self._done[order.order_id] = order
        if len(self._done) > self._done_retention:
            self._done.popitem(last=False)
