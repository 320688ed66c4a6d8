"""Working client orders through child orders: plan routes, send and cancel children,
and settle what an order's state means once its children changed (confirm a pending
cancel or replace, re-route what no child covers, end what cannot be worked)."""

from __future__ import annotations

from decimal import Decimal
from typing import Unpack

from qtinfra.domain.child_orders import ChildOrder
from qtinfra.domain.commands import Party
from qtinfra.domain.events import (
    ChildCancelSent,
    ChildOrderSent,
    ExecutionReport,
)
from qtinfra.domain.identifiers import client_short_code
from qtinfra.domain.orders import ZERO, ChangeKind, Order
from qtinfra.domain.values import (
    ALGORITHM,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdStatus,
    OrdType,
    TimeInForce,
)
from qtinfra.errors import VenueUnavailable
from qtinfra.oms import reports
from qtinfra.oms.reports import BROKER_OPTION, MARKET_OPTION, SYSTEM_FAILURE, ReportOptions
from qtinfra.oms.state import OmsState
from qtinfra.risk.engine import CLIENT_ID, DECISION_MAKER, EXECUTING_TRADER
from qtinfra.routing.router import RoutingRequest, plan_routes


class ParentWorking(OmsState):
    """Works parent orders through their children; see the module docstring."""

    def _report(
        self, order: Order, exec_type: ExecType, **options: Unpack[ReportOptions]
    ) -> ExecutionReport:
        """Record the report of an order's state (oms/reports.py says what options mean)."""
        report = reports.execution_report(
            order, exec_type, self._next_exec_id(), self.clock(), **options
        )
        self.outbox.events.append(report)
        return report

    def _report_pending(self, order: Order, exec_type: ExecType) -> None:
        """PendingCancel/PendingReplace reports carry the request's ClOrdID and the
        order's current one as OrigClOrdID (FIX 4.4 Vol 4, D.1/D.2)."""
        assert order.pending is not None
        current, orig = order.cl_ord_id, order.orig_cl_ord_id
        order.orig_cl_ord_id, order.cl_ord_id = current, order.pending.cl_ord_id
        self._report(order, exec_type, with_orig=True)
        order.cl_ord_id, order.orig_cl_ord_id = current, orig

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
            reports.cancel_rejected(
                session, cl_ord_id, orig_cl_ord_id, response_to, reason, text, self.clock(), order
            )
        )

    def _plan(self, order: Order, quantity: Decimal) -> list[tuple[str, Decimal]]:
        request = RoutingRequest(
            instrument=order.instrument,
            side=order.side,
            ord_type=order.ord_type,
            time_in_force=order.time_in_force,
            quantity=quantity,
            price=order.price,
        )
        quotes = self.market.quotes_for(order.instrument.symbol)
        venues_up = self.market.venues_up
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
        parties = self._venue_parties(order)
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
                    parties=parties,
                    order_capacity=order.order_capacity,
                )
            )

    def _venue_parties(self, order: Order) -> tuple[Party, ...]:
        """The MiFID II parties of a child order, as short codes (PartyIDSource P): the
        client (PartyRole 3), the investment decision maker only when it is the firm's
        person or algorithm (122; a client's own decision is not the firm's to name) and
        the executing trader or algorithm (12)."""
        parties = []
        if order.account:
            parties.append(Party(client_short_code(order.account), "P", CLIENT_ID))
        maker = order.decision_maker
        people = self.risk.firm_people if self.risk is not None else None
        if maker is not None and (
            people is None or maker.qualifier == ALGORITHM or maker.party_id in people
        ):
            parties.append(Party(maker.party_id, "P", DECISION_MAKER, maker.qualifier))
        trader = order.executing_trader
        if trader is not None:
            parties.append(Party(trader.party_id, "P", EXECUTING_TRADER, trader.qualifier))
        return tuple(parties)

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

    def _kill(self, order: Order, text: str) -> None:
        if order.pending is not None and order.pending.kind is ChangeKind.REPLACE:
            self._refuse_pending(order, CxlRejReason.BROKER_OPTION, f"{text}; replace refused")
        self.killing[order.order_id] = text
        self._cancel_children(order)
        self._settle(order)
