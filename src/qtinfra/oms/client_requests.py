"""Client requests: new orders, cancels, replaces and status requests, and the input the
codec refused, each answered by what the FIX 4.4 Vol 4 matrices say."""

from __future__ import annotations

import time

from qtinfra.domain.commands import (
    CancelOrder,
    NewOrder,
    RejectInput,
    ReplaceOrder,
    StatusRequest,
)
from qtinfra.domain.events import (
    BusinessRejected,
    SessionRejected,
)
from qtinfra.domain.orders import Order
from qtinfra.domain.values import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    Instrument,
    OrdRejReason,
)
from qtinfra.errors import VenueUnavailable
from qtinfra.oms import reports
from qtinfra.oms.reports import NONE_ID
from qtinfra.oms.working import ParentWorking
from qtinfra.risk.engine import (
    Approval,
    OrderTerms,
    RiskRejection,
)
from qtinfra.risk.validation import Rejection, check_terms, resolve_instrument


class ClientRequests(ParentWorking):
    """Handles what clients ask for; see the module docstring."""

    def _evaluate(self, terms: OrderTerms, instrument: Instrument) -> Approval | RiskRejection:
        assert self.risk is not None
        reference, source = self.market.reference_price(instrument)
        start = time.perf_counter_ns()
        decision = self.risk.check_new(terms, self.clock(), reference, source)
        elapsed = time.perf_counter_ns() - start
        if self.on_risk is not None:
            self.on_risk(decision.check if isinstance(decision, RiskRejection) else None, elapsed)
        return decision

    def _reject_new(
        self,
        cmd: NewOrder | RejectInput,
        reason: OrdRejReason,
        text: str,
        instrument: Instrument | None = None,
    ) -> None:
        """A rejected ExecutionReport for an order that was never booked (OrderID NONE)."""
        account = None
        if isinstance(cmd, NewOrder):
            account = cmd.account or self.default_accounts.get(cmd.session)
        self.outbox.events.append(
            reports.rejected_new_order(
                cmd, reason, text, self._next_exec_id(), self.clock(), instrument, account
            )
        )

    def _on_new(self, cmd: NewOrder) -> None:
        known = self._order_id_of(cmd.session, cmd.cl_ord_id)
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

    def _refuse_change(
        self,
        cmd: CancelOrder | ReplaceOrder,
        response_to: CxlRejResponseTo,
        reason: CxlRejReason,
        text: str,
        order: Order | None,
    ) -> None:
        """The one refusal of a cancel or replace: OrderCancelReject naming the request's
        ClOrdID and the order it named (OrigClOrdID as sent, else the order's own)."""
        orig = cmd.orig_cl_ord_id or (order.cl_ord_id if order is not None else NONE_ID)
        self._cancel_reject(cmd.session, cmd.cl_ord_id, orig, response_to, reason, text, order)

    def _find_for_change(
        self, cmd: CancelOrder | ReplaceOrder, response_to: CxlRejResponseTo
    ) -> Order | None:
        """The order a cancel/replace names (by OrigClOrdID, or on FIX 5.0SP2 by OrderID
        alone), or None after answering OrderCancelReject."""
        if cmd.orig_cl_ord_id is not None:
            order_id = self._order_id_of(cmd.session, cmd.orig_cl_ord_id)
        else:
            candidate = self._lookup(cmd.order_id)
            owned = candidate is not None and candidate.session == cmd.session
            order_id = candidate.order_id if candidate is not None and owned else None
        order = self._lookup(order_id)
        taken_by = self._order_id_of(cmd.session, cmd.cl_ord_id)
        if taken_by is not None and cmd.poss_dup and (taken := self._lookup(taken_by)):
            # A PossDup resend of a request already taken: its current state, once.
            self._report(
                taken, ExecType.ORDER_STATUS, text="possible duplicate: request already received"
            )
            return None
        refusal: tuple[CxlRejReason, str] | None = None
        if taken_by is not None:
            refusal = (
                CxlRejReason.DUPLICATE_CLORDID,
                f"duplicate ClOrdID {cmd.cl_ord_id} on this session",
            )
        elif order_id is None:
            named = (
                f"OrigClOrdID {cmd.orig_cl_ord_id}"
                if cmd.orig_cl_ord_id is not None
                else f"OrderID {cmd.order_id}"
            )
            refusal = (CxlRejReason.UNKNOWN_ORDER, f"unknown order: {named}")
        elif order is None or order.status.is_done:
            what = "cancel" if response_to is CxlRejResponseTo.CANCEL else "replace"
            state = order.status.name if order else "done"
            refusal = (CxlRejReason.TOO_LATE_TO_CANCEL, f"too late to {what}: order is {state}")
        elif cmd.order_id is not None and cmd.order_id != order.order_id:
            refusal = (
                CxlRejReason.UNKNOWN_ORDER,
                f"OrderID {cmd.order_id} does not match OrigClOrdID {cmd.orig_cl_ord_id}",
            )
        elif order.pending is not None:
            refusal = (
                CxlRejReason.ALREADY_PENDING,
                "a cancel or replace is already pending for this order",
            )
        elif cmd.side is not order.side or (cmd.symbol and cmd.symbol != order.instrument.symbol):
            refusal = (
                CxlRejReason.BROKER_OPTION,
                f"Side/Symbol do not match the order ({order.side.name} {order.instrument.symbol})",
            )
        if refusal is not None:
            self._refuse_change(cmd, response_to, *refusal, order)
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
                self._refuse_change(
                    cmd, CxlRejResponseTo.CANCEL, CxlRejReason.BROKER_OPTION, refused.text, order
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
            self._refuse_change(cmd, CxlRejResponseTo.REPLACE, reason, text, order)

        if cmd.ord_type is not order.ord_type or cmd.time_in_force is not order.time_in_force:
            refuse(
                CxlRejReason.BROKER_OPTION, "OrdType and TimeInForce cannot be changed by a replace"
            )
            return
        if cmd.currency is not None and cmd.currency != order.instrument.currency:
            refuse(
                CxlRejReason.OTHER,
                f"Currency (15) {cmd.currency} is not {order.instrument.symbol}'s currency "
                f"{order.instrument.currency}",
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

    def _on_status(self, cmd: StatusRequest) -> None:
        order_id = self._order_id_of(cmd.session, cmd.cl_ord_id) if cmd.cl_ord_id else None
        order = self._lookup(order_id)
        if order is None and cmd.order_id:
            candidate = self._lookup(cmd.order_id)
            if candidate is not None and candidate.session == cmd.session:
                order = candidate
        if order is None:
            self.outbox.events.append(
                reports.unknown_order_status(cmd, self._next_exec_id(), self.clock())
            )
            return
        self._report(
            order,
            ExecType.ORDER_STATUS,
            cl_ord_id=cmd.cl_ord_id,
            status_req_id=cmd.status_req_id,
        )

    def _on_reject_input(self, cmd: RejectInput) -> None:
        if cmd.kind == "order" and cmd.side is not None:
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
            # "business", or an order without a readable Side: an ExecutionReport cannot
            # go without one, and inventing a side would mislead the client.
            self.outbox.events.append(
                BusinessRejected(
                    session=cmd.session,
                    ref_msg_type=cmd.ref_msg_type or "",
                    reason=(cmd.reason or "0") if cmd.kind == "business" else "0",
                    text=cmd.text
                    if cmd.kind == "business"
                    else f"{cmd.text} (Side (54) unreadable)",
                    ref_seq_num=cmd.ref_seq_num,
                    ref_id=cmd.cl_ord_id,
                )
            )
