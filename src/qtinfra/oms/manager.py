"""The order manager: owns every live client order and its child orders.

It takes one command at a time (the sequencer guarantees that) and records what it decided
as events in `outbox`; it never touches a socket or the database. A fill racing a cancel is
therefore decided here, in arrival order, deterministically.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import structlog

from qtinfra.domain.child_orders import ChildOrder, ChildTrigger, Execution
from qtinfra.domain.commands import (
    CancelOrder,
    Command,
    NewOrder,
    RejectInput,
    ReplaceOrder,
    StatusRequest,
    VenueCancelReject,
    VenueExecution,
    VenueQuote,
    VenueSessionStatus,
)
from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    ChildCancelSent,
    ChildOrderSent,
    ChildStatusSent,
    Event,
    ExecutionReport,
    SessionRejected,
    TradingStateChanged,
)
from qtinfra.domain.orders import AVG_PX_PLACES, ZERO, ChangeKind, Order
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
from qtinfra.errors import InvalidTransition, VenueUnavailable
from qtinfra.oms.savepoint import Savepoint
from qtinfra.risk.engine import (
    Approval,
    Check,
    OrderData,
    OrderTerms,
    RiskEngine,
    RiskRejection,
    Scope,
    TradingState,
)
from qtinfra.risk.validation import Rejection, check_terms, resolve_instrument
from qtinfra.routing.router import RoutingRequest, plan_routes

NONE_ID = "NONE"

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Outbox:
    """What handling a batch of commands produced: events to journal and release, rows to
    persist."""

    events: list[Event] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    new_orders: set[str] = field(default_factory=set)
    children: dict[str, ChildOrder] = field(default_factory=dict)
    new_children: set[str] = field(default_factory=set)
    executions: list[Execution] = field(default_factory=list)
    cl_ord_ids: list[tuple[str, str, str]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Run once this outbox is durable (operator actions wait on it)."""

    def __bool__(self) -> bool:
        return bool(
            self.events or self.orders or self.children or self.cl_ord_ids or self.after_commit
        )


# ExecRestatementReason (378) of unsolicited cancels and expiries (FIX 4.4).
BROKER_OPTION = "4"  # the kill switch
SYSTEM_FAILURE = "7"  # no venue is left to work the order
MARKET_OPTION = "8"  # the venue's close


class OrderManager:
    """Applies client and venue commands to order state; see the module docstring."""

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
    ) -> None:
        """default_accounts: Account (1) by client session key, from the clients' static
        data, for orders that carry none. risk: the pre-trade check chain and exposure
        (the gateway always has one; lifecycle unit tests may leave it out). on_risk: told
        each evaluation's outcome (None: passed) and its duration in nanoseconds."""
        self.instruments = {i.symbol: i for i in instruments}
        self.by_isin = {i.isin: i for i in self.instruments.values()}
        self.venue_fees = dict(venue_fees)
        self.venue_mics = dict(venue_mics)
        self.clock = clock
        self.default_accounts = dict(default_accounts or {})
        self.orders: dict[str, Order] = {}
        self.done_orders: dict[str, Order] = {}
        self.by_cl_ord_id: dict[tuple[str, str], str] = {}
        self.children: dict[str, ChildOrder] = {}
        self.children_of: dict[str, list[ChildOrder]] = {}
        self.excluded: dict[str, set[str]] = {}
        self.expiring: set[str] = set()
        self.killing: dict[str, str] = {}
        self.replace_data: dict[str, tuple[OrderData, str | None]] = {}
        """MiFID II data and ExDestination a pending replace carries, applied on confirm."""
        self.risk = risk
        self.on_risk = on_risk
        self.venues_up: set[str] = set()
        self.quotes: dict[str, dict[str, VenueQuote]] = {}
        self.outbox = Outbox()
        self._prefix = id_prefix
        self._order_seq = itertools.count(1)
        self._exec_seq = itertools.count(1)
        self._child_seq = itertools.count(1)
        self._handlers: dict[type, Callable[[object], None]] = {
            NewOrder: self._on_new,  # type: ignore[dict-item]
            CancelOrder: self._on_cancel,  # type: ignore[dict-item]
            ReplaceOrder: self._on_replace,  # type: ignore[dict-item]
            StatusRequest: self._on_status,  # type: ignore[dict-item]
            RejectInput: self._on_reject_input,  # type: ignore[dict-item]
            VenueExecution: self._on_venue_execution,  # type: ignore[dict-item]
            VenueCancelReject: self._on_venue_cancel_reject,  # type: ignore[dict-item]
            VenueSessionStatus: self._on_venue_session,  # type: ignore[dict-item]
            VenueQuote: self._on_quote,  # type: ignore[dict-item]
        }

    # -- entry points ----------------------------------------------------------------------

    def handle(self, command: Command) -> None:
        """Apply one command, all or nothing: a handler that raises leaves the outbox and
        the orders it could touch as they were (oms/savepoint.py), then the error goes to
        the caller, which answers the client."""
        savepoint = Savepoint(self, self._touched(command))
        try:
            self._handlers[type(command)](command)
        except Exception:
            savepoint.rollback()
            raise

    def _touched(self, command: Command) -> list[str]:
        """The existing orders a command can change (a new order creates its own)."""
        if isinstance(command, CancelOrder | ReplaceOrder):
            ids = [command.order_id] if command.order_id else []
            for cl in (command.orig_cl_ord_id, command.cl_ord_id):
                if cl is not None and (found := self.by_cl_ord_id.get((command.session, cl))):
                    ids.append(found)
            return ids
        if isinstance(command, VenueExecution | VenueCancelReject):
            child = self.children.get(command.orig_child_id or "") or self.children.get(
                command.child_id
            )
            return [child.order_id] if child is not None else []
        return []

    def take_outbox(self) -> Outbox:
        out, self.outbox = self.outbox, Outbox()
        return out

    def restore(
        self,
        orders: Iterable[Order],
        children: Iterable[ChildOrder],
        cl_ord_ids: Iterable[tuple[str, str, str]],
    ) -> None:
        """Rebuild state after a restart from what the store holds."""
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
        if self.risk is not None:
            for order in self.orders.values():
                price = order.price or self.reference_price(order.instrument)[0]
                order.exposure_price = self.risk.unit_price(order.instrument, price)
                self._sync_exposure(order)

    def _lookup(self, order_id: str | None) -> Order | None:
        if order_id is None:
            return None
        return self.orders.get(order_id) or self.done_orders.get(order_id)

    def expire_day_orders(
        self, symbols: Iterable[str] | None = None, order_ids: Iterable[str] | None = None
    ) -> int:
        """End of the trading day: every working DAY order (in `symbols`, all by default;
        only `order_ids`, if given) expires. Its children are cancelled at the venues; the
        Expired report goes out once they have answered."""
        wanted = set(symbols) if symbols is not None else None
        only = set(order_ids) if order_ids is not None else None
        count = 0
        for order in list(self.orders.values()):
            if order.time_in_force is not TimeInForce.DAY or not order.is_live:
                continue
            if wanted is not None and order.instrument.symbol not in wanted:
                continue
            if only is not None and order.order_id not in only:
                continue
            count += 1
            self.expiring.add(order.order_id)
            self._cancel_children(order)
            self._settle(order)
        return count

    def set_trading_state(
        self, scope: Scope, target: str, state: TradingState, reason: str, actor: str
    ) -> int:
        """The kill switch (RTS 6 Art. 12): set a trading state for the firm, a session or
        a client. HALTED also cancels every open order in scope at the venues (each is
        reported Canceled once its venues confirm). Returns how many orders are being
        cancelled."""
        if self.risk is None:
            raise ValueError("this order manager has no risk engine")
        self.risk.set_state(scope, target, state, reason)
        count = 0
        if state is TradingState.HALTED:
            text = f"kill switch: {reason}"
            for order in list(self.orders.values()):
                # Orders already being killed are included: a cancel a venue refused is
                # sent again (children with a cancel outstanding are skipped).
                if not order.is_live:
                    continue
                if scope is Scope.SESSION and order.session != target:
                    continue
                if scope is Scope.CLIENT and order.account != target:
                    continue
                count += 1
                self._kill(order, text)
        self.outbox.events.append(
            TradingStateChanged(
                scope=scope.value,
                target=target,
                state=state.value,
                reason=reason,
                actor=actor,
                orders_canceled=count,
                transact_time=self.clock(),
            )
        )
        return count

    def _kill(self, order: Order, text: str) -> None:
        if order.pending is not None and order.pending.kind is ChangeKind.REPLACE:
            self._refuse_pending(order, CxlRejReason.BROKER_OPTION, f"{text}; replace refused")
        self.killing[order.order_id] = text
        self._cancel_children(order)
        self._settle(order)

    def live_children_at(self, venue: str) -> list[ChildOrder]:
        return [c for c in self.children.values() if c.venue == venue and not c.status.is_done]

    # -- ids -------------------------------------------------------------------------------

    def _next_exec_id(self) -> str:
        return f"{self._prefix}E{next(self._exec_seq)}"

    # -- bookkeeping -----------------------------------------------------------------------

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

    def _evaluate(self, terms: OrderTerms, instrument: Instrument) -> Approval | RiskRejection:
        assert self.risk is not None
        reference, source = self.reference_price(instrument)
        start = time.perf_counter_ns()
        decision = self.risk.check_new(terms, self.clock(), reference, source)
        elapsed = time.perf_counter_ns() - start
        if self.on_risk is not None:
            self.on_risk(decision.check if isinstance(decision, RiskRejection) else None, elapsed)
        return decision

    def _touch_child(self, child: ChildOrder) -> None:
        self.outbox.children[child.child_id] = child

    def _remember_cl_ord_id(self, session: str, cl_ord_id: str, order_id: str) -> None:
        self.by_cl_ord_id[(session, cl_ord_id)] = order_id
        self.outbox.cl_ord_ids.append((session, cl_ord_id, order_id))

    def _forget_if_done(self, order: Order) -> None:
        """Done orders leave memory once persisted; their ClOrdIDs stay for duplicate checks."""
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

    # -- reports ---------------------------------------------------------------------------

    def _report(
        self,
        order: Order,
        exec_type: ExecType,
        *,
        text: str | None = None,
        last_qty: Decimal | None = None,
        last_px: Decimal | None = None,
        last_mkt: str | None = None,
        exec_id: str | None = None,
        ord_rej_reason: OrdRejReason | None = None,
        order_data: bool = False,
        with_orig: bool = False,
        restatement: str | None = None,
        cl_ord_id: str | None = None,
        status_req_id: str | None = None,
    ) -> ExecutionReport:
        """order_data: carry the order's MiFID II data (on New and Replaced, so the journal
        holds what the reports need). with_orig: the report answers a cancel or replace, so
        it carries OrigClOrdID (41); no other report does (FIX 4.4 Vol 4 matrices).
        restatement: ExecRestatementReason (378) of an unsolicited cancel. cl_ord_id: the
        ClOrdID the report answers, when not the order's own (a duplicate, a status request
        by an earlier ClOrdID). status_req_id: OrdStatusReqID (790) to echo."""
        report = ExecutionReport(
            session=order.session,
            order_id=order.order_id,
            cl_ord_id=cl_ord_id or order.cl_ord_id,
            orig_cl_ord_id=order.orig_cl_ord_id if with_orig else None,
            exec_id=exec_id or self._next_exec_id(),
            exec_type=exec_type,
            ord_status=order.status,
            symbol=order.instrument.symbol,
            isin=order.instrument.isin,
            side=order.side,
            ord_type=order.ord_type,
            time_in_force=order.time_in_force,
            order_qty=order.quantity,
            price=order.price,
            cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty,
            avg_px=order.avg_px,
            transact_time=self.clock(),
            account=order.account,
            last_qty=last_qty,
            last_px=last_px,
            last_mkt=last_mkt,
            text=text,
            ord_rej_reason=ord_rej_reason,
            currency=order.instrument.currency,
            decision_maker=order.decision_maker if order_data else None,
            executing_trader=order.executing_trader if order_data else None,
            order_capacity=order.order_capacity if order_data else None,
            ex_destination=order.ex_destination if order_data else None,
            exec_restatement_reason=restatement,
            ord_status_req_id=status_req_id,
        )
        self.outbox.events.append(report)
        return report

    def _reject_new(
        self,
        cmd: NewOrder | RejectInput,
        reason: OrdRejReason,
        text: str,
        instrument: Instrument | None = None,
    ) -> None:
        """A rejected ExecutionReport for an order that was never booked (OrderID NONE)."""
        self.outbox.events.append(
            ExecutionReport(
                session=cmd.session,
                order_id=NONE_ID,
                cl_ord_id=cmd.cl_ord_id or NONE_ID,
                orig_cl_ord_id=None,
                exec_id=self._next_exec_id(),
                exec_type=ExecType.REJECTED,
                ord_status=OrdStatus.REJECTED,
                symbol=(instrument.symbol if instrument else cmd.symbol) or "NA",
                isin=instrument.isin if instrument else None,
                side=cmd.side or Side.BUY,
                ord_type=cmd.ord_type if isinstance(cmd, NewOrder) else OrdType.LIMIT,
                time_in_force=cmd.time_in_force if isinstance(cmd, NewOrder) else TimeInForce.DAY,
                order_qty=cmd.quantity if cmd.quantity is not None else ZERO,
                price=cmd.price if isinstance(cmd, NewOrder) else None,
                cum_qty=ZERO,
                leaves_qty=ZERO,
                avg_px=ZERO,
                transact_time=self.clock(),
                account=(cmd.account or self.default_accounts.get(cmd.session))
                if isinstance(cmd, NewOrder)
                else None,
                text=text,
                ord_rej_reason=reason,
            )
        )

    def _cancel_reject(
        self,
        session: str,
        cl_ord_id: str,
        orig_cl_ord_id: str,
        response_to: CxlRejResponseTo,
        reason: CxlRejReason,
        text: str,
        order: Order | None = None,
    ) -> None:
        self.outbox.events.append(
            CancelRejected(
                session=session,
                order_id=order.order_id if order else NONE_ID,
                cl_ord_id=cl_ord_id,
                orig_cl_ord_id=orig_cl_ord_id,
                ord_status=order.status if order else OrdStatus.REJECTED,
                response_to=response_to,
                reason=reason,
                text=text,
                transact_time=self.clock(),
            )
        )

    # -- client commands -------------------------------------------------------------------

    def _on_new(self, cmd: NewOrder) -> None:
        known = self.by_cl_ord_id.get((cmd.session, cmd.cl_ord_id))
        if known is not None:
            self._on_duplicate_new(cmd, self._lookup(known))
            return
        found = resolve_instrument(cmd.symbol, cmd.isin, self.instruments, self.by_isin)
        if isinstance(found, Rejection):
            self._reject_new(cmd, found.reason, found.text)
            return
        instrument = found
        if cmd.currency is not None and cmd.currency != instrument.currency:
            self._reject_new(
                cmd,
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                f"Currency (15) {cmd.currency} is not {instrument.symbol}'s currency "
                f"{instrument.currency}",
                instrument,
            )
            return
        rejection = check_terms(
            instrument, cmd.ord_type, cmd.time_in_force, cmd.quantity, cmd.price
        )
        if rejection is not None:
            self._reject_new(cmd, rejection.reason, rejection.text, instrument)
            return
        account = cmd.account or self.default_accounts.get(cmd.session)
        approval = None
        if self.risk is not None:
            decision = self._evaluate(
                OrderTerms(
                    session=cmd.session,
                    account=account,
                    instrument=instrument,
                    side=cmd.side,
                    ord_type=cmd.ord_type,
                    quantity=cmd.quantity,
                    price=cmd.price,
                    parties=cmd.parties,
                    order_capacity=cmd.order_capacity,
                    ex_destination=cmd.ex_destination,
                ),
                instrument,
            )
            if isinstance(decision, RiskRejection):
                self._reject_new(cmd, decision.reason, decision.text, instrument)
                return
            approval = decision
        order = Order(
            order_id=f"{self._prefix}{next(self._order_seq)}",
            session=cmd.session,
            cl_ord_id=cmd.cl_ord_id,
            instrument=instrument,
            side=cmd.side,
            ord_type=cmd.ord_type,
            time_in_force=cmd.time_in_force,
            quantity=cmd.quantity,
            price=cmd.price,
            account=account,
            created_at=self.clock(),
            ex_destination=cmd.ex_destination,
        )
        if approval is not None:
            data = approval.order_data
            order.decision_maker = data.decision_maker
            order.executing_trader = data.executing_trader
            order.order_capacity = data.order_capacity
            order.exposure_price = approval.exposure_price
        self._remember_cl_ord_id(cmd.session, cmd.cl_ord_id, order.order_id)
        self.outbox.new_orders.add(order.order_id)
        try:
            routes = self._plan(order, order.quantity)
        except VenueUnavailable as exc:
            order.reject(str(exc))
            self.done_orders[order.order_id] = order
            self._touch(order)
            self._report(
                order, ExecType.REJECTED, text=str(exc), ord_rej_reason=OrdRejReason.EXCHANGE_CLOSED
            )
            return
        self.orders[order.order_id] = order
        self.children_of[order.order_id] = []
        order.accept()
        self._touch(order)
        self._report(order, ExecType.NEW, order_data=True)
        self._send_children(order, routes)

    def _on_duplicate_new(self, cmd: NewOrder, order: Order | None) -> None:
        """A NewOrderSingle whose ClOrdID this session already used (FIX 4.4 Vol 4 F.1.b).
        A possible resend (PossDupFlag or PossResend) is answered with the order's current
        state (ExecType I), never booked twice. Otherwise the new request is refused
        (ExecType Rejected, OrdRejReason 6) carrying the existing order's status and
        quantities, so the client cannot mistake it for a reject of the order it has."""
        if order is None:
            self._reject_new(
                cmd,
                OrdRejReason.DUPLICATE_ORDER,
                f"ClOrdID {cmd.cl_ord_id} was already received and is done",
            )
            return
        if cmd.poss_dup:
            self._report(
                order,
                ExecType.ORDER_STATUS,
                text="possible duplicate: order already received",
                cl_ord_id=cmd.cl_ord_id,
            )
            return
        self._report(
            order,
            ExecType.REJECTED,
            text=f"duplicate ClOrdID {cmd.cl_ord_id} on this session: the order it names "
            f"is {order.status.name}; this request was not booked",
            ord_rej_reason=OrdRejReason.DUPLICATE_ORDER,
            cl_ord_id=cmd.cl_ord_id,
        )

    def _find_for_change(
        self, cmd: CancelOrder | ReplaceOrder, response_to: CxlRejResponseTo
    ) -> Order | None:
        """The order a cancel/replace names (by OrigClOrdID, or on FIX 5.0SP2 by OrderID
        alone), or None after answering OrderCancelReject."""
        if cmd.orig_cl_ord_id is not None:
            order_id = self.by_cl_ord_id.get((cmd.session, cmd.orig_cl_ord_id))
        else:
            candidate = self._lookup(cmd.order_id)
            owned = candidate is not None and candidate.session == cmd.session
            order_id = candidate.order_id if candidate is not None and owned else None
        order = self._lookup(order_id)
        orig = cmd.orig_cl_ord_id or (order.cl_ord_id if order is not None else NONE_ID)
        if (cmd.session, cmd.cl_ord_id) in self.by_cl_ord_id:
            taken = self._lookup(self.by_cl_ord_id[(cmd.session, cmd.cl_ord_id)])
            if cmd.poss_dup and taken is not None:
                # A PossDup resend of a request already taken: its current state, once.
                self._report(
                    taken,
                    ExecType.ORDER_STATUS,
                    text="possible duplicate: request already received",
                )
                return None
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                orig,
                response_to,
                CxlRejReason.DUPLICATE_CLORDID,
                f"duplicate ClOrdID {cmd.cl_ord_id} on this session",
                order,
            )
            return None
        if order_id is None:
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                orig,
                response_to,
                CxlRejReason.UNKNOWN_ORDER,
                f"unknown order: OrigClOrdID {cmd.orig_cl_ord_id}"
                if cmd.orig_cl_ord_id is not None
                else f"unknown order: OrderID {cmd.order_id}",
            )
            return None
        if order is None or order.status.is_done:
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                orig,
                response_to,
                CxlRejReason.TOO_LATE_TO_CANCEL,
                f"too late to {'cancel' if response_to is CxlRejResponseTo.CANCEL else 'replace'}:"
                f" order is {order.status.name if order else 'done'}",
                order,
            )
            return None
        if cmd.order_id is not None and cmd.order_id != order.order_id:
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                orig,
                response_to,
                CxlRejReason.UNKNOWN_ORDER,
                f"OrderID {cmd.order_id} does not match OrigClOrdID {orig}",
                order,
            )
            return None
        if order.pending is not None:
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                orig,
                response_to,
                CxlRejReason.ALREADY_PENDING,
                "a cancel or replace is already pending for this order",
                order,
            )
            return None
        if cmd.side is not order.side or (cmd.symbol and cmd.symbol != order.instrument.symbol):
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                orig,
                response_to,
                CxlRejReason.BROKER_OPTION,
                f"Side/Symbol do not match the order ({order.side.name} {order.instrument.symbol})",
                order,
            )
            return None
        return order

    def _on_cancel(self, cmd: CancelOrder) -> None:
        order = self._find_for_change(cmd, CxlRejResponseTo.CANCEL)
        if order is None:
            return
        if self.risk is not None:
            refused = self.risk.check_cancel(cmd.session, self.clock())
            if refused is not None:
                if self.on_risk is not None:
                    self.on_risk(refused.check, None)
                self._cancel_reject(
                    cmd.session,
                    cmd.cl_ord_id,
                    cmd.orig_cl_ord_id or order.cl_ord_id,
                    CxlRejResponseTo.CANCEL,
                    CxlRejReason.BROKER_OPTION,
                    refused.text,
                    order,
                )
                return
        self._remember_cl_ord_id(cmd.session, cmd.cl_ord_id, order.order_id)
        order.request_cancel(cmd.cl_ord_id)
        self._touch(order)
        self._report_pending(order, ExecType.PENDING_CANCEL)
        self._cancel_children(order)
        self._settle(order)

    def _on_replace(self, cmd: ReplaceOrder) -> None:
        order = self._find_for_change(cmd, CxlRejResponseTo.REPLACE)
        if order is None:
            return

        def refuse(reason: CxlRejReason, text: str) -> None:
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id,
                cmd.orig_cl_ord_id or order.cl_ord_id,
                CxlRejResponseTo.REPLACE,
                reason,
                text,
                order,
            )

        if cmd.ord_type is not order.ord_type or cmd.time_in_force is not order.time_in_force:
            refuse(
                CxlRejReason.BROKER_OPTION, "OrdType and TimeInForce cannot be changed by a replace"
            )
            return
        rejection = check_terms(
            order.instrument, cmd.ord_type, cmd.time_in_force, cmd.quantity, cmd.price
        )
        if rejection is not None:
            refuse(CxlRejReason.OTHER, rejection.text)
            return
        if self.risk is not None:
            # The new terms pass the whole chain; the order's own open quantity and
            # notional do not count against it. It keeps its MiFID II data unless the
            # replace carries new Parties / OrderCapacity.
            kept = tuple(p for p in (order.decision_maker, order.executing_trader) if p)
            decision = self._evaluate(
                OrderTerms(
                    session=cmd.session,
                    account=order.account,
                    instrument=order.instrument,
                    side=order.side,
                    ord_type=order.ord_type,
                    quantity=cmd.quantity,
                    price=cmd.price,
                    parties=kept + cmd.parties,
                    order_capacity=cmd.order_capacity or order.order_capacity,
                    ex_destination=cmd.ex_destination or order.ex_destination,
                    replaces=order.order_id,
                    cum_qty=order.cum_qty,
                ),
                order.instrument,
            )
            if isinstance(decision, RiskRejection):
                refuse(CxlRejReason.BROKER_OPTION, decision.text)
                return
            self.replace_data[order.order_id] = (
                decision.order_data,
                cmd.ex_destination or order.ex_destination,
            )
        self._remember_cl_ord_id(cmd.session, cmd.cl_ord_id, order.order_id)
        order.request_replace(cmd.cl_ord_id, cmd.quantity, cmd.price)
        self._touch(order)
        self._report_pending(order, ExecType.PENDING_REPLACE)
        self._cancel_children(order)
        self._settle(order)

    def _report_pending(self, order: Order, exec_type: ExecType) -> None:
        """PendingCancel/PendingReplace reports carry the request's ClOrdID and the
        order's current one as OrigClOrdID (FIX 4.4 Vol 4, D.1/D.2)."""
        assert order.pending is not None
        current, orig = order.cl_ord_id, order.orig_cl_ord_id
        order.orig_cl_ord_id, order.cl_ord_id = current, order.pending.cl_ord_id
        self._report(order, exec_type, with_orig=True)
        order.cl_ord_id, order.orig_cl_ord_id = current, orig

    def _on_status(self, cmd: StatusRequest) -> None:
        order_id = self.by_cl_ord_id.get((cmd.session, cmd.cl_ord_id)) if cmd.cl_ord_id else None
        order = self._lookup(order_id)
        if order is None and cmd.order_id:
            candidate = self._lookup(cmd.order_id)
            if candidate is not None and candidate.session == cmd.session:
                order = candidate
        if order is None:
            # Nothing is known of it: OrderID NONE, OrdStatus Rejected with OrdRejReason 5,
            # what the request named echoed, no order terms invented (FIX 4.4 Vol 4).
            self.outbox.events.append(
                ExecutionReport(
                    session=cmd.session,
                    order_id=NONE_ID,
                    cl_ord_id=cmd.cl_ord_id or NONE_ID,
                    orig_cl_ord_id=None,
                    exec_id=self._next_exec_id(),
                    exec_type=ExecType.ORDER_STATUS,
                    ord_status=OrdStatus.REJECTED,
                    symbol=cmd.symbol or NONE_ID,
                    isin=None,
                    side=cmd.side,
                    ord_type=None,
                    time_in_force=None,
                    order_qty=None,
                    price=None,
                    cum_qty=ZERO,
                    leaves_qty=ZERO,
                    avg_px=ZERO,
                    transact_time=self.clock(),
                    text="unknown order"
                    + (f": ClOrdID {cmd.cl_ord_id}" if cmd.cl_ord_id else "")
                    + (f" OrderID {cmd.order_id}" if cmd.order_id else ""),
                    ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
                    ord_status_req_id=cmd.status_req_id,
                )
            )
            return
        self._report(
            order,
            ExecType.ORDER_STATUS,
            cl_ord_id=cmd.cl_ord_id,
            status_req_id=cmd.status_req_id,
        )

    def _on_reject_input(self, cmd: RejectInput) -> None:
        if cmd.kind == "order":
            reason = OrdRejReason(cmd.reason) if cmd.reason else OrdRejReason.OTHER
            self._reject_new(cmd, reason, cmd.text)
        elif cmd.kind in ("cancel", "replace"):
            response_to = (
                CxlRejResponseTo.CANCEL if cmd.kind == "cancel" else CxlRejResponseTo.REPLACE
            )
            self._cancel_reject(
                cmd.session,
                cmd.cl_ord_id or NONE_ID,
                cmd.orig_cl_ord_id or NONE_ID,
                response_to,
                CxlRejReason.OTHER,
                cmd.text,
            )
        elif cmd.kind == "session":
            self.outbox.events.append(
                SessionRejected(
                    session=cmd.session,
                    ref_seq_num=cmd.ref_seq_num,
                    ref_msg_type=cmd.ref_msg_type,
                    ref_tag=cmd.ref_tag,
                    reason=cmd.reason or "99",
                    text=cmd.text,
                )
            )
        else:
            self.outbox.events.append(
                BusinessRejected(
                    session=cmd.session,
                    ref_msg_type=cmd.ref_msg_type or "",
                    reason=cmd.reason or "0",
                    text=cmd.text,
                    ref_seq_num=cmd.ref_seq_num,
                    ref_id=cmd.cl_ord_id,
                )
            )

    # -- routing ---------------------------------------------------------------------------

    def _plan(self, order: Order, quantity: Decimal) -> list[tuple[str, Decimal]]:
        request = RoutingRequest(
            instrument=order.instrument,
            side=order.side,
            ord_type=order.ord_type,
            time_in_force=order.time_in_force,
            quantity=quantity,
            price=order.price,
        )
        quotes = {
            venue: q
            for venue, by_symbol in self.quotes.items()
            if (q := by_symbol.get(order.instrument.symbol)) is not None
        }
        venues_up = self.venues_up
        if order.ex_destination is not None:
            # A directed order (ExDestination) works only at that venue.
            venues_up = {v for v in venues_up if self.venue_mics.get(v) == order.ex_destination}
        routes = plan_routes(
            request,
            venues_up,
            quotes,
            self.venue_fees,
            frozenset(self.excluded.get(order.order_id, ())),
        )
        return [(r.venue, r.quantity) for r in routes]

    def _send_children(self, order: Order, routes: list[tuple[str, Decimal]]) -> None:
        now = self.clock()
        for venue, quantity in routes:
            child = ChildOrder(
                child_id=f"{self._prefix}C{next(self._child_seq)}",
                order_id=order.order_id,
                venue=venue,
                side=order.side,
                ord_type=order.ord_type,
                time_in_force=order.time_in_force,
                quantity=quantity,
                price=order.price,
                created_at=now,
            )
            self.children[child.child_id] = child
            self.children_of[order.order_id].append(child)
            self.outbox.new_children.add(child.child_id)
            self._touch_child(child)
            self.outbox.events.append(
                ChildOrderSent(
                    venue=venue,
                    child_id=child.child_id,
                    order_id=order.order_id,
                    symbol=order.instrument.symbol,
                    isin=order.instrument.isin,
                    side=order.side,
                    ord_type=order.ord_type,
                    time_in_force=order.time_in_force,
                    quantity=quantity,
                    price=order.price,
                    transact_time=now,
                )
            )

    def _cancel_children(self, order: Order) -> None:
        now = self.clock()
        for child in self.children_of[order.order_id]:
            if child.status.is_done or child.cancel_requested:
                continue
            child.cancel_requested = True
            self._touch_child(child)
            self.outbox.events.append(
                ChildCancelSent(
                    venue=child.venue,
                    child_id=child.next_cancel_id(),
                    orig_child_id=child.child_id,
                    order_id=order.order_id,
                    symbol=order.instrument.symbol,
                    side=child.side,
                    quantity=child.quantity,
                    transact_time=now,
                )
            )

    def _settle(self, order: Order) -> None:
        """Decide what a client order's state means once its children changed: confirm a
        pending cancel/replace when no child is working, re-route what no child covers,
        cancel what cannot be routed or was immediate-or-cancel."""
        live = [c for c in self.children_of[order.order_id] if not c.status.is_done]
        if order.status.is_done:
            if order.pending is not None:
                self._refuse_pending_too_late(order)
            if live and order.status is OrdStatus.FILLED:
                self._cancel_children(order)
            self._forget_if_done(order)
            return
        if order.pending is not None:
            if live:
                return
            if order.pending.kind is ChangeKind.CANCEL:
                if order.cum_qty >= order.quantity:
                    # Filled while the cancel was pending: nothing is left to cancel.
                    self._refuse_pending_too_late(order)
                    self._forget_if_done(order)
                    return
                order.confirm_cancel()
                self._touch(order)
                self._report(order, ExecType.CANCELED, with_orig=True)
                self._forget_if_done(order)
                return
            # A replace at or below CumQty (asked for, or overtaken by fills while it was
            # pending) ends the order Filled at OrderQty = CumQty: nothing is re-routed.
            order.confirm_replace()
            self._apply_replace_data(order)
            self._touch(order)
            self._report(order, ExecType.REPLACED, order_data=True, with_orig=True)
            if order.status.is_done:
                self._forget_if_done(order)
                return
        unrouted = order.leaves_qty - sum((c.leaves_qty for c in live), ZERO)
        if unrouted <= 0:
            return
        if order.order_id in self.killing:
            if not live:
                order.cancel(self.killing.pop(order.order_id))
                self._touch(order)
                self._report(order, ExecType.CANCELED, text=order.text, restatement=BROKER_OPTION)
                self._forget_if_done(order)
            return
        if order.order_id in self.expiring:
            if not live:
                self.expiring.discard(order.order_id)
                order.expire("DAY order expired at the venue's close")
                self._touch(order)
                self._report(order, ExecType.EXPIRED, text=order.text, restatement=MARKET_OPTION)
                self._forget_if_done(order)
            return
        immediate = order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) or (
            order.ord_type is OrdType.MARKET
        )
        if immediate and not order.pending:
            if not live:
                order.cancel("remainder canceled: no more liquidity for an immediate order")
                self._touch(order)
                self._report(order, ExecType.CANCELED, text=order.text)
                self._forget_if_done(order)
            return
        try:
            routes = self._plan(order, unrouted)
        except VenueUnavailable as exc:
            if not live:
                order.cancel(f"remainder canceled: {exc}")
                self._touch(order)
                self._report(order, ExecType.CANCELED, text=order.text, restatement=SYSTEM_FAILURE)
                self._forget_if_done(order)
            return
        self._send_children(order, routes)

    def _apply_replace_data(self, order: Order) -> None:
        """A confirmed replace: the order now carries the replace's MiFID II data and
        ExDestination, and its open quantity counts at the new price."""
        data = self.replace_data.pop(order.order_id, None)
        if data is not None:
            order_data, order.ex_destination = data
            order.decision_maker = order_data.decision_maker
            order.executing_trader = order_data.executing_trader
            order.order_capacity = order_data.order_capacity
        if self.risk is not None and order.price is not None:
            order.exposure_price = self.risk.unit_price(order.instrument, order.price)

    def _refuse_pending_too_late(self, order: Order) -> None:
        assert order.pending is not None
        what = "cancel" if order.pending.kind is ChangeKind.CANCEL else "replace"
        self._refuse_pending(
            order,
            CxlRejReason.TOO_LATE_TO_CANCEL,
            f"too late to {what}: order is "
            f"{'FILLED' if order.cum_qty >= order.quantity else order.status.name} "
            f"with CumQty {order.cum_qty}",
        )

    def _refuse_pending(self, order: Order, reason: CxlRejReason, text: str) -> None:
        """The client's pending cancel/replace cannot complete: OrderCancelReject, and the
        order goes on with the status its fills imply."""
        change = order.drop_pending()
        self.replace_data.pop(order.order_id, None)
        self._touch(order)
        self._cancel_reject(
            order.session,
            change.cl_ord_id,
            order.cl_ord_id,
            CxlRejResponseTo.CANCEL
            if change.kind is ChangeKind.CANCEL
            else CxlRejResponseTo.REPLACE,
            reason,
            text,
            order,
        )

    # -- venue reports ---------------------------------------------------------------------

    def _on_venue_execution(self, cmd: VenueExecution) -> None:
        child = self.children.get(cmd.orig_child_id or "") or self.children.get(cmd.child_id)
        if child is None:
            # Not one of ours, or of an order already done and forgotten: the raw report is
            # in the journal; nothing reaches a client.
            log.warning(
                "venue_report_for_unknown_child",
                venue=cmd.venue,
                child_id=cmd.child_id,
                exec_type=cmd.exec_type.value,
            )
            return
        if cmd.exec_id in child.exec_ids:
            return
        order = self.orders[child.order_id]
        if cmd.venue_order_id and cmd.venue_order_id != NONE_ID:
            child.venue_order_id = cmd.venue_order_id
        exec_type = cmd.exec_type
        if exec_type is ExecType.ORDER_STATUS:
            self._reconcile(order, child, cmd)
            child.exec_ids.add(cmd.exec_id)
            return
        if exec_type is ExecType.TRADE:
            self._apply_fill(order, child, cmd.last_qty, cmd.last_px, cmd)
        elif exec_type is ExecType.NEW:
            child.apply(ChildTrigger.ACKNOWLEDGED)
        elif exec_type is ExecType.EXPIRED:
            # The venue's trading day ended: what the child left expires with the client
            # order (unless we were cancelling it anyway).
            child.apply(ChildTrigger.EXPIRED)
            if not child.cancel_requested:
                self.expiring.add(order.order_id)
        elif exec_type in (ExecType.CANCELED, ExecType.REJECTED):
            child.end_as(cmd.ord_status if cmd.ord_status.is_done else OrdStatus.CANCELED)
            if not child.cancel_requested and exec_type is ExecType.REJECTED:
                self.excluded.setdefault(order.order_id, set()).add(child.venue)
            if not child.cancel_requested and exec_type is not ExecType.REJECTED:
                immediate = child.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)
                if not immediate and child.ord_type is not OrdType.MARKET:
                    self.excluded.setdefault(order.order_id, set()).add(child.venue)
        else:
            return
        # Remembered once the report was applied: one that failed may come again.
        child.exec_ids.add(cmd.exec_id)
        self._touch_child(child)
        self._settle(order)

    def _apply_fill(
        self,
        order: Order,
        child: ChildOrder,
        quantity: Decimal,
        price: Decimal,
        cmd: VenueExecution,
    ) -> None:
        if quantity <= 0:
            return
        if quantity > child.leaves_qty or quantity > order.leaves_qty:
            raise InvalidTransition(
                f"venue {cmd.venue} reported fill {quantity} on child {child.child_id} "
                f"with leaves {child.leaves_qty} (order leaves {order.leaves_qty})"
            )
        child.fill(quantity, price)
        order.fill(quantity, price)
        if self.risk is not None:
            self.risk.exposure.fill(
                order.account or "",
                order.instrument.symbol,
                order.side is Side.BUY,
                quantity,
                quantity * price * self.risk.fx(order.instrument),
                self.clock().date(),
            )
        self._touch(order)
        mic = self.venue_mics.get(cmd.venue, cmd.mic)
        report = self._report(order, ExecType.TRADE, last_qty=quantity, last_px=price, last_mkt=mic)
        self.outbox.executions.append(
            Execution(
                exec_id=report.exec_id,
                order_id=order.order_id,
                child_id=child.child_id,
                venue=cmd.venue,
                mic=mic,
                venue_exec_id=cmd.exec_id,
                quantity=quantity,
                price=price,
                commission=cmd.commission,
                transact_time=cmd.transact_time or report.transact_time,
            )
        )

    def _reconcile(self, order: Order, child: ChildOrder, cmd: VenueExecution) -> None:
        """A venue's answer to our OrderStatusRequest after a reconnect. The quantity the
        session resend did not bring is booked at exactly the price that makes our value of
        the child equal the venue's: (venue CumQty x venue AvgPx - value booked) / missing
        quantity (the venue's AvgPx itself would misprice it whenever fills were booked)."""
        missing = cmd.cum_qty - child.cum_qty
        if missing > 0 and cmd.last_px > 0:
            price = (
                ((cmd.cum_qty * cmd.last_px - child.notional) / missing)
                .quantize(AVG_PX_PLACES)
                .normalize()
            )
            if price <= 0:  # the venue's rounded AvgPx cannot explain what we booked
                price = cmd.last_px
            self._apply_fill(order, child, missing, price, cmd)
        if cmd.ord_status.is_done and not child.status.is_done:
            if cmd.ord_status is OrdStatus.REJECTED:
                # The venue does not know the order (it restarted): nothing works there.
                child.apply(ChildTrigger.CANCELED)
                self.excluded.setdefault(order.order_id, set()).add(child.venue)
            else:
                child.end_as(cmd.ord_status)
        elif not cmd.ord_status.is_done and child.status is OrdStatus.PENDING_NEW:
            child.apply(ChildTrigger.ACKNOWLEDGED)
        self._touch_child(child)
        self._settle(order)

    def _on_venue_cancel_reject(self, cmd: VenueCancelReject) -> None:
        child = self.children.get(cmd.orig_child_id)
        if child is None:
            return
        order = self.orders.get(child.order_id)
        # The venue refused our cancel. Done there (filled): its fills arrive as their own
        # reports. Unknown there: nothing works there any more. Still live: the client's
        # cancel or replace cannot complete, so it is refused and the order works on.
        if cmd.ord_status is not None and cmd.ord_status.is_done and not child.status.is_done:
            child.end_as(cmd.ord_status)
        elif cmd.ord_status is None or cmd.ord_status is OrdStatus.REJECTED:
            child.apply(ChildTrigger.CANCELED)
        elif not child.status.is_done:
            child.cancel_requested = False
            if order is not None and order.pending is not None and not order.status.is_done:
                self._refuse_pending(
                    order,
                    CxlRejReason.BROKER_OPTION,
                    f"venue {cmd.venue} refused to cancel its part of the order"
                    + (f": {cmd.text}" if cmd.text else ""),
                )
        self._touch_child(child)
        if order is not None:
            self._settle(order)

    def _on_venue_session(self, cmd: VenueSessionStatus) -> None:
        if not cmd.logged_on:
            self.venues_up.discard(cmd.venue)
            self.quotes.pop(cmd.venue, None)
            return
        self.venues_up.add(cmd.venue)
        for child in self.live_children_at(cmd.venue):
            order = self.orders.get(child.order_id)
            if order is None:
                continue
            self.outbox.events.append(
                ChildStatusSent(
                    venue=child.venue,
                    child_id=child.child_id,
                    symbol=order.instrument.symbol,
                    side=child.side,
                )
            )

    def _on_quote(self, cmd: VenueQuote) -> None:
        self.quotes.setdefault(cmd.venue, {})[cmd.symbol] = cmd
