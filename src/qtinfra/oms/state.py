"""The order state of the gateway: every client order it works, their child orders, the
ClOrdIDs each session used, and the side tables of orders being worked (venues excluded,
expiries, kill-switch cancels, replace data). Restored at start, forgotten when done, and
the bookkeeping every handler shares (touch an order, keep its exposure in step)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import structlog
from rbloom import Bloom

from qtinfra.domain.child_orders import ChildOrder
from qtinfra.domain.commands import VenueExecution
from qtinfra.domain.orders import ZERO, ChangeKind, Order
from qtinfra.domain.values import (
    Instrument,
    Side,
)
from qtinfra.oms.market import MarketView
from qtinfra.oms.outbox import Outbox
from qtinfra.risk.engine import (
    Check,
    OrderData,
    RiskEngine,
)

log = structlog.get_logger(__name__)

RECENT_DONE = 20_000
"""Done orders held in memory by default (the newest); older ones are read back."""
CL_ORD_ID_CAPACITY = 10_000_000
CL_ORD_ID_ERROR_RATE = 0.001
"""The ClOrdID filter: 10 million ClOrdIDs at 0.1% false positives take 18 MB; beyond
that the rate rises (more database reads, never a wrong answer)."""


@dataclass(slots=True)
class TradeQuery:
    """A reconciliation query out to a venue (TradeCaptureReportRequest): the child it is
    about, the venue's OrderStatus that showed fills the gateway had not booked (applied
    once the query is answered), and how many TradeCaptureReports came of how many."""

    venue: str
    child_id: str
    status: VenueExecution
    expected: int | None = None
    received: int = 0


class History(Protocol):
    """Orders no longer held in memory (store/repository.py's OrderHistory)."""

    def order_id_of(self, session: str, cl_ord_id: str) -> str | None: ...

    def order(self, order_id: str) -> Order | None: ...

    def cl_ord_ids(self) -> Iterator[tuple[str, str]]: ...


class OmsState:
    """What the order manager holds; see the module docstring."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        venue_fees: Mapping[str, Decimal],
        venue_mics: Mapping[str, str],
        clock: Callable[[], datetime],
        id_prefix: str,
        default_accounts: Mapping[str, str] | None = None,
        risk: RiskEngine | None = None,
        on_risk: Callable[[Check | None, int | None], None] | None = None,
        history: History | None = None,
        recent_done: int = RECENT_DONE,
    ) -> None:
        """default_accounts: Account (1) by client session key, from the clients' static
        data, for orders that carry none. risk: the pre-trade check chain and exposure
        (the gateway always has one; lifecycle unit tests may leave it out). on_risk: told
        each evaluation's outcome (None: passed) and its duration in nanoseconds.
        history: where orders no longer held in memory are read back (None: every order
        stays in memory, as in unit tests). recent_done: how many done orders stay in
        memory (with a history) for status requests and duplicate checks."""
        self.instruments = {i.symbol: i for i in instruments}
        self.by_isin = {i.isin: i for i in self.instruments.values()}
        self.venue_fees = dict(venue_fees)
        self.venue_mics = dict(venue_mics)
        self.clock = clock
        self.default_accounts = dict(default_accounts or {})
        self.orders: dict[str, Order] = {}
        self.done_orders: dict[str, Order] = {}
        """The most recently done orders, oldest first (all of them without a history)."""
        self.by_cl_ord_id: dict[tuple[str, str], str] = {}
        """The ClOrdIDs of the orders in memory, by (session, ClOrdID)."""
        self.cl_ord_ids_of: dict[str, list[str]] = {}
        self.history = history
        self.recent_done = recent_done
        self.used_cl_ord_ids: Bloom | None = None
        """Every (session, ClOrdID) ever used, as a Bloom filter (with a history): one it
        says was never used is new without asking the database."""
        self.children: dict[str, ChildOrder] = {}
        self.children_of: dict[str, list[ChildOrder]] = {}
        self.excluded: dict[str, set[str]] = {}
        self.expiring: set[str] = set()
        self.trade_queries: dict[str, TradeQuery] = {}
        """Reconciliation queries waiting for the venue's answer, by TradeRequestID."""
        self.killing: dict[str, str] = {}
        self.replace_data: dict[str, tuple[OrderData, str | None]] = {}
        """MiFID II data and ExDestination a pending replace carries, applied on confirm."""
        self.risk = risk
        self.on_risk = on_risk
        self.market = MarketView()
        self.outbox = Outbox()
        self._prefix = id_prefix
        self._order_seq = itertools.count(1)
        self._exec_seq = itertools.count(1)
        self._child_seq = itertools.count(1)
        self._query_seq = itertools.count(1)

    def restore(
        self,
        orders: Iterable[Order],
        children: Iterable[ChildOrder],
        cl_ord_ids: Iterable[tuple[str, str, str]],
    ) -> None:
        """Rebuild state after a restart from what the store holds: open orders, the most
        recently done ones (oldest first), the ClOrdIDs of those; with a history, the filter
        of every ClOrdID ever used is filled from it."""
        if self.history is not None:
            self.used_cl_ord_ids = Bloom(CL_ORD_ID_CAPACITY, CL_ORD_ID_ERROR_RATE)
            for key in self.history.cl_ord_ids():
                self.used_cl_ord_ids.add(key)
        for order in orders:
            if order.status.is_done:
                self.done_orders[order.order_id] = order
                continue
            self.orders[order.order_id] = order
            self.children_of.setdefault(order.order_id, [])
        for child in children:
            self.children[child.child_id] = child
            self.children_of.setdefault(child.order_id, []).append(child)
        for session, cl_ord_id, order_id in cl_ord_ids:
            self.by_cl_ord_id[(session, cl_ord_id)] = order_id
            self.cl_ord_ids_of.setdefault(order_id, []).append(cl_ord_id)
        self._evict_done()
        if self.risk is not None:
            for order in self.orders.values():
                price = order.price or self.market.reference_price(order.instrument)[0]
                order.exposure_price = self.risk.unit_price(order.instrument, price)
                self._sync_exposure(order)

    def _lookup(self, order_id: str | None) -> Order | None:
        """The order by OrderID: in memory, else (done long ago) from the history."""
        if order_id is None:
            return None
        order = self.orders.get(order_id) or self.done_orders.get(order_id)
        if order is None and self.history is not None:
            order = self.history.order(order_id)
            if order is not None:
                self.done_orders[order_id] = order
                self._evict_done()
        return order

    def _order_id_of(self, session: str, cl_ord_id: str) -> str | None:
        """The OrderID a session's ClOrdID names (the order's own, or a cancel's or
        replace's), in memory, else in the history when the filter says it may be there."""
        key = (session, cl_ord_id)
        found = self.by_cl_ord_id.get(key)
        if found is None and self.used_cl_ord_ids is not None and key in self.used_cl_ord_ids:
            assert self.history is not None
            found = self.history.order_id_of(session, cl_ord_id)
        return found

    def live_children_at(self, venue: str) -> list[ChildOrder]:
        return [c for c in self.children.values() if c.venue == venue and not c.status.is_done]

    def _next_exec_id(self) -> str:
        return f"{self._prefix}E{next(self._exec_seq)}"

    def _touch(self, order: Order) -> None:
        self.outbox.orders[order.order_id] = order
        if self.risk is not None:
            self._sync_exposure(order)

    def _sync_exposure(self, order: Order) -> None:
        """The order's open quantity and notional, as the risk exposure counts them; a
        pending replace counts at the larger of its old and new terms."""
        assert self.risk is not None
        unit = order.exposure_price
        if unit is None:
            return
        leaves = order.leaves_qty
        notional = leaves * unit
        change = order.pending
        if change is not None and change.kind is ChangeKind.REPLACE and not order.status.is_done:
            assert change.quantity is not None
            new_unit = self.risk.unit_price(order.instrument, change.price) or unit
            new_leaves = max(change.quantity - order.cum_qty, ZERO)
            leaves = max(leaves, new_leaves)
            notional = max(notional, new_leaves * new_unit)
        self.risk.exposure.set_order(
            order.order_id,
            order.account or "",
            order.instrument.symbol,
            order.side is Side.BUY,
            leaves,
            notional,
        )

    def _touch_child(self, child: ChildOrder) -> None:
        self.outbox.children[child.child_id] = child

    def _remember_cl_ord_id(self, session: str, cl_ord_id: str, order_id: str) -> None:
        self.by_cl_ord_id[(session, cl_ord_id)] = order_id
        self.cl_ord_ids_of.setdefault(order_id, []).append(cl_ord_id)
        if self.used_cl_ord_ids is not None:
            self.used_cl_ord_ids.add((session, cl_ord_id))
        self.outbox.cl_ord_ids.append((session, cl_ord_id, order_id))

    def _forget_if_done(self, order: Order) -> None:
        """A done order's children and side tables leave memory; the order joins the most
        recently done ones (its ClOrdIDs with it, for status requests and duplicates)."""
        if order.status.is_done and not any(
            not c.status.is_done for c in self.children_of.get(order.order_id, ())
        ):
            self.done_orders[order.order_id] = self.orders.pop(order.order_id)
            for child in self.children_of.pop(order.order_id, ()):
                self.children.pop(child.child_id, None)
            self.excluded.pop(order.order_id, None)
            self.expiring.discard(order.order_id)
            self.killing.pop(order.order_id, None)
            self.replace_data.pop(order.order_id, None)
            self._evict_done()

    def _evict_done(self) -> None:
        """With a history, the done orders beyond the most recent `recent_done` leave
        memory, ClOrdIDs and all (the database has them). One this round changed stays
        until it is committed (the next round evicts it)."""
        if self.history is None:
            return
        while len(self.done_orders) > self.recent_done:
            order_id = next(iter(self.done_orders))
            if order_id in self.outbox.orders:
                return
            order = self.done_orders.pop(order_id)
            for cl_ord_id in self.cl_ord_ids_of.pop(order_id, ()):
                self.by_cl_ord_id.pop((order.session, cl_ord_id), None)
