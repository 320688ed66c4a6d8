"""The store on SQLite and PostgreSQL: schema, group commit before release, exact
Decimals, UTC microsecond timestamps, and rebuilding open orders after a restart."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select

from qtinfra.domain.commands import NewOrder, VenueExecution, VenueSessionStatus
from qtinfra.domain.values import (
    ExecType,
    Instrument,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from qtinfra.errors import StorageError
from qtinfra.oms.manager import OrderManager, Outbox
from qtinfra.oms.sequencer import batch_from_outbox
from qtinfra.store.db import make_engine, migrate
from qtinfra.store.journal import JournalWriter, PersistBatch
from qtinfra.store.models import ChildOrderRow, ClOrdIdRow, ExecutionRow, JournalRow, OrderRow
from qtinfra.store.repository import load_state

D = Decimal
NOW = datetime(2025, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)
S1 = "FIX.4.4:QTGW->CLIENT1"
AAPL = Instrument(
    "AAPL", "US0378331005", "USD", D("0.01"), D("1"), D("190.00"), ("CBOE", "TRQ", "AQX")
)
INSTRUMENTS = {"AAPL": AAPL}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def other_engine(db_url: str, engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database: what another process would see."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


class Failures:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.event = threading.Event()

    def __call__(self, exc: BaseException) -> None:
        self.errors.append(exc)
        self.event.set()


@pytest.fixture
def writer(engine: Engine) -> Iterator[tuple[JournalWriter, Failures]]:
    failures = Failures()
    w = JournalWriter(engine, lambda: NOW, failures)
    yield w, failures
    w.close()


def manager() -> OrderManager:
    m = OrderManager(
        [AAPL],
        {"CBOE": D("0.30")},
        {"CBOE": "CEUX", "TRQ": "TRQX", "AQX": "AQXE"},
        lambda: NOW,
        "QT",
    )
    m.handle(VenueSessionStatus("CBOE", True))
    m.take_outbox()
    return m


def new_order(cl_ord_id: str = "C1", quantity: str = "100", price: str = "190.00") -> NewOrder:
    return NewOrder(
        S1,
        cl_ord_id,
        "AAPL",
        None,
        Side.BUY,
        OrdType.LIMIT,
        TimeInForce.DAY,
        D(quantity),
        D(price),
        "ACC1",
    )


def venue_fill(child_id: str, qty: str, px: str, cum: str, exec_id: str) -> VenueExecution:
    return VenueExecution(
        "CBOE",
        "CEUX",
        child_id,
        None,
        "V-1",
        exec_id,
        ExecType.TRADE,
        OrdStatus.PARTIALLY_FILLED,
        D(qty),
        D(px),
        D(cum),
        D(100) - D(cum),
        D("0.0171"),
        None,
        NOW,
    )


def commit(
    writer: JournalWriter, outbox: Outbox, release: Callable[[], None] | None = None
) -> None:
    writer.write([batch_from_outbox(outbox, NOW, release)])


def rows(engine: Engine, model: type[Any]) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(model)).all())


# -- schema ------------------------------------------------------------------------------------


def test_migrate_creates_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"journal", "orders", "child_orders", "executions", "cl_ord_ids"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("orders")}
    assert {"order_id", "cum_qty", "notional", "pending_kind", "updated_at"} <= columns


def test_migrate_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    assert "journal" in inspect(engine).get_table_names()


# -- group commit, then release ----------------------------------------------------------------


def test_accepted_order_is_committed_before_it_is_released(
    writer: tuple[JournalWriter, Failures], engine: Engine, other_engine: Engine
) -> None:
    w, failures = writer
    m = manager()
    m.handle(new_order())
    outbox = m.take_outbox()
    seen: dict[str, Any] = {}

    def release() -> None:
        # Runs on the writer thread after the commit: another connection sees the rows.
        seen["orders"] = rows(other_engine, OrderRow)
        seen["children"] = rows(other_engine, ChildOrderRow)
        seen["journal"] = rows(other_engine, JournalRow)
        seen["cl_ord_ids"] = rows(other_engine, ClOrdIdRow)

    commit(w, outbox, release)
    assert not failures.errors
    [order] = seen["orders"]
    assert (order.order_id, order.cl_ord_id, order.status, order.quantity, order.price) == (
        "QT1",
        "C1",
        OrdStatus.NEW.value,
        D(100),
        D("190.00"),
    )
    assert (order.session, order.account, order.symbol) == (S1, "ACC1", "AAPL")
    [child] = seen["children"]
    assert (child.order_id, child.venue, child.quantity, child.status) == (
        "QT1",
        "CBOE",
        D(100),
        OrdStatus.PENDING_NEW.value,
    )
    assert [(r.session, r.cl_ord_id, r.order_id) for r in seen["cl_ord_ids"]] == [(S1, "C1", "QT1")]
    kinds = [r.kind for r in seen["journal"]]
    assert kinds == ["ExecutionReport", "ChildOrderSent"]
    report = json.loads(seen["journal"][0].payload)
    assert (report["ord_status"], report["leaves_qty"], report["cl_ord_id"]) == ("0", "100", "C1")
    assert seen["journal"][0].order_id == "QT1"
    assert seen["journal"][0].session == S1
    assert seen["journal"][1].session == "CBOE"


def test_fills_update_the_order_and_write_execution_rows(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    w, failures = writer
    m = manager()
    m.handle(new_order())
    commit(w, m.take_outbox())
    child_id = next(iter(m.children))
    m.handle(venue_fill(child_id, "30", "190.01", "30", "CBOE-E1"))
    m.handle(venue_fill(child_id, "20", "190.02", "50", "CBOE-E2"))
    commit(w, m.take_outbox())
    assert not failures.errors

    [order] = rows(engine, OrderRow)
    assert (order.status, order.cum_qty, order.notional) == (
        OrdStatus.PARTIALLY_FILLED.value,
        D(50),
        D("9500.70"),
    )
    assert order.updated_at == NOW
    [child] = rows(engine, ChildOrderRow)
    assert (child.cum_qty, child.status, child.venue_order_id) == (
        D(50),
        OrdStatus.PARTIALLY_FILLED.value,
        "V-1",
    )
    executions = sorted(rows(engine, ExecutionRow), key=lambda r: r.venue_exec_id)
    assert [(e.venue_exec_id, e.quantity, e.price, e.mic) for e in executions] == [
        ("CBOE-E1", D(30), D("190.01"), "CEUX"),
        ("CBOE-E2", D(20), D("190.02"), "CEUX"),
    ]
    assert all(e.commission == D("0.0171") and e.transact_time == NOW for e in executions)


def test_many_batches_waiting_are_committed_together_and_released_in_order(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    w, failures = writer
    m = manager()
    released: list[int] = []
    batches = []
    for n in range(20):
        m.handle(new_order(f"C{n}"))
        batches.append(batch_from_outbox(m.take_outbox(), NOW, lambda n=n: released.append(n)))
    w.write(batches)
    assert not failures.errors
    assert released == list(range(20))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OrderRow)).scalar_one() == 20
        assert conn.execute(select(func.count()).select_from(JournalRow)).scalar_one() == 40
    assert w.commits <= 21


def test_recorded_messages_are_written_with_the_next_commit(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    w, _ = writer
    raw = "8=FIX.4.4\x0135=D\x0111=C1\x0110=000\x01"
    w.record_message("fix.in", S1, raw, NOW)
    w.record("logon.refused", "invalid Username (553) or Password (554)", S1)
    w.write([])
    journal = sorted(rows(engine, JournalRow), key=lambda r: r.seq)
    assert [(r.kind, r.session, r.payload) for r in journal] == [
        ("fix.in", S1, raw),
        ("logon.refused", S1, "invalid Username (553) or Password (554)"),
    ]
    assert journal[0].seq < journal[1].seq


def test_a_failing_commit_reports_the_failure_and_releases_nothing(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    w, failures = writer
    m = manager()
    m.handle(new_order())
    outbox = m.take_outbox()
    commit(w, outbox)
    released = threading.Event()
    # The same new order again: its primary key is taken, so the transaction fails.
    w.write([batch_from_outbox(outbox, NOW, released.set)])
    assert failures.event.wait(20)
    assert isinstance(failures.errors[0], StorageError)
    assert "journal commit failed" in str(failures.errors[0])
    assert not released.wait(0.5)
    assert w.failed is not None
    # Nothing of the failed batch is in the database (one journal pair from the first).
    assert len(rows(engine, JournalRow)) == 2
    # A failed writer releases nothing more.
    later = threading.Event()
    w.write([PersistBatch(release=later.set)])
    assert not later.is_set()


# -- exactness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        D("0.1") + D("0.2"),
        D("1234567890.123456789012345678"),  # 28 significant digits
        D("0.0000000000000000000000000001"),
        D("190.01"),
        D("99999999999999999999.99999999"),
        D("0"),
    ],
)
def test_decimals_round_trip_exactly(
    writer: tuple[JournalWriter, Failures], engine: Engine, value: Decimal
) -> None:
    w, failures = writer
    m = manager()
    m.handle(new_order())
    outbox = m.take_outbox()
    order = outbox.orders["QT1"]
    order.notional = value
    order.cum_qty = value
    commit(w, outbox)
    assert not failures.errors
    [row] = rows(engine, OrderRow)
    assert isinstance(row.notional, Decimal)
    assert row.notional == value
    assert row.cum_qty == value
    assert str(row.notional).rstrip("0") == str(value).rstrip("0") or value == 0


@pytest.mark.parametrize(
    "moment",
    [
        NOW,
        datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 3, 30, 2, 30, 0, 1, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_timestamps_round_trip_in_utc_with_microseconds(
    writer: tuple[JournalWriter, Failures], engine: Engine, moment: datetime
) -> None:
    w, _ = writer
    w.record_message("fix.in", S1, "raw", moment)
    w.write([])
    [row] = rows(engine, JournalRow)
    assert row.ts == moment
    assert row.ts.utcoffset() == timedelta(0)
    assert row.ts.microsecond == moment.microsecond


def test_naive_timestamps_are_refused(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    w, failures = writer
    w.record_message("fix.in", S1, "raw", datetime(2025, 1, 2, 9, 30))
    w.write([PersistBatch()])
    assert failures.event.wait(20)
    assert "naive datetime" in str(failures.errors[0])


# -- restart -----------------------------------------------------------------------------------


def test_load_state_rebuilds_open_orders_children_and_booked_exec_ids(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    w, failures = writer
    m = manager()
    m.handle(new_order("C1"))
    m.handle(new_order("C2", quantity="10"))
    commit(w, m.take_outbox())
    child_id = next(c.child_id for c in m.children.values() if c.order_id == "QT1")
    done_child = next(c.child_id for c in m.children.values() if c.order_id == "QT2")
    m.handle(venue_fill(child_id, "30", "190.01", "30", "CBOE-E1"))
    m.handle(
        VenueExecution(
            "CBOE",
            "CEUX",
            done_child,
            None,
            "V-2",
            "CBOE-E9",
            ExecType.TRADE,
            OrdStatus.FILLED,
            D(10),
            D("189.99"),
            D(10),
            D(0),
            None,
            None,
            NOW,
        )
    )
    commit(w, m.take_outbox())
    assert not failures.errors

    state = load_state(engine, INSTRUMENTS)
    by_id = {o.order_id: o for o in state.orders}
    order = by_id["QT1"]
    assert (order.status, order.quantity, order.price, order.cum_qty, order.notional) == (
        OrdStatus.PARTIALLY_FILLED,
        D(100),
        D("190.00"),
        D(30),
        D("5700.30"),
    )
    assert (order.cl_ord_id, order.account, order.instrument) == ("C1", "ACC1", AAPL)
    assert order.created_at == NOW
    assert order.leaves_qty == D(70)
    assert by_id["QT2"].status is OrdStatus.FILLED

    [child] = state.children  # only open children come back
    assert (child.child_id, child.order_id, child.venue, child.cum_qty) == (
        child_id,
        "QT1",
        "CBOE",
        D(30),
    )
    assert child.exec_ids == {"CBOE-E1"}
    assert child.status is OrdStatus.PARTIALLY_FILLED
    assert sorted(state.cl_ord_ids) == [(S1, "C1", "QT1"), (S1, "C2", "QT2")]

    # A restarted manager does not book the resent fill twice and still refuses C1.
    m2 = OrderManager([AAPL], {}, {"CBOE": "CEUX"}, lambda: NOW, "QU")
    m2.restore(state.orders, state.children, state.cl_ord_ids)
    m2.handle(venue_fill(child_id, "30", "190.01", "30", "CBOE-E1"))
    assert not m2.take_outbox()
    m2.handle(venue_fill(child_id, "70", "190.00", "100", "CBOE-E2"))
    out = m2.take_outbox()
    [report] = out.events
    assert (report.ord_status, report.cum_qty) == (OrdStatus.FILLED, D(100))  # type: ignore[union-attr]


def test_load_state_restores_a_pending_cancel(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    from qtinfra.domain.commands import CancelOrder

    w, _ = writer
    m = manager()
    m.handle(new_order())
    m.handle(CancelOrder(S1, "C2", "C1", None, "AAPL", Side.BUY))
    commit(w, m.take_outbox())
    [order] = load_state(engine, INSTRUMENTS).orders
    assert order.status is OrdStatus.PENDING_CANCEL
    assert order.pending is not None and order.pending.cl_ord_id == "C2"
    [child] = load_state(engine, INSTRUMENTS).children
    assert child.cancel_requested is True


def test_load_state_of_an_empty_database_is_empty(engine: Engine) -> None:
    state = load_state(engine, INSTRUMENTS)
    assert (state.orders, state.children, state.cl_ord_ids) == ([], [], [])


def test_every_commit_records_each_sessions_next_inbound_number_when_it_moved(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    from qtinfra.store.repository import inbound_progress

    w, failures = writer
    numbers = {"FIX.4.4:QTGW->CLIENT1": 7, "FIX.4.4:QTGW->CBOE": 3}
    w.progress = lambda: dict(numbers)
    w.record("session.logon", "x", "FIX.4.4:QTGW->CLIENT1")
    w.write([])
    assert inbound_progress(engine) == numbers
    numbers["FIX.4.4:QTGW->CLIENT1"] = 12
    w.record("session.logon", "y", "FIX.4.4:QTGW->CLIENT1")
    w.write([])
    assert inbound_progress(engine)["FIX.4.4:QTGW->CLIENT1"] == 12
    assert not failures.errors


def test_the_release_mark_follows_each_commit_after_its_release(
    writer: tuple[JournalWriter, Failures], engine: Engine
) -> None:
    from sqlalchemy import text as sql

    w, _ = writer
    w.open()
    w.record("session.logon", "a", "S")
    w.write([])  # committed and (nothing to) released: the next commit moves the mark
    w.record("session.logon", "b", "S")
    w.write([])
    with engine.connect() as conn:
        mark = conn.execute(sql("SELECT seq FROM journal_release WHERE id = 1")).scalar_one()
        head = conn.execute(sql("SELECT max(seq) FROM journal")).scalar_one()
    assert 1 <= mark < head  # one commit behind: what the last commit released is not yet marked
