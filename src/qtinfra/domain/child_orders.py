"""The child order (a slice of a client order working at one venue) and its state machine,
and the execution booked from a venue fill.

Pure: no I/O, no clock. A child changes state only through `apply` (a table of (state,
trigger) -> state) and `fill`; what a venue reports about a child that is already done
changes nothing (a late report), and a fill above its LeavesQty raises InvalidTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum

from qtinfra.domain.values import OrdStatus, OrdType, Side, TimeInForce
from qtinfra.errors import InvalidTransition

ZERO = Decimal(0)


class ChildTrigger(Enum):
    """What a venue (or the gateway's reconciliation) says happened to a child."""

    ACKNOWLEDGED = "acknowledged"  # ExecType New, or a status answer saying it works there
    PARTIALLY_FILLED = "partially filled"
    FILLED = "filled"
    CANCELED = "canceled"  # by our cancel, by the venue, or not known there any more
    REJECTED = "rejected"
    EXPIRED = "expired"  # the venue's trading day ended


_WORKING = (OrdStatus.PENDING_NEW, OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED)
_ENDS = {
    ChildTrigger.FILLED: OrdStatus.FILLED,
    ChildTrigger.CANCELED: OrdStatus.CANCELED,
    ChildTrigger.REJECTED: OrdStatus.REJECTED,
    ChildTrigger.EXPIRED: OrdStatus.EXPIRED,
}
TRANSITIONS: dict[tuple[OrdStatus, ChildTrigger], OrdStatus] = {
    (OrdStatus.PENDING_NEW, ChildTrigger.ACKNOWLEDGED): OrdStatus.NEW,
    (OrdStatus.NEW, ChildTrigger.ACKNOWLEDGED): OrdStatus.NEW,
    (OrdStatus.PARTIALLY_FILLED, ChildTrigger.ACKNOWLEDGED): OrdStatus.PARTIALLY_FILLED,
    **{(s, ChildTrigger.PARTIALLY_FILLED): OrdStatus.PARTIALLY_FILLED for s in _WORKING},
    **{(s, trigger): end for s in _WORKING for trigger, end in _ENDS.items()},
}
"""Every transition a child may make; from a done state there is none."""


@dataclass(slots=True, eq=False)
class ChildOrder:
    """A slice of a client order working at one venue."""

    child_id: str
    order_id: str
    venue: str
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    created_at: datetime
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    venue_order_id: str | None = None
    cancel_requested: bool = False
    exec_ids: set[str] = field(default_factory=set)
    cancels_sent: int = 0

    def next_cancel_id(self) -> str:
        """A new ClOrdID for our next OrderCancelRequest of this child: `<child>.X`, then
        `<child>.X2`, `.X3`... (a venue refuses a ClOrdID used twice)."""
        self.cancels_sent += 1
        n = self.cancels_sent
        return f"{self.child_id}.X" if n == 1 else f"{self.child_id}.X{n}"

    @property
    def leaves_qty(self) -> Decimal:
        return ZERO if self.status.is_done else self.quantity - self.cum_qty

    def apply(self, trigger: ChildTrigger) -> bool:
        """Move by the transition table; returns whether the status changed. A report
        about a child already done changes nothing."""
        target = TRANSITIONS.get((self.status, trigger))
        if target is None:
            if self.status.is_done:
                return False
            raise InvalidTransition(
                f"child {self.child_id}: no transition from {self.status.name} on {trigger.value}"
            )
        changed = target is not self.status
        self.status = target
        return changed

    def end_as(self, status: OrdStatus) -> bool:
        """The venue says the child is done with `status` (Filled, Canceled, Rejected,
        Expired, Done for day...): the matching end; anything else done counts as
        Canceled (nothing works there any more)."""
        trigger = {
            OrdStatus.FILLED: ChildTrigger.FILLED,
            OrdStatus.REJECTED: ChildTrigger.REJECTED,
            OrdStatus.EXPIRED: ChildTrigger.EXPIRED,
        }.get(status, ChildTrigger.CANCELED)
        return self.apply(trigger)

    def fill(self, quantity: Decimal, price: Decimal) -> None:
        """A venue execution on this child: Filled when nothing is left, else Partially
        Filled. A child already done (a cancel raced the fill) keeps its end state."""
        if quantity <= 0 or quantity > self.quantity - self.cum_qty:
            raise InvalidTransition(
                f"child {self.child_id}: fill {quantity} with {self.quantity - self.cum_qty} left"
            )
        self.cum_qty += quantity
        self.notional += quantity * price
        if self.status.is_done:
            return
        full = self.cum_qty >= self.quantity
        self.apply(ChildTrigger.FILLED if full else ChildTrigger.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class Execution:
    """A fill booked on a client order (one per venue fill)."""

    exec_id: str
    order_id: str
    child_id: str
    venue: str
    mic: str
    venue_exec_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal | None
    transact_time: datetime
