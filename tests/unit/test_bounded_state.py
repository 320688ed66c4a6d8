"""Memory does not grow with history: with a history to read back from, the order manager
holds open orders and only the newest done ones; an older order is still found, by ClOrdID
(a duplicate, a cancel) or OrderID (a status request), from the history, and a ClOrdID
never used does not cost a read."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal

from qtinfra.domain.commands import StatusRequest, VenueSessionStatus
from qtinfra.domain.events import CancelRejected, ExecutionReport
from qtinfra.domain.orders import Order
from qtinfra.domain.values import CxlRejReason, ExecType, OrdRejReason, OrdStatus, Side
from qtinfra.oms.manager import OrderManager, Outbox
from tests.unit.test_manager import (
    AAPL,
    FEES,
    JPM,
    MICS,
    NOW,
    S1,
    SHEL,
    VENUES,
    cancel,
    fill,
    new,
    venue_report,
)

D = Decimal


class FakeHistory:
    """What the database would hold: every order and ClOrdID as last committed."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.cl_ord_id_rows: dict[tuple[str, str], str] = {}
        self.reads = 0

    def commit(self, out: Outbox) -> None:
        for order_id, order in out.orders.items():
            self.orders[order_id] = copy.copy(order)
        for session, cl_ord_id, order_id in out.cl_ord_ids:
            self.cl_ord_id_rows[(session, cl_ord_id)] = order_id

    def order_id_of(self, session: str, cl_ord_id: str) -> str | None:
        self.reads += 1
        return self.cl_ord_id_rows.get((session, cl_ord_id))

    def order(self, order_id: str) -> Order | None:
        self.reads += 1
        found = self.orders.get(order_id)
        return copy.copy(found) if found is not None else None

    def cl_ord_ids(self) -> Iterator[tuple[str, str]]:
        yield from self.cl_ord_id_rows


def make(history: FakeHistory, recent_done: int = 3) -> OrderManager:
    m = OrderManager(
        [AAPL, JPM, SHEL], FEES, MICS, lambda: NOW, "QT", history=history, recent_done=recent_done
    )
    m.restore([], [], [])
    for venue in VENUES:
        m.handle(VenueSessionStatus(venue, True))
    history.commit(m.take_outbox())
    return m


def filled_order(m: OrderManager, history: FakeHistory, cl_ord_id: str) -> str:
    """Book an order, fill it completely at its venue, commit each step; its OrderID."""
    m.handle(new(cl_ord_id, "10"))
    out = m.take_outbox()
    history.commit(out)
    report = next(e for e in out.events if isinstance(e, ExecutionReport))
    for child in list(m.children_of[report.order_id]):
        history.commit(fill(m, child.child_id, str(child.quantity), "190.00"))
    return report.order_id


def handled(m: OrderManager, history: FakeHistory, command: object) -> Outbox:
    m.handle(command)  # type: ignore[arg-type]
    out = m.take_outbox()
    history.commit(out)
    return out


def test_done_orders_beyond_the_newest_leave_memory_clordids_with_them() -> None:
    history = FakeHistory()
    m = make(history, recent_done=3)
    ids = [filled_order(m, history, f"C{i}") for i in range(10)]
    assert list(m.done_orders) == ids[-3:]
    assert m.orders == {} and m.children == {}
    assert {cl for (_, cl) in m.by_cl_ord_id} == {"C7", "C8", "C9"}
    assert set(m.cl_ord_ids_of) == set(ids[-3:])


def test_an_evicted_orders_clordid_is_still_a_duplicate() -> None:
    history = FakeHistory()
    m = make(history)
    first = filled_order(m, history, "C0")
    for i in range(1, 6):
        filled_order(m, history, f"C{i}")
    assert first not in m.done_orders
    out = handled(m, history, new("C0", "10"))
    [report] = [e for e in out.events if isinstance(e, ExecutionReport)]
    assert (report.exec_type, report.ord_rej_reason) == (
        ExecType.REJECTED,
        OrdRejReason.DUPLICATE_ORDER,
    )
    assert (report.order_id, report.ord_status, report.cum_qty) == (
        first,
        OrdStatus.FILLED,
        D("10"),
    )
    assert out.new_orders == set()  # nothing booked


def test_status_of_an_evicted_order_comes_from_the_history() -> None:
    history = FakeHistory()
    m = make(history)
    first = filled_order(m, history, "C0")
    for i in range(1, 6):
        filled_order(m, history, f"C{i}")
    for request in (
        StatusRequest(S1, "C0", None, "AAPL", Side.BUY),
        StatusRequest(S1, None, first, "AAPL", Side.BUY),
    ):
        out = handled(m, history, request)
        [report] = [e for e in out.events if isinstance(e, ExecutionReport)]
        assert (report.order_id, report.ord_status, report.exec_type) == (
            first,
            OrdStatus.FILLED,
            ExecType.ORDER_STATUS,
        )
        assert report.avg_px == D("190")


def test_a_cancel_of_an_evicted_order_is_too_late() -> None:
    history = FakeHistory()
    m = make(history)
    first = filled_order(m, history, "C0")
    for i in range(1, 6):
        filled_order(m, history, f"C{i}")
    out = handled(m, history, cancel("X0", "C0"))
    [reject] = [e for e in out.events if isinstance(e, CancelRejected)]
    assert (reject.order_id, reject.reason, reject.ord_status) == (
        first,
        CxlRejReason.TOO_LATE_TO_CANCEL,
        OrdStatus.FILLED,
    )


def test_a_clordid_never_used_costs_no_read_of_the_history() -> None:
    history = FakeHistory()
    m = make(history, recent_done=1000)
    for i in range(200):
        filled_order(m, history, f"N{i}")
    # 0.1% false positives: 200 fresh ClOrdIDs may cost a read or two, never most.
    assert history.reads < 5


def test_a_restart_fills_the_filter_from_the_history() -> None:
    history = FakeHistory()
    m = make(history)
    first = filled_order(m, history, "C0")
    again = OrderManager([AAPL], FEES, MICS, lambda: NOW, "QU", history=history, recent_done=3)
    again.restore([], [], [])  # as load_state would give it: nothing done today in memory
    again.handle(new("C0", "10"))
    out = again.take_outbox()
    [report] = [e for e in out.events if isinstance(e, ExecutionReport)]
    assert (report.order_id, report.ord_rej_reason) == (first, OrdRejReason.DUPLICATE_ORDER)


def test_an_order_done_this_round_stays_until_committed() -> None:
    history = FakeHistory()
    m = make(history, recent_done=1)
    placed = []
    for cl in ("A", "B"):
        out = handled(m, history, new(cl, "10"))
        placed.append(next(e for e in out.events if isinstance(e, ExecutionReport)).order_id)
    for order_id in placed:  # one round: both fills, nothing committed in between
        [child] = m.children_of[order_id]
        m.handle(
            venue_report(
                m, child.child_id, ExecType.TRADE, OrdStatus.FILLED, last_qty="10", last_px="190"
            )
        )
    assert list(m.done_orders) == placed  # over the limit: neither is in the database yet
    history.commit(m.take_outbox())
    last = filled_order(m, history, "C")
    assert list(m.done_orders) == [last]
