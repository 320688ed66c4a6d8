"""The single business-logic thread's core (LMAX style).

The gateway's event loop polls the QuickFIX sessions on one thread; their callbacks decode
each message and hand the command to `handle`, which applies it to the order manager at
once, in arrival order. After each poll round the loop calls `flush`: everything the round
decided is committed to the journal in one transaction (group commit) and only then are the
messages it causes sent. No other thread touches order state; operator actions from other
threads are queued with `call_soon` and run between rounds.
"""

from __future__ import annotations

import functools
import queue
from collections.abc import Callable
from datetime import datetime

import structlog

from qtinfra.domain.commands import Command
from qtinfra.domain.events import Event, ExecutionReport
from qtinfra.oms.manager import OrderManager, Outbox
from qtinfra.store.journal import (
    JournalWriter,
    PersistBatch,
    child_row,
    event_payload,
    order_row,
)

log = structlog.get_logger(__name__)


class Sequencer:
    """Owns the OrderManager; see the module docstring."""

    def __init__(
        self,
        manager: OrderManager,
        writer: JournalWriter,
        dispatch: Callable[[list[Event]], None],
        clock: Callable[[], datetime],
        on_error: Callable[[object, BaseException], None],
    ) -> None:
        self.manager = manager
        self.writer = writer
        self.dispatch = dispatch
        self.clock = clock
        self.on_error = on_error
        self._calls: queue.SimpleQueue[Callable[[OrderManager], None]] = queue.SimpleQueue()
        self.processed = 0

    def handle(self, command: Command) -> None:
        """Apply one command now (on the loop thread, from a QuickFIX callback)."""
        self.processed += 1
        try:
            self.manager.handle(command)
        except Exception as exc:
            # Each handler validates before it mutates, so the state stays what it was;
            # the caller's error path answers the counterparty.
            log.exception("command_failed", command=repr(command))
            self.on_error(command, exc)

    def call_soon(self, fn: Callable[[OrderManager], None]) -> None:
        """Any thread: run fn on the loop thread between poll rounds (operator actions)."""
        self._calls.put(fn)

    def run_calls(self) -> None:
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn(self.manager)
            except Exception:
                log.exception("operator_call_failed", call=repr(fn))

    def flush(self) -> bool:
        """Commit what the round decided and the session messages seen, then release the
        outbound messages. Returns whether there was anything to write."""
        outbox = self.manager.take_outbox()
        if not outbox:
            return self.writer.write([])
        release: Callable[[], None] | None = None
        if outbox.after_commit:
            events, after = outbox.events, outbox.after_commit

            def release() -> None:
                if events:
                    self.dispatch(events)
                for fn in after:
                    fn()

        elif outbox.events:
            release = functools.partial(self.dispatch, outbox.events)
        return self.writer.write([batch_from_outbox(outbox, self.clock(), release)])


def batch_from_outbox(
    outbox: Outbox, now: datetime, release: Callable[[], None] | None
) -> PersistBatch:
    """The rows of one group commit: what the order manager changed, as plain values (the
    journal writer never holds a live Order or ChildOrder)."""
    batch = PersistBatch(release=release)
    for event in outbox.events:
        batch.journal.append(
            {
                "ts": now,
                "kind": type(event).__name__,
                "session": getattr(event, "session", None) or getattr(event, "venue", None),
                "order_id": event.event_of
                if isinstance(event, ExecutionReport)
                else getattr(event, "order_id", None),
                "payload": event_payload(event),
            }
        )
    for order_id, order in outbox.orders.items():
        row = order_row(order)
        row["updated_at"] = now
        (batch.new_orders if order_id in outbox.new_orders else batch.changed_orders).append(row)
    for child_id, child in outbox.children.items():
        row = child_row(child)
        row["updated_at"] = now
        target = batch.new_children if child_id in outbox.new_children else batch.changed_children
        target.append(row)
    for ex in outbox.executions:
        batch.executions.append(
            {
                "exec_id": ex.exec_id,
                "order_id": ex.order_id,
                "child_id": ex.child_id,
                "venue": ex.venue,
                "mic": ex.mic,
                "venue_exec_id": ex.venue_exec_id,
                "quantity": ex.quantity,
                "price": ex.price,
                "commission": ex.commission,
                "transact_time": ex.transact_time,
            }
        )
    for session, cl_ord_id, order_id in outbox.cl_ord_ids:
        batch.cl_ord_ids.append({"session": session, "cl_ord_id": cl_ord_id, "order_id": order_id})
    return batch
