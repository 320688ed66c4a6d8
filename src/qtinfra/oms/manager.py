"""The order manager: owns every live client order and its child orders.

It takes one command at a time (the sequencer guarantees that) and records what it decided
as events in `outbox`; it never touches a socket or the database. A fill racing a cancel is
therefore decided here, in arrival order, deterministically.

The work is split by job: oms/state.py holds the orders, oms/client_requests.py answers
clients, oms/venue_reports.py applies what venues report, oms/working.py works parent
orders through children, oms/reports.py builds the reports, oms/market.py is the view of
the venues. This module takes the commands and the operator's actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

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
    VenueTrade,
    VenueTradeQueryAck,
)
from qtinfra.domain.events import (
    TradingStateChanged,
)
from qtinfra.domain.values import (
    TimeInForce,
)
from qtinfra.oms.client_requests import ClientRequests
from qtinfra.oms.outbox import Outbox
from qtinfra.oms.reports import NONE_ID
from qtinfra.oms.savepoint import Savepoint
from qtinfra.oms.venue_reports import VenueReports
from qtinfra.risk.engine import (
    Scope,
    TradingState,
)

__all__ = ["NONE_ID", "OrderManager", "Outbox"]


class OrderManager(ClientRequests, VenueReports):
    """Applies client and venue commands to order state; see the module docstring."""

    _HANDLERS: ClassVar[dict[type, Callable[[Any, Any], None]]] = {
        NewOrder: ClientRequests._on_new,
        CancelOrder: ClientRequests._on_cancel,
        ReplaceOrder: ClientRequests._on_replace,
        StatusRequest: ClientRequests._on_status,
        RejectInput: ClientRequests._on_reject_input,
        VenueExecution: VenueReports._on_venue_execution,
        VenueTrade: VenueReports._on_venue_trade,
        VenueTradeQueryAck: VenueReports._on_trade_query_ack,
        VenueCancelReject: VenueReports._on_venue_cancel_reject,
        VenueSessionStatus: VenueReports._on_venue_session,
        VenueQuote: VenueReports._on_quote,
    }

    def handle(self, command: Command) -> None:
        """Apply one command, all or nothing: a handler that raises leaves the outbox and
        the orders it could touch as they were (oms/savepoint.py), then the error goes to
        the caller, which answers the client."""
        savepoint = Savepoint(self, self._touched(command))
        try:
            self._HANDLERS[type(command)](self, command)
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
        if isinstance(command, VenueTrade | VenueTradeQueryAck):
            query = self.trade_queries.get(command.request_id)
            child = self.children.get(query.child_id) if query is not None else None
            return [child.order_id] if child is not None else []
        return []

    def take_outbox(self) -> Outbox:
        out, self.outbox = self.outbox, Outbox()
        return out

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
