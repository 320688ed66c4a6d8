"""Release: turn journaled events into FIX messages and send them.

Runs on the gateway's business thread, right after the events' group commit.
"""

from __future__ import annotations

from collections.abc import Mapping

import quickfix as fix
import structlog

from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    ChildCancelSent,
    ChildOrderSent,
    ChildStatusSent,
    Event,
    ExecutionReport,
)
from qtinfra.domain.values import ExecType
from qtinfra.fix import codec
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.ops.metrics import EXECUTIONS, ORDERS, REJECTS

log = structlog.get_logger(__name__)


class Dispatcher:
    """Sends each event to its session: client events to the client, child orders to
    their venue."""

    def __init__(self, registry: SessionRegistry, venue_sessions: Mapping[str, str]) -> None:
        self.registry = registry
        self.venue_sessions = dict(venue_sessions)
        self._send = fix.Session.sendToTarget
        self._orders = ORDERS
        self._reject_order = REJECTS.labels("order")
        self._reject_cancel = REJECTS.labels("cancel")
        self._reject_business = REJECTS.labels("business")

    def dispatch(self, events: list[Event]) -> None:
        for event in events:
            try:
                self._one(event)
            except Exception:
                log.exception("dispatch_failed", event=repr(event))

    def _one(self, event: Event) -> None:
        registry = self.registry
        if isinstance(event, ExecutionReport):
            msg = codec.encode_execution_report(event, event.session.startswith("FIX.4.4"))
            self._send(msg, registry.session_id(event.session))
            if event.exec_type is ExecType.TRADE:
                EXECUTIONS.labels(event.last_mkt or "").inc()
            elif event.exec_type is ExecType.NEW:
                self._orders.labels(event.session).inc()
            elif event.exec_type is ExecType.REJECTED:
                self._reject_order.inc()
        elif isinstance(event, ChildOrderSent):
            msg = codec.encode_child_new(event)
            self._send(msg, registry.session_id(self.venue_sessions[event.venue]))
        elif isinstance(event, ChildCancelSent):
            msg = codec.encode_child_cancel(event)
            self._send(msg, registry.session_id(self.venue_sessions[event.venue]))
        elif isinstance(event, ChildStatusSent):
            msg = codec.encode_child_status(event)
            self._send(msg, registry.session_id(self.venue_sessions[event.venue]))
        elif isinstance(event, CancelRejected):
            self._send(codec.encode_cancel_reject(event), registry.session_id(event.session))
            self._reject_cancel.inc()
        elif isinstance(event, BusinessRejected):
            self._send(codec.encode_business_reject(event), registry.session_id(event.session))
            self._reject_business.inc()
