"""Release: turn journaled events into FIX messages and send them.

Runs on the gateway's business thread, right after the events' group commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import quickfix as fix
import structlog

from qtinfra.domain.events import (
    BusinessRejected,
    CancelRejected,
    ChildOrderSent,
    Event,
    ExecutionReport,
    SessionRejected,
)
from qtinfra.domain.values import ExecType
from qtinfra.fix import codec, outbound
from qtinfra.fix.sessions import SessionRegistry
from qtinfra.ops.metrics import EXECUTIONS, ORDERS, REJECTS

log = structlog.get_logger(__name__)


class Dispatcher:
    """Sends each event to its session: client events to the client, child orders to
    their venue."""

    def __init__(
        self,
        registry: SessionRegistry,
        venue_sessions: Mapping[str, str],
        on_failed: Callable[[str, str], None] | None = None,
        millis: frozenset[str] = frozenset(),
        on_child_failed: Callable[[ChildOrderSent, str], None] | None = None,
        fault: Callable[[Event], None] | None = None,
    ) -> None:
        """on_failed(session, text): told of each event that could not be sent (the
        gateway journals it as dispatch.failed). millis: the sessions whose timestamps
        carry milliseconds (FIX 4.4 sessions with TimeStampPrecision 3), not microseconds.
        on_child_failed(child, text): a child order the venue never got (the gateway treats
        it as refused by the venue, so the order is routed elsewhere or answered).
        fault: test-only, called before each event is encoded (it may raise)."""
        self.registry = registry
        self.venue_sessions = dict(venue_sessions)
        self.on_failed = on_failed
        self.on_child_failed = on_child_failed
        self.fault = fault
        self.millis = millis
        self._send = fix.Session.sendToTarget
        self._orders = ORDERS
        self._reject_order = REJECTS.labels("order")
        self._reject_cancel = REJECTS.labels("cancel")
        self._reject_business = REJECTS.labels("business")
        self._reject_session = REJECTS.labels("session")
        self._reject_dispatch = REJECTS.labels("dispatch")

    def dispatch(self, events: list[Event]) -> None:
        """Send each event; one that cannot be encoded or sent is journaled as failed and
        the others still go out."""
        for event in events:
            try:
                self._one(event)
            except Exception as exc:
                self._failed(event, exc)

    def _failed(self, event: Event, exc: Exception) -> None:
        session = getattr(event, "session", None) or getattr(event, "venue", None) or ""
        text = f"{type(event).__name__} not sent: {type(exc).__name__}: {exc}; {event!r}"
        if isinstance(event, ExecutionReport) and event.event_of is not None:
            # (A refused duplicate ClOrdID names another order: no status stands in for it.)
            text += self._status_instead(event)
        try:
            log.error("dispatch_failed", session=session, failed=repr(event), error=str(exc))
            self._reject_dispatch.inc()
            if self.on_failed is not None:
                self.on_failed(session, text)
            if isinstance(event, ChildOrderSent) and self.on_child_failed is not None:
                self.on_child_failed(event, f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception("dispatch_failure_not_recorded")

    def _status_instead(self, event: ExecutionReport) -> str:
        """Tells the client its order's status when one of its reports could not be sent
        (codec.encode_status_instead); what became of that, for the journal."""
        try:
            session = event.session
            msg = codec.encode_status_instead(
                event, session.startswith("FIX.4.4"), session not in self.millis
            )
            self._send(msg, self.registry.session_id(session))
        except Exception as exc:
            return f"; nor its status: {type(exc).__name__}: {exc}"
        return "; the client was sent the order's status (150=I) instead"

    def session_of(self, event: Event) -> str:
        """The session an event is sent on: the client's, or its venue's."""
        venue = getattr(event, "venue", None)
        if venue is not None:
            return self.venue_sessions[venue]
        return str(getattr(event, "session", ""))

    def _one(self, event: Event) -> None:
        if self.fault is not None:
            self.fault(event)
        session = self.session_of(event)
        msg = outbound.encode_event(event, session, session not in self.millis)
        if msg is None:
            return
        self._send(msg, self.registry.session_id(session))
        if isinstance(event, ExecutionReport):
            if event.exec_type is ExecType.TRADE:
                EXECUTIONS.labels(event.last_mkt or "").inc()
            elif event.exec_type is ExecType.NEW:
                self._orders.labels(event.session).inc()
            elif event.exec_type is ExecType.REJECTED:
                self._reject_order.inc()
        elif isinstance(event, CancelRejected):
            self._reject_cancel.inc()
        elif isinstance(event, BusinessRejected):
            self._reject_business.inc()
        elif isinstance(event, SessionRejected):
            self._reject_session.inc()
