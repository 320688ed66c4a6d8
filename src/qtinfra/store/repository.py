"""Reading state back: what the gateway rebuilds on start."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Engine, func, select

from qtinfra.domain.child_orders import ChildOrder
from qtinfra.domain.commands import Party
from qtinfra.domain.orders import ChangeKind, Order, PendingChange
from qtinfra.domain.values import Instrument, OrdStatus, OrdType, Side, TimeInForce
from qtinfra.store.models import (
    ChildOrderRow,
    ClOrdIdRow,
    ExecutionRow,
    JournalRow,
    OrderRow,
    SessionProgressRow,
)

log = structlog.get_logger(__name__)

_OPEN = [s.value for s in OrdStatus if not s.is_done]
_CHUNK = 500  # ids per IN (...) list
_STREAM = 10_000  # rows per fetch of a streamed read


@dataclass
class RestoredState:
    orders: list[Order]
    children: list[ChildOrder]
    cl_ord_ids: list[tuple[str, str, str]]


def load_state(
    engine: Engine,
    instruments: Mapping[str, Instrument],
    done_since: datetime | None = None,
    done_limit: int | None = None,
) -> RestoredState:
    """Open orders with their children (and the venue ExecIDs already booked on them, so a
    resent fill is not booked twice), the orders done since `done_since` (the newest
    `done_limit` of them; every done order when done_since is None), and the ClOrdIDs of
    the orders loaded. Older orders stay in the database (OrderHistory reads them)."""
    with engine.connect() as conn:
        order_rows = list(conn.execute(select(OrderRow).where(OrderRow.status.in_(_OPEN))))
        done = select(OrderRow).where(OrderRow.status.not_in(_OPEN))
        if done_since is not None:
            done = done.where(OrderRow.updated_at >= done_since)
        done = done.order_by(OrderRow.updated_at.desc())
        if done_limit is not None:
            done = done.limit(done_limit)
        order_rows += reversed(conn.execute(done).all())  # oldest first: evicted first
        child_rows = conn.execute(
            select(ChildOrderRow).where(ChildOrderRow.status.in_(_OPEN))
        ).all()
        loaded = [r.order_id for r in order_rows]
        cl_rows: list[Any] = []
        for start in range(0, len(loaded), _CHUNK):
            cl_rows += conn.execute(
                select(ClOrdIdRow).where(ClOrdIdRow.order_id.in_(loaded[start : start + _CHUNK]))
            ).all()
        child_ids = [r.child_id for r in child_rows]
        exec_ids: dict[str, set[str]] = {}
        if child_ids:
            for row in conn.execute(
                select(ExecutionRow.child_id, ExecutionRow.venue_exec_id).where(
                    ExecutionRow.child_id.in_(child_ids)
                )
            ):
                exec_ids.setdefault(row.child_id, set()).add(row.venue_exec_id)

    orders = []
    for r in order_rows:
        order = _order(r, instruments)
        if order is not None:
            orders.append(order)
    children = [
        ChildOrder(
            child_id=r.child_id,
            order_id=r.order_id,
            venue=r.venue,
            side=Side(r.side),
            ord_type=OrdType(r.ord_type),
            time_in_force=TimeInForce(r.time_in_force),
            quantity=r.quantity,
            price=r.price,
            created_at=r.created_at,
            status=OrdStatus(r.status),
            cum_qty=r.cum_qty,
            notional=r.notional,
            venue_order_id=r.venue_order_id,
            cancel_requested=r.cancel_requested,
            exec_ids=exec_ids.get(r.child_id, set()),
        )
        for r in child_rows
    ]
    cl_ord_ids = [(r.session, r.cl_ord_id, r.order_id) for r in cl_rows]
    return RestoredState(orders, children, cl_ord_ids)


class OrderHistory:
    """The orders the order manager no longer holds in memory (done before today, or
    pushed out by newer ones), read back when a client names one: a ClOrdID used before, a
    status request, a cancel of an order long done. The database's unique index on
    (session, ClOrdID) is the duplicate check of last resort."""

    def __init__(self, engine: Engine, instruments: Mapping[str, Instrument]) -> None:
        self.engine = engine
        self.instruments = instruments

    def order_id_of(self, session: str, cl_ord_id: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(ClOrdIdRow.order_id).where(
                    ClOrdIdRow.session == session, ClOrdIdRow.cl_ord_id == cl_ord_id
                )
            ).scalar()
        return None if found is None else str(found)

    def order(self, order_id: str) -> Order | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(OrderRow).where(OrderRow.order_id == order_id)).first()
        return None if row is None else _order(row, self.instruments)

    def cl_ord_ids(self) -> Iterator[tuple[str, str]]:
        """Every (session, ClOrdID) ever used, streamed (memory stays flat)."""
        with self.engine.connect() as conn:
            rows = conn.execution_options(yield_per=_STREAM).execute(
                select(ClOrdIdRow.session, ClOrdIdRow.cl_ord_id)
            )
            for r in rows:
                yield (str(r.session), str(r.cl_ord_id))


def _order(r: Any, instruments: Mapping[str, Instrument]) -> Order | None:
    """The Order of an `orders` row (None, logged, if its instrument is no longer known)."""
    instrument = instruments.get(r.symbol)
    if instrument is None:
        log.error("restore_unknown_instrument", order_id=r.order_id, symbol=r.symbol)
        return None
    pending = (
        PendingChange(
            ChangeKind(r.pending_kind), r.pending_cl_ord_id, r.pending_quantity, r.pending_price
        )
        if r.pending_kind
        else None
    )
    return Order(
        order_id=r.order_id,
        session=r.session,
        cl_ord_id=r.cl_ord_id,
        instrument=instrument,
        side=Side(r.side),
        ord_type=OrdType(r.ord_type),
        time_in_force=TimeInForce(r.time_in_force),
        quantity=r.quantity,
        price=r.price,
        account=r.account,
        created_at=r.created_at,
        status=OrdStatus(r.status),
        cum_qty=r.cum_qty,
        notional=r.notional,
        orig_cl_ord_id=r.orig_cl_ord_id,
        pending=pending,
        text=r.text,
        decision_maker=_party(
            r.decision_maker_id, r.decision_maker_source, 122, r.decision_maker_qualifier
        ),
        executing_trader=_party(
            r.executing_trader_id,
            r.executing_trader_source,
            12,
            r.executing_trader_qualifier,
        ),
        order_capacity=r.order_capacity,
        ex_destination=r.ex_destination,
    )


def _party(
    party_id: str | None, source: str | None, role: int, qualifier: int | None
) -> Party | None:
    return None if party_id is None else Party(party_id, source, role, qualifier)


@dataclass(frozen=True)
class BookedFill:
    """A fill booked on a client order, for rebuilding risk exposure."""

    account: str
    symbol: str
    buy: bool
    quantity: Decimal
    price: Decimal
    transact_time: datetime


def load_fills(engine: Engine, since: datetime) -> list[BookedFill]:
    """Every fill booked since `since` (UTC), with its order's account, symbol and side."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                OrderRow.account,
                OrderRow.symbol,
                OrderRow.side,
                ExecutionRow.quantity,
                ExecutionRow.price,
                ExecutionRow.transact_time,
            )
            .join(OrderRow, OrderRow.order_id == ExecutionRow.order_id)
            .where(ExecutionRow.transact_time >= since)
        ).all()
    return [
        BookedFill(
            r.account or "",
            r.symbol,
            r.side == Side.BUY.value,
            r.quantity,
            r.price,
            r.transact_time,
        )
        for r in rows
    ]


def load_events(engine: Engine, kind: str) -> list[dict[str, Any]]:
    """The journaled events of one kind, oldest first (JSON payloads decoded)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.payload).where(JournalRow.kind == kind).order_by(JournalRow.seq)
        ).all()
    return [json.loads(r.payload) for r in rows]


def first_journal_day(engine: Engine) -> date | None:
    """The UTC date of the journal's first row (None: the journal is empty)."""
    with engine.connect() as conn:
        first = conn.execute(select(func.min(JournalRow.ts))).scalar()
    if first is None:
        return None
    if isinstance(first, str):  # a bare aggregate on SQLite comes back as text
        first = datetime.fromisoformat(first)
    return (first if first.tzinfo else first.replace(tzinfo=UTC)).astimezone(UTC).date()


def inbound_progress(engine: Engine) -> dict[str, int]:
    """Each FIX session's next expected inbound MsgSeqNum as of the last group commit."""
    with engine.connect() as conn:
        rows = conn.execute(select(SessionProgressRow.session, SessionProgressRow.next_in))
        return {str(r.session): int(r.next_in) for r in rows}


def journal_after(
    engine: Engine, seq: int, kinds: Iterable[str]
) -> list[tuple[int, datetime, str, str]]:
    """(seq, ts, kind, payload) of the journal rows after `seq` of the given kinds, in
    order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JournalRow.seq, JournalRow.ts, JournalRow.kind, JournalRow.payload)
            .where(JournalRow.seq > seq, JournalRow.kind.in_(list(kinds)))
            .order_by(JournalRow.seq)
        ).all()
    return [(int(r.seq), r.ts, str(r.kind), str(r.payload)) for r in rows]
