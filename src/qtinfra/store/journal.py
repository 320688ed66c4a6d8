"""The journal writer: group commit, then release.

The sequencer hands it one PersistBatch (plain rows, made by oms/sequencer.py from what the
order manager changed) per poll round (`write`, on the gateway's event
loop). Every batch is committed in one transaction with the FIX messages recorded since
the last commit (many events per commit), and only after that commit does each batch's
release callback send the FIX messages the events cause. After a crash, what any
counterparty was told is therefore in the database.

FIX messages seen by the sessions (in and out, admin too) are recorded with `record_message`
and written in the next transaction.

Every journal row is hash-chained (store/chain.py): the writer numbers the rows itself
(seq), hashes each over the previous row's hash and its canonical content, and writes the
hashes with the rows. With a signing key it also writes a signed checkpoint of the chain
head every `checkpoint_rows` rows, whenever `request_checkpoint` asked for one, and at
close, in the same transaction as the rows it covers.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from qtinfra.domain.child_orders import ChildOrder
from qtinfra.domain.events import Event
from qtinfra.domain.orders import Order
from qtinfra.errors import StorageError
from qtinfra.store.audit import sign_checkpoint
from qtinfra.store.chain import GENESIS, canonical_ts, row_hash
from qtinfra.store.journal_text import escape
from qtinfra.store.models import (
    ChildOrderRow,
    ClOrdIdRow,
    ExecutionRow,
    JournalCheckpointRow,
    JournalReleaseRow,
    JournalRow,
    OrderRow,
)
from qtinfra.store.types import ExactDecimal, UTCDateTime

log = structlog.get_logger(__name__)


def _orjson_default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot journal {type(value).__name__}")


def event_payload(event: Event) -> str:
    """Canonical JSON of an event: its fields in declaration order, Decimals as plain
    strings, enumerations as their FIX codes, timestamps in ISO 8601 UTC (orjson encodes
    the dataclass directly). A text orjson refuses (a lone surrogate: a byte that was not
    UTF-8, say in a venue's Text) is written with the journal's lossless escape
    (store/journal_text.py), so no event can fail to be journaled or to be read back."""
    try:
        return orjson.dumps(event, default=_orjson_default).decode()
    except orjson.JSONEncodeError:
        return orjson.dumps(_plain(event), default=_orjson_default).decode()


def _plain(value: object) -> object:
    """An event as orjson would see it: dataclass fields in order, enums as values,
    timestamps in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return escape(value)
    return value


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


_JOURNAL_INSERT = (
    "INSERT INTO journal (seq, ts, kind, session, order_id, payload, prev_hash, hash) "
    "VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}, {m})"
)
_RELEASE_UPDATE = "UPDATE journal_release SET seq = {m} WHERE id = 1"
_PROGRESS_UPSERT = (
    "INSERT INTO session_progress (session, next_in) VALUES ({m}, {m}) "
    "ON CONFLICT (session) DO UPDATE SET next_in = excluded.next_in"
)
_CHECKPOINT_INSERT = (
    "INSERT INTO journal_checkpoints (seq, hash, ts, key_id, signature) "
    "VALUES ({m}, {m}, {m}, {m}, {m})"
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
        signing_key: Ed25519PrivateKey | None = None,
        checkpoint_rows: int = 10_000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        """on_commit(rows): told after each commit how many journal rows it wrote (the
        gateway counts them in its metrics)."""
        self.engine = engine
        self.on_commit = on_commit
        self.clock = clock
        self.on_failure = on_failure
        self.signing_key = signing_key
        self.checkpoint_rows = checkpoint_rows
        self._head: tuple[int, str] | None = None  # (seq, hash) of the last committed row
        self._signed_seq = 0  # the head the last checkpoint signed
        self._checkpoint_due = False
        self.checkpoints = 0
        self._messages: deque[dict[str, Any]] = deque()
        self.failed: BaseException | None = None
        self.commits = 0
        self.rows_written = 0
        self._raw: Any = None
        self._sqlite = False
        self._released = 0  # the release mark as committed (journal_release.seq)
        self._release_to = 0  # what the next commit writes: every event up to it was sent
        self.progress: Callable[[], dict[str, int]] | None = None
        """Each session's next expected inbound MsgSeqNum now (read at every commit, on
        the business thread, and written to session_progress when it moved)."""
        self._progress: dict[str, int] = {}
        self.fault: Callable[[str, list[dict[str, Any]]], None] | None = None
        """Test-only fault injection (gateway/faults): called with "before-commit" and
        "after-commit" and the rows of each group commit."""

    @property
    def pending(self) -> int:
        """Recorded messages waiting for the next commit."""
        return len(self._messages)

    def record_message(self, kind: str, session: str, raw: str, ts: datetime) -> None:
        """Journal a FIX message (kind fix.in / fix.out) as the bytes it holds, whatever
        they are (store/journal_text.py). Safe from any thread."""
        self._messages.append(
            {
                "ts": ts,
                "kind": kind,
                "session": escape(session),
                "order_id": None,
                "payload": escape(raw),
            }
        )

    def record(self, kind: str, payload: str, session: str | None = None) -> None:
        """Journal an operational fact (logon refused, session state...), any text,
        escaped losslessly. Any thread."""
        self._messages.append(
            {
                "ts": self.clock(),
                "kind": kind,
                "session": None if session is None else escape(session),
                "order_id": None,
                "payload": escape(payload),
            }
        )

    def open(self) -> None:
        """Read the chain head now (re-walking the unsigned tail) rather than at the first
        commit: a broken tail stops the gateway before any session starts. Raises
        StorageError."""
        if self._head is None:
            self._head = self._load_head(None)
        with self.engine.connect() as conn:
            mark = conn.execute(select(JournalReleaseRow.seq).where(JournalReleaseRow.id == 1))
            self._released = self._release_to = int(mark.scalar() or 0)

    def mark_released(self) -> None:
        """Everything journaled so far is with QuickFIX: the next commit moves the release
        mark to the head."""
        if self._head is not None:
            self._release_to = max(self._release_to, self._head[0])

    @property
    def released(self) -> int:
        """The release mark as committed: every event journaled up to it was sent."""
        return self._released

    def request_checkpoint(self) -> None:
        """Any thread: sign the chain head at the next commit (or the next write call,
        when the head moved since the last checkpoint)."""
        self._checkpoint_due = True

    def write(self, batches: list[PersistBatch]) -> bool:
        """Synchronous group commit on the caller's thread (the gateway's event loop), then
        release. Returns whether anything was written."""
        if not batches and not self._messages:
            if self._checkpoint_due and self._unsigned():
                self._commit([])
            return False
        self._commit(batches)
        return True

    def _unsigned(self) -> bool:
        return self.signing_key is not None and (self._head or (0, ""))[0] > self._signed_seq

    def _load_head(self, cursor: Any) -> tuple[int, str]:
        """The chain head from the database (the writer is the journal's only writer),
        after re-walking the rows since the last checkpoint: the next checkpoint must not
        sign over rows altered while the gateway was down."""
        with self.engine.connect() as conn:
            last_cp = conn.execute(
                select(JournalCheckpointRow.seq, JournalCheckpointRow.hash)
                .order_by(JournalCheckpointRow.id.desc())
                .limit(1)
            ).first()
            start = int(last_cp.seq) if last_cp is not None else 0
            rows = conn.execute(
                select(
                    JournalRow.seq,
                    JournalRow.ts,
                    JournalRow.kind,
                    JournalRow.session,
                    JournalRow.order_id,
                    JournalRow.payload,
                    JournalRow.prev_hash,
                    JournalRow.hash,
                )
                .where(JournalRow.seq >= max(start, 1))
                .order_by(JournalRow.seq)
            ).all()
        self._signed_seq = start
        if not rows:
            if start:
                raise StorageError(
                    f"the journal ends before its last signed checkpoint (seq {start}): "
                    "rows were deleted; run `qtinfra audit verify`"
                )
            return 0, GENESIS
        prev = rows[0].prev_hash if start else GENESIS
        expected = rows[0].seq
        for r in rows:
            if r.hash is None:
                raise StorageError(f"journal row {r.seq} has no hash: run the migrations")
            computed = row_hash(
                prev or "", r.seq, canonical_ts(r.ts), r.kind, r.session, r.order_id, r.payload
            )
            if r.seq != expected or r.prev_hash != prev or computed != r.hash:
                raise StorageError(
                    f"the journal's unsigned tail is broken at row {r.seq}: refusing to extend "
                    "it; run `qtinfra audit verify`"
                )
            if last_cp is not None and r.seq == start and computed != last_cp.hash:
                raise StorageError(
                    f"journal row {start} no longer matches its signed checkpoint; run "
                    "`qtinfra audit verify`"
                )
            prev, expected = computed, expected + 1
        return int(rows[-1].seq), str(rows[-1].hash)

    def _chain(
        self, rows: list[dict[str, Any]], sqlite: bool
    ) -> tuple[list[tuple[Any, ...]], int, str]:
        """Number and hash the rows after the head; returns the statement parameters and
        the new head."""
        assert self._head is not None
        seq, prev = self._head
        params = []
        last_ts: datetime | None = None
        canonical = stored = ""
        for r in rows:
            seq += 1
            ts = r["ts"]
            if ts is not last_ts:  # the events of a batch share one timestamp
                canonical, stored, last_ts = canonical_ts(ts), ts, ts
                if sqlite:
                    stored = _sqlite_time(ts)
                else:
                    _aware(ts)
            h = row_hash(prev, seq, canonical, r["kind"], r["session"], r["order_id"], r["payload"])
            params.append(
                (
                    seq,
                    stored,
                    r["kind"],
                    r["session"],
                    r["order_id"],
                    r["payload"],
                    prev,
                    h,
                )
            )
            prev = h
        return params, seq, prev

    def _commit(self, batches: list[PersistBatch]) -> None:
        if self.failed is not None:
            return
        messages: list[dict[str, Any]] = []
        while self._messages:
            messages.append(self._messages.popleft())
        journal = messages + [r for b in batches for r in b.journal]
        if self.fault is not None:
            self.fault("before-commit", journal)
        try:
            connection = self._connection()
            cursor = connection.cursor()
            try:
                if self._head is None:
                    self._head = self._load_head(cursor)
                mark = "?" if self._sqlite else "%s"
                head = self._head
                if journal:
                    params, seq, last = self._chain(journal, self._sqlite)
                    cursor.executemany(_JOURNAL_INSERT.format(m=mark), params)
                    head = (seq, last)
                signed = self._checkpoint(cursor, mark, head)
                release_to = self._release_to
                if release_to > self._released:
                    cursor.execute(_RELEASE_UPDATE.format(m=mark), (release_to,))
                progress = self._moved_progress()
                if progress:
                    cursor.executemany(_PROGRESS_UPSERT.format(m=mark), progress)
                write = self._writer(cursor)
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
            self._head = head
            self._released = max(self._released, release_to)
            self._progress.update(progress)
            if signed:
                self._signed_seq = head[0]
                self._checkpoint_due = False
                self.checkpoints += 1
                # A copy outside the database: the logs keep the signed heads too.
                log.info("journal_checkpoint", seq=head[0], hash=head[1])
            self.commits += 1
            self.rows_written += len(journal)
            if self.on_commit is not None:
                self.on_commit(len(journal))
            if self.fault is not None:
                self.fault("after-commit", journal)
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
        # Everything up to the head is now with QuickFIX (or was never to be sent).
        self._release_to = head[0]

    def _moved_progress(self) -> list[tuple[str, int]]:
        if self.progress is None:
            return []
        return [(k, v) for k, v in self.progress().items() if self._progress.get(k) != v]

    def _checkpoint(self, cursor: Any, mark: str, head: tuple[int, str]) -> bool:
        """Insert a signed checkpoint of `head` when one is due; returns whether it did."""
        if self.signing_key is None or head[0] <= self._signed_seq:
            return False
        if not self._checkpoint_due and head[0] - self._signed_seq < self.checkpoint_rows:
            return False
        now = self.clock()
        cp = sign_checkpoint(self.signing_key, head[0], head[1], now)
        cursor.execute(
            _CHECKPOINT_INSERT.format(m=mark),
            (cp.seq, cp.hash, _sqlite_time(now) if self._sqlite else now, cp.key_id, cp.signature),
        )
        return True

    def _connection(self) -> Any:
        """The writer's own DBAPI connection, kept for its life (no pool checkout and no
        SQLAlchemy transaction object per commit)."""
        if self._raw is None:
            self._raw = self.engine.raw_connection()
            self._sqlite = self.engine.dialect.name == "sqlite"
        return self._raw

    def close(self) -> None:
        """Sign the chain head if it moved since the last checkpoint (and record how far
        the events were released), then let go of the connection."""
        if self.failed is None and (self._unsigned() or self._release_to > self._released):
            self._checkpoint_due = True
            self._commit([])
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
