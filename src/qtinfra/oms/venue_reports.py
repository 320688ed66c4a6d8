"""What venues report about child orders: acknowledgements, fills, cancels, expiries,
rejects, cancel rejects, the answers to status requests after a reconnection, and the
venues' sessions and market data."""

from __future__ import annotations

from decimal import Decimal

import structlog

from qtinfra.domain.child_orders import ChildOrder, ChildTrigger, Execution
from qtinfra.domain.commands import (
    VenueCancelReject,
    VenueExecution,
    VenueQuote,
    VenueSessionStatus,
)
from qtinfra.domain.events import (
    ChildStatusSent,
)
from qtinfra.domain.orders import AVG_PX_PLACES, Order
from qtinfra.domain.values import (
    CxlRejReason,
    ExecType,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from qtinfra.errors import InvalidTransition
from qtinfra.oms.reports import NONE_ID
from qtinfra.oms.working import ParentWorking

log = structlog.get_logger(__name__)


class VenueReports(ParentWorking):
    """Applies venue reports to child and parent orders; see the module docstring."""

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
        mic = cmd.mic or self.venue_mics.get(cmd.venue, "")  # LastMkt as the venue sent it
        report = self._report(
            order,
            ExecType.TRADE,
            last_qty=quantity,
            last_px=price,
            last_mkt=mic,
            venue_fill=cmd,
        )
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
            self.market.venue_down(cmd.venue)
            return
        self.market.venue_up(cmd.venue)
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
        self.market.quote(cmd)
