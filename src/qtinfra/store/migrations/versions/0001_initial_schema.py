"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 02:57:19.410318
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qtinfra.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "child_orders",
        sa.Column("child_id", sa.String(length=80), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("venue_order_id", sa.String(length=64), nullable=True),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("ord_type", sa.String(length=1), nullable=False),
        sa.Column("time_in_force", sa.String(length=1), nullable=False),
        sa.Column("quantity", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", qtinfra.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("cum_qty", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("notional", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", qtinfra.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", qtinfra.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("child_id"),
    )
    with op.batch_alter_table("child_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_child_orders_order_id"), ["order_id"], unique=False)

    op.create_table(
        "cl_ord_ids",
        sa.Column("session", sa.String(length=128), nullable=False),
        sa.Column("cl_ord_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("session", "cl_ord_id"),
    )
    op.create_table(
        "executions",
        sa.Column("exec_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("child_id", sa.String(length=80), nullable=False),
        sa.Column("venue", sa.String(length=16), nullable=False),
        sa.Column("mic", sa.String(length=4), nullable=False),
        sa.Column("venue_exec_id", sa.String(length=80), nullable=False),
        sa.Column("quantity", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("commission", qtinfra.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("transact_time", qtinfra.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("exec_id"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_executions_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_executions_order_id"), ["order_id"], unique=False)

    op.create_table(
        "journal",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ts", qtinfra.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("session", sa.String(length=128), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index("ix_journal_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_journal_ts", ["ts"], unique=False)

    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("session", sa.String(length=128), nullable=False),
        sa.Column("cl_ord_id", sa.String(length=128), nullable=False),
        sa.Column("orig_cl_ord_id", sa.String(length=128), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=1), nullable=False),
        sa.Column("ord_type", sa.String(length=1), nullable=False),
        sa.Column("time_in_force", sa.String(length=1), nullable=False),
        sa.Column("quantity", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("price", qtinfra.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("cum_qty", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("notional", qtinfra.store.types.ExactDecimal(length=64), nullable=False),
        sa.Column("pending_kind", sa.String(length=8), nullable=True),
        sa.Column("pending_cl_ord_id", sa.String(length=128), nullable=True),
        sa.Column("pending_quantity", qtinfra.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("pending_price", qtinfra.store.types.ExactDecimal(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", qtinfra.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", qtinfra.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_status", ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status")

    op.drop_table("orders")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_ts")
        batch_op.drop_index("ix_journal_order_id")

    op.drop_table("journal")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_executions_order_id"))
        batch_op.drop_index(batch_op.f("ix_executions_child_id"))

    op.drop_table("executions")
    op.drop_table("cl_ord_ids")
    with op.batch_alter_table("child_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_orders_order_id"))

    op.drop_table("child_orders")
