"""The client (parent) order and its state machine, after FIX 4.4 Vol 4's order state
change matrices.

Pure: no I/O, no clock. Each transition checks that FIX allows it from the current state
and raises InvalidTransition otherwise, so an impossible venue report can never corrupt an
order. The invariant CumQty + LeavesQty = OrderQty holds for every live order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from qtinfra.domain.commands import Party
from qtinfra.domain.values import Instrument, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.errors import InvalidTransition

ZERO = Decimal(0)
AVG_PX_PLACES = Decimal("0.00000001")

_LIVE = frozenset(
    {
        OrdStatus.NEW,
        OrdStatus.PARTIALLY_FILLED,
        OrdStatus.PENDING_CANCEL,
        OrdStatus.PENDING_REPLACE,
    }
)


class ChangeKind(Enum):
    CANCEL = "cancel"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A cancel or replace the client asked for that the venues have not yet confirmed."""

    kind: ChangeKind
    cl_ord_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None


@dataclass(slots=True, eq=False)
class Order:
    """A client's order as the gateway books it. Quantities and prices are Decimal."""

    order_id: str
    session: str
    cl_ord_id: str
    instrument: Instrument
    side: Side
    ord_type: OrdType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal | None
    account: str | None
    created_at: datetime
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO
    orig_cl_ord_id: str | None = None
    pending: PendingChange | None = None
    text: str | None = None
    # MiFID II order data (RTS 22/24), from the message or the client's defaults.
    decision_maker: Party | None = None
    executing_trader: Party | None = None
    order_capacity: str | None = None
    ex_destination: str | None = None
    exposure_price: Decimal | None = None
    """Base-currency value of one unit, for the risk exposure (limit price, or the
    reference price of a market order, times the fx rate)."""

    # -- derived ---------------------------------------------------------------------------

    @property
    def leaves_qty(self) -> Decimal:
        """LeavesQty (151): zero once the order is done, else what is still working."""
        if self.status.is_done:
            return ZERO
        return self.quantity - self.cum_qty

    @property
    def avg_px(self) -> Decimal:
        """AvgPx (6): the quantity-weighted mean price of the fills."""
        if not self.cum_qty:
            return ZERO
        return (self.notional / self.cum_qty).quantize(AVG_PX_PLACES).normalize()

    @property
    def is_live(self) -> bool:
        return self.status in _LIVE

    def _settled_status(self) -> OrdStatus:
        """The status the fills alone imply, ignoring any pending change."""
        if self.cum_qty >= self.quantity:
            return OrdStatus.FILLED
        if self.cum_qty > 0:
            return OrdStatus.PARTIALLY_FILLED
        return OrdStatus.NEW

    def _require(self, allowed: frozenset[OrdStatus] | set[OrdStatus], action: str) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                f"order {self.order_id}: cannot {action} from {self.status.name}"
            )

    # -- transitions -----------------------------------------------------------------------

    def accept(self) -> None:
        """PendingNew -> New: the gateway took the order."""
        self._require({OrdStatus.PENDING_NEW}, "accept")
        self.status = OrdStatus.NEW

    def reject(self, text: str) -> None:
        """PendingNew -> Rejected."""
        self._require({OrdStatus.PENDING_NEW}, "reject")
        self.status = OrdStatus.REJECTED
        self.text = text

    def fill(self, quantity: Decimal, price: Decimal) -> None:
        """A venue execution. A fill during a pending cancel/replace keeps the pending
        status, even one that completes the order: Pending Cancel and Pending Replace take
        precedence over Filled (FIX 4.4 Vol 4, OrdStatus precedence); the pending request
        is then answered (too late to cancel; a replace at or below CumQty ends the order
        Filled)."""
        self._require(_LIVE, "fill")
        if quantity <= 0:
            raise InvalidTransition(f"order {self.order_id}: fill quantity {quantity} must be > 0")
        if quantity > self.leaves_qty:
            raise InvalidTransition(
                f"order {self.order_id}: fill {quantity} exceeds leaves {self.leaves_qty}"
            )
        self.cum_qty += quantity
        self.notional += quantity * price
        if self.pending is None:
            self.status = self._settled_status()

    def request_cancel(self, cl_ord_id: str) -> None:
        """New/PartiallyFilled -> PendingCancel."""
        self._require({OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED}, "cancel")
        self.pending = PendingChange(ChangeKind.CANCEL, cl_ord_id)
        self.status = OrdStatus.PENDING_CANCEL

    def request_replace(self, cl_ord_id: str, quantity: Decimal, price: Decimal | None) -> None:
        """New/PartiallyFilled -> PendingReplace. A quantity at or below CumQty asks for the
        rest to be cancelled: the replace ends the order Filled at OrderQty = CumQty (FIX
        4.4 Vol 4, D.11 and D.12)."""
        self._require({OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED}, "replace")
        if quantity <= 0:
            raise InvalidTransition(f"order {self.order_id}: new OrderQty {quantity} must be > 0")
        self.pending = PendingChange(ChangeKind.REPLACE, cl_ord_id, quantity, price)
        self.status = OrdStatus.PENDING_REPLACE

    def drop_pending(self) -> PendingChange:
        """The pending cancel/replace was refused: back to the status the fills imply."""
        if self.pending is None:
            raise InvalidTransition(f"order {self.order_id}: no pending cancel or replace")
        change, self.pending = self.pending, None
        if not self.status.is_done:
            self.status = self._settled_status()
        return change

    def confirm_cancel(self) -> None:
        """PendingCancel -> Canceled; the order now answers to the cancel's ClOrdID."""
        self._require({OrdStatus.PENDING_CANCEL}, "confirm cancel")
        assert self.pending is not None
        self.orig_cl_ord_id, self.cl_ord_id = self.cl_ord_id, self.pending.cl_ord_id
        self.pending = None
        self.status = OrdStatus.CANCELED

    def confirm_replace(self) -> None:
        """PendingReplace -> New/PartiallyFilled/Filled with the new quantity and price; a
        new quantity at or below CumQty (asked for, or overtaken by fills while pending)
        becomes CumQty and the order is Filled (FIX 4.4 Vol 4, D.11/D.12)."""
        self._require({OrdStatus.PENDING_REPLACE}, "confirm replace")
        change = self.pending
        assert change is not None and change.quantity is not None
        self.orig_cl_ord_id, self.cl_ord_id = self.cl_ord_id, change.cl_ord_id
        self.quantity = max(change.quantity, self.cum_qty)
        self.price = change.price
        self.pending = None
        self.status = self._settled_status()

    def cancel(self, text: str) -> None:
        """Unsolicited cancel of what is left (IOC remainder, no venue left, kill switch)."""
        self._require(_LIVE, "cancel")
        self.pending = None
        self.status = OrdStatus.CANCELED
        self.text = text

    def expire(self, text: str = "DAY order expired at the close") -> None:
        """A DAY order left at the end of the trading day -> Expired."""
        self._require(_LIVE, "expire")
        self.pending = None
        self.status = OrdStatus.EXPIRED
        self.text = text
