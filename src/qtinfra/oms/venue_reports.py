"""What venues report about child orders: acknowledgements, fills, cancels, expiries,
rejects, cancel rejects, the answers to status requests and trade queries after a
reconnection (reconciliation), and the venues' sessions and market data."""

from __future__ import annotations

from decimal import Decimal

import structlog

from qtinfra.domain.child_orders import ChildOrder, ChildTrigger, Execution
from qtinfra.domain.commands import (
    VenueCancelReject,
    VenueExecution,
    VenueQuote,
    VenueSessionStatus,
    VenueTrade,
    VenueTradeQueryAck,
)
from qtinfra.domain.events import ChildStatusSent, TradeQuerySent
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
from qtinfra.oms.state import TradeQuery
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
        """A venue's answer to our OrderStatusRequest after a reconnect. When the venue has
        filled more than the gateway booked (fills the session resend did not bring: a
        session reset, a crash between the engine taking a message and the journal), the
        gateway asks the venue for the child's executions (TradeCaptureReportRequest) and
        books each one it lacks with its own price, time and trade id; the status is
        applied once the venue has answered (_apply_status)."""
        if cmd.cum_qty > child.cum_qty:
            for stale in [r for r, q in self.trade_queries.items() if q.child_id == child.child_id]:
                del self.trade_queries[stale]  # a newer status answer supersedes it
            request_id = f"{self._prefix}Q{next(self._query_seq)}"
            self.outbox.events.append(
                TradeQuerySent(
                    venue=child.venue,
                    request_id=request_id,
                    child_id=child.child_id,
                    venue_order_id=child.venue_order_id,
                    symbol=order.instrument.symbol,
                    side=child.side,
                )
            )
            self.trade_queries[request_id] = TradeQuery(child.venue, child.child_id, cmd)
            return
        self._apply_status(order, child, cmd)

    def _on_venue_trade(self, cmd: VenueTrade) -> None:
        """One execution the venue reports in answer to our query: booked unless the
        gateway has it already (the same ExecID as the venue's ExecutionReport of it)."""
        query = self.trade_queries.get(cmd.request_id)
        child = self.children.get(query.child_id) if query is not None else None
        if query is None or child is None:
            log.warning("venue_trade_for_unknown_query", venue=cmd.venue, request_id=cmd.request_id)
            return
        order = self.orders.get(child.order_id)
        if order is not None and cmd.exec_id not in child.exec_ids and cmd.last_qty > 0:
            if cmd.last_qty > child.quantity - child.cum_qty or cmd.last_qty > order.leaves_qty:
                log.error(
                    "venue_trade_exceeds_child",
                    venue=cmd.venue,
                    child_id=child.child_id,
                    exec_id=cmd.exec_id,
                    last_qty=str(cmd.last_qty),
                    child_leaves=str(child.quantity - child.cum_qty),
                )
            else:
                self._apply_fill(order, child, cmd.last_qty, cmd.last_px, _as_fill(cmd, query))
                child.exec_ids.add(cmd.exec_id)
                self._touch_child(child)
                self._settle(order)
        query.received += 1
        if cmd.last or (query.expected is not None and query.received >= query.expected):
            self._end_query(cmd.request_id, query)

    def _on_trade_query_ack(self, cmd: VenueTradeQueryAck) -> None:
        query = self.trade_queries.get(cmd.request_id)
        if query is None:
            return
        if not cmd.accepted:
            log.warning(
                "venue_refused_trade_query",
                venue=cmd.venue,
                child_id=query.child_id,
                text=cmd.text,
            )
            self._end_query(cmd.request_id, query)
        elif cmd.total == 0 or (cmd.total is not None and query.received >= cmd.total):
            self._end_query(cmd.request_id, query)
        else:
            query.expected = cmd.total

    def _end_query(self, request_id: str, query: TradeQuery) -> None:
        child = self.children.get(query.child_id)
        order = self.orders.get(child.order_id) if child is not None else None
        if child is not None and order is not None:
            self._apply_status(order, child, query.status)
        del self.trade_queries[request_id]

    def _apply_status(self, order: Order, child: ChildOrder, cmd: VenueExecution) -> None:
        """The venue's OrderStatus of a child, once its executions are booked. Whatever of
        its CumQty no execution explains (a venue that refused the query or keeps no trade
        history) is booked as one fill at exactly the price that makes our value of the
        child equal the venue's: (venue CumQty x venue AvgPx - value booked) / missing
        quantity (the venue's AvgPx itself would misprice it whenever fills were booked).
        That fill is marked reconciled, and RTS 22 holds it (rule RECON): it is not one of
        the venue's executions."""
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
            # Unanswered queries die with the session; the next logon asks the status again.
            for request_id in [r for r, q in self.trade_queries.items() if q.venue == cmd.venue]:
                del self.trade_queries[request_id]
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


def _as_fill(trade: VenueTrade, query: TradeQuery) -> VenueExecution:
    """A venue's TradeCaptureReport as the fill it reports, with its execution facts."""
    return VenueExecution(
        venue=trade.venue,
        mic=trade.mic,
        child_id=query.child_id,
        orig_child_id=None,
        venue_order_id=trade.venue_order_id,
        exec_id=trade.exec_id,
        exec_type=ExecType.TRADE,
        ord_status=query.status.ord_status,
        last_qty=trade.last_qty,
        last_px=trade.last_px,
        cum_qty=query.status.cum_qty,
        leaves_qty=query.status.leaves_qty,
        commission=trade.commission,
        text=None,
        transact_time=trade.transact_time,
        trade_id=trade.trade_id,
        liquidity=trade.liquidity,
    )
