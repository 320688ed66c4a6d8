"""The journal writer: group commit, then release.

The sequencer hands it one PersistBatch per poll round (`write`, on the gateway's event
loop). Every batch is committed in one transaction with the FIX messages recorded since
the last commit (many events per commit), and only after that commit does each batch's
release callback send the FIX messages the events cause. After a crash, what any
counterparty was told is therefore in the database.

FIX messages seen by the sessions (in and out, admin too) are recorded with `record_message`
and written in the next transaction.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import structlog
from sqlalchemy import Engine

from qtinfra.domain.events import Event
from qtinfra.domain.orders import Order
from qtinfra.errors import StorageError
from qtinfra.oms.manager import ChildOrder, Outbox
from qtinfra.ops.metrics import JOURNAL_BATCH, JOURNAL_COMMITS
from qtinfra.store.models import ChildOrderRow, ClOrdIdRow, ExecutionRow, OrderRow
from qtinfra.store.types import ExactDecimal, UTCDateTime

log = structlog.get_logger(__name__)


def _orjson_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot journal {type(value).__name__}")


def event_payload(event: Event) -> str:
    """Canonical JSON of an event: its fields in declaration order, Decimals as plain
    strings, enumerations as their FIX codes, timestamps in ISO 8601 UTC (orjson encodes
    the dataclass directly)."""
    return orjson.dumps(event, default=_orjson_default).decode()


def order_row(order: Order) -> dict[str, Any]:
    pending = order.pending
    dm, et = order.decision_maker, order.executing_trader
    return {
        "order_id": order.order_id,
        "session": order.session,
        "cl_ord_id": order.cl_ord_id,
        "orig_cl_ord_id": order.orig_cl_ord_id,
        "account": order.account,
        "symbol": order.instrument.symbol,
        "side": order.side.value,
        "ord_type": order.ord_type.value,
        "time_in_force": order.time_in_force.value,
        "quantity": order.quantity,
        "price": order.price,
        "status": order.status.value,
        "cum_qty": order.cum_qty,
        "notional": order.notional,
        "pending_kind": pending.kind.value if pending else None,
        "pending_cl_ord_id": pending.cl_ord_id if pending else None,
        "pending_quantity": pending.quantity if pending else None,
        "pending_price": pending.price if pending else None,
        "text": order.text,
        "created_at": order.created_at,
        "decision_maker_id": dm.party_id if dm else None,
        "decision_maker_source": dm.source if dm else None,
        "decision_maker_qualifier": dm.qualifier if dm else None,
        "executing_trader_id": et.party_id if et else None,
        "executing_trader_source": et.source if et else None,
        "executing_trader_qualifier": et.qualifier if et else None,
        "order_capacity": order.order_capacity,
        "ex_destination": order.ex_destination,
    }


def child_row(child: ChildOrder) -> dict[str, Any]:
    return {
        "child_id": child.child_id,
        "order_id": child.order_id,
        "venue": child.venue,
        "venue_order_id": child.venue_order_id,
        "side": child.side.value,
        "ord_type": child.ord_type.value,
        "time_in_force": child.time_in_force.value,
        "quantity": child.quantity,
        "price": child.price,
        "status": child.status.value,
        "cum_qty": child.cum_qty,
        "notional": child.notional,
        "cancel_requested": child.cancel_requested,
        "created_at": child.created_at,
    }


@dataclass(slots=True)
class PersistBatch:
    """Rows to write in one group commit, and what to release once they are durable."""

    journal: list[dict[str, Any]] = field(default_factory=list)
    new_orders: list[dict[str, Any]] = field(default_factory=list)
    changed_orders: list[dict[str, Any]] = field(default_factory=list)
    new_children: list[dict[str, Any]] = field(default_factory=list)
    changed_children: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    cl_ord_ids: list[dict[str, Any]] = field(default_factory=list)
    release: Callable[[], None] | None = None


def batch_from_outbox(
    outbox: Outbox, now: datetime, release: Callable[[], None] | None
) -> PersistBatch:
    """Snapshot what the order manager changed. Runs on the sequencer thread, which owns
    the objects; the writer thread only sees the plain rows."""
    batch = PersistBatch(release=release)
    for event in outbox.events:
        batch.journal.append(
            {
                "ts": now,
                "kind": type(event).__name__,
                "session": getattr(event, "session", None) or getattr(event, "venue", None),
                "order_id": getattr(event, "order_id", None),
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


def _sqlite_time(value: datetime) -> str:
    """A UTC timestamp as SQLAlchemy's SQLite DateTime stores it: naive ISO text with
    microseconds."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every qtinfra timestamp is timezone-aware UTC")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass(frozen=True)
class _Table:
    """Pre-built DBAPI statements for one table: the hot path goes straight to the driver's
    executemany, without SQLAlchemy's per-row statement machinery. Decimal and timestamp
    columns are converted the way the column types (store/types.py) would."""

    name: str
    columns: tuple[str, ...]
    key: str
    decimals: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset()

    def insert(self, mark: str) -> str:
        return (
            f"INSERT INTO {self.name} ({', '.join(self.columns)}) "
            f"VALUES ({', '.join(mark for _ in self.columns)})"
        )

    def update(self, mark: str) -> str:
        sets = ", ".join(f"{c} = {mark}" for c in self.columns if c != self.key)
        return f"UPDATE {self.name} SET {sets} WHERE {self.key} = {mark}"

    def params(self, sqlite: bool, update: bool) -> Callable[[dict[str, Any]], list[Any]]:
        """row -> statement parameters (for an UPDATE the key goes last)."""
        order = (
            [c for c in self.columns if c != self.key] + [self.key]
            if update
            else list(self.columns)
        )
        decimals = [i for i, c in enumerate(order) if c in self.decimals]
        times = [i for i, c in enumerate(order) if c in self.times]

        def convert(row: dict[str, Any]) -> list[Any]:
            values = [row[c] for c in order]
            for i in times:
                value = values[i]
                if value is not None:
                    values[i] = _sqlite_time(value) if sqlite else _aware(value)
            if sqlite:
                for i in decimals:
                    value = values[i]
                    if value is not None:
                        values[i] = str(value)
            return values

        return convert


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: every qtinfra timestamp is timezone-aware UTC")
    return value


def _table(model: Any, key: str) -> _Table:
    columns = model.__table__.columns
    return _Table(
        model.__tablename__,
        tuple(c.name for c in columns),
        key,
        frozenset(c.name for c in columns if isinstance(c.type, ExactDecimal)),
        frozenset(c.name for c in columns if isinstance(c.type, UTCDateTime)),
    )


_JOURNAL = _Table(
    "journal", ("ts", "kind", "session", "order_id", "payload"), "seq", times=frozenset({"ts"})
)
_ORDERS = _table(OrderRow, "order_id")
_CHILDREN = _table(ChildOrderRow, "child_id")
_EXECUTIONS = _table(ExecutionRow, "exec_id")
_CL_ORD_IDS = _table(ClOrdIdRow, "cl_ord_id")


class JournalWriter:
    """Group commit then release, on the caller's thread; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.on_failure = on_failure
        self._messages: deque[dict[str, Any]] = deque()
        self.failed: BaseException | None = None
        self.commits = 0
        self.rows_written = 0
        self._raw: Any = None
        self._sqlite = False

    @property
    def pending(self) -> int:
        """Recorded messages waiting for the next commit."""
        return len(self._messages)

    def record_message(self, kind: str, session: str, raw: str, ts: datetime) -> None:
        """Journal a FIX message (kind fix.in / fix.out). Safe from any thread."""
        self._messages.append(
            {"ts": ts, "kind": kind, "session": session, "order_id": None, "payload": raw}
        )

    def record(self, kind: str, payload: str, session: str | None = None) -> None:
        """Journal an operational fact (logon refused, session state...). Any thread."""
        self._messages.append(
            {
                "ts": self.clock(),
                "kind": kind,
                "session": session,
                "order_id": None,
                "payload": payload,
            }
        )

    def write(self, batches: list[PersistBatch]) -> bool:
        """Synchronous group commit on the caller's thread (the gateway's event loop), then
        release. Returns whether anything was written."""
        if not batches and not self._messages:
            return False
        self._commit(batches)
        return True

    def _commit(self, batches: list[PersistBatch]) -> None:
        if self.failed is not None:
            return
        messages: list[dict[str, Any]] = []
        while self._messages:
            messages.append(self._messages.popleft())
        journal = messages + [r for b in batches for r in b.journal]
        try:
            connection = self._connection()
            cursor = connection.cursor()
            try:
                write = self._writer(cursor)
                write(_JOURNAL, journal, update=False)
                write(_ORDERS, [r for b in batches for r in b.new_orders], update=False)
                write(_ORDERS, [r for b in batches for r in b.changed_orders], update=True)
                write(_CHILDREN, [r for b in batches for r in b.new_children], update=False)
                write(_CHILDREN, [r for b in batches for r in b.changed_children], update=True)
                write(_EXECUTIONS, [r for b in batches for r in b.executions], update=False)
                write(_CL_ORD_IDS, [r for b in batches for r in b.cl_ord_ids], update=False)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                cursor.close()
            self.commits += 1
            self.rows_written += len(journal)
            JOURNAL_COMMITS.inc()
            JOURNAL_BATCH.observe(len(journal))
        except Exception as exc:
            # Nothing of these batches may be released: the gateway stops taking orders.
            self.failed = exc
            log.critical("journal_commit_failed", error=str(exc))
            self.on_failure(StorageError(f"journal commit failed: {exc}"))
            return
        for batch in batches:
            if batch.release is not None:
                try:
                    batch.release()
                except Exception:
                    log.exception("release_failed")

    def _connection(self) -> Any:
        """The writer's own DBAPI connection, kept for its life (no pool checkout and no
        SQLAlchemy transaction object per commit)."""
        if self._raw is None:
            self._raw = self.engine.raw_connection()
            self._sqlite = self.engine.dialect.name == "sqlite"
        return self._raw

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def _writer(self, cursor: Any) -> Any:
        sqlite = self._sqlite
        mark = "?" if sqlite else "%s"

        def write(table: _Table, rows: list[dict[str, Any]], update: bool) -> None:
            if not rows:
                return
            convert = table.params(sqlite, update)
            if update:
                # Several batches may carry the same row: the last snapshot wins.
                latest = {r[table.key]: r for r in rows}
                cursor.executemany(table.update(mark), [convert(r) for r in latest.values()])
            else:
                cursor.executemany(table.insert(mark), [convert(r) for r in rows])

        return write
