"""The venue engine: one order book per instrument, a synthetic market maker, fees, latency.

The engine takes venue commands (decoded from FIX by venues/acceptor.py) and returns
the reports to send back, addressed to their owner (the FIX session that owns the order).
It imports no quickfix. It is not thread-safe by itself: VenueSequencer owns it and runs
one command at a time, after the venue's simulated latency.
"""

from __future__ import annotations

import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import structlog

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
    utc_now,
)
from qtinfra.venues.book import (
    Accepted,
    BookEvent,
    Canceled,
    CancelRejected,
    Depth,
    Filled,
    OrderBook,
    OrderState,
    Rejected,
    Replaced,
)
from qtinfra.venues.trades import Trade, TradeHistory, TradeQuery, TradeQueryAck, TradeReport

log = structlog.get_logger(__name__)

MARKET_MAKER = "*MM*"
"""Owner of the synthetic resting liquidity; it is never sent reports."""

NO_ORDER_ID = "NONE"
"""OrderID (37) on answers about orders the venue does not know (FIX convention)."""

_CENT = Decimal("0.01")
_BPS = Decimal(10000)
_ZERO = Decimal(0)


# -- commands ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewOrder:
    """NewOrderSingle (D). price is None for a market order."""

    owner: str
    cl_ord_id: str
    symbol: str
    side: Side
    quantity: Decimal
    ord_type: OrdType
    price: Decimal | None
    time_in_force: TimeInForce = TimeInForce.DAY
    security_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """OrderCancelRequest (F)."""

    owner: str
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: Side
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """OrderCancelReplaceRequest (G): the order's new total quantity and price."""

    owner: str
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: Side
    quantity: Decimal
    ord_type: OrdType
    price: Decimal | None
    time_in_force: TimeInForce | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """OrderStatusRequest (H)."""

    owner: str
    cl_ord_id: str
    symbol: str
    side: Side


VenueCommand = NewOrder | CancelOrder | ReplaceOrder | StatusRequest | TradeQuery


# -- reports ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecReport:
    """An ExecutionReport (8) for the session `owner`."""

    owner: str
    order_id: str
    cl_ord_id: str
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    side: Side
    leaves_qty: Decimal
    cum_qty: Decimal
    avg_px: Decimal
    transact_time: datetime
    order_qty: Decimal | None = None
    ord_type: OrdType | None = None
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    security_id: str | None = None
    orig_cl_ord_id: str | None = None
    last_qty: Decimal | None = None
    last_px: Decimal | None = None
    last_mkt: str | None = None
    commission: Decimal | None = None
    ord_rej_reason: OrdRejReason | None = None
    text: str | None = None
    trade_id: str | None = None
    """TrdMatchID (880) of a fill: the venue's transaction identification code (RTS 22
    field 3), the same on both sides of the match."""
    liquidity: str | None = None
    """LastLiquidityInd (851) of a fill: 1 the order rested (added liquidity), 2 it took."""


@dataclass(frozen=True, slots=True)
class CancelReject:
    """An OrderCancelReject (9) for the session `owner`."""

    owner: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: OrdStatus
    response_to: CxlRejResponseTo
    reason: CxlRejReason
    text: str
    transact_time: datetime


VenueReport = ExecReport | CancelReject | TradeQueryAck | TradeReport


@dataclass(slots=True)
class _ClientOrder:
    """What the engine keeps about a client's order beyond the book's view of it."""

    order_id: str
    owner: str
    symbol: str
    security_id: str | None
    cl_ord_id: str
    ord_type: OrdType


def commission(fee_bps: Decimal, last_qty: Decimal, last_px: Decimal) -> Decimal:
    """The venue fee on one fill: fee_bps of the traded notional, to the cent (half up)."""
    return (fee_bps * last_qty * last_px / _BPS).quantize(_CENT, rounding=ROUND_HALF_UP)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


class VenueEngine:
    """One venue's matching engine: books, synthetic liquidity, replenishment and fees.

    run_id makes OrderIDs and ExecIDs unique across restarts of the venue; by default it
    is derived from the start time. clock gives TransactTime (UTC, microseconds).
    """

    def __init__(
        self,
        venue: VenueConfig,
        instruments: Iterable[Instrument],
        *,
        run_id: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.venue = venue
        self._clock = clock
        run_id = run_id or _base36(time.time_ns() // 1000)
        self._id_prefix = f"{venue.name}-{run_id}-"
        # Trading venue transaction identification codes: the MIC, this run and a counter,
        # upper-case alphanumerics only (ESMA allows [A-Z0-9], at most 52).
        self._trade_prefix = re.sub(r"[^A-Z0-9]", "", f"{venue.mic}{run_id.upper()}T")
        self._next_order = 0
        self._next_exec = 0
        self._next_trade = 0
        self._fee_bps = venue.fee_bps
        self.books: dict[str, OrderBook] = {}
        self._rngs: dict[str, random.Random] = {}
        self._isins: dict[str, str] = {}
        self._orders: dict[str, _ClientOrder] = {}
        self._by_cl_ord_id: dict[tuple[str, str], str] = {}
        self._pending_refill: dict[str, list[tuple[Side, Decimal]]] = {}
        self.trades = TradeHistory(self._id_prefix)
        self._dirty: set[str] = set()
        for instrument in instruments:
            if venue.name in instrument.venues:
                self._add_book(instrument)

    # -- queries ---------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return list(self.books)

    def depth(self, symbol: str, levels: int) -> Depth:
        return self.books[symbol].depth(levels)

    def take_changed(self) -> set[str]:
        """Symbols whose book changed since the last call (for market data snapshots)."""
        changed, self._dirty = self._dirty, set()
        return changed

    def order_state(self, owner: str, cl_ord_id: str) -> OrderState | None:
        order_id = self._by_cl_ord_id.get((owner, cl_ord_id))
        if order_id is None:
            return None
        return self.books[self._orders[order_id].symbol].order(order_id)

    # -- commands --------------------------------------------------------------------------

    def handle(self, command: VenueCommand) -> list[VenueReport]:
        """Apply one command; return the reports it caused, in sending order."""
        if isinstance(command, NewOrder):
            return self._new_order(command)
        if isinstance(command, CancelOrder):
            return self._cancel(command)
        if isinstance(command, ReplaceOrder):
            return self._replace(command)
        if isinstance(command, TradeQuery):
            return self._trade_query(command)
        return self._status(command)

    def _new_order(self, cmd: NewOrder) -> list[VenueReport]:
        book = self.books.get(cmd.symbol)
        problem: tuple[OrdRejReason, str] | None = None
        if (cmd.owner, cmd.cl_ord_id) in self._by_cl_ord_id:
            problem = OrdRejReason.DUPLICATE_ORDER, f"duplicate ClOrdID {cmd.cl_ord_id}"
        elif book is None:
            problem = (
                OrdRejReason.UNKNOWN_SYMBOL,
                f"unknown symbol {cmd.symbol}: {self.venue.name} does not trade it",
            )
        elif cmd.security_id is not None and cmd.security_id != self._isins[cmd.symbol]:
            problem = (
                OrdRejReason.UNKNOWN_SYMBOL,
                f"SecurityID {cmd.security_id} does not match {cmd.symbol} "
                f"(ISIN {self._isins[cmd.symbol]})",
            )
        elif cmd.ord_type is OrdType.LIMIT and cmd.price is None:
            problem = OrdRejReason.OTHER, "limit order without Price (44)"
        elif cmd.ord_type is OrdType.MARKET and cmd.price is not None:
            problem = OrdRejReason.OTHER, "market order must not carry Price (44)"
        if problem is not None or book is None:
            reason, text = problem or (OrdRejReason.OTHER, "rejected")
            return [self._reject(cmd, reason, text)]
        order_id = self._order_id()
        events = book.submit(
            order_id, cmd.owner, cmd.side, cmd.quantity, cmd.price, cmd.time_in_force
        )
        if isinstance(events[0], Rejected):
            return [self._reject(cmd, events[0].reason, events[0].text)]
        self._orders[order_id] = _ClientOrder(
            order_id, cmd.owner, cmd.symbol, cmd.security_id, cmd.cl_ord_id, cmd.ord_type
        )
        self._by_cl_ord_id[(cmd.owner, cmd.cl_ord_id)] = order_id
        return self._after(book, events)

    def _cancel(self, cmd: CancelOrder) -> list[VenueReport]:
        record, refusal = self._target(cmd, CxlRejResponseTo.CANCEL)
        if refusal is not None:
            return [refusal]
        assert record is not None
        book = self.books[record.symbol]
        events = book.cancel(record.order_id)
        if isinstance(events[0], CancelRejected):
            return [self._cxl_reject(cmd, CxlRejResponseTo.CANCEL, events[0])]
        orig = record.cl_ord_id
        self._rebind(record, cmd.cl_ord_id)
        return self._after(book, events, orig_cl_ord_id=orig)

    def _replace(self, cmd: ReplaceOrder) -> list[VenueReport]:
        record, refusal = self._target(cmd, CxlRejResponseTo.REPLACE)
        if refusal is not None:
            return [refusal]
        assert record is not None
        book = self.books[record.symbol]
        current = book.order(record.order_id)
        text: str | None = None
        if cmd.ord_type is not OrdType.LIMIT or cmd.price is None:
            text = "only a limit order with a Price (44) can be amended"
        elif current is not None and (
            cmd.time_in_force is not None and cmd.time_in_force is not current.time_in_force
        ):
            text = "TimeInForce (59) cannot be amended"
        if text is not None or cmd.price is None:
            rejection = CancelRejected(
                record.order_id, CxlRejReason.OTHER, text or "no Price (44)", current
            )
            return [self._cxl_reject(cmd, CxlRejResponseTo.REPLACE, rejection)]
        events = book.amend(record.order_id, cmd.quantity, cmd.price)
        if isinstance(events[0], CancelRejected):
            return [self._cxl_reject(cmd, CxlRejResponseTo.REPLACE, events[0])]
        orig = record.cl_ord_id
        self._rebind(record, cmd.cl_ord_id)
        return self._after(book, events, orig_cl_ord_id=orig)

    def _status(self, cmd: StatusRequest) -> list[VenueReport]:
        order_id = self._by_cl_ord_id.get((cmd.owner, cmd.cl_ord_id))
        record = self._orders.get(order_id) if order_id else None
        state = self.books[record.symbol].order(record.order_id) if record else None
        if record is None or state is None:
            return [self._unbooked(cmd, ExecType.ORDER_STATUS, "unknown order")]
        return [self._report(record, state, ExecType.ORDER_STATUS)]

    def _trade_query(self, cmd: TradeQuery) -> list[VenueReport]:
        """A member's TradeCaptureReportRequest: its order by ClOrdID (any of the chain),
        else by OrderID; only its own orders."""
        order_id = self._by_cl_ord_id.get((cmd.owner, cmd.cl_ord_id or ""))
        if order_id is None and cmd.order_id:
            candidate = self._orders.get(cmd.order_id)
            order_id = candidate.order_id if candidate and candidate.owner == cmd.owner else None
        record = self._orders.get(order_id) if order_id else None
        if record is None:
            return list(self.trades.answer(cmd, None, cmd.cl_ord_id or "", cmd.symbol or ""))
        return list(self.trades.answer(cmd, record.order_id, record.cl_ord_id, record.symbol))

    # -- helpers ---------------------------------------------------------------------------

    def _target(
        self, cmd: CancelOrder | ReplaceOrder, response_to: CxlRejResponseTo
    ) -> tuple[_ClientOrder | None, CancelReject | None]:
        """The client order a cancel/replace is about, or the OrderCancelReject to send."""
        key = (cmd.owner, cmd.cl_ord_id)
        order_id = self._by_cl_ord_id.get((cmd.owner, cmd.orig_cl_ord_id))
        if order_id is None and cmd.order_id:
            candidate = self._orders.get(cmd.order_id)
            if candidate is not None and candidate.owner == cmd.owner:
                order_id = candidate.order_id
        record = self._orders.get(order_id) if order_id else None
        state = self.books[record.symbol].order(record.order_id) if record else None
        if record is None or state is None:
            refusal = CancelRejected(NO_ORDER_ID, CxlRejReason.UNKNOWN_ORDER, "unknown order", None)
        elif key in self._by_cl_ord_id:
            refusal = CancelRejected(
                record.order_id,
                CxlRejReason.DUPLICATE_CLORDID,
                f"duplicate ClOrdID {cmd.cl_ord_id}",
                state,
            )
        elif cmd.symbol != record.symbol or (cmd.side is Side.BUY) != (state.side is Side.BUY):
            refusal = CancelRejected(
                record.order_id,
                CxlRejReason.OTHER,
                f"Symbol/Side {cmd.symbol}/{cmd.side.name} do not match the order "
                f"({record.symbol}/{state.side.name})",
                state,
            )
        else:
            return record, None
        return None, self._cxl_reject(cmd, response_to, refusal)

    def _rebind(self, record: _ClientOrder, cl_ord_id: str) -> None:
        # Every ClOrdID of the chain keeps pointing at the order, so an OrigClOrdID that is
        # not the latest is still understood and a reused one is still a duplicate.
        record.cl_ord_id = cl_ord_id
        self._by_cl_ord_id[(record.owner, cl_ord_id)] = record.order_id

    def _after(
        self, book: OrderBook, events: list[BookEvent], orig_cl_ord_id: str | None = None
    ) -> list[VenueReport]:
        """Turn book events into reports; queue consumed synthetic orders for refill."""
        reports: list[VenueReport] = []
        trade_ids: dict[int, str] = {}  # the book's match id -> the venue's trade id
        for event in events:
            if isinstance(event, Filled) and event.match_id not in trade_ids:
                self._next_trade += 1
                trade_ids[event.match_id] = f"{self._trade_prefix}{self._next_trade}"
            if isinstance(event, Rejected | CancelRejected):  # pragma: no cover - handled above
                continue
            state = event.order
            if state.owner == MARKET_MAKER:
                if isinstance(event, Filled) and state.status is OrdStatus.FILLED:
                    assert state.price is not None
                    self._pending_refill[book.symbol].append((state.side, state.price))
                continue
            record = self._orders[state.order_id]
            if isinstance(event, Accepted):
                reports.append(self._report(record, state, ExecType.NEW))
            elif isinstance(event, Filled):
                report = self._report(
                    record,
                    state,
                    ExecType.TRADE,
                    last_qty=event.last_qty,
                    last_px=event.last_px,
                    trade_id=trade_ids[event.match_id],
                    liquidity="1" if event.passive else "2",
                )
                reports.append(report)
                self.trades.record(
                    Trade(
                        exec_id=report.exec_id,
                        trade_id=trade_ids[event.match_id],
                        order_id=record.order_id,
                        symbol=record.symbol,
                        security_id=report.security_id,
                        side=state.side,
                        last_qty=event.last_qty,
                        last_px=event.last_px,
                        last_mkt=self.venue.mic,
                        transact_time=report.transact_time,
                        aggressor=not event.passive,
                        commission=report.commission,
                    )
                )
            elif isinstance(event, Canceled):
                on_request = orig_cl_ord_id is not None
                reports.append(
                    self._report(
                        record,
                        state,
                        ExecType.CANCELED,
                        orig_cl_ord_id=orig_cl_ord_id if on_request else None,
                        text=None if on_request else event.text,
                    )
                )
            elif isinstance(event, Replaced):
                reports.append(
                    self._report(record, state, ExecType.REPLACED, orig_cl_ord_id=orig_cl_ord_id)
                )
        self._refill(book)
        self._dirty.add(book.symbol)
        return reports

    def _report(
        self,
        record: _ClientOrder,
        state: OrderState,
        exec_type: ExecType,
        *,
        orig_cl_ord_id: str | None = None,
        last_qty: Decimal | None = None,
        last_px: Decimal | None = None,
        text: str | None = None,
        trade_id: str | None = None,
        liquidity: str | None = None,
    ) -> ExecReport:
        trade = last_qty is not None and last_px is not None
        return ExecReport(
            owner=record.owner,
            order_id=record.order_id,
            cl_ord_id=record.cl_ord_id,
            exec_id=self._exec_id(),
            exec_type=exec_type,
            ord_status=state.status,
            symbol=record.symbol,
            side=state.side,
            leaves_qty=state.leaves_qty,
            cum_qty=state.cum_qty,
            avg_px=state.avg_px,
            transact_time=self._clock(),
            order_qty=state.quantity,
            ord_type=record.ord_type,
            price=state.price,
            time_in_force=state.time_in_force,
            security_id=record.security_id or self._isins[record.symbol],
            orig_cl_ord_id=orig_cl_ord_id,
            last_qty=last_qty,
            last_px=last_px,
            last_mkt=self.venue.mic if trade else None,
            commission=commission(self._fee_bps, last_qty, last_px)
            if last_qty is not None and last_px is not None
            else None,
            text=text,
            trade_id=trade_id,
            liquidity=liquidity,
        )

    def _reject(self, cmd: NewOrder, reason: OrdRejReason, text: str) -> ExecReport:
        return self._unbooked(
            cmd,
            ExecType.REJECTED,
            text,
            order_qty=cmd.quantity,
            ord_type=cmd.ord_type,
            price=cmd.price,
            time_in_force=cmd.time_in_force,
            security_id=cmd.security_id,
            ord_rej_reason=reason,
        )

    def _unbooked(
        self, cmd: NewOrder | StatusRequest, exec_type: ExecType, text: str, **extra: Any
    ) -> ExecReport:
        """A report about an order the venue does not hold: OrderID NONE, OrdStatus
        Rejected, nothing filled."""
        return ExecReport(
            owner=cmd.owner,
            order_id=NO_ORDER_ID,
            cl_ord_id=cmd.cl_ord_id,
            exec_id=self._exec_id(),
            exec_type=exec_type,
            ord_status=OrdStatus.REJECTED,
            symbol=cmd.symbol,
            side=cmd.side,
            leaves_qty=_ZERO,
            cum_qty=_ZERO,
            avg_px=_ZERO,
            transact_time=self._clock(),
            text=text,
            **extra,
        )

    def _cxl_reject(
        self,
        cmd: CancelOrder | ReplaceOrder,
        response_to: CxlRejResponseTo,
        refusal: CancelRejected,
    ) -> CancelReject:
        return CancelReject(
            owner=cmd.owner,
            order_id=refusal.order_id,
            cl_ord_id=cmd.cl_ord_id,
            orig_cl_ord_id=cmd.orig_cl_ord_id,
            # FIX 4.4: OrdStatus is required; for an unknown order "Rejected" is customary.
            ord_status=refusal.order.status if refusal.order else OrdStatus.REJECTED,
            response_to=response_to,
            reason=refusal.reason,
            text=refusal.text,
            transact_time=self._clock(),
        )

    def _order_id(self) -> str:
        self._next_order += 1
        return f"{self._id_prefix}O{self._next_order}"

    def _exec_id(self) -> str:
        self._next_exec += 1
        return f"{self._id_prefix}E{self._next_exec}"

    # -- synthetic liquidity ---------------------------------------------------------------

    def _add_book(self, instrument: Instrument) -> None:
        """Seed depth_levels levels per side around the (offset) reference price.

        The synthetic mid is the reference price rounded to the tick and shifted by
        price_offset_ticks; bids rest at mid - k ticks and offers at mid + k ticks
        (k = 1..depth_levels), so the spread is two ticks.
        """
        symbol = instrument.symbol
        book = OrderBook(instrument)
        self.books[symbol] = book
        self._isins[symbol] = instrument.isin
        self._pending_refill[symbol] = []
        # A str seed is hashed deterministically (SHA-512), independent of PYTHONHASHSEED.
        rng = self._rngs[symbol] = random.Random(f"{self.venue.seed}:{symbol}")
        tick = instrument.tick_size
        if instrument.reference_price is None:
            return  # nothing to seed around: the book starts empty
        mid = (instrument.reference_price / tick).to_integral_value(ROUND_HALF_EVEN) * tick
        mid += self.venue.price_offset_ticks * tick
        for k in range(1, self.venue.depth_levels + 1):
            for side, price in ((Side.BUY, mid - k * tick), (Side.SELL, mid + k * tick)):
                if price <= 0:
                    continue
                orders = rng.randint(2, 4)
                for _ in range(orders):
                    self._place_synthetic(book, side, price, orders)
        self._dirty.add(symbol)

    def _synthetic_lots(self, rng: random.Random, orders_per_level: int) -> int:
        mean = self.venue.level_quantity_lots / orders_per_level
        return max(1, round(mean * rng.uniform(0.5, 1.5)))

    def _place_synthetic(
        self, book: OrderBook, side: Side, price: Decimal, orders_per_level: int
    ) -> None:
        lots = self._synthetic_lots(self._rngs[book.symbol], orders_per_level)
        book.post(self._order_id(), MARKET_MAKER, side, lots * book.instrument.lot_size, price)

    def _refill(self, book: OrderBook) -> None:
        """Re-post each fully consumed synthetic order at its price, at the back of the queue.

        A refill that would cross the opposite side (a client's order now rests there)
        waits until it no longer would: the market maker never trades with a resting
        client order on its own initiative.
        """
        pending = self._pending_refill[book.symbol]
        if not pending:
            return
        waiting: list[tuple[Side, Decimal]] = []
        for side, price in pending:
            if book.would_cross(side, price):
                waiting.append((side, price))
            else:
                self._place_synthetic(book, side, price, 3)
        self._pending_refill[book.symbol] = waiting


class VenueSequencer:
    """Runs commands on a VenueEngine one at a time, after the venue's simulated latency.

    With latency 0 a command runs at once on the caller's thread (under the engine lock);
    otherwise a worker thread runs it latency_ms after it arrived, in arrival order, so
    the caller (a QuickFIX thread) never blocks. deliver receives the reports of each
    command, outside the lock.
    """

    def __init__(
        self,
        engine: VenueEngine,
        deliver: Callable[[list[VenueReport]], None],
        latency_ms: float = 0.0,
    ) -> None:
        self.engine = engine
        self._deliver = deliver
        self._delay = latency_ms / 1000.0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[float, VenueCommand] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def start(self) -> None:
        if self._delay > 0 and self._worker is None:
            self._worker = threading.Thread(
                target=self._run, name=f"venue-{self.engine.venue.name}-latency", daemon=True
            )
            self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=5)
            self._worker = None

    def submit(self, command: VenueCommand) -> None:
        if self._delay <= 0:
            self._execute(command)
        else:
            self._queue.put((time.monotonic() + self._delay, command))

    @contextmanager
    def locked(self) -> Iterator[VenueEngine]:
        """The engine, for reads from another thread (market data)."""
        with self._lock:
            yield self.engine

    def _execute(self, command: VenueCommand) -> None:
        with self._lock:
            reports = self.engine.handle(command)
        self._deliver(reports)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            due, command = item
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                self._execute(command)
            except Exception:
                log.exception("venue command failed", command=repr(command))
