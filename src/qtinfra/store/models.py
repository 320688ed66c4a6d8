"""SQLAlchemy 2 models: client orders, child orders, executions, ClOrdIDs and the journal.

The journal is the record of everything (events and every FIX message in and out); the
other tables are the current state, written in the same transaction, so a restart reads
open orders without replaying the journal.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from qtinfra.store.types import ExactDecimal, UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class JournalRow(Base):
    """One journaled fact: an event the order manager decided, or a FIX message.

    kind: "fix.in", "fix.out" (raw message in payload) or an event name ("ExecutionReport",
    "ChildOrderSent", ...; JSON in payload). Append-only: nothing updates or deletes rows.
    """

    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    session: Mapped[str | None] = mapped_column(String(128))
    order_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    # The hash chain (store/chain.py, migration 0004): the previous row's hash and this
    # row's, written with the row.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_journal_order_id", "order_id"),
        Index("ix_journal_ts", "ts"),
        Index("ix_journal_kind", "kind"),
        Index("ix_journal_session_kind_seq", "session", "kind", "seq"),
    )


class OrderRow(Base):
    """A client (parent) order's current state."""

    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session: Mapped[str] = mapped_column(String(128), nullable=False)
    cl_ord_id: Mapped[str] = mapped_column(String(128), nullable=False)
    orig_cl_ord_id: Mapped[str | None] = mapped_column(String(128))
    account: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(1), nullable=False)
    ord_type: Mapped[str] = mapped_column(String(1), nullable=False)
    time_in_force: Mapped[str] = mapped_column(String(1), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    status: Mapped[str] = mapped_column(String(1), nullable=False)
    cum_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    notional: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    pending_kind: Mapped[str | None] = mapped_column(String(8))
    pending_cl_ord_id: Mapped[str | None] = mapped_column(String(128))
    pending_quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    pending_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # MiFID II order data (migration 0003): Parties PartyRole 122 and 12, OrderCapacity,
    # ExDestination.
    decision_maker_id: Mapped[str | None] = mapped_column(String(64))
    decision_maker_source: Mapped[str | None] = mapped_column(String(4))
    decision_maker_qualifier: Mapped[int | None] = mapped_column(Integer)
    executing_trader_id: Mapped[str | None] = mapped_column(String(64))
    executing_trader_source: Mapped[str | None] = mapped_column(String(4))
    executing_trader_qualifier: Mapped[int | None] = mapped_column(Integer)
    order_capacity: Mapped[str | None] = mapped_column(String(1))
    ex_destination: Mapped[str | None] = mapped_column(String(4))

    __table_args__ = (
        Index("ix_orders_status", "status"),
        Index("ix_orders_updated_at", "updated_at"),
    )


class ChildOrderRow(Base):
    """A child order at a venue."""

    __tablename__ = "child_orders"

    child_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    venue: Mapped[str] = mapped_column(String(16), nullable=False)
    venue_order_id: Mapped[str | None] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(1), nullable=False)
    ord_type: Mapped[str] = mapped_column(String(1), nullable=False)
    time_in_force: Mapped[str] = mapped_column(String(1), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    status: Mapped[str] = mapped_column(String(1), nullable=False)
    cum_qty: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    notional: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    cancel_requested: Mapped[bool] = mapped_column(nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ExecutionRow(Base):
    """A fill booked on a client order; venue_exec_id is the venue's ExecID."""

    __tablename__ = "executions"

    exec_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    child_id: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    venue: Mapped[str] = mapped_column(String(16), nullable=False)
    mic: Mapped[str] = mapped_column(String(4), nullable=False)
    venue_exec_id: Mapped[str] = mapped_column(String(80), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    price: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    commission: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    transact_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ClOrdIdRow(Base):
    """Every ClOrdID a client session used, for duplicate detection across restarts."""

    __tablename__ = "cl_ord_ids"

    session: Mapped[str] = mapped_column(String(128), primary_key=True)
    cl_ord_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)


class JournalCheckpointRow(Base):
    """A signed checkpoint of the journal's hash chain: the head (seq, hash) at `ts`,
    signed with the gateway's Ed25519 key (key_id: the first 16 hex digits of the SHA-256
    of the raw public key). Append-only like the journal."""

    __tablename__ = "journal_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str] = mapped_column(String(128), nullable=False)


class JournalReleaseRow(Base):
    """How far the journal's events have been released (sent to their sessions): the seq
    of the last journal row whose batch was handed to QuickFIX. One row (id 1), moved in
    the group commit after the release; at start, the client and venue events after it
    that QuickFIX's message store does not hold are sent (gateway/recovery)."""

    __tablename__ = "journal_release"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SessionProgressRow(Base):
    """How far each FIX session's inbound messages are journaled: QuickFIX's next expected
    MsgSeqNum as of the last group commit (everything below it was processed and its
    effects committed). At start a session's store is set back to it when it is ahead
    (exactly once inbound)."""

    __tablename__ = "session_progress"

    session: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_in: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Rts22ReportedRow(Base):
    """A record put in an RTS 22 transaction report file (migration 0005): TxId, the trading
    day of the file, the SHA-256 of the canonical New record (for a CANC, of the New it
    withdraws), the file name, when, and the status NEWT or CANC. The latest row of a TxId
    is what the authority holds for it; qtinfra only appends."""

    __tablename__ = "rts22_reported"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tx_id: Mapped[str] = mapped_column(String(52), nullable=False)
    trading_day: Mapped[date] = mapped_column(Date, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    file_name: Mapped[str] = mapped_column(String(128), nullable=False)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(4), nullable=False)

    __table_args__ = (
        Index("ix_rts22_reported_tx_id", "tx_id"),
        Index("ix_rts22_reported_trading_day", "trading_day"),
        CheckConstraint("status IN ('NEWT', 'CANC')", name="ck_rts22_reported_status"),
    )


class Rts22FeedbackRow(Base):
    """What an authority's feedback file (auth.031 status advice) said of one of our RTS 22
    files (migration 0008): per TxId (or, tx_id NULL, of the file as a whole) the status
    (ACPT, ACPD, PDNG, RCVD, RJCT, RJPD, WARN; for a file also PART...), the validation
    rules cited (JSON list of {"id", "description"}), our file's name, the feedback file's
    and when it was read. qtinfra only appends."""

    __tablename__ = "rts22_feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tx_id: Mapped[str | None] = mapped_column(String(52), nullable=True)
    file_name: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[str] = mapped_column(String(4), nullable=False)
    rules: Mapped[str] = mapped_column(Text, nullable=False)
    feedback_file: Mapped[str] = mapped_column(String(255), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (
        Index("ix_rts22_feedback_tx_id", "tx_id"),
        Index("ix_rts22_feedback_file_name", "file_name"),
    )
