"""The client order state machine (FIX 4.4 Vol 4 order state change matrices).

Every transition is tried from every state: allowed ones change the state as FIX says,
forbidden ones raise InvalidTransition and leave the order untouched. Hypothesis then drives
random sequences of venue and client events and checks the invariants clients rely on:
CumQty + LeavesQty = OrderQty while live, AvgPx the quantity-weighted mean of the fills,
done is final, and every quantity stays an exact Decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtinfra.domain.orders import AVG_PX_PLACES, ChangeKind, Order, PendingChange
from qtinfra.domain.values import Instrument, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.errors import InvalidTransition

D = Decimal
AAPL = Instrument("AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), ("CBOE",))
CREATED = datetime(2025, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)


HUNDRED = D(100)
LIMIT_PRICE = D("190.00")
ZERO = D(0)


def new_order(quantity: Decimal = HUNDRED, price: Decimal | None = LIMIT_PRICE) -> Order:
    return Order(
        order_id="QT1",
        session="FIX.4.4:QTGW->CLIENT1",
        cl_ord_id="C1",
        instrument=AAPL,
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        time_in_force=TimeInForce.DAY,
        quantity=quantity,
        price=price,
        account="ACC1",
        created_at=CREATED,
    )


def order_in(status: OrdStatus) -> Order:
    """An order of 100 brought to `status` through allowed transitions only."""
    order = new_order()
    if status is OrdStatus.PENDING_NEW:
        return order
    if status is OrdStatus.REJECTED:
        order.reject("unknown account")
        return order
    order.accept()
    if status is OrdStatus.NEW:
        pass
    elif status is OrdStatus.PARTIALLY_FILLED:
        order.fill(D(40), D("190.00"))
    elif status is OrdStatus.FILLED:
        order.fill(D(100), D("190.00"))
    elif status is OrdStatus.PENDING_CANCEL:
        order.fill(D(40), D("190.00"))
        order.request_cancel("C2")
    elif status is OrdStatus.PENDING_REPLACE:
        order.fill(D(40), D("190.00"))
        order.request_replace("C2", D(150), D("190.05"))
    elif status is OrdStatus.CANCELED:
        order.cancel("canceled by the test")
    elif status is OrdStatus.EXPIRED:
        order.expire()
    else:  # pragma: no cover - REPLACED is an ExecType, never an order's resting status
        raise AssertionError(status)
    assert order.status is status
    return order


REACHABLE = [s for s in OrdStatus if s is not OrdStatus.REPLACED]
LIVE = {
    OrdStatus.NEW,
    OrdStatus.PARTIALLY_FILLED,
    OrdStatus.PENDING_CANCEL,
    OrdStatus.PENDING_REPLACE,
}
DONE = {OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED}

ACTIONS: dict[str, tuple[Callable[[Order], object], set[OrdStatus]]] = {
    "accept": (lambda o: o.accept(), {OrdStatus.PENDING_NEW}),
    "reject": (lambda o: o.reject("no"), {OrdStatus.PENDING_NEW}),
    "fill": (lambda o: o.fill(D(1), D("190.01")), LIVE),
    "request_cancel": (
        lambda o: o.request_cancel("C9"),
        {OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED},
    ),
    "request_replace": (
        lambda o: o.request_replace("C9", D(120), D("190.02")),
        {OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED},
    ),
    "confirm_cancel": (lambda o: o.confirm_cancel(), {OrdStatus.PENDING_CANCEL}),
    "confirm_replace": (lambda o: o.confirm_replace(), {OrdStatus.PENDING_REPLACE}),
    "cancel": (lambda o: o.cancel("kill switch"), LIVE),
    "expire": (lambda o: o.expire(), LIVE),
    "drop_pending": (
        lambda o: o.drop_pending(),
        {OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE},
    ),
}


def expected_status(action: str, before: OrdStatus) -> OrdStatus:
    """Where an allowed transition leads from `before` (order_in's orders have CumQty 40
    when partially filled or pending, so a 1-lot fill never completes them)."""
    fixed = {
        "accept": OrdStatus.NEW,
        "reject": OrdStatus.REJECTED,
        "request_cancel": OrdStatus.PENDING_CANCEL,
        "request_replace": OrdStatus.PENDING_REPLACE,
        "confirm_cancel": OrdStatus.CANCELED,
        "confirm_replace": OrdStatus.PARTIALLY_FILLED,
        "cancel": OrdStatus.CANCELED,
        "expire": OrdStatus.EXPIRED,
        "drop_pending": OrdStatus.PARTIALLY_FILLED,
    }
    if action == "fill":
        pending = (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE)
        return before if before in pending else OrdStatus.PARTIALLY_FILLED
    return fixed[action]


def snapshot(order: Order) -> tuple[object, ...]:
    return (
        order.status,
        order.quantity,
        order.price,
        order.cum_qty,
        order.notional,
        order.cl_ord_id,
        order.orig_cl_ord_id,
        order.pending,
        order.text,
    )


ALLOWED = [(name, s) for name, (_, ok) in ACTIONS.items() for s in REACHABLE if s in ok]
FORBIDDEN = [(name, s) for name, (_, ok) in ACTIONS.items() for s in REACHABLE if s not in ok]


@pytest.mark.parametrize(("action", "status"), ALLOWED, ids=[f"{a}-{s.name}" for a, s in ALLOWED])
def test_allowed_transition_reaches_the_status_fix_prescribes(
    action: str, status: OrdStatus
) -> None:
    order = order_in(status)
    ACTIONS[action][0](order)
    assert order.status is expected_status(action, status)


@pytest.mark.parametrize(
    ("action", "status"), FORBIDDEN, ids=[f"{a}-{s.name}" for a, s in FORBIDDEN]
)
def test_forbidden_transition_raises_and_leaves_order_untouched(
    action: str, status: OrdStatus
) -> None:
    order = order_in(status)
    before = snapshot(order)
    with pytest.raises(InvalidTransition):
        ACTIONS[action][0](order)
    assert snapshot(order) == before


# -- the allowed transitions, one by one -------------------------------------------------------


def test_new_order_starts_pending_new_with_everything_leaves() -> None:
    order = new_order()
    assert order.status is OrdStatus.PENDING_NEW
    assert order.cum_qty == 0
    assert order.leaves_qty == D(100)
    assert order.avg_px == 0
    assert order.is_live is False


def test_accept_makes_the_order_new_and_live() -> None:
    order = order_in(OrdStatus.NEW)
    assert order.is_live
    assert order.leaves_qty == D(100)


def test_reject_keeps_the_text_and_zero_leaves() -> None:
    order = new_order()
    order.reject("unknown account ACC9")
    assert order.status is OrdStatus.REJECTED
    assert order.text == "unknown account ACC9"
    assert order.leaves_qty == 0
    assert not order.is_live


def test_partial_fill_makes_the_order_partially_filled() -> None:
    order = order_in(OrdStatus.NEW)
    order.fill(D(30), D("190.01"))
    assert order.status is OrdStatus.PARTIALLY_FILLED
    assert (order.cum_qty, order.leaves_qty, order.avg_px) == (D(30), D(70), D("190.01"))


def test_fill_of_the_rest_makes_the_order_filled_with_zero_leaves() -> None:
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    order.fill(D(60), D("190.10"))
    assert order.status is OrdStatus.FILLED
    assert order.cum_qty == D(100)
    assert order.leaves_qty == 0


def test_avg_px_is_the_quantity_weighted_mean_of_fills() -> None:
    order = order_in(OrdStatus.NEW)
    order.fill(D(10), D("100.01"))
    order.fill(D(20), D("100.04"))
    order.fill(D(70), D("100.00"))
    assert order.notional == D("10000.90")
    assert order.avg_px == D("100.009")
    assert isinstance(order.avg_px, Decimal)


def test_avg_px_is_rounded_to_eight_places() -> None:
    order = order_in(OrdStatus.NEW)
    order.fill(D(1), D("1"))
    order.fill(D(2), D("2"))
    # 5 / 3 = 1.6666...
    assert order.avg_px == D("1.66666667")


def test_fill_exceeding_leaves_is_refused() -> None:
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    with pytest.raises(InvalidTransition, match="exceeds leaves 60"):
        order.fill(D(61), D("190.00"))
    assert order.cum_qty == D(40)


@pytest.mark.parametrize("quantity", [D(0), D(-1), D("-0.01")])
def test_fill_of_zero_or_negative_quantity_is_refused(quantity: Decimal) -> None:
    order = order_in(OrdStatus.NEW)
    with pytest.raises(InvalidTransition, match="must be > 0"):
        order.fill(quantity, D("190.00"))
    assert order.cum_qty == 0


def test_request_cancel_moves_to_pending_cancel_and_remembers_the_cancel_clordid() -> None:
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    order.request_cancel("C2")
    assert order.status is OrdStatus.PENDING_CANCEL
    assert order.pending == PendingChange(ChangeKind.CANCEL, "C2")
    assert order.cl_ord_id == "C1"
    assert order.leaves_qty == D(60)


def test_confirm_cancel_swaps_clordids_and_keeps_cum_qty() -> None:
    order = order_in(OrdStatus.PENDING_CANCEL)
    order.confirm_cancel()
    assert order.status is OrdStatus.CANCELED
    assert (order.cl_ord_id, order.orig_cl_ord_id) == ("C2", "C1")
    assert order.cum_qty == D(40)
    assert order.leaves_qty == 0
    assert order.pending is None


def test_fill_during_pending_cancel_keeps_pending_cancel_status() -> None:
    order = order_in(OrdStatus.PENDING_CANCEL)
    order.fill(D(10), D("190.00"))
    assert order.status is OrdStatus.PENDING_CANCEL
    assert order.cum_qty + order.leaves_qty == order.quantity


def test_fill_completing_the_order_during_pending_cancel_keeps_pending_cancel() -> None:
    # OrdStatus precedence (FIX 4.4 Vol 4): Pending Cancel > Filled.
    order = order_in(OrdStatus.PENDING_CANCEL)
    order.fill(D(60), D("190.00"))
    assert order.status is OrdStatus.PENDING_CANCEL
    assert (order.cum_qty, order.leaves_qty) == (D(100), D(0))
    # The cancel comes too late: dropped, the order is what its fills imply.
    change = order.drop_pending()
    assert change.cl_ord_id == "C2"
    assert order.status is OrdStatus.FILLED


def test_drop_pending_cancel_returns_to_the_status_fills_imply() -> None:
    order = order_in(OrdStatus.PENDING_CANCEL)
    order.drop_pending()
    assert order.status is OrdStatus.PARTIALLY_FILLED
    assert order.pending is None
    assert order.cl_ord_id == "C1"


def test_drop_pending_without_pending_change_raises() -> None:
    order = order_in(OrdStatus.NEW)
    with pytest.raises(InvalidTransition, match="no pending"):
        order.drop_pending()


def test_replace_below_cum_qty_ends_filled_at_cum_qty() -> None:
    # FIX 4.4 Vol 4 D.11/D.12: the order quantity is amended to CumQty.
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    order.request_replace("C2", D(39), D("190.00"))
    assert order.status is OrdStatus.PENDING_REPLACE
    order.confirm_replace()
    assert (order.status, order.quantity, order.leaves_qty) == (OrdStatus.FILLED, D(40), D(0))


def test_confirm_replace_applies_new_quantity_and_price() -> None:
    order = order_in(OrdStatus.PENDING_REPLACE)
    order.confirm_replace()
    assert order.status is OrdStatus.PARTIALLY_FILLED
    assert (order.quantity, order.price) == (D(150), D("190.05"))
    assert (order.cum_qty, order.leaves_qty) == (D(40), D(110))
    assert (order.cl_ord_id, order.orig_cl_ord_id) == ("C2", "C1")


def test_replace_down_to_cum_qty_fills_the_order() -> None:
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    order.request_replace("C2", D(40), D("190.00"))
    order.confirm_replace()
    assert order.status is OrdStatus.FILLED
    assert order.leaves_qty == 0


def test_fills_overtaking_a_pending_replace_end_the_order_filled_at_cum_qty() -> None:
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    order.request_replace("C2", D(50), D("190.00"))
    order.fill(D(20), D("190.00"))  # CumQty 60 > new OrderQty 50
    assert order.status is OrdStatus.PENDING_REPLACE
    order.confirm_replace()
    assert (order.status, order.quantity, order.leaves_qty) == (OrdStatus.FILLED, D(60), D(0))


def test_replace_to_zero_quantity_is_refused() -> None:
    order = order_in(OrdStatus.NEW)
    with pytest.raises(InvalidTransition):
        order.request_replace("C2", D(0), D("190.00"))
        order.confirm_replace()
    assert order.status is not OrdStatus.FILLED


def test_unsolicited_cancel_clears_a_pending_change_and_keeps_the_text() -> None:
    order = order_in(OrdStatus.PENDING_REPLACE)
    order.cancel("remainder canceled: no venue")
    assert order.status is OrdStatus.CANCELED
    assert order.pending is None
    assert order.text == "remainder canceled: no venue"
    assert order.cum_qty == D(40)


def test_expire_of_a_day_order_says_why() -> None:
    order = order_in(OrdStatus.PARTIALLY_FILLED)
    order.expire()
    assert order.status is OrdStatus.EXPIRED
    assert order.text == "DAY order expired at the close"
    assert order.leaves_qty == 0


@pytest.mark.parametrize("status", sorted(DONE, key=str))
def test_done_orders_report_zero_leaves(status: OrdStatus) -> None:
    order = order_in(status)
    assert order.status.is_done
    assert order.leaves_qty == 0
    assert not order.is_live


# -- property tests ----------------------------------------------------------------------------


@dataclass
class Model:
    """What the test itself expects: the fills it applied, summed exactly."""

    cum: Decimal = ZERO
    notional: Decimal = ZERO


PRICES = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)


def _leaves_fraction(data: st.DataObject, leaves: Decimal) -> Decimal:
    """A quantity in (0, leaves], in hundredths."""
    hundredths = int(leaves * 100)
    return D(data.draw(st.integers(1, hundredths))) / 100


def _step(order: Order, model: Model, data: st.DataObject, n: int) -> None:
    kind = data.draw(
        st.sampled_from(
            [
                "fill",
                "overfill",
                "request_cancel",
                "confirm_cancel",
                "request_replace",
                "replace_below_cum",
                "confirm_replace",
                "drop_pending",
                "cancel",
                "expire",
                "accept",
                "reject",
            ]
        )
    )
    before = snapshot(order)
    was_done = order.status.is_done
    try:
        if kind == "fill":
            leaves = order.leaves_qty
            qty = _leaves_fraction(data, leaves) if leaves > 0 else D(1)
            price = data.draw(PRICES)
            order.fill(qty, price)
            model.cum += qty
            model.notional += qty * price
        elif kind == "overfill":
            order.fill(order.leaves_qty + D("0.01"), D(1))
            raise AssertionError("a fill above LeavesQty was accepted")
        elif kind == "request_cancel":
            order.request_cancel(f"X{n}")
        elif kind == "confirm_cancel":
            order.confirm_cancel()
        elif kind == "request_replace":
            extra = D(data.draw(st.integers(0, 20_000))) / 100
            qty = max(order.cum_qty, D("0.01")) + extra
            order.request_replace(f"R{n}", qty, data.draw(PRICES))
        elif kind == "replace_below_cum":
            # Allowed (FIX 4.4 Vol 4 D.12): confirmed, it ends the order at CumQty.
            if order.cum_qty > D("0.01"):
                order.request_replace(f"R{n}", order.cum_qty - D("0.01"), D(1))
        elif kind == "confirm_replace":
            order.confirm_replace()
        elif kind == "drop_pending":
            order.drop_pending()
        elif kind == "cancel":
            order.cancel("test cancel")
        elif kind == "expire":
            order.expire()
        elif kind == "accept":
            order.accept()
        else:
            order.reject("test reject")
    except InvalidTransition:
        assert snapshot(order) == before, f"{kind} raised but changed the order"
    if was_done:
        assert order.status is before[0], f"{kind} moved a done order out of {before[0]}"
        assert order.cum_qty == before[3]


def _check_invariants(order: Order, model: Model) -> None:
    for value in (order.quantity, order.cum_qty, order.notional, order.leaves_qty, order.avg_px):
        assert isinstance(value, Decimal)
    assert order.cum_qty == model.cum
    assert order.notional == model.notional
    if order.is_live or order.status is OrdStatus.PENDING_NEW:
        assert order.cum_qty + order.leaves_qty == order.quantity
        assert order.leaves_qty >= 0
    else:
        assert order.leaves_qty == 0
    if model.cum:
        assert order.avg_px == (model.notional / model.cum).quantize(AVG_PX_PLACES)
    else:
        assert order.avg_px == 0
    if order.status is OrdStatus.FILLED:
        assert order.cum_qty == order.quantity
    if order.status is OrdStatus.PARTIALLY_FILLED:
        assert 0 < order.cum_qty < order.quantity
    if order.status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE):
        assert order.pending is not None


@settings(max_examples=300, deadline=None)
@given(
    quantity=st.integers(1, 100_000).map(lambda n: D(n) / 100),
    accept_first=st.booleans(),
    data=st.data(),
)
def test_random_event_sequences_keep_the_order_consistent(
    quantity: Decimal, accept_first: bool, data: st.DataObject
) -> None:
    order = new_order(quantity=quantity)
    model = Model()
    if accept_first:
        order.accept()
    steps = data.draw(st.integers(1, 40))
    for n in range(steps):
        _step(order, model, data, n)
        _check_invariants(order, model)


@settings(max_examples=200, deadline=None)
@given(
    status=st.sampled_from(sorted(DONE, key=str)),
    data=st.data(),
)
def test_a_done_order_never_leaves_its_done_state(status: OrdStatus, data: st.DataObject) -> None:
    order = order_in(status)
    model = Model(cum=order.cum_qty, notional=order.notional)
    for n in range(data.draw(st.integers(1, 15))):
        _step(order, model, data, n)
        assert order.status is status
        _check_invariants(order, model)
